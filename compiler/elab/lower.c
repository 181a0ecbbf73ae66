/* lower.c - a model's functions to IR.
 *
 * Evaluates function bodies over Vals: tensors become IR values, literals
 * and layer arguments stay compile-time scalars until they meet a tensor.
 * Calls of layer functions are inlined: the callee gets a new Frame whose
 * symbolic dims are bound by matching the declared argument types against the
 * actual ones (plain names bind first, then every dim is compared), so
 * `fn forward(x: f32[B, in])` accepts any batch but only `in` columns.
 * A failed expression yields VAL_ERROR, which later uses pass on silently:
 * one mistake, one diagnostic.
 */
#include <string.h>

#include "ast_text.h"
#include "lower.h"

enum { MAX_CALL_DEPTH = 64 };

static Val val_error(void) { return (Val){.kind = VAL_ERROR}; }
static Val val_tensor(IrValue *t) { return t ? (Val){.kind = VAL_TENSOR, .t = t} : val_error(); }

static void note_call_chain(Elab *e, const Frame *f) {
  for (; f && f->caller; f = f->caller)
    diag_note(e->diag, f->call_site, "in '%s' of '%s' = %s, called here", f->fn->u.fn.name,
              f->inst->path, instance_describe(e, f->inst));
}

IrValue *lower_emit_op(Elab *e, Frame *f, OpKind op, IrValue **args, int nargs, SrcSpan loc,
                       const IrAttrs *attrs) {
  ShapeCtx sc = {.diag = e->diag,
                 .arena = e->arena,
                 .syms = e->mod->syms,
                 .module = e->mod,
                 .generic = e->generic};
  IrValue *v = ir_emit(e->arena, &sc, e->func, op, args, nargs, loc, attrs);
  if (!v)
    note_call_chain(e, f);
  return v;
}

static IrValue *const_value(Elab *e, Frame *f, const CtVal *c, SrcSpan loc) {
  IrAttrs at = {.source = {.weak = true,
                           .unknown = c->unknown || (c->kind == CV_INT && !dim_is_const(c->dim))}};
  at.source.scalar = c->kind == CV_INT ? (double)c->dim.constant : c->kind == CV_BOOL ? c->b : c->f;
  IrValue *v = lower_emit_op(e, f, OP_CONST, NULL, 0, loc, &at);
  if (v)
    v->type = ttype_scalar(c->kind == CV_BOOL ? DT_BOOL : DT_F32);
  return v;
}

IrValue *lower_as_tensor(Elab *e, Frame *f, Val v, const AstNode *at) {
  switch (v.kind) {
  case VAL_TENSOR:
    return v.t;
  case VAL_ERROR:
    return NULL;
  case VAL_CT:
    if (v.c.kind == CV_STRING) {
      diag_error(e->diag, at->loc, "expected a tensor, got a string");
      return NULL;
    }
    return const_value(e, f, &v.c, at->loc);
  case VAL_INSTANCE:
  case VAL_REPEAT:
    diag_error(e->diag, at->loc, "'%s' is a layer, not a tensor; call it to apply it",
               ast_text_expr(e->arena, at));
    return NULL;
  case VAL_FN:
    diag_error(e->diag, at->loc, "'%s' is a function, not a tensor; call it",
               ast_text_expr(e->arena, at));
    return NULL;
  case VAL_TUPLE:
    diag_error(e->diag, at->loc, "'%s' holds %d tensors, not one; pick one with [i]",
               ast_text_expr(e->arena, at), v.nitems);
    return NULL;
  }
  return NULL;
}

static IrValue *param_value(Elab *e, int index, SrcSpan loc) {
  if (e->param_vals[index])
    return e->param_vals[index];
  IrParam *p = e->mod->params[index];
  IrValue *v = ir_value_new(e->arena, e->func, OP_PARAM, NULL, 0, loc);
  IR_ATTR(v, source).index = index;
  v->type = p->type;
  v->origin = p->loc;
  ir_block_append(e->arena, e->func->body, v);
  return e->param_vals[index] = v;
}

