// OpenBLAS, opened when first used rather than linked.
//
// Why: linking libopenblas (and with it libgfortran and libquadmath) made
// every convviz command load it at start-up, though only the networks'
// dense layers and im2col convolutions and `embed`'s PCA and t-SNE call
// it; filter and codec commands never do. This target defines the
// OpenBLAS functions convviz calls (cblas_sgemm, cblas_ssyrk, ssyevd_,
// openblas_set_num_threads, openblas_get_corename) under their own names,
// as forwarders: the first call opens libopenblas.so.0 (dlopen) and finds
// the real ones, so callers include <cblas.h> (the COpenBLAS module) and
// call them as always. A new OpenBLAS function convviz calls must be added
// to the table in openblas.c, or the link fails with "undefined reference".
//
// Missing library: code that can fail calls cvz_openblas_load first (the
// engine does before a network runs) and turns its -1 into a typed error
// naming the library. A forwarder called without that check, on a machine
// without the library, prints the same one line on stderr and exits with
// status 1: it has no way to return an error.
//
// Core type: Debian 12's OpenBLAS (0.3.21, built for every x86 core and
// picking one at load time) does not know CPUs newer than Ice Lake and
// Cooper Lake and falls back to its generic "Prescott" kernels on them,
// several times slower. When OPENBLAS_CORETYPE is unset, the loader sets
// it for the load to the core the CPU's features call for
// (cvz_openblas_core_for), and removes it again afterwards; a value the
// user set is always left as it is. Cooperlake (0.3.21 has it, for CPUs
// with AVX512-BF16) measured no faster than SkylakeX for convviz's
// single-precision products (bench/openblas_core.sh), so it is not picked.
#ifndef CVZ_OPENBLAS_H
#define CVZ_OPENBLAS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Opens libopenblas.so.0 and finds every function convviz calls (once;
/// later calls return the first result). Returns 0, or -1 with a one-line
/// reason naming the library in `message` (up to `capacity` bytes with
/// the NUL).
int cvz_openblas_load(char *message, size_t capacity);

/// 1 when libopenblas has been loaded in this process, else 0; it never
/// loads the library itself.
int cvz_openblas_is_loaded(void);

/// The CPU features that decide OpenBLAS's core type, as bits.
enum {
  CVZ_CPU_AVX2 = 1 << 0,
  CVZ_CPU_FMA = 1 << 1,
  /// The OS saves the YMM registers (XGETBV): AVX code may run.
  CVZ_CPU_OS_YMM = 1 << 2,
  CVZ_CPU_AVX512F = 1 << 3,
  CVZ_CPU_AVX512BW = 1 << 4,
  CVZ_CPU_AVX512DQ = 1 << 5,
  CVZ_CPU_AVX512VL = 1 << 6,
  CVZ_CPU_AVX512CD = 1 << 7,
  /// The OS saves the opmask and ZMM registers: AVX-512 code may run.
  CVZ_CPU_OS_ZMM = 1 << 8,
};

/// This CPU's features (CPUID and XGETBV), as CVZ_CPU_* bits; 0 off x86.
unsigned cvz_cpu_features(void);

/// The OpenBLAS core type for a CPU with `features` (CVZ_CPU_* bits):
/// "SkylakeX" with AVX-512 F, BW, DQ, VL and CD and the OS saving ZMM
/// state (on top of what Haswell needs), "Haswell" with AVX2, FMA and the
/// OS saving YMM state, else NULL (OpenBLAS's own choice is kept).
const char *cvz_openblas_core_for(unsigned features);

/// The core type the loader set OPENBLAS_CORETYPE to when it loaded the
/// library, or NULL when it did not (not loaded yet, the user's value,
/// or no core called for).
const char *cvz_openblas_chosen_core(void);

#ifdef __cplusplus
}
#endif

#endif
