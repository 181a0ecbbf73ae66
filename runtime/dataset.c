/* dataset.c - what is done with a loaded data set: freeing, the train /
 * validation split, feature statistics and normalisation, the per-epoch
 * sample order and gathering a batch (see nnrt_data.h).
 */
#include "fileio.h"
#include "nnrt_data.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nnrt_dataset_free(nnrt_dataset *d) {
  if (!d)
    return;
  free(d->x);
  free(d->y);
  free(d->vocab);
  memset(d, 0, sizeof *d);
}

/* ---- epochs and batches ---- */

/* The order of epoch `epoch` under `seed`, when shuffled, is exactly:
 *
 *   nnrt_rng r;
 *   nnrt_rng_seed(&r, seed ^ 0x9E3779B97F4A7C15 * ((uint64_t)epoch + 2));
 *   perm[i] = i for all i;
 *   for (i = n - 1; i >= 1; i--) swap(perm[i], perm[nnrt_rng_below(&r, i + 1)]);
 *
 * (arithmetic mod 2^64). Epoch -1 is what nnrt_dataset_split uses, so the
 * split and the epochs (0, 1, ...) draw from different streams. */
void nnrt_epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle, int64_t *perm) {
  if (n <= 0 || !perm)
    return;
  for (int64_t i = 0; i < n; i++)
    perm[i] = i;
  if (!shuffle)
    return;
  nnrt_rng r;
  nnrt_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * ((uint64_t)epoch + 2)));
  for (int64_t i = n - 1; i >= 1; i--) {
    int64_t j = (int64_t)nnrt_rng_below(&r, (uint64_t)i + 1);
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

void nnrt_stream_order(int64_t n, int64_t batch, int64_t *perm) {
  if (n <= 0 || batch <= 0 || !perm)
    return;
  const int64_t len = n / batch; /* samples per stream = batches per pass */
  for (int64_t k = 0; k < len; k++)
    for (int64_t s = 0; s < batch; s++)
      perm[k * batch + s] = s * len + k;
}

void nnrt_dataset_gather(const nnrt_dataset *d, const int64_t *idx, int64_t count, void *x,
                         void *y) {
  if (!d || !idx || count <= 0)
    return;
  size_t xb = (size_t)d->x_size * nnrt_dtype_size(d->x_dtype);
  size_t yb = (size_t)d->y_size * nnrt_dtype_size(d->y_dtype);
  const unsigned char *sx = d->x, *sy = d->y;
  unsigned char *dx = x, *dy = y;
  for (int64_t i = 0; i < count; i++) {
    size_t k = (size_t)idx[i];
    if (dx && sx && xb)
      memcpy(dx + (size_t)i * xb, sx + k * xb, xb);
    if (dy && sy && yb)
      memcpy(dy + (size_t)i * yb, sy + k * yb, yb);
  }
}

/* ---- statistics ---- */

enum { STAT_BLOCK = 256 }; /* features summed together: 1 KiB of each row */

void nnrt_dataset_stats(const nnrt_dataset *d, float *mean, float *std) {
  if (!d || !mean || !std || d->x_size <= 0)
    return;
  int64_t m = d->x_size, n = d->n;
  if (d->x_dtype != NNRT_F32 || n <= 0 || !d->x) {
    for (int64_t j = 0; j < m; j++) {
      mean[j] = 0;
      std[j] = 1;
    }
    return;
  }
  const float *x = d->x;
  /* Two passes over a block of features (mean, then squared deviations from
   * it) in double: no cancellation, and each row is read contiguously. */
  for (int64_t j0 = 0; j0 < m; j0 += STAT_BLOCK) {
    int64_t nb = m - j0 < STAT_BLOCK ? m - j0 : STAT_BLOCK;
    double sum[STAT_BLOCK] = {0}, sq[STAT_BLOCK] = {0}, mu[STAT_BLOCK];
    for (int64_t i = 0; i < n; i++) {
      const float *row = x + i * m + j0;
      for (int64_t k = 0; k < nb; k++)
        sum[k] += row[k];
    }
    for (int64_t k = 0; k < nb; k++)
      mu[k] = sum[k] / (double)n;
    for (int64_t i = 0; i < n; i++) {
      const float *row = x + i * m + j0;
      for (int64_t k = 0; k < nb; k++) {
        double dv = row[k] - mu[k];
        sq[k] += dv * dv;
      }
    }
    for (int64_t k = 0; k < nb; k++) {
      mean[j0 + k] = (float)mu[k];
      std[j0 + k] = (float)sqrt(sq[k] / (double)n);
    }
  }
}

void nnrt_dataset_normalize(nnrt_dataset *d, const float *mean, const float *std) {
  if (!d || !mean || !std || d->x_dtype != NNRT_F32 || !d->x || d->x_size <= 0)
    return;
  int64_t m = d->x_size;
  float *x = d->x;
  for (int64_t i = 0; i < d->n; i++) {
    float *row = x + i * m;
    for (int64_t j = 0; j < m; j++) {
      float s = std[j] >= 1e-7f ? std[j] : 1.0f; /* also catches NaN */
      row[j] = (row[j] - mean[j]) / s;
    }
  }
}

/* ---- split ---- */

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int code,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nnrt_verrorf(err, errlen, code, "dataset split: ", fmt, ap);
  va_end(ap);
  return code;
}

