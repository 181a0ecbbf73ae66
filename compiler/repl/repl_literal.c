/* repl_literal.c - tensor literals and constructors at the REPL; see
 * repl_literal.h. Arguments of constructors must be constants. */
#include "repl.h"

#include <stdlib.h>
#include <string.h>

#include "nnrt_data.h"
#include "types.h"

/* Large enough for anything typed; keeps allocations sane on any input. */
enum { LITERAL_MAX_ELEMS = 1 << 26 };

static bool const_number(const AstNode *n, double *v, bool *is_int) {
  bool neg = false;
  while (n->kind == AST_UNARY && n->u.unary.op == UN_NEG) {
    neg = !neg;
    n = n->u.unary.operand;
  }
  if (n->kind == AST_INT)
    *v = (double)n->u.int_lit.value, *is_int = true;
  else if (n->kind == AST_FLOAT)
    *v = n->u.float_lit.value, *is_int = false;
  else
    return false;
  *v = neg ? -*v : *v;
  return true;
}

static bool alloc_tensor(Program *p, const AstNode *at, nnrt_tensor *t) {
  int64_t n = nnrt_tensor_numel(t);
  if (n < 0 || n > LITERAL_MAX_ELEMS) {
    diag_error(p->diag, at->loc, "tensor is too large (at most %d elements)", LITERAL_MAX_ELEMS);
    return false;
  }
  t->data = calloc((size_t)n + 1, nnrt_dtype_size(t->dtype));
  if (!t->data)
    arena_fatal("out of memory");
  return true;
}

/* ----------------------------------------------------- list literals */

/* The shape of a nested list, from its first elements. */
static bool list_shape(Program *p, const AstNode *n, nnrt_tensor *t) {
  t->rank = 0;
  while (n->kind == AST_LIST) {
    if (t->rank == NNRT_MAX_RANK || t->rank == TYPE_MAX_RANK || !n->u.list.items.len) {
      diag_error(p->diag, n->loc,
                 n->u.list.items.len ? "tensor literal has too many axes"
                                     : "tensor literal is empty");
      return false;
    }
    t->dims[t->rank++] = n->u.list.items.len;
    n = n->u.list.items.items[0];
  }
  t->dtype = n->kind == AST_BOOL ? NNRT_BOOL : NNRT_F32;
  return true;
}

static bool fill_list(Program *p, const AstNode *n, nnrt_tensor *t, int axis, int64_t *k) {
  if (axis == t->rank) {
    double v;
    bool is_int;
    if (t->dtype == NNRT_BOOL && n->kind == AST_BOOL) {
      ((uint8_t *)t->data)[(*k)++] = n->u.bool_lit.value;
      return true;
    }
    if (t->dtype == NNRT_F32 && const_number(n, &v, &is_int)) {
      ((float *)t->data)[(*k)++] = (float)v;
      return true;
    }
    diag_error(p->diag, n->loc, "expected %s in a tensor literal",
               t->dtype == NNRT_BOOL ? "true or false" : "a number");
    return false;
  }
  if (n->kind != AST_LIST || n->u.list.items.len != t->dims[axis]) {
    diag_error(p->diag, n->loc, "tensor literal is not rectangular: expected a list of %lld",
               (long long)t->dims[axis]);
    return false;
  }
  for (int i = 0; i < n->u.list.items.len; i++)
    if (!fill_list(p, n->u.list.items.items[i], t, axis + 1, k))
      return false;
  return true;
}

static bool eval_list(Program *p, const AstNode *n, nnrt_tensor *t) {
  int64_t k = 0;
  return list_shape(p, n, t) && alloc_tensor(p, n, t) && fill_list(p, n, t, 0, &k);
}

/* ------------------------------------------------------ constructors */

/* A shape: [2, 3] or a single size. */
static bool shape_arg(Program *p, const AstNode *n, nnrt_tensor *t) {
  const AstNode *one[1] = {n};
  const AstNode *const *items =
      n->kind == AST_LIST ? (const AstNode *const *)n->u.list.items.items : one;
  int len = n->kind == AST_LIST ? n->u.list.items.len : 1;
  if (len > NNRT_MAX_RANK || len > TYPE_MAX_RANK) {
    diag_error(p->diag, n->loc, "too many axes");
    return false;
  }
  t->rank = len;
  for (int i = 0; i < len; i++) {
    double v;
    bool is_int;
    if (!const_number(items[i], &v, &is_int) || !is_int || v < 1 || v > LITERAL_MAX_ELEMS) {
      diag_error(p->diag, items[i]->loc, "a size must be a positive integer constant");
      return false;
    }
    t->dims[i] = (int64_t)v;
  }
  return true;
}

static const AstNode *kwarg(const AstNode *call, const char *key) {
  const PtrVec *args = &call->u.call.args;
  for (int i = 0; i < args->len; i++) {
    const AstNode *a = args->items[i];
    if (a->kind == AST_KWARG && !strcmp(a->u.kwarg.key, key))
      return a->u.kwarg.value;
  }
  return NULL;
}

