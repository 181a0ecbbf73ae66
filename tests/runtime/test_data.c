/* test_data.c - the data-set API of nnrt_data.h.
 *
 *   test_data csv DIR      CSV loader: good files (header, label first, last
 *                          and negative, feature subsets, scale, CRLF,
 *                          blank lines, a byte order mark, many rows) and
 *                          every bad one with its exact message
 *   test_data idx DIR      IDX loader, files written here big-endian
 *   test_data gz DIR       IDX files gzip-compressed: good (by content, not
 *                          name; several members; larger than a first
 *                          buffer), truncated, corrupt, wrong magic inside,
 *                          headers that promise more or less than there is
 *   test_data npy DIR      .npy pair loader, files written with nnrt_npy_write
 *   test_data text DIR     character-level text loader
 *   test_data dataset DIR  epoch order, split, gather, stats, normalize
 *   test_data augment DIR  random crop, shift and flip of image batches:
 *                          the documented draws exactly, reproducible for
 *                          a seed, different across epochs and samples,
 *                          independent of the batch, errors on non-images
 *
 * Every file is written into DIR by the test itself. Each mode prints
 * "test_data MODE: all N checks passed" or the failures.
 */
#include "check.h"
#include "nnrt_data.h"

#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *write_bytes(const char *name, const void *data, size_t len) {
  const char *path = in_dir(name);
  FILE *fp = fopen(path, "wb");
  if (!fp || (len && fwrite(data, 1, len, fp) != len) || fclose(fp) != 0) {
    fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
    exit(2);
  }
  return path;
}

static const char *write_text(const char *name, const char *text) {
  return write_bytes(name, text, strlen(text));
}

static bool is_empty(const nnrt_dataset *d) {
  return d->n == 0 && !d->x && !d->y && !d->vocab && d->vocab_size == 0 && d->x_size == 0;
}

/* rc must be `code`, the message exactly want with "%P" standing for the
 * path, and the data set left empty. */
#define EXPECT_ERR(rc, code, err, path, want, d)                                                   \
  do {                                                                                             \
    char want_[2048];                                                                              \
    expand_(want_, sizeof want_, want, path);                                                      \
    CHECKF((rc) == (code) && strcmp(err, want_) == 0 && is_empty(d),                               \
           "rc %d (want %d)\n  got  '%s'\n  want '%s'", rc, code, err, want_);                     \
  } while (0)

static void expand_(char *out, size_t cap, const char *pattern, const char *path) {
  size_t n = 0;
  for (const char *p = pattern; *p && n + 1 < cap; p++) {
    if (p[0] == '%' && p[1] == 'P') {
      n += (size_t)snprintf(out + n, cap - n, "%s", path);
      p++;
    } else {
      out[n++] = *p;
    }
  }
  out[n < cap ? n : cap - 1] = '\0';
}

static bool floats_are(const nnrt_dataset *d, const float *want, int64_t count) {
  if (!d->x || d->x_dtype != NNRT_F32 || d->n * d->x_size != count)
    return false;
  for (int64_t i = 0; i < count; i++)
    if (((const float *)d->x)[i] != want[i])
      return false;
  return true;
}

static bool i32_are(const void *p, const int32_t *want, int64_t count) {
  return p && memcmp(p, want, (size_t)count * 4) == 0;
}

/* ---- CSV ---- */

static nnrt_csv_options label_last(int64_t classes) {
  return (nnrt_csv_options){
      .has_label = true, .label = -1, .y = {.dtype = NNRT_I32, .num_classes = classes}};
}

static int load_csv_text(const char *name, const char *text, const nnrt_csv_options *o,
                         nnrt_dataset *d, char *err, size_t errlen, const char **path) {
  *path = write_text(name, text);
  return nnrt_load_csv(*path, o, d, err, errlen);
}

static void csv_good(void) {
  char err[512] = "";
  nnrt_dataset d;
  const char *p;

  /* Label last, integers. */
  nnrt_csv_options o = label_last(0);
  int rc = load_csv_text("basic.csv", "1,2,3\n4,5,6\n", &o, &d, err, sizeof err, &p);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {1, 2, 4, 5};
    int32_t wy[] = {3, 6};
    CHECK(d.n == 2 && d.x_rank == 1 && d.x_dims[0] == 2 && d.x_size == 2);
    CHECK(d.y_dtype == NNRT_I32 && d.y_rank == 0 && d.y_size == 1);
    CHECK(floats_are(&d, wx, 4) && i32_are(d.y, wy, 2));
    CHECK(d.vocab == NULL && d.vocab_size == 0);
  }
  nnrt_dataset_free(&d);
  CHECK(is_empty(&d));

  /* Header, label first, CRLF, blank and blank-looking lines, blanks around
   * fields, no final newline, num_classes checked. */
  o = label_last(2);
  o.label = 0;
  o.header = true;
  rc = load_csv_text("crlf.csv", "\r\n  \r\nlabel,a,b\r\n0, 1.5 ,2e1\r\n \t\r\n\r\n1,-3,.5\r\n\r\n",
                     &o, &d, err, sizeof err, &p);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {1.5f, 20, -3, 0.5f};
    int32_t wy[] = {0, 1};
    CHECK(d.n == 2 && floats_are(&d, wx, 4) && i32_are(d.y, wy, 2));
  }
  nnrt_dataset_free(&d);

  /* Negative label column (-2 of 4), a feature subset in a given order,
   * scale, f32 targets, no final newline. */
  o = (nnrt_csv_options){.has_label = true,
                         .label = -2,
                         .features = (const int[]){3, 0, -1},
                         .nfeatures = 3,
                         .scale = 0.5,
                         .y = {.dtype = NNRT_F32}};
  rc = load_csv_text("subset.csv", "1,2,0.25,4\n5,6,-7.5,8", &o, &d, err, sizeof err, &p);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {2, 0.5f, 2, 4, 2.5f, 4};
    float wy[] = {0.25f, -7.5f};
    CHECK(d.n == 2 && d.x_size == 3 && d.x_dims[0] == 3 && floats_are(&d, wx, 6));
    CHECK(d.y_dtype == NNRT_F32 && d.y && memcmp(d.y, wy, sizeof wy) == 0);
  }
  nnrt_dataset_free(&d);

  /* No label: every column is a feature and y is empty. */
  o = (nnrt_csv_options){.has_label = false, .label = 5};
  rc = load_csv_text("nolabel.csv", "1,2\n3,4\n5,6\n", &o, &d, err, sizeof err, &p);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {1, 2, 3, 4, 5, 6};
    CHECK(d.n == 3 && floats_are(&d, wx, 6));
    CHECK(d.y == NULL && d.y_size == 0 && d.y_rank == 1 && d.y_dims[0] == 0);
  }
  nnrt_dataset_free(&d);

  /* No label, a subset from the end; a column that is not selected is not
   * parsed (names), integral labels written as floats, a BOM, an underflow. */
  o = (nnrt_csv_options){.has_label = false, .features = (const int[]){-1}, .nfeatures = 1};
  rc = load_csv_text("nolabel_subset.csv", "\xEF\xBB\xBFx,7\ny,1e-400\n", &o, &d, err, sizeof err,
                     &p);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {7, 0};
    CHECK(d.n == 2 && floats_are(&d, wx, 2));
  }
  nnrt_dataset_free(&d);
  o = label_last(10);
  o.features = (const int[]){1};
  o.nfeatures = 1;
  rc = load_csv_text("names.csv", "alice,+1.0,3.0\nbob,2,9e0\n", &o, &d, err, sizeof err, &p);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {1, 2};
    int32_t wy[] = {3, 9};
    CHECK(d.n == 2 && floats_are(&d, wx, 2) && i32_are(d.y, wy, 2));
  }
  nnrt_dataset_free(&d);

  /* Many rows: the arrays grow. */
  size_t cap = 1 << 20, len = 0;
  char *big = malloc(cap);
  const int rows = 5000;
  for (int i = 0; i < rows; i++)
    len += (size_t)snprintf(big + len, cap - len, "%d,%.2f,%d\n", i, -i * 0.25, i % 7);
  o = label_last(7);
  rc = load_csv_text("big.csv", big, &o, &d, err, sizeof err, &p);
  CHECKF(rc == NNRT_OK, "%s", err);
  if (rc == NNRT_OK) {
    bool ok = d.n == rows;
    for (int i = 0; ok && i < rows; i++)
      ok = ((float *)d.x)[2 * i] == (float)i && ((float *)d.x)[2 * i + 1] == (float)(-i * 0.25) &&
           ((int32_t *)d.y)[i] == i % 7;
    CHECK(ok);
  }
  nnrt_dataset_free(&d);
  free(big);

  /* A locale with a decimal comma, if the system has one, changes nothing. */
  const char *locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
  for (size_t i = 0; i < sizeof locales / sizeof *locales; i++) {
    if (!setlocale(LC_NUMERIC, locales[i]))
      continue;
    o = label_last(0);
    rc = load_csv_text("locale.csv", "1.5,2\n", &o, &d, err, sizeof err, &p);
    CHECKF(rc == NNRT_OK && ((float *)d.x)[0] == 1.5f, "under %s: %s", locales[i], err);
    nnrt_dataset_free(&d);
    setlocale(LC_NUMERIC, "C");
    break;
  }
}

typedef struct {
  const char *name, *text;
  int label; /* the label column; 99 = no label */
  int64_t classes;
  int code;
  const char *message; /* %P = the path */
} BadCsv;

