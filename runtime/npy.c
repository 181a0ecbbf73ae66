/* npy.c - reading and writing NumPy .npy files (format versions 1.0, 2.0 and
 * 3.0; see numpy/lib/format.py).
 *
 * A file is: the magic "\x93NUMPY", a version (major, minor), the header
 * length (uint16 LE in 1.0, uint32 LE in 2.0/3.0), a header that is a Python
 * dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline, then the raw elements in C order.
 *
 * The reader trusts nothing in the file: the header is parsed as a small
 * grammar (keys in any order, either quote, a trailing comma, () for a
 * scalar) with a size cap; every size is checked for overflow; and the data
 * length is compared with the file size (or, for a member of a .npz, its
 * size; see npz.c) before anything is allocated for it, so a hostile header
 * cannot make us allocate terabytes. Every message starts with the path.
 */
#include "fileio.h"
#include "nnrt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c reads and writes little-endian data in place: a big-endian host needs byte swaps"
#endif

/* numpy itself refuses headers over 10000 bytes unless told otherwise. */
enum { MAX_HEADER = 64 * 1024 };

static const char MAGIC[6] = "\x93NUMPY";

typedef nnrt_file_ctx NpyCtx;

/* ---- the header dict ---- */

typedef struct {
  const char *p, *end;
} Cursor;

typedef struct {
  char descr[32];
  bool fortran;
  int rank;
  int64_t dims[NNRT_MAX_RANK];
  bool have_descr, have_fortran, have_shape;
} Header;

static void skip_space(Cursor *cur) {
  while (cur->p < cur->end &&
         (*cur->p == ' ' || *cur->p == '\t' || *cur->p == '\n' || *cur->p == '\r'))
    cur->p++;
}

/* Skips blanks, then consumes ch if it is next. */
static bool accept(Cursor *cur, char ch) {
  skip_space(cur);
  if (cur->p < cur->end && *cur->p == ch) {
    cur->p++;
    return true;
  }
  return false;
}

static bool at_word(Cursor *cur, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(cur->end - cur->p) < n || memcmp(cur->p, word, n) != 0)
    return false;
  cur->p += n;
  return true;
}

/* A quoted string without escapes (repr() of the strings numpy writes has
 * none); `what` names it in messages. */
static int parse_string(const NpyCtx *c, Cursor *cur, char *out, size_t cap, const char *what) {
  skip_space(cur);
  if (cur->p >= cur->end || (*cur->p != '\'' && *cur->p != '"'))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: expected a quoted %s", what);
  char quote = *cur->p++;
  size_t n = 0;
  while (cur->p < cur->end && *cur->p != quote) {
    if (n + 1 >= cap)
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: %s too long", what);
    out[n++] = *cur->p++;
  }
  if (cur->p >= cur->end)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: unterminated %s", what);
  cur->p++;
  out[n] = '\0';
  return NNRT_OK;
}

static int parse_bool(const NpyCtx *c, Cursor *cur, bool *out) {
  skip_space(cur);
  if (at_word(cur, "True"))
    *out = true;
  else if (at_word(cur, "False"))
    *out = false;
  else
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "malformed header: 'fortran_order' is not True or False");
  return NNRT_OK;
}

/* One dimension: decimal digits, with the 'L' suffix of Python 2 longs. */
static int parse_dim(const NpyCtx *c, Cursor *cur, int64_t *out) {
  skip_space(cur);
  if (cur->p < cur->end && *cur->p == '-')
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "negative dimension in 'shape'");
  if (cur->p >= cur->end || *cur->p < '0' || *cur->p > '9')
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: expected a dimension in 'shape'");
  int64_t v = 0;
  while (cur->p < cur->end && *cur->p >= '0' && *cur->p <= '9') {
    int digit = *cur->p++ - '0';
    if (v > (INT64_MAX - digit) / 10)
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "dimension in 'shape' is too large");
    v = v * 10 + digit;
  }
  if (cur->p < cur->end && (*cur->p == 'L' || *cur->p == 'l'))
    cur->p++;
  *out = v;
  return NNRT_OK;
}

