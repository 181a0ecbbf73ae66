/* autodiff_internal.h - the differentiation context, shared by autodiff.c
 * and the rule that differentiates loops (grad_scan.c), which runs a
 * sweep of its own over a loop body inside the derived function. */
#ifndef NNC_AUTODIFF_INTERNAL_H
#define NNC_AUTODIFF_INTERNAL_H

#include "autodiff.h"

/* The sums autodiff_unbroadcast has built, so that an adjoint reduced the
 * same way twice (two biases added to one sum: an LSTM's b_ih and b_hh)
 * is reduced once. Shared by a loop body's context and its function's. */
typedef struct SumMemo {
  struct SumEntry {
    IrValue *dx, *sum;
    IrBlock *block; /* where the sum lies: reused only there */
    IrReduceAttrs at;
  } * entries;
  int n, cap;
} SumMemo;

struct GradCtx {
  Arena *arena;
  IrModule *mod;
  const IrFunc *src; /* the function differentiated */
  IrFunc *df;
  Diag diag; /* shape errors in rules are nnc bugs; reported, then fatal */
  ShapeCtx shape;
  IrValue **copy;    /* src's value id -> its copy in df */
  IrValue **adj;     /* value id -> adjoint; only forward values have one */
  int nfwd;          /* forward values have ids below it */
  int ntop;          /* the forward values of df's body are its first ntop */
  bool *leaf;        /* value id -> its adjoint is wanted, not passed on (or NULL) */
  IrValue **adj_val; /* value id -> the value adj[id] belongs to (or NULL: not kept) */
  SumMemo *sums;
};

bool autodiff_carries_gradient(const IrValue *v);
/* sum(dx) over `at`, or the same sum already built in the block being
 * filled (see SumMemo). */
IrValue *autodiff_sum(GradCtx *g, IrValue *dx, const IrReduceAttrs *at);
/* Runs the rules of b's values at positions end - 1 down to first, each
 * with its accumulated adjoint. */
void autodiff_sweep(GradCtx *g, const IrBlock *b, int first, int end);
/* ops.def's rule for scan: its outputs' adjoints are read from g. */
void grad_scan(GradCtx *g, IrValue *v, IrValue *dy);

#endif
