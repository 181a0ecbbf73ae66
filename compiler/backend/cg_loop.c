/* cg_loop.c - a scan as a real loop in the entry function.
 *
 * The kernels of a scan's region are emitted once, between the loop's begin
 * and end kernels (fuse.h), so code size does not grow with the number of
 * steps. The begin copies the carries' initial values into the carries'
 * buffers and opens the loop over the step counter, storing the step index
 * where the region reads it. The end copies each emitted value into its
 * stack at the step's position, unless the step computed it there (the
 * memory plan's ST_STACK), and the carries' next values into the carries,
 * then steps the counter and branches back; after the last step it copies
 * the carries into the scan's outputs that are used.
 */
#include "cg_internal.h"

static LLVMValueRef bytes_of(Cg *g, const TType *t) {
  return LLVMBuildNSWMul(g->b, cg_dim_value(g, cg_numel_of(g, t)), cg_ci64(g, dtype_size(t->dtype)),
                         "");
}

static void copy_value(Cg *g, LLVMValueRef dst, LLVMValueRef src, const TType *t) {
  LLVMBuildMemMove(g->b, dst, 1, src, 1, bytes_of(g, t));
}

static CgLoop *open_loop(Entry *e, const IrValue *scan) {
  if (e->nloops == CG_MAX_LOOPS)
    NNC_BUG("scans nested deeper than %d", CG_MAX_LOOPS);
  CgLoop *l = &e->loops[e->nloops++];
  l->scan = scan;
  return l;
}

void cg_emit_loop_begin(Cg *g, Entry *e, const Kernel *k) {
  const IrValue *scan = k->core;
  const IrBlock *r = scan->region;
  const IrLoopAttrs *la = &IR_ATTR(scan, loop);
  for (int i = 0; i < scan->nargs; i++)
    copy_value(g, cg_value_ptr(g, e, r->params[i + 1]), cg_value_ptr(g, e, scan->args[i]),
               &r->params[i + 1]->type);
  CgLoop *l = open_loop(e, scan);
  l->counter = cg_entry_alloca(g, g->i64, "step");
  LLVMValueRef lo = cg_dim_value(g, *la->lo), hi = cg_dim_value(g, *la->hi);
  LLVMBuildStore(g->b, la->reverse ? LLVMBuildNSWSub(g->b, hi, cg_ci64(g, 1), "") : lo, l->counter);
  l->head = LLVMAppendBasicBlockInContext(g->c, g->fn, "scan_head");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(g->c, g->fn, "scan_step");
  l->exit = LLVMAppendBasicBlockInContext(g->c, g->fn, "scan_done");
  LLVMBuildBr(g->b, l->head);
  LLVMPositionBuilderAtEnd(g->b, l->head);
  LLVMValueRef t = LLVMBuildLoad2(g->b, g->i64, l->counter, "t");
  LLVMValueRef more = la->reverse ? LLVMBuildICmp(g->b, LLVMIntSGE, t, lo, "")
                                  : LLVMBuildICmp(g->b, LLVMIntSLT, t, hi, "");
  LLVMBuildCondBr(g->b, more, body, l->exit);
  LLVMPositionBuilderAtEnd(g->b, body);
  LLVMBuildStore(g->b, LLVMBuildTrunc(g->b, t, g->i32, ""), cg_value_ptr(g, e, r->params[0]));
}

static const CgLoop *open_loop_of(const Entry *e, const IrValue *scan) {
  for (int i = e->nloops - 1; i >= 0; i--)
    if (e->loops[i].scan == scan)
      return &e->loops[i];
  NNC_BUG("scan %%%d is not an open loop", scan->id);
}

LLVMValueRef cg_loop_first_step(Cg *g, Entry *e, const IrValue *scan) {
  const CgLoop *l = open_loop_of(e, scan);
  const IrLoopAttrs *la = &IR_ATTR(scan, loop);
  LLVMValueRef first = la->reverse
                           ? LLVMBuildNSWSub(g->b, cg_dim_value(g, *la->hi), cg_ci64(g, 1), "")
                           : cg_dim_value(g, *la->lo);
  LLVMValueRef t = LLVMBuildLoad2(g->b, g->i64, l->counter, "t");
  return LLVMBuildICmp(g->b, LLVMIntEQ, t, first, "first_step");
}

LLVMValueRef cg_stack_row_ptr(Cg *g, Entry *e, const IrValue *out) {
  const IrValue *scan = out->args[0];
  LLVMValueRef t = LLVMBuildLoad2(g->b, g->i64, open_loop_of(e, scan)->counter, "t");
  LLVMValueRef pos = LLVMBuildNSWSub(g->b, t, cg_dim_value(g, *IR_ATTR(scan, loop).lo), "");
  LLVMValueRef row = cg_ci64(g, dtype_size(out->type.dtype));
  for (int i = 1; i < out->type.rank; i++)
    row = LLVMBuildNSWMul(g->b, row, cg_dim_value(g, out->type.dims[i]), "");
  return cg_gep(g, g->i8, cg_value_ptr(g, e, out), LLVMBuildNSWMul(g->b, pos, row, ""));
}

/* Copies the value of region result i into every scan_out of it, unless
 * nothing uses it: at the step's row of a stack (at_step), or whole (the
 * carries' final values). */
static void copy_to_outputs(Cg *g, Entry *e, const Kernel *k, int i, bool at_step, LLVMValueRef src,
                            const TType *t) {
  const Storage *st = g->mp->storage;
  const IrValue *y = k->core->region->results[i];
  for (int j = 0; j < k->nextra_out; j++) {
    const IrValue *out = k->extra_out[j];
    if (IR_ATTR(out, loop).index != i)
      continue;
    if (!at_step) {
      copy_value(g, cg_value_ptr(g, e, out), src, t);
    } else if (st[y->id].kind != ST_STACK || st[y->id].index != out->id) {
      copy_value(g, cg_stack_row_ptr(g, e, out), src, t);
    } /* else the step computed it there */
  }
}

void cg_emit_loop_end(Cg *g, Entry *e, const Kernel *k) {
  const IrValue *scan = k->core;
  const IrBlock *r = scan->region;
  int nc = ir_scan_ncarry(scan);
  if (e->nloops == 0 || e->loops[e->nloops - 1].scan != scan)
    NNC_BUG("the end of scan %%%d does not close the innermost loop", scan->id);
  CgLoop *l = &e->loops[e->nloops - 1]; /* open while the step's values are copied */
  for (int i = nc; i < r->nresults; i++)
    copy_to_outputs(g, e, k, i, true, cg_value_ptr(g, e, r->results[i]), &r->results[i]->type);
  LLVMValueRef t = LLVMBuildLoad2(g->b, g->i64, l->counter, "t");
  for (int i = 0; i < nc; i++)
    copy_value(g, cg_value_ptr(g, e, r->params[i + 1]), cg_value_ptr(g, e, r->results[i]),
               &r->results[i]->type);
  e->nloops--;
  LLVMValueRef step = cg_ci64(g, IR_ATTR(scan, loop).reverse ? -1 : 1);
  LLVMBuildStore(g->b, LLVMBuildNSWAdd(g->b, t, step, ""), l->counter);
  LLVMBuildBr(g->b, l->head);
  LLVMPositionBuilderAtEnd(g->b, l->exit);
  for (int i = 0; i < nc; i++)
    copy_to_outputs(g, e, k, i, false, cg_value_ptr(g, e, r->params[i + 1]),
                    &r->params[i + 1]->type);
}
