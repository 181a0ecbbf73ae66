/* codegen.c - LLVM IR for fused kernels (see codegen.h for the contract).
 *
 * A loop kernel runs over a domain (a shape). Every value it computes is
 * evaluated at an index of its own shape that is a linear function of the
 * domain index: broadcasting drops axes, a transpose permutes them. That
 * function is an "index map" (for each axis of the value, the domain axis
 * it follows or -1 for index 0). Reading a buffer at a map gives, for each
 * domain axis, a stride that is a monomial in the dims (or zero), so before
 * emitting loops the domain axes are collapsed: neighbouring axes merge when
 * every buffer the kernel touches is contiguous (or broadcast) across both,
 * which turns most kernels into one flat loop over the contiguous last axis
 * that LLVM vectorises.
 */
#include "codegen.h"
#include "target_cpu.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
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

/* ---------------------------------------------------------------- basics */

static LLVMValueRef ci64(Cg *g, int64_t v) {
  return LLVMConstInt(g->i64, (unsigned long long)v, 1);
}
static LLVMValueRef ci32(Cg *g, int32_t v) {
  return LLVMConstInt(g->i32, (unsigned long long)v, 1);
}

static LLVMTypeRef mem_type(Cg *g, DType dt) {
  switch (dt) {
  case DT_F32:
    return g->f32;
  case DT_F64:
    return g->f64;
  case DT_I32:
    return g->i32;
  case DT_BOOL:
    return g->i8;
  }
  return g->i8;
}

static LLVMTypeRef float_type(Cg *g, DType dt) { return dt == DT_F64 ? g->f64 : g->f32; }

static bool is_one(Dim d) { return dim_is_const(d) && d.coeff == 1; }

static LLVMValueRef dim_value(Cg *g, Dim d) {
  if (d.kind != DIM_KNOWN)
    NNC_BUG("unknown dimension in codegen");
  LLVMValueRef v = d.coeff == 1 && d.nsyms ? NULL : ci64(g, d.coeff);
  for (int i = 0; i < d.nsyms; i++) {
    int k = 0;
    while (k < g->f->ndims && g->f->dim_syms[k] != d.syms[i])
      k++;
    if (k == g->f->ndims)
      NNC_BUG("dimension symbol %d is not a run-time dim of %s", d.syms[i], g->f->name);
    v = v ? LLVMBuildNSWMul(g->b, v, g->sym[k], "") : g->sym[k];
  }
  return v;
}

static Dim dmul(Cg *g, Dim x, Dim y) {
  Dim r;
  const char *why = NULL;
  if (!dim_mul(x, y, &r, &why)) {
    if (!g->failed)
      snprintf(g->err, g->errlen, "a tensor of %s is too large: %s", g->f->name, why);
    g->failed = true;
    return dim_const(1);
  }
  return r;
}

static Dim numel_of(Cg *g, const TType *t) {
  Dim n = dim_const(1);
  for (int i = 0; i < t->rank; i++)
    n = dmul(g, n, t->dims[i]);
  return n;
}

static LLVMValueRef gep(Cg *g, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef i) {
  return LLVMBuildInBoundsGEP2(g->b, t, p, &i, 1, "");
}

static LLVMValueRef entry_alloca(Cg *g, LLVMTypeRef t, const char *name) {
  LLVMBuilderRef tb = LLVMCreateBuilderInContext(g->c);
  LLVMValueRef first = LLVMGetFirstInstruction(g->top);
  if (first)
    LLVMPositionBuilderBefore(tb, first);
  else
    LLVMPositionBuilderAtEnd(tb, g->top);
  LLVMValueRef v = LLVMBuildAlloca(tb, t, name);
  LLVMDisposeBuilder(tb);
  return v;
}

static void add_attr(Cg *g, LLVMValueRef fn, unsigned idx, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->c, kind, 0));
}

static LLVMValueRef call(Cg *g, LLVMValueRef fn, LLVMValueRef *args, unsigned n) {
  return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

static LLVMValueRef intrinsic(Cg *g, const char *name, LLVMTypeRef t) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  return LLVMGetIntrinsicDeclaration(g->mod, id, &t, 1);
}

static LLVMValueRef call1(Cg *g, LLVMValueRef fn, LLVMValueRef x) { return call(g, fn, &x, 1); }

static LLVMValueRef runtime_fn(Cg *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                               unsigned n) {
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, name);
  if (!fn)
    fn = LLVMAddFunction(g->mod, name, LLVMFunctionType(ret, params, n, 0));
  return fn;
}

static LLVMValueRef load_ptr_at(Cg *g, LLVMValueRef base, int i) {
  return LLVMBuildLoad2(g->b, g->ptr, gep(g, g->ptr, base, ci64(g, i)), "");
}

/* Loads the run-time dims at the start of the current function. */
static void load_dims(Cg *g, LLVMValueRef dims) {
  g->sym = ARENA_ARRAY(g->a, LLVMValueRef, (size_t)g->f->ndims + 1);
  for (int i = 0; i < g->f->ndims; i++)
    g->sym[i] = LLVMBuildLoad2(g->b, g->i64, gep(g, g->i64, dims, ci64(g, i)), "dim");
}

static LLVMValueRef begin_function(Cg *g, const char *name, LLVMTypeRef ty, bool internal) {
  LLVMValueRef fn = LLVMAddFunction(g->mod, name, ty);
  if (internal)
    LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
  g->fn = fn;
  g->top = LLVMAppendBasicBlockInContext(g->c, fn, "entry");
  LLVMPositionBuilderAtEnd(g->b, g->top);
  return fn;
}

/* ------------------------------------------------------------------ loops
 * Rotated counted loops: a guard, then a body ending in the latch
 *   for (i = lo; i < hi; i++)
 * which is the form LLVM's loop passes and vectoriser expect. */

typedef struct Loop {
  LLVMBasicBlockRef body, exit;
  LLVMValueRef i, hi;
} Loop;

static Loop loop_begin(Cg *g, LLVMValueRef lo, LLVMValueRef hi) {
  Loop l;
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->b);
  l.body = LLVMAppendBasicBlockInContext(g->c, g->fn, "loop");
  l.exit = LLVMAppendBasicBlockInContext(g->c, g->fn, "done");
  l.hi = hi;
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, lo, hi, ""), l.body, l.exit);
  LLVMPositionBuilderAtEnd(g->b, l.body);
  l.i = LLVMBuildPhi(g->b, g->i64, "i");
  LLVMAddIncoming(l.i, &lo, &pre, 1);
  return l;
}

static void loop_end(Cg *g, Loop *l) {
  LLVMValueRef next = LLVMBuildNSWAdd(g->b, l->i, ci64(g, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(g->b);
  LLVMAddIncoming(l->i, &next, &latch, 1);
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, next, l->hi, ""), l->body, l->exit);
  LLVMPositionBuilderAtEnd(g->b, l->exit);
}

/* ------------------------------------------------------- f32 math helpers
 * Cephes single-precision polynomials, branch-free so loops using them
 * vectorise once they are inlined. */

static LLVMValueRef cf(Cg *g, double x) { return LLVMConstReal(g->f32, x); }

static LLVMValueRef fmul(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFMul(g->b, x, y, "");
}
static LLVMValueRef fadd(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFAdd(g->b, x, y, "");
}
static LLVMValueRef fsub(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFSub(g->b, x, y, "");
}
static LLVMValueRef fcmp(Cg *g, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFCmp(g->b, p, x, y, "");
}
static LLVMValueRef sel(Cg *g, LLVMValueRef c, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildSelect(g->b, c, x, y, "");
}

/* Horner: ((c[0] x + c[1]) x + ...) + c[n-1] */
static LLVMValueRef poly(Cg *g, LLVMValueRef x, const double *c, int n) {
  LLVMValueRef y = cf(g, c[0]);
  for (int i = 1; i < n; i++)
    y = fadd(g, fmul(g, y, x), cf(g, c[i]));
  return y;
}

typedef LLVMValueRef (*MathBody)(Cg *g, LLVMValueRef x);

/* Creates an internal always-inline float(float) function around body. */
static LLVMValueRef math_fn(Cg *g, const char *name, MathBody body) {
  LLVMBasicBlockRef saved_bb = LLVMGetInsertBlock(g->b);
  LLVMValueRef saved_fn = g->fn;
  LLVMBasicBlockRef saved_top = g->top;
  LLVMTypeRef ty = LLVMFunctionType(g->f32, &g->f32, 1, 0);
  LLVMValueRef fn = begin_function(g, name, ty, true);
  add_attr(g, fn, LLVMAttributeFunctionIndex, "alwaysinline");
  add_attr(g, fn, LLVMAttributeFunctionIndex, "willreturn");
  LLVMBuildRet(g->b, body(g, LLVMGetParam(fn, 0)));
  g->fn = saved_fn;
  g->top = saved_top;
  LLVMPositionBuilderAtEnd(g->b, saved_bb);
  return fn;
}

static LLVMValueRef pow2i(Cg *g, LLVMValueRef n) {
  LLVMValueRef bits = LLVMBuildShl(g->b, LLVMBuildAdd(g->b, n, ci32(g, 127), ""), ci32(g, 23), "");
  return LLVMBuildBitCast(g->b, bits, g->f32, "");
}

