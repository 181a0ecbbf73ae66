/* cg_plan.c - kernel planning: views, accesses and axis groups.
 *
 * A loop kernel runs over a domain (a shape). Every value it computes is
 * evaluated at an index of its own shape that is an affine function of the
 * domain index, with a mask where pad and concat put their fill: a view
 * (cg_internal.h). Broadcasting drops axes, a transpose permutes them, a
 * slice offsets and steps them, pad and concat offset and mask them. Reading
 * a buffer through a view without masks gives, for each domain axis, a
 * stride that is a monomial in the dims (or zero), so before emitting loops
 * the domain axes are collapsed: neighbouring axes merge when every buffer
 * the kernel touches is contiguous (or broadcast) across both, which turns
 * most kernels into one flat loop over the contiguous last axis that LLVM
 * vectorises. A masked or divided axis needs its own index (for the mask
 * and the clamp), so the domain axes it follows never merge.
 */
#include "cg_internal.h"

/* -------------------------------------------------------- kernel planning */

void cg_view_empty(View *v) {
  memset(v, 0, sizeof *v);
  for (int j = 0; j < R; j++)
    v->ax[j].div = 1;
}

void cg_view_identity(View *v, int rank) {
  cg_view_empty(v);
  for (int j = 0; j < rank; j++)
    v->ax[j].coef[j] = 1;
}

void cg_row_view(const KGen *kg, const TType *t, View *v) {
  int row = kg->k->plan.row_axis;
  cg_view_empty(v);
  if (t->rank == kg->rank) { /* the row axis kept, of extent 1 */
    for (int j = 0; j < t->rank; j++)
      if (j != row)
        v->ax[j].coef[j] = 1;
    return;
  }
  if (t->rank == 0)
    return; /* a scalar */
  for (int j = 0; j < t->rank; j++)
    v->ax[j].coef[j < row ? j : j + 1] = 1;
}

static bool axis_eq(const ViewAxis *x, const ViewAxis *y) {
  for (int a = 0; a < R; a++)
    if (x->coef[a] != y->coef[a])
      return false;
  if (x->off != y->off || x->div != y->div || x->masked != y->masked || x->has_pos != y->has_pos)
    return false;
  return !x->has_pos || (x->pos_coef == y->pos_coef && x->pos_val == y->pos_val &&
                         x->pos_const == y->pos_const && dim_eq(x->pos_n, y->pos_n));
}

bool cg_view_eq(const View *x, const View *y) {
  for (int j = 0; j < R; j++)
    if (!axis_eq(&x->ax[j], &y->ax[j]))
      return false;
  return true;
}

static void empty_axis(ViewAxis *a) {
  memset(a, 0, sizeof *a);
  a->div = 1;
}

/* The numerator of an axis times k (a slice's step). */
static void scale_axis(ViewAxis *a, int64_t k) {
  for (int d = 0; d < R; d++)
    a->coef[d] = (int32_t)(a->coef[d] * k);
  a->off *= k;
  a->pos_coef = (int32_t)(a->pos_coef * k);
}

/* Adds the run-time position of axis i of view op v to a, times k. */
static void add_position(ViewAxis *a, const IrValue *v, int i, Dim n, int32_t k) {
  const IrViewAttrs *va = IR_ATTR(v, view);
  NNC_ASSERT(!a->has_pos); /* fusion keeps one run-time view per kernel */
  a->has_pos = true;
  a->pos_coef = k;
  a->pos_val = va->dyn[i] > 0 ? v->args[va->dyn[i]] : NULL;
  a->pos_const = va->start[i];
  a->pos_n = n;
}

/* slice: operand index = result index * step + start (or start alone). */
static void slice_view(const IrValue *v, const View *vv, View *ov) {
  const IrViewAttrs *va = IR_ATTR(v, view);
  int r = 0;
  for (int j = 0; j < v->args[0]->type.rank; j++) {
    ViewAxis *a = &ov->ax[j];
    if (va->drop[j]) {
      empty_axis(a);
    } else {
      *a = vv->ax[r++];
      scale_axis(a, va->step[j]);
    }
    if (ir_view_runtime_axis(v, j))
      add_position(a, v, j, v->args[0]->type.dims[j], a->div);
    else
      a->off += va->start[j] * a->div;
  }
}

/* pad: operand index = (result index - start) / step, masked; a negative
 * step divides (start - result index) by -step, as divisors stay
 * positive. */
