/* shape.c - shape rules of the ops in ops.def.
 *
 * Each rule reads its operands' types and the op's attributes, normalises the
 * attributes (negative axes become positive) and sets v->type. On a mismatch
 * it reports one error at the operation, with notes at the operands'
 * declarations, and returns false; the caller stops building that
 * expression. Rules never assume well-formed attributes: they come from user
 * programs. Dims are compared with dim_eq, so unknown dims (generic checks of
 * layers) never produce errors.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static const char *ty(ShapeCtx *c, const TType *t) { return ttype_str(c->arena, c->syms, t); }
static const char *dm(ShapeCtx *c, Dim d) { return dim_str(c->arena, c->syms, d); }
static const char *opname(const IrValue *v) { return op_info[v->op].name; }

/* Points at where an operand's type came from: a parameter's or argument's
 * declaration, or the subexpression itself. */
static void note_operand(ShapeCtx *c, const IrValue *v, const char *role) {
  if (v->op == OP_PARAM && c->module && IR_ATTR(v, source).index < c->module->nparams)
    diag_note(c->diag, v->origin, "%s '%s' is declared here as %s", role,
              c->module->params[IR_ATTR(v, source).index]->name, ty(c, &v->type));
  else if (v->op == OP_INPUT && v->origin.file >= 0)
    diag_note(c->diag, v->origin, "%s is the argument declared here as %s", role, ty(c, &v->type));
  else if (v->loc.file >= 0)
    diag_note(c->diag, v->loc, "%s has type %s", role, ty(c, &v->type));
}

static void note_operands(ShapeCtx *c, const IrValue *v) {
  if (v->nargs == 1) {
    note_operand(c, v->args[0], "operand");
  } else if (v->nargs == 2) {
    note_operand(c, v->args[0], "left operand");
    note_operand(c, v->args[1], "right operand");
  }
}

static bool is_weak(const IrValue *v) { return v->op == OP_CONST && IR_ATTR(v, source).weak; }

/* A literal adopts the other operand's element type only if it keeps its
 * value: 0.5 never silently becomes an i32 0. */
static bool literal_fits(ShapeCtx *c, IrValue *v, const IrValue *lit, DType dt) {
  double x = IR_ATTR(lit, source).scalar;
  if (dtype_is_float(dt) || IR_ATTR(lit, source).unknown ||
      (dt == DT_I32 && x == (double)(int32_t)x) || (dt == DT_BOOL && (x == 0 || x == 1)))
    return true;
  diag_error(c->diag, lit->loc, "%s: the literal %g cannot be converted to %s", opname(v), x,
             dtype_name(dt));
  return false;
}

/* The element type two operands combine to; literals adapt to the other side. */
static bool unify_dtypes(ShapeCtx *c, IrValue *v, DType *out) {
  IrValue *a = v->args[0], *b = v->args[1];
  if (is_weak(a) != is_weak(b)) {
    IrValue *lit = is_weak(a) ? a : b, *other = is_weak(a) ? b : a;
    if (!literal_fits(c, v, lit, other->type.dtype))
      return false;
    lit->type.dtype = other->type.dtype;
  }
  if (a->type.dtype != b->type.dtype) {
    diag_error(c->diag, v->loc, "%s: operands have different element types: %s and %s", opname(v),
               dtype_name(a->type.dtype), dtype_name(b->type.dtype));
    note_operands(c, v);
    return false;
  }
  *out = a->type.dtype;
  return true;
}

static bool require_float(ShapeCtx *c, IrValue *v, const IrValue *x) {
  if (dtype_is_float(x->type.dtype))
    return true;
  diag_error(c->diag, v->loc, "%s expects a floating-point tensor, got %s", opname(v),
             ty(c, &x->type));
  note_operand(c, x, "operand");
  return false;
}

/* Maps axis in [-rank, rank) to [0, rank). */
static bool normalize_axis(ShapeCtx *c, IrValue *v, int rank, int *axis) {
  if (*axis < -rank || *axis >= rank || rank == 0) {
    diag_error(c->diag, v->loc, "%s: axis %d is out of range for %s (rank %d)", opname(v), *axis,
               ty(c, &v->args[0]->type), rank);
    return false;
  }
  if (*axis < 0)
    *axis += rank;
  return true;
}

bool shape_source(ShapeCtx *c, IrValue *v) {
  (void)c;
  (void)v; /* sources are typed by whoever creates them */
  return true;
}

bool shape_unary_float(ShapeCtx *c, IrValue *v) {
  if (!require_float(c, v, v->args[0]))
    return false;
  v->type = v->args[0]->type;
  return true;
}

/* NumPy broadcasting: align trailing axes; equal dims or a 1 on one side. */
static bool broadcast_types(ShapeCtx *c, IrValue *v, const TType *a, const TType *b, TType *out) {
  int rank = a->rank > b->rank ? a->rank : b->rank;
  out->rank = rank;
  for (int i = 0; i < rank; i++) {
    int ia = a->rank - rank + i, ib = b->rank - rank + i;
    Dim da = ia >= 0 ? a->dims[ia] : dim_const(1);
    Dim db = ib >= 0 ? b->dims[ib] : dim_const(1);
    Dim r;
    /* an unknown dim is 1 or the other side's: a 1 broadcasts to it */
    if (da.kind == DIM_UNKNOWN)
      r = dim_is(db, 1) ? da : db;
    else if (db.kind == DIM_UNKNOWN)
      r = dim_is(da, 1) ? db : da;
    else if (dim_eq(da, db))
      r = da;
    else if (dim_is(da, 1))
      r = db;
    else if (dim_is(db, 1))
      r = da;
    else {
      diag_error(c->diag, v->loc,
                 "%s: cannot broadcast %s with %s: dimension %s vs %s at axis %d from the end",
                 opname(v), ty(c, a), ty(c, b), dm(c, da), dm(c, db), rank - i);
      note_operands(c, v);
      return false;
    }
    out->dims[i] = r;
  }
  return true;
}

