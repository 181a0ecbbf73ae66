/* builtins_gen.c - builtins that make tensors: random ones (uniform,
 * normal, dropout's mask) from the counter-based generator, and constant
 * ones (zeros, ones, full, arange). */
#include <math.h>
#include <string.h>

#include "builtins.h"

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
  return builtin_shape_list_arg(e, f, what, shape, target, NULL);
}

/* One generator op of `shape` (a list of dims, which may use the function's
 * symbolic dims); random ones take the function's next stream. */
static IrValue *generator(Elab *e, Frame *f, OpKind op, const AstNode *shape, DType dt,
                          IrGenAttrs gen, SrcSpan loc) {
  TType target;
  IrAttrs at = {.gen = gen};
  at.gen.target = &target;
  at.gen.dtype = dt;
  if (!static_shape_arg(e, f, op_info[op].name, shape, &target))
    return NULL;
  if (op != OP_ARANGE)
    at.gen.stream = e->next_stream++;
  return lower_emit_op(e, f, op, NULL, 0, loc, &at);
}

/* uniform(shape, lo = 0, hi = 1) and normal(shape, mean = 0, std = 1). */
static Val random_tensor(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrGenAttrs gen = {.a = 0, .b = 1};
  if (!builtin_number_arg(e, f, b, 1, &gen.a, NULL) ||
      !builtin_number_arg(e, f, b, 2, &gen.b, NULL))
    return builtin_error();
  if (op == OP_NORMAL && gen.b < 0) {
    diag_error(e->diag, b->arg[2]->loc, "normal: std must be >= 0, got %g", gen.b);
    return builtin_error();
  }
  if (op == OP_UNIFORM && !(gen.a <= gen.b)) {
    diag_error(e->diag, b->arg[1] ? b->arg[1]->loc : b->call->loc,
               "uniform: lo must not exceed hi (got lo = %g, hi = %g)", gen.a, gen.b);
    return builtin_error();
  }
  return builtin_result(generator(e, f, op, b->arg[0], DT_F32, gen, b->call->loc));
}

/* dropout(x, p): x in inference functions; in training steps x times a mask
 * that zeroes each element with probability p and scales the kept ones by
 * 1 / (1 - p) (PyTorch's inverted dropout). */
static Val dropout(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  double p = 0;
  NumberInfo n;
  if (!x || !builtin_number_arg(e, f, b, 1, &p, &n))
    return builtin_error();
  if (!n.unknown && !(p >= 0 && p < 1)) {
    diag_error(e->diag, b->arg[1]->loc, "dropout: p must be in [0, 1), got %g", p);
    return builtin_error();
  }
  if (!dtype_is_float(x->type.dtype)) {
    diag_error(e->diag, b->arg[0]->loc, "dropout: expects a floating-point tensor, got %s",
               ttype_str(e->arena, e->mod->syms, &x->type));
    return builtin_error();
  }
  e->used_training = true;
  int stream = e->next_stream++; /* taken in both variants: later streams stay aligned */
  if (!e->training || p == 0)
    return builtin_result(x);
  IrAttrs at = {.gen = {.target = &x->type, .dtype = x->type.dtype, .a = p, .stream = stream}};
  IrValue *mask = lower_emit_op(e, f, OP_DROPOUT_MASK, NULL, 0, b->call->loc, &at);
  IrValue *xs[2] = {x, mask};
  return mask ? builtin_result(lower_emit_op(e, f, OP_MUL, xs, 2, b->call->loc, NULL))
              : builtin_error();
}

/* zeros(shape), ones(shape), full(shape, value): a constant broadcast to
 * the shape; f32, except full of an int (i32) or a bool, as PyTorch infers
 * the dtype from the value (its int64 is i32 here). */
static Val constant_tensor(Elab *e, Frame *f, const char *what, double value, DType dt,
                           const AstNode *shape, SrcSpan loc) {
  TType target;
  IrAttrs at = {.expand = {.target = &target}};
  if (!static_shape_arg(e, f, what, shape, &target))
    return builtin_error();
  IrAttrs ct = {.source = {.scalar = value}};
  IrValue *c = lower_emit_op(e, f, OP_CONST, NULL, 0, loc, &ct);
  if (!c)
    return builtin_error();
  c->type = ttype_scalar(dt);
  return builtin_result(lower_emit_op(e, f, OP_BROADCAST, &c, 1, loc, &at));
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
    return builtin_error();
  if (v.kind == CV_BOOL)
    return constant_tensor(e, f, "full", v.b, DT_BOOL, b->arg[0], b->call->loc);
  double x = 0;
  NumberInfo n;
  if (!builtin_number_arg(e, f, b, 1, &x, &n))
    return builtin_error();
  return constant_tensor(e, f, "full", x, n.is_int ? DT_I32 : DT_F32, b->arg[0], b->call->loc);
}

/* arange(n): 0, 1, ..., n - 1; i32 for an int n (PyTorch's int64), f32 for
 * a float n (ceil(n) elements). n may be a symbolic dim (arange(B)). */
static Val arange(Elab *e, Frame *f, OpKind op, const Bound *b) {
  CtEnv env = {.inst = f->inst};
  const AstNode *n = b->arg[0];
  TType target = {.rank = 1};
  IrAttrs at = {.gen = {.target = &target, .dtype = DT_I32, .a = 0, .b = 1}};
  if (n->kind == AST_FLOAT) {
    double x = n->u.float_lit.value;
    if (!(x > 0 && x < 0x1p53)) {
      diag_error(e->diag, n->loc, "arange: the size must be positive, got %g", x);
      return builtin_error();
    }
    at.gen.dtype = DT_F32;
    target.dims[0] = dim_const((int64_t)ceil(x));
  } else if (!consteval_dim(e, &env, &f->dims, DIMS_BIND, n, &target.dims[0])) {
    return builtin_error();
  }
  return builtin_result(lower_emit_op(e, f, op, NULL, 0, b->call->loc, &at));
}

static const Builtin rows[] = {
    {"uniform", OP_UNIFORM, random_tensor, {"shape", "lo", "hi"}, 1},
    {"normal", OP_NORMAL, random_tensor, {"shape", "mean", "std"}, 1},
    {"dropout", OP_DROPOUT_MASK, dropout, {"x", "p"}, 2},
    {"zeros", OP_BROADCAST, zeros_ones, {"shape"}, 1},
    {"ones", OP_BROADCAST, zeros_ones, {"shape"}, 1},
    {"full", OP_BROADCAST, full, {"shape", "value"}, 2},
    {"arange", OP_ARANGE, arange, {"n"}, 1},
};
const BuiltinGroup builtins_gen = {rows, sizeof rows / sizeof rows[0]};
