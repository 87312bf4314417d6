/*
 * The PNG image data without libpng: IDAT chunks inflated by ISA-L's igzip
 * (several times faster than zlib's inflate), the rows unfiltered here. Used
 * for the rows libpng would not transform (8/16-bit gray, gray+alpha, RGB,
 * RGBA, not interlaced, no tRNS); libpng still reads everything up to the
 * first IDAT (the header, its checks and limits) and frees what it holds.
 *
 * What this path accepts and refuses is libpng's, by construction: on any
 * sign of damage (a CRC, an inflate error, a bad filter byte, too little
 * data, a chunk after the image data it does not know to be harmless) it
 * asks libpng for its verdict on the whole file, read again from the start
 * (cvz_png_libpng_verdict), and returns libpng's error; libpng's benign
 * errors after the last row (a bad Adler-32, extra data, extra IDATs) are
 * accepted as libpng accepts them. The cost of the second reading is paid by
 * damaged files only.
 */
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <zlib.h>

#include "png_decoder.h"

struct fast_idat {
  struct inflate_state inflate;
  /* Data bytes of the current IDAT not yet read, and its running CRC. */
  uint32_t chunk_left;
  uLong crc;
  /* The chunk header after the last IDAT, once met. */
  int after_idat;
  uint8_t next_header[8];
  size_t stride; /* filter byte + row bytes */
  size_t bpp;
  int sixteen;
  /* Filtered rows inflated ahead: `ready` of `batch`, `next` delivered,
     at rows + HISTORY; the HISTORY bytes before them are the output just
     before, which igzip reads its matches back from. */
  uint8_t *buffer, *rows;
  size_t produced; /* bytes at `rows` from the last inflate */
  size_t batch, ready, next;
  uint32_t rows_inflated, height;
  /* The row above (zeros before the first) and the row being unfiltered. */
  uint8_t *previous, *current;
  int chunks_after;
  char message[CVZ_MESSAGE_CAPACITY];
};

enum { HISTORY = ISAL_DEF_HIST_SIZE, BATCH_BYTES = 1 << 18, MAX_ANCILLARY = 1 << 20, MAX_CHUNKS_AFTER = 500 };

static uint32_t get_u32(const uint8_t *bytes) {
  return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
         bytes[3];
}

int cvz_png_fast_start(struct cvz_png_decoder *decoder, int color_type, int bit_depth) {
  if ((color_type != PNG_COLOR_TYPE_GRAY && color_type != PNG_COLOR_TYPE_GRAY_ALPHA &&
       color_type != PNG_COLOR_TYPE_RGB && color_type != PNG_COLOR_TYPE_RGB_ALPHA) ||
      (bit_depth != 8 && bit_depth != 16) || memcmp(decoder->last_header + 4, "IDAT", 4) != 0) {
    return 0;
  }
  const uint32_t length = get_u32(decoder->last_header);
  const uint8_t *zlib_header = length >= 2 ? cvz_png_source_peek2(decoder) : NULL;
  /* Deflate, a 32 KiB window, no preset dictionary, a valid check: what
     zlib and igzip read alike. Any other stream is libpng's. */
  if (zlib_header == NULL || zlib_header[0] != 0x78 || (zlib_header[1] & 0x20) != 0 ||
      (zlib_header[0] * 256 + zlib_header[1]) % 31 != 0) {
    return 0;
  }
  const cvz_image_info image = decoder->image;
  struct fast_idat *fast = calloc(1, sizeof *fast);
  if (fast == NULL) return 0;
  fast->bpp = (size_t)image.channels * (size_t)(bit_depth / 8);
  fast->stride = (size_t)image.width * fast->bpp + 1;
  fast->sixteen = bit_depth == 16;
  fast->height = image.height;
  fast->batch = BATCH_BYTES / fast->stride > 0 ? BATCH_BYTES / fast->stride : 1;
  fast->buffer = malloc(HISTORY + fast->batch * fast->stride);
  fast->rows = fast->buffer + HISTORY;
  fast->previous = calloc(1, fast->stride);
  fast->current = malloc(fast->stride);
  if (fast->buffer == NULL || fast->previous == NULL || fast->current == NULL) {
    free(fast->buffer);
    free(fast->previous);
    free(fast->current);
    free(fast);
    return 0;
  }
  isal_inflate_init(&fast->inflate);
  fast->inflate.crc_flag = ISAL_DEFLATE;
  uint8_t skipped[2];
  char message[CVZ_MESSAGE_CAPACITY];
  cvz_png_source_read(decoder, skipped, 2, message); /* peeked: cannot fail */
  fast->crc = cvz_crc32(cvz_crc32(0, "IDAT", 4), skipped, 2);
  fast->chunk_left = length - 2;
  decoder->fast = fast;
  return 1;
}

