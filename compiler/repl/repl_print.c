/* repl_print.c - NumPy-style printing of tensors; see repl_print.h.
 * Like NumPy, a tensor of more than SUMMARY_THRESHOLD elements shows only
 * EDGE_ITEMS entries at each end of every axis. */
#include "repl.h"

#include <stdbool.h>
#include <string.h>

enum { SUMMARY_THRESHOLD = 1000, EDGE_ITEMS = 3, ELEM_TEXT = 48 };

void repl_print_shape(FILE *out, const nnrt_tensor *t) {
  fputc('[', out);
  for (int i = 0; i < t->rank; i++)
    fprintf(out, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  fputc(']', out);
}

void repl_print_type(FILE *out, const nnrt_tensor *t) {
  fputs(nnrt_dtype_name(t->dtype), out);
  if (t->rank)
    repl_print_shape(out, t);
}

static int elem_text(char *buf, const nnrt_tensor *t, int64_t i) {
  switch (t->dtype) {
  case NNRT_F32:
    return snprintf(buf, ELEM_TEXT, "%.6g", (double)((const float *)t->data)[i]);
  case NNRT_F64:
    return snprintf(buf, ELEM_TEXT, "%.8g", ((const double *)t->data)[i]);
  case NNRT_I32:
    return snprintf(buf, ELEM_TEXT, "%d", ((const int32_t *)t->data)[i]);
  case NNRT_BOOL:
    return snprintf(buf, ELEM_TEXT, "%s", ((const uint8_t *)t->data)[i] ? "true" : "false");
  }
  return 0;
}

typedef struct Printer {
  FILE *out;
  const nnrt_tensor *t;
  bool summarise;
  int width; /* of the widest element shown, for aligned columns */
} Printer;

/* Whether index i of an axis of n entries is hidden by the summary. */
static bool hidden(const Printer *p, int64_t i, int64_t n) {
  return p->summarise && n > 2 * EDGE_ITEMS && i >= EDGE_ITEMS && i < n - EDGE_ITEMS;
}

/* Visits the shown elements of the axes from `axis` on, at `offset`. */
static void measure(Printer *p, int axis, int64_t offset, int64_t stride) {
  int64_t n = p->t->dims[axis], inner = stride / (n ? n : 1);
  for (int64_t i = 0; i < n; i++) {
    if (hidden(p, i, n))
      continue;
    if (axis == p->t->rank - 1) {
      char buf[ELEM_TEXT];
      int w = elem_text(buf, p->t, offset + i);
      p->width = w > p->width ? w : p->width;
    } else {
      measure(p, axis + 1, offset + i * inner, inner);
    }
  }
}

static void separator(const Printer *p, int axis) {
  if (axis == p->t->rank - 1) {
    fputs(", ", p->out);
    return;
  }
  fputc(',', p->out);
  for (int k = axis; k < p->t->rank - 1; k++) /* NumPy: a blank line per extra axis */
    fputc('\n', p->out);
  fprintf(p->out, "%*s", axis + 1, "");
}

static void print_axis(const Printer *p, int axis, int64_t offset, int64_t stride) {
  int64_t n = p->t->dims[axis], inner = stride / (n ? n : 1);
  fputc('[', p->out);
  for (int64_t i = 0; i < n; i++) {
    if (hidden(p, i, n)) {
      fputs("...", p->out);
      separator(p, axis);
      i = n - EDGE_ITEMS - 1;
      continue;
    }
    if (axis == p->t->rank - 1) {
      char buf[ELEM_TEXT];
      elem_text(buf, p->t, offset + i);
      fprintf(p->out, "%*s", p->width, buf);
    } else {
      print_axis(p, axis + 1, offset + i * inner, inner);
    }
    if (i + 1 < n)
      separator(p, axis);
  }
  fputc(']', p->out);
}

void repl_print_tensor(FILE *out, const nnrt_tensor *t) {
  repl_print_type(out, t);
  fputc('\n', out);
  int64_t n = nnrt_tensor_numel(t);
  Printer p = {.out = out, .t = t, .summarise = n > SUMMARY_THRESHOLD};
  if (t->rank == 0) {
    char buf[ELEM_TEXT];
    elem_text(buf, t, 0);
    fprintf(out, "%s\n", buf);
    return;
  }
  measure(&p, 0, 0, n);
  print_axis(&p, 0, 0, n);
  fputc('\n', out);
}
