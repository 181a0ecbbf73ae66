/* test_conv.c - nnrt_[sd]conv_* against direct loops written from the
 * definition: strides, asymmetric padding (an output larger than symmetric
 * padding gives), dilation, groups (depthwise too), pointwise 1x1, 1-D
 * (H = 1), a batch of one and more images than scratch slots, at 1 and 2
 * threads. The scratch is allocated at exactly nnrt_conv_scratch elements
 * (ASan catches a write past it) and filled with NaN (a read of scratch not
 * written first shows in the result). The "direct" cases are shapes the
 * AVX-512 path of conv_direct.c takes, the "winograd" ones shapes that
 * conv_winograd.c takes forward and for the data gradient (checked on a
 * CPU that has AVX-512; under valgrind, whose CPU lacks it, they run the
 * im2col path). */
#include "check.h"
#include "conv_direct.h"
#include "conv_winograd.h"
#include "nnrt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t lcg_state = 12345;
static double rnd(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(lcg_state >> 11) * 0x1p-53 * 2 - 1;
}

static double *random_array(int64_t n) {
  double *a = malloc(sizeof(double) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++)
    a[i] = rnd();
  return a;
}

static int64_t in_size(const nnrt_conv *s) { return s->n * s->c * s->in_h * s->in_w; }
static int64_t out_size(const nnrt_conv *s) { return s->n * s->o * s->out_h * s->out_w; }
static int64_t w_size(const nnrt_conv *s) { return s->o * (s->c / s->groups) * s->k_h * s->k_w; }

/* Calls f(x index, y index, w index) for every multiply-add of the forward
 * convolution. */
typedef void (*mac_fn)(void *ctx, int64_t xi, int64_t yi, int64_t wi);
static void each_mac(const nnrt_conv *s, mac_fn f, void *ctx) {
  int64_t cg = s->c / s->groups, og = s->o / s->groups;
  for (int64_t n = 0; n < s->n; n++)
    for (int64_t o = 0; o < s->o; o++)
      for (int64_t oh = 0; oh < s->out_h; oh++)
        for (int64_t ow = 0; ow < s->out_w; ow++)
          for (int64_t c = 0; c < cg; c++)
            for (int64_t kh = 0; kh < s->k_h; kh++)
              for (int64_t kw = 0; kw < s->k_w; kw++) {
                int64_t ih = oh * s->stride_h - s->pad_h + kh * s->dil_h;
                int64_t iw = ow * s->stride_w - s->pad_w + kw * s->dil_w;
                if (ih < 0 || ih >= s->in_h || iw < 0 || iw >= s->in_w)
                  continue;
                int64_t ci = (o / og) * cg + c;
                f(ctx, ((n * s->c + ci) * s->in_h + ih) * s->in_w + iw,
                  ((n * s->o + o) * s->out_h + oh) * s->out_w + ow,
                  ((o * cg + c) * s->k_h + kh) * s->k_w + kw);
              }
}

typedef struct Ref {
  const double *x, *w, *dy;
  double *y, *dx, *dw;
} Ref;

static void mac(void *ctx, int64_t xi, int64_t yi, int64_t wi) {
  Ref *r = ctx;
  r->y[yi] += r->x[xi] * r->w[wi];
  r->dx[xi] += r->dy[yi] * r->w[wi];
  r->dw[wi] += r->dy[yi] * r->x[xi];
}

static double max_rel_err(const double *got, const double *want, int64_t n) {
  double scale = 1e-30, err = 0;
  for (int64_t i = 0; i < n; i++)
    scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(got[i] - want[i]) / scale;
    err = e > err || e != e ? e : err;
  }
  return err;
}

static double *to_double(const float *f, int64_t n) {
  double *d = malloc(sizeof(double) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++)
    d[i] = f[i];
  return d;
}

static float *to_float(const double *d, int64_t n) {
  float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++)
    f[i] = (float)d[i];
  return f;
}