void cvz_png_fast_free(struct cvz_png_decoder *decoder) {
  struct fast_idat *fast = decoder->fast;
  if (fast == NULL) return;
  free(fast->buffer);
  free(fast->previous);
  free(fast->current);
  free(fast);
  decoder->fast = NULL;
}

static int fail(struct fast_idat *fast, const char *message) {
  snprintf(fast->message, sizeof fast->message, "%s", message);
  return -1;
}

/* Reads the current chunk's stored CRC and compares it. */
static int check_crc(struct cvz_png_decoder *decoder) {
  struct fast_idat *fast = decoder->fast;
  uint8_t stored[4];
  if (cvz_png_source_read(decoder, stored, 4, fast->message) != 0) return -1;
  if (get_u32(stored) != (uint32_t)fast->crc) return fail(fast, "CRC error");
  return 0;
}

/* Hands igzip the next piece of image data, across IDAT chunks: 0, 1 when
   the IDAT chunks have ended (the next header is kept), -1 on damage. */
static int feed(struct cvz_png_decoder *decoder) {
  struct fast_idat *fast = decoder->fast;
  while (fast->chunk_left == 0) {
    if (fast->after_idat) return 1;
    if (check_crc(decoder) != 0) return -1;
    if (cvz_png_source_read(decoder, fast->next_header, 8, fast->message) != 0) return -1;
    if (memcmp(fast->next_header + 4, "IDAT", 4) != 0) {
      fast->after_idat = 1;
      return 1;
    }
    const uint32_t length = get_u32(fast->next_header);
    if (length > 0x7fffffffu) return fail(fast, "chunk length out of range");
    fast->chunk_left = length;
    fast->crc = cvz_crc32(0, "IDAT", 4);
  }
  const uint8_t *bytes;
  const ptrdiff_t n = cvz_png_source_next(decoder, &bytes, fast->chunk_left);
  if (n < 0) return fail(fast, "read error");
  if (n == 0) {
    decoder->ran_out = 1;
    return fail(fast, "file ends before the image is complete");
  }
  fast->crc = cvz_crc32((uint32_t)fast->crc, bytes, n);
  fast->chunk_left -= (uint32_t)n;
  fast->inflate.next_in = (uint8_t *)bytes;
  fast->inflate.avail_in = (uint32_t)n;
  return 0;
}

/* Inflates the next batch of filtered rows. */
static int inflate_batch(struct cvz_png_decoder *decoder) {
  struct fast_idat *fast = decoder->fast;
  size_t rows = fast->height - fast->rows_inflated;
  if (rows > fast->batch) rows = fast->batch;
  /* The last HISTORY bytes of output (the previous batch's end) go before
     the new batch. */
  memmove(fast->buffer, fast->buffer + fast->produced, HISTORY);
  fast->produced = 0;
  fast->inflate.next_out = fast->rows;
  fast->inflate.avail_out = (uint32_t)(rows * fast->stride);
  while (fast->inflate.avail_out > 0) {
    if (fast->inflate.avail_in == 0 && fast->inflate.block_state < ISAL_BLOCK_INPUT_DONE) {
      const int fed = feed(decoder);
      if (fed != 0) return fed < 0 ? -1 : fail(fast, "not enough image data");
    }
    const uint32_t before = fast->inflate.avail_out;
    const int status = isal_inflate(&fast->inflate);
    if (status < 0) return fail(fast, "damaged compressed data");
    if (fast->inflate.avail_out > 0 && fast->inflate.block_state == ISAL_BLOCK_FINISH) {
      return fail(fast, "not enough image data");
    }
    if (fast->inflate.avail_out == before && fast->inflate.avail_in > 0 &&
        fast->inflate.block_state >= ISAL_BLOCK_INPUT_DONE) {
      return fail(fast, "inflate makes no progress");
    }
  }
  fast->rows_inflated += (uint32_t)rows;
  fast->produced = rows * fast->stride;
  fast->ready = rows;
  fast->next = 0;
  return 0;
}

