/* ir_print.c - the textual form of the tensor IR (nnc --emit=ir).
 *
 *   model DigitsMLP
 *     param fc1.W: f32[64, 128] = glorot
 *   func forward(x: f32[B, 64]) -> f32[B, 10]
 *     %0 = input x : f32[B, 64]
 *     %2 = matmul %0, %1 : f32[B, 128]
 *     return %9
 *
 * Stable and line-oriented so lit tests can FileCheck it.
 */
#include "ast_text.h"
#include "ir.h"

static const char *init_text(Arena *a, const IrInit *in) {
  switch (in->kind) {
  case INIT_ZEROS:
    return "zeros";
  case INIT_ONES:
    return "ones";
  case INIT_NORMAL:
    return arena_printf(a, "normal(mean = %g, std = %g)", in->a, in->b);
  case INIT_UNIFORM:
    return arena_printf(a, "uniform(%g, %g)", in->a, in->b);
  case INIT_GLOROT:
    return "glorot";
  case INIT_HE:
    return "he";
  case INIT_ORTHOGONAL:
    return arena_printf(a, "orthogonal(gain = %g)", in->a);
  case INIT_SPARSE:
    return arena_printf(a, "sparse(%g, std = %g)", in->a, in->b);
  case INIT_CONSTANT:
    return arena_printf(a, "constant(%g)", in->a);
  case INIT_RESERVOIR:
    return arena_printf(a, "reservoir(radius = %g, density = %g)", in->a, in->b);
  }
  return "?";
}

static void print_int_list(FILE *out, const int *xs, int n) {
  fputc('[', out);
  for (int i = 0; i < n; i++)
    fprintf(out, "%s%d", i ? ", " : "", xs[i]);
  fputc(']', out);
}

static void print_i64s(FILE *out, const char *name, const int64_t *x, int n) {
  fprintf(out, " %s=", name);
  for (int i = 0; i < n; i++)
    fprintf(out, "%s%lld", i ? "x" : "", (long long)x[i]);
}

/* " stride=2x2 pad=1x1+1x1 dilation=1x1 groups=1" (padding before + after;
 * a conv_transpose's and conv_filter's sizes are their result's). */
static void print_conv_attrs(FILE *out, const IrValue *v) {
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  print_i64s(out, "stride", ca->stride, ca->nsp);
  print_i64s(out, "pad", ca->pad_lo, ca->nsp);
  if (v->op == OP_CONV) {
    fputc('+', out);
    for (int i = 0; i < ca->nsp; i++)
      fprintf(out, "%s%lld", i ? "x" : "", (long long)ca->pad_hi[i]);
  }
  print_i64s(out, "dilation", ca->dilation, ca->nsp);
  fprintf(out, " groups=%lld", (long long)ca->groups);
}

static void print_unary_attrs(FILE *out, const IrValue *v) {
  const IrUnaryAttrs *u = &IR_ATTR(v, unary);
  switch (v->op) {
  case OP_LEAKY_RELU:
    fprintf(out, " slope=%g", u->slope);
    break;
  case OP_ELU:
    fprintf(out, " alpha=%g", u->alpha);
    break;
  case OP_CLAMP:
    fprintf(out, " lo=%g hi=%g", u->lo, u->hi);
    break;
  case OP_CAST:
    fprintf(out, " to=%s", dtype_name(u->to));
    break;
  default:
    break;
  }
}

/* start:stop as Python reads it: the stop is left out where the range runs
 * to an end (a negative start counts from the end, so -2:0 would be empty;
 * a backward range through index 0 has no stop >= 0). */
static void print_slice_range(FILE *out, int64_t start, int64_t count, int64_t step) {
  int64_t stop = start + (count - 1) * step + (step > 0 ? 1 : -1);
  if ((start < 0 && stop == 0) || (start >= 0 && stop < 0))
    fprintf(out, "%lld:", (long long)start);
  else
    fprintf(out, "%lld:%lld", (long long)start, (long long)stop);
}

/* slice: per operand axis start:stop[:step] as in Python, or the index of
 * an axis indexed away; pad: per axis at:+extent[:step], operand element k
 * landing at at + k * step of a result axis of that extent; @k marks a
 * run-time position held by operand k (added to the constant). concat: the
 * axis; unfold: the axis, the window's size and step. */
