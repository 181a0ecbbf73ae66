/* cg_entry.c - the entry function: buffers, label checks, the state-write guard,
 * kernel calls (threaded above a size), and the whole module. */
#include "cg_internal.h"

/* ----------------------------------------------------------- entry code */

static LLVMValueRef storage_ptr(Cg *g, Entry *e, Storage s) {
  switch (s.kind) {
  case ST_STACK:
    return cg_stack_row_ptr(g, e, g->ff->by_id[s.index]);
  case ST_INPUT:
    return cg_load_ptr_at(g, e->inputs, s.index);
  case ST_PARAM:
    return cg_load_ptr_at(g, e->params, s.index);
  case ST_OUTPUT:
    return cg_load_ptr_at(g, e->outputs, s.index);
  case ST_WS: {
    LLVMValueRef off =
        LLVMBuildLoad2(g->b, g->i64, cg_gep(g, g->i64, e->ws_off, cg_ci64(g, s.index)), "");
    return cg_gep(g, g->i8, e->ws, off);
  }
  case ST_NONE:
    break;
  }
  NNC_BUG("value without storage in codegen");
}

LLVMValueRef cg_value_ptr(Cg *g, Entry *e, const IrValue *v) {
  return storage_ptr(g, e, g->mp->storage[v->id]);
}

LLVMValueRef cg_scratch_ptr(Cg *g, Entry *e, const Kernel *k) {
  int buf = g->mp->scratch_of[k->index];
  return buf < 0 ? LLVMConstNull(g->ptr) : storage_ptr(g, e, (Storage){ST_WS, buf});
}

/* Indices must lie in [0, depth) before any kernel reads them. */
static void check_labels(Cg *g, Entry *e, const IrValue *labels, Dim depth) {
  LLVMValueRef p = cg_value_ptr(g, e, labels);
  LLVMValueRef d = cg_dim_value(g, depth);
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), cg_dim_value(g, cg_numel_of(g, &labels->type)));
  LLVMValueRef x = LLVMBuildLoad2(g->b, g->i32, cg_gep(g, g->i32, p, l.i), "");
  LLVMValueRef x64 = LLVMBuildSExt(g->b, x, g->i64, "");
  LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(g->c, g->fn, "bad_label");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(g->c, g->fn, "label_ok");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntUGE, x64, d, ""), bad, ok);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMValueRef st[4] = {cg_ci64(g, labels->id), l.i, x64, d};
  int slots[4] = {CG_STATUS_VALUE, CG_STATUS_POS, CG_STATUS_LABEL, CG_STATUS_DEPTH};
  for (int i = 0; i < 4; i++)
    LLVMBuildStore(g->b, st[i], cg_gep(g, g->i64, e->ws, cg_ci64(g, slots[i])));
  LLVMBuildRet(g->b, cg_ci32(g, CG_ERR_LABEL));
  LLVMPositionBuilderAtEnd(g->b, ok);
  cg_loop_end(g, &l);
}

/* How many elements of axis `axis` a view op reads (a slice) or places (a
 * pad) from its run-time position on: 1 for a single position. */
static Dim view_range_length(const IrValue *v, int axis) {
  if (v->op == OP_PAD)
    return v->args[0]->type.dims[axis];
  const IrViewAttrs *va = IR_ATTR(v, view);
  if (va->drop[axis])
    return dim_const(1);
  int r = 0;
  for (int i = 0; i < axis; i++)
    r += !va->drop[i];
  return v->type.dims[r];
}

/* A run-time position p of a view (an index given as an argument, or a
 * constant start on an axis of symbolic extent n) must lie in [-n, n), and
 * the len elements from it (p wrapped), step apart, in [0, n), before any
 * kernel reads through it. */
