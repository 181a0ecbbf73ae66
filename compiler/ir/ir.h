/* ir.h - the tensor IR: a typed SSA graph per entry point of a model.
 *
 * An IrModule is one compiled `model`: its parameters and state (flat, with
 * stable dotted names that become checkpoint keys), its data and training
 * descriptions, and one IrFunc per function of the model. Layer calls are
 * inlined while the IR is built, so an IrFunc refers to parameters directly.
 *
 * Values live in IrBlocks in definition order (a topological order of the
 * graph); every operand is defined earlier in the same block or an enclosing
 * one. Blocks nest: a value can own a body block (`region`) with block
 * parameters and yielded results, which is how loops carrying state over a
 * time dimension are represented (their op row joins ops.def with the
 * recurrence feature); the verifier already checks scoping through regions.
 *
 * Symbolic dimensions (B, T) of an IrFunc's inputs are its run-time
 * arguments: one compiled function serves every batch size.
 */
#ifndef NNC_IR_H
#define NNC_IR_H

#include <stdbool.h>
#include <stdio.h>

#include "arena.h"
#include "ast.h" /* sections carry the syntax of their fields */
#include "diag.h"
#include "types.h"

typedef enum OpKind {
#define OP(e, text, arity, cls, shape, grad, emit) OP_##e,
#include "ops.def"
  OP_COUNT,
#define OP_RANGE(cls, first, last) OP_FIRST_##cls = OP_##first, OP_LAST_##cls = OP_##last,
#include "ops.def"
} OpKind;

typedef enum OpClass {
#define OPCLASS(e, doc) OPC_##e,
#include "ops.def"
} OpClass;

/* The optimizers a train section can name, numbered as the runtime's
 * nnrt_optim_kind. */
typedef enum OptimKind { OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW, OPTIM_RMSPROP } OptimKind;

/* An optimizer's compile-time constants (the learning rate and the bias
 * corrections change per step and reach the step's formulas through its
 * `hyper` input, see runtime/nnrt_train.h). */
typedef struct IrOptim {
  OptimKind kind;
  double beta1, beta2, eps; /* adam, adamw; eps also rmsprop */
  double alpha;             /* rmsprop: smoothing of the squared gradient */
  double momentum;          /* sgd, rmsprop */
  double weight_decay;      /* L2 added to the gradient; adamw: decoupled */
  bool nesterov;            /* sgd */
} IrOptim;

/* Number of state tensors (each the parameter's shape) the optimizer keeps
 * per parameter, and their names (m, v, buf, square_avg). */
int ir_optim_nstate(const IrOptim *o);
const char *ir_optim_state_name(const IrOptim *o, int i);
const char *ir_optim_kind_name(OptimKind k);

typedef struct IrValue IrValue;
typedef struct IrBlock IrBlock;
typedef struct ShapeCtx ShapeCtx;

typedef struct GradCtx GradCtx;

typedef bool (*ShapeRule)(ShapeCtx *c, IrValue *v);
/* Adds the adjoints of v's operands given the adjoint dy of v (autodiff.h). */
typedef void (*GradRule)(GradCtx *g, IrValue *v, IrValue *dy);

typedef struct OpInfo {
  const char *name;
  int arity;
  OpClass cls;
  ShapeRule shape;
  GradRule grad; /* NULL: not differentiable */
} OpInfo;

extern const OpInfo op_info[OP_COUNT];

/* Attributes, one struct per op class (IrAttrs below is a union of them:
 * a value carries only its own class's). */

