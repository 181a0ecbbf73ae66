/* main.c - the nnc driver: parses the command line and runs the stages.
 *
 *   nnc check FILE...              check syntax, names and shapes
 *   nnc --emit=ast|ir FILE         print the syntax tree or the tensor IR
 *   nnc --emit=fused-ir|llvm|grad-ir FILE, nnc --mem-plan FILE
 *                                  print what the back end makes of it
 *   nnc call FILE FN [ARG.npy...]  JIT-compile FN and run it on .npy files (call.c)
 *   nnc --gradcheck FILE           check derived gradients numerically
 *   nnc bench FILE                 time the forward pass and a training step
 *   nnc run FILE [--epochs ...]    train (or --eval, --predict) with the JIT (run.c)
 *   nnc repl                       an interactive session (repl.c)
 *   nnc FILE -o EXE                an executable: train, eval, predict (aot.c)
 *   nnc -c FILE -o OBJ [--header H] an object and its C header, to embed
 *
 * Exit status: 0 success, 1 errors in the program or at run time, 2 bad
 * command line.
 */
#include <errno.h>
#include <llvm-c/Core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot.h"
#include "arena.h"
#include "bench.h"
#include "call.h"
#include "callbuf.h"
#include "frontend.h"
#include "gradcheck.h"
#include "jit.h"
#include "nnrt.h"
#include "pipeline.h"
#include "program.h"
#include "repl.h"
#include "run.h"
#include "target_cpu.h"
#include "toolchain.h"

#ifndef NNC_VERSION
#define NNC_VERSION "0.1.0"
#endif

enum { MAX_POSITIONAL = 256 };

typedef enum BackEmit { BE_NONE, BE_FUSED, BE_LLVM, BE_GRAD, BE_MEMPLAN, BE_ASM, BE_OBJ } BackEmit;
typedef enum Command { CMD_NONE, CMD_CHECK, CMD_CALL, CMD_BENCH, CMD_GRADCHECK } Command;

typedef struct Cli {
  Command cmd;
  const char *pos[MAX_POSITIONAL];
  int npos;
  EmitKind emit;
  BackEmit back;
  const char *fn, *model, *out, *out_dir, *params_dir, *forward, *loss;
  const char *stdlib_dir;
  const char *header, *prefix, *target, *cpu, *bake; /* ahead of time */
  const char *train;                                 /* ahead of time: the train section */
  bool compile_only;                                 /* -c */
  const char *dim_names[CALLBUF_MAX_BINDINGS];
  int64_t dim_values[CALLBUF_MAX_BINDINGS];
  int ndims;
  uint64_t seed, step;
  bool grad, f64, training;
  int threads, runs, warmup;
  CodegenOptions cg;
} Cli;

