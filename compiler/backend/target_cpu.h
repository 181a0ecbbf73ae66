/* target_cpu.h - checking a --cpu name against the target's processors. */
#ifndef NNC_TARGET_CPU_H
#define NNC_TARGET_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Registers every target LLVM was built with (info, target, machine
 * code, assembly printer), once per process: what a cross triple needs. */
void target_cpu_init_all(void);

/* Whether LLVM can generate code for `cpu` on `triple` (normalised, its
 * target registered). If not, writes why to err: the closest known name
 * when there is one, else the names there are. */
bool target_cpu_check(const char *triple, const char *cpu, char *err, size_t errlen);

/* `--cpu help`: the processors of `triple` (NULL: the host's), one a line.
 * Returns the exit status. */
int target_cpu_list(const char *triple, FILE *out);

#endif
