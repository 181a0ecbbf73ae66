/* grad_rules.c - the gradient rule of every differentiable op in ops.def.
 *
 * A rule receives the derived function's copy of a forward value v (so
 * v->args are forward values it may reuse) and dy, the adjoint of v, of v's
 * type. It builds the operands' adjoints from ordinary ops and hands them to
 * autodiff_accumulate. Rules reuse forward results where that is cheaper (exp,
 * sigmoid, tanh and softmax differentiate through their output) and leave
 * broadcasting to autodiff_unbroadcast.
 */
#include "autodiff.h"

static IrValue *scalar(GradCtx *g, const IrValue *like, double x) {
  return autodiff_const(g, x, like->type.dtype);
}

/* 1 / (product of the given dims), evaluated at run time. */
static IrValue *inverse_count(GradCtx *g, const IrValue *like, const Dim *dims, int n,
                              double scale) {
  Dim count = dim_const(1);
  const char *why = NULL;
  for (int i = 0; i < n; i++)
    if (!dim_mul(count, dims[i], &count, &why))
      NNC_BUG("autodiff: element count is not a Dim: %s", why ? why : "?");
  return autodiff_const_div(g, scale, count, like->type.dtype);
}

/* ---- elementwise unary ---- */

void grad_neg(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0], autodiff_unary(g, OP_NEG, dy));
}

void grad_exp(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0], autodiff_binary(g, OP_MUL, dy, v));
}

void grad_log(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0], autodiff_binary(g, OP_DIV, dy, v->args[0]));
}

/* Tests the output, not the input (relu(x) > 0 iff x > 0): the backward
 * pass then needs only the activation, so the pre-activation can stay
 * inside the fused bias-add + relu kernel instead of being stored. */
void grad_relu(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *zero = scalar(g, v, 0.0);
  IrValue *args[3] = {autodiff_binary(g, OP_GT, v, zero), dy, zero};
  autodiff_accumulate(g, v->args[0], autodiff_emit(g, OP_SELECT, args, 3, NULL));
}

/* sigmoid' = y (1 - y) */
void grad_sigmoid(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *one_minus = autodiff_binary(g, OP_SUB, scalar(g, v, 1.0), v);
  autodiff_accumulate(g, v->args[0],
                      autodiff_binary(g, OP_MUL, dy, autodiff_binary(g, OP_MUL, v, one_minus)));
}

/* tanh' = 1 - y^2 */
void grad_tanh(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *d = autodiff_binary(g, OP_SUB, scalar(g, v, 1.0), autodiff_binary(g, OP_MUL, v, v));
  autodiff_accumulate(g, v->args[0], autodiff_binary(g, OP_MUL, dy, d));
}

/* ---- elementwise binary (operands may be broadcast) ---- */

static void accumulate_unbroadcast(GradCtx *g, IrValue *x, IrValue *dx) {
  autodiff_accumulate(g, x, autodiff_unbroadcast(g, dx, &x->type));
}

void grad_add(GradCtx *g, IrValue *v, IrValue *dy) {
  accumulate_unbroadcast(g, v->args[0], dy);
  accumulate_unbroadcast(g, v->args[1], dy);
}

void grad_sub(GradCtx *g, IrValue *v, IrValue *dy) {
  accumulate_unbroadcast(g, v->args[0], dy);
  accumulate_unbroadcast(g, v->args[1], autodiff_unary(g, OP_NEG, dy));
}

void grad_mul(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *a = v->args[0], *b = v->args[1];
  accumulate_unbroadcast(g, a, autodiff_binary(g, OP_MUL, dy, b));
  accumulate_unbroadcast(g, b, autodiff_binary(g, OP_MUL, dy, a));
}

/* d(a/b)/db = -a/b^2 = -(a/b)/b */
void grad_div(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *a = v->args[0], *b = v->args[1];
  IrValue *dq = autodiff_binary(g, OP_DIV, dy, b);
  accumulate_unbroadcast(g, a, dq);
  accumulate_unbroadcast(g, b, autodiff_unary(g, OP_NEG, autodiff_binary(g, OP_MUL, dq, v)));
}

