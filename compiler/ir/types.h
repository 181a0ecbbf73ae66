/* types.h - dimensions, tensor types and the symbols that name dimensions.
 *
 * A dimension is a monomial: coeff * s1 * s2 * ... over symbolic dimensions
 * (B, T, ...) that are bound when a model's entry point is called. Constant
 * dims have no symbols. This covers what shapes need in practice ([B, 784],
 * [B*T, C], [2*B, D]) while keeping equality a structural comparison. A dim
 * may also be DIM_UNKNOWN: it arises only when a layer is checked generically
 * (its int arguments unknown) and some arithmetic is not a monomial; unknown
 * dims compare equal to anything, so generic checking reports no false
 * errors. All arithmetic is overflow-checked.
 */
#ifndef NNC_TYPES_H
#define NNC_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "dtype.h"

enum { DIM_MAX_SYMS = 4, TYPE_MAX_RANK = 8 };

typedef enum DimKind { DIM_KNOWN, DIM_UNKNOWN } DimKind;

typedef struct Dim {
  DimKind kind;
  int nsyms;
  int64_t coeff;
  int syms[DIM_MAX_SYMS]; /* sorted symbol ids, repeated for powers */
} Dim;

/* A symbolic dimension; `origin` is where it was introduced, for notes. */
typedef struct DimSym {
  const char *name;
  SrcSpan origin;
} DimSym;

typedef struct SymTab {
  Arena *arena;
  DimSym *syms;
  int n, cap;
} SymTab;

int dim_symtab_add(SymTab *t, const char *name, SrcSpan origin);

typedef struct TType {
  DType dtype;
  int rank;
  Dim dims[TYPE_MAX_RANK];
} TType;

Dim dim_const(int64_t v);
Dim dim_sym(int sym);
Dim dim_unknown(void);
bool dim_is_const(Dim d);
bool dim_eq(Dim a, Dim b);
/* Arithmetic: return false when the result overflows or is not a monomial;
 * *why then names the problem for a diagnostic. */
bool dim_mul(Dim a, Dim b, Dim *out, const char **why);
bool dim_div(Dim a, Dim b, Dim *out, const char **why);
bool dim_add(Dim a, Dim b, Dim *out, const char **why);
bool dim_sub(Dim a, Dim b, Dim *out, const char **why);

TType ttype_scalar(DType dt);
bool ttype_eq(const TType *a, const TType *b);
bool ttype_eq_dims(const TType *a, const TType *b); /* same shape, any dtype */
bool dtype_is_float(DType dt);
/* Number of elements as a dim (product of dims); false on overflow. */
bool ttype_numel(const TType *t, Dim *out);

/* Text forms used by diagnostics and printers: "B*T", "f32[B, 784]". */
const char *dim_str(Arena *a, const SymTab *st, Dim d);
const char *ttype_str(Arena *a, const SymTab *st, const TType *t);

#endif
