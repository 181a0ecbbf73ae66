/* gemm_small.c - f32 products with few rows, a batch of 2 to 64 rows times
 * a weight matrix, on AVX-512 without packing.
 *
 * A recurrent layer's loop makes two such products at every step: the
 * forward h @ transpose(W_hh) ([32, 256] x [256, 768] in issue 16's GRU)
 * and the backward dz @ W_hh. OpenBLAS packs both operands at every call,
 * the 0.75-1 MB weight matrix included, so at these shapes its packing
 * costs a fifth of its kernel's time (perf on the GRU step: incopy 12%,
 * itcopy 5%, kernel 55%); and when OPENBLAS_CORETYPE selects its Haswell
 * kernels on an AVX-512 CPU it runs at half the FMA width. With few rows of
 * C each operand is read often enough from cache that neither needs a copy:
 *
 * - op(B) = B (rows of B contiguous along the columns of C): broadcast.
 *   A tile of up to 8 rows x 32 columns of C stays in 16 zmm registers;
 *   for each p it loads 2 vectors of B's row p and broadcasts 8 elements
 *   of A (16 FMAs per 10 loads). The 32 columns of B are read from L1 or
 *   L2 once per tile of rows.
 * - op(B) = B^T with op(A) = A (both contiguous along k): dot products.
 *   A tile of 4 rows x 4 columns keeps 16 accumulators of 16 lanes along
 *   k (16 FMAs per 8 loads); at the end a network of 45 shuffles and adds
 *   sums each accumulator's lanes into the tile's 16 results. That costs
 *   45 instructions per 16 k * 16 FMAs, so this form is used for k >= 128
 *   only.
 *
 * - Many rows, when OpenBLAS runs kernels narrower than the CPU's
 *   (OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU: its FMAs are half as
 *   wide): the broadcast tiles again, over blocks of C. A block of op(B),
 *   256 deep and 256 wide (256 KB, in L2), is copied into panels once and
 *   serves every row of C; the rows are taken 64 at a time, whose A block
 *   (64 KB) stays near while it meets each panel (32 KB, in L1).
 *
 * - One row of C times B^T (a generator's h @ W_hh^T at batch 1): 16 rows
 *   of B at a time, 16 accumulators along k and the same network.
 *
 * Everything else (many rows with OpenBLAS at full width, short k, A
 * transposed with B transposed for few rows, one row times B) stays with
 * OpenBLAS. Results differ from OpenBLAS's in
 * the last bits only (another order of summation); they do not depend on the thread count, since
 * gemm.c splits products into bands of whole rows or columns of C and each element is summed in the
 * same order whatever the band. */
#include "gemm_small.h"

#include "cpu.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef NNRT_X86_AVX512

enum {
  VEC = 16,
  BC_ROWS = 8,
  BC_COLS = 2 * VEC,
  BC_MAX_ROWS = 64,
  BC_KC = 256, /* a panel of B: 256 x 32 floats, 32 KB, within L1 */
  BL_MC = 64,  /* rows of C per block of A (many rows) */
  BL_NC = 256, /* columns of C per block of op(B): 8 panels, 256 KB, in L2 */
  DOT_ROWS = 4,
  DOT_COLS = 4,
  DOT_MIN_K = 128,
  DOT_MAX_ROWS = 32,
  GEMV_MIN_K = VEC /* rows of at least one vector (see sgemv_t) */
};

/* c = alpha * acc + beta * c on the lanes in mask; beta == 0 does not read c
 * (BLAS semantics: a NaN already there does not survive). */
AVX512_INLINE void store_scaled(float *c, __m512 acc, __mmask16 mask, float alpha, float beta) {
  __m512 v = _mm512_mul_ps(acc, _mm512_set1_ps(alpha));
  if (beta != 0.0f)
    v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, c), _mm512_set1_ps(beta), v);
  _mm512_mask_storeu_ps(c, mask, v);
}

/* ---- op(B) = B: broadcast A, vectors along B's rows ---- */

/* Rows i0 .. i0 + R - 1 and columns j0 .. j0 + 16 V - 1 of C (the lanes
 * in mask[v] of its vector v). A(i, p) = a[i * sa_i + p * sa_p], which
 * covers A and A^T. R and V are constants in each instance, so acc lives
 * in registers. */
