/* model_exec.c - calling a model's compiled functions: binding run-time
 * dims, the workspace of each function and the messages of failed calls.
 *
 * The workspace is laid out as the compiler's memory planner lays it out
 * for the JIT (compiler/memplan.c): a 64-byte status header where compiled
 * code reports a bad label, then the buffers placed by nnrt_plan_layout.
 * A training step whose loss or gradient norm is not finite returns
 * STATUS_NONFINITE before its first update, with ST_VALUE 0 for the loss
 * and 1 for the gradient. A call compares its dims with the cached ones; the layout is computed
 * and the workspace (re)allocated only when they change, and only grows.
 */
#include "model_impl.h"

#include <stdlib.h>
#include <string.h>

/* Bytes before the first buffer, and the int64 slots in them that compiled
 * code fills before returning STATUS_LABEL (compiler/codegen.h). */
enum { WS_HEADER = 64 };
enum { STATUS_LABEL = 1, STATUS_NONFINITE = 2, STATUS_INDEX = 3 };
enum { ST_VALUE, ST_POS, ST_LABEL, ST_DEPTH, ST_LENGTH };

int64_t nnrt_dim_value(const nnrt_dim *d, const int64_t *dims, bool *ok) {
  int64_t v = d->constant;
  for (int i = 0; i < d->nterms; i++) {
    const nnrt_dim_term *t = &d->terms[i];
    int64_t p = t->coeff;
    for (int j = 0; j < t->nsyms; j++)
      *ok &= !__builtin_mul_overflow(p, dims[t->syms[j]], &p);
    *ok &= !__builtin_add_overflow(v, p, &v);
  }
  return v;
}

int64_t nnrt_arg_numel(const nnrt_arg_desc *a, const int64_t *dims) {
  bool ok = true;
  int64_t n = 1;
  for (int i = 0; i < a->rank && ok; i++) {
    int64_t d = nnrt_dim_value(&a->dims[i], dims, &ok);
    ok &= !__builtin_mul_overflow(n, d, &n);
  }
  return ok ? n : -1;
}

int64_t nnrt_arg_sample_numel(const nnrt_arg_desc *a) {
  int64_t n = 1;
  for (int j = 1; j < a->rank; j++) {
    if (a->dims[j].nterms || __builtin_mul_overflow(n, a->dims[j].constant, &n))
      return -1;
  }
  return n;
}

/* "B", "2*T", "-T": one term, its sign left out when `magnitude`. */
static size_t term_text(const nnrt_func_desc *f, const nnrt_dim_term *t, bool magnitude, char *buf,
                        size_t len) {
  int64_t c = t->coeff;
  size_t n = 0;
  if (c == -1 && !magnitude)
    n += (size_t)snprintf(buf, len, "-");
  else if (c != 1 && c != -1)
    n += (size_t)snprintf(buf, len, "%s%llu*", c < 0 && !magnitude ? "-" : "",
                          c < 0 ? 0ull - (unsigned long long)c : (unsigned long long)c);
  for (int j = 0; j < t->nsyms && n < len; j++)
    n += (size_t)snprintf(buf + n, len - n, "%s%s", j ? "*" : "", f->dim_names[t->syms[j]]);
  return n;
}

void nnrt_dim_text(const nnrt_func_desc *f, const nnrt_dim *d, char *buf, size_t len) {
  if (len == 0)
    return;
  buf[0] = 0;
  if (d->nterms == 0) {
    snprintf(buf, len, "%lld", (long long)d->constant);
    return;
  }
  size_t n = 0;
  for (int i = 0; i < d->nterms && n < len; i++) {
    if (i)
      n += (size_t)snprintf(buf + n, len - n, " %c ", d->terms[i].coeff < 0 ? '-' : '+');
    if (n < len)
      n += term_text(f, &d->terms[i], i > 0, buf + n, len - n);
  }
  if (d->constant != 0 && n < len)
    snprintf(buf + n, len - n, " %c %llu", d->constant < 0 ? '-' : '+',
             d->constant < 0 ? 0ull - (unsigned long long)d->constant
                             : (unsigned long long)d->constant);
}

/* The value of dim k told by input a: the batch at axis 0, the sample's
 * size elsewhere; -1 when a does not tell. */
