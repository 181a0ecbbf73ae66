/* cg_conv.c - the CONV class's ops as calls of the runtime's convolution.
 *
 * The entry function fills an nnrt_conv (runtime/nnrt.h) with the geometry
 * of the forward convolution the op belongs to (ir_conv_geom), sizes
 * evaluated from the run-time dims, and calls nnrt_[sd]conv_forward,
 * _backward_data or _backward_filter with the operands, the result and
 * the kernel's scratch from the workspace. */
#include "cg_internal.h"

#include "nnrt.h"

enum { CONV_FIELDS = sizeof(nnrt_conv) / sizeof(int64_t) };

/* The fields of nnrt_conv in declaration order. */
static void conv_fields(Cg *g, const IrConvGeom *c, LLVMValueRef *f) {
  Dim d[] = {c->n,      c->c,    c->o,   dim_const(c->groups), c->in[0], c->in[1], c->out[0],
             c->out[1], c->k[0], c->k[1]};
  int nd = (int)(sizeof d / sizeof d[0]);
  for (int i = 0; i < nd; i++)
    f[i] = cg_dim_value(g, d[i]);
  int64_t rest[] = {c->stride[0], c->stride[1],   c->pad[0],
                    c->pad[1],    c->dilation[0], c->dilation[1]};
  for (int i = 0; i < (int)(sizeof rest / sizeof rest[0]); i++)
    f[nd + i] = cg_ci64(g, rest[i]);
}

static const char *runtime_name(const IrValue *v) {
  bool f64 = v->type.dtype == DT_F64;
  switch (v->op) {
  case OP_CONV:
    return f64 ? "nnrt_dconv_forward" : "nnrt_sconv_forward";
  case OP_CONV_TRANSPOSE:
    return f64 ? "nnrt_dconv_backward_data" : "nnrt_sconv_backward_data";
  default:
    return f64 ? "nnrt_dconv_backward_filter" : "nnrt_sconv_backward_filter";
  }
}

void cg_emit_conv(Cg *g, Entry *e, const Kernel *k) {
  _Static_assert(CONV_FIELDS == 16, "nnrt_conv has 16 int64_t fields");
  const IrValue *v = k->core;
  IrConvGeom geom;
  ir_conv_geom(v, &geom);
  LLVMTypeRef st = LLVMArrayType2(g->i64, CONV_FIELDS);
  LLVMValueRef desc = cg_entry_alloca(g, st, "conv");
  LLVMValueRef f[CONV_FIELDS];
  conv_fields(g, &geom, f);
  for (int i = 0; i < CONV_FIELDS; i++)
    LLVMBuildStore(g->b, f[i], cg_gep(g, g->i64, desc, cg_ci64(g, i)));
  LLVMTypeRef pt[5] = {g->ptr, g->ptr, g->ptr, g->ptr, g->ptr};
  LLVMValueRef fn = cg_runtime_fn(g, runtime_name(v), g->vd, pt, 5);
  LLVMValueRef args[5] = {desc, cg_value_ptr(g, e, v->args[0]), cg_value_ptr(g, e, v->args[1]),
                          cg_value_ptr(g, e, v), cg_scratch_ptr(g, e, k)};
  cg_call(g, fn, args, 5);
}