AVX512_INLINE void bcast_tile(const float *a, int64_t sa_i, int64_t sa_p, const float *b,
                              int64_t ldb, float *c, int64_t ldc, int64_t k,
                              const __mmask16 mask[2], float alpha, float beta, const int R,
                              const int V) {
  __m512 acc[BC_ROWS][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++)
      acc[r][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    const float *bp = b + p * ldb;
    __m512 bv[2];
#pragma GCC unroll 2
    for (int v = 0; v < V; v++)
      bv[v] = _mm512_load_ps(bp + VEC * v); /* a panel: aligned, zeros past n */
    const float *ap = a + p * sa_p;
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      __m512 x = _mm512_set1_ps(ap[r * sa_i]);
#pragma GCC unroll 2
      for (int v = 0; v < V; v++)
        acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++)
      store_scaled(c + r * ldc + VEC * v, acc[r][v], mask[v], alpha, beta);
}

#define BCAST_TILE(R, V) bcast_tile(a, sa_i, sa_p, b, ldb, c, ldc, k, mask, alpha, beta, R, V)

/* The last block of columns takes one vector when 16 or fewer are left. */
AVX512 static void bcast_rows(const float *a, int64_t sa_i, int64_t sa_p, const float *b,
                              int64_t ldb, float *c, int64_t ldc, int64_t k,
                              const __mmask16 mask[2], float alpha, float beta, int64_t rows,
                              int vectors) {
  if (vectors == 1)
    switch (rows) {
    case 1:
      BCAST_TILE(1, 1);
      break;
    case 2:
      BCAST_TILE(2, 1);
      break;
    case 3:
      BCAST_TILE(3, 1);
      break;
    case 4:
      BCAST_TILE(4, 1);
      break;
    case 5:
      BCAST_TILE(5, 1);
      break;
    case 6:
      BCAST_TILE(6, 1);
      break;
    case 7:
      BCAST_TILE(7, 1);
      break;
    default:
      BCAST_TILE(8, 1);
      break;
    }
  else
    switch (rows) {
    case 1:
      BCAST_TILE(1, 2);
      break;
    case 2:
      BCAST_TILE(2, 2);
      break;
    case 3:
      BCAST_TILE(3, 2);
      break;
    case 4:
      BCAST_TILE(4, 2);
      break;
    case 5:
      BCAST_TILE(5, 2);
      break;
    case 6:
      BCAST_TILE(6, 2);
      break;
    case 7:
      BCAST_TILE(7, 2);
      break;
    default:
      BCAST_TILE(8, 2);
      break;
    }
}

#undef BCAST_TILE

/* Rows 0 .. m - 1 of C against one panel's `cols` columns (the lanes in
 * mask), kc deep: tiles of 8 rows, the tile of rows i0 .. at a + i0 / 8 *
 * tile (A(i, p) = a[i * sa_i + p * sa_p] within a tile). */
AVX512_INLINE void bcast_panel(const float *a, int64_t tile, int64_t sa_i, int64_t sa_p, int64_t m,
                               const float *panel, float *c, int64_t ldc, int64_t kc,
                               const __mmask16 mask[2], int64_t cols, float alpha, float beta) {
  for (int64_t i = 0; i < m; i += BC_ROWS) {
    int64_t rows = m - i < BC_ROWS ? m - i : BC_ROWS;
    bcast_rows(a + i / BC_ROWS * tile, sa_i, sa_p, panel, BC_COLS, c + i * ldc, ldc, kc, mask,
               alpha, beta, rows, cols > VEC ? 2 : 1);
  }
}

/* Rows p0 .. p0 + kc - 1 of B's columns j .. j + 31 (the lanes in mask)
 * copied into panel[kc][32], zeros past n. */
AVX512_INLINE void pack_panel(const float *b, int64_t ldb, int64_t kc, const __mmask16 mask[2],
                              float *panel) {
  for (int64_t p = 0; p < kc; p++) {
    _mm512_storeu_ps(panel + p * BC_COLS, _mm512_maskz_loadu_ps(mask[0], b + p * ldb));
    _mm512_storeu_ps(panel + p * BC_COLS + VEC, _mm512_maskz_loadu_ps(mask[1], b + p * ldb + VEC));
  }
}

