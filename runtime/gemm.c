/* gemm.c - row-major GEMM over OpenBLAS's CBLAS interface.
 *
 * The nnrt entry points take int64 sizes and strides; CBLAS (Debian's LP64
 * OpenBLAS) takes int and rejects a leading dimension smaller than the
 * stored row, printing through xerbla. Calls that CBLAS cannot take as they
 * are go to a plain reference loop instead, so every call gets the defined
 * result and nothing is printed. Empty products (k == 0 or alpha == 0) are
 * handled here too, with BLAS semantics whatever the OpenBLAS version: A and
 * B are not read, and beta == 0 overwrites C without reading it (a NaN in C
 * does not survive).
 */
#include "gemm_small.h"
#include "pool.h"

#include <cblas.h>
#include <limits.h>
#include <stdbool.h>

/* ---- splitting over the pool ----
 * OpenBLAS runs on one thread (threads.c says why); a product worth several
 * threads is split here into bands of rows of C (or of columns, when C has
 * more columns than rows: each band re-packs the operand it shares with the
 * others, and this way that is the smaller one). Bands are whole multiples
 * of GEMM_BAND rows, a multiple of OpenBLAS's register blocking. */
enum { GEMM_BAND = 16 };

/* Multiply-adds per nanosecond of one core, the cost estimate behind the
 * split. Measured with OpenBLAS 0.3.21 on one core of the 2-core EPYC of
 * docs/benchmarks.md, float: GEMM 20-57 (26 at 64x128x64, 32-40 at
 * 128x512x784); GEMV 10-17 with the matrix in cache, 3-5 from memory.
 * Double does half. GEMV is costed as from memory even when the matrix is
 * in cache: split, each core reads its rows from its own L2 and keeps them
 * there from call to call. On the Xeon of docs/benchmarks.md at 2 threads
 * that made a character of char_lstm 10-11 us instead of 12-14 (8: 1 MB
 * of W_hh stayed on one core), and mlp784's batch-1 forward 45 us instead
 * of 50-86. */
static double gemm_macs_per_ns(bool dbl, int64_t m, int64_t n) {
  double rate = (m == 1 || n == 1) ? 4.0 : 32.0;
  return dbl ? rate / 2 : rate;
}

typedef struct GemmJob {
  bool dbl, by_rows;
  nnrt_small_form small; /* f32 on gemm_small.c's kernels, decided for the whole product */
  int trans_a, trans_b;
  int64_t m, n, k, lda, ldb, ldc;
  double alpha, beta;
  const void *a, *b;
  void *c;
} GemmJob;

static void gemm_band(const GemmJob *j, int64_t m, int64_t n, size_t a_off, size_t b_off,
                      size_t c_off);

static void gemm_part(void *ctx, int64_t lo, int64_t hi) {
  const GemmJob *j = ctx;
  int64_t extent = j->by_rows ? j->m : j->n;
  int64_t r0 = lo * GEMM_BAND, r1 = hi * GEMM_BAND < extent ? hi * GEMM_BAND : extent;
  if (j->by_rows) /* rows r0..r1 of op(A) and of C */
    gemm_band(j, r1 - r0, j->n, (size_t)(j->trans_a ? r0 : r0 * j->lda), 0, (size_t)(r0 * j->ldc));
  else /* columns r0..r1 of op(B) and of C */
    gemm_band(j, j->m, r1 - r0, 0, (size_t)(j->trans_b ? r0 * j->ldb : r0), (size_t)r0);
}

/* Splits the product over the pool if it is worth it; false if it is not
 * (the caller then makes it in one call). */
static bool gemm_split(const GemmJob *job) {
  GemmJob j = *job;
  j.by_rows = j.m >= j.n;
  int64_t extent = j.by_rows ? j.m : j.n;
  int64_t bands = (extent + GEMM_BAND - 1) / GEMM_BAND;
  double macs = (double)j.m * (double)j.n * (double)j.k;
  int chunks = nnrt_pool_chunks(bands, macs / gemm_macs_per_ns(j.dbl, j.m, j.n));
  if (chunks < 2)
    return false;
  nnrt_pool_run(gemm_part, &j, bands, chunks);
  return true;
}

static bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* Whether CBLAS takes this call: sizes fit its int and each leading
 * dimension covers its stored row (op(A) is m x k, so A is stored m x k,
 * or k x m when transposed). */
