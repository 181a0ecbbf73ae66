/* aot_desc.h - writing a model's descriptor into an LLVM module. */
#ifndef NNC_AOT_DESC_H
#define NNC_AOT_DESC_H

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>

#include "arena.h"
#include "nnrt_model.h"

/* Adds the constant `<prefix>_desc` (external) and the private globals it
 * points to: strings, arrays, baked weights. entries[i] is the compiled
 * entry of d->funcs[i]; nfeatures sizes baked_mean and baked_std. Returns
 * the descriptor's global. */
LLVMValueRef aot_desc_emit(LLVMModuleRef mod, LLVMTargetDataRef td, const char *prefix,
                           const nnrt_model_desc *d, LLVMValueRef const *entries,
                           int64_t nfeatures);

#endif
