/* train_step.c - forward, backward, clipping and optimizer updates as one
 * IrFunc (see train_step.h). */
#include "train_step.h"

#include <stdio.h>
#include <string.h>

#include "autodiff.h"

typedef struct Builder {
  Arena *a;
  IrModule *m;
  IrFunc *f;
  ShapeCtx shape;
} Builder;

static IrValue *emit(Builder *b, OpKind op, IrValue **args, int nargs, const IrAttrs *at) {
  IrValue *v = ir_emit(b->a, &b->shape, b->f, op, args, nargs, b->f->loc, at);
  if (!v)
    NNC_BUG("train step: ill-typed %s", op_info[op].name);
  return v;
}

static IrValue *binary(Builder *b, OpKind op, IrValue *x, IrValue *y) {
  IrValue *xs[2] = {x, y};
  return emit(b, op, xs, 2, NULL);
}

static IrValue *scalar(Builder *b, double x) {
  IrValue *v = ir_value_new(b->a, b->f, OP_CONST, NULL, 0, b->f->loc);
  IR_ATTR(v, source).scalar = x;
  v->type = ttype_scalar(DT_F32);
  ir_block_append(b->a, b->f->body, v);
  return v;
}

static IrValue *param_value(Builder *b, int index) {
  for (int i = 0; i < b->f->body->n; i++) {
    IrValue *v = b->f->body->vals[i];
    if (v->op == OP_PARAM && IR_ATTR(v, source).index == index)
      return v;
  }
  IrValue *v = ir_value_new(b->a, b->f, OP_PARAM, NULL, 0, b->m->params[index]->loc);
  IR_ATTR(v, source).index = index;
  v->type = b->m->params[index]->type;
  ir_block_append(b->a, b->f->body, v);
  return v;
}

/* The sum of the squares of every updated gradient: ||g||^2. */
static IrValue *grad_norm_sq(Builder *b, IrValue **grads, int n) {
  IrValue *total = NULL;
  for (int i = 0; i < n; i++) {
    IrValue *sq = binary(b, OP_MUL, grads[i], grads[i]);
    IrAttrs at = {.reduce = {.all_axes = true}};
    IrValue *s = emit(b, OP_SUM, &sq, 1, &at);
    total = total ? binary(b, OP_ADD, total, s) : s;
  }
  return total;
}

/* min(1, clip / (||g|| + 1e-6)), as torch.nn.utils.clip_grad_norm_
 * computes it. */
static IrValue *clip_scale(Builder *b, IrValue *total, double clip) {
  if (clip <= 0)
    return scalar(b, 1.0);
  IrValue *norm = binary(b, OP_POW, total, scalar(b, 0.5));
  IrValue *ratio = binary(b, OP_DIV, scalar(b, clip), binary(b, OP_ADD, norm, scalar(b, 1e-6)));
  IrValue *one = scalar(b, 1.0);
  IrValue *args[3] = {binary(b, OP_LT, ratio, one), ratio, one};
  return emit(b, OP_SELECT, args, 3, NULL);
}

/* The scale every update multiplies its gradient by, made NaN when the loss
 * or ||g||^2 is not finite: v * 0 is a zero for finite v and NaN for an
 * infinite or NaN one, so adding loss * 0 + ||g||^2 * 0 keeps a finite
 * step's scale to the bit and poisons a bad step's. It is the step's guard
 * (IrFunc.guard): the compiled step checks it before its first state write
 * and returns without writing a parameter, an optimizer state or a
 * `state <-` state (cg_entry.c, guard_writes). */
static IrValue *guarded_scale(Builder *b, IrValue *loss, IrValue *total, IrValue *scale) {
  IrValue *zero = scalar(b, 0.0);
  IrValue *poison =
      binary(b, OP_ADD, binary(b, OP_MUL, loss, zero), binary(b, OP_MUL, total, zero));
  return binary(b, OP_ADD, scale, poison);
}

