/* train_config.c - reading checked data/train sections into TrainConfig. */
#include "train_config.h"

#include <string.h>

#include "ast_text.h"
#include "elab.h"

typedef struct Reader {
  Program *p;
  Elab e;
  const char *dir;
  const IrModule *mod; /* the lowered model, for its `share` aliases */
} Reader;

static CtVal eval(Reader *r, const AstNode *x) {
  CtEnv env = {0};
  CtVal v = {0};
  if (!consteval_expr(&r->e, &env, x, &v))
    NNC_BUG("a checked section field does not evaluate");
  return v;
}

static double num(Reader *r, const AstNode *x) {
  CtVal v = eval(r, x);
  return v.kind == CV_INT ? (double)v.dim.constant : v.f;
}

static bool boolean(Reader *r, const AstNode *x) { return eval(r, x).b; }

static const char *path_of(Reader *r, const AstNode *x) {
  const char *s = x->u.string_lit.value;
  if (s[0] == '/' || !r->dir || !r->dir[0])
    return s;
  return arena_printf(r->p->arena, "%s/%s", r->dir, s);
}

/* The argument named `name` (or at position pos) of a checked call. */
static const AstNode *arg(const AstNode *call, int pos, const char *name) {
  const PtrVec *as = &call->u.call.args;
  int positional = 0;
  for (int i = 0; i < as->len; i++) {
    const AstNode *a = as->items[i];
    if (a->kind == AST_KWARG) {
      if (!strcmp(a->u.kwarg.key, name))
        return a->u.kwarg.value;
    } else if (positional++ == pos) {
      return a;
    }
  }
  return NULL;
}

static const char *callee(const AstNode *call) { return call->u.call.callee->u.name.name; }

static void read_source(Reader *r, const AstNode *x, DataSource *s) {
  const char *k = callee(x);
  const AstNode *a;
  memset(s, 0, sizeof *s);
  if (!strcmp(k, "csv")) {
    s->kind = DATA_CSV;
    s->path = path_of(r, arg(x, 0, "path"));
    s->has_label = true;
    s->label = -1;
    if ((a = arg(x, 1, "label")))
      s->label = (int)num(r, a);
    if ((a = arg(x, 2, "scale")))
      s->scale = num(r, a);
    if ((a = arg(x, 3, "header")))
      s->header = boolean(r, a);
    if ((a = arg(x, 4, "features"))) {
      s->nfeatures = a->u.list.items.len;
      s->features = ARENA_ARRAY(r->p->arena, int, (size_t)s->nfeatures + 1);
      for (int i = 0; i < s->nfeatures; i++)
        s->features[i] = (int)num(r, a->u.list.items.items[i]);
    }
  } else if (!strcmp(k, "idx")) {
    s->kind = DATA_IDX;
    s->path = path_of(r, arg(x, 0, "images"));
    s->path2 = path_of(r, arg(x, 1, "labels"));
    if ((a = arg(x, 2, "scale")))
      s->scale = num(r, a);
  } else if (!strcmp(k, "npy")) {
    s->kind = DATA_NPY;
    s->path = path_of(r, arg(x, 0, "x"));
    s->path2 = path_of(r, arg(x, 1, "y"));
  } else if (!strcmp(k, "npz")) {
    s->kind = DATA_NPZ;
    s->path = path_of(r, arg(x, 0, "path"));
    s->xkey = (a = arg(x, 1, "x")) ? a->u.string_lit.value : "x";
    s->ykey = (a = arg(x, 2, "y")) ? a->u.string_lit.value : "y";
  } else if (!strcmp(k, "mackey_glass")) {
    s->kind = DATA_MACKEY_GLASS;
    s->length = (a = arg(x, 0, "n")) ? (int64_t)num(r, a) : 10000;
    s->tau = (a = arg(x, 1, "tau")) ? (int64_t)num(r, a) : 17;
    s->seq = (a = arg(x, 2, "seq")) ? (int64_t)num(r, a) : 100;
    s->horizon = (a = arg(x, 3, "horizon")) ? (int64_t)num(r, a) : 1;
  } else {
    s->kind = DATA_TEXT;
    s->path = path_of(r, arg(x, 0, "path"));
    s->seq = (a = arg(x, 1, "seq")) ? (int64_t)num(r, a) : 64;
  }
}

