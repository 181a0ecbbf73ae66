/* fuse.c - greedy producer-into-consumer fusion over one IrFunc.
 *
 * Values are visited from the last to the first. A value no kernel has
 * claimed starts a kernel; the kernel then looks at the earlier values, again
 * from the last to the first, and absorbs a producer when every use of it is
 * already inside the kernel, it is not read as a buffer (GEMM operand,
 * reshape source, labels) and re-evaluating it per element costs nothing
 * extra (its element count equals the kernel's, or it is a scalar). Visiting
 * in reverse order means every user of a candidate has been placed before
 * the candidate is looked at, so "all uses inside" is decided on final data.
 * A reduction along one axis whose every use is inside turns the kernel
 * into a row kernel (or adds a pass to one): what the kernel held so far
 * becomes its epilogue, reading the reduction's per-row result broadcast
 * back along the row (softmax's max -> sub -> exp -> sum -> div is one
 * kernel this way, and so is the cross-entropy gradient (softmax(z) -
 * one_hot(y)) * (dy / N)). Softmax and the like are expanded into such
 * reductions first (rows.h).
 */
#include "fuse.h"

#include "rows.h"

#include <stdlib.h>
#include <string.h>

const char *fuse_kernel_kind_name(KernelKind k) {
  switch (k) {
  case KK_ELEMWISE:
    return "elementwise";
  case KK_REDUCE:
    return "reduce";
  case KK_ROW:
    return "row";
  case KK_GEMM:
    return "gemm";
  case KK_ALIAS:
    return "alias";
  case KK_COPY:
    return "copy";
  case KK_GATHER:
    return "gather";
  case KK_CONV:
    return "conv";
  case KK_LOOP_BEGIN:
    return "loop";
  case KK_LOOP_END:
    return "end loop";
  }
  return "?";
}

/* Sources and generators: no kernel grows from them; generators, like
 * constants, are evaluated in place by every kernel that reads them. */
static bool is_source(const IrValue *v) {
  return op_info[v->op].cls == OPC_SOURCE || op_info[v->op].cls == OPC_GENERATE;
}

/* Ops a loop nest evaluates per element at an index derived from the
 * kernel's index (broadcasting, transposes and unit reshapes are index
 * maps). */
static bool is_elementwise(const IrValue *v) {
  switch (op_info[v->op].cls) {
  case OPC_UNARY:
  case OPC_BINARY:
  case OPC_COMPARE:
  case OPC_SELECT:
  case OPC_EXPAND:
  case OPC_ONEHOT:
    return true;
  case OPC_LAYOUT:
    return v->op == OP_TRANSPOSE || fuse_is_unit_reshape(v);
  case OPC_VIEW:
    return true;
  case OPC_SOURCE:
  case OPC_GENERATE:
  case OPC_MATMUL:
  case OPC_REDUCE:
  case OPC_ROWWISE:
  case OPC_LOSS:
  case OPC_ASSIGN:
  case OPC_GATHER:
  case OPC_CONV:
  case OPC_LOOP:
    return false;
  }
  return false;
}

/* Index operands (ops.def's OP_INDEX rows) are range-checked in memory
 * before the kernel; a gather reads whole rows at data-dependent places. */
bool fuse_reads_buffer(const IrValue *v, int i) {
  if (ir_index_bound(v, i, NULL))
    return true;
  switch (op_info[v->op].cls) {
  case OPC_MATMUL:
  case OPC_GATHER:
  case OPC_CONV:
  case OPC_LOOP: /* a loop copies its operands and results */
    return true;
  case OPC_VIEW: /* run-time positions are checked in memory before the kernel */
    return v->op != OP_CONCAT && i > 0;
  default:
    return v->op == OP_RESHAPE;
  }
}

const IrValue *fuse_index_reader(const FusedFunc *ff, const IrValue *x) {
  int64_t bound;
  if (!ff->src_of)
    return ir_index_reader(ff->f, x, &bound);
  const IrValue *sx = ff->src_of[x->id];
  const IrValue *r = sx ? ir_index_reader(ff->src, sx, &bound) : NULL;
  return r ? r : ir_index_reader(ff->f, x, &bound);
}

bool fuse_is_unit_reshape(const IrValue *v) {
  if (v->op != OP_RESHAPE)
    return false;
  const TType *x = &v->args[0]->type, *t = &v->type;
  int i = 0, j = 0;
  for (;; i++, j++) {
    while (i < x->rank && dim_is(x->dims[i], 1))
      i++;
    while (j < t->rank && dim_is(t->dims[j], 1))
      j++;
    if (i == x->rank || j == t->rank)
      return i == x->rank && j == t->rank;
    if (!dim_eq(x->dims[i], t->dims[j]))
      return false;
  }
}

bool fuse_is_matrix_transpose(const IrValue *v) {
  int r = v->type.rank;
  if (v->op != OP_TRANSPOSE || r < 2)
    return false;
  for (int i = 0; i < r - 2; i++)
    if (IR_ATTR(v, layout).perm[i] != i)
      return false;
  return IR_ATTR(v, layout).perm[r - 2] == r - 1 && IR_ATTR(v, layout).perm[r - 1] == r - 2;
}

static void kernel_add(Arena *a, FusedFunc *ff, Kernel *k, IrValue *v) {
  if (k->nvals == k->cap) {
    int cap = k->cap ? k->cap * 2 : 8;
    k->vals = arena_grow(a, k->vals, (size_t)k->nvals, (size_t)cap, sizeof *k->vals);
    k->cap = cap;
  }
  k->vals[k->nvals++] = v;
  ff->kernel_of[v->id] = k->index;
}