static void *nan_scratch(const nnrt_conv *s, int which, size_t elem) {
  int64_t n = nnrt_conv_scratch(s, which);
  void *p = malloc(elem * (size_t)(n ? n : 1));
  memset(p, 0xff, elem * (size_t)n); /* all-ones bits: a NaN in f32 and f64 */
  return p;
}

static void check_double(const char *what, const nnrt_conv *s, const Ref *r) {
  double *y = malloc(sizeof(double) * (size_t)out_size(s));
  double *dx = malloc(sizeof(double) * (size_t)in_size(s));
  double *dw = malloc(sizeof(double) * (size_t)w_size(s));
  double *sf = nan_scratch(s, NNRT_CONV_FORWARD, sizeof(double));
  double *sd = nan_scratch(s, NNRT_CONV_BACKWARD_DATA, sizeof(double));
  double *sw = nan_scratch(s, NNRT_CONV_BACKWARD_FILTER, sizeof(double));
  memset(dx, 0xff, sizeof(double) * (size_t)in_size(s)); /* overwritten, not added to */
  memset(dw, 0xff, sizeof(double) * (size_t)w_size(s));
  nnrt_dconv_forward(s, r->x, r->w, y, sf);
  nnrt_dconv_backward_data(s, r->dy, r->w, dx, sd);
  nnrt_dconv_backward_filter(s, r->x, r->dy, dw, sw);
  CHECKF(max_rel_err(y, r->y, out_size(s)) < 1e-12, "%s: f64 forward", what);
  CHECKF(max_rel_err(dx, r->dx, in_size(s)) < 1e-12, "%s: f64 data gradient", what);
  CHECKF(max_rel_err(dw, r->dw, w_size(s)) < 1e-12, "%s: f64 filter gradient", what);
  /* the same bits on a second call (fixed blocks of the filter sum) */
  double *dw2 = malloc(sizeof(double) * (size_t)w_size(s));
  nnrt_dconv_backward_filter(s, r->x, r->dy, dw2, sw);
  CHECKF(memcmp(dw, dw2, sizeof(double) * (size_t)w_size(s)) == 0, "%s: f64 filter bits", what);
  free(y), free(dx), free(dw), free(dw2), free(sf), free(sd), free(sw);
}

