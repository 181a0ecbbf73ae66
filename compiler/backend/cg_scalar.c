/* cg_scalar.c - the scalar emitters named in the `emit` column of ops.def:
 * each builds an op's value at one element from its operands' values at that
 * element, so that a new elementwise op needs no case in the loop nests.
 * cg_ev (cg_eval.c) evaluates the operands and calls through cg_scalar_emit.
 * The transcendental ones (exp, log, tanh, sigmoid) live in cg_math.c. */
#include "cg_internal.h"

/* NOEMIT rows become NULL: cg_ev reports them as a bug. */
#define NOEMIT NULL
const ScalarEmitter cg_scalar_emit[OP_COUNT] = {
#define OP(e, text, arity, cls, shape, grad, emit) [OP_##e] = emit,
#include "ops.def"
};
#undef NOEMIT

/* ------------------------------------------------------- existing ops */

LLVMValueRef emit_const(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)x;
  DType dt = v->type.dtype;
  LLVMValueRef c = LLVMConstReal(g->f64, IR_ATTR(v, source).scalar);
  if (!dim_is(IR_ATTR(v, source).denom, 0)) {
    LLVMValueRef d = LLVMBuildSIToFP(g->b, cg_dim_value(g, IR_ATTR(v, source).denom), g->f64, "");
    c = LLVMBuildFDiv(g->b, c, d, "");
  }
  switch (dt) {
  case DT_F32:
    return LLVMBuildFPTrunc(g->b, c, g->f32, "");
  case DT_F64:
    return c;
  case DT_I32:
    return LLVMBuildFPToSI(g->b, c, g->i32, "");
  case DT_BOOL:
    return cg_fcmp(g, LLVMRealUNE, c, LLVMConstReal(g->f64, 0));
  }
  return c;
}

/* Broadcasts, transposes and stop_gradient are index maps (cg_plan.c): the
 * value is the operand's at the mapped index. */
LLVMValueRef emit_identity(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)g;
  (void)v;
  return x[0];
}

LLVMValueRef emit_neg(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  return LLVMBuildFNeg(g->b, x[0], "");
}

LLVMValueRef emit_relu(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  LLVMValueRef zero = LLVMConstReal(LLVMTypeOf(x[0]), 0.0);
  return cg_sel(g, cg_fcmp(g, LLVMRealOLT, x[0], zero), zero, x[0]); /* keeps NaN */
}

static bool is_float_op(const IrValue *v) { return dtype_is_float(v->type.dtype); }

LLVMValueRef emit_add(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return is_float_op(v) ? cg_fadd(g, x[0], x[1]) : LLVMBuildAdd(g->b, x[0], x[1], "");
}

LLVMValueRef emit_sub(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return is_float_op(v) ? cg_fsub(g, x[0], x[1]) : LLVMBuildSub(g->b, x[0], x[1], "");
}

LLVMValueRef emit_mul(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return is_float_op(v) ? cg_fmul(g, x[0], x[1]) : LLVMBuildMul(g->b, x[0], x[1], "");
}

/* i32 division by 0 gives 0 and INT32_MIN / -1 wraps, instead of the
 * trap or poison of LLVM's sdiv. */
static LLVMValueRef int_div(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  LLVMValueRef zero = cg_ci32(g, 0);
  LLVMValueRef by0 = LLVMBuildICmp(g->b, LLVMIntEQ, y, zero, "");
  LLVMValueRef ovf =
      LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, x, cg_ci32(g, INT32_MIN), ""),
                   LLVMBuildICmp(g->b, LLVMIntEQ, y, cg_ci32(g, -1), ""), "");
  LLVMValueRef safe = cg_sel(g, LLVMBuildOr(g->b, by0, ovf, ""), cg_ci32(g, 1), y);
  return cg_sel(g, by0, zero, LLVMBuildSDiv(g->b, x, safe, ""));
}

LLVMValueRef emit_div(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return is_float_op(v) ? LLVMBuildFDiv(g->b, x[0], x[1], "") : int_div(g, x[0], x[1]);
}

static bool is_const_two(const IrValue *v) {
  return v->op == OP_CONST && dim_is(IR_ATTR(v, source).denom, 0) &&
         IR_ATTR(v, source).scalar == 2.0;
}

LLVMValueRef emit_pow(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  if (is_const_two(v->args[1]))
    return cg_fmul(g, x[0], x[0]); /* x ** 2 is a square (what NumPy does too) */
  LLVMValueRef xy[2] = {x[0], x[1]};
  return cg_call(g, cg_intrinsic(g, "llvm.pow", cg_float_type(g, v->type.dtype)), xy, 2);
}

/* One predicate per comparison row, in the order of OP_RANGE(COMPARE). */
LLVMValueRef emit_compare(Cg *g, const IrValue *v, const LLVMValueRef *x) {
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
    return cg_fcmp(g, fp[i], x[0], x[1]);
  return LLVMBuildICmp(g->b, dt == DT_BOOL ? up[i] : sp[i], x[0], x[1], "");
}

