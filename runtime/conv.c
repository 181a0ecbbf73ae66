/* conv.c - convolution as image unrolling (im2col) and GEMM (see nnrt.h).
 *
 * Each image of a group is unrolled into a matrix col[C/g * KH * KW, OH * OW]
 * (zeros where a window reaches into the padding), so that
 *   forward          y_g   = W_g @ col                  [O/g, OH * OW]
 *   backward_data    col   = W_g^T @ dy_g, then folded back into dx (col2im)
 *   backward_filter  dW_g += dy_g @ col^T
 * A pointwise convolution (1x1, stride 1, no padding) is its own col.
 * Images are split over the pool; each thread unrolls into its own slot of
 * the scratch. The filter gradient sums over images: the images fall into
 * at most NNRT_CONV_SLOTS blocks fixed by N alone, each block sums its
 * images in order into its own partial filter, and the partials are added
 * in block order: never in the order threads finish, so two calls give the
 * same bits.
 *
 * The element type is a parameter: conv_impl.h is included once for float
 * and once for double (the gradient checker runs models in f64). */
#include "conv_direct.h"
#include "conv_winograd.h"
#include "pool.h"

#include <stdbool.h>
#include <string.h>

static bool conv_is_pointwise(const nnrt_conv *s) {
  return s->k_h == 1 && s->k_w == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 0 &&
         s->pad_w == 0 && s->in_h == s->out_h && s->in_w == s->out_w;
}

static int64_t conv_col_elems(const nnrt_conv *s) {
  return s->c / s->groups * s->k_h * s->k_w * s->out_h * s->out_w;
}

static int64_t conv_filter_elems(const nnrt_conv *s) {
  return s->o * (s->c / s->groups) * s->k_h * s->k_w;
}

int64_t nnrt_conv_scratch(const nnrt_conv *s, int which) {
  int64_t n = conv_is_pointwise(s) ? 0 : NNRT_CONV_SLOTS * conv_col_elems(s);
  if (which == NNRT_CONV_BACKWARD_FILTER)
    n += NNRT_CONV_SLOTS * conv_filter_elems(s);
  return n;
}

/* What every kernel derives from the geometry, once per call. */
typedef struct ConvSizes {
  int64_t og;             /* output channels per group */
  int64_t ohw;            /* output positions per channel */
  int64_t kk;             /* weights per output channel: C / groups * KH * KW */
  int64_t in_img, in_grp; /* input elements per image, per group of one */
  bool pointwise;         /* each image is its own column matrix */
} ConvSizes;

static ConvSizes conv_sizes(const nnrt_conv *s) {
  int64_t cg = s->c / s->groups, in_hw = s->in_h * s->in_w;
  return (ConvSizes){.og = s->o / s->groups,
                     .ohw = s->out_h * s->out_w,
                     .kk = cg * s->k_h * s->k_w,
                     .in_img = s->c * in_hw,
                     .in_grp = cg * in_hw,
                     .pointwise = conv_is_pointwise(s)};
}

/* The output positions ow (of `out` of them) whose input position
 * ow * stride + off lies in [0, in): [*lo, *hi). */
static void conv_valid_range(int64_t in, int64_t out, int64_t stride, int64_t off, int64_t *lo,
                             int64_t *hi) {
  int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t h = in - 1 - off < 0 ? 0 : (in - 1 - off) / stride + 1;
  *lo = l < out ? l : out;
  *hi = h < out ? h : out;
  if (*hi < *lo)
    *hi = *lo;
}

/* Multiply-adds per nanosecond of one core for the split estimate (as
 * gemm.c's: GEMM at these sizes runs at 20-40 on the EPYC of
 * docs/benchmarks.md). */
static double conv_work_ns(const nnrt_conv *s) {
  return (double)s->n * (double)s->o * (double)(s->out_h * s->out_w) *
         (double)(conv_col_elems(s) / (s->out_h * s->out_w)) / 32.0;
}

/* conv_direct.h: the split of images every convolution kernel uses. */
void nnrt_conv_images(int64_t n, int64_t blocks, int64_t b, int64_t *lo, int64_t *hi) {
  *lo = n * b / blocks;
  *hi = n * (b + 1) / blocks;
}

static int64_t conv_blocks(const nnrt_conv *s) {
  return s->n < NNRT_CONV_SLOTS ? s->n : NNRT_CONV_SLOTS;
}

/* The AVX-512 paths for f32, Winograd's (conv_winograd.c) first, then the
 * direct kernels (conv_direct.c); f64 always unrolls. */
static bool sconv_direct_forward(const nnrt_conv *s, const float *x, const float *w, float *y,
                                 float *scratch) {
  int64_t room = nnrt_conv_scratch(s, NNRT_CONV_FORWARD);
  return nnrt_conv_winograd_forward(s, x, w, y, scratch, room) ||
         nnrt_conv_direct_forward(s, x, w, y, scratch, room);
}

static bool sconv_direct_backward_data(const nnrt_conv *s, const float *dy, const float *w,
                                       float *dx, float *scratch) {
  int64_t room = nnrt_conv_scratch(s, NNRT_CONV_BACKWARD_DATA);
  return nnrt_conv_winograd_backward_data(s, dy, w, dx, scratch, room) ||
         nnrt_conv_direct_backward_data(s, dy, w, dx, scratch, room);
}

static bool sconv_direct_backward_filter(const nnrt_conv *s, const float *x, const float *dy,
                                         float *dw, float *scratch) {
  return nnrt_conv_direct_backward_filter(s, x, dy, dw, scratch,
                                          nnrt_conv_scratch(s, NNRT_CONV_BACKWARD_FILTER));
}

static bool dconv_direct_forward(const nnrt_conv *s, const double *x, const double *w, double *y,
                                 double *scratch) {
  (void)s, (void)x, (void)w, (void)y, (void)scratch;
  return false;
}

static bool dconv_direct_backward_data(const nnrt_conv *s, const double *dy, const double *w,
                                       double *dx, double *scratch) {
  (void)s, (void)dy, (void)w, (void)dx, (void)scratch;
  return false;
}

static bool dconv_direct_backward_filter(const nnrt_conv *s, const double *x, const double *dy,
                                         double *dw, double *scratch) {
  (void)s, (void)x, (void)dy, (void)dw, (void)scratch;
  return false;
}

#define T float
#define CONV(name) nnrt_sconv_##name
#define CONV_LOCAL(name) sconv_##name
#define GEMM nnrt_sgemm
#include "conv_impl.h"

#define T double
#define CONV(name) nnrt_dconv_##name
#define CONV_LOCAL(name) dconv_##name
#define GEMM nnrt_dgemm
#include "conv_impl.h"
