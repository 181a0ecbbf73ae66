/* fit.c - a train section's closed-form fit (`fit = ridge(...)`, docs/
 * language.md 10.4) against what the solve needs, checked on the lowered
 * IR where every dim is known: `features` maps the loss's input to rows of
 * N features, f32[B, ..., N]; `params` selects exactly one weight [N, K]
 * and one bias [K]; the loss's target has K values per row, on the same
 * rows; the washout leaves steps to fit. */
#include <string.h>

#include "ast_text.h"
#include "elab.h"
#include "train_config.h"

typedef struct FitCheck {
  Program *p;
  const AstNode *model;
  const IrModule *m;
  const AstNode *features, *params, *loss, *fit; /* the fields' values */
} FitCheck;

static const char *type_text(const FitCheck *c, const TType *t) {
  return ttype_str(c->p->arena, c->m->syms, t);
}

static bool dims_agree(Dim a, Dim b) {
  return !dim_is_const(a) || !dim_is_const(b) || dim_eq(a, b);
}

/* The features function: one input of the loss input's shape, rows out. */
static const IrFunc *check_features(const FitCheck *c, const IrFunc *loss) {
  const char *name = c->features->u.name.name;
  const IrFunc *f = ir_module_func(c->m, name);
  const AstNode *decl = sema_fn_decl(c->model, name);
  if (!f || !decl)
    return NULL; /* not a function: said by sections.c */
  const TType *out = f->nresults == 1 ? &f->results[0]->type : NULL;
  bool ok = f->ninputs == 1 && out && out->dtype == DT_F32 && out->rank >= 2 &&
            dim_is_const(out->dims[out->rank - 1]);
  if (ok && loss && loss->ninputs >= 1) {
    const TType *a = &f->inputs[0]->type, *b = &loss->inputs[0]->type;
    ok = a->rank == b->rank && a->dtype == b->dtype;
    for (int i = 1; ok && i < a->rank; i++)
      ok = dims_agree(a->dims[i], b->dims[i]);
  }
  if (ok)
    return f;
  diag_error(c->p->diag, c->features->loc,
             "the features function '%s' must take the loss's input and return f32[B, ..., N] "
             "with N a number: the rows the readout is fitted to; it is (%s) -> %s",
             name, f->ninputs >= 1 ? type_text(c, &f->inputs[0]->type) : "",
             out ? type_text(c, out) : "several results");
  diag_note(c->p->diag, decl->u.fn.name_loc, "'%s' is declared here", name);
  return NULL;
}

/* params: one trainable [N, K] and one [K], nothing else. */
static bool check_readout(const FitCheck *c, const TrainConfig *sel, int64_t n, const IrParam **w,
                          const IrParam **b) {
  int count = 0;
  for (int i = 0; i < c->m->nparams; i++) {
    const IrParam *p = c->m->params[i];
    if (!p->trainable || !train_config_selects(sel, p->name))
      continue;
    count++;
    if (p->type.rank == 2 && !*w)
      *w = p;
    else if (p->type.rank == 1 && !*b)
      *b = p;
  }
  const char *why = NULL;
  if (count != 2 || !*w || !*b)
    why = arena_printf(c->p->arena, "it selects %d parameter%s", count, count == 1 ? "" : "s");
  else if (!dim_is_const((*w)->type.dims[0]) || (*w)->type.dims[0].constant != n)
    why = arena_printf(c->p->arena, "the weight %s is %s, but the features have %lld per row",
                       (*w)->name, type_text(c, &(*w)->type), (long long)n);
  else if (!dim_eq((*w)->type.dims[1], (*b)->type.dims[0]))
    why = arena_printf(c->p->arena, "the weight %s is %s and the bias %s is %s", (*w)->name,
                       type_text(c, &(*w)->type), (*b)->name, type_text(c, &(*b)->type));
  if (!why)
    return true;
  diag_error(c->p->diag, c->params->loc,
             "a closed-form fit writes one linear map, a weight [N, K] and a bias [K] with N = "
             "%lld, the features per row; %s",
             (long long)n, why);
  return false;
}

