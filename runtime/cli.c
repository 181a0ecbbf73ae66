/* cli.c - the command line of a compiled model's executable (nnrt_main):
 *
 *   PROG train [--data P] [--epochs N] [--batch N] [--lr X] [--seed N]
 *              [--checkpoint P] [--resume | --init P] [--threads N]
 *              [--progress|--no-progress]
 *              [--train NAME]   (only the section compiled in: nnc --train NAME)
 *   PROG eval [--checkpoint P] [--data P] [--threads N]
 *   PROG predict INPUT [--checkpoint P] [-o OUT] [--threads N]
 *   PROG generate PROMPT [--tokens N] [--temperature X] [--top-k K] [--seed N]
 *                 [--checkpoint P] [--threads N]
 *   PROG --help
 *
 * The work is run_commands.c's, shared with `nnc run`; this file only
 * turns argv into nnrt_run_options and describes the model for --help.
 */
#include "model_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum Command { CMD_TRAIN, CMD_EVAL, CMD_PREDICT, CMD_GENERATE } Command;

/* Which commands take a flag (bit per Command). */
enum {
  F_TRAIN = 1 << CMD_TRAIN,
  F_EVAL = 1 << CMD_EVAL,
  F_PREDICT = 1 << CMD_PREDICT,
  F_GENERATE = 1 << CMD_GENERATE
};

typedef struct Cli {
  const char *prog;
  Command cmd;
  nnrt_run_options o;
  bool explicit_checkpoint;
  int threads;
  char *default_checkpoint;
} Cli;

__attribute__((format(printf, 2, 3))) static int usage_error(const Cli *c, const char *fmt, ...) {
  fprintf(stderr, "%s: error: ", c->prog);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nrun '%s --help' for the commands and options\n", c->prog);
  return 2;
}

/* ---- --help ------------------------------------------------------------- */

static const char *dtype_str(int32_t dt) {
  static const char *const names[] = {"f32", "f64", "i32", "bool"};
  return names[dt];
}

/* "2*B*T", "B", "64", "T - 1" */
static void print_dim(FILE *out, const nnrt_func_desc *f, const nnrt_dim *d) {
  char text[256];
  nnrt_dim_text(f, d, text, sizeof text);
  fputs(text, out);
}

static void print_type(FILE *out, const nnrt_func_desc *f, const nnrt_arg_desc *a) {
  fputs(dtype_str(a->dtype), out);
  if (!a->rank)
    return;
  for (int i = 0; i < a->rank; i++) {
    fputs(i ? ", " : "[", out);
    print_dim(out, f, &a->dims[i]);
  }
  fputc(']', out);
}

/* "predict(x: f32[B, 64]) -> f32[B, 10]" */
static void print_signature(FILE *out, const nnrt_func_desc *f, int ninputs, const char *note) {
  fprintf(out, "  %s(", f->name);
  for (int i = 0; i < ninputs; i++) {
    fprintf(out, "%s%s: ", i ? ", " : "", f->inputs[i].name);
    print_type(out, f, &f->inputs[i]);
  }
  fputs(") -> ", out);
  if (f->nresults != 1)
    fputc('(', out);
  for (int i = 0; i < f->nresults; i++) {
    fputs(i ? ", " : "", out);
    print_type(out, f, &f->results[i]);
  }
  fprintf(out, "%s%s\n", f->nresults != 1 ? ")" : "", note);
}

