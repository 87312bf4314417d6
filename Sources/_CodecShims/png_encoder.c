/*
 * The fast PNG encoder: rows filtered (png_filters.c) and the PNG container
 * written here, the deflate stream cut into bands of rows compressed in
 * parallel on the _Runtime pool. No libpng (and so no longjmp) on this path: zlib reports
 * errors by return value.
 *
 * How the bands make one stream: every band is a raw deflate stream primed
 * with the last 32 KiB of the filtered bytes before it (deflateSetDictionary),
 * so it may refer back across the boundary exactly as one stream would; every
 * band but the last ends with Z_SYNC_FLUSH (byte-aligned, not final), the last
 * with Z_FINISH. Concatenated they are one valid deflate stream; the zlib
 * header goes in front and the Adler-32 of all filtered bytes, combined from
 * the bands' with adler32_combine, at the end. Each band is its own IDAT
 * chunk (its CRC computed in the band's task), the Adler-32 a last 4-byte
 * IDAT. Band boundaries depend only on the image's size, never on the thread
 * count, so the bytes are the same with 1 or 64 threads. The streaming
 * writer (png_writer.c) compresses the same bands as their rows arrive;
 * what the two share is declared in png_encoder.h.
 */
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include "cvz_runtime.h"
#include "deflate_runs.h"
#include "png_encoder.h"
#include "png_filters.h"
#include "shim_common.h"

/* Filtered bytes per band: small enough for 2...64 cores to share out, large
   enough that the 32 KiB dictionary and the flush marker cost nothing. */
enum { BAND_BYTES = 1 << 20 };

/* Input bytes a Huffman table of the default level's deflate covers: a
   quarter band, which adapts a little better to a band that changes than
   one table would, and keeps the run list small (deflate_runs.c). */
enum { RUNS_BLOCK_BYTES = 1 << 18 };

/* Row y as stored in the PNG: 16-bit samples big-endian. */
static const uint8_t *stored_row(const png_job *job, uint32_t y, uint8_t *scratch) {
  const uint8_t *row = job->pixels + (size_t)(y - job->first_row) * job->row_bytes;
  if (!job->sixteen_bit) return row;
  const uint16_t *samples = (const uint16_t *)row;
  for (size_t i = 0; i < job->row_bytes / 2; i++) {
    scratch[2 * i] = (uint8_t)(samples[i] >> 8);
    scratch[2 * i + 1] = (uint8_t)samples[i];
  }
  return scratch;
}

/* Filters rows [first, end) into `out` (each row its filter type byte, then
   the filtered bytes). A row's filter depends on that row and the one above
   only, so any band can filter any rows and get the same bytes. */
static int filter_rows(const png_job *job, uint32_t first, uint32_t end, uint8_t *out) {
  const size_t length = job->row_bytes;
  uint8_t *scratch = malloc(3 * length + 2);
  uint8_t *zeros = NULL;
  if (job->strategy == CVZ_PNG_STRATEGY_RUNS) {
    cvz_png_entropy_prepare();
    zeros = calloc(1, length + 1);
  }
  if (scratch == NULL || (job->strategy == CVZ_PNG_STRATEGY_RUNS && zeros == NULL)) {
    free(scratch);
    free(zeros);
    return -1;
  }
  uint8_t *current = scratch, *previous = scratch + length, *candidate = scratch + 2 * length;
  const uint8_t *above = first == 0 ? NULL : stored_row(job, first - 1, previous);
  for (uint32_t y = first; y < end; y++, out += length + 1) {
    const uint8_t *row = stored_row(job, y, current);
    int best = -1;
    unsigned long best_cost = 0;
    if ((job->filters & (job->filters - 1)) == 0) {
      /* One candidate: filter straight into the output. */
      best = __builtin_ctz(job->filters);
      cvz_png_filter_row(best, row, above, length, job->bpp, out + 1);
    } else if (job->strategy == CVZ_PNG_STRATEGY_RUNS) {
      best = cvz_png_choose_by_entropy(job->filters, row, above != NULL ? above : zeros, length,
                                       job->bpp);
      cvz_png_filter_row(best, row, above, length, job->bpp, out + 1);
    } else {
      for (int type = 0; type <= FILTER_PAETH; type++) {
        if (!(job->filters & (1u << type))) continue;
        cvz_png_filter_row(type, row, above, length, job->bpp, candidate);
        const unsigned long cost = cvz_png_row_cost(candidate, length);
        if (best < 0 || cost < best_cost) {
          best = type;
          best_cost = cost;
          memcpy(out + 1, candidate, length);
        }
      }
    }
    out[0] = (uint8_t)best;
    if (job->sixteen_bit) {
      /* `row` is in `current`; keep it as the next row's `above`. */
      uint8_t *swap = previous;
      previous = current;
      current = swap;
      above = previous;
    } else {
      above = row;
    }
  }
  free(scratch);
  free(zeros);
  return 0;
}

