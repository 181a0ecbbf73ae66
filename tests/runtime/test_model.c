/* test_model.c - the nnrt_model handle and the commands over a model
 * described by hand.
 *
 *   test_model all DIR       every check below (files are written in DIR)
 *   test_model main DIR ARGS  nnrt_main("lin", ARGS...) on the same model
 *                            with DIR/lin.csv as its data, for model.test
 *
 * The model is written here in C: linear regression y = x W + b (W [3, 1],
 * b [1]) with a predict function, a training step doing SGD on the mean
 * squared error at the learning rate hyper[0], and its loss. The step keeps
 * its intermediates in workspace buffers and records the offsets it got, so
 * the layout can be checked; a fourth function reads class labels and
 * reports a bad one through the workspace's status slots as compiled code
 * does.
 */
#include "check.h"
#include "nnrt_checkpoint.h"
#include "nnrt_model.h"
#include "nnrt_train.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the compiled code ------------------------------------------------- */

/* What the last training step saw. */
static struct {
  int64_t offsets[3];
  char *ws;
  float hyper[4];
  uint64_t rng[2]; /* {seed, step} the last step was called with */
  int calls;
} seen;

static int32_t predict_entry(const int64_t *dims, void *const *inputs, void *const *params,
                             void *const *outputs, char *ws, const int64_t *ws_offsets,
                             const uint64_t *rng) {
  (void)ws;
  (void)rng;
  (void)ws_offsets;
  const float *x = inputs[0], *w = params[0], *b = params[1];
  float *y = outputs[0];
  for (int64_t i = 0; i < dims[0]; i++)
    y[i] = x[3 * i] * w[0] + x[3 * i + 1] * w[1] + x[3 * i + 2] * w[2] + b[0];
  return 0;
}

/* The mean squared error into *loss and, when lr > 0, one SGD step. The
 * residuals, gradient and squares live in buffers 0, 1 and 2. */
static int32_t mse(const int64_t *dims, void *const *inputs, void *const *params, float *loss,
                   float lr, char *ws, const int64_t *off) {
  int64_t n = dims[0];
  const float *x = inputs[0], *y = inputs[1];
  float *w = params[0], *b = params[1];
  float *r = (float *)(ws + off[0]), *g = (float *)(ws + off[1]), *sq = (float *)(ws + off[2]);
  memset(g, 0, 4 * sizeof *g);
  for (int64_t i = 0; i < n; i++) {
    r[i] = x[3 * i] * w[0] + x[3 * i + 1] * w[1] + x[3 * i + 2] * w[2] + b[0] - y[i];
    for (int k = 0; k < 3; k++)
      g[k] += 2 * r[i] * x[3 * i + k] / (float)n;
    g[3] += 2 * r[i] / (float)n;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; i++)
    sum += sq[i] = r[i] * r[i];
  *loss = (float)(sum / (double)n);
  for (int k = 0; k < 3 && lr > 0; k++)
    w[k] -= lr * g[k];
  if (lr > 0)
    b[0] -= lr * g[3];
  return 0;
}

static int32_t step_entry(const int64_t *dims, void *const *inputs, void *const *params,
                          void *const *outputs, char *ws, const int64_t *ws_offsets,
                          const uint64_t *rng) {
  memcpy(seen.offsets, ws_offsets, sizeof seen.offsets);
  memcpy(seen.rng, rng, sizeof seen.rng);
  seen.ws = ws;
  memcpy(seen.hyper, inputs[2], sizeof seen.hyper);
  seen.calls++;
  return mse(dims, inputs, params, outputs[0], seen.hyper[0], ws, ws_offsets);
}

static int32_t loss_entry(const int64_t *dims, void *const *inputs, void *const *params,
                          void *const *outputs, char *ws, const int64_t *ws_offsets,
                          const uint64_t *rng) {
  (void)rng;
  return mse(dims, inputs, params, outputs[0], 0, ws, ws_offsets);
}

/* Labels [B, 2] in [0, 2): the first bad one is reported as value 5 (a
 * known label site) when it is positive, as value 9 (none) otherwise. */
static int32_t classify_entry(const int64_t *dims, void *const *inputs, void *const *params,
                              void *const *outputs, char *ws, const int64_t *ws_offsets,
                              const uint64_t *rng) {
  (void)rng;
  (void)params;
  (void)ws_offsets;
  const int32_t *labels = inputs[1];
  int64_t *st = (int64_t *)ws;
  for (int64_t i = 0; i < dims[0] * 2; i++)
    if (labels[i] < 0 || labels[i] >= 2) {
      st[0] = labels[i] > 0 ? 5 : 9;
      st[1] = i;
      st[2] = labels[i];
      st[3] = 2;
      return 1;
    }
  *(float *)outputs[0] = 0;
  return 0;
}

/* ---- the descriptor ---------------------------------------------------- */

/* B = 0 + 1*B; n = n with no terms */
#define DIM_B                                                                                      \
  {                                                                                                \
    0, 1, {                                                                                        \
      {                                                                                            \
        1, 1, { 0 }                                                                                \
      }                                                                                            \
    }                                                                                              \
  }
#define DIM_C(n)                                                                                   \
  {                                                                                                \
    n, 0, {                                                                                        \
      { 0 }                                                                                        \
    }                                                                                              \
  }

static const char *const dim_names[] = {"B"};
static const nnrt_arg_desc x_arg = {"x", NNRT_F32, 2, {DIM_B, DIM_C(3)}};
static const nnrt_arg_desc y_arg = {"y", NNRT_F32, 1, {DIM_B}};
static const nnrt_arg_desc hyper_arg = {"hyper", NNRT_F32, 1, {DIM_C(4)}};
static const nnrt_arg_desc loss_arg = {"loss", NNRT_F32, 0, {DIM_C(1)}};
static const nnrt_arg_desc labels_arg = {"labels", NNRT_I32, 2, {DIM_B, DIM_C(2)}};
static const nnrt_arg_desc pred_out = {"y", NNRT_F32, 2, {DIM_B, DIM_C(1)}};

/* residuals [B] live 0..1, gradient [4] 1..2, squares [B] 2..2: the squares
 * may reuse the residuals' bytes, the gradient may not */
static const nnrt_buffer_desc step_bufs[] = {
    {DIM_B, 4, 0, 1}, {DIM_C(4), 4, 1, 2}, {DIM_B, 4, 2, 2}};
static const nnrt_label_site sites[] = {{5, 1, "cross_entropy", 2, {DIM_B, DIM_C(2)}, 2}};

enum { F_PREDICT, F_STEP, F_LOSS, F_CLASSIFY, F_LAZY, NFUNCS };

typedef struct Model {
  nnrt_arg_desc step_in[3], loss_in[2], cls_in[2];
  nnrt_func_desc funcs[NFUNCS];
  nnrt_param_desc params[3];
  nnrt_model_desc d;
} Model;

