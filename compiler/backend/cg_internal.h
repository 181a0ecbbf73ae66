/* cg_internal.h - what the code generator's files (cg_*.c) share: the
 * generator state, kernel plans and the helpers used across files. The
 * public API is codegen.h. */
#ifndef NNC_CG_INTERNAL_H
#define NNC_CG_INTERNAL_H

#include "codegen.h"

#include <stdlib.h>
#include <string.h>

/* Threads pay off above this many elements; each range gets about
 * CG_GRAIN_ELEMS of them. */
enum { CG_PARALLEL_MIN = 1 << 15, CG_GRAIN_ELEMS = 1 << 14 };
enum { R = TYPE_MAX_RANK };

typedef struct Cg {
  LLVMContextRef c;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  Arena *a;
  const IrModule *m;
  const IrFunc *f;
  const FusedFunc *ff;
  const MemPlan *mp;
  const char *entry;
  LLVMTypeRef i1, i8, i32, i64, f32, f64, ptr, vd, kfn_ty;
  LLVMValueRef fn;       /* function being emitted */
  LLVMBasicBlockRef top; /* its entry block, for allocas */
  LLVMValueRef *sym;     /* f->dim_syms values, loaded at fn's start */
  LLVMValueRef expf, logf, tanhf, sigmoidf, tanh64;
  bool failed;
  char *err;
  size_t errlen;
} Cg;

typedef struct Loop {
  LLVMBasicBlockRef body, exit;
  LLVMValueRef i, hi;
} Loop;

/* A view: where a kernel reads a value, as a function of the kernel's
 * domain index d. For each axis j of the value
 *
 *   index_j = floor((sum_a coef[a] * d_a + off + pos_coef * p) / div)
 *
 * where p is a position resolved at run time (has_pos): pos_const plus an
 * i32 scalar of the function (an index given as an argument; a loop counter
 * later), or a constant position on an axis of symbolic extent; negative
 * positions count from the end of an axis of extent pos_n, as in Python,
 * and the entry code has checked it to lie inside before any kernel runs.
 * A masked axis may leave [0, extent) or fall between multiples of div: the
 * op that masked it (pad, concat) selects its fill value there, and loads
 * clamp the index into the buffer, so no read ever leaves it.
 *
 * Broadcasting is a zero coefficient, a transpose a permutation of the axes,
 * a slice an offset and a step (coef > 1), a pad an offset with a mask (and
 * div for the holes of a stepped slice's adjoint), concat one masked view
 * per operand; a window (h*s + k*d - p) is two coefficients on one axis
 * (not generated yet). An access whose axes are neither masked nor divided
 * is linear: a stride per domain axis and a base offset, so that its axes
 * merge with their neighbours into flat loops as before. Build views with
 * cg_view_empty / cg_view_identity and compare them with cg_view_eq. */
typedef struct ViewAxis {
  int32_t coef[R];
  int64_t off;
  int32_t div; /* >= 1 */
  bool masked;
  bool has_pos;
  int32_t pos_coef;
  const IrValue *pos_val; /* NULL: the position is pos_const alone */
  int64_t pos_const;
  Dim pos_n;
} ViewAxis;

typedef struct View {
  ViewAxis ax[R];
} View;

typedef struct Access {
  const IrValue *v;
  View view;
  int slot;           /* -1: no buffer, only the linear index (generators) */
  bool linear;        /* no masked or divided axis: group strides and a base offset */
  Dim vs[R];          /* per value axis stride in elements */
  bool zero[R];       /* per domain axis: stride 0 */
  Dim s[R];           /* per domain axis stride in elements */
  LLVMValueRef gs[R]; /* per group stride (NULL: 0) */
} Access;

typedef struct Memo {
  const IrValue *v;
  View view;
  LLVMValueRef val;
} Memo;

enum { CG_MAX_SEG_CUTS = 18 };