static Val member_val(Elab *e, Instance *inst, Member *m, SrcSpan loc) {
  switch (m->kind) {
  case MEM_PARAM:
    return val_tensor(param_value(e, m->param, loc));
  case MEM_INSTANCE:
    return m->inst ? (Val){.kind = VAL_INSTANCE, .inst = m->inst} : val_error();
  case MEM_REPEAT:
    return m->repeats.len ? (Val){.kind = VAL_REPEAT, .inst = inst, .mem = m} : val_error();
  case MEM_FN:
    return (Val){.kind = VAL_FN, .inst = inst, .mem = m};
  case MEM_SECTION:
    break;
  }
  diag_error(e->diag, loc, "'%s' is a training section, not a value", m->ast->u.section.name);
  return val_error();
}

static void unknown_name(Elab *e, Frame *f, const AstNode *x) {
  const char *name = x->u.name.name;
  if (strmap_get(&e->prog->layers, name)) {
    diag_error(e->diag, x->loc,
               "'%s' is a layer type; declare an instance as a member (fc = %s(...)) and use that",
               name, name);
    return;
  }
  PtrVec cands = {0};
  for (size_t i = 0; i < f->locals.cap; i++)
    if (f->locals.slots[i].key)
      arena_ptrvec_push(e->arena, &cands, (void *)f->locals.slots[i].key);
  for (size_t i = 0; i < f->inst->members.cap; i++)
    if (f->inst->members.slots[i].key)
      arena_ptrvec_push(e->arena, &cands, (void *)f->inst->members.slots[i].key);
  const PtrVec *cps = &f->inst->layer->u.layer.ctparams;
  for (int i = 0; i < cps->len; i++)
    arena_ptrvec_push(e->arena, &cands, (void *)((AstNode *)cps->items[i])->u.ctparam.name);
  for (int i = 0; i < builtin_count(); i++)
    arena_ptrvec_push(e->arena, &cands, (void *)builtin_name(i));
  const char *guess = sema_closest_name(name, (const char *const *)cands.items, cands.len);
  if (guess)
    diag_error(e->diag, x->loc, "unknown name '%s'; did you mean '%s'?", name, guess);
  else
    diag_error(e->diag, x->loc, "unknown name '%s'", name);
}

static Val eval_name(Elab *e, Frame *f, const AstNode *x) {
  const char *name = x->u.name.name;
  Val *local = strmap_get(&f->locals, name);
  if (local)
    return *local;
  Member *m = instance_member(f->inst, name);
  if (m)
    return member_val(e, f->inst, m, x->loc);
  int ci = consteval_ctparam_index(f->inst->layer, name);
  if (ci >= 0)
    return (Val){.kind = VAL_CT, .c = f->inst->args[ci]};
  if (!strcmp(name, "training")) {
    e->used_training = true;
    return (Val){.kind = VAL_CT, .c = {.kind = CV_BOOL, .b = e->training}};
  }
  if (builtin_exists(name)) {
    diag_error(e->diag, x->loc, "'%s' is a builtin function; call it: %s(...)", name, name);
    return val_error();
  }
  unknown_name(e, f, x);
  return val_error();
}

static Val eval_member(Elab *e, Frame *f, const AstNode *x) {
  Val obj = lower_eval_expr(e, f, x->u.member.object);
  if (obj.kind == VAL_ERROR)
    return obj;
  if (obj.kind != VAL_INSTANCE) {
    diag_error(e->diag, x->loc, "'%s' has no members; only layer instances do",
               ast_text_expr(e->arena, x->u.member.object));
    return val_error();
  }
  Member *m = instance_member(obj.inst, x->u.member.name);
  if (!m) {
    diag_error(e->diag, x->loc, "'%s' (%s) has no member '%s'", obj.inst->path,
               obj.inst->layer->u.layer.name, x->u.member.name);
    diag_note(e->diag, obj.inst->layer->u.layer.name_loc, "layer '%s' is declared here",
              obj.inst->layer->u.layer.name);
    return val_error();
  }
  return member_val(e, obj.inst, m, x->loc);
}

