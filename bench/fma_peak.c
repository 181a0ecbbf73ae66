/* fma_peak.c - the CPU's f32 FMA peak, measured: chains of fused
 * multiply-adds on independent accumulators, on 1 and on N threads, with
 * AVX-512 (16 lanes) and AVX2 (8 lanes) where the CPU has them. This is the
 * denominator of bench_cnn.py's "share of peak".
 *
 * Each accumulator is a dependent chain (acc = acc * a + b), so one chain
 * runs at one FMA per latency; enough independent chains cover the latency
 * of every FMA port (ports x latency: 2 x 4 on current x86 cores, 2 x 5 on
 * some). 16 zmm chains use half of AVX-512's 32 registers; 12 ymm chains
 * leave AVX2's 16 registers room for the two operands, so neither spills.
 * a and b are read through volatile so that the compiler cannot fold the
 * chain, and every accumulator reaches the printed checksum.
 *
 * Each measurement times `--iters` iterations of every thread from a common
 * start (a barrier) to the last thread's end; the program repeats it
 * `--reps` times and prints the median and the best GFLOP/s, one JSON line
 * per ISA and thread count.
 *
 * usage: fma_peak [--threads N] [--iters N] [--reps N]
 * build: cc -O2 -pthread fma_peak.c -o fma_peak (no -m flags: each kernel
 * carries its own target attribute and runs only where the CPU has it) */
#define _POSIX_C_SOURCE 200809L /* pthread barriers, clock_gettime under -std=c17 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The chains are named variables, not an array: GCC at -O2 keeps an array
 * of vectors in memory and the loop then measures stores, not FMAs. */
#define CHAINS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define CHAINS16(X) CHAINS12(X) X(12) X(13) X(14) X(15)
#define AVX512_CHAINS 16
#define AVX2_CHAINS 12

static volatile float operand_a = 0.999999f, operand_b = 1e-7f;

__attribute__((target("avx512f"))) static float fma_avx512(long iters) {
  __m512 a = _mm512_set1_ps(operand_a), b = _mm512_set1_ps(operand_b);
#define INIT(i) __m512 acc##i = _mm512_set1_ps((float)(i));
#define STEP(i) acc##i = _mm512_fmadd_ps(acc##i, a, b);
#define SUM(i) sum = _mm512_add_ps(sum, acc##i);
  CHAINS16(INIT)
  for (long n = 0; n < iters; n++) {
    CHAINS16(STEP)
  }
  __m512 sum = _mm512_setzero_ps();
  CHAINS16(SUM)
  return _mm512_reduce_add_ps(sum);
#undef INIT
#undef STEP
#undef SUM
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iters) {
  __m256 a = _mm256_set1_ps(operand_a), b = _mm256_set1_ps(operand_b);
#define INIT(i) __m256 acc##i = _mm256_set1_ps((float)(i));
#define STEP(i) acc##i = _mm256_fmadd_ps(acc##i, a, b);
#define SUM(i) sum = _mm256_add_ps(sum, acc##i);
  CHAINS12(INIT)
  for (long n = 0; n < iters; n++) {
    CHAINS12(STEP)
  }
  __m256 sum = _mm256_setzero_ps();
  CHAINS12(SUM)
#undef INIT
#undef STEP
#undef SUM
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  float s = 0;
  for (int i = 0; i < 8; i++)
    s += lanes[i];
  return s;
}

typedef struct Isa {
  const char *name;
  float (*kernel)(long);
  int flops_per_iter; /* chains x lanes x 2 */
  int supported;
} Isa;

typedef struct Worker {
  const Isa *isa;
  long iters;
  pthread_barrier_t *start;
  float checksum;
} Worker;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *work(void *arg) {
  Worker *w = arg;
  pthread_barrier_wait(w->start);
  w->checksum = w->isa->kernel(w->iters);
  return NULL;
}

/* GFLOP/s of one run on `threads` threads, the calling one included. */
static double run_once(const Isa *isa, int threads, long iters, float *checksum) {
  pthread_barrier_t start;
  pthread_t tid[64];
  Worker w[64];
  if (pthread_barrier_init(&start, NULL, (unsigned)threads) != 0) {
    fprintf(stderr, "fma_peak: cannot make a barrier for %d threads\n", threads);
    exit(1);
  }
  int started = 0;
  for (int t = 0; t < threads; t++)
    w[t] = (Worker){.isa = isa, .iters = iters, .start = &start};
  for (int t = 1; t < threads; t++, started++)
    if (pthread_create(&tid[t], NULL, work, &w[t]) != 0)
      break;
  if (started != threads - 1) {
    /* the threads already started wait at the barrier for ever: give up */
    fprintf(stderr, "fma_peak: cannot start thread %d of %d\n", started + 2, threads);
    exit(1);
  }
  pthread_barrier_wait(&start);
  double t0 = now_s();
  w[0].checksum = isa->kernel(iters);
  for (int t = 1; t < threads; t++)
    pthread_join(tid[t], NULL);
  double secs = now_s() - t0;
  pthread_barrier_destroy(&start);
  for (int t = 0; t < threads; t++)
    *checksum += w[t].checksum;
  return (double)threads * (double)iters * isa->flops_per_iter / secs * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static long parse_positive(const char *flag, const char *s, long max) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 1 || v > max) {
    fprintf(stderr, "fma_peak: %s takes an integer from 1 to %ld, not '%s'\n", flag, max, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  int max_threads = 2, reps = 15;
  long iters = 20000000;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
      max_threads = (int)parse_positive(argv[i], argv[i + 1], 64), i++;
    else if (i + 1 < argc && strcmp(argv[i], "--iters") == 0)
      iters = parse_positive(argv[i], argv[i + 1], 1L << 40), i++;
    else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0)
      reps = (int)parse_positive(argv[i], argv[i + 1], 1000), i++;
    else {
      fprintf(stderr, "usage: fma_peak [--threads N] [--iters N] [--reps N]\n");
      return 2;
    }
  }
  __builtin_cpu_init();
  Isa isas[] = {
      {"avx512", fma_avx512, AVX512_CHAINS * 16 * 2, __builtin_cpu_supports("avx512f")},
      {"avx2", fma_avx2, AVX2_CHAINS * 8 * 2,
       __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
  };
  double *g = malloc((size_t)reps * sizeof *g);
  if (!g) {
    fprintf(stderr, "fma_peak: out of memory\n");
    return 1;
  }
  for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
    const Isa *isa = &isas[k];
    if (!isa->supported) {
      printf("{\"isa\": \"%s\", \"supported\": false}\n", isa->name);
      continue;
    }
    int counts[2] = {1, max_threads};
    for (int c = 0; c < (max_threads > 1 ? 2 : 1); c++) {
      int threads = counts[c];
      float checksum = 0;
      run_once(isa, threads, iters / 10, &checksum); /* warm up: clocks, license */
      for (int r = 0; r < reps; r++)
        g[r] = run_once(isa, threads, iters, &checksum);
      qsort(g, (size_t)reps, sizeof *g, cmp_double);
      printf("{\"isa\": \"%s\", \"supported\": true, \"threads\": %d, \"reps\": %d, "
             "\"iters\": %ld, \"gflops_median\": %.2f, \"gflops_best\": %.2f, "
             "\"checksum\": %g}\n",
             isa->name, threads, reps, iters, g[reps / 2], g[reps - 1], (double)checksum);
      fflush(stdout);
    }
  }
  free(g);
  return 0;
}