static void make_model(Model *m, const char *name, const char *csv) {
  memset(m, 0, sizeof *m);
  m->step_in[0] = m->loss_in[0] = m->cls_in[0] = x_arg;
  m->step_in[1] = m->loss_in[1] = y_arg;
  m->step_in[2] = hyper_arg;
  m->cls_in[1] = labels_arg;
  nnrt_func_desc *f = m->funcs;
  f[F_PREDICT] = (nnrt_func_desc){.name = "predict",
                                  .ndims = 1,
                                  .dim_names = dim_names,
                                  .ninputs = 1,
                                  .nresults = 1,
                                  .inputs = &x_arg,
                                  .results = &pred_out,
                                  .entry = predict_entry};
  f[F_STEP] = (nnrt_func_desc){.name = "train.step",
                               .ndims = 1,
                               .dim_names = dim_names,
                               .ninputs = 3,
                               .nresults = 1,
                               .inputs = m->step_in,
                               .results = &loss_arg,
                               .nbufs = 3,
                               .bufs = step_bufs,
                               .entry = step_entry};
  f[F_LOSS] = f[F_STEP];
  f[F_LOSS].name = "loss";
  f[F_LOSS].ninputs = 2;
  f[F_LOSS].inputs = m->loss_in;
  f[F_LOSS].entry = loss_entry;
  f[F_CLASSIFY] = (nnrt_func_desc){.name = "classify",
                                   .ndims = 1,
                                   .dim_names = dim_names,
                                   .ninputs = 2,
                                   .nresults = 1,
                                   .inputs = m->cls_in,
                                   .results = &loss_arg,
                                   .nlabels = 1,
                                   .labels = sites,
                                   .entry = classify_entry};
  f[F_LAZY] = f[F_PREDICT];
  f[F_LAZY].name = "lazy";
  f[F_LAZY].entry = NULL;
  m->params[0] = (nnrt_param_desc){"W", NNRT_F32, 2, {3, 1}, NNRT_INIT_NORMAL, 1, 0, 0.5, NULL};
  m->params[1] = (nnrt_param_desc){"b", NNRT_F32, 1, {1}, NNRT_INIT_UNIFORM, 1, -1, 1, NULL};
  m->params[2] =
      (nnrt_param_desc){"optim.W.v", NNRT_F32, 2, {3, 1}, NNRT_INIT_ZEROS, 0, 0, 0, NULL};
  m->d = (nnrt_model_desc){.abi = NNRT_MODEL_ABI,
                           .size = sizeof(nnrt_model_desc),
                           .name = name,
                           .nparams = 3,
                           .nfuncs = NFUNCS,
                           .params = m->params,
                           .funcs = m->funcs,
                           .train = F_STEP,
                           .eval = F_LOSS,
                           .predict = F_PREDICT,
                           .generate = -1,
                           .generate_tables = -1,
                           .nupdated = 2};
  nnrt_train_desc *c = &m->d.cfg;
  c->has_data = csv != NULL;
  c->has_train = 1;
  c->source = (nnrt_source_desc){.kind = NNRT_DATA_CSV, .path = csv, .has_label = 1, .label = -1};
  c->validation = 0.25;
  c->batch = 8;
  c->epochs = 20;
  c->seed = 7;
  c->shuffle = 1;
  c->optim = NNRT_SGD;
  c->schedule = NNRT_SCHED_CONSTANT;
  c->lr = 0.05;
}

/* y = 2 x0 - x1 + 0.5 x2 + 1 on a grid, 40 rows */
static const char *write_csv(void) {
  static char path[4096];
  snprintf(path, sizeof path, "%s", in_dir("lin.csv")); /* outlives in_dir's buffers */
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 40; i++) {
    double x0 = (i % 5) - 2, x1 = ((i / 5) % 4) - 1.5, x2 = (i % 3) * 0.5;
    fprintf(f, "%g,%g,%g,%g\n", x0, x1, x2, 2 * x0 - x1 + 0.5 * x2 + 1);
  }
  fclose(f);
  return path;
}