static void print_source(FILE *out, const char *what, const nnrt_source_desc *s) {
  static const char *const kinds[] = {"none", "csv", "idx", "npy", "text", "npz", "mackey_glass"};
  const char *kind = s->kind >= 0 && s->kind <= NNRT_DATA_MACKEY_GLASS ? kinds[s->kind] : "?";
  if (s->kind == NNRT_DATA_MACKEY_GLASS) {
    fprintf(out, "  %-11s %s(n = %lld, tau = %lld, seq = %lld, horizon = %lld)\n", what, kind,
            (long long)s->length, (long long)s->tau, (long long)s->seq, (long long)s->horizon);
    return;
  }
  fprintf(out, "  %-11s %s %s%s%s", what, kind, s->path ? s->path : "?", s->path2 ? "," : "",
          s->path2 ? s->path2 : "");
  if (s->kind == NNRT_DATA_NPZ)
    fprintf(out, " (x = \"%s\", y = \"%s\")", s->xkey ? s->xkey : "?", s->ykey ? s->ykey : "?");
  fputc('\n', out);
}

static void print_model(FILE *out, const nnrt_model_desc *d) {
  fprintf(out, "model %s\n", d->name);
  if (d->predict >= 0)
    print_signature(out, &d->funcs[d->predict], 1, "");
  int fi = d->eval >= 0 ? d->eval : d->train;
  if (fi >= 0) {
    const nnrt_func_desc *f = &d->funcs[fi];
    print_signature(out, f, fi == d->eval ? f->ninputs : f->ninputs - 1, "   (the training loss)");
  }
  if (d->generate >= 0)
    print_signature(out, &d->funcs[d->generate], 1, "   (the generation step)");
  const nnrt_train_desc *c = &d->cfg;
  if (!c->has_data) {
    fputs("data: none (the model has no data section)\n", out);
    return;
  }
  fputs("data:\n", out);
  print_source(out, "training", &c->source);
  if (c->val_source.kind != NNRT_DATA_NONE)
    print_source(out, "validation", &c->val_source);
  else if (c->validation > 0)
    fprintf(out, "  validation  %g of the training data\n", c->validation);
  if (c->has_train && c->step_name)
    fprintf(out,
            "  train       section '%s' (compiled in: nnc FILE.nn -o EXE --train NAME for "
            "another)\n",
            c->step_name);
  if (c->fit == NNRT_FIT_RIDGE)
    fprintf(out, "  fit         ridge(alpha = %g, washout = %lld): %s, %s from the rows of %s\n",
            c->fit_alpha, (long long)c->fit_washout, c->fit_weight ? c->fit_weight : "?",
            c->fit_bias ? c->fit_bias : "?", c->fit_features ? c->fit_features : "?");
  if (c->image[0] > 0)
    fprintf(out, "  image       [%lld, %lld, %lld] per sample\n", (long long)c->image[0],
            (long long)c->image[1], (long long)c->image[2]);
  if (c->random_crop > 0 || c->shift > 0 || c->hflip > 0)
    fprintf(out, "  augment     random_crop = %lld, shift = %lld, hflip = %g (training data)\n",
            (long long)c->random_crop, (long long)c->shift, c->hflip);
}

static bool any_baked(const nnrt_model_desc *d) {
  for (int i = 0; i < d->nparams; i++)
    if (d->params[i].baked)
      return true;
  return false;
}

