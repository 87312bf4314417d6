/* OpenBLAS's headers only: the library is not linked but opened at first
   use by the _OpenBLAS target, which defines the functions below that
   convviz calls (see cvz_openblas.h). Debian's libopenblas-dev installs
   the header under openblas-pthread/; <cblas.h> is the alternatives link
   to it (or to another BLAS's, without OpenBLAS's own functions). */
#if __has_include(<openblas-pthread/cblas.h>)
#include <openblas-pthread/cblas.h>
#else
#include <cblas.h>
#endif

/* LAPACK's symmetric eigensolver (divide and conquer), which libopenblas
   exports; Debian installs no lapacke.h beside OpenBLAS's headers, so the
   Fortran interface is declared here. The two trailing lengths are the
   hidden lengths of the character arguments that gfortran passes. */
void ssyevd_(const char *jobz, const char *uplo, const blasint *n, float *a,
             const blasint *lda, float *w, float *work, const blasint *lwork,
             blasint *iwork, const blasint *liwork, blasint *info,
             size_t jobz_length, size_t uplo_length);
