// Conv2D forward and backward as per-image, L2-sized im2col GEMMs: the
// general path, used when the direct AVX2 path (conv2d_direct*.c) does not
// apply.
//
// Forward, per image and band of output rows:
//   col (cin·kh·kw, band·OW) = im2col(input)      rows ordered (c, ky, kx)
//   out (cout, band·OW)      = Wm (cout, K) · col  + bias
// where Wm is the HWIO kernel rearranged once per call to (cout, c, ky, kx).
// Backward:
//   dWm (cout, K) += dY (cout, OHW) · colᵀ         per-chunk buffer
//   dX, stride 1: a "full" correlation of dY with the flipped kernel,
//     dX (cin, HW) = Wf (cin, cout·kh·kw) · im2col(dY, pad k−1−p)
//     which is a forward-shaped GEMM (inner size cout·kh·kw) and needs no
//     scatter; strided convs use dcol = Wmᵀ · dY and col2im instead.
// im2col, col2im and the bands are im2col.h's, shared with conv2d_grouped.c.
#include <cblas.h>
#include <string.h>

#include "batch_chunks.h"
#include "cvz_cnn_kernels.h"
#include "direct_driver.h"
#include "im2col.h"

static cvz_window input_window(const cvz_conv_geometry *g) {
  return cvz_input_window(g, g->in_channels, 1, 1);
}

// Wm[o][(c·kh + ky)·kw + kx] = kernel[ky][kx][c][o]; NULL without memory.
static float *rearrange_kernel(const cvz_conv_geometry *g, const float *hwio) {
  return cvz_rearranged_kernel(hwio, g->kernel_height, g->kernel_width, g->in_channels,
                               g->out_channels);
}

// MARK: Forward

typedef struct {
  const cvz_conv_geometry *g;
  const float *input, *wm, *bias;
  int relu;
  float *output;
} forward_job;

static int forward_chunk(void *context, int chunk) {
  const forward_job *job = context;
  const cvz_conv_geometry *g = job->g;
  const cvz_window w = input_window(g);
  const int k = g->in_channels * g->kernel_height * g->kernel_width;
  const int ohw = g->out_height * g->out_width;
  const int rows = cvz_band_rows(k, g->out_height, g->out_width);
  float *col = cvz_alloc(sizeof(float) * (size_t)k * rows * g->out_width);
  if (!col) return CVZ_STATUS_NO_MEMORY;
  int begin, end;
  cvz_chunk_bounds(g->batch, cvz_image_chunks(g->batch), chunk, &begin, &end);
  for (int n = begin; n < end; n++) {
    const float *x = job->input + (size_t)n * g->in_channels * g->in_height * g->in_width;
    float *y = job->output + (size_t)n * g->out_channels * ohw;
    for (int r0 = 0; r0 < g->out_height; r0 += rows) {
      const int r1 = r0 + rows < g->out_height ? r0 + rows : g->out_height;
      const int columns = (r1 - r0) * g->out_width;
      cvz_im2col(&w, x, r0, r1, col);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->out_channels, columns, k, 1.0f,
                  job->wm, k, col, columns, 0.0f, y + r0 * g->out_width, ohw);
      for (int o = 0; o < g->out_channels; o++) {
        float *row = y + (size_t)o * ohw + r0 * g->out_width;
        const float b = job->bias[o];
        if (job->relu) {
          for (int i = 0; i < columns; i++) row[i] = row[i] + b > 0 ? row[i] + b : 0;
        } else {
          for (int i = 0; i < columns; i++) row[i] += b;
        }
      }
    }
  }
  cvz_free(col);
  return CVZ_STATUS_OK;
}

size_t cvz_conv2d_saved_input_floats(const cvz_conv_geometry *g) {
  return cvz_direct_saved_input_floats(g);
}

int cvz_conv2d_pooling_fuses(const cvz_conv_geometry *g) { return cvz_direct_pooling_fuses(g); }

int cvz_conv2d_forward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                              const float *input, const float *kernel_hwio, const float *bias,
                              int relu, float *pooled, int *argmax, float *saved_input) {
  return cvz_direct_forward_pooled(g, pool, input, kernel_hwio, bias, relu, pooled, argmax, saved_input);
}

int cvz_conv2d_backward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                               const int *argmax, const float *input, const float *saved_input,
                               const float *kernel_hwio, const float *d_pooled,
                               const float *pooled, float *d_input, float *d_kernel_hwio,
                               float *d_bias) {
  return cvz_direct_backward_pooled(g, pool, argmax, input, saved_input, kernel_hwio, d_pooled,
                                    pooled, d_input, d_kernel_hwio, d_bias);
}