static void check_float(const char *what, const nnrt_conv *s, const Ref *r) {
  float *x = to_float(r->x, in_size(s)), *w = to_float(r->w, w_size(s));
  float *dy = to_float(r->dy, out_size(s));
  float *y = malloc(sizeof(float) * (size_t)out_size(s));
  float *dx = malloc(sizeof(float) * (size_t)in_size(s));
  float *dw = malloc(sizeof(float) * (size_t)w_size(s));
  float *sf = nan_scratch(s, NNRT_CONV_FORWARD, sizeof(float));
  float *sd = nan_scratch(s, NNRT_CONV_BACKWARD_DATA, sizeof(float));
  float *sw = nan_scratch(s, NNRT_CONV_BACKWARD_FILTER, sizeof(float));
  nnrt_sconv_forward(s, x, w, y, sf);
  nnrt_sconv_backward_data(s, dy, w, dx, sd);
  nnrt_sconv_backward_filter(s, x, dy, dw, sw);
  double *yd = to_double(y, out_size(s)), *dxd = to_double(dx, in_size(s));
  double *dwd = to_double(dw, w_size(s));
  CHECKF(max_rel_err(yd, r->y, out_size(s)) < 1e-5, "%s: f32 forward", what);
  CHECKF(max_rel_err(dxd, r->dx, in_size(s)) < 1e-5, "%s: f32 data gradient", what);
  CHECKF(max_rel_err(dwd, r->dw, w_size(s)) < 1e-5, "%s: f32 filter gradient", what);
  /* the same bits at the other thread count: the direct kernels split
   * images or (fewer images than threads) output channels, never a sum;
   * Winograd's splits images or (fewer images) its whole products;
   * im2col's filter gradient sums fixed blocks of images. But im2col's
   * GEMMs split into bands over the threads where they are large enough
   * (with one image, or with the pool taken by the image blocks, when the
   * bands run one after another), and OpenBLAS's bands need not give a
   * whole product's bits: without the direct filter kernel only the second
   * call is checked. */
  float *dw2 = malloc(sizeof(float) * (size_t)w_size(s));
  float *y2 = malloc(sizeof(float) * (size_t)out_size(s));
  float *dx2 = malloc(sizeof(float) * (size_t)in_size(s));
  bool direct[3];
  for (int which = NNRT_CONV_FORWARD; which <= NNRT_CONV_BACKWARD_FILTER; which++)
    direct[which] = nnrt_conv_direct_takes(s, which, nnrt_conv_scratch(s, which)) ||
                    nnrt_conv_winograd_takes(s, which, nnrt_conv_scratch(s, which));
  int threads = nnrt_get_threads();
  nnrt_set_threads(threads == 1 ? 2 : 1);
  nnrt_sconv_forward(s, x, w, y2, sf);
  nnrt_sconv_backward_data(s, dy, w, dx2, sd);
  if (direct[NNRT_CONV_BACKWARD_FILTER])
    nnrt_sconv_backward_filter(s, x, dy, dw2, sw);
  nnrt_set_threads(threads);
  if (!direct[NNRT_CONV_BACKWARD_FILTER])
    nnrt_sconv_backward_filter(s, x, dy, dw2, sw);
  CHECKF(!direct[NNRT_CONV_FORWARD] || memcmp(y, y2, sizeof(float) * (size_t)out_size(s)) == 0,
         "%s: f32 forward bits", what);
  CHECKF(!direct[NNRT_CONV_BACKWARD_DATA] ||
             memcmp(dx, dx2, sizeof(float) * (size_t)in_size(s)) == 0,
         "%s: f32 data bits", what);
  CHECKF(memcmp(dw, dw2, sizeof(float) * (size_t)w_size(s)) == 0, "%s: f32 filter bits", what);
  free(dw2), free(y2), free(dx2);
  free(x), free(w), free(dy), free(y), free(dx), free(dw), free(sf), free(sd), free(sw);
  free(yd), free(dxd), free(dwd);
}

static void check_case(const char *what, nnrt_conv s) {
  Ref r = {random_array(in_size(&s)),
           random_array(w_size(&s)),
           random_array(out_size(&s)),
           calloc((size_t)out_size(&s) + 1, sizeof(double)),
           calloc((size_t)in_size(&s) + 1, sizeof(double)),
           calloc((size_t)w_size(&s) + 1, sizeof(double))};
  each_mac(&s, mac, &r);
  check_double(what, &s, &r);
  check_float(what, &s, &r);
  free((void *)r.x), free((void *)r.w), free((void *)r.dy), free(r.y), free(r.dx), free(r.dw);
}

/* Output size for padding lo + hi. */
static int64_t out_len(int64_t in, int64_t k, int64_t stride, int64_t pad_total, int64_t dil) {
  return (in + pad_total - dil * (k - 1) - 1) / stride + 1;
}

static nnrt_conv conv(int64_t n, int64_t c, int64_t o, int64_t groups, int64_t h, int64_t w,
                      int64_t k, int64_t stride, int64_t pad_lo, int64_t pad_hi, int64_t dil) {
  nnrt_conv s = {.n = n,
                 .c = c,
                 .o = o,
                 .groups = groups,
                 .in_h = h,
                 .in_w = w,
                 .k_h = h == 1 ? 1 : k,
                 .k_w = k,
                 .stride_h = h == 1 ? 1 : stride,
                 .stride_w = stride,
                 .pad_h = h == 1 ? 0 : pad_lo,
                 .pad_w = pad_lo,
                 .dil_h = dil,
                 .dil_w = dil};
  s.out_h = out_len(h, s.k_h, s.stride_h, h == 1 ? 0 : pad_lo + pad_hi, dil);
  s.out_w = out_len(w, k, stride, pad_lo + pad_hi, dil);
  return s;
}

