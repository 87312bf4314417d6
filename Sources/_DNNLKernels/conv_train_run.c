// Training convolutions on oneDNN: forward and backward, chunk by chunk on
// the _Runtime pool, each chunk single-threaded; see cvz_dnnl_train.h.
#include "conv_train.h"

#include <string.h>

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
    cvz_dnnl_max_pool(g, &j->c->walk, &walk, p, dst, images, j->c->relu, blocked,
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
  cvz_train_chunk_bounds(c, chunk, &begin, &end);
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
  cvz_train_chunk_bounds(c, chunk, &begin, &end);
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
  // element by element, and the rectified output is in the same one): zero
  // where the ReLU cut. Pooled, the winners carry the ReLU's cut.
  const float *dy = d_output;
  float *masked = NULL;
  if (j->pool) {
    masked = cvz_alloc((size_t)(end - begin) * out_floats * sizeof(float));
    dnnl_memory_desc_t md, nchw;
    plane_walk walk;
    ok = masked && pooled_layout(set, g, j->pool, end - begin, &md, &walk) &&
         !cvz_dnnl_nchw(&nchw, end - begin, g->out_channels, j->pool->out_height,
                        j->pool->out_width);
    // The pooled gradient in the pooled cells' layout, as their winners.
    const void *given = ok ? in_layout(stream, &nchw, d_output, &md, 1, &ok) : NULL;
    if (ok)
      cvz_dnnl_max_unpool(g, &c->walk, &walk, j->pool, j->winners + (size_t)begin * given_floats,
                          given, end - begin, masked);
    release(given, d_output);
    if (!ok) {
      cvz_free(masked);
      return CVZ_STATUS_NO_MEMORY;
    }
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
  cvz_train_drop_kept(c);
  int status = prepare_weights(c, j, kernel_hwio, CVZ_DNNL_PASS_FORWARD)
                   ? cvz_parallel_for(c->chunks, forward_chunk, j)
                   : CVZ_STATUS_NO_MEMORY;
  if (status == CVZ_STATUS_OK) c->kept_input = j->input;
  else cvz_train_drop_kept(c);
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
  cvz_train_drop_kept(c);
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
                                        float *d_input, float *d_kernel_hwio, float *d_bias) {
  if (!pool_fits(c, pool)) return CVZ_STATUS_NO_MEMORY;
  job j = {.c = c, .input_layout = input_layout ? &input_layout->md : NULL, .input = input,
           .d_output = d_pooled, .d_input = d_input, .pool = pool, .winners = winners};
  return backward(c, &j, kernel_hwio, d_kernel_hwio, d_bias);
}
