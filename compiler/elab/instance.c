/* instance.c - the instance tree of a model and its parameters.
 *
 * Instantiating a layer evaluates its compile-time arguments, creates its
 * parameters and state in the IrModule under dotted names (fc1.W,
 * blocks.2.attn.wq) in declaration order, and instantiates its sub-layers
 * recursively; each instance owns distinct parameters, except a `share`
 * member, which is another instance of the same layer under a second name. Sema has already
 * rejected unknown layers and instantiation cycles; the depth limit here is a
 * second line of defence.
 */
#include <math.h>
#include <string.h>

#include "ast_text.h"
#include "elab.h"

enum { MAX_INSTANCE_DEPTH = 64, MAX_REPEAT = 100000 };

Member *instance_member(const Instance *inst, const char *name) {
  return strmap_get(&inst->members, name);
}

static const char *join_path(Elab *e, const char *prefix, const char *name) {
  return *prefix ? arena_printf(e->arena, "%s.%s", prefix, name) : name;
}

const char *instance_describe(Elab *e, const Instance *inst) {
  const PtrVec *cps = &inst->layer->u.layer.ctparams;
  const char *s = "";
  for (int i = 0; i < cps->len; i++)
    s = arena_printf(e->arena, "%s%s%s = %s", s, i ? ", " : "",
                     ((AstNode *)cps->items[i])->u.ctparam.name, consteval_str(e, &inst->args[i]));
  return arena_printf(e->arena, "%s(%s)", inst->layer->u.layer.name, s);
}

/* ---- initializers ---- */

typedef struct InitSpec {
  const char *name;
  InitKind kind;
  const char *args[2]; /* parameter names, in positional order */
  double defaults[2];
  int nargs;
  int nrequired;
} InitSpec;

static const InitSpec init_specs[] = {
    {"zeros", INIT_ZEROS, {0}, {0}, 0, 0},
    {"ones", INIT_ONES, {0}, {0}, 0, 0},
    {"normal", INIT_NORMAL, {"mean", "std"}, {0.0, 1.0}, 2, 0},
    {"uniform", INIT_UNIFORM, {"lo", "hi"}, {-1.0, 1.0}, 2, 0},
    {"glorot", INIT_GLOROT, {0}, {0}, 0, 0},
    {"xavier", INIT_GLOROT, {0}, {0}, 0, 0},
    {"he", INIT_HE, {0}, {0}, 0, 0},
    {"kaiming", INIT_HE, {0}, {0}, 0, 0},
    {"orthogonal", INIT_ORTHOGONAL, {"gain"}, {1.0}, 1, 0},
    {"sparse", INIT_SPARSE, {"density", "std"}, {0.1, 0.01}, 2, 1}, /* torch.nn.init.sparse_ */
    {"constant", INIT_CONSTANT, {"value"}, {0}, 1, 1},
    {"reservoir", INIT_RESERVOIR, {"radius", "density"}, {0.9, 0.1}, 2, 1},
};
enum { N_INIT_SPECS = sizeof init_specs / sizeof init_specs[0] };

static const InitSpec *find_init(const char *name) {
  for (int i = 0; i < N_INIT_SPECS; i++)
    if (!strcmp(init_specs[i].name, name))
      return &init_specs[i];
  return NULL;
}

static void unknown_init(Elab *e, const AstNode *at, const char *name) {
  const char *names[N_INIT_SPECS];
  for (int i = 0; i < N_INIT_SPECS; i++)
    names[i] = init_specs[i].name;
  const char *guess = sema_closest_name(name, names, N_INIT_SPECS);
  if (guess)
    diag_error(e->diag, at->loc, "unknown initializer '%s'; did you mean '%s'?", name, guess);
  else
    diag_error(e->diag, at->loc,
               "unknown initializer '%s' (known: zeros, ones, normal, uniform, "
               "glorot, xavier, he, kaiming, orthogonal, sparse, constant, reservoir)",
               name);
}

static bool init_number(Elab *e, const CtEnv *env, const AstNode *x, double *out) {
  CtVal v;
  if (!consteval_expr(e, env, x, &v))
    return false;
  if (v.kind != CV_INT && v.kind != CV_FLOAT) {
    diag_error(e->diag, x->loc, "initializer arguments must be numbers, got a %s",
               consteval_kind_name(v.kind));
    return false;
  }
  *out = v.unknown || v.dim.kind == DIM_UNKNOWN ? 0.0
         : v.kind == CV_INT                     ? (double)v.dim.constant
                                                : v.f;
  return true;
}