/* The same from B^T (B stored [n, k]): column j + jj of the panel is row
 * j + jj of the stored B. */
AVX512_INLINE void pack_panel_t(const float *b, int64_t ldb, int64_t kc, int64_t cols,
                                float *panel) {
  for (int64_t jj = 0; jj < cols; jj++)
    for (int64_t p = 0; p < kc; p++)
      panel[p * BC_COLS + jj] = b[jj * ldb + p];
  for (int64_t jj = cols; jj < BC_COLS; jj++)
    for (int64_t p = 0; p < kc; p++)
      panel[p * BC_COLS + jj] = 0.0f;
}

/* Rows 0 .. mc - 1 of A's block (A(i, p) = a[i * sa_i + p * sa_p]) in
 * tiles of 8 rows, each tile [kc][8]: the broadcasts of a tile's step then
 * read 32 contiguous bytes, where A^T read in place (dW = h^T dz, rows of A
 * 4 KB apart) would touch a line of a different page for each p (115 ->
 * 137 GFLOP/s at [1024, 2048]^T [2048, 256]). A not transposed is read in
 * place: its 8 rows are 8 streams along k, and a copy cost more than it
 * saved (155 -> 112 at [2048, 1024] [1024, 64]). */
AVX512_INLINE void pack_rows(const float *a, int64_t sa_i, int64_t sa_p, int64_t mc, int64_t kc,
                             float *out) {
  for (int64_t i0 = 0; i0 < mc; i0 += BC_ROWS) {
    int64_t rows = mc - i0 < BC_ROWS ? mc - i0 : BC_ROWS;
    float *t = out + i0 * kc;
    for (int64_t p = 0; p < kc; p++)
      for (int64_t r = 0; r < rows; r++)
        t[p * BC_ROWS + r] = a[(i0 + r) * sa_i + p * sa_p];
  }
}

/* For each block of BL_NC columns and chunk of BC_KC of k, the block of
 * op(B) is copied into panels of 32 columns once, then each block of BL_MC
 * rows of C meets every panel. Read in place, the rows of a wide B lie a
 * multiple of 4 KB apart (an im2col matrix of 32 x 32 images), all in the
 * same few sets of L1, and each tile of rows would fetch them again from
 * L2 (measured: 0.8x of OpenBLAS on a VGG layer's im2col product without
 * the copy). C takes alpha times each chunk's sums, beta only with the
 * first; each element is summed in that order whatever m, the band or
 * the block's width, so the bits do not depend on the split over threads.
 * With BL_MC rows or fewer a block has nothing to share between blocks of
 * rows, and the panels come one at a time from the stack. */
