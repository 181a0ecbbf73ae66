/* test_plan.c - nnrt_plan_layout: hand cases with a known optimal peak, the
 * error cases, and random cases checked for alignment, no shared bytes
 * between buffers live at the same step, a peak that covers every buffer
 * and is at least the largest step's live total, and determinism. */
#include "check.h"
#include "nnrt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_hand_cases(void) {
  int64_t off[8];
  CHECK(nnrt_plan_layout(0, NULL, NULL, NULL, NULL) == 0);

  /* A chain a(0-1) b(1-2) c(2-3): a and c can share, the optimum is 2
   * buffers wide. */
  {
    int64_t sizes[] = {640, 640, 640};
    int first[] = {0, 1, 2}, last[] = {1, 2, 3};
    CHECK(nnrt_plan_layout(3, sizes, first, last, off) == 1280);
    CHECK(off[0] == off[2] && off[0] != off[1]);
  }
  /* Sizes not multiples of 64: offsets aligned, peak rounded up; the small
   * buffer fits in the hole the big dead one leaves. */
  {
    int64_t sizes[] = {1000, 100, 900, 10};
    int first[] = {0, 0, 2, 3}, last[] = {1, 3, 3, 3};
    int64_t peak = nnrt_plan_layout(4, sizes, first, last, off);
    /* Steps 0-1 hold 1000 + 100: at aligned offsets that needs 1124 bytes,
     * 1152 rounded, which is optimal. c reuses a's bytes and d fits in the
     * gap between c and b. */
    CHECKF(peak == 1152, "peak %lld", (long long)peak);
    CHECK(off[0] == 0 && off[2] == 0 && off[1] == 1024 && off[3] == 960);
  }
  /* Ties in size are placed by index. */
  {
    int64_t sizes[] = {64, 64, 64};
    int first[] = {0, 0, 0}, last[] = {0, 0, 0};
    CHECK(nnrt_plan_layout(3, sizes, first, last, off) == 192);
    CHECK(off[0] == 0 && off[1] == 64 && off[2] == 128);
  }
  /* Zero-size buffers take no room. */
  {
    int64_t sizes[] = {0, 64, 0};
    int first[] = {0, 0, 0}, last[] = {5, 5, 5};
    CHECK(nnrt_plan_layout(3, sizes, first, last, off) == 64);
    CHECK(off[0] == 0 && off[1] == 0 && off[2] == 0);
  }
  /* Disjoint lifetimes all at 0. */
  {
    int64_t sizes[] = {64, 128, 192, 256};
    int first[] = {0, 1, 2, 3}, last[] = {0, 1, 2, 3};
    CHECK(nnrt_plan_layout(4, sizes, first, last, off) == 256);
    CHECK(off[0] == 0 && off[1] == 0 && off[2] == 0 && off[3] == 0);
  }
}

static void test_errors(void) {
  int64_t off[2];
  int first[] = {0, 0}, last[] = {1, 1};
  int64_t negative[] = {64, -1};
  CHECK(nnrt_plan_layout(2, negative, first, last, off) == -1);
  int64_t huge[] = {INT64_MAX / 2, INT64_MAX / 2 + 64};
  CHECK(nnrt_plan_layout(2, huge, first, last, off) == -1);
  int64_t unaligned_max[] = {INT64_MAX - 10, 0};
  CHECK(nnrt_plan_layout(2, unaligned_max, first, last, off) == -1);
  int64_t ok[] = {64, 64};
  int backwards[] = {2, 0};
  CHECK(nnrt_plan_layout(2, ok, backwards, last, off) == -1);
  CHECK(nnrt_plan_layout(-1, ok, first, last, off) == -1);
  CHECK(nnrt_plan_layout(2, NULL, first, last, off) == -1);
  /* Disjoint lifetimes of huge buffers do fit. */
  int first2[] = {0, 2}, last2[] = {1, 3};
  CHECK(nnrt_plan_layout(2, huge, first2, last2, off) == (INT64_C(1) << 62) + 64);
}

static uint64_t lcg_state = 12345;
static int rnd(int n) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return (int)((lcg_state >> 33) % (uint64_t)n);
}

/* One random problem with n buffers over `steps` steps. */
static void check_random_case(int n, int steps) {
  int64_t *sizes = malloc((size_t)n * sizeof *sizes);
  int64_t *off = malloc((size_t)n * sizeof *off);
  int64_t *off2 = malloc((size_t)n * sizeof *off2);
  int *first = malloc((size_t)n * sizeof *first);
  int *last = malloc((size_t)n * sizeof *last);
  for (int i = 0; i < n; i++) {
    sizes[i] = rnd(8) == 0 ? 0 : 1 + rnd(rnd(2) ? 100 : 5000);
    first[i] = rnd(steps);
    last[i] = first[i] + rnd(steps - first[i]);
  }
  int64_t peak = nnrt_plan_layout(n, sizes, first, last, off);
  CHECK(peak >= 0 && peak % 64 == 0);

  int aligned = 1, inside = 1, disjoint = 1;
  for (int i = 0; i < n; i++) {
    aligned &= off[i] % 64 == 0 && off[i] >= 0;
    inside &= off[i] + sizes[i] <= peak;
    for (int j = i + 1; j < n; j++) {
      int live = first[i] <= last[j] && first[j] <= last[i];
      int overlap = off[i] < off[j] + sizes[j] && off[j] < off[i] + sizes[i];
      if (live && overlap && sizes[i] > 0 && sizes[j] > 0) {
        disjoint = 0;
        fprintf(stderr, "buffers %d and %d overlap\n", i, j);
      }
    }
  }
  CHECK(aligned);
  CHECK(inside);
  CHECK(disjoint);

  /* No layout beats the busiest step. */
  int64_t busiest = 0;
  for (int s = 0; s < steps; s++) {
    int64_t live = 0;
    for (int i = 0; i < n; i++)
      if (first[i] <= s && s <= last[i])
        live += sizes[i];
    busiest = live > busiest ? live : busiest;
  }
  CHECK(peak >= busiest);

  CHECK(nnrt_plan_layout(n, sizes, first, last, off2) == peak);
  CHECK(memcmp(off, off2, (size_t)n * sizeof *off) == 0);
  free(sizes);
  free(off);
  free(off2);
  free(first);
  free(last);
}

int main(void) {
  test_hand_cases();
  test_errors();
  for (int t = 0; t < 300; t++)
    check_random_case(1 + rnd(60), 1 + rnd(30));
  return check_report("test_plan");
}