/* ---- types of arguments and results ---- */

static const char *desc_type(Elab *e, const TType *t) {
  return ttype_str(e->arena, e->mod->syms, t);
}

/* Compares an actual value against a declared type in `callee`'s scope,
 * after consteval_bind_plain_dims has run for it. */
static bool check_declared(Elab *e, Frame *callee, const AstNode *type, IrValue *actual,
                           const char *what, SrcSpan at) {
  CtEnv env = {.inst = callee->inst};
  TType want;
  if (!consteval_type(e, &env, &callee->dims, DIMS_BIND, type, &want))
    return false;
  if (actual->op == OP_CONST && IR_ATTR(actual, source).weak)
    actual->type.dtype = want.dtype;
  if (ttype_eq(&want, &actual->type))
    return true;
  diag_error(e->diag, at, "%s has type %s, but %s is expected", what, desc_type(e, &actual->type),
             desc_type(e, &want));
  diag_note(e->diag, type->loc, "declared here as %s", ast_text_expr(e->arena, type));
  if (callee->caller && callee->inst->layer->u.layer.ctparams.len)
    diag_note(e->diag, callee->inst->site, "'%s' is %s", callee->inst->path,
              instance_describe(e, callee->inst));
  return false;
}

static Val run_body(Elab *e, Frame *f, SrcSpan *ret_loc);

static Frame *new_frame(Elab *e, Instance *inst, const AstNode *fn, Frame *caller, SrcSpan site) {
  Frame *nf = ARENA_NEW(e->arena, Frame);
  nf->inst = inst;
  nf->fn = fn;
  nf->caller = caller;
  nf->call_site = site;
  nf->depth = caller ? caller->depth + 1 : 0;
  strmap_init(&nf->locals, e->arena);
  strmap_init(&nf->dims, e->arena);
  return nf;
}

static bool check_recursion(Elab *e, Frame *f, Instance *inst, const AstNode *fn, SrcSpan at) {
  for (Frame *g = f; g; g = g->caller)
    if (g->inst == inst && g->fn == fn) {
      /* One report per cycle, whichever entry point runs into it first. */
      for (int i = 0; i < e->recursive.len; i++)
        if (e->recursive.items[i] == fn)
          return false;
      for (Frame *h = f; h != g->caller; h = h->caller)
        arena_ptrvec_push(e->arena, &e->recursive, (void *)h->fn);
      diag_error(e->diag, at,
                 "recursive call of '%s': layer functions are inlined, so a call "
                 "cycle never ends",
                 fn->u.fn.name);
      diag_note(e->diag, fn->u.fn.name_loc, "'%s' is declared here", fn->u.fn.name);
      return false;
    }
  if (f->depth + 1 > MAX_CALL_DEPTH) {
    diag_error(e->diag, at, "calls are nested too deeply (more than %d levels)", MAX_CALL_DEPTH);
    return false;
  }
  return true;
}

/* A function's result against its declared type, or each of a tuple's
 * against the declared tuple. */
