/* test_gemm.c - nnrt_[sd]gemm and the batched forms against a naive triple
 * loop: all four transpose combinations, padded leading dimensions, alpha and
 * beta (beta == 0 must overwrite a NaN in C), empty products (k == 0,
 * alpha == 0 with NaN operands, m or n == 0 leaving C alone), leading
 * dimensions CBLAS would reject (the reference path), and batches with a
 * broadcast (stride 0) operand. Products big enough to be split over
 * threads (bands of rows or of columns, GEMV too), at 2 and 3 threads:
 * against the naive loop, the padding of C left alone, and the same bits on
 * a second call (OpenBLAS's result depends on the band sizes, so bits match
 * at one thread count, not across them). The AVX-512 kernels for few rows
 * (gemm_small.c, one row with B^T too): their shapes with every tail of
 * rows, columns and k, and
 * the same bits at 1, 2 and 3 threads; their form for many rows, the same
 * bits whole and in bands; a loop's product with B packed once
 * (nnrt_sgemm_fixed_b). */
#include "check.h"
#include "gemm_small.h"
#include "nnrt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t lcg_state = 777;
static double rnd(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(lcg_state >> 11) * 0x1p-53 * 2 - 1;
}

/* Elements a stored rows x cols matrix with row stride ld spans. */
static int64_t span(int64_t rows, int64_t cols, int64_t ld) {
  return rows == 0 ? 0 : (rows - 1) * ld + cols;
}

typedef struct {
  int ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  double alpha, beta;
} Case;

/* C = alpha op(A) op(B) + beta C in double, reading exactly as BLAS does. */
static void naive(const Case *c, const double *a, const double *b, double *out) {
  for (int64_t i = 0; i < c->m; i++)
    for (int64_t j = 0; j < c->n; j++) {
      double s = 0;
      for (int64_t p = 0; p < c->k; p++)
        s += (c->ta ? a[p * c->lda + i] : a[i * c->lda + p]) *
             (c->tb ? b[j * c->ldb + p] : b[p * c->ldb + j]);
      double *o = &out[i * c->ldc + j];
      *o = c->alpha * s + (c->beta == 0 ? 0 : c->beta * *o);
    }
}

/* Runs one case through nnrt_sgemm and nnrt_dgemm and compares with the
 * naive loop; with poison_c, C starts as NaN (only valid for beta == 0). */
static void check_case(const Case *c, int poison_c) {
  int64_t na = span(c->ta ? c->k : c->m, c->ta ? c->m : c->k, c->lda);
  int64_t nb = span(c->tb ? c->n : c->k, c->tb ? c->k : c->n, c->ldb);
  int64_t nc = span(c->m, c->n, c->ldc);
  double *a = malloc((size_t)(na + 1) * sizeof *a), *b = malloc((size_t)(nb + 1) * sizeof *b);
  double *want = malloc((size_t)(nc + 1) * sizeof *want), *cd = malloc((size_t)(nc + 1) * 8);
  float *af = malloc((size_t)(na + 1) * 4), *bf = malloc((size_t)(nb + 1) * 4);
  float *cf = malloc((size_t)(nc + 1) * 4);
  for (int64_t i = 0; i < na; i++)
    af[i] = (float)(a[i] = (float)rnd());
  for (int64_t i = 0; i < nb; i++)
    bf[i] = (float)(b[i] = (float)rnd());
  for (int64_t i = 0; i < nc; i++) {
    want[i] = (float)rnd();
    cf[i] = (float)(cd[i] = poison_c ? NAN : want[i]);
  }
  naive(c, a, b, want);
  nnrt_sgemm(c->ta, c->tb, c->m, c->n, c->k, (float)c->alpha, af, c->lda, bf, c->ldb,
             (float)c->beta, cf, c->ldc);
  nnrt_dgemm(c->ta, c->tb, c->m, c->n, c->k, c->alpha, a, c->lda, b, c->ldb, c->beta, cd, c->ldc);
  double worst_f = 0, worst_d = 0;
  for (int64_t i = 0; i < c->m; i++)
    for (int64_t j = 0; j < c->n; j++) {
      int64_t at = i * c->ldc + j;
      double ef = fabs(cf[at] - want[at]), ed = fabs(cd[at] - want[at]);
      worst_f = ef > worst_f || isnan(ef) ? ef : worst_f;
      worst_d = ed > worst_d || isnan(ed) ? ed : worst_d;
    }
  double tol = 1e-5 * (double)(c->k + 1);
  CHECKF(worst_f <= tol && worst_d <= 1e-12 * (double)(c->k + 1),
         "ta %d tb %d m %lld n %lld k %lld lda %lld ldb %lld ldc %lld beta %g: error f32 %g "
         "f64 %g",
         c->ta, c->tb, (long long)c->m, (long long)c->n, (long long)c->k, (long long)c->lda,
         (long long)c->ldb, (long long)c->ldc, c->beta, worst_f, worst_d);
  free(a), free(b), free(want), free(cd), free(af), free(bf), free(cf);
}

