/* nnrt_train.h - the training loop, learning-rate schedules and the
 * run-time side of the optimizers.
 *
 * The optimizer's arithmetic is compiled into the model's training step (one
 * fused pass over each parameter and its state); its constants (betas, eps,
 * weight decay, momentum) are baked in there. What changes from step to step
 * comes from here, as four floats ("hyper") the step reads:
 *
 *   hyper[0]  the learning rate of this step (schedule and warm-up applied)
 *   hyper[1]  adam/adamw: hyper[0] / (1 - beta1^t)   (bias correction)
 *   hyper[2]  adam/adamw: 1 / sqrt(1 - beta2^t)
 *   hyper[3]  0 (reserved)
 *
 * where t is the 1-based step number (t < 1 counts as 1 in the corrections).
 * For sgd and rmsprop hyper[1] and hyper[2] are 0. The loop drives a
 * compiled model through callbacks, so the JIT (`nnc run`) and
 * ahead-of-time executables share it. Nothing here prints unless a log
 * stream is given.
 */
#ifndef NNRT_TRAIN_H
#define NNRT_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "nnrt.h"
#include "nnrt_checkpoint.h"
#include "nnrt_data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- optimizers and schedules ------------------------------------------ */

typedef enum nnrt_optim_kind { NNRT_SGD, NNRT_ADAM, NNRT_ADAMW, NNRT_RMSPROP } nnrt_optim_kind;

typedef enum nnrt_schedule_kind {
  NNRT_SCHED_CONSTANT,
  NNRT_SCHED_STEP,   /* lr * gamma^floor(epoch / every) */
  NNRT_SCHED_COSINE, /* min_lr + (lr - min_lr) * (1 + cos(pi * s / S)) / 2 over the
                        S = total_steps - warmup steps after the warm-up */
} nnrt_schedule_kind;

typedef struct nnrt_optimizer {
  nnrt_optim_kind kind;
  double lr;
  double beta1, beta2; /* adam, adamw */
  nnrt_schedule_kind schedule;
  int64_t every;       /* STEP: epochs between decays */
  double gamma;        /* STEP: factor */
  double min_lr;       /* COSINE: the floor */
  int64_t warmup;      /* steps of linear warm-up: lr * t / warmup for t <= warmup */
  int64_t total_steps; /* COSINE: steps in the whole run (the loop sets it) */
} nnrt_optimizer;

/* The learning rate of 1-based step t in 0-based epoch `epoch`: the
 * schedule's value, times t / warmup while t <= warmup. STEP with every <= 0
 * and COSINE with total_steps <= warmup are constant; COSINE holds min_lr
 * after total_steps. Computed in double. */
double nnrt_optimizer_lr(const nnrt_optimizer *o, int64_t t, int64_t epoch);
/* Fills hyper[4] for step t (see the top of this file). */
void nnrt_optimizer_hyper(const nnrt_optimizer *o, int64_t t, int64_t epoch, float hyper[4]);

/* ---- the compiled model, as the loop sees it ---------------------------- */