static const BadCsv bad_csv[] = {
    {"empty.csv", "", -1, 0, NNRT_ERR_FORMAT, "%P: no data rows"},
    {"blank.csv", "\n\r\n  \n", -1, 0, NNRT_ERR_FORMAT, "%P: no data rows"},
    {"ragged.csv", "1,2,3,4,5\n1,2,3,4,5\n\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3\n", -1, 0,
     NNRT_ERR_FORMAT, "%P:7:1: row has 3 fields, expected 5 like line 1"},
    {"ragged1.csv", "\n1,2\n1\n", -1, 0, NNRT_ERR_FORMAT,
     "%P:3:1: row has 1 field, expected 2 like line 2"},
    {"trailing_comma.csv", "1,2\n1,2,\n", -1, 0, NNRT_ERR_FORMAT,
     "%P:2:1: row has 3 fields, expected 2 like line 1"},
    {"abc.csv", "1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,abc\n", 0, 0, NNRT_ERR_FORMAT,
     "%P:3:9: 'abc' is not a number"},
    {"junk.csv", "1,2\n1.5x,2\n", -1, 0, NNRT_ERR_FORMAT, "%P:2:1: '1.5x' is not a number"},
    {"hex.csv", "0x10,2\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:1: '0x10' is not a number"},
    {"exp.csv", "1e,2\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:1: '1e' is not a number"},
    {"dot.csv", ".,2\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:1: '.' is not a number"},
    {"inner_space.csv", "1 2,3\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:1: '1 2' is not a number"},
    {"quoted.csv", "\"1\",3\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:1: '\"1\"' is not a number"},
    {"nan.csv", "1,2,3\n1,2,3\n3,  nan,4\n", 0, 0, NNRT_ERR_FORMAT,
     "%P:3:5: 'nan' is not a finite number"},
    {"inf.csv", "-Inf,1\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:1: '-Inf' is not a finite number"},
    {"infinity.csv", "1,INFINITY,1\n", -1, 0, NNRT_ERR_FORMAT,
     "%P:1:3: 'INFINITY' is not a finite number"},
    {"empty_field.csv", "1, ,2\n", -1, 0, NNRT_ERR_FORMAT,
     "%P:1:3: empty field where a number was expected"},
    {"huge.csv", "1e999,1\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:1: '1e999' is out of range"},
    {"f32_overflow.csv", "1,1e39,1\n", -1, 0, NNRT_ERR_FORMAT,
     "%P:1:3: '1e39' does not fit in f32"},
    {"label_frac.csv", "1,2\n3,2.5\n", -1, 0, NNRT_ERR_FORMAT,
     "%P:2:3: label '2.5' is not an integer"},
    {"label_i32.csv", "1,3e10\n", -1, 0, NNRT_ERR_FORMAT,
     "%P:1:3: label '3e10' does not fit in i32"},
    {"label_word.csv", "1,cat\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:3: label 'cat' is not a number"},
    {"label_nan.csv", "1,NaN\n", -1, 0, NNRT_ERR_FORMAT,
     "%P:1:3: label 'NaN' is not a finite number"},
    {"label_empty.csv", "1,\n", -1, 0, NNRT_ERR_FORMAT, "%P:1:3: empty label field"},
    {"label_range.csv",
     "1,1,1,1,1,1,1,1,0\n1,1,1,1,1,1,1,1,1\n1,1,1,1,1,1,1,1,2\n1,1,1,1,1,1,1,1,3\n"
     "1,1,1,1,1,1,1,1,4\n1,1,1,1,1,1,1,1,5\n1,1,1,1,1,1,1,1,6\n1,1,1,1,1,1,1,1,7\n"
     "1,1,1,1,1,1,1,1,8\n1,1,1,1,1,1,1,1,9\n\n"
     "0.00000,0.00000,0.00000,0.00000,0.00000,0.00000,0.00000,0.00000,10\n",
     -1, 10, NNRT_ERR_FORMAT, "%P:12:65: label 10 is outside the 10 classes 0..9"},
    {"label_negative.csv", "1,-1\n", -1, 10, NNRT_ERR_FORMAT,
     "%P:1:3: label -1 is outside the 10 classes 0..9"},
    {"label_one_class.csv", "1,1\n", -1, 1, NNRT_ERR_FORMAT,
     "%P:1:3: label 1 is outside the 1 class 0..0"},
    {"label_column.csv", "1,2,3\n", 5, 0, NNRT_ERR_ARG,
     "%P: label column 5 is out of range: line 1 has 3 fields (columns 0..2, or -3..-1 from the "
     "end)"},
    {"label_column_neg.csv", "\n1,2,3\n", -4, 0, NNRT_ERR_ARG,
     "%P: label column -4 is out of range: line 2 has 3 fields (columns 0..2, or -3..-1 from the "
     "end)"},
    {"only_label.csv", "1\n2\n", 0, 0, NNRT_ERR_FORMAT,
     "%P: no feature columns: line 1 has only the label column"},
};

static void csv_bad(void) {
  char err[512];
  for (size_t i = 0; i < sizeof bad_csv / sizeof *bad_csv; i++) {
    const BadCsv *b = &bad_csv[i];
    nnrt_csv_options o = label_last(b->classes);
    o.label = b->label;
    nnrt_dataset d = {.n = 7, .x = &d};
    const char *p;
    strcpy(err, "");
    int rc = load_csv_text(b->name, b->text, &o, &d, err, sizeof err, &p);
    EXPECT_ERR(rc, b->code, err, p, b->message, &d);
  }

  nnrt_dataset d;
  const char *p;
  /* Only a header. */
  nnrt_csv_options o = label_last(0);
  o.header = true;
  int rc = load_csv_text("header_only.csv", "a,b,c\n\n", &o, &d, err, sizeof err, &p);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, p, "%P: no data rows", &d);

  /* Scale pushes a value out of f32. */
  o = label_last(0);
  o.scale = 1e10;
  rc = load_csv_text("scaled.csv", "1e30,1\n", &o, &d, err, sizeof err, &p);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, p,
             "%P:1:1: '1e30' times the scale 1e+10 does not fit in f32", &d);

  /* A feature column out of range. */
  o = label_last(0);
  o.features = (const int[]){0, 7};
  o.nfeatures = 2;
  rc = load_csv_text("feature_column.csv", "1,2,3\n", &o, &d, err, sizeof err, &p);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, p,
             "%P: feature column 7 (features[1]) is out of range: line 1 has 3 fields (columns "
             "0..2, or -3..-1 from the end)",
             &d);

  /* A long field is cut short in the message. */
  o = label_last(0);
  rc = load_csv_text("long.csv", "1,2\n1234567890123456789012345678901234567890x,2\n", &o, &d, err,
                     sizeof err, &p);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, p,
             "%P:2:1: '1234567890123456789012345678901234567...' is not a number", &d);

  /* Bad options. */
  p = in_dir("basic.csv");
  o = label_last(0);
  o.features = (const int[]){0};
  o.nfeatures = 0;
  rc = nnrt_load_csv(p, &o, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, p, "%P: nfeatures is 0: give at least one feature column", &d);
  o = label_last(0);
  o.y.dtype = NNRT_F64;
  rc = nnrt_load_csv(p, &o, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, p, "%P: label dtype 1 is neither i32 nor f32", &d);
  o = label_last(-3);
  rc = nnrt_load_csv(p, &o, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, p, "%P: num_classes -3 is negative", &d);
  o = label_last(0);
  o.scale = NAN;
  rc = nnrt_load_csv(p, &o, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, p, "%P: scale nan is not a finite number", &d);
  o = label_last(0);
  CHECK(nnrt_load_csv(NULL, &o, &d, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_load_csv(p, NULL, &d, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_load_csv(p, &o, NULL, err, sizeof err) == NNRT_ERR_ARG);

  /* I/O. */
  p = in_dir("missing.csv");
  rc = nnrt_load_csv(p, &o, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_IO, err, p, "%P: cannot open: No such file or directory", &d);
  rc = nnrt_load_csv(test_dir, &o, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_IO, err, test_dir, "%P: is a directory", &d);
  /* No buffer, or a tiny one. */
  CHECK(nnrt_load_csv(p, &o, &d, NULL, 0) == NNRT_ERR_IO);
  char tiny[4];
  CHECK(nnrt_load_csv(in_dir("abc.csv"), &o, &d, tiny, sizeof tiny) == NNRT_ERR_FORMAT);
  CHECK(strlen(tiny) == 3);
}

/* ---- IDX ---- */

static size_t put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
  return 4;
}

/* An IDX file: header for (type, rank, dims) then `len` bytes of data
 * (already big-endian), plus `extra` garbage bytes. */
static const char *write_idx(const char *name, int type, int rank, const uint32_t *dims,
                             const void *data, size_t len) {
  static unsigned char buf[1 << 16];
  size_t n = 0;
  buf[n++] = 0;
  buf[n++] = 0;
  buf[n++] = (unsigned char)type;
  buf[n++] = (unsigned char)rank;
  for (int i = 0; i < rank; i++)
    n += put_be32(buf + n, dims[i]);
  memcpy(buf + n, data, len);
  return write_bytes(name, buf, n + len);
}

