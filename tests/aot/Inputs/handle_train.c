/* What a program that drives training itself gets from the handle
 * (DigitsMLP from examples/mlp.nn: adam, lr 0.003, cosine over 60 epochs):
 *   - the rate is the train section's base rate, constant, past the
 *     section's epoch count, and every step changes the weights;
 *     set_schedule runs the section's schedule over the program's steps,
 *     set_lr fixes a rate, lr() says what the next step uses;
 *   - a batch with a NaN or Inf pixel is refused with NNRT_ERR_NONFINITE and
 *     changes no parameter, no optimizer state and no step count;
 *   - inputs scaled by the program and passed with set_input_normalised
 *     predict what raw inputs predict.
 * Prints one line per check; the last says how many failed.
 *
 *   handle_train DIGITS.csv
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits_mlp.h"
#include "nnrt_model.h"

enum { PIXELS = DIGITS_MLP_INPUT_SIZE, CLASSES = DIGITS_MLP_OUTPUT_SIZE, N = 256 };

static int failures;

static void check(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  failures += !ok;
}

static int read_digits(const char *path, float *x, int32_t *y) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  int n = 0;
  while (n < N) {
    int ok = 1;
    for (int i = 0; i < PIXELS && ok; i++)
      ok = fscanf(f, "%f,", &x[n * PIXELS + i]) == 1;
    if (!ok || fscanf(f, "%d", &y[n]) != 1)
      break;
    n++;
  }
  fclose(f);
  return n;
}

/* Every parameter and optimizer state tensor, concatenated. */
static unsigned char *snapshot(digits_mlp *m, size_t *bytes) {
  const nnrt_model_desc *d = digits_mlp_descriptor();
  size_t total = 0;
  for (int i = 0; i < d->nparams; i++)
    total += (size_t)digits_mlp_param_bytes(m, i);
  unsigned char *buf = malloc(total), *p = buf;
  for (int i = 0; buf && i < d->nparams; i++) {
    size_t b = (size_t)digits_mlp_param_bytes(m, i);
    if (digits_mlp_get_param(m, d->params[i].name, p, b)) {
      free(buf);
      return NULL;
    }
    p += b;
  }
  *bytes = total;
  return buf;
}

static void test_schedule(digits_mlp *m, const float *x, const int32_t *y) {
  check(digits_mlp_lr(m) == 0.003, "a fresh handle's rate is the section's lr");
  float w0[PIXELS * 128], w1[PIXELS * 128];
  int changed_late = 1;
  for (int s = 0; s < 100; s++) { /* more steps than the section's 60 epochs */
    digits_mlp_get_param(m, "fc1.W", w0, sizeof w0);
    if (digits_mlp_train_step(m, 64, x + (s % 4) * 64 * PIXELS, y + (s % 4) * 64, NULL))
      printf("train_step %d: %s\n", s, digits_mlp_error(m));
    digits_mlp_get_param(m, "fc1.W", w1, sizeof w1);
    if (s >= 60 && !memcmp(w0, w1, sizeof w0))
      changed_late = 0;
  }
  check(changed_late, "steps 61-100 each change the weights");
  check(digits_mlp_lr(m) == 0.003, "after 100 steps the rate is still 0.003");

  check(!digits_mlp_set_schedule(m, 10), "set_schedule(10)");
  double lr[11];
  for (int s = 0; s <= 10; s++) {
    lr[s] = digits_mlp_lr(m);
    digits_mlp_train_step(m, 64, x, y, NULL);
  }
  printf("cosine over 10 steps: %.6f %.6f ... %.6f %.6f\n", lr[0], lr[1], lr[9], lr[10]);
  check(lr[0] == 0.003 && lr[1] < lr[0] && lr[9] > 0 && lr[9] < lr[1] && lr[10] == 0,
        "the section's cosine runs over the program's 10 steps");
  check(!digits_mlp_set_lr(m, 0.01) && digits_mlp_lr(m) == 0.01, "set_lr fixes the rate");
  check(!digits_mlp_set_lr(m, 0) && !digits_mlp_set_schedule(m, 0) && digits_mlp_lr(m) == 0.003,
        "set_lr(0) and set_schedule(0): the base rate again");
  check(digits_mlp_set_schedule(m, -1) == NNRT_ERR_ARG, "set_schedule(-1) is refused");
}

