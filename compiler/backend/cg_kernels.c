/* cg_kernels.c - loop kernels by kind: elementwise, reductions, softmax,
 * cross-entropy and optimizer updates, and their functions. */
#include "cg_internal.h"

/* ------------------------------------------------------- optimizer steps
 * One pass over a parameter: read it, its gradient and its state, write
 * the new parameter and state back in place. The formulas are PyTorch's
 * (torch.optim, foreach=False); the step's learning rate and Adam's bias
 * corrections arrive in hyper[] (runtime/nnrt_train.h). */

typedef struct UpdateVals {
  LLVMValueRef p, g, s[2]; /* parameter, scaled gradient, state */
  LLVMValueRef lr, h1, h2; /* hyper[0..2] */
} UpdateVals;

static LLVMValueRef fdiv(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFDiv(g->b, x, y, "");
}

static LLVMValueRef fsqrt(Cg *g, LLVMValueRef x) {
  return cg_call1(g, cg_intrinsic(g, "llvm.sqrt", g->f32), x);
}

/* g + weight_decay * p: L2 regularisation folded into the gradient. */
static LLVMValueRef with_l2(Cg *g, const IrOptim *o, const UpdateVals *u) {
  return o->weight_decay > 0 ? cg_fadd(g, u->g, cg_fmul(g, cg_cf(g, o->weight_decay), u->p)) : u->g;
}

/* state = beta * state + (1 - beta) * x */
static LLVMValueRef ema(Cg *g, double beta, LLVMValueRef state, LLVMValueRef x) {
  return cg_fadd(g, cg_fmul(g, cg_cf(g, beta), state), cg_fmul(g, cg_cf(g, 1 - beta), x));
}

static void update_sgd(Cg *g, const IrOptim *o, UpdateVals *u) {
  LLVMValueRef d = with_l2(g, o, u);
  if (o->momentum > 0) {
    u->s[0] = cg_fadd(g, cg_fmul(g, cg_cf(g, o->momentum), u->s[0]), d);
    d = o->nesterov ? cg_fadd(g, d, cg_fmul(g, cg_cf(g, o->momentum), u->s[0])) : u->s[0];
  }
  u->p = cg_fsub(g, u->p, cg_fmul(g, u->lr, d));
}

static void update_adam(Cg *g, const IrOptim *o, UpdateVals *u) {
  LLVMValueRef d = u->g;
  if (o->kind == OPTIM_ADAMW)
    u->p = cg_fmul(g, u->p, cg_fsub(g, cg_cf(g, 1), cg_fmul(g, u->lr, cg_cf(g, o->weight_decay))));
  else
    d = with_l2(g, o, u);
  u->s[0] = ema(g, o->beta1, u->s[0], d);
  u->s[1] = ema(g, o->beta2, u->s[1], cg_fmul(g, d, d));
  LLVMValueRef denom = cg_fadd(g, cg_fmul(g, fsqrt(g, u->s[1]), u->h2), cg_cf(g, o->eps));
  u->p = cg_fsub(g, u->p, cg_fmul(g, u->h1, fdiv(g, u->s[0], denom)));
}

static void update_rmsprop(Cg *g, const IrOptim *o, UpdateVals *u) {
  LLVMValueRef d = with_l2(g, o, u);
  u->s[0] = ema(g, o->alpha, u->s[0], cg_fmul(g, d, d));
  LLVMValueRef step = fdiv(g, d, cg_fadd(g, fsqrt(g, u->s[0]), cg_cf(g, o->eps)));
  if (o->momentum > 0) {
    u->s[1] = cg_fadd(g, cg_fmul(g, cg_cf(g, o->momentum), u->s[1]), step);
    step = u->s[1];
  }
  u->p = cg_fsub(g, u->p, cg_fmul(g, u->lr, step));
}

