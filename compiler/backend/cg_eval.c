/* cg_eval.c - evaluating a kernel's values at an index, and loop nests. */
#include "cg_internal.h"

/* -------------------------------------------------------- kernel emission */

static LLVMValueRef group_offset(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  LLVMValueRef off = NULL;
  for (int gi = 0; gi < kg->ngroups; gi++) {
    if (!ac->gs[gi])
      continue;
    LLVMValueRef t = LLVMIsConstant(ac->gs[gi]) && LLVMConstIntGetSExtValue(ac->gs[gi]) == 1
                         ? kg->gidx[gi]
                         : LLVMBuildNSWMul(g->b, kg->gidx[gi], ac->gs[gi], "");
    off = off ? LLVMBuildNSWAdd(g->b, off, t, "") : t;
  }
  return off ? off : cg_ci64(g, 0);
}

/* The raw index along domain axis a (its group holds it alone: a barrier). */
static LLVMValueRef axis_index(KGen *kg, int a) {
  if (a < 0 || kg->group_of[a] < 0)
    return cg_ci64(kg->g, 0);
  return kg->gidx[kg->group_of[a]];
}

/* The run-time position of an axis: wrapped when negative (the entry code
 * checked it lies inside the axis). */
static LLVMValueRef position(KGen *kg, const ViewAxis *x) {
  Cg *g = kg->g;
  LLVMValueRef p = cg_ci64(g, x->pos_const);
  if (x->pos_val) {
    View scalar;
    cg_view_empty(&scalar);
    LLVMValueRef t = LLVMBuildSExt(g->b, cg_ev(kg, x->pos_val, &scalar), g->i64, "");
    p = LLVMBuildNSWAdd(g->b, p, t, "");
  }
  LLVMValueRef neg = LLVMBuildICmp(g->b, LLVMIntSLT, p, cg_ci64(g, 0), "");
  return cg_sel(g, neg, LLVMBuildNSWAdd(g->b, p, cg_dim_value(g, x->pos_n), ""), p);
}

/* The constant and run-time part of an axis's numerator, or NULL for 0. */
static LLVMValueRef axis_base(KGen *kg, const ViewAxis *x) {
  Cg *g = kg->g;
  LLVMValueRef b = x->off ? cg_ci64(g, x->off) : NULL;
  if (x->has_pos) {
    LLVMValueRef p = LLVMBuildNSWMul(g->b, position(kg, x), cg_ci64(g, x->pos_coef), "");
    b = b ? LLVMBuildNSWAdd(g->b, b, p, "") : p;
  }
  return b;
}

/* sum_a coef[a] * d_a + off + pos_coef * p, from the raw domain indices. */
static LLVMValueRef axis_numerator(KGen *kg, const ViewAxis *x) {
  Cg *g = kg->g;
  LLVMValueRef n = axis_base(kg, x);
  for (int a = 0; a < R; a++) {
    if (!x->coef[a])
      continue;
    LLVMValueRef t = axis_index(kg, a);
    if (x->coef[a] != 1)
      t = LLVMBuildNSWMul(g->b, t, cg_ci64(g, x->coef[a]), "");
    n = n ? LLVMBuildNSWAdd(g->b, n, t, "") : t;
  }
  return n ? n : cg_ci64(g, 0);
}

/* ------------------------------------------------------------- segments
 *
 * A pad or concat along an axis chooses, per element, between its operand
 * and the fill (or among its operands), and every operand is evaluated at
 * every element with a select at the end. The adjoint of a layer whose
 * gates are slices of one [B, 4H] product is a sum of four pads, so its
 * kernel did four times the arithmetic with clamped loads. When the
 * choice follows the innermost loop's index alone, that loop is split at
 * the indices where it changes; within a piece each choice is a constant,
 * and the operands not chosen are dead code. */

/* Whether x's index is the segmented axis's index plus a constant: then
 * *off is the constant. */
static bool seg_affine(const KGen *kg, const ViewAxis *x, int64_t *off) {
  if (x->has_pos || x->div != 1 || x->coef[kg->seg_axis] != 1)
    return false;
  for (int a = 0; a < R; a++)
    if (a != kg->seg_axis && x->coef[a])
      return false;
  *off = x->off;
  return true;
}

/* Within the piece being emitted: 1 if x lands inside [0, extent) at
 * every index, 0 if at none, -1 if that is not known. */
static int seg_known(const KGen *kg, const ViewAxis *x, Dim extent) {
  int64_t off;
  if (!kg->seg_on || !dim_is_const(extent) || !seg_affine(kg, x, &off))
    return -1;
  int64_t first = kg->seg_lo + off, last = kg->seg_hi - 1 + off, n = extent.constant;
  if (first >= 0 && last < n)
    return 1;
  if (last < 0 || first >= n)
    return 0;
  return -1;
}

