/* generate.c - the generate section's step function against what sampling
 * needs, checked on the lowered IR where every dim is known: one token in,
 * i32[1], and the scores of the next token out, f32[1, V]. */
#include <string.h>

#include "elab.h"

static bool is_token(const TType *t) {
  return t->dtype == DT_I32 && t->rank == 1 && dim_is_const(t->dims[0]) && t->dims[0].constant == 1;
}

static bool is_scores(const TType *t) {
  return t->dtype == DT_F32 && t->rank == 2 && dim_is_const(t->dims[0]) &&
         t->dims[0].constant == 1 && dim_is_const(t->dims[1]) && t->dims[1].constant >= 1;
}

static void check_step(Program *p, const AstNode *model, const IrModule *m, const AstNode *value) {
  const char *name = value->u.name.name;
  const IrFunc *f = ir_module_func(m, name);
  const AstNode *decl = sema_fn_decl(model, name);
  if (!f || !decl)
    return; /* not a function: said by sections.c */
  const char *args = "";
  for (int i = 0; i < f->ninputs; i++)
    args = arena_printf(p->arena, "%s%s%s", args, i ? ", " : "",
                        ttype_str(p->arena, m->syms, &f->inputs[i]->type));
  if (f->ninputs != 1 || !is_token(&f->inputs[0]->type)) {
    diag_error(p->diag, value->loc,
               "the generation step '%s' must take one token, i32[1], but it takes (%s)", name,
               args);
    diag_note(p->diag, decl->u.fn.name_loc, "'%s' is declared here", name);
    return;
  }
  if (f->nresults != 1 || !is_scores(&f->results[0]->type)) {
    diag_error(p->diag, value->loc,
               "the generation step '%s' must return the scores of the next token, f32[1, V] "
               "with V a number, but it returns %s",
               name,
               f->nresults == 1 ? ttype_str(p->arena, m->syms, &f->results[0]->type)
                                : arena_printf(p->arena, "%d results", f->nresults));
    diag_note(p->diag, decl->u.fn.name_loc, "'%s' is declared here", name);
  }
}

void generate_check(Program *p, const AstNode *model, const IrModule *m) {
  for (const AstNode *s = sections_first(model, SEC_GENERATE); s; s = sections_next(model, s)) {
    const AstNode *step = sections_field(s, "step");
    if (step && step->u.field.value->kind == AST_NAME)
      check_step(p, model, m, step->u.field.value);
  }
}