static void print_help(const Cli *c, const nnrt_model_desc *d) {
  FILE *out = stdout;
  const nnrt_train_desc *t = &d->cfg;
  fprintf(out,
          "usage: %s train [options]          train as the model's train section says\n"
          "       %s eval [options]           loss (and accuracy) of the checkpoint on the\n"
          "                                   validation data\n"
          "       %s predict INPUT [options]  run predict on the rows of INPUT (.csv or .npy)\n",
          c->prog, c->prog, c->prog);
  if (d->generate >= 0)
    fprintf(out, "       %s generate PROMPT [options]  sample text after PROMPT\n", c->prog);
  fprintf(out, "       %s --help\n", c->prog);
  print_model(out, d);
  fprintf(out,
          "options:\n"
          "  --data PATH        train, eval: another data file (idx/npy: IMAGES,LABELS or X,Y; "
          "npz: one archive)\n"
          "  --epochs N         train: epochs (default %lld)\n"
          "  --batch N          train: batch size (default %lld)\n"
          "  --lr X             train: learning rate (default %g)\n"
          "  --seed N           train: initialisation, split and shuffling; generate:\n"
          "                     sampling (default %llu)\n"
          "  --checkpoint PATH  the safetensors checkpoint: train writes it (each epoch and on\n"
          "                     Ctrl-C; with validation data the best epoch also goes to\n"
          "                     PATH's .best.safetensors), eval, predict and generate\n"
          "                     read its weights (default %s%s)\n"
          "  --resume           train: continue from the checkpoint (its weights, optimizer\n"
          "                     state and epoch)\n"
          "  --init PATH        train: start from PATH's weights with a fresh optimizer at\n"
          "                     epoch 0 (a checkpoint of the fit or of any train section);\n"
          "                     checkpoints still go to --checkpoint; not with --resume\n"
          "  --train NAME       train: the train section, which is chosen when compiling\n"
          "                     (nnc FILE.nn -o EXE --train NAME); only that one\n"
          "  -o OUT             predict: write OUT.npy or OUT.csv (default: CSV on stdout)\n"
          "  --tokens N         generate: characters to sample (default 200)\n"
          "  --temperature X    generate: softmax temperature, 0 greedy (default 1)\n"
          "  --top-k K          generate: sample among the K best (default 0: all)\n"
          "  --threads N        threads for kernels and BLAS (default: all CPUs)\n"
          "  --progress, --no-progress   train: progress bar (default: on a terminal)\n"
          "The last line of a training run is 'result: key=value ...'.\n",
          (long long)t->epochs, (long long)t->batch, t->lr, (unsigned long long)t->seed,
          c->default_checkpoint, any_baked(d) ? "; without it, the weights compiled in" : "");
}

/* ---- parsing ------------------------------------------------------------ */

static bool parse_i64(const char *flag, const char *v, int64_t lo, int64_t *out, char *msg,
                      size_t msglen) {
  char *end;
  errno = 0;
  long long x = v ? strtoll(v, &end, 10) : 0;
  if (!v || errno || end == v || *end || x < lo) {
    snprintf(msg, msglen, "%s expects an integer >= %lld, got '%s'", flag, (long long)lo,
             v ? v : "");
    return false;
  }
  *out = x;
  return true;
}

/* --temperature X (finite, >= 0) */
static int parse_temperature(nnrt_run_options *o, const char *value, char *msg, size_t msglen) {
  char *end;
  double t = value ? strtod(value, &end) : -1;
  if (!value || end == value || *end || !(t >= 0) || !isfinite(t)) {
    snprintf(msg, msglen, "--temperature expects a finite number >= 0 (0: greedy), got '%s'",
             value ? value : "");
    return -1;
  }
  o->temperature = t;
  o->has_temperature = true;
  return 1;
}

int nnrt_run_parse_value(nnrt_run_options *o, int *threads, const char *flag, const char *value,
                         char *msg, size_t msglen) {
  if (!strcmp(flag, "--temperature"))
    return parse_temperature(o, value, msg, msglen);
  if (!strcmp(flag, "--tokens") || !strcmp(flag, "--top-k")) {
    int64_t n;
    if (!parse_i64(flag, value, 0, &n, msg, msglen))
      return -1;
    if (!strcmp(flag, "--tokens"))
      o->tokens = n, o->has_tokens = true;
    else
      o->top_k = n;
    return 1;
  }
  if (!strcmp(flag, "--lr")) {
    char *end;
    double lr = value ? strtod(value, &end) : 0;
    if (!value || end == value || *end || !(lr > 0) || !isfinite(lr)) {
      snprintf(msg, msglen, "--lr expects a positive finite number");
      return -1;
    }
    o->lr = lr;
    return 1;
  }
  static const char *const names[] = {"--epochs", "--batch", "--seed", "--threads"};
  int k = 0;
  while (k < 4 && strcmp(flag, names[k]))
    k++;
  if (k == 4)
    return 0;
  int64_t n;
  if (!parse_i64(flag, value, k == 2 ? 0 : 1, &n, msg, msglen))
    return -1;
  if (k == 0)
    o->epochs = n;
  else if (k == 1)
    o->batch = n;
  else if (k == 2)
    o->seed = (uint64_t)n, o->has_seed = true;
  else
    *threads = (int)(n > 4096 ? 4096 : n);
  return 1;
}

