// Direct Conv2D on AVX2+FMA: no im2col, no GEMM packing.
//
// OpenBLAS spends about as long packing a per-image im2col matrix as
// multiplying it when one side has only 32 rows (cout), so for these shapes
// a register-blocked direct convolution is faster. Each image is first
// copied to channels-last (HWC) with its zero padding; then one
// microkernel keeps 6 output pixels × 16 output channels (2 × 8 lanes)
// in 12 accumulators while it walks the kh·kw·cin taps, reading the HWIO
// kernel rows as they lie in memory. Output channels are done 16 at a time
// so that block's weights (18 KB for 3×3×32) stay in L1 across a whole
// image. The same microkernel computes the
// input gradient (stride 1) as a correlation of the padded output gradient
// with the flipped kernel. The weight gradient keeps 6 input channels × 16
// output channels in registers while it walks the output pixels.
//
// Compiled for AVX2+FMA with a function attribute and used only after a
// runtime CPU check (cvz_direct_conv_supported), never with -march=native.
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "direct.h"

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

enum { MAX_V = 2, MAX_P = 6 };

// acc[p][v] = Σ_taps in[p·pixel_step + tap] · w[tap][v·8 .. v·8+7], for P
// pixels and V vectors of output channels; written to out[p·32 + v·8].
static inline __attribute__((always_inline)) void tile(const float *in, int pixel_step,
                                                        int row_step, int cin, int kh, int kw,
                                                        const float *w, int cout, int V, int P,
                                                        float *out) {
  __m256 acc[MAX_P][MAX_V];
  for (int p = 0; p < P; p++)
    for (int v = 0; v < V; v++) acc[p][v] = _mm256_setzero_ps();
  for (int ky = 0; ky < kh; ky++) {
    for (int kx = 0; kx < kw; kx++) {
      const float *src = in + ky * row_step + kx * cin;
      const float *wt = w + (size_t)(ky * kw + kx) * cin * cout;
      for (int c = 0; c < cin; c++) {
        __m256 wv[MAX_V];
        for (int v = 0; v < V; v++) wv[v] = _mm256_loadu_ps(wt + c * cout + 8 * v);
        for (int p = 0; p < P; p++) {
          const __m256 b = _mm256_broadcast_ss(src + p * pixel_step + c);
          for (int v = 0; v < V; v++) acc[p][v] = _mm256_fmadd_ps(b, wv[v], acc[p][v]);
        }
      }
    }
  }
  for (int p = 0; p < P; p++)
    for (int v = 0; v < V; v++) _mm256_storeu_ps(out + p * 8 * MAX_V + 8 * v, acc[p][v]);
}

#define TILE_CASE(V, P) tile(in, pixel_step, row_step, cin, kh, kw, w, cout, V, P, out)

static void tile_dispatch(const float *in, int pixel_step, int row_step, int cin, int kh, int kw,
                          const float *w, int cout, int V, int P, float *out) {
  switch (V * 8 + P) {
    case 2 * 8 + 6: TILE_CASE(2, 6); break;
    case 2 * 8 + 5: TILE_CASE(2, 5); break;
    case 2 * 8 + 4: TILE_CASE(2, 4); break;
    case 2 * 8 + 3: TILE_CASE(2, 3); break;
    case 2 * 8 + 2: TILE_CASE(2, 2); break;
    case 2 * 8 + 1: TILE_CASE(2, 1); break;
    case 1 * 8 + 6: TILE_CASE(1, 6); break;
    case 1 * 8 + 5: TILE_CASE(1, 5); break;
    case 1 * 8 + 4: TILE_CASE(1, 4); break;
    case 1 * 8 + 3: TILE_CASE(1, 3); break;
    case 1 * 8 + 2: TILE_CASE(1, 2); break;
    default: TILE_CASE(1, 1); break;
  }
}

void cvz_direct_pack_weights(const float *hwio, int taps, int cin, int cout, float *packed) {
  const int block = 8 * MAX_V;
  for (int o0 = 0; o0 < cout; o0 += block) {
    const int width = cout - o0 < block ? cout - o0 : block;
    float *dst = packed + (size_t)taps * cin * o0;
    for (int t = 0; t < taps * cin; t++)
      memcpy(dst + (size_t)t * width, hwio + (size_t)t * cout + o0, sizeof(float) * width);
  }
}

