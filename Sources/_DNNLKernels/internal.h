// What the _DNNLKernels files share: libdnnl's functions (opened at run
// time, in one place: library.c), OpenMP's thread count, the engine, the
// stream and the lock that serialise inference calls, the shared
// workspace, primitive set-up, execution and reorders. Not part of the
// module's public headers.
#ifndef CVZ_DNNL_INTERNAL_H
#define CVZ_DNNL_INTERNAL_H

#include "cvz_dnnl.h"

#include <cvz_cnn_kernels.h>

#include <pthread.h>
#include <stddef.h>

#include <oneapi/dnnl/dnnl.h>

// libdnnl is opened at first use, not linked: the executable can then set
// OpenMP's environment (OMP_WAIT_POLICY) before libgomp reads it, and a
// machine without libdnnl runs the hand-written kernels. Each function
// below (every one the inference and training files call) is called
// through a pointer of its own name.
#define CVZ_DNNL_FUNCTIONS(X) \
  X(dnnl_version) \
  X(dnnl_engine_create) \
  X(dnnl_engine_destroy) \
  X(dnnl_stream_create) \
  X(dnnl_stream_destroy) \
  X(dnnl_get_effective_cpu_isa) \
  X(dnnl_memory_desc_equal) \
  X(dnnl_reorder_primitive_desc_create) \
  X(dnnl_primitive_create) \
  X(dnnl_primitive_desc_destroy) \
  X(dnnl_memory_create) \
  X(dnnl_primitive_execute) \
  X(dnnl_stream_wait) \
  X(dnnl_primitive_destroy) \
  X(dnnl_memory_destroy) \
  X(dnnl_memory_desc_init_by_tag) \
  X(dnnl_memory_desc_init_by_strides) \
  X(dnnl_dilated_convolution_forward_desc_init) \
  X(dnnl_convolution_forward_desc_init) \
  X(dnnl_convolution_backward_data_desc_init) \
  X(dnnl_convolution_backward_weights_desc_init) \
  X(dnnl_pooling_forward_desc_init) \
  X(dnnl_inner_product_forward_desc_init) \
  X(dnnl_primitive_attr_create) \
  X(dnnl_primitive_attr_set_scratchpad_mode) \
  X(dnnl_post_ops_create) \
  X(dnnl_post_ops_append_eltwise) \
  X(dnnl_post_ops_append_sum) \
  X(dnnl_primitive_attr_set_post_ops) \
  X(dnnl_post_ops_destroy) \
  X(dnnl_primitive_desc_create) \
  X(dnnl_primitive_attr_destroy) \
  X(dnnl_primitive_desc_query) \
  X(dnnl_primitive_desc_query_md) \
  X(dnnl_memory_desc_get_size)

// The pointers are defined in library.c (CVZ_DNNL_LOADER) and declared
// everywhere else, before the names below come to mean them.
#ifdef CVZ_DNNL_LOADER
#define CVZ_DNNL_POINTER(name) __attribute__((visibility("hidden"))) __typeof__(name) *loaded_##name;
#else
#define CVZ_DNNL_POINTER(name) \
  extern __attribute__((visibility("hidden"))) __typeof__(name) *loaded_##name;
#endif
CVZ_DNNL_FUNCTIONS(CVZ_DNNL_POINTER)
#define dnnl_version loaded_dnnl_version
#define dnnl_engine_create loaded_dnnl_engine_create
#define dnnl_engine_destroy loaded_dnnl_engine_destroy
#define dnnl_stream_create loaded_dnnl_stream_create
#define dnnl_stream_destroy loaded_dnnl_stream_destroy
#define dnnl_get_effective_cpu_isa loaded_dnnl_get_effective_cpu_isa
#define dnnl_memory_desc_equal loaded_dnnl_memory_desc_equal
#define dnnl_reorder_primitive_desc_create loaded_dnnl_reorder_primitive_desc_create
#define dnnl_primitive_create loaded_dnnl_primitive_create
#define dnnl_primitive_desc_destroy loaded_dnnl_primitive_desc_destroy
#define dnnl_memory_create loaded_dnnl_memory_create
#define dnnl_primitive_execute loaded_dnnl_primitive_execute
#define dnnl_stream_wait loaded_dnnl_stream_wait
#define dnnl_primitive_destroy loaded_dnnl_primitive_destroy
#define dnnl_memory_destroy loaded_dnnl_memory_destroy
#define dnnl_memory_desc_init_by_tag loaded_dnnl_memory_desc_init_by_tag
#define dnnl_memory_desc_init_by_strides loaded_dnnl_memory_desc_init_by_strides
#define dnnl_dilated_convolution_forward_desc_init loaded_dnnl_dilated_convolution_forward_desc_init
#define dnnl_convolution_forward_desc_init loaded_dnnl_convolution_forward_desc_init
#define dnnl_convolution_backward_data_desc_init loaded_dnnl_convolution_backward_data_desc_init
#define dnnl_convolution_backward_weights_desc_init \
  loaded_dnnl_convolution_backward_weights_desc_init
