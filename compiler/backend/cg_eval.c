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

/* Everything but one_hot and the softmax family goes through the op's
 * scalar emitter (the emit column of ops.def). */
static LLVMValueRef ev_op(KGen *kg, const IrValue *v, const Map map) {
  if (v->op == OP_ONE_HOT)
    return ev_one_hot(kg, v, map);
  if (v->op == OP_ASSIGN) /* its value, stored into the state by the kernel */
    return ev_arg(kg, v, 1, map);
  if (op_info[v->op].cls == OPC_GENERATE) /* from the element's own index */
    return cg_generate(kg, v, group_offset(kg, cg_find_access(kg, v, map)));
  if (op_info[v->op].cls == OPC_ROWWISE) {
    NNC_ASSERT(kg->core_val);
    return kg->core_val;
  }
  ScalarEmitter emit = cg_scalar_emit[v->op];
  if (!emit || v->nargs > 3)
    NNC_BUG("%s is never evaluated per element", op_info[v->op].name);
  /* Operands in order, but a select's last to first: the order its
   * hand-written case had (as GCC evaluates call arguments), which keeps
   * the emitted IR of existing models the same. */
  LLVMValueRef x[3];
  bool reverse = op_info[v->op].cls == OPC_SELECT;
  for (int k = 0; k < v->nargs; k++) {
    int i = reverse ? v->nargs - 1 - k : k;
    x[i] = ev_arg(kg, v, i, map);
  }
  return emit(kg->g, v, x);
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
