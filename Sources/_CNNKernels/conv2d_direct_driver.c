// Drives the direct AVX2 Conv2D (conv2d_direct.c) over a batch: layout
// changes to padded channels-last per image, the chunk split, and the
// per-chunk weight-gradient sums. The single-input-channel and
// fused-pooling paths have their own files (conv2d_direct_single.c,
// conv2d_direct_pooled.c). conv2d.c falls back to im2col + GEMM when this
// path does not apply (no AVX2, or channel counts not multiples of 8).
#include <string.h>

#include "batch_chunks.h"
#include "cvz_cnn_kernels.h"
#include "direct.h"
#include "direct_driver.h"
#include "direct_jobs.h"
#include "pooling.h"

int cvz_direct_forward_applies(const cvz_conv_geometry *g) {
  return cvz_direct_conv_supported() && g->out_channels % 8 == 0;
}

int cvz_direct_input_gradient_applies(const cvz_conv_geometry *g) {
  return cvz_direct_forward_applies(g) && g->in_channels % 8 == 0 && g->stride_y == 1 &&
         g->stride_x == 1;
}

int cvz_direct_chunks(const cvz_conv_geometry *g) {
  return g->batch >= 2 ? cvz_image_chunks(g->batch) : CVZ_CHUNKS;
}

// Which images and rows chunk `chunk` owns (see cvz_direct_chunks).
static void chunk_work(int batch, int chunks, int rows, int chunk, int *n0, int *n1, int *r0,
                       int *r1) {
  if (batch >= 2) {
    cvz_chunk_bounds(batch, chunks, chunk, n0, n1);
    *r0 = 0;
    *r1 = rows;
  } else {
    *n0 = 0;
    *n1 = batch;
    cvz_chunk_bounds(rows, chunks, chunk, r0, r1);
  }
}

int cvz_direct_single_channel(const cvz_conv_geometry *g) {
  return g->in_channels == 1 && g->stride_y == 1 && g->stride_x == 1 &&
         g->kernel_height * g->kernel_width <= 9;
}

size_t cvz_direct_padded_input_floats(const cvz_conv_geometry *g) {
  return (size_t)((g->out_height - 1) * g->stride_y + g->kernel_height) *
         ((g->out_width - 1) * g->stride_x + g->kernel_width) * g->in_channels;
}

// MARK: Forward

static int forward_chunk(void *context, int chunk) {
  const cvz_direct_forward_job *job = context;
  const cvz_conv_geometry *g = job->g;
  if (cvz_direct_single_channel(g)) return cvz_direct_single_channel_forward_chunk(job, chunk);
  int n0, n1, r0, r1;
  chunk_work(g->batch, job->chunks, g->out_height, chunk, &n0, &n1, &r0, &r1);
  if (r1 <= r0 || n1 <= n0) return CVZ_STATUS_OK;
  const int width = (g->out_width - 1) * g->stride_x + g->kernel_width;
  const int rows = (r1 - 1 - r0) * g->stride_y + g->kernel_height;
  const size_t band_floats = (size_t)rows * width * g->in_channels;
  const size_t in_image = (size_t)g->in_channels * g->in_height * g->in_width;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  const size_t pooled_image =
      job->pool ? (size_t)g->out_channels * job->pool->out_height * job->pool->out_width : 0;
  float *band = job->saved_input ? NULL : cvz_alloc(sizeof(float) * band_floats);
  float *conv = job->pool ? cvz_alloc(sizeof(float) * out_image) : NULL;
  if ((!job->saved_input && !band) || (job->pool && !conv)) {
    cvz_free(conv);
    cvz_free(band);
    return CVZ_STATUS_NO_MEMORY;
  }
  for (int n = n0; n < n1; n++) {
    // Saved copies exist only when chunks are whole images (r0 = 0, r1 = OH).
    float *hwc = job->saved_input ? job->saved_input + n * band_floats : band;
    cvz_direct_to_padded_hwc(job->input + n * in_image, NULL, g->in_channels, g->in_height,
                             g->in_width, r0 * g->stride_y, rows, width, g->pad_top, g->pad_left,
                             hwc);
    cvz_hwc_image src = {hwc, rows, width, g->in_channels};
    cvz_direct_correlate(&src, g->out_height, g->out_width, r0, r1, g->stride_y, g->stride_x,
                         g->kernel_height, g->kernel_width, job->kernel, g->out_channels,
                         job->bias, job->relu, conv ? conv : job->output + n * out_image);
    if (conv) {
      cvz_max_pool_planes(job->pool, conv, job->output + n * pooled_image,
                          job->argmax + n * pooled_image, 0, g->out_channels,
                          (int)(n * out_image));
    }
  }
  cvz_free(conv);
  cvz_free(band);
  return CVZ_STATUS_OK;
}

