/* test_npy.c - nnrt_npy_read and nnrt_npy_write, with NumPy as the oracle.
 *
 *   test_npy write DIR  writes arrays of every dtype (scalar, empty, rank 8,
 *                       an overwrite) with nnrt, checks that nnrt reads them
 *                       back identically; npy_tool.py check then loads them
 *                       with NumPy
 *   test_npy read DIR   reads what npy_tool.py make wrote with NumPy: the
 *                       good files must give the right dtype, shape and
 *                       values; each bad one its error code and a message
 *                       "<path>: <problem>"
 *   test_npy errors DIR argument and I/O errors that need no NumPy
 *
 * Element i of a float array is i * 0.25 - 1, of an int array i * 3 - 7, of
 * a bool array i % 3 == 0 (as in Inputs/npy_tool.py).
 */
#include "check.h"
#include "nnrt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static nnrt_tensor make(nnrt_dtype dt, int rank, const int64_t *dims) {
  nnrt_tensor t = {.dtype = dt, .rank = rank};
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= t.dims[i] = dims[i];
  t.data = malloc((size_t)(n ? n : 1) * nnrt_dtype_size(dt));
  for (int64_t i = 0; i < n; i++) {
    switch (dt) {
    case NNRT_F32:
      ((float *)t.data)[i] = (float)i * 0.25f - 1;
      break;
    case NNRT_F64:
      ((double *)t.data)[i] = (double)i * 0.25 - 1;
      break;
    case NNRT_I32:
      ((int32_t *)t.data)[i] = (int32_t)(i * 3 - 7);
      break;
    case NNRT_BOOL:
      ((uint8_t *)t.data)[i] = i % 3 == 0;
      break;
    }
  }
  return t;
}

static int same_tensor(const nnrt_tensor *a, const nnrt_tensor *b) {
  if (a->dtype != b->dtype || a->rank != b->rank)
    return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return 0;
  size_t bytes = (size_t)nnrt_tensor_numel(a) * nnrt_dtype_size(a->dtype);
  return bytes == 0 || memcmp(a->data, b->data, bytes) == 0;
}

/* ---- write ---- */

static void write_and_reread(const char *name, nnrt_dtype dt, int rank, const int64_t *dims) {
  nnrt_tensor t = make(dt, rank, dims), back;
  char err[512] = "";
  const char *path = in_dir(name);
  int rc = nnrt_npy_write(path, &t, err, sizeof err);
  CHECKF(rc == NNRT_OK, "write %s: %s", name, err);
  rc = nnrt_npy_read(path, &back, err, sizeof err);
  CHECKF(rc == NNRT_OK && same_tensor(&t, &back), "read back %s: rc %d %s", name, rc, err);
  nnrt_tensor_free(&back);
  nnrt_tensor_free(&t);
}

static int do_write(void) {
  int64_t d2x3[] = {2, 3}, d5[] = {5}, d7[] = {7}, d0x3[] = {0, 3}, d70[] = {70},
          d8[] = {1, 2, 1, 2, 1, 2, 1, 2}, d3[] = {3};
  write_and_reread("w_f32_2x3.npy", NNRT_F32, 2, d2x3);
  write_and_reread("w_f64_scalar.npy", NNRT_F64, 0, NULL);
  write_and_reread("w_i32_5.npy", NNRT_I32, 1, d5);
  write_and_reread("w_bool_7.npy", NNRT_BOOL, 1, d7);
  write_and_reread("w_f32_0x3.npy", NNRT_F32, 2, d0x3);
  write_and_reread("w_f64_rank8.npy", NNRT_F64, 8, d8);
  write_and_reread("w_f32_70.npy", NNRT_F32, 1, d70);
  /* Replacing a file goes through .tmp and rename. */
  write_and_reread("w_overwritten.npy", NNRT_F64, 2, d2x3);
  write_and_reread("w_overwritten.npy", NNRT_I32, 1, d3);
  return check_report("test_npy write");
}

/* ---- read ---- */

typedef struct {
  const char *file;
  nnrt_dtype dt;
  int rank;
  int64_t dims[NNRT_MAX_RANK];
} Good;

