/* aot_latency.c - inference latency of the digits MLP compiled ahead of time
 * (bench_aot.py builds and runs it).
 *
 *   nnc -c examples/mlp.nn -o m.o          (writes m.h; prefix digits_mlp)
 *   cc -O2 -I. -Iruntime bench/aot_latency.c m.o libnnrt.a -lopenblas -lcjson -lpthread -lm
 *
 * usage: aot_latency CKPT X.bin --check OUT.bin
 *          predictions of row 0 as a batch of 1, then of all rows as one
 *          batch, written as raw f32 to OUT.bin; nothing is timed
 *        aot_latency CKPT X.bin BATCHES TARGET_S REPEATS
 *          for each batch size (comma-separated, at most the rows of X):
 *          warm-up, then REPEATS timed loops of N calls of digits_mlp_predict
 *          on the first rows of X (N calibrated so a loop takes about
 *          TARGET_S); prints one JSON line with the median and minimum
 *          per-call time over the loops (clock_gettime, CLOCK_MONOTONIC)
 *
 * X.bin: raw f32 rows of DIGITS_MLP_INPUT_SIZE features, already scaled as
 * the model takes them. Threads: NNC_THREADS / OPENBLAS_NUM_THREADS as the
 * environment sets them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m.h"

enum { IN = DIGITS_MLP_INPUT_SIZE, OUT = DIGITS_MLP_OUTPUT_SIZE, MAX_REPEATS = 1000 };

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "aot_latency: %s: %s\n", what, msg);
  exit(1);
}

static float *read_rows(const char *path, long *rows) {
  FILE *f = fopen(path, "rb");
  if (!f)
    die(path, "cannot open");
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (bytes <= 0 || bytes % (long)(sizeof(float) * IN))
    die(path, "not a whole number of rows");
  float *x = malloc((size_t)bytes);
  if (!x || fread(x, 1, (size_t)bytes, f) != (size_t)bytes)
    die(path, "read failed");
  fclose(f);
  *rows = bytes / (long)(sizeof(float) * IN);
  return x;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void predict(digits_mlp *m, long batch, const float *x, float *y) {
  if (digits_mlp_predict(m, batch, x, y))
    die("predict", digits_mlp_error(m));
}

/* Seconds for n calls of predict on batch rows. */
static double loop_s(digits_mlp *m, long n, long batch, const float *x, float *y) {
  double t0 = now_s();
  for (long i = 0; i < n; i++)
    predict(m, batch, x, y);
  return now_s() - t0;
}

int main(int argc, char **argv) {
  int check = argc == 5 && !strcmp(argv[3], "--check");
  if (argc != 6 && !check) {
    fprintf(stderr, "usage: %s CKPT X.bin --check OUT.bin | CKPT X.bin BATCHES TARGET_S REPEATS\n",
            argv[0]);
    return 2;
  }
  digits_mlp *m;
  if (digits_mlp_create(&m))
    die("create", digits_mlp_create_error());
  if (digits_mlp_load(m, argv[1]))
    die(argv[1], digits_mlp_error(m));
  long rows;
  float *x = read_rows(argv[2], &rows);
  float *y = calloc((size_t)rows * OUT, sizeof(float));
  if (!y)
    die("calloc", "out of memory");

  if (check) {
    FILE *f = fopen(argv[4], "wb");
    if (!f)
      die(argv[4], "cannot open");
    predict(m, 1, x, y);
    fwrite(y, sizeof(float), OUT, f);
    predict(m, rows, x, y);
    fwrite(y, sizeof(float), (size_t)rows * OUT, f);
    if (fclose(f))
      die(argv[4], "write failed");
    digits_mlp_free(m);
    free(x);
    free(y);
    return 0;
  }

  double target = atof(argv[4]);
  int repeats = atoi(argv[5]);
  if (repeats < 1 || repeats > MAX_REPEATS || !(target > 0))
    die("arguments", "bad TARGET_S or REPEATS");
  printf("{");
  const char *sep = "";
  for (char *p = argv[3]; *p;) {
    char *end;
    long batch = strtol(p, &end, 10);
    if (end == p || batch < 1 || batch > rows)
      die("BATCHES", "expected sizes 1..rows of X, comma-separated");
    p = *end == ',' ? end + 1 : end;

    loop_s(m, 100, batch, x, y); /* warm-up: caches, workspaces, thread pool */
    long n = 1;
    double dt;
    while ((dt = loop_s(m, n, batch, x, y)) < 0.02)
      n *= 2;
    n = (long)((double)n * target / dt);
    if (n < 1)
      n = 1;
    double per_call[MAX_REPEATS];
    for (int r = 0; r < repeats; r++)
      per_call[r] = loop_s(m, n, batch, x, y) / (double)n;
    qsort(per_call, (size_t)repeats, sizeof(double), cmp_double);
    printf("%s\"nnc_b%ld\": {\"iters\": %ld, \"repeats\": %d, \"median_us\": %.6f, "
           "\"min_us\": %.6f}",
           sep, batch, n, repeats, per_call[repeats / 2] * 1e6, per_call[0] * 1e6);
    sep = ", ";
  }
  printf("}\n");
  digits_mlp_free(m);
  free(x);
  free(y);
  return 0;
}
