/* model.c - the nnrt_model handle: checking a descriptor, owning the
 * parameters and statistics, checkpoints, and the calls of nnrt_model.h
 * that take whole batches (predict, train_step, evaluate).
 *
 * Parameters are initialised exactly as `nnc run` always has: one Philox
 * stream seeded with the run's seed, drawn in parameter order, so a handle
 * and a JIT run with the same seed start from the same bits. Baked weights
 * overwrite their parameter after its draws, which keeps every other
 * parameter's draws where they would be without baking.
 */
#include "fileio.h"
#include "model_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char create_err[1024];

int nnrt_model_fail(nnrt_model *m, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nnrt_verrorf(m->err, sizeof m->err, code, "", fmt, ap);
  va_end(ap);
  return code;
}

/* ---- checking a descriptor ---------------------------------------------
 * A descriptor comes from an object file that may have been compiled by
 * another nnc or damaged, so everything the handle later indexes with is
 * checked once here and trusted afterwards. */

typedef struct Check {
  char *err;
  size_t errlen;
} Check;

__attribute__((format(printf, 2, 3))) static int bad(const Check *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nnrt_verrorf(c->err, c->errlen, NNRT_ERR_ARG, "model descriptor: ", fmt, ap);
  va_end(ap);
  return NNRT_ERR_ARG;
}

static bool dtype_ok(int32_t dt) { return dt >= NNRT_F32 && dt <= NNRT_BOOL; }

static bool dim_ok(const nnrt_dim *d, int ndims) {
  if (d->nterms < 0 || d->nterms > NNRT_DIM_TERMS || (d->nterms == 0 && d->constant < 0))
    return false;
  for (int i = 0; i < d->nterms; i++) {
    const nnrt_dim_term *t = &d->terms[i];
    if (t->coeff == 0 || t->nsyms < 1 || t->nsyms > NNRT_DIM_DEGREE)
      return false;
    for (int j = 0; j < t->nsyms; j++)
      if (t->syms[j] < 0 || t->syms[j] >= ndims)
        return false;
  }
  return true;
}

static bool dims_ok(const nnrt_dim *dims, int32_t rank, int ndims) {
  if (rank < 0 || rank > NNRT_MAX_RANK)
    return false;
  for (int i = 0; i < rank; i++)
    if (!dim_ok(&dims[i], ndims))
      return false;
  return true;
}

static int check_args(const Check *c, const nnrt_func_desc *f, const nnrt_arg_desc *as, int n,
                      const char *what) {
  if (n < 0 || (n > 0 && !as))
    return bad(c, "function '%s' has %d %s and no list of them", f->name, n, what);
  for (int i = 0; i < n; i++)
    if (!as[i].name || !dtype_ok(as[i].dtype) || !dims_ok(as[i].dims, as[i].rank, f->ndims))
      return bad(c, "function '%s': %s %d has no name, an unknown dtype or a bad shape", f->name,
                 what, i);
  return NNRT_OK;
}

static int check_plan(const Check *c, const nnrt_func_desc *f) {
  if (f->nbufs < 0 || (f->nbufs > 0 && !f->bufs) || f->nlabels < 0 ||
      (f->nlabels > 0 && !f->labels))
    return bad(c, "function '%s' has a bad buffer or label list", f->name);
  for (int i = 0; i < f->nbufs; i++) {
    const nnrt_buffer_desc *b = &f->bufs[i];
    if (!dim_ok(&b->numel, f->ndims) || b->elem_size < 1 || b->first < 0 || b->first > b->last)
      return bad(c, "function '%s': workspace buffer %d is malformed", f->name, i);
  }
  for (int i = 0; i < f->nlabels; i++) {
    const nnrt_label_site *s = &f->labels[i];
    if (!s->op || s->input < -1 || s->input >= f->ninputs || !dims_ok(s->dims, s->rank, f->ndims))
      return bad(c, "function '%s': label site %d is malformed", f->name, i);
  }
  if (f->nindexes < 0 || (f->nindexes > 0 && !f->indexes))
    return bad(c, "function '%s' has a bad index site list", f->name);
  for (int i = 0; i < f->nindexes; i++)
    if (f->indexes[i].axis < 0 || f->indexes[i].axis >= NNRT_MAX_RANK)
      return bad(c, "function '%s': index site %d is malformed", f->name, i);
  return NNRT_OK;
}

static int check_func(const Check *c, const nnrt_func_desc *f, int index) {
  if (!f->name)
    return bad(c, "function %d has no name", index);
  if (f->ndims < 0 || f->ndims > NNRT_MAX_FUNC_DIMS || (f->ndims > 0 && !f->dim_names))
    return bad(c, "function '%s' has %d run-time dims (at most %d, all named)", f->name, f->ndims,
               NNRT_MAX_FUNC_DIMS);
  for (int i = 0; i < f->ndims; i++)
    if (!f->dim_names[i])
      return bad(c, "function '%s': run-time dim %d has no name", f->name, i);
  int rc = check_args(c, f, f->inputs, f->ninputs, "inputs");
  if (!rc)
    rc = check_args(c, f, f->results, f->nresults, "results");
  return rc ? rc : check_plan(c, f);
}

static bool is_scalar_f32(const nnrt_arg_desc *a) { return a->dtype == NNRT_F32 && a->rank == 0; }

