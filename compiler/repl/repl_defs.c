/* repl_defs.c - definitions kept as source text; see repl_defs.h. */
#include "repl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static bool is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* The word at s (identifier characters, and dots when `dotted`). */
static size_t word_len(const char *s, bool dotted) {
  size_t n = 0;
  if (!is_ident_start(s[0]))
    return 0;
  while (is_ident(s[n]) || (dotted && s[n] == '.' && is_ident_start(s[n + 1])))
    n++;
  return n;
}

static bool starts_with_word(const char *s, const char *w) {
  size_t n = strlen(w);
  return !strncmp(s, w, n) && !is_ident(s[n]);
}

bool repl_is_definition(const char *text) {
  const char *s = repl_skip_space(text);
  return starts_with_word(s, "import") || starts_with_word(s, "layer") ||
         starts_with_word(s, "model");
}

static void add_name(ReplDef *d, const char *prefix, const char *s, size_t n, bool model) {
  char **names = realloc(d->names, (size_t)(d->nnames + 1) * sizeof *names);
  bool *is_model = names ? realloc(d->is_model, (size_t)(d->nnames + 1) * sizeof *is_model) : NULL;
  size_t pn = strlen(prefix);
  char *name = malloc(pn + n + 1);
  if (!names || !is_model || !name)
    arena_fatal("out of memory");
  d->is_model = is_model;
  is_model[d->nnames] = model;
  memcpy(name, prefix, pn);
  memcpy(name + pn, s, n);
  name[pn + n] = '\0';
  d->names = names;
  d->names[d->nnames++] = name;
}

/* The text after a string token starting at s. */
static const char *skip_string(const char *s) {
  s++;
  while (*s && *s != '"' && *s != '\n')
    s += s[0] == '\\' && s[1] ? 2 : 1;
  return *s == '"' ? s + 1 : s;
}

/* What the top level of text defines: `layer X` and `model X` give X,
 * `import a.b` gives "import a.b" (so importing twice is one entry). */
static void scan_names(ReplDef *d, const char *text) {
  int depth = 0;
  for (const char *s = repl_skip_space(text); *s; s = repl_skip_space(s)) {
    size_t n = word_len(s, false);
    if (!n) {
      depth += strchr("([{", *s) ? 1 : strchr(")]}", *s) ? -1 : 0;
      s = *s == '"' ? skip_string(s) : s + 1;
      continue;
    }
    bool def = depth == 0 && (starts_with_word(s, "layer") || starts_with_word(s, "model"));
    bool imp = depth == 0 && starts_with_word(s, "import");
    bool model = def && starts_with_word(s, "model");
    s += n;
    if (!def && !imp)
      continue;
    const char *t = repl_skip_space(s);
    size_t m = *t == '"' ? (size_t)(skip_string(t) - t) : word_len(t, imp);
    if (m)
      add_name(d, imp ? "import " : "", t, m, model);
    s = t + m;
  }
}

static bool only_imports(const ReplDef *d) {
  for (int i = 0; i < d->nnames; i++)
    if (strncmp(d->names[i], "import ", 7))
      return false;
  return true;
}

/* Whether the earlier definition d is replaced by the new one: one that
 * defines a name again, or, for an input of nothing but imports, one that
 * imports the same module (a file loaded with :load imports `nn` as other
 * files do, and must not replace them for that). */
static bool replaced(const ReplDef *d, const ReplDef *by) {
  bool imports = only_imports(d);
  for (int i = 0; i < d->nnames; i++)
    for (int k = 0; k < by->nnames; k++)
      if (!strcmp(d->names[i], by->names[k]) && (imports || strncmp(d->names[i], "import ", 7)))
        return true;
  return false;
}

/* The new text first, so its lines are numbered as typed, then the earlier
 * definitions it keeps (order does not matter in the language). */
static char *session_text(const Repl *r, const ReplDef *nd) {
  size_t len = strlen(nd->text) + 2;
  for (int i = 0; i < r->ndefs; i++)
    len += replaced(&r->defs[i], nd) ? 0 : strlen(r->defs[i].text) + 1;
  char *s = malloc(len), *p = s;
  if (!s)
    arena_fatal("out of memory");
  p = stpcpy(stpcpy(p, nd->text), "\n");
  for (int i = 0; i < r->ndefs; i++)
    if (!replaced(&r->defs[i], nd))
      p = stpcpy(stpcpy(p, r->defs[i].text), "\n");
  return s;
}

static bool defined(const Repl *r, const char *name) {
  for (int i = 0; i < r->ndefs; i++)
    for (int k = 0; k < r->defs[i].nnames; k++)
      if (!strcmp(r->defs[i].names[k], name))
        return true;
  return false;
}

static void commit(Repl *r, ReplDef *nd) {
  for (int i = 0; i < nd->nnames; i++)
    if (strncmp(nd->names[i], "import ", 7)) {
      fprintf(r->out, "%s %s\n", defined(r, nd->names[i]) ? "redefined" : "defined", nd->names[i]);
      repl_model_drop(r, nd->names[i]);
    }
  int k = 0;
  for (int i = 0; i < r->ndefs; i++) {
    if (replaced(&r->defs[i], nd)) {
      repl_def_free(&r->defs[i]);
    } else {
      r->defs[k++] = r->defs[i];
    }
  }
  r->ndefs = k;
  if (r->ndefs == r->cap_defs) {
    int cap = r->cap_defs ? 2 * r->cap_defs : 8;
    ReplDef *d = realloc(r->defs, (size_t)cap * sizeof *d);
    if (!d)
      arena_fatal("out of memory");
    r->defs = d;
    r->cap_defs = cap;
  }
  r->defs[r->ndefs++] = *nd;
}

bool repl_define(Repl *r, const char *text) { return repl_define_from(r, text, NULL, NULL); }

bool repl_define_from(Repl *r, const char *text, const char *file, const char *dir) {
  ReplDef nd = {.text = strdup(text), .dir = dir ? strdup(dir) : NULL};
  if (!nd.text || (dir && !nd.dir))
    arena_fatal("out of memory");
  scan_names(&nd, text);
  char *all = session_text(r, &nd);
  FrontendOptions opt = {
      .emit = EMIT_NONE, .out = r->out, .diag_out = r->err, .stdlib_dir = r->stdlib_dir};
  fflush(r->out);
  Compilation *c = frontend_compile_buffer(file ? file : "<input>", all, strlen(all), 0, 0, &opt);
  bool ok = !c->errors;
  frontend_free(c);
  free(all);
  if (ok)
    commit(r, &nd);
  else
    repl_def_free(&nd);
  return ok;
}

char *repl_defs_text(const Repl *r) {
  ReplDef none = {.text = ""};
  return session_text(r, &none);
}

const char *repl_def_dir(const Repl *r, const char *name) {
  for (int i = 0; i < r->ndefs; i++)
    for (int k = 0; k < r->defs[i].nnames; k++)
      if (!strcmp(r->defs[i].names[k], name))
        return r->defs[i].dir ? r->defs[i].dir : ".";
  return ".";
}

bool repl_is_model(const Repl *r, const char *name) {
  for (int i = 0; i < r->ndefs; i++)
    for (int k = 0; k < r->defs[i].nnames; k++)
      if (!strcmp(r->defs[i].names[k], name))
        return r->defs[i].is_model[k];
  return false;
}
