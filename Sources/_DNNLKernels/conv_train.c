// Training convolutions on oneDNN's C API, chunk by chunk; see
// cvz_dnnl_train.h.
#include "cvz_dnnl_train.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

/// Whether training can run on oneDNN: the library (library.c) and the
/// OpenMP runtime it was built on, without which the single-threaded
/// chunks cannot be promised.
static int usable(void) {
  return cvz_dnnl_available() && cvz_dnnl_set_openmp_threads && cvz_dnnl_get_openmp_threads;
}

const char *cvz_dnnl_train_isa(void) { return usable() ? cvz_dnnl_isa() : "none"; }

// MARK: Primitives for one chunk size

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

static int chunk_count(int batch) { return batch < CVZ_CHUNKS ? (batch < 1 ? 1 : batch) : CVZ_CHUNKS; }

static void chunk_bounds(const cvz_dnnl_train_conv *c, int chunk, int *begin, int *end) {
  long b, e;
  cvz_chunk_range(c->g.batch, c->chunks, chunk, &b, &e);
  *begin = (int)b;
  *end = (int)e;
}

/// Takes pd's primitive, implementation name and scratchpad into set pass
/// `pass`; 0 on failure.
static int keep(chunk_primitives *set, int pass, dnnl_primitive_desc_t pd) {
  return !cvz_dnnl_make_primitive(pd, &set->pass[pass], set->implementation[pass],
                                  &set->scratchpad[pass]);
}

static const dnnl_memory_desc_t *query(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
  return dnnl_primitive_desc_query_md(pd, what, 0);
}

/// The primitives for chunks of `batch` images, with algorithm `algorithm`
/// for every pass, falling back to direct per pass; 0 on failure.
static int make_set(cvz_dnnl_train_conv *c, chunk_primitives *set, int batch, int winograd) {
  const cvz_conv_geometry *g = &c->g;
  set->batch = batch;
  dnnl_dims_t pad_r;
  if (!cvz_dnnl_far_pads(g, g->kernel_height, g->kernel_width, pad_r)) return 0;
  dnnl_dims_t src_dims = {batch, g->in_channels, g->in_height, g->in_width};
  dnnl_dims_t dst_dims = {batch, g->out_channels, g->out_height, g->out_width};
  dnnl_dims_t weight_dims = {g->out_channels, g->in_channels, g->kernel_height, g->kernel_width};
  dnnl_memory_desc_t src, dst, weights;
  if (dnnl_memory_desc_init_by_tag(&src, 4, src_dims, dnnl_f32, dnnl_format_tag_any) ||
      dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any) ||
      dnnl_memory_desc_init_by_tag(&weights, 4, weight_dims, dnnl_f32,
                                         dnnl_format_tag_any) ||
      dnnl_memory_desc_init_by_tag(&set->user_src, 4, src_dims, dnnl_f32, dnnl_nchw) ||
      dnnl_memory_desc_init_by_tag(&set->user_dst, 4, dst_dims, dnnl_f32, dnnl_nchw))
    return 0;
  dnnl_dims_t strides = {g->stride_y, g->stride_x};
  dnnl_dims_t pad_l = {g->pad_top, g->pad_left};
  dnnl_alg_kind_t algorithms[2] = {winograd ? dnnl_convolution_winograd : dnnl_convolution_direct,
                                   dnnl_convolution_direct};
  int tries = winograd ? 2 : 1;

  dnnl_primitive_desc_t forward = NULL;
  for (int t = 0; t < tries && !forward; t++) {
    dnnl_convolution_desc_t desc;
    if (dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, algorithms[t], &src,
                                                 &weights, &c->bias, &dst, strides, pad_l,
                                                 pad_r) == dnnl_success)
      forward = cvz_dnnl_describe(&desc, c->relu, NULL);
  }
  if (!forward) return 0;
  set->f_src = *query(forward, dnnl_query_src_md);
  set->f_weights = *query(forward, dnnl_query_weights_md);
  set->f_dst = *query(forward, dnnl_query_dst_md);
  int ok = keep(set, CVZ_DNNL_PASS_FORWARD, forward);

  for (int t = 0; t < tries && ok && c->input_gradient && !set->pass[CVZ_DNNL_PASS_BACKWARD_DATA];
       t++) {
    dnnl_convolution_desc_t desc;
    if (dnnl_convolution_backward_data_desc_init(&desc, algorithms[t], &src, &weights, &dst,
                                                       strides, pad_l, pad_r) != dnnl_success)
      continue;
    dnnl_primitive_desc_t pd = cvz_dnnl_describe(&desc, 0, forward);
    if (!pd) continue;
    set->d_dst = *query(pd, dnnl_query_diff_dst_md);
    set->d_weights = *query(pd, dnnl_query_weights_md);
    set->d_src = *query(pd, dnnl_query_diff_src_md);
    ok = keep(set, CVZ_DNNL_PASS_BACKWARD_DATA, pd);
    dnnl_primitive_desc_destroy(pd);
  }
  ok = ok && (!c->input_gradient || set->pass[CVZ_DNNL_PASS_BACKWARD_DATA]);

  for (int t = 0; t < tries && ok && !set->pass[CVZ_DNNL_PASS_BACKWARD_WEIGHTS]; t++) {
    dnnl_convolution_desc_t desc;
    if (dnnl_convolution_backward_weights_desc_init(&desc, algorithms[t], &src, &weights,
                                                          &c->bias, &dst, strides, pad_l,
                                                          pad_r) != dnnl_success)
      continue;
    dnnl_primitive_desc_t pd = cvz_dnnl_describe(&desc, 0, forward);
    if (!pd) continue;
    set->w_src = *query(pd, dnnl_query_src_md);
    set->w_dst = *query(pd, dnnl_query_diff_dst_md);
    set->w_weights = *query(pd, dnnl_query_diff_weights_md);
    // The diff bias must be the plain vector the caller adds up.
    ok = dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(
                                          pd, dnnl_query_diff_weights_md, 1),
                                      &c->bias) &&
         keep(set, CVZ_DNNL_PASS_BACKWARD_WEIGHTS, pd);
    dnnl_primitive_desc_destroy(pd);
  }
  dnnl_primitive_desc_destroy(forward);
  return ok && set->pass[CVZ_DNNL_PASS_BACKWARD_WEIGHTS];
}