/* d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log a (only when b is a tensor:
 * the usual x^2 has a constant exponent and no log of negative bases). */
void grad_pow(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *a = v->args[0], *b = v->args[1];
  IrValue *b_minus_1 = autodiff_binary(g, OP_SUB, b, scalar(g, b, 1.0));
  IrValue *da = autodiff_binary(g, OP_MUL, b, autodiff_binary(g, OP_POW, a, b_minus_1));
  accumulate_unbroadcast(g, a, autodiff_binary(g, OP_MUL, dy, da));
  if (b->op != OP_CONST) {
    IrValue *db = autodiff_binary(g, OP_MUL, v, autodiff_unary(g, OP_LOG, a));
    accumulate_unbroadcast(g, b, autodiff_binary(g, OP_MUL, dy, db));
  }
}

void grad_select(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *cond = v->args[0], *zero = scalar(g, dy, 0.0);
  IrValue *to_a[3] = {cond, dy, zero}, *to_b[3] = {cond, zero, dy};
  accumulate_unbroadcast(g, v->args[1], autodiff_emit(g, OP_SELECT, to_a, 3, NULL));
  accumulate_unbroadcast(g, v->args[2], autodiff_emit(g, OP_SELECT, to_b, 3, NULL));
}

/* ---- matmul ----
 * With 1-D operands promoted to matrices (as the forward shape rule does):
 * dA = dY @ B^T and dB = A^T @ dY, then summed over broadcast batch axes and
 * reshaped back. The transposes are free: codegen folds them into GEMM. */

static TType promoted(const TType *t, bool left) {
  if (t->rank != 1)
    return *t;
  TType p = *t;
  p.rank = 2;
  p.dims[left ? 1 : 0] = t->dims[0];
  p.dims[left ? 0 : 1] = dim_const(1);
  return p;
}

/* x [d0, .., dk] as the matrix [d0 * .. * d(k-1), dk]: a view. */
static IrValue *flatten_rows(GradCtx *g, IrValue *x) {
  TType t = x->type;
  Dim rows = dim_const(1);
  const char *why = NULL;
  for (int i = 0; i < t.rank - 1; i++)
    if (!dim_mul(rows, t.dims[i], &rows, &why))
      NNC_BUG("autodiff: element count is not a monomial: %s", why ? why : "?");
  t.dims[0] = rows;
  t.dims[1] = x->type.dims[x->type.rank - 1];
  t.rank = 2;
  return autodiff_reshape(g, x, &t);
}

void grad_matmul(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *a = v->args[0], *b = v->args[1];
  TType ta = promoted(&a->type, true), tb = promoted(&b->type, false);
  IrValue *a2 = autodiff_reshape(g, a, &ta), *b2 = autodiff_reshape(g, b, &tb);
  /* dy without the axes the 1-D promotion dropped */
  TType ty = v->type;
  if (a->type.rank == 1 || b->type.rank == 1) {
    int batch = ty.rank - (a->type.rank == 1 ? 0 : 1) - (b->type.rank == 1 ? 0 : 1);
    ty.rank = batch + 2;
    ty.dims[batch] = a->type.rank == 1 ? dim_const(1) : v->type.dims[batch];
    ty.dims[batch + 1] = b->type.rank == 1 ? dim_const(1) : v->type.dims[v->type.rank - 1];
  }
  IrValue *dy2 = autodiff_reshape(g, dy, &ty);
  IrValue *da = autodiff_binary(g, OP_MATMUL, dy2, autodiff_unary(g, OP_TRANSPOSE, b2));
  IrValue *db;
  if (b->type.rank == 2 && a->type.rank > 2) {
    /* B broadcast over every batch axis: one product A^T @ dY over the
     * batch's rows instead of a [batch.., k, n] stack summed afterwards. */
    db = autodiff_binary(g, OP_MATMUL, autodiff_unary(g, OP_TRANSPOSE, flatten_rows(g, a2)),
                         flatten_rows(g, dy2));
  } else {
    db = autodiff_binary(g, OP_MATMUL, autodiff_unary(g, OP_TRANSPOSE, a2), dy2);
  }
  autodiff_accumulate(g, a, autodiff_reshape(g, autodiff_unbroadcast(g, da, &ta), &a->type));
  autodiff_accumulate(g, b, autodiff_reshape(g, autodiff_unbroadcast(g, db, &tb), &b->type));
}

