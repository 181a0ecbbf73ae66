/* cg_machine.c - target machines and the LLVM pass pipeline. */
#include "cg_internal.h"
#include "target_cpu.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

static LLVMCodeGenOptLevel codegen_level(int opt_level) {
  return opt_level <= 0   ? LLVMCodeGenLevelNone
         : opt_level == 1 ? LLVMCodeGenLevelLess
         : opt_level == 2 ? LLVMCodeGenLevelDefault
                          : LLVMCodeGenLevelAggressive;
}

LLVMTargetMachineRef codegen_host_machine(int opt_level, char *err, size_t errlen) {
  static bool initialised;
  if (!initialised) {
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter()) {
      snprintf(err, errlen, "LLVM has no native target for this host");
      return NULL;
    }
    initialised = true;
  }
  char *triple = LLVMGetDefaultTargetTriple();
  LLVMTargetRef target;
  char *msg = NULL;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
    snprintf(err, errlen, "no LLVM target for %s: %s", triple, msg ? msg : "?");
  } else {
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    tm = LLVMCreateTargetMachine(target, triple, cpu, features, codegen_level(opt_level),
                                 LLVMRelocDefault, LLVMCodeModelJITDefault);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    if (!tm)
      snprintf(err, errlen, "cannot create an LLVM target machine for %s", triple);
  }
  LLVMDisposeMessage(msg);
  LLVMDisposeMessage(triple);
  return tm;
}

LLVMTargetMachineRef codegen_object_machine(const char *triple, const char *cpu, int opt_level,
                                            char *err, size_t errlen) {
  target_cpu_init_all();
  char *host = LLVMGetDefaultTargetTriple();
  char *norm = LLVMNormalizeTargetTriple(triple ? triple : host);
  bool native = !triple || !strcmp(norm, host);
  /* The host's CPU by default, so an object for this machine computes
   * what the JIT computes (vector widths decide the order of reductions). */
  bool host_cpu = native && (!cpu || !strcmp(cpu, "native"));
  LLVMTargetRef target;
  char *msg = NULL;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(norm, &target, &msg)) {
    snprintf(err, errlen, "no LLVM target for '%s': %s", triple ? triple : host,
             msg ? msg : "unknown triple");
  } else if (!host_cpu && cpu && !target_cpu_check(norm, cpu, err, errlen)) {
    /* LLVM would ignore an unknown name, or abort on a CPU without the
     * triple's 64-bit mode: err says which. */
  } else {
    char *hcpu = host_cpu ? LLVMGetHostCPUName() : NULL;
    char *hfeat = host_cpu ? LLVMGetHostCPUFeatures() : NULL;
    tm = LLVMCreateTargetMachine(target, norm,
                                 host_cpu ? hcpu
                                 : cpu    ? cpu
                                          : "generic",
                                 host_cpu ? hfeat : "", codegen_level(opt_level), LLVMRelocPIC,
                                 LLVMCodeModelDefault);
    LLVMDisposeMessage(hcpu);
    LLVMDisposeMessage(hfeat);
    if (!tm)
      snprintf(err, errlen, "cannot create an LLVM target machine for %s", norm);
  }
  LLVMDisposeMessage(msg);
  LLVMDisposeMessage(norm);
  LLVMDisposeMessage(host);
  return tm;
}

/* LLVM's O3 doubles the loop unroller's size threshold (300 against O2's
 * 150), and on nnc's kernels that fully unrolls whole nests with constant
 * trip counts after vectorising them: a [B, 16, 32, 32] scale by channel
 * became 5,000 instructions where O2 keeps a 120-instruction loop, the
 * O3 module of resnet_small's training step was 5x O2's and llc took 41 s
 * on it against 3 s, for no measurable gain in speed (the kernels are bound
 * by memory: docs/benchmarks.md, "Compile time"). So -O3 is LLVM's O3 with
 * O2's unrolling. The threshold is one of LLVM's process-wide options, so
 * it is set once, before the first pipeline; only O3 reads it. */
static void limit_o3_unrolling(void) {
  static bool done;
  if (done)
    return;
  const char *argv[] = {"nnc", "-unroll-threshold-aggressive=150"};
  LLVMParseCommandLineOptions(2, argv, NULL);
  done = true;
}

bool codegen_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, char *err,
                      size_t errlen) {
  char *msg = NULL;
  if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
    snprintf(err, errlen, "internal error: invalid LLVM IR: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return false;
  }
  LLVMDisposeMessage(msg);
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>",
           opt_level < 0   ? 0
           : opt_level > 3 ? 3
                           : opt_level);
  limit_o3_unrolling();
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMErrorRef e = LLVMRunPasses(mod, passes, tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (e) {
    char *m = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "LLVM passes failed: %s", m);
    LLVMDisposeErrorMessage(m);
    return false;
  }
  return true;
}
