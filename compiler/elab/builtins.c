/* builtins.c - the registry of builtin functions and the argument readers
 * they share. Each builtins_*.c file declares its builtins in a table of
 * rows: the name, the op it lowers to, its handler and its signature (the
 * argument names and how many are required). Arguments are bound here by
 * position or keyword before the handler sees them. */
#include <math.h>
#include <string.h>

#include "builtins.h"

static const BuiltinGroup *const groups[] = {
    &builtins_math, &builtins_shape, &builtins_index, &builtins_loss,
    &builtins_gen,  &builtins_norm,  &builtins_conv,  &builtins_pool,
};
enum { NGROUPS = sizeof groups / sizeof groups[0] };

int builtin_count(void) {
  int n = 0;
  for (int g = 0; g < NGROUPS; g++)
    n += groups[g]->n;
  return n;
}

const char *builtin_name(int i) {
  for (int g = 0; g < NGROUPS; i -= groups[g++]->n)
    if (i < groups[g]->n)
      return groups[g]->rows[i].name;
  return NULL;
}

static const Builtin *find_builtin(const char *name) {
  for (int g = 0; g < NGROUPS; g++)
    for (int i = 0; i < groups[g]->n; i++)
      if (!strcmp(groups[g]->rows[i].name, name))
        return &groups[g]->rows[i];
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
  Bound b = {.call = call, .bi = bi};
  if (!bind_builtin_args(e, bi, call, &b))
    return builtin_error();
  return bi->fn(e, f, bi->op, &b);
}

/* ---- argument readers and emit helpers shared by the builtins ---- */

Val builtin_error(void) { return (Val){.kind = VAL_ERROR}; }

Val builtin_result(IrValue *v) { return v ? (Val){.kind = VAL_TENSOR, .t = v} : builtin_error(); }

IrValue *builtin_tensor_arg(Elab *e, Frame *f, const AstNode *x) {
  return lower_as_tensor(e, f, lower_eval_expr(e, f, x), x);
}

