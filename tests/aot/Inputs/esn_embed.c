/* esn_embed.c - an echo state network compiled with nnc -c and linked as
 * a C program links it (nnc --print-runtime): creating the model draws the
 * reservoir (LAPACK's dgeev, in the runtime's OpenBLAS), train_step is
 * refused for a closed-form fit, and the checkpoint nnc run fitted loads
 * and predicts. argv[1]: the checkpoint; argv[2]: x_val.npy's directory. */
#include "ridge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;

static void expect(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  failed += !ok;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  ridge *m;
  if (ridge_create(&m)) {
    printf("FAILED: create: %s\n", ridge_create_error());
    return 1;
  }
  enum { N = 40 };
  float w[N * N];
  expect(ridge_get_param(m, "res.W", w, sizeof w) == 0, "res.W is a parameter of the handle");
  int nonzero = 0;
  for (int i = 0; i < N * N; i++)
    nonzero += w[i] != 0;
  printf("res.W: %d of %d non-zero\n", nonzero, N * N);
  expect(nonzero > 0.1 * N * N && nonzero < 0.3 * N * N, "its density is about 0.2");

  float x[2 * 50], y[2 * 100], loss = 0;
  for (int i = 0; i < 2 * 50; i++)
    x[i] = 0.9f + 0.3f * sinf(0.3f * (float)i);
  memset(y, 0, sizeof y);
  int rc = ridge_train_step(m, 2, x, y, &loss);
  printf("train_step: rc=%d %s\n", rc, ridge_error(m));
  expect(rc != 0, "a closed-form fit takes no gradient steps");

  expect(ridge_load(m, argv[1]) == 0, "the fitted checkpoint loads");
  expect(ridge_load_weights(m, argv[1]) == 0, "its weights load alone (load_weights)");
  expect(ridge_predict(m, 2, x, y) == 0, "predict runs");
  int finite = 1;
  for (int i = 0; i < 2 * 100; i++)
    finite &= isfinite(y[i]);
  expect(finite, "its predictions are finite");
  ridge_free(m);
  printf("%d failed\n", failed);
  return failed != 0;
}