/* Flags with a value: which commands take them and where they go. */
static bool string_flag(Cli *c, const char *a, const char ***dst, int *cmds) {
  nnrt_run_options *o = &c->o;
  const char *names[] = {"--data", "--checkpoint", "-o", "--init"};
  const char **dsts[] = {&o->data, &o->checkpoint, &o->out, &o->init};
  const int which[] = {F_TRAIN | F_EVAL, F_TRAIN | F_EVAL | F_PREDICT | F_GENERATE, F_PREDICT,
                       F_TRAIN};
  for (int k = 0; k < 4; k++)
    if (!strcmp(a, names[k])) {
      *dst = dsts[k];
      *cmds = which[k];
      return true;
    }
  return false;
}

static int flag_commands(const char *a) {
  const char *train_only[] = {"--epochs", "--batch",    "--lr",
                              "--resume", "--progress", "--no-progress"};
  for (int k = 0; k < 6; k++)
    if (!strcmp(a, train_only[k]))
      return F_TRAIN;
  if (!strcmp(a, "--tokens") || !strcmp(a, "--temperature") || !strcmp(a, "--top-k"))
    return F_GENERATE;
  return !strcmp(a, "--seed")      ? F_TRAIN | F_GENERATE
         : !strcmp(a, "--threads") ? F_TRAIN | F_EVAL | F_PREDICT | F_GENERATE
                                   : 0;
}

static const char *const COMMANDS[] = {"train", "eval", "predict", "generate"};

/* --train NAME: the train section is chosen when the executable is
 * compiled (the descriptor holds one step); naming that one is fine. */
static bool train_option(Cli *c, const nnrt_model_desc *d, const char *name) {
  const char *have = d->cfg.has_train ? d->cfg.step_name : NULL;
  if (c->cmd != CMD_TRAIN)
    return usage_error(c, "--train is not an option of %s", COMMANDS[c->cmd]), false;
  if (!name)
    return usage_error(c, "--train needs a value"), false;
  if (have && !strcmp(name, have))
    return true;
  if (!have)
    return usage_error(c, "model '%s' has no train section compiled in", d->name), false;
  return usage_error(c,
                     "this executable trains with train section '%s', chosen when it was "
                     "compiled; for '%s': nnc MODEL.nn -o %s --train %s",
                     have, name, c->prog, name),
         false;
}

/* One option at argv[*i]; false after printing why it is wrong. */
static bool parse_option(Cli *c, const nnrt_model_desc *d, int argc, char **argv, int *i) {
  const char *a = argv[*i], *next = *i + 1 < argc ? argv[*i + 1] : NULL;
  const char **dst;
  int cmds = 0;
  if (!strcmp(a, "--train")) {
    ++*i;
    return train_option(c, d, next);
  }
  bool is_string = string_flag(c, a, &dst, &cmds);
  if (!is_string)
    cmds = flag_commands(a);
  if (!cmds)
    return usage_error(c, "unknown option '%s'", a), false;
  if (!(cmds & (1 << c->cmd)))
    return usage_error(c, "%s is not an option of %s", a, COMMANDS[c->cmd]), false;
  if (!strcmp(a, "--resume") || !strcmp(a, "--progress") || !strcmp(a, "--no-progress")) {
    if (a[2] == 'r')
      c->o.resume = true;
    else
      c->o.progress = a[2] == 'p';
    return true;
  }
  if (!next)
    return usage_error(c, "%s needs a value", a), false;
  ++*i;
  if (!is_string) {
    char msg[256];
    if (nnrt_run_parse_value(&c->o, &c->threads, a, next, msg, sizeof msg) < 0)
      return usage_error(c, "%s", msg), false;
    return true;
  }
  *dst = next;
  c->explicit_checkpoint |= dst == &c->o.checkpoint;
  return true;
}

