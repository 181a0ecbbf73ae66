/* sections.c - the `data` and `train` sections of a model.
 *
 * Each section kind has a table of fields; each field a value kind. Sources
 * and optimizers are calls checked against their own table of arguments, so
 * a misspelt hyperparameter is an error at compile time rather than a value
 * silently ignored at run time. Values are compile-time constants.
 */
#include <string.h>

#include "ast_text.h"
#include "elab.h"

typedef enum ValueKind {
  V_INT_POS,    /* int >= 1 */
  V_INT_NONNEG, /* int >= 0 */
  V_INT,        /* any int */
  V_NUM_POS,    /* number > 0 */
  V_NUM_NONNEG, /* number >= 0 */
  V_FRACTION,   /* number in [0, 1) */
  V_PROB,       /* number in [0, 1] */
  V_BOOL,
  V_STRING,
  V_INT_LIST,  /* [0, 1, 2] */
  V_IMAGE,     /* [C, H, W], each >= 1 */
  V_SOURCE,    /* csv(...), idx(...), npy(...), npz(...), text(...) */
  V_SPLIT,     /* a fraction or a source */
  V_OPTIMIZER, /* sgd(...), adam(...), ... */
  V_LOSS_FN,   /* the name of a function of the model */
  V_PARAMS,    /* all, or a list of members */
  V_SCHEDULE,  /* step(...), cosine(...) */
  V_STEP_FN,   /* generate: the name of a function of the model */
  V_STATES,    /* a list of state tensors (tbptt) */
  V_FIT,       /* ridge(...): a closed-form fit instead of an optimizer */
  V_FEATURES,  /* with fit: the name of a function of the model */
} ValueKind;

typedef struct FieldSpec {
  const char *name;
  ValueKind kind;
  bool required;
} FieldSpec;

enum { MAX_CALL_ARGS = 6 };

typedef struct CallSpec {
  const char *name;
  FieldSpec args[MAX_CALL_ARGS]; /* positional order; required ones first */
} CallSpec;

static const FieldSpec data_fields[] = {
    {"source", V_SOURCE, true},
    {"validation", V_SPLIT, false},
    {"batch", V_INT_POS, false},
    {"epochs", V_INT_POS, false},
    {"seed", V_INT_NONNEG, false},
    {"shuffle", V_BOOL, false},
    {"standardize", V_BOOL, false},
    /* image data: the samples' shape and augmentation of the training set */
    {"image", V_IMAGE, false},
    {"random_crop", V_INT_NONNEG, false},
    {"shift", V_INT_NONNEG, false},
    {"hflip", V_PROB, false},
    {NULL, 0, false},
};

static const FieldSpec train_fields[] = {
    {"loss", V_LOSS_FN, true},
    {"optimizer", V_OPTIMIZER, false}, /* required unless fit (check_fit_fields) */
    {"params", V_PARAMS, false},
    {"clip", V_NUM_POS, false},
    {"schedule", V_SCHEDULE, false},
    {"warmup", V_INT_NONNEG, false},
    {"patience", V_INT_NONNEG, false},
    {"checkpoint_every", V_INT_NONNEG, false},
    {"fit", V_FIT, false},
    {"features", V_FEATURES, false},
    {"tbptt", V_STATES, false},
    {NULL, 0, false},
};

static const FieldSpec generate_fields[] = {
    {"step", V_STEP_FN, true},
    {NULL, 0, false},
};

static const CallSpec schedules[] = {
    {"step", {{"every", V_INT_POS, true}, {"gamma", V_NUM_POS, false}}},
    {"cosine", {{"min_lr", V_NUM_NONNEG, false}}},
    {NULL, {{0}}},
};

static const CallSpec sources[] = {
    {"csv",
     {{"path", V_STRING, true},
      {"label", V_INT, false},
      {"scale", V_NUM_POS, false},
      {"header", V_BOOL, false},
      {"features", V_INT_LIST, false}}},
    {"idx", {{"images", V_STRING, true}, {"labels", V_STRING, true}, {"scale", V_NUM_POS, false}}},
    {"npy", {{"x", V_STRING, true}, {"y", V_STRING, true}}},
    {"npz", {{"path", V_STRING, true}, {"x", V_STRING, false}, {"y", V_STRING, false}}},
    {"text", {{"path", V_STRING, true}, {"seq", V_INT_POS, false}}},
    {"mackey_glass",
     {{"n", V_INT_POS, false},
      {"tau", V_INT_POS, false},
      {"seq", V_INT_POS, false},
      {"horizon", V_INT_POS, false}}},
    {NULL, {{0}}},
};

