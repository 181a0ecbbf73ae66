/* data_csv.c - numeric CSV files as data sets (see nnrt_data.h).
 *
 * The whole file is read at once and scanned line by line. The first data
 * row fixes the number of fields; every later row must have as many. Only
 * the columns that are used (the label and the features) are parsed, so a
 * column of names can sit in the file as long as it is not selected.
 *
 * Numbers are parsed without locale surprises: a field must match
 *   [+-]? ( digits [. digits?] | . digits ) ( [eE] [+-]? digits )?
 * (with spaces or tabs around it) before strtod sees it, and the '.' is
 * swapped for the locale's decimal point if a program has set one, so "1,5"
 * never parses and "1.5" always does. inf and nan are rejected.
 *
 * Messages are "path:LINE:COL: problem" where LINE counts every line of the
 * file from 1 (blank ones and the header too) and COL is the 1-based byte
 * column where the offending field's text starts (after leading blanks).
 */
#include "fileio.h"
#include "labels.h"
#include "nnrt_data.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef nnrt_file_ctx Ctx;

/* "path:line:col: " + the message. */
__attribute__((format(printf, 5, 6))) static int fail_at(const Ctx *c, int code, int64_t line,
                                                         int64_t col, const char *fmt, ...) {
  char prefix[4096];
  snprintf(prefix, sizeof prefix, "%s:%" PRId64 ":%" PRId64 ": ", c->path, line, col);
  va_list ap;
  va_start(ap, fmt);
  nnrt_verrorf(c->err, c->errlen, code, prefix, fmt, ap);
  va_end(ap);
  return code;
}

/* ---- fields ---- */

typedef struct {
  const char *s, *e; /* the text, blanks trimmed */
} Span;

static bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* The field's text for a message: quoted by the caller, at most 40 bytes,
 * unprintable bytes as '?'. */
static const char *shown(const Span *f, char *buf, size_t cap) {
  size_t len = (size_t)(f->e - f->s), n = 0;
  bool cut = len > 40;
  if (cut)
    len = 37;
  for (size_t i = 0; i < len && n + 1 < cap; i++) {
    unsigned char ch = (unsigned char)f->s[i];
    buf[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
  }
  for (int i = 0; cut && i < 3 && n + 1 < cap; i++)
    buf[n++] = '.';
  buf[n] = '\0';
  return buf;
}

enum { NUM_OK, NUM_BAD, NUM_NONFINITE, NUM_RANGE, NUM_NOMEM };

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static bool word_ci(const char *s, const char *e, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(e - s) != n)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch >= 'A' && ch <= 'Z')
      ch = (char)(ch - 'A' + 'a');
    if (ch != w[i])
      return false;
  }
  return true;
}

/* Parses the trimmed text [s, e) as a decimal number (the grammar at the top
 * of the file). */
static int parse_number(const char *s, const char *e, double *out) {
  const char *p = s;
  if (p < e && (*p == '+' || *p == '-'))
    p++;
  if (word_ci(p, e, "inf") || word_ci(p, e, "infinity") || word_ci(p, e, "nan"))
    return NUM_NONFINITE;
  size_t int_digits = 0, frac_digits = 0;
  const char *dot = NULL;
  while (p < e && is_digit(*p))
    p++, int_digits++;
  if (p < e && *p == '.') {
    dot = p++;
    while (p < e && is_digit(*p))
      p++, frac_digits++;
  }
  if (int_digits + frac_digits == 0)
    return NUM_BAD;
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-'))
      p++;
    if (p >= e || !is_digit(*p))
      return NUM_BAD;
    while (p < e && is_digit(*p))
      p++;
  }
  if (p != e)
    return NUM_BAD;

  /* strtod with the locale's decimal point in place of '.'. */
  const char *point = ".";
  if (dot) {
    const struct lconv *lc = localeconv();
    if (lc && lc->decimal_point && lc->decimal_point[0])
      point = lc->decimal_point;
  }
  size_t plen = strlen(point), len = (size_t)(e - s);
  size_t need = len + plen + 1;
  char small[128];
  char *buf = need <= sizeof small ? small : malloc(need);
  if (!buf)
    return NUM_NOMEM;
  size_t n = 0;
  for (const char *q = s; q < e; q++) {
    if (q == dot) {
      memcpy(buf + n, point, plen);
      n += plen;
    } else {
      buf[n++] = *q;
    }
  }
  buf[n] = '\0';
  errno = 0;
  char *end = NULL;
  double v = strtod(buf, &end);
  bool whole = end == buf + n;
  int range = errno == ERANGE && isinf(v);
  if (buf != small)
    free(buf);
  if (!whole)
    return NUM_BAD;
  if (range)
    return NUM_RANGE;
  *out = v; /* an underflow (ERANGE, tiny or 0) is taken as is */
  return NUM_OK;
}