/* SOURCE: INPUT and PARAM name what they read, CONST is a number. */
typedef struct IrSourceAttrs {
  int index;     /* INPUT: argument number; PARAM: IrModule param index */
  double scalar; /* CONST: its value */
  Dim denom;     /* CONST: when denom is not 0 the value is scalar / denom,
                    a run-time dim product (the 1/N of a mean over B) */
  bool weak;     /* CONST from a literal: adopts the other operand's dtype */
  bool unknown;  /* CONST whose value is unknown (generic layer check) */
} IrSourceAttrs;
/* Attributes of UNARY ops with compile-time constants. */
typedef struct IrUnaryAttrs {
  double slope;  /* LEAKY_RELU: the slope where x <= 0 */
  double alpha;  /* ELU: alpha * (e^x - 1) where x <= 0 */
  double lo, hi; /* CLAMP: the bounds, lo <= hi (either may be infinite) */
  DType to;      /* CAST: the result's element type */
} IrUnaryAttrs;
/* REDUCE: axes reduced, sorted, normalised. */
typedef struct IrReduceAttrs {
  int naxes;
  int axes[TYPE_MAX_RANK];
  bool all_axes; /* no axis given: reduce everything */
  bool keepdims;
} IrReduceAttrs;
/* LAYOUT: RESHAPE's requested shape, TRANSPOSE's permutation. */
typedef struct IrLayoutAttrs {
  const TType *target;     /* RESHAPE: requested shape; -1 marks the inferred dim */
  int infer_axis;          /* RESHAPE: index of the -1 dim in target, or -1 */
  int perm[TYPE_MAX_RANK]; /* TRANSPOSE: result axis i is operand axis perm[i] */
  bool has_perm;           /* TRANSPOSE: false = swap the last two axes */
} IrLayoutAttrs;
/* ROWWISE: the normalised axis. */
typedef struct IrRowwiseAttrs {
  int axis;
} IrRowwiseAttrs;
/* EXPAND: the result shape. */
typedef struct IrExpandAttrs {
  const TType *target;
} IrExpandAttrs;
/* ONEHOT: number of classes and the result's element type. */
typedef struct IrOneHotAttrs {
  int64_t depth;
  DType dtype;
} IrOneHotAttrs;
/* GATHER class: scatter_add's number of result rows (gather's is its
 * table's). */
typedef struct IrGatherAttrs {
  Dim rows;
} IrGatherAttrs;
/* GENERATE ops (ops.def): the result's shape and element type, the
 * distribution's parameters and the random stream. */
typedef struct IrGenAttrs {
  const TType *target;
  DType dtype;
  double a, b; /* uniform: lo, hi; normal: mean, std; dropout_mask: p; arange: start, step */
  int stream;  /* random ops: numbered per function in source order, so a
                  function and its training variant draw the same streams */
} IrGenAttrs;
/* The view ops (SLICE, PAD, CONCAT): how the result's index maps to the
 * operand's, axis by axis. Never a kernel of their own: codegen reads the
 * operand through a view (backend/cg_internal.h). */
typedef struct IrViewAttrs {
  /* SLICE: operand axis i contributes operand index start[i] + r * step[i]
     at result index r (or only start[i], with drop[i]: x[3] drops the axis).
     PAD: operand index k lands at result index start[i] + k * step[i]; the
     other result indices hold `value`. */
  int64_t start[TYPE_MAX_RANK];
  int64_t step[TYPE_MAX_RANK]; /* nonzero; negative walks the axis backwards */
  Dim size[TYPE_MAX_RANK];     /* SLICE: result extent of operand axis i (unless dropped);
                                  PAD: result extent of axis i */
  bool drop[TYPE_MAX_RANK];    /* SLICE */
  int8_t dyn[TYPE_MAX_RANK];   /* > 0: operand number of an i32 scalar added to start[i]
                                  at run time (negative counts from the end, like Python),
                                  checked to lie inside the axis */
  double value;                /* PAD: the fill */
  int axis;                    /* CONCAT: operands are joined along it;
                                  UNFOLD: the axis cut into windows */
  int64_t window;              /* UNFOLD: window length; windows start step[axis]
                                  apart and their elements form a new last axis */
} IrViewAttrs;