/* The scores of a cross-entropy loss, or NULL. The loop compares their
 * arg-max with the data's y row by row, so only labels that are y itself
 * line up with them (not a slice such as y[:, 7:]). */
static IrValue *logits_of(const IrFunc *f) {
  const IrValue *r = f->result;
  bool labels_are_y = f->ninputs >= 2 && r->op == OP_CROSS_ENTROPY && r->args[1] == f->inputs[1];
  return labels_are_y ? r->args[0] : NULL;
}

static int add_state_param(Builder *b, const IrParam *p, const char *state) {
  IrParam *s = ARENA_NEW(b->a, IrParam);
  s->name = arena_printf(b->a, "optim.%s.%s", p->name, state);
  s->type = p->type;
  s->init = (IrInit){.kind = INIT_ZEROS};
  s->trainable = false;
  s->loc = p->loc;
  return ir_module_add_param(b->a, b->m, s);
}

/* ------------------------------------------------------------ optimizers
 * One function per optimizer: the new values of a parameter and its state
 * as ordinary ops, which the step then writes with ASSIGNs (fusion puts the
 * writes of one parameter in one kernel that computes what they share
 * once). The formulas are PyTorch's (torch.optim, foreach=False), in the
 * order of operations that gives its bits; the step's learning rate and
 * Adam's bias corrections arrive in hyper[] (runtime/nnrt_train.h). */

typedef struct OptimVals {
  IrValue *p, *g;        /* parameter (old, then new), scaled gradient */
  IrValue *s[2];         /* state (old, then new) */
  IrValue *lr, *h1, *h2; /* hyper[0..2] */
} OptimVals;

static IrValue *unary(Builder *b, OpKind op, IrValue *x) { return emit(b, op, &x, 1, NULL); }

/* hyper[i], read in place by the kernel that uses it. */
static IrValue *hyper_at(Builder *b, IrValue *hyper, int i) {
  IrViewAttrs va = {0};
  va.start[0] = i;
  va.step[0] = 1;
  va.drop[0] = true;
  return emit(b, OP_SLICE, &hyper, 1, &(IrAttrs){.view = &va});
}

/* g + weight_decay * p: L2 regularisation folded into the gradient. */
static IrValue *with_l2(Builder *b, const IrOptim *o, const OptimVals *u) {
  return o->weight_decay > 0
             ? binary(b, OP_ADD, u->g, binary(b, OP_MUL, scalar(b, o->weight_decay), u->p))
             : u->g;
}

/* beta * state + (1 - beta) * x */
static IrValue *ema(Builder *b, double beta, IrValue *state, IrValue *x) {
  return binary(b, OP_ADD, binary(b, OP_MUL, scalar(b, beta), state),
                binary(b, OP_MUL, scalar(b, 1 - beta), x));
}

static void optim_sgd(Builder *b, const IrOptim *o, OptimVals *u) {
  IrValue *d = with_l2(b, o, u);
  if (o->momentum > 0) {
    u->s[0] = binary(b, OP_ADD, binary(b, OP_MUL, scalar(b, o->momentum), u->s[0]), d);
    d = o->nesterov ? binary(b, OP_ADD, d, binary(b, OP_MUL, scalar(b, o->momentum), u->s[0]))
                    : u->s[0];
  }
  u->p = binary(b, OP_SUB, u->p, binary(b, OP_MUL, u->lr, d));
}

/* Adam, and AdamW's decoupled weight decay: p * (1 - lr * wd) first. */
static void optim_adam(Builder *b, const IrOptim *o, OptimVals *u) {
  IrValue *d = u->g;
  if (o->kind == OPTIM_ADAMW)
    u->p = binary(
        b, OP_MUL, u->p,
        binary(b, OP_SUB, scalar(b, 1), binary(b, OP_MUL, u->lr, scalar(b, o->weight_decay))));
  else
    d = with_l2(b, o, u);
  u->s[0] = ema(b, o->beta1, u->s[0], d);
  u->s[1] = ema(b, o->beta2, u->s[1], binary(b, OP_MUL, d, d));
  IrValue *denom =
      binary(b, OP_ADD, binary(b, OP_MUL, unary(b, OP_SQRT, u->s[1]), u->h2), scalar(b, o->eps));
  u->p = binary(b, OP_SUB, u->p, binary(b, OP_MUL, u->h1, binary(b, OP_DIV, u->s[0], denom)));
}

