// convviz's training convolutions on oneDNN: forward, backward data and
// backward weights of a plain Conv2D (no groups, no dilation), each pass
// direct or Winograd.
//
// Why: on an AVX-512 CPU, oneDNN's just-in-time kernels run the CIFAR
// network's 3×3 convolutions about twice as fast as _CNNKernels' AVX2
// ones, and its Winograd F(4×4, 3×3) kernels (avx512_core only) cut the
// multiplies of the layers with 16·k channels further.
//
// Reproducibility: a batch is cut into the same chunks as the
// hand-written kernels cut it (one per image up to CVZ_CHUNKS, a count
// fixed by the batch size alone), and every chunk runs its own oneDNN
// primitives single-threaded (OpenMP's thread count set to 1 on the
// thread that creates and runs them) on the _Runtime pool. Each chunk's
// results then depend only on its images, and the weight and bias
// gradients are summed chunk by chunk in chunk order, so a training run
// gives the same bits with 1, 2 or 64 threads, run after run, as the
// hand-written path does. They differ from the hand-written path's bits
// (another order of the same sums, or Winograd's transforms), and from
// one instruction set to another (DNNL_MAX_CPU_ISA).
//
// Layout: kernels are HWIO (cvz_cnn_kernels.h) and reordered once a call.
// The caller's tensors are NCHW float32, or in a layout it names
// (cvz_dnnl_layout, cvz_dnnl.h) that a tensor can be cut into images in
// (cvz_dnnl_train_takes_layout: nChw16c, nChw8c, nhwc): each chunk reads
// and writes its images where they lie, reordered into the layout its
// primitive wants and back only where that differs. A forward may leave
// its output in its primitive's layout (cvz_dnnl_train_conv_output_layout)
// for a next convolution that wants it, whose input gradient then comes
// back in it: conv → conv pairs in training reorder nothing between
// them. The forward keeps each chunk's reordered input until the next
// backward (or forward), whose weight gradient reads it: one reorder of
// the input fewer a step.
//
// Loading: through the one loader cvz_dnnl.h's functions use (library.c),
// which opens libdnnl.so.2 on first use and makes the one CPU engine;
// without the library, or without the OpenMP runtime it was built on,
// cvz_dnnl_train_conv_create returns NULL and the caller keeps the
// hand-written kernels.
#ifndef CVZ_DNNL_TRAIN_H
#define CVZ_DNNL_TRAIN_H

#include <cvz_cnn_kernels.h>
#include <cvz_dnnl.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The passes of a training convolution, for cvz_dnnl_train_conv_implementation.
enum {
  CVZ_DNNL_PASS_FORWARD = 0,
  CVZ_DNNL_PASS_BACKWARD_DATA = 1,
  CVZ_DNNL_PASS_BACKWARD_WEIGHTS = 2,
};

/// The instruction set oneDNN's kernels use on this CPU (after any
/// DNNL_MAX_CPU_ISA cap): "avx512_core", "avx2", …, or "none" without
/// the library.
const char *cvz_dnnl_train_isa(void);

/// A convolution's training primitives for one geometry (its batch cut
/// into chunks as above).
typedef struct cvz_dnnl_train_conv cvz_dnnl_train_conv;

/// Creates the primitives for geometry g: forward (rectified when relu is
/// nonzero), backward weights and bias, and when input_gradient is nonzero
/// backward data. With winograd nonzero each pass is Winograd where oneDNN
/// has it for the geometry and direct otherwise. Returns NULL when
/// oneDNN cannot make them (no library, out of memory, a shape it does
/// not take).
cvz_dnnl_train_conv *cvz_dnnl_train_conv_create(const cvz_conv_geometry *g, int relu,
                                                int winograd, int input_gradient);

/// oneDNN's name for the implementation of one pass (CVZ_DNNL_PASS_*),
/// e.g. "jit_wino_4x3:avx512_core", or "" when it was not made.
const char *cvz_dnnl_train_conv_implementation(const cvz_dnnl_train_conv *conv, int pass);

