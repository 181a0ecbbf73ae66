/* run_commands.c - train, eval and predict as `nnc run` and a compiled
 * model's executable do them: the data section's sources (or --data), the
 * checks that the data fit the model, the split, standardisation, the
 * training loop with Ctrl-C handling, and the lines they print.
 *
 * One implementation for the JIT and for executables, so both print the
 * same text for the same model, seed and thread count. Errors are printed
 * as "<prog>: error: <message>" on stderr; the functions return the exit
 * status.
 */
#include "fileio.h"
#include "model_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Run {
  nnrt_model *m;
  const nnrt_run_options *o;
  const char *prog;
  nnrt_train_desc cfg; /* the descriptor's, with the options applied */
  char *first_path;    /* of --data A,B */
} Run;

__attribute__((format(printf, 2, 3))) static int fail(const Run *r, const char *fmt, ...) {
  fflush(stdout); /* the lines printed so far come first */
  fprintf(stderr, "%s: error: ", r->prog);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 1;
}

/* For idx and npy, "a,b" -> two paths and one path replaces the first.
 * The other kinds read one file, so the path is all of it (a comma
 * included; an npz source keeps its array names). */
static bool override_paths(Run *r, nnrt_source_desc *s, const char *data) {
  if (s->kind == NNRT_DATA_MACKEY_GLASS)
    return fail(r,
                "--data '%s': the data section's source is mackey_glass, generated, not read "
                "from a file",
                data),
           false;
  bool two_files = s->kind == NNRT_DATA_IDX || s->kind == NNRT_DATA_NPY;
  const char *comma = two_files ? strchr(data, ',') : NULL;
  if (!comma) {
    s->path = data;
  } else {
    size_t n = (size_t)(comma - data);
    if (!(r->first_path = malloc(n + 1)))
      return fail(r, "out of memory"), false;
    memcpy(r->first_path, data, n);
    r->first_path[n] = 0;
    s->path = r->first_path;
    s->path2 = comma + 1;
  }
  if (!*s->path || (comma && (!*s->path2 || strchr(s->path2, ','))))
    return fail(r, "--data '%s': expected %s", data,
                two_files ? "PATH or FIRST,SECOND (two non-empty paths)" : "a non-empty path"),
           false;
  return true;
}

static void run_done(Run *r) { free(r->first_path); }

static bool run_init(Run *r, nnrt_model *m, const nnrt_run_options *o) {
  *r = (Run){.m = m, .o = o, .prog = o && o->prog ? o->prog : "nnc"};
  if (!m || !o)
    return fail(r, "%s is NULL", m ? "the options are" : "the model is"), false;
  r->cfg = m->d->cfg;
  if (o->epochs > 0)
    r->cfg.epochs = o->epochs;
  if (o->batch > 0)
    r->cfg.batch = o->batch;
  if (o->lr > 0)
    r->cfg.lr = o->lr;
  if (o->has_seed)
    r->cfg.seed = o->seed;
  if (o->data && !override_paths(r, &r->cfg.source, o->data)) {
    run_done(r); /* the callers only run_done a Run that started */
    return false;
  }
  /* A generated series has no file: messages about its data name it. */
  if (r->cfg.source.kind == NNRT_DATA_MACKEY_GLASS)
    r->cfg.source.path = "mackey_glass";
  if (r->cfg.val_source.kind == NNRT_DATA_MACKEY_GLASS)
    r->cfg.val_source.path = "mackey_glass (validation)";
  return true;
}

/* "model 'M' has no data section: nothing to run" unless the sections the
 * command needs are there. */
static bool has_sections(const Run *r, bool train) {
  const char *missing = !r->cfg.has_data ? "data" : train && !r->cfg.has_train ? "train" : NULL;
  if (missing)
    fail(r, "model '%s' has no %s section: nothing to run", r->m->d->name, missing);
  return !missing;
}

/* Seeds the parameters as the run's seed says (an overridden one). */
static bool apply_seed(const Run *r) {
  if (r->o->has_seed && nnrt_model_reset(r->m, r->o->seed))
    return fail(r, "%s", r->m->err), false;
  return true;
}

/* ------------------------------------------------------------------ data */

/* The loss function's label input, or NULL when it takes none. */
static const nnrt_arg_desc *y_arg(const nnrt_model *m) {
  int fi = nnrt_model_loss_func(m);
  const nnrt_func_desc *f = &m->d->funcs[fi];
  return f->ninputs == (fi == m->d->train ? 3 : 2) ? &f->inputs[1] : NULL;
}

static nnrt_label_spec label_spec(const nnrt_model *m) {
  const nnrt_arg_desc *y = y_arg(m);
  if (y && y->dtype == NNRT_I32)
    return (nnrt_label_spec){.dtype = NNRT_I32, .num_classes = m->d->num_classes};
  return (nnrt_label_spec){.dtype = NNRT_F32};
}

