/* Prints predict's noise for seed 5 (three rows of eight, %.9g), and
 * whether a repeat gives the same bits and another seed others. */
#include <stdio.h>
#include <string.h>

#include "noise.h"

static int draw(noise *m, uint64_t seed, float *y) {
  float x[24] = {0};
  if (noise_set_seed(m, seed) || noise_predict(m, 3, x, y)) {
    printf("error: %s\n", noise_error(m));
    return 1;
  }
  return 0;
}

int main(void) {
  noise *m;
  if (noise_create(&m))
    return 1;
  float a[24], b[24], c[24];
  if (draw(m, 5, a) || draw(m, 5, b) || draw(m, 6, c))
    return 1;
  for (int i = 0; i < 24; i++)
    printf("%.9g\n", a[i]);
  printf("repeat %s, seed 6 %s\n", memcmp(a, b, sizeof a) ? "differs" : "same",
         memcmp(a, c, sizeof a) ? "differs" : "same");
  noise_free(m);
  return 0;
}
