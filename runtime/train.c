/* train.c - the training loop, evaluation, checkpoints of a run and the
 * progress display.
 *
 * The loop owns no model: it drives one through nnrt_model_io's callbacks,
 * feeding batches in the order nnrt_epoch_order gives and the per-step
 * constants nnrt_optimizer_hyper computes. Everything that decides what the
 * rest of a run does (the position, the current epoch's running sums, the
 * early-stopping record, the RNG) lives in nnrt_train_state and goes into
 * every checkpoint, so a run resumed from any checkpoint prints the same
 * epoch lines and ends with the same parameters, bit for bit, as one that
 * never stopped. Timing figures are the only exception.
 */
#include "fileio.h"
#include "nnrt_train.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* a * b into *out, false on overflow (both non-negative). */
static bool mul_ok(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0)
    return false;
  if (a != 0 && b > INT64_MAX / a)
    return false;
  *out = a * b;
  return true;
}

void nnrt_train_state_init(nnrt_train_state *s, uint64_t seed) {
  memset(s, 0, sizeof *s);
  s->best_val_loss = INFINITY;
  nnrt_rng_seed(&s->rng, seed);
}

/* ---- checkpoints -------------------------------------------------------- */

/* The metadata keys nnc writes itself; extra metadata may not reuse them. */
static const char *const RESERVED_KEYS[] = {
    "nnc.format",  "nnc.model", "nnc.step",          "nnc.epoch",      "nnc.batch", "nnc.loss_sum",
    "nnc.correct", "nnc.seen",  "nnc.best_val_loss", "nnc.bad_epochs", "nnc.rng",
};
enum { NRESERVED = (int)(sizeof RESERVED_KEYS / sizeof RESERVED_KEYS[0]) };

int nnrt_checkpoint_save(const char *path, const nnrt_model_io *m, const nnrt_train_state *s,
                         const nnrt_kv *extra, int nextra, char *err, size_t errlen) {
  if (!path || !m || !s || nextra < 0 || (nextra > 0 && !extra) || m->ntensors < 0 ||
      (m->ntensors > 0 && !m->tensors))
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "checkpoint save: invalid argument");
  for (int i = 0; i < nextra; i++) {
    if (!extra[i].key || !extra[i].value)
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "checkpoint save: metadata entry %d has no %s",
                         i, extra[i].key ? "value" : "key");
    for (int k = 0; k < NRESERVED; k++)
      if (strcmp(extra[i].key, RESERVED_KEYS[k]) == 0)
        return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                           "checkpoint save: metadata key '%s' is reserved for the run's state",
                           extra[i].key);
  }

  char vals[NRESERVED][64];
  snprintf(vals[0], sizeof vals[0], "1");
  snprintf(vals[2], sizeof vals[2], "%" PRId64, s->step);
  snprintf(vals[3], sizeof vals[3], "%" PRId64, s->epoch);
  snprintf(vals[4], sizeof vals[4], "%" PRId64, s->batch);
  snprintf(vals[5], sizeof vals[5], "%.17g", s->loss_sum);
  snprintf(vals[6], sizeof vals[6], "%" PRId64, s->correct);
  snprintf(vals[7], sizeof vals[7], "%" PRId64, s->seen);
  snprintf(vals[8], sizeof vals[8], "%.17g", s->best_val_loss);
  snprintf(vals[9], sizeof vals[9], "%" PRId64, s->bad_epochs);
  snprintf(vals[10], sizeof vals[10], "%" PRIu64 ":%" PRIu64, s->rng.key, s->rng.counter);

  nnrt_kv *kv = malloc((size_t)(NRESERVED + nextra) * sizeof *kv);
  if (!kv)
    return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM, "checkpoint save: out of memory");
  for (int k = 0; k < NRESERVED; k++) {
    kv[k].key = RESERVED_KEYS[k];
    kv[k].value = vals[k];
  }
  kv[1].value = m->model_name ? m->model_name : "";
  for (int i = 0; i < nextra; i++)
    kv[NRESERVED + i] = extra[i];
  int rc =
      nnrt_safetensors_save(path, m->tensors, m->ntensors, kv, NRESERVED + nextra, err, errlen);
  free(kv);
  return rc;
}

/* No run reaches 2^53 steps, epochs or samples; a count above it in a
 * checkpoint is damage, and refusing it leaves every counter that grows
 * from it (step + 1, seen + a batch) far from overflow. */
#define MAX_COUNT ((int64_t)1 << 53)

/* Decimal digits only (no sign, space or "0x"), at most max. */
static bool parse_count(const char *v, uint64_t max, uint64_t *out) {
  if (!*v)
    return false;
  uint64_t x = 0;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9' || x > (max - (uint64_t)(*p - '0')) / 10)
      return false;
    x = x * 10 + (uint64_t)(*p - '0');
  }
  *out = x;
  return true;
}

static int no_meta(const char *path, const char *key, char *err, size_t errlen) {
  return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT, "%s: checkpoint metadata has no \"%s\"", path,
                     key);
}

/* Metadata `key` of f as a count in [0, 2^53]; errors name the file and
 * the key. */