static bool has(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

/* call on handle h fails with code and a message containing part */
#define CHECK_ERR(h, call, code, part)                                                             \
  do {                                                                                             \
    int check_rc_ = (call);                                                                        \
    CHECKF(check_rc_ == (code) && has(nnrt_model_error(h), part), "rc %d, message '%s'",           \
           check_rc_, nnrt_model_error(h));                                                        \
  } while (0)

/* ---- checks ------------------------------------------------------------ */

static void test_create(Model *md) {
  nnrt_model *m = NULL;
  CHECK(nnrt_model_create(&md->d, &m) == NNRT_OK && m);
  CHECK(nnrt_model_descriptor(m) == &md->d);
  CHECK(!strcmp(nnrt_model_error(m), ""));
  /* the parameters are nnc run's: one stream from the seed, in order */
  nnrt_rng r;
  nnrt_rng_seed(&r, 7);
  float w[3], b[1], v[3] = {1, 1, 1}, got[3];
  nnrt_tensor tw = {NNRT_F32, 2, {3, 1}, w}, tb = {NNRT_F32, 1, {1}, b};
  char err[256];
  CHECK(!nnrt_init_tensor(&r, NNRT_INIT_NORMAL, 0, 0.5, &tw, err, sizeof err));
  CHECK(!nnrt_init_tensor(&r, NNRT_INIT_UNIFORM, -1, 1, &tb, err, sizeof err));
  CHECK(!nnrt_model_get_param(m, "W", got, sizeof got) && !memcmp(got, w, sizeof w));
  CHECK(!nnrt_model_get_param(m, "b", got, 4) && got[0] == b[0]);
  CHECK(!nnrt_model_get_param(m, "optim.W.v", v, sizeof v) && v[0] == 0 && v[2] == 0);
  CHECK(nnrt_model_find_param(m, "b") == 1 && nnrt_model_find_param(m, "nope") == -1);
  CHECK(nnrt_model_param_bytes(m, 0) == 12 && nnrt_model_param_bytes(m, 3) == -1);
  CHECK(nnrt_model_find_func(m, "loss") == F_LOSS && nnrt_model_find_func(m, "x") == -1);
  CHECK(nnrt_model_input_size(m) == 3 && nnrt_model_output_size(m) == 1);
  CHECK(nnrt_model_label_size(m) == 1 && nnrt_model_steps(m) == 0);
  /* a reset with the same seed gives the same bits; another seed others */
  float w2[3] = {9, 9, 9};
  CHECK(!nnrt_model_set_param(m, "W", w2, sizeof w2));
  CHECK(!nnrt_model_reset(m, 7) && !nnrt_model_get_param(m, "W", got, 12) && !memcmp(got, w, 12));
  CHECK(!nnrt_model_reset(m, 8) && !nnrt_model_get_param(m, "W", got, 12) && memcmp(got, w, 12));
  nnrt_model_free(m);
  nnrt_model_free(NULL);

  /* baked weights replace their parameter's draws, not the others' */
  static const float baked[3] = {1, 2, 3};
  Model bk = *md;
  bk.params[0].baked = baked;
  bk.d.params = bk.params;
  CHECK(!nnrt_model_create(&bk.d, &m));
  CHECK(!nnrt_model_get_param(m, "W", got, 12) && !memcmp(got, baked, 12));
  CHECK(!nnrt_model_get_param(m, "b", got, 4) && got[0] == b[0]);
  nnrt_model_free(m);

  /* and baked statistics standardise predict's x */
  static const float mean[3] = {1, 2, 3}, std[3] = {2, 4, 0.5f};
  bk.d.cfg.standardize = 1;
  bk.d.baked_mean = mean;
  bk.d.baked_std = std;
  CHECK(!nnrt_model_create(&bk.d, &m));
  float x[3] = {3, 2, 4}, y;
  CHECK(!nnrt_model_predict(m, 1, x, &y));
  CHECK_NEAR(y, 1 * 1 + 2 * 0 + 3 * 2 + b[0], 1e-6);
  nnrt_model_free(m);
}

static void test_predict(Model *md) {
  nnrt_model *m = NULL;
  CHECK(!nnrt_model_create(&md->d, &m));
  float w[3] = {1, -2, 0.5f}, b = 3;
  CHECK(!nnrt_model_set_param(m, "W", w, sizeof w) && !nnrt_model_set_param(m, "b", &b, 4));
  for (int64_t batch = 1; batch <= 33; batch += 8) {
    float x[33 * 3], y[33];
    for (int i = 0; i < batch * 3; i++)
      x[i] = (float)(i % 7) - 3;
    CHECK(!nnrt_model_predict(m, batch, x, y));
    bool ok = true;
    for (int i = 0; i < batch; i++)
      ok &= y[i] == x[3 * i] * 1 + x[3 * i + 1] * -2 + x[3 * i + 2] * 0.5f + 3;
    CHECKF(ok, "batch %lld", (long long)batch);
  }
  nnrt_model_free(m);

  /* x comes in the data file's units: the data section's scale applies */
  Model sc = *md;
  sc.d.params = sc.params;
  sc.d.funcs = sc.funcs;
  sc.d.cfg.has_data = 1;
  sc.d.cfg.source.kind = NNRT_DATA_CSV;
  sc.d.cfg.source.scale = 0.5;
  CHECK(!nnrt_model_create(&sc.d, &m));
  CHECK(!nnrt_model_set_param(m, "W", w, sizeof w) && !nnrt_model_set_param(m, "b", &b, 4));
  float x[3] = {2, 4, 8}, y = 0;
  CHECK(!nnrt_model_predict(m, 1, x, &y) && y == 1 * 1 + 2 * -2 + 4 * 0.5f + 3);
  CHECK(x[0] == 2 && x[1] == 4); /* the caller's x is left alone */
  nnrt_model_free(m);
}

/* The layout of the step's workspace is nnrt_plan_layout's past the 64-byte
 * header; it is laid out again only for other dims and only ever grows. */
static void check_layout(int64_t batch) {
  int64_t sizes[3] = {4 * batch, 16, 4 * batch}, want[3];
  int first[3] = {0, 1, 2}, last[3] = {1, 2, 2};
  CHECK(nnrt_plan_layout(3, sizes, first, last, want) >= 0);
  bool ok = true;
  for (int i = 0; i < 3; i++)
    ok &= seen.offsets[i] == want[i] + 64 && seen.offsets[i] % 64 == 0;
  CHECKF(ok, "batch %lld: offsets %lld %lld %lld", (long long)batch, (long long)seen.offsets[0],
         (long long)seen.offsets[1], (long long)seen.offsets[2]);
  CHECK(((uintptr_t)seen.ws & 63) == 0);
}

static void test_train_step(Model *md) {
  nnrt_model *m = NULL;
  CHECK(!nnrt_model_create(&md->d, &m));
  float x[16 * 3], y[16];
  for (int i = 0; i < 16; i++) {
    x[3 * i] = (float)(i % 4) - 1.5f;
    x[3 * i + 1] = (float)(i / 4) - 1.5f;
    x[3 * i + 2] = (float)(i % 3);
    y[i] = 2 * x[3 * i] - x[3 * i + 1] + 0.5f * x[3 * i + 2] + 1;
  }
  float first = 0, loss = 0, eval = 0;
  CHECK(!nnrt_model_evaluate(m, 16, x, y, &first));
  for (int s = 0; s < 50; s++)
    CHECK(!nnrt_model_train_step(m, 16, x, y, &loss));
  CHECK(!nnrt_model_evaluate(m, 16, x, y, &eval));
  CHECKF(eval < first * 0.05f, "loss %g -> %g", first, eval);
  CHECK(nnrt_model_steps(m) == 50 && seen.hyper[0] == 0.05f);
  /* random ops draw with the data section's seed and the steps before the call */
  CHECKF(seen.rng[0] == md->d.cfg.seed && seen.rng[1] == 49, "rng {%llu, %llu}",
         (unsigned long long)seen.rng[0], (unsigned long long)seen.rng[1]);
  CHECK(!nnrt_model_set_seed(m, 77) && !nnrt_model_train_step(m, 16, x, y, NULL));
  CHECK(seen.rng[0] == 77 && seen.rng[1] == 50);
  CHECK(nnrt_model_set_seed(NULL, 1) == NNRT_ERR_ARG);
  check_layout(16);
  char *ws = seen.ws;
  CHECK(!nnrt_model_train_step(m, 4, x, y, NULL));
  check_layout(4);
  CHECK(seen.ws == ws); /* smaller: the same memory */
  /* a fixed learning rate, then the schedule again */
  CHECK(!nnrt_model_set_lr(m, 0.5) && !nnrt_model_train_step(m, 4, x, y, NULL));
  CHECK(seen.hyper[0] == 0.5f);
  CHECK(!nnrt_model_set_lr(m, 0) && !nnrt_model_train_step(m, 4, x, y, NULL));
  CHECK(seen.hyper[0] == 0.05f);
  nnrt_model_free(m);

  /* the section's schedule only when the program asks for it: a step
   * schedule then goes by the steps since set_schedule, or the epoch when
   * set */
  Model st = *md;
  st.d.params = st.params;
  st.d.funcs = st.funcs;
  st.d.cfg.schedule = NNRT_SCHED_STEP;
  st.d.cfg.every = 2;
  st.d.cfg.gamma = 0.5;
  CHECK(!nnrt_model_create(&st.d, &m));
  float h[3];
  for (int s = 0; s < 3; s++) {
    CHECK(!nnrt_model_train_step(m, 4, x, y, NULL));
    h[s] = seen.hyper[0];
  }
  CHECKF(h[0] == 0.05f && h[1] == 0.05f && h[2] == 0.05f, "%g %g %g", h[0], h[1], h[2]);
  CHECK(!nnrt_model_set_schedule(m, 100));
  for (int s = 0; s < 3; s++) {
    CHECK(nnrt_model_lr(m) == (s < 2 ? 0.05 : 0.025));
    CHECK(!nnrt_model_train_step(m, 4, x, y, NULL));
    h[s] = seen.hyper[0];
  }
  CHECKF(h[0] == 0.05f && h[1] == 0.05f && h[2] == 0.025f, "%g %g %g", h[0], h[1], h[2]);
  CHECK(!nnrt_model_set_epoch(m, 4) && !nnrt_model_train_step(m, 4, x, y, NULL));
  CHECK(seen.hyper[0] == 0.0125f);
  nnrt_model_free(m);

  /* cosine over the program's steps, whatever the section's epochs */
  st.d.cfg.schedule = NNRT_SCHED_COSINE;
  st.d.cfg.min_lr = 0;
  st.d.cfg.epochs = 2;
  CHECK(!nnrt_model_create(&st.d, &m));
  for (int s = 0; s < 5; s++)
    CHECK(!nnrt_model_train_step(m, 4, x, y, NULL) && seen.hyper[0] == 0.05f);
  CHECK(!nnrt_model_set_schedule(m, 4) && nnrt_model_lr(m) == 0.05);
  double lrs[5];
  for (int s = 0; s < 5; s++) {
    lrs[s] = nnrt_model_lr(m);
    CHECK(!nnrt_model_train_step(m, 4, x, y, NULL) && seen.hyper[0] == (float)lrs[s]);
  }
  CHECKF(lrs[0] == 0.05 && lrs[1] < lrs[0] && lrs[3] > 0 && lrs[3] < lrs[2] && lrs[4] == 0,
         "%g %g %g %g %g", lrs[0], lrs[1], lrs[2], lrs[3], lrs[4]);
  CHECK(nnrt_model_set_schedule(m, -1) == NNRT_ERR_ARG && nnrt_model_lr(NULL) == -1);
  nnrt_model_free(m);
}

static void test_checkpoints(Model *md) {
  nnrt_model *m = NULL, *m2 = NULL;
  CHECK(!nnrt_model_create(&md->d, &m) && !nnrt_model_create(&md->d, &m2));
  float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 1}, y[4] = {1, 2, 3, 4};
  CHECK(!nnrt_model_train_step(m, 4, x, y, NULL) && !nnrt_model_train_step(m, 4, x, y, NULL));
  float v[3] = {1, 2, 3};
  CHECK(!nnrt_model_set_param(m, "optim.W.v", v, sizeof v));
  CHECK(!nnrt_model_save(m, in_dir("a.safetensors")));
  CHECK(!nnrt_model_load(m2, in_dir("a.safetensors")));
  float a[3], b[3];
  CHECK(!nnrt_model_get_param(m, "W", a, 12) && !nnrt_model_get_param(m2, "W", b, 12));
  CHECK(!memcmp(a, b, 12));
  CHECK(!nnrt_model_get_param(m2, "optim.W.v", b, 12) && !memcmp(v, b, 12));
  CHECK(nnrt_model_steps(m2) == 2);

  /* missing, another model's, unwritable: errors, m2 unchanged */
  CHECK_ERR(m2, nnrt_model_load(m2, in_dir("none.safetensors")), NNRT_ERR_IO, "none.safetensors");
  Model other;
  make_model(&other, "Other", NULL);
  nnrt_model *o = NULL;
  CHECK(!nnrt_model_create(&other.d, &o) && !nnrt_model_save(o, in_dir("o.safetensors")));
  nnrt_model_free(o);
  CHECK_ERR(m2, nnrt_model_load(m2, in_dir("o.safetensors")), NNRT_ERR_FORMAT,
            "written for model 'Other', not 'Lin'");
  CHECK_ERR(m2, nnrt_model_save(m2, in_dir("no/such/dir/x.safetensors")), NNRT_ERR_IO, "no/such");
  CHECK(!nnrt_model_get_param(m2, "W", b, 12) && !memcmp(a, b, 12));

  /* standardize: the statistics go into checkpoints */
  Model sd = *md;
  sd.d.params = sd.params;
  sd.d.funcs = sd.funcs;
  sd.d.cfg.standardize = 1;
  nnrt_model *s = NULL;
  CHECK(!nnrt_model_create(&sd.d, &s) && !nnrt_model_save(s, in_dir("s.safetensors")));
  nnrt_safetensors *f = NULL;
  char err[512];
  CHECK(!nnrt_safetensors_open(in_dir("s.safetensors"), &f, err, sizeof err));
  CHECK(f && nnrt_safetensors_count(f) == 5 && !strcmp(nnrt_safetensors_name(f, 3), "data.mean"));
  nnrt_safetensors_close(f);
  /* a file without them does not fit */
  CHECK(nnrt_model_load(s, in_dir("a.safetensors")) != NNRT_OK);
  nnrt_model_free(s);
  nnrt_model_free(m);
  nnrt_model_free(m2);
}

