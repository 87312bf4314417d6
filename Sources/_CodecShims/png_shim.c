/*
 * PNG through libpng 1.6. See cvz_codec_shims.h for the error contract:
 * every function takes its own setjmp before calling libpng, and the error
 * callbacks only write into the caller's cvz_error and longjmp back.
 */
#include <png.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "png_decoder.h"

static int host_is_little_endian(void) {
  const uint16_t probe = 1;
  return *(const uint8_t *)&probe == 1;
}

static void on_decode_error(png_structp png, png_const_charp message) {
  struct cvz_png_decoder *decoder = png_get_error_ptr(png);
  const cvz_error_kind kind = decoder->ran_out ? CVZ_ERROR_TRUNCATED : CVZ_ERROR_CORRUPT;
  if (strcmp(message, "Invalid IHDR data") == 0 && decoder->first_warning[0] != '\0') {
    char detailed[CVZ_MESSAGE_CAPACITY];
    snprintf(detailed, sizeof detailed, "IHDR: %s", decoder->first_warning);
    cvz_set_error(decoder->error, kind, detailed);
  } else {
    cvz_set_error(decoder->error, kind, message);
  }
  png_longjmp(png, 1);
}

/* Warnings (benign errors included) are not errors; keep them off stderr. */
static void on_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static void on_decode_warning(png_structp png, png_const_charp message) {
  /* An over-long chunk is only a benign error to libpng, which then still
     allocates the chunk's declared length: a 776-byte file declaring a 1 GiB
     tEXt chunk cost 1 GiB (found by fuzzing). Make exactly that one fatal;
     other benign errors (such as a known-bad sRGB profile) stay warnings. */
  if (strstr(message, "chunk data is too large") != NULL) png_error(png, message);
  struct cvz_png_decoder *decoder = png_get_error_ptr(png);
  if (decoder->first_warning[0] != '\0') return;
  snprintf(decoder->first_warning, sizeof decoder->first_warning, "%s", message);
}

/* The next bytes of the file, at most `count` of them, without copying:
   0 at the end of the file, -1 (errno set) on a read error. */
