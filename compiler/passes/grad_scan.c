/* grad_scan.c - reverse mode through a loop (backpropagation through time).
 *
 * For a forward scan S over t = lo..hi-1 with carries c, the rule builds a
 * scan B over the same steps in the other direction. B's body is a copy of
 * S's body, fed with the carries S had at step t (S emits them as extra
 * stacks, the only per-step values kept), followed by the body's adjoint
 * sweep, seeded with the adjoint of the next carries (B's carries) and of
 * the values S emitted at t. B carries:
 *   - the adjoint of each carry, passed to the previous step;
 *   - an accumulator per value from outside the loop that the body reads
 *     (weights, other inputs): the sum over the steps of its adjoint.
 * A value from outside read only as x[.., t, ..] at the step's own
 * position is not accumulated at full size every step: the adjoint of its
 * slice is emitted per step, and the stack, with its step axis moved back
 * in place, is the whole adjoint after the loop (the input sequence of an
 * RNN). After B, its outputs are added to the adjoints of S's operands
 * (the carries' initial values) and of the values from outside.
 */
#include "autodiff_internal.h"

#include <string.h>

/* The scan_out values of S in the block being swept, by output index. */
static void find_outputs(const GradCtx *g, const IrValue *s, IrValue **outs) {
  const IrBlock *b = s->parent;
  for (int i = 0; i < b->n; i++) {
    IrValue *v = b->vals[i];
    if (v->op == OP_SCAN_OUT && v->args[0] == s && v->id < g->nfwd)
      outs[IR_ATTR(v, loop).index] = v;
  }
}

static IrValue *zeros(GradCtx *g, const TType *t) {
  return autodiff_broadcast_to(g, autodiff_const(g, 0.0, t->dtype), t);
}

/* x[t - lo] along axis 0 of a stack, inside the loop. */
static IrValue *step_slice(GradCtx *g, IrValue *stack, IrValue *t, int64_t lo) {
  IrViewAttrs va = {0};
  for (int i = 0; i < stack->type.rank; i++) {
    va.step[i] = 1;
    va.size[i] = stack->type.dims[i];
  }
  va.start[0] = -lo;
  va.drop[0] = true;
  va.dyn[0] = 1;
  IrAttrs at = {.view = &va};
  IrValue *args[2] = {stack, t};
  return autodiff_emit(g, OP_SLICE, args, 2, &at);
}

/* Is v a slice of a value from outside the loop at the step's own position
 * on one axis (full on the others), covering that axis exactly over the
 * loop's steps? Then *axis is the axis. */
static bool step_aligned_slice(const IrValue *v, const IrValue *step, int lo_id, Dim lo, Dim n,
                               int *axis) {
  if (v->op != OP_SLICE || v->nargs != 2 || v->args[1] != step || v->args[0]->id >= lo_id)
    return false;
  const IrValue *x = v->args[0];
  const IrViewAttrs *va = IR_ATTR(v, view);
  int a = -1;
  for (int i = 0; i < x->type.rank; i++) {
    if (va->dyn[i] > 0) {
      if (a >= 0 || !va->drop[i])
        return false;
      a = i;
      continue;
    }
    if (va->drop[i] || va->start[i] != 0 || va->step[i] != 1 ||
        !dim_eq(va->size[i], x->type.dims[i]))
      return false;
  }
  if (a < 0 || !dim_is_const(lo) || va->start[a] + lo.constant != 0 || !dim_eq(n, x->type.dims[a]))
    return false;
  *axis = a;
  return true;
}

/* The stack [T, rest...] of a slice's adjoints as the adjoint of the
 * sliced value: the step axis goes back to where it was sliced. */
static IrValue *unstack(GradCtx *g, IrValue *stack, int axis) {
  if (axis == 0)
    return stack;
  IrAttrs at = {.layout = {.has_perm = true}};
  int r = stack->type.rank;
  for (int j = 0; j < r; j++)
    at.layout.perm[j] = j < axis ? j + 1 : j == axis ? 0 : j;
  return autodiff_emit(g, OP_TRANSPOSE, &stack, 1, &at);
}

