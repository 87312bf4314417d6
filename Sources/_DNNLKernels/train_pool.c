// Max pooling of training convolutions' outputs in oneDNN's own layouts
// (folded into cvz_dnnl_train_conv_forward_pooled), and its gradient; see
// internal.h.
#include "internal.h"

#include <string.h>

int cvz_dnnl_walk_of(const dnnl_memory_desc_t *md, plane_walk *w) {
  if (md->ndims != 4 || md->format_kind != dnnl_blocked || md->offset0 != 0) return 0;
  for (int d = 0; d < 4; d++)
    if (md->padded_dims[d] != md->dims[d] || md->padded_offsets[d] != 0) return 0;
  const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
  if (b->inner_nblks > 1 || (b->inner_nblks == 1 && b->inner_idxs[0] != 1)) return 0;
  w->block = b->inner_nblks ? (int)b->inner_blks[0] : 1;
  if (md->dims[1] % w->block || b->strides[0] != md->dims[1] * md->dims[2] * md->dims[3])
    return 0;
  w->channel = b->strides[1];
  w->row = b->strides[2];
  w->column = b->strides[3];
  return 1;
}

/// The cells begin..<end of a length-`size` side that window `index`
/// (stride, padding before) covers: padding never counts.
static inline void window_span(int index, int stride, int pad, int window, int size, int *begin,
                               int *end) {
  *begin = index * stride - pad;
  *end = *begin + window;
  if (*begin < 0) *begin = 0;
  if (*end > size) *end = size;
}

/// cvz_dnnl_max_pool for w's channel block `block`, a constant once
/// inlined, so that the channels of a block are one vector.
static inline __attribute__((always_inline)) void max_pool_block(
    const int block, const cvz_conv_geometry *g, const plane_walk *w, const plane_walk *pw,
    const cvz_pool_geometry *p, const float *y, int images, int relu, float *pooled,
    int32_t *winners) {
  const int oh = p->out_height, ow = p->out_width;
  const long image = (long)g->out_channels * g->out_height * g->out_width;
  const long pooled_image = (long)g->out_channels * oh * ow;
  for (int n = 0; n < images; n++) {
    const float *x = y + n * image;
    float *out = pooled + n * pooled_image;
    int32_t *win = winners + n * pooled_image;
    for (int cb = 0; cb < g->out_channels / block; cb++)
      for (int py = 0; py < oh; py++) {
        int y0, y1;
        window_span(py, p->stride_y, p->pad_top, p->pool_height, g->out_height, &y0, &y1);
        for (int px = 0; px < ow; px++) {
          int x0, x1;
          window_span(px, p->stride_x, p->pad_left, p->pool_width, g->out_width, &x0, &x1);
          float best[16];
          int32_t at[16];
          const long first = cb * w->channel + y0 * w->row + x0 * w->column;
          for (int l = 0; l < block; l++) best[l] = x[first + l], at[l] = (int32_t)(first + l);
          for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++) {
              const long base = cb * w->channel + iy * w->row + ix * w->column;
              for (int l = 0; l < block; l++) {
                const float v = x[base + l];
                const int wins = v > best[l];
                best[l] = wins ? v : best[l];
                at[l] = wins ? (int32_t)(base + l) : at[l];
              }
            }
          const long o = cb * pw->channel + py * pw->row + px * pw->column;
          for (int l = 0; l < block; l++)
            out[o + l] = best[l], win[o + l] = relu && !(best[l] > 0) ? -1 : at[l];
        }
      }
  }
}

// oneDNN's AVX-512 kernels write 16-channel blocks, its AVX2 ones 8: one
// vector of the CPU's widest kind.
__attribute__((target("avx512f"))) static void max_pool_16(
    const cvz_conv_geometry *g, const plane_walk *w, const plane_walk *pw,
    const cvz_pool_geometry *p, const float *y, int images, int relu, float *pooled,
    int32_t *winners) {
  max_pool_block(16, g, w, pw, p, y, images, relu, pooled, winners);
}

__attribute__((target("avx2"))) static void max_pool_8(
    const cvz_conv_geometry *g, const plane_walk *w, const plane_walk *pw,
    const cvz_pool_geometry *p, const float *y, int images, int relu, float *pooled,
    int32_t *winners) {
  max_pool_block(8, g, w, pw, p, y, images, relu, pooled, winners);
}

void cvz_dnnl_max_pool(const cvz_conv_geometry *g, const plane_walk *w, const plane_walk *pw,
                       const cvz_pool_geometry *p, const float *y, int images, int relu,
                       float *pooled, int32_t *winners) {
  if (w->block == 16 && __builtin_cpu_supports("avx512f"))
    max_pool_16(g, w, pw, p, y, images, relu, pooled, winners);
  else if (w->block == 16) max_pool_block(16, g, w, pw, p, y, images, relu, pooled, winners);
  else if (w->block == 8 && __builtin_cpu_supports("avx2"))
    max_pool_8(g, w, pw, p, y, images, relu, pooled, winners);
  else if (w->block == 8) max_pool_block(8, g, w, pw, p, y, images, relu, pooled, winners);
  else max_pool_block(1, g, w, pw, p, y, images, relu, pooled, winners);
}

