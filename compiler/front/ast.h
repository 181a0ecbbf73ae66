/* ast.h - the abstract syntax tree of a .nn module.
 *
 * The parser (grammar/parser.y) only builds nodes with the constructors
 * below; every node carries the SrcSpan it came from. Nodes live in the
 * compilation's arena. Lists are PtrVecs of AstNode*.
 *
 * Expression trees are bounded in depth (AST_MAX_DEPTH): the constructors
 * record each expression's depth and the parser rejects deeper ones, so the
 * recursive walkers in later stages can never exhaust the C stack.
 */
#ifndef NNC_AST_H
#define NNC_AST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "dtype.h"

enum { AST_MAX_DEPTH = 1000 };

typedef enum AstKind {
  /* top level */
  AST_MODULE, /* items: imports, layers, models */
  AST_IMPORT, /* import "path.nn" | import a.b.c */
  AST_LAYER,  /* layer/model Name(ctparams) { members } */

  /* layer members */
  AST_CTPARAM,  /* compile-time argument  name: int = default */
  AST_PARAM,    /* param name: type = init   (trainable)       */
  AST_STATE,    /* state name: type = init   (not trainable)   */
  AST_INSTANCE, /* name = Layer(args)  or  name = [Layer(args) for i in a..b] */
  AST_SHARE,    /* name = share other.path  (another instance's parameters) */
  AST_FN,       /* fn name(args) -> type { stmts }               */
  AST_SECTION,  /* train name { fields }  /  data { fields }      */
  AST_FIELD,    /* key = expr  inside a section                  */
  AST_FNARG,    /* name: type  (function parameter)              */

  /* statements */
  AST_LET,          /* let name [: type] = expr */
  AST_RETURN,       /* return expr */
  AST_STATE_UPDATE, /* state target <- expr (written after the training step) */
  AST_SCAN,         /* scan t in [reverse] lo..hi carry a = init, ... { stmts } */
  AST_NEXT,         /* next carry = expr, inside a scan (u.let, no type) */
  AST_EMIT,         /* emit name = expr, inside a scan (u.let, no type) */

  /* expressions */
  AST_INT,    /* 42 */
  AST_FLOAT,  /* 1.5e-3 */
  AST_STRING, /* "text" */
  AST_BOOL,   /* true / false */
  AST_NAME,   /* identifier */
  AST_MEMBER, /* expr.name */
  AST_CALL,   /* callee(args, key = value) */
  AST_KWARG,  /* key = value, only inside a call's argument list */
  AST_UNARY,  /* -x, !x */
  AST_BINARY, /* x op y */
  AST_LIST,   /* [a, b, c] */
  AST_TUPLE,  /* (a, b): several tensors, returned or bound together (u.list) */

  /* indexing */
  AST_INDEX,    /* x[i, a:b:s, ...] */
  AST_SLICE,    /* a:b:s inside an index, each part optional */
  AST_ELLIPSIS, /* ... inside an index */

  /* types */
  AST_TYPE, /* f32[B, 784], i32[B], f64 */

  AST_KIND_COUNT
} AstKind;

typedef enum AstBinOp {
  BIN_ADD,
  BIN_SUB,
  BIN_MUL,
  BIN_DIV,
  BIN_MATMUL,
  BIN_POW,
  BIN_LT,
  BIN_LE,
  BIN_GT,
  BIN_GE,
  BIN_EQ,
  BIN_NE,
} AstBinOp;

typedef enum AstUnOp { UN_NEG, UN_NOT } AstUnOp;

typedef DType AstDType;

/* Kinds of compile-time arguments of a layer. */
typedef enum AstCtKind { CT_INT, CT_FLOAT, CT_BOOL } AstCtKind;

typedef enum AstSectionKind { SEC_TRAIN, SEC_DATA, SEC_GENERATE } AstSectionKind;

typedef struct AstNode AstNode;

