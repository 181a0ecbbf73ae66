/* cg_gemm.c - matrix products as calls of nnrt_[sd]gemm_batched. */
#include "cg_internal.h"

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
    if (ai < 0 || cg_is_one(t->dims[ai]))
      continue;
    Dim s = dim_const(1);
    for (int j = ai + 1; j < t->rank; j++)
      s = cg_dmul(g, s, t->dims[j]);
    o->bstride[i] = s;
  }
}

static LLVMValueRef stride_value(Cg *g, Dim d) {
  return dim_is(d, 0) ? cg_ci64(g, 0) : cg_dim_value(g, d);
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
  LLVMValueRef batch = nb ? cg_dim_value(g, c->tc->dims[nb - 1]) : cg_ci64(g, 1);
  LLVMValueRef sa = nb ? stride_value(g, c->a.bstride[nb - 1]) : cg_ci64(g, 0);
  LLVMValueRef sb = nb ? stride_value(g, c->b.bstride[nb - 1]) : cg_ci64(g, 0);
  LLVMValueRef sc = LLVMBuildNSWMul(g->b, c->m, c->n, "");
  LLVMTypeRef et = c->et;
  LLVMTypeRef pt[17] = {g->i64, g->i32, g->i32, g->i64, g->i64, g->i64, et,     g->ptr, g->i64,
                        g->i64, g->ptr, g->i64, g->i64, et,     g->ptr, g->i64, g->i64};
  LLVMValueRef fn =
      cg_runtime_fn(g, c->f64 ? "nnrt_dgemm_batched" : "nnrt_sgemm_batched", g->vd, pt, 17);
  LLVMValueRef args[17] = {batch,
                           cg_ci32(g, c->a.trans),
                           cg_ci32(g, c->b.trans),
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
  cg_call(g, fn, args, 17);
}

/* A product whose B the loop around it does not change (fuse.h): B is
 * packed at the loop's first step into the kernel's scratch. */
static void fixed_b_call(Cg *g, Entry *e, const Kernel *k, const IrValue *scan, const Gemm *c,
                         LLVMValueRef pa, LLVMValueRef pb, LLVMValueRef pc) {
  LLVMTypeRef f32 = g->f32;
  LLVMTypeRef pt[15] = {g->i32, g->i32, g->i64, g->i64, g->i64, f32,    g->ptr, g->i64,
                        g->ptr, g->i64, f32,    g->ptr, g->i64, g->ptr, g->i32};
  LLVMValueRef fn = cg_runtime_fn(g, "nnrt_sgemm_fixed_b", g->vd, pt, 15);
  LLVMValueRef pack = LLVMBuildZExt(g->b, cg_loop_first_step(g, e, scan), g->i32, "");
  LLVMValueRef args[15] = {cg_ci32(g, c->a.trans),
                           cg_ci32(g, c->b.trans),
                           c->m,
                           c->n,
                           c->k,
                           LLVMConstReal(f32, 1.0),
                           pa,
                           c->lda,
                           pb,
                           c->ldb,
                           LLVMConstReal(f32, 0.0),
                           pc,
                           c->n,
                           cg_scratch_ptr(g, e, k),
                           pack};
  cg_call(g, fn, args, 15);
}

/* Batch axes before the innermost one loop here, in the entry function. */
static void gemm_nest(Cg *g, const Gemm *c, int i, LLVMValueRef pa, LLVMValueRef pb,
                      LLVMValueRef pc) {
  if (i + 1 >= c->nb) {
    gemm_call(g, c, pa, pb, pc);
    return;
  }
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), cg_dim_value(g, c->tc->dims[i]));
  Dim cs = dim_const(1);
  for (int j = i + 1; j < c->tc->rank; j++)
    cs = cg_dmul(g, cs, c->tc->dims[j]);
  LLVMValueRef qa =
      cg_gep(g, c->et, pa, LLVMBuildNSWMul(g->b, l.i, stride_value(g, c->a.bstride[i]), ""));
  LLVMValueRef qb =
      cg_gep(g, c->et, pb, LLVMBuildNSWMul(g->b, l.i, stride_value(g, c->b.bstride[i]), ""));
  LLVMValueRef qc = cg_gep(g, c->et, pc, LLVMBuildNSWMul(g->b, l.i, cg_dim_value(g, cs), ""));
  gemm_nest(g, c, i + 1, qa, qb, qc);
  cg_loop_end(g, &l);
}

/* numpy.matmul: a 1-D left operand is a row [1, k], a 1-D right one a
 * column [k, 1]; leading axes broadcast (stride 0). */
void cg_emit_gemm(Cg *g, Entry *e, const Kernel *k) {
  const IrValue *mm = k->core, *a = mm->args[0], *b = mm->args[1];
  const TType *ta = &a->type, *tb = &b->type;
  Gemm c = {.tc = &mm->type, .f64 = mm->type.dtype == DT_F64};
  c.nb = c.tc->rank - (ta->rank >= 2) - (tb->rank >= 2);
  c.et = c.f64 ? g->f64 : g->f32;
  gemm_operand(g, &c.a, a, c.nb);
  gemm_operand(g, &c.b, b, c.nb);
  c.m = cg_dim_value(g, ta->rank >= 2 ? ta->dims[ta->rank - 2] : dim_const(1));
  c.k = cg_dim_value(g, ta->dims[ta->rank - 1]);
  c.n = cg_dim_value(g, tb->rank >= 2 ? tb->dims[tb->rank - 1] : dim_const(1));
  if (tb->rank <= 2 && ta->rank > 2 && !c.a.trans) {
    /* [batch.., m, k] @ [k, n]: A's rows are contiguous across the batch
     * and C's too, so one product [batch * m, k] @ [k, n] (which the
     * runtime may split over threads) instead of one per matrix. */
    Dim rows = dim_const(1);
    for (int i = 0; i < ta->rank - 1; i++)
      rows = cg_dmul(g, rows, ta->dims[i]);
    c.m = cg_dim_value(g, rows);
    c.nb = 0;
  }
  c.lda = c.a.trans ? c.m : c.k; /* a folded A is stored [k, m] */
  c.ldb = c.b.trans ? c.k : c.n; /* a folded B is stored [n, k] */
  LLVMValueRef pa = cg_value_ptr(g, e, c.a.trans ? a->args[0] : a);
  LLVMValueRef pb = cg_value_ptr(g, e, c.b.trans ? b->args[0] : b);
  if (k->fixed_b_loop)
    fixed_b_call(g, e, k, k->fixed_b_loop, &c, pa, pb, cg_value_ptr(g, e, mm));
  else
    gemm_nest(g, &c, 0, pa, pb, cg_value_ptr(g, e, mm));
}
