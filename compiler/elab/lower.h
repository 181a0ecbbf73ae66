/* lower.h - shared by lower.c (function bodies) and the builtins_*.c files. */
#ifndef NNC_LOWER_H
#define NNC_LOWER_H

#include "elab.h"

/* What an expression evaluates to while lowering. */
typedef enum ValKind {
  VAL_ERROR,    /* already reported: poison, no further errors */
  VAL_TENSOR,   /* an IR value */
  VAL_CT,       /* a compile-time scalar (literal, layer argument) */
  VAL_INSTANCE, /* a sub-layer: callable, has members */
  VAL_REPEAT,   /* a repetition: callable in sequence */
  VAL_FN,       /* a function of an instance */
  VAL_TUPLE,    /* several tensors (split's pieces), indexed by a constant: parts[0] */
} ValKind;

typedef struct Val {
  ValKind kind;
  IrValue *t;
  CtVal c;
  Instance *inst;
  Member *mem;
  IrValue **items; /* VAL_TUPLE */
  int nitems;
} Val;

/* One active (inlined) function call. */
typedef struct Frame {
  Instance *inst;
  const AstNode *fn;
  StrMap locals; /* name -> Val* */
  StrMap dims;   /* symbolic dim name -> Dim* */
  struct Frame *caller;
  SrcSpan call_site;
  int depth;
} Frame;

Val lower_eval_expr(Elab *e, Frame *f, const AstNode *x);
/* Builds one op and runs its shape rule; NULL after an error (reported, with
 * the chain of inlined calls as notes). */
IrValue *lower_emit_op(Elab *e, Frame *f, OpKind op, IrValue **args, int nargs, SrcSpan loc,
                       const IrAttrs *attrs);
/* The tensor a value stands for; literals become weakly typed constants.
 * NULL (reported unless already poisoned) for anything else. */
IrValue *lower_as_tensor(Elab *e, Frame *f, Val v, const AstNode *at);

/* `let name = value` in frame f (lower.c). */
void lower_run_let(Elab *e, Frame *f, const AstNode *s);
/* A scan statement (lower_scan.c): binds its carries' final values and its
 * emitted stacks in f's locals. */
void lower_scan(Elab *e, Frame *f, const AstNode *s);

/* builtins.c */
bool builtin_exists(const char *name);
Val builtin_call(Elab *e, Frame *f, const char *name, const AstNode *call);
int builtin_count(void);
/* x[i, a:b:s, ...]: slicing a tensor, or picking one of split's pieces. */
Val eval_index(Elab *e, Frame *f, const AstNode *x);
const char *builtin_name(int i);

/* einsum.c: einsum(eq, xs...) as transposes, reshapes, sums and matmuls;
 * eq is the equation's string literal, loc the call. */
Val builtin_einsum(Elab *e, Frame *f, const AstNode *eq, IrValue **xs, int nx, SrcSpan loc);

bool consteval_fold_unary(Elab *e, const AstNode *x, const CtVal *v, CtVal *out);
bool consteval_fold_binary(Elab *e, const AstNode *x, const CtVal *a, const CtVal *b, CtVal *out);

#endif