/// The scalar unpooling: dy zeroed, then each pooled cell's gradient added
/// at its winner; any windows, overlapping ones too.
static void max_unpool_scalar(const cvz_conv_geometry *g, const plane_walk *pw,
                              const cvz_pool_geometry *p, const int32_t *winners,
                              const float *d_pooled, int images, float *dy) {
  const long image = (long)g->out_channels * g->out_height * g->out_width;
  const long cells = (long)g->out_channels * p->out_height * p->out_width;
  memset(dy, 0, sizeof(float) * image * images);
  for (int n = 0; n < images; n++) {
    float *d = dy + n * image;
    const int32_t *win = winners + n * cells;
    const float *given = d_pooled + n * cells;
    for (int c = 0; c < g->out_channels; c++) {
      const long at = (c / pw->block) * pw->channel + c % pw->block;
      for (int py = 0; py < p->out_height; py++)
        for (int px = 0; px < p->out_width; px++) {
          const long i = at + py * pw->row + px * pw->column;
          if (win[i] >= 0) d[win[i]] += given[i];
        }
    }
  }
}

/// The unpooling for windows that do not overlap, `block` channels (one
/// vector) at a time: every cell of dy is written once, the gradient where
/// it is its window's winner, else 0, with no scatter and no zeroing pass
/// when the windows tile the output from its corner (only the rows and
/// columns past the last window are zeroed then).
static inline __attribute__((always_inline)) void max_unpool_block(
    const int block, const cvz_conv_geometry *g, const plane_walk *w, const plane_walk *pw,
    const cvz_pool_geometry *p, const int32_t *winners, const float *d_pooled, int images,
    float *dy) {
  const int height = g->out_height, width = g->out_width;
  const long image = (long)g->out_channels * height * width;
  const long cells = (long)g->out_channels * p->out_height * p->out_width;
  const int tiles = p->stride_y == p->pool_height && p->stride_x == p->pool_width &&
                    p->pad_top == 0 && p->pad_left == 0;
  // With tiles, the windows cover rows ..< covered_rows, columns ..< covered_columns.
  const int tiled_rows = p->out_height * p->stride_y, tiled_columns = p->out_width * p->stride_x;
  const int covered_rows = tiled_rows < height ? tiled_rows : height;
  const int covered_columns = tiled_columns < width ? tiled_columns : width;
  for (int n = 0; n < images; n++) {
    float *d = dy + n * image;
    if (!tiles) memset(d, 0, sizeof(float) * image);
    for (int cb = 0; cb < g->out_channels / block; cb++) {
      for (int py = 0; py < p->out_height; py++) {
        int y0, y1;
        window_span(py, p->stride_y, p->pad_top, p->pool_height, height, &y0, &y1);
        for (int px = 0; px < p->out_width; px++) {
          int x0, x1;
          window_span(px, p->stride_x, p->pad_left, p->pool_width, width, &x0, &x1);
          // Copied out so that the compiler sees they do not alias d.
          const long o = n * cells + cb * pw->channel + py * pw->row + px * pw->column;
          float gradient[16];
          int32_t at[16];
          for (int l = 0; l < block; l++) gradient[l] = d_pooled[o + l], at[l] = winners[o + l];
          for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++) {
              const long base = cb * w->channel + iy * w->row + ix * w->column;
              for (int l = 0; l < block; l++)
                d[base + l] = at[l] == (int32_t)(base + l) ? gradient[l] : 0.0f;
            }
        }
      }
      if (!tiles) continue;
      for (int iy = 0; iy < height; iy++)
        for (int ix = iy < covered_rows ? covered_columns : 0; ix < width; ix++) {
          const long base = cb * w->channel + iy * w->row + ix * w->column;
          for (int l = 0; l < block; l++) d[base + l] = 0.0f;
        }
    }
  }
}

__attribute__((target("avx512f"))) static void max_unpool_16(
    const cvz_conv_geometry *g, const plane_walk *w, const plane_walk *pw,
    const cvz_pool_geometry *p, const int32_t *winners, const float *d_pooled, int images,
    float *dy) {
  max_unpool_block(16, g, w, pw, p, winners, d_pooled, images, dy);
}

__attribute__((target("avx2"))) static void max_unpool_8(
    const cvz_conv_geometry *g, const plane_walk *w, const plane_walk *pw,
    const cvz_pool_geometry *p, const int32_t *winners, const float *d_pooled, int images,
    float *dy) {
  max_unpool_block(8, g, w, pw, p, winners, d_pooled, images, dy);
}

void cvz_dnnl_max_unpool(const cvz_conv_geometry *g, const plane_walk *w, const plane_walk *pw,
                         const cvz_pool_geometry *p, const int32_t *winners,
                         const float *d_pooled, int images, float *dy) {
  if (p->stride_y < p->pool_height || p->stride_x < p->pool_width || w->block != pw->block)
    max_unpool_scalar(g, pw, p, winners, d_pooled, images, dy);
  else if (w->block == 16 && __builtin_cpu_supports("avx512f"))
    max_unpool_16(g, w, pw, p, winners, d_pooled, images, dy);
  else if (w->block == 16) max_unpool_block(16, g, w, pw, p, winners, d_pooled, images, dy);
  else if (w->block == 8 && __builtin_cpu_supports("avx2"))
    max_unpool_8(g, w, pw, p, winners, d_pooled, images, dy);
  else if (w->block == 8) max_unpool_block(8, g, w, pw, p, winners, d_pooled, images, dy);
  else max_unpool_block(1, g, w, pw, p, winners, d_pooled, images, dy);
}
