/* data_npy.c - a pair of .npy files, x and y, or two arrays of a .npz
 * archive, as a data set (see nnrt_data.h). The arrays are read with
 * nnrt_npy_read or nnrt_npz_read, so their checks (and their messages,
 * which name the file) come first; then the pair must agree on the number
 * of samples and the values are converted:
 *
 *   x  f32 kept, f64 narrowed to f32, i32 kept (token ids); bool is
 *      refused. Float values must be finite.
 *   y  to the label spec's dtype: i32 needs integral values that fit (and
 *      lie in [0, num_classes) when that is set); f32 takes any finite value.
 */
#include "fileio.h"
#include "labels.h"
#include "nnrt_data.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef nnrt_file_ctx Ctx;

/* Element i of t as a double (exact for every dtype nnrt_npy_read gives). */
static double value(const nnrt_tensor *t, int64_t i) {
  switch (t->dtype) {
  case NNRT_F32:
    return ((const float *)t->data)[i];
  case NNRT_F64:
    return ((const double *)t->data)[i];
  case NNRT_I32:
    return ((const int32_t *)t->data)[i];
  case NNRT_BOOL:
    return ((const uint8_t *)t->data)[i];
  }
  return 0;
}

/* Brings x to f32 (or leaves i32), checking that floats are finite. */
static int convert_x(const Ctx *c, nnrt_tensor *t, int64_t count) {
  switch (t->dtype) {
  case NNRT_I32:
    return NNRT_OK;
  case NNRT_BOOL:
    return nnrt_file_fail(c, NNRT_ERR_SHAPE, "x has dtype bool: expected f32, f64 or i32");
  case NNRT_F32: {
    const float *x = t->data;
    for (int64_t i = 0; i < count; i++)
      if (!isfinite(x[i]))
        return nnrt_file_fail(c, NNRT_ERR_FORMAT, "element %" PRId64 " is %g, not a finite number",
                              i, (double)x[i]);
    return NNRT_OK;
  }
  case NNRT_F64: {
    /* In place: float i lands at byte 4i, below double i + 1 at 8i + 8. */
    unsigned char *buf = t->data;
    for (int64_t i = 0; i < count; i++) {
      double v;
      memcpy(&v, buf + 8 * i, 8);
      float w = (float)v;
      if (!isfinite(w)) {
        if (!isfinite(v))
          return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                                "element %" PRId64 " is %g, not a finite number", i, v);
        return nnrt_file_fail(c, NNRT_ERR_FORMAT, "element %" PRId64 " (%g) does not fit in f32", i,
                              v);
      }
      memcpy(buf + 4 * i, &w, 4);
    }
    void *smaller = realloc(buf, count ? (size_t)count * 4 : 1);
    if (smaller)
      t->data = smaller;
    t->dtype = NNRT_F32;
    return NNRT_OK;
  }
  }
  return nnrt_file_fail(c, NNRT_ERR_SHAPE, "unknown dtype %d", (int)t->dtype);
}

/* Converts the labels of t into a new buffer *out of ys->dtype. */
static int convert_y(const Ctx *c, const nnrt_tensor *t, int64_t count, const nnrt_label_spec *ys,
                     void **out) {
  void *y = malloc(count ? (size_t)count * 4 : 1); /* i32 and f32: 4 bytes */
  if (!y)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for %" PRId64 " labels", count);
  for (int64_t i = 0; i < count; i++) {
    int rc = nnrt_store_label(c, ys, value(t, i), i, y);
    if (rc != NNRT_OK) {
      free(y);
      return rc;
    }
  }
  *out = y;
  return NNRT_OK;
}

/* Per-sample dims (dims[1:]) and their product. */
static int64_t sample_shape(const nnrt_tensor *t, int *rank, int64_t *dims) {
  int64_t size = 1;
  *rank = t->rank - 1;
  for (int i = 1; i < t->rank; i++) {
    dims[i - 1] = t->dims[i];
    size *= t->dims[i]; /* cannot overflow: nnrt_npy_read checked the total */
  }
  return size;
}

/* The arrays' names in messages: their paths, or "data.npz: x.npy". */
typedef struct Names {
  Ctx x, y;
  const char *xname; /* x as the message about y's count calls it */
} Names;

/* Takes tx and ty (read, not yet checked) into *out; frees what it does
 * not keep. */
