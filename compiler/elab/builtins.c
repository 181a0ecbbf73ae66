/* builtins.c - the builtin functions of the language, each lowered to one
 * op of ops.def. A builtin's signature (its argument names and which are
 * required) is declared in its table row; arguments are bound by position or
 * keyword before the handler sees them. */
#include <math.h>
#include <string.h>

#include "ast_text.h"
#include "lower.h"

enum { MAX_BUILTIN_ARGS = 5 };

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

/* ---- reductions composed from others ----
 * logsumexp, var and std are built from max, sum, mean and elementwise ops
 * here, so that autodiff, fusion and codegen need nothing of their own. */

/* A literal that adopts the element type of the tensor it meets. */
static IrValue *literal(Elab *e, Frame *f, double x, SrcSpan loc) {
  IrAttrs at = {.weak = true, .scalar = x};
  IrValue *v = lower_emit_op(e, f, OP_CONST, NULL, 0, loc, &at);
  if (v)
    v->type = ttype_scalar(DT_F32);
  return v;
}

static IrValue *emit2(Elab *e, Frame *f, OpKind op, IrValue *a, IrValue *b, SrcSpan loc) {
  if (!a || !b)
    return NULL;
  IrValue *xs[2] = {a, b};
  return lower_emit_op(e, f, op, xs, 2, loc, NULL);
}

static IrValue *emit1(Elab *e, Frame *f, OpKind op, IrValue *x, SrcSpan loc, const IrAttrs *at) {
  return x ? lower_emit_op(e, f, op, &x, 1, loc, at) : NULL;
}

/* The composed reductions name themselves in the error, not the op inside. */
static IrValue *float_tensor_arg(Elab *e, Frame *f, const Bound *b, const char *what) {
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  if (x && !dtype_is_float(x->type.dtype)) {
    diag_error(e->diag, b->arg[0]->loc, "%s expects a floating-point tensor, got %s", what,
               ttype_str(e->arena, e->mod->syms, &x->type));
    return NULL;
  }
  return x;
}

/* The attributes of a reduction call: axis (one or a list) and keepdims. */
static bool reduce_attrs(Elab *e, Frame *f, const Bound *b, IrAttrs *at) {
  *at = (IrAttrs){.all_axes = b->arg[1] == NULL, .infer_axis = -1};
  if (b->arg[1] && !int_list_arg(e, f, b->arg[1], at->axes, &at->naxes))
    return false;
  return !b->arg[2] || bool_arg(e, f, b->arg[2], &at->keepdims);
}

/* x reshaped to the type of `like` (a reduction without keepdims). */
static IrValue *reshape_like(Elab *e, Frame *f, IrValue *x, const IrValue *like, SrcSpan loc) {
  if (!x || !like)
    return NULL;
  IrAttrs at = {.target = like->type, .infer_axis = -1};
  return emit1(e, f, OP_RESHAPE, x, loc, &at);
}

/* logsumexp(x, axis, keepdims) = log(sum(exp(x - m))) + m with m the max,
 * replaced by 0 where it is infinite (all -inf, or an inf), as PyTorch does.
 * m is a constant for the gradient: the result does not depend on it. */
static Val logsumexp(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  SrcSpan loc = b->call->loc;
  IrAttrs at;
  IrValue *x = float_tensor_arg(e, f, b, "logsumexp");
  if (!x || !reduce_attrs(e, f, b, &at))
    return val_error();
  IrAttrs kept = at;
  kept.keepdims = true;
  IrValue *m = emit1(e, f, OP_STOP_GRADIENT, emit1(e, f, OP_MAX, x, loc, &kept), loc, NULL);
  IrValue *inf = literal(e, f, __builtin_inf(), loc), *zero = literal(e, f, 0, loc);
  IrValue *finite = emit2(e, f, OP_LT, emit2(e, f, OP_MUL, m, m, loc), inf, loc);
  IrValue *shift = NULL;
  if (finite) {
    IrValue *sel[3] = {finite, m, zero};
    shift = lower_emit_op(e, f, OP_SELECT, sel, 3, loc, NULL);
  }
  IrValue *sum = emit1(
      e, f, OP_SUM, emit1(e, f, OP_EXP, emit2(e, f, OP_SUB, x, shift, loc), loc, NULL), loc, &at);
  if (shift && !at.keepdims)
    shift = reshape_like(e, f, shift, sum, loc);
  return result(emit2(e, f, OP_ADD, emit1(e, f, OP_LOG, sum, loc, NULL), shift, loc));
}

/* var: the population variance (PyTorch's unbiased=False), mean((x - mu)^2);
 * std: its square root. */
static Val variance(Elab *e, Frame *f, OpKind op, const Bound *b) {
  SrcSpan loc = b->call->loc;
  IrAttrs at;
  IrValue *x = float_tensor_arg(e, f, b, op == OP_MEAN ? "var" : "std");
  if (!x || !reduce_attrs(e, f, b, &at))
    return val_error();
  IrAttrs kept = at;
  kept.keepdims = true;
  IrValue *d = emit2(e, f, OP_SUB, x, emit1(e, f, OP_MEAN, x, loc, &kept), loc);
  IrValue *var = emit1(e, f, OP_MEAN, emit2(e, f, OP_MUL, d, d, loc), loc, &at);
  if (op == OP_MEAN)
    return result(var);
  return result(emit2(e, f, OP_POW, var, literal(e, f, 0.5, loc), loc));
}

/* argmax(x, axis, keepdims): one axis (moved last by a transpose, which
 * fuses into the reduction's reads) or none (the index into the flattened
 * tensor, as PyTorch). */
static Val arg_reduce(Elab *e, Frame *f, OpKind op, const Bound *b) {
  SrcSpan loc = b->call->loc;
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  IrAttrs at = {.all_axes = b->arg[1] == NULL, .infer_axis = -1};
  int axis = 0;
  if (b->arg[1] && b->arg[1]->kind == AST_LIST) {
    diag_error(e->diag, b->arg[1]->loc, "%s takes one axis, not a list", op_info[op].name);
    return val_error();
  }
  if (!x || (b->arg[1] && !axis_arg(e, f, b->arg[1], &axis)) ||
      (b->arg[2] && !bool_arg(e, f, b->arg[2], &at.keepdims)))
    return val_error();
  if (at.all_axes)
    return result(lower_emit_op(e, f, op, &x, 1, loc, &at));
  int rank = x->type.rank;
  if (axis < -rank || axis >= rank) {
    diag_error(e->diag, b->arg[1]->loc, "%s: axis %d is out of range for a tensor of rank %d",
               op_info[op].name, axis, rank);
    return val_error();
  }
  axis = axis < 0 ? axis + rank : axis;
  IrValue *moved = x;
  if (axis != rank - 1) {
    IrAttrs perm = {.has_perm = true, .infer_axis = -1};
    for (int i = 0, j = 0; i < rank; i++)
      if (i != axis)
        perm.perm[j++] = i;
    perm.perm[rank - 1] = axis;
    moved = emit1(e, f, OP_TRANSPOSE, x, loc, &perm);
  }
  IrAttrs last = {.naxes = 1, .infer_axis = -1};
  last.axes[0] = rank - 1;
  IrValue *idx = emit1(e, f, op, moved, loc, &last);
  if (!idx || !at.keepdims)
    return result(idx);
  IrAttrs shape = {.target = x->type, .infer_axis = -1};
  shape.target.dtype = DT_I32;
  shape.target.dims[axis] = dim_const(1);
  return result(emit1(e, f, OP_RESHAPE, idx, loc, &shape));
}

