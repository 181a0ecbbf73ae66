/* init.c - parameter initialisers (nnrt_init_tensor).
 *
 * Every rule draws in element order from the caller's generator, a fixed
 * number of draws per element (sparse: one uniform, plus two for a value),
 * so a seed gives the same parameters on every machine. Values are computed
 * in double and rounded once to the tensor's type.
 *
 * Fans follow PyTorch's _calculate_fan_in_and_fan_out: a matrix is nnc's
 * [in, out] (x @ W; PyTorch's Linear stores [out, in]), a tensor of rank 3
 * or more a convolution kernel [out, in, k...] as PyTorch stores it, its
 * trailing dims the receptive field. Orthogonal matrices come from Gaussian ones by Gram-Schmidt,
 * which gives the Haar (uniform) distribution over orthonormal sets.
 */
#include "fileio.h"
#include "nnrt.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(nnrt_init_kind kind) {
  switch (kind) {
  case NNRT_INIT_ZEROS:
    return "zeros";
  case NNRT_INIT_ONES:
    return "ones";
  case NNRT_INIT_NORMAL:
    return "normal";
  case NNRT_INIT_UNIFORM:
    return "uniform";
  case NNRT_INIT_GLOROT:
    return "glorot";
  case NNRT_INIT_HE:
    return "he";
  case NNRT_INIT_ORTHOGONAL:
    return "orthogonal";
  case NNRT_INIT_SPARSE:
    return "sparse";
  case NNRT_INIT_CONSTANT:
    return "constant";
  case NNRT_INIT_RESERVOIR:
    return "reservoir";
  }
  return NULL;
}

static void store(nnrt_tensor *t, int64_t i, double v) {
  if (t->dtype == NNRT_F32)
    ((float *)t->data)[i] = (float)v;
  else
    ((double *)t->data)[i] = v;
}

static void fans(const nnrt_tensor *t, double *fan_in, double *fan_out) {
  if (t->rank == 0) {
    *fan_in = *fan_out = 1;
  } else if (t->rank == 1) {
    *fan_in = *fan_out = (double)t->dims[0];
  } else if (t->rank == 2) {
    *fan_in = (double)t->dims[0];
    *fan_out = (double)t->dims[1];
  } else {
    double receptive = 1;
    for (int i = 2; i < t->rank; i++)
      receptive *= (double)t->dims[i];
    *fan_in = (double)t->dims[1] * receptive;
    *fan_out = (double)t->dims[0] * receptive;
  }
}

static void fill_constant(nnrt_tensor *t, int64_t numel, double v) {
  for (int64_t i = 0; i < numel; i++)
    store(t, i, v);
}

static void fill_normal(nnrt_rng *r, nnrt_tensor *t, int64_t numel, double mean, double std) {
  for (int64_t i = 0; i < numel; i++)
    store(t, i, mean + std * nnrt_rng_normal(r));
}

static void fill_uniform(nnrt_rng *r, nnrt_tensor *t, int64_t numel, double lo, double hi) {
  for (int64_t i = 0; i < numel; i++)
    store(t, i, lo + (hi - lo) * nnrt_rng_uniform(r));
}

static void fill_sparse(nnrt_rng *r, nnrt_tensor *t, int64_t numel, double density, double std) {
  for (int64_t i = 0; i < numel; i++)
    store(t, i, nnrt_rng_uniform(r) < density ? std * nnrt_rng_normal(r) : 0.0);
}

/* Makes row v (length len) of q orthogonal to rows 0..v-1, which are already
 * orthonormal, and normalises it; returns its norm before normalising.
 * Classical Gram-Schmidt run twice ("twice is enough", Giraud et al. 2005)
 * is as accurate as the modified form and runs as two BLAS-2 calls. */
static double orthonormalise_row(double *q, int64_t v, int64_t len, double *h) {
  double *row = q + v * len;
  for (int pass = 0; pass < 2 && v > 0; pass++) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)v, (int)len, 1.0, q, (int)len, row, 1, 0.0, h, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)v, (int)len, -1.0, q, (int)len, h, 1, 1.0, row, 1);
  }
  double norm = cblas_dnrm2((int)len, row, 1);
  if (norm > 0)
    cblas_dscal((int)len, 1.0 / norm, row, 1);
  return norm;
}

/* rows = product of all but the last dim, cols = the last. The smaller side
 * is made orthonormal: W^T W = gain^2 I when rows >= cols, else
 * W W^T = gain^2 I. */
