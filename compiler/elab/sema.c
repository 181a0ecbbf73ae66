/* sema.c - declaration-level checks over every loaded module.
 *
 * Runs before elaboration and checks what needs no evaluation: names are
 * unique within a layer, instances name known layers, no layer contains
 * itself (directly or through others), functions end in exactly one return,
 * models can be instantiated without arguments, and sections sit in models.
 * Elaboration relies on these: it never sees an unknown layer or a cycle.
 */
#include <string.h>

#include "elab.h"

static size_t min3(size_t a, size_t b, size_t c) {
  return a < b ? (a < c ? a : c) : (b < c ? b : c);
}

/* Levenshtein distance, capped: names longer than 64 are never suggested. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return (size_t)-1;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      row[j] = min3(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1]));
      diag = up;
    }
  }
  return row[lb];
}

const AstNode *sema_fn_decl(const AstNode *layer, const char *name) {
  const PtrVec *ms = &layer->u.layer.members;
  for (int i = 0; i < ms->len; i++) {
    const AstNode *m = ms->items[i];
    if (m->kind == AST_FN && !strcmp(m->u.fn.name, name))
      return m;
  }
  return NULL;
}

const char *sema_closest_name(const char *name, const char *const *cands, int n) {
  size_t best = (size_t)-1, limit = strlen(name) / 3 + 1;
  const char *pick = NULL;
  for (int i = 0; i < n; i++) {
    size_t d = edit_distance(name, cands[i]);
    if (d > 0 && d <= limit && d < best) {
      best = d;
      pick = cands[i];
    }
  }
  return pick;
}

static const char *member_name(const AstNode *m) {
  switch (m->kind) {
  case AST_PARAM:
  case AST_STATE:
    return m->u.param.name;
  case AST_INSTANCE:
    return m->u.instance.name;
  case AST_SHARE:
    return m->u.share.name;
  case AST_FN:
    return m->u.fn.name;
  case AST_SECTION:
    return m->u.section.name;
  default:
    return NULL;
  }
}

/* Fills `seen` with the layer's argument and member names. */
static void check_unique_names(Program *p, const AstNode *layer, StrMap *seen_out) {
  StrMap seen;
  strmap_init(&seen, p->arena);
  const PtrVec *cps = &layer->u.layer.ctparams;
  for (int i = 0; i < cps->len; i++) {
    const AstNode *cp = cps->items[i];
    const AstNode *prev = strmap_put(&seen, cp->u.ctparam.name, (void *)cp);
    if (prev) {
      diag_error(p->diag, cp->loc, "argument '%s' is declared twice", cp->u.ctparam.name);
      diag_note(p->diag, prev->loc, "first declared here");
    }
  }
  const PtrVec *ms = &layer->u.layer.members;
  for (int i = 0; i < ms->len; i++) {
    const AstNode *m = ms->items[i];
    const char *name = member_name(m);
    if (!name)
      continue;
    const AstNode *prev = strmap_get(&seen, name);
    if (prev) {
      diag_error(p->diag, m->loc, "'%s' is already declared in %s '%s'", name,
                 layer->u.layer.is_model ? "model" : "layer", layer->u.layer.name);
      diag_note(p->diag, prev->loc, "previous declaration is here");
      continue;
    }
    strmap_put(&seen, name, (void *)m);
  }
  *seen_out = seen;
}

static void unknown_layer(Program *p, const AstNode *callee) {
  const char *name = callee->u.name.name;
  const char **names = ARENA_ARRAY(p->arena, const char *, (size_t)p->layer_list.len + 1);
  for (int i = 0; i < p->layer_list.len; i++)
    names[i] = ((AstNode *)p->layer_list.items[i])->u.layer.name;
  const char *guess = sema_closest_name(name, names, p->layer_list.len);
  if (guess)
    diag_error(p->diag, callee->loc, "unknown layer '%s'; did you mean '%s'?", name, guess);
  else
    diag_error(p->diag, callee->loc, "unknown layer '%s'", name);
}

static void check_instance(Program *p, const AstNode *m) {
  const AstNode *callee = m->u.instance.call->u.call.callee;
  if (callee->kind != AST_NAME) {
    diag_error(p->diag, callee->loc, "expected the name of a layer");
    return;
  }
  if (!strmap_get(&p->layers, callee->u.name.name))
    unknown_layer(p, callee);
}

/* `share` names a member of this layer, or of its sub-layers, by path. */
static void check_share(Program *p, const AstNode *m) {
  const AstNode *x = m->u.share.target;
  while (x->kind == AST_MEMBER)
    x = x->u.member.object;
  if (x->kind != AST_NAME)
    diag_error(p->diag, m->u.share.target->loc,
               "'share' takes the name of another instance of this layer, like 'share encoder'");
}

