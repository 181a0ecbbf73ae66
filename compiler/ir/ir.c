/* ir.c - the op info table built from ops.def, and IR construction. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* Prototypes of the shape rules (shape.c) and gradient rules (grad_rules.c)
 * named in ops.def. */
#define OP(e, text, arity, cls, shape, grad, emit)                                                 \
  bool shape(ShapeCtx *c, IrValue *v);                                                             \
  void grad(GradCtx *g, IrValue *v, IrValue *dy);
#include "ops.def"

/* Non-differentiable rows name NODIFF, which becomes a NULL rule here. */
#define NODIFF NULL
const OpInfo op_info[OP_COUNT] = {
#define OP(e, text, arity, cls, shape, grad, emit) [OP_##e] = {text, arity, OPC_##cls, shape, grad},
#include "ops.def"
};
#undef NODIFF

/* The class of each row as a constant, so that the ends of every OP_RANGE
 * can be checked to be of its class. */
enum {
#define OP(e, text, arity, cls, shape, grad, emit) OP_CLASS_OF_##e = (int)OPC_##cls,
#include "ops.def"
};
#define OP_RANGE(cls, first, last)                                                                 \
  _Static_assert(OP_CLASS_OF_##first == (int)OPC_##cls && OP_CLASS_OF_##last == (int)OPC_##cls &&  \
                     OP_##first <= OP_##last,                                                      \
                 "OP_RANGE(" #cls ", " #first ", " #last ") in ops.def: both ends must be " #cls);
#include "ops.def"

IrFunc *ir_func_new(Arena *a, const char *name, SrcSpan loc) {
  IrFunc *f = ARENA_NEW(a, IrFunc);
  f->name = name;
  f->loc = loc;
  f->body = ir_block_new(a, NULL);
  return f;
}

IrBlock *ir_block_new(Arena *a, IrBlock *parent) {
  IrBlock *b = ARENA_NEW(a, IrBlock);
  b->parent = parent;
  return b;
}

IrValue *ir_value_new(Arena *a, IrFunc *f, OpKind op, IrValue **args, int nargs, SrcSpan loc) {
  IrValue *v = ARENA_NEW(a, IrValue);
  v->id = f->next_id++;
  v->op = op;
  v->nargs = nargs;
  if (nargs) {
    v->args = ARENA_ARRAY(a, IrValue *, (size_t)nargs);
    for (int i = 0; i < nargs; i++)
      v->args[i] = args[i];
  }
  v->loc = loc;
  v->origin = diag_span_none();
  if (ir_attr_member(op) == IRA_layout)
    v->attr.layout.infer_axis = -1;
  return v;
}

/* ---- attributes ---- */

IrAttrMember ir_attr_member(OpKind op) {
  static const IrAttrMember of_class[] = {
      [OPC_SOURCE] = IRA_source, [OPC_UNARY] = IRA_unary,     [OPC_REDUCE] = IRA_reduce,
      [OPC_LAYOUT] = IRA_layout, [OPC_ROWWISE] = IRA_rowwise, [OPC_EXPAND] = IRA_expand,
      [OPC_ONEHOT] = IRA_onehot, [OPC_GATHER] = IRA_gather,   [OPC_GENERATE] = IRA_gen,
      [OPC_VIEW] = IRA_view,     [OPC_CONV] = IRA_conv,       [OPC_LOOP] = IRA_loop,
  };
  OpClass c = (unsigned)op < OP_COUNT ? op_info[op].cls : OPC_BINARY;
  return (size_t)c < sizeof of_class / sizeof of_class[0] ? of_class[c] : IRA_none;
}

const char *ir_attr_member_name(IrAttrMember m) {
  static const char *const names[] = {"none",    "source", "unary",  "reduce", "layout",
                                      "rowwise", "expand", "onehot", "gather", "gen",
                                      "view",    "conv",   "loop"};
  return (size_t)m < sizeof names / sizeof names[0] ? names[m] : "?";
}

void ir_attr_mismatch(const IrValue *v, IrAttrMember m) {
  IrAttrMember has = ir_attr_member(v->op);
  NNC_BUG("%%%d (%s) has %s%s, read as %s attributes", v->id,
          (unsigned)v->op < OP_COUNT ? op_info[v->op].name : "?",
          has == IRA_none ? "no attributes" : ir_attr_member_name(has),
          has == IRA_none ? "" : " attributes", ir_attr_member_name(m));
}

static const void *copy_payload(Arena *a, const void *p, size_t size) {
  if (!p)
    return NULL;
  void *q = arena_alloc(a, size);
  memcpy(q, p, size);
  return q;
}

/* The value owns its attributes: payloads the caller pointed at (often its
 * own stack) are copied into the arena. */
static void own_attrs(Arena *a, IrValue *v) {
  IrAttrs *at = &v->attr;
  switch (ir_attr_member(v->op)) {
  case IRA_layout:
    at->layout.target = copy_payload(a, at->layout.target, sizeof(TType));
    break;
  case IRA_expand:
    at->expand.target = copy_payload(a, at->expand.target, sizeof(TType));
    break;
  case IRA_gen:
    at->gen.target = copy_payload(a, at->gen.target, sizeof(TType));
    break;
  case IRA_view:
    at->view = copy_payload(a, at->view, sizeof(IrViewAttrs));
    break;
  case IRA_conv:
    at->conv = copy_payload(a, at->conv, sizeof(IrConvAttrs));
    break;
  case IRA_loop:
    if (at->loop.lo)
      at->loop.lo = copy_payload(a, at->loop.lo, sizeof(Dim));
    if (at->loop.hi)
      at->loop.hi = copy_payload(a, at->loop.hi, sizeof(Dim));
    break;
  default:
    break;
  }
}

IrValue *ir_emit(Arena *a, ShapeCtx *c, IrFunc *f, OpKind op, IrValue **args, int nargs,
                 SrcSpan loc, const IrAttrs *attrs) {
  IrValue *v = ir_value_new(a, f, op, args, nargs, loc);
  if (attrs) {
    /* an op without attributes given some: they were meant for another op */
    if (ir_attr_member(op) == IRA_none)
      NNC_BUG("%s takes no attributes, but some were given", op_info[op].name);
    v->attr = *attrs;
    own_attrs(a, v);
  }
  if (!shape_infer(c, v))
    return NULL;
  ir_block_append(a, ir_func_block(f), v);
  return v;
}

void ir_block_append(Arena *a, IrBlock *b, IrValue *v) {
  if (b->n == b->cap) {
    int cap = b->cap ? b->cap * 2 : 16;
    b->vals = arena_grow(a, b->vals, (size_t)b->n, (size_t)cap, sizeof *b->vals);
    b->cap = cap;
  }
  b->vals[b->n++] = v;
  v->parent = b;
}

static void *grow(Arena *a, void *xs, int n, int *cap, size_t size) {
  if (n < *cap)
    return xs;
  int c = *cap ? *cap * 2 : 4;
  xs = arena_grow(a, xs, (size_t)n, (size_t)c, size);
  *cap = c;
  return xs;
}

IrValue *ir_func_add_input(Arena *a, IrFunc *f, const char *name, TType t, SrcSpan loc) {
  int cap = f->cap_inputs;
  f->inputs = grow(a, f->inputs, f->ninputs, &cap, sizeof *f->inputs);
  f->input_names =
      grow(a, (void *)f->input_names, f->ninputs, &f->cap_inputs, sizeof *f->input_names);
  IrValue *v = ir_value_new(a, f, OP_INPUT, NULL, 0, loc);
  IR_ATTR(v, source).index = f->ninputs;
  v->type = t;
  v->origin = loc;
  ir_block_append(a, f->body, v);
  f->input_names[f->ninputs] = name;
  f->inputs[f->ninputs++] = v;
  return v;
}

void ir_func_add_result(Arena *a, IrFunc *f, IrValue *v, const char *name) {
  int cap = f->cap_results;
  f->results = grow(a, f->results, f->nresults, &cap, sizeof *f->results);
  f->result_names =
      grow(a, (void *)f->result_names, f->nresults, &f->cap_results, sizeof *f->result_names);
  f->results[f->nresults] = v;
  f->result_names[f->nresults++] = name;
  f->result = f->results[0];
}

int ir_module_add_param(Arena *a, IrModule *m, IrParam *p) {
  if (m->nparams == m->cap_params) {
    int cap = m->cap_params ? m->cap_params * 2 : 16;
    m->params = arena_grow(a, m->params, (size_t)m->nparams, (size_t)cap, sizeof *m->params);
    m->cap_params = cap;
  }
  m->params[m->nparams] = p;
  return m->nparams++;
}

void ir_module_add_func(Arena *a, IrModule *m, IrFunc *f) {
  if (m->nfuncs == m->cap_funcs) {
    int cap = m->cap_funcs ? m->cap_funcs * 2 : 4;
    m->funcs = arena_grow(a, m->funcs, (size_t)m->nfuncs, (size_t)cap, sizeof *m->funcs);
    m->cap_funcs = cap;
  }
  m->funcs[m->nfuncs++] = f;
}

void ir_module_add_section(Arena *a, IrModule *m, IrSection *s) {
  if (m->nsections == m->cap_sections) {
    int cap = m->cap_sections ? m->cap_sections * 2 : 4;
    m->sections =
        arena_grow(a, m->sections, (size_t)m->nsections, (size_t)cap, sizeof *m->sections);
    m->cap_sections = cap;
  }
  m->sections[m->nsections++] = s;
}

void ir_module_add_alias(Arena *a, IrModule *m, const char *from, const char *to) {
  if (m->naliases == m->cap_aliases) {
    int cap = m->cap_aliases ? m->cap_aliases * 2 : 4;
    m->alias_from =
        arena_grow(a, m->alias_from, (size_t)m->naliases, (size_t)cap, sizeof *m->alias_from);
    m->alias_to = arena_grow(a, m->alias_to, (size_t)m->naliases, (size_t)cap, sizeof *m->alias_to);
    m->cap_aliases = cap;
  }
  m->alias_from[m->naliases] = from;
  m->alias_to[m->naliases++] = to;
}

/* Each alias leads to a real instance, so a few rounds replace them all. */
const char *ir_module_unalias(Arena *a, const IrModule *m, const char *path) {
  for (int round = 0; round <= m->naliases; round++) {
    bool changed = false;
    for (int i = 0; i < m->naliases; i++) {
      size_t n = strlen(m->alias_from[i]);
      if (!strncmp(path, m->alias_from[i], n) && (path[n] == 0 || path[n] == '.')) {
        path = arena_printf(a, "%s%s", m->alias_to[i], path + n);
        changed = true;
      }
    }
    if (!changed)
      break;
  }
  return path;
}

/* Operands come before their uses, so one reverse scan over the block
 * propagates liveness from the results. Regions are kept whole. State
 * writes and the guard that decides whether they happen are live where
 * they run (training steps) and where the function
 * is kept whole (keep_inputs: clean-ups before a training step is built). */
/* A live loop runs its whole body, so everything in its region is live, and
 * so is what the region reads from outside. */
static void mark_region_live(const IrBlock *r, bool *live) {
  for (int i = 0; i < r->nparams; i++)
    live[r->params[i]->id] = true;
  for (int i = 0; i < r->n; i++) {
    const IrValue *v = r->vals[i];
    live[v->id] = true;
    for (int k = 0; k < v->nargs; k++)
      live[v->args[k]->id] = true;
    if (v->region)
      mark_region_live(v->region, live);
  }
}

static bool performs_write(const IrFunc *f, const IrValue *assign) {
  const IrValue *target = assign->args[0];
  return !f->writes_only ||
         (target->op == OP_PARAM && f->writes_only[IR_ATTR(target, source).index]);
}

void ir_func_liveness(const IrFunc *f, bool *live, bool keep_inputs) {
  const IrBlock *b = f->body;
  for (int i = 0; i < f->nresults; i++)
    live[f->results[i]->id] = true;
  if (f->guard && (keep_inputs || f->writes_state))
    live[f->guard->id] = true;
  for (int i = b->n - 1; i >= 0; i--) {
    const IrValue *v = b->vals[i];
    if ((keep_inputs && v->op == OP_INPUT) ||
        (v->op == OP_ASSIGN && (keep_inputs || (f->writes_state && performs_write(f, v)))))
      live[v->id] = true;
    if (!live[v->id])
      continue;
    for (int k = 0; k < v->nargs; k++)
      live[v->args[k]->id] = true;
    if (v->region)
      mark_region_live(v->region, live);
  }
}

void ir_func_remove_dead(IrFunc *f) {
  ir_func_prune_loops(f);
  IrBlock *b = f->body;
  bool *live = calloc((size_t)f->next_id + 1, 1);
  if (!live)
    arena_fatal("out of memory");
  ir_func_liveness(f, live, true);
  int n = 0;
  for (int i = 0; i < b->n; i++)
    if (live[b->vals[i]->id])
      b->vals[n++] = b->vals[i];
  b->n = n;
  free(live);
}

const char *ir_optim_kind_name(OptimKind k) {
  static const char *const names[] = {"sgd", "adam", "adamw", "rmsprop"};
  return names[k];
}

int ir_optim_nstate(const IrOptim *o) {
  switch (o->kind) {
  case OPTIM_SGD:
    return o->momentum > 0 ? 1 : 0;
  case OPTIM_ADAM:
  case OPTIM_ADAMW:
    return 2;
  case OPTIM_RMSPROP:
    return o->momentum > 0 ? 2 : 1;
  }
  return 0;
}

const char *ir_optim_state_name(const IrOptim *o, int i) {
  switch (o->kind) {
  case OPTIM_SGD:
    return "momentum";
  case OPTIM_ADAM:
  case OPTIM_ADAMW:
    return i == 0 ? "m" : "v";
  case OPTIM_RMSPROP:
    return i == 0 ? "square_avg" : "momentum";
  }
  return "?";
}

int ir_func_dim_index(const IrFunc *f, int sym) {
  for (int k = 0; k < f->ndims; k++)
    if (f->dim_syms[k] == sym)
      return k;
  return -1;
}

IrFunc *ir_module_func(const IrModule *m, const char *name) {
  for (int i = 0; i < m->nfuncs; i++)
    if (!strcmp(m->funcs[i]->name, name))
      return m->funcs[i];
  return NULL;
}

/* ---- index operands (ops.def's OP_INDEX rows) ---- */

typedef Dim (*IndexBound)(const IrValue *v);

/* cross_entropy's labels pick a class of the logits' last axis. */
static Dim index_bound_class_axis(const IrValue *v) {
  const TType *t = &v->args[0]->type;
  return t->dims[t->rank - 1];
}

static Dim index_bound_depth(const IrValue *v) { return dim_const(IR_ATTR(v, onehot).depth); }

static Dim index_bound_table_rows(const IrValue *v) { return v->args[0]->type.dims[0]; }

static Dim index_bound_scatter_rows(const IrValue *v) { return IR_ATTR(v, gather).rows; }

typedef struct IndexRow {
  OpKind op;
  int operand;
  IndexBound bound;
} IndexRow;

static const IndexRow index_rows[] = {
#define OP_INDEX(e, operand, bound) {OP_##e, operand, bound},
#include "ops.def"
};
enum { N_INDEX_ROWS = sizeof index_rows / sizeof index_rows[0] };

bool ir_index_bound(const IrValue *v, int i, Dim *bound) {
  for (int r = 0; r < N_INDEX_ROWS; r++)
    if (index_rows[r].op == v->op && index_rows[r].operand == i) {
      if (bound)
        *bound = index_rows[r].bound(v);
      return true;
    }
  return false;
}

int ir_index_rank(OpKind op) {
  for (int r = 0; r < N_INDEX_ROWS; r++)
    if (index_rows[r].op == op)
      return r;
  return -1;
}

const IrValue *ir_index_reader(const IrFunc *f, const IrValue *x, int64_t *min_bound) {
  const IrValue *best = NULL;
  *min_bound = 0;
  for (int i = 0; i < f->body->n; i++) {
    const IrValue *v = f->body->vals[i];
    for (int k = 0; k < v->nargs; k++) {
      Dim d;
      if (v->args[k] != x || !ir_index_bound(v, k, &d))
        continue;
      if (!best || ir_index_rank(v->op) < ir_index_rank(best->op))
        best = v;
      if (dim_is_const(d) && (*min_bound == 0 || d.constant < *min_bound))
        *min_bound = d.constant;
    }
  }
  return best;
}
/* ---- views ---- */

bool ir_view_runtime_axis(const IrValue *v, int i) {
  if (v->op != OP_SLICE && v->op != OP_PAD)
    return false;
  const IrViewAttrs *va = IR_ATTR(v, view);
  Dim in = v->args[0]->type.dims[i];
  Dim n = v->op == OP_SLICE ? in : va->size[i];
  bool full = !(v->op == OP_SLICE && va->drop[i]) && va->start[i] == 0 && va->step[i] == 1 &&
              va->dyn[i] == 0 && dim_eq(va->size[i], in);
  return !full && (va->dyn[i] > 0 || (n.kind == DIM_KNOWN && !dim_is_const(n)));
}

bool ir_view_has_runtime(const IrValue *v) {
  if (v->op != OP_SLICE && v->op != OP_PAD)
    return false;
  for (int i = 0; i < v->args[0]->type.rank; i++)
    if (ir_view_runtime_axis(v, i))
      return true;
  return false;
}