static bool eval_init_call(Elab *e, const CtEnv *env, const AstNode *x, const InitSpec *spec,
                           IrInit *out) {
  double vals[2] = {spec->defaults[0], spec->defaults[1]};
  bool given[2] = {false, false};
  const PtrVec *args = &x->u.call.args;
  int pos = 0;
  for (int i = 0; i < args->len; i++) {
    const AstNode *arg = args->items[i];
    int slot;
    const AstNode *val = arg;
    if (arg->kind == AST_KWARG) {
      val = arg->u.kwarg.value;
      slot = -1;
      for (int k = 0; k < spec->nargs; k++)
        if (!strcmp(spec->args[k], arg->u.kwarg.key))
          slot = k;
      if (slot < 0) {
        diag_error(e->diag, arg->loc, "initializer '%s' has no argument '%s'", spec->name,
                   arg->u.kwarg.key);
        return false;
      }
    } else {
      slot = pos++;
      if (slot >= spec->nargs) {
        diag_error(e->diag, arg->loc, "initializer '%s' takes %d argument%s", spec->name,
                   spec->nargs, spec->nargs == 1 ? "" : "s");
        return false;
      }
    }
    if (given[slot]) {
      diag_error(e->diag, arg->loc, "argument '%s' is given twice", spec->args[slot]);
      return false;
    }
    given[slot] = true;
    if (!init_number(e, env, val, &vals[slot]))
      return false;
  }
  for (int k = 0; k < spec->nrequired; k++)
    if (!given[k]) {
      diag_error(e->diag, x->loc, "initializer '%s' needs its argument '%s'", spec->name,
                 spec->args[k]);
      return false;
    }
  *out = (IrInit){spec->kind, vals[0], vals[1]};
  if ((spec->kind == INIT_NORMAL || spec->kind == INIT_SPARSE) && vals[1] < 0) {
    diag_error(e->diag, x->loc, "standard deviation must not be negative, got %g", vals[1]);
    return false;
  }
  if (spec->kind == INIT_SPARSE && (vals[0] <= 0 || vals[0] > 1)) {
    diag_error(e->diag, x->loc, "sparse density must be in (0, 1], got %g", vals[0]);
    return false;
  }
  /* reservoir (echo state networks): checked here so that a bad value is
   * a caret at the call, not a runtime error when the weights are made.
   * A generic check does not know its layer's arguments (they read 0). */
  if (spec->kind == INIT_RESERVOIR && !e->generic && !(vals[0] > 0)) {
    diag_error(e->diag, x->loc, "reservoir spectral radius must be > 0, got %g", vals[0]);
    return false;
  }
  if (spec->kind == INIT_RESERVOIR && !e->generic && !(vals[1] > 0 && vals[1] <= 1)) {
    diag_error(e->diag, x->loc, "reservoir density must be in (0, 1], got %g", vals[1]);
    return false;
  }
  if (spec->kind == INIT_UNIFORM && !(vals[0] <= vals[1])) {
    diag_error(e->diag, x->loc, "uniform needs lo <= hi, got %g and %g", vals[0], vals[1]);
    return false;
  }
  return true;
}

static bool eval_init(Elab *e, const CtEnv *env, const AstNode *x, IrInit *out) {
  if (!x) {
    *out = (IrInit){INIT_ZEROS, 0, 0};
    return true;
  }
  if (x->kind == AST_NAME || (x->kind == AST_CALL && x->u.call.callee->kind == AST_NAME)) {
    const char *name = x->kind == AST_NAME ? x->u.name.name : x->u.call.callee->u.name.name;
    const InitSpec *spec = find_init(name);
    if (!spec) {
      unknown_init(e, x, name);
      return false;
    }
    if (x->kind == AST_CALL)
      return eval_init_call(e, env, x, spec, out);
    if (spec->nrequired) {
      diag_error(e->diag, x->loc, "initializer '%s' needs its argument '%s'", name, spec->args[0]);
      return false;
    }
    *out = (IrInit){spec->kind, spec->defaults[0], spec->defaults[1]};
    return true;
  }
  double v;
  if (x->kind == AST_INT || x->kind == AST_FLOAT || x->kind == AST_UNARY) {
    if (!init_number(e, env, x, &v))
      return false;
    *out = (IrInit){INIT_CONSTANT, v, 0};
    return true;
  }
  diag_error(e->diag, x->loc,
             "expected an initializer (zeros, normal(std = 0.02), glorot, ...), got '%s'",
             ast_text_expr(e->arena, x));
  return false;
}