static void update_body(KGen *kg, void *unused) {
  (void)unused;
  Cg *g = kg->g;
  const IrValue *v = kg->k->out;
  const IrOptim *o = IR_ATTR(v, update).optim;
  View id, scalar;
  cg_view_identity(&id, v->type.rank);
  cg_view_identity(&scalar, 0);
  UpdateVals u = {0};
  u.p = cg_load_access(kg, &kg->out);
  LLVMValueRef scale = cg_load_access(kg, cg_find_access(kg, v->args[UPD_SCALE], &scalar));
  u.g = cg_fmul(g, cg_load_access(kg, cg_find_access(kg, v->args[UPD_GRAD], &id)), scale);
  LLVMValueRef hyper = kg->bufs[cg_slot_of(kg, v->args[UPD_HYPER])];
  LLVMValueRef *h[3] = {&u.lr, &u.h1, &u.h2};
  for (int i = 0; i < 3; i++)
    *h[i] = LLVMBuildLoad2(g->b, g->f32, cg_gep(g, g->f32, hyper, cg_ci64(g, i)), "");
  int nstate = v->nargs - UPD_STATE;
  for (int i = 0; i < nstate; i++)
    u.s[i] = cg_load_access(kg, cg_find_access(kg, v->args[UPD_STATE + i], &id));
  switch (o->kind) {
  case OPTIM_SGD:
    update_sgd(g, o, &u);
    break;
  case OPTIM_ADAM:
  case OPTIM_ADAMW:
    update_adam(g, o, &u);
    break;
  case OPTIM_RMSPROP:
    update_rmsprop(g, o, &u);
    break;
  }
  cg_store_out(kg, u.p);
  for (int i = 0; i < nstate; i++)
    LLVMBuildStore(g->b, u.s[i],
                   cg_access_ptr(kg, cg_find_access(kg, v->args[UPD_STATE + i], &id)));
}

/* ------------------------------------------------------------ reductions
 * A reduction combines the elements of its reduced axes into one with
 * add (sum, mean, mse), maximum or minimum; argmax/argmin carry the best
 * value and its index. When the innermost loop group is reduced, a scalar
 * accumulator runs over it; otherwise the output itself accumulates, which
 * keeps the inner loop over the kept axes vectorised (sums over the batch). */

static bool is_int(LLVMTypeRef t) { return LLVMGetTypeKind(t) == LLVMIntegerTypeKind; }

/* The identity of a combine: 0, or the lowest / highest value. */
static LLVMValueRef identity_of(Combine c, LLVMTypeRef t) {
  if (c == COMBINE_ADD)
    return is_int(t) ? LLVMConstInt(t, 0, 0) : LLVMConstReal(t, 0);
  bool lowest = c == COMBINE_MAX;
  if (is_int(t))
    return LLVMConstInt(t, lowest ? (unsigned long long)INT32_MIN : INT32_MAX, 1);
  return LLVMConstReal(t, lowest ? -__builtin_inf() : __builtin_inf());
}

/* reassoc on accumulators only: lets the vectoriser keep partial sums.
 * llvm.maximum / minimum propagate NaN, as torch.amax does. */
static LLVMValueRef combine(Cg *g, Combine c, LLVMValueRef acc, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  if (c == COMBINE_ADD) {
    if (is_int(t))
      return LLVMBuildAdd(g->b, acc, x, "");
    LLVMValueRef r = cg_fadd(g, acc, x);
    LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc);
    return r;
  }
  if (is_int(t))
    return LLVMBuildSelect(
        g->b, LLVMBuildICmp(g->b, c == COMBINE_MAX ? LLVMIntSGT : LLVMIntSLT, x, acc, ""), x, acc,
        "");
  LLVMValueRef xs[2] = {acc, x};
  return cg_call(g, cg_intrinsic(g, c == COMBINE_MAX ? "llvm.maximum" : "llvm.minimum", t), xs, 2);
}

/* Is x strictly better than the best so far? Strict, so the first of equal
 * values wins; the first NaN beats everything after it (torch.argmax). */
static LLVMValueRef better(Cg *g, Combine c, LLVMValueRef x, LLVMValueRef best) {
  if (is_int(LLVMTypeOf(x)))
    return LLVMBuildICmp(g->b, c == COMBINE_MAX ? LLVMIntSGT : LLVMIntSLT, x, best, "");
  LLVMValueRef beats = cg_fcmp(g, c == COMBINE_MAX ? LLVMRealOGT : LLVMRealOLT, x, best);
  LLVMValueRef nan_first =
      LLVMBuildAnd(g->b, cg_fcmp(g, LLVMRealUNO, x, x), cg_fcmp(g, LLVMRealORD, best, best), "");
  return LLVMBuildOr(g->b, beats, nan_first, "");
}