/* ---- reductions and broadcasts ---- */

/* dy of a reduction, spread back over the reduced axes. */
static IrValue *spread_reduced(GradCtx *g, const IrValue *v, IrValue *dy) {
  const TType *in = &v->args[0]->type;
  TType kept = *in;
  kept.dtype = dy->type.dtype;
  for (int i = 0; i < IR_ATTR(v, reduce).naxes; i++)
    kept.dims[IR_ATTR(v, reduce).axes[i]] = dim_const(1);
  return autodiff_broadcast_to(g, autodiff_reshape(g, dy, &kept), in);
}

void grad_sum(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0], spread_reduced(g, v, dy));
}

void grad_mean(GradCtx *g, IrValue *v, IrValue *dy) {
  Dim reduced[TYPE_MAX_RANK];
  for (int i = 0; i < IR_ATTR(v, reduce).naxes; i++)
    reduced[i] = v->args[0]->type.dims[IR_ATTR(v, reduce).axes[i]];
  IrValue *scaled =
      autodiff_binary(g, OP_MUL, dy, inverse_count(g, dy, reduced, IR_ATTR(v, reduce).naxes, 1.0));
  autodiff_accumulate(g, v->args[0], spread_reduced(g, v, scaled));
}

/* max / min: the gradient goes to the elements equal to the result, shared
 * evenly among ties, as torch.amax / amin do (torch.max(x, dim) instead
 * picks one of them; the language's max returns values only, like amax).
 * A NaN result equals nothing, so a NaN row passes no gradient. */
void grad_extremum(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0], *zero = scalar(g, dy, 0.0);
  IrValue *hit = autodiff_binary(g, OP_EQ, x, spread_reduced(g, v, v));
  IrValue *ones[3] = {hit, scalar(g, dy, 1.0), zero};
  IrValue *mask = autodiff_emit(g, OP_SELECT, ones, 3, NULL);
  IrAttrs count_at = {.reduce = IR_ATTR(v, reduce)};
  IrValue *count = autodiff_emit(g, OP_SUM, &mask, 1, &count_at);
  IrValue *share = spread_reduced(g, v, autodiff_binary(g, OP_DIV, dy, count));
  IrValue *pick[3] = {hit, share, zero};
  autodiff_accumulate(g, x, autodiff_emit(g, OP_SELECT, pick, 3, NULL));
}

void grad_broadcast(GradCtx *g, IrValue *v, IrValue *dy) {
  accumulate_unbroadcast(g, v->args[0], dy);
}

/* ---- layout ---- */

void grad_reshape(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0], autodiff_reshape(g, dy, &v->args[0]->type));
}

void grad_transpose(GradCtx *g, IrValue *v, IrValue *dy) {
  IrAttrs at = {.layout = {.has_perm = true, .infer_axis = -1}};
  for (int i = 0; i < v->type.rank; i++)
    at.layout.perm[IR_ATTR(v, layout).perm[i]] = i;
  autodiff_accumulate(g, v->args[0], autodiff_emit(g, OP_TRANSPOSE, &dy, 1, &at));
}

/* ---- softmax family ---- */

static IrValue *sum_along(GradCtx *g, IrValue *x, int axis) {
  IrAttrs at = {.reduce = {.naxes = 1, .axes = {axis}, .keepdims = true}};
  return autodiff_emit(g, OP_SUM, &x, 1, &at);
}