/* ---- instances ---- */

static Member *add_member(Elab *e, Instance *inst, MemberKind kind, const AstNode *ast,
                          const char *name) {
  Member *m = ARENA_NEW(e->arena, Member);
  m->kind = kind;
  m->ast = ast;
  if (!strmap_get(&inst->members, name)) /* sema reported duplicates */
    strmap_put(&inst->members, name, m);
  return m;
}

/* A reservoir matrix is square; in a generic check an unknown size
 * passes. */
static bool reservoir_shape_ok(Elab *e, const TType *t) {
  if (t->rank != 2)
    return false;
  if (e->generic && !ttype_is_constant(t))
    return true;
  return dim_eq(t->dims[0], t->dims[1]);
}

static void add_param(Elab *e, Instance *inst, const AstNode *p) {
  CtEnv env = {.inst = inst};
  TType t;
  IrInit init;
  bool ok = consteval_type(e, &env, NULL, DIMS_FIXED, p->u.param.type, &t);
  ok = eval_init(e, &env, p->u.param.init, &init) && ok;
  Dim numel;
  /* A generic check's symbolic shape may have a count no Dim can hold
   * ((N + 1)*(M + 1)*(K + 1)); an instance's shape is constant. */
  if (ok && !ttype_numel(&t, &numel, NULL) && !(e->generic && !ttype_is_constant(&t))) {
    diag_error(e->diag, p->u.param.type->loc, "the number of elements of '%s' overflows 64 bits",
               p->u.param.name);
    ok = false;
  }
  if (ok && init.kind == INIT_ORTHOGONAL && t.rank < 2) {
    diag_error(e->diag, p->u.param.init->loc,
               "orthogonal initialization needs at least 2 "
               "dimensions, but '%s' has %d",
               p->u.param.name, t.rank);
    ok = false;
  }
  if (ok && init.kind == INIT_RESERVOIR && !reservoir_shape_ok(e, &t)) {
    diag_error(e->diag, p->u.param.init->loc,
               "reservoir initialization needs a square matrix [N, N], but '%s' is %s",
               p->u.param.name, ttype_str(e->arena, e->mod->syms, &t));
    ok = false;
  }
  if (ok && !dtype_is_float(t.dtype) && p->kind == AST_PARAM) {
    diag_error(e->diag, p->u.param.type->loc, "a trainable parameter must be f32 or f64, got %s",
               ast_dtype_name(t.dtype));
    ok = false;
  }
  Member *m = add_member(e, inst, MEM_PARAM, p, p->u.param.name);
  if (!ok) {
    t = ttype_scalar(DT_F32); /* keep going: uses of it will be poisoned */
    init = (IrInit){INIT_ZEROS, 0, 0};
  }
  IrParam *ip = ARENA_NEW(e->arena, IrParam);
  ip->name = join_path(e, inst->path, p->u.param.name);
  ip->type = t;
  ip->init = init;
  ip->trainable = p->kind == AST_PARAM;
  ip->loc = p->loc;
  m->param = ir_module_add_param(e->arena, e->mod, ip);
}

static Instance *make_instance(Elab *e, const AstNode *layer, const char *path, CtVal *args,
                               Instance *parent, SrcSpan site);

/* Checks a value against the declared kind of a compile-time argument; an
 * int is accepted where a float is declared. */
static bool coerce_ctparam(Elab *e, const AstNode *layer, const AstNode *cp, CtVal *v, SrcSpan at) {
  CtKind want = cp->u.ctparam.type == CT_INT     ? CV_INT
                : cp->u.ctparam.type == CT_FLOAT ? CV_FLOAT
                                                 : CV_BOOL;
  if (want == CV_FLOAT && v->kind == CV_INT) {
    v->kind = CV_FLOAT;
    v->unknown = v->unknown || !dim_is_const(v->dim);
    v->f = (double)v->dim.constant;
  }
  if (v->kind == want)
    return true;
  diag_error(e->diag, at, "argument '%s' of %s '%s' must be %s %s, got %s %s", cp->u.ctparam.name,
             layer->u.layer.is_model ? "model" : "layer", layer->u.layer.name,
             want == CV_INT ? "an" : "a", consteval_kind_name(want), v->kind == CV_INT ? "an" : "a",
             consteval_kind_name(v->kind));
  if (at.first_line != cp->loc.first_line || at.file != cp->loc.file)
    diag_note(e->diag, cp->loc, "argument '%s' is declared here", cp->u.ctparam.name);
  return false;
}

