/* dtype.h - element types, shared by the syntax tree (a type written in a
 * program) and the IR (a value's type), so that neither includes the other. */
#ifndef NNC_DTYPE_H
#define NNC_DTYPE_H

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

#endif
