/*
 * JPEG through libjpeg-turbo's 8-bit API. See cvz_codec_shims.h for the error
 * contract. libjpeg's default error_exit() calls exit() and its
 * output_message() prints to stderr; both are replaced here.
 */
#include <setjmp.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

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
  /* jpeg_start_decompress has run (cvz_jpeg_start). */
  int started;
  /* Reading from a file descriptor (cvz_jpeg_open_fd) instead of memory. */
  struct jpeg_source_mgr fd_source;
  int fd;
  uint8_t *fd_buffer;
};

/* MARK: Reading from a file descriptor */

enum { FD_BUFFER_BYTES = 1 << 16 };

static void fd_init_source(j_decompress_ptr cinfo) { (void)cinfo; }

/* As jpeg_mem_src does at the end of its data: warn (which our handler turns
   into CVZ_ERROR_TRUNCATED) and insert a fake EOI marker. */
static boolean fd_fill_input_buffer(j_decompress_ptr cinfo) {
  static const JOCTET eoi[2] = {0xFF, JPEG_EOI};
  struct cvz_jpeg_decoder *decoder = (struct cvz_jpeg_decoder *)cinfo;
  ssize_t n;
  do {
    n = read(decoder->fd, decoder->fd_buffer, FD_BUFFER_BYTES);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    struct shim_error_mgr *mgr = (struct shim_error_mgr *)cinfo->err;
    char message[CVZ_MESSAGE_CAPACITY];
    snprintf(message, sizeof message, "read error: %s", strerror(errno));
    cvz_set_error(mgr->error, CVZ_ERROR_CORRUPT, message);
    longjmp(mgr->jump, 1);
  }
  if (n == 0) {
    WARNMS(cinfo, JWRN_JPEG_EOF);
    cinfo->src->next_input_byte = eoi;
    cinfo->src->bytes_in_buffer = 2;
    return TRUE;
  }
  cinfo->src->next_input_byte = decoder->fd_buffer;
  cinfo->src->bytes_in_buffer = (size_t)n;
  return TRUE;
}

static void fd_skip_input_data(j_decompress_ptr cinfo, long count) {
  struct jpeg_source_mgr *src = cinfo->src;
  if (count <= 0) return;
  while (count > (long)src->bytes_in_buffer) {
    count -= (long)src->bytes_in_buffer;
    (void)(*src->fill_input_buffer)(cinfo);
  }
  src->next_input_byte += (size_t)count;
  src->bytes_in_buffer -= (size_t)count;
}

static void fd_term_source(j_decompress_ptr cinfo) { (void)cinfo; }

/* Reads the header from `data` (size bytes) or, when `fd` is not -1, from
   that file descriptor. */