static bool same_constant_shape(const nnrt_arg_desc *a, const nnrt_arg_desc *b) {
  if (a->dtype != b->dtype || a->rank != b->rank)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i].nterms || b->dims[i].nterms || a->dims[i].constant != b->dims[i].constant)
      return false;
  return true;
}

/* The tables function of a generation step: () -> the step's inputs after
 * the token, each of constant shape. */
static int check_generate_tables(const Check *c, const nnrt_model_desc *d) {
  const nnrt_func_desc *step = &d->funcs[d->generate];
  if (d->generate_tables < 0)
    return step->ninputs == 1 ? NNRT_OK
                              : bad(c, "the generation step '%s' takes %d inputs but no tables",
                                    step->name, step->ninputs);
  if (d->generate_tables >= d->nfuncs || d->generate_tables == d->generate)
    return bad(c, "the generation tables are function %d of %d", d->generate_tables, d->nfuncs);
  const nnrt_func_desc *t = &d->funcs[d->generate_tables];
  if (t->ndims || t->ninputs || t->nresults != step->ninputs - 1)
    return bad(c, "the generation tables '%s' are not () -> the %d tables step '%s' takes", t->name,
               step->ninputs - 1, step->name);
  for (int k = 0; k < t->nresults; k++)
    if (!same_constant_shape(&t->results[k], &step->inputs[k + 1]))
      return bad(c, "the generation table %d of '%s' is not the step's input %d", k, t->name,
                 k + 1);
  return NNRT_OK;
}

/* The generation step: (token: i32[1], tables...) -> scores f32[1, V], no
 * run-time dims, its tables, and the states it resets among the
 * parameters. */
static int check_generate(const Check *c, const nnrt_model_desc *d) {
  if (d->generate < -1 || d->generate >= d->nfuncs)
    return bad(c, "the generation step is function %d of %d", d->generate, d->nfuncs);
  if (d->generate < 0 && d->generate_tables != -1)
    return bad(c, "generation tables (function %d) without a generation step", d->generate_tables);
  if (d->generate >= 0) {
    const nnrt_func_desc *f = &d->funcs[d->generate];
    bool one = f->ndims == 0 && f->ninputs >= 1 && f->nresults == 1;
    const nnrt_arg_desc *in = one ? &f->inputs[0] : NULL, *out = one ? &f->results[0] : NULL;
    if (!one || in->dtype != NNRT_I32 || in->rank != 1 || in->dims[0].nterms ||
        in->dims[0].constant != 1 || out->dtype != NNRT_F32 || out->rank != 2 ||
        out->dims[0].nterms || out->dims[0].constant != 1 || out->dims[1].nterms ||
        out->dims[1].constant < 1)
      return bad(c, "the generation step '%s' is not (token: i32[1]) -> f32[1, V]", f->name);
    int rc = check_generate_tables(c, d);
    if (rc)
      return rc;
  }
  if (d->nresets < 0 || (d->nresets > 0 && !d->resets))
    return bad(c, "a bad list of the states generation resets");
  for (int i = 0; i < d->nresets; i++)
    if (d->resets[i] < 0 || d->resets[i] >= d->nparams)
      return bad(c, "generation resets parameter %d of %d", d->resets[i], d->nparams);
  if (d->nvocab < 0 || d->nvocab > NNRT_MAX_VOCAB || (d->nvocab > 0 && !d->vocab))
    return bad(c, "a baked vocabulary of %d bytes", d->nvocab);
  return NNRT_OK;
}

/* tbptt's carried states: parameters that are not trained, written by the
 * eval function too. */
static int check_carried(const Check *c, const nnrt_model_desc *d) {
  if (d->ncarried < 0 || (d->ncarried > 0 && (!d->carried || d->eval < 0)))
    return bad(c, "a bad list of the states tbptt carries");
  for (int i = 0; i < d->ncarried; i++)
    if (d->carried[i] < 0 || d->carried[i] >= d->nparams || d->params[d->carried[i]].trainable)
      return bad(c, "tbptt carries parameter %d of %d, which is not a state", d->carried[i],
                 d->nparams);
  return NNRT_OK;
}

/* What the handle assumes of the functions it calls by role. */
static int check_roles(const Check *c, const nnrt_model_desc *d) {
  int idx[3] = {d->train, d->eval, d->predict};
  const char *role[3] = {"training step", "eval function", "predict function"};
  for (int r = 0; r < 3; r++)
    if (idx[r] < -1 || idx[r] >= d->nfuncs)
      return bad(c, "the %s is function %d of %d", role[r], idx[r], d->nfuncs);
  if (d->train >= 0) {
    const nnrt_func_desc *f = &d->funcs[d->train];
    const nnrt_arg_desc *h = f->ninputs ? &f->inputs[f->ninputs - 1] : NULL;
    if (f->ninputs < 2 || f->ninputs > 3 || h->dtype != NNRT_F32 || h->rank != 1 ||
        h->dims[0].nterms || h->dims[0].constant != 4 || f->nresults < 1 || f->nresults > 2 ||
        !is_scalar_f32(&f->results[0]))
      return bad(c, "the training step '%s' is not (x[, y], hyper: f32[4]) -> (f32[, logits])",
                 f->name);
  }
  if (d->eval >= 0) {
    const nnrt_func_desc *f = &d->funcs[d->eval];
    if (f->ninputs < 1 || f->ninputs > 2 || f->nresults < 1 || f->nresults > 2 ||
        !is_scalar_f32(&f->results[0]))
      return bad(c, "the eval function '%s' is not (x[, y]) -> (f32[, logits])", f->name);
  }
  for (int r = 0; r < 2; r++) {
    const nnrt_func_desc *f = idx[r] >= 0 ? &d->funcs[idx[r]] : NULL;
    if (f && f->nresults == 2 && f->results[1].dtype != NNRT_F32)
      return bad(c, "the logits of '%s' are not f32", f->name);
  }
  if (d->predict >= 0 && (d->funcs[d->predict].ninputs != 1 || d->funcs[d->predict].nresults < 1))
    return bad(c, "the predict function '%s' does not take one input to a result",
               d->funcs[d->predict].name);
  if (d->nupdated < 0 || d->nupdated > d->nparams || d->num_classes < 0)
    return bad(c, "nupdated %d or num_classes %lld out of range", d->nupdated,
               (long long)d->num_classes);
  return NNRT_OK;
}