static LLVMValueRef expf_body(Cg *g, LLVMValueRef x) {
  static const double p[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                             4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
  LLVMValueRef xc = sel(g, fcmp(g, LLVMRealOLT, x, cf(g, -104.0)), cf(g, -104.0), x);
  xc = sel(g, fcmp(g, LLVMRealOGT, xc, cf(g, 89.0)), cf(g, 89.0), xc);
  LLVMValueRef fx = fadd(g, fmul(g, xc, cf(g, 1.44269504088896341)), cf(g, 0.5));
  fx = call1(g, intrinsic(g, "llvm.floor", g->f32), fx);
  LLVMValueRef r = fsub(g, xc, fmul(g, fx, cf(g, 0.693359375)));
  r = fsub(g, r, fmul(g, fx, cf(g, -2.12194440e-4)));
  LLVMValueRef z = fmul(g, r, r);
  LLVMValueRef y = fadd(g, fadd(g, fmul(g, poly(g, r, p, 6), z), r), cf(g, 1.0));
  /* 2^n as two factors so that n in [-150, 129] never leaves the normal
   * exponent range; the products overflow or underflow like exp does. */
  LLVMValueRef n = LLVMBuildFPToSI(g->b, fx, g->i32, "");
  LLVMValueRef n1 = LLVMBuildAShr(g->b, n, ci32(g, 1), "");
  LLVMValueRef n2 = LLVMBuildSub(g->b, n, n1, "");
  LLVMValueRef res = fmul(g, fmul(g, y, pow2i(g, n1)), pow2i(g, n2));
  return sel(g, fcmp(g, LLVMRealUNO, x, x), x, res);
}

static LLVMValueRef logf_body(Cg *g, LLVMValueRef x) {
  static const double p[] = {7.0376836292E-2,  -1.1514610310E-1, 1.1676998740E-1,
                             -1.2420140846E-1, 1.4249322787E-1,  -1.6668057665E-1,
                             2.0000714765E-1,  -2.4999993993E-1, 3.3333331174E-1};
  LLVMValueRef small = fcmp(g, LLVMRealOLT, x, cf(g, 1.17549435e-38));
  LLVMValueRef xs = sel(g, small, fmul(g, x, cf(g, 8388608.0)), x);
  LLVMValueRef bits = LLVMBuildBitCast(g->b, xs, g->i32, "");
  LLVMValueRef e = LLVMBuildAnd(g->b, LLVMBuildLShr(g->b, bits, ci32(g, 23), ""), ci32(g, 255), "");
  e = LLVMBuildSub(g->b, e, sel(g, small, ci32(g, 126 + 23), ci32(g, 126)), "");
  LLVMValueRef mb = LLVMBuildOr(g->b, LLVMBuildAnd(g->b, bits, ci32(g, (int32_t)0x807fffff), ""),
                                ci32(g, 0x3f000000), "");
  LLVMValueRef m = LLVMBuildBitCast(g->b, mb, g->f32, "");
  LLVMValueRef lt = fcmp(g, LLVMRealOLT, m, cf(g, 0.707106781186547524));
  e = sel(g, lt, LLVMBuildSub(g->b, e, ci32(g, 1), ""), e);
  m = sel(g, lt, fsub(g, fadd(g, m, m), cf(g, 1.0)), fsub(g, m, cf(g, 1.0)));
  LLVMValueRef z = fmul(g, m, m);
  LLVMValueRef y = fmul(g, fmul(g, poly(g, m, p, 9), m), z);
  LLVMValueRef fe = LLVMBuildSIToFP(g->b, e, g->f32, "");
  y = fadd(g, y, fmul(g, fe, cf(g, -2.12194440e-4)));
  y = fsub(g, y, fmul(g, z, cf(g, 0.5)));
  LLVMValueRef r = fadd(g, fadd(g, m, y), fmul(g, fe, cf(g, 0.693359375)));
  LLVMValueRef inf = cf(g, __builtin_inf());
  r = sel(g, fcmp(g, LLVMRealOEQ, x, inf), inf, r);
  r = sel(g, fcmp(g, LLVMRealOEQ, x, cf(g, 0.0)), cf(g, -__builtin_inf()), r);
  return sel(g, fcmp(g, LLVMRealULT, x, cf(g, 0.0)), cf(g, __builtin_nan("")), r);
}

static LLVMValueRef expf_call(Cg *g, LLVMValueRef x) {
  if (!g->expf)
    g->expf = math_fn(g, "nnc.expf", expf_body);
  return call1(g, g->expf, x);
}

static LLVMValueRef tanhf_body(Cg *g, LLVMValueRef x) {
  static const double p[] = {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2,
                             1.33314422036E-1, -3.33332819422E-1};
  LLVMValueRef ax = call1(g, intrinsic(g, "llvm.fabs", g->f32), x);
  LLVMValueRef z = fmul(g, x, x);
  LLVMValueRef small = fadd(g, fmul(g, fmul(g, poly(g, z, p, 5), z), x), x);
  LLVMValueRef e = expf_call(g, fmul(g, ax, cf(g, 2.0)));
  LLVMValueRef t = fsub(g, cf(g, 1.0), LLVMBuildFDiv(g->b, cf(g, 2.0), fadd(g, e, cf(g, 1.0)), ""));
  LLVMValueRef cs[2] = {t, x};
  LLVMValueRef fn = intrinsic(g, "llvm.copysign", g->f32);
  t = call(g, fn, cs, 2);
  return sel(g, fcmp(g, LLVMRealOLT, ax, cf(g, 0.625)), small, t);
}

/* 1 / (1 + e^-|x|), mirrored for x < 0: never overflows. */
static LLVMValueRef sigmoid_of(Cg *g, LLVMValueRef x, LLVMValueRef e, LLVMTypeRef t) {
  LLVMValueRef one = LLVMConstReal(t, 1.0);
  LLVMValueRef r = LLVMBuildFDiv(g->b, one, fadd(g, one, e), "");
  return sel(g, fcmp(g, LLVMRealOGE, x, LLVMConstReal(t, 0.0)), r, fmul(g, e, r));
}

static LLVMValueRef sigmoidf_body(Cg *g, LLVMValueRef x) {
  LLVMValueRef ax = call1(g, intrinsic(g, "llvm.fabs", g->f32), x);
  return sigmoid_of(g, x, expf_call(g, LLVMBuildFNeg(g->b, ax, "")), g->f32);
}

static LLVMValueRef math_unary(Cg *g, OpKind op, DType dt, LLVMValueRef x) {
  bool f64 = dt == DT_F64;
  LLVMTypeRef t = float_type(g, dt);
  switch (op) {
  case OP_EXP:
    return f64 ? call1(g, intrinsic(g, "llvm.exp", t), x) : expf_call(g, x);
  case OP_LOG:
    if (f64)
      return call1(g, intrinsic(g, "llvm.log", t), x);
    if (!g->logf)
      g->logf = math_fn(g, "nnc.logf", logf_body);
    return call1(g, g->logf, x);
  case OP_TANH:
    if (f64) {
      if (!g->tanh64) {
        g->tanh64 = runtime_fn(g, "tanh", g->f64, &g->f64, 1);
        add_attr(g, g->tanh64, LLVMAttributeFunctionIndex, "nounwind");
        add_attr(g, g->tanh64, LLVMAttributeFunctionIndex, "willreturn");
      }
      return call1(g, g->tanh64, x);
    }
    if (!g->tanhf)
      g->tanhf = math_fn(g, "nnc.tanhf", tanhf_body);
    return call1(g, g->tanhf, x);
  case OP_SIGMOID:
    if (f64) {
      LLVMValueRef ax = call1(g, intrinsic(g, "llvm.fabs", t), x);
      LLVMValueRef e = call1(g, intrinsic(g, "llvm.exp", t), LLVMBuildFNeg(g->b, ax, ""));
      return sigmoid_of(g, x, e, t);
    }
    if (!g->sigmoidf)
      g->sigmoidf = math_fn(g, "nnc.sigmoidf", sigmoidf_body);
    return call1(g, g->sigmoidf, x);
  default:
    NNC_BUG("math_unary: %s", op_info[op].name);
  }
}

/* -------------------------------------------------------- kernel planning */

typedef int8_t Map[R]; /* value axis -> domain axis, or -1 for index 0 */

typedef struct Access {
  const IrValue *v;
  Map map;
  int slot;
  bool zero[R];       /* per domain axis: stride 0 */
  Dim s[R];           /* per domain axis stride in elements */
  LLVMValueRef gs[R]; /* per group stride (NULL: 0) */
} Access;

typedef struct Memo {
  const IrValue *v;
  Map map;
  LLVMValueRef val;
} Memo;

typedef struct KGen {
  Cg *g;
  const Kernel *k;
  const TType *dom;
  int rank;
  int forced; /* axis kept in a group of its own (rowwise/class axis), or -1 */
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
  LLVMValueRef core_val;
} KGen;

static bool is_inner(const KGen *kg, const IrValue *v) {
  return fuse_is_internal(kg->g->ff, kg->k, v) || (v == kg->k->out && kg->k->kind != KK_COPY);
}

static void identity_map(Map m, int rank) {
  for (int i = 0; i < R; i++)
    m[i] = (int8_t)(i < rank ? i : -1);
}

/* The map of operand i of v, given v's map. */
static void operand_map(const IrValue *v, int i, const Map vm, Map om) {
  const IrValue *x = v->args[i];
  for (int j = 0; j < R; j++)
    om[j] = -1;
  switch (op_info[v->op].cls) {
  case OPC_LAYOUT: /* transpose: result axis j is operand axis perm[j] */
    for (int j = 0; j < v->type.rank; j++)
      om[v->attr.perm[j]] = vm[j];
    return;
  case OPC_ONEHOT:
    for (int j = 0; j < x->type.rank; j++)
      om[j] = vm[j];
    return;
  case OPC_UNARY:
  case OPC_BINARY:
  case OPC_COMPARE:
  case OPC_SELECT:
  case OPC_EXPAND:
  case OPC_ROWWISE: {
    int off = v->type.rank - x->type.rank;
    for (int j = 0; j < x->type.rank; j++)
      om[j] = is_one(x->type.dims[j]) ? -1 : vm[j + off];
    return;
  }
  case OPC_SOURCE:
  case OPC_MATMUL:
  case OPC_REDUCE:
  case OPC_LOSS:
  case OPC_UPDATE:
    break;
  }
  NNC_BUG("operand_map: %s is not evaluated per element", op_info[v->op].name);
}

static void fill_strides(KGen *kg, Access *ac) {
  const TType *t = &ac->v->type;
  for (int a = 0; a < R; a++)
    ac->zero[a] = true;
  Dim stride = dim_const(1);
  for (int j = t->rank - 1; j >= 0; j--) {
    int a = ac->map[j];
    if (a >= 0) {
      ac->zero[a] = false;
      ac->s[a] = stride;
    }
    stride = dmul(kg->g, stride, t->dims[j]);
  }
}

static int slot_of(KGen *kg, const IrValue *v) {
  for (int i = 1; i < kg->nslots; i++)
    if (kg->slots[i] == v)
      return i;
  kg->slots[kg->nslots] = v;
  return kg->nslots++;
}

static void add_access(KGen *kg, const IrValue *v, const Map map) {
  for (int i = 0; i < kg->nacc; i++)
    if (kg->acc[i].v == v && !memcmp(kg->acc[i].map, map, sizeof(Map)))
      return;
  if (kg->nacc == kg->cap_acc) {
    int c = kg->cap_acc ? kg->cap_acc * 2 : 8;
    kg->acc = arena_grow(kg->g->a, kg->acc, (size_t)kg->nacc, (size_t)c, sizeof *kg->acc);
    kg->cap_acc = c;
  }
  Access *ac = &kg->acc[kg->nacc++];
  memset(ac, 0, sizeof *ac);
  ac->v = v;
  memcpy(ac->map, map, sizeof(Map));
  ac->slot = slot_of(kg, v);
  fill_strides(kg, ac);
}

/* Collects the buffers an evaluation of v at map reads. */
static void visit(KGen *kg, const IrValue *v, const Map map) {
  if (!is_inner(kg, v)) {
    if (v->op != OP_CONST)
      add_access(kg, v, map);
    return;
  }
  if (v->op == OP_ONE_HOT && map[v->type.rank - 1] >= 0) {
    kg->barrier[map[v->type.rank - 1]] = true; /* its raw index is needed */
  }
  if (op_info[v->op].cls == OPC_ROWWISE) {
    visit(kg, v->args[0], map); /* the prologue, same shape */
    return;
  }
  for (int i = 0; i < v->nargs; i++) {
    Map om;
    operand_map(v, i, map, om);
    visit(kg, v->args[i], om);
  }
}

static bool kept(const KGen *kg, int a) { return !is_one(kg->dom->dims[a]) || a == kg->forced; }

static bool mergeable(const KGen *kg, int p, int a) {
  if (kg->barrier[p] || kg->barrier[a])
    return false;
  for (int i = -1; i < kg->nacc; i++) {
    const Access *ac = i < 0 ? &kg->out : &kg->acc[i];
    if (ac->zero[p] != ac->zero[a])
      return false;
    if (!ac->zero[p] && !dim_eq(ac->s[p], dmul(kg->g, ac->s[a], kg->dom->dims[a])))
      return false;
  }
  return true;
}

static void make_groups(KGen *kg) {
  int prev = -1;
  kg->ngroups = 0;
  for (int a = 0; a < kg->rank; a++) {
    kg->group_of[a] = -1;
    if (!kept(kg, a))
      continue;
    if (prev < 0 || !mergeable(kg, prev, a)) {
      kg->gfirst[kg->ngroups] = a;
      kg->gext_dim[kg->ngroups] = dim_const(1);
      kg->ngroups++;
    }
    int g = kg->ngroups - 1;
    kg->glast[g] = a;
    kg->group_of[a] = g;
    kg->gext_dim[g] = dmul(kg->g, kg->gext_dim[g], kg->dom->dims[a]);
    prev = a;
  }
}

static void plan_output(KGen *kg) {
  const Kernel *k = kg->k;
  Access *o = &kg->out;
  memset(o, 0, sizeof *o);
  o->v = k->out;
  o->slot = 0;
  if (k->kind == KK_REDUCE && k->core->op != OP_MSE) {
    /* output axes are the kept (non-reduced) domain axes, reduced ones as 1 */
    const IrValue *c = k->core;
    int j = 0;
    for (int a = 0; a < kg->rank; a++) {
      if (!kg->reduced[a])
        o->map[j++] = (int8_t)a;
      else if (c->attr.keepdims)
        o->map[j++] = -1;
    }
    for (; j < R; j++)
      o->map[j] = -1;
  } else if (k->kind == KK_REDUCE || k->kind == KK_XENT) {
    identity_map(o->map, 0); /* a scalar */
  } else {
    identity_map(o->map, k->out->type.rank);
  }
  fill_strides(kg, o);
}

static void plan_kernel(KGen *kg) {
  const Kernel *k = kg->k;
  Map id;
  identity_map(id, kg->rank);
  kg->forced = -1;
  switch (k->kind) {
  case KK_ELEMWISE:
  case KK_COPY:
    visit(kg, k->out, id);
    break;
  case KK_REDUCE:
    if (k->core->op == OP_MSE) {
      for (int a = 0; a < kg->rank; a++)
        kg->reduced[a] = true;
      visit(kg, k->core->args[1], id);
    } else {
      for (int i = 0; i < k->core->attr.naxes; i++)
        kg->reduced[k->core->attr.axes[i]] = true;
    }
    visit(kg, k->core->args[0], id);
    break;
  case KK_ROWWISE:
    kg->forced = k->core->attr.axis;
    kg->barrier[kg->forced] = true;
    visit(kg, k->out, id);
    break;
  case KK_XENT: {
    kg->forced = kg->rank - 1;
    kg->barrier[kg->forced] = true;
    visit(kg, k->core->args[0], id);
    Map lm;
    identity_map(lm, kg->rank - 1);
    add_access(kg, k->core->args[1], lm);
    break;
  }
  case KK_UPDATE: {
    /* grad and state follow the parameter; scale is a scalar; hyper is
     * read by element index, so it only needs a slot */
    const IrValue *u = k->out;
    Map scalar;
    identity_map(scalar, 0);
    add_access(kg, u->args[UPD_GRAD], id);
    slot_of(kg, u->args[UPD_HYPER]);
    add_access(kg, u->args[UPD_SCALE], scalar);
    for (int i = UPD_STATE; i < u->nargs; i++)
      add_access(kg, u->args[i], id);
    break;
  }
  case KK_GEMM:
  case KK_ALIAS:
    NNC_BUG("plan_kernel: not a loop kernel");
  }
  plan_output(kg);
  make_groups(kg);
}

/* -------------------------------------------------------- kernel emission */

static LLVMValueRef group_offset(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  LLVMValueRef off = NULL;
  for (int gi = 0; gi < kg->ngroups; gi++) {
    if (!ac->gs[gi])
      continue;
    LLVMValueRef t = LLVMIsConstant(ac->gs[gi]) && LLVMConstIntGetSExtValue(ac->gs[gi]) == 1
                         ? kg->gidx[gi]
                         : LLVMBuildNSWMul(g->b, kg->gidx[gi], ac->gs[gi], "");
    off = off ? LLVMBuildNSWAdd(g->b, off, t, "") : t;
  }
  return off ? off : ci64(g, 0);
}

static LLVMValueRef access_ptr(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  return gep(g, mem_type(g, ac->v->type.dtype), kg->bufs[ac->slot], group_offset(kg, ac));
}

static LLVMValueRef load_access(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  DType dt = ac->v->type.dtype;
  LLVMValueRef x = LLVMBuildLoad2(g->b, mem_type(g, dt), access_ptr(kg, ac), "");
  return dt == DT_BOOL ? LLVMBuildICmp(g->b, LLVMIntNE, x, LLVMConstInt(g->i8, 0, 0), "") : x;
}

static void store_out(KGen *kg, LLVMValueRef x) {
  Cg *g = kg->g;
  if (kg->out.v->type.dtype == DT_BOOL && LLVMTypeOf(x) == g->i1)
    x = LLVMBuildZExt(g->b, x, g->i8, "");
  LLVMBuildStore(g->b, x, access_ptr(kg, &kg->out));
}

static const Access *find_access(KGen *kg, const IrValue *v, const Map map) {
  for (int i = 0; i < kg->nacc; i++)
    if (kg->acc[i].v == v && !memcmp(kg->acc[i].map, map, sizeof(Map)))
      return &kg->acc[i];
  NNC_BUG("no access planned for %%%d", v->id);
}

static LLVMValueRef const_value(Cg *g, const IrValue *v) {
  DType dt = v->type.dtype;
  LLVMValueRef x = LLVMConstReal(g->f64, v->attr.scalar);
  if (v->attr.denom.coeff != 0) {
    LLVMValueRef d = LLVMBuildSIToFP(g->b, dim_value(g, v->attr.denom), g->f64, "");
    x = LLVMBuildFDiv(g->b, x, d, "");
  }
  switch (dt) {
  case DT_F32:
    return LLVMBuildFPTrunc(g->b, x, g->f32, "");
  case DT_F64:
    return x;
  case DT_I32:
    return LLVMBuildFPToSI(g->b, x, g->i32, "");
  case DT_BOOL:
    return fcmp(g, LLVMRealUNE, x, LLVMConstReal(g->f64, 0));
  }
  return x;
}

/* The raw index along domain axis a (one_hot's class axis). */
static LLVMValueRef axis_index(KGen *kg, int a) {
  if (a < 0 || kg->group_of[a] < 0)
    return ci64(kg->g, 0);
  return kg->gidx[kg->group_of[a]];
}

static LLVMValueRef ev(KGen *kg, const IrValue *v, const Map map);

static LLVMValueRef ev_arg(KGen *kg, const IrValue *v, int i, const Map map) {
  Map om;
  operand_map(v, i, map, om);
  return ev(kg, v->args[i], om);
}

static LLVMValueRef int_div(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  LLVMValueRef zero = ci32(g, 0);
  LLVMValueRef by0 = LLVMBuildICmp(g->b, LLVMIntEQ, y, zero, "");
  LLVMValueRef ovf = LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, x, ci32(g, INT32_MIN), ""),
                                  LLVMBuildICmp(g->b, LLVMIntEQ, y, ci32(g, -1), ""), "");
  LLVMValueRef safe = sel(g, LLVMBuildOr(g->b, by0, ovf, ""), ci32(g, 1), y);
  return sel(g, by0, zero, LLVMBuildSDiv(g->b, x, safe, ""));
}

