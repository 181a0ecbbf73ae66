/* test_sample.c - nnrt_sample_token, the sampler of generation: greedy is
 * the first best score, top-k never leaves the k best, ties go to the
 * lower token, frequencies follow softmax(scores / T) over the k best, a
 * seed gives the same draws and token i draws the i-th uniform of the
 * seed's stream (so any thread count gives the same text), and bad
 * arguments are refused. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "nnrt_model.h"

enum { DRAWS = 40000 };

static void greedy(void) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 5);
  for (int t = 0; t < 200; t++) {
    float s[37];
    int best = 0;
    for (int i = 0; i < 37; i++) {
      s[i] = (float)nnrt_rng_normal(&r);
      if (s[i] > s[best])
        best = i;
    }
    CHECK(nnrt_sample_token(s, 37, 0.0, 0, 1, (uint64_t)t) == best);
    CHECK(nnrt_sample_token(s, 37, 1.0, 1, 1, (uint64_t)t) == best);
    CHECK(nnrt_sample_token(s, 37, 0.0, 5, 2, (uint64_t)t) == best);
  }
}

static void ties(void) {
  const float s[5] = {1, 3, 3, 2, 3};
  CHECK(nnrt_sample_token(s, 5, 0.0, 0, 0, 0) == 1);
  CHECK(nnrt_sample_token(s, 5, 2.0, 1, 0, 7) == 1);
  /* the two best of three equal scores are the lower tokens, 1 and 2 */
  int seen[5] = {0};
  for (int i = 0; i < 2000; i++) {
    int64_t t = nnrt_sample_token(s, 5, 1.0, 2, 3, (uint64_t)i);
    CHECK(t >= 0 && t < 5);
    if (t >= 0 && t < 5)
      seen[t]++;
  }
  CHECKF(seen[0] == 0 && seen[3] == 0 && seen[4] == 0 && seen[1] > 800 && seen[2] > 800,
         "%d %d %d %d %d", seen[0], seen[1], seen[2], seen[3], seen[4]);
}

static void top_k_stays_inside(void) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 11);
  for (int t = 0; t < 300; t++) {
    float s[65];
    for (int i = 0; i < 65; i++)
      s[i] = (float)nnrt_rng_normal(&r) * 3;
    int k = 1 + t % 10;
    int64_t got = nnrt_sample_token(s, 65, 1.5, k, 99, (uint64_t)t);
    int better = 0; /* scores above the pick, or equal at a lower token */
    for (int i = 0; got >= 0 && i < 65; i++)
      better += s[i] > s[got] || (s[i] == s[got] && i < got);
    CHECKF(got >= 0 && better < k, "k %d: token %lld has %d better", k, (long long)got, better);
  }
}

/* A vocabulary over several vectors of 16 with many equal scores: the k
 * taken are the k best, and among equal scores the lower tokens. */
static void top_k_with_ties(void) {
  nnrt_rng r;
  nnrt_rng_seed(&r, 12);
  enum { N = 203 };
  for (int t = 0; t < 300; t++) {
    float s[N];
    for (int i = 0; i < N; i++)
      s[i] = roundf((float)nnrt_rng_normal(&r) * 2) * 0.5f; /* about 13 levels */
    int k = 1 + t % 40;
    int64_t got = nnrt_sample_token(s, N, 4.0, k, 5, (uint64_t)t);
    int better = 0;
    for (int i = 0; got >= 0 && i < N; i++)
      better += s[i] > s[got] || (s[i] == s[got] && i < got);
    CHECKF(got >= 0 && better < k, "k %d: token %lld has %d better", k, (long long)got, better);
  }
}

/* Frequencies of DRAWS draws against p, within 5 standard deviations. */
static void frequencies(const float *s, int n, double temp, int k, const double *p) {
  int count[8] = {0};
  for (int i = 0; i < DRAWS; i++) {
    int64_t t = nnrt_sample_token(s, n, temp, k, 2024, (uint64_t)i);
    CHECK(t >= 0 && t < n);
    if (t >= 0 && t < n)
      count[t]++;
  }
  for (int i = 0; i < n; i++) {
    double f = (double)count[i] / DRAWS, sd = sqrt(p[i] * (1 - p[i]) / DRAWS);
    CHECKF(fabs(f - p[i]) <= 5 * sd + 1e-12, "T %g k %d token %d: %.4f, want %.4f", temp, k, i, f,
           p[i]);
  }
}

