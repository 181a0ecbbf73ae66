/* The embedding API called wrongly: NULL handles and buffers, batch 0,
 * wrong byte counts, unknown names, a missing or foreign weights file, a
 * function index out of range. Every call must return an error code with a
 * message and leave the handle usable; nothing may crash, leak or touch
 * memory it should not (this runs under ASan and UBSan). Prints one line
 * per case: the code and the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits_mlp.h"

static int failures;

static void expect_error(const char *what, int rc, const digits_mlp *m) {
  printf("%s: rc=%d %s\n", what, rc, m ? digits_mlp_error(m) : "");
  if (rc == NNRT_OK) {
    printf("  ^ expected an error\n");
    failures++;
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: misuse OTHER_MODEL.safetensors DIR\n");
    return 2;
  }
  digits_mlp *m = NULL;
  expect_error("create(NULL)", digits_mlp_create(NULL), NULL);
  if (digits_mlp_create(&m)) {
    fprintf(stderr, "create: %s\n", digits_mlp_create_error());
    return 1;
  }
  float x[3 * DIGITS_MLP_INPUT_SIZE] = {0}, y[3 * DIGITS_MLP_OUTPUT_SIZE];
  int32_t labels[3] = {1, 2, 3}, bad_labels[3] = {1, 10, -1};
  float loss;

  expect_error("predict NULL handle", digits_mlp_predict(NULL, 1, x, y), NULL);
  expect_error("predict NULL x", digits_mlp_predict(m, 1, NULL, y), m);
  expect_error("predict NULL y", digits_mlp_predict(m, 1, x, NULL), m);
  expect_error("predict batch 0", digits_mlp_predict(m, 0, x, y), m);
  expect_error("predict batch -5", digits_mlp_predict(m, -5, x, y), m);
  expect_error("train_step NULL y", digits_mlp_train_step(m, 3, x, NULL, &loss), m);
  expect_error("train_step label out of range", digits_mlp_train_step(m, 3, x, bad_labels, &loss),
               m);
  expect_error("evaluate batch 0", digits_mlp_evaluate(m, 0, x, labels, &loss), m);
  expect_error("set_lr negative", digits_mlp_set_lr(m, -1.0), m);

  float w[64 * 128];
  expect_error("get_param unknown", digits_mlp_get_param(m, "fc9.W", w, sizeof w), m);
  expect_error("get_param NULL name", digits_mlp_get_param(m, NULL, w, sizeof w), m);
  expect_error("get_param too few bytes", digits_mlp_get_param(m, "fc1.W", w, 12), m);
  expect_error("get_param too many bytes", digits_mlp_get_param(m, "fc1.b", w, sizeof w), m);
  expect_error("get_param NULL dst", digits_mlp_get_param(m, "fc1.W", NULL, sizeof w), m);
  expect_error("set_param wrong bytes", digits_mlp_set_param(m, "fc1.W", w, 100), m);
  expect_error("param_bytes out of range", digits_mlp_param_bytes(m, 999) >= 0 ? 0 : -1, m);

  char path[4096];
  snprintf(path, sizeof path, "%s/missing.safetensors", argv[2]);
  expect_error("load missing file", digits_mlp_load(m, path), m);
  expect_error("load NULL path", digits_mlp_load(m, NULL), m);
  expect_error("load another model's checkpoint", digits_mlp_load(m, argv[1]), m);
  snprintf(path, sizeof path, "%s/no/such/dir/out.safetensors", argv[2]);
  expect_error("save into a missing directory", digits_mlp_save(m, path), m);

  int64_t dims[1] = {0};
  expect_error("call bad function", digits_mlp_call(m, 99, dims, NULL, NULL), m);
  expect_error("call NULL buffers",
               digits_mlp_call(m, digits_mlp_find_func(m, "predict"), dims, NULL, NULL), m);

  /* After all that, the handle still works. */
  if (digits_mlp_train_step(m, 3, x, labels, &loss) || digits_mlp_predict(m, 3, x, y)) {
    printf("handle broken after errors: %s\n", digits_mlp_error(m));
    failures++;
  } else {
    printf("still usable: loss %s\n", loss > 0 ? "positive" : "not positive");
  }
  digits_mlp_free(m);
  digits_mlp_free(NULL);
  printf("%d unexpected successes\n", failures);
  return failures ? 1 : 0;
}
