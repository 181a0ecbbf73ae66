/* run.c - `nnc run`: compile a model with the JIT and train, evaluate or
 * predict as its data and train sections say, with command-line overrides.
 *
 * The compiler's part ends at two JIT'd entry points (the training step and
 * the evaluation of the loss); everything else, data, the loop, progress,
 * checkpoints, is the runtime's (runtime/nnrt_train.h), so executables
 * built ahead of time behave the same.
 */
#include "run.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callbuf.h"
#include "frontend.h"

#include "jit.h"
#include "nnrt_train.h"
#include "train_step.h"

typedef struct RunOptions {
  const char *file, *model, *data, *checkpoint, *predict, *out, *stdlib_dir;
  const char *emit; /* ir, fused-ir, llvm: print the training step instead */
  int64_t epochs, batch;
  double lr;
  bool has_lr, has_seed, resume, eval;
  uint64_t seed;
  int threads;
  int progress; /* -1 auto */
  CodegenOptions cg;
} RunOptions;

static void run_usage(FILE *out) {
  fputs("usage: nnc run FILE.nn [options]\n"
        "  trains the model as its data and train sections say\n"
        "  --model NAME        the model to run (default: the file's only or last model)\n"
        "  --epochs N --batch N --lr X --seed N   override the sections\n"
        "  --data PATH         another data file (idx/npy: IMAGES,LABELS or X,Y)\n"
        "  --checkpoint PATH   save a safetensors checkpoint here (each epoch, Ctrl-C)\n"
        "  --resume            continue from --checkpoint\n"
        "  --eval              evaluate the --checkpoint on the validation data\n"
        "  --predict FILE      run predict (or forward) on FILE (.csv or .npy) with the\n"
        "                      --checkpoint's weights; -o OUT.npy|.csv, else stdout\n"
        "  --threads N         threads for kernels and BLAS (default: all CPUs)\n"
        "  --progress / --no-progress   progress bar (default: when on a terminal)\n"
        "  -O0..-O3, --no-fuse code generation\n"
        "  --emit=ir|fused-ir|llvm  print the compiled training step and stop\n"
        "The last line of a training run is 'result: key=value ...'.\n",
        out);
}

static bool parse_i64(const char *flag, const char *v, int64_t lo, int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end || x < lo) {
    fprintf(stderr, "nnc: error: %s expects an integer >= %lld, got '%s'\n", flag, (long long)lo,
            v);
    return false;
  }
  *out = x;
  return true;
}

static int parse_run_args(RunOptions *o, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    const char **strs[] = {&o->model, &o->data, &o->checkpoint, &o->predict, &o->out};
    const char *snames[] = {"--model", "--data", "--checkpoint", "--predict", "-o"};
    bool done = false;
    for (int k = 0; k < 5 && !done; k++)
      if (!strcmp(a, snames[k])) {
        if (!next) {
          fprintf(stderr, "nnc: error: %s needs a value\n", a);
          return 2;
        }
        *strs[k] = next;
        i++;
        done = true;
      }
    if (done)
      continue;
    int64_t n;
    if (!strcmp(a, "--epochs") || !strcmp(a, "--batch") || !strcmp(a, "--seed") ||
        !strcmp(a, "--threads")) {
      if (!next || !parse_i64(a, next, a[2] == 's' ? 0 : 1, &n))
        return 2;
      i++;
      if (a[2] == 'e')
        o->epochs = n;
      else if (a[2] == 'b')
        o->batch = n;
      else if (a[2] == 's')
        o->seed = (uint64_t)n, o->has_seed = true;
      else
        o->threads = (int)(n > 4096 ? 4096 : n);
    } else if (!strcmp(a, "--lr")) {
      char *end;
      if (!next || (o->lr = strtod(next, &end), end == next || *end || !(o->lr > 0))) {
        fprintf(stderr, "nnc: error: --lr expects a positive number\n");
        return 2;
      }
      o->has_lr = true;
      i++;
    } else if (!strcmp(a, "--resume")) {
      o->resume = true;
    } else if (!strcmp(a, "--eval")) {
      o->eval = true;
    } else if (!strcmp(a, "--progress") || !strcmp(a, "--no-progress")) {
      o->progress = a[2] == 'p';
    } else if (!strcmp(a, "--no-fuse")) {
      o->cg.fuse = false;
    } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
      o->cg.opt_level = a[2] - '0';
    } else if (!strcmp(a, "--emit=ir") || !strcmp(a, "--emit=fused-ir") ||
               !strcmp(a, "--emit=llvm")) {
      o->emit = a + 7;
    } else if (!strncmp(a, "--stdlib=", 9)) {
      o->stdlib_dir = a + 9;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      run_usage(stdout);
      return 0;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "nnc: error: unknown option '%s' for nnc run\n", a);
      run_usage(stderr);
      return 2;
    } else if (!o->file) {
      o->file = a;
    } else {
      fprintf(stderr, "nnc: error: nnc run takes one model file\n");
      return 2;
    }
  }
  const char *why = !o->file                       ? "no input file"
                    : o->resume && !o->checkpoint  ? "--resume needs --checkpoint PATH"
                    : o->eval && !o->checkpoint    ? "--eval needs --checkpoint PATH"
                    : o->predict && !o->checkpoint ? "--predict needs --checkpoint PATH"
                    : o->eval && o->predict        ? "--eval and --predict cannot be combined"
                    : o->out && !o->predict        ? "-o is for --predict"
                                                   : NULL;
  if (why) {
    fprintf(stderr, "nnc: error: %s\n", why);
    run_usage(stderr);
    return 2;
  }
  return -1;
}

