/* generate.c - text from a model's generation step: the vocabulary that
 * travels with the model, sampling a token from scores, and the loop that
 * feeds a prompt through the step and then its own samples.
 *
 * Sampling is a pure function of (scores, temperature, top_k, seed, the
 * token's position): token i draws the i-th uniform of the Philox stream
 * seeded with `seed`, so the same seed gives the same text whatever the
 * thread count, and one token can be reproduced alone.
 */
#include "cpu.h"
#include "fileio.h"
#include "model_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- sampling ------------------------------------------------------------ */

/* order[0..n): the token indices, best score first, the lower index first
 * among equal scores. n <= NNRT_MAX_VOCAB: insertion sort is enough where
 * there is no AVX-512. */
static void rank_tokens_sorted(const float *scores, int n, int *order) {
  for (int i = 0; i < n; i++) {
    int j = i;
    while (j > 0 && scores[order[j - 1]] < scores[i])
      j--;
    memmove(order + j + 1, order + j, sizeof *order * (size_t)(i - j));
    order[j] = i;
  }
}

#ifdef NNRT_X86_AVX512
/* The same order, each token placed by counting the tokens ahead of it:
 * the lower ones scoring at least as much, the higher ones scoring more.
 * The insertion sort's mispredicted branches took about 1.3 us of a 17 us
 * character of char_lstm (7% in perf); these compares take about 0.6
 * (4.5% of a 12.5 us character). */
AVX512 static void rank_tokens_counted(const float *scores, int n, int *order) {
  for (int i = 0; i < n; i++) {
    __m512 s = _mm512_set1_ps(scores[i]);
    int ahead = 0;
    for (int j = 0; j < n; j += 16) {
      __mmask16 real = nnrt_lanes16(n - j), lower = nnrt_lanes16(i - j);
      __m512 v = _mm512_maskz_loadu_ps(real, scores + j);
      __mmask16 ge = _mm512_mask_cmp_ps_mask(real & lower, v, s, _CMP_GE_OQ);
      __mmask16 gt = _mm512_mask_cmp_ps_mask(real & (__mmask16)~lower, v, s, _CMP_GT_OQ);
      ahead += __builtin_popcount(ge) + __builtin_popcount(gt);
    }
    order[ahead] = i;
  }
}
#endif

/* The scores are finite (the caller checked), so the counts are a
 * permutation and both ways give the same order. */
static void rank_tokens(const float *scores, int n, int *order) {
#ifdef NNRT_X86_AVX512
  if (nnrt_cpu_has_avx512()) {
    rank_tokens_counted(scores, n, order);
    return;
  }
#endif
  rank_tokens_sorted(scores, n, order);
}

int64_t nnrt_sample_token(const float *scores, int64_t n, double temperature, int64_t top_k,
                          uint64_t seed, uint64_t position) {
  if (!scores || n < 1 || n > NNRT_MAX_VOCAB || !(temperature >= 0) || isinf(temperature))
    return -1;
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(scores[i]))
      return -1;
  int order[NNRT_MAX_VOCAB];
  rank_tokens(scores, (int)n, order);
  int64_t k = top_k <= 0 || top_k > n ? n : top_k;
  if (temperature == 0 || k == 1)
    return order[0];
  /* softmax(scores / T) over the k best, summed best first */
  double w[NNRT_MAX_VOCAB], total = 0, top = scores[order[0]];
  for (int64_t j = 0; j < k; j++)
    total += w[j] = exp(((double)scores[order[j]] - top) / temperature);
  nnrt_rng r;
  nnrt_rng_seed(&r, seed);
  r.counter = 2 * position; /* the position-th uniform: two 32-bit draws each */
  double target = nnrt_rng_uniform(&r) * total, acc = 0;
  for (int64_t j = 0; j < k; j++) {
    acc += w[j];
    if (target < acc)
      return order[j];
  }
  return order[k - 1]; /* rounding left target at the very top */
}

/* ---- the vocabulary ------------------------------------------------------ */

