/* test_npz.c - nnrt_npz_read and nnrt_load_npz on what Inputs/npz_tool.py
 * wrote with NumPy.
 *
 *   test_npz read DIR    every array of the good archives (np.savez,
 *                        np.savez_compressed, written to a file and to an
 *                        unseekable stream, large members, a comment)
 *                        has NumPy's dtype, shape and values; each broken
 *                        archive gives its error code and a message
 *                        "<path>: <problem>" or "<path>: KEY.npy: <problem>"
 *   test_npz errors DIR  arguments, missing files, directories, small
 *                        message buffers
 *   test_npz data DIR    nnrt_load_npz: the same data set as the .npy pair
 *                        of the same arrays, other keys, and the pair
 *                        loader's checks with the members' names
 *
 * Element i of a float array is i * 0.25 - 1, of an int array i * 3 - 7, of
 * a bool array i % 3 == 0 (as in Inputs/npy_tool.py).
 */
#include "check.h"
#include "nnrt.h"
#include "nnrt_data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { FLOATS, INTS, BOOLS, ZEROS } Values;

static double expected(Values v, int64_t i) {
  switch (v) {
  case FLOATS:
    return (double)i * 0.25 - 1;
  case INTS:
    return (double)(i * 3 - 7);
  case BOOLS:
    return i % 3 == 0;
  case ZEROS:
    break;
  }
  return 0;
}

static double element(const nnrt_tensor *t, int64_t i) {
  switch (t->dtype) {
  case NNRT_F32:
    return ((const float *)t->data)[i];
  case NNRT_F64:
    return ((const double *)t->data)[i];
  case NNRT_I32:
    return ((const int32_t *)t->data)[i];
  case NNRT_BOOL:
    return ((const uint8_t *)t->data)[i];
  }
  return 0;
}

typedef struct {
  const char *key;
  nnrt_dtype dt;
  Values values;
  int rank;
  int64_t dims[NNRT_MAX_RANK];
} Array;

/* The members of stored.npz and compressed.npz (i8 is read as i32). */
static const Array members[] = {
    {"a", NNRT_F32, FLOATS, 2, {3, 4}}, {"b", NNRT_F64, FLOATS, 2, {2, 3}},
    {"c", NNRT_I32, INTS, 1, {5}},      {"d", NNRT_I32, INTS, 2, {2, 3}},
    {"e", NNRT_BOOL, BOOLS, 1, {7}},    {"s", NNRT_F64, FLOATS, 0, {0}},
};

/* Reads file's array a and compares it with NumPy's. Float values are
 * compared exactly: they were computed in f64 and rounded once. */
