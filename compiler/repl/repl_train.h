/* repl_train.h - the REPL's commands on a model's runtime handle (see
 * repl_model.h): training it and saving or restoring its weights. `args`
 * is what follows the command's name. Each returns false after reporting
 * an error, leaving the handle as it was. */
#ifndef NNC_REPL_TRAIN_H
#define NNC_REPL_TRAIN_H

#include <stdbool.h>

#include "repl_session.h"

/* `:train MODEL STEPS`: STEPS optimizer steps over the batches of the
 * data section's shuffled epochs, continuing where the last one stopped,
 * printing `step N loss X` (every step, or about ten of them). */
bool repl_train(Repl *r, const char *args);
/* `:save MODEL FILE` and `:restore MODEL FILE`: safetensors checkpoints. */
bool repl_save(Repl *r, const char *args);
bool repl_restore(Repl *r, const char *args);

#endif