static void test_nonfinite(digits_mlp *m, const float *x, const int32_t *y) {
  float bad[64 * PIXELS];
  memcpy(bad, x, sizeof bad);
  float values[2] = {NAN, INFINITY};
  for (int k = 0; k < 2; k++) {
    bad[5 * PIXELS + 17] = values[k];
    size_t n0 = 0, n1 = 0;
    unsigned char *before = snapshot(m, &n0);
    long long steps = (long long)digits_mlp_steps(m);
    float loss = 12345;
    int rc = digits_mlp_train_step(m, 64, bad, y, &loss);
    unsigned char *after = snapshot(m, &n1);
    printf("%s pixel: rc=%d %s\n", k ? "inf" : "nan", rc, digits_mlp_error(m));
    check(rc == NNRT_ERR_NONFINITE, "the step is refused with NNRT_ERR_NONFINITE");
    check(before && after && n0 == n1 && !memcmp(before, after, n0),
          "parameters and optimizer state are unchanged");
    check(digits_mlp_steps(m) == steps && loss == 12345, "no step counted, *loss untouched");
    free(before);
    free(after);
  }
  float probs[64 * CLASSES], loss;
  int rc = digits_mlp_train_step(m, 64, x, y, &loss);
  rc = rc ? rc : digits_mlp_predict(m, 64, x, probs);
  int finite = 1;
  for (int i = 0; i < 64 * CLASSES; i++)
    finite &= isfinite(probs[i]) != 0;
  check(!rc && isfinite(loss) && finite, "the next good step trains; predictions are finite");
}

static void test_normalised(digits_mlp *m, const float *x) {
  float raw[N * CLASSES], pre[N * CLASSES], scaled[N * PIXELS];
  check(digits_mlp_input_scale(m) == DIGITS_MLP_INPUT_SCALE && DIGITS_MLP_INPUT_SCALE == 0.0625,
        "INPUT_SCALE is the data section's 0.0625");
  float mean[PIXELS], std[PIXELS];
  check(DIGITS_MLP_INPUT_STANDARDIZE == 0 &&
            digits_mlp_input_stats(m, mean, std, PIXELS) == NNRT_ERR_ARG,
        "no standardisation: input_stats says so");
  for (int i = 0; i < N * PIXELS; i++)
    scaled[i] = (float)(x[i] * DIGITS_MLP_INPUT_SCALE);
  int rc = digits_mlp_predict(m, N, x, raw);
  rc = rc ? rc : digits_mlp_predict(m, N, scaled, pre);
  int agree_scaled_twice = !rc && !memcmp(raw, pre, sizeof raw);
  check(!agree_scaled_twice, "scaled inputs on the raw path predict something else");
  rc = digits_mlp_set_input_normalised(m, 1);
  rc = rc ? rc : digits_mlp_predict(m, N, scaled, pre);
  check(!rc && !memcmp(raw, pre, sizeof raw),
        "scaled inputs with set_input_normalised: the raw path's predictions, to the bit");
  digits_mlp_set_input_normalised(m, 0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: handle_train DIGITS.csv\n");
    return 2;
  }
  static float x[N * PIXELS];
  static int32_t y[N];
  if (read_digits(argv[1], x, y) != N) {
    fprintf(stderr, "handle_train: cannot read %d digits from %s\n", N, argv[1]);
    return 2;
  }
  digits_mlp *m;
  if (digits_mlp_create(&m)) {
    fprintf(stderr, "create: %s\n", digits_mlp_create_error());
    return 1;
  }
  test_schedule(m, x, y);
  test_nonfinite(m, x, y);
  test_normalised(m, x);
  digits_mlp_free(m);
  printf("%d failed\n", failures);
  return failures != 0;
}
