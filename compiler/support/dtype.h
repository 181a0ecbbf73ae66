/* dtype.h - element types, shared by the syntax tree (a type written in a
 * program) and the IR (a value's type), so that neither includes the other. */
#ifndef NNC_DTYPE_H
#define NNC_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum DType { DT_F32, DT_F64, DT_I32, DT_BOOL } DType;

/* "f32", "f64", "i32", "bool". */
static inline const char *dtype_name(DType t) {
  switch (t) {
  case DT_F32:
    return "f32";
  case DT_F64:
    return "f64";
  case DT_I32:
    return "i32";
  case DT_BOOL:
    return "bool";
  }
  return "?";
}

static inline bool dtype_is_float(DType t) { return t == DT_F32 || t == DT_F64; }

/* Bytes per element. */
static inline int64_t dtype_size(DType t) {
  switch (t) {
  case DT_F32:
  case DT_I32:
    return 4;
  case DT_F64:
    return 8;
  case DT_BOOL:
    return 1;
  }
  return 0;
}

#endif
