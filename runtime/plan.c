/* plan.c - workspace layout: offsets in one arena for buffers with known
 * live ranges.
 *
 * Greedy best-fit by size: the largest buffers are placed first (they are
 * the hardest to fit), each at the lowest 64-byte-aligned offset that does
 * not overlap any already placed buffer live at the same time. This is the
 * "greedy by size" heuristic of TFLite's arena planner; it is not optimal in
 * general (the problem is NP-hard) but is close on real graphs, and O(n^2).
 * Ties in size are broken by index so the layout depends only on the input.
 */
#include "nnrt.h"

#include <stdbool.h>
#include <stdlib.h>

enum { ALIGN = 64 };

typedef struct {
  int64_t size;
  int index;
} BySize;

/* A placed buffer that conflicts with the one being placed. */
typedef struct {
  int64_t lo, hi; /* [lo, hi) bytes */
} Span;

static int cmp_by_size(const void *pa, const void *pb) {
  const BySize *a = pa, *b = pb;
  if (a->size != b->size)
    return a->size > b->size ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

static int cmp_span(const void *pa, const void *pb) {
  const Span *a = pa, *b = pb;
  if (a->lo != b->lo)
    return a->lo < b->lo ? -1 : 1;
  return (a->hi > b->hi) - (a->hi < b->hi);
}

/* v rounded up to ALIGN, or -1 past INT64_MAX. */
static int64_t align_up(int64_t v) {
  if (v > INT64_MAX - (ALIGN - 1))
    return -1;
  return (v + ALIGN - 1) / ALIGN * ALIGN;
}

static bool live_together(const int *first, const int *last, int i, int j) {
  return first[i] <= last[j] && first[j] <= last[i];
}

/* Lowest aligned offset where `size` bytes fit between the spans (sorted by
 * start), or -1 on overflow. */
static int64_t lowest_fit(Span *spans, int nspans, int64_t size) {
  int64_t at = 0;
  for (int s = 0; s < nspans; s++) {
    if (spans[s].lo >= at + size)
      break; /* the gap before this span holds it: later spans start later */
    if (spans[s].hi > at) {
      at = align_up(spans[s].hi);
      if (at < 0 || at > INT64_MAX - size)
        return -1;
    }
  }
  return at;
}

int64_t nnrt_plan_layout(int n, const int64_t *sizes, const int *first, const int *last,
                         int64_t *offsets) {
  if (n < 0 || (n > 0 && (!sizes || !first || !last || !offsets)))
    return -1;
  if (n == 0)
    return 0;
  for (int i = 0; i < n; i++)
    if (sizes[i] < 0 || first[i] > last[i])
      return -1;

  BySize *order = malloc((size_t)n * sizeof *order);
  Span *spans = malloc((size_t)n * sizeof *spans);
  bool *placed = calloc((size_t)n, sizeof *placed);
  int64_t peak = 0;
  if (!order || !spans || !placed) {
    peak = -1;
    goto out;
  }
  for (int i = 0; i < n; i++)
    order[i] = (BySize){sizes[i], i};
  qsort(order, (size_t)n, sizeof *order, cmp_by_size);

  for (int o = 0; o < n && peak >= 0; o++) {
    int i = order[o].index;
    int nspans = 0;
    for (int j = 0; j < n; j++)
      if (placed[j] && sizes[j] > 0 && live_together(first, last, i, j))
        spans[nspans++] = (Span){offsets[j], offsets[j] + sizes[j]};
    qsort(spans, (size_t)nspans, sizeof *spans, cmp_span);
    int64_t at = sizes[i] == 0 ? 0 : lowest_fit(spans, nspans, sizes[i]);
    if (at < 0) {
      peak = -1;
      break;
    }
    offsets[i] = at;
    placed[i] = true;
    if (at + sizes[i] > peak)
      peak = at + sizes[i];
  }
  if (peak >= 0)
    peak = align_up(peak); /* so the arena can come from aligned_alloc(64, peak) */
out:
  free(order);
  free(spans);
  free(placed);
  return peak;
}
