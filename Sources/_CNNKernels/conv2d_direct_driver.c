// Drives the direct AVX2 Conv2D (conv2d_direct.c) over a batch: layout
// changes to padded channels-last per image, the two-worker split, and the
// per-worker weight-gradient sums. conv2d.c falls back to im2col + GEMM when
// this path does not apply (no AVX2, or channel counts not multiples of 8).
#include <stdlib.h>
#include <string.h>

#include "cvz_cnn_kernels.h"
#include "direct.h"
#include "direct_driver.h"
#include "parallel.h"
#include "pooling.h"

int cvz_direct_forward_applies(const cvz_conv_geometry *g) {
  return cvz_direct_conv_supported() && g->out_channels % 8 == 0;
}

int cvz_direct_input_gradient_applies(const cvz_conv_geometry *g) {
  return cvz_direct_forward_applies(g) && g->in_channels % 8 == 0 && g->stride_y == 1 &&
         g->stride_x == 1;
}

// Which images and rows one chunk owns: whole images when the batch can be
// shared, otherwise halves of the single image's rows (VGG's batch of 1).
static void chunk_work(int batch, int rows, int chunk, int *n0, int *n1, int *r0, int *r1) {
  if (batch >= CVZ_CHUNKS) {
    *n0 = batch * chunk / CVZ_CHUNKS;
    *n1 = batch * (chunk + 1) / CVZ_CHUNKS;
    *r0 = 0;
    *r1 = rows;
  } else {
    *n0 = 0;
    *n1 = batch;
    *r0 = rows * chunk / CVZ_CHUNKS;
    *r1 = rows * (chunk + 1) / CVZ_CHUNKS;
  }
}

static void *checked_malloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) abort();
  return p;
}

// The single-input-channel kernels handle stride 1 and up to 3×3 taps.
static int single_channel(const cvz_conv_geometry *g) {
  return g->in_channels == 1 && g->stride_y == 1 && g->stride_x == 1 &&
         g->kernel_height * g->kernel_width <= 9;
}

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

// The floats of one image's padded channels-last copy for the forward
// pass: every input row and column that some output reads.
static size_t padded_input_floats(const cvz_conv_geometry *g) {
  return (size_t)((g->out_height - 1) * g->stride_y + g->kernel_height) *
         ((g->out_width - 1) * g->stride_x + g->kernel_width) * g->in_channels;
}

// MARK: Forward

typedef struct {
  const cvz_conv_geometry *g;
  const float *input, *kernel, *bias;
  int relu;
  float *output;
  // When not NULL, every image's padded HWC copy is kept here for backward.
  float *saved_input;
  // Fused max pooling (NULL without): `output` then receives the pooled
  // maps and `argmax` their winners; the convolution's own output stays in
  // a per-image scratch.
  const cvz_pool_geometry *pool;
  int *argmax;
} forward_job;

static void single_channel_forward_chunk(const forward_job *job, int chunk) {
  const cvz_conv_geometry *g = job->g;
  const int n0 = g->batch * chunk / CVZ_CHUNKS, n1 = g->batch * (chunk + 1) / CVZ_CHUNKS;
  float *plane = checked_malloc(sizeof(float) * padded_plane_floats(g));
  const size_t in_image = (size_t)g->in_height * g->in_width;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  for (int n = n0; n < n1; n++) {
    const int width = padded_plane(g, job->input + n * in_image, plane);
    cvz_direct_single_channel_forward(plane, width, g->kernel_height, g->kernel_width,
                                      g->out_height, g->out_width, job->kernel, g->out_channels,
                                      job->bias, job->relu, job->output + n * out_image);
  }
  free(plane);
}

