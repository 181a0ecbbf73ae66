/* gen_step.c - the generation step: the function a generate section names,
 * compiled as one more entry point whose state writes happen, so that the
 * recurrent state carries from one token to the next; and the tables it
 * picks rows from instead of multiplying an embedding by a weight matrix
 * for every token (gen_step.h).
 *
 * At batch 1 a step is matrix-vector products that read their weights from
 * cache; char_lstm's gather(emb, tok) @ W_ih^T read 256 KB of its 1.3 MB
 * per character. As a row of emb @ W_ih^T it reads 4 KB. */
#include "gen_step.h"

#include <string.h>

/* A table is at most this many times the weight matrix it replaces: its
 * rows are the vocabulary, which for a generate section is at most 256
 * bytes, so this only keeps a large table from being built for a small
 * projection. */
enum { TABLE_MAX_GROWTH = 4 };

typedef struct Fold {
  const IrValue *product; /* gather(E, idx) @ W in the step function */
  IrValue *input;         /* the table's input in the copy */
} Fold;

typedef struct Gen {
  Arena *a;
  const IrFunc *f; /* the step as written */
  IrModule *m;
  bool *invariant; /* by value id of f: computed from unwritten parameters alone */
  Fold *folds;
  int nfolds;
  IrFunc *step, *tables;
  IrValue **map;       /* value id of f -> its copy in the step */
  IrValue **table_map; /* value id of f -> its copy in tables */
  ShapeCtx shape;
} Gen;

/* Values of the body that are the same at every token: parameters the
 * step does not write, constants and what is computed from them alone
 * (not random, not a loop). */
static void find_invariants(Gen *g) {
  const IrBlock *b = g->f->body;
  int32_t *states = ARENA_ARRAY(g->a, int32_t, (size_t)g->m->nparams + 1);
  bool *written = ARENA_ARRAY(g->a, bool, (size_t)g->m->nparams + 1);
  for (int i = gen_step_states(g->m, g->f, states) - 1; i >= 0; i--)
    written[states[i]] = true;
  for (int i = 0; i < b->n; i++) {
    const IrValue *v = b->vals[i];
    bool inv;
    if (v->op == OP_PARAM)
      inv = !written[IR_ATTR(v, source).index];
    else if (v->op == OP_CONST)
      inv = true;
    else if (v->op == OP_INPUT || v->op == OP_ASSIGN || v->region || ir_is_random(v) ||
             op_info[v->op].cls == OPC_LOOP)
      inv = false;
    else {
      inv = true;
      for (int k = 0; k < v->nargs; k++)
        inv &= g->invariant[v->args[k]->id];
    }
    g->invariant[v->id] = inv;
  }
}

/* gather(E, idx) @ W with E [V, K] and W [K, N] both invariant, idx a
 * vector, and a table E @ W of a size worth keeping. */
static bool foldable(const Gen *g, const IrValue *v) {
  if (v->op != OP_MATMUL || v->type.rank != 2 || !dtype_is_float(v->type.dtype))
    return false;
  const IrValue *rows = v->args[0], *w = v->args[1];
  if (rows->op != OP_GATHER || rows->args[1]->type.rank != 1 || !g->invariant[w->id])
    return false;
  const IrValue *e = rows->args[0];
  if (!g->invariant[e->id] || e->type.rank != 2 || w->type.rank != 2 ||
      !ttype_is_constant(&e->type) || !ttype_is_constant(&w->type))
    return false;
  int64_t vocab = e->type.dims[0].constant, k = w->type.dims[0].constant;
  return vocab <= TABLE_MAX_GROWTH * k;
}

/* v and the invariant values it reads, copied into tables (once each). */
static IrValue *copy_to_tables(Gen *g, const IrValue *v) {
  if (g->table_map[v->id])
    return g->table_map[v->id];
  IrValue *small[8];
  IrValue **args = v->nargs <= 8 ? small : ARENA_ARRAY(g->a, IrValue *, (size_t)v->nargs);
  for (int k = 0; k < v->nargs; k++)
    args[k] = copy_to_tables(g, v->args[k]);
  return g->table_map[v->id] = ir_copy_plain(g->a, g->tables, v, args);
}

static IrValue *emit(Gen *g, IrFunc *f, OpKind op, IrValue **args, int nargs, SrcSpan loc,
                     const IrAttrs *at) {
  IrValue *v = ir_emit(g->a, &g->shape, f, op, args, nargs, loc, at);
  if (!v)
    NNC_BUG("gen_step: ill-typed %s", op_info[op].name);
  return v;
}

/* tables' result k: E @ W of fold k. */
static void add_table(Gen *g, int k) {
  const IrValue *product = g->folds[k].product, *rows = product->args[0];
  IrValue *args[2] = {copy_to_tables(g, rows->args[0]), copy_to_tables(g, product->args[1])};
  IrValue *t = emit(g, g->tables, OP_MATMUL, args, 2, product->loc, NULL);
  ir_func_add_result(g->a, g->tables, t, arena_printf(g->a, "table%d", k));
}

