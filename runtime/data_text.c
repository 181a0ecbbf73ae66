/* data_text.c - a text file as a character-level data set (see
 * nnrt_data.h).
 *
 * Tokens are the file's distinct bytes, sorted (so the vocabulary is a pure
 * function of the file's byte set); sample k is the window of seq + 1 tokens
 * starting at byte k * (seq + 1), split into x = window[0:seq] and
 * y = window[1:seq+1]. The bytes after the last whole window are not in any
 * sample (they still count towards the vocabulary).
 */
#include "fileio.h"
#include "nnrt_data.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef nnrt_file_ctx Ctx;

int nnrt_load_text(const char *path, int64_t seq, nnrt_dataset *out, char *err, size_t errlen) {
  Ctx c = {path ? path : "(null)", err, errlen};
  if (!path || !out)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "%s is NULL", !path ? "path" : "output");
  memset(out, 0, sizeof *out);
  if (seq < 1)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "sequence length %" PRId64 " is not positive", seq);
  unsigned char *text = NULL;
  size_t len = 0;
  int rc = nnrt_file_read_all(&c, &text, &len);
  if (rc != NNRT_OK)
    return rc;
  if ((uint64_t)len <= (uint64_t)seq) { /* len < seq + 1 without overflow */
    free(text);
    return nnrt_file_fail(&c, NNRT_ERR_FORMAT,
                          "%zu %s is shorter than one window of seq + 1 = %" PRIu64 " bytes", len,
                          len == 1 ? "byte" : "bytes", (uint64_t)seq + 1);
  }
  /* Vocabulary: the distinct bytes in increasing order. */
  bool seen[256] = {false};
  for (size_t i = 0; i < len; i++)
    seen[text[i]] = true;
  int32_t token[256] = {0};
  char vocab[257];
  int nv = 0;
  for (int b = 0; b < 256; b++)
    if (seen[b]) {
      token[b] = nv;
      vocab[nv++] = (char)b;
    }
  vocab[nv] = '\0';

  int64_t win = seq + 1;
  int64_t n = (int64_t)len / win;
  /* n * seq < len, so the element count fits; the bytes may not on 32 bits. */
  uint64_t count = (uint64_t)n * (uint64_t)seq;
  int32_t *x = NULL, *y = NULL;
  char *v = NULL;
  if (count > SIZE_MAX / sizeof(int32_t)) {
    free(text);
    return nnrt_file_fail(&c, NNRT_ERR_NOMEM, "too many tokens for memory");
  }
  x = malloc((size_t)count * sizeof(int32_t));
  y = malloc((size_t)count * sizeof(int32_t));
  v = malloc((size_t)nv + 1);
  if (!x || !y || !v) {
    free(x);
    free(y);
    free(v);
    free(text);
    return nnrt_file_fail(&c, NNRT_ERR_NOMEM, "out of memory for %" PRId64 " windows", n);
  }
  memcpy(v, vocab, (size_t)nv + 1);
  for (int64_t k = 0; k < n; k++) {
    const unsigned char *w = text + k * win;
    int32_t *xr = x + k * seq, *yr = y + k * seq;
    for (int64_t i = 0; i < seq; i++) {
      xr[i] = token[w[i]];
      yr[i] = token[w[i + 1]];
    }
  }
  free(text);
  out->n = n;
  out->x_dtype = out->y_dtype = NNRT_I32;
  out->x_rank = out->y_rank = 1;
  out->x_dims[0] = out->y_dims[0] = seq;
  out->x_size = out->y_size = seq;
  out->x = x;
  out->y = y;
  out->vocab = v;
  out->vocab_size = nv;
  return NNRT_OK;
}