/// Frees the forward's kept copies of its input.
static void drop_kept(cvz_dnnl_train_conv *c) {
  for (int i = 0; i < CVZ_CHUNKS; i++) {
    cvz_free(c->kept_src[i]);
    c->kept_src[i] = NULL;
  }
  c->kept_input = NULL;
}

void cvz_dnnl_train_conv_destroy(cvz_dnnl_train_conv *c) {
  if (!c) return;
  drop_kept(c);
  for (int s = 0; s < c->size_count; s++)
    for (int p = 0; p < PASSES; p++)
      if (c->sizes[s].pass[p]) dnnl_primitive_destroy(c->sizes[s].pass[p]);
  for (int i = 0; i < CVZ_CHUNKS; i++)
    if (c->streams[i]) dnnl_stream_destroy(c->streams[i]);
  cvz_free(c);
}

cvz_dnnl_train_conv *cvz_dnnl_train_conv_create(const cvz_conv_geometry *g, int relu,
                                                int winograd, int input_gradient) {
  if (!usable() || g->batch < 1) return NULL;
  cvz_dnnl_train_conv *c = cvz_alloc_zeroed(sizeof *c);
  if (!c) return NULL;
  c->g = *g;
  c->relu = relu != 0;
  c->input_gradient = input_gradient != 0;
  c->chunks = chunk_count(g->batch);
  // oneDNN picks its blocking for the thread count it sees when a
  // primitive is made: one, as every chunk runs on one thread.
  int threads = cvz_dnnl_get_openmp_threads();
  cvz_dnnl_set_openmp_threads(1);
  dnnl_dims_t bias_dims = {g->out_channels};
  dnnl_dims_t hwio_dims = {g->out_channels, g->in_channels, g->kernel_height, g->kernel_width};
  dnnl_dims_t hwio_strides = {1, g->out_channels,
                              (dnnl_dim_t)g->kernel_width * g->in_channels * g->out_channels,
                              (dnnl_dim_t)g->in_channels * g->out_channels};
  int ok = dnnl_memory_desc_init_by_tag(&c->bias, 1, bias_dims, dnnl_f32, dnnl_a) ==
               dnnl_success &&
           dnnl_memory_desc_init_by_strides(&c->user_weights, 4, hwio_dims, dnnl_f32,
                                                  hwio_strides) == dnnl_success;
  for (int chunk = 0; chunk < c->chunks && ok; chunk++) {
    int begin, end;
    chunk_bounds(c, chunk, &begin, &end);
    int found = 0;
    for (int s = 0; s < c->size_count; s++) found = found || c->sizes[s].batch == end - begin;
    if (found) continue;
    if (c->size_count == 2) {
      ok = 0;
      break;
    }
    ok = make_set(c, &c->sizes[c->size_count++], end - begin, winograd);
  }
  // The output stays in the forward's layout when that is one a tensor can
  // be cut into images in and every chunk size's forward writes it.
  c->keeps_output = ok && !cvz_dnnl_for_images(&c->sizes[0].f_dst, g->batch, &c->output_whole);
  for (int s = 0; s < c->size_count && c->keeps_output; s++) {
    dnnl_memory_desc_t chunk;
    c->keeps_output = !cvz_dnnl_for_images(&c->output_whole, c->sizes[s].batch, &chunk) &&
                      dnnl_memory_desc_equal(&chunk, &c->sizes[s].f_dst);
  }
  // Max pooling folds in when every chunk size's output walks the same.
  c->pools = ok && cvz_dnnl_walk_of(&c->sizes[0].f_dst, &c->walk);
  for (int s = 1; s < c->size_count && c->pools; s++) {
    plane_walk other;
    c->pools = cvz_dnnl_walk_of(&c->sizes[s].f_dst, &other) &&
               !memcmp(&other, &c->walk, sizeof other);
  }
  for (int i = 0; i < c->chunks && ok; i++)
    ok = dnnl_stream_create(&c->streams[i], cvz_dnnl_engine, dnnl_stream_default_flags) ==
         dnnl_success;
  cvz_dnnl_set_openmp_threads(threads);
  if (!ok) {
    cvz_dnnl_train_conv_destroy(c);
    return NULL;
  }
  return c;
}

