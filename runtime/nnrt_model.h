/* nnrt_model.h - a compiled model as data, and the handle that runs it.
 *
 * A model compiled by nnc is described by one constant nnrt_model_desc: its
 * parameters (and optimizer state), its compiled functions with their
 * argument shapes and workspace plans, and the data and train sections it
 * was written with. `nnc -c` emits the descriptor into the object file as
 * `<prefix>_desc` next to the code; `nnc run` builds the same descriptor
 * around JIT-compiled code. Everything that runs a model, the handle API
 * below, the training loop and the command line of an executable
 * (nnrt_main), works from the descriptor alone, so the JIT, executables and
 * embedded objects behave the same.
 *
 * The generated header (`nnc -c model.nn --header model.h`) declares typed,
 * name-prefixed functions over these; embedding programs normally use those
 * and never need this file's structures.
 *
 * Errors: every function returns NNRT_OK or an NNRT_ERR_* code; the message
 * of the last failed call on a handle is nnrt_model_error(). Nothing here
 * prints (nnrt_main aside), exits or aborts.
 *
 * Thread safety: one handle must not be used by two threads at once (it owns
 * the workspaces of its calls). Different handles may be used from
 * different threads concurrently, also handles of the same model; the
 * process-wide thread pool then serves one of them and the others run their
 * kernels on their calling thread (correct, but reductions may then sum in
 * another order than a lone call: bit-exact repeats need one caller).
 */
