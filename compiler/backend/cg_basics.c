/* cg_basics.c - constants, dims, calls and functions, counted loops. */
#include "cg_internal.h"

/* ---------------------------------------------------------------- basics */

LLVMTypeRef cg_mem_type(Cg *g, DType dt) {
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

static LLVMValueRef run_time_dim(Cg *g, int sym) {
  for (int k = 0; k < g->f->ndims; k++)
    if (g->f->dim_syms[k] == sym)
      return g->sym[k];
  NNC_BUG("dimension symbol %d is not a run-time dim of %s", sym, g->f->name);
}

/* coeff * s1 * s2 ...; a coefficient of 1 adds no multiply. */
static LLVMValueRef term_value(Cg *g, const DimTerm *t, int degree) {
  LLVMValueRef v = t->coeff == 1 ? NULL : cg_ci64(g, t->coeff);
  for (int i = 0; i < degree; i++) {
    LLVMValueRef s = run_time_dim(g, t->syms[i]);
    v = v ? LLVMBuildNSWMul(g->b, v, s, "") : s;
  }
  return v;
}

/* The polynomial from the run-time dims; the entry's checks keep every
 * size in range, so the arithmetic cannot wrap (nsw). */
LLVMValueRef cg_dim_value(Cg *g, Dim d) {
  if (d.kind != DIM_KNOWN)
    NNC_BUG("unknown dimension in codegen");
  if (d.nterms == 0)
    return cg_ci64(g, d.constant);
  LLVMValueRef v = term_value(g, &d.terms[0], d.degree[0]);
  for (int i = 1; i < d.nterms; i++)
    v = LLVMBuildNSWAdd(g->b, v, term_value(g, &d.terms[i], d.degree[i]), "");
  return d.constant ? LLVMBuildNSWAdd(g->b, v, cg_ci64(g, d.constant), "") : v;
}

Dim cg_dmul(Cg *g, Dim x, Dim y) {
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

Dim cg_numel_of(Cg *g, const TType *t) {
  Dim n = dim_const(1);
  for (int i = 0; i < t->rank; i++)
    n = cg_dmul(g, n, t->dims[i]);
  return n;
}

LLVMValueRef cg_entry_alloca(Cg *g, LLVMTypeRef t, const char *name) {
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

void cg_add_attr(Cg *g, LLVMValueRef fn, unsigned idx, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->c, kind, 0));
}

LLVMValueRef cg_intrinsic(Cg *g, const char *name, LLVMTypeRef t) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  return LLVMGetIntrinsicDeclaration(g->mod, id, &t, 1);
}

LLVMValueRef cg_runtime_fn(Cg *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                           unsigned n) {
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, name);
  if (!fn)
    fn = LLVMAddFunction(g->mod, name, LLVMFunctionType(ret, params, n, 0));
  return fn;
}

/* Loads the run-time dims at the start of the current function. */
void cg_load_dims(Cg *g, LLVMValueRef dims) {
  g->sym = ARENA_ARRAY(g->a, LLVMValueRef, (size_t)g->f->ndims + 1);
  for (int i = 0; i < g->f->ndims; i++)
    g->sym[i] = LLVMBuildLoad2(g->b, g->i64, cg_gep(g, g->i64, dims, cg_ci64(g, i)), "dim");
}

LLVMValueRef cg_begin_function(Cg *g, const char *name, LLVMTypeRef ty, bool internal) {
  LLVMValueRef fn = LLVMAddFunction(g->mod, name, ty);
  if (internal)
    LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_add_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind");
  g->fn = fn;
  g->top = LLVMAppendBasicBlockInContext(g->c, fn, "entry");
  LLVMPositionBuilderAtEnd(g->b, g->top);
  return fn;
}

/* ------------------------------------------------------------------ loops
 * Rotated counted loops: a guard, then a body ending in the latch
 *   for (i = lo; i < hi; i++)
 * which is the form LLVM's loop passes and vectoriser expect. */

Loop cg_loop_begin(Cg *g, LLVMValueRef lo, LLVMValueRef hi) {
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

void cg_loop_end(Cg *g, Loop *l) {
  LLVMValueRef next = LLVMBuildNSWAdd(g->b, l->i, cg_ci64(g, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(g->b);
  LLVMAddIncoming(l->i, &next, &latch, 1);
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, next, l->hi, ""), l->body, l->exit);
  LLVMPositionBuilderAtEnd(g->b, l->exit);
}
