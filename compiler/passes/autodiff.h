/* autodiff.h - reverse-mode automatic differentiation as an IR transform.
 *
 * autodiff_func builds a new IrFunc that computes f and, after it, the
 * vector-Jacobian product of f's result with respect to the module's
 * trainable parameters (and optionally f's floating-point inputs). The
 * result is ordinary IR: forward and backward values in one body, so fusion
 * and memory planning see both. Each op's rule is the grad column of
 * ops.def (grad_rules.c); adjoints of values used several times are summed,
 * broadcasting is undone by summing, integer and bool values carry no
 * gradient, and stop_gradient and comparisons pass none on.
 *
 * The derived function:
 *   name     "<f>.grad"
 *   inputs   f's inputs, then "seed" (the adjoint of f's result, same type)
 *            when f's result is not a scalar; a scalar result is seeded
 *            with 1
 *   results  [0] "result": f's result; then "d.<param>" for every trainable
 *            parameter in module order (zeros for one f does not use); then,
 *            with wrt_inputs, "d.<input>" for every floating-point input
 *
 * Nothing in it assumes one body or one parameter set: a loop op's rule will
 * differentiate its region with the same machinery (reverse sweep over the
 * carried state), and a training step with several parameter groups is a
 * different choice of `wrt`.
 */
#ifndef NNC_AUTODIFF_H
#define NNC_AUTODIFF_H

#include "ir.h"

typedef struct AdOptions {
  bool wrt_inputs; /* also differentiate with respect to float inputs */
} AdOptions;

/* Adds the derived function to m and returns it; NULL (with a message in
 * err) only if f contains an op whose rule cannot handle its operands. */
IrFunc *autodiff_func(Arena *a, IrModule *m, const IrFunc *f, const AdOptions *o, char *err,
                      size_t errlen);

/* Rewrites every f32 type in m (parameters, functions, attributes) to f64:
 * the gradient checker runs models in double precision. */
void autodiff_retype_f64(IrModule *m);

/* ---- for the rules in grad_rules.c ---- */

/* Emits a value into the derived function; shape inference must succeed
 * (a failure is a bug in a rule). */
IrValue *autodiff_emit(GradCtx *g, OpKind op, IrValue **args, int nargs, const IrAttrs *at);
IrValue *autodiff_unary(GradCtx *g, OpKind op, IrValue *x);
IrValue *autodiff_binary(GradCtx *g, OpKind op, IrValue *x, IrValue *y);
/* A scalar constant of dtype dt; autodiff_const_div is scalar / denom at run time. */
IrValue *autodiff_const(GradCtx *g, double scalar, DType dt);
IrValue *autodiff_const_div(GradCtx *g, double scalar, Dim denom, DType dt);
/* Sums dx over the axes along which a value of type `to` was broadcast to
 * dx's shape, giving a value of type `to`. */
IrValue *autodiff_unbroadcast(GradCtx *g, IrValue *dx, const TType *to);
IrValue *autodiff_broadcast_to(GradCtx *g, IrValue *x, const TType *to);
IrValue *autodiff_reshape(GradCtx *g, IrValue *x, const TType *to);
/* Adds dx to the adjoint of v (ignored for non-float v). Rules receive the
 * derived function's copy of the forward value, so v->args are its copied
 * operands and can be used in the backward computation directly. */
void autodiff_accumulate(GradCtx *g, IrValue *v, IrValue *dx);

#endif