/* Moves the values at positions [from, b->n) of b to position `to`. */
static void move_to(Arena *a, IrBlock *b, int from, int to) {
  int n = b->n - from, rest = from - to;
  IrValue **tmp = ARENA_ARRAY(a, IrValue *, (size_t)n + 1);
  memcpy(tmp, b->vals + from, sizeof *tmp * (size_t)n);
  memmove(b->vals + to + n, b->vals + to, sizeof *tmp * (size_t)rest);
  memcpy(b->vals + to, tmp, sizeof *tmp * (size_t)n);
}

typedef struct Backward {
  GradCtx *g; /* the enclosing sweep */
  IrValue *s; /* the forward scan */
  IrBlock *outer, *region;
  int nc, ne;
  IrValue **init;   /* B's operands */
  IrValue **target; /* per B carry: the value its final value is the adjoint of */
  int ncarry, cap;
  IrValue **leaves; /* step-aligned slices whose adjoints B emits */
  int *leaf_axis;
  int nleaves;
} Backward;

static void add_carry(Backward *bw, IrValue *init, IrValue *target) {
  if (bw->ncarry == bw->cap) {
    int c = bw->cap ? 2 * bw->cap : 8;
    bw->init = arena_grow(bw->g->arena, bw->init, (size_t)bw->ncarry, (size_t)c, sizeof *bw->init);
    bw->target =
        arena_grow(bw->g->arena, bw->target, (size_t)bw->ncarry, (size_t)c, sizeof *bw->target);
    bw->cap = c;
  }
  bw->init[bw->ncarry] = init;
  bw->target[bw->ncarry++] = target;
}

/* A weight's adjoint in one step that is a product a^T d of two per-step
 * matrices (the weight gradient of x @ W) is summed over the steps after
 * the loop as one product over every step's rows, [T * B, k]^T [T * B, n],
 * instead of T small products added into an accumulator. */
typedef struct Product {
  IrValue *x;       /* the value outside the loop it is the adjoint of */
  IrValue *a, *d;   /* the factors in the step */
  bool transposed;  /* the adjoint is (a^T d)^T: the weight of x @ W^T */
  IrValue *a_all;   /* a's stack when the loop reads it from one, else NULL */
  int a_out, d_out; /* the backward scan's outputs stacking them, or -1 */
} Product;

static bool per_step_product(const IrValue *dx, const IrBlock *r, Product *p) {
  bool transposed = dx->op == OP_TRANSPOSE && dx->type.rank == 2 && dx->parent == r;
  if (transposed)
    dx = dx->args[0];
  if (dx->op != OP_MATMUL || dx->type.rank != 2 || dx->parent != r)
    return false;
  const IrValue *ta = dx->args[0];
  if (ta->op != OP_TRANSPOSE || ta->type.rank != 2 || ta->args[0]->type.rank != 2 ||
      dx->args[1]->type.rank != 2 || ta->args[0]->parent != r || dx->args[1]->parent != r)
    return false;
  *p = (Product){
      .a = ta->args[0], .d = dx->args[1], .transposed = transposed, .a_out = -1, .d_out = -1};
  return true;
}

static int emit_stacked(Backward *bw, IrValue *v) {
  IrValue *m =
      ir_region_materialise(bw->g->arena, &bw->g->shape, bw->g->df, v, bw->region, bw->s->loc);
  ir_region_add_result(bw->g->arena, bw->region, m);
  return bw->region->nresults - 1;
}

/* Stacks p's factors (a value several products share is stacked once). */
static void stack_product(Backward *bw, Product *prods, int k, IrValue *t, int lo_id, Dim lo,
                          Dim n) {
  Product *p = &prods[k];
  int axis;
  if (step_aligned_slice(p->a, t, lo_id, lo, n, &axis) && axis == 0)
    p->a_all = p->a->args[0]; /* a carry's or a residual's stack */
  for (int j = 0; j < k; j++) {
    if (!p->a_all && p->a_out < 0)
      p->a_out = prods[j].a == p->a ? prods[j].a_out : prods[j].d == p->a ? prods[j].d_out : -1;
    if (p->d_out < 0)
      p->d_out = prods[j].a == p->d ? prods[j].a_out : prods[j].d == p->d ? prods[j].d_out : -1;
  }
  if (!p->a_all && p->a_out < 0)
    p->a_out = emit_stacked(bw, p->a);
  if (p->d_out < 0)
    p->d_out = emit_stacked(bw, p->d);
}