static int64_t param_numel(const nnrt_param_desc *p) {
  int64_t n = 1;
  for (int i = 0; i < p->rank; i++)
    if (p->dims[i] < 0 || __builtin_mul_overflow(n, p->dims[i], &n))
      return -1;
  return n;
}

static int check_params(const Check *c, const nnrt_model_desc *d) {
  if (d->nparams < 0 || (d->nparams > 0 && !d->params))
    return bad(c, "%d parameters and no list of them", d->nparams);
  for (int i = 0; i < d->nparams; i++) {
    const nnrt_param_desc *p = &d->params[i];
    int64_t n = p->rank >= 0 && p->rank <= NNRT_MAX_RANK ? param_numel(p) : -1;
    int64_t bytes;
    if (!p->name || !dtype_ok(p->dtype) || n < 0 ||
        __builtin_mul_overflow(n, (int64_t)nnrt_dtype_size((nnrt_dtype)p->dtype), &bytes))
      return bad(c, "parameter %d has no name, an unknown dtype or a bad shape", i);
  }
  return NNRT_OK;
}

static int check_desc(const nnrt_model_desc *d, char *err, size_t errlen) {
  Check c = {err, errlen};
  if (!d)
    return bad(&c, "NULL");
  if (d->abi != NNRT_MODEL_ABI)
    return bad(&c, "ABI version %d, but this runtime reads version %d (compiled by another nnc?)",
               d->abi, NNRT_MODEL_ABI);
  if (d->size != (int32_t)sizeof(nnrt_model_desc))
    return bad(&c, "%d bytes, but this runtime's are %d (compiled by another nnc?)", d->size,
               (int)sizeof(nnrt_model_desc));
  if (!d->name)
    return bad(&c, "the model has no name");
  int rc = check_params(&c, d);
  if (rc)
    return rc;
  if (d->nfuncs < 0 || (d->nfuncs > 0 && !d->funcs))
    return bad(&c, "%d functions and no list of them", d->nfuncs);
  for (int i = 0; i < d->nfuncs; i++)
    if ((rc = check_func(&c, &d->funcs[i], i)))
      return rc;
  const nnrt_train_desc *t = &d->cfg;
  bool image_set = t->image[0] || t->image[1] || t->image[2];
  if ((image_set && (t->image[0] < 1 || t->image[1] < 1 || t->image[2] < 1)) ||
      t->random_crop < 0 || t->shift < 0 || !(t->hflip >= 0 && t->hflip <= 1))
    return bad(&c, "the data section's image shape or augmentation is out of range");
  rc = check_roles(&c, d);
  rc = rc ? rc : check_generate(&c, d);
  return rc ? rc : check_carried(&c, d);
}

/* ---- parameters --------------------------------------------------------- */

nnrt_optimizer nnrt_model_optimizer(const nnrt_train_desc *c) {
  return (nnrt_optimizer){.kind = (nnrt_optim_kind)c->optim,
                          .lr = c->lr,
                          .beta1 = c->beta1,
                          .beta2 = c->beta2,
                          .schedule = (nnrt_schedule_kind)c->schedule,
                          .every = c->every,
                          .gamma = c->gamma,
                          .min_lr = c->min_lr,
                          .warmup = c->warmup,
                          .total_steps = c->epochs};
}

/* Zeroed memory on a 64-byte boundary, for a parameter: calloc's 16-byte
 * alignment (its large blocks start 16 bytes into a page) made every
 * 64-byte vector load of a weight matrix straddle two cache lines, and a
 * generator's matrix-vector product over W_hh read it at 94 GB/s instead
 * of 128 (one core of the Xeon of docs/benchmarks.md). */
static void *zeroed_aligned(size_t bytes) {
  size_t size = (bytes + 63) / 64 * 64;
  void *p = size >= bytes ? aligned_alloc(64, size ? size : 64) : NULL;
  if (p)
    memset(p, 0, size ? size : 64);
  return p;
}

