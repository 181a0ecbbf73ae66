/* repl_eval.c - a typed expression as a generated function, compiled and
 * run; see repl_eval.h. */
#include "repl.h"

#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "jit.h"
#include "strbuf.h"

static void put_type(StrBuf *b, const nnrt_tensor *t) {
  char num[32];
  strbuf_puts(b, nnrt_dtype_name(t->dtype));
  for (int i = 0; i < t->rank; i++) {
    snprintf(num, sizeof num, "%s%lld", i ? ", " : "[", (long long)t->dims[i]);
    strbuf_puts(b, num);
  }
  if (t->rank)
    strbuf_puts(b, "]");
}

typedef struct EvalCtx {
  ReplLiterals lits;
  const char *bind; /* the let's name, NULL for an expression */
  ReplCalls calls;  /* the models it calls */
  void **params;    /* their parameters, as the generated model's */
} EvalCtx;

/* Line 1 is generated (the function and the bindings as its arguments,
 * after an instance of each model the text calls); what was typed follows
 * on lines of its own, then, if it calls models, the session's
 * definitions. Returns how many generated lines precede the text. */
static int build_source(const Repl *r, const char *text, bool is_let, const ReplCalls *calls,
                        StrBuf *b) {
  strbuf_puts(b, "model __Repl { ");
  for (int i = 0; i < calls->n; i++) {
    strbuf_puts(b, calls->names[i]);
    strbuf_puts(b, " = ");
    strbuf_puts(b, calls->names[i]);
    strbuf_puts(b, "() ");
  }
  strbuf_puts(b, "fn __eval(");
  for (int i = 0; i < r->nvars; i++) {
    strbuf_puts(b, i ? ", " : "");
    strbuf_puts(b, r->vars[i].name);
    strbuf_puts(b, ": ");
    put_type(b, &r->vars[i].t);
  }
  strbuf_puts(b, is_let ? ") {\n" : ") {\nreturn (\n");
  strbuf_puts(b, text);
  strbuf_puts(b, is_let ? "\nreturn __let } }\n" : "\n) } }\n");
  if (calls->n) {
    char *defs = repl_defs_text(r);
    strbuf_puts(b, defs);
    free(defs);
  }
  return is_let ? 1 : 2;
}

/* The `let` binds __let, so it may rebind a name that is also an argument
 * (`let x = x * 2`). */
static void after_parse(Program *p, void *ctx) {
  EvalCtx *e = ctx;
  const PtrVec *items = &p->root->ast->u.module.items;
  AstNode *model = items->len ? items->items[0] : NULL;
  int nmembers = e->calls.n + 1; /* the instances, then __eval */
  AstNode *fn = model && model->kind == AST_LAYER && model->u.layer.members.len == nmembers
                    ? model->u.layer.members.items[nmembers - 1]
                    : NULL;
  if (!fn || fn->kind != AST_FN || (items->len != 1 && !e->calls.n)) {
    diag_error(p->diag, diag_span_none(), "expected one expression");
    return;
  }
  const PtrVec *body = &fn->u.fn.body;
  if (e->bind) {
    AstNode *let = body->items[0];
    if (body->len != 2 || let->kind != AST_LET || strcmp(let->u.let.name, e->bind)) {
      diag_error(p->diag, let->loc, "expected one `let NAME = EXPR`");
      return;
    }
    let->u.let.name = "__let";
  }
  repl_literals_rewrite(p, fn, &e->lits);
}

/* The value of f's argument `name`: a binding or a literal. */
static void *argument(const Repl *r, const EvalCtx *e, const char *name) {
  if (!strncmp(name, "__k", 3))
    return e->lits.lit[atoi(name + 3)].data;
  for (int i = 0; i < r->nvars; i++)
    if (!strcmp(r->vars[i].name, name))
      return r->vars[i].t.data;
  return NULL;
}

/* f's arguments, malloc'd. */
static void **inputs(const Repl *r, const EvalCtx *e, const IrFunc *f) {
  void **in = calloc((size_t)f->ninputs + 1, sizeof *in);
  if (!in)
    arena_fatal("out of memory");
  for (int i = 0; i < f->ninputs; i++)
    in[i] = argument(r, e, f->input_names[i]);
  return in;
}

static bool grad(Repl *r, const EvalCtx *e, Compilation *c, IrModule *m, const IrFunc *f,
                 const char *wrt) {
  void **in = inputs(r, e, f);
  void *none[1] = {NULL};
  bool ok = repl_grad(r, &c->arena, m, f, wrt, in, e->params ? e->params : none);
  free(in);
  return ok;
}

