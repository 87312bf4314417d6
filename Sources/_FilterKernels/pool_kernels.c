/*
 * Pooling loops over interleaved samples. The window is clipped to the
 * image once per output pixel, so the inner loops test no border; the
 * channel loop is innermost, reading each input pixel's samples together.
 */
#include "cvz_pool_kernels.h"

#include <stdint.h>

/* Channels at most this many are reduced in registers-sized arrays. */
enum { MAX_CHANNELS = 4 };

#define DEFINE_POOL_ROWS(NAME, SAMPLE)                                                        \
  static void NAME(const cvz_pool *p, int row_begin, int row_end) {                           \
    const SAMPLE *in = p->input;                                                              \
    SAMPLE *out = p->output;                                                                  \
    const ptrdiff_t ch = p->channels;                                                         \
    const ptrdiff_t in_row = (ptrdiff_t)p->width * ch;                                        \
    for (int oy = row_begin; oy < row_end; oy++) {                                            \
      int y0 = oy * p->stride_y - p->pad_top, y1 = y0 + p->pool_height;                       \
      y0 = y0 < 0 ? 0 : y0;                                                                   \
      y1 = y1 > p->height ? p->height : y1;                                                   \
      SAMPLE *o = out + (ptrdiff_t)oy * p->out_width * ch;                                    \
      for (int ox = 0; ox < p->out_width; ox++, o += ch) {                                    \
        int x0 = ox * p->stride_x - p->pad_left, x1 = x0 + p->pool_width;                     \
        x0 = x0 < 0 ? 0 : x0;                                                                 \
        x1 = x1 > p->width ? p->width : x1;                                                   \
        const double count = (double)(y1 - y0) * (x1 - x0);                                   \
        for (ptrdiff_t c0 = 0; c0 < ch; c0 += MAX_CHANNELS) {                                 \
          const ptrdiff_t cn = ch - c0 < MAX_CHANNELS ? ch - c0 : MAX_CHANNELS;              \
          uint64_t acc[MAX_CHANNELS] = {0, 0, 0, 0};                                          \
          for (int y = y0; y < y1; y++) {                                                     \
            const SAMPLE *row = in + (ptrdiff_t)y * in_row + c0;                              \
            for (int x = x0; x < x1; x++) {                                                   \
              const SAMPLE *s = row + (ptrdiff_t)x * ch;                                      \
              for (ptrdiff_t c = 0; c < cn; c++) {                                            \
                const uint64_t v = s[c];                                                      \
                switch (p->mode) {                                                            \
                case CVZ_POOL_MAX: acc[c] = v > acc[c] ? v : acc[c]; break;                   \
                case CVZ_POOL_AVERAGE: acc[c] += v; break;                                    \
                default: acc[c] += v * v; break;                                              \
                }                                                                             \
              }                                                                               \
            }                                                                                 \
          }                                                                                   \
          for (ptrdiff_t c = 0; c < cn; c++) {                                                \
            switch (p->mode) {                                                                \
            case CVZ_POOL_MAX: o[c0 + c] = (SAMPLE)acc[c]; break;                             \
            case CVZ_POOL_AVERAGE:                                                            \
              o[c0 + c] = (SAMPLE)__builtin_rint((double)acc[c] / count);                     \
              break;                                                                          \
            default:                                                                          \
              o[c0 + c] = (SAMPLE)__builtin_rint(__builtin_sqrt((double)acc[c] / count));     \
              break;                                                                          \
            }                                                                                 \
          }                                                                                   \
        }                                                                                     \
      }                                                                                       \
    }                                                                                         \
  }

DEFINE_POOL_ROWS(pool_rows8, uint8_t)
DEFINE_POOL_ROWS(pool_rows16, uint16_t)

void cvz_pool_rows(const cvz_pool *p, int row_begin, int row_end) {
  if (p->sample_bytes == 1)
    pool_rows8(p, row_begin, row_end);
  else
    pool_rows16(p, row_begin, row_end);
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
