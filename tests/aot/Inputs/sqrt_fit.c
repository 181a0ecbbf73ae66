/* The handle refuses a step whose gradient norm is not finite although its
 * loss is (tests/train/Inputs/nan_grad.nn: W = 0 puts z ** 0.5 at its
 * infinite slope): NNRT_ERR_NONFINITE, a message naming the gradient, and
 * W, its Adam state and the step count as they were. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sqrt_fit.h"

int main(void) {
  sqrt_fit *m;
  if (sqrt_fit_create(&m))
    return 1;
  float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0}, loss = -1;
  float before[6], after[6];
  sqrt_fit_get_param(m, "W", before, 8);
  sqrt_fit_get_param(m, "optim.W.m", before + 2, 8);
  sqrt_fit_get_param(m, "optim.W.v", before + 4, 8);
  int rc = sqrt_fit_train_step(m, 4, x, y, &loss);
  printf("rc=%d %s\n", rc, sqrt_fit_error(m));
  sqrt_fit_get_param(m, "W", after, 8);
  sqrt_fit_get_param(m, "optim.W.m", after + 2, 8);
  sqrt_fit_get_param(m, "optim.W.v", after + 4, 8);
  bool same = !memcmp(before, after, sizeof before);
  printf("unchanged: %s, steps %lld, loss %g\n", same ? "yes" : "no", (long long)sqrt_fit_steps(m),
         loss);
  sqrt_fit_free(m);
  return 0;
}
