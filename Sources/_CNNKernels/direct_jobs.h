// Internal: what the direct Conv2D's driver files share. The general
// batch driver (conv2d_direct_driver.c) owns the jobs and hands chunks to
// the single-input-channel (conv2d_direct_single.c) and fused-pooling
// (conv2d_direct_pooled.c) paths.
#ifndef CVZ_DIRECT_JOBS_H
#define CVZ_DIRECT_JOBS_H

#include <stddef.h>

#include "cvz_cnn_kernels.h"

// One forward call, shared by its chunks.
typedef struct {
  const cvz_conv_geometry *g;
  int chunks;  // cvz_direct_chunks(g)
  const float *input, *kernel, *bias;
  int relu;
  float *output;
  // When not NULL, every image's padded HWC copy is kept here for backward.
  float *saved_input;
  // Fused max pooling (NULL without): `output` then receives the pooled
  // maps and `argmax` their winners; the convolution's own output stays in
  // a per-image scratch.
  const cvz_pool_geometry *pool;
  int *argmax;
} cvz_direct_forward_job;

// One backward call: each chunk adds into its own d_kernel/d_bias sums,
// which the caller adds up in chunk order.
typedef struct {
  const cvz_conv_geometry *g;
  int chunks;
  const float *input, *saved_input, *flipped, *d_output, *relu_output;
  float *d_input;
  float *d_kernel[CVZ_CHUNKS], *d_bias[CVZ_CHUNKS];
  // Fused max pooling: d_output is the pooled maps' gradient, relu_output
  // the pooled (rectified) maps, argmax their winners, and `transposed` the
  // kernel as [cout][kh][kw][cin] (when d_input is wanted).
  const cvz_pool_geometry *pool;
  const int *argmax;
  const float *transposed;
} cvz_direct_backward_job;

// The chunks of a call: whole images when the batch has two or more (one
// chunk per image up to CVZ_CHUNKS), else CVZ_CHUNKS bands of the single
// image's rows (VGG's batch of 1).
int cvz_direct_chunks(const cvz_conv_geometry *g);

// Whether the single-input-channel kernels apply: stride 1, up to 3×3 taps.
int cvz_direct_single_channel(const cvz_conv_geometry *g);

// The floats of one image's padded channels-last copy for the forward
// pass: every input row and column that some output reads.
size_t cvz_direct_padded_input_floats(const cvz_conv_geometry *g);

// The kernel in cvz_direct_correlate's packed layout (cvz_free it), or NULL
// without memory.
float *cvz_direct_packed_weights(const float *hwio, int taps, int cin, int cout);

// Runs a forward job and a backward job over their chunks; the backward
// adds the chunk sums into d_kernel_hwio and d_bias in chunk order.
int cvz_direct_run_forward(const cvz_direct_forward_job *job);
int cvz_direct_run_backward(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                            const int *argmax, const float *input, const float *saved_input,
                            const float *kernel_hwio, const float *d_output,
                            const float *relu_output, float *d_input, float *d_kernel_hwio,
                            float *d_bias);

// Chunk bodies of the special paths (CVZ_STATUS_*).
int cvz_direct_single_channel_forward_chunk(const cvz_direct_forward_job *job, int chunk);
int cvz_direct_single_channel_backward_chunk(const cvz_direct_backward_job *job, int chunk);
int cvz_direct_pooled_backward_chunk(const cvz_direct_backward_job *job, int chunk);

#endif