static Combine kernel_combine(const KGen *kg) { return kg->k->plan.combine; }

static LLVMValueRef reduce_value(KGen *kg) {
  const IrValue *c = kg->k->core;
  if (c->op != OP_MSE)
    return cg_ev_here(kg, c->args[0]);
  LLVMValueRef p = cg_ev_here(kg, c->args[0]);
  View id;
  cg_view_identity(&id, kg->rank);
  LLVMValueRef d = cg_fsub(kg->g, p, cg_ev(kg, c->args[1], &id));
  return cg_fmul(kg->g, d, d);
}

static void accumulate_out(KGen *kg, LLVMValueRef x) {
  Cg *g = kg->g;
  LLVMValueRef p = cg_access_ptr(kg, &kg->out);
  LLVMTypeRef t = cg_mem_type(g, kg->out.v->type.dtype);
  LLVMBuildStore(g->b, combine(g, kernel_combine(kg), LLVMBuildLoad2(g->b, t, p, ""), x), p);
}

static void reduce_body(KGen *kg, void *u) {
  (void)u;
  accumulate_out(kg, reduce_value(kg));
}

/* The innermost group is reduced: a scalar accumulator over it. */
static void reduce_row_body(KGen *kg, void *u) {
  (void)u;
  Cg *g = kg->g;
  int gi = kg->ngroups - 1;
  Combine c = kernel_combine(kg);
  LLVMTypeRef t = cg_mem_type(g, kg->out.v->type.dtype);
  LLVMValueRef acc = cg_entry_alloca(g, t, "acc");
  LLVMBuildStore(g->b, identity_of(c, t), acc);
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), kg->gext[gi]);
  kg->gidx[gi] = l.i;
  LLVMBuildStore(g->b, combine(g, c, LLVMBuildLoad2(g->b, t, acc, ""), reduce_value(kg)), acc);
  cg_loop_end(g, &l);
  kg->gidx[gi] = cg_ci64(g, 0); /* the output does not depend on it */
  accumulate_out(kg, LLVMBuildLoad2(g->b, t, acc, ""));
}

/* argmax / argmin over the innermost group (the shape rule keeps the
 * reduced axes last): the best value and its position in the row. */
static void arg_row_body(KGen *kg, void *u) {
  (void)u;
  Cg *g = kg->g;
  int gi = kg->ngroups - 1;
  Combine c = kernel_combine(kg);
  LLVMTypeRef t = cg_mem_type(g, kg->k->core->args[0]->type.dtype);
  LLVMValueRef best = cg_entry_alloca(g, t, "best"), at = cg_entry_alloca(g, g->i64, "at");
  LLVMBuildStore(g->b, identity_of(c, t), best);
  LLVMBuildStore(g->b, cg_ci64(g, 0), at);
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), kg->gext[gi]);
  kg->gidx[gi] = l.i;
  LLVMValueRef x = reduce_value(kg), b = LLVMBuildLoad2(g->b, t, best, "");
  LLVMValueRef take = better(g, c, x, b);
  LLVMBuildStore(g->b, cg_sel(g, take, x, b), best);
  LLVMBuildStore(g->b, cg_sel(g, take, l.i, LLVMBuildLoad2(g->b, g->i64, at, "")), at);
  cg_loop_end(g, &l);
  kg->gidx[gi] = cg_ci64(g, 0);
  LLVMValueRef index = LLVMBuildTrunc(g->b, LLVMBuildLoad2(g->b, g->i64, at, ""), g->i32, "");
  LLVMBuildStore(g->b, index, cg_access_ptr(kg, &kg->out));
}

/* [lo, hi) of the output elements this call of the kernel owns; all of
 * them when the kernel is not split (lo NULL): a reduction whose reduced
 * axes have extent 1 keeps a single, unreduced loop group, which
 * parallel_group does not split. */
static void out_slice(KGen *kg, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef *from,
                      LLVMValueRef *to) {
  Cg *g = kg->g;
  if (lo && kg->ngroups > 0 && !kg->reduced[kg->gfirst[0]] && kg->out.gs[0]) {
    *from = LLVMBuildNSWMul(g->b, lo, kg->out.gs[0], "");
    *to = LLVMBuildNSWMul(g->b, hi, kg->out.gs[0], "");
  } else {
    *from = cg_ci64(g, 0);
    *to = cg_dim_value(g, cg_numel_of(g, &kg->out.v->type));
  }
}