/* Every transpose combination of each shape [m, n, k], with beta 0 (C
 * first NaN too), 1 and -0.5, with and without padded leading dimensions. */
static void check_shapes(const int64_t (*shapes)[3], size_t count, double alpha) {
  static const double betas[] = {0, 1, -0.5};
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (size_t s = 0; s < count; s++)
        for (size_t bi = 0; bi < 3; bi++)
          for (int pad = 0; pad < 2; pad++) {
            int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            Case c = {
                ta,          tb,    m,        n, k, (ta ? m : k) + 3 * pad, (tb ? k : n) + 2 * pad,
                n + 5 * pad, alpha, betas[bi]};
            check_case(&c, 0);
            if (betas[bi] == 0)
              check_case(&c, 1);
          }
}

static void test_transposes(void) {
  static const int64_t shapes[][3] = {{1, 1, 1},    {3, 5, 7},  {17, 9, 33}, {64, 64, 64},
                                      {5, 1, 8},    {1, 7, 3},  {2, 3, 1},   {100, 3, 2},
                                      {1, 130, 70}, {90, 1, 40}}; /* m or n == 1: GEMV */
  check_shapes(shapes, sizeof shapes / sizeof *shapes, 1.5);
}

/* Leading dimensions smaller than a row: CBLAS would reject them (printing),
 * the runtime computes the product as defined through the reference loop. */
static void test_reference_path(void) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      Case c = {ta, tb, 4, 6, 5, 2, 3, 6, 0.5, 2};
      check_case(&c, 0);
      Case c0 = {ta, tb, 4, 6, 5, 1, 1, 6, -1, 0};
      check_case(&c0, 1);
    }
}

static void test_empty_products(void) {
  float c[6] = {1, 2, 3, 4, 5, NAN};
  double cd[6] = {1, 2, 3, 4, 5, NAN};
  float nan_a[4] = {NAN, NAN, NAN, NAN};
  /* k == 0: C = beta * C; A and B are not read (NULL here). */
  nnrt_sgemm(0, 0, 2, 3, 0, 1, NULL, 1, NULL, 3, 2, c, 3);
  CHECK(c[0] == 2 && c[4] == 10 && isnan(c[5]));
  nnrt_sgemm(0, 0, 2, 3, 0, 1, NULL, 1, NULL, 3, 0, c, 3);
  CHECK(c[0] == 0 && c[4] == 0 && c[5] == 0);
  nnrt_dgemm(1, 1, 2, 3, 0, 1, NULL, 2, NULL, 1, 0, cd, 3);
  CHECK(cd[0] == 0 && cd[5] == 0);
  /* alpha == 0: NaN operands do not reach C. */
  float one[6] = {1, 1, 1, 1, 1, 1};
  nnrt_sgemm(0, 0, 2, 3, 2, 0, nan_a, 2, nan_a, 3, 1, one, 3);
  CHECK(one[0] == 1 && one[5] == 1);
  /* m or n == 0: nothing is touched. */
  float keep[2] = {7, 8};
  nnrt_sgemm(0, 0, 0, 2, 3, 1, NULL, 3, NULL, 2, 0, keep, 2);
  nnrt_sgemm(0, 0, 1, 0, 3, 1, NULL, 3, NULL, 1, 0, keep, 1);
  nnrt_sgemm_batched(3, 0, 0, 0, 2, 3, 1, NULL, 3, 6, NULL, 2, 6, 0, keep, 2, 2);
  CHECK(keep[0] == 7 && keep[1] == 8);
  nnrt_dgemm_batched(0, 0, 0, 2, 2, 2, 1, NULL, 2, 4, NULL, 2, 4, 0, NULL, 2, 4);
}

