/* optim.c - learning-rate schedules and the per-step optimizer constants
 * ("hyper", see nnrt_train.h).
 *
 * The compiled training step does the optimizer's arithmetic; what varies
 * from step to step is computed here, in double, and handed over as floats.
 */
#include "nnrt_train.h"

#include <math.h>

/* The schedule's value before warm-up. */
static double scheduled_lr(const nnrt_optimizer *o, int64_t t, int64_t epoch) {
  switch (o->schedule) {
  case NNRT_SCHED_CONSTANT:
    return o->lr;
  case NNRT_SCHED_STEP: {
    if (o->every <= 0 || epoch < 0)
      return o->lr;
    return o->lr * pow(o->gamma, (double)(epoch / o->every));
  }
  case NNRT_SCHED_COSINE: {
    int64_t warmup = o->warmup > 0 ? o->warmup : 0;
    int64_t span = o->total_steps - warmup;
    if (span <= 0)
      return o->lr;
    /* 0-based position in the decay, as torch's CosineAnnealingLR stepped
     * per batch: the first step after warm-up runs at the full rate */
    int64_t s = t - warmup - 1;
    if (s < 0)
      s = 0;
    if (s > span)
      s = span;
    double frac = (double)s / (double)span;
    return o->min_lr + (o->lr - o->min_lr) * (1.0 + cos(M_PI * frac)) / 2.0;
  }
  }
  return o->lr;
}

double nnrt_optimizer_lr(const nnrt_optimizer *o, int64_t t, int64_t epoch) {
  double lr = scheduled_lr(o, t, epoch);
  if (o->warmup > 0 && t <= o->warmup)
    lr = lr * (double)(t < 0 ? 0 : t) / (double)o->warmup;
  return lr;
}

void nnrt_optimizer_hyper(const nnrt_optimizer *o, int64_t t, int64_t epoch, float hyper[4]) {
  double lr = nnrt_optimizer_lr(o, t, epoch);
  hyper[0] = (float)lr;
  hyper[1] = 0.0f;
  hyper[2] = 0.0f;
  hyper[3] = 0.0f;
  if (o->kind == NNRT_ADAM || o->kind == NNRT_ADAMW) {
    /* t < 1 would divide by zero (beta^0 = 1): the first step's values. */
    double tt = (double)(t < 1 ? 1 : t);
    double c1 = 1.0 - pow(o->beta1, tt);
    double c2 = 1.0 - pow(o->beta2, tt);
    hyper[1] = (float)(c1 > 0 ? lr / c1 : lr);
    hyper[2] = (float)(c2 > 0 ? 1.0 / sqrt(c2) : 1.0);
  }
}
