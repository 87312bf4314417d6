/*
 * filter_rows.h: the filter's row loops. Included twice by filter_kernels.c with
 * CVZ_NAME (suffixes every function) and CVZ_TARGET (empty, or
 * target("avx2,fma")) set, so each target gets its own auto-vectorised copy.
 *
 * Direct sums follow the reference's order, tap by tap in row-major kernel
 * order (acc = acc + w*x, fused into an FMA where the target has one); the
 * separable path sums columns first. Either way, small integer kernels give
 * bit-identical results on every path: each partial sum is an exact integer
 * below 2^24.
 */

/* Converts padded input row `src_row` (-1: all zero) to floats: dst holds
 * span_w pixels x colour channels, pixel px reading input column
 * px - pad_left (xmap[px] outside the image). */
#define CVZ_LOAD_ROW_BODY(T)                                                             \
  const T *src = (const T *)f->input + input_row_offset(f, src_row);                    \
  if (C == K) {                                                                          \
    const T *restrict s = src + (lo - f->pad_left) * C;                                  \
    float *restrict d = dst + lo * K;                                                    \
    ptrdiff_t n = (hi - lo) * K;                                                         \
    for (ptrdiff_t i = 0; i < n; i++) d[i] = (float)s[i];                                \
  } else {                                                                               \
    for (ptrdiff_t px = lo; px < hi; px++)                                               \
      for (int c = 0; c < K; c++) dst[px * K + c] = (float)src[(px - f->pad_left) * C + c]; \
  }                                                                                      \
  for (ptrdiff_t px = 0; px < l->span_w; px++) {                                         \
    if (px == lo) px = hi > lo ? hi : lo;                                                \
    if (px >= l->span_w) break;                                                          \
    ptrdiff_t sx = xmap[px];                                                             \
    for (int c = 0; c < K; c++) dst[px * K + c] = sx < 0 ? 0.0f : (float)src[sx * C + c];   \
  }

CVZ_TARGET static void CVZ_NAME(load_row)(const cvz_filter *f, const layout_t *l,
                                          const int *xmap, ptrdiff_t src_row,
                                          float *restrict dst) {
  const int C = f->channels, K = f->colour_channels;
  if (src_row < 0) {
    memset(dst, 0, sizeof(float) * (size_t)l->row_len);
    return;
  }
  /* Padded columns [lo, hi) lie inside the image and convert as one run. */
  ptrdiff_t lo = f->pad_left < l->span_w ? f->pad_left : l->span_w;
  ptrdiff_t hi = (ptrdiff_t)f->pad_left + f->width;
  if (hi > l->span_w) hi = l->span_w;
  if (hi < lo) hi = lo;
  if (f->sample_bytes == 1) {
    CVZ_LOAD_ROW_BODY(uint8_t)
  } else {
    CVZ_LOAD_ROW_BODY(uint16_t)
  }
}

/* d[t] (=|+=) w0*s0[t] + w1*s1[t] + ... for up to 4 taps, in tap order. */
CVZ_TARGET static void CVZ_NAME(axpy_group)(float *restrict d, const float *const *s,
                                            const float *w, int m, ptrdiff_t len, int first) {
  const float *restrict s0 = s[0];
  const float w0 = w[0];
  if (m == 1) {
    if (first) for (ptrdiff_t t = 0; t < len; t++) d[t] = w0 * s0[t];
    else for (ptrdiff_t t = 0; t < len; t++) d[t] = d[t] + w0 * s0[t];
    return;
  }
  const float *restrict s1 = s[1];
  const float w1 = w[1];
  if (m == 2) {
    if (first) for (ptrdiff_t t = 0; t < len; t++) d[t] = w0 * s0[t] + w1 * s1[t];
    else for (ptrdiff_t t = 0; t < len; t++) d[t] = d[t] + w0 * s0[t] + w1 * s1[t];
    return;
  }
  const float *restrict s2 = s[2];
  const float w2 = w[2];
  if (m == 3) {
    if (first) for (ptrdiff_t t = 0; t < len; t++) d[t] = w0 * s0[t] + w1 * s1[t] + w2 * s2[t];
    else for (ptrdiff_t t = 0; t < len; t++)
      d[t] = d[t] + w0 * s0[t] + w1 * s1[t] + w2 * s2[t];
    return;
  }
  const float *restrict s3 = s[3];
  const float w3 = w[3];
  if (first) for (ptrdiff_t t = 0; t < len; t++)
    d[t] = w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t];
  else for (ptrdiff_t t = 0; t < len; t++)
    d[t] = d[t] + w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t];
}