// The body of cvz_direct_correlate, inlined once with relu = 0 and once with
// relu = 1 so that neither copy tests it per value. (clang's -O3 did this
// itself; release builds are -O2, which does not.)
static inline __attribute__((always_inline)) void correlate(
    const cvz_hwc_image *src, int out_height, int out_width, int row_begin, int row_end,
    int stride_y, int stride_x, int kh, int kw, const float *w, int cout, const float *bias,
    int relu, float *dst) {
  // dst is channel-major (cout, out_height, out_width); src is padded HWC
  // whose row 0 is the first row that output row `row_begin` reads.
  float out[MAX_P * 8 * MAX_V];
  const int cin = src->channels;
  const int row_step = src->width * cin;
  const int pixel_step = stride_x * cin;
  const size_t plane = (size_t)out_height * out_width;
  const int block = 8 * MAX_V;
  for (int o0 = 0; o0 < cout; o0 += block) {
    const int V = (cout - o0 < block ? cout - o0 : block) / 8;
    const float *block_weights = w + (size_t)kh * kw * cin * o0;
    for (int oy = row_begin; oy < row_end; oy++) {
      const float *row = src->data + (size_t)(oy - row_begin) * stride_y * row_step;
      for (int ox = 0; ox < out_width; ox += MAX_P) {
        const int P = out_width - ox < MAX_P ? out_width - ox : MAX_P;
        tile_dispatch(row + ox * pixel_step, pixel_step, row_step, cin, kh, kw, block_weights,
                      8 * V, V, P, out);
        for (int v = 0; v < V * 8; v++) {
          const float b = bias ? bias[o0 + v] : 0;
          float *d = dst + (size_t)(o0 + v) * plane + (size_t)oy * out_width + ox;
          for (int p = 0; p < P; p++) {
            const float value = out[p * block + v] + b;
            d[p] = relu && !(value > 0) ? 0 : value;
          }
        }
      }
    }
  }
}

void cvz_direct_correlate(const cvz_hwc_image *src, int out_height, int out_width, int row_begin,
                          int row_end, int stride_y, int stride_x, int kh, int kw,
                          const float *w, int cout, const float *bias, int relu, float *dst) {
  if (relu) {
    correlate(src, out_height, out_width, row_begin, row_end, stride_y, stride_x, kh, kw, w, cout,
              bias, 1, dst);
  } else {
    correlate(src, out_height, out_width, row_begin, row_end, stride_y, stride_x, kh, kw, w, cout,
              bias, 0, dst);
  }
}

// acc[j][v] = Σ_pixels x[pixel + j] · dy[pixel][v·8..], for J channels.
static inline __attribute__((always_inline)) void weight_tile(
    const float *x, int x_row_step, int x_pixel_step, const float *dy, int dy_row_step, int cout,
    int oh, int ow, int V, int J, float *dw, int dw_channel_step) {
  __m256 acc[MAX_P][MAX_V];
  for (int j = 0; j < J; j++)
    for (int v = 0; v < V; v++) acc[j][v] = _mm256_setzero_ps();
  for (int oy = 0; oy < oh; oy++) {
    const float *xr = x + (size_t)oy * x_row_step;
    const float *dr = dy + (size_t)oy * dy_row_step;
    for (int ox = 0; ox < ow; ox++) {
      __m256 g[MAX_V];
      for (int v = 0; v < V; v++) g[v] = _mm256_loadu_ps(dr + ox * cout + 8 * v);
      for (int j = 0; j < J; j++) {
        const __m256 b = _mm256_broadcast_ss(xr + ox * x_pixel_step + j);
        for (int v = 0; v < V; v++) acc[j][v] = _mm256_fmadd_ps(b, g[v], acc[j][v]);
      }
    }
  }
  for (int j = 0; j < J; j++)
    for (int v = 0; v < V; v++) {
      float *d = dw + j * dw_channel_step + 8 * v;
      _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), acc[j][v]));
    }
}

#define WEIGHT_CASE(V, J) \
  weight_tile(x, x_row_step, x_pixel_step, dy, dy_row_step, cout, oh, ow, V, J, dw, \
              dw_channel_step)

// dw_hwio += the weight gradient of output rows [0, oh) for every tap, one
// (tap, channel block, output block) register tile at a time.
static void weight_gradient_rows(const cvz_hwc_image *x_image, const float *dy_hwc,
                                 int dy_row_step, int oh, int ow, int stride_y, int stride_x,
                                 int kh, int kw, int cout, float *dw_hwio) {
  const int cin = x_image->channels;
  const int x_row_step = stride_y * x_image->width * cin;
  const int x_pixel_step = stride_x * cin;
  const int block = 8 * MAX_V;
  for (int ky = 0; ky < kh; ky++) {
    for (int kx = 0; kx < kw; kx++) {
      for (int c = 0; c < cin; c += MAX_P) {
        const int J = cin - c < MAX_P ? cin - c : MAX_P;
        const float *x = x_image->data + ((size_t)ky * x_image->width + kx) * cin + c;
        for (int o0 = 0; o0 < cout; o0 += block) {
          const int V = (cout - o0 < block ? cout - o0 : block) / 8;
          const float *dy = dy_hwc + o0;
          float *dw = dw_hwio + ((size_t)(ky * kw + kx) * cin + c) * cout + o0;
          const int dw_channel_step = cout;
          switch (V * 8 + J) {
            case 2 * 8 + 6: WEIGHT_CASE(2, 6); break;
            case 2 * 8 + 5: WEIGHT_CASE(2, 5); break;
            case 2 * 8 + 4: WEIGHT_CASE(2, 4); break;
            case 2 * 8 + 3: WEIGHT_CASE(2, 3); break;
            case 2 * 8 + 2: WEIGHT_CASE(2, 2); break;
            case 2 * 8 + 1: WEIGHT_CASE(2, 1); break;
            case 1 * 8 + 6: WEIGHT_CASE(1, 6); break;
            case 1 * 8 + 5: WEIGHT_CASE(1, 5); break;
            case 1 * 8 + 4: WEIGHT_CASE(1, 4); break;
            case 1 * 8 + 3: WEIGHT_CASE(1, 3); break;
            case 1 * 8 + 2: WEIGHT_CASE(1, 2); break;
            default: WEIGHT_CASE(1, 1); break;
          }
        }
      }
    }
  }
}

