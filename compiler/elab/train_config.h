/* train_config.h - a model's data and train sections as plain values.
 *
 * sema (sections.c) has already checked every field, so reading cannot fail
 * on a well-formed module; defaults are filled in here, in one place, and
 * match PyTorch's where the optimizer has one.
 */
#ifndef NNC_TRAIN_CONFIG_H
#define NNC_TRAIN_CONFIG_H

#include "ir.h"
#include "program.h"

typedef enum DataKind {
  DATA_CSV,
  DATA_IDX,
  DATA_NPY,
  DATA_TEXT,
  DATA_NPZ,
  DATA_MACKEY_GLASS
} DataKind;

typedef struct DataSource {
  DataKind kind;
  const char *path;  /* csv, text, npz; idx images; npy x (relative paths resolved) */
  const char *path2; /* idx labels; npy y */
  bool has_label;    /* csv */
  int label;         /* csv: label column, negative from the end */
  bool header;       /* csv */
  int *features;     /* csv: NULL = all but the label */
  int nfeatures;
  double scale; /* 0 = none */
  int64_t seq;  /* text, mackey_glass: window length */
  /* mackey_glass: the series' length, its delay and how far ahead y is */
  int64_t length, tau, horizon;
  /* npz: the arrays' names in the archive */
  const char *xkey, *ykey;
} DataSource;

typedef enum ScheduleKind { SCHED_CONSTANT, SCHED_STEP, SCHED_COSINE } ScheduleKind;

typedef struct TrainConfig {
  /* data */
  bool has_data;
  DataSource source;
  DataSource val_source; /* when has_val_source */
  bool has_val_source;
  double validation; /* fraction held out of source */
  int64_t batch, epochs;
  uint64_t seed;
  bool shuffle, standardize;
  int64_t image[3]; /* image = [C, H, W]; zeros: none */
  int64_t random_crop, shift;
  double hflip;
  /* the train step: the train section chosen (the first by default) */
  bool has_train;
  const char *step_name;
  const char *loss_fn;
  IrOptim optim;
  double lr;
  double clip;         /* 0 = none */
  const char **params; /* member paths to update; NULL = every trainable one */
  int nparams;
  ScheduleKind schedule;
  int64_t every;
  double gamma, min_lr;
  int64_t warmup, patience, checkpoint_every;
  int ntrain_steps; /* train sections in the model */
  /* tbptt: the states carried from one batch to the next (their parameter
   * paths, shares resolved); none without */
  const char **carried;
  int ncarried;
  /* fit = ridge(alpha, washout): the readout (the one weight [N, K] and
   * bias [K] that params selects, named by train_config_fit_params) fitted
   * in closed form to the rows of the function `features` */
  enum { FIT_NONE, FIT_RIDGE } fit;
  double fit_alpha;
  int64_t fit_washout;
  const char *fit_features, *fit_weight, *fit_bias;
  /* the generate section: the step function sampled from */
  bool has_generate;
  const char *gen_step;
} TrainConfig;

/* Reads m's sections, with the train section named `train` as the step
 * (NULL: the first, as written). Relative data paths are taken from
 * model_dir. False when m has no train section named `train`
 * (train_config_unknown_step says so). */
bool train_config_read(Program *p, const IrModule *m, const char *model_dir, const char *train,
                       TrainConfig *out);

/* "model 'M' has no train section 'x' (its train sections: 'a', 'b')" */
const char *train_config_unknown_step(Arena *a, const IrModule *m, const char *train);

/* A fit section: fit_weight and fit_bias from the parameters `params`
 * selects in m (the rank-2 one and the rank-1 one). */
void train_config_fit_params(TrainConfig *c, const IrModule *m);

/* Does parameter `name` belong to the member path (fc1 covers fc1.W)? */
bool train_config_selects(const TrainConfig *c, const char *name);

#endif
