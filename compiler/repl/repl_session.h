/* repl_session.h - what a REPL session remembers between inputs: the
 * definitions typed so far, as source text, and the tensors bound by `let`.
 * Both outlive any one compilation, so they are malloc'd, not in an arena. */
#ifndef NNC_REPL_SESSION_H
#define NNC_REPL_SESSION_H

#include <stdbool.h>
#include <stdio.h>

#include "nnrt.h"
#include "repl_cache.h"

typedef struct ReplVar {
  char *name;
  nnrt_tensor t;
} ReplVar;

/* One input holding imports, layers or models; `names` are what it defines
 * ("import nn" for an import), so a later input can replace it. */
typedef struct ReplDef {
  char *text;
  char *dir; /* :load: the file's directory (its data paths are relative to it); else NULL */
  char **names;
  bool *is_model; /* names[i] is a model (not a layer or an import) */
  int nnames;
} ReplDef;

/* A model's runtime handle, made when a command first needs it
 * (repl_model.h). */
typedef struct ReplModel ReplModel;

typedef struct Repl {
  const char *stdlib_dir;
  FILE *out, *err;
  ReplVar *vars;
  int nvars, cap_vars;
  ReplDef *defs;
  int ndefs, cap_defs;
  ReplModel **models;
  int nmodels;
  ReplCache cache; /* compiled expressions */
} Repl;

void repl_session_free(Repl *r);
void repl_def_free(ReplDef *d);
ReplVar *repl_var(Repl *r, const char *name);
/* Binds name to t, taking ownership of t's data and freeing any old value. */
void repl_bind(Repl *r, const char *name, nnrt_tensor t);

#endif