static const CallSpec fits[] = {
    {"ridge", {{"alpha", V_NUM_NONNEG, false}, {"washout", V_INT_NONNEG, false}}},
    {NULL, {{0}}},
};

static const CallSpec optimizers[] = {
    {"sgd",
     {{"lr", V_NUM_POS, true},
      {"momentum", V_NUM_NONNEG, false},
      {"nesterov", V_BOOL, false},
      {"weight_decay", V_NUM_NONNEG, false}}},
    {"adam",
     {{"lr", V_NUM_POS, false},
      {"beta1", V_FRACTION, false},
      {"beta2", V_FRACTION, false},
      {"eps", V_NUM_POS, false},
      {"weight_decay", V_NUM_NONNEG, false}}},
    {"adamw",
     {{"lr", V_NUM_POS, false},
      {"beta1", V_FRACTION, false},
      {"beta2", V_FRACTION, false},
      {"eps", V_NUM_POS, false},
      {"weight_decay", V_NUM_NONNEG, false}}},
    {"rmsprop",
     {{"lr", V_NUM_POS, false},
      {"alpha", V_FRACTION, false},
      {"eps", V_NUM_POS, false},
      {"momentum", V_NUM_NONNEG, false},
      {"weight_decay", V_NUM_NONNEG, false}}},
    {NULL, {{0}}},
};

typedef struct SectionCheck {
  Program *p;
  Elab e; /* for compile-time evaluation */
  const AstNode *model;
} SectionCheck;

static bool check_value(SectionCheck *c, const FieldSpec *spec, const AstNode *x);

static const char *names_of_calls(SectionCheck *c, const CallSpec *specs) {
  const char *s = "";
  for (int i = 0; specs[i].name; i++)
    s = arena_printf(c->p->arena, "%s%s%s", s, i ? ", " : "", specs[i].name);
  return s;
}

static const char *names_of_fields(SectionCheck *c, const FieldSpec *specs) {
  const char *s = "";
  for (int i = 0; specs[i].name; i++)
    s = arena_printf(c->p->arena, "%s%s%s", s, i ? ", " : "", specs[i].name);
  return s;
}

static bool check_call(SectionCheck *c, const CallSpec *specs, const char *what, const AstNode *x) {
  if (x->kind != AST_CALL || x->u.call.callee->kind != AST_NAME) {
    diag_error(c->p->diag, x->loc, "expected %s (one of %s)", what, names_of_calls(c, specs));
    return false;
  }
  const char *name = x->u.call.callee->u.name.name;
  const CallSpec *spec = NULL;
  for (int i = 0; specs[i].name; i++)
    if (!strcmp(specs[i].name, name))
      spec = &specs[i];
  if (!spec) {
    diag_error(c->p->diag, x->u.call.callee->loc, "unknown %s '%s' (known: %s)", what, name,
               names_of_calls(c, specs));
    return false;
  }
  const AstNode *given[MAX_CALL_ARGS] = {0};
  int nargs = 0, pos = 0;
  while (nargs < MAX_CALL_ARGS && spec->args[nargs].name)
    nargs++;
  bool ok = true;
  for (int i = 0; i < x->u.call.args.len; i++) {
    const AstNode *a = x->u.call.args.items[i];
    int slot = -1;
    if (a->kind == AST_KWARG) {
      for (int k = 0; k < nargs; k++)
        if (!strcmp(spec->args[k].name, a->u.kwarg.key))
          slot = k;
      if (slot < 0) {
        diag_error(c->p->diag, a->loc, "%s has no argument '%s' (it takes %s)", name,
                   a->u.kwarg.key, names_of_fields(c, spec->args));
        ok = false;
        continue;
      }
      a = a->u.kwarg.value;
    } else if ((slot = pos++) >= nargs) {
      diag_error(c->p->diag, a->loc, "too many arguments to %s (it takes %s)", name,
                 names_of_fields(c, spec->args));
      return false;
    }
    if (given[slot]) {
      diag_error(c->p->diag, a->loc, "argument '%s' is given twice", spec->args[slot].name);
      ok = false;
      continue;
    }
    given[slot] = a;
    ok = check_value(c, &spec->args[slot], a) && ok;
  }
  for (int k = 0; k < nargs; k++)
    if (spec->args[k].required && !given[k]) {
      diag_error(c->p->diag, x->loc, "%s needs its argument '%s'", name, spec->args[k].name);
      ok = false;
    }
  return ok;
}

