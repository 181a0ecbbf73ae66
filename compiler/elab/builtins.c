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
    if (dim_is_const(at.target.dims[i]) && at.target.dims[i].coeff <= 0) {
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
    *ct = *unknown ? 0 : v.c.dim.coeff;
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
    if (k < -n.coeff || k >= n.coeff) {
      diag_error(e->diag, item->loc, "index %lld is out of range for %s", (long long)k,
                 axis_text(e, x, i));
      note_tensor(e, x);
      return false;
    }
    if (k < 0)
      k += n.coeff;
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
  int64_t len = n.coeff;
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
    if (total != n.coeff) {
      diag_error(e->diag, sz->loc, "split: the sizes add up to %lld but %s", (long long)total,
                 axis_text(e, x, axis));
      note_tensor(e, x);
      return val_error();
    }
  } else {
    int64_t each;
    if (!const_int_arg(e, f, sz, "the piece size", &each, &unknown))
      return val_error();
    if (each <= 0 || (n.coeff + each - 1) / each > 64) {
      diag_error(e->diag, sz->loc,
                 "split: the piece size must be positive and give at most 64 "
                 "pieces, got %lld",
                 (long long)each);
      return val_error();
    }
    for (int64_t at = 0; at < n.coeff; at += each)
      sizes[count++] = at + each <= n.coeff ? each : n.coeff - at;
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
      at.view.size[i] = dim_const(n.coeff + before + after);
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
      at.view.value = (double)v.dim.coeff;
    else if (!v.unknown) {
      diag_error(e->diag, b->arg[2]->loc, "pad: the value must be a number known at compile time");
      return val_error();
    }
  }
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