int cvz_dnnl_train_takes_layout(const cvz_dnnl_layout *layout) {
  dnnl_memory_desc_t one;
  return usable() && !cvz_dnnl_for_images(&layout->md, 1, &one);
}

cvz_dnnl_layout *cvz_dnnl_train_conv_output_layout(const cvz_dnnl_train_conv *c) {
  return c->keeps_output ? cvz_dnnl_layout_of(&c->output_whole) : NULL;
}

int cvz_dnnl_train_conv_pools(const cvz_dnnl_train_conv *c) { return c->pools; }

const char *cvz_dnnl_train_conv_implementation(const cvz_dnnl_train_conv *c, int pass) {
  if (pass < 0 || pass >= PASSES || c->size_count == 0) return "";
  return c->sizes[0].implementation[pass];
}

// MARK: Running

/// Reorders from → to on stream (equal layouts: a copy) and waits; 0 on
/// failure.
static int reorder(dnnl_stream_t stream, const dnnl_memory_desc_t *from, const void *source,
                   const dnnl_memory_desc_t *to, void *destination) {
  return !cvz_dnnl_reorder_on(stream, from, source, to, destination) &&
         dnnl_stream_wait(stream) == dnnl_success;
}

/// Executes `primitive` on `count` arguments and waits; 0 on failure.
static int execute(dnnl_stream_t stream, dnnl_primitive_t primitive,
                   const cvz_dnnl_argument *arguments, int count) {
  return !cvz_dnnl_execute_on(stream, primitive, count, arguments) &&
         dnnl_stream_wait(stream) == dnnl_success;
}

