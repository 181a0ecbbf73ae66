/* memplan.c - storage of every value and workspace buffers with live ranges. */
#include "memplan.h"

#include <stdlib.h>

#include "nnrt.h"

typedef struct RunDims {
  const IrFunc *f;
  const int64_t *dims;
} RunDims;

static int64_t run_dim(void *ctx, int sym) {
  const RunDims *r = ctx;
  int k = ir_func_dim_index(r->f, sym);
  if (k < 0)
    NNC_BUG("dimension symbol %d is not a run-time dim of %s", sym, r->f->name);
  return r->dims[k];
}

int64_t memplan_dim_value(Dim d, const IrFunc *f, const int64_t *dims, bool *ok) {
  if (d.kind != DIM_KNOWN)
    NNC_BUG("unknown dimension in compiled code");
  RunDims r = {f, dims};
  int64_t v;
  if (!dim_eval(d, run_dim, &r, &v))
    *ok = false;
  return v;
}

/* The value whose buffer a view (reshape) reads. */
static const IrValue *view_root(const FusedFunc *ff, const IrValue *v) {
  while (v->op == OP_RESHAPE && ff->kernel_of[v->id] >= 0 &&
         ff->kernels[ff->kernel_of[v->id]]->kind == KK_ALIAS)
    v = v->args[0];
  return v;
}

static void note_read(MemPlan *p, const IrValue *v, int kernel) {
  const FusedFunc *ff = p->ff;
  if (ff->folded[v->id])
    v = v->args[0];
  v = view_root(ff, v);
  Storage s = p->storage[v->id];
  if (s.kind == ST_STACK) /* read in the step: the stack lives through the loop */
    s = p->storage[s.index];
  if (s.kind == ST_WS && p->bufs[s.index].last < kernel)
    p->bufs[s.index].last = kernel;
}

static MemBuf *new_buffer(Arena *a, MemPlan *p, const IrValue *v, int kernel, int *cap) {
  if (p->nbufs == *cap) {
    int c = *cap ? *cap * 2 : 16;
    p->bufs = arena_grow(a, p->bufs, (size_t)p->nbufs, (size_t)c, sizeof *p->bufs);
    *cap = c;
  }
  MemBuf *b = &p->bufs[p->nbufs++];
  *b = (MemBuf){.v = v, .elem_size = dtype_size(v->type.dtype), .first = kernel, .last = kernel};
  return b;
}

static void add_buffer(Arena *a, MemPlan *p, const IrValue *v, int kernel, int *cap) {
  MemBuf *b = new_buffer(a, p, v, kernel, cap);
  if (!ttype_numel(&v->type, &b->numel, NULL)) /* shape_infer checked it */
    NNC_BUG("element count of %%%d overflows", v->id);
  p->storage[v->id] = (Storage){ST_WS, p->nbufs - 1};
}

/* A convolution's scratch: elements of its own type, in use while it runs. */
static void add_scratch(Arena *a, MemPlan *p, const Kernel *k, int *cap) {
  Dim n = ir_conv_scratch(k->core);
  if (dim_is(n, 0))
    return;
  MemBuf *b = new_buffer(a, p, k->core, k->index, cap);
  b->numel = n;
  b->scratch = true;
  p->scratch_of[k->index] = p->nbufs - 1;
}

/* The panels of a product's B packed once per loop (Kernel.fixed_b_loop):
 * (n rounded up to 32) * k floats, kept from the loop's first step to its
 * last. */
static void add_packed_b(Arena *a, MemPlan *p, const Kernel *k, const IrValue *scan, int *cap) {
  const FusedFunc *ff = p->ff;
  const TType *tb = &k->core->args[1]->type; /* op(B): [k, n] */
  int64_t kk = tb->dims[0].constant, n = tb->dims[1].constant;
  MemBuf *b = new_buffer(a, p, k->core, fuse_loop_begin(ff, scan)->index, cap);
  b->numel = dim_const((n + NNRT_SGEMM_PANEL - 1) / NNRT_SGEMM_PANEL * NNRT_SGEMM_PANEL * kk);
  b->last = ff->kernel_of[scan->id];
  b->scratch = true;
  p->scratch_of[k->index] = p->nbufs - 1;
}

