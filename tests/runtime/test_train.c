/* test_train.c - the training loop, schedules and checkpoints of a run.
 *
 *   test_train all DIR   every check below (checkpoints are written in DIR)
 *   test_train log DIR   trains the toy model with plain log lines on stdout
 *                        for train.test's FileCheck patterns
 *
 * The model is a toy written here in C: softmax regression over 2 features
 * and 2 classes (w [2, 2], b [2]) trained by SGD with momentum 0.9 at the
 * learning rate hyper[0], so the momentum buffers are optimizer state that
 * a checkpoint must carry. The data are two Gaussian blobs drawn from a
 * fixed seed.
 */
#include "check.h"
#include "nnrt_train.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the toy model ---------------------------------------------------- */

enum { NPARAM = 12 }; /* w[4] b[2] w.v[4] b.v[2] */

typedef struct Toy {
  float p[NPARAM];
  nnrt_named_tensor ts[5];
  nnrt_model_io io;
  int calls;                   /* train_step calls */
  int nan_at;                  /* this call (1-based) returns nan_value; 0: never */
  float nan_value;             /* NAN or INFINITY */
  volatile sig_atomic_t *flag; /* set after interrupt_after calls */
  int interrupt_after;
  const char *snap_path; /* read at the nan call, before returning */
  unsigned char *snap;
  long snap_len;
  const double *val_script; /* evaluate returns these in turn */
  int nval_script, eval_calls;
  float hyper[4]; /* of the last step */
} Toy;

static void toy_forward(const Toy *t, int64_t batch, const float *x, const int32_t *y, double *loss,
                        float *logits, double g[6]) {
  const float *w = t->p, *b = t->p + 4;
  double sum = 0;
  if (g)
    memset(g, 0, 6 * sizeof *g);
  for (int64_t i = 0; i < batch; i++) {
    double x0 = x[2 * i], x1 = x[2 * i + 1];
    double z[2];
    for (int k = 0; k < 2; k++)
      z[k] = x0 * w[k] + x1 * w[2 + k] + b[k];
    if (logits) {
      logits[2 * i] = (float)z[0];
      logits[2 * i + 1] = (float)z[1];
    }
    double m = z[0] > z[1] ? z[0] : z[1];
    double e0 = exp(z[0] - m), e1 = exp(z[1] - m), s = e0 + e1;
    int lab = y[i];
    sum += log(s) - (z[lab] - m);
    if (g) {
      double d[2] = {e0 / s - (lab == 0), e1 / s - (lab == 1)};
      for (int k = 0; k < 2; k++) {
        g[k] += x0 * d[k];
        g[2 + k] += x1 * d[k];
        g[4 + k] += d[k];
      }
    }
  }
  *loss = sum / (double)batch;
  if (g)
    for (int k = 0; k < 6; k++)
      g[k] /= (double)batch;
}

static unsigned char *read_all(const char *path, long *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    *len = -1;
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)*len + 1);
  if (fread(buf, 1, (size_t)*len, f) != (size_t)*len)
    *len = -1;
  fclose(f);
  return buf;
}

static int toy_train_step(void *ctx, int64_t step, int64_t batch, const void *x, const void *y,
                          const float hyper[4], float *loss, float *logits, char *err,
                          size_t errlen) {
  (void)step;
  (void)err;
  (void)errlen;
  Toy *t = ctx;
  t->calls++;
  memcpy(t->hyper, hyper, sizeof t->hyper);
  if (t->flag && t->calls == t->interrupt_after)
    *t->flag = 1;
  if (t->calls == t->nan_at) {
    if (t->snap_path) {
      free(t->snap);
      t->snap = read_all(t->snap_path, &t->snap_len);
    }
    *loss = t->nan_value;
    return 0;
  }
  double l, g[6];
  toy_forward(t, batch, x, y, &l, logits, g);
  float *w = t->p, *v = t->p + 6;
  for (int k = 0; k < 6; k++) {
    v[k] = 0.9f * v[k] + (float)g[k];
    w[k] -= hyper[0] * v[k];
  }
  *loss = (float)l;
  return 0;
}

static int toy_evaluate(void *ctx, int64_t batch, const void *x, const void *y, float *loss,
                        float *logits, char *err, size_t errlen) {
  (void)err;
  (void)errlen;
  Toy *t = ctx;
  double l;
  toy_forward(t, batch, x, y, &l, logits, NULL);
  if (t->val_script) {
    int i = t->eval_calls < t->nval_script ? t->eval_calls : t->nval_script - 1;
    l = t->val_script[i];
  }
  t->eval_calls++;
  *loss = (float)l;
  return 0;
}

static Toy *toy_new(float fill) {
  Toy *t = calloc(1, sizeof *t);
  for (int i = 0; i < NPARAM; i++)
    t->p[i] = fill;
  static const char *names[4] = {"w", "b", "w.v", "b.v"};
  static const int offs[4] = {0, 4, 6, 10};
  for (int i = 0; i < 4; i++) {
    t->ts[i].name = names[i];
    t->ts[i].t.dtype = NNRT_F32;
    t->ts[i].t.data = t->p + offs[i];
    if (i % 2 == 0) {
      t->ts[i].t.rank = 2;
      t->ts[i].t.dims[0] = t->ts[i].t.dims[1] = 2;
    } else {
      t->ts[i].t.rank = 1;
      t->ts[i].t.dims[0] = 2;
    }
  }
  t->io = (nnrt_model_io){.ctx = t,
                          .model_name = "toy",
                          .train_step = toy_train_step,
                          .evaluate = toy_evaluate,
                          .num_classes = 2,
                          .tensors = t->ts,
                          .ntensors = 4};
  t->nan_value = NAN;
  return t;
}

static void toy_free(Toy *t) {
  free(t->snap);
  free(t);
}

