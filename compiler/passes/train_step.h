/* train_step.h - the compiled training step of a model.
 *
 * The step is one IrFunc: the loss function's forward pass, its backward
 * pass (autodiff), gradient clipping by global norm, and the optimizer's
 * formulas as ordinary ops ending in ASSIGNs of each parameter and its
 * state (written in place after the step's reads, and not at all when the
 * step's guard is NaN). Fusion and memory planning see all of it at once,
 * and one JIT'd entry
 * point runs a whole step. The optimizer state lives in the module as
 * non-trainable parameters named "optim.<param>.<state>" (zeros at the
 * start), so checkpoints carry it like any parameter.
 *
 *   train.<step>(loss inputs..., hyper: f32[4]) -> loss [, logits]
 *   eval(loss inputs...)                         -> loss [, logits]
 *
 * logits are returned when the loss function returns cross_entropy(z, y)
 * directly: z is the per-class score the loop turns into accuracy.
 */
#ifndef NNC_TRAIN_STEP_H
#define NNC_TRAIN_STEP_H

#include "train_config.h"

typedef struct TrainStep {
  IrFunc *step; /* NULL for a closed-form fit (fit = ridge(...)): no gradient step */
  IrFunc *eval;
  int64_t num_classes; /* > 0 when logits are returned */
  int nupdated;        /* parameters the step updates */
  int first_state;     /* module param index of the first optimizer state */
  /* tbptt: the states carried between batches (module param indices), which
   * eval writes too; reset to their initializers at each epoch's start */
  int32_t *carried;
  int ncarried;
} TrainStep;

/* Adds the step and eval functions (and the state parameters) to m. Returns
 * false with a message when the config cannot be compiled (no such loss
 * function, a loss that is not a scalar, parameters that are not f32). */
bool train_step_build(Arena *a, IrModule *m, const TrainConfig *c, TrainStep *out, char *err,
                      size_t errlen);

#endif