static void usage(FILE *out) {
  fputs("usage: nnc check FILE.nn...               check a model: syntax, names, shapes\n"
        "       nnc --emit=KIND [options] FILE.nn  print a stage's output (KIND below)\n"
        "       nnc --mem-plan [--dim B=N] FILE.nn print the workspace plan\n"
        "       nnc call FILE.nn FN [ARG.npy...] [-o OUT.npy | --out-dir DIR]\n"
        "                                          JIT-compile FN and run it on the arguments\n"
        "       nnc --gradcheck [options] FILE.nn  compare gradients with finite differences\n"
        "       nnc bench FILE.nn [--dim B=N]      time forward and a training step\n"
        "       nnc run FILE.nn [options]          train with the JIT; --eval, --predict\n"
        "                                          (nnc run --help lists its options)\n"
        "       nnc repl [--stdlib=DIR]            an interactive session (:help in it)\n"
        "       nnc FILE.nn -o EXE [options]       compile an executable (EXE --help)\n"
        "       nnc -c FILE.nn -o OBJ.o [options]  compile an object and its C header\n"
        "       nnc --print-runtime cc|cflags|libs what linking an object needs\n"
        "       nnc --version | --help\n"
        "\n"
        "emit kinds:\n"
        "  ast        the syntax tree          ir        the tensor IR of each model\n"
        "  fused-ir   the kernels of each function after fusion\n"
        "  llvm       the optimised LLVM IR    grad-ir   the IR with derived gradients\n"
        "\n"
        "options:\n"
        "  --fn NAME          the function to emit, gradcheck or call (default: all)\n"
        "  --model NAME       the model, when the file has several\n"
        "  --no-fuse          one kernel per operation\n"
        "  -O0 .. -O3         LLVM optimisation level (default -O3)\n"
        "  --grad             with fused-ir, llvm, mem-plan: the derived (gradient)\n"
        "                     function of each function instead\n"
        "  --dim NAME=N       bind a dimension (--mem-plan, bench: default 1; --gradcheck: 3)\n"
        "  --threads N        worker threads (default $NNC_THREADS, else all CPUs)\n"
        "  --stdlib=DIR       where `import nn` finds the standard library\n"
        "                     (default: $NNC_STDLIB, then the installed or source stdlib)\n"
        "  --dump-after=STAGE print what a stage of the pipeline made, to stderr, each\n"
        "                     time it runs (any command; STAGE: autodiff, train-step,\n"
        "                     fuse, memplan, codegen, optimize)\n"
        "call options:\n"
        "  -o OUT.npy         write the result (a function with one result)\n"
        "  --out-dir DIR      write every result as DIR/<result name>.npy\n"
        "                     (neither: print the results)\n"
        "  --params DIR       read parameters from DIR/<param name>.npy\n"
        "  --seed N           seed of the parameter initialisers and of the random\n"
        "                     ops (uniform, normal, dropout; default 0)\n"
        "  --step N           the step the random ops draw with (default 0)\n"
        "  --training         run the function as a training step sees it:\n"
        "                     `training` true, dropout active\n"
        "  --grad             run the derived function: results and gradients with\n"
        "                     respect to parameters and float inputs (a non-scalar\n"
        "                     result takes its seed as the last argument)\n"
        "  --dtype=f64        run in double precision\n"
        "ahead-of-time options (with -o EXE or -c):\n"
        "  --header H.h       the header of -c (default: OBJ with .h)\n"
        "  --prefix NAME      symbol prefix (default: the model's name in snake_case)\n"
        "  --emit=obj|asm|llvm  with -c: the object, its assembly or its LLVM IR\n"
        "  --target TRIPLE    cross-compile (for example aarch64-linux-gnu); -c only\n"
        "  --cpu NAME         the CPU to tune for (default: this host's, or generic);\n"
        "                     --cpu help lists them (for --target TRIPLE)\n"
        "  --bake CKPT        compile the checkpoint's weights into the object\n"
        "  --train NAME       the train section compiled in (default: the model's first)\n"
        "bench options:\n"
        "  --runs N, --warmup N, --forward NAME, --loss NAME\n",
        out);
}

/* ------------------------------------------------------- command line */

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

/* `--name VALUE` or `--name=VALUE`; advances *i over a separate value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *bad) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n))
    return NULL;
  if (a[n] == '=')
    return a + n + 1;
  if (a[n])
    return NULL;
  if (*i + 1 >= argc) {
    fprintf(stderr, "nnc: error: %s needs a value\n", name);
    *bad = true;
    return NULL;
  }
  return argv[++*i];
}

static bool parse_dim(Cli *c, const char *s) {
  const char *eq = strchr(s, '=');
  int64_t v;
  if (!eq || eq == s || !parse_int(eq + 1, 1, INT64_MAX / 2, &v) ||
      c->ndims == CALLBUF_MAX_BINDINGS) {
    fprintf(stderr, "nnc: error: --dim expects NAME=N with N >= 1, got '%s'\n", s);
    return false;
  }
  c->dim_names[c->ndims] = strndup(s, (size_t)(eq - s));
  c->dim_values[c->ndims++] = v;
  return true;
}

static bool parse_number_opt(const char *name, const char *v, int64_t lo, int64_t hi,
                             int64_t *out) {
  if (parse_int(v, lo, hi, out))
    return true;
  fprintf(stderr, "nnc: error: %s expects a number in [%lld, %lld], got '%s'\n", name,
          (long long)lo, (long long)hi, v);
  return false;
}

/* Options taking a value; returns 1 if argv[*i] was one, 0 if not, -1 on
 * error. */
