/* test_safetensors.c - nnrt_safetensors_*, with an independent reader and
 * writer in Python (Inputs/st_tool.py, json + NumPy) as the oracle.
 *
 *   test_safetensors write DIR   saves checkpoints of every dtype (scalars,
 *                                an empty tensor, rank 8, metadata, a name
 *                                that needs escapes, an overwrite that keeps
 *                                the file's mode) and reads them back;
 *                                st_tool.py check then reads them
 *   test_safetensors read DIR    reads what st_tool.py make wrote: values,
 *                                names in header order, metadata, and the
 *                                errors of reading with the wrong dtype or
 *                                shape or a missing name
 *   test_safetensors errors DIR  opens every malformed file st_tool.py make
 *                                wrote, then argument errors and the atomic
 *                                save (failed saves leave the old file
 *                                byte-identical and no temporary file)
 *
 * Each error is printed as "<CODE> <message>" for safetensors.test to match.
 * Element i of a float array is i * 0.25 - 1, of an int array i * 3 - 7, of
 * a bool array i % 3 == 0 (as in Inputs/st_tool.py).
 */
#include "check.h"
#include "nnrt_checkpoint.h"

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Needs JSON escapes and is not ASCII (u-umlaut, a CJK character). */
static const char ODD_NAME[] = "layer.0/w \"q\" \\ \xc3\xbc\xe4\xb8\xad";

static const char *code_name(int rc) {
  static const char *const names[] = {"OK", "IO", "FORMAT", "SHAPE", "ARG", "NOMEM"};
  return rc >= 0 && rc <= NNRT_ERR_NOMEM ? names[rc] : "?";
}

static void print_error(int rc, const char *err) { printf("%s %s\n", code_name(rc), err); }