/* A tuple: (), (3,), (2, 3), (2, 3,). (3) is taken as (3,): no writer means
 * anything else by it. */
static int parse_shape(const NpyCtx *c, Cursor *cur, Header *h) {
  if (!accept(cur, '('))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: 'shape' is not a tuple");
  h->rank = 0;
  while (!accept(cur, ')')) {
    if (h->rank == NNRT_MAX_RANK)
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "shape has more than %d dimensions", NNRT_MAX_RANK);
    int rc = parse_dim(c, cur, &h->dims[h->rank]);
    if (rc != NNRT_OK)
      return rc;
    h->rank++;
    if (accept(cur, ')'))
      break;
    if (!accept(cur, ','))
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: expected ',' or ')' in 'shape'");
  }
  return NNRT_OK;
}

static int parse_entry(const NpyCtx *c, Cursor *cur, Header *h) {
  char key[32];
  int rc = parse_string(c, cur, key, sizeof key, "key");
  if (rc != NNRT_OK)
    return rc;
  if (!accept(cur, ':'))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: expected ':' after '%s'", key);
  bool *seen;
  if (strcmp(key, "descr") == 0) {
    seen = &h->have_descr;
    skip_space(cur);
    if (cur->p < cur->end && (*cur->p == '[' || *cur->p == '{'))
      return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                            "unsupported dtype: structured arrays are not supported");
    rc = parse_string(c, cur, h->descr, sizeof h->descr, "'descr'");
  } else if (strcmp(key, "fortran_order") == 0) {
    seen = &h->have_fortran;
    rc = parse_bool(c, cur, &h->fortran);
  } else if (strcmp(key, "shape") == 0) {
    seen = &h->have_shape;
    rc = parse_shape(c, cur, h);
  } else {
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: unexpected key '%s'", key);
  }
  if (rc != NNRT_OK)
    return rc;
  if (*seen)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: key '%s' given twice", key);
  *seen = true;
  return NNRT_OK;
}

static int parse_header(const NpyCtx *c, const char *text, size_t len, Header *h) {
  Cursor cur = {text, text + len};
  memset(h, 0, sizeof *h);
  if (!accept(&cur, '{'))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: expected '{'");
  while (!accept(&cur, '}')) {
    int rc = parse_entry(c, &cur, h);
    if (rc != NNRT_OK)
      return rc;
    if (accept(&cur, '}'))
      break;
    if (!accept(&cur, ','))
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: expected ',' or '}'");
  }
  skip_space(&cur);
  if (cur.p != cur.end)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: text after '}'");
  const char *missing = !h->have_descr     ? "descr"
                        : !h->have_fortran ? "fortran_order"
                        : !h->have_shape   ? "shape"
                                           : NULL;
  if (missing)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "malformed header: no '%s'", missing);
  return NNRT_OK;
}

/* ---- dtypes ---- */

/* The element type of a descr; *file_size is the width in the file (8 for
 * i8, which is narrowed to i32). */
static int descr_dtype(const NpyCtx *c, const char *descr, nnrt_dtype *dt, size_t *file_size) {
  static const struct {
    const char *code;
    nnrt_dtype dt;
    size_t size;
  } known[] = {
      {"f4", NNRT_F32, 4}, {"f8", NNRT_F64, 8},  {"i4", NNRT_I32, 4},
      {"i8", NNRT_I32, 8}, {"b1", NNRT_BOOL, 1},
  };
  char order = descr[0];
  const char *code = descr;
  if (order == '<' || order == '>' || order == '|' || order == '=')
    code++;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    if (strcmp(code, known[i].code) != 0)
      continue;
    if (order == '>' && known[i].size > 1)
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "big-endian data ('%s') is not supported", descr);
    *dt = known[i].dt;
    *file_size = known[i].size;
    return NNRT_OK;
  }
  return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                        "unsupported dtype '%s' (nnc reads f4, f8, i4, i8 and b1)", descr);
}

/* ---- reading ---- */

