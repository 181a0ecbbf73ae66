/* Text from Inputs/elman.nn compiled ahead of time (generate.test):
 *   elman_generate CKPT|- PROMPT TOKENS SEED [TOP_K]
 * prints PROMPT and the sampled text, as `nnc run --generate` does; with
 * "-" the weights and vocabulary are the ones compiled in (--bake). Then a
 * model without a vocabulary and a bad vocabulary are refused. */
#include <stdio.h>
#include <stdlib.h>

#include "elman.h"

int main(int argc, char **argv) {
  if (argc < 5)
    return 2;
  elman *m = NULL;
  if (elman_create(&m)) {
    fprintf(stderr, "create: %s\n", elman_create_error());
    return 1;
  }
  int64_t tokens = atoll(argv[3]);
  char *out = malloc((size_t)tokens + 1);
  int rc = argv[1][0] == '-' ? 0 : elman_load(m, argv[1]);
  rc = rc ? rc
          : elman_generate(m, argv[2], tokens, 1.0, argc > 5 ? atoll(argv[5]) : 0,
                           (uint64_t)atoll(argv[4]), out);
  if (rc)
    fprintf(stderr, "generate: %s\n", elman_error(m));
  else
    printf("%s%s\n", argv[2], out);
  char vocab[256];
  int64_t n = elman_vocab(m, vocab, sizeof vocab);
  fprintf(stderr, "vocabulary: %lld characters\n", (long long)n);
  elman_free(m);

  /* a fresh handle has no vocabulary unless one is baked */
  elman_create(&m);
  if (elman_vocab(m, NULL, 0) == 0) {
    int r = elman_generate(m, "the", 5, 1.0, 0, 1, out);
    fprintf(stderr, "no vocabulary: rc=%d %s\n", r, elman_error(m));
    r = elman_set_vocab(m, "aba", 3);
    fprintf(stderr, "repeated byte: rc=%d %s\n", r, elman_error(m));
    r = elman_set_vocab(m, " acdehmnorst", 12);
    r = r ? r : elman_generate(m, "the", 5, 0.0, 0, 1, out);
    fprintf(stderr, "set_vocab: rc=%d\n", r);
  }
  elman_free(m);
  free(out);
  return rc != 0;
}