/* The CONV class's geometry, per spatial axis (the axes after [N, C]). */
typedef struct IrConvAttrs {
  int nsp; /* spatial axes: 1 (conv1d) or 2 */
  int64_t groups;
  int64_t stride[2], dilation[2];
  int64_t pad_lo[2]; /* padding before the first element */
  int64_t pad_hi[2]; /* CONV: padding after the last (negative crops: the
                        data gradient's gradient drops what no window read) */
  Dim size[2];       /* CONV_TRANSPOSE: the result's spatial sizes;
                        CONV_FILTER: the kernel's */
  bool unknown;      /* a generic check of a layer: some attribute unknown,
                        so the spatial sizes are unknown */
} IrConvAttrs;

/* The LOOP class (scan and its region's values). */
typedef struct IrLoopAttrs {
  const Dim *lo, *hi; /* SCAN: steps t = lo .. hi - 1 (arena-owned) */
  bool reverse;       /* SCAN: from hi - 1 down to lo */
  int index;          /* SCAN_CARRY: carry number; SCAN_OUT: output number
                         (the carries' final values, then the emitted stacks) */
} IrLoopAttrs;

/* Operation attributes: the member for the op's class (ir_attr_member), or
 * nothing (classes without attributes). A union, so that a value pays only
 * for the largest small member: payloads of hundreds of bytes (a TType, a
 * view) live out of line, in the arena, and are immutable once built; the
 * caller of ir_emit may point them at its own stack, ir_emit copies them.
 * Read and write a value's attributes through IR_ATTR(v, member), which
 * checks the member against the op's class. */
typedef union IrAttrs {
  IrSourceAttrs source;    /* SOURCE */
  IrUnaryAttrs unary;      /* UNARY (LEAKY_RELU, ELU, CLAMP, CAST) */
  IrReduceAttrs reduce;    /* REDUCE */
  IrLayoutAttrs layout;    /* LAYOUT */
  IrRowwiseAttrs rowwise;  /* ROWWISE */
  IrExpandAttrs expand;    /* EXPAND */
  IrOneHotAttrs onehot;    /* ONEHOT */
  IrGatherAttrs gather;    /* GATHER */
  IrGenAttrs gen;          /* GENERATE */
  const IrViewAttrs *view; /* VIEW */
  const IrConvAttrs *conv; /* CONV */
  IrLoopAttrs loop;        /* LOOP */
} IrAttrs;

/* The members of IrAttrs, named as the members (so that IR_ATTR can paste
 * them); IRA_none for classes without attributes. */
typedef enum IrAttrMember {
  IRA_none,
  IRA_source,
  IRA_unary,
  IRA_reduce,
  IRA_layout,
  IRA_rowwise,
  IRA_expand,
  IRA_onehot,
  IRA_gather,
  IRA_gen,
  IRA_view,
  IRA_conv,
  IRA_loop,
} IrAttrMember;

struct IrValue {
  int id; /* SSA number, unique within its IrFunc */
  OpKind op;
  TType type;
  IrValue **args;
  int nargs;
  IrAttrs attr;
  SrcSpan loc;     /* the expression that made it */
  SrcSpan origin;  /* where its type was declared (params, inputs), for notes */
  IrBlock *region; /* nested body (loops), or NULL */
  IrBlock *parent;
};

/* Which member of IrAttrs op's attributes are (by its class), and its name. */
IrAttrMember ir_attr_member(OpKind op);
const char *ir_attr_member_name(IrAttrMember m);
/* Reports reading member m of a value whose op has another: a bug in nnc. */
_Noreturn void ir_attr_mismatch(const IrValue *v, IrAttrMember m);
static inline void ir_attr_expect(const IrValue *v, IrAttrMember m) {
  if (ir_attr_member(v->op) != m)
    ir_attr_mismatch(v, m);
}
/* The attributes of value v as member m of IrAttrs (an lvalue), checked
 * against v's op: reading another class's member is an internal error, not
 * a silent reinterpretation of the union. */
#define IR_ATTR(v, m) (*(ir_attr_expect((v), IRA_##m), &(v)->attr.m))

