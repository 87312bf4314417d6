// Internal: the im2col + GEMM machinery that the plain convolutions
// (conv2d.c) and the grouped and dilated ones (conv2d_grouped.c) share:
// the window a stack of planes is read through, the band of output rows
// that keeps an im2col matrix in L2, im2col and its adjoint, and the
// kernel rearranged for the GEMMs and back.
#ifndef CVZ_IM2COL_H
#define CVZ_IM2COL_H

#include <stddef.h>

#include "cvz_cnn_kernels.h"

// A stack of `channels` source planes read through a kernel_height ×
// kernel_width window: tap (ky, kx) of sliding position (oy, ox) reads
// source cell (oy·stride_y − pad_top + ky·dilation_y,
// ox·stride_x − pad_left + kx·dilation_x), zero outside the planes.
typedef struct {
  int channels, height, width;  // source plane stack
  int kernel_height, kernel_width;
  int stride_y, stride_x, pad_top, pad_left;
  int dilation_y, dilation_x;
  int out_height, out_width;  // extent of the sliding positions
} cvz_window;

// The window of a convolution of geometry g over `channels` of its input
// planes (all of them, or one group's), with the given dilations.
cvz_window cvz_input_window(const cvz_conv_geometry *g, int channels, int dilation_y,
                            int dilation_x);

// Output rows per band so that a band's im2col matrix (k rows of
// rows·out_width) is about 256 KB, which leaves room in a 512 KB–1 MB L2
// for the weights and the output band; at least 1, at most out_height.
int cvz_band_rows(int k, int out_height, int out_width);

// [begin, end) of the `out` positions along one axis whose tap reads a
// real source cell: 0 <= o·stride + offset < extent.
void cvz_valid_range(int out, int stride, int offset, int extent, int *begin, int *end);

// col[(c·kh + ky)·kw + kx][(oy − row_begin)·OW + ox] = the source cell
// that tap (ky, kx) of (oy, ox) reads, for sliding rows
// [row_begin, row_end).
void cvz_im2col(const cvz_window *w, const float *src, int row_begin, int row_end, float *col);

// The adjoint of cvz_im2col: adds col back into dst (which the caller
// zeroed), each source cell's terms in the order im2col wrote them.
void cvz_col2im_add(const cvz_window *w, const float *col, int row_begin, int row_end,
                    float *dst);

// Wm[o][(c·kh + ky)·kw + kx] = kernel[ky][kx][c][o] for an HWIO kernel
// (kh, kw, cin, cout); cvz_free it. NULL without memory.
float *cvz_rearranged_kernel(const float *hwio, int kh, int kw, int cin, int cout);

// d_hwio[ky][kx][c][o] += d_wm[o][(c·kh + ky)·kw + kx]: a gradient in
// Wm's layout added into the HWIO kernel's.
void cvz_add_rearranged_gradient(const float *d_wm, int kh, int kw, int cin, int cout,
                                 float *d_hwio);

// Sums `chunks` per-chunk buffers of `floats` each, laid out one after
// the other from `sums`, into the first, in chunk order.
void cvz_sum_chunk_buffers(float *sums, int chunks, size_t floats);

#endif
