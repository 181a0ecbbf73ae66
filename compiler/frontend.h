/* frontend.h - the front end as one call: load, parse, check, elaborate.
 *
 * Used by the driver (main.c), the fuzzer and, later, the REPL. Each call
 * owns one arena for the whole compilation and frees it before returning.
 */
#ifndef NNC_FRONTEND_H
#define NNC_FRONTEND_H

#include <stddef.h>
#include <stdio.h>

typedef enum EmitKind { EMIT_NONE, EMIT_AST, EMIT_IR } EmitKind;

typedef struct FrontendOptions {
  EmitKind emit;
  FILE *out;              /* where --emit output goes */
  FILE *diag_out;         /* where diagnostics go */
  const char *stdlib_dir; /* NULL: imports search only next to the file */
} FrontendOptions;

/* Returns the number of errors (0: the program is well-formed). A file that
 * cannot be read counts as one error. */
int frontend_run_file(const char *path, const FrontendOptions *opt);

/* Checks `data` as if it were the file `path`; for the fuzzer. */
int nnc_check_buffer(const char *path, const char *data, size_t len, FILE *diag_out);

#endif
