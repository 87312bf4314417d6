// The im2col machinery of the GEMM convolution paths (im2col.h).
#include "im2col.h"

#include <string.h>

// About 256 KB of im2col per band.
#define BAND_FLOATS (64 * 1024)

cvz_window cvz_input_window(const cvz_conv_geometry *g, int channels, int dilation_y,
                            int dilation_x) {
  return (cvz_window){channels,      g->in_height,  g->in_width,   g->kernel_height,
                      g->kernel_width, g->stride_y, g->stride_x,   g->pad_top,
                      g->pad_left,   dilation_y,    dilation_x,    g->out_height,
                      g->out_width};
}

int cvz_band_rows(int k, int out_height, int out_width) {
  int rows = BAND_FLOATS / (k * out_width);
  if (rows < 1) rows = 1;
  if (rows > out_height) rows = out_height;
  return rows;
}

void cvz_valid_range(int out, int stride, int offset, int extent, int *begin, int *end) {
  int b = 0, e = out;
  while (b < e && b * stride + offset < 0) b++;
  while (e > b && (e - 1) * stride + offset >= extent) e--;
  *begin = b;
  *end = e;
}

void cvz_im2col(const cvz_window *w, const float *src, int row_begin, int row_end, float *col) {
  const int ow = w->out_width;
  const int columns = (row_end - row_begin) * ow;
  float *dst = col;
  for (int c = 0; c < w->channels; c++) {
    const float *plane = src + (size_t)c * w->height * w->width;
    for (int ky = 0; ky < w->kernel_height; ky++) {
      const int dy = ky * w->dilation_y - w->pad_top;
      for (int kx = 0; kx < w->kernel_width; kx++, dst += columns) {
        const int dx = kx * w->dilation_x - w->pad_left;
        int x0, x1;
        cvz_valid_range(ow, w->stride_x, dx, w->width, &x0, &x1);
        for (int oy = row_begin; oy < row_end; oy++) {
          float *out = dst + (oy - row_begin) * ow;
          const int iy = oy * w->stride_y + dy;
          if (iy < 0 || iy >= w->height) {
            memset(out, 0, sizeof(float) * ow);
            continue;
          }
          const float *in = plane + (size_t)iy * w->width + dx;
          for (int ox = 0; ox < x0; ox++) out[ox] = 0;
          if (w->stride_x == 1) {
            memcpy(out + x0, in + x0, sizeof(float) * (x1 - x0));
          } else {
            for (int ox = x0; ox < x1; ox++) out[ox] = in[ox * w->stride_x];
          }
          for (int ox = x1; ox < ow; ox++) out[ox] = 0;
        }
      }
    }
  }
}

void cvz_col2im_add(const cvz_window *w, const float *col, int row_begin, int row_end,
                    float *dst) {
  const int ow = w->out_width;
  const int columns = (row_end - row_begin) * ow;
  const float *src = col;
  for (int c = 0; c < w->channels; c++) {
    float *plane = dst + (size_t)c * w->height * w->width;
    for (int ky = 0; ky < w->kernel_height; ky++) {
      const int dy = ky * w->dilation_y - w->pad_top;
      for (int kx = 0; kx < w->kernel_width; kx++, src += columns) {
        const int dx = kx * w->dilation_x - w->pad_left;
        int x0, x1;
        cvz_valid_range(ow, w->stride_x, dx, w->width, &x0, &x1);
        for (int oy = row_begin; oy < row_end; oy++) {
          const int iy = oy * w->stride_y + dy;
          if (iy < 0 || iy >= w->height) continue;
          float *out = plane + (size_t)iy * w->width + dx;
          const float *in = src + (oy - row_begin) * ow;
          for (int ox = x0; ox < x1; ox++) out[ox * w->stride_x] += in[ox];
        }
      }
    }
  }
}

float *cvz_rearranged_kernel(const float *hwio, int kh, int kw, int cin, int cout) {
  float *wm = cvz_alloc(sizeof(float) * (size_t)cout * cin * kh * kw);
  if (!wm) return NULL;
  for (int ky = 0; ky < kh; ky++)
    for (int kx = 0; kx < kw; kx++)
      for (int c = 0; c < cin; c++)
        for (int o = 0; o < cout; o++)
          wm[(((size_t)o * cin + c) * kh + ky) * kw + kx] =
              hwio[(((size_t)ky * kw + kx) * cin + c) * cout + o];
  return wm;
}

void cvz_add_rearranged_gradient(const float *d_wm, int kh, int kw, int cin, int cout,
                                 float *d_hwio) {
  for (int ky = 0; ky < kh; ky++)
    for (int kx = 0; kx < kw; kx++)
      for (int c = 0; c < cin; c++)
        for (int o = 0; o < cout; o++)
          d_hwio[(((size_t)ky * kw + kx) * cin + c) * cout + o] +=
              d_wm[(((size_t)o * cin + c) * kh + ky) * kw + kx];
}

void cvz_sum_chunk_buffers(float *sums, int chunks, size_t floats) {
  for (int i = 1; i < chunks; i++) {
    const float *chunk = sums + (size_t)i * floats;
    for (size_t j = 0; j < floats; j++) sums[j] += chunk[j];
  }
}