/* A bias's adjoint in one step is the sum of a per-step value over its
 * leading (broadcast) axes: that value is stacked and summed over the
 * steps and those axes at once after the loop, one reduction instead of
 * a reduction and an accumulation per step. */
typedef struct StepSum {
  IrValue *x; /* the value outside the loop it is the adjoint of */
  IrValue *d; /* the summed value in the step */
  int naxes;  /* its leading axes summed */
  int d_out;  /* the backward scan's output stacking d */
} StepSum;

static bool per_step_sum(const IrValue *dx, const IrBlock *r, StepSum *p) {
  if (dx->op != OP_SUM || dx->parent != r || dx->args[0]->parent != r)
    return false;
  const IrReduceAttrs *ra = &IR_ATTR(dx, reduce);
  if (ra->all_axes || ra->keepdims || ra->naxes < 1)
    return false;
  for (int i = 0; i < ra->naxes; i++)
    if (ra->axes[i] != i)
      return false;
  *p = (StepSum){.d = dx->args[0], .naxes = ra->naxes, .d_out = -1};
  return true;
}

/* Stacks p's summed value, unless a product's factor already is. */
static void stack_sum(Backward *bw, StepSum *p, const Product *prods, int nprod) {
  for (int j = 0; j < nprod && p->d_out < 0; j++)
    p->d_out = prods[j].d == p->d ? prods[j].d_out : prods[j].a == p->d ? prods[j].a_out : -1;
  if (p->d_out < 0)
    p->d_out = emit_stacked(bw, p->d);
}

/* [T, rows, k] as [T * rows, k]. */
static IrValue *merge_steps(GradCtx *g, IrValue *stack) {
  TType m = stack->type;
  const char *why;
  if (!dim_mul(stack->type.dims[0], stack->type.dims[1], &m.dims[0], &why))
    NNC_BUG("autodiff: %s", why);
  m.rank = 2;
  m.dims[1] = stack->type.dims[2];
  return autodiff_reshape(g, stack, &m);
}

/* B's output i, made once however many products read it. */
static IrValue *output_of(GradCtx *g, IrValue *b, int i, IrValue **made) {
  if (!made[i]) {
    IrAttrs o = {.loop = {.index = i}};
    made[i] = autodiff_emit(g, OP_SCAN_OUT, &b, 1, &o);
  }
  return made[i];
}

/* sum_t a_t^T d_t = A^T D over the merged steps, or, transposed,
 * (A^T D)^T = D^T A, so that no transpose of the result is needed. */
static IrValue *sum_after_loop(GradCtx *g, IrValue *b, const StepSum *p, IrValue **made) {
  IrValue *d = output_of(g, b, p->d_out, made);
  IrReduceAttrs at = {.naxes = p->naxes + 1};
  for (int i = 0; i <= p->naxes; i++)
    at.axes[i] = i;
  return autodiff_sum(g, d, &at);
}

static IrValue *product_after_loop(GradCtx *g, IrValue *b, const Product *p, IrValue **made) {
  IrValue *a = merge_steps(g, p->a_all ? p->a_all : output_of(g, b, p->a_out, made));
  IrValue *d = merge_steps(g, output_of(g, b, p->d_out, made));
  IrAttrs swap = {.layout = {.has_perm = true, .perm = {1, 0}}};
  IrValue *left = p->transposed ? d : a, *right = p->transposed ? a : d;
  left = autodiff_emit(g, OP_TRANSPOSE, &left, 1, &swap);
  return autodiff_binary(g, OP_MATMUL, left, right);
}

