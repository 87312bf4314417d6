/*
 * JPEG encoding through libjpeg-turbo's 8-bit API (see cvz_codec_shims.h
 * and jpeg_errors.h).
 */
#include <setjmp.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "jpeg_errors.h"

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
                                      int quality, int flags, cvz_error *error) {
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
  cvz_jpeg_install_error_mgr(&writer->err, error);
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
  cinfo->dct_method = (flags & CVZ_JPEG_DCT_FLOAT)  ? JDCT_FLOAT
                      : (flags & CVZ_JPEG_DCT_FAST) ? JDCT_IFAST
                                                    : JDCT_ISLOW;
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
                    int quality, int flags, cvz_buffer *out, cvz_error *error) {
  out->data = NULL;
  out->size = 0;
  cvz_jpeg_writer *writer = cvz_jpeg_writer_open(width, height, channels, quality, flags, error);
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
