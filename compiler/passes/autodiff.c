/* autodiff.c - reverse-mode AD over the tensor IR (see autodiff.h).
 *
 * The derived function is built in two sweeps. The forward sweep copies f's
 * body value by value, so the derived function owns its forward values and
 * later passes see one graph. The backward sweep walks the copies in reverse
 * definition order (a reverse topological order) and calls each op's rule
 * from ops.def with the value's accumulated adjoint; rules add their
 * contributions to the operands' adjoints through autodiff_accumulate. A value's
 * adjoint is complete when the sweep reaches it because all its uses come
 * later in the block.
 */
#include "autodiff_internal.h"

#include <stdarg.h>
#include <string.h>

IrValue *autodiff_emit(GradCtx *g, OpKind op, IrValue **args, int nargs, const IrAttrs *at) {
  IrValue *v =
      ir_emit(g->arena, &g->shape, g->df, op, args, nargs, args ? args[0]->loc : g->df->loc, at);
  if (!v)
    NNC_BUG("autodiff: the gradient rule built an ill-typed %s", op_info[op].name);
  return v;
}

/* Is x a transpose of a matrix, whose own transpose is its operand? */
static bool is_matrix_transpose(const IrValue *x) {
  return x->op == OP_TRANSPOSE && x->type.rank == 2 && IR_ATTR(x, layout).perm[0] == 1 &&
         IR_ATTR(x, layout).perm[1] == 0;
}

IrValue *autodiff_unary(GradCtx *g, OpKind op, IrValue *x) {
  /* The matmul rule transposes the other operand: for x @ transpose(W)
   * that is W itself, which a GEMM reads where it lies; a transpose of
   * the transpose would be copied (inside a loop, at every step). */
  if (op == OP_TRANSPOSE && is_matrix_transpose(x))
    return x->args[0];
  return autodiff_emit(g, op, &x, 1, NULL);
}

IrValue *autodiff_binary(GradCtx *g, OpKind op, IrValue *x, IrValue *y) {
  IrValue *xs[2] = {x, y};
  return autodiff_emit(g, op, xs, 2, NULL);
}

IrValue *autodiff_const_div(GradCtx *g, double scalar, Dim denom, DType dt) {
  IrValue *v = ir_value_new(g->arena, g->df, OP_CONST, NULL, 0, g->df->loc);
  IR_ATTR(v, source).scalar = scalar;
  IR_ATTR(v, source).denom = denom;
  v->type = ttype_scalar(dt);
  ir_block_append(g->arena, ir_func_block(g->df), v);
  return v;
}

IrValue *autodiff_const(GradCtx *g, double scalar, DType dt) {
  return autodiff_const_div(g, scalar, dim_const(0), dt);
}

IrValue *autodiff_reshape(GradCtx *g, IrValue *x, const TType *to) {
  if (ttype_eq_dims(&x->type, to))
    return x;
  IrAttrs at = {.layout = {.target = to, .infer_axis = -1}};
  return autodiff_emit(g, OP_RESHAPE, &x, 1, &at);
}

IrValue *autodiff_broadcast_to(GradCtx *g, IrValue *x, const TType *to) {
  if (ttype_eq_dims(&x->type, to))
    return x;
  IrAttrs at = {.expand = {.target = to}};
  return autodiff_emit(g, OP_BROADCAST, &x, 1, &at);
}

static bool is_one(Dim d) { return dim_is(d, 1); }

static bool same_reduction(const IrReduceAttrs *a, const IrReduceAttrs *b) {
  if (a->naxes != b->naxes || a->all_axes != b->all_axes || a->keepdims != b->keepdims)
    return false;
  for (int i = 0; i < a->naxes; i++)
    if (a->axes[i] != b->axes[i])
      return false;
  return true;
}

IrValue *autodiff_sum(GradCtx *g, IrValue *dx, const IrReduceAttrs *at) {
  SumMemo *m = g->sums;
  IrBlock *block = ir_func_block(g->df);
  for (int i = 0; m && i < m->n; i++) {
    struct SumEntry *e = &m->entries[i];
    if (e->dx == dx && e->block == block && same_reduction(&e->at, at))
      return e->sum;
  }
  IrAttrs attrs = {.reduce = *at};
  IrValue *sum = autodiff_emit(g, OP_SUM, &dx, 1, &attrs);
  if (m) {
    if (m->n == m->cap) {
      int cap = m->cap ? 2 * m->cap : 16;
      m->entries = arena_grow(g->arena, m->entries, (size_t)m->n, (size_t)cap, sizeof *m->entries);
      m->cap = cap;
    }
    m->entries[m->n++] = (struct SumEntry){dx, sum, block, *at};
  }
  return sum;
}

