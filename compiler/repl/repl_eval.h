/* repl_eval.h - evaluating a tensor expression typed at the REPL.
 *
 * The expression becomes the body of a generated function whose arguments
 * are the session's bindings, with their concrete types, and the tensor
 * literals and constructors the expression contains (repl_literal.c). The
 * function goes through the whole front end, is JIT-compiled and run. The
 * typed lines are given to the front end as the file `<input>`, numbered
 * from 1, so a diagnostic's caret sits under what was typed. */
#ifndef NNC_REPL_EVAL_H
#define NNC_REPL_EVAL_H

#include <stdbool.h>

#include "repl_session.h"

typedef enum ReplShow {
  SHOW_VALUE, /* run it and print the type and values */
  SHOW_BIND,  /* `let NAME = EXPR`: run it and bind the result to NAME */
  SHOW_TYPE,
  SHOW_SHAPE,
  SHOW_IR,   /* the function's tensor IR */
  SHOW_LLVM, /* its optimised LLVM IR */
  SHOW_TIME, /* run it repeatedly and print the median time of a run */
  SHOW_GRAD  /* its gradient with respect to the binding `name` */
} ReplShow;

/* `text` is the expression, or for SHOW_BIND the whole `let` statement
 * binding `name` (for SHOW_GRAD, `name` is the binding to differentiate
 * with respect to). Returns false after reporting an error. */
bool repl_eval(Repl *r, const char *text, ReplShow show, const char *name);

#endif