static int meta_i64(const nnrt_safetensors *f, const char *path, const char *key, int64_t *out,
                    char *err, size_t errlen) {
  const char *v = nnrt_safetensors_meta(f, key);
  if (!v)
    return no_meta(path, key, err, errlen);
  uint64_t x;
  if (!parse_count(v, (uint64_t)MAX_COUNT, &x))
    return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT,
                       "%s: checkpoint metadata \"%s\" is '%s', not an integer in [0, 2^53]", path,
                       key, v);
  *out = (int64_t)x;
  return NNRT_OK;
}

static int meta_f64(const nnrt_safetensors *f, const char *path, const char *key, double *out,
                    char *err, size_t errlen) {
  const char *v = nnrt_safetensors_meta(f, key);
  if (!v)
    return no_meta(path, key, err, errlen);
  char *end;
  double x = strtod(v, &end);
  if (end == v || *end != '\0' || isnan(x))
    return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT,
                       "%s: checkpoint metadata \"%s\" is '%s', not a number", path, key, v);
  *out = x;
  return NNRT_OK;
}

/* "nnc.rng": two 64-bit counts, "<key>:<counter>". */
static int meta_rng(const nnrt_safetensors *f, const char *path, nnrt_rng *rng, char *err,
                    size_t errlen) {
  const char *v = nnrt_safetensors_meta(f, "nnc.rng");
  if (!v)
    return no_meta(path, "nnc.rng", err, errlen);
  const char *colon = strchr(v, ':');
  char key[32];
  size_t klen = colon ? (size_t)(colon - v) : 0;
  if (colon && klen < sizeof key) {
    memcpy(key, v, klen);
    key[klen] = '\0';
    if (parse_count(key, UINT64_MAX, &rng->key) &&
        parse_count(colon + 1, UINT64_MAX, &rng->counter))
      return NNRT_OK;
  }
  return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT,
                     "%s: checkpoint metadata \"nnc.rng\" is '%s', not <key>:<counter> (two "
                     "integers in [0, 2^64))",
                     path, v);
}

__attribute__((format(printf, 4, 5))) static int bad_state(const char *path, char *err,
                                                           size_t errlen, const char *fmt, ...) {
  char prefix[4096];
  snprintf(prefix, sizeof prefix, "%s: checkpoint metadata ", path);
  va_list ap;
  va_start(ap, fmt);
  nnrt_verrorf(err, errlen, NNRT_ERR_FORMAT, prefix, fmt, ap);
  va_end(ap);
  return NNRT_ERR_FORMAT;
}

/* What holds in any checkpoint a run writes, whatever the run: sums that
 * are numbers, counts that do not exceed what they count. */
static int check_state(const char *path, const nnrt_train_state *s, char *err, size_t errlen) {
  if (s->correct > s->seen)
    return bad_state(path, err, errlen,
                     "\"nnc.correct\" (%" PRId64 ") exceeds \"nnc.seen\" (%" PRId64 ")", s->correct,
                     s->seen);
  if (!isfinite(s->loss_sum))
    return bad_state(path, err, errlen, "\"nnc.loss_sum\" is %g, expected a finite number",
                     s->loss_sum);
  if (!(isfinite(s->best_val_loss) || s->best_val_loss == INFINITY))
    return bad_state(path, err, errlen,
                     "\"nnc.best_val_loss\" is %g, expected a finite number or inf (no "
                     "validation yet)",
                     s->best_val_loss);
  if (s->bad_epochs > s->epoch)
    return bad_state(path, err, errlen,
                     "\"nnc.bad_epochs\" (%" PRId64
                     ") exceeds the epochs done, \"nnc.epoch\" (%" PRId64 ")",
                     s->bad_epochs, s->epoch);
  return NNRT_OK;
}

static int read_state(const nnrt_safetensors *f, const char *path, nnrt_train_state *s, char *err,
                      size_t errlen) {
  int rc;
  if ((rc = meta_i64(f, path, "nnc.step", &s->step, err, errlen)) ||
      (rc = meta_i64(f, path, "nnc.epoch", &s->epoch, err, errlen)) ||
      (rc = meta_i64(f, path, "nnc.batch", &s->batch, err, errlen)) ||
      (rc = meta_f64(f, path, "nnc.loss_sum", &s->loss_sum, err, errlen)) ||
      (rc = meta_i64(f, path, "nnc.correct", &s->correct, err, errlen)) ||
      (rc = meta_i64(f, path, "nnc.seen", &s->seen, err, errlen)) ||
      (rc = meta_f64(f, path, "nnc.best_val_loss", &s->best_val_loss, err, errlen)) ||
      (rc = meta_i64(f, path, "nnc.bad_epochs", &s->bad_epochs, err, errlen)) ||
      (rc = meta_rng(f, path, &s->rng, err, errlen)))
    return rc;
  return check_state(path, s, err, errlen);
}

bool nnrt_checkpoint_is_optim(const char *name) { return name && strncmp(name, "optim.", 6) == 0; }

static bool file_has(const nnrt_safetensors *f, const char *name) {
  int n = nnrt_safetensors_count(f);
  for (int i = 0; i < n; i++)
    if (!strcmp(nnrt_safetensors_name(f, i), name))
      return true;
  return false;
}

static bool model_has(const nnrt_model_io *m, const char *name) {
  for (int k = 0; k < m->ntensors; k++)
    if (m->tensors[k].name && strcmp(m->tensors[k].name, name) == 0)
      return true;
  return false;
}