/* dx = y * (dy - sum(dy * y)) */
void grad_softmax(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *dot = sum_along(g, autodiff_binary(g, OP_MUL, dy, v), IR_ATTR(v, rowwise).axis);
  autodiff_accumulate(g, v->args[0],
                      autodiff_binary(g, OP_MUL, v, autodiff_binary(g, OP_SUB, dy, dot)));
}

/* dx = dy - softmax(x) * sum(dy), with softmax(x) = exp(y) */
void grad_log_softmax(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *total = sum_along(g, dy, IR_ATTR(v, rowwise).axis);
  IrValue *p = autodiff_unary(g, OP_EXP, v);
  autodiff_accumulate(g, v->args[0],
                      autodiff_binary(g, OP_SUB, dy, autodiff_binary(g, OP_MUL, p, total)));
}

/* ---- losses (means over N positions) ---- */

/* d/dlogits = (softmax(logits) - one_hot(labels)) * dy / N; labels carry no
 * gradient. */
void grad_cross_entropy(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *logits = v->args[0], *labels = v->args[1];
  const TType *lt = &logits->type;
  IrAttrs sm = {.rowwise = {.axis = lt->rank - 1}};
  IrValue *p = autodiff_emit(g, OP_SOFTMAX, &logits, 1, &sm);
  IrAttrs oh = {.onehot = {.depth = lt->dims[lt->rank - 1].constant, .dtype = lt->dtype}};
  if (!dim_is_const(lt->dims[lt->rank - 1]))
    NNC_BUG("autodiff: cross_entropy with a symbolic number of classes");
  IrValue *target = autodiff_emit(g, OP_ONE_HOT, &labels, 1, &oh);
  IrValue *scale = autodiff_binary(g, OP_MUL, dy,
                                   inverse_count(g, dy, labels->type.dims, labels->type.rank, 1.0));
  autodiff_accumulate(g, logits,
                      autodiff_binary(g, OP_MUL, autodiff_binary(g, OP_SUB, p, target), scale));
}

/* d/dpred = 2 (pred - target) dy / N = -d/dtarget */
void grad_mse(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *pred = v->args[0], *target = v->args[1];
  const TType *t = &pred->type;
  IrValue *scale = autodiff_binary(g, OP_MUL, dy, inverse_count(g, dy, t->dims, t->rank, 2.0));
  IrValue *dp = autodiff_binary(g, OP_MUL, autodiff_binary(g, OP_SUB, pred, target), scale);
  autodiff_accumulate(g, pred, dp);
  autodiff_accumulate(g, target, autodiff_unary(g, OP_NEG, dp));
}

/* ---- views ----
 *
 * Each view's adjoint is another view: a slice scatters its adjoint into
 * zeros (a pad at the same positions and steps, with the dropped axes back
 * as 1s), a pad keeps the slice it padded, concat hands each operand its
 * slice. Run-time positions are the same operands. */

/* The adjoint of slice or pad v as the other of the two (op), reading
 * `from` at v's positions and steps, with v's run-time position operands;
 * each axis spans v's operand. */
static IrValue *adjoint_view(GradCtx *g, const IrValue *v, OpKind op, IrValue *from) {
  const IrValue *x = v->args[0];
  const IrViewAttrs *va = IR_ATTR(v, view);
  IrViewAttrs adj = {0};
  for (int i = 0; i < x->type.rank; i++) {
    adj.start[i] = va->start[i];
    adj.step[i] = va->step[i];
    adj.size[i] = x->type.dims[i];
    adj.dyn[i] = va->dyn[i];
  }
  IrValue *args[1 + TYPE_MAX_RANK];
  args[0] = from;
  for (int i = 1; i < v->nargs; i++)
    args[i] = v->args[i];
  return autodiff_emit(g, op, args, v->nargs, &(IrAttrs){.view = &adj});
}