static void idx_good(void) {
  char err[512] = "";
  nnrt_dataset d;
  nnrt_label_spec i32 = {NNRT_I32, 3}, f32 = {NNRT_F32, 0};

  /* u8 images [3, 2, 2] and u8 labels [3], scaled. */
  unsigned char px[12], lab[3] = {2, 0, 1};
  for (int i = 0; i < 12; i++)
    px[i] = (unsigned char)(i * 20);
  const char *im = write_idx("u8_images.idx", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12);
  const char *lb = write_idx("u8_labels.idx", 0x08, 1, (uint32_t[]){3}, lab, 3);
  int rc = nnrt_load_idx(im, lb, 0.5, &i32, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[12];
    for (int i = 0; i < 12; i++)
      wx[i] = (float)(i * 20) * 0.5f;
    int32_t wy[] = {2, 0, 1};
    CHECK(d.n == 3 && d.x_rank == 2 && d.x_dims[0] == 2 && d.x_dims[1] == 2 && d.x_size == 4);
    CHECK(d.y_rank == 0 && d.y_size == 1 && d.y_dtype == NNRT_I32);
    CHECK(floats_are(&d, wx, 12) && i32_are(d.y, wy, 3));
  }
  nnrt_dataset_free(&d);

  /* scale 0 means 1; i8 and i16 images; i32 labels as f32 targets. */
  signed char s8[2] = {-5, 7};
  unsigned char be16[4] = {0xFF, 0xFE, 0x01, 0x00}; /* -2, 256 */
  unsigned char be_i32[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 3};
  im = write_idx("i8_images.idx", 0x09, 1, (uint32_t[]){2}, s8, 2);
  lb = write_idx("i32_labels.idx", 0x0C, 1, (uint32_t[]){2}, be_i32, 8);
  rc = nnrt_load_idx(im, lb, 0, &f32, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {-5, 7}, wy[] = {-1, 3};
    CHECK(d.n == 2 && d.x_rank == 0 && d.x_size == 1 && floats_are(&d, wx, 2));
    CHECK(d.y_dtype == NNRT_F32 && d.y && memcmp(d.y, wy, sizeof wy) == 0);
  }
  nnrt_dataset_free(&d);
  im = write_idx("i16_images.idx", 0x0B, 2, (uint32_t[]){2, 1}, be16, 4);
  lb = write_idx("u8_labels2.idx", 0x08, 1, (uint32_t[]){2}, lab, 2);
  rc = nnrt_load_idx(im, lb, 1, &i32, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {-2, 256};
    CHECK(d.n == 2 && d.x_rank == 1 && d.x_dims[0] == 1 && floats_are(&d, wx, 2));
  }
  nnrt_dataset_free(&d);

  /* f32 and f64 images, f64 integral labels. */
  unsigned char bf32[8], bf64[16], lf64[16];
  float fv[2] = {1.25f, -3.5f};
  double dv[2] = {0.125, 1e10}, lv[2] = {1, 2};
  for (int i = 0; i < 2; i++) {
    uint32_t u;
    memcpy(&u, &fv[i], 4);
    put_be32(bf32 + 4 * i, u);
    uint64_t w;
    memcpy(&w, &dv[i], 8);
    put_be32(bf64 + 8 * i, (uint32_t)(w >> 32));
    put_be32(bf64 + 8 * i + 4, (uint32_t)w);
    memcpy(&w, &lv[i], 8);
    put_be32(lf64 + 8 * i, (uint32_t)(w >> 32));
    put_be32(lf64 + 8 * i + 4, (uint32_t)w);
  }
  im = write_idx("f32_images.idx", 0x0D, 2, (uint32_t[]){2, 1}, bf32, 8);
  lb = write_idx("f64_labels.idx", 0x0E, 1, (uint32_t[]){2}, lf64, 16);
  rc = nnrt_load_idx(im, lb, 2, &i32, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {2.5f, -7};
    int32_t wy[] = {1, 2};
    CHECK(d.n == 2 && floats_are(&d, wx, 2) && i32_are(d.y, wy, 2));
  }
  nnrt_dataset_free(&d);
  im = write_idx("f64_images.idx", 0x0E, 2, (uint32_t[]){2, 1}, bf64, 16);
  rc = nnrt_load_idx(im, lb, 1, &i32, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[] = {0.125f, 1e10f};
    CHECK(d.n == 2 && floats_are(&d, wx, 2));
  }
  nnrt_dataset_free(&d);
}

static void idx_bad(void) {
  char err[512];
  nnrt_dataset d;
  nnrt_label_spec ys = {NNRT_I32, 10};
  unsigned char px[16] = {0}, lab[4] = {0, 1, 2, 3};
  char good_im[1024], good_lb[1024]; /* kept: in_dir's buffers are reused */
  snprintf(good_im, sizeof good_im, "%s",
           write_idx("good_images.idx", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12));
  snprintf(good_lb, sizeof good_lb, "%s",
           write_idx("good_labels.idx", 0x08, 1, (uint32_t[]){3}, lab, 3));
  const char *p;
  int rc;

#define IDX_IMAGES_ERR(code, want)                                                                 \
  do {                                                                                             \
    rc = nnrt_load_idx(p, good_lb, 1, &ys, &d, err, sizeof err);                                   \
    EXPECT_ERR(rc, code, err, p, want, &d);                                                        \
  } while (0)
#define IDX_LABELS_ERR(code, want)                                                                 \
  do {                                                                                             \
    rc = nnrt_load_idx(good_im, p, 1, &ys, &d, err, sizeof err);                                   \
    EXPECT_ERR(rc, code, err, p, want, &d);                                                        \
  } while (0)

  p = write_bytes("magic.idx", "\x01\x00\x08\x01\0\0\0\0", 8);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: not an IDX file (bad magic: the first two bytes must be 0)");
  p = write_bytes("magic2.idx", "P6", 2);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: not an IDX file (bad magic: the first two bytes must be 0)");
  p = write_bytes("short.idx", "\0\0", 2);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: truncated header: 2 bytes, the magic needs 4");
  p = write_bytes("empty.idx", "", 0);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: truncated header: 0 bytes, the magic needs 4");
  p = write_idx("type.idx", 0x0A, 1, (uint32_t[]){3}, px, 3);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT,
                 "%P: unsupported IDX type 0x0A (expected 08, 09, 0B, 0C, 0D or 0E)");
  p = write_idx("rank0.idx", 0x08, 0, NULL, px, 1);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: IDX rank 0 is outside 1..8");
  p = write_idx("rank9.idx", 0x08, 9, (uint32_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, px, 1);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: IDX rank 9 is outside 1..8");
  p = write_bytes("trunc_header.idx", "\0\0\x08\x03\0\0\0\x03", 8);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: truncated header: 8 bytes, the 3 dims need 16");
  p = write_idx("trunc_data.idx", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 11);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: truncated data: the dims promise 12 bytes, the file has 11");
  p = write_idx("garbage.idx", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 13);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT,
                 "%P: 1 byte of trailing garbage after the 12 bytes of data the dims promise");
  p = write_idx("absurd.idx", 0x0E, 3, (uint32_t[]){0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, px, 16);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: truncated data: the dims promise more than 2^63 elements, "
                                  "the file has 16 bytes of data");
  p = write_idx("absurd2.idx", 0x0E, 2, (uint32_t[]){0xFFFFFFFF, 0xFFFF}, px, 16);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT,
                 "%P: truncated data: the dims promise 2251765453422600 bytes, the file has 16");
  p = write_idx("zero.idx", 0x08, 2, (uint32_t[]){0, 5}, px, 0);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: no samples (the first dim is 0)");
  p = write_idx("nan.idx", 0x0D, 1, (uint32_t[]){3}, (unsigned char[12]){0, 0, 0, 0, 0x7F, 0xC0},
                12);
  IDX_IMAGES_ERR(NNRT_ERR_FORMAT, "%P: element 1 is nan, not a finite number");
  p = in_dir("missing.idx");
  IDX_IMAGES_ERR(NNRT_ERR_IO, "%P: cannot open: No such file or directory");

  p = write_idx("labels_rank2.idx", 0x08, 2, (uint32_t[]){3, 1}, lab, 3);
  IDX_LABELS_ERR(NNRT_ERR_SHAPE, "%P: labels must have rank 1, not 2");
  p = write_idx("labels_count.idx", 0x08, 1, (uint32_t[]){2}, lab, 2);
  {
    char want[1100];
    snprintf(want, sizeof want, "%%P: 2 labels, but %s has 3 samples", good_im);
    IDX_LABELS_ERR(NNRT_ERR_SHAPE, want);
  }
  p = write_idx("labels_range.idx", 0x08, 1, (uint32_t[]){3}, (unsigned char[]){0, 1, 10}, 3);
  IDX_LABELS_ERR(NNRT_ERR_FORMAT, "%P: label 10 at index 2 is outside the 10 classes 0..9");
  p = write_idx("labels_neg.idx", 0x09, 1, (uint32_t[]){3}, (unsigned char[]){0, 0xFF, 1}, 3);
  IDX_LABELS_ERR(NNRT_ERR_FORMAT, "%P: label -1 at index 1 is outside the 10 classes 0..9");
  p = write_idx("labels_frac.idx", 0x0D, 1, (uint32_t[]){3},
                (unsigned char[]){0, 0, 0, 0, 0x40, 0x20, 0, 0, 0, 0, 0, 0}, 12); /* 2.5 */
  IDX_LABELS_ERR(NNRT_ERR_FORMAT, "%P: label 2.5 at index 1 is not an integer");

  /* Bad arguments. */
  nnrt_label_spec bad = {NNRT_BOOL, 0};
  rc = nnrt_load_idx(good_im, good_lb, 1, &bad, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, good_lb, "%P: label dtype 3 is neither i32 nor f32", &d);
  rc = nnrt_load_idx(good_im, good_lb, INFINITY, &ys, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, good_im, "%P: scale inf is not a finite number", &d);
  CHECK(nnrt_load_idx(good_im, good_lb, 1, NULL, &d, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_load_idx(NULL, good_lb, 1, &ys, &d, err, sizeof err) == NNRT_ERR_ARG);
  /* The good pair itself loads. */
  rc = nnrt_load_idx(good_im, good_lb, 1, &ys, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK && d.n == 3, "%s", err);
  nnrt_dataset_free(&d);
#undef IDX_IMAGES_ERR
#undef IDX_LABELS_ERR
}

