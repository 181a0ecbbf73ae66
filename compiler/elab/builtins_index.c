/* builtins_index.c - indexing: x[i, a:b:s, ...] lowered to slice views,
 * one_hot, and the data-dependent gather and scatter_add. */

#include "ast_text.h"
#include "builtins.h"

/* one_hot(labels, classes): f32 rows with a 1 at each label. */
static Val one_hot(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.onehot = {.dtype = DT_F32}};
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  if (!x || !builtin_int_arg(e, f, b->arg[1], &at.onehot.depth))
    return builtin_error();
  return builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

typedef struct SliceBuild {
  IrViewAttrs view;
  IrValue *args[1 + TYPE_MAX_RANK];
  int nargs;
  bool changes; /* anything but x[:] / x[...] */
} SliceBuild;

static void full_axis(SliceBuild *sb, const IrValue *x, int i) {
  sb->view.start[i] = 0;
  sb->view.step[i] = 1;
  sb->view.size[i] = x->type.dims[i];
}

/* x[i]: one position, the axis dropped. */
static bool index_axis(Elab *e, Frame *f, SliceBuild *sb, const IrValue *x, int i,
                       const AstNode *item) {
  int64_t k;
  IrValue *t;
  bool unknown;
  if (!builtin_index_arg(e, f, item, &k, &t, &unknown))
    return false;
  Dim n = x->type.dims[i];
  IrViewAttrs *va = &sb->view;
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
                 builtin_axis_text(e, x, i));
      builtin_note_tensor(e, x);
      return false;
    }
    if (k < 0)
      k += n.constant;
  }
  va->start[i] = k; /* symbolic extent: resolved and checked at run time */
  return true;
}

/* The first index and the length of the slice [*lo:*hi:step] of an axis of
 * len elements, as Python computes them (PySlice_AdjustIndices); a NULL
 * bound is omitted. */
static void python_slice(int64_t len, const int64_t *lo, const int64_t *hi, int64_t step,
                         int64_t *from, int64_t *count) {
  int64_t neg = step < 0 ? -1 : 0; /* the lowest bound: before the first element */
  int64_t a = lo ? *lo : step < 0 ? len - 1 : 0;
  int64_t b = hi ? *hi : step < 0 ? -1 : len;
  if (lo)
    a = a < 0 ? (a + len < neg ? neg : a + len) : (a >= len ? len + neg : a);
  if (hi)
    b = b < 0 ? (b + len < neg ? neg : b + len) : (b >= len ? len + neg : b);
  *from = a;
  if (step > 0)
    *count = b > a ? (b - a + step - 1) / step : 0;
  else
    *count = a > b ? (a - b - step - 1) / -step : 0;
}

static bool slice_bound(Elab *e, Frame *f, const AstNode *b, int64_t *v, bool *unknown) {
  return builtin_const_int_arg(e, f, b, "a slice bound", v, unknown);
}

static bool symbolic_slice_error(Elab *e, const IrValue *x, int i, const AstNode *item,
                                 const char *why) {
  diag_error(e->diag, item->loc, "slice %s of %s: %s", ast_text_expr(e->arena, item),
             builtin_axis_text(e, x, i), why);
  builtin_note_tensor(e, x);
  return false;
}

/* x[a:b] on an axis of symbolic extent n: the length is a dim (n - 1 for
 * x[1:], n - 2 for x[1:-1], 3 for x[-3:]). Python clamps bounds to the
 * axis, which would make the length depend on n's value; here the bounds
 * are not clamped: the slice must fit, which the function checks when it
 * runs (a start from the end is resolved then too). */
static bool symbolic_slice_axis(Elab *e, SliceBuild *sb, const IrValue *x, int i,
                                const AstNode *item, const int64_t *lo, const int64_t *hi,
                                int64_t step) {
  Dim n = x->type.dims[i], len;
  const char *why = NULL;
  int64_t a = lo ? *lo : 0;
  if (step != 1)
    return symbolic_slice_error(e, x, i, item, "only a step of 1 is supported there");
  bool ok;
  if (a >= 0 && !hi)
    ok = dim_sub(n, dim_const(a), &len, &why);
  else if (a >= 0 && *hi < 0)
    ok = dim_sub(n, dim_const(a - *hi), &len, &why);
  else if (a >= 0 || (hi && *hi < 0) || !hi)
    ok = (len = dim_const((hi ? *hi : 0) - a), true);
  else
    return symbolic_slice_error(e, x, i, item,
                                "a start counted from the end and a stop counted from the start "
                                "give a length that depends on the extent");
  if (!ok)
    return symbolic_slice_error(e, x, i, item, why);
  if (dim_is_const(len) && len.constant <= 0)
    return symbolic_slice_error(e, x, i, item, "it is empty");
  if (!dim_is_const(len) && !dim_can_be_positive(len))
    return symbolic_slice_error(e, x, i, item, "it is empty for every extent");
  sb->view.start[i] = a;
  sb->view.size[i] = len;
  return true;
}