struct IrBlock {
  IrValue **vals;
  int n, cap;
  IrValue **params; /* block parameters (carried state of a loop) */
  int nparams;
  IrValue **results; /* values the block yields */
  int nresults;
  IrBlock *parent;
};

typedef enum InitKind {
  INIT_ZEROS,
  INIT_ONES,
  INIT_NORMAL,
  INIT_UNIFORM,
  INIT_GLOROT,
  INIT_HE,
  INIT_ORTHOGONAL,
  INIT_SPARSE,
  INIT_CONSTANT,
  INIT_RESERVOIR,
} InitKind;

typedef struct IrInit {
  InitKind kind;
  double a, b; /* normal: mean, std; uniform: lo, hi; orthogonal: gain;
                  sparse: density, std; constant: value;
                  reservoir: spectral radius, density */
} IrInit;

typedef struct IrParam {
  const char *name; /* fc1.W, blocks.2.b */
  TType type;
  IrInit init;
  bool trainable; /* param vs state */
  SrcSpan loc;
} IrParam;

typedef struct IrFunc {
  const char *name;
  IrBlock *body;
  IrValue **inputs; /* OP_INPUT values, in argument order */
  const char **input_names;
  int ninputs, cap_inputs;
  IrValue *result;   /* == results[0] */
  IrValue **results; /* several for derived functions (loss and gradients) */
  const char **result_names;
  int nresults, cap_results;
  bool writes_state; /* a training step: performs its ASSIGNs (state <-) */
  /* With writes_state: NULL, every ASSIGN; else only those of parameters
   * i with writes_only[i] (an evaluation that carries tbptt states but
   * leaves batch-norm statistics alone). */
  const bool *writes_only;
  /* A training step's guard: a scalar that is NaN when the step must write
   * nothing (its loss or gradient norm is not finite). Computed into a
   * buffer of its own and checked before the first state write (fuse.c,
   * cg_entry.c); NULL when the function writes no state. */
  IrValue *guard;
  IrBlock *insert; /* where ir_emit appends (a loop's region being built), or
                      NULL: the body */
  int *dim_syms;   /* symbols of the run-time dimensions */
  int ndims;
  int next_id;
  SrcSpan loc;
  /* The function lowered again with `training` true, when its body depends
   * on it (dropout): what training steps and gradient checks differentiate.
   * NULL when the two would be the same. Not an entry point of its own. */
  struct IrFunc *training;
} IrFunc;

/* One `key = value` of a data or train section, value kept as the AST
 * (already checked by sema) for the runtime stages to interpret. */
typedef struct IrSection {
  AstSectionKind kind;
  const char *name;
  const AstNode *ast;
} IrSection;

typedef struct IrModule {
  const char *name;
  SrcSpan loc;
  IrParam **params;
  int nparams, cap_params;
  IrFunc **funcs;
  int nfuncs, cap_funcs;
  IrSection **sections;
  int nsections, cap_sections;
  /* `share` members: the path of each (alias_from[i], "proj") and of the
   * instance whose parameters it uses (alias_to[i], "encoder"), so that a
   * train section's `params = [proj]` selects encoder's parameters. */
  const char **alias_from, **alias_to;
  int naliases, cap_aliases;
  SymTab *syms;
} IrModule;

/* Building. ir_emit (below) is how passes add an op. */
IrFunc *ir_func_new(Arena *a, const char *name, SrcSpan loc);
IrBlock *ir_block_new(Arena *a, IrBlock *parent);
IrValue *ir_value_new(Arena *a, IrFunc *f, OpKind op, IrValue **args, int nargs, SrcSpan loc);
void ir_block_append(Arena *a, IrBlock *b, IrValue *v);
/* Appends a function input of type t, or a result named `name`. */
IrValue *ir_func_add_input(Arena *a, IrFunc *f, const char *name, TType t, SrcSpan loc);
void ir_func_add_result(Arena *a, IrFunc *f, IrValue *v, const char *name);
/* Sets live[id] (an array of f->next_id, all false) for every value of f's
 * body that a result depends on, and for updates (their effect is the
 * point) and their operands; with keep_inputs for every input too. */
