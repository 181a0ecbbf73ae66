/* cg_plan.c - kernel planning: index maps, accesses and axis groups.
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
#include "cg_internal.h"

/* -------------------------------------------------------- kernel planning */

void cg_identity_map(Map m, int rank) {
  for (int i = 0; i < R; i++)
    m[i] = (int8_t)(i < rank ? i : -1);
}

/* The map of operand i of v, given v's map. */
void cg_operand_map(const IrValue *v, int i, const Map vm, Map om) {
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
  case OPC_ROWWISE:
  case OPC_ASSIGN: {
    int off = v->type.rank - x->type.rank;
    for (int j = 0; j < x->type.rank; j++)
      om[j] = cg_is_one(x->type.dims[j]) ? -1 : vm[j + off];
    return;
  }
  case OPC_SOURCE:
  case OPC_GENERATE:
  case OPC_MATMUL:
  case OPC_REDUCE:
  case OPC_LOSS:
  case OPC_UPDATE:
  case OPC_GATHER:
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
    stride = cg_dmul(kg->g, stride, t->dims[j]);
  }
}

int cg_slot_of(KGen *kg, const IrValue *v) {
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
  bool gen = op_info[v->op].cls == OPC_GENERATE;
  if (gen && ir_is_random(v) && kg->rng_slot < 0) {
    kg->rng_slot = kg->nslots; /* bound to the entry's {seed, step} */
    kg->slots[kg->nslots++] = NULL;
  }
  if (kg->nacc == kg->cap_acc) {
    int c = kg->cap_acc ? kg->cap_acc * 2 : 8;
    kg->acc = arena_grow(kg->g->a, kg->acc, (size_t)kg->nacc, (size_t)c, sizeof *kg->acc);
    kg->cap_acc = c;
  }
  Access *ac = &kg->acc[kg->nacc++];
  memset(ac, 0, sizeof *ac);
  ac->v = v;
  memcpy(ac->map, map, sizeof(Map));
  ac->slot = gen ? -1 : cg_slot_of(kg, v);
  fill_strides(kg, ac);
}

/* Collects the buffers an evaluation of v at map reads. A generator reads
 * none, but its value depends on the element's linear index in its own
 * shape, which is planned like a buffer's offset so that axes merge only
 * where that index stays linear. */
static void visit(KGen *kg, const IrValue *v, const Map map) {
  if (op_info[v->op].cls == OPC_GENERATE) {
    add_access(kg, v, map);
    return;
  }
  if (!cg_is_inner(kg, v)) {
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
  /* a state write's operand 0 is where it stores, not something it reads */
  for (int i = v->op == OP_ASSIGN ? 1 : 0; i < v->nargs; i++) {
    Map om;
    cg_operand_map(v, i, map, om);
    visit(kg, v->args[i], om);
  }
}

static bool kept(const KGen *kg, int a) { return !cg_is_one(kg->dom->dims[a]) || a == kg->forced; }

static bool mergeable(const KGen *kg, int p, int a) {
  if (kg->barrier[p] || kg->barrier[a])
    return false;
  for (int i = -1; i < kg->nacc; i++) {
    const Access *ac = i < 0 ? &kg->out : &kg->acc[i];
    if (ac->zero[p] != ac->zero[a])
      return false;
    if (!ac->zero[p] && !dim_eq(ac->s[p], cg_dmul(kg->g, ac->s[a], kg->dom->dims[a])))
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
    kg->gext_dim[g] = cg_dmul(kg->g, kg->gext_dim[g], kg->dom->dims[a]);
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
    cg_identity_map(o->map, 0); /* a scalar */
  } else {
    cg_identity_map(o->map, k->out->type.rank);
  }
  fill_strides(kg, o);
}

void cg_plan_kernel(KGen *kg) {
  const Kernel *k = kg->k;
  Map id;
  cg_identity_map(id, kg->rank);
  memcpy(kg->reduced, k->plan.reduced, sizeof kg->reduced);
  kg->forced = k->plan.row_axis;
  if (kg->forced >= 0)
    kg->barrier[kg->forced] = true;
  kg->rng_slot = -1;
  switch (k->kind) {
  case KK_ELEMWISE:
  case KK_COPY:
  case KK_ROWWISE:
    visit(kg, k->out, id);
    break;
  case KK_REDUCE:
    if (k->core->op == OP_MSE)
      visit(kg, k->core->args[1], id);
    visit(kg, k->core->args[0], id);
    break;
  case KK_XENT: {
    visit(kg, k->core->args[0], id);
    Map lm;
    cg_identity_map(lm, kg->rank - 1);
    add_access(kg, k->core->args[1], lm);
    break;
  }
  case KK_UPDATE: {
    /* grad and state follow the parameter; scale is a scalar; hyper is
     * read by element index, so it only needs a slot */
    const IrValue *u = k->out;
    Map scalar;
    cg_identity_map(scalar, 0);
    add_access(kg, u->args[UPD_GRAD], id);
    cg_slot_of(kg, u->args[UPD_HYPER]);
    add_access(kg, u->args[UPD_SCALE], scalar);
    for (int i = UPD_STATE; i < u->nargs; i++)
      add_access(kg, u->args[i], id);
    break;
  }
  case KK_GEMM:
  case KK_ALIAS:
  case KK_GATHER:
    NNC_BUG("plan_kernel: not a loop kernel");
  }
  plan_output(kg);
  make_groups(kg);
}