static int parse_valued(Cli *c, int argc, char **argv, int *i) {
  bool bad = false;
  const char *v;
  int64_t n;
  const char **strs[] = {&c->fn,      &c->model, &c->out,    &c->out_dir, &c->params_dir,
                         &c->forward, &c->loss,  &c->header, &c->prefix,  &c->target,
                         &c->cpu,     &c->bake,  &c->train};
  const char *names[] = {"--fn",      "--model", "-o",       "--out-dir", "--params",
                         "--forward", "--loss",  "--header", "--prefix",  "--target",
                         "--cpu",     "--bake",  "--train"};
  for (int k = 0; k < 13; k++)
    if ((v = opt_value(argc, argv, i, names[k], &bad)) || bad) {
      if (v)
        *strs[k] = v;
      return bad ? -1 : 1;
    }
  if ((v = opt_value(argc, argv, i, "--dim", &bad)) || bad)
    return !bad && parse_dim(c, v) ? 1 : -1;
  if ((v = opt_value(argc, argv, i, "--seed", &bad)) || bad) {
    if (bad || !parse_number_opt("--seed", v, 0, INT64_MAX, &n))
      return -1;
    c->seed = (uint64_t)n;
    return 1;
  }
  if ((v = opt_value(argc, argv, i, "--step", &bad)) || bad) {
    if (bad || !parse_number_opt("--step", v, 0, UINT32_MAX, &n))
      return -1;
    c->step = (uint64_t)n;
    return 1;
  }
  int *ints[] = {&c->threads, &c->runs, &c->warmup};
  const char *inames[] = {"--threads", "--runs", "--warmup"};
  for (int k = 0; k < 3; k++)
    if ((v = opt_value(argc, argv, i, inames[k], &bad)) || bad) {
      if (bad || !parse_number_opt(inames[k], v, k == 2 ? 0 : 1, 4096, &n))
        return -1;
      *ints[k] = (int)n;
      return 1;
    }
  return 0;
}

static bool parse_flag(Cli *c, const char *a) {
  static const struct {
    const char *name;
    EmitKind emit;
    BackEmit back;
  } emits[] = {{"--emit=ast", EMIT_AST, BE_NONE},        {"--emit=ir", EMIT_IR, BE_NONE},
               {"--emit=fused-ir", EMIT_NONE, BE_FUSED}, {"--emit=llvm", EMIT_NONE, BE_LLVM},
               {"--emit=grad-ir", EMIT_NONE, BE_GRAD},   {"--mem-plan", EMIT_NONE, BE_MEMPLAN},
               {"--emit=asm", EMIT_NONE, BE_ASM},        {"--emit=obj", EMIT_NONE, BE_OBJ}};
  for (size_t k = 0; k < sizeof emits / sizeof emits[0]; k++)
    if (!strcmp(a, emits[k].name)) {
      c->emit = emits[k].emit;
      c->back = emits[k].back;
      return true;
    }
  if (!strcmp(a, "--no-fuse"))
    c->cg.fuse = false;
  else if (!strcmp(a, "-c"))
    c->compile_only = true;
  else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3])
    c->cg.opt_level = a[2] - '0';
  else if (!strcmp(a, "--grad"))
    c->grad = true;
  else if (!strcmp(a, "--training"))
    c->training = true;
  else if (!strcmp(a, "--dtype=f64"))
    c->f64 = true;
  else if (!strcmp(a, "--dtype=f32"))
    c->f64 = false;
  else if (!strcmp(a, "--gradcheck"))
    c->cmd = CMD_GRADCHECK;
  else if (!strncmp(a, "--stdlib=", 9))
    c->stdlib_dir = a + 9;
  else
    return false;
  return true;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(Cli *c, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--version")) {
      printf("nnc %s\n", NNC_VERSION);
      return 0;
    }
    int r = parse_valued(c, argc, argv, &i);
    if (r < 0)
      return 2;
    if (r > 0 || parse_flag(c, a))
      continue;
    if (c->npos == 0 && c->cmd == CMD_NONE &&
        (!strcmp(a, "check") || !strcmp(a, "call") || !strcmp(a, "bench"))) {
      c->cmd = a[1] == 'h' ? CMD_CHECK : a[1] == 'a' ? CMD_CALL : CMD_BENCH;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "nnc: error: unknown option '%s'\n", a);
      usage(stderr);
      return 2;
    } else if (c->npos < MAX_POSITIONAL) {
      c->pos[c->npos++] = a;
    } else {
      fprintf(stderr, "nnc: error: too many arguments\n");
      return 2;
    }
  }
  return -1;
}

/* ------------------------------------------------------------ helpers */

/* dims of f from --dim bindings; unbound symbols are 1. */
static void bind_cli_dims(const Cli *c, const IrModule *m, const IrFunc *f, int64_t *dims) {
  callbuf_bind_dims(m, f, c->dim_names, c->dim_values, c->ndims, 1, dims);
}

