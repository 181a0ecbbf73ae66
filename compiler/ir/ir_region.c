/* ir_region.c - loops in the IR: a scan's region, its parameters and
 * results, and its shape rules.
 *
 * A scan is one value of its block owning a nested block, the region.
 * The region's parameters are values of their own (the step index, then
 * one per carry) defined inside it; its results name the values a step
 * leaves for the next (the carries' next values, in carry order) and the
 * values it emits. Values inside may read anything defined before the scan
 * in an enclosing block (the verifier checks it), so a layer's parameters
 * and the whole input sequence are simply in scope. The scan's operands
 * are the carries' initial values; its outputs are scan_out values after
 * it, so that every other pass keeps seeing one result per value.
 */
#include "ir.h"

Dim ir_scan_steps(const IrValue *scan) {
  const IrLoopAttrs *la = &IR_ATTR(scan, loop);
  Dim n;
  const char *why;
  if (!dim_sub(*la->hi, *la->lo, &n, &why))
    return dim_unknown();
  return n;
}

static void add_param(Arena *a, IrBlock *b, IrValue *v) {
  b->params =
      arena_grow(a, b->params, (size_t)b->nparams, (size_t)b->nparams + 1, sizeof *b->params);
  b->params[b->nparams++] = v;
  v->parent = b;
}

IrBlock *ir_region_new(Arena *a, IrFunc *f, IrBlock *parent, SrcSpan loc) {
  IrBlock *r = ir_block_new(a, parent);
  IrValue *t = ir_value_new(a, f, OP_SCAN_STEP, NULL, 0, loc);
  t->type = ttype_scalar(DT_I32);
  add_param(a, r, t);
  return r;
}

IrValue *ir_region_add_carry(Arena *a, IrFunc *f, IrBlock *region, TType t, SrcSpan loc) {
  IrValue *c = ir_value_new(a, f, OP_SCAN_CARRY, NULL, 0, loc);
  c->type = t;
  IR_ATTR(c, loop).index = region->nparams - 1;
  add_param(a, region, c);
  return c;
}

void ir_region_add_result(Arena *a, IrBlock *region, IrValue *v) {
  region->results = arena_grow(a, region->results, (size_t)region->nresults,
                               (size_t)region->nresults + 1, sizeof *region->results);
  region->results[region->nresults++] = v;
}

void ir_block_walk(const IrBlock *b, void (*fn)(IrValue *v, void *ctx), void *ctx) {
  for (int i = 0; i < b->n; i++) {
    IrValue *v = b->vals[i];
    if (v->region) {
      for (int p = 0; p < v->region->nparams; p++)
        fn(v->region->params[p], ctx);
      ir_block_walk(v->region, fn, ctx);
    }
    fn(v, ctx);
  }
}

/* ---- shape rules (ops.def) ---- */

/* The carries' next values have the carries' types (the lowering reports a
 * user's mismatch by name first; this holds for every pass after it). */
bool shape_scan(ShapeCtx *c, IrValue *v) {
  const IrBlock *r = v->region;
  if (!r || r->nparams < 1 || r->nresults < r->nparams - 1 || v->nargs != r->nparams - 1)
    NNC_BUG("scan %%%d: region parameters and results do not match its operands", v->id);
  for (int i = 0; i < v->nargs; i++) {
    const IrValue *carry = r->params[i + 1], *next = r->results[i];
    if (!ttype_eq(&v->args[i]->type, &carry->type) || !ttype_eq(&next->type, &carry->type)) {
      diag_error(c->diag, next->loc, "the next value of carry %d is %s; the carry is %s", i,
                 ttype_str(c->arena, c->syms, &next->type),
                 ttype_str(c->arena, c->syms, &carry->type));
      return false;
    }
  }
  const IrLoopAttrs *la = &IR_ATTR(v, loop);
  if (!la->lo || !la->hi)
    NNC_BUG("scan %%%d without bounds", v->id);
  v->type = ttype_scalar(DT_BOOL); /* a token: the outputs are scan_out values */
  return true;
}