static const Good good_files[] = {
    {"f4_3x4.npy", NNRT_F32, 2, {3, 4}},
    {"f8_scalar.npy", NNRT_F64, 0, {0}},
    {"i4_5.npy", NNRT_I32, 1, {5}},
    {"i8_2x3.npy", NNRT_I32, 2, {2, 3}},
    {"b1_7.npy", NNRT_BOOL, 1, {7}},
    {"f4_0x3.npy", NNRT_F32, 2, {0, 3}},
    {"f8_rank8.npy", NNRT_F64, 8, {1, 2, 1, 2, 1, 2, 1, 2}},
    {"f4_fortran_1d.npy", NNRT_F32, 1, {6}},
    {"f4_v2.npy", NNRT_F32, 2, {2, 2}},
    {"f4_v3.npy", NNRT_F32, 2, {2, 2}},
    {"f4_keys_reordered.npy", NNRT_F32, 2, {2, 3}},
    {"f4_py2_longs.npy", NNRT_F32, 2, {2, 3}},
};

typedef struct {
  const char *file;
  int code;
  const char *problem; /* a substring of the message */
} Bad;

static const Bad bad_files[] = {
    {"bad_magic.npy", NNRT_ERR_FORMAT, "bad magic"},
    {"empty.npy", NNRT_ERR_FORMAT, "bad magic"},
    {"header_too_large.npy", NNRT_ERR_FORMAT, "header too large"},
    {"truncated_header.npy", NNRT_ERR_FORMAT, "truncated header"},
    {"truncated_data.npy", NNRT_ERR_FORMAT, "truncated data"},
    {"fortran_2d.npy", NNRT_ERR_FORMAT, "Fortran"},
    {"big_endian.npy", NNRT_ERR_FORMAT, "big-endian"},
    {"rank9.npy", NNRT_ERR_FORMAT, "more than 8 dimensions"},
    {"negative_dim.npy", NNRT_ERR_FORMAT, "negative dimension"},
    {"numel_overflow.npy", NNRT_ERR_FORMAT, "too many elements"},
    {"huge_shape_small_file.npy", NNRT_ERR_FORMAT, "truncated data"},
    {"dim_too_large.npy", NNRT_ERR_FORMAT, "too large"},
    {"i8_too_big.npy", NNRT_ERR_FORMAT, "2147483648 at index 2 does not fit in i32"},
    {"u2.npy", NNRT_ERR_FORMAT, "unsupported dtype '<u2'"},
    {"structured.npy", NNRT_ERR_FORMAT, "structured"},
    {"version4.npy", NNRT_ERR_FORMAT, "version 4.0"},
    {"missing_shape.npy", NNRT_ERR_FORMAT, "no 'shape'"},
    {"unknown_key.npy", NNRT_ERR_FORMAT, "unexpected key 'extra'"},
    {"duplicate_key.npy", NNRT_ERR_FORMAT, "'descr' given twice"},
    {"garbage_header.npy", NNRT_ERR_FORMAT, "expected '{'"},
    {"unterminated_string.npy", NNRT_ERR_FORMAT, "unterminated"},
    {"text_after_dict.npy", NNRT_ERR_FORMAT, "text after '}'"},
    {"bad_bool.npy", NNRT_ERR_FORMAT, "True or False"},
    {"f4_trailing_bytes.npy", NNRT_ERR_FORMAT,
     "5 bytes after the array: its header and shape make 152 bytes, but there are 157"},
    {"does_not_exist.npy", NNRT_ERR_IO, "cannot open"},
};

/* The message is "<path>: ..." and contains `problem`; the tensor is left
 * empty. */
static void expect_error(const char *path, int code, const char *problem) {
  nnrt_tensor t = {.rank = 3, .data = (void *)&t};
  char err[512] = "";
  int rc = nnrt_npy_read(path, &t, err, sizeof err);
  size_t plen = strlen(path);
  int named = strncmp(err, path, plen) == 0 && strncmp(err + plen, ": ", 2) == 0;
  CHECKF(rc == code && named && strstr(err, problem) && t.data == NULL && t.rank == 0,
         "%s: rc %d (want %d), message '%s' (want '%s')", path, rc, code, err, problem);
}

