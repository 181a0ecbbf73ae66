/* fuzz_readers.c - libFuzzer target for the runtime's file readers.
 *
 * Data files and checkpoints come from users and from elsewhere, so every
 * reader must turn any bytes into either a result or an error message: a
 * crash, a hang, a leak, a huge allocation or a sanitizer report is a bug.
 * The readers take paths, so each input is written to a file first. Its
 * first byte picks the reader (and a few options); the rest is the file:
 *
 *   0 .npy   nnrt_npy_read
 *   1 .npz   nnrt_npz_read of arrays "x" and "y"
 *   2 safetensors  nnrt_safetensors_open, then names, metadata and reads
 *   3 CSV    nnrt_load_csv, label column last, header or not
 *   4 IDX    nnrt_load_idx: a little-endian u16 n, then n bytes of the
 *            images file and the rest as the labels file; option bit 2:
 *            the images file is gzip-compressed here first, so that the
 *            fuzzer's changes reach the IDX checks behind the inflater
 *            (seeds of raw .gz files exercise the inflater itself)
 *   5 text   nnrt_load_text, seq 1..16
 *
 * Seeds: tests/fuzz/make_reader_seeds.py writes valid files of each kind.
 * Built only with -DNNC_FUZZ=ON (clang-19); see tests/fuzz/README.md.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "nnrt.h"
#include "nnrt_checkpoint.h"
#include "nnrt_data.h"

enum { READERS = 6 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/nnc-fuzz-readers.XXXXXX";
static const char *const file_names[] = {"a.npy", "a.npz",      "a.safetensors", "a.csv",
                                         "a.txt", "images.idx", "labels.idx"};

/* Leaves no files behind when the run ends (a crash keeps them: the input
 * is saved by libFuzzer anyway). */
static void remove_work_dir(void) {
  char p[256];
  for (size_t i = 0; i < sizeof file_names / sizeof *file_names; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, file_names[i]);
    unlink(p);
  }
  rmdir(dir);
}

/* A private directory for this process's files, made once. */
static const char *work_dir(void) {
  static bool made;
  if (!made) {
    if (!mkdtemp(dir)) {
      perror("fuzz_readers: mkdtemp");
      abort();
    }
    atexit(remove_work_dir);
    made = true;
  }
  return dir;
}

static const char *write_file(const char *name, const uint8_t *data, size_t size) {
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof path[0], "%s/%s", work_dir(), name);
  FILE *f = fopen(p, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror("fuzz_readers: writing the input");
    abort();
  }
  return p;
}

static void read_npy(const char *path) {
  char err[512];
  nnrt_tensor t = {0};
  if (nnrt_npy_read(path, &t, err, sizeof err) == NNRT_OK)
    nnrt_tensor_free(&t);
}

static void read_npz(const char *path) {
  static const char *const keys[] = {"x", "y"};
  for (int i = 0; i < 2; i++) {
    char err[512];
    nnrt_tensor t = {0};
    if (nnrt_npz_read(path, keys[i], &t, err, sizeof err) == NNRT_OK)
      nnrt_tensor_free(&t);
  }
}

/* Every tensor is read as f32 [4]: most reads are refused for their dtype
 * or shape, which is the lookup and check path; the open has already
 * validated the whole header. */
static void read_safetensors(const char *path) {
  char err[512];
  nnrt_safetensors *f = NULL;
  if (nnrt_safetensors_open(path, &f, err, sizeof err) != NNRT_OK)
    return;
  float buf[4];
  nnrt_tensor want = {.dtype = NNRT_F32, .rank = 1, .dims = {4}, .data = buf};
  for (int i = 0; i < nnrt_safetensors_count(f); i++)
    (void)nnrt_safetensors_read(f, nnrt_safetensors_name(f, i), &want, err, sizeof err);
  (void)nnrt_safetensors_meta(f, "nnc.model");
  nnrt_safetensors_close(f);
}

static void load(int (*loader)(const char *, const void *, nnrt_dataset *, char *, size_t),
                 const char *path, const void *options) {
  char err[512];
  nnrt_dataset d;
  if (loader(path, options, &d, err, sizeof err) == NNRT_OK)
    nnrt_dataset_free(&d);
}

static int csv_loader(const char *path, const void *o, nnrt_dataset *d, char *err, size_t n) {
  return nnrt_load_csv(path, o, d, err, n);
}

static int text_loader(const char *path, const void *seq, nnrt_dataset *d, char *err, size_t n) {
  return nnrt_load_text(path, *(const int64_t *)seq, d, err, n);
}

/* data as one gzip member, written as `name`. */
static const char *write_gzip(const char *name, const uint8_t *data, size_t size) {
  static uint8_t packed[(1 << 17) + 1024]; /* deflateBound of the largest input (64 KiB) */
  z_stream z = {0};
  if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    abort();
  z.next_in = (uint8_t *)data;
  z.avail_in = (uInt)size;
  z.next_out = packed;
  z.avail_out = sizeof packed;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    abort();
  size_t n = z.total_out;
  deflateEnd(&z);
  return write_file(name, packed, n);
}

static void read_idx(const uint8_t *data, size_t size, uint8_t option) {
  if (size < 2)
    return;
  size_t n = (size_t)(data[0] | data[1] << 8);
  data += 2, size -= 2;
  if (n > size)
    n = size;
  const char *images;
  if (option & 4)
    images = write_gzip("images.idx", data, n);
  else
    images = write_file("images.idx", data, n);
  const char *labels = write_file("labels.idx", data + n, size - n);
  nnrt_label_spec ys = {.dtype = NNRT_I32, .num_classes = option & 1 ? 10 : 0};
  char err[512];
  nnrt_dataset d;
  if (nnrt_load_idx(images, labels, option & 2 ? 1.0 / 255 : 0, &ys, &d, err, sizeof err) ==
      NNRT_OK)
    nnrt_dataset_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t pick = data[0] % READERS, option = data[0] / READERS;
  data++, size--;
  switch (pick) {
  case 0:
    read_npy(write_file("a.npy", data, size));
    break;
  case 1:
    read_npz(write_file("a.npz", data, size));
    break;
  case 2:
    read_safetensors(write_file("a.safetensors", data, size));
    break;
  case 3: {
    nnrt_csv_options o = {
        .has_label = true,
        .label = -1,
        .header = option & 1,
        .y = {.dtype = option & 2 ? NNRT_F32 : NNRT_I32, .num_classes = option & 2 ? 0 : 10}};
    load(csv_loader, write_file("a.csv", data, size), &o);
    break;
  }
  case 4:
    read_idx(data, size, option);
    break;
  default: {
    int64_t seq = 1 + option % 16;
    load(text_loader, write_file("a.txt", data, size), &seq);
    break;
  }
  }
  return 0;
}