int cvz_conv2d_forward(const cvz_conv_geometry *g, const float *input, const float *kernel_hwio,
                       const float *bias, int relu, float *output, float *saved_input) {
  if (cvz_direct_forward_applies(g)) {
    return cvz_direct_forward(g, input, kernel_hwio, bias, relu, output, saved_input);
  }
  float *wm = rearrange_kernel(g, kernel_hwio);
  if (!wm) return CVZ_STATUS_NO_MEMORY;
  forward_job job = {g, input, wm, bias, relu, output};
  const int status = cvz_parallel_for(cvz_image_chunks(g->batch), forward_chunk, &job);
  cvz_free(wm);
  return status;
}

// MARK: Backward

typedef struct {
  const cvz_conv_geometry *g;
  const float *input, *wm, *wf, *d_output, *relu_output;
  float *d_input;
  float *d_wm[CVZ_CHUNKS], *d_bias[CVZ_CHUNKS];
} backward_job;

static void weight_gradient(const backward_job *job, const cvz_window *w, int n, const float *dy,
                            float *col, int rows, float *d_wm, float *d_bias) {
  const cvz_conv_geometry *g = job->g;
  const int k = g->in_channels * g->kernel_height * g->kernel_width;
  const int ohw = g->out_height * g->out_width;
  const float *x = job->input + (size_t)n * g->in_channels * g->in_height * g->in_width;
  for (int r0 = 0; r0 < g->out_height; r0 += rows) {
    const int r1 = r0 + rows < g->out_height ? r0 + rows : g->out_height;
    const int columns = (r1 - r0) * g->out_width;
    cvz_im2col(w, x, r0, r1, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->out_channels, k, columns, 1.0f,
                dy + r0 * g->out_width, ohw, col, columns, 1.0f, d_wm, k);
  }
  for (int o = 0; o < g->out_channels; o++) {
    const float *row = dy + (size_t)o * ohw;
    float sum = 0;
    for (int i = 0; i < ohw; i++) sum += row[i];
    d_bias[o] += sum;
  }
}

// Stride 1: dX = Wf · im2col(dY) over a window that slides the flipped
// kernel across dY padded by k − 1 − p, producing H × W positions.
static void input_gradient_full(const backward_job *job, int n, const float *dy, float *col) {
  const cvz_conv_geometry *g = job->g;
  const cvz_window w = {g->out_channels, g->out_height, g->out_width, g->kernel_height,
                        g->kernel_width, 1, 1, g->kernel_height - 1 - g->pad_top,
                        g->kernel_width - 1 - g->pad_left, 1, 1, g->in_height, g->in_width};
  const int k = g->out_channels * g->kernel_height * g->kernel_width;
  const int hw = g->in_height * g->in_width;
  const int rows = cvz_band_rows(k, g->in_height, g->in_width);
  float *dx = job->d_input + (size_t)n * g->in_channels * hw;
  for (int r0 = 0; r0 < g->in_height; r0 += rows) {
    const int r1 = r0 + rows < g->in_height ? r0 + rows : g->in_height;
    const int columns = (r1 - r0) * g->in_width;
    cvz_im2col(&w, dy, r0, r1, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->in_channels, columns, k, 1.0f,
                job->wf, k, col, columns, 0.0f, dx + r0 * g->in_width, hw);
  }
}

// Any stride: dcol = Wmᵀ · dY per band, scattered back with col2im.
static void input_gradient_scatter(const backward_job *job, const cvz_window *w, int n,
                                   const float *dy, float *col, int rows) {
  const cvz_conv_geometry *g = job->g;
  const int k = g->in_channels * g->kernel_height * g->kernel_width;
  const int ohw = g->out_height * g->out_width;
  const int hw = g->in_height * g->in_width;
  float *dx = job->d_input + (size_t)n * g->in_channels * hw;
  memset(dx, 0, sizeof(float) * (size_t)g->in_channels * hw);
  for (int r0 = 0; r0 < g->out_height; r0 += rows) {
    const int r1 = r0 + rows < g->out_height ? r0 + rows : g->out_height;
    const int columns = (r1 - r0) * g->out_width;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, columns, g->out_channels, 1.0f,
                job->wm, k, dy + r0 * g->out_width, ohw, 0.0f, col, columns);
    cvz_col2im_add(w, col, r0, r1, dx);
  }
}

