/* conv_geom.c - the CONV class's ops seen as one forward convolution.
 *
 * conv(x, w) -> y, conv_transpose(dy, w) -> dx and conv_filter(x, dy) -> dw
 * all run over the geometry of y = conv(x, w): the runtime takes that
 * geometry (nnrt_conv) and codegen and the memory plan read it here. */
#include "ir.h"
#include "nnrt.h"

static Dim mul(Dim a, Dim b) {
  Dim r;
  const char *why = NULL;
  if (!dim_mul(a, b, &r, &why))
    NNC_BUG("convolution sizes overflow: %s", why ? why : "?");
  return r;
}

void ir_conv_geom(const IrValue *v, IrConvGeom *g) {
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  const TType *x, *y, *k;
  switch (v->op) {
  case OP_CONV:
    x = &v->args[0]->type, y = &v->type, k = &v->args[1]->type;
    break;
  case OP_CONV_TRANSPOSE:
    x = &v->type, y = &v->args[0]->type, k = &v->args[1]->type;
    break;
  default: /* OP_CONV_FILTER */
    x = &v->args[0]->type, y = &v->args[1]->type, k = &v->type;
    break;
  }
  *g = (IrConvGeom){.n = x->dims[0], .c = x->dims[1], .o = y->dims[1], .groups = ca->groups};
  int lead = 2 - ca->nsp; /* 2-D axes before the op's own */
  for (int i = 0; i < 2; i++) {
    int a = i - lead;
    g->in[i] = a < 0 ? dim_const(1) : x->dims[2 + a];
    g->out[i] = a < 0 ? dim_const(1) : y->dims[2 + a];
    g->k[i] = a < 0 ? dim_const(1) : k->dims[2 + a];
    g->stride[i] = a < 0 ? 1 : ca->stride[a];
    g->pad[i] = a < 0 ? 0 : ca->pad_lo[a];
    g->dilation[i] = a < 0 ? 1 : ca->dilation[a];
  }
}

static bool is_pointwise(const IrConvGeom *g) {
  for (int i = 0; i < 2; i++)
    if (!dim_is(g->k[i], 1) || g->stride[i] != 1 || g->pad[i] != 0 || !dim_eq(g->in[i], g->out[i]))
      return false;
  return true;
}

Dim ir_conv_scratch(const IrValue *v) {
  IrConvGeom g;
  ir_conv_geom(v, &g);
  Dim cg, taps = mul(g.k[0], g.k[1]);
  const char *why = NULL;
  if (!dim_div(g.c, dim_const(g.groups), &cg, &why))
    NNC_BUG("convolution channels not divisible by groups: %s", why ? why : "?");
  Dim slots = dim_const(NNRT_CONV_SLOTS), total = dim_const(0);
  if (!is_pointwise(&g))
    total = mul(slots, mul(mul(cg, taps), mul(g.out[0], g.out[1])));
  if (v->op == OP_CONV_FILTER && !dim_add(total, mul(slots, mul(g.o, mul(cg, taps))), &total, &why))
    NNC_BUG("convolution scratch overflows: %s", why ? why : "?");
  return total;
}