static KernelKind root_kind(const IrValue *v) {
  switch (op_info[v->op].cls) {
  case OPC_SOURCE: /* a constant that needs a buffer */
  case OPC_GENERATE:
  case OPC_UNARY:
  case OPC_BINARY:
  case OPC_COMPARE:
  case OPC_SELECT:
  case OPC_EXPAND:
  case OPC_ONEHOT:
  case OPC_VIEW:
    return KK_ELEMWISE;
  case OPC_MATMUL:
    return KK_GEMM;
  case OPC_REDUCE:
    return KK_REDUCE;
  case OPC_LAYOUT:
    return v->op == OP_RESHAPE ? KK_ALIAS : KK_ELEMWISE;
  case OPC_LOSS: /* mse; cross_entropy is expanded (rows.h) */
    return KK_REDUCE;
  case OPC_ROWWISE:
    break;         /* expanded (rows.h) */
  case OPC_ASSIGN: /* a loop writing the state's buffer (memplan.c) */
    return KK_ELEMWISE;
  case OPC_GATHER:
    return KK_GATHER;
  case OPC_CONV:
    return KK_CONV;
  case OPC_LOOP:
    if (v->op == OP_SCAN)
      return KK_LOOP_END;
    if (v->op == OP_SCAN_STEP)
      return KK_LOOP_BEGIN;
    break; /* carries and outputs belong to those two */
  }
  NNC_BUG("op %s has no kernel kind", op_info[v->op].name);
}

/* The shape a kernel's loop nest runs over. */
static const TType *domain(const Kernel *k) {
  switch (k->kind) {
  case KK_REDUCE:
  case KK_ROW:
    return &k->core->args[0]->type;
  case KK_ELEMWISE:
  case KK_GEMM:
  case KK_ALIAS:
  case KK_COPY:
  case KK_GATHER:
  case KK_CONV:
  case KK_LOOP_BEGIN:
  case KK_LOOP_END:
    return &k->out->type;
  }
  return &k->out->type;
}

static bool static_scalar(const TType *t) {
  for (int i = 0; i < t->rank; i++)
    if (!dim_is(t->dims[i], 1))
      return false;
  return true;
}

static bool same_numel(const TType *a, const TType *b) {
  Dim na, nb;
  return ttype_numel(a, &na, NULL) && ttype_numel(b, &nb, NULL) && dim_eq(na, nb);
}

/* ---- row kernels ---- */

/* A reduction along one axis that a row kernel can run as a pass: its
 * axis, or -1. */
static int row_reduction_axis(const IrValue *v) {
  bool ok = (v->op == OP_SUM || v->op == OP_MEAN || v->op == OP_MAX || v->op == OP_MIN) &&
            IR_ATTR(v, reduce).naxes == 1;
  return ok ? IR_ATTR(v, reduce).axes[0] : -1;
}

static int row_axis_of(const Kernel *k) { return IR_ATTR(k->core, reduce).axes[0]; }

/* Does t hold one element per row of dom (the row axis of extent 1, or
 * dropped)? */
static bool is_per_row(const TType *t, const TType *dom, int axis) {
  if (t->rank == dom->rank) {
    for (int i = 0; i < t->rank; i++)
      if (!dim_eq(t->dims[i], i == axis ? dim_const(1) : dom->dims[i]))
        return false;
    return true;
  }
  if (t->rank != dom->rank - 1)
    return false;
  for (int i = 0; i < t->rank; i++)
    if (!dim_eq(t->dims[i], dom->dims[i < axis ? i : i + 1]))
      return false;
  return true;
}

/* A row kernel evaluates every member at the element of the row being
 * walked (its shape is the domain's) or at the row (one element per row),
 * or it is a scalar; transposes would move the row. */
static bool fits_row_space(const IrValue *v, const TType *dom, int axis) {
  if (static_scalar(&v->type))
    return true;
  return v->op != OP_TRANSPOSE && (ttype_eq_dims(&v->type, dom) || is_per_row(&v->type, dom, axis));
}

/* A per-row value with the row axis dropped, read by a value along the row,
 * would broadcast against the wrong axes (NumPy aligns them on the right):
 * only values of its own kind may read it. */
static bool read_per_row(const FusedFunc *ff, const IrValue *p, const TType *dom) {
  if (p->type.rank == dom->rank || static_scalar(&p->type))
    return true;
  for (int u = 0; u < ff->nusers[p->id]; u++)
    if (ttype_eq_dims(&ff->by_id[ff->users[p->id][u]]->type, dom))
      return false;
  return true;
}

static bool members_fit_row_space(const FusedFunc *ff, const Kernel *k, const TType *dom,
                                  int axis) {
  for (int i = 0; i < k->nvals; i++) {
    const IrValue *v = k->vals[i];
    if (v == k->out && k->kind == KK_REDUCE)
      continue; /* a pass, or what combines the rows: absorb_pass checked it */
    if (!fits_row_space(v, dom, axis) || !read_per_row(ff, v, dom))
      return false;
    if (op_info[v->op].cls == OPC_REDUCE && v != k->out && !ttype_eq_dims(&v->args[0]->type, dom))
      return false;
  }
  return true;
}

/* Can reduction k->out take its operand from the per-row results of a row
 * kernel over dom (a mean of per-row losses)? */
static bool combines_rows(const Kernel *k, const TType *dom, int axis) {
  const IrValue *r = k->out;
  return (r->op == OP_SUM || r->op == OP_MEAN || r->op == OP_MAX || r->op == OP_MIN) &&
         IR_ATTR(r, reduce).all_axes && is_per_row(&r->args[0]->type, dom, axis);
}

/* Is p, one element per row of dom, computed (through elementwise ops of
 * its own size) from a reduction along the rows of dom? Then an
 * elementwise kernel over dom takes p in, expecting to become a row kernel
 * when that reduction's turn comes (the reverse walk meets the consumers
 * of a pass before the pass: log(sum(...)) before the sum). */
static bool from_row_pass(const IrValue *p, const TType *dom, int depth) {
  if (depth > 8 || static_scalar(&p->type))
    return false;
  int axis = row_reduction_axis(p);
  if (axis >= 0)
    return ttype_eq_dims(&p->args[0]->type, dom) && is_per_row(&p->type, dom, axis);
  if (!is_elementwise(p) || p->op == OP_TRANSPOSE || op_info[p->op].cls == OPC_VIEW)
    return false;
  for (int i = 0; i < p->nargs; i++)
    if (from_row_pass(p->args[i], dom, depth + 1))
      return true;
  return false;
}

/* Makes kernel k a row kernel with reduction p (along its operand's axis)
 * as a pass, if what k holds can run in that row space. */
