// Inference convolutions on oneDNN's C API; see cvz_dnnl.h.
#include "cvz_dnnl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

// libdnnl is opened at first use, not linked: the executable can then set
// OpenMP's environment (OMP_WAIT_POLICY) before libgomp reads it, and a
// machine without libdnnl runs the hand-written kernels. Each function
// below is called through a pointer of its own name.
#define CVZ_DNNL_FUNCTIONS(X) \
  X(dnnl_version) \
  X(dnnl_engine_create) \
  X(dnnl_engine_destroy) \
  X(dnnl_stream_create) \
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
  X(dnnl_primitive_attr_create) \
  X(dnnl_primitive_attr_set_scratchpad_mode) \
  X(dnnl_post_ops_create) \
  X(dnnl_post_ops_append_eltwise) \
  X(dnnl_primitive_attr_set_post_ops) \
  X(dnnl_post_ops_destroy) \
  X(dnnl_primitive_desc_create) \
  X(dnnl_primitive_attr_destroy) \
  X(dnnl_primitive_desc_query) \
  X(dnnl_primitive_desc_query_md) \
  X(dnnl_memory_desc_get_size)
#define CVZ_DNNL_POINTER(name) static __typeof__(name) *loaded_##name;
CVZ_DNNL_FUNCTIONS(CVZ_DNNL_POINTER)
#define dnnl_version loaded_dnnl_version
#define dnnl_engine_create loaded_dnnl_engine_create
#define dnnl_engine_destroy loaded_dnnl_engine_destroy
#define dnnl_stream_create loaded_dnnl_stream_create
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
#define dnnl_primitive_attr_create loaded_dnnl_primitive_attr_create
#define dnnl_primitive_attr_set_scratchpad_mode loaded_dnnl_primitive_attr_set_scratchpad_mode
#define dnnl_post_ops_create loaded_dnnl_post_ops_create
#define dnnl_post_ops_append_eltwise loaded_dnnl_post_ops_append_eltwise
#define dnnl_primitive_attr_set_post_ops loaded_dnnl_primitive_attr_set_post_ops
#define dnnl_post_ops_destroy loaded_dnnl_post_ops_destroy
#define dnnl_primitive_desc_create loaded_dnnl_primitive_desc_create
#define dnnl_primitive_attr_destroy loaded_dnnl_primitive_attr_destroy
#define dnnl_primitive_desc_query loaded_dnnl_primitive_desc_query
#define dnnl_primitive_desc_query_md loaded_dnnl_primitive_desc_query_md
#define dnnl_memory_desc_get_size loaded_dnnl_memory_desc_get_size

struct cvz_dnnl_conv {
  dnnl_primitive_t conv;
  /// NCHW → the convolution's source layout, and its destination layout →
  /// NCHW; NULL when the convolution takes (gives) NCHW itself.
  dnnl_primitive_t src_reorder, dst_reorder;
  dnnl_memory_desc_t user_src_md, user_dst_md, src_md, dst_md, scratchpad_md;
  /// The kernel in the convolution's layout, and the bias (library-owned).
  dnnl_memory_t weights, bias;
  char implementation[64];
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static void (*set_openmp_threads)(int);
static char isa_name[32] = "none";
static char version_name[32] = "";

/// One lock for every call: the stream and the workspace are shared.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  void *pointer;
  size_t bytes;
} workspace[3];  // reordered source, reordered destination, scratchpad

static const char *isa_string(dnnl_cpu_isa_t isa) {
  switch (isa) {
  case dnnl_cpu_isa_sse41: return "sse41";
  case dnnl_cpu_isa_avx: return "avx";
  case dnnl_cpu_isa_avx2: return "avx2";
  case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
  case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
  case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
  case dnnl_cpu_isa_avx512_core: return "avx512_core";
  case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
  case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
  case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
  default: return "unknown";
  }
}

/// Opens libdnnl and finds every function; 0 when any is missing.
static int open_library(void) {
  void *library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!library) return 0;
  int found = 1;
#define CVZ_DNNL_LOOKUP(name) \
  found = found && (loaded_##name = (__typeof__(loaded_##name))dlsym(library, #name)) != NULL;
  CVZ_DNNL_FUNCTIONS(CVZ_DNNL_LOOKUP)
  // The OpenMP runtime libdnnl was built on (libgomp on Debian).
  set_openmp_threads = (void (*)(int))dlsym(library, "omp_set_num_threads");
  return found;
}

static void initialise(void) {
  if (!open_library()) return;
  const dnnl_version_t *v = dnnl_version();
  snprintf(version_name, sizeof version_name, "%d.%d.%d", v->major, v->minor, v->patch);
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
    engine = NULL;
    return;
  }
  if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    dnnl_engine_destroy(engine);
    engine = NULL;
    return;
  }
  snprintf(isa_name, sizeof isa_name, "%s", isa_string(dnnl_get_effective_cpu_isa()));
}

int cvz_dnnl_available(void) {
  pthread_once(&once, initialise);
  return engine != NULL;
}

const char *cvz_dnnl_isa(void) {
  pthread_once(&once, initialise);
  return isa_name;
}