/* ---- cross_entropy with a mask, an ignored label or label smoothing ----
 * The plain call is one fused op (a row kernel with its own label check);
 * the options are composed from log_softmax, one_hot, sums and a division
 * by the number of positions that count, PyTorch's reduction='mean'. */

/* A scalar of element type dt that does not adapt to the other operand. */
static IrValue *typed_literal(Elab *e, Frame *f, double x, DType dt, SrcSpan loc) {
  IrAttrs at = {.scalar = x};
  IrValue *v = lower_emit_op(e, f, OP_CONST, NULL, 0, loc, &at);
  if (v)
    v->type = ttype_scalar(dt);
  return v;
}

static IrValue *emit3(Elab *e, Frame *f, OpKind op, IrValue *a, IrValue *b, IrValue *c,
                      SrcSpan loc) {
  if (!a || !b || !c)
    return NULL;
  IrValue *xs[3] = {a, b, c};
  return lower_emit_op(e, f, op, xs, 3, loc, NULL);
}

/* A float known at compile time; in a generic check of a layer (its
 * arguments unknown) *out keeps its default and nothing is reported. */
static bool float_const_arg(Elab *e, Frame *f, const AstNode *x, double *out) {
  CtVal v;
  CtEnv env = {.inst = f->inst};
  if (!consteval_expr(e, &env, x, &v))
    return false;
  if (v.unknown)
    return true;
  if (v.kind != CV_FLOAT && !(v.kind == CV_INT && dim_is_const(v.dim))) {
    diag_error(e->diag, x->loc, "expected a number known at compile time");
    return false;
  }
  *out = v.kind == CV_FLOAT ? v.f : (double)v.dim.constant;
  return true;
}

/* labels: i32 with the logits' shape less the class axis; mask (if any):
 * bool or the logits' float type, the labels' shape. */
static bool check_xent_operands(Elab *e, const Bound *b, const IrValue *z, const IrValue *y,
                                const IrValue *mask) {
  const SymTab *st = e->mod->syms;
  bool ok = z->type.rank >= 1 && y->type.rank == z->type.rank - 1;
  for (int i = 0; ok && i < y->type.rank; i++)
    ok = dim_eq(y->type.dims[i], z->type.dims[i]);
  if (!dtype_is_float(z->type.dtype) || y->type.dtype != DT_I32 || !ok) {
    diag_error(e->diag, b->call->loc,
               "cross_entropy: expects float logits [..., C] and i32 labels [...], got %s and %s",
               ttype_str(e->arena, st, &z->type), ttype_str(e->arena, st, &y->type));
    return false;
  }
  if (mask && (!ttype_eq_dims(&mask->type, &y->type) ||
               (mask->type.dtype != DT_BOOL && mask->type.dtype != z->type.dtype))) {
    diag_error(e->diag, b->arg[2]->loc,
               "cross_entropy: the mask must be bool or %s with the labels' shape %s, got %s",
               dtype_name(z->type.dtype), ttype_str(e->arena, st, &y->type),
               ttype_str(e->arena, st, &mask->type));
    return false;
  }
  return true;
}

static Val cross_entropy(Elab *e, Frame *f, OpKind op, const Bound *b) {
  SrcSpan loc = b->call->loc;
  IrValue *z = tensor_arg(e, f, b->arg[0]), *y = tensor_arg(e, f, b->arg[1]);
  if (!z || !y)
    return val_error();
  if (!b->arg[2] && !b->arg[3] && !b->arg[4]) {
    IrValue *xs[2] = {z, y};
    return result(lower_emit_op(e, f, op, xs, 2, loc, NULL));
  }
  IrValue *mask = b->arg[2] ? tensor_arg(e, f, b->arg[2]) : NULL;
  int64_t ignore = 0;
  double eps = 0;
  if ((b->arg[2] && !mask) || (b->arg[3] && !int_arg(e, f, b->arg[3], &ignore)) ||
      (b->arg[4] && !float_const_arg(e, f, b->arg[4], &eps)) ||
      !check_xent_operands(e, b, z, y, mask))
    return val_error();
  if (eps < 0 || eps > 1) {
    diag_error(e->diag, b->arg[4]->loc, "cross_entropy: label_smoothing must be in [0, 1], got %g",
               eps);
    return val_error();
  }
  Dim classes = z->type.dims[z->type.rank - 1];
  if (!dim_is_const(classes)) {
    diag_error(e->diag, loc,
               "cross_entropy: mask, ignore_index and label_smoothing need a constant number of "
               "classes, got %s",
               dim_str(e->arena, e->mod->syms, classes));
    return val_error();
  }
  DType dt = z->type.dtype;
  IrValue *one = typed_literal(e, f, 1, dt, loc), *zero = typed_literal(e, f, 0, dt, loc);
  /* w: 1 for the positions that count, 0 elsewhere (or the mask's weight) */
  IrValue *w = NULL;
  if (mask)
    w = mask->type.dtype == DT_BOOL ? emit3(e, f, OP_SELECT, mask, one, zero, loc) : mask;
  if (b->arg[3]) {
    IrValue *keep = emit2(e, f, OP_NE, y, literal(e, f, (double)ignore, loc), loc);
    y = emit3(e, f, OP_SELECT, keep, y, literal(e, f, 0, loc), loc);
    IrValue *kept = emit3(e, f, OP_SELECT, keep, one, zero, loc);
    w = w ? emit2(e, f, OP_MUL, w, kept, loc) : kept;
  }
  IrAttrs last = {.axis = -1, .infer_axis = -1};
  IrValue *lsm = emit1(e, f, OP_LOG_SOFTMAX, z, loc, &last);
  IrAttrs oh = {.dtype = dt, .depth = classes.constant, .infer_axis = -1};
  IrAttrs row = {.naxes = 1, .infer_axis = -1};
  row.axes[0] = z->type.rank - 1;
  IrValue *picked = emit1(
      e, f, OP_SUM, emit2(e, f, OP_MUL, lsm, emit1(e, f, OP_ONE_HOT, y, loc, &oh), loc), loc, &row);
  IrValue *loss = emit1(e, f, OP_NEG, picked, loc, NULL);
  if (eps > 0) {
    IrValue *smooth = emit1(e, f, OP_NEG, emit1(e, f, OP_MEAN, lsm, loc, &row), loc, NULL);
    loss = emit2(e, f, OP_ADD, emit2(e, f, OP_MUL, literal(e, f, 1 - eps, loc), loss, loc),
                 emit2(e, f, OP_MUL, literal(e, f, eps, loc), smooth, loc), loc);
  }
  IrAttrs all = {.all_axes = true, .infer_axis = -1};
  if (!w)
    return result(emit1(e, f, OP_MEAN, loss, loc, &all));
  IrValue *total = emit1(e, f, OP_SUM, emit2(e, f, OP_MUL, loss, w, loc), loc, &all);
  return result(emit2(e, f, OP_DIV, total, emit1(e, f, OP_SUM, w, loc, &all), loc));
}

/* layer_norm(x, normalized_shape, weight, bias, eps = 1e-5), PyTorch's
 * F.layer_norm: normalises over the trailing axes that normalized_shape
 * names (it must equal them), then scales and shifts elementwise. Composed
 * from mean and elementwise ops; the population variance, as PyTorch. */