ptrdiff_t cvz_png_source_next(struct cvz_png_decoder *decoder, const uint8_t **bytes,
                              size_t count) {
  if (decoder->fd < 0) {
    const size_t left = decoder->size - decoder->offset;
    const size_t take = count < left ? count : left;
    *bytes = decoder->data + decoder->offset;
    decoder->offset += take;
    return (ptrdiff_t)take;
  }
  if (decoder->fd_offset == decoder->fd_buffered) {
    ssize_t n;
    do {
      n = decoder->positioned
            ? pread(decoder->fd, decoder->fd_buffer, FD_BUFFER_BYTES, decoder->fd_position)
            : read(decoder->fd, decoder->fd_buffer, FD_BUFFER_BYTES);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n < 0 ? -1 : 0;
    decoder->fd_position += n;
    decoder->fd_buffered = (size_t)n;
    decoder->fd_offset = 0;
  }
  size_t take = decoder->fd_buffered - decoder->fd_offset;
  if (take > count) take = count;
  *bytes = decoder->fd_buffer + decoder->fd_offset;
  decoder->fd_offset += take;
  return (ptrdiff_t)take;
}

/* Copies the next `count` bytes: 0, or -1 at the end of the file (ran_out
   set) or on a read error (message in `message`). */
int cvz_png_source_read(struct cvz_png_decoder *decoder, uint8_t *out, size_t count,
                        char message[CVZ_MESSAGE_CAPACITY]) {
  while (count > 0) {
    const uint8_t *bytes;
    const ptrdiff_t n = cvz_png_source_next(decoder, &bytes, count);
    if (n < 0) {
      snprintf(message, CVZ_MESSAGE_CAPACITY, "read error: %s", strerror(errno));
      return -1;
    }
    if (n == 0) {
      decoder->ran_out = 1;
      snprintf(message, CVZ_MESSAGE_CAPACITY, "file ends before the image is complete");
      return -1;
    }
    memcpy(out, bytes, (size_t)n);
    out += n;
    count -= (size_t)n;
  }
  return 0;
}

const uint8_t *cvz_png_source_peek2(struct cvz_png_decoder *decoder) {
  if (decoder->fd < 0) {
    return decoder->size - decoder->offset >= 2 ? decoder->data + decoder->offset : NULL;
  }
  size_t held = decoder->fd_buffered - decoder->fd_offset;
  if (held < 2) {
    memmove(decoder->fd_buffer, decoder->fd_buffer + decoder->fd_offset, held);
    decoder->fd_offset = 0;
    decoder->fd_buffered = held;
    while (decoder->fd_buffered < 2) {
      ssize_t n;
      do {
        n = decoder->positioned ? pread(decoder->fd, decoder->fd_buffer + decoder->fd_buffered,
                                        FD_BUFFER_BYTES - decoder->fd_buffered,
                                        decoder->fd_position)
                                : read(decoder->fd, decoder->fd_buffer + decoder->fd_buffered,
                                       FD_BUFFER_BYTES - decoder->fd_buffered);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return NULL;
      decoder->fd_position += n;
      decoder->fd_buffered += (size_t)n;
    }
  }
  return decoder->fd_buffer + decoder->fd_offset;
}

static void read_bytes(png_structp png, png_bytep out, size_t count) {
  struct cvz_png_decoder *decoder = png_get_io_ptr(png);
  char message[CVZ_MESSAGE_CAPACITY];
  if (cvz_png_source_read(decoder, out, count, message) != 0) png_error(png, message);
  if (count == 8) memcpy(decoder->last_header, out, 8);
}

/* Reads the header from `data` or, when `fd` is not -1, from that file. */
/* `libpng_only`: no fast path (the verdict's decoder, which also reads a
   file from its start with pread). */
static cvz_png_decoder *open_decoder(const uint8_t *data, size_t size, int fd, int libpng_only,
                                     cvz_image_info *info, cvz_error *error) {
  cvz_clear_error(error);
  struct cvz_png_decoder *decoder = calloc(1, sizeof *decoder);
  if (decoder != NULL && fd >= 0) {
    decoder->fd_buffer = malloc(FD_BUFFER_BYTES);
    if (decoder->fd_buffer == NULL) {
      free(decoder);
      decoder = NULL;
    }
  }
  if (decoder == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return NULL;
  }
  decoder->fd = fd;
  decoder->libpng_only = libpng_only;
  decoder->positioned = libpng_only && fd >= 0;
  decoder->data = data;
  decoder->size = size;
  decoder->error = error;
  decoder->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, decoder, on_decode_error,
                                        on_decode_warning);
  if (decoder->png != NULL) decoder->info = png_create_info_struct(decoder->png);
  if (decoder->png == NULL || decoder->info == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    cvz_png_close(decoder);
    return NULL;
  }
  if (setjmp(png_jmpbuf(decoder->png))) {
    cvz_png_close(decoder);
    return NULL;
  }
  png_structp png = decoder->png;
  png_infop pinfo = decoder->info;
  png_set_read_fn(png, decoder, read_bytes);
  /* libpng only warns about a bad CRC in an ancillary chunk; we reject it. */
  png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_ERROR_QUIT);
  png_set_chunk_cache_max(png, 1000);
  png_read_info(png, pinfo);
  decoder->interlaced = png_get_interlace_type(png, pinfo) != PNG_INTERLACE_NONE;

  int color_type = png_get_color_type(png, pinfo);
  int bit_depth = png_get_bit_depth(png, pinfo);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  /* Scales 1/2/4-bit gray to 0...255 by bit replication (1 -> 255). */
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, pinfo, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (bit_depth == 16 && host_is_little_endian()) png_set_swap(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, pinfo);

  decoder->image.width = png_get_image_width(png, pinfo);
  decoder->image.height = png_get_image_height(png, pinfo);
  decoder->image.channels = png_get_channels(png, pinfo);
  decoder->image.bit_depth = png_get_bit_depth(png, pinfo);
  if (!libpng_only && !decoder->interlaced && !png_get_valid(png, pinfo, PNG_INFO_tRNS) &&
      host_is_little_endian()) {
    cvz_png_fast_start(decoder, color_type, bit_depth);
  }
  *info = decoder->image;
  return decoder;
}

cvz_png_decoder *cvz_png_open(const uint8_t *data, size_t size, cvz_image_info *info,
                              cvz_error *error) {
  return open_decoder(data, size, -1, 0, info, error);
}

cvz_png_decoder *cvz_png_open_fd(int fd, cvz_image_info *info, cvz_error *error) {
  return open_decoder(NULL, 0, fd, 0, info, error);
}

