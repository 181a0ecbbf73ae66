/* ridge.c - a linear readout fitted in closed form: a train section's
 * `fit = ridge(alpha, washout)` (docs/language.md 10.4), the way echo state
 * networks are usually trained.
 *
 * The section's `features` function runs over the training set in batches;
 * each sample's per-step feature rows h (after the first `washout` steps)
 * with a 1 appended, and the matching rows of y, are accumulated as
 * X^T X and X^T Y in f64, so the states are never all held at once. Then
 * (X^T X + alpha I') W = X^T Y is solved by Cholesky (LAPACK's dposv, in
 * libopenblas), I' the identity without its last entry: the bias is not
 * shrunk. W's first N rows are the weight [N, K], its last the bias [K].
 */
#include "fileio.h"
#include "model_impl.h"
#include "nnrt_data.h"

#include <cblas.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK's Fortran entry point; the last argument is gfortran's hidden
 * string length. */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
                   double *b, const int *ldb, int *info, size_t uplo_len);

int nnrt_ridge_solve(int64_t n, int64_t k, double *a, double *b, double alpha, int64_t penalised,
                     char *err, size_t errlen) {
  if (n < 1 || k < 1 || n > 46340 || k > 46340 || !a || !b || !(alpha >= 0) || penalised < 0 ||
      penalised > n)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "ridge: bad arguments (n %" PRId64 ", k %" PRId64 ", alpha %g)", n, k,
                       alpha);
  (void)nnrt_get_threads(); /* OpenBLAS on one thread: the same bits at any count */
  for (int64_t i = 0; i < penalised; i++)
    a[i * n + i] += alpha;
  /* b is row-major [n, k]; LAPACK wants its columns. a is symmetric. */
  double *bt = malloc((size_t)(n * k) * sizeof *bt);
  if (!bt)
    return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM, "ridge: out of memory");
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < k; j++)
      bt[j * n + i] = b[i * k + j];
  int in = (int)n, ik = (int)k, info = 0;
  dposv_("U", &in, &ik, a, &in, bt, &in, &info, 1);
  if (info == 0)
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < k; j++)
        b[i * k + j] = bt[j * n + i];
  free(bt);
  if (info > 0)
    return nnrt_errorf(err, errlen, NNRT_ERR_NONFINITE,
                       "ridge: X^T X + alpha I is not positive definite (pivot %d): the features "
                       "are linearly dependent; raise alpha",
                       info);
  if (info < 0)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "ridge: LAPACK dposv refused argument %d", -info);
  return NNRT_OK;
}

/* ---- accumulating X^T X and X^T Y over the training set ---- */

typedef struct Fit {
  nnrt_model *m;
  const nnrt_dataset *d;
  int fi;                 /* the features function */
  int64_t n, k;           /* features per row, targets per row */
  int64_t steps, washout; /* rows per sample, and how many of them are skipped */
  double *xtx, *xty;      /* [n + 1, n + 1], [n + 1, k] */
  double *rows, *targets; /* one batch's kept rows: [r, n + 1], [r, k] */
  float *x, *y, *out;     /* one batch of samples, and the features of it */
  char *err;
  size_t errlen;
} Fit;

static int fit_batch(Fit *f, const int64_t *idx, int64_t count) {
  nnrt_model *m = f->m;
  const nnrt_func_desc *fd = &m->d->funcs[f->fi];
  int64_t dims[NNRT_MAX_FUNC_DIMS];
  if (nnrt_model_bind_dims(m, fd, count, f->d->x_dims, f->d->x_rank, NULL, 0, dims))
    return nnrt_errorf(f->err, f->errlen, NNRT_ERR_SHAPE, "%s", m->err);
  nnrt_dataset_gather(f->d, idx, count, f->x, f->y);
  const void *in[1] = {nnrt_model_input(m, f->fi, count, f->d->x_size, f->x)};
  void *out[1] = {f->out};
  if (!in[0])
    return nnrt_errorf(f->err, f->errlen, NNRT_ERR_NOMEM, "ridge: out of memory");
  if (nnrt_model_invoke(m, f->fi, dims, in, out))
    return nnrt_errorf(f->err, f->errlen, NNRT_ERR_SHAPE, "%s", m->err);
  int64_t n1 = f->n + 1, r = 0;
  for (int64_t s = 0; s < count; s++)
    for (int64_t t = f->washout; t < f->steps; t++, r++) {
      const float *h = f->out + (s * f->steps + t) * f->n;
      const float *y = f->y + (s * f->steps + t) * f->k;
      for (int64_t j = 0; j < f->n; j++)
        f->rows[r * n1 + j] = h[j];
      f->rows[r * n1 + f->n] = 1.0;
      for (int64_t j = 0; j < f->k; j++)
        f->targets[r * f->k + j] = y[j];
    }
  /* The upper triangle of X^T X (mirrored at the end) and all of X^T Y. */
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n1, (int)r, 1.0, f->rows, (int)n1, 1.0,
              f->xtx, (int)n1);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n1, (int)f->k, (int)r, 1.0, f->rows,
              (int)n1, f->targets, (int)f->k, 1.0, f->xty, (int)f->k);
  return NNRT_OK;
}

/* The solution into the weight [n, k] and bias [k], in their dtype. */
static int store_readout(Fit *f, const nnrt_train_desc *c) {
  nnrt_model *m = f->m;
  int wi = nnrt_model_find_param(m, c->fit_weight), bi = nnrt_model_find_param(m, c->fit_bias);
  void *w = nnrt_model_param_data(m, wi), *b = nnrt_model_param_data(m, bi);
  if (!w || !b)
    return nnrt_errorf(f->err, f->errlen, NNRT_ERR_ARG, "ridge: the model has no parameter '%s'",
                       w ? c->fit_bias : c->fit_weight);
  bool f64 = m->d->params[wi].dtype == NNRT_F64;
  for (int64_t i = 0; i <= f->n; i++)
    for (int64_t j = 0; j < f->k; j++) {
      double v = f->xty[i * f->k + j];
      void *dst = i < f->n ? w : b;
      int64_t at = i < f->n ? i * f->k + j : j;
      if (f64)
        ((double *)dst)[at] = v;
      else
        ((float *)dst)[at] = (float)v;
    }
  return NNRT_OK;
}