#define dnnl_pooling_forward_desc_init loaded_dnnl_pooling_forward_desc_init
#define dnnl_inner_product_forward_desc_init loaded_dnnl_inner_product_forward_desc_init
#define dnnl_primitive_attr_create loaded_dnnl_primitive_attr_create
#define dnnl_primitive_attr_set_scratchpad_mode loaded_dnnl_primitive_attr_set_scratchpad_mode
#define dnnl_post_ops_create loaded_dnnl_post_ops_create
#define dnnl_post_ops_append_eltwise loaded_dnnl_post_ops_append_eltwise
#define dnnl_post_ops_append_sum loaded_dnnl_post_ops_append_sum
#define dnnl_primitive_attr_set_post_ops loaded_dnnl_primitive_attr_set_post_ops
#define dnnl_post_ops_destroy loaded_dnnl_post_ops_destroy
#define dnnl_primitive_desc_create loaded_dnnl_primitive_desc_create
#define dnnl_primitive_attr_destroy loaded_dnnl_primitive_attr_destroy
#define dnnl_primitive_desc_query loaded_dnnl_primitive_desc_query
#define dnnl_primitive_desc_query_md loaded_dnnl_primitive_desc_query_md
#define dnnl_memory_desc_get_size loaded_dnnl_memory_desc_get_size

#define CVZ_HIDDEN __attribute__((visibility("hidden")))

/// A tensor's layout: oneDNN's memory descriptor.
struct cvz_dnnl_layout {
  dnnl_memory_desc_t md;
};

/// Set once by cvz_dnnl_available(); NULL when libdnnl is missing. The
/// engine is shared by inference and training; the stream is inference's.
CVZ_HIDDEN extern dnnl_engine_t cvz_dnnl_engine;
CVZ_HIDDEN extern dnnl_stream_t cvz_dnnl_stream;

/// omp_set_num_threads and omp_get_max_threads of the OpenMP runtime
/// libdnnl was built on (libgomp on Debian), found with it; NULL without.
CVZ_HIDDEN extern void (*cvz_dnnl_set_openmp_threads)(int);
CVZ_HIDDEN extern int (*cvz_dnnl_get_openmp_threads)(void);

/// Locks every call (the stream and the workspace are shared) and sets
/// OpenMP's thread count for it; cvz_dnnl_leave unlocks.
CVZ_HIDDEN void cvz_dnnl_enter(void);
CVZ_HIDDEN void cvz_dnnl_leave(void);

/// The shared buffers, reused by every call under the lock.
enum { CVZ_DNNL_SOURCE, CVZ_DNNL_DESTINATION, CVZ_DNNL_SCRATCHPAD, CVZ_DNNL_WORKSPACES };

/// Workspace `index` of at least `bytes` (NULL for 0 bytes or out of
/// memory; *failed set then). Called under the lock.
CVZ_HIDDEN void *cvz_dnnl_workspace(int index, size_t bytes, int *failed);

/// A reorder primitive from `from` to `to`, or NULL when they are equal
/// (*failed set when one was needed but could not be made).
CVZ_HIDDEN dnnl_primitive_t cvz_dnnl_make_reorder(const dnnl_memory_desc_t *from,
                                                   const dnnl_memory_desc_t *to, int *failed);

/// Reorders `from_data` (laid out as `from`) into `to_data` (as `to`) on
/// the stream, without waiting; 0, or 1 on failure. Called under the lock.
CVZ_HIDDEN int cvz_dnnl_reorder(const dnnl_memory_desc_t *from, const void *from_data,
                                const dnnl_memory_desc_t *to, void *to_data);

/// Runs `primitive` with `count` (argument, memory descriptor, data)
/// triples, making and destroying the memory objects; 0, or 1 on failure.
/// A NULL descriptor skips the argument. Called under the lock.
typedef struct {
  int argument;
  const dnnl_memory_desc_t *md;
  const void *data;
} cvz_dnnl_argument;
CVZ_HIDDEN int cvz_dnnl_execute(dnnl_primitive_t primitive, int count,
                                const cvz_dnnl_argument *arguments);

/// cvz_dnnl_execute and cvz_dnnl_reorder on `stream` instead of the
/// shared one (training's chunks each have their own), without waiting.
CVZ_HIDDEN int cvz_dnnl_execute_on(dnnl_stream_t stream, dnnl_primitive_t primitive, int count,
                                   const cvz_dnnl_argument *arguments);
