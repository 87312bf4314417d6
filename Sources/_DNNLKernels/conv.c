// Inference convolutions on oneDNN's C API; see cvz_dnnl.h.
#include "internal.h"

#include <stdio.h>

struct cvz_dnnl_conv {
  dnnl_primitive_t conv;
  /// The caller's NCHW layouts, and the convolution's own.
  dnnl_memory_desc_t user_src_md, user_dst_md, src_md, dst_md, scratchpad_md;
  /// The kernel in the convolution's layout, and the bias (library-owned).
  dnnl_memory_t weights, bias;
  /// Whether the output's previous contents are added (a sum post-op).
  int sum;
  char implementation[64];
};

/// Copies `data` (described by `from`) into new library-owned memory laid
/// out as `to`; NULL on failure. Called under the lock.
static dnnl_memory_t owned_copy(const dnnl_memory_desc_t *from, const float *data,
                                const dnnl_memory_desc_t *to) {
  dnnl_memory_t source = NULL, copy = NULL;
  if (dnnl_memory_create(&source, from, cvz_dnnl_engine, (void *)data) != dnnl_success) return NULL;
  int failed = 0;
  dnnl_primitive_t reorder = NULL;
  if (dnnl_memory_create(&copy, to, cvz_dnnl_engine, DNNL_MEMORY_ALLOCATE) != dnnl_success) {
    copy = NULL;
    failed = 1;
  } else {
    // An explicit reorder even when the layouts are equal: it is the copy.
    dnnl_primitive_desc_t pd;
    failed = dnnl_reorder_primitive_desc_create(&pd, from, cvz_dnnl_engine, to, cvz_dnnl_engine, NULL) !=
             dnnl_success;
    if (!failed) {
      failed = dnnl_primitive_create(&reorder, pd) != dnnl_success;
      dnnl_primitive_desc_destroy(pd);
    }
    if (!failed) {
      dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, copy}};
      failed = dnnl_primitive_execute(reorder, cvz_dnnl_stream, 2, args) != dnnl_success ||
               dnnl_stream_wait(cvz_dnnl_stream) != dnnl_success;
    }
  }
  if (reorder) dnnl_primitive_destroy(reorder);
  dnnl_memory_destroy(source);
  if (failed && copy) {
    dnnl_memory_destroy(copy);
    copy = NULL;
  }
  return copy;
}

void cvz_dnnl_conv_destroy(cvz_dnnl_conv *c) {
  if (!c) return;
  if (c->conv) dnnl_primitive_destroy(c->conv);
  if (c->weights) dnnl_memory_destroy(c->weights);
  if (c->bias) dnnl_memory_destroy(c->bias);
  cvz_free(c);
}

/// The primitive descriptor of convolution `desc` with a user-managed
/// scratchpad and `activation`'s post-ops (a sum with the destination's
/// previous contents first, then the eltwise); NULL on failure.
static dnnl_primitive_desc_t describe_with(const_dnnl_op_desc_t desc,
                                           cvz_dnnl_activation activation) {
  if (activation.kind != CVZ_DNNL_CLIP && !activation.sum)
    return cvz_dnnl_describe(desc, activation.kind == CVZ_DNNL_RELU, NULL);
  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
  int failed = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) !=
               dnnl_success;
  dnnl_post_ops_t post_ops;
  if (!failed) failed = dnnl_post_ops_create(&post_ops) != dnnl_success;
  if (!failed) {
    // sum: dst = conv + bias + 1 * dst, before the activation (a residual
    // block's Add, then its ReLU).
    if (activation.sum) failed = dnnl_post_ops_append_sum(post_ops, 1.0f) != dnnl_success;
    // clip: min(max(x, alpha), beta), as ParametricActivation computes it.
    if (!failed && activation.kind == CVZ_DNNL_CLIP)
      failed = dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_clip, activation.low,
                                            activation.high) != dnnl_success;
    if (!failed && activation.kind == CVZ_DNNL_RELU)
      failed = dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f) !=
               dnnl_success;
    failed = failed || dnnl_primitive_attr_set_post_ops(attr, post_ops) != dnnl_success;
    dnnl_post_ops_destroy(post_ops);
  }
  dnnl_primitive_desc_t pd = NULL;
  if (!failed && dnnl_primitive_desc_create(&pd, desc, attr, cvz_dnnl_engine, NULL) != dnnl_success)
    pd = NULL;
  dnnl_primitive_attr_destroy(attr);
  return pd;
}

