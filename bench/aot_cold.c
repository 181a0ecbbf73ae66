/* aot_cold.c - cold start of the digits MLP compiled ahead of time with its
 * weights baked in (bench_aot.py builds it and times whole processes).
 *
 *   nnc -c examples/mlp.nn --bake CKPT -o mb.o --header m.h
 *   cc -O2 -I. -Iruntime bench/aot_cold.c mb.o libnnrt.a -lopenblas -lcjson -lpthread -lm
 *
 * usage: aot_cold INPUT.csv
 * Reads the CSV's rows (DIGITS_MLP_INPUT_SIZE values each, scaled as the
 * model takes them), predicts them in one batch and prints the
 * probabilities as CSV, as `nnc run --predict` and `./model predict` do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m.h"

enum { IN = DIGITS_MLP_INPUT_SIZE, OUT = DIGITS_MLP_OUTPUT_SIZE, MAX_ROWS = 1024 };

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s INPUT.csv\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  static float x[MAX_ROWS * IN], y[MAX_ROWS * OUT];
  long n = 0;
  char line[8192];
  while (n < MAX_ROWS && fgets(line, sizeof line, f)) {
    char *p = line + strspn(line, " \t\r\n");
    if (!*p)
      continue;
    for (int i = 0; i < IN; i++) {
      char *end;
      x[n * IN + i] = strtof(p, &end);
      if (end == p) {
        fprintf(stderr, "aot_cold: %s: expected %d numbers per row\n", argv[1], IN);
        return 1;
      }
      p = end + strspn(end, ", \t");
    }
    n++;
  }
  fclose(f);
  digits_mlp *m;
  if (digits_mlp_create(&m)) {
    fprintf(stderr, "aot_cold: %s\n", digits_mlp_create_error());
    return 1;
  }
  if (n > 0 && digits_mlp_predict(m, n, x, y)) {
    fprintf(stderr, "aot_cold: %s\n", digits_mlp_error(m));
    return 1;
  }
  for (long i = 0; i < n * OUT; i++)
    printf("%.7g%s", (double)y[i], (i + 1) % OUT ? "," : "\n");
  digits_mlp_free(m);
  return 0;
}
