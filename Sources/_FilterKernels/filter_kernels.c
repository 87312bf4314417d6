/*
 * The filter's row loops, compiled twice: once for the baseline target and
 * once with AVX2+FMA, chosen per call by __builtin_cpu_supports. The loops
 * themselves live in filter_rows.h, included once per target below.
 */
#include "cvz_filter_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Where coordinate i (maybe outside 0..n-1) reads from, or -1 for "zero". */
static ptrdiff_t border_index(ptrdiff_t i, ptrdiff_t n, int border) {
  if (i >= 0 && i < n) return i;
  switch (border) {
  case CVZ_BORDER_REPLICATE:
    return i < 0 ? 0 : n - 1;
  case CVZ_BORDER_WRAP:
    return ((i % n) + n) % n;
  case CVZ_BORDER_REFLECT: {
    if (n == 1) return 0;
    ptrdiff_t period = 2 * (n - 1);
    ptrdiff_t m = ((i % period) + period) % period;
    return m < n ? m : period - m;
  }
  default:
    return -1;
  }
}

static ptrdiff_t clamp_index(ptrdiff_t i, ptrdiff_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* Where image row y starts in f->input (a ring when streaming). */
static size_t input_row_offset(const cvz_filter *f, ptrdiff_t y) {
  const ptrdiff_t slot = f->input_ring_rows > 0 ? y % f->input_ring_rows : y;
  return (size_t)slot * (size_t)f->width * (size_t)f->channels;
}

void cvz_filter_input_rows(const cvz_filter *f, int row_begin, int row_end, int *first,
                           int *last) {
  ptrdiff_t lo = -1, hi = -1;
  const int kr = f->kernels[0].rows;
  for (int oy = row_begin; oy < row_end; oy++) {
    const ptrdiff_t top = (ptrdiff_t)oy * f->stride_y - f->pad_top;
    for (int i = 0; i <= kr; i++) {
      ptrdiff_t y;
      if (i < kr) {
        y = border_index(top + (ptrdiff_t)i * f->dilation_y, f->height, f->border);
      } else if (f->channels != f->colour_channels) {
        y = clamp_index(top + (ptrdiff_t)f->anchor_row * f->dilation_y, f->height);
      } else {
        continue;
      }
      if (y < 0) continue;
      if (lo < 0 || y < lo) lo = y;
      if (y > hi) hi = y;
    }
  }
  *first = (int)lo;
  *last = (int)hi;
}

/* Sizes of the per-call scratch buffers, in floats (or ints for xmap). */
typedef struct {
  ptrdiff_t span_w;    /* padded input pixels one output row reads */
  ptrdiff_t row_len;   /* floats in one ring row: span_w * colour channels */
  ptrdiff_t ring_rows; /* slots in the ring of converted input rows */
  int slot_per_kernel_row; /* 1: slot i holds kernel row i's input row */
  ptrdiff_t chunk;     /* output pixels computed together, so buffers stay in L1 */
  ptrdiff_t tmp_len;   /* floats of a chunk's vertical pass (separable kernels) */
  ptrdiff_t acc_len;   /* floats of a chunk's response: chunk * colour channels */
} layout_t;

static layout_t layout_of(const cvz_filter *f) {
  layout_t l;
  const cvz_kernel *k = &f->kernels[0];
  l.span_w = (ptrdiff_t)(f->out_width - 1) * f->stride_x
             + (ptrdiff_t)(k->cols - 1) * f->dilation_x + 1;
  l.row_len = l.span_w * f->colour_channels;
  /* A ring spanning the dilated kernel lets every input row be converted
   * once. A large vertical dilation would make that ring as tall as the
   * image, so past a few rows keep one slot per kernel row instead, and
   * reconvert rows when they come round again. */
  l.ring_rows = (ptrdiff_t)(k->rows - 1) * f->dilation_y + 1;
  l.slot_per_kernel_row = l.ring_rows > 2 * (ptrdiff_t)k->rows + 16;
  if (l.slot_per_kernel_row) l.ring_rows = k->rows;
  l.chunk = 1024 / f->colour_channels;
  if (l.chunk > f->out_width) l.chunk = f->out_width;
  l.tmp_len = ((l.chunk - 1) * f->stride_x + (ptrdiff_t)(k->cols - 1) * f->dilation_x + 1)
              * f->colour_channels;
  l.acc_len = l.chunk * f->colour_channels;
  return l;
}

/* Rounded up to 16 floats so every buffer starts 64-byte aligned. */
static size_t pad16(ptrdiff_t n) { return (size_t)((n + 15) & ~(ptrdiff_t)15); }

static size_t scratch_floats(const layout_t *l) {
  return pad16(l->ring_rows * l->row_len) /* ring */
         + pad16(l->tmp_len)              /* tmp: vertical pass of a separable kernel */
         + 2 * pad16(l->acc_len)          /* acc: one chunk per kernel */
         + pad16(l->ring_rows)            /* tags: which padded row each ring slot holds */
         + pad16(l->span_w);              /* xmap: source column of each padded column */
}

size_t cvz_filter_scratch_bytes(const cvz_filter *f) {
  layout_t l = layout_of(f);
  return scratch_floats(&l) * sizeof(float);
}

/* Rounds v (already in 0..2^22) to nearest, ties to even, in the default FP
 * mode: adding 1.5 * 2^23 pushes the fraction out of the mantissa. Plain
 * arithmetic, so it vectorises on every target (rintf needs SSE4.1). */
#define CVZ_ROUND_MAGIC 12582912.0f

/* sqrt without errno (what -fno-math-errno gave): a plain sqrtf call may set
 * errno, which keeps the gradient-magnitude loop from vectorising. The
 * result is the same correctly rounded square root. */
#if __has_builtin(__builtin_elementwise_sqrt)
#define CVZ_SQRT(x) __builtin_elementwise_sqrt(x)
#else
#define CVZ_SQRT(x) sqrtf(x)
#endif

#define CVZ_NAME(name) name##_generic
#define CVZ_TARGET
#include "filter_rows.h"
#undef CVZ_NAME
#undef CVZ_TARGET

#if defined(__x86_64__) || defined(__i386__)
#define CVZ_HAVE_AVX2_CLONE 1
#define CVZ_NAME(name) name##_avx2
#define CVZ_TARGET __attribute__((target("avx2,fma")))
#include "filter_rows.h"
#undef CVZ_NAME
#undef CVZ_TARGET
#endif

static int has_avx2(void) {
#ifdef CVZ_HAVE_AVX2_CLONE
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

/* 1 when every output sample equals the input sample at the same place, so
 * that cvz_filter_rows can copy rows: one kernel with a single non-zero
 * weight, 1, whose tap (and the alpha anchor) lands on the output pixel
 * itself, stride 1, scale 1, bias 0 and no normalization. The float path
 * gives the same bytes (v * 1 + 0 is v, exact in float for 16-bit samples,
 * and |v| is v), it just takes longer: `filter -k identity` is a format
 * conversion. */
static int is_copy(const cvz_filter *f) {
  if (f->kernel_count != 1 || f->scale != 1.0f || f->bias != 0.0f) return 0;
  if (f->range != CVZ_RANGE_CLAMP && f->range != CVZ_RANGE_ABS) return 0;
  if (f->stride_x != 1 || f->stride_y != 1) return 0;
  if (f->out_width != f->width || f->out_height != f->height) return 0;
  const cvz_kernel *k = &f->kernels[0];
  int tap = -1;
  for (int i = 0; i < k->rows * k->cols; i++) {
    if (k->weights[i] == 0.0f) continue;
    if (k->weights[i] != 1.0f || tap >= 0) return 0;
    tap = i;
  }
  if (tap < 0) return 0;
  const int row = tap / k->cols, col = tap % k->cols;
  if (row * f->dilation_y != f->pad_top || col * f->dilation_x != f->pad_left) return 0;
  if (f->channels != f->colour_channels &&
      (f->anchor_row * f->dilation_y != f->pad_top || f->anchor_col * f->dilation_x != f->pad_left))
    return 0;
  return 1;
}

static void copy_rows(const cvz_filter *f, int row_begin, int row_end) {
  const size_t row_bytes = (size_t)f->width * (size_t)f->channels * (size_t)f->sample_bytes;
  for (int oy = row_begin; oy < row_end; oy++) {
    const char *from = (const char *)f->input + input_row_offset(f, oy) * (size_t)f->sample_bytes;
    char *to = (char *)f->output + (size_t)(oy - f->out_row_offset) * row_bytes;
    memcpy(to, from, row_bytes);
  }
}

int cvz_filter_rows(const cvz_filter *f, int row_begin, int row_end) {
  if (is_copy(f)) {
    copy_rows(f, row_begin, row_end);
    return CVZ_STATUS_OK;
  }
#ifdef CVZ_HAVE_AVX2_CLONE
  if (!f->baseline_only && has_avx2()) return run_rows_avx2(f, row_begin, row_end, NULL, NULL);
#endif
  return run_rows_generic(f, row_begin, row_end, NULL, NULL);
}

int cvz_filter_range(const cvz_filter *f, int row_begin, int row_end, float *low, float *high) {
  *low = INFINITY;
  *high = -INFINITY;
#ifdef CVZ_HAVE_AVX2_CLONE
  if (!f->baseline_only && has_avx2()) return run_rows_avx2(f, row_begin, row_end, low, high);
#endif
  return run_rows_generic(f, row_begin, row_end, low, high);
}

/* Output rows per band: enough bands to balance the threads, few enough
 * that each band's ring start-up (kernel height − 1 rows) stays negligible,
 * and one band for small jobs, where waking threads costs more than it
 * saves. */
enum { MAX_BANDS = 4 * 256 };

static int band_count(const cvz_filter *f) {
  const double work = (double)f->out_width * f->out_height * f->channels * f->kernels[0].rows *
                      f->kernels[0].cols;
  const int threads = cvz_threads();
  if (work < (1 << 18) || threads == 1) return 1;
  const int bands = 4 * threads < MAX_BANDS ? 4 * threads : MAX_BANDS;
  return bands < f->out_height ? bands : (f->out_height > 1 ? f->out_height : 1);
}

typedef struct {
  const cvz_filter *f;
  int bands;
  float lows[MAX_BANDS], highs[MAX_BANDS];
} band_job;

static void band_rows(const band_job *job, int band, int *begin, int *end) {
  long b, e;
  cvz_chunk_range(job->f->out_height, job->bands, band, &b, &e);
  *begin = (int)b;
  *end = (int)e;
}

static int range_band(void *context, int band) {
  band_job *job = context;
  int begin, end;
  band_rows(job, band, &begin, &end);
  return cvz_filter_range(job->f, begin, end, &job->lows[band], &job->highs[band]);
}

static int filter_band(void *context, int band) {
  const band_job *job = context;
  int begin, end;
  band_rows(job, band, &begin, &end);
  return cvz_filter_rows(job->f, begin, end);
}

void cvz_filter_set_normalization(cvz_filter *f, float low, float high) {
  f->norm_low = low;
  f->norm_factor = high > low ? f->max_value / (high - low) : 0;
}

int cvz_filter_image(const cvz_filter *f) {
  band_job job;
  job.f = f;
  job.bands = band_count(f);
  if (f->range != CVZ_RANGE_NORMALIZE) return cvz_parallel_for(job.bands, filter_band, &job);
  const int status = cvz_parallel_for(job.bands, range_band, &job);
  if (status != CVZ_STATUS_OK) return status;
  float low = job.lows[0], high = job.highs[0];
  for (int b = 1; b < job.bands; b++) {
    low = job.lows[b] < low ? job.lows[b] : low;
    high = job.highs[b] > high ? job.highs[b] : high;
  }
  cvz_filter normalized = *f;
  cvz_filter_set_normalization(&normalized, low, high);
  job.f = &normalized;
  return cvz_parallel_for(job.bands, filter_band, &job);
}
