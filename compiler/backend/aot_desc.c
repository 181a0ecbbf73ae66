/* aot_desc.c - an nnrt_model_desc as LLVM constants.
 *
 * The descriptor model_desc.c builds in memory is written field by field
 * into constant globals of struct types that mirror runtime/nnrt_model.h.
 * The mirror is checked against the C layout (every struct's size) when
 * the target's pointers are the host's, and the runtime checks `size`
 * again when it creates a handle, so a drift between the two is an error,
 * not a crash.
 */
#include "aot_desc.h"

#include <stdio.h>
#include <string.h>

#include "diag.h"

typedef struct DescTypes {
  LLVMTypeRef i32, i64, f64, ptr;
  LLVMTypeRef dim_term, dim, arg, buf, label, index, func, param, source, train, model;
} DescTypes;

typedef struct Em {
  LLVMContextRef c;
  LLVMModuleRef mod;
  LLVMTargetDataRef td;
  DescTypes t;
  const char *prefix;
  int counter;
} Em;

static LLVMTypeRef st(Em *e, const char *name, LLVMTypeRef *fields, unsigned n) {
  LLVMTypeRef t = LLVMStructCreateNamed(e->c, name);
  LLVMStructSetBody(t, fields, n, false);
  return t;
}

static void make_types(Em *e) {
  DescTypes *t = &e->t;
  t->i32 = LLVMInt32TypeInContext(e->c);
  t->i64 = LLVMInt64TypeInContext(e->c);
  t->f64 = LLVMDoubleTypeInContext(e->c);
  t->ptr = LLVMPointerTypeInContext(e->c, 0);
  LLVMTypeRef i32 = t->i32, i64 = t->i64, f64 = t->f64, ptr = t->ptr;
  t->dim_term =
      st(e, "nnrt_dim_term", (LLVMTypeRef[]){i64, i32, LLVMArrayType(i32, NNRT_DIM_DEGREE)}, 3);
  t->dim =
      st(e, "nnrt_dim", (LLVMTypeRef[]){i64, i32, LLVMArrayType(t->dim_term, NNRT_DIM_TERMS)}, 3);
  LLVMTypeRef dims = LLVMArrayType(t->dim, NNRT_MAX_RANK);
  t->arg = st(e, "nnrt_arg_desc", (LLVMTypeRef[]){ptr, i32, i32, dims}, 4);
  t->buf = st(e, "nnrt_buffer_desc", (LLVMTypeRef[]){t->dim, i64, i32, i32}, 4);
  t->label = st(e, "nnrt_label_site", (LLVMTypeRef[]){i32, i32, ptr, i32, dims, i64}, 6);
  t->index = st(e, "nnrt_index_site", (LLVMTypeRef[]){i32, i32, i32, i64, ptr, ptr}, 6);
  t->func =
      st(e, "nnrt_func_desc",
         (LLVMTypeRef[]){ptr, i32, ptr, i32, i32, ptr, ptr, i32, i32, ptr, ptr, ptr, i32, ptr}, 14);
  t->param =
      st(e, "nnrt_param_desc",
         (LLVMTypeRef[]){ptr, i32, i32, LLVMArrayType(i64, NNRT_MAX_RANK), i32, i32, f64, f64, ptr},
         9);
  t->source =
      st(e, "nnrt_source_desc",
         (LLVMTypeRef[]){i32, ptr, ptr, i32, i32, i32, i32, ptr, f64, i64, ptr, ptr, i64, i64, i64},
         15);
  t->train =
      st(e, "nnrt_train_desc",
         (LLVMTypeRef[]){
             i32, i32, t->source, t->source, f64, i64, i64, i64, i32, i32, i32,
             i32, f64, f64,       f64,       f64, f64, i64, i64, i64, i64, LLVMArrayType(i64, 3),
             i64, i64, f64,       i32,       f64, i64, ptr, ptr, ptr, ptr},
         32);
  t->model = st(e, "nnrt_model_desc",
                (LLVMTypeRef[]){i32,      i32, ptr, i32, i32, ptr, ptr, i32, i32, i32, i32, i64,
                                t->train, ptr, ptr, i32, i32, i32, ptr, i32, ptr, i32, ptr},
                23);
}

