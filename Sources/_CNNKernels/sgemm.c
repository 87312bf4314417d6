// A row-split sgemm for the dense layers: cache-friendly halves on the two
// workers instead of OpenBLAS's own threading (which we switched off).
#include <cblas.h>

#include "cvz_cnn_kernels.h"
#include "parallel.h"

typedef struct {
  int transpose_a, transpose_b, m, n, k;
  float alpha, beta;
  const float *a, *b;
  float *c;
  int lda, ldb, ldc;
} gemm_job;

static void gemm_chunk(void *context, int chunk) {
  const gemm_job *j = context;
  const int begin = j->m * chunk / CVZ_CHUNKS, end = j->m * (chunk + 1) / CVZ_CHUNKS;
  if (end <= begin) return;
  // Row r of op(A) starts at a + r·lda, or at column r when A is transposed.
  const float *a = j->transpose_a ? j->a + begin : j->a + (size_t)begin * j->lda;
  cblas_sgemm(CblasRowMajor, j->transpose_a ? CblasTrans : CblasNoTrans,
              j->transpose_b ? CblasTrans : CblasNoTrans, end - begin, j->n, j->k, j->alpha, a,
              j->lda, j->b, j->ldb, j->beta, j->c + (size_t)begin * j->ldc, j->ldc);
}

void cvz_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  gemm_job job = {transpose_a, transpose_b, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc};
  // Below about a megaflop the thread start costs more than it saves.
  if (2.0 * m * n * k < 1e6 || m < 2 * CVZ_CHUNKS) {
    cvz_blas_single_thread();
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
                transpose_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
    return;
  }
  cvz_parallel_for(CVZ_CHUNKS, gemm_chunk, &job);
}
