// Internal: the AVX2 direct-convolution microkernels (conv2d_direct.c).
#ifndef CVZ_DIRECT_H
#define CVZ_DIRECT_H

// A channels-last image: data[(y·width + x)·channels + c].
typedef struct {
  const float *data;
  int height, width, channels;
} cvz_hwc_image;

// Nonzero when the CPU has AVX2 and FMA.
int cvz_direct_conv_supported(void);

// Rearranges an HWIO kernel (taps = kh·kw, cin, cout) for
// cvz_direct_correlate: output channels in blocks of 16 (the last one may
// be 8 wide), each block's weights contiguous as [tap][cin][block width].
// A block's weights then fill L1 sets evenly; read straight from HWIO
// with 32 or more output channels they land on only half of them, and the
// kernel misses L1 on every tap.
void cvz_direct_pack_weights(const float *hwio, int taps, int cin, int cout, float *packed);

// dst (cout, out_height, out_width) rows [row_begin, row_end) =
// correlate(src, w) + bias, then ReLU if relu, where w is a kernel with
// `cout` output channels packed by cvz_direct_pack_weights. src row 0 is
// the first padded row output row row_begin reads. cout must be a
// multiple of 8.
void cvz_direct_correlate(const cvz_hwc_image *src, int out_height, int out_width, int row_begin,
                          int row_end, int stride_y, int stride_x, int kh, int kw,
                          const float *w, int cout, const float *bias, int relu, float *dst);

// dw_hwio += Σ_pixels x (padded HWC) ⊗ dy (oh, ow, cout) for every tap;
// dy's rows are dy_row_step floats apart (ow·cout when packed).
void cvz_direct_weight_gradient(const cvz_hwc_image *x, const float *dy_hwc, int dy_row_step,
                                int oh, int ow, int stride_y, int stride_x, int kh, int kw,
                                int cout, float *dw_hwio);

// Copies the padded window rows [first_row, first_row + rows) of a CHW
// plane stack (channels, height, width_in) into HWC `dst` of width `width`:
// dst row r, column q holds src (first_row + r − pad_top, q − pad_left), zero
// outside the source. When mask is not NULL, values where mask ≤ 0 become
// zero (the fused ReLU's backward). 8×8 blocks are transposed in registers.
void cvz_direct_to_padded_hwc(const float *src, const float *mask, int channels, int height,
                              int width_in, int first_row, int rows, int width, int pad_top,
                              int pad_left, float *dst);

#endif