/* ---- the loader ---- */

typedef struct {
  const Ctx *c;
  const nnrt_csv_options *o;
  double scale;
  /* the rows' layout, fixed by the first data row */
  int64_t ncols, first_line;
  int64_t label; /* resolved label column, -1 without one */
  int64_t *feat; /* resolved feature columns */
  int64_t nfeat;
  Span *fields; /* the current row's fields */
  int64_t fcap;
  float *x; /* [cap_rows, nfeat] */
  void *y;  /* [cap_rows] */
  int64_t n, cap_rows;
} Loader;

/* Resolves a column index (negative from the end) against ncols; -1 if out
 * of range. */
static int64_t resolve(int64_t col, int64_t ncols) {
  int64_t r = col < 0 ? ncols + col : col;
  return r >= 0 && r < ncols ? r : -1;
}

/* Called on the first data row: fixes ncols and resolves the columns. */
static int setup_columns(Loader *L, int64_t line, int64_t ncols) {
  const Ctx *c = L->c;
  const nnrt_csv_options *o = L->o;
  L->ncols = ncols;
  L->first_line = line;
  L->label = -1;
  if (o->has_label) {
    L->label = resolve(o->label, ncols);
    if (L->label < 0)
      return nnrt_file_fail(c, NNRT_ERR_ARG,
                            "label column %d is out of range: line %" PRId64 " has %" PRId64
                            " %s (columns 0..%" PRId64 ", or -%" PRId64 "..-1 from the end)",
                            o->label, line, ncols, nnrt_plural(ncols, "field", "fields"), ncols - 1,
                            ncols);
  }
  L->nfeat = o->features ? o->nfeatures : (o->has_label ? ncols - 1 : ncols);
  if (L->nfeat <= 0)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "no feature columns: line %" PRId64 " has only the label column", line);
  L->feat = malloc((size_t)L->nfeat * sizeof *L->feat);
  if (!L->feat)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory");
  if (o->features) {
    for (int i = 0; i < o->nfeatures; i++) {
      L->feat[i] = resolve(o->features[i], ncols);
      if (L->feat[i] < 0)
        return nnrt_file_fail(c, NNRT_ERR_ARG,
                              "feature column %d (features[%d]) is out of range: line %" PRId64
                              " has %" PRId64 " %s (columns 0..%" PRId64 ", or -%" PRId64
                              "..-1 from the end)",
                              o->features[i], i, line, ncols, nnrt_plural(ncols, "field", "fields"),
                              ncols - 1, ncols);
    }
  } else {
    int64_t k = 0;
    for (int64_t j = 0; j < ncols; j++)
      if (j != L->label)
        L->feat[k++] = j;
  }
  return NNRT_OK;
}

/* Makes room for one more row in x and y. */
static int grow_rows(Loader *L) {
  if (L->n < L->cap_rows)
    return NNRT_OK;
  int64_t cap = L->cap_rows ? L->cap_rows : 256;
  if (L->cap_rows) {
    if (cap > INT64_MAX / 2)
      return nnrt_file_fail(L->c, NNRT_ERR_NOMEM, "too many rows");
    cap *= 2;
  }
  if ((uint64_t)cap > SIZE_MAX / sizeof(float) / (uint64_t)L->nfeat)
    return nnrt_file_fail(L->c, NNRT_ERR_NOMEM,
                          "too many rows for memory (%" PRId64 " x %" PRId64 ")", cap, L->nfeat);
  float *x = realloc(L->x, (size_t)cap * (size_t)L->nfeat * sizeof(float));
  if (!x)
    return nnrt_file_fail(L->c, NNRT_ERR_NOMEM, "out of memory for %" PRId64 " rows", cap);
  L->x = x;
  if (L->label >= 0) {
    void *y = realloc(L->y, (size_t)cap * 4); /* i32 and f32 are both 4 bytes */
    if (!y)
      return nnrt_file_fail(L->c, NNRT_ERR_NOMEM, "out of memory for %" PRId64 " rows", cap);
    L->y = y;
  }
  L->cap_rows = cap;
  return NNRT_OK;
}