struct AstNode {
  AstKind kind;
  SrcSpan loc;
  int depth; /* expressions: 1 + max depth of sub-expressions */
  union {
    struct {
      PtrVec items;
      const char *path;
    } module;
    /* is_path: `import "x/y.nn"` (path as written); else dotted name a.b.c */
    struct {
      const char *name;
      bool is_path;
    } import;
    struct {
      const char *name;
      bool is_model;
      PtrVec ctparams; /* AST_CTPARAM */
      PtrVec members;  /* AST_PARAM, AST_STATE, AST_INSTANCE, AST_FN, AST_SECTION */
      SrcSpan name_loc;
    } layer;
    struct {
      const char *name;
      AstCtKind type;
      AstNode *deflt; /* may be NULL */
    } ctparam;
    /* AST_PARAM and AST_STATE */
    struct {
      const char *name;
      AstNode *type;
      AstNode *init; /* NULL: zeros */
    } param;
    struct {
      const char *name;
      AstNode *call;       /* AST_CALL whose callee is an AST_NAME naming a layer */
      const char *loopvar; /* repetition: [call for loopvar in lo..hi]; else NULL */
      AstNode *lo, *hi;    /* half-open range lo..hi */
    } instance;
    struct {
      const char *name;
      AstNode *target; /* AST_NAME or a chain of AST_MEMBER over one */
    } share;
    struct {
      const char *name;
      PtrVec args;  /* AST_FNARG */
      AstNode *ret; /* AST_TYPE or NULL */
      PtrVec body;  /* statements */
      SrcSpan name_loc;
    } fn;
    struct {
      const char *name;
      AstNode *type;
    } fnarg;
    struct {
      AstSectionKind kind;
      const char *name; /* may be NULL */
      PtrVec fields;
    } section;
    struct {
      const char *key;
      AstNode *value;
    } field;
    struct {
      const char *name;
      AstNode *type; /* may be NULL */
      AstNode *value;
      /* `let (a, b, c) = value` binds value under a hidden name with
       * unpack = 3, then a, b and c to its items */
      int unpack;
    } let;
    struct {
      AstNode *value;
    } ret;
    struct {
      const char *var; /* the step index */
      bool reverse;    /* steps run from hi - 1 down to lo */
      AstNode *lo, *hi;
      PtrVec carries; /* AST_LET: name = initial value */
      PtrVec body;    /* statements: let, next, emit, scan */
      PtrVec *outer;  /* the parser's statement list around it (parsing only) */
    } scan;
    struct {
      AstNode *target; /* a name (or member path) naming a state tensor */
      AstNode *value;
    } update;
    struct {
      int64_t value;
    } int_lit;
    struct {
      double value;
    } float_lit;
    struct {
      const char *value;
    } string_lit;
    struct {
      bool value;
    } bool_lit;
    struct {
      const char *name;
    } name;
    struct {
      AstNode *object;
      const char *name;
    } member;
    struct {
      AstNode *callee;
      PtrVec args; /* positional first, then AST_KWARG */
    } call;
    struct {
      const char *key;
      AstNode *value;
    } kwarg;
    struct {
      AstUnOp op;
      AstNode *operand;
    } unary;
    struct {
      AstBinOp op;
      AstNode *lhs, *rhs;
    } binary;
    struct {
      PtrVec items;
    } list;
    struct {
      AstNode *object;
      PtrVec items; /* expressions, AST_SLICE, AST_ELLIPSIS */
    } index;
    struct {
      AstNode *lo, *hi, *step; /* NULL when omitted */
      bool step_given;         /* a second ':' with nothing after it */
    } slice;
    /* dims: NULL-free list of dimension expressions; has_dims false = scalar */
    struct {
      AstDType dtype;
      bool has_dims;
      PtrVec dims;
    } type;
  } u;
};