bool shape_broadcast(ShapeCtx *c, IrValue *v) {
  DType dt;
  if (!unify_dtypes(c, v, &dt))
    return false;
  if (dt == DT_BOOL) {
    diag_error(c->diag, v->loc, "%s: arithmetic on bool tensors is not allowed", opname(v));
    note_operands(c, v);
    return false;
  }
  if (!broadcast_types(c, v, &v->args[0]->type, &v->args[1]->type, &v->type))
    return false;
  v->type.dtype = dt;
  return true;
}

bool shape_broadcast_float(ShapeCtx *c, IrValue *v) {
  if (!shape_broadcast(c, v))
    return false;
  return require_float(c, v, v);
}

bool shape_compare(ShapeCtx *c, IrValue *v) {
  DType dt;
  if (!unify_dtypes(c, v, &dt))
    return false;
  if (!broadcast_types(c, v, &v->args[0]->type, &v->args[1]->type, &v->type))
    return false;
  v->type.dtype = DT_BOOL;
  return true;
}

/* NumPy matmul: 1-D operands are promoted to a row (left) or column (right)
 * vector and the added axis is dropped again; leading axes broadcast. */
bool shape_matmul(ShapeCtx *c, IrValue *v) {
  const TType *a = &v->args[0]->type, *b = &v->args[1]->type;
  DType dt;
  if (!unify_dtypes(c, v, &dt))
    return false;
  if (!dtype_is_float(dt)) {
    diag_error(c->diag, v->loc, "matmul expects floating-point tensors, got %s and %s", ty(c, a),
               ty(c, b));
    note_operands(c, v);
    return false;
  }
  if (a->rank == 0 || b->rank == 0) {
    diag_error(c->diag, v->loc, "matmul: operands must have at least one dimension, got %s @ %s",
               ty(c, a), ty(c, b));
    note_operands(c, v);
    return false;
  }
  Dim ka = a->dims[a->rank - 1];
  Dim kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  if (!dim_eq(ka, kb)) {
    diag_error(c->diag, v->loc, "matmul: inner dimensions differ: %s @ %s (%s vs %s)", ty(c, a),
               ty(c, b), dm(c, ka), dm(c, kb));
    note_operands(c, v);
    return false;
  }
  TType ba = {.rank = a->rank > 2 ? a->rank - 2 : 0};
  TType bb = {.rank = b->rank > 2 ? b->rank - 2 : 0};
  memcpy(ba.dims, a->dims, sizeof(Dim) * (size_t)ba.rank);
  memcpy(bb.dims, b->dims, sizeof(Dim) * (size_t)bb.rank);
  TType out;
  memset(&out, 0, sizeof out);
  if (!broadcast_types(c, v, &ba, &bb, &out))
    return false;
  if (a->rank >= 2)
    out.dims[out.rank++] = a->dims[a->rank - 2];
  if (b->rank >= 2)
    out.dims[out.rank++] = b->dims[b->rank - 1];
  out.dtype = dt;
  v->type = out;
  return true;
}

bool shape_reduce(ShapeCtx *c, IrValue *v) {
  const TType *in = &v->args[0]->type;
  if (v->op == OP_MEAN && !require_float(c, v, v->args[0]))
    return false;
  if (in->dtype == DT_BOOL) {
    diag_error(c->diag, v->loc, "%s of a bool tensor is not allowed", opname(v));
    return false;
  }
  bool reduced[TYPE_MAX_RANK] = {false};
  if (IR_ATTR(v, reduce).all_axes) {
    for (int i = 0; i < in->rank; i++)
      reduced[i] = true;
  } else {
    for (int i = 0; i < IR_ATTR(v, reduce).naxes; i++) {
      if (!normalize_axis(c, v, in->rank, &IR_ATTR(v, reduce).axes[i]))
        return false;
      if (reduced[IR_ATTR(v, reduce).axes[i]]) {
        diag_error(c->diag, v->loc, "%s: axis %d is given twice", opname(v),
                   IR_ATTR(v, reduce).axes[i]);
        return false;
      }
      reduced[IR_ATTR(v, reduce).axes[i]] = true;
    }
  }
  /* Canonical form: the reduced axes in increasing order. */
  IR_ATTR(v, reduce).naxes = 0;
  for (int i = 0; i < in->rank; i++)
    if (reduced[i])
      IR_ATTR(v, reduce).axes[IR_ATTR(v, reduce).naxes++] = i;
  IR_ATTR(v, reduce).all_axes = IR_ATTR(v, reduce).naxes == in->rank;
  /* A mean and the gradients divide by the count reduced: it must be a
   * Dim even where the whole tensor's count is one only by cancellation. */
  Dim count = dim_const(1);
  const char *why = NULL;
  for (int i = 0; i < IR_ATTR(v, reduce).naxes; i++)
    if (!dim_mul(count, in->dims[IR_ATTR(v, reduce).axes[i]], &count, &why)) {
      diag_error(c->diag, v->loc, "%s: the number of elements reduced cannot be computed: %s",
                 opname(v), why);
      return false;
    }
  TType out = ttype_scalar(in->dtype);
  for (int i = 0; i < in->rank; i++) {
    if (!reduced[i])
      out.dims[out.rank++] = in->dims[i];
    else if (IR_ATTR(v, reduce).keepdims)
      out.dims[out.rank++] = dim_const(1);
  }
  v->type = out;
  return true;
}

/* argmax / argmin: like a reduction, but the reduced axes must be the
 * trailing ones (elaboration moves a single axis last with a transpose), so
 * that the index counts over them in row-major order, and the result is the
 * i32 index. */
bool shape_arg_reduce(ShapeCtx *c, IrValue *v) {
  if (!shape_reduce(c, v))
    return false;
  const TType *in = &v->args[0]->type;
  for (int i = 0; i < IR_ATTR(v, reduce).naxes; i++)
    if (IR_ATTR(v, reduce).axes[i] != in->rank - IR_ATTR(v, reduce).naxes + i) {
      diag_error(c->diag, v->loc, "%s: the reduced axes must be the last ones", opname(v));
      return false;
    }
  v->type.dtype = DT_I32;
  return true;
}

