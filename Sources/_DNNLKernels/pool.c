// Inference max pooling on oneDNN's C API; see cvz_dnnl.h.
#include "internal.h"

struct cvz_dnnl_pool {
  dnnl_primitive_t pool;
  /// The input's layout (as given at creation), the output's in the
  /// pooling's layout and as NCHW.
  dnnl_memory_desc_t src_md, dst_md, user_dst_md, scratchpad_md;
  char implementation[64];
};

void cvz_dnnl_pool_destroy(cvz_dnnl_pool *p) {
  if (!p) return;
  if (p->pool) dnnl_primitive_destroy(p->pool);
  cvz_free(p);
}

cvz_dnnl_pool *cvz_dnnl_pool_create(const cvz_dnnl_pool_geometry *g,
                                    const cvz_dnnl_layout *input_layout) {
  if (!cvz_dnnl_available()) return NULL;
  if (g->pad_bottom < 0 || g->pad_right < 0 ||
      (g->in_height + g->pad_top + g->pad_bottom - g->pool_height) / g->stride_y + 1 !=
          g->out_height ||
      (g->in_width + g->pad_left + g->pad_right - g->pool_width) / g->stride_x + 1 !=
          g->out_width)
    return NULL;
  cvz_dnnl_pool *p = cvz_alloc_zeroed(sizeof *p);
  if (!p) return NULL;
  cvz_dnnl_enter();
  int failed = 0;
  if (input_layout) {
    const dnnl_memory_desc_t *md = &input_layout->md;
    failed = md->ndims != 4 || md->dims[0] != g->batch || md->dims[1] != g->channels ||
             md->dims[2] != g->in_height || md->dims[3] != g->in_width;
    p->src_md = *md;
  } else {
    failed = cvz_dnnl_nchw(&p->src_md, g->batch, g->channels, g->in_height, g->in_width);
  }
  dnnl_dims_t dst_dims = {g->batch, g->channels, g->out_height, g->out_width};
  dnnl_memory_desc_t dst;
  failed = failed ||
           dnnl_memory_desc_init_by_tag(&dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any) ||
           cvz_dnnl_nchw(&p->user_dst_md, g->batch, g->channels, g->out_height, g->out_width);
  dnnl_dims_t strides = {g->stride_y, g->stride_x};
  dnnl_dims_t kernel = {g->pool_height, g->pool_width};
  dnnl_dims_t pad_l = {g->pad_top, g->pad_left};
  dnnl_dims_t pad_r = {g->pad_bottom, g->pad_right};
  dnnl_pooling_desc_t desc;
  failed = failed || dnnl_pooling_forward_desc_init(&desc, dnnl_forward_inference, dnnl_pooling_max,
                                                    &p->src_md, &dst, strides, kernel, pad_l,
                                                    pad_r) != dnnl_success;
  dnnl_primitive_desc_t pd = failed ? NULL : cvz_dnnl_describe(&desc, 0, NULL);
  failed = !pd || cvz_dnnl_make_primitive(pd, &p->pool, p->implementation, &p->scratchpad_md);
  if (pd) {
    p->dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_primitive_desc_destroy(pd);
  }
  cvz_dnnl_leave();
  if (failed) {
    cvz_dnnl_pool_destroy(p);
    return NULL;
  }
  return p;
}

const char *cvz_dnnl_pool_implementation(const cvz_dnnl_pool *p) { return p->implementation; }

cvz_dnnl_layout *cvz_dnnl_pool_output_layout(const cvz_dnnl_pool *p) {
  return cvz_dnnl_layout_of(&p->dst_md);
}

int cvz_dnnl_pool_run(cvz_dnnl_pool *p, const float *input, int keep_layout, float *output) {
  cvz_dnnl_enter();
  int failed = 0;
  int direct = keep_layout || dnnl_memory_desc_equal(&p->dst_md, &p->user_dst_md);
  void *dst = direct ? output
                     : cvz_dnnl_workspace(CVZ_DNNL_DESTINATION,
                                          dnnl_memory_desc_get_size(&p->dst_md), &failed);
  void *scratch = cvz_dnnl_workspace(
      CVZ_DNNL_SCRATCHPAD, dnnl_memory_desc_get_size(&p->scratchpad_md), &failed);
  if (!failed) {
    cvz_dnnl_argument arguments[] = {
        {DNNL_ARG_SRC, &p->src_md, input},
        {DNNL_ARG_DST, &p->dst_md, dst},
        {DNNL_ARG_SCRATCHPAD, &p->scratchpad_md, scratch},
    };
    failed = cvz_dnnl_execute(p->pool, 3, arguments);
  }
  if (!failed && !direct) failed = cvz_dnnl_reorder(&p->dst_md, dst, &p->user_dst_md, output);
  failed = failed || dnnl_stream_wait(cvz_dnnl_stream) != dnnl_success;
  cvz_dnnl_leave();
  return failed ? CVZ_STATUS_NO_MEMORY : CVZ_STATUS_OK;
}