static bool seg_add_cut(KGen *kg, int64_t c) {
  int64_t n = kg->seg_cut[kg->nseg_cut - 1];
  if (c <= 0 || c >= n)
    return true;
  for (int i = 0; i < kg->nseg_cut; i++)
    if (kg->seg_cut[i] == c)
      return true;
  if (kg->nseg_cut == CG_MAX_SEG_CUTS)
    return false;
  int i = kg->nseg_cut++;
  for (; i > 0 && kg->seg_cut[i - 1] > c; i--)
    kg->seg_cut[i] = kg->seg_cut[i - 1];
  kg->seg_cut[i] = c;
  return true;
}

/* The cuts where view axis x enters and leaves [0, extent). */
static bool seg_cut_axis(KGen *kg, const ViewAxis *x, Dim extent) {
  int64_t off;
  if (!dim_is_const(extent) || !seg_affine(kg, x, &off))
    return true; /* decided per element, as before */
  return seg_add_cut(kg, -off) && seg_add_cut(kg, extent.constant - off);
}

/* Visits what the kernel evaluates at an element, as cg_ev does, adding
 * the cuts of every pad and concat; false if there are too many cuts or
 * values to visit. */
static bool seg_walk(KGen *kg, const IrValue *v, const View *view, int *budget) {
  if (--*budget < 0)
    return false;
  if (!cg_is_inner(kg, v) && !ir_in_place(v))
    return true; /* loaded from its buffer */
  OpClass c = op_info[v->op].cls;
  if (c == OPC_GENERATE || c == OPC_REDUCE || c == OPC_SOURCE)
    return true; /* computed from the index, a pass, or a constant */
  bool ok = true;
  for (int i = 0; ok && i < v->nargs; i++) {
    View ov;
    cg_operand_view(v, i, view, &ov);
    if (v->op == OP_PAD && i == 0) {
      const TType *x = &v->args[0]->type;
      for (int j = 0; ok && j < x->rank; j++)
        ok = !ov.ax[j].masked || seg_cut_axis(kg, &ov.ax[j], x->dims[j]);
    } else if (v->op == OP_CONCAT) {
      int ax = IR_ATTR(v, view)->axis;
      ok = seg_cut_axis(kg, &ov.ax[ax], v->args[i]->type.dims[ax]);
    }
    ok = ok && seg_walk(kg, v->args[i], &ov, budget);
  }
  return ok;
}

/* Plans the pieces of an elementwise kernel's innermost loop: its domain
 * axis must be a loop of its own with a constant extent, not the one
 * split across threads. No cut inside the extent: one piece, as before. */
void cg_plan_segments(KGen *kg) {
  kg->nseg_cut = 0;
  int gi = kg->ngroups - 1;
  if (gi < 0 || gi == cg_parallel_group(kg) || kg->gfirst[gi] != kg->glast[gi] ||
      !dim_is_const(kg->gext_dim[gi]))
    return;
  kg->seg_axis = kg->gfirst[gi];
  kg->seg_cut[0] = 0;
  kg->seg_cut[1] = kg->gext_dim[gi].constant;
  kg->nseg_cut = 2;
  View id;
  cg_view_identity(&id, kg->rank);
  int budget = 4096;
  bool ok = seg_walk(kg, kg->k->out, &id, &budget);
  for (int i = 0; ok && i < kg->k->nextra_out; i++)
    ok = seg_walk(kg, kg->k->extra_out[i], &id, &budget);
  if (!ok || kg->nseg_cut == 2)
    kg->nseg_cut = 0;
}

/* The index of a masked or divided axis, clamped into [0, extent). */
static LLVMValueRef clamped_index(KGen *kg, const ViewAxis *x, Dim extent) {
  Cg *g = kg->g;
  LLVMValueRef i = axis_numerator(kg, x);
  if (seg_known(kg, x, extent) == 1)
    return i; /* inside the axis all along this piece */
  if (x->div != 1)
    i = LLVMBuildSDiv(g->b, i, cg_ci64(g, x->div), "");
  LLVMValueRef zero = cg_ci64(g, 0);
  LLVMValueRef last = LLVMBuildNSWSub(g->b, cg_dim_value(g, extent), cg_ci64(g, 1), "");
  i = cg_sel(g, LLVMBuildICmp(g->b, LLVMIntSLT, i, zero, ""), zero, i);
  return cg_sel(g, LLVMBuildICmp(g->b, LLVMIntSGT, i, last, ""), last, i);
}