/* Is v's only user a result view that v is written through? */
static bool written_as_view(const FusedFunc *ff, const IrValue *v) {
  const IrValue *user = ff->by_id[ff->users[v->id][0]];
  return fuse_view_source(ff, user) == v;
}

/* The scan_out that a value the step emits can be computed into: the
 * first live stack of v (a value computed in a loop's step into a buffer
 * of its own), or NULL. Its stack is placed by the loop's end kernel,
 * which comes later in kernel order, so it is looked up, not placed. */
static const IrValue *stack_row_of(const FusedFunc *ff, const IrValue *v) {
  const IrBlock *r = v->parent;
  if (r == ff->f->body || ff->hoisted[v->id])
    return NULL;
  const IrValue *scan = NULL;
  for (int u = 0; u < ff->nusers[v->id] && !scan; u++)
    if (ff->by_id[ff->users[v->id][u]]->region == r)
      scan = ff->by_id[ff->users[v->id][u]];
  if (!scan || ff->kernel_of[scan->id] < 0)
    return NULL;
  const Kernel *end = ff->kernels[ff->kernel_of[scan->id]];
  int nc = ir_scan_ncarry(scan);
  for (int j = 0; j < end->nextra_out; j++) {
    const IrValue *out = end->extra_out[j];
    int i = IR_ATTR(out, loop).index;
    if (i >= nc && r->results[i] == v)
      return out;
  }
  return NULL;
}

/* Where kernel k's out value goes. */
static void place_out(Arena *a, MemPlan *p, const Kernel *k, int *cap) {
  const FusedFunc *ff = p->ff;
  const IrValue *v = k->out, *stack;
  switch (k->kind) {
  case KK_COPY:
    return;
  case KK_LOOP_BEGIN: /* the step and the carries */
    for (int i = 0; i < k->nvals; i++)
      add_buffer(a, p, k->vals[i], k->index, cap);
    return;
  case KK_LOOP_END: /* the scan's outputs; the scan itself is a token */
    for (int i = 0; i < k->nextra_out; i++) {
      const IrValue *o = k->extra_out[i];
      if (ff->result_index[o->id] >= 0)
        p->storage[o->id] = (Storage){ST_OUTPUT, ff->result_index[o->id]};
      else
        add_buffer(a, p, o, k->index, cap);
    }
    return;
  case KK_ALIAS:
    p->storage[v->id] = p->storage[view_root(ff, v)->id];
    return;
  case KK_ELEMWISE:
  case KK_REDUCE:
  case KK_ROW:
  case KK_GEMM:
  case KK_GATHER:
  case KK_CONV:
    for (int i = 0; i < k->nextra_out; i++) /* further state writes, in place */
      p->storage[k->extra_out[i]->id] = p->storage[k->extra_out[i]->args[0]->id];
    if (v->op == OP_ASSIGN)
      p->storage[v->id] = p->storage[v->args[0]->id]; /* the state, in place */
    else if (ff->result_index[v->id] >= 0)
      p->storage[v->id] = (Storage){ST_OUTPUT, ff->result_index[v->id]};
    else if (ff->nusers[v->id] == 1 && written_as_view(ff, v))
      p->storage[v->id] = (Storage){ST_OUTPUT, ff->result_index[ff->users[v->id][0]]};
    else if ((stack = stack_row_of(ff, v)))
      p->storage[v->id] = (Storage){ST_STACK, stack->id};
    else
      add_buffer(a, p, v, k->index, cap);
    return;
  }
}

/* A loop's begin reads the carries' initial values; its end what the
 * step yields, the carries (their final values) and the step (the
 * position in the stacks). */
