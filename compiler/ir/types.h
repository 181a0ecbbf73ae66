/* types.h - dimensions, tensor types and the symbols that name dimensions.
 *
 * A dimension is a polynomial with integer coefficients over symbolic
 * dimensions (B, T, ...) that are bound when a model's entry point is
 * called: a sum of monomials such as `B*T + 1`, `T - 1`, `2*H + 4`. It is
 * kept in a canonical form (terms in a fixed order, like terms combined,
 * zero terms dropped), so equality stays a structural comparison. This
 * covers what shapes need ([B, 784], [B*T, C], [T - 1, C], a convolution's
 * `(H + 2*p - k)/s + 1` with constant p, k, s) in a small fixed-size value:
 * a constant plus at most DIM_MAX_TERMS products of at most DIM_MAX_DEGREE
 * symbols; arithmetic whose result does not fit fails with a reason, never
 * silently. A dim may also be DIM_UNKNOWN: it arises only when a layer is
 * checked generically (its int arguments unknown); unknown dims compare
 * equal to anything, so generic checking reports no false errors. All
 * arithmetic is overflow-checked.
 */
#ifndef NNC_TYPES_H
#define NNC_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "dtype.h"

/* A Dim stays 64 bytes: a TType holds TYPE_MAX_RANK of them and an IrValue
 * two TTypes. Symbol ids are 16 bits (a module has far fewer symbols;
 * dim_symtab_add refuses more). */
enum {
  DIM_MAX_TERMS = 3,  /* symbolic terms besides the constant */
  DIM_MAX_DEGREE = 4, /* symbols in one term */
  DIM_MAX_SYMBOLS = 65536,
  TYPE_MAX_RANK = 8
};

typedef enum DimKind { DIM_KNOWN, DIM_UNKNOWN } DimKind;

/* coeff * syms[0] * ... * syms[degree - 1]; the degree is in the Dim. */
typedef struct DimTerm {
  int64_t coeff;                 /* never 0 */
  uint16_t syms[DIM_MAX_DEGREE]; /* sorted symbol ids, repeated for powers; unused slots 0 */
} DimTerm;

/* constant + terms[0] + ... + terms[nterms - 1]. Canonical: terms ordered
 * by degree, highest first, then by their symbol lists (so the first term
 * leads in the graded order that exact division uses), no two terms with
 * the same symbols, no zero coefficient. Unused terms are zero. */
typedef struct Dim {
  int64_t constant;
  DimTerm terms[DIM_MAX_TERMS];
  DimKind kind;
  uint8_t nterms;
  uint8_t degree[DIM_MAX_TERMS];
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

/* The new symbol's id, or -1 when the table holds DIM_MAX_SYMBOLS already. */
int dim_symtab_add(SymTab *t, const char *name, SrcSpan origin);

typedef struct TType {
  DType dtype;
  int rank;
  Dim dims[TYPE_MAX_RANK];
} TType;

Dim dim_const(int64_t v);
Dim dim_sym(int sym); /* sym is a symtab id, below DIM_MAX_SYMBOLS */
Dim dim_unknown(void);
bool dim_is_const(Dim d);      /* known and without symbols: its value is d.constant */
bool dim_is(Dim d, int64_t v); /* the constant v */
bool dim_eq(Dim a, Dim b);
/* The symbol id when d is exactly one symbol (B), else -1. */
int dim_as_sym(Dim d);
/* False when d is at most 0 for every positive value of its symbols (a
 * constant <= 0, -T, 1 - T, 2 - B - T): such a dim can never be a size. */
bool dim_can_be_positive(Dim d);
/* Arithmetic: return false when the result overflows, does not fit a Dim
 * or (division) is not a polynomial with integer coefficients; *why then
 * names the problem for a diagnostic. Division is exact division: a / b is
 * the polynomial q with a = b * q when there is one ((2*H + 4)/2 = H + 2,
 * (B*T - B)/(T - 1) = B); dim_div_why says why another is refused. */
bool dim_mul(Dim a, Dim b, Dim *out, const char **why);
extern const char dim_overflow_why[]; /* the *why of overflow */
bool dim_div(Dim a, Dim b, Dim *out, const char **why);
bool dim_add(Dim a, Dim b, Dim *out, const char **why);
bool dim_sub(Dim a, Dim b, Dim *out, const char **why);
/* "(H - 3)/2 is not a whole number for every H": dim_div's refusal of a/b
 * spelled out with the operands, for diagnostics. */
const char *dim_div_why(Arena *ar, const SymTab *st, Dim a, Dim b, const char *why);
/* d's value with each symbol s replaced by value(ctx, s); false when that
 * overflows 64 bits. */
bool dim_eval(Dim d, int64_t (*value)(void *ctx, int sym), void *ctx, int64_t *out);

TType ttype_scalar(DType dt);
bool ttype_eq(const TType *a, const TType *b);
bool ttype_eq_dims(const TType *a, const TType *b); /* same shape, any dtype */
bool ttype_is_constant(const TType *t);             /* every dim a constant */
/* Number of elements as a dim (product of dims); false on overflow or
 * when the product does not fit a Dim ((B + 1)*(T + 1)*(C + 1)), with *why
 * saying which when why is not NULL. */
bool ttype_numel(const TType *t, Dim *out, const char **why);

/* Text forms used by diagnostics and printers: "B*T", "T - 1", "2*H + 4",
 * "f32[B, 784]". */
const char *dim_str(Arena *a, const SymTab *st, Dim d);
const char *ttype_str(Arena *a, const SymTab *st, const TType *t);

#endif
