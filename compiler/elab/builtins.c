/* builtins.c - the builtin functions of the language, each lowered to one
 * op of ops.def. A builtin's signature (its argument names and which are
 * required) is declared in its table row; arguments are bound by position or
 * keyword before the handler sees them. */
#include <string.h>

#include "ast_text.h"
#include "lower.h"

enum { MAX_BUILTIN_ARGS = 3 };

typedef struct Bound {
  const AstNode *arg[MAX_BUILTIN_ARGS]; /* NULL when not given */
  const AstNode *call;
} Bound;

typedef Val (*BuiltinFn)(Elab *e, Frame *f, OpKind op, const Bound *b);

typedef struct Builtin {
  const char *name;
  OpKind op;
  BuiltinFn fn;
  const char *args[MAX_BUILTIN_ARGS];
  int nrequired;
} Builtin;

static Val val_error(void) { return (Val){.kind = VAL_ERROR}; }

static Val result(IrValue *v) { return v ? (Val){.kind = VAL_TENSOR, .t = v} : val_error(); }

static IrValue *tensor_arg(Elab *e, Frame *f, const AstNode *x) {
  return lower_as_tensor(e, f, lower_eval_expr(e, f, x), x);
}

/* Compile-time int argument such as an axis. */
static bool int_arg(Elab *e, Frame *f, const AstNode *x, int64_t *out) {
  CtEnv env = {.inst = f->inst};
  bool unknown;
  if (!consteval_int(e, &env, x, out, &unknown))
    return false;
  if (unknown) {
    diag_error(e->diag, x->loc, "this value must be known at compile time");
    return false;
  }
  return true;
}

static bool axis_arg(Elab *e, Frame *f, const AstNode *x, int *out) {
  int64_t v;
  if (!int_arg(e, f, x, &v))
    return false;
  if (v < -TYPE_MAX_RANK || v >= TYPE_MAX_RANK) {
    diag_error(e->diag, x->loc, "axis %lld is out of range (tensors have at most %d dimensions)",
               (long long)v, TYPE_MAX_RANK);
    return false;
  }
  *out = (int)v;
  return true;
}

static bool bool_arg(Elab *e, Frame *f, const AstNode *x, bool *out) {
  CtVal v;
  CtEnv env = {.inst = f->inst};
  if (!consteval_expr(e, &env, x, &v))
    return false;
  if (v.kind != CV_BOOL || v.unknown) {
    diag_error(e->diag, x->loc, "expected true or false");
    return false;
  }
  *out = v.b;
  return true;
}

/* A list of ints ([0, 2]) or a single int, for axes and permutations. */
static bool int_list_arg(Elab *e, Frame *f, const AstNode *x, int *out, int *n) {
  if (x->kind != AST_LIST) {
    *n = 1;
    return axis_arg(e, f, x, &out[0]);
  }
  const PtrVec *items = &x->u.list.items;
  if (items->len > TYPE_MAX_RANK) {
    diag_error(e->diag, x->loc, "at most %d entries are allowed here", TYPE_MAX_RANK);
    return false;
  }
  for (int i = 0; i < items->len; i++)
    if (!axis_arg(e, f, items->items[i], &out[i]))
      return false;
  *n = items->len;
  return true;
}

static Val unary(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  return x ? result(lower_emit_op(e, f, op, &x, 1, b->call->loc, NULL)) : val_error();
}

static Val binary(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *xs[2] = {tensor_arg(e, f, b->arg[0]), tensor_arg(e, f, b->arg[1])};
  if (!xs[0] || !xs[1])
    return val_error();
  return result(lower_emit_op(e, f, op, xs, 2, b->call->loc, NULL));
}

static Val rowwise(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.axis = -1};
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  if (!x || (b->arg[1] && !axis_arg(e, f, b->arg[1], &at.axis)))
    return val_error();
  return result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

static Val reduce(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.all_axes = b->arg[1] == NULL};
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  if (!x)
    return val_error();
  if (b->arg[1] && !int_list_arg(e, f, b->arg[1], at.axes, &at.naxes))
    return val_error();
  if (b->arg[2] && !bool_arg(e, f, b->arg[2], &at.keepdims))
    return val_error();
  return result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