/* ------------------------------------------------------ the model at run time */

typedef struct Model {
  const IrModule *m;
  TrainStep ts;
  JitFunc *step, *eval;
  void **params;            /* every module parameter's data, module order */
  nnrt_named_tensor *named; /* parameters, state, data statistics */
  int nnamed;
  float *mean, *std;     /* standardize: the training set's statistics */
  float *scratch_logits; /* when the loop asks for no logits */
  int64_t scratch_elems;
} Model;

/* The run-time dims of f for a batch: a symbol met in the inputs' types
 * takes the batch size at axis 0 and the data's per-sample size elsewhere. */
static bool bind_dims(const IrFunc *f, int64_t batch, const nnrt_dataset *d, int64_t *dims,
                      char *err, size_t errlen) {
  for (int k = 0; k < f->ndims; k++) {
    dims[k] = -1;
    for (int in = 0; in < 2 && in < f->ninputs && dims[k] < 0; in++) {
      const TType *t = &f->inputs[in]->type;
      const int64_t *sample = in == 0 ? d->x_dims : d->y_dims;
      int srank = in == 0 ? d->x_rank : d->y_rank;
      for (int j = 0; j < t->rank && dims[k] < 0; j++)
        if (t->dims[j].nsyms == 1 && t->dims[j].coeff == 1 && t->dims[j].syms[0] == f->dim_syms[k])
          dims[k] = j == 0 ? batch : j - 1 < srank ? sample[j - 1] : -1;
    }
    if (dims[k] < 0) {
      snprintf(err, errlen, "%s: cannot tell a dimension of its inputs from the data", f->name);
      return false;
    }
  }
  return true;
}

typedef struct CallCtx {
  Model *md;
  const nnrt_dataset *shape; /* per-sample shapes, for binding dims */
} CallCtx;

/* Where f's logits result goes when the loop does not want them: a scratch
 * buffer sized by the result's type (a class axis per label, so sequence
 * labels get [B, T, C]). */
static float *logits_buf(Model *md, const IrFunc *f, const int64_t *dims, float *logits) {
  if (logits || f->nresults < 2)
    return logits;
  int64_t n = callbuf_numel(f, dims, &f->results[1]->type);
  if (n > md->scratch_elems) {
    free(md->scratch_logits);
    md->scratch_logits = malloc(sizeof(float) * (size_t)n);
    md->scratch_elems = md->scratch_logits ? n : 0;
  }
  return md->scratch_logits;
}

static int call_model(CallCtx *cx, JitFunc *jf, const IrFunc *f, int64_t batch, const void *x,
                      const void *y, const float *hyper, float *loss, float *logits, char *err,
                      size_t errlen) {
  int64_t dims[16];
  if (f->ndims > 16 || !bind_dims(f, batch, cx->shape, dims, err, errlen))
    return NNRT_ERR_SHAPE;
  void *inputs[3] = {(void *)x, (void *)y, (void *)hyper};
  void *outputs[2] = {loss, logits_buf(cx->md, f, dims, logits)};
  if (f->nresults > 1 && !outputs[1]) {
    snprintf(err, errlen, "out of memory");
    return NNRT_ERR_NOMEM;
  }
  return jit_call(jf, dims, inputs, cx->md->params, outputs, err, errlen) ? NNRT_ERR_ARG : NNRT_OK;
}

