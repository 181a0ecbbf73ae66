/* test_init.c - nnrt_init_tensor: exact constants; the moments and bounds of
 * the random rules with PyTorch's fans (nnc's [in, out] matrices at rank 2,
 * PyTorch's [out, in, k...] kernels above; rank 0, 1, 2 and 4); orthogonality (W^T W = gain^2 I, or
 * W W^T for wide matrices) in f32 and f64; sparse density; determinism; and every argument error.
 */
#include "check.h"
#include "nnrt.h"

#include <stdlib.h>
#include <string.h>

static nnrt_tensor make(nnrt_dtype dt, int rank, const int64_t *dims) {
  nnrt_tensor t = {.dtype = dt, .rank = rank};
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= t.dims[i] = dims[i];
  t.data = calloc((size_t)(n ? n : 1), nnrt_dtype_size(dt));
  return t;
}

static double at(const nnrt_tensor *t, int64_t i) {
  return t->dtype == NNRT_F32 ? ((float *)t->data)[i] : ((double *)t->data)[i];
}

typedef struct {
  double mean, std, min, max;
  int64_t nonzero;
} Stats;

static Stats stats(const nnrt_tensor *t) {
  int64_t n = nnrt_tensor_numel(t);
  Stats s = {0, 0, INFINITY, -INFINITY, 0};
  double sum = 0, sum2 = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = at(t, i);
    sum += v;
    sum2 += v * v;
    s.min = fmin(s.min, v);
    s.max = fmax(s.max, v);
    s.nonzero += v != 0;
  }
  s.mean = sum / (double)n;
  s.std = sqrt(sum2 / (double)n - s.mean * s.mean);
  return s;
}

static int init(nnrt_rng *r, nnrt_init_kind kind, double a, double b, nnrt_tensor *t) {
  char err[256] = "";
  int rc = nnrt_init_tensor(r, kind, a, b, t, err, sizeof err);
  CHECKF(rc == NNRT_OK, "init kind %d failed: %s", (int)kind, err);
  return rc;
}

static void test_constants(void) {
  int64_t dims[] = {3, 4};
  nnrt_tensor t = make(NNRT_F32, 2, dims);
  init(NULL, NNRT_INIT_ONES, 0, 0, &t);
  Stats s = stats(&t);
  CHECK(s.min == 1 && s.max == 1);
  init(NULL, NNRT_INIT_CONSTANT, -2.5, 0, &t);
  s = stats(&t);
  CHECK(s.min == -2.5 && s.max == -2.5);
  init(NULL, NNRT_INIT_ZEROS, 0, 0, &t);
  s = stats(&t);
  CHECK(s.min == 0 && s.max == 0);
  nnrt_tensor_free(&t);
  CHECK(t.data == NULL && t.rank == 0);
}

/* Checks mean and std of n samples against a distribution's, within about
 * 5 standard errors. */
static void check_moments(const nnrt_tensor *t, double mean, double std, const char *what) {
  double n = (double)nnrt_tensor_numel(t);
  Stats s = stats(t);
  CHECKF(fabs(s.mean - mean) <= 5 * std / sqrt(n), "%s: mean %g, want %g", what, s.mean, mean);
  CHECKF(fabs(s.std - std) <= 5 * std * sqrt(1.5 / n), "%s: std %g, want %g", what, s.std, std);
}