/* batch x [m, k] @ [k, n] with A broadcast (stride 0), B and C strided with
 * a gap between matrices. */
static void test_batched(void) {
  enum { B = 4, M = 5, N = 6, K = 7 };
  int64_t sb = K * N + 3, sc = M * N + 1;
  float a[M * K], b[B * (K * N + 3)], c[B * (M * N + 1)];
  double ad[M * K], bd[B * (K * N + 3)], cd[B * (M * N + 1)], want[B * (M * N + 1)];
  for (int i = 0; i < M * K; i++)
    a[i] = (float)(ad[i] = (float)rnd());
  for (int i = 0; i < B * sb; i++)
    b[i] = (float)(bd[i] = (float)rnd());
  for (int i = 0; i < B * sc; i++)
    c[i] = (float)(cd[i] = want[i] = (float)rnd());
  Case cs = {0, 0, M, N, K, K, N, N, 2, 0.25};
  for (int i = 0; i < B; i++)
    naive(&cs, ad, bd + i * sb, want + i * sc);
  nnrt_sgemm_batched(B, 0, 0, M, N, K, 2, a, K, 0, b, N, sb, 0.25f, c, N, sc);
  nnrt_dgemm_batched(B, 0, 0, M, N, K, 2, ad, K, 0, bd, N, sb, 0.25, cd, N, sc);
  double worst_f = 0, worst_d = 0;
  for (int i = 0; i < B * sc; i++) {
    worst_f = fmax(worst_f, fabs(c[i] - want[i]));
    worst_d = fmax(worst_d, fabs(cd[i] - want[i]));
  }
  CHECKF(worst_f < 1e-4 && worst_d < 1e-12, "batched error f32 %g f64 %g", worst_f, worst_d);

  /* Transposed and broadcast B instead. */
  Case ct = {1, 1, M, N, K, M, K, N, 1, 0};
  float at[B * K * M], bt[N * K], ct_out[B * M * N];
  double atd[B * K * M], btd[N * K], wantt[B * M * N];
  for (int i = 0; i < B * K * M; i++)
    at[i] = (float)(atd[i] = (float)rnd());
  for (int i = 0; i < N * K; i++)
    bt[i] = (float)(btd[i] = (float)rnd());
  for (int i = 0; i < B; i++)
    naive(&ct, atd + i * K * M, btd, wantt + i * M * N);
  nnrt_sgemm_batched(B, 1, 1, M, N, K, 1, at, M, K * M, bt, K, 0, 0, ct_out, N, M * N);
  worst_f = 0;
  for (int i = 0; i < B * M * N; i++)
    worst_f = fmax(worst_f, fabs(ct_out[i] - wantt[i]));
  CHECKF(worst_f < 1e-4, "batched transposed error %g", worst_f);
}

/* One product at a thread count: C starts as `init`, padded to ldc. */
static void split_product(const Case *c, int threads, const float *a, const float *b,
                          const float *init, float *out, const double *ad, const double *bd,
                          const double *initd, double *outd, int64_t nc) {
  nnrt_set_threads(threads);
  memcpy(out, init, (size_t)nc * sizeof *out);
  memcpy(outd, initd, (size_t)nc * sizeof *outd);
  nnrt_sgemm(c->ta, c->tb, c->m, c->n, c->k, (float)c->alpha, a, c->lda, b, c->ldb, (float)c->beta,
             out, c->ldc);
  nnrt_dgemm(c->ta, c->tb, c->m, c->n, c->k, c->alpha, ad, c->lda, bd, c->ldb, c->beta, outd,
             c->ldc);
}