/* *v becomes md with its own parameter table, to be changed (the
 * functions' arguments stay md's). */
static void variant(Model *v, const Model *md) {
  *v = *md;
  v->d.params = v->params;
  v->d.funcs = v->funcs;
}

/* A copy of m's parameter `name` (at most 3 floats) compared with want. */
static bool param_is(nnrt_model *m, const char *name, const float *want, size_t n) {
  float got[3];
  return !nnrt_model_get_param(m, name, got, n * sizeof *got) &&
         !memcmp(got, want, n * sizeof *got);
}

/* nnrt_model_load_weights: the weights of a checkpoint saved without
 * optimizer state (as a fit saves it) or with another section's; the
 * handle's optimizer state and position stay. nnrt_model_load refuses
 * both files, and say why. */
static void test_load_weights(Model *md) {
  Model fit, adam, wide, bare;
  variant(&fit, md);
  variant(&adam, md);
  variant(&wide, md);
  variant(&bare, md);
  fit.d.nparams = 2; /* W and b, no optim.W.v */
  adam.params[2].name = "optim.W.m";
  wide.params[1].dims[0] = 2; /* b [2] */
  bare.d.nparams = 1;         /* W only */
  bare.d.nupdated = 1;
  nnrt_model *m = NULL, *f = NULL, *a = NULL, *w = NULL, *b = NULL;
  const Model *descs[] = {md, &fit, &adam, &wide, &bare};
  nnrt_model **handles[] = {&m, &f, &a, &w, &b};
  for (int i = 0; i < 5; i++)
    CHECKF(!nnrt_model_create(&descs[i]->d, handles[i]), "%d: %s", i, nnrt_model_create_error());
  const float fw[3] = {1, 2, 3}, fb[1] = {5}, aw[3] = {-1, -2, -3}, v[3] = {7, 8, 9};
  CHECK(!nnrt_model_set_param(f, "W", fw, sizeof fw) && !nnrt_model_set_param(f, "b", fb, 4));
  CHECK(!nnrt_model_set_epoch(f, 4) && !nnrt_model_save(f, in_dir("fit.safetensors")));
  CHECK(!nnrt_model_set_param(a, "W", aw, sizeof aw) &&
        !nnrt_model_set_param(a, "optim.W.m", fw, 12));
  CHECK(!nnrt_model_set_epoch(a, 9) && !nnrt_model_save(a, in_dir("adam.safetensors")));
  CHECK(!nnrt_model_save(w, in_dir("wide.safetensors")) &&
        !nnrt_model_save(b, in_dir("bare.safetensors")));

  float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 1}, y[4] = {1, 2, 3, 4};
  CHECK(!nnrt_model_train_step(m, 4, x, y, NULL) && !nnrt_model_set_param(m, "optim.W.v", v, 12));
  CHECKF(!nnrt_model_load_weights(m, in_dir("fit.safetensors")), "%s", nnrt_model_error(m));
  CHECK(param_is(m, "W", fw, 3) && param_is(m, "b", fb, 1) && param_is(m, "optim.W.v", v, 3));
  CHECK(nnrt_model_steps(m) == 1 && nnrt_model_epoch(m) == 1); /* its own step, not the file's */
  CHECK_ERR(m, nnrt_model_load(m, in_dir("fit.safetensors")), NNRT_ERR_FORMAT,
            "fit.safetensors: no optimizer state for this training step (no tensor 'optim.W.v')");
  CHECKF(!nnrt_model_load_weights(m, in_dir("adam.safetensors")), "%s", nnrt_model_error(m));
  CHECK(param_is(m, "W", aw, 3) && param_is(m, "optim.W.v", v, 3) && nnrt_model_epoch(m) == 1);
  CHECK_ERR(m, nnrt_model_load(m, in_dir("adam.safetensors")), NNRT_ERR_FORMAT,
            "adam.safetensors: no optimizer state for this training step (no tensor 'optim.W.v')");
  CHECK_ERR(f, nnrt_model_load(f, in_dir("adam.safetensors")), NNRT_ERR_FORMAT,
            "has tensor 'optim.W.m', optimizer state this training step lacks");
  CHECK(!nnrt_model_load_weights(f, in_dir("adam.safetensors")) && param_is(f, "W", aw, 3));

  /* the weights are still checked, and a failure changes nothing */
  CHECK_ERR(m, nnrt_model_load_weights(m, in_dir("wide.safetensors")), NNRT_ERR_SHAPE, "'b'");
  CHECK_ERR(m, nnrt_model_load_weights(m, in_dir("bare.safetensors")), NNRT_ERR_FORMAT,
            "bare.safetensors: no tensor 'b'");
  CHECK_ERR(m, nnrt_model_load(m, in_dir("bare.safetensors")), NNRT_ERR_FORMAT,
            "bare.safetensors: no tensor 'b'"); /* a weight, not the optimizer state, is missing */
  CHECK_ERR(m, nnrt_model_load_weights(m, in_dir("none.safetensors")), NNRT_ERR_IO, "none");
  CHECK(param_is(m, "W", aw, 3) && param_is(m, "optim.W.v", v, 3));
  Model other;
  make_model(&other, "Other", NULL);
  nnrt_model *o = NULL;
  CHECK(!nnrt_model_create(&other.d, &o) && !nnrt_model_save(o, in_dir("o.safetensors")));
  CHECK_ERR(m, nnrt_model_load_weights(m, in_dir("o.safetensors")), NNRT_ERR_FORMAT,
            "written for model 'Other', not 'Lin'");
  CHECK(nnrt_model_load_weights(NULL, "x") == NNRT_ERR_ARG);
  CHECK_ERR(m, nnrt_model_load_weights(m, NULL), NNRT_ERR_ARG, "load_weights: the path is NULL");
  nnrt_model *all[] = {m, f, a, w, b, o};
  for (int i = 0; i < 6; i++)
    nnrt_model_free(all[i]);
}

