/* builtins_norm.c - normalisation builtins (layer_norm, batch_norm),
 * composed from reductions and elementwise ops. */

#include "builtins.h"

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
  *at = (IrAttrs){.reduce = {.naxes = n, .keepdims = true}};
  for (int i = 0; i < n; i++)
    at->reduce.axes[i] = rank - n + i;
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
  IrValue *x = builtin_float_tensor_arg(e, f, b, "layer_norm");
  IrValue *w = b->arg[2] ? builtin_tensor_arg(e, f, b->arg[2]) : NULL;
  IrValue *bias = b->arg[3] ? builtin_tensor_arg(e, f, b->arg[3]) : NULL;
  if (!x || (b->arg[2] && !w) || (b->arg[3] && !bias) || !normalized_axes(e, f, b, x, &at) ||
      !builtin_number_arg(e, f, b, 4, &eps, NULL))
    return builtin_error();
  if (eps <= 0) {
    diag_error(e->diag, b->arg[4]->loc, "layer_norm: eps must be positive, got %g", eps);
    return builtin_error();
  }
  for (int i = 2; i <= 3; i++) {
    const IrValue *p = i == 2 ? w : bias;
    if (p && !is_trailing_shape(&p->type, &x->type, at.reduce.naxes)) {
      diag_error(e->diag, b->arg[i]->loc, "layer_norm: %s must have the normalized shape, got %s",
                 i == 2 ? "weight" : "bias", ttype_str(e->arena, e->mod->syms, &p->type));
      return builtin_error();
    }
  }
  IrValue *d = builtin_emit2(e, f, OP_SUB, x, builtin_emit1(e, f, OP_MEAN, x, loc, &at), loc);
  IrValue *var = builtin_emit1(e, f, OP_MEAN, builtin_emit2(e, f, OP_MUL, d, d, loc), loc, &at);
  IrValue *inv = builtin_emit2(
      e, f, OP_POW, builtin_emit2(e, f, OP_ADD, var, builtin_literal(e, f, eps, loc), loc),
      builtin_literal(e, f, -0.5, loc), loc);
  IrValue *y = builtin_emit2(e, f, OP_MUL, d, inv, loc);
  if (w)
    y = builtin_emit2(e, f, OP_MUL, y, w, loc);
  if (bias)
    y = builtin_emit2(e, f, OP_ADD, y, bias, loc);
  return builtin_result(y);
}

/* ---- batch_norm ----
 * batch_norm(x, running_mean, running_var, weight, bias, training, momentum,
 * eps), PyTorch's F.batch_norm over every axis of x but the channel axis 1
 * (x [B, C] or [B, C, L...]). With batch statistics (in a training step, or
 * training = true) it normalises with the batch's mean and population
 * variance and emits the running statistics' updates itself, as ASSIGNs
 * (state <-) that only a training step performs: the momentum average of
 * the mean and of the unbiased variance, PyTorch's convention. Otherwise
 * it normalises with the running statistics. Composed from mean, rsqrt and
 * elementwise ops, so it fuses and differentiates like any expression. */

enum { BN_X, BN_MEAN, BN_VAR, BN_WEIGHT, BN_BIAS, BN_TRAINING, BN_MOMENTUM, BN_EPS };

static const char *const bn_role[] = {"x", "running_mean", "running_var", "weight", "bias"};

/* The `training` argument (any compile-time bool, the flag included), or
 * the flag itself when it is not given. */
static bool bn_training(Elab *e, Frame *f, const Bound *b, bool *out) {
  const AstNode *x = b->arg[BN_TRAINING];
  if (!x) {
    e->used_training = true;
    *out = e->training;
    return true;
  }
  Val v = lower_eval_expr(e, f, x);
  if (v.kind == VAL_ERROR)
    return false;
  if (v.kind != VAL_CT || v.c.kind != CV_BOOL || v.c.unknown) {
    diag_error(e->diag, x->loc, "batch_norm: training must be true, false or the training flag");
    return false;
  }
  *out = v.c.b;
  return true;
}

/* A per-channel operand: x's float type, shape [C]. */
static bool bn_check_channels(Elab *e, const Bound *b, int i, const IrValue *p, const IrValue *x) {
  const TType *t = &p->type;
  if (t->rank == 1 && dim_eq(t->dims[0], x->type.dims[1]) && t->dtype == x->type.dtype)
    return true;
  TType want = {.dtype = x->type.dtype, .rank = 1, .dims = {x->type.dims[1]}};
  diag_error(e->diag, b->arg[i]->loc,
             "batch_norm: %s must be %s, one value per channel of x %s (axis 1), got %s",
             bn_role[i], ttype_str(e->arena, e->mod->syms, &want),
             ttype_str(e->arena, e->mod->syms, &x->type), ttype_str(e->arena, e->mod->syms, t));
  return false;
}