static bool check_results(Elab *e, Frame *f, const AstNode *fn, const char *who, Val r,
                          SrcSpan ret_loc) {
  const AstNode *ret = fn->u.fn.ret;
  if (r.kind == VAL_ERROR)
    return false;
  bool tuple = ret && ret->kind == AST_TUPLE;
  int want = tuple ? ret->u.list.items.len : 1, got = r.kind == VAL_TUPLE ? r.nitems : 1;
  if (ret && want != got) {
    diag_error(e->diag, ret_loc, "'%s' returns %d tensor%s, but is declared to return %d", who, got,
               got == 1 ? "" : "s", want);
    diag_note(e->diag, ret->loc, "declared here as %s", ast_text_expr(e->arena, ret));
    return false;
  }
  if (!ret)
    return true;
  if (!tuple) {
    const char *what = arena_printf(e->arena, "the result of '%s'", who);
    return check_declared(e, f, ret, r.t, what, ret_loc);
  }
  bool ok = true;
  for (int i = 0; i < want; i++) {
    const char *what = arena_printf(e->arena, "result %d of '%s'", i, who);
    ok &= check_declared(e, f, ret->u.list.items.items[i], r.items[i], what, ret_loc);
  }
  return ok;
}

static Val call_fn(Elab *e, Frame *f, Instance *inst, const AstNode *fn, const AstNode *call,
                   IrValue **args, int nargs) {
  const PtrVec *params = &fn->u.fn.args;
  const char *who =
      *inst->path ? arena_printf(e->arena, "%s.%s", inst->path, fn->u.fn.name) : fn->u.fn.name;
  if (nargs != params->len) {
    diag_error(e->diag, call->loc, "'%s' takes %d argument%s, %d given", who, params->len,
               params->len == 1 ? "" : "s", nargs);
    diag_note(e->diag, fn->u.fn.name_loc, "'%s' is declared here", fn->u.fn.name);
    return val_error();
  }
  if (!check_recursion(e, f, inst, fn, call->loc))
    return val_error();
  Frame *callee = new_frame(e, inst, fn, f, call->loc);
  CtEnv env = {.inst = inst};
  for (int i = 0; i < nargs; i++)
    consteval_bind_plain_dims(e, &env, &callee->dims, ((AstNode *)params->items[i])->u.fnarg.type,
                              &args[i]->type);
  bool ok = true;
  for (int i = 0; i < nargs; i++) {
    const AstNode *p = params->items[i];
    const AstNode *argx = call->u.call.args.items[i];
    const char *what =
        arena_printf(e->arena, "argument %d of '%s' ('%s')", i + 1, who, p->u.fnarg.name);
    if (!check_declared(e, callee, p->u.fnarg.type, args[i], what, argx->loc)) {
      note_call_chain(e, f);
      ok = false;
      continue;
    }
    Val *v = ARENA_NEW(e->arena, Val);
    *v = val_tensor(args[i]);
    strmap_put(&callee->locals, p->u.fnarg.name, v);
  }
  if (!ok)
    return val_error();
  SrcSpan ret_loc;
  Val r = run_body(e, callee, &ret_loc);
  return check_results(e, callee, fn, who, r, ret_loc) ? r : val_error();
}

/* Evaluates a call's positional arguments to tensors. */
static bool eval_call_args(Elab *e, Frame *f, const AstNode *call, IrValue ***out, int *n) {
  const PtrVec *xs = &call->u.call.args;
  IrValue **args = ARENA_ARRAY(e->arena, IrValue *, (size_t)xs->len + 1);
  bool ok = true;
  for (int i = 0; i < xs->len; i++) {
    const AstNode *x = xs->items[i];
    if (x->kind == AST_KWARG) {
      diag_error(e->diag, x->loc,
                 "keyword arguments can only be passed to builtins and to layer "
                 "declarations, not to layer functions");
      ok = false;
      continue;
    }
    args[i] = lower_as_tensor(e, f, lower_eval_expr(e, f, x), x);
    ok = ok && args[i];
  }
  *out = args;
  *n = xs->len;
  return ok;
}

static const AstNode *find_forward(Elab *e, Instance *inst, SrcSpan at) {
  Member *m = instance_member(inst, "forward");
  if (m && m->kind == MEM_FN)
    return m->ast;
  diag_error(e->diag, at, "'%s' (%s) has no 'forward' function to call", inst->path,
             inst->layer->u.layer.name);
  diag_note(e->diag, inst->layer->u.layer.name_loc, "layer '%s' is declared here",
            inst->layer->u.layer.name);
  return NULL;
}