static void pad_view(const IrValue *v, const View *vv, View *ov) {
  const IrViewAttrs *va = IR_ATTR(v, view);
  const TType *x = &v->args[0]->type;
  for (int j = 0; j < x->rank; j++) {
    ViewAxis *a = &ov->ax[j];
    *a = vv->ax[j];
    bool full =
        va->start[j] == 0 && va->step[j] == 1 && va->dyn[j] == 0 && dim_eq(va->size[j], x->dims[j]);
    if (full)
      continue;
    int64_t step = va->step[j];
    int32_t sign = step > 0 ? 1 : -1;
    if (sign < 0)
      scale_axis(a, -1);
    if (ir_view_runtime_axis(v, j))
      add_position(a, v, j, va->size[j], -sign * a->div);
    else
      a->off -= sign * va->start[j] * a->div;
    a->div = (int32_t)(a->div * step * sign);
    a->masked = true;
  }
}

/* unfold: operand index = window * step + position in the window, the
 * window along the unfolded axis and the position along the last one. Two
 * numerators over divisors d1, d2 add up over d1 * d2: exact wherever both
 * are (elsewhere a mask above selects a fill, and loads are clamped). */
static void unfold_view(const IrValue *v, const View *vv, View *ov) {
  const IrViewAttrs *va = IR_ATTR(v, view);
  int ax = va->axis, last = v->type.rank - 1;
  for (int j = 0; j < v->args[0]->type.rank; j++)
    ov->ax[j] = vv->ax[j];
  ViewAxis w = vv->ax[ax], k = vv->ax[last];
  scale_axis(&w, va->step[ax] * k.div);
  scale_axis(&k, w.div);
  NNC_ASSERT(!(w.has_pos && k.has_pos)); /* fusion keeps one run-time view per kernel */
  ViewAxis *a = &ov->ax[ax];
  for (int d = 0; d < R; d++)
    a->coef[d] = w.coef[d] + k.coef[d];
  a->off = w.off + k.off;
  a->div = w.div * k.div;
  a->masked = w.masked || k.masked;
  const ViewAxis *pos = w.has_pos ? &w : k.has_pos ? &k : NULL;
  a->has_pos = pos != NULL;
  if (pos) {
    a->pos_coef = pos->pos_coef;
    a->pos_val = pos->pos_val;
    a->pos_const = pos->pos_const;
    a->pos_n = pos->pos_n;
  }
}

/* concat: operand k holds [c_k, c_k + n_k) of the axis. */
static void concat_view(const IrValue *v, int k, const View *vv, View *ov) {
  int ax = IR_ATTR(v, view)->axis;
  int64_t c = 0;
  for (int i = 0; i < k; i++)
    c += v->args[i]->type.dims[ax].constant;
  for (int j = 0; j < v->type.rank; j++)
    ov->ax[j] = vv->ax[j];
  ov->ax[ax].off -= c * ov->ax[ax].div;
  ov->ax[ax].masked = true;
}

/* The view of operand i of v, given v's view. */
void cg_operand_view(const IrValue *v, int i, const View *vv, View *ov) {
  const IrValue *x = v->args[i];
  cg_view_empty(ov);
  switch (op_info[v->op].cls) {
  case OPC_LAYOUT:
    if (v->op == OP_RESHAPE) { /* a unit reshape: the axes of extent other than 1 in order */
      for (int j = 0, k = 0; j < x->type.rank; j++) {
        if (cg_is_one(x->type.dims[j]))
          continue;
        while (cg_is_one(v->type.dims[k]))
          k++;
        ov->ax[j] = vv->ax[k++];
      }
      return;
    }
    /* transpose: result axis j is operand axis perm[j] */
    for (int j = 0; j < v->type.rank; j++)
      ov->ax[IR_ATTR(v, layout).perm[j]] = vv->ax[j];
    return;
  case OPC_ONEHOT:
    for (int j = 0; j < x->type.rank; j++)
      ov->ax[j] = vv->ax[j];
    return;
  case OPC_VIEW:
    if (v->op == OP_CONCAT)
      concat_view(v, i, vv, ov);
    else if (i == 0 && v->op == OP_SLICE)
      slice_view(v, vv, ov);
    else if (v->op == OP_UNFOLD)
      unfold_view(v, vv, ov);
    else if (i == 0)
      pad_view(v, vv, ov);
    return; /* run-time positions are scalars */
  case OPC_UNARY:
  case OPC_BINARY:
  case OPC_COMPARE:
  case OPC_SELECT:
  case OPC_EXPAND:
  case OPC_ASSIGN: {
    int off = v->type.rank - x->type.rank;
    for (int j = 0; j < x->type.rank; j++)
      if (!cg_is_one(x->type.dims[j]))
        ov->ax[j] = vv->ax[j + off];
    return;
  }
  case OPC_SOURCE:
  case OPC_GENERATE:
  case OPC_MATMUL:
  case OPC_REDUCE:
  case OPC_ROWWISE:
  case OPC_LOSS:
  case OPC_LOOP:
  case OPC_GATHER:
  case OPC_CONV:
    break;
  }
  NNC_BUG("operand_view: %s is not evaluated per element", op_info[v->op].name);
}

