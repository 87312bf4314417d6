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

#ifdef __cplusplus
}
#endif

#endif
