/* fuse.h - grouping the values of an IrFunc into kernels.
 *
 * A kernel is one loop nest (or one GEMM call) of the generated code. Its
 * members are the values it computes; all of them except its outputs are
 * internal: they live in registers only, which is allowed when every use of
 * the value is inside the same kernel. Kernels come in a few shapes:
 *
 *   elementwise  a loop nest over out's shape; members are elementwise ops
 *                (unary, binary, compare, select, broadcast, one_hot,
 *                transpose as an index permutation, a reshape that only
 *                adds or drops axes of extent 1)
 *   reduce       sum/mean/max/min/argmax/argmin/mse over the shape of the
 *                reduced operand, with an elementwise prologue
 *   row          reductions along one axis of a shape (the row axis) and
 *                what they feed: one loop over the rows (the other axes),
 *                whose body walks the row once per group of reductions
 *                that do not read each other (passes: max, then the sum of
 *                exp(x - max), ...; each pass reads the row and the earlier
 *                walks' per-row results, broadcast back along it), then
 *                the epilogue: the
 *                out value along the row again, or once per row; per-row
 *                results may be combined over the rows into the out (a
 *                cross-entropy's mean). Softmax, log_softmax and
 *                cross_entropy (expanded by rows.h), logsumexp, layer_norm's
 *                mean and variance are each one row kernel.
 *   gemm         matmul through the runtime's BLAS; a transpose of the last
 *                two axes feeding it is folded into the trans flags
 *   alias        reshape: a view of its operand's buffer, no code
 *   copy         writes a result that is an input, a parameter, a constant,
 *                an alias or an earlier result into its output buffer
 *   gather       gather or scatter_add (`core`), alone: rows moved by ids
 *                read from memory (range-checked first), in the entry
 *                function (cg_gather.c states the loop)
 *
 * State writes (ASSIGN, `state <-` and the optimizer's writes of parameters
 * and their state) are elementwise kernels over the state's shape that store
 * into the state's own buffer; they run last, after every read of the old
 * values, and only when the step's guard (IrFunc.guard) is finite. The
 * writes that share computed values (Adam's new m and v feed the new
 * parameter) form one kernel with several outputs: `out` is the last of
 * them, `extra_out` the others; at each element it computes what they need
 * once, then stores every output, so no state is read after it is
 * overwritten.
 *
 * Kernels are listed in an order that respects every dependence (by the
 * position of their out value). Constants are inlined into every kernel that
 * uses them; they get a kernel of their own only where a buffer is needed.
 */
#ifndef NNC_FUSE_H
#define NNC_FUSE_H

#include <stdbool.h>
#include <stdio.h>

#include "ir.h"

typedef enum KernelKind {
  KK_ELEMWISE,
  KK_REDUCE,
  KK_ROW,
  KK_GEMM,
  KK_ALIAS,
  KK_COPY,
  KK_GATHER,
  KK_CONV,       /* a call of the runtime's convolution (its core) */
  KK_LOOP_BEGIN, /* a scan's loop starts: members the step and the carries
                    (out the step), which it sets from the scan's operands */
  KK_LOOP_END,   /* the step ends (core the scan): the carries take their
                    next values, the emitted values go to their stacks
                    (those the step did not compute there), and
                    the loop goes back to its begin or ends, when the
                    carries' final values are copied to the scan_outs
                    (extra_out) */
} KernelKind;

/* How a reduction combines the elements of its reduced axes. */
typedef enum Combine { COMBINE_NONE, COMBINE_ADD, COMBINE_MAX, COMBINE_MIN } Combine;

/* One reduction of a row kernel along its row axis: a member whose value
 * is one element per row. */
typedef struct RowPass {
  const IrValue *v;
  Combine combine;
  bool divide; /* a mean: divides by the row's length */
  int walk;    /* passes of one walk share a loop over the row: a pass
                  reads the results of earlier walks only (the max and the
                  picked logit in one, then the sum of exp(x - max)) */
} RowPass;

/* What a loop kernel runs over and how, decided here once: codegen reads
 * it and never re-derives it. */
typedef struct KernelPlan {
  const TType *domain;         /* the shape of the loop nest */
  bool reduced[TYPE_MAX_RANK]; /* domain axes combined away (a row kernel:
                                  the rows its per-row out combines) */
  Combine combine;
  bool arg;        /* keeps the index of the best element (argmax, argmin) */
  bool divide;     /* divides by the number of elements combined (mean, mse) */
  int row_axis;    /* a row kernel's row axis, in a loop of its own, or -1 */
  RowPass *passes; /* a row kernel's reductions, in the order they run */
  int npasses;
  bool per_row;   /* a row kernel's out has one element per row (or combines
                     them): computed once per row after the passes, not along
                     the row */
  int split_axis; /* the domain axis whose loop is split across threads
                     (the outermost one that may be), or -1: not split */
} KernelPlan;

