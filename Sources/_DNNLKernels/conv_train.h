// What conv_train.c (the primitives) and conv_train_run.c (running them
// chunk by chunk) share: the convolution's state. Not a public header.
#ifndef CVZ_CONV_TRAIN_H
#define CVZ_CONV_TRAIN_H

#include "cvz_dnnl_train.h"
#include "internal.h"

enum { PASSES = 3 };

/// A primitive with the layouts of its tensors, made for chunks of one size.
typedef struct {
  int batch;  // images in a chunk of this size
  dnnl_primitive_t pass[PASSES];
  char implementation[PASSES][64];
  /// The chunk's NCHW input and output.
  dnnl_memory_desc_t user_src, user_dst;
  /// Forward: source, weights, destination.
  dnnl_memory_desc_t f_src, f_weights, f_dst;
  /// Backward data: diff destination, weights, diff source.
  dnnl_memory_desc_t d_dst, d_weights, d_src;
  /// Backward weights: source, diff destination, diff weights.
  dnnl_memory_desc_t w_src, w_dst, w_weights;
  /// Each pass's scratchpad (its size may be 0).
  dnnl_memory_desc_t scratchpad[PASSES];
} chunk_primitives;

struct cvz_dnnl_train_conv {
  cvz_conv_geometry g;
  int chunks, relu, input_gradient;
  /// Chunks hold ⌊N / chunks⌋ or ⌈N / chunks⌉ images: one set each.
  chunk_primitives sizes[2];
  int size_count;
  /// The HWIO kernel and the plain bias, as oneDNN sees them.
  dnnl_memory_desc_t user_weights, bias;
  /// One stream per chunk index (a chunk runs on one thread at a time).
  dnnl_stream_t streams[CVZ_CHUNKS];
  /// The last forward's input (the caller's pointer) and each chunk's copy
  /// of it in the forward layout, kept for the backward weights pass of
  /// the same input when its layout is the same (one reorder fewer a
  /// chunk); freed by that backward or replaced by the next forward.
  const float *kept_input;
  void *kept_src[CVZ_CHUNKS];
  /// The forward's output layout for the whole batch, which every chunk's
  /// forward writes in (its images at their place): valid when
  /// keeps_output (cvz_dnnl_train_conv_output_layout).
  dnnl_memory_desc_t output_whole;
  int keeps_output;
  /// Where a channel, row and column of an image lie in the forward's
  /// output, for the max pooling folded in; valid when pools.
  plane_walk walk;
  int pools;
};

/// Images begin..<end of chunk `chunk`.
CVZ_HIDDEN void cvz_train_chunk_bounds(const cvz_dnnl_train_conv *c, int chunk, int *begin,
                                       int *end);

/// Frees the forward's kept copies of its input.
CVZ_HIDDEN void cvz_train_drop_kept(cvz_dnnl_train_conv *c);

#endif
