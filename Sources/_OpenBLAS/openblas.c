// The OpenBLAS forwarders; see include/cvz_openblas.h.
#include "cvz_openblas.h"

#if __has_include(<openblas-pthread/cblas.h>)
#include <openblas-pthread/cblas.h>
#else
#include <cblas.h>
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

// LAPACK's symmetric eigensolver, declared as COpenBLAS's shim.h does.
void ssyevd_(const char *jobz, const char *uplo, const blasint *n, float *a, const blasint *lda,
             float *w, float *work, const blasint *lwork, blasint *iwork, const blasint *liwork,
             blasint *info, size_t jobz_length, size_t uplo_length);

// The forwarders are hidden: the link resolves convviz's own calls to them,
// but they stay out of the dynamic symbol table, where they would take the
// place of OpenBLAS's own functions in its calls to itself.
#define CVZ_FORWARDER __attribute__((visibility("hidden")))

#define CVZ_OPENBLAS_SONAME "libopenblas.so.0"

#define CVZ_OPENBLAS_FUNCTIONS(X) \
  X(cblas_sgemm) X(cblas_ssyrk) X(ssyevd_) X(openblas_set_num_threads) X(openblas_get_corename)

#define CVZ_OPENBLAS_DECLARE(name) static __typeof__(&name) loaded_##name;
CVZ_OPENBLAS_FUNCTIONS(CVZ_OPENBLAS_DECLARE)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = 0;
static char failure[400] = "";
/// The thread count asked for before the library was loaded (0: none).
static int requested_threads = 0;
/// The core type convviz set OPENBLAS_CORETYPE to for the load (NULL: it
/// left the variable alone).
static const char *chosen_core = NULL;

// MARK: Core type

unsigned cvz_cpu_features(void) {
  unsigned features = 0;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const unsigned fma = c & (1u << 12), osxsave = c & (1u << 27);
  if (fma) features |= CVZ_CPU_FMA;
  if (osxsave) {
    // XGETBV(0): the state components the OS saves on a context switch.
    unsigned low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    if ((low & 0x6) == 0x6) features |= CVZ_CPU_OS_YMM;    // SSE and AVX state
    if ((low & 0xe6) == 0xe6) features |= CVZ_CPU_OS_ZMM;  // and opmask, ZMM
  }
  if (__get_cpuid_max(0, NULL) < 7) return features;
  __cpuid_count(7, 0, a, b, c, d);
  if (b & (1u << 5)) features |= CVZ_CPU_AVX2;
  if (b & (1u << 16)) features |= CVZ_CPU_AVX512F;
  if (b & (1u << 17)) features |= CVZ_CPU_AVX512DQ;
  if (b & (1u << 28)) features |= CVZ_CPU_AVX512CD;
  if (b & (1u << 30)) features |= CVZ_CPU_AVX512BW;
  if (b & (1u << 31)) features |= CVZ_CPU_AVX512VL;
#endif
  return features;
}

const char *cvz_openblas_core_for(unsigned features) {
  const unsigned avx512 = CVZ_CPU_AVX512F | CVZ_CPU_AVX512BW | CVZ_CPU_AVX512DQ |
                          CVZ_CPU_AVX512VL | CVZ_CPU_AVX512CD | CVZ_CPU_OS_ZMM;
  const unsigned avx2 = CVZ_CPU_AVX2 | CVZ_CPU_FMA | CVZ_CPU_OS_YMM;
  if ((features & (avx512 | avx2)) == (avx512 | avx2)) return "SkylakeX";
  if ((features & avx2) == avx2) return "Haswell";
  return NULL;
}

const char *cvz_openblas_chosen_core(void) {
  return cvz_openblas_is_loaded() ? chosen_core : NULL;
}