static bool is_const_two(const IrValue *v) {
  return v->op == OP_CONST && v->attr.denom.coeff == 0 && v->attr.scalar == 2.0;
}

static LLVMValueRef ev_binary(KGen *kg, const IrValue *v, const Map map) {
  Cg *g = kg->g;
  bool fl = dtype_is_float(v->type.dtype);
  LLVMValueRef x = ev_arg(kg, v, 0, map);
  if (v->op == OP_POW && is_const_two(v->args[1]))
    return fmul(g, x, x); /* x ** 2 is a square (what NumPy does too) */
  LLVMValueRef y = ev_arg(kg, v, 1, map);
  switch (v->op) {
  case OP_ADD:
    return fl ? fadd(g, x, y) : LLVMBuildAdd(g->b, x, y, "");
  case OP_SUB:
    return fl ? fsub(g, x, y) : LLVMBuildSub(g->b, x, y, "");
  case OP_MUL:
    return fl ? fmul(g, x, y) : LLVMBuildMul(g->b, x, y, "");
  case OP_DIV:
    return fl ? LLVMBuildFDiv(g->b, x, y, "") : int_div(g, x, y);
  case OP_POW: {
    LLVMValueRef xy[2] = {x, y};
    return call(g, intrinsic(g, "llvm.pow", float_type(g, v->type.dtype)), xy, 2);
  }
  default:
    NNC_BUG("ev_binary: %s", op_info[v->op].name);
  }
}

