/* rnn_bench.c - the nnc side of bench_rnn.py: one of issue 16's character
 * models compiled ahead of time, its training step and batch-1 generation
 * timed through the generated C API (bench_rnn.py builds and runs it).
 *
 *   nnc -c bench/char_lstm.nn -o DIR/m.o       (writes DIR/m.h)
 *   cc -O2 -IDIR -Iruntime -DPREFIX=char_lstm bench/rnn_bench.c DIR/m.o \
 *      libnnrt.a -lopenblas -lcjson -lpthread -lm
 *
 * usage: rnn_bench STEPS GEN_TOKENS GEN_RUNS
 *   Training step: PREFIX_train_step (forward, backward, Adam) on one fixed
 *   batch of random characters and next characters (a fixed LCG; the data
 *   does not change the work), 3 warm-up steps, then STEPS steps each
 *   timed; the median and minimum.
 *   Generation: PREFIX_generate from a one-character prompt, GEN_TOKENS
 *   characters sampled at temperature 1 from all tokens (what `nnc run
 *   --generate` does by default), one warm-up call, then GEN_RUNS calls
 *   each timed; the per-character time is a call's time over GEN_TOKENS
 *   (each character is one step of the generate function and one draw of
 *   the sampler), the median and minimum over the calls.
 *   Prints one JSON line. Threads: NNC_THREADS as the environment sets it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define API(name) CAT(PREFIX, CAT(_, name))

enum { BATCH = 32, SEQ = 64, VOCAB = 65, MAX_RUNS = 10000 };

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void check(int rc, const char *what, const char *msg) {
  if (rc) {
    fprintf(stderr, "rnn_bench: %s: %s\n", what, msg);
    exit(1);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int runs_arg(const char *s) {
  int n = atoi(s);
  if (n < 1 || n > MAX_RUNS) {
    fprintf(stderr, "rnn_bench: a count must be 1..%d, not '%s'\n", MAX_RUNS, s);
    exit(2);
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: rnn_bench STEPS GEN_TOKENS GEN_RUNS\n");
    return 2;
  }
  int steps = runs_arg(argv[1]), tokens = runs_arg(argv[2]), gen_runs = runs_arg(argv[3]);
  PREFIX *m = NULL;
  if (API(create)(&m)) {
    fprintf(stderr, "rnn_bench: create: %s\n", API(create_error)());
    return 1;
  }
  static int32_t x[BATCH * SEQ], y[BATCH * SEQ];
  unsigned s = 12345;
  for (int i = 0; i < BATCH * SEQ; i++) {
    s = s * 1103515245u + 12345u;
    x[i] = (int32_t)((s >> 16) % VOCAB);
    s = s * 1103515245u + 12345u;
    y[i] = (int32_t)((s >> 16) % VOCAB);
  }
  double *secs = malloc(sizeof *secs * (size_t)(steps > gen_runs ? steps : gen_runs));
  if (!secs)
    return 1;
  float loss = 0, first_loss = 0;
  for (int i = 0; i < 3 + steps; i++) {
    double t0 = now_s();
    check(API(train_step)(m, BATCH, x, y, &loss), "train_step", API(error)(m));
    if (i >= 3)
      secs[i - 3] = now_s() - t0;
    if (i == 0)
      first_loss = loss;
  }
  qsort(secs, (size_t)steps, sizeof *secs, cmp_double);
  double step_med = secs[steps / 2], step_min = secs[0];

  char vocab[VOCAB];
  for (int i = 0; i < VOCAB; i++) /* 65 printable bytes, as the text's vocabulary */
    vocab[i] = (char)(' ' + i);
  check(API(set_vocab)(m, vocab, VOCAB), "set_vocab", API(error)(m));
  char *out = malloc((size_t)tokens + 1);
  if (!out)
    return 1;
  for (int i = 0; i < 1 + gen_runs; i++) {
    double t0 = now_s();
    check(API(generate)(m, "A", tokens, 1.0, 0, 1, out), "generate", API(error)(m));
    if (i >= 1)
      secs[i - 1] = now_s() - t0;
  }
  qsort(secs, (size_t)gen_runs, sizeof *secs, cmp_double);
  printf("{\"steps\": %d, \"step_ms\": %.4f, \"step_min_ms\": %.4f, \"gen_tokens\": %d, "
         "\"gen_char_us\": %.4f, \"gen_char_min_us\": %.4f, \"first_loss\": %.6f, "
         "\"last_loss\": %.6f}\n",
         steps, step_med * 1e3, step_min * 1e3, tokens, secs[gen_runs / 2] * 1e6 / tokens,
         secs[0] * 1e6 / tokens, first_loss, loss);
  free(out);
  free(secs);
  API(free)(m);
  return 0;
}