static int from_tensors(const Names *nm, nnrt_tensor *tx, nnrt_tensor *ty,
                        const nnrt_label_spec *ys, nnrt_dataset *out) {
  const Ctx *cx = &nm->x, *cy = &nm->y;
  void *yv = NULL;
  int rc = NNRT_OK;
  if (tx->rank < 1) {
    rc = nnrt_file_fail(cx, NNRT_ERR_SHAPE, "x is a scalar: expected an array [n, ...] of samples");
    goto done;
  }
  if (ty->rank < 1) {
    rc = nnrt_file_fail(cy, NNRT_ERR_SHAPE, "y is a scalar: expected an array [n, ...] of labels");
    goto done;
  }
  if (tx->dims[0] == 0) {
    rc = nnrt_file_fail(cx, NNRT_ERR_FORMAT, "no samples (the first dim is 0)");
    goto done;
  }
  if (ty->dims[0] != tx->dims[0]) {
    rc = nnrt_file_fail(cy, NNRT_ERR_SHAPE, "%" PRId64 " %s, but %s has %" PRId64 " %s",
                        ty->dims[0], nnrt_plural(ty->dims[0], "label", "labels"), nm->xname,
                        tx->dims[0], nnrt_plural(tx->dims[0], "sample", "samples"));
    goto done;
  }
  int xr = 0, yr = 0;
  int64_t xd[NNRT_MAX_RANK] = {0}, yd[NNRT_MAX_RANK] = {0};
  int64_t xs = sample_shape(tx, &xr, xd), ysz = sample_shape(ty, &yr, yd);
  rc = convert_x(cx, tx, tx->dims[0] * xs);
  if (rc != NNRT_OK)
    goto done;
  rc = convert_y(cy, ty, ty->dims[0] * ysz, ys, &yv);
  if (rc != NNRT_OK)
    goto done;
  out->n = tx->dims[0];
  out->x_dtype = tx->dtype;
  out->x_rank = xr;
  memcpy(out->x_dims, xd, sizeof xd);
  out->x_size = xs;
  out->x = tx->data;
  tx->data = NULL;
  out->y_dtype = ys->dtype;
  out->y_rank = yr;
  memcpy(out->y_dims, yd, sizeof yd);
  out->y_size = ysz;
  out->y = yv;
  yv = NULL;
done:
  free(yv);
  nnrt_tensor_free(tx);
  nnrt_tensor_free(ty);
  return rc;
}

int nnrt_load_npy_pair(const char *x, const char *y, const nnrt_label_spec *ys, nnrt_dataset *out,
                       char *err, size_t errlen) {
  Names nm = {{x ? x : "(null)", err, errlen}, {y ? y : "(null)", err, errlen}, x};
  if (!x || !y || !ys || !out)
    return nnrt_file_fail(&nm.x, NNRT_ERR_ARG, "%s is NULL",
                          !x    ? "x path"
                          : !y  ? "y path"
                          : !ys ? "label spec"
                                : "output");
  memset(out, 0, sizeof *out);
  int rc = nnrt_check_label_spec(&nm.y, ys);
  if (rc != NNRT_OK)
    return rc;
  nnrt_tensor tx = {0}, ty = {0};
  rc = nnrt_npy_read(x, &tx, err, errlen);
  if (rc != NNRT_OK)
    return rc;
  rc = nnrt_npy_read(y, &ty, err, errlen);
  if (rc != NNRT_OK) {
    nnrt_tensor_free(&tx);
    return rc;
  }
  return from_tensors(&nm, &tx, &ty, ys, out);
}

int nnrt_load_npz(const char *path, const char *xkey, const char *ykey, const nnrt_label_spec *ys,
                  nnrt_dataset *out, char *err, size_t errlen) {
  Ctx c = {path ? path : "(null)", err, errlen};
  if (!path || !xkey || !ykey || !ys || !out)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "%s is NULL",
                          !path   ? "path"
                          : !xkey ? "x key"
                          : !ykey ? "y key"
                          : !ys   ? "label spec"
                                  : "output");
  memset(out, 0, sizeof *out);
  char *xname = nnrt_npz_member_name(path, xkey), *yname = nnrt_npz_member_name(path, ykey);
  Names nm = {{xname, err, errlen}, {yname, err, errlen}, NULL};
  nnrt_tensor tx = {0}, ty = {0};
  int rc = !xname || !yname ? nnrt_file_fail(&c, NNRT_ERR_NOMEM, "out of memory")
                            : nnrt_check_label_spec(&nm.y, ys);
  if (rc == NNRT_OK)
    rc = nnrt_npz_read(path, xkey, &tx, err, errlen);
  if (rc == NNRT_OK)
    rc = nnrt_npz_read(path, ykey, &ty, err, errlen);
  if (rc == NNRT_OK) {
    nm.xname = xname + strlen(path) + 2; /* "x.npy" without the path */
    rc = from_tensors(&nm, &tx, &ty, ys, out);
  }
  nnrt_tensor_free(&tx); /* when a read failed; from_tensors frees both */
  nnrt_tensor_free(&ty);
  free(xname);
  free(yname);
  return rc;
}
