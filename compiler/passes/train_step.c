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
 * step's scale to the bit and poisons a bad step's. The compiled step
 * checks the scale before its first update and returns without writing a
 * parameter or optimizer state (cg_entry.c, guard_updates). */
static IrValue *guarded_scale(Builder *b, IrValue *loss, IrValue *total, IrValue *scale) {
  IrValue *zero = scalar(b, 0.0);
  IrValue *poison =
      binary(b, OP_ADD, binary(b, OP_MUL, loss, zero), binary(b, OP_MUL, total, zero));
  return binary(b, OP_ADD, scale, poison);
}

/* The scores of a cross-entropy loss, or NULL. */
static IrValue *logits_of(const IrFunc *f) {
  const IrValue *r = f->result;
  return r->op == OP_CROSS_ENTROPY ? r->args[0] : NULL;
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

bool train_step_build(Arena *a, IrModule *m, const TrainConfig *c, TrainStep *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  IrFunc *loss = ir_module_func(m, c->loss_fn);
  if (!loss) {
    snprintf(err, errlen, "model '%s' has no function '%s' (the train step's loss)", m->name,
             c->loss_fn);
    return false;
  }
  if (loss->result->type.rank != 0 || loss->result->type.dtype != DT_F32) {
    snprintf(err, errlen, "the loss function '%s' must return a scalar f32", c->loss_fn);
    return false;
  }
  for (int i = 0; i < m->nparams; i++)
    if (m->params[i]->trainable && m->params[i]->type.dtype != DT_F32) {
      snprintf(err, errlen, "parameter '%s' is not f32: training runs in f32", m->params[i]->name);
      return false;
    }
  int nparams = m->nparams;
  /* the step differentiates the loss as lowered with `training` true */
  IrFunc *g =
      autodiff_func(a, m, loss->training ? loss->training : loss, &(AdOptions){0}, err, errlen);
  if (!g)
    return false;
  g->name = arena_printf(a, "train.%s", c->step_name ? c->step_name : "step");
  g->writes_state = true;
  Builder b = {.a = a, .m = m, .f = g};
  b.shape = (ShapeCtx){.arena = a, .syms = m->syms, .module = m};

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
  IrValue *scale = NULL;
  if (n > 0) {
    IrValue *total = grad_norm_sq(&b, grads, n);
    scale = guarded_scale(&b, g->results[0], total, clip_scale(&b, total, c->clip));
  }
  IrOptim *o = ARENA_NEW(a, IrOptim);
  *o = c->optim;
  int nstate = ir_optim_nstate(o);
  out->first_state = m->nparams;
  for (int j = 0; j < n; j++) {
    IrValue *args[UPD_STATE + 2];
    args[UPD_PARAM] = param_value(&b, which[j]);
    args[UPD_GRAD] = grads[j];
    args[UPD_HYPER] = hyper;
    args[UPD_SCALE] = scale;
    for (int s = 0; s < nstate; s++)
      args[UPD_STATE + s] =
          param_value(&b, add_state_param(&b, m->params[which[j]], ir_optim_state_name(o, s)));
    emit(&b, OP_UPDATE, args, UPD_STATE + nstate, &(IrAttrs){.update = {.optim = o}});
  }
  out->nupdated = n;
  ir_func_remove_dead(g);
  out->step = g;

  /* eval: the loss function itself, with the scores as a second result */
  if (z && loss->nresults == 1)
    ir_func_add_result(a, loss, logits_of(loss), "logits");
  out->eval = loss;
  return true;
}