static IrValue *copy_or_pick(void *ctx, const IrValue *v, IrValue **args) {
  Gen *g = ctx;
  for (int k = 0; k < g->nfolds; k++)
    if (g->folds[k].product == v) {
      const IrValue *rows = v->args[0];
      IrValue *pick[2] = {g->folds[k].input, g->map[rows->args[1]->id]};
      return emit(g, g->step, OP_GATHER, pick, 2, v->loc, &rows->attr);
    }
  return ir_copy_plain(g->a, g->step, v, args);
}

/* The step copied with each folded product a gather from its table, which
 * the step takes as inputs after its own. */
static void build_folded_step(Gen *g, const char *name) {
  const IrFunc *f = g->f;
  IrFunc *s = g->step = ir_func_new(g->a, name, f->loc);
  int n = f->ninputs + g->nfolds;
  s->ninputs = s->cap_inputs = n;
  s->inputs = ARENA_ARRAY(g->a, IrValue *, (size_t)n);
  s->input_names = ARENA_ARRAY(g->a, const char *, (size_t)n);
  for (int i = 0; i < f->ninputs; i++)
    s->input_names[i] = f->input_names[i];
  for (int k = 0; k < g->nfolds; k++) {
    IrValue *in = ir_value_new(g->a, s, OP_INPUT, NULL, 0, g->folds[k].product->loc);
    IR_ATTR(in, source).index = f->ninputs + k;
    in->type = g->tables->results[k]->type;
    in->origin = in->loc;
    ir_block_append(g->a, s->body, in);
    s->inputs[f->ninputs + k] = g->folds[k].input = in;
    s->input_names[f->ninputs + k] = g->tables->result_names[k];
  }
  g->map = ARENA_ARRAY(g->a, IrValue *, (size_t)f->next_id + 1);
  for (int i = 0; i < f->body->n; i++)
    ir_copy_value(g->a, s, f->body->vals[i], g->map, copy_or_pick, g);
  for (int i = 0; i < f->ninputs; i++)
    s->inputs[i] = g->map[f->inputs[i]->id];
  for (int i = 0; i < f->nresults; i++)
    ir_func_add_result(g->a, s, g->map[f->results[i]->id], f->result_names[i]);
  s->dim_syms = f->dim_syms;
  s->ndims = f->ndims;
  s->writes_state = true; /* before liveness, which keeps the writes only then */
  ir_func_remove_dead(s); /* the embedding rows and the weights the tables replaced */
}

static void fold_tables(Gen *g) {
  const IrBlock *b = g->f->body;
  g->invariant = ARENA_ARRAY(g->a, bool, (size_t)g->f->next_id + 1);
  find_invariants(g);
  g->folds = ARENA_ARRAY(g->a, Fold, (size_t)b->n + 1);
  for (int i = 0; i < b->n; i++)
    if (foldable(g, b->vals[i]))
      g->folds[g->nfolds++] = (Fold){b->vals[i], NULL};
}

GenStep gen_step_build(Arena *a, IrModule *m, const TrainConfig *c) {
  if (!c->has_generate || !c->gen_step)
    return (GenStep){NULL, NULL};
  const IrFunc *f = ir_module_func(m, c->gen_step);
  if (!f)
    NNC_BUG("the generation step '%s' is not a function of %s", c->gen_step, m->name);
  const char *name = arena_printf(a, "generate.%s", f->name);
  Gen g = {.a = a, .m = m, .f = f, .shape = {.arena = a, .module = m}};
  fold_tables(&g);
  if (g.nfolds) {
    g.tables = ir_func_new(a, arena_printf(a, "%s.tables", name), f->loc);
    g.table_map = ARENA_ARRAY(a, IrValue *, (size_t)f->next_id + 1);
    for (int k = 0; k < g.nfolds; k++)
      add_table(&g, k);
    build_folded_step(&g, name);
    ir_module_add_func(a, m, g.tables);
  } else { /* the plain function's body, shared; its liveness drops the writes (ir.c) */
    g.step = ARENA_NEW(a, IrFunc);
    *g.step = *f;
    g.step->name = name;
  }
  g.step->writes_state = true;
  g.step->guard = NULL;
  g.step->training = NULL;
  ir_module_add_func(a, m, g.step);
  return (GenStep){g.step, g.tables};
}

int gen_step_states(const IrModule *m, const IrFunc *g, int32_t *out) {
  int n = 0;
  for (int i = 0; i < g->body->n; i++) {
    const IrValue *v = g->body->vals[i];
    if (v->op != OP_ASSIGN || v->args[0]->op != OP_PARAM)
      continue;
    int32_t p = IR_ATTR(v->args[0], source).index;
    bool seen = false;
    for (int k = 0; k < n; k++)
      seen |= out[k] == p;
    if (!seen && n < m->nparams)
      out[n++] = p;
  }
  return n;
}