static LLVMValueRef ev_compare(KGen *kg, const IrValue *v, const Map map) {
  Cg *g = kg->g;
  LLVMValueRef x = ev_arg(kg, v, 0, map), y = ev_arg(kg, v, 1, map);
  DType dt = v->args[0]->type.dtype;
  static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOLE, LLVMRealOGT,
                                         LLVMRealOGE, LLVMRealOEQ, LLVMRealUNE};
  static const LLVMIntPredicate sp[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntSGT,
                                        LLVMIntSGE, LLVMIntEQ,  LLVMIntNE};
  static const LLVMIntPredicate up[] = {LLVMIntULT, LLVMIntULE, LLVMIntUGT,
                                        LLVMIntUGE, LLVMIntEQ,  LLVMIntNE};
  _Static_assert(sizeof fp / sizeof *fp == OP_LAST_COMPARE - OP_FIRST_COMPARE + 1,
                 "one predicate per comparison of ops.def");
  int i = v->op - OP_FIRST_COMPARE;
  NNC_ASSERT(i >= 0 && v->op <= OP_LAST_COMPARE);
  if (dtype_is_float(dt))
    return fcmp(g, fp[i], x, y);
  return LLVMBuildICmp(g->b, dt == DT_BOOL ? up[i] : sp[i], x, y, "");
}

static LLVMValueRef ev_one_hot(KGen *kg, const IrValue *v, const Map map) {
  Cg *g = kg->g;
  LLVMValueRef l = LLVMBuildSExt(g->b, ev_arg(kg, v, 0, map), g->i64, "");
  LLVMValueRef hit = LLVMBuildICmp(g->b, LLVMIntEQ, l, axis_index(kg, map[v->type.rank - 1]), "");
  switch (v->type.dtype) {
  case DT_F32:
  case DT_F64: {
    LLVMTypeRef t = float_type(g, v->type.dtype);
    return sel(g, hit, LLVMConstReal(t, 1.0), LLVMConstReal(t, 0.0));
  }
  case DT_I32:
    return LLVMBuildZExt(g->b, hit, g->i32, "");
  case DT_BOOL:
    return hit;
  }
  return hit;
}

static LLVMValueRef ev_op(KGen *kg, const IrValue *v, const Map map) {
  Cg *g = kg->g;
  switch (v->op) {
  case OP_CONST:
    return const_value(g, v);
  case OP_NEG:
    return LLVMBuildFNeg(g->b, ev_arg(kg, v, 0, map), "");
  case OP_EXP:
  case OP_LOG:
  case OP_SIGMOID:
  case OP_TANH:
    return math_unary(g, v->op, v->type.dtype, ev_arg(kg, v, 0, map));
  case OP_RELU: {
    LLVMValueRef x = ev_arg(kg, v, 0, map);
    LLVMValueRef zero = LLVMConstReal(LLVMTypeOf(x), 0.0);
    return sel(g, fcmp(g, LLVMRealOLT, x, zero), zero, x); /* keeps NaN */
  }
  case OP_STOP_GRADIENT:
  case OP_BROADCAST:
  case OP_TRANSPOSE:
    return ev_arg(kg, v, 0, map);
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
  case OP_DIV:
  case OP_POW:
    return ev_binary(kg, v, map);
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE:
  case OP_EQ:
  case OP_NE:
    return ev_compare(kg, v, map);
  case OP_SELECT:
    return sel(g, ev_arg(kg, v, 0, map), ev_arg(kg, v, 1, map), ev_arg(kg, v, 2, map));
  case OP_ONE_HOT:
    return ev_one_hot(kg, v, map);
  case OP_SOFTMAX:
  case OP_LOG_SOFTMAX:
    NNC_ASSERT(kg->core_val);
    return kg->core_val;
  case OP_INPUT:
  case OP_PARAM:
  case OP_MATMUL:
  case OP_SUM:
  case OP_MEAN:
  case OP_RESHAPE:
  case OP_CROSS_ENTROPY:
  case OP_MSE:
  case OP_UPDATE:
  case OP_COUNT:
    break;
  }
  NNC_BUG("%s is never evaluated per element", op_info[v->op].name);
}

static LLVMValueRef ev(KGen *kg, const IrValue *v, const Map map) {
  for (int i = 0; i < kg->nmemo; i++)
    if (kg->memo[i].v == v && !memcmp(kg->memo[i].map, map, sizeof(Map)))
      return kg->memo[i].val;
  LLVMValueRef x;
  if (!is_inner(kg, v) && v->op != OP_CONST)
    x = load_access(kg, find_access(kg, v, map));
  else
    x = ev_op(kg, v, map);
  if (kg->nmemo == kg->cap_memo) {
    int c = kg->cap_memo ? kg->cap_memo * 2 : 16;
    kg->memo = arena_grow(kg->g->a, kg->memo, (size_t)kg->nmemo, (size_t)c, sizeof *kg->memo);
    kg->cap_memo = c;
  }
  kg->memo[kg->nmemo++] = (Memo){.v = v, .val = x};
  memcpy(kg->memo[kg->nmemo - 1].map, map, sizeof(Map));
  return x;
}

/* Evaluates v at the domain index held in gidx (a fresh memo: the index
 * changed). */
static LLVMValueRef ev_here(KGen *kg, const IrValue *v) {
  Map id;
  identity_map(id, kg->rank);
  kg->nmemo = 0;
  return ev(kg, v, id);
}

/* Loops over groups [gi, ngroups) except `skip`, calling body at the
 * innermost point. The first loop runs over [lo, hi) (the parallel range). */
typedef void (*NestBody)(KGen *kg, void *u);

static void nest(KGen *kg, int gi, int skip, LLVMValueRef lo, LLVMValueRef hi, NestBody body,
                 void *u) {
  if (gi == skip)
    gi++;
  if (gi >= kg->ngroups) {
    body(kg, u);
    return;
  }
  Loop l = loop_begin(kg->g, lo ? lo : ci64(kg->g, 0), lo ? hi : kg->gext[gi]);
  kg->gidx[gi] = l.i;
  nest(kg, gi + 1, skip, NULL, NULL, body, u);
  loop_end(kg->g, &l);
}

static void elementwise_body(KGen *kg, void *u) {
  (void)u;
  store_out(kg, ev_here(kg, kg->k->out));
}

/* ------------------------------------------------------- optimizer steps
 * One pass over a parameter: read it, its gradient and its state, write
 * the new parameter and state back in place. The formulas are PyTorch's
 * (torch.optim, foreach=False); the step's learning rate and Adam's bias
 * corrections arrive in hyper[] (runtime/nnrt_train.h). */

typedef struct UpdateVals {
  LLVMValueRef p, g, s[2]; /* parameter, scaled gradient, state */
  LLVMValueRef lr, h1, h2; /* hyper[0..2] */
} UpdateVals;

static LLVMValueRef fdiv(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFDiv(g->b, x, y, "");
}

static LLVMValueRef fsqrt(Cg *g, LLVMValueRef x) {
  return call1(g, intrinsic(g, "llvm.sqrt", g->f32), x);
}

/* g + weight_decay * p: L2 regularisation folded into the gradient. */
static LLVMValueRef with_l2(Cg *g, const IrOptim *o, const UpdateVals *u) {
  return o->weight_decay > 0 ? fadd(g, u->g, fmul(g, cf(g, o->weight_decay), u->p)) : u->g;
}

/* state = beta * state + (1 - beta) * x */
static LLVMValueRef ema(Cg *g, double beta, LLVMValueRef state, LLVMValueRef x) {
  return fadd(g, fmul(g, cf(g, beta), state), fmul(g, cf(g, 1 - beta), x));
}

