/* parser.y - the grammar of .nn modules (see SYNTAX.md); builds the AST.
 *
 * A pure bison parser driven by the reentrant flex scanner in lexer.l. The
 * actions only build nodes with the ast.h constructors: layers, functions and
 * sections are created as soon as their header is read and attached to their
 * parent at once, so a parse that stops early still leaves a partial tree.
 * `error` productions at top, member, statement and field level (plus inside
 * parameter lists) let one run report several independent mistakes.
 * parse_source() at the bottom is the entry point declared in ast.h.
 */

%require "3.8"
%define api.pure full
%define parse.error custom
%define parse.lac full
%locations
%define api.location.type {SrcSpan}
%param {yyscan_t scanner} {ParseCtx *ctx}
%expect 0

%code requires {
#include <stdbool.h>
#include <stddef.h>

#include "ast.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* State shared by the scanner and the parser for one source file. */
typedef struct ParseCtx {
  Arena *arena;
  Diag *diag;
  int file;           /* SourceMap id of the file being parsed */
  AstNode *module;    /* the result; items are appended as they are parsed */
  AstNode *layer;     /* innermost open layer/model, fn and section */
  AstNode *fn;
  PtrVec *stmts;      /* where statements go: the fn's body or an open scan's */
  AstNode *section;
  int line, col;      /* scanner position of the next byte (1-based) */
  int nesting;        /* open ( [ { */
  SrcSpan comment_at; /* where the open block comment began */
  int ntokens;        /* tokens read so far */
  int error_line;     /* line and token number of the last error reported */
  int error_tok;
  bool stop;          /* a fatal error was reported: parsing ends now */
  bool eof_in_error;  /* input ended inside a comment: no "unexpected end" too */
} ParseCtx;
}

%code provides {
/* Implemented in lexer.l. */
int nn_lex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
/* Creates a scanner over text[0..len) (which may hold NUL bytes). */
yyscan_t nn_lex_open(ParseCtx *ctx, const char *text, size_t len);
void nn_lex_close(yyscan_t scanner);
}

%code {
#include <limits.h>
#include <string.h>

/* Like bison's default, but also carries the file id. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                            \
  do {                                                                         \
    if (N) {                                                                   \
      (Cur).file = YYRHSLOC(Rhs, 1).file;                                      \
      (Cur).first_line = YYRHSLOC(Rhs, 1).first_line;                          \
      (Cur).first_column = YYRHSLOC(Rhs, 1).first_column;                      \
      (Cur).last_line = YYRHSLOC(Rhs, N).last_line;                            \
      (Cur).last_column = YYRHSLOC(Rhs, N).last_column;                        \
    } else {                                                                   \
      (Cur).file = YYRHSLOC(Rhs, 0).file;                                      \
      (Cur).first_line = (Cur).last_line = YYRHSLOC(Rhs, 0).last_line;        \
      (Cur).first_column = (Cur).last_column = YYRHSLOC(Rhs, 0).last_column;   \
    }                                                                          \
  } while (0)

#define A (ctx->arena)

/* Ends the parse once too many errors were reported or a fatal one was. */
#define STOP_IF_NEEDED()                                                       \
  do {                                                                         \
    if (ctx->stop || diag_should_stop(ctx->diag))                              \
      YYABORT;                                                                 \
  } while (0)

/* Rejects expressions deeper than AST_MAX_DEPTH (see ast.h). */
#define CHECK_DEPTH(node)                                                      \
  do {                                                                         \
    if ((node)->depth > AST_MAX_DEPTH) {                                       \
      report_too_deep(ctx, (node)->loc);                                       \
      YYABORT;                                                                 \
    }                                                                          \
  } while (0)

static int yylex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner, ParseCtx *ctx);
static void yyerror(const YYLTYPE *loc, yyscan_t scanner, ParseCtx *ctx, const char *msg);
static void report_too_deep(ParseCtx *ctx, SrcSpan at);
static void push_str(Arena *a, PtrVec *v, const char *s);
static const char *join_dotted(Arena *a, const PtrVec *parts);
static void add_member(ParseCtx *ctx, AstNode *n);
static void push_destructure(ParseCtx *ctx, SrcSpan at, const char *first, const PtrVec *rest,
                             AstNode *value);