static int train_cb(void *ctx, int64_t batch, const void *x, const void *y, const float hyper[4],
                    float *loss, float *logits, char *err, size_t errlen) {
  CallCtx *cx = ctx;
  return call_model(cx, cx->md->step, cx->md->ts.step, batch, x, y, hyper, loss, logits, err,
                    errlen);
}

static int eval_cb(void *ctx, int64_t batch, const void *x, const void *y, float *loss,
                   float *logits, char *err, size_t errlen) {
  CallCtx *cx = ctx;
  return call_model(cx, cx->md->eval, cx->md->ts.eval, batch, x, y, NULL, loss, logits, err,
                    errlen);
}

/* Allocates and initialises every parameter from one stream seeded by
 * `seed`, in module order (as nnc call does). */
static bool init_params(Model *md, uint64_t seed) {
  const IrModule *m = md->m;
  md->params = calloc((size_t)m->nparams + 1, sizeof(void *));
  md->named = calloc((size_t)m->nparams + 2, sizeof *md->named); /* + data.mean, data.std */
  if (!md->params || !md->named)
    return false;
  nnrt_rng rng;
  nnrt_rng_seed(&rng, seed);
  for (int i = 0; i < m->nparams; i++) {
    const IrParam *p = m->params[i];
    nnrt_named_tensor *nt = &md->named[md->nnamed++];
    nt->name = p->name;
    nt->t.dtype = (nnrt_dtype)p->type.dtype;
    nt->t.rank = p->type.rank;
    for (int j = 0; j < p->type.rank; j++)
      nt->t.dims[j] = p->type.dims[j].coeff;
    Dim numel;
    if (!ttype_numel(&p->type, &numel))
      NNC_BUG("parameter %s has no element count", p->name);
    int64_t n = numel.coeff; /* parameters have constant shapes */
    nt->t.data = md->params[i] = calloc((size_t)(n ? n : 1), nnrt_dtype_size(nt->t.dtype));
    char err[256];
    if (!nt->t.data) {
      fprintf(stderr, "nnc: error: out of memory for parameter %s\n", p->name);
      return false;
    }
    if (nnrt_init_tensor(&rng, (nnrt_init_kind)p->init.kind, p->init.a, p->init.b, &nt->t, err,
                         sizeof err)) {
      fprintf(stderr, "nnc: error: initialising %s: %s\n", p->name, err);
      return false;
    }
  }
  return true;
}

static void free_model(Model *md) {
  if (md->params)
    for (int i = 0; i < md->m->nparams; i++)
      free(md->params[i]);
  free(md->mean);
  free(md->std);
  free(md->params);
  free(md->named);
  free(md->scratch_logits);
}

/* ------------------------------------------------------------------ data */

static nnrt_label_spec label_spec(const Model *md) {
  const IrFunc *f = md->ts.eval;
  nnrt_label_spec s = {.dtype = NNRT_F32};
  if (f->ninputs >= 2 && f->inputs[1]->type.dtype == DT_I32)
    s = (nnrt_label_spec){.dtype = NNRT_I32, .num_classes = md->ts.num_classes};
  return s;
}

/* "a,b" -> two paths (idx, npy); one path replaces the first. */
static void override_paths(Arena *a, DataSource *s, const char *data) {
  const char *comma = strchr(data, ',');
  if (!comma) {
    s->path = data;
    return;
  }
  s->path = arena_printf(a, "%.*s", (int)(comma - data), data);
  s->path2 = comma + 1;
}

static int load_source(const DataSource *s, const nnrt_label_spec *ys, nnrt_dataset *d, char *err,
                       size_t errlen) {
  switch (s->kind) {
  case DATA_CSV: {
    nnrt_csv_options o = {.has_label = s->has_label,
                          .label = s->label,
                          .header = s->header,
                          .features = s->features,
                          .nfeatures = s->nfeatures,
                          .scale = s->scale,
                          .y = *ys};
    return nnrt_load_csv(s->path, &o, d, err, errlen);
  }
  case DATA_IDX:
    return nnrt_load_idx(s->path, s->path2, s->scale, ys, d, err, errlen);
  case DATA_NPY:
    return nnrt_load_npy_pair(s->path, s->path2, ys, d, err, errlen);
  case DATA_TEXT:
    return nnrt_load_text(s->path, s->seq, d, err, errlen);
  }
  return NNRT_ERR_ARG;
}

