/* cg_gather.c - gather and scatter_add: rows moved by ids read from memory.
 *
 * Both run in the entry function, after the ids have been range-checked
 * (cg_entry.c, from ops.def's OP_INDEX rows), so no id reaches here that
 * would read or write outside a table. A row is the product D of the dims
 * after the indexed axis; the ids are visited in order:
 *
 *   gather       out[n, :] = table[ids[n], :]          one memcpy per id
 *   scatter_add  out = 0; out[ids[n], :] += src[n, :]  n = 0, 1, ... in turn
 *
 * scatter_add is not elementwise over its output: several ids may hit one
 * row. It runs serially over the ids, so every row's sum is taken in the
 * order of the ids whatever the thread count (the same bits at 1 and N
 * threads, unlike per-thread partial tables). The inner loop over D is
 * contiguous and LLVM vectorises it; splitting D over threads would also
 * keep the order, but embedding rows (D of 16 to 1024) are far below the
 * size where a thread pays (CG_PARALLEL_MIN), and the whole pass is one
 * read of src and about one of the table. */
#include "cg_internal.h"

typedef struct Rows {
  LLVMTypeRef et;     /* element type */
  LLVMValueRef d;     /* elements per row */
  LLVMValueRef bytes; /* bytes per row */
  unsigned align;
} Rows;

static Rows row_shape(Cg *g, const TType *t) {
  Rows r = {.et = cg_mem_type(g, t->dtype), .align = (unsigned)dtype_size(t->dtype)};
  Dim d = dim_const(1);
  for (int i = 1; i < t->rank; i++)
    d = cg_dmul(g, d, t->dims[i]);
  r.d = cg_dim_value(g, d);
  r.bytes = LLVMBuildNSWMul(g->b, r.d, cg_ci64(g, (int64_t)r.align), "row_bytes");
  return r;
}

/* The id at flat position i, as an i64 row offset in elements. */
static LLVMValueRef row_offset(Cg *g, LLVMValueRef ids, LLVMValueRef i, const Rows *r) {
  LLVMValueRef id = LLVMBuildLoad2(g->b, g->i32, cg_gep(g, g->i32, ids, i), "id");
  return LLVMBuildNSWMul(g->b, LLVMBuildSExt(g->b, id, g->i64, ""), r->d, "");
}

static LLVMValueRef add_elems(Cg *g, DType dt, LLVMValueRef x, LLVMValueRef y) {
  return dtype_is_float(dt) ? LLVMBuildFAdd(g->b, x, y, "") : LLVMBuildAdd(g->b, x, y, "");
}

static void emit_gather(Cg *g, Entry *e, const IrValue *v) {
  const IrValue *table = v->args[0], *ids = v->args[1];
  Rows r = row_shape(g, &table->type);
  LLVMValueRef pt = cg_value_ptr(g, e, table), pi = cg_value_ptr(g, e, ids);
  LLVMValueRef po = cg_value_ptr(g, e, v);
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), cg_dim_value(g, cg_numel_of(g, &ids->type)));
  LLVMValueRef src = cg_gep(g, r.et, pt, row_offset(g, pi, l.i, &r));
  LLVMValueRef dst = cg_gep(g, r.et, po, LLVMBuildNSWMul(g->b, l.i, r.d, ""));
  LLVMBuildMemCpy(g->b, dst, r.align, src, r.align, r.bytes);
  cg_loop_end(g, &l);
}

static void emit_scatter_add(Cg *g, Entry *e, const IrValue *v) {
  const IrValue *src = v->args[0], *ids = v->args[1];
  DType dt = v->type.dtype;
  Rows r = row_shape(g, &v->type);
  LLVMValueRef ps = cg_value_ptr(g, e, src), pi = cg_value_ptr(g, e, ids);
  LLVMValueRef po = cg_value_ptr(g, e, v);
  LLVMValueRef total = LLVMBuildNSWMul(g->b, cg_dim_value(g, v->type.dims[0]), r.bytes, "");
  LLVMBuildMemSet(g->b, po, LLVMConstInt(g->i8, 0, 0), total, r.align);
  Loop l = cg_loop_begin(g, cg_ci64(g, 0), cg_dim_value(g, cg_numel_of(g, &ids->type)));
  LLVMValueRef to = cg_gep(g, r.et, po, row_offset(g, pi, l.i, &r));
  LLVMValueRef from = cg_gep(g, r.et, ps, LLVMBuildNSWMul(g->b, l.i, r.d, ""));
  Loop c = cg_loop_begin(g, cg_ci64(g, 0), r.d);
  LLVMValueRef pto = cg_gep(g, r.et, to, c.i);
  LLVMValueRef x = LLVMBuildLoad2(g->b, r.et, pto, "");
  LLVMValueRef y = LLVMBuildLoad2(g->b, r.et, cg_gep(g, r.et, from, c.i), "");
  LLVMBuildStore(g->b, add_elems(g, dt, x, y), pto);
  cg_loop_end(g, &c);
  cg_loop_end(g, &l);
}

void cg_emit_gather(Cg *g, Entry *e, const Kernel *k) {
  if (k->core->op == OP_SCATTER_ADD)
    emit_scatter_add(g, e, k->core);
  else
    emit_gather(g, e, k->core);
}