void grad_slice(GradCtx *g, IrValue *v, IrValue *dy) {
  const IrValue *x = v->args[0];
  const IrViewAttrs *va = IR_ATTR(v, view);
  TType kept = x->type;
  for (int i = 0; i < x->type.rank; i++)
    kept.dims[i] = va->drop[i] ? dim_const(1) : va->size[i];
  autodiff_accumulate(g, v->args[0], adjoint_view(g, v, OP_PAD, autodiff_reshape(g, dy, &kept)));
}

void grad_pad(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0], adjoint_view(g, v, OP_SLICE, dy));
}

void grad_concat(GradCtx *g, IrValue *v, IrValue *dy) {
  int ax = IR_ATTR(v, view)->axis;
  int64_t at_pos = 0;
  for (int k = 0; k < v->nargs; k++) {
    const TType *t = &v->args[k]->type;
    IrViewAttrs adj = {0};
    for (int i = 0; i < t->rank; i++) {
      adj.step[i] = 1;
      adj.size[i] = t->dims[i];
    }
    adj.start[ax] = at_pos;
    at_pos += t->dims[ax].constant;
    autodiff_accumulate(g, v->args[k],
                        autodiff_emit(g, OP_SLICE, &dy, 1, &(IrAttrs){.view = &adj}));
  }
}

/* Element k of every window of unfold lies at window * step + k of the
 * axis: the adjoint is, for each k, dy[..., k] placed there by a pad, all
 * added up (windows that overlap share an element and add their parts).
 * The pads of one adjoint fuse into one loop over x with `size` masked
 * reads per element. */
void grad_unfold(GradCtx *g, IrValue *v, IrValue *dy) {
  const IrValue *x = v->args[0];
  const IrViewAttrs *va = IR_ATTR(v, view);
  int ax = va->axis, last = v->type.rank - 1;
  IrValue *sum = NULL;
  for (int64_t k = 0; k < va->window; k++) {
    IrViewAttrs pick = {0};
    for (int i = 0; i <= last; i++) {
      pick.step[i] = 1;
      pick.size[i] = v->type.dims[i];
    }
    pick.start[last] = k;
    pick.drop[last] = true;
    IrValue *part = autodiff_emit(g, OP_SLICE, &dy, 1, &(IrAttrs){.view = &pick});
    IrViewAttrs place = {0};
    for (int i = 0; i < x->type.rank; i++) {
      place.step[i] = 1;
      place.size[i] = x->type.dims[i];
    }
    place.start[ax] = k;
    place.step[ax] = va->step[ax];
    IrValue *placed = autodiff_emit(g, OP_PAD, &part, 1, &(IrAttrs){.view = &place});
    IrValue *xs[2] = {sum, placed};
    sum = sum ? autodiff_emit(g, OP_ADD, xs, 2, NULL) : placed;
  }
  autodiff_accumulate(g, v->args[0], sum);
}

/* ---- convolution ----
 * conv, conv_transpose and conv_filter are each other's adjoints over one
 * geometry (ops.def), so every rule emits the other two with the same
 * strides, padding, dilation and groups. */

/* ca with `size` (conv_transpose's result, conv_filter's kernel) set to
 * the spatial axes of t. */
static IrConvAttrs conv_sized(const IrConvAttrs *ca, const TType *t) {
  IrConvAttrs r = *ca;
  for (int i = 0; i < ca->nsp; i++)
    r.size[i] = t->dims[2 + i];
  return r;
}

/* ca for a conv from the spatial axes of `in` to exactly those of `out`:
 * the padding after is what makes the last window end where the forward
 * geometry's did (less than given when the forward output floored). */