/* Domain axes an axis's index follows must keep their own loop (their raw
 * index is needed) when the axis is masked or divided. */
static void bar_nonlinear(KGen *kg, const View *view, int rank) {
  for (int j = 0; j < rank; j++) {
    const ViewAxis *x = &view->ax[j];
    if (!x->masked && x->div == 1)
      continue;
    for (int a = 0; a < R; a++)
      if (x->coef[a])
        kg->barrier[a] = true;
  }
}

static void fill_strides(KGen *kg, Access *ac) {
  const TType *t = &ac->v->type;
  ac->linear = true;
  for (int a = 0; a < R; a++)
    ac->zero[a] = true;
  Dim stride = dim_const(1);
  for (int j = t->rank - 1; j >= 0; j--) {
    const ViewAxis *x = &ac->view.ax[j];
    ac->vs[j] = stride;
    if (x->masked || x->div != 1) {
      ac->linear = false;
    } else {
      for (int a = 0; a < R; a++) {
        if (!x->coef[a])
          continue;
        Dim s = cg_dmul(kg->g, stride, dim_const(x->coef[a]));
        /* a window (one domain axis in two value axes) needs a sum of
           strides; no op makes one yet */
        NNC_ASSERT(ac->zero[a]);
        ac->zero[a] = false;
        ac->s[a] = s;
      }
    }
    stride = cg_dmul(kg->g, stride, t->dims[j]);
  }
  bar_nonlinear(kg, &ac->view, t->rank);
}

/* A state a kernel writes has one slot, whether it is read (the PARAM) or
 * stored (its ASSIGN): the kernel's buffer arguments are noalias. The
 * kernel's out is slot 0. */
int cg_slot_of(KGen *kg, const IrValue *v) {
  if (v->op == OP_ASSIGN)
    v = v->args[0];
  if (kg->k->out->op == OP_ASSIGN && v == kg->k->out->args[0])
    return 0;
  for (int i = 1; i < kg->nslots; i++)
    if (kg->slots[i] == v)
      return i;
  kg->slots[kg->nslots] = v;
  return kg->nslots++;
}

static void add_access(KGen *kg, const IrValue *v, const View *view) {
  for (int i = 0; i < kg->nacc; i++)
    if (kg->acc[i].v == v && cg_view_eq(&kg->acc[i].view, view))
      return;
  bool gen = op_info[v->op].cls == OPC_GENERATE;
  if (gen && ir_is_random(v) && kg->rng_slot < 0) {
    kg->rng_slot = kg->nslots; /* bound to the entry's {seed, step} */
    kg->slots[kg->nslots++] = NULL;
  }
  if (kg->nacc == kg->cap_acc) {
    int c = kg->cap_acc ? kg->cap_acc * 2 : 8;
    kg->acc = arena_grow(kg->g->a, kg->acc, (size_t)kg->nacc, (size_t)c, sizeof *kg->acc);
    kg->cap_acc = c;
  }
  Access *ac = &kg->acc[kg->nacc++];
  memset(ac, 0, sizeof *ac);
  ac->v = v;
  ac->view = *view;
  ac->slot = gen ? -1 : cg_slot_of(kg, v);
  fill_strides(kg, ac);
}

/* Collects the buffers an evaluation of v at view reads. A generator reads
 * none, but its value depends on the element's linear index in its own
 * shape, which is planned like a buffer's offset so that axes merge only
 * where that index stays linear. */
static void visit(KGen *kg, const IrValue *v, const View *view) {
  if (op_info[v->op].cls == OPC_GENERATE) {
    add_access(kg, v, view);
    return;
  }
  if (!cg_is_inner(kg, v)) {
    if (v->op != OP_CONST)
      add_access(kg, v, view);
    return;
  }
  if (v->op == OP_ONE_HOT) { /* its raw class index is needed */
    const ViewAxis *x = &view->ax[v->type.rank - 1];
    for (int a = 0; a < R; a++)
      if (x->coef[a])
        kg->barrier[a] = true;
  }
  if (op_info[v->op].cls == OPC_REDUCE) { /* a row kernel's pass: along the whole row */
    View id;
    cg_view_identity(&id, kg->rank);
    visit(kg, v->args[0], &id);
    return;
  }
  /* a state write's operand 0 is where it stores, not something it reads */
  for (int i = v->op == OP_ASSIGN ? 1 : 0; i < v->nargs; i++) {
    View ov;
    cg_operand_view(v, i, view, &ov);
    if (op_info[v->op].cls == OPC_VIEW)
      bar_nonlinear(kg, &ov, v->args[i]->type.rank); /* the mask is tested here */
    visit(kg, v->args[i], &ov);
  }
}

