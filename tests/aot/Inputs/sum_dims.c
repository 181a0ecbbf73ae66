/* Calls functions whose shapes are sums of monomials through an object's
 * descriptor (sum-dims.test): the dims it declares as text, shift at B = 2,
 * T = 4 against the same arithmetic in C, and tail, whose result T - 2
 * has no size at T = 1. */
#include <math.h>
#include <stdio.h>

#include "nnrt_model.h"
#include "sums.h"

static void print_signature(const nnrt_func_desc *f) {
  printf("%s(", f->name);
  for (int i = 0; i < f->ninputs; i++)
    for (int j = 0; j < f->inputs[i].rank; j++) {
      char text[64];
      nnrt_dim_text(f, &f->inputs[i].dims[j], text, sizeof text);
      printf("%s%s", i || j ? ", " : "", text);
    }
  printf(")\n");
}

int main(void) {
  s *m;
  if (s_create(&m)) {
    printf("create: %s\n", s_create_error());
    return 1;
  }
  const nnrt_model_desc *d = s_descriptor();
  for (int i = 0; i < d->nfuncs; i++)
    print_signature(&d->funcs[i]);

  enum { B = 2, T = 4 };
  float x[B * T], y[B * (T - 1)], out[B * (T - 1)];
  for (int i = 0; i < B * T; i++)
    x[i] = (float)(i % 5) - 1.5f;
  for (int i = 0; i < B * (T - 1); i++)
    y[i] = 0.25f * (float)i;
  int64_t dims[2] = {B, T};
  const void *in[2] = {x, y};
  void *outs[1] = {out};
  if (s_call(m, s_find_func(m, "shift"), dims, in, outs)) {
    printf("shift: %s\n", s_error(m));
    return 1;
  }
  double mean = 0, worst = 0;
  for (int i = 0; i < B * (T - 1); i++)
    mean += y[i] / (double)(B * (T - 1));
  for (int b = 0; b < B; b++) {
    double row = 0;
    for (int t = 0; t < T; t++)
      row += x[b * T + t];
    for (int t = 0; t < T - 1; t++) {
      double want = y[b * (T - 1) + t] * 2.0 - mean + row;
      double err = fabs(out[b * (T - 1) + t] - want);
      worst = err > worst ? err : worst;
    }
  }
  printf("shift at B=2 T=4: %s\n", worst < 1e-5 ? "matches" : "differs");

  int64_t short_dims[2] = {B, 1};
  float tail_out[1];
  void *tail_outs[1] = {tail_out};
  int rc = s_call(m, s_find_func(m, "tail"), short_dims, in, tail_outs);
  printf("tail at T=1: %d %s\n", rc, s_error(m));
  s_free(m);
  return 0;
}
