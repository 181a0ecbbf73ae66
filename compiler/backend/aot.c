/* aot.c - objects, headers and executables of compiled models. */
#include "aot.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <llvm-c/Linker.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aot_desc.h"
#include "aot_header.h"
#include "codegen.h"
#include "gen_step.h"
#include "model_desc.h"
#include "nnrt_train.h"
#include "toolchain.h"

const char *aot_default_prefix(Arena *a, const char *name) {
  size_t n = strlen(name);
  char *s = arena_alloc(a, 2 * n + 2), *o = s;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    bool upper = isupper(c);
    /* a word starts at an upper-case letter after a lower-case letter or a
       digit, or at the last capital of a run followed by lower case
       (MLPNet -> mlp_net) */
    bool starts =
        upper && i > 0 &&
        (islower((unsigned char)name[i - 1]) || isdigit((unsigned char)name[i - 1]) ||
         (isupper((unsigned char)name[i - 1]) && i + 1 < n && islower((unsigned char)name[i + 1])));
    if (starts && o > s && o[-1] != '_')
      *o++ = '_';
    *o++ = isalnum(c) ? (char)tolower(c) : '_';
  }
  *o = 0;
  if (isdigit((unsigned char)s[0]))
    return arena_printf(a, "m_%s", s);
  return s;
}

