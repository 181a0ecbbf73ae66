/* builtins_norm.c - normalisation builtins (layer_norm), composed from
 * reductions and elementwise ops. */

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

static const Builtin rows[] = {
    {"layer_norm", OP_MEAN, layer_norm, {"x", "normalized_shape", "weight", "bias", "eps"}, 2},
};
const BuiltinGroup builtins_norm = {rows, sizeof rows / sizeof rows[0]};