static bool absorb_pass(const FusedFunc *ff, Kernel *k, IrValue *p) {
  /* a state write's kernel stores every output along the state's own shape
     (cg_elementwise_body), with no row loop: its reductions run before it */
  if (k->out->op == OP_ASSIGN)
    return false;
  int axis = row_reduction_axis(p);
  const TType *dom = &p->args[0]->type;
  if (axis < 0 || !read_per_row(ff, p, dom))
    return false;
  switch (k->kind) {
  case KK_ROW:
    return row_axis_of(k) == axis && ttype_eq_dims(domain(k), dom);
  case KK_ELEMWISE:
    break;
  case KK_REDUCE: /* k->out another pass (a variance after its mean), or the rows combined */
    if (!(row_reduction_axis(k->out) == axis && ttype_eq_dims(domain(k), dom)) &&
        !combines_rows(k, dom, axis))
      return false;
    break;
  default:
    return false;
  }
  if (!members_fit_row_space(ff, k, dom, axis))
    return false;
  k->kind = KK_ROW;
  k->core = p;
  return true;
}

static bool fits(const FusedFunc *ff, const Kernel *k, const IrValue *p) {
  const TType *dom = domain(k);
  switch (k->kind) {
  case KK_ELEMWISE:
    return static_scalar(&p->type) || same_numel(&p->type, dom) ||
           (from_row_pass(p, dom, 0) && read_per_row(ff, p, dom));
  case KK_REDUCE:
    return static_scalar(&p->type) || same_numel(&p->type, dom);
  case KK_ROW:
    return fits_row_space(p, dom, row_axis_of(k)) && read_per_row(ff, p, dom);
  case KK_GEMM:
  case KK_ALIAS:
  case KK_COPY:
  case KK_GATHER:
  case KK_CONV:
  case KK_LOOP_BEGIN:
  case KK_LOOP_END:
    return false;
  }
  return false;
}

/* Every use of p is inside k and none reads p from memory. */
static bool uses_all_inside(const FusedFunc *ff, const Kernel *k, const IrValue *p) {
  if (ff->nusers[p->id] == 0 || ff->result_index[p->id] >= 0)
    return false;
  for (int u = 0; u < ff->nusers[p->id]; u++) {
    const IrValue *user = ff->by_id[ff->users[p->id][u]];
    if (ff->kernel_of[user->id] != k->index)
      return false;
    for (int i = 0; i < user->nargs; i++) /* a unit reshape inside reads it per element */
      if (user->args[i] == p && fuse_reads_buffer(user, i) && !fuse_is_unit_reshape(user))
        return false;
  }
  return true;
}

/* Is x a state that some ASSIGN of the function writes? */
static bool is_assigned(const FusedFunc *ff, const IrValue *x) {
  if (x->op != OP_PARAM)
    return false;
  for (int u = 0; u < ff->nusers[x->id]; u++) {
    const IrValue *user = ff->by_id[ff->users[x->id][u]];
    if (user->op == OP_ASSIGN && user->args[0] == x)
      return true;
  }
  return false;
}

/* Does kernel k write state x (through its out or a further output)? */
static bool kernel_writes(const Kernel *k, const IrValue *x) {
  if (k->out->op == OP_ASSIGN && k->out->args[0] == x)
    return true;
  for (int i = 0; i < k->nextra_out; i++)
    if (k->extra_out[i]->args[0] == x)
      return true;
  return false;
}

/* Is p, about to join state-write kernel k, evaluated at the element k
 * writes? Its users are all in k already (grow visits users first); each
 * must be a write or an aligned elementwise op, and p of the domain's shape. */
static bool at_written_element(const FusedFunc *ff, const Kernel *k, const IrValue *p) {
  if (!ttype_eq_dims(&p->type, domain(k)))
    return false;
  for (int u = 0; u < ff->nusers[p->id]; u++) {
    const IrValue *user = ff->by_id[ff->users[p->id][u]];
    if (user->op != OP_ASSIGN && !ff->aligned[user->id])
      return false;
  }
  return true;
}

/* Ops that read their operands of their own shape at their own index. */
static bool keeps_index(const IrValue *v) {
  switch (op_info[v->op].cls) {
  case OPC_UNARY:
  case OPC_BINARY:
  case OPC_COMPARE:
  case OPC_SELECT:
    return true;
  default:
    return false;
  }
}

/* A state write runs in place, after every other kernel (order_kernels), so
 * what it computes in its own loop may read the states it writes only at
 * the element it writes (it loads everything at an element before storing
 * there; a slice of the state shifted by one would read an element already
 * overwritten), and no state another write changes first: no reads of
 * assigned states other than its own. The rest is computed earlier, into
 * buffers, where it sees the old values. */
static bool fits_assign(const FusedFunc *ff, const Kernel *k, const IrValue *p) {
  if (k->out->op != OP_ASSIGN)
    return true;
  for (int i = 0; i < p->nargs; i++) {
    if (kernel_writes(k, p->args[i])) {
      if (!keeps_index(p) || !at_written_element(ff, k, p))
        return false;
    } else if (is_assigned(ff, p->args[i])) {
      return false;
    }
  }
  return true;
}

/* A producer of another size still costs nothing extra when only views
 * read it and each view runs once per point of the kernel: a slice, a pad
 * or a concat reads every element of its operand at most once, so the
 * producer is evaluated where it is read instead of being stored (exp(x)
 * sliced computes only the slice). */
static bool read_once_through_views(const FusedFunc *ff, const Kernel *k, const IrValue *p) {
  if (k->kind != KK_ELEMWISE && k->kind != KK_REDUCE)
    return false;
  for (int u = 0; u < ff->nusers[p->id]; u++) {
    const IrValue *user = ff->by_id[ff->users[p->id][u]];
    if (op_info[user->op].cls != OPC_VIEW) {
      /* an elementwise chain of p's own shape before the view: exp(x * 2)[1:3] */
      if (!is_elementwise(user) || user->op == OP_TRANSPOSE ||
          !ttype_eq_dims(&user->type, &p->type) || !read_once_through_views(ff, k, user))
        return false;
      continue;
    }
    if (!same_numel(&user->type, domain(k)))
      return false;
    if (user->op == OP_UNFOLD &&
        IR_ATTR(user, view)->step[IR_ATTR(user, view)->axis] < IR_ATTR(user, view)->window)
      return false; /* overlapping windows read an element several times */
    for (int i = 1; user->op != OP_CONCAT && i < user->nargs; i++)
      if (user->args[i] == p)
        return false; /* a run-time position, read from memory */
  }
  return true;
}