static bool eval_number(SectionCheck *c, const AstNode *x, double *out, bool *is_int) {
  CtEnv env = {0};
  CtVal v;
  if (!consteval_expr(&c->e, &env, x, &v))
    return false;
  if (v.kind != CV_INT && v.kind != CV_FLOAT) {
    diag_error(c->p->diag, x->loc, "expected a number, got a %s", consteval_kind_name(v.kind));
    return false;
  }
  *is_int = v.kind == CV_INT;
  *out = v.kind == CV_INT ? (double)v.dim.constant : v.f;
  return true;
}

/* ---- mackey_glass: the series must hold one window and its target ---- */

/* The value of a checked source's argument `name` (at position pos), or
 * `dflt` when it is not given. */
static double source_arg(SectionCheck *c, const AstNode *call, int pos, const char *name,
                         double dflt) {
  const PtrVec *as = &call->u.call.args;
  int positional = 0;
  for (int i = 0; i < as->len; i++) {
    const AstNode *a = as->items[i];
    bool hit = a->kind == AST_KWARG ? !strcmp(a->u.kwarg.key, name) : positional++ == pos;
    double v;
    bool is_int;
    if (hit && eval_number(c, a->kind == AST_KWARG ? a->u.kwarg.value : a, &v, &is_int))
      return v;
  }
  return dflt;
}

static bool check_series_source(SectionCheck *c, const AstNode *x) {
  if (strcmp(x->u.call.callee->u.name.name, "mackey_glass"))
    return true;
  double n = source_arg(c, x, 0, "n", 10000), seq = source_arg(c, x, 2, "seq", 100);
  double horizon = source_arg(c, x, 3, "horizon", 1);
  if (seq + horizon <= n && n <= 2147483648.0 && source_arg(c, x, 1, "tau", 17) <= 100000)
    return true;
  diag_error(c->p->diag, x->loc,
             "mackey_glass: the series of n = %g values must hold one window and its target, "
             "seq + horizon = %g (and n <= 2^31, tau <= 100000)",
             n, seq + horizon);
  return false;
}

static bool check_number(SectionCheck *c, const FieldSpec *spec, const AstNode *x) {
  double v;
  bool is_int;
  if (!eval_number(c, x, &v, &is_int))
    return false;
  bool want_int = spec->kind == V_INT_POS || spec->kind == V_INT_NONNEG || spec->kind == V_INT;
  if (want_int && !is_int) {
    diag_error(c->p->diag, x->loc, "'%s' must be an int, got %g", spec->name, v);
    return false;
  }
  const char *rule = NULL;
  switch (spec->kind) {
  case V_INT_POS:
    rule = v >= 1 ? NULL : "at least 1";
    break;
  case V_INT_NONNEG:
  case V_NUM_NONNEG:
    rule = v >= 0 ? NULL : "at least 0";
    break;
  case V_NUM_POS:
    rule = v > 0 ? NULL : "greater than 0";
    break;
  case V_FRACTION:
    rule = v >= 0 && v < 1 ? NULL : "in [0, 1)";
    break;
  case V_PROB:
    rule = v >= 0 && v <= 1 ? NULL : "a probability in [0, 1]";
    break;
  default:
    break;
  }
  if (rule) {
    diag_error(c->p->diag, x->loc, "'%s' must be %s, got %g", spec->name, rule, v);
    return false;
  }
  return true;
}

