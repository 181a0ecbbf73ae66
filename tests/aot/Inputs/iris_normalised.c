/* A model trained with standardize = true (IrisPerceptron): the program
 * reads the statistics through input_stats, standardises the rows itself as
 * the header says ((x * INPUT_SCALE - mean) / std, a std below 1e-7 taken
 * as 1) and predicts through set_input_normalised; the predictions are the
 * raw path's, to the bit.
 *
 *   iris_normalised CHECKPOINT < rows.csv   (4 features a line)
 */
#include <stdio.h>
#include <string.h>

#include "iris_perceptron.h"

enum { F = IRIS_PERCEPTRON_INPUT_SIZE, C = IRIS_PERCEPTRON_OUTPUT_SIZE, MAXN = 200 };

int main(int argc, char **argv) {
  static float raw[MAXN * F], norm[MAXN * F], p_raw[MAXN * C], p_norm[MAXN * C];
  int n = 0;
  while (n < MAXN &&
         scanf("%f,%f,%f,%f", &raw[n * F], &raw[n * F + 1], &raw[n * F + 2], &raw[n * F + 3]) == 4)
    n++;
  iris_perceptron *m;
  if (argc != 2 || n == 0 || iris_perceptron_create(&m))
    return 2;
  float mean[F], std[F];
  if (iris_perceptron_load(m, argv[1]) || iris_perceptron_input_stats(m, mean, std, F)) {
    printf("error: %s\n", iris_perceptron_error(m));
    return 1;
  }
  printf("standardize %d, mean[0] %.3f, std[0] %.3f\n", IRIS_PERCEPTRON_INPUT_STANDARDIZE, mean[0],
         std[0]);
  for (int i = 0; i < n * F; i++) {
    float s = std[i % F] >= 1e-7f ? std[i % F] : 1.0f;
    norm[i] = ((float)(raw[i] * IRIS_PERCEPTRON_INPUT_SCALE) - mean[i % F]) / s;
  }
  int rc = iris_perceptron_predict(m, n, raw, p_raw);
  rc = rc ? rc : iris_perceptron_set_input_normalised(m, 1);
  rc = rc ? rc : iris_perceptron_predict(m, n, norm, p_norm);
  printf("%d rows: %s\n", n,
         rc                                                       ? iris_perceptron_error(m)
         : memcmp(p_raw, p_norm, sizeof(float) * (size_t)(n * C)) ? "predictions differ"
                                                                  : "the same predictions");
  iris_perceptron_free(m);
  return 0;
}