/* state <- value: the value must have exactly the state's type (no
 * broadcasting: a running mean of [C] fed a [1, C] is a mistake). */
bool shape_assign(ShapeCtx *c, IrValue *v) {
  const IrValue *target = v->args[0], *value = v->args[1];
  if (target->op != OP_PARAM ||
      (c->module && c->module->params[IR_ATTR(target, source).index]->trainable &&
       !c->writes_params)) {
    diag_error(c->diag, v->loc, "only a state tensor can be updated with '<-'");
    note_operand(c, target, "the target");
    return false;
  }
  if (!ttype_eq(&target->type, &value->type)) {
    diag_error(c->diag, v->loc, "the new value %s does not have the state's type %s",
               ty(c, &value->type), ty(c, &target->type));
    note_operand(c, target, "the state");
    return false;
  }
  v->type = target->type;
  return true;
}

bool shape_reshape(ShapeCtx *c, IrValue *v) {
  const TType *in = &v->args[0]->type;
  TType out = *IR_ATTR(v, layout).target;
  out.dtype = in->dtype;
  Dim n_in, n_known = dim_const(1);
  const char *why = NULL;
  if (!ttype_numel(in, &n_in, &why)) {
    if (why == dim_overflow_why)
      diag_error(c->diag, v->loc, "reshape: the number of elements of %s overflows 64 bits",
                 ty(c, in));
    else
      diag_error(c->diag, v->loc, "reshape: the number of elements of %s: %s", ty(c, in), why);
    return false;
  }
  for (int i = 0; i < out.rank; i++) {
    if (i == IR_ATTR(v, layout).infer_axis)
      continue;
    if (!dim_can_be_positive(out.dims[i])) {
      diag_error(c->diag, v->loc,
                 "reshape: dimension %d of the new shape is %s; it must be positive", i,
                 dm(c, out.dims[i]));
      return false;
    }
    if (!dim_mul(n_known, out.dims[i], &n_known, &why)) {
      diag_error(c->diag, v->loc, "reshape: %s", why);
      return false;
    }
  }
  if (IR_ATTR(v, layout).infer_axis >= 0) {
    Dim inferred;
    if (!dim_div(n_in, n_known, &inferred, &why)) {
      diag_error(c->diag, v->loc,
                 "reshape: cannot infer the -1 dimension: %s elements of %s are not "
                 "a multiple of %s",
                 dm(c, n_in), ty(c, in), dm(c, n_known));
      note_operand(c, v->args[0], "operand");
      return false;
    }
    out.dims[IR_ATTR(v, layout).infer_axis] = inferred;
  } else if (!dim_eq(n_in, n_known)) {
    diag_error(c->diag, v->loc, "reshape: cannot reshape %s (%s elements) to %s (%s elements)",
               ty(c, in), dm(c, n_in), ty(c, &out), dm(c, n_known));
    note_operand(c, v->args[0], "operand");
    return false;
  }
  v->type = out;
  return true;
}

bool shape_transpose(ShapeCtx *c, IrValue *v) {
  const TType *in = &v->args[0]->type;
  if (!IR_ATTR(v, layout).has_perm) {
    if (in->rank < 2) {
      diag_error(c->diag, v->loc, "transpose: needs at least 2 dimensions, got %s", ty(c, in));
      return false;
    }
    for (int i = 0; i < in->rank; i++)
      IR_ATTR(v, layout).perm[i] = i;
    IR_ATTR(v, layout).perm[in->rank - 2] = in->rank - 1;
    IR_ATTR(v, layout).perm[in->rank - 1] = in->rank - 2;
    IR_ATTR(v, layout).has_perm = true;
  } else {
    bool seen[TYPE_MAX_RANK] = {false};
    for (int i = 0; i < in->rank; i++) {
      int p = IR_ATTR(v, layout).perm[i];
      if (p < 0 || p >= in->rank || seen[p]) {
        diag_error(c->diag, v->loc,
                   "transpose: the permutation is not a permutation of 0..%d for %s", in->rank - 1,
                   ty(c, in));
        return false;
      }
      seen[p] = true;
    }
  }
  TType out = *in;
  for (int i = 0; i < in->rank; i++)
    out.dims[i] = in->dims[IR_ATTR(v, layout).perm[i]];
  v->type = out;
  return true;
}

bool shape_rowwise(ShapeCtx *c, IrValue *v) {
  if (!require_float(c, v, v->args[0]))
    return false;
  if (!normalize_axis(c, v, v->args[0]->type.rank, &IR_ATTR(v, rowwise).axis))
    return false;
  v->type = v->args[0]->type;
  return true;
}

/* logits [..., C] with integer labels [...]: mean over all label positions. */
bool shape_cross_entropy(ShapeCtx *c, IrValue *v) {
  const IrValue *logits = v->args[0], *labels = v->args[1];
  const TType *lt = &logits->type, *yt = &labels->type;
  if (!require_float(c, v, logits))
    return false;
  if (lt->rank < 1) {
    diag_error(c->diag, v->loc, "cross_entropy: logits must have a class axis, got %s", ty(c, lt));
    return false;
  }
  if (yt->dtype != DT_I32) {
    diag_error(c->diag, v->loc, "cross_entropy: labels must be class indices of type i32, got %s",
               ty(c, yt));
    note_operand(c, labels, "labels");
    return false;
  }
  bool ok = yt->rank == lt->rank - 1;
  for (int i = 0; ok && i < yt->rank; i++)
    ok = dim_eq(yt->dims[i], lt->dims[i]);
  if (!ok) {
    diag_error(c->diag, v->loc,
               "cross_entropy: labels %s do not match logits %s without their class axis",
               ty(c, yt), ty(c, lt));
    note_operand(c, logits, "logits");
    note_operand(c, labels, "labels");
    return false;
  }
  v->type = ttype_scalar(lt->dtype);
  return true;
}

