// Average pooling over independent planes, cut into chunks of planes.
// The Swift `pooling2dForwardReference` defines the result; sums run in
// the same row-major order in float, so the two agree bit for bit.
#include <string.h>

#include "cvz_cnn_kernels.h"

typedef struct {
  const cvz_pool_geometry *g;
  int pad_bottom, pad_right, count_include_pad;
  const float *input, *d_output;
  float *output, *d_input;
} average_job;

// The window of output (oy, ox): real rows [*y0, *y1) and columns
// [*x0, *x1), and what the mean divides by.
static int window(const average_job *job, int oy, int ox, int *y0, int *y1, int *x0, int *x1) {
  const cvz_pool_geometry *g = job->g;
  const int top = oy * g->stride_y - g->pad_top, left = ox * g->stride_x - g->pad_left;
  const int bottom = top + g->pool_height, right = left + g->pool_width;
  *y0 = top < 0 ? 0 : top;
  *y1 = bottom > g->in_height ? g->in_height : bottom;
  *x0 = left < 0 ? 0 : left;
  *x1 = right > g->in_width ? g->in_width : right;
  if (!job->count_include_pad) return (*y1 - *y0) * (*x1 - *x0);
  // Taps inside the padded plane count; those past it (ceil mode) do not.
  const int py1 = bottom > g->in_height + job->pad_bottom ? g->in_height + job->pad_bottom : bottom;
  const int px1 = right > g->in_width + job->pad_right ? g->in_width + job->pad_right : right;
  return (py1 - top) * (px1 - left);
}

static int forward_chunk(void *context, int chunk) {
  const average_job *job = context;
  const cvz_pool_geometry *g = job->g;
  const int h = g->in_height, w = g->in_width, oh = g->out_height, ow = g->out_width;
  const int begin = g->planes * chunk / CVZ_CHUNKS, end = g->planes * (chunk + 1) / CVZ_CHUNKS;
  for (int p = begin; p < end; p++) {
    const float *x = job->input + (size_t)p * h * w;
    float *y = job->output + (size_t)p * oh * ow;
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        int y0, y1, x0, x1;
        const int count = window(job, oy, ox, &y0, &y1, &x0, &x1);
        float sum = 0;
        for (int iy = y0; iy < y1; iy++) {
          for (int ix = x0; ix < x1; ix++) sum += x[iy * w + ix];
        }
        y[oy * ow + ox] = sum / (float)count;
      }
    }
  }
  return CVZ_STATUS_OK;
}

static int backward_chunk(void *context, int chunk) {
  const average_job *job = context;
  const cvz_pool_geometry *g = job->g;
  const int h = g->in_height, w = g->in_width, oh = g->out_height, ow = g->out_width;
  const int begin = g->planes * chunk / CVZ_CHUNKS, end = g->planes * (chunk + 1) / CVZ_CHUNKS;
  for (int p = begin; p < end; p++) {
    float *dx = job->d_input + (size_t)p * h * w;
    const float *dy = job->d_output + (size_t)p * oh * ow;
    memset(dx, 0, sizeof(float) * h * w);
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        int y0, y1, x0, x1;
        const int count = window(job, oy, ox, &y0, &y1, &x0, &x1);
        const float share = dy[oy * ow + ox] / (float)count;
        for (int iy = y0; iy < y1; iy++) {
          for (int ix = x0; ix < x1; ix++) dx[iy * w + ix] += share;
        }
      }
    }
  }
  return CVZ_STATUS_OK;
}

void cvz_average_pool_forward(const cvz_pool_geometry *g, int pad_bottom, int pad_right,
                              int count_include_pad, const float *input, float *output) {
  average_job job = {g, pad_bottom, pad_right, count_include_pad, input, NULL, output, NULL};
  cvz_parallel_for(CVZ_CHUNKS, forward_chunk, &job);
}

void cvz_average_pool_backward(const cvz_pool_geometry *g, int pad_bottom, int pad_right,
                               int count_include_pad, const float *d_output, float *d_input) {
  average_job job = {g, pad_bottom, pad_right, count_include_pad, NULL, d_output, NULL, d_input};
  cvz_parallel_for(CVZ_CHUNKS, backward_chunk, &job);
}
