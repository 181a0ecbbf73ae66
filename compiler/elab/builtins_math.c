/* builtins_math.c - the arithmetic builtins: elementwise functions with
 * their constants (leaky_relu's slope, clamp's bounds), casts, softmax, and
 * the reductions, including those composed from others (logsumexp, var,
 * std). */
#include <math.h>
#include <string.h>

#include "builtins.h"

/* x reshaped to the type of `like` (a reduction without keepdims). */
static IrValue *reshape_like(Elab *e, Frame *f, IrValue *x, const IrValue *like, SrcSpan loc) {
  if (!x || !like)
    return NULL;
  IrAttrs at = {.layout = {.target = &like->type, .infer_axis = -1}};
  return builtin_emit1(e, f, OP_RESHAPE, x, loc, &at);
}

static Val rowwise(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.rowwise = {.axis = -1}};
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  if (!x || (b->arg[1] && !builtin_axis_arg(e, f, b->arg[1], &at.rowwise.axis)))
    return builtin_error();
  return builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

static Val reduce(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.reduce = {.all_axes = b->arg[1] == NULL}};
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  if (!x)
    return builtin_error();
  if (b->arg[1] && !builtin_int_list_arg(e, f, b->arg[1], at.reduce.axes, &at.reduce.naxes))
    return builtin_error();
  if (b->arg[2] && !builtin_bool_arg(e, f, b->arg[2], &at.reduce.keepdims))
    return builtin_error();
  return builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

/* The attributes of a reduction call: axis (one or a list) and keepdims. */
static bool reduce_attrs(Elab *e, Frame *f, const Bound *b, IrAttrs *at) {
  *at = (IrAttrs){.reduce = {.all_axes = b->arg[1] == NULL}};
  if (b->arg[1] && !builtin_int_list_arg(e, f, b->arg[1], at->reduce.axes, &at->reduce.naxes))
    return false;
  return !b->arg[2] || builtin_bool_arg(e, f, b->arg[2], &at->reduce.keepdims);
}

/* logsumexp(x, axis, keepdims) = log(sum(exp(x - m))) + m with m the max,
 * replaced by 0 where it is infinite (all -inf, or an inf), as PyTorch does.
 * m is a constant for the gradient: the result does not depend on it. */
static Val logsumexp(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  SrcSpan loc = b->call->loc;
  IrAttrs at;
  IrValue *x = builtin_float_tensor_arg(e, f, b, "logsumexp");
  if (!x || !reduce_attrs(e, f, b, &at))
    return builtin_error();
  IrAttrs kept = at;
  kept.reduce.keepdims = true;
  IrValue *m =
      builtin_emit1(e, f, OP_STOP_GRADIENT, builtin_emit1(e, f, OP_MAX, x, loc, &kept), loc, NULL);
  IrValue *inf = builtin_literal(e, f, __builtin_inf(), loc), *zero = builtin_literal(e, f, 0, loc);
  IrValue *finite = builtin_emit2(e, f, OP_LT, builtin_emit2(e, f, OP_MUL, m, m, loc), inf, loc);
  IrValue *shift = NULL;
  if (finite) {
    IrValue *sel[3] = {finite, m, zero};
    shift = lower_emit_op(e, f, OP_SELECT, sel, 3, loc, NULL);
  }
  IrValue *sum = builtin_emit1(
      e, f, OP_SUM,
      builtin_emit1(e, f, OP_EXP, builtin_emit2(e, f, OP_SUB, x, shift, loc), loc, NULL), loc, &at);
  if (shift && !at.reduce.keepdims)
    shift = reshape_like(e, f, shift, sum, loc);
  return builtin_result(
      builtin_emit2(e, f, OP_ADD, builtin_emit1(e, f, OP_LOG, sum, loc, NULL), shift, loc));
}

/* var: the population variance (PyTorch's unbiased=False), mean((x - mu)^2);
 * std: its square root. */