int cvz_png_interlaced(const cvz_png_decoder *decoder) { return decoder->interlaced; }

int cvz_png_has_exif(const cvz_png_decoder *decoder) {
  if (decoder->exif_after) return 1;
#ifdef PNG_eXIf_SUPPORTED
  png_uint_32 count = 0;
  png_bytep exif = NULL;
  return png_get_eXIf_1(decoder->png, decoder->info, &count, &exif) != 0 && count > 0;
#else
  (void)decoder;
  return 0;
#endif
}

int cvz_png_read_rows(cvz_png_decoder *decoder, void *pixels, size_t row_stride, uint32_t count,
                      cvz_error *error) {
  cvz_clear_error(error);
  decoder->error = error;
  const cvz_image_info image = decoder->image;
  const size_t row_bytes =
    (size_t)image.width * (size_t)image.channels * (size_t)(image.bit_depth / 8);
  if (decoder->interlaced || row_bytes == 0 ||
      png_get_rowbytes(decoder->png, decoder->info) != row_bytes || row_stride < row_bytes ||
      count > image.height - decoder->rows_read) {
    cvz_set_error(error, CVZ_ERROR_CORRUPT, "rows cannot be read one by one");
    return -1;
  }
  decoder->rows_read += count;
  if (decoder->fast != NULL) {
    return cvz_png_fast_rows(decoder, pixels, row_stride, count, error);
  }
  if (setjmp(png_jmpbuf(decoder->png))) return -1;
  for (uint32_t y = 0; y < count; y++) {
    png_read_row(decoder->png, (png_bytep)pixels + (size_t)y * row_stride, NULL);
  }
  return 0;
}

int cvz_png_finish(cvz_png_decoder *decoder, cvz_error *error) {
  cvz_clear_error(error);
  decoder->error = error;
  if (decoder->fast != NULL) return cvz_png_fast_finish(decoder, error);
  if (setjmp(png_jmpbuf(decoder->png))) return -1;
  png_read_end(decoder->png, decoder->info);
  return 0;
}

int cvz_png_read(cvz_png_decoder *decoder, void *pixels, size_t pixels_size, cvz_error *error) {
  cvz_clear_error(error);
  decoder->error = error;
  const cvz_image_info image = decoder->image;
  const size_t row_bytes =
    (size_t)image.width * (size_t)image.channels * (size_t)(image.bit_depth / 8);
  if (row_bytes == 0 || png_get_rowbytes(decoder->png, decoder->info) != row_bytes ||
      pixels_size / row_bytes < image.height) {
    cvz_set_error(error, CVZ_ERROR_CORRUPT, "pixel buffer does not match the header");
    return -1;
  }
  if (decoder->fast != NULL) {
    /* Rows straight into the image. A damaged file gets libpng's verdict
       (and, should libpng accept it after all, libpng's pixels). */
    if (cvz_png_fast_rows(decoder, pixels, row_bytes, image.height, error) == 0 &&
        cvz_png_fast_finish(decoder, error) == 0) {
      decoder->rows_read = image.height;
      return 0;
    }
    cvz_clear_error(error);
    return cvz_png_libpng_verdict(decoder, pixels, pixels_size, NULL, error);
  }
  png_bytep *rows = malloc((size_t)image.height * sizeof *rows);
  if (rows == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return -1;
  }
  for (uint32_t y = 0; y < image.height; y++) rows[y] = (png_bytep)pixels + (size_t)y * row_bytes;
  if (setjmp(png_jmpbuf(decoder->png))) {
    free(rows);
    return -1;
  }
  png_read_image(decoder->png, rows);
  /* Reads the chunks after the image data, so their CRCs are checked too. */
  png_read_end(decoder->png, decoder->info);
  free(rows);
  return 0;
}

void cvz_png_close(cvz_png_decoder *decoder) {
  if (decoder == NULL) return;
  if (decoder->png != NULL) png_destroy_read_struct(&decoder->png, &decoder->info, NULL);
  cvz_png_fast_free(decoder);
  free(decoder->fd_buffer);
  free(decoder);
}