/* Binds a call's arguments to the callee's compile-time parameters. */
static bool bind_layer_args(Elab *e, const CtEnv *env, const AstNode *layer, const AstNode *call,
                            CtVal *args) {
  const PtrVec *cps = &layer->u.layer.ctparams;
  const PtrVec *xs = &call->u.call.args;
  bool *given = ARENA_ARRAY(e->arena, bool, (size_t)cps->len + 1);
  int pos = 0;
  bool ok = true;
  for (int i = 0; i < xs->len; i++) {
    const AstNode *x = xs->items[i];
    int slot;
    if (x->kind == AST_KWARG) {
      slot = consteval_ctparam_index(layer, x->u.kwarg.key);
      if (slot < 0) {
        diag_error(e->diag, x->loc, "layer '%s' has no argument named '%s'", layer->u.layer.name,
                   x->u.kwarg.key);
        ok = false;
        continue;
      }
      x = x->u.kwarg.value;
    } else if ((slot = pos++) >= cps->len) {
      diag_error(e->diag, x->loc, "too many arguments: layer '%s' takes %d", layer->u.layer.name,
                 cps->len);
      diag_note(e->diag, layer->u.layer.name_loc, "'%s' is declared here", layer->u.layer.name);
      return false;
    }
    const AstNode *cp = cps->items[slot];
    if (given[slot]) {
      diag_error(e->diag, x->loc, "argument '%s' is given twice", cp->u.ctparam.name);
      ok = false;
      continue;
    }
    given[slot] = true;
    CtVal v;
    if (!consteval_expr(e, env, x, &v)) {
      ok = false;
      continue;
    }
    if (!coerce_ctparam(e, layer, cp, &v, x->loc)) {
      ok = false;
      continue;
    }
    args[slot] = v;
  }
  for (int i = 0; i < cps->len && ok; i++) {
    const AstNode *cp = cps->items[i];
    if (given[i])
      continue;
    if (!cp->u.ctparam.deflt) {
      diag_error(e->diag, call->loc, "missing argument '%s' of layer '%s'", cp->u.ctparam.name,
                 layer->u.layer.name);
      diag_note(e->diag, cp->loc, "argument '%s' is declared here", cp->u.ctparam.name);
      ok = false;
      continue;
    }
    /* Defaults see the arguments before them. */
    Instance tmp = {.layer = layer, .args = args};
    CtEnv denv = {.inst = &tmp};
    if (!consteval_expr(e, &denv, cp->u.ctparam.deflt, &args[i]) ||
        !coerce_ctparam(e, layer, cp, &args[i], cp->u.ctparam.deflt->loc))
      ok = false;
  }
  return ok;
}

static void add_instance(Elab *e, Instance *inst, const AstNode *m) {
  const AstNode *call = m->u.instance.call;
  const AstNode *callee = call->u.call.callee;
  const AstNode *layer =
      callee->kind == AST_NAME ? strmap_get(&e->prog->layers, callee->u.name.name) : NULL;
  /* Without a layer the member stays, empty: its uses are then poisoned
   * instead of reported as unknown names (sema reported the cause). */
  Member *mem =
      add_member(e, inst, m->u.instance.loopvar ? MEM_REPEAT : MEM_INSTANCE, m, m->u.instance.name);
  if (!layer)
    return;
  const PtrVec *cps = &layer->u.layer.ctparams;
  const char *path = join_path(e, inst->path, m->u.instance.name);
  CtEnv env = {.inst = inst};
  if (!m->u.instance.loopvar) {
    CtVal *args = ARENA_ARRAY(e->arena, CtVal, (size_t)cps->len + 1);
    if (bind_layer_args(e, &env, layer, call, args))
      mem->inst = make_instance(e, layer, path, args, inst, m->loc);
    return;
  }
  int64_t lo, hi;
  bool unk_lo, unk_hi;
  if (!consteval_int(e, &env, m->u.instance.lo, &lo, &unk_lo) ||
      !consteval_int(e, &env, m->u.instance.hi, &hi, &unk_hi))
    return;
  bool unknown = unk_lo || unk_hi;
  if (!unknown && (hi <= lo || hi - lo > MAX_REPEAT)) {
    diag_error(e->diag, m->u.instance.lo->loc,
               "repetition range %lld..%lld must hold 1 to %d values", (long long)lo, (long long)hi,
               MAX_REPEAT);
    return;
  }
  /* A generic check cannot unroll an unknown count: one representative. */
  int64_t count = unknown ? 1 : hi - lo;
  env.loopvar = m->u.instance.loopvar;
  for (int64_t k = 0; k < count && !diag_should_stop(e->diag); k++) {
    env.loopval = (CtVal){
        .kind = CV_INT, .unknown = unknown, .dim = unknown ? dim_unknown() : dim_const(lo + k)};
    CtVal *args = ARENA_ARRAY(e->arena, CtVal, (size_t)cps->len + 1);
    if (!bind_layer_args(e, &env, layer, call, args))
      return;
    const char *p = arena_printf(e->arena, "%s.%lld", path, (long long)k);
    Instance *r = make_instance(e, layer, p, args, inst, m->loc);
    if (!r) {
      mem->repeats.len = 0; /* poisoned, like a failed instance */
      return;
    }
    arena_ptrvec_push(e->arena, &mem->repeats, r);
  }
}