static void distribution(void) {
  const double p[4] = {0.1, 0.2, 0.3, 0.4};
  float s[4];
  for (int i = 0; i < 4; i++)
    s[i] = (float)log(p[i]) + 2.5f; /* logits: any shift */
  frequencies(s, 4, 1.0, 0, p);
  /* T = 2: p^(1/2), normalised */
  double q[4], z = 0;
  for (int i = 0; i < 4; i++)
    z += q[i] = sqrt(p[i]);
  for (int i = 0; i < 4; i++)
    q[i] /= z;
  frequencies(s, 4, 2.0, 0, q);
  /* top-2: 0.3 and 0.4 renormalised */
  const double k2[4] = {0, 0, 3.0 / 7, 4.0 / 7};
  frequencies(s, 4, 1.0, 2, k2);
}

/* Token i is the i-th uniform of the seed's stream against the cumulative
 * softmax, best first. */
static void stream(void) {
  const float s[3] = {0.5f, -1.0f, 1.25f};
  const int order[3] = {2, 0, 1};
  double w[3], total = 0;
  for (int j = 0; j < 3; j++)
    total += w[j] = exp((double)s[order[j]] - 1.25);
  nnrt_rng r;
  nnrt_rng_seed(&r, 77);
  int same = 0;
  for (int i = 0; i < 500; i++) {
    double u = nnrt_rng_uniform(&r) * total, acc = 0;
    int want = order[2];
    for (int j = 0; j < 3; j++)
      if (u < (acc += w[j])) {
        want = order[j];
        break;
      }
    same += nnrt_sample_token(s, 3, 1.0, 0, 77, (uint64_t)i) == want;
  }
  CHECKF(same == 500, "%d of 500 draws as the stream says", same);
}

static void seeds(void) {
  float s[16];
  for (int i = 0; i < 16; i++)
    s[i] = (float)(i % 5) * 0.3f;
  int64_t a[100], b[100], c[100];
  for (int i = 0; i < 100; i++) {
    a[i] = nnrt_sample_token(s, 16, 1.0, 0, 1, (uint64_t)i);
    b[i] = nnrt_sample_token(s, 16, 1.0, 0, 1, (uint64_t)i);
    c[i] = nnrt_sample_token(s, 16, 1.0, 0, 2, (uint64_t)i);
  }
  CHECK(!memcmp(a, b, sizeof a));
  CHECK(memcmp(a, c, sizeof a) != 0);
}

static void refused(void) {
  float s[3] = {0, 1, 2};
  CHECK(nnrt_sample_token(s, 0, 1.0, 0, 0, 0) == -1);
  CHECK(nnrt_sample_token(NULL, 3, 1.0, 0, 0, 0) == -1);
  CHECK(nnrt_sample_token(s, 3, -0.5, 0, 0, 0) == -1);
  CHECK(nnrt_sample_token(s, 3, NAN, 0, 0, 0) == -1);
  CHECK(nnrt_sample_token(s, 3, INFINITY, 0, 0, 0) == -1);
  float big[NNRT_MAX_VOCAB + 1] = {0};
  CHECK(nnrt_sample_token(big, NNRT_MAX_VOCAB + 1, 1.0, 0, 0, 0) == -1);
  CHECK(nnrt_sample_token(big, NNRT_MAX_VOCAB, 1.0, 0, 0, 0) >= 0);
  s[1] = NAN;
  CHECK(nnrt_sample_token(s, 3, 1.0, 0, 0, 0) == -1);
  s[1] = INFINITY;
  CHECK(nnrt_sample_token(s, 3, 0.0, 0, 0, 0) == -1);
}

int main(void) {
  greedy();
  ties();
  top_k_stays_inside();
  top_k_with_ties();
  distribution();
  stream();
  seeds();
  refused();
  return check_report("test_sample");
}