/* Broadcasting prepends axes and stretches axes of size 1: the adjoint sums
 * over the prepended axes (dropping them) and over the stretched ones
 * (keeping them as size 1). */
IrValue *autodiff_unbroadcast(GradCtx *g, IrValue *dx, const TType *to) {
  if (ttype_eq_dims(&dx->type, to))
    return dx;
  int lead = dx->type.rank - to->rank;
  if (lead < 0)
    NNC_BUG("autodiff: cannot unbroadcast to a higher rank");
  if (lead > 0) {
    IrReduceAttrs at = {.naxes = lead};
    for (int i = 0; i < lead; i++)
      at.axes[i] = i;
    dx = autodiff_sum(g, dx, &at);
  }
  IrReduceAttrs at = {.keepdims = true};
  for (int i = 0; i < to->rank; i++)
    if (is_one(to->dims[i]) && !is_one(dx->type.dims[i]))
      at.axes[at.naxes++] = i;
  if (at.naxes)
    dx = autodiff_sum(g, dx, &at);
  if (!ttype_eq_dims(&dx->type, to))
    NNC_BUG("autodiff: unbroadcast produced the wrong shape");
  return dx;
}

bool autodiff_carries_gradient(const IrValue *v) {
  return dtype_is_float(v->type.dtype) && v->op != OP_CONST;
}

void autodiff_accumulate(GradCtx *g, IrValue *v, IrValue *dx) {
  if (!autodiff_carries_gradient(v))
    return;
  if (v->id >= g->nfwd || !g->adj)
    NNC_BUG("autodiff: adjoint of a backward value");
  if (!ttype_eq(&v->type, &dx->type))
    NNC_BUG("autodiff: the adjoint of %%%d has the wrong type", v->id);
  g->adj[v->id] = g->adj[v->id] ? autodiff_binary(g, OP_ADD, g->adj[v->id], dx) : dx;
  if (g->adj_val)
    g->adj_val[v->id] = v;
}

/* ---- the two sweeps ---- */

static IrValue *copy_forward_value(void *ctx, const IrValue *v, IrValue **args) {
  GradCtx *g = ctx;
  if (v->op == OP_INPUT)
    return ir_func_add_input(g->arena, g->df, g->src->input_names[IR_ATTR(v, source).index],
                             v->type, v->origin);
  return ir_copy_plain(g->arena, g->df, v, args);
}

static void copy_forward(GradCtx *g, const IrFunc *f) {
  const IrBlock *b = f->body;
  for (int i = 0; i < b->n; i++)
    ir_copy_value(g->arena, g->df, b->vals[i], g->copy, copy_forward_value, g);
}

void autodiff_sweep(GradCtx *g, const IrBlock *b, int first, int end) {
  for (int i = end - 1; i >= first; i--) {
    IrValue *v = b->vals[i];
    if (v->op == OP_SCAN) { /* its outputs' adjoints are read by its rule */
      grad_scan(g, v, NULL);
      continue;
    }
    IrValue *dy = g->adj[v->id];
    if (!dy || !autodiff_carries_gradient(v) || (g->leaf && g->leaf[v->id]))
      continue;
    GradRule rule = op_info[v->op].grad;
    if (rule)
      rule(g, v, dy);
  }
}

/* The gradient of a trainable parameter sums over every value that reads it. */
static IrValue *param_gradient(GradCtx *g, int index) {
  const IrParam *p = g->mod->params[index];
  IrValue *sum = NULL;
  for (int i = 0; i < g->ntop; i++) {
    IrValue *v = g->df->body->vals[i];
    if (v->op == OP_PARAM && IR_ATTR(v, source).index == index && g->adj[v->id])
      sum = sum ? autodiff_binary(g, OP_ADD, sum, g->adj[v->id]) : g->adj[v->id];
  }
  if (!sum)
    sum = autodiff_broadcast_to(g, autodiff_const(g, 0.0, p->type.dtype), &p->type);
  return sum;
}