/// The convolution's primitive descriptor, or NULL.
static dnnl_primitive_desc_t describe(const cvz_grouped_conv_geometry *geometry,
                                      cvz_dnnl_activation activation, dnnl_alg_kind_t algorithm) {
  const cvz_conv_geometry *g = &geometry->base;
  int groups = geometry->groups;
  int extent_y = (g->kernel_height - 1) * geometry->dilation_y + 1;
  int extent_x = (g->kernel_width - 1) * geometry->dilation_x + 1;
  dnnl_dims_t pad_r;
  if (!cvz_dnnl_far_pads(g, extent_y, extent_x, pad_r)) return NULL;

  dnnl_dims_t src_dims = {g->batch, g->in_channels, g->in_height, g->in_width};
  dnnl_dims_t dst_dims = {g->batch, g->out_channels, g->out_height, g->out_width};
  dnnl_dims_t bias_dims = {g->out_channels};
  dnnl_memory_desc_t src, weights, bias, dst;
  int failed = dnnl_memory_desc_init_by_tag(&src, 4, src_dims, dnnl_f32, dnnl_format_tag_any) ||
               dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any) ||
               dnnl_memory_desc_init_by_tag(&bias, 1, bias_dims, dnnl_f32, dnnl_a);
  if (groups == 1) {
    dnnl_dims_t dims = {g->out_channels, g->in_channels, g->kernel_height, g->kernel_width};
    failed = failed || dnnl_memory_desc_init_by_tag(&weights, 4, dims, dnnl_f32,
                                                    dnnl_format_tag_any);
  } else {
    dnnl_dims_t dims = {groups, g->out_channels / groups, g->in_channels / groups,
                        g->kernel_height, g->kernel_width};
    failed = failed || dnnl_memory_desc_init_by_tag(&weights, 5, dims, dnnl_f32,
                                                    dnnl_format_tag_any);
  }
  if (failed) return NULL;
  dnnl_dims_t strides = {g->stride_y, g->stride_x};
  dnnl_dims_t dilates = {geometry->dilation_y - 1, geometry->dilation_x - 1};
  dnnl_dims_t pad_l = {g->pad_top, g->pad_left};
  dnnl_convolution_desc_t desc;
  if (dnnl_dilated_convolution_forward_desc_init(
          &desc, dnnl_forward_inference, algorithm, &src, &weights, &bias, &dst,
          strides, dilates, pad_l, pad_r) != dnnl_success)
    return NULL;
  return describe_with(&desc, activation);
}

cvz_dnnl_conv *cvz_dnnl_conv_create(const cvz_grouped_conv_geometry *geometry,
                                    const float *kernel_hwio, const float *bias,
                                    cvz_dnnl_activation activation, int winograd) {
  if (!cvz_dnnl_available()) return NULL;
  const cvz_conv_geometry *g = &geometry->base;
  int groups = geometry->groups;
  if (groups < 1 || g->in_channels % groups || g->out_channels % groups) return NULL;
  cvz_dnnl_conv *c = cvz_alloc_zeroed(sizeof *c);
  if (!c) return NULL;
  c->sum = activation.sum != 0;
  cvz_dnnl_enter();
  // Winograd where asked and oneDNN has it for the shape, else direct.
  dnnl_primitive_desc_t pd =
      winograd ? describe(geometry, activation, dnnl_convolution_winograd) : NULL;
  if (!pd) pd = describe(geometry, activation, dnnl_convolution_direct);
  int failed = pd == NULL;
  if (!failed) {
    failed = cvz_dnnl_make_primitive(pd, &c->conv, c->implementation, &c->scratchpad_md);
    c->src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    c->dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t weights_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t bias_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1);

    // The caller's NCHW tensors and HWIO kernel, described by strides.
    dnnl_dims_t src_dims = {g->batch, g->in_channels, g->in_height, g->in_width};
    dnnl_dims_t dst_dims = {g->batch, g->out_channels, g->out_height, g->out_width};
    dnnl_dim_t ci = g->in_channels / groups, co = g->out_channels, cog = co / groups;
    dnnl_dim_t kw = g->kernel_width;
    dnnl_memory_desc_t hwio;
    if (groups == 1) {
      dnnl_dims_t dims = {co, ci, g->kernel_height, kw};
      dnnl_dims_t strides = {1, co, kw * ci * co, ci * co};
      failed = failed || dnnl_memory_desc_init_by_strides(&hwio, 4, dims, dnnl_f32, strides);
    } else {
      dnnl_dims_t dims = {groups, cog, ci, g->kernel_height, kw};
      dnnl_dims_t strides = {cog, 1, co, kw * ci * co, ci * co};
      failed = failed || dnnl_memory_desc_init_by_strides(&hwio, 5, dims, dnnl_f32, strides);
    }
    failed = failed ||
             dnnl_memory_desc_init_by_tag(&c->user_src_md, 4, src_dims, dnnl_f32, dnnl_nchw) ||
             dnnl_memory_desc_init_by_tag(&c->user_dst_md, 4, dst_dims, dnnl_f32, dnnl_nchw);
    if (!failed) {
      c->weights = owned_copy(&hwio, kernel_hwio, &weights_md);
      c->bias = owned_copy(&bias_md, bias, &bias_md);
      failed = !c->weights || !c->bias;
    }
    dnnl_primitive_desc_destroy(pd);
  }
  cvz_dnnl_leave();
  if (failed) {
    cvz_dnnl_conv_destroy(c);
    return NULL;
  }
  return c;
}

