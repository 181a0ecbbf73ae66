/* augment.c - random crops, shifts and mirror images of training images,
 * applied to a gathered batch (see nnrt_data.h for the exact draws).
 *
 * Each sample's transform is a pure function of (seed, epoch, sample
 * index): the training loop, an executable and a program driving the
 * steps itself (nnrt_model_augment) produce the same batches, and a
 * resumed run the same as one that never stopped.
 */
#include "fileio.h"
#include "nnrt_data.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Draw {
  int64_t dy, dx; /* total movement of the crop and the shift, separately */
  int64_t sy, sx;
  bool flip;
} Draw;

bool nnrt_augment_enabled(const nnrt_augment *a) {
  return a && (a->crop > 0 || a->shift > 0 || a->hflip > 0);
}

/* [0, n) from one 32-bit word (n is small: a bias of n / 2^32 at most). */
static int64_t word_below(uint32_t w, int64_t n) {
  return (int64_t)(((uint64_t)w * (uint64_t)n) >> 32);
}

static Draw draw(const nnrt_augment *a, uint64_t seed, int64_t epoch, int64_t index) {
  uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  uint64_t e = (uint64_t)epoch, i = (uint64_t)index;
  uint32_t w[8];
  for (uint32_t b = 0; b < 2; b++) {
    uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)e, (uint32_t)(e >> 32) * 2 + b};
    nnrt_philox4x32(ctr, key, w + 4 * b);
  }
  Draw d = {0};
  if (a->crop > 0) {
    d.dy = a->crop - word_below(w[0], 2 * a->crop + 1);
    d.dx = a->crop - word_below(w[1], 2 * a->crop + 1);
  }
  if (a->shift > 0) {
    d.sy = word_below(w[2], 2 * a->shift + 1) - a->shift;
    d.sx = word_below(w[3], 2 * a->shift + 1) - a->shift;
  }
  d.flip = a->hflip >= 1 || (a->hflip > 0 && (double)w[4] < a->hflip * 4294967296.0);
  return d;
}

static bool inside(int64_t v, int64_t n) { return v >= 0 && v < n; }

/* out[c, y, x] for the draw: mirrored first (the flip is last, so it reads
 * the moved image mirrored), then back through the shift and the crop;
 * a pixel that either move brought in from outside is fill. */
static void transform(const Draw *d, const float *in, const float *fill, int64_t c, int64_t h,
                      int64_t w, float *out) {
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        int64_t o = (ch * h + y) * w + x;
        int64_t xm = d->flip ? w - 1 - x : x;
        int64_t y1 = y - d->sy, x1 = xm - d->sx;  /* before the shift */
        int64_t y0 = y1 - d->dy, x0 = x1 - d->dx; /* before the crop */
        bool keep = inside(y1, h) && inside(x1, w) && inside(y0, h) && inside(x0, w);
        out[o] = keep ? in[(ch * h + y0) * w + x0] : fill ? fill[o] : 0.0f;
      }
}

int nnrt_augment_check(const nnrt_augment *a, const nnrt_dataset *d, char *err, size_t errlen) {
  if (!a || !d)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "augment: %s is NULL",
                       a ? "the data set" : "the settings");
  const char *which = a->crop > 0 ? "random_crop" : a->shift > 0 ? "shift" : "hflip";
  if (a->crop < 0 || a->shift < 0 || !(a->hflip >= 0 && a->hflip <= 1))
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG,
                       "augment: random_crop %" PRId64 " and shift %" PRId64
                       " must be >= 0 and hflip %g in [0, 1]",
                       a->crop, a->shift, a->hflip);
  if (!nnrt_augment_enabled(a))
    return NNRT_OK;
  if (d->x_dtype != NNRT_F32 || d->x_rank < 2) {
    char shape[256];
    int n = snprintf(shape, sizeof shape, "[");
    for (int i = 0; i < d->x_rank && n < (int)sizeof shape - 32; i++)
      n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%" PRId64, i ? ", " : "", d->x_dims[i]);
    snprintf(shape + n, sizeof shape - (size_t)n, "]");
    return nnrt_errorf(err, errlen, NNRT_ERR_SHAPE,
                       "%s needs image data, f32 samples [H, W] or [C, H, W], but each sample "
                       "is %s %s; give the data section 'image = [C, H, W]'",
                       which, nnrt_dtype_name(d->x_dtype), shape);
  }
  return NNRT_OK;
}

int nnrt_augment_batch(const nnrt_augment *a, const nnrt_dataset *d, uint64_t seed, int64_t epoch,
                       const int64_t *idx, int64_t count, float *x, char *err, size_t errlen) {
  if (!nnrt_augment_enabled(a) || count <= 0)
    return NNRT_OK;
  if (!d || !idx || !x || d->x_rank < 2 || d->x_dtype != NNRT_F32)
    return nnrt_errorf(err, errlen, NNRT_ERR_ARG, "augment: not a batch of f32 images");
  int64_t h = d->x_dims[d->x_rank - 2], w = d->x_dims[d->x_rank - 1];
  if (h <= 0 || w <= 0 || d->x_size <= 0)
    return NNRT_OK;
  int64_t c = d->x_size / (h * w);
  float *in = malloc((size_t)d->x_size * sizeof *in);
  if (!in)
    return nnrt_errorf(err, errlen, NNRT_ERR_NOMEM, "augment: out of memory");
  for (int64_t k = 0; k < count; k++) {
    float *s = x + k * d->x_size;
    Draw dr = draw(a, seed, epoch, idx[k]);
    memcpy(in, s, (size_t)d->x_size * sizeof *in);
    transform(&dr, in, a->fill, c, h, w, s);
  }
  free(in);
  return NNRT_OK;
}