static void test_distributions(nnrt_dtype dt) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 2024);
  int64_t d2[] = {300, 200}, d4[] = {32, 16, 3, 3}, d1[] = {1000}, d4he[] = {32, 64, 3, 3};
  nnrt_tensor t = make(dt, 2, d2);

  init(&r, NNRT_INIT_NORMAL, 2, 3, &t);
  check_moments(&t, 2, 3, "normal");
  init(&r, NNRT_INIT_UNIFORM, -2, 5, &t);
  Stats s = stats(&t);
  CHECK(s.min >= -2 && s.max <= 5 && s.min < -1.99 && s.max > 4.99);
  check_moments(&t, 1.5, 7 / sqrt(12), "uniform");

  double limit = sqrt(6.0 / (300 + 200));
  init(&r, NNRT_INIT_GLOROT, 0, 0, &t);
  s = stats(&t);
  CHECKF(s.min >= -limit && s.max <= limit && s.max > 0.99 * limit, "glorot range %g %g", s.min,
         s.max);
  check_moments(&t, 0, limit / sqrt(3), "glorot [300, 200]");

  init(&r, NNRT_INIT_HE, 0, 0, &t);
  check_moments(&t, 0, sqrt(2.0 / 300), "he [300, 200]");
  nnrt_tensor_free(&t);

  /* A convolution kernel [out, in, 3, 3], as PyTorch: fan_in = in * 9,
   * fan_out = out * 9 (the old rule read it as [.., in, out]: fan_in
   * 3 * 3 * 16 * 3 = 432 * ..., 21 times too large for he). */
  t = make(dt, 4, d4);
  init(&r, NNRT_INIT_GLOROT, 0, 0, &t);
  limit = sqrt(6.0 / (9 * 16 + 9 * 32));
  s = stats(&t);
  CHECK(s.min >= -limit && s.max <= limit && s.max > 0.98 * limit);
  nnrt_tensor_free(&t);
  t = make(dt, 4, d4he);
  init(&r, NNRT_INIT_HE, 0, 0, &t);
  check_moments(&t, 0, sqrt(2.0 / (9 * 64)), "he [32, 64, 3, 3]");
  nnrt_tensor_free(&t);

  /* Rank 1: fan_in = dims[0]; rank 0: fan_in = 1. */
  t = make(dt, 1, d1);
  init(&r, NNRT_INIT_HE, 0, 0, &t);
  check_moments(&t, 0, sqrt(2.0 / 1000), "he [1000]");
  nnrt_tensor_free(&t);
  t = make(dt, 0, NULL);
  double sum2 = 0;
  for (int i = 0; i < 4000; i++) {
    init(&r, NNRT_INIT_HE, 0, 0, &t);
    sum2 += at(&t, 0) * at(&t, 0);
  }
  CHECK_NEAR(sqrt(sum2 / 4000), sqrt(2.0), 5 * sqrt(2.0) * sqrt(0.5 / 4000));
  nnrt_tensor_free(&t);

  int64_t ds[] = {200, 500};
  t = make(dt, 2, ds);
  init(&r, NNRT_INIT_SPARSE, 0.1, 0.5, &t);
  s = stats(&t);
  double n = 200.0 * 500;
  CHECK_NEAR((double)s.nonzero / n, 0.1, 5 * sqrt(0.09 / n));
  /* std over all elements is 0.5 * sqrt(0.1) when the non-zeros have 0.5. */
  CHECK_NEAR(s.std, 0.5 * sqrt(0.1), 0.01);
  nnrt_tensor_free(&t);
}

/* max |(W^T W or W W^T) - gain^2 I| over the smaller side. */
static double orthogonality_error(const nnrt_tensor *t, double gain) {
  int64_t cols = t->dims[t->rank - 1], rows = nnrt_tensor_numel(t) / cols;
  int tall = rows >= cols;
  int64_t side = tall ? cols : rows, len = tall ? rows : cols;
  double worst = 0;
  for (int64_t i = 0; i < side; i++)
    for (int64_t j = 0; j < side; j++) {
      double dot = 0;
      for (int64_t p = 0; p < len; p++)
        dot += tall ? at(t, p * cols + i) * at(t, p * cols + j)
                    : at(t, i * cols + p) * at(t, j * cols + p);
      worst = fmax(worst, fabs(dot - (i == j ? gain * gain : 0)));
    }
  return worst;
}

static void test_orthogonal(nnrt_dtype dt) {
  static const int64_t shapes[][3] = {{64, 16, 0}, {16, 64, 0}, {32, 32, 0},
                                      {1, 1, 0},   {1, 5, 0},   {4, 8, 16}};
  double tol = dt == NNRT_F32 ? 2e-5 : 1e-12;
  nnrt_rng r;
  nnrt_rng_seed(&r, 31);
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    int rank = shapes[s][2] ? 3 : 2;
    nnrt_tensor t = make(dt, rank, shapes[s]);
    double gain = s % 2 ? 1.0 : 2.0;
    init(&r, NNRT_INIT_ORTHOGONAL, gain, 0, &t);
    double e = orthogonality_error(&t, gain);
    CHECKF(e <= tol * gain * gain * 64, "orthogonal shape %zu (%s): error %g", s,
           dt == NNRT_F32 ? "f32" : "f64", e);
    nnrt_tensor_free(&t);
  }
}

static void test_determinism(void) {
  int64_t dims[] = {20, 30};
  nnrt_tensor a = make(NNRT_F32, 2, dims), b = make(NNRT_F32, 2, dims);
  static const nnrt_init_kind kinds[] = {NNRT_INIT_NORMAL, NNRT_INIT_UNIFORM,    NNRT_INIT_GLOROT,
                                         NNRT_INIT_HE,     NNRT_INIT_ORTHOGONAL, NNRT_INIT_SPARSE};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    nnrt_rng ra, rb;
    nnrt_rng_seed(&ra, 5);
    nnrt_rng_seed(&rb, 5);
    init(&ra, kinds[k], 0.5, 1, &a);
    init(&rb, kinds[k], 0.5, 1, &b);
    CHECKF(memcmp(a.data, b.data, 600 * sizeof(float)) == 0, "kind %d not deterministic",
           (int)kinds[k]);
    CHECK(ra.counter == rb.counter);
    nnrt_rng_seed(&rb, 6);
    init(&rb, kinds[k], 0.5, 1, &b);
    CHECKF(memcmp(a.data, b.data, 600 * sizeof(float)) != 0, "kind %d ignores the seed",
           (int)kinds[k]);
  }
  nnrt_tensor_free(&a);
  nnrt_tensor_free(&b);
}

