/*
 * Pooling loops over interleaved samples. The window is clipped to the
 * image once per output pixel, so the inner loops test no border; the
 * channel loop is innermost, reading each input pixel's samples together.
 */
#include "cvz_pool_kernels.h"

#include <stdint.h>

/* Channels at most this many are reduced in register-sized arrays. */
enum { MAX_CHANNELS = 4 };

/* One sample into the accumulator, and the accumulator into a sample, per
 * mode; the mode is a compile-time constant of each copy of the loops. */
#define ACCUMULATE_MAX(acc, v) ((acc) = (v) > (acc) ? (v) : (acc))
#define ACCUMULATE_SUM(acc, v) ((acc) += (v))
#define ACCUMULATE_SQUARES(acc, v) ((acc) += (v) * (v))

/* Rounds x (0 <= x < 2^52) to the nearest integer, ties to even, as rint
 * does in the default rounding mode: adding 2^52 leaves no fraction bits,
 * so the addition itself rounds (C without -ffast-math keeps both steps).
 * Inline, where rint is a call into libm on the baseline x86-64 target (no
 * SSE4.1 roundsd); it was a tenth of a 2x2 average pool's time. */
static inline double round_half_even(double x) { return (x + 0x1p52) - 0x1p52; }

#define FINISH_MAX(acc, count) (acc)
#define FINISH_MEAN(acc, count) round_half_even((double)(acc) / (count))
#define FINISH_L2(acc, count) round_half_even(__builtin_sqrt((double)(acc) / (count)))

#define DEFINE_POOL_ROWS(NAME, SAMPLE, ACCUMULATE, FINISH)                                    \
  static void NAME(const cvz_pool *p, int row_begin, int row_end) {                           \
    const SAMPLE *in = p->input;                                                              \
    SAMPLE *out = p->output;                                                                  \
    const ptrdiff_t ch = p->channels;                                                         \
    const ptrdiff_t in_row = (ptrdiff_t)p->width * ch;                                        \
    const ptrdiff_t ring = p->input_ring_rows;                                                \
    for (int oy = row_begin; oy < row_end; oy++) {                                            \
      int y0 = oy * p->stride_y - p->pad_top, y1 = y0 + p->pool_height;                       \
      y0 = y0 < 0 ? 0 : y0;                                                                   \
      y1 = y1 > p->height ? p->height : y1;                                                   \
      /* Row y is at slot y % ring of a streaming ring (ring 0: the image). */                \
      const ptrdiff_t first_slot = ring > 0 ? y0 % ring : y0;                                 \
      SAMPLE *o = out + (ptrdiff_t)(oy - p->out_row_offset) * p->out_width * ch;              \
      for (int ox = 0; ox < p->out_width; ox++, o += ch) {                                    \
        int x0 = ox * p->stride_x - p->pad_left, x1 = x0 + p->pool_width;                     \
        x0 = x0 < 0 ? 0 : x0;                                                                 \
        x1 = x1 > p->width ? p->width : x1;                                                   \
        const double count = (double)(y1 - y0) * (x1 - x0);                                   \
        (void)count;                                                                          \
        for (ptrdiff_t c0 = 0; c0 < ch; c0 += MAX_CHANNELS) {                                 \
          const ptrdiff_t cn = ch - c0 < MAX_CHANNELS ? ch - c0 : MAX_CHANNELS;              \
          uint64_t acc[MAX_CHANNELS] = {0, 0, 0, 0};                                          \
          ptrdiff_t slot = first_slot;                                                        \
          for (int y = y0; y < y1; y++, slot = slot + 1 == ring ? 0 : slot + 1) {             \
            const SAMPLE *s = in + slot * in_row + (ptrdiff_t)x0 * ch + c0;                   \
            for (int x = x0; x < x1; x++, s += ch) {                                          \
              for (ptrdiff_t c = 0; c < cn; c++) {                                            \
                const uint64_t v = s[c];                                                      \
                ACCUMULATE(acc[c], v);                                                        \
              }                                                                               \
            }                                                                                 \
          }                                                                                   \
          for (ptrdiff_t c = 0; c < cn; c++) o[c0 + c] = (SAMPLE)FINISH(acc[c], count);       \
        }                                                                                     \
      }                                                                                       \
    }                                                                                         \
  }

DEFINE_POOL_ROWS(max_rows8, uint8_t, ACCUMULATE_MAX, FINISH_MAX)
DEFINE_POOL_ROWS(max_rows16, uint16_t, ACCUMULATE_MAX, FINISH_MAX)
DEFINE_POOL_ROWS(mean_rows8, uint8_t, ACCUMULATE_SUM, FINISH_MEAN)
DEFINE_POOL_ROWS(mean_rows16, uint16_t, ACCUMULATE_SUM, FINISH_MEAN)
DEFINE_POOL_ROWS(l2_rows8, uint8_t, ACCUMULATE_SQUARES, FINISH_L2)
DEFINE_POOL_ROWS(l2_rows16, uint16_t, ACCUMULATE_SQUARES, FINISH_L2)

void cvz_pool_rows(const cvz_pool *p, int row_begin, int row_end) {
  const int eight = p->sample_bytes == 1;
  switch (p->mode) {
  case CVZ_POOL_MAX:
    (eight ? max_rows8 : max_rows16)(p, row_begin, row_end);
    break;
  case CVZ_POOL_AVERAGE:
    (eight ? mean_rows8 : mean_rows16)(p, row_begin, row_end);
    break;
  default:
    (eight ? l2_rows8 : l2_rows16)(p, row_begin, row_end);
    break;
  }
}

/* The rows of the first window and of the last, clipped as the loops clip. */
void cvz_pool_input_rows(const cvz_pool *p, int row_begin, int row_end, int *first, int *last) {
  int y0 = row_begin * p->stride_y - p->pad_top;
  int y1 = (row_end - 1) * p->stride_y - p->pad_top + p->pool_height;
  *first = y0 < 0 ? 0 : y0;
  *last = (y1 > p->height ? p->height : y1) - 1;
}

typedef struct {
  const cvz_pool *p;
  int bands;
} pool_job;

static int pool_band(void *context, int band) {
  const pool_job *job = context;
  long begin, end;
  cvz_chunk_range(job->p->out_height, job->bands, band, &begin, &end);
  cvz_pool_rows(job->p, (int)begin, (int)end);
  return CVZ_STATUS_OK;
}

int cvz_pool_image(const cvz_pool *p) {
  const double work = (double)p->out_width * p->out_height * p->channels * p->pool_width *
                      p->pool_height;
  const int threads = cvz_threads();
  int bands = work < (1 << 18) || threads == 1 ? 1 : 4 * threads;
  if (bands > p->out_height) bands = p->out_height > 1 ? p->out_height : 1;
  pool_job job = {p, bands};
  return cvz_parallel_for(bands, pool_band, &job);
}