static bool is_minus_one(const AstNode *x) {
  return x->kind == AST_UNARY && x->u.unary.op == UN_NEG && x->u.unary.operand->kind == AST_INT &&
         x->u.unary.operand->u.int_lit.value == 1;
}

/* Reads a shape list ([B, 16]) of reshape or broadcast_to; a -1 entry is
 * allowed only where `infer_axis` is given. */
static bool shape_list_arg(Elab *e, Frame *f, const char *what, const AstNode *shape, TType *target,
                           int *infer_axis) {
  if (shape->kind != AST_LIST) {
    diag_error(e->diag, shape->loc, "%s expects the new shape as a list, e.g. [B, 16]", what);
    return false;
  }
  const PtrVec *ds = &shape->u.list.items;
  if (ds->len > TYPE_MAX_RANK) {
    diag_error(e->diag, shape->loc, "a tensor can have at most %d dimensions", TYPE_MAX_RANK);
    return false;
  }
  target->rank = ds->len;
  CtEnv env = {.inst = f->inst};
  for (int i = 0; i < ds->len; i++) {
    const AstNode *d = ds->items[i];
    if (infer_axis && is_minus_one(d)) {
      if (*infer_axis >= 0) {
        diag_error(e->diag, d->loc, "%s: only one dimension can be -1", what);
        return false;
      }
      *infer_axis = i;
      target->dims[i] = dim_const(-1);
    } else if (!consteval_dim(e, &env, &f->dims, DIMS_BIND, d, &target->dims[i])) {
      return false;
    }
  }
  return true;
}

