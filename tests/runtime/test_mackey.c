/* test_mackey.c - the Mackey-Glass source (nnrt_load_mackey_glass): window
 * layout, argument errors, and the series written as .npy files for
 * tests/runtime/mackey.test to compare with a NumPy integrator. */
#include "check.h"
#include "nnrt.h"
#include "nnrt_data.h"

#include <stdlib.h>
#include <string.h>

static void write_npy(const char *dir, const char *name, int rank, const int64_t *dims,
                      nnrt_dtype dt, void *data) {
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  nnrt_tensor t = {.dtype = dt, .rank = rank, .data = data};
  for (int i = 0; i < rank; i++)
    t.dims[i] = dims[i];
  CHECKF(nnrt_npy_write(path, &t, err, sizeof err) == NNRT_OK, "%s", err);
}

/* Windows: x = s[k seq ..], y = s[k seq + horizon ..], both [seq, 1], and
 * as many as fit with their targets. */
static void test_windows(const char *dir) {
  enum { N = 600, SEQ = 50, HORIZON = 3, TAU = 17 };
  double *s = malloc(N * sizeof *s);
  char err[256] = "";
  CHECKF(nnrt_mackey_glass_series(N, TAU, s, err, sizeof err) == NNRT_OK, "%s", err);
  nnrt_dataset d;
  CHECKF(nnrt_load_mackey_glass(N, TAU, SEQ, HORIZON, &d, err, sizeof err) == NNRT_OK, "%s", err);
  CHECK(d.n == (N - HORIZON) / SEQ);
  CHECK(d.x_dtype == NNRT_F32 && d.y_dtype == NNRT_F32);
  CHECK(d.x_rank == 2 && d.x_dims[0] == SEQ && d.x_dims[1] == 1 && d.x_size == SEQ);
  CHECK(d.y_rank == 2 && d.y_dims[0] == SEQ && d.y_dims[1] == 1 && d.y_size == SEQ);
  const float *x = d.x, *y = d.y;
  int bad = 0;
  for (int64_t i = 0; i < d.n * SEQ; i++)
    bad += x[i] != (float)s[i] || y[i] != (float)s[i + HORIZON];
  CHECKF(bad == 0, "%d values out of place", bad);
  /* The attractor of tau = 17 stays within (0.2, 1.5). */
  double lo = 10, hi = -10;
  for (int i = 0; i < N; i++)
    lo = s[i] < lo ? s[i] : lo, hi = s[i] > hi ? s[i] : hi;
  CHECKF(lo > 0.2 && hi < 1.5 && hi - lo > 0.5, "range [%g, %g]", lo, hi);
  if (dir) {
    int64_t sd[] = {N}, wd[] = {d.n, SEQ, 1};
    write_npy(dir, "series.npy", 1, sd, NNRT_F64, s);
    write_npy(dir, "x.npy", 3, wd, NNRT_F32, d.x);
    write_npy(dir, "y.npy", 3, wd, NNRT_F32, d.y);
  }
  /* tau = 30, the more chaotic setting, as a second reference. */
  CHECKF(nnrt_mackey_glass_series(N, 30, s, err, sizeof err) == NNRT_OK, "%s", err);
  if (dir)
    write_npy(dir, "series30.npy", 1, (int64_t[]){N}, NNRT_F64, s);
  nnrt_dataset_free(&d);
  free(s);
}

static void expect_error(int64_t n, int64_t tau, int64_t seq, int64_t horizon, const char *needle) {
  nnrt_dataset d;
  memset(&d, 0x5a, sizeof d);
  char err[256] = "";
  int rc = nnrt_load_mackey_glass(n, tau, seq, horizon, &d, err, sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && strstr(err, needle) && d.n == 0 && !d.x,
         "n %lld tau %lld seq %lld horizon %lld: rc %d, '%s'", (long long)n, (long long)tau,
         (long long)seq, (long long)horizon, rc, err);
}

static void test_errors(void) {
  expect_error(100, 17, 0, 1, "seq >= 1");
  expect_error(100, 17, 10, 0, "horizon >= 1");
  expect_error(10, 17, 10, 1, "seq + horizon <= n");
  expect_error(100, 0, 10, 1, "tau");
  expect_error((int64_t)1 << 40, 17, 10, 1, "2^31");
  char err[64];
  CHECK(nnrt_mackey_glass_series(10, 17, NULL, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_load_mackey_glass(10, 17, 5, 1, NULL, err, sizeof err) == NNRT_ERR_ARG);
}

int main(int argc, char **argv) {
  test_windows(argc > 1 ? argv[1] : NULL);
  test_errors();
  return check_report("test_mackey");
}
