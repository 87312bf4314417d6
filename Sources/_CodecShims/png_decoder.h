/* The PNG decoder's state, shared by png_shim.c (libpng) and png_fast.c
   (the image data read without libpng); not part of the public header. */
#ifndef CVZ_PNG_DECODER_H
#define CVZ_PNG_DECODER_H

#include <png.h>
#include <stddef.h>
#include <sys/types.h>

#include "shim_common.h"

enum { FD_BUFFER_BYTES = 1 << 16 };

struct fast_idat;

struct cvz_png_decoder {
  png_structp png;
  png_infop info;
  const uint8_t *data;
  size_t size;
  size_t offset;
  /* Set when libpng asked for bytes past the end: the file is truncated. */
  int ran_out;
  /* The cvz_error of the shim call in progress. */
  cvz_error *error;
  /* libpng explains a bad IHDR in warnings before its generic error. */
  char first_warning[CVZ_MESSAGE_CAPACITY];
  cvz_image_info image;
  int interlaced;
  /* Rows cvz_png_read_rows has returned. */
  uint32_t rows_read;
  /* Reading from a file descriptor (fd >= 0): a buffer refilled by read(),
     or by pread() from fd_position when `positioned` (libpng's verdict on a
     file the fast path found damaged, read again from the start). */
  int fd;
  uint8_t *fd_buffer;
  size_t fd_buffered, fd_offset;
  int positioned;
  off_t fd_position;
  /* The last 8-byte read: after png_read_info, the first IDAT's header. */
  uint8_t last_header[8];
  /* Non-NULL when the image data is read by the fast path (png_fast.c). */
  struct fast_idat *fast;
  /* An eXIf chunk seen by the fast path after the image data. */
  int exif_after;
  /* Set to keep libpng's own row reading (the verdict decoder). */
  int libpng_only;
};

/* The file's next bytes, at most `count`, in place (valid until the next
   call): their count, 0 at the end of the file, -1 on a read error. */
ptrdiff_t cvz_png_source_next(struct cvz_png_decoder *decoder, const uint8_t **bytes,
                              size_t count);
/* Copies the next `count` bytes: 0, or -1 with `message` (ran_out set at
   the end of the file). */
int cvz_png_source_read(struct cvz_png_decoder *decoder, uint8_t *out, size_t count,
                        char message[CVZ_MESSAGE_CAPACITY]);
/* Makes at least 2 unread bytes visible without reading them: their
   address, or NULL when the file has fewer. */
const uint8_t *cvz_png_source_peek2(struct cvz_png_decoder *decoder);

/* png_fast.c: takes over the image data after png_read_info when the rows
   need no libpng transformation (8/16-bit gray, gray+alpha, RGB, RGBA, not
   interlaced, no tRNS) and the zlib stream has the usual 32 KiB window.
   Returns 1 when it did, 0 when libpng reads the data (nothing consumed). */
int cvz_png_fast_start(struct cvz_png_decoder *decoder, int color_type, int bit_depth);
/* The next `count` rows, as cvz_png_read_rows; 0 or -1 with `error`. */
int cvz_png_fast_rows(struct cvz_png_decoder *decoder, uint8_t *pixels, size_t row_stride,
                      uint32_t count, cvz_error *error);
/* The rest of the file, as cvz_png_finish; 0 or -1 with `error`. */
int cvz_png_fast_finish(struct cvz_png_decoder *decoder, cvz_error *error);
void cvz_png_fast_free(struct cvz_png_decoder *decoder);

/* libpng's verdict on the whole file, read again from its start: 0 when
   libpng decodes it (into `pixels`, `pixels_size` bytes, when not NULL)
   and checks every chunk, else -1 with libpng's error. `exif` (if not
   NULL) is set to whether libpng saw an eXIf chunk. */
int cvz_png_libpng_verdict(struct cvz_png_decoder *decoder, void *pixels, size_t pixels_size,
                           int *exif, cvz_error *error);

#endif
