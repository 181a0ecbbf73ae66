/* frontend.h - the front end as one call: load, parse, check, elaborate.
 *
 * Used by the driver (main.c), the fuzzer and, later, the REPL. A
 * Compilation owns one arena holding everything the front end built (source
 * text, AST, diagnostics, the IrModule of each model); the back end works on
 * those modules and may add to the arena (derived functions) until
 * frontend_free.
 */
#ifndef NNC_FRONTEND_H
#define NNC_FRONTEND_H

#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "ir.h"
#include "program.h"

typedef enum EmitKind { EMIT_NONE, EMIT_AST, EMIT_IR } EmitKind;

typedef struct FrontendOptions {
  EmitKind emit;
  FILE *out;              /* where --emit output goes */
  FILE *diag_out;         /* where diagnostics go */
  const char *stdlib_dir; /* NULL: imports search only next to the file */
  /* Called after parsing a syntactically valid program, before checking
   * it: the REPL turns tensor literals into function arguments there. It
   * reports problems through p->diag; checking stops on any error. */
  void (*after_parse)(Program *p, void *ctx);
  void *after_parse_ctx;
} FrontendOptions;

typedef struct Compilation {
  Arena arena;
  Diag diag;
  Program prog;
  IrModule **models; /* one per model of the root file, in source order */
  int nmodels, cap_models;
  int errors;     /* 0: the program is well-formed and every model lowered */
  double seconds; /* wall time of the front end, for nnc bench */
} Compilation;

/* Runs the front end on `path`; never NULL. Diagnostics are printed as they
 * are found; a file that cannot be read counts as one error. */
Compilation *frontend_compile_file(const char *path, const FrontendOptions *opt);
void frontend_free(Compilation *c);

/* The model called `name`, or the only model when name is NULL; NULL after
 * printing why not (no model, several, no such name) to diag_out. */
IrModule *frontend_model(Compilation *c, const char *name, FILE *diag_out);

/* Returns the number of errors (0: the program is well-formed). */
int frontend_run_file(const char *path, const FrontendOptions *opt);

/* Runs the front end on `text` as if it were the file `name`; never NULL.
 * For the REPL: lines skip_lines+1 .. skip_lines+typed_lines are what was
 * typed, the rest is generated (typed_lines 0: all of it is real). */
Compilation *frontend_compile_buffer(const char *name, const char *text, size_t len, int skip_lines,
                                     int typed_lines, const FrontendOptions *opt);

/* Checks `data` as if it were the file `path`; for the fuzzer. */
int frontend_check_buffer(const char *path, const char *data, size_t len, FILE *diag_out);

#endif
