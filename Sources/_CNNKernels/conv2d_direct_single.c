// Direct Conv2D for one input channel (the first layer of a grayscale
// network), stride 1, up to 3×3 taps: the AVX2 kernels and their chunks.
//
// With one input channel the tap loop is only kh·kw long, so the general
// microkernel spends as long writing its output as computing it. Here each
// output channel's kh·kw weights sit in registers as broadcasts and 8
// adjacent pixels are computed per vector, straight into the channel-major
// output.
//
// Compiled for AVX2+FMA with a function attribute and used only after the
// runtime CPU check (cvz_direct_conv_supported).
#include <immintrin.h>
#include <string.h>

#include "batch_chunks.h"
#include "direct.h"
#include "direct_jobs.h"

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

enum { MAX_TAPS = 9 };

static inline __attribute__((always_inline)) __m256 tail_mask(int valid) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(valid), lanes));
}

static inline __attribute__((always_inline)) void single_forward(
    const float *plane, int width, int kh, int kw, int oh, int ow, const float *kernel_hwio,
    int cout, const float *bias, int relu, float *out) {
  const int taps = kh * kw;
  const __m256 zero = _mm256_setzero_ps();
  for (int o = 0; o < cout; o++) {
    __m256 w[MAX_TAPS];
    for (int t = 0; t < taps; t++) w[t] = _mm256_set1_ps(kernel_hwio[t * cout + o]);
    const __m256 b = _mm256_set1_ps(bias[o]);
    float *dst = out + (size_t)o * oh * ow;
    for (int y = 0; y < oh; y++) {
      for (int x = 0; x < ow; x += 8) {
        __m256 acc = b;
        for (int ky = 0; ky < kh; ky++)
          for (int kx = 0; kx < kw; kx++)
            acc = _mm256_fmadd_ps(w[ky * kw + kx],
                                  _mm256_loadu_ps(plane + (size_t)(y + ky) * width + x + kx), acc);
        if (relu) acc = _mm256_max_ps(acc, zero);
        if (x + 8 <= ow) {
          _mm256_storeu_ps(dst + y * ow + x, acc);
        } else {
          _mm256_maskstore_ps(dst + y * ow + x, _mm256_castps_si256(tail_mask(ow - x)), acc);
        }
      }
    }
  }
}

static inline __attribute__((always_inline)) void single_weight_gradient(
    const float *plane, int width, int kh, int kw, int oh, int ow, const float *d_output,
    const float *relu_output, int cout, float *d_kernel_hwio, float *d_bias) {
  const int taps = kh * kw;
  const __m256 zero = _mm256_setzero_ps();
  for (int o = 0; o < cout; o++) {
    __m256 acc[MAX_TAPS], bias_acc = zero;
    for (int t = 0; t < taps; t++) acc[t] = zero;
    const float *dy = d_output + (size_t)o * oh * ow;
    const float *fired = relu_output ? relu_output + (size_t)o * oh * ow : NULL;
    for (int y = 0; y < oh; y++) {
      for (int x = 0; x < ow; x += 8) {
        // Masked loads are slow on some CPUs: only the row's tail uses one.
        __m256 g, f = zero;
        if (x + 8 <= ow) {
          g = _mm256_loadu_ps(dy + y * ow + x);
          if (fired) f = _mm256_loadu_ps(fired + y * ow + x);
        } else {
          const __m256i lanes = _mm256_castps_si256(tail_mask(ow - x));
          g = _mm256_maskload_ps(dy + y * ow + x, lanes);
          if (fired) f = _mm256_maskload_ps(fired + y * ow + x, lanes);
        }
        if (fired) g = _mm256_and_ps(g, _mm256_cmp_ps(f, zero, _CMP_GT_OQ));
        bias_acc = _mm256_add_ps(bias_acc, g);
        for (int ky = 0; ky < kh; ky++)
          for (int kx = 0; kx < kw; kx++)
            acc[ky * kw + kx] = _mm256_fmadd_ps(
                _mm256_loadu_ps(plane + (size_t)(y + ky) * width + x + kx), g, acc[ky * kw + kx]);
      }
    }
    float lanes[8];
    for (int t = 0; t < taps; t++) {
      _mm256_storeu_ps(lanes, acc[t]);
      float sum = 0;
      for (int i = 0; i < 8; i++) sum += lanes[i];
      d_kernel_hwio[t * cout + o] += sum;
    }
    _mm256_storeu_ps(lanes, bias_acc);
    float sum = 0;
    for (int i = 0; i < 8; i++) sum += lanes[i];
    d_bias[o] += sum;
  }
}