static bool normalized_axes(Elab *e, Frame *f, const Bound *b, const IrValue *x, IrAttrs *at) {
  const AstNode *shape = b->arg[1];
  const PtrVec *ds = shape->kind == AST_LIST ? &shape->u.list.items : NULL;
  int n = ds ? ds->len : 1, rank = x->type.rank;
  bool ok = n >= 1 && n <= rank;
  CtEnv env = {.inst = f->inst};
  for (int i = 0; ok && i < n; i++) {
    Dim d;
    if (!consteval_dim(e, &env, &f->dims, DIMS_BIND, ds ? ds->items[i] : shape, &d))
      return false;
    ok = dim_eq(d, x->type.dims[rank - n + i]);
  }
  if (!ok) {
    diag_error(e->diag, shape->loc,
               "layer_norm: normalized_shape must be the trailing dimensions of %s",
               ttype_str(e->arena, e->mod->syms, &x->type));
    return false;
  }
  *at = (IrAttrs){.naxes = n, .keepdims = true, .infer_axis = -1};
  for (int i = 0; i < n; i++)
    at->axes[i] = rank - n + i;
  return true;
}

/* t is the last n dims of x. */
static bool is_trailing_shape(const TType *t, const TType *x, int n) {
  if (t->rank != n)
    return false;
  for (int i = 0; i < n; i++)
    if (!dim_eq(t->dims[i], x->dims[x->rank - n + i]))
      return false;
  return true;
}