typedef struct nnrt_model_io {
  void *ctx;
  const char *model_name; /* checked against a checkpoint's "nnc.model" */
  /* One training step on `batch` samples (x, y as nnrt_dataset_gather lays
   * them out): forward, backward and the update of every parameter and its
   * optimizer state in place. Writes *loss (the batch mean) and, when
   * num_classes > 0 and logits != NULL, logits [batch, num_classes].
   * The loop passes logits only when it can score them: I32 labels in y
   * (then logits hold one row per label: [batch * y_size, num_classes], so a
   * sequence model with y [seq] writes [batch, seq, num_classes]) or F32
   * targets of y_size == num_classes (scored by their argmax). Otherwise
   * logits is NULL and no accuracy is reported. A prediction is the first
   * largest logit of its row. `step` is the number of steps done before
   * this one: the step the model's random ops (dropout) draw with. */
  int (*train_step)(void *ctx, int64_t step, int64_t batch, const void *x, const void *y,
                    const float hyper[4], float *loss, float *logits, char *err, size_t errlen);
  /* The same loss (and logits) with nothing updated. */
  int (*evaluate)(void *ctx, int64_t batch, const void *x, const void *y, float *loss,
                  float *logits, char *err, size_t errlen);
  int64_t num_classes; /* > 0: the loss is a cross-entropy; accuracy is reported */
  /* Truncated backpropagation through time, or NULL: puts the carried
   * states back to their initializers. With it, training and evaluation
   * read full batches in nnrt_stream_order (no shuffling; the samples past
   * the last full batch are left out) and call it at the start of each
   * epoch and of each evaluation, so that the states carry along the
   * streams; evaluate then writes the carried states too. */
  int (*reset_carried)(void *ctx, char *err, size_t errlen);
  /* What a checkpoint holds, in this order: parameters, optimizer state, and
   * anything else the caller keeps with them (data statistics). */
  nnrt_named_tensor *tensors;
  int ntensors;
} nnrt_model_io;

/* ---- checkpoints -------------------------------------------------------- */

/* Where a run stands; saved as checkpoint metadata ("nnc.step", ...) so a
 * resumed run continues exactly where the saved one was: the same epoch
 * lines (timings aside) and the same final parameters, bit for bit.
 * batch may equal the epoch's batch count: the epoch's batches are done but
 * not its end (validation, its line), which a resumed run then does. */
typedef struct nnrt_train_state {
  int64_t step;  /* optimizer steps done */
  int64_t epoch; /* current 0-based epoch */
  int64_t batch; /* batches of `epoch` done */
  /* running sums of the current epoch, so its summary line is the same */
  double loss_sum; /* sum over done batches of loss * batch size */
  int64_t correct, seen;
  /* early stopping */
  double best_val_loss; /* +inf before the first validation */
  int64_t bad_epochs;
  nnrt_rng rng; /* saved and restored with the run; the model's random
                   ops do not use it: they are counter-based (seed, step,
                   element), so the step count is all they need */
} nnrt_train_state;

/* Zero counts, best_val_loss = +inf, rng seeded from seed. */
void nnrt_train_state_init(nnrt_train_state *s, uint64_t seed);

/* Writes m->tensors and s (plus nnc.model and the extra metadata) to path,
 * atomically. Metadata: "nnc.format" = "1", "nnc.model", then "nnc.step",
 * "nnc.epoch", "nnc.batch", "nnc.loss_sum" (%.17g), "nnc.correct",
 * "nnc.seen", "nnc.best_val_loss" (%.17g, "inf" before any validation),
 * "nnc.bad_epochs" and "nnc.rng" ("<key>:<counter>"), all decimal. An extra
 * key equal to one of these is NNRT_ERR_ARG. */
int nnrt_checkpoint_save(const char *path, const nnrt_model_io *m, const nnrt_train_state *s,
                         const nnrt_kv *extra, int nextra, char *err, size_t errlen);

/* Reads path into m->tensors, checking that it was written for this model
 * (nnc.model), that every tensor is there with its dtype and shape, and
 * that the file has no tensor the model lacks; fills *s if s != NULL. The
 * state metadata must be present and well formed even when s is NULL.
 * Errors start with the path and name the tensor or metadata key; the
 * weights are checked before the optimizer's state, and a file with every
 * weight but not that state (a fit's, another train section's) is "no
 * optimizer state". On any error nothing in m->tensors (or *s) has
 * changed. */
int nnrt_checkpoint_load(const char *path, const nnrt_model_io *m, nnrt_train_state *s, char *err,
                         size_t errlen);
/* The weights alone: as nnrt_checkpoint_load, but the optimizer's state
 * (nnrt_checkpoint_is_optim) is neither read nor required, in either
 * direction: the file's is skipped, the model's is left as it is, so a
 * checkpoint of a fit or of another train section of the same model
 * loads. The state metadata is checked, not returned. */