static const AstNode *model_member(SectionCheck *c, const char *name) {
  const PtrVec *ms = &c->model->u.layer.members;
  for (int i = 0; i < ms->len; i++) {
    const AstNode *m = ms->items[i];
    const char *n = m->kind == AST_FN                              ? m->u.fn.name
                    : m->kind == AST_INSTANCE                      ? m->u.instance.name
                    : m->kind == AST_PARAM || m->kind == AST_STATE ? m->u.param.name
                                                                   : NULL;
    if (n && !strcmp(n, name))
      return m;
  }
  return NULL;
}

/* loss, a generate section's step, fit's features: the name of a function
 * of the model. The step's and the features' signatures are checked on the
 * lowered IR (generate.c, fit.c), where the dims are known. */
static bool check_fn_name(SectionCheck *c, const FieldSpec *spec, const AstNode *x) {
  const AstNode *m = x->kind == AST_NAME ? model_member(c, x->u.name.name) : NULL;
  if (x->kind != AST_NAME || !m || m->kind != AST_FN) {
    diag_error(c->p->diag, x->loc, "'%s' must name a function of model '%s'", spec->name,
               c->model->u.layer.name);
    return false;
  }
  return true;
}

static const AstNode *layer_member(const AstNode *layer, const char *name) {
  const PtrVec *ms = &layer->u.layer.members;
  for (int i = 0; i < ms->len; i++) {
    const AstNode *m = ms->items[i];
    const char *n = m->kind == AST_INSTANCE                        ? m->u.instance.name
                    : m->kind == AST_SHARE                         ? m->u.share.name
                    : m->kind == AST_PARAM || m->kind == AST_STATE ? m->u.param.name
                                                                   : NULL;
    if (n && !strcmp(n, name))
      return m;
  }
  return NULL;
}

/* The layer a (non-repeated) instance member instantiates, or NULL. */
static const AstNode *instance_layer(SectionCheck *c, const AstNode *m) {
  if (!m || m->kind != AST_INSTANCE || m->u.instance.loopvar ||
      m->u.instance.call->u.call.callee->kind != AST_NAME)
    return NULL;
  return strmap_get(&c->p->layers, m->u.instance.call->u.call.callee->u.name.name);
}

/* Resolves `fc1` or `encoder.fc1.W` through the layers' declarations,
 * starting in `layer`: each step but the last must be a (non-repeated)
 * instance; `share` members stand for what they name (elaboration reports
 * a chain of them that loops; the depth limit stops it here). */
static const AstNode *path_member(SectionCheck *c, const AstNode *layer, const AstNode *x,
                                  int depth) {
  if (depth > 64)
    return NULL;
  const AstNode *owner = layer, *m;
  if (x->kind == AST_MEMBER) {
    owner = instance_layer(c, path_member(c, layer, x->u.member.object, depth + 1));
    if (!owner)
      return NULL;
    m = layer_member(owner, x->u.member.name);
  } else if (x->kind == AST_NAME) {
    m = layer_member(layer, x->u.name.name);
  } else {
    return NULL;
  }
  if (m && m->kind == AST_SHARE)
    return path_member(c, owner, m->u.share.target, depth + 1);
  return m;
}

/* The last step of a `params` path must be an instance or a trainable
 * parameter. */
static bool is_trainable_path(SectionCheck *c, const AstNode *x) {
  const AstNode *m = path_member(c, c->model, x, 0);
  return m && m->kind != AST_STATE;
}

static bool check_params(SectionCheck *c, const AstNode *x) {
  if (x->kind == AST_NAME && !strcmp(x->u.name.name, "all"))
    return true;
  if (x->kind != AST_LIST) {
    diag_error(c->p->diag, x->loc, "'params' must be 'all' or a list of members, e.g. [fc1, fc2]");
    return false;
  }
  bool ok = true;
  for (int i = 0; i < x->u.list.items.len; i++) {
    const AstNode *it = x->u.list.items.items[i];
    if (!is_trainable_path(c, it)) {
      diag_error(c->p->diag, it->loc, "'%s' is not a trainable member of model '%s'",
                 ast_text_expr(c->p->arena, it), c->model->u.layer.name);
      ok = false;
    }
  }
  return ok;
}