static nnrt_tensor make(nnrt_dtype dt, int rank, const int64_t *dims) {
  nnrt_tensor t = {.dtype = dt, .rank = rank};
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= t.dims[i] = dims[i];
  t.data = calloc((size_t)(n ? n : 1), nnrt_dtype_size(dt));
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

static size_t nbytes(const nnrt_tensor *t) {
  return (size_t)nnrt_tensor_numel(t) * nnrt_dtype_size(t->dtype);
}

/* An empty tensor of t's dtype and shape, filled with 0x5a bytes. */
static nnrt_tensor like(const nnrt_tensor *t) {
  nnrt_tensor r = *t;
  size_t n = nbytes(t);
  r.data = malloc(n ? n : 1);
  memset(r.data, 0x5a, n ? n : 1);
  return r;
}

/* Reads `name` from f as `want`'s dtype and shape and compares the values. */
static void expect_tensor(const nnrt_safetensors *f, const char *name, const nnrt_tensor *want) {
  nnrt_tensor got = like(want);
  char err[512] = "";
  int rc = nnrt_safetensors_read(f, name, &got, err, sizeof err);
  CHECKF(rc == NNRT_OK, "read '%s': %s", name, err);
  if (rc == NNRT_OK)
    CHECKF(nbytes(want) == 0 || memcmp(got.data, want->data, nbytes(want)) == 0,
           "'%s': values differ", name);
  nnrt_tensor_free(&got);
}

static void expect_meta(const nnrt_safetensors *f, const char *key, const char *value) {
  const char *got = nnrt_safetensors_meta(f, key);
  if (value)
    CHECKF(got && strcmp(got, value) == 0, "meta '%s' is '%s', want '%s'", key,
           got ? got : "(none)", value);
  else
    CHECKF(got == NULL, "meta '%s' is '%s', want none", key, got);
}

static nnrt_safetensors *open_ok(const char *path) {
  nnrt_safetensors *f = NULL;
  char err[512] = "";
  int rc = nnrt_safetensors_open(path, &f, err, sizeof err);
  CHECKF(rc == NNRT_OK && f, "open %s: %s", path, err);
  return rc == NNRT_OK ? f : NULL;
}

static void expect_names(const nnrt_safetensors *f, const char *const *names, int n) {
  CHECKF(nnrt_safetensors_count(f) == n, "count %d, want %d", nnrt_safetensors_count(f), n);
  for (int i = 0; i < n && i < nnrt_safetensors_count(f); i++) {
    const char *got = nnrt_safetensors_name(f, i);
    CHECKF(got && strcmp(got, names[i]) == 0, "name %d is '%s', want '%s'", i, got, names[i]);
  }
  CHECK(nnrt_safetensors_name(f, -1) == NULL);
  CHECK(nnrt_safetensors_name(f, n) == NULL);
}

static void free_all(nnrt_named_tensor *ts, int n) {
  for (int i = 0; i < n; i++)
    nnrt_tensor_free(&ts[i].t);
}

/* ---- write ---- */

static void save_ok(const char *file, const nnrt_named_tensor *ts, int n, const nnrt_kv *meta,
                    int nmeta) {
  char err[512] = "";
  int rc = nnrt_safetensors_save(in_dir(file), ts, n, meta, nmeta, err, sizeof err);
  CHECKF(rc == NNRT_OK, "save %s: %s", file, err);
}

/* Reopens file and checks the names (in order), values and metadata. */
static void reread(const char *file, const nnrt_named_tensor *ts, int n, const nnrt_kv *meta,
                   int nmeta) {
  nnrt_safetensors *f = open_ok(in_dir(file));
  if (!f)
    return;
  const char *names[16] = {NULL};
  for (int i = 0; i < n; i++)
    names[i] = ts[i].name;
  expect_names(f, names, n);
  for (int i = 0; i < n; i++)
    expect_tensor(f, ts[i].name, &ts[i].t);
  for (int i = 0; i < nmeta; i++)
    expect_meta(f, meta[i].key, meta[i].value);
  expect_meta(f, "missing", NULL);
  nnrt_safetensors_close(f);
}

static int do_write(void) {
  int64_t d2x3[] = {2, 3}, d5[] = {5}, d7[] = {7}, d0x3[] = {0, 3}, d3[] = {3}, d70[] = {70},
          d8[] = {1, 2, 1, 2, 1, 2, 1, 2};
  nnrt_named_tensor all[] = {
      {"f32_2x3", make(NNRT_F32, 2, d2x3)},    {"f64_scalar", make(NNRT_F64, 0, NULL)},
      {"i32_5", make(NNRT_I32, 1, d5)},        {"bool_7", make(NNRT_BOOL, 1, d7)},
      {"f32_0x3", make(NNRT_F32, 2, d0x3)},    {"f64_rank8", make(NNRT_F64, 8, d8)},
      {"i32_scalar", make(NNRT_I32, 0, NULL)}, {ODD_NAME, make(NNRT_F32, 1, d3)},
  };
  int nall = (int)(sizeof all / sizeof *all);
  nnrt_kv meta[] = {
      {"format", "nnc"}, {"step", "42"}, {"note", "caf\xc3\xa9 \"quoted\"\n\t\\ \x01"}};
  save_ok("nnrt.safetensors", all, nall, meta, 3);
  reread("nnrt.safetensors", all, nall, meta, 3);

  nnrt_named_tensor one[] = {{"x", make(NNRT_F32, 1, d70)}};
  save_ok("nnrt_nometa.safetensors", one, 1, NULL, 0);
  reread("nnrt_nometa.safetensors", one, 1, NULL, 0);
  save_ok("nnrt_none.safetensors", NULL, 0, NULL, 0);
  reread("nnrt_none.safetensors", NULL, 0, NULL, 0);

  /* Overwriting a checkpoint (through the temporary file and rename). */
  nnrt_named_tensor first[] = {{"z", make(NNRT_F64, 2, d2x3)}, {"y", make(NNRT_BOOL, 1, d7)}};
  nnrt_named_tensor second[] = {{"y", make(NNRT_I32, 1, d3)}};
  nnrt_kv v1[] = {{"v", "1"}, {"old", "yes"}}, v2[] = {{"v", "2"}};
  save_ok("nnrt_overwritten.safetensors", first, 2, v1, 2);
  reread("nnrt_overwritten.safetensors", first, 2, v1, 2);
  const char *over = in_dir("nnrt_overwritten.safetensors");
  CHECK(chmod(over, 0640) == 0);
  save_ok("nnrt_overwritten.safetensors", second, 1, v2, 1);
  struct stat st;
  CHECKF(stat(over, &st) == 0 && (st.st_mode & 07777) == 0640, "mode %o, want 640 (kept)",
         (unsigned)(st.st_mode & 07777));
  reread("nnrt_overwritten.safetensors", second, 1, v2, 1);

  /* Bool bytes other than 0 and 1 are written and read as 1. */
  uint8_t raw_bools[4] = {0, 7, 255, 1}, ones[4] = {0, 1, 1, 1};
  nnrt_named_tensor bools[] = {{"b", {.dtype = NNRT_BOOL, .rank = 1, .dims = {4}}}};
  bools[0].t.data = raw_bools;
  save_ok("nnrt_bools.safetensors", bools, 1, NULL, 0);
  bools[0].t.data = ones;
  reread("nnrt_bools.safetensors", bools, 1, NULL, 0);

  free_all(all, nall);
  free_all(one, 1);
  free_all(first, 2);
  free_all(second, 1);
  return check_report("test_safetensors write");
}

/* ---- read ---- */

/* Reading `name` as dtype/shape fails with `code`; prints the message. */
static void expect_read_error(const nnrt_safetensors *f, const char *name, nnrt_dtype dt, int rank,
                              const int64_t *dims, int code) {
  nnrt_tensor t = make(dt, rank, dims);
  char err[512] = "";
  int rc = nnrt_safetensors_read(f, name, &t, err, sizeof err);
  CHECKF(rc == code, "read '%s': rc %d, want %d (%s)", name, rc, code, err);
  print_error(rc, err);
  nnrt_tensor_free(&t);
}

static int do_read(void) {
  nnrt_safetensors *f = open_ok(in_dir("py.safetensors"));
  if (f) {
    const char *names[] = {"mask", "w", ODD_NAME, "half", "b", "none", "step", "r8", "long"};
    expect_names(f, names, 9);
    int64_t d3x4[] = {3, 4}, d4[] = {4}, d5[] = {5}, d0x7[] = {0, 7}, d2x2[] = {2, 2},
            d8[] = {1, 2, 1, 2, 1, 2, 1, 2}, d3x5[] = {3, 5}, d1[] = {1}, d2[] = {2}, d3[] = {3};
    nnrt_named_tensor want[] = {
        {"w", make(NNRT_F32, 2, d3x4)},      {"b", make(NNRT_F64, 1, d4)},
        {"step", make(NNRT_I32, 0, NULL)},   {"mask", make(NNRT_BOOL, 1, d5)},
        {"none", make(NNRT_F32, 2, d0x7)},   {"r8", make(NNRT_F64, 8, d8)},
        {ODD_NAME, make(NNRT_I32, 2, d2x2)},
    };
    int nwant = (int)(sizeof want / sizeof *want);
    for (int i = 0; i < nwant; i++)
      expect_tensor(f, want[i].name, &want[i].t);
    free_all(want, nwant);
    expect_meta(f, "format", "np");
    expect_meta(f, "epoch", "3");
    expect_meta(f, "note", "caf\xc3\xa9 \"quoted\"\n");
    expect_meta(f, "__metadata__", NULL);

    expect_read_error(f, "half", NNRT_F32, 1, d2, NNRT_ERR_SHAPE);
    expect_read_error(f, "long", NNRT_I32, 1, d3, NNRT_ERR_SHAPE);
    expect_read_error(f, "w", NNRT_F32, 2, d3x5, NNRT_ERR_SHAPE);
    expect_read_error(f, "w", NNRT_F64, 2, d3x4, NNRT_ERR_SHAPE);
    expect_read_error(f, "step", NNRT_I32, 1, d1, NNRT_ERR_SHAPE);
    expect_read_error(f, "mask", NNRT_BOOL, 0, NULL, NNRT_ERR_SHAPE);
    expect_read_error(f, "nope", NNRT_F32, 1, d1, NNRT_ERR_FORMAT);
    expect_read_error(f, "__metadata__", NNRT_F32, 1, d1, NNRT_ERR_FORMAT);
    nnrt_safetensors_close(f);
  }
  f = open_ok(in_dir("py_empty.safetensors"));
  if (f) {
    expect_names(f, NULL, 0);
    expect_meta(f, "format", NULL);
    nnrt_safetensors_close(f);
  }
  return check_report("test_safetensors read");
}

/* ---- errors ---- */

typedef struct {
  const char *file;
  int code;
} Bad;

/* In this order in safetensors.test. */
static const Bad bad_files[] = {
    {"bad_short.safetensors", NNRT_ERR_FORMAT},
    {"bad_header_past_end.safetensors", NNRT_ERR_FORMAT},
    {"bad_header_huge.safetensors", NNRT_ERR_FORMAT},
    {"bad_truncated.safetensors", NNRT_ERR_FORMAT},
    {"bad_header_empty.safetensors", NNRT_ERR_FORMAT},
    {"bad_not_json.safetensors", NNRT_ERR_FORMAT},
    {"bad_text_after.safetensors", NNRT_ERR_FORMAT},
    {"bad_not_object.safetensors", NNRT_ERR_FORMAT},
    {"bad_not_utf8.safetensors", NNRT_ERR_FORMAT},
    {"bad_entry_not_object.safetensors", NNRT_ERR_FORMAT},
    {"bad_no_dtype.safetensors", NNRT_ERR_FORMAT},
    {"bad_no_shape.safetensors", NNRT_ERR_FORMAT},
    {"bad_no_offsets.safetensors", NNRT_ERR_FORMAT},
    {"bad_dtype_number.safetensors", NNRT_ERR_FORMAT},
    {"bad_dtype_unknown.safetensors", NNRT_ERR_FORMAT},
    {"bad_duplicate_field.safetensors", NNRT_ERR_FORMAT},
    {"bad_shape_not_array.safetensors", NNRT_ERR_FORMAT},
    {"bad_shape_negative.safetensors", NNRT_ERR_FORMAT},
    {"bad_shape_fraction.safetensors", NNRT_ERR_FORMAT},
    {"bad_shape_rank9.safetensors", NNRT_ERR_FORMAT},
    {"bad_shape_overflow.safetensors", NNRT_ERR_FORMAT},
    {"bad_offsets_one.safetensors", NNRT_ERR_FORMAT},
    {"bad_offsets_three.safetensors", NNRT_ERR_FORMAT},
    {"bad_offsets_string.safetensors", NNRT_ERR_FORMAT},
    {"bad_offsets_reversed.safetensors", NNRT_ERR_FORMAT},
    {"bad_offsets_past_end.safetensors", NNRT_ERR_FORMAT},
    {"bad_size_mismatch.safetensors", NNRT_ERR_FORMAT},
    {"bad_overlap.safetensors", NNRT_ERR_FORMAT},
    {"bad_hole.safetensors", NNRT_ERR_FORMAT},
    {"bad_trailing_bytes.safetensors", NNRT_ERR_FORMAT},
    {"bad_no_tensors_but_data.safetensors", NNRT_ERR_FORMAT},
    {"bad_duplicate.safetensors", NNRT_ERR_FORMAT},
    {"bad_meta_not_object.safetensors", NNRT_ERR_FORMAT},
    {"bad_meta_not_string.safetensors", NNRT_ERR_FORMAT},
    {"bad_meta_duplicate.safetensors", NNRT_ERR_FORMAT},
    {"bad_name_nul.safetensors", NNRT_ERR_FORMAT},
    {"bad_name_newline.safetensors", NNRT_ERR_FORMAT},
    {"bad_name_raw_tab.safetensors", NNRT_ERR_FORMAT},
    {"bad_meta_nul.safetensors", NNRT_ERR_FORMAT},
    {"bad_meta_raw_control.safetensors", NNRT_ERR_FORMAT},
    {"bad_bad_escape.safetensors", NNRT_ERR_FORMAT},
    {"does_not_exist.safetensors", NNRT_ERR_IO},
};

/* Opening path fails with code, a message "<path>: ..." and *out NULL. */
static void expect_open_error(const char *path, int code) {
  nnrt_safetensors *f = (nnrt_safetensors *)&f; /* must be reset */
  char err[512] = "";
  int rc = nnrt_safetensors_open(path, &f, err, sizeof err);
  size_t plen = strlen(path);
  int named = strncmp(err, path, plen) == 0 && strncmp(err + plen, ": ", 2) == 0;
  CHECKF(rc == code && named && f == NULL, "%s: rc %d (want %d), message '%s'", path, rc, code,
         err);
  print_error(rc, err);
  if (rc == NNRT_OK)
    nnrt_safetensors_close(f);
}

/* The whole file, or NULL; *len its size. */
static unsigned char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return NULL;
  unsigned char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len == cap) {
      cap = cap ? 2 * cap : 4096;
      unsigned char *p = realloc(buf, cap);
      if (!p)
        break;
      buf = p;
    }
    size_t got = fread(buf + *len, 1, cap - *len, fp);
    *len += got;
    if (got == 0)
      break;
  }
  fclose(fp);
  return buf;
}

