/* repl_time.c - :time; see repl_time.h. */
#include "repl.h"

#include "bench.h"

/* Each call is timed on its own, so the median ignores the odd slow one
 * (another process, a page fault). */
bool repl_time_calls(Repl *r, JitFunc *jf, void *const *in, void *const *params, void *const *out) {
  enum { MIN_RUNS = 5, MAX_RUNS = 1000 };
  double t[MAX_RUNS];
  char err[1024];
  int64_t dims[1] = {0};
  if (jit_call(jf, dims, in, params, out, err, sizeof err)) {
    fprintf(r->err, "error: %s\n", err);
    return false;
  }
  double start = bench_now();
  int n = 0;
  while (n < MAX_RUNS && (n < MIN_RUNS || bench_now() - start < 0.2)) {
    double t0 = bench_now();
    if (jit_call(jf, dims, in, params, out, err, sizeof err)) {
      fprintf(r->err, "error: %s\n", err);
      return false;
    }
    t[n++] = bench_now() - t0;
  }
  double med = bench_median(t, n);
  const char *unit = med < 1e-3 ? "us" : med < 1 ? "ms" : "s";
  double scale = med < 1e-3 ? 1e6 : med < 1 ? 1e3 : 1;
  fprintf(r->out, "median %.3g %s per evaluation (%d runs)\n", med * scale, unit, n);
  return true;
}