static Val layer_norm(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  SrcSpan loc = b->call->loc;
  IrAttrs at;
  double eps = 1e-5;
  IrValue *x = float_tensor_arg(e, f, b, "layer_norm");
  IrValue *w = b->arg[2] ? tensor_arg(e, f, b->arg[2]) : NULL;
  IrValue *bias = b->arg[3] ? tensor_arg(e, f, b->arg[3]) : NULL;
  if (!x || (b->arg[2] && !w) || (b->arg[3] && !bias) || !normalized_axes(e, f, b, x, &at) ||
      (b->arg[4] && !float_const_arg(e, f, b->arg[4], &eps)))
    return val_error();
  if (eps <= 0) {
    diag_error(e->diag, b->arg[4]->loc, "layer_norm: eps must be positive, got %g", eps);
    return val_error();
  }
  for (int i = 2; i <= 3; i++) {
    const IrValue *p = i == 2 ? w : bias;
    if (p && !is_trailing_shape(&p->type, &x->type, at.naxes)) {
      diag_error(e->diag, b->arg[i]->loc, "layer_norm: %s must have the normalized shape, got %s",
                 i == 2 ? "weight" : "bias", ttype_str(e->arena, e->mod->syms, &p->type));
      return val_error();
    }
  }
  IrValue *d = emit2(e, f, OP_SUB, x, emit1(e, f, OP_MEAN, x, loc, &at), loc);
  IrValue *var = emit1(e, f, OP_MEAN, emit2(e, f, OP_MUL, d, d, loc), loc, &at);
  IrValue *inv = emit2(e, f, OP_POW, emit2(e, f, OP_ADD, var, literal(e, f, eps, loc), loc),
                       literal(e, f, -0.5, loc), loc);
  IrValue *y = emit2(e, f, OP_MUL, d, inv, loc);
  if (w)
    y = emit2(e, f, OP_MUL, y, w, loc);
  if (bias)
    y = emit2(e, f, OP_ADD, y, bias, loc);
  return result(y);
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

/* ---- views: indexing, slicing, pad, concat, split, stack ----
 *
 * NumPy's basic indexing and PyTorch's pad / cat / split / stack, lowered to
 * the view ops of ops.def (slice, pad, concat) plus reshapes. Negative
 * indices and bounds count from the end; slice bounds past the end are
 * clamped as in Python, an index past the end and an empty slice are
 * errors. An index may be an i32 scalar tensor (a function argument): it
 * is then checked when the function runs. */

/* An index or bound: a compile-time int (*ct), or an i32 scalar tensor
 * (*t). Unknown ints of a generic layer check set *unknown. */
static bool index_arg(Elab *e, Frame *f, const AstNode *x, int64_t *ct, IrValue **t,
                      bool *unknown) {
  Val v = lower_eval_expr(e, f, x);
  *t = NULL;
  *unknown = false;
  if (v.kind == VAL_ERROR)
    return false;
  if (v.kind == VAL_CT && v.c.kind == CV_INT) {
    *unknown = v.c.unknown || !dim_is_const(v.c.dim) || v.c.dim.kind != DIM_KNOWN;
    *ct = *unknown ? 0 : v.c.dim.constant;
    return true;
  }
  if (v.kind == VAL_TENSOR && v.t->type.dtype == DT_I32 && v.t->type.rank == 0) {
    *t = v.t;
    return true;
  }
  IrValue *bad = v.kind == VAL_TENSOR ? v.t : NULL;
  diag_error(e->diag, x->loc, "an index must be an int or an i32 scalar, got %s",
             bad                ? ttype_str(e->arena, e->mod->syms, &bad->type)
             : v.kind == VAL_CT ? consteval_kind_name(v.c.kind)
                                : "something else");
  return false;
}

static bool const_int_arg(Elab *e, Frame *f, const AstNode *x, const char *what, int64_t *out,
                          bool *unknown) {
  IrValue *t;
  if (!index_arg(e, f, x, out, &t, unknown))
    return false;
  if (t) {
    diag_error(e->diag, x->loc, "%s must be known at compile time", what);
    return false;
  }
  return true;
}

static const char *axis_text(Elab *e, const IrValue *x, int i) {
  return arena_printf(e->arena, "axis %d of %s (size %s)", i,
                      ttype_str(e->arena, e->mod->syms, &x->type),
                      dim_str(e->arena, e->mod->syms, x->type.dims[i]));
}

static void note_tensor(Elab *e, const IrValue *x) {
  if (x->op == OP_INPUT && x->origin.file >= 0)
    diag_note(e->diag, x->origin, "the tensor is the argument declared here as %s",
              ttype_str(e->arena, e->mod->syms, &x->type));
}

typedef struct SliceBuild {
  IrAttrs at;
  IrValue *args[1 + TYPE_MAX_RANK];
  int nargs;
  bool changes; /* anything but x[:] / x[...] */
} SliceBuild;

static void full_axis(SliceBuild *sb, const IrValue *x, int i) {
  sb->at.view.start[i] = 0;
  sb->at.view.step[i] = 1;
  sb->at.view.size[i] = x->type.dims[i];
}

/* x[i]: one position, the axis dropped. */
static bool index_axis(Elab *e, Frame *f, SliceBuild *sb, const IrValue *x, int i,
                       const AstNode *item) {
  int64_t k;
  IrValue *t;
  bool unknown;
  if (!index_arg(e, f, item, &k, &t, &unknown))
    return false;
  Dim n = x->type.dims[i];
  IrViewAttrs *va = &sb->at.view;
  va->drop[i] = true;
  va->step[i] = 1;
  va->size[i] = dim_const(1);
  sb->changes = true;
  if (t) {
    sb->args[sb->nargs] = t;
    va->dyn[i] = (int8_t)sb->nargs++;
    return true;
  }
  if (!unknown && n.kind == DIM_KNOWN && dim_is_const(n)) {
    if (k < -n.constant || k >= n.constant) {
      diag_error(e->diag, item->loc, "index %lld is out of range for %s", (long long)k,
                 axis_text(e, x, i));
      note_tensor(e, x);
      return false;
    }
    if (k < 0)
      k += n.constant;
  }
  va->start[i] = k; /* symbolic extent: resolved and checked at run time */
  return true;
}

static bool slice_bound(Elab *e, Frame *f, const AstNode *b, int64_t *v, bool *unknown) {
  return const_int_arg(e, f, b, "a slice bound", v, unknown);
}

/* x[a:b:s] with s > 0, Python's rules for omitted, negative and too large
 * bounds. */
static bool slice_axis(Elab *e, Frame *f, SliceBuild *sb, const IrValue *x, int i,
                       const AstNode *item) {
  const AstNode *lo = item->u.slice.lo, *hi = item->u.slice.hi, *st = item->u.slice.step;
  int64_t a = 0, b = 0, s = 1;
  bool ua = false, ub = false, us = false;
  if ((lo && !slice_bound(e, f, lo, &a, &ua)) || (hi && !slice_bound(e, f, hi, &b, &ub)) ||
      (st && !const_int_arg(e, f, st, "a slice step", &s, &us)))
    return false;
  if (st && !us && s <= 0) {
    diag_error(e->diag, st->loc,
               s == 0 ? "slice step cannot be zero"
                      : "slice step must be positive (negative steps are not supported)");
    return false;
  }
  Dim n = x->type.dims[i];
  IrViewAttrs *va = &sb->at.view;
  va->step[i] = s;
  if (!lo && !hi && s == 1) {
    full_axis(sb, x, i);
    return true;
  }
  sb->changes = true;
  if (ua || ub || us || n.kind != DIM_KNOWN) {
    va->size[i] = dim_unknown(); /* a generic check: nothing to check */
    return true;
  }
  if (!dim_is_const(n)) {
    diag_error(e->diag, item->loc,
               "%s has a symbolic extent: only ':' or a single index is supported there",
               axis_text(e, x, i));
    note_tensor(e, x);
    return false;
  }
  int64_t len = n.constant;
  int64_t from = !lo ? 0 : a < 0 ? a + len : a, to = !hi ? len : b < 0 ? b + len : b;
  from = from < 0 ? 0 : from > len ? len : from;
  to = to < 0 ? 0 : to > len ? len : to;
  int64_t count = to > from ? (to - from + s - 1) / s : 0;
  if (count == 0) {
    diag_error(e->diag, item->loc, "slice %s is empty for %s", ast_text_expr(e->arena, item),
               axis_text(e, x, i));
    note_tensor(e, x);
    return false;
  }
  va->start[i] = from;
  va->size[i] = dim_const(count);
  return true;
}

static Val index_tuple(Elab *e, Frame *f, Val obj, const AstNode *x) {
  const PtrVec *items = &x->u.index.items;
  int64_t k;
  bool unknown;
  if (items->len != 1 || ((AstNode *)items->items[0])->kind == AST_SLICE ||
      ((AstNode *)items->items[0])->kind == AST_ELLIPSIS) {
    diag_error(e->diag, x->loc, "pick one of the %d pieces with a single index", obj.nitems);
    return val_error();
  }
  const AstNode *item = items->items[0];
  if (!const_int_arg(e, f, item, "the piece's index", &k, &unknown))
    return val_error();
  if (unknown)
    k = 0;
  if (k < -obj.nitems || k >= obj.nitems) {
    diag_error(e->diag, item->loc, "index %lld is out of range for %d pieces", (long long)k,
               obj.nitems);
    return val_error();
  }
  return result(obj.items[k < 0 ? k + obj.nitems : k]);
}

Val eval_index(Elab *e, Frame *f, const AstNode *x) {
  Val obj = lower_eval_expr(e, f, x->u.index.object);
  if (obj.kind == VAL_ERROR)
    return val_error();
  if (obj.kind == VAL_TUPLE)
    return index_tuple(e, f, obj, x);
  IrValue *t = lower_as_tensor(e, f, obj, x->u.index.object);
  if (!t)
    return val_error();
  const PtrVec *items = &x->u.index.items;
  int nell = 0, nreal = 0;
  for (int k = 0; k < items->len; k++) {
    const AstNode *it = items->items[k];
    if (it->kind == AST_ELLIPSIS && ++nell > 1) {
      diag_error(e->diag, it->loc, "an index can hold only one '...'");
      return val_error();
    }
    nreal += it->kind != AST_ELLIPSIS;
  }
  if (nreal > t->type.rank) {
    diag_error(e->diag, x->loc, "too many indices: %d for %s", nreal,
               ttype_str(e->arena, e->mod->syms, &t->type));
    note_tensor(e, t);
    return val_error();
  }
  SliceBuild sb = {.at = {.infer_axis = -1}, .nargs = 1};
  sb.args[0] = t;
  for (int i = 0; i < t->type.rank; i++)
    full_axis(&sb, t, i);
  int axis = 0;
  for (int k = 0; k < items->len; k++) {
    const AstNode *it = items->items[k];
    if (it->kind == AST_ELLIPSIS) {
      axis += t->type.rank - nreal;
      continue;
    }
    bool ok = it->kind == AST_SLICE ? slice_axis(e, f, &sb, t, axis, it)
                                    : index_axis(e, f, &sb, t, axis, it);
    if (!ok)
      return val_error();
    axis++;
  }
  if (!sb.changes)
    return result(t);
  return result(lower_emit_op(e, f, OP_SLICE, sb.args, sb.nargs, x->loc, &sb.at));
}

/* The tensors of a list argument ([a, b, c]). */
static IrValue **tensor_list_arg(Elab *e, Frame *f, const char *what, const AstNode *x, int *n) {
  if (x->kind != AST_LIST || x->u.list.items.len == 0) {
    diag_error(e->diag, x->loc, "%s expects a non-empty list of tensors, e.g. [a, b]", what);
    return NULL;
  }
  const PtrVec *items = &x->u.list.items;
  IrValue **ts = ARENA_ARRAY(e->arena, IrValue *, (size_t)items->len);
  for (int i = 0; i < items->len; i++)
    if (!(ts[i] = tensor_arg(e, f, items->items[i])))
      return NULL;
  *n = items->len;
  return ts;
}

static bool optional_axis(Elab *e, Frame *f, const AstNode *x, const AstNode *call, int rank,
                          const char *what, int *axis) {
  *axis = 0;
  if (x && !axis_arg(e, f, x, axis))
    return false;
  if (*axis < -rank || *axis >= rank) {
    diag_error(e->diag, x ? x->loc : call->loc, "%s: axis %d is out of range for rank %d", what,
               *axis, rank);
    return false;
  }
  if (*axis < 0)
    *axis += rank;
  return true;
}

/* concat([a, b, ...], axis = 0): PyTorch's cat. */
static Val concat(Elab *e, Frame *f, OpKind op, const Bound *b) {
  int n;
  IrValue **ts = tensor_list_arg(e, f, "concat", b->arg[0], &n);
  if (!ts)
    return val_error();
  IrAttrs at = {.infer_axis = -1};
  if (b->arg[1] && !axis_arg(e, f, b->arg[1], &at.view.axis))
    return val_error();
  if (n == 1)
    return result(ts[0]);
  return result(lower_emit_op(e, f, op, ts, n, b->call->loc, &at));
}

/* stack([a, b, ...], axis = 0): a new axis of extent n, each operand
 * reshaped to hold 1 there, then joined. */
static Val stack(Elab *e, Frame *f, OpKind op, const Bound *b) {
  int n;
  IrValue **ts = tensor_list_arg(e, f, "stack", b->arg[0], &n);
  if (!ts)
    return val_error();
  int rank = ts[0]->type.rank, axis;
  if (rank + 1 > TYPE_MAX_RANK) {
    diag_error(e->diag, b->call->loc, "stack: the result would have more than %d dimensions",
               TYPE_MAX_RANK);
    return val_error();
  }
  if (!optional_axis(e, f, b->arg[1], b->call, rank + 1, "stack", &axis))
    return val_error();
  TType first = ts[0]->type;
  for (int k = 0; k < n; k++) {
    const TType *t = &ts[k]->type;
    if (t->rank != rank || t->dtype != first.dtype || !ttype_eq_dims(t, &first)) {
      diag_error(e->diag, b->call->loc, "stack: tensor %d is %s but tensor 0 is %s", k,
                 ttype_str(e->arena, e->mod->syms, t), ttype_str(e->arena, e->mod->syms, &first));
      return val_error();
    }
    IrAttrs rs = {.infer_axis = -1};
    rs.target.dtype = t->dtype;
    rs.target.rank = rank + 1;
    for (int i = 0, j = 0; i <= rank; i++)
      rs.target.dims[i] = i == axis ? dim_const(1) : t->dims[j++];
    if (!(ts[k] = lower_emit_op(e, f, OP_RESHAPE, &ts[k], 1, b->call->loc, &rs)))
      return val_error();
  }
  IrAttrs at = {.infer_axis = -1};
  at.view.axis = axis;
  return result(n == 1 ? ts[0] : lower_emit_op(e, f, op, ts, n, b->call->loc, &at));
}

/* split(x, sizes, axis = 0): PyTorch's split; `sizes` is a list of extents
 * that add up to the axis, or one extent (the last piece may be shorter).
 * The pieces are picked with a constant index: split(x, [2, 3])[1]. */
static Val split(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  int axis;
  if (!x || !optional_axis(e, f, b->arg[2], b->call, x->type.rank, "split", &axis))
    return val_error();
  Dim n = x->type.dims[axis];
  if (n.kind != DIM_KNOWN || !dim_is_const(n)) {
    diag_error(e->diag, b->call->loc, "split: %s must have a constant extent",
               axis_text(e, x, axis));
    return val_error();
  }
  int64_t sizes[64];
  int count = 0;
  const AstNode *sz = b->arg[1];
  bool unknown;
  if (sz->kind == AST_LIST) {
    int64_t total = 0;
    for (int k = 0; k < sz->u.list.items.len; k++) {
      const AstNode *it = sz->u.list.items.items[k];
      if (count == 64) {
        diag_error(e->diag, it->loc, "split: at most 64 pieces");
        return val_error();
      }
      if (!const_int_arg(e, f, it, "a piece's size", &sizes[count], &unknown))
        return val_error();
      if (sizes[count] <= 0) {
        diag_error(e->diag, it->loc, "split: a piece's size must be positive, got %lld",
                   (long long)sizes[count]);
        return val_error();
      }
      total += sizes[count++];
    }
    if (total != n.constant) {
      diag_error(e->diag, sz->loc, "split: the sizes add up to %lld but %s", (long long)total,
                 axis_text(e, x, axis));
      note_tensor(e, x);
      return val_error();
    }
  } else {
    int64_t each;
    if (!const_int_arg(e, f, sz, "the piece size", &each, &unknown))
      return val_error();
    if (each <= 0 || (n.constant + each - 1) / each > 64) {
      diag_error(e->diag, sz->loc,
                 "split: the piece size must be positive and give at most 64 "
                 "pieces, got %lld",
                 (long long)each);
      return val_error();
    }
    for (int64_t at = 0; at < n.constant; at += each)
      sizes[count++] = at + each <= n.constant ? each : n.constant - at;
  }
  Val r = {.kind = VAL_TUPLE, .nitems = count};
  r.items = ARENA_ARRAY(e->arena, IrValue *, (size_t)count);
  int64_t at_pos = 0;
  for (int k = 0; k < count; k++) {
    IrAttrs at = {.infer_axis = -1};
    for (int i = 0; i < x->type.rank; i++) {
      at.view.step[i] = 1;
      at.view.size[i] = x->type.dims[i];
    }
    at.view.start[axis] = at_pos;
    at.view.size[axis] = dim_const(sizes[k]);
    at_pos += sizes[k];
    r.items[k] = count == 1 ? x : lower_emit_op(e, f, op, &x, 1, b->call->loc, &at);
    if (!r.items[k])
      return val_error();
  }
  return r;
}

/* pad(x, [before, after, ...], value = 0): PyTorch's F.pad order, the
 * pairs from the last axis backwards, so that pad(x, [1, 1]) pads the last
 * axis whatever the rank. */
static Val pad(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  if (!x)
    return val_error();
  const AstNode *ps = b->arg[1];
  if (ps->kind != AST_LIST || ps->u.list.items.len % 2 || ps->u.list.items.len > 2 * x->type.rank ||
      ps->u.list.items.len == 0) {
    diag_error(e->diag, ps->loc,
               "pad expects a list of (before, after) pairs, last axis first, at most %d for %s",
               2 * x->type.rank, ttype_str(e->arena, e->mod->syms, &x->type));
    return val_error();
  }
  IrAttrs at = {.infer_axis = -1};
  for (int i = 0; i < x->type.rank; i++) {
    at.view.step[i] = 1;
    at.view.size[i] = x->type.dims[i];
  }
  bool unknown = false;
  for (int k = 0; k < ps->u.list.items.len; k += 2) {
    int i = x->type.rank - 1 - k / 2;
    int64_t before, after;
    bool u1, u2;
    const AstNode *bn = ps->u.list.items.items[k], *an = ps->u.list.items.items[k + 1];
    if (!const_int_arg(e, f, bn, "a pad width", &before, &u1) ||
        !const_int_arg(e, f, an, "a pad width", &after, &u2))
      return val_error();
    if (before < 0 || after < 0) {
      diag_error(e->diag, before < 0 ? bn->loc : an->loc,
                 "pad widths must not be negative (slice to crop)");
      return val_error();
    }
    Dim n = x->type.dims[i];
    at.view.start[i] = before;
    if (u1 || u2 || n.kind != DIM_KNOWN) {
      unknown = true;
      at.view.size[i] = dim_unknown();
    } else if (before || after) {
      if (!dim_is_const(n)) {
        diag_error(e->diag, b->call->loc, "pad: %s cannot be padded (symbolic extent)",
                   axis_text(e, x, i));
        note_tensor(e, x);
        return val_error();
      }
      at.view.size[i] = dim_const(n.constant + before + after);
    }
  }
  (void)unknown;
  if (b->arg[2]) {
    CtVal v;
    CtEnv env = {.inst = f->inst};
    if (!consteval_expr(e, &env, b->arg[2], &v))
      return val_error();
    if (v.kind == CV_FLOAT)
      at.view.value = v.f;
    else if (v.kind == CV_INT && dim_is_const(v.dim))
      at.view.value = (double)v.dim.constant;
    else if (!v.unknown) {
      diag_error(e->diag, b->arg[2]->loc, "pad: the value must be a number known at compile time");
      return val_error();
    }
  }
  return result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

/* scatter_add(src, ids, rows): src's rows added into `rows` zero rows at
 * ids; rows may be a symbolic dim. */
static Val scatter_add(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.infer_axis = -1};
  IrValue *xs[2] = {tensor_arg(e, f, b->arg[0]), tensor_arg(e, f, b->arg[1])};
  CtEnv env = {.inst = f->inst};
  if (!xs[0] || !xs[1] || !consteval_dim(e, &env, &f->dims, DIMS_BIND, b->arg[2], &at.gather.rows))
    return val_error();
  return result(lower_emit_op(e, f, op, xs, 2, b->call->loc, &at));
}

/* einsum("bij,bjk->bik", a, b), or one operand: einsum("ij->ji", a). */
static Val einsum(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *xs[2] = {tensor_arg(e, f, b->arg[1]), b->arg[2] ? tensor_arg(e, f, b->arg[2]) : NULL};
  if (!xs[0] || (b->arg[2] && !xs[1]))
    return val_error();
  return builtin_einsum(e, f, b->arg[0], xs, b->arg[2] ? 2 : 1, b->call->loc);
}

/* ---- generators: random tensors, dropout, constructors ---- */

/* A compile-time number (mean, std, p, a fill value); *is_int tells an int
 * literal from a float. In a generic check an unknown value reads as 0. */
static bool number_arg(Elab *e, Frame *f, const AstNode *x, double *out, bool *is_int,
                       bool *unknown) {
  CtVal v;
  CtEnv env = {.inst = f->inst};
  if (!consteval_expr(e, &env, x, &v))
    return false;
  if (v.kind != CV_INT && v.kind != CV_FLOAT) {
    diag_error(e->diag, x->loc, "expected a number known at compile time");
    return false;
  }
  *unknown = v.unknown || (v.kind == CV_INT && !dim_is_const(v.dim));
  *out = *unknown ? 0 : v.kind == CV_INT ? (double)v.dim.constant : v.f;
  if (is_int)
    *is_int = v.kind == CV_INT;
  return true;
}

static bool opt_number(Elab *e, Frame *f, const AstNode *x, double dflt, double *out) {
  bool unknown;
  *out = dflt;
  return !x || number_arg(e, f, x, out, NULL, &unknown);
}

/* The shape of a made tensor must be known at compile time (up to the
 * function's symbolic dims): a tensor's value never is. */
static bool static_shape_arg(Elab *e, Frame *f, const char *what, const AstNode *shape,
                             TType *target) {
  for (int i = 0; shape->kind == AST_LIST && i < shape->u.list.items.len; i++) {
    const AstNode *d = shape->u.list.items.items[i];
    const Val *v = d->kind == AST_NAME ? strmap_get(&f->locals, d->u.name.name) : NULL;
    if (v && v->kind == VAL_TENSOR) {
      diag_error(e->diag, d->loc,
                 "%s: the shape must be known at compile time, but '%s' is a tensor", what,
                 d->u.name.name);
      return false;
    }
  }
  return shape_list_arg(e, f, what, shape, target, NULL);
}

/* One generator op of `shape` (a list of dims, which may use the function's
 * symbolic dims); random ones take the function's next stream. */
static IrValue *generator(Elab *e, Frame *f, OpKind op, const AstNode *shape, DType dt,
                          IrGenAttrs gen, SrcSpan loc) {
  IrAttrs at = {.dtype = dt, .gen = gen};
  if (!static_shape_arg(e, f, op_info[op].name, shape, &at.target))
    return NULL;
  if (op != OP_ARANGE)
    at.gen.stream = e->next_stream++;
  return lower_emit_op(e, f, op, NULL, 0, loc, &at);
}

/* uniform(shape, lo = 0, hi = 1) and normal(shape, mean = 0, std = 1). */
static Val random_tensor(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrGenAttrs gen = {0};
  if (!opt_number(e, f, b->arg[1], 0, &gen.a) || !opt_number(e, f, b->arg[2], 1, &gen.b))
    return val_error();
  if (op == OP_NORMAL && gen.b < 0) {
    diag_error(e->diag, b->arg[2]->loc, "normal: std must be >= 0, got %g", gen.b);
    return val_error();
  }
  if (op == OP_UNIFORM && !(gen.a <= gen.b)) {
    diag_error(e->diag, b->arg[1] ? b->arg[1]->loc : b->call->loc,
               "uniform: lo must not exceed hi (got lo = %g, hi = %g)", gen.a, gen.b);
    return val_error();
  }
  return result(generator(e, f, op, b->arg[0], DT_F32, gen, b->call->loc));
}

/* dropout(x, p): x in inference functions; in training steps x times a mask
 * that zeroes each element with probability p and scales the kept ones by
 * 1 / (1 - p) (PyTorch's inverted dropout). */
static Val dropout(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  double p;
  bool unknown;
  if (!x || !number_arg(e, f, b->arg[1], &p, NULL, &unknown))
    return val_error();
  if (!unknown && !(p >= 0 && p < 1)) {
    diag_error(e->diag, b->arg[1]->loc, "dropout: p must be in [0, 1), got %g", p);
    return val_error();
  }
  if (!dtype_is_float(x->type.dtype)) {
    diag_error(e->diag, b->arg[0]->loc, "dropout: expects a floating-point tensor, got %s",
               ttype_str(e->arena, e->mod->syms, &x->type));
    return val_error();
  }
  e->used_training = true;
  int stream = e->next_stream++; /* taken in both variants: later streams stay aligned */
  if (!e->training || p == 0)
    return result(x);
  IrAttrs at = {.dtype = x->type.dtype, .target = x->type, .gen = {.a = p, .stream = stream}};
  IrValue *mask = lower_emit_op(e, f, OP_DROPOUT_MASK, NULL, 0, b->call->loc, &at);
  IrValue *xs[2] = {x, mask};
  return mask ? result(lower_emit_op(e, f, OP_MUL, xs, 2, b->call->loc, NULL)) : val_error();
}

/* zeros(shape), ones(shape), full(shape, value): a constant broadcast to
 * the shape; f32, except full of an int (i32) or a bool, as PyTorch infers
 * the dtype from the value (its int64 is i32 here). */
static Val constant_tensor(Elab *e, Frame *f, const char *what, double value, DType dt,
                           const AstNode *shape, SrcSpan loc) {
  IrAttrs at = {.infer_axis = -1};
  if (!static_shape_arg(e, f, what, shape, &at.target))
    return val_error();
  IrAttrs ct = {.scalar = value};
  IrValue *c = lower_emit_op(e, f, OP_CONST, NULL, 0, loc, &ct);
  if (!c)
    return val_error();
  c->type = ttype_scalar(dt);
  return result(lower_emit_op(e, f, OP_BROADCAST, &c, 1, loc, &at));
}

static Val zeros_ones(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  const char *name = b->call->u.call.callee->u.name.name;
  return constant_tensor(e, f, name, !strcmp(name, "ones") ? 1 : 0, DT_F32, b->arg[0],
                         b->call->loc);
}

static Val full(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  CtVal v;
  CtEnv env = {.inst = f->inst};
  if (!consteval_expr(e, &env, b->arg[1], &v))
    return val_error();
  if (v.kind == CV_BOOL)
    return constant_tensor(e, f, "full", v.b, DT_BOOL, b->arg[0], b->call->loc);
  double x;
  bool is_int, unknown;
  if (!number_arg(e, f, b->arg[1], &x, &is_int, &unknown))
    return val_error();
  return constant_tensor(e, f, "full", x, is_int ? DT_I32 : DT_F32, b->arg[0], b->call->loc);
}

/* arange(n): 0, 1, ..., n - 1; i32 for an int n (PyTorch's int64), f32 for
 * a float n (ceil(n) elements). n may be a symbolic dim (arange(B)). */
static Val arange(Elab *e, Frame *f, OpKind op, const Bound *b) {
  CtEnv env = {.inst = f->inst};
  const AstNode *n = b->arg[0];
  IrAttrs at = {.dtype = DT_I32, .gen = {.a = 0, .b = 1}, .target = {.rank = 1}};
  if (n->kind == AST_FLOAT) {
    double x = n->u.float_lit.value;
    if (!(x > 0 && x < 0x1p53)) {
      diag_error(e->diag, n->loc, "arange: the size must be positive, got %g", x);
      return val_error();
    }
    at.dtype = DT_F32;
    at.target.dims[0] = dim_const((int64_t)ceil(x));
  } else if (!consteval_dim(e, &env, &f->dims, DIMS_BIND, n, &at.target.dims[0])) {
    return val_error();
  }
  return result(lower_emit_op(e, f, op, NULL, 0, b->call->loc, &at));
}

/* ---- the elementwise ops and losses of issue 14 ---- */

/* A number known at compile time (a literal, a layer argument), for
 * constants that become attributes of an op. While a layer is checked
 * generically its arguments are unknown: *out keeps its default then, and
 * the caller's range checks wait for the instance. */
static bool const_number_arg(Elab *e, Frame *f, const char *what, const AstNode *x, double *out) {
  CtVal v;
  CtEnv env = {.inst = f->inst};
  if (!consteval_expr(e, &env, x, &v))
    return false;
  if (v.kind != CV_INT && v.kind != CV_FLOAT) {
    diag_error(e->diag, x->loc, "%s must be a number known at compile time", what);
    return false;
  }
  if (v.unknown || (v.kind == CV_INT && !dim_is_const(v.dim)))
    return true;
  *out = v.kind == CV_INT ? (double)v.dim.constant : v.f;
  if (isnan(*out)) {
    diag_error(e->diag, x->loc, "%s must not be NaN", what);
    return false;
  }
  return true;
}

static Val unary_with(Elab *e, Frame *f, OpKind op, const Bound *b, const IrAttrs *at) {
  IrValue *x = tensor_arg(e, f, b->arg[0]);
  return x ? result(lower_emit_op(e, f, op, &x, 1, b->call->loc, at)) : val_error();
}

/* leaky_relu(x, slope = 0.01) */
static Val leaky_relu(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.infer_axis = -1, .unary.slope = 0.01};
  if (b->arg[1] && !const_number_arg(e, f, "leaky_relu: slope", b->arg[1], &at.unary.slope))
    return val_error();
  return unary_with(e, f, op, b, &at);
}

