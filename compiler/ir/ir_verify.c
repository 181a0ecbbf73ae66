/* ir_verify.c - the invariants of the tensor IR.
 *
 * Checked after every stage that builds or rewrites IR (lowering, autodiff,
 * the training step; backend/pipeline.c): operand counts match the op
 * table; operands are defined before use in the same or an enclosing block,
 * and a block's values go out of scope at its end; ids are unique;
 * attributes carry the payloads their op needs and are in range for the
 * operand ranks (IR_ATTR checks, wherever attributes are read, that they
 * are read as the op's class has them); parameter references are
 * valid; and each value's shape rule, run again, gives the type the value
 * carries, so a pass that builds a value by hand agrees with ops.def. A
 * violation is a bug in nnc, not in the user's program: an internal error
 * that names the stage after which the IR broke.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct Verifier {
  const IrModule *m;
  const IrFunc *f;
  const char *stage;
  FILE *report;
  bool ok;
  unsigned char *defined; /* by value id: in scope here */
  unsigned char *seen;    /* by value id: defined anywhere so far */
  int cap;
  Arena scratch; /* types as text, shape rules' messages */
} Verifier;

static void fail(Verifier *vf, const IrValue *v, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (vf->report) {
    fprintf(vf->report, "ir_verify: after %s: %s: %%%d (%s): ", vf->stage,
            vf->f ? vf->f->name : "?", v ? v->id : -1, v ? op_info[v->op].name : "-");
    vfprintf(vf->report, fmt, ap);
    fputc('\n', vf->report);
  } else {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    NNC_BUG("the IR is broken after %s: in %s at %%%d (%s): %s", vf->stage,
            vf->f ? vf->f->name : "?", v ? v->id : -1, v ? op_info[v->op].name : "-", msg);
  }
  va_end(ap);
  vf->ok = false;
}

static bool axes_ok(const IrValue *v) {
  int rank = v->nargs ? v->args[0]->type.rank : 0;
  switch (op_info[v->op].cls) {
  case OPC_ROWWISE:
    return IR_ATTR(v, rowwise).axis >= 0 && IR_ATTR(v, rowwise).axis < rank;
  case OPC_REDUCE:
    for (int i = 0; i < IR_ATTR(v, reduce).naxes; i++)
      if (IR_ATTR(v, reduce).axes[i] < 0 || IR_ATTR(v, reduce).axes[i] >= rank ||
          (i && IR_ATTR(v, reduce).axes[i] <= IR_ATTR(v, reduce).axes[i - 1]))
        return false;
    return true;
  default:
    return true;
  }
}

/* The out-of-line payload the op's attributes need (ir.h), or NULL when
 * it has one or needs none. */
static const char *missing_payload(const IrValue *v) {
  switch (ir_attr_member(v->op)) {
  case IRA_layout:
    return v->op == OP_RESHAPE && !v->attr.layout.target ? "reshape target" : NULL;
  case IRA_expand:
    return !v->attr.expand.target ? "target shape" : NULL;
  case IRA_gen:
    return !v->attr.gen.target ? "shape" : NULL;
  case IRA_view:
    return !v->attr.view ? "view" : NULL;
  case IRA_conv:
    return !v->attr.conv ? "convolution geometry" : NULL;
  default:
    return NULL;
  }
}

static void verify_block(Verifier *vf, const IrBlock *b, bool close_scope);

/* Runs v's shape rule again, on a copy, and compares the type it gives with
 * v's. The rule reports into a Diag of its own (no source files: one line),
 * whose text becomes the failure's. Rules only write their value, and the
 * dtype of a weak literal operand, which lowering already gave it. */
static void check_shape(Verifier *vf, const IrValue *v) {
  IrValue copy = *v;
  char *text = NULL;
  size_t len = 0;
  FILE *msgs = open_memstream(&text, &len);
  if (!msgs)
    arena_fatal("out of memory");
  Diag d;
  diag_init(&d, &vf->scratch, msgs);
  /* a training step's optimizer writes its trainable parameters */
  ShapeCtx sc = {&d, &vf->scratch, vf->m->syms, vf->m, vf->f->writes_state};
  bool ok = shape_infer(&sc, &copy);
  fclose(msgs);
  if (!ok) {
    char *nl = strchr(text, '\n');
    if (nl)
      *nl = 0;
    fail(vf, v, "its shape rule rejects it: %s", text);
  } else if (!ttype_eq(&copy.type, &v->type)) {
    fail(vf, v, "has type %s, its shape rule gives %s",
         ttype_str(&vf->scratch, vf->m->syms, &v->type),
         ttype_str(&vf->scratch, vf->m->syms, &copy.type));
  }
  free(text);
}