/* A name is bound once per function and never hides a member of the layer:
 * `let W = ...` silently replacing the parameter W is a classic bug. */
static void check_local_name(Program *p, StrMap *locals, const StrMap *members, const AstNode *at,
                             const char *name, const char *what) {
  const AstNode *member = strmap_get(members, name);
  const AstNode *prev = strmap_put(locals, name, (void *)at);
  if (prev) {
    diag_error(p->diag, at->loc, "%s '%s' is already defined in this function", what, name);
    diag_note(p->diag, prev->loc, "previous definition is here");
  } else if (member) {
    diag_error(p->diag, at->loc, "%s '%s' hides the layer's member of the same name", what, name);
    diag_note(p->diag, member->loc, "the member is declared here");
  }
}

static void check_scan(Program *p, StrMap *locals, const StrMap *members, const AstNode *scan);

/* Statements of a scan body: lets, next, emit and nested scans. */
static void check_scan_body(Program *p, StrMap *locals, const StrMap *members,
                            const AstNode *scan) {
  const PtrVec *cs = &scan->u.scan.carries;
  const AstNode **next = ARENA_ARRAY(p->arena, const AstNode *, (size_t)cs->len + 1);
  const PtrVec *body = &scan->u.scan.body;
  for (int i = 0; i < body->len; i++) {
    const AstNode *s = body->items[i];
    switch (s->kind) {
    case AST_LET:
      check_local_name(p, locals, members, s, s->u.let.name, "local");
      break;
    case AST_EMIT:
      check_local_name(p, locals, members, s, s->u.let.name, "emitted value");
      break;
    case AST_SCAN:
      check_scan(p, locals, members, s);
      break;
    case AST_NEXT: {
      int c = 0;
      while (c < cs->len && strcmp(((AstNode *)cs->items[c])->u.let.name, s->u.let.name))
        c++;
      if (c == cs->len) {
        diag_error(p->diag, s->loc, "'next %s' names no carry of this scan", s->u.let.name);
        diag_note(p->diag, scan->loc, "the scan's carries are declared after 'carry' here");
      } else if (next[c]) {
        diag_error(p->diag, s->loc, "carry '%s' has a second 'next'", s->u.let.name);
        diag_note(p->diag, next[c]->loc, "the first is here");
      } else {
        next[c] = s;
      }
      break;
    }
    case AST_RETURN:
      diag_error(p->diag, s->loc,
                 "'return' inside a scan; return after the scan, from its "
                 "carries or emitted values");
      break;
    case AST_STATE_UPDATE:
      diag_error(p->diag, s->loc,
                 "'state <-' inside a scan is not supported; write the state "
                 "after the scan from its carries");
      break;
    default:
      break;
    }
  }
  for (int c = 0; c < cs->len; c++)
    if (!next[c]) {
      const AstNode *carry = cs->items[c];
      diag_error(p->diag, carry->loc,
                 "carry '%s' has no 'next': give its value for the next step with "
                 "'next %s = ...' in the scan's body",
                 carry->u.let.name, carry->u.let.name);
    }
}

static void check_scan(Program *p, StrMap *locals, const StrMap *members, const AstNode *scan) {
  check_local_name(p, locals, members, scan, scan->u.scan.var, "step index");
  const PtrVec *cs = &scan->u.scan.carries;
  for (int i = 0; i < cs->len; i++) {
    const AstNode *c = cs->items[i];
    check_local_name(p, locals, members, c, c->u.let.name, "carry");
  }
  check_scan_body(p, locals, members, scan);
}

static void check_fn(Program *p, const AstNode *fn, const StrMap *members) {
  StrMap locals;
  strmap_init(&locals, p->arena);
  const PtrVec *as = &fn->u.fn.args;
  for (int i = 0; i < as->len; i++) {
    const AstNode *a = as->items[i];
    check_local_name(p, &locals, members, a, a->u.fnarg.name, "argument");
  }
  const PtrVec *body = &fn->u.fn.body;
  for (int i = 0; i < body->len; i++) {
    const AstNode *s = body->items[i];
    if (s->kind == AST_LET)
      check_local_name(p, &locals, members, s, s->u.let.name, "local");
    if (s->kind == AST_SCAN)
      check_scan(p, &locals, members, s);
    if (s->kind == AST_NEXT || s->kind == AST_EMIT)
      diag_error(p->diag, s->loc, "'%s' outside a scan: it gives a value per step of a 'scan' body",
                 s->kind == AST_NEXT ? "next" : "emit");
    if (s->kind != AST_RETURN)
      continue;
    if (i + 1 < body->len) {
      diag_error(p->diag, ((AstNode *)body->items[i + 1])->loc, "code after 'return' is never run");
      diag_note(p->diag, s->loc, "the function returns here");
    }
    return;
  }
  diag_error(p->diag, fn->u.fn.name_loc,
             "function '%s' does not return a value; end it with "
             "'return <expression>'",
             fn->u.fn.name);
}

