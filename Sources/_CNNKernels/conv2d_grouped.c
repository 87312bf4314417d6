// Grouped and dilated Conv2D (imported models: MobileNet's depthwise
// convolutions, ResNeXt's groups, DeepLab's dilations). The ungrouped,
// undilated convolutions of convviz's own networks never come here; they
// keep the direct and im2col paths of conv2d*.c.
//
// Group gi reads input channels [gi·cig, (gi+1)·cig) and writes output
// channels [gi·cog, (gi+1)·cog), with cig = cin / groups, cog = cout /
// groups; the HWIO kernel is (kh, kw, cig, cout). Window tap (ky, kx) of
// output (oy, ox) reads input (oy·sy − pt + ky·dy, ox·sx − pl + kx·dx).
//
// Depthwise (cig = 1, any channel multiplier cog): a direct loop per
// output plane, one kernel tap at a time over a whole row, which the
// compiler vectorises for unit strides. Otherwise, per image, group and
// band of output rows (about 256 KB of im2col; im2col.h, shared with
// conv2d.c):
//   col (cig·kh·kw, band·OW) = im2col(input group)
//   out group (cog, band·OW) = Wm group (cog, K) · col + bias
// and backward dWm += dY · colᵀ, dcol = Wmᵀ · dY scattered back by col2im.
// Work is cut into items that write disjoint outputs — (image, group) for
// the GEMM path, (image, output plane) for depthwise forward and (image,
// input plane) for depthwise backward — so one image still uses every
// core. Weight gradients go into per-chunk buffers summed in chunk order;
// the chunks depend on the shapes alone, so the result does not depend on
// the thread count.
#include <cblas.h>
#include <string.h>

#include "batch_chunks.h"
#include "cvz_cnn_kernels.h"
#include "im2col.h"

static inline int in_groups(const cvz_grouped_conv_geometry *g) {
  return g->base.in_channels / g->groups;
}

static inline int out_groups(const cvz_grouped_conv_geometry *g) {
  return g->base.out_channels / g->groups;
}

// The window of one group's cig input planes.
static cvz_window group_window(const cvz_grouped_conv_geometry *g) {
  return cvz_input_window(&g->base, in_groups(g), g->dilation_y, g->dilation_x);
}

// MARK: Depthwise

// One output plane o of image x: y = b + Σ taps, the input plane o / cog.
static void depthwise_plane(const cvz_grouped_conv_geometry *g, const float *x_plane,
                            const float *hwio, int o, float bias, float *y) {
  const cvz_conv_geometry *b = &g->base;
  const int oh = b->out_height, ow = b->out_width, w = b->in_width;
  for (int i = 0; i < oh * ow; i++) y[i] = bias;
  for (int ky = 0; ky < b->kernel_height; ky++) {
    const int dy = ky * g->dilation_y - b->pad_top;
    int y0, y1;
    cvz_valid_range(oh, b->stride_y, dy, b->in_height, &y0, &y1);
    for (int kx = 0; kx < b->kernel_width; kx++) {
      const int dx = kx * g->dilation_x - b->pad_left;
      const float k = hwio[(ky * b->kernel_width + kx) * b->out_channels + o];
      int x0, x1;
      cvz_valid_range(ow, b->stride_x, dx, w, &x0, &x1);
      for (int oy = y0; oy < y1; oy++) {
        const float *in = x_plane + (size_t)(oy * b->stride_y + dy) * w + dx;
        float *out = y + oy * ow;
        if (b->stride_x == 1) {
          for (int ox = x0; ox < x1; ox++) out[ox] += k * in[ox];
        } else {
          for (int ox = x0; ox < x1; ox++) out[ox] += k * in[ox * b->stride_x];
        }
      }
    }
  }
}

