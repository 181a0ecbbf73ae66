/* gradcheck.c - central finite differences against the derived gradients
 * (see gradcheck.h). Both sides run the JIT-compiled code, so this checks
 * the gradient rules, autodiff, fusion and code generation together. */
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "callbuf.h"
#include "nnrt.h"
#include "pipeline.h"

GradcheckOptions gradcheck_default_options(void) {
  return (GradcheckOptions){.eps = 1e-6,
                            .rtol = 1e-3,
                            .atol = 1e-5,
                            .seed = 0,
                            .max_elems = 1 << 14,
                            .default_dim = 3,
                            .codegen = pipeline_default_options()};
}

/* One function under test and everything needed to call it. */
typedef struct Case {
  IrModule *m;
  IrFunc *f, *df;
  JitFunc *jf, *jdf;
  int64_t *dims;     /* f->dim_syms values */
  void **inputs;     /* f's inputs, then the seed when the result is a tensor */
  void **params;     /* every module parameter */
  void **outs;       /* f's result */
  void **douts;      /* df's results */
  double *cotangent; /* the seed r, or NULL for a scalar result */
  int64_t result_n;
  nnrt_rng rng;
} Case;

static int64_t numel(const Case *c, const TType *t) { return callbuf_numel(c->f, c->dims, t); }

static void *alloc_tensor(Arena *a, const Case *c, const TType *t) {
  return callbuf_alloc(a, c->f, c->dims, t);
}

static bool bind_dims(Case *c, const GradcheckOptions *o, FILE *out) {
  int bad = callbuf_bind_dims(c->m, c->f, o->dim_names, o->dim_values, o->ndim_bindings,
                              o->default_dim, c->dims);
  if (bad >= 0)
    fprintf(out, "gradcheck: dimension %s must be at least 1\n",
            c->m->syms->syms[c->f->dim_syms[bad]].name);
  return bad < 0;
}

/* Parameters are drawn rather than initialised (zeros would hide errors),
 * from N(0, 1/fan_in) for a matrix, fan_in being all axes but the last as
 * the layers use them (x @ W): N(0, 1) weights push a few layers' logits
 * to hundreds, where softmax saturates and every gradient underflows, and
 * the check would pass on nothing. */
static void fill_param(Case *c, const TType *t, double *x) {
  int64_t n = numel(c, t);
  callbuf_fill_random(&c->rng, t->dtype, x, n, 4);
  if (t->rank < 2 || t->dtype != DT_F64)
    return;
  int64_t last = callbuf_dim(c->f, c->dims, t->dims[t->rank - 1]);
  double scale = 1 / sqrt((double)(last ? n / last : 1));
  for (int64_t i = 0; i < n; i++)
    x[i] *= scale;
}

/* Inputs, parameters and the seed drawn from the generator, in a fixed
 * order so that a seed reproduces a run. */
static void make_data(Arena *a, Case *c) {
  int nin = c->f->ninputs;
  c->inputs = ARENA_ARRAY(a, void *, (size_t)nin + 1);
  for (int i = 0; i < nin; i++) {
    const IrValue *x = c->f->inputs[i];
    c->inputs[i] = alloc_tensor(a, c, &x->type);
    callbuf_fill_random(&c->rng, x->type.dtype, c->inputs[i], numel(c, &x->type),
                        callbuf_label_range(c->f, x, 4));
  }
  c->params = ARENA_ARRAY(a, void *, (size_t)c->m->nparams + 1);
  for (int i = 0; i < c->m->nparams; i++) {
    const IrParam *p = c->m->params[i];
    c->params[i] = alloc_tensor(a, c, &p->type);
    fill_param(c, &p->type, c->params[i]);
  }
  const TType *rt = &c->f->result->type;
  c->result_n = numel(c, rt);
  c->outs = ARENA_ARRAY(a, void *, 1);
  c->outs[0] = alloc_tensor(a, c, rt);
  if (rt->rank > 0) {
    c->cotangent = alloc_tensor(a, c, rt);
    callbuf_fill_random(&c->rng, rt->dtype, c->cotangent, c->result_n, 4);
    c->inputs[nin] = c->cotangent;
  }
  c->douts = ARENA_ARRAY(a, void *, (size_t)c->df->nresults);
  for (int i = 0; i < c->df->nresults; i++)
    c->douts[i] = alloc_tensor(a, c, &c->df->results[i]->type);
}

