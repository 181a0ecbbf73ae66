/* jit.c - ORC LLJIT for the host, and calling compiled functions.
 *
 * Every JitFunc is one LLVM module in its own ThreadSafeContext, added to
 * the LLJIT's main JITDylib; runtime (nnrt_*) and libm symbols resolve from
 * the process (nnc is linked with the whole runtime and exports it). Symbol
 * names carry a per-Jit counter so one Jit can hold many functions.
 *
 * A call costs one comparison of the dims with the cached ones; the
 * workspace layout is computed and the workspace (re)allocated only when
 * the dims change (and only grows).
 */
#include "jit.h"

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "model_desc.h"
#include "nnrt_model.h"

typedef int32_t (*EntryFn)(const int64_t *dims, void *const *inputs, void *const *params,
                           void *const *outputs, char *ws, const int64_t *ws_offsets,
                           const uint64_t *rng);

struct Jit {
  LLVMOrcLLJITRef lljit;
  int counter;
  JitFunc *funcs; /* every function compiled, freed with the Jit */
};

struct JitFunc {
  JitFunc *next;
  const IrModule *m;
  const IrFunc *f;
  Arena arena;
  FusedFunc *ff;
  MemPlan *mp;
  EntryFn entry;
  int64_t *dims; /* dims of the cached layout, or NULL */
  int64_t *offsets;
  char *ws;
  int64_t ws_bytes, ws_cap;
  uint64_t rng[2]; /* seed, step */
};

static bool take_error(LLVMErrorRef e, const char *what, char *err, size_t errlen) {
  if (!e)
    return false;
  char *m = LLVMGetErrorMessage(e);
  snprintf(err, errlen, "%s: %s", what, m);
  LLVMDisposeErrorMessage(m);
  return true;
}

Jit *jit_new(char *err, size_t errlen) {
  LLVMTargetMachineRef tm = codegen_host_machine(3, err, errlen); /* initialises LLVM */
  if (!tm)
    return NULL;
  LLVMDisposeTargetMachine(tm);
  LLVMOrcJITTargetMachineBuilderRef jtmb;
  if (take_error(LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb), "JIT host detection", err,
                 errlen))
    return NULL;
  LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, jtmb);
  Jit *j = calloc(1, sizeof *j);
  if (!j) {
    LLVMOrcDisposeLLJITBuilder(b);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (take_error(LLVMOrcCreateLLJIT(&j->lljit, b), "creating the JIT", err, errlen)) {
    free(j);
    return NULL;
  }
  LLVMOrcDefinitionGeneratorRef gen;
  if (take_error(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                     &gen, LLVMOrcLLJITGetGlobalPrefix(j->lljit), NULL, NULL),
                 "JIT symbol search", err, errlen)) {
    jit_free(j);
    return NULL;
  }
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->lljit), gen);
  return j;
}

static void func_free(JitFunc *jf) {
  free(jf->dims);
  free(jf->offsets);
  free(jf->ws);
  arena_free(&jf->arena);
  free(jf);
}

void jit_free(Jit *j) {
  if (!j)
    return;
  for (JitFunc *jf = j->funcs, *next; jf; jf = next) {
    next = jf->next;
    func_free(jf);
  }
  if (j->lljit)
    LLVMConsumeError(LLVMOrcDisposeLLJIT(j->lljit));
  free(j);
}

