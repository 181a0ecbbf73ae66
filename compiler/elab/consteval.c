/* consteval.c - compile-time values, dimensions and types from the AST.
 *
 * Compile-time expressions appear in layer arguments, initializers, repeat
 * ranges and types. Ints are kept as Dims so that the same code serves
 * concrete elaboration (every int known) and generic checks (int arguments
 * are symbols). All integer arithmetic is overflow-checked.
 */
#include <math.h>
#include <string.h>

#include "ast_text.h"
#include "lower.h"

const char *consteval_kind_name(CtKind k) {
  switch (k) {
  case CV_INT:
    return "int";
  case CV_FLOAT:
    return "float";
  case CV_BOOL:
    return "bool";
  case CV_STRING:
    return "string";
  }
  return "?";
}

const char *consteval_str(Elab *e, const CtVal *v) {
  if (v->unknown)
    return arena_printf(e->arena, "<%s>", consteval_kind_name(v->kind));
  switch (v->kind) {
  case CV_INT:
    return dim_str(e->arena, e->mod->syms, v->dim);
  case CV_FLOAT:
    return arena_printf(e->arena, "%g", v->f);
  case CV_BOOL:
    return v->b ? "true" : "false";
  case CV_STRING:
    return arena_printf(e->arena, "\"%s\"", v->s);
  }
  return "?";
}

int consteval_ctparam_index(const AstNode *layer, const char *name) {
  const PtrVec *cps = &layer->u.layer.ctparams;
  for (int i = 0; i < cps->len; i++)
    if (!strcmp(((AstNode *)cps->items[i])->u.ctparam.name, name))
      return i;
  return -1;
}

/* The compile-time value a name denotes in env, or NULL. */
static const CtVal *lookup_ct(const CtEnv *env, const char *name) {
  if (env->loopvar && !strcmp(env->loopvar, name))
    return &env->loopval;
  if (env->inst) {
    int i = consteval_ctparam_index(env->inst->layer, name);
    if (i >= 0)
      return &env->inst->args[i];
  }
  return NULL;
}

static CtVal ct_int(Dim d) { return (CtVal){.kind = CV_INT, .dim = d}; }

static double as_double(const CtVal *v) {
  return v->kind == CV_INT ? (double)v->dim.constant : v->f;
}

static bool fold_int(Elab *e, const AstNode *x, AstBinOp op, Dim a, Dim b, CtVal *out) {
  const char *why = "";
  Dim r;
  bool ok;
  switch (op) {
  case BIN_ADD:
    ok = dim_add(a, b, &r, &why);
    break;
  case BIN_SUB:
    ok = dim_sub(a, b, &r, &why);
    break;
  case BIN_MUL:
    ok = dim_mul(a, b, &r, &why);
    break;
  case BIN_DIV:
    ok = dim_div(a, b, &r, &why);
    break;
  default:
    diag_error(e->diag, x->loc, "operator '%s' is not allowed on compile-time ints",
               ast_binop_text(op));
    return false;
  }
  if (!ok) {
    /* A generic check may meet arithmetic no Dim holds; that is not the
     * user's error. */
    if (!e->generic || (dim_is_const(a) && dim_is_const(b))) {
      if (op == BIN_DIV)
        why = dim_div_why(e->arena, e->mod->syms, a, b, why);
      diag_error(e->diag, x->loc, "%s", why);
      return false;
    }
    r = dim_unknown();
  }
  *out = (CtVal){.kind = CV_INT, .dim = r};
  return true;
}

static bool fold_float(Elab *e, const AstNode *x, AstBinOp op, double a, double b, CtVal *out) {
  double r;
  switch (op) {
  case BIN_ADD:
    r = a + b;
    break;
  case BIN_SUB:
    r = a - b;
    break;
  case BIN_MUL:
    r = a * b;
    break;
  case BIN_DIV:
    r = a / b;
    break;
  case BIN_POW:
    r = pow(a, b);
    break;
  default:
    diag_error(e->diag, x->loc, "operator '%s' is not allowed on compile-time values",
               ast_binop_text(op));
    return false;
  }
  if (!isfinite(r)) {
    diag_error(e->diag, x->loc, "compile-time arithmetic gives %g", r);
    return false;
  }
  *out = (CtVal){.kind = CV_FLOAT, .f = r};
  return true;
}

