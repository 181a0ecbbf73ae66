/* repl_model.c - the session's model handles; see repl_model.h. */
#include "repl.h"

#include <stdlib.h>
#include <string.h>

#include "model_desc.h"
#include "nnrt_train.h"
#include "pipeline.h"

static void model_free(ReplModel *h) {
  nnrt_model_free(h->m);
  jit_free(h->jit);
  frontend_free(h->comp);
  nnrt_dataset_free(&h->train);
  nnrt_dataset_free(&h->val);
  free(h->perm);
  free(h->x);
  free(h->y);
  free(h->text);
  free(h->section);
  free(h->name);
  free(h);
}

/* The functions of the training step and the loss, JIT-compiled; none
 * without a train section. Returns how many, or -1 after reporting. */
static int compile_step(Repl *r, ReplModel *h, IrModule *m, const TrainConfig *cfg, DescFunc *dfs,
                        JitFunc **jfs) {
  if (!cfg->has_train)
    return 0;
  TrainStep ts;
  char err[1024];
  if (!pipeline_train_step(&h->comp->arena, m, cfg, &ts, err, sizeof err)) {
    fprintf(r->err, "error: %s\n", err);
    return -1;
  }
  CodegenOptions cg = pipeline_default_options();
  /* a closed-form fit has no step (and :train refuses it) */
  const IrFunc *want[2] = {ts.eval, ts.step};
  int n = ts.step ? 2 : 1;
  for (int i = 0; i < n; i++) {
    if (!(jfs[i] = jit_compile(h->jit, m, want[i], &cg, err, sizeof err)))
      return fprintf(r->err, "error: %s\n", err), -1;
    dfs[i] = (DescFunc){want[i], jit_func_plan(jfs[i])};
  }
  h->ts = ts;
  return n;
}

/* The model as the runtime's handle, its parameters initialised as the
 * data section's seed says. */
static bool make_handle(Repl *r, ReplModel *h, IrModule *m, const TrainConfig *cfg) {
  char err[1024];
  DescFunc dfs[2];
  JitFunc *jfs[2];
  if (!(h->jit = jit_new(err, sizeof err)))
    return fprintf(r->err, "error: %s\n", err), false;
  int n = compile_step(r, h, m, cfg, dfs, jfs);
  if (n < 0)
    return false;
  nnrt_model_desc *d = model_desc_build(&h->comp->arena, m, n ? &h->ts : NULL, cfg, dfs, n);
  for (int i = 0; i < n; i++)
    model_desc_set_entry(d, i, jit_func_entry(jfs[i]));
  if (nnrt_model_create(d, &h->m))
    return fprintf(r->err, "error: %s\n", nnrt_model_create_error()), false;
  return true;
}

/* The data, and buffers for one batch of it. */
static bool load_data(Repl *r, ReplModel *h) {
  nnrt_run_options o = {.prog = "nnc"};
  fflush(r->out);
  if (nnrt_run_load_data(h->m, &o, &h->train, &h->val))
    return false;
  const nnrt_dataset *t = &h->train;
  int64_t bs = nnrt_model_descriptor(h->m)->cfg.batch;
  size_t rows = (size_t)(bs < t->n ? bs : t->n);
  h->perm = malloc(sizeof(int64_t) * (size_t)t->n);
  h->x = malloc(nnrt_dtype_size(t->x_dtype) * rows * (size_t)t->x_size + 1);
  h->y = malloc(nnrt_dtype_size(t->y_dtype) * rows * (size_t)t->y_size + 1);
  if (!h->perm || !h->x || !h->y)
    arena_fatal("out of memory");
  return true;
}

/* Compiles the session for model `name`, and loads its training data
 * when it has data and train sections. */
