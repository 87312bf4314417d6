// libdnnl's loading, its engine and stream, the shared workspace, reorders
// and layouts; see cvz_dnnl.h and internal.h.
#define CVZ_DNNL_LOADER
#include "internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define CVZ_DNNL_SONAME "libdnnl.so.2"

static pthread_once_t once = PTHREAD_ONCE_INIT;
dnnl_engine_t cvz_dnnl_engine;
dnnl_stream_t cvz_dnnl_stream;
void (*cvz_dnnl_set_openmp_threads)(int);
int (*cvz_dnnl_get_openmp_threads)(void);
static char isa_name[32] = "none";
static char version_name[32] = "";
/// Why the library cannot be used, one line naming it ("" when it can).
static char failure[400] = "";

/// One lock for every call: the stream and the workspace are shared.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  void *pointer;
  size_t bytes;
} workspace[CVZ_DNNL_WORKSPACES];

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

/// Opens libdnnl and finds every function; 0 (with `failure` set) when
/// it cannot be opened or any is missing.
static int open_library(void) {
  void *library = dlopen(CVZ_DNNL_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *why = dlerror();
    snprintf(failure, sizeof failure, "libdnnl (%s) cannot be loaded: %s", CVZ_DNNL_SONAME,
             why ? why : "not found");
    return 0;
  }
  const char *missing = NULL;
#define CVZ_DNNL_LOOKUP(name)                                                             \
  if (!missing && !(loaded_##name = (__typeof__(loaded_##name))dlsym(library, #name))) { \
    missing = #name;                                                                      \
  }
  CVZ_DNNL_FUNCTIONS(CVZ_DNNL_LOOKUP)
  if (missing) {
    snprintf(failure, sizeof failure, "libdnnl (%s) has no %s", CVZ_DNNL_SONAME, missing);
    return 0;
  }
  // The OpenMP runtime libdnnl was built on (libgomp on Debian).
  cvz_dnnl_set_openmp_threads = (void (*)(int))dlsym(library, "omp_set_num_threads");
  cvz_dnnl_get_openmp_threads = (int (*)(void))dlsym(library, "omp_get_max_threads");
  return 1;
}

static void initialise(void) {
  if (!open_library()) return;
  const dnnl_version_t *v = dnnl_version();
  snprintf(version_name, sizeof version_name, "%d.%d.%d", v->major, v->minor, v->patch);
  if (dnnl_engine_create(&cvz_dnnl_engine, dnnl_cpu, 0) != dnnl_success) {
    cvz_dnnl_engine = NULL;
    snprintf(failure, sizeof failure, "libdnnl (%s) could not make its CPU engine",
             CVZ_DNNL_SONAME);
    return;
  }
  if (dnnl_stream_create(&cvz_dnnl_stream, cvz_dnnl_engine, dnnl_stream_default_flags) != dnnl_success) {
    dnnl_engine_destroy(cvz_dnnl_engine);
    cvz_dnnl_engine = NULL;
    snprintf(failure, sizeof failure, "libdnnl (%s) could not make a stream", CVZ_DNNL_SONAME);
    return;
  }
  snprintf(isa_name, sizeof isa_name, "%s", isa_string(dnnl_get_effective_cpu_isa()));
}

int cvz_dnnl_available(void) {
  pthread_once(&once, initialise);
  return cvz_dnnl_engine != NULL;
}

const char *cvz_dnnl_failure(void) {
  pthread_once(&once, initialise);
  return failure;
}

const char *cvz_dnnl_isa(void) {
  pthread_once(&once, initialise);
  return isa_name;
}

const char *cvz_dnnl_version(void) {
  pthread_once(&once, initialise);
  return version_name;
}

void cvz_dnnl_enter(void) {
  pthread_mutex_lock(&lock);
  if (cvz_dnnl_set_openmp_threads) cvz_dnnl_set_openmp_threads(cvz_threads());
}

void cvz_dnnl_leave(void) { pthread_mutex_unlock(&lock); }

void *cvz_dnnl_workspace(int index, size_t bytes, int *failed) {
  if (bytes == 0) return NULL;
  if (workspace[index].bytes < bytes) {
    cvz_free(workspace[index].pointer);
    workspace[index].pointer = cvz_alloc(bytes);
    workspace[index].bytes = workspace[index].pointer ? bytes : 0;
  }
  if (!workspace[index].pointer) *failed = 1;
  return workspace[index].pointer;
}

dnnl_primitive_t cvz_dnnl_make_reorder(const dnnl_memory_desc_t *from,
                                       const dnnl_memory_desc_t *to, int *failed) {
  if (dnnl_memory_desc_equal(from, to)) return NULL;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t reorder = NULL;
  if (dnnl_reorder_primitive_desc_create(&pd, from, cvz_dnnl_engine, to, cvz_dnnl_engine,
                                         NULL) != dnnl_success) {
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

int cvz_dnnl_execute_on(dnnl_stream_t stream, dnnl_primitive_t primitive, int count,
                        const cvz_dnnl_argument *arguments) {
  enum { most = 8 };
  dnnl_exec_arg_t args[most];
  int made = 0, failed = count > most;
  for (int i = 0; i < count && !failed; i++) {
    if (!arguments[i].md) continue;
    args[made].arg = arguments[i].argument;
    failed = dnnl_memory_create(&args[made].memory, arguments[i].md, cvz_dnnl_engine,
                                (void *)arguments[i].data) != dnnl_success;
    if (!failed) made++;
  }
  failed = failed || dnnl_primitive_execute(primitive, stream, made, args) != dnnl_success;
  for (int i = 0; i < made; i++) dnnl_memory_destroy(args[i].memory);
  return failed;
}

int cvz_dnnl_execute(dnnl_primitive_t primitive, int count, const cvz_dnnl_argument *arguments) {
  return cvz_dnnl_execute_on(cvz_dnnl_stream, primitive, count, arguments);
}

int cvz_dnnl_reorder_on(dnnl_stream_t stream, const dnnl_memory_desc_t *from,
                        const void *from_data, const dnnl_memory_desc_t *to, void *to_data) {
  int failed = 0;
  dnnl_primitive_t reorder = cvz_dnnl_make_reorder(from, to, &failed);
  if (failed) return 1;
  if (!reorder) {
    memcpy(to_data, from_data, dnnl_memory_desc_get_size(to));
    return 0;
  }
  cvz_dnnl_argument arguments[2] = {{DNNL_ARG_FROM, from, from_data}, {DNNL_ARG_TO, to, to_data}};
  failed = cvz_dnnl_execute_on(stream, reorder, 2, arguments);
  dnnl_primitive_destroy(reorder);
  return failed;
}

int cvz_dnnl_reorder(const dnnl_memory_desc_t *from, const void *from_data,
                     const dnnl_memory_desc_t *to, void *to_data) {
  return cvz_dnnl_reorder_on(cvz_dnnl_stream, from, from_data, to, to_data);
}

int cvz_dnnl_far_pads(const cvz_conv_geometry *g, int extent_y, int extent_x, dnnl_dims_t pad_r) {
  long pad_bottom = (long)(g->out_height - 1) * g->stride_y + extent_y - g->in_height - g->pad_top;
  long pad_right = (long)(g->out_width - 1) * g->stride_x + extent_x - g->in_width - g->pad_left;
  if (pad_bottom < 0) pad_bottom = 0;
  if (pad_right < 0) pad_right = 0;
  if ((g->in_height + g->pad_top + pad_bottom - extent_y) / g->stride_y + 1 != g->out_height ||
      (g->in_width + g->pad_left + pad_right - extent_x) / g->stride_x + 1 != g->out_width)
    return 0;
  pad_r[0] = pad_bottom;
  pad_r[1] = pad_right;
  return 1;
}

dnnl_primitive_desc_t cvz_dnnl_describe(const_dnnl_op_desc_t desc, int relu,
                                        const_dnnl_primitive_desc_t hint) {
  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
  int failed = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) !=
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
  if (!failed && dnnl_primitive_desc_create(&pd, desc, attr, cvz_dnnl_engine, hint) != dnnl_success)
    pd = NULL;
  dnnl_primitive_attr_destroy(attr);
  return pd;
}

int cvz_dnnl_make_primitive(const_dnnl_primitive_desc_t pd, dnnl_primitive_t *primitive,
                            char *implementation, dnnl_memory_desc_t *scratchpad) {
  const char *name = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
  snprintf(implementation, 64, "%s", name ? name : "?");
  *scratchpad = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (dnnl_primitive_create(primitive, pd) != dnnl_success) {
    *primitive = NULL;
    return 1;
  }
  return 0;
}

int cvz_dnnl_nchw(dnnl_memory_desc_t *md, long n, long c, long h, long w) {
  dnnl_dims_t dims = {n, c, h, w};
  return dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, dnnl_nchw) != dnnl_success;
}

cvz_dnnl_layout *cvz_dnnl_layout_of(const dnnl_memory_desc_t *md) {
  cvz_dnnl_layout *layout = cvz_alloc(sizeof *layout);
  if (layout) layout->md = *md;
  return layout;
}

void cvz_dnnl_layout_destroy(cvz_dnnl_layout *layout) { cvz_free(layout); }

size_t cvz_dnnl_layout_floats(const cvz_dnnl_layout *layout) {
  return dnnl_memory_desc_get_size(&layout->md) / sizeof(float);
}

int cvz_dnnl_layout_is_nchw(const cvz_dnnl_layout *layout) {
  const dnnl_memory_desc_t *md = &layout->md;
  if (md->ndims != 4) return 0;
  dnnl_memory_desc_t nchw;
  if (cvz_dnnl_nchw(&nchw, md->dims[0], md->dims[1], md->dims[2], md->dims[3])) return 0;
  return dnnl_memory_desc_equal(md, &nchw);
}

int cvz_dnnl_layout_equal(const cvz_dnnl_layout *a, const cvz_dnnl_layout *b) {
  return dnnl_memory_desc_equal(&a->md, &b->md);
}

int cvz_dnnl_to_nchw(const cvz_dnnl_layout *layout, const float *data, float *nchw) {
  const dnnl_memory_desc_t *md = &layout->md;
  if (md->ndims != 4) return CVZ_STATUS_NO_MEMORY;
  dnnl_memory_desc_t plain;
  cvz_dnnl_enter();
  int failed = cvz_dnnl_nchw(&plain, md->dims[0], md->dims[1], md->dims[2], md->dims[3]) ||
               cvz_dnnl_reorder(md, data, &plain, nchw) ||
               dnnl_stream_wait(cvz_dnnl_stream) != dnnl_success;
  cvz_dnnl_leave();
  return failed ? CVZ_STATUS_NO_MEMORY : CVZ_STATUS_OK;
}

int cvz_dnnl_from_nchw(const cvz_dnnl_layout *layout, const float *nchw, float *data) {
  const dnnl_memory_desc_t *md = &layout->md;
  if (md->ndims != 4) return CVZ_STATUS_NO_MEMORY;
  dnnl_memory_desc_t plain;
  cvz_dnnl_enter();
  int failed = cvz_dnnl_nchw(&plain, md->dims[0], md->dims[1], md->dims[2], md->dims[3]) ||
               cvz_dnnl_reorder(&plain, nchw, md, data) ||
               dnnl_stream_wait(cvz_dnnl_stream) != dnnl_success;
  cvz_dnnl_leave();
  return failed ? CVZ_STATUS_NO_MEMORY : CVZ_STATUS_OK;
}

static int blocked(dnnl_memory_desc_t *md, long n, long c, long h, long w, int block) {
  dnnl_dims_t dims = {n, c, h, w};
  dnnl_format_tag_t tag = block == 16 ? dnnl_nChw16c : block == 8 ? dnnl_nChw8c : dnnl_nhwc;
  return dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, tag) != dnnl_success;
}