/* Losses do not broadcast: [B, 1] against [B] is almost always a bug. */
bool shape_mse(ShapeCtx *c, IrValue *v) {
  DType dt;
  if (!unify_dtypes(c, v, &dt))
    return false;
  if (!require_float(c, v, v->args[0]))
    return false;
  if (!ttype_eq(&v->args[0]->type, &v->args[1]->type)) {
    diag_error(c->diag, v->loc,
               "mse: prediction %s and target %s have different shapes (losses do not broadcast)",
               ty(c, &v->args[0]->type), ty(c, &v->args[1]->type));
    note_operands(c, v);
    return false;
  }
  v->type = ttype_scalar(dt);
  return true;
}

/* where(cond, a, b): a bool condition chooses between a and b elementwise;
 * all three broadcast together. */
bool shape_select(ShapeCtx *c, IrValue *v) {
  IrValue *cond = v->args[0];
  if (cond->type.dtype != DT_BOOL) {
    diag_error(c->diag, v->loc, "where: the condition must be a bool tensor, got %s",
               ty(c, &cond->type));
    note_operand(c, cond, "condition");
    return false;
  }
  IrValue *saved = v->args[0];
  v->args[0] = v->args[1];
  v->args[1] = v->args[2];
  DType dt;
  bool ok = unify_dtypes(c, v, &dt);
  v->args[1] = v->args[0];
  v->args[0] = saved;
  if (!ok)
    return false;
  TType ab;
  if (!broadcast_types(c, v, &v->args[1]->type, &v->args[2]->type, &ab) ||
      !broadcast_types(c, v, &cond->type, &ab, &v->type))
    return false;
  v->type.dtype = dt;
  return true;
}

/* The operand must broadcast to attr.expand.target without changing it: each of
 * its axes, aligned from the right, equals the target's or is 1. */
bool shape_broadcast_to(ShapeCtx *c, IrValue *v) {
  const TType *in = &v->args[0]->type, *to = IR_ATTR(v, expand).target;
  bool ok = in->rank <= to->rank;
  for (int i = 0; ok && i < in->rank; i++) {
    Dim d = in->dims[i], t = to->dims[to->rank - in->rank + i];
    ok = dim_eq(d, t) || dim_is(d, 1);
  }
  if (!ok) {
    diag_error(c->diag, v->loc, "broadcast_to: %s cannot be broadcast to %s", ty(c, in), ty(c, to));
    note_operand(c, v->args[0], "operand");
    return false;
  }
  v->type = *to;
  v->type.dtype = in->dtype;
  return true;
}

bool shape_one_hot(ShapeCtx *c, IrValue *v) {
  const TType *in = &v->args[0]->type;
  if (in->dtype != DT_I32) {
    diag_error(c->diag, v->loc, "one_hot: expects i32 class indices, got %s", ty(c, in));
    note_operand(c, v->args[0], "operand");
    return false;
  }
  if (in->rank >= TYPE_MAX_RANK) {
    diag_error(c->diag, v->loc, "one_hot: the result would have more than %d dimensions",
               TYPE_MAX_RANK);
    return false;
  }
  if (IR_ATTR(v, onehot).depth <= 0) {
    diag_error(c->diag, v->loc, "one_hot: the number of classes must be positive, got %lld",
               (long long)IR_ATTR(v, onehot).depth);
    return false;
  }
  v->type = *in;
  v->type.dtype = IR_ATTR(v, onehot).dtype;
  v->type.dims[v->type.rank++] = dim_const(IR_ATTR(v, onehot).depth);
  return true;
}

/* ---- generators: the shape and dtype come with the op ---- */

bool shape_generate(ShapeCtx *c, IrValue *v) {
  const TType *t = IR_ATTR(v, gen).target;
  for (int i = 0; i < t->rank; i++)
    if (dim_is_const(t->dims[i]) && t->dims[i].constant <= 0) {
      diag_error(c->diag, v->loc, "%s: dimension %d of the shape must be positive, got %lld",
                 opname(v), i, (long long)t->dims[i].constant);
      return false;
    }
  if (v->op != OP_ARANGE && !dtype_is_float(IR_ATTR(v, gen).dtype)) {
    diag_error(c->diag, v->loc, "%s: makes floating-point tensors, not %s", opname(v),
               dtype_name(IR_ATTR(v, gen).dtype));
    return false;
  }
  v->type = *t;
  v->type.dtype = IR_ATTR(v, gen).dtype;
  return true;
}

bool shape_identity(ShapeCtx *c, IrValue *v) {
  (void)c;
  v->type = v->args[0]->type;
  return true;
}

/* Memory plans and loops need every value's element count as a Dim:
 * f32[B + 1, T + 1, C + 1, D + 1] has 16 terms, more than a Dim holds. */
static bool numel_fits(ShapeCtx *c, IrValue *v) {
  Dim n;
  const char *why = NULL;
  if (ttype_numel(&v->type, &n, &why))
    return true;
  diag_error(c->diag, v->loc, "%s: the number of elements of %s %s%s", op_info[v->op].name,
             ty(c, &v->type),
             why == dim_overflow_why ? "overflows 64 bits" : "cannot be computed: ",
             why == dim_overflow_why ? "" : why);
  return false;
}

/* Sources (inputs, parameters) were checked where they are declared. */
bool shape_infer(ShapeCtx *c, IrValue *v) {
  bool source = op_info[v->op].shape == shape_source;
  return op_info[v->op].shape(c, v) && (source || numel_fits(c, v));
}

/* ---- indexing by data (gather, scatter_add) ---- */

static bool require_indices(ShapeCtx *c, IrValue *v, const IrValue *ids) {
  if (ids->type.dtype == DT_I32)
    return true;
  diag_error(c->diag, v->loc, "%s: the indices must be an i32 tensor, got %s", opname(v),
             ty(c, &ids->type));
  note_operand(c, ids, "indices");
  return false;
}