static void check_position(Cg *g, Entry *e, const IrValue *v, int axis) {
  const IrViewAttrs *va = IR_ATTR(v, view);
  LLVMValueRef p = cg_ci64(g, va->start[axis]);
  if (va->dyn[axis] > 0) {
    LLVMValueRef t = LLVMBuildLoad2(g->b, g->i32, cg_value_ptr(g, e, v->args[va->dyn[axis]]), "");
    p = LLVMBuildNSWAdd(g->b, p, LLVMBuildSExt(g->b, t, g->i64, ""), "");
  }
  LLVMValueRef n =
      cg_dim_value(g, v->op == OP_SLICE ? v->args[0]->type.dims[axis] : va->size[axis]);
  LLVMValueRef len = cg_dim_value(g, view_range_length(v, axis));
  LLVMValueRef shifted = LLVMBuildNSWAdd(g->b, p, n, ""); /* in [0, 2n) when p is in [-n, n) */
  LLVMValueRef twice = LLVMBuildNSWAdd(g->b, n, n, "");
  LLVMValueRef bad_p = LLVMBuildICmp(g->b, LLVMIntUGE, shifted, twice, "");
  LLVMValueRef neg = LLVMBuildICmp(g->b, LLVMIntSLT, p, cg_ci64(g, 0), "");
  LLVMValueRef first = cg_sel(g, neg, shifted, p);
  /* the last element, first + (len - 1) * step, past the axis, or len < 1 */
  LLVMValueRef span = LLVMBuildNSWMul(g->b, LLVMBuildNSWSub(g->b, len, cg_ci64(g, 1), ""),
                                      cg_ci64(g, va->step[axis]), "");
  LLVMValueRef past =
      LLVMBuildICmp(g->b, LLVMIntSGE, LLVMBuildNSWAdd(g->b, first, span, ""), n, "");
  LLVMValueRef empty = LLVMBuildICmp(g->b, LLVMIntSLT, len, cg_ci64(g, 1), "");
  LLVMValueRef bad_cond = LLVMBuildOr(g->b, bad_p, LLVMBuildOr(g->b, past, empty, ""), "");
  LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(g->c, g->fn, "bad_index");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(g->c, g->fn, "index_ok");
  LLVMBuildCondBr(g->b, bad_cond, bad, ok);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMValueRef st[5] = {cg_ci64(g, v->id), cg_ci64(g, axis), p, n, len};
  int slots[5] = {CG_STATUS_VALUE, CG_STATUS_POS, CG_STATUS_LABEL, CG_STATUS_DEPTH,
                  CG_STATUS_LENGTH};
  for (int i = 0; i < 5; i++)
    LLVMBuildStore(g->b, st[i], cg_gep(g, g->i64, e->ws, cg_ci64(g, slots[i])));
  LLVMBuildRet(g->b, cg_ci32(g, CG_ERR_INDEX));
  LLVMPositionBuilderAtEnd(g->b, ok);
}

static void position_checks(Cg *g, Entry *e, const IrValue *v) {
  for (int i = 0; i < v->args[0]->type.rank; i++)
    if (ir_view_runtime_axis(v, i))
      check_position(g, e, v, i);
}

/* The index operands (ops.def's OP_INDEX rows) of the kernel's members;
 * a copy's member is computed elsewhere. */
static void label_checks(Cg *g, Entry *e, const Kernel *k) {
  if (k->kind == KK_COPY)
    return;
  for (int i = 0; i < k->nvals; i++) {
    const IrValue *v = k->vals[i];
    for (int j = 0; j < v->nargs; j++) {
      Dim bound;
      if (ir_index_bound(v, j, &bound))
        check_labels(g, e, v->args[j], bound);
    }
    if (ir_view_has_runtime(v))
      position_checks(g, e, v);
  }
}

/* A training step's guard is NaN when its loss or gradient norm is not
 * finite (train_step.c): then it returns CG_ERR_NONFINITE before the first
 * state write, with CG_STATUS_VALUE saying which (0 the loss, 1 the
 * gradient), so that no parameter, optimizer state or `state <-` state is
 * written. */
static void guard_writes(Cg *g, Entry *e) {
  const IrValue *guard = g->f->guard;
  if (!guard)
    return;
  if (g->mp->storage[guard->id].kind == ST_NONE)
    NNC_BUG("the guard %%%d has no buffer", guard->id);
  LLVMValueRef s = LLVMBuildLoad2(g->b, g->f32, cg_value_ptr(g, e, guard), "guard");
  LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(g->c, g->fn, "nonfinite");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(g->c, g->fn, "finite");
  LLVMBuildCondBr(g->b, LLVMBuildFCmp(g->b, LLVMRealUNO, s, s, ""), bad, ok);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMValueRef which = cg_ci64(g, 1);
  const IrValue *loss = g->f->nresults > 0 ? g->f->results[0] : NULL;
  if (loss && loss->type.rank == 0 && loss->type.dtype == DT_F32 &&
      g->mp->storage[loss->id].kind != ST_NONE) {
    LLVMValueRef l = LLVMBuildLoad2(g->b, g->f32, cg_value_ptr(g, e, loss), "loss");
    LLVMValueRef d = LLVMBuildFSub(g->b, l, l, ""); /* NaN unless l is finite */
    which = cg_sel(g, LLVMBuildFCmp(g->b, LLVMRealUNO, d, d, ""), cg_ci64(g, 0), cg_ci64(g, 1));
  }
  LLVMBuildStore(g->b, which, cg_gep(g, g->i64, e->ws, cg_ci64(g, CG_STATUS_VALUE)));
  LLVMBuildRet(g->b, cg_ci32(g, CG_ERR_NONFINITE));
  LLVMPositionBuilderAtEnd(g->b, ok);
}