// The 3×3 case gets its own copy with constant loop bounds, so the taps'
// accumulators and weights live in registers instead of on the stack.
static void single_channel_forward(const float *plane, int width, int kh, int kw, int oh, int ow,
                                   const float *kernel_hwio, int cout, const float *bias,
                                   int relu, float *out) {
  if (kh == 3 && kw == 3) {
    single_forward(plane, width, 3, 3, oh, ow, kernel_hwio, cout, bias, relu, out);
  } else {
    single_forward(plane, width, kh, kw, oh, ow, kernel_hwio, cout, bias, relu, out);
  }
}

static void single_channel_weight_gradient(const float *plane, int width, int kh, int kw, int oh,
                                           int ow, const float *d_output,
                                           const float *relu_output, int cout,
                                           float *d_kernel_hwio, float *d_bias) {
  if (kh == 3 && kw == 3) {
    single_weight_gradient(plane, width, 3, 3, oh, ow, d_output, relu_output, cout, d_kernel_hwio,
                           d_bias);
  } else {
    single_weight_gradient(plane, width, kh, kw, oh, ow, d_output, relu_output, cout,
                           d_kernel_hwio, d_bias);
  }
}

#pragma clang attribute pop

// The zero-padded single plane of image n, with 8 floats of slack for the
// kernels' full-vector reads past the last row. Returns the row width.
static int padded_plane(const cvz_conv_geometry *g, const float *image, float *plane) {
  const int width = g->out_width + g->kernel_width - 1;
  const int rows = g->out_height + g->kernel_height - 1;
  cvz_direct_to_padded_hwc(image, NULL, 1, g->in_height, g->in_width, 0, rows, width, g->pad_top,
                           g->pad_left, plane);
  memset(plane + (size_t)rows * width, 0, sizeof(float) * 8);
  return width;
}

static size_t padded_plane_floats(const cvz_conv_geometry *g) {
  return (size_t)(g->out_height + g->kernel_height - 1) * (g->out_width + g->kernel_width - 1) + 8;
}

int cvz_direct_single_channel_forward_chunk(const cvz_direct_forward_job *job, int chunk) {
  const cvz_conv_geometry *g = job->g;
  int n0, n1;
  cvz_chunk_bounds(g->batch, job->chunks, chunk, &n0, &n1);
  if (n1 <= n0) return CVZ_STATUS_OK;
  float *plane = cvz_alloc(sizeof(float) * padded_plane_floats(g));
  if (!plane) return CVZ_STATUS_NO_MEMORY;
  const size_t in_image = (size_t)g->in_height * g->in_width;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  for (int n = n0; n < n1; n++) {
    const int width = padded_plane(g, job->input + n * in_image, plane);
    single_channel_forward(plane, width, g->kernel_height, g->kernel_width, g->out_height,
                           g->out_width, job->kernel, g->out_channels, job->bias, job->relu,
                           job->output + n * out_image);
  }
  cvz_free(plane);
  return CVZ_STATUS_OK;
}

// Weight and bias gradients only: a single-channel layer is a network's
// first, whose input gradient nobody needs.
int cvz_direct_single_channel_backward_chunk(const cvz_direct_backward_job *job, int chunk) {
  const cvz_conv_geometry *g = job->g;
  int n0, n1;
  cvz_chunk_bounds(g->batch, job->chunks, chunk, &n0, &n1);
  if (n1 <= n0) return CVZ_STATUS_OK;
  float *plane = cvz_alloc(sizeof(float) * padded_plane_floats(g));
  if (!plane) return CVZ_STATUS_NO_MEMORY;
  const size_t in_image = (size_t)g->in_height * g->in_width;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  for (int n = n0; n < n1; n++) {
    const int width = padded_plane(g, job->input + n * in_image, plane);
    single_channel_weight_gradient(
        plane, width, g->kernel_height, g->kernel_width, g->out_height, g->out_width,
        job->d_output + n * out_image, job->relu_output ? job->relu_output + n * out_image : NULL,
        g->out_channels, job->d_kernel[chunk], job->d_bias[chunk]);
  }
  cvz_free(plane);
  return CVZ_STATUS_OK;
}