/* d[t] = sum over taps of w[k] * s[k][t], t < len (contiguous taps), in chunks
 * that keep d in L1 while every tap passes over it. Zero taps were dropped
 * by the caller; with none left d is zero. */
CVZ_TARGET static void CVZ_NAME(sum_taps)(float *restrict d, const float **s, const float *w,
                                          int n, ptrdiff_t len) {
  enum { CHUNK = 2048 };
  if (n == 0) {
    memset(d, 0, sizeof(float) * (size_t)len);
    return;
  }
  int groups = (n + 3) / 4;
  int per = (n + groups - 1) / groups;
  for (ptrdiff_t c0 = 0; c0 < len; c0 += CHUNK) {
    ptrdiff_t c1 = c0 + CHUNK < len ? c0 + CHUNK : len;
    for (int g = 0; g < n; g += per) {
      int m = n - g < per ? n - g : per;
      const float *chunk[4] = {0};
      for (int k = 0; k < m; k++) chunk[k] = s[g + k] + c0;
      CVZ_NAME(axpy_group)(d + c0, chunk, w + g, m, c1 - c0, g == 0);
    }
  }
}

/* The strided (stride_x > 1) form: d[ox*K + c] = sum_k w[k] * s[k][ox*stride_x*K + c]. */
CVZ_TARGET static void CVZ_NAME(sum_taps_strided)(float *restrict d, const float **s,
                                                  const float *w, int n, int out_width,
                                                  int K, int stride_x) {
  const ptrdiff_t step = (ptrdiff_t)stride_x * K;
  if (n == 0) memset(d, 0, sizeof(float) * (size_t)out_width * K);
  for (int k = 0; k < n; k++) {
    const float *restrict src = s[k];
    const float wk = w[k];
    for (ptrdiff_t ox = 0; ox < out_width; ox++)
      for (int c = 0; c < K; c++)
        d[ox * K + c] = (k == 0 ? 0.0f : d[ox * K + c]) + wk * src[ox * step + c];
  }
}

/* Output columns [ox0, ox1) of one kernel's response into acc: either direct
 * over all taps, or a vertical pass into tmp then a horizontal pass
 * (separable kernels). */
CVZ_TARGET static void CVZ_NAME(kernel_chunk)(const cvz_filter *f, const cvz_kernel *k,
                                              float *const *rows, ptrdiff_t ox0, ptrdiff_t ox1,
                                              float *restrict tmp, float *restrict acc,
                                              const float **taps, float *weights) {
  const int K = f->colour_channels;
  const ptrdiff_t tap_step = (ptrdiff_t)f->dilation_x * K;
  const ptrdiff_t base = ox0 * f->stride_x * K;
  int n = 0;
  if (k->column_factor && k->rows > 1 && k->cols > 1) {
    for (int i = 0; i < k->rows; i++)
      if (k->column_factor[i] != 0.0f) {
        taps[n] = rows[i] + base;
        weights[n++] = k->column_factor[i];
      }
    ptrdiff_t span = (ox1 - 1 - ox0) * f->stride_x + (ptrdiff_t)(k->cols - 1) * f->dilation_x + 1;
    CVZ_NAME(sum_taps)(tmp, taps, weights, n, span * K);
    n = 0;
    for (int j = 0; j < k->cols; j++)
      if (k->row_factor[j] != 0.0f) {
        taps[n] = tmp + j * tap_step;
        weights[n++] = k->row_factor[j];
      }
  } else {
    for (int i = 0; i < k->rows; i++)
      for (int j = 0; j < k->cols; j++) {
        float w = k->weights[i * k->cols + j];
        if (w == 0.0f) continue;
        taps[n] = rows[i] + base + j * tap_step;
        weights[n++] = w;
      }
  }
  if (f->stride_x == 1) CVZ_NAME(sum_taps)(acc, taps, weights, n, (ox1 - ox0) * K);
  else CVZ_NAME(sum_taps_strided)(acc, taps, weights, n, (int)(ox1 - ox0), K, f->stride_x);
}

