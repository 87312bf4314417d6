// Internal: max pooling of a range of planes, for the pooling entry points
// and for Conv2D's fused pooling (conv2d_direct_driver.c).
#ifndef CVZ_POOLING_H
#define CVZ_POOLING_H

#include "cvz_cnn_kernels.h"

// Pools planes [begin, end) of `input` (g's in_height × in_width each) into
// `output`; argmax gets index_base + the flat input index of each window's
// first maximum. g->planes is not read.
void cvz_max_pool_planes(const cvz_pool_geometry *g, const float *input, float *output,
                         int *argmax, int begin, int end, int index_base);

#endif