/* argv after the command; returns -1 to go on, else the exit status. */
static int parse_args(Cli *c, const nnrt_model_desc *d, int argc, char **argv) {
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] == '-' && a[1]) {
      if (!parse_option(c, d, argc, argv, &i))
        return 2;
    } else if (c->cmd == CMD_PREDICT && !c->o.predict) {
      c->o.predict = a;
    } else if (c->cmd == CMD_GENERATE && !c->o.generate) {
      c->o.generate = a;
    } else {
      return usage_error(c, "unexpected argument '%s'", a);
    }
  }
  if (c->cmd == CMD_PREDICT && !c->o.predict)
    return usage_error(c, "predict needs an INPUT file (.csv or .npy)");
  if (c->cmd == CMD_GENERATE && !c->o.generate)
    return usage_error(c, "generate needs a PROMPT to start the text from");
  return -1;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

/* train writes the default checkpoint; eval and predict read it, unless it
 * is missing and the weights are compiled in. */
static void pick_checkpoint(Cli *c, const nnrt_model_desc *d) {
  if (c->explicit_checkpoint)
    return;
  c->o.checkpoint = c->default_checkpoint;
  if (c->cmd != CMD_TRAIN && any_baked(d) && access(c->default_checkpoint, F_OK) != 0)
    c->o.checkpoint = NULL;
}

static int run(Cli *c, nnrt_model *m) {
  if (c->threads)
    nnrt_set_threads(c->threads);
  pick_checkpoint(c, m->d);
  return c->cmd == CMD_TRAIN     ? nnrt_run_train(m, &c->o)
         : c->cmd == CMD_EVAL    ? nnrt_run_eval(m, &c->o)
         : c->cmd == CMD_PREDICT ? nnrt_run_predict(m, &c->o)
                                 : nnrt_run_generate(m, &c->o);
}

static int parse_command(Cli *c, const char *a) {
  for (int k = 0; k < 4; k++)
    if (!strcmp(a, COMMANDS[k])) {
      c->cmd = (Command)k;
      return -1;
    }
  return usage_error(c, "unknown command '%s' (train, eval, predict or generate)", a);
}

static bool wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
        (i == 1 && !strcmp(argv[i], "help")))
      return true;
  return false;
}

int nnrt_main(const nnrt_model_desc *d, int argc, char **argv) {
  Cli c = {.prog = argc > 0 && argv && argv[0] ? base_name(argv[0]) : "model"};
  c.o = (nnrt_run_options){.progress = -1, .prog = c.prog};
  nnrt_model *m; /* checks the descriptor before --help reads it */
  if (nnrt_model_create(d, &m)) {
    fprintf(stderr, "%s: error: %s\n", c.prog, nnrt_model_create_error());
    return 1;
  }
  size_t n = strlen(c.prog) + sizeof ".safetensors";
  int rc = 1;
  if (!(c.default_checkpoint = malloc(n)))
    fprintf(stderr, "%s: error: out of memory\n", c.prog);
  else if (snprintf(c.default_checkpoint, n, "%s.safetensors", c.prog), wants_help(argc, argv)) {
    print_help(&c, d);
    rc = 0;
  } else if (argc < 2) {
    rc = usage_error(&c, "no command (train, eval, predict or generate)");
  } else if ((rc = parse_command(&c, argv[1])) < 0 && (rc = parse_args(&c, d, argc, argv)) < 0) {
    rc = run(&c, m);
  }
  free(c.default_checkpoint);
  nnrt_model_free(m);
  return rc;
}
