#include <cblas.h>

/* LAPACK's symmetric eigensolver (divide and conquer), which libopenblas
   exports; Debian installs no lapacke.h beside OpenBLAS's headers, so the
   Fortran interface is declared here. The two trailing lengths are the
   hidden lengths of the character arguments that gfortran passes. */
void ssyevd_(const char *jobz, const char *uplo, const blasint *n, float *a,
             const blasint *lda, float *w, float *work, const blasint *lwork,
             blasint *iwork, const blasint *liwork, blasint *info,
             size_t jobz_length, size_t uplo_length);
