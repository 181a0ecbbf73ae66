/* rng.c - Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3", SC 2011) and the distributions drawn from it.
 *
 * The state is exactly (key, counter) so a checkpoint can store it: output
 * number c of a stream is word c % 4 of the Philox block at counter c / 4,
 * recomputed on every draw rather than cached (a block is ~10 multiplies,
 * and a cache would be state that a checkpoint could miss). Every
 * distribution consumes a fixed number of draws per value, except the
 * rejection loop of nnrt_rng_below, so streams are reproducible.
 */
#include "nnrt.h"

#include <math.h>

enum {
  PHILOX_M0 = 0xD2511F53u,
  PHILOX_M1 = 0xCD9E8D57u,
  PHILOX_W0 = 0x9E3779B9u, /* golden ratio */
  PHILOX_W1 = 0xBB67AE85u, /* sqrt(3) - 1 */
};

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
  uint64_t p = (uint64_t)a * b;
  *hi = (uint32_t)(p >> 32);
  *lo = (uint32_t)p;
}

void nnrt_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(PHILOX_M0, c0, &hi0, &lo0);
    mulhilo(PHILOX_M1, c2, &hi1, &lo1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* splitmix64's finaliser: nearby seeds (0, 1, 2...) get unrelated keys. */
static uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void nnrt_rng_seed(nnrt_rng *r, uint64_t seed) {
  r->key = splitmix64(seed);
  r->counter = 0;
}

uint32_t nnrt_rng_u32(nnrt_rng *r) {
  uint64_t block = r->counter / 4;
  const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
  const uint32_t key[2] = {(uint32_t)r->key, (uint32_t)(r->key >> 32)};
  uint32_t out[4];
  nnrt_philox4x32(ctr, key, out);
  return out[r->counter++ % 4];
}

static uint64_t rng_u64(nnrt_rng *r) {
  uint64_t hi = nnrt_rng_u32(r);
  return hi << 32 | nnrt_rng_u32(r);
}

double nnrt_rng_uniform(nnrt_rng *r) {
  uint64_t a = nnrt_rng_u32(r) >> 5; /* 27 bits */
  uint64_t b = nnrt_rng_u32(r) >> 6; /* 26 bits */
  return (double)(a << 26 | b) * 0x1p-53;
}

/* Box-Muller, one value per pair of uniforms: the second value is dropped
 * because keeping it would be state outside (key, counter). */
double nnrt_rng_normal(nnrt_rng *r) {
  double u1 = 1.0 - nnrt_rng_uniform(r); /* (0, 1]: log is finite */
  double u2 = nnrt_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Rejection on the top of the range: values below 2^w mod n would make the
 * low residues more likely, so they are drawn again (OpenBSD's
 * arc4random_uniform). One 32-bit draw when n fits, so small ranges cost
 * half as much. */
uint64_t nnrt_rng_below(nnrt_rng *r, uint64_t n) {
  if (n <= 1)
    return 0;
  if (n <= UINT32_MAX) {
    uint32_t n32 = (uint32_t)n;
    uint32_t min = -n32 % n32;
    for (;;) {
      uint32_t x = nnrt_rng_u32(r);
      if (x >= min)
        return x % n32;
    }
  }
  uint64_t min = -n % n;
  for (;;) {
    uint64_t x = rng_u64(r);
    if (x >= min)
      return x % n;
  }
}