/* A kernel reads through at most one view with run-time positions: two on
 * one axis would not compose into one offset (cg_internal.h). */
static bool second_runtime_view(const Kernel *k, const IrValue *p) {
  if (!ir_view_has_runtime(p))
    return false;
  for (int i = 0; i < k->nvals; i++)
    if (ir_view_has_runtime(k->vals[i]))
      return true;
  return false;
}

static void grow(Arena *a, FusedFunc *ff, Kernel *k, const IrBlock *body, int rootpos) {
  for (int j = rootpos - 1; j >= 0; j--) {
    IrValue *p = body->vals[j];
    if (ff->kernel_of[p->id] >= 0 || is_source(p) || ff->folded[p->id] || p == ff->f->guard ||
        !uses_all_inside(ff, k, p) || !fits_assign(ff, k, p))
      continue;
    if (op_info[p->op].cls == OPC_REDUCE) {
      if (absorb_pass(ff, k, p))
        kernel_add(a, ff, k, p);
    } else if (is_elementwise(p) && (fits(ff, k, p) || read_once_through_views(ff, k, p)) &&
               !second_runtime_view(k, p)) {
      kernel_add(a, ff, k, p);
      ff->aligned[p->id] =
          k->out->op == OP_ASSIGN && keeps_index(p) && at_written_element(ff, k, p);
    }
  }
}

/* A constant or a generator needs a kernel (and a buffer) only when
 * something reads it from memory. */
static bool const_needs_buffer(const FusedFunc *ff, const IrValue *c) {
  for (int u = 0; u < ff->nusers[c->id]; u++) {
    const IrValue *user = ff->by_id[ff->users[c->id][u]];
    if (ff->folded[user->id])
      return true;
    for (int i = 0; i < user->nargs; i++)
      if (user->args[i] == c && fuse_reads_buffer(user, i))
        return true;
  }
  return false;
}

/* Values that no result or state write depends on get no kernel (let bindings
 * left unused, rules that build more than they need, gradients of
 * parameters a training step does not update). */
static void mark_live(FusedFunc *ff, const IrFunc *f) { ir_func_liveness(f, ff->live, false); }

typedef struct UseCount {
  FusedFunc *ff;
  int *fill; /* NULL: counting; else filling users[] */
} UseCount;

static void add_use(UseCount *uc, const IrValue *user, const IrValue *used) {
  FusedFunc *ff = uc->ff;
  int id = used->id;
  if (!uc->fill) {
    ff->nusers[id]++;
    return;
  }
  for (int u = 0; u < uc->fill[id]; u++) /* x * x: one user entry */
    if (ff->users[id][u] == user->id)
      return;
  ff->users[id][uc->fill[id]++] = user->id;
}

/* A loop reads its operands, and what its region yields each step. */
static void count_uses(IrValue *v, void *ctx) {
  UseCount *uc = ctx;
  uc->ff->by_id[v->id] = v;
  if (!uc->ff->live[v->id])
    return;
  for (int k = 0; k < v->nargs; k++)
    add_use(uc, v, v->args[k]);
  for (int k = 0; v->region && k < v->region->nresults; k++)
    add_use(uc, v, v->region->results[k]);
}

/* A matrix transpose, not a result, whose every use is a matmul operand. */
static bool transpose_for_gemms(const FusedFunc *ff, const IrValue *v) {
  if (!fuse_is_matrix_transpose(v) || ff->result_index[v->id] >= 0 || ff->nusers[v->id] == 0)
    return false;
  for (int u = 0; u < ff->nusers[v->id]; u++)
    if (ff->by_id[ff->users[v->id][u]]->op != OP_MATMUL)
      return false;
  return true;
}

/* A transpose of a matrix from outside a loop, read by the step's
 * products (h @ transpose(W_hh) in a recurrent cell), is the same at every
 * step. Folded into the GEMM, each step would read W across its rows,
 * which the runtime's kernels for products of few rows do at a fraction of
 * the speed they read rows; made once before the loop instead, it costs
 * one pass over W per call. */
static bool hoisted_transpose(const FusedFunc *ff, const IrValue *v) {
  const IrBlock *r = v->parent;
  return r != ff->f->body && transpose_for_gemms(ff, v) && v->args[0]->parent != r;
}

static void number_value(FusedFunc *ff, const IrValue *v) {
  ff->pos[v->id] = ff->nkernels++; /* nkernels counts positions until kernels are made */
}

/* Program order (ir_block_walk's), except that a loop's hoisted values
 * come before its step: their kernels, ordered by position, run before
 * the loop begins, and the memory plan keeps their buffers through it. */
static void number_positions(FusedFunc *ff, const IrBlock *b) {
  for (int i = 0; i < b->n; i++) {
    const IrValue *v = b->vals[i];
    const IrBlock *r = v->region;
    if (r) {
      for (int j = 0; j < r->n; j++)
        if (ff->hoisted[r->vals[j]->id])
          number_value(ff, r->vals[j]);
      for (int p = 0; p < r->nparams; p++)
        number_value(ff, r->params[p]);
      number_positions(ff, r);
    }
    if (!ff->hoisted[v->id])
      number_value(ff, v);
  }
}

static void mark_hoisted_value(IrValue *v, void *ctx) {
  FusedFunc *ff = ctx;
  ff->hoisted[v->id] = ff->live[v->id] && hoisted_transpose(ff, v);
}

/* users[id]: the live values using value id, each once. */
static void index_uses(Arena *a, FusedFunc *ff, const IrFunc *f, bool hoist) {
  const IrBlock *b = f->body;
  int n = ff->nids;
  ff->by_id = ARENA_ARRAY(a, IrValue *, (size_t)n + 1);
  ff->nusers = ARENA_ARRAY(a, int, (size_t)n + 1);
  ff->users = ARENA_ARRAY(a, int *, (size_t)n + 1);
  ff->live = ARENA_ARRAY(a, bool, (size_t)n + 1);
  mark_live(ff, f);
  UseCount uc = {.ff = ff};
  ir_block_walk(b, count_uses, &uc);
  uc.fill = ARENA_ARRAY(a, int, (size_t)n + 1);
  for (int i = 0; i < n; i++)
    ff->users[i] = ARENA_ARRAY(a, int, (size_t)ff->nusers[i] + 1);
  ir_block_walk(b, count_uses, &uc);
  for (int i = 0; i < n; i++)
    ff->nusers[i] = uc.fill[i];
  ff->hoisted = ARENA_ARRAY(a, bool, (size_t)n + 1);
  if (hoist)
    ir_block_walk(b, mark_hoisted_value, ff);
  ff->pos = ARENA_ARRAY(a, int, (size_t)n + 1);
  number_positions(ff, b);
  ff->nkernels = 0;
}