AVX512 static void sgemm_bcast(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                               float alpha, const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc) {
  /* 256 KB is too much for the stack of a thread an embedding program
   * made; without it, one panel at a time (the same sums, more passes
   * over A) */
  _Alignas(64) float one_panel[BC_KC * BC_COLS];
  float *heap =
      m > BL_MC ? aligned_alloc(64, sizeof(float) * BC_KC * (BL_NC + (trans_a ? BL_MC : 0))) : NULL;
  float *block = heap ? heap : one_panel, *apack = heap ? heap + BC_KC * BL_NC : NULL;
  int64_t width = heap ? BL_NC : BC_COLS;
  int64_t sa_i = trans_a ? 1 : lda, sa_p = trans_a ? lda : 1;
  for (int64_t jc = 0; jc < n; jc += width) {
    int64_t nc = n - jc < width ? n - jc : width;
    for (int64_t p0 = 0; p0 < k; p0 += BC_KC) {
      int64_t kc = k - p0 < BC_KC ? k - p0 : BC_KC;
      for (int64_t jp = 0; jp < nc; jp += BC_COLS) {
        int64_t j = jc + jp, cols = n - j < BC_COLS ? n - j : BC_COLS;
        float *panel = block + jp / BC_COLS * (BC_KC * BC_COLS);
        if (trans_b) {
          pack_panel_t(b + j * ldb + p0, ldb, kc, cols, panel);
        } else {
          __mmask16 mask[2] = {nnrt_lanes16(cols), nnrt_lanes16(cols - VEC)};
          pack_panel(b + p0 * ldb + j, ldb, kc, mask, panel);
        }
      }
      float chunk_beta = p0 == 0 ? beta : 1.0f;
      for (int64_t ic = 0; ic < m; ic += BL_MC) {
        int64_t mc = m - ic < BL_MC ? m - ic : BL_MC;
        const float *ab = a + ic * sa_i + p0 * sa_p; /* A's block */
        int64_t ai = sa_i, ap = sa_p, tile = BC_ROWS * sa_i;
        if (apack && trans_a) { /* or in tiles of 8 rows, each [kc][8]: see pack_rows */
          pack_rows(ab, sa_i, sa_p, mc, kc, apack);
          ab = apack, ai = 1, ap = BC_ROWS, tile = BC_ROWS * kc;
        }
        for (int64_t jp = 0; jp < nc; jp += BC_COLS) {
          int64_t j = jc + jp, cols = n - j < BC_COLS ? n - j : BC_COLS;
          __mmask16 mask[2] = {nnrt_lanes16(cols), nnrt_lanes16(cols - VEC)};
          const float *panel = block + jp / BC_COLS * (BC_KC * BC_COLS);
          bcast_panel(ab, tile, ai, ap, mc, panel, c + ic * ldc + j, ldc, kc, mask, cols, alpha,
                      chunk_beta);
        }
      }
    }
  }
  free(heap);
}

/* ---- op(B) = B^T, op(A) = A: dot products along k ---- */

/* The 16 lane sums of x[0..15] in one vector, lane 4 i + j holding the sum
 * of x[4 j + i]: halves of pairs of vectors are added (16 -> 8 vectors of
 * two 8-lane partial sums), then quarters (-> 4 of four 4-lane partial
 * sums), then within 128-bit blocks (-> 2, -> 1). */
AVX512_INLINE __m512 sum_lanes16(__m512 x[16]) {
  __m512 y[8], z[4], s[2];
#pragma GCC unroll 8
  for (int t = 0; t < 8; t++)
    y[t] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * t], x[2 * t + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(x[2 * t], x[2 * t + 1], _MM_SHUFFLE(3, 2, 3, 2)));
#pragma GCC unroll 4
  for (int u = 0; u < 4; u++)
    z[u] = _mm512_add_ps(_mm512_shuffle_f32x4(y[2 * u], y[2 * u + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(y[2 * u], y[2 * u + 1], _MM_SHUFFLE(3, 1, 3, 1)));
#pragma GCC unroll 2
  for (int v = 0; v < 2; v++)
    s[v] = _mm512_add_ps(_mm512_unpacklo_ps(z[2 * v], z[2 * v + 1]),
                         _mm512_unpackhi_ps(z[2 * v], z[2 * v + 1]));
  __m512d s0 = _mm512_castps_pd(s[0]), s1 = _mm512_castps_pd(s[1]);
  return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(s0, s1)),
                       _mm512_castpd_ps(_mm512_unpackhi_pd(s0, s1)));
}

/* acc[4 j + i] += a row i . b row j over k = p .. p + 15 (the lanes in mk). */
AVX512_INLINE void dot_step(const float *const ar[DOT_ROWS], const float *const br[DOT_COLS],
                            int64_t p, __mmask16 mk, __m512 acc[16]) {
  __m512 av[DOT_ROWS];
#pragma GCC unroll 4
  for (int i = 0; i < DOT_ROWS; i++)
    av[i] = _mm512_maskz_loadu_ps(mk, ar[i] + p);
#pragma GCC unroll 4
  for (int j = 0; j < DOT_COLS; j++) {
    __m512 bv = _mm512_maskz_loadu_ps(mk, br[j] + p);
#pragma GCC unroll 4
    for (int i = 0; i < DOT_ROWS; i++)
      acc[j * DOT_ROWS + i] = _mm512_fmadd_ps(av[i], bv, acc[j * DOT_ROWS + i]);
  }
}