static void check_split_case(const Case *c) {
  int64_t na = span(c->ta ? c->k : c->m, c->ta ? c->m : c->k, c->lda);
  int64_t nb = span(c->tb ? c->n : c->k, c->tb ? c->k : c->n, c->ldb);
  int64_t nc = span(c->m, c->n, c->ldc);
  float *a = malloc((size_t)na * 4), *b = malloc((size_t)nb * 4), *init = malloc((size_t)nc * 4);
  double *ad = malloc((size_t)na * 8), *bd = malloc((size_t)nb * 8), *want = malloc((size_t)nc * 8);
  double *initd = malloc((size_t)nc * 8);
  float *one = malloc((size_t)nc * 4), *many = malloc((size_t)nc * 4);
  double *oned = malloc((size_t)nc * 8), *manyd = malloc((size_t)nc * 8);
  for (int64_t i = 0; i < na; i++)
    a[i] = (float)(ad[i] = (float)rnd());
  for (int64_t i = 0; i < nb; i++)
    b[i] = (float)(bd[i] = (float)rnd());
  for (int64_t i = 0; i < nc; i++)
    init[i] = (float)(initd[i] = want[i] = (float)rnd());
  naive(c, ad, bd, want);
  for (int threads = 2; threads <= 3; threads++) {
    split_product(c, threads, a, b, init, one, ad, bd, initd, oned, nc);
    split_product(c, threads, a, b, init, many, ad, bd, initd, manyd, nc);
    double worst_f = 0, worst_d = 0;
    int padding_kept = 1;
    for (int64_t i = 0; i < nc; i++) {
      if (i % c->ldc >= c->n) {
        padding_kept &= many[i] == init[i] && manyd[i] == initd[i];
        continue;
      }
      worst_f = fmax(worst_f, fabs(many[i] - want[i]));
      worst_d = fmax(worst_d, fabs(manyd[i] - want[i]));
    }
    int same = memcmp(one, many, (size_t)nc * 4) == 0 && memcmp(oned, manyd, (size_t)nc * 8) == 0;
    CHECKF(worst_f <= 1e-5 * (double)(c->k + 1) && worst_d <= 1e-12 * (double)(c->k + 1) &&
               padding_kept && same,
           "split ta %d tb %d m %lld n %lld k %lld, %d threads: error f32 %g f64 %g, padding "
           "kept %d, same bits on a second call %d",
           c->ta, c->tb, (long long)c->m, (long long)c->n, (long long)c->k, threads, worst_f,
           worst_d, padding_kept, same);
  }
  free(a), free(b), free(init), free(ad), free(bd), free(want), free(initd);
  free(one), free(many), free(oned), free(manyd);
}

static void test_split_products(void) {
  /* Rows (m >= n), columns, GEMV either way; sizes off the 16-row bands. */
  static const int64_t shapes[][3] = {
      {203, 61, 300}, {37, 301, 290}, {1, 3001, 200}, {2999, 1, 200}, {128, 512, 784}};
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        Case c = {ta, tb, m, n, k, (ta ? m : k) + 1, (tb ? k : n) + 2, n + 3, 0.75, 0.5};
        check_split_case(&c);
      }
  nnrt_set_threads(0);
}

/* One case run three ways: its operands (float, and the same values in
 * double), three copies of C's starting values to compute into, and the
 * naive loop's result. */
typedef struct Runs {
  float *a, *b, *out[3];
  double *want;
  int64_t nc;
} Runs;

static Runs runs_for(const Case *c) {
  int64_t na = span(c->ta ? c->k : c->m, c->ta ? c->m : c->k, c->lda);
  int64_t nb = span(c->tb ? c->n : c->k, c->tb ? c->k : c->n, c->ldb);
  Runs r = {
      .a = malloc((size_t)na * 4), .b = malloc((size_t)nb * 4), .nc = span(c->m, c->n, c->ldc)};
  double *ad = malloc((size_t)na * 8), *bd = malloc((size_t)nb * 8);
  r.want = malloc((size_t)r.nc * 8);
  for (int64_t i = 0; i < na; i++)
    r.a[i] = (float)(ad[i] = (float)rnd());
  for (int64_t i = 0; i < nb; i++)
    r.b[i] = (float)(bd[i] = (float)rnd());
  for (int64_t i = 0; i < r.nc; i++)
    r.want[i] = (float)rnd();
  for (int t = 0; t < 3; t++) {
    r.out[t] = malloc((size_t)r.nc * 4);
    for (int64_t i = 0; i < r.nc; i++)
      r.out[t][i] = (float)r.want[i];
  }
  naive(c, ad, bd, r.want);
  free(ad), free(bd);
  return r;
}