void cvz_direct_weight_gradient(const cvz_hwc_image *x_image, const float *dy_hwc,
                                int dy_row_step, int oh, int ow, int stride_y, int stride_x,
                                int kh, int kw, int cout, float *dw_hwio) {
  // Bands of a few output rows keep that band's dY and input rows in L1
  // while every tap and channel block visits them.
  enum { BAND = 4 };
  const int cin = x_image->channels;
  for (int b0 = 0; b0 < oh; b0 += BAND) {
    const cvz_hwc_image rows = {
        x_image->data + (size_t)b0 * stride_y * x_image->width * cin,
        x_image->height - b0 * stride_y, x_image->width, cin};
    weight_gradient_rows(&rows, dy_hwc + (size_t)b0 * dy_row_step, dy_row_step,
                         oh - b0 < BAND ? oh - b0 : BAND, ow, stride_y, stride_x, kh, kw, cout,
                         dw_hwio);
  }
}

static inline __attribute__((always_inline)) void transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// The body of cvz_direct_to_padded_hwc, inlined with and without a mask so
// that the 8×8 block loop never tests for one (see correlate).
static inline __attribute__((always_inline)) void to_padded_hwc(
    const float *src, const float *mask, int masked, int channels, int height, int width_in,
    int first_row, int rows, int width, int pad_top, int pad_left, float *dst) {
  memset(dst, 0, sizeof(float) * (size_t)rows * width * channels);
  const int q0 = pad_left, q1 = width_in + pad_left < width ? width_in + pad_left : width;
  const __m256 zero = _mm256_setzero_ps();
  for (int r = 0; r < rows; r++) {
    const int y = first_row + r - pad_top;
    if (y < 0 || y >= height) continue;
    float *out = dst + (size_t)r * width * channels;
    int c = 0;
    // Whole 8×8 blocks: 8 channels × 8 columns, transposed in registers.
    for (; c + 8 <= channels; c += 8) {
      int q = q0;
      for (; q + 8 <= q1; q += 8) {
        __m256 block[8];
        for (int i = 0; i < 8; i++) {
          const size_t at = ((size_t)(c + i) * height + y) * width_in + (q - pad_left);
          block[i] = _mm256_loadu_ps(src + at);
          if (masked) {
            const __m256 fired = _mm256_cmp_ps(_mm256_loadu_ps(mask + at), zero, _CMP_GT_OQ);
            block[i] = _mm256_and_ps(block[i], fired);
          }
        }
        transpose8(block);
        for (int i = 0; i < 8; i++) {
          _mm256_storeu_ps(out + (size_t)(q + i) * channels + c, block[i]);
        }
      }
      for (; q < q1; q++) {
        for (int i = 0; i < 8; i++) {
          const size_t at = ((size_t)(c + i) * height + y) * width_in + (q - pad_left);
          out[(size_t)q * channels + c + i] = !masked || mask[at] > 0 ? src[at] : 0;
        }
      }
    }
    for (; c < channels; c++) {
      const size_t row = ((size_t)c * height + y) * width_in;
      for (int q = q0; q < q1; q++) {
        const size_t at = row + (q - pad_left);
        out[(size_t)q * channels + c] = !masked || mask[at] > 0 ? src[at] : 0;
      }
    }
  }
}

void cvz_direct_to_padded_hwc(const float *src, const float *mask, int channels, int height,
                              int width_in, int first_row, int rows, int width, int pad_top,
                              int pad_left, float *dst) {
  if (mask) {
    to_padded_hwc(src, mask, 1, channels, height, width_in, first_row, rows, width, pad_top,
                  pad_left, dst);
  } else {
    to_padded_hwc(src, NULL, 0, channels, height, width_in, first_row, rows, width, pad_top,
                  pad_left, dst);
  }
}

#pragma clang attribute pop

int cvz_direct_conv_supported(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return cached;
}
