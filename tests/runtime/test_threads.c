/* test_threads.c - nnrt_parallel_for and the thread count.
 *
 * For many (threads, n, grain): every index is visited exactly once; the
 * ranges are contiguous, balanced, at least `grain` long, as many as
 * min(threads, n / grain) when split and a single [0, n) on the calling
 * thread when not; the split is the same on every call. The split policy:
 * work below two minimum chunks stays on the caller. Workers that fell
 * asleep wake for the next job and run it beside the caller; a caller that
 * fell asleep waiting wakes when the last chunk ends; many short jobs in a
 * row each run every index once. Also: nested calls run inline, idle
 * workers use no CPU, OpenBLAS is kept on one thread, the default count
 * comes from $NNC_THREADS or the CPU count. `test_threads expect-default
 * N|cpus` checks the default alone.
 */
#include "check.h"
#include "nnrt.h"
#include "pool.h"

#include <cblas.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAX_RANGES = 2048 };

typedef struct {
  int64_t lo, hi;
  pthread_t thread;
} Range;

typedef struct {
  atomic_int *visits;
  Range ranges[MAX_RANGES];
  atomic_int nranges;
  int nested; /* inner parallel_for inside each range */
} Job;

static void visit(void *ctx, int64_t lo, int64_t hi) {
  Job *job = ctx;
  for (int64_t i = lo; i < hi; i++)
    atomic_fetch_add(&job->visits[i], 1);
}

static void record(void *ctx, int64_t lo, int64_t hi) {
  Job *job = ctx;
  int slot = atomic_fetch_add(&job->nranges, 1);
  if (slot < MAX_RANGES)
    job->ranges[slot] = (Range){lo, hi, pthread_self()};
  if (job->nested) {
    /* A nested call: must not wait for the busy pool. The visits array is
     * offset so that the inner call's [0, hi - lo) maps to [lo, hi). */
    Job inner = {.visits = job->visits + lo};
    nnrt_parallel_for(visit, &inner, hi - lo, 1);
  } else {
    visit(ctx, lo, hi);
  }
}

static int cmp_range(const void *a, const void *b) {
  const Range *x = a, *y = b;
  return (x->lo > y->lo) - (x->lo < y->lo);
}

/* Runs one parallel_for and returns its ranges sorted (in *job). */
static void run(Job *job, int64_t n, int64_t grain, int nested) {
  memset(job->visits, 0, (size_t)(n ? n : 1) * sizeof *job->visits);
  atomic_store(&job->nranges, 0);
  job->nested = nested;
  nnrt_parallel_for(record, job, n, grain);
  qsort(job->ranges, (size_t)atomic_load(&job->nranges), sizeof(Range), cmp_range);
}

static void check_case(int threads, int64_t n, int64_t grain, int nested) {
  Job *job = calloc(1, sizeof *job);
  job->visits = calloc((size_t)(n ? n : 1), sizeof *job->visits);
  run(job, n, grain, nested);
  int nr = atomic_load(&job->nranges);

  int once = 1;
  for (int64_t i = 0; i < n; i++)
    once &= atomic_load(&job->visits[i]) == 1;
  CHECKF(once, "threads %d n %lld grain %lld: an index not visited exactly once", threads,
         (long long)n, (long long)grain);

  int64_t g = grain < 1 ? 1 : grain;
  int split = threads > 1 && n / 2 >= g;
  int64_t want = !split ? (n > 0) : (n / g < threads ? n / g : threads);
  CHECKF(nr == want, "threads %d n %lld grain %lld: %d ranges, want %lld", threads, (long long)n,
         (long long)g, nr, (long long)want);

  int contiguous = 1, balanced = 1, long_enough = 1, placed = 1;
  pthread_t self = pthread_self();
  for (int r = 0; r < nr && r < MAX_RANGES; r++) {
    Range *x = &job->ranges[r];
    contiguous &= x->lo == (r ? job->ranges[r - 1].hi : 0);
    int64_t len = x->hi - x->lo;
    balanced &= len == n / nr || len == n / nr + 1;
    long_enough &= !split || len >= g;
    /* Work too small to split stays on the caller. */
    placed &= split || pthread_equal(x->thread, self);
  }
  if (nr > 0)
    contiguous &= job->ranges[nr - 1].hi == n;
  CHECKF(contiguous && balanced && long_enough && placed,
         "threads %d n %lld grain %lld: contiguous %d balanced %d long %d placed %d", threads,
         (long long)n, (long long)g, contiguous, balanced, long_enough, placed);

  /* The same split on a second call. */
  Range first[MAX_RANGES];
  memcpy(first, job->ranges, (size_t)nr * sizeof *first);
  run(job, n, grain, nested);
  int same = atomic_load(&job->nranges) == nr;
  for (int r = 0; same && r < nr; r++)
    same = first[r].lo == job->ranges[r].lo && first[r].hi == job->ranges[r].hi;
  CHECKF(same, "threads %d n %lld grain %lld: split changed between calls", threads, (long long)n,
         (long long)g);
  free(job->visits);
  free(job);
}

