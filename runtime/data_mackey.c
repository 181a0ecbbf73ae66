/* data_mackey.c - the Mackey-Glass series as a data set (see nnrt_data.h),
 * generated rather than read: the chaotic benchmark of echo state networks.
 *
 * dx/dt = 0.2 x(t - tau) / (1 + x(t - tau)^10) - 0.1 x(t), x(t) = 1.2 for
 * t <= 0, integrated by classical Runge-Kutta with dt = 0.1 (so the delay is
 * a whole number of steps, 10 tau); the delayed value at a half step is
 * the mean of its two neighbours. The first NNRT_MG_WASHOUT time units
 * (the transient from the constant history) are dropped, and the series is
 * the state at every whole time unit after them.
 */
#include "fileio.h"
#include "nnrt_data.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { STEPS_PER_UNIT = 10 };
static const double MG_DT = 1.0 / STEPS_PER_UNIT, MG_X0 = 1.2;

static double mg_rate(double x, double delayed) {
  double d10 = pow(delayed, 10);
  return 0.2 * delayed / (1.0 + d10) - 0.1 * x;
}

int nnrt_mackey_glass_series(int64_t n, int64_t tau, double *out, char *err, size_t errlen) {
  if (n < 1 || tau < 1 || tau > 100000 || !out)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "mackey_glass: need n >= 1 and 1 <= tau <= 100000 (got n %" PRId64
                       ", tau %" PRId64 ")",
                       n, tau);
  /* history[i % len] = x(i dt) for the last len steps: x((i - d) dt) and
   * x((i - d + 1) dt) are still there when step i reads them. */
  int64_t d = tau * STEPS_PER_UNIT, len = d + 2;
  double *history = malloc((size_t)len * sizeof *history);
  if (!history)
    return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM, "mackey_glass: out of memory (tau %" PRId64 ")",
                       tau);
  double x = MG_X0;
  history[0] = x;
  int64_t first = (int64_t)NNRT_MG_WASHOUT * STEPS_PER_UNIT;
  int64_t last = first + (n - 1) * STEPS_PER_UNIT;
  for (int64_t i = 0;; i++) {
    if (i >= first && (i - first) % STEPS_PER_UNIT == 0)
      out[(i - first) / STEPS_PER_UNIT] = x;
    if (i == last)
      break;
    double d0 = i - d >= 0 ? history[(i - d) % len] : MG_X0;
    double d1 = i - d + 1 >= 0 ? history[(i - d + 1) % len] : MG_X0;
    double dh = 0.5 * (d0 + d1);
    double k1 = mg_rate(x, d0);
    double k2 = mg_rate(x + 0.5 * MG_DT * k1, dh);
    double k3 = mg_rate(x + 0.5 * MG_DT * k2, dh);
    double k4 = mg_rate(x + MG_DT * k3, d1);
    x += MG_DT / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4);
    history[(i + 1) % len] = x;
  }
  free(history);
  return NNRT_OK;
}

int nnrt_load_mackey_glass(int64_t n, int64_t tau, int64_t seq, int64_t horizon, nnrt_dataset *out,
                           char *err, size_t errlen) {
  if (!out)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "mackey_glass: output is NULL");
  memset(out, 0, sizeof *out);
  if (seq < 1 || horizon < 1 || n > ((int64_t)1 << 31) || n < seq + horizon)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "mackey_glass: need seq >= 1, horizon >= 1 and seq + horizon <= n <= "
                       "2^31 (got n %" PRId64 ", seq %" PRId64 ", horizon %" PRId64 ")",
                       n, seq, horizon);
  int64_t windows = (n - horizon) / seq;
  double *series = malloc((size_t)n * sizeof *series);
  float *x = malloc((size_t)(windows * seq) * sizeof *x);
  float *y = malloc((size_t)(windows * seq) * sizeof *y);
  int rc = NNRT_OK;
  if (!series || !x || !y)
    rc = nnrt_errorf(err, errlen, NNRT_ERR_NOMEM,
                     "mackey_glass: out of memory for a series of %" PRId64, n);
  if (rc == NNRT_OK)
    rc = nnrt_mackey_glass_series(n, tau, series, err, errlen);
  if (rc != NNRT_OK) {
    free(series);
    free(x);
    free(y);
    return rc;
  }
  for (int64_t k = 0; k < windows * seq; k++) {
    x[k] = (float)series[k];
    y[k] = (float)series[k + horizon];
  }
  free(series);
  out->n = windows;
  out->x_dtype = out->y_dtype = NNRT_F32;
  out->x_rank = out->y_rank = 2;
  out->x_dims[0] = out->y_dims[0] = seq;
  out->x_dims[1] = out->y_dims[1] = 1;
  out->x_size = out->y_size = seq;
  out->x = x;
  out->y = y;
  return NNRT_OK;
}
