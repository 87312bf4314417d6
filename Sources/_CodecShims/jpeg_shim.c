/*
 * JPEG through libjpeg-turbo's 8-bit API. See cvz_codec_shims.h for the error
 * contract. libjpeg's default error_exit() calls exit() and its
 * output_message() prints to stderr; both are replaced here.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>
#include <jerror.h>

#include "shim_common.h"

_Static_assert(CVZ_MESSAGE_CAPACITY >= JMSG_LENGTH_MAX, "libjpeg messages must fit cvz_error");

/* libjpeg's error manager, extended with where to jump and what to fill. */
struct shim_error_mgr {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  cvz_error *error;
  /* Corrupt-data warnings are accepted (counted) rather than errors. */
  int lenient;
  int corrupt_warnings;
  char first_warning[JMSG_LENGTH_MAX];
};

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

static void install_error_mgr(struct shim_error_mgr *mgr, cvz_error *error) {
  jpeg_std_error(&mgr->pub);
  mgr->pub.error_exit = on_error_exit;
  mgr->pub.emit_message = on_emit_message;
  mgr->pub.output_message = on_output_message;
  mgr->error = error;
}

/* MARK: Decoding */

/*
 * A progressive JPEG may hold any number of scans, and each costs a pass
 * over the whole coefficient buffer: a small file with many scans takes
 * minutes to decode. Real files have about 10; libjpeg-turbo's own tools
 * suggest a limit like this one (djpeg -maxscans).
 */
enum { MAX_PROGRESSIVE_SCANS = 500 };

static void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
  if (dinfo->progressive_mode && dinfo->input_scan_number > MAX_PROGRESSIVE_SCANS) {
    struct shim_error_mgr *mgr = (struct shim_error_mgr *)cinfo->err;
    char message[CVZ_MESSAGE_CAPACITY];
    snprintf(message, sizeof message,
             "progressive JPEG with more than %d scans (would take very long to decode)",
             MAX_PROGRESSIVE_SCANS);
    cvz_set_error(mgr->error, CVZ_ERROR_UNSUPPORTED, message);
    longjmp(mgr->jump, 1);
  }
}

struct cvz_jpeg_decoder {
  struct jpeg_decompress_struct cinfo;
  struct shim_error_mgr err;
  struct jpeg_progress_mgr progress;
  int created;
  /* The file is CMYK or YCCK: decode to CMYK, then convert each row. */
  int cmyk;
  /* Adobe APP14 seen: CMYK values are stored inverted (0 = full ink). */
  int inverted;
  uint8_t *cmyk_row;
  cvz_image_info image;
};

cvz_jpeg_decoder *cvz_jpeg_open(const uint8_t *data, size_t size, int lenient,
                                cvz_image_info *info, cvz_error *error) {
  cvz_clear_error(error);
  struct cvz_jpeg_decoder *decoder = calloc(1, sizeof *decoder);
  if (decoder == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return NULL;
  }
  install_error_mgr(&decoder->err, error);
  decoder->err.lenient = lenient;
  decoder->cinfo.err = &decoder->err.pub;
  if (setjmp(decoder->err.jump)) {
    cvz_jpeg_close(decoder);
    return NULL;
  }
  jpeg_create_decompress(&decoder->cinfo);
  decoder->created = 1;
  decoder->progress.progress_monitor = on_progress;
  decoder->cinfo.progress = &decoder->progress;
  jpeg_mem_src(&decoder->cinfo, data, (unsigned long)size);
  jpeg_read_header(&decoder->cinfo, TRUE);

  j_decompress_ptr cinfo = &decoder->cinfo;
  switch (cinfo->jpeg_color_space) {
  case JCS_GRAYSCALE:
    cinfo->out_color_space = JCS_GRAYSCALE;
    decoder->image.channels = 1;
    break;
  case JCS_CMYK:
  case JCS_YCCK:
    cinfo->out_color_space = JCS_CMYK;
    decoder->cmyk = 1;
    decoder->inverted = cinfo->saw_Adobe_marker;
    decoder->image.channels = 3;
    break;
  default:
    cinfo->out_color_space = JCS_EXT_RGB;
    decoder->image.channels = 3;
  }
  decoder->image.width = cinfo->image_width;
  decoder->image.height = cinfo->image_height;
  decoder->image.bit_depth = 8;
  *info = decoder->image;
  return decoder;
}

/* (a * b) / 255, rounded, for a, b in 0...255. */
static inline uint8_t mul_div_255(unsigned a, unsigned b) {
  unsigned t = a * b + 128;
  return (uint8_t)((t + (t >> 8)) >> 8);
}

static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t width, int inverted) {
  for (size_t x = 0; x < width; x++, cmyk += 4, rgb += 3) {
    unsigned c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
    if (!inverted) {
      c = 255 - c;
      m = 255 - m;
      y = 255 - y;
      k = 255 - k;
    }
    rgb[0] = mul_div_255(c, k);
    rgb[1] = mul_div_255(m, k);
    rgb[2] = mul_div_255(y, k);
  }
}