static void check_layer(Program *p, const AstNode *layer) {
  StrMap members;
  check_unique_names(p, layer, &members);
  if (layer->u.layer.is_model) {
    const PtrVec *cps = &layer->u.layer.ctparams;
    for (int i = 0; i < cps->len; i++) {
      const AstNode *cp = cps->items[i];
      if (!cp->u.ctparam.deflt)
        diag_error(p->diag, cp->loc,
                   "argument '%s' of model '%s' needs a default value: a model "
                   "is instantiated without arguments",
                   cp->u.ctparam.name, layer->u.layer.name);
    }
  }
  const PtrVec *ms = &layer->u.layer.members;
  for (int i = 0; i < ms->len; i++) {
    const AstNode *m = ms->items[i];
    if (m->kind == AST_INSTANCE)
      check_instance(p, m);
    else if (m->kind == AST_SHARE)
      check_share(p, m);
    else if (m->kind == AST_FN)
      check_fn(p, m, &members);
    else if (m->kind == AST_SECTION && !layer->u.layer.is_model)
      diag_error(p->diag, m->loc, "'%s' sections are only allowed in a model, and '%s' is a layer",
                 m->u.section.kind == SEC_TRAIN  ? "train"
                 : m->u.section.kind == SEC_DATA ? "data"
                                                 : "generate",
                 layer->u.layer.name);
  }
  if (layer->u.layer.is_model)
    sections_check(p, layer);
}

/* ---- layers that contain themselves ---- */

typedef enum Visit { UNSEEN, ACTIVE, FINISHED } Visit;

typedef struct CycleWalk {
  Program *p;
  StrMap state; /* layer name -> Visit (stored as pointer-sized int) */
  PtrVec path;  /* AST_INSTANCE members on the current path */
} CycleWalk;

static Visit visit_state(CycleWalk *w, const AstNode *layer) {
  return (Visit)(size_t)strmap_get(&w->state, layer->u.layer.name);
}

static void report_cycle(CycleWalk *w, const AstNode *target, const AstNode *closing) {
  diag_error(w->p->diag, closing->loc, "layer '%s' contains itself, so it would never end",
             target->u.layer.name);
  /* Walk back to where the cycle starts and name each step. */
  int start = w->path.len - 1;
  while (start > 0) {
    const AstNode *inst = w->path.items[start - 1];
    if (!strcmp(inst->u.instance.call->u.call.callee->u.name.name, target->u.layer.name))
      break;
    start--;
  }
  for (int i = start; i < w->path.len - 1; i++) {
    const AstNode *inst = w->path.items[i];
    diag_note(w->p->diag, inst->loc, "through '%s' = %s(...) here", inst->u.instance.name,
              inst->u.instance.call->u.call.callee->u.name.name);
  }
}

static void walk_layer(CycleWalk *w, const AstNode *layer, int depth) {
  strmap_put(&w->state, layer->u.layer.name, (void *)(size_t)ACTIVE);
  const PtrVec *ms = &layer->u.layer.members;
  for (int i = 0; i < ms->len && depth < 1000; i++) {
    const AstNode *m = ms->items[i];
    if (m->kind != AST_INSTANCE || m->u.instance.call->u.call.callee->kind != AST_NAME)
      continue;
    const AstNode *callee =
        strmap_get(&w->p->layers, m->u.instance.call->u.call.callee->u.name.name);
    if (!callee)
      continue;
    arena_ptrvec_push(w->p->arena, &w->path, (void *)m);
    Visit s = visit_state(w, callee);
    if (s == ACTIVE)
      report_cycle(w, callee, m);
    else if (s == UNSEEN)
      walk_layer(w, callee, depth + 1);
    w->path.len--;
  }
  strmap_put(&w->state, layer->u.layer.name, (void *)(size_t)FINISHED);
}

static void check_cycles(Program *p) {
  CycleWalk w = {.p = p};
  strmap_init(&w.state, p->arena);
  for (int i = 0; i < p->layer_list.len; i++) {
    const AstNode *l = p->layer_list.items[i];
    if (visit_state(&w, l) == UNSEEN)
      walk_layer(&w, l, 0);
  }
}

void sema_check_program(Program *p) {
  for (int i = 0; i < p->layer_list.len && !diag_should_stop(p->diag); i++)
    check_layer(p, p->layer_list.items[i]);
  if (!diag_should_stop(p->diag))
    check_cycles(p);
}