static void put_u32(uint8_t *out, uint32_t value) {
  out[0] = (uint8_t)(value >> 24);
  out[1] = (uint8_t)(value >> 16);
  out[2] = (uint8_t)(value >> 8);
  out[3] = (uint8_t)value;
}

/* Rows of band `band`: [first, end). */
void cvz_png_band_rows(const png_job *job, int band, uint32_t *first, uint32_t *end) {
  *first = (uint32_t)band * job->rows_per_band;
  *end = job->height - *first < job->rows_per_band ? job->height : *first + job->rows_per_band;
}

/* Room for band `band`'s IDAT chunk: deflate's worst case, the zlib header
   (band 0), a flush marker's worth of slack and the chunk's framing. */
size_t cvz_png_chunk_capacity(const png_job *job, int band) {
  uint32_t first, end;
  cvz_png_band_rows(job, band, &first, &end);
  const size_t bytes = (size_t)(end - first) * (job->row_bytes + 1);
  const size_t zlib_bound = deflateBound(NULL, (uLong)bytes);
  const size_t runs_bound = cvz_deflate_runs_bound(bytes, RUNS_BLOCK_BYTES);
  return 12 + 2 + 16 + (zlib_bound > runs_bound ? zlib_bound : runs_bound);
}

/* Deflates `size` bytes at `input` as raw deflate into `out` (room
   `capacity`), primed with the `window` bytes at `dictionary`: the last band
   ends the stream, the others end with a sync flush (an empty stored block,
   so the next band starts on a byte). zlib, or ISA-L's igzip when the
   strategy is CVZ_PNG_STRATEGY_IGZIP. Returns 1 when it all fit. */
static int deflate_bytes(const png_job *job, const uint8_t *input, size_t size,
                         const uint8_t *dictionary, size_t window, int last, uint8_t *out,
                         size_t capacity, size_t *written) {
  if (job->strategy == CVZ_PNG_STRATEGY_RUNS) {
    *written = cvz_deflate_runs(input, size, window > 0, RUNS_BLOCK_BYTES, last, out, capacity);
    return *written > 0;
  }
  if (job->strategy == CVZ_PNG_STRATEGY_IGZIP) {
    static const uint32_t level_bytes[] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                           ISAL_DEF_LVL3_DEFAULT};
    struct isal_zstream stream;
    isal_deflate_init(&stream);
    stream.level = (uint32_t)job->level;
    uint8_t *level_buffer = NULL;
    if (job->level > 0) {
      level_buffer = malloc(level_bytes[job->level]);
      if (level_buffer == NULL) return 0;
      stream.level_buf = level_buffer;
      stream.level_buf_size = level_bytes[job->level];
    }
    if (window > 0 && isal_deflate_set_dict(&stream, (uint8_t *)dictionary, (uint32_t)window) !=
                        COMP_OK) {
      free(level_buffer);
      return 0;
    }
    stream.next_in = (uint8_t *)input;
    stream.avail_in = (uint32_t)size;
    stream.next_out = out;
    stream.avail_out = (uint32_t)capacity;
    stream.end_of_stream = (uint16_t)last;
    stream.flush = last ? NO_FLUSH : SYNC_FLUSH;
    const int status = isal_deflate(&stream);
    free(level_buffer);
    /* Room left over means igzip wrote all it had, the flush or end included. */
    *written = capacity - stream.avail_out;
    return status == COMP_OK && stream.avail_in == 0 && stream.avail_out > 0 &&
           (!last || stream.internal_state.state == ZSTATE_END);
  }
  z_stream stream;
  memset(&stream, 0, sizeof stream);
  if (deflateInit2(&stream, job->level, Z_DEFLATED, -15, 8, job->strategy) != Z_OK) return 0;
  /* Stored blocks (level 0) never look back: no dictionary to prime. */
  if (window > 0 && job->level > 0) deflateSetDictionary(&stream, dictionary, (uInt)window);
  stream.next_in = (Bytef *)input;
  stream.avail_in = (uInt)size;
  stream.next_out = out;
  stream.avail_out = (uInt)capacity;
  const int status = deflate(&stream, last ? Z_FINISH : Z_SYNC_FLUSH);
  *written = capacity - stream.avail_out;
  deflateEnd(&stream);
  return last ? status == Z_STREAM_END : (status == Z_OK && stream.avail_in == 0);
}

