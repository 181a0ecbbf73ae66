/* codegen.h - LLVM IR for the kernels of one IrFunc (LLVM C API only).
 *
 * Every loop kernel becomes two functions: `<entry>.k<N>.body` with one
 * noalias pointer per buffer it touches (internal, always inlined, so the
 * noalias facts survive as alias scopes), and `<entry>.k<N>(ctx, lo, hi)`
 * that unpacks a context of pointers and runs the outermost parallel loop
 * over [lo, hi). The entry function
 *
 *   int32_t <entry>(const int64_t *dims, void *const *inputs,
 *                   void *const *params, void *const *outputs, char *ws,
 *                   const int64_t *ws_offsets, const uint64_t *rng)
 *
 * where rng points at {seed, step} for the random ops (cg_random.c); only
 * the kernels with a random op read it.
 * binds the buffers of each kernel in order and calls it directly, or
 * through nnrt_parallel_for when it has enough elements to pay for threads.
 * GEMM kernels call nnrt_[sd]gemm_batched from the entry. It returns 0, or
 * CG_ERR_LABEL after writing the CG_STATUS_* slots (int64) at the start of
 * the workspace: a class label read by one_hot or cross_entropy was outside
 * [0, classes). Labels are checked in memory before the kernel reading them,
 * so no kernel ever indexes out of bounds. A training step returns
 * CG_ERR_NONFINITE before its first update when the loss or the gradient
 * norm is not finite, with CG_STATUS_VALUE 0 (the loss) or 1 (a gradient),
 * leaving every parameter and optimizer state as it was. It returns
 * CG_ERR_INDEX when a run-time position of a slice (an index given as an
 * argument, or a constant one on an axis of symbolic extent) lies outside
 * [-n, n), or the range of CG_STATUS_LENGTH elements from it (a slice of a
 * symbolic axis, T - 1 long) does not fit: CG_STATUS_VALUE the slice's
 * value id, CG_STATUS_POS its axis, CG_STATUS_LABEL the position,
 * CG_STATUS_DEPTH n; checked before the kernel reading through it.
 *
 * Floating point: elementwise code has no fast-math flags (-O0 and -O3, fused
 * and unfused, give the same bits); only the accumulators of reductions
 * (sum, mean, mse, the softmax denominators, cross_entropy's mean) allow
 * reassociation so that they vectorise. f32 exp/log/tanh/sigmoid are inline
 * Cephes-style polynomials (a couple of ulp, vectorisable); f64 uses libm
 * (exp, log, pow, tanh), since the gradient checker runs in f64. i32
 * division truncates toward zero like C; x / 0 gives 0 and INT_MIN / -1
 * gives INT_MIN instead of trapping.
 */
#ifndef NNC_CODEGEN_H
#define NNC_CODEGEN_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "fuse.h"
#include "memplan.h"

enum { CG_ERR_LABEL = 1, CG_ERR_NONFINITE = 2, CG_ERR_INDEX = 3 };
enum { CG_STATUS_VALUE, CG_STATUS_POS, CG_STATUS_LABEL, CG_STATUS_DEPTH, CG_STATUS_LENGTH };

/* A target machine for the host CPU (its name and features) at opt_level
 * 0..3; NULL with a message on failure. Initialises the native target. */
LLVMTargetMachineRef codegen_host_machine(int opt_level, char *err, size_t errlen);

/* A target machine for objects (position-independent code) for `triple`
 * (NULL: the host) and `cpu` (NULL or "native": the host's CPU when the
 * triple is the host's, else "generic"). NULL with a message for a triple
 * LLVM does not know. */
LLVMTargetMachineRef codegen_object_machine(const char *triple, const char *cpu, int opt_level,
                                            char *err, size_t errlen);

/* Builds the module of f in ctx, with the triple and data layout of tm.
 * NULL with a message on failure (a shape too large for 64 bits). */
LLVMModuleRef codegen_module(LLVMContextRef ctx, LLVMTargetMachineRef tm, const IrModule *m,
                             const FusedFunc *ff, const MemPlan *p, const char *entry, char *err,
                             size_t errlen);

/* Verifies the module and runs default<O0..3>. */
bool codegen_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, char *err,
                      size_t errlen);

#endif