int cvz_jpeg_read(cvz_jpeg_decoder *decoder, uint8_t *pixels, size_t pixels_size,
                  cvz_error *error) {
  cvz_clear_error(error);
  decoder->err.error = error;
  j_decompress_ptr cinfo = &decoder->cinfo;
  const size_t stride = (size_t)decoder->image.width * (size_t)decoder->image.channels;
  if (stride == 0 || pixels_size / stride < decoder->image.height) {
    cvz_set_error(error, CVZ_ERROR_CORRUPT, "pixel buffer does not match the header");
    return -1;
  }
  if (decoder->cmyk) {
    decoder->cmyk_row = malloc((size_t)decoder->image.width * 4);
    if (decoder->cmyk_row == NULL) {
      cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
      return -1;
    }
  }
  if (setjmp(decoder->err.jump)) return -1;
  jpeg_start_decompress(cinfo);
  if (cinfo->output_width != decoder->image.width ||
      cinfo->output_height != decoder->image.height) {
    cvz_set_error(error, CVZ_ERROR_CORRUPT, "output size differs from the header");
    return -1;
  }
  if (decoder->cmyk) {
    JSAMPROW row = decoder->cmyk_row;
    while (cinfo->output_scanline < cinfo->output_height) {
      uint8_t *target = pixels + (size_t)cinfo->output_scanline * stride;
      if (jpeg_read_scanlines(cinfo, &row, 1) == 1) {
        cmyk_to_rgb(row, target, decoder->image.width, decoder->inverted);
      }
    }
  } else {
    enum { BATCH = 16 };
    JSAMPROW rows[BATCH];
    while (cinfo->output_scanline < cinfo->output_height) {
      JDIMENSION first = cinfo->output_scanline;
      JDIMENSION count = cinfo->output_height - first;
      if (count > BATCH) count = BATCH;
      for (JDIMENSION i = 0; i < count; i++) rows[i] = pixels + (size_t)(first + i) * stride;
      jpeg_read_scanlines(cinfo, rows, count);
    }
  }
  jpeg_finish_decompress(cinfo);
  return 0;
}

void cvz_jpeg_warnings(const cvz_jpeg_decoder *decoder, cvz_warnings *out) {
  out->count = decoder->err.corrupt_warnings;
  snprintf(out->first, sizeof out->first, "%s",
           decoder->err.corrupt_warnings > 0 ? decoder->err.first_warning : "");
}

void cvz_jpeg_close(cvz_jpeg_decoder *decoder) {
  if (decoder == NULL) return;
  if (decoder->created) jpeg_destroy_decompress(&decoder->cinfo);
  free(decoder->cmyk_row);
  free(decoder);
}

/* MARK: Encoding */

struct jpeg_encoder {
  struct jpeg_compress_struct cinfo;
  struct shim_error_mgr err;
  int created;
  unsigned char *data;
  unsigned long size;
};

static void free_jpeg_encoder(struct jpeg_encoder *encoder) {
  if (encoder->created) jpeg_destroy_compress(&encoder->cinfo);
  free(encoder->data);
  free(encoder);
}

int cvz_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                    int quality, cvz_buffer *out, cvz_error *error) {
  cvz_clear_error(error);
  out->data = NULL;
  out->size = 0;
  if (channels != 1 && channels != 3 && channels != 4) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "JPEG takes gray, RGB or RGBA samples");
    return -1;
  }
  struct jpeg_encoder *encoder = calloc(1, sizeof *encoder);
  if (encoder == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return -1;
  }
  install_error_mgr(&encoder->err, error);
  encoder->cinfo.err = &encoder->err.pub;
  if (setjmp(encoder->err.jump)) {
    free_jpeg_encoder(encoder);
    return -1;
  }
  j_compress_ptr cinfo = &encoder->cinfo;
  jpeg_create_compress(cinfo);
  encoder->created = 1;
  jpeg_mem_dest(cinfo, &encoder->data, &encoder->size);
  cinfo->image_width = width;
  cinfo->image_height = height;
  cinfo->input_components = channels;
  cinfo->in_color_space =
    channels == 1 ? JCS_GRAYSCALE : channels == 3 ? JCS_EXT_RGB : JCS_EXT_RGBX;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  jpeg_start_compress(cinfo, TRUE);
  const size_t stride = (size_t)width * (size_t)channels;
  enum { BATCH = 16 };
  JSAMPROW rows[BATCH];
  while (cinfo->next_scanline < cinfo->image_height) {
    JDIMENSION first = cinfo->next_scanline;
    JDIMENSION count = cinfo->image_height - first;
    if (count > BATCH) count = BATCH;
    for (JDIMENSION i = 0; i < count; i++) {
      rows[i] = (JSAMPROW)(pixels + (size_t)(first + i) * stride);
    }
    jpeg_write_scanlines(cinfo, rows, count);
  }
  jpeg_finish_compress(cinfo);
  out->data = encoder->data;
  out->size = encoder->size;
  encoder->data = NULL;
  free_jpeg_encoder(encoder);
  return 0;
}
