/* ast.c - constructors and small helpers for the AST of ast.h.
 *
 * Every constructor allocates from the arena (zero-filled, so lists start
 * empty) and records the node's kind and location. Expression constructors
 * also record the node's depth, which the parser checks against
 * AST_MAX_DEPTH so later recursive walkers cannot exhaust the C stack.
 */
#include "ast.h"

static AstNode *new_node(Arena *a, AstKind kind, SrcSpan loc) {
  AstNode *n = ARENA_NEW(a, AstNode);
  n->kind = kind;
  n->loc = loc;
  n->depth = 0; /* statements and declarations do not count */
  return n;
}

static int depth_of(const AstNode *n) { return n ? n->depth : 0; }

static int max_int(int x, int y) { return x > y ? x : y; }

/* Largest depth in a list of expressions. */
static int list_depth(const PtrVec *v) {
  int d = 0;
  for (int i = 0; i < v->len; i++)
    d = max_int(d, depth_of(v->items[i]));
  return d;
}

AstNode *ast_module(Arena *a, SrcSpan loc) { return new_node(a, AST_MODULE, loc); }

AstNode *ast_import(Arena *a, SrcSpan loc, const char *name, bool is_path) {
  AstNode *n = new_node(a, AST_IMPORT, loc);
  n->u.import.name = name;
  n->u.import.is_path = is_path;
  return n;
}

AstNode *ast_layer(Arena *a, SrcSpan loc, SrcSpan name_loc, const char *name, bool is_model) {
  AstNode *n = new_node(a, AST_LAYER, loc);
  n->u.layer.name = name;
  n->u.layer.is_model = is_model;
  n->u.layer.name_loc = name_loc;
  return n;
}

AstNode *ast_ctparam(Arena *a, SrcSpan loc, const char *name, AstCtKind type, AstNode *deflt) {
  AstNode *n = new_node(a, AST_CTPARAM, loc);
  n->u.ctparam.name = name;
  n->u.ctparam.type = type;
  n->u.ctparam.deflt = deflt;
  return n;
}

AstNode *ast_param(Arena *a, SrcSpan loc, AstKind kind, const char *name, AstNode *type,
                   AstNode *init) {
  NNC_ASSERT(kind == AST_PARAM || kind == AST_STATE);
  AstNode *n = new_node(a, kind, loc);
  n->u.param.name = name;
  n->u.param.type = type;
  n->u.param.init = init;
  return n;
}

AstNode *ast_instance(Arena *a, SrcSpan loc, const char *name, AstNode *call, const char *loopvar,
                      AstNode *lo, AstNode *hi) {
  AstNode *n = new_node(a, AST_INSTANCE, loc);
  n->u.instance.name = name;
  n->u.instance.call = call;
  n->u.instance.loopvar = loopvar;
  n->u.instance.lo = lo;
  n->u.instance.hi = hi;
  return n;
}

AstNode *ast_share(Arena *a, SrcSpan loc, const char *name, AstNode *target) {
  AstNode *n = new_node(a, AST_SHARE, loc);
  n->u.share.name = name;
  n->u.share.target = target;
  return n;
}

AstNode *ast_fn(Arena *a, SrcSpan loc, SrcSpan name_loc, const char *name) {
  AstNode *n = new_node(a, AST_FN, loc);
  n->u.fn.name = name;
  n->u.fn.name_loc = name_loc;
  return n;
}

AstNode *ast_fnarg(Arena *a, SrcSpan loc, const char *name, AstNode *type) {
  AstNode *n = new_node(a, AST_FNARG, loc);
  n->u.fnarg.name = name;
  n->u.fnarg.type = type;
  return n;
}

AstNode *ast_section(Arena *a, SrcSpan loc, AstSectionKind kind, const char *name) {
  AstNode *n = new_node(a, AST_SECTION, loc);
  n->u.section.kind = kind;
  n->u.section.name = name;
  return n;
}

AstNode *ast_field(Arena *a, SrcSpan loc, const char *key, AstNode *value) {
  AstNode *n = new_node(a, AST_FIELD, loc);
  n->u.field.key = key;
  n->u.field.value = value;
  return n;
}

AstNode *ast_let(Arena *a, SrcSpan loc, const char *name, AstNode *type, AstNode *value) {
  AstNode *n = new_node(a, AST_LET, loc);
  n->u.let.name = name;
  n->u.let.type = type;
  n->u.let.value = value;
  return n;
}