/* Two blobs around (-1, -1) (class 0) and (1, 1) (class 1). */
static void make_data(int64_t n, uint64_t seed, nnrt_dataset *d) {
  memset(d, 0, sizeof *d);
  d->n = n;
  d->x_dtype = NNRT_F32;
  d->y_dtype = NNRT_I32;
  d->x_rank = 1;
  d->x_dims[0] = 2;
  d->x_size = 2;
  d->y_rank = 0;
  d->y_size = 1;
  float *x = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *x);
  int32_t *y = malloc((size_t)(n > 0 ? n : 1) * sizeof *y);
  nnrt_rng r;
  nnrt_rng_seed(&r, seed);
  for (int64_t i = 0; i < n; i++) {
    y[i] = (int32_t)nnrt_rng_below(&r, 2);
    double c = y[i] ? 1.0 : -1.0;
    x[2 * i] = (float)(c + 0.8 * nnrt_rng_normal(&r));
    x[2 * i + 1] = (float)(c + 0.8 * nnrt_rng_normal(&r));
  }
  d->x = x;
  d->y = y;
}

static void free_data(nnrt_dataset *d) {
  free(d->x);
  free(d->y);
  memset(d, 0, sizeof *d);
}

static nnrt_train_config base_config(void) {
  nnrt_train_config c = {.epochs = 4, .batch = 8, .seed = 7, .shuffle = true};
  c.opt = (nnrt_optimizer){.kind = NNRT_SGD, .lr = 0.1, .schedule = NNRT_SCHED_CONSTANT};
  return c;
}

/* ---- log lines -------------------------------------------------------- */

enum { MAXLINES = 64 };

typedef struct {
  char s[MAXLINES][256];
  int n;
} Lines;

/* The figures of each epoch line in f ("loss ..  acc ..  val_loss .."),
 * without the epoch count and the timing fields. */
static void epoch_lines(FILE *f, Lines *out) {
  char line[1024];
  rewind(f);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "epoch ", 6) != 0 || strchr(line, '['))
      continue;
    if (out->n == MAXLINES)
      break;
    char *o = out->s[out->n++];
    o[0] = '\0';
    for (char *p = strstr(line, "  "); p; p = strstr(p + 2, "  ")) {
      char *q = p + 2;
      if (strncmp(q, "loss ", 5) == 0 || strncmp(q, "acc ", 4) == 0 ||
          strncmp(q, "val_loss ", 9) == 0 || strncmp(q, "val_acc ", 8) == 0) {
        char *e = strstr(q, "  ");
        size_t len = e ? (size_t)(e - q) : strcspn(q, "\n");
        strncat(o, q, len < 100 ? len : 100);
        strcat(o, ";");
      }
    }
  }
}

static char *file_text(FILE *f) {
  fflush(f);
  long len = ftell(f);
  rewind(f);
  char *s = calloc((size_t)len + 1, 1);
  if (fread(s, 1, (size_t)len, f) != (size_t)len)
    s[0] = '\0';
  fseek(f, 0, SEEK_END);
  return s;
}

static bool file_contains(FILE *f, const char *needle) {
  char *s = file_text(f);
  bool r = strstr(s, needle) != NULL;
  free(s);
  return r;
}

static bool same_lines(const Lines *a, const Lines *b) {
  if (a->n != b->n)
    return false;
  for (int i = 0; i < a->n; i++)
    if (strcmp(a->s[i], b->s[i]) != 0)
      return false;
  return true;
}

static void print_lines(const char *what, const Lines *l) {
  fprintf(stderr, "%s:\n", what);
  for (int i = 0; i < l->n; i++)
    fprintf(stderr, "  %s\n", l->s[i]);
}

/* ---- schedules and hyper ---------------------------------------------- */

static void test_schedules(void) {
  nnrt_optimizer o = {.kind = NNRT_SGD, .lr = 0.1, .schedule = NNRT_SCHED_CONSTANT};
  CHECK(nnrt_optimizer_lr(&o, 1, 0) == 0.1);
  CHECK(nnrt_optimizer_lr(&o, 1000, 7) == 0.1);

  o.schedule = NNRT_SCHED_STEP;
  o.every = 2;
  o.gamma = 0.5;
  CHECK_NEAR(nnrt_optimizer_lr(&o, 1, 0), 0.1, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 50, 1), 0.1, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 51, 2), 0.05, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 80, 3), 0.05, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 150, 5), 0.025, 1e-15);
  /* Warm-up applies to the schedule's value. */
  o.every = 1;
  o.warmup = 4;
  CHECK_NEAR(nnrt_optimizer_lr(&o, 2, 1), 0.05 * 2 / 4, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 5, 1), 0.05, 1e-15);

  o = (nnrt_optimizer){.lr = 0.2, .schedule = NNRT_SCHED_CONSTANT, .warmup = 4};
  CHECK_NEAR(nnrt_optimizer_lr(&o, 1, 0), 0.05, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 2, 0), 0.1, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 4, 0), 0.2, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 5, 0), 0.2, 1e-15);

  o = (nnrt_optimizer){
      .lr = 1.0, .schedule = NNRT_SCHED_COSINE, .min_lr = 0.1, .warmup = 10, .total_steps = 110};
  CHECK_NEAR(nnrt_optimizer_lr(&o, 5, 0), 0.5, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 10, 0), 1.0, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 11, 0), 1.0, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 12, 0), 0.1 + 0.9 * (1 + cos(M_PI / 100)) / 2, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 61, 3), 0.55, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 86, 3), 0.1 + 0.9 * (1 + cos(M_PI * 0.75)) / 2, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 110, 9), 0.1 + 0.9 * (1 + cos(M_PI * 0.99)) / 2, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 200, 9), 0.1, 1e-15);
  o.warmup = 0;
  o.total_steps = 100;
  CHECK_NEAR(nnrt_optimizer_lr(&o, 0, 0), 1.0, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 1, 0), 1.0, 1e-15);
  CHECK_NEAR(nnrt_optimizer_lr(&o, 51, 0), 0.55, 1e-15);
}