/* Per-sample elements of input `in` of f, or -1 when a non-batch dim is
 * symbolic (then only the batch axis is checked). */
static int64_t sample_numel(const IrFunc *f, int in) {
  const TType *t = &f->inputs[in]->type;
  int64_t n = 1;
  for (int j = 1; j < t->rank; j++) {
    if (t->dims[j].nsyms)
      return -1;
    n *= t->dims[j].coeff;
  }
  return n;
}

static bool check_data_fits(const Model *md, const nnrt_dataset *d, const char *path) {
  const IrFunc *f = md->ts.eval;
  const char *fn = f->name;
  int64_t want_x = sample_numel(f, 0), want_y = f->ninputs > 1 ? sample_numel(f, 1) : 0;
  const char *dt_name[] = {"f32", "f64", "i32", "bool"};
  if (f->inputs[0]->type.dtype != (DType)d->x_dtype) {
    fprintf(stderr, "nnc: error: %s: the data gives %s samples, but %s's input '%s' is %s\n", path,
            dt_name[d->x_dtype], fn, f->input_names[0], dt_name[f->inputs[0]->type.dtype]);
    return false;
  }
  if (want_x >= 0 && want_x != d->x_size) {
    fprintf(stderr,
            "nnc: error: %s: each sample has %lld features, but %s's input '%s' takes %lld\n", path,
            (long long)d->x_size, fn, f->input_names[0], (long long)want_x);
    return false;
  }
  if (f->ninputs > 1 && want_y >= 0 && want_y != d->y_size) {
    fprintf(stderr, "nnc: error: %s: each sample has %lld label values, but %s's '%s' takes %lld\n",
            path, (long long)d->y_size, fn, f->input_names[1], (long long)want_y);
    return false;
  }
  return true;
}

/* Training and validation sets as the data section says (or --data). */
static bool load_data(const Model *md, const TrainConfig *cfg, nnrt_dataset *train,
                      nnrt_dataset *val) {
  char err[1024];
  nnrt_label_spec ys = label_spec(md);
  nnrt_dataset all = {0};
  if (load_source(&cfg->source, &ys, &all, err, sizeof err)) {
    fprintf(stderr, "nnc: error: %s\n", err);
    return false;
  }
  if (!check_data_fits(md, &all, cfg->source.path)) {
    nnrt_dataset_free(&all);
    return false;
  }
  if (cfg->has_val_source) {
    *train = all;
    if (load_source(&cfg->val_source, &ys, val, err, sizeof err)) {
      fprintf(stderr, "nnc: error: %s\n", err);
      return false;
    }
    return check_data_fits(md, val, cfg->val_source.path);
  }
  if (nnrt_dataset_split(&all, cfg->validation, cfg->seed, train, val, err, sizeof err)) {
    fprintf(stderr, "nnc: error: %s\n", err);
    nnrt_dataset_free(&all);
    return false;
  }
  return true;
}

/* standardize = true: per-feature statistics, kept in checkpoints as
 * data.mean and data.std (zeros until computed or loaded). */
static bool add_stats(Model *md, int64_t nfeatures) {
  md->mean = calloc((size_t)nfeatures + 1, sizeof(float));
  md->std = calloc((size_t)nfeatures + 1, sizeof(float));
  if (!md->mean || !md->std)
    return false; /* free_model frees what was allocated */
  float *stats[2] = {md->mean, md->std};
  const char *names[2] = {"data.mean", "data.std"};
  for (int i = 0; i < 2; i++)
    md->named[md->nnamed++] = (nnrt_named_tensor){
        names[i], {.dtype = NNRT_F32, .rank = 1, .dims = {nfeatures}, .data = stats[i]}};
  return true;
}

/* Statistics of the training split, applied to both splits. */
static bool standardize(Model *md, nnrt_dataset *train, nnrt_dataset *val) {
  if (!add_stats(md, train->x_size))
    return false;
  nnrt_dataset_stats(train, md->mean, md->std);
  nnrt_dataset_normalize(train, md->mean, md->std);
  if (val->n)
    nnrt_dataset_normalize(val, md->mean, md->std);
  return true;
}

