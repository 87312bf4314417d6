// convviz's inference convolutions on oneDNN (Debian's libdnnl, the library
// under PyTorch's CPU convolutions), through its C API.
//
// Why: oneDNN's just-in-time kernels use the widest instruction set the CPU
// has (AVX-512 where present; DNNL_MAX_CPU_ISA=AVX2 caps it), where
// _CNNKernels' hand-written ones stop at AVX2. The engine uses this path
// for inference only (forward without training): its results depend on
// the thread count and the CPU, which training's bit-reproducibility
// forbids. The _CNNKernels paths stay the reference it is tested against.
//
// Loading: libdnnl.so.2 is opened (dlopen) on first use rather than
// linked, so a machine without it runs the hand-written kernels, and the
// executable can set OpenMP's environment before libgomp reads it.
//
// Threading: Debian builds oneDNN on OpenMP (libgomp). Every call here
// sets OpenMP's thread count on the calling thread to cvz_threads(), so
// the one count the executable sets (--threads, CONVVIZ_THREADS) holds for
// both pools; the two never run at the same time (a call returns after
// its OpenMP region has joined). OpenMP's threads spin after each region
// by default, which on a machine with more runnable threads than cores
// takes the CPU from the thread the next region waits for (resnet18 at
// batch 1 on 2 threads and a loaded 2-core machine: 420–1000 ms a pass
// instead of 60–110 ms passive), while on an idle virtual machine a
// sleeping thread wakes slowly: unless the user set OMP_WAIT_POLICY or
// GOMP_SPINCOUNT, the convviz executable makes them spin about 0.1 ms
// when the other runnable threads leave more than half the cores free as
// it starts, else sleep at once (ProcessSettings.openMPWaitSettings).
//
// Layout: the caller's tensors are NCHW float32 and its kernels HWIO
// (cvz_cnn_kernels.h). A convolution is created once per shape: the
// kernel is reordered then into the layout oneDNN's chosen implementation
// prefers (blocked, format `any`) and kept. Activations may stay in the
// layout a primitive wrote them in (its cvz_dnnl_layout) for the next
// oneDNN primitive, which reorders them only when it wants another one;
// cvz_dnnl_to_nchw turns them back into NCHW for the hand-written
// kernels. Dense kernels are used where they lie, never copied.
//
// Calls are serialised by one lock (they share one stream and one
// workspace that grows to the largest call and is reused).
#ifndef CVZ_DNNL_H
#define CVZ_DNNL_H

#include <cvz_cnn_kernels.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when libdnnl.so.2 could be opened and its CPU engine created, else 0.
int cvz_dnnl_available(void);

/// Why oneDNN is unavailable, one line naming the library (e.g.
/// "libdnnl (libdnnl.so.2) cannot be loaded: …"), or "" when it is
/// available.
const char *cvz_dnnl_failure(void);

/// The instruction set oneDNN's kernels use on this CPU (after any
/// DNNL_MAX_CPU_ISA cap), e.g. "avx512_core", "avx2", or "none".
const char *cvz_dnnl_isa(void);

/// oneDNN's version, e.g. "2.6.3".
const char *cvz_dnnl_version(void);

/// How a tensor is laid out in memory, in oneDNN's terms (its memory
/// descriptor): NCHW, channels-last, channel-blocked.
typedef struct cvz_dnnl_layout cvz_dnnl_layout;

/// A convolution primitive for one geometry, with its weights.
typedef struct cvz_dnnl_conv cvz_dnnl_conv;

/// An element-wise activation applied to a primitive's output in the same
/// pass (a oneDNN post-op): none, max(x, 0), or min(max(x, low), high).
/// With `sum` nonzero, the output's previous contents (in the output's
/// layout) are added before it: output = activation(conv + bias + output),
/// a residual block's sum read and written once.
typedef enum { CVZ_DNNL_NO_ACTIVATION, CVZ_DNNL_RELU, CVZ_DNNL_CLIP } cvz_dnnl_activation_kind;
typedef struct {
  cvz_dnnl_activation_kind kind;
  float low, high;
  int sum;
} cvz_dnnl_activation;

/// Creates the convolution output = activation(conv(input, kernel) +
/// bias) for geometry g (as cvz_grouped_conv2d_forward takes it; groups 1
/// and dilations 1 for a plain one). The kernel (HWIO, (kh, kw, cin /
/// groups, cout)) and bias are copied. With winograd, oneDNN's Winograd
/// algorithm where it has one for the shape (else direct). Returns NULL
/// when oneDNN cannot make it (no engine, out of memory, an unsupported
/// shape).
cvz_dnnl_conv *cvz_dnnl_conv_create(const cvz_grouped_conv_geometry *g,
                                    const float *kernel_hwio, const float *bias,
                                    cvz_dnnl_activation activation, int winograd);

/// oneDNN's name for the implementation it chose, e.g. "jit:avx512_core".
const char *cvz_dnnl_conv_implementation(const cvz_dnnl_conv *conv);