static int load_source(const nnrt_source_desc *s, const nnrt_label_spec *ys, nnrt_dataset *d,
                       char *err, size_t errlen) {
  switch (s->kind) {
  case NNRT_DATA_CSV: {
    nnrt_csv_options o = {.has_label = s->has_label,
                          .label = s->label,
                          .header = s->header,
                          .features = s->features,
                          .nfeatures = s->nfeatures,
                          .scale = s->scale,
                          .y = *ys};
    return nnrt_load_csv(s->path, &o, d, err, errlen);
  }
  case NNRT_DATA_IDX:
    return nnrt_load_idx(s->path, s->path2, s->scale, ys, d, err, errlen);
  case NNRT_DATA_NPY:
    return nnrt_load_npy_pair(s->path, s->path2, ys, d, err, errlen);
  case NNRT_DATA_TEXT:
    return nnrt_load_text(s->path, s->seq, d, err, errlen);
  case NNRT_DATA_NPZ:
    return nnrt_load_npz(s->path, s->xkey, s->ykey, ys, d, err, errlen);
  case NNRT_DATA_MACKEY_GLASS:
    return nnrt_load_mackey_glass(s->length, s->tau, s->seq, s->horizon, d, err, errlen);
  }
  return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "data source of unknown kind %d", (int)s->kind);
}

/* A text's tokens are indices of every op that reads x or y as such
 * (one_hot, cross_entropy, gather): its vocabulary must fit each one's
 * classes or table rows, which the compiled code would otherwise refuse
 * at the first batch, deep inside the op. */
static bool vocabulary_fits(const Run *r, const nnrt_func_desc *f, const nnrt_dataset *d,
                            const char *path) {
  for (int i = 0; d->vocab && i < f->nlabels; i++) {
    const nnrt_label_site *s = &f->labels[i];
    if (s->input < 0 || s->input > 1 || s->classes <= 0 || d->vocab_size <= s->classes)
      continue;
    bool classes = !strcmp(nnrt_index_noun(s->op), "label");
    fail(r,
         "%s: the text's vocabulary is %d tokens (its distinct bytes), but %s's %s of '%s' "
         "takes %lld %s, the model's vocabulary: it needs at least %d",
         path, d->vocab_size, f->name, s->op, f->inputs[s->input].name, (long long)s->classes,
         classes ? "classes" : "rows", d->vocab_size);
    return false;
  }
  return true;
}

static bool check_data_fits(const Run *r, const nnrt_dataset *d, const char *path) {
  const nnrt_func_desc *f = &r->m->d->funcs[nnrt_model_loss_func(r->m)];
  const nnrt_arg_desc *x = &f->inputs[0], *y = y_arg(r->m);
  int64_t want_x = nnrt_arg_sample_numel(x), want_y = y ? nnrt_arg_sample_numel(y) : 0;
  if (x->dtype != (int32_t)d->x_dtype) {
    fail(r, "%s: the data gives %s samples, but %s's input '%s' is %s", path,
         nnrt_dtype_name(d->x_dtype), f->name, x->name, nnrt_dtype_name(x->dtype));
    return false;
  }
  if (want_x >= 0 && want_x != d->x_size) {
    fail(r, "%s: each sample has %lld features, but %s's input '%s' takes %lld", path,
         (long long)d->x_size, f->name, x->name, (long long)want_x);
    return false;
  }
  if (y && want_y >= 0 && want_y != d->y_size) {
    fail(r, "%s: each sample has %lld label values, but %s's '%s' takes %lld", path,
         (long long)d->y_size, f->name, y->name, (long long)want_y);
    return false;
  }
  return vocabulary_fits(r, f, d, path);
}

/* ---- image shapes ---- */

/* dims as "[a, b, c]" into buf. */
static const char *shape_text(const int64_t *dims, int rank, char *buf, size_t len) {
  size_t n = (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < rank && n < len; i++)
    n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
  if (n < len)
    snprintf(buf + n, len - n, "]");
  return buf;
}

/* The same shape once leading 1s (channels of one) are dropped. */
static bool same_image(const int64_t *a, int ra, const int64_t *b, int rb) {
  while (ra > 0 && a[0] == 1)
    a++, ra--;
  while (rb > 0 && b[0] == 1)
    b++, rb--;
  if (ra != rb)
    return false;
  for (int i = 0; i < ra; i++)
    if (a[i] != b[i])
      return false;
  return true;
}

/* The per-sample dims of the loss function's input when every one is a
 * constant (their count), else -1. */
static int model_sample_dims(const Run *r, int64_t *dims) {
  const nnrt_func_desc *f = &r->m->d->funcs[nnrt_model_loss_func(r->m)];
  const nnrt_arg_desc *x = &f->inputs[0];
  for (int i = 1; i < x->rank; i++) {
    if (x->dims[i].nterms)
      return -1;
    dims[i - 1] = x->dims[i].constant;
  }
  return x->rank - 1;
}

static void set_sample_dims(nnrt_dataset *d, const int64_t *dims, int rank) {
  d->x_rank = rank;
  for (int i = 0; i < rank; i++)
    d->x_dims[i] = dims[i];
}

/* Gives image samples their [C, H, W]: the data section's `image` (a flat
 * row of C * H * W values takes it; a sample with a shape must already be
 * it, channels of one aside), else the model's input when both it and
 * the file's samples are images (an idx3 file's [28, 28] samples become a
 * [B, 1, 28, 28] input's [1, 28, 28]). Flat rows into an image input, or
 * images into a flat input, are matched by their count, as before. */
