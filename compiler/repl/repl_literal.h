/* repl_literal.h - tensors made directly at the REPL: list literals
 * (`[[1, 2], [3, 4]]`) and the constructors zeros, ones, randn, arange and
 * load. The language has no tensor constants, so before checking, each
 * such expression is evaluated here and replaced by a new argument of the
 * generated function (`__k0: f32[2, 2]`) whose value it supplies. */
#ifndef NNC_REPL_LITERAL_H
#define NNC_REPL_LITERAL_H

#include "nnrt.h"
#include "program.h"
#include "repl_session.h"

typedef struct ReplLiterals {
  Repl *session;    /* a binding's name is not a constructor */
  nnrt_tensor *lit; /* __k<i>, malloc'd */
  int n, cap;
} ReplLiterals;

/* Rewrites the expressions in the body of `fn` (an AST_FN); errors go to
 * p->diag. */
void repl_literals_rewrite(Program *p, AstNode *fn, ReplLiterals *l);
void repl_literals_free(ReplLiterals *l);

#endif