static uint32_t load_le(const unsigned char *p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* Reads the magic, version and header text (malloc'd into *text). */
static int read_prelude(const NpyCtx *c, FILE *fp, char **text, size_t *len) {
  unsigned char pre[12];
  if (fread(pre, 1, 8, fp) != 8 || memcmp(pre, MAGIC, 6) != 0)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "not a .npy file (bad magic)");
  int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "unsupported .npy version %d.%d", major, minor);
  int lenbytes = major == 1 ? 2 : 4;
  if (fread(pre + 8, 1, (size_t)lenbytes, fp) != (size_t)lenbytes)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "truncated header");
  uint32_t hlen = load_le(pre + 8, lenbytes);
  if (hlen > MAX_HEADER)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "header too large (%" PRIu32 " bytes, at most %d)",
                          hlen, MAX_HEADER);
  *text = malloc(hlen ? hlen : 1);
  if (!*text)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory");
  if (fread(*text, 1, hlen, fp) != hlen) {
    free(*text);
    *text = NULL;
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "truncated header");
  }
  *len = hlen;
  return NNRT_OK;
}

/* Bytes left after the header: up to `end` (an offset in fp) when that is
 * known, else to the end of fp's file if it is a regular one, else -1. */
static int64_t bytes_left(FILE *fp, int64_t end) {
  struct stat st;
  long pos = ftell(fp);
  if (pos < 0)
    return -1;
  if (end >= 0)
    return end > pos ? end - pos : 0;
  if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))
    return -1;
  return st.st_size > pos ? (int64_t)st.st_size - pos : 0;
}

/* Narrows i8 values in place to i32, failing on the first that does not fit. */
static int narrow_i64(const NpyCtx *c, unsigned char *buf, int64_t numel) {
  for (int64_t i = 0; i < numel; i++) {
    int64_t v;
    memcpy(&v, buf + 8 * i, 8);
    if (v < INT32_MIN || v > INT32_MAX)
      return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                            "i8 value %" PRId64 " at index %" PRId64 " does not fit in i32", v, i);
    int32_t w = (int32_t)v;
    memcpy(buf + 4 * i, &w, 4); /* bytes already read: 4i < 8i + 8 */
  }
  return NNRT_OK;
}

/* The array's bytes in the file; false when they overflow. */
static bool data_bytes(const Header *h, size_t file_size, size_t *bytes) {
  nnrt_tensor t = {.rank = h->rank};
  memcpy(t.dims, h->dims, sizeof t.dims);
  int64_t numel = nnrt_tensor_numel(&t);
  if (numel < 0 || (uint64_t)numel > SIZE_MAX / file_size)
    return false;
  *bytes = (size_t)numel * file_size;
  return true;
}

/* The data after the header must be exactly the shape's bytes: fewer is a
 * truncated file, more is a file that is not what its header says (a
 * second array appended, or the wrong shape written). start: where the
 * magic is in fp. */
static int check_data_size(const NpyCtx *c, FILE *fp, int64_t start, int64_t end, size_t bytes) {
  int64_t left = bytes_left(fp, end);
  if (left < 0 || (uint64_t)left == bytes)
    return NNRT_OK;
  if ((uint64_t)left < bytes)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "truncated data: expected %zu bytes, found %" PRId64,
                          bytes, left);
  long pos = ftell(fp);
  int64_t header = pos >= start ? (int64_t)pos - start : 0;
  return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                        "%" PRId64 " bytes after the array: its header and shape make %" PRId64
                        " bytes, but there are %" PRId64,
                        left - (int64_t)bytes, header + (int64_t)bytes, header + left);
}