/* Compresses band `band` into the IDAT chunk at `chunk` (room `capacity`
   bytes), setting its size and the Adler-32 of its filtered bytes. The
   rows the band needs, [first - before, end), must be in job->pixels. */
int cvz_png_compress_band(const png_job *job, int band, uint8_t *chunk, size_t capacity,
                          size_t *chunk_size, uLong *adler) {
  const size_t stride = job->row_bytes + 1;
  uint32_t first, end;
  cvz_png_band_rows(job, band, &first, &end);
  /* The rows before the band that its 32 KiB dictionary needs, filtered
     again here so that bands share nothing. */
  uint32_t before = (uint32_t)((WINDOW + stride - 1) / stride);
  if (before > first) before = first;
  uint8_t *filtered = malloc((size_t)(end - first + before) * stride);
  if (filtered == NULL) return -1;
  if (filter_rows(job, first - before, end, filtered) != 0) {
    free(filtered);
    return -1;
  }
  const uint8_t *input = filtered + (size_t)before * stride;
  const size_t input_size = (size_t)(end - first) * stride;
  const int last = band == job->bands - 1;
  const size_t window = before == 0                        ? 0
                        : (size_t)before * stride < WINDOW ? (size_t)before * stride
                                                           : WINDOW;
  const size_t header = band == 0 ? 2 : 0;
  capacity -= 12;
  memcpy(chunk + 4, "IDAT", 4);
  if (header) {
    /* CMF: deflate, 32 KiB window. FLG: the level class, then the check. */
    const int level_class = job->strategy == CVZ_PNG_STRATEGY_IGZIP ? (job->level <= 1 ? 0 : 1)
                            : job->level <= 1                      ? 0
                            : job->level <= 5                      ? 1
                            : job->level == 6                      ? 2
                                                                   : 3;
    chunk[8] = 0x78;
    chunk[9] = (uint8_t)(level_class << 6);
    chunk[9] = (uint8_t)(chunk[9] + (31 - (0x78 * 256 + chunk[9]) % 31));
  }
  size_t written = 0;
  const int complete = deflate_bytes(job, input, input_size, input - window, window, last,
                                     chunk + 8 + header, capacity - header, &written);
  const size_t data_size = header + written;
  *adler = isal_adler32(1, input, input_size);
  free(filtered);
  if (!complete) return -1;
  put_u32(chunk, (uint32_t)data_size);
  put_u32(chunk + 8 + data_size, cvz_crc32(0, chunk + 4, data_size + 4));
  *chunk_size = data_size + 12;
  return 0;
}

static int deflate_band(void *context, int band) {
  png_job *job = context;
  return cvz_png_compress_band(job, band, job->png + job->offsets[band],
                               job->offsets[band + 1] - job->offsets[band],
                               &job->chunk_sizes[band], &job->adlers[band]);
}

static void append_chunk(uint8_t **cursor, const char *type, const uint8_t *data, uint32_t size) {
  uint8_t *out = *cursor;
  put_u32(out, size);
  memcpy(out + 4, type, 4);
  if (size > 0) memcpy(out + 8, data, size);
  put_u32(out + 8 + size, cvz_crc32(0, out + 4, (size_t)size + 4));
  *cursor = out + 12 + size;
}

/* Fills the job's settings and band split; -1 (error set) for settings
   the encoder does not take. */
int cvz_png_setup_job(png_job *job, uint32_t width, uint32_t height, int channels, int bit_depth,
                      int zlib_level, int zlib_strategy, unsigned filters, cvz_error *error) {
  memset(job, 0, sizeof *job);
  if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16) || width == 0 ||
      height == 0 || width > 0x7fffffffu || height > 0x7fffffffu || zlib_level < 0 ||
      zlib_level > (zlib_strategy == CVZ_PNG_STRATEGY_IGZIP ? ISAL_DEF_MAX_LEVEL : 9) ||
      zlib_strategy < CVZ_PNG_STRATEGY_RUNS ||
      (filters & 0x1fu) == 0) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "unsupported image or encoder settings");
    return -1;
  }
  job->width = width;
  job->height = height;
  job->bpp = (size_t)channels * (size_t)(bit_depth / 8);
  job->row_bytes = (size_t)width * job->bpp;
  job->sixteen_bit = bit_depth == 16;
  job->filters = filters & 0x1fu;
  job->level = zlib_level;
  job->strategy = zlib_strategy;
  const size_t stride = job->row_bytes + 1;
  if (stride > (size_t)1 << 30) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "rows too long to encode");
    return -1;
  }
  if (stride > BAND_BYTES / 2) {
    job->rows_per_band = 1;
  } else {
    job->rows_per_band = (uint32_t)(BAND_BYTES / stride);
  }
  job->bands = (int)((height + job->rows_per_band - 1) / job->rows_per_band);
  return 0;
}

