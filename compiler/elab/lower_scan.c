/* lower_scan.c - `scan t in lo..hi carry h = h0 { ... }` (docs/language.md
 * 12.1) as a SCAN value owning a region.
 *
 * The body is lowered once, into the region: its step index and carries
 * are the region's parameters, so the body's values are those of any
 * single step, and everything defined before the scan (parameters, the
 * input sequence) is read directly. The carries' `next` values and the
 * `emit`ted values become the region's results. After the scan a carry's
 * name holds its value after the last step and an emitted name the stack
 * of every step's value along a new axis 0 ([T, ...]).
 */
#include <string.h>

#include "lower.h"

/* What a step leaves behind must be a buffer of its own that the loop
 * copies (ir_region_materialise). */
static IrValue *materialise(Elab *e, IrValue *v, const IrBlock *region, SrcSpan loc) {
  ShapeCtx sc = {.diag = e->diag,
                 .arena = e->arena,
                 .syms = e->mod->syms,
                 .module = e->mod,
                 .generic = e->generic};
  return ir_region_materialise(e->arena, &sc, e->func, v, region, loc);
}

typedef struct ScanBuild {
  const AstNode *s;
  IrBlock *region;
  int ncarry;
  IrValue **init;
  IrValue **next; /* per carry, from its `next` */
  IrValue **emits;
  const AstNode **emit_at;
  int nemit;
  bool ok;
} ScanBuild;

static bool step_bounds(Elab *e, Frame *f, const AstNode *s, Dim *lo, Dim *hi) {
  CtEnv env = {.inst = f->inst};
  if (!consteval_dim(e, &env, &f->dims, DIMS_BIND, s->u.scan.lo, lo) ||
      !consteval_dim(e, &env, &f->dims, DIMS_BIND, s->u.scan.hi, hi))
    return false;
  Dim n;
  const char *why;
  if (!dim_sub(*hi, *lo, &n, &why)) {
    diag_error(e->diag, s->u.scan.hi->loc, "the number of steps: %s", why);
    return false;
  }
  if (dim_is_const(n) && n.constant < 1) {
    diag_error(e->diag, s->u.scan.hi->loc, "the scan has %lld steps; it needs at least one",
               (long long)n.constant);
    return false;
  }
  return true;
}

static void bind(Elab *e, Frame *f, const char *name, IrValue *v) {
  Val *lv = ARENA_NEW(e->arena, Val);
  *lv = v ? (Val){.kind = VAL_TENSOR, .t = v} : (Val){.kind = VAL_ERROR};
  strmap_put(&f->locals, name, lv);
}

static void run_next(Elab *e, Frame *f, ScanBuild *sb, const AstNode *st) {
  const PtrVec *cs = &sb->s->u.scan.carries;
  int c = 0;
  while (c < cs->len && strcmp(((AstNode *)cs->items[c])->u.let.name, st->u.let.name))
    c++;
  if (c == cs->len)
    return; /* sema reported it */
  IrValue *v = lower_as_tensor(e, f, lower_eval_expr(e, f, st->u.let.value), st->u.let.value);
  if (!v || !sb->init[c]) { /* a carry whose start failed has no parameter in the region */
    sb->ok = false;
    return;
  }
  const TType *want = &sb->init[c]->type; /* the carry's parameter's */
  if (!ttype_eq(&v->type, want)) {
    const AstNode *carry = cs->items[c];
    diag_error(e->diag, st->u.let.value->loc,
               "the next value of carry '%s' is %s, but the carry is %s; a carry keeps its "
               "type from step to step",
               st->u.let.name, ttype_str(e->arena, e->mod->syms, &v->type),
               ttype_str(e->arena, e->mod->syms, want));
    diag_note(e->diag, carry->loc, "carry '%s' starts here as %s", st->u.let.name,
              ttype_str(e->arena, e->mod->syms, want));
    sb->ok = false;
    return;
  }
  sb->next[c] = materialise(e, v, sb->region, st->loc);
}

static void run_emit(Elab *e, Frame *f, ScanBuild *sb, const AstNode *st) {
  IrValue *v = lower_as_tensor(e, f, lower_eval_expr(e, f, st->u.let.value), st->u.let.value);
  /* a failed emit is still bound after the scan, poisoned, so that its
   * uses are not reported as unknown names */
  sb->ok &= v != NULL;
  sb->emits =
      arena_grow(e->arena, sb->emits, (size_t)sb->nemit, (size_t)sb->nemit + 1, sizeof *sb->emits);
  sb->emit_at = arena_grow(e->arena, (void *)sb->emit_at, (size_t)sb->nemit, (size_t)sb->nemit + 1,
                           sizeof *sb->emit_at);
  sb->emit_at[sb->nemit] = st;
  sb->emits[sb->nemit++] = v ? materialise(e, v, sb->region, st->loc) : NULL;
}

/* A random draw is keyed by its stream and element, not by the step, so
 * inside a loop it would repeat at every step. */
static bool draws_random(const IrBlock *b) {
  for (int i = 0; i < b->n; i++)
    if (ir_is_random(b->vals[i]) || (b->vals[i]->region && draws_random(b->vals[i]->region)))
      return true;
  return false;
}

