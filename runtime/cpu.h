/* cpu.h - what the runtime's hand-written AVX-512 kernels (conv_direct.c,
 * gemm_small.c) share: the attributes that compile one function for
 * AVX-512 in a file built for the baseline ISA, and the run-time check that
 * the CPU has it, so that the same library runs on any x86-64. */
#ifndef NNRT_CPU_H
#define NNRT_CPU_H

#include <stdbool.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NNRT_X86_AVX512 1
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

static inline bool nnrt_cpu_has_avx512(void) {
  static int has = -1; /* cpuid once; a race only repeats the same answer */
  if (has < 0)
    has = __builtin_cpu_supports("avx512f") ? 1 : 0;
  return has == 1;
}
#else
static inline bool nnrt_cpu_has_avx512(void) { return false; }
#endif

#endif