int nnrt_model_set_vocab(nnrt_model *m, const char *bytes, int64_t n) {
  if (!m)
    return NNRT_ERR_ARG;
  if (!bytes || n < 1 || n > NNRT_MAX_VOCAB)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "set_vocab: a vocabulary is 1 to %d bytes, got %lld%s",
                           NNRT_MAX_VOCAB, (long long)n, bytes ? "" : " (NULL)");
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < i; j++)
      if (bytes[i] == bytes[j])
        return nnrt_model_fail(m, NNRT_ERR_ARG,
                               "set_vocab: byte 0x%02x is tokens %lld and %lld; each byte is one "
                               "token",
                               (unsigned char)bytes[i], (long long)j, (long long)i);
  memcpy(m->vocab, bytes, (size_t)n);
  m->nvocab = (int)n;
  static const char hex[] = "0123456789abcdef";
  for (int64_t i = 0; i < n; i++) {
    m->vocab_hex[2 * i] = hex[(unsigned char)bytes[i] >> 4];
    m->vocab_hex[2 * i + 1] = hex[(unsigned char)bytes[i] & 15];
  }
  m->vocab_hex[2 * n] = 0;
  return NNRT_OK;
}

int64_t nnrt_model_vocab(const nnrt_model *m, char *out, size_t cap) {
  if (!m)
    return -1;
  if (out && cap >= (size_t)m->nvocab)
    memcpy(out, m->vocab, (size_t)m->nvocab);
  return m->nvocab;
}

int nnrt_model_vocab_meta(const nnrt_model *m, nnrt_kv *kv) {
  if (m->nvocab == 0)
    return 0;
  *kv = (nnrt_kv){"nnc.vocab", m->vocab_hex};
  return 1;
}