/* Transposes whose every use is a matmul operand are read by the GEMM
 * through their operand with a trans flag, never materialised. */
static void mark_folded_value(IrValue *v, void *ctx) {
  FusedFunc *ff = ctx;
  ff->folded[v->id] = !ff->hoisted[v->id] && transpose_for_gemms(ff, v);
}

static void mark_folded(FusedFunc *ff, const IrBlock *b) {
  ir_block_walk(b, mark_folded_value, ff);
}

static Kernel *new_kernel(Arena *a, FusedFunc *ff, IrValue *root, int *cap) {
  if (ff->nkernels == *cap) {
    int c = *cap ? *cap * 2 : 16;
    ff->kernels = arena_grow(a, ff->kernels, (size_t)ff->nkernels, (size_t)c, sizeof(Kernel *));
    *cap = c;
  }
  Kernel *k = ARENA_NEW(a, Kernel);
  k->index = ff->nkernels;
  k->kind = root_kind(root);
  k->out = root;
  k->result = -1;
  if (k->kind != KK_ELEMWISE && k->kind != KK_ALIAS)
    k->core = root;
  ff->kernels[ff->nkernels++] = k;
  kernel_add(a, ff, k, root);
  return k;
}

/* Program order, except that state writes come last: after every read of
 * the old values and after the optimizer's updates. */
/* qsort has no context argument; the order being sorted by. */
static const int *sort_pos;

static int by_out_position(const void *x, const void *y) {
  const Kernel *a = *(Kernel *const *)x, *b = *(Kernel *const *)y;
  bool wa = a->out->op == OP_ASSIGN, wb = b->out->op == OP_ASSIGN;
  if (wa != wb)
    return wa - wb;
  int pa = sort_pos[a->out->id], pb = sort_pos[b->out->id];
  return (pa > pb) - (pa < pb);
}

/* Sorting members and kernels by program position restores program order
 * after the reverse walk. */
static int by_position(const void *x, const void *y) {
  const IrValue *a = *(IrValue *const *)x, *b = *(IrValue *const *)y;
  int pa = sort_pos[a->id], pb = sort_pos[b->id];
  return (pa > pb) - (pa < pb);
}

static void order_kernels(Arena *a, FusedFunc *ff) {
  ff->loop_begin = ARENA_ARRAY(a, int, (size_t)ff->nkernels + 1);
  if (ff->nkernels == 0)
    return; /* kernels is NULL, which qsort does not accept */
  sort_pos = ff->pos;
  qsort(ff->kernels, (size_t)ff->nkernels, sizeof(Kernel *), by_out_position);
  for (int i = 0; i < ff->nkernels; i++) {
    Kernel *k = ff->kernels[i];
    k->index = i;
    qsort(k->vals, (size_t)k->nvals, sizeof(IrValue *), by_position);
    if (k->nextra_out > 0)
      qsort(k->extra_out, (size_t)k->nextra_out, sizeof(IrValue *), by_position);
    for (int j = 0; j < k->nvals; j++)
      ff->kernel_of[k->vals[j]->id] = i;
  }
  sort_pos = NULL;
  for (int i = 0; i < ff->nkernels; i++) {
    const Kernel *k = ff->kernels[i];
    ff->loop_begin[i] = -1;
    if (k->kind == KK_LOOP_END)
      ff->loop_begin[i] = ff->kernel_of[k->out->region->params[0]->id];
  }
}

const Kernel *fuse_loop_begin(const FusedFunc *ff, const IrValue *scan) {
  const Kernel *end = ff->kernels[ff->kernel_of[scan->id]];
  return ff->kernels[ff->loop_begin[end->index]];
}

static bool block_within(const IrBlock *b, const IrBlock *region) {
  for (; b; b = b->parent)
    if (b == region)
      return true;
  return false;
}

/* Kernel k's fixed_b_loop (fuse.h); the loops' end kernels hold their
 * scans. */
static const IrValue *fixed_b_loop(const FusedFunc *ff, const Kernel *k) {
  const IrValue *mm = k->core, *b = mm->args[1];
  const IrValue *stored = ff->folded[b->id] ? b->args[0] : b;
  if (mm->type.dtype != DT_F32 || mm->args[0]->type.rank != 2 || b->type.rank != 2 ||
      !ttype_is_constant(&b->type) || mm->parent == ff->f->body)
    return NULL;
  if (block_within(stored->parent, mm->parent) && !ff->hoisted[stored->id])
    return NULL; /* computed in the step */
  for (int i = 0; i < ff->nkernels; i++)
    if (ff->kernels[i]->kind == KK_LOOP_END && ff->kernels[i]->core->region == mm->parent)
      return ff->kernels[i]->core;
  return NULL;
}

/* A result written by a kernel goes straight to its output buffer; any
 * other result (a source, a view, a repeated value) is copied there. */
static bool needs_copy(const FusedFunc *ff, const IrFunc *f, int r) {
  const IrValue *v = f->results[r];
  if (ff->result_index[v->id] != r || is_source(v))
    return true;
  return ff->kernels[ff->kernel_of[v->id]]->kind == KK_ALIAS && !fuse_view_source(ff, v);
}

const IrValue *fuse_view_source(const FusedFunc *ff, const IrValue *view) {
  const IrValue *x = view->args[0];
  if (view->op != OP_RESHAPE || ff->result_index[view->id] < 0 || ff->nusers[x->id] != 1 ||
      ff->result_index[x->id] >= 0 || ff->kernel_of[x->id] < 0)
    return NULL;
  const Kernel *k = ff->kernels[ff->kernel_of[x->id]];
  return k->out == x && k->kind != KK_ALIAS && k->kind != KK_COPY ? x : NULL;
}

