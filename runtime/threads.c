/* threads.c - the process-wide thread pool behind nnrt_parallel_for.
 *
 * One pool of (threads - 1) workers, created on the first call that splits
 * work and rebuilt when the thread count changes; the calling thread always
 * runs chunk 0, worker i runs chunk i. Workers sleep on a condition variable
 * between calls, so an idle pool costs no CPU that OpenBLAS could use.
 *
 * Invariants (all under pool.mu): `busy` is set while a call is using the
 * workers; a new job is published by bumping `generation`; `pending` counts
 * the worker chunks of the current job that have not finished; a worker
 * starts from `born`, the generation before its first job. The split of
 * [0, n) depends only on n, grain and the thread count, so results that
 * depend on the split (float reductions per chunk) are reproducible.
 */
#include "nnrt.h"

#include <cblas.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* More threads than this is a configuration mistake, not a machine. */
enum { MAX_THREADS = 1024 };

static struct {
  pthread_mutex_t mu;
  pthread_cond_t wake; /* workers: a new generation or stop */
  pthread_cond_t done; /* caller: pending reached 0, or busy cleared */
  int threads;         /* configured count; 0 until first resolved */
  pthread_t *workers;
  int nworkers;  /* started, <= built_for - 1 if the system refused some */
  int built_for; /* the `threads` the workers were started for */
  bool stop;
  bool busy;
  bool atexit_registered;
  uint64_t generation;
  uint64_t born; /* generation when the workers were started */
  /* The current job. */
  nnrt_range_fn fn;
  void *ctx;
  int64_t n;
  int nchunks;
  int pending;
} pool = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

/* Set on the threads inside a parallel_for, so a nested call runs inline
 * instead of waiting for workers that are busy running its parent. */
static _Thread_local bool in_parallel;

static int default_threads(void) {
  const char *env = getenv("NNC_THREADS");
  if (env && *env) {
    char *end;
    long v = strtol(env, &end, 10);
    if (*end == '\0' && v > 0)
      return v > MAX_THREADS ? MAX_THREADS : (int)v;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1)
    return 1;
  return cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
}

static int resolve_threads(int n) {
  if (n <= 0)
    return default_threads();
  return n > MAX_THREADS ? MAX_THREADS : n;
}

/* Chunk c of [0, n) split into k nearly equal contiguous parts; the first
 * n % k chunks get one more element. No n * c products, so no overflow. */
static void chunk_range(int64_t n, int k, int c, int64_t *lo, int64_t *hi) {
  int64_t q = n / k, r = n % k;
  *lo = c * q + (c < r ? c : r);
  *hi = *lo + q + (c < r ? 1 : 0);
}