/* A shape the direct path must take on a CPU with AVX-512 the ways up to
 * `last` (NNRT_CONV_*, in their order). */
static void check_direct_ways(const char *what, nnrt_conv s, int last) {
  if (__builtin_cpu_supports("avx512f"))
    for (int which = NNRT_CONV_FORWARD; which <= last; which++)
      CHECKF(nnrt_conv_direct_takes(&s, which, nnrt_conv_scratch(&s, which)),
             "%s: direct path taken for %d", what, which);
  check_case(what, s);
}

/* A shape the direct path must take on a CPU with AVX-512, all three ways. */
static void check_direct(const char *what, nnrt_conv s) {
  check_direct_ways(what, s, NNRT_CONV_BACKWARD_FILTER);
}

static void run_direct_cases(void) {
  /* output channels past the 4-row tiles, input channels past the
   * 16-channel blocks, rows not whole vectors */
  check_direct("direct: odd channels", conv(2, 40, 7, 1, 9, 10, 3, 1, 1, 1, 1));
  check_direct("direct: several vector tiles", conv(3, 16, 16, 1, 20, 19, 3, 1, 1, 1, 1));
  check_direct("direct: 5x5 (taps past 9)", conv(2, 16, 5, 1, 8, 7, 5, 1, 2, 2, 1));
  check_direct("direct: dilation, asymmetric padding", conv(2, 72, 6, 1, 11, 9, 3, 1, 2, 1, 2));
  check_direct("direct: padding past the kernel", conv(2, 16, 4, 1, 5, 6, 3, 1, 3, 3, 1));
  check_direct("direct: 1-D", conv(2, 16, 5, 1, 1, 37, 3, 1, 1, 1, 1));
  check_direct("direct: batch of one", conv(1, 16, 8, 1, 7, 7, 3, 1, 1, 1, 1));
  check_direct("direct: more images than slots", conv(19, 16, 4, 1, 5, 4, 3, 1, 1, 1, 1));
  check_direct("direct: 3x3 no padding", conv(2, 32, 3, 1, 6, 6, 3, 1, 0, 0, 1));
  /* vgg_small's RGB layer forward: its padded copy fits where im2col's
   * columns do */
  check_direct_ways("direct: 3 input channels", conv(1, 3, 32, 1, 32, 32, 3, 1, 1, 1, 1),
                    NNRT_CONV_FORWARD);
  /* batch 1 split over output channels at 2 threads: a block of channels
   * past the 4-row tiles, rows not whole vectors */
  check_direct("direct: batch of one over threads", conv(1, 32, 30, 1, 29, 31, 3, 1, 1, 1, 1));
}

/* A shape F(2x2, 3x3) must take, forward and for the data gradient, on a
 * CPU with AVX-512. */
static void check_winograd(const char *what, nnrt_conv s) {
  if (__builtin_cpu_supports("avx512f"))
    for (int which = NNRT_CONV_FORWARD; which <= NNRT_CONV_BACKWARD_DATA; which++)
      CHECKF(nnrt_conv_winograd_takes(&s, which, nnrt_conv_scratch(&s, which)),
             "%s: Winograd taken for %d", what, which);
  check_case(what, s);
}

