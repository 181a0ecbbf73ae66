/* conv_impl.h - the body of conv.c for one element type T. Included by
 * conv.c only, with T, CONV(name) (public names), CONV_LOCAL(name) (file
 * local ones) and GEMM defined; undefines them at the end. */

typedef struct CONV_LOCAL(job) CONV_LOCAL(job);
/* The work of images [lo, hi), the slot'th range: its scratch slot (and,
 * for the filter gradient, its partial sum) is number `slot`. */
typedef void (*CONV_LOCAL(images_fn))(const CONV_LOCAL(job) * j, int64_t lo, int64_t hi,
                                      int64_t slot);
struct CONV_LOCAL(job) {
  const nnrt_conv *s;
  ConvSizes z;
  const T *a, *b; /* forward: x, w; data: dy, w; filter: x, dy */
  T *out, *scratch;
  int64_t chunks; /* images split into this many ranges, one slot each */
  CONV_LOCAL(images_fn) images;
};

/* Image x_g [C/g, H, W] unrolled into col [C/g * KH * KW, OH * OW]. */
static void CONV_LOCAL(im2col)(const nnrt_conv *s, const T *x, T *col) {
  int64_t cg = s->c / s->groups, ow_n = s->out_w, ohw = s->out_h * s->out_w;
  for (int64_t c = 0; c < cg; c++)
    for (int64_t kh = 0; kh < s->k_h; kh++)
      for (int64_t kw = 0; kw < s->k_w; kw++) {
        T *row = col + ((c * s->k_h + kh) * s->k_w + kw) * ohw;
        int64_t w_off = kw * s->dil_w - s->pad_w, lo, hi;
        conv_valid_range(s->in_w, ow_n, s->stride_w, w_off, &lo, &hi);
        for (int64_t oh = 0; oh < s->out_h; oh++) {
          T *r = row + oh * ow_n;
          int64_t ih = oh * s->stride_h - s->pad_h + kh * s->dil_h;
          if (ih < 0 || ih >= s->in_h) {
            memset(r, 0, sizeof(T) * (size_t)ow_n);
            continue;
          }
          const T *xr = x + (c * s->in_h + ih) * s->in_w + w_off;
          for (int64_t ow = 0; ow < lo; ow++)
            r[ow] = 0;
          if (s->stride_w == 1)
            memcpy(r + lo, xr + lo, sizeof(T) * (size_t)(hi - lo));
          else
            for (int64_t ow = lo; ow < hi; ow++)
              r[ow] = xr[ow * s->stride_w];
          for (int64_t ow = hi; ow < ow_n; ow++)
            r[ow] = 0;
        }
      }
}

/* col2im: adds col back into the image dx_g (the adjoint of im2col). */
static void CONV_LOCAL(col2im)(const nnrt_conv *s, const T *col, T *dx) {
  int64_t cg = s->c / s->groups, ow_n = s->out_w, ohw = s->out_h * s->out_w;
  for (int64_t c = 0; c < cg; c++)
    for (int64_t kh = 0; kh < s->k_h; kh++)
      for (int64_t kw = 0; kw < s->k_w; kw++) {
        const T *row = col + ((c * s->k_h + kh) * s->k_w + kw) * ohw;
        int64_t w_off = kw * s->dil_w - s->pad_w, lo, hi;
        conv_valid_range(s->in_w, ow_n, s->stride_w, w_off, &lo, &hi);
        for (int64_t oh = 0; oh < s->out_h; oh++) {
          int64_t ih = oh * s->stride_h - s->pad_h + kh * s->dil_h;
          if (ih < 0 || ih >= s->in_h)
            continue;
          const T *r = row + oh * ow_n;
          T *xr = dx + (c * s->in_h + ih) * s->in_w + w_off;
          for (int64_t ow = lo; ow < hi; ow++)
            xr[ow * s->stride_w] += r[ow];
        }
      }
}

static T *CONV_LOCAL(slot)(const CONV_LOCAL(job) * j, int64_t i) {
  return j->scratch + i * conv_col_elems(j->s);
}

/* Block b's partial filter gradient: in the scratch after the slots. */
static T *CONV_LOCAL(partial)(const CONV_LOCAL(job) * j, int64_t b) {
  int64_t cols = j->z.pointwise ? 0 : NNRT_CONV_SLOTS * conv_col_elems(j->s);
  return j->scratch + cols + b * conv_filter_elems(j->s);
}

/* Group g of input image n (operand a) as the GEMM's columns: itself when
 * the convolution is pointwise, else unrolled into col. */
static const T *CONV_LOCAL(columns)(const CONV_LOCAL(job) * j, int64_t n, int64_t g, T *col) {
  const T *x = j->a + n * j->z.in_img + g * j->z.in_grp;
  if (j->z.pointwise)
    return x;
  CONV_LOCAL(im2col)(j->s, x, col);
  return col;
}

static void CONV_LOCAL(forward_images)(const CONV_LOCAL(job) * j, int64_t lo, int64_t hi,
                                       int64_t slot) {
  const ConvSizes *z = &j->z;
  T *col = CONV_LOCAL(slot)(j, slot);
  for (int64_t n = lo; n < hi; n++)
    for (int64_t g = 0; g < j->s->groups; g++) {
      T *y = j->out + (n * j->s->o + g * z->og) * z->ohw;
      GEMM(0, 0, z->og, z->ohw, z->kk, 1, j->b + g * z->og * z->kk, z->kk,
           CONV_LOCAL(columns)(j, n, g, col), z->ohw, 0, y, z->ohw);
    }
}