static void read_data(Reader *r, const AstNode *sec, TrainConfig *c) {
  c->has_data = true;
  const PtrVec *fs = &sec->u.section.fields;
  for (int i = 0; i < fs->len; i++) {
    const AstNode *f = fs->items[i];
    const char *k = f->u.field.key;
    const AstNode *v = f->u.field.value;
    if (!strcmp(k, "source"))
      read_source(r, v, &c->source);
    else if (!strcmp(k, "validation") && v->kind == AST_CALL) {
      read_source(r, v, &c->val_source);
      c->has_val_source = true;
    } else if (!strcmp(k, "validation"))
      c->validation = num(r, v);
    else if (!strcmp(k, "batch"))
      c->batch = (int64_t)num(r, v);
    else if (!strcmp(k, "epochs"))
      c->epochs = (int64_t)num(r, v);
    else if (!strcmp(k, "seed"))
      c->seed = (uint64_t)num(r, v);
    else if (!strcmp(k, "shuffle"))
      c->shuffle = boolean(r, v);
    else if (!strcmp(k, "standardize"))
      c->standardize = boolean(r, v);
    else if (!strcmp(k, "image"))
      for (int j = 0; j < 3 && j < v->u.list.items.len; j++)
        c->image[j] = (int64_t)num(r, v->u.list.items.items[j]);
    else if (!strcmp(k, "random_crop"))
      c->random_crop = (int64_t)num(r, v);
    else if (!strcmp(k, "shift"))
      c->shift = (int64_t)num(r, v);
    else if (!strcmp(k, "hflip"))
      c->hflip = num(r, v);
  }
}

/* torch.optim's defaults. */
static void read_optimizer(Reader *r, const AstNode *x, TrainConfig *c) {
  const char *k = callee(x);
  IrOptim *o = &c->optim;
  *o = (IrOptim){.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .alpha = 0.99};
  c->lr = 0.001;
  if (!strcmp(k, "sgd")) {
    o->kind = OPTIM_SGD;
  } else if (!strcmp(k, "adam")) {
    o->kind = OPTIM_ADAM;
  } else if (!strcmp(k, "adamw")) {
    o->kind = OPTIM_ADAMW;
    o->weight_decay = 0.01;
  } else {
    o->kind = OPTIM_RMSPROP;
    c->lr = 0.01;
  }
  static const char *const keys[] = {"lr",    "beta1",    "beta2",       "eps",
                                     "alpha", "momentum", "weight_decay"};
  double *dst[] = {&c->lr,    &o->beta1,    &o->beta2,       &o->eps,
                   &o->alpha, &o->momentum, &o->weight_decay};
  const PtrVec *as = &x->u.call.args;
  for (int i = 0; i < as->len; i++) {
    const AstNode *a = as->items[i];
    const char *key = a->kind == AST_KWARG ? a->u.kwarg.key : i == 0 ? "lr" : NULL;
    const AstNode *v = a->kind == AST_KWARG ? a->u.kwarg.value : a;
    if (key && !strcmp(key, "nesterov")) {
      o->nesterov = boolean(r, v);
      continue;
    }
    for (size_t j = 0; key && j < sizeof keys / sizeof *keys; j++)
      if (!strcmp(key, keys[j]))
        *dst[j] = num(r, v);
  }
}

static void read_params(Reader *r, const AstNode *x, TrainConfig *c) {
  if (x->kind == AST_NAME)
    return; /* all */
  c->nparams = x->u.list.items.len;
  c->params = ARENA_ARRAY(r->p->arena, const char *, (size_t)c->nparams + 1);
  for (int i = 0; i < c->nparams; i++)
    c->params[i] = ir_module_unalias(r->p->arena, r->mod,
                                     ast_text_expr(r->p->arena, x->u.list.items.items[i]));
}

static void read_carried(Reader *r, const AstNode *x, TrainConfig *c) {
  c->ncarried = x->u.list.items.len;
  c->carried = ARENA_ARRAY(r->p->arena, const char *, (size_t)c->ncarried + 1);
  for (int i = 0; i < c->ncarried; i++)
    c->carried[i] = ir_module_unalias(r->p->arena, r->mod,
                                      ast_text_expr(r->p->arena, x->u.list.items.items[i]));
}

/* The train section named `want` (NULL: the first) is the step; the others
 * are only counted. */