static int same_file(const char *path, const unsigned char *want, size_t len) {
  size_t got_len;
  unsigned char *got = slurp(path, &got_len);
  int same = got && got_len == len && memcmp(got, want, len) == 0;
  free(got);
  return same;
}

static int temp_files_left(void) {
  DIR *d = opendir(test_dir);
  int n = 0;
  if (!d)
    return -1;
  for (struct dirent *e; (e = readdir(d));)
    n += strstr(e->d_name, ".tmp.") != NULL;
  closedir(d);
  return n;
}

/* Saving `ts` over an existing checkpoint at path fails with NNRT_ERR_IO
 * and the message in err (not printed: stdout may be a file under the size
 * limit), and the old file stays byte-identical. */
static void expect_save_fails_keeping(const char *path, const nnrt_named_tensor *ts, int n,
                                      char *err, size_t errlen) {
  size_t len = 0;
  unsigned char *before = slurp(path, &len);
  CHECKF(before != NULL, "%s does not exist", path);
  int rc = nnrt_safetensors_save(path, ts, n, NULL, 0, err, errlen);
  CHECKF(rc == NNRT_ERR_IO, "save %s: rc %d (%s)", path, rc, err);
  CHECKF(before && same_file(path, before, len), "%s changed", path);
  free(before);
}

