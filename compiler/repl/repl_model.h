/* repl_model.h - the runtime handles of the session's models, for :train,
 * :save and :restore. A handle is made when a command first names its
 * model: the session's definitions are compiled together, the model's
 * training step and loss are JIT-compiled and wrapped in an nnrt_model
 * (the same descriptor `nnc run` builds), with its parameters initialised
 * from the data section's seed and its training data loaded (a model
 * without data and train sections gets a handle too, for its weights). It keeps its
 * weights and its place in the epoch order until the model is defined
 * again. */
#ifndef NNC_REPL_MODEL_H
#define NNC_REPL_MODEL_H

#include <stdint.h>

#include "frontend.h"
#include "jit.h"
#include "nnrt_data.h"
#include "nnrt_model.h"
#include "repl_session.h"
#include "train_step.h"

struct ReplModel {
  char *name;
  char *text;        /* the session source it was compiled from */
  Compilation *comp; /* owns the IR and the descriptor */
  Jit *jit;          /* owns the code */
  nnrt_model *m;
  TrainStep ts;            /* with a train section */
  nnrt_dataset train, val; /* as the compiled step takes them; empty without data */
  int64_t epoch, batch;    /* where the next step is in the epoch order */
  int64_t *perm;           /* the order of `epoch` */
  void *x, *y;             /* one batch */
};

/* The handle of model `name`, made if need be; NULL after reporting why
 * (no such model, data that cannot be read). */
ReplModel *repl_model(Repl *r, const char *name);
/* Forgets the handle of `name`, if any (the model was defined again). */
void repl_model_drop(Repl *r, const char *name);
void repl_models_free(Repl *r);

#endif
