/* memplan.h - where every tensor of one call of a compiled function lives.
 *
 * Inputs and parameters stay in the caller's buffers. A kernel's out value
 * that is a result is written straight into the caller's output buffer;
 * every other materialised intermediate gets a buffer in one workspace. A
 * buffer's size is a monomial in the function's dims (times the element
 * size) and its live range runs from the kernel that writes it to the last
 * kernel that reads it (reads through reshape views count). The layout for
 * concrete dims comes from nnrt_plan_layout: buffers whose ranges overlap
 * never share bytes, the others reuse memory.
 *
 * A kernel that calls the runtime's convolution also gets scratch there,
 * live during that kernel alone (ir_conv_scratch); a product in a loop
 * whose B the loop does not change gets scratch for B's packed panels,
 * live through the whole loop (Kernel.fixed_b_loop).
 *
 * The workspace starts with a MEMPLAN_HEADER-byte status area where the
 * compiled code reports run-time errors (see codegen.h); buffer offsets
 * count from the workspace start, past the header.
 */
#ifndef NNC_MEMPLAN_H
#define NNC_MEMPLAN_H

#include <stdint.h>

#include "fuse.h"

enum { MEMPLAN_HEADER = 64 };

/* ST_STACK: a value a loop's step emits, computed straight into its row of
 * the stack (the scan_out `index` names), at the step's position, instead
 * of into a buffer of its own that the loop's end would copy there. */
typedef enum StorageKind { ST_NONE, ST_INPUT, ST_PARAM, ST_OUTPUT, ST_WS, ST_STACK } StorageKind;

typedef struct Storage {
  StorageKind kind;
  int index; /* input, parameter, result or workspace buffer number; for
                ST_STACK the scan_out's value id */
} Storage;

typedef struct MemBuf {
  const IrValue *v; /* the value written (not a view); for scratch, the op using it */
  bool scratch;     /* a kernel's own working memory (a convolution's, live
                       while the kernel runs; a loop's product's, while the
                       loop runs) */
  Dim numel;
  int64_t elem_size;
  int first, last; /* kernel indices, inclusive */
} MemBuf;

typedef struct MemPlan {
  const FusedFunc *ff;
  Storage *storage; /* value id -> where it lives; views resolve to their source */
  MemBuf *bufs;
  int nbufs;
  int *scratch_of; /* kernel index -> its scratch buffer, or -1 */
} MemPlan;

MemPlan *memplan_build(Arena *a, const FusedFunc *ff);

/* The value of a dim for the run-time dims of f (values of f->dim_syms). *ok
 * becomes false if the product overflows. */
int64_t memplan_dim_value(Dim d, const IrFunc *f, const int64_t *dims, bool *ok);

/* Writes the byte offset of every buffer (nbufs entries) and returns the
 * workspace size in bytes including the header, or -1 if a size overflows. */
int64_t memplan_layout(const MemPlan *p, const int64_t *dims, int64_t *offsets);

/* Buffers, live ranges and peak bytes of the workspace of p for dims (the
 * values of p's function's dim_syms). */
void memplan_print(FILE *out, const IrModule *m, const MemPlan *p, const int64_t *dims);

#endif
