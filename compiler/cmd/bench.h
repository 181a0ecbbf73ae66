/* bench.h - times compiled forward and training-step functions (nnc bench).
 *
 * The benchmark harness (bench/) runs this side by side with PyTorch; the
 * figures are medians of individually timed calls after a warm-up, with
 * random inputs and parameters from a fixed seed. */
#ifndef NNC_BENCH_H
#define NNC_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "ir.h"
#include "jit.h"

typedef struct BenchOptions {
  const char *forward; /* function timed as the forward pass */
  const char *loss;    /* scalar function whose gradient step is timed */
  const char **dim_names;
  const int64_t *dim_values;
  int ndim_bindings;
  int runs, warmup;
  double frontend_seconds; /* measured by the caller, reported with codegen */
  CodegenOptions codegen;
} BenchOptions;

BenchOptions bench_default_options(void);

/* Prints human-readable lines and one `bench-json: {...}` line; returns 0,
 * or 1 after printing why a function could not be found, compiled or run. */
int bench_module(Arena *a, IrModule *m, const BenchOptions *o, FILE *out);

/* Seconds on the monotonic clock, for timing calls. */
double bench_now(void);
/* Sorts v[0..n) and returns its median (n >= 1). */
double bench_median(double *v, int n);

#endif