static inline uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return (uint8_t)(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c));
}

/* Unfilters `n` bytes of `raw` (type `type`) into `out`, `above` being the
   unfiltered row above. `bpp` is a constant at every call site below, so
   each copy is specialised. */
static inline __attribute__((always_inline)) void unfilter(int type, const uint8_t *raw,
                                                           const uint8_t *above, uint8_t *out,
                                                           size_t n, size_t bpp) {
  switch (type) {
  case 0:
    memcpy(out, raw, n);
    break;
  case 1:
    for (size_t i = 0; i < bpp; i++) out[i] = raw[i];
    for (size_t i = bpp; i < n; i++) out[i] = (uint8_t)(raw[i] + out[i - bpp]);
    break;
  case 2:
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(raw[i] + above[i]);
    break;
  case 3:
    for (size_t i = 0; i < bpp; i++) out[i] = (uint8_t)(raw[i] + (above[i] >> 1));
    for (size_t i = bpp; i < n; i++) out[i] = (uint8_t)(raw[i] + ((out[i - bpp] + above[i]) >> 1));
    break;
  default:
    for (size_t i = 0; i < bpp; i++) out[i] = (uint8_t)(raw[i] + above[i]);
    for (size_t i = bpp; i < n; i++) {
      out[i] = (uint8_t)(raw[i] + paeth(out[i - bpp], above[i], above[i - bpp]));
    }
    break;
  }
}

static void unfilter_row(int type, const uint8_t *raw, const uint8_t *above, uint8_t *out,
                         size_t n, size_t bpp) {
  switch (bpp) {
  case 1: unfilter(type, raw, above, out, n, 1); break;
  case 2: unfilter(type, raw, above, out, n, 2); break;
  case 3: unfilter(type, raw, above, out, n, 3); break;
  case 4: unfilter(type, raw, above, out, n, 4); break;
  case 6: unfilter(type, raw, above, out, n, 6); break;
  default: unfilter(type, raw, above, out, n, 8); break;
  }
}

/* The rows, or -1 with fast->message. */
static int fast_rows(struct cvz_png_decoder *decoder, uint8_t *pixels, size_t row_stride,
                     uint32_t count) {
  struct fast_idat *fast = decoder->fast;
  const size_t n = fast->stride - 1;
  for (uint32_t y = 0; y < count; y++) {
    if (fast->next == fast->ready && inflate_batch(decoder) != 0) return -1;
    const uint8_t *raw = fast->rows + fast->next++ * fast->stride;
    if (raw[0] > 4) return fail(fast, "bad adaptive filter value");
    unfilter_row(raw[0], raw + 1, fast->previous, fast->current, n, fast->bpp);
    uint8_t *out = pixels + (size_t)y * row_stride;
    if (fast->sixteen) {
      for (size_t i = 0; i < n; i += 2) {
        out[i] = fast->current[i + 1];
        out[i + 1] = fast->current[i];
      }
    } else {
      memcpy(out, fast->current, n);
    }
    uint8_t *swap = fast->previous;
    fast->previous = fast->current;
    fast->current = swap;
  }
  return 0;
}

/* The fast path failed: libpng's error for the file, or (libpng accepting
   what this path refused, which would be a bug here) this path's own. */
static int refuse(struct cvz_png_decoder *decoder, cvz_error *error) {
  char message[CVZ_MESSAGE_CAPACITY];
  snprintf(message, sizeof message, "%s", decoder->fast->message);
  if (cvz_png_libpng_verdict(decoder, NULL, 0, NULL, error) != 0) return -1;
  cvz_set_error(error, CVZ_ERROR_CORRUPT, message);
  return -1;
}