static bool is_call(ParseCtx *ctx, const AstNode *n);
static AstNode *finish(AstNode *n, PtrVec items);
static void check_arg_order(ParseCtx *ctx, const PtrVec *args, const AstNode *next);
}

%union {
  AstNode *node;
  const char *str;
  int64_t ival;
  double fval;
  PtrVec vec;
  int op;
}

%token <str>  IDENT      "identifier"
%token <ival> INT_LIT    "integer literal"
%token <fval> FLOAT_LIT  "float literal"
%token <str>  STRING_LIT "string literal"

%token KW_IMPORT "import" KW_LAYER "layer" KW_MODEL "model" KW_PARAM "param"
       KW_STATE "state" KW_FN "fn" KW_LET "let" KW_RETURN "return"
       KW_TRAIN "train" KW_DATA "data" KW_GENERATE "generate" KW_FOR "for" KW_IN "in"
       KW_TRUE "true" KW_FALSE "false" KW_F32 "f32" KW_F64 "f64" KW_I32 "i32"
       KW_BOOL "bool" KW_INT "int" KW_FLOAT "float"
       KW_SCAN "scan" KW_CARRY "carry" KW_NEXT "next" KW_EMIT "emit"
       KW_REVERSE "reverse" KW_SHARE "share"

%token LPAREN "(" RPAREN ")" LBRACK "[" RBRACK "]" LBRACE "{" RBRACE "}"
       COMMA "," COLON ":" SEMI ";" DOT "." DOTDOT ".." ELLIPSIS "..." ARROW "->"
       ASSIGN "=" PLUS "+" MINUS "-" STAR "*" SLASH "/" AT "@" POW "**"
       LT "<" LE "<=" GT ">" GE ">=" EQ "==" NE "!=" BANG "!"

%type <node> import type ct_default init let_type expr sum term unary power
%type <node> postfix call primary arg subscript slice_bound scan_head
%type <str>  name section_name cast_type
%type <vec>  dotted expr_list args arg_list subscripts scan_carries carry_list type_list
            name_list
%type <ival> scan_dir
%type <op>   ct_type dtype cmp_op

%initial-action {
  @$ = (SrcSpan){ctx->file, 1, 1, 1, 1};
  (void)yynerrs; /* bison's error count; diag keeps ours (clang warns otherwise) */
}

%start module

%%

/* ---- top level ---- */

module
  : %empty
  | module import               { ast_push(A, &ctx->module->u.module.items, $2); }
  | module layer
  | module error                { STOP_IF_NEEDED(); }
  ;

import
  : "import" STRING_LIT         { $$ = ast_import(A, @$, $2, true); }
  | "import" dotted             { $$ = ast_import(A, @$, join_dotted(A, &$2), false); }
  ;

dotted
  : name                        { $$ = (PtrVec){0}; push_str(A, &$$, $1); }
  | dotted "." name             { $$ = $1; push_str(A, &$$, $3); }
  ;

/* `in` is a keyword only inside `for i in a..b`; elsewhere it is a name
 * (layer Dense(in: int, out: int) is the canonical example). */
name
  : IDENT
  | "in"                        { $$ = "in"; }
  ;

/* ---- layers and models ---- */

layer
  : layer_head ctparams "{" members "}"   { ctx->layer->loc = @$; }
  | layer_head error "{" members "}"      { ctx->layer->loc = @$; STOP_IF_NEEDED(); }
  ;

layer_head
  : "layer" name {
      ctx->layer = ast_layer(A, @$, @2, $2, false);
      ast_push(A, &ctx->module->u.module.items, ctx->layer);
    }
  | "model" name {
      ctx->layer = ast_layer(A, @$, @2, $2, true);
      ast_push(A, &ctx->module->u.module.items, ctx->layer);
    }
  ;

ctparams
  : %empty
  | "(" ")"
  | "(" ctparam_list ")"
  | "(" ctparam_list "," ")"
  | "(" error ")"               { STOP_IF_NEEDED(); }
  ;

