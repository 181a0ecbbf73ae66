/* frontend.c - the stages of the front end in order, with the IR verifier
 * after elaboration. Stages after parsing run only on a syntactically valid
 * program, so a syntax error never causes follow-on errors; sema and
 * elaboration errors are independent enough to report together. */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void add_model(Compilation *c, IrModule *m) {
  if (!c)
    return;
  if (c->nmodels == c->cap_models) {
    int cap = c->cap_models ? c->cap_models * 2 : 4;
    c->models =
        arena_grow(&c->arena, c->models, (size_t)c->nmodels, (size_t)cap, sizeof *c->models);
    c->cap_models = cap;
  }
  c->models[c->nmodels++] = m;
}

static void elaborate(Program *p, const FrontendOptions *opt, Compilation *c) {
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
        lower_check_layer_generic(p, n, p->arena);
      continue;
    }
    IrModule *m = NULL;
    if (lower_model(p, n, p->arena, &m)) {
      generate_check(p, n, m);
      tbptt_check(p, n, m);
      fit_check(p, n, m);
      add_model(c, m);
      if (opt->emit == EMIT_IR)
        ir_print_module(opt->out, m);
    }
  }
}

static int run(Program *p, const FrontendOptions *opt, Compilation *c) {
  if (!diag_has_errors(p->diag) && opt->emit == EMIT_AST)
    ast_print(opt->out, p->root->ast, p->diag);
  if (!diag_has_errors(p->diag) && opt->after_parse)
    opt->after_parse(p, opt->after_parse_ctx);
  if (!diag_has_errors(p->diag)) {
    sema_check_program(p);
    elaborate(p, opt, c);
  }
  diag_summary(p->diag);
  return p->diag->errors;
}

static Compilation *compilation_new(const FrontendOptions *opt) {
  Compilation *c = calloc(1, sizeof *c);
  if (!c)
    arena_fatal("out of memory");
  arena_init(&c->arena);
  diag_init(&c->diag, &c->arena, opt->diag_out);
  program_init(&c->prog, &c->arena, &c->diag, opt->stdlib_dir);
  return c;
}

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

Compilation *frontend_compile_file(const char *path, const FrontendOptions *opt) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  Compilation *c = compilation_new(opt);
  c->errors = program_load_file(&c->prog, path) ? run(&c->prog, opt, c) : c->diag.errors;
  c->seconds = seconds_since(&t0);
  return c;
}

Compilation *frontend_compile_buffer(const char *name, const char *text, size_t len, int skip_lines,
                                     int typed_lines, const FrontendOptions *opt) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  Compilation *c = compilation_new(opt);
  program_load_buffer_at(&c->prog, name, text, len, skip_lines, typed_lines);
  c->errors = run(&c->prog, opt, c);
  c->seconds = seconds_since(&t0);
  return c;
}

void frontend_free(Compilation *c) {
  if (!c)
    return;
  arena_free(&c->arena);
  free(c);
}

IrModule *frontend_model(Compilation *c, const char *name, FILE *diag_out) {
  if (name) {
    for (int i = 0; i < c->nmodels; i++)
      if (!strcmp(c->models[i]->name, name))
        return c->models[i];
    fprintf(diag_out, "nnc: error: no model named '%s' in this file\n", name);
    return NULL;
  }
  if (c->nmodels == 1)
    return c->models[0];
  if (c->nmodels == 0) {
    fprintf(diag_out, "nnc: error: the file defines no model\n");
    return NULL;
  }
  fprintf(diag_out,
          "nnc: error: the file defines %d models; choose one with --model NAME:", c->nmodels);
  for (int i = 0; i < c->nmodels; i++)
    fprintf(diag_out, " %s", c->models[i]->name);
  fputc('\n', diag_out);
  return NULL;
}

int frontend_run_file(const char *path, const FrontendOptions *opt) {
  Compilation *c = frontend_compile_file(path, opt);
  int errors = c->errors;
  frontend_free(c);
  return errors;
}

int frontend_check_buffer(const char *path, const char *data, size_t len, FILE *diag_out) {
  Arena arena;
  arena_init(&arena);
  Diag diag;
  diag_init(&diag, &arena, diag_out);
  Program prog;
  program_init(&prog, &arena, &diag, NULL);
  program_load_buffer(&prog, path, data, len);
  FrontendOptions opt = {.emit = EMIT_NONE, .out = diag_out, .diag_out = diag_out};
  int errors = run(&prog, &opt, NULL);
  arena_free(&arena);
  return errors;
}
