/* types.c - polynomial dimension algebra and tensor type helpers; see types.h. */
#include "types.h"

#include <string.h>

int dim_symtab_add(SymTab *t, const char *name, SrcSpan origin) {
  if (t->n == DIM_MAX_SYMBOLS)
    return -1;
  if (t->n == t->cap) {
    int cap = t->cap ? t->cap * 2 : 16;
    t->syms = arena_grow(t->arena, t->syms, (size_t)t->n, (size_t)cap, sizeof *t->syms);
    t->cap = cap;
  }
  t->syms[t->n] = (DimSym){name, origin};
  return t->n++;
}

/* ---- the working form ---------------------------------------------------
 * Arithmetic works on an unpacked polynomial with room for what products
 * and division steps need, then packs the canonical result into a Dim. */

enum { WORK_TERMS = 32, WORK_DEGREE = 2 * DIM_MAX_DEGREE, DIV_MAX_STEPS = 64 };

typedef struct Mono {
  int64_t coeff;
  int degree;
  int syms[WORK_DEGREE]; /* sorted */
} Mono;

typedef struct Poly {
  int n;
  Mono t[WORK_TERMS];
} Poly;

const char dim_overflow_why[] = "dimension arithmetic overflows 64 bits";
static const char *const OVERFLOW = dim_overflow_why;
static const char *const TOO_COMPLEX =
    "dimension expression has too many terms to represent (at most a constant and 3 products "
    "of symbols)";
static const char *const TOO_MANY_SYMS = "dimension is a product of too many symbols";

/* Graded order: higher degree first, then the smaller symbol list. */
static int mono_cmp(const Mono *a, const Mono *b) {
  if (a->degree != b->degree)
    return b->degree - a->degree;
  for (int i = 0; i < a->degree; i++)
    if (a->syms[i] != b->syms[i])
      return a->syms[i] - b->syms[i];
  return 0;
}

static void sort_ints(int *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      int t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
}

static Poly unpack(const Dim *d) {
  Poly p = {0};
  for (int i = 0; i < d->nterms; i++) {
    Mono *m = &p.t[p.n++];
    m->coeff = d->terms[i].coeff;
    m->degree = d->degree[i];
    for (int k = 0; k < m->degree; k++)
      m->syms[k] = d->terms[i].syms[k];
  }
  if (d->constant != 0)
    p.t[p.n++] = (Mono){.coeff = d->constant};
  return p;
}

/* Adds coeff * m to p, combining it with a like term. */
static bool poly_add_mono(Poly *p, const Mono *m, const char **why) {
  for (int i = 0; i < p->n; i++)
    if (!mono_cmp(&p->t[i], m)) {
      if (__builtin_add_overflow(p->t[i].coeff, m->coeff, &p->t[i].coeff)) {
        *why = OVERFLOW;
        return false;
      }
      return true;
    }
  if (p->n == WORK_TERMS) {
    *why = TOO_COMPLEX;
    return false;
  }
  p->t[p->n++] = *m;
  return true;
}

/* Drops zero terms and sorts the rest into the canonical order. */
static void poly_normalise(Poly *p) {
  int n = 0;
  for (int i = 0; i < p->n; i++)
    if (p->t[i].coeff != 0)
      p->t[n++] = p->t[i];
  p->n = n;
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && mono_cmp(&p->t[j - 1], &p->t[j]) > 0; j--) {
      Mono t = p->t[j];
      p->t[j] = p->t[j - 1];
      p->t[j - 1] = t;
    }
}

static bool pack(Poly *p, Dim *out, const char **why) {
  poly_normalise(p);
  Dim d = {.kind = DIM_KNOWN};
  for (int i = 0; i < p->n; i++) {
    const Mono *m = &p->t[i];
    if (m->degree == 0) {
      d.constant = m->coeff;
      continue;
    }
    if (m->degree > DIM_MAX_DEGREE) {
      *why = TOO_MANY_SYMS;
      return false;
    }
    if (d.nterms == DIM_MAX_TERMS) {
      *why = TOO_COMPLEX;
      return false;
    }
    DimTerm *t = &d.terms[d.nterms];
    t->coeff = m->coeff;
    for (int k = 0; k < m->degree; k++)
      t->syms[k] = (uint16_t)m->syms[k];
    d.degree[d.nterms++] = (uint8_t)m->degree;
  }
  *out = d;
  return true;
}

