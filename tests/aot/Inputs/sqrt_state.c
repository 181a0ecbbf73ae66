/* The guard of a training step covers every state write: a step whose
 * gradient norm is not finite (W = 0, nan_grad_state.nn) is refused and
 * leaves W, its Adam state (m, v) and the `state <-` states (count, mean_x)
 * as they were; a step from W = 1 on rows that keep x @ W > 0 is finite and
 * writes them all. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sqrt_state.h"

static const char *const NAMES[] = {"W", "optim.W.m", "optim.W.v", "count", "mean_x"};
enum { NSTATE = 5, FLOATS = 2 + 2 + 2 + 1 + 2 };

static void snapshot(sqrt_state *m, float *out) {
  static const int sizes[NSTATE] = {2, 2, 2, 1, 2};
  for (int i = 0; i < NSTATE; i++) {
    sqrt_state_get_param(m, NAMES[i], out, (size_t)sizes[i] * sizeof(float));
    out += sizes[i];
  }
}

/* Which of the tensors differ between two snapshots, by name. */
static void print_changed(const float *before, const float *after) {
  static const int sizes[NSTATE] = {2, 2, 2, 1, 2};
  printf("changed:");
  for (int i = 0; i < NSTATE; i++) {
    if (memcmp(before, after, (size_t)sizes[i] * sizeof(float)))
      printf(" %s", NAMES[i]);
    before += sizes[i];
    after += sizes[i];
  }
  printf("\n");
}

int main(void) {
  sqrt_state *m;
  if (sqrt_state_create(&m))
    return 1;
  float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0}, loss = -1;
  float before[FLOATS], after[FLOATS];
  snapshot(m, before);
  int rc = sqrt_state_train_step(m, 4, x, y, &loss);
  printf("rc=%d %s\n", rc, sqrt_state_error(m));
  snapshot(m, after);
  print_changed(before, after);

  float ones[2] = {1, 1};
  sqrt_state_set_param(m, "W", ones, sizeof ones);
  snapshot(m, before);
  float x2[8] = {1, 0, 0, 1, 1, 1, 2, 1};
  rc = sqrt_state_train_step(m, 4, x2, y, &loss);
  printf("rc=%d\n", rc);
  snapshot(m, after);
  print_changed(before, after);
  sqrt_state_free(m);
  return 0;
}
