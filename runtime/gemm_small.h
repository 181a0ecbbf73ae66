/* gemm_small.h - f32 products with few rows of C on AVX-512 (gemm_small.c
 * says when and why), used by nnrt_sgemm before OpenBLAS. */
#ifndef NNRT_GEMM_SMALL_H
#define NNRT_GEMM_SMALL_H

#include <stdbool.h>
#include <stdint.h>

#include "nnrt.h"

/* Which kernel family computes a product: none (OpenBLAS), broadcast
 * (op(B) in panels of 32 columns, 8 x 32 tiles of C), dot products
 * (op(B) = B^T read in place, 4 x 4 tiles), or, for one row of C and B^T,
 * a matrix-vector product. Chosen once for a whole
 * product, so that the bands it is split into over threads take the same
 * family and the bits do not depend on the thread count. */
typedef enum nnrt_small_form {
  NNRT_SMALL_NONE,
  NNRT_SMALL_BROADCAST,
  NNRT_SMALL_DOT,
  NNRT_SMALL_GEMV /* one row of C, B^T: 16 rows of B at a time */
} nnrt_small_form;

/* The family for C[m, n] = op(A) op(B) (k deep) on this CPU: AVX-512, 2 to
 * 32 or 64 rows and the shapes where the kernels beat OpenBLAS (gemm_small.c
 * gives the rules); and, when OpenBLAS runs kernels narrower than the CPU's
 * (OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU), broadcast for products of
 * any size. */
nnrt_small_form nnrt_sgemm_small_form(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k);

/* C = alpha op(A) op(B) + beta C, row-major, for any band (m, n >= 1) of a
 * product nnrt_sgemm_small_form gave `form` (not NNRT_SMALL_NONE). k >= 1,
 * alpha != 0, and the leading dimensions cover their rows (nnrt_sgemm
 * checks all three). beta == 0 does not read C. Each element of C is summed
 * in the same order whatever the band and m. */
void nnrt_sgemm_small(nnrt_small_form form, int trans_a, int trans_b, int64_t m, int64_t n,
                      int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                      int64_t ldb, float beta, float *c, int64_t ldc);

/* A product inside a loop whose op(B) is the same at every step: the
 * broadcast kernel's panels of op(B) packed once, for the whole of k,
 * into `packed` (64-byte aligned, NNRT_SGEMM_PANEL * k floats per panel of
 * NNRT_SGEMM_PANEL columns), and read from there at every step. Whether a product takes
 * it (AVX-512, 2 to 64 rows, columns that fill the panels); then
 * nnrt_small_pack_b packs panels [p0, p1) and nnrt_small_packed computes
 * C's columns of panels [p0, p1), each element summed as
 * nnrt_sgemm_small's broadcast form sums it. */
bool nnrt_small_packed_takes(int64_t m, int64_t n, int64_t k);
void nnrt_small_pack_b(int trans_b, int64_t n, int64_t k, const float *b, int64_t ldb,
                       float *packed, int64_t p0, int64_t p1);
void nnrt_small_packed(int trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                       int64_t lda, const float *packed, float beta, float *c, int64_t ldc,
                       int64_t p0, int64_t p1);

#endif