static int read_data(const NpyCtx *c, FILE *fp, int64_t start, int64_t end, const Header *h,
                     nnrt_dtype dt, size_t file_size, nnrt_tensor *out) {
  nnrt_tensor t = {.dtype = dt, .rank = h->rank};
  memcpy(t.dims, h->dims, sizeof t.dims);
  int64_t numel = nnrt_tensor_numel(&t);
  size_t bytes;
  if (!data_bytes(h, file_size, &bytes))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "shape has too many elements");
  int rc = check_data_size(c, fp, start, end, bytes);
  if (rc != NNRT_OK)
    return rc;
  unsigned char *buf = malloc(bytes ? bytes : 1);
  if (!buf)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for %zu bytes of data", bytes);
  size_t got = fread(buf, 1, bytes, fp);
  if (got != bytes) {
    int io = ferror(fp);
    free(buf);
    if (io)
      return nnrt_file_fail(c, NNRT_ERR_IO, "cannot read: %s", strerror(errno));
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "truncated data: expected %zu bytes, found %zu",
                          bytes, got);
  }
  if (file_size == 8 && dt == NNRT_I32) {
    int rc = narrow_i64(c, buf, numel);
    if (rc != NNRT_OK) {
      free(buf);
      return rc;
    }
    unsigned char *smaller = realloc(buf, bytes / 2 ? bytes / 2 : 1);
    if (smaller)
      buf = smaller;
  }
  if (dt == NNRT_BOOL) /* numpy reads any non-zero byte as True */
    for (size_t i = 0; i < bytes; i++)
      buf[i] = buf[i] != 0;
  t.data = buf;
  *out = t;
  return NNRT_OK;
}

/* The header of the array at fp's position, parsed and checked. */
static int read_header(const NpyCtx *c, FILE *fp, Header *h, nnrt_dtype *dt, size_t *file_size) {
  char *text = NULL;
  size_t len = 0;
  int rc = read_prelude(c, fp, &text, &len);
  if (rc != NNRT_OK)
    return rc;
  memset(h, 0, sizeof *h);
  rc = parse_header(c, text, len, h);
  free(text);
  if (rc != NNRT_OK)
    return rc;
  *dt = NNRT_F32;
  *file_size = 1;
  rc = descr_dtype(c, h->descr, dt, file_size);
  if (rc != NNRT_OK)
    return rc;
  /* Rank 0 and 1 are laid out the same in either order. */
  if (h->fortran && h->rank > 1)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "Fortran-order arrays are not supported");
  return NNRT_OK;
}

static int read_file(const NpyCtx *c, FILE *fp, int64_t start, int64_t end, nnrt_tensor *out) {
  Header h;
  nnrt_dtype dt;
  size_t file_size;
  int rc = read_header(c, fp, &h, &dt, &file_size);
  return rc != NNRT_OK ? rc : read_data(c, fp, start, end, &h, dt, file_size, out);
}

int nnrt_npy_read_stream(const nnrt_file_ctx *c, FILE *fp, int64_t size, nnrt_tensor *out) {
  memset(out, 0, sizeof *out);
  long start = ftell(fp);
  if (start < 0)
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot tell the position: %s", strerror(errno));
  return read_file(c, fp, start, size >= 0 ? start + size : -1, out);
}

int nnrt_npy_sizes(const nnrt_file_ctx *c, const unsigned char *prefix, size_t len,
                   uint64_t *header, uint64_t *data, nnrt_tensor *shape) {
  FILE *fp = fmemopen((void *)prefix, len, "rb");
  if (!fp)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "cannot read the header from memory: %s",
                          strerror(errno));
  Header h;
  nnrt_dtype dt;
  size_t file_size, bytes = 0;
  int rc = read_header(c, fp, &h, &dt, &file_size);
  if (rc == NNRT_OK && !data_bytes(&h, file_size, &bytes))
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT, "shape has too many elements");
  long pos = ftell(fp);
  fclose(fp);
  if (rc != NNRT_OK)
    return rc;
  *header = pos > 0 ? (uint64_t)pos : 0;
  *data = bytes;
  if (shape) {
    *shape = (nnrt_tensor){.dtype = dt, .rank = h.rank};
    memcpy(shape->dims, h.dims, sizeof shape->dims);
  }
  return NNRT_OK;
}

int nnrt_npy_read(const char *path, nnrt_tensor *out, char *err, size_t errlen) {
  NpyCtx c = {path ? path : "(null)", err, errlen};
  if (!path || !out)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "%s is NULL", path ? "output tensor" : "path");
  memset(out, 0, sizeof *out);
  FILE *fp;
  uint64_t size;
  int rc = nnrt_file_open_regular(&c, &fp, &size);
  if (rc != NNRT_OK)
    return rc;
  rc = size <= INT64_MAX ? nnrt_npy_read_stream(&c, fp, (int64_t)size, out)
                         : nnrt_file_fail(&c, NNRT_ERR_FORMAT, "too large");
  fclose(fp);
  return rc;
}

