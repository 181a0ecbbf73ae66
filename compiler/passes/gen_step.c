/* gen_step.c - the generation step: the function a generate section names,
 * compiled as one more entry point whose state writes happen, so that the
 * recurrent state carries from one token to the next. It shares the body of
 * the plain function, whose liveness drops those writes (ir.c). */
#include "gen_step.h"

#include <string.h>

IrFunc *gen_step_build(Arena *a, IrModule *m, const TrainConfig *c) {
  if (!c->has_generate || !c->gen_step)
    return NULL;
  for (int i = 0; i < m->nfuncs; i++) {
    const IrFunc *f = m->funcs[i];
    if (strcmp(f->name, c->gen_step))
      continue;
    IrFunc *g = ARENA_NEW(a, IrFunc);
    *g = *f;
    g->name = arena_printf(a, "generate.%s", f->name);
    g->writes_state = true;
    g->guard = NULL;
    g->training = NULL;
    ir_module_add_func(a, m, g);
    return g;
  }
  NNC_BUG("the generation step '%s' is not a function of %s", c->gen_step, m->name);
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