static int64_t dim_from(const nnrt_arg_desc *a, int k, int64_t batch, const int64_t *sample,
                        int srank) {
  for (int j = 0; j < a->rank; j++) {
    const nnrt_dim *d = &a->dims[j];
    bool plain =
        d->nterms == 1 && d->constant == 0 && d->terms[0].nsyms == 1 && d->terms[0].coeff == 1;
    if (plain && d->terms[0].syms[0] == k)
      return j == 0 ? batch : sample && j - 1 < srank ? sample[j - 1] : -1;
  }
  return -1;
}

/* The symbolic axes of a sample of input `in` (its shape known and of the
 * declared rank) against what their declared dims give at dims: a sample
 * axis declared T - 1 must be one shorter than the axis that gave T.
 * Constant axes are the sample size checks' (a flat [B, 784] takes 28x28
 * images). */
static int check_input_shape(nnrt_model *m, const nnrt_func_desc *f, int in, const int64_t *sample,
                             int srank, const int64_t *dims) {
  const nnrt_arg_desc *a = &f->inputs[in];
  if (!sample || srank != a->rank - 1)
    return NNRT_OK;
  for (int j = 1; j < a->rank; j++) {
    bool ok = true;
    int64_t want = nnrt_dim_value(&a->dims[j], dims, &ok), got = sample[j - 1];
    if (a->dims[j].nterms == 0 || (ok && want == got))
      continue;
    char text[256];
    nnrt_dim_text(f, &a->dims[j], text, sizeof text);
    if (!ok)
      return nnrt_model_fail(m, NNRT_ERR_SHAPE,
                             "%s: input '%s' axis %d is %lld, expected %s, which overflows 64 bits",
                             f->name, a->name, j, (long long)got, text);
    return nnrt_model_fail(m, NNRT_ERR_SHAPE, "%s: input '%s' axis %d is %lld, expected %s = %lld",
                           f->name, a->name, j, (long long)got, text, (long long)want);
  }
  return NNRT_OK;
}

int nnrt_model_bind_dims(nnrt_model *m, const nnrt_func_desc *f, int64_t batch,
                         const int64_t *xdims, int xrank, const int64_t *ydims, int yrank,
                         int64_t *dims) {
  for (int k = 0; k < f->ndims; k++) {
    dims[k] = -1;
    for (int in = 0; in < 2 && in < f->ninputs && dims[k] < 0; in++)
      dims[k] =
          dim_from(&f->inputs[in], k, batch, in == 0 ? xdims : ydims, in == 0 ? xrank : yrank);
    if (dims[k] < 0)
      return nnrt_model_fail(m, NNRT_ERR_SHAPE,
                             "%s: cannot tell a dimension of its inputs from the data", f->name);
  }
  int rc = NNRT_OK;
  for (int in = 0; in < 2 && in < f->ninputs && !rc; in++)
    rc = check_input_shape(m, f, in, in == 0 ? xdims : ydims, in == 0 ? xrank : yrank, dims);
  return rc;
}

/* ---- the workspace -------------------------------------------------------- */

/* The workspace size for dims with every buffer's offset, or -1 when a size
 * overflows (or, NOMEM aside, memory for the sizes runs out: -2). */
static int64_t layout(const nnrt_func_desc *f, const int64_t *dims, int64_t *offsets) {
  int n = f->nbufs;
  if (n == 0)
    return WS_HEADER;
  int64_t *sizes = malloc(sizeof(int64_t) * (size_t)n);
  int *first = malloc(sizeof(int) * (size_t)n), *last = malloc(sizeof(int) * (size_t)n);
  int64_t peak = sizes && first && last ? -1 : -2;
  bool ok = peak == -1;
  for (int i = 0; ok && i < n; i++) {
    const nnrt_buffer_desc *b = &f->bufs[i];
    int64_t numel = nnrt_dim_value(&b->numel, dims, &ok);
    ok &= !__builtin_mul_overflow(numel, b->elem_size, &sizes[i]);
    first[i] = b->first;
    last[i] = b->last;
  }
  if (ok)
    peak = nnrt_plan_layout(n, sizes, first, last, offsets);
  if (peak >= 0 && __builtin_add_overflow(peak, WS_HEADER, &peak))
    peak = -1;
  for (int i = 0; peak >= 0 && i < n; i++)
    offsets[i] += WS_HEADER;
  free(sizes);
  free(first);
  free(last);
  return peak;
}