/* The running statistics are written by the update: state tensors only. */
static bool bn_check_state(Elab *e, const Bound *b, int i, const IrValue *p) {
  if (p->op == OP_PARAM && !e->mod->params[IR_ATTR(p, source).index]->trainable)
    return true;
  diag_error(e->diag, b->arg[i]->loc,
             "batch_norm: %s must be a state tensor of the layer, such as `state %s: %s`: "
             "batch statistics update it",
             bn_role[i], bn_role[i], ttype_str(e->arena, e->mod->syms, &p->type));
  return false;
}

/* A [C] tensor shaped to broadcast against x along its channel axis:
 * [C] for x [B, C], [C, 1, ...] for x [B, C, L...]. */
static IrValue *bn_per_channel(Elab *e, Frame *f, IrValue *p, const IrValue *x, SrcSpan loc) {
  if (!p || x->type.rank == 2)
    return p;
  TType target = p->type;
  target.rank = x->type.rank - 1;
  for (int i = 1; i < target.rank; i++)
    target.dims[i] = dim_const(1);
  IrAttrs at = {.layout = {.target = &target, .infer_axis = -1}};
  return builtin_emit1(e, f, OP_RESHAPE, p, loc, &at);
}

/* (1 - momentum) * old + momentum * batch, batch [1, C, 1...] as [C]. */
static IrValue *bn_average(Elab *e, Frame *f, IrValue *old, IrValue *batch, double momentum,
                           SrcSpan loc) {
  IrAttrs as_old = {.layout = {.target = &old->type, .infer_axis = -1}};
  IrValue *now = builtin_emit1(e, f, OP_STOP_GRADIENT,
                               builtin_emit1(e, f, OP_RESHAPE, batch, loc, &as_old), loc, NULL);
  return builtin_emit2(
      e, f, OP_ADD, builtin_emit2(e, f, OP_MUL, builtin_literal(e, f, 1 - momentum, loc), old, loc),
      builtin_emit2(e, f, OP_MUL, builtin_literal(e, f, momentum, loc), now, loc), loc);
}

/* Elements per channel, n = B * L..., as a scalar of x's type: a sum of
 * ones over x's shape with the channel axis 1. */
static IrValue *bn_count(Elab *e, Frame *f, const IrValue *x, SrcSpan loc) {
  TType shape = x->type;
  shape.dims[1] = dim_const(1);
  IrAttrs at = {.expand = {.target = &shape}};
  IrAttrs one_at = {.source = {.scalar = 1}};
  IrValue *one = lower_emit_op(e, f, OP_CONST, NULL, 0, loc, &one_at);
  if (!one)
    return NULL;
  one->type = ttype_scalar(x->type.dtype); /* x's type: the sum is not a weak scalar */
  IrValue *ones = builtin_emit1(e, f, OP_BROADCAST, one, loc, &at);
  IrAttrs all = {.reduce = {.all_axes = true}};
  return builtin_emit1(e, f, OP_SUM, ones, loc, &all);
}

/* The ASSIGNs of the running statistics. The variance is the unbiased one,
 * var * n / (n - 1); a batch with one element per channel (which PyTorch
 * refuses) divides by 1 instead of 0. */
static void bn_update(Elab *e, Frame *f, IrValue *rm, IrValue *rv, IrValue *mu, IrValue *var,
                      const IrValue *x, double momentum, SrcSpan loc) {
  IrValue *n = bn_count(e, f, x, loc);
  IrValue *n1 = builtin_emit2(e, f, OP_MAXIMUM,
                              builtin_emit2(e, f, OP_SUB, n, builtin_literal(e, f, 1, loc), loc),
                              builtin_literal(e, f, 1, loc), loc);
  IrValue *unbiased =
      builtin_emit2(e, f, OP_MUL, var, builtin_emit2(e, f, OP_DIV, n, n1, loc), loc);
  IrValue *new_mean = bn_average(e, f, rm, mu, momentum, loc);
  IrValue *new_var = bn_average(e, f, rv, unbiased, momentum, loc);
  if (!new_mean || !new_var)
    return;
  IrValue *am[2] = {rm, new_mean}, *av[2] = {rv, new_var};
  lower_emit_op(e, f, OP_ASSIGN, am, 2, loc, NULL);
  lower_emit_op(e, f, OP_ASSIGN, av, 2, loc, NULL);
}