static bool bind_image(const Run *r, nnrt_dataset *d, const char *path) {
  char have[160], want[160];
  const int64_t *image = r->cfg.image;
  if (image[0] > 0) {
    int64_t numel = image[0] * image[1] * image[2];
    shape_text(image, 3, want, sizeof want);
    if (d->x_rank <= 1 && d->x_size != numel)
      return fail(r,
                  "%s: each sample has %lld values, but the data section's image = %s needs %lld",
                  path, (long long)d->x_size, want, (long long)numel),
             false;
    if (d->x_rank > 1 && !same_image(d->x_dims, d->x_rank, image, 3))
      return fail(r, "%s: each sample is %s, not the data section's image = %s", path,
                  shape_text(d->x_dims, d->x_rank, have, sizeof have), want),
             false;
    set_sample_dims(d, image, 3);
  }
  int64_t dims[NNRT_MAX_RANK];
  int rank = model_sample_dims(r, dims);
  if (image[0] > 0 && rank >= 2 && !same_image(image, 3, dims, rank)) {
    const nnrt_func_desc *f = &r->m->d->funcs[nnrt_model_loss_func(r->m)];
    return fail(r, "the data section's image = %s, but %s's input '%s' expects %s", want, f->name,
                f->inputs[0].name, shape_text(dims, rank, have, sizeof have)),
           false;
  }
  if (rank < 2 || d->x_rank < 2 || d->x_dtype != NNRT_F32 || image[0] > 0)
    return true;
  if (!same_image(d->x_dims, d->x_rank, dims, rank)) {
    const nnrt_func_desc *f = &r->m->d->funcs[nnrt_model_loss_func(r->m)];
    return fail(r, "%s: each sample is an image %s, but %s's input '%s' expects %s", path,
                shape_text(d->x_dims, d->x_rank, have, sizeof have), f->name, f->inputs[0].name,
                shape_text(dims, rank, want, sizeof want)),
           false;
  }
  set_sample_dims(d, dims, rank);
  return true;
}

/* The data section's augmentation needs images: said with the file. */
static bool augmentable(const Run *r, const nnrt_dataset *d, const char *path) {
  char err[512];
  nnrt_augment a = {.crop = r->cfg.random_crop, .shift = r->cfg.shift, .hflip = r->cfg.hflip};
  if (nnrt_augment_enabled(&a) && nnrt_augment_check(&a, d, err, sizeof err))
    return fail(r, "%s: %s", path, err), false;
  return true;
}

/* Elements per sample of an array [n, ...] (1 for rank 1). */
static int64_t per_sample(const nnrt_tensor *t) {
  int64_t n = 1;
  for (int i = 1; i < t->rank; i++)
    n *= t->dims[i]; /* the whole array's count fits: the reader checked it */
  return n;
}

/* Whether array `key` of the archive has samples of `want` elements (want
 * < 0: any); what goes wrong is printed. */
static bool npz_array_fits(const Run *r, const char *path, const char *key, int64_t want,
                           const char *what, const nnrt_func_desc *f, const nnrt_arg_desc *arg,
                           const char *role) {
  char err[1024];
  nnrt_tensor t;
  if (nnrt_npz_shape(path, key, &t, err, sizeof err))
    return fail(r, "%s", err), false;
  if (t.rank < 1 || want < 0 || per_sample(&t) == want)
    return true; /* a scalar is the loader's to refuse */
  fail(r, "%s: %s.npy: each sample has %lld %s, but %s's %s'%s' takes %lld", path, key,
       (long long)per_sample(&t), what, f->name, role, arg->name, (long long)want);
  return false;
}

/* An .npz source's shapes against the model before its arrays are
 * inflated: a small archive can hold gigabytes the model cannot use. */
static bool npz_fits(const Run *r, const nnrt_source_desc *s) {
  if (s->kind != NNRT_DATA_NPZ)
    return true;
  const nnrt_func_desc *f = &r->m->d->funcs[nnrt_model_loss_func(r->m)];
  const nnrt_arg_desc *x = &f->inputs[0], *y = y_arg(r->m);
  return npz_array_fits(r, s->path, s->xkey, nnrt_arg_sample_numel(x), "features", f, x,
                        "input ") &&
         (!y ||
          npz_array_fits(r, s->path, s->ykey, nnrt_arg_sample_numel(y), "label values", f, y, ""));
}

