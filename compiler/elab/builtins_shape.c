/* builtins_shape.c - builtins that rearrange a tensor: reshape, transpose,
 * broadcast_to, einsum, and the views pad, concat, stack and split. */

#include "builtins.h"

/* The tensors of a list argument ([a, b, c]). */
static IrValue **tensor_list_arg(Elab *e, Frame *f, const char *what, const AstNode *x, int *n) {
  if (x->kind != AST_LIST || x->u.list.items.len == 0) {
    diag_error(e->diag, x->loc, "%s expects a non-empty list of tensors, e.g. [a, b]", what);
    return NULL;
  }
  const PtrVec *items = &x->u.list.items;
  IrValue **ts = ARENA_ARRAY(e->arena, IrValue *, (size_t)items->len);
  for (int i = 0; i < items->len; i++)
    if (!(ts[i] = builtin_tensor_arg(e, f, items->items[i])))
      return NULL;
  *n = items->len;
  return ts;
}

static bool optional_axis(Elab *e, Frame *f, const AstNode *x, const AstNode *call, int rank,
                          const char *what, int *axis) {
  *axis = 0;
  if (x && !builtin_axis_arg(e, f, x, axis))
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

/* reshape(x, [B, -1]): dims may use the function's symbolic dims. */
static Val reshape(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  TType target;
  IrAttrs at = {.layout = {.target = &target, .infer_axis = -1}};
  if (!x || !builtin_shape_list_arg(e, f, "reshape", b->arg[1], &target, &at.layout.infer_axis))
    return builtin_error();
  return builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

/* broadcast_to(x, [B, 10]): NumPy's broadcast_to. */
static Val broadcast_to(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  TType target;
  IrAttrs at = {.expand = {.target = &target}};
  if (!x || !builtin_shape_list_arg(e, f, "broadcast_to", b->arg[1], &target, NULL))
    return builtin_error();
  for (int i = 0; i < target.rank; i++)
    if (!dim_can_be_positive(target.dims[i])) {
      diag_error(e->diag, b->arg[1]->loc, "broadcast_to: dimension %d must be positive", i);
      return builtin_error();
    }
  return builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

static Val transpose(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrAttrs at = {.layout = {.has_perm = b->arg[1] != NULL, .infer_axis = -1}};
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  if (!x)
    return builtin_error();
  if (b->arg[1]) {
    int n;
    if (!builtin_int_list_arg(e, f, b->arg[1], at.layout.perm, &n))
      return builtin_error();
    if (n != x->type.rank) {
      diag_error(e->diag, b->arg[1]->loc,
                 "transpose: the permutation has %d entries but the tensor "
                 "has %d dimensions",
                 n, x->type.rank);
      return builtin_error();
    }
  }
  return builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &at));
}

/* concat([a, b, ...], axis = 0): PyTorch's cat. */
static Val concat(Elab *e, Frame *f, OpKind op, const Bound *b) {
  int n;
  IrValue **ts = tensor_list_arg(e, f, "concat", b->arg[0], &n);
  if (!ts)
    return builtin_error();
  IrViewAttrs va = {0};
  if (b->arg[1] && !builtin_axis_arg(e, f, b->arg[1], &va.axis))
    return builtin_error();
  if (n == 1)
    return builtin_result(ts[0]);
  return builtin_result(lower_emit_op(e, f, op, ts, n, b->call->loc, &(IrAttrs){.view = &va}));
}

/* stack([a, b, ...], axis = 0): a new axis of extent n, each operand
 * reshaped to hold 1 there, then joined. */
static Val stack(Elab *e, Frame *f, OpKind op, const Bound *b) {
  int n;
  IrValue **ts = tensor_list_arg(e, f, "stack", b->arg[0], &n);
  if (!ts)
    return builtin_error();
  int rank = ts[0]->type.rank, axis;
  if (rank + 1 > TYPE_MAX_RANK) {
    diag_error(e->diag, b->call->loc, "stack: the result would have more than %d dimensions",
               TYPE_MAX_RANK);
    return builtin_error();
  }
  if (!optional_axis(e, f, b->arg[1], b->call, rank + 1, "stack", &axis))
    return builtin_error();
  TType first = ts[0]->type;
  for (int k = 0; k < n; k++) {
    const TType *t = &ts[k]->type;
    if (t->rank != rank || t->dtype != first.dtype || !ttype_eq_dims(t, &first)) {
      diag_error(e->diag, b->call->loc, "stack: tensor %d is %s but tensor 0 is %s", k,
                 ttype_str(e->arena, e->mod->syms, t), ttype_str(e->arena, e->mod->syms, &first));
      return builtin_error();
    }
    TType target = {.dtype = t->dtype, .rank = rank + 1};
    for (int i = 0, j = 0; i <= rank; i++)
      target.dims[i] = i == axis ? dim_const(1) : t->dims[j++];
    IrAttrs rs = {.layout = {.target = &target, .infer_axis = -1}};
    if (!(ts[k] = lower_emit_op(e, f, OP_RESHAPE, &ts[k], 1, b->call->loc, &rs)))
      return builtin_error();
  }
  IrViewAttrs va = {.axis = axis};
  IrAttrs at = {.view = &va};
  return builtin_result(n == 1 ? ts[0] : lower_emit_op(e, f, op, ts, n, b->call->loc, &at));
}

/* split(x, sizes, axis = 0): PyTorch's split; `sizes` is a list of extents
 * that add up to the axis, or one extent (the last piece may be shorter).
 * The pieces are picked with a constant index: split(x, [2, 3])[1]. */
static Val split(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  int axis;
  if (!x || !optional_axis(e, f, b->arg[2], b->call, x->type.rank, "split", &axis))
    return builtin_error();
  Dim n = x->type.dims[axis];
  if (n.kind != DIM_KNOWN || !dim_is_const(n)) {
    diag_error(e->diag, b->call->loc, "split: %s must have a constant extent",
               builtin_axis_text(e, x, axis));
    return builtin_error();
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
        return builtin_error();
      }
      if (!builtin_const_int_arg(e, f, it, "a piece's size", &sizes[count], &unknown))
        return builtin_error();
      if (sizes[count] <= 0) {
        diag_error(e->diag, it->loc, "split: a piece's size must be positive, got %lld",
                   (long long)sizes[count]);
        return builtin_error();
      }
      total += sizes[count++];
    }
    if (total != n.constant) {
      diag_error(e->diag, sz->loc, "split: the sizes add up to %lld but %s", (long long)total,
                 builtin_axis_text(e, x, axis));
      builtin_note_tensor(e, x);
      return builtin_error();
    }
  } else {
    int64_t each;
    if (!builtin_const_int_arg(e, f, sz, "the piece size", &each, &unknown))
      return builtin_error();
    if (each <= 0 || (n.constant + each - 1) / each > 64) {
      diag_error(e->diag, sz->loc,
                 "split: the piece size must be positive and give at most 64 "
                 "pieces, got %lld",
                 (long long)each);
      return builtin_error();
    }
    for (int64_t at = 0; at < n.constant; at += each)
      sizes[count++] = at + each <= n.constant ? each : n.constant - at;
  }
  Val r = {.kind = VAL_TUPLE, .nitems = count};
  r.items = ARENA_ARRAY(e->arena, IrValue *, (size_t)count);
  int64_t at_pos = 0;
  for (int k = 0; k < count; k++) {
    IrViewAttrs va = {0};
    for (int i = 0; i < x->type.rank; i++) {
      va.step[i] = 1;
      va.size[i] = x->type.dims[i];
    }
    va.start[axis] = at_pos;
    va.size[axis] = dim_const(sizes[k]);
    at_pos += sizes[k];
    r.items[k] =
        count == 1 ? x : lower_emit_op(e, f, op, &x, 1, b->call->loc, &(IrAttrs){.view = &va});
    if (!r.items[k])
      return builtin_error();
  }
  return r;
}