int cvz_direct_run_forward(const cvz_direct_forward_job *job) {
  return cvz_parallel_for(job->chunks, forward_chunk, (void *)job);
}

size_t cvz_direct_saved_input_floats(const cvz_conv_geometry *g) {
  if (!cvz_direct_forward_applies(g) || cvz_direct_single_channel(g) || g->batch < 2) return 0;
  return cvz_direct_padded_input_floats(g) * g->batch;
}

float *cvz_direct_packed_weights(const float *hwio, int taps, int cin, int cout) {
  float *packed = cvz_alloc(sizeof(float) * (size_t)taps * cin * cout);
  if (packed) cvz_direct_pack_weights(hwio, taps, cin, cout, packed);
  return packed;
}

int cvz_direct_forward(const cvz_conv_geometry *g, const float *input, const float *kernel_hwio,
                       const float *bias, int relu, float *output, float *saved_input) {
  // The single-channel kernel reads HWIO directly.
  const int single = cvz_direct_single_channel(g);
  float *packed = single ? NULL
                         : cvz_direct_packed_weights(kernel_hwio,
                                                     g->kernel_height * g->kernel_width,
                                                     g->in_channels, g->out_channels);
  if (!single && !packed) return CVZ_STATUS_NO_MEMORY;
  const cvz_direct_forward_job job = {
      g,      cvz_direct_chunks(g), input, packed ? packed : kernel_hwio, bias, relu,
      output, saved_input,          NULL,  NULL};
  const int status = cvz_direct_run_forward(&job);
  cvz_free(packed);
  return status;
}

// MARK: Backward

// The padded HWC input rows that output rows [r0, r1) read: the forward's
// saved copy when there is one, else a fresh copy in `band`.
static cvz_hwc_image input_band(const cvz_direct_backward_job *job, int n, int r0, int r1,
                                float *band) {
  const cvz_conv_geometry *g = job->g;
  const int width = (g->out_width - 1) * g->stride_x + g->kernel_width;
  const int rows = (r1 - 1 - r0) * g->stride_y + g->kernel_height;
  if (job->saved_input) {
    return (cvz_hwc_image){job->saved_input + n * cvz_direct_padded_input_floats(g), rows, width,
                           g->in_channels};
  }
  const size_t in_image = (size_t)g->in_channels * g->in_height * g->in_width;
  cvz_direct_to_padded_hwc(job->input + n * in_image, NULL, g->in_channels, g->in_height,
                           g->in_width, r0 * g->stride_y, rows, width, g->pad_top, g->pad_left,
                           band);
  return (cvz_hwc_image){band, rows, width, g->in_channels};
}

// Adds the weight and bias gradients of output rows [r0, r1) of image n;
// `dy` holds those rows of dY as HWC (already masked by a fused ReLU),
// `dy_row_step` floats apart.
static void weight_and_bias_gradient(const cvz_direct_backward_job *job, int n, int r0, int r1,
                                     float *band, const float *dy, int dy_row_step,
                                     float *d_kernel, float *d_bias) {
  const cvz_conv_geometry *g = job->g;
  const int co = g->out_channels, ow = g->out_width;
  for (int r = 0; r < r1 - r0; r++) {
    const float *row = dy + (size_t)r * dy_row_step;
    for (int p = 0; p < ow; p++)
      for (int o = 0; o < co; o++) d_bias[o] += row[p * co + o];
  }
  const cvz_hwc_image x = input_band(job, n, r0, r1, band);
  cvz_direct_weight_gradient(&x, dy, dy_row_step, r1 - r0, ow, g->stride_y, g->stride_x,
                             g->kernel_height, g->kernel_width, co, d_kernel);
}

// dY of image n as HWC rows [r0, r1), masked by the fused ReLU, unpadded.
static void output_gradient_rows(const cvz_direct_backward_job *job, int n, int r0, int r1,
                                 float *dy) {
  const cvz_conv_geometry *g = job->g;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  cvz_direct_to_padded_hwc(job->d_output + n * out_image,
                           job->relu_output ? job->relu_output + n * out_image : NULL,
                           g->out_channels, g->out_height, g->out_width, r0, r1 - r0,
                           g->out_width, 0, 0, dy);
}