static bool cblas_ok(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, int64_t lda,
                     int64_t ldb, int64_t ldc) {
  int64_t a_cols = trans_a ? m : k;
  int64_t b_cols = trans_b ? k : n;
  return fits_int(m) && fits_int(n) && fits_int(k) && fits_int(lda) && fits_int(ldb) &&
         fits_int(ldc) && lda >= a_cols && ldb >= b_cols && ldc >= n;
}

static enum CBLAS_TRANSPOSE cblas_trans(int t) { return t ? CblasTrans : CblasNoTrans; }

/* ---- single precision ---- */

/* C = beta * C for an empty product; beta == 0 writes zeros. */
static void sscale(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
  if (beta == 1.0f)
    return;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++)
      c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

/* Reference loop for what CBLAS cannot take; accumulates in double. */
static void sgemm_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                      float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double sum = 0;
      for (int64_t p = 0; p < k; p++) {
        float x = trans_a ? a[p * lda + i] : a[i * lda + p];
        float y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        sum += (double)x * y;
      }
      float *out = &c[i * ldc + j];
      *out = (float)(alpha * sum + (beta == 0.0f ? 0.0 : (double)beta * *out));
    }
}

/* Batch-1 inference and training are mostly matrix-vector products (the
 * forward pass, the input gradient). OpenBLAS 0.3.21's GEMM packs its
 * operands even then, which costs more than the product at these shapes;
 * its GEMV does not. (Outer products, k == 1, stay with GEMM: measured
 * faster than a plain loop at -O2.) */
static bool sgemm_thin(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc) {
  if (m == 1 && n > 1) { /* c[n] = op(B)^T a */
    int inc_a = (int)(trans_a ? lda : 1);
    cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (int)(trans_b ? n : k),
                (int)(trans_b ? k : n), alpha, b, (int)ldb, a, inc_a, beta, c, 1);
    return true;
  }
  if (n == 1 && m > 1) { /* c[m] = op(A) b */
    int inc_b = (int)(trans_b ? 1 : ldb);
    cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, (int)(trans_a ? k : m),
                (int)(trans_a ? m : k), alpha, a, (int)lda, b, inc_b, beta, c, (int)ldc);
    return true;
  }
  return false;
}

