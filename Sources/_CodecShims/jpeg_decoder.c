/*
 * JPEG decoding through libjpeg-turbo's 8-bit API (see cvz_codec_shims.h
 * and jpeg_errors.h).
 */
#include <setjmp.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "jpeg_errors.h"

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
static cvz_jpeg_decoder *open_decoder(const uint8_t *data, size_t size, int fd, int flags,
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
  cvz_jpeg_install_error_mgr(&decoder->err, error);
  decoder->err.lenient = (flags & CVZ_JPEG_LENIENT) != 0;
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
  cinfo->do_fancy_upsampling = (flags & CVZ_JPEG_FAST_UPSAMPLING) ? FALSE : TRUE;
  cinfo->dct_method = (flags & CVZ_JPEG_DCT_FLOAT)  ? JDCT_FLOAT
                      : (flags & CVZ_JPEG_DCT_FAST) ? JDCT_IFAST
                                                    : JDCT_ISLOW;
  decoder->image.width = cinfo->image_width;
  decoder->image.height = cinfo->image_height;
  decoder->image.bit_depth = 8;
  *info = decoder->image;
  return decoder;
}

cvz_jpeg_decoder *cvz_jpeg_open(const uint8_t *data, size_t size, int flags,
                                cvz_image_info *info, cvz_error *error) {
  return open_decoder(data, size, -1, flags, info, error);
}

cvz_jpeg_decoder *cvz_jpeg_open_fd(int fd, int flags, cvz_image_info *info,
                                   cvz_error *error) {
  return open_decoder(NULL, 0, fd, flags, info, error);
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
