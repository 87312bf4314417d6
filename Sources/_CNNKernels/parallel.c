#include "parallel.h"

#include <cblas.h>
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static int worker_limit = 1;

static void setup(void) {
  openblas_set_num_threads(1);
  // Training allocates and frees activation-sized buffers (megabytes) every
  // step. glibc would serve each from fresh mmap pages or trim them back to
  // the kernel, paying a page fault per 4 KB each time; keeping them in the
  // heap lets the next step reuse the same memory.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  worker_limit = cores >= 2 ? 2 : 1;
}

void cvz_blas_single_thread(void) { pthread_once(&blas_once, setup); }

typedef struct {
  void (*body)(void *, int);
  void *context;
  int index;
} job;

static void *run_job(void *argument) {
  job *j = argument;
  j->body(j->context, j->index);
  return NULL;
}

void cvz_parallel_for(int count, void (*body)(void *context, int index), void *context) {
  cvz_blas_single_thread();
  if (count <= 1 || worker_limit <= 1) {
    for (int i = 0; i < count; i++) body(context, i);
    return;
  }
  // Index 0 runs on the caller; the rest each get a thread (count is 2 here).
  pthread_t threads[CVZ_CHUNKS];
  job jobs[CVZ_CHUNKS];
  int started[CVZ_CHUNKS] = {0};
  for (int i = 1; i < count && i < CVZ_CHUNKS; i++) {
    jobs[i] = (job){body, context, i};
    started[i] = pthread_create(&threads[i], NULL, run_job, &jobs[i]) == 0;
    if (!started[i]) body(context, i);
  }
  body(context, 0);
  for (int i = 1; i < count && i < CVZ_CHUNKS; i++) {
    if (started[i]) pthread_join(threads[i], NULL);
  }
  for (int i = CVZ_CHUNKS; i < count; i++) body(context, i);
}