static void add_copies(Arena *a, FusedFunc *ff, const IrFunc *f, int *cap) {
  for (int r = 0; r < f->nresults; r++) {
    if (!needs_copy(ff, f, r))
      continue;
    int before = ff->kernel_of[f->results[r]->id];
    Kernel *k = new_kernel(a, ff, f->results[r], cap);
    ff->kernel_of[f->results[r]->id] = before; /* the copy only reads it */
    k->kind = KK_COPY;
    k->core = NULL;
    k->result = r;
  }
}

static Combine combine_of(OpKind op) {
  switch (op) {
  case OP_MAX:
  case OP_ARGMAX:
    return COMBINE_MAX;
  case OP_MIN:
  case OP_ARGMIN:
    return COMBINE_MIN;
  default:
    return COMBINE_ADD;
  }
}

static bool is_one(Dim d) { return dim_is(d, 1); }

/* The outermost axis of extent other than 1 that is neither reduced nor
 * the row axis: threads take slices of its loop. A reduction is split only
 * when it reduces something; a row kernel that combines its rows into one
 * value (a cross-entropy's mean) is never split. */
static int split_axis(const Kernel *k) {
  const KernelPlan *p = &k->plan;
  if (fuse_is_call(k))
    return -1;
  if (k->kind == KK_ROW && p->combine != COMBINE_NONE)
    return -1;
  if (k->kind == KK_REDUCE) {
    bool reduces = false;
    for (int a = 0; a < p->domain->rank; a++)
      reduces |= p->reduced[a] && !is_one(p->domain->dims[a]);
    if (!reduces)
      return -1;
  }
  for (int a = 0; a < p->domain->rank; a++) {
    if (is_one(p->domain->dims[a]) || a == p->row_axis)
      continue;
    return p->reduced[a] ? -1 : a;
  }
  return -1;
}

static int member_index(const Kernel *k, const IrValue *v) {
  for (int i = 0; i < k->nvals; i++)
    if (k->vals[i] == v)
      return i;
  return -1;
}

/* The passes of a row kernel, in program order, each in the first walk
 * over the row after those of the passes it reads. after[i]: the walk
 * after which member i can be evaluated (0: it reads no pass). */
static void plan_passes(Arena *a, Kernel *k) {
  KernelPlan *p = &k->plan;
  p->passes = ARENA_ARRAY(a, RowPass, (size_t)k->nvals);
  int *after = ARENA_ARRAY(a, int, (size_t)k->nvals);
  for (int i = 0; i < k->nvals; i++) { /* members in definition order */
    const IrValue *v = k->vals[i];
    for (int x = 0; x < v->nargs; x++) {
      int j = member_index(k, v->args[x]);
      if (j >= 0 && after[j] > after[i])
        after[i] = after[j];
    }
    if (op_info[v->op].cls != OPC_REDUCE || !ttype_eq_dims(&v->args[0]->type, p->domain))
      continue;
    p->passes[p->npasses++] = (RowPass){
        .v = v, .combine = combine_of(v->op), .divide = v->op == OP_MEAN, .walk = after[i]};
    after[i]++; /* its value is there after its walk */
  }
}

/* A row kernel's passes are its reductions along the row, in program
 * order; its out is one of them, a value along the row, a value per row, or
 * the per-row values of its operand combined over every row. */
static void plan_row(Arena *a, Kernel *k) {
  KernelPlan *p = &k->plan;
  p->row_axis = row_axis_of(k);
  plan_passes(a, k);
  const IrValue *out = k->out;
  p->per_row = !ttype_eq_dims(&out->type, p->domain) ||
               (op_info[out->op].cls == OPC_REDUCE && p->passes[p->npasses - 1].v == out);
  if (op_info[out->op].cls == OPC_REDUCE && p->passes[p->npasses - 1].v != out) {
    p->combine = combine_of(out->op);
    p->divide = out->op == OP_MEAN;
    for (int i = 0; i < p->domain->rank; i++)
      p->reduced[i] = i != p->row_axis;
  }
}

static void plan_kernel(Arena *a, Kernel *k) {
  KernelPlan *p = &k->plan;
  if (k->kind == KK_LOOP_BEGIN || k->kind == KK_LOOP_END) {
    p->row_axis = p->split_axis = -1;
    return;
  }
  p->domain = domain(k);
  p->row_axis = -1;
  const IrValue *c = k->core;
  switch (k->kind) {
  case KK_REDUCE:
    p->combine = combine_of(c->op);
    p->arg = c->op == OP_ARGMAX || c->op == OP_ARGMIN;
    p->divide = c->op == OP_MEAN || c->op == OP_MSE;
    for (int a = 0; a < p->domain->rank; a++)
      p->reduced[a] = c->op == OP_MSE;
    for (int i = 0; c->op != OP_MSE && i < IR_ATTR(c, reduce).naxes; i++)
      p->reduced[IR_ATTR(c, reduce).axes[i]] = true;
    break;
  case KK_ROW:
    plan_row(a, k);
    break;
  default:
    break;
  }
  p->split_axis = split_axis(k);
}

/* ---------------------------------------------------- grouped state writes
 * State writes over one shape that share computed values (a parameter and
 * its optimizer state) become one kernel with several outputs. Each write
 * walks back through what its kernel could compute in its loop (elementwise
 * ops, no transposes, not the guard, which stays in a buffer of its own);
 * two writes meeting at a value join one group (union-find over write ids). */

static int group_root(int *parent, int id) {
  while (parent[id] != id)
    id = parent[id] = parent[parent[id]];
  return id;
}

static bool shareable(const FusedFunc *ff, const IrValue *v) {
  return !is_source(v) && is_elementwise(v) && v->op != OP_TRANSPOSE && v != ff->f->guard;
}

/* Marks the values write w can reach; joins w's group with the group of
 * any other write of the same shape that reached one first. */