// dY of image n padded for the input gradient's "full" correlation (stride
// 1): kh − 1 − pad_top rows above, kw − 1 − pad_left columns left, masked;
// the band that input rows [q0, q1) read. Its width is W + kw − 1.
static void padded_output_gradient(const cvz_direct_backward_job *job, int n, int q0, int q1,
                                   float *band) {
  const cvz_conv_geometry *g = job->g;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  const int kh = g->kernel_height, kw = g->kernel_width;
  cvz_direct_to_padded_hwc(job->d_output + n * out_image,
                           job->relu_output ? job->relu_output + n * out_image : NULL,
                           g->out_channels, g->out_height, g->out_width, q0, (q1 - 1 - q0) + kh,
                           g->in_width + kw - 1, kh - 1 - g->pad_top, kw - 1 - g->pad_left, band);
}

static void input_gradient(const cvz_direct_backward_job *job, int n, int q0, int q1,
                           const float *band) {
  const cvz_conv_geometry *g = job->g;
  const int kh = g->kernel_height, kw = g->kernel_width;
  const size_t in_image = (size_t)g->in_channels * g->in_height * g->in_width;
  cvz_hwc_image src = {band, (q1 - 1 - q0) + kh, g->in_width + kw - 1, g->out_channels};
  cvz_direct_correlate(&src, g->in_height, g->in_width, q0, q1, 1, 1, kh, kw, job->flipped,
                       g->in_channels, NULL, 0, job->d_input + n * in_image);
}

static int backward_chunk(void *context, int chunk) {
  const cvz_direct_backward_job *job = context;
  const cvz_conv_geometry *g = job->g;
  if (job->pool) return cvz_direct_pooled_backward_chunk(job, chunk);
  if (cvz_direct_single_channel(g) && !job->d_input) {
    return cvz_direct_single_channel_backward_chunk(job, chunk);
  }
  int n0, n1, r0, r1, q0, q1;
  chunk_work(g->batch, job->chunks, g->out_height, chunk, &n0, &n1, &r0, &r1);
  chunk_work(g->batch, job->chunks, g->in_height, chunk, &n0, &n1, &q0, &q1);
  const int co = g->out_channels;
  const int padded_width = g->in_width + g->kernel_width - 1;
  // Whole images per chunk: the padded dY serves both gradients, its
  // interior being dY itself. Otherwise (one image split by rows) the two
  // gradients need different row ranges.
  const int shared_dy = job->d_input && g->batch >= 2;
  // Without d_kernel (input gradient only) the input copy and the unpadded
  // dY, which serve the weight gradient alone, are not needed.
  const int weights = job->d_kernel[chunk] != NULL;
  const int needs_x_band = weights && !job->saved_input, needs_dy = weights && !shared_dy;
  float *x_band =
      needs_x_band ? cvz_alloc(sizeof(float) * cvz_direct_padded_input_floats(g)) : NULL;
  float *dy_band =
      job->d_input
          ? cvz_alloc(sizeof(float) * (size_t)(g->in_height + g->kernel_height - 1) *
                      padded_width * co)
          : NULL;
  float *dy =
      needs_dy ? cvz_alloc(sizeof(float) * (size_t)g->out_height * g->out_width * co) : NULL;
  if ((needs_x_band && !x_band) || (job->d_input && !dy_band) || (needs_dy && !dy)) {
    cvz_free(dy);
    cvz_free(dy_band);
    cvz_free(x_band);
    return CVZ_STATUS_NO_MEMORY;
  }
  for (int n = n0; n < n1; n++) {
    if (shared_dy) {
      padded_output_gradient(job, n, q0, q1, dy_band);
      const size_t interior = ((size_t)(g->kernel_height - 1 - g->pad_top) * padded_width +
                               (g->kernel_width - 1 - g->pad_left)) * co;
      if (weights) {
        weight_and_bias_gradient(job, n, r0, r1, x_band, dy_band + interior, padded_width * co,
                                 job->d_kernel[chunk], job->d_bias[chunk]);
      }
      input_gradient(job, n, q0, q1, dy_band);
      continue;
    }
    if (weights && r1 > r0) {
      output_gradient_rows(job, n, r0, r1, dy);
      weight_and_bias_gradient(job, n, r0, r1, x_band, dy, g->out_width * co,
                               job->d_kernel[chunk], job->d_bias[chunk]);
    }
    if (job->d_input && q1 > q0) {
      padded_output_gradient(job, n, q0, q1, dy_band);
      input_gradient(job, n, q0, q1, dy_band);
    }
  }
  cvz_free(dy);
  cvz_free(dy_band);
  cvz_free(x_band);
  return CVZ_STATUS_OK;
}