static void print_view_attrs(FILE *out, const IrModule *m, const IrValue *v) {
  const IrViewAttrs *va = IR_ATTR(v, view);
  if (v->op == OP_CONCAT) {
    fprintf(out, " axis=%d", va->axis);
    return;
  }
  if (v->op == OP_UNFOLD) {
    fprintf(out, " axis=%d size=%lld step=%lld", va->axis, (long long)va->window,
            (long long)va->step[va->axis]);
    return;
  }
  Arena a;
  arena_init(&a);
  fputs(" [", out);
  for (int i = 0; i < v->args[0]->type.rank; i++) {
    fputs(i ? ", " : "", out);
    if (va->dyn[i] > 0)
      fprintf(out, "@%d+", va->dyn[i]);
    Dim n = va->size[i];
    if (v->op == OP_SLICE && va->drop[i])
      fprintf(out, "%lld", (long long)va->start[i]);
    else if (v->op == OP_SLICE && n.kind == DIM_KNOWN && dim_is_const(n))
      print_slice_range(out, va->start[i], n.constant, va->step[i]);
    else
      fprintf(out, "%lld:+%s", (long long)va->start[i], dim_str(&a, m->syms, n));
    if (va->step[i] != 1)
      fprintf(out, ":%lld", (long long)va->step[i]);
  }
  fputc(']', out);
  if (v->op == OP_PAD)
    fprintf(out, " value=%g", va->value);
  arena_free(&a);
}

static void print_attrs(FILE *out, const IrModule *m, const IrFunc *f, const IrValue *v) {
  switch (v->op) {
  case OP_INPUT:
    fprintf(out, " %s", f->input_names[IR_ATTR(v, source).index]);
    return;
  case OP_PARAM:
    fprintf(out, " %s", m->params[IR_ATTR(v, source).index]->name);
    return;
  case OP_CONST:
    if (IR_ATTR(v, source).unknown)
      fputs(" ?", out);
    else
      fprintf(out, " %g", IR_ATTR(v, source).scalar);
    if (!dim_is(IR_ATTR(v, source).denom, 0)) {
      Arena a;
      arena_init(&a);
      fprintf(out, "/%s", dim_str(&a, m->syms, IR_ATTR(v, source).denom));
      arena_free(&a);
    }
    return;
  default:
    break;
  }
  switch (op_info[v->op].cls) {
  case OPC_REDUCE:
    fputs(" axes=", out);
    print_int_list(out, IR_ATTR(v, reduce).axes, IR_ATTR(v, reduce).naxes);
    if (IR_ATTR(v, reduce).keepdims)
      fputs(" keepdims", out);
    break;
  case OPC_ROWWISE:
    fprintf(out, " axis=%d", IR_ATTR(v, rowwise).axis);
    break;
  case OPC_ONEHOT:
    fprintf(out, " depth=%lld", (long long)IR_ATTR(v, onehot).depth);
    break;
  case OPC_GATHER:
    if (v->op == OP_SCATTER_ADD) {
      Arena a;
      arena_init(&a);
      fprintf(out, " rows=%s", dim_str(&a, m->syms, IR_ATTR(v, gather).rows));
      arena_free(&a);
    }
    break;
  case OPC_GENERATE:
    if (v->op == OP_ARANGE)
      fprintf(out, " start=%g step=%g", IR_ATTR(v, gen).a, IR_ATTR(v, gen).b);
    else if (v->op == OP_DROPOUT_MASK)
      fprintf(out, " p=%g stream=%d", IR_ATTR(v, gen).a, IR_ATTR(v, gen).stream);
    else
      fprintf(out, " %g, %g stream=%d", IR_ATTR(v, gen).a, IR_ATTR(v, gen).b,
              IR_ATTR(v, gen).stream);
    break;
  case OPC_UNARY:
    print_unary_attrs(out, v);
    break;
  case OPC_VIEW:
    print_view_attrs(out, m, v);
    break;
  case OPC_CONV:
    print_conv_attrs(out, v);
    break;
  case OPC_LOOP:
    if (v->op == OP_SCAN) {
      Arena a;
      arena_init(&a);
      fprintf(out, " %s%s..%s", IR_ATTR(v, loop).reverse ? "reverse " : "",
              dim_str(&a, m->syms, *IR_ATTR(v, loop).lo),
              dim_str(&a, m->syms, *IR_ATTR(v, loop).hi));
      arena_free(&a);
    } else if (v->op != OP_SCAN_STEP) {
      fprintf(out, " %d", IR_ATTR(v, loop).index);
    }
    break;
  case OPC_LAYOUT:
    if (v->op == OP_TRANSPOSE) {
      fputs(" perm=", out);
      print_int_list(out, IR_ATTR(v, layout).perm, v->type.rank);
    }
    break;
  default:
    break;
  }
}

