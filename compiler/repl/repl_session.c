/* repl_session.c - the session's bindings and definitions; see
 * repl_session.h. */
#include "repl.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"

void repl_def_free(ReplDef *d) {
  for (int i = 0; i < d->nnames; i++)
    free(d->names[i]);
  free(d->names);
  free(d->is_model);
  free(d->text);
  free(d->dir);
}

void repl_session_free(Repl *r) {
  for (int i = 0; i < r->nvars; i++) {
    free(r->vars[i].name);
    nnrt_tensor_free(&r->vars[i].t);
  }
  free(r->vars);
  for (int i = 0; i < r->ndefs; i++)
    repl_def_free(&r->defs[i]);
  free(r->defs);
  repl_models_free(r);
  repl_cache_free(&r->cache);
}

ReplVar *repl_var(Repl *r, const char *name) {
  for (int i = 0; i < r->nvars; i++)
    if (!strcmp(r->vars[i].name, name))
      return &r->vars[i];
  return NULL;
}

void repl_bind(Repl *r, const char *name, nnrt_tensor t) {
  ReplVar *v = repl_var(r, name);
  if (v) {
    nnrt_tensor_free(&v->t);
    v->t = t;
    return;
  }
  if (r->nvars == r->cap_vars) {
    int cap = r->cap_vars ? 2 * r->cap_vars : 8;
    ReplVar *nv = realloc(r->vars, (size_t)cap * sizeof *nv);
    if (!nv)
      arena_fatal("out of memory");
    r->vars = nv;
    r->cap_vars = cap;
  }
  char *copy = strdup(name);
  if (!copy)
    arena_fatal("out of memory");
  r->vars[r->nvars++] = (ReplVar){copy, t};
}