static void update_sgd(Cg *g, const IrOptim *o, UpdateVals *u) {
  LLVMValueRef d = with_l2(g, o, u);
  if (o->momentum > 0) {
    u->s[0] = fadd(g, fmul(g, cf(g, o->momentum), u->s[0]), d);
    d = o->nesterov ? fadd(g, d, fmul(g, cf(g, o->momentum), u->s[0])) : u->s[0];
  }
  u->p = fsub(g, u->p, fmul(g, u->lr, d));
}

static void update_adam(Cg *g, const IrOptim *o, UpdateVals *u) {
  LLVMValueRef d = u->g;
  if (o->kind == OPTIM_ADAMW)
    u->p = fmul(g, u->p, fsub(g, cf(g, 1), fmul(g, u->lr, cf(g, o->weight_decay))));
  else
    d = with_l2(g, o, u);
  u->s[0] = ema(g, o->beta1, u->s[0], d);
  u->s[1] = ema(g, o->beta2, u->s[1], fmul(g, d, d));
  LLVMValueRef denom = fadd(g, fmul(g, fsqrt(g, u->s[1]), u->h2), cf(g, o->eps));
  u->p = fsub(g, u->p, fmul(g, u->h1, fdiv(g, u->s[0], denom)));
}

static void update_rmsprop(Cg *g, const IrOptim *o, UpdateVals *u) {
  LLVMValueRef d = with_l2(g, o, u);
  u->s[0] = ema(g, o->alpha, u->s[0], fmul(g, d, d));
  LLVMValueRef step = fdiv(g, d, fadd(g, fsqrt(g, u->s[0]), cf(g, o->eps)));
  if (o->momentum > 0) {
    u->s[1] = fadd(g, fmul(g, cf(g, o->momentum), u->s[1]), step);
    step = u->s[1];
  }
  u->p = fsub(g, u->p, fmul(g, u->lr, step));
}

static void update_body(KGen *kg, void *unused) {
  (void)unused;
  Cg *g = kg->g;
  const IrValue *v = kg->k->out;
  const IrOptim *o = v->attr.optim;
  Map id, scalar;
  identity_map(id, v->type.rank);
  identity_map(scalar, 0);
  UpdateVals u = {0};
  u.p = load_access(kg, &kg->out);
  LLVMValueRef scale = load_access(kg, find_access(kg, v->args[UPD_SCALE], scalar));
  u.g = fmul(g, load_access(kg, find_access(kg, v->args[UPD_GRAD], id)), scale);
  LLVMValueRef hyper = kg->bufs[slot_of(kg, v->args[UPD_HYPER])];
  LLVMValueRef *h[3] = {&u.lr, &u.h1, &u.h2};
  for (int i = 0; i < 3; i++)
    *h[i] = LLVMBuildLoad2(g->b, g->f32, gep(g, g->f32, hyper, ci64(g, i)), "");
  int nstate = v->nargs - UPD_STATE;
  for (int i = 0; i < nstate; i++)
    u.s[i] = load_access(kg, find_access(kg, v->args[UPD_STATE + i], id));
  switch (o->kind) {
  case OPTIM_SGD:
    update_sgd(g, o, &u);
    break;
  case OPTIM_ADAM:
  case OPTIM_ADAMW:
    update_adam(g, o, &u);
    break;
  case OPTIM_RMSPROP:
    update_rmsprop(g, o, &u);
    break;
  }
  store_out(kg, u.p);
  for (int i = 0; i < nstate; i++)
    LLVMBuildStore(g->b, u.s[i], access_ptr(kg, find_access(kg, v->args[UPD_STATE + i], id)));
}

/* reassoc on accumulators only: lets the vectoriser keep partial sums. */
static LLVMValueRef acc_add(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  if (LLVMGetTypeKind(LLVMTypeOf(x)) == LLVMIntegerTypeKind)
    return LLVMBuildAdd(g->b, x, y, "");
  LLVMValueRef r = fadd(g, x, y);
  LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc);
  return r;
}

static LLVMValueRef zero_of(LLVMTypeRef t) {
  return LLVMGetTypeKind(t) == LLVMIntegerTypeKind ? LLVMConstInt(t, 0, 0) : LLVMConstReal(t, 0);
}

static LLVMValueRef reduce_value(KGen *kg) {
  const IrValue *c = kg->k->core;
  if (c->op != OP_MSE)
    return ev_here(kg, c->args[0]);
  LLVMValueRef p = ev_here(kg, c->args[0]);
  Map id;
  identity_map(id, kg->rank);
  LLVMValueRef d = fsub(kg->g, p, ev(kg, c->args[1], id));
  return fmul(kg->g, d, d);
}

static void accumulate_out(KGen *kg, LLVMValueRef x) {
  Cg *g = kg->g;
  LLVMValueRef p = access_ptr(kg, &kg->out);
  LLVMTypeRef t = mem_type(g, kg->out.v->type.dtype);
  LLVMBuildStore(g->b, acc_add(g, LLVMBuildLoad2(g->b, t, p, ""), x), p);
}

static void reduce_body(KGen *kg, void *u) {
  (void)u;
  accumulate_out(kg, reduce_value(kg));
}

/* The innermost group is reduced: a scalar accumulator over it. */
static void reduce_row_body(KGen *kg, void *u) {
  (void)u;
  Cg *g = kg->g;
  int gi = kg->ngroups - 1;
  LLVMTypeRef t = mem_type(g, kg->out.v->type.dtype);
  LLVMValueRef acc = entry_alloca(g, t, "acc");
  LLVMBuildStore(g->b, zero_of(t), acc);
  Loop l = loop_begin(g, ci64(g, 0), kg->gext[gi]);
  kg->gidx[gi] = l.i;
  LLVMBuildStore(g->b, acc_add(g, LLVMBuildLoad2(g->b, t, acc, ""), reduce_value(kg)), acc);
  loop_end(g, &l);
  kg->gidx[gi] = ci64(g, 0); /* the output does not depend on it */
  accumulate_out(kg, LLVMBuildLoad2(g->b, t, acc, ""));
}

/* [lo, hi) of the output elements this call of the kernel owns; all of
 * them when the kernel is not split (lo NULL): a reduction whose reduced
 * axes have extent 1 keeps a single, unreduced loop group, which
 * parallel_group does not split. */
static void out_slice(KGen *kg, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef *from,
                      LLVMValueRef *to) {
  Cg *g = kg->g;
  if (lo && kg->ngroups > 0 && !kg->reduced[kg->gfirst[0]] && kg->out.gs[0]) {
    *from = LLVMBuildNSWMul(g->b, lo, kg->out.gs[0], "");
    *to = LLVMBuildNSWMul(g->b, hi, kg->out.gs[0], "");
  } else {
    *from = ci64(g, 0);
    *to = dim_value(g, numel_of(g, &kg->out.v->type));
  }
}

static void emit_reduce(KGen *kg, LLVMValueRef lo, LLVMValueRef hi) {
  Cg *g = kg->g;
  LLVMValueRef from, to;
  out_slice(kg, lo, hi, &from, &to);
  LLVMTypeRef t = mem_type(g, kg->out.v->type.dtype);
  LLVMValueRef base = gep(g, t, kg->bufs[0], from);
  LLVMValueRef bytes = LLVMBuildNSWMul(g->b, LLVMBuildNSWSub(g->b, to, from, ""),
                                       ci64(g, dtype_size(kg->out.v->type.dtype)), "");
  LLVMBuildMemSet(g->b, base, LLVMConstInt(g->i8, 0, 0), bytes, 8);
  bool row = kg->ngroups > 0 && kg->reduced[kg->gfirst[kg->ngroups - 1]];
  nest(kg, 0, row ? kg->ngroups - 1 : -1, kg->ngroups > (row ? 1 : 0) ? lo : NULL, hi,
       row ? reduce_row_body : reduce_body, NULL);
  const IrValue *c = kg->k->core;
  if (c->op == OP_SUM)
    return;
  Dim count = dim_const(1);
  for (int a = 0; a < kg->rank; a++)
    if (kg->reduced[a])
      count = dmul(g, count, kg->dom->dims[a]);
  LLVMValueRef n = LLVMBuildSIToFP(g->b, dim_value(g, count), t, "");
  Loop l = loop_begin(g, from, to);
  LLVMValueRef p = gep(g, t, kg->bufs[0], l.i);
  LLVMBuildStore(g->b, LLVMBuildFDiv(g->b, LLVMBuildLoad2(g->b, t, p, ""), n, ""), p);
  loop_end(g, &l);
}

/* Softmax statistics of the current row: max and sum of exp(x - max). */
typedef struct RowStats {
  LLVMValueRef max, sum;
} RowStats;

static RowStats row_stats(KGen *kg, int gc) {
  Cg *g = kg->g;
  const IrValue *x = kg->k->core->args[0];
  LLVMTypeRef t = mem_type(g, x->type.dtype);
  LLVMValueRef m = entry_alloca(g, t, "max"), s = entry_alloca(g, t, "sum");
  LLVMBuildStore(g->b, LLVMConstReal(t, -__builtin_inf()), m);
  Loop l = loop_begin(g, ci64(g, 0), kg->gext[gc]);
  kg->gidx[gc] = l.i;
  LLVMValueRef mx[2] = {LLVMBuildLoad2(g->b, t, m, ""), ev_here(kg, x)};
  LLVMBuildStore(g->b, call(g, intrinsic(g, "llvm.maxnum", t), mx, 2), m);
  loop_end(g, &l);
  RowStats st = {LLVMBuildLoad2(g->b, t, m, ""), NULL};
  LLVMBuildStore(g->b, LLVMConstReal(t, 0), s);
  l = loop_begin(g, ci64(g, 0), kg->gext[gc]);
  kg->gidx[gc] = l.i;
  LLVMValueRef e = math_unary(g, OP_EXP, x->type.dtype, fsub(g, ev_here(kg, x), st.max));
  LLVMBuildStore(g->b, acc_add(g, LLVMBuildLoad2(g->b, t, s, ""), e), s);
  loop_end(g, &l);
  st.sum = LLVMBuildLoad2(g->b, t, s, "");
  return st;
}