typedef struct KGen {
  Cg *g;
  const Kernel *k;
  const TType *dom;
  int rank;
  int forced; /* axis kept in a group of its own (a row kernel's row axis), or -1 */
  bool barrier[R];
  bool reduced[R];
  Access *acc;
  int nacc, cap_acc;
  const IrValue **slots; /* slot 0: the output */
  int nslots;
  Access out; /* the output's access (slot 0) */
  int ngroups;
  int gfirst[R], glast[R]; /* kept axes of each group */
  int group_of[R];         /* -1 for dropped (size-1) axes */
  Dim gext_dim[R];
  LLVMValueRef gext[R], gidx[R];
  LLVMValueRef *bufs;
  Memo *memo;
  int nmemo, cap_memo;
  LLVMValueRef *pass_val; /* a row kernel's per-row results of its passes
                             (plan.passes), once computed for the row */
  int rng_slot;           /* the slot of the entry's {seed, step}, or -1 */
  LLVMValueRef rng_seed;  /* i64, loaded at the kernel body's start */
  LLVMValueRef rng_step;  /* i64 */
  /* The innermost loop of an elementwise kernel, split at the indices
   * where its pads and concats switch operands (cg_eval.c, segments), so
   * that each piece evaluates only the operands it reads: the domain
   * axis, the cut points from 0 to its extent, and the piece being
   * emitted (seg_on). */
  int seg_axis;
  int nseg_cut;
  int64_t seg_cut[CG_MAX_SEG_CUTS];
  bool seg_on;
  int64_t seg_lo, seg_hi;
} KGen;

typedef void (*NestBody)(KGen *kg, void *u);

/* A scan's loop while its region's kernels are emitted (cg_loop.c). */
enum { CG_MAX_LOOPS = 16 };
typedef struct CgLoop {
  const IrValue *scan;
  LLVMValueRef counter;         /* i64 alloca: the step t */
  LLVMBasicBlockRef head, exit; /* tests t; after the last step */
} CgLoop;

typedef struct Entry {
  LLVMValueRef fn, dims, inputs, params, outputs, ws, ws_off, rng;
  LLVMValueRef *kfns; /* kernel wrappers, NULL for gemm/alias */
  KGen **kgens;
  CgLoop loops[CG_MAX_LOOPS]; /* the scans open at the kernel being emitted */
  int nloops;
} Entry;

/* One-line builders, inline here: constants, types, GEPs, calls. */
static inline LLVMValueRef cg_ci64(Cg *g, int64_t v) {
  return LLVMConstInt(g->i64, (unsigned long long)v, 1);
}
static inline LLVMValueRef cg_ci32(Cg *g, int32_t v) {
  return LLVMConstInt(g->i32, (unsigned long long)v, 1);
}
static inline LLVMValueRef cg_cf(Cg *g, double x) { return LLVMConstReal(g->f32, x); }
static inline LLVMTypeRef cg_float_type(Cg *g, DType dt) { return dt == DT_F64 ? g->f64 : g->f32; }
static inline bool cg_is_one(Dim d) { return dim_is(d, 1); }
static inline LLVMValueRef cg_gep(Cg *g, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef i) {
  return LLVMBuildInBoundsGEP2(g->b, t, p, &i, 1, "");
}
static inline LLVMValueRef cg_load_ptr_at(Cg *g, LLVMValueRef base, int i) {
  return LLVMBuildLoad2(g->b, g->ptr, cg_gep(g, g->ptr, base, cg_ci64(g, i)), "");
}
static inline LLVMValueRef cg_call(Cg *g, LLVMValueRef fn, LLVMValueRef *args, unsigned n) {
  return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}
static inline LLVMValueRef cg_call1(Cg *g, LLVMValueRef fn, LLVMValueRef x) {
  return cg_call(g, fn, &x, 1);
}
static inline LLVMValueRef cg_fmul(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFMul(g->b, x, y, "");
}
static inline LLVMValueRef cg_fadd(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFAdd(g->b, x, y, "");
}
static inline LLVMValueRef cg_fsub(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFSub(g->b, x, y, "");
}
static inline LLVMValueRef cg_fcmp(Cg *g, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFCmp(g->b, p, x, y, "");
}
static inline LLVMValueRef cg_sel(Cg *g, LLVMValueRef c, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildSelect(g->b, c, x, y, "");
}
/* Whether v lives in registers inside kg's kernel (not loaded or stored). */
static inline bool cg_is_inner(const KGen *kg, const IrValue *v) {
  return fuse_is_internal(kg->g->ff, kg->k, v) || (v == kg->k->out && kg->k->kind != KK_COPY);
}

/* cg_basics.c */
LLVMTypeRef cg_mem_type(Cg *g, DType dt);
LLVMValueRef cg_dim_value(Cg *g, Dim d);
Dim cg_dmul(Cg *g, Dim x, Dim y);
Dim cg_numel_of(Cg *g, const TType *t);
LLVMValueRef cg_entry_alloca(Cg *g, LLVMTypeRef t, const char *name);
void cg_add_attr(Cg *g, LLVMValueRef fn, unsigned idx, const char *name);
LLVMValueRef cg_intrinsic(Cg *g, const char *name, LLVMTypeRef t);
LLVMValueRef cg_runtime_fn(Cg *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                           unsigned n);
void cg_load_dims(Cg *g, LLVMValueRef dims);
LLVMValueRef cg_begin_function(Cg *g, const char *name, LLVMTypeRef ty, bool internal);
Loop cg_loop_begin(Cg *g, LLVMValueRef lo, LLVMValueRef hi);
void cg_loop_end(Cg *g, Loop *l);