/* Argument errors of save: NNRT_ERR_ARG and no file. */
static void expect_save_arg_error(const nnrt_named_tensor *ts, int n, const nnrt_kv *meta,
                                  int nmeta) {
  const char *path = in_dir("arg.safetensors");
  char err[512] = "";
  int rc = nnrt_safetensors_save(path, ts, n, meta, nmeta, err, sizeof err);
  CHECKF(rc == NNRT_ERR_ARG && strncmp(err, path, strlen(path)) == 0, "rc %d, message '%s'", rc,
         err);
  CHECK(access(path, F_OK) != 0);
  print_error(rc, err);
}

static void save_arg_errors(void) {
  int64_t d2[] = {2, 2};
  nnrt_tensor t = make(NNRT_F32, 2, d2);
  nnrt_named_tensor two[] = {{"a", t}, {"a", t}};
  expect_save_arg_error(two, 2, NULL, 0);
  nnrt_named_tensor bad[] = {{"a", t}};
  bad[0].t.data = NULL;
  expect_save_arg_error(bad, 1, NULL, 0);
  bad[0].t = t;
  bad[0].t.rank = 9;
  expect_save_arg_error(bad, 1, NULL, 0);
  bad[0].t = t;
  bad[0].t.dims[1] = -2;
  expect_save_arg_error(bad, 1, NULL, 0);
  bad[0].t = t;
  bad[0].t.dtype = (nnrt_dtype)9;
  expect_save_arg_error(bad, 1, NULL, 0);
  bad[0].t = t;
  bad[0].name = "__metadata__";
  expect_save_arg_error(bad, 1, NULL, 0);
  bad[0].name = NULL;
  expect_save_arg_error(bad, 1, NULL, 0);
  bad[0].name = "bad\xff utf-8";
  expect_save_arg_error(bad, 1, NULL, 0);
  bad[0].name = "a";
  nnrt_kv meta[] = {{"k", "1"}, {"k", "2"}};
  expect_save_arg_error(bad, 1, meta, 2);
  meta[1].key = "j";
  meta[1].value = NULL;
  expect_save_arg_error(bad, 1, meta, 2);
  expect_save_arg_error(bad, -1, NULL, 0);
  expect_save_arg_error(NULL, 1, NULL, 0);
  /* An empty tensor may have NULL data. */
  nnrt_named_tensor empty[] = {{"e", {.dtype = NNRT_F32, .rank = 2, .dims = {0, 5}}}};
  char err[512] = "";
  CHECKF(nnrt_safetensors_save(in_dir("empty_null.safetensors"), empty, 1, NULL, 0, err,
                               sizeof err) == NNRT_OK,
         "%s", err);
  CHECK(nnrt_safetensors_save(NULL, bad, 1, NULL, 0, err, sizeof err) == NNRT_ERR_ARG);
  nnrt_tensor_free(&t);
}

