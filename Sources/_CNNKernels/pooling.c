// Max pooling over independent planes, cut into chunks of planes.
// The Swift `pooling2dForwardReference` defines the result.
#include <string.h>

#include "cvz_cnn_kernels.h"
#include "pooling.h"

typedef struct {
  const cvz_pool_geometry *g;
  const float *input, *d_output;
  float *output, *d_input;
  int *argmax;
  const int *winners;
} pool_job;

// The common 2×2, stride 2, unpadded case: branch-free selects, same
// tie-breaking as the general loop (the first maximum in row-major order).
static void forward_2x2(const cvz_pool_geometry *g, const float *input, float *output,
                        int *argmax, int begin, int end, int index_base) {
  const int h = g->in_height, w = g->in_width, oh = g->out_height, ow = g->out_width;
  for (int p = begin; p < end; p++) {
    const float *x = input + (size_t)p * h * w;
    float *y = output + (size_t)p * oh * ow;
    int *winner = argmax + (size_t)p * oh * ow;
    const int base = index_base + p * h * w;
    for (int oy = 0; oy < oh; oy++) {
      const float *r0 = x + 2 * oy * w, *r1 = r0 + w;
      for (int ox = 0; ox < ow; ox++) {
        const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        const int i = 2 * oy * w + 2 * ox;
        float top = a;
        int top_index = i;
        if (b > top) { top = b; top_index = i + 1; }
        float bottom = c;
        int bottom_index = i + w;
        if (d > bottom) { bottom = d; bottom_index = i + w + 1; }
        const int lower_wins = bottom > top;
        y[oy * ow + ox] = lower_wins ? bottom : top;
        winner[oy * ow + ox] = base + (lower_wins ? bottom_index : top_index);
      }
    }
  }
}

void cvz_max_pool_planes(const cvz_pool_geometry *g, const float *input, float *output,
                         int *argmax, int begin, int end, int index_base) {
  const int h = g->in_height, w = g->in_width, oh = g->out_height, ow = g->out_width;
  if (g->pool_height == 2 && g->pool_width == 2 && g->stride_y == 2 && g->stride_x == 2 &&
      g->pad_top == 0 && g->pad_left == 0 && 2 * oh <= h && 2 * ow <= w) {
    forward_2x2(g, input, output, argmax, begin, end, index_base);
    return;
  }
  for (int p = begin; p < end; p++) {
    const float *x = input + (size_t)p * h * w;
    for (int oy = 0; oy < oh; oy++) {
      int y0 = oy * g->stride_y - g->pad_top, y1 = y0 + g->pool_height;
      if (y0 < 0) y0 = 0;
      if (y1 > h) y1 = h;
      for (int ox = 0; ox < ow; ox++) {
        int x0 = ox * g->stride_x - g->pad_left, x1 = x0 + g->pool_width;
        if (x0 < 0) x0 = 0;
        if (x1 > w) x1 = w;
        int best = y0 * w + x0;
        for (int iy = y0; iy < y1; iy++) {
          for (int ix = x0; ix < x1; ix++) {
            if (x[iy * w + ix] > x[best]) best = iy * w + ix;
          }
        }
        const size_t out = ((size_t)p * oh + oy) * ow + ox;
        output[out] = x[best];
        argmax[out] = (int)(index_base + (size_t)p * h * w + best);
      }
    }
  }
}

static int forward_chunk(void *context, int chunk) {
  const pool_job *job = context;
  const cvz_pool_geometry *g = job->g;
  const int begin = g->planes * chunk / CVZ_CHUNKS, end = g->planes * (chunk + 1) / CVZ_CHUNKS;
  cvz_max_pool_planes(g, job->input, job->output, job->argmax, begin, end, 0);
  return CVZ_STATUS_OK;
}

void cvz_max_pool_forward(const cvz_pool_geometry *g, const float *input, float *output,
                          int *argmax) {
  pool_job job = {g, input, NULL, output, NULL, argmax, NULL};
  cvz_parallel_for(CVZ_CHUNKS, forward_chunk, &job);
}

static int backward_chunk(void *context, int chunk) {
  const pool_job *job = context;
  const cvz_pool_geometry *g = job->g;
  const size_t plane_in = (size_t)g->in_height * g->in_width;
  const size_t plane_out = (size_t)g->out_height * g->out_width;
  const int begin = g->planes * chunk / CVZ_CHUNKS, end = g->planes * (chunk + 1) / CVZ_CHUNKS;
  // Winners of a plane's windows lie in that plane, so chunks never collide.
  memset(job->d_input + begin * plane_in, 0, sizeof(float) * (end - begin) * plane_in);
  for (size_t i = begin * plane_out; i < end * plane_out; i++) {
    job->d_input[job->winners[i]] += job->d_output[i];
  }
  return CVZ_STATUS_OK;
}

void cvz_max_pool_backward(const cvz_pool_geometry *g, const float *d_output,
                           const int *argmax, float *d_input) {
  pool_job job = {g, NULL, d_output, NULL, d_input, NULL, argmax};
  cvz_parallel_for(CVZ_CHUNKS, backward_chunk, &job);
}