int cvz_png_libpng_verdict(struct cvz_png_decoder *decoder, void *pixels, size_t pixels_size,
                           int *exif, cvz_error *error) {
  cvz_image_info info;
  cvz_png_decoder *check = open_decoder(decoder->data, decoder->size, decoder->fd, 1, &info, error);
  if (check == NULL) return -1;
  int status = -1;
  if (pixels != NULL) {
    status = cvz_png_read(check, pixels, pixels_size, error);
  } else {
    const size_t row_bytes =
      (size_t)info.width * (size_t)info.channels * (size_t)(info.bit_depth / 8);
    uint8_t *row = malloc(row_bytes > 0 ? row_bytes : 1);
    if (row == NULL) {
      cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    } else {
      status = 0;
      for (uint32_t y = 0; y < info.height && status == 0; y++) {
        status = cvz_png_read_rows(check, row, row_bytes, 1, error);
      }
      if (status == 0) status = cvz_png_finish(check, error);
      free(row);
    }
  }
  if (status == 0 && exif != NULL) *exif = cvz_png_has_exif(check);
  cvz_png_close(check);
  return status;
}

/* MARK: Encoding */

struct png_encoder {
  png_structp png;
  png_infop info;
  uint8_t *data;
  size_t size;
  size_t capacity;
  cvz_error *error;
};

static void on_encode_error(png_structp png, png_const_charp message) {
  struct png_encoder *encoder = png_get_error_ptr(png);
  cvz_set_error(encoder->error, CVZ_ERROR_ENCODE, message);
  png_longjmp(png, 1);
}

static void write_bytes(png_structp png, png_bytep bytes, size_t count) {
  struct png_encoder *encoder = png_get_io_ptr(png);
  if (count > encoder->capacity - encoder->size) {
    size_t capacity = encoder->capacity < 4096 ? 4096 : encoder->capacity;
    while (count > capacity - encoder->size) {
      if (capacity > SIZE_MAX / 2) png_error(png, "out of memory");
      capacity *= 2;
    }
    uint8_t *grown = realloc(encoder->data, capacity);
    if (grown == NULL) png_error(png, "out of memory");
    encoder->data = grown;
    encoder->capacity = capacity;
  }
  memcpy(encoder->data + encoder->size, bytes, count);
  encoder->size += count;
}

static void flush_bytes(png_structp png) { (void)png; }

static void free_encoder(struct png_encoder *encoder) {
  if (encoder->png != NULL) png_destroy_write_struct(&encoder->png, &encoder->info);
  free(encoder->data);
  free(encoder);
}

int cvz_png_encode(const void *pixels, uint32_t width, uint32_t height, int channels,
                   int bit_depth, int zlib_level, int zlib_strategy, unsigned filters,
                   cvz_buffer *out, cvz_error *error) {
  cvz_clear_error(error);
  out->data = NULL;
  out->size = 0;
  static const int color_types[] = {
    PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16) ||
      (filters & CVZ_PNG_FILTER_ALL) == 0) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "unsupported channel count, bit depth or filters");
    return -1;
  }
  struct png_encoder *encoder = calloc(1, sizeof *encoder);
  if (encoder == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return -1;
  }
  encoder->error = error;
  encoder->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, encoder, on_encode_error,
                                         on_warning);
  if (encoder->png != NULL) encoder->info = png_create_info_struct(encoder->png);
  if (encoder->png == NULL || encoder->info == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    free_encoder(encoder);
    return -1;
  }
  if (setjmp(png_jmpbuf(encoder->png))) {
    free_encoder(encoder);
    return -1;
  }
  png_structp png = encoder->png;
  png_set_write_fn(png, encoder, write_bytes, flush_bytes);
  png_set_compression_level(png, zlib_level);
  png_set_compression_strategy(png, zlib_strategy);
  /* libpng's PNG_FILTER_NONE...PAETH are bits 3...7. */
  png_set_filter(png, PNG_FILTER_TYPE_BASE, (int)((filters & CVZ_PNG_FILTER_ALL) << 3));
  png_set_IHDR(png, encoder->info, width, height, bit_depth, color_types[channels - 1],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, encoder->info);
  if (bit_depth == 16 && host_is_little_endian()) png_set_swap(png);
  const size_t row_bytes = (size_t)width * (size_t)channels * (size_t)(bit_depth / 8);
  for (uint32_t y = 0; y < height; y++) {
    png_write_row(png, (png_const_bytep)pixels + (size_t)y * row_bytes);
  }
  png_write_end(png, encoder->info);
  out->data = encoder->data;
  out->size = encoder->size;
  encoder->data = NULL;
  free_encoder(encoder);
  return 0;
}