static void reach_from_write(const FusedFunc *ff, const IrValue *w, int *owner, int *seen,
                             int *parent, const IrValue **stack) {
  int n = 0;
  if (shareable(ff, w->args[1]))
    stack[n++] = w->args[1];
  while (n > 0) {
    const IrValue *v = stack[--n];
    if (seen[v->id] == w->id)
      continue;
    seen[v->id] = w->id;
    int o = owner[v->id];
    if (o < 0)
      owner[v->id] = w->id;
    else if (ttype_eq_dims(&ff->by_id[o]->type, &w->type))
      parent[group_root(parent, o)] = group_root(parent, w->id);
    for (int i = 0; i < v->nargs; i++)
      if (shareable(ff, v->args[i]) && seen[v->args[i]->id] != w->id)
        stack[n++] = v->args[i];
  }
}

/* parent[id]: the union-find link of each live write (value id). */
static int *group_writes(Arena *a, const FusedFunc *ff) {
  const IrBlock *b = ff->f->body;
  int n = ff->nids;
  int *parent = ARENA_ARRAY(a, int, (size_t)n + 1);
  int *owner = malloc(sizeof(int) * ((size_t)n + 1));
  int *seen = malloc(sizeof(int) * ((size_t)n + 1));
  size_t edges = 1; /* each value is pushed at most once per use */
  for (int i = 0; i < b->n; i++)
    edges += (size_t)b->vals[i]->nargs;
  const IrValue **stack = malloc(sizeof(IrValue *) * edges);
  if (!owner || !seen || !stack)
    arena_fatal("out of memory");
  for (int i = 0; i < n; i++)
    parent[i] = owner[i] = seen[i] = -1;
  for (int i = 0; i < b->n; i++) {
    const IrValue *w = b->vals[i];
    if (w->op == OP_ASSIGN && ff->live[w->id]) {
      parent[w->id] = w->id;
      reach_from_write(ff, w, owner, seen, parent, stack);
    }
  }
  free(owner);
  free(seen);
  free(stack);
  return parent;
}

/* The kernel of write `root` (the last of its group) also stores the
 * earlier writes of the group. */
static void add_grouped_writes(Arena *a, FusedFunc *ff, Kernel *k, const IrBlock *b, int rootpos,
                               int *parent) {
  int g = group_root(parent, k->out->id);
  for (int j = rootpos - 1; j >= 0; j--) {
    IrValue *w = b->vals[j];
    if (w->op != OP_ASSIGN || parent[w->id] < 0 || ff->kernel_of[w->id] >= 0 ||
        group_root(parent, w->id) != g)
      continue;
    k->extra_out = arena_grow(a, k->extra_out, (size_t)k->nextra_out, (size_t)k->nextra_out + 1,
                              sizeof *k->extra_out);
    k->extra_out[k->nextra_out++] = w;
    kernel_add(a, ff, k, w);
  }
}

static void fuse_block(Arena *a, FusedFunc *ff, const IrBlock *b, bool fuse, int *write_group,
                       int *cap);

/* A scan is two kernels around its region's: the loop's end (the scan and
 * its live outputs) and its begin (the step and the carries). */
static void fuse_loop(Arena *a, FusedFunc *ff, IrValue *scan, bool fuse, int *cap) {
  Kernel *end = new_kernel(a, ff, scan, cap);
  for (int u = 0; u < ff->nusers[scan->id]; u++) {
    IrValue *out = ff->by_id[ff->users[scan->id][u]];
    if (out->op != OP_SCAN_OUT)
      continue;
    kernel_add(a, ff, end, out);
    end->extra_out = arena_grow(a, end->extra_out, (size_t)end->nextra_out,
                                (size_t)end->nextra_out + 1, sizeof *end->extra_out);
    end->extra_out[end->nextra_out++] = out;
  }
  fuse_block(a, ff, scan->region, fuse, NULL, cap);
  Kernel *begin = new_kernel(a, ff, scan->region->params[0], cap);
  begin->core = scan;
  for (int i = 1; i < scan->region->nparams; i++)
    kernel_add(a, ff, begin, scan->region->params[i]);
}

static void fuse_block(Arena *a, FusedFunc *ff, const IrBlock *b, bool fuse, int *write_group,
                       int *cap) {
  for (int i = b->n - 1; i >= 0; i--) {
    IrValue *v = b->vals[i];
    if (ff->kernel_of[v->id] >= 0 || ff->folded[v->id] || !ff->live[v->id] || v->op == OP_SCAN_OUT)
      continue;
    if (v->op == OP_SCAN) {
      fuse_loop(a, ff, v, fuse, cap);
      continue;
    }
    if (is_source(v) && !(ir_in_place(v) && const_needs_buffer(ff, v)))
      continue;
    Kernel *k = new_kernel(a, ff, v, cap);
    if (write_group && v->op == OP_ASSIGN)
      add_grouped_writes(a, ff, k, b, i, write_group);
    if (fuse && !fuse_is_call(k) && !is_source(v))
      grow(a, ff, k, b, i);
  }
}

FusedFunc *fuse_func(Arena *a, const IrFunc *src, bool fuse) {
  FusedFunc *ff = ARENA_NEW(a, FusedFunc);
  ff->src = src;
  const IrFunc *f = ff->f = rows_lower(a, src, &ff->src_of);
  ff->nids = f->next_id;
  ff->kernel_of = ARENA_ARRAY(a, int, (size_t)ff->nids + 1);
  ff->folded = ARENA_ARRAY(a, bool, (size_t)ff->nids + 1);
  ff->aligned = ARENA_ARRAY(a, bool, (size_t)ff->nids + 1);
  ff->result_index = ARENA_ARRAY(a, int, (size_t)ff->nids + 1);
  for (int i = 0; i < ff->nids; i++)
    ff->kernel_of[i] = ff->result_index[i] = -1;
  for (int r = f->nresults - 1; r >= 0; r--)
    ff->result_index[f->results[r]->id] = r;
  index_uses(a, ff, f, fuse);
  if (fuse)
    mark_folded(ff, f->body);
  int cap = 0;
  int *write_group = fuse ? group_writes(a, ff) : NULL;
  fuse_block(a, ff, f->body, fuse, write_group, &cap);
  order_kernels(a, ff);
  add_copies(a, ff, f, &cap);
  for (int i = 0; i < ff->nkernels; i++) {
    plan_kernel(a, ff->kernels[i]);
    if (ff->kernels[i]->kind == KK_GEMM)
      ff->kernels[i]->fixed_b_loop = fixed_b_loop(ff, ff->kernels[i]);
  }
  return ff;
}

