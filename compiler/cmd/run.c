/* run.c - `nnc run`: compile a model with the JIT and train, evaluate or
 * predict as its data and train sections say, with command-line overrides.
 *
 * The compiler's part ends at the JIT'd functions a command needs, handed
 * to the runtime as a model descriptor (model_desc.h); everything else,
 * data, the loop, progress, checkpoints and what is printed, is the
 * runtime's (nnrt_run_* in runtime/nnrt_model.h), the same code that an
 * executable built ahead of time runs.
 */
#include "run.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "gen_step.h"
#include "jit.h"
#include "model_desc.h"
#include "nnrt_model.h"
#include "pipeline.h"

typedef struct RunOptions {
  const char *file, *model, *data, *checkpoint, *predict, *out, *stdlib_dir, *generate;
  const char *init;         /* --init: the checkpoint whose weights training starts from */
  const char *train;        /* the train section to run (NULL: the first) */
  const char *emit;         /* ir, fused-ir, llvm: print the training step instead */
  nnrt_run_options numbers; /* --epochs, --batch, --lr, --seed (nnrt_run_parse_value) */
  bool resume, eval;
  int threads;
  int progress; /* -1 auto */
  CodegenOptions cg;
} RunOptions;

static void run_usage(FILE *out) {
  fputs(
      "usage: nnc run FILE.nn [options]\n"
      "  trains the model as its data and train sections say\n"
      "  --model NAME        the model to run (default: the file's only or last model)\n"
      "  --train NAME        the train section to run (default: the model's first)\n"
      "  --epochs N --batch N --lr X --seed N   override the sections\n"
      "  --data PATH         another data file (idx/npy: IMAGES,LABELS or X,Y; npz: one archive)\n"
      "  --checkpoint PATH   save a safetensors checkpoint here (each epoch, Ctrl-C), and\n"
      "                      the best epoch's beside it (X.best.safetensors)\n"
      "  --resume            continue from --checkpoint (its weights, optimizer state\n"
      "                      and epoch)\n"
      "  --init PATH         start training from PATH's weights with a fresh optimizer at\n"
      "                      epoch 0 (a checkpoint of any train section or fit of the\n"
      "                      model); checkpoints still go to --checkpoint\n"
      "  --eval              evaluate the --checkpoint's weights on the validation data\n"
      "  --predict FILE      run predict (or forward) on FILE (.csv or .npy) with the\n"
      "                      --checkpoint's weights; -o OUT.npy|.csv, else stdout\n"
      "  --generate PROMPT   sample text after PROMPT with the generate section's step:\n"
      "                      from the --checkpoint's weights, else after training;\n"
      "                      --tokens N (default 200), --temperature X (default 1, 0:\n"
      "                      greedy), --top-k K (default 0: all), --seed N\n"
      "  --threads N         threads for kernels and BLAS (default: all CPUs)\n"
      "  --progress / --no-progress   progress bar (default: when on a terminal)\n"
      "  -O0..-O3, --no-fuse code generation\n"
      "  --emit=ir|fused-ir|llvm  print the compiled training step and stop\n"
      "The last line of a training run is 'result: key=value ...'.\n",
      out);
}

/* What is wrong with the generation flags, or NULL. */
static const char *generate_args_error(const RunOptions *o) {
  const nnrt_run_options *n = &o->numbers;
  if (o->generate && (o->eval || o->predict))
    return "--generate cannot be combined with --eval or --predict";
  if (!o->generate && (n->has_tokens || n->has_temperature || n->top_k))
    return "--tokens, --temperature and --top-k are for --generate";
  return NULL;
}

static int parse_run_args(RunOptions *o, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    const char **strs[] = {&o->model, &o->data,     &o->checkpoint, &o->predict,
                           &o->out,   &o->generate, &o->train,      &o->init};
    const char *snames[] = {"--model", "--data",     "--checkpoint", "--predict",
                            "-o",      "--generate", "--train",      "--init"};
    bool done = false;
    for (int k = 0; k < 8 && !done; k++)
      if (!strcmp(a, snames[k])) {
        if (!next) {
          fprintf(stderr, "nnc: error: %s needs a value\n", a);
          return 2;
        }
        *strs[k] = next;
        i++;
        done = true;
      }
    if (done)
      continue;
    char msg[256];
    int valued = nnrt_run_parse_value(&o->numbers, &o->threads, a, next, msg, sizeof msg);
    if (valued < 0) {
      fprintf(stderr, "nnc: error: %s\n", msg);
      return 2;
    }
    if (valued > 0) {
      i++;
    } else if (!strcmp(a, "--resume")) {
      o->resume = true;
    } else if (!strcmp(a, "--eval")) {
      o->eval = true;
    } else if (!strcmp(a, "--progress") || !strcmp(a, "--no-progress")) {
      o->progress = a[2] == 'p';
    } else if (!strcmp(a, "--no-fuse")) {
      o->cg.fuse = false;
    } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
      o->cg.opt_level = a[2] - '0';
    } else if (!strcmp(a, "--emit=ir") || !strcmp(a, "--emit=fused-ir") ||
               !strcmp(a, "--emit=llvm")) {
      o->emit = a + 7;
    } else if (!strncmp(a, "--stdlib=", 9)) {
      o->stdlib_dir = a + 9;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      run_usage(stdout);
      return 0;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "nnc: error: unknown option '%s' for nnc run\n", a);
      run_usage(stderr);
      return 2;
    } else if (!o->file) {
      o->file = a;
    } else {
      fprintf(stderr, "nnc: error: nnc run takes one model file\n");
      return 2;
    }
  }
  const char *why = !o->file                       ? "no input file"
                    : o->resume && !o->checkpoint  ? "--resume needs --checkpoint PATH"
                    : o->eval && !o->checkpoint    ? "--eval needs --checkpoint PATH"
                    : o->predict && !o->checkpoint ? "--predict needs --checkpoint PATH"
                    : o->eval && o->predict        ? "--eval and --predict cannot be combined"
                    : o->out && !o->predict        ? "-o is for --predict"
                    : o->init && (o->eval || o->predict)
                        ? "--init is for training; --eval and --predict read the --checkpoint's "
                          "weights"
                        : NULL;
  if (!why)
    why = generate_args_error(o);
  if (why) {
    fprintf(stderr, "nnc: error: %s\n", why);
    run_usage(stderr);
    return 2;
  }
  return -1;
}