/* The result's type, with its (constant) dims, and no data. */
static bool result_header(const IrFunc *f, nnrt_tensor *t) {
  const TType *ty = &f->result->type;
  t->dtype = (nnrt_dtype)ty->dtype;
  t->rank = ty->rank;
  for (int i = 0; i < ty->rank; i++) {
    if (!dim_is_const(ty->dims[i]))
      return false;
    t->dims[i] = ty->dims[i].coeff;
  }
  return nnrt_tensor_numel(t) >= 0;
}

/* Compiled code is reused (repl_cache.h); the cache may take *c. */
static bool run(Repl *r, const EvalCtx *e, Compilation **c, const IrModule *m, const IrFunc *f,
                nnrt_tensor *t, bool timed) {
  char err[1024];
  JitFunc *jf = repl_cache_compile(&r->cache, c, m, f, err, sizeof err);
  void **in = inputs(r, e, f);
  t->data = calloc((size_t)nnrt_tensor_numel(t) + 1, nnrt_dtype_size(t->dtype));
  if (!t->data)
    arena_fatal("out of memory");
  int64_t dims[1] = {0};
  void *outs[1] = {t->data};
  void *none[1] = {NULL}, *const *params = e->params ? e->params : none;
  bool ok;
  if (jf && timed) {
    ok = repl_time_calls(r, jf, in, params, outs);
  } else {
    ok = jf && !jit_call(jf, dims, in, params, outs, err, sizeof err);
    if (!ok)
      fprintf(r->err, "error: %s\n", err);
  }
  free(in);
  return ok;
}

static bool show(Repl *r, const EvalCtx *e, Compilation **c, const IrModule *m, const IrFunc *f,
                 ReplShow how, const char *name) {
  nnrt_tensor t = {0};
  if (!result_header(f, &t)) {
    fprintf(r->err, "error: the result's shape is not known\n");
    return false;
  }
  CodegenOptions cg = pipeline_default_options();
  switch (how) {
  case SHOW_TYPE:
    repl_print_type(r->out, &t);
    fputc('\n', r->out);
    return true;
  case SHOW_SHAPE:
    repl_print_shape(r->out, &t);
    fputc('\n', r->out);
    return true;
  case SHOW_IR:
    ir_print_func(r->out, m, f);
    return true;
  case SHOW_LLVM:
    return pipeline_print_llvm(r->out, m, f, &cg) == 0;
  case SHOW_VALUE:
  case SHOW_BIND:
  case SHOW_TIME:
  case SHOW_GRAD:
    break;
  }
  bool ran = run(r, e, c, m, f, &t, how == SHOW_TIME);
  if (!ran || how == SHOW_TIME) {
    nnrt_tensor_free(&t);
    return ran;
  }
  if (how == SHOW_BIND) {
    repl_bind(r, name, t);
    return true;
  }
  repl_print_tensor(r->out, &t);
  nnrt_tensor_free(&t);
  return true;
}

bool repl_eval(Repl *r, const char *text, ReplShow how, const char *name) {
  StrBuf src = {0};
  bool is_let = how == SHOW_BIND;
  EvalCtx e = {.lits = {.session = r}, .bind = is_let ? name : NULL};
  repl_calls_find(r, text, &e.calls);
  int skip = build_source(r, text, is_let, &e.calls, &src), lines = 1;
  for (const char *s = text; *s; s++)
    lines += *s == '\n';
  FrontendOptions opt = {.emit = EMIT_NONE,
                         .out = r->out,
                         .diag_out = r->err,
                         .stdlib_dir = r->stdlib_dir,
                         .after_parse = after_parse,
                         .after_parse_ctx = &e};
  fflush(r->out);
  Compilation *c = frontend_compile_buffer("<input>", src.s, src.len, skip, lines, &opt);
  free(src.s);
  bool ok = !c->errors && c->nmodels >= 1 && !strcmp(c->models[0]->name, "__Repl");
  IrModule *m = ok ? c->models[0] : NULL;
  /* the weights of the models it calls, made (and trained) before it runs */
  bool need_params = m && m->nparams && how != SHOW_TYPE && how != SHOW_SHAPE && how != SHOW_IR &&
                     how != SHOW_LLVM;
  if (need_params)
    ok = (e.params = repl_calls_params(r, m)) != NULL;
  if (ok) {
    IrFunc *f = ir_module_func(m, "__eval");
    ok = f && f->result &&
         (how == SHOW_GRAD ? grad(r, &e, c, m, f, name) : show(r, &e, &c, m, f, how, name));
  }
  frontend_free(c);
  repl_literals_free(&e.lits);
  repl_calls_free(&e.calls);
  free(e.params);
  return ok;
}