static bool bn_operands(Elab *e, Frame *f, const Bound *b, IrValue *v[5]) {
  v[BN_X] = builtin_float_tensor_arg(e, f, b, "batch_norm");
  if (!v[BN_X])
    return false;
  if (v[BN_X]->type.rank < 2) {
    diag_error(e->diag, b->arg[BN_X]->loc,
               "batch_norm: x must be [B, C] or [B, C, L...] (channels on axis 1), got %s",
               ttype_str(e->arena, e->mod->syms, &v[BN_X]->type));
    return false;
  }
  for (int i = BN_MEAN; i <= BN_BIAS; i++) {
    v[i] = b->arg[i] ? builtin_tensor_arg(e, f, b->arg[i]) : NULL;
    if (b->arg[i] && (!v[i] || !bn_check_channels(e, b, i, v[i], v[BN_X])))
      return false;
  }
  return true;
}

static Val batch_norm(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  SrcSpan loc = b->call->loc;
  IrValue *v[5];
  double momentum = 0.1, eps = 1e-5;
  bool batch_stats;
  if (!bn_operands(e, f, b, v) || !bn_training(e, f, b, &batch_stats) ||
      !builtin_number_arg(e, f, b, BN_MOMENTUM, &momentum, NULL) ||
      !builtin_number_arg(e, f, b, BN_EPS, &eps, NULL))
    return builtin_error();
  if (!(momentum >= 0 && momentum <= 1)) {
    diag_error(e->diag, b->arg[BN_MOMENTUM]->loc, "batch_norm: momentum must be in [0, 1], got %g",
               momentum);
    return builtin_error();
  }
  if (!(eps > 0)) {
    diag_error(e->diag, b->arg[BN_EPS]->loc, "batch_norm: eps must be positive, got %g", eps);
    return builtin_error();
  }
  IrValue *x = v[BN_X], *mu, *var, *centred = NULL;
  if (batch_stats) {
    if (!bn_check_state(e, b, BN_MEAN, v[BN_MEAN]) || !bn_check_state(e, b, BN_VAR, v[BN_VAR]))
      return builtin_error();
    IrAttrs at = {.reduce = {.naxes = x->type.rank - 1, .keepdims = true}};
    for (int i = 0; i < at.reduce.naxes; i++)
      at.reduce.axes[i] = i == 0 ? 0 : i + 1;
    mu = builtin_emit1(e, f, OP_MEAN, x, loc, &at);
    centred = builtin_emit2(e, f, OP_SUB, x, mu, loc);
    var =
        builtin_emit1(e, f, OP_MEAN, builtin_emit2(e, f, OP_MUL, centred, centred, loc), loc, &at);
    bn_update(e, f, v[BN_MEAN], v[BN_VAR], mu, var, x, momentum, loc);
  } else {
    mu = bn_per_channel(e, f, v[BN_MEAN], x, loc);
    var = bn_per_channel(e, f, v[BN_VAR], x, loc);
  }
  IrValue *inv = builtin_emit1(
      e, f, OP_RSQRT, builtin_emit2(e, f, OP_ADD, var, builtin_literal(e, f, eps, loc), loc), loc,
      NULL);
  /* x - mu once: a second copy would be a second buffer the backward pass
     reads (autodiff keeps each product's operands) */
  if (!centred)
    centred = builtin_emit2(e, f, OP_SUB, x, mu, loc);
  /* (x - mu) * (inv * weight): the per-channel factor first, so that the
     backward pass keeps x - mu alone, not also the normalised x, a second
     buffer of x's size (the weight's gradient is then sum(dy * (x - mu))
     * inv, per channel) */
  IrValue *scale = v[BN_WEIGHT] ? builtin_emit2(e, f, OP_MUL, inv,
                                                bn_per_channel(e, f, v[BN_WEIGHT], x, loc), loc)
                                : inv;
  IrValue *y = builtin_emit2(e, f, OP_MUL, centred, scale, loc);
  if (v[BN_BIAS])
    y = builtin_emit2(e, f, OP_ADD, y, bn_per_channel(e, f, v[BN_BIAS], x, loc), loc);
  return builtin_result(y);
}

static const Builtin rows[] = {
    {"layer_norm", OP_MEAN, layer_norm, {"x", "normalized_shape", "weight", "bias", "eps"}, 2},
    {"batch_norm",
     OP_MEAN,
     batch_norm,
     {"x", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"},
     3},
};
const BuiltinGroup builtins_norm = {rows, sizeof rows / sizeof rows[0]};