/* Emits, in the enclosing block, what only the enclosing block may hold
 * (B's operands). */
static IrValue *outer_zeros(Backward *bw, const TType *t) {
  IrBlock *saved = bw->g->df->insert;
  bw->g->df->insert = bw->outer == bw->g->df->body ? NULL : bw->outer;
  IrValue *z = zeros(bw->g, t);
  bw->g->df->insert = saved;
  return z;
}

static bool is_plain_view(const IrValue *v) {
  return v->op == OP_SLICE || v->op == OP_RESHAPE || v->op == OP_TRANSPOSE;
}

/* A view of a value the step stores (a slice of h @ W^T, which a GRU's
 * reset gate multiplies): recomputing the view would recompute what it
 * views, a product at every step, so the view is kept instead, as a copy
 * of its own. A view of a value from outside the loop is free to recompute. */
static bool views_stored(const IrValue *v, const IrBlock *fr) {
  if (!is_plain_view(v))
    return false;
  while (is_plain_view(v) && v->parent == fr)
    v = v->args[0];
  return ir_region_stores(v, fr);
}

/* What S yields to keep v: v, or a copy of the view v, made in S's step,
 * which the step's other readers of v then read (one copy, not the view
 * computed twice: once for them, once for the stack). */
static IrValue *kept_value(Backward *bw, IrValue *v) {
  IrBlock *fr = bw->s->region;
  if (ir_region_stores(v, fr))
    return v;
  IrFunc *df = bw->g->df;
  IrBlock *saved = df->insert;
  df->insert = fr;
  int end = fr->n, at = 0;
  IrValue *m = ir_region_materialise(bw->g->arena, &bw->g->shape, df, v, fr, v->loc);
  df->insert = saved;
  while (fr->vals[at] != v)
    at++;
  move_to(bw->g->arena, fr, end, at + 1); /* before v's readers */
  for (int i = 0; i < fr->n; i++)
    for (int k = 0; fr->vals[i] != m && k < fr->vals[i]->nargs; k++)
      if (fr->vals[i]->args[k] == v)
        fr->vals[i]->args[k] = m;
  return m;
}

/* The forward values of the step that the backward values read, instead
 * of being computed again from the carries, are stacked by S (or read from
 * a stack S emits anyway) and read back at the step: the values a rule
 * needs (a sigmoid's output, a product's other operand) are kept, what
 * only led to them is not recomputed, and the copy of the step's forward
 * values is left to dead-code elimination. Constants, and views of values
 * from outside the loop, are cheaper to recompute than to keep; a view of
 * a value the step stores is kept (views_stored). */
static void keep_residuals(Backward *bw, IrValue **map, IrValue **outs, int lo_id, int hi_id,
                           int end, IrValue *t, int64_t lo) {
  GradCtx *g = bw->g;
  IrFunc *df = g->df;
  IrBlock *r = bw->region;
  IrValue *s = bw->s;
  const IrBlock *fr = s->region;
  IrValue **orig = ARENA_ARRAY(g->arena, IrValue *, (size_t)hi_id + 1);
  for (int i = 0; i < fr->n; i++)
    if (map[fr->vals[i]->id] && map[fr->vals[i]->id]->id < hi_id)
      orig[map[fr->vals[i]->id]->id] = fr->vals[i];
  IrValue **kept = ARENA_ARRAY(g->arena, IrValue *, (size_t)hi_id + 1);
  int nb = r->n;
  for (int i = end; i < nb; i++) {
    IrValue *v = r->vals[i];
    for (int k = 0; k < v->nargs; k++) {
      IrValue *c = v->args[k];
      if (c->id < lo_id || c->id >= hi_id || c->parent != r || !orig[c->id] ||
          !(ir_region_stores(orig[c->id], fr) || views_stored(orig[c->id], fr)))
        continue;
      if (!kept[c->id]) {
        IrValue *stack = NULL;
        for (int j = bw->nc; j < bw->nc + bw->ne && !stack; j++)
          if (fr->results[j] == orig[c->id] && outs[j])
            stack = outs[j];
        if (!stack) {
          ir_region_add_result(g->arena, s->region, kept_value(bw, orig[c->id]));
          IrAttrs at = {.loop = {.index = s->region->nresults - 1}};
          IrBlock *saved = df->insert;
          df->insert = bw->outer == df->body ? NULL : bw->outer;
          stack = autodiff_emit(g, OP_SCAN_OUT, &s, 1, &at);
          df->insert = saved;
        }
        kept[c->id] = step_slice(g, stack, t, lo);
      }
      v->args[k] = kept[c->id];
    }
  }
  for (int i = 0; i < r->nresults; i++)
    if (r->results[i]->id < hi_id && kept[r->results[i]->id])
      r->results[i] = kept[r->results[i]->id];
  move_to(g->arena, r, nb, end); /* the slices before their first reader */
}