static int alloc_params(nnrt_model *m) {
  const nnrt_model_desc *d = m->d;
  for (int i = 0; i < d->nparams; i++) {
    const nnrt_param_desc *p = &d->params[i];
    nnrt_named_tensor *nt = &m->named[i];
    int64_t n = param_numel(p);
    nt->name = p->name;
    nt->t = (nnrt_tensor){.dtype = (nnrt_dtype)p->dtype, .rank = p->rank};
    memcpy(nt->t.dims, p->dims, sizeof(int64_t) * (size_t)p->rank);
    size_t elem = nnrt_dtype_size(nt->t.dtype), count = (size_t)(n ? n : 1);
    nt->t.data = m->params[i] = count <= SIZE_MAX / elem ? zeroed_aligned(count * elem) : NULL;
    if (!nt->t.data)
      return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory for parameter %s", p->name);
  }
  m->nnamed = d->nparams;
  return NNRT_OK;
}

static int init_params(nnrt_model *m, uint64_t seed) {
  const nnrt_model_desc *d = m->d;
  nnrt_rng rng;
  nnrt_rng_seed(&rng, seed);
  for (int i = 0; i < d->nparams; i++) {
    const nnrt_param_desc *p = &d->params[i];
    nnrt_tensor *t = &m->named[i].t;
    char err[512];
    if (nnrt_init_tensor(&rng, (nnrt_init_kind)p->init, p->a, p->b, t, err, sizeof err))
      return nnrt_model_fail(m, NNRT_ERR_ARG, "initialising %s: %s", p->name, err);
    if (p->baked)
      memcpy(t->data, p->baked, (size_t)param_numel(p) * nnrt_dtype_size(t->dtype));
  }
  return NNRT_OK;
}

int nnrt_model_use_stats(nnrt_model *m, int64_t nfeatures) {
  if (m->mean && m->nstats == nfeatures)
    return NNRT_OK;
  if (nfeatures < 0 || nfeatures > INT64_MAX / 8)
    return nnrt_model_fail(m, NNRT_ERR_SHAPE, "standardize: %lld features per sample",
                           (long long)nfeatures);
  float *mean = calloc((size_t)nfeatures + 1, sizeof(float));
  float *std = calloc((size_t)nfeatures + 1, sizeof(float));
  if (!mean || !std) {
    free(mean);
    free(std);
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory for the data statistics");
  }
  free(m->mean);
  free(m->std);
  m->mean = mean;
  m->std = std;
  m->nstats = nfeatures;
  float *stats[2] = {mean, std};
  const char *names[2] = {"data.mean", "data.std"};
  for (int i = 0; i < 2; i++)
    m->named[m->d->nparams + i] = (nnrt_named_tensor){
        names[i], {.dtype = NNRT_F32, .rank = 1, .dims = {nfeatures}, .data = stats[i]}};
  m->nnamed = m->d->nparams + 2;
  return NNRT_OK;
}

int nnrt_model_loss_func(const nnrt_model *m) { return m->d->eval >= 0 ? m->d->eval : m->d->train; }

/* Features per sample that standardize keeps statistics of (and that
 * baked ones have): predict's x, else the loss's; -1 when symbolic (the
 * data decide later). */
static int64_t stats_size(const nnrt_model *m) {
  int fi = m->d->predict >= 0 ? m->d->predict : nnrt_model_loss_func(m);
  return fi >= 0 ? nnrt_arg_sample_numel(&m->d->funcs[fi].inputs[0]) : -1;
}

/* The statistics a fresh model starts with: baked ones, else zeros (which
 * standardise nothing until computed or loaded). */
static void init_stats(nnrt_model *m) {
  if (!m->mean)
    return;
  size_t bytes = sizeof(float) * (size_t)m->nstats;
  bool baked = m->d->baked_mean && m->d->baked_std && m->nstats == stats_size(m);
  if (baked) {
    memcpy(m->mean, m->d->baked_mean, bytes);
    memcpy(m->std, m->d->baked_std, bytes);
  } else {
    memset(m->mean, 0, bytes);
    memset(m->std, 0, bytes);
  }
}

static int alloc_model(nnrt_model *m) {
  const nnrt_model_desc *d = m->d;
  m->params = calloc((size_t)d->nparams + 1, sizeof *m->params);
  m->named = calloc((size_t)d->nparams + 2, sizeof *m->named); /* + data.mean, data.std */
  m->ws = calloc((size_t)d->nfuncs + 1, sizeof *m->ws);
  if (!m->params || !m->named || !m->ws)
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory");
  for (int i = 0; i < d->nfuncs; i++) {
    m->ws[i].dims = malloc(sizeof(int64_t) * ((size_t)d->funcs[i].ndims + 1));
    m->ws[i].offsets = malloc(sizeof(int64_t) * ((size_t)d->funcs[i].nbufs + 1));
    if (!m->ws[i].dims || !m->ws[i].offsets)
      return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory");
  }
  int rc = alloc_params(m);
  int64_t nstats = stats_size(m);
  if (!rc && d->cfg.standardize && nstats >= 0)
    rc = nnrt_model_use_stats(m, nstats);
  return rc;
}