static bool mono_mul(const Mono *a, const Mono *b, Mono *out, const char **why) {
  if (__builtin_mul_overflow(a->coeff, b->coeff, &out->coeff)) {
    *why = OVERFLOW;
    return false;
  }
  if (a->degree + b->degree > WORK_DEGREE) {
    *why = TOO_MANY_SYMS;
    return false;
  }
  out->degree = a->degree + b->degree;
  memcpy(out->syms, a->syms, sizeof(int) * (size_t)a->degree);
  memcpy(out->syms + a->degree, b->syms, sizeof(int) * (size_t)b->degree);
  sort_ints(out->syms, out->degree);
  return true;
}

static const char *const NOT_WHOLE =
    "dimension is not a whole number for every value of its symbols";

/* a / b when b's symbols are a sub-multiset of a's and its coefficient
 * divides a's; false otherwise. */
static bool mono_div(const Mono *a, const Mono *b, Mono *out, const char **why) {
  *why = NOT_WHOLE;
  if (b->coeff == -1 && a->coeff == INT64_MIN) {
    *why = OVERFLOW;
    return false;
  }
  if (b->coeff == 0 || a->coeff % b->coeff != 0 || b->degree > a->degree)
    return false;
  *out = (Mono){.coeff = a->coeff / b->coeff};
  int j = 0;
  for (int i = 0; i < a->degree; i++) {
    if (j < b->degree && a->syms[i] == b->syms[j])
      j++;
    else if (j < b->degree && a->syms[i] > b->syms[j])
      return false; /* b has a symbol a lacks */
    else
      out->syms[out->degree++] = a->syms[i];
  }
  return j == b->degree;
}

static bool poly_mul(const Poly *a, const Poly *b, Poly *out, const char **why) {
  *out = (Poly){0};
  for (int i = 0; i < a->n; i++)
    for (int j = 0; j < b->n; j++) {
      Mono m;
      if (!mono_mul(&a->t[i], &b->t[j], &m, why) || !poly_add_mono(out, &m, why))
        return false;
    }
  poly_normalise(out);
  return true;
}

/* r -= m * b */
static bool poly_sub_mul(Poly *r, const Mono *m, const Poly *b, const char **why) {
  Mono neg = *m;
  if (__builtin_mul_overflow(m->coeff, -1, &neg.coeff)) {
    *why = OVERFLOW;
    return false;
  }
  for (int j = 0; j < b->n; j++) {
    Mono t;
    if (!mono_mul(&neg, &b->t[j], &t, why) || !poly_add_mono(r, &t, why))
      return false;
  }
  poly_normalise(r);
  return true;
}

/* Exact division by the leading terms in the graded order: when a = b * q
 * for a polynomial q with integer coefficients, the leading term of what
 * is left is always a multiple of b's, and each step removes it. */
static bool poly_div(const Poly *a, const Poly *b, Poly *q, const char **why) {
  Poly r = *a;
  *q = (Poly){0};
  for (int step = 0; r.n > 0; step++) {
    Mono m;
    if (step == DIV_MAX_STEPS) {
      *why = TOO_COMPLEX;
      return false;
    }
    if (!mono_div(&r.t[0], &b->t[0], &m, why))
      return false;
    if (!poly_add_mono(q, &m, why) || !poly_sub_mul(&r, &m, b, why))
      return false;
  }
  poly_normalise(q);
  return true;
}

/* ---- dims ------------------------------------------------------------------ */

Dim dim_const(int64_t v) { return (Dim){.kind = DIM_KNOWN, .constant = v}; }