/* ---- shared instances ---- */

static bool resolve_share(Elab *e, Instance *inst, Member *mem);

/* The member a share's target path names, or NULL (reported). */
static Member *share_target(Elab *e, Instance *inst, const AstNode *x) {
  Instance *owner = inst;
  const char *name;
  if (x->kind == AST_MEMBER) {
    Member *outer = share_target(e, inst, x->u.member.object);
    if (!outer)
      return NULL;
    if (outer->kind != MEM_INSTANCE || !outer->inst) {
      if (outer->kind != MEM_INSTANCE)
        diag_error(e->diag, x->u.member.object->loc,
                   "'%s' is not a layer instance, so it has no member '%s'",
                   ast_text_expr(e->arena, x->u.member.object), x->u.member.name);
      return NULL;
    }
    owner = outer->inst;
    name = x->u.member.name;
  } else if (x->kind == AST_NAME) {
    name = x->u.name.name;
  } else {
    return NULL; /* sema reported it */
  }
  Member *m = instance_member(owner, name);
  if (!m) {
    diag_error(e->diag, x->loc, "'share' names '%s', but %s has no member '%s'",
               ast_text_expr(e->arena, x), *owner->path ? owner->path : owner->layer->u.layer.name,
               name);
    return NULL;
  }
  if (m->ast->kind == AST_SHARE && !resolve_share(e, owner, m))
    return NULL;
  return m;
}

/* Makes a share member the instance (or repetition) its path names. */
static bool resolve_share(Elab *e, Instance *inst, Member *mem) {
  const AstNode *at = mem->ast;
  if (mem->share == SHARE_DONE)
    return mem->inst || mem->repeats.len;
  if (mem->share == SHARE_RESOLVING) {
    diag_error(e->diag, at->loc, "'%s' shares itself: a chain of 'share' members comes back to it",
               at->u.share.name);
    return false;
  }
  mem->share = SHARE_RESOLVING;
  Member *t = share_target(e, inst, at->u.share.target);
  mem->share = SHARE_DONE;
  if (!t)
    return false;
  const char *from = join_path(e, inst->path, at->u.share.name);
  if (t->kind == MEM_INSTANCE && t->inst) {
    mem->inst = t->inst;
    ir_module_add_alias(e->arena, e->mod, from, t->inst->path);
    return true;
  }
  if (t->kind == MEM_REPEAT && t->repeats.len) {
    mem->kind = MEM_REPEAT;
    mem->repeats = t->repeats;
    /* the repetition's own path is its first instance's less ".0" */
    const char *first = ((Instance *)t->repeats.items[0])->path;
    ir_module_add_alias(e->arena, e->mod, from, arena_strndup(e->arena, first, strlen(first) - 2));
    return true;
  }
  if (t->kind == MEM_PARAM)
    diag_error(e->diag, at->u.share.target->loc,
               "'share' takes a layer instance, and '%s' is a parameter; use it directly as %s",
               ast_text_expr(e->arena, at->u.share.target),
               ast_text_expr(e->arena, at->u.share.target));
  else if (t->kind == MEM_FN || t->kind == MEM_SECTION)
    diag_error(e->diag, at->u.share.target->loc, "'share' takes a layer instance, and '%s' is a %s",
               ast_text_expr(e->arena, at->u.share.target),
               t->kind == MEM_FN ? "function" : "section");
  return false; /* an instance that failed was reported where it is declared */
}

