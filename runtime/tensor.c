/* tensor.c - element sizes, element counts and freeing of nnrt_tensor. */
#include "nnrt.h"

#include <stdlib.h>

size_t nnrt_dtype_size(nnrt_dtype dt) {
  switch (dt) {
  case NNRT_F32:
  case NNRT_I32:
    return 4;
  case NNRT_F64:
    return 8;
  case NNRT_BOOL:
    return 1;
  }
  return 0; /* not a dtype: callers treat size 0 as invalid */
}

const char *nnrt_dtype_name(int dt) {
  static const char *const names[] = {"f32", "f64", "i32", "bool"};
  return dt >= 0 && dt < 4 ? names[dt] : "?";
}

/* -1 for a malformed tensor (rank out of range, a negative dimension) or a
 * count that does not fit in int64, so callers need only one check. */
int64_t nnrt_tensor_numel(const nnrt_tensor *t) {
  if (!t || t->rank < 0 || t->rank > NNRT_MAX_RANK)
    return -1;
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    int64_t d = t->dims[i];
    if (d < 0)
      return -1;
    if (d != 0 && n > INT64_MAX / d)
      return -1;
    n *= d;
  }
  return n;
}

void nnrt_tensor_free(nnrt_tensor *t) {
  if (!t)
    return;
  free(t->data);
  t->data = NULL;
  t->rank = 0;
}