/* The signature and IHDR chunk (HEADER_BYTES). */
void cvz_png_write_header(const png_job *job, int channels, int bit_depth, uint8_t **cursor) {
  static const uint8_t color_types[] = {0, 4, 2, 6};
  memcpy(*cursor, "\x89PNG\r\n\x1a\n", 8);
  *cursor += 8;
  uint8_t ihdr[13];
  put_u32(ihdr, job->width);
  put_u32(ihdr + 4, job->height);
  ihdr[8] = (uint8_t)bit_depth;
  ihdr[9] = color_types[channels - 1];
  ihdr[10] = ihdr[11] = ihdr[12] = 0;
  append_chunk(cursor, "IHDR", ihdr, 13);
}

/* The Adler-32 IDAT and IEND (TRAILER_BYTES). */
void cvz_png_write_trailer(uLong adler, uint8_t **cursor) {
  uint8_t trailer[4];
  put_u32(trailer, (uint32_t)adler);
  append_chunk(cursor, "IDAT", trailer, 4);
  append_chunk(cursor, "IEND", NULL, 0);
}

/* Band `band`'s filtered byte count, for adler32_combine. */
z_off_t cvz_png_band_length(const png_job *job, int band) {
  uint32_t first, end;
  cvz_png_band_rows(job, band, &first, &end);
  return (z_off_t)((size_t)(end - first) * (job->row_bytes + 1));
}

int cvz_png_encode_bands(const void *pixels, uint32_t width, uint32_t height, int channels,
                         int bit_depth, int zlib_level, int zlib_strategy, unsigned filters,
                         cvz_buffer *out, cvz_error *error) {
  cvz_clear_error(error);
  out->data = NULL;
  out->size = 0;
  png_job job;
  if (cvz_png_setup_job(&job, width, height, channels, bit_depth, zlib_level, zlib_strategy,
                        filters, error) != 0) {
    return -1;
  }
  job.pixels = pixels;
  job.offsets = calloc((size_t)job.bands + 1, sizeof *job.offsets);
  job.chunk_sizes = calloc((size_t)job.bands, sizeof *job.chunk_sizes);
  job.adlers = calloc((size_t)job.bands, sizeof *job.adlers);
  int status = -1;
  if (job.offsets == NULL || job.chunk_sizes == NULL || job.adlers == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    goto done;
  }
  /* Signature and IHDR, then every band's room, then the Adler-32 IDAT and
     IEND. Pages the bands do not fill are never touched. */
  job.offsets[0] = HEADER_BYTES;
  for (int band = 0; band < job.bands; band++) {
    job.offsets[band + 1] = job.offsets[band] + cvz_png_chunk_capacity(&job, band);
  }
  job.png = malloc(job.offsets[job.bands] + TRAILER_BYTES);
  if (job.png == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    goto done;
  }
  if (cvz_parallel_for(job.bands, deflate_band, &job) != 0) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory while compressing");
    goto done;
  }
  uint8_t *cursor = job.png;
  cvz_png_write_header(&job, channels, bit_depth, &cursor);
  uLong adler = job.adlers[0];
  for (int band = 0; band < job.bands; band++) {
    memmove(cursor, job.png + job.offsets[band], job.chunk_sizes[band]);
    cursor += job.chunk_sizes[band];
    if (band > 0) adler = adler32_combine(adler, job.adlers[band], cvz_png_band_length(&job, band));
  }
  cvz_png_write_trailer(adler, &cursor);
  const size_t size = (size_t)(cursor - job.png);
  uint8_t *shrunk = realloc(job.png, size);
  out->data = shrunk != NULL ? shrunk : job.png;
  out->size = size;
  job.png = NULL;
  status = 0;
done:
  free(job.png);
  free(job.offsets);
  free(job.chunk_sizes);
  free(job.adlers);
  return status;
}
