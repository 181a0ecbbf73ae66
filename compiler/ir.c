/* ir.c - the op info table built from ops.def, and IR construction. */
#include "ir.h"

/* Prototypes of the shape rules named in ops.def (defined in shape.c). */
#define OP(e, text, arity, cls, shape, grad) bool shape(ShapeCtx *c, IrValue *v);
#include "ops.def"

#define DIFF true
#define NODIFF false
const OpInfo op_info[OP_COUNT] = {
#define OP(e, text, arity, cls, shape, grad) [OP_##e] = {text, arity, OPC_##cls, shape, grad},
#include "ops.def"
};
#undef DIFF
#undef NODIFF

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
  v->origin = span_none();
  v->attr.infer_axis = -1;
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
