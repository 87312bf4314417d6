// Fast CPU kernels for convviz's CNN layers.
//
// Why C: the hot loops (im2col, col2im, the per-image GEMM drivers and the
// two-worker batch split) must run without Swift's bounds checks, array
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
// Threading: OpenBLAS is switched to one thread once, and each entry point
// splits the batch into CVZ_CHUNKS fixed halves run on up to two threads.
// Weight gradients go into per-chunk buffers summed in chunk order, so
// results do not depend on thread timing (bit-reproducible training).
#ifndef CVZ_CNN_KERNELS_H
#define CVZ_CNN_KERNELS_H

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

/// output (N, cout, OH, OW) = conv(input (N, cin, H, W), kernel HWIO) + bias,
/// followed by max(0, ·) when relu is nonzero (fused into the same pass).
void cvz_conv2d_forward(const cvz_conv_geometry *g, const float *input,
                        const float *kernel_hwio, const float *bias, int relu,
                        float *output);

/// Adds the kernel (HWIO) and bias gradients into d_kernel_hwio and d_bias
/// and, when d_input is not NULL, writes the input gradient (N, cin, H, W).
/// When relu_output is not NULL it is the forward output of a fused ReLU,
/// and d_output is taken as zero wherever relu_output is not positive.
void cvz_conv2d_backward(const cvz_conv_geometry *g, const float *input,
                         const float *kernel_hwio, const float *d_output,
                         const float *relu_output, float *d_input,
                         float *d_kernel_hwio, float *d_bias);

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

/// Row-major C (M, N) = alpha * op(A) * op(B) + beta * C, with the M rows
/// split between the workers (a plain cblas_sgemm when the product is small).
void cvz_sgemm(int transpose_a, int transpose_b, int m, int n, int k,
               float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);

#ifdef __cplusplus
}
#endif

#endif