static void call_loop_kernel(Cg *g, Entry *e, const Kernel *k, KGen *kg, LLVMValueRef kfn) {
  int n = kg->nslots;
  LLVMValueRef ctx = cg_entry_alloca(g, LLVMArrayType(g->ptr, (unsigned)n + 1), "ctx");
  LLVMBuildStore(g->b, e->dims, cg_gep(g, g->ptr, ctx, cg_ci64(g, 0)));
  for (int i = 0; i < n; i++) {
    LLVMValueRef p;
    if (i == kg->rng_slot)
      p = e->rng;
    else if (i == 0)
      p = k->kind == KK_COPY ? storage_ptr(g, e, (Storage){ST_OUTPUT, k->result})
                             : cg_value_ptr(g, e, k->out);
    else
      p = cg_value_ptr(g, e, kg->slots[i]);
    LLVMBuildStore(g->b, p, cg_gep(g, g->ptr, ctx, cg_ci64(g, i + 1)));
  }
  int pg = cg_parallel_group(kg);
  LLVMValueRef args[4] = {ctx, cg_ci64(g, 0), pg >= 0 ? kg->gext[pg] : cg_ci64(g, 1), NULL};
  if (pg < 0) {
    cg_call(g, kfn, args, 3);
    return;
  }
  /* Threads only for kernels with enough elements; grain from the count. */
  LLVMValueRef total = cg_dim_value(g, cg_numel_of(g, kg->dom));
  LLVMValueRef big = LLVMBuildICmp(g->b, LLVMIntSGE, total, cg_ci64(g, CG_PARALLEL_MIN), "");
  LLVMBasicBlockRef par = LLVMAppendBasicBlockInContext(g->c, g->fn, "par");
  LLVMBasicBlockRef ser = LLVMAppendBasicBlockInContext(g->c, g->fn, "serial");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->c, g->fn, "next");
  LLVMBuildCondBr(g->b, big, par, ser);
  LLVMPositionBuilderAtEnd(g->b, ser);
  cg_call(g, kfn, args, 3);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, par);
  LLVMValueRef per = LLVMBuildSDiv(g->b, total, args[2], ""); /* elements per unit */
  LLVMValueRef grain = LLVMBuildSDiv(g->b, cg_ci64(g, CG_GRAIN_ELEMS), per, "");
  grain =
      cg_sel(g, LLVMBuildICmp(g->b, LLVMIntSLT, grain, cg_ci64(g, 1), ""), cg_ci64(g, 1), grain);
  LLVMTypeRef pt[4] = {g->ptr, g->ptr, g->i64, g->i64};
  LLVMValueRef pf = cg_runtime_fn(g, "nnrt_parallel_for", g->vd, pt, 4);
  LLVMValueRef pargs[4] = {kfn, ctx, args[2], grain};
  cg_call(g, pf, pargs, 4);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
}

/* ------------------------------------------------------- the whole module */

