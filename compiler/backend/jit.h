/* jit.h - compiling IR functions to native code with LLVM and calling them.
 *
 * The stages behind it are the pipeline's (pipeline.h): fuse.c groups IR
 * values into kernels, memplan.c lays out the intermediates of one call in a
 * workspace reused by liveness, cg_*.c emit LLVM IR for the kernels (loop
 * nests that LLVM's O3 pipeline vectorises for the host CPU, GEMM calls into
 * the runtime), and jit.c runs the result with ORC LLJIT, resolving runtime
 * symbols from the process.
 *
 * Calling convention of a compiled function (also what AOT objects export):
 *   dims     values of f->dim_syms, in order (one function serves every
 *            batch size)
 *   inputs   f->inputs, in order, dense row-major; i32 as int32_t, bool as
 *            one byte 0/1
 *   params   every parameter of the module, in IrModule order
 *   outputs  f->results, in order, caller-allocated, dense row-major
 *   ws, ws_offsets  the workspace and its layout
 *   rng      {seed, step}: what the random ops (uniform, normal, dropout)
 *            draw from; a function without them never reads it
 * The IrModule and IrFunc must outlive the JitFunc.
 */
#ifndef NNC_JIT_H
#define NNC_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ir.h"
#include "pipeline.h"

typedef struct Jit Jit;
typedef struct JitFunc JitFunc;

/* One ORC LLJIT for the host; owns every function compiled into it. NULL and
 * a message on failure. */
Jit *jit_new(char *err, size_t errlen);
void jit_free(Jit *j);

JitFunc *jit_compile(Jit *j, const IrModule *m, const IrFunc *f, const CodegenOptions *o, char *err,
                     size_t errlen);

/* Runs f. The workspace for these dims is allocated on first use and reused.
 * Returns 0, or non-zero with a message naming the problem (for example a
 * cross_entropy label outside [0, classes), with its position). */
int jit_call(JitFunc *jf, const int64_t *dims, void *const *inputs, void *const *params,
             void *const *outputs, char *err, size_t errlen);

/* The memory plan the code was generated with, and the entry point itself
 * (the calling convention above, plus the workspace and its layout), for
 * building a runtime descriptor (model_desc.h). */
const MemPlan *jit_func_plan(const JitFunc *jf);
int32_t (*jit_func_entry(const JitFunc *jf))(const int64_t *, void *const *, void *const *,
                                             void *const *, char *, const int64_t *,
                                             const uint64_t *);

/* The seed and step jit_call passes to f's random ops (both 0 until set). */
void jit_func_set_rng(JitFunc *jf, uint64_t seed, uint64_t step);

#endif