/* ------------------------------------------------------------- commands */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

static nnrt_optimizer runtime_optimizer(const TrainConfig *c) {
  nnrt_optimizer o = {.kind = (nnrt_optim_kind)c->optim.kind,
                      .lr = c->lr,
                      .beta1 = c->optim.beta1,
                      .beta2 = c->optim.beta2,
                      .schedule = (nnrt_schedule_kind)c->schedule,
                      .every = c->every,
                      .gamma = c->gamma,
                      .min_lr = c->min_lr,
                      .warmup = c->warmup};
  return o;
}

static void print_result(const IrModule *m, const nnrt_train_result *r) {
  printf("result: model=%s epochs=%lld steps=%lld loss=%.6f", m->name, (long long)r->epochs,
         (long long)r->steps, r->loss);
  if (r->has_acc)
    printf(" acc=%.4f", r->acc);
  if (r->has_val) {
    printf(" val_loss=%.6f", r->val_loss);
    if (r->has_acc)
      printf(" val_acc=%.4f", r->val_acc);
  }
  printf(" time=%.3fs samples_per_s=%.0f%s\n", r->seconds, r->samples_per_s,
         r->interrupted     ? " interrupted=1"
         : r->stopped_early ? " early_stop=1"
                            : "");
}

static int do_train(Model *md, const TrainConfig *cfg, const RunOptions *o, nnrt_dataset *train,
                    nnrt_dataset *val) {
  nnrt_model_io io = {.model_name = md->m->name,
                      .train_step = train_cb,
                      .evaluate = eval_cb,
                      .num_classes = md->ts.num_classes,
                      .tensors = md->named,
                      .ntensors = md->nnamed};
  CallCtx cx = {md, train};
  io.ctx = &cx;
  nnrt_train_config tc = {.epochs = cfg->epochs,
                          .batch = cfg->batch,
                          .seed = cfg->seed,
                          .shuffle = cfg->shuffle,
                          .opt = runtime_optimizer(cfg),
                          .checkpoint = o->checkpoint,
                          .checkpoint_every = cfg->checkpoint_every,
                          .resume = o->resume,
                          .patience = cfg->patience,
                          .log = stdout,
                          .progress = o->progress,
                          .interrupt = &interrupted};
  struct sigaction sa = {.sa_handler = on_sigint}, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  nnrt_train_result r = {0};
  char err[1024] = "";
  int rc = nnrt_train(&io, &tc, train, val, &r, err, sizeof err);
  /* timeout(1) and terminals may deliver a second SIGINT moments after the
     first; once interrupted, keep absorbing them so the clean exit that
     follows is not turned into death by signal. */
  if (!interrupted)
    sigaction(SIGINT, &old, NULL);
  if (rc) {
    fflush(stdout);
    fprintf(stderr, "nnc: error: %s\n", err);
    return 1;
  }
  print_result(md->m, &r);
  return 0;
}

static int do_eval(Model *md, const RunOptions *o, nnrt_dataset *train, nnrt_dataset *val) {
  nnrt_model_io io = {.model_name = md->m->name,
                      .evaluate = eval_cb,
                      .num_classes = md->ts.num_classes,
                      .tensors = md->named,
                      .ntensors = md->nnamed};
  const nnrt_dataset *d = val->n ? val : train;
  CallCtx cx = {md, d};
  io.ctx = &cx;
  char err[1024];
  double loss, acc = 0;
  if (nnrt_evaluate(&io, d, 256, &loss, &acc, err, sizeof err)) {
    fprintf(stderr, "nnc: error: %s\n", err);
    return 1;
  }
  (void)o;
  printf("eval: model=%s samples=%lld loss=%.6f", md->m->name, (long long)d->n, loss);
  if (md->ts.num_classes)
    printf(" acc=%.4f", acc);
  printf("\n");
  return 0;
}

static const IrFunc *predict_func(const IrModule *m) {
  const char *names[] = {"predict", "forward"};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < m->nfuncs; i++)
      if (!strcmp(m->funcs[i]->name, names[k]) && m->funcs[i]->ninputs == 1)
        return m->funcs[i];
  return NULL;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* The rows to predict: a .npy array [N, ...] or a CSV of features only. */