void ir_func_liveness(const IrFunc *f, bool *live, bool keep_inputs);
/* Removes values that no result depends on (inputs stay: they are the
 * function's signature; updates stay: they are its effect). Keeps definition order. */
void ir_func_remove_dead(IrFunc *f);
/* Is v's value a run-time constant computed from dims only? (CONST) */
static inline bool ir_is_const(const IrValue *v) { return v->op == OP_CONST; }
/* Is v computed in place wherever it is read (a constant, a generator)? */
static inline bool ir_in_place(const IrValue *v) {
  return v->op == OP_CONST || (v->op >= OP_FIRST_GENERATE && v->op <= OP_LAST_GENERATE);
}
static inline bool ir_is_random(const IrValue *v) {
  return v->op == OP_UNIFORM || v->op == OP_NORMAL || v->op == OP_DROPOUT_MASK;
}
int ir_module_add_param(Arena *a, IrModule *m, IrParam *p);
void ir_module_add_func(Arena *a, IrModule *m, IrFunc *f);
/* The function of m called name, or NULL. */
IrFunc *ir_module_func(const IrModule *m, const char *name);
/* The position of dim symbol `sym` among f's run-time dims, or -1. */
int ir_func_dim_index(const IrFunc *f, int sym);
void ir_module_add_section(Arena *a, IrModule *m, IrSection *s);
void ir_module_add_alias(Arena *a, IrModule *m, const char *from, const char *to);
/* A member path with every `share` prefix replaced by the instance it
 * uses ("proj.W" -> "encoder.W"). */
const char *ir_module_unalias(Arena *a, const IrModule *m, const char *path);

/* Shape inference context: where to report and how to name symbols. */
struct ShapeCtx {
  Diag *diag;
  Arena *arena; /* message text, and attributes a rule normalises (lives as long as
                   the IR the rules run on) */
  const SymTab *syms;
  const struct IrModule *module; /* names parameters in notes */
  bool writes_params; /* the training step's optimizer: ASSIGN may write trainable params */
  bool generic;       /* a generic check of a layer (elab.h): its int arguments are
                         symbols that each instance binds to constants, so an
                         extent only constants can give becomes unknown, not an error */
};

/* Index operands (ops.def's OP_INDEX rows). True when operand i of v holds
 * integer indices; then *bound (unless NULL) is the Dim they must lie
 * below. */
bool ir_index_bound(const IrValue *v, int i, Dim *bound);
/* The position of op's OP_INDEX row among them all, or -1: when several ops
 * read one tensor as indices, messages name the reader of lowest rank. */
int ir_index_rank(OpKind op);
/* The reader of x as indices among f's values that messages name, with
 * the smallest constant bound of them all (0 when none is constant), or
 * NULL when no value of f reads x as indices. */
const IrValue *ir_index_reader(const IrFunc *f, const IrValue *x, int64_t *min_bound);

/* Runs op_info[v->op].shape; false after reporting an error. */
bool shape_infer(ShapeCtx *c, IrValue *v);

/* Builds an op of f with these operands and attributes (NULL: none), runs
 * its shape rule and appends it to f's body. NULL when the rule rejects it,
 * after reporting through c's Diag; the value is then not appended (its id
 * is used up). */
IrValue *ir_emit(Arena *a, ShapeCtx *c, IrFunc *f, OpKind op, IrValue **args, int nargs,
                 SrcSpan loc, const IrAttrs *attrs);

/* Is axis i of view op v (SLICE, PAD) placed at run time: by an argument,
 * or by a position on an axis whose extent is symbolic (not a full ':')?
 * Its position is then wrapped and bounds-checked by the generated code. */
bool ir_view_runtime_axis(const IrValue *v, int i);
/* Does v (any op) have a run-time positioned axis? */
bool ir_view_has_runtime(const IrValue *v);