/* elu(x, alpha = 1.0) */
static Val elu(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.infer_axis = -1, .unary.alpha = 1.0};
  if (b->arg[1] && !const_number_arg(e, f, "elu: alpha", b->arg[1], &at.unary.alpha))
    return val_error();
  return unary_with(e, f, op, b, &at);
}

/* gelu(x, approximate = "none" | "tanh"), PyTorch's spelling */
static Val gelu(Elab *e, Frame *f, OpKind op, const Bound *b) {
  if (b->arg[1]) {
    CtVal v;
    CtEnv env = {.inst = f->inst};
    if (!consteval_expr(e, &env, b->arg[1], &v))
      return val_error();
    if (v.kind != CV_STRING || (strcmp(v.s, "none") && strcmp(v.s, "tanh"))) {
      diag_error(e->diag, b->arg[1]->loc, "gelu: approximate must be \"none\" or \"tanh\"");
      return val_error();
    }
    if (!strcmp(v.s, "tanh"))
      op = OP_GELU_TANH;
  }
  return unary_with(e, f, op, b, NULL);
}

/* clamp(x, lo, hi): either bound may be left out, not both */
static Val clamp(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.infer_axis = -1, .unary = {.lo = -INFINITY, .hi = INFINITY}};
  if (!b->arg[1] && !b->arg[2]) {
    diag_error(e->diag, b->call->loc,
               "clamp needs a bound: clamp(x, lo, hi), clamp(x, lo = 0.0) "
               "or clamp(x, hi = 1.0)");
    return val_error();
  }
  if ((b->arg[1] && !const_number_arg(e, f, "clamp: lo", b->arg[1], &at.unary.lo)) ||
      (b->arg[2] && !const_number_arg(e, f, "clamp: hi", b->arg[2], &at.unary.hi)))
    return val_error();
  if (at.unary.lo > at.unary.hi) {
    diag_error(e->diag, b->arg[2]->loc, "clamp: the upper bound %g is below the lower bound %g",
               at.unary.hi, at.unary.lo);
    diag_note(e->diag, b->arg[1]->loc, "the lower bound is given here");
    return val_error();
  }
  return unary_with(e, f, op, b, &at);
}

