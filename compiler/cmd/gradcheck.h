/* gradcheck.h - verifies derived gradients against central finite
 * differences, through the compiled code (nnc --gradcheck).
 *
 * The module is run in f64 (the caller retypes it first). For each checked
 * function f the JIT compiles f and its derived function; inputs and
 * parameters are drawn from a seeded generator, a non-scalar result is
 * reduced to the scalar L = sum(f(x) * r) with a random r (the seed of the
 * vector-Jacobian product), and every element of every gradient (or a
 * random sample of max_elems elements per tensor) is compared with
 * (L(x + eps) - L(x - eps)) / (2 eps):  |analytic - numeric| <= atol + rtol
 * |numeric|.
 */
#ifndef NNC_GRADCHECK_H
#define NNC_GRADCHECK_H

#include <stdint.h>
#include <stdio.h>

#include "ir.h"
#include "jit.h"

typedef struct GradcheckOptions {
  const char *fn; /* NULL: every function with a float result */
  double eps, rtol, atol;
  uint64_t seed;
  int64_t max_elems;      /* per tensor; elements beyond it are sampled */
  const char **dim_names; /* --dim NAME=VALUE bindings */
  const int64_t *dim_values;
  int ndim_bindings;
  int64_t default_dim; /* for symbols not bound */
  CodegenOptions codegen;
} GradcheckOptions;

GradcheckOptions gradcheck_default_options(void);

/* Prints one line per checked tensor and a summary; returns the number of
 * failures (elements out of tolerance, or functions that could not be
 * compiled or run), so 0 means every gradient agreed. */
int gradcheck_module(Arena *a, IrModule *m, const GradcheckOptions *o, FILE *out);

#endif
