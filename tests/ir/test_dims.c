/* test_dims.c - the dimension algebra of types.c: canonical sums of
 * monomials, exact division, the limits of a Dim and overflow.
 *
 *   test_dims
 *
 * Prints one line per case, "expression = result" or "expression: error:
 * why", which dims.test checks; the expressions are built with the dim_*
 * functions the compiler uses. Exits 1 when a structural property (equal
 * dims compare equal, a canonical form whatever the order of operations)
 * does not hold.
 */
#include <stdio.h>
#include <string.h>

#include "types.h"

static Arena arena;
static SymTab syms = {.arena = &arena};
static Dim B, T, H, W;
static int failures;

typedef bool (*DimOp)(Dim, Dim, Dim *, const char **);

static Dim k(int64_t v) { return dim_const(v); }

static const char *str(Dim d) { return dim_str(&arena, &syms, d); }

/* a op b, or a poison value after printing why it failed. */
static Dim op(DimOp f, Dim a, Dim b) {
  Dim r;
  const char *why = NULL;
  if (f(a, b, &r, &why))
    return r;
  printf("  (failed: %s)\n", why);
  failures++;
  return dim_unknown();
}
static Dim add(Dim a, Dim b) { return op(dim_add, a, b); }
static Dim sub(Dim a, Dim b) { return op(dim_sub, a, b); }
static Dim mul(Dim a, Dim b) { return op(dim_mul, a, b); }
static Dim divide(Dim a, Dim b) { return op(dim_div, a, b); }

static void show(const char *what, Dim d) { printf("%s = %s\n", what, str(d)); }

/* A failing operation: its reason, spelled out as diagnostics do for `/`. */
static void refuse(const char *what, DimOp f, Dim a, Dim b) {
  Dim r;
  const char *why = NULL;
  if (f(a, b, &r, &why)) {
    printf("%s = %s (expected a failure)\n", what, str(r));
    failures++;
    return;
  }
  if (f == dim_div)
    why = dim_div_why(&arena, &syms, a, b, why);
  printf("%s: error: %s\n", what, why);
}

static void expect(bool ok, const char *what) {
  printf("%s: %s\n", what, ok ? "yes" : "NO");
  failures += !ok;
}

static int64_t at(void *ctx, int sym) { return ((const int64_t *)ctx)[sym]; }

