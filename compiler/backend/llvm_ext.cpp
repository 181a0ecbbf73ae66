// llvm_ext.cpp - the processor table of an LLVM target, for --cpu checks.
//
// LLVM's C API creates a target machine for any CPU name: an unknown one
// gives a warning per subtarget and generic code, and a 32-bit x86 CPU for
// an x86_64 triple aborts the process in instruction selection. The table
// that would let nnc refuse both with a message lives only in the C++ MC
// layer, so this file reads it and hands plain C values back.
#include "llvm_ext.h"

#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/TargetParser/Triple.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

std::unique_ptr<llvm::MCSubtargetInfo> subtarget(const char *triple, const char *cpu) {
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  return std::unique_ptr<llvm::MCSubtargetInfo>(target->createMCSubtargetInfo(triple, cpu, ""));
}

} // namespace

extern "C" char **llvm_ext_cpu_names(const char *triple, int *n) {
  *n = 0;
  // The empty CPU selects the target's default without a warning.
  std::unique_ptr<llvm::MCSubtargetInfo> sti = subtarget(triple, "");
  if (!sti)
    return nullptr;
  llvm::ArrayRef<llvm::SubtargetSubTypeKV> table = sti->getAllProcessorDescriptions();
  char **names = static_cast<char **>(std::calloc(table.size() + 1, sizeof *names));
  if (!names)
    return nullptr;
  for (const llvm::SubtargetSubTypeKV &kv : table) {
    if (!(names[*n] = strdup(kv.Key))) {
      llvm_ext_free_names(names, *n);
      *n = 0;
      return nullptr;
    }
    ++*n;
  }
  return names;
}

extern "C" void llvm_ext_free_names(char **names, int n) {
  for (int i = 0; i < n; i++)
    std::free(names[i]);
  std::free(names);
}

extern "C" bool llvm_ext_cpu_runs_triple(const char *triple, const char *cpu) {
  std::unique_ptr<llvm::MCSubtargetInfo> sti = subtarget(triple, cpu);
  if (!sti)
    return false;
  if (llvm::Triple(triple).getArch() == llvm::Triple::x86_64)
    return sti->checkFeatures("+64bit");
  return true;
}