/* out[4 j + i] = a row i . b row j over all of k: whole vectors of k, then
 * the rest under a mask, then the network. */
AVX512_INLINE void dot_block(const float *const ar[DOT_ROWS], const float *const br[DOT_COLS],
                             int64_t k, float out[16]) {
  __m512 acc[16];
#pragma GCC unroll 16
  for (int q = 0; q < 16; q++)
    acc[q] = _mm512_setzero_ps();
  int64_t whole = k / VEC * VEC;
  for (int64_t p = 0; p < whole; p += VEC)
    dot_step(ar, br, p, (__mmask16)0xFFFF, acc);
  if (whole < k)
    dot_step(ar, br, whole, nnrt_lanes16(k - whole), acc);
  float sums[16]; /* lane 4 i + j: the sum of acc[4 j + i] */
  _mm512_storeu_ps(sums, sum_lanes16(acc));
  for (int q = 0; q < 16; q++)
    out[q] = sums[4 * (q % 4) + q / 4];
}

/* c = alpha * sum + beta * c for one element (beta == 0: c is not read). */
static inline void store_one(float *c, float sum, float alpha, float beta) {
  *c = alpha * sum + (beta == 0.0f ? 0.0f : beta * *c);
}

/* The 4 x 4 outputs C[i][j] = dot(a row i, b row j) over k (rows past m or
 * n repeat the last one and are not stored). */
AVX512_INLINE void dot_tile(const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                            int64_t ldc, int64_t k, int64_t rows, int64_t cols, float alpha,
                            float beta) {
  const float *ar[DOT_ROWS], *br[DOT_COLS];
#pragma GCC unroll 4
  for (int i = 0; i < DOT_ROWS; i++) {
    ar[i] = a + (i < rows ? i : rows - 1) * lda;
    br[i] = b + (i < cols ? i : cols - 1) * ldb;
  }
  float out[16];
  dot_block(ar, br, k, out);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++)
      store_one(c + i * ldc + j, out[j * DOT_ROWS + i], alpha, beta);
}

AVX512 static void sgemm_dot(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                             int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                             int64_t ldc) {
  for (int64_t j = 0; j < n; j += DOT_COLS) {
    int64_t cols = n - j < DOT_COLS ? n - j : DOT_COLS;
    for (int64_t i = 0; i < m; i += DOT_ROWS) {
      int64_t rows = m - i < DOT_ROWS ? m - i : DOT_ROWS;
      dot_tile(a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, k, rows, cols, alpha,
               beta);
    }
  }
}

/* ---- one row times B^T: a matrix-vector product ---- */

/* y[j .. j + 15] = alpha * (x . b row j + r) + beta * y for the rows in
 * `rows` (16 accumulators along k, one per row of B, then the network);
 * b rows past n repeat the last one and are not stored. */
AVX512_INLINE void gemv_block(const float *x, const float *const br[VEC], int64_t k, float *y,
                              __mmask16 rows, float alpha, float beta) {
  __m512 acc[VEC];
#pragma GCC unroll 16
  for (int r = 0; r < VEC; r++)
    acc[r] = _mm512_setzero_ps();
  int64_t whole = k / VEC * VEC;
  for (int64_t p = 0; p < whole; p += VEC) {
    __m512 xv = _mm512_loadu_ps(x + p);
#pragma GCC unroll 16
    for (int r = 0; r < VEC; r++)
      acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(br[r] + p), xv, acc[r]);
  }
  if (whole < k) {
    __mmask16 mk = nnrt_lanes16(k - whole);
    __m512 xv = _mm512_maskz_loadu_ps(mk, x + whole);
#pragma GCC unroll 16
    for (int r = 0; r < VEC; r++)
      acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, br[r] + whole), xv, acc[r]);
  }
  /* the network leaves row r's sum in lane 4 (r % 4) + r / 4 */
  const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
  store_scaled(y, _mm512_permutexvar_ps(order, sum_lanes16(acc)), rows, alpha, beta);
}