/* Turns the responses of output columns [ox0, ox1) of row oy into samples,
 * or (low != NULL) folds them into the running min/max. Overwrites a. */
CVZ_TARGET static void CVZ_NAME(finish_chunk)(const cvz_filter *f, int oy, ptrdiff_t ox0,
                                              ptrdiff_t ox1, float *restrict a,
                                              const float *restrict b, float *low, float *high) {
  const int C = f->channels, K = f->colour_channels;
  const ptrdiff_t len = (ox1 - ox0) * K;
  const float scale = f->scale, bias = f->bias, top = f->max_value;
  if (b) for (ptrdiff_t t = 0; t < len; t++) a[t] = CVZ_SQRT(a[t] * a[t] + b[t] * b[t]);
  if (scale != 1.0f || bias != 0.0f)
    for (ptrdiff_t t = 0; t < len; t++) a[t] = scale * a[t] + bias;
  if (low) {
    float lo = *low, hi = *high;
    for (ptrdiff_t t = 0; t < len; t++) {
      lo = a[t] < lo ? a[t] : lo;
      hi = a[t] > hi ? a[t] : hi;
    }
    *low = lo;
    *high = hi;
    return;
  }
  if (f->range == CVZ_RANGE_ABS) {
    for (ptrdiff_t t = 0; t < len; t++) a[t] = fabsf(a[t]);
  } else if (f->range == CVZ_RANGE_NORMALIZE) {
    const float nl = f->norm_low, nf = f->norm_factor;
    for (ptrdiff_t t = 0; t < len; t++) a[t] = (a[t] - nl) * nf;
  }
  const ptrdiff_t out_at = ((ptrdiff_t)(oy - f->out_row_offset) * f->out_width + ox0) * C;
  ptrdiff_t ay = 0;
  if (C != K)
    ay = clamp_index((ptrdiff_t)oy * f->stride_y - f->pad_top
                     + (ptrdiff_t)f->anchor_row * f->dilation_y, f->height);
/* Cut to 0..top (NaN becomes 0), round to nearest even, store: one pass. */
#define CVZ_SAMPLE(T, x)                                                                 \
  (T)(int32_t)(((x > 0.0f ? (x < top ? x : top) : 0.0f) + CVZ_ROUND_MAGIC) - CVZ_ROUND_MAGIC)
#define CVZ_STORE_BODY(T)                                                                \
  T *restrict out = (T *)f->output + out_at;                                             \
  if (C == K) {                                                                          \
    for (ptrdiff_t t = 0; t < len; t++) out[t] = CVZ_SAMPLE(T, a[t]);                    \
  } else {                                                                               \
    const T *in = (const T *)f->input + input_row_offset(f, ay);                         \
    for (ptrdiff_t i = 0; i < ox1 - ox0; i++) {                                          \
      for (int c = 0; c < K; c++) out[i * C + c] = CVZ_SAMPLE(T, a[i * K + c]);          \
      ptrdiff_t ax = clamp_index((ox0 + i) * f->stride_x - f->pad_left                   \
                                 + (ptrdiff_t)f->anchor_col * f->dilation_x, f->width);  \
      out[i * C + K] = in[ax * C + K];                                                   \
    }                                                                                    \
  }
  if (f->sample_bytes == 1) {
    CVZ_STORE_BODY(uint8_t)
  } else {
    CVZ_STORE_BODY(uint16_t)
  }
#undef CVZ_STORE_BODY
#undef CVZ_SAMPLE
}

