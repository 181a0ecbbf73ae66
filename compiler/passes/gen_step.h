/* gen_step.h - the entry point a generate section samples through. */
#ifndef NNC_GEN_STEP_H
#define NNC_GEN_STEP_H

#include "train_config.h"

/* The generate section's step function as an entry point named
 * "generate.<fn>" that performs its `state <-` writes (its inference lowering:
 * dropout off), added to m; NULL when the model has no generate section.
 * The section was checked by sema and generate.c. */
IrFunc *gen_step_build(Arena *a, IrModule *m, const TrainConfig *c);

/* The states a generation step writes, as parameter indices of m, into
 * out (m->nparams long); returns their count. */
int gen_step_states(const IrModule *m, const IrFunc *g, int32_t *out);

#endif
