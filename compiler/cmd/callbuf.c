/* callbuf.c - see callbuf.h. */
#include "callbuf.h"

#include <string.h>

#include "memplan.h"

int64_t callbuf_dim(const IrFunc *f, const int64_t *dims, Dim d) {
  bool ok = true;
  return memplan_dim_value(d, f, dims, &ok);
}

int64_t callbuf_numel(const IrFunc *f, const int64_t *dims, const TType *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    n *= callbuf_dim(f, dims, t->dims[i]);
  return n;
}

void *callbuf_alloc(Arena *a, const IrFunc *f, const int64_t *dims, const TType *t) {
  size_t bytes = (size_t)callbuf_numel(f, dims, t) * nnrt_dtype_size((nnrt_dtype)t->dtype);
  void *p = arena_alloc(a, bytes ? bytes : 1);
  memset(p, 0, bytes);
  return p;
}

int callbuf_bind_dims(const IrModule *m, const IrFunc *f, const char *const *names,
                      const int64_t *values, int n, int64_t fallback, int64_t *dims) {
  int bad = -1;
  for (int k = 0; k < f->ndims; k++) {
    const char *name = m->syms->syms[f->dim_syms[k]].name;
    dims[k] = fallback;
    for (int i = 0; i < n; i++)
      if (!strcmp(names[i], name))
        dims[k] = values[i];
    if (dims[k] < 1 && bad < 0)
      bad = k;
  }
  return bad;
}

void callbuf_fill_random(nnrt_rng *r, DType dt, void *data, int64_t n, int64_t int_range) {
  switch (dt) {
  case DT_F64:
    for (int64_t i = 0; i < n; i++)
      ((double *)data)[i] = nnrt_rng_normal(r);
    return;
  case DT_F32:
    for (int64_t i = 0; i < n; i++)
      ((float *)data)[i] = (float)nnrt_rng_normal(r);
    return;
  case DT_I32:
    for (int64_t i = 0; i < n; i++)
      ((int32_t *)data)[i] = (int32_t)nnrt_rng_below(r, (uint64_t)int_range);
    return;
  case DT_BOOL:
    for (int64_t i = 0; i < n; i++)
      ((uint8_t *)data)[i] = (uint8_t)nnrt_rng_below(r, 2);
    return;
  }
}

int64_t callbuf_label_range(const IrFunc *f, const IrValue *x, int64_t otherwise) {
  int64_t bound;
  if (ir_index_reader(f, x, &bound) && bound > 0)
    return bound;
  for (int i = 0; i < f->body->n; i++) {
    const IrValue *v = f->body->vals[i];
    for (int k = 0; (v->op == OP_SLICE || v->op == OP_PAD) && k < v->args[0]->type.rank; k++) {
      Dim n = v->op == OP_SLICE ? v->args[0]->type.dims[k] : IR_ATTR(v, view)->size[k];
      if (IR_ATTR(v, view)->dyn[k] > 0 && v->args[IR_ATTR(v, view)->dyn[k]] == x && dim_is_const(n))
        return n.constant; /* a run-time index into an axis */
    }
  }
  return otherwise;
}