/* f32(x), f64(x), i32(x): the builtin's name is the target type. */
static Val cast(Elab *e, Frame *f, OpKind op, const Bound *b) {
  const char *name = b->call->u.call.callee->u.name.name;
  IrAttrs at = {.infer_axis = -1,
                .unary.to = !strcmp(name, "f64")   ? DT_F64
                            : !strcmp(name, "i32") ? DT_I32
                                                   : DT_F32};
  return unary_with(e, f, op, b, &at);
}

static IrValue *mean_all(Elab *e, Frame *f, IrValue *x, SrcSpan loc) {
  IrAttrs at = {.all_axes = true, .infer_axis = -1};
  return x ? lower_emit_op(e, f, OP_MEAN, &x, 1, loc, &at) : NULL;
}

/* The two operands of a loss: float tensors of one type; like mse, losses
 * do not broadcast (f32[B, 1] against f32[B] would silently become
 * [B, B]). */
static bool loss_operands(Elab *e, Frame *f, const Bound *b, const char *roles[2],
                          IrValue *out[2]) {
  for (int i = 0; i < 2; i++)
    if (!(out[i] = tensor_arg(e, f, b->arg[i])))
      return false;
  const char *name = b->call->u.call.callee->u.name.name;
  const TType *p = &out[0]->type, *t = &out[1]->type;
  if (!dtype_is_float(p->dtype) || p->dtype != t->dtype || !ttype_eq_dims(p, t)) {
    const SymTab *syms = e->mod->syms;
    diag_error(e->diag, b->call->loc,
               "%s: %s %s and %s %s must be float tensors of the same type and shape (losses do "
               "not broadcast)",
               name, roles[0], ttype_str(e->arena, syms, p), roles[1],
               ttype_str(e->arena, syms, t));
    for (int i = 0; i < 2; i++)
      diag_note(e->diag, b->arg[i]->loc, "%s has type %s", roles[i],
                ttype_str(e->arena, syms, &out[i]->type));
    return false;
  }
  return true;
}