static void fit_free(Fit *f) {
  free(f->xtx);
  free(f->xty);
  free(f->rows);
  free(f->targets);
  free(f->x);
  free(f->y);
  free(f->out);
}

/* The features function's rows: n per row, steps rows per sample. */
static int feature_shape(Fit *f, int64_t batch) {
  const nnrt_func_desc *fd = &f->m->d->funcs[f->fi];
  int64_t dims[NNRT_MAX_FUNC_DIMS];
  if (nnrt_model_bind_dims(f->m, fd, batch, f->d->x_dims, f->d->x_rank, NULL, 0, dims))
    return nnrt_errorf(f->err, f->errlen, NNRT_ERR_SHAPE, "%s", f->m->err);
  const nnrt_arg_desc *res = &fd->results[0];
  bool ok = res->rank >= 2 && res->dtype == NNRT_F32;
  int64_t per_sample = 1;
  for (int i = 1; ok && i < res->rank; i++)
    per_sample *= nnrt_dim_value(&res->dims[i], dims, &ok);
  f->n = ok ? nnrt_dim_value(&res->dims[res->rank - 1], dims, &ok) : 0;
  if (!ok || f->n < 1)
    return nnrt_errorf(f->err, f->errlen, NNRT_ERR_SHAPE,
                       "ridge: the features function '%s' must return f32[B, ..., N]", fd->name);
  f->steps = per_sample / f->n;
  if (f->d->y_size != f->steps * f->k || f->d->y_dtype != NNRT_F32)
    return nnrt_errorf(f->err, f->errlen, NNRT_ERR_SHAPE,
                       "ridge: each sample has %" PRId64 " target values, but '%s' gives %" PRId64
                       " rows of features and the readout has %" PRId64 " outputs",
                       f->d->y_size, fd->name, f->steps, f->k);
  if (f->washout >= f->steps)
    return nnrt_errorf(f->err, f->errlen, NNRT_ERR_SHAPE,
                       "ridge: washout %" PRId64 " leaves none of the %" PRId64
                       " steps of each sample",
                       f->washout, f->steps);
  return NNRT_OK;
}

int nnrt_fit_ridge(nnrt_model *m, const nnrt_dataset *train, int64_t batch, char *err,
                   size_t errlen) {
  const nnrt_train_desc *c = &m->d->cfg;
  (void)nnrt_get_threads(); /* OpenBLAS on one thread before dsyrk: the same bits at any count */
  Fit f = {.m = m, .d = train, .err = err, .errlen = errlen, .washout = c->fit_washout};
  f.fi = c->fit_features ? nnrt_model_find_func(m, c->fit_features) : -1;
  int wi = c->fit_weight ? nnrt_model_find_param(m, c->fit_weight) : -1;
  if (f.fi < 0 || wi < 0 || m->d->params[wi].rank != 2)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "ridge: the model has no compiled features function '%s' or weight '%s'",
                       c->fit_features ? c->fit_features : "?",
                       c->fit_weight ? c->fit_weight : "?");
  f.k = m->d->params[wi].dims[1];
  if (batch < 1 || batch > train->n)
    batch = train->n;
  int rc = feature_shape(&f, batch);
  if (rc)
    return rc;
  int64_t n1 = f.n + 1, kept = batch * (f.steps - f.washout);
  f.xtx = calloc((size_t)(n1 * n1), sizeof *f.xtx);
  f.xty = calloc((size_t)(n1 * f.k), sizeof *f.xty);
  f.rows = malloc((size_t)(kept * n1) * sizeof *f.rows);
  f.targets = malloc((size_t)(kept * f.k) * sizeof *f.targets);
  f.x = malloc((size_t)(batch * train->x_size) * sizeof *f.x);
  f.y = malloc((size_t)(batch * train->y_size) * sizeof *f.y);
  f.out = malloc((size_t)(batch * f.steps * f.n) * sizeof *f.out);
  int64_t *idx = malloc((size_t)batch * sizeof *idx);
  if (!f.xtx || !f.xty || !f.rows || !f.targets || !f.x || !f.y || !f.out || !idx ||
      train->x_dtype != NNRT_F32)
    rc = train->x_dtype != NNRT_F32
             ? nnrt_errorf(err, errlen, NNRT_ERR_ARG, "ridge: the features must be f32")
             : nnrt_errorf(err, errlen, NNRT_ERR_NOMEM, "ridge: out of memory");
  for (int64_t at = 0; rc == NNRT_OK && at < train->n; at += batch) {
    int64_t count = train->n - at < batch ? train->n - at : batch;
    for (int64_t i = 0; i < count; i++)
      idx[i] = at + i;
    rc = fit_batch(&f, idx, count);
  }
  free(idx);
  if (rc == NNRT_OK) {
    for (int64_t i = 0; i < n1; i++)
      for (int64_t j = 0; j < i; j++)
        f.xtx[i * n1 + j] = f.xtx[j * n1 + i];
    rc = nnrt_ridge_solve(n1, f.k, f.xtx, f.xty, c->fit_alpha, f.n, err, errlen);
  }
  if (rc == NNRT_OK)
    rc = store_readout(&f, c);
  fit_free(&f);
  return rc;
}
