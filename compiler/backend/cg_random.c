/* cg_random.c - generators (ops.def's GENERATE class): arange and the
 * random ops, as a pure function of the element's linear index.
 *
 * The random ops draw from Philox-4x32-10 (Salmon et al., "Parallel random
 * numbers: as easy as 1, 2, 3", SC 2011), a counter-based generator: ten
 * rounds of two 32x32->64 multiplications and xors turn a 128-bit counter
 * and a 64-bit key into four 32-bit words. Here the key is the entry
 * point's seed and the counter is (index low word, index high word, the
 * op's stream, the step), so an element's bits do not depend on which
 * thread computes it, in which kernel, or whether it is computed twice
 * (the backward pass recomputes a dropout mask rather than storing it).
 * Everything is straight-line integer and float code, which the loop
 * vectoriser widens like any other elementwise op.
 *
 * From the words x0..x3 of an element's block:
 *   uniform f32   (x0 >> 8) * 2^-24 in [0, 1), then lo + (hi - lo) * u
 *   uniform f64   ((x0 << 32 | x2) >> 11) * 2^-53, within 2^-24 of the f32
 *                 value: a model run in f64 (gradient checks) draws the
 *                 same numbers, more precisely
 *   normal        Box-Muller, cosine branch: sqrt(-2 ln u1) cos(2 pi u2),
 *                 u1 in (0, 1] (the uniform plus one ulp) from x0 (f64:
 *                 x0, x2), u2 in [0, 1) from x1 (f64: x1, x3); then
 *                 mean + std * z
 *   dropout_mask  1 / (1 - p) when the f32 uniform u >= p, else 0, as an
 *                 integer comparison (x0 >> 8) >= ceil(p * 2^24); the same
 *                 elements are dropped in f32 and f64
 */
#include "cg_internal.h"

#include <math.h>

enum { PHILOX_ROUNDS = 10 };
static const uint32_t PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u;
static const uint32_t PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u;

/* The high and low words of the 64-bit product a * m. */
static void mulhilo(Cg *g, uint32_t m, LLVMValueRef a, LLVMValueRef *hi, LLVMValueRef *lo) {
  LLVMValueRef p = LLVMBuildMul(g->b, LLVMBuildZExt(g->b, a, g->i64, ""), cg_ci64(g, m), "");
  *lo = LLVMBuildTrunc(g->b, p, g->i32, "");
  *hi = LLVMBuildTrunc(g->b, LLVMBuildLShr(g->b, p, cg_ci64(g, 32), ""), g->i32, "");
}

static LLVMValueRef xor3(Cg *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  return LLVMBuildXor(g->b, LLVMBuildXor(g->b, a, b, ""), c, "");
}

static LLVMValueRef add32(Cg *g, LLVMValueRef k, uint32_t w) {
  return LLVMBuildAdd(g->b, k, LLVMConstInt(g->i32, w, 0), "");
}

/* Philox-4x32-10 of counter c under key k, in place. */
static void philox(Cg *g, LLVMValueRef c[4], LLVMValueRef k[2]) {
  LLVMValueRef k0 = k[0], k1 = k[1];
  for (int r = 0; r < PHILOX_ROUNDS; r++) {
    if (r > 0) {
      k0 = add32(g, k0, PHILOX_W0);
      k1 = add32(g, k1, PHILOX_W1);
    }
    LLVMValueRef hi0, lo0, hi1, lo1;
    mulhilo(g, PHILOX_M0, c[0], &hi0, &lo0);
    mulhilo(g, PHILOX_M1, c[2], &hi1, &lo1);
    LLVMValueRef n0 = xor3(g, hi1, c[1], k0);
    LLVMValueRef n2 = xor3(g, hi0, c[3], k1);
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
  }
}

static LLVMValueRef lo32(Cg *g, LLVMValueRef x64) { return LLVMBuildTrunc(g->b, x64, g->i32, ""); }

static LLVMValueRef hi32(Cg *g, LLVMValueRef x64) {
  return LLVMBuildTrunc(g->b, LLVMBuildLShr(g->b, x64, cg_ci64(g, 32), ""), g->i32, "");
}