static const char *combine_name(Combine c) {
  static const char *names[] = {"none", "add", "max", "min"};
  return names[c];
}

/* "; row 1: %2 max, %5 add, then along the row": a row kernel's passes
 * (each a member reduction and its combine) and where its out is computed. */
static void print_row(FILE *out, const KernelPlan *p) {
  fprintf(out, "; row %d:", p->row_axis);
  for (int w = 0, done = 0; done < p->npasses; w++) {
    const char *sep = " walk";
    for (int i = 0; i < p->npasses; i++) {
      if (p->passes[i].walk != w)
        continue;
      fprintf(out, "%s %%%d %s%s", sep, p->passes[i].v->id, combine_name(p->passes[i].combine),
              p->passes[i].divide ? " / count" : "");
      sep = ",";
      done++;
    }
    fputc(';', out);
  }
  fprintf(out, p->per_row ? " then per row" : " then along the row");
}

/* " {stride 2x2; pad 1x1 (+0x0); dilation 1x1; groups 1}": the geometry the
 * runtime's convolution gets (padding after in parentheses). */
static void print_conv(FILE *out, const IrValue *v) {
  const IrConvAttrs *ca = IR_ATTR(v, conv);
  const char *names[4] = {"stride", "pad", "dilation", NULL};
  const int64_t *vals[4] = {ca->stride, ca->pad_lo, ca->dilation, ca->pad_hi};
  const char *sep = " {";
  for (int f = 0; names[f]; f++) {
    fprintf(out, "%s%s ", sep, names[f]);
    for (int i = 0; i < ca->nsp; i++)
      fprintf(out, "%s%lld", i ? "x" : "", (long long)vals[f][i]);
    if (f == 1 && v->op == OP_CONV) {
      fputs(" (+", out);
      for (int i = 0; i < ca->nsp; i++)
        fprintf(out, "%s%lld", i ? "x" : "", (long long)vals[3][i]);
      fputc(')', out);
    }
    sep = "; ";
  }
  fprintf(out, "; groups %lld}", (long long)ca->groups);
}

/* " {over f32[B, 3, 4]; reduce 1 by max; split 0}": the plan codegen reads.
 * A row kernel that combines its rows: " {over f32[B, 5]; row 1: ...;
 * reduce 0 by add / count}". */
static void print_plan(FILE *out, Arena *a, const IrModule *m, const Kernel *k) {
  const KernelPlan *p = &k->plan;
  if (k->kind == KK_GEMM || k->kind == KK_ALIAS || k->kind == KK_LOOP_BEGIN ||
      k->kind == KK_LOOP_END)
    return;
  if (k->kind == KK_CONV) {
    print_conv(out, k->core);
    return;
  }
  fprintf(out, " {over %s", ttype_str(a, m->syms, p->domain));
  if (p->row_axis >= 0)
    print_row(out, p);
  const char *sep = "; reduce";
  for (int i = 0; i < p->domain->rank; i++)
    if (p->reduced[i]) {
      fprintf(out, "%s %d", sep, i);
      sep = ",";
    }
  if (p->combine != COMBINE_NONE)
    fprintf(out, " by %s%s%s", p->arg ? "arg" : "", combine_name(p->combine),
            p->divide ? " / count" : "");
  if (p->split_axis >= 0)
    fprintf(out, "; split %d", p->split_axis);
  fputc('}', out);
}

/* Is operand x of member v the kernel's first read of that value? */
static bool first_use(const Kernel *k, const IrValue *v, int x) {
  const IrValue *g = v->args[x];
  for (int j = 0; j < k->nvals && k->vals[j] != v; j++)
    for (int i = 0; i < k->vals[j]->nargs; i++)
      if (k->vals[j]->args[i] == g)
        return false;
  for (int i = 0; i < x; i++)
    if (v->args[i] == g)
      return false;
  return true;
}

static void print_member(FILE *out, const IrValue *v, bool *first) {
  fprintf(out, "%s%%%d %s", *first ? " " : ", ", v->id, op_info[v->op].name);
  *first = false;
}

void fuse_print(FILE *out, const IrModule *m, const FusedFunc *ff) {
  Arena a;
  arena_init(&a);
  fprintf(out, "fused %s: %d kernels\n", ff->f->name, ff->nkernels);
  for (int i = 0; i < ff->nkernels; i++) {
    const Kernel *k = ff->kernels[i];
    fprintf(out, "kernel %d %s %s:", i, fuse_kernel_kind_name(k->kind),
            ttype_str(&a, m->syms, &k->out->type));
    bool first = true;
    if (k->kind == KK_COPY) {
      print_member(out, k->out, &first);
      fprintf(out, " -> result %d", k->result);
      print_plan(out, &a, m, k);
      fputc('\n', out);
      continue;
    }
    for (int j = 0; j < k->nvals; j++) {
      const IrValue *v = k->vals[j];
      for (int x = 0; x < v->nargs && k->kind == KK_GEMM; x++)
        if (ff->folded[v->args[x]->id]) {
          print_member(out, v->args[x], &first);
          fputs(" (folded)", out);
        }
      /* generators are recomputed in every kernel reading them */
      for (int x = 0; x < v->nargs; x++)
        if (op_info[v->args[x]->op].cls == OPC_GENERATE && first_use(k, v, x)) {
          print_member(out, v->args[x], &first);
          fputs(" (in place)", out);
        }
      print_member(out, v, &first);
    }
    fprintf(out, " -> %%%d", k->out->id);
    for (int j = 0; j < k->nextra_out; j++)
      fprintf(out, ", %%%d", k->extra_out[j]->id);
    if (ff->result_index[k->out->id] >= 0 && k->kind != KK_ALIAS)
      fprintf(out, " => result %d", ff->result_index[k->out->id]);
    else if (ff->nusers[k->out->id] == 1) {
      const IrValue *view = ff->by_id[ff->users[k->out->id][0]];
      if (fuse_view_source(ff, view) == k->out)
        fprintf(out, " => result %d as %%%d", ff->result_index[view->id], view->id);
    }
    print_plan(out, &a, m, k);
    fputc('\n', out);
  }
  arena_free(&a);
}
