/* pipeline.h - the back half of nnc, written once and read top to bottom.
 *
 * From the IR the front end built (and verified after lowering):
 *
 *   autodiff     pipeline_derive      the derived function     then verify
 *   train-step   pipeline_train_step  loss gradient, clipping,
 *                                     one update per parameter then verify
 *   fuse         pipeline_plan        kernels (fuse.c)
 *   memplan                           the workspace (memplan.c)
 *   codegen      pipeline_codegen     LLVM IR (cg_*.c)
 *   optimize     pipeline_optimize    LLVM's default<O0..3>
 *
 * pipeline_compile runs fuse to optimize for one function. The JIT, the
 * ahead-of-time compiler, `nnc run`, `nnc call`, bench, gradcheck, the REPL
 * and the --emit options all go through these; none strings the stages
 * together itself. After a stage named by --dump-after=STAGE
 * (pipeline_set_dump) its result is printed, whichever command runs it.
 */
#ifndef NNC_PIPELINE_H
#define NNC_PIPELINE_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stdbool.h>
#include <stdio.h>

#include "autodiff.h"
#include "fuse.h"
#include "memplan.h"
#include "train_step.h"

typedef struct CodegenOptions {
  int opt_level; /* 0..3, LLVM's pipeline (default<O3>) */
  bool fuse;     /* false: one kernel per op, for comparison (--no-fuse) */
} CodegenOptions;

CodegenOptions pipeline_default_options(void); /* O3, fused */

typedef enum PipeStage {
  STAGE_AUTODIFF,
  STAGE_TRAIN_STEP,
  STAGE_FUSE,
  STAGE_MEMPLAN,
  STAGE_CODEGEN,
  STAGE_OPTIMIZE,
  STAGE_COUNT
} PipeStage;

const char *pipeline_stage_name(PipeStage s);
/* The stage called `name` ("autodiff", "train-step", ...); false if none. */
bool pipeline_stage_named(const char *name, PipeStage *out);
/* The names of every stage, separated by ", ", for messages. */
const char *pipeline_stage_list(void);

/* From now on, print the result of `stage` to `out` each time it runs
 * (--dump-after). Process-wide, like LLVM's -print-after: a debugging aid
 * that reaches every command without being passed through each. */
void pipeline_set_dump(PipeStage stage, FILE *out);

/* autodiff: the derived function of f, appended to m (autodiff.h). NULL
 * with a message when f cannot be differentiated. */
IrFunc *pipeline_derive(Arena *a, IrModule *m, const IrFunc *f, const AdOptions *o, char *err,
                        size_t errlen);

/* train-step: the training step and eval functions of m (train_step.h). */
bool pipeline_train_step(Arena *a, IrModule *m, const TrainConfig *c, TrainStep *out, char *err,
                         size_t errlen);

/* A function's kernels and the plan of its workspace. */
typedef struct PlannedFunc {
  FusedFunc *ff;
  MemPlan *mp;
} PlannedFunc;

/* fuse, then memplan, in a. */
PlannedFunc pipeline_plan(Arena *a, const IrModule *m, const IrFunc *f, const CodegenOptions *o);

/* codegen: the LLVM module of a planned function in ctx, with tm's triple
 * and data layout, its entry point called `entry` (codegen.h). NULL with a
 * message on failure. */
LLVMModuleRef pipeline_codegen(LLVMContextRef ctx, LLVMTargetMachineRef tm, const IrModule *m,
                               const IrFunc *f, const PlannedFunc *p, const char *entry, char *err,
                               size_t errlen);

/* optimize: verifies mod and runs LLVM's pipeline at o->opt_level. */
bool pipeline_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, const CodegenOptions *o,
                       char *err, size_t errlen);

/* fuse, memplan, codegen and optimize: the optimised module of f (NULL with
 * a message; the module is disposed of on failure) and, in *plan, the plan
 * its entry point expects. */
LLVMModuleRef pipeline_compile(Arena *a, LLVMContextRef ctx, LLVMTargetMachineRef tm,
                               const IrModule *m, const IrFunc *f, const char *entry,
                               const CodegenOptions *o, PlannedFunc *plan, char *err,
                               size_t errlen);

/* --emit=fused-ir: the kernel groups of f. */
void pipeline_print_fused(FILE *out, const IrModule *m, const IrFunc *f, const CodegenOptions *o);
/* --emit=llvm: the optimised LLVM IR of f for the host. Returns 0, or
 * non-zero after printing why to stderr. */
int pipeline_print_llvm(FILE *out, const IrModule *m, const IrFunc *f, const CodegenOptions *o);
/* --mem-plan: buffers, live ranges and peak bytes of f's workspace for dims. */
void pipeline_print_memplan(FILE *out, const IrModule *m, const IrFunc *f, const CodegenOptions *o,
                            const int64_t *dims);

#endif