/* gather(table [V, D...], ids i32[N...]) -> [N..., D...] */
bool shape_gather(ShapeCtx *c, IrValue *v) {
  const IrValue *table = v->args[0], *ids = v->args[1];
  const TType *tt = &table->type;
  if (tt->rank < 1 || tt->dtype == DT_BOOL) {
    diag_error(c->diag, v->loc, "gather: the table must be a numeric tensor [V, ...], got %s",
               ty(c, tt));
    note_operand(c, table, "table");
    return false;
  }
  if (!require_indices(c, v, ids))
    return false;
  if (ids->type.rank + tt->rank - 1 > TYPE_MAX_RANK) {
    diag_error(c->diag, v->loc, "gather: the result would have more than %d dimensions",
               TYPE_MAX_RANK);
    return false;
  }
  TType out = ids->type;
  out.dtype = tt->dtype;
  for (int i = 1; i < tt->rank; i++)
    out.dims[out.rank++] = tt->dims[i];
  v->type = out;
  return true;
}

/* ---- views: slice, pad, concat ----
 *
 * The elaborator normalises what it can (negative bounds against constant
 * extents); these rules check what reaches the IR. On an axis of symbolic
 * extent a slice is a single position or a range of step 1 whose length is
 * a dim (T - 1); its start, and a position given by an argument, are
 * resolved and checked at run time. */

static bool view_runtime_operands(ShapeCtx *c, IrValue *v) {
  for (int i = 1; i < v->nargs; i++) {
    const TType *t = &v->args[i]->type;
    if (t->dtype != DT_I32 || t->rank != 0) {
      diag_error(c->diag, v->args[i]->loc, "%s: a run-time index must be an i32 scalar, got %s",
                 opname(v), ty(c, t));
      note_operand(c, v->args[i], "the index");
      return false;
    }
  }
  return true;
}

static bool known_const(Dim d) { return d.kind == DIM_KNOWN && dim_is_const(d); }

/* Is axis i's position resolved at run time (an argument, or a constant
 * position on an axis of symbolic extent n)? */
static bool view_axis_runtime(const IrValue *v, int i, Dim n) {
  return IR_ATTR(v, view)->dyn[i] > 0 || (n.kind == DIM_KNOWN && !dim_is_const(n));
}

static bool check_dyn_operand(ShapeCtx *c, IrValue *v, int i) {
  int d = IR_ATTR(v, view)->dyn[i];
  if (d < 0 || (d > 0 && d >= v->nargs)) {
    diag_error(c->diag, v->loc, "%s: axis %d names operand %d, which does not exist", opname(v), i,
               d);
    return false;
  }
  return true;
}

/* Do the count indices start, start + step, ... (step of either sign) all
 * lie inside an axis of constant extent n? */
static bool strided_range_fits(int64_t start, int64_t step, int64_t count, Dim n) {
  int64_t last = start + (count - 1) * step;
  int64_t lo = step > 0 ? start : last, hi = step > 0 ? last : start;
  return lo >= 0 && hi < n.constant;
}

bool shape_slice(ShapeCtx *c, IrValue *v) {
  const TType *in = &v->args[0]->type;
  const IrViewAttrs *va = IR_ATTR(v, view);
  if (!view_runtime_operands(c, v))
    return false;
  TType out = {.dtype = in->dtype};
  for (int i = 0; i < in->rank; i++) {
    Dim n = in->dims[i];
    if (!check_dyn_operand(c, v, i))
      return false;
    if (va->step[i] == 0) {
      diag_error(c->diag, v->loc, "slice: the step of axis %d must not be zero", i);
      return false;
    }
    if (va->drop[i]) {
      if (!view_axis_runtime(v, i, n) && known_const(n) &&
          (va->start[i] < 0 || va->start[i] >= n.constant)) {
        diag_error(c->diag, v->loc, "slice: index %lld is out of range for axis %d of %s",
                   (long long)va->start[i], i, ty(c, in));
        note_operand(c, v->args[0], "the sliced tensor");
        return false;
      }
      continue;
    }
    Dim sz = va->size[i];
    if (sz.kind == DIM_UNKNOWN || n.kind == DIM_UNKNOWN) { /* a generic check */
      out.dims[out.rank++] = sz;
      continue;
    }
    bool full = va->start[i] == 0 && va->step[i] == 1 && dim_eq(sz, n) && va->dyn[i] == 0;
    if (!full && view_axis_runtime(v, i, n)) {
      /* a constant range of a symbolic axis is checked when the function
         runs; a run-time position picks one element */
      bool range = va->dyn[i] == 0 && va->step[i] == 1;
      if (!range && !(known_const(sz) && sz.constant == 1)) {
        diag_error(c->diag, v->loc,
                   va->dyn[i] > 0 ? "slice: a run-time position picks one element of axis %d"
                                  : "slice: axis %d of %s has symbolic extent %s: only ':' or a "
                                    "single index is supported there",
                   i, ty(c, in), dm(c, n));
        note_operand(c, v->args[0], "the sliced tensor");
        return false;
      }
    } else if (known_const(n)) {
      if (!known_const(sz) || sz.constant < 0 ||
          (sz.constant > 0 && !strided_range_fits(va->start[i], va->step[i], sz.constant, n))) {
        diag_error(c->diag, v->loc, "slice: range out of bounds for axis %d of %s", i, ty(c, in));
        note_operand(c, v->args[0], "the sliced tensor");
        return false;
      }
    }
    out.dims[out.rank++] = sz;
  }
  v->type = out;
  return true;
}

/* scatter_add(src [N..., D...], ids i32[N...]) -> [rows, D...] */
bool shape_scatter_add(ShapeCtx *c, IrValue *v) {
  const IrValue *src = v->args[0], *ids = v->args[1];
  const TType *st = &src->type, *it = &ids->type;
  if (!require_indices(c, v, ids))
    return false;
  if (!dtype_is_float(st->dtype) && st->dtype != DT_I32) {
    diag_error(c->diag, v->loc, "scatter_add: the rows must be a numeric tensor, got %s",
               ty(c, st));
    return false;
  }
  bool ok = st->rank >= it->rank;
  for (int i = 0; ok && i < it->rank; i++)
    ok = dim_eq(st->dims[i], it->dims[i]);
  if (!ok) {
    diag_error(c->diag, v->loc,
               "scatter_add: the rows %s must start with the shape of the indices %s", ty(c, st),
               ty(c, it));
    note_operand(c, src, "rows");
    note_operand(c, ids, "indices");
    return false;
  }
  Dim rows = IR_ATTR(v, gather).rows;
  if (rows.kind == DIM_KNOWN && dim_is_const(rows) && rows.constant <= 0) {
    diag_error(c->diag, v->loc, "scatter_add: the number of rows must be positive, got %lld",
               (long long)rows.constant);
    return false;
  }
  TType out = {.dtype = st->dtype, .rank = 1 + st->rank - it->rank};
  out.dims[0] = rows;
  for (int i = it->rank; i < st->rank; i++)
    out.dims[1 + i - it->rank] = st->dims[i];
  v->type = out;
  return true;
}