static bool build(Repl *r, ReplModel *h) {
  FrontendOptions opt = {
      .emit = EMIT_NONE, .out = r->out, .diag_out = r->err, .stdlib_dir = r->stdlib_dir};
  h->text = repl_defs_text(r);
  fflush(r->out);
  h->comp = frontend_compile_buffer("<session>", h->text, strlen(h->text), 0, 0, &opt);
  if (h->comp->errors)
    return false;
  IrModule *m = NULL;
  for (int i = 0; i < h->comp->nmodels && !m; i++)
    if (!strcmp(h->comp->models[i]->name, h->name))
      m = h->comp->models[i];
  if (!m) {
    fprintf(r->err, "error: no model '%s' in the session (:load a file or define one)\n", h->name);
    return false;
  }
  TrainConfig cfg;
  if (!train_config_read(&h->comp->prog, m, repl_def_dir(r, h->name), h->section, &cfg)) {
    fprintf(r->err, "error: %s\n", train_config_unknown_step(&h->comp->arena, m, h->section));
    return false;
  }
  if (!h->section && cfg.has_train && cfg.step_name && !(h->section = strdup(cfg.step_name)))
    arena_fatal("out of memory");
  return make_handle(r, h, m, &cfg) && (!cfg.has_data || !cfg.has_train || load_data(r, h));
}

static int model_index(const Repl *r, const char *name) {
  for (int i = 0; i < r->nmodels; i++)
    if (!strcmp(r->models[i]->name, name))
      return i;
  return -1;
}

/* A handle of model `name` for train section `section` (NULL: the first),
 * not yet among the session's; NULL after reporting. */
static ReplModel *new_handle(Repl *r, const char *name, const char *section) {
  ReplModel *h = calloc(1, sizeof *h);
  if (!h || !(h->name = strdup(name)) || (section && !(h->section = strdup(section))))
    arena_fatal("out of memory");
  if (!build(r, h)) {
    model_free(h);
    return NULL;
  }
  return h;
}

ReplModel *repl_model(Repl *r, const char *name) {
  int i = model_index(r, name);
  if (i >= 0)
    return r->models[i];
  ReplModel *h = new_handle(r, name, NULL);
  ReplModel **all = h ? realloc(r->models, (size_t)(r->nmodels + 1) * sizeof *all) : NULL;
  if (h && !all)
    arena_fatal("out of memory");
  if (h) {
    r->models = all;
    r->models[r->nmodels++] = h;
  }
  return h;
}

/* The model's own weights and states, from the old handle into the new;
 * the optimizer's state (optim.*) starts afresh with the new section. */
static void copy_weights(ReplModel *to, ReplModel *from) {
  const nnrt_model_desc *d = nnrt_model_descriptor(to->m);
  for (int i = 0; i < d->nparams; i++) {
    const char *name = d->params[i].name;
    int j = nnrt_model_find_param(from->m, name);
    if (!nnrt_checkpoint_is_optim(name) && j >= 0 &&
        nnrt_model_param_bytes(from->m, j) == nnrt_model_param_bytes(to->m, i))
      memcpy(nnrt_model_param_data(to->m, i), nnrt_model_param_data(from->m, j),
             (size_t)nnrt_model_param_bytes(to->m, i));
  }
}

ReplModel *repl_model_section(Repl *r, const char *name, const char *section,
                              bool (*usable)(Repl *r, const ReplModel *h)) {
  ReplModel *old = repl_model(r, name);
  if (!old || (old->section && !strcmp(old->section, section)))
    return old && usable(r, old) ? old : NULL;
  ReplModel *h = new_handle(r, name, section);
  if (h && !usable(r, h)) {
    model_free(h);
    h = NULL;
  }
  if (!h)
    return NULL;
  copy_weights(h, old);
  int i = model_index(r, name);
  model_free(old);
  r->models[i] = h;
  return h;
}

void repl_model_drop(Repl *r, const char *name) {
  for (int i = 0; i < r->nmodels; i++)
    if (!strcmp(r->models[i]->name, name)) {
      model_free(r->models[i]);
      r->models[i] = r->models[--r->nmodels];
      return;
    }
}

void repl_models_free(Repl *r) {
  for (int i = 0; i < r->nmodels; i++)
    model_free(r->models[i]);
  free(r->models);
  r->models = NULL;
  r->nmodels = 0;
}