/* bce_logits(logits, target): PyTorch's binary_cross_entropy_with_logits,
 * mean of (1 - t) x + softplus(-x). That form is stable for any x (softplus
 * never overflows) and its gradient sigmoid(x) - t is smooth at 0, where
 * the textbook max(x, 0) - x t + log(1 + e^-|x|) would take abs' and
 * relu' at their kinks. */
static Val bce_logits(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *xt[2];
  if (!loss_operands(e, f, b, (const char *[]){"logits", "target"}, xt))
    return val_error();
  SrcSpan at = b->call->loc;
  IrValue *one_minus_t = emit2(e, f, OP_SUB, literal(e, f, 1.0, at), xt[1], at);
  IrValue *linear = emit2(e, f, OP_MUL, one_minus_t, xt[0], at);
  IrValue *sp = emit1(e, f, OP_SOFTPLUS, emit1(e, f, OP_NEG, xt[0], at, NULL), at, NULL);
  return result(mean_all(e, f, emit2(e, f, OP_ADD, linear, sp, at), at));
}

/* l1(pred, target): mean |pred - target|, PyTorch's L1Loss */
static Val l1(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *pt[2];
  if (!loss_operands(e, f, b, (const char *[]){"prediction", "target"}, pt))
    return val_error();
  SrcSpan at = b->call->loc;
  return result(
      mean_all(e, f, emit1(e, f, OP_ABS, emit2(e, f, OP_SUB, pt[0], pt[1], at), at, NULL), at));
}

