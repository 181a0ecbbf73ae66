/* labels.c - label checks shared by the IDX, .npy and CSV loaders. */
#include "labels.h"

#include <inttypes.h>
#include <math.h>

int nnrt_check_label_spec(const nnrt_file_ctx *c, const nnrt_label_spec *ys) {
  if (ys->dtype != NNRT_I32 && ys->dtype != NNRT_F32)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "label dtype %d is neither i32 nor f32", (int)ys->dtype);
  if (ys->num_classes < 0)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "num_classes %" PRId64 " is negative", ys->num_classes);
  if (ys->dtype == NNRT_I32 && ys->num_classes > (int64_t)INT32_MAX + 1)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "num_classes %" PRId64 " does not fit in i32",
                          ys->num_classes);
  return NNRT_OK;
}

int nnrt_store_label(const nnrt_file_ctx *c, const nnrt_label_spec *ys, double v, int64_t i,
                     void *y) {
  if (!isfinite(v))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "label %g at index %" PRId64 " is not a finite number", v, i);
  if (ys->dtype == NNRT_F32) {
    float w = (float)v;
    if (!isfinite(w))
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "label %g at index %" PRId64 " does not fit in f32",
                            v, i);
    ((float *)y)[i] = w;
    return NNRT_OK;
  }
  if (v != floor(v))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "label %g at index %" PRId64 " is not an integer", v,
                          i);
  if (v < INT32_MIN || v > INT32_MAX)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "label %g at index %" PRId64 " does not fit in i32",
                          v, i);
  int32_t k = (int32_t)v;
  if (ys->num_classes > 0 && (k < 0 || k >= ys->num_classes))
    return nnrt_file_fail(
        c, NNRT_ERR_FORMAT,
        "label %" PRId32 " at index %" PRId64 " is outside the %" PRId64 " %s 0..%" PRId64, k, i,
        ys->num_classes, nnrt_plural(ys->num_classes, "class", "classes"), ys->num_classes - 1);
  ((int32_t *)y)[i] = k;
  return NNRT_OK;
}