static IrConvAttrs conv_onto(const IrConvAttrs *ca, const TType *in, const TType *out,
                             const TType *kernel) {
  IrConvAttrs r = *ca;
  for (int i = 0; i < ca->nsp; i++) {
    int64_t k = kernel->dims[2 + i].constant; /* shape_conv: a constant */
    int64_t reach = ca->dilation[i] * (k - 1) + 1;
    Dim end, hi;
    const char *why = NULL;
    if (!dim_mul(out->dims[2 + i], dim_const(ca->stride[i]), &end, &why) ||
        !dim_add(end, dim_const(reach - ca->pad_lo[i] - ca->stride[i]), &end, &why) ||
        !dim_sub(end, in->dims[2 + i], &hi, &why) || !dim_is_const(hi))
      NNC_BUG("autodiff: convolution padding is not a constant: %s", why ? why : "symbolic");
    r.pad_hi[i] = hi.constant;
  }
  return r;
}

static IrValue *conv_emit(GradCtx *g, OpKind op, IrValue *a, IrValue *b, const IrConvAttrs *ca) {
  IrValue *args[2] = {a, b};
  return autodiff_emit(g, op, args, 2, &(IrAttrs){.conv = ca});
}

void grad_conv(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0], *w = v->args[1];
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  IrConvAttrs to_x = conv_sized(ca, &x->type), to_w = conv_sized(ca, &w->type);
  autodiff_accumulate(g, x, conv_emit(g, OP_CONV_TRANSPOSE, dy, w, &to_x));
  autodiff_accumulate(g, w, conv_emit(g, OP_CONV_FILTER, x, dy, &to_w));
}

/* v = conv_transpose(a, w): a is the forward geometry's output, v its input. */
void grad_conv_transpose(GradCtx *g, IrValue *v, IrValue *dv) {
  IrValue *a = v->args[0], *w = v->args[1];
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  IrConvAttrs to_a = conv_onto(ca, &v->type, &a->type, &w->type), to_w = conv_sized(ca, &w->type);
  autodiff_accumulate(g, a, conv_emit(g, OP_CONV, dv, w, &to_a));
  autodiff_accumulate(g, w, conv_emit(g, OP_CONV_FILTER, dv, a, &to_w));
}

/* v = conv_filter(x, b): b is the forward geometry's output, v a kernel. */
void grad_conv_filter(GradCtx *g, IrValue *v, IrValue *dv) {
  IrValue *x = v->args[0], *b = v->args[1];
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  IrConvAttrs to_x = conv_sized(ca, &x->type), to_b = conv_onto(ca, &x->type, &b->type, &v->type);
  autodiff_accumulate(g, x, conv_emit(g, OP_CONV_TRANSPOSE, b, dv, &to_x));
  autodiff_accumulate(g, b, conv_emit(g, OP_CONV, x, dv, &to_b));
}

/* ---- indexing by data ----
 * gather copies table rows, so its adjoint adds dy's rows back into a
 * zero table at the same ids (an id used twice gets both rows); the ids
 * carry no gradient. scatter_add is its transpose: the adjoint of a row
 * added at id is the adjoint of that id's row. */

void grad_gather(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *table = v->args[0], *args[2] = {dy, v->args[1]};
  IrAttrs at = {.gather = {.rows = table->type.dims[0]}};
  autodiff_accumulate(g, table, autodiff_emit(g, OP_SCATTER_ADD, args, 2, &at));
}

void grad_scatter_add(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *args[2] = {dy, v->args[1]};
  autodiff_accumulate(g, v->args[0], autodiff_emit(g, OP_GATHER, args, 2, NULL));
}

/* ---- elementwise ops of issue 14, with PyTorch 1.13's conventions ---- */

static IrValue *select3(GradCtx *g, IrValue *cond, IrValue *a, IrValue *b) {
  IrValue *args[3] = {cond, a, b};
  return autodiff_emit(g, OP_SELECT, args, 3, NULL);
}

static IrValue *times(GradCtx *g, IrValue *x, double c) {
  return autodiff_binary(g, OP_MUL, x, scalar(g, x, c));
}

/* sqrt' = 1 / (2 y): infinite at 0, as PyTorch */
void grad_sqrt(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0], autodiff_binary(g, OP_DIV, dy, times(g, v, 2.0)));
}