/* The loss's target: K values on each row of the features. */
static void check_target(const FitCheck *c, const IrFunc *loss, const TType *rows, Dim k) {
  if (!loss || loss->ninputs < 2)
    return;
  const TType *y = &loss->inputs[1]->type;
  bool ok = y->dtype == DT_F32 && y->rank == rows->rank && dims_agree(y->dims[y->rank - 1], k);
  for (int i = 1; ok && i + 1 < y->rank; i++)
    ok = dims_agree(y->dims[i], rows->dims[i]);
  if (ok)
    return;
  diag_error(c->p->diag, c->loss->loc,
             "the loss's target %s must give the fitted readout's %s outputs on each row of "
             "the features %s",
             type_text(c, y),
             dim_is_const(k) ? arena_printf(c->p->arena, "%lld", (long long)k.constant) : "K",
             type_text(c, rows));
}

static void check_washout(const FitCheck *c, const TType *rows, int64_t washout) {
  if (washout == 0)
    return;
  if (rows->rank != 3) {
    diag_error(c->p->diag, c->fit->loc,
               "'washout' skips the first steps of each sequence, but the features %s have no "
               "time axis (f32[B, T, N])",
               type_text(c, rows));
  } else if (dim_is_const(rows->dims[1]) && washout >= rows->dims[1].constant) {
    diag_error(c->p->diag, c->fit->loc,
               "washout = %lld leaves none of the %lld steps of each sequence", (long long)washout,
               (long long)rows->dims[1].constant);
  }
}

static void check_fit_section(FitCheck *c, const TrainConfig *sel) {
  const IrFunc *loss = c->loss ? ir_module_func(c->m, c->loss->u.name.name) : NULL;
  const IrFunc *f = check_features(c, loss);
  if (!f)
    return;
  const TType *rows = &f->results[0]->type;
  const IrParam *w = NULL, *b = NULL;
  if (check_readout(c, sel, rows->dims[rows->rank - 1].constant, &w, &b))
    check_target(c, loss, rows, w->type.dims[1]);
  check_washout(c, rows, sel->fit_washout);
}

void fit_check(Program *p, const AstNode *model, const IrModule *m) {
  for (const AstNode *s = sections_first(model, SEC_TRAIN); s; s = sections_next(model, s)) {
    FitCheck c = {.p = p, .model = model, .m = m};
    TrainConfig sel = {0};
    const PtrVec *fs = &s->u.section.fields;
    for (int k = 0; k < fs->len; k++) {
      const AstNode *fl = fs->items[k], *v = fl->u.field.value;
      const char *key = fl->u.field.key;
      if (!strcmp(key, "features") && v->kind == AST_NAME)
        c.features = v;
      else if (!strcmp(key, "loss") && v->kind == AST_NAME)
        c.loss = v;
      else if (!strcmp(key, "fit") && v->kind == AST_CALL)
        c.fit = v;
      else if (!strcmp(key, "params") && v->kind == AST_NAME)
        c.params = v; /* all: sel.params NULL selects every trainable one */
      else if (!strcmp(key, "params") && v->kind == AST_LIST) {
        c.params = v;
        sel.nparams = v->u.list.items.len;
        sel.params = ARENA_ARRAY(p->arena, const char *, (size_t)sel.nparams + 1);
        for (int j = 0; j < sel.nparams; j++)
          sel.params[j] = ast_text_expr(p->arena, v->u.list.items.items[j]);
      }
    }
    if (!c.fit || !c.features || !c.params)
      continue; /* not a fit, or said by sections.c */
    const PtrVec *args = &c.fit->u.call.args;
    for (int j = 0; j < args->len; j++) {
      const AstNode *a = args->items[j];
      bool named = a->kind == AST_KWARG;
      const AstNode *val = named ? a->u.kwarg.value : a;
      if ((named ? !strcmp(a->u.kwarg.key, "washout") : j == 1) && val->kind == AST_INT)
        sel.fit_washout = val->u.int_lit.value;
    }
    check_fit_section(&c, &sel);
  }
}