static bool read_inputs(const char *path, nnrt_dataset *d, char *err, size_t errlen) {
  if (ends_with(path, ".npy")) {
    nnrt_tensor t = {0};
    if (nnrt_npy_read(path, &t, err, errlen))
      return false;
    if (t.rank < 1 || (t.dtype != NNRT_F32 && t.dtype != NNRT_F64)) {
      snprintf(err, errlen, "%s: expected a float array [N, features...]", path);
      nnrt_tensor_free(&t);
      return false;
    }
    int64_t n = nnrt_tensor_numel(&t);
    if (t.dtype == NNRT_F64) {
      float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
      for (int64_t i = 0; f && i < n; i++)
        f[i] = (float)((double *)t.data)[i];
      free(t.data);
      t.data = f;
    }
    *d = (nnrt_dataset){.n = t.dims[0], .x_dtype = NNRT_F32, .x_rank = t.rank - 1, .x = t.data};
    d->x_size = 1;
    for (int i = 1; i < t.rank; i++)
      d->x_size *= d->x_dims[i - 1] = t.dims[i];
    return d->x != NULL;
  }
  nnrt_csv_options co = {.has_label = false};
  return nnrt_load_csv(path, &co, d, err, errlen) == NNRT_OK;
}

static int do_predict(Model *md, const RunOptions *o, Jit *jit) {
  const IrFunc *f = predict_func(md->m);
  char err[1024];
  if (!f) {
    fprintf(stderr, "nnc: error: model '%s' has no one-input function 'predict' or 'forward'\n",
            md->m->name);
    return 1;
  }
  nnrt_dataset in = {0};
  if (!read_inputs(o->predict, &in, err, sizeof err)) {
    fprintf(stderr, "nnc: error: %s\n", err);
    return 1;
  }
  int64_t want = sample_numel(f, 0);
  if (want >= 0 && want != in.x_size) {
    fprintf(stderr, "nnc: error: %s: each row has %lld values, but %s takes %lld\n", o->predict,
            (long long)in.x_size, f->name, (long long)want);
    nnrt_dataset_free(&in);
    return 1;
  }
  if (md->mean) /* statistics from the checkpoint */
    nnrt_dataset_normalize(&in, md->mean, md->std);
  JitFunc *jf = jit_compile(jit, md->m, f, &o->cg, err, sizeof err);
  int64_t dims[16];
  int rc = 1;
  nnrt_tensor out = {.dtype = (nnrt_dtype)f->result->type.dtype, .rank = f->result->type.rank};
  if (!jf)
    fprintf(stderr, "nnc: error: %s\n", err);
  else if (f->ndims > 16 || !bind_dims(f, in.n, &in, dims, err, sizeof err))
    fprintf(stderr, "nnc: error: %s\n", err);
  else {
    int64_t n = callbuf_numel(f, dims, &f->result->type);
    for (int i = 0; i < out.rank; i++)
      out.dims[i] = callbuf_dim(f, dims, f->result->type.dims[i]);
    out.data = calloc((size_t)(n ? n : 1), nnrt_dtype_size(out.dtype));
    void *inputs[1] = {in.x}, *outputs[1] = {out.data};
    if (!out.data || jit_call(jf, dims, inputs, md->params, outputs, err, sizeof err))
      fprintf(stderr, "nnc: error: %s\n", out.data ? err : "out of memory");
    else if (o->out && ends_with(o->out, ".npy")) {
      if (nnrt_npy_write(o->out, &out, err, sizeof err))
        fprintf(stderr, "nnc: error: %s\n", err);
      else
        rc = 0;
    } else {
      FILE *fp = o->out ? fopen(o->out, "w") : stdout;
      if (!fp) {
        fprintf(stderr, "nnc: error: %s: %s\n", o->out, strerror(errno));
      } else {
        int64_t cols = out.rank >= 2 ? n / (out.dims[0] ? out.dims[0] : 1) : 1;
        for (int64_t i = 0; i < n; i++)
          fprintf(fp, "%.7g%s", (double)((float *)out.data)[i], (i + 1) % cols ? "," : "\n");
        rc = (o->out ? fclose(fp) : fflush(fp)) == 0 ? 0 : 1;
      }
    }
  }
  free(out.data);
  nnrt_dataset_free(&in);
  return rc;
}