/// A buffer in layout `md` for a tensor the caller holds at `user` in
/// layout `user_md`: `user` itself when the layouts are equal, else new
/// memory, filled from `user` when fill. NULL without memory.
static void *in_layout(dnnl_stream_t stream, const dnnl_memory_desc_t *user_md, const void *user,
                       const dnnl_memory_desc_t *md, int fill, int *ok) {
  if (dnnl_memory_desc_equal(user_md, md)) return (void *)user;
  void *buffer = cvz_alloc(dnnl_memory_desc_get_size(md));
  if (!buffer || (fill && !reorder(stream, user_md, user, md, buffer))) *ok = 0;
  return buffer;
}

static void release(const void *buffer, const void *user) {
  if (buffer != user) cvz_free((void *)buffer);
}

/// A pass's scratchpad argument (count 0 when it needs none).
static int scratchpad_argument(const chunk_primitives *set, int pass, void **buffer,
                               cvz_dnnl_argument *out, int *ok) {
  size_t bytes = dnnl_memory_desc_get_size(&set->scratchpad[pass]);
  *buffer = NULL;
  if (!bytes) return 0;
  *buffer = cvz_alloc(bytes);
  if (!*buffer) *ok = 0;
  *out = (cvz_dnnl_argument){DNNL_ARG_SCRATCHPAD, &set->scratchpad[pass], *buffer};
  return 1;
}

typedef struct {
  cvz_dnnl_train_conv *c;
  /// The whole batch's layouts of the input (and its gradient) and of the
  /// output (and its gradient and the rectified output); NULL: NCHW.
  const dnnl_memory_desc_t *input_layout, *output_layout;
  const float *input, *bias, *d_output, *relu_output;
  float *output, *d_input;
  /// With max pooling folded: its geometry, and each pooled cell's winner
  /// (its offset in its image's unpooled output, in the forward's layout).
  const cvz_pool_geometry *pool;
  int32_t *found_winners;
  const int32_t *winners;
  /// Per set: the weights in its forward or backward-data layout.
  const void *weights[2];
  /// Per chunk: the HWIO weight gradient, then the bias gradient.
  float *partials;
} job;

static size_t floats_per_image(int channels, int height, int width) {
  return (size_t)channels * height * width;
}

/// A chunk's layout: that of `whole` for the chunk's `images` images, or
/// `plain` (the set's NCHW) when whole is NULL; 0 on failure.
static int chunk_layout(const dnnl_memory_desc_t *whole, const dnnl_memory_desc_t *plain,
                        int images, dnnl_memory_desc_t *out) {
  if (!whole) {
    *out = *plain;
    return 1;
  }
  return !cvz_dnnl_for_images(whole, images, out);
}

static const chunk_primitives *set_of(const cvz_dnnl_train_conv *c, int batch, int *index) {
  *index = c->sizes[0].batch == batch ? 0 : 1;
  return &c->sizes[*index];
}

// MARK: Max pooling folded in

/// The layout of a chunk of `images` pooled images in the kind of the
/// forward's output layout (md) and its walk; 0 on failure.
static int pooled_layout(const chunk_primitives *set, const cvz_conv_geometry *g,
                         const cvz_pool_geometry *p, int images, dnnl_memory_desc_t *md,
                         plane_walk *walk) {
  return !cvz_dnnl_like(&set->f_dst, images, g->out_channels, p->out_height, p->out_width, md) &&
         cvz_dnnl_walk_of(md, walk);
}