/* reshape(x, [B, -1]): dims may use the function's symbolic dims. */
static Val reshape(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  IrAttrs at = {.infer_axis = -1};
  if (!x || !shape_list_arg(e, f, "reshape", b->arg[1], &at.target, &at.infer_axis))
    return val_error();
  return result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

/* broadcast_to(x, [B, 10]): NumPy's broadcast_to. */
static Val broadcast_to(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  IrAttrs at = {.infer_axis = -1};
  if (!x || !shape_list_arg(e, f, "broadcast_to", b->arg[1], &at.target, NULL))
    return val_error();
  for (int i = 0; i < at.target.rank; i++)
    if (!dim_can_be_positive(at.target.dims[i])) {
      diag_error(e->diag, b->arg[1]->loc, "broadcast_to: dimension %d must be positive", i);
      return val_error();
    }
  return result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

static Val transpose(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.has_perm = b->arg[1] != NULL};
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  if (!x)
    return val_error();
  if (b->arg[1]) {
    int n;
    if (!int_list_arg(e, f, b->arg[1], at.perm, &n))
      return val_error();
    if (n != x->type.rank) {
      diag_error(e->diag, b->arg[1]->loc,
                 "transpose: the permutation has %d entries but the tensor "
                 "has %d dimensions",
                 n, x->type.rank);
      return val_error();
    }
  }
  return result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

static Val ternary(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *xs[3] = {tensor_arg(e, f, b->arg[0]), tensor_arg(e, f, b->arg[1]),
                    tensor_arg(e, f, b->arg[2])};
  if (!xs[0] || !xs[1] || !xs[2])
    return val_error();
  return result(lower_emit_op(e, f, op, xs, 3, b->call->loc, NULL));
}

/* one_hot(labels, classes): f32 rows with a 1 at each label. */
static Val one_hot(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.dtype = DT_F32};
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  if (!x || !int_arg(e, f, b->arg[1], &at.depth))
    return val_error();
  return result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

static const Builtin builtins[] = {
    {"relu", OP_RELU, unary, {"x"}, 1},
    {"sigmoid", OP_SIGMOID, unary, {"x"}, 1},
    {"tanh", OP_TANH, unary, {"x"}, 1},
    {"exp", OP_EXP, unary, {"x"}, 1},
    {"log", OP_LOG, unary, {"x"}, 1},
    {"softmax", OP_SOFTMAX, rowwise, {"x", "axis"}, 1},
    {"log_softmax", OP_LOG_SOFTMAX, rowwise, {"x", "axis"}, 1},
    {"sum", OP_SUM, reduce, {"x", "axis", "keepdims"}, 1},
    {"mean", OP_MEAN, reduce, {"x", "axis", "keepdims"}, 1},
    {"reshape", OP_RESHAPE, reshape, {"x", "shape"}, 2},
    {"transpose", OP_TRANSPOSE, transpose, {"x", "perm"}, 1},
    {"matmul", OP_MATMUL, binary, {"a", "b"}, 2},
    {"cross_entropy", OP_CROSS_ENTROPY, binary, {"logits", "labels"}, 2},
    {"mse", OP_MSE, binary, {"pred", "target"}, 2},
    {"where", OP_SELECT, ternary, {"cond", "a", "b"}, 3},
    {"one_hot", OP_ONE_HOT, one_hot, {"labels", "classes"}, 2},
    {"stop_gradient", OP_STOP_GRADIENT, unary, {"x"}, 1},
    {"broadcast_to", OP_BROADCAST, broadcast_to, {"x", "shape"}, 2},
};
enum { N_BUILTINS = sizeof builtins / sizeof builtins[0] };

int builtin_count(void) { return N_BUILTINS; }
const char *builtin_name(int i) { return builtins[i].name; }

static const Builtin *find_builtin(const char *name) {
  for (int i = 0; i < N_BUILTINS; i++)
    if (!strcmp(builtins[i].name, name))
      return &builtins[i];
  return NULL;
}

bool builtin_exists(const char *name) { return find_builtin(name) != NULL; }

static int nargs_of(const Builtin *bi) {
  int n = 0;
  while (n < MAX_BUILTIN_ARGS && bi->args[n])
    n++;
  return n;
}

static const char *signature(Elab *e, const Builtin *bi) {
  const char *s = "";
  for (int i = 0; i < nargs_of(bi); i++)
    s = arena_printf(e->arena, "%s%s%s%s", s, i ? ", " : "", bi->args[i],
                     i >= bi->nrequired ? "=" : "");
  return arena_printf(e->arena, "%s(%s)", bi->name, s);
}

static bool bind_builtin_args(Elab *e, const Builtin *bi, const AstNode *call, Bound *b) {
  const PtrVec *xs = &call->u.call.args;
  int n = nargs_of(bi), pos = 0;
  for (int i = 0; i < xs->len; i++) {
    const AstNode *x = xs->items[i];
    int slot = -1;
    if (x->kind == AST_KWARG) {
      for (int k = 0; k < n; k++)
        if (!strcmp(bi->args[k], x->u.kwarg.key))
          slot = k;
      if (slot < 0) {
        diag_error(e->diag, x->loc, "%s has no argument named '%s'; its signature is %s", bi->name,
                   x->u.kwarg.key, signature(e, bi));
        return false;
      }
      x = x->u.kwarg.value;
    } else if ((slot = pos++) >= n) {
      diag_error(e->diag, x->loc, "too many arguments to %s; its signature is %s", bi->name,
                 signature(e, bi));
      return false;
    }
    if (b->arg[slot]) {
      diag_error(e->diag, x->loc, "argument '%s' of %s is given twice", bi->args[slot], bi->name);
      return false;
    }
    b->arg[slot] = x;
  }
  for (int k = 0; k < bi->nrequired; k++)
    if (!b->arg[k]) {
      diag_error(e->diag, call->loc, "%s needs its argument '%s'; its signature is %s", bi->name,
                 bi->args[k], signature(e, bi));
      return false;
    }
  return true;
}

Val builtin_call(Elab *e, Frame *f, const char *name, const AstNode *call) {
  const Builtin *bi = find_builtin(name);
  Bound b = {.call = call};
  if (!bind_builtin_args(e, bi, call, &b))
    return val_error();
  return bi->fn(e, f, bi->op, &b);
}