static void test_hyper(void) {
  nnrt_optimizer o = {.kind = NNRT_ADAM, .lr = 0.001, .beta1 = 0.9, .beta2 = 0.999};
  float h[4];
  nnrt_optimizer_hyper(&o, 1, 0, h);
  CHECK(h[0] == 0.001f);
  CHECK_NEAR(h[1], 0.01, 1e-9);
  CHECK_NEAR(h[2], 1 / sqrt(0.001), 1e-4);
  CHECK(h[3] == 0);
  nnrt_optimizer_hyper(&o, 10, 0, h);
  CHECK(h[1] == (float)(0.001 / (1 - pow(0.9, 10))));
  CHECK(h[2] == (float)(1 / sqrt(1 - pow(0.999, 10))));
  /* Large t: the corrections tend to 1. */
  nnrt_optimizer_hyper(&o, 1000000, 0, h);
  CHECK_NEAR(h[1], 0.001, 1e-9);
  CHECK_NEAR(h[2], 1.0, 1e-6);
  /* AdamW the same, with warm-up in hyper[0] and hyper[1]. */
  o.kind = NNRT_ADAMW;
  o.warmup = 10;
  nnrt_optimizer_hyper(&o, 5, 0, h);
  CHECK(h[0] == (float)(0.001 * 5 / 10));
  CHECK(h[1] == (float)(0.0005 / (1 - pow(0.9, 5))));
  CHECK(h[2] == (float)(1 / sqrt(1 - pow(0.999, 5))));
  o.kind = NNRT_SGD;
  nnrt_optimizer_hyper(&o, 20, 0, h);
  CHECK(h[0] == 0.001f && h[1] == 0 && h[2] == 0 && h[3] == 0);
  o.kind = NNRT_RMSPROP;
  nnrt_optimizer_hyper(&o, 20, 0, h);
  CHECK(h[0] == 0.001f && h[1] == 0 && h[2] == 0 && h[3] == 0);
}

/* ---- training --------------------------------------------------------- */

static int run(Toy *t, const nnrt_train_config *c, const nnrt_dataset *tr, const nnrt_dataset *va,
               nnrt_train_result *r, char *err, size_t errlen) {
  err[0] = '\0';
  int rc = nnrt_train(&t->io, c, tr, va, r, err, errlen);
  return rc;
}