static void read_train(Reader *r, const AstNode *sec, const char *want, TrainConfig *c) {
  c->ntrain_steps++;
  if (c->has_train || (want && strcmp(sec->u.section.name, want)))
    return;
  c->has_train = true;
  c->step_name = sec->u.section.name;
  const PtrVec *fs = &sec->u.section.fields;
  for (int i = 0; i < fs->len; i++) {
    const AstNode *f = fs->items[i];
    const char *k = f->u.field.key;
    const AstNode *v = f->u.field.value;
    if (!strcmp(k, "loss"))
      c->loss_fn = v->u.name.name;
    else if (!strcmp(k, "optimizer"))
      read_optimizer(r, v, c);
    else if (!strcmp(k, "params"))
      read_params(r, v, c);
    else if (!strcmp(k, "tbptt"))
      read_carried(r, v, c);
    else if (!strcmp(k, "clip"))
      c->clip = num(r, v);
    else if (!strcmp(k, "warmup"))
      c->warmup = (int64_t)num(r, v);
    else if (!strcmp(k, "patience"))
      c->patience = (int64_t)num(r, v);
    else if (!strcmp(k, "checkpoint_every"))
      c->checkpoint_every = (int64_t)num(r, v);
    else if (!strcmp(k, "features"))
      c->fit_features = v->u.name.name;
    else if (!strcmp(k, "fit")) {
      const AstNode *a;
      c->fit = FIT_RIDGE;
      c->fit_alpha = (a = arg(v, 0, "alpha")) ? num(r, a) : 1e-6;
      c->fit_washout = (a = arg(v, 1, "washout")) ? (int64_t)num(r, a) : 0;
    } else if (!strcmp(k, "schedule")) {
      const AstNode *a;
      if (!strcmp(callee(v), "step")) {
        c->schedule = SCHED_STEP;
        c->every = (int64_t)num(r, arg(v, 0, "every"));
        c->gamma = (a = arg(v, 1, "gamma")) ? num(r, a) : 0.1;
      } else {
        c->schedule = SCHED_COSINE;
        c->min_lr = (a = arg(v, 0, "min_lr")) ? num(r, a) : 0;
      }
    }
  }
}

static void read_generate(const AstNode *sec, TrainConfig *c) {
  const AstNode *step = sections_field(sec, "step");
  c->has_generate = true;
  if (step)
    c->gen_step = step->u.field.value->u.name.name;
}

bool train_config_read(Program *p, const IrModule *m, const char *model_dir, const char *train,
                       TrainConfig *out) {
  memset(out, 0, sizeof *out);
  out->batch = 32;
  out->epochs = 1;
  out->shuffle = true;
  Reader r = {.p = p, .dir = model_dir, .mod = m};
  IrModule scratch = {0};
  SymTab syms = {.arena = p->arena};
  scratch.syms = &syms;
  r.e = (Elab){.prog = p, .arena = p->arena, .diag = p->diag, .mod = &scratch};
  for (int i = 0; i < m->nsections; i++) {
    const AstNode *s = m->sections[i]->ast;
    if (s->u.section.kind == SEC_DATA)
      read_data(&r, s, out);
    else if (s->u.section.kind == SEC_GENERATE)
      read_generate(s, out);
    else
      read_train(&r, s, train, out);
  }
  train_config_fit_params(out, m);
  return !train || out->has_train;
}

const char *train_config_unknown_step(Arena *a, const IrModule *m, const char *train) {
  const char *names = "";
  int n = 0;
  for (int i = 0; i < m->nsections; i++)
    if (m->sections[i]->kind == SEC_TRAIN)
      names = arena_printf(a, "%s%s'%s'", names, n++ ? ", " : "", m->sections[i]->name);
  if (!n)
    return arena_printf(a, "model '%s' has no train section '%s': it has no train sections",
                        m->name, train);
  return arena_printf(a, "model '%s' has no train section '%s' (its train section%s: %s)", m->name,
                      train, n > 1 ? "s" : "", names);
}

void train_config_fit_params(TrainConfig *c, const IrModule *m) {
  for (int i = 0; c->fit && i < m->nparams; i++) {
    const IrParam *p = m->params[i];
    if (!p->trainable || !train_config_selects(c, p->name))
      continue;
    if (p->type.rank == 2)
      c->fit_weight = p->name;
    else if (p->type.rank == 1)
      c->fit_bias = p->name;
  }
}

bool train_config_selects(const TrainConfig *c, const char *name) {
  if (!c->params)
    return true;
  for (int i = 0; i < c->nparams; i++) {
    size_t n = strlen(c->params[i]);
    if (!strncmp(name, c->params[i], n) && (name[n] == 0 || name[n] == '.'))
      return true;
  }
  return false;
}