static bool valid_prefix(const char *p) {
  if (!*p || !(isalpha((unsigned char)*p) || *p == '_'))
    return false;
  for (; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_'))
      return false;
  return true;
}

/* ---- code ---------------------------------------------------------------- */

typedef struct Aot {
  Arena *a;
  const AotOptions *o;
  const char *prefix;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  DescFunc *funcs;
  const char **entries;
  int nfuncs;
  char err[1024];
} Aot;

static const char *entry_symbol(Arena *a, const char *prefix, const char *fname) {
  char *s = arena_printf(a, "%s.%s", prefix, fname);
  for (char *p = s + strlen(prefix) + 1; *p; p++)
    if (!isalnum((unsigned char)*p))
      *p = '_';
  return s;
}

/* Every function of the module, each through the pipeline's fusion,
 * planning and code generation as for the JIT, linked into one LLVM module
 * (optimised as a whole in build). */
static bool compile_funcs(Aot *g, const IrModule *m) {
  g->nfuncs = m->nfuncs;
  g->funcs = ARENA_ARRAY(g->a, DescFunc, (size_t)m->nfuncs + 1);
  g->entries = ARENA_ARRAY(g->a, const char *, (size_t)m->nfuncs + 1);
  for (int i = 0; i < m->nfuncs; i++) {
    const IrFunc *f = m->funcs[i];
    PlannedFunc plan = pipeline_plan(g->a, m, f, &g->o->cg);
    g->funcs[i] = (DescFunc){f, plan.mp};
    g->entries[i] = entry_symbol(g->a, g->prefix, f->name);
    LLVMModuleRef fm =
        pipeline_codegen(g->ctx, g->tm, m, f, &plan, g->entries[i], g->err, sizeof g->err);
    if (!fm)
      return false;
    if (LLVMLinkModules2(g->mod, fm)) {
      snprintf(g->err, sizeof g->err, "linking the code of %s failed", f->name);
      return false;
    }
  }
  /* Only the descriptor and the API below are the object's interface. */
  for (LLVMValueRef fn = LLVMGetFirstFunction(g->mod); fn; fn = LLVMGetNextFunction(fn))
    if (!LLVMIsDeclaration(fn))
      LLVMSetLinkage(fn, LLVMInternalLinkage);
  for (LLVMValueRef gv = LLVMGetFirstGlobal(g->mod); gv; gv = LLVMGetNextGlobal(gv))
    if (!LLVMIsDeclaration(gv))
      LLVMSetLinkage(gv, LLVMInternalLinkage);
  return true;
}

/* The handle API, one exported `<prefix>_<name>` per runtime function: a
 * tail call with the same arguments ('D' adds the descriptor in front).
 * Types: i int32, l int64 (also size_t), p pointer, d double, v void. */
static const struct {
  const char *name, *target;
  char ret;
  const char *args;
} thunks[] = {
    {"create", "nnrt_model_create", 'i', "Dp"},
    {"create_error", "nnrt_model_create_error", 'p', ""},
    {"free", "nnrt_model_free", 'v', "p"},
    {"error", "nnrt_model_error", 'p', "p"},
    {"reset", "nnrt_model_reset", 'i', "pl"},
    {"load", "nnrt_model_load", 'i', "pp"},
    {"load_weights", "nnrt_model_load_weights", 'i', "pp"},
    {"save", "nnrt_model_save", 'i', "pp"},
    {"predict", "nnrt_model_predict", 'i', "plpp"},
    {"train_step", "nnrt_model_train_step", 'i', "plppp"},
    {"evaluate", "nnrt_model_evaluate", 'i', "plppp"},
    {"reset_carried", "nnrt_model_reset_carried", 'i', "p"},
    {"set_lr", "nnrt_model_set_lr", 'i', "pd"},
    {"set_epoch", "nnrt_model_set_epoch", 'i', "pl"},
    {"set_schedule", "nnrt_model_set_schedule", 'i', "pl"},
    {"lr", "nnrt_model_lr", 'd', "p"},
    {"input_scale", "nnrt_model_input_scale", 'd', "p"},
    {"input_stats", "nnrt_model_input_stats", 'i', "pppl"},
    {"set_input_normalised", "nnrt_model_set_input_normalised", 'i', "pi"},
    {"steps", "nnrt_model_steps", 'l', "p"},
    {"set_seed", "nnrt_model_set_seed", 'i', "pl"},
    {"call", "nnrt_model_call", 'i', "pippp"},
    {"find_func", "nnrt_model_find_func", 'i', "pp"},
    {"find_param", "nnrt_model_find_param", 'i', "pp"},
    {"param_bytes", "nnrt_model_param_bytes", 'l', "pi"},
    {"get_param", "nnrt_model_get_param", 'i', "pppl"},
    {"set_param", "nnrt_model_set_param", 'i', "pppl"},
    {"input_size", "nnrt_model_input_size", 'l', "p"},
    {"output_size", "nnrt_model_output_size", 'l', "p"},
    {"label_size", "nnrt_model_label_size", 'l', "p"},
    {"generate", "nnrt_model_generate", 'i', "ppldllp"},
    {"set_vocab", "nnrt_model_set_vocab", 'i', "ppl"},
    {"vocab", "nnrt_model_vocab", 'l', "ppl"},
};

static LLVMTypeRef type_of(LLVMContextRef c, char k) {
  switch (k) {
  case 'i':
    return LLVMInt32TypeInContext(c);
  case 'l':
    return LLVMInt64TypeInContext(c);
  case 'd':
    return LLVMDoubleTypeInContext(c);
  case 'v':
    return LLVMVoidTypeInContext(c);
  default:
    return LLVMPointerTypeInContext(c, 0);
  }
}

static LLVMValueRef get_or_declare(LLVMModuleRef mod, const char *name, LLVMTypeRef fty) {
  LLVMValueRef f = LLVMGetNamedFunction(mod, name);
  return f ? f : LLVMAddFunction(mod, name, fty);
}

static void emit_thunk(Aot *g, int t, LLVMValueRef desc) {
  LLVMContextRef c = g->ctx;
  const char *args = thunks[t].args;
  int n = (int)strlen(args);
  LLVMTypeRef all[8], own[8];
  int nown = 0;
  for (int i = 0; i < n; i++) {
    all[i] = type_of(c, args[i]);
    if (args[i] != 'D')
      own[nown++] = all[i];
  }
  LLVMTypeRef ret = type_of(c, thunks[t].ret);
  LLVMValueRef target =
      get_or_declare(g->mod, thunks[t].target, LLVMFunctionType(ret, all, (unsigned)n, false));
  LLVMTypeRef fty = LLVMFunctionType(ret, own, (unsigned)nown, false);
  const char *name = arena_printf(g->a, "%s_%s", g->prefix, thunks[t].name);
  LLVMValueRef fn = LLVMAddFunction(g->mod, name, fty);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, fn, "entry"));
  LLVMValueRef call_args[8];
  for (int i = 0, k = 0; i < n; i++)
    call_args[i] = args[i] == 'D' ? desc : LLVMGetParam(fn, (unsigned)k++);
  LLVMValueRef r = LLVMBuildCall2(b, LLVMFunctionType(ret, all, (unsigned)n, false), target,
                                  call_args, (unsigned)n, "");
  LLVMSetTailCall(r, true);
  if (thunks[t].ret == 'v')
    LLVMBuildRetVoid(b);
  else
    LLVMBuildRet(b, r);
  LLVMDisposeBuilder(b);
}