/* Constructors: allocate from the arena, set kind, loc and depth. */
AstNode *ast_module(Arena *a, SrcSpan loc);
AstNode *ast_import(Arena *a, SrcSpan loc, const char *name, bool is_path);
AstNode *ast_layer(Arena *a, SrcSpan loc, SrcSpan name_loc, const char *name, bool is_model);
AstNode *ast_ctparam(Arena *a, SrcSpan loc, const char *name, AstCtKind type, AstNode *deflt);
AstNode *ast_param(Arena *a, SrcSpan loc, AstKind kind /* AST_PARAM|AST_STATE */, const char *name,
                   AstNode *type, AstNode *init);
AstNode *ast_instance(Arena *a, SrcSpan loc, const char *name, AstNode *call, const char *loopvar,
                      AstNode *lo, AstNode *hi);
AstNode *ast_share(Arena *a, SrcSpan loc, const char *name, AstNode *target);
AstNode *ast_fn(Arena *a, SrcSpan loc, SrcSpan name_loc, const char *name);
AstNode *ast_fnarg(Arena *a, SrcSpan loc, const char *name, AstNode *type);
AstNode *ast_section(Arena *a, SrcSpan loc, AstSectionKind kind, const char *name);
AstNode *ast_field(Arena *a, SrcSpan loc, const char *key, AstNode *value);
AstNode *ast_let(Arena *a, SrcSpan loc, const char *name, AstNode *type, AstNode *value);
AstNode *ast_return(Arena *a, SrcSpan loc, AstNode *value);
AstNode *ast_state_update(Arena *a, SrcSpan loc, AstNode *target, AstNode *value);
AstNode *ast_scan(Arena *a, SrcSpan loc, const char *var, bool reverse, AstNode *lo, AstNode *hi,
                  const PtrVec *carries);
/* kind AST_NEXT or AST_EMIT */
AstNode *ast_scan_out(Arena *a, SrcSpan loc, AstKind kind, const char *name, AstNode *value);
AstNode *ast_int(Arena *a, SrcSpan loc, int64_t v);
AstNode *ast_float(Arena *a, SrcSpan loc, double v);
AstNode *ast_string(Arena *a, SrcSpan loc, const char *v);
AstNode *ast_bool(Arena *a, SrcSpan loc, bool v);
AstNode *ast_name(Arena *a, SrcSpan loc, const char *name);
AstNode *ast_member(Arena *a, SrcSpan loc, AstNode *object, const char *name);
AstNode *ast_call(Arena *a, SrcSpan loc, AstNode *callee);
AstNode *ast_kwarg(Arena *a, SrcSpan loc, const char *key, AstNode *value);
AstNode *ast_unary(Arena *a, SrcSpan loc, AstUnOp op, AstNode *operand);
AstNode *ast_binary(Arena *a, SrcSpan loc, AstBinOp op, AstNode *lhs, AstNode *rhs);
AstNode *ast_list(Arena *a, SrcSpan loc);
AstNode *ast_tuple(Arena *a, SrcSpan loc);
AstNode *ast_index(Arena *a, SrcSpan loc, AstNode *object);
AstNode *ast_slice(Arena *a, SrcSpan loc, AstNode *lo, AstNode *hi, AstNode *step);
AstNode *ast_ellipsis(Arena *a, SrcSpan loc);
AstNode *ast_type(Arena *a, SrcSpan loc, AstDType dtype, bool has_dims);

/* Appends to a list-bearing node's list and updates depth. */
void ast_push(Arena *a, PtrVec *list, AstNode *item);
/* Call after finishing an AST_CALL / AST_LIST / AST_INDEX / AST_TYPE to fix its depth. */
void ast_update_depth(AstNode *n);

const char *ast_binop_text(AstBinOp op);
const char *ast_dtype_name(AstDType t);
const char *ast_kind_name(AstKind k);

/* --emit=ast: an indented tree, one node per line with its line:col. */
void ast_print(FILE *out, const AstNode *module, const Diag *d);

/* Entry point of the parser: parses one registered source file. Returns the
 * module (possibly partial) and reports syntax errors through d. */
AstNode *parse_source(Arena *a, Diag *d, int file);

#endif
