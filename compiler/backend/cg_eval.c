/* cg_eval.c - evaluating a kernel's values at an index, and loop nests. */
#include "cg_internal.h"

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
  return off ? off : cg_ci64(g, 0);
}

LLVMValueRef cg_access_ptr(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  return cg_gep(g, cg_mem_type(g, ac->v->type.dtype), kg->bufs[ac->slot], group_offset(kg, ac));
}

LLVMValueRef cg_load_access(KGen *kg, const Access *ac) {
  Cg *g = kg->g;
  DType dt = ac->v->type.dtype;
  LLVMValueRef x = LLVMBuildLoad2(g->b, cg_mem_type(g, dt), cg_access_ptr(kg, ac), "");
  return dt == DT_BOOL ? LLVMBuildICmp(g->b, LLVMIntNE, x, LLVMConstInt(g->i8, 0, 0), "") : x;
}

void cg_store_out(KGen *kg, LLVMValueRef x) {
  Cg *g = kg->g;
  if (kg->out.v->type.dtype == DT_BOOL && LLVMTypeOf(x) == g->i1)
    x = LLVMBuildZExt(g->b, x, g->i8, "");
  LLVMBuildStore(g->b, x, cg_access_ptr(kg, &kg->out));
}

const Access *cg_find_access(KGen *kg, const IrValue *v, const Map map) {
  for (int i = 0; i < kg->nacc; i++)
    if (kg->acc[i].v == v && !memcmp(kg->acc[i].map, map, sizeof(Map)))
      return &kg->acc[i];
  NNC_BUG("no access planned for %%%d", v->id);
}

static LLVMValueRef const_value(Cg *g, const IrValue *v) {
  DType dt = v->type.dtype;
  LLVMValueRef x = LLVMConstReal(g->f64, v->attr.scalar);
  if (!dim_is(v->attr.denom, 0)) {
    LLVMValueRef d = LLVMBuildSIToFP(g->b, cg_dim_value(g, v->attr.denom), g->f64, "");
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
    return cg_fcmp(g, LLVMRealUNE, x, LLVMConstReal(g->f64, 0));
  }
  return x;
}

/* The raw index along domain axis a (one_hot's class axis). */
static LLVMValueRef axis_index(KGen *kg, int a) {
  if (a < 0 || kg->group_of[a] < 0)
    return cg_ci64(kg->g, 0);
  return kg->gidx[kg->group_of[a]];
}

static LLVMValueRef ev_arg(KGen *kg, const IrValue *v, int i, const Map map) {
  Map om;
  cg_operand_map(v, i, map, om);
  return cg_ev(kg, v->args[i], om);
}

static LLVMValueRef int_div(Cg *g, LLVMValueRef x, LLVMValueRef y) {
  LLVMValueRef zero = cg_ci32(g, 0);
  LLVMValueRef by0 = LLVMBuildICmp(g->b, LLVMIntEQ, y, zero, "");
  LLVMValueRef ovf =
      LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, x, cg_ci32(g, INT32_MIN), ""),
                   LLVMBuildICmp(g->b, LLVMIntEQ, y, cg_ci32(g, -1), ""), "");
  LLVMValueRef safe = cg_sel(g, LLVMBuildOr(g->b, by0, ovf, ""), cg_ci32(g, 1), y);
  return cg_sel(g, by0, zero, LLVMBuildSDiv(g->b, x, safe, ""));
}

static bool is_const_two(const IrValue *v) {
  return v->op == OP_CONST && dim_is(v->attr.denom, 0) && v->attr.scalar == 2.0;
}