static Val variance(Elab *e, Frame *f, OpKind op, const Bound *b) {
  SrcSpan loc = b->call->loc;
  IrAttrs at;
  IrValue *x = builtin_float_tensor_arg(e, f, b, op == OP_MEAN ? "var" : "std");
  if (!x || !reduce_attrs(e, f, b, &at))
    return builtin_error();
  IrAttrs kept = at;
  kept.reduce.keepdims = true;
  IrValue *d = builtin_emit2(e, f, OP_SUB, x, builtin_emit1(e, f, OP_MEAN, x, loc, &kept), loc);
  IrValue *var = builtin_emit1(e, f, OP_MEAN, builtin_emit2(e, f, OP_MUL, d, d, loc), loc, &at);
  if (op == OP_MEAN)
    return builtin_result(var);
  return builtin_result(builtin_emit2(e, f, OP_POW, var, builtin_literal(e, f, 0.5, loc), loc));
}

/* argmax(x, axis, keepdims): one axis (moved last by a transpose, which
 * fuses into the reduction's reads) or none (the index into the flattened
 * tensor, as PyTorch). */
static Val arg_reduce(Elab *e, Frame *f, OpKind op, const Bound *b) {
  SrcSpan loc = b->call->loc;
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  IrAttrs at = {.reduce = {.all_axes = b->arg[1] == NULL}};
  int axis = 0;
  if (b->arg[1] && b->arg[1]->kind == AST_LIST) {
    diag_error(e->diag, b->arg[1]->loc, "%s takes one axis, not a list", op_info[op].name);
    return builtin_error();
  }
  if (!x || (b->arg[1] && !builtin_axis_arg(e, f, b->arg[1], &axis)) ||
      (b->arg[2] && !builtin_bool_arg(e, f, b->arg[2], &at.reduce.keepdims)))
    return builtin_error();
  if (at.reduce.all_axes)
    return builtin_result(lower_emit_op(e, f, op, &x, 1, loc, &at));
  int rank = x->type.rank;
  if (axis < -rank || axis >= rank) {
    diag_error(e->diag, b->arg[1]->loc, "%s: axis %d is out of range for a tensor of rank %d",
               op_info[op].name, axis, rank);
    return builtin_error();
  }
  axis = axis < 0 ? axis + rank : axis;
  IrValue *moved = x;
  if (axis != rank - 1) {
    IrAttrs perm = {.layout = {.has_perm = true, .infer_axis = -1}};
    for (int i = 0, j = 0; i < rank; i++)
      if (i != axis)
        perm.layout.perm[j++] = i;
    perm.layout.perm[rank - 1] = axis;
    moved = builtin_emit1(e, f, OP_TRANSPOSE, x, loc, &perm);
  }
  IrAttrs last = {.reduce = {.naxes = 1, .axes = {rank - 1}}};
  IrValue *idx = builtin_emit1(e, f, op, moved, loc, &last);
  if (!idx || !at.reduce.keepdims)
    return builtin_result(idx);
  TType target = x->type;
  target.dtype = DT_I32;
  target.dims[axis] = dim_const(1);
  IrAttrs shape = {.layout = {.target = &target, .infer_axis = -1}};
  return builtin_result(builtin_emit1(e, f, OP_RESHAPE, idx, loc, &shape));
}

static Val ternary(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *xs[3] = {builtin_tensor_arg(e, f, b->arg[0]), builtin_tensor_arg(e, f, b->arg[1]),
                    builtin_tensor_arg(e, f, b->arg[2])};
  if (!xs[0] || !xs[1] || !xs[2])
    return builtin_error();
  return builtin_result(lower_emit_op(e, f, op, xs, 3, b->call->loc, NULL));
}

static Val unary_with(Elab *e, Frame *f, OpKind op, const Bound *b, const IrAttrs *at) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  return x ? builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, at)) : builtin_error();
}

/* leaky_relu(x, slope = 0.01) */
static Val leaky_relu(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.unary = {.slope = 0.01}};
  if (!builtin_number_arg(e, f, b, 1, &at.unary.slope, NULL))
    return builtin_error();
  return unary_with(e, f, op, b, &at);
}

/* elu(x, alpha = 1.0) */
static Val elu(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.unary = {.alpha = 1.0}};
  if (!builtin_number_arg(e, f, b, 1, &at.unary.alpha, NULL))
    return builtin_error();
  return unary_with(e, f, op, b, &at);
}