static void forward_chunk(void *context, int chunk) {
  const forward_job *job = context;
  const cvz_conv_geometry *g = job->g;
  if (single_channel(g)) {
    single_channel_forward_chunk(job, chunk);
    return;
  }
  int n0, n1, r0, r1;
  chunk_work(g->batch, g->out_height, chunk, &n0, &n1, &r0, &r1);
  if (r1 <= r0) return;
  const int width = (g->out_width - 1) * g->stride_x + g->kernel_width;
  const int rows = (r1 - 1 - r0) * g->stride_y + g->kernel_height;
  const size_t band_floats = (size_t)rows * width * g->in_channels;
  float *band = job->saved_input ? NULL : checked_malloc(sizeof(float) * band_floats);
  const size_t in_image = (size_t)g->in_channels * g->in_height * g->in_width;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  const size_t pooled_image =
      job->pool ? (size_t)g->out_channels * job->pool->out_height * job->pool->out_width : 0;
  float *conv = job->pool ? checked_malloc(sizeof(float) * out_image) : NULL;
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
  free(conv);
  free(band);
}

size_t cvz_direct_saved_input_floats(const cvz_conv_geometry *g) {
  if (!cvz_direct_forward_applies(g) || single_channel(g) || g->batch < CVZ_CHUNKS) return 0;
  return padded_input_floats(g) * g->batch;
}

// The kernel in cvz_direct_correlate's packed layout (caller frees).
static float *packed_weights(const float *hwio, int taps, int cin, int cout) {
  float *packed = checked_malloc(sizeof(float) * (size_t)taps * cin * cout);
  cvz_direct_pack_weights(hwio, taps, cin, cout, packed);
  return packed;
}

void cvz_direct_forward(const cvz_conv_geometry *g, const float *input, const float *kernel_hwio,
                        const float *bias, int relu, float *output, float *saved_input) {
  // The single-channel kernel reads HWIO directly.
  float *packed = single_channel(g) ? NULL
                                    : packed_weights(kernel_hwio,
                                                     g->kernel_height * g->kernel_width,
                                                     g->in_channels, g->out_channels);
  forward_job job = {g,      input,       packed ? packed : kernel_hwio, bias, relu,
                     output, saved_input, NULL,                          NULL};
  cvz_parallel_for(CVZ_CHUNKS, forward_chunk, &job);
  free(packed);
}

int cvz_direct_pooling_fuses(const cvz_conv_geometry *g) {
  return cvz_direct_input_gradient_applies(g) && !single_channel(g) && g->batch >= CVZ_CHUNKS;
}

void cvz_direct_forward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                               const float *input, const float *kernel_hwio, const float *bias,
                               int relu, float *pooled, int *argmax, float *saved_input) {
  float *packed = packed_weights(kernel_hwio, g->kernel_height * g->kernel_width,
                                 g->in_channels, g->out_channels);
  forward_job job = {g, input, packed, bias, relu, pooled, saved_input, pool, argmax};
  cvz_parallel_for(CVZ_CHUNKS, forward_chunk, &job);
  free(packed);
}

// MARK: Backward

typedef struct {
  const cvz_conv_geometry *g;
  const float *input, *saved_input, *flipped, *d_output, *relu_output;
  float *d_input;
  float *d_kernel[CVZ_CHUNKS], *d_bias[CVZ_CHUNKS];
  // Fused max pooling: d_output is the pooled maps' gradient, relu_output
  // the pooled (rectified) maps, argmax their winners, and `transposed` the
  // kernel as [cout][kh][kw][cin] (when d_input is wanted).
  const cvz_pool_geometry *pool;
  const int *argmax;
  const float *transposed;
} backward_job;

