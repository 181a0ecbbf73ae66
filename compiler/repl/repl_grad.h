/* repl_grad.h - `:grad EXPR wrt NAME`: the gradient of a scalar expression
 * with respect to one of the session's bindings, by reverse-mode autodiff
 * of the expression's generated function (autodiff.h, with wrt_inputs, as
 * `nnc call --grad` does). */
#ifndef NNC_REPL_GRAD_H
#define NNC_REPL_GRAD_H

#include <stdbool.h>

#include "ir.h"
#include "repl_session.h"

/* Splits `:grad`'s text (the command's name blanked) at its last ` wrt `:
 * the name after it, malloc'd, with the `wrt NAME` blanked in text (so
 * columns stay as typed). NULL after reporting a missing or bad name. */
char *repl_grad_split(Repl *r, char *text);

/* Derives f (a scalar float function of the bindings, arguments `in`,
 * parameters `params`) and prints d f / d wrt like a value. False after
 * reporting an error. */
bool repl_grad(Repl *r, Arena *a, IrModule *m, const IrFunc *f, const char *wrt, void *const *in,
               void *const *params);

#endif