static void note_loop_reads(MemPlan *p, const Kernel *k) {
  const IrValue *scan = k->core;
  if (k->kind == KK_LOOP_BEGIN) {
    for (int i = 0; i < scan->nargs; i++)
      note_read(p, scan->args[i], k->index);
    return;
  }
  const IrBlock *r = scan->region;
  for (int i = 0; i < r->nresults; i++)
    note_read(p, r->results[i], k->index);
  for (int i = 0; i < r->nparams; i++)
    note_read(p, r->params[i], k->index);
}

/* A buffer written before a loop and read inside it, or written inside and
 * read after it, must hold through every step: it lives for the whole loop.
 * What lives inside one step only is rewritten before it is read in every
 * step, so it may share bytes with the rest of the step. Inner loops first,
 * so that what an inner loop extends is then seen by the outer one. */
static void extend_over_loops(Arena *a, MemPlan *p) {
  const FusedFunc *ff = p->ff;
  bool *done = ARENA_ARRAY(a, bool, (size_t)ff->nkernels + 1);
  for (;;) {
    int e = -1;
    for (int j = 0; j < ff->nkernels; j++)
      if (ff->kernels[j]->kind == KK_LOOP_END && !done[j] &&
          (e < 0 || j - ff->loop_begin[j] < e - ff->loop_begin[e]))
        e = j;
    if (e < 0)
      return;
    done[e] = true;
    int b = ff->loop_begin[e];
    for (int i = 0; i < p->nbufs; i++) {
      MemBuf *m = &p->bufs[i];
      if (m->first <= e && m->last >= b && (m->first < b || m->last > e)) {
        m->first = m->first < b ? m->first : b;
        m->last = m->last > e ? m->last : e;
      }
    }
  }
}

static void note_reads(MemPlan *p, const Kernel *k) {
  if (k->kind == KK_COPY) {
    note_read(p, k->out, k->index);
    return;
  }
  if (k->kind == KK_LOOP_BEGIN || k->kind == KK_LOOP_END) {
    note_loop_reads(p, k);
    return;
  }
  for (int i = 0; i < k->nvals; i++) {
    const IrValue *v = k->vals[i];
    for (int j = 0; j < v->nargs; j++)
      if (!fuse_is_internal(p->ff, k, v->args[j]))
        note_read(p, v->args[j], k->index);
  }
}

MemPlan *memplan_build(Arena *a, const FusedFunc *ff) {
  MemPlan *p = ARENA_NEW(a, MemPlan);
  p->ff = ff;
  p->storage = ARENA_ARRAY(a, Storage, (size_t)ff->nids + 1);
  const IrFunc *f = ff->f;
  for (int i = 0; i < f->body->n; i++) {
    const IrValue *v = f->body->vals[i];
    if (v->op == OP_INPUT)
      p->storage[v->id] = (Storage){ST_INPUT, IR_ATTR(v, source).index};
    else if (v->op == OP_PARAM)
      p->storage[v->id] = (Storage){ST_PARAM, IR_ATTR(v, source).index};
  }
  int cap = 0;
  bool guarded = false;
  p->scratch_of = ARENA_ARRAY(a, int, (size_t)ff->nkernels + 1);
  for (int i = 0; i < ff->nkernels; i++) {
    const Kernel *k = ff->kernels[i];
    p->scratch_of[i] = -1;
    place_out(a, p, k, &cap);
    if (k->kind == KK_CONV)
      add_scratch(a, p, k, &cap);
    else if (k->fixed_b_loop)
      add_packed_b(a, p, k, k->fixed_b_loop, &cap);
    note_reads(p, k);
    if (f->guard && !guarded && k->out->op == OP_ASSIGN) {
      note_read(p, f->guard, i); /* checked before the first state write */
      guarded = true;
    }
  }
  extend_over_loops(a, p);
  return p;
}

