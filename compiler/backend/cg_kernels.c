/* cg_kernels.c - loop kernels by kind: elementwise, reductions and row
 * kernels, and their functions. */
#include "cg_internal.h"

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

/* ------------------------------------------------------------ row kernels
 * One loop over the rows; per row, each pass combines its operand along
 * the row into a scalar (which later passes and the epilogue read; passes
 * that do not read each other share a walk over the row), then
 * the epilogue stores the out along the row, or once for the row, or
 * combines it into the out over the rows. */

/* Evaluates v at the current row (the row axis at 0: v does not depend on
 * it). */
static LLVMValueRef ev_per_row(KGen *kg, const IrValue *v) {
  View rv;
  cg_row_view(kg, &v->type, &rv);
  kg->nmemo = 0;
  return cg_ev(kg, v, &rv);
}

/* A pass's accumulator. A float max or min combines with maxnum / minnum,
 * which vectorise into one instruction where llvm.maximum does not, and
 * keeps a flag of its own for a NaN seen on the way: the pass's result is
 * NaN then, as torch.amax gives (the order of -0 and +0 aside). */
typedef struct PassAcc {
  LLVMValueRef acc, nan; /* nan: NULL unless a float max or min */
  LLVMTypeRef t;
} PassAcc;

static PassAcc pass_begin(KGen *kg, const RowPass *p) {
  Cg *g = kg->g;
  PassAcc a = {.t = cg_mem_type(g, p->v->type.dtype)};
  a.acc = cg_entry_alloca(g, a.t, "pass");
  LLVMBuildStore(g->b, identity_of(p->combine, a.t), a.acc);
  if (p->combine != COMBINE_ADD && !is_int(a.t)) {
    a.nan = cg_entry_alloca(g, g->i1, "nan");
    LLVMBuildStore(g->b, LLVMConstInt(g->i1, 0, 0), a.nan);
  }
  return a;
}

static void pass_step(KGen *kg, const RowPass *p, const PassAcc *a, LLVMValueRef x) {
  Cg *g = kg->g;
  LLVMValueRef old = LLVMBuildLoad2(g->b, a->t, a->acc, ""), r;
  if (a->nan) {
    LLVMValueRef xs[2] = {old, x};
    const char *f = p->combine == COMBINE_MAX ? "llvm.maxnum" : "llvm.minnum";
    r = cg_call(g, cg_intrinsic(g, f, a->t), xs, 2);
    LLVMValueRef seen = LLVMBuildOr(g->b, LLVMBuildLoad2(g->b, g->i1, a->nan, ""),
                                    cg_fcmp(g, LLVMRealUNO, x, x), "");
    LLVMBuildStore(g->b, seen, a->nan);
  } else {
    r = combine(g, p->combine, old, x);
  }
  LLVMBuildStore(g->b, r, a->acc);
}

static LLVMValueRef pass_end(KGen *kg, const RowPass *p, const PassAcc *a, int gc) {
  Cg *g = kg->g;
  LLVMValueRef r = LLVMBuildLoad2(g->b, a->t, a->acc, "");
  if (a->nan)
    r = cg_sel(g, LLVMBuildLoad2(g->b, g->i1, a->nan, ""), LLVMConstReal(a->t, __builtin_nan("")),
               r);
  if (p->divide)
    r = LLVMBuildFDiv(g->b, r, LLVMBuildSIToFP(g->b, kg->gext[gc], a->t, ""), "");
  return r;
}

/* One walk over the row: every pass of that walk combines its operand
 * into an accumulator of its own, in one loop. */
static void run_walk(KGen *kg, int walk, int gc) {
  Cg *g = kg->g;
  const KernelPlan *p = &kg->k->plan;
  PassAcc *acc = ARENA_ARRAY(g->a, PassAcc, (size_t)p->npasses);
  for (int i = 0; i < p->npasses; i++)
    if (p->passes[i].walk == walk)
      acc[i] = pass_begin(kg, &p->passes[i]);
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), kg->gext[gc]);
  kg->gidx[gc] = l.i;
  View id;
  cg_view_identity(&id, kg->rank);
  kg->nmemo = 0;
  for (int i = 0; i < p->npasses; i++)
    if (p->passes[i].walk == walk)
      pass_step(kg, &p->passes[i], &acc[i], cg_ev(kg, p->passes[i].v->args[0], &id));
  cg_loop_end(g, &l);
  kg->gidx[gc] = cg_ci64(g, 0);
  kg->nmemo = 0;
  for (int i = 0; i < p->npasses; i++)
    if (p->passes[i].walk == walk)
      kg->pass_val[i] = pass_end(kg, &p->passes[i], &acc[i], gc);
}

static void row_body(KGen *kg, void *u) {
  (void)u;
  Cg *g = kg->g;
  const KernelPlan *p = &kg->k->plan;
  int gc = kg->group_of[p->row_axis];
  int walks = 0;
  for (int i = 0; i < p->npasses; i++) {
    kg->pass_val[i] = NULL;
    if (p->passes[i].walk >= walks)
      walks = p->passes[i].walk + 1;
  }
  for (int w = 0; w < walks; w++)
    run_walk(kg, w, gc);
  if (p->combine != COMBINE_NONE) {
    accumulate_out(kg, ev_per_row(kg, kg->k->out->args[0]));
  } else if (p->per_row) {
    cg_store_out(kg, ev_per_row(kg, kg->k->out));
  } else {
    Loop l = cg_loop_begin(g, cg_ci64(g, 0), kg->gext[gc]);
    kg->gidx[gc] = l.i;
    cg_store_out(kg, cg_ev_here(kg, kg->k->out));
    cg_loop_end(g, &l);
  }
  kg->nmemo = 0; /* the passes' values belong to this row */
}

static void emit_row(KGen *kg, LLVMValueRef lo, LLVMValueRef hi) {
  const KernelPlan *p = &kg->k->plan;
  kg->pass_val = ARENA_ARRAY(kg->g->a, LLVMValueRef, (size_t)p->npasses + 1);
  LLVMValueRef from = NULL, to = NULL;
  if (p->combine != COMBINE_NONE) { /* never split (fuse.c) */
    out_slice(kg, NULL, NULL, &from, &to);
    init_out(kg, from, to);
  }
  cg_nest(kg, 0, kg->group_of[p->row_axis], lo, hi, row_body, NULL);
  if (p->divide)
    divide_by_count(kg, from, to);
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
    cg_plan_segments(kg);
    cg_nest(kg, 0, -1, pg >= 0 ? lo : NULL, hi, cg_elementwise_body, NULL);
    kg->nseg_cut = 0;
    return;
  case KK_REDUCE:
    emit_reduce(kg, pg >= 0 ? lo : NULL, hi);
    return;
  case KK_ROW:
    emit_row(kg, pg >= 0 ? lo : NULL, hi);
    return;
  case KK_GEMM:
  case KK_ALIAS:
  case KK_GATHER:
  case KK_CONV:
  case KK_LOOP_BEGIN:
  case KK_LOOP_END:
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
  /* The entry calls a kernel directly when it is too small to share out
   * and hands it to nnrt_parallel_for otherwise; inlined, each kernel's
   * loops would be copied into the entry, which grew to 180,000
   * instructions for resnet_small's training step, and the code generator
   * is slower than linear in a function's size. A call costs nanoseconds
   * against a kernel's loop (docs/benchmarks.md, "Compile time"). */
  cg_add_attr(g, w, LLVMAttributeFunctionIndex, "noinline");
  return w;
}