/* Compile-time int argument such as an axis. */
bool builtin_int_arg(Elab *e, Frame *f, const AstNode *x, int64_t *out) {
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

bool builtin_axis_arg(Elab *e, Frame *f, const AstNode *x, int *out) {
  int64_t v;
  if (!builtin_int_arg(e, f, x, &v))
    return false;
  if (v < -TYPE_MAX_RANK || v >= TYPE_MAX_RANK) {
    diag_error(e->diag, x->loc, "axis %lld is out of range (tensors have at most %d dimensions)",
               (long long)v, TYPE_MAX_RANK);
    return false;
  }
  *out = (int)v;
  return true;
}

bool builtin_bool_arg(Elab *e, Frame *f, const AstNode *x, bool *out) {
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
bool builtin_int_list_arg(Elab *e, Frame *f, const AstNode *x, int *out, int *n) {
  if (x->kind != AST_LIST) {
    *n = 1;
    return builtin_axis_arg(e, f, x, &out[0]);
  }
  const PtrVec *items = &x->u.list.items;
  if (items->len > TYPE_MAX_RANK) {
    diag_error(e->diag, x->loc, "at most %d entries are allowed here", TYPE_MAX_RANK);
    return false;
  }
  for (int i = 0; i < items->len; i++)
    if (!builtin_axis_arg(e, f, items->items[i], &out[i]))
      return false;
  *n = items->len;
  return true;
}

/* ---- reductions composed from others ----
 * logsumexp, var and std are built from max, sum, mean and elementwise ops
 * here, so that autodiff, fusion and codegen need nothing of their own. */

/* A literal that adopts the element type of the tensor it meets. */
IrValue *builtin_literal(Elab *e, Frame *f, double x, SrcSpan loc) {
  IrAttrs at = {.source = {.weak = true, .scalar = x}};
  IrValue *v = lower_emit_op(e, f, OP_CONST, NULL, 0, loc, &at);
  if (v)
    v->type = ttype_scalar(DT_F32);
  return v;
}

IrValue *builtin_emit2(Elab *e, Frame *f, OpKind op, IrValue *a, IrValue *b, SrcSpan loc) {
  if (!a || !b)
    return NULL;
  IrValue *xs[2] = {a, b};
  return lower_emit_op(e, f, op, xs, 2, loc, NULL);
}

IrValue *builtin_emit1(Elab *e, Frame *f, OpKind op, IrValue *x, SrcSpan loc, const IrAttrs *at) {
  return x ? lower_emit_op(e, f, op, &x, 1, loc, at) : NULL;
}

/* The composed reductions name themselves in the error, not the op inside. */
IrValue *builtin_float_tensor_arg(Elab *e, Frame *f, const Bound *b, const char *what) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  if (x && !dtype_is_float(x->type.dtype)) {
    diag_error(e->diag, b->arg[0]->loc, "%s expects a floating-point tensor, got %s", what,
               ttype_str(e->arena, e->mod->syms, &x->type));
    return NULL;
  }
  return x;
}

static bool is_minus_one(const AstNode *x) {
  return x->kind == AST_UNARY && x->u.unary.op == UN_NEG && x->u.unary.operand->kind == AST_INT &&
         x->u.unary.operand->u.int_lit.value == 1;
}

/* Reads a shape list ([B, 16]) of reshape or broadcast_to; a -1 entry is
 * allowed only where `infer_axis` is given. */
bool builtin_shape_list_arg(Elab *e, Frame *f, const char *what, const AstNode *shape,
                            TType *target, int *infer_axis) {
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
bool builtin_index_arg(Elab *e, Frame *f, const AstNode *x, int64_t *ct, IrValue **t,
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

/* Is v computed from a scan's step index? (A few levels suffice for the
 * arithmetic of a bound: t + 1, T - t.) */
static bool reads_scan_step(const IrValue *v, int depth) {
  if (v->op == OP_SCAN_STEP)
    return true;
  for (int i = 0; i < v->nargs && depth < 16; i++)
    if (reads_scan_step(v->args[i], depth + 1))
      return true;
  return false;
}

bool builtin_const_int_arg(Elab *e, Frame *f, const AstNode *x, const char *what, int64_t *out,
                           bool *unknown) {
  IrValue *t;
  if (!builtin_index_arg(e, f, x, out, &t, unknown))
    return false;
  if (t && reads_scan_step(t, 0)) {
    /* the scan's body is one compiled step: its values keep one shape */
    diag_error(e->diag, x->loc,
               "%s depends on the scan's step, so the shape would change from step to step; "
               "values in a scan keep one shape (index one step with x[:, t, :], or mask a "
               "fixed-size window)",
               what);
    return false;
  }
  if (t) {
    diag_error(e->diag, x->loc, "%s must be known at compile time", what);
    return false;
  }
  return true;
}

const char *builtin_axis_text(Elab *e, const IrValue *x, int i) {
  return arena_printf(e->arena, "axis %d of %s (size %s)", i,
                      ttype_str(e->arena, e->mod->syms, &x->type),
                      dim_str(e->arena, e->mod->syms, x->type.dims[i]));
}

void builtin_note_tensor(Elab *e, const IrValue *x) {
  if (x->op == OP_INPUT && x->origin.file >= 0)
    diag_note(e->diag, x->origin, "the tensor is the argument declared here as %s",
              ttype_str(e->arena, e->mod->syms, &x->type));
}

/* Argument i of a builtin as a number known at compile time (a literal, a
 * layer argument), for the constants that become attributes of an op. An
 * argument not given keeps *out, the caller's default. While a layer is
 * checked generically its arguments are unknown: *out keeps the default
 * then too and info->unknown says so, so that range checks wait for the
 * instance. info->is_int tells an int from a float, for builtins that infer
 * a dtype from the value. */
bool builtin_number_arg(Elab *e, Frame *f, const Bound *b, int i, double *out, NumberInfo *info) {
  NumberInfo scratch;
  if (!info)
    info = &scratch;
  *info = (NumberInfo){0};
  const AstNode *x = b->arg[i];
  if (!x)
    return true;
  CtVal v;
  CtEnv env = {.inst = f->inst};
  if (!consteval_expr(e, &env, x, &v))
    return false;
  if (v.kind != CV_INT && v.kind != CV_FLOAT) {
    diag_error(e->diag, x->loc, "%s: %s must be a number known at compile time", b->bi->name,
               b->bi->args[i]);
    return false;
  }
  info->is_int = v.kind == CV_INT;
  info->unknown = v.unknown || (v.kind == CV_INT && !dim_is_const(v.dim));
  if (info->unknown)
    return true;
  *out = v.kind == CV_INT ? (double)v.dim.constant : v.f;
  if (isnan(*out)) {
    diag_error(e->diag, x->loc, "%s: %s must not be NaN", b->bi->name, b->bi->args[i]);
    return false;
  }
  return true;
}

Val builtin_unary(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  return x ? builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, NULL)) : builtin_error();
}

Val builtin_binary(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *xs[2] = {builtin_tensor_arg(e, f, b->arg[0]), builtin_tensor_arg(e, f, b->arg[1])};
  if (!xs[0] || !xs[1])
    return builtin_error();
  return builtin_result(lower_emit_op(e, f, op, xs, 2, b->call->loc, NULL));
}