static int fill_orthogonal(nnrt_rng *r, nnrt_tensor *t, double gain, char *err, size_t errlen) {
  int64_t cols = t->dims[t->rank - 1], rows = nnrt_tensor_numel(t) / cols;
  int64_t count = rows < cols ? rows : cols; /* vectors to orthonormalise */
  int64_t len = rows < cols ? cols : rows;   /* their length */
  if (len > 0x7fffffff) {
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "orthogonal init: a %lld x %lld matrix is too large", (long long)rows,
                       (long long)cols);
  }
  double *q = malloc((size_t)(count * len) * sizeof *q);
  double *h = malloc((size_t)count * sizeof *h);
  if (!q || !h) {
    free(q);
    free(h);
    if (err && errlen > 0)
      snprintf(err, errlen, "orthogonal init: out of memory for a %lld x %lld matrix",
               (long long)rows, (long long)cols);
    return NNRT_ERR_NOMEM;
  }
  for (int64_t v = 0; v < count; v++) {
    /* A Gaussian vector lies in the span of the others with probability 0;
     * redraw in that case rather than emit a non-orthogonal row. */
    double norm;
    int tries = 0;
    do {
      for (int64_t i = 0; i < len; i++)
        q[v * len + i] = nnrt_rng_normal(r);
      norm = orthonormalise_row(q, v, len, h);
    } while (norm < 1e-10 && ++tries < 8);
  }
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++)
      store(t, i * cols + j, gain * (rows < cols ? q[i * len + j] : q[j * len + i]));
  free(q);
  free(h);
  return NNRT_OK;
}

/* ---- reservoir: a sparse random matrix of a given spectral radius ----
 * For echo state networks. Each entry is non-zero with probability
 * `density`, uniform on [-1, 1) (one uniform, plus one for a value), then
 * the whole matrix is scaled so that its largest |eigenvalue| is `radius`.
 * The matrix is not symmetric, so the eigenvalues are complex: LAPACK's
 * dgeev (in libopenblas) computes them, in f64. */

/* LAPACK's Fortran entry point; the trailing lengths are gfortran's hidden
 * string-length arguments. */
extern void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda,
                   double *wr, double *wi, double *vl, const int *ldvl, double *vr, const int *ldvr,
                   double *work, const int *lwork, int *info, size_t jobvl_len, size_t jobvr_len);

/* Largest |eigenvalue| of the n x n matrix a (destroyed); < 0 when LAPACK
 * fails or memory runs out. */
static double spectral_radius(double *a, int n) {
  /* OpenBLAS on one thread (nnrt's first thread resolution does that), so
   * the eigenvalues, hence the scale, have the same bits at any count. */
  (void)nnrt_get_threads();
  int lwork = -1, info = 0, one = 1;
  double query = 0;
  double *wr = malloc((size_t)n * sizeof *wr), *wi = malloc((size_t)n * sizeof *wi);
  double *work = NULL;
  double radius = -1;
  if (!wr || !wi)
    goto done;
  dgeev_("N", "N", &n, a, &n, wr, wi, NULL, &one, NULL, &one, &query, &lwork, &info, 1, 1);
  lwork = info == 0 && query >= 3.0 * n ? (int)query : 4 * n;
  work = malloc((size_t)lwork * sizeof *work);
  if (!work)
    goto done;
  dgeev_("N", "N", &n, a, &n, wr, wi, NULL, &one, NULL, &one, work, &lwork, &info, 1, 1);
  if (info != 0)
    goto done;
  radius = 0;
  for (int i = 0; i < n; i++)
    radius = fmax(radius, hypot(wr[i], wi[i]));
done:
  free(wr);
  free(wi);
  free(work);
  return radius;
}

static void draw_sparse_uniform(nnrt_rng *r, double *w, int64_t numel, double density) {
  for (int64_t i = 0; i < numel; i++)
    w[i] = nnrt_rng_uniform(r) < density ? 2.0 * nnrt_rng_uniform(r) - 1.0 : 0.0;
}

/* A draw whose radius is 0 (all zeros, or nilpotent, as a very sparse
 * matrix can be) cannot be scaled: it is drawn again from the same stream,
 * so the result still depends on the seed alone. */
enum { RESERVOIR_TRIES = 16 };

static int fill_reservoir(nnrt_rng *r, nnrt_tensor *t, double radius, double density, char *err,
                          size_t errlen) {
  int64_t n = t->dims[0];
  if (n > 46340) /* n * n must fit LAPACK's int */
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "reservoir init: a %lld x %lld matrix is too large", (long long)n,
                       (long long)n);
  size_t bytes = (size_t)(n * n) * sizeof(double);
  double *w = malloc(bytes), *scratch = malloc(bytes);
  if (!w || !scratch) {
    free(w);
    free(scratch);
    return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM,
                       "reservoir init: out of memory for a %lld x %lld matrix", (long long)n,
                       (long long)n);
  }
  double rho = 0;
  for (int tries = 0; tries < RESERVOIR_TRIES && rho <= 0; tries++) {
    draw_sparse_uniform(r, w, n * n, density);
    memcpy(scratch, w, bytes);
    rho = spectral_radius(scratch, (int)n);
    if (rho < 0) {
      free(w);
      free(scratch);
      return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM,
                         "reservoir init: the eigenvalues of the %lld x %lld matrix could not be "
                         "computed (LAPACK dgeev failed or memory ran out)",
                         (long long)n, (long long)n);
    }
  }
  if (!(rho > 1e-12)) {
    free(w);
    free(scratch);
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "reservoir init: %d draws of a %lld x %lld matrix of density %g all had "
                       "spectral radius 0; raise the density",
                       RESERVOIR_TRIES, (long long)n, (long long)n, density);
  }
  for (int64_t i = 0; i < n * n; i++)
    store(t, i, w[i] * (radius / rho));
  free(w);
  free(scratch);
  return NNRT_OK;
}