int nnrt_model_create(const nnrt_model_desc *d, nnrt_model **out) {
  create_err[0] = 0;
  if (!out)
    return nnrt_errorf(create_err, sizeof create_err, NNRT_ERR_ARG,
                       "nnrt_model_create: out is NULL");
  *out = NULL;
  int rc = check_desc(d, create_err, sizeof create_err);
  if (rc)
    return rc;
  nnrt_model *m = calloc(1, sizeof *m);
  if (!m)
    return nnrt_errorf(create_err, sizeof create_err, NNRT_ERR_NOMEM, "out of memory");
  m->d = d;
  m->opt = nnrt_model_optimizer(&d->cfg);
  m->seed = m->rng_seed = d->cfg.seed;
  m->raw_input = true;
  if ((rc = alloc_model(m)) || (rc = init_params(m, d->cfg.seed))) {
    snprintf(create_err, sizeof create_err, "%s", m->err);
    nnrt_model_free(m);
    return rc;
  }
  init_stats(m);
  if (d->vocab && nnrt_model_set_vocab(m, d->vocab, d->nvocab)) {
    snprintf(create_err, sizeof create_err, "model descriptor: the baked vocabulary: %.900s",
             m->err);
    nnrt_model_free(m);
    return NNRT_ERR_ARG;
  }
  *out = m;
  return NNRT_OK;
}

const char *nnrt_model_create_error(void) { return create_err; }

void nnrt_model_free(nnrt_model *m) {
  if (!m)
    return;
  for (int i = 0; m->params && i < m->d->nparams; i++)
    free(m->params[i]);
  for (int i = 0; m->ws && i < m->d->nfuncs; i++) {
    free(m->ws[i].dims);
    free(m->ws[i].offsets);
    free(m->ws[i].ws);
  }
  free(m->params);
  free(m->named);
  free(m->ws);
  free(m->mean);
  free(m->std);
  free(m->scratch);
  free(m->xbuf);
  free(m->scores);
  free(m);
}

const char *nnrt_model_error(const nnrt_model *m) {
  return m ? m->err : "no model (the handle is NULL)";
}

const nnrt_model_desc *nnrt_model_descriptor(const nnrt_model *m) { return m ? m->d : NULL; }

int nnrt_model_reset(nnrt_model *m, uint64_t seed) {
  if (!m)
    return NNRT_ERR_ARG;
  int rc = init_params(m, seed);
  if (rc)
    return rc;
  init_stats(m);
  m->seed = m->rng_seed = seed;
  m->steps = m->epoch = m->sched_pos = 0;
  m->has_epoch = false;
  return NNRT_OK;
}

int nnrt_model_init_states(nnrt_model *m, const int32_t *which, int n, uint64_t seed,
                           const char *what) {
  nnrt_rng r;
  nnrt_rng_seed(&r, seed);
  for (int i = 0; i < n; i++) {
    const nnrt_param_desc *pd = &m->d->params[which[i]];
    char err[512];
    if (nnrt_init_tensor(&r, (nnrt_init_kind)pd->init, pd->a, pd->b, &m->named[which[i]].t, err,
                         sizeof err))
      return nnrt_model_fail(m, NNRT_ERR_ARG, "%s: resetting state %s: %s", what, pd->name, err);
  }
  return NNRT_OK;
}

int nnrt_model_reset_carried(nnrt_model *m) {
  if (!m)
    return NNRT_ERR_ARG;
  /* a random initializer draws the same values at every reset */
  return nnrt_model_init_states(m, m->d->carried, m->d->ncarried, m->seed ^ 0xBB67AE8584CAA73Bull,
                                "tbptt");
}

nnrt_model_io nnrt_model_io_for(nnrt_model *m) {
  return (nnrt_model_io){.model_name = m->d->name,
                         .num_classes = m->d->num_classes,
                         .tensors = m->named,
                         .ntensors = m->nnamed};
}

/* ---- checkpoints --------------------------------------------------------- */

static int64_t current_epoch(const nnrt_model *m) { return m->has_epoch ? m->epoch : m->steps; }

/* The vocabulary is read before the tensors and set after them: it is
 * the only part that could fail once they are in, and a failed load must
 * change nothing. */
static int load(nnrt_model *m, const char *path, bool weights_only) {
  if (!m)
    return NNRT_ERR_ARG;
  const char *what = weights_only ? "load_weights" : "load";
  if (!path)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "%s: the path is NULL", what);
  char vocab[NNRT_MAX_VOCAB];
  int64_t nvocab = 0;
  nnrt_model_io io = nnrt_model_io_for(m);
  nnrt_train_state s;
  int rc = nnrt_checkpoint_read_vocab(path, vocab, &nvocab, m->err, sizeof m->err);
  if (!rc)
    rc = weights_only ? nnrt_checkpoint_load_weights(path, &io, m->err, sizeof m->err)
                      : nnrt_checkpoint_load(path, &io, &s, m->err, sizeof m->err);
  if (rc)
    return rc;
  if (nvocab)
    (void)nnrt_model_set_vocab(m, vocab, nvocab); /* distinct bytes: checked when read */
  if (!weights_only) {                            /* training goes on where the checkpoint stands */
    m->steps = s.step;
    m->epoch = s.epoch;
    m->has_epoch = true;
  }
  return NNRT_OK;
}

int nnrt_model_load(nnrt_model *m, const char *path) { return load(m, path, false); }

int nnrt_model_load_weights(nnrt_model *m, const char *path) { return load(m, path, true); }

int nnrt_model_save(nnrt_model *m, const char *path) {
  if (!m)
    return NNRT_ERR_ARG;
  if (!path)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "save: the path is NULL");
  nnrt_model_io io = nnrt_model_io_for(m);
  nnrt_train_state s;
  nnrt_train_state_init(&s, m->seed);
  s.step = m->steps;
  s.epoch = current_epoch(m);
  nnrt_kv vocab;
  int nmeta = nnrt_model_vocab_meta(m, &vocab);
  return nnrt_checkpoint_save(path, &io, &s, nmeta ? &vocab : NULL, nmeta, m->err, sizeof m->err);
}