static int backward_chunk(void *context, int chunk) {
  const backward_job *job = context;
  const cvz_conv_geometry *g = job->g;
  const cvz_window w = input_window(g);
  const int k = g->in_channels * g->kernel_height * g->kernel_width;
  const int rows = cvz_band_rows(k, g->out_height, g->out_width);
  size_t col_floats = (size_t)k * rows * g->out_width;
  if (job->d_input && job->wf) {
    const int kf = g->out_channels * g->kernel_height * g->kernel_width;
    const size_t full = (size_t)kf * cvz_band_rows(kf, g->in_height, g->in_width) * g->in_width;
    if (full > col_floats) col_floats = full;
  }
  const size_t ohw = (size_t)g->out_height * g->out_width;
  const size_t dy_floats = (size_t)g->out_channels * ohw;
  float *col = cvz_alloc(sizeof(float) * col_floats);
  float *masked = job->relu_output ? cvz_alloc(sizeof(float) * dy_floats) : NULL;
  if (!col || (job->relu_output && !masked)) {
    cvz_free(masked);
    cvz_free(col);
    return CVZ_STATUS_NO_MEMORY;
  }
  int begin, end;
  cvz_chunk_bounds(g->batch, cvz_image_chunks(g->batch), chunk, &begin, &end);
  for (int n = begin; n < end; n++) {
    const float *dy = job->d_output + n * dy_floats;
    if (masked) {
      // The fused ReLU's backward: pass the gradient only where it fired.
      const float *y = job->relu_output + n * dy_floats;
      for (size_t i = 0; i < dy_floats; i++) masked[i] = y[i] > 0 ? dy[i] : 0;
      dy = masked;
    }
    if (job->d_wm[chunk]) {
      weight_gradient(job, &w, n, dy, col, rows, job->d_wm[chunk], job->d_bias[chunk]);
    }
    if (!job->d_input) continue;
    if (job->wf) {
      input_gradient_full(job, n, dy, col);
    } else {
      input_gradient_scatter(job, &w, n, dy, col, rows);
    }
  }
  cvz_free(masked);
  cvz_free(col);
  return CVZ_STATUS_OK;
}

// Wf[c][(o·kh + ky)·kw + kx] = kernel[kh − 1 − ky][kw − 1 − kx][c][o];
// NULL without memory.
static float *flipped_kernel(const cvz_conv_geometry *g, const float *hwio) {
  const int kh = g->kernel_height, kw = g->kernel_width, ci = g->in_channels, co = g->out_channels;
  float *wf = cvz_alloc(sizeof(float) * (size_t)co * ci * kh * kw);
  if (!wf) return NULL;
  for (int ky = 0; ky < kh; ky++)
    for (int kx = 0; kx < kw; kx++)
      for (int c = 0; c < ci; c++)
        for (int o = 0; o < co; o++)
          wf[(((size_t)c * co + o) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)] =
              hwio[((ky * kw + kx) * ci + c) * co + o];
  return wf;
}

int cvz_conv2d_backward(const cvz_conv_geometry *g, const float *input,
                        const float *saved_input, const float *kernel_hwio,
                        const float *d_output, const float *relu_output, float *d_input,
                        float *d_kernel_hwio, float *d_bias) {
  if (!d_input && !d_kernel_hwio) return CVZ_STATUS_OK;
  if (d_input ? cvz_direct_input_gradient_applies(g) : cvz_direct_forward_applies(g)) {
    return cvz_direct_backward(g, input, saved_input, kernel_hwio, d_output, relu_output,
                               d_input, d_kernel_hwio, d_bias);
  }
  const int kh = g->kernel_height, kw = g->kernel_width, ci = g->in_channels, co = g->out_channels;
  const size_t k = (size_t)ci * kh * kw;
  const int chunks = cvz_image_chunks(g->batch);
  const int unit_stride = g->stride_y == 1 && g->stride_x == 1;
  float *wm = rearrange_kernel(g, kernel_hwio);
  float *wf = wm && d_input && unit_stride ? flipped_kernel(g, kernel_hwio) : NULL;
  float *sums = d_kernel_hwio ? cvz_alloc_zeroed(sizeof(float) * chunks * (co * k + co)) : NULL;
  if (!wm || (d_input && unit_stride && !wf) || (d_kernel_hwio && !sums)) {
    cvz_free(sums);
    cvz_free(wf);
    cvz_free(wm);
    return CVZ_STATUS_NO_MEMORY;
  }
  backward_job job = {g, input, wm, wf, d_output, relu_output, d_input, {0}, {0}};
  for (int i = 0; sums && i < chunks; i++) {
    job.d_wm[i] = sums + (size_t)i * (co * k + co);
    job.d_bias[i] = job.d_wm[i] + co * k;
  }
  const int status = cvz_parallel_for(chunks, backward_chunk, &job);
  if (status != CVZ_STATUS_OK || !sums) {
    cvz_free(sums);
    cvz_free(wf);
    cvz_free(wm);
    return status;
  }
  cvz_sum_chunk_buffers(sums, chunks, co * k + co);
  cvz_add_rearranged_gradient(job.d_wm[0], kh, kw, ci, co, d_kernel_hwio);
  for (int o = 0; o < co; o++) d_bias[o] += job.d_bias[0][o];
  cvz_free(sums);
  cvz_free(wf);
  cvz_free(wm);
  return CVZ_STATUS_OK;
}
