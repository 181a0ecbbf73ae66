/* finetune.c - training a compiled model inside a C program.
 *
 * Fine-tunes DigitsMLP on labelled digits from a CSV file (64 pixels 0..16,
 * then the label, as examples/data/digits.csv) with the optimizer compiled
 * from examples/mlp.nn, then reports the loss and accuracy and saves the
 * weights.
 *
 *   ./finetune DATA.csv EPOCHS OUT.safetensors [START.safetensors]
 *
 * Without START the model starts from the initialisation in mlp.nn (seed
 * included), so the run is a full training in a dozen lines of API calls.
 * The program drives training, so it sets the schedule: the train
 * section's (cosine in mlp.nn) over the steps this run takes, not over the
 * section's 60 epochs. Samples are visited in file order in batches of 64.
 * Pixels are passed as the file holds them: the model applies its data
 * section's scaling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits_mlp.h"

enum { PIXELS = DIGITS_MLP_INPUT_SIZE, CLASSES = DIGITS_MLP_OUTPUT_SIZE, BATCH = 64 };

typedef struct Data {
  float *x;
  int32_t *y;
  long n;
} Data;

static int read_csv(const char *path, Data *d) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  char line[4096];
  long cap = 0, lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (strspn(line, " \t\r\n") == strlen(line))
      continue;
    if (d->n == cap) {
      cap = cap ? 2 * cap : 256;
      float *x = realloc(d->x, sizeof(float) * PIXELS * (size_t)cap);
      int32_t *y = x ? realloc(d->y, sizeof(int32_t) * (size_t)cap) : NULL;
      if (x)
        d->x = x;
      if (!y) {
        fclose(f);
        return -1;
      }
      d->y = y;
    }
    char *p = line, *end;
    for (int i = 0; i <= PIXELS; i++) {
      double v = strtod(p, &end);
      if (end == p) {
        fprintf(stderr, "%s:%ld: expected %d pixels and a label\n", path, lineno, PIXELS);
        fclose(f);
        return -1;
      }
      if (i < PIXELS)
        d->x[d->n * PIXELS + i] = (float)v; /* scaled inside, as in training */
      else
        d->y[d->n] = (int32_t)v;
      p = end + strspn(end, ", \t");
    }
    d->n++;
  }
  fclose(f);
  return 0;
}

/* Mean loss and accuracy over the whole set, nothing updated. */
static int score(digits_mlp *m, const Data *d, double *loss, double *acc) {
  float *probs = malloc(sizeof(float) * CLASSES * (size_t)d->n);
  float l;
  if (!probs || digits_mlp_evaluate(m, d->n, d->x, d->y, &l) ||
      digits_mlp_predict(m, d->n, d->x, probs)) {
    free(probs);
    return -1;
  }
  long correct = 0;
  for (long i = 0; i < d->n; i++) {
    int best = 0;
    for (int c = 1; c < CLASSES; c++)
      if (probs[i * CLASSES + c] > probs[i * CLASSES + best])
        best = c;
    correct += best == d->y[i];
  }
  free(probs);
  *loss = l;
  *acc = (double)correct / (double)d->n;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: %s DATA.csv EPOCHS OUT.safetensors [START.safetensors]\n", argv[0]);
    return 2;
  }
  int epochs = atoi(argv[2]);
  Data d = {0};
  digits_mlp *m = NULL;
  int rc = 1;
  if (epochs < 0 || read_csv(argv[1], &d) || d.n == 0) {
    fprintf(stderr, "finetune: no usable data in %s\n", argv[1]);
    goto done;
  }
  if (digits_mlp_create(&m)) {
    fprintf(stderr, "finetune: %s\n", digits_mlp_create_error());
    goto done;
  }
  if (argc == 5 && digits_mlp_load(m, argv[4]))
    goto fail;
  double loss, acc;
  if (score(m, &d, &loss, &acc))
    goto fail;
  printf("start loss %.4f acc %.4f steps %lld\n", loss, acc, (long long)digits_mlp_steps(m));
  long batches = (d.n + BATCH - 1) / BATCH;
  if (digits_mlp_set_schedule(m, (int64_t)epochs * batches))
    goto fail;
  for (int e = 0; e < epochs; e++) {
    double sum = 0, lr = digits_mlp_lr(m);
    for (long i = 0; i < d.n; i += BATCH) {
      long b = d.n - i < BATCH ? d.n - i : BATCH;
      float l;
      if (digits_mlp_train_step(m, b, d.x + i * PIXELS, d.y + i, &l))
        goto fail;
      sum += (double)l * (double)b;
    }
    printf("epoch %d loss %.4f lr %.6f\n", e + 1, sum / (double)d.n, lr);
  }
  if (score(m, &d, &loss, &acc))
    goto fail;
  printf("final loss %.4f acc %.4f steps %lld\n", loss, acc, (long long)digits_mlp_steps(m));
  if (digits_mlp_save(m, argv[3]))
    goto fail;
  rc = 0;
  goto done;
fail:
  fprintf(stderr, "finetune: %s\n", digits_mlp_error(m));
done:
  digits_mlp_free(m);
  free(d.x);
  free(d.y);
  return rc;
}