/* ------------------------------------------------------------- the model */

/* --generate with a checkpoint samples from it; without one, or with
 * --resume or --init, the model trains first. */
static bool generate_only(const RunOptions *o) {
  return o->generate && o->checkpoint && !o->resume && !o->init;
}

/* The functions a command runs, compiled: train needs the step and the loss
 * (for validation), eval the loss, predict the inference function. */
/* fit = ridge(...): the model function named by `features`, else NULL. */
static const IrFunc *fit_features_func(const IrModule *m, const TrainConfig *cfg) {
  for (int i = 0; cfg->fit && cfg->fit_features && i < m->nfuncs; i++)
    if (!strcmp(m->funcs[i]->name, cfg->fit_features))
      return m->funcs[i];
  return NULL;
}

/* The generation step and its tables, the training step, the evaluation
 * and a ridge fit's features. */
enum { MAX_JITTED = 5 };

static int compile_funcs(Jit *jit, const IrModule *m, const TrainStep *ts, const GenStep *gen,
                         const TrainConfig *cfg, const RunOptions *o, JitFunc **jfs, DescFunc *dfs,
                         char *err, size_t errlen) {
  const IrFunc *want[MAX_JITTED];
  int n = 0;
  if (o->generate)
    want[n++] = gen->step;
  if (o->generate && gen->tables)
    want[n++] = gen->tables;
  if (generate_only(o)) {
  } else if (o->predict) {
    const IrFunc *p = model_desc_predict_func(m);
    if (p)
      want[n++] = p;
  } else {
    if (!o->eval && ts->step)
      want[n++] = ts->step;
    want[n++] = ts->eval;
    /* fit = ridge(...): the function whose rows the readout is fitted to */
    const IrFunc *features = fit_features_func(m, cfg);
    if (features && !o->eval)
      want[n++] = features;
  }
  for (int i = 0; i < n; i++) {
    if (!(jfs[i] = jit_compile(jit, m, want[i], &o->cg, err, errlen)))
      return -1;
    dfs[i] = (DescFunc){want[i], jit_func_plan(jfs[i])};
  }
  return n;
}

static nnrt_run_options runtime_options(const RunOptions *o) {
  return (nnrt_run_options){.data = o->data,
                            .checkpoint = o->checkpoint,
                            .predict = o->predict,
                            .out = o->out,
                            .epochs = o->numbers.epochs,
                            .batch = o->numbers.batch,
                            .lr = o->numbers.lr,
                            .has_seed = o->numbers.has_seed,
                            .resume = o->resume,
                            .init = o->init,
                            .seed = o->numbers.seed,
                            .progress = o->progress,
                            .prog = "nnc",
                            .generate = o->generate,
                            .has_tokens = o->numbers.has_tokens,
                            .tokens = o->numbers.tokens,
                            .has_temperature = o->numbers.has_temperature,
                            .temperature = o->numbers.temperature,
                            .top_k = o->numbers.top_k};
}

/* The JIT'd functions as a runtime model, run by the runtime's commands
 * (the same code an executable built by nnc -o runs). */