static void CONV_LOCAL(data_images)(const CONV_LOCAL(job) * j, int64_t lo, int64_t hi,
                                    int64_t slot) {
  const ConvSizes *z = &j->z;
  T *col = CONV_LOCAL(slot)(j, slot);
  for (int64_t n = lo; n < hi; n++) {
    T *dx_img = j->out + n * z->in_img;
    if (!z->pointwise)
      memset(dx_img, 0, sizeof(T) * (size_t)z->in_img);
    for (int64_t g = 0; g < j->s->groups; g++) {
      const T *dy = j->a + (n * j->s->o + g * z->og) * z->ohw;
      T *dx = dx_img + g * z->in_grp;
      GEMM(1, 0, z->kk, z->ohw, z->og, 1, j->b + g * z->og * z->kk, z->kk, dy, z->ohw, 0,
           z->pointwise ? dx : col, z->ohw);
      if (!z->pointwise)
        CONV_LOCAL(col2im)(j->s, col, dx);
    }
  }
}

/* The filter gradient of images [lo, hi), summed in order into the
 * slot's partial filter. */
static void CONV_LOCAL(filter_images)(const CONV_LOCAL(job) * j, int64_t lo, int64_t hi,
                                      int64_t slot) {
  const ConvSizes *z = &j->z;
  T *col = CONV_LOCAL(slot)(j, slot), *part = CONV_LOCAL(partial)(j, slot);
  for (int64_t n = lo; n < hi; n++)
    for (int64_t g = 0; g < j->s->groups; g++) {
      const T *dy = j->b + (n * j->s->o + g * z->og) * z->ohw;
      GEMM(0, 1, z->og, z->kk, z->ohw, 1, dy, z->ohw, CONV_LOCAL(columns)(j, n, g, col), z->ohw,
           n == lo ? 0 : 1, part + g * z->og * z->kk, z->kk);
    }
}

/* Ranges [lo, hi) of the job's image ranges, each with its own slot. */
static void CONV_LOCAL(run_ranges)(void *ctx, int64_t lo, int64_t hi) {
  const CONV_LOCAL(job) *j = ctx;
  for (int64_t c = lo; c < hi; c++) {
    int64_t a, b;
    nnrt_conv_images(j->s->n, j->chunks, c, &a, &b);
    j->images(j, a, b, c);
  }
}

/* How many image ranges to split over: no more than the slots, and only
 * as many as the work pays for. */
static int64_t CONV_LOCAL(chunks)(const nnrt_conv *s) {
  int64_t k = nnrt_pool_chunks(s->n, conv_work_ns(s));
  return k < NNRT_CONV_SLOTS ? k : NNRT_CONV_SLOTS;
}

void CONV(forward)(const nnrt_conv *s, const T *x, const T *w, T *y, T *scratch) {
  if (s->n <= 0 || CONV_LOCAL(direct_forward)(s, x, w, y, scratch))
    return;
  CONV_LOCAL(job)
  j = {s, conv_sizes(s), x, w, y, scratch, CONV_LOCAL(chunks)(s), CONV_LOCAL(forward_images)};
  nnrt_pool_run(CONV_LOCAL(run_ranges), &j, j.chunks, (int)j.chunks);
}

void CONV(backward_data)(const nnrt_conv *s, const T *dy, const T *w, T *dx, T *scratch) {
  if (s->n <= 0 || CONV_LOCAL(direct_backward_data)(s, dy, w, dx, scratch))
    return;
  CONV_LOCAL(job)
  j = {s, conv_sizes(s), dy, w, dx, scratch, CONV_LOCAL(chunks)(s), CONV_LOCAL(data_images)};
  nnrt_pool_run(CONV_LOCAL(run_ranges), &j, j.chunks, (int)j.chunks);
}

void CONV(backward_filter)(const nnrt_conv *s, const T *x, const T *dy, T *dw, T *scratch) {
  int64_t size = conv_filter_elems(s);
  if (s->n <= 0) {
    memset(dw, 0, sizeof(T) * (size_t)size);
    return;
  }
  if (CONV_LOCAL(direct_backward_filter)(s, x, dy, dw, scratch))
    return;
  CONV_LOCAL(job)
  j = {s, conv_sizes(s), x, dy, dw, scratch, conv_blocks(s), CONV_LOCAL(filter_images)};
  int chunks = nnrt_pool_chunks(j.chunks, conv_work_ns(s));
  nnrt_pool_run(CONV_LOCAL(run_ranges), &j, j.chunks, chunks);
  memcpy(dw, CONV_LOCAL(partial)(&j, 0), sizeof(T) * (size_t)size);
  for (int64_t b = 1; b < j.chunks; b++) {
    const T *p = CONV_LOCAL(partial)(&j, b);
    for (int64_t i = 0; i < size; i++)
      dw[i] += p[i];
  }
}

#undef T
#undef CONV
#undef CONV_LOCAL
#undef GEMM
