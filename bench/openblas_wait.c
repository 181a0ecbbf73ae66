/* openblas_wait.c - where issue 12's 21x came from: one OpenBLAS SGEMM in a
 * loop at a given OpenBLAS thread count. Run it on a quiet machine and with
 * one spinning process per core; at 2 threads OpenBLAS's caller waits for
 * its worker with sched_yield in a loop (exec_blas_async_wait), so a worker
 * that has lost its core stalls every call.
 *
 *   cc -O2 bench/openblas_wait.c -o /tmp/openblas_wait -lopenblas
 *   /tmp/openblas_wait THREADS M N K CALLS
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s THREADS M N K CALLS\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]), m = atoi(argv[2]), n = atoi(argv[3]), k = atoi(argv[4]);
  int calls = atoi(argv[5]);
  if (threads < 1 || m < 1 || n < 1 || k < 1 || calls < 1) {
    fprintf(stderr, "%s: every argument must be a positive integer\n", argv[0]);
    return 2;
  }
  openblas_set_num_threads(threads);
  float *a = calloc((size_t)m * k, sizeof *a), *b = calloc((size_t)k * n, sizeof *b);
  float *c = calloc((size_t)m * n, sizeof *c);
  if (!a || !b || !c) {
    fprintf(stderr, "%s: out of memory\n", argv[0]);
    return 1;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
  double t0 = now();
  for (int i = 0; i < calls; i++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
  printf("OpenBLAS threads %d, %dx%dx%d: %.1f us per call\n", threads, m, n, k,
         (now() - t0) / calls * 1e6);
  free(a), free(b), free(c);
  return 0;
}