#ifndef NNRT_MODEL_H
#define NNRT_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nnrt.h"
#include "nnrt_data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a descriptor structure or what compiled code returns
 * changes (3: a label site states its class count, and a training step may
 * refuse a non-finite step; 4: a dim is a sum of products, nnrt_dim, and
 * every entry point takes {seed, step} for its random ops; 5: the data
 * section's image shape and augmentation; 6: index sites, and generation:
 * the step function, the states it resets and the vocabulary; 7: the
 * states tbptt carries between batches, the mackey_glass source and the
 * ridge fit; 9: the generation step's tables);
 * nnrt_model_create refuses a descriptor of another version (an object
 * compiled by another nnc). */
enum { NNRT_MODEL_ABI = 9, NNRT_DIM_TERMS = 3, NNRT_DIM_DEGREE = 4 };

/* ---- the descriptor ------------------------------------------------------
 * Only fixed-width integers, doubles and pointers, so the layout is the
 * same in C and in the LLVM constants nnc emits (checked by `size`). */

/* coeff * dims[syms[0]] * ... * dims[syms[nsyms - 1]], nsyms >= 1. */
typedef struct nnrt_dim_term {
  int64_t coeff;
  int32_t nsyms;
  int32_t syms[NNRT_DIM_DEGREE];
} nnrt_dim_term;

/* constant + terms[0] + ... + terms[nterms - 1]: a size in the run-time
 * dims of a function (its batch size and other symbolic dims), such as
 * 784, B, B*T, T - 1 or 2*H + 4. */
typedef struct nnrt_dim {
  int64_t constant;
  int32_t nterms;
  nnrt_dim_term terms[NNRT_DIM_TERMS];
} nnrt_dim;

typedef struct nnrt_arg_desc {
  const char *name;
  int32_t dtype; /* nnrt_dtype */
  int32_t rank;
  nnrt_dim dims[NNRT_MAX_RANK];
} nnrt_arg_desc;

/* One workspace buffer: numel * elem_size bytes, live from kernel `first`
 * to kernel `last` (inclusive); laid out by nnrt_plan_layout. */
typedef struct nnrt_buffer_desc {
  nnrt_dim numel;
  int64_t elem_size;
  int32_t first, last;
} nnrt_buffer_desc;

/* Labels and indices checked by a compiled function (cross_entropy,
 * one_hot, gather, scatter_add): when one is out of range the function
 * returns 1 and reports the value's id in the workspace's status area; this
 * says what to call it in the message. */
typedef struct nnrt_label_site {
  int32_t value;  /* the IR value id the code reports */
  int32_t input;  /* the function input it is, or -1 */
  const char *op; /* the op that reads it: "cross_entropy", "one_hot", "gather", ... */
  int32_t rank;
  nnrt_dim dims[NNRT_MAX_RANK];
  int64_t classes; /* labels must lie in [0, classes); 0 when not a constant */
} nnrt_label_site;

/* What a site's values are called in messages: "label" for the class
 * indices of cross_entropy and one_hot, "index" for the rest. */
const char *nnrt_index_noun(const char *op);

/* A run-time position checked by a compiled function: a slice's index
 * given as an i32 argument, or a constant start on an axis of symbolic
 * extent. When it falls outside the axis the function returns 3 with the
 * view's value id and the axis in the status area; this says what to call
 * the sliced tensor and the index in the message. */
typedef struct nnrt_index_site {
  int32_t value;      /* the IR value id the code reports */
  int32_t axis;       /* the axis of the sliced tensor */
  int32_t gradient;   /* 1: the view is a slice's gradient, not the slice */
  int64_t step;       /* the slice's step on that axis */
  const char *tensor; /* the sliced input or parameter, or NULL */
  const char *arg;    /* the i32 argument giving the index, or NULL */
} nnrt_index_site;

/* The message of a failed position check of function `func` at site s
 * (NULL: unknown), from the five int64 status slots compiled code wrote
 * (value, axis, position, extent, length); the JIT says the same. */
void nnrt_index_message(const char *func, const nnrt_index_site *s, const int64_t *status,
                        char *buf, size_t len);

/* The calling convention of compiled code (see compiler/jit.h). */
typedef int32_t (*nnrt_entry_fn)(const int64_t *dims, void *const *inputs, void *const *params,
                                 void *const *outputs, char *ws, const int64_t *ws_offsets,
                                 const uint64_t *rng);

typedef struct nnrt_func_desc {
  const char *name;
  int32_t ndims; /* run-time dims, named after the model's symbols */
  const char *const *dim_names;
  int32_t ninputs, nresults;
  const nnrt_arg_desc *inputs, *results;
  int32_t nbufs, nlabels;
  const nnrt_buffer_desc *bufs;
  const nnrt_label_site *labels;
  nnrt_entry_fn entry;
  int32_t nindexes;
  const nnrt_index_site *indexes;
} nnrt_func_desc;

/* Parameters first, in the module's order, then optimizer state
 * ("optim.<param>.<state>"); all constant shapes. */
typedef struct nnrt_param_desc {
  const char *name;
  int32_t dtype, rank;
  int64_t dims[NNRT_MAX_RANK];
  int32_t init; /* nnrt_init_kind */
  int32_t trainable;
  double a, b;       /* the initializer's arguments */
  const void *baked; /* weights compiled in (nnc --bake), or NULL */
} nnrt_param_desc;

typedef enum nnrt_data_kind {
  NNRT_DATA_NONE,
  NNRT_DATA_CSV,
  NNRT_DATA_IDX,
  NNRT_DATA_NPY,
  NNRT_DATA_TEXT,
  NNRT_DATA_NPZ,
  NNRT_DATA_MACKEY_GLASS /* generated: no file */
} nnrt_data_kind;

/* A data source as the data section gives it (see nnrt_data.h). */
typedef struct nnrt_source_desc {
  int32_t kind;      /* nnrt_data_kind */
  const char *path;  /* csv, text, npz; idx images; npy x */
  const char *path2; /* idx labels; npy y; or NULL */
  int32_t has_label, label, header, nfeatures;
  const int32_t *features;      /* NULL: every column but the label */
  double scale;                 /* 0: none */
  int64_t seq;                  /* text, mackey_glass: window length */
  const char *xkey, *ykey;      /* npz: the arrays' names in the archive; else NULL */
  int64_t length, tau, horizon; /* mackey_glass: nnrt_load_mackey_glass's n, tau, horizon */
} nnrt_source_desc;

typedef struct nnrt_train_desc {
  int32_t has_data, has_train;
  nnrt_source_desc source, val_source; /* val_source.kind NONE: split `validation` off */
  double validation;
  int64_t batch, epochs;
  uint64_t seed;
  int32_t shuffle, standardize;
  /* the optimizer: nnrt_optimizer's fields (nnrt_train.h) */
  int32_t optim;    /* nnrt_optim_kind */
  int32_t schedule; /* nnrt_schedule_kind */
  double lr, beta1, beta2, gamma, min_lr;
  int64_t every, warmup, patience, checkpoint_every;
  /* image data (the data section's image, random_crop, shift, hflip) */
  int64_t image[3];           /* [C, H, W] of each sample; zeros: the file's shape */
  int64_t random_crop, shift; /* 0: off */
  double hflip;               /* 0: off */
  /* A closed-form fit instead of gradient descent (fit = ridge(...)):
   * NNRT_FIT_RIDGE fits the linear readout fit_weight [N, K] and fit_bias
   * [K] to the rows of the function fit_features (runtime/ridge.c). */
  int32_t fit; /* nnrt_fit_kind */
  double fit_alpha;
  int64_t fit_washout;
  const char *fit_features, *fit_weight, *fit_bias;
  /* the train section compiled in (nnc --train NAME; the model's first by
   * default), or NULL */
  const char *step_name;
} nnrt_train_desc;

typedef enum nnrt_fit_kind { NNRT_FIT_NONE, NNRT_FIT_RIDGE } nnrt_fit_kind;

typedef struct nnrt_model_desc {
  int32_t abi;  /* NNRT_MODEL_ABI */
  int32_t size; /* sizeof(nnrt_model_desc) as the emitter laid it out */
  const char *name;
  int32_t nparams, nfuncs;
  const nnrt_param_desc *params;
  const nnrt_func_desc *funcs;
  /* Indices into funcs, or -1: the training step (x, y, hyper) -> (loss
   * [, logits]); the loss with logits (x, y) -> (loss, logits); and the
   * one-input inference function (predict, else forward). */
  int32_t train, eval, predict;
  int32_t nupdated;    /* parameters the training step updates */
  int64_t num_classes; /* > 0: the loss is a cross-entropy over this many */
  nnrt_train_desc cfg;
  /* standardize = true with baked weights: the training data's per-feature
   * mean and std (input_size floats each), else NULL */
  const float *baked_mean, *baked_std;
  /* Generation (a generate section): the step function, (token: i32[1],
   * tables...) -> scores f32[1, V], or -1; the function that computes its
   * tables from the weights, () -> (tables...), run once per generation
   * (products of an embedding and a weight matrix, which the step picks
   * rows of), or -1 when the step takes only the token; the states it
   * writes (indices into params), reset to their initializers before each
   * generation; and the vocabulary compiled in with --bake (token i is byte
   * vocab[i]), or NULL. */
  int32_t generate;
  int32_t generate_tables;
  int32_t nresets;
  const int32_t *resets;
  int32_t nvocab;
  const char *vocab;
  /* Truncated backpropagation through time (the train section's tbptt):
   * the states carried from one batch to the next (indices into params),
   * which the eval function writes too. With any, training and evaluation
   * read the data as streams and reset these states to their initializers
   * at the start of each pass (nnrt_train.h). */
  int32_t ncarried;
  const int32_t *carried;
} nnrt_model_desc;

/* Elements of one sample of a (the dims after the batch axis), or -1 when
 * one of them is symbolic. */
int64_t nnrt_arg_sample_numel(const nnrt_arg_desc *a);
/* d as text in f's dim names ("B*T", "T - 1", "64") into buf (always
 * terminated, cut short when it does not fit). */
void nnrt_dim_text(const nnrt_func_desc *f, const nnrt_dim *d, char *buf, size_t len);

/* ---- the handle ------------------------------------------------------- */

typedef struct nnrt_model nnrt_model;

/* A model with its parameters initialised from the descriptor's seed (or
 * copied from baked weights) and its optimizer state zeroed. *out is NULL
 * only when the descriptor is unusable or memory ran out; then the return
 * code says which and nnrt_model_create_error() has the message. */
int nnrt_model_create(const nnrt_model_desc *d, nnrt_model **out);
const char *nnrt_model_create_error(void); /* thread-local, for a failed create */
void nnrt_model_free(nnrt_model *m);       /* NULL is fine */

/* The message of the last failed call on m ("" if none). */
const char *nnrt_model_error(const nnrt_model *m);
const nnrt_model_desc *nnrt_model_descriptor(const nnrt_model *m);

/* Re-initialises every parameter from `seed` (the initializers' stream, as
 * nnc run draws it) and zeroes the optimizer state and step count. */
int nnrt_model_reset(nnrt_model *m, uint64_t seed);

/* Safetensors checkpoints: parameters, optimizer state, data statistics and
 * the training position, as nnc run writes them. Loading checks the model
 * name and every tensor's dtype and shape; on failure m is unchanged.
 * Saving writes a temporary file and renames it. */
int nnrt_model_load(nnrt_model *m, const char *path);
int nnrt_model_save(nnrt_model *m, const char *path);
/* The weights of a checkpoint: parameters, states, data statistics and the
 * vocabulary, checked as nnrt_model_load checks them (the model name,
 * every tensor's dtype and shape; on failure m is unchanged). Optimizer
 * state is neither required nor checked: the file's is skipped and m's
 * stays as it was, and so do the step count and epoch. So a checkpoint of
 * any train section of the model, or of its closed-form fit, serves
 * inference, or starts training with another optimizer (nnc run --init). */
int nnrt_model_load_weights(nnrt_model *m, const char *path);

/* Inputs. predict, train_step and evaluate take x as the data file holds
 * it (pixels 0..16, not 0..1): f32 inputs are transformed inside as the
 * training data were, multiplied by the data section's scale (csv, idx
 * sources; nnrt_model_input_scale) and, when the model was trained with
 * standardize = true, standardised per feature with the statistics of the
 * training data ((x * scale - mean) / std, a std below 1e-7 taken as 1;
 * nnrt_model_input_stats). The transform goes into the handle's buffer; x
 * is not written. A program that has already transformed its inputs turns
 * this off with nnrt_model_set_input_normalised(m, 1); passing normalised
 * inputs without it scales them twice, and the model silently predicts
 * worse. */

/* Inference with the predict function on `batch` samples (any batch >= 1):
 * x is [batch, input sample shape], y [batch, output sample shape], dense
 * row-major in the function's dtypes; x raw unless set_input_normalised. */
int nnrt_model_predict(nnrt_model *m, int64_t batch, const void *x, void *y);

/* One optimizer step on a batch: forward, backward and the update of every
 * trained parameter; *loss (may be NULL) gets the batch's mean loss; x raw
 * unless set_input_normalised (likewise in nnrt_model_evaluate).
 *
 * When the batch's loss or gradient norm is NaN or Inf (a NaN in x, a
 * diverging rate) the step updates nothing: the parameters and optimizer
 * state stay as they were, the step count does not advance, *loss is left
 * alone and the call returns NNRT_ERR_NONFINITE with a message naming the
 * step and whether the loss or the gradient was not finite.
 *
 * The learning rate is the handle's, never the epoch count of nnc run's
 * loop: the train section's base rate `lr`, constant (no warm-up, no
 * decay), unless the program asks for the section's schedule with
 * nnrt_model_set_schedule or fixes a rate with nnrt_model_set_lr.
 * nnrt_model_lr says what the next step will use. */
int nnrt_model_train_step(nnrt_model *m, int64_t batch, const void *x, const void *y, float *loss);
/* The loss on a batch, nothing updated; except that a model trained with
 * tbptt (nnrt_model_desc.carried) carries its states into the next call,
 * as its training steps do: call nnrt_model_reset_carried where a stream
 * of batches starts. */
int nnrt_model_evaluate(nnrt_model *m, int64_t batch, const void *x, const void *y, float *loss);
/* tbptt's carried states back to their initializers, as training does at
 * the start of each epoch and evaluation before its pass. */
int nnrt_model_reset_carried(nnrt_model *m);
/* Fixes the rate (> 0) over any schedule; 0 returns to the schedule. */
int nnrt_model_set_lr(nnrt_model *m, double lr);
/* The train section's schedule (warm-up, step or cosine decay) over the
 * next total_steps calls of train_step, counted from this call: cosine
 * reaches min_lr at total_steps and stays there; a step schedule decays by
 * the epoch nnrt_model_set_epoch gave (a loaded checkpoint sets it), else
 * by those steps. 0: the constant base rate again. */
int nnrt_model_set_schedule(nnrt_model *m, int64_t total_steps);
/* The learning rate the next train_step will use; -1 without a model or a
 * training step. */
double nnrt_model_lr(const nnrt_model *m);
/* The epoch a step schedule decays by and a saved checkpoint records. */
int nnrt_model_set_epoch(nnrt_model *m, int64_t epoch);
int64_t nnrt_model_steps(const nnrt_model *m); /* optimizer steps taken */
/* The epoch a saved checkpoint would record: set_epoch's or the loaded
 * checkpoint's, else the step count; -1 without a model. */
int64_t nnrt_model_epoch(const nnrt_model *m);

/* For programs that run the training loop themselves, step by step as
 * nnrt_run_train does (same rates, same bits): the hyperparameters
 * (nnrt_train.h) of the next step, step nnrt_model_steps(m) + 1, in
 * 0-based `epoch` of a run of total_steps steps (what a cosine schedule
 * ends at), from the train section's optimizer and schedule; set_lr and
 * set_schedule do not apply. */
int nnrt_model_hyper(nnrt_model *m, int64_t total_steps, int64_t epoch, float hyper[4]);
/* One training step with those (or any) hyperparameters, as nnrt_train
 * calls it: x and y as the step takes them, already scaled and
 * standardised (nnrt_run_load_data's sets are; nothing is applied here,
 * whatever set_input_normalised says), laid out as nnrt_dataset_gather
 * does. `shape` (may be NULL) gives the per-sample dims the descriptor
 * leaves symbolic (a text model's sequence length). The step count
 * advances, set_schedule's position does not; a non-finite step updates
 * nothing and returns NNRT_ERR_NONFINITE, as train_step does. */
int nnrt_model_train_step_hyper(nnrt_model *m, int64_t batch, const nnrt_dataset *shape,
                                const void *x, const void *y, const float hyper[4], float *loss);

/* The data section's augmentation (random_crop, shift, hflip) of a batch
 * that a program gathered itself from nnrt_run_load_data's training set,
 * in place: x holds samples idx[0..count) of train as nnrt_dataset_gather
 * wrote them; seed and epoch as nnrt_epoch_order takes them (the data
 * section's seed, or the overriding one). The same batches as
 * nnrt_run_train's. Does nothing when the data section has no
 * augmentation; NNRT_ERR_SHAPE when train's samples are not images. */
int nnrt_model_augment(nnrt_model *m, const nnrt_dataset *train, uint64_t seed, int64_t epoch,
                       const int64_t *idx, int64_t count, void *x);

/* The seed the model's random ops (uniform, normal, dropout) draw with;
 * create and reset set it to their seed (the data section's `seed`). A
 * call draws with this seed and the handle's step count (nnrt_model_steps,
 * the steps taken before it), so the same seed and steps give the same
 * bits at any thread count. */
int nnrt_model_set_seed(nnrt_model *m, uint64_t seed);

/* The factor f32 inputs are multiplied by (1 when the data section has
 * none), and a copy of the standardisation statistics (n must be the
 * input size; NNRT_ERR_ARG when the model does not standardise). The
 * statistics come from the training data: a fresh handle has zeros (baked
 * ones with --bake) until a checkpoint is loaded. */
double nnrt_model_input_scale(const nnrt_model *m);
int nnrt_model_input_stats(nnrt_model *m, float *mean, float *std, size_t n);
/* 1: x is already scaled and standardised (nothing is applied inside);
 * 0: x is raw, as the data file holds it (the default). */
int nnrt_model_set_input_normalised(nnrt_model *m, int normalised);

/* Any compiled function by index, with explicit dims (values of its
 * dim_names) and caller-owned, dense buffers; no standardisation. */
int nnrt_model_call(nnrt_model *m, int func, const int64_t *dims, const void *const *inputs,
                    void *const *outputs);
int nnrt_model_find_func(const nnrt_model *m, const char *name); /* index or -1 */

/* Parameters (and optimizer state) by name: index or -1, and a copy in or
 * out of exactly nnrt_model_param_bytes bytes. */
int nnrt_model_find_param(const nnrt_model *m, const char *name);
int64_t nnrt_model_param_bytes(const nnrt_model *m, int index);
int nnrt_model_get_param(nnrt_model *m, const char *name, void *dst, size_t bytes);
int nnrt_model_set_param(nnrt_model *m, const char *name, const void *src, size_t bytes);
/* The handle's own storage of parameter `index`, nnrt_model_param_bytes
 * long, for reading or writing in place (what compiled functions get);
 * valid until nnrt_model_free. NULL for an index out of range. */
void *nnrt_model_param_data(nnrt_model *m, int index);

/* Elements of one sample of the predict function's input and output (the
 * shape after the batch axis), or -1 without a predict function or when a
 * per-sample dim is symbolic. The train step's x and y likewise. */
int64_t nnrt_model_input_size(const nnrt_model *m);
int64_t nnrt_model_output_size(const nnrt_model *m);
int64_t nnrt_model_label_size(const nnrt_model *m);

/* ---- generation ------------------------------------------------------------
 * A model with a generate section has a step function, (token: i32[1]) ->
 * scores f32[1, V], that writes its recurrent state (`state <-`) at each
 * call. Tokens are characters: token i is byte i of the vocabulary, the
 * distinct bytes of the text the model was trained on, sorted. */
enum { NNRT_MAX_VOCAB = 256 };

/* Resets the states the step writes to their initializers (zeros unless
 * declared otherwise; a random initializer draws from `seed`), feeds the
 * prompt (a C string, each character in the vocabulary) through the step
 * one character at a time, then samples `tokens` characters, feeding each
 * back: out gets them and a '\0' (tokens + 1 bytes). The step's scores are
 * logits: token i is drawn with probability softmax(scores / temperature)
 * over the top_k best scores (0: all of them; ties go to the lower token);
 * temperature 0 or top_k 1 is greedy (the first best score). Only the
 * first vocabulary-size scores are sampled from. Token k of the output
 * draws the k-th uniform of the Philox stream seeded with `seed`
 * (nnrt_sample_token), so a seed gives the same text at any thread count.
 * The vocabulary comes from a checkpoint (nnrt_model_load), the weights
 * compiled in (--bake), or nnrt_model_set_vocab. */
int nnrt_model_generate(nnrt_model *m, const char *prompt, int64_t tokens, double temperature,
                        int64_t top_k, uint64_t seed, char *out);
/* Sets the vocabulary: n (1..256) distinct bytes, token i = bytes[i]. */
int nnrt_model_set_vocab(nnrt_model *m, const char *bytes, int64_t n);
/* The vocabulary's size (0: none), its bytes copied into out when cap is
 * large enough; -1 without a model. */
int64_t nnrt_model_vocab(const nnrt_model *m, char *out, size_t cap);
/* The vocabulary a checkpoint's metadata holds ("nnc.vocab", written by
 * training on a text and by nnrt_model_save) into bytes (256 long): its
 * size, 0 when it has none, -1 on error (err says why). */
int64_t nnrt_checkpoint_vocab(const char *path, char *bytes, char *err, size_t errlen);
/* One draw as nnrt_model_generate makes it for the token at `position`:
 * the index in [0, n) (n <= 256), or -1 when a score is not finite, n is
 * out of range or the temperature is negative or not finite. */
int64_t nnrt_sample_token(const float *scores, int64_t n, double temperature, int64_t top_k,
                          uint64_t seed, uint64_t position);

/* ---- the command line of a compiled model -----------------------------
 * What `./model` does (`nnc model.nn -o model`): train, eval, predict and
 * --help, as `nnc run` does for the same model with the same seed and
 * thread count. argv[0] names the program; the default checkpoint is
 * `<argv[0]'s base name>.safetensors`. Prints to stdout and stderr;
 * returns the exit status (0, 1 for errors, 2 for a bad command line). */
int nnrt_main(const nnrt_model_desc *d, int argc, char **argv);

/* The pieces nnrt_main is made of, also used by `nnc run`. */
typedef struct nnrt_run_options {
  const char *data;       /* replaces the data section's path ("a,b" for two files) */
  const char *checkpoint; /* train: written; eval/predict/generate: its weights read
                             (NULL: baked or initial) */
  const char *predict;    /* predict: rows of features (.csv or .npy) in the data
                             file's units, transformed as nnrt_model_predict does */
  const char *out;        /* predict: .npy or .csv output; NULL: CSV on stdout */
  int64_t epochs, batch;  /* 0: the train section's */
  double lr;              /* 0: the train section's */
  bool has_seed, resume;
  const char *init; /* train: start from this checkpoint's weights (nnrt_model_load_weights),
                       with fresh optimizer state at epoch 0; not with resume */
  uint64_t seed;
  int progress;     /* -1 auto (terminal), 0, 1 */
  const char *prog; /* names the program in messages ("<prog>: error: ..."); NULL: "nnc" */
  /* generate: the prompt, the characters to sample (default 200), the
   * temperature (default 1; has_temperature: given) and top-k (0: all) */
  const char *generate;
  bool has_tokens, has_temperature;
  int64_t tokens;
  double temperature;
  int64_t top_k;
} nnrt_run_options;

/* The valued flags `nnc run` and a compiled model's `train` share, parsed
 * in one place for both: --epochs N, --batch N (>= 1), --seed N (>= 0),
 * --lr X (positive, finite), and generation's --tokens N (>= 0),
 * --temperature X (finite, >= 0), --top-k N (>= 0) into o, and --threads N
 * (>= 1, at most 4096) into *threads. Returns 1 when flag is one of them and value is good, 0
 * when flag is none of them, and -1 with the reason in msg (e.g. "--lr
 * expects a positive finite number") when value is missing or wrong. */
int nnrt_run_parse_value(nnrt_run_options *o, int *threads, const char *flag, const char *value,
                         char *msg, size_t msglen);

/* Each prints what nnc run prints (epoch lines, then "result: ...";
 * "eval: ..."; predictions) and returns the exit status. Train handles
 * SIGINT itself: it saves and stops. */
int nnrt_run_train(nnrt_model *m, const nnrt_run_options *o);
int nnrt_run_eval(nnrt_model *m, const nnrt_run_options *o);
int nnrt_run_predict(nnrt_model *m, const nnrt_run_options *o);
/* Prints the prompt and the text sampled after it (nnrt_model_generate;
 * the seed is o->seed, else the data section's), the weights and the
 * vocabulary from o->checkpoint, else the baked ones, else those m holds
 * (after nnrt_run_train), the vocabulary else from the data section's
 * text. */
int nnrt_run_generate(nnrt_model *m, const nnrt_run_options *o);

/* The training and validation sets as nnrt_run_train feeds them (the data
 * section's sources, split, checked against the model and standardised,
 * the model's statistics taken from the training split), for a program
 * that runs the steps itself (nnrt_model_train_step_hyper; `nnc repl`
 * does). Prints errors as nnrt_run_train does and returns 0 or 1; free the
 * sets with nnrt_dataset_free. */
int nnrt_run_load_data(nnrt_model *m, const nnrt_run_options *o, nnrt_dataset *train,
                       nnrt_dataset *val);

#ifdef __cplusplus
}
#endif

#endif
