/* ir_verify.c - structural invariants of the tensor IR.
 *
 * Checked after every stage that builds or rewrites IR: operand counts match
 * the op table, operands are defined before use in the same or an enclosing
 * block, ids are unique, attributes are in range for the operand ranks, and
 * parameter references are valid. A violation is a bug in nnc, not in the
 * user's program.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct Verifier {
  const IrModule *m;
  const IrFunc *f;
  FILE *report;
  bool ok;
  unsigned char *defined; /* by value id */
  int cap;
} Verifier;

static void fail(Verifier *vf, const IrValue *v, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (vf->report) {
    fprintf(vf->report, "ir_verify: %s: %%%d (%s): ", vf->f ? vf->f->name : "?", v ? v->id : -1,
            v ? op_info[v->op].name : "-");
    vfprintf(vf->report, fmt, ap);
    fputc('\n', vf->report);
  } else {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    NNC_BUG("IR verification failed in %s at %%%d: %s", vf->f ? vf->f->name : "?", v ? v->id : -1,
            msg);
  }
  va_end(ap);
  vf->ok = false;
}

static bool axes_ok(const IrValue *v) {
  int rank = v->nargs ? v->args[0]->type.rank : 0;
  switch (op_info[v->op].cls) {
  case OPC_ROWWISE:
    return v->attr.axis >= 0 && v->attr.axis < rank;
  case OPC_REDUCE:
    for (int i = 0; i < v->attr.naxes; i++)
      if (v->attr.axes[i] < 0 || v->attr.axes[i] >= rank ||
          (i && v->attr.axes[i] <= v->attr.axes[i - 1]))
        return false;
    return true;
  default:
    return true;
  }
}

static void verify_block(Verifier *vf, const IrBlock *b);

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
  if (vf->defined[v->id])
    fail(vf, v, "id defined twice");
  if (info->arity >= 0 && v->nargs != info->arity)
    fail(vf, v, "has %d operands, the op takes %d", v->nargs, info->arity);
  for (int i = 0; i < v->nargs; i++) {
    const IrValue *a = v->args[i];
    if (!a || a->id < 0 || a->id >= vf->cap || !vf->defined[a->id])
      fail(vf, v, "operand %d is not defined before its use", i);
  }
  if (v->type.rank < 0 || v->type.rank > TYPE_MAX_RANK)
    fail(vf, v, "rank %d out of range", v->type.rank);
  if (!axes_ok(v))
    fail(vf, v, "axis attribute out of range");
  if (v->op == OP_PARAM && (v->attr.index < 0 || v->attr.index >= vf->m->nparams))
    fail(vf, v, "parameter index %d out of range", v->attr.index);
  if (v->op == OP_PARAM && v->attr.index >= 0 && v->attr.index < vf->m->nparams &&
      !ttype_eq(&v->type, &vf->m->params[v->attr.index]->type))
    fail(vf, v, "type differs from the parameter's");
  if (v->op == OP_INPUT && (v->attr.index < 0 || v->attr.index >= vf->f->ninputs))
    fail(vf, v, "input index out of range");
  if (v->region)
    verify_block(vf, v->region);
  vf->defined[v->id] = 1;
}

static void verify_block(Verifier *vf, const IrBlock *b) {
  for (int i = 0; i < b->nparams; i++)
    if (b->params[i]->id >= 0 && b->params[i]->id < vf->cap)
      vf->defined[b->params[i]->id] = 1;
  for (int i = 0; i < b->n; i++) {
    if (b->vals[i]->parent != b)
      fail(vf, b->vals[i], "value's parent block is wrong");
    verify_value(vf, b->vals[i]);
  }
  for (int i = 0; i < b->nresults; i++)
    if (!vf->defined[b->results[i]->id])
      fail(vf, b->results[i], "block result not defined in scope");
}

static void verify_func(Verifier *vf, const IrFunc *f) {
  vf->f = f;
  vf->cap = f->next_id;
  vf->defined = calloc((size_t)f->next_id + 1, 1);
  if (!vf->defined)
    nnc_fatal("out of memory");
  verify_block(vf, f->body);
  if (!f->result)
    fail(vf, NULL, "function has no result");
  else if (!vf->defined[f->result->id])
    fail(vf, f->result, "result is not defined in the function body");
  for (int i = 0; i < f->ninputs; i++)
    if (f->inputs[i]->op != OP_INPUT || f->inputs[i]->attr.index != i)
      fail(vf, f->inputs[i], "input %d is not an input op with index %d", i, i);
  free(vf->defined);
  vf->defined = NULL;
}

bool ir_verify_module(const IrModule *m, FILE *report) {
  Verifier vf = {.m = m, .report = report, .ok = true};
  for (int i = 0; i < m->nfuncs; i++)
    verify_func(&vf, m->funcs[i]);
  return vf.ok;
}