typedef struct Kernel {
  KernelKind kind;
  KernelPlan plan; /* loop kernels (not gemm, alias) */
  int index;
  IrValue *out;        /* the value computed (KK_COPY: the value copied) */
  IrValue **extra_out; /* further outputs: state writes stored beside out */
  int nextra_out;
  IrValue *core;  /* the op that shapes the loop nest (a row kernel: a pass,
                     whose operand's shape is the domain); NULL for
                     elementwise */
  IrValue **vals; /* members in definition order */
  int nvals, cap;
  int result; /* KK_COPY: the result index written */
  /* KK_GEMM: the innermost scan around it when every step of it reads the
   * same op(B), an f32 product of matrices whose B, of constant shape, is
   * computed before the loop (a recurrent layer's weights); else NULL. B
   * is then packed once per loop (nnrt_sgemm_fixed_b) into scratch the
   * memory plan keeps through the loop. */
  const IrValue *fixed_b_loop;
} Kernel;

typedef struct FusedFunc {
  const IrFunc *f;        /* the function fused: src with its row ops expanded */
  const IrFunc *src;      /* the function given to fuse_func */
  const IrValue **src_of; /* value id of f -> the value of src it copies, or
                             NULL (a value of an expansion); NULL when f == src */
  Kernel **kernels;
  int nkernels;
  int nids;          /* f->next_id: size of the per-value arrays */
  IrValue **by_id;   /* value id -> value (NULL for ids not in the body) */
  int *kernel_of;    /* value id -> index of the kernel computing it, or -1 */
  bool *folded;      /* value id -> transpose read by GEMMs through its operand */
  bool *hoisted;     /* value id -> in a loop's step, computed once before the loop */
  bool *aligned;     /* value id -> in a state-write kernel, evaluated at the element it writes */
  int *result_index; /* value id -> first result index it is, or -1 */
  int *pos;          /* value id -> program position: a loop's hoisted values, step and
                        carries, then its region's values, then the scan */
  int *loop_begin;   /* KK_LOOP_END kernel index -> its KK_LOOP_BEGIN's */
  bool *live;        /* value id -> some result depends on it */
  int **users;       /* value id -> ids of the live values using it */
  int *nusers;
} FusedFunc;

/* Kernels that are a call of the runtime, not a loop nest codegen plans:
 * GEMM, convolution, gather, and reshape aliases (no code at all). */
static inline bool fuse_is_call(const Kernel *k) {
  return k->kind == KK_GEMM || k->kind == KK_ALIAS || k->kind == KK_GATHER || k->kind == KK_CONV ||
         k->kind == KK_LOOP_BEGIN || k->kind == KK_LOOP_END;
}

/* The kernel that begins the loop of `scan` (a SCAN value). */
const Kernel *fuse_loop_begin(const FusedFunc *ff, const IrValue *scan);

/* fuse=false: one kernel per op (constants still inlined). */
FusedFunc *fuse_func(Arena *a, const IrFunc *f, bool fuse);

/* Is v computed inside kernel k without a buffer of its own? (A further
 * output is evaluated like an internal value, then stored.) */
static inline bool fuse_is_internal(const FusedFunc *ff, const Kernel *k, const IrValue *v) {
  return k->kind != KK_COPY && v != k->out && ff->kernel_of[v->id] == k->index;
}

/* The value of the program that reads x (a value of ff->f) as indices and
 * that messages name (ir_index_reader over ff->src: a cross_entropy, not
 * the one_hot it was expanded into), or NULL. */
const IrValue *fuse_index_reader(const FusedFunc *ff, const IrValue *x);

/* Does operand i of v get read from a buffer whatever is fused (GEMM
 * operands, reshape sources, index operands, gathered tables)? */
bool fuse_reads_buffer(const IrValue *v, int i);

/* A reshape that only inserts or removes axes of extent 1: inside a loop
 * kernel it is an index map like a transpose (alone, an alias). */
bool fuse_is_unit_reshape(const IrValue *v);

/* A transpose that only swaps the last two axes (foldable into a GEMM). */
bool fuse_is_matrix_transpose(const IrValue *v);

/* When the result `view` is a reshape of a kernel's out used by nothing
 * else, that kernel writes straight into the result's buffer: returns the
 * out value, else NULL. */
const IrValue *fuse_view_source(const FusedFunc *ff, const IrValue *view);

const char *fuse_kernel_kind_name(KernelKind k);

/* --emit=fused-ir, one line per kernel:
 *   kernel 3 elementwise f32[B, 128]: %4 add, %5 relu -> %5 */
void fuse_print(FILE *out, const IrModule *m, const FusedFunc *ff);

#endif
