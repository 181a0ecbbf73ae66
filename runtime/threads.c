/* threads.c - the process-wide thread pool behind nnrt_parallel_for.
 *
 * One pool of (threads - 1) workers, created on the first call that splits
 * work and rebuilt when the thread count changes. A job is split into
 * contiguous chunks that any thread claims, the caller included, so a
 * worker that the scheduler has not run yet (another process has its core)
 * delays nothing: the caller runs its chunks instead. Waiting spins for a
 * few tens of microseconds, which covers the gap between the kernels of a
 * step on a quiet machine, and then sleeps on a condition variable, so a
 * thread never burns a core that another process needs.
 *
 * OpenBLAS runs every call on one thread: its own pthreads server waits for
 * its workers with sched_yield in a loop, which on a loaded machine turns a
 * 20 us product into milliseconds (docs/benchmarks.md); gemm.c splits large
 * products over this pool instead.
 *
 * Invariants: `busy` (under pool.mu) is set while a call is using the
 * workers. A job is published by storing `ticket`: its generation in the
 * high bits, its chunk count and the next unclaimed chunk in the low bits,
 * so that a claim (compare-and-swap) succeeds only for the job it was read
 * from; `remaining` counts the chunks of the current job not yet finished,
 * and the job's fields do not change until it reaches 0. A worker starts
 * from `born`, the generation before its first job. The split of [0, n)
 * depends only on n, the chunk count and so on the sizes and the thread
 * count, never on which thread runs a chunk, so results that depend on the
 * split (float reductions per chunk) are reproducible.
 */
#include "pool.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* More threads than this is a configuration mistake, not a machine. */
enum { MAX_THREADS = 1024 };

/* How long a waiting thread spins before it sleeps. Longer than the gap
 * between two split kernels of a training step, short enough that a thread
 * whose partner lost its core gives the core back within a time slice. */
enum { SPIN_NS = 50000 };

/* ticket: generation (32 bits) | chunk count (16) | next chunk (16). The
 * chunk count is at most MAX_THREADS. A stale claim could succeed only
 * after exactly 2^32 jobs between its load and its compare-and-swap. */
enum { CHUNK_BITS = 16 };
#define CHUNK_MASK ((UINT64_C(1) << CHUNK_BITS) - 1)
_Static_assert(MAX_THREADS <= CHUNK_MASK, "a chunk count must fit its ticket field");

static struct {
  pthread_mutex_t mu;
  pthread_cond_t wake; /* workers: a new generation or stop */
  pthread_cond_t done; /* caller: remaining reached 0 */
  int threads;         /* configured count; 0 until first resolved */
  pthread_t *workers;
  int nworkers;  /* started, <= built_for - 1 if the system refused some */
  int built_for; /* the `threads` the workers were started for */
  bool busy;
  bool atexit_registered;
  uint64_t born; /* generation when the workers were started */
  _Atomic bool stop;
  _Atomic uint64_t ticket;
  atomic_int remaining;
  atomic_int sleepers;       /* workers asleep or about to be */
  atomic_bool caller_asleep; /* the caller sleeps or is about to */
  /* The current job; written before `ticket` is stored. */
  nnrt_range_fn fn;
  void *ctx;
  int64_t n;
} pool = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

/* Set on the threads inside a parallel_for, so a nested call runs inline
 * instead of waiting for workers that are busy running its parent. */
static _Thread_local bool in_parallel;

static uint64_t ticket_gen(uint64_t t) { return t >> (2 * CHUNK_BITS); }
static int ticket_chunks(uint64_t t) { return (int)((t >> CHUNK_BITS) & CHUNK_MASK); }
static int ticket_next(uint64_t t) { return (int)(t & CHUNK_MASK); }

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Spins until done(arg) or SPIN_NS have passed; returns done(arg). */
static bool spin_until(bool (*done)(void *), void *arg) {
  int64_t deadline = 0;
  for (unsigned i = 0;; i++) {
    if (done(arg))
      return true;
    cpu_relax();
    if ((i & 63) == 63) {
      int64_t t = now_ns();
      if (!deadline)
        deadline = t + SPIN_NS;
      else if (t >= deadline)
        return done(arg);
    }
  }
}

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

/* With pool.mu held. The first resolution also puts OpenBLAS on one
 * thread (see the top of this file). */