// The kernels the input gradient needs: for the pooled path Wt[o][ky][kx][c]
// = W[ky][kx][c][o]; otherwise Wf[ky][kx][o][c] = W[kh−1−ky][kw−1−kx][c][o],
// an HWIO kernel from cout to cin packed for cvz_direct_correlate.
static int input_gradient_kernels(const cvz_conv_geometry *g, const float *kernel_hwio,
                                  int pooled, float **flipped, float **transposed) {
  const int kh = g->kernel_height, kw = g->kernel_width, ci = g->in_channels, co = g->out_channels;
  const size_t k = (size_t)kh * kw * ci * co;
  if (pooled) {
    *transposed = cvz_alloc(sizeof(float) * k);
    if (!*transposed) return CVZ_STATUS_NO_MEMORY;
    for (int t = 0; t < kh * kw; t++)
      for (int c = 0; c < ci; c++)
        for (int o = 0; o < co; o++)
          (*transposed)[((size_t)o * kh * kw + t) * ci + c] =
              kernel_hwio[((size_t)t * ci + c) * co + o];
    return CVZ_STATUS_OK;
  }
  float *hwio = cvz_alloc(sizeof(float) * k);
  if (!hwio) return CVZ_STATUS_NO_MEMORY;
  for (int ky = 0; ky < kh; ky++)
    for (int kx = 0; kx < kw; kx++)
      for (int c = 0; c < ci; c++)
        for (int o = 0; o < co; o++)
          hwio[(((size_t)(kh - 1 - ky) * kw + (kw - 1 - kx)) * co + o) * ci + c] =
              kernel_hwio[(((size_t)ky * kw + kx) * ci + c) * co + o];
  *flipped = cvz_direct_packed_weights(hwio, kh * kw, co, ci);
  cvz_free(hwio);
  return *flipped ? CVZ_STATUS_OK : CVZ_STATUS_NO_MEMORY;
}

int cvz_direct_run_backward(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                            const int *argmax, const float *input, const float *saved_input,
                            const float *kernel_hwio, const float *d_output,
                            const float *relu_output, float *d_input, float *d_kernel_hwio,
                            float *d_bias) {
  const size_t k = (size_t)g->kernel_height * g->kernel_width * g->in_channels * g->out_channels;
  const int co = g->out_channels;
  const int chunks = cvz_direct_chunks(g);
  if (!d_input && !d_kernel_hwio) return CVZ_STATUS_OK;
  float *flipped = NULL, *transposed = NULL;
  float *sums = d_kernel_hwio ? cvz_alloc_zeroed(sizeof(float) * chunks * (k + co)) : NULL;
  int status = sums || !d_kernel_hwio ? CVZ_STATUS_OK : CVZ_STATUS_NO_MEMORY;
  if (status == CVZ_STATUS_OK && d_input) {
    status = input_gradient_kernels(g, kernel_hwio, pool != NULL, &flipped, &transposed);
  }
  if (status == CVZ_STATUS_OK) {
    cvz_direct_backward_job job = {g,       chunks, input, saved_input, flipped, d_output,
                                   relu_output, d_input, {0}, {0}, pool, argmax, transposed};
    for (int i = 0; sums && i < chunks; i++) {
      job.d_kernel[i] = sums + (size_t)i * (k + co);
      job.d_bias[i] = job.d_kernel[i] + k;
    }
    status = cvz_parallel_for(chunks, backward_chunk, &job);
    for (int i = 0; sums && status == CVZ_STATUS_OK && i < chunks; i++) {
      for (size_t j = 0; j < k; j++) d_kernel_hwio[j] += job.d_kernel[i][j];
      for (int o = 0; o < co; o++) d_bias[o] += job.d_bias[i][o];
    }
  }
  cvz_free(sums);
  cvz_free(transposed);
  cvz_free(flipped);
  return status;
}

int cvz_direct_backward(const cvz_conv_geometry *g, const float *input,
                        const float *saved_input, const float *kernel_hwio,
                        const float *d_output, const float *relu_output, float *d_input,
                        float *d_kernel_hwio, float *d_bias) {
  return cvz_direct_run_backward(g, NULL, NULL, input, saved_input, kernel_hwio, d_output,
                                 relu_output, d_input, d_kernel_hwio, d_bias);
}