static IrModule *pick_model(Compilation *comp, const char *name) {
  if (name || comp->nmodels <= 1)
    return compilation_model(comp, name, stderr);
  return comp->models[comp->nmodels - 1];
}

static void apply_overrides(Arena *a, TrainConfig *cfg, const RunOptions *o) {
  if (o->epochs)
    cfg->epochs = o->epochs;
  if (o->batch)
    cfg->batch = o->batch;
  if (o->has_lr)
    cfg->lr = o->lr;
  if (o->has_seed)
    cfg->seed = o->seed;
  if (o->data)
    override_paths(a, &cfg->source, o->data);
}

static int run_model(Compilation *comp, IrModule *m, const RunOptions *o) {
  char *file_copy = strdup(o->file);
  TrainConfig cfg;
  train_config_read(&comp->prog, m, dirname(file_copy), &cfg);
  apply_overrides(&comp->arena, &cfg, o);
  if (!cfg.has_train || !cfg.has_data) {
    fprintf(stderr, "nnc: error: model '%s' has no %s section: nothing to run\n", m->name,
            cfg.has_data ? "train" : "data");
    free(file_copy);
    return 1;
  }
  Model md = {.m = m};
  char err[1024];
  Jit *jit = NULL;
  nnrt_dataset train = {0}, val = {0};
  int rc = 1;
  if (!train_step_build(&comp->arena, m, &cfg, &md.ts, err, sizeof err)) {
    fprintf(stderr, "nnc: error: %s\n", err);
    goto done;
  }
  if (o->emit) {
    if (!strcmp(o->emit, "ir"))
      ir_print_func(stdout, m, md.ts.step);
    else if (!strcmp(o->emit, "fused-ir"))
      codegen_print_fused(stdout, m, md.ts.step, &o->cg);
    else if (codegen_print_llvm(stdout, m, md.ts.step, &o->cg))
      goto done;
    rc = 0;
    goto done;
  }
  if (!(jit = jit_new(err, sizeof err)) ||
      !(md.step = jit_compile(jit, m, md.ts.step, &o->cg, err, sizeof err)) ||
      !(md.eval = jit_compile(jit, m, md.ts.eval, &o->cg, err, sizeof err))) {
    fprintf(stderr, "nnc: error: %s\n", err);
    goto done;
  }
  if (!init_params(&md, cfg.seed))
    goto done;
  if (!o->predict) {
    if (!load_data(&md, &cfg, &train, &val))
      goto done;
    if (cfg.standardize && !standardize(&md, &train, &val))
      goto done;
  } else if (cfg.standardize) { /* the checkpoint fills them */
    int64_t nfeatures = sample_numel(md.ts.eval, 0);
    if (nfeatures < 0 || !add_stats(&md, nfeatures))
      goto done;
  }
  if (o->eval || o->predict) {
    nnrt_model_io io = {.model_name = m->name, .tensors = md.named, .ntensors = md.nnamed};
    if (nnrt_checkpoint_load(o->checkpoint, &io, NULL, err, sizeof err)) {
      fprintf(stderr, "nnc: error: %s\n", err);
      goto done;
    }
    rc = o->eval ? do_eval(&md, o, &train, &val) : do_predict(&md, o, jit);
  } else {
    rc = do_train(&md, &cfg, o, &train, &val);
  }
done:
  nnrt_dataset_free(&train);
  nnrt_dataset_free(&val);
  free_model(&md);
  jit_free(jit);
  free(file_copy);
  return rc;
}

int run_command(int argc, char **argv, const char *stdlib_dir) {
  RunOptions o = {.progress = -1, .cg = codegen_default_options()};
  int rc = parse_run_args(&o, argc, argv);
  if (rc >= 0)
    return rc;
  if (o.threads)
    nnrt_set_threads(o.threads);
  FrontendOptions fo = {.emit = EMIT_NONE, .out = stdout, .diag_out = stderr};
  fo.stdlib_dir = o.stdlib_dir ? o.stdlib_dir : stdlib_dir;
  Compilation *comp = compile_file(o.file, &fo);
  rc = 1;
  if (!comp->errors) {
    IrModule *m = pick_model(comp, o.model);
    if (m)
      rc = run_model(comp, m, &o);
  }
  compilation_free(comp);
  return rc;
}
