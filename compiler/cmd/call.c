/* call.c - `nnc call`: JIT-compiles one function of a model and runs it on
 * .npy arguments, with parameters read from .npy files or drawn from their
 * initialisers, and prints or writes its results. */
#include "call.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "jit.h"
#include "nnrt.h"
#include "pipeline.h"

enum { MAX_DIMS = 32 }; /* the --dim bindings; a function has up to MAX_DIMS + 64 dims */

void call_no_such_function(const IrModule *m, const char *name) {
  fprintf(stderr, "nnc: error: model %s has no function '%s' (it has:", m->name, name);
  for (int i = 0; i < m->nfuncs; i++)
    fprintf(stderr, "%s %s", i ? "," : "", m->funcs[i]->name);
  fputs(")\n", stderr);
}

typedef struct CallState {
  const IrModule *m;
  const IrFunc *f;
  int64_t dims[MAX_DIMS + 64];
  int bound_by[MAX_DIMS + 64]; /* argument that bound each dim, -1 */
  int bound_axis[MAX_DIMS + 64];
  nnrt_tensor *in, *params, *outs;
} CallState;

static const char *npy_dtype_name(nnrt_dtype dt) {
  switch (dt) {
  case NNRT_F32:
    return "float32";
  case NNRT_F64:
    return "float64";
  case NNRT_I32:
    return "int32";
  case NNRT_BOOL:
    return "bool";
  }
  return "?";
}