/// Max-pools a chunk's `images` images (from `begin`), whose output `dst`
/// the forward left in its layout, into the job's NCHW pooled output and
/// winners: pooled in the forward's kind of layout (the channels of a
/// block one vector), then reordered to NCHW, a quarter of the floats for
/// 2×2 windows. 0 on failure.
static int pool_chunk(const job *j, const chunk_primitives *set, dnnl_stream_t stream,
                      const float *dst, int begin, int images) {
  const cvz_conv_geometry *g = &j->c->g;
  const cvz_pool_geometry *p = j->pool;
  const long cells = (long)g->out_channels * p->out_height * p->out_width;
  float *pooled = j->output + begin * cells;
  dnnl_memory_desc_t md, nchw;
  plane_walk walk;
  int ok = pooled_layout(set, g, p, images, &md, &walk) &&
           !cvz_dnnl_nchw(&nchw, images, g->out_channels, p->out_height, p->out_width);
  void *blocked = ok ? in_layout(stream, &nchw, pooled, &md, 0, &ok) : NULL;
  if (ok) {
    cvz_dnnl_max_pool(g, &j->c->walk, &walk, p, dst, images, blocked,
                      j->found_winners + begin * cells);
    ok = blocked == pooled || reorder(stream, &md, blocked, &nchw, pooled);
  }
  release(blocked, pooled);
  return ok;
}

static int forward_chunk(void *context, int chunk) {
  const job *j = context;
  const cvz_dnnl_train_conv *c = j->c;
  const cvz_conv_geometry *g = &c->g;
  cvz_dnnl_set_openmp_threads(1);
  int begin, end, s;
  chunk_bounds(c, chunk, &begin, &end);
  const chunk_primitives *set = set_of(c, end - begin, &s);
  const float *input =
      j->input + (size_t)begin * floats_per_image(g->in_channels, g->in_height, g->in_width);
  float *output =  // pooled, the chunk's pooled cells are written below instead
      j->pool ? NULL
              : j->output +
                    (size_t)begin * floats_per_image(g->out_channels, g->out_height, g->out_width);
  dnnl_stream_t stream = c->streams[chunk];
  dnnl_memory_desc_t user_src, user_dst;
  if (!chunk_layout(j->input_layout, &set->user_src, end - begin, &user_src) ||
      !chunk_layout(j->output_layout, &set->user_dst, end - begin, &user_dst))
    return CVZ_STATUS_NO_MEMORY;
  int ok = 1;
  void *src = in_layout(stream, &user_src, input, &set->f_src, 1, &ok);
  // Pooled: the unpooled output only lives here, in the forward's layout.
  void *dst = j->pool ? cvz_alloc(dnnl_memory_desc_get_size(&set->f_dst))
                      : in_layout(stream, &user_dst, output, &set->f_dst, 0, &ok);
  if (!dst) ok = 0;
  void *scratch;
  cvz_dnnl_argument args[5] = {{DNNL_ARG_SRC, &set->f_src, src},
                      {DNNL_ARG_WEIGHTS, &set->f_weights, j->weights[s]},
                      {DNNL_ARG_BIAS, &c->bias, j->bias},
                      {DNNL_ARG_DST, &set->f_dst, dst}};
  int count = 4 + scratchpad_argument(set, CVZ_DNNL_PASS_FORWARD, &scratch, &args[4], &ok);
  ok = ok && execute(stream, set->pass[CVZ_DNNL_PASS_FORWARD], args, count);
  if (j->pool) ok = ok && pool_chunk(j, set, stream, dst, begin, end - begin);
  else ok = ok && (dst == output || reorder(stream, &set->f_dst, dst, &user_dst, output));
  if (ok && src != input && dnnl_memory_desc_equal(&set->f_src, &set->w_src))
    j->c->kept_src[chunk] = src;  // for backward weights (drop_kept frees it)
  else
    release(src, input);
  release(dst, output);
  cvz_free(scratch);
  return ok ? CVZ_STATUS_OK : CVZ_STATUS_NO_MEMORY;
}

/// out = dy where y > 0, else 0: the gradient through a ReLU whose output
/// was y. Both inputs are loaded unconditionally so that the compiler makes
/// it a vector select rather than a branch per element (a branch it
/// mispredicts about half the time: ~10% of a CIFAR epoch before).
static void relu_mask(const float *restrict y, const float *restrict dy, float *restrict out,
                      size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float d = dy[i];
    out[i] = y[i] > 0 ? d : 0.0f;
  }
}

