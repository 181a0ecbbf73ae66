/* test_rng.c - Philox-4x32-10 known answers, the layout of a stream over
 * Philox blocks, determinism and checkpoint resume, and the moments of each
 * distribution (bounds are about 5 standard errors, so a correct generator
 * fails with probability below 1e-5 per check while a biased one fails). */
#include "check.h"
#include "nnrt.h"

#include <stdint.h>
#include <string.h>

enum { N = 200000 };

/* Known answers of Random123's kat_vectors for philox4x32 with 10 rounds. */
static void test_known_answers(void) {
  static const struct {
    uint32_t ctr[4], key[2], want[4];
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
    uint32_t out[4];
    nnrt_philox4x32(kat[i].ctr, kat[i].key, out);
    for (int w = 0; w < 4; w++)
      CHECKF(out[w] == kat[i].want[w], "vector %zu word %d: got %08x, want %08x", i, w,
             (unsigned)out[w], (unsigned)kat[i].want[w]);
  }
  /* The stream with key 0 from counter 0 is the first vector. */
  nnrt_rng r = {0, 0};
  for (int w = 0; w < 4; w++)
    CHECK(nnrt_rng_u32(&r) == kat[0].want[w]);
  CHECK(r.counter == 4);
}

/* Output c of a stream is word c % 4 of the block at counter c / 4. */
static void test_stream_layout(void) {
  uint64_t key = 0x0123456789abcdefull;
  uint64_t starts[] = {0, 1, 3, 4, 4ull * 0x100000005ull + 2, UINT64_MAX - 5};
  for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
    nnrt_rng r = {key, starts[s]};
    for (uint64_t c = starts[s]; c != starts[s] + 5; c++) {
      uint64_t block = c / 4;
      uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
      uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
      uint32_t out[4];
      nnrt_philox4x32(ctr, k, out);
      CHECKF(nnrt_rng_u32(&r) == out[c % 4], "counter %llu", (unsigned long long)c);
      CHECK(r.counter == c + 1);
    }
  }
}

/* Pins the seed function (splitmix64) and the stream: a change here would
 * silently change every model's initial parameters. */
static void test_golden_seed(void) {
  static const uint32_t want[8] = {0xa1d7a484, 0x4306b273, 0x31c5804d, 0x8a9e1b85,
                                   0x36d4655a, 0x1c245810, 0x3f996d7b, 0x1e1122f6};
  nnrt_rng r;
  nnrt_rng_seed(&r, 42);
  CHECK(r.key == 0xbdd732262feb6e95ull);
  CHECK(r.counter == 0);
  for (int i = 0; i < 8; i++)
    CHECKF(nnrt_rng_u32(&r) == want[i], "output %d", i);
}

static void test_determinism_and_resume(void) {
  nnrt_rng a, b, c;
  nnrt_rng_seed(&a, 7);
  nnrt_rng_seed(&b, 7);
  nnrt_rng_seed(&c, 8);
  int same_ab = 1, same_ac = 1;
  for (int i = 0; i < 1000; i++) {
    uint32_t x = nnrt_rng_u32(&a), y = nnrt_rng_u32(&b), z = nnrt_rng_u32(&c);
    same_ab &= x == y;
    same_ac &= x == z;
  }
  CHECK(same_ab);
  CHECK(!same_ac);

  /* Draws consume a fixed number of outputs: 1, 2 (uniform), 4 (normal). */
  nnrt_rng r;
  nnrt_rng_seed(&r, 1);
  (void)nnrt_rng_u32(&r);
  CHECK(r.counter == 1);
  (void)nnrt_rng_uniform(&r);
  CHECK(r.counter == 3);
  (void)nnrt_rng_normal(&r);
  CHECK(r.counter == 7);

  /* A saved state resumes the same sequence, mixing every distribution. */
  for (int i = 0; i < 37; i++)
    (void)nnrt_rng_normal(&r);
  nnrt_rng saved = r;
  double first[64];
  for (int i = 0; i < 64; i++)
    first[i] = i % 3 == 0   ? nnrt_rng_normal(&r)
               : i % 3 == 1 ? nnrt_rng_uniform(&r)
                            : (double)nnrt_rng_below(&r, 1000 + (uint64_t)i);
  r = saved;
  int same = 1;
  for (int i = 0; i < 64; i++) {
    double again = i % 3 == 0   ? nnrt_rng_normal(&r)
                   : i % 3 == 1 ? nnrt_rng_uniform(&r)
                                : (double)nnrt_rng_below(&r, 1000 + (uint64_t)i);
    same &= memcmp(&again, &first[i], sizeof again) == 0;
  }
  CHECK(same);
}