// The padded HWC input rows that output rows [r0, r1) read: the forward's
// saved copy when there is one, else a fresh copy in `band`.
static cvz_hwc_image input_band(const backward_job *job, int n, int r0, int r1, float *band) {
  const cvz_conv_geometry *g = job->g;
  const int width = (g->out_width - 1) * g->stride_x + g->kernel_width;
  const int rows = (r1 - 1 - r0) * g->stride_y + g->kernel_height;
  if (job->saved_input) {
    return (cvz_hwc_image){job->saved_input + n * padded_input_floats(g), rows, width,
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
static void weight_and_bias_gradient(const backward_job *job, int n, int r0, int r1, float *band,
                                     const float *dy, int dy_row_step, float *d_kernel,
                                     float *d_bias) {
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
static void output_gradient_rows(const backward_job *job, int n, int r0, int r1, float *dy) {
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
static void padded_output_gradient(const backward_job *job, int n, int q0, int q1, float *band) {
  const cvz_conv_geometry *g = job->g;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  const int kh = g->kernel_height, kw = g->kernel_width;
  cvz_direct_to_padded_hwc(job->d_output + n * out_image,
                           job->relu_output ? job->relu_output + n * out_image : NULL,
                           g->out_channels, g->out_height, g->out_width, q0, (q1 - 1 - q0) + kh,
                           g->in_width + kw - 1, kh - 1 - g->pad_top, kw - 1 - g->pad_left, band);
}

static void input_gradient(const backward_job *job, int n, int q0, int q1, const float *band) {
  const cvz_conv_geometry *g = job->g;
  const int kh = g->kernel_height, kw = g->kernel_width;
  const size_t in_image = (size_t)g->in_channels * g->in_height * g->in_width;
  cvz_hwc_image src = {band, (q1 - 1 - q0) + kh, g->in_width + kw - 1, g->out_channels};
  cvz_direct_correlate(&src, g->in_height, g->in_width, q0, q1, 1, 1, kh, kw, job->flipped,
                       g->in_channels, NULL, 0, job->d_input + n * in_image);
}

// Weight and bias gradients only: a single-channel layer is a network's
// first, whose input gradient nobody needs.
static void single_channel_backward_chunk(const backward_job *job, int chunk) {
  const cvz_conv_geometry *g = job->g;
  const int n0 = g->batch * chunk / CVZ_CHUNKS, n1 = g->batch * (chunk + 1) / CVZ_CHUNKS;
  float *plane = checked_malloc(sizeof(float) * padded_plane_floats(g));
  const size_t in_image = (size_t)g->in_height * g->in_width;
  const size_t out_image = (size_t)g->out_channels * g->out_height * g->out_width;
  for (int n = n0; n < n1; n++) {
    const int width = padded_plane(g, job->input + n * in_image, plane);
    cvz_direct_single_channel_weight_gradient(
        plane, width, g->kernel_height, g->kernel_width, g->out_height, g->out_width,
        job->d_output + n * out_image, job->relu_output ? job->relu_output + n * out_image : NULL,
        g->out_channels, job->d_kernel[chunk], job->d_bias[chunk]);
  }
  free(plane);
}

// Backward through a fused max pooling: only the winners carry a
// gradient, so each image's weight, bias and input gradients are built
// from one patch per pooled cell (cvz_direct_pooled_backward_image) rather
// than from the mostly-zero full-size dY. Whole images per chunk.
static void pooled_backward_chunk(const backward_job *job, int chunk) {
  const cvz_conv_geometry *g = job->g;
  const int ci = g->in_channels, co = g->out_channels, kh = g->kernel_height,
            kw = g->kernel_width;
  const int n0 = g->batch * chunk / CVZ_CHUNKS, n1 = g->batch * (chunk + 1) / CVZ_CHUNKS;
  const int width = (g->out_width - 1) * g->stride_x + kw;
  const int rows = (g->out_height - 1) * g->stride_y + kh;
  const size_t padded = padded_input_floats(g);
  const size_t in_image = (size_t)ci * g->in_height * g->in_width;
  const size_t out_image = (size_t)co * g->out_height * g->out_width;
  const int pooled_plane = job->pool->out_height * job->pool->out_width;
  const size_t pooled_image = (size_t)co * pooled_plane;
  const size_t k = (size_t)kh * kw * ci * co;
  float *x_band = job->saved_input ? NULL : checked_malloc(sizeof(float) * padded);
  float *dx = job->d_input ? checked_malloc(sizeof(float) * padded) : NULL;
  float *d_kernel_t = calloc(k, sizeof(float));
  if (!d_kernel_t) abort();
  for (int n = n0; n < n1; n++) {
    const float *x = job->saved_input ? job->saved_input + n * padded : x_band;
    if (!job->saved_input) {
      cvz_direct_to_padded_hwc(job->input + n * in_image, NULL, ci, g->in_height, g->in_width, 0,
                               rows, width, g->pad_top, g->pad_left, x_band);
    }
    if (dx) memset(dx, 0, sizeof(float) * padded);
    cvz_direct_pooled_backward_image(
        x, width, ci, kh, kw, g->stride_y, g->stride_x, co, g->out_height, g->out_width,
        pooled_plane, job->d_output + n * pooled_image,
        job->relu_output ? job->relu_output + n * pooled_image : NULL,
        job->argmax + n * pooled_image, (int)(n * out_image), job->transposed, d_kernel_t,
        job->d_bias[chunk], dx);
    if (!dx) continue;
    // The padded HWC gradient's interior is dX; rows and columns no output
    // read get zero.
    float *d_input = job->d_input + n * in_image;
    const size_t plane = (size_t)g->in_height * g->in_width;
    for (int iy = 0; iy < g->in_height; iy++) {
      const int r = iy + g->pad_top;
      for (int ix = 0; ix < g->in_width; ix++) {
        const int q = ix + g->pad_left;
        const float *src = r < rows && q < width ? dx + ((size_t)r * width + q) * ci : NULL;
        for (int c = 0; c < ci; c++) {
          d_input[c * plane + (size_t)iy * g->in_width + ix] = src ? src[c] : 0;
        }
      }
    }
  }
  // [o][ky][kx][c] back to HWIO, added into this chunk's sums.
  float *d_kernel = job->d_kernel[chunk];
  const int taps = kh * kw;
  for (int o = 0; o < co; o++)
    for (int t = 0; t < taps; t++)
      for (int c = 0; c < ci; c++)
        d_kernel[((size_t)t * ci + c) * co + o] += d_kernel_t[((size_t)o * taps + t) * ci + c];
  free(d_kernel_t);
  free(dx);
  free(x_band);
}

static void backward_chunk(void *context, int chunk) {
  const backward_job *job = context;
  const cvz_conv_geometry *g = job->g;
  if (job->pool) {
    pooled_backward_chunk(job, chunk);
    return;
  }
  if (single_channel(g) && !job->d_input) {
    single_channel_backward_chunk(job, chunk);
    return;
  }
  int n0, n1, r0, r1, q0, q1;
  chunk_work(g->batch, g->out_height, chunk, &n0, &n1, &r0, &r1);
  chunk_work(g->batch, g->in_height, chunk, &n0, &n1, &q0, &q1);
  const int co = g->out_channels;
  float *x_band = job->saved_input ? NULL : checked_malloc(sizeof(float) * padded_input_floats(g));
  const int padded_width = g->in_width + g->kernel_width - 1;
  float *dy_band = job->d_input ? checked_malloc(sizeof(float) * (size_t)(g->in_height +
                                                  g->kernel_height - 1) * padded_width * co)
                                : NULL;
  // Whole images per chunk: the padded dY serves both gradients, its
  // interior being dY itself. Otherwise (one image split by rows) the two
  // gradients need different row ranges.
  const int shared_dy = job->d_input && g->batch >= CVZ_CHUNKS;
  float *dy = shared_dy ? NULL
                        : checked_malloc(sizeof(float) * (size_t)g->out_height * g->out_width * co);
  for (int n = n0; n < n1; n++) {
    if (shared_dy) {
      padded_output_gradient(job, n, q0, q1, dy_band);
      const size_t interior = ((size_t)(g->kernel_height - 1 - g->pad_top) * padded_width +
                               (g->kernel_width - 1 - g->pad_left)) * co;
      weight_and_bias_gradient(job, n, r0, r1, x_band, dy_band + interior, padded_width * co,
                               job->d_kernel[chunk], job->d_bias[chunk]);
      input_gradient(job, n, q0, q1, dy_band);
      continue;
    }
    if (r1 > r0) {
      output_gradient_rows(job, n, r0, r1, dy);
      weight_and_bias_gradient(job, n, r0, r1, x_band, dy, g->out_width * co,
                               job->d_kernel[chunk], job->d_bias[chunk]);
    }
    if (job->d_input && q1 > q0) {
      padded_output_gradient(job, n, q0, q1, dy_band);
      input_gradient(job, n, q0, q1, dy_band);
    }
  }
  free(dy);
  free(dy_band);
  free(x_band);
}

static void backward(const cvz_conv_geometry *g, const cvz_pool_geometry *pool, const int *argmax,
                     const float *input, const float *saved_input, const float *kernel_hwio,
                     const float *d_output, const float *relu_output, float *d_input,
                     float *d_kernel_hwio, float *d_bias) {
  const int kh = g->kernel_height, kw = g->kernel_width, ci = g->in_channels, co = g->out_channels;
  const size_t k = (size_t)kh * kw * ci * co;
  float *flipped = NULL, *transposed = NULL;
  if (d_input && pool) {
    // Wt[o][ky][kx][c] = W[ky][kx][c][o], for the pooled backward's patches.
    transposed = checked_malloc(sizeof(float) * k);
    for (int t = 0; t < kh * kw; t++)
      for (int c = 0; c < ci; c++)
        for (int o = 0; o < co; o++)
          transposed[((size_t)o * kh * kw + t) * ci + c] =
              kernel_hwio[((size_t)t * ci + c) * co + o];
  } else if (d_input) {
    // Wf[ky][kx][o][c] = W[kh−1−ky][kw−1−kx][c][o]: an HWIO kernel from cout to
    // cin, packed for cvz_direct_correlate.
    float *hwio = checked_malloc(sizeof(float) * k);
    for (int ky = 0; ky < kh; ky++)
      for (int kx = 0; kx < kw; kx++)
        for (int c = 0; c < ci; c++)
          for (int o = 0; o < co; o++)
            hwio[(((size_t)(kh - 1 - ky) * kw + (kw - 1 - kx)) * co + o) * ci + c] =
                kernel_hwio[(((size_t)ky * kw + kx) * ci + c) * co + o];
    flipped = packed_weights(hwio, kh * kw, co, ci);
    free(hwio);
  }
  float *sums = calloc((size_t)CVZ_CHUNKS * (k + co), sizeof(float));
  if (!sums) abort();
  backward_job job = {g,       input, saved_input, flipped, d_output,  relu_output,
                      d_input, {0},  {0},         pool,    argmax, transposed};
  for (int i = 0; i < CVZ_CHUNKS; i++) {
    job.d_kernel[i] = sums + (size_t)i * (k + co);
    job.d_bias[i] = job.d_kernel[i] + k;
  }
  cvz_parallel_for(CVZ_CHUNKS, backward_chunk, &job);
  for (int i = 0; i < CVZ_CHUNKS; i++) {
    for (size_t j = 0; j < k; j++) d_kernel_hwio[j] += job.d_kernel[i][j];
    for (int o = 0; o < co; o++) d_bias[o] += job.d_bias[i][o];
  }
  free(sums);
  free(transposed);
  free(flipped);
}

void cvz_direct_backward(const cvz_conv_geometry *g, const float *input,
                         const float *saved_input, const float *kernel_hwio,
                         const float *d_output, const float *relu_output, float *d_input,
                         float *d_kernel_hwio, float *d_bias) {
  backward(g, NULL, NULL, input, saved_input, kernel_hwio, d_output, relu_output, d_input,
           d_kernel_hwio, d_bias);
}

void cvz_direct_backward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                                const int *argmax, const float *input, const float *saved_input,
                                const float *kernel_hwio, const float *d_pooled,
                                const float *pooled, float *d_input, float *d_kernel_hwio,
                                float *d_bias) {
  backward(g, pool, argmax, input, saved_input, kernel_hwio, d_pooled, pooled, d_input,
           d_kernel_hwio, d_bias);
}