/* The first run's largest error; *same: the three runs have the same bits. */
static double runs_error(const Runs *r, int *same) {
  double worst = 0;
  for (int64_t i = 0; i < r->nc; i++)
    worst = fmax(worst, fabs(r->out[0][i] - r->want[i]));
  *same = memcmp(r->out[0], r->out[1], (size_t)r->nc * 4) == 0 &&
          memcmp(r->out[0], r->out[2], (size_t)r->nc * 4) == 0;
  return worst;
}

static void runs_free(Runs *r) {
  for (int t = 0; t < 3; t++)
    free(r->out[t]);
  free(r->a), free(r->b), free(r->want);
}

/* Shapes gemm_small.c's kernels take (2..64 rows; columns and k off their
 * vectors and tiles), checked like the others; on a CPU without AVX-512
 * they run through OpenBLAS and must pass all the same. */
static void test_small_products(void) {
  static const int64_t shapes[][3] = {
      {2, 16, 1},    {3, 17, 7},    {5, 31, 16},  {8, 32, 17},    {9, 33, 128},  {13, 48, 130},
      {31, 64, 200}, {32, 50, 129}, {2, 2, 300},  {7, 15, 140},   {33, 96, 33},  {64, 80, 40},
      {17, 4, 128},  {4, 5, 131},   {6, 130, 3},  {32, 768, 256}, {5, 241, 20},  {12, 177, 150},
      {1, 100, 300}, {1, 17, 5},    {9, 32, 600}, {3, 48, 513},   {1, 1024, 64}, {1, 768, 256},
      {1, 16, 128},  {1, 33, 129},  {1, 47, 1000}};
  check_shapes(shapes, sizeof shapes / sizeof *shapes, -1.25);
  /* The recurrent layers' products (issue 16's GRU and LSTM) take the
   * kernels wherever the CPU has AVX-512: a rule that lost them would
   * pass every check above. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("avx512f"))
    CHECKF(nnrt_sgemm_small_form(0, 1, 32, 768, 256) == NNRT_SMALL_DOT &&
               nnrt_sgemm_small_form(0, 0, 32, 256, 768) == NNRT_SMALL_BROADCAST &&
               nnrt_sgemm_small_form(0, 1, 32, 1024, 256) == NNRT_SMALL_DOT &&
               nnrt_sgemm_small_form(0, 0, 32, 256, 1024) == NNRT_SMALL_BROADCAST &&
               nnrt_sgemm_small_form(0, 1, 1, 768, 256) == NNRT_SMALL_GEMV &&
               nnrt_sgemm_small_form(0, 1, 1, 1024, 256) == NNRT_SMALL_GEMV &&
               !nnrt_sgemm_small_form(1, 1, 8, 64, 64) && !nnrt_sgemm_small_form(0, 0, 2, 65, 64),
           "gemm_small takes the recurrent shapes and leaves the others to OpenBLAS");
#endif
}

/* A product of form f through nnrt_sgemm_small alone, whole or in bands of
 * `band` rows (or columns, by_cols), into c (ldc = n + 3). */
static void small_in_bands(nnrt_small_form f, const Case *c, const float *a, const float *b,
                           float *out, int64_t band, int by_cols) {
  int64_t extent = by_cols ? c->n : c->m;
  for (int64_t r0 = 0; r0 < extent; r0 += band) {
    int64_t r = extent - r0 < band ? extent - r0 : band;
    if (by_cols)
      nnrt_sgemm_small(f, c->ta, c->tb, c->m, r, c->k, (float)c->alpha, a, c->lda,
                       b + (c->tb ? r0 * c->ldb : r0), c->ldb, (float)c->beta, out + r0, c->ldc);
    else
      nnrt_sgemm_small(f, c->ta, c->tb, r, c->n, c->k, (float)c->alpha,
                       a + (c->ta ? r0 : r0 * c->lda), c->lda, b, c->ldb, (float)c->beta,
                       out + r0 * c->ldc, c->ldc);
  }
}

/* The broadcast form for many rows (what nnrt_sgemm takes when OpenBLAS
 * runs narrower kernels than the CPU's: OPENBLAS_CORETYPE=Haswell on an
 * AVX-512 CPU), called directly, since which OpenBLAS kernels run depends
 * on the environment: every transpose, column and k tail, against the
 * naive loop, and the same bits whole and in bands of rows (some of 64
 * rows or fewer, which the few-rows kernel computes) or of columns. */
static void test_many_rows(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (!__builtin_cpu_supports("avx512f"))
    return;
  static const int64_t shapes[][3] = {
      {65, 64, 16}, {100, 300, 257}, {130, 33, 600}, {200, 256, 64}, {77, 512, 513}};
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        Case c = {ta, tb, m, n, k, (ta ? m : k) + 1, (tb ? k : n) + 2, n + 3, -0.75, 0.5};
        Runs r = runs_for(&c);
        small_in_bands(NNRT_SMALL_BROADCAST, &c, r.a, r.b, r.out[0], m, 0);
        small_in_bands(NNRT_SMALL_BROADCAST, &c, r.a, r.b, r.out[1], 48, 0);
        small_in_bands(NNRT_SMALL_BROADCAST, &c, r.a, r.b, r.out[2], 96, 1);
        int same;
        double worst = runs_error(&r, &same);
        CHECKF(same && worst <= 1e-5 * (double)(k + 1),
               "many rows ta %d tb %d m %lld n %lld k %lld: same bits in bands %d, error %g", ta,
               tb, (long long)m, (long long)n, (long long)k, same, worst);
        runs_free(&r);
      }
#endif
}