/* tbptt = [h, lstm.c]: state tensors of the model, each named once (that
 * the loss writes them and their batch is checked on the lowered model,
 * tbptt.c). */
static bool check_states(SectionCheck *c, const AstNode *x) {
  if (x->kind != AST_LIST || x->u.list.items.len == 0) {
    diag_error(c->p->diag, x->loc,
               "'tbptt' must be a list of the state tensors carried from one batch to the next, "
               "e.g. [h, c]");
    return false;
  }
  bool ok = true;
  for (int i = 0; i < x->u.list.items.len; i++) {
    const AstNode *it = x->u.list.items.items[i];
    const AstNode *m = path_member(c, c->model, it, 0);
    if (!m || m->kind != AST_STATE) {
      diag_error(c->p->diag, it->loc,
                 "'%s' is not a state tensor of model '%s': tbptt carries tensors declared "
                 "with 'state'",
                 ast_text_expr(c->p->arena, it), c->model->u.layer.name);
      ok = false;
      continue;
    }
    for (int k = 0; k < i; k++)
      if (path_member(c, c->model, x->u.list.items.items[k], 0) == m) {
        diag_error(c->p->diag, it->loc, "'%s' is carried twice", ast_text_expr(c->p->arena, it));
        ok = false;
      }
  }
  return ok;
}

static bool check_value(SectionCheck *c, const FieldSpec *spec, const AstNode *x) {
  switch (spec->kind) {
  case V_SOURCE:
    return check_call(c, sources, "data source", x) && check_series_source(c, x);
  case V_SPLIT:
    if (x->kind == AST_CALL)
      return check_call(c, sources, "data source", x) && check_series_source(c, x);
    return check_number(c, &(FieldSpec){spec->name, V_FRACTION, false}, x);
  case V_OPTIMIZER:
    return check_call(c, optimizers, "optimizer", x);
  case V_SCHEDULE:
    return check_call(c, schedules, "schedule", x);
  case V_LOSS_FN:
  case V_STEP_FN:
  case V_FEATURES:
    return check_fn_name(c, spec, x);
  case V_FIT:
    return check_call(c, fits, "fit", x);
  case V_PARAMS:
    return check_params(c, x);
  case V_STATES:
    return check_states(c, x);
  case V_STRING:
    if (x->kind != AST_STRING) {
      diag_error(c->p->diag, x->loc, "'%s' must be a string", spec->name);
      return false;
    }
    return true;
  case V_BOOL:
    if (x->kind != AST_BOOL) {
      diag_error(c->p->diag, x->loc, "'%s' must be true or false", spec->name);
      return false;
    }
    return true;
  case V_INT_LIST:
    if (x->kind != AST_LIST) {
      diag_error(c->p->diag, x->loc, "'%s' must be a list of column numbers", spec->name);
      return false;
    }
    for (int i = 0; i < x->u.list.items.len; i++)
      if (!check_number(c, &(FieldSpec){spec->name, V_INT_NONNEG, false}, x->u.list.items.items[i]))
        return false;
    return true;
  case V_IMAGE:
    if (x->kind != AST_LIST || x->u.list.items.len != 3) {
      diag_error(c->p->diag, x->loc,
                 "'%s' must be the shape of one sample, [C, H, W] (channels, height, width)",
                 spec->name);
      return false;
    }
    for (int i = 0; i < 3; i++)
      if (!check_number(c, &(FieldSpec){spec->name, V_INT_POS, false}, x->u.list.items.items[i]))
        return false;
    return true;
  default:
    return check_number(c, spec, x);
  }
}

static const char *source_kind(const AstNode *source) {
  return source && source->kind == AST_CALL && source->u.call.callee->kind == AST_NAME
             ? source->u.call.callee->u.name.name
             : "";
}

/* image, random_crop, shift and hflip need samples that are images: a text
 * source gives token windows, and a CSV row is flat unless `image` says
 * what shape it has. (idx, npy and npz carry their shape: checked when the
 * data are loaded.) */