bool consteval_fold_binary(Elab *e, const AstNode *x, const CtVal *a, const CtVal *b, CtVal *out) {
  AstBinOp op = x->u.binary.op;
  bool num_a = a->kind == CV_INT || a->kind == CV_FLOAT;
  bool num_b = b->kind == CV_INT || b->kind == CV_FLOAT;
  if (!num_a || !num_b) {
    diag_error(e->diag, x->loc, "operator '%s' needs numbers, got %s and %s", ast_binop_text(op),
               consteval_kind_name(a->kind), consteval_kind_name(b->kind));
    return false;
  }
  if (a->unknown || b->unknown || a->dim.kind == DIM_UNKNOWN || b->dim.kind == DIM_UNKNOWN) {
    CtKind k = a->kind == CV_INT && b->kind == CV_INT && op != BIN_POW ? CV_INT : CV_FLOAT;
    *out = (CtVal){.kind = k, .unknown = k != CV_INT, .dim = dim_unknown()};
    return true;
  }
  if (a->kind == CV_INT && b->kind == CV_INT && op != BIN_POW) {
    bool symbolic = !dim_is_const(a->dim) || !dim_is_const(b->dim);
    int64_t na = a->dim.constant, nb = b->dim.constant;
    /* int / int stays an int when it divides evenly (dims need ints). */
    if (op == BIN_DIV && !symbolic && (nb == 0 || (nb != -1 && na % nb != 0)))
      return fold_float(e, x, op, (double)na, (double)nb, out);
    return fold_int(e, x, op, a->dim, b->dim, out);
  }
  if ((a->kind == CV_INT && !dim_is_const(a->dim)) ||
      (b->kind == CV_INT && !dim_is_const(b->dim))) {
    *out = (CtVal){.kind = CV_FLOAT, .unknown = true};
    return true;
  }
  return fold_float(e, x, op, as_double(a), as_double(b), out);
}

bool consteval_fold_unary(Elab *e, const AstNode *x, const CtVal *v, CtVal *out) {
  AstUnOp op = x->u.unary.op;
  *out = *v;
  if (op == UN_NOT && v->kind == CV_BOOL) {
    out->b = !v->b;
    return true;
  }
  if (op == UN_NEG && v->kind == CV_FLOAT) {
    out->f = -v->f;
    return true;
  }
  if (op == UN_NEG && v->kind == CV_INT) {
    const char *why;
    if (dim_mul(v->dim, dim_const(-1), &out->dim, &why))
      return true;
    diag_error(e->diag, x->loc, "%s", why);
    return false;
  }
  diag_error(e->diag, x->loc, "operator '%s' cannot be applied to a compile-time %s",
             op == UN_NEG ? "-" : "!", consteval_kind_name(v->kind));
  return false;
}

bool consteval_expr(Elab *e, const CtEnv *env, const AstNode *x, CtVal *out) {
  switch (x->kind) {
  case AST_INT:
    *out = ct_int(dim_const(x->u.int_lit.value));
    return true;
  case AST_FLOAT:
    *out = (CtVal){.kind = CV_FLOAT, .f = x->u.float_lit.value};
    return true;
  case AST_BOOL:
    *out = (CtVal){.kind = CV_BOOL, .b = x->u.bool_lit.value};
    return true;
  case AST_STRING:
    *out = (CtVal){.kind = CV_STRING, .s = x->u.string_lit.value};
    return true;
  case AST_NAME: {
    const CtVal *v = lookup_ct(env, x->u.name.name);
    if (!v) {
      diag_error(e->diag, x->loc, "'%s' is not a compile-time value here", x->u.name.name);
      return false;
    }
    *out = *v;
    return true;
  }
  case AST_UNARY: {
    CtVal v;
    return consteval_expr(e, env, x->u.unary.operand, &v) && consteval_fold_unary(e, x, &v, out);
  }
  case AST_BINARY: {
    CtVal a, b;
    if (!consteval_expr(e, env, x->u.binary.lhs, &a) ||
        !consteval_expr(e, env, x->u.binary.rhs, &b))
      return false;
    return consteval_fold_binary(e, x, &a, &b, out);
  }
  default:
    diag_error(e->diag, x->loc,
               "expected a compile-time value (a number, bool or string), got '%s'",
               ast_text_expr(e->arena, x));
    return false;
  }
}

bool consteval_int(Elab *e, const CtEnv *env, const AstNode *x, int64_t *out, bool *unknown) {
  CtVal v;
  if (!consteval_expr(e, env, x, &v))
    return false;
  if (v.kind != CV_INT) {
    diag_error(e->diag, x->loc, "expected an int, got a %s", consteval_kind_name(v.kind));
    return false;
  }
  *unknown = v.unknown || !dim_is_const(v.dim);
  *out = *unknown ? 0 : v.dim.constant;
  return true;
}

static bool dim_name(Elab *e, const CtEnv *env, StrMap *dims, DimMode mode, const AstNode *x,
                     Dim *out) {
  const char *name = x->u.name.name;
  const CtVal *v = lookup_ct(env, name);
  if (v) {
    if (v->kind != CV_INT) {
      diag_error(e->diag, x->loc, "'%s' is a %s; a dimension must be an int", name,
                 consteval_kind_name(v->kind));
      return false;
    }
    *out = v->unknown ? dim_unknown() : v->dim;
    return true;
  }
  Dim *d = dims ? strmap_get(dims, name) : NULL;
  if (d) {
    *out = *d;
    return true;
  }
  if (mode == DIMS_FIXED)
    diag_error(e->diag, x->loc,
               "dimension '%s' must be known at compile time here (a layer argument or a number)",
               name);
  else
    diag_error(e->diag, x->loc,
               "dimension '%s' cannot be inferred: use it alone as a dimension of an argument",
               name);
  return false;
}