/* What the three parts of grad_scan share. */
typedef struct Bptt {
  Backward bw;
  GradCtx in;       /* the sweep of one step's adjoint, inside B */
  IrValue **outs;   /* S's outputs by index (NULL: unused) */
  IrValue **dcarry; /* B's carries: the adjoints of S's next carries */
  IrValue **cs;     /* in B: the carries the step started with */
  IrValue *t;       /* B's step */
  int lo_id;        /* the first value id made inside B */
  int64_t lo;
  Dim nsteps;
  /* values from outside the loop that got an adjoint in the step: summed
     in a carry, as one product after the loop, or as one reduction */
  IrValue **acc_of;
  int nacc, first_acc;
  Product *prods;
  int nprod;
  StepSum *sums;
  int nsum;
} Bptt;

/* B's region: the step's forward values again, from the carries S
 * stacked, then the sweep of their adjoints, seeded with B's carries and
 * the adjoints of what S emitted at the step. */
static void build_backward(Bptt *p) {
  GradCtx *g = p->bw.g;
  IrValue *s = p->bw.s;
  IrFunc *df = g->df;
  const IrBlock *fr = s->region;
  int nc = p->bw.nc, ne = p->bw.ne;
  const IrLoopAttrs *la = &IR_ATTR(s, loop);

  /* S also stacks the carry each step starts from */
  IrValue **cstack = ARENA_ARRAY(g->arena, IrValue *, (size_t)nc + 1);
  for (int i = 0; i < nc; i++) {
    ir_region_add_result(g->arena, s->region, fr->params[i + 1]);
    IrAttrs at = {.loop = {.index = s->region->nresults - 1}};
    cstack[i] = autodiff_emit(g, OP_SCAN_OUT, &s, 1, &at);
  }

  Backward *bw = &p->bw;
  bw->region = ir_region_new(g->arena, df, bw->outer, s->loc);
  IrValue *t = p->t = bw->region->params[0];
  for (int i = 0; i < nc; i++) {
    IrValue *d = p->outs[i] ? g->adj[p->outs[i]->id] : NULL;
    add_carry(bw, d ? d : outer_zeros(bw, &fr->params[i + 1]->type), s->args[i]);
  }
  p->dcarry = ARENA_ARRAY(g->arena, IrValue *, (size_t)nc + 1);
  for (int i = 0; i < nc; i++)
    p->dcarry[i] = ir_region_add_carry(g->arena, df, bw->region, fr->params[i + 1]->type, s->loc);

  /* the step's forward values again, from the carries it started with */
  IrBlock *saved = df->insert;
  df->insert = bw->region;
  IrValue **map = ARENA_ARRAY(g->arena, IrValue *, (size_t)df->next_id + 1);
  p->cs = ARENA_ARRAY(g->arena, IrValue *, (size_t)nc + 1);
  map[fr->params[0]->id] = t;
  for (int i = 0; i < nc; i++)
    map[fr->params[i + 1]->id] = p->cs[i] = step_slice(g, cstack[i], t, p->lo);
  p->lo_id = df->next_id;
  int first = bw->region->n;
  for (int i = 0; i < fr->n; i++)
    ir_copy_value(g->arena, df, fr->vals[i], map, NULL, NULL);
  int end = bw->region->n;

  GradCtx *in = &p->in;
  *in = *g;
  in->nfwd = df->next_id;
  in->adj = ARENA_ARRAY(g->arena, IrValue *, (size_t)in->nfwd + 1);
  in->leaf = ARENA_ARRAY(g->arena, bool, (size_t)in->nfwd + 1);
  in->adj_val = ARENA_ARRAY(g->arena, IrValue *, (size_t)in->nfwd + 1);
  for (int i = 0; i < nc; i++)
    in->leaf[p->cs[i]->id] = true;
  bw->leaves = ARENA_ARRAY(g->arena, IrValue *, (size_t)(end - first) + 1);
  bw->leaf_axis = ARENA_ARRAY(g->arena, int, (size_t)(end - first) + 1);
  for (int i = first; i < end; i++) {
    IrValue *v = bw->region->vals[i];
    int axis;
    if (step_aligned_slice(v, t, p->lo_id, *la->lo, p->nsteps, &axis)) {
      in->leaf[v->id] = true;
      bw->leaf_axis[bw->nleaves] = axis;
      bw->leaves[bw->nleaves++] = v;
    }
  }
  for (int i = 0; i < nc; i++)
    autodiff_accumulate(in, map[fr->results[i]->id], p->dcarry[i]);
  for (int j = 0; j < ne; j++)
    if (p->outs[nc + j] && g->adj[p->outs[nc + j]->id])
      autodiff_accumulate(in, map[fr->results[nc + j]->id],
                          step_slice(in, g->adj[p->outs[nc + j]->id], t, p->lo));
  autodiff_sweep(in, bw->region, first, end);
  keep_residuals(bw, map, p->outs, p->lo_id, in->nfwd, end, t, p->lo);
  df->insert = saved;
}