/* Output rows [row_begin, row_end): filter and store, or (low != NULL) only
 * track the range. Returns CVZ_STATUS_OK, or CVZ_STATUS_NO_MEMORY if scratch
 * could not be allocated. */
CVZ_TARGET static int CVZ_NAME(run_rows)(const cvz_filter *f, int row_begin, int row_end,
                                         float *low, float *high) {
  if (row_begin >= row_end) return CVZ_STATUS_OK;
  const layout_t l = layout_of(f);
  const cvz_kernel *k0 = &f->kernels[0];
  const int kr = k0->rows, kc = k0->cols;
  float *scratch = cvz_alloc(scratch_floats(&l) * sizeof(float));
  const int max_taps = kr * kc > kr + kc ? kr * kc : kr + kc;
  const float **taps = cvz_alloc(sizeof(float *) * (size_t)max_taps);
  float *weights = cvz_alloc(sizeof(float) * (size_t)max_taps);
  float **rows = cvz_alloc(sizeof(float *) * (size_t)kr);
  if (!scratch || !taps || !weights || !rows) {
    cvz_free(scratch);
    cvz_free(taps);
    cvz_free(weights);
    cvz_free(rows);
    return CVZ_STATUS_NO_MEMORY;
  }
  float *ring = scratch;
  float *tmp = ring + pad16(l.ring_rows * l.row_len);
  float *acc0 = tmp + pad16(l.tmp_len);
  float *acc1 = acc0 + pad16(l.acc_len);
  int *tags = (int *)(acc1 + pad16(l.acc_len));
  int *xmap = tags + pad16(l.ring_rows);
  for (ptrdiff_t r = 0; r < l.ring_rows; r++) tags[r] = -1;
  for (ptrdiff_t px = 0; px < l.span_w; px++)
    xmap[px] = (int)border_index(px - f->pad_left, f->width, f->border);

  for (int oy = row_begin; oy < row_end; oy++) {
    for (int i = 0; i < kr; i++) {
      ptrdiff_t p = (ptrdiff_t)oy * f->stride_y + (ptrdiff_t)i * f->dilation_y;
      ptrdiff_t slot = l.slot_per_kernel_row ? i : p % l.ring_rows;
      rows[i] = ring + slot * l.row_len;
      if (tags[slot] != p) {
        ptrdiff_t sy = border_index(p - f->pad_top, f->height, f->border);
        CVZ_NAME(load_row)(f, &l, xmap, sy, rows[i]);
        tags[slot] = (int)p;
      }
    }
    /* Column chunks keep tmp and acc in L1 through every pass. */
    for (ptrdiff_t ox0 = 0; ox0 < f->out_width; ox0 += l.chunk) {
      ptrdiff_t ox1 = ox0 + l.chunk < f->out_width ? ox0 + l.chunk : f->out_width;
      CVZ_NAME(kernel_chunk)(f, &f->kernels[0], rows, ox0, ox1, tmp, acc0, taps, weights);
      if (f->kernel_count == 2)
        CVZ_NAME(kernel_chunk)(f, &f->kernels[1], rows, ox0, ox1, tmp, acc1, taps, weights);
      CVZ_NAME(finish_chunk)(f, oy, ox0, ox1, acc0, f->kernel_count == 2 ? acc1 : NULL, low, high);
    }
  }
  cvz_free(scratch);
  cvz_free(taps);
  cvz_free(weights);
  cvz_free(rows);
  return CVZ_STATUS_OK;
}
