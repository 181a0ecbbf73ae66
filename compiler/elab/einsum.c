/* einsum.c - einsum("bij,bjk->bik", a, b) elaborated into ops the back
 * end already has: sums, transposes, reshapes and a (batched) matmul, or a
 * broadcast multiply and a sum when nothing is both contracted and free.
 *
 * For two operands the labels fall into four groups: batch (in both and in
 * the output), contracted (in both, not in the output), free on the left or
 * on the right (in one and in the output); a label in one operand only and
 * not in the output is summed away first. Each operand is transposed to
 * [batch, free, contracted] (the right one to [batch, contracted, free]),
 * its free and contracted groups merged into one axis each, multiplied as
 * [batch.., M, K] @ [batch.., K, N] and split back; a swap of the last two
 * axes costs nothing (GEMM reads it through its trans flag), so
 * `bhqd,bhkd->bhqk` is one batched GEMM. The result is transposed to the
 * output's order. Gradients come from those ops' rules.
 *
 * Not supported, each with its own message: more than two operands, `...`,
 * a label twice in one operand (diagonals). */
#include <string.h>

#include "lower.h"

enum { MAX_OPERANDS = 2, MAX_LABELS = 52 };

typedef struct Term {
  char labels[TYPE_MAX_RANK + 1];
  int n;
  int at; /* offset of its first label in the equation */
} Term;

typedef struct Einsum {
  Elab *e;
  Frame *f;
  const AstNode *eq; /* the string literal */
  const char *text;
  SrcSpan loc; /* the call */
  Term in[MAX_OPERANDS], out;
  int nin;
  bool explicit_out;
  IrValue *x[MAX_OPERANDS];
  Dim size[128]; /* per label character */
  bool bound[128];
} Einsum;

/* The caret under character i of the equation when the literal is on one
 * line with no escapes; else the whole literal. */
static SrcSpan char_loc(const Einsum *s, int i) {
  SrcSpan l = s->eq->loc;
  int len = (int)strlen(s->text);
  if (l.first_line != l.last_line || l.last_column - l.first_column + 1 != len + 2)
    return l;
  l.first_column += 1 + i;
  l.last_column = l.first_column;
  return l;
}

