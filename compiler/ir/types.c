/* types.c - monomial dimension algebra and tensor type helpers; see types.h. */
#include "types.h"

#include <string.h>

int dim_symtab_add(SymTab *t, const char *name, SrcSpan origin) {
  if (t->n == t->cap) {
    int cap = t->cap ? t->cap * 2 : 16;
    t->syms = arena_grow(t->arena, t->syms, (size_t)t->n, (size_t)cap, sizeof *t->syms);
    t->cap = cap;
  }
  t->syms[t->n] = (DimSym){name, origin};
  return t->n++;
}

Dim dim_const(int64_t v) { return (Dim){.kind = DIM_KNOWN, .coeff = v}; }

Dim dim_sym(int sym) {
  Dim d = {.kind = DIM_KNOWN, .coeff = 1, .nsyms = 1};
  d.syms[0] = sym;
  return d;
}

Dim dim_unknown(void) { return (Dim){.kind = DIM_UNKNOWN}; }

bool dim_is_const(Dim d) { return d.kind == DIM_KNOWN && d.nsyms == 0; }

bool dim_eq(Dim a, Dim b) {
  if (a.kind == DIM_UNKNOWN || b.kind == DIM_UNKNOWN)
    return true;
  if (a.coeff != b.coeff || a.nsyms != b.nsyms)
    return false;
  return memcmp(a.syms, b.syms, sizeof(int) * (size_t)a.nsyms) == 0;
}

static void sort_syms(Dim *d) {
  for (int i = 1; i < d->nsyms; i++)
    for (int j = i; j > 0 && d->syms[j - 1] > d->syms[j]; j--) {
      int t = d->syms[j];
      d->syms[j] = d->syms[j - 1];
      d->syms[j - 1] = t;
    }
}

bool dim_mul(Dim a, Dim b, Dim *out, const char **why) {
  if (a.kind == DIM_UNKNOWN || b.kind == DIM_UNKNOWN) {
    *out = dim_unknown();
    return true;
  }
  Dim r = {.kind = DIM_KNOWN};
  if (__builtin_mul_overflow(a.coeff, b.coeff, &r.coeff)) {
    *why = "dimension arithmetic overflows 64 bits";
    return false;
  }
  if (a.nsyms + b.nsyms > DIM_MAX_SYMS) {
    *why = "dimension is a product of too many symbols";
    return false;
  }
  memcpy(r.syms, a.syms, sizeof(int) * (size_t)a.nsyms);
  memcpy(r.syms + a.nsyms, b.syms, sizeof(int) * (size_t)b.nsyms);
  r.nsyms = a.nsyms + b.nsyms;
  if (r.coeff == 0)
    r.nsyms = 0;
  sort_syms(&r);
  *out = r;
  return true;
}

bool dim_div(Dim a, Dim b, Dim *out, const char **why) {
  if (a.kind == DIM_UNKNOWN || b.kind == DIM_UNKNOWN) {
    *out = dim_unknown();
    return true;
  }
  if (b.coeff == 0) {
    *why = "division by zero in a dimension";
    return false;
  }
  if (a.coeff % b.coeff != 0) {
    *why = "dimension does not divide evenly";
    return false;
  }
  Dim r = {.kind = DIM_KNOWN, .coeff = a.coeff / b.coeff};
  bool used[DIM_MAX_SYMS] = {false};
  for (int i = 0; i < b.nsyms; i++) {
    int k = 0;
    while (k < a.nsyms && (used[k] || a.syms[k] != b.syms[i]))
      k++;
    if (k == a.nsyms) {
      *why = "symbolic dimension does not divide evenly";
      return false;
    }
    used[k] = true;
  }
  for (int k = 0; k < a.nsyms; k++)
    if (!used[k])
      r.syms[r.nsyms++] = a.syms[k];
  *out = r;
  return true;
}

static bool dim_add_signed(Dim a, Dim b, bool sub, Dim *out, const char **why) {
  if (a.kind == DIM_UNKNOWN || b.kind == DIM_UNKNOWN) {
    *out = dim_unknown();
    return true;
  }
  bool same_syms = a.nsyms == b.nsyms && !memcmp(a.syms, b.syms, sizeof(int) * (size_t)a.nsyms);
  if (!same_syms && a.coeff != 0 && b.coeff != 0) {
    *why = "only constant dimensions can be added or subtracted";
    return false;
  }
  Dim r = a.coeff == 0 ? b : a;
  int64_t c;
  bool ovf = sub ? __builtin_sub_overflow(a.coeff, b.coeff, &c)
                 : __builtin_add_overflow(a.coeff, b.coeff, &c);
  if (ovf) {
    *why = "dimension arithmetic overflows 64 bits";
    return false;
  }
  r.coeff = c;
  if (c == 0)
    r.nsyms = 0;
  *out = r;
  return true;
}

bool dim_add(Dim a, Dim b, Dim *out, const char **why) {
  return dim_add_signed(a, b, false, out, why);
}
bool dim_sub(Dim a, Dim b, Dim *out, const char **why) {
  return dim_add_signed(a, b, true, out, why);
}

TType ttype_scalar(DType dt) {
  TType t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  return t;
}

bool ttype_eq(const TType *a, const TType *b) {
  return a->dtype == b->dtype && ttype_eq_dims(a, b);
}

bool ttype_eq_dims(const TType *a, const TType *b) {
  if (a->rank != b->rank)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (!dim_eq(a->dims[i], b->dims[i]))
      return false;
  return true;
}

bool dtype_is_float(DType dt) { return dt == DT_F32 || dt == DT_F64; }

bool ttype_numel(const TType *t, Dim *out) {
  Dim n = dim_const(1);
  const char *why;
  for (int i = 0; i < t->rank; i++)
    if (!dim_mul(n, t->dims[i], &n, &why))
      return false;
  *out = n;
  return true;
}

const char *dim_str(Arena *a, const SymTab *st, Dim d) {
  if (d.kind == DIM_UNKNOWN)
    return "?";
  if (d.nsyms == 0)
    return arena_printf(a, "%lld", (long long)d.coeff);
  const char *s = d.coeff == 1 ? "" : arena_printf(a, "%lld*", (long long)d.coeff);
  for (int i = 0; i < d.nsyms; i++)
    s = arena_printf(a, "%s%s%s", s, i ? "*" : "", st->syms[d.syms[i]].name);
  return s;
}

const char *ttype_str(Arena *a, const SymTab *st, const TType *t) {
  const char *s = dtype_name(t->dtype);
  if (t->rank == 0)
    return s;
  s = arena_printf(a, "%s[", s);
  for (int i = 0; i < t->rank; i++)
    s = arena_printf(a, "%s%s%s", s, i ? ", " : "", dim_str(a, st, t->dims[i]));
  return arena_printf(a, "%s]", s);
}