bool shape_pad(ShapeCtx *c, IrValue *v) {
  const TType *in = &v->args[0]->type;
  const IrViewAttrs *va = IR_ATTR(v, view);
  if (!view_runtime_operands(c, v))
    return false;
  TType out = {.dtype = in->dtype, .rank = in->rank};
  for (int i = 0; i < in->rank; i++) {
    Dim n = in->dims[i], sz = va->size[i];
    if (!check_dyn_operand(c, v, i))
      return false;
    out.dims[i] = sz;
    if (sz.kind == DIM_UNKNOWN || n.kind == DIM_UNKNOWN)
      continue;
    if (va->step[i] == 0) {
      diag_error(c->diag, v->loc, "pad: the step of axis %d must not be zero", i);
      return false;
    }
    bool full = va->start[i] == 0 && va->step[i] == 1 && dim_eq(sz, n);
    bool range = va->dyn[i] == 0 && va->step[i] > 0; /* placed from a start checked at run time */
    if (view_axis_runtime(v, i, sz) && !full && !range && !(known_const(n) && n.constant == 1)) {
      diag_error(c->diag, v->loc,
                 "pad: axis %d of %s: only one element can be placed at a run-time position", i,
                 ty(c, in));
      return false;
    }
    if (!view_axis_runtime(v, i, sz) && known_const(n) && known_const(sz) && n.constant > 0 &&
        !strided_range_fits(va->start[i], va->step[i], n.constant, sz)) {
      diag_error(c->diag, v->loc, "pad: axis %d of %s does not fit in %lld elements", i, ty(c, in),
                 (long long)sz.constant);
      return false;
    }
    if (!known_const(sz) && !full && sz.kind == DIM_KNOWN && !view_axis_runtime(v, i, sz) &&
        c->generic) {
      sz = dim_unknown(); /* each instance pads a constant extent */
    } else if (!known_const(sz) && !full && sz.kind == DIM_KNOWN && !view_axis_runtime(v, i, sz)) {
      diag_error(c->diag, v->loc, "pad: axis %d of %s has symbolic extent %s: it cannot be padded",
                 i, ty(c, in), dm(c, n));
      note_operand(c, v->args[0], "the padded tensor");
      return false;
    }
    out.dims[i] = sz;
  }
  v->type = out;
  return true;
}

/* ---- elementwise ops of issue 14 ---- */

/* clamp(x, lo, hi): the bounds come from the program, so they are checked
 * here too, not only where the builtin reads them. */
bool shape_clamp(ShapeCtx *c, IrValue *v) {
  const IrUnaryAttrs *u = &IR_ATTR(v, unary);
  if (!(u->lo <= u->hi)) {
    diag_error(c->diag, v->loc, "clamp: the lower bound %g is above the upper bound %g", u->lo,
               u->hi);
    return false;
  }
  return shape_unary_float(c, v);
}

/* f32(x), f64(x), i32(x): the operand's shape with attr.unary.to; any
 * operand type (a bool mask becomes 0 and 1). */
bool shape_cast(ShapeCtx *c, IrValue *v) {
  DType to = IR_ATTR(v, unary).to;
  if (to != DT_F32 && to != DT_F64 && to != DT_I32) {
    diag_error(c->diag, v->loc, "cast: cannot convert to %s", dtype_name(to));
    return false;
  }
  v->type = v->args[0]->type;
  v->type.dtype = to;
  return true;
}

/* Normalises a view's negative axis (concat's, unfold's). The payload is
 * shared and immutable: a changed axis goes into a copy, which *va and the
 * value then point at. */
static bool normalize_view_axis(ShapeCtx *c, IrValue *v, int rank, const IrViewAttrs **va) {
  int ax = (*va)->axis;
  if (!normalize_axis(c, v, rank, &ax))
    return false;
  if (ax != (*va)->axis) {
    IrViewAttrs *n = ARENA_NEW(c->arena, IrViewAttrs);
    *n = **va;
    n->axis = ax;
    IR_ATTR(v, view) = *va = n;
  }
  return true;
}

bool shape_concat(ShapeCtx *c, IrValue *v) {
  const TType *t0 = &v->args[0]->type;
  const IrViewAttrs *va = IR_ATTR(v, view);
  if (t0->rank == 0) {
    diag_error(c->diag, v->loc, "concat: cannot join scalars (stack them)");
    return false;
  }
  if (!normalize_view_axis(c, v, t0->rank, &va))
    return false;
  int ax = va->axis;
  TType out = *t0;
  int64_t total = 0;
  bool unknown = false;
  for (int k = 0; k < v->nargs; k++) {
    const TType *t = &v->args[k]->type;
    if (t->dtype != t0->dtype || t->rank != t0->rank) {
      diag_error(c->diag, v->loc, "concat: operand %d is %s but operand 0 is %s", k, ty(c, t),
                 ty(c, t0));
      note_operand(c, v->args[0], "operand 0");
      note_operand(c, v->args[k], arena_printf(c->arena, "operand %d", k));
      return false;
    }
    for (int i = 0; i < t->rank; i++) {
      if (i == ax || dim_eq(t->dims[i], t0->dims[i]))
        continue;
      diag_error(c->diag, v->loc,
                 "concat: operands differ on axis %d (not the concat axis %d): %s against %s", i,
                 ax, dm(c, t0->dims[i]), dm(c, t->dims[i]));
      note_operand(c, v->args[0], "operand 0");
      note_operand(c, v->args[k], arena_printf(c->arena, "operand %d", k));
      return false;
    }
    Dim n = t->dims[ax];
    if (n.kind == DIM_UNKNOWN || (c->generic && !dim_is_const(n))) {
      unknown = true;
    } else if (!dim_is_const(n)) {
      diag_error(c->diag, v->loc,
                 "concat: axis %d of operand %d has symbolic extent %s; only constant extents "
                 "can be joined",
                 ax, k, dm(c, n));
      note_operand(c, v->args[k], arena_printf(c->arena, "operand %d", k));
      return false;
    } else {
      total += n.constant;
    }
  }
  out.dims[ax] = unknown ? dim_unknown() : dim_const(total);
  v->type = out;
  return true;
}