static int positional(const AstNode *call) {
  int n = 0;
  for (int i = 0; i < call->u.call.args.len; i++)
    n += ((const AstNode *)call->u.call.args.items[i])->kind != AST_KWARG;
  return n;
}

static bool eval_fill(Program *p, const AstNode *call, nnrt_tensor *t, nnrt_init_kind kind) {
  const AstNode *seed = kwarg(call, "seed");
  double s = 0;
  bool is_int = true;
  if (seed && (!const_number(seed, &s, &is_int) || !is_int || s < 0)) {
    diag_error(p->diag, seed->loc, "seed must be a non-negative integer");
    return false;
  }
  t->dtype = NNRT_F32;
  if (!shape_arg(p, call->u.call.args.items[0], t) || !alloc_tensor(p, call, t))
    return false;
  nnrt_rng rng;
  nnrt_rng_seed(&rng, (uint64_t)s);
  char err[256];
  if (nnrt_init_tensor(&rng, kind, 0, 1, t, err, sizeof err)) {
    diag_error(p->diag, call->loc, "%s", err);
    return false;
  }
  return true;
}

static bool eval_arange(Program *p, const AstNode *call, nnrt_tensor *t) {
  t->dtype = NNRT_F32;
  if (!shape_arg(p, call->u.call.args.items[0], t) || !alloc_tensor(p, call, t))
    return false;
  if (t->rank != 1) {
    diag_error(p->diag, call->loc, "arange takes one size");
    return false;
  }
  for (int64_t i = 0; i < t->dims[0]; i++)
    ((float *)t->data)[i] = (float)i;
  return true;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

/* A CSV file of numbers as f32 [rows, columns] (every column a feature). */
static int read_csv(const char *path, nnrt_tensor *t, char *err, size_t errlen) {
  nnrt_csv_options o = {.has_label = false};
  nnrt_dataset d = {0};
  int rc = nnrt_load_csv(path, &o, &d, err, errlen);
  if (rc)
    return rc;
  *t = (nnrt_tensor){.dtype = NNRT_F32, .rank = 2, .dims = {d.n, d.x_size}, .data = d.x};
  d.x = NULL;
  nnrt_dataset_free(&d);
  return NNRT_OK;
}

static bool eval_load(Program *p, const AstNode *call, nnrt_tensor *t) {
  const AstNode *path = call->u.call.args.items[0];
  char err[512];
  if (path->kind != AST_STRING) {
    diag_error(p->diag, path->loc, "load takes the path of a .npy or .csv file as a string");
    return false;
  }
  const char *file = path->u.string_lit.value;
  int rc = ends_with(file, ".csv") ? read_csv(file, t, err, sizeof err)
                                   : nnrt_npy_read(file, t, err, sizeof err);
  if (rc) {
    diag_error(p->diag, call->loc, "%s", err);
    return false;
  }
  return true;
}

static const char *const constructors[] = {"zeros", "ones", "randn", "arange", "load", NULL};

static int constructor(const ReplLiterals *l, const AstNode *call) {
  const AstNode *c = call->u.call.callee;
  if (c->kind != AST_NAME || repl_var(l->session, c->u.name.name))
    return -1;
  for (int i = 0; constructors[i]; i++)
    if (!strcmp(c->u.name.name, constructors[i]))
      return i;
  return -1;
}

static bool eval_constructor(Program *p, const AstNode *call, int which, nnrt_tensor *t) {
  int npos = positional(call), nargs = call->u.call.args.len;
  bool seeded = which == 2;
  if (npos != 1 || nargs != 1 + (seeded && kwarg(call, "seed"))) {
    diag_error(p->diag, call->loc, "%s takes %s", constructors[which],
               which == 4   ? "a path: load(\"x.npy\") or load(\"x.csv\")"
               : seeded     ? "a shape and a seed: randn([2, 3], seed = 1)"
               : which == 3 ? "a size: arange(5)"
                            : "a shape: zeros([2, 3])");
    return false;
  }
  switch (which) {
  case 0:
    return eval_fill(p, call, t, NNRT_INIT_ZEROS);
  case 1:
    return eval_fill(p, call, t, NNRT_INIT_ONES);
  case 2:
    return eval_fill(p, call, t, NNRT_INIT_NORMAL);
  case 3:
    return eval_arange(p, call, t);
  default:
    return eval_load(p, call, t);
  }
}

/* ----------------------------------------------------------- rewrite */

static AstNode *type_node(Arena *a, SrcSpan loc, const nnrt_tensor *t) {
  static const AstDType dts[] = {DT_F32, DT_F64, DT_I32, DT_BOOL};
  AstNode *ty = ast_type(a, loc, dts[t->dtype], t->rank > 0);
  for (int i = 0; i < t->rank; i++)
    ast_push(a, &ty->u.type.dims, ast_int(a, loc, t->dims[i]));
  ast_update_depth(ty);
  return ty;
}

/* Turns n into the name of a new argument of fn holding t. */
static void replace(Program *p, AstNode *fn, AstNode *n, nnrt_tensor t, ReplLiterals *l) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 4;
    nnrt_tensor *nl = realloc(l->lit, (size_t)cap * sizeof *nl);
    if (!nl)
      arena_fatal("out of memory");
    l->lit = nl;
    l->cap = cap;
  }
  const char *name = arena_printf(p->arena, "__k%d", l->n);
  l->lit[l->n++] = t;
  ast_push(p->arena, &fn->u.fn.args,
           ast_fnarg(p->arena, n->loc, name, type_node(p->arena, n->loc, &t)));
  n->kind = AST_NAME;
  n->u.name.name = name;
}