ctparam_list
  : ctparam
  | ctparam_list "," ctparam
  ;

ctparam
  : name ":" ct_type ct_default {
      ast_push(A, &ctx->layer->u.layer.ctparams, ast_ctparam(A, @$, $1, (AstCtKind)$3, $4));
    }
  ;

ct_type
  : "int"                       { $$ = CT_INT; }
  | "float"                     { $$ = CT_FLOAT; }
  | "bool"                      { $$ = CT_BOOL; }
  ;

ct_default
  : %empty                      { $$ = NULL; }
  | "=" expr                    { $$ = $2; }
  ;

members
  : %empty
  | members member
  | members error               { STOP_IF_NEEDED(); }
  ;

member
  : "param" name ":" type init  { add_member(ctx, ast_param(A, @$, AST_PARAM, $2, $4, $5)); }
  | "state" name ":" type init  { add_member(ctx, ast_param(A, @$, AST_STATE, $2, $4, $5)); }
  /* A sub-layer instance must be a call; any expression is accepted here so
   * that `fc = 3` gets a clear message instead of a puzzling syntax error. */
  | name "=" expr {
      if (is_call(ctx, $3))
        add_member(ctx, ast_instance(A, @$, $1, $3, NULL, NULL, NULL));
    }
  | name "=" "share" expr        { add_member(ctx, ast_share(A, @$, $1, $4)); }
  | name "=" "[" expr "for" name "in" expr ".." expr "]" {
      if (is_call(ctx, $4))
        add_member(ctx, ast_instance(A, @$, $1, $4, $6, $8, $10));
    }
  | fn
  | section
  | ";"
  ;

init
  : %empty                      { $$ = NULL; }
  | "=" expr                    { $$ = $2; }
  ;

/* ---- functions ---- */

fn
  : fn_head fn_params fn_ret "{" stmts "}"  { ctx->fn->loc = @$; }
  | fn_head error "{" stmts "}"             { ctx->fn->loc = @$; STOP_IF_NEEDED(); }
  ;

fn_head
  : "fn" name {
      ctx->fn = ast_fn(A, @$, @2, $2);
      ctx->stmts = &ctx->fn->u.fn.body;
      add_member(ctx, ctx->fn);
    }
  ;

fn_params
  : "(" ")"
  | "(" fnarg_list ")"
  | "(" fnarg_list "," ")"
  | "(" error ")"               { STOP_IF_NEEDED(); }
  ;

fnarg_list
  : fnarg
  | fnarg_list "," fnarg
  ;

fnarg
  : name ":" type               { ast_push(A, &ctx->fn->u.fn.args, ast_fnarg(A, @$, $1, $3)); }
  ;

fn_ret
  : %empty
  | "->" type                   { ctx->fn->u.fn.ret = $2; }
    /* several results: a tuple, at least two */
  | "->" "(" type "," type_list ")" {
      PtrVec ts = {0};
      ast_push(A, &ts, $3);
      for (int i = 0; i < $5.len; i++)
        ast_push(A, &ts, $5.items[i]);
      ctx->fn->u.fn.ret = finish(ast_tuple(A, @2), ts);
    }
  ;

type_list
  : type                        { $$ = (PtrVec){0}; ast_push(A, &$$, $1); }
  | type_list "," type          { $$ = $1; ast_push(A, &$$, $3); }
  ;

name_list
  : name                        { $$ = (PtrVec){0}; push_str(A, &$$, $1); }
  | name_list "," name          { $$ = $1; push_str(A, &$$, $3); }
  ;

stmts
  : %empty
  | stmts stmt
  | stmts error                 { STOP_IF_NEEDED(); }
  ;