/* unfold(x, axis, size, step), PyTorch's Tensor.unfold: the windows of
 * `size` elements along the axis, `step` apart, as [..., count, ..., size]
 * with count = (n - size) / step + 1 (the windows that fit whole). On a
 * symbolic extent the count must be a dim: exact, as (T - 3) / 1 + 1 is. */
bool shape_unfold(ShapeCtx *c, IrValue *v) {
  const TType *in = &v->args[0]->type;
  const IrViewAttrs *va = IR_ATTR(v, view);
  if (in->rank >= TYPE_MAX_RANK) {
    diag_error(c->diag, v->loc, "unfold: %s already has %d dimensions, the most a tensor can have",
               ty(c, in), TYPE_MAX_RANK);
    return false;
  }
  if (!normalize_view_axis(c, v, in->rank, &va))
    return false;
  int ax = va->axis;
  int64_t size = va->window, step = va->step[ax];
  if (size == 0) { /* a generic check of a layer: size or step unknown */
    TType out = *in;
    out.dims[ax] = out.dims[out.rank++] = dim_unknown();
    v->type = out;
    return true;
  }
  if (size < 1 || step < 1) {
    diag_error(c->diag, v->loc, "unfold: the size (%lld) and the step (%lld) must be positive",
               (long long)size, (long long)step);
    return false;
  }
  Dim n = in->dims[ax], count = dim_unknown();
  const char *why = NULL;
  if (known_const(n)) {
    if (n.constant < size) {
      diag_error(c->diag, v->loc, "unfold: a window of %lld elements is larger than axis %d of %s",
                 (long long)size, ax, ty(c, in));
      note_operand(c, v->args[0], "the unfolded tensor");
      return false;
    }
    count = dim_const((n.constant - size) / step + 1);
  } else if (n.kind == DIM_KNOWN) {
    Dim span;
    if (!dim_sub(n, dim_const(size), &span, &why) ||
        !dim_div(span, dim_const(step), &count, &why) ||
        !dim_add(count, dim_const(1), &count, &why)) {
      if (!c->generic) {
        diag_error(c->diag, v->loc,
                   "unfold: the number of windows of axis %d of %s is not a dim: %s", ax, ty(c, in),
                   why);
        note_operand(c, v->args[0], "the unfolded tensor");
        return false;
      }
      count = dim_unknown(); /* each instance unfolds a constant extent */
    }
  }
  TType out = *in;
  out.dims[ax] = count;
  out.dims[out.rank++] = dim_const(size);
  v->type = out;
  return true;
}

/* ---- convolution ----
 * PyTorch's layouts: activations [N, C, spatial...], weights
 * [O, C / groups, k...]. Output sizes floor as PyTorch's do when the input's
 * size is a constant; a symbolic size must divide exactly (a dim has no
 * floor), else the error says so. */

static const char *conv_name(ShapeCtx *c, const IrValue *v) {
  int nsp = IR_ATTR(v, conv)->nsp;
  switch (v->op) {
  case OP_CONV:
    return arena_printf(c->arena, "conv%dd", nsp);
  case OP_CONV_TRANSPOSE:
    return arena_printf(c->arena, "conv_transpose%dd", nsp);
  default:
    return "conv_filter";
  }
}

static const char *spatial_names(int nsp) { return nsp == 1 ? "L" : "H, W"; }

/* Operand i has nsp + 2 axes and the element type of operand 0, a float. */
static bool conv_operand(ShapeCtx *c, const IrValue *v, int i, const char *role,
                         const char *layout) {
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  const TType *t = &v->args[i]->type, *t0 = &v->args[0]->type;
  if (t->rank != ca->nsp + 2) {
    diag_error(c->diag, v->loc, "%s: the %s must be %s[%s], got %s", conv_name(c, v), role,
               dtype_name(t->dtype), layout, ty(c, t));
    note_operand(c, v->args[i], arena_printf(c->arena, "the %s", role));
    return false;
  }
  if (!dtype_is_float(t->dtype) || t->dtype != t0->dtype) {
    if (i == 0)
      diag_error(c->diag, v->loc, "%s: the input must be f32 or f64, got %s", conv_name(c, v),
                 ty(c, t));
    else
      diag_error(c->diag, v->loc, "%s: the %s must be %s like the input, got %s", conv_name(c, v),
                 role, dtype_name(t0->dtype), ty(c, t));
    note_operand(c, v->args[i], arena_printf(c->arena, "the %s", role));
    return false;
  }
  return true;
}

/* n / groups, exactly; the error names what n counts. */
static bool conv_per_group(ShapeCtx *c, const IrValue *v, Dim n, const char *what, int arg,
                           Dim *out) {
  int64_t groups = IR_ATTR(v, conv)->groups;
  const char *why = NULL;
  if (dim_div(n, dim_const(groups), out, &why))
    return true;
  diag_error(c->diag, v->loc, "%s: groups = %lld does not divide the %s %s", conv_name(c, v),
             (long long)groups, dm(c, n), what);
  note_operand(c, v->args[arg], arg == 0 ? "the input" : "the weight");
  return false;
}