static int threads_locked(void) {
  if (pool.threads == 0) {
    pool.threads = resolve_threads(0);
    openblas_set_num_threads(1);
  }
  return pool.threads;
}

/* Chunk c of [0, n) split into k nearly equal contiguous parts; the first
 * n % k chunks get one more element. No n * c products, so no overflow. */
static void chunk_range(int64_t n, int k, int c, int64_t *lo, int64_t *hi) {
  int64_t q = n / k, r = n % k;
  *lo = c * q + (c < r ? c : r);
  *hi = *lo + q + (c < r ? 1 : 0);
}

/* Claims and runs chunks of job `gen` until none is left unclaimed; the
 * thread that finishes the job's last chunk wakes a sleeping caller. */
static void run_chunks(uint64_t gen) {
  uint64_t t = atomic_load_explicit(&pool.ticket, memory_order_acquire);
  for (;;) {
    if (ticket_gen(t) != gen || ticket_next(t) >= ticket_chunks(t))
      return;
    if (!atomic_compare_exchange_weak_explicit(&pool.ticket, &t, t + 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue;
    /* Claimed: the job cannot finish, so its fields stay, until this chunk
     * is counted off. */
    int64_t lo, hi;
    chunk_range(pool.n, ticket_chunks(t), ticket_next(t), &lo, &hi);
    pool.fn(pool.ctx, lo, hi);
    if (atomic_fetch_sub(&pool.remaining, 1) == 1 && atomic_load(&pool.caller_asleep)) {
      pthread_mutex_lock(&pool.mu);
      pthread_cond_signal(&pool.done);
      pthread_mutex_unlock(&pool.mu);
    }
    t = atomic_load_explicit(&pool.ticket, memory_order_acquire);
  }
}

typedef struct {
  uint64_t seen;
} WaitJob;

static bool job_or_stop(void *arg) {
  const WaitJob *w = arg;
  return atomic_load(&pool.stop) ||
         ticket_gen(atomic_load_explicit(&pool.ticket, memory_order_acquire)) != w->seen;
}

/* Waits for a job newer than `seen` (or stop): spins, then sleeps. The
 * sleeper count is raised before the last look at the ticket, and the
 * caller stores the ticket before it reads the count, so one of the two
 * sees the other (sequentially consistent atomics): no lost wake-up. */
static void wait_for_job(uint64_t seen) {
  WaitJob w = {seen};
  if (spin_until(job_or_stop, &w))
    return;
  pthread_mutex_lock(&pool.mu);
  atomic_fetch_add(&pool.sleepers, 1);
  while (!job_or_stop(&w))
    pthread_cond_wait(&pool.wake, &pool.mu);
  atomic_fetch_sub(&pool.sleepers, 1);
  pthread_mutex_unlock(&pool.mu);
}

static void *worker_main(void *arg) {
  uint64_t seen = (uintptr_t)arg;
  in_parallel = true;
  for (;;) {
    wait_for_job(seen);
    if (atomic_load(&pool.stop))
      break;
    seen = ticket_gen(atomic_load_explicit(&pool.ticket, memory_order_acquire));
    run_chunks(seen);
  }
  return NULL;
}

/* Joins every worker. Called with pool.mu held and the pool not busy; drops
 * the lock while joining so that workers can see `stop` and leave. */
static void stop_workers_locked(void) {
  if (!pool.workers)
    return;
  atomic_store(&pool.stop, true);
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
  atomic_store(&pool.stop, false);
  pool.busy = false;
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

/* The worker gets `born` as its argument: the first job may be published
 * before the thread first runs, and must not be mistaken for an old one. */
static bool start_worker(pthread_t *thread) {
  return pthread_create(thread, NULL, worker_main, (void *)(uintptr_t)pool.born) == 0;
}

/* Creates threads - 1 workers; with pool.mu held. If the system refuses a
 * thread, the pool works with the ones it got (down to none: the caller
 * runs every chunk). */
static void start_workers_locked(void) {
  int want = pool.threads - 1;
  if (want < 1 || pool.workers)
    return;
  pool.workers = malloc((size_t)want * sizeof *pool.workers);
  if (!pool.workers)
    return;
  pool.born = ticket_gen(atomic_load(&pool.ticket));
  if (!pool.atexit_registered)
    pool.atexit_registered = atexit(shutdown_pool) == 0;
  int started = 0;
  while (started < want && start_worker(&pool.workers[started]))
    started++;
  pool.nworkers = started;
  pool.built_for = pool.threads;
  if (started == 0) {
    free(pool.workers);
    pool.workers = NULL;
  }
}

/* Only records the count: the workers are rebuilt by the next split that
 * finds the pool idle, so this never waits (and may be called from inside a
 * parallel_for body). */
void nnrt_set_threads(int n) {
  int threads = resolve_threads(n);
  pthread_mutex_lock(&pool.mu);
  pool.threads = threads;
  pthread_mutex_unlock(&pool.mu);
  openblas_set_num_threads(1);
}

int nnrt_get_threads(void) {
  pthread_mutex_lock(&pool.mu);
  int threads = threads_locked();
  pthread_mutex_unlock(&pool.mu);
  return threads;
}

static bool job_finished(void *arg) {
  (void)arg;
  return atomic_load(&pool.remaining) == 0;
}

/* Waits for the chunks that workers claimed: spins, then sleeps (the same
 * store-then-load pairing as wait_for_job, on caller_asleep/remaining). */
static void wait_for_job_end(void) {
  if (spin_until(job_finished, NULL))
    return;
  pthread_mutex_lock(&pool.mu);
  atomic_store(&pool.caller_asleep, true);
  while (!job_finished(NULL))
    pthread_cond_wait(&pool.done, &pool.mu);
  atomic_store(&pool.caller_asleep, false);
  pthread_mutex_unlock(&pool.mu);
}

/* Publishes the job, claims chunks like any worker and waits for the ones
 * that workers took. With pool.mu held on entry and on return. */
static void run_on_pool_locked(nnrt_range_fn fn, void *ctx, int64_t n, int nchunks) {
  pool.busy = true;
  pthread_mutex_unlock(&pool.mu);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  atomic_store(&pool.remaining, nchunks);
  uint64_t gen = ticket_gen(atomic_load(&pool.ticket)) + 1;
  atomic_store(&pool.ticket, gen << (2 * CHUNK_BITS) | (uint64_t)nchunks << CHUNK_BITS);
  if (atomic_load(&pool.sleepers) > 0) {
    pthread_mutex_lock(&pool.mu);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
  }
  in_parallel = true;
  run_chunks(gen);
  in_parallel = false;
  wait_for_job_end();
  pthread_mutex_lock(&pool.mu);
  pool.busy = false;
}

/* The same chunks as on the pool, one after the other. */
static void run_inline(nnrt_range_fn fn, void *ctx, int64_t n, int nchunks) {
  for (int c = 0; c < nchunks; c++) {
    int64_t lo, hi;
    chunk_range(n, nchunks, c, &lo, &hi);
    fn(ctx, lo, hi);
  }
}

void nnrt_pool_run(nnrt_range_fn fn, void *ctx, int64_t n, int nchunks) {
  if (!fn || n <= 0)
    return;
  if (nchunks > MAX_THREADS)
    nchunks = MAX_THREADS;
  if (nchunks > n)
    nchunks = (int)n;
  if (nchunks < 2 || in_parallel) {
    run_inline(fn, ctx, n, nchunks < 1 ? 1 : nchunks);
    return;
  }
  pthread_mutex_lock(&pool.mu);
  if (pool.busy) {
    /* Another thread has the pool (the header allows one caller at a time;
     * this keeps a second one correct). */
    pthread_mutex_unlock(&pool.mu);
    run_inline(fn, ctx, n, nchunks);
    return;
  }
  threads_locked();
  if (pool.workers && pool.built_for != pool.threads)
    stop_workers_locked();
  start_workers_locked();
  run_on_pool_locked(fn, ctx, n, nchunks);
  pthread_mutex_unlock(&pool.mu);
}

int nnrt_pool_chunks(int64_t units, double work_ns) {
  int threads = nnrt_get_threads();
  double worth = work_ns / NNRT_POOL_MIN_CHUNK_NS;
  int64_t k = threads;
  if (worth < (double)k)
    k = (int64_t)worth;
  if (units < k)
    k = units;
  return k < 1 ? 1 : (int)k;
}

void nnrt_parallel_for(nnrt_range_fn fn, void *ctx, int64_t n, int64_t grain) {
  if (!fn || n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  int64_t k = nnrt_get_threads();
  if (n / grain < k)
    k = n / grain; /* chunks of at least `grain` elements */
  nnrt_pool_run(fn, ctx, n, k < 1 ? 1 : (int)k);
}