/* ---- batches ------------------------------------------------------------ */

/* The data section's factor for features (csv and idx sources), or 0. */
static double feature_scale(const nnrt_model *m) {
  const nnrt_train_desc *c = &m->d->cfg;
  bool scaled = c->has_data && (c->source.kind == NNRT_DATA_CSV || c->source.kind == NNRT_DATA_IDX);
  return scaled ? c->source.scale : 0;
}

const void *nnrt_model_input(nnrt_model *m, int fi, int64_t batch, int64_t x_size, const void *x) {
  const nnrt_arg_desc *a = &m->d->funcs[fi].inputs[0];
  if (!m->raw_input)
    return x;
  double scale = feature_scale(m);
  bool standardize = m->mean && x_size == m->nstats;
  if (a->dtype != NNRT_F32 || (scale == 0 && !standardize))
    return x;
  int64_t n;
  if (x_size < 0 || __builtin_mul_overflow(batch, x_size, &n) || n > INT64_MAX / 4)
    return NULL;
  if (n > m->xbuf_elems) {
    free(m->xbuf);
    m->xbuf = malloc(sizeof(float) * (size_t)(n ? n : 1));
    m->xbuf_elems = m->xbuf ? n : 0;
    if (!m->xbuf)
      return NULL;
  }
  const float *in = x;
  for (int64_t i = 0; i < n; i++) /* as the loaders scale: in double, rounded once */
    m->xbuf[i] = scale != 0 ? (float)((double)in[i] * scale) : in[i];
  nnrt_dataset d = {.n = batch, .x_dtype = NNRT_F32, .x_size = x_size, .x = m->xbuf};
  if (standardize)
    nnrt_dataset_normalize(&d, m->mean, m->std);
  return m->xbuf;
}

double nnrt_model_input_scale(const nnrt_model *m) {
  double scale = m ? feature_scale(m) : 0;
  return scale != 0 ? scale : 1;
}

int nnrt_model_input_stats(nnrt_model *m, float *mean, float *std, size_t n) {
  if (!m)
    return NNRT_ERR_ARG;
  if (!m->mean)
    return nnrt_model_fail(m, NNRT_ERR_ARG,
                           "input_stats: model '%s' is not trained with standardize = true",
                           m->d->name);
  if (!mean || !std || n != (size_t)m->nstats)
    return nnrt_model_fail(m, NNRT_ERR_ARG,
                           "input_stats: needs mean and std buffers of %lld floats, got %s%zu",
                           (long long)m->nstats, !mean || !std ? "NULL, " : "", n);
  memcpy(mean, m->mean, sizeof(float) * n);
  memcpy(std, m->std, sizeof(float) * n);
  return NNRT_OK;
}

int nnrt_model_set_input_normalised(nnrt_model *m, int normalised) {
  if (!m)
    return NNRT_ERR_ARG;
  m->raw_input = !normalised;
  return NNRT_OK;
}

/* x of function fi on `batch` samples of the descriptor's shape, as the
 * function takes it; NULL when out of memory. */
static const void *model_x(nnrt_model *m, int fi, int64_t batch, const void *x) {
  return nnrt_model_input(m, fi, batch, nnrt_arg_sample_numel(&m->d->funcs[fi].inputs[0]), x);
}

/* The checks every batch call makes; names the call in messages. */
static int check_batch(nnrt_model *m, const char *call, int fi, const char *role, int64_t batch,
                       const void *x, const void *y, bool needs_y, const void *out) {
  if (fi < 0)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "%s: model '%s' has no %s", call, m->d->name, role);
  if (batch < 1)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "%s: batch %lld (must be >= 1)", call,
                           (long long)batch);
  if (!x || (needs_y && !y) || !out)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "%s: %s is NULL", call,
                           !x              ? "x"
                           : needs_y && !y ? "y"
                                           : "the output");
  return NNRT_OK;
}

int nnrt_model_predict(nnrt_model *m, int64_t batch, const void *x, void *y) {
  if (!m)
    return NNRT_ERR_ARG;
  int fi = m->d->predict;
  int rc = check_batch(m, "predict", fi, "one-input function 'predict' or 'forward'", batch, x,
                       NULL, false, y);
  if (rc)
    return rc;
  const void *in = model_x(m, fi, batch, x);
  if (!in)
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "predict: out of memory");
  int64_t dims[NNRT_MAX_FUNC_DIMS];
  rc = nnrt_model_bind_dims(m, &m->d->funcs[fi], batch, NULL, 0, NULL, 0, dims);
  const void *inputs[1] = {in};
  void *outputs[1] = {y};
  return rc ? rc : nnrt_model_invoke(m, fi, dims, inputs, outputs);
}

static bool takes_y(const nnrt_func_desc *f, bool has_hyper) {
  return f->ninputs == (has_hyper ? 3 : 2);
}

/* A step the compiled code refused (nothing was written): the message says
 * which step and what was not finite. */