/* What B yields, in order: the adjoints of S's carries and the
 * accumulators (its carries), then the leaves' adjoints and the stacked
 * factors of the products and sums (its emitted values). */
static void collect_results(Bptt *p) {
  Backward *bw = &p->bw;
  GradCtx *g = bw->g, *in = &p->in;
  IrFunc *df = g->df;
  IrValue *s = bw->s;
  ShapeCtx *sc = &g->shape;
  IrBlock *saved = df->insert;
  df->insert = bw->region;
  for (int i = 0; i < bw->nc; i++) {
    IrValue *c = p->cs[i];
    IrValue *d = in->adj[c->id] ? in->adj[c->id] : zeros(g, &c->type);
    ir_region_add_result(g->arena, bw->region,
                         ir_region_materialise(g->arena, sc, df, d, bw->region, s->loc));
  }
  IrValue **accs = ARENA_ARRAY(g->arena, IrValue *, (size_t)p->lo_id + 1);
  p->acc_of = ARENA_ARRAY(g->arena, IrValue *, (size_t)p->lo_id + 1);
  p->prods = ARENA_ARRAY(g->arena, Product, (size_t)p->lo_id + 1);
  p->sums = ARENA_ARRAY(g->arena, StepSum, (size_t)p->lo_id + 1);
  for (int id = 0; id < p->lo_id; id++) {
    IrValue *dx = in->adj[id];
    if (!dx || in->leaf[id])
      continue;
    if (per_step_product(dx, bw->region, &p->prods[p->nprod])) {
      p->prods[p->nprod++].x = in->adj_val[id];
      continue;
    }
    if (per_step_sum(dx, bw->region, &p->sums[p->nsum])) {
      p->sums[p->nsum++].x = in->adj_val[id];
      continue;
    }
    IrValue *acc = ir_region_add_carry(g->arena, df, bw->region, dx->type, s->loc);
    p->acc_of[p->nacc] = in->adj_val[id];
    accs[p->nacc++] = acc;
    ir_region_add_result(g->arena, bw->region, autodiff_binary(g, OP_ADD, acc, dx));
  }
  for (int l = 0; l < bw->nleaves; l++) {
    IrValue *v = bw->leaves[l];
    IrValue *d = in->adj[v->id] ? in->adj[v->id] : zeros(g, &v->type);
    ir_region_add_result(g->arena, bw->region,
                         ir_region_materialise(g->arena, sc, df, d, bw->region, s->loc));
  }
  for (int k = 0; k < p->nprod; k++)
    stack_product(bw, p->prods, k, p->t, p->lo_id, *IR_ATTR(s, loop).lo, p->nsteps);
  for (int k = 0; k < p->nsum; k++)
    stack_sum(bw, &p->sums[k], p->prods, p->nprod);
  df->insert = saved;
  /* the accumulators' carries come after the adjoints of S's carries */
  p->first_acc = bw->ncarry;
  for (int k = 0; k < p->nacc; k++)
    add_carry(bw, outer_zeros(bw, &accs[k]->type), NULL);
}

