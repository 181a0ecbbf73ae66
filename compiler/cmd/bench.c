/* bench.c - see bench.h. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callbuf.h"
#include "pipeline.h"

BenchOptions bench_default_options(void) {
  return (BenchOptions){.forward = "forward",
                        .loss = "loss",
                        .runs = 50,
                        .warmup = 5,
                        .codegen = pipeline_default_options()};
}

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A compiled function with random arguments, ready to be called. */
typedef struct Timed {
  IrFunc *f;
  JitFunc *jf;
  int64_t *dims;
  void **inputs, **outputs;
} Timed;

static bool bind_dims(const IrModule *m, Timed *t, const BenchOptions *o, FILE *out) {
  int bad = callbuf_bind_dims(m, t->f, o->dim_names, o->dim_values, o->ndim_bindings, 0, t->dims);
  if (bad >= 0) {
    const char *name = m->syms->syms[t->f->dim_syms[bad]].name;
    fprintf(out, "bench: give the dimension %s with --dim %s=N\n", name, name);
  }
  return bad < 0;
}

static bool prepare(Arena *a, Jit *jit, IrModule *m, IrFunc *f, const BenchOptions *o,
                    nnrt_rng *rng, Timed *t, FILE *out) {
  char err[512];
  t->f = f;
  t->dims = ARENA_ARRAY(a, int64_t, (size_t)f->ndims + 1);
  if (!bind_dims(m, t, o, out))
    return false;
  t->jf = jit_compile(jit, m, f, &o->codegen, err, sizeof err);
  if (!t->jf) {
    fprintf(out, "bench: %s: %s\n", f->name, err);
    return false;
  }
  t->inputs = ARENA_ARRAY(a, void *, (size_t)f->ninputs + 1);
  for (int i = 0; i < f->ninputs; i++) {
    const IrValue *x = f->inputs[i];
    t->inputs[i] = callbuf_alloc(a, f, t->dims, &x->type);
    callbuf_fill_random(rng, x->type.dtype, t->inputs[i], callbuf_numel(f, t->dims, &x->type),
                        callbuf_label_range(f, x, 2));
  }
  t->outputs = ARENA_ARRAY(a, void *, (size_t)f->nresults + 1);
  for (int i = 0; i < f->nresults; i++)
    t->outputs[i] = callbuf_alloc(a, f, t->dims, &f->results[i]->type);
  return true;
}

/* Median seconds per call over o->runs timed calls after o->warmup. */
static bool time_calls(const Timed *t, void **params, const BenchOptions *o, double *median,
                       double *best, FILE *out) {
  char err[512];
  double *secs = calloc((size_t)o->runs, sizeof *secs);
  if (!secs)
    arena_fatal("out of memory");
  bool ok = true;
  for (int i = 0; ok && i < o->warmup + o->runs; i++) {
    double t0 = bench_now();
    ok = jit_call(t->jf, t->dims, t->inputs, params, t->outputs, err, sizeof err) == 0;
    if (i >= o->warmup)
      secs[i - o->warmup] = bench_now() - t0;
  }
  if (!ok)
    fprintf(out, "bench: %s: %s\n", t->f->name, err);
  qsort(secs, (size_t)o->runs, sizeof *secs, cmp_double);
  *median = secs[o->runs / 2];
  *best = secs[0];
  free(secs);
  return ok;
}

static void **random_params(Arena *a, const IrModule *m, const IrFunc *f, nnrt_rng *rng) {
  void **params = ARENA_ARRAY(a, void *, (size_t)m->nparams + 1);
  for (int i = 0; i < m->nparams; i++) {
    const TType *t = &m->params[i]->type;
    params[i] = callbuf_alloc(a, f, NULL, t);
    callbuf_fill_random(rng, t->dtype, params[i], callbuf_numel(f, NULL, t), 2);
    if (dtype_is_float(t->dtype)) /* keep activations in a sane range */
      for (int64_t k = 0, n = callbuf_numel(f, NULL, t); k < n; k++) {
        if (t->dtype == DT_F32)
          ((float *)params[i])[k] *= 0.05f;
        else
          ((double *)params[i])[k] *= 0.05;
      }
  }
  return params;
}

int bench_module(Arena *a, IrModule *m, const BenchOptions *o, FILE *out) {
  IrFunc *fwd = ir_module_func(m, o->forward), *loss = ir_module_func(m, o->loss);
  if (!fwd || !loss) {
    fprintf(out, "bench: model %s has no function '%s'\n", m->name, fwd ? o->loss : o->forward);
    return 1;
  }
  char err[512];
  /* as the training step differentiates it: batch norm on the batch's
     statistics, dropout on (not the inference lowering) */
  IrFunc *step = pipeline_derive(a, m, loss->training ? loss->training : loss, &(AdOptions){0}, err,
                                 sizeof err);
  if (!step) {
    fprintf(out, "bench: %s\n", err);
    return 1;
  }
  Jit *jit = jit_new(err, sizeof err);
  if (!jit) {
    fprintf(out, "bench: %s\n", err);
    return 1;
  }
  nnrt_rng rng;
  nnrt_rng_seed(&rng, 42);
  Timed tf, ts;
  double t0 = bench_now();
  bool ok =
      prepare(a, jit, m, fwd, o, &rng, &tf, out) && prepare(a, jit, m, step, o, &rng, &ts, out);
  double codegen_seconds = bench_now() - t0;
  double fwd_med = 0, fwd_min = 0, step_med = 0, step_min = 0;
  if (ok) {
    void **params = random_params(a, m, fwd, &rng);
    ok = time_calls(&tf, params, o, &fwd_med, &fwd_min, out) &&
         time_calls(&ts, params, o, &step_med, &step_min, out);
  }
  if (ok) {
    fprintf(out, "compile: %.3f s (front end %.4f s, code generation %.3f s)\n",
            o->frontend_seconds + codegen_seconds, o->frontend_seconds, codegen_seconds);
    fprintf(out, "threads: %d\n", nnrt_get_threads());
    fprintf(out, "forward:    median %.4f ms, min %.4f ms (%d runs)\n", fwd_med * 1e3,
            fwd_min * 1e3, o->runs);
    fprintf(out, "train step: median %.4f ms, min %.4f ms (%d runs)\n", step_med * 1e3,
            step_min * 1e3, o->runs);
    fprintf(out,
            "bench-json: {\"threads\": %d, \"compile_s\": %.6f, \"forward_ms\": %.6f, "
            "\"step_ms\": %.6f, \"forward_min_ms\": %.6f, \"step_min_ms\": %.6f}\n",
            nnrt_get_threads(), o->frontend_seconds + codegen_seconds, fwd_med * 1e3,
            step_med * 1e3, fwd_min * 1e3, step_min * 1e3);
  }
  jit_free(jit);
  return ok ? 0 : 1;
}
