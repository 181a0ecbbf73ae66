/* classify_digits.c - a digit classifier built on the compiled DigitsMLP.
 *
 * Reads images from stdin, one per line: 64 pixel values 0..16 (an 8x8
 * digit, row by row) separated by commas or spaces, as in
 * examples/data/digits.csv (a 65th column, the label, is ignored). Prints
 * one line per image: the predicted digit and its probability.
 *
 *   nnc -c examples/mlp.nn -o digits_mlp.o          (writes digits_mlp.h)
 *   cc classify_digits.c digits_mlp.o $(pkg-config --cflags --libs nnrt)
 *   ./nnc run examples/mlp.nn --checkpoint digits.safetensors
 *   ./classify_digits digits.safetensors < images.csv
 *
 * With an object compiled with --bake CHECKPOINT the weights are inside
 * and no file is needed. All images are classified in one batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits_mlp.h"

enum { PIXELS = DIGITS_MLP_INPUT_SIZE, CLASSES = DIGITS_MLP_OUTPUT_SIZE };

/* Appends the images of stdin to *x as they are (0..16: the model's data
 * section scales them as in training); returns how many, or -1 on a
 * malformed line. */
static long read_images(float **x) {
  char line[4096];
  long n = 0, cap = 0, lineno = 0;
  while (fgets(line, sizeof line, stdin)) {
    lineno++;
    char *p = line;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\n' || *p == '\r' || !*p)
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      float *bigger = realloc(*x, sizeof(float) * PIXELS * (size_t)cap);
      if (!bigger)
        return -1;
      *x = bigger;
    }
    for (int i = 0; i < PIXELS; i++) {
      char *end;
      double v = strtod(p, &end);
      if (end == p) {
        fprintf(stderr, "classify_digits: line %ld: expected %d numbers\n", lineno, PIXELS);
        return -1;
      }
      (*x)[n * PIXELS + i] = (float)v;
      p = end + strspn(end, ", \t");
    }
    n++;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc > 2 || (argc == 1 && !DIGITS_MLP_BAKED)) {
    fprintf(stderr, "usage: %s %s< images.csv\n", argv[0],
            DIGITS_MLP_BAKED ? "[CHECKPOINT] " : "CHECKPOINT ");
    return 2;
  }
  digits_mlp *m;
  if (digits_mlp_create(&m)) {
    fprintf(stderr, "classify_digits: %s\n", digits_mlp_create_error());
    return 1;
  }
  float *x = NULL, *probs = NULL;
  int rc = 1;
  long n = 0;
  if (argc == 2 && digits_mlp_load(m, argv[1])) {
    fprintf(stderr, "classify_digits: %s\n", digits_mlp_error(m));
    goto done;
  }
  if ((n = read_images(&x)) < 0)
    goto done;
  if (n == 0) {
    rc = 0;
    goto done;
  }
  probs = malloc(sizeof(float) * CLASSES * (size_t)n);
  if (!probs || digits_mlp_predict(m, n, x, probs)) {
    fprintf(stderr, "classify_digits: %s\n", probs ? digits_mlp_error(m) : "out of memory");
    goto done;
  }
  for (long i = 0; i < n; i++) {
    const float *p = probs + i * CLASSES;
    int best = 0;
    for (int c = 1; c < CLASSES; c++)
      if (p[c] > p[best])
        best = c;
    printf("%d %.4f\n", best, p[best]);
  }
  rc = 0;
done:
  free(x);
  free(probs);
  digits_mlp_free(m);
  return rc;
}