static void emit_entry(Cg *g, Entry *e) {
  LLVMTypeRef ps[7] = {g->ptr, g->ptr, g->ptr, g->ptr, g->ptr, g->ptr, g->ptr};
  e->fn = cg_begin_function(g, g->entry, LLVMFunctionType(g->i32, ps, 7, 0), false);
  LLVMValueRef *p[7] = {&e->dims, &e->inputs, &e->params, &e->outputs, &e->ws, &e->ws_off, &e->rng};
  for (int i = 0; i < 7; i++) {
    *p[i] = LLVMGetParam(e->fn, (unsigned)i);
    if (i != 4)
      cg_add_attr(g, e->fn, (unsigned)i + 1, "readonly");
  }
  cg_load_dims(g, e->dims);
  const FusedFunc *ff = g->ff;
  bool guarded = false;
  for (int i = 0; i < ff->nkernels && !g->failed; i++) {
    const Kernel *k = ff->kernels[i];
    label_checks(g, e, k);
    if (k->out->op == OP_ASSIGN && !guarded) {
      guard_writes(g, e);
      guarded = true;
    }
    switch (k->kind) {
    case KK_GEMM:
      cg_emit_gemm(g, e, k);
      break;
    case KK_GATHER:
      cg_emit_gather(g, e, k);
      break;
    case KK_CONV:
      cg_emit_conv(g, e, k);
      break;
    case KK_ALIAS:
      break;
    case KK_LOOP_BEGIN:
      cg_emit_loop_begin(g, e, k);
      break;
    case KK_LOOP_END:
      cg_emit_loop_end(g, e, k);
      break;
    case KK_ELEMWISE:
    case KK_REDUCE:
    case KK_ROW:
    case KK_COPY: {
      KGen *kg = e->kgens[i];
      for (int gi = 0; gi < kg->ngroups; gi++) /* extents, now in the entry */
        kg->gext[gi] = cg_dim_value(g, kg->gext_dim[gi]);
      call_loop_kernel(g, e, k, kg, e->kfns[i]);
      break;
    }
    }
  }
  LLVMBuildRet(g->b, cg_ci32(g, 0));
}

static void init_types(Cg *g) {
  g->i1 = LLVMInt1TypeInContext(g->c);
  g->i8 = LLVMInt8TypeInContext(g->c);
  g->i32 = LLVMInt32TypeInContext(g->c);
  g->i64 = LLVMInt64TypeInContext(g->c);
  g->f32 = LLVMFloatTypeInContext(g->c);
  g->f64 = LLVMDoubleTypeInContext(g->c);
  g->ptr = LLVMPointerTypeInContext(g->c, 0);
  g->vd = LLVMVoidTypeInContext(g->c);
  LLVMTypeRef kp[3] = {g->ptr, g->i64, g->i64};
  g->kfn_ty = LLVMFunctionType(g->vd, kp, 3, 0);
}

LLVMModuleRef codegen_module(LLVMContextRef ctx, LLVMTargetMachineRef tm, const IrModule *m,
                             const FusedFunc *ff, const MemPlan *p, const char *entry, char *err,
                             size_t errlen) {
  Arena a;
  arena_init(&a);
  Cg g = {.c = ctx,
          .a = &a,
          .m = m,
          .f = ff->f,
          .ff = ff,
          .mp = p,
          .entry = entry,
          .err = err,
          .errlen = errlen};
  init_types(&g);
  g.mod = LLVMModuleCreateWithNameInContext(entry, ctx);
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(g.mod, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
  char *dls = LLVMCopyStringRepOfTargetData(dl);
  LLVMSetDataLayout(g.mod, dls);
  LLVMDisposeMessage(dls);
  LLVMDisposeTargetData(dl);
  g.b = LLVMCreateBuilderInContext(ctx);
  Entry e = {0};
  e.kfns = ARENA_ARRAY(&a, LLVMValueRef, (size_t)ff->nkernels + 1);
  e.kgens = ARENA_ARRAY(&a, KGen *, (size_t)ff->nkernels + 1);
  for (int i = 0; i < ff->nkernels && !g.failed; i++) {
    const Kernel *k = ff->kernels[i];
    if (fuse_is_call(k))
      continue;
    KGen *kg = ARENA_NEW(&a, KGen);
    kg->g = &g;
    kg->k = k;
    kg->dom = k->plan.domain;
    kg->rank = kg->dom->rank;
    kg->slots = ARENA_ARRAY(&a, const IrValue *, (size_t)ff->nids + 3);
    kg->slots[0] = k->out;
    kg->nslots = 1;
    cg_plan_kernel(kg);
    e.kgens[i] = kg;
    e.kfns[i] = cg_emit_kernel_fn(kg);
  }
  if (!g.failed)
    emit_entry(&g, &e);
  LLVMDisposeBuilder(g.b);
  arena_free(&a);
  if (g.failed) {
    LLVMDisposeModule(g.mod);
    return NULL;
  }
  return g.mod;
}