/* A tensor in the file that the model does not have is refused: the file
 * was written for another model (or another version of it). Optimizer
 * state is optim_mismatch's to judge. */
static int check_no_extra(const nnrt_safetensors *f, const char *path, const nnrt_model_io *m,
                          char *err, size_t errlen) {
  int nfile = nnrt_safetensors_count(f);
  for (int i = 0; i < nfile; i++) {
    const char *name = nnrt_safetensors_name(f, i);
    if (!nnrt_checkpoint_is_optim(name) && !model_has(m, name))
      return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT,
                         "%s: has tensor '%s', which model '%s' lacks", path, name,
                         m->model_name ? m->model_name : "");
  }
  return NNRT_OK;
}

/* Optimizer state that is not the model's: the first of its tensors the
 * file lacks, else the first of the file's the model lacks (extra). The
 * name is copied: the file's names go with the file. */
typedef struct OptimMismatch {
  bool found, extra;
  char tensor[256];
} OptimMismatch;

static bool mismatch_at(OptimMismatch *mm, const char *name, bool extra) {
  mm->found = true;
  mm->extra = extra;
  snprintf(mm->tensor, sizeof mm->tensor, "%s", name);
  return true;
}

static bool optim_mismatch(const nnrt_safetensors *f, const nnrt_model_io *m, OptimMismatch *mm) {
  for (int i = 0; i < m->ntensors; i++)
    if (nnrt_checkpoint_is_optim(m->tensors[i].name) && !file_has(f, m->tensors[i].name))
      return mismatch_at(mm, m->tensors[i].name, false);
  int nfile = nnrt_safetensors_count(f);
  for (int i = 0; i < nfile; i++) {
    const char *name = nnrt_safetensors_name(f, i);
    if (nnrt_checkpoint_is_optim(name) && !model_has(m, name))
      return mismatch_at(mm, name, true);
  }
  return false;
}

/* Model tensor i of nt read from f into a fresh buffer *copy of *bytes
 * bytes, after checking its dtype and shape. */
static int read_copy(const nnrt_safetensors *f, const char *path, const nnrt_named_tensor *nt,
                     int i, void **copy, size_t *bytes, char *err, size_t errlen) {
  int64_t numel = nnrt_tensor_numel(&nt->t);
  int64_t nb;
  if (!nt->name || numel < 0 || !mul_ok(numel, (int64_t)nnrt_dtype_size(nt->t.dtype), &nb) ||
      (uint64_t)nb > SIZE_MAX || (nb > 0 && !nt->t.data))
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "checkpoint load: model tensor %d ('%s') is invalid", i,
                       nt->name ? nt->name : "?");
  *bytes = (size_t)nb;
  if (!(*copy = malloc(*bytes ? *bytes : 1)))
    return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM, "%s: out of memory reading '%s'", path,
                       nt->name);
  nnrt_tensor want = nt->t;
  want.data = *copy;
  return nnrt_safetensors_read(f, nt->name, &want, err, errlen);
}

/* The model's optimizer state (optim) or the rest of its tensors, each
 * into a fresh copy tmp[i] of bytes[i] bytes. */
static int read_copies(const nnrt_safetensors *f, const char *path, const nnrt_model_io *m,
                       bool optim, void **tmp, size_t *bytes, char *err, size_t errlen) {
  for (int i = 0; i < m->ntensors; i++) {
    const nnrt_named_tensor *nt = &m->tensors[i];
    int rc;
    if (nnrt_checkpoint_is_optim(nt->name) == optim &&
        (rc = read_copy(f, path, nt, i, &tmp[i], &bytes[i], err, errlen)))
      return rc;
  }
  return NNRT_OK;
}

/* The checkpoint's nnc.format and nnc.model, and its state into *st. */
static int check_header(const nnrt_safetensors *f, const char *path, const char *model,
                        nnrt_train_state *st, char *err, size_t errlen) {
  const char *v = nnrt_safetensors_meta(f, "nnc.format");
  if (!v)
    return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT,
                       "%s: not an nnc checkpoint (no \"nnc.format\" in its metadata)", path);
  if (strcmp(v, "1") != 0)
    return nnrt_errorf(
        err, errlen, NNRT_ERR_FORMAT,
        "%s: checkpoint metadata \"nnc.format\" is '%s'; this runtime reads format 1", path, v);
  v = nnrt_safetensors_meta(f, "nnc.model");
  if (!v)
    return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT, "%s: checkpoint metadata has no \"nnc.model\"",
                       path);
  if (strcmp(v, model) != 0)
    return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT, "%s: written for model '%s', not '%s'", path,
                       v, model);
  nnrt_train_state_init(st, 0);
  return read_state(f, path, st, err, errlen);
}

static int optim_error(const char *path, const OptimMismatch *mm, char *err, size_t errlen) {
  return mm->extra ? nnrt_errorf(err, errlen, NNRT_ERR_FORMAT,
                                 "%s: has tensor '%s', optimizer state this training step lacks "
                                 "(saved by another train section)",
                                 path, mm->tensor)
                   : nnrt_errorf(err, errlen, NNRT_ERR_FORMAT,
                                 "%s: no optimizer state for this training step (no tensor '%s')",
                                 path, mm->tensor);
}