/* Products the kernels take, big enough to be split over threads: the bits
 * are the same at 1, 2 and 3 threads (each element summed in one order
 * whatever the band), and right. */
static void test_small_split_bits(void) {
  static const int64_t shapes[][5] = {/* ta, tb, m, n, k */
                                      {0, 1, 32, 768, 256},  {0, 0, 32, 256, 768},
                                      {1, 0, 40, 500, 300},  {0, 1, 17, 999, 257},
                                      {0, 0, 64, 1000, 300}, {0, 1, 1, 5000, 300}};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    int ta = (int)shapes[s][0], tb = (int)shapes[s][1];
    int64_t m = shapes[s][2], n = shapes[s][3], k = shapes[s][4];
    Case c = {ta, tb, m, n, k, (ta ? m : k) + 1, (tb ? k : n) + 2, n + 3, 0.75, 0.5};
    Runs r = runs_for(&c);
    for (int t = 0; t < 3; t++) {
      nnrt_set_threads(t + 1);
      nnrt_sgemm(ta, tb, m, n, k, (float)c.alpha, r.a, c.lda, r.b, c.ldb, (float)c.beta, r.out[t],
                 c.ldc);
    }
    int same;
    double worst = runs_error(&r, &same);
    /* OpenBLAS's bits depend on the bands (without AVX-512, or under
     * valgrind, whose CPU has none, the kernels do not take these) */
    same |= !nnrt_sgemm_small_form(ta, tb, m, n, k);
    CHECKF(
        same && worst <= 1e-5 * (double)(k + 1),
        "small split ta %d tb %d m %lld n %lld k %lld: same bits at 1, 2, 3 threads %d, error %g",
        ta, tb, (long long)m, (long long)n, (long long)k, same, worst);
    runs_free(&r);
  }
  nnrt_set_threads(0);
}

/* nnrt_sgemm_fixed_b, as a loop calls it: B packed at a first step with
 * another A, then read from the pack at the next step (A changes, B does
 * not). Right, the same bits at 1, 2 and 3 threads, and nnrt_sgemm's bits
 * where that takes the broadcast form; shapes the packed kernel does not
 * take (columns wasting a tenth of the panel, more than 64 rows) and a
 * NULL pack go to nnrt_sgemm. */