/* With the host's pointer size, the mirror must have C's sizes exactly. */
static void check_layout(const Em *e) {
  if (LLVMPointerSize(e->td) != sizeof(void *))
    return;
  const struct {
    LLVMTypeRef t;
    size_t c;
    const char *name;
  } pairs[] = {
      {e->t.dim_term, sizeof(nnrt_dim_term), "nnrt_dim_term"},
      {e->t.dim, sizeof(nnrt_dim), "nnrt_dim"},
      {e->t.arg, sizeof(nnrt_arg_desc), "nnrt_arg_desc"},
      {e->t.buf, sizeof(nnrt_buffer_desc), "nnrt_buffer_desc"},
      {e->t.label, sizeof(nnrt_label_site), "nnrt_label_site"},
      {e->t.index, sizeof(nnrt_index_site), "nnrt_index_site"},
      {e->t.func, sizeof(nnrt_func_desc), "nnrt_func_desc"},
      {e->t.param, sizeof(nnrt_param_desc), "nnrt_param_desc"},
      {e->t.source, sizeof(nnrt_source_desc), "nnrt_source_desc"},
      {e->t.train, sizeof(nnrt_train_desc), "nnrt_train_desc"},
      {e->t.model, sizeof(nnrt_model_desc), "nnrt_model_desc"},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
    if (LLVMABISizeOfType(e->td, pairs[i].t) != pairs[i].c)
      NNC_BUG("the LLVM mirror of %s is %llu bytes, C's is %zu", pairs[i].name,
              (unsigned long long)LLVMABISizeOfType(e->td, pairs[i].t), pairs[i].c);
}

/* ---- constants -------------------------------------------------------- */

static LLVMValueRef ci32(Em *e, int64_t v) { return LLVMConstInt(e->t.i32, (uint64_t)v, true); }
static LLVMValueRef ci64(Em *e, int64_t v) { return LLVMConstInt(e->t.i64, (uint64_t)v, true); }
static LLVMValueRef cf64(Em *e, double v) { return LLVMConstReal(e->t.f64, v); }
static LLVMValueRef cnull(Em *e) { return LLVMConstNull(e->t.ptr); }

static LLVMValueRef private_global(Em *e, LLVMValueRef init, const char *what) {
  char name[256];
  snprintf(name, sizeof name, "%s.%s.%d", e->prefix, what, e->counter++);
  LLVMValueRef g = LLVMAddGlobal(e->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, true);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

static LLVMValueRef cstr(Em *e, const char *s) {
  if (!s)
    return cnull(e);
  return private_global(e, LLVMConstStringInContext(e->c, s, (unsigned)strlen(s), false), "str");
}

/* A constant array of `n` elements of type t as a pointer (NULL when n is
 * 0, as the runtime reads nothing then). */
static LLVMValueRef carray(Em *e, LLVMTypeRef t, LLVMValueRef *vals, int n, const char *what) {
  if (n <= 0)
    return cnull(e);
  return private_global(e, LLVMConstArray2(t, vals, (uint64_t)n), what);
}

static LLVMValueRef cstruct(LLVMTypeRef t, LLVMValueRef *fields, unsigned n) {
  return LLVMConstNamedStruct(t, fields, n);
}

static LLVMValueRef c_dim_term(Em *e, const nnrt_dim_term *t) {
  LLVMValueRef syms[NNRT_DIM_DEGREE];
  for (int i = 0; i < NNRT_DIM_DEGREE; i++)
    syms[i] = ci32(e, t->syms[i]);
  return cstruct(e->t.dim_term,
                 (LLVMValueRef[]){ci64(e, t->coeff), ci32(e, t->nsyms),
                                  LLVMConstArray2(e->t.i32, syms, NNRT_DIM_DEGREE)},
                 3);
}

static LLVMValueRef c_dim(Em *e, const nnrt_dim *d) {
  LLVMValueRef terms[NNRT_DIM_TERMS];
  for (int i = 0; i < NNRT_DIM_TERMS; i++)
    terms[i] = c_dim_term(e, &d->terms[i]);
  return cstruct(e->t.dim,
                 (LLVMValueRef[]){ci64(e, d->constant), ci32(e, d->nterms),
                                  LLVMConstArray2(e->t.dim_term, terms, NNRT_DIM_TERMS)},
                 3);
}

static LLVMValueRef c_dims(Em *e, const nnrt_dim *dims) {
  LLVMValueRef v[NNRT_MAX_RANK];
  for (int i = 0; i < NNRT_MAX_RANK; i++)
    v[i] = c_dim(e, &dims[i]);
  return LLVMConstArray2(e->t.dim, v, NNRT_MAX_RANK);
}

static LLVMValueRef c_args(Em *e, const nnrt_arg_desc *a, int n, Arena *ar) {
  LLVMValueRef *v = ARENA_ARRAY(ar, LLVMValueRef, (size_t)n + 1);
  for (int i = 0; i < n; i++)
    v[i] = cstruct(e->t.arg,
                   (LLVMValueRef[]){cstr(e, a[i].name), ci32(e, a[i].dtype), ci32(e, a[i].rank),
                                    c_dims(e, a[i].dims)},
                   4);
  return carray(e, e->t.arg, v, n, "args");
}

static LLVMValueRef c_bufs(Em *e, const nnrt_buffer_desc *b, int n, Arena *ar) {
  LLVMValueRef *v = ARENA_ARRAY(ar, LLVMValueRef, (size_t)n + 1);
  for (int i = 0; i < n; i++)
    v[i] = cstruct(e->t.buf,
                   (LLVMValueRef[]){c_dim(e, &b[i].numel), ci64(e, b[i].elem_size),
                                    ci32(e, b[i].first), ci32(e, b[i].last)},
                   4);
  return carray(e, e->t.buf, v, n, "bufs");
}

static LLVMValueRef c_labels(Em *e, const nnrt_label_site *l, int n, Arena *ar) {
  LLVMValueRef *v = ARENA_ARRAY(ar, LLVMValueRef, (size_t)n + 1);
  for (int i = 0; i < n; i++)
    v[i] =
        cstruct(e->t.label,
                (LLVMValueRef[]){ci32(e, l[i].value), ci32(e, l[i].input), cstr(e, l[i].op),
                                 ci32(e, l[i].rank), c_dims(e, l[i].dims), ci64(e, l[i].classes)},
                6);
  return carray(e, e->t.label, v, n, "labels");
}

static LLVMValueRef c_indexes(Em *e, const nnrt_index_site *s, int n, Arena *ar) {
  LLVMValueRef *v = ARENA_ARRAY(ar, LLVMValueRef, (size_t)n + 1);
  for (int i = 0; i < n; i++)
    v[i] = cstruct(e->t.index,
                   (LLVMValueRef[]){ci32(e, s[i].value), ci32(e, s[i].axis), ci32(e, s[i].gradient),
                                    ci64(e, s[i].step), cstr(e, s[i].tensor), cstr(e, s[i].arg)},
                   6);
  return carray(e, e->t.index, v, n, "indexes");
}

static LLVMValueRef c_strings(Em *e, const char *const *s, int n, Arena *ar) {
  LLVMValueRef *v = ARENA_ARRAY(ar, LLVMValueRef, (size_t)n + 1);
  for (int i = 0; i < n; i++)
    v[i] = cstr(e, s[i]);
  return carray(e, e->t.ptr, v, n, "names");
}

static LLVMValueRef c_funcs(Em *e, const nnrt_model_desc *d, LLVMValueRef const *entries,
                            Arena *ar) {
  LLVMValueRef *v = ARENA_ARRAY(ar, LLVMValueRef, (size_t)d->nfuncs + 1);
  for (int i = 0; i < d->nfuncs; i++) {
    const nnrt_func_desc *f = &d->funcs[i];
    LLVMValueRef fields[14] = {cstr(e, f->name),
                               ci32(e, f->ndims),
                               c_strings(e, f->dim_names, f->ndims, ar),
                               ci32(e, f->ninputs),
                               ci32(e, f->nresults),
                               c_args(e, f->inputs, f->ninputs, ar),
                               c_args(e, f->results, f->nresults, ar),
                               ci32(e, f->nbufs),
                               ci32(e, f->nlabels),
                               c_bufs(e, f->bufs, f->nbufs, ar),
                               c_labels(e, f->labels, f->nlabels, ar),
                               entries[i],
                               ci32(e, f->nindexes),
                               c_indexes(e, f->indexes, f->nindexes, ar)};
    v[i] = cstruct(e->t.func, fields, 14);
  }
  return carray(e, e->t.func, v, d->nfuncs, "funcs");
}

/* Weights as bytes, aligned for vector loads. */
static LLVMValueRef c_blob(Em *e, const void *data, size_t bytes, const char *what) {
  if (!data)
    return cnull(e);
  LLVMValueRef g =
      private_global(e, LLVMConstStringInContext(e->c, data, (unsigned)bytes, true), what);
  LLVMSetAlignment(g, 64);
  return g;
}

static LLVMValueRef c_params(Em *e, const nnrt_model_desc *d, Arena *ar) {
  LLVMValueRef *v = ARENA_ARRAY(ar, LLVMValueRef, (size_t)d->nparams + 1);
  for (int i = 0; i < d->nparams; i++) {
    const nnrt_param_desc *p = &d->params[i];
    LLVMValueRef dims[NNRT_MAX_RANK];
    size_t numel = 1;
    for (int j = 0; j < NNRT_MAX_RANK; j++) {
      dims[j] = ci64(e, j < p->rank ? p->dims[j] : 0);
      if (j < p->rank)
        numel *= (size_t)p->dims[j];
    }
    LLVMValueRef fields[9] = {
        cstr(e, p->name),
        ci32(e, p->dtype),
        ci32(e, p->rank),
        LLVMConstArray2(e->t.i64, dims, NNRT_MAX_RANK),
        ci32(e, p->init),
        ci32(e, p->trainable),
        cf64(e, p->a),
        cf64(e, p->b),
        c_blob(e, p->baked, numel * nnrt_dtype_size((nnrt_dtype)p->dtype), "weights")};
    v[i] = cstruct(e->t.param, fields, 9);
  }
  return carray(e, e->t.param, v, d->nparams, "params");
}

static LLVMValueRef c_source(Em *e, const nnrt_source_desc *s, Arena *ar) {
  LLVMValueRef *feats = ARENA_ARRAY(ar, LLVMValueRef, (size_t)s->nfeatures + 1);
  for (int i = 0; i < s->nfeatures && s->features; i++)
    feats[i] = ci32(e, s->features[i]);
  LLVMValueRef fields[15] = {ci32(e, s->kind),
                             cstr(e, s->path),
                             cstr(e, s->path2),
                             ci32(e, s->has_label),
                             ci32(e, s->label),
                             ci32(e, s->header),
                             ci32(e, s->nfeatures),
                             s->features ? carray(e, e->t.i32, feats, s->nfeatures, "features")
                                         : cnull(e),
                             cf64(e, s->scale),
                             ci64(e, s->seq),
                             cstr(e, s->xkey),
                             cstr(e, s->ykey),
                             ci64(e, s->length),
                             ci64(e, s->tau),
                             ci64(e, s->horizon)};
  return cstruct(e->t.source, fields, 15);
}

static LLVMValueRef c_train(Em *e, const nnrt_train_desc *c, Arena *ar) {
  LLVMValueRef image[3] = {ci64(e, c->image[0]), ci64(e, c->image[1]), ci64(e, c->image[2])};
  LLVMValueRef fields[32] = {ci32(e, c->has_data),
                             ci32(e, c->has_train),
                             c_source(e, &c->source, ar),
                             c_source(e, &c->val_source, ar),
                             cf64(e, c->validation),
                             ci64(e, c->batch),
                             ci64(e, c->epochs),
                             ci64(e, (int64_t)c->seed),
                             ci32(e, c->shuffle),
                             ci32(e, c->standardize),
                             ci32(e, c->optim),
                             ci32(e, c->schedule),
                             cf64(e, c->lr),
                             cf64(e, c->beta1),
                             cf64(e, c->beta2),
                             cf64(e, c->gamma),
                             cf64(e, c->min_lr),
                             ci64(e, c->every),
                             ci64(e, c->warmup),
                             ci64(e, c->patience),
                             ci64(e, c->checkpoint_every),
                             LLVMConstArray2(e->t.i64, image, 3),
                             ci64(e, c->random_crop),
                             ci64(e, c->shift),
                             cf64(e, c->hflip),
                             ci32(e, c->fit),
                             cf64(e, c->fit_alpha),
                             ci64(e, c->fit_washout),
                             cstr(e, c->fit_features),
                             cstr(e, c->fit_weight),
                             cstr(e, c->fit_bias),
                             cstr(e, c->step_name)};
  return cstruct(e->t.train, fields, 32);
}

LLVMValueRef aot_desc_emit(LLVMModuleRef mod, LLVMTargetDataRef td, const char *prefix,
                           const nnrt_model_desc *d, LLVMValueRef const *entries,
                           int64_t nfeatures) {
  Em e = {.c = LLVMGetModuleContext(mod), .mod = mod, .td = td, .prefix = prefix};
  make_types(&e);
  check_layout(&e);
  Arena ar;
  arena_init(&ar);
  size_t stat_bytes = (size_t)(nfeatures > 0 ? nfeatures : 0) * sizeof(float);
  LLVMValueRef *resets = ARENA_ARRAY(&ar, LLVMValueRef, (size_t)d->nresets + 1);
  for (int i = 0; i < d->nresets; i++)
    resets[i] = ci32(&e, d->resets[i]);
  LLVMValueRef *carried = ARENA_ARRAY(&ar, LLVMValueRef, (size_t)d->ncarried + 1);
  for (int i = 0; i < d->ncarried; i++)
    carried[i] = ci32(&e, d->carried[i]);
  LLVMValueRef fields[23] = {ci32(&e, d->abi),
                             ci32(&e, (int64_t)LLVMABISizeOfType(td, e.t.model)),
                             cstr(&e, d->name),
                             ci32(&e, d->nparams),
                             ci32(&e, d->nfuncs),
                             c_params(&e, d, &ar),
                             c_funcs(&e, d, entries, &ar),
                             ci32(&e, d->train),
                             ci32(&e, d->eval),
                             ci32(&e, d->predict),
                             ci32(&e, d->nupdated),
                             ci64(&e, d->num_classes),
                             c_train(&e, &d->cfg, &ar),
                             c_blob(&e, d->baked_mean, stat_bytes, "mean"),
                             c_blob(&e, d->baked_std, stat_bytes, "std"),
                             ci32(&e, d->generate),
                             ci32(&e, d->generate_tables),
                             ci32(&e, d->nresets),
                             carray(&e, e.t.i32, resets, d->nresets, "resets"),
                             ci32(&e, d->nvocab),
                             c_blob(&e, d->vocab, (size_t)(d->nvocab > 0 ? d->nvocab : 0), "vocab"),
                             ci32(&e, d->ncarried),
                             carray(&e, e.t.i32, carried, d->ncarried, "carried")};
  char name[256];
  snprintf(name, sizeof name, "%s_desc", prefix);
  LLVMValueRef g = LLVMAddGlobal(mod, e.t.model, name);
  LLVMSetInitializer(g, cstruct(e.t.model, fields, 23));
  LLVMSetGlobalConstant(g, true);
  arena_free(&ar);
  return g;
}