static void read_arg_errors(void) {
  nnrt_safetensors *f = open_ok(in_dir("py.safetensors"));
  if (!f)
    return;
  int64_t d3x4[] = {3, 4};
  nnrt_tensor t = make(NNRT_F32, 2, d3x4);
  char err[512] = "";
  CHECK(nnrt_safetensors_read(NULL, "w", &t, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_safetensors_read(f, NULL, &t, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_safetensors_read(f, "w", NULL, err, sizeof err) == NNRT_ERR_ARG);
  nnrt_tensor bad = t;
  bad.data = NULL;
  CHECK(nnrt_safetensors_read(f, "w", &bad, err, sizeof err) == NNRT_ERR_ARG);
  print_error(NNRT_ERR_ARG, err);
  bad = t;
  bad.rank = -1;
  CHECK(nnrt_safetensors_read(f, "w", &bad, err, sizeof err) == NNRT_ERR_ARG);
  /* No message buffer, or a tiny one: no crash, a truncated message. */
  CHECK(nnrt_safetensors_read(f, "nope", &t, NULL, 0) == NNRT_ERR_FORMAT);
  char tiny[4];
  CHECK(nnrt_safetensors_read(f, "nope", &t, tiny, sizeof tiny) == NNRT_ERR_FORMAT);
  CHECK(strlen(tiny) == 3);
  nnrt_tensor_free(&t);
  nnrt_safetensors_close(f);

  CHECK(nnrt_safetensors_open(in_dir("py.safetensors"), NULL, err, sizeof err) == NNRT_ERR_ARG);
  CHECK(nnrt_safetensors_open(NULL, &f, err, sizeof err) == NNRT_ERR_ARG && f == NULL);
  CHECK(nnrt_safetensors_open(in_dir("bad_hole.safetensors"), &f, NULL, 0) == NNRT_ERR_FORMAT);
  nnrt_safetensors_close(NULL);
  CHECK(nnrt_safetensors_count(NULL) == 0);
  CHECK(nnrt_safetensors_name(NULL, 0) == NULL);
  CHECK(nnrt_safetensors_meta(NULL, "format") == NULL);
}

static void atomic_saves(void) {
  int64_t d2[] = {2}, big[] = {16384};
  nnrt_named_tensor old_ts[] = {{"old", make(NNRT_I32, 1, d2)}};
  nnrt_named_tensor new_ts[] = {{"new", make(NNRT_F32, 1, big)}};
  char err[512] = "";

  /* A directory that does not exist: the temporary file cannot be made. */
  const char *nodir = "/nonexistent-nnrt-dir/x.safetensors";
  CHECK(nnrt_safetensors_save(nodir, old_ts, 1, NULL, 0, err, sizeof err) == NNRT_ERR_IO);
  CHECKF(strncmp(err, nodir, strlen(nodir)) == 0, "message '%s'", err);
  print_error(NNRT_ERR_IO, err);

  /* The temporary file's name is taken (by a directory). */
  const char *blocked = in_dir("blocked.safetensors");
  save_ok("blocked.safetensors", old_ts, 1, NULL, 0);
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", blocked, (long)getpid());
  CHECK(mkdir(tmp, 0755) == 0);
  expect_save_fails_keeping(blocked, new_ts, 1, err, sizeof err);
  print_error(NNRT_ERR_IO, err);
  CHECK(rmdir(tmp) == 0);

  /* The target is a directory: refused before anything is written. */
  const char *isdir = in_dir("isdir.safetensors");
  CHECK(mkdir(isdir, 0755) == 0);
  save_ok("isdir.safetensors/inner.safetensors", old_ts, 1, NULL, 0);
  CHECK(nnrt_safetensors_save(isdir, old_ts, 1, NULL, 0, err, sizeof err) == NNRT_ERR_IO);
  print_error(NNRT_ERR_IO, err);
  expect_open_error(isdir, NNRT_ERR_IO);

  /* A FIFO (or a device) is not replaced by a checkpoint, and opening one
   * does not wait for a writer: the alarm fails the test if it blocks. */
  const char *fifo = in_dir("fifo.safetensors");
  CHECK(mkfifo(fifo, 0644) == 0);
  alarm(20);
  CHECK(nnrt_safetensors_check_writable(fifo, err, sizeof err) == NNRT_ERR_IO);
  print_error(NNRT_ERR_IO, err);
  CHECK(nnrt_safetensors_save(fifo, old_ts, 1, NULL, 0, err, sizeof err) == NNRT_ERR_IO);
  expect_open_error(fifo, NNRT_ERR_IO);
  alarm(0);
  struct stat fst;
  CHECK(lstat(fifo, &fst) == 0 && S_ISFIFO(fst.st_mode));
  CHECK(unlink(fifo) == 0);

  /* The disk fills up (a file size limit) in the middle of the data. */
  const char *full = in_dir("full.safetensors");
  save_ok("full.safetensors", old_ts, 1, NULL, 0);
  struct rlimit saved, small;
  CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  small = saved;
  small.rlim_cur = 4096;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
  expect_save_fails_keeping(full, new_ts, 1, err, sizeof err);
  CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0);
  signal(SIGXFSZ, old_handler);
  print_error(NNRT_ERR_IO, err);

  /* A directory we may not write to (root may, so only for others). */
  const char *ro = in_dir("ro");
  CHECK(mkdir(ro, 0755) == 0);
  save_ok("ro/kept.safetensors", old_ts, 1, NULL, 0);
  CHECK(chmod(ro, 0555) == 0);
  if (geteuid() != 0) {
    size_t len = 0;
    const char *kept = in_dir("ro/kept.safetensors");
    unsigned char *before = slurp(kept, &len);
    CHECK(nnrt_safetensors_save(kept, new_ts, 1, NULL, 0, err, sizeof err) == NNRT_ERR_IO);
    CHECK(before && same_file(kept, before, len));
    free(before);
  }
  CHECK(chmod(ro, 0755) == 0);

  /* And after all that, saving over the same files works. */
  save_ok("blocked.safetensors", new_ts, 1, NULL, 0);
  reread("blocked.safetensors", new_ts, 1, NULL, 0);
  save_ok("full.safetensors", new_ts, 1, NULL, 0);
  reread("full.safetensors", new_ts, 1, NULL, 0);
  CHECKF(temp_files_left() == 0, "%d temporary files left in %s", temp_files_left(), test_dir);
  free_all(old_ts, 1);
  free_all(new_ts, 1);
}

/* A small file at dir/name. */
static void touch(const char *dir, const char *name) {
  char p[4200];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *fp = fopen(p, "w");
  CHECKF(fp != NULL, "cannot create %s", p);
  if (fp) {
    fputs("partial", fp);
    fclose(fp);
  }
}

static bool exists_in(const char *dir, const char *name) {
  char p[4200];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return lstat(p, &st) == 0;
}

/* A pid that no process has: a child that has exited and been reaped. */
static pid_t dead_pid(void) {
  pid_t pid = fork();
  if (pid == 0)
    _exit(0);
  int status;
  waitpid(pid, &status, 0);
  return pid;
}

/* Only <name>.tmp.<pid> of a gone process goes; everything else stays. */
static void stale_temporaries(void) {
  const char *dir = in_dir("stale");
  CHECK(mkdir(dir, 0755) == 0);
  char ck[4200], dead[64], live[64], mine[64], other[64], link[64];
  snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
  pid_t gone = dead_pid();
  snprintf(dead, sizeof dead, "ck.safetensors.tmp.%ld", (long)gone);
  snprintf(live, sizeof live, "ck.safetensors.tmp.%ld", (long)getppid());
  snprintf(mine, sizeof mine, "ck.safetensors.tmp.%ld", (long)getpid());
  snprintf(other, sizeof other, "other.safetensors.tmp.%ld", (long)gone);
  snprintf(link, sizeof link, "ck.safetensors.tmp.%ld", (long)gone + 1);
  static const char *const kept[] = {"ck.safetensors.tmp.",
                                     "ck.safetensors.tmp.12x",
                                     "ck.safetensors.tmp.-5",
                                     "xck.safetensors.tmp.1",
                                     "ck.safetensors.tmp.99999999999999999999",
                                     "ck.safetensors.tmp.1.bak",
                                     "ck.safetensors"};
  touch(dir, dead);
  touch(dir, live);
  touch(dir, mine);
  touch(dir, other);
  for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
    touch(dir, kept[i]);
  /* A symbolic link of the right name is not a regular file: kept (if its
   * pid happens to be alive, it is kept anyway). */
  char lp[4200];
  snprintf(lp, sizeof lp, "%s/%s", dir, link);
  CHECK(symlink("ck.safetensors", lp) == 0);

  CHECKF(nnrt_safetensors_remove_stale(ck) == 1, "removed %d", nnrt_safetensors_remove_stale(ck));
  CHECK(!exists_in(dir, dead));
  CHECK(exists_in(dir, live) && exists_in(dir, mine) && exists_in(dir, other) &&
        exists_in(dir, link));
  for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
    CHECKF(exists_in(dir, kept[i]), "%s was removed", kept[i]);
  CHECK(nnrt_safetensors_remove_stale(in_dir("no-such-dir/ck.safetensors")) == -1);
}

static int do_errors(void) {
  for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++)
    expect_open_error(in_dir(bad_files[i].file), bad_files[i].code);
  expect_open_error(test_dir, NNRT_ERR_IO);
  save_arg_errors();
  read_arg_errors();
  atomic_saves();
  stale_temporaries();
  return check_report("test_safetensors errors");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_safetensors write|read|errors DIR\n");
    return 2;
  }
  test_dir = argv[2];
  /* The messages go to stdout in order with the summary. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(argv[1], "write") == 0)
    return do_write();
  if (strcmp(argv[1], "read") == 0)
    return do_read();
  if (strcmp(argv[1], "errors") == 0)
    return do_errors();
  fprintf(stderr, "unknown mode '%s'\n", argv[1]);
  return 2;
}