static void test_labels(Model *md) {
  nnrt_model *m = NULL;
  CHECK(!nnrt_model_create(&md->d, &m));
  float x[4 * 3] = {0}, loss;
  int32_t labels[8] = {0, 1, 1, 0, 1, 7, 0, 0};
  int64_t dims[1] = {4};
  const void *in[2] = {x, labels};
  void *out[1] = {&loss};
  CHECK_ERR(m, nnrt_model_call(m, F_CLASSIFY, dims, in, out), NNRT_ERR_ARG,
            "cross_entropy: label 7 of 'labels' at [2, 1] is outside [0, 2)");
  labels[5] = -1;
  CHECK_ERR(m, nnrt_model_call(m, F_CLASSIFY, dims, in, out), NNRT_ERR_ARG,
            "label -1 at position 5 of value %9 is outside [0, 2)");
  labels[5] = 1;
  CHECK(!nnrt_model_call(m, F_CLASSIFY, dims, in, out));
  dims[0] = 0;
  CHECK_ERR(m, nnrt_model_call(m, F_CLASSIFY, dims, in, out), NNRT_ERR_ARG,
            "dimension 0 of classify is 0; dimensions must be positive");
  dims[0] = 1;
  CHECK_ERR(m, nnrt_model_call(m, F_LAZY, dims, in, out), NNRT_ERR_ARG,
            "lazy has no compiled code");
  nnrt_model_free(m);
}

static void test_misuse(Model *md) {
  float buf[64] = {0}, loss;
  int64_t dims[1] = {1};
  const void *in[2] = {buf, buf};
  void *out[1] = {buf};
  /* no handle */
  CHECK(nnrt_model_predict(NULL, 1, buf, buf) == NNRT_ERR_ARG);
  CHECK(nnrt_model_train_step(NULL, 1, buf, buf, &loss) == NNRT_ERR_ARG);
  CHECK(nnrt_model_evaluate(NULL, 1, buf, buf, &loss) == NNRT_ERR_ARG);
  CHECK(nnrt_model_load(NULL, "x") == NNRT_ERR_ARG && nnrt_model_save(NULL, "x") == NNRT_ERR_ARG);
  CHECK(nnrt_model_reset(NULL, 1) == NNRT_ERR_ARG && nnrt_model_set_lr(NULL, 1) == NNRT_ERR_ARG);
  CHECK(nnrt_model_set_epoch(NULL, 1) == NNRT_ERR_ARG);
  CHECK(nnrt_model_call(NULL, 0, dims, in, out) == NNRT_ERR_ARG);
  CHECK(nnrt_model_get_param(NULL, "W", buf, 12) == NNRT_ERR_ARG);
  CHECK(nnrt_model_set_param(NULL, "W", buf, 12) == NNRT_ERR_ARG);
  CHECK(nnrt_model_steps(NULL) == -1 && nnrt_model_input_size(NULL) == -1);
  CHECK(nnrt_model_output_size(NULL) == -1 && nnrt_model_label_size(NULL) == -1);
  CHECK(nnrt_model_find_param(NULL, "W") == -1 && nnrt_model_find_func(NULL, "loss") == -1);
  CHECK(nnrt_model_param_bytes(NULL, 0) == -1 && nnrt_model_descriptor(NULL) == NULL);
  CHECK(strlen(nnrt_model_error(NULL)) > 0);

  nnrt_model *m = NULL;
  CHECK(!nnrt_model_create(&md->d, &m));
  CHECK_ERR(m, nnrt_model_predict(m, 0, buf, buf), NNRT_ERR_ARG, "predict: batch 0");
  CHECK_ERR(m, nnrt_model_predict(m, -3, buf, buf), NNRT_ERR_ARG, "batch -3");
  CHECK_ERR(m, nnrt_model_predict(m, 1, NULL, buf), NNRT_ERR_ARG, "x is NULL");
  CHECK_ERR(m, nnrt_model_predict(m, 1, buf, NULL), NNRT_ERR_ARG, "the output is NULL");
  CHECK_ERR(m, nnrt_model_train_step(m, 0, buf, buf, &loss), NNRT_ERR_ARG, "train_step: batch 0");
  CHECK_ERR(m, nnrt_model_train_step(m, 1, buf, NULL, &loss), NNRT_ERR_ARG, "y is NULL");
  CHECK_ERR(m, nnrt_model_evaluate(m, 0, buf, buf, &loss), NNRT_ERR_ARG, "evaluate: batch 0");
  CHECK_ERR(m, nnrt_model_evaluate(m, 2, NULL, buf, &loss), NNRT_ERR_ARG, "x is NULL");
  CHECK_ERR(m, nnrt_model_get_param(m, "W", buf, 8), NNRT_ERR_SHAPE, "'W' has 12 bytes, not 8");
  CHECK_ERR(m, nnrt_model_set_param(m, "b", buf, 12), NNRT_ERR_SHAPE, "'b' has 4 bytes, not 12");
  CHECK_ERR(m, nnrt_model_get_param(m, "nope", buf, 4), NNRT_ERR_ARG, "no parameter 'nope'");
  CHECK_ERR(m, nnrt_model_set_param(m, "nope", buf, 4), NNRT_ERR_ARG, "no parameter 'nope'");
  CHECK_ERR(m, nnrt_model_get_param(m, NULL, buf, 4), NNRT_ERR_ARG, "name is NULL");
  CHECK_ERR(m, nnrt_model_set_param(m, "W", NULL, 12), NNRT_ERR_ARG, "buffer is NULL");
  CHECK_ERR(m, nnrt_model_set_lr(m, -1), NNRT_ERR_ARG, "set_lr");
  CHECK_ERR(m, nnrt_model_set_lr(m, NAN), NNRT_ERR_ARG, "set_lr");
  CHECK_ERR(m, nnrt_model_set_epoch(m, -1), NNRT_ERR_ARG, "set_epoch");
  CHECK_ERR(m, nnrt_model_load(m, NULL), NNRT_ERR_ARG, "path is NULL");
  CHECK_ERR(m, nnrt_model_save(m, NULL), NNRT_ERR_ARG, "path is NULL");
  CHECK_ERR(m, nnrt_model_call(m, NFUNCS, dims, in, out), NNRT_ERR_ARG, "no function 5");
  CHECK_ERR(m, nnrt_model_call(m, -1, dims, in, out), NNRT_ERR_ARG, "no function -1");
  CHECK_ERR(m, nnrt_model_call(m, F_PREDICT, NULL, in, out), NNRT_ERR_ARG, "dims is NULL");
  CHECK_ERR(m, nnrt_model_call(m, F_PREDICT, dims, NULL, out), NNRT_ERR_ARG, "inputs are NULL");
  CHECK_ERR(m, nnrt_model_call(m, F_PREDICT, dims, in, NULL), NNRT_ERR_ARG, "outputs are NULL");
  const void *nul_in[1] = {NULL};
  CHECK_ERR(m, nnrt_model_call(m, F_PREDICT, dims, nul_in, out), NNRT_ERR_ARG, "input 0 is NULL");
  CHECK(!nnrt_model_call(m, F_PREDICT, dims, in, out));
  nnrt_model_free(m);

  /* a model with nothing to predict or train */
  Model none = *md;
  none.d.params = none.params;
  none.d.funcs = none.funcs;
  none.d.predict = none.d.train = none.d.eval = -1;
  CHECK(!nnrt_model_create(&none.d, &m));
  CHECK_ERR(m, nnrt_model_predict(m, 1, buf, buf), NNRT_ERR_ARG, "has no one-input function");
  CHECK_ERR(m, nnrt_model_train_step(m, 1, buf, buf, &loss), NNRT_ERR_ARG, "has no training step");
  CHECK_ERR(m, nnrt_model_evaluate(m, 1, buf, buf, &loss), NNRT_ERR_ARG, "has no eval function");
  CHECK(nnrt_model_input_size(m) == -1 && nnrt_model_label_size(m) == -1);
  nnrt_model_free(m);
}

