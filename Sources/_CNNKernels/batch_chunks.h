// Internal: how the CNN kernels cut their work into chunks for the
// _Runtime pool. The counts depend on the shapes alone, never on the thread
// count, so that per-chunk partial sums always cover the same items.
#ifndef CVZ_BATCH_CHUNKS_H
#define CVZ_BATCH_CHUNKS_H

#include <cvz_runtime.h>

// Whole images per chunk: one chunk per image, up to CVZ_CHUNKS.
static inline int cvz_image_chunks(int batch) {
  if (batch < 1) return 1;
  return batch < CVZ_CHUNKS ? batch : CVZ_CHUNKS;
}

// Chunks for `items` work items: as many as there are, up to CVZ_CHUNKS.
static inline int cvz_item_chunks(long items) {
  if (items < 1) return 1;
  return items < CVZ_CHUNKS ? (int)items : CVZ_CHUNKS;
}

// [begin, end) of `count` items in chunk `chunk` of `chunks`.
static inline void cvz_chunk_bounds(int count, int chunks, int chunk, int *begin, int *end) {
  long b, e;
  cvz_chunk_range(count, chunks, chunk, &b, &e);
  *begin = (int)b;
  *end = (int)e;
}

#endif
