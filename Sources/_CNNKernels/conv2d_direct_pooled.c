// Conv2D fused with the max pooling that follows it, on the direct AVX2
// path: the forward pools each image's maps while they are in cache
// (conv2d_direct_driver.c's forward chunk does it when the job has a pool);
// the backward, here, works from the pooling's winners alone.
//
// The backward kernel is compiled for AVX2+FMA with a function attribute
// and used only after the runtime CPU check (cvz_direct_conv_supported).
#include <immintrin.h>
#include <string.h>

#include "batch_chunks.h"
#include "direct.h"
#include "direct_driver.h"
#include "direct_jobs.h"

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

// One image's Conv2D backward through a fused max pooling, from the pooled
// gradient (cout planes of pooled_plane cells, masked where the rectified
// pooled value is not positive when pooled is not NULL) and each cell's
// winner (a flat (N, cout, OH, OW) index, index_base being image n's
// first). x is the image's padded HWC input, `width` pixels per row; adds,
// when d_kernel_t is not NULL, into d_kernel_t ([cout][kh][kw][cin]) and
// d_bias, and, when dx is not NULL, into dx (laid out like x) using w_t,
// the kernel as [cout][kh][kw][cin]. cin must be a multiple of 8. Inlined
// for each pair of with_dw and with_dx, so that the patch loop never tests
// for them: clang's -O3 did that itself, release builds are -O2.
static inline __attribute__((always_inline)) void pooled_backward(
    const float *x, int width, int cin, int kh, int kw, int stride_y, int stride_x, int cout,
    int out_height, int out_width, int pooled_plane, const float *d_pooled, const float *pooled,
    const int *winners, int index_base, const float *w_t, float *d_kernel_t, float *d_bias,
    float *dx, int with_dw, int with_dx) {
  // Only each window's winner has a gradient, so the work is one kh·kw·cin
  // patch per pooled cell instead of one per output pixel and channel. A
  // patch's kw columns of cin channels are contiguous in the HWC image and
  // in the [o][ky][kx][c] kernels alike.
  const int taps_row = kw * cin;
  const size_t plane = (size_t)out_height * out_width;
  for (int o = 0; o < cout; o++) {
    const float *g = d_pooled + (size_t)o * pooled_plane;
    const float *mask = pooled ? pooled + (size_t)o * pooled_plane : NULL;
    const int *winner = winners + (size_t)o * pooled_plane;
    float *dw = with_dw ? d_kernel_t + (size_t)o * kh * taps_row : NULL;
    const float *w = w_t ? w_t + (size_t)o * kh * taps_row : NULL;
    float bias_sum = 0;
    for (int j = 0; j < pooled_plane; j++) {
      if (g[j] == 0 || (mask && !(mask[j] > 0))) continue;
      bias_sum += g[j];
      const int at = (int)(winner[j] - index_base - o * plane);
      const int wy = at / out_width, wx = at % out_width;
      const __m256 gv = _mm256_set1_ps(g[j]);
      for (int ky = 0; ky < kh; ky++) {
        const size_t row = ((size_t)(wy * stride_y + ky) * width + wx * stride_x) * cin;
        if (with_dw) {
          const float *xr = x + row;
          float *dwr = dw + ky * taps_row;
          for (int i = 0; i < taps_row; i += 8) {
            _mm256_storeu_ps(
                dwr + i, _mm256_fmadd_ps(gv, _mm256_loadu_ps(xr + i), _mm256_loadu_ps(dwr + i)));
          }
        }
        if (with_dx) {
          float *dxr = dx + row;
          const float *wr = w + ky * taps_row;
          for (int i = 0; i < taps_row; i += 8) {
            _mm256_storeu_ps(
                dxr + i, _mm256_fmadd_ps(gv, _mm256_loadu_ps(wr + i), _mm256_loadu_ps(dxr + i)));
          }
        }
      }
    }
    if (with_dw) d_bias[o] += bias_sum;
  }
}

static void pooled_backward_image(const float *x, int width, int cin, int kh, int kw,
                                  int stride_y, int stride_x, int cout, int out_height,
                                  int out_width, int pooled_plane, const float *d_pooled,
                                  const float *pooled, const int *winners, int index_base,
                                  const float *w_t, float *d_kernel_t, float *d_bias, float *dx) {
  if (dx && d_kernel_t) {
    pooled_backward(x, width, cin, kh, kw, stride_y, stride_x, cout, out_height, out_width,
                    pooled_plane, d_pooled, pooled, winners, index_base, w_t, d_kernel_t, d_bias,
                    dx, 1, 1);
  } else if (dx) {
    pooled_backward(x, width, cin, kh, kw, stride_y, stride_x, cout, out_height, out_width,
                    pooled_plane, d_pooled, pooled, winners, index_base, w_t, NULL, NULL, dx, 0,
                    1);
  } else {
    pooled_backward(x, width, cin, kh, kw, stride_y, stride_x, cout, out_height, out_width,
                    pooled_plane, d_pooled, pooled, winners, index_base, w_t, d_kernel_t, d_bias,
                    NULL, 1, 0);
  }
}

#pragma clang attribute pop