static void check_bad_desc(const Model *md, const char *part) {
  nnrt_model *m = (nnrt_model *)1;
  int rc = nnrt_model_create(&md->d, &m);
  CHECKF(rc == NNRT_ERR_ARG && m == NULL && has(nnrt_model_create_error(), part),
         "rc %d, message '%s', want '%s'", rc, nnrt_model_create_error(), part);
}

static void test_bad_desc(const Model *good) {
  nnrt_model *m = NULL;
  CHECK(nnrt_model_create(NULL, &m) == NNRT_ERR_ARG && m == NULL);
  CHECK(nnrt_model_create(&good->d, NULL) == NNRT_ERR_ARG);
  CHECK(has(nnrt_model_create_error(), "out is NULL"));
  Model b = *good;
  b.d.params = b.params;
  b.d.funcs = b.funcs;
  b.d.abi = NNRT_MODEL_ABI + 1;
  char newer[64];
  snprintf(newer, sizeof newer, "ABI version %d, but this runtime reads version %d",
           NNRT_MODEL_ABI + 1, NNRT_MODEL_ABI);
  check_bad_desc(&b, newer);
  b.d.abi = NNRT_MODEL_ABI;
  b.d.size -= 8;
  check_bad_desc(&b, "bytes, but this runtime's are");
  b.d.size += 8;
  b.d.name = NULL;
  check_bad_desc(&b, "no name");
  b.d.name = "Lin";
  b.params[1].rank = NNRT_MAX_RANK + 1;
  check_bad_desc(&b, "parameter 1");
  b.params[1].rank = 1;
  b.params[1].dtype = 9;
  check_bad_desc(&b, "parameter 1");
  b.params[1].dtype = NNRT_F32;
  b.d.train = NFUNCS;
  check_bad_desc(&b, "the training step is function 5 of 5");
  b.d.train = F_PREDICT;
  check_bad_desc(&b, "the training step 'predict' is not");
  b.d.train = F_STEP;
  b.d.predict = F_STEP;
  check_bad_desc(&b, "the predict function 'train.step'");
  b.d.predict = F_PREDICT;
  b.d.generate = NFUNCS;
  check_bad_desc(&b, "the generation step is function 5 of 5");
  b.d.generate = F_PREDICT;
  check_bad_desc(&b, "the generation step 'predict' is not (token: i32[1]) -> f32[1, V]");
  b.d.generate = -1;
  b.d.generate_tables = F_PREDICT;
  check_bad_desc(&b, "generation tables (function 0) without a generation step");
  b.d.generate_tables = -1;
  const int32_t resets[1] = {3};
  b.d.nresets = 1;
  b.d.resets = resets;
  check_bad_desc(&b, "generation resets parameter 3 of 3");
  b.d.nresets = 0;
  b.d.nvocab = NNRT_MAX_VOCAB + 1;
  b.d.vocab = "abc";
  check_bad_desc(&b, "a baked vocabulary of 257 bytes");
  b.d.nvocab = 3;
  b.d.vocab = "aba";
  check_bad_desc(&b, "the baked vocabulary: set_vocab: byte 0x61 is tokens 0 and 2");
  b.d.nvocab = 0;
  b.d.vocab = NULL;
  const nnrt_index_site site = {.value = 1, .axis = NNRT_MAX_RANK};
  b.funcs[F_STEP].nindexes = 1;
  b.funcs[F_STEP].indexes = &site;
  check_bad_desc(&b, "index site 0 is malformed");
  b.funcs[F_STEP].nindexes = 0;
  b.funcs[F_STEP].indexes = NULL;
  nnrt_buffer_desc bufs[3];
  memcpy(bufs, step_bufs, sizeof bufs);
  bufs[2].first = 3;
  b.funcs[F_STEP].bufs = bufs;
  check_bad_desc(&b, "workspace buffer 2");
  bufs[2].first = 2;
  bufs[0].numel.terms[0].syms[0] = 1; /* the function has one dim */
  check_bad_desc(&b, "workspace buffer 0");
  bufs[0].numel.terms[0].syms[0] = 0;
  bufs[0].numel.nterms = NNRT_DIM_TERMS + 1; /* more terms than a dim holds */
  check_bad_desc(&b, "workspace buffer 0");
  bufs[0].numel.nterms = 1;
  bufs[0].numel.terms[0].nsyms = 0; /* a term without symbols is the constant's */
  check_bad_desc(&b, "workspace buffer 0");
  bufs[0].numel.terms[0].nsyms = 1;
  bufs[0].numel.terms[0].coeff = 0; /* a zero term is never written */
  check_bad_desc(&b, "workspace buffer 0");
  b.funcs[F_STEP].bufs = step_bufs;
  b.funcs[F_PREDICT].ndims = 0;
  check_bad_desc(&b, "function 'predict': inputs 0");
  b.funcs[F_PREDICT].ndims = 1;
  b.funcs[F_LOSS].inputs = NULL;
  check_bad_desc(&b, "function 'loss' has 2 inputs");
  b.funcs[F_LOSS].inputs = b.loss_in;
  nnrt_label_site bad_site = sites[0];
  bad_site.input = 2;
  b.funcs[F_CLASSIFY].labels = &bad_site;
  check_bad_desc(&b, "label site 0");
  b.funcs[F_CLASSIFY].labels = sites;
  b.d.nparams = 2;
  b.d.nupdated = 3;
  check_bad_desc(&b, "nupdated 3");
  b.d.nparams = 3;
  b.d.nupdated = 2;
  CHECK(!nnrt_model_create(&b.d, &m)); /* everything put back */
  nnrt_model_free(m);
}