// The gradients of one plane: d_kernel taps and d_bias[o] added when
// d_hwio is not NULL, and the input plane's gradient added into dx_plane
// when it is not NULL.
static void depthwise_plane_backward(const cvz_grouped_conv_geometry *g, const float *x_plane,
                                     const float *hwio, int o, const float *dy, float *dx_plane,
                                     float *d_hwio, float *d_bias) {
  const cvz_conv_geometry *b = &g->base;
  const int oh = b->out_height, ow = b->out_width, w = b->in_width;
  if (d_hwio) {
    float sum = 0;
    for (int i = 0; i < oh * ow; i++) sum += dy[i];
    d_bias[o] += sum;
  }
  for (int ky = 0; ky < b->kernel_height; ky++) {
    const int ty = ky * g->dilation_y - b->pad_top;
    int y0, y1;
    cvz_valid_range(oh, b->stride_y, ty, b->in_height, &y0, &y1);
    for (int kx = 0; kx < b->kernel_width; kx++) {
      const int tx = kx * g->dilation_x - b->pad_left;
      const int tap = (ky * b->kernel_width + kx) * b->out_channels + o;
      const float k = hwio[tap];
      int x0, x1;
      cvz_valid_range(ow, b->stride_x, tx, w, &x0, &x1);
      float dk = 0;
      for (int oy = y0; oy < y1; oy++) {
        const size_t row = (size_t)(oy * b->stride_y + ty) * w + tx;
        const float *in = x_plane + row;
        const float *d = dy + oy * ow;
        if (d_hwio) {
          for (int ox = x0; ox < x1; ox++) dk += in[ox * b->stride_x] * d[ox];
        }
        if (dx_plane) {
          float *dx = dx_plane + row;
          for (int ox = x0; ox < x1; ox++) dx[ox * b->stride_x] += k * d[ox];
        }
      }
      if (d_hwio) d_hwio[tap] += dk;
    }
  }
}

// MARK: Forward

typedef struct {
  const cvz_grouped_conv_geometry *g;
  const float *input, *kernel, *wm, *bias;
  int relu;
  float *output;
  int chunks;
} forward_job;

static int forward_chunk(void *context, int chunk) {
  const forward_job *job = context;
  const cvz_grouped_conv_geometry *g = job->g;
  const cvz_conv_geometry *b = &g->base;
  const int cig = in_groups(g), cog = out_groups(g);
  const size_t hw = (size_t)b->in_height * b->in_width, ohw = (size_t)b->out_height * b->out_width;
  const int k = cig * b->kernel_height * b->kernel_width;
  const int rows = cvz_band_rows(k, b->out_height, b->out_width);
  const cvz_window window = group_window(g);
  float *col = NULL;
  if (!job->kernel) {
    col = cvz_alloc(sizeof(float) * (size_t)k * rows * b->out_width);
    if (!col) return CVZ_STATUS_NO_MEMORY;
  }
  const int per_image = job->kernel ? b->out_channels : g->groups;
  int begin, end;
  cvz_chunk_bounds(b->batch * per_image, job->chunks, chunk, &begin, &end);
  for (int item = begin; item < end; item++) {
    const int n = item / per_image, unit = item % per_image;
    const float *x = job->input + (size_t)n * b->in_channels * hw;
    float *y = job->output + (size_t)n * b->out_channels * ohw;
    size_t first = 0, count = 0;
    if (job->kernel) {
      depthwise_plane(g, x + (size_t)(unit / cog) * hw, job->kernel, unit, job->bias[unit],
                      y + unit * ohw);
      first = unit * ohw;
      count = ohw;
    } else {
      float *yg = y + (size_t)unit * cog * ohw;
      for (int r0 = 0; r0 < b->out_height; r0 += rows) {
        const int r1 = r0 + rows < b->out_height ? r0 + rows : b->out_height;
        const int columns = (r1 - r0) * b->out_width;
        cvz_im2col(&window, x + (size_t)unit * cig * hw, r0, r1, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cog, columns, k, 1.0f,
                    job->wm + (size_t)unit * cog * k, k, col, columns, 0.0f,
                    yg + r0 * b->out_width, (int)ohw);
      }
      for (int o = 0; o < cog; o++) {
        const float bo = job->bias[unit * cog + o];
        float *row = yg + o * ohw;
        for (size_t i = 0; i < ohw; i++) row[i] += bo;
      }
      first = (size_t)unit * cog * ohw;
      count = (size_t)cog * ohw;
    }
    if (job->relu) {
      for (size_t i = first; i < first + count; i++) y[i] = y[i] > 0 ? y[i] : 0;
    }
  }
  cvz_free(col);
  return CVZ_STATUS_OK;
}