static void run_winograd_cases(void) {
  /* channels past the 16-lane blocks of the weight transform, odd
   * outputs (a tile's second row and column dropped), tiles past 16 */
  check_winograd("winograd: odd sizes", conv(9, 40, 47, 1, 9, 11, 3, 1, 1, 1, 1));
  check_winograd("winograd: no padding", conv(22, 48, 40, 1, 8, 9, 3, 1, 0, 0, 1));
  check_winograd("winograd: asymmetric padding", conv(22, 40, 40, 1, 7, 6, 3, 1, 1, 2, 1));
  /* the data gradient's input cropped: padding 3 is -1 for it */
  check_winograd("winograd: padding past the kernel", conv(11, 40, 42, 1, 5, 6, 3, 1, 3, 3, 1));
  check_winograd("winograd: more images than slots", conv(19, 40, 40, 1, 7, 8, 3, 1, 1, 1, 1));
  /* images 16 tiles wide or more, transformed a tile row at a time: a
   * second, partial block of 16 tiles; the data gradient's input cropped */
  check_winograd("winograd: wide rows", conv(3, 32, 33, 1, 11, 37, 3, 1, 1, 1, 1));
  check_winograd("winograd: wide, padding past the kernel",
                 conv(3, 32, 32, 1, 5, 40, 3, 1, 3, 3, 1));
  /* batch 1 at 2 threads: the 16 products split over threads */
  check_winograd("winograd: batch of one", conv(1, 48, 40, 1, 32, 31, 3, 1, 1, 1, 1));
  /* fewer channels, or too few tiles to spread the weights' transform
   * over, stay with the direct kernels */
  nnrt_conv few = conv(2, 24, 24, 1, 16, 16, 3, 1, 1, 1, 1);
  CHECKF(!nnrt_conv_winograd_takes(&few, NNRT_CONV_FORWARD, nnrt_conv_scratch(&few, 0)),
         "winograd: not taken for 24 -> 24 channels");
  nnrt_conv small = conv(1, 128, 128, 1, 16, 16, 3, 1, 1, 1, 1);
  CHECKF(!nnrt_conv_winograd_takes(&small, NNRT_CONV_FORWARD, nnrt_conv_scratch(&small, 0)),
         "winograd: not taken for one 16x16 image");
}

static void run_cases(void) {
  check_case("3x3 pad 1", conv(2, 3, 4, 1, 6, 5, 3, 1, 1, 1, 1));
  check_case("5x5 valid", conv(3, 2, 3, 1, 9, 8, 5, 1, 0, 0, 1));
  check_case("stride 2", conv(2, 3, 2, 1, 7, 8, 3, 2, 1, 1, 1));
  check_case("asymmetric padding", conv(2, 2, 3, 1, 6, 6, 4, 1, 1, 2, 1));
  check_case("dilation 2", conv(2, 2, 2, 1, 9, 7, 3, 1, 2, 2, 2));
  check_case("groups 2", conv(2, 4, 6, 2, 5, 5, 3, 1, 1, 1, 1));
  check_case("depthwise", conv(2, 4, 4, 4, 6, 6, 3, 2, 1, 1, 1));
  check_case("pointwise", conv(3, 5, 4, 1, 4, 6, 1, 1, 0, 0, 1));
  check_case("pointwise groups", conv(2, 4, 6, 2, 3, 3, 1, 1, 0, 0, 1));
  check_case("1x1 stride 2", conv(2, 3, 4, 1, 6, 6, 1, 2, 0, 0, 1));
  check_case("1-D", conv(2, 3, 4, 1, 1, 11, 3, 2, 1, 1, 1));
  check_case("batch of one", conv(1, 3, 4, 1, 5, 5, 3, 1, 1, 1, 1));
  check_case("more images than slots", conv(19, 2, 3, 1, 5, 4, 3, 1, 1, 1, 1));
  check_case("window in padding only", conv(2, 1, 2, 1, 2, 2, 3, 3, 2, 2, 1));
  check_case("no images", conv(0, 2, 3, 1, 4, 4, 3, 1, 1, 1, 1));
  run_direct_cases();
  run_winograd_cases();
}

int main(void) {
  nnrt_set_threads(1);
  run_cases();
  nnrt_set_threads(2);
  run_cases();
  /* big enough to split over the pool */
  check_direct("split over threads", conv(8, 16, 16, 1, 16, 16, 3, 1, 1, 1, 1));
  return check_report("test_conv");
}