const char *cvz_dnnl_version(void) {
  pthread_once(&once, initialise);
  return version_name;
}

static void use_threads(void) {
  if (set_openmp_threads) set_openmp_threads(cvz_threads());
}

/// A reorder primitive from `from` to `to`, or NULL when they are equal
/// (*failed set when one was needed but could not be made).
static dnnl_primitive_t make_reorder(const dnnl_memory_desc_t *from,
                                     const dnnl_memory_desc_t *to, int *failed) {
  if (dnnl_memory_desc_equal(from, to)) return NULL;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t reorder = NULL;
  if (dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL) != dnnl_success) {
    *failed = 1;
    return NULL;
  }
  if (dnnl_primitive_create(&reorder, pd) != dnnl_success) {
    reorder = NULL;
    *failed = 1;
  }
  dnnl_primitive_desc_destroy(pd);
  return reorder;
}

/// Copies `data` (described by `from`) into new library-owned memory laid
/// out as `to`; NULL on failure. Called under `lock`.
static dnnl_memory_t owned_copy(const dnnl_memory_desc_t *from, const float *data,
                                const dnnl_memory_desc_t *to) {
  dnnl_memory_t source = NULL, copy = NULL;
  if (dnnl_memory_create(&source, from, engine, (void *)data) != dnnl_success) return NULL;
  int failed = 0;
  dnnl_primitive_t reorder = NULL;
  if (dnnl_memory_create(&copy, to, engine, DNNL_MEMORY_ALLOCATE) != dnnl_success) {
    copy = NULL;
    failed = 1;
  } else {
    // An explicit reorder even when the layouts are equal: it is the copy.
    dnnl_primitive_desc_t pd;
    failed = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL) !=
             dnnl_success;
    if (!failed) {
      failed = dnnl_primitive_create(&reorder, pd) != dnnl_success;
      dnnl_primitive_desc_destroy(pd);
    }
    if (!failed) {
      dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, copy}};
      failed = dnnl_primitive_execute(reorder, stream, 2, args) != dnnl_success ||
               dnnl_stream_wait(stream) != dnnl_success;
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
  if (c->src_reorder) dnnl_primitive_destroy(c->src_reorder);
  if (c->dst_reorder) dnnl_primitive_destroy(c->dst_reorder);
  if (c->weights) dnnl_memory_destroy(c->weights);
  if (c->bias) dnnl_memory_destroy(c->bias);
  cvz_free(c);
}

/// The convolution's primitive descriptor, or NULL.
static dnnl_primitive_desc_t describe(const cvz_grouped_conv_geometry *geometry, int relu) {
  const cvz_conv_geometry *g = &geometry->base;
  int groups = geometry->groups;
  int extent_y = (g->kernel_height - 1) * geometry->dilation_y + 1;
  int extent_x = (g->kernel_width - 1) * geometry->dilation_x + 1;
  // The far pads that give the caller's output extent: the geometry's
  // implicit "reads past the input are zero", or none when the last
  // window ends before the input does (the floor in the extent's formula
  // then drops the rest).
  long pad_bottom = (long)(g->out_height - 1) * g->stride_y + extent_y - g->in_height - g->pad_top;
  long pad_right = (long)(g->out_width - 1) * g->stride_x + extent_x - g->in_width - g->pad_left;
  if (pad_bottom < 0) pad_bottom = 0;
  if (pad_right < 0) pad_right = 0;
  if ((g->in_height + g->pad_top + pad_bottom - extent_y) / g->stride_y + 1 != g->out_height ||
      (g->in_width + g->pad_left + pad_right - extent_x) / g->stride_x + 1 != g->out_width)
    return NULL;

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
  dnnl_dims_t pad_r = {pad_bottom, pad_right};
  dnnl_convolution_desc_t desc;
  if (dnnl_dilated_convolution_forward_desc_init(
          &desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &weights, &bias, &dst,
          strides, dilates, pad_l, pad_r) != dnnl_success)
    return NULL;

  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
  failed = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) !=
           dnnl_success;
  if (relu && !failed) {
    dnnl_post_ops_t post_ops;
    failed = dnnl_post_ops_create(&post_ops) != dnnl_success;
    if (!failed) {
      failed = dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f) ||
               dnnl_primitive_attr_set_post_ops(attr, post_ops);
      dnnl_post_ops_destroy(post_ops);
    }
  }
  dnnl_primitive_desc_t pd = NULL;
  if (!failed && dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL) != dnnl_success)
    pd = NULL;
  dnnl_primitive_attr_destroy(attr);
  return pd;
}