/* Does view axis x land on an element of an axis of this extent (pad and
 * concat select their fill elsewhere)? */
static LLVMValueRef view_axis_valid(KGen *kg, const ViewAxis *x, Dim extent) {
  Cg *g = kg->g;
  int known = seg_known(kg, x, extent);
  if (known >= 0)
    return LLVMConstInt(g->i1, (unsigned long long)known, 0);
  LLVMValueRef n = axis_numerator(kg, x), ok = NULL;
  if (x->div != 1) {
    LLVMValueRef d = cg_ci64(g, x->div);
    ok = LLVMBuildICmp(g->b, LLVMIntEQ, LLVMBuildSRem(g->b, n, d, ""), cg_ci64(g, 0), "");
    n = LLVMBuildSDiv(g->b, n, d, "");
  }
  LLVMValueRef in = LLVMBuildICmp(g->b, LLVMIntULT, n, cg_dim_value(g, extent), "");
  return ok ? LLVMBuildAnd(g->b, ok, in, "") : in;
}

/* Linear axes contribute through the group strides and a base offset;
 * masked or divided ones through their own clamped index. */
static LLVMValueRef access_offset(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  LLVMValueRef off = group_offset(kg, ac);
  const TType *t = &ac->v->type;
  for (int j = 0; j < t->rank; j++) {
    const ViewAxis *x = &ac->view.ax[j];
    LLVMValueRef term;
    if (x->masked || x->div != 1) {
      term = clamped_index(kg, x, t->dims[j]);
    } else if (!(term = axis_base(kg, x))) {
      continue;
    }
    if (!cg_is_one(ac->vs[j]))
      term = LLVMBuildNSWMul(g->b, term, cg_dim_value(g, ac->vs[j]), "");
    off = LLVMBuildNSWAdd(g->b, off, term, "");
  }
  return off;
}

LLVMValueRef cg_access_ptr(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  return cg_gep(g, cg_mem_type(g, ac->v->type.dtype), kg->bufs[ac->slot], access_offset(kg, ac));
}

LLVMValueRef cg_load_access(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  DType dt = ac->v->type.dtype;
  LLVMValueRef x = LLVMBuildLoad2(g->b, cg_mem_type(g, dt), cg_access_ptr(kg, ac), "");
  return dt == DT_BOOL ? LLVMBuildICmp(g->b, LLVMIntNE, x, LLVMConstInt(g->i8, 0, 0), "") : x;
}

void cg_store_out(KGen *kg, LLVMValueRef x) {
  Cg *g = kg->g;
  if (kg->out.v->type.dtype == DT_BOOL && LLVMTypeOf(x) == g->i1)
    x = LLVMBuildZExt(g->b, x, g->i8, "");
  LLVMBuildStore(g->b, x, cg_access_ptr(kg, &kg->out));
}

const Access *cg_find_access(KGen *kg, const IrValue *v, const View *view) {
  for (int i = 0; i < kg->nacc; i++)
    if (kg->acc[i].v == v && cg_view_eq(&kg->acc[i].view, view))
      return &kg->acc[i];
  NNC_BUG("no access planned for %%%d", v->id);
}

static LLVMValueRef ev_arg(KGen *kg, const IrValue *v, int i, const View *view) {
  View ov;
  cg_operand_view(v, i, view, &ov);
  return cg_ev(kg, v->args[i], &ov);
}

static LLVMValueRef ev_one_hot(KGen *kg, const IrValue *v, const View *view) {
  Cg *g = kg->g;
  LLVMValueRef l = LLVMBuildSExt(g->b, ev_arg(kg, v, 0, view), g->i64, "");
  LLVMValueRef cls = axis_numerator(kg, &view->ax[v->type.rank - 1]);
  LLVMValueRef hit = LLVMBuildICmp(g->b, LLVMIntEQ, l, cls, "");
  switch (v->type.dtype) {
  case DT_F32:
  case DT_F64: {
    LLVMTypeRef t = cg_float_type(g, v->type.dtype);
    return cg_sel(g, hit, LLVMConstReal(t, 1.0), LLVMConstReal(t, 0.0));
  }
  case DT_I32:
    return LLVMBuildZExt(g->b, hit, g->i32, "");
  case DT_BOOL:
    return hit;
  }
  return hit;
}

static LLVMValueRef fill_value(Cg *g, DType dt, double x) {
  switch (dt) {
  case DT_F32:
  case DT_F64:
    return LLVMConstReal(cg_float_type(g, dt), x);
  case DT_I32:
    return cg_ci32(g, (int32_t)x);
  case DT_BOOL:
    return LLVMConstInt(g->i1, x != 0, 0);
  }
  return NULL;
}