int cvz_grouped_conv2d_forward(const cvz_grouped_conv_geometry *g, const float *input,
                               const float *kernel_hwio, const float *bias, int relu,
                               float *output) {
  forward_job job = {g, input, NULL, NULL, bias, relu, output, 1};
  if (in_groups(g) == 1) {
    job.kernel = kernel_hwio;
    job.chunks = cvz_item_chunks((long)g->base.batch * g->base.out_channels);
  } else {
    job.wm = cvz_rearranged_kernel(kernel_hwio, g->base.kernel_height, g->base.kernel_width,
                                   in_groups(g), g->base.out_channels);
    if (!job.wm) return CVZ_STATUS_NO_MEMORY;
    job.chunks = cvz_item_chunks((long)g->base.batch * g->groups);
  }
  const int status = cvz_parallel_for(job.chunks, forward_chunk, &job);
  cvz_free((float *)job.wm);
  return status;
}

// MARK: Backward

typedef struct {
  const cvz_grouped_conv_geometry *g;
  const float *input, *kernel, *wm, *d_output, *relu_output;
  float *d_input;
  int chunks;
  // Per chunk: the kernel gradient (HWIO for depthwise, Wm's layout
  // otherwise) followed by the bias gradient.
  float *d_weights[CVZ_CHUNKS];
} backward_job;

static int backward_chunk(void *context, int chunk) {
  const backward_job *job = context;
  const cvz_grouped_conv_geometry *g = job->g;
  const cvz_conv_geometry *b = &g->base;
  const int cig = in_groups(g), cog = out_groups(g), co = b->out_channels;
  const size_t hw = (size_t)b->in_height * b->in_width, ohw = (size_t)b->out_height * b->out_width;
  const int k = cig * b->kernel_height * b->kernel_width;
  // NULL when only the input gradient is wanted.
  float *d_kernel = job->d_weights[chunk];
  float *d_bias = d_kernel ? d_kernel + (size_t)co * k : NULL;
  const int rows = cvz_band_rows(k, b->out_height, b->out_width);
  const cvz_window window = group_window(g);
  float *col = job->kernel ? NULL : cvz_alloc(sizeof(float) * (size_t)k * rows * b->out_width);
  float *masked = job->relu_output ? cvz_alloc(sizeof(float) * cog * ohw) : NULL;
  if ((!job->kernel && !col) || (job->relu_output && !masked)) {
    cvz_free(masked);
    cvz_free(col);
    return CVZ_STATUS_NO_MEMORY;
  }
  // An item is an input plane (depthwise) or a group of an image: the
  // output planes it reads, cog of them, and the input planes it writes.
  const int per_image = job->kernel ? b->in_channels : g->groups;
  int begin, end;
  cvz_chunk_bounds(b->batch * per_image, job->chunks, chunk, &begin, &end);
  for (int item = begin; item < end; item++) {
    const int n = item / per_image, gi = item % per_image;
    const size_t in_first = (size_t)gi * cig * hw, out_first = (size_t)gi * cog * ohw;
    const float *x = job->input + (size_t)n * b->in_channels * hw + in_first;
    const float *dyg = job->d_output + (size_t)n * co * ohw + out_first;
    float *dx = job->d_input ? job->d_input + (size_t)n * b->in_channels * hw + in_first : NULL;
    if (masked) {
      const float *y = job->relu_output + (size_t)n * co * ohw + out_first;
      for (size_t i = 0; i < (size_t)cog * ohw; i++) masked[i] = y[i] > 0 ? dyg[i] : 0;
      dyg = masked;
    }
    if (dx) memset(dx, 0, sizeof(float) * cig * hw);
    if (job->kernel) {
      for (int m = 0; m < cog; m++) {
        depthwise_plane_backward(g, x, job->kernel, gi * cog + m, dyg + m * ohw, dx, d_kernel,
                                 d_bias);
      }
      continue;
    }
    for (int o = 0; d_bias && o < cog; o++) {
      const float *row = dyg + o * ohw;
      float sum = 0;
      for (size_t i = 0; i < ohw; i++) sum += row[i];
      d_bias[gi * cog + o] += sum;
    }
    for (int r0 = 0; r0 < b->out_height; r0 += rows) {
      const int r1 = r0 + rows < b->out_height ? r0 + rows : b->out_height;
      const int columns = (r1 - r0) * b->out_width;
      const float *dy_band = dyg + r0 * b->out_width;
      if (d_kernel) {
        cvz_im2col(&window, x, r0, r1, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cog, k, columns, 1.0f, dy_band,
                    (int)ohw, col, columns, 1.0f, d_kernel + (size_t)gi * cog * k, k);
      }
      if (!dx) continue;
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, columns, cog, 1.0f,
                  job->wm + (size_t)gi * cog * k, k, dy_band, (int)ohw, 0.0f, col, columns);
      cvz_col2im_add(&window, col, r0, r1, dx);
    }
  }
  cvz_free(masked);
  cvz_free(col);
  return CVZ_STATUS_OK;
}