/* The checks on a and b that would otherwise produce NaN or nonsense. */
static int check_args(nnrt_init_kind kind, double a, double b, double fan_in, double fan_out,
                      const nnrt_tensor *t, char *err, size_t errlen) {
  switch (kind) {
  case NNRT_INIT_NORMAL:
    if (!(b >= 0) || !isfinite(a) || !isfinite(b))
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                         "normal init: std must be finite and >= 0 (got mean %g, std %g)", a, b);
    break;
  case NNRT_INIT_UNIFORM:
    if (!(a <= b) || !isfinite(a) || !isfinite(b))
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                         "uniform init: need finite lo <= hi (got %g, %g)", a, b);
    break;
  case NNRT_INIT_GLOROT:
    if (fan_in + fan_out <= 0)
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "glorot init: fan_in + fan_out is 0");
    break;
  case NNRT_INIT_HE:
    if (fan_in <= 0)
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "he init: fan_in is 0");
    break;
  case NNRT_INIT_ORTHOGONAL:
    if (t->rank < 2)
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                         "orthogonal init needs a tensor of rank 2 or more (got rank %d)", t->rank);
    if (!isfinite(a))
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "orthogonal init: gain must be finite (got %g)",
                         a);
    break;
  case NNRT_INIT_SPARSE:
    if (!(a >= 0 && a <= 1) || !(b >= 0) || !isfinite(b))
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                         "sparse init: need density in [0, 1] and finite std >= 0 (got %g, %g)", a,
                         b);
    break;
  case NNRT_INIT_CONSTANT:
    if (isnan(a))
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "constant init: value is NaN");
    break;
  case NNRT_INIT_RESERVOIR:
    if (t->rank != 2 || t->dims[0] != t->dims[1])
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                         "reservoir init needs a square matrix [N, N] (got rank %d%s)", t->rank,
                         t->rank == 2 ? ", not square" : "");
    if (!(a > 0) || !isfinite(a) || !(b > 0 && b <= 1))
      return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                         "reservoir init: need a finite radius > 0 and density in (0, 1] (got "
                         "%g, %g)",
                         a, b);
    break;
  default:
    break;
  }
  return NNRT_OK;
}

int nnrt_init_tensor(nnrt_rng *r, nnrt_init_kind kind, double a, double b, nnrt_tensor *t,
                     char *err, size_t errlen) {
  const char *name = kind_name(kind);
  if (!name)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "unknown initializer kind %d", (int)kind);
  if (!t)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "%s init: tensor is NULL", name);
  if (t->dtype != NNRT_F32 && t->dtype != NNRT_F64)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "%s init needs an f32 or f64 tensor, got %s",
                       name, nnrt_dtype_name(t->dtype));
  int64_t numel = nnrt_tensor_numel(t);
  if (numel < 0)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "%s init: invalid shape (rank %d)", name,
                       t->rank);
  if (numel == 0)
    return NNRT_OK; /* nothing to fill, whatever the fans */
  if (!t->data)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "%s init: tensor data is NULL", name);
  bool random = kind != NNRT_INIT_ZEROS && kind != NNRT_INIT_ONES && kind != NNRT_INIT_CONSTANT;
  if (random && !r)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "%s init: random generator is NULL", name);
  double fan_in, fan_out;
  fans(t, &fan_in, &fan_out);
  int rc = check_args(kind, a, b, fan_in, fan_out, t, err, errlen);
  if (rc != NNRT_OK)
    return rc;

  switch (kind) {
  case NNRT_INIT_ZEROS:
    fill_constant(t, numel, 0.0);
    break;
  case NNRT_INIT_ONES:
    fill_constant(t, numel, 1.0);
    break;
  case NNRT_INIT_CONSTANT:
    fill_constant(t, numel, a);
    break;
  case NNRT_INIT_NORMAL:
    fill_normal(r, t, numel, a, b);
    break;
  case NNRT_INIT_UNIFORM:
    fill_uniform(r, t, numel, a, b);
    break;
  case NNRT_INIT_GLOROT: {
    double limit = sqrt(6.0 / (fan_in + fan_out));
    fill_uniform(r, t, numel, -limit, limit);
    break;
  }
  case NNRT_INIT_HE:
    fill_normal(r, t, numel, 0.0, sqrt(2.0 / fan_in));
    break;
  case NNRT_INIT_ORTHOGONAL:
    return fill_orthogonal(r, t, a, err, errlen);
  case NNRT_INIT_SPARSE:
    fill_sparse(r, t, numel, a, b);
    break;
  case NNRT_INIT_RESERVOIR:
    return fill_reservoir(r, t, a, b, err, errlen);
  }
  return NNRT_OK;
}
