// Kernel scratch memory: one allocator, so every kernel sees a failed
// allocation the same way (NULL) and can report it instead of aborting.
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "cvz_runtime.h"

// A cache line: vector loads never straddle two lines at a buffer's start,
// and two chunks' buffers never share one.
enum { ALIGNMENT = 64 };

static atomic_size_t allocation_limit;  // 0: none

void cvz_set_allocation_limit(size_t bytes) {
  atomic_store_explicit(&allocation_limit, bytes, memory_order_relaxed);
}

void *cvz_alloc(size_t bytes) {
  const size_t limit = atomic_load_explicit(&allocation_limit, memory_order_relaxed);
  if (limit != 0 && bytes > limit) return NULL;
  // aligned_alloc wants a multiple of the alignment; guard the round-up.
  if (bytes > SIZE_MAX - ALIGNMENT) return NULL;
  const size_t rounded = bytes == 0 ? ALIGNMENT : (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  return aligned_alloc(ALIGNMENT, rounded);
}

void *cvz_alloc_zeroed(size_t bytes) {
  void *pointer = cvz_alloc(bytes);
  if (pointer) memset(pointer, 0, bytes);
  return pointer;
}

void cvz_free(void *pointer) { free(pointer); }

void cvz_keep_large_buffers_in_heap(void) {
  // Training allocates and frees activation-sized buffers (megabytes) every
  // step. glibc would serve each from fresh mmap pages or trim them back to
  // the kernel, paying a page fault per 4 KB each time; keeping them in the
  // heap lets the next step reuse the same memory.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

void cvz_advise_huge_pages(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t begin = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t end = ((uintptr_t)p + bytes) & ~(huge - 1);
  if (end > begin) (void)madvise((void *)begin, end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}