static void test_splits(void) {
  static const int thread_counts[] = {1, 2, 3, 4, 7, 16};
  static const int64_t sizes[] = {0, 1, 2, 3, 5, 7, 63, 64, 100, 1000, 100003};
  static const int64_t grains[] = {-5, 0, 1, 3, 64, 1000, INT64_MAX / 2 + 1, INT64_MAX};
  for (size_t t = 0; t < sizeof thread_counts / sizeof *thread_counts; t++) {
    nnrt_set_threads(thread_counts[t]);
    CHECK(nnrt_get_threads() == thread_counts[t]);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
      for (size_t g = 0; g < sizeof grains / sizeof *grains; g++)
        check_case(thread_counts[t], sizes[s], grains[g], 0);
    check_case(thread_counts[t], 5000, 10, 1);
  }
}

static void do_nothing(void *ctx, int64_t lo, int64_t hi) { (void)ctx, (void)lo, (void)hi; }

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sleeping workers: 200 ms of idle pool costs (almost) no CPU time. The
 * OpenBLAS threads that the library starts when it loads spin (sched_yield)
 * for a while after their creation, so they get half a second to settle
 * first. */
static void test_idle_workers_sleep(void) {
  nnrt_set_threads(4);
  struct timespec settle = {0, 500 * 1000 * 1000}, pause = {0, 200 * 1000 * 1000};
  nanosleep(&settle, NULL);
  nnrt_parallel_for(do_nothing, NULL, 1000, 1);
  double before = cpu_seconds();
  nanosleep(&pause, NULL);
  double used = cpu_seconds() - before;
  CHECKF(used < 0.05, "idle pool used %.3f s of CPU in 0.2 s", used);
}

/* Below two minimum chunks of work nothing is split; above, one chunk per
 * minimum chunk up to the thread count and the number of units. */
static void test_split_policy(void) {
  nnrt_set_threads(4);
  double min = NNRT_POOL_MIN_CHUNK_NS;
  CHECK(nnrt_pool_chunks(1000, 0) == 1);
  CHECK(nnrt_pool_chunks(1000, 1.9 * min) == 1);
  CHECK(nnrt_pool_chunks(1000, 2 * min) == 2);
  CHECK(nnrt_pool_chunks(1000, 3.5 * min) == 3);
  CHECK(nnrt_pool_chunks(1000, 100 * min) == 4);
  CHECK(nnrt_pool_chunks(3, 100 * min) == 3);
  CHECK(nnrt_pool_chunks(0, 100 * min) == 1);
  CHECK(nnrt_pool_chunks(1000, -1) == 1);
  nnrt_set_threads(1);
  CHECK(nnrt_pool_chunks(1000, 100 * min) == 1);
}

/* Two chunks that each wait (up to 5 s) until both have started: they met
 * only if a second thread ran one while the caller ran the other. */