static Val eval_call(Elab *e, Frame *f, const AstNode *x) {
  const AstNode *callee = x->u.call.callee;
  if (callee->kind == AST_NAME) {
    const char *name = callee->u.name.name;
    bool shadowed = strmap_get(&f->locals, name) || instance_member(f->inst, name) ||
                    consteval_ctparam_index(f->inst->layer, name) >= 0;
    if (!shadowed && builtin_exists(name))
      return builtin_call(e, f, name, x);
  }
  Val fv = lower_eval_expr(e, f, callee);
  if (fv.kind == VAL_ERROR)
    return fv;
  if (fv.kind == VAL_TENSOR || fv.kind == VAL_CT) {
    diag_error(e->diag, callee->loc, "'%s' is a value, not a function or layer",
               ast_text_expr(e->arena, callee));
    return val_error();
  }
  IrValue **args;
  int nargs;
  if (!eval_call_args(e, f, x, &args, &nargs))
    return val_error();
  if (fv.kind == VAL_FN)
    return call_fn(e, f, fv.inst, fv.mem->ast, x, args, nargs);
  if (fv.kind == VAL_INSTANCE) {
    const AstNode *fwd = find_forward(e, fv.inst, x->loc);
    return fwd ? call_fn(e, f, fv.inst, fwd, x, args, nargs) : val_error();
  }
  /* A repetition applies its instances in order, each to the last output. */
  Val r = val_error();
  for (int i = 0; i < fv.mem->repeats.len; i++) {
    Instance *inst = fv.mem->repeats.items[i];
    const AstNode *fwd = find_forward(e, inst, x->loc);
    if (!fwd)
      return val_error();
    r = call_fn(e, f, inst, fwd, x, args, nargs);
    if (r.kind != VAL_TENSOR)
      return val_error();
    args[0] = r.t;
    nargs = 1;
  }
  return r;
}

static const OpKind binop_ops[] = {
    [BIN_ADD] = OP_ADD,       [BIN_SUB] = OP_SUB, [BIN_MUL] = OP_MUL, [BIN_DIV] = OP_DIV,
    [BIN_MATMUL] = OP_MATMUL, [BIN_POW] = OP_POW, [BIN_LT] = OP_LT,   [BIN_LE] = OP_LE,
    [BIN_GT] = OP_GT,         [BIN_GE] = OP_GE,   [BIN_EQ] = OP_EQ,   [BIN_NE] = OP_NE,
};

static Val eval_binary(Elab *e, Frame *f, const AstNode *x) {
  Val a = lower_eval_expr(e, f, x->u.binary.lhs);
  Val b = lower_eval_expr(e, f, x->u.binary.rhs);
  if (a.kind == VAL_ERROR || b.kind == VAL_ERROR)
    return val_error();
  if (a.kind == VAL_CT && b.kind == VAL_CT && x->u.binary.op != BIN_MATMUL) {
    Val r = {.kind = VAL_CT};
    return consteval_fold_binary(e, x, &a.c, &b.c, &r.c) ? r : val_error();
  }
  IrValue *args[2] = {lower_as_tensor(e, f, a, x->u.binary.lhs),
                      lower_as_tensor(e, f, b, x->u.binary.rhs)};
  if (!args[0] || !args[1])
    return val_error();
  return val_tensor(lower_emit_op(e, f, binop_ops[x->u.binary.op], args, 2, x->loc, NULL));
}

static Val eval_unary(Elab *e, Frame *f, const AstNode *x) {
  Val a = lower_eval_expr(e, f, x->u.unary.operand);
  if (a.kind == VAL_ERROR)
    return a;
  if (a.kind == VAL_CT) {
    Val r = {.kind = VAL_CT};
    return consteval_fold_unary(e, x, &a.c, &r.c) ? r : val_error();
  }
  if (x->u.unary.op == UN_NOT) {
    diag_error(e->diag, x->loc, "'!' applies to compile-time bools only; tensor logic is planned");
    return val_error();
  }
  IrValue *t = lower_as_tensor(e, f, a, x->u.unary.operand);
  return t ? val_tensor(lower_emit_op(e, f, OP_NEG, &t, 1, x->loc, NULL)) : val_error();
}