/* "loss.grad" -> "nnc3_loss_grad": unique in the JIT, plain characters. */
static const char *entry_name(Arena *a, int n, const char *fname) {
  char *s = arena_printf(a, "nnc%d_%s", n, fname);
  for (char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
      *p = '_';
  return s;
}

static bool add_module(Jit *j, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsc, char *err,
                       size_t errlen) {
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
  LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(j->lljit);
  return !take_error(LLVMOrcLLJITAddLLVMIRModule(j->lljit, jd, tsm), "adding code to the JIT", err,
                     errlen);
}

JitFunc *jit_compile(Jit *j, const IrModule *m, const IrFunc *f, const CodegenOptions *o, char *err,
                     size_t errlen) {
  JitFunc *jf = calloc(1, sizeof *jf);
  if (!jf) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  arena_init(&jf->arena);
  jf->m = m;
  jf->f = f;
  LLVMTargetMachineRef tm = codegen_host_machine(o->opt_level, err, errlen);
  if (!tm) {
    func_free(jf);
    return NULL;
  }
  const char *name = entry_name(&jf->arena, j->counter++, f->name);
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  PlannedFunc plan;
  LLVMModuleRef mod = pipeline_compile(&jf->arena, LLVMOrcThreadSafeContextGetContext(tsc), tm, m,
                                       f, name, o, &plan, err, errlen);
  jf->ff = plan.ff;
  jf->mp = plan.mp;
  bool ok = mod != NULL;
  if (ok && !(jf->offsets = malloc(sizeof(int64_t) * ((size_t)jf->mp->nbufs + 1)))) {
    snprintf(err, errlen, "out of memory");
    LLVMDisposeModule(mod);
    ok = false;
  }
  ok = ok && add_module(j, mod, tsc, err, errlen);
  LLVMOrcDisposeThreadSafeContext(tsc);
  LLVMDisposeTargetMachine(tm);
  LLVMOrcExecutorAddress addr = 0;
  if (ok)
    ok = !take_error(LLVMOrcLLJITLookup(j->lljit, &addr, name), "JIT lookup", err, errlen);
  if (!ok) {
    func_free(jf);
    return NULL;
  }
  jf->entry = (EntryFn)(uintptr_t)addr;
  jf->next = j->funcs;
  j->funcs = jf;
  return jf;
}

/* A dim such as T - 2 is negative for T = 1: then no tensor of that shape
 * can be sized, and the code must not run. */
static bool sizes_fit(const JitFunc *jf, IrValue *const *vals, const char *const *names, int n,
                      const char *what, const int64_t *dims, char *err, size_t errlen) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < vals[i]->type.rank; j++) {
      Dim d = vals[i]->type.dims[j];
      bool ok = true;
      int64_t v = memplan_dim_value(d, jf->f, dims, &ok);
      if (ok && v >= 0)
        continue;
      Arena a;
      arena_init(&a);
      const char *text = dim_str(&a, jf->m->syms, d), *name = names && names[i] ? names[i] : "";
      if (ok)
        snprintf(err, errlen,
                 "%s: %s %d '%s' axis %d is %s = %lld for these dimensions; a size "
                 "cannot be negative",
                 jf->f->name, what, i, name, j, text, (long long)v);
      else
        snprintf(err, errlen, "%s: %s %d '%s' axis %d, %s, overflows 64 bits", jf->f->name, what, i,
                 name, j, text);
      arena_free(&a);
      return false;
    }
  return true;
}

/* Lays out the workspace for dims unless the cached layout is for them. */
static bool prepare(JitFunc *jf, const int64_t *dims, char *err, size_t errlen) {
  int nd = jf->f->ndims;
  if (jf->dims && (nd == 0 || !memcmp(jf->dims, dims, sizeof(int64_t) * (size_t)nd)))
    return true;
  for (int i = 0; i < nd; i++)
    if (dims[i] < 1) {
      snprintf(err, errlen, "dimension %d of %s is %lld; dimensions must be positive", i,
               jf->f->name, (long long)dims[i]);
      return false;
    }
  const IrFunc *f = jf->f;
  if (!sizes_fit(jf, f->inputs, f->input_names, f->ninputs, "input", dims, err, errlen) ||
      !sizes_fit(jf, f->results, f->result_names, f->nresults, "result", dims, err, errlen))
    return false;
  int64_t bytes = memplan_layout(jf->mp, dims, jf->offsets);
  if (bytes < 0) {
    snprintf(err, errlen, "the workspace of %s for these dimensions overflows 64 bits",
             jf->f->name);
    return false;
  }
  if (bytes > jf->ws_cap) {
    free(jf->ws);
    size_t cap = ((size_t)bytes + 63) & ~(size_t)63;
    jf->ws = aligned_alloc(64, cap);
    jf->ws_cap = jf->ws ? (int64_t)cap : 0;
    if (!jf->ws) {
      snprintf(err, errlen, "out of memory: the workspace of %s needs %lld bytes", jf->f->name,
               (long long)bytes);
      return false;
    }
  }
  if (!jf->dims)
    jf->dims = malloc(sizeof(int64_t) * ((size_t)nd + 1));
  if (!jf->dims) {
    snprintf(err, errlen, "out of memory");
    return false;
  }
  if (nd) /* dims may be NULL for a function without dims */
    memcpy(jf->dims, dims, sizeof(int64_t) * (size_t)nd);
  jf->ws_bytes = bytes;
  return true;
}

