/* rows.c - softmax, log_softmax and cross_entropy expanded into row
 * reductions and elementwise ops (rows.h). */
#include "rows.h"

typedef struct Rows {
  Arena *a;
  IrFunc *f; /* the copy being built */
  ShapeCtx shape;
  SrcSpan loc; /* the expanded op's */
} Rows;

static IrValue *emit(Rows *r, OpKind op, IrValue **args, int nargs, const IrAttrs *at) {
  IrValue *v = ir_emit(r->a, &r->shape, r->f, op, args, nargs, r->loc, at);
  if (!v)
    NNC_BUG("rows: ill-typed %s", op_info[op].name);
  return v;
}

static IrValue *unary(Rows *r, OpKind op, IrValue *x) { return emit(r, op, &x, 1, NULL); }

static IrValue *binary(Rows *r, OpKind op, IrValue *x, IrValue *y) {
  IrValue *xs[2] = {x, y};
  return emit(r, op, xs, 2, NULL);
}

/* A reduction of x along one axis, kept as an axis of extent 1 so that
 * the elementwise ops reading it broadcast it back along the row. */
static IrValue *along(Rows *r, OpKind op, IrValue *x, int axis) {
  IrAttrs at = {.reduce = {.naxes = 1, .keepdims = true}};
  at.reduce.axes[0] = axis;
  return emit(r, op, &x, 1, &at);
}

static IrValue *zero_of(Rows *r, DType dt) {
  IrValue *v = ir_value_new(r->a, r->f, OP_CONST, NULL, 0, r->loc);
  v->type = ttype_scalar(dt);
  ir_block_append(r->a, ir_func_block(r->f), v);
  return v;
}

static IrValue *softmax(Rows *r, IrValue *x, int axis) {
  IrValue *e = unary(r, OP_EXP, binary(r, OP_SUB, x, along(r, OP_MAX, x, axis)));
  return binary(r, OP_DIV, e, along(r, OP_SUM, e, axis));
}

static IrValue *log_softmax(Rows *r, IrValue *x, int axis) {
  IrValue *d = binary(r, OP_SUB, x, along(r, OP_MAX, x, axis));
  return binary(r, OP_SUB, d, unary(r, OP_LOG, along(r, OP_SUM, unary(r, OP_EXP, d), axis)));
}

/* The mean over the rows of logsumexp(z) - z[y]. The picked logit is a
 * select, not a product with one_hot: -inf * 0 would make it NaN. */
static IrValue *cross_entropy(Rows *r, IrValue *z, IrValue *y) {
  int axis = z->type.rank - 1;
  Dim classes = z->type.dims[axis];
  if (!dim_is_const(classes))
    NNC_BUG("rows: cross_entropy with a symbolic number of classes (elaboration rejects it)");
  IrValue *m = along(r, OP_MAX, z, axis);
  IrValue *e = unary(r, OP_EXP, binary(r, OP_SUB, z, m));
  IrValue *lse = binary(r, OP_ADD, m, unary(r, OP_LOG, along(r, OP_SUM, e, axis)));
  IrAttrs oh = {.onehot = {.depth = classes.constant, .dtype = DT_BOOL}};
  IrValue *pick[3] = {emit(r, OP_ONE_HOT, &y, 1, &oh), z, zero_of(r, z->type.dtype)};
  IrValue *picked = along(r, OP_SUM, emit(r, OP_SELECT, pick, 3, NULL), axis);
  IrAttrs all = {.reduce = {.all_axes = true}};
  IrValue *loss = binary(r, OP_SUB, lse, picked);
  return emit(r, OP_MEAN, &loss, 1, &all);
}

static bool expands(const IrValue *v) {
  return v->op == OP_SOFTMAX || v->op == OP_LOG_SOFTMAX || v->op == OP_CROSS_ENTROPY;
}

static IrValue *expand(Rows *r, const IrValue *v, IrValue **args) {
  r->loc = v->loc;
  switch (v->op) {
  case OP_SOFTMAX:
    return softmax(r, args[0], IR_ATTR(v, rowwise).axis);
  case OP_LOG_SOFTMAX:
    return log_softmax(r, args[0], IR_ATTR(v, rowwise).axis);
  default:
    return cross_entropy(r, args[0], args[1]);
  }
}

static IrFunc *copy_header(Arena *a, const IrFunc *f) {
  IrFunc *c = ir_func_new(a, f->name, f->loc);
  c->input_names = f->input_names;
  c->ninputs = c->cap_inputs = f->ninputs;
  c->inputs = ARENA_ARRAY(a, IrValue *, (size_t)f->ninputs + 1);
  c->result_names = f->result_names;
  c->nresults = c->cap_results = f->nresults;
  c->results = ARENA_ARRAY(a, IrValue *, (size_t)f->nresults + 1);
  c->writes_state = f->writes_state;
  c->writes_only = f->writes_only;
  c->dim_syms = f->dim_syms;
  c->ndims = f->ndims;
  c->training = f->training;
  return c;
}

typedef struct RowsCopy {
  Rows *r;
  const IrValue **src;
} RowsCopy;

static IrValue *copy_or_expand(void *ctx, const IrValue *v, IrValue **args) {
  RowsCopy *rc = ctx;
  if (expands(v))
    return expand(rc->r, v, args);
  IrValue *c = ir_copy_plain(rc->r->a, rc->r->f, v, args);
  rc->src[c->id] = v;
  return c;
}

static int count_expansions(const IrBlock *b) {
  int n = 0;
  for (int i = 0; i < b->n; i++)
    n += expands(b->vals[i]) + (b->vals[i]->region ? count_expansions(b->vals[i]->region) : 0);
  return n;
}

const IrFunc *rows_lower(Arena *a, const IrFunc *f, const IrValue ***source) {
  const IrBlock *b = f->body;
  int nexpand = count_expansions(b);
  *source = NULL;
  if (!nexpand)
    return f;
  Rows r = {.a = a, .f = copy_header(a, f), .shape = {.arena = a}};
  IrValue **map = ARENA_ARRAY(a, IrValue *, (size_t)f->next_id + 1);
  /* an expansion makes at most 16 values (cross_entropy 12) */
  const IrValue **src =
      ARENA_ARRAY(a, const IrValue *, (size_t)f->next_id + 16 * (size_t)nexpand + 1);
  RowsCopy rc = {.r = &r, .src = src};
  for (int i = 0; i < b->n; i++)
    ir_copy_value(a, r.f, b->vals[i], map, copy_or_expand, &rc);
  for (int i = 0; i < f->ninputs; i++)
    r.f->inputs[i] = map[f->inputs[i]->id];
  for (int i = 0; i < f->nresults; i++)
    r.f->results[i] = map[f->results[i]->id];
  r.f->result = f->nresults ? r.f->results[0] : NULL;
  r.f->guard = f->guard ? map[f->guard->id] : NULL;
  *source = src;
  return r.f;
}