int64_t memplan_layout(const MemPlan *p, const int64_t *dims, int64_t *offsets) {
  int n = p->nbufs;
  if (n == 0)
    return MEMPLAN_HEADER;
  int64_t *sizes = malloc(sizeof(int64_t) * (size_t)n);
  int *first = malloc(sizeof(int) * (size_t)n), *last = malloc(sizeof(int) * (size_t)n);
  int64_t peak = -1;
  bool ok = sizes && first && last;
  for (int i = 0; ok && i < n; i++) {
    const MemBuf *b = &p->bufs[i];
    int64_t numel = memplan_dim_value(b->numel, p->ff->f, dims, &ok);
    ok &= numel >= 0 && !__builtin_mul_overflow(numel, b->elem_size, &sizes[i]);
    first[i] = b->first;
    last[i] = b->last;
  }
  if (ok)
    peak = nnrt_plan_layout(n, sizes, first, last, offsets);
  if (peak >= 0) {
    for (int i = 0; i < n; i++)
      offsets[i] += MEMPLAN_HEADER;
    peak += MEMPLAN_HEADER;
  }
  free(sizes);
  free(first);
  free(last);
  return peak;
}

static void print_storage(FILE *out, Arena *a, const IrModule *m, const MemPlan *p,
                          const int64_t *dims, const int64_t *offsets) {
  const IrFunc *f = p->ff->f;
  for (int i = 0; i < p->nbufs; i++) {
    const MemBuf *b = &p->bufs[i];
    Dim bytes;
    if (!dim_mul(b->numel, dim_const(b->elem_size), &bytes, &(const char *){NULL}))
      bytes = b->numel;
    bool ok = true;
    int64_t n = memplan_dim_value(bytes, f, dims, &ok);
    if (b->scratch)
      fprintf(out, "buffer %d scratch of %%%d %s: %s bytes", i, b->v->id, op_info[b->v->op].name,
              dim_str(a, m->syms, bytes));
    else
      fprintf(out, "buffer %d %%%d %s: %s bytes", i, b->v->id, ttype_str(a, m->syms, &b->v->type),
              dim_str(a, m->syms, bytes));
    if (!dim_is_const(bytes))
      fprintf(out, " = %lld", (long long)n);
    fprintf(out, ", live %d..%d, offset %lld\n", b->first, b->last,
            offsets ? (long long)(offsets[i] - MEMPLAN_HEADER) : -1LL);
  }
  for (int r = 0; r < f->nresults; r++)
    fprintf(out, "result %d %%%d %s: caller's buffer%s\n", r, f->results[r]->id,
            ttype_str(a, m->syms, &f->results[r]->type),
            p->storage[f->results[r]->id].kind == ST_OUTPUT &&
                    p->storage[f->results[r]->id].index == r
                ? ""
                : " (copied)");
}

void memplan_print(FILE *out, const IrModule *m, const MemPlan *p, const int64_t *dims) {
  Arena a;
  arena_init(&a);
  const FusedFunc *ff = p->ff;
  const IrFunc *f = ff->f;
  fprintf(out, "memplan %s", f->name);
  for (int i = 0; i < f->ndims; i++)
    fprintf(out, "%s%s=%lld", i ? ", " : " (", m->syms->syms[f->dim_syms[i]].name,
            (long long)dims[i]);
  fprintf(out, "%s: %d kernels, %d buffers\n", f->ndims ? ")" : "", ff->nkernels, p->nbufs);
  int64_t *offsets = ARENA_ARRAY(&a, int64_t, (size_t)p->nbufs + 1);
  int64_t total = memplan_layout(p, dims, offsets);
  print_storage(out, &a, m, p, dims, total >= 0 ? offsets : NULL);
  if (total < 0)
    fputs("peak: overflow\n", out);
  else
    fprintf(out, "peak: %lld bytes\n", (long long)(total - MEMPLAN_HEADER));
  arena_free(&a);
}