static Val eval_tuple(Elab *e, Frame *f, const AstNode *x);

Val lower_eval_expr(Elab *e, Frame *f, const AstNode *x) {
  switch (x->kind) {
  case AST_INT:
  case AST_FLOAT:
  case AST_BOOL:
  case AST_STRING: {
    Val v = {.kind = VAL_CT};
    CtEnv env = {.inst = f->inst};
    return consteval_expr(e, &env, x, &v.c) ? v : val_error();
  }
  case AST_NAME:
    return eval_name(e, f, x);
  case AST_MEMBER:
    return eval_member(e, f, x);
  case AST_CALL:
    return eval_call(e, f, x);
  case AST_BINARY:
    return eval_binary(e, f, x);
  case AST_UNARY:
    return eval_unary(e, f, x);
  case AST_INDEX:
    return eval_index(e, f, x);
  case AST_LIST:
    diag_error(e->diag, x->loc,
               "a list is not a tensor; lists are arguments of builtins "
               "(shapes, axes, permutations)");
    return val_error();
  case AST_TUPLE:
    return eval_tuple(e, f, x);
  default:
    diag_error(e->diag, x->loc, "expected an expression, got %s", ast_kind_name(x->kind));
    return val_error();
  }
}

/* (a, b, c): several tensors held together, a function's results. */
static Val eval_tuple(Elab *e, Frame *f, const AstNode *x) {
  const PtrVec *xs = &x->u.list.items;
  Val r = {.kind = VAL_TUPLE, .nitems = xs->len};
  r.items = ARENA_ARRAY(e->arena, IrValue *, (size_t)xs->len + 1);
  bool ok = true;
  for (int i = 0; i < xs->len; i++) {
    const AstNode *it = xs->items[i];
    Val v = lower_eval_expr(e, f, it);
    if (v.kind == VAL_TUPLE) {
      diag_error(e->diag, it->loc, "a tuple cannot hold a tuple; list its tensors instead");
      ok = false;
      continue;
    }
    r.items[i] = lower_as_tensor(e, f, v, it);
    ok &= r.items[i] != NULL;
  }
  return ok ? r : val_error();
}

void lower_run_let(Elab *e, Frame *f, const AstNode *s) {
  Val *v = ARENA_NEW(e->arena, Val);
  *v = lower_eval_expr(e, f, s->u.let.value);
  int names = s->u.let.unpack, items = v->kind == VAL_TUPLE ? v->nitems : 1;
  if (names && v->kind != VAL_ERROR && names != items) {
    diag_error(e->diag, s->u.let.value->loc,
               "'let' unpacks %d names, but the value holds %d tensor%s", names, items,
               items == 1 ? "" : "s");
    *v = val_error(); /* its names are bound, poisoned */
  }
  if (s->u.let.type && v->kind != VAL_ERROR) {
    IrValue *t = lower_as_tensor(e, f, *v, s->u.let.value);
    CtEnv env = {.inst = f->inst};
    if (t)
      consteval_bind_plain_dims(e, &env, &f->dims, s->u.let.type, &t->type);
    const char *what = arena_printf(e->arena, "'%s'", s->u.let.name);
    if (!t || !check_declared(e, f, s->u.let.type, t, what, s->u.let.value->loc))
      *v = val_error();
    else
      *v = val_tensor(t);
  }
  strmap_put(&f->locals, s->u.let.name, v);
}

/* state target <- value: an ASSIGN that a training step performs after its
 * reads and updates (fuse.c); other entry points leave it out. A value that
 * is itself a state is copied first (an identity op), so that two writes
 * that swap states read the old values. */