/* x[a:b:s], Python's rules for omitted, negative and too large bounds; a
 * negative step walks backwards from a (by default the last element). */
static bool slice_axis(Elab *e, Frame *f, SliceBuild *sb, const IrValue *x, int i,
                       const AstNode *item) {
  const AstNode *lo = item->u.slice.lo, *hi = item->u.slice.hi, *st = item->u.slice.step;
  int64_t a = 0, b = 0, s = 1;
  bool ua = false, ub = false, us = false;
  if ((lo && !slice_bound(e, f, lo, &a, &ua)) || (hi && !slice_bound(e, f, hi, &b, &ub)) ||
      (st && !builtin_const_int_arg(e, f, st, "a slice step", &s, &us)))
    return false;
  if (st && !us && s == 0) {
    diag_error(e->diag, st->loc, "slice step cannot be zero");
    return false;
  }
  Dim n = x->type.dims[i];
  IrViewAttrs *va = &sb->view;
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
  if (!dim_is_const(n))
    return symbolic_slice_axis(e, sb, x, i, item, lo ? &a : NULL, hi ? &b : NULL, s);
  int64_t from, count;
  python_slice(n.constant, lo ? &a : NULL, hi ? &b : NULL, s, &from, &count);
  if (count == 0) {
    diag_error(e->diag, item->loc, "slice %s is empty for %s", ast_text_expr(e->arena, item),
               builtin_axis_text(e, x, i));
    builtin_note_tensor(e, x);
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
    return builtin_error();
  }
  const AstNode *item = items->items[0];
  if (!builtin_const_int_arg(e, f, item, "the piece's index", &k, &unknown))
    return builtin_error();
  if (unknown)
    k = 0;
  if (k < -obj.nitems || k >= obj.nitems) {
    diag_error(e->diag, item->loc, "index %lld is out of range for %d pieces", (long long)k,
               obj.nitems);
    return builtin_error();
  }
  return builtin_result(obj.items[k < 0 ? k + obj.nitems : k]);
}

Val eval_index(Elab *e, Frame *f, const AstNode *x) {
  Val obj = lower_eval_expr(e, f, x->u.index.object);
  if (obj.kind == VAL_ERROR)
    return builtin_error();
  if (obj.kind == VAL_TUPLE)
    return index_tuple(e, f, obj, x);
  IrValue *t = lower_as_tensor(e, f, obj, x->u.index.object);
  if (!t)
    return builtin_error();
  const PtrVec *items = &x->u.index.items;
  int nell = 0, nreal = 0;
  for (int k = 0; k < items->len; k++) {
    const AstNode *it = items->items[k];
    if (it->kind == AST_ELLIPSIS && ++nell > 1) {
      diag_error(e->diag, it->loc, "an index can hold only one '...'");
      return builtin_error();
    }
    nreal += it->kind != AST_ELLIPSIS;
  }
  if (nreal > t->type.rank) {
    diag_error(e->diag, x->loc, "too many indices: %d for %s", nreal,
               ttype_str(e->arena, e->mod->syms, &t->type));
    builtin_note_tensor(e, t);
    return builtin_error();
  }
  SliceBuild sb = {.nargs = 1};
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
      return builtin_error();
    axis++;
  }
  if (!sb.changes)
    return builtin_result(t);
  return builtin_result(
      lower_emit_op(e, f, OP_SLICE, sb.args, sb.nargs, x->loc, &(IrAttrs){.view = &sb.view}));
}

/* scatter_add(src, ids, rows): src's rows added into `rows` zero rows at
 * ids; rows may be a symbolic dim. */
static Val scatter_add(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.gather = {.rows = dim_const(0)}};
  IrValue *xs[2] = {builtin_tensor_arg(e, f, b->arg[0]), builtin_tensor_arg(e, f, b->arg[1])};
  CtEnv env = {.inst = f->inst};
  if (!xs[0] || !xs[1] || !consteval_dim(e, &env, &f->dims, DIMS_BIND, b->arg[2], &at.gather.rows))
    return builtin_error();
  return builtin_result(lower_emit_op(e, f, op, xs, 2, b->call->loc, &at));
}

static const Builtin rows[] = {
    {"one_hot", OP_ONE_HOT, one_hot, {"labels", "classes"}, 2},
    {"gather", OP_GATHER, builtin_binary, {"table", "ids"}, 2},
    {"scatter_add", OP_SCATTER_ADD, scatter_add, {"src", "ids", "rows"}, 3},
};
const BuiltinGroup builtins_index = {rows, sizeof rows / sizeof rows[0]};
