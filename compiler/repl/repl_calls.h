/* repl_calls.h - expressions that call the session's models' functions:
 * `Xor.forward(x)`, `Xor(x)`. The generated model that holds the
 * expression gets an instance of each model named in it (`Xor = Xor()`),
 * and the session's definitions are compiled along with it; when it runs,
 * the instance's parameters are the model's runtime handle's (repl_model.h),
 * so a call sees the weights :train and :restore left there. */
#ifndef NNC_REPL_CALLS_H
#define NNC_REPL_CALLS_H

#include "ir.h"
#include "repl_session.h"

typedef struct ReplCalls {
  char **names; /* the models the expression names, each once */
  int n;
} ReplCalls;

/* Finds the session's models named in text and followed by `.` or `(`. */
void repl_calls_find(const Repl *r, const char *text, ReplCalls *c);
void repl_calls_free(ReplCalls *c);

/* Every parameter of m (`Xor.hidden.W`) as the data of its model's handle
 * (`hidden.W`), in m's order; malloc'd. NULL after reporting an error (the
 * model has no handle: no data or train section). */
void **repl_calls_params(Repl *r, const IrModule *m);

#endif
