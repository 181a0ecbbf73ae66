/* frontend.c - the stages of the front end in order, with the IR verifier
 * after elaboration. Stages after parsing run only on a syntactically valid
 * program, so a syntax error never causes follow-on errors; sema and
 * elaboration errors are independent enough to report together. */
#include "frontend.h"

#include <string.h>

#include "elab.h"
#include "program.h"

/* Layers of the root module that no model of it uses are checked
 * generically; the ones a model uses are checked with real arguments. */
static void mark_used(Program *p, StrMap *used, const AstNode *layer, int depth) {
  if (strmap_get(used, layer->u.layer.name) || depth > 1000)
    return;
  strmap_put(used, layer->u.layer.name, (void *)layer);
  const PtrVec *ms = &layer->u.layer.members;
  for (int i = 0; i < ms->len; i++) {
    const AstNode *m = ms->items[i];
    if (m->kind != AST_INSTANCE || m->u.instance.call->u.call.callee->kind != AST_NAME)
      continue;
    const AstNode *l = strmap_get(&p->layers, m->u.instance.call->u.call.callee->u.name.name);
    if (l)
      mark_used(p, used, l, depth + 1);
  }
}

static void elaborate(Program *p, const FrontendOptions *opt) {
  const PtrVec *items = &p->root->ast->u.module.items;
  StrMap used;
  strmap_init(&used, p->arena);
  for (int i = 0; i < items->len; i++) {
    const AstNode *n = items->items[i];
    if (n->kind == AST_LAYER && n->u.layer.is_model && strmap_get(&p->layers, n->u.layer.name) == n)
      mark_used(p, &used, n, 0);
  }
  for (int i = 0; i < items->len && !diag_should_stop(p->diag); i++) {
    const AstNode *n = items->items[i];
    if (n->kind != AST_LAYER || strmap_get(&p->layers, n->u.layer.name) != n)
      continue; /* redefinitions were reported */
    if (!n->u.layer.is_model) {
      if (!strmap_get(&used, n->u.layer.name))
        check_layer_generic(p, n, p->arena);
      continue;
    }
    IrModule *m = NULL;
    if (lower_model(p, n, p->arena, &m) && opt->emit == EMIT_IR)
      ir_print_module(opt->out, m);
  }
}

static int run(Program *p, const FrontendOptions *opt) {
  if (!diag_has_errors(p->diag) && opt->emit == EMIT_AST)
    ast_print(opt->out, p->root->ast, p->diag);
  if (!diag_has_errors(p->diag)) {
    sema_check_program(p);
    elaborate(p, opt);
  }
  diag_summary(p->diag);
  return p->diag->errors;
}

int frontend_run_file(const char *path, const FrontendOptions *opt) {
  Arena arena;
  arena_init(&arena);
  Diag diag;
  diag_init(&diag, &arena, opt->diag_out);
  Program prog;
  program_init(&prog, &arena, &diag, opt->stdlib_dir);
  int errors = program_load_file(&prog, path) ? run(&prog, opt) : diag.errors;
  arena_free(&arena);
  return errors;
}

int nnc_check_buffer(const char *path, const char *data, size_t len, FILE *diag_out) {
  Arena arena;
  arena_init(&arena);
  Diag diag;
  diag_init(&diag, &arena, diag_out);
  Program prog;
  program_init(&prog, &arena, &diag, NULL);
  program_load_buffer(&prog, path, data, len);
  FrontendOptions opt = {.emit = EMIT_NONE, .out = diag_out, .diag_out = diag_out};
  int errors = run(&prog, &opt);
  arena_free(&arena);
  return errors;
}