/* The function a train section names as its loss, or NULL. */
static const char *train_loss(const IrModule *m) {
  for (int i = 0; i < m->nsections; i++) {
    const IrSection *s = m->sections[i];
    if (s->kind != SEC_TRAIN)
      continue;
    const PtrVec *fields = &s->ast->u.section.fields;
    for (int k = 0; k < fields->len; k++) {
      const AstNode *fl = fields->items[k];
      if (!strcmp(fl->u.field.key, "loss") && fl->u.field.value->kind == AST_NAME)
        return fl->u.field.value->u.name.name;
    }
  }
  return NULL;
}

static bool is_scalar_float(const IrFunc *f) {
  return f->result && f->result->type.rank == 0 && dtype_is_float(f->result->type.dtype);
}

/* ------------------------------------------------- back-end emits */

static int emit_grad(Compilation *comp, IrModule *m, const Cli *c) {
  const char *want = c->fn ? c->fn : train_loss(m);
  int nf = m->nfuncs; /* autodiff appends */
  for (int i = 0; i < nf; i++) {
    IrFunc *f = m->funcs[i];
    if (want ? strcmp(f->name, want) : !is_scalar_float(f))
      continue;
    char err[512];
    if (!pipeline_derive(&comp->arena, m, f, &(AdOptions){0}, err, sizeof err)) {
      fprintf(stderr, "nnc: error: %s\n", err);
      return 1;
    }
  }
  ir_print_module(stdout, m);
  return 0;
}

/* The training-step form of f (gradients for the parameters). */
static IrFunc *derive(Compilation *comp, IrModule *m, IrFunc *f) {
  char err[512];
  IrFunc *df = pipeline_derive(&comp->arena, m, f, &(AdOptions){0}, err, sizeof err);
  if (!df)
    fprintf(stderr, "nnc: error: %s\n", err);
  return df;
}

static int emit_func(const IrModule *m, const IrFunc *f, const Cli *c) {
  switch (c->back) {
  case BE_FUSED:
    pipeline_print_fused(stdout, m, f, &c->cg);
    return 0;
  case BE_LLVM:
    return pipeline_print_llvm(stdout, m, f, &c->cg);
  case BE_MEMPLAN: {
    int64_t dims[CALLBUF_MAX_DIMS];
    if (f->ndims > (int)(sizeof dims / sizeof dims[0]))
      return 1;
    bind_cli_dims(c, m, f, dims);
    pipeline_print_memplan(stdout, m, f, &c->cg, dims);
    return 0;
  }
  case BE_GRAD:
  case BE_NONE:
  case BE_ASM:
  case BE_OBJ:
    break;
  }
  return 0;
}

static int emit_back(Compilation *comp, IrModule *m, const Cli *c) {
  if (c->f64)
    autodiff_retype_f64(m);
  if (c->back == BE_GRAD)
    return emit_grad(comp, m, c);
  if (c->fn && !ir_module_func(m, c->fn)) {
    call_no_such_function(m, c->fn);
    return 1;
  }
  int rc = 0, nf = m->nfuncs; /* --grad appends derived functions */
  for (int i = 0; i < nf && !rc; i++) {
    IrFunc *f = m->funcs[i];
    if (c->fn && strcmp(f->name, c->fn))
      continue;
    if (c->grad && !(f = derive(comp, m, f)))
      return 1;
    rc = emit_func(m, f, c);
  }
  return rc;
}

/* Runs `body` on the chosen model (or every model without --model). */
static int for_models(Compilation *comp, const Cli *c,
                      int (*body)(Compilation *, IrModule *, const Cli *)) {
  if (comp->errors)
    return 1;
  if (c->model || comp->nmodels == 1) {
    IrModule *m = frontend_model(comp, c->model, stderr);
    return m ? body(comp, m, c) : 1;
  }
  if (comp->nmodels == 0) {
    fprintf(stderr, "nnc: error: the file defines no model\n");
    return 1;
  }
  int rc = 0;
  for (int i = 0; i < comp->nmodels; i++)
    rc |= body(comp, comp->models[i], c);
  return rc;
}

static int gradcheck_one(Compilation *comp, IrModule *m, const Cli *c) {
  autodiff_retype_f64(m);
  GradcheckOptions o = gradcheck_default_options();
  o.fn = c->fn;
  o.seed = c->seed;
  o.dim_names = (const char **)c->dim_names;
  o.dim_values = c->dim_values;
  o.ndim_bindings = c->ndims;
  o.codegen = c->cg;
  return gradcheck_module(&comp->arena, m, &o, stdout) ? 1 : 0;
}

