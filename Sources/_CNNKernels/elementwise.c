// The channels-first ↔ channels-last copies of Flatten and the sums of
// residual connections in inference (vectorised here). The copies, no
// faster per element, are cut into chunks of images.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cvz_cnn_kernels.h"

typedef struct {
  const float *src;
  float *dst;
  int images, rows, columns;
} transpose_job;

// dst[j·rows + i] = src[i·columns + j] for each image, in cache-sized tiles.
static int transpose_chunk(void *context, int chunk) {
  const transpose_job *job = context;
  enum { TILE = 16 };
  const int rows = job->rows, columns = job->columns;
  const size_t image = (size_t)rows * columns;
  const int begin = job->images * chunk / CVZ_CHUNKS, end = job->images * (chunk + 1) / CVZ_CHUNKS;
  for (int n = begin; n < end; n++) {
    const float *src = job->src + n * image;
    float *dst = job->dst + n * image;
    for (int i0 = 0; i0 < rows; i0 += TILE) {
      const int i1 = i0 + TILE < rows ? i0 + TILE : rows;
      for (int j0 = 0; j0 < columns; j0 += TILE) {
        const int j1 = j0 + TILE < columns ? j0 + TILE : columns;
        for (int i = i0; i < i1; i++)
          for (int j = j0; j < j1; j++) dst[(size_t)j * rows + i] = src[(size_t)i * columns + j];
      }
    }
  }
  return CVZ_STATUS_OK;
}

void cvz_transpose_images(const float *src, float *dst, int images, int rows, int columns) {
  transpose_job job = {src, dst, images, rows, columns};
  cvz_parallel_for(CVZ_CHUNKS, transpose_chunk, &job);
}

void cvz_add(const float *a, const float *b, float *y, size_t count, int relu) {
  if (relu) {
    for (size_t i = 0; i < count; i++) {
      float sum = a[i] + b[i];
      y[i] = sum > 0 ? sum : 0;
    }
  } else {
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
  }
}

void cvz_join_channels(int batch, long plane, int block, int count, const float *const *inputs,
                       const int *channels, float *y) {
  long total = 0;
  for (int i = 0; i < count; i++) total += channels[i];
  if (block > 0) {
    // Whole blocks: per image, each input's planes one after the other.
    for (int n = 0; n < batch; n++) {
      float *out = y + n * total * plane;
      for (int i = 0; i < count; i++) {
        long chunk = channels[i] * plane;
        memcpy(out, inputs[i] + n * chunk, chunk * sizeof(float));
        out += chunk;
      }
    }
    return;
  }
  // Channels-last: per pixel, each input's channels one after the other.
  for (long p = 0; p < batch * plane; p++) {
    float *out = y + p * total;
    for (int i = 0; i < count; i++) {
      memcpy(out, inputs[i] + p * channels[i], channels[i] * sizeof(float));
      out += channels[i];
    }
  }
}