static void verify_value(Verifier *vf, const IrValue *v) {
  if ((unsigned)v->op >= OP_COUNT) {
    fail(vf, NULL, "unknown op %d", (int)v->op);
    return;
  }
  const OpInfo *info = &op_info[v->op];
  if (v->id < 0 || v->id >= vf->cap) {
    fail(vf, v, "id out of range");
    return;
  }
  if (vf->seen[v->id])
    fail(vf, v, "id defined twice");
  bool operands_ok = !(info->arity >= 0 && v->nargs != info->arity);
  if (!operands_ok)
    fail(vf, v, "has %d operands, the op takes %d", v->nargs, info->arity);
  for (int i = 0; i < v->nargs; i++) {
    const IrValue *a = v->args[i];
    if (!a || a->id < 0 || a->id >= vf->cap || !vf->defined[a->id]) {
      fail(vf, v, "operand %d is not defined before its use%s", i,
           a && a->id >= 0 && a->id < vf->cap && vf->seen[a->id] ? " (its block ended before it)"
                                                                 : "");
      operands_ok = false;
    }
  }
  if (v->type.rank < 0 || v->type.rank > TYPE_MAX_RANK)
    fail(vf, v, "rank %d out of range", v->type.rank);
  const char *missing = missing_payload(v);
  if (missing) {
    fail(vf, v, "its attributes lack the %s", missing);
    operands_ok = false; /* its shape rule would read it */
  }
  if (!axes_ok(v))
    fail(vf, v, "axis attribute out of range");
  if (v->op == OP_PARAM &&
      (IR_ATTR(v, source).index < 0 || IR_ATTR(v, source).index >= vf->m->nparams))
    fail(vf, v, "parameter index %d out of range", IR_ATTR(v, source).index);
  if (v->op == OP_PARAM && IR_ATTR(v, source).index >= 0 &&
      IR_ATTR(v, source).index < vf->m->nparams &&
      !ttype_eq(&v->type, &vf->m->params[IR_ATTR(v, source).index]->type))
    fail(vf, v, "type differs from the parameter's");
  if (v->op == OP_INPUT &&
      (IR_ATTR(v, source).index < 0 || IR_ATTR(v, source).index >= vf->f->ninputs))
    fail(vf, v, "input index out of range");
  if (operands_ok && v->type.rank >= 0 && v->type.rank <= TYPE_MAX_RANK)
    check_shape(vf, v);
  if (v->region)
    verify_block(vf, v->region, true);
  vf->defined[v->id] = 1;
  vf->seen[v->id] = 1;
}

static void define(Verifier *vf, const IrValue *v, bool in_scope) {
  if (v->id >= 0 && v->id < vf->cap) {
    vf->defined[v->id] = in_scope;
    vf->seen[v->id] = 1;
  }
}

/* A nested block (close_scope) sees what encloses it; what it defines is
 * out of scope after its end, except through its results. */
static void verify_block(Verifier *vf, const IrBlock *b, bool close_scope) {
  for (int i = 0; i < b->nparams; i++)
    define(vf, b->params[i], true);
  for (int i = 0; i < b->n; i++) {
    if (b->vals[i]->parent != b)
      fail(vf, b->vals[i], "value's parent block is wrong");
    verify_value(vf, b->vals[i]);
  }
  for (int i = 0; i < b->nresults; i++)
    if (!vf->defined[b->results[i]->id])
      fail(vf, b->results[i], "block result not defined in scope");
  if (!close_scope)
    return;
  for (int i = 0; i < b->nparams; i++)
    define(vf, b->params[i], false);
  for (int i = 0; i < b->n; i++)
    define(vf, b->vals[i], false);
}

static void verify_func(Verifier *vf, const IrFunc *f) {
  vf->f = f;
  vf->cap = f->next_id;
  vf->defined = calloc((size_t)f->next_id + 1, 1);
  vf->seen = calloc((size_t)f->next_id + 1, 1);
  if (!vf->defined || !vf->seen)
    arena_fatal("out of memory");
  verify_block(vf, f->body, false);
  if (!f->result)
    fail(vf, NULL, "function has no result");
  else if (!vf->defined[f->result->id])
    fail(vf, f->result, "result is not defined in the function body");
  for (int i = 0; i < f->ninputs; i++)
    if (f->inputs[i]->op != OP_INPUT || IR_ATTR(f->inputs[i], source).index != i)
      fail(vf, f->inputs[i], "input %d is not an input op with index %d", i, i);
  free(vf->defined);
  free(vf->seen);
  vf->defined = vf->seen = NULL;
}

bool ir_verify_module(const IrModule *m, const char *stage, FILE *report) {
  Verifier vf = {.m = m, .stage = stage, .report = report, .ok = true};
  arena_init(&vf.scratch);
  for (int i = 0; i < m->nfuncs; i++)
    verify_func(&vf, m->funcs[i]);
  arena_free(&vf.scratch);
  return vf.ok;
}