/* The commands on the model with data: train writes a checkpoint, eval and
 * predict read it (their output goes to stdout, model.test checks it). */
/* Dims as text, as --help and the messages write them: the compiler's
 * style ("B*T", "T - 1", "-2*T + 3"), cut short (terminated) in a small
 * buffer. */
static void test_dim_text(void) {
  static const char *const names[] = {"B", "T"};
  nnrt_func_desc f = {.name = "f", .ndims = 2, .dim_names = names};
  const nnrt_dim dims[] = {
      {784, 0, {{0}}},        {0, 1, {{1, 2, {0, 1}}}},
      {-1, 1, {{1, 1, {1}}}}, {1, 2, {{2, 2, {0, 1}}, {-1, 1, {1}}}},
      {3, 1, {{-2, 1, {1}}}}, {INT64_MIN, 1, {{-1, 1, {0}}}},
  };
  const char *want[] = {"784",           "B*T",      "T - 1",
                        "2*B*T - T + 1", "-2*T + 3", "-B - 9223372036854775808"};
  char text[64];
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
    nnrt_dim_text(&f, &dims[i], text, sizeof text);
    CHECKF(!strcmp(text, want[i]), "dim %zu is '%s', want '%s'", i, text, want[i]);
  }
  char small[6];
  nnrt_dim_text(&f, &dims[3], small, sizeof small);
  CHECKF(!strcmp(small, "2*B*T"), "cut short: '%s'", small);
}

static void test_run(const char *csv) {
  Model md;
  make_model(&md, "Lin", csv);
  md.d.cfg.standardize = 1;
  nnrt_model *m = NULL;
  CHECK(!nnrt_model_create(&md.d, &m));
  nnrt_run_options o = {.checkpoint = in_dir("run.safetensors"), .progress = 0, .prog = "lin"};
  CHECK(nnrt_run_train(m, &o) == 0);
  CHECK(nnrt_model_steps(m) == 80);
  /* the statistics were computed and are used by predict */
  nnrt_model *m2 = NULL;
  CHECK(!nnrt_model_create(&md.d, &m2) && !nnrt_model_load(m2, o.checkpoint));
  nnrt_safetensors *f = NULL;
  char err[512];
  float mean[3] = {0}, std[3] = {0}, w[3] = {0}, b = 0, x[3] = {1, -0.5f, 0.5f}, y = 0, want;
  nnrt_tensor t = {NNRT_F32, 1, {3}, mean};
  CHECK(!nnrt_safetensors_open(o.checkpoint, &f, err, sizeof err));
  CHECK(!nnrt_safetensors_read(f, "data.mean", &t, err, sizeof err));
  t.data = std;
  CHECK(!nnrt_safetensors_read(f, "data.std", &t, err, sizeof err));
  nnrt_safetensors_close(f);
  CHECK(std[0] > 0 && std[1] > 0 && std[2] > 0);
  CHECK(!nnrt_model_get_param(m2, "W", w, 12) && !nnrt_model_get_param(m2, "b", &b, 4));
  want = b;
  for (int k = 0; k < 3; k++)
    want += (x[k] - mean[k]) / std[k] * w[k];
  CHECK(!nnrt_model_predict(m2, 1, x, &y));
  CHECK_NEAR(y, want, 1e-5);
  CHECK_NEAR(y, 2 * 1 + 0.5 + 0.25 + 1, 0.05); /* trained */
  CHECK(nnrt_run_eval(m2, &o) == 0);
  o.predict = in_dir("rows.csv");
  FILE *fp = fopen(o.predict, "w");
  fputs("1,-0.5,0.5\n0,0,0\n", fp);
  fclose(fp);
  CHECK(nnrt_run_predict(m2, &o) == 0);
  nnrt_model_free(m);
  nnrt_model_free(m2);
}

/* The model's W and b, bit for bit. */
static bool same_weights(nnrt_model *a, nnrt_model *b) {
  float wa[4], wb[4];
  return !nnrt_model_get_param(a, "W", wa, 12) && !nnrt_model_get_param(a, "b", wa + 3, 4) &&
         !nnrt_model_get_param(b, "W", wb, 12) && !nnrt_model_get_param(b, "b", wb + 3, 4) &&
         !memcmp(wa, wb, sizeof wa);
}

/* The accessors for programs that run the loop themselves (nnc repl): a
 * loop of nnrt_model_hyper and nnrt_model_train_step_hyper over
 * nnrt_run_load_data's sets trains as nnrt_run_train does, to the bit. */
