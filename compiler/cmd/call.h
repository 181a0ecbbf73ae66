/* call.h - the `nnc call` command: run one function of a model on .npy
 * arrays with the JIT. */
#ifndef NNC_CALL_H
#define NNC_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend.h"
#include "jit.h"

typedef struct CallOptions {
  const char *model;       /* --model, or NULL: the file's only one */
  const char *fn;          /* the function to run */
  const char *const *args; /* its arguments' .npy files */
  int nargs;
  bool grad, f64;            /* --grad: the derived function; --dtype=f64 */
  const char *out, *out_dir; /* where results go; neither: printed */
  const char *params_dir;    /* DIR/<name>.npy, else initialisers from seed */
  uint64_t seed;             /* also the random ops' */
  uint64_t step;             /* the step the random ops draw with */
  bool training;             /* the function's training variant (dropout active) */
  CodegenOptions cg;
} CallOptions;

/* Prints an error listing the functions m has, for a name it lacks. */
void call_no_such_function(const IrModule *m, const char *name);

/* Returns the exit status: 0, 1 (errors in the model, the arguments or at
 * run time) or 2 (wrong number of arguments, --out with several results). */
int call_command(Compilation *comp, const CallOptions *o);

#endif