/* y = alpha x B^T + beta y: a generator's step at batch 1 (h @ W_hh^T,
 * 0.75-1 MB of weights, from L2). OpenBLAS's GEMV reads the matrix at
 * 94-95 GB/s on one core of the Xeon of docs/benchmarks.md, this loop at
 * 128-130 (16 rows at a time: 16 independent loads and FMAs per 16 of k).
 * Shorter rows too, on the same Xeon with B in cache: 1024 rows of 64 in
 * 2.2-2.3 us against OpenBLAS's 3.0-3.1 (SkylakeX kernels), of 32 in 1.3-1.4
 * against 1.8-2.0, of 16 in 0.9 against 1.7. */
AVX512 static void sgemv_t(int64_t n, int64_t k, float alpha, const float *x, const float *b,
                           int64_t ldb, float beta, float *y) {
  for (int64_t j = 0; j < n; j += VEC) {
    int64_t rows = n - j < VEC ? n - j : VEC;
    const float *br[VEC];
#pragma GCC unroll 16
    for (int r = 0; r < VEC; r++)
      br[r] = b + (j + (r < rows ? r : rows - 1)) * ldb;
    gemv_block(x, br, k, y + j, nnrt_lanes16(rows), alpha, beta);
  }
}

/* Does OpenBLAS run its AVX-512 kernels? Its DYNAMIC_ARCH build picks them
 * by CPU unless OPENBLAS_CORETYPE names an older core. */
static bool blas_full_width(void) {
  static int full = -1;
  if (full < 0) {
    static const char *const wide[] = {"skylakex", "cooperlake", "sapphirerapids"};
    const char *core = openblas_get_corename();
    full = 0;
    for (size_t i = 0; core && i < sizeof wide / sizeof *wide; i++)
      full |= strncasecmp(core, wide[i], strlen(wide[i])) == 0;
  }
  return full == 1;
}

/* Where each form beat OpenBLAS 0.3.21 (its SkylakeX kernels; with
 * OPENBLAS_CORETYPE=Haswell the kernels here win at every shape) on one
 * core of the EPYC of docs/benchmarks.md: broadcast up to 64 rows, 1.1-3x
 * on whole vectors of columns, but a column tail in a vector of its own
 * costs a full vector (n = 65: 0.7x); dot products up to 32 rows (1.1-1.9x;
 * 48 and 64 rows: 0.8-1.2x). One row times B^T (matrix-vector): on the
 * EPYC 16 rows at a time were 1.1-1.25x faster alone with the matrix in
 * cache but no faster in a generator's step; on the Xeon of
 * docs/benchmarks.md, with the weights on cache-line boundaries (model.c),
 * 1.36x alone (k = 256) and 1.10-1.14x on a character of char_gru and
 * char_lstm; at k = 64 first measured no faster in a character, then
 * 1.3x alone (sgemv_t), and 1.2-1.9x for k = 16..32. Many rows (one core of the Xeon, the
 * training step's products): the broadcast tiles in blocks 137-165 GFLOP/s,
 * OpenBLAS's SkylakeX kernels 125-155, its Haswell kernels (half the FMA
 * width) 95-109; OpenBLAS keeps them when it runs at full width. */
static bool columns_fill_vectors(int64_t n) {
  int64_t padded = (n + VEC - 1) / VEC * VEC;
  return padded * 10 <= n * 11; /* at most a tenth of the lanes wasted */
}

nnrt_small_form nnrt_sgemm_small_form(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k) {
  if (m < 1 || n < 2 || !nnrt_cpu_has_avx512())
    return NNRT_SMALL_NONE;
  if (m == 1)
    return trans_b && !trans_a && k >= GEMV_MIN_K && n >= VEC ? NNRT_SMALL_GEMV : NNRT_SMALL_NONE;
  if (!trans_b && m <= BC_MAX_ROWS && columns_fill_vectors(n))
    return NNRT_SMALL_BROADCAST;
  if (trans_b && !trans_a && m <= DOT_MAX_ROWS && k >= DOT_MIN_K)
    return NNRT_SMALL_DOT;
  if (m > BC_MAX_ROWS && k >= VEC && columns_fill_vectors(n) && !blas_full_width())
    return NNRT_SMALL_BROADCAST;
  return NNRT_SMALL_NONE;
}

