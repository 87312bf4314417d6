/* What the PNG encoder's two ways in share: the one-shot band encoder
   (png_encoder.c, cvz_png_encode_bands) and the streaming writer
   (png_writer.c, cvz_png_writer_*), which compresses the same bands as its
   rows arrive. Not part of the public header. */
#ifndef CVZ_PNG_ENCODER_H
#define CVZ_PNG_ENCODER_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "shim_common.h"

/* The deflate window: a band's dictionary is the 32 KiB before it. */
enum { WINDOW = 32768 };

typedef struct png_job {
  /* Row first_row of the image; rows follow packed. */
  const uint8_t *pixels;
  uint32_t first_row;
  uint32_t width, height;
  size_t row_bytes; /* stored (big-endian) bytes per row, no filter byte */
  size_t bpp;
  int sixteen_bit;
  unsigned filters; /* bit i: filter type i is a candidate */
  int level, strategy;
  uint32_t rows_per_band;
  int bands;
  /* The output: band i writes its IDAT chunk (length, type, data, CRC) at
     offsets[i], in room for deflateBound's worst case, and its size into
     chunk_sizes[i]; the chunks are moved together afterwards. */
  uint8_t *png;
  size_t *offsets;
  size_t *chunk_sizes;
  uLong *adlers;
} png_job;

/* The signature and IHDR before the first band, the Adler-32 IDAT and IEND
   after the last. */
enum { HEADER_BYTES = 8 + 25, TRAILER_BYTES = 16 + 12 };

/* Fills the job's settings and band split; -1 (error set) for settings
   the encoder does not take. */
int cvz_png_setup_job(png_job *job, uint32_t width, uint32_t height, int channels, int bit_depth,
                      int zlib_level, int zlib_strategy, unsigned filters, cvz_error *error);

/* Rows of band `band`: [first, end). */
void cvz_png_band_rows(const png_job *job, int band, uint32_t *first, uint32_t *end);

/* Room for band `band`'s IDAT chunk: deflate's worst case, the zlib header
   (band 0), a flush marker's worth of slack and the chunk's framing. */
size_t cvz_png_chunk_capacity(const png_job *job, int band);

/* Compresses band `band` into the IDAT chunk at `chunk` (room `capacity`
   bytes), setting its size and the Adler-32 of its filtered bytes. The
   rows the band needs, [first - before, end), must be in job->pixels. */
int cvz_png_compress_band(const png_job *job, int band, uint8_t *chunk, size_t capacity,
                          size_t *chunk_size, uLong *adler);

/* Band `band`'s filtered byte count, for adler32_combine. */
z_off_t cvz_png_band_length(const png_job *job, int band);

/* The signature and IHDR chunk (HEADER_BYTES). */
void cvz_png_write_header(const png_job *job, int channels, int bit_depth, uint8_t **cursor);

/* The Adler-32 IDAT and IEND (TRAILER_BYTES). */
void cvz_png_write_trailer(uLong adler, uint8_t **cursor);

#endif