static int backward_chunk(void *context, int chunk) {
  const job *j = context;
  const cvz_dnnl_train_conv *c = j->c;
  const cvz_conv_geometry *g = &c->g;
  cvz_dnnl_set_openmp_threads(1);
  int begin, end, s;
  chunk_bounds(c, chunk, &begin, &end);
  const chunk_primitives *set = set_of(c, end - begin, &s);
  const size_t in_floats = floats_per_image(g->in_channels, g->in_height, g->in_width);
  const size_t out_floats = floats_per_image(g->out_channels, g->out_height, g->out_width);
  const float *input = j->input + (size_t)begin * in_floats;
  // Pooled, the gradient and the rectified output are the pooled cells'.
  const size_t given_floats =
      j->pool ? floats_per_image(g->out_channels, j->pool->out_height, j->pool->out_width)
              : out_floats;
  const float *d_output = j->d_output + (size_t)begin * given_floats;
  dnnl_stream_t stream = c->streams[chunk];
  dnnl_memory_desc_t user_src, user_dst;
  if (!chunk_layout(j->input_layout, &set->user_src, end - begin, &user_src) ||
      !chunk_layout(j->output_layout, &set->user_dst, end - begin, &user_dst))
    return CVZ_STATUS_NO_MEMORY;
  int ok = 1;

  // The gradient of the unrectified output (in any layout: the mask is
  // element by element, and the rectified output is in the same one): zero where the ReLU cut.
  const float *dy = d_output;
  float *masked = NULL;
  if (j->pool) {
    masked = cvz_alloc((size_t)(end - begin) * out_floats * sizeof(float));
    if (!masked) return CVZ_STATUS_NO_MEMORY;
    dnnl_memory_desc_t md;
    plane_walk walk;
    if (!pooled_layout(set, g, j->pool, end - begin, &md, &walk)) {
      cvz_free(masked);
      return CVZ_STATUS_NO_MEMORY;
    }
    cvz_dnnl_max_unpool(g, &walk, j->pool, j->winners + (size_t)begin * given_floats, d_output,
                        j->relu_output ? j->relu_output + (size_t)begin * given_floats : NULL,
                        end - begin, masked);
    dy = masked;
    user_dst = set->f_dst;
  } else if (j->relu_output) {
    const size_t n = (size_t)(end - begin) * out_floats;
    const float *y = j->relu_output + (size_t)begin * out_floats;
    masked = cvz_alloc(n * sizeof(float));
    if (!masked) return CVZ_STATUS_NO_MEMORY;
    relu_mask(y, d_output, masked, n);
    dy = masked;
  }

  void *d_dst = NULL;
  if (j->d_input) {
    float *d_input = j->d_input + (size_t)begin * in_floats;
    d_dst = in_layout(stream, &user_dst, dy, &set->d_dst, 1, &ok);
    void *d_src = in_layout(stream, &user_src, d_input, &set->d_src, 0, &ok);
    void *scratch;
    cvz_dnnl_argument args[4] = {{DNNL_ARG_DIFF_DST, &set->d_dst, d_dst},
                        {DNNL_ARG_WEIGHTS, &set->d_weights, j->weights[s]},
                        {DNNL_ARG_DIFF_SRC, &set->d_src, d_src}};
    int count =
        3 + scratchpad_argument(set, CVZ_DNNL_PASS_BACKWARD_DATA, &scratch, &args[3], &ok);
    ok = ok && execute(stream, set->pass[CVZ_DNNL_PASS_BACKWARD_DATA], args, count);
    ok = ok && (d_src == d_input || reorder(stream, &set->d_src, d_src, &user_src, d_input));
    release(d_src, d_input);
    cvz_free(scratch);
  }

  // Backward weights, reusing backward data's blocked gradient when the
  // layouts agree.
  const size_t kernel_floats =
      (size_t)g->kernel_height * g->kernel_width * g->in_channels * g->out_channels;
  float *partial = j->partials + (size_t)chunk * (kernel_floats + g->out_channels);
  const void *w_dst = d_dst && dnnl_memory_desc_equal(&set->d_dst, &set->w_dst)
                          ? d_dst
                          : in_layout(stream, &user_dst, dy, &set->w_dst, ok, &ok);
  void *kept = c->kept_input == j->input ? c->kept_src[chunk] : NULL;
  void *w_src = kept ? kept : in_layout(stream, &user_src, input, &set->w_src, ok, &ok);
  void *d_weights = in_layout(stream, &c->user_weights, partial, &set->w_weights, 0, &ok);
  void *scratch;
  cvz_dnnl_argument args[5] = {{DNNL_ARG_SRC, &set->w_src, w_src},
                      {DNNL_ARG_DIFF_DST, &set->w_dst, w_dst},
                      {DNNL_ARG_DIFF_WEIGHTS, &set->w_weights, d_weights},
                      {DNNL_ARG_DIFF_BIAS, &c->bias, partial + kernel_floats}};
  int count =
      4 + scratchpad_argument(set, CVZ_DNNL_PASS_BACKWARD_WEIGHTS, &scratch, &args[4], &ok);
  ok = ok && execute(stream, set->pass[CVZ_DNNL_PASS_BACKWARD_WEIGHTS], args, count);
  ok = ok && (d_weights == partial ||
              reorder(stream, &set->w_weights, d_weights, &c->user_weights, partial));
  release(d_weights, partial);
  if (w_src != kept) release(w_src, input);
  if (w_dst != d_dst) release(w_dst, dy);
  if (d_dst) release(d_dst, dy);
  cvz_free(scratch);
  cvz_free(masked);
  return ok ? CVZ_STATUS_OK : CVZ_STATUS_NO_MEMORY;
}

