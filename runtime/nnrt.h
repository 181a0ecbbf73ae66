/* nnrt.h - the nnc runtime: what compiled models call and what embedding
 * programs see.
 *
 * Generated code (JIT or ahead of time) links against this library for the
 * work that is not worth generating: GEMM over OpenBLAS, a thread pool,
 * workspace layout, random numbers and parameter initialisation, and
 * reading/writing tensors. Nothing here prints, exits or aborts: failures are
 * returned as NNRT_* codes with a message in a caller-provided buffer.
 *
 * Thread safety: nnrt_parallel_for may be called from one thread at a time
 * (the pool is process-wide); everything else is reentrant.
 */
#ifndef NNRT_H
#define NNRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  NNRT_OK = 0,
  NNRT_ERR_IO = 1,     /* a file could not be opened, read or written */
  NNRT_ERR_FORMAT = 2, /* a file is not what it claims (bad header, truncated) */
  NNRT_ERR_SHAPE = 3,  /* a tensor's dtype or shape is not what was expected */
  NNRT_ERR_ARG = 4,    /* an argument is out of range or NULL */
  NNRT_ERR_NOMEM = 5,
  /* a training step's loss or gradient norm was NaN or Inf: nothing was
   * updated (the parameters and optimizer state are those before the call) */
  NNRT_ERR_NONFINITE = 6,
};

/* Element types, numbered as the compiler's DType (f32, f64, i32, bool). */
typedef enum nnrt_dtype { NNRT_F32 = 0, NNRT_F64 = 1, NNRT_I32 = 2, NNRT_BOOL = 3 } nnrt_dtype;

size_t nnrt_dtype_size(nnrt_dtype dt); /* 4, 8, 4, 1 */
/* "f32", "f64", "i32", "bool" as the language writes them; "?" for
 * anything else. */
const char *nnrt_dtype_name(int dt);

enum { NNRT_MAX_RANK = 8 };

/* A dense row-major tensor. `data` is owned by whoever filled it; tensors
 * returned by nnrt_npy_read are freed with nnrt_tensor_free. */
typedef struct nnrt_tensor {
  nnrt_dtype dtype;
  int rank;
  int64_t dims[NNRT_MAX_RANK];
  void *data;
} nnrt_tensor;

/* -1 if the rank or a dimension is out of range or the count overflows. */
int64_t nnrt_tensor_numel(const nnrt_tensor *t);
void nnrt_tensor_free(nnrt_tensor *t); /* frees data, leaves rank 0 */

/* ---- threads ----------------------------------------------------------
 * The thread count applies to nnrt_parallel_for and to the GEMMs below. 0
 * selects the default: $NNC_THREADS if set to a positive number, else the
 * number of online CPUs (at most 1024 either way). Work too small to pay
 * for a thread runs on the calling thread whatever the count, so a small
 * model effectively runs on one. Waiting threads spin for at most about
 * 50 us and then sleep.
 * OpenBLAS is set to one thread (openblas_set_num_threads(1), for the
 * whole process) when the count is first set or resolved: its own threads
 * busy-wait, which costs orders of magnitude on a loaded machine; large
 * products are split over nnrt's pool instead. */
void nnrt_set_threads(int n);
int nnrt_get_threads(void);

/* Runs fn(ctx, lo, hi) over disjoint ranges covering [0, n). Splits across
 * the pool only when n >= 2 * grain and more than one thread is set;
 * otherwise calls fn(ctx, 0, n) on the calling thread. `grain` is the
 * fewest elements worth a thread of their own. Returns when all ranges are
 * done. The split is contiguous and depends only on n, grain and the thread
 * count (not on which thread runs a range); a split gives every range at
 * least `grain` elements. n <= 0 does nothing; grain < 1 counts as 1. A
 * call from inside fn runs the same ranges inline, one after the other. */
typedef void (*nnrt_range_fn)(void *ctx, int64_t lo, int64_t hi);
void nnrt_parallel_for(nnrt_range_fn fn, void *ctx, int64_t n, int64_t grain);

/* ---- GEMM -------------------------------------------------------------
 * Row-major C[m,n] = alpha * op(A)[m,k] @ op(B)[k,n] + beta * C, where
 * op(X) is X or X^T as trans_* says; lda/ldb/ldc are row strides of the
 * stored matrices. The batched forms repeat it `batch` times, advancing
 * each pointer by its stride (elements; 0 broadcasts that operand).
 * As in BLAS, k == 0 or alpha == 0 gives C = beta * C without reading A or
 * B, and beta == 0 overwrites C without reading it. */