/* `<prefix>_descriptor()`, and for an executable `main` over nnrt_main. */
static void emit_interface(Aot *g, LLVMValueRef desc) {
  for (size_t t = 0; t < sizeof thunks / sizeof thunks[0]; t++)
    emit_thunk(g, (int)t, desc);
  LLVMContextRef c = g->ctx;
  LLVMTypeRef ptr = LLVMPointerTypeInContext(c, 0), i32 = LLVMInt32TypeInContext(c);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
  LLVMValueRef fn = LLVMAddFunction(g->mod, arena_printf(g->a, "%s_descriptor", g->prefix),
                                    LLVMFunctionType(ptr, NULL, 0, false));
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, fn, "entry"));
  LLVMBuildRet(b, desc);
  if (g->o->emit == AOT_EXE) {
    LLVMTypeRef main_args[2] = {i32, ptr}, nm_args[3] = {ptr, i32, ptr};
    LLVMTypeRef nm_ty = LLVMFunctionType(i32, nm_args, 3, false);
    LLVMValueRef nm = get_or_declare(g->mod, "nnrt_main", nm_ty);
    LLVMValueRef mainf =
        LLVMAddFunction(g->mod, "main", LLVMFunctionType(i32, main_args, 2, false));
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, mainf, "entry"));
    LLVMValueRef args[3] = {desc, LLVMGetParam(mainf, 0), LLVMGetParam(mainf, 1)};
    LLVMBuildRet(b, LLVMBuildCall2(b, nm_ty, nm, args, 3, ""));
  }
  LLVMDisposeBuilder(b);
}

/* ---- data paths and baked weights ------------------------------------ */

/* An executable runs from anywhere: data paths become absolute when the
 * file is there at compile time. */
static const char *absolute(Arena *a, const char *path) {
  char buf[PATH_MAX];
  if (!path || path[0] == '/' || !realpath(path, buf))
    return path;
  return arena_strdup(a, buf);
}

static void absolute_paths(Arena *a, nnrt_source_desc *s) {
  s->path = absolute(a, s->path);
  s->path2 = absolute(a, s->path2);
}

/* Reads the checkpoint's parameters (not the optimizer state, which
 * inference never reads, so a checkpoint of any train section or of the
 * fit bakes) and, with standardize, its data statistics into the
 * descriptor. */
static bool bake_weights(Aot *g, nnrt_model_desc *d, int64_t nfeatures) {
  nnrt_named_tensor *named = ARENA_ARRAY(g->a, nnrt_named_tensor, (size_t)d->nparams + 2);
  int n = 0;
  for (int i = 0; i < d->nparams; i++) {
    nnrt_param_desc *p = (nnrt_param_desc *)&d->params[i];
    nnrt_named_tensor *t = &named[n++];
    t->name = p->name;
    t->t.dtype = (nnrt_dtype)p->dtype;
    t->t.rank = p->rank;
    int64_t numel = 1;
    for (int j = 0; j < p->rank; j++)
      numel *= t->t.dims[j] = p->dims[j];
    t->t.data = arena_alloc(g->a, (size_t)(numel ? numel : 1) * nnrt_dtype_size(t->t.dtype));
    if (!nnrt_checkpoint_is_optim(p->name))
      p->baked = t->t.data;
  }
  if (d->cfg.standardize) {
    float *stats[2] = {ARENA_ARRAY(g->a, float, (size_t)nfeatures + 1),
                       ARENA_ARRAY(g->a, float, (size_t)nfeatures + 1)};
    const char *names[2] = {"data.mean", "data.std"};
    for (int i = 0; i < 2; i++)
      named[n++] = (nnrt_named_tensor){
          names[i], {.dtype = NNRT_F32, .rank = 1, .dims = {nfeatures}, .data = stats[i]}};
    d->baked_mean = stats[0];
    d->baked_std = stats[1];
  }
  nnrt_model_io io = {.model_name = d->name, .tensors = named, .ntensors = n};
  if (nnrt_checkpoint_load_weights(g->o->bake, &io, g->err, sizeof g->err) != NNRT_OK)
    return false;
  /* generation needs the text's characters: they go with the weights */
  char *vocab = arena_alloc(g->a, NNRT_MAX_VOCAB);
  int64_t nv = nnrt_checkpoint_vocab(g->o->bake, vocab, g->err, sizeof g->err);
  if (nv > 0) {
    d->vocab = vocab;
    d->nvocab = (int32_t)nv;
  }
  return nv >= 0;
}

