/* elab.h - elaboration: from checked declarations to one IrModule per model.
 *
 * Elaboration instantiates a model's layer tree (evaluating compile-time
 * arguments, giving every parameter its dotted name), then lowers each of the
 * model's functions to IR by evaluating its body: layer calls are inlined,
 * each op's shape rule runs as the op is built, and argument types are matched
 * against the callee's declared types, binding its symbolic dimensions.
 *
 * Layers that no model uses are still checked: they are elaborated
 * "generically", with their int arguments as symbolic dimensions, and the IR
 * is thrown away.
 *
 * consteval.c  compile-time values (CtVal), dims and types from the AST
 * instance.c   the instance tree and parameters
 * lower.c      function bodies to IR, calls, type matching
 * builtins*.c  the builtin functions (relu, sum, reshape, ...) as IR ops,
 *              one file per concern, bound and registered by builtins.c
 * einsum.c     einsum as transposes, reshapes and matmuls
 */
#ifndef NNC_ELAB_H
#define NNC_ELAB_H

#include "ast.h"
#include "ir.h"
#include "program.h"
#include "strmap.h"

typedef enum CtKind { CV_INT, CV_FLOAT, CV_BOOL, CV_STRING } CtKind;

/* A compile-time value. Ints are dims so that, in a generic check, an int
 * argument can be a symbol; `unknown` marks values a generic check cannot
 * know (float and bool arguments, arithmetic beyond monomials). */
typedef struct CtVal {
  CtKind kind;
  bool unknown;
  Dim dim;       /* CV_INT */
  double f;      /* CV_FLOAT */
  bool b;        /* CV_BOOL */
  const char *s; /* CV_STRING */
} CtVal;

typedef struct Instance Instance;

typedef enum MemberKind { MEM_PARAM, MEM_INSTANCE, MEM_REPEAT, MEM_FN, MEM_SECTION } MemberKind;

typedef struct Member {
  MemberKind kind;
  const AstNode *ast;
  int param;      /* MEM_PARAM: index in the IrModule */
  Instance *inst; /* MEM_INSTANCE */
  PtrVec repeats; /* MEM_REPEAT: Instance* in order */
  /* A `share` member (its ast an AST_SHARE) becomes the MEM_INSTANCE or
   * MEM_REPEAT it names once its layer's members all exist; the state
   * catches a chain of shares that comes back to itself and keeps a failed
   * share from being reported twice. */
  enum { SHARE_OPEN, SHARE_RESOLVING, SHARE_DONE } share;
} Member;

struct Instance {
  const AstNode *layer; /* AST_LAYER */
  const char *path;     /* "" for the model itself, else "fc1", "blocks.2" */
  CtVal *args;          /* one per ctparam of the layer */
  StrMap members;       /* name -> Member* */
  Instance *parent;
  SrcSpan site; /* the member declaration that made it */
};

/* Names a compile-time expression can see: the instance's ctparams and, in a
 * repetition, the loop variable. */
typedef struct CtEnv {
  const Instance *inst;
  const char *loopvar;
  CtVal loopval;
} CtEnv;

/* How names in dimension expressions that are not compile-time values are
 * treated: looked up in (and, for plain names, added to) `dims`. */
typedef enum DimMode {
  DIMS_BIND,  /* names must be in `dims` (bound from plain-name dims first) */
  DIMS_FIXED, /* parameter types: every dim must be a compile-time int */
} DimMode;

typedef struct Elab {
  Program *prog;
  Arena *arena;
  Diag *diag;
  IrModule *mod;
  bool generic;
  int inst_depth;
  bool reported_depth;
  IrValue **param_vals; /* per-function cache of PARAM values */
  int nparam_vals;
  IrFunc *func;       /* function being built */
  bool training;      /* the value of the built-in `training` while lowering */
  bool used_training; /* the function read it (or called dropout) */
  int next_stream;    /* the stream of the function's next random op */
  PtrVec recursive;   /* functions already reported as recursive */
} Elab;

/* consteval.c */
bool consteval_expr(Elab *e, const CtEnv *env, const AstNode *x, CtVal *out);
bool consteval_int(Elab *e, const CtEnv *env, const AstNode *x, int64_t *out, bool *unknown);
const char *consteval_kind_name(CtKind k);
const char *consteval_str(Elab *e, const CtVal *v);
/* Evaluates a dim expression. `dims` maps names of symbolic dims to Dim*;
 * a name in neither env nor dims is an error. Symbols come only from dims
 * that are a plain name (B, not B*T), which is what makes them inferable. */
bool consteval_dim(Elab *e, const CtEnv *env, StrMap *dims, DimMode mode, const AstNode *x,
                   Dim *out);
bool consteval_type(Elab *e, const CtEnv *env, StrMap *dims, DimMode mode, const AstNode *t,
                    TType *out);
/* DIMS_BIND, first pass: binds each plain-name dim of `t` that is not a
 * compile-time value to the matching dim of `actual`; a name bound twice to
 * different dims is reported by the caller's comparison afterwards. With
 * `actual` NULL (entry points) each such name becomes a new symbolic dim. */
/* A new symbolic dimension; an error (and an unknown dim) when the module
 * has DIM_MAX_SYMBOLS already. */
Dim new_dim_sym(Elab *e, const char *name, SrcSpan loc);
void consteval_bind_plain_dims(Elab *e, const CtEnv *env, StrMap *dims, const AstNode *t,
                               const TType *actual);
int consteval_ctparam_index(const AstNode *layer, const char *name);

/* instance.c */
Instance *instance_build_model(Elab *e, const AstNode *model);
Instance *instance_build_generic(Elab *e, const AstNode *layer);
Member *instance_member(const Instance *inst, const char *name);
const char *instance_describe(Elab *e, const Instance *inst);

/* lower.c */
bool lower_model(Program *p, const AstNode *model, Arena *a, IrModule **out);
void lower_check_layer_generic(Program *p, const AstNode *layer, Arena *a);

/* sema.c: declaration-level checks over every loaded module. */
void sema_check_program(Program *p);
/* sections.c: data and train sections of a model. */
void sections_check(Program *p, const AstNode *model);
/* A model's sections of one kind, in the order written:
 * for (s = sections_first(model, SEC_TRAIN); s; s = sections_next(model, s)) */
const AstNode *sections_first(const AstNode *model, AstSectionKind kind);
const AstNode *sections_next(const AstNode *model, const AstNode *section);
/* The field `key = value` of a data, train or generate section, or NULL. */
const AstNode *sections_field(const AstNode *section, const char *key);
/* The generate section's step against what sampling needs (generate.c),
 * once the model is lowered. */
void generate_check(Program *p, const AstNode *model, const IrModule *m);
/* The train section's tbptt states against the lowered loss (tbptt.c). */
void tbptt_check(Program *p, const AstNode *model, const IrModule *m);

/* A train section's closed-form fit (fit = ridge(...)) against its
 * features function, readout parameters and loss (fit.c), once the model
 * is lowered. */
void fit_check(Program *p, const AstNode *model, const IrModule *m);

/* The declaration of function `name` of a layer or model, or NULL. */
const AstNode *sema_fn_decl(const AstNode *layer, const char *name);

/* "did you mean" for an unknown name among candidates (may return NULL). */
const char *sema_closest_name(const char *name, const char *const *cands, int n);

#endif