static int nonfinite_step(nnrt_model *m, float loss) {
  const char *what = isfinite(loss) ? "the gradient norm is not finite"
                     : isnan(loss)  ? "the loss is nan"
                                    : "the loss is infinite";
  return nnrt_model_fail(m, NNRT_ERR_NONFINITE,
                         "train_step: step %lld: %s; the parameters and optimizer state are "
                         "unchanged (is there a NaN or Inf in x or y?)",
                         (long long)m->steps + 1, what);
}

/* One call of loss function fi on a batch: the training step (with hyper)
 * or the evaluation; the argument checks and messages name `call`. */
static int loss_batch(nnrt_model *m, const char *call, const char *role, int fi, const float *hyper,
                      int64_t batch, const void *x, const void *y, float *l) {
  bool needs_y = fi >= 0 && takes_y(&m->d->funcs[fi], hyper != NULL);
  int rc = check_batch(m, call, fi, role, batch, x, y, needs_y, l);
  if (rc)
    return rc;
  const void *in = model_x(m, fi, batch, x);
  if (!in)
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "%s: out of memory", call);
  return nnrt_model_loss_call(m, fi, batch, NULL, in, y, hyper, l, NULL);
}

/* The rate of the next step: set_lr's; else the train section's schedule
 * over set_schedule's steps, counted from that call (a step schedule by
 * the epoch set_epoch gave, else by those steps); else the base rate. */
static double next_lr(const nnrt_model *m) {
  if (m->fixed_lr > 0)
    return m->fixed_lr;
  if (m->sched_total <= 0)
    return m->opt.lr;
  nnrt_optimizer o = m->opt;
  o.total_steps = m->sched_total;
  return nnrt_optimizer_lr(&o, m->sched_pos + 1, m->has_epoch ? m->epoch : m->sched_pos);
}

double nnrt_model_lr(const nnrt_model *m) { return m && m->d->train >= 0 ? next_lr(m) : -1; }

/* A closed-form fit (fit = ridge) takes no gradient steps: its compiled
 * step would change nothing, so a step is refused rather than faked. */
static int refuse_fit_step(nnrt_model *m, const char *call) {
  return nnrt_model_fail(m, NNRT_ERR_ARG,
                         "%s: model '%s' fits its readout in closed form (fit = ridge in its train "
                         "section), not by gradient steps; run its train command (nnrt_run_train)",
                         call, m->d->name);
}

int nnrt_model_train_step(nnrt_model *m, int64_t batch, const void *x, const void *y, float *loss) {
  if (!m)
    return NNRT_ERR_ARG;
  if (m->d->cfg.fit != NNRT_FIT_NONE)
    return refuse_fit_step(m, "train_step");
  /* the rate as chosen, the bias corrections by the handle's own steps */
  nnrt_optimizer o = {.kind = m->opt.kind,
                      .lr = next_lr(m),
                      .beta1 = m->opt.beta1,
                      .beta2 = m->opt.beta2,
                      .schedule = NNRT_SCHED_CONSTANT};
  float hyper[4], l = NAN;
  nnrt_optimizer_hyper(&o, m->steps + 1, 0, hyper);
  int rc = loss_batch(m, "train_step", "training step", m->d->train, hyper, batch, x, y, &l);
  if (rc == NNRT_ERR_NONFINITE)
    return nonfinite_step(m, l);
  if (rc)
    return rc;
  m->steps++;
  m->sched_pos++;
  if (loss)
    *loss = l;
  return NNRT_OK;
}

int nnrt_model_set_schedule(nnrt_model *m, int64_t total_steps) {
  if (!m)
    return NNRT_ERR_ARG;
  if (total_steps < 0)
    return nnrt_model_fail(m, NNRT_ERR_ARG,
                           "set_schedule: %lld steps (must be > 0, or 0 for the base rate)",
                           (long long)total_steps);
  m->sched_total = total_steps;
  m->sched_pos = 0;
  return NNRT_OK;
}

int nnrt_model_evaluate(nnrt_model *m, int64_t batch, const void *x, const void *y, float *loss) {
  if (!m)
    return NNRT_ERR_ARG;
  float l = 0;
  int rc = loss_batch(m, "evaluate", "eval function", m->d->eval, NULL, batch, x, y, &l);
  if (!rc && loss)
    *loss = l;
  return rc;
}

int nnrt_model_set_lr(nnrt_model *m, double lr) {
  if (!m)
    return NNRT_ERR_ARG;
  if (!(lr >= 0) || !isfinite(lr))
    return nnrt_model_fail(m, NNRT_ERR_ARG, "set_lr: %g (must be > 0, or 0 for the schedule)", lr);
  m->fixed_lr = lr;
  return NNRT_OK;
}

int nnrt_model_set_epoch(nnrt_model *m, int64_t epoch) {
  if (!m)
    return NNRT_ERR_ARG;
  if (epoch < 0)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "set_epoch: %lld (must be >= 0)", (long long)epoch);
  m->epoch = epoch;
  m->has_epoch = true;
  return NNRT_OK;
}

int64_t nnrt_model_steps(const nnrt_model *m) { return m ? m->steps : -1; }

int64_t nnrt_model_epoch(const nnrt_model *m) { return m ? current_epoch(m) : -1; }