/* nnrt_checkpoint_load, or with weights_only its optimizer state left out
 * on both sides. The weights are read first, so that a file lacking one
 * is reported by it, not as a checkpoint of a fit; then optimizer state
 * that is not the model's fails the load, described in *mismatch (may be
 * NULL). */
static int load_checkpoint(const char *path, const nnrt_model_io *m, nnrt_train_state *s,
                           bool weights_only, OptimMismatch *mismatch, char *err, size_t errlen) {
  if (!path || !m || m->ntensors < 0 || (m->ntensors > 0 && !m->tensors))
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "checkpoint load: invalid argument");
  nnrt_safetensors *f = NULL;
  int rc = nnrt_safetensors_open(path, &f, err, errlen);
  if (rc)
    return rc;

  void **tmp = NULL;
  size_t *bytes = NULL;
  nnrt_train_state st;
  if ((rc = check_header(f, path, m->model_name ? m->model_name : "", &st, err, errlen)) ||
      (rc = check_no_extra(f, path, m, err, errlen)))
    goto out;

  /* Everything into temporary copies first: a failure changes nothing. */
  int n = m->ntensors;
  tmp = calloc((size_t)(n > 0 ? n : 1), sizeof *tmp);
  bytes = calloc((size_t)(n > 0 ? n : 1), sizeof *bytes);
  if (!tmp || !bytes) {
    rc = nnrt_errorf(err, errlen, NNRT_ERR_NOMEM, "%s: out of memory", path);
    goto out;
  }
  if ((rc = read_copies(f, path, m, false, tmp, bytes, err, errlen)))
    goto out;
  if (!weights_only) {
    OptimMismatch mm = {.found = false};
    if (optim_mismatch(f, m, &mm)) {
      if (mismatch)
        *mismatch = mm;
      rc = optim_error(path, &mm, err, errlen);
      goto out;
    }
    if ((rc = read_copies(f, path, m, true, tmp, bytes, err, errlen)))
      goto out;
  }
  for (int i = 0; i < n; i++)
    if (bytes[i])
      memcpy(m->tensors[i].t.data, tmp[i], bytes[i]);
  if (s)
    *s = st;
  rc = NNRT_OK;

out:
  if (tmp)
    for (int i = 0; i < m->ntensors; i++)
      free(tmp[i]);
  free(tmp);
  free(bytes);
  nnrt_safetensors_close(f);
  return rc;
}

int nnrt_checkpoint_load(const char *path, const nnrt_model_io *m, nnrt_train_state *s, char *err,
                         size_t errlen) {
  return load_checkpoint(path, m, s, false, NULL, err, errlen);
}

int nnrt_checkpoint_load_weights(const char *path, const nnrt_model_io *m, char *err,
                                 size_t errlen) {
  return load_checkpoint(path, m, NULL, true, NULL, err, errlen);
}

/* ---- batches and accuracy ----------------------------------------------- */

/* How logits line up with y for accuracy. */
typedef enum { ACC_NONE, ACC_INDEX, ACC_ONEHOT } AccKind;

typedef struct {
  AccKind kind;
  int64_t rows; /* logit rows per sample */
} AccSpec;

static AccSpec acc_spec(const nnrt_model_io *m, const nnrt_dataset *d) {
  AccSpec a = {ACC_NONE, 0};
  if (m->num_classes <= 0 || d->y_size <= 0)
    return a;
  if (d->y_dtype == NNRT_I32) {
    a.kind = ACC_INDEX; /* one class index per row of logits */
    a.rows = d->y_size;
  } else if (d->y_dtype == NNRT_F32 && d->y_size == m->num_classes) {
    a.kind = ACC_ONEHOT; /* class probabilities: their argmax is the label */
    a.rows = 1;
  }
  return a;
}

static int64_t argmax_f32(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

static void count_correct(const AccSpec *a, int64_t nc, int64_t count, const void *y,
                          const float *logits, int64_t *correct, int64_t *seen) {
  if (a->kind == ACC_NONE)
    return;
  int64_t rows = count * a->rows;
  for (int64_t r = 0; r < rows; r++) {
    int64_t pred = argmax_f32(logits + r * nc, nc);
    int64_t label =
        a->kind == ACC_INDEX ? ((const int32_t *)y)[r] : argmax_f32((const float *)y + r * nc, nc);
    *correct += pred == label;
  }
  *seen += rows;
}

typedef struct {
  void *x, *y;
  float *logits; /* NULL without accuracy */
  int64_t *idx;
} Buffers;

static void free_buffers(Buffers *b) {
  free(b->x);
  free(b->y);
  free(b->logits);
  free(b->idx);
  memset(b, 0, sizeof *b);
}

/* Room for `cap` samples of d (and idx[cap] when want_idx). */
static int alloc_buffers(Buffers *b, const nnrt_model_io *m, const nnrt_dataset *d,
                         const AccSpec *a, int64_t cap, bool want_idx, char *err, size_t errlen) {
  memset(b, 0, sizeof *b);
  int64_t xb, yb, lb = 0, t;
  if (!mul_ok(cap, d->x_size, &t) || !mul_ok(t, (int64_t)nnrt_dtype_size(d->x_dtype), &xb) ||
      !mul_ok(cap, d->y_size, &t) || !mul_ok(t, (int64_t)nnrt_dtype_size(d->y_dtype), &yb) ||
      (a->kind != ACC_NONE && (!mul_ok(cap, a->rows, &t) || !mul_ok(t, m->num_classes, &t) ||
                               !mul_ok(t, (int64_t)sizeof(float), &lb))) ||
      (uint64_t)xb > SIZE_MAX || (uint64_t)yb > SIZE_MAX || (uint64_t)lb > SIZE_MAX)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "a batch of %" PRId64 " samples is too large",
                       cap);
  b->x = malloc(xb ? (size_t)xb : 1);
  b->y = malloc(yb ? (size_t)yb : 1);
  if (a->kind != ACC_NONE)
    b->logits = malloc(lb ? (size_t)lb : 1);
  if (want_idx)
    b->idx = malloc((size_t)cap * sizeof *b->idx);
  if (!b->x || !b->y || (a->kind != ACC_NONE && !b->logits) || (want_idx && !b->idx)) {
    free_buffers(b);
    return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM,
                       "out of memory for a batch of %" PRId64 " samples", cap);
  }
  return NNRT_OK;
}