static bool kept(const KGen *kg, int a) { return !cg_is_one(kg->dom->dims[a]) || a == kg->forced; }

static bool mergeable(const KGen *kg, int p, int a) {
  if (kg->barrier[p] || kg->barrier[a])
    return false;
  for (int i = -1; i < kg->nacc; i++) {
    const Access *ac = i < 0 ? &kg->out : &kg->acc[i];
    if (ac->zero[p] != ac->zero[a])
      return false;
    if (!ac->zero[p] && !dim_eq(ac->s[p], cg_dmul(kg->g, ac->s[a], kg->dom->dims[a])))
      return false;
  }
  return true;
}

static void make_groups(KGen *kg) {
  int prev = -1;
  kg->ngroups = 0;
  for (int a = 0; a < kg->rank; a++) {
    kg->group_of[a] = -1;
    if (!kept(kg, a))
      continue;
    if (prev < 0 || !mergeable(kg, prev, a)) {
      kg->gfirst[kg->ngroups] = a;
      kg->gext_dim[kg->ngroups] = dim_const(1);
      kg->ngroups++;
    }
    int g = kg->ngroups - 1;
    kg->glast[g] = a;
    kg->group_of[a] = g;
    kg->gext_dim[g] = cg_dmul(kg->g, kg->gext_dim[g], kg->dom->dims[a]);
    prev = a;
  }
}

static void plan_output(KGen *kg) {
  const Kernel *k = kg->k;
  Access *o = &kg->out;
  memset(o, 0, sizeof *o);
  o->v = k->out;
  o->slot = 0;
  if (k->kind == KK_REDUCE && k->core->op != OP_MSE) {
    /* output axes are the kept (non-reduced) domain axes, reduced ones as 1 */
    const IrValue *c = k->core;
    cg_view_empty(&o->view);
    int j = 0;
    for (int a = 0; a < kg->rank; a++) {
      if (!kg->reduced[a])
        o->view.ax[j++].coef[a] = 1;
      else if (IR_ATTR(c, reduce).keepdims)
        j++;
    }
  } else if (k->kind == KK_REDUCE || (k->kind == KK_ROW && k->plan.combine != COMBINE_NONE)) {
    cg_view_identity(&o->view, 0); /* a scalar */
  } else if (k->kind == KK_ROW && k->plan.per_row) {
    cg_row_view(kg, &k->out->type, &o->view);
  } else {
    cg_view_identity(&o->view, k->out->type.rank);
  }
  fill_strides(kg, o);
}

void cg_plan_kernel(KGen *kg) {
  const Kernel *k = kg->k;
  View id;
  cg_view_identity(&id, kg->rank);
  memcpy(kg->reduced, k->plan.reduced, sizeof kg->reduced);
  kg->forced = k->plan.row_axis;
  if (kg->forced >= 0)
    kg->barrier[kg->forced] = true;
  kg->rng_slot = -1;
  switch (k->kind) {
  case KK_ELEMWISE:
  case KK_COPY:
    visit(kg, k->out, &id);
    for (int i = 0; i < k->nextra_out; i++) { /* further state writes */
      visit(kg, k->extra_out[i], &id);
      add_access(kg, k->extra_out[i], &id);
    }
    break;
  case KK_ROW: {
    /* the out along the row, per row, or combining the per-row values */
    const IrValue *v = k->plan.combine != COMBINE_NONE ? k->out->args[0] : k->out;
    View rv;
    cg_row_view(kg, &v->type, &rv);
    visit(kg, v, k->plan.per_row ? &rv : &id);
    break;
  }
  case KK_REDUCE:
    if (k->core->op == OP_MSE)
      visit(kg, k->core->args[1], &id);
    visit(kg, k->core->args[0], &id);
    break;
  case KK_GEMM:
  case KK_ALIAS:
  case KK_GATHER:
  case KK_CONV:
  case KK_LOOP_BEGIN:
  case KK_LOOP_END:
    NNC_BUG("plan_kernel: not a loop kernel");
  }
  plan_output(kg);
  make_groups(kg);
}
