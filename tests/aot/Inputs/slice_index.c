/* A slice by an index argument from an object: an index in range gives the
 * column; one outside the axis is an error naming the function, the index,
 * the argument, the axis and the sliced tensor (input or parameter), as
 * the JIT says it, and the handle stays usable. */
#include <stdio.h>

#include "slice_index.h"

static int call(slice_index *m, const char *fn, int64_t batch, const void *x, int32_t t, float *y) {
  int f = slice_index_find_func(m, fn);
  const void *in2[2] = {x, &t}, *in1[1] = {&t};
  void *out[1] = {y};
  return slice_index_call(m, f, &batch, x ? in2 : in1, out);
}

int main(void) {
  slice_index *m = NULL;
  if (slice_index_create(&m)) {
    fprintf(stderr, "create: %s\n", slice_index_create_error());
    return 1;
  }
  float x[2 * 6], y[4];
  for (int i = 0; i < 12; i++)
    x[i] = (float)i;
  int rc = call(m, "column", 2, x, -1, y);
  printf("in range: rc=%d %g %g\n", rc, y[0], y[1]);
  rc = call(m, "column", 2, x, 7, y);
  printf("column: rc=%d %s\n", rc, slice_index_error(m));
  rc = call(m, "row", 0, NULL, -6, y);
  printf("row: rc=%d %s\n", rc, slice_index_error(m));
  rc = call(m, "row", 0, NULL, 4, y);
  printf("again: rc=%d %g\n", rc, y[0]);
  slice_index_free(m);
  return 0;
}