void nnrt_sgemm_small(nnrt_small_form form, int trans_a, int trans_b, int64_t m, int64_t n,
                      int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                      int64_t ldb, float beta, float *c, int64_t ldc) {
  if (form == NNRT_SMALL_GEMV)
    sgemv_t(n, k, alpha, a, b, ldb, beta, c);
  else if (form == NNRT_SMALL_DOT)
    sgemm_dot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    sgemm_bcast(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ---- op(B) packed once for a loop (gemm_small.h) ---- */

_Static_assert((int)NNRT_SGEMM_PANEL == (int)BC_COLS, "a packed panel is the broadcast kernel's");

bool nnrt_small_packed_takes(int64_t m, int64_t n, int64_t k) {
  return m >= 2 && m <= BC_MAX_ROWS && n >= 2 && k >= 1 && columns_fill_vectors(n) &&
         nnrt_cpu_has_avx512();
}

AVX512 void nnrt_small_pack_b(int trans_b, int64_t n, int64_t k, const float *b, int64_t ldb,
                              float *packed, int64_t p0, int64_t p1) {
  for (int64_t jp = p0; jp < p1; jp++) {
    int64_t j = jp * BC_COLS, cols = n - j < BC_COLS ? n - j : BC_COLS;
    float *panel = packed + jp * k * BC_COLS;
    if (trans_b) {
      pack_panel_t(b + j * ldb, ldb, k, cols, panel);
    } else {
      __mmask16 mask[2] = {nnrt_lanes16(cols), nnrt_lanes16(cols - VEC)};
      pack_panel(b + j, ldb, k, mask, panel);
    }
  }
}

/* sgemm_bcast's loops for m <= BL_MC (one block of rows, a panel at a
 * time, k in chunks of BC_KC), the panels read where they were packed. */
AVX512 void nnrt_small_packed(int trans_a, int64_t m, int64_t n, int64_t k, float alpha,
                              const float *a, int64_t lda, const float *packed, float beta,
                              float *c, int64_t ldc, int64_t p0, int64_t p1) {
  int64_t sa_i = trans_a ? 1 : lda, sa_p = trans_a ? lda : 1;
  for (int64_t jp = p0; jp < p1; jp++) {
    int64_t j = jp * BC_COLS, cols = n - j < BC_COLS ? n - j : BC_COLS;
    __mmask16 mask[2] = {nnrt_lanes16(cols), nnrt_lanes16(cols - VEC)};
    const float *panel = packed + jp * k * BC_COLS;
    for (int64_t q0 = 0; q0 < k; q0 += BC_KC) {
      int64_t kc = k - q0 < BC_KC ? k - q0 : BC_KC;
      bcast_panel(a + q0 * sa_p, BC_ROWS * sa_i, sa_i, sa_p, m, panel + q0 * BC_COLS, c + j, ldc,
                  kc, mask, cols, alpha, q0 == 0 ? beta : 1.0f);
    }
  }
}

#else /* no AVX-512 code for this target */

bool nnrt_small_packed_takes(int64_t m, int64_t n, int64_t k) {
  (void)m, (void)n, (void)k;
  return false;
}

void nnrt_small_pack_b(int trans_b, int64_t n, int64_t k, const float *b, int64_t ldb,
                       float *packed, int64_t p0, int64_t p1) {
  (void)trans_b, (void)n, (void)k, (void)b, (void)ldb, (void)packed, (void)p0, (void)p1;
}

void nnrt_small_packed(int trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, const float *packed, float beta, float *c, int64_t ldc,
                       int64_t p0, int64_t p1) {
  (void)trans_a, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)packed;
  (void)beta, (void)c, (void)ldc, (void)p0, (void)p1;
}

nnrt_small_form nnrt_sgemm_small_form(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k) {
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k;
  return NNRT_SMALL_NONE;
}

void nnrt_sgemm_small(nnrt_small_form form, int trans_a, int trans_b, int64_t m, int64_t n,
                      int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                      int64_t ldb, float beta, float *c, int64_t ldc) {
  (void)form, (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a;
  (void)lda, (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
}

#endif