static void shape_text(char *buf, size_t n, const nnrt_tensor *t) {
  size_t k = (size_t)snprintf(buf, n, "(");
  for (int i = 0; i < t->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  if (k < n)
    snprintf(buf + k, n - k, t->rank == 1 ? ",)" : ")");
}

static void arg_error(const CallState *s, int i, const nnrt_tensor *t, const char *why) {
  Arena a;
  arena_init(&a);
  char shape[256];
  shape_text(shape, sizeof shape, t);
  const char *dt = npy_dtype_name(t->dtype);
  fprintf(stderr,
          "nnc: error: argument %d ('%s') of %s: expected %s, got %s %s array of shape %s%s%s\n",
          i + 1, s->f->input_names[i], s->f->name,
          ttype_str(&a, s->m->syms, &s->f->inputs[i]->type), dt[0] == 'i' ? "an" : "a", dt, shape,
          why ? ": " : "", why ? why : "");
  arena_free(&a);
}

/* Binds every plain symbolic dim (B) of the arguments from their shapes. */
static bool bind_arg_dims(CallState *s) {
  const IrFunc *f = s->f;
  for (int i = 0; i < f->ninputs; i++) {
    const TType *t = &f->inputs[i]->type;
    for (int a = 0; a < t->rank; a++) {
      Dim d = t->dims[a];
      if (d.nsyms != 1 || d.coeff != 1)
        continue;
      int k = ir_func_dim_index(f, d.syms[0]);
      if (k >= 0 && s->bound_by[k] < 0) {
        s->dims[k] = s->in[i].dims[a];
        s->bound_by[k] = i;
        s->bound_axis[k] = a;
      }
    }
  }
  for (int k = 0; k < f->ndims; k++)
    if (s->bound_by[k] < 0) {
      fprintf(stderr, "nnc: error: the arguments of %s do not determine dimension %s\n", f->name,
              s->m->syms->syms[f->dim_syms[k]].name);
      return false;
    }
  return true;
}

/* Every argument's shape against its declared type, dims bound. */
static bool check_arg_dims(CallState *s) {
  const IrFunc *f = s->f;
  Arena a;
  arena_init(&a);
  bool ok = true;
  for (int i = 0; i < f->ninputs && ok; i++) {
    const TType *t = &f->inputs[i]->type;
    for (int ax = 0; ax < t->rank && ok; ax++) {
      bool fits = true;
      int64_t want = memplan_dim_value(t->dims[ax], f, s->dims, &fits);
      if (fits && want == s->in[i].dims[ax])
        continue;
      ok = false;
      char why[256];
      const Dim *d = &t->dims[ax];
      int k = d->nsyms == 1 && d->coeff == 1 ? ir_func_dim_index(f, d->syms[0]) : -1;
      if (k >= 0)
        snprintf(why, sizeof why,
                 "dimension %d is %lld but %s = %lld (from argument %d '%s', dimension %d)", ax,
                 (long long)s->in[i].dims[ax], dim_str(&a, s->m->syms, *d), (long long)want,
                 s->bound_by[k] + 1, f->input_names[s->bound_by[k]], s->bound_axis[k]);
      else if (dim_is_const(*d))
        snprintf(why, sizeof why, "dimension %d is %lld, expected %lld", ax,
                 (long long)s->in[i].dims[ax], (long long)want);
      else
        snprintf(why, sizeof why, "dimension %d is %lld, expected %s = %lld", ax,
                 (long long)s->in[i].dims[ax], dim_str(&a, s->m->syms, *d), (long long)want);
      arg_error(s, i, &s->in[i], why);
    }
  }
  arena_free(&a);
  return ok;
}

static bool read_args(CallState *s, const char *const *paths) {
  const IrFunc *f = s->f;
  char err[512];
  for (int i = 0; i < f->ninputs; i++) {
    if (nnrt_npy_read(paths[i], &s->in[i], err, sizeof err)) {
      fprintf(stderr, "nnc: error: argument %d ('%s') of %s: %s\n", i + 1, f->input_names[i],
              f->name, err);
      return false;
    }
    const TType *t = &f->inputs[i]->type;
    if ((int)s->in[i].dtype != (int)t->dtype || s->in[i].rank != t->rank) {
      arg_error(s, i, &s->in[i], NULL);
      return false;
    }
  }
  return bind_arg_dims(s) && check_arg_dims(s);
}

static bool alloc_tensor(nnrt_tensor *t, DType dt, const TType *type, const IrFunc *f,
                         const int64_t *dims) {
  t->dtype = (nnrt_dtype)dt;
  t->rank = type->rank;
  int64_t n = 1;
  bool ok = true;
  for (int i = 0; i < type->rank; i++) {
    t->dims[i] = memplan_dim_value(type->dims[i], f, dims, &ok);
    ok &= !__builtin_mul_overflow(n, t->dims[i], &n);
  }
  int64_t bytes;
  ok &= !__builtin_mul_overflow(n, dtype_size(dt), &bytes);
  t->data = ok ? calloc(1, (size_t)bytes + 1) : NULL;
  if (!t->data)
    fprintf(stderr, "nnc: error: out of memory for a tensor of %lld elements\n", (long long)n);
  return t->data != NULL;
}

/* f32 parameters serve a model run in f64 (--dtype=f64): widening is exact. */
static void widen_f32(nnrt_tensor *t, nnrt_dtype want) {
  int64_t n = nnrt_tensor_numel(t);
  double *d = t->dtype == NNRT_F32 && want == NNRT_F64 && n >= 0
                  ? malloc(sizeof(double) * (size_t)n + 1)
                  : NULL;
  if (!d)
    return;
  for (int64_t i = 0; i < n; i++)
    d[i] = ((const float *)t->data)[i];
  free(t->data);
  t->data = d;
  t->dtype = NNRT_F64;
}

static bool read_param(const IrParam *p, nnrt_tensor *t, const char *dir) {
  char path[4096], err[512];
  snprintf(path, sizeof path, "%s/%s.npy", dir, p->name);
  nnrt_tensor got = {0};
  if (nnrt_npy_read(path, &got, err, sizeof err)) {
    fprintf(stderr, "nnc: error: parameter %s: %s\n", p->name, err);
    return false;
  }
  widen_f32(&got, t->dtype);
  bool same = got.dtype == t->dtype && got.rank == t->rank;
  for (int i = 0; same && i < t->rank; i++)
    same = got.dims[i] == t->dims[i];
  if (!same) {
    char want[256], have[256];
    shape_text(want, sizeof want, t);
    shape_text(have, sizeof have, &got);
    fprintf(stderr, "nnc: error: parameter %s (%s): expected a %s array of shape %s, got %s %s\n",
            p->name, path, npy_dtype_name(t->dtype), want, npy_dtype_name(got.dtype), have);
    nnrt_tensor_free(&got);
    return false;
  }
  free(t->data);
  t->data = got.data;
  return true;
}

/* Parameters from DIR/<name>.npy, else drawn from their initialisers in
 * module order from one seeded stream. */
static bool init_params(CallState *s, const CallOptions *c) {
  nnrt_rng rng;
  nnrt_rng_seed(&rng, c->seed);
  char err[512];
  for (int i = 0; i < s->m->nparams; i++) {
    const IrParam *p = s->m->params[i];
    if (!alloc_tensor(&s->params[i], p->type.dtype, &p->type, s->f, s->dims))
      return false;
    if (c->params_dir) {
      if (!read_param(p, &s->params[i], c->params_dir))
        return false;
    } else if (nnrt_init_tensor(&rng, (nnrt_init_kind)p->init.kind, p->init.a, p->init.b,
                                &s->params[i], err, sizeof err)) {
      fprintf(stderr, "nnc: error: initialising %s: %s\n", p->name, err);
      return false;
    }
  }
  return true;
}

static void print_tensor(const char *name, const nnrt_tensor *t) {
  char shape[256];
  shape_text(shape, sizeof shape, t);
  printf("%s: %s %s\n", name, npy_dtype_name(t->dtype), shape);
  int64_t n = nnrt_tensor_numel(t), row = t->rank ? t->dims[t->rank - 1] : 1;
  for (int64_t i = 0; i < n; i++) {
    switch (t->dtype) {
    case NNRT_F32:
      printf("%.9g", (double)((const float *)t->data)[i]);
      break;
    case NNRT_F64:
      printf("%.17g", ((const double *)t->data)[i]);
      break;
    case NNRT_I32:
      printf("%d", ((const int32_t *)t->data)[i]);
      break;
    case NNRT_BOOL:
      printf("%s", ((const uint8_t *)t->data)[i] ? "true" : "false");
      break;
    }
    putchar(row > 0 && (i + 1) % row == 0 ? '\n' : ' ');
  }
}

static bool write_results(const CallState *s, const CallOptions *c) {
  char err[512], path[4096];
  const IrFunc *f = s->f;
  if (c->out_dir && mkdir(c->out_dir, 0777) && errno != EEXIST) {
    fprintf(stderr, "nnc: error: cannot create directory %s: %s\n", c->out_dir, strerror(errno));
    return false;
  }
  for (int r = 0; r < f->nresults; r++) {
    if (!c->out && !c->out_dir) {
      print_tensor(f->result_names[r], &s->outs[r]);
      continue;
    }
    if (c->out)
      snprintf(path, sizeof path, "%s", c->out);
    else
      snprintf(path, sizeof path, "%s/%s.npy", c->out_dir, f->result_names[r]);
    if (nnrt_npy_write(path, &s->outs[r], err, sizeof err)) {
      fprintf(stderr, "nnc: error: %s\n", err);
      return false;
    }
  }
  return true;
}

static bool run_call(CallState *s, const CallOptions *c) {
  char err[1024];
  Jit *jit = jit_new(err, sizeof err);
  JitFunc *jf = jit ? jit_compile(jit, s->m, s->f, &c->cg, err, sizeof err) : NULL;
  bool ok = jf != NULL;
  if (ok) {
    int n = s->f->ninputs > s->m->nparams ? s->f->ninputs : s->m->nparams;
    n = n > s->f->nresults ? n : s->f->nresults;
    void **in = calloc((size_t)n + 1, sizeof *in), **pa = calloc((size_t)n + 1, sizeof *pa),
         **out = calloc((size_t)n + 1, sizeof *out);
    ok = in && pa && out;
    for (int i = 0; ok && i < s->f->ninputs; i++)
      in[i] = s->in[i].data;
    for (int i = 0; ok && i < s->m->nparams; i++)
      pa[i] = s->params[i].data;
    for (int i = 0; ok && i < s->f->nresults; i++)
      out[i] = s->outs[i].data;
    if (!ok)
      snprintf(err, sizeof err, "out of memory");
    else if (jit_call(jf, s->dims, in, pa, out, err, sizeof err))
      ok = false;
    free(in);
    free(pa);
    free(out);
  }
  if (!ok)
    fprintf(stderr, "nnc: error: %s\n", err);
  jit_free(jit);
  return ok;
}

static void free_tensors(nnrt_tensor *t, int n) {
  for (int i = 0; t && i < n; i++)
    nnrt_tensor_free(&t[i]);
  free(t);
}

static int call_with(Compilation *comp, IrModule *m, const CallOptions *c) {
  const char *fname = c->fn;
  IrFunc *f = ir_module_func(m, fname);
  if (!f) {
    call_no_such_function(m, fname);
    return 1;
  }
  char err[512];
  if (c->grad && !(f = pipeline_derive(&comp->arena, m, f, &(AdOptions){.wrt_inputs = true}, err,
                                       sizeof err))) {
    fprintf(stderr, "nnc: error: %s\n", err);
    return 1;
  }
  int nargs = c->nargs;
  if (nargs != f->ninputs || f->ndims > MAX_DIMS + 64) {
    Arena a;
    arena_init(&a);
    fprintf(stderr, "nnc: error: %s takes %d argument%s (", f->name, f->ninputs,
            f->ninputs == 1 ? "" : "s");
    for (int i = 0; i < f->ninputs; i++)
      fprintf(stderr, "%s%s: %s", i ? ", " : "", f->input_names[i],
              ttype_str(&a, m->syms, &f->inputs[i]->type));
    fprintf(stderr, "), got %d\n", nargs);
    arena_free(&a);
    return 2;
  }
  if (c->out && f->nresults != 1) {
    fprintf(stderr, "nnc: error: %s has %d results; use --out-dir DIR\n", f->name, f->nresults);
    return 2;
  }
  CallState s = {.m = m, .f = f};
  for (int k = 0; k < MAX_DIMS + 64; k++)
    s.bound_by[k] = -1;
  s.in = calloc((size_t)f->ninputs + 1, sizeof *s.in);
  s.params = calloc((size_t)m->nparams + 1, sizeof *s.params);
  s.outs = calloc((size_t)f->nresults + 1, sizeof *s.outs);
  bool ok = s.in && s.params && s.outs && read_args(&s, c->args) && init_params(&s, c);
  for (int r = 0; ok && r < f->nresults; r++)
    ok = alloc_tensor(&s.outs[r], f->results[r]->type.dtype, &f->results[r]->type, f, s.dims);
  ok = ok && run_call(&s, c) && write_results(&s, c);
  free_tensors(s.in, f->ninputs);
  free_tensors(s.params, m->nparams);
  free_tensors(s.outs, f->nresults);
  return ok ? 0 : 1;
}

int call_command(Compilation *comp, const CallOptions *c) {
  if (comp->errors)
    return 1;
  IrModule *m = frontend_model(comp, c->model, stderr);
  if (!m)
    return 1;
  if (c->f64)
    autodiff_retype_f64(m);
  return call_with(comp, m, c);
}