static void expect_array(const char *file, const Array *a) {
  nnrt_tensor t;
  char err[512] = "";
  int rc = nnrt_npz_read(in_dir(file), a->key, &t, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s %s: %s", file, a->key, err);
  if (rc != NNRT_OK)
    return;
  bool same = t.dtype == a->dt && t.rank == a->rank;
  for (int i = 0; same && i < t.rank; i++)
    same = t.dims[i] == a->dims[i];
  CHECKF(same, "%s %s: dtype %d rank %d", file, a->key, (int)t.dtype, t.rank);
  int64_t n = nnrt_tensor_numel(&t), wrong = 0;
  for (int64_t i = 0; same && i < n; i++)
    wrong += element(&t, i) !=
             (a->dt == NNRT_F32 ? (float)expected(a->values, i) : expected(a->values, i));
  CHECKF(wrong == 0, "%s %s: %lld of %lld values differ", file, a->key, (long long)wrong,
         (long long)n);
  nnrt_tensor_free(&t);

  /* Its dtype and shape alone, from the header. */
  rc = nnrt_npz_shape(in_dir(file), a->key, &t, err, sizeof err);
  same = rc == NNRT_OK && !t.data && t.dtype == a->dt && t.rank == a->rank;
  for (int i = 0; same && i < t.rank; i++)
    same = t.dims[i] == a->dims[i];
  CHECKF(same, "%s %s: shape only: rc %d, dtype %d rank %d: %s", file, a->key, rc, (int)t.dtype,
         t.rank, err);
}

static void read_good(void) {
  static const char *const files[] = {"stored.npz", "compressed.npz", "unseekable_stored.npz",
                                      "unseekable_compressed.npz"};
  for (size_t f = 0; f < sizeof files / sizeof *files; f++)
    for (size_t i = 0; i < sizeof members / sizeof *members; i++)
      expect_array(files[f], &members[i]);
  expect_array("big.npz", &(Array){"big", NNRT_F64, FLOATS, 2, {300, 1000}});
  expect_array("big.npz", &(Array){"zeros", NNRT_F32, ZEROS, 2, {1000, 1000}});
  expect_array("positional.npz", &(Array){"arr_0", NNRT_I32, INTS, 1, {4}});
  expect_array("positional.npz", &(Array){"arr_1", NNRT_F32, FLOATS, 1, {2}});
  expect_array("comment.npz", &members[0]);
}

typedef struct {
  const char *file, *key;
  int code;
  /* What follows "<path>: " in the message; one '*' stands for any text
   * (numbers that depend on zlib's or numpy's version). */
  const char *problem;
} Bad;

static const Bad bad_files[] = {
    {"stored.npz", "x", NNRT_ERR_FORMAT, "no array 'x' (it has: a, b, c, d, e, s)"},
    {"positional.npz", "a", NNRT_ERR_FORMAT, "no array 'a' (it has: arr_0, arr_1)"},
    {"empty_archive.npz", "x", NNRT_ERR_FORMAT, "no array 'x' (the archive is empty)"},
    {"not_zip.npz", "a", NNRT_ERR_FORMAT,
     "not a .npz file (no ZIP end of central directory record: not a ZIP archive, or "
     "truncated)"},
    {"empty.npz", "a", NNRT_ERR_FORMAT, "not a .npz file"},
    {"truncated.npz", "a", NNRT_ERR_FORMAT, "not a .npz file"},
    {"cut_middle.npz", "a", NNRT_ERR_FORMAT,
     "corrupt archive: the central directory (*) does not fit in the file's"},
    {"zip64.npz", "a", NNRT_ERR_FORMAT, "ZIP64 archives (over 4 GiB or 65535 arrays) are not"},
    {"multidisk.npz", "a", NNRT_ERR_FORMAT, "multi-disk ZIP archives are not supported"},
    {"bad_entry.npz", "a", NNRT_ERR_FORMAT,
     "corrupt archive: entry 2 of the 6 in the central directory is malformed"},
    {"bzip2.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: compression method 12 (bzip2) is not supported (nnc reads stored and deflate"},
    {"encrypted.npz", "a", NNRT_ERR_FORMAT, "a.npy: the member is encrypted"},
    {"zip64_member.npz", "a", NNRT_ERR_FORMAT, "a.npy: ZIP64 members (over 4 GiB) are not"},
    {"stored_sizes.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: corrupt sizes: a stored member of 176 bytes that holds 177"},
    {"ratio.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: corrupt sizes: * bytes of deflate data cannot inflate to the 2147483647 bytes the "
     "directory says"},
    {"local_offset.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: corrupt archive: no local header for it at offset 1"},
    {"local_name.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: corrupt archive: the local header at offset 0 names another member"},
    {"method_local.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: corrupt archive: the local header says compression method 0, the central "
     "directory 8"},
    {"csize_past.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: corrupt archive: the member's *do not fit before the central directory at offset"},
    {"crc_data.npz", "a", NNRT_ERR_FORMAT, "a.npy: CRC-32 mismatch"},
    {"crc_field.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: CRC-32 mismatch: the data gives *the directory says"},
    {"deflate_corrupt.npz", "a", NNRT_ERR_FORMAT, "a.npy: corrupt deflate data (invalid block"},
    {"csize_short.npz", "a", NNRT_ERR_FORMAT, "a.npy: the deflate data ends early"},
    {"usize_small.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: the directory says the member holds 168 bytes, but its .npy header and shape make "
     "128 + 48"},
    {"usize_large.npz", "a", NNRT_ERR_FORMAT,
     "a.npy: inflates to 176 bytes, but the directory says 184"},
    {"npy_garbage.npz", "x", NNRT_ERR_FORMAT, "x.npy: not a .npy file (bad magic)"},
    {"npy_truncated.npz", "x", NNRT_ERR_FORMAT,
     "x.npy: the directory says the member holds 168 bytes, but its .npy header and shape make "
     "128 + 48"},
    {"npy_huge.npz", "x", NNRT_ERR_FORMAT,
     "x.npy: the directory says the member holds 192 bytes, but its .npy header and shape make "
     "128 + 8796093022208"},
    {"does_not_exist.npz", "a", NNRT_ERR_IO, "cannot open: No such file or directory"},
};

/* Does msg say "<path>: <problem>", a '*' in problem matching any text? */
static bool says(const char *msg, const char *path, const char *problem) {
  char head[1024];
  const char *star = strchr(problem, '*');
  int n = star ? (int)(star - problem) : (int)strlen(problem);
  snprintf(head, sizeof head, "%s: %.*s", path, n, problem);
  if (strncmp(msg, head, strlen(head)) != 0)
    return false;
  return !star || strstr(msg + strlen(head), star + 1) != NULL;
}

/* The message is "<path>: <problem>..."; the tensor is left empty. */
static void expect_error(const char *path, const char *key, int code, const char *problem) {
  nnrt_tensor t = {.rank = 3, .data = (void *)&t};
  char err[512] = "";
  int rc = nnrt_npz_read(path, key, &t, err, sizeof err);
  CHECKF(rc == code && says(err, path, problem) && t.data == NULL && t.rank == 0,
         "%s: rc %d (want %d), message '%s' (want '%s: %s')", path, rc, code, err, path, problem);
}

static int do_read(void) {
  read_good();
  for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++) {
    const Bad *b = &bad_files[i];
    expect_error(in_dir(b->file), b->key, b->code, b->problem);
  }
  return check_report("test_npz read");
}