static void run_state_update(Elab *e, Frame *f, const AstNode *s) {
  const AstNode *tx = s->u.update.target;
  if (tx->kind != AST_NAME && tx->kind != AST_MEMBER) {
    diag_error(e->diag, tx->loc, "expected the name of a state tensor before '<-'");
    return;
  }
  IrValue *target = lower_as_tensor(e, f, lower_eval_expr(e, f, tx), tx);
  IrValue *value =
      lower_as_tensor(e, f, lower_eval_expr(e, f, s->u.update.value), s->u.update.value);
  if (!target || !value)
    return;
  if (value->op == OP_PARAM)
    value = lower_emit_op(e, f, OP_STOP_GRADIENT, &value, 1, s->u.update.value->loc, NULL);
  IrValue *args[2] = {target, value};
  if (value)
    lower_emit_op(e, f, OP_ASSIGN, args, 2, s->loc, NULL);
}

static Val run_body(Elab *e, Frame *f, SrcSpan *ret_loc) {
  const PtrVec *body = &f->fn->u.fn.body;
  for (int i = 0; i < body->len && !diag_should_stop(e->diag); i++) {
    const AstNode *s = body->items[i];
    if (s->kind == AST_LET)
      lower_run_let(e, f, s);
    else if (s->kind == AST_SCAN)
      lower_scan(e, f, s);
    else if (s->kind == AST_STATE_UPDATE)
      run_state_update(e, f, s);
    else if (s->kind == AST_RETURN) {
      *ret_loc = s->u.ret.value->loc;
      Val r = lower_eval_expr(e, f, s->u.ret.value);
      if (r.kind == VAL_TUPLE || r.kind == VAL_ERROR)
        return r;
      IrValue *t = lower_as_tensor(e, f, r, s->u.ret.value);
      return t ? val_tensor(t) : val_error();
    }
  }
  return val_error(); /* sema reports a missing return */
}

/* ---- entry points ---- */

static void begin_func(Elab *e, IrFunc *fn) {
  e->func = fn;
  e->next_stream = 0;
  e->nparam_vals = e->mod->nparams;
  e->param_vals = ARENA_ARRAY(e->arena, IrValue *, (size_t)e->nparam_vals + 1);
}

/* Lowers `fn` of `inst` as an entry point; its plain-name dims become the
 * function's run-time dimensions. */
static IrFunc *lower_entry(Elab *e, Instance *inst, const AstNode *fn) {
  IrFunc *irf = ir_func_new(e->arena, fn->u.fn.name, fn->loc);
  begin_func(e, irf);
  Frame *f = new_frame(e, inst, fn, NULL, fn->loc);
  const PtrVec *params = &fn->u.fn.args;
  int first_sym = e->mod->syms->n;
  CtEnv env = {.inst = inst};
  bool ok = true;
  for (int i = 0; i < params->len; i++)
    consteval_bind_plain_dims(e, &env, &f->dims, ((AstNode *)params->items[i])->u.fnarg.type, NULL);
  for (int i = 0; i < params->len; i++) {
    const AstNode *p = params->items[i];
    TType t;
    if (!consteval_type(e, &env, &f->dims, DIMS_BIND, p->u.fnarg.type, &t)) {
      ok = false;
      continue;
    }
    IrValue *v = ir_func_add_input(e->arena, irf, p->u.fnarg.name, t, p->loc);
    Val *lv = ARENA_NEW(e->arena, Val);
    *lv = val_tensor(v);
    strmap_put(&f->locals, p->u.fnarg.name, lv);
  }
  irf->ndims = e->mod->syms->n - first_sym;
  irf->dim_syms = ARENA_ARRAY(e->arena, int, (size_t)irf->ndims + 1);
  for (int i = 0; i < irf->ndims; i++)
    irf->dim_syms[i] = first_sym + i;
  if (!ok)
    return NULL;
  SrcSpan ret_loc;
  Val r = run_body(e, f, &ret_loc);
  if ((r.kind != VAL_TENSOR && r.kind != VAL_TUPLE) ||
      !check_results(e, f, fn, fn->u.fn.name, r, ret_loc))
    return NULL;
  if (r.kind == VAL_TENSOR) {
    ir_func_add_result(e->arena, irf, r.t, "result");
    return irf;
  }
  for (int i = 0; i < r.nitems; i++) /* a tuple: one result each */
    ir_func_add_result(e->arena, irf, r.items[i], arena_printf(e->arena, "result.%d", i));
  return irf;
}