static void test_loss_falls(void) {
  nnrt_dataset tr, va;
  make_data(50, 1, &tr);
  make_data(20, 2, &va);
  Toy *t = toy_new(0);
  char err[512];
  double l0, a0;
  CHECK(nnrt_evaluate(&t->io, &tr, 8, &l0, &a0, err, sizeof err) == NNRT_OK);
  CHECK_NEAR(l0, log(2.0), 1e-6);
  /* All logits equal: the first class wins, so accuracy is the share of 0s. */
  int64_t zeros = 0;
  for (int64_t i = 0; i < tr.n; i++)
    zeros += ((int32_t *)tr.y)[i] == 0;
  CHECK(a0 == (double)zeros / (double)tr.n);

  FILE *log = tmpfile();
  nnrt_train_config c = base_config();
  c.epochs = 8;
  c.log = log;
  nnrt_train_result r;
  int rc = run(t, &c, &tr, &va, &r, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  CHECK(r.epochs == 8 && r.steps == 8 * 7);
  CHECK(r.has_acc && r.has_val && !r.interrupted && !r.stopped_early);
  CHECK(r.loss < 0.4 && r.acc > 0.85);
  CHECK(r.val_loss < 0.4 && r.val_acc > 0.85);
  CHECK(r.seconds >= 0 && r.samples_per_s >= 0);
  double l1, a1;
  CHECK(nnrt_evaluate(&t->io, &va, 3, &l1, &a1, err, sizeof err) == NNRT_OK);
  CHECK(l1 == r.val_loss || fabs(l1 - r.val_loss) < 1e-6);
  CHECK(a1 == r.val_acc);
  Lines l = {0};
  epoch_lines(log, &l);
  CHECK(l.n == 8);
  double first = 0, last = 0;
  CHECK(l.n > 0 && sscanf(l.s[0], "loss %lf", &first) == 1);
  CHECK(l.n > 0 && sscanf(l.s[l.n - 1], "loss %lf", &last) == 1);
  CHECKF(last < first - 0.2, "loss %g -> %g", first, last);
  CHECK(!file_contains(log, "\r"));
  fclose(log);

  /* A model without classes: no accuracy, and nothing asks for logits. */
  Toy *u = toy_new(0);
  u->io.num_classes = 0;
  log = tmpfile();
  c.epochs = 2;
  c.log = log;
  rc = run(u, &c, &tr, NULL, &r, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  CHECK(!r.has_acc && !r.has_val);
  CHECK(!file_contains(log, "acc") && !file_contains(log, "val_"));
  CHECK(file_contains(log, "epoch 2/2  loss "));
  fclose(log);

  toy_free(u);
  toy_free(t);
  free_data(&tr);
  free_data(&va);
}

/* 4 epochs straight against 2 epochs and a resumed run for the other 2. */
static void test_resume_split(void) {
  nnrt_dataset tr, va;
  make_data(50, 1, &tr);
  make_data(20, 2, &va);
  char err[512];
  nnrt_train_config c = base_config();
  c.opt.schedule = NNRT_SCHED_STEP;
  c.opt.every = 1;
  c.opt.gamma = 0.7;
  c.opt.warmup = 3;

  Toy *a = toy_new(0);
  FILE *la = tmpfile();
  c.log = la;
  c.checkpoint = in_dir("split_a.ckpt");
  nnrt_train_result ra, rb;
  CHECKF(run(a, &c, &tr, &va, &ra, err, sizeof err) == NNRT_OK, "%s", err);

  Toy *b = toy_new(0);
  FILE *lb = tmpfile();
  c.log = lb;
  c.checkpoint = in_dir("split_b.ckpt");
  c.epochs = 2;
  CHECKF(run(b, &c, &tr, &va, &rb, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(rb.epochs == 2 && rb.steps == 14);
  toy_free(b);
  b = toy_new(5.0f); /* load must replace all of it */
  c.epochs = 4;
  c.resume = true;
  CHECKF(run(b, &c, &tr, &va, &rb, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(rb.epochs == 4 && rb.steps == 28);
  CHECK(b->calls == 14);

  Lines A = {0}, B = {0};
  epoch_lines(la, &A);
  epoch_lines(lb, &B);
  CHECK(A.n == 4);
  if (!same_lines(&A, &B)) {
    CHECK(!"epoch lines differ");
    print_lines("straight", &A);
    print_lines("split", &B);
  }
  CHECK(memcmp(a->p, b->p, sizeof a->p) == 0);
  CHECK(ra.loss == rb.loss && ra.acc == rb.acc && ra.val_loss == rb.val_loss);
  CHECK(file_contains(lb, "epoch 3/4  loss"));
  fclose(la);
  fclose(lb);
  toy_free(a);
  toy_free(b);
  free_data(&tr);
  free_data(&va);
}

/* Interrupts mid-run (at an epoch's last batch, then mid-epoch) and resumes
 * each time: the same lines and parameters as a run that never stopped. */
static void test_resume_interrupt(void) {
  nnrt_dataset tr, va;
  make_data(50, 1, &tr);
  make_data(20, 2, &va);
  char err[512];
  nnrt_train_config c = base_config();
  c.opt = (nnrt_optimizer){
      .kind = NNRT_SGD, .lr = 0.2, .schedule = NNRT_SCHED_COSINE, .min_lr = 0.01, .warmup = 5};
  c.checkpoint_every = 3;
  c.patience = 10;
  nnrt_kv meta[1] = {{"nnc.config", "toy run"}};
  c.meta = meta;
  c.nmeta = 1;

  Toy *a = toy_new(0);
  FILE *la = tmpfile();
  c.log = la;
  c.checkpoint = in_dir("int_a.ckpt");
  nnrt_train_result ra, rb;
  CHECKF(run(a, &c, &tr, &va, &ra, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(ra.epochs == 4 && !ra.interrupted);

  volatile sig_atomic_t flag = 0;
  c.interrupt = &flag;
  c.checkpoint = in_dir("int_b.ckpt");
  FILE *lb = tmpfile();
  c.log = lb;

  Toy *b = toy_new(0);
  b->flag = &flag;
  b->interrupt_after = 7; /* the last batch of epoch 1 */
  CHECKF(run(b, &c, &tr, &va, &rb, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(rb.interrupted && rb.steps == 7 && rb.epochs == 0);
  {
    char want[4200];
    snprintf(want, sizeof want, "stopped by interrupt at step 7; checkpoint saved to %s\n",
             c.checkpoint);
    CHECK(file_contains(lb, want));
  }
  toy_free(b);

  flag = 0;
  c.resume = true;
  b = toy_new(-3.0f);
  b->flag = &flag;
  b->interrupt_after = 4; /* step 11: batch 4 of epoch 2 */
  CHECKF(run(b, &c, &tr, &va, &rb, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(rb.interrupted && rb.steps == 11 && rb.epochs == 1);
  CHECK(file_contains(lb, "stopped by interrupt at step 11"));
  toy_free(b);

  flag = 0;
  b = toy_new(2.0f);
  CHECKF(run(b, &c, &tr, &va, &rb, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(!rb.interrupted && rb.steps == 28 && rb.epochs == 4);
  CHECK(b->calls == 28 - 11);

  Lines A = {0}, B = {0};
  epoch_lines(la, &A);
  epoch_lines(lb, &B);
  CHECK(A.n == 4);
  if (!same_lines(&A, &B)) {
    CHECK(!"epoch lines differ");
    print_lines("straight", &A);
    print_lines("interrupted", &B);
  }
  CHECK(memcmp(a->p, b->p, sizeof a->p) == 0);
  CHECK(ra.loss == rb.loss && ra.acc == rb.acc && ra.val_loss == rb.val_loss &&
        ra.val_acc == rb.val_acc);
  /* The last hyper of both runs: same step, same schedule. */
  CHECK(memcmp(a->hyper, b->hyper, sizeof a->hyper) == 0);
  /* the last step runs just above the cosine's floor */
  CHECK(b->hyper[0] > 0.01f && b->hyper[0] < 0.05f);

  /* The final checkpoints agree too, metadata included. */
  nnrt_safetensors *fa = NULL, *fb = NULL;
  CHECK(nnrt_safetensors_open(in_dir("int_a.ckpt"), &fa, err, sizeof err) == NNRT_OK);
  CHECK(nnrt_safetensors_open(in_dir("int_b.ckpt"), &fb, err, sizeof err) == NNRT_OK);
  if (fa && fb) {
    static const char *keys[] = {"nnc.format",     "nnc.model", "nnc.step",
                                 "nnc.epoch",      "nnc.batch", "nnc.loss_sum",
                                 "nnc.correct",    "nnc.seen",  "nnc.best_val_loss",
                                 "nnc.bad_epochs", "nnc.rng",   "nnc.config"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
      const char *va_ = nnrt_safetensors_meta(fa, keys[i]);
      const char *vb_ = nnrt_safetensors_meta(fb, keys[i]);
      CHECKF(va_ && vb_ && strcmp(va_, vb_) == 0, "%s: %s vs %s", keys[i], va_ ? va_ : "-",
             vb_ ? vb_ : "-");
    }
    const char *s = nnrt_safetensors_meta(fb, "nnc.step");
    CHECK(s && strcmp(s, "28") == 0);
    s = nnrt_safetensors_meta(fb, "nnc.config");
    CHECK(s && strcmp(s, "toy run") == 0);
  }
  nnrt_safetensors_close(fa);
  nnrt_safetensors_close(fb);

  /* Without a checkpoint path an interrupt just stops, and says so. */
  toy_free(b);
  b = toy_new(0);
  b->flag = &flag;
  b->interrupt_after = 3;
  c.checkpoint = NULL;
  c.resume = false;
  FILE *lc = tmpfile();
  c.log = lc;
  CHECKF(run(b, &c, &tr, &va, &rb, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(rb.interrupted && rb.steps == 3);
  CHECK(file_contains(lc, "stopped by interrupt at step 3; no checkpoint"));
  fclose(lc);

  fclose(la);
  fclose(lb);
  toy_free(a);
  toy_free(b);
  free_data(&tr);
  free_data(&va);
}

static void test_nonfinite(void) {
  nnrt_dataset tr;
  make_data(50, 1, &tr);
  char err[512];
  nnrt_train_config c = base_config();
  const char *path = in_dir("nan.ckpt");
  remove(path);
  c.checkpoint = path;
  c.checkpoint_every = 4;
  nnrt_train_result r;

  /* Step 4 saves; step 5 is nan: the file stays as step 4 left it. */
  Toy *t = toy_new(0);
  t->nan_at = 5;
  t->snap_path = path;
  int rc = run(t, &c, &tr, NULL, &r, err, sizeof err);
  CHECK(rc == NNRT_ERR_NONFINITE);
  CHECKF(strcmp(err, "loss is nan at step 5 (epoch 1, batch 5); stopped without saving") == 0, "%s",
         err);
  CHECK(r.steps == 4 && r.epochs == 0);
  long len;
  unsigned char *now = read_all(path, &len);
  CHECK(t->snap && t->snap_len > 0 && len == t->snap_len && memcmp(now, t->snap, (size_t)len) == 0);
  free(now);
  toy_free(t);

  /* A checkpoint from an earlier run is untouched when a resumed run
   * meets an infinite loss. */
  c.checkpoint_every = 0;
  c.epochs = 1;
  t = toy_new(0);
  CHECKF(run(t, &c, &tr, NULL, &r, err, sizeof err) == NNRT_OK, "%s", err);
  toy_free(t);
  long len0;
  unsigned char *before = read_all(path, &len0);
  t = toy_new(0);
  t->nan_at = 2;
  t->nan_value = INFINITY;
  c.epochs = 3;
  c.resume = true;
  rc = run(t, &c, &tr, NULL, &r, err, sizeof err);
  CHECK(rc == NNRT_ERR_NONFINITE);
  CHECKF(strcmp(err, "loss is inf at step 9 (epoch 2, batch 2); stopped without saving") == 0, "%s",
         err);
  now = read_all(path, &len);
  CHECK(before && len == len0 && memcmp(now, before, (size_t)len) == 0);
  free(now);
  free(before);
  toy_free(t);
  free_data(&tr);
}

static bool params_are(const Toy *t, float v) {
  for (int i = 0; i < NPARAM; i++)
    if (t->p[i] != v)
      return false;
  return true;
}

static void test_checkpoint_errors(void) {
  nnrt_dataset tr;
  make_data(50, 1, &tr);
  char err[512];
  const char *path = in_dir("ck.ckpt");
  Toy *t = toy_new(0);
  nnrt_train_config c = base_config();
  c.epochs = 1;
  nnrt_train_result r;
  CHECKF(run(t, &c, &tr, NULL, &r, err, sizeof err) == NNRT_OK, "%s", err);

  nnrt_train_state s;
  nnrt_train_state_init(&s, 99);
  CHECK(s.step == 0 && s.epoch == 0 && s.batch == 0 && s.loss_sum == 0 && s.correct == 0 &&
        s.seen == 0 && isinf(s.best_val_loss) && s.best_val_loss > 0 && s.bad_epochs == 0);
  s.step = 12;
  s.epoch = 3;
  s.batch = 2;
  s.loss_sum = 0.1 + 0.2;
  s.correct = 5;
  s.seen = 9;
  s.bad_epochs = 1;
  s.rng.key = UINT64_MAX - 3;
  s.rng.counter = 456;
  nnrt_kv extra[2] = {{"nnc.config", "lr=0.1"}, {"user", "x"}};
  CHECKF(nnrt_checkpoint_save(path, &t->io, &s, extra, 2, err, sizeof err) == NNRT_OK, "%s", err);

  /* A round trip restores every bit. */
  Toy *u = toy_new(7.0f);
  nnrt_train_state back;
  CHECKF(nnrt_checkpoint_load(path, &u->io, &back, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(memcmp(u->p, t->p, sizeof t->p) == 0);
  CHECK(back.step == 12 && back.epoch == 3 && back.batch == 2 && back.loss_sum == 0.1 + 0.2 &&
        back.correct == 5 && back.seen == 9 && isinf(back.best_val_loss) && back.bad_epochs == 1 &&
        back.rng.key == UINT64_MAX - 3 && back.rng.counter == 456);
  s.best_val_loss = 0.1 / 3;
  CHECK(nnrt_checkpoint_save(path, &t->io, &s, extra, 2, err, sizeof err) == NNRT_OK);
  CHECK(nnrt_checkpoint_load(path, &u->io, &back, err, sizeof err) == NNRT_OK);
  CHECK(back.best_val_loss == 0.1 / 3);
  CHECK(nnrt_checkpoint_load(path, &u->io, NULL, err, sizeof err) == NNRT_OK);

  /* Reserved keys cannot come in as extras. */
  nnrt_kv bad_extra[1] = {{"nnc.step", "3"}};
  CHECK(nnrt_checkpoint_save(in_dir("never.ckpt"), &t->io, &s, bad_extra, 1, err, sizeof err) ==
        NNRT_ERR_ARG);
  CHECKF(strstr(err, "nnc.step") != NULL, "%s", err);

  /* Another model's checkpoint. */
  toy_free(u);
  u = toy_new(7.0f);
  u->io.model_name = "other";
  int rc = nnrt_checkpoint_load(path, &u->io, &back, err, sizeof err);
  CHECK(rc != NNRT_OK);
  CHECKF(strstr(err, "written for model 'toy', not 'other'") != NULL, "%s", err);
  CHECKF(strncmp(err, path, strlen(path)) == 0, "%s", err);
  CHECK(params_are(u, 7.0f));
  u->io.model_name = "toy";

  /* The model has a tensor the file lacks (the others would read fine). */
  float extra_data[3] = {7, 7, 7};
  u->ts[4] = (nnrt_named_tensor){
      .name = "extra", .t = {.dtype = NNRT_F32, .rank = 1, .dims = {3}, .data = extra_data}};
  u->io.ntensors = 5;
  rc = nnrt_checkpoint_load(path, &u->io, &back, err, sizeof err);
  CHECK(rc != NNRT_OK);
  CHECKF(strstr(err, "'extra'") != NULL || strstr(err, "\"extra\"") != NULL, "%s", err);
  CHECK(params_are(u, 7.0f) && extra_data[0] == 7);

  /* The file has a tensor the model lacks. */
  u->io.ntensors = 3;
  rc = nnrt_checkpoint_load(path, &u->io, &back, err, sizeof err);
  CHECK(rc != NNRT_OK);
  CHECKF(strstr(err, "'b.v'") != NULL, "%s", err);
  CHECK(params_are(u, 7.0f));
  u->io.ntensors = 4;

  /* A shape mismatch in the last tensor, after three good ones. */
  u->ts[3].t.rank = 2;
  u->ts[3].t.dims[0] = 1;
  u->ts[3].t.dims[1] = 2;
  rc = nnrt_checkpoint_load(path, &u->io, &back, err, sizeof err);
  CHECK(rc == NNRT_ERR_SHAPE);
  CHECKF(strstr(err, "b.v") != NULL, "%s", err);
  CHECK(params_are(u, 7.0f));
  u->ts[3].t.rank = 1;
  u->ts[3].t.dims[0] = 2;
  /* And in dtype. */
  u->ts[0].t.dtype = NNRT_I32;
  rc = nnrt_checkpoint_load(path, &u->io, &back, err, sizeof err);
  CHECK(rc == NNRT_ERR_SHAPE);
  CHECK(params_are(u, 7.0f));
  u->ts[0].t.dtype = NNRT_F32;

  /* No file. */
  rc = nnrt_checkpoint_load(in_dir("missing.ckpt"), &u->io, &back, err, sizeof err);
  CHECK(rc != NNRT_OK && strstr(err, "missing.ckpt") != NULL);
  CHECK(params_are(u, 7.0f));

  /* Metadata that is missing or malformed, each named. */
  struct {
    const char *key, *value, *want;
  } cases[] = {
      {"nnc.step", "12x", "\"nnc.step\""},
      {"nnc.step", "-1", "\"nnc.step\""},
      {"nnc.epoch", NULL, "\"nnc.epoch\""},
      {"nnc.loss_sum", "abc", "\"nnc.loss_sum\""},
      {"nnc.rng", "5", "\"nnc.rng\""},
      {"nnc.rng", "5:", "\"nnc.rng\""},
      {"nnc.best_val_loss", "", "best_val_loss"},
      {"nnc.format", "2", "nnc.format"},
      {"nnc.model", NULL, "nnc.model"},
      {"nnc.correct", "10", "nnc.correct"},
      {"nnc.seen", "99999999999999999999", "nnc.seen"},
      /* Counts at 2^63 - 1 would overflow the step and sample counters. */
      {"nnc.step", "9223372036854775807",
       "\"nnc.step\" is '9223372036854775807', not an "
       "integer in [0, 2^53]"},
      {"nnc.epoch", "9223372036854775807", "\"nnc.epoch\""},
      {"nnc.seen", "9223372036854775807", "\"nnc.seen\""},
      {"nnc.batch", "9007199254740993", "\"nnc.batch\""},
      {"nnc.batch", "+1", "\"nnc.batch\""},
      {"nnc.batch", " 1", "\"nnc.batch\""},
      {"nnc.loss_sum", "inf", "\"nnc.loss_sum\" is inf, expected a finite number"},
      {"nnc.best_val_loss", "-inf", "\"nnc.best_val_loss\" is -inf"},
      {"nnc.bad_epochs", "1", "\"nnc.bad_epochs\" (1) exceeds the epochs done"},
      {"nnc.rng", "1:18446744073709551616", "\"nnc.rng\""},
      {"nnc.rng", "-1:2", "\"nnc.rng\""},
      {"nnc.rng", "1:2:3", "\"nnc.rng\""},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    nnrt_kv kv[11] = {{"nnc.format", "1"},     {"nnc.model", "toy"}, {"nnc.step", "1"},
                      {"nnc.epoch", "0"},      {"nnc.batch", "1"},   {"nnc.loss_sum", "0.5"},
                      {"nnc.correct", "1"},    {"nnc.seen", "8"},    {"nnc.best_val_loss", "inf"},
                      {"nnc.bad_epochs", "0"}, {"nnc.rng", "1:2"}};
    int nkv = 0;
    nnrt_kv use[11];
    for (int i = 0; i < 11; i++) {
      if (strcmp(kv[i].key, cases[k].key) == 0) {
        if (!cases[k].value)
          continue;
        kv[i].value = cases[k].value;
      }
      use[nkv++] = kv[i];
    }
    const char *p = in_dir("meta.ckpt");
    CHECK(nnrt_safetensors_save(p, t->ts, 4, use, nkv, err, sizeof err) == NNRT_OK);
    rc = nnrt_checkpoint_load(p, &u->io, &back, err, sizeof err);
    CHECKF(rc == NNRT_ERR_FORMAT && strstr(err, cases[k].want) != NULL, "case %s=%s: rc %d: %s",
           cases[k].key, cases[k].value ? cases[k].value : "(none)", rc, err);
    CHECK(params_are(u, 7.0f));
  }
  toy_free(u);
  toy_free(t);
  free_data(&tr);
}

/* A resumed state must be one this run could have saved: 50 samples in
 * batches of 8 are 7 batches an epoch, 4 epochs in all. */
static void test_resume_bounds(void) {
  nnrt_dataset tr;
  make_data(50, 1, &tr);
  char err[512];
  nnrt_train_config c = base_config();
  c.checkpoint = in_dir("bounds.ckpt");
  c.resume = true;
  struct {
    int64_t step, epoch, batch, seen;
    double loss_sum;
    const char *want; /* NULL: resumes */
  } cases[] = {
      {35, 5, 0, 0, 0, "\"nnc.epoch\" is 5, past this run's 4 epochs (resume with --epochs 6"},
      {29, 4, 1, 8, 0.5, "\"nnc.batch\" is 1, but epoch 5 of this run has 0 batches of 8"},
      {15, 1, 8, 50, 0.5, "\"nnc.batch\" is 8, but epoch 2 of this run has 7 batches of 8"},
      {999, 1, 2, 16, 0.5,
       "\"nnc.step\" is 999, but 1 epochs of 7 batches and 2 more make 9 steps"},
      {9, 1, 2, 5, 0.5, "\"nnc.seen\" is 5, but 2 batches of this epoch make 16 labels"},
      {7, 1, 0, 0, 3.0, "\"nnc.loss_sum\" is 3 at the start of an epoch"},
      {21, 2, 7, 50, 0.5, NULL}, /* interrupted after an epoch's last batch */
      {9, 1, 2, 16, 0.5, NULL},
      {28, 4, 0, 0, 0, NULL}, /* finished: nothing to train */
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    Toy *t = toy_new(0);
    nnrt_train_state s;
    nnrt_train_state_init(&s, c.seed);
    s.step = cases[k].step;
    s.epoch = cases[k].epoch;
    s.batch = cases[k].batch;
    s.seen = cases[k].seen;
    s.correct = s.seen / 2;
    s.loss_sum = cases[k].loss_sum;
    CHECKF(nnrt_checkpoint_save(c.checkpoint, &t->io, &s, NULL, 0, err, sizeof err) == NNRT_OK,
           "%s", err);
    nnrt_train_result r;
    int rc = run(t, &c, &tr, NULL, &r, err, sizeof err);
    if (cases[k].want) {
      CHECKF(rc == NNRT_ERR_FORMAT && strstr(err, cases[k].want) &&
                 strncmp(err, c.checkpoint, strlen(c.checkpoint)) == 0 && t->calls == 0,
             "case %zu: rc %d: %s", k, rc, err);
    } else {
      int64_t left = 4 * 7 - cases[k].step;
      CHECKF(rc == NNRT_OK && r.steps == 28 && r.epochs == 4 && t->calls == left,
             "case %zu: rc %d, %lld steps, %d calls: %s", k, rc, (long long)r.steps, t->calls, err);
    }
    toy_free(t);
  }
  free_data(&tr);
}

static void test_early_stop(void) {
  nnrt_dataset tr, va;
  make_data(50, 1, &tr);
  make_data(6, 2, &va); /* one evaluate call per epoch */
  char err[512];
  static const double script[] = {1.0, 0.9, 0.95, 0.92, 0.91, 0.5};
  nnrt_train_config c = base_config();
  c.epochs = 10;
  c.patience = 3;
  c.checkpoint = in_dir("early.ckpt");
  FILE *log = tmpfile();
  c.log = log;
  Toy *t = toy_new(0);
  t->val_script = script;
  t->nval_script = 6;
  nnrt_train_result r;
  CHECKF(run(t, &c, &tr, &va, &r, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(r.stopped_early && !r.interrupted && r.epochs == 5 && r.steps == 35);
  CHECK(r.val_loss == (double)(float)0.91);
  CHECK(file_contains(log, "early stop: no better val_loss for 3 epochs\n"));
  Lines l = {0};
  epoch_lines(log, &l);
  CHECK(l.n == 5);
  toy_free(t);

  /* c.best: the epoch with the lowest val loss (the second, 0.9) is kept
   * as a whole checkpoint, and the stop line says where. */
  char best[4096];
  snprintf(best, sizeof best, "%s", in_dir("early.best.ckpt"));
  c.best = best;
  t = toy_new(0);
  t->val_script = script;
  t->nval_script = 6;
  rewind(log);
  CHECKF(run(t, &c, &tr, &va, &r, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(r.stopped_early && r.epochs == 5);
  CHECK(file_contains(log, "; the best epoch is in "));
  nnrt_train_state kept;
  CHECKF(nnrt_checkpoint_load(best, &t->io, &kept, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(kept.epoch == 2 && kept.step == 14 && kept.best_val_loss == (double)(float)0.9);
  CHECKF(nnrt_checkpoint_load(c.checkpoint, &t->io, &kept, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(kept.epoch == 5 && kept.bad_epochs == 3);
  toy_free(t);
  c.best = NULL;

  /* Resuming a run that stopped early stops again at once. */
  t = toy_new(0);
  c.resume = true;
  CHECKF(run(t, &c, &tr, &va, &r, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(r.stopped_early && r.epochs == 5 && t->calls == 0);

  /* Patience 0: never. */
  toy_free(t);
  t = toy_new(0);
  t->val_script = script;
  t->nval_script = 6;
  c.resume = false;
  c.patience = 0;
  c.epochs = 7;
  CHECKF(run(t, &c, &tr, &va, &r, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(!r.stopped_early && r.epochs == 7);
  toy_free(t);
  fclose(log);
  free_data(&tr);
  free_data(&va);
}

static void test_progress(void) {
  nnrt_dataset tr, va;
  make_data(50, 1, &tr);
  make_data(20, 2, &va);
  char err[512];
  nnrt_train_config c = base_config();
  c.epochs = 2;
  c.progress = 1;
  FILE *log = tmpfile();
  c.log = log;
  Toy *t = toy_new(0);
  nnrt_train_result r;
  CHECKF(run(t, &c, &tr, &va, &r, err, sizeof err) == NNRT_OK, "%s", err);
  char *s = file_text(log);
  CHECK(strchr(s, '\r') != NULL);
  CHECKF(strstr(s, "\r\033[Kepoch 1/2 [") != NULL, "%s", s);
  CHECK(strstr(s, "samples/s  ETA ") != NULL);
  /* Each epoch line replaces the bar and ends the line. */
  CHECK(strstr(s, "epoch 2/2  loss ") != NULL);
  size_t len = strlen(s);
  CHECK(len > 0 && s[len - 1] == '\n');
  free(s);
  fclose(log);

  /* -1: a bar only on a terminal, and a temporary file is none. */
  c.progress = -1;
  log = tmpfile();
  c.log = log;
  CHECKF(run(t, &c, &tr, &va, &r, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(!file_contains(log, "\r"));
  CHECK(file_contains(log, "epoch 2/2  loss "));
  fclose(log);
  toy_free(t);
  free_data(&tr);
  free_data(&va);
}

static void test_arguments(void) {
  nnrt_dataset tr, empty;
  make_data(50, 1, &tr);
  make_data(0, 1, &empty);
  char err[512];
  Toy *t = toy_new(0);
  nnrt_train_result r;
  nnrt_train_config c = base_config();
  c.batch = 0;
  CHECK(run(t, &c, &tr, NULL, &r, err, sizeof err) == NNRT_ERR_ARG && strstr(err, "batch"));
  c = base_config();
  c.epochs = 0;
  CHECK(run(t, &c, &tr, NULL, &r, err, sizeof err) == NNRT_ERR_ARG && strstr(err, "epochs"));
  c = base_config();
  CHECK(run(t, &c, &empty, NULL, &r, err, sizeof err) == NNRT_ERR_ARG && strstr(err, "empty"));
  c.resume = true;
  CHECK(run(t, &c, &tr, NULL, &r, err, sizeof err) == NNRT_ERR_ARG);
  c.checkpoint = in_dir("does-not-exist.ckpt");
  CHECK(run(t, &c, &tr, NULL, &r, err, sizeof err) != NNRT_OK &&
        strstr(err, "does-not-exist.ckpt"));
  void *x = tr.x;
  tr.x = NULL;
  c = base_config();
  CHECK(run(t, &c, &tr, NULL, &r, err, sizeof err) == NNRT_ERR_ARG);
  tr.x = x;
  CHECK(t->calls == 0 && params_are(t, 0));

  /* An empty validation set is no validation. */
  CHECKF(run(t, &c, &tr, &empty, &r, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(!r.has_val);

  double loss = 5, acc = 5;
  CHECK(nnrt_evaluate(&t->io, &empty, 8, &loss, &acc, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(loss == 0 && acc == 0);
  CHECK(nnrt_evaluate(&t->io, &tr, 0, &loss, &acc, err, sizeof err) == NNRT_ERR_ARG);
  toy_free(t);
  free_data(&tr);
  free_data(&empty);
}

/* Plain log lines on stdout for FileCheck. */
static int log_mode(void) {
  nnrt_dataset tr, va;
  make_data(50, 1, &tr);
  make_data(6, 2, &va);
  char err[512];
  static const double script[] = {1.0, 1.5, 1.5};
  nnrt_train_config c = base_config();
  c.epochs = 5;
  c.patience = 2;
  c.log = stdout;
  Toy *t = toy_new(0);
  t->val_script = script;
  t->nval_script = 3;
  nnrt_train_result r;
  int rc = run(t, &c, &tr, &va, &r, err, sizeof err);
  toy_free(t);
  printf("--\n");
  t = toy_new(0);
  t->io.num_classes = 0;
  c.epochs = 1;
  c.patience = 0;
  if (!rc)
    rc = run(t, &c, &tr, NULL, &r, err, sizeof err);
  toy_free(t);
  free_data(&tr);
  free_data(&va);
  if (rc)
    printf("error: %s\n", err);
  return rc != 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_train all|log DIR\n");
    return 2;
  }
  test_dir = argv[2];
  if (strcmp(argv[1], "log") == 0)
    return log_mode();
  test_schedules();
  test_hyper();
  test_loss_falls();
  test_resume_split();
  test_resume_interrupt();
  test_resume_bounds();
  test_nonfinite();
  test_checkpoint_errors();
  test_early_stop();
  test_progress();
  test_arguments();
  return check_report("test_train");
}
