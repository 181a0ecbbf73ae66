/* repl_calls.c - models called from expressions; see repl_calls.h. */
#include "repl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"

static bool ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

static void add(ReplCalls *c, const char *s, size_t n) {
  for (int i = 0; i < c->n; i++)
    if (strlen(c->names[i]) == n && !strncmp(c->names[i], s, n))
      return;
  char **names = realloc(c->names, (size_t)(c->n + 1) * sizeof *names);
  if (!names || !(names[c->n] = strndup(s, n)))
    arena_fatal("out of memory");
  c->names = names;
  c->n++;
}

void repl_calls_find(const Repl *r, const char *text, ReplCalls *c) {
  *c = (ReplCalls){0};
  char name[256];
  for (const char *s = repl_skip_space(text); *s;) {
    size_t n = 0;
    if (isalpha((unsigned char)*s) || *s == '_')
      while (ident(s[n]))
        n++;
    if (!n) {
      size_t k = *s == '"' ? 1 + strcspn(s + 1, "\"\n") : 0; /* a string's text */
      s = repl_skip_space(s + k + (s[k] ? 1 : 0));
      continue;
    }
    const char *after = repl_skip_space(s + n);
    bool member = s > text && s[-1] == '.'; /* `fc` in `Net.fc` is no model */
    if (!member && n < sizeof name && (*after == '.' || *after == '(')) {
      memcpy(name, s, n);
      name[n] = '\0';
      if (repl_is_model(r, name))
        add(c, s, n);
    }
    s = after;
  }
}

void repl_calls_free(ReplCalls *c) {
  for (int i = 0; i < c->n; i++)
    free(c->names[i]);
  free(c->names);
  *c = (ReplCalls){0};
}

static int64_t type_bytes(const TType *t) {
  int64_t n = (int64_t)nnrt_dtype_size((nnrt_dtype)t->dtype);
  for (int i = 0; i < t->rank; i++)
    n *= dim_is_const(t->dims[i]) ? t->dims[i].coeff : -1;
  return n;
}

/* The data of parameter p (`Model.rest`), or NULL after reporting. The
 * handle was compiled from the definitions of its time: a layer it uses
 * may have been defined again since, with other parameters. */
static void *param(Repl *r, const IrParam *p) {
  const char *name = p->name;
  const char *dot = strchr(name, '.');
  char *model = dot ? strndup(name, (size_t)(dot - name)) : NULL;
  if (!dot || !model) {
    free(model);
    fprintf(r->err, "error: parameter '%s' belongs to no model\n", name);
    return NULL;
  }
  ReplModel *h = repl_model(r, model);
  int i = h ? nnrt_model_find_param(h->m, dot + 1) : -1;
  bool fits = i >= 0 && nnrt_model_param_bytes(h->m, i) == type_bytes(&p->type);
  if (h && !fits)
    fprintf(r->err,
            "error: the weights of model '%s' do not fit its definition now ('%s'); define "
            "or :load it again\n",
            model, dot + 1);
  free(model);
  return fits ? h->m->params[i] : NULL;
}

void **repl_calls_params(Repl *r, const IrModule *m) {
  void **p = calloc((size_t)m->nparams + 1, sizeof *p);
  if (!p)
    arena_fatal("out of memory");
  for (int i = 0; i < m->nparams; i++)
    if (!(p[i] = param(r, m->params[i]))) {
      free(p);
      return NULL;
    }
  return p;
}
