/*
 * cvz_filter_kernels.h: the image filter's inner loops, in C.
 *
 * Why C: these loops must vectorise. Written as plain loops over float rows,
 * clang -O3 turns them into SSE2 code, and a second copy compiled with
 * target("avx2,fma") is picked at run time when the CPU has it, so one binary
 * is fast on current machines and still runs on old ones (no -march=native).
 *
 * Model: cvz_filter_image splits the output rows into bands and runs
 * cvz_filter_rows once per band on the _Runtime pool's threads (the bands
 * are independent, so their number changes no pixel). Each call reads the
 * interleaved
 * uint8/uint16 input directly, converts just the input rows it needs into a
 * small ring of padded float rows (border applied), and writes finished
 * output rows. Memory per call is O(kernel height x row width), never a
 * float copy of the image. The semantics are those of Swift's
 * convolveReference/applyReference, which the tests compare against.
 */
#ifndef CVZ_FILTER_KERNELS_H
#define CVZ_FILTER_KERNELS_H

#include <stddef.h>

#include <cvz_runtime.h>

enum {
  CVZ_BORDER_ZERO = 0,
  CVZ_BORDER_REPLICATE = 1,
  CVZ_BORDER_REFLECT = 2, /* OpenCV BORDER_REFLECT_101: dcb|abcd|cba */
  CVZ_BORDER_WRAP = 3
};

enum {
  CVZ_RANGE_CLAMP = 0,    /* round to nearest even, cut to 0..max_value */
  CVZ_RANGE_ABS = 1,      /* |v|, then as clamp */
  CVZ_RANGE_NORMALIZE = 2 /* (v - norm_low) * norm_factor, then as clamp */
};

/* One kernel. column_factor/row_factor are its rank-1 factors, or both NULL. */
typedef struct {
  int rows, cols;
  const float *weights; /* rows * cols, row-major */
  const float *column_factor;
  const float *row_factor;
} cvz_kernel;

/* A whole filter job. Output pixel (ox, oy), colour channel c, is
 *   scale * R + bias,  R = sum_{i,j} w[i][j] * in[oy*stride_y - pad_top + i*dilation_y]
 *                                             [ox*stride_x - pad_left + j*dilation_x][c]
 * (R = sqrt(R0^2 + R1^2) when kernel_count is 2), mapped by `range`.
 * The alpha channel (the last one, when channels > colour_channels) is copied
 * from the input pixel under the anchor tap, clamped into the image. */
typedef struct {
  const void *input;  /* width * height * channels samples */
  void *output;       /* out_width * out_height * channels samples */
  int sample_bytes;   /* 1 (uint8) or 2 (uint16) */
  int width, height, channels, colour_channels;
  int out_width, out_height;
  int stride_x, stride_y, dilation_x, dilation_y;
  int pad_top, pad_left;
  int anchor_row, anchor_col;
  int border;         /* CVZ_BORDER_* */
  int kernel_count;   /* 1, or 2 for gradient magnitude; both kernels the same size */
  cvz_kernel kernels[2];
  float scale, bias;
  int range;          /* CVZ_RANGE_* */
  float norm_low, norm_factor;
  float max_value;    /* 255 or 65535 */
  int baseline_only;  /* 1: never take the AVX2 copy (lets tests cover both) */
  /* Streaming: 0 when `input` holds every row; otherwise it is a ring of
   * this many rows and image row y is at slot y % input_ring_rows. */
  int input_ring_rows;
  /* Output row oy is stored at row oy - out_row_offset of `output` (a band). */
  int out_row_offset;
} cvz_filter;

/* Filters every output row into f->output, in bands of rows on the
 * runtime's threads. For CVZ_RANGE_NORMALIZE it first finds the range
 * (cvz_filter_range over the bands) and sets norm_low and norm_factor, in a
 * copy of *f, so that the range maps onto 0..max_value. Returns
 * CVZ_STATUS_OK, or CVZ_STATUS_NO_MEMORY when a band's scratch memory could
 * not be allocated (f->output is then incomplete). */
int cvz_filter_image(const cvz_filter *f);

/* Filters output rows [row_begin, row_end) into f->output. A filter whose
 * output is its input (one weight of 1 on the output pixel, stride 1,
 * scale 1, bias 0, not normalized: `-k identity`) copies the rows.
 * Returns CVZ_STATUS_OK, or CVZ_STATUS_NO_MEMORY when scratch memory could
 * not be allocated. */
int cvz_filter_rows(const cvz_filter *f, int row_begin, int row_end);

/* The smallest and largest scale * R + bias over the colour samples of output
 * rows [row_begin, row_end) (first pass of CVZ_RANGE_NORMALIZE); writes nothing
 * to f->output. Returns as cvz_filter_rows. */
int cvz_filter_range(const cvz_filter *f, int row_begin, int row_end, float *low, float *high);

/* Sets norm_low and norm_factor so that low..high (cvz_filter_range's
 * result over every output row) maps onto 0..max_value; a constant result
 * (high <= low) maps to 0. cvz_filter_image and a streaming caller that
 * finds the range in a first pass both use it, so they agree bit for bit. */
void cvz_filter_set_normalization(cvz_filter *f, float low, float high);

/* The first and last input rows that output rows [row_begin, row_end) read
 * (kernel taps after the border, and the alpha anchor row), or -1 and -1
 * when they read none (all zero border). A streaming caller keeps at least
 * these rows in its ring. */
void cvz_filter_input_rows(const cvz_filter *f, int row_begin, int row_end, int *first,
                           int *last);

/* Bytes of scratch memory one band allocates, for callers that budget memory
 * (at most cvz_threads() bands run at a time). */
size_t cvz_filter_scratch_bytes(const cvz_filter *f);

#endif
