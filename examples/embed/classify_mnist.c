/* classify_mnist.c - LeNet-5 (examples/lenet5.nn) compiled ahead of time,
 * classifying MNIST digits read straight from an IDX file.
 *
 *   nnc -c examples/lenet5.nn -o lenet5.o            (writes lenet5.h)
 *   cc classify_mnist.c lenet5.o $(pkg-config --cflags --libs nnrt) -lz
 *   nnc run examples/lenet5.nn --checkpoint lenet5.safetensors
 *   ./classify_mnist -l labels-idx1-ubyte.gz lenet5.safetensors images-idx3-ubyte.gz
 *
 * The IDX files may be gzip-compressed, as MNIST is distributed (zlib reads
 * plain files too). Pixels go to the model as they are (0..255): the model
 * scales them as its data section did in training. Without labels it prints
 * one line per image, "index digit probability"; with them, the accuracy.
 * -n N classifies the first N images only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lenet5.h"

enum { PIXELS = LE_NET5_INPUT_SIZE, CLASSES = LE_NET5_OUTPUT_SIZE, BATCH = 256 };

/* An IDX file of unsigned bytes: its dims and its elements. */
typedef struct Idx {
  unsigned rank;
  long dims[3];
  unsigned char *data;
  long count;
} Idx;

static int fail(const char *path, const char *what) {
  fprintf(stderr, "classify_mnist: %s: %s\n", path, what);
  return -1;
}

static int read_exact(gzFile f, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    int r = gzread(f, (char *)buf + got, (unsigned)(n - got < (1u << 30) ? n - got : 1u << 30));
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Reads an IDX file of u8 elements with `rank` axes (0x0000 08 rank). */
static int read_idx(const char *path, unsigned rank, Idx *out) {
  gzFile f = gzopen(path, "rb");
  if (!f)
    return fail(path, errno ? strerror(errno) : "cannot open");
  unsigned char head[4 + 4 * 3];
  int rc = -1;
  if (read_exact(f, head, 4 + 4 * rank)) {
    rc = fail(path, "truncated header");
    goto done;
  }
  if (head[0] || head[1] || head[2] != 0x08 || head[3] != rank) {
    char msg[96];
    snprintf(msg, sizeof msg, "not an IDX file of bytes with %u axes", rank);
    rc = fail(path, msg);
    goto done;
  }
  out->rank = rank;
  out->count = 1;
  for (unsigned i = 0; i < rank; i++) {
    const unsigned char *d = head + 4 + 4 * i;
    out->dims[i] = (long)d[0] << 24 | (long)d[1] << 16 | (long)d[2] << 8 | (long)d[3];
    if (out->dims[i] > 100000000L / out->count) {
      rc = fail(path, "dims too large");
      goto done;
    }
    out->count *= out->dims[i];
  }
  out->data = malloc((size_t)(out->count ? out->count : 1));
  if (!out->data) {
    rc = fail(path, "out of memory");
    goto done;
  }
  if (read_exact(f, out->data, (size_t)out->count)) {
    rc = fail(path, "truncated: fewer elements than its dims say");
    goto done;
  }
  rc = 0;
done:
  gzclose(f);
  return rc;
}

/* Classifies images [0, n) into best[] (and their probabilities). */
static int classify(le_net5 *m, const Idx *images, long n, int *best, float *prob) {
  float *x = malloc(sizeof(float) * PIXELS * BATCH), *p = malloc(sizeof(float) * CLASSES * BATCH);
  int rc = x && p ? 0 : -1;
  for (long at = 0; rc == 0 && at < n; at += BATCH) {
    long b = n - at < BATCH ? n - at : BATCH;
    for (long i = 0; i < b * PIXELS; i++)
      x[i] = images->data[at * PIXELS + i];
    if (le_net5_predict(m, b, x, p)) {
      fprintf(stderr, "classify_mnist: %s\n", le_net5_error(m));
      rc = -1;
      break;
    }
    for (long i = 0; i < b; i++) {
      int c = 0;
      for (int k = 1; k < CLASSES; k++)
        if (p[i * CLASSES + k] > p[i * CLASSES + c])
          c = k;
      best[at + i] = c;
      prob[at + i] = p[i * CLASSES + c];
    }
  }
  if (!x || !p)
    fprintf(stderr, "classify_mnist: out of memory\n");
  free(x);
  free(p);
  return rc;
}

static int usage(const char *prog) {
  fprintf(stderr, "usage: %s [-n COUNT] [-l LABELS] %sIMAGES\n", prog,
          LE_NET5_BAKED ? "[CHECKPOINT] " : "CHECKPOINT ");
  return 2;
}

int main(int argc, char **argv) {
  const char *labels_path = NULL, *pos[2] = {NULL, NULL};
  long limit = -1;
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
      labels_path = argv[++i];
    else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
      limit = strtol(argv[++i], NULL, 10);
    else if (argv[i][0] == '-' || npos == 2)
      return usage(argv[0]);
    else
      pos[npos++] = argv[i];
  }
  if (npos == 0 || (npos == 1 && !LE_NET5_BAKED))
    return usage(argv[0]);
  const char *checkpoint = npos == 2 ? pos[0] : NULL, *images_path = pos[npos - 1];
  Idx images = {0}, labels = {0};
  le_net5 *m = NULL;
  int *best = NULL, rc = 1;
  float *prob = NULL;
  if (read_idx(images_path, 3, &images) || (labels_path && read_idx(labels_path, 1, &labels)))
    goto done;
  if (images.dims[1] * images.dims[2] != PIXELS) {
    fprintf(stderr, "classify_mnist: %s: images are %ldx%ld, the model takes 28x28\n", images_path,
            images.dims[1], images.dims[2]);
    goto done;
  }
  if (labels_path && labels.dims[0] != images.dims[0]) {
    fprintf(stderr, "classify_mnist: %s: %ld labels for %ld images\n", labels_path, labels.dims[0],
            images.dims[0]);
    goto done;
  }
  long n = limit >= 0 && limit < images.dims[0] ? limit : images.dims[0];
  if (le_net5_create(&m)) {
    fprintf(stderr, "classify_mnist: %s\n", le_net5_create_error());
    goto done;
  }
  if (checkpoint && le_net5_load(m, checkpoint)) {
    fprintf(stderr, "classify_mnist: %s\n", le_net5_error(m));
    goto done;
  }
  best = malloc(sizeof(int) * (size_t)(n ? n : 1));
  prob = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!best || !prob || classify(m, &images, n, best, prob))
    goto done;
  if (labels_path) {
    long right = 0;
    for (long i = 0; i < n; i++)
      right += best[i] == labels.data[i];
    printf("classified %ld images: accuracy %.4f\n", n, n ? (double)right / (double)n : 0.0);
  } else {
    for (long i = 0; i < n; i++)
      printf("%ld %d %.4f\n", i, best[i], prob[i]);
  }
  rc = 0;
done:
  free(images.data);
  free(labels.data);
  free(best);
  free(prob);
  le_net5_free(m);
  return rc;
}