static void optim_rmsprop(Builder *b, const IrOptim *o, OptimVals *u) {
  IrValue *d = with_l2(b, o, u);
  u->s[0] = ema(b, o->alpha, u->s[0], binary(b, OP_MUL, d, d));
  IrValue *step =
      binary(b, OP_DIV, d, binary(b, OP_ADD, unary(b, OP_SQRT, u->s[0]), scalar(b, o->eps)));
  if (o->momentum > 0) {
    u->s[1] = binary(b, OP_ADD, binary(b, OP_MUL, scalar(b, o->momentum), u->s[1]), step);
    step = u->s[1];
  }
  u->p = binary(b, OP_SUB, u->p, binary(b, OP_MUL, u->lr, step));
}

static void assign(Builder *b, IrValue *state, IrValue *value) {
  IrValue *args[2] = {state, value};
  emit(b, OP_ASSIGN, args, 2, NULL);
}

/* The optimizer step of module parameter `param`: its state after it in
 * module order (optim.<param>.<state>), the new values, then the writes,
 * the parameter's last. */
static void optim_step(Builder *b, const IrOptim *o, int param, IrValue *grad, IrValue *hyper,
                       IrValue *scale) {
  OptimVals u = {.p = param_value(b, param)};
  IrValue *state[2] = {NULL, NULL};
  int nstate = ir_optim_nstate(o);
  for (int s = 0; s < nstate; s++)
    u.s[s] = state[s] =
        param_value(b, add_state_param(b, b->m->params[param], ir_optim_state_name(o, s)));
  u.g = binary(b, OP_MUL, grad, scale);
  u.lr = hyper_at(b, hyper, 0);
  u.h1 = hyper_at(b, hyper, 1);
  u.h2 = hyper_at(b, hyper, 2);
  IrValue *old_p = u.p;
  switch (o->kind) {
  case OPTIM_SGD:
    optim_sgd(b, o, &u);
    break;
  case OPTIM_ADAM:
  case OPTIM_ADAMW:
    optim_adam(b, o, &u);
    break;
  case OPTIM_RMSPROP:
    optim_rmsprop(b, o, &u);
    break;
  }
  for (int s = 0; s < nstate; s++)
    assign(b, state[s], u.s[s]);
  assign(b, old_p, u.p);
}

/* Does f write a state with `state <-`? */
static bool has_assign(const IrFunc *f) {
  for (int i = 0; i < f->body->n; i++)
    if (f->body->vals[i]->op == OP_ASSIGN)
      return true;
  return false;
}

/* With tbptt, evaluation carries the states too (the validation pass reads
 * its windows as streams, like training): a copy of the loss sharing its
 * body whose writes of the carried states, and only those, happen. */
static IrFunc *carrying_eval(Arena *a, IrModule *m, const IrFunc *loss, const TrainConfig *c,
                             TrainStep *out) {
  bool *only = ARENA_ARRAY(a, bool, (size_t)m->nparams + 1);
  out->carried = ARENA_ARRAY(a, int32_t, (size_t)c->ncarried + 1);
  for (int i = 0; i < c->ncarried; i++)
    for (int k = 0; k < m->nparams; k++)
      if (!strcmp(m->params[k]->name, c->carried[i])) {
        only[k] = true;
        out->carried[out->ncarried++] = k;
      }
  IrFunc *e = ARENA_NEW(a, IrFunc);
  *e = *loss;
  e->name = arena_printf(a, "eval.%s", loss->name);
  e->writes_state = true;
  e->writes_only = only;
  e->guard = NULL;
  e->training = NULL;
  ir_module_add_func(a, m, e);
  return e;
}