int cvz_grouped_conv2d_backward(const cvz_grouped_conv_geometry *g, const float *input,
                                const float *kernel_hwio, const float *d_output,
                                const float *relu_output, float *d_input, float *d_kernel_hwio,
                                float *d_bias) {
  const cvz_conv_geometry *b = &g->base;
  const int kh = b->kernel_height, kw = b->kernel_width, ci = in_groups(g);
  const int co = b->out_channels;
  const size_t k = (size_t)ci * kh * kw, per_chunk = co * k + co;
  const int depthwise = ci == 1;
  const int chunks = cvz_item_chunks((long)b->batch * (depthwise ? b->in_channels : g->groups));
  if (!d_input && !d_kernel_hwio) return CVZ_STATUS_OK;
  float *wm = depthwise ? NULL : cvz_rearranged_kernel(kernel_hwio, kh, kw, ci, co);
  float *sums = d_kernel_hwio ? cvz_alloc_zeroed(sizeof(float) * chunks * per_chunk) : NULL;
  if ((!depthwise && !wm) || (d_kernel_hwio && !sums)) {
    cvz_free(sums);
    cvz_free(wm);
    return CVZ_STATUS_NO_MEMORY;
  }
  backward_job job = {g,       input,   depthwise ? kernel_hwio : NULL, wm, d_output,
                      relu_output, d_input, chunks, {0}};
  for (int i = 0; sums && i < chunks; i++) job.d_weights[i] = sums + (size_t)i * per_chunk;
  const int status = cvz_parallel_for(chunks, backward_chunk, &job);
  if (status == CVZ_STATUS_OK && sums) {
    float *total = sums;
    cvz_sum_chunk_buffers(sums, chunks, per_chunk);
    if (depthwise) {
      for (size_t j = 0; j < co * k; j++) d_kernel_hwio[j] += total[j];
    } else {
      cvz_add_rearranged_gradient(total, kh, kw, ci, co, d_kernel_hwio);
    }
    for (int o = 0; o < co; o++) d_bias[o] += total[co * k + o];
  }
  cvz_free(sums);
  cvz_free(wm);
  return status;
}