/// Which of blocked()'s layouts md is: 16 or 8 (nChw16c, nChw8c, with
/// whole blocks), 0 (nhwc), or -1 (none of them).
static int blocked_kind(const dnnl_memory_desc_t *md) {
  if (md->ndims != 4) return -1;
  static const int kinds[] = {16, 8, 0};
  for (int i = 0; i < 3; i++) {
    dnnl_memory_desc_t candidate;
    if (kinds[i] && md->dims[1] % kinds[i]) continue;
    if (!blocked(&candidate, md->dims[0], md->dims[1], md->dims[2], md->dims[3], kinds[i]) &&
        dnnl_memory_desc_equal(md, &candidate))
      return kinds[i];
  }
  return -1;
}

int cvz_dnnl_layout_channel_block(const cvz_dnnl_layout *layout) {
  const int kind = blocked_kind(&layout->md);
  return kind < 0 ? 0 : kind ? kind : (int)layout->md.dims[1];
}

int cvz_dnnl_like(const dnnl_memory_desc_t *md, long n, long c, long h, long w,
                  dnnl_memory_desc_t *out) {
  if (md->ndims != 4 || n < 1) return 1;
  dnnl_memory_desc_t nchw;
  if (!cvz_dnnl_nchw(&nchw, md->dims[0], md->dims[1], md->dims[2], md->dims[3]) &&
      dnnl_memory_desc_equal(md, &nchw))
    return cvz_dnnl_nchw(out, n, c, h, w);
  const int kind = blocked_kind(md);
  // Padded blocks: not a whole number of floats per image.
  if (kind < 0 || (kind && c % kind)) return 1;
  return blocked(out, n, c, h, w, kind);
}

int cvz_dnnl_for_images(const dnnl_memory_desc_t *md, long images, dnnl_memory_desc_t *out) {
  if (md->ndims != 4) return 1;
  return cvz_dnnl_like(md, images, md->dims[1], md->dims[2], md->dims[3], out);
}

cvz_dnnl_layout *cvz_dnnl_layout_blocked(long n, long c, long h, long w, int block) {
  if (block != 16 && block != 8 && block != 0) return NULL;
  dnnl_memory_desc_t md;
  if (blocked(&md, n, c, h, w, block)) return NULL;
  return cvz_dnnl_layout_of(&md);
}