/* An error: code NNRT_ERR_ARG and a message containing `needle`. */
static void expect_error(nnrt_rng *r, nnrt_init_kind kind, double a, double b, nnrt_tensor *t,
                         const char *needle) {
  char err[256] = "";
  int rc = nnrt_init_tensor(r, kind, a, b, t, err, sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && strstr(err, needle), "kind %d: rc %d, message '%s', want '%s'",
         (int)kind, rc, err, needle);
}

static void test_errors(void) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 1);
  int64_t dims[] = {4, 4}, d1[] = {8}, empty[] = {0, 5};
  nnrt_tensor ti = make(NNRT_I32, 2, dims), tb = make(NNRT_BOOL, 2, dims);
  expect_error(&r, NNRT_INIT_NORMAL, 0, 1, &ti, "i32");
  expect_error(&r, NNRT_INIT_ZEROS, 0, 1, &tb, "bool");
  expect_error(&r, NNRT_INIT_GLOROT, 0, 1, &ti, "glorot");
  nnrt_tensor t = make(NNRT_F32, 2, dims);
  expect_error(NULL, NNRT_INIT_NORMAL, 0, 1, &t, "generator");
  expect_error(&r, NNRT_INIT_NORMAL, 0, -1, &t, "std");
  expect_error(&r, NNRT_INIT_UNIFORM, 1, 0, &t, "lo <= hi");
  expect_error(&r, NNRT_INIT_SPARSE, 2, 1, &t, "density");
  expect_error(&r, NNRT_INIT_CONSTANT, NAN, 0, &t, "NaN");
  /* reservoir: square matrices, radius > 0, density in (0, 1]; a 1 x 1
   * matrix of density 1e-6 is 0 at every redraw, so it cannot be scaled. */
  expect_error(&r, NNRT_INIT_RESERVOIR, 0, 0.5, &t, "radius > 0");
  expect_error(&r, NNRT_INIT_RESERVOIR, 0.9, 0, &t, "density in (0, 1]");
  expect_error(&r, NNRT_INIT_RESERVOIR, INFINITY, 0.5, &t, "finite radius");
  int64_t one[] = {1, 1}, rect[] = {4, 5};
  nnrt_tensor t1 = make(NNRT_F32, 2, one), tr = make(NNRT_F64, 2, rect);
  expect_error(&r, NNRT_INIT_RESERVOIR, 0.9, 1e-6, &t1, "spectral radius 0");
  expect_error(&r, NNRT_INIT_RESERVOIR, 0.9, 0.5, &tr, "not square");
  nnrt_tensor_free(&t1);
  nnrt_tensor_free(&tr);
  expect_error(&r, (nnrt_init_kind)99, 0, 0, &t, "unknown");
  expect_error(&r, NNRT_INIT_ZEROS, 0, 0, NULL, "NULL");
  nnrt_tensor v = make(NNRT_F32, 1, d1);
  expect_error(&r, NNRT_INIT_ORTHOGONAL, 1, 0, &v, "rank 2");
  void *saved = t.data;
  t.data = NULL;
  expect_error(&r, NNRT_INIT_ONES, 0, 0, &t, "NULL");
  t.data = saved;
  t.rank = 9;
  expect_error(&r, NNRT_INIT_ONES, 0, 0, &t, "shape");
  t.rank = 2;
  /* Small or missing message buffers are fine. */
  char tiny[5];
  CHECK(nnrt_init_tensor(&r, NNRT_INIT_NORMAL, 0, 1, &ti, tiny, sizeof tiny) == NNRT_ERR_ARG);
  CHECK(strlen(tiny) == 4);
  CHECK(nnrt_init_tensor(&r, NNRT_INIT_NORMAL, 0, 1, &ti, NULL, 0) == NNRT_ERR_ARG);
  /* An empty tensor needs nothing, even where its fans are 0. */
  nnrt_tensor e = make(NNRT_F32, 2, empty);
  CHECK(nnrt_init_tensor(&r, NNRT_INIT_HE, 0, 0, &e, NULL, 0) == NNRT_OK);
  nnrt_tensor_free(&e);
  nnrt_tensor_free(&v);
  nnrt_tensor_free(&t);
  nnrt_tensor_free(&ti);
  nnrt_tensor_free(&tb);
}

int main(void) {
  test_constants();
  test_distributions(NNRT_F32);
  test_distributions(NNRT_F64);
  test_orthogonal(NNRT_F32);
  test_orthogonal(NNRT_F64);
  test_determinism();
  test_errors();
  return check_report("test_init");
}
