// Internal: a tiny fork-join helper and the BLAS thread setup.
#ifndef CVZ_PARALLEL_H
#define CVZ_PARALLEL_H

// The batch is always cut into this many chunks, whatever the core count,
// so that gradient sums have a fixed order.
#define CVZ_CHUNKS 2

// Runs body(context, i) for i in [0, count) on up to two threads and waits.
void cvz_parallel_for(int count, void (*body)(void *context, int index), void *context);

// Makes OpenBLAS single-threaded (once); our own workers provide parallelism.
void cvz_blas_single_thread(void);

#endif