/* out[from, to) = the combine's identity (an arg-reduction's index 0: what
 * it stays when the reduced axes have extent 1 and no loop runs over them). */
static void init_out(KGen *kg, LLVMValueRef from, LLVMValueRef to) {
  Cg *g = kg->g;
  LLVMTypeRef t = cg_mem_type(g, kg->out.v->type.dtype);
  LLVMValueRef init = kg->k->plan.arg ? LLVMConstInt(t, 0, 0) : identity_of(kernel_combine(kg), t);
  if (LLVMIsNull(init)) {
    LLVMValueRef base = cg_gep(g, t, kg->bufs[0], from);
    LLVMValueRef bytes = LLVMBuildNSWMul(g->b, LLVMBuildNSWSub(g->b, to, from, ""),
                                         cg_ci64(g, dtype_size(kg->out.v->type.dtype)), "");
    LLVMBuildMemSet(g->b, base, LLVMConstInt(g->i8, 0, 0), bytes, 8);
    return;
  }
  Loop l = cg_loop_begin(g, from, to);
  LLVMBuildStore(g->b, init, cg_gep(g, t, kg->bufs[0], l.i));
  cg_loop_end(g, &l);
}

/* mean and mse divide the sum by the number of elements reduced. */
static void divide_by_count(KGen *kg, LLVMValueRef from, LLVMValueRef to) {
  Cg *g = kg->g;
  LLVMTypeRef t = cg_mem_type(g, kg->out.v->type.dtype);
  Dim count = dim_const(1);
  for (int a = 0; a < kg->rank; a++)
    if (kg->reduced[a])
      count = cg_dmul(g, count, kg->dom->dims[a]);
  LLVMValueRef n = LLVMBuildSIToFP(g->b, cg_dim_value(g, count), t, "");
  Loop l = cg_loop_begin(g, from, to);
  LLVMValueRef p = cg_gep(g, t, kg->bufs[0], l.i);
  LLVMBuildStore(g->b, LLVMBuildFDiv(g->b, LLVMBuildLoad2(g->b, t, p, ""), n, ""), p);
  cg_loop_end(g, &l);
}

static void emit_reduce(KGen *kg, LLVMValueRef lo, LLVMValueRef hi) {
  LLVMValueRef from, to;
  out_slice(kg, lo, hi, &from, &to);
  init_out(kg, from, to);
  const KernelPlan *plan = &kg->k->plan;
  bool row = kg->ngroups > 0 && kg->reduced[kg->gfirst[kg->ngroups - 1]];
  if (plan->arg && !row)
    return; /* nothing reduced: every index is 0 */
  NestBody body = plan->arg ? arg_row_body : row ? reduce_row_body : reduce_body;
  cg_nest(kg, 0, row ? kg->ngroups - 1 : -1, kg->ngroups > (row ? 1 : 0) ? lo : NULL, hi, body,
          NULL);
  if (plan->divide)
    divide_by_count(kg, from, to);
}

/* Softmax statistics of the current row: max and sum of exp(x - max). */
typedef struct RowStats {
  LLVMValueRef max, sum;
} RowStats;

static RowStats row_stats(KGen *kg, int gc) {
  Cg *g = kg->g;
  const IrValue *x = kg->k->core->args[0];
  LLVMTypeRef t = cg_mem_type(g, x->type.dtype);
  LLVMValueRef m = cg_entry_alloca(g, t, "max"), s = cg_entry_alloca(g, t, "sum");
  LLVMBuildStore(g->b, LLVMConstReal(t, -__builtin_inf()), m);
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), kg->gext[gc]);
  kg->gidx[gc] = l.i;
  LLVMValueRef mx[2] = {LLVMBuildLoad2(g->b, t, m, ""), cg_ev_here(kg, x)};
  LLVMBuildStore(g->b, cg_call(g, cg_intrinsic(g, "llvm.maxnum", t), mx, 2), m);
  cg_loop_end(g, &l);
  RowStats st = {LLVMBuildLoad2(g->b, t, m, ""), NULL};
  LLVMBuildStore(g->b, LLVMConstReal(t, 0), s);
  l = cg_loop_begin(g, cg_ci64(g, 0), kg->gext[gc]);
  kg->gidx[gc] = l.i;
  LLVMValueRef e = cg_exp(g, x->type.dtype, cg_fsub(g, cg_ev_here(kg, x), st.max));
  LLVMBuildStore(g->b, combine(g, COMBINE_ADD, LLVMBuildLoad2(g->b, t, s, ""), e), s);
  cg_loop_end(g, &l);
  st.sum = LLVMBuildLoad2(g->b, t, s, "");
  return st;
}

