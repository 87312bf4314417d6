// The fork-join helper: one long-lived worker thread that takes chunk 1 of
// each cvz_parallel_for while the caller runs chunk 0.
//
// A training step makes about a dozen parallel calls, some well under a
// millisecond (pooling, Flatten's transposes, small GEMMs). Creating a
// thread for each cost about as much as some of that work (clone, a fresh
// stack faulted in, TLS set-up, cold caches); handing the chunk to a worker
// that waits on a condition variable costs a wake-up.
#include "parallel.h"

#include <cblas.h>
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int have_worker = 0;

// The job whose chunk 1 the worker runs next, published under `lock`:
// `posted` counts jobs handed out, `finished` jobs done; the worker runs
// job `posted` when posted > finished.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_posted = PTHREAD_COND_INITIALIZER;
static pthread_cond_t job_finished = PTHREAD_COND_INITIALIZER;
static void (*job_body)(void *, int);
static void *job_context;
static unsigned long posted, finished;
// One caller at a time may use the worker; others (and calls made from
// inside a chunk) run all their chunks themselves.
static pthread_mutex_t caller = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int inside_chunk;

static void *worker(void *unused) {
  (void)unused;
  inside_chunk = 1;
  pthread_mutex_lock(&lock);
  for (;;) {
    while (posted == finished) pthread_cond_wait(&job_posted, &lock);
    void (*body)(void *, int) = job_body;
    void *context = job_context;
    pthread_mutex_unlock(&lock);
    body(context, 1);
    pthread_mutex_lock(&lock);
    finished = posted;
    pthread_cond_signal(&job_finished);
  }
  return NULL;
}

static void setup(void) {
  openblas_set_num_threads(1);
  // Training allocates and frees activation-sized buffers (megabytes) every
  // step. glibc would serve each from fresh mmap pages or trim them back to
  // the kernel, paying a page fault per 4 KB each time; keeping them in the
  // heap lets the next step reuse the same memory.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
  pthread_t thread;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  have_worker = pthread_create(&thread, &attributes, worker, NULL) == 0;
  pthread_attr_destroy(&attributes);
}

void cvz_blas_single_thread(void) { pthread_once(&setup_once, setup); }

void cvz_parallel_for(int count, void (*body)(void *context, int index), void *context) {
  cvz_blas_single_thread();
  if (count <= 1 || !have_worker || inside_chunk || pthread_mutex_trylock(&caller) != 0) {
    for (int i = 0; i < count; i++) body(context, i);
    return;
  }
  pthread_mutex_lock(&lock);
  job_body = body;
  job_context = context;
  posted++;
  pthread_cond_signal(&job_posted);
  pthread_mutex_unlock(&lock);

  inside_chunk = 1;
  body(context, 0);
  for (int i = CVZ_CHUNKS; i < count; i++) body(context, i);
  inside_chunk = 0;

  pthread_mutex_lock(&lock);
  while (finished != posted) pthread_cond_wait(&job_finished, &lock);
  pthread_mutex_unlock(&lock);
  pthread_mutex_unlock(&caller);
}