/* One call into OpenBLAS, for a product CBLAS takes. */
static void sgemm_blas(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc) {
  if (sgemm_thin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
    return;
  cblas_sgemm(CblasRowMajor, cblas_trans(trans_a), cblas_trans(trans_b), (int)m, (int)n, (int)k,
              alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void nnrt_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                int64_t ldc) {
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0 || alpha == 0.0f) {
    sscale(m, n, beta, c, ldc);
    return;
  }
  if (!cblas_ok(trans_a, trans_b, m, n, k, lda, ldb, ldc)) {
    sgemm_ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  nnrt_small_form small = nnrt_sgemm_small_form(trans_a, trans_b, m, n, k);
  GemmJob job = {false, false, small, trans_a, trans_b, m, n, k,
                 lda,   ldb,   ldc,   alpha,   beta,    a, b, c};
  if (gemm_split(&job))
    return;
  if (small)
    nnrt_sgemm_small(small, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    sgemm_blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ---- a product whose op(B) a loop does not change ---- */

typedef struct FixedJob {
  int trans_a, trans_b, pack;
  int64_t m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c, *packed;
} FixedJob;

static void fixed_panels(void *ctx, int64_t p0, int64_t p1) {
  const FixedJob *j = ctx;
  if (j->pack)
    nnrt_small_pack_b(j->trans_b, j->n, j->k, j->b, j->ldb, j->packed, p0, p1);
  nnrt_small_packed(j->trans_a, j->m, j->n, j->k, j->alpha, j->a, j->lda, j->packed, j->beta, j->c,
                    j->ldc, p0, p1);
}

/* A recurrent layer's step multiplies by the same weights at every step.
 * Packed at each step (sgemm_bcast), their panels were read from rows
 * 1-4 KB apart that the rest of the step had pushed out of L2: in
 * char_lstm's training step the packing took a fifth of the broadcast
 * kernel's time. Packed at the first step, they are read in the order the
 * kernel uses them. */
void nnrt_sgemm_fixed_b(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc, float *packed, int pack) {
  if (!packed || alpha == 0.0f || !cblas_ok(trans_a, trans_b, m, n, k, lda, ldb, ldc) ||
      !nnrt_small_packed_takes(m, n, k)) {
    nnrt_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  FixedJob j = {trans_a, trans_b, pack, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c, packed};
  int64_t panels = (n + NNRT_SGEMM_PANEL - 1) / NNRT_SGEMM_PANEL;
  double macs = (double)m * (double)n * (double)k;
  int chunks = nnrt_pool_chunks(panels, macs / gemm_macs_per_ns(false, m, n));
  if (chunks < 2)
    fixed_panels(&j, 0, panels);
  else
    nnrt_pool_run(fixed_panels, &j, panels, chunks);
}

/* Debian's OpenBLAS 0.3.21 has no cblas_sgemm_batch, hence the loop. */
void nnrt_sgemm_batched(int64_t batch, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                        float alpha, const float *a, int64_t lda, int64_t stride_a, const float *b,
                        int64_t ldb, int64_t stride_b, float beta, float *c, int64_t ldc,
                        int64_t stride_c) {
  /* No pointer arithmetic when nothing is touched: a and b may be NULL. */
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    stride_a = stride_b = 0;
  for (int64_t i = 0; i < batch; i++)
    nnrt_sgemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
               c + i * stride_c, ldc);
}

/* ---- double precision: the same, in double ---- */

static void dscale(int64_t m, int64_t n, double beta, double *c, int64_t ldc) {
  if (beta == 1.0)
    return;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++)
      c[i * ldc + j] = beta == 0.0 ? 0.0 : beta * c[i * ldc + j];
}

static void dgemm_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                      const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                      double *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double sum = 0;
      for (int64_t p = 0; p < k; p++) {
        double x = trans_a ? a[p * lda + i] : a[i * lda + p];
        double y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        sum += x * y;
      }
      double *out = &c[i * ldc + j];
      *out = alpha * sum + (beta == 0.0 ? 0.0 : beta * *out);
    }
}

static void dgemm_blas(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                       const double *a, int64_t lda, const double *b, int64_t ldb, double beta,
                       double *c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, cblas_trans(trans_a), cblas_trans(trans_b), (int)m, (int)n, (int)k,
              alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void nnrt_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                int64_t ldc) {
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0 || alpha == 0.0) {
    dscale(m, n, beta, c, ldc);
    return;
  }
  if (!cblas_ok(trans_a, trans_b, m, n, k, lda, ldb, ldc)) {
    dgemm_ref(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  GemmJob job = {true, false, NNRT_SMALL_NONE, trans_a, trans_b, m, n, k, lda,
                 ldb,  ldc,   alpha,           beta,    a,       b, c};
  if (!gemm_split(&job))
    dgemm_blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void nnrt_dgemm_batched(int64_t batch, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                        double alpha, const double *a, int64_t lda, int64_t stride_a,
                        const double *b, int64_t ldb, int64_t stride_b, double beta, double *c,
                        int64_t ldc, int64_t stride_c) {
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    stride_a = stride_b = 0;
  for (int64_t i = 0; i < batch; i++)
    nnrt_dgemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
               c + i * stride_c, ldc);
}

/* A band of the split product: the same call on a corner of the operands
 * (offsets in elements), through the same one-call path. */
static void gemm_band(const GemmJob *j, int64_t m, int64_t n, size_t a_off, size_t b_off,
                      size_t c_off) {
  if (j->small)
    nnrt_sgemm_small(j->small, j->trans_a, j->trans_b, m, n, j->k, (float)j->alpha,
                     (const float *)j->a + a_off, j->lda, (const float *)j->b + b_off, j->ldb,
                     (float)j->beta, (float *)j->c + c_off, j->ldc);
  else if (j->dbl)
    dgemm_blas(j->trans_a, j->trans_b, m, n, j->k, j->alpha, (const double *)j->a + a_off, j->lda,
               (const double *)j->b + b_off, j->ldb, j->beta, (double *)j->c + c_off, j->ldc);
  else
    sgemm_blas(j->trans_a, j->trans_b, m, n, j->k, (float)j->alpha, (const float *)j->a + a_off,
               j->lda, (const float *)j->b + b_off, j->ldb, (float)j->beta, (float *)j->c + c_off,
               j->ldc);
}