Dim dim_sym(int sym) {
  if (sym < 0 || sym >= DIM_MAX_SYMBOLS)
    NNC_BUG("dimension symbol id %d out of range", sym);
  Dim d = {.kind = DIM_KNOWN, .nterms = 1};
  d.terms[0].coeff = 1;
  d.terms[0].syms[0] = (uint16_t)sym;
  d.degree[0] = 1;
  return d;
}

Dim dim_unknown(void) { return (Dim){.kind = DIM_UNKNOWN}; }

bool dim_is_const(Dim d) { return d.kind == DIM_KNOWN && d.nterms == 0; }

bool dim_is(Dim d, int64_t v) { return dim_is_const(d) && d.constant == v; }

int dim_as_sym(Dim d) {
  if (d.kind != DIM_KNOWN || d.nterms != 1 || d.constant != 0 || d.degree[0] != 1 ||
      d.terms[0].coeff != 1)
    return -1;
  return d.terms[0].syms[0];
}

/* With no positive coefficient d is largest when every symbol is 1. */
bool dim_can_be_positive(Dim d) {
  if (d.kind == DIM_UNKNOWN)
    return true;
  int64_t at_ones = d.constant;
  for (int i = 0; i < d.nterms; i++) {
    if (d.terms[i].coeff > 0)
      return true;
    if (__builtin_add_overflow(at_ones, d.terms[i].coeff, &at_ones))
      return false; /* below INT64_MIN */
  }
  return at_ones > 0;
}

bool dim_eq(Dim a, Dim b) {
  if (a.kind == DIM_UNKNOWN || b.kind == DIM_UNKNOWN)
    return true;
  if (a.constant != b.constant || a.nterms != b.nterms)
    return false;
  for (int i = 0; i < a.nterms; i++)
    if (a.degree[i] != b.degree[i] || a.terms[i].coeff != b.terms[i].coeff ||
        memcmp(a.terms[i].syms, b.terms[i].syms, sizeof a.terms[i].syms) != 0)
      return false;
  return true;
}

bool dim_mul(Dim a, Dim b, Dim *out, const char **why) {
  if (a.kind == DIM_UNKNOWN || b.kind == DIM_UNKNOWN) {
    *out = dim_unknown();
    return true;
  }
  Poly pa = unpack(&a), pb = unpack(&b), r;
  return poly_mul(&pa, &pb, &r, why) && pack(&r, out, why);
}

bool dim_div(Dim a, Dim b, Dim *out, const char **why) {
  if (a.kind == DIM_UNKNOWN || b.kind == DIM_UNKNOWN) {
    *out = dim_unknown();
    return true;
  }
  Poly pa = unpack(&a), pb = unpack(&b), q;
  if (pb.n == 0) {
    *why = "division by zero in a dimension";
    return false;
  }
  return poly_div(&pa, &pb, &q, why) && pack(&q, out, why);
}

static bool dim_add_signed(Dim a, Dim b, bool sub, Dim *out, const char **why) {
  if (a.kind == DIM_UNKNOWN || b.kind == DIM_UNKNOWN) {
    *out = dim_unknown();
    return true;
  }
  Poly r = unpack(&a), pb = unpack(&b);
  for (int i = 0; i < pb.n; i++) {
    Mono m = pb.t[i];
    if (sub && __builtin_mul_overflow(m.coeff, -1, &m.coeff)) {
      *why = OVERFLOW;
      return false;
    }
    if (!poly_add_mono(&r, &m, why))
      return false;
  }
  return pack(&r, out, why);
}

bool dim_add(Dim a, Dim b, Dim *out, const char **why) {
  return dim_add_signed(a, b, false, out, why);
}
bool dim_sub(Dim a, Dim b, Dim *out, const char **why) {
  return dim_add_signed(a, b, true, out, why);
}