static void rowwise_body(KGen *kg, void *u) {
  (void)u;
  Cg *g = kg->g;
  const IrValue *core = kg->k->core;
  int gc = kg->group_of[core->attr.axis];
  RowStats st = row_stats(kg, gc);
  DType dt = core->type.dtype;
  LLVMValueRef logsum = core->op == OP_LOG_SOFTMAX ? math_unary(g, OP_LOG, dt, st.sum) : NULL;
  Loop l = loop_begin(g, ci64(g, 0), kg->gext[gc]);
  kg->gidx[gc] = l.i;
  LLVMValueRef d = fsub(g, ev_here(kg, core->args[0]), st.max);
  if (core->op == OP_LOG_SOFTMAX)
    kg->core_val = fsub(g, d, logsum);
  else
    kg->core_val = LLVMBuildFDiv(g->b, math_unary(g, OP_EXP, dt, d), st.sum, "");
  Map id;
  identity_map(id, kg->rank);
  store_out(kg, ev(kg, kg->k->out, id));
  kg->core_val = NULL;
  loop_end(g, &l);
}

typedef struct XentState {
  LLVMValueRef acc;
  LLVMTypeRef t;
} XentState;

static void xent_body(KGen *kg, void *u) {
  XentState *xs = u;
  Cg *g = kg->g;
  const IrValue *core = kg->k->core;
  int gc = kg->ngroups - 1;
  RowStats st = row_stats(kg, gc);
  DType dt = core->type.dtype;
  LLVMValueRef lse = fadd(g, st.max, math_unary(g, OP_LOG, dt, st.sum));
  kg->gidx[gc] = ci64(g, 0);
  Map lm;
  identity_map(lm, kg->rank - 1);
  LLVMValueRef label = load_access(kg, find_access(kg, core->args[1], lm));
  kg->gidx[gc] = LLVMBuildSExt(g->b, label, g->i64, "");
  LLVMValueRef picked = ev_here(kg, core->args[0]);
  LLVMValueRef loss = fsub(g, lse, picked);
  LLVMBuildStore(g->b, acc_add(g, LLVMBuildLoad2(g->b, xs->t, xs->acc, ""), loss), xs->acc);
}

static void emit_xent(KGen *kg) {
  Cg *g = kg->g;
  XentState xs = {.t = mem_type(g, kg->k->core->type.dtype)};
  xs.acc = entry_alloca(g, xs.t, "loss");
  LLVMBuildStore(g->b, LLVMConstReal(xs.t, 0), xs.acc);
  nest(kg, 0, kg->ngroups - 1, NULL, NULL, xent_body, &xs);
  Dim rows = numel_of(g, &kg->k->core->args[1]->type);
  LLVMValueRef n = LLVMBuildSIToFP(g->b, dim_value(g, rows), xs.t, "");
  LLVMValueRef mean = LLVMBuildFDiv(g->b, LLVMBuildLoad2(g->b, xs.t, xs.acc, ""), n, "");
  LLVMBuildStore(g->b, mean, kg->bufs[0]);
}

/* The first loop of the nest: the one split across threads. */
static int parallel_group(const KGen *kg) {
  switch (kg->k->kind) {
  case KK_ELEMWISE:
  case KK_COPY:
  case KK_UPDATE:
    return kg->ngroups > 0 ? 0 : -1;
  case KK_REDUCE:
    return kg->ngroups > 1 && !kg->reduced[kg->gfirst[0]] ? 0 : -1;
  case KK_ROWWISE: {
    int gc = kg->group_of[kg->k->core->attr.axis];
    return kg->ngroups > 1 ? (gc == 0 ? 1 : 0) : -1;
  }
  case KK_XENT:
  case KK_GEMM:
  case KK_ALIAS:
    return -1;
  }
  return -1;
}

static void emit_loops(KGen *kg, LLVMValueRef lo, LLVMValueRef hi) {
  int pg = parallel_group(kg);
  switch (kg->k->kind) {
  case KK_ELEMWISE:
  case KK_COPY:
    nest(kg, 0, -1, pg >= 0 ? lo : NULL, hi, elementwise_body, NULL);
    return;
  case KK_REDUCE:
    emit_reduce(kg, pg >= 0 ? lo : NULL, hi);
    return;
  case KK_ROWWISE: {
    int gc = kg->group_of[kg->k->core->attr.axis];
    nest(kg, 0, gc, pg >= 0 ? lo : NULL, hi, rowwise_body, NULL);
    return;
  }
  case KK_XENT:
    emit_xent(kg);
    return;
  case KK_UPDATE:
    nest(kg, 0, -1, pg >= 0 ? lo : NULL, hi, update_body, NULL);
    return;
  case KK_GEMM:
  case KK_ALIAS:
    break;
  }
  NNC_BUG("emit_loops: not a loop kernel");
}

/* Builds <entry>.k<N>.body(bufs..., dims, lo, hi) and its wrapper
 * <entry>.k<N>(ctx, lo, hi); returns the wrapper. */
static LLVMValueRef emit_kernel_fn(KGen *kg) {
  Cg *g = kg->g;
  int n = kg->nslots;
  LLVMTypeRef *ps = ARENA_ARRAY(g->a, LLVMTypeRef, (size_t)n + 3);
  for (int i = 0; i < n; i++)
    ps[i] = g->ptr;
  ps[n] = g->ptr;
  ps[n + 1] = ps[n + 2] = g->i64;
  const char *bname = arena_printf(g->a, "%s.k%d.body", g->entry, kg->k->index);
  LLVMValueRef body =
      begin_function(g, bname, LLVMFunctionType(g->vd, ps, (unsigned)n + 3, 0), true);
  add_attr(g, body, LLVMAttributeFunctionIndex, "alwaysinline");
  kg->bufs = ARENA_ARRAY(g->a, LLVMValueRef, (size_t)n + 1);
  for (int i = 0; i < n; i++) {
    kg->bufs[i] = LLVMGetParam(body, (unsigned)i);
    add_attr(g, body, (unsigned)i + 1, "noalias");
    add_attr(g, body, (unsigned)i + 1, "nocapture");
  }
  load_dims(g, LLVMGetParam(body, (unsigned)n));
  for (int gi = 0; gi < kg->ngroups; gi++)
    kg->gext[gi] = dim_value(g, kg->gext_dim[gi]);
  for (int i = -1; i < kg->nacc; i++) {
    Access *ac = i < 0 ? &kg->out : &kg->acc[i];
    for (int gi = 0; gi < kg->ngroups; gi++) {
      int a = kg->glast[gi];
      ac->gs[gi] = ac->zero[a] ? NULL : dim_value(g, ac->s[a]);
    }
  }
  emit_loops(kg, LLVMGetParam(body, (unsigned)n + 1), LLVMGetParam(body, (unsigned)n + 2));
  LLVMBuildRetVoid(g->b);

  const char *wname = arena_printf(g->a, "%s.k%d", g->entry, kg->k->index);
  LLVMValueRef w = begin_function(g, wname, g->kfn_ty, true);
  LLVMValueRef ctx = LLVMGetParam(w, 0);
  LLVMValueRef *args = ARENA_ARRAY(g->a, LLVMValueRef, (size_t)n + 3);
  for (int i = 0; i < n; i++) /* ctx[1 + i] is slot i */
    args[i] = load_ptr_at(g, ctx, i + 1);
  args[n] = load_ptr_at(g, ctx, 0); /* the dims */
  args[n + 1] = LLVMGetParam(w, 1);
  args[n + 2] = LLVMGetParam(w, 2);
  call(g, body, args, (unsigned)n + 3);
  LLVMBuildRetVoid(g->b);
  return w;
}

/* ----------------------------------------------------------- entry code */

typedef struct Entry {
  LLVMValueRef fn, dims, inputs, params, outputs, ws, ws_off;
  LLVMValueRef *kfns; /* kernel wrappers, NULL for gemm/alias */
  KGen **kgens;
} Entry;

static LLVMValueRef storage_ptr(Cg *g, Entry *e, Storage s) {
  switch (s.kind) {
  case ST_INPUT:
    return load_ptr_at(g, e->inputs, s.index);
  case ST_PARAM:
    return load_ptr_at(g, e->params, s.index);
  case ST_OUTPUT:
    return load_ptr_at(g, e->outputs, s.index);
  case ST_WS: {
    LLVMValueRef off =
        LLVMBuildLoad2(g->b, g->i64, gep(g, g->i64, e->ws_off, ci64(g, s.index)), "");
    return gep(g, g->i8, e->ws, off);
  }
  case ST_NONE:
    break;
  }
  NNC_BUG("value without storage in codegen");
}

static LLVMValueRef value_ptr(Cg *g, Entry *e, const IrValue *v) {
  return storage_ptr(g, e, g->mp->storage[v->id]);
}

/* Class labels must lie in [0, depth) before any kernel reads them. */
static void check_labels(Cg *g, Entry *e, const IrValue *labels, Dim depth) {
  LLVMValueRef p = value_ptr(g, e, labels);
  LLVMValueRef d = dim_value(g, depth);
  Loop l = loop_begin(g, ci64(g, 0), dim_value(g, numel_of(g, &labels->type)));
  LLVMValueRef x = LLVMBuildLoad2(g->b, g->i32, gep(g, g->i32, p, l.i), "");
  LLVMValueRef x64 = LLVMBuildSExt(g->b, x, g->i64, "");
  LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(g->c, g->fn, "bad_label");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(g->c, g->fn, "label_ok");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntUGE, x64, d, ""), bad, ok);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMValueRef st[4] = {ci64(g, labels->id), l.i, x64, d};
  int slots[4] = {CG_STATUS_VALUE, CG_STATUS_POS, CG_STATUS_LABEL, CG_STATUS_DEPTH};
  for (int i = 0; i < 4; i++)
    LLVMBuildStore(g->b, st[i], gep(g, g->i64, e->ws, ci64(g, slots[i])));
  LLVMBuildRet(g->b, ci32(g, CG_ERR_LABEL));
  LLVMPositionBuilderAtEnd(g->b, ok);
  loop_end(g, &l);
}

