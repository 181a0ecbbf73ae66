/* An embedded model trained with tbptt (tests/train/Inputs/tbptt_acc.nn:
 * the carried state h adds up each row's inputs): train_step and evaluate
 * both carry h into the next call, and reset_carried puts it back to its
 * initializer (zeros) where a stream starts. */
#include <stdio.h>

#include "tbptt_acc.h"

static void print_h(acc *m, const char *after) {
  float h[4];
  acc_get_param(m, "h", h, sizeof h);
  printf("%s: h = %g %g %g %g\n", after, h[0], h[1], h[2], h[3]);
}

int main(void) {
  acc *m;
  if (acc_create(&m))
    return 1;
  float x1[4] = {1, 2, 3, 4}, x2[4] = {10, 20, 30, 40}, x3[4] = {0.5f, 0.25f, 0, -1};
  float y[4] = {0, 0, 0, 0}, loss;
  int rc = acc_train_step(m, 4, x1, y, &loss);
  print_h(m, "train_step");
  rc |= acc_evaluate(m, 4, x2, y, &loss);
  print_h(m, "evaluate");
  rc |= acc_reset_carried(m);
  print_h(m, "reset_carried");
  rc |= acc_evaluate(m, 4, x3, y, &loss);
  print_h(m, "evaluate");
  printf("rc=%d %s\n", rc, acc_error(m));
  acc_free(m);
  return rc != 0;
}