bool dim_eval(Dim d, int64_t (*value)(void *ctx, int sym), void *ctx, int64_t *out) {
  if (d.kind != DIM_KNOWN)
    NNC_BUG("evaluating an unknown dimension");
  int64_t v = d.constant;
  bool ok = true;
  for (int i = 0; i < d.nterms; i++) {
    int64_t t = d.terms[i].coeff;
    for (int k = 0; k < d.degree[i]; k++)
      ok &= !__builtin_mul_overflow(t, value(ctx, d.terms[i].syms[k]), &t);
    ok &= !__builtin_add_overflow(v, t, &v);
  }
  *out = v;
  return ok;
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

bool ttype_is_constant(const TType *t) {
  for (int i = 0; i < t->rank; i++)
    if (!dim_is_const(t->dims[i]))
      return false;
  return true;
}

bool ttype_numel(const TType *t, Dim *out, const char **why) {
  Dim n = dim_const(1);
  const char *w = NULL;
  for (int i = 0; i < t->rank; i++)
    if (!dim_mul(n, t->dims[i], &n, &w)) {
      if (why)
        *why = w;
      return false;
    }
  *out = n;
  return true;
}

/* "B*T", "2*H", "-T": a term without its sign when `unsigned_` (the
 * printer writes " - " before it). */
static const char *term_str(Arena *a, const SymTab *st, const DimTerm *t, int degree,
                            bool unsigned_) {
  int64_t c = unsigned_ && t->coeff < 0 ? -t->coeff : t->coeff;
  const char *s = c == 1 ? "" : c == -1 ? "-" : arena_printf(a, "%lld*", (long long)c);
  for (int i = 0; i < degree; i++)
    s = arena_printf(a, "%s%s%s", s, i ? "*" : "", st->syms[t->syms[i]].name);
  return s;
}

const char *dim_str(Arena *a, const SymTab *st, Dim d) {
  if (d.kind == DIM_UNKNOWN)
    return "?";
  if (d.nterms == 0)
    return arena_printf(a, "%lld", (long long)d.constant);
  const char *s = term_str(a, st, &d.terms[0], d.degree[0], false);
  for (int i = 1; i < d.nterms; i++)
    s = arena_printf(a, "%s %c %s", s, d.terms[i].coeff < 0 ? '-' : '+',
                     term_str(a, st, &d.terms[i], d.degree[i], true));
  if (d.constant > 0)
    s = arena_printf(a, "%s + %lld", s, (long long)d.constant);
  else if (d.constant < 0) /* INT64_MIN prints as itself, negated by the text */
    s = arena_printf(a, "%s - %llu", s, 0ull - (unsigned long long)d.constant);
  return s;
}

/* A dim as an operand of `/`: bracketed when it is a sum. */
static const char *operand_str(Arena *a, const SymTab *st, Dim d) {
  const char *s = dim_str(a, st, d);
  bool sum = d.kind == DIM_KNOWN && (d.nterms > 1 || (d.nterms == 1 && d.constant != 0));
  return sum ? arena_printf(a, "(%s)", s) : s;
}

/* "H", "H and W", "B, H and W": the symbols of a and b in id order. */
static const char *symbols_str(Arena *a, const SymTab *st, Dim x, Dim y) {
  int ids[2 * DIM_MAX_TERMS * DIM_MAX_DEGREE], n = 0;
  const Dim *ds[2] = {&x, &y};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < ds[k]->nterms; i++)
      for (int j = 0; j < ds[k]->degree[i]; j++) {
        int id = ds[k]->terms[i].syms[j], seen = 0;
        for (int m = 0; m < n; m++)
          seen |= ids[m] == id;
        if (!seen)
          ids[n++] = id;
      }
  sort_ints(ids, n);
  const char *s = "";
  for (int i = 0; i < n; i++)
    s = arena_printf(a, "%s%s%s", s,
                     i == 0       ? ""
                     : i == n - 1 ? " and "
                                  : ", ",
                     st->syms[ids[i]].name);
  return s;
}

const char *dim_div_why(Arena *ar, const SymTab *st, Dim a, Dim b, const char *why) {
  if (why != NOT_WHOLE)
    return why;
  const char *q = arena_printf(ar, "%s/%s", operand_str(ar, st, a), operand_str(ar, st, b));
  if (dim_is_const(a) && dim_is_const(b))
    return arena_printf(ar, "%s is not a whole number", q);
  return arena_printf(ar, "%s is not a whole number for every %s", q, symbols_str(ar, st, a, b));
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