static void load_library(void) {
  // OpenBLAS 0.3.21 (Debian 12) reads OPENBLAS_CORETYPE when it is loaded
  // and, without it, falls back to its generic "Prescott" kernels on CPUs
  // newer than it knows (such as Emerald Rapids Xeons, family 6 model 207):
  // several times slower for the products convviz runs.
  // So unless the user set the variable, set it for the load to the core
  // the CPU's features call for, then remove it again, so that the
  // process's environment is as the user left it. (setenv and unsetenv
  // are not safe against a getenv running on another thread; nothing in
  // convviz reads the environment while a network first runs.)
  if (!getenv("OPENBLAS_CORETYPE")) {
    chosen_core = cvz_openblas_core_for(cvz_cpu_features());
    if (chosen_core && setenv("OPENBLAS_CORETYPE", chosen_core, 0) != 0) chosen_core = NULL;
  }
  void *library = dlopen(CVZ_OPENBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (chosen_core) unsetenv("OPENBLAS_CORETYPE");
  if (!library) {
    const char *why = dlerror();
    snprintf(failure, sizeof failure,
             "libopenblas (%s) cannot be loaded, needed to run networks: %s (install "
             "libopenblas0)",
             CVZ_OPENBLAS_SONAME, why ? why : "not found");
    return;
  }
  const char *missing = NULL;
#define CVZ_OPENBLAS_LOOKUP(name)                                                         \
  if (!missing && !(loaded_##name = (__typeof__(loaded_##name))dlsym(library, #name))) { \
    missing = #name;                                                                      \
  }
  CVZ_OPENBLAS_FUNCTIONS(CVZ_OPENBLAS_LOOKUP)
  if (missing) {
    snprintf(failure, sizeof failure, "libopenblas (%s) has no %s", CVZ_OPENBLAS_SONAME, missing);
    return;
  }
  int threads = __atomic_load_n(&requested_threads, __ATOMIC_ACQUIRE);
  if (threads > 0) loaded_openblas_set_num_threads(threads);
  __atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
}

int cvz_openblas_load(char *message, size_t capacity) {
  pthread_once(&once, load_library);
  if (loaded) return 0;
  if (message && capacity > 0) snprintf(message, capacity, "%s", failure);
  return -1;
}

int cvz_openblas_is_loaded(void) { return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE); }

/// Loads the library or ends the process with the reason (see the header).
static void require(void) {
  if (cvz_openblas_load(NULL, 0) == 0) return;
  fprintf(stderr, "convviz: error: %s\n", failure);
  exit(EXIT_FAILURE);
}

CVZ_FORWARDER void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE ta,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE tb, OPENBLAS_CONST blasint m,
                 OPENBLAS_CONST blasint n, OPENBLAS_CONST blasint k, OPENBLAS_CONST float alpha,
                 OPENBLAS_CONST float *a, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float *b,
                 OPENBLAS_CONST blasint ldb, OPENBLAS_CONST float beta, float *c,
                 OPENBLAS_CONST blasint ldc) {
  require();
  loaded_cblas_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

CVZ_FORWARDER void cblas_ssyrk(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_UPLO uplo,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE trans, OPENBLAS_CONST blasint n,
                 OPENBLAS_CONST blasint k, OPENBLAS_CONST float alpha, OPENBLAS_CONST float *a,
                 OPENBLAS_CONST blasint lda, OPENBLAS_CONST float beta, float *c,
                 OPENBLAS_CONST blasint ldc) {
  require();
  loaded_cblas_ssyrk(order, uplo, trans, n, k, alpha, a, lda, beta, c, ldc);
}

CVZ_FORWARDER void ssyevd_(const char *jobz, const char *uplo, const blasint *n, float *a, const blasint *lda,
             float *w, float *work, const blasint *lwork, blasint *iwork, const blasint *liwork,
             blasint *info, size_t jobz_length, size_t uplo_length) {
  require();
  loaded_ssyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info, jobz_length,
                 uplo_length);
}

/// Before the library is loaded, the count is kept and applied when it
/// is (setting it must not load the library: every command sets it).
CVZ_FORWARDER void openblas_set_num_threads(int num_threads) {
  if (cvz_openblas_is_loaded()) {
    loaded_openblas_set_num_threads(num_threads);
  } else {
    __atomic_store_n(&requested_threads, num_threads, __ATOMIC_RELEASE);
    // Loaded meanwhile by another thread, which may have read the old count.
    if (cvz_openblas_is_loaded()) loaded_openblas_set_num_threads(num_threads);
  }
}

CVZ_FORWARDER char *openblas_get_corename(void) {
  static char unavailable[] = "unavailable";
  if (cvz_openblas_load(NULL, 0) != 0) return unavailable;
  return loaded_openblas_get_corename();
}