/* Per-sample features of the predict (or eval) function's input, for the
 * statistics' size. */
static int64_t input_features(const nnrt_model_desc *d) {
  int f = d->predict >= 0 ? d->predict : d->eval;
  if (f < 0 || d->funcs[f].ninputs < 1)
    return -1;
  return nnrt_arg_sample_numel(&d->funcs[f].inputs[0]);
}

/* ---- output -------------------------------------------------------------- */

static bool write_module(Aot *g, AotEmit emit, const char *path) {
  char *msg = NULL;
  bool bad;
  if (emit == AOT_LLVM)
    bad = LLVMPrintModuleToFile(g->mod, path, &msg);
  else
    bad = LLVMTargetMachineEmitToFile(g->tm, g->mod, (char *)path,
                                      emit == AOT_ASM ? LLVMAssemblyFile : LLVMObjectFile, &msg);
  if (bad)
    snprintf(g->err, sizeof g->err, "%s: %s", path, msg ? msg : "cannot write");
  LLVMDisposeMessage(msg);
  return !bad;
}

/* Runs argv (no shell); true when it exits 0. */
static bool run_program(char *const *argv, char *err, size_t errlen) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(errno));
    return false;
  }
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "nnc: error: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      snprintf(err, errlen, "waiting for %s: %s", argv[0], strerror(errno));
      return false;
    }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return true;
  snprintf(err, errlen, "linking with %s failed (status %d)", argv[0],
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return false;
}

/* The object into a temporary file, then `cc obj libnnrt.a <libs> -o out`:
 * the runtime links statically, so the executable needs no nnc; OpenBLAS
 * and the C library stay shared. */
static bool link_executable(Aot *g) {
  const char *tmp = getenv("TMPDIR");
  char *obj = (char *)arena_printf(g->a, "%s/nnc-XXXXXX.o", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemps(obj, 2);
  if (fd < 0) {
    snprintf(g->err, sizeof g->err, "cannot create a temporary object: %s", strerror(errno));
    return false;
  }
  close(fd);
  bool ok = write_module(g, AOT_OBJ, obj);
  if (ok) {
    const char *cc = g->o->cc ? g->o->cc : getenv("CC");
    if (!cc || !*cc)
      cc = toolchain_runtime_cc();
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)cc;
    argv[n++] = obj;
    argv[n++] = (char *)arena_printf(g->a, "%s/libnnrt.a", toolchain_runtime_libdir());
    char *flags = arena_strdup(g->a, toolchain_runtime_link_flags());
    for (char *t = strtok(flags, " "); t && n < 60; t = strtok(NULL, " "))
      argv[n++] = t;
    argv[n++] = "-o";
    argv[n++] = (char *)g->o->out;
    argv[n] = NULL;
    ok = run_program(argv, g->err, sizeof g->err);
  }
  unlink(obj);
  return ok;
}

static const char *header_path(Arena *a, const AotOptions *o) {
  if (o->header)
    return o->header;
  const char *dot = strrchr(o->out, '.'), *slash = strrchr(o->out, '/');
  size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - o->out) : strlen(o->out);
  return arena_printf(a, "%.*s.h", (int)stem, o->out);
}