/* The output extent of spatial axis i of a convolution of extent `in`. */
static bool conv_out_size(ShapeCtx *c, const IrValue *v, int i, Dim in, Dim k, Dim *out) {
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  if (in.kind != DIM_KNOWN || k.kind != DIM_KNOWN) {
    *out = dim_unknown();
    return true;
  }
  if (!dim_is_const(k)) {
    diag_error(c->diag, v->loc, "%s: the kernel's size %s must be a constant", conv_name(c, v),
               dm(c, k));
    note_operand(c, v->args[1], "the weight");
    return false;
  }
  int64_t reach = ca->dilation[i] * (k.constant - 1) + 1; /* input elements a window spans */
  int64_t slack = ca->pad_lo[i] + ca->pad_hi[i] - reach;
  if (dim_is_const(in)) {
    if (in.constant + slack < 0) {
      diag_error(c->diag, v->loc,
                 "%s: a window spanning %lld elements is larger than axis %d of the input "
                 "(%lld with padding)",
                 conv_name(c, v), (long long)reach, 2 + i,
                 (long long)(in.constant + ca->pad_lo[i] + ca->pad_hi[i]));
      note_operand(c, v->args[0], "the input");
      return false;
    }
    *out = dim_const((in.constant + slack) / ca->stride[i] + 1);
    return true;
  }
  Dim span;
  const char *why = NULL;
  if (dim_add(in, dim_const(slack), &span, &why) &&
      dim_div(span, dim_const(ca->stride[i]), out, &why) && dim_add(*out, dim_const(1), out, &why))
    return true;
  if (c->generic) {
    *out = dim_unknown();
    return true;
  }
  diag_error(c->diag, v->loc,
             "%s: the output size along axis %d, (%s %c %lld) / %lld + 1, is not a whole number "
             "for every %s: %s",
             conv_name(c, v), 2 + i, dm(c, in), slack < 0 ? '-' : '+', (long long)llabs(slack),
             (long long)ca->stride[i], dm(c, in), why ? why : "stride does not divide it");
  note_operand(c, v->args[0], "the input");
  return false;
}

bool shape_conv(ShapeCtx *c, IrValue *v) {
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  const char *sp = spatial_names(ca->nsp);
  if (!conv_operand(c, v, 0, "input", arena_printf(c->arena, "N, C, %s", sp)) ||
      !conv_operand(c, v, 1, "weight", ca->nsp == 1 ? "O, C / groups, K" : "O, C / groups, KH, KW"))
    return false;
  const TType *x = &v->args[0]->type, *w = &v->args[1]->type;
  Dim cg = w->dims[1], og;
  if (!ca->unknown && (!conv_per_group(c, v, x->dims[1], "input channels", 0, &cg) ||
                       !conv_per_group(c, v, w->dims[0], "output channels of the weight", 1, &og)))
    return false;
  if (!dim_eq(cg, w->dims[1])) {
    diag_error(c->diag, v->loc,
               "%s: the input has %s channels, but the weight %s takes %s per group "
               "(groups = %lld)",
               conv_name(c, v), dm(c, x->dims[1]), ty(c, w), dm(c, w->dims[1]),
               (long long)ca->groups);
    note_operand(c, v->args[0], "the input");
    note_operand(c, v->args[1], "the weight");
    return false;
  }
  TType out = *x;
  out.dims[1] = w->dims[0];
  for (int i = 0; i < ca->nsp; i++) {
    if (ca->unknown)
      out.dims[2 + i] = dim_unknown();
    else if (!conv_out_size(c, v, i, x->dims[2 + i], w->dims[2 + i], &out.dims[2 + i]))
      return false;
  }
  v->type = out;
  return true;
}

bool shape_conv_transpose(ShapeCtx *c, IrValue *v) {
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  const char *sp = spatial_names(ca->nsp);
  if (!conv_operand(c, v, 0, "input", arena_printf(c->arena, "N, C, %s", sp)) ||
      !conv_operand(c, v, 1, "weight", ca->nsp == 1 ? "C, O / groups, K" : "C, O / groups, KH, KW"))
    return false;
  const TType *x = &v->args[0]->type, *w = &v->args[1]->type;
  Dim unused;
  if (!ca->unknown && !conv_per_group(c, v, w->dims[0], "input channels of the weight", 1, &unused))
    return false;
  if (!dim_eq(x->dims[1], w->dims[0])) {
    diag_error(c->diag, v->loc, "%s: the input has %s channels, but the weight %s takes %s",
               conv_name(c, v), dm(c, x->dims[1]), ty(c, w), dm(c, w->dims[0]));
    note_operand(c, v->args[0], "the input");
    note_operand(c, v->args[1], "the weight");
    return false;
  }
  TType out = *x;
  const char *why = NULL;
  if (ca->unknown) {
    out.dims[1] = dim_unknown();
  } else if (!dim_mul(w->dims[1], dim_const(ca->groups), &out.dims[1], &why)) {
    diag_error(c->diag, v->loc, "%s: the output channels overflow: %s", conv_name(c, v), why);
    return false;
  }
  for (int i = 0; i < ca->nsp; i++)
    out.dims[2 + i] = ca->unknown ? dim_unknown() : ca->size[i];
  v->type = out;
  return true;
}

bool shape_conv_filter(ShapeCtx *c, IrValue *v) {
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  const char *sp = spatial_names(ca->nsp);
  const char *layout = arena_printf(c->arena, "N, C, %s", sp);
  if (!conv_operand(c, v, 0, "input", layout) || !conv_operand(c, v, 1, "output gradient", layout))
    return false;
  const TType *x = &v->args[0]->type, *dy = &v->args[1]->type;
  if (!dim_eq(x->dims[0], dy->dims[0])) {
    diag_error(c->diag, v->loc, "%s: the input %s and the output gradient %s differ in batch",
               conv_name(c, v), ty(c, x), ty(c, dy));
    return false;
  }
  Dim cg = dim_unknown(), og;
  if (!ca->unknown && (!conv_per_group(c, v, x->dims[1], "input channels", 0, &cg) ||
                       !conv_per_group(c, v, dy->dims[1], "output channels", 1, &og)))
    return false;
  TType out = *x;
  out.dims[0] = dy->dims[1];
  out.dims[1] = cg;
  for (int i = 0; i < ca->nsp; i++)
    out.dims[2 + i] = ca->unknown ? dim_unknown() : ca->size[i];
  v->type = out;
  return true;
}