static void check_image_fields(SectionCheck *c, const FieldSpec *specs, const AstNode **given) {
  const AstNode *source = NULL, *image = NULL;
  for (int k = 0; specs[k].name; k++) {
    if (given[k] && !strcmp(specs[k].name, "source"))
      source = given[k]->u.field.value;
    if (given[k] && !strcmp(specs[k].name, "image"))
      image = given[k];
  }
  const char *kind = source_kind(source);
  for (int k = 0; specs[k].name; k++) {
    const char *n = specs[k].name;
    bool augment = !strcmp(n, "random_crop") || !strcmp(n, "shift") || !strcmp(n, "hflip");
    if (!given[k] || (!augment && strcmp(n, "image")))
      continue;
    if (!strcmp(kind, "text") || !strcmp(kind, "mackey_glass")) {
      diag_error(c->p->diag, given[k]->loc, "'%s' is for image data, but a %s source gives %s", n,
                 kind, !strcmp(kind, "text") ? "windows of tokens" : "windows of a series");
      diag_note(c->p->diag, source->loc, "the source is here");
    } else if (augment && !strcmp(kind, "csv") && !image) {
      diag_error(c->p->diag, given[k]->loc,
                 "'%s' needs image data, but the rows of a csv source are flat", n);
      diag_note(c->p->diag, source->loc,
                "give each row's shape with 'image = [C, H, W]' (rows fill it row-major)");
    }
  }
}

/* ---- fit = ridge(...): a train section that solves for the readout ----
 * It takes no gradient steps, so the optimizer's fields do not apply; it
 * needs the function whose rows are fitted and the parameters to write. */
static void check_fit_fields(SectionCheck *c, const AstNode *s, const FieldSpec *specs,
                             const AstNode **given) {
  const AstNode *fit = NULL, *features = NULL, *optimizer = NULL, *params = NULL;
  for (int k = 0; specs[k].name; k++) {
    const char *n = specs[k].name;
    fit = !strcmp(n, "fit") ? given[k] : fit;
    features = !strcmp(n, "features") ? given[k] : features;
    optimizer = !strcmp(n, "optimizer") ? given[k] : optimizer;
    params = !strcmp(n, "params") ? given[k] : params;
  }
  if (!fit) {
    if (!optimizer)
      diag_error(c->p->diag, s->loc, "train section needs a 'optimizer' field");
    if (features) {
      diag_error(c->p->diag, features->loc,
                 "'features' is for a closed-form fit, but this section has no 'fit' field");
    }
    return;
  }
  static const char *const gradient_only[] = {"optimizer", "clip",     "schedule",
                                              "warmup",    "patience", "checkpoint_every"};
  for (int k = 0; specs[k].name; k++)
    for (size_t j = 0; j < sizeof gradient_only / sizeof *gradient_only; j++)
      if (given[k] && !strcmp(specs[k].name, gradient_only[j])) {
        diag_error(c->p->diag, given[k]->loc,
                   "'%s' does not apply to a closed-form fit, which takes no gradient steps",
                   specs[k].name);
        diag_note(c->p->diag, fit->loc, "the section fits its parameters here");
      }
  if (!features)
    diag_error(c->p->diag, fit->loc,
               "a closed-form fit needs 'features = FN': the function of the model whose rows "
               "the readout maps to the targets");
  if (!params)
    diag_error(c->p->diag, fit->loc,
               "a closed-form fit needs 'params = [...]': the readout's weight [N, K] and bias "
               "[K], e.g. params = [readout]");
}

