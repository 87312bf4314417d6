/*
 * cvz_pool_kernels.h: pooling as an image operation, in C.
 *
 * Why C: the loops run over every output sample of a whole photo; in C
 * they read the interleaved uint8/uint16 samples in place and run in bands
 * of output rows on the _Runtime pool's threads (the bands are independent,
 * so their number changes no sample). No scratch memory is allocated.
 *
 * Semantics are those of Swift's poolReference (ImageFilters), which the
 * tests compare against, and of the Engine's Pooling2D: every channel is
 * pooled on its own; a window reduces only its real (unpadded) samples,
 * to their max, their mean, or sqrt(mean of squares) (L2); mean and L2
 * are computed in double (exact sums) and rounded to the nearest integer,
 * ties to even.
 */
#ifndef CVZ_POOL_KERNELS_H
#define CVZ_POOL_KERNELS_H

#include <cvz_runtime.h>

enum {
  CVZ_POOL_MAX = 0,
  CVZ_POOL_AVERAGE = 1,
  CVZ_POOL_L2 = 2
};

/* A whole pooling job. Output sample (ox, oy, c) reduces the input samples
 * (x, y, c) with x in [ox*stride_x - pad_left, + pool_width) and
 * y in [oy*stride_y - pad_top, + pool_height), clipped to the image. */
typedef struct {
  const void *input;  /* width * height * channels samples */
  void *output;       /* out_width * out_height * channels samples */
  int sample_bytes;   /* 1 (uint8) or 2 (uint16) */
  int width, height, channels;
  int out_width, out_height;
  int pool_width, pool_height;
  int stride_x, stride_y;
  int pad_top, pad_left;
  int mode;           /* CVZ_POOL_* */
  /* Streaming: 0 when `input` holds every row; otherwise it is a ring of
   * this many rows and image row y is at slot y % input_ring_rows. */
  int input_ring_rows;
  /* Output row oy is stored at row oy - out_row_offset of `output` (a band). */
  int out_row_offset;
} cvz_pool;

/* Pools output rows [row_begin, row_end) into p->output. */
void cvz_pool_rows(const cvz_pool *p, int row_begin, int row_end);

/* The first and last input rows that output rows [row_begin, row_end) read
 * (every window holds at least one image row). A streaming caller keeps at
 * least these rows in its ring. */
void cvz_pool_input_rows(const cvz_pool *p, int row_begin, int row_end, int *first, int *last);

/* Pools every output row, in bands on the runtime's threads. Returns
 * CVZ_STATUS_OK (the pool itself allocates nothing). */
int cvz_pool_image(const cvz_pool *p);

#endif