static void make(Program *p, AstNode *fn, AstNode *n, int which, ReplLiterals *l) {
  nnrt_tensor t = {0};
  bool ok = which < 0 ? eval_list(p, n, &t) : eval_constructor(p, n, which, &t);
  if (ok)
    replace(p, fn, n, t, l);
  else
    nnrt_tensor_free(&t);
}

/* Built-ins whose later positional arguments are shapes or permutations;
 * every other built-in takes tensors positionally. */
static bool takes_shape(const AstNode *call) {
  static const char *const names[] = {"reshape", "transpose", "broadcast_to", "pad", "split"};
  const AstNode *c = call->u.call.callee;
  for (size_t i = 0; c->kind == AST_NAME && i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(c->u.name.name, names[i]))
      return true;
  return false;
}

/* Built-ins that make a tensor from a shape and numbers (compiled, not
 * literals: random tensors draw in the compiled code). */
static bool makes_tensor(const AstNode *call) {
  static const char *const names[] = {"uniform", "normal", "full"};
  const AstNode *c = call->u.call.callee;
  for (size_t i = 0; c->kind == AST_NAME && i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(c->u.name.name, names[i]))
      return true;
  return false;
}

/* Built-ins whose first argument is a list of tensors: concat([a, b]). */
static bool takes_tensor_list(const AstNode *call) {
  const AstNode *c = call->u.call.callee;
  return c->kind == AST_NAME &&
         (!strcmp(c->u.name.name, "concat") || !strcmp(c->u.name.name, "stack"));
}

/* `tensor`: n stands where a tensor is expected, so a list there is a
 * literal; lists elsewhere (shapes, axes) are left alone. */
static void rewrite(Program *p, AstNode *fn, AstNode *n, bool tensor, ReplLiterals *l) {
  switch (n->kind) {
  case AST_LIST:
    if (tensor)
      make(p, fn, n, -1, l);
    return;
  case AST_CALL: {
    int which = constructor(l, n);
    if (which >= 0) {
      make(p, fn, n, which, l);
      return;
    }
    bool shapes = takes_shape(n), generator = makes_tensor(n), list = takes_tensor_list(n);
    for (int i = 0; i < n->u.call.args.len; i++) {
      AstNode *a = n->u.call.args.items[i];
      if (list && a->kind == AST_LIST) {
        for (int k = 0; k < a->u.list.items.len; k++)
          rewrite(p, fn, a->u.list.items.items[k], true, l);
      } else if (list && a->kind == AST_KWARG && a->u.kwarg.value->kind == AST_LIST &&
                 !strcmp(a->u.kwarg.key, "tensors")) {
        for (int k = 0; k < a->u.kwarg.value->u.list.items.len; k++)
          rewrite(p, fn, a->u.kwarg.value->u.list.items.items[k], true, l);
      } else if (a->kind == AST_KWARG)
        rewrite(p, fn, a->u.kwarg.value, false, l);
      else
        rewrite(p, fn, a, !generator && (i == 0 || !shapes), l);
    }
    return;
  }
  case AST_BINARY:
    rewrite(p, fn, n->u.binary.lhs, true, l);
    rewrite(p, fn, n->u.binary.rhs, true, l);
    return;
  case AST_UNARY:
    rewrite(p, fn, n->u.unary.operand, true, l);
    return;
  case AST_INDEX: /* [[1, 2], [3, 4]][0]; the indices are ints */
    rewrite(p, fn, n->u.index.object, true, l);
    return;
  default:
    return;
  }
}

void repl_literals_rewrite(Program *p, AstNode *fn, ReplLiterals *l) {
  const PtrVec *body = &fn->u.fn.body;
  for (int i = 0; i < body->len; i++) {
    AstNode *s = body->items[i];
    if (s->kind == AST_LET)
      rewrite(p, fn, s->u.let.value, true, l);
    else if (s->kind == AST_RETURN)
      rewrite(p, fn, s->u.ret.value, true, l);
  }
}

void repl_literals_free(ReplLiterals *l) {
  for (int i = 0; i < l->n; i++)
    nnrt_tensor_free(&l->lit[i]);
  free(l->lit);
  memset(l, 0, sizeof *l);
}