static int grow(nnrt_model *m, nnrt_ws_cache *c, const nnrt_func_desc *f, int64_t bytes) {
  if (bytes <= c->cap)
    return NNRT_OK;
  free(c->ws);
  c->cap = 0;
  size_t cap = ((size_t)bytes + 63) & ~(size_t)63;
  c->ws = cap >= (size_t)bytes ? aligned_alloc(64, cap) : NULL;
  if (!c->ws)
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory: the workspace of %s needs %lld bytes",
                           f->name, (long long)bytes);
  c->cap = (int64_t)cap;
  return NNRT_OK;
}

/* A dim such as T - 2 is negative for T = 1: no input, result or buffer
 * of f may then be sized (compiled code would index outside them). */
static int check_arg_sizes(nnrt_model *m, const nnrt_func_desc *f, const nnrt_arg_desc *as, int n,
                           const char *what, const int64_t *dims) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < as[i].rank; j++) {
      bool ok = true;
      int64_t v = nnrt_dim_value(&as[i].dims[j], dims, &ok);
      if (ok && v >= 0)
        continue;
      char text[256];
      nnrt_dim_text(f, &as[i].dims[j], text, sizeof text);
      if (!ok)
        return nnrt_model_fail(m, NNRT_ERR_SHAPE, "%s: %s '%s' axis %d, %s, overflows 64 bits",
                               f->name, what, as[i].name, j, text);
      return nnrt_model_fail(m, NNRT_ERR_SHAPE,
                             "%s: %s '%s' axis %d is %s = %lld for these dimensions; a size "
                             "cannot be negative",
                             f->name, what, as[i].name, j, text, (long long)v);
    }
  for (int i = 0; i < f->nbufs; i++) {
    bool ok = true;
    if (nnrt_dim_value(&f->bufs[i].numel, dims, &ok) < 0 && ok)
      return nnrt_model_fail(m, NNRT_ERR_SHAPE,
                             "%s: workspace buffer %d has a negative size for these dimensions",
                             f->name, i);
  }
  return NNRT_OK;
}

/* Lays out f's workspace for dims unless the cached layout is for them. */
static int prepare(nnrt_model *m, int fi, const int64_t *dims) {
  const nnrt_func_desc *f = &m->d->funcs[fi];
  nnrt_ws_cache *c = &m->ws[fi];
  size_t nd = (size_t)f->ndims;
  if (c->valid && (nd == 0 || !memcmp(c->dims, dims, sizeof(int64_t) * nd)))
    return NNRT_OK;
  for (int i = 0; i < f->ndims; i++)
    if (dims[i] < 1)
      return nnrt_model_fail(m, NNRT_ERR_ARG,
                             "dimension %d of %s is %lld; dimensions must be positive", i, f->name,
                             (long long)dims[i]);
  int rc = check_arg_sizes(m, f, f->inputs, f->ninputs, "input", dims);
  if (!rc)
    rc = check_arg_sizes(m, f, f->results, f->nresults, "result", dims);
  if (rc)
    return rc;
  c->valid = false; /* the offsets are rewritten below */
  int64_t bytes = layout(f, dims, c->offsets);
  if (bytes == -2)
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory");
  if (bytes < 0)
    return nnrt_model_fail(m, NNRT_ERR_SHAPE,
                           "the workspace of %s for these dimensions overflows 64 bits", f->name);
  rc = grow(m, c, f, bytes);
  if (rc)
    return rc;
  if (nd)
    memcpy(c->dims, dims, sizeof(int64_t) * nd);
  c->valid = true;
  return NNRT_OK;
}

/* ---- failures --------------------------------------------------------------- */

bool nnrt_model_nonfinite_loss(const nnrt_model *m, int fi) {
  const int64_t *st = (const int64_t *)m->ws[fi].ws;
  return st[ST_VALUE] == 0;
}

static const nnrt_label_site *label_site(const nnrt_func_desc *f, int64_t value) {
  for (int i = 0; i < f->nlabels; i++)
    if (f->labels[i].value == value)
      return &f->labels[i];
  return NULL;
}

