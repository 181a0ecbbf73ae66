/* ast_print.c - `nnc --emit=ast`: the AST as an indented tree.
 *
 * One node per line, children indented by two spaces, each line ending in
 * the node's @line:col. Types (and the dimension expressions inside them)
 * are written inline in source syntax, so the output reads like the program.
 * The format is stable on purpose: lit tests FileCheck it.
 */
#include <inttypes.h>

#include "ast.h"

static void print_node(FILE *out, const AstNode *n, int indent);
static void print_inline(FILE *out, const AstNode *n);

static void indent_to(FILE *out, int indent) {
  for (int i = 0; i < indent; i++)
    fputs("  ", out);
}

static void end_line(FILE *out, SrcSpan loc) {
  fprintf(out, " @%d:%d\n", loc.first_line, loc.first_column);
}

/* A string in double quotes with the escapes of the source language; other
 * control bytes as \xNN so the output stays one line per node. */
static void print_quoted(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", out);
      break;
    case '\\':
      fputs("\\\\", out);
      break;
    case '\n':
      fputs("\\n", out);
      break;
    case '\t':
      fputs("\\t", out);
      break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        fprintf(out, "\\x%02x", *p);
      else
        fputc(*p, out);
    }
  }
  fputc('"', out);
}

/* ---- expressions in source syntax (for types' dimensions) ---- */

enum { PREC_CMP = 1, PREC_ADD, PREC_MUL, PREC_UNARY, PREC_POW, PREC_POSTFIX };

static int binop_prec(AstBinOp op) {
  switch (op) {
  case BIN_ADD:
  case BIN_SUB:
    return PREC_ADD;
  case BIN_MUL:
  case BIN_DIV:
  case BIN_MATMUL:
    return PREC_MUL;
  case BIN_POW:
    return PREC_POW;
  default:
    return PREC_CMP;
  }
}

static int prec(const AstNode *n) {
  if (!n)
    return PREC_POSTFIX;
  switch (n->kind) {
  case AST_BINARY:
    return binop_prec(n->u.binary.op);
  case AST_UNARY:
    return PREC_UNARY;
  case AST_KWARG:
    return 0;
  default:
    return PREC_POSTFIX;
  }
}

/* Prints n, parenthesized when its precedence is below min. */
static void print_operand(FILE *out, const AstNode *n, int min) {
  bool parens = prec(n) < min;
  if (parens)
    fputc('(', out);
  print_inline(out, n);
  if (parens)
    fputc(')', out);
}

static void print_list_inline(FILE *out, const PtrVec *v) {
  for (int i = 0; i < v->len; i++) {
    if (i)
      fputs(", ", out);
    print_inline(out, v->items[i]);
  }
}

static void print_binary_inline(FILE *out, const AstNode *n) {
  int p = binop_prec(n->u.binary.op);
  /* ** is right-associative over unary operands; comparisons do not chain;
   * the rest are left-associative. */
  int lhs_min = p == PREC_POW ? PREC_POSTFIX : p == PREC_CMP ? p + 1 : p;
  int rhs_min = p == PREC_POW ? PREC_UNARY : p + 1;
  print_operand(out, n->u.binary.lhs, lhs_min);
  fprintf(out, " %s ", ast_binop_text(n->u.binary.op));
  print_operand(out, n->u.binary.rhs, rhs_min);
}

static void print_type(FILE *out, const AstNode *t) {
  if (!t) {
    fputs("?", out);
    return;
  }
  fputs(ast_dtype_name(t->u.type.dtype), out);
  if (t->u.type.has_dims) {
    fputc('[', out);
    print_list_inline(out, &t->u.type.dims);
    fputc(']', out);
  }
}

