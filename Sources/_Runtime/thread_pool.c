// The fork-join pool behind cvz_parallel_for: long-lived workers that
// wait on a condition variable, and chunks handed out by an atomic counter.
//
// A training step makes about a dozen parallel calls, some well under a
// millisecond (pooling, Flatten's transposes, small GEMMs). Creating
// threads for each cost about as much as some of that work (clone, fresh
// stacks faulted in, TLS set-up, cold caches); waking a waiting worker
// costs a wake-up. Chunks are claimed, not assigned, so a thread that
// finishes early takes the next one; which thread runs a chunk never
// changes its result.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "cvz_runtime.h"

enum { MAX_THREADS = 256 };

static atomic_int requested_threads;  // 0: one per core

static pthread_once_t cores_once = PTHREAD_ONCE_INIT;
static int cores = 1;

// The CPUs this process may run on (taskset, cgroup cpusets), else the
// online ones.
static void count_cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
    cores = CPU_COUNT(&set);
    return;
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  cores = online > 0 ? (int)online : 1;
}

int cvz_threads(void) {
  int n = atomic_load_explicit(&requested_threads, memory_order_relaxed);
  if (n <= 0) {
    pthread_once(&cores_once, count_cores);
    n = cores;
  }
  return n < MAX_THREADS ? n : MAX_THREADS;
}

void cvz_set_threads(int count) {
  atomic_store_explicit(&requested_threads, count > 0 ? count : 0, memory_order_relaxed);
}

void cvz_chunk_range(long total, int chunks, int chunk, long *begin, long *end) {
  *begin = total * chunk / chunks;
  *end = total * (chunk + 1) / chunks;
}

// MARK: The pool

// Everything below `lock` is written under it. A job is published by
// bumping `generation`; workers with id < `helpers` take part in it and
// count `running` down when the chunks run out.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_posted = PTHREAD_COND_INITIALIZER;
static pthread_cond_t job_finished = PTHREAD_COND_INITIALIZER;
static int workers;
static unsigned long generation;
// The generation current when each worker was started: a worker started
// for a job must not take that job's generation as already seen.
static unsigned long born[MAX_THREADS];
static int helpers, running;
static int (*job_body)(void *, int);
static void *job_context;
static int job_count;
static int failed_chunk, failed_status;
static atomic_int next_chunk;

// One caller at a time may use the workers; others (and calls made from
// inside a chunk) run all their chunks themselves.
static pthread_mutex_t caller = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int inside_chunk;

static void record_failure(int chunk, int status) {
  pthread_mutex_lock(&lock);
  if (chunk < failed_chunk) {
    failed_chunk = chunk;
    failed_status = status;
  }
  pthread_mutex_unlock(&lock);
}

static void run_claimed_chunks(void) {
  for (;;) {
    const int chunk = atomic_fetch_add_explicit(&next_chunk, 1, memory_order_relaxed);
    if (chunk >= job_count) return;
    const int status = job_body(job_context, chunk);
    if (status != CVZ_STATUS_OK) record_failure(chunk, status);
  }
}

static void *worker(void *argument) {
  const int id = (int)(long)argument;
  inside_chunk = 1;
  pthread_mutex_lock(&lock);
  unsigned long seen = born[id];
  for (;;) {
    while (generation == seen) pthread_cond_wait(&job_posted, &lock);
    seen = generation;
    if (id >= helpers) continue;
    pthread_mutex_unlock(&lock);
    run_claimed_chunks();
    pthread_mutex_lock(&lock);
    if (--running == 0) pthread_cond_signal(&job_finished);
  }
  return NULL;
}

// Starts workers until there are `wanted` (under `lock`); stops at the
// first failure and makes do with those it has.
static void start_workers(int wanted) {
  while (workers < wanted) {
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    born[workers] = generation;
    const int started =
        pthread_create(&thread, &attributes, worker, (void *)(long)workers) == 0;
    pthread_attr_destroy(&attributes);
    if (!started) return;
    workers++;
  }
}

static int run_serially(int count, int (*body)(void *, int), void *context) {
  int status = CVZ_STATUS_OK;
  for (int i = 0; i < count; i++) {
    const int s = body(context, i);
    if (status == CVZ_STATUS_OK) status = s;
  }
  return status;
}

int cvz_parallel_for(int count, int (*body)(void *context, int index), void *context) {
  const int threads = cvz_threads();
  if (count <= 1 || threads <= 1 || inside_chunk || pthread_mutex_trylock(&caller) != 0) {
    return run_serially(count, body, context);
  }
  pthread_mutex_lock(&lock);
  start_workers(threads - 1);
  int wanted = count - 1 < threads - 1 ? count - 1 : threads - 1;
  if (wanted > workers) wanted = workers;
  if (wanted == 0) {
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&caller);
    return run_serially(count, body, context);
  }
  job_body = body;
  job_context = context;
  job_count = count;
  failed_chunk = count;
  failed_status = CVZ_STATUS_OK;
  atomic_store_explicit(&next_chunk, 0, memory_order_relaxed);
  helpers = wanted;
  running = wanted;
  generation++;
  pthread_cond_broadcast(&job_posted);
  pthread_mutex_unlock(&lock);

  inside_chunk = 1;
  run_claimed_chunks();
  inside_chunk = 0;

  pthread_mutex_lock(&lock);
  while (running > 0) pthread_cond_wait(&job_finished, &lock);
  const int status = failed_status;
  pthread_mutex_unlock(&lock);
  pthread_mutex_unlock(&caller);
  return status;
}