static void check_section(SectionCheck *c, const AstNode *s) {
  AstSectionKind sk = s->u.section.kind;
  const FieldSpec *specs = sk == SEC_TRAIN  ? train_fields
                           : sk == SEC_DATA ? data_fields
                                            : generate_fields;
  const char *kind = sk == SEC_TRAIN ? "train" : sk == SEC_DATA ? "data" : "generate";
  const AstNode *given[16] = {0};
  const PtrVec *fields = &s->u.section.fields;
  for (int i = 0; i < fields->len; i++) {
    const AstNode *fl = fields->items[i];
    int k = 0;
    while (specs[k].name && strcmp(specs[k].name, fl->u.field.key))
      k++;
    if (!specs[k].name) {
      const char *names[16];
      int n = 0;
      for (; specs[n].name; n++)
        names[n] = specs[n].name;
      const char *guess = sema_closest_name(fl->u.field.key, names, n);
      diag_error(c->p->diag, fl->loc, "unknown field '%s' in a %s section%s%s%s", fl->u.field.key,
                 kind, guess ? "; did you mean '" : " (fields: ",
                 guess ? guess : names_of_fields(c, specs), guess ? "'?" : ")");
      continue;
    }
    if (given[k]) {
      diag_error(c->p->diag, fl->loc, "field '%s' is given twice", fl->u.field.key);
      diag_note(c->p->diag, given[k]->loc, "first given here");
      continue;
    }
    given[k] = fl;
    check_value(c, &specs[k], fl->u.field.value);
  }
  for (int k = 0; specs[k].name; k++)
    if (specs[k].required && !given[k])
      diag_error(c->p->diag, s->loc, "%s section needs a '%s' field", kind, specs[k].name);
  if (s->u.section.kind == SEC_DATA)
    check_image_fields(c, specs, given);
  if (s->u.section.kind == SEC_TRAIN)
    check_fit_fields(c, s, specs, given);
}

/* The section of `kind` at or after member `from` of the model, or NULL. */
static const AstNode *section_from(const AstNode *model, AstSectionKind kind, int from) {
  const PtrVec *ms = &model->u.layer.members;
  for (int i = from; i < ms->len; i++) {
    const AstNode *s = ms->items[i];
    if (s->kind == AST_SECTION && s->u.section.kind == kind)
      return s;
  }
  return NULL;
}

const AstNode *sections_first(const AstNode *model, AstSectionKind kind) {
  return section_from(model, kind, 0);
}

const AstNode *sections_next(const AstNode *model, const AstNode *section) {
  const PtrVec *ms = &model->u.layer.members;
  for (int i = 0; i < ms->len; i++)
    if (ms->items[i] == section)
      return section_from(model, section->u.section.kind, i + 1);
  return NULL;
}

const AstNode *sections_field(const AstNode *section, const char *key) {
  const PtrVec *fs = &section->u.section.fields;
  for (int i = 0; i < fs->len; i++) {
    const AstNode *f = fs->items[i];
    if (!strcmp(f->u.field.key, key))
      return f;
  }
  return NULL;
}

/* The per-sample dims of the loss function's first argument, when they are
 * written as numbers (their count), else -1. */
static int loss_input_dims(SectionCheck *c, const AstNode *train, int64_t *dims,
                           const AstNode **arg) {
  const AstNode *loss = sections_field(train, "loss");
  const AstNode *fn = loss && loss->u.field.value->kind == AST_NAME
                          ? model_member(c, loss->u.field.value->u.name.name)
                          : NULL;
  if (!fn || fn->kind != AST_FN || fn->u.fn.args.len < 1)
    return -1;
  *arg = fn->u.fn.args.items[0];
  const AstNode *t = (*arg)->u.fnarg.type;
  if (!t || t->kind != AST_TYPE || !t->u.type.has_dims || t->u.type.dims.len - 1 > 8)
    return -1;
  for (int i = 1; i < t->u.type.dims.len; i++) {
    const AstNode *d = t->u.type.dims.items[i];
    if (d->kind != AST_INT)
      return -1;
    dims[i - 1] = d->u.int_lit.value;
  }
  return t->u.type.dims.len - 1;
}

/* image = [C, H, W] against a loss input declared as an image with
 * numbers: the same shape, channels of one aside (a flat input takes any
 * image of its size, which the run checks against the file). */