bool shape_scan_out(ShapeCtx *c, IrValue *v) {
  const IrValue *scan = v->args[0];
  int i = IR_ATTR(v, loop).index, nc = ir_scan_ncarry(scan);
  if (scan->op != OP_SCAN || i < 0 || i >= scan->region->nresults)
    NNC_BUG("scan_out %%%d: no output %d", v->id, i);
  if (i < nc) {
    v->type = scan->region->params[i + 1]->type;
    return true;
  }
  const TType *e = &scan->region->results[i]->type;
  if (e->rank + 1 > TYPE_MAX_RANK) {
    diag_error(c->diag, v->loc, "an emitted value of rank %d stacks to more than %d axes", e->rank,
               TYPE_MAX_RANK);
    return false;
  }
  TType t = *e;
  t.rank = e->rank + 1;
  t.dims[0] = ir_scan_steps(scan);
  for (int k = 0; k < e->rank; k++)
    t.dims[k + 1] = e->dims[k];
  v->type = t;
  return true;
}

/* ---- copying ---- */

static IrValue *mapped(IrValue **map, IrValue *x) { return map[x->id] ? map[x->id] : x; }

IrValue *ir_copy_plain(Arena *a, IrFunc *f, const IrValue *v, IrValue **args) {
  IrValue *c = ir_value_new(a, f, v->op, args, v->nargs, v->loc);
  c->attr = v->attr;
  c->type = v->type;
  c->origin = v->origin;
  ir_block_append(a, ir_func_block(f), c);
  return c;
}

static IrValue *copy_scan(Arena *a, IrFunc *f, const IrValue *v, IrValue **args, IrValue **map,
                          IrCopyFn copy, void *ctx) {
  const IrBlock *r = v->region;
  IrBlock *outer = ir_func_block(f);
  IrBlock *nr = ir_region_new(a, f, outer, r->params[0]->loc);
  map[r->params[0]->id] = nr->params[0];
  for (int i = 1; i < r->nparams; i++)
    map[r->params[i]->id] = ir_region_add_carry(a, f, nr, r->params[i]->type, r->params[i]->loc);
  IrBlock *saved = f->insert;
  f->insert = nr;
  for (int i = 0; i < r->n; i++)
    ir_copy_value(a, f, r->vals[i], map, copy, ctx);
  f->insert = saved;
  for (int i = 0; i < r->nresults; i++)
    ir_region_add_result(a, nr, mapped(map, r->results[i]));
  IrValue *c = ir_value_new(a, f, OP_SCAN, args, v->nargs, v->loc);
  c->attr = v->attr;
  c->type = v->type;
  c->region = nr;
  ir_block_append(a, outer, c);
  return c;
}

IrValue *ir_copy_value(Arena *a, IrFunc *f, const IrValue *v, IrValue **map, IrCopyFn copy,
                       void *ctx) {
  IrValue *small[8];
  IrValue **args = v->nargs <= 8 ? small : ARENA_ARRAY(a, IrValue *, (size_t)v->nargs);
  for (int k = 0; k < v->nargs; k++)
    args[k] = mapped(map, v->args[k]);
  IrValue *c = v->region ? copy_scan(a, f, v, args, map, copy, ctx)
               : copy    ? copy(ctx, v, args)
                         : ir_copy_plain(a, f, v, args);
  map[v->id] = c;
  return c;
}

bool ir_region_stores(const IrValue *v, const IrBlock *region) {
  OpClass k = op_info[v->op].cls;
  return v->parent == region && !ir_in_place(v) && k != OPC_VIEW && k != OPC_SOURCE &&
         (k != OPC_LOOP || v->op == OP_SCAN_OUT) && v->op != OP_RESHAPE && v->op != OP_TRANSPOSE;
}

IrValue *ir_region_materialise(Arena *a, ShapeCtx *c, IrFunc *f, IrValue *v, const IrBlock *region,
                               SrcSpan loc) {
  if (ir_region_stores(v, region))
    return v;
  IrAttrs at = {.expand = {.target = &v->type}};
  return ir_emit(a, c, f, OP_BROADCAST, &v, 1, loc, &at);
}

/* ---- pruning ----
 * A loop computes what its region yields whether or not anyone reads it.
 * What no one reads is dropped here: an emitted stack whose scan_out is
 * dead, and a carry whose final value is dead and which no needed value
 * of the region reads (an adjoint nobody asked for, the accumulated
 * gradient of an input that is data). Then the region's values that none
 * of what is left depends on. */

