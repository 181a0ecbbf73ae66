/* llvm_ext.h - the few LLVM facts nnc needs that the LLVM C API lacks.
 *
 * Implemented in C++ (llvm_ext.cpp) over LLVM's MC layer; everything else in
 * nnc uses the C API. The target of `triple` must be registered (codegen
 * initialises every target before asking).
 */
#ifndef NNC_LLVM_EXT_H
#define NNC_LLVM_EXT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The processor names LLVM knows for `triple`, sorted, as a malloc'd array
 * of malloc'd strings (free with llvm_ext_free_names); NULL with *n = 0 when
 * the triple has no registered target or out of memory. */
char **llvm_ext_cpu_names(const char *triple, int *n);
void llvm_ext_free_names(char **names, int n);

/* Whether `cpu`, a name LLVM knows for `triple`, can run code for it: an
 * x86 processor without 64-bit mode cannot run x86_64 code, and asking LLVM
 * to generate it aborts the process instead of returning an error. */
bool llvm_ext_cpu_runs_triple(const char *triple, const char *cpu);

#ifdef __cplusplus
}
#endif

#endif