/* pad(x, [before, after, ...], value = 0): PyTorch's F.pad order, the
 * pairs from the last axis backwards, so that pad(x, [1, 1]) pads the last
 * axis whatever the rank. */
static Val pad(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  if (!x)
    return builtin_error();
  const AstNode *ps = b->arg[1];
  if (ps->kind != AST_LIST || ps->u.list.items.len % 2 || ps->u.list.items.len > 2 * x->type.rank ||
      ps->u.list.items.len == 0) {
    diag_error(e->diag, ps->loc,
               "pad expects a list of (before, after) pairs, last axis first, at most %d for %s",
               2 * x->type.rank, ttype_str(e->arena, e->mod->syms, &x->type));
    return builtin_error();
  }
  IrViewAttrs va = {0};
  for (int i = 0; i < x->type.rank; i++) {
    va.step[i] = 1;
    va.size[i] = x->type.dims[i];
  }
  bool unknown = false;
  for (int k = 0; k < ps->u.list.items.len; k += 2) {
    int i = x->type.rank - 1 - k / 2;
    int64_t before, after;
    bool u1, u2;
    const AstNode *bn = ps->u.list.items.items[k], *an = ps->u.list.items.items[k + 1];
    if (!builtin_const_int_arg(e, f, bn, "a pad width", &before, &u1) ||
        !builtin_const_int_arg(e, f, an, "a pad width", &after, &u2))
      return builtin_error();
    if (before < 0 || after < 0) {
      diag_error(e->diag, before < 0 ? bn->loc : an->loc,
                 "pad widths must not be negative (slice to crop)");
      return builtin_error();
    }
    Dim n = x->type.dims[i];
    va.start[i] = before;
    if (u1 || u2 || n.kind != DIM_KNOWN) {
      unknown = true;
      va.size[i] = dim_unknown();
    } else if (before || after) {
      if (!dim_is_const(n)) {
        diag_error(e->diag, b->call->loc, "pad: %s cannot be padded (symbolic extent)",
                   builtin_axis_text(e, x, i));
        builtin_note_tensor(e, x);
        return builtin_error();
      }
      va.size[i] = dim_const(n.constant + before + after);
    }
  }
  (void)unknown;
  if (b->arg[2]) {
    CtVal v;
    CtEnv env = {.inst = f->inst};
    if (!consteval_expr(e, &env, b->arg[2], &v))
      return builtin_error();
    if (v.kind == CV_FLOAT)
      va.value = v.f;
    else if (v.kind == CV_INT && dim_is_const(v.dim))
      va.value = (double)v.dim.constant;
    else if (!v.unknown) {
      diag_error(e->diag, b->arg[2]->loc, "pad: the value must be a number known at compile time");
      return builtin_error();
    }
  }
  return builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &(IrAttrs){.view = &va}));
}

