/* cg_math.c - scalar f32/f64 math: Cephes-style exp, log, tanh, sigmoid. */
#include "cg_internal.h"

/* ------------------------------------------------------- f32 math helpers
 * Cephes single-precision polynomials, branch-free so loops using them
 * vectorise once they are inlined. */

/* Horner: ((c[0] x + c[1]) x + ...) + c[n-1] */
static LLVMValueRef poly(Cg *g, LLVMValueRef x, const double *c, int n) {
  LLVMValueRef y = cg_cf(g, c[0]);
  for (int i = 1; i < n; i++)
    y = cg_fadd(g, cg_fmul(g, y, x), cg_cf(g, c[i]));
  return y;
}

typedef LLVMValueRef (*MathBody)(Cg *g, LLVMValueRef x);

/* Creates an internal always-inline float(float) function around body. */
static LLVMValueRef math_fn(Cg *g, const char *name, MathBody body) {
  LLVMBasicBlockRef saved_bb = LLVMGetInsertBlock(g->b);
  LLVMValueRef saved_fn = g->fn;
  LLVMBasicBlockRef saved_top = g->top;
  LLVMTypeRef ty = LLVMFunctionType(g->f32, &g->f32, 1, 0);
  LLVMValueRef fn = cg_begin_function(g, name, ty, true);
  cg_add_attr(g, fn, LLVMAttributeFunctionIndex, "alwaysinline");
  cg_add_attr(g, fn, LLVMAttributeFunctionIndex, "willreturn");
  LLVMBuildRet(g->b, body(g, LLVMGetParam(fn, 0)));
  g->fn = saved_fn;
  g->top = saved_top;
  LLVMPositionBuilderAtEnd(g->b, saved_bb);
  return fn;
}

static LLVMValueRef pow2i(Cg *g, LLVMValueRef n) {
  LLVMValueRef bits =
      LLVMBuildShl(g->b, LLVMBuildAdd(g->b, n, cg_ci32(g, 127), ""), cg_ci32(g, 23), "");
  return LLVMBuildBitCast(g->b, bits, g->f32, "");
}