/* ---- errors that need no NumPy ---- */

static int do_errors(void) {
  nnrt_tensor t;
  char err[512];
  expect_error(test_dir, "a", NNRT_ERR_IO, "is a directory");
  expect_error("/dev/null", "a", NNRT_ERR_IO, "is a character device, not a regular file");
  char path[1024]; /* kept: in_dir's buffer is reused */
  snprintf(path, sizeof path, "%s", in_dir("stored.npz"));
  CHECK(nnrt_npz_read(NULL, "a", &t, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_npz_read(path, NULL, &t, err, sizeof err) == NNRT_ERR_ARG);
  CHECKF(strncmp(err, path, strlen(path)) == 0 && strstr(err, "key is NULL"), "'%s'", err);
  CHECK(nnrt_npz_read(path, "a", NULL, err, sizeof err) == NNRT_ERR_ARG);

  /* No message buffer, or a tiny one: still no crash. */
  CHECK(nnrt_npz_read(path, "x", &t, NULL, 0) == NNRT_ERR_FORMAT);
  char tiny[4];
  CHECK(nnrt_npz_read(in_dir("crc_data.npz"), "a", &t, tiny, sizeof tiny) == NNRT_ERR_FORMAT);
  CHECK(strlen(tiny) == 3);

  /* A member read twice gives the same array; an empty key is a name. */
  nnrt_tensor u;
  CHECK(nnrt_npz_read(path, "a", &t, err, sizeof err) == NNRT_OK);
  CHECK(nnrt_npz_read(path, "a", &u, err, sizeof err) == NNRT_OK);
  CHECK(t.data && u.data && memcmp(t.data, u.data, 12 * sizeof(float)) == 0);
  nnrt_tensor_free(&t);
  nnrt_tensor_free(&u);
  CHECK(nnrt_npz_read(path, "", &t, err, sizeof err) == NNRT_ERR_FORMAT);
  CHECKF(strstr(err, "no array '' (it has: a, b"), "'%s'", err);
  return check_report("test_npz errors");
}

/* ---- data sets ---- */

static bool same_dataset(const nnrt_dataset *a, const nnrt_dataset *b) {
  bool same = a->n == b->n && a->x_dtype == b->x_dtype && a->y_dtype == b->y_dtype &&
              a->x_rank == b->x_rank && a->y_rank == b->y_rank && a->x_size == b->x_size &&
              a->y_size == b->y_size;
  return same && memcmp(a->x_dims, b->x_dims, sizeof a->x_dims) == 0 &&
         memcmp(a->y_dims, b->y_dims, sizeof a->y_dims) == 0 &&
         memcmp(a->x, b->x, (size_t)(a->n * a->x_size) * 4) == 0 &&
         memcmp(a->y, b->y, (size_t)(a->n * a->y_size) * 4) == 0;
}

/* The message is "<dir>/<file>: <problem>" and *d is empty. */
static void expect_data_error(int rc, const char *err, int code, const char *file,
                              const char *problem, const nnrt_dataset *d) {
  char want[1024];
  snprintf(want, sizeof want, "%s: %s", in_dir(file), problem);
  CHECKF(rc == code && strcmp(err, want) == 0 && d->n == 0 && !d->x && !d->y,
         "rc %d (want %d), message '%s' (want '%s')", rc, code, err, want);
}

static int do_data(void) {
  char err[512] = "", x[1024], y[1024];
  nnrt_label_spec cls = {NNRT_I32, 3}, reg = {NNRT_F32, 0};
  nnrt_dataset z, p;
  snprintf(x, sizeof x, "%s", in_dir("data_x.npy"));
  snprintf(y, sizeof y, "%s", in_dir("data_y.npy"));
  int rc = nnrt_load_npy_pair(x, y, &cls, &p, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);

  /* f64 x narrowed, i8 labels to i32: as the pair loader makes them. */
  rc = nnrt_load_npz(in_dir("data.npz"), "x", "y", &cls, &z, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  CHECK(z.n == 4 && z.x_dtype == NNRT_F32 && z.x_size == 3 && z.y_dtype == NNRT_I32);
  CHECK(same_dataset(&z, &p));
  nnrt_dataset_free(&z);

  /* Other keys, float targets. */
  rc = nnrt_load_npz(in_dir("keys.npz"), "feat", "lab", &reg, &z, err, sizeof err);
  CHECKF(rc == NNRT_OK, "%s", err);
  {
    float want[4] = {0, 2, 1, 2};
    CHECK(z.n == 4 && z.y_dtype == NNRT_F32 && memcmp(z.y, want, sizeof want) == 0);
    CHECK(memcmp(z.x, p.x, 12 * sizeof(float)) == 0);
  }
  nnrt_dataset_free(&z);
  nnrt_dataset_free(&p);

  /* The pair loader's checks, naming the members. */
  rc = nnrt_load_npz(in_dir("count.npz"), "x", "y", &cls, &z, err, sizeof err);
  expect_data_error(rc, err, NNRT_ERR_SHAPE, "count.npz",
                    "y.npy: 3 labels, but x.npy has 4 samples", &z);
  rc = nnrt_load_npz(in_dir("range.npz"), "x", "y", &cls, &z, err, sizeof err);
  CHECKF(rc == NNRT_ERR_FORMAT && strstr(err, "range.npz: y.npy: ") && strstr(err, "5"), "'%s'",
         err);
  rc = nnrt_load_npz(in_dir("data.npz"), "x", "labels", &cls, &z, err, sizeof err);
  expect_data_error(rc, err, NNRT_ERR_FORMAT, "data.npz", "no array 'labels' (it has: x, y)", &z);
  rc = nnrt_load_npz(in_dir("data.npz"), "features", "y", &cls, &z, err, sizeof err);
  expect_data_error(rc, err, NNRT_ERR_FORMAT, "data.npz", "no array 'features' (it has: x, y)", &z);
  rc = nnrt_load_npz(in_dir("crc_data.npz"), "b", "a", &reg, &z, err, sizeof err);
  expect_data_error(rc, err, NNRT_ERR_FORMAT, "crc_data.npz",
                    "a.npy: CRC-32 mismatch: the data gives 96f8181f, the directory says e024598f "
                    "(the archive is corrupt)",
                    &z);
  rc = nnrt_load_npz(in_dir("data.npz"), "x", "y", &(nnrt_label_spec){NNRT_F64, 0}, &z, err,
                     sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && strstr(err, "data.npz: y.npy: "), "'%s'", err);
  CHECK(nnrt_load_npz(NULL, "x", "y", &cls, &z, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_load_npz(in_dir("data.npz"), NULL, "y", &cls, &z, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_load_npz(in_dir("data.npz"), "x", NULL, &cls, &z, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_load_npz(in_dir("data.npz"), "x", "y", NULL, &z, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_load_npz(in_dir("data.npz"), "x", "y", &cls, NULL, err, sizeof err) == NNRT_ERR_ARG);
  return check_report("test_npz data");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_npz read|errors|data DIR\n");
    return 2;
  }
  test_dir = argv[2];
  if (strcmp(argv[1], "read") == 0)
    return do_read();
  if (strcmp(argv[1], "errors") == 0)
    return do_errors();
  if (strcmp(argv[1], "data") == 0)
    return do_data();
  fprintf(stderr, "unknown mode '%s'\n", argv[1]);
  return 2;
}
