/* callbuf.h - host-side buffers for calling compiled functions: sizes from
 * run-time dims, allocation, and seeded random contents. Shared by the
 * gradient checker and the benchmark driver. */
#ifndef NNC_CALLBUF_H
#define NNC_CALLBUF_H

#include <stdint.h>

#include "ir.h"
#include "nnrt.h"

/* The --dim NAME=N bindings a command line holds, and the run-time dims of
 * a function that the commands keep on the stack (those plus 64). */
enum { CALLBUF_MAX_BINDINGS = 32, CALLBUF_MAX_DIMS = CALLBUF_MAX_BINDINGS + 64 };

/* Value of d when f's dims (f->dim_syms) are bound to dims. */
int64_t callbuf_dim(const IrFunc *f, const int64_t *dims, Dim d);
int64_t callbuf_numel(const IrFunc *f, const int64_t *dims, const TType *t);
/* Zeroed, from the arena; never NULL (out of memory is fatal). */
void *callbuf_alloc(Arena *a, const IrFunc *f, const int64_t *dims, const TType *t);

/* dims[i] for each of f's dim symbols: the value bound to its name in
 * names/values (--dim NAME=N), else `fallback`. Returns the index of the
 * first dim below 1, or -1 when all are usable. */
int callbuf_bind_dims(const IrModule *m, const IrFunc *f, const char *const *names,
                      const int64_t *values, int n, int64_t fallback, int64_t *dims);

/* Floats from N(0, 1); integers in [0, int_range); bools 0/1. */
void callbuf_fill_random(nnrt_rng *r, DType dt, void *data, int64_t n, int64_t int_range);

/* Indices must lie below what they index: the smallest constant bound of
 * the ops of f that read x as indices (ops.def's OP_INDEX rows: a class
 * count, a table's rows), or `otherwise`. */
int64_t callbuf_label_range(const IrFunc *f, const IrValue *x, int64_t otherwise);

#endif
