// Fast CPU kernels for convviz's CNN layers.
//
// Why C: the hot loops (im2col, col2im, the per-image GEMM drivers and the
// batch split into chunks) must run without Swift's bounds checks, array
// copy-on-write checks and Sendable plumbing. Swift calls these with plain
// pointers; every kernel has a naive Swift reference in the CNN module and
// the tests compare the two.
//
// Conv2D paths: when the CPU has AVX2+FMA (checked at run time) and the
// channel counts are multiples of 8, register-blocked direct kernels over
// per-image channels-last copies (conv2d_direct*.c); a single input channel
// (a grayscale first layer) has its own kernel; everything else uses
// per-image, L2-sized im2col + OpenBLAS GEMMs (conv2d.c).
//
// Layout: activations are NCHW float32, conv kernels are Keras HWIO
// (kh, kw, cin, cout), dense kernels (in, out), all row-major.
//
// Threading: each entry point cuts its work into a number of chunks fixed
// by the shapes alone (at most CVZ_CHUNKS, cvz_runtime.h) and runs them on
// the _Runtime pool. Weight gradients go into per-chunk buffers summed in
// chunk order, so results do not depend on the thread count or timing
// (bit-reproducible training). OpenBLAS is called from inside chunks, so
// the caller should make it single-threaded (the convviz executable does).
//
// Memory: the Conv2D entry points allocate scratch through cvz_alloc and
// return CVZ_STATUS_OK or CVZ_STATUS_NO_MEMORY (then their outputs are
// unspecified); the other kernels allocate nothing.
#ifndef CVZ_CNN_KERNELS_H
#define CVZ_CNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cvz_runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The geometry of one Conv2D call. Output extent and the top/left padding
/// are computed by the caller (Keras/TF 'same' puts the extra cell at the
/// bottom/right, which needs no field: reads past the input are zero).
typedef struct {
  int batch, in_channels, in_height, in_width;
  int out_channels, kernel_height, kernel_width;
  int stride_y, stride_x, pad_top, pad_left;
  int out_height, out_width;
} cvz_conv_geometry;

/// How many floats `saved_input` of cvz_conv2d_forward takes for this
/// geometry, or 0 when the layer's path keeps no copy (then pass NULL).
size_t cvz_conv2d_saved_input_floats(const cvz_conv_geometry *g);

/// output (N, cout, OH, OW) = conv(input (N, cin, H, W), kernel HWIO) + bias,
/// followed by max(0, ·) when relu is nonzero (fused into the same pass).
/// When saved_input is not NULL (training), the direct path leaves there
/// the padded channels-last copy of the input it builds anyway, so that
/// backward need not build it again.
int cvz_conv2d_forward(const cvz_conv_geometry *g, const float *input,
                        const float *kernel_hwio, const float *bias, int relu,
                        float *output, float *saved_input);

/// Adds the kernel (HWIO) and bias gradients into d_kernel_hwio and d_bias
/// unless both are NULL (then they are not computed: explanations want the
/// input gradient alone) and, when d_input is not NULL, writes the input
/// gradient (N, cin, H, W), the same bits either way.
/// When relu_output is not NULL it is the forward output of a fused ReLU,
/// and d_output is taken as zero wherever relu_output is not positive.
/// saved_input is the forward's copy for the same input, or NULL.
int cvz_conv2d_backward(const cvz_conv_geometry *g, const float *input,
                         const float *saved_input, const float *kernel_hwio,
                         const float *d_output, const float *relu_output,
                         float *d_input, float *d_kernel_hwio, float *d_bias);

/// A grouped and/or dilated convolution (conv2d_grouped.c): `base` as for
/// cvz_conv2d_forward with in_channels and out_channels the totals, both
/// divisible by `groups`; the HWIO kernel is (kh, kw, cin / groups, cout).
/// Window tap (ky, kx) reads input row oy·stride_y − pad_top + ky·dilation_y.
typedef struct {
  cvz_conv_geometry base;
  int groups, dilation_y, dilation_x;
} cvz_grouped_conv_geometry;

/// output = conv(input, kernel) + bias, rectified when relu is nonzero.
int cvz_grouped_conv2d_forward(const cvz_grouped_conv_geometry *g, const float *input,
                               const float *kernel_hwio, const float *bias, int relu,
                               float *output);

/// Adds the kernel and bias gradients (unless both are NULL) and, when
/// d_input is not NULL, writes the input gradient; relu_output as for
/// cvz_conv2d_backward.
int cvz_grouped_conv2d_backward(const cvz_grouped_conv_geometry *g, const float *input,
                                const float *kernel_hwio, const float *d_output,
                                const float *relu_output, float *d_input, float *d_kernel_hwio,
                                float *d_bias);