/* einsum("bij,bjk->bik", a, b), or one operand: einsum("ij->ji", a). */
static Val einsum(Elab *e, Frame *f, OpKind op, const Bound *b) {
  (void)op;
  IrValue *xs[2] = {builtin_tensor_arg(e, f, b->arg[1]),
                    b->arg[2] ? builtin_tensor_arg(e, f, b->arg[2]) : NULL};
  if (!xs[0] || (b->arg[2] && !xs[1]))
    return builtin_error();
  return builtin_einsum(e, f, b->arg[0], xs, b->arg[2] ? 2 : 1, b->call->loc);
}

/* unfold(x, dimension, size, step = 1), PyTorch's Tensor.unfold: the
 * windows along an axis as a view (no copy), the window's elements as a new
 * last axis. Pooling and convolution patches are two of them. */
static Val unfold(Elab *e, Frame *f, OpKind op, const Bound *b) {
  IrValue *x = builtin_tensor_arg(e, f, b->arg[0]);
  int axis;
  int64_t size, step = 1;
  bool u1 = false, u2 = false;
  if (!x || !builtin_axis_arg(e, f, b->arg[1], &axis) ||
      !builtin_const_int_arg(e, f, b->arg[2], "unfold's size", &size, &u1) ||
      (b->arg[3] && !builtin_const_int_arg(e, f, b->arg[3], "unfold's step", &step, &u2)))
    return builtin_error();
  if ((!u1 && size < 1) || (!u2 && step < 1)) {
    diag_error(e->diag, (!u1 && size < 1 ? b->arg[2] : b->arg[3])->loc,
               "unfold: the %s must be positive, got %lld", !u1 && size < 1 ? "size" : "step",
               (long long)(!u1 && size < 1 ? size : step));
    return builtin_error();
  }
  /* a generic check of a layer: window 0 leaves the count unknown */
  IrViewAttrs va = {.axis = axis, .window = u1 || u2 ? 0 : size};
  if (axis >= -x->type.rank && axis < x->type.rank)
    va.step[axis < 0 ? axis + x->type.rank : axis] = step;
  else
    va.step[0] = step; /* the shape rule reports the axis */
  return builtin_result(lower_emit_op(e, f, op, &x, 1, b->call->loc, &(IrAttrs){.view = &va}));
}

static const Builtin rows[] = {
    {"reshape", OP_RESHAPE, reshape, {"x", "shape"}, 2},
    {"transpose", OP_TRANSPOSE, transpose, {"x", "perm"}, 1},
    {"broadcast_to", OP_BROADCAST, broadcast_to, {"x", "shape"}, 2},
    {"einsum", OP_MATMUL, einsum, {"equation", "a", "b"}, 2},
    {"pad", OP_PAD, pad, {"x", "pad", "value"}, 2},
    {"concat", OP_CONCAT, concat, {"tensors", "axis"}, 1},
    {"stack", OP_CONCAT, stack, {"tensors", "axis"}, 1},
    {"split", OP_SLICE, split, {"x", "sizes", "axis"}, 2},
    {"unfold", OP_UNFOLD, unfold, {"x", "dimension", "size", "step"}, 3},
};
const BuiltinGroup builtins_shape = {rows, sizeof rows / sizeof rows[0]};