const char *cvz_dnnl_conv_implementation(const cvz_dnnl_conv *c) { return c->implementation; }

cvz_dnnl_layout *cvz_dnnl_conv_output_layout(const cvz_dnnl_conv *c) {
  return cvz_dnnl_layout_of(&c->dst_md);
}

int cvz_dnnl_conv_run(cvz_dnnl_conv *c, const cvz_dnnl_layout *input_layout,
                      const float *input, int keep_layout, float *output) {
  if (c->sum && !keep_layout) return CVZ_STATUS_NO_MEMORY;
  cvz_dnnl_enter();
  int failed = 0;
  const dnnl_memory_desc_t *given = input_layout ? &input_layout->md : &c->user_src_md;
  const void *src = input;
  if (!dnnl_memory_desc_equal(given, &c->src_md)) {
    void *buffer = cvz_dnnl_workspace(CVZ_DNNL_SOURCE, dnnl_memory_desc_get_size(&c->src_md),
                                      &failed);
    failed = failed || cvz_dnnl_reorder(given, input, &c->src_md, buffer);
    src = buffer;
  }
  int direct = keep_layout || dnnl_memory_desc_equal(&c->dst_md, &c->user_dst_md);
  void *dst = direct ? output
                     : cvz_dnnl_workspace(CVZ_DNNL_DESTINATION,
                                          dnnl_memory_desc_get_size(&c->dst_md), &failed);
  void *scratch = cvz_dnnl_workspace(
      CVZ_DNNL_SCRATCHPAD, dnnl_memory_desc_get_size(&c->scratchpad_md), &failed);
  if (!failed) {
    cvz_dnnl_argument arguments[] = {
        {DNNL_ARG_SRC, &c->src_md, src},
        {DNNL_ARG_DST, &c->dst_md, dst},
        {DNNL_ARG_SCRATCHPAD, &c->scratchpad_md, scratch},
    };
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_WEIGHTS, c->weights}, {DNNL_ARG_BIAS, c->bias}};
    int made = 2;
    for (int i = 0; i < 3 && !failed; i++) {
      args[made].arg = arguments[i].argument;
      failed = dnnl_memory_create(&args[made].memory, arguments[i].md, cvz_dnnl_engine,
                                  (void *)arguments[i].data) != dnnl_success;
      if (!failed) made++;
    }
    failed = failed ||
             dnnl_primitive_execute(c->conv, cvz_dnnl_stream, made, args) != dnnl_success;
    for (int i = 2; i < made; i++) dnnl_memory_destroy(args[i].memory);
  }
  if (!failed && !direct) failed = cvz_dnnl_reorder(&c->dst_md, dst, &c->user_dst_md, output);
  failed = failed || dnnl_stream_wait(cvz_dnnl_stream) != dnnl_success;
  cvz_dnnl_leave();
  return failed ? CVZ_STATUS_NO_MEMORY : CVZ_STATUS_OK;
}

int cvz_dnnl_conv_forward(cvz_dnnl_conv *c, const float *input, float *output) {
  return cvz_dnnl_conv_run(c, NULL, input, 0, output);
}