stmt
  : "let" name let_type "=" expr {
      ast_push(A, ctx->stmts, ast_let(A, @$, $2, $3, $5));
    }
  | "return" expr               { ast_push(A, ctx->stmts, ast_return(A, @$, $2)); }
    /* let (a, b) = f(x): the tuple bound under a hidden name, each name
     * one of its items */
  | "let" "(" name "," name_list ")" "=" expr {
      push_destructure(ctx, @$, $3, &$5, $8);
    }
    /* `<-` is two tokens, so that `a<-1` in an expression still reads a < -1 */
  | "state" postfix "<" "-" expr {
      ast_push(A, ctx->stmts, ast_state_update(A, @$, $2, $5));
    }
  | "next" name "=" expr        { ast_push(A, ctx->stmts, ast_scan_out(A, @$, AST_NEXT, $2, $4)); }
  | "emit" name "=" expr        { ast_push(A, ctx->stmts, ast_scan_out(A, @$, AST_EMIT, $2, $4)); }
  | scan_head "{" stmts "}"     {
      $1->loc = @$;
      ctx->stmts = $1->u.scan.outer;
    }
  | ";"
  ;

/* The scan node is pushed where it stands, then statements go into its body
 * until its closing brace (scans nest). */
scan_head
  : "scan" name "in" scan_dir expr ".." expr scan_carries {
      $$ = ast_scan(A, @$, $2, $4, $5, $7, &$8);
      ast_push(A, ctx->stmts, $$);
      $$->u.scan.outer = ctx->stmts;
      ctx->stmts = &$$->u.scan.body;
    }
  ;

scan_dir
  : %empty                      { $$ = 0; }
  | "reverse"                   { $$ = 1; }
  ;

scan_carries
  : %empty                      { $$ = (PtrVec){0}; }
  | "carry" carry_list          { $$ = $2; }
  ;

carry_list
  : name "=" expr               { $$ = (PtrVec){0}; ast_push(A, &$$, ast_let(A, @$, $1, NULL, $3)); }
  | carry_list "," name "=" expr {
      $$ = $1;
      ast_push(A, &$$, ast_let(A, @3, $3, NULL, $5));
    }
  ;

let_type
  : %empty                      { $$ = NULL; }
  | ":" type                    { $$ = $2; }
  ;

/* ---- train / data sections ---- */

section
  : section_head "{" fields "}" { ctx->section->loc = @$; }
  ;

section_head
  : "train" name {
      ctx->section = ast_section(A, @$, SEC_TRAIN, $2);
      add_member(ctx, ctx->section);
    }
  | "data" section_name {
      ctx->section = ast_section(A, @$, SEC_DATA, $2);
      add_member(ctx, ctx->section);
    }
  | "generate" {
      ctx->section = ast_section(A, @$, SEC_GENERATE, NULL);
      add_member(ctx, ctx->section);
    }
  ;

section_name
  : %empty                      { $$ = NULL; }
  | name
  ;

fields
  : %empty
  | fields field
  | fields error                { STOP_IF_NEEDED(); }
  ;

field
  : name "=" expr {
      ast_push(A, &ctx->section->u.section.fields, ast_field(A, @$, $1, $3));
    }
  | ";"
  ;

/* ---- types ---- */

type
  : dtype                       { $$ = ast_type(A, @$, (AstDType)$1, false); }
  | dtype "[" "]"               { $$ = ast_type(A, @$, (AstDType)$1, true); }
  | dtype "[" expr_list "]" {
      $$ = finish(ast_type(A, @$, (AstDType)$1, true), $3);
      CHECK_DEPTH($$);
    }
  ;

dtype
  : "f32"                       { $$ = DT_F32; }
  | "f64"                       { $$ = DT_F64; }
  | "i32"                       { $$ = DT_I32; }
  | "bool"                      { $$ = DT_BOOL; }
  ;

/* ---- expressions, lowest precedence first ---- */

expr
  : sum
  | sum cmp_op sum              { $$ = ast_binary(A, @$, (AstBinOp)$2, $1, $3); CHECK_DEPTH($$); }
  ;

cmp_op
  : "<"                         { $$ = BIN_LT; }
  | "<="                        { $$ = BIN_LE; }
  | ">"                         { $$ = BIN_GT; }
  | ">="                        { $$ = BIN_GE; }
  | "=="                        { $$ = BIN_EQ; }
  | "!="                        { $$ = BIN_NE; }
  ;

