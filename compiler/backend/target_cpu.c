/* target_cpu.c - refusing a --cpu name LLVM would ignore or abort on. */
#include "target_cpu.h"

#include "elab.h"
#include "llvm_ext.h"

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <stdio.h>
#include <string.h>

static bool is_known(const char *cpu, char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(cpu, names[i]))
      return true;
  return false;
}

/* "unknown CPU ..." with the closest name, or where to find them all (over
 * a hundred for x86: too many for one message). */
static void unknown_cpu(const char *triple, const char *cpu, char *const *names, int n, char *err,
                        size_t errlen) {
  const char *guess = sema_closest_name(cpu, (const char *const *)names, n);
  if (guess)
    snprintf(err, errlen, "unknown CPU '%s' for %s; did you mean '%s'?", cpu, triple, guess);
  else
    snprintf(err, errlen, "unknown CPU '%s' for %s; '--cpu help' lists the %d it knows", cpu,
             triple, n);
}

bool target_cpu_check(const char *triple, const char *cpu, char *err, size_t errlen) {
  int n;
  char **names = llvm_ext_cpu_names(triple, &n);
  bool ok = is_known(cpu, names, n);
  if (!ok)
    unknown_cpu(triple, cpu, names, n, err, errlen);
  else if (!(ok = llvm_ext_cpu_runs_triple(triple, cpu)))
    snprintf(err, errlen, "CPU '%s' cannot run code for %s (it has no 64-bit mode)", cpu, triple);
  llvm_ext_free_names(names, n);
  return ok;
}

int target_cpu_list(const char *triple, FILE *out) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  char *host = LLVMGetDefaultTargetTriple();
  char *norm = LLVMNormalizeTargetTriple(triple ? triple : host);
  int n;
  char **names = llvm_ext_cpu_names(norm, &n);
  int rc = 0;
  if (!names) {
    fprintf(stderr, "nnc: error: no LLVM target for '%s'\n", triple ? triple : host);
    rc = 1;
  } else {
    fprintf(out, "CPUs for %s (--cpu NAME; 'native' is this machine's):\n", norm);
    for (int i = 0; i < n; i++)
      fprintf(out, "  %s\n", names[i]);
  }
  llvm_ext_free_names(names, n);
  LLVMDisposeMessage(norm);
  LLVMDisposeMessage(host);
  return rc;
}