static cvz_jpeg_decoder *open_decoder(const uint8_t *data, size_t size, int fd, int lenient,
                                      cvz_image_info *info, cvz_error *error) {
  cvz_clear_error(error);
  struct cvz_jpeg_decoder *decoder = calloc(1, sizeof *decoder);
  if (decoder == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return NULL;
  }
  decoder->fd = fd;
  if (fd >= 0) {
    decoder->fd_buffer = malloc(FD_BUFFER_BYTES);
    if (decoder->fd_buffer == NULL) {
      cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
      free(decoder);
      return NULL;
    }
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
  if (fd < 0) {
    jpeg_mem_src(&decoder->cinfo, data, (unsigned long)size);
  } else {
    decoder->fd_source.init_source = fd_init_source;
    decoder->fd_source.fill_input_buffer = fd_fill_input_buffer;
    decoder->fd_source.skip_input_data = fd_skip_input_data;
    decoder->fd_source.resync_to_restart = jpeg_resync_to_restart;
    decoder->fd_source.term_source = fd_term_source;
    decoder->cinfo.src = &decoder->fd_source;
  }
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

cvz_jpeg_decoder *cvz_jpeg_open(const uint8_t *data, size_t size, int lenient,
                                cvz_image_info *info, cvz_error *error) {
  return open_decoder(data, size, -1, lenient, info, error);
}

cvz_jpeg_decoder *cvz_jpeg_open_fd(int fd, int lenient, cvz_image_info *info,
                                   cvz_error *error) {
  return open_decoder(NULL, 0, fd, lenient, info, error);
}

int cvz_jpeg_progressive(const cvz_jpeg_decoder *decoder) {
  return decoder->cinfo.progressive_mode ? 1 : 0;
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

int cvz_jpeg_start(cvz_jpeg_decoder *decoder, cvz_error *error) {
  cvz_clear_error(error);
  decoder->err.error = error;
  j_decompress_ptr cinfo = &decoder->cinfo;
  if (decoder->started) {
    cvz_set_error(error, CVZ_ERROR_CORRUPT, "decoder already started");
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
  decoder->started = 1;
  if (cinfo->output_width != decoder->image.width ||
      cinfo->output_height != decoder->image.height) {
    cvz_set_error(error, CVZ_ERROR_CORRUPT, "output size differs from the header");
    return -1;
  }
  return 0;
}

int cvz_jpeg_read_rows(cvz_jpeg_decoder *decoder, uint8_t *pixels, size_t row_stride,
                       uint32_t count, cvz_error *error) {
  cvz_clear_error(error);
  decoder->err.error = error;
  j_decompress_ptr cinfo = &decoder->cinfo;
  if (!decoder->started || count > cinfo->output_height - cinfo->output_scanline) {
    cvz_set_error(error, CVZ_ERROR_CORRUPT, "rows requested past the end of the image");
    return -1;
  }
  const JDIMENSION end = cinfo->output_scanline + count;
  if (setjmp(decoder->err.jump)) return -1;
  if (decoder->cmyk) {
    JSAMPROW row = decoder->cmyk_row;
    while (cinfo->output_scanline < end) {
      uint8_t *target = pixels + (size_t)(cinfo->output_scanline + count - end) * row_stride;
      if (jpeg_read_scanlines(cinfo, &row, 1) == 1) {
        cmyk_to_rgb(row, target, decoder->image.width, decoder->inverted);
      }
    }
  } else {
    enum { BATCH = 16 };
    JSAMPROW rows[BATCH];
    while (cinfo->output_scanline < end) {
      JDIMENSION first = cinfo->output_scanline;
      JDIMENSION n = end - first;
      if (n > BATCH) n = BATCH;
      for (JDIMENSION i = 0; i < n; i++) {
        rows[i] = pixels + (size_t)(first + count - end + i) * row_stride;
      }
      jpeg_read_scanlines(cinfo, rows, n);
    }
  }
  return 0;
}

int cvz_jpeg_finish(cvz_jpeg_decoder *decoder, cvz_error *error) {
  cvz_clear_error(error);
  decoder->err.error = error;
  if (setjmp(decoder->err.jump)) return -1;
  jpeg_finish_decompress(&decoder->cinfo);
  return 0;
}

int cvz_jpeg_read(cvz_jpeg_decoder *decoder, uint8_t *pixels, size_t pixels_size,
                  cvz_error *error) {
  const size_t stride = (size_t)decoder->image.width * (size_t)decoder->image.channels;
  if (stride == 0 || pixels_size / stride < decoder->image.height) {
    cvz_clear_error(error);
    cvz_set_error(error, CVZ_ERROR_CORRUPT, "pixel buffer does not match the header");
    return -1;
  }
  if (cvz_jpeg_start(decoder, error) != 0) return -1;
  if (cvz_jpeg_read_rows(decoder, pixels, stride, decoder->image.height, error) != 0) return -1;
  return cvz_jpeg_finish(decoder, error);
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
  free(decoder->fd_buffer);
  free(decoder);
}

/* MARK: Encoding */

/*
 * The encoder writes into a growing buffer that the caller drains between
 * calls (cvz_jpeg_writer_output, cvz_jpeg_writer_consume), so a streaming
 * caller holds only what the last rows produced and the whole-image
 * encoder is the same code writing everything before one drain.
 */
struct cvz_jpeg_writer {
  struct jpeg_compress_struct cinfo;
  struct shim_error_mgr err;
  struct jpeg_destination_mgr dest;
  int created;
  uint8_t *data;
  size_t capacity;
};

enum { WRITER_INITIAL_BYTES = 1 << 16 };

static void dest_init(j_compress_ptr cinfo) { (void)cinfo; }

/* The buffer is full: double it and carry on after what is there. */
static boolean dest_empty(j_compress_ptr cinfo) {
  struct cvz_jpeg_writer *writer = (struct cvz_jpeg_writer *)cinfo;
  const size_t used = writer->capacity;
  if (used > SIZE_MAX / 2) ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
  uint8_t *grown = realloc(writer->data, used * 2);
  if (grown == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
  writer->data = grown;
  writer->capacity = used * 2;
  writer->dest.next_output_byte = grown + used;
  writer->dest.free_in_buffer = writer->capacity - used;
  return TRUE;
}

static void dest_term(j_compress_ptr cinfo) { (void)cinfo; }

cvz_jpeg_writer *cvz_jpeg_writer_open(uint32_t width, uint32_t height, int channels,
                                      int quality, cvz_error *error) {
  cvz_clear_error(error);
  if (channels != 1 && channels != 3 && channels != 4) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "JPEG takes gray, RGB or RGBA samples");
    return NULL;
  }
  struct cvz_jpeg_writer *writer = calloc(1, sizeof *writer);
  if (writer != NULL) writer->data = malloc(WRITER_INITIAL_BYTES);
  if (writer == NULL || writer->data == NULL) {
    free(writer);
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return NULL;
  }
  writer->capacity = WRITER_INITIAL_BYTES;
  install_error_mgr(&writer->err, error);
  writer->cinfo.err = &writer->err.pub;
  if (setjmp(writer->err.jump)) {
    cvz_jpeg_writer_close(writer);
    return NULL;
  }
  j_compress_ptr cinfo = &writer->cinfo;
  jpeg_create_compress(cinfo);
  writer->created = 1;
  writer->dest.init_destination = dest_init;
  writer->dest.empty_output_buffer = dest_empty;
  writer->dest.term_destination = dest_term;
  writer->dest.next_output_byte = writer->data;
  writer->dest.free_in_buffer = writer->capacity;
  cinfo->dest = &writer->dest;
  cinfo->image_width = width;
  cinfo->image_height = height;
  cinfo->input_components = channels;
  cinfo->in_color_space =
    channels == 1 ? JCS_GRAYSCALE : channels == 3 ? JCS_EXT_RGB : JCS_EXT_RGBX;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  jpeg_start_compress(cinfo, TRUE);
  return writer;
}

int cvz_jpeg_writer_write(cvz_jpeg_writer *writer, const uint8_t *pixels, size_t row_stride,
                          uint32_t count, cvz_error *error) {
  cvz_clear_error(error);
  writer->err.error = error;
  j_compress_ptr cinfo = &writer->cinfo;
  if (count > cinfo->image_height - cinfo->next_scanline) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "rows written past the end of the image");
    return -1;
  }
  if (setjmp(writer->err.jump)) return -1;
  enum { BATCH = 16 };
  JSAMPROW rows[BATCH];
  for (uint32_t done = 0; done < count;) {
    uint32_t n = count - done < BATCH ? count - done : BATCH;
    for (uint32_t i = 0; i < n; i++) rows[i] = (JSAMPROW)(pixels + (size_t)(done + i) * row_stride);
    done += jpeg_write_scanlines(cinfo, rows, n);
  }
  return 0;
}

int cvz_jpeg_writer_finish(cvz_jpeg_writer *writer, cvz_error *error) {
  cvz_clear_error(error);
  writer->err.error = error;
  if (writer->cinfo.next_scanline < writer->cinfo.image_height) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "image ends before its last row");
    return -1;
  }
  if (setjmp(writer->err.jump)) return -1;
  jpeg_finish_compress(&writer->cinfo);
  return 0;
}