sum
  : term
  | sum "+" term                { $$ = ast_binary(A, @$, BIN_ADD, $1, $3); CHECK_DEPTH($$); }
  | sum "-" term                { $$ = ast_binary(A, @$, BIN_SUB, $1, $3); CHECK_DEPTH($$); }
  ;

term
  : unary
  | term "*" unary              { $$ = ast_binary(A, @$, BIN_MUL, $1, $3); CHECK_DEPTH($$); }
  | term "/" unary              { $$ = ast_binary(A, @$, BIN_DIV, $1, $3); CHECK_DEPTH($$); }
  | term "@" unary              { $$ = ast_binary(A, @$, BIN_MATMUL, $1, $3); CHECK_DEPTH($$); }
  ;

unary
  : power
  | "-" unary                   { $$ = ast_unary(A, @$, UN_NEG, $2); CHECK_DEPTH($$); }
  | "!" unary                   { $$ = ast_unary(A, @$, UN_NOT, $2); CHECK_DEPTH($$); }
  ;

/* Right-associative and tighter than a unary minus on its left:
 * -x**2 is -(x**2), 2**-1 is 2**(-1), a**b**c is a**(b**c). */
power
  : postfix
  | postfix "**" unary          { $$ = ast_binary(A, @$, BIN_POW, $1, $3); CHECK_DEPTH($$); }
  ;

postfix
  : primary
  | call
  | postfix "." name            { $$ = ast_member(A, @$, $1, $3); CHECK_DEPTH($$); }
  | postfix "[" subscripts "]"  { $$ = finish(ast_index(A, @$, $1), $3); CHECK_DEPTH($$); }
  ;

/* x[i], x[a:b:s], x[..., -1]: NumPy's basic indexing */
subscripts
  : subscript                   { $$ = (PtrVec){0}; ast_push(A, &$$, $1); }
  | subscripts "," subscript    { $$ = $1; ast_push(A, &$$, $3); }
  ;

subscript
  : expr
  | "..."                       { $$ = ast_ellipsis(A, @$); }
  | slice_bound ":" slice_bound { $$ = ast_slice(A, @$, $1, $3, NULL); CHECK_DEPTH($$); }
  | slice_bound ":" slice_bound ":" slice_bound {
      $$ = ast_slice(A, @$, $1, $3, $5);
      if (!$5) /* x[a:b:] */
        $$->u.slice.step_given = true;
      CHECK_DEPTH($$);
    }
  ;

slice_bound
  : %empty                      { $$ = NULL; }
  | expr
  ;

call
  : postfix "(" args ")" {
      $$ = finish(ast_call(A, @$, $1), $3);
      CHECK_DEPTH($$);
    }
  | cast_type "(" args ")" {
      $$ = finish(ast_call(A, @$, ast_name(A, @1, $1)), $3);
      CHECK_DEPTH($$);
    }
  ;

/* f32(x), f64(x), i32(x): casts are builtins named by the type keyword */
cast_type
  : "f32"                       { $$ = "f32"; }
  | "f64"                       { $$ = "f64"; }
  | "i32"                       { $$ = "i32"; }
  ;

args
  : %empty                      { $$ = (PtrVec){0}; }
  | arg_list
  | arg_list ","
  ;

arg_list
  : arg                         { $$ = (PtrVec){0}; ast_push(A, &$$, $1); }
  | arg_list "," arg            {
      $$ = $1;
      check_arg_order(ctx, &$$, $3);
      ast_push(A, &$$, $3);
    }
  ;

arg
  : expr
  | name "=" expr               { $$ = ast_kwarg(A, @$, $1, $3); CHECK_DEPTH($$); }
  ;

