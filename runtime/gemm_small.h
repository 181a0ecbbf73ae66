/* gemm_small.h - f32 products with few rows of C on AVX-512 (gemm_small.c
 * says when and why), used by nnrt_sgemm before OpenBLAS. */
#ifndef NNRT_GEMM_SMALL_H
#define NNRT_GEMM_SMALL_H

#include <stdbool.h>
#include <stdint.h>

/* Whether the kernels take the product C[m, n] = op(A) op(B) (k deep) on
 * this CPU (AVX-512, 2 to 32 or 64 rows, and shapes where they beat
 * OpenBLAS: gemm_small.c gives the rules). Decided once
 * for a whole product, so that the bands it is split into over threads
 * take the same kernel and the bits do not depend on the thread count. */
bool nnrt_sgemm_small_takes(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k);

/* C = alpha op(A) op(B) + beta C, row-major, for any band (m, n >= 1) of a
 * product nnrt_sgemm_small_takes took. k >= 1, alpha != 0, and the leading
 * dimensions cover their rows (nnrt_sgemm checks all three). beta == 0
 * does not read C. */
void nnrt_sgemm_small(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                      float *c, int64_t ldc);

#endif