static void rowwise_body(KGen *kg, void *u) {
  (void)u;
  Cg *g = kg->g;
  const IrValue *core = kg->k->core;
  int gc = kg->group_of[IR_ATTR(core, rowwise).axis];
  RowStats st = row_stats(kg, gc);
  DType dt = core->type.dtype;
  LLVMValueRef logsum = core->op == OP_LOG_SOFTMAX ? cg_log(g, dt, st.sum) : NULL;
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), kg->gext[gc]);
  kg->gidx[gc] = l.i;
  LLVMValueRef d = cg_fsub(g, cg_ev_here(kg, core->args[0]), st.max);
  if (core->op == OP_LOG_SOFTMAX)
    kg->core_val = cg_fsub(g, d, logsum);
  else
    kg->core_val = LLVMBuildFDiv(g->b, cg_exp(g, dt, d), st.sum, "");
  View id;
  cg_view_identity(&id, kg->rank);
  cg_store_out(kg, cg_ev(kg, kg->k->out, &id));
  kg->core_val = NULL;
  cg_loop_end(g, &l);
}

typedef struct XentState {
  LLVMValueRef acc;
  LLVMTypeRef t;
} XentState;

static void xent_body(KGen *kg, void *u) {
  XentState *xs = u;
  Cg *g = kg->g;
  const IrValue *core = kg->k->core;
  int gc = kg->ngroups - 1;
  RowStats st = row_stats(kg, gc);
  DType dt = core->type.dtype;
  LLVMValueRef lse = cg_fadd(g, st.max, cg_log(g, dt, st.sum));
  kg->gidx[gc] = cg_ci64(g, 0);
  View lv;
  cg_view_identity(&lv, kg->rank - 1);
  LLVMValueRef label = cg_load_access(kg, cg_find_access(kg, core->args[1], &lv));
  kg->gidx[gc] = LLVMBuildSExt(g->b, label, g->i64, "");
  LLVMValueRef picked = cg_ev_here(kg, core->args[0]);
  LLVMValueRef loss = cg_fsub(g, lse, picked);
  LLVMBuildStore(g->b, combine(g, COMBINE_ADD, LLVMBuildLoad2(g->b, xs->t, xs->acc, ""), loss),
                 xs->acc);
}

static void emit_xent(KGen *kg) {
  Cg *g = kg->g;
  XentState xs = {.t = cg_mem_type(g, kg->k->core->type.dtype)};
  xs.acc = cg_entry_alloca(g, xs.t, "loss");
  LLVMBuildStore(g->b, LLVMConstReal(xs.t, 0), xs.acc);
  cg_nest(kg, 0, kg->ngroups - 1, NULL, NULL, xent_body, &xs);
  Dim rows = cg_numel_of(g, &kg->k->core->args[1]->type);
  LLVMValueRef n = LLVMBuildSIToFP(g->b, cg_dim_value(g, rows), xs.t, "");
  LLVMValueRef mean = LLVMBuildFDiv(g->b, LLVMBuildLoad2(g->b, xs.t, xs.acc, ""), n, "");
  LLVMBuildStore(g->b, mean, kg->bufs[0]);
}

/* The loop group split across threads (the plan's split axis), or -1. */
int cg_parallel_group(const KGen *kg) {
  int a = kg->k->plan.split_axis;
  return a >= 0 ? kg->group_of[a] : -1;
}