/* "[i, j]": the flat position of a label as an index of the labels' shape. */
static void label_index(const nnrt_label_site *s, const int64_t *dims, int64_t pos, char *at,
                        size_t atlen) {
  int64_t idx[NNRT_MAX_RANK];
  for (int i = s->rank - 1; i >= 0; i--) {
    bool ok = true;
    int64_t d = nnrt_dim_value(&s->dims[i], dims, &ok);
    idx[i] = d > 0 ? pos % d : 0;
    pos = d > 0 ? pos / d : 0;
  }
  size_t n = 0;
  at[0] = 0;
  for (int i = 0; i < s->rank && n < atlen; i++)
    n += (size_t)snprintf(at + n, atlen - n, "%s%lld", i ? ", " : "[", (long long)idx[i]);
  if (n < atlen)
    snprintf(at + n, atlen - n, "]");
}

const char *nnrt_index_noun(const char *op) {
  return op && (!strcmp(op, "cross_entropy") || !strcmp(op, "one_hot")) ? "label" : "index";
}

static int label_error(nnrt_model *m, int fi, const int64_t *dims) {
  const nnrt_func_desc *f = &m->d->funcs[fi];
  const int64_t *st = (const int64_t *)m->ws[fi].ws;
  const nnrt_label_site *s = label_site(f, st[ST_VALUE]);
  if (!s)
    return nnrt_model_fail(m, NNRT_ERR_ARG,
                           "%s: label %lld at position %lld of value %%%lld is outside [0, %lld)",
                           f->name, (long long)st[ST_LABEL], (long long)st[ST_POS],
                           (long long)st[ST_VALUE], (long long)st[ST_DEPTH]);
  const char *name = s->input >= 0 ? f->inputs[s->input].name : NULL;
  char at[128];
  label_index(s, dims, st[ST_POS], at, sizeof at);
  return nnrt_model_fail(m, NNRT_ERR_ARG, "%s: %s %lld%s%s%s at %s is outside [0, %lld)", s->op,
                         nnrt_index_noun(s->op), (long long)st[ST_LABEL], name ? " of '" : "",
                         name ? name : "", name ? "'" : "", s->rank ? at : "the scalar",
                         (long long)st[ST_DEPTH]);
}

static const nnrt_index_site *index_site(const nnrt_func_desc *f, int64_t value, int64_t axis) {
  for (int i = 0; i < f->nindexes; i++)
    if (f->indexes[i].value == value && f->indexes[i].axis == axis)
      return &f->indexes[i];
  return NULL;
}

void nnrt_index_message(const char *func, const nnrt_index_site *s, const int64_t *st, char *buf,
                        size_t len) {
  char xs[128] = "the sliced tensor";
  if (s && s->tensor)
    snprintf(xs, sizeof xs, "'%s'", s->tensor);
  const char *what = s && s->gradient ? "a slice's gradient" : s ? xs : "a slice";
  long long p = st[ST_LABEL], n = st[ST_DEPTH], count = st[ST_LENGTH], axis = st[ST_POS];
  if (count != 1 && p >= -n && p < n) {
    long long first = p < 0 ? p + n : p, step = s ? s->step : 1;
    char by[32] = "";
    if (step != 1)
      snprintf(by, sizeof by, " %lld apart", step);
    snprintf(buf, len,
             "%s: %lld elements%s from index %lld do not fit axis %lld of %s, which has %lld", func,
             count, by, first, axis, what, n);
    return;
  }
  const char *arg = s ? s->arg : NULL;
  snprintf(buf, len, "%s: index %lld%s%s%s is outside [-%lld, %lld) on axis %lld of %s", func, p,
           arg ? " (argument '" : "", arg ? arg : "", arg ? "')" : "", n, n, axis, what);
}

static int index_error(nnrt_model *m, int fi) {
  const nnrt_func_desc *f = &m->d->funcs[fi];
  const int64_t *st = (const int64_t *)m->ws[fi].ws;
  char msg[512];
  nnrt_index_message(f->name, index_site(f, st[ST_VALUE], st[ST_POS]), st, msg, sizeof msg);
  return nnrt_model_fail(m, NNRT_ERR_ARG, "%s", msg);
}