/* pad: the operand where its view lands on an element, else the fill;
 * concat: the operand whose range holds the index (the last one otherwise,
 * so no fill). Every operand's loads are clamped, so all may be evaluated. */
static LLVMValueRef ev_masked(KGen *kg, const IrValue *v, const View *view) {
  Cg *g = kg->g;
  if (v->op == OP_PAD) {
    View ov;
    cg_operand_view(v, 0, view, &ov);
    const TType *x = &v->args[0]->type;
    LLVMValueRef ok = NULL;
    for (int j = 0; j < x->rank; j++) {
      const IrViewAttrs *va = IR_ATTR(v, view);
      if (va->start[j] == 0 && va->step[j] == 1 && va->dyn[j] == 0 &&
          dim_eq(va->size[j], x->dims[j]))
        continue; /* this pad leaves axis j alone */
      LLVMValueRef in = view_axis_valid(kg, &ov.ax[j], x->dims[j]);
      ok = ok ? LLVMBuildAnd(g->b, ok, in, "") : in;
    }
    LLVMValueRef val = cg_ev(kg, v->args[0], &ov);
    return ok ? cg_sel(g, ok, val, fill_value(g, v->type.dtype, IR_ATTR(v, view)->value)) : val;
  }
  int ax = IR_ATTR(v, view)->axis;
  LLVMValueRef r = NULL;
  for (int k = v->nargs - 1; k >= 0; k--) {
    View ov;
    cg_operand_view(v, k, view, &ov);
    LLVMValueRef val = cg_ev(kg, v->args[k], &ov);
    r = r ? cg_sel(g, view_axis_valid(kg, &ov.ax[ax], v->args[k]->type.dims[ax]), val, r) : val;
  }
  return r;
}

/* A view op: slice and unfold read their operand through the view; pad
 * and concat choose between operands, or the fill, by where the index
 * lands. */
static LLVMValueRef ev_view(KGen *kg, const IrValue *v, const View *view) {
  if (v->op == OP_PAD || v->op == OP_CONCAT)
    return ev_masked(kg, v, view);
  return ev_arg(kg, v, 0, view);
}

/* assign: its value, stored into the state by the kernel. */
static LLVMValueRef ev_assign(KGen *kg, const IrValue *v, const View *view) {
  return ev_arg(kg, v, 1, view);
}

/* A generator: computed from the element's own index. */
static LLVMValueRef ev_generate(KGen *kg, const IrValue *v, const View *view) {
  return cg_generate(kg, v, group_offset(kg, cg_find_access(kg, v, view)));
}

/* A reduction inside a kernel is a row kernel's pass, done for this row. */
static LLVMValueRef ev_pass(KGen *kg, const IrValue *v, const View *view) {
  (void)view;
  const KernelPlan *p = &kg->k->plan;
  for (int i = 0; i < p->npasses; i++)
    if (p->passes[i].v == v && kg->pass_val && kg->pass_val[i])
      return kg->pass_val[i];
  NNC_BUG("%%%d %s is read before its pass", v->id, op_info[v->op].name);
}

static LLVMValueRef ev_scalar(KGen *kg, const IrValue *v, const View *view);

/* A reshape inside a kernel only adds or drops unit axes: an index map;
 * a transpose permutes the view (cg_operand_view) and is then a copy. */
static LLVMValueRef ev_layout(KGen *kg, const IrValue *v, const View *view) {
  return v->op == OP_RESHAPE ? ev_arg(kg, v, 0, view) : ev_scalar(kg, v, view);
}

/* Every other op: its operands, then its scalar emitter (the emit column of
 * ops.def). */
static LLVMValueRef ev_scalar(KGen *kg, const IrValue *v, const View *view) {
  ScalarEmitter emit = cg_scalar_emit[v->op];
  if (!emit || v->nargs > 3)
    NNC_BUG("%s is never evaluated per element", op_info[v->op].name);
  /* Operands in order, but a select's last to first: the order its
   * hand-written case had (as GCC evaluates call arguments), which keeps
   * the emitted IR of existing models the same. */
  LLVMValueRef x[3];
  bool reverse = op_info[v->op].cls == OPC_SELECT;
  for (int k = 0; k < v->nargs; k++) {
    int i = reverse ? v->nargs - 1 - k : k;
    x[i] = ev_arg(kg, v, i, view);
  }
  return emit(kg->g, v, x);
}

/* How a value of each op class is evaluated at one element; the classes
 * not named go through their ops' scalar emitters. */