static bool is_label(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* An error at character i of the equation; `msg` may name label c once
 * (as %c). */
static bool fail_at(Einsum *s, int i, const char *msg, char c) {
  const char *text = strstr(msg, "%c") ? arena_printf(s->e->arena, msg, c) : msg;
  diag_error(s->e->diag, char_loc(s, i), "%s", text);
  return false;
}

/* One term: labels up to ',', '-' or the end; spaces are skipped. */
static bool parse_term(Einsum *s, int *i, Term *t) {
  const char *q = s->text;
  t->n = 0;
  t->at = *i;
  for (; q[*i] && q[*i] != ',' && q[*i] != '-'; (*i)++) {
    char c = q[*i];
    if (c == ' ')
      continue;
    if (c == '.')
      return fail_at(s, *i, "einsum: '...' (broadcast dims) is not supported", c);
    if (!is_label(c))
      return fail_at(s, *i, "einsum: '%c' is not a subscript label (a letter a-z or A-Z)", c);
    if (t->n == TYPE_MAX_RANK)
      return fail_at(s, *i, "einsum: a term has more labels than a tensor has dimensions", c);
    for (int k = 0; k < t->n; k++)
      if (t->labels[k] == c)
        return fail_at(s, *i,
                       t == &s->out ? "einsum: label '%c' appears twice in the output"
                                    : "einsum: label '%c' appears twice in one term: diagonals "
                                      "and traces are not supported",
                       c);
    t->labels[t->n++] = c;
  }
  t->labels[t->n] = 0;
  return true;
}

static bool parse(Einsum *s) {
  const char *q = s->text;
  int i = 0;
  s->nin = 0;
  for (;;) {
    if (s->nin == MAX_OPERANDS)
      return fail_at(s, i - 1, "einsum: at most two operands are supported", 0);
    if (!parse_term(s, &i, &s->in[s->nin++]))
      return false;
    if (q[i] != ',')
      break;
    i++;
  }
  s->explicit_out = q[i] == '-';
  if (s->explicit_out) {
    if (q[i + 1] != '>')
      return fail_at(s, i, "einsum: expected '->' before the output labels", 0);
    i += 2;
    if (!parse_term(s, &i, &s->out))
      return false;
    if (q[i])
      return fail_at(s, i, "einsum: unexpected '%c' after the output labels", q[i]);
  }
  return true;
}

static int count_in(const Term *t, char c) {
  int n = 0;
  for (int k = 0; k < t->n; k++)
    n += t->labels[k] == c;
  return n;
}

static int pos_in(const Term *t, char c) {
  for (int k = 0; k < t->n; k++)
    if (t->labels[k] == c)
      return k;
  return -1;
}

/* NumPy's implicit output: the labels used once, in alphabetical order. */
static void implicit_output(Einsum *s) {
  s->out.n = 0;
  for (int c = 'A'; c <= 'z'; c++) {
    int n = 0;
    for (int j = 0; j < s->nin; j++)
      n += count_in(&s->in[j], (char)c);
    if (n == 1 && is_label((char)c))
      s->out.labels[s->out.n++] = (char)c;
  }
  s->out.labels[s->out.n] = 0;
  s->out.at = (int)strlen(s->text);
}

static const char *ty(Einsum *s, const TType *t) {
  return ttype_str(s->e->arena, s->e->mod->syms, t);
}

/* Every operand's rank matches its term, every label one size, every
 * output label comes from an operand. */
static bool bind_labels(Einsum *s, int nx) {
  if (nx != s->nin) {
    diag_error(s->e->diag, s->eq->loc,
               "einsum: the equation has %d operand term%s but %d tensor%s given", s->nin,
               s->nin == 1 ? "" : "s", nx, nx == 1 ? " is" : "s are");
    return false;
  }
  for (int j = 0; j < s->nin; j++) {
    const Term *t = &s->in[j];
    const TType *xt = &s->x[j]->type;
    if (t->n != xt->rank) {
      diag_error(s->e->diag, char_loc(s, t->at),
                 "einsum: term %d has %d label%s but operand %d is %s (rank %d)", j + 1, t->n,
                 t->n == 1 ? "" : "s", j + 1, ty(s, xt), xt->rank);
      return false;
    }
    for (int k = 0; k < t->n; k++) {
      int c = t->labels[k];
      Dim d = xt->dims[k];
      if (s->bound[c] && !dim_eq(s->size[c], d)) {
        Arena *a = s->e->arena;
        diag_error(s->e->diag, char_loc(s, t->at + k),
                   "einsum: label '%c' is %s here (axis %d of operand %d, %s) but %s before", c,
                   dim_str(a, s->e->mod->syms, d), k, j + 1, ty(s, xt),
                   dim_str(a, s->e->mod->syms, s->size[c]));
        return false;
      }
      s->size[c] = d;
      s->bound[c] = true;
    }
  }
  for (int k = 0; k < s->out.n; k++)
    if (!s->bound[(int)s->out.labels[k]])
      return fail_at(s, s->out.at + k, "einsum: output label '%c' appears in no operand",
                     s->out.labels[k]);
  return true;
}

/* ---- building the ops ---- */

static IrValue *emit(Einsum *s, OpKind op, IrValue **args, int n, const IrAttrs *at) {
  return lower_emit_op(s->e, s->f, op, args, n, s->loc, at);
}

/* x (labelled `have`) transposed to the order `want` (same labels). */
static IrValue *permute(Einsum *s, IrValue *x, const Term *have, const char *want) {
  IrAttrs at = {.layout = {.has_perm = true, .infer_axis = -1}};
  bool identity = true;
  for (int k = 0; k < have->n; k++) {
    at.layout.perm[k] = pos_in(have, want[k]);
    identity &= at.layout.perm[k] == k;
  }
  return identity || !x ? x : emit(s, OP_TRANSPOSE, &x, 1, &at);
}

static IrValue *reshape_to(Einsum *s, IrValue *x, const Dim *dims, int rank) {
  if (!x)
    return NULL;
  TType target = {.rank = rank};
  IrAttrs at = {.layout = {.target = &target, .infer_axis = -1}};
  bool same = rank == x->type.rank;
  for (int k = 0; k < rank; k++) {
    target.dims[k] = dims[k];
    same = same && dim_eq(dims[k], x->type.dims[k]) && dims[k].kind == x->type.dims[k].kind;
  }
  return same ? x : emit(s, OP_RESHAPE, &x, 1, &at);
}

/* Sums x over the axes whose labels `keep` rejects; t becomes the rest. */
static IrValue *sum_labels(Einsum *s, IrValue *x, Term *t, const Term *other) {
  IrAttrs at = {.reduce = {.naxes = 0}};
  Term kept = {.at = t->at};
  for (int k = 0; k < t->n; k++) {
    char c = t->labels[k];
    if (pos_in(&s->out, c) < 0 && (!other || pos_in(other, c) < 0))
      at.reduce.axes[at.reduce.naxes++] = k;
    else
      kept.labels[kept.n++] = c;
  }
  kept.labels[kept.n] = 0;
  *t = kept;
  return at.reduce.naxes && x ? emit(s, OP_SUM, &x, 1, &at) : x;
}

static Dim product(Einsum *s, const char *labels, int n) {
  Dim d = dim_const(1);
  const char *why = NULL;
  for (int k = 0; k < n; k++)
    if (!dim_mul(d, s->size[(int)labels[k]], &d, &why))
      return (Dim){.kind = DIM_UNKNOWN};
  return d;
}

typedef struct Groups {
  char batch[MAX_LABELS], con[MAX_LABELS], af[MAX_LABELS], bf[MAX_LABELS];
  int nb, nc, na, nf;
} Groups;

static void group(const Einsum *s, const Term *a, const Term *b, Groups *g) {
  memset(g, 0, sizeof *g);
  for (int k = 0; k < s->out.n; k++) {
    char c = s->out.labels[k];
    bool ina = pos_in(a, c) >= 0, inb = pos_in(b, c) >= 0;
    if (ina && inb)
      g->batch[g->nb++] = c;
    else if (ina)
      g->af[g->na++] = c;
    else
      g->bf[g->nf++] = c;
  }
  for (int k = 0; k < a->n; k++)
    if (pos_in(b, a->labels[k]) >= 0 && pos_in(&s->out, a->labels[k]) < 0)
      g->con[g->nc++] = a->labels[k];
}

static int concat(char *dst, const char *x, int nx, const char *y, int ny, const char *z, int nz) {
  memcpy(dst, x, (size_t)nx);
  memcpy(dst + nx, y, (size_t)ny);
  memcpy(dst + nx + ny, z, (size_t)nz);
  dst[nx + ny + nz] = 0;
  return nx + ny + nz;
}

static void label_dims(Einsum *s, const char *labels, int n, Dim *dims) {
  for (int k = 0; k < n; k++)
    dims[k] = s->size[(int)labels[k]];
}

/* The dims of labels `order`, with `ones` axes of size 1 inserted at
 * position `at`: an operand laid out for broadcasting against the other. */
static int spread_dims(Einsum *s, const char *order, int n, int at, int ones, Dim *dims) {
  int r = 0;
  for (int k = 0; k <= n; k++) {
    if (k == at)
      for (int j = 0; j < ones; j++)
        dims[r++] = dim_const(1);
    if (k < n)
      dims[r++] = s->size[(int)order[k]];
  }
  return r;
}

/* Nothing both contracted and free: a * b broadcast over
 * [batch, afree, bfree, contracted], then summed over the contracted. */
static IrValue *by_multiply(Einsum *s, IrValue *a, const Term *ta, IrValue *b, const Term *tb,
                            const Groups *g) {
  char order[TYPE_MAX_RANK + 1];
  Dim dims[TYPE_MAX_RANK + 1];
  int n = concat(order, g->batch, g->nb, g->af, g->na, g->con, g->nc);
  a = permute(s, a, ta, order);
  a = reshape_to(s, a, dims, spread_dims(s, order, n, g->nb + g->na, g->nf, dims));
  n = concat(order, g->batch, g->nb, g->bf, g->nf, g->con, g->nc);
  b = permute(s, b, tb, order);
  b = reshape_to(s, b, dims, spread_dims(s, order, n, g->nb, g->na, dims));
  if (!a || !b)
    return NULL;
  IrValue *xs[2] = {a, b};
  IrValue *p = emit(s, OP_MUL, xs, 2, NULL);
  if (!g->nc || !p)
    return p;
  IrAttrs at = {.reduce = {.naxes = 0}};
  for (int k = 0; k < g->nc; k++)
    at.reduce.axes[at.reduce.naxes++] = g->nb + g->na + g->nf + k;
  return emit(s, OP_SUM, &p, 1, &at);
}

/* [batch, M, K] @ [batch, K, N] with M, K, N merged label groups. */
static IrValue *by_matmul(Einsum *s, IrValue *a, const Term *ta, IrValue *b, const Term *tb,
                          const Groups *g) {
  char order[TYPE_MAX_RANK + 1];
  Dim dims[TYPE_MAX_RANK + 2];
  concat(order, g->batch, g->nb, g->af, g->na, g->con, g->nc);
  a = permute(s, a, ta, order);
  label_dims(s, g->batch, g->nb, dims);
  dims[g->nb] = product(s, g->af, g->na);
  dims[g->nb + 1] = product(s, g->con, g->nc);
  a = reshape_to(s, a, dims, g->nb + 2);
  concat(order, g->batch, g->nb, g->con, g->nc, g->bf, g->nf);
  b = permute(s, b, tb, order);
  dims[g->nb] = product(s, g->con, g->nc);
  dims[g->nb + 1] = product(s, g->bf, g->nf);
  b = reshape_to(s, b, dims, g->nb + 2);
  if (!a || !b)
    return NULL;
  IrValue *xs[2] = {a, b};
  IrValue *p = emit(s, OP_MATMUL, xs, 2, NULL);
  int n = concat(order, g->batch, g->nb, g->af, g->na, g->bf, g->nf);
  label_dims(s, order, n, dims);
  return reshape_to(s, p, dims, n);
}

static IrValue *two_operands(Einsum *s) {
  Term ta = s->in[0], tb = s->in[1];
  IrValue *a = sum_labels(s, s->x[0], &ta, &s->in[1]);
  IrValue *b = sum_labels(s, s->x[1], &tb, &s->in[0]);
  Groups g;
  group(s, &ta, &tb, &g);
  if (g.nb + g.na + g.nf + g.nc > TYPE_MAX_RANK) {
    diag_error(s->e->diag, s->eq->loc, "einsum: more than %d distinct labels", TYPE_MAX_RANK);
    return NULL;
  }
  bool matmul = g.nc > 0 && g.na + g.nf > 0;
  IrValue *r = matmul ? by_matmul(s, a, &ta, b, &tb, &g) : by_multiply(s, a, &ta, b, &tb, &g);
  Term have = {.n = 0};
  have.n = concat(have.labels, g.batch, g.nb, g.af, g.na, g.bf, g.nf);
  return permute(s, r, &have, s->out.labels);
}

static IrValue *one_operand(Einsum *s) {
  Term t = s->in[0];
  IrValue *x = sum_labels(s, s->x[0], &t, NULL);
  return permute(s, x, &t, s->out.labels);
}

Val builtin_einsum(Elab *e, Frame *f, const AstNode *eq, IrValue **xs, int nx, SrcSpan loc) {
  Val err = {.kind = VAL_ERROR};
  if (eq->kind != AST_STRING) {
    diag_error(e->diag, eq->loc,
               "einsum expects its equation as a string literal, e.g. \"bij,bjk->bik\"");
    return err;
  }
  Einsum s = {.e = e, .f = f, .eq = eq, .text = eq->u.string_lit.value, .loc = loc};
  for (int j = 0; j < nx && j < MAX_OPERANDS; j++)
    s.x[j] = xs[j];
  if (!parse(&s))
    return err;
  if (!s.explicit_out)
    implicit_output(&s);
  if (!bind_labels(&s, nx))
    return err;
  IrValue *r = s.nin == 1 ? one_operand(&s) : two_operands(&s);
  return r ? (Val){.kind = VAL_TENSOR, .t = r} : err;
}
