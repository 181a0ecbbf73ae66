/* An embedding lookup from an object: ids in range give the table's rows;
 * an id outside the table is an error naming the op, the tensor and the
 * position, and the handle stays usable. Built with ASan and UBSan (the
 * program and the runtime; the compiled model's own loads are kept inside
 * the table by the range check before the lookup). */
#include <stdio.h>
#include <string.h>

#include "lookup.h"

int main(void) {
  lookup *m = NULL;
  if (lookup_create(&m)) {
    fprintf(stderr, "create: %s\n", lookup_create_error());
    return 1;
  }
  float table[10 * 4], y[2 * 3 * 4];
  int32_t ids[6] = {0, 9, 3, 3, 1, 9}, bad[6] = {0, 9, 3, 3, 10, 2};
  int rc = lookup_get_param(m, "E", table, sizeof table);
  rc = rc ? rc : lookup_predict(m, 2, ids, y);
  int same = rc == 0;
  for (int i = 0; same && i < 6; i++)
    same = !memcmp(&y[i * 4], &table[ids[i] * 4], sizeof(float) * 4);
  printf("in range: rc=%d rows %s\n", rc, same ? "match" : "differ");
  rc = lookup_predict(m, 2, bad, y);
  printf("out of range: rc=%d %s\n", rc, lookup_error(m));
  rc = lookup_predict(m, 2, ids, y);
  printf("again: rc=%d\n", rc);
  lookup_free(m);
  return 0;
}
