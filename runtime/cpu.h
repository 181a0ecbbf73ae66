/* cpu.h - what the runtime's hand-written AVX-512 kernels (conv_direct.c,
 * gemm_small.c) share: the attributes that compile one function for
 * AVX-512 in a file built for the baseline ISA, and the run-time check that
 * the CPU has it, so that the same library runs on any x86-64. */
#ifndef NNRT_CPU_H
#define NNRT_CPU_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NNRT_X86_AVX512 1
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

/* Lanes 0 .. n - 1 of a vector of 16: all of them from n = 16 on, none
 * for n <= 0. */
static inline __mmask16 nnrt_lanes16(int64_t n) {
  return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

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