void cvz_jpeg_writer_output(const cvz_jpeg_writer *writer, const uint8_t **bytes, size_t *size) {
  const size_t used = (size_t)(writer->dest.next_output_byte - writer->data);
  *bytes = writer->data;
  *size = used;
}

void cvz_jpeg_writer_consume(cvz_jpeg_writer *writer) {
  /* libjpeg holds the pointer into the buffer: start over at its beginning. */
  writer->dest.next_output_byte = writer->data;
  writer->dest.free_in_buffer = writer->capacity;
}

void cvz_jpeg_writer_close(cvz_jpeg_writer *writer) {
  if (writer == NULL) return;
  if (writer->created) jpeg_destroy_compress(&writer->cinfo);
  free(writer->data);
  free(writer);
}

int cvz_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                    int quality, cvz_buffer *out, cvz_error *error) {
  out->data = NULL;
  out->size = 0;
  cvz_jpeg_writer *writer = cvz_jpeg_writer_open(width, height, channels, quality, error);
  if (writer == NULL) return -1;
  const size_t stride = (size_t)width * (size_t)channels;
  if (cvz_jpeg_writer_write(writer, pixels, stride, height, error) != 0 ||
      cvz_jpeg_writer_finish(writer, error) != 0) {
    cvz_jpeg_writer_close(writer);
    return -1;
  }
  out->data = writer->data;
  out->size = (size_t)(writer->dest.next_output_byte - writer->data);
  writer->data = NULL;
  cvz_jpeg_writer_close(writer);
  return 0;
}