static bool data_ok(const nnrt_dataset *d) {
  return d->n >= 0 && d->x_size >= 0 && d->y_size >= 0 &&
         (d->n == 0 || ((d->x || d->x_size == 0) && (d->y || d->y_size == 0)));
}

int nnrt_evaluate(const nnrt_model_io *m, const nnrt_dataset *d, int64_t batch, double *loss,
                  double *acc, char *err, size_t errlen) {
  if (loss)
    *loss = 0;
  if (acc)
    *acc = 0;
  if (!m || !d || !m->evaluate || !data_ok(d))
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "evaluate: invalid argument");
  if (d->n == 0)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "evaluate: the data set is empty");
  if (batch < 1)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "evaluate: batch size %" PRId64 " (must be >= 1)",
                       batch);
  const bool streams = m->reset_carried != NULL;
  if (streams && d->n < batch)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "evaluate: tbptt reads full batches as streams, but the set has %" PRId64
                       " samples and the batch is %" PRId64,
                       d->n, batch);
  /* streams: full batches only, in nnrt_stream_order */
  const int64_t used = streams ? d->n / batch * batch : d->n;
  AccSpec a = acc_spec(m, d);
  int64_t cap = batch < d->n ? batch : d->n;
  Buffers b;
  int rc = alloc_buffers(&b, m, d, &a, cap, true, err, errlen);
  if (rc)
    return rc;
  if (streams && (rc = m->reset_carried(m->ctx, err, errlen)))
    goto out;
  double sum = 0;
  int64_t correct = 0, seen = 0;
  for (int64_t lo = 0; lo < used; lo += cap) {
    int64_t count = used - lo < cap ? used - lo : cap;
    for (int64_t i = 0; i < count; i++)
      b.idx[i] = streams ? i * (used / batch) + lo / batch : lo + i;
    nnrt_dataset_gather(d, b.idx, count, b.x, b.y);
    float l = 0;
    if ((rc = m->evaluate(m->ctx, count, b.x, b.y, &l, b.logits, err, errlen)))
      goto out;
    sum += (double)l * (double)count;
    count_correct(&a, m->num_classes, count, b.y, b.logits, &correct, &seen);
  }
  if (loss)
    *loss = sum / (double)used;
  if (acc)
    *acc = seen > 0 ? (double)correct / (double)seen : 0;
out:
  free_buffers(&b);
  return rc;
}

/* ---- the progress display ----------------------------------------------- */

typedef struct {
  FILE *log;
  bool bar;       /* a rewritten progress line rather than plain lines */
  bool shown;     /* the bar is on screen now */
  bool drawn;     /* drawn at least once */
  double last;    /* when it was last drawn */
  int64_t epochs; /* c->epochs, for "epoch 3/30" */
} Progress;

static void progress_clear(Progress *p) {
  if (p->log && p->shown) {
    fputs("\r\033[K", p->log);
    fflush(p->log);
    p->shown = false;
  }
}