/* Splits [ls, le) at commas into L->fields (blanks trimmed); *nf = count. */
static int split_fields(Loader *L, const char *ls, const char *le, int64_t *nf) {
  int64_t n = 0;
  const char *f = ls;
  for (;;) {
    const char *comma = memchr(f, ',', (size_t)(le - f));
    const char *fe = comma ? comma : le;
    if (n == L->fcap) {
      int64_t cap = L->fcap ? L->fcap * 2 : 64;
      if ((uint64_t)cap > SIZE_MAX / sizeof(Span))
        return nnrt_file_fail(L->c, NNRT_ERR_NOMEM, "too many fields");
      Span *bigger = realloc(L->fields, (size_t)cap * sizeof(Span));
      if (!bigger)
        return nnrt_file_fail(L->c, NNRT_ERR_NOMEM, "out of memory");
      L->fields = bigger;
      L->fcap = cap;
    }
    const char *s = f, *e = fe;
    while (s < e && is_blank(*s))
      s++;
    while (e > s && is_blank(e[-1]))
      e--;
    if (s == e) /* an empty field: its column is where it starts */
      s = e = f;
    L->fields[n++] = (Span){s, e};
    if (!comma)
      break;
    f = comma + 1;
  }
  *nf = n;
  return NNRT_OK;
}

/* The error for a field that parse_number refused; `what` prefixes the
 * problem ("label " or ""). */
static int field_error(const Loader *L, int rc, int64_t line, const char *ls, const Span *f,
                       const char *what) {
  char text[48];
  int64_t col = (int64_t)(f->s - ls) + 1;
  switch (rc) {
  case NUM_NONFINITE:
    return fail_at(L->c, NNRT_ERR_FORMAT, line, col, "%s'%s' is not a finite number", what,
                   shown(f, text, sizeof text));
  case NUM_RANGE:
    return fail_at(L->c, NNRT_ERR_FORMAT, line, col, "%s'%s' is out of range", what,
                   shown(f, text, sizeof text));
  case NUM_NOMEM:
    return nnrt_file_fail(L->c, NNRT_ERR_NOMEM, "out of memory");
  }
  if (f->s == f->e)
    return fail_at(L->c, NNRT_ERR_FORMAT, line, col, "%s",
                   *what ? "empty label field" : "empty field where a number was expected");
  return fail_at(L->c, NNRT_ERR_FORMAT, line, col, "%s'%s' is not a number", what,
                 shown(f, text, sizeof text));
}

static int store_label(Loader *L, int64_t line, const char *ls, const Span *f) {
  double v = 0;
  int rc = parse_number(f->s, f->e, &v);
  if (rc != NUM_OK)
    return field_error(L, rc, line, ls, f, "label ");
  int64_t col = (int64_t)(f->s - ls) + 1;
  char text[48];
  const nnrt_label_spec *ys = &L->o->y;
  if (ys->dtype == NNRT_F32) {
    float w = (float)v;
    if (!isfinite(w))
      return fail_at(L->c, NNRT_ERR_FORMAT, line, col, "label '%s' does not fit in f32",
                     shown(f, text, sizeof text));
    ((float *)L->y)[L->n] = w;
    return NNRT_OK;
  }
  if (v != floor(v))
    return fail_at(L->c, NNRT_ERR_FORMAT, line, col, "label '%s' is not an integer",
                   shown(f, text, sizeof text));
  if (v < INT32_MIN || v > INT32_MAX)
    return fail_at(L->c, NNRT_ERR_FORMAT, line, col, "label '%s' does not fit in i32",
                   shown(f, text, sizeof text));
  int32_t k = (int32_t)v;
  if (ys->num_classes > 0 && (k < 0 || k >= ys->num_classes))
    return fail_at(L->c, NNRT_ERR_FORMAT, line, col,
                   "label %" PRId32 " is outside the %" PRId64 " %s 0..%" PRId64, k,
                   ys->num_classes, nnrt_plural(ys->num_classes, "class", "classes"),
                   ys->num_classes - 1);
  ((int32_t *)L->y)[L->n] = k;
  return NNRT_OK;
}