int nnrt_model_hyper(nnrt_model *m, int64_t total_steps, int64_t epoch, float hyper[4]) {
  if (!m)
    return NNRT_ERR_ARG;
  if (total_steps < 0 || epoch < 0 || !hyper)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "hyper: %s",
                           total_steps < 0 ? "total_steps is negative"
                           : epoch < 0     ? "epoch is negative"
                                           : "hyper is NULL");
  nnrt_optimizer o = m->opt;
  o.total_steps = total_steps;
  nnrt_optimizer_hyper(&o, m->steps + 1, epoch, hyper);
  return NNRT_OK;
}

int nnrt_model_train_step_hyper(nnrt_model *m, int64_t batch, const nnrt_dataset *shape,
                                const void *x, const void *y, const float hyper[4], float *loss) {
  if (!m)
    return NNRT_ERR_ARG;
  const char *call = "train_step_hyper";
  if (m->d->cfg.fit != NNRT_FIT_NONE)
    return refuse_fit_step(m, call);
  int fi = m->d->train;
  float l = NAN;
  int rc = check_batch(m, call, fi, "training step", batch, x, y,
                       fi >= 0 && takes_y(&m->d->funcs[fi], true), &l);
  if (!rc && !hyper)
    rc = nnrt_model_fail(m, NNRT_ERR_ARG, "%s: hyper is NULL", call);
  if (!rc)
    rc = nnrt_model_loss_call(m, fi, batch, shape, x, y, hyper, &l, NULL);
  if (rc)
    return rc;
  m->steps++;
  if (loss)
    *loss = l;
  return NNRT_OK;
}

int nnrt_model_set_seed(nnrt_model *m, uint64_t seed) {
  if (!m)
    return NNRT_ERR_ARG;
  m->rng_seed = seed;
  return NNRT_OK;
}

/* ---- lookups ------------------------------------------------------------- */

int nnrt_model_find_func(const nnrt_model *m, const char *name) {
  for (int i = 0; m && name && i < m->d->nfuncs; i++)
    if (!strcmp(m->d->funcs[i].name, name))
      return i;
  return -1;
}

int nnrt_model_find_param(const nnrt_model *m, const char *name) {
  for (int i = 0; m && name && i < m->d->nparams; i++)
    if (!strcmp(m->d->params[i].name, name))
      return i;
  return -1;
}

int64_t nnrt_model_param_bytes(const nnrt_model *m, int index) {
  if (!m || index < 0 || index >= m->d->nparams)
    return -1;
  const nnrt_param_desc *p = &m->d->params[index];
  return param_numel(p) * (int64_t)nnrt_dtype_size((nnrt_dtype)p->dtype);
}

/* The index of parameter `name` for a copy of `bytes` bytes through buf. */
static int param_for_copy(nnrt_model *m, const char *call, const char *name, const void *buf,
                          size_t bytes) {
  if (!name || !buf)
    return -nnrt_model_fail(m, NNRT_ERR_ARG, "%s: %s is NULL", call, name ? "the buffer" : "name");
  int i = nnrt_model_find_param(m, name);
  if (i < 0)
    return -nnrt_model_fail(m, NNRT_ERR_ARG, "%s: model '%s' has no parameter '%s'", call,
                            m->d->name, name);
  int64_t want = nnrt_model_param_bytes(m, i);
  if ((uint64_t)want != (uint64_t)bytes)
    return -nnrt_model_fail(m, NNRT_ERR_SHAPE, "%s: parameter '%s' has %lld bytes, not %zu", call,
                            name, (long long)want, bytes);
  return i;
}

int nnrt_model_get_param(nnrt_model *m, const char *name, void *dst, size_t bytes) {
  if (!m)
    return NNRT_ERR_ARG;
  int i = param_for_copy(m, "get_param", name, dst, bytes);
  if (i < 0)
    return -i;
  memcpy(dst, m->params[i], bytes);
  return NNRT_OK;
}

int nnrt_model_set_param(nnrt_model *m, const char *name, const void *src, size_t bytes) {
  if (!m)
    return NNRT_ERR_ARG;
  int i = param_for_copy(m, "set_param", name, src, bytes);
  if (i < 0)
    return -i;
  memcpy(m->params[i], src, bytes);
  return NNRT_OK;
}

void *nnrt_model_param_data(nnrt_model *m, int index) {
  return m && index >= 0 && index < m->d->nparams ? m->params[index] : NULL;
}

static int64_t result_sample_numel(const nnrt_model *m, int fi) {
  return fi >= 0 ? nnrt_arg_sample_numel(&m->d->funcs[fi].results[0]) : -1;
}

int64_t nnrt_model_input_size(const nnrt_model *m) {
  return m && m->d->predict >= 0 ? nnrt_arg_sample_numel(&m->d->funcs[m->d->predict].inputs[0])
                                 : -1;
}

int64_t nnrt_model_output_size(const nnrt_model *m) {
  return m ? result_sample_numel(m, m->d->predict) : -1;
}

int64_t nnrt_model_label_size(const nnrt_model *m) {
  if (!m)
    return -1;
  /* a closed-form fit has no step; its loss takes the same targets */
  int fi = m->d->train >= 0 ? m->d->train : m->d->cfg.fit != NNRT_FIT_NONE ? m->d->eval : -1;
  if (fi < 0)
    return -1;
  const nnrt_func_desc *f = &m->d->funcs[fi];
  return takes_y(f, fi == m->d->train) ? nnrt_arg_sample_numel(&f->inputs[1]) : 0;
}