/* rsqrt' = -y^3 / 2 */
void grad_rsqrt(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *cube = autodiff_binary(g, OP_MUL, v, autodiff_binary(g, OP_MUL, v, v));
  autodiff_accumulate(g, v->args[0], autodiff_binary(g, OP_MUL, dy, times(g, cube, -0.5)));
}

/* abs' = sign(x), so 0 at 0 (and at NaN, where sign is 0) */
void grad_abs(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0],
                      autodiff_binary(g, OP_MUL, dy, autodiff_unary(g, OP_SIGN, v->args[0])));
}

void grad_sin(GradCtx *g, IrValue *v, IrValue *dy) {
  autodiff_accumulate(g, v->args[0],
                      autodiff_binary(g, OP_MUL, dy, autodiff_unary(g, OP_COS, v->args[0])));
}

void grad_cos(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *d = autodiff_unary(g, OP_NEG, autodiff_unary(g, OP_SIN, v->args[0]));
  autodiff_accumulate(g, v->args[0], autodiff_binary(g, OP_MUL, dy, d));
}

/* e^(-x^2 / 2) * c, the Gaussian shape shared by erf' and gelu' */
static IrValue *gauss(GradCtx *g, IrValue *x, double c) {
  IrValue *e = autodiff_unary(g, OP_EXP, times(g, autodiff_binary(g, OP_MUL, x, x), -0.5));
  return times(g, e, c);
}

/* erf' = 2/sqrt(pi) e^(-x^2) */
void grad_erf(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0];
  IrValue *e =
      autodiff_unary(g, OP_EXP, autodiff_unary(g, OP_NEG, autodiff_binary(g, OP_MUL, x, x)));
  autodiff_accumulate(g, x, autodiff_binary(g, OP_MUL, dy, times(g, e, 1.1283791670955126)));
}

/* x > 0 ? dy : slope dy; the slope at 0 and at NaN, as PyTorch */
void grad_leaky_relu(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0];
  IrValue *pos = autodiff_binary(g, OP_GT, x, scalar(g, x, 0.0));
  autodiff_accumulate(g, x, select3(g, pos, dy, times(g, dy, IR_ATTR(v, unary).slope)));
}

/* x <= 0 ? dy alpha e^x : dy, with alpha e^x = y + alpha: alpha at 0, 1 at
 * NaN, as PyTorch */
void grad_elu(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0];
  IrValue *neg = autodiff_binary(g, OP_LE, x, scalar(g, x, 0.0));
  IrValue *slope = autodiff_binary(g, OP_ADD, v, scalar(g, v, IR_ATTR(v, unary).alpha));
  autodiff_accumulate(g, x, select3(g, neg, autodiff_binary(g, OP_MUL, dy, slope), dy));
}

/* gelu' = Phi(x) + x phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 */
void grad_gelu(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0];
  IrValue *erf = autodiff_unary(g, OP_ERF, times(g, x, 0.70710678118654752));
  IrValue *cdf = times(g, autodiff_binary(g, OP_ADD, erf, scalar(g, x, 1.0)), 0.5);
  IrValue *pdf = gauss(g, x, 0.39894228040143268);
  IrValue *d = autodiff_binary(g, OP_ADD, cdf, autodiff_binary(g, OP_MUL, x, pdf));
  autodiff_accumulate(g, x, autodiff_binary(g, OP_MUL, dy, d));
}

/* With u = c (x + k x^3) and t = tanh(u):
 * gelu_tanh' = (1 + t) / 2 + x (1 - t^2) c (1 + 3 k x^2) / 2 */