int nnrt_model_invoke(nnrt_model *m, int fi, const int64_t *dims, const void *const *inputs,
                      void *const *outputs) {
  const nnrt_func_desc *f = &m->d->funcs[fi];
  if (!f->entry)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "%s has no compiled code in model '%s'", f->name,
                           m->d->name);
  int rc = prepare(m, fi, dims);
  if (rc)
    return rc;
  /* compiled code never writes its inputs; the entry type is the JIT's */
  const uint64_t rng[2] = {m->rng_seed, (uint64_t)m->steps};
  rc = f->entry(dims, (void *const *)inputs, m->params, outputs, m->ws[fi].ws, m->ws[fi].offsets,
                rng);
  if (rc == STATUS_LABEL)
    return label_error(m, fi, dims);
  if (rc == STATUS_INDEX)
    return index_error(m, fi);
  if (rc == STATUS_NONFINITE)
    return nnrt_model_fail(m, NNRT_ERR_NONFINITE,
                           "%s: the %s is not finite; no parameter or optimizer state was changed",
                           f->name, nnrt_model_nonfinite_loss(m, fi) ? "loss" : "gradient norm");
  if (rc)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "%s failed with code %d", f->name, rc);
  return NNRT_OK;
}

/* ---- loss calls ------------------------------------------------------------- */

/* Where f's logits go when the caller does not want them: a scratch buffer
 * sized by the result's shape. */
static float *logits_buf(nnrt_model *m, const nnrt_func_desc *f, const int64_t *dims,
                         float *logits) {
  if (logits || f->nresults < 2)
    return logits;
  int64_t n = nnrt_arg_numel(&f->results[1], dims);
  if (n < 0 || n > INT64_MAX / 4)
    return NULL;
  if (n > m->scratch_elems) {
    free(m->scratch);
    m->scratch = malloc(sizeof(float) * (size_t)(n ? n : 1));
    m->scratch_elems = m->scratch ? n : 0;
  }
  return m->scratch;
}

int nnrt_model_loss_call(nnrt_model *m, int fi, int64_t batch, const nnrt_dataset *shape,
                         const void *x, const void *y, const float *hyper, float *loss,
                         float *logits) {
  const nnrt_func_desc *f = &m->d->funcs[fi];
  int64_t dims[NNRT_MAX_FUNC_DIMS];
  int rc =
      nnrt_model_bind_dims(m, f, batch, shape ? shape->x_dims : NULL, shape ? shape->x_rank : 0,
                           shape ? shape->y_dims : NULL, shape ? shape->y_rank : 0, dims);
  if (rc)
    return rc;
  const void *inputs[3];
  int k = 0;
  inputs[k++] = x;
  if (f->ninputs == (hyper ? 3 : 2))
    inputs[k++] = y;
  if (hyper)
    inputs[k++] = hyper;
  void *outputs[2] = {loss, logits_buf(m, f, dims, logits)};
  if (f->nresults > 1 && !outputs[1])
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory");
  return nnrt_model_invoke(m, fi, dims, inputs, outputs);
}

/* ---- any function ------------------------------------------------------------ */

static int check_buffers(nnrt_model *m, const nnrt_func_desc *f, const void *const *bufs, int n,
                         const char *what) {
  if (n > 0 && !bufs)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "call %s: the %s are NULL", f->name, what);
  for (int i = 0; i < n; i++)
    if (!bufs[i])
      return nnrt_model_fail(m, NNRT_ERR_ARG, "call %s: %s %d is NULL", f->name,
                             what[0] == 'i' ? "input" : "output", i);
  return NNRT_OK;
}

int nnrt_model_call(nnrt_model *m, int func, const int64_t *dims, const void *const *inputs,
                    void *const *outputs) {
  if (!m)
    return NNRT_ERR_ARG;
  if (func < 0 || func >= m->d->nfuncs)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "call: model '%s' has no function %d (it has %d)",
                           m->d->name, func, m->d->nfuncs);
  const nnrt_func_desc *f = &m->d->funcs[func];
  if (f->ndims > 0 && !dims)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "call %s: dims is NULL", f->name);
  int rc = check_buffers(m, f, inputs, f->ninputs, "inputs");
  if (!rc)
    rc = check_buffers(m, f, (const void *const *)outputs, f->nresults, "outputs");
  return rc ? rc : nnrt_model_invoke(m, func, dims, inputs, outputs);
}
