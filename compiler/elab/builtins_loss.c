/* builtins_loss.c - the losses: cross_entropy with its options, mse,
 * bce_logits, l1 and huber, each a mean over the batch. */

#include "builtins.h"

/* ---- cross_entropy with a mask, an ignored label or label smoothing ----
 * The plain call is one fused op (a row kernel with its own label check);
 * the options are composed from log_softmax, one_hot, sums and a division
 * by the number of positions that count, PyTorch's reduction='mean'. */

/* A scalar of element type dt that does not adapt to the other operand. */
static IrValue *typed_literal(Elab *e, Frame *f, double x, DType dt, SrcSpan loc) {
  IrAttrs at = {.source = {.scalar = x}};
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

static IrValue *mean_all(Elab *e, Frame *f, IrValue *x, SrcSpan loc) {
  IrAttrs at = {.reduce = {.all_axes = true}};
  return x ? lower_emit_op(e, f, OP_MEAN, &x, 1, loc, &at) : NULL;
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
  IrValue *z = builtin_tensor_arg(e, f, b->arg[0]), *y = builtin_tensor_arg(e, f, b->arg[1]);
  if (!z || !y)
    return builtin_error();
  if (!b->arg[2] && !b->arg[3] && !b->arg[4]) {
    IrValue *xs[2] = {z, y};
    IrValue *v = lower_emit_op(e, f, op, xs, 2, loc, NULL);
    Dim classes = z->type.rank ? z->type.dims[z->type.rank - 1] : dim_const(1);
    if (v && !dim_is_const(classes)) {
      /* its labels are read through a one_hot of that depth (passes/rows.c) */
      diag_error(e->diag, loc, "cross_entropy: needs a constant number of classes, got %s",
                 dim_str(e->arena, e->mod->syms, classes));
      return builtin_error();
    }
    return builtin_result(v);
  }
  IrValue *mask = b->arg[2] ? builtin_tensor_arg(e, f, b->arg[2]) : NULL;
  int64_t ignore = 0;
  double eps = 0;
  if ((b->arg[2] && !mask) || (b->arg[3] && !builtin_int_arg(e, f, b->arg[3], &ignore)) ||
      !builtin_number_arg(e, f, b, 4, &eps, NULL) || !check_xent_operands(e, b, z, y, mask))
    return builtin_error();
  if (eps < 0 || eps > 1) {
    diag_error(e->diag, b->arg[4]->loc, "cross_entropy: label_smoothing must be in [0, 1], got %g",
               eps);
    return builtin_error();
  }
  Dim classes = z->type.dims[z->type.rank - 1];
  if (!dim_is_const(classes)) {
    diag_error(e->diag, loc,
               "cross_entropy: mask, ignore_index and label_smoothing need a constant number of "
               "classes, got %s",
               dim_str(e->arena, e->mod->syms, classes));
    return builtin_error();
  }
  DType dt = z->type.dtype;
  IrValue *one = typed_literal(e, f, 1, dt, loc), *zero = typed_literal(e, f, 0, dt, loc);
  /* w: 1 for the positions that count, 0 elsewhere (or the mask's weight) */
  IrValue *w = NULL;
  if (mask)
    w = mask->type.dtype == DT_BOOL ? emit3(e, f, OP_SELECT, mask, one, zero, loc) : mask;
  if (b->arg[3]) {
    IrValue *keep = builtin_emit2(e, f, OP_NE, y, builtin_literal(e, f, (double)ignore, loc), loc);
    y = emit3(e, f, OP_SELECT, keep, y, builtin_literal(e, f, 0, loc), loc);
    IrValue *kept = emit3(e, f, OP_SELECT, keep, one, zero, loc);
    w = w ? builtin_emit2(e, f, OP_MUL, w, kept, loc) : kept;
  }
  IrAttrs last = {.rowwise = {.axis = -1}};
  IrValue *lsm = builtin_emit1(e, f, OP_LOG_SOFTMAX, z, loc, &last);
  IrAttrs oh = {.onehot = {.depth = classes.constant, .dtype = dt}};
  IrAttrs row = {.reduce = {.naxes = 1, .axes = {z->type.rank - 1}}};
  IrValue *picked = builtin_emit1(
      e, f, OP_SUM,
      builtin_emit2(e, f, OP_MUL, lsm, builtin_emit1(e, f, OP_ONE_HOT, y, loc, &oh), loc), loc,
      &row);
  IrValue *loss = builtin_emit1(e, f, OP_NEG, picked, loc, NULL);
  if (eps > 0) {
    IrValue *smooth =
        builtin_emit1(e, f, OP_NEG, builtin_emit1(e, f, OP_MEAN, lsm, loc, &row), loc, NULL);
    loss = builtin_emit2(
        e, f, OP_ADD, builtin_emit2(e, f, OP_MUL, builtin_literal(e, f, 1 - eps, loc), loss, loc),
        builtin_emit2(e, f, OP_MUL, builtin_literal(e, f, eps, loc), smooth, loc), loc);
  }
  IrAttrs all = {.reduce = {.all_axes = true}};
  if (!w)
    return builtin_result(builtin_emit1(e, f, OP_MEAN, loss, loc, &all));
  IrValue *total =
      builtin_emit1(e, f, OP_SUM, builtin_emit2(e, f, OP_MUL, loss, w, loc), loc, &all);
  return builtin_result(
      builtin_emit2(e, f, OP_DIV, total, builtin_emit1(e, f, OP_SUM, w, loc, &all), loc));
}

/* The two operands of a loss: float tensors of one type; like mse, losses
 * do not broadcast (f32[B, 1] against f32[B] would silently become
 * [B, B]). */
static bool loss_operands(Elab *e, Frame *f, const Bound *b, const char *roles[2],
                          IrValue *out[2]) {
  for (int i = 0; i < 2; i++)
    if (!(out[i] = builtin_tensor_arg(e, f, b->arg[i])))
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
    return builtin_error();
  SrcSpan at = b->call->loc;
  IrValue *one_minus_t = builtin_emit2(e, f, OP_SUB, builtin_literal(e, f, 1.0, at), xt[1], at);
  IrValue *linear = builtin_emit2(e, f, OP_MUL, one_minus_t, xt[0], at);
  IrValue *sp =
      builtin_emit1(e, f, OP_SOFTPLUS, builtin_emit1(e, f, OP_NEG, xt[0], at, NULL), at, NULL);
  return builtin_result(mean_all(e, f, builtin_emit2(e, f, OP_ADD, linear, sp, at), at));
}

/* l1(pred, target): mean |pred - target|, PyTorch's L1Loss */
static Val l1(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *pt[2];
  if (!loss_operands(e, f, b, (const char *[]){"prediction", "target"}, pt))
    return builtin_error();
  SrcSpan at = b->call->loc;
  return builtin_result(mean_all(
      e, f, builtin_emit1(e, f, OP_ABS, builtin_emit2(e, f, OP_SUB, pt[0], pt[1], at), at, NULL),
      at));
}

/* huber(pred, target, delta = 1.0): PyTorch's HuberLoss, the mean of
 * d^2 / 2 where |d| < delta, else delta (|d| - delta / 2). */
static Val huber(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *pt[2];
  double delta = 1.0;
  if (!loss_operands(e, f, b, (const char *[]){"prediction", "target"}, pt))
    return builtin_error();
  if (!builtin_number_arg(e, f, b, 2, &delta, NULL))
    return builtin_error();
  if (!(delta > 0)) {
    diag_error(e->diag, b->arg[2]->loc, "huber: delta must be positive, got %g", delta);
    return builtin_error();
  }
  SrcSpan at = b->call->loc;
  IrValue *d = builtin_emit2(e, f, OP_SUB, pt[0], pt[1], at);
  IrValue *ad = builtin_emit1(e, f, OP_ABS, d, at, NULL);
  IrValue *quad = builtin_emit2(e, f, OP_MUL, builtin_literal(e, f, 0.5, at),
                                builtin_emit2(e, f, OP_MUL, d, d, at), at);
  IrValue *lin = builtin_emit2(
      e, f, OP_MUL, builtin_literal(e, f, delta, at),
      builtin_emit2(e, f, OP_SUB, ad, builtin_literal(e, f, 0.5 * delta, at), at), at);
  IrValue *inside = builtin_emit2(e, f, OP_LT, ad, builtin_literal(e, f, delta, at), at);
  if (!inside || !quad || !lin)
    return builtin_error();
  IrValue *xs[3] = {inside, quad, lin};
  return builtin_result(mean_all(e, f, lower_emit_op(e, f, OP_SELECT, xs, 3, at, NULL), at));
}

static const Builtin rows[] = {
    {"cross_entropy",
     OP_CROSS_ENTROPY,
     cross_entropy,
     {"logits", "labels", "mask", "ignore_index", "label_smoothing"},
     2},
    {"mse", OP_MSE, builtin_binary, {"pred", "target"}, 2},
    {"bce_logits", OP_COUNT, bce_logits, {"logits", "target"}, 2},
    {"l1", OP_COUNT, l1, {"pred", "target"}, 2},
    {"huber", OP_COUNT, huber, {"pred", "target", "delta"}, 2},
};
const BuiltinGroup builtins_loss = {rows, sizeof rows / sizeof rows[0]};