static int store_row(Loader *L, int64_t line, const char *ls) {
  int rc = grow_rows(L);
  if (rc != NNRT_OK)
    return rc;
  float *row = L->x + L->n * L->nfeat;
  for (int64_t i = 0; i < L->nfeat; i++) {
    const Span *f = &L->fields[L->feat[i]];
    double v = 0;
    int prc = parse_number(f->s, f->e, &v);
    if (prc != NUM_OK)
      return field_error(L, prc, line, ls, f, "");
    float w = (float)(v * L->scale);
    if (!isfinite(w)) {
      char text[48];
      int64_t col = (int64_t)(f->s - ls) + 1;
      if (L->scale != 1)
        return fail_at(L->c, NNRT_ERR_FORMAT, line, col,
                       "'%s' times the scale %g does not fit in f32", shown(f, text, sizeof text),
                       L->scale);
      return fail_at(L->c, NNRT_ERR_FORMAT, line, col, "'%s' does not fit in f32",
                     shown(f, text, sizeof text));
    }
    row[i] = w;
  }
  if (L->label >= 0) {
    rc = store_label(L, line, ls, &L->fields[L->label]);
    if (rc != NNRT_OK)
      return rc;
  }
  L->n++;
  return NNRT_OK;
}

static bool blank_line(const char *s, const char *e) {
  while (s < e && (is_blank(*s) || *s == '\r'))
    s++;
  return s == e;
}

static int check_options(const Ctx *c, const nnrt_csv_options *o) {
  if (o->features && o->nfeatures <= 0)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "nfeatures is %d: give at least one feature column",
                          o->nfeatures);
  if (!isfinite(o->scale))
    return nnrt_file_fail(c, NNRT_ERR_ARG, "scale %g is not a finite number", o->scale);
  if (o->has_label) {
    return nnrt_check_label_spec(c, &o->y);
  }
  return NNRT_OK;
}

static int load(Loader *L, const char *buf, size_t len) {
  const Ctx *c = L->c;
  const char *p = buf, *end = buf + len;
  if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte order mark */
    p += 3;
  bool skip_header = L->o->header;
  int64_t line = 0;
  while (p < end) {
    line++;
    const char *ls = p;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    p = nl ? nl + 1 : end;
    if (le > ls && le[-1] == '\r')
      le--;
    if (blank_line(ls, le))
      continue;
    if (skip_header) {
      skip_header = false;
      continue;
    }
    int64_t nf = 0;
    int rc = split_fields(L, ls, le, &nf);
    if (rc != NNRT_OK)
      return rc;
    if (L->ncols == 0) {
      rc = setup_columns(L, line, nf);
      if (rc != NNRT_OK)
        return rc;
    } else if (nf != L->ncols) {
      return fail_at(c, NNRT_ERR_FORMAT, line, 1,
                     "row has %" PRId64 " %s, expected %" PRId64 " like line %" PRId64, nf,
                     nnrt_plural(nf, "field", "fields"), L->ncols, L->first_line);
    }
    rc = store_row(L, line, ls);
    if (rc != NNRT_OK)
      return rc;
  }
  if (L->n == 0)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "no data rows");
  return NNRT_OK;
}

int nnrt_load_csv(const char *path, const nnrt_csv_options *o, nnrt_dataset *out, char *err,
                  size_t errlen) {
  Ctx c = {path ? path : "(null)", err, errlen};
  if (!path || !o || !out)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "%s is NULL",
                          !path ? "path"
                          : !o  ? "options"
                                : "output");
  memset(out, 0, sizeof *out);
  int rc = check_options(&c, o);
  if (rc != NNRT_OK)
    return rc;
  char *buf = NULL;
  size_t len = 0;
  rc = nnrt_file_read_all(&c, (unsigned char **)&buf, &len);
  if (rc != NNRT_OK)
    return rc;
  Loader L = {.c = &c, .o = o, .scale = o->scale == 0 ? 1.0 : o->scale};
  rc = load(&L, buf, len);
  free(buf);
  free(L.fields);
  free(L.feat);
  if (rc != NNRT_OK) {
    free(L.x);
    free(L.y);
    return rc;
  }
  /* Give back the unused capacity. */
  float *x = realloc(L.x, (size_t)L.n * (size_t)L.nfeat * sizeof(float));
  if (x)
    L.x = x;
  if (L.y) {
    void *y = realloc(L.y, (size_t)L.n * 4);
    if (y)
      L.y = y;
  }
  out->n = L.n;
  out->x_dtype = NNRT_F32;
  out->x_rank = 1;
  out->x_dims[0] = L.nfeat;
  out->x_size = L.nfeat;
  out->x = L.x;
  if (L.label >= 0) {
    out->y_dtype = o->y.dtype;
    out->y_rank = 0;
    out->y_size = 1;
    out->y = L.y;
  } else {
    out->y_dtype = o->y.dtype == NNRT_I32 ? NNRT_I32 : NNRT_F32;
    out->y_rank = 1;
    out->y_dims[0] = 0;
    out->y_size = 0;
    out->y = NULL;
  }
  return NNRT_OK;
}