static LLVMValueRef expf_body(Cg *g, LLVMValueRef x) {
  static const double p[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                             4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
  LLVMValueRef xc = cg_sel(g, cg_fcmp(g, LLVMRealOLT, x, cg_cf(g, -104.0)), cg_cf(g, -104.0), x);
  xc = cg_sel(g, cg_fcmp(g, LLVMRealOGT, xc, cg_cf(g, 89.0)), cg_cf(g, 89.0), xc);
  LLVMValueRef fx = cg_fadd(g, cg_fmul(g, xc, cg_cf(g, 1.44269504088896341)), cg_cf(g, 0.5));
  fx = cg_call1(g, cg_intrinsic(g, "llvm.floor", g->f32), fx);
  LLVMValueRef r = cg_fsub(g, xc, cg_fmul(g, fx, cg_cf(g, 0.693359375)));
  r = cg_fsub(g, r, cg_fmul(g, fx, cg_cf(g, -2.12194440e-4)));
  LLVMValueRef z = cg_fmul(g, r, r);
  LLVMValueRef y = cg_fadd(g, cg_fadd(g, cg_fmul(g, poly(g, r, p, 6), z), r), cg_cf(g, 1.0));
  /* 2^n as two factors so that n in [-150, 129] never leaves the normal
   * exponent range; the products overflow or underflow like exp does. */
  LLVMValueRef n = LLVMBuildFPToSI(g->b, fx, g->i32, "");
  LLVMValueRef n1 = LLVMBuildAShr(g->b, n, cg_ci32(g, 1), "");
  LLVMValueRef n2 = LLVMBuildSub(g->b, n, n1, "");
  LLVMValueRef res = cg_fmul(g, cg_fmul(g, y, pow2i(g, n1)), pow2i(g, n2));
  return cg_sel(g, cg_fcmp(g, LLVMRealUNO, x, x), x, res);
}

static LLVMValueRef logf_body(Cg *g, LLVMValueRef x) {
  static const double p[] = {7.0376836292E-2,  -1.1514610310E-1, 1.1676998740E-1,
                             -1.2420140846E-1, 1.4249322787E-1,  -1.6668057665E-1,
                             2.0000714765E-1,  -2.4999993993E-1, 3.3333331174E-1};
  LLVMValueRef small = cg_fcmp(g, LLVMRealOLT, x, cg_cf(g, 1.17549435e-38));
  LLVMValueRef xs = cg_sel(g, small, cg_fmul(g, x, cg_cf(g, 8388608.0)), x);
  LLVMValueRef bits = LLVMBuildBitCast(g->b, xs, g->i32, "");
  LLVMValueRef e =
      LLVMBuildAnd(g->b, LLVMBuildLShr(g->b, bits, cg_ci32(g, 23), ""), cg_ci32(g, 255), "");
  e = LLVMBuildSub(g->b, e, cg_sel(g, small, cg_ci32(g, 126 + 23), cg_ci32(g, 126)), "");
  LLVMValueRef mb = LLVMBuildOr(g->b, LLVMBuildAnd(g->b, bits, cg_ci32(g, (int32_t)0x807fffff), ""),
                                cg_ci32(g, 0x3f000000), "");
  LLVMValueRef m = LLVMBuildBitCast(g->b, mb, g->f32, "");
  LLVMValueRef lt = cg_fcmp(g, LLVMRealOLT, m, cg_cf(g, 0.707106781186547524));
  e = cg_sel(g, lt, LLVMBuildSub(g->b, e, cg_ci32(g, 1), ""), e);
  m = cg_sel(g, lt, cg_fsub(g, cg_fadd(g, m, m), cg_cf(g, 1.0)), cg_fsub(g, m, cg_cf(g, 1.0)));
  LLVMValueRef z = cg_fmul(g, m, m);
  LLVMValueRef y = cg_fmul(g, cg_fmul(g, poly(g, m, p, 9), m), z);
  LLVMValueRef fe = LLVMBuildSIToFP(g->b, e, g->f32, "");
  y = cg_fadd(g, y, cg_fmul(g, fe, cg_cf(g, -2.12194440e-4)));
  y = cg_fsub(g, y, cg_fmul(g, z, cg_cf(g, 0.5)));
  LLVMValueRef r = cg_fadd(g, cg_fadd(g, m, y), cg_fmul(g, fe, cg_cf(g, 0.693359375)));
  LLVMValueRef inf = cg_cf(g, __builtin_inf());
  r = cg_sel(g, cg_fcmp(g, LLVMRealOEQ, x, inf), inf, r);
  r = cg_sel(g, cg_fcmp(g, LLVMRealOEQ, x, cg_cf(g, 0.0)), cg_cf(g, -__builtin_inf()), r);
  return cg_sel(g, cg_fcmp(g, LLVMRealULT, x, cg_cf(g, 0.0)), cg_cf(g, __builtin_nan("")), r);
}

static LLVMValueRef expf_call(Cg *g, LLVMValueRef x) {
  if (!g->expf)
    g->expf = math_fn(g, "nnc.expf", expf_body);
  return cg_call1(g, g->expf, x);
}

static LLVMValueRef tanhf_body(Cg *g, LLVMValueRef x) {
  static const double p[] = {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2,
                             1.33314422036E-1, -3.33332819422E-1};
  LLVMValueRef ax = cg_call1(g, cg_intrinsic(g, "llvm.fabs", g->f32), x);
  LLVMValueRef z = cg_fmul(g, x, x);
  LLVMValueRef small = cg_fadd(g, cg_fmul(g, cg_fmul(g, poly(g, z, p, 5), z), x), x);
  LLVMValueRef e = expf_call(g, cg_fmul(g, ax, cg_cf(g, 2.0)));
  LLVMValueRef t = cg_fsub(g, cg_cf(g, 1.0),
                           LLVMBuildFDiv(g->b, cg_cf(g, 2.0), cg_fadd(g, e, cg_cf(g, 1.0)), ""));
  LLVMValueRef cs[2] = {t, x};
  LLVMValueRef fn = cg_intrinsic(g, "llvm.copysign", g->f32);
  t = cg_call(g, fn, cs, 2);
  return cg_sel(g, cg_fcmp(g, LLVMRealOLT, ax, cg_cf(g, 0.625)), small, t);
}

/* 1 / (1 + e^-|x|), mirrored for x < 0: never overflows. */
static LLVMValueRef sigmoid_of(Cg *g, LLVMValueRef x, LLVMValueRef e, LLVMTypeRef t) {
  LLVMValueRef one = LLVMConstReal(t, 1.0);
  LLVMValueRef r = LLVMBuildFDiv(g->b, one, cg_fadd(g, one, e), "");
  return cg_sel(g, cg_fcmp(g, LLVMRealOGE, x, LLVMConstReal(t, 0.0)), r, cg_fmul(g, e, r));
}

static LLVMValueRef sigmoidf_body(Cg *g, LLVMValueRef x) {
  LLVMValueRef ax = cg_call1(g, cg_intrinsic(g, "llvm.fabs", g->f32), x);
  return sigmoid_of(g, x, expf_call(g, LLVMBuildFNeg(g->b, ax, "")), g->f32);
}

LLVMValueRef cg_exp(Cg *g, DType dt, LLVMValueRef x) {
  if (dt == DT_F64)
    return cg_call1(g, cg_intrinsic(g, "llvm.exp", g->f64), x);
  return expf_call(g, x);
}

LLVMValueRef cg_log(Cg *g, DType dt, LLVMValueRef x) {
  if (dt == DT_F64)
    return cg_call1(g, cg_intrinsic(g, "llvm.log", g->f64), x);
  if (!g->logf)
    g->logf = math_fn(g, "nnc.logf", logf_body);
  return cg_call1(g, g->logf, x);
}

/* ------------------------------------------------ emitters (ops.def emit) */

LLVMValueRef emit_exp(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return cg_exp(g, v->type.dtype, x[0]);
}

LLVMValueRef emit_log(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return cg_log(g, v->type.dtype, x[0]);
}

LLVMValueRef emit_tanh(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  if (v->type.dtype == DT_F64) {
    if (!g->tanh64) {
      g->tanh64 = cg_runtime_fn(g, "tanh", g->f64, &g->f64, 1);
      cg_add_attr(g, g->tanh64, LLVMAttributeFunctionIndex, "nounwind");
      cg_add_attr(g, g->tanh64, LLVMAttributeFunctionIndex, "willreturn");
    }
    return cg_call1(g, g->tanh64, x[0]);
  }
  if (!g->tanhf)
    g->tanhf = math_fn(g, "nnc.tanhf", tanhf_body);
  return cg_call1(g, g->tanhf, x[0]);
}

LLVMValueRef emit_sigmoid(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  if (v->type.dtype == DT_F64) {
    LLVMTypeRef t = g->f64;
    LLVMValueRef ax = cg_call1(g, cg_intrinsic(g, "llvm.fabs", t), x[0]);
    LLVMValueRef e = cg_call1(g, cg_intrinsic(g, "llvm.exp", t), LLVMBuildFNeg(g->b, ax, ""));
    return sigmoid_of(g, x[0], e, t);
  }
  if (!g->sigmoidf)
    g->sigmoidf = math_fn(g, "nnc.sigmoidf", sigmoidf_body);
  return cg_call1(g, g->sigmoidf, x[0]);
}