/* Bytes of n samples of `size` elements of dt; -1 if that overflows or dt
 * is not a dtype. */
static int64_t block_bytes(int64_t n, int64_t size, nnrt_dtype dt) {
  int64_t es = (int64_t)nnrt_dtype_size(dt);
  if (es == 0 || n < 0 || size < 0)
    return -1;
  if (size != 0 && n > INT64_MAX / size)
    return -1;
  int64_t count = n * size;
  if (count > INT64_MAX / es || (uint64_t)(count * es) > SIZE_MAX)
    return -1;
  return count * es;
}

/* *dst = the shape of src with room for n samples (x and y uninitialised)
 * and a copy of the vocabulary. */
static int alloc_like(const nnrt_dataset *src, int64_t n, nnrt_dataset *dst) {
  *dst = *src;
  dst->n = n;
  dst->x = dst->y = NULL;
  dst->vocab = NULL;
  int64_t xb = block_bytes(n, src->x_size, src->x_dtype);
  int64_t yb = block_bytes(n, src->y_size, src->y_dtype);
  if (xb < 0 || yb < 0)
    return NNRT_ERR_ARG;
  if (xb > 0 && !(dst->x = malloc((size_t)xb)))
    goto nomem;
  if (yb > 0 && !(dst->y = malloc((size_t)yb)))
    goto nomem;
  if (src->vocab) {
    size_t vs = src->vocab_size > 0 ? (size_t)src->vocab_size : 0;
    if (!(dst->vocab = malloc(vs + 1)))
      goto nomem;
    memcpy(dst->vocab, src->vocab, vs);
    dst->vocab[vs] = '\0';
  }
  return NNRT_OK;
nomem:
  nnrt_dataset_free(dst);
  return NNRT_ERR_NOMEM;
}

static int split(nnrt_dataset *all, double fraction, uint64_t seed, bool shuffle,
                 nnrt_dataset *train, nnrt_dataset *val, char *err, size_t errlen) {
  if (!all || !train || !val)
    return fail(err, errlen, NNRT_ERR_ARG, "%s is NULL",
                !all     ? "the data set"
                : !train ? "train"
                         : "val");
  if (train == val)
    return fail(err, errlen, NNRT_ERR_ARG, "train and val are the same data set");
  if (!(fraction >= 0 && fraction < 1)) /* also NaN */
    return fail(err, errlen, NNRT_ERR_ARG, "fraction %g is outside [0, 1)", fraction);
  int64_t n = all->n;
  if (n < 1)
    return fail(err, errlen, NNRT_ERR_ARG, "the data set has no samples");
  int64_t nv = 0;
  if (fraction > 0) {
    double r = round((double)n * fraction);
    nv = r < 1 ? 1 : (int64_t)r;
  }
  if (nv >= n)
    return fail(err, errlen, NNRT_ERR_ARG,
                "fraction %g of %" PRId64 " %s leaves none for training (validation takes %" PRId64
                ")",
                fraction, n, n == 1 ? "sample" : "samples", nv);

  nnrt_dataset t, v;
  if (nv == 0) {
    /* Everything to train as it is, in the original order; val is empty but
     * has the same shapes and vocabulary. */
    int rc = alloc_like(all, 0, &v);
    if (rc != NNRT_OK)
      return rc == NNRT_ERR_NOMEM ? fail(err, errlen, rc, "out of memory")
                                  : fail(err, errlen, rc, "the data set has an invalid shape");
    t = *all;
  } else {
    int64_t nt = n - nv;
    if ((uint64_t)n > SIZE_MAX / sizeof(int64_t))
      return fail(err, errlen, NNRT_ERR_ARG, "too many samples");
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    if (!perm)
      return fail(err, errlen, NNRT_ERR_NOMEM, "out of memory");
    int rc = alloc_like(all, nt, &t);
    if (rc == NNRT_OK) {
      rc = alloc_like(all, nv, &v);
      if (rc != NNRT_OK)
        nnrt_dataset_free(&t);
    }
    if (rc != NNRT_OK) {
      free(perm);
      return rc == NNRT_ERR_NOMEM ? fail(err, errlen, rc, "out of memory")
                                  : fail(err, errlen, rc, "the data set has an invalid shape");
    }
    nnrt_epoch_order(n, seed, -1, shuffle, perm);
    nnrt_dataset_gather(all, perm, nt, t.x, t.y);
    nnrt_dataset_gather(all, perm + nt, nv, v.x, v.y);
    free(perm);
    free(all->x);
    free(all->y);
    free(all->vocab);
  }
  /* all, train and val may alias (all == train is fine). */
  memset(all, 0, sizeof *all);
  *train = t;
  *val = v;
  return NNRT_OK;
}

int nnrt_dataset_split(nnrt_dataset *all, double fraction, uint64_t seed, nnrt_dataset *train,
                       nnrt_dataset *val, char *err, size_t errlen) {
  return split(all, fraction, seed, true, train, val, err, errlen);
}

int nnrt_dataset_split_tail(nnrt_dataset *all, double fraction, nnrt_dataset *train,
                            nnrt_dataset *val, char *err, size_t errlen) {
  return split(all, fraction, 0, false, train, val, err, errlen);
}