void grad_gelu_tanh(GradCtx *g, IrValue *v, IrValue *dy) {
  const double c = 0.79788456080286536, k = 0.044715;
  IrValue *x = v->args[0];
  IrValue *x2 = autodiff_binary(g, OP_MUL, x, x);
  IrValue *inner = autodiff_binary(g, OP_ADD, x, times(g, autodiff_binary(g, OP_MUL, x2, x), k));
  IrValue *t = autodiff_unary(g, OP_TANH, times(g, inner, c));
  IrValue *one = scalar(g, x, 1.0);
  IrValue *left = times(g, autodiff_binary(g, OP_ADD, one, t), 0.5);
  IrValue *sech2 = autodiff_binary(g, OP_SUB, one, autodiff_binary(g, OP_MUL, t, t));
  IrValue *du = times(g, autodiff_binary(g, OP_ADD, one, times(g, x2, 3.0 * k)), 0.5 * c);
  IrValue *right = autodiff_binary(g, OP_MUL, x, autodiff_binary(g, OP_MUL, sech2, du));
  autodiff_accumulate(g, x,
                      autodiff_binary(g, OP_MUL, dy, autodiff_binary(g, OP_ADD, left, right)));
}

/* softplus' = sigmoid(x), and 1 above the threshold 20 where softplus is x */
void grad_softplus(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0];
  IrValue *linear = autodiff_binary(g, OP_GT, x, scalar(g, x, 20.0));
  IrValue *d = autodiff_binary(g, OP_MUL, dy, autodiff_unary(g, OP_SIGMOID, x));
  autodiff_accumulate(g, x, select3(g, linear, dy, d));
}

/* silu' = s (1 + x (1 - s)), s = sigmoid(x) */
void grad_silu(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0];
  IrValue *s = autodiff_unary(g, OP_SIGMOID, x);
  IrValue *one = scalar(g, x, 1.0);
  IrValue *inner = autodiff_binary(
      g, OP_ADD, one, autodiff_binary(g, OP_MUL, x, autodiff_binary(g, OP_SUB, one, s)));
  autodiff_accumulate(g, x, autodiff_binary(g, OP_MUL, dy, autodiff_binary(g, OP_MUL, s, inner)));
}

/* dy on [lo, hi], bounds included; 0 outside and at NaN */
void grad_clamp(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0], *zero = scalar(g, dy, 0.0);
  IrValue *above_lo = autodiff_binary(g, OP_GE, x, scalar(g, x, IR_ATTR(v, unary).lo));
  IrValue *below_hi = autodiff_binary(g, OP_LE, x, scalar(g, x, IR_ATTR(v, unary).hi));
  autodiff_accumulate(g, x, select3(g, above_lo, select3(g, below_hi, dy, zero), zero));
}

/* A float-to-float cast passes dy back converted; an integer on either side
 * carries no gradient. */
void grad_cast(GradCtx *g, IrValue *v, IrValue *dy) {
  IrValue *x = v->args[0];
  if (!dtype_is_float(x->type.dtype) || !dtype_is_float(v->type.dtype))
    return;
  IrAttrs at = {.unary = {.to = x->type.dtype}};
  autodiff_accumulate(g, x, autodiff_emit(g, OP_CAST, &dy, 1, &at));
}

/* The winner takes dy; a tie gives each side dy / 2; where either is NaN
 * both get dy (neither comparison holds), as PyTorch. `loses` is the
 * comparison under which the first operand lost. */
static void grad_min_max(GradCtx *g, IrValue *v, IrValue *dy, OpKind a_loses, OpKind b_loses) {
  IrValue *a = v->args[0], *b = v->args[1], *zero = scalar(g, dy, 0.0);
  IrValue *tie = autodiff_binary(g, OP_EQ, a, b);
  IrValue *half = times(g, dy, 0.5);
  IrValue *da = select3(g, tie, half, select3(g, autodiff_binary(g, a_loses, a, b), zero, dy));
  IrValue *db = select3(g, tie, half, select3(g, autodiff_binary(g, b_loses, a, b), zero, dy));
  accumulate_unbroadcast(g, a, da);
  accumulate_unbroadcast(g, b, db);
}

void grad_minimum(GradCtx *g, IrValue *v, IrValue *dy) { grad_min_max(g, v, dy, OP_GT, OP_LT); }

void grad_maximum(GradCtx *g, IrValue *v, IrValue *dy) { grad_min_max(g, v, dy, OP_LT, OP_GT); }