/* ---- gzip-compressed IDX ---- */

/* An IDX file's bytes (header, then len data bytes) into buf. */
static size_t idx_bytes(unsigned char *buf, int type, int rank, const uint32_t *dims,
                        const void *data, size_t len) {
  size_t n = 0;
  buf[n++] = 0;
  buf[n++] = 0;
  buf[n++] = (unsigned char)type;
  buf[n++] = (unsigned char)rank;
  for (int i = 0; i < rank; i++)
    n += put_be32(buf + n, dims[i]);
  memcpy(buf + n, data, len);
  return n + len;
}

/* in[0..len) as one gzip member into out (cap bytes); its size. */
static size_t gzip_bytes(unsigned char *out, size_t cap, const void *in, size_t len) {
  z_stream z = {0};
  if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    exit(2);
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    exit(2);
  size_t n = z.total_out;
  deflateEnd(&z);
  return n;
}

static unsigned char gz_raw[1 << 21], gz_packed[1 << 21];

/* The IDX file (type, rank, dims, len data bytes) gzip-compressed, with
 * `cut` bytes cut off its end; the compressed size in *size. */
static const char *write_idx_gz(const char *name, int type, int rank, const uint32_t *dims,
                                const void *data, size_t len, size_t cut, size_t *size) {
  size_t raw = idx_bytes(gz_raw, type, rank, dims, data, len);
  size_t n = gzip_bytes(gz_packed, sizeof gz_packed, gz_raw, raw);
  if (size)
    *size = n - cut;
  return write_bytes(name, gz_packed, n - cut);
}

/* err must start with the path and then `want`. */
#define EXPECT_PREFIX(rc, code, err, path, want, d)                                                \
  do {                                                                                             \
    char want_[2048];                                                                              \
    expand_(want_, sizeof want_, want, path);                                                      \
    CHECKF((rc) == (code) && strncmp(err, want_, strlen(want_)) == 0 && is_empty(d),               \
           "rc %d (want %d)\n  got  '%s'\n  want '%s...'", rc, code, err, want_);                  \
  } while (0)

static void gz_good(void) {
  char err[512] = "";
  nnrt_dataset d;
  nnrt_label_spec i32 = {NNRT_I32, 10};
  unsigned char px[12], lab[3] = {2, 0, 9};
  for (int i = 0; i < 12; i++)
    px[i] = (unsigned char)(i * 20);
  /* Found by its magic: the names say nothing about compression. */
  const char *im = write_idx_gz("images_gz.idx", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12, 0, NULL);
  char keep_im[1024];
  snprintf(keep_im, sizeof keep_im, "%s", im);
  const char *lb = write_idx_gz("labels.gz", 0x08, 1, (uint32_t[]){3}, lab, 3, 0, NULL);
  int rc = nnrt_load_idx(keep_im, lb, 0.5, &i32, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[12];
    for (int i = 0; i < 12; i++)
      wx[i] = (float)(i * 20) * 0.5f;
    int32_t wy[] = {2, 0, 9};
    CHECK(d.n == 3 && d.x_rank == 2 && d.x_dims[0] == 2 && d.x_dims[1] == 2 && d.x_size == 4);
    CHECK(floats_are(&d, wx, 12) && i32_are(d.y, wy, 3));
  }
  nnrt_dataset_free(&d);

  /* Two members, as `cat a.gz b.gz` makes: the file is their concatenation
   * (the header and some pixels in one, the rest in the other). */
  size_t raw = idx_bytes(gz_raw, 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12);
  size_t n1 = gzip_bytes(gz_packed, sizeof gz_packed, gz_raw, 10);
  size_t n2 = gzip_bytes(gz_packed + n1, sizeof gz_packed - n1, gz_raw + 10, raw - 10);
  im = write_bytes("members.gz", gz_packed, n1 + n2);
  rc = nnrt_load_idx(im, lb, 1, &i32, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK && d.n == 3 && ((float *)d.x)[11] == 220, "%s", err);
  nnrt_dataset_free(&d);

  /* MNIST-sized samples, more than the first buffer holds: 1500 images of
   * 28x28 (1.2 MB inflated); every pixel arrives. */
  enum { N = 1500, P = 28 * 28 };
  static unsigned char big[N * P], blab[N];
  for (int i = 0; i < N * P; i++)
    big[i] = (unsigned char)((i * 7 + i / 13) % 251);
  for (int i = 0; i < N; i++)
    blab[i] = (unsigned char)(i % 10);
  im = write_idx_gz("big.gz", 0x08, 3, (uint32_t[]){N, 28, 28}, big, sizeof big, 0, NULL);
  snprintf(keep_im, sizeof keep_im, "%s", im);
  lb = write_idx_gz("big_labels.gz", 0x08, 1, (uint32_t[]){N}, blab, N, 0, NULL);
  rc = nnrt_load_idx(keep_im, lb, 1, &i32, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  if (rc == NNRT_OK) {
    bool same = d.n == N && d.x_size == P;
    for (int i = 0; same && i < N * P; i++)
      same = ((float *)d.x)[i] == (float)big[i];
    for (int i = 0; same && i < N; i++)
      same = ((int32_t *)d.y)[i] == i % 10;
    CHECK(same);
  }
  nnrt_dataset_free(&d);
}

static void gz_bad(void) {
  char err[512];
  nnrt_dataset d;
  nnrt_label_spec ys = {NNRT_I32, 10};
  unsigned char px[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  unsigned char lab[3] = {0, 1, 2};
  char good_lb[1024];
  snprintf(good_lb, sizeof good_lb, "%s",
           write_idx("gz_good_labels.idx", 0x08, 1, (uint32_t[]){3}, lab, 3));
  const char *p;
  int rc;
  size_t size;
#define GZ_ERR(code, want)                                                                         \
  do {                                                                                             \
    rc = nnrt_load_idx(p, good_lb, 1, &ys, &d, err, sizeof err);                                   \
    EXPECT_ERR(rc, code, err, p, want, &d);                                                        \
  } while (0)
#define GZ_ERR_PREFIX(code, want)                                                                  \
  do {                                                                                             \
    rc = nnrt_load_idx(p, good_lb, 1, &ys, &d, err, sizeof err);                                   \
    EXPECT_PREFIX(rc, code, err, p, want, &d);                                                     \
  } while (0)

  /* Truncated anywhere: in the trailer, in the deflate data, in the gzip
   * header itself, and all but the magic. */
  p = write_idx_gz("cut_trailer.gz", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12, 3, &size);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: truncated gzip stream: the compressed data ends after inflating 28 "
                          "bytes, before the stream's end");
  p = write_idx_gz("cut_data.gz", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12, 14, &size);
  GZ_ERR_PREFIX(NNRT_ERR_FORMAT, "%P: truncated gzip stream: the compressed data ends after");
  p = write_bytes("cut_header.gz", "\x1f\x8b\x08\x00\x00\x00", 6);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: truncated gzip stream: the compressed data ends after inflating 0 "
                          "bytes, before the stream's end");
  p = write_bytes("magic_only.gz", "\x1f\x8b", 2);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: truncated gzip stream: the compressed data ends after inflating 0 "
                          "bytes, before the stream's end");

  /* Corrupt: a wrong CRC-32 in the trailer, a deflate block of a type
   * that does not exist, a gzip header with a bad method. */
  write_idx_gz("crc.gz", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12, 0, &size);
  gz_packed[size - 6] ^= 0x40;
  p = write_bytes("crc.gz", gz_packed, size);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: corrupt gzip data after inflating 28 bytes (incorrect data check)");
  write_idx_gz("length.gz", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12, 0, &size);
  gz_packed[size - 1] ^= 0x01;
  p = write_bytes("length.gz", gz_packed, size);
  GZ_ERR(NNRT_ERR_FORMAT,
         "%P: corrupt gzip data after inflating 28 bytes (incorrect length check)");
  p = write_bytes("block.gz", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x07\x00\x00\x00", 14);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: corrupt gzip data after inflating 0 bytes (invalid block type)");
  p = write_bytes("method.gz", "\x1f\x8b\x07\x00\x00\x00\x00\x00\x00\x03\x03\x00", 12);
  GZ_ERR(NNRT_ERR_FORMAT,
         "%P: corrupt gzip data after inflating 0 bytes (unknown compression method)");

  /* Bytes after the stream that are not another member. */
  write_idx_gz("after.gz", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 12, 0, &size);
  memcpy(gz_packed + size, "junk", 4);
  p = write_bytes("after.gz", gz_packed, size + 4);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: 4 bytes of trailing garbage after the gzip stream (expected the "
                          "end of the file or another gzip member)");

  /* What it inflates to is not an IDX file. */
  size = gzip_bytes(gz_packed, sizeof gz_packed, "P6\n2 2\n255\n", 11);
  p = write_bytes("ppm.gz", gz_packed, size);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: not an IDX file (bad magic: the first two bytes of the "
                          "decompressed data must be 0)");
  size = gzip_bytes(gz_packed, sizeof gz_packed, "", 0);
  p = write_bytes("empty_inside.gz", gz_packed, size);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: truncated header: 0 bytes, the magic needs 4");

  /* Headers that promise more or less than inflates. */
  p = write_idx_gz("short_data.gz", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 11, 0, NULL);
  GZ_ERR(NNRT_ERR_FORMAT,
         "%P: truncated data: the dims promise 12 bytes, the decompressed file has 11");
  p = write_idx_gz("long_data.gz", 0x08, 3, (uint32_t[]){3, 2, 2}, px, 13, 0, NULL);
  GZ_ERR(NNRT_ERR_FORMAT,
         "%P: 1 byte of trailing garbage after the 12 bytes of data the dims promise");
  /* A promise of 2^48 bytes is refused from what inflates, never allocated. */
  p = write_idx_gz("absurd.gz", 0x0E, 2, (uint32_t[]){0xFFFFFFFF, 0xFFFF}, px, 16, 0, NULL);
  GZ_ERR(NNRT_ERR_FORMAT, "%P: truncated data: the dims promise 2251765453422600 bytes, the "
                          "decompressed file has 16");
  /* 12 bytes promised, a megabyte of zeros after them: counted, not kept. */
  static unsigned char zeros[1 << 20];
  p = write_idx_gz("bomb.gz", 0x08, 3, (uint32_t[]){3, 2, 2}, zeros, sizeof zeros, 0, NULL);
  GZ_ERR(NNRT_ERR_FORMAT,
         "%P: 1048564 bytes of trailing garbage after the 12 bytes of data the dims promise");