static void test_own_loop(const char *csv) {
  Model md;
  make_model(&md, "Lin", csv);
  nnrt_train_desc *c = &md.d.cfg;
  c->standardize = 1;
  c->epochs = 3;
  c->schedule = NNRT_SCHED_COSINE; /* the rate depends on the run's length */
  c->warmup = 2;
  c->min_lr = 0.001;
  nnrt_model *ref = NULL, *m = NULL;
  CHECK(!nnrt_model_create(&md.d, &ref) && !nnrt_model_create(&md.d, &m));
  nnrt_run_options o = {.progress = 0, .prog = "lin"};
  CHECK(nnrt_run_train(ref, &o) == 0);

  nnrt_dataset train, val;
  CHECK(nnrt_run_load_data(m, &o, &train, &val) == 0 && train.n == 30 && val.n == 10);
  int64_t bs = c->batch, nb = (train.n + bs - 1) / bs, perm[30];
  float x[8 * 3], y[8], hyper[4], loss = -1, first_lr = 0;
  for (int64_t e = 0; e < c->epochs; e++) {
    nnrt_epoch_order(train.n, c->seed, e, c->shuffle, perm);
    for (int64_t b = 0; b < nb; b++) {
      int64_t count = train.n - b * bs < bs ? train.n - b * bs : bs;
      nnrt_dataset_gather(&train, perm + b * bs, count, x, y);
      CHECK(!nnrt_model_hyper(m, c->epochs * nb, e, hyper));
      if (e == 0 && b == 0)
        first_lr = hyper[0];
      CHECK(!nnrt_model_train_step_hyper(m, count, &train, x, y, hyper, &loss));
      CHECK(!memcmp(seen.hyper, hyper, sizeof hyper));
    }
  }
  CHECKF(first_lr == 0.025f, "lr %g: the warm-up's first step", first_lr);
  CHECK(loss >= 0 && nnrt_model_steps(m) == 12 && nnrt_model_steps(ref) == 12);
  CHECK(same_weights(m, ref));
  nnrt_dataset_free(&train);
  nnrt_dataset_free(&val);

  /* misuse: messages, nothing done */
  CHECK_ERR(m, nnrt_model_hyper(m, -1, 0, hyper), NNRT_ERR_ARG, "total_steps is negative");
  CHECK_ERR(m, nnrt_model_hyper(m, 4, -1, hyper), NNRT_ERR_ARG, "epoch is negative");
  CHECK_ERR(m, nnrt_model_train_step_hyper(m, 4, NULL, x, y, NULL, &loss), NNRT_ERR_ARG,
            "hyper is NULL");
  CHECK_ERR(m, nnrt_model_train_step_hyper(m, 0, NULL, x, y, hyper, &loss), NNRT_ERR_ARG,
            "batch 0");
  CHECK_ERR(m, nnrt_model_train_step_hyper(m, 4, NULL, x, NULL, hyper, &loss), NNRT_ERR_ARG,
            "y is NULL");
  CHECK(nnrt_model_steps(m) == 12);
  CHECK(nnrt_model_hyper(NULL, 4, 0, hyper) == NNRT_ERR_ARG);
  CHECK(nnrt_model_train_step_hyper(NULL, 4, NULL, x, y, hyper, NULL) == NNRT_ERR_ARG);
  nnrt_model_free(ref);
  nnrt_model_free(m);

  /* without a training step */
  make_model(&md, "Lin", NULL);
  md.d.train = -1;
  CHECK(!nnrt_model_create(&md.d, &m));
  CHECK_ERR(m, nnrt_model_train_step_hyper(m, 4, NULL, x, y, hyper, &loss), NNRT_ERR_ARG,
            "has no training step");
  nnrt_model_free(m);
}

/* Parameters in place and the epoch a checkpoint records. */
static void test_param_data_and_epoch(Model *md) {
  nnrt_model *m = NULL, *m2 = NULL;
  CHECK(!nnrt_model_create(&md->d, &m) && !nnrt_model_create(&md->d, &m2));
  float *w = nnrt_model_param_data(m, 0), got[3];
  CHECK(w && !nnrt_model_get_param(m, "W", got, 12) && !memcmp(w, got, 12));
  w[1] = 42;
  CHECK(!nnrt_model_get_param(m, "W", got, 12) && got[1] == 42);
  CHECK(nnrt_model_param_data(m, 2) != NULL && nnrt_model_param_data(m, 3) == NULL);
  CHECK(nnrt_model_param_data(m, -1) == NULL && nnrt_model_param_data(NULL, 0) == NULL);
  /* on cache-line boundaries: vector loads of a weight matrix that
   * straddle two lines made batch-1 generation 1.13x slower */
  for (int i = 0; i < 3; i++)
    CHECKF((uintptr_t)nnrt_model_param_data(m, i) % 64 == 0, "parameter %d is not 64-byte aligned",
           i);

  float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 1}, y[4] = {1, 2, 3, 4};
  CHECK(nnrt_model_epoch(m) == 0 && nnrt_model_epoch(NULL) == -1);
  CHECK(!nnrt_model_train_step(m, 4, x, y, NULL) && !nnrt_model_train_step(m, 4, x, y, NULL));
  CHECK(nnrt_model_epoch(m) == 2); /* no epoch given: the steps */
  CHECK(!nnrt_model_set_epoch(m, 5) && nnrt_model_epoch(m) == 5);
  CHECK(!nnrt_model_save(m, in_dir("epoch.safetensors")));
  CHECK(!nnrt_model_load(m2, in_dir("epoch.safetensors")) && nnrt_model_epoch(m2) == 5);
  nnrt_model_free(m);
  nnrt_model_free(m2);
}

static int run_main(const Model *md, const char *prog, const char *a1, const char *a2,
                    const char *a3) {
  char *argv[5] = {(char *)prog, (char *)a1, (char *)a2, (char *)a3, NULL};
  int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);
  return nnrt_main(&md->d, argc, argv);
}

/* nnrt_main's exit statuses; model.test checks what it prints */
static void test_main(const char *csv) {
  Model md;
  make_model(&md, "Lin", csv);
  CHECK(run_main(&md, "lin", NULL, NULL, NULL) == 2);
  CHECK(run_main(&md, "lin", "frob", NULL, NULL) == 2);
  CHECK(run_main(&md, "lin", "eval", "--epochs", "3") == 2);
  CHECK(run_main(&md, "lin", "train", "--batch", "0") == 2);
  CHECK(run_main(&md, "lin", "train", "--lr", NULL) == 2);
  CHECK(run_main(&md, "lin", "predict", NULL, NULL) == 2);
  CHECK(run_main(&md, "lin", "predict", "a.csv", "b.csv") == 2);
  CHECK(run_main(&md, "lin", "train", "-o", "x.npy") == 2);
  CHECK(run_main(&md, "lin", "eval", "--bogus", NULL) == 2);
  /* no checkpoint to read: an error, unless the weights are compiled in */
  const char *rows = in_dir("rows.csv");
  CHECK(run_main(&md, in_dir("lin_nockpt"), "predict", rows, NULL) == 1);
  static const float w[3] = {1, 1, 1}, b[1] = {0.5f};
  md.params[0].baked = w;
  md.params[1].baked = b;
  CHECK(run_main(&md, in_dir("lin_nockpt"), "predict", rows, NULL) == 0);
  CHECK(run_main(&md, in_dir("lin_nockpt"), "eval", NULL, NULL) == 0);
  /* a descriptor from another nnc */
  md.d.abi = 99;
  CHECK(run_main(&md, "lin", "--help", NULL, NULL) == 1);
}

static int main_mode(int argc, char **argv) {
  Model md;
  make_model(&md, "Lin", write_csv());
  argv[0] = "./lin";
  return nnrt_main(&md.d, argc, argv);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_model all DIR | main DIR ARGS...\n");
    return 2;
  }
  test_dir = argv[2];
  if (!strcmp(argv[1], "main"))
    return main_mode(argc - 2, argv + 2); /* argv[0] becomes the program's name */
  Model md;
  make_model(&md, "Lin", NULL);
  test_create(&md);
  test_predict(&md);
  test_train_step(&md);
  test_checkpoints(&md);
  test_load_weights(&md);
  test_labels(&md);
  test_misuse(&md);
  test_bad_desc(&md);
  test_dim_text();
  test_run(write_csv());
  test_main(write_csv());
  test_param_data_and_epoch(&md);
  test_own_loop(write_csv());
  return check_report("test_model");
}
