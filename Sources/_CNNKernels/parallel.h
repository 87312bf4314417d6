// Internal: a tiny fork-join helper and the BLAS thread setup.
#ifndef CVZ_PARALLEL_H
#define CVZ_PARALLEL_H

// The batch is always cut into this many chunks, whatever the core count,
// so that gradient sums have a fixed order.
#define CVZ_CHUNKS 2

// cvz_parallel_for is public (cvz_cnn_kernels.h): the optimizer kernels use it too.
#include "cvz_cnn_kernels.h"

// Makes OpenBLAS single-threaded (once); our own workers provide parallelism.
void cvz_blas_single_thread(void);

#endif