void nnrt_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                int64_t ldc);
/* nnrt_sgemm for a product inside a loop whose op(B) is the same at every
 * step (a recurrent layer's weights), m and n the same too. `packed` holds
 * (n rounded up to NNRT_SGEMM_PANEL) * k floats, 64-byte aligned, kept from step to
 * step; `pack` is nonzero at the loop's first step, when op(B) is copied
 * there in the order the product reads it. The product is nnrt_sgemm's,
 * to the bit where that takes the broadcast form (gemm_small.c). */
enum { NNRT_SGEMM_PANEL = 32 };
void nnrt_sgemm_fixed_b(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc, float *packed, int pack);
void nnrt_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                int64_t ldc);
void nnrt_sgemm_batched(int64_t batch, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                        float alpha, const float *a, int64_t lda, int64_t stride_a, const float *b,
                        int64_t ldb, int64_t stride_b, float beta, float *c, int64_t ldc,
                        int64_t stride_c);
void nnrt_dgemm_batched(int64_t batch, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                        double alpha, const double *a, int64_t lda, int64_t stride_a,
                        const double *b, int64_t ldb, int64_t stride_b, double beta, double *c,
                        int64_t ldc, int64_t stride_c);

/* ---- convolution ---------------------------------------------------------
 * PyTorch's convolution on row-major [N, C, H, W] activations and
 * [O, C / groups, KH, KW] weights (1-D convolution is H = KH = 1). `pad_*`
 * is the leading padding (top, left); the trailing padding is whatever
 * makes out_* windows, so asymmetric ("same" with an even kernel) and
 * transposed convolutions with output_padding need nothing more.
 *   forward          y[n, o]  = sum over c, kh, kw of w[o, c, kh, kw] *
 *                               x[n, c, oh * stride_h - pad_h + kh * dil_h, ...]
 *   backward_data    dx = the adjoint of forward in x (a transposed
 *                    convolution of dy with w; dx is overwritten)
 *   backward_filter  dw = the adjoint of forward in w (dw is overwritten)
 * `scratch` holds nnrt_conv_scratch(s, which) elements of the same type,
 * uninitialised, owned by the caller (compiled code puts it in its
 * workspace): images are unrolled into it (im2col) and the filter gradient
 * keeps one partial sum per block of images there. The blocks depend on
 * N alone and are added in a fixed order, never in the order threads
 * finish: two calls give the same bits. On a CPU with AVX-512F, f32
 * stride-1 convolutions with one group run direct register-tiled kernels
 * instead (conv_direct.c), and 3x3 ones with channels and tiles enough
 * Winograd's F(2x2, 3x3) (conv_winograd.c, for the forward pass and the
 * data gradient), with padded copies of the images in the same scratch:
 * the bits then differ from a CPU without it (the sums run in another
 * order; Winograd's transforms round differently, within a few ulps of
 * the sums' size), never from one call or thread count to another. */
typedef struct nnrt_conv {
  int64_t n, c, o, groups;
  int64_t in_h, in_w, out_h, out_w, k_h, k_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
} nnrt_conv;

enum {
  NNRT_CONV_FORWARD,
  NNRT_CONV_BACKWARD_DATA,
  NNRT_CONV_BACKWARD_FILTER,
  /* images unrolled at once (threads a convolution splits over), and blocks
   * of images with a partial filter gradient each */
  NNRT_CONV_SLOTS = 8,
};

/* Elements of scratch a call needs: NNRT_CONV_SLOTS unrolled images
 * (C / groups * KH * KW * OH * OW each) unless the convolution is
 * pointwise (1x1, stride 1, no padding), plus for the filter gradient
 * NNRT_CONV_SLOTS partial filters (O * C / groups * KH * KW each). */
int64_t nnrt_conv_scratch(const nnrt_conv *s, int which);
void nnrt_sconv_forward(const nnrt_conv *s, const float *x, const float *w, float *y,
                        float *scratch);
void nnrt_sconv_backward_data(const nnrt_conv *s, const float *dy, const float *w, float *dx,
                              float *scratch);
void nnrt_sconv_backward_filter(const nnrt_conv *s, const float *x, const float *dy, float *dw,
                                float *scratch);
void nnrt_dconv_forward(const nnrt_conv *s, const double *x, const double *w, double *y,
                        double *scratch);
void nnrt_dconv_backward_data(const nnrt_conv *s, const double *dy, const double *w, double *dx,
                              double *scratch);
void nnrt_dconv_backward_filter(const nnrt_conv *s, const double *x, const double *dy, double *dw,
                                double *scratch);

/* ---- workspace layout --------------------------------------------------
 * Places n buffers in one arena so that buffers whose live ranges
 * [first[i], last[i]] (inclusive step numbers) overlap never share bytes.
 * Offsets are aligned to 64 bytes. Writes offsets[i] and returns the arena
 * size in bytes (the peak, rounded up to 64), or -1 if a size is negative,
 * a range is empty (first > last) or the total overflows. Deterministic:
 * the same input gives the same layout. */