LLVMValueRef emit_select(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  return cg_sel(g, x[0], x[1], x[2]);
}

/* ------------------------------------------------- the ops of issue 14 */

static LLVMValueRef fconst(LLVMValueRef like, double c) {
  return LLVMConstReal(LLVMTypeOf(like), c);
}

static LLVMValueRef intrinsic1(Cg *g, const char *name, LLVMValueRef x) {
  return cg_call1(g, cg_intrinsic(g, name, LLVMTypeOf(x)), x);
}

/* A C library function of one double or float (the JIT resolves it in the
 * process, executables link libm). */
static LLVMValueRef libm1(Cg *g, const char *f64_name, const char *f32_name, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  LLVMValueRef fn = cg_runtime_fn(g, t == g->f64 ? f64_name : f32_name, t, &t, 1);
  cg_add_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
  cg_add_attr(g, fn, LLVMAttributeFunctionIndex, "willreturn");
  cg_add_attr(g, fn, LLVMAttributeFunctionIndex, "nosync");
  return cg_call1(g, fn, x);
}

/* log(1 + u) without losing u where 1 + u rounds to 1 (Goldberg): exact to
 * a few ulps for u >= 0. */
static LLVMValueRef log1p_of(Cg *g, DType dt, LLVMValueRef u) {
  LLVMValueRef w = cg_fadd(g, fconst(u, 1.0), u);
  LLVMValueRef r =
      LLVMBuildFDiv(g->b, cg_fmul(g, cg_log(g, dt, w), u), cg_fsub(g, w, fconst(u, 1.0)), "");
  return cg_sel(g, cg_fcmp(g, LLVMRealOEQ, w, fconst(u, 1.0)), u, r);
}

/* e^x - 1 without cancellation near 0 (Kahan); -1 where e^x underflows. */
static LLVMValueRef expm1_of(Cg *g, DType dt, LLVMValueRef x) {
  LLVMValueRef u = cg_exp(g, dt, x);
  LLVMValueRef um1 = cg_fsub(g, u, fconst(x, 1.0));
  LLVMValueRef r = LLVMBuildFDiv(g->b, cg_fmul(g, um1, x), cg_log(g, dt, u), "");
  r = cg_sel(g, cg_fcmp(g, LLVMRealOEQ, u, fconst(x, 0.0)), fconst(x, -1.0), r);
  return cg_sel(g, cg_fcmp(g, LLVMRealOEQ, u, fconst(x, 1.0)), x, r);
}

LLVMValueRef emit_sqrt(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  return intrinsic1(g, "llvm.sqrt", x[0]);
}

LLVMValueRef emit_rsqrt(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  return LLVMBuildFDiv(g->b, fconst(x[0], 1.0), intrinsic1(g, "llvm.sqrt", x[0]), "");
}

LLVMValueRef emit_abs(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  return intrinsic1(g, "llvm.fabs", x[0]);
}

/* 1, -1, or 0 for zeros and NaN (PyTorch's sign of NaN is 0) */
LLVMValueRef emit_sign(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  LLVMValueRef zero = fconst(x[0], 0.0);
  LLVMValueRef neg = cg_sel(g, cg_fcmp(g, LLVMRealOLT, x[0], zero), fconst(x[0], -1.0), zero);
  return cg_sel(g, cg_fcmp(g, LLVMRealOGT, x[0], zero), fconst(x[0], 1.0), neg);
}

LLVMValueRef emit_sin(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  return intrinsic1(g, "llvm.sin", x[0]);
}

LLVMValueRef emit_cos(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  return intrinsic1(g, "llvm.cos", x[0]);
}

/* LLVM has no erf intrinsic: the C library's erf / erff (glibc's are
 * within an ulp or two). */
LLVMValueRef emit_erf(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  return libm1(g, "erf", "erff", x[0]);
}

LLVMValueRef emit_leaky_relu(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  LLVMValueRef neg = cg_fmul(g, x[0], fconst(x[0], IR_ATTR(v, unary).slope));
  return cg_sel(g, cg_fcmp(g, LLVMRealOGT, x[0], fconst(x[0], 0.0)), x[0], neg);
}

LLVMValueRef emit_elu(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  LLVMValueRef neg =
      cg_fmul(g, fconst(x[0], IR_ATTR(v, unary).alpha), expm1_of(g, v->type.dtype, x[0]));
  return cg_sel(g, cg_fcmp(g, LLVMRealOGT, x[0], fconst(x[0], 0.0)), x[0], neg);
}

/* x Phi(x), PyTorch's default (exact) gelu, as x erfc(-x / sqrt 2) / 2:
 * the textbook x (1 + erf(x / sqrt 2)) / 2 cancels to 0 in f32 below about
 * x = -4, where gelu is still -1e-4 x. */
LLVMValueRef emit_gelu(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  (void)v;
  LLVMValueRef c = libm1(g, "erfc", "erfcf", cg_fmul(g, x[0], fconst(x[0], -0.70710678118654752)));
  return cg_fmul(g, cg_fmul(g, x[0], fconst(x[0], 0.5)), c);
}