/* L = f(x) for a scalar result, else sum(f(x) * r). */
static bool eval_objective(Case *c, double *l, FILE *out) {
  char err[512];
  if (jit_call(c->jf, c->dims, c->inputs, c->params, c->outs, err, sizeof err)) {
    fprintf(out, "gradcheck: %s: %s\n", c->f->name, err);
    return false;
  }
  const double *y = c->outs[0];
  if (!c->cotangent) {
    *l = y[0];
    return true;
  }
  double s = 0;
  for (int64_t i = 0; i < c->result_n; i++)
    s += y[i] * c->cotangent[i];
  *l = s;
  return true;
}

/* Which tensor a derived result differentiates: a parameter or an input. */
static double *wrt_data(Case *c, const char *result_name) {
  const char *name = result_name + 2; /* "d." */
  for (int i = 0; i < c->m->nparams; i++)
    if (!strcmp(c->m->params[i]->name, name))
      return c->params[i];
  for (int i = 0; i < c->f->ninputs; i++)
    if (!strcmp(c->f->input_names[i], name))
      return c->inputs[i];
  return NULL;
}

typedef struct TensorReport {
  int64_t checked, failed;
  double max_abs, max_rel;
  double max_grad; /* the largest |analytic| or |numeric| seen */
  int64_t worst;   /* the element shown: the largest error, failures first */
  bool worst_failed;
  double worst_err, worst_analytic, worst_numeric;
} TensorReport;

static bool check_element(Case *c, const GradcheckOptions *o, double *x, int64_t i, double analytic,
                          TensorReport *r, FILE *out) {
  double saved = x[i], lp, lm;
  x[i] = saved + o->eps;
  bool ok = eval_objective(c, &lp, out);
  x[i] = saved - o->eps;
  ok = ok && eval_objective(c, &lm, out);
  x[i] = saved;
  if (!ok)
    return false;
  double numeric = (lp - lm) / (2 * o->eps);
  double abs_err = fabs(analytic - numeric);
  /* Relative to the gradient's size, but not below atol: near zero the
   * ratio of two rounding errors says nothing. */
  double size = fmax(fabs(analytic), fabs(numeric));
  double rel_err = abs_err / fmax(size, o->atol);
  bool bad = !(abs_err <= o->atol + o->rtol * fabs(numeric)); /* NaN fails */
  r->checked++;
  if (bad)
    r->failed++;
  bool worse = bad ? !r->worst_failed || !(abs_err <= r->worst_err)
                   : !r->worst_failed && abs_err > r->worst_err;
  if (worse || r->worst < 0) {
    r->worst = i;
    r->worst_failed = bad;
    r->worst_err = abs_err;
    r->worst_analytic = analytic;
    r->worst_numeric = numeric;
  }
  r->max_abs = fmax(r->max_abs, abs_err);
  r->max_rel = fmax(r->max_rel, rel_err);
  r->max_grad = fmax(r->max_grad, size);
  return true;
}

/* A tensor whose every gradient, derived and numeric, is within atol of 0
 * passes whatever the derivative is: it checks nothing. */
static bool is_inconclusive(const TensorReport *r, const GradcheckOptions *o) {
  return !r->failed && r->max_grad <= o->atol;
}

static const char *verdict(const TensorReport *r, const GradcheckOptions *o) {
  return r->failed ? "FAILED" : is_inconclusive(r, o) ? "inconclusive" : "ok";
}

