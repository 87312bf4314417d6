// Internal: batch drivers for the direct AVX2 Conv2D.
#ifndef CVZ_DIRECT_DRIVER_H
#define CVZ_DIRECT_DRIVER_H

#include <stddef.h>

#include "cvz_cnn_kernels.h"

// Whether the direct path can compute the forward pass and weight gradient
// (AVX2+FMA, out channels a multiple of 8).
int cvz_direct_forward_applies(const cvz_conv_geometry *g);
// Whether it can also compute the input gradient (in channels a multiple of
// 8, stride 1).
int cvz_direct_input_gradient_applies(const cvz_conv_geometry *g);

// See cvz_conv2d_saved_input_floats: nonzero when forward can keep the
// padded channels-last input copies for backward.
size_t cvz_direct_saved_input_floats(const cvz_conv_geometry *g);

// Whether cvz_direct_forward_pooled/backward_pooled apply (see
// cvz_conv2d_pooling_fuses).
int cvz_direct_pooling_fuses(const cvz_conv_geometry *g);
int cvz_direct_forward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                              const float *input, const float *kernel_hwio, const float *bias,
                              int relu, float *pooled, int *argmax, float *saved_input);
int cvz_direct_backward_pooled(const cvz_conv_geometry *g, const cvz_pool_geometry *pool,
                               const int *argmax, const float *input, const float *saved_input,
                               const float *kernel_hwio, const float *d_pooled,
                               const float *pooled, float *d_input, float *d_kernel_hwio,
                               float *d_bias);

// The entry points return CVZ_STATUS_OK or CVZ_STATUS_NO_MEMORY.
int cvz_direct_forward(const cvz_conv_geometry *g, const float *input, const float *kernel_hwio,
                       const float *bias, int relu, float *output, float *saved_input);
int cvz_direct_backward(const cvz_conv_geometry *g, const float *input,
                        const float *saved_input, const float *kernel_hwio,
                        const float *d_output, const float *relu_output, float *d_input,
                        float *d_kernel_hwio, float *d_bias);

#endif