primary
  : INT_LIT                     { $$ = ast_int(A, @$, $1); }
  | FLOAT_LIT                   { $$ = ast_float(A, @$, $1); }
  | STRING_LIT                  { $$ = ast_string(A, @$, $1); }
  | "true"                      { $$ = ast_bool(A, @$, true); }
  | "false"                     { $$ = ast_bool(A, @$, false); }
  | name                        { $$ = ast_name(A, @$, $1); }
  | "(" expr ")"                { $$ = $2; }
  | "(" expr "," expr_list ")"  {
      PtrVec items = {0};
      ast_push(A, &items, $2);
      for (int i = 0; i < $4.len; i++)
        ast_push(A, &items, $4.items[i]);
      $$ = finish(ast_tuple(A, @$), items);
      CHECK_DEPTH($$);
    }
  | "[" "]"                     { $$ = ast_list(A, @$); }
  | "[" expr_list "]"           { $$ = finish(ast_list(A, @$), $2); CHECK_DEPTH($$); }
  | "[" expr_list "," "]"       { $$ = finish(ast_list(A, @$), $2); CHECK_DEPTH($$); }
  ;

expr_list
  : expr                        { $$ = (PtrVec){0}; ast_push(A, &$$, $1); }
  | expr_list "," expr          { $$ = $1; ast_push(A, &$$, $3); }
  ;

%%

/* ---- helpers used by the actions ---- */

static void push_str(Arena *a, PtrVec *v, const char *s) { arena_ptrvec_push(a, v, (void *)s); }

/* Joins a.b.c once at the end, so a long dotted name stays linear. */
static const char *join_dotted(Arena *a, const PtrVec *parts) {
  size_t len = 0;
  for (int i = 0; i < parts->len; i++)
    len += strlen(parts->items[i]) + 1;
  char *s = arena_alloc(a, len + 1), *p = s;
  for (int i = 0; i < parts->len; i++) {
    if (i)
      *p++ = '.';
    size_t n = strlen(parts->items[i]);
    memcpy(p, parts->items[i], n);
    p += n;
  }
  *p = '\0';
  return s;
}

/* `let (a, b, c) = value` is `let <tuple> = value` (a name no source can
 * write) followed by `let a = <tuple>[0]`, `let b = <tuple>[1]`, ... */
static void push_destructure(ParseCtx *ctx, SrcSpan at, const char *first, const PtrVec *rest,
                             AstNode *value) {
  Arena *a = ctx->arena;
  const char *hidden = arena_printf(a, "(tuple@%d:%d)", at.first_line, at.first_column);
  AstNode *whole = ast_let(a, at, hidden, NULL, value);
  whole->u.let.unpack = rest->len + 1;
  ast_push(a, ctx->stmts, whole);
  for (int i = 0; i <= rest->len; i++) {
    AstNode *ix = ast_index(a, at, ast_name(a, at, hidden));
    PtrVec items = {0};
    ast_push(a, &items, ast_int(a, at, i));
    ix = finish(ix, items);
    ast_push(a, ctx->stmts, ast_let(a, at, i ? rest->items[i - 1] : first, NULL, ix));
  }
}

static void add_member(ParseCtx *ctx, AstNode *n) {
  ast_push(ctx->arena, &ctx->layer->u.layer.members, n);
}

/* Checks that a sub-layer instance's value is a call, reporting it if not. */
/* Keyword arguments come last, as in Python: `f(k = 1, 2)` would bind 2 by
 * position after a keyword, which reads as a mistake. */
static void check_arg_order(ParseCtx *ctx, const PtrVec *args, const AstNode *next) {
  if (next->kind == AST_KWARG || args->len == 0)
    return;
  const AstNode *last = args->items[args->len - 1];
  if (last->kind == AST_KWARG)
    diag_error(ctx->diag, next->loc, "positional argument after keyword argument '%s'",
               last->u.kwarg.key);
}

static bool is_call(ParseCtx *ctx, const AstNode *n) {
  if (n->kind == AST_CALL)
    return true;
  diag_error(ctx->diag, n->loc, "syntax error: a sub-layer must be a layer call, like 'Linear(64, 128)'");
  ctx->error_line = n->loc.last_line;
  ctx->error_tok = ctx->ntokens;
  return false;
}

/* Gives a call, list or type its element list and fixes its depth. */
static AstNode *finish(AstNode *n, PtrVec items) {
  switch (n->kind) {
  case AST_CALL: n->u.call.args = items; break;
  case AST_LIST:
  case AST_TUPLE: n->u.list.items = items; break;
  case AST_INDEX: n->u.index.items = items; break;
  case AST_TYPE: n->u.type.dims = items; break;
  default: NNC_BUG("finish() on a %s node", ast_kind_name(n->kind));
  }
  ast_update_depth(n);
  return n;
}

