/* check.h - the assertions shared by the runtime's unit tests.
 *
 * A failed CHECK prints file:line and the condition (plus a formatted note
 * with CHECKF) and the test goes on, so one run shows every failure;
 * check_report() prints the summary line the .test files match and gives
 * the exit status. in_dir() names files in the test's directory.
 */
#ifndef NNRT_TEST_CHECK_H
#define NNRT_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_total, check_failed;

#define CHECKF(cond, ...)                                                                          \
  do {                                                                                             \
    check_total++;                                                                                 \
    if (!(cond)) {                                                                                 \
      check_failed++;                                                                              \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                     \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

#define CHECK(cond) CHECKF(cond, "%s", "")

/* |got - want| <= tol, printing both when not. */
#define CHECK_NEAR(got, want, tol)                                                                 \
  do {                                                                                             \
    double check_g_ = (got), check_w_ = (want);                                                    \
    CHECKF(fabs(check_g_ - check_w_) <= (tol), "got %.10g, want %.10g (tolerance %g)", check_g_,   \
           check_w_, (double)(tol));                                                               \
  } while (0)

/* The directory a test writes its files in (its argv[2]), and paths in it:
 * a ring of buffers, so a few can be live at once. */
static const char *test_dir;

static inline const char *in_dir(const char *name) {
  static char bufs[8][4096];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof bufs[0], "%s/%s", test_dir, name);
  return b;
}

static int check_report(const char *name) {
  if (check_failed) {
    printf("%s: %d of %d checks failed\n", name, check_failed, check_total);
    return 1;
  }
  printf("%s: all %d checks passed\n", name, check_total);
  return 0;
}

#endif