cvz_dnnl_conv *cvz_dnnl_conv_create(const cvz_grouped_conv_geometry *geometry,
                                    const float *kernel_hwio, const float *bias, int relu) {
  if (!cvz_dnnl_available()) return NULL;
  const cvz_conv_geometry *g = &geometry->base;
  int groups = geometry->groups;
  if (groups < 1 || g->in_channels % groups || g->out_channels % groups) return NULL;
  cvz_dnnl_conv *c = cvz_alloc_zeroed(sizeof *c);
  if (!c) return NULL;
  pthread_mutex_lock(&lock);
  use_threads();
  dnnl_primitive_desc_t pd = describe(geometry, relu);
  int failed = pd == NULL;
  if (!failed) {
    const char *name = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    snprintf(c->implementation, sizeof c->implementation, "%s", name ? name : "?");
    c->src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    c->dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    c->scratchpad_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
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
      failed = dnnl_memory_desc_init_by_strides(&hwio, 4, dims, dnnl_f32, strides);
    } else {
      dnnl_dims_t dims = {groups, cog, ci, g->kernel_height, kw};
      dnnl_dims_t strides = {cog, 1, co, kw * ci * co, ci * co};
      failed = dnnl_memory_desc_init_by_strides(&hwio, 5, dims, dnnl_f32, strides);
    }
    failed = failed ||
             dnnl_memory_desc_init_by_tag(&c->user_src_md, 4, src_dims, dnnl_f32, dnnl_nchw) ||
             dnnl_memory_desc_init_by_tag(&c->user_dst_md, 4, dst_dims, dnnl_f32, dnnl_nchw);
    if (!failed) {
      c->src_reorder = make_reorder(&c->user_src_md, &c->src_md, &failed);
      c->dst_reorder = make_reorder(&c->dst_md, &c->user_dst_md, &failed);
    }
    if (!failed) {
      c->weights = owned_copy(&hwio, kernel_hwio, &weights_md);
      c->bias = owned_copy(&bias_md, bias, &bias_md);
      failed = !c->weights || !c->bias;
    }
    failed = failed || dnnl_primitive_create(&c->conv, pd) != dnnl_success;
    dnnl_primitive_desc_destroy(pd);
  }
  pthread_mutex_unlock(&lock);
  if (failed) {
    cvz_dnnl_conv_destroy(c);
    return NULL;
  }
  return c;
}

const char *cvz_dnnl_conv_implementation(const cvz_dnnl_conv *c) { return c->implementation; }

/// Workspace `index` of at least `bytes`, grown as needed; NULL when out of
/// memory. Called under `lock`.
static void *workspace_of(int index, size_t bytes) {
  if (bytes == 0) return NULL;
  if (workspace[index].bytes < bytes) {
    cvz_free(workspace[index].pointer);
    workspace[index].pointer = cvz_alloc(bytes);
    workspace[index].bytes = workspace[index].pointer ? bytes : 0;
  }
  return workspace[index].pointer;
}

int cvz_dnnl_conv_forward(cvz_dnnl_conv *c, const float *input, float *output) {
  pthread_mutex_lock(&lock);
  use_threads();
  enum { count = 5 };
  dnnl_memory_t user_src = NULL, user_dst = NULL, src = NULL, dst = NULL, scratch = NULL;
  int failed = 0;
  void *src_buffer = (void *)input, *dst_buffer = output, *scratch_buffer = NULL;
  if (c->src_reorder) {
    src_buffer = workspace_of(0, dnnl_memory_desc_get_size(&c->src_md));
    failed = failed || !src_buffer;
  }
  if (c->dst_reorder) {
    dst_buffer = workspace_of(1, dnnl_memory_desc_get_size(&c->dst_md));
    failed = failed || !dst_buffer;
  }
  size_t scratch_bytes = dnnl_memory_desc_get_size(&c->scratchpad_md);
  if (scratch_bytes) {
    scratch_buffer = workspace_of(2, scratch_bytes);
    failed = failed || !scratch_buffer;
  }
  failed = failed ||
           dnnl_memory_create(&user_src, &c->user_src_md, engine, (void *)input) ||
           dnnl_memory_create(&user_dst, &c->user_dst_md, engine, output) ||
           dnnl_memory_create(&src, &c->src_md, engine, src_buffer) ||
           dnnl_memory_create(&dst, &c->dst_md, engine, dst_buffer) ||
           dnnl_memory_create(&scratch, &c->scratchpad_md, engine, scratch_buffer);
  if (!failed && c->src_reorder) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user_src}, {DNNL_ARG_TO, src}};
    failed = dnnl_primitive_execute(c->src_reorder, stream, 2, args) != dnnl_success;
  }
  if (!failed) {
    dnnl_exec_arg_t args[count] = {
        {DNNL_ARG_SRC, src},         {DNNL_ARG_WEIGHTS, c->weights}, {DNNL_ARG_BIAS, c->bias},
        {DNNL_ARG_DST, dst},         {DNNL_ARG_SCRATCHPAD, scratch},
    };
    failed = dnnl_primitive_execute(c->conv, stream, count, args) != dnnl_success;
  }
  if (!failed && c->dst_reorder) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, user_dst}};
    failed = dnnl_primitive_execute(c->dst_reorder, stream, 2, args) != dnnl_success;
  }
  failed = failed || dnnl_stream_wait(stream) != dnnl_success;
  dnnl_memory_t all[] = {user_src, user_dst, src, dst, scratch};
  for (int i = 0; i < 5; i++)
    if (all[i]) dnnl_memory_destroy(all[i]);
  pthread_mutex_unlock(&lock);
  return failed ? CVZ_STATUS_NO_MEMORY : CVZ_STATUS_OK;
}