static void print_block(FILE *out, Arena *a, const IrModule *m, const IrFunc *f, const IrBlock *b,
                        int indent);

/* A loop's region: its parameters (step, carries), its values, what it
 * yields (next carries, emitted values). */
static void print_region(FILE *out, Arena *a, const IrModule *m, const IrFunc *f, const IrBlock *r,
                         int indent) {
  fprintf(out, "%*sparams", indent, "");
  for (int i = 0; i < r->nparams; i++)
    fprintf(out, "%s %%%d = %s : %s", i ? "," : "", r->params[i]->id,
            op_info[r->params[i]->op].name, ttype_str(a, m->syms, &r->params[i]->type));
  fputc('\n', out);
  print_block(out, a, m, f, r, indent);
  fprintf(out, "%*syield", indent, "");
  for (int i = 0; i < r->nresults; i++)
    fprintf(out, "%s %%%d", i ? "," : "", r->results[i]->id);
  fputc('\n', out);
}

static void print_block(FILE *out, Arena *a, const IrModule *m, const IrFunc *f, const IrBlock *b,
                        int indent) {
  for (int i = 0; i < b->n; i++) {
    const IrValue *v = b->vals[i];
    fprintf(out, "%*s%%%d = %s", indent, "", v->id, op_info[v->op].name);
    print_attrs(out, m, f, v);
    for (int k = 0; k < v->nargs; k++)
      fprintf(out, "%s%%%d", k ? ", " : " ", v->args[k]->id);
    fprintf(out, " : %s\n", ttype_str(a, m->syms, &v->type));
    if (v->region)
      print_region(out, a, m, f, v->region, indent + 2);
  }
}

void ir_print_func(FILE *out, const IrModule *m, const IrFunc *f) {
  Arena a;
  arena_init(&a);
  fprintf(out, "func %s(", f->name);
  for (int i = 0; i < f->ninputs; i++)
    fprintf(out, "%s%s: %s", i ? ", " : "", f->input_names[i],
            ttype_str(&a, m->syms, &f->inputs[i]->type));
  if (f->nresults == 1) {
    fprintf(out, ") -> %s", ttype_str(&a, m->syms, &f->result->type));
  } else {
    fputs(") -> (", out);
    for (int i = 0; i < f->nresults; i++)
      fprintf(out, "%s%s: %s", i ? ", " : "", f->result_names[i],
              ttype_str(&a, m->syms, &f->results[i]->type));
    fputc(')', out);
  }
  if (f->ndims) {
    fputs("  dims(", out);
    for (int i = 0; i < f->ndims; i++)
      fprintf(out, "%s%s", i ? ", " : "", m->syms->syms[f->dim_syms[i]].name);
    fputc(')', out);
  }
  fputc('\n', out);
  print_block(out, &a, m, f, f->body, 2);
  if (f->guard) /* no state is written when it is NaN */
    fprintf(out, "  guard %%%d\n", f->guard->id);
  fputs("  return", out);
  for (int i = 0; i < f->nresults; i++)
    fprintf(out, "%s %%%d", i ? "," : "", f->results[i]->id);
  fputc('\n', out);
  arena_free(&a);
}

static void print_section(FILE *out, Arena *a, const IrSection *s) {
  fprintf(out, "  %s%s%s {\n",
          s->kind == SEC_TRAIN  ? "train"
          : s->kind == SEC_DATA ? "data"
                                : "generate",
          s->name ? " " : "", s->name ? s->name : "");
  const PtrVec *fields = &s->ast->u.section.fields;
  for (int i = 0; i < fields->len; i++) {
    const AstNode *fl = fields->items[i];
    fprintf(out, "    %s = %s\n", fl->u.field.key, ast_text_expr(a, fl->u.field.value));
  }
  fputs("  }\n", out);
}

void ir_print_module(FILE *out, const IrModule *m) {
  Arena a;
  arena_init(&a);
  fprintf(out, "model %s\n", m->name);
  for (int i = 0; i < m->nparams; i++) {
    const IrParam *p = m->params[i];
    fprintf(out, "  %s %s: %s = %s\n", p->trainable ? "param" : "state", p->name,
            ttype_str(&a, m->syms, &p->type), init_text(&a, &p->init));
  }
  for (int i = 0; i < m->nsections; i++)
    print_section(out, &a, m->sections[i]);
  arena_free(&a);
  for (int i = 0; i < m->nfuncs; i++)
    ir_print_func(out, m, m->funcs[i]);
}