static int run_jitted(Compilation *comp, IrModule *m, const TrainStep *ts, const GenStep *gen,
                      const TrainConfig *cfg, const RunOptions *o) {
  char err[1024];
  JitFunc *jfs[MAX_JITTED];
  DescFunc dfs[MAX_JITTED];
  Jit *jit = jit_new(err, sizeof err);
  int n = jit ? compile_funcs(jit, m, ts, gen, cfg, o, jfs, dfs, err, sizeof err) : -1;
  if (n < 0) {
    fprintf(stderr, "nnc: error: %s\n", err);
    jit_free(jit);
    return 1;
  }
  nnrt_model_desc *d = model_desc_build(&comp->arena, m, ts, cfg, dfs, n);
  for (int i = 0; i < n; i++)
    model_desc_set_entry(d, i, jit_func_entry(jfs[i]));
  model_desc_set_generate(&comp->arena, d, m, o->generate ? gen : NULL);
  nnrt_model *model;
  int rc = 1;
  if (nnrt_model_create(d, &model)) {
    fprintf(stderr, "nnc: error: %s\n", nnrt_model_create_error());
  } else {
    nnrt_run_options ro = runtime_options(o);
    rc = generate_only(o) ? nnrt_run_generate(model, &ro)
         : o->eval        ? nnrt_run_eval(model, &ro)
         : o->predict     ? nnrt_run_predict(model, &ro)
                          : nnrt_run_train(model, &ro);
    if (!rc && o->generate && !generate_only(o)) { /* from the weights just trained */
      ro.checkpoint = NULL;
      rc = nnrt_run_generate(model, &ro);
    }
    nnrt_model_free(model);
  }
  jit_free(jit);
  return rc;
}

static IrModule *pick_model(Compilation *comp, const char *name) {
  if (name || comp->nmodels <= 1)
    return frontend_model(comp, name, stderr);
  return comp->models[comp->nmodels - 1];
}

/* A train section may go without a data section (an object's program feeds
 * its own batches), but nnc run has nothing to train on: said at the
 * section. */
static int no_data(Compilation *comp, const IrModule *m) {
  for (int i = 0; i < m->nsections; i++) {
    const IrSection *s = m->sections[i];
    if (s->kind != SEC_TRAIN)
      continue;
    diag_error(&comp->diag, s->ast->loc,
               "train step '%s' has no data to train on: model '%s' has no data section",
               s->name ? s->name : "step", m->name);
    diag_note(&comp->diag, s->ast->loc,
              "nnc run trains on a data section's files; an object (nnc -c) trains on the "
              "batches its program passes to train_step");
    return 1;
  }
  fprintf(stderr, "nnc: error: model '%s' has no data section: nothing to run\n", m->name);
  return 1;
}

static int run_model(Compilation *comp, IrModule *m, const RunOptions *o) {
  char *file_copy = strdup(o->file);
  TrainConfig cfg;
  bool known = train_config_read(&comp->prog, m, dirname(file_copy), o->train, &cfg);
  free(file_copy);
  if (!known) {
    fprintf(stderr, "nnc: error: %s\n", train_config_unknown_step(&comp->arena, m, o->train));
    return 1;
  }
  if (cfg.has_train && !cfg.has_data && !o->emit && !o->eval && !o->predict)
    return no_data(comp, m);
  if (!cfg.has_train || (!cfg.has_data && !o->emit)) {
    fprintf(stderr, "nnc: error: model '%s' has no %s section: nothing to run\n", m->name,
            cfg.has_data ? "train" : "data");
    return 1;
  }
  TrainStep ts;
  char err[1024];
  if (!pipeline_train_step(&comp->arena, m, &cfg, &ts, err, sizeof err)) {
    fprintf(stderr, "nnc: error: %s\n", err);
    return 1;
  }
  GenStep gen = gen_step_build(&comp->arena, m, &cfg);
  if (o->generate && !gen.step) {
    fprintf(stderr, "nnc: error: model '%s' has no generate section: nothing to sample with\n",
            m->name);
    return 1;
  }
  if (!o->emit)
    return run_jitted(comp, m, &ts, &gen, &cfg, o);
  if (!ts.step) {
    fprintf(stderr,
            "nnc: error: train section '%s' fits in closed form (fit = ridge): it has no "
            "training step to print (nnc --emit=%s FILE prints the model's functions)\n",
            cfg.step_name, o->emit);
    return 1;
  }
  if (!strcmp(o->emit, "ir"))
    ir_print_func(stdout, m, ts.step);
  else if (!strcmp(o->emit, "fused-ir"))
    pipeline_print_fused(stdout, m, ts.step, &o->cg);
  else if (pipeline_print_llvm(stdout, m, ts.step, &o->cg))
    return 1;
  return 0;
}

int run_command(int argc, char **argv, const char *stdlib_dir) {
  RunOptions o = {.progress = -1, .cg = pipeline_default_options()};
  int rc = parse_run_args(&o, argc, argv);
  if (rc >= 0)
    return rc;
  if (o.threads)
    nnrt_set_threads(o.threads);
  FrontendOptions fo = {.emit = EMIT_NONE, .out = stdout, .diag_out = stderr};
  fo.stdlib_dir = o.stdlib_dir ? o.stdlib_dir : stdlib_dir;
  Compilation *comp = frontend_compile_file(o.file, &fo);
  rc = 1;
  if (!comp->errors) {
    IrModule *m = pick_model(comp, o.model);
    if (m)
      rc = run_model(comp, m, &o);
  }
  frontend_free(comp);
  return rc;
}