static void label_checks(Cg *g, Entry *e, const Kernel *k) {
  if (k->kind == KK_COPY || k->kind == KK_GEMM || k->kind == KK_ALIAS)
    return;
  for (int i = 0; i < k->nvals; i++) {
    const IrValue *v = k->vals[i];
    if (v->op == OP_ONE_HOT)
      check_labels(g, e, v->args[0], dim_const(v->attr.depth));
    else if (v->op == OP_CROSS_ENTROPY)
      check_labels(g, e, v->args[1], v->args[0]->type.dims[v->args[0]->type.rank - 1]);
  }
}

/* A training step's update scale is NaN when its loss or gradient norm is
 * not finite (train_step.c): then it returns CG_ERR_NONFINITE before the
 * first update, with CG_STATUS_VALUE saying which (0 the loss, 1 the
 * gradient), so that no parameter or optimizer state is written. */
static void guard_updates(Cg *g, Entry *e, const Kernel *k) {
  const IrValue *scale = k->out->args[UPD_SCALE];
  if (scale->op == OP_CONST || g->mp->storage[scale->id].kind == ST_NONE)
    return;
  LLVMValueRef s = LLVMBuildLoad2(g->b, g->f32, value_ptr(g, e, scale), "scale");
  LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(g->c, g->fn, "nonfinite");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(g->c, g->fn, "finite");
  LLVMBuildCondBr(g->b, LLVMBuildFCmp(g->b, LLVMRealUNO, s, s, ""), bad, ok);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMValueRef which = ci64(g, 1);
  const IrValue *loss = g->f->nresults > 0 ? g->f->results[0] : NULL;
  if (loss && loss->type.rank == 0 && loss->type.dtype == DT_F32 &&
      g->mp->storage[loss->id].kind != ST_NONE) {
    LLVMValueRef l = LLVMBuildLoad2(g->b, g->f32, value_ptr(g, e, loss), "loss");
    LLVMValueRef d = LLVMBuildFSub(g->b, l, l, ""); /* NaN unless l is finite */
    which = sel(g, LLVMBuildFCmp(g->b, LLVMRealUNO, d, d, ""), ci64(g, 0), ci64(g, 1));
  }
  LLVMBuildStore(g->b, which, gep(g, g->i64, e->ws, ci64(g, CG_STATUS_VALUE)));
  LLVMBuildRet(g->b, ci32(g, CG_ERR_NONFINITE));
  LLVMPositionBuilderAtEnd(g->b, ok);
}

static void call_loop_kernel(Cg *g, Entry *e, const Kernel *k, KGen *kg, LLVMValueRef kfn) {
  int n = kg->nslots;
  LLVMValueRef ctx = entry_alloca(g, LLVMArrayType(g->ptr, (unsigned)n + 1), "ctx");
  LLVMBuildStore(g->b, e->dims, gep(g, g->ptr, ctx, ci64(g, 0)));
  for (int i = 0; i < n; i++) {
    LLVMValueRef p;
    if (i == 0)
      p = k->kind == KK_COPY ? storage_ptr(g, e, (Storage){ST_OUTPUT, k->result})
                             : value_ptr(g, e, k->out);
    else
      p = value_ptr(g, e, kg->slots[i]);
    LLVMBuildStore(g->b, p, gep(g, g->ptr, ctx, ci64(g, i + 1)));
  }
  int pg = parallel_group(kg);
  LLVMValueRef args[4] = {ctx, ci64(g, 0), pg >= 0 ? kg->gext[pg] : ci64(g, 1), NULL};
  if (pg < 0) {
    call(g, kfn, args, 3);
    return;
  }
  /* Threads only for kernels with enough elements; grain from the count. */
  LLVMValueRef total = dim_value(g, numel_of(g, kg->dom));
  LLVMValueRef big = LLVMBuildICmp(g->b, LLVMIntSGE, total, ci64(g, CG_PARALLEL_MIN), "");
  LLVMBasicBlockRef par = LLVMAppendBasicBlockInContext(g->c, g->fn, "par");
  LLVMBasicBlockRef ser = LLVMAppendBasicBlockInContext(g->c, g->fn, "serial");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(g->c, g->fn, "next");
  LLVMBuildCondBr(g->b, big, par, ser);
  LLVMPositionBuilderAtEnd(g->b, ser);
  call(g, kfn, args, 3);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, par);
  LLVMValueRef per = LLVMBuildSDiv(g->b, total, args[2], ""); /* elements per unit */
  LLVMValueRef grain = LLVMBuildSDiv(g->b, ci64(g, CG_GRAIN_ELEMS), per, "");
  grain = sel(g, LLVMBuildICmp(g->b, LLVMIntSLT, grain, ci64(g, 1), ""), ci64(g, 1), grain);
  LLVMTypeRef pt[4] = {g->ptr, g->ptr, g->i64, g->i64};
  LLVMValueRef pf = runtime_fn(g, "nnrt_parallel_for", g->vd, pt, 4);
  LLVMValueRef pargs[4] = {kfn, ctx, args[2], grain};
  call(g, pf, pargs, 4);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
}

/* ------------------------------------------------------------------ GEMM */

typedef struct GemmOperand {
  const IrValue *v; /* logical operand */
  bool trans;       /* read through a folded transpose */
  Dim bstride[R];   /* per batch axis of the result; coeff 0: broadcast */
} GemmOperand;

static void gemm_operand(Cg *g, GemmOperand *o, const IrValue *v, int nb) {
  o->v = v;
  o->trans = g->ff->folded[v->id];
  const TType *t = &v->type;
  int vb = t->rank >= 2 ? t->rank - 2 : 0; /* batch axes of the operand */
  for (int i = 0; i < nb; i++) {
    int ai = i - (nb - vb);
    o->bstride[i] = dim_const(0);
    if (ai < 0 || is_one(t->dims[ai]))
      continue;
    Dim s = dim_const(1);
    for (int j = ai + 1; j < t->rank; j++)
      s = dmul(g, s, t->dims[j]);
    o->bstride[i] = s;
  }
}

static LLVMValueRef stride_value(Cg *g, Dim d) {
  return d.coeff == 0 ? ci64(g, 0) : dim_value(g, d);
}

typedef struct Gemm {
  GemmOperand a, b;
  const TType *tc;
  int nb;
  bool f64;
  LLVMTypeRef et;
  LLVMValueRef m, n, k, lda, ldb;
} Gemm;

static void gemm_call(Cg *g, const Gemm *c, LLVMValueRef pa, LLVMValueRef pb, LLVMValueRef pc) {
  int nb = c->nb;
  LLVMValueRef batch = nb ? dim_value(g, c->tc->dims[nb - 1]) : ci64(g, 1);
  LLVMValueRef sa = nb ? stride_value(g, c->a.bstride[nb - 1]) : ci64(g, 0);
  LLVMValueRef sb = nb ? stride_value(g, c->b.bstride[nb - 1]) : ci64(g, 0);
  LLVMValueRef sc = LLVMBuildNSWMul(g->b, c->m, c->n, "");
  LLVMTypeRef et = c->et;
  LLVMTypeRef pt[17] = {g->i64, g->i32, g->i32, g->i64, g->i64, g->i64, et,     g->ptr, g->i64,
                        g->i64, g->ptr, g->i64, g->i64, et,     g->ptr, g->i64, g->i64};
  LLVMValueRef fn =
      runtime_fn(g, c->f64 ? "nnrt_dgemm_batched" : "nnrt_sgemm_batched", g->vd, pt, 17);
  LLVMValueRef args[17] = {batch,
                           ci32(g, c->a.trans),
                           ci32(g, c->b.trans),
                           c->m,
                           c->n,
                           c->k,
                           LLVMConstReal(et, 1.0),
                           pa,
                           c->lda,
                           sa,
                           pb,
                           c->ldb,
                           sb,
                           LLVMConstReal(et, 0.0),
                           pc,
                           c->n,
                           sc};
  call(g, fn, args, 17);
}

/* Batch axes before the innermost one loop here, in the entry function. */
static void gemm_nest(Cg *g, const Gemm *c, int i, LLVMValueRef pa, LLVMValueRef pb,
                      LLVMValueRef pc) {
  if (i + 1 >= c->nb) {
    gemm_call(g, c, pa, pb, pc);
    return;
  }
  Loop l = loop_begin(g, ci64(g, 0), dim_value(g, c->tc->dims[i]));
  Dim cs = dim_const(1);
  for (int j = i + 1; j < c->tc->rank; j++)
    cs = dmul(g, cs, c->tc->dims[j]);
  LLVMValueRef qa =
      gep(g, c->et, pa, LLVMBuildNSWMul(g->b, l.i, stride_value(g, c->a.bstride[i]), ""));
  LLVMValueRef qb =
      gep(g, c->et, pb, LLVMBuildNSWMul(g->b, l.i, stride_value(g, c->b.bstride[i]), ""));
  LLVMValueRef qc = gep(g, c->et, pc, LLVMBuildNSWMul(g->b, l.i, dim_value(g, cs), ""));
  gemm_nest(g, c, i + 1, qa, qb, qc);
  loop_end(g, &l);
}

/* numpy.matmul: a 1-D left operand is a row [1, k], a 1-D right one a
 * column [k, 1]; leading axes broadcast (stride 0). */