static void format_eta(char *buf, size_t len, double s) {
  if (!(s >= 0) || s > 1e7) {
    snprintf(buf, len, "?");
    return;
  }
  long long t = (long long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, len, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
  else
    snprintf(buf, len, "%lld:%02lld", t / 60, t % 60);
}

/* The bar for `done` of `total` batches of 0-based epoch `epoch`; rate in
 * samples per second, eta in seconds (< 0: unknown). At most ten a second. */
static void progress_bar(Progress *p, int64_t epoch, int64_t done, int64_t total, double loss,
                         double rate, double eta) {
  if (!p->log || !p->bar)
    return;
  double t = now_s();
  if (p->drawn && t - p->last < 0.1)
    return;
  enum { WIDTH = 16 };
  char bar[WIDTH + 1];
  int64_t fill = total > 0 ? done * WIDTH / total : WIDTH;
  for (int i = 0; i < WIDTH; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[WIDTH] = '\0';
  char etab[32];
  format_eta(etab, sizeof etab, eta);
  fprintf(p->log,
          "\r\033[Kepoch %" PRId64 "/%" PRId64 " [%s] %" PRId64 "/%" PRId64
          "  loss %.4f  %.0f samples/s  ETA %s",
          epoch + 1, p->epochs, bar, done, total, loss, rate, etab);
  fflush(p->log);
  p->shown = p->drawn = true;
  p->last = t;
}

/* A line of its own (the bar, if shown, is replaced). */
__attribute__((format(printf, 2, 3))) static void progress_line(Progress *p, const char *fmt, ...) {
  if (!p->log)
    return;
  progress_clear(p);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(p->log, fmt, ap);
  va_end(ap);
  fputc('\n', p->log);
  fflush(p->log);
}

/* ---- the loop ----------------------------------------------------------- */

static bool same_layout(const nnrt_dataset *a, const nnrt_dataset *b) {
  if (a->x_dtype != b->x_dtype || a->y_dtype != b->y_dtype || a->x_size != b->x_size ||
      a->y_size != b->y_size || a->x_rank != b->x_rank || a->y_rank != b->y_rank)
    return false;
  for (int i = 0; i < a->x_rank && i < NNRT_MAX_RANK; i++)
    if (a->x_dims[i] != b->x_dims[i])
      return false;
  for (int i = 0; i < a->y_rank && i < NNRT_MAX_RANK; i++)
    if (a->y_dims[i] != b->y_dims[i])
      return false;
  return true;
}

/* A resumed state must be one this run could have saved: a position
 * within its epochs, as many steps as the epochs and batches before it,
 * the current epoch's sums over the batches done. Anything else (another
 * batch size or data set, a damaged or forged file) is refused, naming
 * the key and what this run expects. */
static int check_resume(const nnrt_train_config *c, const nnrt_train_state *s, int64_t n,
                        int64_t nbatches, const AccSpec *acc, char *err, size_t errlen) {
  const char *path = c->checkpoint;
  if (s->epoch > c->epochs)
    return bad_state(path, err, errlen,
                     "\"nnc.epoch\" is %" PRId64 ", past this run's %" PRId64
                     " epochs (resume with --epochs %" PRId64 " or more to go on)",
                     s->epoch, c->epochs, s->epoch + 1);
  if (s->batch > nbatches || (s->epoch == c->epochs && s->batch > 0))
    return bad_state(path, err, errlen,
                     "\"nnc.batch\" is %" PRId64 ", but epoch %" PRId64 " of this run has %" PRId64
                     " batches of %" PRId64 " (were the batch size or the data changed?)",
                     s->batch, s->epoch + 1, s->epoch == c->epochs ? 0 : nbatches, c->batch);
  const int64_t step = s->epoch * nbatches + s->batch; /* <= epochs * nbatches, checked */
  if (s->step != step)
    return bad_state(path, err, errlen,
                     "\"nnc.step\" is %" PRId64 ", but %" PRId64 " epochs of %" PRId64
                     " batches and %" PRId64 " more make %" PRId64
                     " steps (were the batch size or the data changed?)",
                     s->step, s->epoch, nbatches, s->batch, step);
  const int64_t done = s->batch * c->batch < n ? s->batch * c->batch : n;
  const int64_t seen = acc->kind == ACC_NONE ? 0 : done * acc->rows;
  if (s->seen != seen)
    return bad_state(path, err, errlen,
                     "\"nnc.seen\" is %" PRId64 ", but %" PRId64
                     " batches of this epoch make %" PRId64 " labels",
                     s->seen, s->batch, seen);
  if (s->batch == 0 && s->loss_sum != 0)
    return bad_state(path, err, errlen,
                     "\"nnc.loss_sum\" is %g at the start of an epoch, where it is 0", s->loss_sum);
  return NNRT_OK;
}

/* Loads c->checkpoint to go on from it. A checkpoint with the weights but
 * not this section's optimizer state was saved by a fit or another train
 * section: it cannot be resumed, but its weights can start a new run. */
static int resume_from(const nnrt_train_config *c, const nnrt_model_io *m, nnrt_train_state *st,
                       int64_t n, int64_t nbatches, const AccSpec *acc, char *err, size_t errlen) {
  OptimMismatch mm = {.found = false};
  int rc = load_checkpoint(c->checkpoint, m, st, false, &mm, err, errlen);
  if (rc && mm.found) {
    const char *section = c->section ? c->section : "step";
    return nnrt_errorf(err, errlen, rc,
                       "%s: %s train section '%s' (%s tensor '%s'); --resume continues the run "
                       "that saved the checkpoint; --init %s starts '%s' from its weights",
                       c->checkpoint,
                       mm.extra ? "optimizer state not of" : "no optimizer state for", section,
                       mm.extra ? "has" : "no", mm.tensor, c->checkpoint, section);
  }
  return rc ? rc : check_resume(c, st, n, nbatches, acc, err, errlen);
}

/* The run's state to path (c->checkpoint, or c->best) with c's metadata. */
static int save_ckpt(const char *path, const nnrt_model_io *m, const nnrt_train_config *c,
                     const nnrt_train_state *s, char *err, size_t errlen) {
  return nnrt_checkpoint_save(path, m, s, c->meta, c->nmeta, err, errlen);
}

int nnrt_train(const nnrt_model_io *m, const nnrt_train_config *c, const nnrt_dataset *train,
               const nnrt_dataset *val, nnrt_train_result *r, char *err, size_t errlen) {
  nnrt_train_result res;
  memset(&res, 0, sizeof res);
  if (r)
    *r = res;
  if (!m || !c || !train || !m->train_step)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "train: invalid argument");
  if (c->epochs < 1)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "train: epochs is %" PRId64 " (must be >= 1)",
                       c->epochs);
  if (c->batch < 1)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "train: batch size is %" PRId64 " (must be >= 1)",
                       c->batch);
  if (c->checkpoint_every < 0 || c->patience < 0 || c->nmeta < 0 || (c->nmeta > 0 && !c->meta))
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "train: checkpoint_every, patience and nmeta must not be negative");
  if (c->resume && !c->checkpoint)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "train: resuming needs a checkpoint path");
  if (!data_ok(train))
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "train: the training data set has no x or y");
  if (train->n < 1)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "train: the training data set is empty");
  if (nnrt_augment_enabled(&c->augment)) {
    int arc = nnrt_augment_check(&c->augment, train, err, errlen);
    if (arc)
      return arc;
  }
  bool has_val = val && val->n > 0;
  if (has_val) {
    if (!data_ok(val) || !m->evaluate)
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                         "train: the validation set has no x or y, or the model no evaluate");
    if (!same_layout(train, val))
      return nnrt_errorf(
          err, errlen, NNRT_ERR_ARG,
          "train: validation samples differ in dtype or shape from training samples");
  }

  const int64_t n = train->n, bs = c->batch;
  /* tbptt: only full batches, as streams (nnrt_stream_order) */
  const bool streams = m->reset_carried != NULL;
  if (streams && n < bs)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "train: tbptt reads full batches as streams, but the training set has "
                       "%" PRId64 " samples and the batch is %" PRId64,
                       n, bs);
  const int64_t nbatches = streams ? n / bs : n / bs + (n % bs != 0);
  const int64_t used = streams ? nbatches * bs : n; /* samples an epoch reads */
  nnrt_optimizer opt = c->opt;
  if (!mul_ok(c->epochs, nbatches, &opt.total_steps))
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "train: %" PRId64 " epochs of %" PRId64 " batches is too many steps",
                       c->epochs, nbatches);

  AccSpec acc = acc_spec(m, train);
  res.has_acc = acc.kind != ACC_NONE;
  Buffers b;
  int rc = alloc_buffers(&b, m, train, &acc, bs < n ? bs : n, false, err, errlen);
  if (rc)
    return rc;
  int64_t perm_bytes;
  int64_t *perm =
      mul_ok(n, (int64_t)sizeof(int64_t), &perm_bytes) && (uint64_t)perm_bytes <= SIZE_MAX
          ? malloc((size_t)perm_bytes)
          : NULL;
  if (!perm) {
    free_buffers(&b);
    return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM, "train: out of memory for %" PRId64 " samples",
                       n);
  }

  /* Saves killed before their rename leave temporary files nothing else
   * would remove. */
  if (c->checkpoint)
    (void)nnrt_safetensors_remove_stale(c->checkpoint);
  if (c->best)
    (void)nnrt_safetensors_remove_stale(c->best);

  nnrt_train_state st;
  nnrt_train_state_init(&st, c->seed);
  const double t0 = now_s();
  int64_t total_samples = 0;
  if (c->resume && (rc = resume_from(c, m, &st, n, nbatches, &acc, err, errlen)))
    goto out;

  Progress pg = {.log = c->log, .epochs = c->epochs};
  pg.bar = c->log && (c->progress > 0 || (c->progress < 0 && isatty(fileno(c->log))));

  if (c->patience > 0 && has_val && st.bad_epochs >= c->patience && st.epoch < c->epochs) {
    res.stopped_early = true;
    progress_line(&pg, "early stop: no better val_loss for %" PRId64 " epochs", st.bad_epochs);
  }
  while (!res.stopped_early && st.epoch < c->epochs) {
    if (streams)
      nnrt_stream_order(n, bs, perm);
    else
      nnrt_epoch_order(n, c->seed, st.epoch, c->shuffle, perm);
    /* a resumed epoch goes on from the states its checkpoint holds */
    if (streams && st.batch == 0 && (rc = m->reset_carried(m->ctx, err, errlen)))
      goto out;
    const double e0 = now_s();
    double train_time = 0;
    int64_t epoch_samples = 0, batches_run = 0;
    for (; st.batch < nbatches; st.batch++) {
      const int64_t lo = st.batch * bs, count = used - lo < bs ? used - lo : bs;
      const int64_t t = st.step + 1;
      nnrt_dataset_gather(train, perm + lo, count, b.x, b.y);
      if ((rc = nnrt_augment_batch(&c->augment, train, c->seed, st.epoch, perm + lo, count, b.x,
                                   err, errlen))) {
        progress_clear(&pg);
        goto out;
      }
      float hyper[4];
      nnrt_optimizer_hyper(&opt, t, st.epoch, hyper);
      float loss = NAN;
      const double s0 = now_s();
      rc = m->train_step(m->ctx, st.step, count, b.x, b.y, hyper, &loss, b.logits, err, errlen);
      train_time += now_s() - s0;
      if (rc == NNRT_ERR_NONFINITE || (!rc && !isfinite(loss))) {
        /* the compiled step updated nothing: the parameters are the last
         * good step's, and nothing is saved */
        progress_clear(&pg);
        rc = nnrt_errorf(err, errlen, NNRT_ERR_NONFINITE,
                         "%s%s at step %" PRId64 " (epoch %" PRId64 ", batch %" PRId64
                         "); stopped without saving",
                         isfinite(loss) ? "the gradient norm is not finite" : "loss is ",
                         isfinite(loss) ? ""
                         : isnan(loss)  ? "nan"
                         : loss > 0     ? "inf"
                                        : "-inf",
                         t, st.epoch + 1, st.batch + 1);
        goto out;
      }
      if (rc) {
        progress_clear(&pg);
        goto out;
      }
      st.step = t;
      st.loss_sum += (double)loss * (double)count;
      count_correct(&acc, m->num_classes, count, b.y, b.logits, &st.correct, &st.seen);
      epoch_samples += count;
      total_samples += count;
      batches_run++;

      const int64_t done = st.batch + 1;
      const int64_t done_samples = done * bs < used ? done * bs : used;
      const double elapsed = now_s() - e0;
      progress_bar(&pg, st.epoch, done, nbatches, st.loss_sum / (double)done_samples,
                   elapsed > 0 ? (double)epoch_samples / elapsed : 0,
                   elapsed / (double)batches_run * (double)(nbatches - done));

      if (c->interrupt && *c->interrupt) {
        st.batch++; /* the position after this batch */
        res.interrupted = true;
        if (c->checkpoint) {
          if ((rc = save_ckpt(c->checkpoint, m, c, &st, err, errlen))) {
            progress_clear(&pg);
            goto out;
          }
          progress_line(&pg, "stopped by interrupt at step %" PRId64 "; checkpoint saved to %s",
                        st.step, c->checkpoint);
        } else {
          progress_line(&pg,
                        "stopped by interrupt at step %" PRId64
                        "; no checkpoint path was given, nothing saved",
                        st.step);
        }
        goto done;
      }
      if (c->checkpoint && c->checkpoint_every > 0 && st.step % c->checkpoint_every == 0) {
        st.batch++;
        rc = save_ckpt(c->checkpoint, m, c, &st, err, errlen);
        st.batch--;
        if (rc) {
          progress_clear(&pg);
          goto out;
        }
      }
    }

    /* The end of the epoch. */
    const double loss = st.loss_sum / (double)used;
    const double tacc = st.seen > 0 ? (double)st.correct / (double)st.seen : 0;
    double vloss = 0, vacc = 0;
    if (has_val && (rc = nnrt_evaluate(m, val, bs, &vloss, &vacc, err, errlen))) {
      progress_clear(&pg);
      goto out;
    }
    if (pg.log) {
      char line[512];
      int len = snprintf(line, sizeof line, "epoch %" PRId64 "/%" PRId64 "  loss %.4f",
                         st.epoch + 1, c->epochs, loss);
      if (res.has_acc)
        len += snprintf(line + len, sizeof line - (size_t)len, "  acc %.4f", tacc);
      if (has_val) {
        len += snprintf(line + len, sizeof line - (size_t)len, "  val_loss %.4f", vloss);
        if (res.has_acc)
          len += snprintf(line + len, sizeof line - (size_t)len, "  val_acc %.4f", vacc);
      }
      snprintf(line + len, sizeof line - (size_t)len, "  %.2fs  %.0f samples/s", now_s() - e0,
               train_time > 0 ? (double)epoch_samples / train_time : 0.0);
      progress_line(&pg, "%s", line);
    }
    res.loss = loss;
    res.acc = tacc;
    res.has_val = has_val;
    res.val_loss = vloss;
    res.val_acc = vacc;
    const bool improved = has_val && vloss < st.best_val_loss;
    if (improved) {
      st.best_val_loss = vloss;
      st.bad_epochs = 0;
    } else if (has_val) {
      st.bad_epochs++;
    }
    st.loss_sum = 0;
    st.correct = st.seen = 0;
    st.epoch++;
    st.batch = 0;
    if (c->checkpoint && (rc = save_ckpt(c->checkpoint, m, c, &st, err, errlen)))
      goto out;
    if (improved && c->best && (rc = save_ckpt(c->best, m, c, &st, err, errlen)))
      goto out;
    if (c->patience > 0 && has_val && st.bad_epochs >= c->patience && st.epoch < c->epochs) {
      res.stopped_early = true;
      progress_line(&pg, "early stop: no better val_loss for %" PRId64 " epochs%s%s", st.bad_epochs,
                    c->best ? "; the best epoch is in " : "", c->best ? c->best : "");
      break;
    }
    if (c->interrupt && *c->interrupt && st.epoch < c->epochs) {
      res.interrupted = true;
      if (c->checkpoint)
        progress_line(&pg, "stopped by interrupt at step %" PRId64 "; checkpoint saved to %s",
                      st.step, c->checkpoint);
      else
        progress_line(&pg,
                      "stopped by interrupt at step %" PRId64
                      "; no checkpoint path was given, nothing saved",
                      st.step);
      break;
    }
  }

done:
  rc = NNRT_OK;
out:
  /* Also after an error: how far the run got. */
  res.epochs = st.epoch;
  res.steps = st.step;
  res.seconds = now_s() - t0;
  res.samples_per_s = res.seconds > 0 ? (double)total_samples / res.seconds : 0;
  if (r)
    *r = res;
  free(perm);
  free_buffers(&b);
  return rc;
}