static void *worker_main(void *arg) {
  int chunk = (int)(intptr_t)arg;
  in_parallel = true;
  pthread_mutex_lock(&pool.mu);
  /* Not pool.generation: the first job may have been published before this
   * thread got the lock, and it must not be mistaken for an old one. */
  uint64_t seen = pool.born;
  for (;;) {
    while (!pool.stop && pool.generation == seen)
      pthread_cond_wait(&pool.wake, &pool.mu);
    if (pool.stop)
      break;
    seen = pool.generation;
    if (chunk >= pool.nchunks)
      continue;
    nnrt_range_fn fn = pool.fn;
    void *ctx = pool.ctx;
    int64_t lo, hi;
    chunk_range(pool.n, pool.nchunks, chunk, &lo, &hi);
    pthread_mutex_unlock(&pool.mu);
    fn(ctx, lo, hi);
    pthread_mutex_lock(&pool.mu);
    if (--pool.pending == 0)
      pthread_cond_signal(&pool.done);
  }
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

/* Joins every worker. Called with pool.mu held and the pool not busy; drops
 * the lock while joining so that workers can see `stop` and leave. */
static void stop_workers_locked(void) {
  if (!pool.workers)
    return;
  pool.stop = true;
  pthread_cond_broadcast(&pool.wake);
  pthread_t *workers = pool.workers;
  int nworkers = pool.nworkers;
  pool.workers = NULL;
  pool.nworkers = 0;
  pool.busy = true; /* keep other callers off while unlocked */
  pthread_mutex_unlock(&pool.mu);
  for (int i = 0; i < nworkers; i++)
    pthread_join(workers[i], NULL);
  free(workers);
  pthread_mutex_lock(&pool.mu);
  pool.stop = false;
  pool.busy = false;
  pthread_cond_broadcast(&pool.done);
}

/* Runs at exit so that no thread or allocation outlives main (valgrind). An
 * exit from inside a parallel_for leaves the pool alone rather than join the
 * thread that is exiting. */
static void shutdown_pool(void) {
  pthread_mutex_lock(&pool.mu);
  if (!pool.busy && !in_parallel)
    stop_workers_locked();
  pthread_mutex_unlock(&pool.mu);
}

/* Creates threads - 1 workers; with pool.mu held. If the system refuses a
 * thread, the pool works with the ones it got (down to none: inline). */
static void start_workers_locked(void) {
  int want = pool.threads - 1;
  if (want < 1 || pool.workers)
    return;
  pool.workers = malloc((size_t)want * sizeof *pool.workers);
  if (!pool.workers)
    return;
  pool.born = pool.generation;
  if (!pool.atexit_registered)
    pool.atexit_registered = atexit(shutdown_pool) == 0;
  int started = 0;
  while (started < want && pthread_create(&pool.workers[started], NULL, worker_main,
                                          (void *)(intptr_t)(started + 1)) == 0)
    started++;
  pool.nworkers = started;
  pool.built_for = pool.threads;
  if (started == 0) {
    free(pool.workers);
    pool.workers = NULL;
  }
}

/* Only records the count: the workers are rebuilt by the next
 * nnrt_parallel_for that finds the pool idle, so this never waits (and may
 * be called from inside a parallel_for body). */
void nnrt_set_threads(int n) {
  int threads = resolve_threads(n);
  pthread_mutex_lock(&pool.mu);
  pool.threads = threads;
  pthread_mutex_unlock(&pool.mu);
  openblas_set_num_threads(threads);
}

int nnrt_get_threads(void) {
  pthread_mutex_lock(&pool.mu);
  if (pool.threads == 0)
    pool.threads = resolve_threads(0);
  int threads = pool.threads;
  pthread_mutex_unlock(&pool.mu);
  return threads;
}

/* Publishes the job, runs chunk 0 here and waits for the workers' chunks. */
static void run_on_pool_locked(nnrt_range_fn fn, void *ctx, int64_t n, int nchunks) {
  pool.busy = true;
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.nchunks = nchunks;
  pool.pending = nchunks - 1;
  pool.generation++;
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.mu);

  int64_t lo, hi;
  chunk_range(n, nchunks, 0, &lo, &hi);
  in_parallel = true;
  fn(ctx, lo, hi);
  in_parallel = false;

  pthread_mutex_lock(&pool.mu);
  while (pool.pending > 0)
    pthread_cond_wait(&pool.done, &pool.mu);
  pool.busy = false;
  pthread_cond_broadcast(&pool.done);
}

void nnrt_parallel_for(nnrt_range_fn fn, void *ctx, int64_t n, int64_t grain) {
  if (!fn || n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  /* n / 2 >= grain is n >= 2 * grain without the overflow. */
  if (in_parallel || n / 2 < grain) {
    fn(ctx, 0, n);
    return;
  }
  pthread_mutex_lock(&pool.mu);
  if (pool.threads == 0)
    pool.threads = resolve_threads(0);
  if (pool.busy || pool.threads < 2) {
    /* Another thread has the pool (the header allows one caller at a time;
     * this keeps a second one correct) or there is nothing to split over.
     * Idle workers of an earlier, larger count sleep until the next split
     * or exit. */
    pthread_mutex_unlock(&pool.mu);
    fn(ctx, 0, n);
    return;
  }
  if (pool.workers && pool.built_for != pool.threads)
    stop_workers_locked();
  start_workers_locked();
  int64_t most = n / grain; /* chunks of at least `grain` elements */
  int nchunks = pool.nworkers + 1;
  if (most < nchunks)
    nchunks = (int)most;
  if (nchunks < 2) {
    pthread_mutex_unlock(&pool.mu);
    fn(ctx, 0, n);
    return;
  }
  run_on_pool_locked(fn, ctx, n, nchunks);
  pthread_mutex_unlock(&pool.mu);
}
