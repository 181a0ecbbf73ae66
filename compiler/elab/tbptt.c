/* tbptt.c - a train section's `tbptt = [h, c]` against the lowered model:
 * truncated backpropagation through time carries these state tensors from
 * one batch to the next, so the loss must write each one (state h <- ...),
 * and each must hold one row per sample of a batch, its first dimension
 * the data section's batch size. */
#include <string.h>

#include "ast_text.h"
#include "elab.h"

static int param_index(const IrModule *m, const char *name) {
  for (int i = 0; i < m->nparams; i++)
    if (!strcmp(m->params[i]->name, name))
      return i;
  return -1;
}

static bool writes_param(const IrFunc *f, int index) {
  for (int i = 0; i < f->body->n; i++) {
    const IrValue *v = f->body->vals[i];
    if (v->op == OP_ASSIGN && v->args[0]->op == OP_PARAM &&
        IR_ATTR(v->args[0], source).index == index)
      return true;
  }
  return false;
}

/* The data section's batch when it is written as a number (32 without the
 * field); 0 when it is not known here. */
static int64_t data_batch(const AstNode *model) {
  for (const AstNode *s = sections_first(model, SEC_DATA); s; s = sections_next(model, s)) {
    const AstNode *f = sections_field(s, "batch"), *b = f ? f->u.field.value : NULL;
    return !b ? 32 : b->kind == AST_INT ? b->u.int_lit.value : 0;
  }
  return 0; /* no data section: an embedding program feeds the batches */
}

static void check_carried(Program *p, const IrModule *m, const IrFunc *loss, const AstNode *item,
                          int64_t batch) {
  const char *path = ast_text_expr(p->arena, item);
  int k = param_index(m, ir_module_unalias(p->arena, m, path));
  if (k < 0 || m->params[k]->trainable)
    return; /* not a state: said by sections.c */
  const IrParam *st = m->params[k];
  if (!writes_param(loss, k))
    diag_error(p->diag, item->loc,
               "tbptt carries '%s', but the loss '%s' never writes it: give its value for the "
               "next batch with 'state %s <- ...'",
               path, loss->name, path);
  if (batch > 0 && (st->type.rank < 1 || !dim_is_const(st->type.dims[0]) ||
                    st->type.dims[0].constant != batch)) {
    diag_error(p->diag, item->loc,
               "'%s' is %s, but a carried state holds one row per sample: its first dimension "
               "must be the batch size, %lld",
               path, ttype_str(p->arena, m->syms, &st->type), (long long)batch);
    diag_note(p->diag, st->loc, "'%s' is declared here", path);
  }
}

void tbptt_check(Program *p, const AstNode *model, const IrModule *m) {
  for (const AstNode *s = sections_first(model, SEC_TRAIN); s; s = sections_next(model, s)) {
    const AstNode *lf = sections_field(s, "tbptt"), *ff = sections_field(s, "loss");
    const AstNode *list = lf ? lf->u.field.value : NULL, *loss = ff ? ff->u.field.value : NULL;
    const IrFunc *f = loss && loss->kind == AST_NAME ? ir_module_func(m, loss->u.name.name) : NULL;
    if (!list || list->kind != AST_LIST || !f)
      continue; /* no tbptt, or reported by sections.c */
    int64_t batch = data_batch(model);
    for (int k = 0; k < list->u.list.items.len; k++)
      check_carried(p, m, f, list->u.list.items.items[k], batch);
  }
}
