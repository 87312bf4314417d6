/*
 * The five PNG row filters, and the two ways png_encoder.c chooses one for
 * a row: libpng's sum of magnitudes and an estimate of the coded size.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "png_filters.h"

static inline uint8_t paeth(int a, int b, int c) {
  const int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
  return (uint8_t)(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c));
}

/* Filters one row of `length` bytes (`previous` NULL for the top row). */
void cvz_png_filter_row(int type, const uint8_t *row, const uint8_t *previous, size_t length,
                        size_t bpp, uint8_t *out) {
  switch (type) {
  case FILTER_NONE:
    memcpy(out, row, length);
    break;
  case FILTER_SUB:
    for (size_t i = 0; i < bpp && i < length; i++) out[i] = row[i];
    for (size_t i = bpp; i < length; i++) out[i] = (uint8_t)(row[i] - row[i - bpp]);
    break;
  case FILTER_UP:
    if (previous == NULL) {
      memcpy(out, row, length);
    } else {
      for (size_t i = 0; i < length; i++) out[i] = (uint8_t)(row[i] - previous[i]);
    }
    break;
  case FILTER_AVERAGE:
    if (previous == NULL) {
      for (size_t i = 0; i < bpp && i < length; i++) out[i] = row[i];
      for (size_t i = bpp; i < length; i++) out[i] = (uint8_t)(row[i] - (row[i - bpp] >> 1));
    } else {
      for (size_t i = 0; i < bpp && i < length; i++)
        out[i] = (uint8_t)(row[i] - (previous[i] >> 1));
      for (size_t i = bpp; i < length; i++)
        out[i] = (uint8_t)(row[i] - ((row[i - bpp] + previous[i]) >> 1));
    }
    break;
  default: /* FILTER_PAETH */
    if (previous == NULL) {
      cvz_png_filter_row(FILTER_SUB, row, previous, length, bpp, out);
    } else {
      for (size_t i = 0; i < bpp && i < length; i++) out[i] = (uint8_t)(row[i] - previous[i]);
      for (size_t i = bpp; i < length; i++)
        out[i] = (uint8_t)(row[i] - paeth(row[i - bpp], previous[i], previous[i - bpp]));
    }
    break;
  }
}

/* libpng's heuristic: the sum of the filtered bytes taken as signed. */
unsigned long cvz_png_row_cost(const uint8_t *bytes, size_t length) {
  unsigned long sum = 0;
  for (size_t i = 0; i < length; i++) sum += (unsigned long)abs((int)(int8_t)bytes[i]);
  return sum;
}

/* MARK: Choosing a row's filter by its estimated coded size */

/* Every ENTROPY_STEP-th byte of a long row is sampled: 5 is prime to every
   PNG pixel size (1, 2, 3, 4, 6, 8 bytes), so the samples visit every
   channel. */
enum { ENTROPY_STEP = 5, LOG_TABLE = 4096 };

/* c·log2(c) for small counts, filled once. */
static float count_log_table[LOG_TABLE];
static pthread_once_t count_log_once = PTHREAD_ONCE_INIT;

static void fill_count_log_table(void) {
  for (int c = 1; c < LOG_TABLE; c++) count_log_table[c] = (float)c * log2f((float)c);
}

void cvz_png_entropy_prepare(void) { pthread_once(&count_log_once, fill_count_log_table); }

static inline float count_log(uint32_t c) {
  return c < LOG_TABLE ? count_log_table[c] : (float)c * log2f((float)c);
}

/*
 * The candidate of `filters` whose filtered row a Huffman code would store
 * in the fewest bits, estimated from every ENTROPY_STEP-th byte: n samples
 * with byte counts c need n·log2(n) − Σ c·log2(c) bits, so the winner has
 * the largest Σ c·log2(c). Only the sampled bytes are filtered here (a
 * filtered byte depends on unfiltered ones only). `above` is the row above,
 * zeros for the top row, as the PNG filters take it. This measure, unlike
 * libpng's sum of magnitudes, sees that a row of small positive values
 * (most of an edge map) costs fewer bits as it is than as signed
 * differences.
 */
int cvz_png_choose_by_entropy(unsigned filters, const uint8_t *row, const uint8_t *above,
                              size_t length, size_t bpp) {
  uint32_t counts[5][256];
  memset(counts, 0, sizeof counts);
  /* Short rows are measured whole: a sample would be too small to tell. */
  const size_t step = length < 256 * ENTROPY_STEP ? 1 : ENTROPY_STEP;
  for (size_t i = 0; i < length; i += step) {
    const int x = row[i], b = above[i];
    const int a = i >= bpp ? row[i - bpp] : 0, c = i >= bpp ? above[i - bpp] : 0;
    counts[FILTER_NONE][x]++;
    counts[FILTER_SUB][(uint8_t)(x - a)]++;
    counts[FILTER_UP][(uint8_t)(x - b)]++;
    counts[FILTER_AVERAGE][(uint8_t)(x - ((a + b) >> 1))]++;
    counts[FILTER_PAETH][(uint8_t)(x - paeth(a, b, c))]++;
  }
  int best = -1;
  float best_score = 0;
  for (int type = 0; type <= FILTER_PAETH; type++) {
    if (!(filters & (1u << type))) continue;
    float score = 0;
    for (int v = 0; v < 256; v++) score += count_log(counts[type][v]);
    if (best < 0 || score > best_score) {
      best = type;
      best_score = score;
    }
  }
  return best;
}