static int bench_one(Compilation *comp, IrModule *m, const Cli *c) {
  BenchOptions o = bench_default_options();
  if (c->forward)
    o.forward = c->forward;
  if (c->loss)
    o.loss = c->loss;
  o.dim_names = (const char **)c->dim_names;
  o.dim_values = c->dim_values;
  o.ndim_bindings = c->ndims;
  if (c->runs)
    o.runs = c->runs;
  if (c->warmup >= 0)
    o.warmup = c->warmup;
  o.codegen = c->cg;
  o.frontend_seconds = comp->seconds;
  return bench_module(&comp->arena, m, &o, stdout);
}

/* ----------------------------------------------------------- nnc call */

static int call_one(Compilation *comp, const Cli *c) {
  CallOptions o = {.model = c->model,
                   .fn = c->pos[1],
                   .args = c->pos + 2,
                   .nargs = c->npos - 2,
                   .grad = c->grad,
                   .f64 = c->f64,
                   .out = c->out,
                   .out_dir = c->out_dir,
                   .params_dir = c->params_dir,
                   .seed = c->seed,
                   .step = c->step,
                   .training = c->training,
                   .cg = c->cg};
  return call_command(comp, &o);
}

/* ------------------------------------------------------ ahead of time */

static bool is_aot(const Cli *c) {
  return c->cmd == CMD_NONE && c->emit == EMIT_NONE &&
         (c->compile_only || c->back == BE_ASM || c->back == BE_OBJ ||
          (c->back == BE_NONE && c->out));
}

static int aot_one(Compilation *comp, IrModule *m, const Cli *c) {
  AotOptions o = {.emit = c->back == BE_ASM                      ? AOT_ASM
                          : c->back == BE_LLVM                   ? AOT_LLVM
                          : c->compile_only || c->back == BE_OBJ ? AOT_OBJ
                                                                 : AOT_EXE,
                  .out = c->out,
                  .header = c->header,
                  .prefix = c->prefix,
                  .triple = c->target,
                  .cpu = c->cpu,
                  .bake = c->bake,
                  .model_file = c->pos[0],
                  .train = c->train,
                  .cg = c->cg};
  return aot_compile(comp, m, &o);
}

/* One model per object or executable: --model, the only one, or the last
 * (the file's main model, as nnc run takes it). */
static int cmd_aot(Compilation *comp, const Cli *c) {
  if (comp->errors)
    return 1;
  IrModule *m = c->model || comp->nmodels <= 1 ? frontend_model(comp, c->model, stderr)
                                               : comp->models[comp->nmodels - 1];
  return m ? aot_one(comp, m, c) : 1;
}

static int run_compiled(const Cli *c, const FrontendOptions *opt) {
  Compilation *comp = frontend_compile_file(c->pos[0], opt);
  int rc;
  if (is_aot(c))
    rc = cmd_aot(comp, c);
  else if (c->cmd == CMD_CALL)
    rc = call_one(comp, c);
  else if (c->cmd == CMD_GRADCHECK)
    rc = for_models(comp, c, gradcheck_one);
  else if (c->cmd == CMD_BENCH)
    rc = for_models(comp, c, bench_one);
  else
    rc = for_models(comp, c, emit_back);
  frontend_free(comp);
  return rc;
}

static int check_usage(const Cli *c) {
  const char *why = NULL;
  if (c->npos == 0)
    why = "no input file";
  else if (c->cmd == CMD_CALL && c->npos < 2)
    why = "nnc call needs a file and a function name";
  else if (is_aot(c) && !c->out)
    why = "-c and --emit=obj|asm need -o FILE";
  else if (is_aot(c) && c->target && !c->compile_only && c->back == BE_NONE)
    why = "--target cross-compiles objects (-c); an executable is for this machine";
  else if (!is_aot(c) && (c->header || c->prefix || c->target || c->cpu || c->bake))
    why = "--header, --prefix, --target, --cpu and --bake are for -c and -o EXE";
  else if (!is_aot(c) && c->train)
    why = "--train is for -c and -o EXE (and nnc run)";
  else if (c->cmd == CMD_NONE && c->emit == EMIT_NONE && c->back == BE_NONE && !is_aot(c))
    why = "nothing to do: use 'nnc check', 'nnc call', -o EXE, -c, --emit=KIND or --mem-plan";
  else if (c->cmd != CMD_CALL && c->cmd != CMD_CHECK && c->npos > 1)
    why = "this takes one input file";
  else if (c->out && c->out_dir)
    why = "-o and --out-dir cannot be combined";
  if (!why)
    return -1;
  fprintf(stderr, "nnc: error: %s\n", why);
  usage(stderr);
  return 2;
}

