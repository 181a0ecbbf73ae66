/* Two compiled models in one program: DigitsMLP (prefix digits_mlp) and
 * Xor (prefix xor), each with its own handle, weights and workspace. Prints
 * each model's predictions for a few inputs as CSV rows, for comparison
 * with `nnc run --predict`. */
#include <stdio.h>
#include <string.h>

#include "digits_mlp.h"
#include "xor.h"

static void print_rows(const float *y, int rows, int cols) {
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++)
      printf("%.7g%s", (double)y[i * cols + j], j + 1 < cols ? "," : "\n");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: two_models DIGITS.safetensors XOR.safetensors\n");
    return 2;
  }
  digits_mlp *d = NULL;
  xor*x = NULL;
  if (digits_mlp_create(&d) || xor_create(&x)) {
    fprintf(stderr, "create: %s%s\n", digits_mlp_create_error(), xor_create_error());
    return 1;
  }
  if (digits_mlp_load(d, argv[1]) || xor_load(x, argv[2])) {
    fprintf(stderr, "load: %s%s\n", digits_mlp_error(d), xor_error(x));
    return 1;
  }
  /* Two digits, in the data file's units (pixels 0..16; the model scales
     them as its data section says): a flat grey image and a diagonal stroke. */
  float img[2 * DIGITS_MLP_INPUT_SIZE], probs[2 * DIGITS_MLP_OUTPUT_SIZE];
  for (int i = 0; i < DIGITS_MLP_INPUT_SIZE; i++) {
    img[i] = 4.0f;
    img[DIGITS_MLP_INPUT_SIZE + i] = i % 9 == 0 ? 16.0f : 0.0f;
  }
  float bits[4 * XOR_INPUT_SIZE] = {0, 0, 0, 1, 1, 0, 1, 1}, out[4 * XOR_OUTPUT_SIZE];
  float again[2 * DIGITS_MLP_OUTPUT_SIZE];
  /* Interleaved calls: neither model disturbs the other, so the digits come
     out the same before and after the xor model ran. */
  if (digits_mlp_predict(d, 2, img, probs) || xor_predict(x, 4, bits, out) ||
      digits_mlp_predict(d, 2, img, again)) {
    fprintf(stderr, "predict: %s%s\n", digits_mlp_error(d), xor_error(x));
    return 1;
  }
  if (memcmp(probs, again, sizeof probs)) {
    fprintf(stderr, "the digits model gave other results after the xor model ran\n");
    return 1;
  }
  print_rows(probs, 2, DIGITS_MLP_OUTPUT_SIZE);
  print_rows(out, 4, XOR_OUTPUT_SIZE);
  digits_mlp_free(d);
  xor_free(x);
  return 0;
}