static bool write_header(Aot *g, const nnrt_model_desc *d) {
  char *triple = LLVMGetTargetMachineTriple(g->tm), *cpu = LLVMGetTargetMachineCPU(g->tm);
  AotHeaderInfo info = {.object = g->o->out,
                        .prefix = g->prefix,
                        .model_file = g->o->model_file,
                        .triple = triple,
                        .cpu = cpu,
                        .baked = g->o->bake != NULL};
  bool ok = aot_header_write(header_path(g->a, g->o), &info, d, g->err, sizeof g->err);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  return ok;
}

/* ---- the whole ---------------------------------------------------------- */

static bool build(Aot *g, Compilation *comp, IrModule *m) {
  const AotOptions *o = g->o;
  char *dir_copy = strdup(o->model_file);
  TrainConfig cfg;
  bool known = train_config_read(&comp->prog, m, dirname(dir_copy), o->train, &cfg);
  free(dir_copy);
  if (!known) {
    snprintf(g->err, sizeof g->err, "%s", train_config_unknown_step(g->a, m, o->train));
    return false;
  }
  TrainStep ts;
  bool has_ts = cfg.has_train; /* with or without data: a program may feed the batches */
  if (has_ts && !pipeline_train_step(g->a, m, &cfg, &ts, g->err, sizeof g->err))
    return false;
  if (!(g->tm = codegen_object_machine(o->triple, o->cpu, o->cg.opt_level, g->err, sizeof g->err)))
    return false;
  g->mod = LLVMModuleCreateWithNameInContext(g->prefix, g->ctx);
  char *triple = LLVMGetTargetMachineTriple(g->tm);
  LLVMSetTarget(g->mod, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(g->tm);
  LLVMSetModuleDataLayout(g->mod, td);
  GenStep gen = gen_step_build(g->a, m, &cfg);
  bool ok = compile_funcs(g, m);
  if (ok) {
    nnrt_model_desc *d = model_desc_build(g->a, m, has_ts ? &ts : NULL, &cfg, g->funcs, g->nfuncs);
    model_desc_set_generate(g->a, d, m, &gen);
    absolute_paths(g->a, &d->cfg.source);
    absolute_paths(g->a, &d->cfg.val_source);
    int64_t nfeatures = input_features(d);
    if (o->bake && d->cfg.standardize && nfeatures < 0) {
      snprintf(g->err, sizeof g->err, "cannot bake data statistics: the input has symbolic dims");
      ok = false;
    }
    ok = ok && (!o->bake || bake_weights(g, d, nfeatures));
    if (ok) {
      LLVMValueRef *entries = ARENA_ARRAY(g->a, LLVMValueRef, (size_t)g->nfuncs + 1);
      for (int i = 0; i < g->nfuncs; i++)
        entries[i] = LLVMGetNamedFunction(g->mod, g->entries[i]);
      LLVMValueRef desc = aot_desc_emit(g->mod, td, g->prefix, d, entries, nfeatures);
      emit_interface(g, desc);
      ok = pipeline_optimize(g->mod, g->tm, &o->cg, g->err, sizeof g->err);
    }
    if (ok) {
      if (o->emit == AOT_EXE)
        ok = link_executable(g);
      else
        ok = write_module(g, o->emit, o->out);
    }
    if (ok && o->emit == AOT_OBJ)
      ok = write_header(g, d);
  }
  LLVMDisposeTargetData(td);
  return ok;
}

int aot_compile(Compilation *comp, IrModule *m, const AotOptions *o) {
  Aot g = {.a = &comp->arena, .o = o};
  g.prefix = o->prefix ? o->prefix : aot_default_prefix(g.a, m->name);
  if (!valid_prefix(g.prefix)) {
    fprintf(stderr, "nnc: error: --prefix '%s' is not a C identifier\n", g.prefix);
    return 1;
  }
  g.ctx = LLVMContextCreate();
  bool ok = build(&g, comp, m);
  if (!ok)
    fprintf(stderr, "nnc: error: %s\n", g.err);
  if (g.mod)
    LLVMDisposeModule(g.mod);
  if (g.tm)
    LLVMDisposeTargetMachine(g.tm);
  LLVMContextDispose(g.ctx);
  return ok ? 0 : 1;
}