/* huber(pred, target, delta = 1.0): PyTorch's HuberLoss, the mean of
 * d^2 / 2 where |d| < delta, else delta (|d| - delta / 2). */
static Val huber(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *pt[2];
  double delta = 1.0;
  if (!loss_operands(e, f, b, (const char *[]){"prediction", "target"}, pt))
    return val_error();
  if (b->arg[2]) {
    if (!const_number_arg(e, f, "huber: delta", b->arg[2], &delta))
      return val_error();
    if (!(delta > 0)) {
      diag_error(e->diag, b->arg[2]->loc, "huber: delta must be positive, got %g", delta);
      return val_error();
    }
  }
  SrcSpan at = b->call->loc;
  IrValue *d = emit2(e, f, OP_SUB, pt[0], pt[1], at);
  IrValue *ad = emit1(e, f, OP_ABS, d, at, NULL);
  IrValue *quad = emit2(e, f, OP_MUL, literal(e, f, 0.5, at), emit2(e, f, OP_MUL, d, d, at), at);
  IrValue *lin = emit2(e, f, OP_MUL, literal(e, f, delta, at),
                       emit2(e, f, OP_SUB, ad, literal(e, f, 0.5 * delta, at), at), at);
  IrValue *inside = emit2(e, f, OP_LT, ad, literal(e, f, delta, at), at);
  if (!inside || !quad || !lin)
    return val_error();
  IrValue *xs[3] = {inside, quad, lin};
  return result(mean_all(e, f, lower_emit_op(e, f, OP_SELECT, xs, 3, at, NULL), at));
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
    {"max", OP_MAX, reduce, {"x", "axis", "keepdims"}, 1},
    {"min", OP_MIN, reduce, {"x", "axis", "keepdims"}, 1},
    {"argmax", OP_ARGMAX, arg_reduce, {"x", "axis", "keepdims"}, 1},
    {"argmin", OP_ARGMIN, arg_reduce, {"x", "axis", "keepdims"}, 1},
    {"logsumexp", OP_SUM, logsumexp, {"x", "axis", "keepdims"}, 1},
    {"var", OP_MEAN, variance, {"x", "axis", "keepdims"}, 1},
    {"std", OP_POW, variance, {"x", "axis", "keepdims"}, 1},
    {"layer_norm", OP_MEAN, layer_norm, {"x", "normalized_shape", "weight", "bias", "eps"}, 2},
    {"reshape", OP_RESHAPE, reshape, {"x", "shape"}, 2},
    {"transpose", OP_TRANSPOSE, transpose, {"x", "perm"}, 1},
    {"matmul", OP_MATMUL, binary, {"a", "b"}, 2},
    {"cross_entropy",
     OP_CROSS_ENTROPY,
     cross_entropy,
     {"logits", "labels", "mask", "ignore_index", "label_smoothing"},
     2},
    {"mse", OP_MSE, binary, {"pred", "target"}, 2},
    {"where", OP_SELECT, ternary, {"cond", "a", "b"}, 3},
    {"one_hot", OP_ONE_HOT, one_hot, {"labels", "classes"}, 2},
    {"stop_gradient", OP_STOP_GRADIENT, unary, {"x"}, 1},
    {"broadcast_to", OP_BROADCAST, broadcast_to, {"x", "shape"}, 2},
    {"gather", OP_GATHER, binary, {"table", "ids"}, 2},
    {"scatter_add", OP_SCATTER_ADD, scatter_add, {"src", "ids", "rows"}, 3},
    {"einsum", OP_MATMUL, einsum, {"equation", "a", "b"}, 2},
    /* generators */
    {"uniform", OP_UNIFORM, random_tensor, {"shape", "lo", "hi"}, 1},
    {"normal", OP_NORMAL, random_tensor, {"shape", "mean", "std"}, 1},
    {"dropout", OP_DROPOUT_MASK, dropout, {"x", "p"}, 2},
    {"zeros", OP_BROADCAST, zeros_ones, {"shape"}, 1},
    {"ones", OP_BROADCAST, zeros_ones, {"shape"}, 1},
    {"full", OP_BROADCAST, full, {"shape", "value"}, 2},
    {"arange", OP_ARANGE, arange, {"n"}, 1},
    /* issue 14 */
    {"sqrt", OP_SQRT, unary, {"x"}, 1},
    {"rsqrt", OP_RSQRT, unary, {"x"}, 1},
    {"abs", OP_ABS, unary, {"x"}, 1},
    {"sign", OP_SIGN, unary, {"x"}, 1},
    {"sin", OP_SIN, unary, {"x"}, 1},
    {"cos", OP_COS, unary, {"x"}, 1},
    {"erf", OP_ERF, unary, {"x"}, 1},
    {"leaky_relu", OP_LEAKY_RELU, leaky_relu, {"x", "slope"}, 1},
    {"elu", OP_ELU, elu, {"x", "alpha"}, 1},
    {"gelu", OP_GELU, gelu, {"x", "approximate"}, 1},
    {"softplus", OP_SOFTPLUS, unary, {"x"}, 1},
    {"silu", OP_SILU, unary, {"x"}, 1},
    {"clamp", OP_CLAMP, clamp, {"x", "lo", "hi"}, 1},
    {"minimum", OP_MINIMUM, binary, {"a", "b"}, 2},
    {"maximum", OP_MAXIMUM, binary, {"a", "b"}, 2},
    {"f32", OP_CAST, cast, {"x"}, 1},
    {"f64", OP_CAST, cast, {"x"}, 1},
    {"i32", OP_CAST, cast, {"x"}, 1},
    {"bce_logits", OP_COUNT, bce_logits, {"logits", "target"}, 2},
    {"l1", OP_COUNT, l1, {"pred", "target"}, 2},
    {"huber", OP_COUNT, huber, {"pred", "target", "delta"}, 2},
    /* views */
    {"pad", OP_PAD, pad, {"x", "pad", "value"}, 2},
    {"concat", OP_CONCAT, concat, {"tensors", "axis"}, 1},
    {"stack", OP_CONCAT, stack, {"tensors", "axis"}, 1},
    {"split", OP_SLICE, split, {"x", "sizes", "axis"}, 2},
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