typedef struct Prune {
  bool *live;
  bool **want; /* scan id -> per output: needed (carries: also read in the region) */
  Arena *a;
} Prune;

static bool *want_of(Prune *p, const IrValue *s) {
  if (!p->want[s->id])
    p->want[s->id] = ARENA_ARRAY(p->a, bool, (size_t)s->region->nresults + 1);
  return p->want[s->id];
}

static void scan_liveness(Prune *p, const IrValue *s);

static void block_liveness(Prune *p, const IrBlock *b) {
  for (int i = b->n - 1; i >= 0; i--) {
    const IrValue *v = b->vals[i];
    if (!p->live[v->id])
      continue;
    if (v->op == OP_SCAN_OUT) {
      want_of(p, v->args[0])[IR_ATTR(v, loop).index] = true;
      p->live[v->args[0]->id] = true;
    } else if (v->op == OP_SCAN) {
      scan_liveness(p, v);
    } else {
      for (int k = 0; k < v->nargs; k++)
        p->live[v->args[k]->id] = true;
    }
  }
}

static void scan_liveness(Prune *p, const IrValue *s) {
  const IrBlock *r = s->region;
  int nc = ir_scan_ncarry(s);
  bool *want = want_of(p, s);
  for (bool changed = true; changed;) {
    for (int i = 0; i < r->nresults; i++)
      if (want[i])
        p->live[r->results[i]->id] = true;
    block_liveness(p, r);
    changed = false;
    for (int i = 0; i < nc; i++)
      if (!want[i] && p->live[r->params[i + 1]->id])
        want[i] = changed = true;
  }
  p->live[r->params[0]->id] = true;
  for (int i = 0; i < nc; i++)
    if (want[i])
      p->live[s->args[i]->id] = p->live[r->params[i + 1]->id] = true;
}

static void prune_block(Prune *p, IrBlock *b);

static void prune_scan(Prune *p, IrValue *s) {
  IrBlock *r = s->region;
  int nc = ir_scan_ncarry(s), n = r->nresults;
  bool *want = want_of(p, s);
  int *to = ARENA_ARRAY(p->a, int, (size_t)n + 1);
  int k = 0;
  for (int i = 0; i < nc; i++) {
    to[i] = want[i] ? k : -1;
    if (!want[i])
      continue;
    r->params[k + 1] = r->params[i + 1];
    IR_ATTR(r->params[k + 1], loop).index = k;
    s->args[k] = s->args[i];
    r->results[k++] = r->results[i];
  }
  int kept_carries = k;
  for (int i = nc; i < n; i++) {
    to[i] = want[i] ? k : -1;
    if (want[i])
      r->results[k++] = r->results[i];
  }
  r->nparams = kept_carries + 1;
  s->nargs = kept_carries;
  r->nresults = k;
  const IrBlock *b = s->parent;
  for (int i = 0; i < b->n; i++) {
    IrValue *o = b->vals[i];
    if (o->op == OP_SCAN_OUT && o->args[0] == s && p->live[o->id])
      IR_ATTR(o, loop).index = to[IR_ATTR(o, loop).index];
  }
  prune_block(p, r);
}

static void prune_block(Prune *p, IrBlock *b) {
  int n = 0;
  for (int i = 0; i < b->n; i++) {
    IrValue *v = b->vals[i];
    if (!p->live[v->id])
      continue;
    if (v->region)
      prune_scan(p, v);
    b->vals[n++] = v;
  }
  b->n = n;
}

void ir_func_prune_loops(IrFunc *f) {
  Arena a;
  arena_init(&a);
  Prune p = {.a = &a};
  p.live = ARENA_ARRAY(&a, bool, (size_t)f->next_id + 1);
  p.want = ARENA_ARRAY(&a, bool *, (size_t)f->next_id + 1);
  /* the roots of ir_func_liveness(f, live, true) */
  for (int i = 0; i < f->nresults; i++)
    p.live[f->results[i]->id] = true;
  if (f->guard)
    p.live[f->guard->id] = true;
  for (int i = 0; i < f->body->n; i++) {
    const IrValue *v = f->body->vals[i];
    if (v->op == OP_INPUT || v->op == OP_ASSIGN)
      p.live[v->id] = true;
  }
  block_liveness(&p, f->body);
  prune_block(&p, f->body);
  arena_free(&a);
}