typedef struct {
  atomic_int arrived, met, ran_elsewhere;
  atomic_int visits[2];
  pthread_t caller;
  int slow_worker; /* the worker's chunk then takes 20 ms */
} Meet;

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static void meet(void *ctx, int64_t lo, int64_t hi) {
  Meet *m = ctx;
  atomic_fetch_add(&m->arrived, 1);
  for (int i = 0; i < 5000 && atomic_load(&m->arrived) < 2; i++)
    nap_ms(1);
  if (atomic_load(&m->arrived) >= 2)
    atomic_fetch_add(&m->met, 1);
  int elsewhere = !pthread_equal(pthread_self(), m->caller);
  atomic_fetch_add(&m->ran_elsewhere, elsewhere);
  if (elsewhere && m->slow_worker)
    nap_ms(20);
  for (int64_t i = lo; i < hi; i++)
    atomic_fetch_add(&m->visits[i], 1);
}

/* Longer pauses than any spin: the worker is asleep when each job comes,
 * and (slow_worker) the caller falls asleep waiting for the worker's chunk.
 * A lost wake-up shows as chunks that did not meet, or as a hang. */
static void test_wakes_after_sleep(void) {
  nnrt_set_threads(2);
  for (int round = 0; round < 6; round++) {
    nap_ms(30);
    Meet m = {.caller = pthread_self(), .slow_worker = round % 2};
    nnrt_parallel_for(meet, &m, 2, 1);
    CHECKF(atomic_load(&m.met) == 2 && atomic_load(&m.ran_elsewhere) == 1 &&
               atomic_load(&m.visits[0]) == 1 && atomic_load(&m.visits[1]) == 1,
           "round %d: met %d, chunks on a worker %d, visits %d %d", round, atomic_load(&m.met),
           atomic_load(&m.ran_elsewhere), atomic_load(&m.visits[0]), atomic_load(&m.visits[1]));
  }
}

/* Short jobs back to back, at several thread counts: claims of one job
 * never leak into the next. */
static void test_many_short_jobs(void) {
  enum { N = 12, JOBS = 20000 };
  for (int threads = 2; threads <= 4; threads++) {
    nnrt_set_threads(threads);
    atomic_int visits[N];
    int ok = 1;
    for (int j = 0; j < JOBS && ok; j++) {
      for (int i = 0; i < N; i++)
        atomic_store(&visits[i], 0);
      Job job = {.visits = visits};
      nnrt_parallel_for(visit, &job, N, 1 + j % 4);
      for (int i = 0; i < N; i++)
        ok &= atomic_load(&visits[i]) == 1;
    }
    CHECKF(ok, "%d threads: an index not visited exactly once in a run of short jobs", threads);
  }
}

/* OpenBLAS would busy-wait on its own threads: nnrt keeps it on one. */
static void test_openblas_one_thread(void) {
  nnrt_set_threads(4);
  CHECKF(openblas_get_num_threads() == 1, "OpenBLAS on %d threads", openblas_get_num_threads());
}

static void test_thread_counts(void) {
  nnrt_set_threads(5000);
  CHECK(nnrt_get_threads() == 1024);
  nnrt_set_threads(3);
  CHECK(nnrt_get_threads() == 3);
  nnrt_set_threads(0);
  const char *env = getenv("NNC_THREADS");
  int want = env && atoi(env) > 0 ? atoi(env) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  CHECKF(nnrt_get_threads() == want, "default %d, want %d", nnrt_get_threads(), want);
  nnrt_set_threads(-1);
  CHECK(nnrt_get_threads() == want);
  nnrt_parallel_for(NULL, NULL, 100, 1); /* no function: nothing happens */
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "expect-default") == 0) {
    /* Before any nnrt_set_threads: the lazily resolved default. */
    int want = strcmp(argv[2], "cpus") == 0 ? (int)sysconf(_SC_NPROCESSORS_ONLN) : atoi(argv[2]);
    CHECKF(nnrt_get_threads() == want, "default %d, want %d", nnrt_get_threads(), want);
    CHECKF(openblas_get_num_threads() == 1, "OpenBLAS on %d threads", openblas_get_num_threads());
    return check_report("test_threads expect-default");
  }
  test_splits();
  test_split_policy();
  test_wakes_after_sleep();
  test_many_short_jobs();
  test_openblas_one_thread();
  test_idle_workers_sleep();
  test_thread_counts();
  return check_report("test_threads");
}