static void emit_loops(KGen *kg, LLVMValueRef lo, LLVMValueRef hi) {
  int pg = cg_parallel_group(kg);
  switch (kg->k->kind) {
  case KK_ELEMWISE:
  case KK_COPY:
    cg_nest(kg, 0, -1, pg >= 0 ? lo : NULL, hi, cg_elementwise_body, NULL);
    return;
  case KK_REDUCE:
    emit_reduce(kg, pg >= 0 ? lo : NULL, hi);
    return;
  case KK_ROWWISE: {
    int gc = kg->group_of[IR_ATTR(kg->k->core, rowwise).axis];
    cg_nest(kg, 0, gc, pg >= 0 ? lo : NULL, hi, rowwise_body, NULL);
    return;
  }
  case KK_XENT:
    emit_xent(kg);
    return;
  case KK_UPDATE:
    cg_nest(kg, 0, -1, pg >= 0 ? lo : NULL, hi, update_body, NULL);
    return;
  case KK_GEMM:
  case KK_ALIAS:
  case KK_GATHER:
    break;
  }
  NNC_BUG("emit_loops: not a loop kernel");
}

/* Builds <entry>.k<N>.body(bufs..., dims, lo, hi) and its wrapper
 * <entry>.k<N>(ctx, lo, hi); returns the wrapper. */
LLVMValueRef cg_emit_kernel_fn(KGen *kg) {
  Cg *g = kg->g;
  int n = kg->nslots;
  LLVMTypeRef *ps = ARENA_ARRAY(g->a, LLVMTypeRef, (size_t)n + 3);
  for (int i = 0; i < n; i++)
    ps[i] = g->ptr;
  ps[n] = g->ptr;
  ps[n + 1] = ps[n + 2] = g->i64;
  const char *bname = arena_printf(g->a, "%s.k%d.body", g->entry, kg->k->index);
  LLVMValueRef body =
      cg_begin_function(g, bname, LLVMFunctionType(g->vd, ps, (unsigned)n + 3, 0), true);
  cg_add_attr(g, body, LLVMAttributeFunctionIndex, "alwaysinline");
  kg->bufs = ARENA_ARRAY(g->a, LLVMValueRef, (size_t)n + 1);
  for (int i = 0; i < n; i++) {
    kg->bufs[i] = LLVMGetParam(body, (unsigned)i);
    cg_add_attr(g, body, (unsigned)i + 1, "noalias");
    cg_add_attr(g, body, (unsigned)i + 1, "nocapture");
  }
  cg_load_dims(g, LLVMGetParam(body, (unsigned)n));
  if (kg->rng_slot >= 0) {
    LLVMValueRef r = kg->bufs[kg->rng_slot];
    kg->rng_seed = LLVMBuildLoad2(g->b, g->i64, r, "seed");
    kg->rng_step = LLVMBuildLoad2(g->b, g->i64, cg_gep(g, g->i64, r, cg_ci64(g, 1)), "step");
  }
  for (int gi = 0; gi < kg->ngroups; gi++)
    kg->gext[gi] = cg_dim_value(g, kg->gext_dim[gi]);
  for (int i = -1; i < kg->nacc; i++) {
    Access *ac = i < 0 ? &kg->out : &kg->acc[i];
    for (int gi = 0; gi < kg->ngroups; gi++) {
      /* generators: strides of their own shape, for the linear index */
      int a = kg->glast[gi];
      ac->gs[gi] = ac->zero[a] ? NULL : cg_dim_value(g, ac->s[a]);
    }
  }
  emit_loops(kg, LLVMGetParam(body, (unsigned)n + 1), LLVMGetParam(body, (unsigned)n + 2));
  LLVMBuildRetVoid(g->b);

  const char *wname = arena_printf(g->a, "%s.k%d", g->entry, kg->k->index);
  LLVMValueRef w = cg_begin_function(g, wname, g->kfn_ty, true);
  LLVMValueRef ctx = LLVMGetParam(w, 0);
  LLVMValueRef *args = ARENA_ARRAY(g->a, LLVMValueRef, (size_t)n + 3);
  for (int i = 0; i < n; i++) /* ctx[1 + i] is slot i */
    args[i] = cg_load_ptr_at(g, ctx, i + 1);
  args[n] = cg_load_ptr_at(g, ctx, 0); /* the dims */
  args[n + 1] = LLVMGetParam(w, 1);
  args[n + 2] = LLVMGetParam(w, 2);
  cg_call(g, body, args, (unsigned)n + 3);
  LLVMBuildRetVoid(g->b);
  return w;
}
