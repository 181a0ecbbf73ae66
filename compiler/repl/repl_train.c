/* repl_train.c - :train, :save and :restore; see repl_train.h. */
#include "repl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Splits args into exactly n words (in place); false after reporting. */
static bool words(Repl *r, char *args, const char *usage, char **w, int n) {
  int k = 0;
  for (char *s = strtok(args, " \t\n"); s; s = strtok(NULL, " \t\n"))
    if (k++ < n)
      w[k - 1] = s;
  if (k != n)
    fprintf(r->err, "error: usage: %s\n", usage);
  return k == n;
}

static bool with_words(Repl *r, const char *args, const char *usage, char **w, int n, char **copy) {
  if (!(*copy = strdup(args)))
    arena_fatal("out of memory");
  return words(r, *copy, usage, w, n);
}

/* One step on the next batch of the epoch order, as nnrt_train takes it
 * (the data are already scaled and standardised, so the step is called as
 * the training loop calls it, not through nnrt_model_train_step, which
 * expects data in the file's units). */
static bool step(Repl *r, ReplModel *h, float *loss) {
  nnrt_model *m = h->m;
  const nnrt_model_desc *d = nnrt_model_descriptor(m);
  const nnrt_dataset *t = &h->train;
  int64_t bs = d->cfg.batch, nbatches = t->n / bs + (t->n % bs != 0);
  if (h->batch == 0)
    nnrt_epoch_order(t->n, d->cfg.seed, h->epoch, d->cfg.shuffle, h->perm);
  int64_t lo = h->batch * bs, count = t->n - lo < bs ? t->n - lo : bs;
  nnrt_dataset_gather(t, h->perm + lo, count, h->x, h->y);
  float hyper[4];
  /* scheduled as the loop schedules a whole run, augmented as it augments */
  if (nnrt_model_augment(m, t, d->cfg.seed, h->epoch, h->perm + lo, count, h->x) ||
      nnrt_model_hyper(m, d->cfg.epochs * nbatches, h->epoch, hyper) ||
      nnrt_model_train_step_hyper(m, count, t, h->x, h->y, hyper, loss)) {
    fprintf(r->err, "error: %s\n", nnrt_model_error(m));
    return false;
  }
  if (++h->batch == nbatches) {
    h->batch = 0;
    h->epoch++;
  }
  return true;
}

static bool parse_steps(Repl *r, const char *s, long long *n) {
  char *end;
  errno = 0;
  *n = strtoll(s, &end, 10);
  if (errno || *end || end == s || *n < 1 || *n > 100000000) {
    fprintf(r->err, "error: STEPS must be a whole number from 1 to 100000000, got '%s'\n", s);
    return false;
  }
  return true;
}

static bool trainable(Repl *r, const ReplModel *h) {
  const nnrt_train_desc *c = &nnrt_model_descriptor(h->m)->cfg;
  if (!c->has_data || !c->has_train)
    fprintf(r->err, "error: model '%s' has no %s section: nothing to train\n", h->name,
            c->has_data ? "train" : "data");
  else if (c->fit != NNRT_FIT_NONE) /* a closed-form fit takes no steps */
    fprintf(r->err,
            "error: model '%s' fits its readout in closed form (fit = ridge) in train section "
            "'%s': :train takes gradient steps (nnc run fits it; :train %s.SECTION picks "
            "another train section)\n",
            h->name, h->section ? h->section : "", h->name);
  return c->has_data && c->has_train && c->fit == NNRT_FIT_NONE;
}

/* MODEL or MODEL.SECTION: the handle, switched to that train section. */
static ReplModel *model_to_train(Repl *r, char *word) {
  char *dot = strchr(word, '.');
  if (!dot) {
    ReplModel *h = repl_model(r, word);
    return h && trainable(r, h) ? h : NULL;
  }
  *dot = 0;
  if (!dot[1]) {
    fprintf(r->err, "error: usage: :train MODEL[.SECTION] STEPS: no section after '%s.'\n", word);
    return NULL;
  }
  return repl_model_section(r, word, dot + 1, trainable);
}

bool repl_train(Repl *r, const char *args) {
  char *w[2], *copy;
  long long n = 0;
  bool ok =
      with_words(r, args, ":train MODEL[.SECTION] STEPS", w, 2, &copy) && parse_steps(r, w[1], &n);
  ReplModel *h = ok ? model_to_train(r, w[0]) : NULL;
  ok = h != NULL;
  long long every = n > 20 ? n / 10 : 1;
  for (long long i = 0; ok && i < n; i++) {
    float loss;
    ok = step(r, h, &loss);
    bool stop = ok && repl_interrupt_take();
    if (stop)
      fputs("\n", r->out); /* past the ^C the terminal echoed */
    if (ok && (i % every == 0 || i == n - 1 || stop))
      fprintf(r->out, "step %lld loss %.6f\n", (long long)nnrt_model_steps(h->m), (double)loss);
    if (stop) {
      fprintf(r->out, "interrupted after %lld of %lld steps; the weights are those of step %lld\n",
              i + 1, n, (long long)nnrt_model_steps(h->m));
      break;
    }
  }
  free(copy);
  return ok;
}

/* The handle's place in the epochs goes with the weights. */
static void set_position(ReplModel *h) { nnrt_model_set_epoch(h->m, h->epoch); }

bool repl_save(Repl *r, const char *args) {
  char *w[2], *copy;
  bool ok = with_words(r, args, ":save MODEL FILE", w, 2, &copy);
  ReplModel *h = ok ? repl_model(r, w[0]) : NULL;
  ok = h != NULL;
  if (ok) {
    set_position(h);
    if (!(ok = !nnrt_model_save(h->m, w[1])))
      fprintf(r->err, "error: %s\n", nnrt_model_error(h->m));
    else
      fprintf(r->out, "saved %s to %s\n", w[0], w[1]);
  }
  free(copy);
  return ok;
}

bool repl_restore(Repl *r, const char *args) {
  char *w[2], *copy;
  bool ok = with_words(r, args, ":restore MODEL FILE", w, 2, &copy);
  ReplModel *h = ok ? repl_model(r, w[0]) : NULL;
  ok = h != NULL;
  if (ok) {
    if (!(ok = !nnrt_model_load(h->m, w[1]))) {
      fprintf(r->err, "error: %s\n", nnrt_model_error(h->m));
    } else {
      /* the next :train goes on from the checkpoint's epoch */
      h->epoch = nnrt_model_epoch(h->m);
      h->batch = 0;
      fprintf(r->out, "restored %s from %s (step %lld)\n", w[0], w[1],
              (long long)nnrt_model_steps(h->m));
    }
  }
  free(copy);
  return ok;
}