int64_t nnrt_plan_layout(int n, const int64_t *sizes, const int *first, const int *last,
                         int64_t *offsets);

/* ---- random numbers ----------------------------------------------------
 * Counter-based (Philox-4x32-10): the stream is a pure function of the seed
 * and the number of draws so far, so a state is two integers and saving it in
 * a checkpoint resumes the exact same sequence. */
typedef struct nnrt_rng {
  uint64_t key;     /* from the seed */
  uint64_t counter; /* 32-bit outputs drawn so far: output c is word c % 4
                       of the Philox block at counter {c / 4, 0} */
} nnrt_rng;

void nnrt_rng_seed(nnrt_rng *r, uint64_t seed);
uint32_t nnrt_rng_u32(nnrt_rng *r);
double nnrt_rng_uniform(nnrt_rng *r); /* [0, 1), 53 bits */
double nnrt_rng_normal(nnrt_rng *r);  /* N(0, 1) */
/* Uniform integer in [0, n) without modulo bias; n > 0 (0 gives 0). */
uint64_t nnrt_rng_below(nnrt_rng *r, uint64_t n);
/* The Philox-4x32-10 bijection itself: block `ctr` under `key`. For code
 * that draws in parallel by position (output c of a stream keyed K is word
 * c % 4 of nnrt_philox4x32({c / 4 low, c / 4 high, 0, 0}, {K low, K high})). */
void nnrt_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Parameter initialisers, numbered as the compiler's InitKind. fan_in and
 * fan_out follow PyTorch: for rank >= 2, fan_in = dims[rank-2] * receptive
 * field and fan_out = dims[rank-1] * receptive field for a [in, out] weight
 * (nnc stores Linear weights as [in, out]). */
typedef enum nnrt_init_kind {
  NNRT_INIT_ZEROS,
  NNRT_INIT_ONES,
  NNRT_INIT_NORMAL,     /* a = mean, b = std */
  NNRT_INIT_UNIFORM,    /* a = lo, b = hi */
  NNRT_INIT_GLOROT,     /* uniform(+-sqrt(6 / (fan_in + fan_out))) */
  NNRT_INIT_HE,         /* normal(0, sqrt(2 / fan_in)) */
  NNRT_INIT_ORTHOGONAL, /* a = gain; rows or columns orthonormal */
  NNRT_INIT_SPARSE,     /* a = density of non-zeros, b = their std */
  NNRT_INIT_CONSTANT,   /* a = value */
  NNRT_INIT_RESERVOIR,  /* a = spectral radius, b = density; square matrices */
} nnrt_init_kind;

/* Fills t (f32 or f64, data already allocated) by the given rule. */
int nnrt_init_tensor(nnrt_rng *r, nnrt_init_kind kind, double a, double b, nnrt_tensor *t,
                     char *err, size_t errlen);

/* ---- .npy files (NumPy format 1.0/2.0/3.0, little-endian, C order) ------
 * Reads f4, f8, i4, i8 (converted to i32 if every value fits) and b1 arrays.
 * Errors name the file and the problem (bad magic, header too large or
 * malformed, Fortran order, unsupported dtype, truncated data). */
int nnrt_npy_read(const char *path, nnrt_tensor *out, char *err, size_t errlen);
/* Writes to path.tmp and renames, so an existing file is never left half
 * written. */
int nnrt_npy_write(const char *path, const nnrt_tensor *t, char *err, size_t errlen);

/* ---- .npz archives (np.savez, np.savez_compressed) ----------------------
 * Reads the array `key` (the member KEY.npy) as nnrt_npy_read reads a .npy
 * file. Members may be stored or deflated; their CRC-32 and sizes are
 * checked. Errors name the file ("data.npz: ...") and the member
 * ("data.npz: x.npy: ..."): not a ZIP archive or truncated, no such array
 * (the message lists those there are), another compression method,
 * encryption, a CRC mismatch, sizes that do not fit the file, ZIP64
 * archives (over 4 GiB, which are not supported), and every .npy problem. */
int nnrt_npz_read(const char *path, const char *key, nnrt_tensor *out, char *err, size_t errlen);

/* The dtype and shape of the array `key` (out->data stays NULL), with the
 * checks nnrt_npz_read makes of the archive and of the member's .npy
 * header, but without inflating more than the header: lets a caller
 * refuse an array of the wrong shape (or gigabytes it does not want)
 * before it is read. */
int nnrt_npz_shape(const char *path, const char *key, nnrt_tensor *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