static int hex_digit(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int nnrt_checkpoint_read_vocab(const char *path, char *bytes, int64_t *n, char *err,
                               size_t errlen) {
  nnrt_safetensors *f = NULL;
  int rc = nnrt_safetensors_open(path, &f, err, errlen);
  if (rc)
    return rc;
  const char *v = nnrt_safetensors_meta(f, "nnc.vocab");
  size_t len = v ? strlen(v) : 0;
  bool ok = len % 2 == 0 && len / 2 <= NNRT_MAX_VOCAB;
  for (size_t i = 0; ok && i < len / 2; i++) {
    int hi = hex_digit(v[2 * i]), lo = hex_digit(v[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    bytes[i] = (char)(hi << 4 | lo);
    for (size_t j = 0; ok && j < i; j++)
      ok = bytes[j] != bytes[i];
  }
  nnrt_safetensors_close(f);
  if (!ok)
    return nnrt_errorf(err, errlen, NNRT_ERR_FORMAT,
                       "%s: metadata \"nnc.vocab\" is not 1 to %d distinct bytes in lower-case "
                       "hex",
                       path, NNRT_MAX_VOCAB);
  *n = (int64_t)len / 2;
  return NNRT_OK;
}

int64_t nnrt_checkpoint_vocab(const char *path, char *bytes, char *err, size_t errlen) {
  int64_t n;
  return nnrt_checkpoint_read_vocab(path, bytes, &n, err, errlen) ? -1 : n;
}

/* ---- generation ---------------------------------------------------------- */

/* The states the step writes, back to their initializers (a random one
 * drawn from the generation's seed). */
static int reset_states(nnrt_model *m, uint64_t seed) {
  /* not the sampling stream */
  return nnrt_model_init_states(m, m->d->resets, m->d->nresets, seed ^ 0x6A09E667F3BCC909ull,
                                "generate");
}

static int token_of(const nnrt_model *m, unsigned char c) {
  for (int i = 0; i < m->nvocab; i++)
    if ((unsigned char)m->vocab[i] == c)
      return i;
  return -1;
}

/* The step on one token, in[1..] its tables; scores into m->scores. */
static int step(nnrt_model *m, int32_t token, const void **in) {
  in[0] = &token;
  void *out[1] = {m->scores};
  return nnrt_model_invoke(m, m->d->generate, NULL, in, out);
}

/* The step's tables (the inputs after its token), from the weights as
 * they are now, into in[1..]: malloc'd, NULL on failure. */
static int compute_tables(nnrt_model *m, const void **in) {
  if (m->d->generate_tables < 0)
    return NNRT_OK;
  const nnrt_func_desc *t = &m->d->funcs[m->d->generate_tables];
  for (int k = 0; k < t->nresults; k++) {
    const nnrt_arg_desc *r = &t->results[k]; /* of constant shape (model.c checked) */
    int64_t n = nnrt_arg_numel(r, NULL);
    if (n < 0 || !(in[k + 1] = malloc((size_t)n * nnrt_dtype_size((nnrt_dtype)r->dtype) + 1)))
      return nnrt_model_fail(m, NNRT_ERR_NOMEM, "generate: out of memory for the step's tables");
  }
  return nnrt_model_invoke(m, m->d->generate_tables, NULL, NULL, (void *const *)(in + 1));
}

static int check_generate(nnrt_model *m, const char *prompt, int64_t tokens, double temperature,
                          int64_t top_k, char *out) {
  if (m->d->generate < 0)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "model '%s' has no generate section", m->d->name);
  if (!prompt || !out)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "generate: the %s is NULL",
                           !prompt ? "prompt" : "output");
  if (!*prompt)
    return nnrt_model_fail(m, NNRT_ERR_ARG,
                           "generate: the prompt is empty; it needs at least one "
                           "character to start from");
  if (tokens < 0)
    return nnrt_model_fail(m, NNRT_ERR_ARG, "generate: %lld tokens; the count cannot be negative",
                           (long long)tokens);
  if (!(temperature >= 0) || isinf(temperature))
    return nnrt_model_fail(m, NNRT_ERR_ARG,
                           "generate: temperature %g; it must be a finite number >= 0 (0: greedy)",
                           temperature);
  if (top_k < 0)
    return nnrt_model_fail(m, NNRT_ERR_ARG,
                           "generate: top_k %lld; it must be >= 0 (0: every token)",
                           (long long)top_k);
  if (m->nvocab == 0)
    return nnrt_model_fail(m, NNRT_ERR_ARG,
                           "generate: model '%s' has no vocabulary: load a checkpoint written "
                           "after training on its text, or give one with set_vocab",
                           m->d->name);
  int64_t v = m->d->funcs[m->d->generate].results[0].dims[1].constant;
  if (v < m->nvocab)
    return nnrt_model_fail(m, NNRT_ERR_SHAPE,
                           "generate: the vocabulary has %d characters, but the step '%s' scores "
                           "%lld tokens",
                           m->nvocab, m->d->funcs[m->d->generate].name, (long long)v);
  for (const char *c = prompt; *c; c++)
    if (token_of(m, (unsigned char)*c) < 0) {
      unsigned char b = (unsigned char)*c;
      char shown[8];
      if (b >= 0x20 && b < 0x7f)
        snprintf(shown, sizeof shown, "'%c'", b);
      else
        snprintf(shown, sizeof shown, "0x%02x", b);
      return nnrt_model_fail(m, NNRT_ERR_ARG,
                             "generate: the prompt's character %s at offset %lld is not in the "
                             "model's vocabulary of %d characters",
                             shown, (long long)(c - prompt), m->nvocab);
    }
  return NNRT_OK;
}

/* The prompt through the step, then `tokens` samples, in[1..] the step's
 * tables. */
static int generate_text(nnrt_model *m, const char *prompt, int64_t tokens, double temperature,
                         int64_t top_k, uint64_t seed, char *out, const void **in) {
  int rc = reset_states(m, seed);
  if (rc)
    return rc;
  for (const char *c = prompt; *c; c++)
    if ((rc = step(m, token_of(m, (unsigned char)*c), in)))
      return rc;
  for (int64_t i = 0; i < tokens; i++) {
    /* tokens past the vocabulary have no character: never sampled */
    int64_t t = nnrt_sample_token(m->scores, m->nvocab, temperature, top_k, seed, (uint64_t)i);
    if (t < 0)
      return nnrt_model_fail(m, NNRT_ERR_NONFINITE,
                             "generate: the step's scores for token %lld are not finite",
                             (long long)i);
    out[i] = m->vocab[t];
    if (i + 1 < tokens && (rc = step(m, (int32_t)t, in)))
      return rc;
  }
  out[tokens] = 0;
  return NNRT_OK;
}

int nnrt_model_generate(nnrt_model *m, const char *prompt, int64_t tokens, double temperature,
                        int64_t top_k, uint64_t seed, char *out) {
  if (!m)
    return NNRT_ERR_ARG;
  int rc = check_generate(m, prompt, tokens, temperature, top_k, out);
  if (rc)
    return rc;
  const nnrt_func_desc *f = &m->d->funcs[m->d->generate];
  int64_t v = f->results[0].dims[1].constant;
  if (v > m->nscores) {
    free(m->scores);
    m->scores = malloc(sizeof(float) * (size_t)v);
    m->nscores = m->scores ? v : 0;
    if (!m->scores)
      return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory");
  }
  const void **in = calloc((size_t)f->ninputs, sizeof *in);
  if (!in)
    return nnrt_model_fail(m, NNRT_ERR_NOMEM, "out of memory");
  rc = compute_tables(m, in);
  if (!rc)
    rc = generate_text(m, prompt, tokens, temperature, top_k, seed, out, in);
  for (int k = 1; k < f->ninputs; k++)
    free((void *)in[k]);
  free(in);
  return rc;
}
