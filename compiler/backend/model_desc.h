/* model_desc.h - a compiled model as an nnrt_model_desc (runtime/nnrt_model.h).
 *
 * The one place that turns the compiler's view of a model (IrModule,
 * TrainStep, TrainConfig, fused kernels and memory plans) into the
 * runtime's descriptor. `nnc run` fills in JIT entry points and hands the
 * descriptor to the runtime; `nnc -c` and `nnc -o` write the same
 * descriptor into the object as LLVM constants (aot.c), so both run the
 * same model the same way.
 */
#ifndef NNC_MODEL_DESC_H
#define NNC_MODEL_DESC_H

#include "gen_step.h"
#include "memplan.h"
#include "nnrt_model.h"
#include "train_step.h"

/* One compiled function of the descriptor: the IR and its memory plan (from
 * the same fusion the code was generated from). */
typedef struct DescFunc {
  const IrFunc *f;
  const MemPlan *mp;
} DescFunc;

/* Builds the descriptor in a: every parameter of m (optimizer state
 * included), the functions in `funcs` (entries NULL until set), the
 * indices of ts's step and eval functions and of the predict function
 * (predict, else forward, with one input) when they are among `funcs`, and
 * cfg's data and train sections (ts and cfg may be NULL). */
nnrt_model_desc *model_desc_build(Arena *a, const IrModule *m, const TrainStep *ts,
                                  const TrainConfig *cfg, const DescFunc *funcs, int nfuncs);

/* The generation step gen (gen_step.c), when it is among d's functions:
 * its index, its tables' function and the states it writes. NULL:
 * nothing. */
void model_desc_set_generate(Arena *a, nnrt_model_desc *d, const IrModule *m, const GenStep *gen);

void model_desc_set_entry(nnrt_model_desc *d, int func, nnrt_entry_fn entry);

/* The index site of a run-time position of view v (a slice or its
 * gradient) on `axis`, named in f and m, as the descriptor and the JIT's
 * messages describe it. */
nnrt_index_site model_desc_index_site(const IrModule *m, const IrFunc *f, const IrValue *v,
                                      int axis);

/* The one-input inference function of m (predict, else forward), or NULL. */
const IrFunc *model_desc_predict_func(const IrModule *m);

#endif