/* 1 when the tensor failed; *inconclusive set when it checked nothing. */
static int check_tensor(Case *c, const GradcheckOptions *o, int k, bool *inconclusive, FILE *out) {
  const IrValue *g = c->df->results[k];
  const char *name = c->df->result_names[k];
  double *x = wrt_data(c, name);
  if (!x) {
    fprintf(out, "gradcheck: %s: no tensor for result %s\n", c->f->name, name);
    return 1;
  }
  const double *analytic = c->douts[k];
  int64_t n = numel(c, &g->type);
  TensorReport r = {.worst = -1};
  bool sample = n > o->max_elems;
  int64_t count = sample ? o->max_elems : n;
  for (int64_t j = 0; j < count; j++) {
    int64_t i = sample ? (int64_t)nnrt_rng_below(&c->rng, (uint64_t)n) : j;
    if (!check_element(c, o, x, i, analytic[i], &r, out))
      return 1;
  }
  Arena tmp;
  arena_init(&tmp);
  fprintf(out, "  %-24s %-18s %6lld checked  max abs err %.2e  max rel err %.2e  %s\n", name,
          ttype_str(&tmp, c->m->syms, &g->type), (long long)r.checked, r.max_abs, r.max_rel,
          verdict(&r, o));
  if (r.failed)
    fprintf(out,
            "    %lld elements out of tolerance; e.g. element %lld: analytic %.10g, numeric "
            "%.10g\n",
            (long long)r.failed, (long long)r.worst, r.worst_analytic, r.worst_numeric);
  if (is_inconclusive(&r, o))
    fprintf(out, "    every gradient is below atol %.0e: nothing was checked\n", o->atol);
  arena_free(&tmp);
  *inconclusive = is_inconclusive(&r, o);
  return r.failed ? 1 : 0;
}

static int check_function(Arena *a, Jit *jit, IrModule *m, IrFunc *f, const GradcheckOptions *o,
                          FILE *out) {
  char err[512];
  if (f->training)
    f = f->training; /* gradients as the training step takes them: dropout active */
  Case c = {.m = m, .f = f};
  nnrt_rng_seed(&c.rng, o->seed);
  c.df = pipeline_derive(a, m, f, &(AdOptions){.wrt_inputs = true}, err, sizeof err);
  if (!c.df) {
    fprintf(out, "gradcheck: %s\n", err);
    return 1;
  }
  c.dims = ARENA_ARRAY(a, int64_t, (size_t)f->ndims + 1);
  if (!bind_dims(&c, o, out))
    return 1;
  c.jf = jit_compile(jit, m, f, &o->codegen, err, sizeof err);
  if (c.jf)
    c.jdf = jit_compile(jit, m, c.df, &o->codegen, err, sizeof err);
  if (!c.jf || !c.jdf) {
    fprintf(out, "gradcheck: %s: %s\n", f->name, err);
    return 1;
  }
  jit_func_set_rng(c.jf, o->seed, 0); /* fixed random ops: differences see the same mask */
  jit_func_set_rng(c.jdf, o->seed, 0);
  make_data(a, &c);
  if (jit_call(c.jdf, c.dims, c.inputs, c.params, c.douts, err, sizeof err)) {
    fprintf(out, "gradcheck: %s: %s\n", c.df->name, err);
    return 1;
  }
  fprintf(out, "%s:\n", f->name);
  int failures = 0, inconclusive = 0;
  for (int k = 1; k < c.df->nresults; k++) {
    bool none = false;
    failures += check_tensor(&c, o, k, &none, out);
    inconclusive += none;
  }
  /* One tensor with no gradient can be the model's (an unused input); a
   * function with none at all is a check that did not happen. */
  if (!failures && inconclusive == c.df->nresults - 1) {
    fprintf(out,
            "  %s: inconclusive: no gradient above atol at these inputs (try --seed or "
            "--dim)\n",
            f->name);
    return 1;
  }
  return failures;
}

/* A function of several results (a tuple) is checked where it is used: a
 * caller that reduces them to one. */
static bool is_checkable(const IrFunc *f) {
  return f->result && f->nresults == 1 && dtype_is_float(f->result->type.dtype) &&
         !strchr(f->name, '.');
}

int gradcheck_module(Arena *a, IrModule *m, const GradcheckOptions *o, FILE *out) {
  char err[512];
  Jit *jit = jit_new(err, sizeof err);
  if (!jit) {
    fprintf(out, "gradcheck: %s\n", err);
    return 1;
  }
  int failures = 0, checked = 0, nfuncs = m->nfuncs;
  for (int i = 0; i < nfuncs; i++) {
    IrFunc *f = m->funcs[i];
    if (!is_checkable(f) || (o->fn && strcmp(o->fn, f->name)))
      continue;
    checked++;
    failures += check_function(a, jit, m, f, o, out);
  }
  jit_free(jit);
  if (o->fn && !checked) {
    fprintf(out, "gradcheck: model %s has no function '%s' with a floating-point result\n", m->name,
            o->fn);
    return 1;
  }
  fprintf(out, "gradcheck: %d function%s, %d failure%s\n", checked, checked == 1 ? "" : "s",
          failures, failures == 1 ? "" : "s");
  return failures;
}