static void check_image_input(SectionCheck *c, const AstNode *data, const AstNode *train) {
  const AstNode *image = sections_field(data, "image"), *arg = NULL;
  if (!image || image->u.field.value->kind != AST_LIST ||
      image->u.field.value->u.list.items.len != 3)
    return;
  int64_t want[3], have[8];
  for (int i = 0; i < 3; i++) {
    const AstNode *d = image->u.field.value->u.list.items.items[i];
    if (d->kind != AST_INT || d->u.int_lit.value < 1)
      return; /* not a shape: said by check_value */
    want[i] = d->u.int_lit.value;
  }
  int rank = loss_input_dims(c, train, have, &arg);
  if (rank < 2)
    return;
  const int64_t *a = want, *b = have;
  int ra = 3, rb = rank;
  while (ra > 0 && a[0] == 1)
    a++, ra--;
  while (rb > 0 && b[0] == 1)
    b++, rb--;
  bool same = ra == rb;
  for (int i = 0; same && i < ra; i++)
    same = a[i] == b[i];
  if (same)
    return;
  const char *shape = "";
  for (int i = 0; i < rank; i++)
    shape = arena_printf(c->p->arena, "%s%s%lld", shape, i ? ", " : "", (long long)have[i]);
  diag_error(c->p->diag, image->loc,
             "'image = [%lld, %lld, %lld]' does not match the model's input: its samples are [%s]",
             (long long)want[0], (long long)want[1], (long long)want[2], shape);
  diag_note(c->p->diag, arg->loc, "the training loss's input is declared here");
}

/* Truncated backpropagation through time reads the data in order, as
 * streams; shuffling would break them. */
static bool check_tbptt_order(SectionCheck *c, const AstNode *data, const AstNode *train) {
  const AstNode *tbptt = sections_field(train, "tbptt"), *shuffle = sections_field(data, "shuffle");
  if (!tbptt || !shuffle || shuffle->u.field.value->kind != AST_BOOL ||
      !shuffle->u.field.value->u.bool_lit.value)
    return false;
  diag_error(c->p->diag, shuffle->loc,
             "'shuffle = true' cannot apply with tbptt: each batch continues the previous one's "
             "windows, so the data are read in order");
  diag_note(c->p->diag, tbptt->loc, "tbptt is set here");
  return true;
}

/* Generation samples characters: the vocabulary is a text source's. */
static void check_generate_source(SectionCheck *c, const AstNode *generate, const AstNode *data) {
  const AstNode *source = data ? sections_field(data, "source") : NULL;
  if (source && !strcmp(source_kind(source->u.field.value), "text"))
    return;
  diag_error(c->p->diag, generate->loc,
             "a generate section needs a text data source: its characters are the vocabulary "
             "that tokens are sampled from");
  if (source)
    diag_note(c->p->diag, source->loc, "the data section's source is '%s'",
              source_kind(source->u.field.value));
}

void sections_check(Program *p, const AstNode *model) {
  SectionCheck c = {.p = p, .model = model};
  IrModule scratch = {0};
  SymTab syms = {.arena = p->arena};
  scratch.syms = &syms;
  c.e = (Elab){.prog = p, .arena = p->arena, .diag = p->diag, .mod = &scratch};
  /* A train section without a data section is fine: an object's program
   * feeds its own batches; `nnc run` says at the section that it has none
   * (run.c). */
  const AstNode *data = NULL, *generate = NULL;
  const PtrVec *ms = &model->u.layer.members;
  for (int i = 0; i < ms->len; i++) {
    const AstNode *s = ms->items[i];
    if (s->kind != AST_SECTION)
      continue;
    if (s->u.section.kind == SEC_DATA) {
      if (data) {
        diag_error(p->diag, s->loc, "model '%s' has more than one data section",
                   model->u.layer.name);
        diag_note(p->diag, data->loc, "the first is here");
      }
      data = s;
    } else if (s->u.section.kind == SEC_GENERATE) {
      if (generate) {
        diag_error(p->diag, s->loc, "model '%s' has more than one generate section",
                   model->u.layer.name);
        diag_note(p->diag, generate->loc, "the first is here");
      }
      generate = s;
    }
    check_section(&c, s);
  }
  /* any train section may be the one run (nnc run --train NAME); the
   * shuffle field is said to be wrong once */
  bool order_said = false;
  for (const AstNode *s = sections_first(model, SEC_TRAIN); data && s;
       s = sections_next(model, s)) {
    check_image_input(&c, data, s);
    order_said = order_said || check_tbptt_order(&c, data, s);
  }
  if (generate)
    check_generate_source(&c, generate, data);
}