AstNode *ast_return(Arena *a, SrcSpan loc, AstNode *value) {
  AstNode *n = new_node(a, AST_RETURN, loc);
  n->u.ret.value = value;
  return n;
}

AstNode *ast_state_update(Arena *a, SrcSpan loc, AstNode *target, AstNode *value) {
  AstNode *n = new_node(a, AST_STATE_UPDATE, loc);
  n->u.update.target = target;
  n->u.update.value = value;
  return n;
}

AstNode *ast_scan(Arena *a, SrcSpan loc, const char *var, bool reverse, AstNode *lo, AstNode *hi,
                  const PtrVec *carries) {
  AstNode *n = new_node(a, AST_SCAN, loc);
  n->u.scan.var = var;
  n->u.scan.reverse = reverse;
  n->u.scan.lo = lo;
  n->u.scan.hi = hi;
  n->u.scan.carries = *carries;
  return n;
}

AstNode *ast_scan_out(Arena *a, SrcSpan loc, AstKind kind, const char *name, AstNode *value) {
  AstNode *n = new_node(a, kind, loc);
  n->u.let.name = name;
  n->u.let.value = value;
  return n;
}

/* Leaves of expression trees have depth 1. */
static AstNode *new_leaf(Arena *a, AstKind kind, SrcSpan loc) {
  AstNode *n = new_node(a, kind, loc);
  n->depth = 1;
  return n;
}

AstNode *ast_int(Arena *a, SrcSpan loc, int64_t v) {
  AstNode *n = new_leaf(a, AST_INT, loc);
  n->u.int_lit.value = v;
  return n;
}

AstNode *ast_float(Arena *a, SrcSpan loc, double v) {
  AstNode *n = new_leaf(a, AST_FLOAT, loc);
  n->u.float_lit.value = v;
  return n;
}

AstNode *ast_string(Arena *a, SrcSpan loc, const char *v) {
  AstNode *n = new_leaf(a, AST_STRING, loc);
  n->u.string_lit.value = v;
  return n;
}

AstNode *ast_bool(Arena *a, SrcSpan loc, bool v) {
  AstNode *n = new_leaf(a, AST_BOOL, loc);
  n->u.bool_lit.value = v;
  return n;
}

AstNode *ast_name(Arena *a, SrcSpan loc, const char *name) {
  AstNode *n = new_leaf(a, AST_NAME, loc);
  n->u.name.name = name;
  return n;
}

AstNode *ast_member(Arena *a, SrcSpan loc, AstNode *object, const char *name) {
  AstNode *n = new_node(a, AST_MEMBER, loc);
  n->u.member.object = object;
  n->u.member.name = name;
  n->depth = 1 + depth_of(object);
  return n;
}

AstNode *ast_call(Arena *a, SrcSpan loc, AstNode *callee) {
  AstNode *n = new_node(a, AST_CALL, loc);
  n->u.call.callee = callee;
  n->depth = 1 + depth_of(callee);
  return n;
}

AstNode *ast_kwarg(Arena *a, SrcSpan loc, const char *key, AstNode *value) {
  AstNode *n = new_node(a, AST_KWARG, loc);
  n->u.kwarg.key = key;
  n->u.kwarg.value = value;
  n->depth = 1 + depth_of(value);
  return n;
}

AstNode *ast_unary(Arena *a, SrcSpan loc, AstUnOp op, AstNode *operand) {
  AstNode *n = new_node(a, AST_UNARY, loc);
  n->u.unary.op = op;
  n->u.unary.operand = operand;
  n->depth = 1 + depth_of(operand);
  return n;
}

AstNode *ast_binary(Arena *a, SrcSpan loc, AstBinOp op, AstNode *lhs, AstNode *rhs) {
  AstNode *n = new_node(a, AST_BINARY, loc);
  n->u.binary.op = op;
  n->u.binary.lhs = lhs;
  n->u.binary.rhs = rhs;
  n->depth = 1 + max_int(depth_of(lhs), depth_of(rhs));
  return n;
}

AstNode *ast_list(Arena *a, SrcSpan loc) { return new_leaf(a, AST_LIST, loc); }
AstNode *ast_tuple(Arena *a, SrcSpan loc) { return new_leaf(a, AST_TUPLE, loc); }