/// 1 when a tensor in `layout` can be a training convolution's input (or
/// output gradient): NCHW, nChw16c or nChw8c with whole blocks, or nhwc.
int cvz_dnnl_train_takes_layout(const cvz_dnnl_layout *layout);

/// The layout (for the whole batch) the forward can leave its output in,
/// its primitive's own, or NULL when that is not one a tensor can be cut
/// into images in (then the output is always NCHW). The caller destroys it.
cvz_dnnl_layout *cvz_dnnl_train_conv_output_layout(const cvz_dnnl_train_conv *conv);

/// output (N, cout, OH, OW) = conv(input (N, cin, H, W), kernel) + bias,
/// rectified when made with relu. `input` is laid out as input_layout
/// (NULL: NCHW; else one cvz_dnnl_train_takes_layout accepts); `output` is
/// written in cvz_dnnl_train_conv_output_layout when keep_layout is
/// nonzero (which needs one), else NCHW. Returns CVZ_STATUS_OK or
/// CVZ_STATUS_NO_MEMORY (then the output is unspecified).
int cvz_dnnl_train_conv_forward(cvz_dnnl_train_conv *conv, const cvz_dnnl_layout *input_layout,
                                const float *input, const float *kernel_hwio, const float *bias,
                                int keep_layout, float *output);

/// As cvz_conv2d_backward: adds the kernel (HWIO) and bias gradients into
/// d_kernel_hwio and d_bias and, when d_input is not NULL (and the
/// convolution was made with input_gradient), writes the input gradient.
/// relu_output, when not NULL, is the rectified forward output: d_output
/// counts only where it is positive. `input` and `d_input` are laid out as
/// input_layout, `d_output` and `relu_output` as output_layout (each NULL
/// for NCHW, else one cvz_dnnl_train_takes_layout accepts). When input is
/// the last forward's input pointer, its contents must be those that
/// forward read (its reordered copy is reused).
int cvz_dnnl_train_conv_backward(cvz_dnnl_train_conv *conv, const cvz_dnnl_layout *input_layout,
                                 const float *input, const float *kernel_hwio,
                                 const cvz_dnnl_layout *output_layout, const float *d_output,
                                 const float *relu_output, float *d_input, float *d_kernel_hwio,
                                 float *d_bias);

/// 1 when max pooling folds into this convolution's passes
/// (cvz_dnnl_train_conv_forward_pooled): its forward's output layout is
/// one the pooling walks.
int cvz_dnnl_train_conv_pools(const cvz_dnnl_train_conv *conv);

/// cvz_dnnl_train_conv_forward followed by max pooling `pool` (its
/// in_height and in_width the output's; planes unused), as the
/// hand-written kernels' cvz_conv2d_forward_pooled: each chunk pools its
/// images while they are in cache and in the forward's own layout, so the
/// unpooled output is never stored whole nor reordered. Writes the NCHW
/// pooled output and, per pooled cell, its winner (the first maximum of
/// its window in row-major order; an offset private to these functions)
/// for the backward. CVZ_STATUS_NO_MEMORY too when the convolution does
/// not pool (cvz_dnnl_train_conv_pools) or `pool` does not fit its output.
int cvz_dnnl_train_conv_forward_pooled(cvz_dnnl_train_conv *conv,
                                       const cvz_dnnl_layout *input_layout, const float *input,
                                       const float *kernel_hwio, const float *bias,
                                       const cvz_pool_geometry *pool, float *pooled,
                                       int32_t *winners);

/// cvz_dnnl_train_conv_backward for a pooled forward: d_pooled is the NCHW
/// gradient of the pooled output, which goes to each cell's winner, none
/// where the convolution was made with relu and the cell's maximum was not
/// positive (the winners record it).
int cvz_dnnl_train_conv_backward_pooled(cvz_dnnl_train_conv *conv,
                                        const cvz_dnnl_layout *input_layout, const float *input,
                                        const float *kernel_hwio, const cvz_pool_geometry *pool,
                                        const int32_t *winners, const float *d_pooled,
                                        float *d_input, float *d_kernel_hwio, float *d_bias);

void cvz_dnnl_train_conv_destroy(cvz_dnnl_train_conv *conv);

#ifdef __cplusplus
}
#endif

#endif
