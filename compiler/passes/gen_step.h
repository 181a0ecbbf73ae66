/* gen_step.h - the entry points a generate section samples through. */
#ifndef NNC_GEN_STEP_H
#define NNC_GEN_STEP_H

#include "train_config.h"

/* The generate section's step function as an entry point named
 * "generate.<fn>" that performs its `state <-` writes (its inference lowering:
 * dropout off), added to m.
 *
 * A product of an embedding's rows and a weight matrix that the step does
 * not write, gather(E, tok) @ W, reads all of W for every token; the rows
 * of E @ W are the same products for every token of the vocabulary. Such
 * products become rows picked from tables that `tables`, a second entry
 * point named "generate.<fn>.tables" (no inputs: one result per table),
 * computes once per generation; the step takes them as its inputs after
 * the token. `tables` is NULL when the step has no such product.
 *
 * Both NULL when the model has no generate section. The section was checked
 * by sema and generate.c. */
typedef struct GenStep {
  IrFunc *step;
  IrFunc *tables;
} GenStep;
GenStep gen_step_build(Arena *a, IrModule *m, const TrainConfig *c);

/* The states a generation step writes, as parameter indices of m, into
 * out (m->nparams long); returns their count. */
int gen_step_states(const IrModule *m, const IrFunc *g, int32_t *out);

#endif