/* A CONV-class op as the forward convolution it belongs to (conv_geom.c):
 * input x [n, c, in...], output y [n, o, out...], kernel k, in two spatial
 * axes (a 1-D op has a leading axis of extent 1, stride 1, no padding). */
typedef struct IrConvGeom {
  Dim n, c, o, in[2], out[2], k[2];
  int64_t stride[2], pad[2], dilation[2], groups;
} IrConvGeom;
void ir_conv_geom(const IrValue *v, IrConvGeom *g);
/* Elements of scratch the runtime's call for v needs (nnrt_conv_scratch's
 * formula). */
Dim ir_conv_scratch(const IrValue *v);

/* Loops (ir_region.c). A scan's region holds, as block parameters, its
 * step (params[0]) and carries, and as results the carries' next values
 * then the emitted values. */
static inline int ir_scan_ncarry(const IrValue *scan) { return scan->region->nparams - 1; }
static inline int ir_scan_nemit(const IrValue *scan) {
  return scan->region->nresults - ir_scan_ncarry(scan);
}
/* The block new values of f go to. */
static inline IrBlock *ir_func_block(IrFunc *f) { return f->insert ? f->insert : f->body; }
/* The number of steps, hi - lo. */
Dim ir_scan_steps(const IrValue *scan);
/* A new region for a loop of f nested in `parent`, with its step
 * parameter; carries are added with ir_region_add_carry. */
IrBlock *ir_region_new(Arena *a, IrFunc *f, IrBlock *parent, SrcSpan loc);
IrValue *ir_region_add_carry(Arena *a, IrFunc *f, IrBlock *region, TType t, SrcSpan loc);
void ir_region_add_result(Arena *a, IrBlock *region, IrValue *v);
/* Copies value v of a function into f (at ir_func_block(f)), with
 * operands mapped through map[] (value id of v's function -> value of f;
 * an id whose entry is NULL maps to itself: a value f shares, which is how
 * a copy of a region reads values of the block around it). For a scan the
 * region is copied too, value by value through `copy` (NULL: plain copies),
 * and map[] learns every copied value. Returns v's copy. */
typedef IrValue *(*IrCopyFn)(void *ctx, const IrValue *v, IrValue **args);
/* A copy of v (not a scan) with operands args, appended to f. */
IrValue *ir_copy_plain(Arena *a, IrFunc *f, const IrValue *v, IrValue **args);
IrValue *ir_copy_value(Arena *a, IrFunc *f, const IrValue *v, IrValue **map, IrCopyFn copy,
                       void *ctx);
/* Is v computed in `region` into a buffer of its own (not a view, a
 * constant or a value from elsewhere)? */
bool ir_region_stores(const IrValue *v, const IrBlock *region);
/* An identity op that gives v a buffer of its own in `region`, unless v
 * already is a value computed there (what a loop copies at the end of a
 * step); NULL after a shape error. */
IrValue *ir_region_materialise(Arena *a, ShapeCtx *c, IrFunc *f, IrValue *v, const IrBlock *region,
                               SrcSpan loc);
/* Drops what loops compute for no one (ir_region.c); ir_func_remove_dead
 * runs it first. */
void ir_func_prune_loops(IrFunc *f);
/* Calls fn on every value of b and of the regions nested in it, each
 * region's values before the value that owns it (program order). */
void ir_block_walk(const IrBlock *b, void (*fn)(IrValue *v, void *ctx), void *ctx);

/* --emit=ir */
void ir_print_module(FILE *out, const IrModule *m);
void ir_print_func(FILE *out, const IrModule *m, const IrFunc *f);

/* The IR's invariants (ir_verify.c), checked after every stage that builds
 * or rewrites IR, named by `stage` ("lower", "autodiff", "train-step"). A
 * failure is a bug in nnc: an internal error naming the stage, unless
 * `report` is set (tests), where every failure is printed. Returns true if
 * the IR holds. */
bool ir_verify_module(const IrModule *m, const char *stage, FILE *report);

#endif