AstNode *ast_index(Arena *a, SrcSpan loc, AstNode *object) {
  AstNode *n = new_node(a, AST_INDEX, loc);
  n->u.index.object = object;
  n->depth = 1 + depth_of(object);
  return n;
}

AstNode *ast_slice(Arena *a, SrcSpan loc, AstNode *lo, AstNode *hi, AstNode *step) {
  AstNode *n = new_node(a, AST_SLICE, loc);
  n->u.slice.lo = lo;
  n->u.slice.hi = hi;
  n->u.slice.step = step;
  n->depth = 1 + max_int(depth_of(lo), max_int(depth_of(hi), depth_of(step)));
  return n;
}

AstNode *ast_ellipsis(Arena *a, SrcSpan loc) { return new_leaf(a, AST_ELLIPSIS, loc); }

AstNode *ast_type(Arena *a, SrcSpan loc, AstDType dtype, bool has_dims) {
  AstNode *n = new_leaf(a, AST_TYPE, loc);
  n->u.type.dtype = dtype;
  n->u.type.has_dims = has_dims;
  return n;
}

/* The list alone does not know its owner, so the owner's depth is fixed
 * afterwards by ast_update_depth (once, not per push, to stay linear). */
void ast_push(Arena *a, PtrVec *list, AstNode *item) {
  NNC_ASSERT(item != NULL);
  arena_ptrvec_push(a, list, item);
}

void ast_update_depth(AstNode *n) {
  switch (n->kind) {
  case AST_CALL:
    n->depth = 1 + max_int(depth_of(n->u.call.callee), list_depth(&n->u.call.args));
    break;
  case AST_LIST:
  case AST_TUPLE:
    n->depth = 1 + list_depth(&n->u.list.items);
    break;
  case AST_INDEX:
    n->depth = 1 + max_int(depth_of(n->u.index.object), list_depth(&n->u.index.items));
    break;
  case AST_TYPE:
    n->depth = 1 + list_depth(&n->u.type.dims);
    break;
  default:
    break;
  }
}

const char *ast_binop_text(AstBinOp op) {
  switch (op) {
  case BIN_ADD:
    return "+";
  case BIN_SUB:
    return "-";
  case BIN_MUL:
    return "*";
  case BIN_DIV:
    return "/";
  case BIN_MATMUL:
    return "@";
  case BIN_POW:
    return "**";
  case BIN_LT:
    return "<";
  case BIN_LE:
    return "<=";
  case BIN_GT:
    return ">";
  case BIN_GE:
    return ">=";
  case BIN_EQ:
    return "==";
  case BIN_NE:
    return "!=";
  }
  return "?";
}

const char *ast_dtype_name(AstDType t) { return dtype_name(t); }

const char *ast_kind_name(AstKind k) {
  static const char *const names[AST_KIND_COUNT] = {
      [AST_MODULE] = "Module",     [AST_IMPORT] = "Import", [AST_LAYER] = "Layer",
      [AST_CTPARAM] = "CtParam",   [AST_PARAM] = "Param",   [AST_STATE] = "State",
      [AST_INSTANCE] = "Instance", [AST_FN] = "Fn",         [AST_SHARE] = "Share",
      [AST_SECTION] = "Section",   [AST_FIELD] = "Field",   [AST_FNARG] = "FnArg",
      [AST_LET] = "Let",           [AST_RETURN] = "Return", [AST_STATE_UPDATE] = "StateUpdate",
      [AST_SCAN] = "Scan",         [AST_NEXT] = "Next",     [AST_EMIT] = "Emit",
      [AST_INT] = "Int",           [AST_FLOAT] = "Float",   [AST_STRING] = "String",
      [AST_BOOL] = "Bool",         [AST_NAME] = "Name",     [AST_MEMBER] = "Member",
      [AST_CALL] = "Call",         [AST_KWARG] = "Kwarg",   [AST_UNARY] = "Unary",
      [AST_BINARY] = "Binary",     [AST_LIST] = "List",     [AST_TUPLE] = "Tuple",
      [AST_TYPE] = "Type",         [AST_INDEX] = "Index",   [AST_SLICE] = "Slice",
      [AST_ELLIPSIS] = "Ellipsis",
  };
  if ((unsigned)k < AST_KIND_COUNT && names[k])
    return names[k];
  return "?";
}