static void resolve_shares(Elab *e, Instance *inst, const PtrVec *members) {
  for (int i = 0; i < members->len; i++) {
    const AstNode *m = members->items[i];
    if (m->kind != AST_SHARE)
      continue;
    Member *mem = instance_member(inst, m->u.share.name);
    if (mem && mem->ast == m)
      (void)resolve_share(e, inst, mem);
  }
}

static Instance *make_instance(Elab *e, const AstNode *layer, const char *path, CtVal *args,
                               Instance *parent, SrcSpan site) {
  Instance *inst = ARENA_NEW(e->arena, Instance);
  inst->layer = layer;
  inst->path = path;
  inst->args = args;
  inst->parent = parent;
  inst->site = site;
  strmap_init(&inst->members, e->arena);
  /* NULL marks an instance that cannot exist; uses of it are poisoned. */
  for (const Instance *a = parent; a; a = a->parent)
    if (a->layer == layer)
      return NULL; /* a layer containing itself: sema reported the cycle */
  if (e->inst_depth >= MAX_INSTANCE_DEPTH) {
    if (!e->reported_depth)
      diag_error(e->diag, site, "layers are nested too deeply (more than %d levels)",
                 MAX_INSTANCE_DEPTH);
    e->reported_depth = true;
    return NULL;
  }
  e->inst_depth++;
  const PtrVec *ms = &layer->u.layer.members;
  for (int i = 0; i < ms->len && !diag_should_stop(e->diag); i++) {
    const AstNode *m = ms->items[i];
    switch (m->kind) {
    case AST_PARAM:
    case AST_STATE:
      add_param(e, inst, m);
      break;
    case AST_INSTANCE:
      add_instance(e, inst, m);
      break;
    case AST_SHARE: /* resolved below, when every member it may name exists */
      add_member(e, inst, MEM_INSTANCE, m, m->u.share.name);
      break;
    case AST_FN:
      add_member(e, inst, MEM_FN, m, m->u.fn.name);
      break;
    case AST_SECTION:
      if (m->u.section.name)
        add_member(e, inst, MEM_SECTION, m, m->u.section.name);
      break;
    default:
      break;
    }
  }
  if (!diag_should_stop(e->diag))
    resolve_shares(e, inst, ms);
  e->inst_depth--;
  return inst;
}

Instance *instance_build_model(Elab *e, const AstNode *model) {
  const PtrVec *cps = &model->u.layer.ctparams;
  CtVal *args = ARENA_ARRAY(e->arena, CtVal, (size_t)cps->len + 1);
  Instance tmp = {.layer = model, .args = args};
  CtEnv env = {.inst = &tmp};
  bool ok = true;
  for (int i = 0; i < cps->len; i++) {
    const AstNode *cp = cps->items[i];
    if (!cp->u.ctparam.deflt || !consteval_expr(e, &env, cp->u.ctparam.deflt, &args[i]) ||
        !coerce_ctparam(e, model, cp, &args[i], cp->u.ctparam.deflt->loc))
      ok = false; /* sema requires defaults on models */
  }
  if (!ok)
    return NULL;
  return make_instance(e, model, "", args, NULL, model->u.layer.name_loc);
}

Instance *instance_build_generic(Elab *e, const AstNode *layer) {
  const PtrVec *cps = &layer->u.layer.ctparams;
  CtVal *args = ARENA_ARRAY(e->arena, CtVal, (size_t)cps->len + 1);
  for (int i = 0; i < cps->len; i++) {
    const AstNode *cp = cps->items[i];
    switch (cp->u.ctparam.type) {
    case CT_INT:
      args[i] = (CtVal){.kind = CV_INT, .dim = new_dim_sym(e, cp->u.ctparam.name, cp->loc)};
      break;
    case CT_FLOAT:
      args[i] = (CtVal){.kind = CV_FLOAT, .unknown = true};
      break;
    case CT_BOOL:
      args[i] = (CtVal){.kind = CV_BOOL, .unknown = true};
      break;
    }
  }
  return make_instance(e, layer, "", args, NULL, layer->u.layer.name_loc);
}
