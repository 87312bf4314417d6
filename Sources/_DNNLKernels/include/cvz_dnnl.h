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
// takes the CPU from the thread the next region waits for: the convviz
// executable sets OMP_WAIT_POLICY=passive unless the user set it
// (resnet18 at batch 1 on 2 threads and a loaded 2-core machine: 60–110
// ms a pass instead of 420–1000 ms).
//
// Layout: the caller's tensors are NCHW float32 and its kernels HWIO
// (cvz_cnn_kernels.h). A convolution is created once per shape: the
// kernel is reordered then into the layout oneDNN's chosen implementation
// prefers (blocked, format `any`) and kept; the input and output are
// reordered on each call when that implementation wants them blocked.
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

/// The instruction set oneDNN's kernels use on this CPU (after any
/// DNNL_MAX_CPU_ISA cap), e.g. "avx512_core", "avx2", or "none".
const char *cvz_dnnl_isa(void);

/// oneDNN's version, e.g. "2.6.3".
const char *cvz_dnnl_version(void);

/// A convolution primitive for one geometry, with its weights.
typedef struct cvz_dnnl_conv cvz_dnnl_conv;

/// Creates the convolution output = conv(input, kernel) + bias, rectified
/// when relu is nonzero, for geometry g (as cvz_grouped_conv2d_forward
/// takes it; groups 1 and dilations 1 for a plain one). The kernel (HWIO,
/// (kh, kw, cin / groups, cout)) and bias are copied. Returns NULL when
/// oneDNN cannot make it (no engine, out of memory, an unsupported shape).
cvz_dnnl_conv *cvz_dnnl_conv_create(const cvz_grouped_conv_geometry *g,
                                    const float *kernel_hwio, const float *bias, int relu);

/// oneDNN's name for the implementation it chose, e.g. "jit:avx512_core".
const char *cvz_dnnl_conv_implementation(const cvz_dnnl_conv *conv);

/// Runs the convolution on input (N, cin, H, W) into output (N, cout, OH,
/// OW), N, H and W as at creation. Returns CVZ_STATUS_OK, or
/// CVZ_STATUS_NO_MEMORY when the workspace or oneDNN failed (then the
/// output is unspecified).
int cvz_dnnl_conv_forward(cvz_dnnl_conv *conv, const float *input, float *output);

void cvz_dnnl_conv_destroy(cvz_dnnl_conv *conv);

#ifdef __cplusplus
}
#endif

#endif