/* The four words of the element at linear index `index`. */
static void draw(KGen *kg, const IrValue *v, LLVMValueRef index, LLVMValueRef x[4]) {
  Cg *g = kg->g;
  NNC_ASSERT(kg->rng_slot >= 0);
  LLVMValueRef key[2] = {lo32(g, kg->rng_seed), hi32(g, kg->rng_seed)};
  x[0] = lo32(g, index);
  x[1] = hi32(g, index);
  x[2] = LLVMConstInt(g->i32, (uint32_t)IR_ATTR(v, gen).stream, 0);
  x[3] = lo32(g, kg->rng_step);
  philox(g, x, key);
}

/* k * 2^-24 in f32 for k = word >> 8 (+ 1 with `open0`): exact. */
static LLVMValueRef unit_f32(Cg *g, LLVMValueRef word, bool open0) {
  LLVMValueRef k = LLVMBuildLShr(g->b, word, LLVMConstInt(g->i32, 8, 0), "");
  if (open0)
    k = LLVMBuildAdd(g->b, k, LLVMConstInt(g->i32, 1, 0), "");
  return cg_fmul(g, LLVMBuildUIToFP(g->b, k, g->f32, ""), cg_cf(g, 0x1p-24));
}

/* k * 2^-53 in f64 from two words (53 high bits of hi << 32 | lo). */
static LLVMValueRef unit_f64(Cg *g, LLVMValueRef hi, LLVMValueRef lo, bool open0) {
  LLVMValueRef w =
      LLVMBuildOr(g->b, LLVMBuildZExt(g->b, lo, g->i64, ""),
                  LLVMBuildShl(g->b, LLVMBuildZExt(g->b, hi, g->i64, ""), cg_ci64(g, 32), ""), "");
  LLVMValueRef k = LLVMBuildLShr(g->b, w, cg_ci64(g, 11), "");
  if (open0)
    k = LLVMBuildAdd(g->b, k, cg_ci64(g, 1), "");
  return LLVMBuildFMul(g->b, LLVMBuildUIToFP(g->b, k, g->f64, ""), LLVMConstReal(g->f64, 0x1p-53),
                       "");
}

/* cos(2 pi u) for u in [0, 1) in f32 without a libm call (so the loop
 * vectorises): reduced to x = 2 pi b with b in [0, 1/4] by the symmetries
 * of the cosine, then its Taylor polynomial to x^12 (error below 1e-8 on
 * [0, pi/2], under the f32 rounding). */
static LLVMValueRef cos_2pi_f32(Cg *g, LLVMValueRef u) {
  static const double c[] = {1.0 / 479001600, -1.0 / 3628800, 1.0 / 40320, -1.0 / 720,
                             1.0 / 24,        -1.0 / 2,       1.0};
  LLVMValueRef t = cg_fsub(g, u, cg_cf(g, 0.5)); /* cos(2 pi u) = -cos(2 pi t) */
  LLVMValueRef a = cg_call1(g, cg_intrinsic(g, "llvm.fabs", g->f32), t);
  LLVMValueRef far = cg_fcmp(g, LLVMRealOGT, a, cg_cf(g, 0.25));
  LLVMValueRef b = cg_sel(g, far, cg_fsub(g, cg_cf(g, 0.5), a), a);
  LLVMValueRef x = cg_fmul(g, b, cg_cf(g, 2 * M_PI));
  LLVMValueRef z = cg_fmul(g, x, x);
  LLVMValueRef y = cg_cf(g, c[0]);
  for (size_t i = 1; i < sizeof c / sizeof c[0]; i++)
    y = cg_fadd(g, cg_fmul(g, y, z), cg_cf(g, c[i]));
  return cg_sel(g, far, y, LLVMBuildFNeg(g->b, y, ""));
}

static LLVMValueRef affine(Cg *g, LLVMTypeRef t, LLVMValueRef z, double scale, double shift) {
  return LLVMBuildFAdd(g->b, LLVMBuildFMul(g->b, z, LLVMConstReal(t, scale), ""),
                       LLVMConstReal(t, shift), "");
}