static void print_inline(FILE *out, const AstNode *n) {
  if (!n) {
    fputs("?", out);
    return;
  }
  switch (n->kind) {
  case AST_INT:
    fprintf(out, "%" PRId64, n->u.int_lit.value);
    break;
  case AST_FLOAT:
    fprintf(out, "%g", n->u.float_lit.value);
    break;
  case AST_STRING:
    print_quoted(out, n->u.string_lit.value);
    break;
  case AST_BOOL:
    fputs(n->u.bool_lit.value ? "true" : "false", out);
    break;
  case AST_NAME:
    fputs(n->u.name.name, out);
    break;
  case AST_MEMBER:
    print_operand(out, n->u.member.object, PREC_POSTFIX);
    fprintf(out, ".%s", n->u.member.name);
    break;
  case AST_CALL:
    print_operand(out, n->u.call.callee, PREC_POSTFIX);
    fputc('(', out);
    print_list_inline(out, &n->u.call.args);
    fputc(')', out);
    break;
  case AST_KWARG:
    fprintf(out, "%s = ", n->u.kwarg.key);
    print_inline(out, n->u.kwarg.value);
    break;
  case AST_UNARY:
    fputs(n->u.unary.op == UN_NEG ? "-" : "!", out);
    print_operand(out, n->u.unary.operand, PREC_UNARY);
    break;
  case AST_BINARY:
    print_binary_inline(out, n);
    break;
  case AST_LIST:
    fputc('[', out);
    print_list_inline(out, &n->u.list.items);
    fputc(']', out);
    break;
  case AST_TUPLE:
    fputc('(', out);
    print_list_inline(out, &n->u.list.items);
    fputc(')', out);
    break;
  case AST_INDEX:
    print_operand(out, n->u.index.object, PREC_POSTFIX);
    fputc('[', out);
    print_list_inline(out, &n->u.index.items);
    fputc(']', out);
    break;
  case AST_SLICE:
    if (n->u.slice.lo)
      print_inline(out, n->u.slice.lo);
    fputc(':', out);
    if (n->u.slice.hi)
      print_inline(out, n->u.slice.hi);
    if (n->u.slice.step || n->u.slice.step_given)
      fputc(':', out);
    if (n->u.slice.step)
      print_inline(out, n->u.slice.step);
    break;
  case AST_ELLIPSIS:
    fputs("...", out);
    break;
  case AST_TYPE:
    print_type(out, n);
    break;
  default:
    fputs(ast_kind_name(n->kind), out);
    break;
  }
}

/* ---- the tree ---- */

static void print_children(FILE *out, const PtrVec *v, int indent) {
  for (int i = 0; i < v->len; i++)
    print_node(out, v->items[i], indent);
}

/* A label line ("Init", "Default") with one expression under it. */
static void print_labeled(FILE *out, const char *label, const AstNode *n, int indent) {
  indent_to(out, indent);
  fprintf(out, "%s\n", label);
  print_node(out, n, indent + 1);
}

static void print_layer(FILE *out, const AstNode *n, int indent) {
  fprintf(out, "%s %s", n->u.layer.is_model ? "Model" : "Layer", n->u.layer.name);
  end_line(out, n->loc);
  print_children(out, &n->u.layer.ctparams, indent + 1);
  print_children(out, &n->u.layer.members, indent + 1);
}

static const char *const ct_kind_names[] = {
    [CT_INT] = "int", [CT_FLOAT] = "float", [CT_BOOL] = "bool"};

static void print_ctparam(FILE *out, const AstNode *n, int indent) {
  fprintf(out, "CtParam %s: %s", n->u.ctparam.name, ct_kind_names[n->u.ctparam.type]);
  end_line(out, n->loc);
  if (n->u.ctparam.deflt)
    print_labeled(out, "Default", n->u.ctparam.deflt, indent + 1);
}

static void print_param(FILE *out, const AstNode *n, int indent) {
  fprintf(out, "%s %s: ", n->kind == AST_PARAM ? "Param" : "State", n->u.param.name);
  print_type(out, n->u.param.type);
  end_line(out, n->loc);
  if (n->u.param.init)
    print_labeled(out, "Init", n->u.param.init, indent + 1);
}