static void test_uniform(void) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 123);
  double sum = 0, sum2 = 0, lo = 1, hi = 0;
  int in_range = 1, low_bit_seen = 0;
  for (int i = 0; i < N; i++) {
    double u = nnrt_rng_uniform(&r);
    in_range &= u >= 0 && u < 1;
    double scaled = u * 0x1p53; /* an integer: 53 bits */
    in_range &= scaled == floor(scaled);
    low_bit_seen |= fmod(scaled, 2) == 1;
    sum += u;
    sum2 += u * u;
    lo = u < lo ? u : lo;
    hi = u > hi ? u : hi;
  }
  double mean = sum / N, var = sum2 / N - mean * mean;
  CHECK(in_range);
  CHECK(low_bit_seen);
  CHECK_NEAR(mean, 0.5, 5 * sqrt(1.0 / 12 / N));
  CHECK_NEAR(var, 1.0 / 12, 5 * sqrt(1.0 / 180 / N));
  CHECK(lo < 1e-4 && hi > 1 - 1e-4);
}

static void test_normal(void) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 99);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  int within1 = 0, finite = 1;
  for (int i = 0; i < N; i++) {
    double z = nnrt_rng_normal(&r);
    finite &= isfinite(z);
    m1 += z;
    m2 += z * z;
    m3 += z * z * z;
    m4 += z * z * z * z;
    within1 += fabs(z) < 1;
  }
  m1 /= N, m2 /= N, m3 /= N, m4 /= N;
  CHECK(finite);
  CHECK_NEAR(m1, 0, 5 / sqrt(N));
  CHECK_NEAR(m2, 1, 5 * sqrt(2.0 / N));
  CHECK_NEAR(m3, 0, 5 * sqrt(15.0 / N));
  CHECK_NEAR(m4, 3, 5 * sqrt(96.0 / N));
  double p = 0.6826894921370859;
  CHECK_NEAR((double)within1 / N, p, 5 * sqrt(p * (1 - p) / N));
}

/* Fraction of draws below `cut`, to expose modulo bias: with n = 3 * cut a
 * biased generator puts 1/2 of its draws below cut instead of 1/3. */
static double fraction_below(nnrt_rng *r, uint64_t n, uint64_t cut, int draws, int *ok) {
  int below = 0;
  for (int i = 0; i < draws; i++) {
    uint64_t v = nnrt_rng_below(r, n);
    *ok &= v < n;
    below += v < cut;
  }
  return (double)below / draws;
}

static void test_below(void) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 5);
  int ok = 1;
  for (int i = 0; i < 100; i++)
    ok &= nnrt_rng_below(&r, 1) == 0 && nnrt_rng_below(&r, 0) == 0;
  CHECK(ok);

  /* Chi-square over 10 cells, 9 degrees of freedom: 40 is p < 2e-5. */
  int counts[10] = {0};
  for (int i = 0; i < N; i++) {
    uint64_t v = nnrt_rng_below(&r, 10);
    ok &= v < 10;
    counts[v < 10 ? v : 0]++;
  }
  double chi2 = 0;
  for (int i = 0; i < 10; i++)
    chi2 += (counts[i] - N / 10.0) * (counts[i] - N / 10.0) / (N / 10.0);
  CHECK(ok);
  CHECKF(chi2 < 40, "chi2 = %g", chi2);

  int draws = 60000;
  double tol = 5 * sqrt(2.0 / 9 / draws);
  CHECK_NEAR(fraction_below(&r, 3ull << 30, 1ull << 30, draws, &ok), 1.0 / 3, tol);
  CHECK_NEAR(fraction_below(&r, 3ull << 62, 1ull << 62, draws, &ok), 1.0 / 3, tol);
  CHECK_NEAR(fraction_below(&r, (1ull << 32) + 3, 1ull << 31, draws, &ok), 0.5,
             5 * 0.5 / sqrt(draws));
  CHECK_NEAR(fraction_below(&r, UINT64_MAX, 1ull << 63, draws, &ok), 0.5, 5 * 0.5 / sqrt(draws));
  CHECK(ok);
}

int main(void) {
  test_known_answers();
  test_stream_layout();
  test_golden_seed();
  test_determinism_and_resume();
  test_uniform();
  test_normal();
  test_below();
  return check_report("test_rng");
}
