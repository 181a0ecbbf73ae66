/* model_impl.h - the inside of an nnrt_model handle, shared by the handle
 * API (model.c, model_exec.c) and the commands built on it (run_commands.c,
 * cli.c). Internal: not installed, not part of the public API. */
#ifndef NNRT_MODEL_IMPL_H
#define NNRT_MODEL_IMPL_H

#include <stdbool.h>

#include "nnrt_data.h"
#include "nnrt_model.h"
#include "nnrt_train.h"

/* Run-time dims a function may have; a descriptor with more is refused, so
 * the binding code can keep them on the stack. */
enum { NNRT_MAX_FUNC_DIMS = 64 };

/* The workspace of one function, laid out for the dims it was last called
 * with; re-laid out only when they change and grown, never shrunk. */
typedef struct nnrt_ws_cache {
  bool valid;
  int64_t *dims;    /* ndims, of the cached layout */
  int64_t *offsets; /* nbufs */
  char *ws;         /* 64-byte aligned; starts with the status header */
  int64_t cap;
} nnrt_ws_cache;

struct nnrt_model {
  const nnrt_model_desc *d;
  void **params;            /* every desc param's data, desc order: what entries get */
  nnrt_named_tensor *named; /* params, then data.mean and data.std: what checkpoints hold */
  int nnamed;
  float *mean, *std; /* standardize: per-feature statistics (zeros until computed or loaded) */
  int64_t nstats;
  nnrt_ws_cache *ws; /* one per function */
  float *scratch;    /* logits nobody asked for */
  int64_t scratch_elems;
  float *xbuf; /* a standardised copy of the caller's x */
  int64_t xbuf_elems;
  nnrt_optimizer opt; /* the train section's */
  uint64_t seed;
  uint64_t rng_seed;    /* what random ops draw with: seed, or set_seed's */
  int64_t steps, epoch; /* steps: also the step random ops draw with */
  bool has_epoch;
  double fixed_lr;     /* > 0: nnrt_model_set_lr's */
  int64_t sched_total; /* > 0: nnrt_model_set_schedule's steps; 0: the constant base rate */
  int64_t sched_pos;   /* train_step calls since set_schedule */
  bool raw_input;      /* false: x is already scaled and standardised (set_input_normalised) */
  /* generation: the vocabulary (token i is byte vocab[i]; nvocab 0: none
   * yet), as hex for checkpoint metadata, and the step's scores */
  char vocab[NNRT_MAX_VOCAB];
  int nvocab;
  char vocab_hex[2 * NNRT_MAX_VOCAB + 1];
  float *scores;
  int64_t nscores;
  char err[1024];
};

/* Re-initialises parameters which[0..n) (states) from their initializers,
 * drawing from `seed`; `what` starts the message of a failure. */
int nnrt_model_init_states(nnrt_model *m, const int32_t *which, int n, uint64_t seed,
                           const char *what);

/* Writes the message of the last failure into m->err; returns code. */
__attribute__((format(printf, 3, 4))) int nnrt_model_fail(nnrt_model *m, int code, const char *fmt,
                                                          ...);

/* The polynomial d at dims; *ok becomes false on overflow. */
int64_t nnrt_dim_value(const nnrt_dim *d, const int64_t *dims, bool *ok);
/* Elements of argument a at dims, or -1 on overflow. */
int64_t nnrt_arg_numel(const nnrt_arg_desc *a, const int64_t *dims);

/* The run-time dims of f for a call on `batch` samples: a dim met as axis 0
 * of input 0 or 1 is the batch, one met at another axis takes the size the
 * sample shape gives (xdims for input 0, ydims for input 1; NULL: unknown).
 * NNRT_ERR_SHAPE in m->err when a dim cannot be told, or when a known
 * sample shape differs from what its declared dims give (an axis declared
 * T - 1 whose size is not T - 1). */
int nnrt_model_bind_dims(nnrt_model *m, const nnrt_func_desc *f, int64_t batch,
                         const int64_t *xdims, int xrank, const int64_t *ydims, int yrank,
                         int64_t *dims);

/* Calls function fi with dims already checked to be positive: lays out its
 * workspace and turns a failure into a message (labels out of range). */
int nnrt_model_invoke(nnrt_model *m, int fi, const int64_t *dims, const void *const *inputs,
                      void *const *outputs);

/* After function fi returned NNRT_ERR_NONFINITE: whether the loss (not
 * only the gradient norm) was NaN or Inf. */
bool nnrt_model_nonfinite_loss(const nnrt_model *m, int fi);

/* A loss function (the training step with hyper, or eval without) on a
 * batch whose per-sample shapes are `shape`'s (NULL: the descriptor's).
 * logits may be NULL even when the function returns them. */
int nnrt_model_loss_call(nnrt_model *m, int fi, int64_t batch, const nnrt_dataset *shape,
                         const void *x, const void *y, const float *hyper, float *loss,
                         float *logits);

/* x (batch samples of x_size elements for function fi) as the training
 * data were fed to the model: f32 features times the data section's scale
 * (csv, idx) and standardised with the model's statistics. x itself when
 * there is nothing to do, else m's buffer; NULL when out of memory or
 * x_size is unknown (-1) while something is to be done. */
const void *nnrt_model_input(nnrt_model *m, int fi, int64_t batch, int64_t x_size, const void *x);

/* ---- fit = ridge(...) (ridge.c) ----
 * Solves (A + alpha I') W = B for the symmetric positive definite n x n a
 * (row-major) and b [n, k], I' the identity on the first `penalised`
 * diagonal entries; W overwrites b, a is destroyed. LAPACK's dposv, f64. */
int nnrt_ridge_solve(int64_t n, int64_t k, double *a, double *b, double alpha, int64_t penalised,
                     char *err, size_t errlen);
/* The train section's fit: runs cfg.fit_features over `train` in batches,
 * accumulates the rows (after cfg.fit_washout steps) against y, solves and
 * writes cfg.fit_weight and cfg.fit_bias. */
int nnrt_fit_ridge(nnrt_model *m, const nnrt_dataset *train, int64_t batch, char *err,
                   size_t errlen);

/* Makes data.mean and data.std nfeatures long (zeros) and part of the
 * checkpoint tensors, unless they already are. */
int nnrt_model_use_stats(nnrt_model *m, int64_t nfeatures);

/* Parameters, optimizer state and statistics as checkpoints see them. */
nnrt_model_io nnrt_model_io_for(nnrt_model *m);

/* The train section's optimizer (total_steps = its epochs, for the
 * loops that set their own). */
nnrt_optimizer nnrt_model_optimizer(const nnrt_train_desc *c);

/* The vocabulary as checkpoint metadata ("nnc.vocab": its bytes in hex)
 * into *kv, valid while m is: 1, or 0 when m has none. */
int nnrt_model_vocab_meta(const nnrt_model *m, nnrt_kv *kv);
/* nnrt_checkpoint_vocab with the reader's error code: *n bytes into
 * bytes (256 long), 0 when the checkpoint has no vocabulary. */
int nnrt_checkpoint_read_vocab(const char *path, char *bytes, int64_t *n, char *err, size_t errlen);

/* The function losses are computed with: eval, else the training step. */
int nnrt_model_loss_func(const nnrt_model *m);

#endif