/* B itself, after S, and its outputs added to the adjoints of S's
 * operands and of the values from outside the loop. */
static void assemble_scan(Bptt *p) {
  Backward *bw = &p->bw;
  GradCtx *g = bw->g;
  IrFunc *df = g->df;
  IrValue *s = bw->s;
  const IrLoopAttrs *la = &IR_ATTR(s, loop);
  IrAttrs at = {.loop = {.lo = la->lo, .hi = la->hi, .reverse = !la->reverse}};
  IrValue *b = ir_value_new(g->arena, df, OP_SCAN, bw->init, bw->ncarry, s->loc);
  b->attr = at;
  b->region = bw->region;
  if (!shape_infer(&g->shape, b))
    NNC_BUG("autodiff: the backward scan of %%%d is ill-typed", s->id);
  ir_block_append(g->arena, ir_func_block(df), b);

  for (int i = 0; i < bw->nc; i++) {
    IrAttrs o = {.loop = {.index = i}};
    autodiff_accumulate(g, s->args[i], autodiff_emit(g, OP_SCAN_OUT, &b, 1, &o));
  }
  for (int k = 0; k < p->nacc; k++) {
    IrAttrs o = {.loop = {.index = p->first_acc + k}};
    autodiff_accumulate(g, p->acc_of[k], autodiff_emit(g, OP_SCAN_OUT, &b, 1, &o));
  }
  for (int l = 0; l < bw->nleaves; l++) {
    IrAttrs o = {.loop = {.index = bw->ncarry + l}};
    IrValue *stack = autodiff_emit(g, OP_SCAN_OUT, &b, 1, &o);
    autodiff_accumulate(g, bw->leaves[l]->args[0], unstack(g, stack, bw->leaf_axis[l]));
  }
  IrValue **made = ARENA_ARRAY(g->arena, IrValue *, (size_t)bw->region->nresults + 1);
  for (int k = 0; k < p->nprod; k++)
    autodiff_accumulate(g, p->prods[k].x, product_after_loop(g, b, &p->prods[k], made));
  for (int k = 0; k < p->nsum; k++)
    autodiff_accumulate(g, p->sums[k].x, sum_after_loop(g, b, &p->sums[k], made));
}

void grad_scan(GradCtx *g, IrValue *s, IrValue *dy) {
  (void)dy;
  int nc = ir_scan_ncarry(s), ne = ir_scan_nemit(s);
  IrValue **outs = ARENA_ARRAY(g->arena, IrValue *, (size_t)(nc + ne) + 1);
  find_outputs(g, s, outs);
  bool any = false;
  for (int i = 0; i < nc + ne; i++)
    any |= outs[i] && g->adj[outs[i]->id];
  if (!any)
    return;
  const IrLoopAttrs *la = &IR_ATTR(s, loop);
  if (!dim_is_const(*la->lo))
    NNC_BUG("autodiff: a scan from a symbolic first step");
  Bptt p = {.bw = {.g = g, .s = s, .outer = ir_func_block(g->df), .nc = nc, .ne = ne},
            .outs = outs,
            .lo = la->lo->constant,
            .nsteps = ir_scan_steps(s)};
  build_backward(&p);
  collect_results(&p);
  assemble_scan(&p);
}