#undef GZ_ERR
#undef GZ_ERR_PREFIX
}

/* ---- .npy pair ---- */

static const char *write_npy(const char *name, nnrt_dtype dt, int rank, const int64_t *dims,
                             const void *data) {
  nnrt_tensor t = {.dtype = dt, .rank = rank, .data = (void *)data};
  for (int i = 0; i < rank; i++)
    t.dims[i] = dims[i];
  char err[512];
  const char *path = in_dir(name);
  if (nnrt_npy_write(path, &t, err, sizeof err) != NNRT_OK) {
    fprintf(stderr, "%s\n", err);
    exit(2);
  }
  return path;
}

static void npy_pair(void) {
  char err[512] = "";
  nnrt_dataset d;
  nnrt_label_spec cls = {NNRT_I32, 3}, reg = {NNRT_F32, 0};
  float xf[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  double xd[8] = {0.5, 1, 2, 3, 4, 5, 6, -7};
  int32_t yi[4] = {0, 2, 1, 2};
  double yd[4] = {2, 1, 0, 1};
  float yf[8] = {0.5f, 1, 2, 3, 4, 5, 6, 7};
  uint8_t yb[4] = {1, 0, 0, 1};

  const char *x = write_npy("x_f32.npy", NNRT_F32, 2, (int64_t[]){4, 3}, xf);
  const char *y = write_npy("y_i32.npy", NNRT_I32, 1, (int64_t[]){4}, yi);
  int rc = nnrt_load_npy_pair(x, y, &cls, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  CHECK(d.n == 4 && d.x_rank == 1 && d.x_dims[0] == 3 && d.x_size == 3 && floats_are(&d, xf, 12));
  CHECK(d.y_rank == 0 && d.y_size == 1 && i32_are(d.y, yi, 4));
  nnrt_dataset_free(&d);

  /* f64 x narrowed, rank 3; f64 integral labels to i32. */
  x = write_npy("x_f64.npy", NNRT_F64, 3, (int64_t[]){4, 2, 1}, xd);
  y = write_npy("y_f64.npy", NNRT_F64, 1, (int64_t[]){4}, yd);
  rc = nnrt_load_npy_pair(x, y, &cls, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wx[8] = {0.5f, 1, 2, 3, 4, 5, 6, -7};
    int32_t wy[4] = {2, 1, 0, 1};
    CHECK(d.n == 4 && d.x_rank == 2 && d.x_dims[0] == 2 && d.x_dims[1] == 1 && d.x_size == 2);
    CHECK(floats_are(&d, wx, 8) && i32_are(d.y, wy, 4));
  }
  nnrt_dataset_free(&d);

  /* i32 x kept (token ids); f32 targets [4, 2]; bool labels as f32. */
  x = write_npy("x_i32.npy", NNRT_I32, 2, (int64_t[]){4, 1}, yi);
  y = write_npy("y_f32.npy", NNRT_F32, 2, (int64_t[]){4, 2}, yf);
  rc = nnrt_load_npy_pair(x, y, &reg, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  CHECK(d.n == 4 && d.x_dtype == NNRT_I32 && i32_are(d.x, yi, 4));
  CHECK(d.y_dtype == NNRT_F32 && d.y_rank == 1 && d.y_dims[0] == 2 && d.y_size == 2 && d.y &&
        memcmp(d.y, yf, sizeof yf) == 0);
  nnrt_dataset_free(&d);
  y = write_npy("y_bool.npy", NNRT_BOOL, 1, (int64_t[]){4}, yb);
  rc = nnrt_load_npy_pair(x, y, &reg, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float wy[4] = {1, 0, 0, 1};
    CHECK(d.y && memcmp(d.y, wy, sizeof wy) == 0);
  }
  nnrt_dataset_free(&d);

  /* Errors. */
  char xg[1024], yg[1024]; /* kept: in_dir's buffers are reused */
  snprintf(xg, sizeof xg, "%s", in_dir("x_f32.npy"));
  snprintf(yg, sizeof yg, "%s", in_dir("y_i32.npy"));
  y = write_npy("y_3.npy", NNRT_I32, 1, (int64_t[]){3}, yi);
  rc = nnrt_load_npy_pair(xg, y, &cls, &d, err, sizeof err);
  {
    char want[1100];
    snprintf(want, sizeof want, "%%P: 3 labels, but %s has 4 samples", xg);
    EXPECT_ERR(rc, NNRT_ERR_SHAPE, err, y, want, &d);
  }
  x = write_npy("x_scalar.npy", NNRT_F32, 0, NULL, xf);
  rc = nnrt_load_npy_pair(x, yg, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_SHAPE, err, x, "%P: x is a scalar: expected an array [n, ...] of samples",
             &d);
  y = write_npy("y_scalar.npy", NNRT_I32, 0, NULL, yi);
  rc = nnrt_load_npy_pair(xg, y, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_SHAPE, err, y, "%P: y is a scalar: expected an array [n, ...] of labels",
             &d);
  x = write_npy("x_empty.npy", NNRT_F32, 2, (int64_t[]){0, 3}, xf);
  y = write_npy("y_empty.npy", NNRT_I32, 1, (int64_t[]){0}, yi);
  rc = nnrt_load_npy_pair(x, y, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, x, "%P: no samples (the first dim is 0)", &d);
  x = write_npy("x_bool.npy", NNRT_BOOL, 1, (int64_t[]){4}, yb);
  rc = nnrt_load_npy_pair(x, yg, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_SHAPE, err, x, "%P: x has dtype bool: expected f32, f64 or i32", &d);
  float xnan[4] = {0, 1, NAN, 2};
  x = write_npy("x_nan.npy", NNRT_F32, 1, (int64_t[]){4}, xnan);
  rc = nnrt_load_npy_pair(x, yg, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, x, "%P: element 2 is nan, not a finite number", &d);
  double xbig[4] = {0, 1e300, 0, 0};
  x = write_npy("x_big.npy", NNRT_F64, 1, (int64_t[]){4}, xbig);
  rc = nnrt_load_npy_pair(x, yg, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, x, "%P: element 1 (1e+300) does not fit in f32", &d);
  double yfrac[4] = {0, 0.5, 1, 1};
  y = write_npy("y_frac.npy", NNRT_F64, 1, (int64_t[]){4}, yfrac);
  rc = nnrt_load_npy_pair(xg, y, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, y, "%P: label 0.5 at index 1 is not an integer", &d);
  int32_t yout[4] = {0, 1, 2, 3};
  y = write_npy("y_range.npy", NNRT_I32, 1, (int64_t[]){4}, yout);
  rc = nnrt_load_npy_pair(xg, y, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, y, "%P: label 3 at index 3 is outside the 3 classes 0..2",
             &d);
  double ybig[4] = {0, 0, 0, 1e10};
  y = write_npy("y_big.npy", NNRT_F64, 1, (int64_t[]){4}, ybig);
  rc = nnrt_load_npy_pair(xg, y, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, y, "%P: label 1e+10 at index 3 does not fit in i32", &d);
  float ynan[4] = {0, 0, NAN, 0};
  y = write_npy("y_nan.npy", NNRT_F32, 1, (int64_t[]){4}, ynan);
  rc = nnrt_load_npy_pair(xg, y, &reg, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, y, "%P: label nan at index 2 is not a finite number", &d);
  /* nnrt_npy_read's own errors come through as they are. */
  x = in_dir("missing.npy");
  rc = nnrt_load_npy_pair(x, yg, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_IO, err, x, "%P: cannot open: No such file or directory", &d);
  y = write_text("y_text.npy", "not numpy");
  rc = nnrt_load_npy_pair(xg, y, &cls, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, y, "%P: not a .npy file (bad magic)", &d);
  nnrt_label_spec bad = {NNRT_F64, 0};
  rc = nnrt_load_npy_pair(xg, yg, &bad, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, yg, "%P: label dtype 1 is neither i32 nor f32", &d);
  CHECK(nnrt_load_npy_pair(xg, yg, NULL, &d, err, sizeof err) == NNRT_ERR_ARG);
}

/* ---- text ---- */

static void text(void) {
  char err[512] = "";
  nnrt_dataset d;
  const char *p = write_text("hello.txt", "hello world\n");
  int rc = nnrt_load_text(p, 3, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  const char vocab[] = "\n dehlorw";
  CHECK(d.vocab_size == 9 && d.vocab && memcmp(d.vocab, vocab, 10) == 0);
  CHECK(d.n == 3 && d.x_dtype == NNRT_I32 && d.y_dtype == NNRT_I32);
  CHECK(d.x_rank == 1 && d.x_dims[0] == 3 && d.x_size == 3 && d.y_rank == 1 && d.y_size == 3);
  if (rc == NNRT_OK) {
    /* Windows "hell", "o wo", "rld\n". */
    const char *windows = "hello world\n";
    bool ok = true;
    for (int k = 0; k < 3; k++)
      for (int i = 0; i < 3; i++) {
        int32_t xt = ((int32_t *)d.x)[k * 3 + i], yt = ((int32_t *)d.y)[k * 3 + i];
        ok = ok && xt >= 0 && xt < 9 && yt >= 0 && yt < 9 && d.vocab[xt] == windows[k * 4 + i] &&
             d.vocab[yt] == windows[k * 4 + i + 1];
      }
    CHECK(ok);
  }
  nnrt_dataset_free(&d);

  /* Leftover bytes are dropped from the samples, kept in the vocabulary;
   * every byte value works. */
  unsigned char bin[7] = {255, 0, 7, 0, 255, 9, 200};
  p = write_bytes("bin.txt", bin, sizeof bin);
  rc = nnrt_load_text(p, 2, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    const char v[] = {0, 7, 9, (char)200, (char)255};
    int32_t wx[] = {4, 0, 0, 4}, wy[] = {0, 1, 4, 2};
    CHECK(d.n == 2 && d.vocab_size == 5 && memcmp(d.vocab, v, 5) == 0);
    CHECK(i32_are(d.x, wx, 4) && i32_are(d.y, wy, 4));
  }
  nnrt_dataset_free(&d);

  /* Exactly one window. */
  p = write_text("one.txt", "abc");
  rc = nnrt_load_text(p, 2, &d, err, sizeof err);
  CHECKF(rc == NNRT_OK && d.n == 1, "%s", err);
  nnrt_dataset_free(&d);

  rc = nnrt_load_text(p, 3, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, p,
             "%P: 3 bytes is shorter than one window of seq + 1 = 4 bytes", &d);
  rc = nnrt_load_text(p, INT64_MAX, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, p,
             "%P: 3 bytes is shorter than one window of seq + 1 = 9223372036854775808 bytes", &d);
  p = write_text("empty.txt", "");
  rc = nnrt_load_text(p, 1, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_FORMAT, err, p,
             "%P: 0 bytes is shorter than one window of seq + 1 = 2 bytes", &d);
  rc = nnrt_load_text(p, 0, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_ARG, err, p, "%P: sequence length 0 is not positive", &d);
  p = in_dir("missing.txt");
  rc = nnrt_load_text(p, 4, &d, err, sizeof err);
  EXPECT_ERR(rc, NNRT_ERR_IO, err, p, "%P: cannot open: No such file or directory", &d);
  CHECK(nnrt_load_text(NULL, 4, &d, err, sizeof err) == NNRT_ERR_ARG);
}

/* ---- augmentation ---- */

/* n images [c, h, w] whose pixel values say where they came from:
 * sample * 1000 + (ch * h + y) * w + x + 1 (never 0, the fill). */
static nnrt_dataset image_set(int64_t n, int64_t c, int64_t h, int64_t w) {
  nnrt_dataset d = {.n = n,
                    .x_dtype = NNRT_F32,
                    .y_dtype = NNRT_I32,
                    .x_rank = 3,
                    .x_dims = {c, h, w},
                    .x_size = c * h * w,
                    .y_size = 1};
  float *x = malloc((size_t)(n * d.x_size) * sizeof *x);
  int32_t *y = calloc((size_t)n, sizeof *y);
  for (int64_t i = 0; i < n * d.x_size; i++)
    x[i] = (float)((i / d.x_size) * 1000 + i % d.x_size + 1);
  d.x = x;
  d.y = y;
  return d;
}

/* The batch of samples idx, gathered and augmented. */
static float *augmented(const nnrt_augment *a, const nnrt_dataset *d, uint64_t seed, int64_t epoch,
                        const int64_t *idx, int64_t count) {
  float *x = malloc((size_t)(count * d->x_size) * sizeof *x);
  char err[256] = "";
  nnrt_dataset_gather(d, idx, count, x, NULL);
  int rc = nnrt_augment_batch(a, d, seed, epoch, idx, count, x, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  return x;
}

/* The documented draws (nnrt_data.h), written out again here. */
static void reference_draw(uint64_t seed, int64_t epoch, int64_t index, uint32_t w[8]) {
  uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  for (uint32_t b = 0; b < 2; b++) {
    uint32_t ctr[4] = {(uint32_t)index, (uint32_t)((uint64_t)index >> 32), (uint32_t)epoch,
                       (uint32_t)((uint64_t)epoch >> 32) * 2 + b};
    nnrt_philox4x32(ctr, key, w + 4 * b);
  }
}

static int64_t below(uint32_t w, int64_t n) { return (int64_t)(((uint64_t)w * (uint64_t)n) >> 32); }

/* Pixel (ch, y, x) of sample i moved by (my, mx), zero from outside. */
static float moved(const nnrt_dataset *d, int64_t i, int64_t ch, int64_t y, int64_t x, int64_t my,
                   int64_t mx) {
  int64_t h = d->x_dims[1], w = d->x_dims[2];
  int64_t sy = y - my, sx = x - mx;
  if (sy < 0 || sy >= h || sx < 0 || sx >= w)
    return 0;
  return ((const float *)d->x)[i * d->x_size + (ch * h + sy) * w + sx];
}

static void augment(void) {
  enum { N = 40, C = 2, H = 5, W = 6 };
  nnrt_dataset d = image_set(N, C, H, W);
  int64_t idx[N];
  for (int i = 0; i < N; i++)
    idx[i] = (i * 7) % N; /* some order other than the data set's */
  const int64_t S = C * H * W;

  /* A crop alone: each sample is its image moved by crop - offset, the
   * offsets drawn as documented; and the moves vary over the samples. */
  nnrt_augment crop = {.crop = 2};
  float *x = augmented(&crop, &d, 11, 3, idx, N);
  bool exact = true, varied = false;
  for (int k = 0; k < N; k++) {
    uint32_t w[8];
    reference_draw(11, 3, idx[k], w);
    int64_t my = 2 - below(w[0], 5), mx = 2 - below(w[1], 5);
    varied = varied || my != 2 - below(0, 5) || mx != my;
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t y = 0; y < H; y++)
        for (int64_t xx = 0; xx < W; xx++)
          exact = exact && x[k * S + (ch * H + y) * W + xx] == moved(&d, idx[k], ch, y, xx, my, mx);
  }
  CHECK(exact && varied);
  free(x);

  /* A shift alone, likewise from words 2 and 3. */
  nnrt_augment shift = {.shift = 1};
  x = augmented(&shift, &d, 11, 3, idx, N);
  exact = true;
  for (int k = 0; k < N; k++) {
    uint32_t w[8];
    reference_draw(11, 3, idx[k], w);
    int64_t my = below(w[2], 3) - 1, mx = below(w[3], 3) - 1;
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t y = 0; y < H; y++)
        for (int64_t xx = 0; xx < W; xx++)
          exact = exact && x[k * S + (ch * H + y) * W + xx] == moved(&d, idx[k], ch, y, xx, my, mx);
  }
  CHECK(exact);
  free(x);

  /* hflip = 1 mirrors every image; hflip = 0.5 about half, those whose
   * word 4 is below 2^31, and leaves the others as they were. */
  nnrt_augment flip = {.hflip = 1};
  x = augmented(&flip, &d, 5, 0, idx, N);
  exact = true;
  for (int k = 0; k < N; k++)
    for (int64_t p = 0; p < S; p++)
      exact =
          exact && x[k * S + p] == moved(&d, idx[k], p / (H * W), p / W % H, W - 1 - p % W, 0, 0);
  CHECK(exact);
  free(x);
  nnrt_augment half = {.hflip = 0.5};
  x = augmented(&half, &d, 5, 0, idx, N);
  exact = true;
  int flipped = 0;
  for (int k = 0; k < N; k++) {
    uint32_t w[8];
    reference_draw(5, 0, idx[k], w);
    bool f = w[4] < 0x80000000u;
    flipped += f;
    for (int64_t p = 0; p < S; p++)
      exact = exact && x[k * S + p] == moved(&d, idx[k], p / (H * W), p / W % H,
                                             f ? W - 1 - p % W : p % W, 0, 0);
  }
  CHECKF(exact && flipped > 5 && flipped < N - 5, "flipped %d of %d", flipped, N);
  free(x);

  /* All three: the same seed and epoch give the same bits, whatever the
   * batch a sample is in; another epoch or seed gives other images. */
  nnrt_augment all = {.crop = 2, .shift = 1, .hflip = 0.5};
  float *a = augmented(&all, &d, 9, 1, idx, N);
  float *b = augmented(&all, &d, 9, 1, idx, N);
  CHECK(memcmp(a, b, (size_t)(N * S) * sizeof *a) == 0);
  float *one = augmented(&all, &d, 9, 1, idx + 17, 1);
  CHECK(memcmp(one, a + 17 * S, (size_t)S * sizeof *a) == 0);
  free(one);
  float *e2 = augmented(&all, &d, 9, 2, idx, N);
  float *s2 = augmented(&all, &d, 10, 1, idx, N);
  int same_e = 0, same_s = 0;
  for (int k = 0; k < N; k++) {
    same_e += memcmp(a + k * S, e2 + k * S, (size_t)S * sizeof *a) == 0;
    same_s += memcmp(a + k * S, s2 + k * S, (size_t)S * sizeof *a) == 0;
  }
  CHECKF(same_e < N / 4 && same_s < N / 4, "same across epochs %d, seeds %d of %d", same_e, same_s,
         N);
  free(a);
  free(b);
  free(e2);
  free(s2);

  /* Blank pixels take the fill of their position. */
  float fill[C * H * W];
  for (int64_t p = 0; p < S; p++)
    fill[p] = -0.5f - (float)p;
  nnrt_augment filled = {.crop = 3, .fill = fill};
  x = augmented(&filled, &d, 11, 3, idx, N);
  exact = true;
  for (int k = 0; k < N; k++) {
    uint32_t w[8];
    reference_draw(11, 3, idx[k], w);
    int64_t my = 3 - below(w[0], 7), mx = 3 - below(w[1], 7);
    for (int64_t p = 0; p < S; p++) {
      float v = moved(&d, idx[k], p / (H * W), p / W % H, p % W, my, mx);
      exact = exact && x[k * S + p] == (v == 0 ? fill[p] : v);
    }
  }
  CHECK(exact);
  free(x);

  /* Settings that do nothing leave the batch alone; errors. */
  nnrt_augment none = {0};
  CHECK(!nnrt_augment_enabled(&none) && !nnrt_augment_enabled(NULL));
  x = augmented(&none, &d, 1, 1, idx, N);
  exact = true;
  for (int k = 0; k < N; k++)
    exact = exact && memcmp(x + k * S, (float *)d.x + idx[k] * S, (size_t)S * sizeof *x) == 0;
  CHECK(exact);
  free(x);
  char err[512];
  CHECK(nnrt_augment_check(&all, &d, err, sizeof err) == NNRT_OK);
  nnrt_dataset flat = d;
  flat.x_rank = 1;
  flat.x_dims[0] = S;
  int rc = nnrt_augment_check(&crop, &flat, err, sizeof err);
  CHECKF(rc == NNRT_ERR_SHAPE &&
             !strcmp(err, "random_crop needs image data, f32 samples [H, W] or [C, H, W], but "
                          "each sample is f32 [60]; give the data section 'image = [C, H, W]'"),
         "%s", err);
  flat.x_dtype = NNRT_I32;
  rc = nnrt_augment_check(&flip, &flat, err, sizeof err);
  CHECKF(rc == NNRT_ERR_SHAPE && !strncmp(err, "hflip needs image data", 22), "%s", err);
  nnrt_augment bad = {.hflip = 1.5};
  rc = nnrt_augment_check(&bad, &d, err, sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && !strcmp(err, "augment: random_crop 0 and shift 0 must be >= 0 and "
                                            "hflip 1.5 in [0, 1]"),
         "%s", err);
  nnrt_dataset_free(&d);
}

/* ---- epochs, split, gather, stats ---- */

static bool is_permutation(const int64_t *perm, int64_t n) {
  char *seen = calloc((size_t)n + 1, 1);
  bool ok = true;
  for (int64_t i = 0; i < n && ok; i++) {
    ok = perm[i] >= 0 && perm[i] < n && !seen[perm[i]];
    if (ok)
      seen[perm[i]] = 1;
  }
  free(seen);
  return ok;
}

/* The documented rule, written out again. */
static void reference_order(int64_t n, uint64_t seed, int64_t epoch, int64_t *perm) {
  nnrt_rng r;
  nnrt_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * ((uint64_t)epoch + 2)));
  for (int64_t i = 0; i < n; i++)
    perm[i] = i;
  for (int64_t i = n - 1; i >= 1; i--) {
    int64_t j = (int64_t)nnrt_rng_below(&r, (uint64_t)i + 1);
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

static void epochs(void) {
  enum { N = 1000 };
  static int64_t a[N], b[N], c[N];
  nnrt_epoch_order(N, 42, 0, false, a);
  bool identity = true;
  for (int64_t i = 0; i < N; i++)
    identity = identity && a[i] == i;
  CHECK(identity);

  nnrt_epoch_order(N, 42, 0, true, a);
  nnrt_epoch_order(N, 42, 0, true, b);
  CHECK(is_permutation(a, N));
  CHECK(memcmp(a, b, sizeof a) == 0);
  reference_order(N, 42, 0, c);
  CHECK(memcmp(a, c, sizeof a) == 0);
  nnrt_epoch_order(N, 42, 1, true, b);
  CHECK(is_permutation(b, N) && memcmp(a, b, sizeof a) != 0);
  nnrt_epoch_order(N, 43, 0, true, b);
  CHECK(is_permutation(b, N) && memcmp(a, b, sizeof a) != 0);
  nnrt_epoch_order(N, 42, -1, true, b);
  CHECK(is_permutation(b, N) && memcmp(a, b, sizeof a) != 0);
  /* Resuming at epoch 7 gives what a run through epochs 0..7 saw. */
  for (int64_t e = 0; e <= 7; e++)
    nnrt_epoch_order(N, 9, e, true, a);
  nnrt_epoch_order(N, 9, 7, true, b);
  CHECK(memcmp(a, b, sizeof a) == 0);
  /* Not the identity and not (much) correlated with it. */
  int64_t fixed = 0;
  for (int64_t i = 0; i < N; i++)
    fixed += a[i] == i;
  CHECKF(fixed < 10, "%lld fixed points", (long long)fixed);
  /* Every position takes every value about equally often (n = 3). */
  int counts[3][3] = {{0}};
  for (int64_t e = 0; e < 3000; e++) {
    int64_t p3[3];
    nnrt_epoch_order(3, 5, e, true, p3);
    CHECK(is_permutation(p3, 3));
    for (int i = 0; i < 3; i++)
      counts[i][p3[i]]++;
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      CHECKF(counts[i][j] > 850 && counts[i][j] < 1150, "position %d value %d: %d", i, j,
             counts[i][j]);
  int64_t one = 7;
  nnrt_epoch_order(1, 1, 1, true, &one);
  CHECK(one == 0);
  nnrt_epoch_order(0, 1, 1, true, NULL); /* nothing to do */
}

/* x[i] = {i, i + 0.5}, y[i] = i. */
static nnrt_dataset make_rows(int64_t n) {
  nnrt_dataset d = {.n = n,
                    .x_dtype = NNRT_F32,
                    .y_dtype = NNRT_I32,
                    .x_rank = 1,
                    .x_dims = {2},
                    .x_size = 2,
                    .y_size = 1};
  d.x = malloc((size_t)n * 2 * sizeof(float));
  d.y = malloc((size_t)n * sizeof(int32_t));
  for (int64_t i = 0; i < n; i++) {
    ((float *)d.x)[2 * i] = (float)i;
    ((float *)d.x)[2 * i + 1] = (float)i + 0.5f;
    ((int32_t *)d.y)[i] = (int32_t)i;
  }
  return d;
}

static bool rows_consistent(const nnrt_dataset *d) {
  for (int64_t i = 0; i < d->n; i++) {
    int32_t k = ((int32_t *)d->y)[i];
    if (((float *)d->x)[2 * i] != (float)k || ((float *)d->x)[2 * i + 1] != (float)k + 0.5f)
      return false;
  }
  return true;
}

/* By position: the last round(n * f) rows, in order, are validation. */
static void split_tail(void) {
  char err[512] = "";
  nnrt_dataset all = make_rows(10), tr, va;
  int rc = nnrt_dataset_split_tail(&all, 0.25, &tr, &va, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  CHECK(is_empty(&all) && tr.n == 7 && va.n == 3 && rows_consistent(&tr) && rows_consistent(&va));
  bool ok = true;
  for (int i = 0; i < 7; i++)
    ok = ok && ((int32_t *)tr.y)[i] == i;
  for (int i = 0; i < 3; i++)
    ok = ok && ((int32_t *)va.y)[i] == 7 + i;
  CHECK(ok);
  nnrt_dataset_free(&tr);
  nnrt_dataset_free(&va);
  all = make_rows(4);
  rc = nnrt_dataset_split_tail(&all, 0.9, &tr, &va, err, sizeof err);
  CHECK(rc == NNRT_ERR_ARG && all.n == 4);
  nnrt_dataset_free(&all);
}

static void split(void) {
  char err[512] = "";
  nnrt_dataset all = make_rows(10), tr, va;
  int rc = nnrt_dataset_split(&all, 0.2, 77, &tr, &va, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  CHECK(is_empty(&all) && all.x_dtype == 0);
  CHECK(tr.n == 8 && va.n == 2 && rows_consistent(&tr) && rows_consistent(&va));
  CHECK(tr.x_size == 2 && tr.x_rank == 1 && tr.x_dims[0] == 2 && va.y_dtype == NNRT_I32);
  {
    int64_t perm[10];
    nnrt_epoch_order(10, 77, -1, true, perm);
    bool ok = true;
    for (int i = 0; i < 8; i++)
      ok = ok && ((int32_t *)tr.y)[i] == perm[i];
    for (int i = 0; i < 2; i++)
      ok = ok && ((int32_t *)va.y)[i] == perm[8 + i];
    CHECK(ok);
  }
  /* The same seed gives the same split; another seed another one. */
  nnrt_dataset all2 = make_rows(10), tr2, va2;
  rc = nnrt_dataset_split(&all2, 0.2, 77, &tr2, &va2, err, sizeof err);
  CHECK(rc == NNRT_OK && memcmp(tr.y, tr2.y, 8 * 4) == 0 && memcmp(va.y, va2.y, 2 * 4) == 0);
  nnrt_dataset_free(&tr2);
  nnrt_dataset_free(&va2);
  all2 = make_rows(100);
  nnrt_dataset all3 = make_rows(100), tr3, va3;
  rc = nnrt_dataset_split(&all2, 0.3, 1, &tr2, &va2, err, sizeof err);
  CHECK(rc == NNRT_OK && tr2.n == 70 && va2.n == 30);
  rc = nnrt_dataset_split(&all3, 0.3, 2, &tr3, &va3, err, sizeof err);
  CHECK(rc == NNRT_OK && memcmp(va2.y, va3.y, 30 * 4) != 0);
  nnrt_dataset_free(&tr2);
  nnrt_dataset_free(&va2);
  nnrt_dataset_free(&tr3);
  nnrt_dataset_free(&va3);
  nnrt_dataset_free(&tr);
  nnrt_dataset_free(&va);

  /* Sizes: round(n * fraction), at least 1. */
  all = make_rows(10);
  rc = nnrt_dataset_split(&all, 0.01, 3, &tr, &va, err, sizeof err);
  CHECK(rc == NNRT_OK && tr.n == 9 && va.n == 1);
  nnrt_dataset_free(&tr);
  nnrt_dataset_free(&va);
  all = make_rows(10);
  rc = nnrt_dataset_split(&all, 0.25, 3, &tr, &va, err, sizeof err); /* 2.5 rounds to 3 */
  CHECK(rc == NNRT_OK && tr.n == 7 && va.n == 3);
  nnrt_dataset_free(&tr);
  nnrt_dataset_free(&va);

  /* Fraction 0: all to train in order, val empty with the same shape. */
  all = make_rows(5);
  void *x = all.x;
  rc = nnrt_dataset_split(&all, 0, 3, &tr, &va, err, sizeof err);
  CHECK(rc == NNRT_OK && tr.n == 5 && tr.x == x && va.n == 0 && va.x == NULL && va.y == NULL);
  CHECK(va.x_size == 2 && va.y_dtype == NNRT_I32 && is_empty(&all));
  nnrt_dataset_free(&tr);
  nnrt_dataset_free(&va);

  /* Errors leave everything as it was. */
  all = make_rows(10);
  nnrt_dataset keep = all;
  tr = va = (nnrt_dataset){.n = 123};
  rc = nnrt_dataset_split(&all, 0.95, 3, &tr, &va, err, sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && strcmp(err, "dataset split: fraction 0.95 of 10 samples leaves "
                                           "none for training (validation takes 10)") == 0,
         "%s", err);
  CHECK(memcmp(&all, &keep, sizeof all) == 0 && tr.n == 123 && va.n == 123);
  rc = nnrt_dataset_split(&all, 1, 3, &tr, &va, err, sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && strcmp(err, "dataset split: fraction 1 is outside [0, 1)") == 0,
         "%s", err);
  rc = nnrt_dataset_split(&all, -0.1, 3, &tr, &va, err, sizeof err);
  CHECK(rc == NNRT_ERR_ARG);
  rc = nnrt_dataset_split(&all, NAN, 3, &tr, &va, err, sizeof err);
  CHECK(rc == NNRT_ERR_ARG);
  rc = nnrt_dataset_split(&all, 0.5, 3, &tr, &tr, err, sizeof err);
  CHECK(rc == NNRT_ERR_ARG);
  CHECK(memcmp(&all, &keep, sizeof all) == 0);
  nnrt_dataset_free(&all);
  all = make_rows(1);
  rc = nnrt_dataset_split(&all, 0.5, 3, &tr, &va, err, sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && strcmp(err, "dataset split: fraction 0.5 of 1 sample leaves none "
                                           "for training (validation takes 1)") == 0,
         "%s", err);
  nnrt_dataset_free(&all);
  rc = nnrt_dataset_split(&all, 0.5, 3, &tr, &va, err, sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && strcmp(err, "dataset split: the data set has no samples") == 0, "%s",
         err);

  /* train may be the input itself; the vocabulary goes to both. */
  const char *p = write_text("split.txt", "abcdefghijklmnopqrstuvwxyz");
  rc = nnrt_load_text(p, 1, &all, err, sizeof err);
  CHECKF(rc == NNRT_OK && all.n == 13, "%s", err);
  rc = nnrt_dataset_split(&all, 0.3, 5, &all, &va, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  CHECK(all.n == 9 && va.n == 4 && all.vocab_size == 26 && va.vocab_size == 26);
  CHECK(all.vocab && va.vocab && all.vocab != va.vocab && memcmp(va.vocab, "abcdefghij", 10) == 0);
  {
    bool ok = true; /* each window is two consecutive letters */
    for (int64_t i = 0; i < all.n; i++)
      ok = ok && ((int32_t *)all.y)[i] == ((int32_t *)all.x)[i] + 1;
    for (int64_t i = 0; i < va.n; i++)
      ok = ok && ((int32_t *)va.y)[i] == ((int32_t *)va.x)[i] + 1;
    CHECK(ok);
  }
  nnrt_dataset_free(&all);
  nnrt_dataset_free(&va);
}

static void gather_and_stats(void) {
  nnrt_dataset d = make_rows(5);
  int64_t idx[] = {3, 1, 3, 4};
  float x[8];
  int32_t y[4];
  nnrt_dataset_gather(&d, idx, 4, x, y);
  {
    float wx[] = {3, 3.5f, 1, 1.5f, 3, 3.5f, 4, 4.5f};
    int32_t wy[] = {3, 1, 3, 4};
    CHECK(memcmp(x, wx, sizeof x) == 0 && memcmp(y, wy, sizeof y) == 0);
  }
  float x2[2] = {-1, -1};
  nnrt_dataset_gather(&d, idx, 1, x2, NULL); /* x only */
  CHECK(x2[0] == 3 && x2[1] == 3.5f);
  nnrt_dataset_free(&d);
  nnrt_dataset_free(&d); /* again, on the zeroed set */
  nnrt_dataset_free(NULL);

  /* Stats: [[1, 10], [3, 10], [5, 10]]. */
  float xs[] = {1, 10, 3, 10, 5, 10};
  d = (nnrt_dataset){.n = 3, .x_dtype = NNRT_F32, .x_rank = 1, .x_dims = {2}, .x_size = 2};
  d.x = malloc(sizeof xs);
  memcpy(d.x, xs, sizeof xs);
  float mean[2], sd[2];
  nnrt_dataset_stats(&d, mean, sd);
  CHECK_NEAR(mean[0], 3, 1e-6);
  CHECK_NEAR(mean[1], 10, 1e-6);
  CHECK_NEAR(sd[0], sqrt(8.0 / 3.0), 1e-6);
  CHECK_NEAR(sd[1], 0, 1e-6);
  nnrt_dataset_normalize(&d, mean, sd);
  float *xn = d.x;
  CHECK_NEAR(xn[0], -2 / sqrt(8.0 / 3.0), 1e-6);
  CHECK_NEAR(xn[2], 0, 1e-6);
  CHECK_NEAR(xn[4], 2 / sqrt(8.0 / 3.0), 1e-6);
  CHECK(xn[1] == 0 && xn[3] == 0 && xn[5] == 0); /* std 0 counts as 1 */
  nnrt_dataset_stats(&d, mean, sd);
  CHECK_NEAR(mean[0], 0, 1e-6);
  CHECK_NEAR(sd[0], 1, 1e-6);
  nnrt_dataset_free(&d);

  /* More features than one block, large offsets (no cancellation). */
  enum { F = 600, R = 50 };
  d = (nnrt_dataset){.n = R, .x_dtype = NNRT_F32, .x_rank = 1, .x_dims = {F}, .x_size = F};
  d.x = malloc((size_t)F * R * sizeof(float));
  for (int i = 0; i < R; i++)
    for (int j = 0; j < F; j++)
      ((float *)d.x)[i * F + j] = 1e4f + (float)j + (i % 2 ? 1.0f : -1.0f) * (float)(j % 3);
  float *m = malloc(F * sizeof(float)), *s = malloc(F * sizeof(float));
  nnrt_dataset_stats(&d, m, s);
  bool ok = true;
  for (int j = 0; j < F; j++)
    ok = ok && fabsf(m[j] - (1e4f + (float)j)) < 1e-3f && fabsf(s[j] - (float)(j % 3)) < 1e-4f;
  CHECK(ok);
  free(m);
  free(s);
  nnrt_dataset_free(&d);

  /* Not f32, or no samples: mean 0, std 1. */
  d = (nnrt_dataset){.n = 0, .x_dtype = NNRT_F32, .x_size = 2};
  mean[0] = sd[0] = 5;
  nnrt_dataset_stats(&d, mean, sd);
  CHECK(mean[0] == 0 && sd[0] == 1 && mean[1] == 0 && sd[1] == 1);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_data csv|idx|gz|npy|text|dataset|augment DIR\n");
    return 2;
  }
  test_dir = argv[2];
  const char *mode = argv[1];
  if (strcmp(mode, "csv") == 0) {
    csv_good();
    csv_bad();
    return check_report("test_data csv");
  }
  if (strcmp(mode, "idx") == 0) {
    idx_good();
    idx_bad();
    return check_report("test_data idx");
  }
  if (strcmp(mode, "gz") == 0) {
    gz_good();
    gz_bad();
    return check_report("test_data gz");
  }
  if (strcmp(mode, "npy") == 0) {
    npy_pair();
    return check_report("test_data npy");
  }
  if (strcmp(mode, "text") == 0) {
    text();
    return check_report("test_data text");
  }
  if (strcmp(mode, "dataset") == 0) {
    epochs();
    split();
    split_tail();
    gather_and_stats();
    return check_report("test_data dataset");
  }
  if (strcmp(mode, "augment") == 0) {
    augment();
    return check_report("test_data augment");
  }
  fprintf(stderr, "unknown mode '%s'\n", mode);
  return 2;
}