static void report_too_deep(ParseCtx *ctx, SrcSpan at) {
  diag_error(ctx->diag, at, "expression is nested too deeply (more than %d levels)", AST_MAX_DEPTH);
  ctx->stop = true;
}

/* The scanner reports fatal problems (nesting too deep) by setting
 * ctx->stop; after that, and once diag's error cap is reached, the parser
 * sees only end of file and winds down without further messages. */
static int yylex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner, ParseCtx *ctx) {
  if (!ctx->stop && !diag_should_stop(ctx->diag)) {
    int errors = ctx->diag->errors;
    int tok = nn_lex(lval, lloc, scanner);
    ctx->ntokens++;
    if (ctx->diag->errors != errors) { /* see yyreport_syntax_error */
      ctx->error_line = lloc->first_line;
      ctx->error_tok = ctx->ntokens;
    }
    if (!ctx->stop && !diag_should_stop(ctx->diag))
      return tok;
  }
  ctx->stop = true;
  return YYEOF;
}

/* Called only when bison's stack is exhausted. With ( [ { nesting bounded by
 * the scanner, that takes a very long chain of prefix operators or `**`. */
static void yyerror(const YYLTYPE *loc, yyscan_t scanner, ParseCtx *ctx, const char *msg) {
  (void)scanner;
  (void)msg;
  if (!ctx->stop)
    report_too_deep(ctx, *loc);
}

/* ---- syntax error messages ---- */

/* A readable, quoted name of a token: 'identifier', '}', 'let'. */
static const char *token_text(Arena *a, yysymbol_kind_t sym) {
  if (sym == YYSYMBOL_YYEOF)
    return "end of file";
  const char *s = yysymbol_name(sym);
  size_t n = strlen(s);
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') { /* bison keeps the alias's quotes */
    s++;
    n -= 2;
  }
  return arena_printf(a, "'%.*s'", (int)n, s);
}

static bool is_expr_start(yysymbol_kind_t sym) {
  switch (sym) {
  case YYSYMBOL_IDENT: case YYSYMBOL_INT_LIT: case YYSYMBOL_FLOAT_LIT:
  case YYSYMBOL_STRING_LIT: case YYSYMBOL_KW_TRUE: case YYSYMBOL_KW_FALSE:
  case YYSYMBOL_KW_IN: case YYSYMBOL_LPAREN: case YYSYMBOL_LBRACK:
  case YYSYMBOL_MINUS: case YYSYMBOL_BANG:
  case YYSYMBOL_KW_F32: case YYSYMBOL_KW_F64: case YYSYMBOL_KW_I32: /* casts */
    return true;
  default:
    return false;
  }
}

/* Tokens that would continue a complete expression. */
static bool is_expr_continuation(yysymbol_kind_t sym) {
  switch (sym) {
  case YYSYMBOL_PLUS: case YYSYMBOL_MINUS: case YYSYMBOL_STAR: case YYSYMBOL_SLASH:
  case YYSYMBOL_AT: case YYSYMBOL_POW: case YYSYMBOL_LT: case YYSYMBOL_LE:
  case YYSYMBOL_GT: case YYSYMBOL_GE: case YYSYMBOL_EQ: case YYSYMBOL_NE:
  case YYSYMBOL_LPAREN: case YYSYMBOL_DOT: case YYSYMBOL_LBRACK:
    return true;
  default:
    return false;
  }
}

static bool is_comparison(yysymbol_kind_t sym) {
  return sym == YYSYMBOL_LT || sym == YYSYMBOL_LE || sym == YYSYMBOL_GT || sym == YYSYMBOL_GE ||
         sym == YYSYMBOL_EQ || sym == YYSYMBOL_NE;
}

/* True when the parser has just read an operand: '+' could come next. */
static bool after_operand(const yysymbol_kind_t *exp, int n) {
  for (int i = 0; i < n; i++)
    if (exp[i] == YYSYMBOL_PLUS)
      return true;
  return false;
}