/* gelu(approximate = "tanh"): x (1 + tanh(u)) / 2 with
 * u = sqrt(2/pi) (x + 0.044715 x^3), computed as x sigmoid(2 u), the same
 * function without the cancellation of 1 + tanh(u) for negative x. */
LLVMValueRef emit_gelu_tanh(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  LLVMValueRef x3 = cg_fmul(g, cg_fmul(g, x[0], x[0]), x[0]);
  LLVMValueRef inner = cg_fadd(g, x[0], cg_fmul(g, x3, fconst(x[0], 0.044715)));
  LLVMValueRef two_u = cg_fmul(g, inner, fconst(x[0], 2 * 0.79788456080286536));
  return cg_fmul(g, x[0], emit_sigmoid(g, v, &two_u));
}

/* log(1 + e^x) as max(x, 0) + log1p(e^-|x|), which neither overflows nor
 * loses small values; x itself above PyTorch's threshold 20. */
LLVMValueRef emit_softplus(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  DType dt = v->type.dtype;
  LLVMValueRef zero = fconst(x[0], 0.0);
  LLVMValueRef ax = intrinsic1(g, "llvm.fabs", x[0]);
  LLVMValueRef tail = log1p_of(g, dt, cg_exp(g, dt, LLVMBuildFNeg(g->b, ax, "")));
  LLVMValueRef pos = cg_sel(g, cg_fcmp(g, LLVMRealOGT, x[0], zero), x[0], zero);
  LLVMValueRef r = cg_fadd(g, pos, tail);
  return cg_sel(g, cg_fcmp(g, LLVMRealOGT, x[0], fconst(x[0], 20.0)), x[0], r);
}

LLVMValueRef emit_silu(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return cg_fmul(g, x[0], emit_sigmoid(g, v, x));
}

/* NaN stays NaN (both comparisons fail), as PyTorch's clamp */
LLVMValueRef emit_clamp(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  LLVMValueRef lo = fconst(x[0], IR_ATTR(v, unary).lo), hi = fconst(x[0], IR_ATTR(v, unary).hi);
  LLVMValueRef r = cg_sel(g, cg_fcmp(g, LLVMRealOLT, x[0], lo), lo, x[0]);
  return cg_sel(g, cg_fcmp(g, LLVMRealOGT, r, hi), hi, r);
}

/* Float to i32 truncates toward zero; NaN and values outside i32 give
 * INT32_MIN, what PyTorch's .to(torch.int32) gives on x86, instead of
 * fptosi's poison. */
static LLVMValueRef float_to_i32(Cg *g, LLVMValueRef x) {
  LLVMValueRef in_range = LLVMBuildAnd(g->b, cg_fcmp(g, LLVMRealOGE, x, fconst(x, -2147483648.0)),
                                       cg_fcmp(g, LLVMRealOLT, x, fconst(x, 2147483648.0)), "");
  LLVMValueRef safe = cg_sel(g, in_range, x, fconst(x, 0.0));
  return cg_sel(g, in_range, LLVMBuildFPToSI(g->b, safe, g->i32, ""), cg_ci32(g, INT32_MIN));
}

LLVMValueRef emit_cast(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  DType from = v->args[0]->type.dtype, to = v->type.dtype;
  if (from == to)
    return x[0];
  if (to == DT_I32)
    return from == DT_BOOL ? LLVMBuildZExt(g->b, x[0], g->i32, "") : float_to_i32(g, x[0]);
  LLVMTypeRef t = cg_float_type(g, to);
  switch (from) {
  case DT_BOOL:
    return LLVMBuildUIToFP(g->b, x[0], t, "");
  case DT_I32:
    return LLVMBuildSIToFP(g->b, x[0], t, "");
  case DT_F32:
    return LLVMBuildFPExt(g->b, x[0], t, "");
  case DT_F64:
    return LLVMBuildFPTrunc(g->b, x[0], t, "");
  }
  NNC_BUG("cast from %s", dtype_name(from));
}

/* b wins where a loses (a_loses), a elsewhere; a NaN in b wins too
 * (a NaN in a already does: the comparison fails). */
static LLVMValueRef min_max(Cg *g, const IrValue *v, const LLVMValueRef *x,
                            LLVMRealPredicate a_loses, LLVMIntPredicate a_loses_int) {
  if (!dtype_is_float(v->type.dtype))
    return cg_sel(g, LLVMBuildICmp(g->b, a_loses_int, x[0], x[1], ""), x[1], x[0]);
  LLVMValueRef r = cg_sel(g, cg_fcmp(g, a_loses, x[0], x[1]), x[1], x[0]);
  return cg_sel(g, cg_fcmp(g, LLVMRealUNO, x[1], x[1]), x[1], r);
}

LLVMValueRef emit_minimum(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return min_max(g, v, x, LLVMRealOGT, LLVMIntSGT);
}

LLVMValueRef emit_maximum(Cg *g, const IrValue *v, const LLVMValueRef *x) {
  return min_max(g, v, x, LLVMRealOLT, LLVMIntSLT);
}
