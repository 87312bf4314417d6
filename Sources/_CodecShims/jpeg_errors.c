/*
 * JPEG through libjpeg-turbo's 8-bit API: the error manager. See
 * cvz_codec_shims.h for the error contract. libjpeg's default error_exit()
 * calls exit() and its output_message() prints to stderr; both are
 * replaced here.
 */
#include <setjmp.h>

#include "jpeg_errors.h"

_Static_assert(CVZ_MESSAGE_CAPACITY >= JMSG_LENGTH_MAX, "libjpeg messages must fit cvz_error");

static void fail(j_common_ptr cinfo, cvz_error_kind kind) {
  struct shim_error_mgr *mgr = (struct shim_error_mgr *)cinfo->err;
  if (mgr->error != NULL) {
    mgr->error->kind = kind;
    (*cinfo->err->format_message)(cinfo, mgr->error->message);
  }
  longjmp(mgr->jump, 1);
}

static void on_error_exit(j_common_ptr cinfo) {
  struct shim_error_mgr *mgr = (struct shim_error_mgr *)cinfo->err;
  switch (cinfo->err->msg_code) {
  case JERR_BAD_PRECISION:
    cvz_set_error(mgr->error, CVZ_ERROR_UNSUPPORTED,
                  "12-bit JPEG is not supported by this libjpeg (8-bit samples only)");
    longjmp(mgr->jump, 1);
  case JERR_OUT_OF_MEMORY:
    fail(cinfo, CVZ_ERROR_NO_MEMORY);
    break;
  default:
    fail(cinfo, cinfo->is_decompressor ? CVZ_ERROR_CORRUPT : CVZ_ERROR_ENCODE);
  }
}

/*
 * Warnings that say nothing about the pixels: an unknown JFIF revision or
 * Adobe transform code. libjpeg carries on exactly as with a known one.
 */
static int is_benign_warning(int msg_code) {
  return msg_code == JWRN_JFIF_MAJOR || msg_code == JWRN_ADOBE_XFORM;
}

/*
 * libjpeg only warns about damaged data, fills what is missing with gray and
 * succeeds. A file that ends early is always an error for us; other
 * corrupt-data warnings are errors unless the decoder is lenient, which
 * counts them and keeps the first message. Nothing is printed.
 */
static void on_emit_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level >= 0) return; /* trace messages */
  struct shim_error_mgr *mgr = (struct shim_error_mgr *)cinfo->err;
  int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF) {
    cvz_set_error(mgr->error, CVZ_ERROR_TRUNCATED, "premature end of JPEG file");
    longjmp(mgr->jump, 1);
  }
  cinfo->err->num_warnings++;
  if (!cinfo->is_decompressor || is_benign_warning(code)) return;
  if (mgr->corrupt_warnings++ == 0) (*cinfo->err->format_message)(cinfo, mgr->first_warning);
  if (!mgr->lenient) fail(cinfo, CVZ_ERROR_CORRUPT_DATA);
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

void cvz_jpeg_install_error_mgr(struct shim_error_mgr *mgr, cvz_error *error) {
  jpeg_std_error(&mgr->pub);
  mgr->pub.error_exit = on_error_exit;
  mgr->pub.emit_message = on_emit_message;
  mgr->pub.output_message = on_output_message;
  mgr->error = error;
}