static void emit_gemm(Cg *g, Entry *e, const Kernel *k) {
  const IrValue *mm = k->core, *a = mm->args[0], *b = mm->args[1];
  const TType *ta = &a->type, *tb = &b->type;
  Gemm c = {.tc = &mm->type, .f64 = mm->type.dtype == DT_F64};
  c.nb = c.tc->rank - (ta->rank >= 2) - (tb->rank >= 2);
  c.et = c.f64 ? g->f64 : g->f32;
  gemm_operand(g, &c.a, a, c.nb);
  gemm_operand(g, &c.b, b, c.nb);
  c.m = dim_value(g, ta->rank >= 2 ? ta->dims[ta->rank - 2] : dim_const(1));
  c.k = dim_value(g, ta->dims[ta->rank - 1]);
  c.n = dim_value(g, tb->rank >= 2 ? tb->dims[tb->rank - 1] : dim_const(1));
  c.lda = c.a.trans ? c.m : c.k; /* a folded A is stored [k, m] */
  c.ldb = c.b.trans ? c.k : c.n; /* a folded B is stored [n, k] */
  LLVMValueRef pa = value_ptr(g, e, c.a.trans ? a->args[0] : a);
  LLVMValueRef pb = value_ptr(g, e, c.b.trans ? b->args[0] : b);
  gemm_nest(g, &c, 0, pa, pb, value_ptr(g, e, mm));
}

/* ------------------------------------------------------- the whole module */

static void emit_entry(Cg *g, Entry *e) {
  LLVMTypeRef ps[6] = {g->ptr, g->ptr, g->ptr, g->ptr, g->ptr, g->ptr};
  e->fn = begin_function(g, g->entry, LLVMFunctionType(g->i32, ps, 6, 0), false);
  LLVMValueRef *p[6] = {&e->dims, &e->inputs, &e->params, &e->outputs, &e->ws, &e->ws_off};
  for (int i = 0; i < 6; i++) {
    *p[i] = LLVMGetParam(e->fn, (unsigned)i);
    if (i != 4)
      add_attr(g, e->fn, (unsigned)i + 1, "readonly");
  }
  load_dims(g, e->dims);
  const FusedFunc *ff = g->ff;
  bool guarded = false;
  for (int i = 0; i < ff->nkernels && !g->failed; i++) {
    const Kernel *k = ff->kernels[i];
    label_checks(g, e, k);
    if (k->kind == KK_UPDATE && !guarded) {
      guard_updates(g, e, k);
      guarded = true;
    }
    switch (k->kind) {
    case KK_GEMM:
      emit_gemm(g, e, k);
      break;
    case KK_ALIAS:
      break;
    case KK_ELEMWISE:
    case KK_REDUCE:
    case KK_ROWWISE:
    case KK_XENT:
    case KK_COPY:
    case KK_UPDATE: {
      KGen *kg = e->kgens[i];
      for (int gi = 0; gi < kg->ngroups; gi++) /* extents, now in the entry */
        kg->gext[gi] = dim_value(g, kg->gext_dim[gi]);
      call_loop_kernel(g, e, k, kg, e->kfns[i]);
      break;
    }
    }
  }
  LLVMBuildRet(g->b, ci32(g, 0));
}

static void init_types(Cg *g) {
  g->i1 = LLVMInt1TypeInContext(g->c);
  g->i8 = LLVMInt8TypeInContext(g->c);
  g->i32 = LLVMInt32TypeInContext(g->c);
  g->i64 = LLVMInt64TypeInContext(g->c);
  g->f32 = LLVMFloatTypeInContext(g->c);
  g->f64 = LLVMDoubleTypeInContext(g->c);
  g->ptr = LLVMPointerTypeInContext(g->c, 0);
  g->vd = LLVMVoidTypeInContext(g->c);
  LLVMTypeRef kp[3] = {g->ptr, g->i64, g->i64};
  g->kfn_ty = LLVMFunctionType(g->vd, kp, 3, 0);
}

LLVMModuleRef codegen_module(LLVMContextRef ctx, LLVMTargetMachineRef tm, const IrModule *m,
                             const FusedFunc *ff, const MemPlan *p, const char *entry, char *err,
                             size_t errlen) {
  Arena a;
  arena_init(&a);
  Cg g = {.c = ctx,
          .a = &a,
          .m = m,
          .f = ff->f,
          .ff = ff,
          .mp = p,
          .entry = entry,
          .err = err,
          .errlen = errlen};
  init_types(&g);
  g.mod = LLVMModuleCreateWithNameInContext(entry, ctx);
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(g.mod, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
  char *dls = LLVMCopyStringRepOfTargetData(dl);
  LLVMSetDataLayout(g.mod, dls);
  LLVMDisposeMessage(dls);
  LLVMDisposeTargetData(dl);
  g.b = LLVMCreateBuilderInContext(ctx);
  Entry e = {0};
  e.kfns = ARENA_ARRAY(&a, LLVMValueRef, (size_t)ff->nkernels + 1);
  e.kgens = ARENA_ARRAY(&a, KGen *, (size_t)ff->nkernels + 1);
  for (int i = 0; i < ff->nkernels && !g.failed; i++) {
    const Kernel *k = ff->kernels[i];
    if (k->kind == KK_GEMM || k->kind == KK_ALIAS)
      continue;
    KGen *kg = ARENA_NEW(&a, KGen);
    kg->g = &g;
    kg->k = k;
    kg->dom = k->kind == KK_REDUCE || k->kind == KK_XENT ? &k->core->args[0]->type
              : k->kind == KK_ROWWISE                    ? &k->core->type
                                                         : &k->out->type;
    kg->rank = kg->dom->rank;
    kg->slots = ARENA_ARRAY(&a, const IrValue *, (size_t)ff->nids + 2);
    kg->slots[0] = k->out;
    kg->nslots = 1;
    plan_kernel(kg);
    e.kgens[i] = kg;
    e.kfns[i] = emit_kernel_fn(kg);
  }
  if (!g.failed)
    emit_entry(&g, &e);
  LLVMDisposeBuilder(g.b);
  arena_free(&a);
  if (g.failed) {
    LLVMDisposeModule(g.mod);
    return NULL;
  }
  return g.mod;
}

static LLVMCodeGenOptLevel codegen_level(int opt_level) {
  return opt_level <= 0   ? LLVMCodeGenLevelNone
         : opt_level == 1 ? LLVMCodeGenLevelLess
         : opt_level == 2 ? LLVMCodeGenLevelDefault
                          : LLVMCodeGenLevelAggressive;
}

LLVMTargetMachineRef codegen_host_machine(int opt_level, char *err, size_t errlen) {
  static bool initialised;
  if (!initialised) {
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter()) {
      snprintf(err, errlen, "LLVM has no native target for this host");
      return NULL;
    }
    initialised = true;
  }
  char *triple = LLVMGetDefaultTargetTriple();
  LLVMTargetRef target;
  char *msg = NULL;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
    snprintf(err, errlen, "no LLVM target for %s: %s", triple, msg ? msg : "?");
  } else {
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    tm = LLVMCreateTargetMachine(target, triple, cpu, features, codegen_level(opt_level),
                                 LLVMRelocDefault, LLVMCodeModelJITDefault);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    if (!tm)
      snprintf(err, errlen, "cannot create an LLVM target machine for %s", triple);
  }
  LLVMDisposeMessage(msg);
  LLVMDisposeMessage(triple);
  return tm;
}

LLVMTargetMachineRef codegen_object_machine(const char *triple, const char *cpu, int opt_level,
                                            char *err, size_t errlen) {
  static bool initialised;
  if (!initialised) {
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    initialised = true;
  }
  char *host = LLVMGetDefaultTargetTriple();
  char *norm = LLVMNormalizeTargetTriple(triple ? triple : host);
  bool native = !triple || !strcmp(norm, host);
  /* The host's CPU by default, so an object for this machine computes
   * what the JIT computes (vector widths decide the order of reductions). */
  bool host_cpu = native && (!cpu || !strcmp(cpu, "native"));
  LLVMTargetRef target;
  char *msg = NULL;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(norm, &target, &msg)) {
    snprintf(err, errlen, "no LLVM target for '%s': %s", triple ? triple : host,
             msg ? msg : "unknown triple");
  } else if (!host_cpu && cpu && !target_cpu_check(norm, cpu, err, errlen)) {
    /* LLVM would ignore an unknown name, or abort on a CPU without the
     * triple's 64-bit mode: err says which. */
  } else {
    char *hcpu = host_cpu ? LLVMGetHostCPUName() : NULL;
    char *hfeat = host_cpu ? LLVMGetHostCPUFeatures() : NULL;
    tm = LLVMCreateTargetMachine(target, norm,
                                 host_cpu ? hcpu
                                 : cpu    ? cpu
                                          : "generic",
                                 host_cpu ? hfeat : "", codegen_level(opt_level), LLVMRelocPIC,
                                 LLVMCodeModelDefault);
    LLVMDisposeMessage(hcpu);
    LLVMDisposeMessage(hfeat);
    if (!tm)
      snprintf(err, errlen, "cannot create an LLVM target machine for %s", norm);
  }
  LLVMDisposeMessage(msg);
  LLVMDisposeMessage(norm);
  LLVMDisposeMessage(host);
  return tm;
}

bool codegen_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, char *err,
                      size_t errlen) {
  char *msg = NULL;
  if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
    snprintf(err, errlen, "internal error: invalid LLVM IR: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return false;
  }
  LLVMDisposeMessage(msg);
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>",
           opt_level < 0   ? 0
           : opt_level > 3 ? 3
                           : opt_level);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMErrorRef e = LLVMRunPasses(mod, passes, tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (e) {
    char *m = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "LLVM passes failed: %s", m);
    LLVMDisposeErrorMessage(m);
    return false;
  }
  return true;
}