/* A closed-form fit (fit = ridge(...), runtime/ridge.c) takes no gradient
 * step: only the loss, which reports the fit, is compiled. */
static bool fit_eval(Arena *a, IrModule *m, IrFunc *loss, const TrainConfig *c, TrainStep *out) {
  IrValue *z = logits_of(loss);
  if (z && loss->nresults == 1) {
    ir_func_add_result(a, loss, z, "logits");
    out->num_classes = z->type.dims[z->type.rank - 1].constant;
  }
  out->first_state = m->nparams;
  out->eval = c->ncarried ? carrying_eval(a, m, loss, c, out) : loss;
  return true;
}

bool train_step_build(Arena *a, IrModule *m, const TrainConfig *c, TrainStep *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  IrFunc *loss = ir_module_func(m, c->loss_fn);
  if (!loss) {
    snprintf(err, errlen, "model '%s' has no function '%s' (the train step's loss)", m->name,
             c->loss_fn);
    return false;
  }
  if (loss->nresults != 1 || loss->result->type.rank != 0 || loss->result->type.dtype != DT_F32) {
    snprintf(err, errlen, "the loss function '%s' must return a scalar f32", c->loss_fn);
    return false;
  }
  for (int i = 0; i < m->nparams; i++)
    if (m->params[i]->trainable && m->params[i]->type.dtype != DT_F32) {
      snprintf(err, errlen, "parameter '%s' is not f32: training runs in f32", m->params[i]->name);
      return false;
    }
  if (c->fit != FIT_NONE)
    return fit_eval(a, m, loss, c, out);
  int nparams = m->nparams;
  /* the step differentiates the loss as lowered with `training` true */
  IrFunc *g =
      autodiff_func(a, m, loss->training ? loss->training : loss, &(AdOptions){0}, err, errlen);
  if (!g)
    return false;
  g->name = arena_printf(a, "train.%s", c->step_name ? c->step_name : "step");
  g->writes_state = true;
  Builder b = {.a = a, .m = m, .f = g};
  b.shape = (ShapeCtx){.arena = a, .syms = m->syms, .module = m, .writes_params = true};

  TType ht = ttype_scalar(DT_F32);
  ht.rank = 1;
  ht.dims[0] = dim_const(4);
  IrValue *hyper = ir_func_add_input(a, g, "hyper", ht, g->loc);

  /* d.<param> results were in module order over the trainable params */
  IrValue **grads = ARENA_ARRAY(a, IrValue *, (size_t)nparams + 1);
  int *which = ARENA_ARRAY(a, int, (size_t)nparams + 1);
  int n = 0, k = 1;
  for (int i = 0; i < nparams; i++) {
    if (!m->params[i]->trainable)
      continue;
    IrValue *d = g->results[k++];
    if (!train_config_selects(c, m->params[i]->name))
      continue;
    which[n] = i;
    grads[n++] = d;
  }
  IrValue *z = logits_of(g);
  g->nresults = 1; /* the gradients are consumed by the updates */
  if (z) {
    ir_func_add_result(a, g, z, "logits");
    out->num_classes = z->type.dims[z->type.rank - 1].constant;
  }
  if (n > 0) {
    IrValue *total = grad_norm_sq(&b, grads, n);
    g->guard = guarded_scale(&b, g->results[0], total, clip_scale(&b, total, c->clip));
  } else if (has_assign(g)) { /* no gradient: only the loss can poison the writes */
    g->guard = guarded_scale(&b, g->results[0], scalar(&b, 0.0), scalar(&b, 1.0));
  }
  out->first_state = m->nparams;
  for (int j = 0; j < n; j++)
    optim_step(&b, &c->optim, which[j], grads[j], hyper, g->guard);
  out->nupdated = n;
  ir_func_remove_dead(g);
  out->step = g;

  /* eval: the loss function itself, with the scores as a second result */
  if (z && loss->nresults == 1)
    ir_func_add_result(a, loss, logits_of(loss), "logits");
  out->eval = c->ncarried ? carrying_eval(a, m, loss, c, out) : loss;
  return true;
}