/// The weights in each set's layout `which` (forward or backward data) into
/// j->weights, on the calling thread; 0 on failure.
static int prepare_weights(cvz_dnnl_train_conv *c, job *j, const float *kernel_hwio, int which) {
  int ok = 1;
  for (int s = 0; s < c->size_count; s++) {
    const dnnl_memory_desc_t *md =
        which == CVZ_DNNL_PASS_FORWARD ? &c->sizes[s].f_weights : &c->sizes[s].d_weights;
    j->weights[s] = in_layout(c->streams[0], &c->user_weights, kernel_hwio, md, 1, &ok);
  }
  return ok;
}

static void release_weights(const job *j, const float *kernel_hwio) {
  for (int s = 0; s < 2; s++)
    if (j->weights[s]) release(j->weights[s], kernel_hwio);
}

/// Runs the forward job j (its output, or pooled output and winners, set).
static int forward(cvz_dnnl_train_conv *c, job *j, const float *kernel_hwio) {
  int threads = cvz_dnnl_get_openmp_threads();
  cvz_dnnl_set_openmp_threads(1);
  drop_kept(c);
  int status = prepare_weights(c, j, kernel_hwio, CVZ_DNNL_PASS_FORWARD)
                   ? cvz_parallel_for(c->chunks, forward_chunk, j)
                   : CVZ_STATUS_NO_MEMORY;
  if (status == CVZ_STATUS_OK) c->kept_input = j->input;
  else drop_kept(c);
  release_weights(j, kernel_hwio);
  cvz_dnnl_set_openmp_threads(threads);
  return status;
}

int cvz_dnnl_train_conv_forward(cvz_dnnl_train_conv *c, const cvz_dnnl_layout *input_layout,
                                const float *input, const float *kernel_hwio, const float *bias,
                                int keep_layout, float *output) {
  if (keep_layout && !c->keeps_output) return CVZ_STATUS_NO_MEMORY;
  job j = {.c = c, .input_layout = input_layout ? &input_layout->md : NULL,
           .output_layout = keep_layout ? &c->output_whole : NULL, .input = input, .bias = bias,
           .output = output};
  return forward(c, &j, kernel_hwio);
}

/// Whether max pooling p fits the convolution's output (and its walk).
static int pool_fits(const cvz_dnnl_train_conv *c, const cvz_pool_geometry *p) {
  return c->pools && c->walk.block <= 16 && p->in_height == c->g.out_height &&
         p->in_width == c->g.out_width && p->out_height >= 1 && p->out_width >= 1 &&
         p->pool_height >= 1 && p->pool_width >= 1 && p->stride_y >= 1 && p->stride_x >= 1;
}