/// Per-channel affine map over (N, C, plane) activations:
/// y[n][c][i] = x[n][c][i] · scale[c] + shift[c] (inference batch
/// normalisation with its statistics folded into scale and shift).
void cvz_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                        int batch, int channels, long plane);

/// The geometry of a pooling call over `planes` = N·C independent planes.
typedef struct {
  int planes, in_height, in_width;
  int pool_height, pool_width, stride_y, stride_x, pad_top, pad_left;
  int out_height, out_width;
} cvz_pool_geometry;

/// Max pooling: output (planes, OH, OW) and, for backward, the flat input
/// index of each window's first maximum. Padded cells never win.
void cvz_max_pool_forward(const cvz_pool_geometry *g, const float *input, float *output,
                          int *argmax);

/// d_input (planes, H, W) = dOutput routed to each window's winner.
void cvz_max_pool_backward(const cvz_pool_geometry *g, const float *d_output,
                           const int *argmax, float *d_input);

/// Average pooling (no dilation): each output the mean of its window's
/// real cells, or with count_include_pad the sum over the taps inside the
/// padded plane (pad_bottom and pad_right give its far edges) divided by
/// their count.
void cvz_average_pool_forward(const cvz_pool_geometry *g, int pad_bottom, int pad_right,
                              int count_include_pad, const float *input, float *output);

/// d_input (planes, H, W) = each output's gradient shared evenly, as the
/// forward divided, among its window's real cells.
void cvz_average_pool_backward(const cvz_pool_geometry *g, int pad_bottom, int pad_right,
                               int count_include_pad, const float *d_output, float *d_input);

/// Conv2D followed by max pooling in one pass, when
/// cvz_conv2d_pooling_fuses(g) (the direct path with whole images per
/// worker): each image's convolution output (and ReLU, when relu) is pooled
/// while it is still in cache, so the full-size maps are never stored.
/// `pool` is the pooling of one image's cout planes of OH × OW; pooled is
/// (N, cout, PH, PW) and argmax the flat (N, cout, OH, OW) index of each
/// window's winner, exactly as cvz_max_pool_forward on the convolution's
/// output would give them.
int cvz_conv2d_pooling_fuses(const cvz_conv_geometry *g);
int cvz_conv2d_forward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                               const float *input, const float *kernel_hwio, const float *bias,
                               int relu, float *pooled, int *argmax, float *saved_input);

/// The matching backward: d_pooled is routed to the winners (and, when
/// pooled is not NULL, only where the rectified pooled value is positive),
/// then as cvz_conv2d_backward (d_kernel_hwio and d_bias NULL included).
int cvz_conv2d_backward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                                const int *argmax, const float *input, const float *saved_input,
                                const float *kernel_hwio, const float *d_pooled,
                                const float *pooled, float *d_input, float *d_kernel_hwio,
                                float *d_bias);

/// Row-major C (M, N) = alpha * op(A) * op(B) + beta * C, with the M rows
/// cut into chunks (a plain cblas_sgemm when the product is small).
void cvz_sgemm(int transpose_a, int transpose_b, int m, int n, int k,
               float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);

/// Inverted dropout: mask[i] = scale where the i-th uniform draw of the
/// xoshiro256** generator `state` (advanced in place) is below keep, else 0;
/// output[i] = input[i] · mask[i]. The draws are SeededGenerator's
/// nextUnitFloat(), so the masks equal the Swift generator's. Large batches
/// run in chunks on the threads, each jumping ahead to its first draw, with
/// the bits of one sequential pass (dropout.c).
void cvz_dropout_forward(uint64_t state[4], float keep, float scale, const float *input,
                         float *mask, float *output, long count);

/// For each of `images` row-major (rows, columns) matrices:
/// dst[j·rows + i] = src[i·columns + j]. (C, H·W) → (H·W, C) is NCHW to
/// channels-last, and the swapped call goes back.
void cvz_transpose_images(const float *src, float *dst, int images, int rows, int columns);

/// y = a + b element-wise, then max(y, 0) when relu is nonzero (x > 0 ? x
/// : 0, so NaN becomes 0 as the Swift ReLU does); y may be a or b.
void cvz_add(const float *a, const float *b, float *y, size_t count, int relu);

/// cvz_channel_affine on channel-blocked images (per image, channels /
/// block planes of `plane` × block floats: oneDNN's nChw16c and nChw8c),
/// then max(y, 0) when relu is nonzero (y > 0 ? y : 0).
/// Joins `count` channel-blocked images along the channels: input i has
/// channels[i] channels; every tensor is, per image, C / block planes of
/// `plane` × block floats (block 0: channels-last, one plane of plane × C).
void cvz_join_channels(int batch, long plane, int block, int count, const float *const *inputs,
                       const int *channels, float *y);
void cvz_channel_affine_blocked(const float *x, const float *scale, const float *shift, float *y,
                                int batch, int channels, long plane, int block, int relu);

#ifdef __cplusplus
}
#endif

#endif
