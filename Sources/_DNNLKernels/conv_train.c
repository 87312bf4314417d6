// Training convolutions on oneDNN's C API: the primitives for each chunk
// size, made once per shape; conv_train_run.c runs them chunk by chunk.
// See cvz_dnnl_train.h.
#include "conv_train.h"

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

static int chunk_count(int batch) { return batch < CVZ_CHUNKS ? (batch < 1 ? 1 : batch) : CVZ_CHUNKS; }

void cvz_train_chunk_bounds(const cvz_dnnl_train_conv *c, int chunk, int *begin, int *end) {
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

void cvz_train_drop_kept(cvz_dnnl_train_conv *c) {
  for (int i = 0; i < CVZ_CHUNKS; i++) {
    cvz_free(c->kept_src[i]);
    c->kept_src[i] = NULL;
  }
  c->kept_input = NULL;
}

void cvz_dnnl_train_conv_destroy(cvz_dnnl_train_conv *c) {
  if (!c) return;
  cvz_train_drop_kept(c);
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
    cvz_train_chunk_bounds(c, chunk, &begin, &end);
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