// Only the winners carry a gradient, so each image's weight, bias and input
// gradients are built from one patch per pooled cell (pooled_backward_image)
// rather than from the mostly-zero full-size dY. Whole images per chunk.
int cvz_direct_pooled_backward_chunk(const cvz_direct_backward_job *job, int chunk) {
  const cvz_conv_geometry *g = job->g;
  const int ci = g->in_channels, co = g->out_channels, kh = g->kernel_height,
            kw = g->kernel_width;
  int n0, n1;
  cvz_chunk_bounds(g->batch, job->chunks, chunk, &n0, &n1);
  if (n1 <= n0) return CVZ_STATUS_OK;
  const int width = (g->out_width - 1) * g->stride_x + kw;
  const int rows = (g->out_height - 1) * g->stride_y + kh;
  const size_t padded = cvz_direct_padded_input_floats(g);
  const size_t in_image = (size_t)ci * g->in_height * g->in_width;
  const size_t out_image = (size_t)co * g->out_height * g->out_width;
  const int pooled_plane = job->pool->out_height * job->pool->out_width;
  const size_t pooled_image = (size_t)co * pooled_plane;
  const size_t k = (size_t)kh * kw * ci * co;
  // The input copy serves the weight gradient alone.
  const int weights = job->d_kernel[chunk] != NULL;
  const int needs_x_band = weights && !job->saved_input;
  float *x_band = needs_x_band ? cvz_alloc(sizeof(float) * padded) : NULL;
  float *dx = job->d_input ? cvz_alloc(sizeof(float) * padded) : NULL;
  float *d_kernel_t = weights ? cvz_alloc_zeroed(sizeof(float) * k) : NULL;
  if ((needs_x_band && !x_band) || (job->d_input && !dx) || (weights && !d_kernel_t)) {
    cvz_free(d_kernel_t);
    cvz_free(dx);
    cvz_free(x_band);
    return CVZ_STATUS_NO_MEMORY;
  }
  for (int n = n0; n < n1; n++) {
    const float *x = job->saved_input ? job->saved_input + n * padded : x_band;
    if (needs_x_band) {
      cvz_direct_to_padded_hwc(job->input + n * in_image, NULL, ci, g->in_height, g->in_width, 0,
                               rows, width, g->pad_top, g->pad_left, x_band);
    }
    if (dx) memset(dx, 0, sizeof(float) * padded);
    pooled_backward_image(x, width, ci, kh, kw, g->stride_y, g->stride_x, co, g->out_height,
                          g->out_width, pooled_plane, job->d_output + n * pooled_image,
                          job->relu_output ? job->relu_output + n * pooled_image : NULL,
                          job->argmax + n * pooled_image, (int)(n * out_image), job->transposed,
                          d_kernel_t, job->d_bias[chunk], dx);
    if (!dx) continue;
    // The padded HWC gradient's interior is dX; rows and columns no output
    // read get zero.
    float *d_input = job->d_input + n * in_image;
    const size_t plane = (size_t)g->in_height * g->in_width;
    for (int iy = 0; iy < g->in_height; iy++) {
      const int r = iy + g->pad_top;
      for (int ix = 0; ix < g->in_width; ix++) {
        const int q = ix + g->pad_left;
        float *d = d_input + (size_t)iy * g->in_width + ix;
        if (r < rows && q < width) {
          const float *src = dx + ((size_t)r * width + q) * ci;
          for (int c = 0; c < ci; c++) d[c * plane] = src[c];
        } else {
          for (int c = 0; c < ci; c++) d[c * plane] = 0;
        }
      }
    }
  }
  // [o][ky][kx][c] back to HWIO, added into this chunk's sums.
  float *d_kernel = job->d_kernel[chunk];
  const int taps = kh * kw;
  for (int o = 0; weights && o < co; o++)
    for (int t = 0; t < taps; t++)
      for (int c = 0; c < ci; c++)
        d_kernel[((size_t)t * ci + c) * co + o] += d_kernel_t[((size_t)o * taps + t) * ci + c];
  cvz_free(d_kernel_t);
  cvz_free(dx);
  cvz_free(x_band);
  return CVZ_STATUS_OK;
}

int cvz_direct_pooling_fuses(const cvz_conv_geometry *g) {
  return cvz_direct_input_gradient_applies(g) && !cvz_direct_single_channel(g) && g->batch >= 2;
}

int cvz_direct_forward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                              const float *input, const float *kernel_hwio, const float *bias,
                              int relu, float *pooled, int *argmax, float *saved_input) {
  float *packed = cvz_direct_packed_weights(kernel_hwio, g->kernel_height * g->kernel_width,
                                            g->in_channels, g->out_channels);
  if (!packed) return CVZ_STATUS_NO_MEMORY;
  const cvz_direct_forward_job job = {
      g, cvz_direct_chunks(g), input, packed, bias, relu, pooled, saved_input, pool, argmax};
  const int status = cvz_direct_run_forward(&job);
  cvz_free(packed);
  return status;
}

int cvz_direct_backward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                               const int *argmax, const float *input, const float *saved_input,
                               const float *kernel_hwio, const float *d_pooled,
                               const float *pooled, float *d_input, float *d_kernel_hwio,
                               float *d_bias) {
  return cvz_direct_run_backward(g, pool, argmax, input, saved_input, kernel_hwio, d_pooled,
                                 pooled, d_input, d_kernel_hwio, d_bias);
}