static void print_instance(FILE *out, const AstNode *n, int indent) {
  fprintf(out, "Instance %s", n->u.instance.name);
  end_line(out, n->loc);
  print_node(out, n->u.instance.call, indent + 1);
  if (n->u.instance.loopvar) {
    indent_to(out, indent + 1);
    fprintf(out, "Range %s\n", n->u.instance.loopvar);
    print_node(out, n->u.instance.lo, indent + 2);
    print_node(out, n->u.instance.hi, indent + 2);
  }
}

static void print_fn(FILE *out, const AstNode *n, int indent) {
  fprintf(out, "Fn %s", n->u.fn.name);
  end_line(out, n->loc);
  print_children(out, &n->u.fn.args, indent + 1);
  if (n->u.fn.ret) {
    indent_to(out, indent + 1);
    fputs("Returns ", out);
    if (n->u.fn.ret->kind == AST_TUPLE) { /* (type, type, ...) */
      const PtrVec *ts = &n->u.fn.ret->u.list.items;
      for (int i = 0; i < ts->len; i++) {
        fputs(i ? ", " : "(", out);
        print_type(out, ts->items[i]);
      }
      fputc(')', out);
    } else {
      print_type(out, n->u.fn.ret);
    }
    fputc('\n', out);
  }
  print_children(out, &n->u.fn.body, indent + 1);
}

static void print_section(FILE *out, const AstNode *n, int indent) {
  fputs(n->u.section.kind == SEC_TRAIN  ? "Train"
        : n->u.section.kind == SEC_DATA ? "Data"
                                        : "Generate",
        out);
  if (n->u.section.name)
    fprintf(out, " %s", n->u.section.name);
  end_line(out, n->loc);
  print_children(out, &n->u.section.fields, indent + 1);
}

/* Expression nodes: a head line, then sub-expressions one level deeper. */
static void print_expr(FILE *out, const AstNode *n, int indent) {
  switch (n->kind) {
  case AST_INT:
    fprintf(out, "Int %" PRId64, n->u.int_lit.value);
    break;
  case AST_FLOAT:
    fprintf(out, "Float %g", n->u.float_lit.value);
    break;
  case AST_STRING:
    fputs("String ", out);
    print_quoted(out, n->u.string_lit.value);
    break;
  case AST_BOOL:
    fprintf(out, "Bool %s", n->u.bool_lit.value ? "true" : "false");
    break;
  case AST_NAME:
    fprintf(out, "Name %s", n->u.name.name);
    break;
  case AST_MEMBER:
    fprintf(out, "Member %s", n->u.member.name);
    break;
  case AST_CALL:
    fputs("Call", out);
    break;
  case AST_KWARG:
    fprintf(out, "Kwarg %s", n->u.kwarg.key);
    break;
  case AST_UNARY:
    fprintf(out, "Unary %s", n->u.unary.op == UN_NEG ? "-" : "!");
    break;
  case AST_BINARY:
    fprintf(out, "Binary %s", ast_binop_text(n->u.binary.op));
    break;
  case AST_LIST:
    fputs("List", out);
    break;
  case AST_TUPLE:
    fputs("Tuple", out);
    break;
  case AST_TYPE:
    fputs("Type ", out);
    print_type(out, n);
    break;
  default:
    fputs(ast_kind_name(n->kind), out);
    break;
  }
  end_line(out, n->loc);
  switch (n->kind) {
  case AST_MEMBER:
    print_node(out, n->u.member.object, indent + 1);
    break;
  case AST_CALL:
    print_node(out, n->u.call.callee, indent + 1);
    print_children(out, &n->u.call.args, indent + 1);
    break;
  case AST_KWARG:
    print_node(out, n->u.kwarg.value, indent + 1);
    break;
  case AST_UNARY:
    print_node(out, n->u.unary.operand, indent + 1);
    break;
  case AST_BINARY:
    print_node(out, n->u.binary.lhs, indent + 1);
    print_node(out, n->u.binary.rhs, indent + 1);
    break;
  case AST_LIST:
  case AST_TUPLE:
    print_children(out, &n->u.list.items, indent + 1);
    break;
  case AST_INDEX:
    print_node(out, n->u.index.object, indent + 1);
    print_children(out, &n->u.index.items, indent + 1);
    break;
  case AST_SLICE: /* omitted parts print as <missing> */
    print_node(out, n->u.slice.lo, indent + 1);
    print_node(out, n->u.slice.hi, indent + 1);
    print_node(out, n->u.slice.step, indent + 1);
    break;
  default:
    break;
  }
}