bool consteval_dim(Elab *e, const CtEnv *env, StrMap *dims, DimMode mode, const AstNode *x,
                   Dim *out) {
  switch (x->kind) {
  case AST_INT:
    *out = dim_const(x->u.int_lit.value);
    return true;
  case AST_NAME:
    return dim_name(e, env, dims, mode, x, out);
  case AST_UNARY: {
    Dim a;
    const char *why;
    if (x->u.unary.op != UN_NEG)
      break;
    if (!consteval_dim(e, env, dims, mode, x->u.unary.operand, &a))
      return false;
    if (!dim_mul(a, dim_const(-1), out, &why)) {
      diag_error(e->diag, x->loc, "%s", why);
      return false;
    }
    return true;
  }
  case AST_BINARY: {
    Dim a, b;
    if (!consteval_dim(e, env, dims, mode, x->u.binary.lhs, &a) ||
        !consteval_dim(e, env, dims, mode, x->u.binary.rhs, &b))
      return false;
    CtVal r;
    if (!fold_int(e, x, x->u.binary.op, a, b, &r))
      return false;
    *out = r.dim;
    return true;
  }
  default:
    break;
  }
  diag_error(e->diag, x->loc, "a dimension must be an int expression, got '%s'",
             ast_text_expr(e->arena, x));
  return false;
}

/* Memory plans and loops need a tensor's element count as a Dim:
 * f32[B + 1, T + 1, H + 1] has more terms than one holds. (An overflowing
 * count is left to the uses that report it, reshape and parameters.) */
static bool numel_fits(Elab *e, const AstNode *t, const TType *type) {
  Dim n;
  const char *why = NULL;
  if (e->generic || ttype_numel(type, &n, &why) || why == dim_overflow_why)
    return true;
  diag_error(e->diag, t->loc, "the number of elements of %s cannot be computed: %s",
             ttype_str(e->arena, e->mod->syms, type), why);
  return false;
}

bool consteval_type(Elab *e, const CtEnv *env, StrMap *dims, DimMode mode, const AstNode *t,
                    TType *out) {
  *out = ttype_scalar(t->u.type.dtype);
  if (!t->u.type.has_dims)
    return true;
  const PtrVec *ds = &t->u.type.dims;
  if (ds->len > TYPE_MAX_RANK) {
    diag_error(e->diag, t->loc, "a tensor can have at most %d dimensions, this type has %d",
               TYPE_MAX_RANK, ds->len);
    return false;
  }
  bool ok = true;
  for (int i = 0; i < ds->len; i++) {
    const AstNode *dx = ds->items[i];
    Dim d;
    if (!consteval_dim(e, env, dims, mode, dx, &d)) {
      ok = false;
      continue;
    }
    if (dim_is_const(d) && d.constant <= 0) {
      diag_error(e->diag, dx->loc, "dimension must be positive, got %lld", (long long)d.constant);
      ok = false;
    } else if (!dim_can_be_positive(d)) {
      diag_error(e->diag, dx->loc, "dimension must be positive, got %s",
                 dim_str(e->arena, e->mod->syms, d));
      ok = false;
    }
    out->dims[i] = d;
  }
  out->rank = ds->len;
  return ok && numel_fits(e, t, out);
}

Dim new_dim_sym(Elab *e, const char *name, SrcSpan loc) {
  int id = dim_symtab_add(e->mod->syms, name, loc);
  if (id >= 0)
    return dim_sym(id);
  diag_error(e->diag, loc, "too many dimension names in one module (at most %d)", DIM_MAX_SYMBOLS);
  return dim_unknown();
}

void consteval_bind_plain_dims(Elab *e, const CtEnv *env, StrMap *dims, const AstNode *t,
                               const TType *actual) {
  if (!t->u.type.has_dims)
    return;
  const PtrVec *ds = &t->u.type.dims;
  if (actual && ds->len != actual->rank)
    return; /* the rank mismatch is reported by the comparison */
  for (int i = 0; i < ds->len; i++) {
    const AstNode *dx = ds->items[i];
    if (dx->kind != AST_NAME || lookup_ct(env, dx->u.name.name) ||
        strmap_get(dims, dx->u.name.name))
      continue;
    Dim *d = ARENA_NEW(e->arena, Dim);
    *d = actual ? actual->dims[i] : new_dim_sym(e, dx->u.name.name, dx->loc);
    strmap_put(dims, dx->u.name.name, d);
  }
}
