/* repl_grad.c - :grad; see repl_grad.h. */
#include "repl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "jit.h"
#include "pipeline.h"

static bool ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

char *repl_grad_split(Repl *r, char *text) {
  char *w = NULL;
  for (char *s = strstr(text, "wrt"); s; s = strstr(s + 1, "wrt"))
    if (s > text && isspace((unsigned char)s[-1]) && isspace((unsigned char)s[3]))
      w = s;
  if (!w) {
    fprintf(r->err, "error: usage: :grad EXPR wrt NAME\n");
    return NULL;
  }
  char *name = w + 3 + strspn(w + 3, " \t\n");
  size_t n = 0;
  while (ident(name[n]))
    n++;
  if (!n || isdigit((unsigned char)name[0]) || name[n + strspn(name + n, " \t\n")]) {
    fprintf(r->err, "error: :grad: expected a binding's name after 'wrt'\n");
    return NULL;
  }
  char *copy = strndup(name, n);
  if (!copy)
    arena_fatal("out of memory");
  memset(w, ' ', strlen(w));
  return copy;
}

/* The index of result "d.<wrt>" of g, or -1. */
static int result_of(const IrFunc *g, const char *wrt) {
  for (int i = 0; i < g->nresults; i++)
    if (!strncmp(g->result_names[i], "d.", 2) && !strcmp(g->result_names[i] + 2, wrt))
      return i;
  return -1;
}

static bool input_of(const IrFunc *f, const char *wrt) {
  for (int i = 0; i < f->ninputs; i++)
    if (!strcmp(f->input_names[i], wrt))
      return true;
  return false;
}

/* A result's tensor, allocated; false if a dim is not constant. */
static bool alloc_result(const IrValue *v, nnrt_tensor *t) {
  *t = (nnrt_tensor){.dtype = (nnrt_dtype)v->type.dtype, .rank = v->type.rank};
  for (int i = 0; i < t->rank; i++) {
    if (!dim_is_const(v->type.dims[i]))
      return false;
    t->dims[i] = v->type.dims[i].constant;
  }
  t->data = calloc((size_t)nnrt_tensor_numel(t) + 1, nnrt_dtype_size(t->dtype));
  if (!t->data)
    arena_fatal("out of memory");
  return true;
}

/* Runs g and prints its result k. */
static bool run(Repl *r, const IrModule *m, const IrFunc *g, int k, void *const *in,
                void *const *params) {
  char err[1024];
  Jit *jit = jit_new(err, sizeof err);
  CodegenOptions cg = pipeline_default_options();
  JitFunc *jf = jit ? jit_compile(jit, m, g, &cg, err, sizeof err) : NULL;
  nnrt_tensor *res = calloc((size_t)g->nresults, sizeof *res);
  void **outs = calloc((size_t)g->nresults, sizeof *outs);
  if (!res || !outs)
    arena_fatal("out of memory");
  bool ok = jf != NULL;
  for (int i = 0; ok && i < g->nresults; i++) {
    ok = alloc_result(g->results[i], &res[i]);
    outs[i] = res[i].data;
    if (!ok)
      snprintf(err, sizeof err, "the gradient's shape is not known");
  }
  int64_t dims[1] = {0};
  ok = ok && !jit_call(jf, dims, in, params, outs, err, sizeof err);
  if (ok)
    repl_print_tensor(r->out, &res[k]);
  else
    fprintf(r->err, "error: %s\n", err);
  for (int i = 0; i < g->nresults; i++)
    nnrt_tensor_free(&res[i]);
  free(res);
  free(outs);
  jit_free(jit);
  return ok;
}

bool repl_grad(Repl *r, Arena *a, IrModule *m, const IrFunc *f, const char *wrt, void *const *in,
               void *const *params) {
  const TType *ty = &f->result->type;
  if (ty->rank != 0 || !dtype_is_float(ty->dtype)) {
    nnrt_tensor t = {.dtype = (nnrt_dtype)ty->dtype, .rank = ty->rank};
    for (int i = 0; i < ty->rank; i++)
      t.dims[i] = dim_is_const(ty->dims[i]) ? ty->dims[i].constant : -1;
    fprintf(r->err, "error: :grad needs a scalar float expression; this one is ");
    repl_print_type(r->err, &t);
    fputc('\n', r->err);
    return false;
  }
  if (!input_of(f, wrt)) {
    fprintf(r->err, "error: :grad: '%s' is not a binding (let %s = ...)\n", wrt, wrt);
    return false;
  }
  char err[1024];
  AdOptions o = {.wrt_inputs = true};
  IrFunc *g = pipeline_derive(a, m, f, &o, err, sizeof err);
  int k = g ? result_of(g, wrt) : -1;
  if (!g)
    fprintf(r->err, "error: %s\n", err);
  else if (k < 0)
    fprintf(r->err, "error: :grad: '%s' is not a floating-point tensor\n", wrt);
  return k >= 0 && run(r, m, g, k, in, params);
}