static void print_node(FILE *out, const AstNode *n, int indent) {
  indent_to(out, indent);
  if (!n) {
    fputs("<missing>\n", out);
    return;
  }
  switch (n->kind) {
  case AST_MODULE:
    fputs("Module ", out);
    print_quoted(out, n->u.module.path);
    fputc('\n', out);
    print_children(out, &n->u.module.items, indent + 1);
    break;
  case AST_IMPORT:
    fputs("Import ", out);
    if (n->u.import.is_path)
      print_quoted(out, n->u.import.name);
    else
      fputs(n->u.import.name, out);
    end_line(out, n->loc);
    break;
  case AST_LAYER:
    print_layer(out, n, indent);
    break;
  case AST_CTPARAM:
    print_ctparam(out, n, indent);
    break;
  case AST_PARAM:
  case AST_STATE:
    print_param(out, n, indent);
    break;
  case AST_INSTANCE:
    print_instance(out, n, indent);
    break;
  case AST_SHARE:
    fprintf(out, "Share %s", n->u.share.name);
    end_line(out, n->loc);
    print_node(out, n->u.share.target, indent + 1);
    break;
  case AST_FN:
    print_fn(out, n, indent);
    break;
  case AST_FNARG:
    fprintf(out, "FnArg %s: ", n->u.fnarg.name);
    print_type(out, n->u.fnarg.type);
    end_line(out, n->loc);
    break;
  case AST_SECTION:
    print_section(out, n, indent);
    break;
  case AST_FIELD:
    fprintf(out, "Field %s", n->u.field.key);
    end_line(out, n->loc);
    print_node(out, n->u.field.value, indent + 1);
    break;
  case AST_LET:
    fprintf(out, "Let %s", n->u.let.name);
    if (n->u.let.type) {
      fputs(": ", out);
      print_type(out, n->u.let.type);
    }
    end_line(out, n->loc);
    print_node(out, n->u.let.value, indent + 1);
    break;
  case AST_STATE_UPDATE:
    fputs("StateUpdate", out);
    end_line(out, n->loc);
    print_node(out, n->u.update.target, indent + 1);
    print_node(out, n->u.update.value, indent + 1);
    break;
  case AST_SCAN:
    fprintf(out, "Scan %s%s", n->u.scan.var, n->u.scan.reverse ? " reverse" : "");
    end_line(out, n->loc);
    print_node(out, n->u.scan.lo, indent + 1);
    print_node(out, n->u.scan.hi, indent + 1);
    for (int i = 0; i < n->u.scan.carries.len; i++) {
      const AstNode *c = n->u.scan.carries.items[i];
      indent_to(out, indent + 1);
      fprintf(out, "Carry %s", c->u.let.name);
      end_line(out, c->loc);
      print_node(out, c->u.let.value, indent + 2);
    }
    for (int i = 0; i < n->u.scan.body.len; i++)
      print_node(out, n->u.scan.body.items[i], indent + 1);
    break;
  case AST_NEXT:
  case AST_EMIT:
    fprintf(out, "%s %s", n->kind == AST_NEXT ? "Next" : "Emit", n->u.let.name);
    end_line(out, n->loc);
    print_node(out, n->u.let.value, indent + 1);
    break;
  case AST_RETURN:
    fputs("Return", out);
    end_line(out, n->loc);
    print_node(out, n->u.ret.value, indent + 1);
    break;
  default:
    print_expr(out, n, indent);
    break;
  }
}

void ast_print(FILE *out, const AstNode *module, const Diag *d) {
  (void)d; /* every node's location is in the module's own file */
  print_node(out, module, 0);
}
