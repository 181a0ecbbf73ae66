/* Trains a model with no data section on batches of its own: y = 2a - b. */
#include <stdio.h>

#include "lin.h"

int main(void) {
  lin *m;
  if (lin_create(&m))
    return 1;
  float x[8] = {1, 0, 0, 1, 1, 1, 2, 1}, y[4] = {2, -1, 1, 3}, first = 0, loss = 0;
  for (int s = 0; s < 200; s++)
    if (lin_train_step(m, 4, x, y, s ? &loss : &first)) {
      printf("error: %s\n", lin_error(m));
      return 1;
    }
  float w[2];
  lin_get_param(m, "W", w, sizeof w);
  printf("scale %g lr %g loss %.3f -> %.6f W %.3f %.3f\n", lin_input_scale(m), lin_lr(m), first,
         loss, w[0], w[1]);
  lin_free(m);
  return 0;
}