int nnrt_checkpoint_load_weights(const char *path, const nnrt_model_io *m, char *err,
                                 size_t errlen);
/* Whether a checkpoint tensor is optimizer state ("optim.<param>.<state>"),
 * which only training reads. */
bool nnrt_checkpoint_is_optim(const char *name);

/* ---- the loop ---------------------------------------------------------- */

typedef struct nnrt_train_config {
  int64_t epochs;
  int64_t batch;
  uint64_t seed;
  bool shuffle;
  nnrt_optimizer opt;
  const char *checkpoint;   /* NULL: none written */
  const char *best;         /* with a validation set: also written at the end of each epoch
                               whose val loss is the lowest so far; NULL: not kept */
  int64_t checkpoint_every; /* also every this many steps (0: only at epoch ends) */
  bool resume;              /* load `checkpoint` first and go on from its state */
  const char *section;      /* the train section, for messages (NULL: "step") */
  int64_t patience;         /* stop after this many epochs without a lower val loss; 0 = never;
                               needs a validation set */
  FILE *log;                /* progress and per-epoch lines; NULL: silent */
  int progress;             /* 1 progress bar, 0 plain lines, -1 bar iff log is a terminal */
  const volatile sig_atomic_t *interrupt; /* read after every step: when non-zero, save (if
                                             `checkpoint`) and stop with NNRT_OK */
  const nnrt_kv *meta;                    /* extra checkpoint metadata */
  int nmeta;
  nnrt_augment augment; /* applied to each training batch, drawn from (seed, epoch, sample);
                           zero: none. Never to the validation set. */
} nnrt_train_config;

/* Filled also when nnrt_train fails after it started (how far it got). */
typedef struct nnrt_train_result {
  int64_t epochs;           /* epochs completed, counting those before a resume */
  int64_t steps;            /* optimizer steps done, counting those before a resume */
  double loss, acc;         /* the last completed epoch's training loss and accuracy */
  double val_loss, val_acc; /* its validation figures (has_val) */
  bool has_val, has_acc;
  bool interrupted;     /* stopped by *interrupt (after saving, if there is a checkpoint) */
  bool stopped_early;   /* patience ran out */
  double seconds;       /* wall time of the loop */
  double samples_per_s; /* training samples of this call / seconds */
} nnrt_train_result;

/* Trains for c->epochs over `train`, evaluating on `val` (NULL or n == 0:
 * none; else the same sample dtypes and shapes) after each epoch. Per epoch,
 * the order is nnrt_epoch_order(n, seed, epoch, shuffle) and the last batch
 * may be short; c->opt.total_steps is set (on a copy) to epochs * batches
 * per epoch. With c->resume the checkpoint must exist and hold the
 * optimizer's state (the error says that --init starts from the weights of
 * one that does not, naming c->section). A checkpoint is
 * written after every epoch (and every checkpoint_every steps) when
 * c->checkpoint is set, and to c->best after an epoch that lowered the
 * validation loss (a whole checkpoint, resumable like the other, so after an
 * early stop it holds the parameters of the best epoch). A NaN or Inf loss
 * stops with NNRT_ERR_NONFINITE and "loss is nan at step S (epoch E, batch
 * B); stopped without saving" (1-based), without writing a checkpoint; a
 * step whose gradient norm is not finite likewise ("the gradient norm is
 * not finite at step S ..."). The compiled step refuses such a step before
 * it updates anything, so the parameters stay those of the last good
 * step. The log gets one line per epoch (or a progress bar that the epoch
 * line replaces) and a line for an early stop or an interrupt; the caller
 * prints any summary. */
int nnrt_train(const nnrt_model_io *m, const nnrt_train_config *c, const nnrt_dataset *train,
               const nnrt_dataset *val, nnrt_train_result *r, char *err, size_t errlen);

/* Mean loss (and accuracy when num_classes > 0) over d in batches. */
int nnrt_evaluate(const nnrt_model_io *m, const nnrt_dataset *d, int64_t batch, double *loss,
                  double *acc, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
