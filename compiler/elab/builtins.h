/* builtins.h - what the builtins_*.c files share: the shape of a builtin's
 * table row, its bound arguments, and the argument readers and emit helpers
 * of builtins.c. Internal to the elaborator. */
#ifndef NNC_BUILTINS_H
#define NNC_BUILTINS_H

#include "lower.h"

enum { MAX_BUILTIN_ARGS = 8 };

typedef struct Builtin Builtin;

/* A call's arguments matched to the row's argument names. */
typedef struct Bound {
  const AstNode *arg[MAX_BUILTIN_ARGS]; /* NULL when not given */
  const AstNode *call;
  const Builtin *bi; /* the row, for messages naming an argument */
} Bound;

typedef Val (*BuiltinFn)(Elab *e, Frame *f, OpKind op, const Bound *b);

struct Builtin {
  const char *name;
  OpKind op;
  BuiltinFn fn;
  const char *args[MAX_BUILTIN_ARGS];
  int nrequired;
};

/* The rows of one builtins_*.c file. */
typedef struct BuiltinGroup {
  const Builtin *rows;
  int n;
} BuiltinGroup;

extern const BuiltinGroup builtins_math, builtins_shape, builtins_index, builtins_loss,
    builtins_gen, builtins_norm, builtins_conv, builtins_pool;

/* Generic handlers: the row's op applied to its one or two tensor arguments. */
Val builtin_unary(Elab *e, Frame *f, OpKind op, const Bound *b);
Val builtin_binary(Elab *e, Frame *f, OpKind op, const Bound *b);

Val builtin_error(void);
/* The tensor v as a value; an error value when v is NULL (already reported). */
Val builtin_result(IrValue *v);

/* ---- argument readers: each reports its own errors and returns false
 * (or NULL) after one ---- */
IrValue *builtin_tensor_arg(Elab *e, Frame *f, const AstNode *x);
/* Argument 0 as a float tensor; `what` names the builtin in the message. */
IrValue *builtin_float_tensor_arg(Elab *e, Frame *f, const Bound *b, const char *what);
/* A compile-time int, such as an axis. */
bool builtin_int_arg(Elab *e, Frame *f, const AstNode *x, int64_t *out);
bool builtin_axis_arg(Elab *e, Frame *f, const AstNode *x, int *out);
bool builtin_bool_arg(Elab *e, Frame *f, const AstNode *x, bool *out);
/* A list of ints ([0, 2]) or a single int, for axes and permutations. */
bool builtin_int_list_arg(Elab *e, Frame *f, const AstNode *x, int *out, int *n);
/* A shape list ([B, 16]); a -1 entry only where infer_axis is given. */
bool builtin_shape_list_arg(Elab *e, Frame *f, const char *what, const AstNode *shape,
                            TType *target, int *infer_axis);
/* An index or bound: a compile-time int (*ct), or an i32 scalar tensor
 * (*t). Unknown ints of a generic layer check set *unknown. */
bool builtin_index_arg(Elab *e, Frame *f, const AstNode *x, int64_t *ct, IrValue **t,
                       bool *unknown);
bool builtin_const_int_arg(Elab *e, Frame *f, const AstNode *x, const char *what, int64_t *out,
                           bool *unknown);

typedef struct NumberInfo {
  bool is_int;  /* an int, not a float */
  bool unknown; /* not known while a layer is checked generically */
} NumberInfo;
bool builtin_number_arg(Elab *e, Frame *f, const Bound *b, int i, double *out, NumberInfo *info);

/* ---- emit helpers: NULL operands (errors already reported) give NULL ---- */
/* A literal that adopts the element type of the tensor it meets. */
IrValue *builtin_literal(Elab *e, Frame *f, double x, SrcSpan loc);
IrValue *builtin_emit1(Elab *e, Frame *f, OpKind op, IrValue *x, SrcSpan loc, const IrAttrs *at);
IrValue *builtin_emit2(Elab *e, Frame *f, OpKind op, IrValue *a, IrValue *b, SrcSpan loc);

/* ---- messages ---- */
/* "axis 1 of f32[B, 3] (size 3)" */
const char *builtin_axis_text(Elab *e, const IrValue *x, int i);
/* A note pointing at the declaration of x when it is a function argument. */
void builtin_note_tensor(Elab *e, const IrValue *x);

#endif