/* Training and validation sets as the data section says (or --data). */
static bool load_data(const Run *r, nnrt_dataset *train, nnrt_dataset *val) {
  char err[1024];
  nnrt_label_spec ys = label_spec(r->m);
  nnrt_dataset all = {0};
  if (!npz_fits(r, &r->cfg.source) ||
      (r->cfg.val_source.kind != NNRT_DATA_NONE && !npz_fits(r, &r->cfg.val_source)))
    return false;
  if (load_source(&r->cfg.source, &ys, &all, err, sizeof err))
    return fail(r, "%s", err), false;
  if (!bind_image(r, &all, r->cfg.source.path) || !check_data_fits(r, &all, r->cfg.source.path) ||
      !augmentable(r, &all, r->cfg.source.path)) {
    nnrt_dataset_free(&all);
    return false;
  }
  if (r->cfg.val_source.kind != NNRT_DATA_NONE) {
    *train = all;
    if (load_source(&r->cfg.val_source, &ys, val, err, sizeof err))
      return fail(r, "%s", err), false;
    return bind_image(r, val, r->cfg.val_source.path) &&
           check_data_fits(r, val, r->cfg.val_source.path);
  }
  /* Windows of one text (or one series) are validated on its end, none
   * of them next to a training window (docs/language.md 9.1). */
  int rc =
      r->cfg.source.kind == NNRT_DATA_TEXT || r->cfg.source.kind == NNRT_DATA_MACKEY_GLASS
          ? nnrt_dataset_split_tail(&all, r->cfg.validation, train, val, err, sizeof err)
          : nnrt_dataset_split(&all, r->cfg.validation, r->cfg.seed, train, val, err, sizeof err);
  if (rc) {
    nnrt_dataset_free(&all);
    return fail(r, "%s", err), false;
  }
  return true;
}

/* standardize = true: the features scaled by the model's statistics, which
 * are the training split's unless `keep` (from a checkpoint or compiled
 * in). */
static bool standardize(const Run *r, nnrt_dataset *train, nnrt_dataset *val, bool keep) {
  nnrt_model *m = r->m;
  if (!r->cfg.standardize)
    return true;
  if (!keep && nnrt_model_use_stats(m, train->x_size))
    return fail(r, "%s", m->err), false;
  if (m->nstats != train->x_size)
    return fail(r, "standardize: the data have %lld features, the statistics %lld",
                (long long)train->x_size, (long long)m->nstats),
           false;
  if (!keep)
    nnrt_dataset_stats(train, m->mean, m->std);
  nnrt_dataset_normalize(train, m->mean, m->std);
  if (val->n)
    nnrt_dataset_normalize(val, m->mean, m->std);
  return true;
}

int nnrt_run_load_data(nnrt_model *m, const nnrt_run_options *o, nnrt_dataset *train,
                       nnrt_dataset *val) {
  Run r;
  *train = *val = (nnrt_dataset){0};
  if (!run_init(&r, m, o))
    return 1;
  bool ok =
      has_sections(&r, true) && load_data(&r, train, val) && standardize(&r, train, val, false);
  if (!ok) {
    nnrt_dataset_free(train);
    nnrt_dataset_free(val);
  }
  run_done(&r);
  return ok ? 0 : 1;
}

/* ----------------------------------------------------------- the loop's view */

typedef struct CallCtx {
  nnrt_model *m;
  const nnrt_dataset *shape; /* per-sample shapes, for binding dims */
} CallCtx;

static int callback(CallCtx *cx, int fi, int64_t batch, const void *x, const void *y,
                    const float *hyper, float *loss, float *logits, char *err, size_t errlen) {
  int rc = nnrt_model_loss_call(cx->m, fi, batch, cx->shape, x, y, hyper, loss, logits);
  if (rc)
    snprintf(err, errlen, "%s", cx->m->err);
  return rc;
}

static int train_cb(void *ctx, int64_t step, int64_t batch, const void *x, const void *y,
                    const float hyper[4], float *loss, float *logits, char *err, size_t errlen) {
  CallCtx *cx = ctx;
  cx->m->steps = step; /* what the step's random ops draw with */
  return callback(cx, cx->m->d->train, batch, x, y, hyper, loss, logits, err, errlen);
}

static int eval_cb(void *ctx, int64_t batch, const void *x, const void *y, float *loss,
                   float *logits, char *err, size_t errlen) {
  CallCtx *cx = ctx;
  return callback(cx, nnrt_model_loss_func(cx->m), batch, x, y, NULL, loss, logits, err, errlen);
}

static int reset_carried_cb(void *ctx, char *err, size_t errlen) {
  CallCtx *cx = ctx;
  int rc = nnrt_model_reset_carried(cx->m);
  if (rc)
    snprintf(err, errlen, "%s", cx->m->err);
  return rc;
}

static nnrt_model_io io_with(CallCtx *cx) {
  nnrt_model_io io = nnrt_model_io_for(cx->m);
  io.ctx = cx;
  io.train_step = train_cb;
  io.evaluate = eval_cb;
  io.reset_carried = cx->m->d->ncarried ? reset_carried_cb : NULL;
  return io;
}

/* ------------------------------------------------------------------ train */

