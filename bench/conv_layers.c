/* conv_layers.c - the runtime's f32 convolution kernels alone, on the 3x3
 * layers of vgg_small and resnet_small (bench/vgg_small.nn, resnet_small.nn) at batch 32 and 1:
 * median milliseconds and GFLOP/s of nnrt_sconv_forward, _backward_data and
 * _backward_filter. Link against the libnnrt.a to measure:
 *   cc -O2 $(nnc --print-runtime cflags) bench/conv_layers.c \
 *      $(nnc --print-runtime libs) -o conv_layers
 *   ./conv_layers [threads] [repetitions] [cpu]
 * The same binary built against two runtimes compares their kernels without
 * the rest of the training step. With `cpu` (1 thread only) it times the
 * calling thread's CPU time instead of the wall clock: on a loaded machine
 * the time slices other processes take out of a call are then not counted
 * (their effect on the caches still is). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nnrt.h"

static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec t;
  clock_gettime(clock_id, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct Layer {
  const char *name;
  int64_t n, c, o, hw;
} Layer;

static const Layer layers[] = {
    {"vgg 3-32 32x32", 32, 3, 32, 32},   {"vgg 32-32 32x32", 32, 32, 32, 32},
    {"vgg 32-64 16x16", 32, 32, 64, 16}, {"vgg 64-64 16x16", 32, 64, 64, 16},
    {"vgg 64-128 8x8", 32, 64, 128, 8},  {"vgg 128-128 8x8", 32, 128, 128, 8},
    {"res 16-16 32x32", 32, 16, 16, 32}, {"res 32-32 16x16", 32, 32, 32, 16},
    {"res 64-64 8x8", 32, 64, 64, 8},    {"b1 32-32 32x32", 1, 32, 32, 32},
    {"b1 128-128 8x8", 1, 128, 128, 8}};

/* Median seconds of `reps` calls of kernel `which` (NNRT_CONV_*). */
static double time_kernel(const nnrt_conv *s, int which, float *x, float *w, float *y, int reps) {
  float *scratch = malloc(sizeof(float) * (size_t)nnrt_conv_scratch(s, which) + 64);
  double t[101];
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    if (which == NNRT_CONV_FORWARD)
      nnrt_sconv_forward(s, x, w, y, scratch);
    else if (which == NNRT_CONV_BACKWARD_DATA)
      nnrt_sconv_backward_data(s, y, w, x, scratch);
    else
      nnrt_sconv_backward_filter(s, x, y, w, scratch);
    t[r] = now() - t0;
  }
  free(scratch);
  qsort(t, (size_t)reps, sizeof t[0], by_value);
  return t[reps / 2];
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 7;
  reps = reps < 1 ? 1 : reps > 101 ? 101 : reps;
  if (argc > 3 && strcmp(argv[3], "cpu") == 0) {
    if (threads != 1) {
      fprintf(stderr, "conv_layers: cpu needs 1 thread (other threads' time is not counted)\n");
      return 2;
    }
    clock_id = CLOCK_THREAD_CPUTIME_ID;
  }
  nnrt_set_threads(threads);
  static const char *kind[] = {"fwd", "data", "filt"};
  double total[3] = {0};
  for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
    const Layer *l = &layers[i];
    nnrt_conv s = {.n = l->n,
                   .c = l->c,
                   .o = l->o,
                   .groups = 1,
                   .in_h = l->hw,
                   .in_w = l->hw,
                   .out_h = l->hw,
                   .out_w = l->hw,
                   .k_h = 3,
                   .k_w = 3,
                   .stride_h = 1,
                   .stride_w = 1,
                   .pad_h = 1,
                   .pad_w = 1,
                   .dil_h = 1,
                   .dil_w = 1};
    size_t xn = (size_t)(s.n * s.c * s.in_h * s.in_w), yn = (size_t)(s.n * s.o * s.out_h * s.out_w);
    size_t wn = (size_t)(s.o * s.c * 9);
    float *x = malloc(sizeof(float) * xn), *y = malloc(sizeof(float) * yn);
    float *w = malloc(sizeof(float) * wn);
    for (size_t j = 0; j < xn; j++)
      x[j] = (float)(j % 7) * 0.1f;
    for (size_t j = 0; j < yn; j++)
      y[j] = (float)(j % 5) * 0.1f;
    for (size_t j = 0; j < wn; j++)
      w[j] = (float)(j % 3) * 0.1f;
    double flop = 2.0 * (double)(s.n * s.o * s.c * 9 * s.out_h * s.out_w);
    printf("%-16s", l->name);
    for (int which = 0; which < 3; which++) {
      double t = time_kernel(&s, which, x, w, y, reps);
      printf("  %s %7.3f ms %6.1f GFLOP/s", kind[which], t * 1e3, flop / t * 1e-9);
      if (l->n > 1)
        total[which] += t;
    }
    printf("\n");
    free(x), free(y), free(w);
  }
  printf("batch-32 layers in all: fwd %.2f ms, data %.2f ms, filt %.2f ms\n", total[0] * 1e3,
         total[1] * 1e3, total[2] * 1e3);
  return 0;
}