int cvz_dnnl_train_conv_forward_pooled(cvz_dnnl_train_conv *c,
                                       const cvz_dnnl_layout *input_layout, const float *input,
                                       const float *kernel_hwio, const float *bias,
                                       const cvz_pool_geometry *pool, float *pooled,
                                       int32_t *winners) {
  if (!pool_fits(c, pool)) return CVZ_STATUS_NO_MEMORY;
  job j = {.c = c, .input_layout = input_layout ? &input_layout->md : NULL, .input = input,
           .bias = bias, .output = pooled, .pool = pool, .found_winners = winners};
  return forward(c, &j, kernel_hwio);
}

/// Runs the backward job j, adding the weight and bias gradients.
static int backward(cvz_dnnl_train_conv *c, job *j, const float *kernel_hwio,
                    float *d_kernel_hwio, float *d_bias) {
  const cvz_conv_geometry *g = &c->g;
  if (j->d_input && !c->input_gradient) return CVZ_STATUS_NO_MEMORY;
  const size_t kernel_floats =
      (size_t)g->kernel_height * g->kernel_width * g->in_channels * g->out_channels;
  const size_t stride = kernel_floats + g->out_channels;
  float *partials = cvz_alloc(sizeof(float) * stride * c->chunks);
  if (!partials) return CVZ_STATUS_NO_MEMORY;
  j->partials = partials;
  int threads = cvz_dnnl_get_openmp_threads();
  cvz_dnnl_set_openmp_threads(1);
  int status = !j->d_input || prepare_weights(c, j, kernel_hwio, CVZ_DNNL_PASS_BACKWARD_DATA)
                   ? cvz_parallel_for(c->chunks, backward_chunk, j)
                   : CVZ_STATUS_NO_MEMORY;
  release_weights(j, kernel_hwio);
  cvz_dnnl_set_openmp_threads(threads);
  drop_kept(c);
  if (status == CVZ_STATUS_OK) {
    // Chunk by chunk, in chunk order: the same sums whatever the threads.
    for (size_t i = 0; i < stride; i++) {
      float sum = partials[i];
      for (int chunk = 1; chunk < c->chunks; chunk++) sum += partials[(size_t)chunk * stride + i];
      if (i < kernel_floats) d_kernel_hwio[i] += sum;
      else d_bias[i - kernel_floats] += sum;
    }
  }
  cvz_free(partials);
  return status;
}

int cvz_dnnl_train_conv_backward(cvz_dnnl_train_conv *c, const cvz_dnnl_layout *input_layout,
                                 const float *input, const float *kernel_hwio,
                                 const cvz_dnnl_layout *output_layout, const float *d_output,
                                 const float *relu_output, float *d_input, float *d_kernel_hwio,
                                 float *d_bias) {
  job j = {.c = c, .input_layout = input_layout ? &input_layout->md : NULL,
           .output_layout = output_layout ? &output_layout->md : NULL, .input = input,
           .d_output = d_output, .relu_output = relu_output, .d_input = d_input};
  return backward(c, &j, kernel_hwio, d_kernel_hwio, d_bias);
}

int cvz_dnnl_train_conv_backward_pooled(cvz_dnnl_train_conv *c,
                                        const cvz_dnnl_layout *input_layout, const float *input,
                                        const float *kernel_hwio, const cvz_pool_geometry *pool,
                                        const int32_t *winners, const float *d_pooled,
                                        const float *relu_pooled, float *d_input,
                                        float *d_kernel_hwio, float *d_bias) {
  if (!pool_fits(c, pool)) return CVZ_STATUS_NO_MEMORY;
  job j = {.c = c, .input_layout = input_layout ? &input_layout->md : NULL, .input = input,
           .d_output = d_pooled, .relu_output = relu_pooled, .d_input = d_input, .pool = pool,
           .winners = winners};
  return backward(c, &j, kernel_hwio, d_kernel_hwio, d_bias);
}
