/* test_ridge.c - nnrt_ridge_solve, the solve behind fit = ridge(...):
 * the solution of a known system, the penalty on the first `penalised`
 * diagonal entries only, and the errors (not positive definite, bad
 * arguments). The whole fit is tests/esn/ridge.test. */
#include "check.h"
#include "model_impl.h"

#include <math.h>
#include <string.h>

/* max |(A + alpha I') W - B| for the original a and b. */
static double residual(int n, int k, const double *a, const double *b, const double *w,
                       double alpha, int penalised) {
  double worst = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++) {
      double s = (i < penalised ? alpha : 0) * w[i * k + j];
      for (int p = 0; p < n; p++)
        s += a[i * n + p] * w[p * k + j];
      worst = fmax(worst, fabs(s - b[i * k + j]));
    }
  return worst;
}

static void test_solve(void) {
  /* A = M^T M + I for a fixed M: symmetric positive definite. */
  enum { N = 4, K = 3 };
  static const double m[N][N] = {{1, 2, 0, -1}, {0, 1, 3, 2}, {2, -1, 1, 0}, {1, 1, 1, 1}};
  double a[N * N], b[N * K], w[N * K], a0[N * N];
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = i == j;
      for (int p = 0; p < N; p++)
        s += m[p][i] * m[p][j];
      a0[i * N + j] = s;
    }
  for (int i = 0; i < N * K; i++)
    b[i] = sin(1.0 + i);
  for (int alpha_i = 0; alpha_i < 2; alpha_i++) {
    double alpha = alpha_i ? 0.5 : 0.0;
    memcpy(a, a0, sizeof a);
    memcpy(w, b, sizeof w);
    char err[256] = "";
    CHECKF(nnrt_ridge_solve(N, K, a, w, alpha, N - 1, err, sizeof err) == NNRT_OK, "%s", err);
    double r = residual(N, K, a0, b, w, alpha, N - 1);
    CHECKF(r < 1e-12, "alpha %g: residual %g", alpha, r);
  }
  /* With alpha the solution shrinks, except along the unpenalised entry. */
  double w0[N * K], w1[N * K];
  memcpy(a, a0, sizeof a);
  memcpy(w0, b, sizeof w0);
  nnrt_ridge_solve(N, K, a, w0, 0, N, NULL, 0);
  memcpy(a, a0, sizeof a);
  memcpy(w1, b, sizeof w1);
  nnrt_ridge_solve(N, K, a, w1, 100.0, N, NULL, 0);
  double n0 = 0, n1 = 0;
  for (int i = 0; i < N * K; i++)
    n0 += w0[i] * w0[i], n1 += w1[i] * w1[i];
  CHECKF(n1 < 0.1 * n0, "|W| %g with alpha 100, %g without", sqrt(n1), sqrt(n0));
}

static void test_errors(void) {
  double indefinite[4] = {1, 2, 2, 1}, b[2] = {1, 1}, a[4] = {2, 0, 0, 2};
  char err[256] = "";
  CHECK(nnrt_ridge_solve(2, 1, indefinite, b, 0, 2, err, sizeof err) == NNRT_ERR_NONFINITE);
  CHECKF(strstr(err, "not positive definite") && strstr(err, "raise alpha"), "%s", err);
  CHECK(nnrt_ridge_solve(0, 1, a, b, 0, 0, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_ridge_solve(2, 1, a, b, -1, 2, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_ridge_solve(2, 1, a, b, NAN, 2, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_ridge_solve(2, 1, a, b, 0, 3, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_ridge_solve(2, 1, NULL, b, 0, 2, err, sizeof err) == NNRT_ERR_ARG);
}

int main(void) {
  test_solve();
  test_errors();
  return check_report("test_ridge");
}