static IrValue *seed_adjoint(GradCtx *g, IrValue *result) {
  if (result->type.rank == 0)
    return autodiff_const(g, 1.0, result->type.dtype);
  return ir_func_add_input(g->arena, g->df, "seed", result->type, result->loc);
}

static void add_gradient_results(GradCtx *g, const AdOptions *o) {
  for (int i = 0; i < g->mod->nparams; i++) {
    const IrParam *p = g->mod->params[i];
    if (p->trainable && dtype_is_float(p->type.dtype))
      ir_func_add_result(g->arena, g->df, param_gradient(g, i),
                         arena_printf(g->arena, "d.%s", p->name));
  }
  if (!o->wrt_inputs)
    return;
  int nin = g->df->ninputs;
  for (int i = 0; i < nin; i++) {
    IrValue *x = g->df->inputs[i];
    if (!dtype_is_float(x->type.dtype) || x->id >= g->nfwd)
      continue; /* labels; the seed */
    IrValue *d = g->adj[x->id];
    if (!d)
      d = autodiff_broadcast_to(g, autodiff_const(g, 0.0, x->type.dtype), &x->type);
    ir_func_add_result(g->arena, g->df, d, arena_printf(g->arena, "d.%s", g->df->input_names[i]));
  }
}

IrFunc *autodiff_func(Arena *a, IrModule *m, const IrFunc *f, const AdOptions *o, char *err,
                      size_t errlen) {
  GradCtx g = {.arena = a, .mod = m, .src = f, .sums = ARENA_NEW(a, SumMemo)};
  g.df = ir_func_new(a, arena_printf(a, "%s.grad", f->name), f->loc);
  g.df->dim_syms = f->dim_syms;
  g.df->ndims = f->ndims;
  diag_init(&g.diag, a, stderr);
  g.shape = (ShapeCtx){.diag = &g.diag, .arena = a, .syms = m->syms, .module = m};
  g.copy = ARENA_ARRAY(a, IrValue *, (size_t)f->next_id + 1);
  if (!f->result || f->nresults != 1) {
    snprintf(err, errlen, "autodiff: function '%s' has %s result", f->name,
             f->result ? "more than one" : "no");
    return NULL;
  }
  copy_forward(&g, f);
  g.nfwd = g.df->next_id;
  g.ntop = g.df->body->n;
  g.adj = ARENA_ARRAY(a, IrValue *, (size_t)g.nfwd + 1);
  if (!dtype_is_float(f->result->type.dtype)) {
    snprintf(err, errlen, "autodiff: the result of '%s' is not floating-point", f->name);
    return NULL;
  }
  IrValue *result = g.copy[f->result->id];
  ir_func_add_result(a, g.df, result, "result");
  g.adj[result->id] = seed_adjoint(&g, result);
  autodiff_sweep(&g, g.df->body, 0, g.ntop);
  add_gradient_results(&g, o);
  /* Rules build every operand's adjoint; the ones that reach no requested
   * gradient (a label's, an unrequested input's) are dropped here. */
  ir_func_remove_dead(g.df);
  ir_module_add_func(a, m, g.df);
  return g.df;
}

/* ---- f32 -> f64 ---- */

static void retype(TType *t) {
  if (t->dtype == DT_F32)
    t->dtype = DT_F64;
}

static void retype_block(IrBlock *b) {
  for (int i = 0; i < b->nparams; i++)
    retype(&b->params[i]->type);
  for (int i = 0; i < b->n; i++) {
    IrValue *v = b->vals[i];
    retype(&v->type);
    /* the element types an op's attributes name (a target shape's dtype
       is never read: the result's comes from the operand or the op) */
    DType *dt = op_info[v->op].cls == OPC_ONEHOT     ? &IR_ATTR(v, onehot).dtype
                : op_info[v->op].cls == OPC_GENERATE ? &IR_ATTR(v, gen).dtype
                : v->op == OP_CAST                   ? &IR_ATTR(v, unary).to
                                                     : NULL;
    if (dt && *dt == DT_F32)
      *dt = DT_F64;
    if (v->region)
      retype_block(v->region);
  }
}

void autodiff_retype_f64(IrModule *m) {
  for (int i = 0; i < m->nparams; i++)
    retype(&m->params[i]->type);
  for (int i = 0; i < m->nfuncs; i++) {
    retype_block(m->funcs[i]->body);
    if (m->funcs[i]->training)
      retype_block(m->funcs[i]->training->body);
  }
}
