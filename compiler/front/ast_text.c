/* ast_text.c - expressions written back as compact source text, for
 * diagnostics and for the IR printer's data/train sections. */
#include "ast_text.h"

static const char *join_args(Arena *a, const PtrVec *args);

static const char *float_text(Arena *a, double v) {
  const char *s = arena_printf(a, "%.17g", v);
  /* Shortest text that reads back to the same double. */
  for (int prec = 1; prec < 17; prec++) {
    char *t = arena_printf(a, "%.*g", prec, v);
    if (strtod(t, NULL) == v) {
      s = t;
      break;
    }
  }
  if (!strpbrk(s, ".eEin"))
    s = arena_printf(a, "%s.0", s);
  return s;
}

const char *ast_text_expr(Arena *a, const AstNode *n) {
  if (!n)
    return "";
  switch (n->kind) {
  case AST_INT:
    return arena_printf(a, "%lld", (long long)n->u.int_lit.value);
  case AST_FLOAT:
    return float_text(a, n->u.float_lit.value);
  case AST_STRING:
    return arena_printf(a, "\"%s\"", n->u.string_lit.value);
  case AST_BOOL:
    return n->u.bool_lit.value ? "true" : "false";
  case AST_NAME:
    return n->u.name.name;
  case AST_MEMBER:
    return arena_printf(a, "%s.%s", ast_text_expr(a, n->u.member.object), n->u.member.name);
  case AST_CALL:
    return arena_printf(a, "%s(%s)", ast_text_expr(a, n->u.call.callee),
                        join_args(a, &n->u.call.args));
  case AST_KWARG:
    return arena_printf(a, "%s = %s", n->u.kwarg.key, ast_text_expr(a, n->u.kwarg.value));
  case AST_UNARY:
    return arena_printf(a, "%s%s", n->u.unary.op == UN_NEG ? "-" : "!",
                        ast_text_expr(a, n->u.unary.operand));
  case AST_BINARY:
    return arena_printf(a, "(%s %s %s)", ast_text_expr(a, n->u.binary.lhs),
                        ast_binop_text(n->u.binary.op), ast_text_expr(a, n->u.binary.rhs));
  case AST_LIST:
    return arena_printf(a, "[%s]", join_args(a, &n->u.list.items));
  case AST_TUPLE:
    return arena_printf(a, "(%s)", join_args(a, &n->u.list.items));
  case AST_INDEX:
    return arena_printf(a, "%s[%s]", ast_text_expr(a, n->u.index.object),
                        join_args(a, &n->u.index.items));
  case AST_SLICE:
    return arena_printf(
        a, "%s:%s%s%s", ast_text_expr(a, n->u.slice.lo), ast_text_expr(a, n->u.slice.hi),
        n->u.slice.step || n->u.slice.step_given ? ":" : "", ast_text_expr(a, n->u.slice.step));
  case AST_ELLIPSIS:
    return "...";
  case AST_TYPE: {
    const char *s = ast_dtype_name(n->u.type.dtype);
    return n->u.type.has_dims ? arena_printf(a, "%s[%s]", s, join_args(a, &n->u.type.dims)) : s;
  }
  default:
    return ast_kind_name(n->kind);
  }
}

static const char *join_args(Arena *a, const PtrVec *args) {
  const char *s = "";
  for (int i = 0; i < args->len; i++)
    s = arena_printf(a, "%s%s%s", s, i ? ", " : "", ast_text_expr(a, args->items[i]));
  return s;
}