/* cg_math.c */
LLVMValueRef cg_cf(Cg *g, double x);
LLVMValueRef cg_fmul(Cg *g, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef cg_fadd(Cg *g, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef cg_fsub(Cg *g, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef cg_fcmp(Cg *g, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y);
LLVMValueRef cg_sel(Cg *g, LLVMValueRef c, LLVMValueRef x, LLVMValueRef y);
/* exp and log of f32 (Cephes, inlined) or f64 (LLVM intrinsics) values,
 * also used by the rowwise kernels. */
LLVMValueRef cg_exp(Cg *g, DType dt, LLVMValueRef x);
LLVMValueRef cg_log(Cg *g, DType dt, LLVMValueRef x);

/* cg_scalar.c: the `emit` column of ops.def. An emitter builds v's value at
 * one element from x, its operands' values there (v->nargs of them). */
typedef LLVMValueRef (*ScalarEmitter)(Cg *g, const IrValue *v, const LLVMValueRef *x);
#define OP(e, text, arity, cls, shape, grad, emit)                                                 \
  LLVMValueRef emit(Cg *g, const IrValue *v, const LLVMValueRef *x);
#include "ops.def"
/* Per op, its emitter or NULL (NOEMIT). */
extern const ScalarEmitter cg_scalar_emit[OP_COUNT];

/* cg_plan.c */
void cg_view_empty(View *v);
void cg_view_identity(View *v, int rank);
/* A row kernel's view of a value with one element per row (its row axis of
 * extent 1 or dropped), or of a scalar: the current row. */
void cg_row_view(const KGen *kg, const TType *t, View *v);
bool cg_view_eq(const View *x, const View *y);
void cg_operand_view(const IrValue *v, int i, const View *vv, View *ov);
int cg_slot_of(KGen *kg, const IrValue *v);
void cg_plan_kernel(KGen *kg);

/* cg_eval.c */
LLVMValueRef cg_access_ptr(KGen *kg, const Access *ac);
LLVMValueRef cg_load_access(KGen *kg, const Access *ac);
void cg_store_out(KGen *kg, LLVMValueRef x);
const Access *cg_find_access(KGen *kg, const IrValue *v, const View *view);
LLVMValueRef cg_ev(KGen *kg, const IrValue *v, const View *view);
LLVMValueRef cg_ev_here(KGen *kg, const IrValue *v);
void cg_nest(KGen *kg, int gi, int skip, LLVMValueRef lo, LLVMValueRef hi, NestBody body, void *u);
void cg_elementwise_body(KGen *kg, void *u);
void cg_plan_segments(KGen *kg);

/* cg_kernels.c */
int cg_parallel_group(const KGen *kg);
LLVMValueRef cg_emit_kernel_fn(KGen *kg);

/* cg_entry.c */
LLVMValueRef cg_value_ptr(Cg *g, Entry *e, const IrValue *v);
/* Kernel k's scratch in the workspace (memplan.h), or a null pointer. */
LLVMValueRef cg_scratch_ptr(Cg *g, Entry *e, const Kernel *k);
/* Whether the loop of `scan` (open in e) is at its first step: an i1. */
LLVMValueRef cg_loop_first_step(Cg *g, Entry *e, const IrValue *scan);

/* cg_random.c */
LLVMValueRef cg_generate(KGen *kg, const IrValue *v, LLVMValueRef index);

/* cg_gemm.c */
void cg_emit_gemm(Cg *g, Entry *e, const Kernel *k);

/* cg_gather.c */
void cg_emit_gather(Cg *g, Entry *e, const Kernel *k);

/* cg_conv.c */
void cg_emit_conv(Cg *g, Entry *e, const Kernel *k);
/* cg_loop.c: a scan's loop around its region's kernels */
void cg_emit_loop_begin(Cg *g, Entry *e, const Kernel *k);
void cg_emit_loop_end(Cg *g, Entry *e, const Kernel *k);
/* The row of the stack `out` (a scan_out) at the current step of its loop,
 * which is open. */
LLVMValueRef cg_stack_row_ptr(Cg *g, Entry *e, const IrValue *out);

#endif
