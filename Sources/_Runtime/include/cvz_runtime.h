// The C runtime shared by convviz's kernel targets (_CNNKernels,
// _OptimizerKernels, _FilterKernels): a fork-join thread pool, a fixed work
// split, and scratch allocation that reports failure.
//
// Why one runtime: the CNN kernels and the image filter both split work
// into chunks and both allocate scratch per chunk. With one pool the
// executable sets the thread count in one place, and with one allocator
// every kernel fails the same way when memory runs out: it frees what it
// took and returns CVZ_STATUS_NO_MEMORY, which Swift turns into a typed
// error. Nothing here aborts.
//
// Policy stays with the caller: the runtime never reads the environment
// and never changes process-wide settings (OpenBLAS threads, malloc
// tuning); the convviz executable does that at start-up.
#ifndef CVZ_RUNTIME_H
#define CVZ_RUNTIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What every allocating kernel returns: success, or a scratch allocation
/// failed (or exceeded cvz_set_allocation_limit), in which case the kernel
/// freed what it had taken and left its outputs unspecified. Macros, so that
/// Swift sees them as Int32 like the functions' results.
#define CVZ_STATUS_OK 0
#define CVZ_STATUS_NO_MEMORY (-1)

/// The number of chunks a kernel splits a reduction (a gradient sum over a
/// batch) into, whatever the thread count: chunk c always covers the same
/// images and the chunks' partial sums are added in chunk order, so results
/// are bit-identical with 1, 2 or 64 threads. 8 keeps up to 8 cores busy
/// while each chunk of a 100-image batch still holds 12 or 13 images.
#define CVZ_CHUNKS 8

/// The threads cvz_parallel_for uses, the caller included: one per core the
/// process may run on unless cvz_set_threads said otherwise.
int cvz_threads(void);

/// Sets the thread count for the following cvz_parallel_for calls; 0 or a
/// negative count restores the default (one per core). Counts above 256
/// are taken as 256.
void cvz_set_threads(int count);

/// Runs body(context, i) for every i in [0, count) and waits for all of
/// them. Chunks run on the pool's threads and the caller, in any order and
/// on any thread, so a chunk's result must depend only on its index. Calls
/// made from inside a chunk, or while another thread is using the pool, run
/// their chunks on the calling thread. Returns CVZ_STATUS_OK, or the status
/// of the lowest-numbered chunk that returned one (every chunk still runs).
int cvz_parallel_for(int count, int (*body)(void *context, int index), void *context);

/// [begin, end) of chunk `chunk` when `total` items are cut into `chunks`
/// contiguous parts: begin = ⌊total·chunk / chunks⌋.
void cvz_chunk_range(long total, int chunks, int chunk, long *begin, long *end);

/// Scratch memory for kernels: 64-byte aligned, NULL when the system has
/// none left or `bytes` exceeds the allocation limit. Free with cvz_free.
void *cvz_alloc(size_t bytes);
/// Like cvz_alloc, zero-filled.
void *cvz_alloc_zeroed(size_t bytes);
void cvz_free(void *pointer);

/// Makes cvz_alloc fail for any request above `bytes` (0: no limit), so a
/// caller can bound what one kernel may take, and tests can reach every
/// kernel's out-of-memory path.
void cvz_set_allocation_limit(size_t bytes);

/// Tunes glibc's malloc for a process that allocates and frees large
/// buffers every step (training): they stay in the heap instead of going
/// back to the kernel. Process-wide, so the runtime never calls it; the
/// executable does at start-up.
void cvz_keep_large_buffers_in_heap(void);

/// Asks the kernel to back [p, p + bytes) with transparent huge pages where
/// it can (the whole 2 MiB pages inside the range; a no-op elsewhere). Call
/// before first touching a large fresh buffer: a 4096x4096 RGB image is
/// 12,000 4-KB page faults otherwise, a third of a whole-image filter's time
/// and about a fifth of a whole-image JPEG decode's. numpy does the same for
/// its large arrays, so OpenCV from Python gets it.
void cvz_advise_huge_pages(void *p, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