/* gelu(x, approximate = "none" | "tanh"), PyTorch's spelling */
static Val gelu(Elab *e, Frame *f, OpKind op, const Bound *b) {
  if (b->arg[1]) {
    CtVal v;
    CtEnv env = {.inst = f->inst};
    if (!consteval_expr(e, &env, b->arg[1], &v))
      return builtin_error();
    if (v.kind != CV_STRING || (strcmp(v.s, "none") && strcmp(v.s, "tanh"))) {
      diag_error(e->diag, b->arg[1]->loc, "gelu: approximate must be \"none\" or \"tanh\"");
      return builtin_error();
    }
    if (!strcmp(v.s, "tanh"))
      op = OP_GELU_TANH;
  }
  return unary_with(e, f, op, b, NULL);
}

/* clamp(x, lo, hi): either bound may be left out, not both */
static Val clamp(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.unary = {.lo = -INFINITY, .hi = INFINITY}};
  if (!b->arg[1] && !b->arg[2]) {
    diag_error(e->diag, b->call->loc,
               "clamp needs a bound: clamp(x, lo, hi), clamp(x, lo = 0.0) "
               "or clamp(x, hi = 1.0)");
    return builtin_error();
  }
  if (!builtin_number_arg(e, f, b, 1, &at.unary.lo, NULL) ||
      !builtin_number_arg(e, f, b, 2, &at.unary.hi, NULL))
    return builtin_error();
  if (at.unary.lo > at.unary.hi) {
    diag_error(e->diag, b->arg[2]->loc, "clamp: the upper bound %g is below the lower bound %g",
               at.unary.hi, at.unary.lo);
    diag_note(e->diag, b->arg[1]->loc, "the lower bound is given here");
    return builtin_error();
  }
  return unary_with(e, f, op, b, &at);
}

/* f32(x), f64(x), i32(x): the builtin's name is the target type. */
static Val cast(Elab *e, Frame *f, OpKind op, const Bound *b) {
  const char *name = b->call->u.call.callee->u.name.name;
  IrAttrs at = {.unary.to = !strcmp(name, "f64") ? DT_F64 : !strcmp(name, "i32") ? DT_I32 : DT_F32};
  return unary_with(e, f, op, b, &at);
}

static const Builtin rows[] = {
    {"relu", OP_RELU, builtin_unary, {"x"}, 1},
    {"sigmoid", OP_SIGMOID, builtin_unary, {"x"}, 1},
    {"tanh", OP_TANH, builtin_unary, {"x"}, 1},
    {"exp", OP_EXP, builtin_unary, {"x"}, 1},
    {"log", OP_LOG, builtin_unary, {"x"}, 1},
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
    {"matmul", OP_MATMUL, builtin_binary, {"a", "b"}, 2},
    {"where", OP_SELECT, ternary, {"cond", "a", "b"}, 3},
    {"stop_gradient", OP_STOP_GRADIENT, builtin_unary, {"x"}, 1},
    {"sqrt", OP_SQRT, builtin_unary, {"x"}, 1},
    {"rsqrt", OP_RSQRT, builtin_unary, {"x"}, 1},
    {"abs", OP_ABS, builtin_unary, {"x"}, 1},
    {"sign", OP_SIGN, builtin_unary, {"x"}, 1},
    {"sin", OP_SIN, builtin_unary, {"x"}, 1},
    {"cos", OP_COS, builtin_unary, {"x"}, 1},
    {"erf", OP_ERF, builtin_unary, {"x"}, 1},
    {"leaky_relu", OP_LEAKY_RELU, leaky_relu, {"x", "slope"}, 1},
    {"elu", OP_ELU, elu, {"x", "alpha"}, 1},
    {"gelu", OP_GELU, gelu, {"x", "approximate"}, 1},
    {"softplus", OP_SOFTPLUS, builtin_unary, {"x"}, 1},
    {"silu", OP_SILU, builtin_unary, {"x"}, 1},
    {"clamp", OP_CLAMP, clamp, {"x", "lo", "hi"}, 1},
    {"minimum", OP_MINIMUM, builtin_binary, {"a", "b"}, 2},
    {"maximum", OP_MAXIMUM, builtin_binary, {"a", "b"}, 2},
    {"f32", OP_CAST, cast, {"x"}, 1},
    {"f64", OP_CAST, cast, {"x"}, 1},
    {"i32", OP_CAST, cast, {"x"}, 1},
};
const BuiltinGroup builtins_math = {rows, sizeof rows / sizeof rows[0]};