static LLVMValueRef ev_binary(KGen *kg, const IrValue *v, const Map map) {
  Cg *g = kg->g;
  bool fl = dtype_is_float(v->type.dtype);
  LLVMValueRef x = ev_arg(kg, v, 0, map);
  if (v->op == OP_POW && is_const_two(v->args[1]))
    return cg_fmul(g, x, x); /* x ** 2 is a square (what NumPy does too) */
  LLVMValueRef y = ev_arg(kg, v, 1, map);
  switch (v->op) {
  case OP_ADD:
    return fl ? cg_fadd(g, x, y) : LLVMBuildAdd(g->b, x, y, "");
  case OP_SUB:
    return fl ? cg_fsub(g, x, y) : LLVMBuildSub(g->b, x, y, "");
  case OP_MUL:
    return fl ? cg_fmul(g, x, y) : LLVMBuildMul(g->b, x, y, "");
  case OP_DIV:
    return fl ? LLVMBuildFDiv(g->b, x, y, "") : int_div(g, x, y);
  case OP_POW: {
    LLVMValueRef xy[2] = {x, y};
    return cg_call(g, cg_intrinsic(g, "llvm.pow", cg_float_type(g, v->type.dtype)), xy, 2);
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
    return cg_fcmp(g, fp[i], x, y);
  return LLVMBuildICmp(g->b, dt == DT_BOOL ? up[i] : sp[i], x, y, "");
}

static LLVMValueRef ev_one_hot(KGen *kg, const IrValue *v, const Map map) {
  Cg *g = kg->g;
  LLVMValueRef l = LLVMBuildSExt(g->b, ev_arg(kg, v, 0, map), g->i64, "");
  LLVMValueRef hit = LLVMBuildICmp(g->b, LLVMIntEQ, l, axis_index(kg, map[v->type.rank - 1]), "");
  switch (v->type.dtype) {
  case DT_F32:
  case DT_F64: {
    LLVMTypeRef t = cg_float_type(g, v->type.dtype);
    return cg_sel(g, hit, LLVMConstReal(t, 1.0), LLVMConstReal(t, 0.0));
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
    return cg_math_unary(g, v->op, v->type.dtype, ev_arg(kg, v, 0, map));
  case OP_RELU: {
    LLVMValueRef x = ev_arg(kg, v, 0, map);
    LLVMValueRef zero = LLVMConstReal(LLVMTypeOf(x), 0.0);
    return cg_sel(g, cg_fcmp(g, LLVMRealOLT, x, zero), zero, x); /* keeps NaN */
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
  case OP_ASSIGN: /* its value, stored into the state by the kernel */
    return ev_arg(kg, v, 1, map);
  case OP_SELECT:
    return cg_sel(g, ev_arg(kg, v, 0, map), ev_arg(kg, v, 1, map), ev_arg(kg, v, 2, map));
  case OP_ONE_HOT:
    return ev_one_hot(kg, v, map);
  case OP_SOFTMAX:
  case OP_LOG_SOFTMAX:
    NNC_ASSERT(kg->core_val);
    return kg->core_val;
  case OP_ARANGE:
  case OP_UNIFORM:
  case OP_NORMAL:
  case OP_DROPOUT_MASK:
    return cg_generate(kg, v, group_offset(kg, cg_find_access(kg, v, map)));
  case OP_INPUT:
  case OP_PARAM:
  case OP_MATMUL:
  case OP_SUM:
  case OP_MEAN:
  case OP_MAX:
  case OP_MIN:
  case OP_ARGMAX:
  case OP_ARGMIN:
  case OP_RESHAPE:
  case OP_CROSS_ENTROPY:
  case OP_MSE:
  case OP_UPDATE:
  case OP_GATHER:
  case OP_SCATTER_ADD:
  case OP_COUNT:
    break;
  }
  NNC_BUG("%s is never evaluated per element", op_info[v->op].name);
}

LLVMValueRef cg_ev(KGen *kg, const IrValue *v, const Map map) {
  for (int i = 0; i < kg->nmemo; i++)
    if (kg->memo[i].v == v && !memcmp(kg->memo[i].map, map, sizeof(Map)))
      return kg->memo[i].val;
  LLVMValueRef x;
  if (!cg_is_inner(kg, v) && !ir_in_place(v))
    x = cg_load_access(kg, cg_find_access(kg, v, map));
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
LLVMValueRef cg_ev_here(KGen *kg, const IrValue *v) {
  Map id;
  cg_identity_map(id, kg->rank);
  kg->nmemo = 0;
  return cg_ev(kg, v, id);
}

/* Loops over groups [gi, ngroups) except `skip`, calling body at the
 * innermost point. The first loop runs over [lo, hi) (the parallel range). */
void cg_nest(KGen *kg, int gi, int skip, LLVMValueRef lo, LLVMValueRef hi, NestBody body, void *u) {
  if (gi == skip)
    gi++;
  if (gi >= kg->ngroups) {
    body(kg, u);
    return;
  }
  Loop l = cg_loop_begin(kg->g, lo ? lo : cg_ci64(kg->g, 0), lo ? hi : kg->gext[gi]);
  kg->gidx[gi] = l.i;
  cg_nest(kg, gi + 1, skip, NULL, NULL, body, u);
  cg_loop_end(kg->g, &l);
}

void cg_elementwise_body(KGen *kg, void *u) {
  (void)u;
  cg_store_out(kg, cg_ev_here(kg, kg->k->out));
}
