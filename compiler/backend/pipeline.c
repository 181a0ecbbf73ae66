/* pipeline.c - the stages after the front end, in order, with a verifier
 * after each IR-to-IR stage and a dump after any stage (pipeline.h). */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "codegen.h"

static const char *const stage_names[STAGE_COUNT] = {
    [STAGE_AUTODIFF] = "autodiff", [STAGE_TRAIN_STEP] = "train-step", [STAGE_FUSE] = "fuse",
    [STAGE_MEMPLAN] = "memplan",   [STAGE_CODEGEN] = "codegen",       [STAGE_OPTIMIZE] = "optimize",
};

static FILE *dump_out[STAGE_COUNT];

CodegenOptions pipeline_default_options(void) {
  return (CodegenOptions){.opt_level = 3, .fuse = true};
}

const char *pipeline_stage_name(PipeStage s) { return stage_names[s]; }

bool pipeline_stage_named(const char *name, PipeStage *out) {
  for (int s = 0; s < STAGE_COUNT; s++)
    if (!strcmp(name, stage_names[s])) {
      *out = (PipeStage)s;
      return true;
    }
  return false;
}

const char *pipeline_stage_list(void) {
  return "autodiff, train-step, fuse, memplan, codegen, optimize";
}

void pipeline_set_dump(PipeStage stage, FILE *out) { dump_out[stage] = out; }

/* The stream to print stage's result to, after a header naming the stage
 * and the function; NULL when that stage is not dumped. */
static FILE *dump_begin(PipeStage stage, const char *fname) {
  FILE *out = dump_out[stage];
  if (out)
    fprintf(out, "; --dump-after=%s: %s\n", stage_names[stage], fname);
  return out;
}

static void dump_llvm(PipeStage stage, const char *fname, LLVMModuleRef mod) {
  FILE *out = dump_begin(stage, fname);
  if (!out)
    return;
  char *s = LLVMPrintModuleToString(mod);
  fputs(s, out);
  LLVMDisposeMessage(s);
}

/* ---- IR to IR ------------------------------------------------------------ */

IrFunc *pipeline_derive(Arena *a, IrModule *m, const IrFunc *f, const AdOptions *o, char *err,
                        size_t errlen) {
  IrFunc *df = autodiff_func(a, m, f, o, err, errlen);
  if (!df)
    return NULL;
  ir_verify_module(m, pipeline_stage_name(STAGE_AUTODIFF), NULL);
  FILE *out = dump_begin(STAGE_AUTODIFF, df->name);
  if (out)
    ir_print_func(out, m, df);
  return df;
}

bool pipeline_train_step(Arena *a, IrModule *m, const TrainConfig *c, TrainStep *out, char *err,
                         size_t errlen) {
  if (!train_step_build(a, m, c, out, err, errlen))
    return false;
  ir_verify_module(m, pipeline_stage_name(STAGE_TRAIN_STEP), NULL);
  FILE *d = dump_begin(STAGE_TRAIN_STEP, out->step ? out->step->name : out->eval->name);
  if (d) {
    if (out->step)
      ir_print_func(d, m, out->step);
    ir_print_func(d, m, out->eval);
  }
  return true;
}

/* ---- IR to machine code -------------------------------------------------- */

PlannedFunc pipeline_plan(Arena *a, const IrModule *m, const IrFunc *f, const CodegenOptions *o) {
  PlannedFunc p;
  p.ff = fuse_func(a, f, o->fuse);
  FILE *out = dump_begin(STAGE_FUSE, f->name);
  if (out)
    fuse_print(out, m, p.ff);
  p.mp = memplan_build(a, p.ff);
  if ((out = dump_begin(STAGE_MEMPLAN, f->name))) {
    /* the plan for every dim 1; --mem-plan --dim binds others */
    int64_t *ones = ARENA_ARRAY(a, int64_t, (size_t)f->ndims + 1);
    for (int i = 0; i < f->ndims; i++)
      ones[i] = 1;
    memplan_print(out, m, p.mp, ones);
  }
  return p;
}

LLVMModuleRef pipeline_codegen(LLVMContextRef ctx, LLVMTargetMachineRef tm, const IrModule *m,
                               const IrFunc *f, const PlannedFunc *p, const char *entry, char *err,
                               size_t errlen) {
  LLVMModuleRef mod = codegen_module(ctx, tm, m, p->ff, p->mp, entry, err, errlen);
  if (mod)
    dump_llvm(STAGE_CODEGEN, f->name, mod);
  return mod;
}

bool pipeline_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, const CodegenOptions *o,
                       char *err, size_t errlen) {
  if (!codegen_optimize(mod, tm, o->opt_level, err, errlen))
    return false;
  size_t n;
  dump_llvm(STAGE_OPTIMIZE, LLVMGetModuleIdentifier(mod, &n), mod);
  return true;
}

LLVMModuleRef pipeline_compile(Arena *a, LLVMContextRef ctx, LLVMTargetMachineRef tm,
                               const IrModule *m, const IrFunc *f, const char *entry,
                               const CodegenOptions *o, PlannedFunc *plan, char *err,
                               size_t errlen) {
  *plan = pipeline_plan(a, m, f, o);
  LLVMModuleRef mod = pipeline_codegen(ctx, tm, m, f, plan, entry, err, errlen);
  if (mod && !pipeline_optimize(mod, tm, o, err, errlen)) {
    LLVMDisposeModule(mod);
    return NULL;
  }
  return mod;
}

/* ---- the --emit options -------------------------------------------------- */

void pipeline_print_fused(FILE *out, const IrModule *m, const IrFunc *f, const CodegenOptions *o) {
  Arena a;
  arena_init(&a);
  fuse_print(out, m, pipeline_plan(&a, m, f, o).ff);
  arena_free(&a);
}

/* "loss.grad" -> "loss_grad": the entry point's name in --emit=llvm. */
static const char *entry_name(Arena *a, const char *fname) {
  char *s = arena_strdup(a, fname);
  for (char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
      *p = '_';
  return s;
}

int pipeline_print_llvm(FILE *out, const IrModule *m, const IrFunc *f, const CodegenOptions *o) {
  char err[512];
  LLVMTargetMachineRef tm = codegen_host_machine(o->opt_level, err, sizeof err);
  if (!tm) {
    fprintf(stderr, "nnc: error: %s\n", err);
    return 1;
  }
  Arena a;
  arena_init(&a);
  LLVMContextRef ctx = LLVMContextCreate();
  PlannedFunc plan;
  LLVMModuleRef mod =
      pipeline_compile(&a, ctx, tm, m, f, entry_name(&a, f->name), o, &plan, err, sizeof err);
  if (mod) {
    char *s = LLVMPrintModuleToString(mod);
    fputs(s, out);
    LLVMDisposeMessage(s);
    LLVMDisposeModule(mod);
  } else {
    fprintf(stderr, "nnc: error: %s\n", err);
  }
  LLVMContextDispose(ctx);
  LLVMDisposeTargetMachine(tm);
  arena_free(&a);
  return mod ? 0 : 1;
}

void pipeline_print_memplan(FILE *out, const IrModule *m, const IrFunc *f, const CodegenOptions *o,
                            const int64_t *dims) {
  Arena a;
  arena_init(&a);
  memplan_print(out, m, pipeline_plan(&a, m, f, o).mp, dims);
  arena_free(&a);
}