enum { MAX_LISTED = 8 }; /* longer "expected" lists are more noise than help */

/* ", expected X, Y or Z" for the tokens that could have come instead, or ""
 * when that list would not help. To keep it short and to the point: an
 * expression's many first tokens are summed up as "expression"; after a
 * complete expression the operators that could extend it are left out (the
 * interesting news is which closer or separator was missing); the optional
 * ';' is never listed, nor the contextual keyword `in` next to 'identifier'. */
static const char *expected_text(Arena *a, const yysymbol_kind_t *exp, int n) {
  bool in_set[YYNTOKENS] = {false};
  for (int i = 0; i < n; i++)
    in_set[exp[i]] = true;
  bool expr = true;
  for (int s = 0; s < YYNTOKENS; s++)
    if (is_expr_start((yysymbol_kind_t)s) && !in_set[s])
      expr = false;
  bool after_expr = in_set[YYSYMBOL_PLUS];
  const char *items[YYNTOKENS + 1];
  int k = 0;
  if (expr)
    items[k++] = "expression";
  for (int s = 0; s < YYNTOKENS; s++) {
    yysymbol_kind_t sym = (yysymbol_kind_t)s;
    if (!in_set[s] || (expr && is_expr_start(sym)) || (after_expr && is_expr_continuation(sym)) ||
        sym == YYSYMBOL_SEMI || (sym == YYSYMBOL_KW_IN && in_set[YYSYMBOL_IDENT]))
      continue;
    items[k++] = token_text(a, sym);
  }
  if (k == 0 || k > MAX_LISTED)
    return "";
  const char *s = ", expected ";
  for (int i = 0; i < k; i++)
    s = arena_printf(a, "%s%s%s", s, i == 0 ? "" : i == k - 1 ? " or " : ", ", items[i]);
  return s;
}

/* A syntax error on the same line as the previous error and only a few
 * tokens after it is nearly always a consequence of the first (bison's own
 * rule, three tokens shifted, lets `f(a = , b = 1)` report the ')' too). */
enum { CASCADE_TOKENS = 6 };

static int yyreport_syntax_error(const yypcontext_t *pctx, yyscan_t scanner, ParseCtx *ctx) {
  (void)scanner;
  yysymbol_kind_t tok = yypcontext_token(pctx);
  const YYLTYPE *at = yypcontext_location(pctx);
  if (ctx->stop || (ctx->eof_in_error && tok == YYSYMBOL_YYEOF))
    return 0;
  if (at->first_line == ctx->error_line && ctx->ntokens - ctx->error_tok <= CASCADE_TOKENS)
    return 0;
  yysymbol_kind_t exp[YYNTOKENS];
  int n = yypcontext_expected_tokens(pctx, exp, YYNTOKENS);
  if (n < 0)
    n = 0;
  if (is_comparison(tok) && after_operand(exp, n))
    diag_error(ctx->diag, *at, "syntax error: comparisons cannot be chained; use parentheses");
  else
    diag_error(ctx->diag, *at, "syntax error: unexpected %s%s", token_text(ctx->arena, tok),
               expected_text(ctx->arena, exp, n));
  ctx->error_line = at->first_line;
  ctx->error_tok = ctx->ntokens;
  return 0;
}

/* ---- entry point ---- */

AstNode *parse_source(Arena *a, Diag *d, int file) {
  const SourceFile *src = diag_source(d, file);
  if (!src)
    NNC_BUG("parse_source: unknown file id %d", file);
  SrcSpan start = {file, 1, 1, 1, 1};
  AstNode *module = ast_module(a, start);
  module->u.module.path = src->path;
  /* flex takes the length as an int, and columns are ints too. */
  if (src->len > (size_t)INT_MAX / 2) {
    diag_error(d, start, "source file is too large (%zu bytes)", src->len);
    return module;
  }
  ParseCtx ctx = {.arena = a, .diag = d, .file = file, .module = module, .line = 1, .col = 1};
  yyscan_t scanner = nn_lex_open(&ctx, src->text, src->len);
  yyparse(scanner, &ctx);
  nn_lex_close(scanner);
  return module;
}