static int do_read(void) {
  for (size_t i = 0; i < sizeof good_files / sizeof *good_files; i++) {
    const Good *g = &good_files[i];
    nnrt_tensor t, want = make(g->dt, g->rank, g->dims);
    char err[512] = "";
    int rc = nnrt_npy_read(in_dir(g->file), &t, err, sizeof err);
    CHECKF(rc == NNRT_OK, "%s: %s", g->file, err);
    if (rc == NNRT_OK)
      CHECKF(same_tensor(&t, &want), "%s: wrong dtype, shape or values", g->file);
    nnrt_tensor_free(&t);
    nnrt_tensor_free(&want);
  }
  nnrt_tensor t;
  char err[512] = "";
  int rc = nnrt_npy_read(in_dir("i8_limits.npy"), &t, err, sizeof err);
  CHECKF(rc == NNRT_OK && t.dtype == NNRT_I32 && ((int32_t *)t.data)[0] == INT32_MIN &&
             ((int32_t *)t.data)[1] == INT32_MAX,
         "i8_limits.npy: %s", err);
  nnrt_tensor_free(&t);

  for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++)
    expect_error(in_dir(bad_files[i].file), bad_files[i].code, bad_files[i].problem);
  return check_report("test_npy read");
}

/* ---- errors that need no NumPy ---- */

static int do_errors(void) {
  char err[512];
  expect_error(test_dir, NNRT_ERR_IO, "is a directory");
  /* What is not a regular file is refused without reading it: a FIFO
   * without a writer would block the open, /dev/zero never ends. The alarm
   * fails the test instead of hanging it if that comes back. */
  const char *fifo = in_dir("fifo.npy");
  CHECK(mkfifo(fifo, 0644) == 0);
  alarm(20);
  expect_error(fifo, NNRT_ERR_IO, "is a FIFO, not a regular file");
  expect_error("/dev/zero", NNRT_ERR_IO, "is a character device, not a regular file");
  alarm(0);
  CHECK(unlink(fifo) == 0);
  int64_t d2[] = {2, 2};
  nnrt_tensor t = make(NNRT_F32, 2, d2);

  /* Writing into a directory that does not exist: nothing is left behind. */
  const char *bad = "/nonexistent-nnrt-dir/x.npy";
  CHECK(nnrt_npy_write(bad, &t, err, sizeof err) == NNRT_ERR_IO);
  CHECKF(strncmp(err, bad, strlen(bad)) == 0 && strstr(err, "x.npy.tmp"), "message '%s'", err);

  /* Bad tensors. */
  const char *path = in_dir("e.npy");
  CHECK(nnrt_npy_write(path, NULL, err, sizeof err) == NNRT_ERR_ARG);
  CHECKF(strncmp(err, path, strlen(path)) == 0, "message '%s'", err);
  nnrt_tensor bad_t = t;
  bad_t.rank = 9;
  CHECK(nnrt_npy_write(path, &bad_t, err, sizeof err) == NNRT_ERR_ARG);
  bad_t.rank = 2;
  bad_t.dims[1] = -1;
  CHECK(nnrt_npy_write(path, &bad_t, err, sizeof err) == NNRT_ERR_ARG);
  bad_t = t;
  bad_t.data = NULL;
  CHECK(nnrt_npy_write(path, &bad_t, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(strstr(err, "NULL") != NULL);
  bad_t = t;
  bad_t.dtype = (nnrt_dtype)7;
  CHECK(nnrt_npy_write(path, &bad_t, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(access(path, F_OK) != 0);
  CHECK(nnrt_npy_write(NULL, &t, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_npy_read(NULL, &t, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_npy_read(path, NULL, err, sizeof err) == NNRT_ERR_ARG);

  /* No message buffer, or a tiny one: still no crash. */
  nnrt_tensor r;
  CHECK(nnrt_npy_read(in_dir("missing.npy"), &r, NULL, 0) == NNRT_ERR_IO);
  char tiny[4];
  CHECK(nnrt_npy_read(in_dir("missing.npy"), &r, tiny, sizeof tiny) == NNRT_ERR_IO);
  CHECK(strlen(tiny) == 3);
  nnrt_tensor_free(&t);
  return check_report("test_npy errors");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_npy write|read|errors DIR\n");
    return 2;
  }
  test_dir = argv[2];
  if (strcmp(argv[1], "write") == 0)
    return do_write();
  if (strcmp(argv[1], "read") == 0)
    return do_read();
  if (strcmp(argv[1], "errors") == 0)
    return do_errors();
  fprintf(stderr, "unknown mode '%s'\n", argv[1]);
  return 2;
}
