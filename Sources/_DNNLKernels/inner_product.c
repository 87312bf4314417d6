// Inference inner products (Dense) on oneDNN's C API; see cvz_dnnl.h.
#include "internal.h"

struct cvz_dnnl_dense {
  dnnl_primitive_t product;
  dnnl_memory_desc_t src_md, weights_md, bias_md, dst_md, scratchpad_md;
  char implementation[64];
};

void cvz_dnnl_dense_destroy(cvz_dnnl_dense *d) {
  if (!d) return;
  if (d->product) dnnl_primitive_destroy(d->product);
  cvz_free(d);
}

cvz_dnnl_dense *cvz_dnnl_dense_create(int batch, int inputs, int units) {
  if (!cvz_dnnl_available() || batch < 1 || inputs < 1 || units < 1) return NULL;
  cvz_dnnl_dense *d = cvz_alloc_zeroed(sizeof *d);
  if (!d) return NULL;
  cvz_dnnl_enter();
  dnnl_dims_t src_dims = {batch, inputs}, dst_dims = {batch, units}, bias_dims = {units};
  // The caller's (inputs, units) kernel is oneDNN's (units, inputs) weights
  // with the strides swapped: used where it lies, never copied.
  dnnl_dims_t weights_dims = {units, inputs}, weights_strides = {1, units};
  int failed =
      dnnl_memory_desc_init_by_tag(&d->src_md, 2, src_dims, dnnl_f32, dnnl_ab) ||
      dnnl_memory_desc_init_by_tag(&d->dst_md, 2, dst_dims, dnnl_f32, dnnl_ab) ||
      dnnl_memory_desc_init_by_tag(&d->bias_md, 1, bias_dims, dnnl_f32, dnnl_a) ||
      dnnl_memory_desc_init_by_strides(&d->weights_md, 2, weights_dims, dnnl_f32,
                                       weights_strides);
  dnnl_inner_product_desc_t desc;
  failed = failed || dnnl_inner_product_forward_desc_init(&desc, dnnl_forward_inference,
                                                          &d->src_md, &d->weights_md,
                                                          &d->bias_md, &d->dst_md) !=
                         dnnl_success;
  dnnl_primitive_desc_t pd = failed ? NULL : cvz_dnnl_describe(&desc, 0, NULL);
  failed = !pd || cvz_dnnl_make_primitive(pd, &d->product, d->implementation, &d->scratchpad_md);
  if (pd) dnnl_primitive_desc_destroy(pd);
  cvz_dnnl_leave();
  if (failed) {
    cvz_dnnl_dense_destroy(d);
    return NULL;
  }
  return d;
}

const char *cvz_dnnl_dense_implementation(const cvz_dnnl_dense *d) { return d->implementation; }

int cvz_dnnl_dense_run(cvz_dnnl_dense *d, const float *input, const float *kernel,
                       const float *bias, float *output) {
  cvz_dnnl_enter();
  int failed = 0;
  void *scratch = cvz_dnnl_workspace(
      CVZ_DNNL_SCRATCHPAD, dnnl_memory_desc_get_size(&d->scratchpad_md), &failed);
  if (!failed) {
    cvz_dnnl_argument arguments[] = {
        {DNNL_ARG_SRC, &d->src_md, input},         {DNNL_ARG_WEIGHTS, &d->weights_md, kernel},
        {DNNL_ARG_BIAS, &d->bias_md, bias},        {DNNL_ARG_DST, &d->dst_md, output},
        {DNNL_ARG_SCRATCHPAD, &d->scratchpad_md, scratch},
    };
    failed = cvz_dnnl_execute(d->product, 5, arguments);
  }
  failed = failed || dnnl_stream_wait(cvz_dnnl_stream) != dnnl_success;
  cvz_dnnl_leave();
  return failed ? CVZ_STATUS_NO_MEMORY : CVZ_STATUS_OK;
}