static LLVMValueRef gen_uniform(Cg *g, const IrValue *v, LLVMValueRef x[4]) {
  bool f64 = v->type.dtype == DT_F64;
  LLVMTypeRef t = cg_float_type(g, v->type.dtype);
  LLVMValueRef u = f64 ? unit_f64(g, x[0], x[2], false) : unit_f32(g, x[0], false);
  double lo = IR_ATTR(v, gen).a, hi = IR_ATTR(v, gen).b;
  return lo == 0 && hi == 1 ? u : affine(g, t, u, hi - lo, lo);
}

static LLVMValueRef gen_normal(Cg *g, const IrValue *v, LLVMValueRef x[4]) {
  bool f64 = v->type.dtype == DT_F64;
  LLVMTypeRef t = cg_float_type(g, v->type.dtype);
  LLVMValueRef u1, u2, c;
  if (f64) {
    u1 = unit_f64(g, x[0], x[2], true);
    u2 = unit_f64(g, x[1], x[3], false);
    c = cg_call1(g, cg_intrinsic(g, "llvm.cos", t),
                 LLVMBuildFMul(g->b, u2, LLVMConstReal(t, 2 * M_PI), ""));
  } else {
    u1 = unit_f32(g, x[0], true);
    u2 = unit_f32(g, x[1], false);
    c = cos_2pi_f32(g, u2);
  }
  LLVMValueRef l = cg_log(g, v->type.dtype, u1);
  LLVMValueRef r = cg_call1(g, cg_intrinsic(g, "llvm.sqrt", t),
                            LLVMBuildFMul(g->b, l, LLVMConstReal(t, -2.0), ""));
  LLVMValueRef z = LLVMBuildFMul(g->b, r, c, "");
  double mean = IR_ATTR(v, gen).a, std = IR_ATTR(v, gen).b;
  return mean == 0 && std == 1 ? z : affine(g, t, z, std, mean);
}

static LLVMValueRef gen_dropout_mask(Cg *g, const IrValue *v, LLVMValueRef x[4]) {
  double p = IR_ATTR(v, gen).a;
  LLVMTypeRef t = cg_float_type(g, v->type.dtype);
  uint32_t threshold = (uint32_t)ceil(p * 0x1p24); /* u >= p  <=>  (x0 >> 8) >= threshold */
  LLVMValueRef k = LLVMBuildLShr(g->b, x[0], LLVMConstInt(g->i32, 8, 0), "");
  LLVMValueRef keep = LLVMBuildICmp(g->b, LLVMIntUGE, k, LLVMConstInt(g->i32, threshold, 0), "");
  return cg_sel(g, keep, LLVMConstReal(t, 1.0 / (1.0 - p)), LLVMConstReal(t, 0.0));
}

static LLVMValueRef gen_arange(Cg *g, const IrValue *v, LLVMValueRef index) {
  double start = IR_ATTR(v, gen).a, step = IR_ATTR(v, gen).b;
  if (v->type.dtype == DT_I32)
    return LLVMBuildAdd(g->b, LLVMBuildMul(g->b, lo32(g, index), cg_ci32(g, (int32_t)step), ""),
                        cg_ci32(g, (int32_t)start), "");
  /* start + i * step in double, then rounded once (PyTorch's accumulate type) */
  LLVMValueRef x = affine(g, g->f64, LLVMBuildSIToFP(g->b, index, g->f64, ""), step, start);
  return v->type.dtype == DT_F64 ? x : LLVMBuildFPTrunc(g->b, x, g->f32, "");
}

LLVMValueRef cg_generate(KGen *kg, const IrValue *v, LLVMValueRef index) {
  Cg *g = kg->g;
  if (v->op == OP_ARANGE)
    return gen_arange(g, v, index);
  LLVMValueRef x[4];
  draw(kg, v, index, x);
  switch (v->op) {
  case OP_UNIFORM:
    return gen_uniform(g, v, x);
  case OP_NORMAL:
    return gen_normal(g, v, x);
  case OP_DROPOUT_MASK:
    return gen_dropout_mask(g, v, x);
  default:
    break;
  }
  NNC_BUG("cg_generate: %s", op_info[v->op].name);
}