/* standardize: statistics of nfeatures for a checkpoint to fill. */
static bool stats_for(const Run *r, int64_t nfeatures) {
  if (r->cfg.standardize && nnrt_model_use_stats(r->m, nfeatures))
    return fail(r, "%s", r->m->err), false;
  return true;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

static void print_result(const char *model, const nnrt_train_result *r) {
  printf("result: model=%s epochs=%lld steps=%lld loss=%.6f", model, (long long)r->epochs,
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

/* Where the best epoch's checkpoint goes beside `path`: ck.safetensors ->
 * ck.best.safetensors (other names get ".best"); malloc'd. */
static char *best_path(const char *path) {
  static const char ext[] = ".safetensors";
  size_t n = strlen(path), e = sizeof ext - 1;
  size_t stem = n > e && !strcmp(path + n - e, ext) ? n - e : n;
  char *best = malloc(n + sizeof ".best");
  if (best)
    sprintf(best, "%.*s.best%s", (int)stem, path, path + stem);
  return best;
}

/* ---- augmentation ---- */

/* What a blank (0) pixel became when the data were standardised, per
 * feature (malloc'd), or NULL when a 0 stays 0 (scale alone keeps it). */
static float *blank_pixels(const nnrt_model *m, bool standardized, int64_t n, bool *nomem) {
  *nomem = false;
  if (!standardized || !m->mean || m->nstats != n || n <= 0)
    return NULL;
  float *fill = malloc((size_t)n * sizeof *fill);
  if (!fill) {
    *nomem = true;
    return NULL;
  }
  for (int64_t j = 0; j < n; j++) {
    float s = m->std[j] >= 1e-7f ? m->std[j] : 1.0f; /* as nnrt_dataset_normalize */
    fill[j] = (0.0f - m->mean[j]) / s;
  }
  return fill;
}

static nnrt_augment augment_of(const nnrt_train_desc *c) {
  return (nnrt_augment){.crop = c->random_crop, .shift = c->shift, .hflip = c->hflip};
}

int nnrt_model_augment(nnrt_model *m, const nnrt_dataset *train, uint64_t seed, int64_t epoch,
                       const int64_t *idx, int64_t count, void *x) {
  if (!m)
    return NNRT_ERR_ARG;
  nnrt_augment a = augment_of(&m->d->cfg);
  if (!nnrt_augment_enabled(&a))
    return NNRT_OK;
  if (!train || !idx || !x || count < 0)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "augment: NULL data, indices or batch");
  int rc = nnrt_augment_check(&a, train, m->err, sizeof m->err);
  if (rc)
    return rc;
  bool nomem;
  float *fill = blank_pixels(m, m->d->cfg.standardize, train->x_size, &nomem);
  if (nomem)
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "augment: out of memory");
  a.fill = fill;
  rc = nnrt_augment_batch(&a, train, seed, epoch, idx, count, x, m->err, sizeof m->err);
  free(fill);
  return rc;
}

static int do_train(const Run *r, nnrt_dataset *train, nnrt_dataset *val) {
  char *best = NULL;
  if (r->o->checkpoint && val->n > 0 && !(best = best_path(r->o->checkpoint)))
    return fail(r, "out of memory");
  bool nomem;
  float *fill = blank_pixels(r->m, r->cfg.standardize, train->x_size, &nomem);
  if (nomem) {
    free(best);
    return fail(r, "out of memory");
  }
  CallCtx cx = {r->m, train};
  nnrt_model_io io = io_with(&cx);
  const nnrt_train_desc *c = &r->cfg;
  nnrt_train_config tc = {.epochs = c->epochs,
                          .batch = c->batch,
                          .seed = c->seed,
                          .shuffle = c->shuffle,
                          .opt = nnrt_model_optimizer(c),
                          .checkpoint = r->o->checkpoint,
                          .best = best,
                          .checkpoint_every = c->checkpoint_every,
                          .resume = r->o->resume,
                          .section = r->m->d->cfg.step_name,
                          .patience = c->patience,
                          .log = stdout,
                          .progress = r->o->progress,
                          .interrupt = &interrupted,
                          .augment = augment_of(c)};
  tc.augment.fill = fill;
  nnrt_kv vocab; /* a text's vocabulary goes with the weights, for generation */
  tc.nmeta = nnrt_model_vocab_meta(r->m, &vocab);
  tc.meta = tc.nmeta ? &vocab : NULL;
  interrupted = 0;
  struct sigaction sa = {.sa_handler = on_sigint}, old;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  nnrt_train_result res = {0};
  char err[1024] = "";
  int rc = nnrt_train(&io, &tc, train, val, &res, err, sizeof err);
  free(best);
  free(fill);
  /* timeout(1) and terminals may deliver a second SIGINT moments after the
     first; once interrupted, keep absorbing them so the clean exit that
     follows is not turned into death by signal. */
  if (!interrupted)
    sigaction(SIGINT, &old, NULL);
  r->m->steps = res.steps;
  r->m->epoch = res.epochs;
  r->m->has_epoch = true;
  if (rc)
    return fail(r, "%s", err);
  print_result(r->m->d->name, &res);
  return 0;
}

/* ---- fit = ridge(...) (runtime/ridge.c) ----
 * The readout solved from the training set in one pass, then its loss on
 * the training and validation sets in the `result:` line an epoch loop
 * ends with (one epoch, no optimizer steps), and the checkpoint. */
static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int do_fit(const Run *r, nnrt_dataset *train, nnrt_dataset *val) {
  char err[1024] = "";
  double start = seconds_now();
  if (nnrt_fit_ridge(r->m, train, r->cfg.batch, err, sizeof err))
    return fail(r, "%s", err);
  nnrt_train_result res = {.epochs = 1, .seconds = seconds_now() - start};
  res.samples_per_s = res.seconds > 0 ? (double)train->n / res.seconds : 0;
  res.has_acc = r->m->d->num_classes > 0;
  CallCtx cx = {r->m, train};
  nnrt_model_io io = io_with(&cx);
  if (nnrt_evaluate(&io, train, r->cfg.batch, &res.loss, &res.acc, err, sizeof err))
    return fail(r, "%s", err);
  if (val->n > 0) {
    cx.shape = val;
    res.has_val = true;
    if (nnrt_evaluate(&io, val, r->cfg.batch, &res.val_loss, &res.val_acc, err, sizeof err))
      return fail(r, "%s", err);
  }
  printf("fit: ridge on %lld training samples, loss %.4g", (long long)train->n, res.loss);
  if (res.has_val)
    printf("  val_loss %.4g", res.val_loss);
  printf("  %.2fs\n", res.seconds);
  r->m->epoch = 1;
  r->m->has_epoch = true;
  if (r->o->checkpoint && nnrt_model_save(r->m, r->o->checkpoint))
    return fail(r, "%s", r->m->err);
  print_result(r->m->d->name, &res);
  return 0;
}

/* A checkpoint path that cannot be written is refused before training, not
 * at the end of the first epoch. */
static bool checkpoint_writable(const Run *r) {
  char err[1024];
  if (r->o->checkpoint && nnrt_safetensors_check_writable(r->o->checkpoint, err, sizeof err))
    return fail(r, "%s", err), false;
  return true;
}

/* --init: --resume would take the weights, the optimizer's state and the
 * position from --checkpoint, which --init replaces by a fresh start from
 * other weights; both at once has no meaning. */
static bool init_not_resumed(const Run *r) {
  if (r->o->init && r->o->resume)
    return fail(r,
                "--init and --resume cannot be combined: --resume continues the run that saved "
                "--checkpoint (its weights, optimizer state and epoch); --init %s starts a new "
                "run from its weights",
                r->o->init),
           false;
  return true;
}

/* --init PATH: the weights (and data statistics) the run starts from; the
 * optimizer's state stays the fresh one, the run starts at epoch 0. */
static bool init_weights(const Run *r, int64_t nfeatures) {
  if (!r->o->init)
    return true;
  if (!stats_for(r, nfeatures))
    return false;
  if (nnrt_model_load_weights(r->m, r->o->init))
    return fail(r, "%s", r->m->err), false;
  return true;
}

int nnrt_run_train(nnrt_model *m, const nnrt_run_options *o) {
  Run r;
  if (!run_init(&r, m, o))
    return 1;
  nnrt_dataset train = {0}, val = {0};
  int rc = 1;
  if (m->d->train < 0 && r.cfg.has_train && r.cfg.fit == NNRT_FIT_NONE)
    fail(&r, "model '%s' has no compiled training step", m->d->name);
  /* the statistics the --init weights were trained with standardise the
   * data, as evaluation does */
  else if (has_sections(&r, true) && init_not_resumed(&r) && checkpoint_writable(&r) &&
           apply_seed(&r) && load_data(&r, &train, &val) && init_weights(&r, train.x_size) &&
           standardize(&r, &train, &val, o->init != NULL) &&
           (!train.vocab || !nnrt_model_set_vocab(m, train.vocab, train.vocab_size)))
    rc = r.cfg.fit == NNRT_FIT_RIDGE ? do_fit(&r, &train, &val) : do_train(&r, &train, &val);
  nnrt_dataset_free(&train);
  nnrt_dataset_free(&val);
  run_done(&r);
  return rc;
}

/* ------------------------------------------------------------------- eval */

/* Evaluating, predicting and generating read the weights alone, never the
 * optimizer's state: a checkpoint of any train section of the model (or
 * of its fit) serves them. */
static bool load_checkpoint(const Run *r) {
  if (!r->o->checkpoint)
    return true;
  if (nnrt_model_load_weights(r->m, r->o->checkpoint))
    return fail(r, "%s", r->m->err), false;
  return true;
}

static int do_eval(const Run *r, const nnrt_dataset *train, const nnrt_dataset *val) {
  const nnrt_dataset *d = val->n ? val : train;
  CallCtx cx = {r->m, d};
  nnrt_model_io io = io_with(&cx);
  char err[1024];
  double loss, acc = 0;
  /* tbptt's carried states have the training batch's rows, and only full
   * batches are read */
  const bool streams = io.reset_carried != NULL;
  const int64_t batch = streams ? r->cfg.batch : 256;
  if (nnrt_evaluate(&io, d, batch, &loss, &acc, err, sizeof err))
    return fail(r, "%s", err);
  printf("eval: model=%s samples=%lld loss=%.6f", r->m->d->name,
         (long long)(streams ? d->n / batch * batch : d->n), loss);
  if (r->m->d->num_classes)
    printf(" acc=%.4f", acc);
  printf("\n");
  return 0;
}

int nnrt_run_eval(nnrt_model *m, const nnrt_run_options *o) {
  Run r;
  if (!run_init(&r, m, o))
    return 1;
  nnrt_dataset train = {0}, val = {0};
  int rc = 1;
  if (nnrt_model_loss_func(m) < 0)
    fail(&r, "model '%s' has no loss function to evaluate", m->d->name);
  else if (has_sections(&r, false) && apply_seed(&r) && load_data(&r, &train, &val) &&
           stats_for(&r, train.x_size) && load_checkpoint(&r) &&
           standardize(&r, &train, &val, o->checkpoint || m->d->baked_mean))
    rc = do_eval(&r, &train, &val);
  nnrt_dataset_free(&train);
  nnrt_dataset_free(&val);
  run_done(&r);
  return rc;
}

/* ---------------------------------------------------------------- predict */

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* t (f32, f64 or i32) as a dense array of `want` in a fresh buffer, or
 * NULL when out of memory or a value does not fit (i32 wants integers). */
static void *convert(const nnrt_tensor *t, int64_t n, nnrt_dtype want) {
  void *out = malloc(nnrt_dtype_size(want) * (size_t)(n ? n : 1));
  for (int64_t i = 0; out && i < n; i++) {
    double v = t->dtype == NNRT_F32   ? ((float *)t->data)[i]
               : t->dtype == NNRT_F64 ? ((double *)t->data)[i]
                                      : ((int32_t *)t->data)[i];
    if (want == NNRT_F32)
      ((float *)out)[i] = (float)v;
    else if (want == NNRT_F64)
      ((double *)out)[i] = v;
    else if (v == (double)(int32_t)v && v >= -2147483648.0 && v <= 2147483647.0)
      ((int32_t *)out)[i] = (int32_t)v;
    else {
      free(out);
      return NULL;
    }
  }
  return out;
}

/* The rows to predict, as in the data file (unscaled): a .npy array
 * [N, ...], the array `xkey` (default "x") of a .npz archive, or a CSV of
 * features only, as `want` elements. */
static bool read_inputs(const char *path, const char *xkey, nnrt_dtype want, nnrt_dataset *d,
                        char *err, size_t errlen) {
  nnrt_tensor t = {0};
  if (ends_with(path, ".npy")) {
    if (nnrt_npy_read(path, &t, err, errlen))
      return false;
  } else if (ends_with(path, ".npz")) {
    if (nnrt_npz_read(path, xkey ? xkey : "x", &t, err, errlen))
      return false;
  } else {
    nnrt_csv_options co = {.has_label = false};
    if (nnrt_load_csv(path, &co, d, err, errlen))
      return false;
    t = (nnrt_tensor){.dtype = NNRT_F32, .rank = d->x_rank + 1, .dims = {d->n}, .data = d->x};
    memcpy(t.dims + 1, d->x_dims, sizeof(int64_t) * (size_t)d->x_rank);
    d->x = NULL;
    nnrt_dataset_free(d);
  }
  if (t.rank < 1 || t.dtype == NNRT_BOOL || want == NNRT_BOOL) {
    snprintf(err, errlen, "%s: expected a %s array [N, features...]", path,
             want == NNRT_I32 ? "numeric" : "float");
    nnrt_tensor_free(&t);
    return false;
  }
  *d = (nnrt_dataset){.n = t.dims[0], .x_dtype = want, .x_rank = t.rank - 1, .x_size = 1};
  for (int i = 1; i < t.rank; i++)
    d->x_size *= d->x_dims[i - 1] = t.dims[i];
  /* The shape is taken first: converting frees t, which forgets it (the
   * f64 arrays NumPy writes by default were read as rows of one value). */
  int64_t n = nnrt_tensor_numel(&t);
  void *x = t.dtype == want ? t.data : convert(&t, n, want);
  if (x != t.data)
    nnrt_tensor_free(&t);
  if (!x) {
    *d = (nnrt_dataset){0};
    snprintf(err, errlen, "%s: out of memory, or values that are not %s", path,
             want == NNRT_I32 ? "integers in i32" : "numbers");
    return false;
  }
  d->x = x;
  return true;
}

static void print_value(FILE *fp, const nnrt_tensor *t, int64_t i) {
  switch (t->dtype) {
  case NNRT_F32:
    fprintf(fp, "%.7g", (double)((const float *)t->data)[i]);
    break;
  case NNRT_F64:
    fprintf(fp, "%.17g", ((const double *)t->data)[i]);
    break;
  case NNRT_I32:
    fprintf(fp, "%d", (int)((const int32_t *)t->data)[i]);
    break;
  case NNRT_BOOL:
    fprintf(fp, "%d", (int)((const unsigned char *)t->data)[i]);
    break;
  }
}

static int write_predictions(const Run *r, const nnrt_tensor *out, int64_t n) {
  const char *path = r->o->out;
  char err[1024];
  if (path && ends_with(path, ".npy"))
    return nnrt_npy_write(path, out, err, sizeof err) ? fail(r, "%s", err) : 0;
  FILE *fp = path ? fopen(path, "w") : stdout;
  if (!fp)
    return fail(r, "%s: %s", path, strerror(errno));
  int64_t cols = out->rank >= 2 ? n / (out->dims[0] ? out->dims[0] : 1) : 1;
  for (int64_t i = 0; i < n; i++) {
    print_value(fp, out, i);
    fputs((i + 1) % cols ? "," : "\n", fp);
  }
  if ((path ? fclose(fp) : fflush(fp)) != 0)
    return fail(r, "%s: cannot write", path ? path : "stdout");
  return 0;
}

/* Runs predict on the rows of `in` and writes what it returns. */
static int predict_rows(const Run *r, int fi, nnrt_dataset *in) {
  nnrt_model *m = r->m;
  const nnrt_func_desc *f = &m->d->funcs[fi];
  const nnrt_arg_desc *res = &f->results[0];
  int64_t dims[NNRT_MAX_FUNC_DIMS];
  if (nnrt_model_bind_dims(m, f, in->n, in->x_dims, in->x_rank, NULL, 0, dims))
    return fail(r, "%s", m->err);
  nnrt_tensor out = {.dtype = (nnrt_dtype)res->dtype, .rank = res->rank};
  bool ok = true;
  int64_t n = 1;
  for (int i = 0; i < out.rank; i++) {
    out.dims[i] = nnrt_dim_value(&res->dims[i], dims, &ok);
    ok &= !__builtin_mul_overflow(n, out.dims[i], &n);
  }
  if (ok)
    out.data = calloc((size_t)(n ? n : 1), nnrt_dtype_size(out.dtype));
  int rc;
  /* scaled and standardised (with the checkpoint's statistics) as in training */
  const void *inputs[1] = {nnrt_model_input(m, fi, in->n, in->x_size, in->x)};
  void *outputs[1] = {out.data};
  if (!out.data || !inputs[0])
    rc = fail(r, "out of memory");
  else if (nnrt_model_invoke(m, fi, dims, inputs, outputs))
    rc = fail(r, "%s", m->err);
  else
    rc = write_predictions(r, &out, n);
  free(out.data);
  return rc;
}

int nnrt_run_predict(nnrt_model *m, const nnrt_run_options *o) {
  Run r;
  if (!run_init(&r, m, o))
    return 1;
  int fi = m->d->predict;
  if (fi < 0 || !o->predict) {
    run_done(&r);
    return fi < 0
               ? fail(&r, "model '%s' has no one-input function 'predict' or 'forward'", m->d->name)
               : fail(&r, "predict: no input file");
  }
  const nnrt_func_desc *f = &m->d->funcs[fi];
  char err[1024];
  nnrt_dataset in = {0};
  int64_t want = nnrt_arg_sample_numel(&f->inputs[0]);
  int rc = 1;
  const char *xkey = r.cfg.source.kind == NNRT_DATA_NPZ ? r.cfg.source.xkey : NULL;
  if (ends_with(o->predict, ".npz") && !npz_array_fits(&r, o->predict, xkey ? xkey : "x", want,
                                                       "values", f, &f->inputs[0], "input "))
    rc = 1; /* npz_array_fits said why */
  else if (!read_inputs(o->predict, xkey, (nnrt_dtype)f->inputs[0].dtype, &in, err, sizeof err))
    fail(&r, "%s", err);
  else if (want >= 0 && want != in.x_size)
    fail(&r, "%s: each row has %lld values, but %s takes %lld", o->predict, (long long)in.x_size,
         f->name, (long long)want);
  else if ((m->mean || stats_for(&r, in.x_size)) && load_checkpoint(&r))
    rc = predict_rows(&r, fi, &in);
  nnrt_dataset_free(&in);
  run_done(&r);
  return rc;
}

/* --------------------------------------------------------------- generate */

/* Without a vocabulary from a checkpoint or compiled in: the data
 * section's text, as training would read it. */
static bool vocab_from_data(const Run *r) {
  const nnrt_source_desc *s = &r->cfg.source;
  if (r->m->nvocab > 0 || !r->cfg.has_data || s->kind != NNRT_DATA_TEXT)
    return true;
  nnrt_dataset d = {0};
  char err[1024];
  bool ok = !nnrt_load_text(s->path, s->seq, &d, err, sizeof err);
  if (!ok)
    fail(r, "%s", err);
  else if (nnrt_model_set_vocab(r->m, d.vocab, d.vocab_size))
    ok = false, fail(r, "%s", r->m->err);
  nnrt_dataset_free(&d);
  return ok;
}

static int sample_text(const Run *r) {
  const nnrt_run_options *o = r->o;
  int64_t tokens = o->has_tokens ? o->tokens : 200;
  char *out = tokens < INT64_MAX ? malloc((size_t)tokens + 1) : NULL;
  if (!out)
    return fail(r, "out of memory for %lld characters", (long long)tokens);
  int rc = 0;
  if (nnrt_model_generate(r->m, o->generate, tokens, o->has_temperature ? o->temperature : 1.0,
                          o->top_k, r->cfg.seed, out))
    rc = fail(r, "%s", r->m->err);
  else if (printf("%s%s\n", o->generate, out) < 0 || fflush(stdout))
    rc = fail(r, "stdout: cannot write");
  free(out);
  return rc;
}

int nnrt_run_generate(nnrt_model *m, const nnrt_run_options *o) {
  Run r;
  if (!run_init(&r, m, o))
    return 1;
  int rc = 1;
  if (m->d->generate < 0)
    fail(&r, "model '%s' has no generate section", m->d->name);
  else if (!o->generate)
    fail(&r, "generate: no prompt");
  else if (load_checkpoint(&r) && vocab_from_data(&r))
    rc = sample_text(&r);
  run_done(&r);
  return rc;
}