static void run_body(Elab *e, Frame *f, ScanBuild *sb) {
  const PtrVec *body = &sb->s->u.scan.body;
  for (int i = 0; i < body->len && !diag_should_stop(e->diag); i++) {
    const AstNode *st = body->items[i];
    switch (st->kind) {
    case AST_LET:
      lower_run_let(e, f, st);
      break;
    case AST_NEXT:
      run_next(e, f, sb, st);
      break;
    case AST_EMIT:
      run_emit(e, f, sb, st);
      break;
    case AST_SCAN:
      lower_scan(e, f, st);
      break;
    default:
      break; /* sema reported return and state updates inside a scan */
    }
  }
}

static void bind_outputs(Elab *e, Frame *f, ScanBuild *sb, IrValue *scan) {
  const PtrVec *cs = &sb->s->u.scan.carries;
  for (int i = 0; i < sb->ncarry + sb->nemit; i++) {
    IrAttrs at = {.loop = {.index = i}};
    SrcSpan loc =
        i < sb->ncarry ? ((AstNode *)cs->items[i])->loc : sb->emit_at[i - sb->ncarry]->loc;
    IrValue *out = scan ? lower_emit_op(e, f, OP_SCAN_OUT, &scan, 1, loc, &at) : NULL;
    bind(e, f,
         i < sb->ncarry ? ((AstNode *)cs->items[i])->u.let.name
                        : sb->emit_at[i - sb->ncarry]->u.let.name,
         out);
  }
}

void lower_scan(Elab *e, Frame *f, const AstNode *s) {
  ScanBuild sb = {.s = s, .ok = true};
  const PtrVec *cs = &s->u.scan.carries;
  sb.ncarry = cs->len;
  sb.init = ARENA_ARRAY(e->arena, IrValue *, (size_t)sb.ncarry + 1);
  sb.next = ARENA_ARRAY(e->arena, IrValue *, (size_t)sb.ncarry + 1);
  Dim lo, hi;
  sb.ok = step_bounds(e, f, s, &lo, &hi);
  for (int i = 0; i < sb.ncarry; i++) {
    const AstNode *c = cs->items[i];
    sb.init[i] = lower_as_tensor(e, f, lower_eval_expr(e, f, c->u.let.value), c->u.let.value);
    if (!sb.init[i])
      sb.ok = false;
    else if (ir_in_place(sb.init[i]) || op_info[sb.init[i]->op].cls == OPC_VIEW) {
      IrAttrs at = {.expand = {.target = &sb.init[i]->type}};
      sb.init[i] = lower_emit_op(e, f, OP_BROADCAST, &sb.init[i], 1, c->loc, &at);
      sb.ok &= sb.init[i] != NULL;
    }
  }
  IrFunc *fn = e->func;
  IrBlock *outer = ir_func_block(fn);
  sb.region = ir_region_new(e->arena, fn, outer, s->loc);
  bind(e, f, s->u.scan.var, sb.region->params[0]);
  for (int i = 0; i < sb.ncarry; i++) {
    const AstNode *c = cs->items[i];
    TType t = sb.init[i] ? sb.init[i]->type : ttype_scalar(DT_F32);
    bind(e, f, c->u.let.name,
         sb.init[i] ? ir_region_add_carry(e->arena, fn, sb.region, t, c->loc) : NULL);
  }
  fn->insert = sb.region;
  run_body(e, f, &sb);
  fn->insert = outer;
  if (outer == fn->body)
    fn->insert = NULL;
  for (int i = 0; i < sb.ncarry; i++)
    sb.ok &= sb.next[i] != NULL;
  if (sb.ok && draws_random(sb.region)) {
    diag_error(e->diag, s->loc,
               "random values (dropout, uniform, normal) inside a scan are not "
               "supported yet: they would repeat at every step");
    sb.ok = false;
  }
  IrValue *scan = NULL;
  if (sb.ok) {
    for (int i = 0; i < sb.ncarry; i++)
      ir_region_add_result(e->arena, sb.region, sb.next[i]);
    for (int i = 0; i < sb.nemit; i++)
      ir_region_add_result(e->arena, sb.region, sb.emits[i]);
    IrAttrs at = {.loop = {.lo = &lo, .hi = &hi, .reverse = s->u.scan.reverse}};
    ShapeCtx sc = {.diag = e->diag,
                   .arena = e->arena,
                   .syms = e->mod->syms,
                   .module = e->mod,
                   .generic = e->generic};
    scan = ir_value_new(e->arena, fn, OP_SCAN, sb.init, sb.ncarry, s->loc);
    scan->attr = at;
    IR_ATTR(scan, loop).lo = ARENA_NEW(e->arena, Dim);
    IR_ATTR(scan, loop).hi = ARENA_NEW(e->arena, Dim);
    *(Dim *)IR_ATTR(scan, loop).lo = lo;
    *(Dim *)IR_ATTR(scan, loop).hi = hi;
    scan->region = sb.region;
    if (shape_infer(&sc, scan))
      ir_block_append(e->arena, outer, scan);
    else
      scan = NULL;
  }
  bind_outputs(e, f, &sb, scan);
}
