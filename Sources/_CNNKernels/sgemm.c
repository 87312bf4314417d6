// A row-split sgemm for the dense layers: cache-friendly bands of rows of C
// on the runtime's threads instead of OpenBLAS's own threading.
#include <cblas.h>

#include "batch_chunks.h"
#include "cvz_cnn_kernels.h"

typedef struct {
  int transpose_a, transpose_b, m, n, k, chunks;
  float alpha, beta;
  const float *a, *b;
  float *c;
  int lda, ldb, ldc;
} gemm_job;

static int gemm_chunk(void *context, int chunk) {
  const gemm_job *j = context;
  int begin, end;
  cvz_chunk_bounds(j->m, j->chunks, chunk, &begin, &end);
  if (end <= begin) return CVZ_STATUS_OK;
  // Row r of op(A) starts at a + r·lda, or at column r when A is transposed.
  const float *a = j->transpose_a ? j->a + begin : j->a + (size_t)begin * j->lda;
  cblas_sgemm(CblasRowMajor, j->transpose_a ? CblasTrans : CblasNoTrans,
              j->transpose_b ? CblasTrans : CblasNoTrans, end - begin, j->n, j->k, j->alpha, a,
              j->lda, j->b, j->ldb, j->beta, j->c + (size_t)begin * j->ldc, j->ldc);
  return CVZ_STATUS_OK;
}

// Each chunk packs all of op(B) again, so bands stay at least MIN_ROWS
// tall: for the MNIST network's Dense 4608 → 200 on a batch of 100 that
// means 2 chunks, as many as a 2-core machine can use.
enum { MIN_ROWS = 48 };

void cvz_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  int chunks = m / MIN_ROWS;
  if (chunks > CVZ_CHUNKS) chunks = CVZ_CHUNKS;
  // Below about a megaflop the thread hand-off costs more than it saves.
  if (2.0 * m * n * k < 1e6 || chunks < 2) {
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
                transpose_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
    return;
  }
  gemm_job job = {transpose_a, transpose_b, m, n, k, chunks, alpha, beta, a, b, c, lda, ldb, ldc};
  cvz_parallel_for(chunks, gemm_chunk, &job);
}