/* `nnc run` and `nnc repl`, which parse their own options. */
static int main_subcommand(int argc, char **argv, int (*cmd)(int, char **, const char *)) {
  Arena arena;
  arena_init(&arena);
  int rc = cmd(argc - 1, argv + 1, program_find_stdlib(&arena, argv[0]));
  arena_free(&arena);
  LLVMShutdown();
  return rc;
}

/* `nnc --print-runtime cc|cflags|libs`: what building a program around an
 * object of `nnc -c` takes, for trees without pkg-config (the build tree). */
static int print_runtime(const char *what) {
  if (!strcmp(what, "cc"))
    printf("%s\n", toolchain_runtime_cc());
  else if (!strcmp(what, "cflags"))
    printf("-I%s\n", toolchain_runtime_includedir());
  else if (!strcmp(what, "libs"))
    printf("%s/libnnrt.a %s\n", toolchain_runtime_libdir(), toolchain_runtime_link_flags());
  else {
    fprintf(stderr, "nnc: error: --print-runtime takes cc, cflags or libs\n");
    return 2;
  }
  return 0;
}

/* --dump-after=STAGE, anywhere on the command line of any command: the
 * pipeline prints that stage's result to stderr. Taken out of argv before
 * dispatching, so that run and repl, which parse their own options, need not
 * know it. Returns -1 to go on, else the exit status. */
static int take_dump_flags(int *argc, char **argv) {
  int n = 0;
  for (int i = 0; i < *argc; i++) {
    if (strncmp(argv[i], "--dump-after=", 13)) {
      argv[n++] = argv[i];
      continue;
    }
    PipeStage s;
    if (!pipeline_stage_named(argv[i] + 13, &s)) {
      fprintf(stderr, "nnc: error: --dump-after takes one of %s, got '%s'\n", pipeline_stage_list(),
              argv[i] + 13);
      return 2;
    }
    pipeline_set_dump(s, stderr);
  }
  *argc = n;
  argv[n] = NULL;
  return -1;
}

int main(int argc, char **argv) {
  int dump_rc = take_dump_flags(&argc, argv);
  if (dump_rc >= 0)
    return dump_rc;
  if (argc > 1 && !strcmp(argv[1], "run"))
    return main_subcommand(argc, argv, run_command);
  if (argc > 1 && !strcmp(argv[1], "repl"))
    return main_subcommand(argc, argv, repl_command);
  if (argc == 3 && !strcmp(argv[1], "--print-runtime"))
    return print_runtime(argv[2]);
  Cli c = {.threads = 0, .warmup = -1, .cg = pipeline_default_options()};
  int rc = parse_args(&c, argc, argv);
  if (rc < 0 && c.cpu && !strcmp(c.cpu, "help"))
    rc = target_cpu_list(c.target, stdout);
  if (rc < 0)
    rc = check_usage(&c);
  if (rc >= 0) {
    for (int i = 0; i < c.ndims; i++)
      free((void *)c.dim_names[i]);
    return rc;
  }
  Arena arena;
  arena_init(&arena);
  FrontendOptions opt = {.emit = c.emit, .out = stdout, .diag_out = stderr};
  opt.stdlib_dir = c.stdlib_dir ? c.stdlib_dir : program_find_stdlib(&arena, argv[0]);
  if (c.threads)
    nnrt_set_threads(c.threads);
  if (c.cmd == CMD_CHECK || (c.cmd == CMD_NONE && c.back == BE_NONE && !is_aot(&c))) {
    int errors = 0;
    for (int i = 0; i < c.npos; i++)
      errors += frontend_run_file(c.pos[i], &opt);
    rc = errors ? 1 : 0;
  } else {
    rc = run_compiled(&c, &opt);
  }
  for (int i = 0; i < c.ndims; i++)
    free((void *)c.dim_names[i]);
  arena_free(&arena);
  LLVMShutdown(); /* LLVM's global state, so that valgrind sees nothing left */
  return rc;
}