/* Which op reads these indices (ops.def's OP_INDEX rows), and what they
 * are called. */
static void describe_labels(const JitFunc *jf, const IrValue *lv, const char **op,
                            const char **name) {
  const IrFunc *f = jf->f;
  const IrValue *reader = fuse_index_reader(jf->ff, lv);
  *op = reader ? op_info[reader->op].name : "?";
  *name = lv->op == OP_INPUT ? f->input_names[IR_ATTR(lv, source).index] : NULL;
}

static void label_error(const JitFunc *jf, const int64_t *dims, char *err, size_t errlen) {
  const int64_t *st = (const int64_t *)jf->ws;
  int id = (int)st[CG_STATUS_VALUE];
  const IrValue *lv = jf->ff->by_id[id];
  const char *op, *name;
  describe_labels(jf, lv, &op, &name);
  /* the flat position as an index of the labels' shape */
  char at[128] = "";
  int64_t pos = st[CG_STATUS_POS], idx[TYPE_MAX_RANK];
  for (int i = lv->type.rank - 1; i >= 0; i--) {
    bool ok = true;
    int64_t d = memplan_dim_value(lv->type.dims[i], jf->f, dims, &ok);
    idx[i] = d > 0 ? pos % d : 0;
    pos = d > 0 ? pos / d : 0;
  }
  size_t n = 0;
  for (int i = 0; i < lv->type.rank && n < sizeof at; i++)
    n += (size_t)snprintf(at + n, sizeof at - n, "%s%lld", i ? ", " : "[", (long long)idx[i]);
  if (lv->type.rank && n < sizeof at)
    snprintf(at + n, sizeof at - n, "]");
  snprintf(err, errlen, "%s: %s %lld%s%s%s at %s is outside [0, %lld)", op, nnrt_index_noun(op),
           (long long)st[CG_STATUS_LABEL], name ? " of '" : "", name ? name : "", name ? "'" : "",
           lv->type.rank ? at : "the scalar", (long long)st[CG_STATUS_DEPTH]);
}

/* "f: index 7 (argument 't') is outside [-5, 5) on axis 1 of 'x'" */
/* The message the runtime gives for the same failure in an executable. */
static void index_error(const JitFunc *jf, char *err, size_t errlen) {
  const int64_t *st = (const int64_t *)jf->ws;
  const IrValue *v = jf->ff->by_id[st[CG_STATUS_VALUE]];
  nnrt_index_site s = model_desc_index_site(jf->m, jf->f, v, (int)st[CG_STATUS_POS]);
  nnrt_index_message(jf->f->name, &s, st, err, errlen);
}

int jit_call(JitFunc *jf, const int64_t *dims, void *const *inputs, void *const *params,
             void *const *outputs, char *err, size_t errlen) {
  if (!prepare(jf, dims, err, errlen))
    return 1;
  int rc = jf->entry(dims, inputs, params, outputs, jf->ws, jf->offsets, jf->rng);
  if (rc == CG_ERR_LABEL)
    label_error(jf, dims, err, errlen);
  else if (rc == CG_ERR_INDEX)
    index_error(jf, err, errlen);
  else if (rc)
    snprintf(err, errlen, "%s failed with code %d", jf->f->name, rc);
  return rc;
}

const MemPlan *jit_func_plan(const JitFunc *jf) { return jf->mp; }

EntryFn jit_func_entry(const JitFunc *jf) { return jf->entry; }

void jit_func_set_rng(JitFunc *jf, uint64_t seed, uint64_t step) {
  jf->rng[0] = seed;
  jf->rng[1] = step;
}