/* ---- writing ---- */

static const char *dtype_descr(nnrt_dtype dt) {
  switch (dt) {
  case NNRT_F32:
    return "<f4";
  case NNRT_F64:
    return "<f8";
  case NNRT_I32:
    return "<i4";
  case NNRT_BOOL:
    return "|b1";
  }
  return NULL;
}

/* The 1.0 prelude and header, padded with spaces and a newline so that the
 * data starts at a multiple of 64 bytes, as numpy writes it. Returns the
 * total length; buf needs 512 bytes (eight 19-digit dims fit easily). */
static size_t format_prelude(const nnrt_tensor *t, char *buf) {
  int n = snprintf(buf + 10, 400, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                   dtype_descr(t->dtype));
  for (int i = 0; i < t->rank; i++)
    n += snprintf(buf + 10 + n, 400 - (size_t)n, "%s%" PRId64, i ? ", " : "", t->dims[i]);
  n += snprintf(buf + 10 + n, 400 - (size_t)n, "%s), }", t->rank == 1 ? "," : "");
  size_t total = 10 + (size_t)n + 1;
  size_t padded = (total + 63) / 64 * 64;
  memset(buf + 10 + n, ' ', padded - total);
  buf[padded - 1] = '\n';
  size_t hlen = padded - 10;
  memcpy(buf, MAGIC, 6);
  buf[6] = 1;
  buf[7] = 0;
  buf[8] = (char)(hlen & 0xff);
  buf[9] = (char)(hlen >> 8);
  return padded;
}

static int write_file(const NpyCtx *c, const char *tmp, const nnrt_tensor *t, size_t bytes) {
  char prelude[512];
  size_t plen = format_prelude(t, prelude);
  FILE *fp = fopen(tmp, "wb");
  if (!fp)
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
  /* fsync before the rename: otherwise a crash can leave the new name
   * pointing at an empty file on some file systems. */
  bool ok = fwrite(prelude, 1, plen, fp) == plen &&
            (bytes == 0 || fwrite(t->data, 1, bytes, fp) == bytes) && fflush(fp) == 0 &&
            fsync(fileno(fp)) == 0;
  int saved = errno;
  if (fclose(fp) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok)
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot write '%s': %s", tmp, strerror(saved));
  return NNRT_OK;
}

static int check_tensor(const NpyCtx *c, const nnrt_tensor *t, size_t *bytes) {
  if (!t)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor is NULL");
  if (!dtype_descr(t->dtype))
    return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor has an unknown dtype (%d)", (int)t->dtype);
  int64_t numel = nnrt_tensor_numel(t);
  size_t size = nnrt_dtype_size(t->dtype);
  if (numel < 0 || (uint64_t)numel > SIZE_MAX / size)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor has an invalid shape (rank %d)", t->rank);
  if (numel > 0 && !t->data)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor data is NULL");
  *bytes = (size_t)numel * size;
  return NNRT_OK;
}

int nnrt_npy_write(const char *path, const nnrt_tensor *t, char *err, size_t errlen) {
  NpyCtx c = {path ? path : "(null)", err, errlen};
  if (!path)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "path is NULL");
  size_t bytes = 0;
  int rc = check_tensor(&c, t, &bytes);
  if (rc != NNRT_OK)
    return rc;
  size_t plen = strlen(path);
  char *tmp = malloc(plen + sizeof ".tmp");
  if (!tmp)
    return nnrt_file_fail(&c, NNRT_ERR_NOMEM, "out of memory");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp", sizeof ".tmp");
  rc = write_file(&c, tmp, t, bytes);
  if (rc == NNRT_OK && rename(tmp, path) != 0)
    rc = nnrt_file_fail(&c, NNRT_ERR_IO, "cannot rename '%s' to it: %s", tmp, strerror(errno));
  if (rc != NNRT_OK)
    unlink(tmp);
  free(tmp);
  return rc;
}