/// Runs the convolution on input (N, cin, H, W) into output (N, cout, OH,
/// OW), N, H and W as at creation. Returns CVZ_STATUS_OK, or
/// CVZ_STATUS_NO_MEMORY when the workspace or oneDNN failed (then the
/// output is unspecified).
int cvz_dnnl_conv_forward(cvz_dnnl_conv *conv, const float *input, float *output);

/// cvz_dnnl_conv_forward with the input laid out as `input_layout` (NULL:
/// NCHW), reordered first when the convolution wants another layout, and
/// the output left in the convolution's own layout
/// (cvz_dnnl_conv_output_layout) when keep_layout is nonzero, else NCHW.
/// A convolution made with a sum reads `output` too: keep_layout must be
/// nonzero and `output` hold the addend in the convolution's layout.
int cvz_dnnl_conv_run(cvz_dnnl_conv *conv, const cvz_dnnl_layout *input_layout,
                      const float *input, int keep_layout, float *output);

/// The layout the convolution writes its output in (the caller destroys
/// it), or NULL when out of memory.
cvz_dnnl_layout *cvz_dnnl_conv_output_layout(const cvz_dnnl_conv *conv);

void cvz_dnnl_conv_destroy(cvz_dnnl_conv *conv);

/// The geometry of a pooling call; pad_bottom and pad_right give the far
/// edge of the padded plane, so that the output extent follows from the
/// others (ceil mode's last partial window included).
typedef struct {
  int batch, channels, in_height, in_width;
  int pool_height, pool_width, stride_y, stride_x;
  int pad_top, pad_left, pad_bottom, pad_right;
  int out_height, out_width;
} cvz_dnnl_pool_geometry;

/// Max pooling (padded cells never win) of inputs laid out as
/// `input_layout` (NULL: NCHW).
typedef struct cvz_dnnl_pool cvz_dnnl_pool;
cvz_dnnl_pool *cvz_dnnl_pool_create(const cvz_dnnl_pool_geometry *g,
                                    const cvz_dnnl_layout *input_layout);
const char *cvz_dnnl_pool_implementation(const cvz_dnnl_pool *pool);
/// The layout the pooling writes (the caller destroys it), or NULL.
cvz_dnnl_layout *cvz_dnnl_pool_output_layout(const cvz_dnnl_pool *pool);
/// Pools input (in the creation's layout) into output, in the pooling's
/// layout when keep_layout is nonzero, else NCHW.
int cvz_dnnl_pool_run(cvz_dnnl_pool *pool, const float *input, int keep_layout, float *output);
void cvz_dnnl_pool_destroy(cvz_dnnl_pool *pool);

/// A Dense layer's inference product output (batch, units) = input
/// (batch, inputs) · kernel (inputs, units) + bias, with the kernel and
/// bias given on each call and read where they lie (no copy is kept).
typedef struct cvz_dnnl_dense cvz_dnnl_dense;
cvz_dnnl_dense *cvz_dnnl_dense_create(int batch, int inputs, int units);
const char *cvz_dnnl_dense_implementation(const cvz_dnnl_dense *dense);
int cvz_dnnl_dense_run(cvz_dnnl_dense *dense, const float *input, const float *kernel,
                       const float *bias, float *output);
void cvz_dnnl_dense_destroy(cvz_dnnl_dense *dense);

/// How many floats a tensor in this layout takes (blocked layouts pad the
/// channels to whole blocks).
size_t cvz_dnnl_layout_floats(const cvz_dnnl_layout *layout);
/// 1 when the layout is plain NCHW.
int cvz_dnnl_layout_is_nchw(const cvz_dnnl_layout *layout);
/// 1 when the two layouts are the same.
int cvz_dnnl_layout_equal(const cvz_dnnl_layout *a, const cvz_dnnl_layout *b);
/// Reorders data laid out as `layout` into NCHW.
int cvz_dnnl_to_nchw(const cvz_dnnl_layout *layout, const float *data, float *nchw);
/// Reorders NCHW data into `layout` (of the same dimensions).
int cvz_dnnl_from_nchw(const cvz_dnnl_layout *layout, const float *nchw, float *data);
/// The channel block of `layout` when it is oneDNN's nChw16c or nChw8c
/// with a channel count that fills whole blocks (no padding): 16 or 8;
/// C when it is channels-last (nhwc); else 0. Such a tensor is, per
/// image, C / block planes of H × W × block floats, so per-channel work
/// and joins along the channels are simple.
int cvz_dnnl_layout_channel_block(const cvz_dnnl_layout *layout);
/// The nChw16c (block 16), nChw8c (block 8) or nhwc (block 0) layout of
/// these dimensions, or NULL; the caller destroys it.
cvz_dnnl_layout *cvz_dnnl_layout_blocked(long n, long c, long h, long w, int block);
void cvz_dnnl_layout_destroy(cvz_dnnl_layout *layout);

#ifdef __cplusplus
}
#endif

#endif