static void test_fixed_b(void) {
  static const int64_t shapes[][5] = {
      /* ta, tb, m, n, k */
      {0, 0, 32, 1024, 256}, {0, 0, 32, 256, 1024}, {1, 0, 9, 96, 300}, {0, 1, 17, 64, 257},
      {0, 0, 2, 32, 1},      {0, 0, 64, 33, 40},    {0, 0, 65, 128, 64}};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    int ta = (int)shapes[s][0], tb = (int)shapes[s][1];
    int64_t m = shapes[s][2], n = shapes[s][3], k = shapes[s][4];
    Case c = {ta, tb, m, n, k, (ta ? m : k) + 1, (tb ? k : n) + 2, n + 3, 0.75, 0.5};
    Runs r = runs_for(&c);
    int64_t na = span(ta ? k : m, ta ? m : k, c.lda);
    float *other = malloc((size_t)na * 4), *scratch_c = malloc((size_t)r.nc * 4);
    float *plain = malloc((size_t)r.nc * 4), *first = malloc((size_t)r.nc * 4);
    memcpy(plain, r.out[0], (size_t)r.nc * 4);
    memcpy(first, r.out[0], (size_t)r.nc * 4);
    for (int64_t i = 0; i < na; i++)
      other[i] = (float)rnd();
    size_t panel_floats =
        (size_t)((n + NNRT_SGEMM_PANEL - 1) / NNRT_SGEMM_PANEL * NNRT_SGEMM_PANEL * k);
    float *packed = aligned_alloc(64, (panel_floats * 4 + 63) / 64 * 64);
    for (int t = 0; t < 3; t++) {
      nnrt_set_threads(t + 1);
      memcpy(scratch_c, first, (size_t)r.nc * 4);
      nnrt_sgemm_fixed_b(ta, tb, m, n, k, (float)c.alpha, other, c.lda, r.b, c.ldb, (float)c.beta,
                         scratch_c, c.ldc, packed, 1);
      nnrt_sgemm_fixed_b(ta, tb, m, n, k, (float)c.alpha, r.a, c.lda, r.b, c.ldb, (float)c.beta,
                         r.out[t], c.ldc, packed, 0);
    }
    nnrt_set_threads(1);
    nnrt_sgemm(ta, tb, m, n, k, (float)c.alpha, r.a, c.lda, r.b, c.ldb, (float)c.beta, plain,
               c.ldc);
    nnrt_sgemm_fixed_b(ta, tb, m, n, k, (float)c.alpha, r.a, c.lda, r.b, c.ldb, (float)c.beta,
                       first, c.ldc, NULL, 1);
    int same;
    double worst = runs_error(&r, &same);
    bool takes = nnrt_small_packed_takes(m, n, k);
    same |= !takes; /* nnrt_sgemm's OpenBLAS bits depend on the bands */
    bool as_sgemm = nnrt_sgemm_small_form(ta, tb, m, n, k) != NNRT_SMALL_BROADCAST ||
                    memcmp(plain, r.out[0], (size_t)r.nc * 4) == 0;
    bool null_pack = memcmp(plain, first, (size_t)r.nc * 4) == 0;
    CHECKF(same && as_sgemm && null_pack && worst <= 1e-5 * (double)(k + 1),
           "fixed B ta %d tb %d m %lld n %lld k %lld (packed %d): same bits at 1, 2, 3 threads "
           "%d, as nnrt_sgemm %d, NULL pack %d, error %g",
           ta, tb, (long long)m, (long long)n, (long long)k, takes, same, as_sgemm, null_pack,
           worst);
    free(other), free(scratch_c), free(plain), free(first), free(packed);
    runs_free(&r);
  }
  nnrt_set_threads(0);
}

int main(void) {
  test_fixed_b();
  test_small_products();
  test_small_split_bits();
  test_many_rows();
  test_split_products();
  test_transposes();
  test_reference_path();
  test_empty_products();
  test_batched();
  return check_report("test_gemm");
}