int cvz_png_fast_rows(struct cvz_png_decoder *decoder, uint8_t *pixels, size_t row_stride,
                      uint32_t count, cvz_error *error) {
  if (fast_rows(decoder, pixels, row_stride, count) == 0) return 0;
  return refuse(decoder, error);
}

/* After the last row, as libpng's png_read_end: the rest of the zlib stream
   (its errors and extra data benign), the rest of the IDAT chunks, then the
   chunks up to IEND, each CRC checked. 0, 1 for "ask libpng" (a chunk this
   path does not judge), -1 on damage. */
static int finish_chunks(struct cvz_png_decoder *decoder) {
  struct fast_idat *fast = decoder->fast;
  const uint32_t room = (uint32_t)(fast->batch * fast->stride);
  while (fast->inflate.block_state != ISAL_BLOCK_FINISH) {
    if (fast->inflate.avail_in == 0 && fast->inflate.block_state < ISAL_BLOCK_INPUT_DONE) {
      const int fed = feed(decoder);
      if (fed != 0) return fed < 0 ? -1 : fail(fast, "not enough image data");
    }
    /* Into the row buffer, after the history igzip may read back. */
    memmove(fast->buffer, fast->buffer + fast->produced, HISTORY);
    fast->inflate.next_out = fast->rows;
    fast->inflate.avail_out = room;
    const uint32_t had = fast->inflate.avail_in;
    const enum isal_block_state state = fast->inflate.block_state;
    if (isal_inflate(&fast->inflate) < 0) break;
    fast->produced = room - fast->inflate.avail_out;
    if (fast->inflate.avail_out == room && fast->inflate.avail_in == had &&
        fast->inflate.block_state == state) {
      break; /* no progress: libpng would stop here too */
    }
  }
  /* The rest of this IDAT and any further IDATs: skipped, CRCs checked. */
  for (;;) {
    while (!fast->after_idat || fast->chunk_left > 0) {
      fast->inflate.avail_in = 0;
      const int fed = feed(decoder);
      if (fed < 0) return -1;
      if (fed == 1) break;
    }
    const uint8_t *header = fast->next_header;
    const uint32_t length = get_u32(header);
    for (int i = 4; i < 8; i++) {
      const uint8_t c = header[i];
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return 1;
    }
    const int ancillary = (header[4] & 0x20) != 0;
    const int iend = memcmp(header + 4, "IEND", 4) == 0;
    if ((!ancillary && !iend) || length > MAX_ANCILLARY || (iend && length != 0)) return 1;
    if (memcmp(header + 4, "eXIf", 4) == 0) decoder->exif_after = 1;
    fast->crc = cvz_crc32(0, header + 4, 4);
    uint32_t left = length;
    while (left > 0) {
      const uint8_t *bytes;
      const ptrdiff_t n = cvz_png_source_next(decoder, &bytes, left);
      if (n <= 0) {
        if (n == 0) decoder->ran_out = 1;
        return fail(fast, "file ends before the image is complete");
      }
      fast->crc = cvz_crc32((uint32_t)fast->crc, bytes, n);
      left -= (uint32_t)n;
    }
    if (check_crc(decoder) != 0) return -1;
    if (iend) return 0;
    if (++fast->chunks_after > MAX_CHUNKS_AFTER) return 1;
    if (cvz_png_source_read(decoder, fast->next_header, 8, fast->message) != 0) return -1;
    if (memcmp(fast->next_header + 4, "IDAT", 4) == 0) return 1;
  }
}

int cvz_png_fast_finish(struct cvz_png_decoder *decoder, cvz_error *error) {
  const int status = finish_chunks(decoder);
  if (status == 0) return 0;
  if (status < 0) return refuse(decoder, error);
  /* A chunk this path does not judge: libpng's verdict, accepted or not. */
  int exif = 0;
  if (cvz_png_libpng_verdict(decoder, NULL, 0, &exif, error) != 0) return -1;
  decoder->exif_after = exif;
  return 0;
}