typedef LLVMValueRef (*ClassEval)(KGen *kg, const IrValue *v, const View *view);
static const ClassEval class_eval[] = {
    [OPC_ONEHOT] = ev_one_hot,    [OPC_VIEW] = ev_view,   [OPC_ASSIGN] = ev_assign,
    [OPC_GENERATE] = ev_generate, [OPC_REDUCE] = ev_pass, [OPC_LAYOUT] = ev_layout,
};

static LLVMValueRef ev_op(KGen *kg, const IrValue *v, const View *view) {
  OpClass c = op_info[v->op].cls;
  ClassEval ev = (size_t)c < sizeof class_eval / sizeof class_eval[0] ? class_eval[c] : NULL;
  return (ev ? ev : ev_scalar)(kg, v, view);
}

LLVMValueRef cg_ev(KGen *kg, const IrValue *v, const View *view) {
  for (int i = 0; i < kg->nmemo; i++)
    if (kg->memo[i].v == v && cg_view_eq(&kg->memo[i].view, view))
      return kg->memo[i].val;
  LLVMValueRef x;
  if (!cg_is_inner(kg, v) && !ir_in_place(v))
    x = cg_load_access(kg, cg_find_access(kg, v, view));
  else
    x = ev_op(kg, v, view);
  if (kg->nmemo == kg->cap_memo) {
    int c = kg->cap_memo ? kg->cap_memo * 2 : 16;
    kg->memo = arena_grow(kg->g->a, kg->memo, (size_t)kg->nmemo, (size_t)c, sizeof *kg->memo);
    kg->cap_memo = c;
  }
  kg->memo[kg->nmemo++] = (Memo){.v = v, .view = *view, .val = x};
  return x;
}

/* Evaluates v at the domain index held in gidx (a fresh memo: the index
 * changed). */
LLVMValueRef cg_ev_here(KGen *kg, const IrValue *v) {
  View id;
  cg_view_identity(&id, kg->rank);
  kg->nmemo = 0;
  return cg_ev(kg, v, &id);
}

/* Loops over groups [gi, ngroups) except `skip`, calling body at the
 * innermost point. The first loop runs over [lo, hi) (the parallel range). */
void cg_nest(KGen *kg, int gi, int skip, LLVMValueRef lo, LLVMValueRef hi, NestBody body, void *u) {
  if (gi == skip)
    gi++;
  if (gi >= kg->ngroups) {
    body(kg, u);
    return;
  }
  if (gi == kg->ngroups - 1 && kg->nseg_cut > 2 && !lo) { /* the pieces, in order */
    kg->seg_on = true;
    for (int s = 0; s + 1 < kg->nseg_cut; s++) {
      kg->seg_lo = kg->seg_cut[s];
      kg->seg_hi = kg->seg_cut[s + 1];
      Loop l = cg_loop_begin(kg->g, cg_ci64(kg->g, kg->seg_lo), cg_ci64(kg->g, kg->seg_hi));
      kg->gidx[gi] = l.i;
      body(kg, u);
      cg_loop_end(kg->g, &l);
    }
    kg->seg_on = false;
    return;
  }
  Loop l = cg_loop_begin(kg->g, lo ? lo : cg_ci64(kg->g, 0), lo ? hi : kg->gext[gi]);
  kg->gidx[gi] = l.i;
  cg_nest(kg, gi + 1, skip, NULL, NULL, body, u);
  cg_loop_end(kg->g, &l);
}

static void store_at(KGen *kg, const Access *ac, LLVMValueRef x) {
  Cg *g = kg->g;
  if (ac->v->type.dtype == DT_BOOL && LLVMTypeOf(x) == g->i1)
    x = LLVMBuildZExt(g->b, x, g->i8, "");
  LLVMBuildStore(g->b, x, cg_access_ptr(kg, ac));
}

/* Every output's value at the element first, then the stores: a kernel
 * writing several states reads each of them before it overwrites it. */
void cg_elementwise_body(KGen *kg, void *u) {
  (void)u;
  const Kernel *k = kg->k;
  LLVMValueRef x = cg_ev_here(kg, k->out);
  if (k->nextra_out == 0) {
    cg_store_out(kg, x);
    return;
  }
  View id;
  cg_view_identity(&id, kg->rank);
  LLVMValueRef *xs = ARENA_ARRAY(kg->g->a, LLVMValueRef, (size_t)k->nextra_out);
  for (int i = 0; i < k->nextra_out; i++)
    xs[i] = cg_ev(kg, k->extra_out[i], &id);
  cg_store_out(kg, x);
  for (int i = 0; i < k->nextra_out; i++)
    store_at(kg, cg_find_access(kg, k->extra_out[i], &id), xs[i]);
}