static IrModule *new_module(Arena *a, const AstNode *layer) {
  IrModule *m = ARENA_NEW(a, IrModule);
  m->name = layer->u.layer.name;
  m->loc = layer->loc;
  m->syms = ARENA_NEW(a, SymTab);
  m->syms->arena = a;
  return m;
}

/* A training step's loss must be a scalar: the gradient of anything else is
 * not defined without a seed. */
static void check_losses(Elab *e, const AstNode *model) {
  for (const AstNode *s = sections_first(model, SEC_TRAIN); s; s = sections_next(model, s)) {
    const AstNode *fl = sections_field(s, "loss");
    if (!fl || fl->u.field.value->kind != AST_NAME)
      continue;
    const char *name = fl->u.field.value->u.name.name;
    const IrFunc *fn = ir_module_func(e->mod, name);
    if (!fn || !fn->result)
      continue;
    const TType *t = &fn->result->type;
    if (t->rank != 0 || !dtype_is_float(t->dtype)) {
      diag_error(e->diag, fl->u.field.value->loc,
                 "the loss of train step '%s' must be a floating-point scalar, but '%s' returns %s",
                 s->u.section.name, name, desc_type(e, t));
      diag_note(e->diag, sema_fn_decl(model, name)->u.fn.name_loc, "'%s' is declared here", name);
    }
  }
}

bool lower_model(Program *p, const AstNode *model, Arena *a, IrModule **out) {
  Elab e = {.prog = p, .arena = a, .diag = p->diag};
  e.mod = new_module(a, model);
  int errors_before = p->diag->errors;
  Instance *root = instance_build_model(&e, model);
  if (!root)
    return false;
  const PtrVec *ms = &model->u.layer.members;
  for (int i = 0; i < ms->len && !diag_should_stop(p->diag); i++) {
    const AstNode *m = ms->items[i];
    if (m->kind == AST_FN) {
      e.training = e.used_training = false;
      IrFunc *f = lower_entry(&e, root, m);
      if (f && e.used_training) {
        /* the variant training steps differentiate (dropout active) */
        e.training = true;
        f->training = lower_entry(&e, root, m);
        e.training = false;
      }
      if (f)
        ir_module_add_func(a, e.mod, f);
    } else if (m->kind == AST_SECTION) {
      IrSection *s = ARENA_NEW(a, IrSection);
      *s = (IrSection){m->u.section.kind, m->u.section.name, m};
      ir_module_add_section(a, e.mod, s);
    }
  }
  check_losses(&e, model);
  if (p->diag->errors != errors_before)
    return false;
  ir_verify_module(e.mod, "lower", NULL);
  *out = e.mod;
  return true;
}

void lower_check_layer_generic(Program *p, const AstNode *layer, Arena *a) {
  Elab e = {.prog = p, .arena = a, .diag = p->diag, .generic = true};
  e.mod = new_module(a, layer);
  Instance *inst = instance_build_generic(&e, layer);
  const PtrVec *ms = &layer->u.layer.members;
  for (int i = 0; i < ms->len && !diag_should_stop(p->diag); i++) {
    const AstNode *m = ms->items[i];
    if (m->kind == AST_FN)
      lower_entry(&e, inst, m);
  }
}