CVZ_HIDDEN int cvz_dnnl_reorder_on(dnnl_stream_t stream, const dnnl_memory_desc_t *from,
                                   const void *from_data, const dnnl_memory_desc_t *to,
                                   void *to_data);

/// The far pads (bottom, right) that give g's output extent for a window
/// of `extent_y` × `extent_x` input cells (the kernel's, dilated): the
/// geometry's implicit "reads past the input are zero", or none when the
/// last window ends before the input does (the floor in the extent's
/// formula then drops the rest). 0 when no pads give that extent, else 1.
CVZ_HIDDEN int cvz_dnnl_far_pads(const cvz_conv_geometry *g, int extent_y, int extent_x,
                                 dnnl_dims_t pad_r);

/// The primitive descriptor of operation `desc` on the engine, with a
/// user-managed scratchpad (every caller passes its own buffer) and, when
/// relu is nonzero, a ReLU post-op; `hint` is the forward descriptor a
/// backward pass is made for (NULL for forward). NULL on failure.
CVZ_HIDDEN dnnl_primitive_desc_t cvz_dnnl_describe(const_dnnl_op_desc_t desc, int relu,
                                                   const_dnnl_primitive_desc_t hint);

/// Makes `pd`'s primitive into *primitive and copies out its
/// implementation's name (into `implementation`, size 64) and its
/// scratchpad's layout; 0, or 1 on failure. The caller still destroys pd.
CVZ_HIDDEN int cvz_dnnl_make_primitive(const_dnnl_primitive_desc_t pd,
                                       dnnl_primitive_t *primitive, char *implementation,
                                       dnnl_memory_desc_t *scratchpad);

/// `md` as a new layout the caller owns, or NULL.
CVZ_HIDDEN cvz_dnnl_layout *cvz_dnnl_layout_of(const dnnl_memory_desc_t *md);

/// The NCHW descriptor of these dimensions; 0 or 1 on failure.
CVZ_HIDDEN int cvz_dnnl_nchw(dnnl_memory_desc_t *md, long n, long c, long h, long w);

/// The layout of `md` (NCHW, nChw16c or nChw8c with whole blocks, or
/// nhwc) for other dimensions into *out (whole blocks for those too); 0,
/// or 1 when `md` is none of those layouts.
CVZ_HIDDEN int cvz_dnnl_like(const dnnl_memory_desc_t *md, long n, long c, long h, long w,
                             dnnl_memory_desc_t *out);

/// The layout `md` (an (N, C, H, W) tensor in NCHW, nChw16c or nChw8c
/// with whole blocks, or nhwc) for `images` images instead of N into
/// *out: in each of them a tensor is its images one after the other, the
/// same C·H·W floats each, so that images begin..<end of a tensor are the
/// floats from begin·C·H·W on, in the layout for end − begin images. 0,
/// or 1 when `md` is none of those layouts.
CVZ_HIDDEN int cvz_dnnl_for_images(const dnnl_memory_desc_t *md, long images,
                                   dnnl_memory_desc_t *out);

// Max pooling folded into training convolutions (train_pool.c).

/// Offsets in one image of a layout cvz_dnnl_for_images takes: channel c,
/// row y, column x at (c / block)·channel + y·row + x·column + c % block.
typedef struct {
  long channel, row, column;
  int block;
} plane_walk;

/// The walk of `md`, an (N, C, H, W) layout whose images follow each other
/// (C·H·W floats each) with at most a channel block; 0 when it is not one.
CVZ_HIDDEN int cvz_dnnl_walk_of(const dnnl_memory_desc_t *md, plane_walk *w);

/// Max-pools `images` images of a convolution's output `y` (geometry g, in
/// a layout walked by w) into `pooled` (in the same kind of layout, walked
/// by pw), each cell's winner's offset in its image into `winners` (at the
/// cell's place in pooled): the first maximum of its window in row-major
/// order, padding never counting, as cvz_max_pool_forward. With `relu` (y
/// rectified), a cell whose maximum is not positive gets winner -1: the
/// ReLU cut its gradient.
CVZ_HIDDEN void cvz_dnnl_max_pool(const cvz_conv_geometry *g, const plane_walk *w,
                                  const plane_walk *pw, const cvz_pool_geometry *p,
                                  const float *y, int images, int relu, float *pooled,
                                  int32_t *winners);

/// The gradient of the convolution's output (its layout, walked by w,
/// `images` images, written whole into dy) from the pooled gradient (in
/// the pooled layout walked by pw, as the winners): each pooled cell's
/// gradient added at its winner (cvz_dnnl_max_pool's; none for -1).
CVZ_HIDDEN void cvz_dnnl_max_unpool(const cvz_conv_geometry *g, const plane_walk *w,
                                    const plane_walk *pw, const cvz_pool_geometry *p,
                                    const int32_t *winners, const float *d_pooled, int images,
                                    float *dy);

#endif