int main(void) {
  arena_init(&arena);
  SrcSpan none = {0};
  B = dim_sym(dim_symtab_add(&syms, "B", none));
  T = dim_sym(dim_symtab_add(&syms, "T", none));
  H = dim_sym(dim_symtab_add(&syms, "H", none));
  W = dim_sym(dim_symtab_add(&syms, "W", none));
  printf("sizeof(Dim) = %zu\n", sizeof(Dim));

  /* the printed forms: monomials as before, sums with their signs */
  show("B*T", mul(B, T));
  show("2*B*T", mul(k(2), mul(T, B)));
  show("T - 1", sub(T, k(1)));
  show("1 - T", sub(k(1), T));
  show("-2*T", mul(T, k(-2)));
  show("B*T + 1", add(mul(B, T), k(1)));
  show("T + B", add(T, B));
  show("B*T + T + 1", add(add(k(1), T), mul(T, B)));
  show("2*H + 4", add(mul(k(2), H), k(4)));
  show("H - W - 3", sub(sub(H, W), k(3)));

  /* canonical: like terms combined, zero terms dropped, order-free */
  show("T + T", add(T, T));
  show("(T + 1) - T", sub(add(T, k(1)), T));
  show("T - T", sub(T, T));
  show("(T + 1)*(T - 1)", mul(add(T, k(1)), sub(T, k(1))));
  show("(B + T)*(B - T)", mul(add(B, T), sub(B, T)));
  expect(dim_eq(add(T, B), add(B, T)), "T + B equals B + T");
  expect(dim_eq(mul(add(T, k(1)), B), add(B, mul(B, T))), "(T + 1)*B equals B + B*T");
  expect(dim_eq(sub(add(H, k(5)), k(5)), H), "(H + 5) - 5 equals H");
  expect(!dim_eq(sub(T, k(1)), add(T, k(1))), "T - 1 differs from T + 1");
  expect(!dim_eq(mul(k(2), T), T), "2*T differs from T");
  expect(dim_eq(sub(T, k(1)), dim_unknown()), "an unknown dim equals T - 1");
  expect(dim_is_const(sub(add(T, k(3)), T)), "(T + 3) - T is a constant");

  /* exact division */
  show("(2*H + 4)/2", divide(add(mul(k(2), H), k(4)), k(2)));
  Dim conv = add(divide(sub(add(H, mul(k(2), k(1))), k(3)), k(1)), k(1)); /* p=1 k=3 s=1 */
  show("(H + 2*1 - 3)/1 + 1", conv);
  show("(H + 2*2 - 4)/2 + 1, H = 2*W", add(divide(sub(add(mul(k(2), W), k(4)), k(4)), k(2)), k(1)));
  show("(B*T + B)/B", divide(add(mul(B, T), B), B));
  show("(B*T - B)/(T - 1)", divide(sub(mul(B, T), B), sub(T, k(1))));
  show("(T*T - 1)/(T + 1)", divide(sub(mul(T, T), k(1)), add(T, k(1))));
  show("(B*T*H)/(T*B)", divide(mul(mul(B, T), H), mul(T, B)));
  show("(6*T - 4)/-2", divide(sub(mul(k(6), T), k(4)), k(-2)));
  refuse("(H - 3)/2", dim_div, sub(H, k(3)), k(2));
  refuse("(B*T + 1)/B", dim_div, add(mul(B, T), k(1)), B);
  refuse("(B + T)/(B - T)", dim_div, add(B, T), sub(B, T));
  refuse("7/2", dim_div, k(7), k(2));
  refuse("2/T", dim_div, k(2), T);
  refuse("T/0", dim_div, T, k(0));

  /* the limits of a Dim: a constant and 3 terms of degree 4 at most */
  show("B*T*H*W", mul(mul(B, T), mul(H, W)));
  show("B + T + H + 1", add(add(B, T), add(H, k(1))));
  refuse("B*T*H*W*B", dim_mul, mul(mul(B, T), mul(H, W)), B);
  refuse("B + T + H + W", dim_add, add(add(B, T), H), W);
  show("(B + 1)*(T + 1)", mul(add(B, k(1)), add(T, k(1))));
  refuse("(B + T)*(H + W)", dim_mul, add(B, T), add(H, W));
  TType big = {.dtype = DT_F32, .rank = 3, .dims = {add(B, k(1)), add(T, k(1)), add(H, k(1))}};
  Dim n;
  const char *why = NULL;
  expect(!ttype_numel(&big, &n, &why) && why && strstr(why, "too many terms"),
         "f32[B + 1, T + 1, H + 1] has no element count");

  /* overflow, in every operation */
  refuse("INT64_MAX*T + T", dim_add, mul(k(INT64_MAX), T), T);
  refuse("INT64_MAX*2", dim_mul, k(INT64_MAX), k(2));
  refuse("(INT64_MIN*T)/-1", dim_div, mul(k(INT64_MIN), T), k(-1));
  refuse("-(INT64_MIN + T)", dim_sub, k(0), add(k(INT64_MIN), T));

  /* evaluation at B = 3, T = 5, H = 7, W = 11 */
  int64_t vals[4] = {3, 5, 7, 11}, v;
  bool ok = dim_eval(add(sub(mul(B, T), B), k(1)), at, vals, &v);
  printf("B*T - B + 1 at B=3 T=5 = %lld%s\n", (long long)v, ok ? "" : " (overflow)");
  int64_t huge[4] = {INT64_MAX / 2 + 1, 3, 1, 1};
  expect(!dim_eval(add(B, B), at, huge, &v) && !dim_eval(mul(B, T), at, huge, &v),
         "evaluation overflow is reported");

  /* what the rest of the compiler asks of a dim */
  expect(dim_as_sym(T) == 1 && dim_as_sym(sub(add(T, k(1)), k(1))) == 1, "T is the symbol T");
  expect(dim_as_sym(mul(k(2), T)) < 0 && dim_as_sym(sub(T, k(1))) < 0, "2*T, T - 1 are not");
  expect(dim_can_be_positive(sub(T, k(1))) && dim_can_be_positive(sub(H, W)),
         "T - 1 and H - W can be positive");
  expect(!dim_can_be_positive(sub(k(1), T)) && !dim_can_be_positive(mul(k(-1), T)) &&
             !dim_can_be_positive(k(0)) && !dim_can_be_positive(sub(sub(k(2), B), T)),
         "1 - T, -T, 0 and 2 - B - T cannot");
  expect(dim_can_be_positive(sub(sub(k(3), B), T)), "3 - B - T can (1 at B = T = 1)");
  expect(dim_is(sub(T, T), 0) && !dim_is(T, 0), "T - T is 0");

  arena_free(&arena);
  printf("%s\n", failures ? "FAILED" : "all dims checks passed");
  return failures ? 1 : 0;
}
