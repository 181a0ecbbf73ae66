/* safetensors.c - checkpoints in the safetensors format (see
 * nnrt_checkpoint.h and https://github.com/huggingface/safetensors).
 *
 * A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON,
 * then the data area: every tensor's bytes, row-major and little-endian, at
 * [begin, end) relative to the start of the data area.
 *
 * Writing: the header is written by hand (integers must stay integers, and
 * the escaping is simple), with the tensors in the caller's order, data
 * offsets contiguous from 0, "__metadata__" first when there is any, and
 * the JSON padded with spaces to a multiple of 8 bytes so that the data
 * starts 8-aligned. The file goes to path.tmp.<pid>, is flushed and synced,
 * then renamed over path; on any failure the temporary file is removed and
 * path is untouched.
 *
 * Reading: the header is parsed with cJSON after its length has been checked
 * against a 100 MiB cap and the file size, so a hostile length never makes
 * us allocate. Every entry is then checked (dtype, shape, offsets, size) and
 * so is the layout: sorted by offset, the tensors must tile the data area
 * exactly, without overlaps, holes or trailing bytes. Only then is the data
 * area read into memory. Tensors of safetensors dtypes nnc has no type for
 * (F16, BF16, I64, U8, ...) are accepted in the file and refused by
 * nnrt_safetensors_read. Unknown keys inside an entry are ignored, as the
 * reference implementation does.
 *
 * cJSON's number type is a double: integers above 2^53 (9 PB of data) are
 * refused rather than rounded. cJSON records the position of its last parse
 * error in a global (we take it from return_parse_end instead); that global
 * is written by every parse, so opening files from several threads at once
 * is a benign race inside cJSON.
 */
#include "fileio.h"
#include "nnrt_checkpoint.h"

#include <cJSON.h>

#include <dirent.h>
#include <signal.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies little-endian data in place: a big-endian host needs byte swaps"
#endif

/* The reference implementation's limit is 100 MB; ours is 100 MiB. */
enum { MAX_HEADER = 100 * 1024 * 1024 };
/* The largest integer a double (cJSON's number) holds exactly. */
#define MAX_JSON_INT 9007199254740992.0 /* 2^53 */

static const char META_KEY[] = "__metadata__";

typedef nnrt_file_ctx Ctx;

/* ---- dtypes ---- */

/* The safetensors dtypes we know the size of. The first four are nnc's, in
 * nnrt_dtype order; the others may be present in a file but are not read. */
static const struct {
  const char *name;
  size_t size;
} DTYPES[] = {
    {"F32", 4},     {"F64", 8},     {"I32", 4},     {"BOOL", 1}, {"F16", 2}, {"BF16", 2},
    {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"F8_E8M0", 1}, {"I8", 1},   {"I16", 2}, {"I64", 8},
    {"U8", 1},      {"U16", 2},     {"U32", 4},     {"U64", 8},
};
enum { NNC_DTYPES = 4, NUM_DTYPES = sizeof DTYPES / sizeof DTYPES[0] };
_Static_assert(NNRT_F32 == 0 && NNRT_F64 == 1 && NNRT_I32 == 2 && NNRT_BOOL == 3,
               "DTYPES lists nnc's dtypes in nnrt_dtype order");

static bool nnc_dtype(nnrt_dtype dt) { return (unsigned)dt < NNC_DTYPES; }

/* "[64, 128]"; buf needs 8 * 22 + 3 bytes. */
enum { SHAPE_BUF = 200 };
static const char *fmt_shape(char *buf, int rank, const int64_t *dims) {
  size_t n = 0;
  buf[n++] = '[';
  for (int i = 0; i < rank; i++)
    n += (size_t)snprintf(buf + n, SHAPE_BUF - n, "%s%" PRId64, i ? ", " : "", dims[i]);
  snprintf(buf + n, SHAPE_BUF - n, "]");
  return buf;
}

/* ---- UTF-8 (JSON text and strings must be valid UTF-8) ---- */

static bool valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len)
      return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

static bool valid_utf8_str(const char *s) {
  return valid_utf8((const unsigned char *)s, strlen(s));
}

/* ---- the opened file ---- */

typedef struct {
  const char *name; /* in the cJSON tree */
  int index;        /* position in the header */
  int dtype;        /* index into DTYPES */
  int rank;
  int64_t dims[NNRT_MAX_RANK];
  uint64_t begin, end;
} Entry;

struct nnrt_safetensors {
  char *path;
  cJSON *root;
  int n;
  Entry *entries;  /* header order */
  Entry **by_name; /* sorted by name */
  int nmeta;
  nnrt_kv *meta; /* sorted by key; strings in the cJSON tree */
  unsigned char *data;
  size_t data_size;
};

void nnrt_safetensors_close(nnrt_safetensors *f) {
  if (!f)
    return;
  free(f->path);
  cJSON_Delete(f->root);
  free(f->entries);
  free(f->by_name);
  free(f->meta);
  free(f->data);
  free(f);
}

int nnrt_safetensors_count(const nnrt_safetensors *f) { return f ? f->n : 0; }

const char *nnrt_safetensors_name(const nnrt_safetensors *f, int i) {
  if (!f || i < 0 || i >= f->n)
    return NULL;
  return f->entries[i].name;
}

static int cmp_kv(const void *a, const void *b) {
  return strcmp(((const nnrt_kv *)a)->key, ((const nnrt_kv *)b)->key);
}

const char *nnrt_safetensors_meta(const nnrt_safetensors *f, const char *key) {
  if (!f || !key || f->nmeta == 0)
    return NULL;
  nnrt_kv want = {key, NULL};
  const nnrt_kv *kv = bsearch(&want, f->meta, (size_t)f->nmeta, sizeof *f->meta, cmp_kv);
  return kv ? kv->value : NULL;
}

static int cmp_entry_name(const void *a, const void *b) {
  const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
  int r = strcmp(x->name, y->name);
  return r ? r : (x->index > y->index) - (x->index < y->index);
}

static int cmp_entry_offsets(const void *a, const void *b) {
  const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

static const Entry *find(const nnrt_safetensors *f, const char *name) {
  size_t lo = 0, hi = (size_t)f->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = strcmp(f->by_name[mid]->name, name);
    if (r == 0)
      return f->by_name[mid];
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* ---- parsing the header ---- */

/* A JSON number that is an integer in [0, 2^53]. */
static bool json_uint(const cJSON *j, uint64_t *out) {
  if (!cJSON_IsNumber(j))
    return false;
  double d = j->valuedouble;
  if (!(d >= 0 && d <= MAX_JSON_INT) || (double)(uint64_t)d != d)
    return false;
  *out = (uint64_t)d;
  return true;
}

/* Finds dtype, shape and data_offsets, each at most once. */
static int entry_fields(const Ctx *c, const cJSON *obj, const cJSON **fields) {
  static const char *const names[3] = {"dtype", "shape", "data_offsets"};
  for (const cJSON *k = obj->child; k; k = k->next)
    for (int i = 0; i < 3; i++) {
      if (strcmp(k->string, names[i]) != 0)
        continue;
      if (fields[i])
        return nnrt_file_fail(c, NNRT_ERR_FORMAT, "tensor '%s': '%s' appears twice", obj->string,
                              names[i]);
      fields[i] = k;
    }
  for (int i = 0; i < 3; i++)
    if (!fields[i])
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "tensor '%s': no '%s'", obj->string, names[i]);
  return NNRT_OK;
}

static int parse_entry(const Ctx *c, const cJSON *obj, uint64_t data_size, Entry *e) {
  const char *name = obj->string;
  e->name = name;
  if (!cJSON_IsObject(obj))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "tensor '%s': entry is not a JSON object", name);
  const cJSON *fields[3] = {NULL, NULL, NULL};
  int rc = entry_fields(c, obj, fields);
  if (rc != NNRT_OK)
    return rc;
  const cJSON *dtype = fields[0], *shape = fields[1], *offsets = fields[2];

  if (!cJSON_IsString(dtype))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "tensor '%s': 'dtype' is not a string", name);
  e->dtype = -1;
  for (int i = 0; i < NUM_DTYPES; i++)
    if (strcmp(dtype->valuestring, DTYPES[i].name) == 0)
      e->dtype = i;
  if (e->dtype < 0)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "tensor '%s': unknown dtype '%s'", name,
                          dtype->valuestring);

  if (!cJSON_IsArray(shape))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "tensor '%s': 'shape' is not an array", name);
  e->rank = 0;
  for (const cJSON *d = shape->child; d; d = d->next) {
    if (e->rank == NNRT_MAX_RANK)
      return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                            "tensor '%s': shape has %d dimensions, more than %d", name,
                            cJSON_GetArraySize(shape), NNRT_MAX_RANK);
    uint64_t v;
    if (!json_uint(d, &v))
      return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                            "tensor '%s': dimension %d of 'shape' is not an integer in [0, 2^53]",
                            name, e->rank);
    e->dims[e->rank++] = (int64_t)v;
  }
  nnrt_tensor t = {.rank = e->rank};
  memcpy(t.dims, e->dims, sizeof t.dims);
  int64_t numel = nnrt_tensor_numel(&t);
  size_t esize = DTYPES[e->dtype].size;
  char shp[SHAPE_BUF];
  if (numel < 0 || (uint64_t)numel > UINT64_MAX / esize)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "tensor '%s': shape %s has too many elements", name,
                          fmt_shape(shp, e->rank, e->dims));
  uint64_t bytes = (uint64_t)numel * esize;

  const cJSON *b = cJSON_IsArray(offsets) ? offsets->child : NULL;
  const cJSON *en = b ? b->next : NULL;
  if (!b || !en || en->next || !json_uint(b, &e->begin) || !json_uint(en, &e->end))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "tensor '%s': 'data_offsets' is not two integers in [0, 2^53]", name);
  if (e->begin > e->end)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                          "] end before they begin",
                          name, e->begin, e->end);
  if (e->end > data_size)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                          "] go past the end of the data (%" PRIu64
                          " bytes): the file is truncated or the offsets are wrong",
                          name, e->begin, e->end, data_size);
  if (e->end - e->begin != bytes)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] give %" PRIu64
                          " bytes, but %s %s needs %" PRIu64,
                          name, e->begin, e->end, e->end - e->begin, DTYPES[e->dtype].name,
                          fmt_shape(shp, e->rank, e->dims), bytes);
  return NNRT_OK;
}

static int parse_meta(const Ctx *c, const cJSON *obj, nnrt_safetensors *f) {
  if (!cJSON_IsObject(obj))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "'%s' is not a JSON object", META_KEY);
  int n = cJSON_GetArraySize(obj);
  if (n == 0)
    return NNRT_OK;
  f->meta = malloc((size_t)n * sizeof *f->meta);
  if (!f->meta)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory");
  for (const cJSON *kv = obj->child; kv; kv = kv->next) {
    if (!cJSON_IsString(kv))
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "'%s': the value of '%s' is not a string", META_KEY,
                            kv->string);
    f->meta[f->nmeta++] = (nnrt_kv){kv->string, kv->valuestring};
  }
  qsort(f->meta, (size_t)f->nmeta, sizeof *f->meta, cmp_kv);
  for (int i = 1; i < f->nmeta; i++)
    if (strcmp(f->meta[i - 1].key, f->meta[i].key) == 0)
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "'%s': key '%s' appears twice", META_KEY,
                            f->meta[i].key);
  return NNRT_OK;
}

/* Sorted by offset, the tensors must tile [0, data_size) exactly. */
static int check_layout(const Ctx *c, const nnrt_safetensors *f, uint64_t data_size) {
  Entry **order = malloc((size_t)(f->n ? f->n : 1) * sizeof *order);
  if (!order)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory");
  for (int i = 0; i < f->n; i++)
    order[i] = &f->entries[i];
  qsort(order, (size_t)f->n, sizeof *order, cmp_entry_offsets);
  uint64_t pos = 0;
  const Entry *prev = NULL;
  int rc = NNRT_OK;
  for (int i = 0; i < f->n && rc == NNRT_OK; i++) {
    const Entry *e = order[i];
    if (e->begin < pos) /* then prev->begin <= e->begin < prev->end */
      rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "tensors '%s' [%" PRIu64 ", %" PRIu64 "] and '%s' [%" PRIu64 ", %" PRIu64
                          "] overlap",
                          prev->name, prev->begin, prev->end, e->name, e->begin, e->end);
    else if (e->begin > pos)
      rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "data bytes [%" PRIu64 ", %" PRIu64
                          ") belong to no tensor (before tensor '%s')",
                          pos, e->begin, e->name);
    pos = e->end;
    prev = e;
  }
  if (rc == NNRT_OK && pos != data_size) {
    if (prev)
      rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "data bytes [%" PRIu64 ", %" PRIu64
                          ") belong to no tensor (after the last one, '%s')",
                          pos, data_size, prev->name);
    else
      rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "data bytes [0, %" PRIu64 ") belong to no tensor (the header lists none)",
                          data_size);
  }
  free(order);
  return rc;
}

/* ---- strings of the header text ---- */

/* The literal text[begin..end] (quotes included) for a message, control
 * bytes written as \u00XX, cut at about 100 bytes. buf: 128 bytes. */
static const char *show_literal(char *buf, const char *text, size_t begin, size_t end) {
  size_t n = 0;
  for (size_t i = begin; i <= end && n < 100; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (ch < 0x20 || ch == 0x7f)
      n += (size_t)snprintf(buf + n, 128 - n, "\\u%04x", ch);
    else
      buf[n++] = (char)ch;
  }
  snprintf(buf + n, 128 - n, "%s", n >= 100 ? "..." : "");
  return buf;
}

static int hex4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char h = p[i];
    int d = h >= '0' && h <= '9'   ? h - '0'
            : h >= 'a' && h <= 'f' ? h - 'a' + 10
            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                   : -1;
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* The control character a two-character escape (\n, ...) stands for, or -1. */
static int short_escape(char e) {
  switch (e) {
  case 'b':
    return '\b';
  case 'f':
    return '\f';
  case 'n':
    return '\n';
  case 'r':
    return '\r';
  case 't':
    return '\t';
  }
  return -1;
}

/* One string literal starting at text[*i] (a quote); *i ends on its
 * closing quote. Returns the first control character in it (raw or
 * escaped), or -1; *raw says whether it was raw, *nul whether any escape
 * was \u0000. */
static int scan_literal(const char *text, size_t len, size_t *i, bool *raw, bool *nul) {
  int first = -1;
  *raw = *nul = false;
  size_t j = *i + 1;
  for (; j < len && text[j] != '"'; j++) {
    unsigned char ch = (unsigned char)text[j];
    int cp = -1;
    if (ch == '\\' && j + 1 < len) {
      j++;
      if (text[j] == 'u' && j + 4 < len) {
        cp = hex4(text + j + 1);
        j += 4;
      } else {
        cp = short_escape(text[j]);
      }
    } else if (ch < 0x20 || ch == 0x7f) {
      cp = ch;
      *raw = *raw || ch < 0x20;
    }
    if (cp == 0)
      *nul = true;
    if (first < 0 && cp >= 0 && (cp < 0x20 || cp == 0x7f))
      first = cp;
  }
  *i = j;
  return first;
}

/* cJSON decodes "\u0000" into a NUL that ends the C string it hands back
 * ("fc1.W\u0000evil" would be read as "fc1.W"), and lets raw control
 * characters through although JSON forbids them. So the strings of the
 * header, once it has parsed, are checked in its text: no raw control
 * character and no \u0000 anywhere, and no control character at all in a
 * name (a tensor name, a metadata key, a field of an entry). */
static int check_strings(const Ctx *c, const char *text, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (text[i] != '"')
      continue;
    size_t begin = i;
    bool raw, nul;
    int cp = scan_literal(text, len, &i, &raw, &nul);
    if (cp < 0)
      continue;
    size_t k = i + 1;
    while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r'))
      k++;
    bool name = k < len && text[k] == ':';
    if (!name && !raw && !nul)
      continue;
    char lit[128];
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "header: the %s %s at byte %zu has %s control character U+%04X%s",
                          name ? "name" : "string", show_literal(lit, text, begin, i), begin,
                          raw ? "a raw" : "the", (unsigned)(nul ? 0 : cp),
                          name  ? " (names must be printable)"
                          : raw ? " (JSON strings must escape them)"
                                : " (which would cut the string short)");
  }
  return NNRT_OK;
}

static int parse_header(const Ctx *c, const char *text, size_t len, uint64_t data_size,
                        nnrt_safetensors *f) {
  if (len == 0)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "header is empty");
  if (!valid_utf8((const unsigned char *)text, len))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "header is not valid UTF-8");
  const char *end = NULL;
  f->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!f->root) {
    size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "header is not valid JSON (error at byte %zu of %zu)",
                          at, len);
  }
  for (const char *p = end; p < text + len; p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
      return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                            "header has text after the JSON value (at byte %zu)",
                            (size_t)(p - text));
  if (!cJSON_IsObject(f->root))
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "header is not a JSON object");
  int rc = check_strings(c, text, len);
  if (rc != NNRT_OK)
    return rc;

  const cJSON *meta = NULL;
  size_t n = 0;
  for (const cJSON *k = f->root->child; k; k = k->next) {
    if (strcmp(k->string, META_KEY) != 0) {
      n++;
    } else if (meta) {
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "'%s' appears twice", META_KEY);
    } else {
      meta = k;
    }
  }
  if (n > INT_MAX)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT, "header lists too many tensors (%zu)", n);
  f->entries = calloc(n ? n : 1, sizeof *f->entries);
  f->by_name = malloc((n ? n : 1) * sizeof *f->by_name);
  if (!f->entries || !f->by_name)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory");
  for (const cJSON *k = f->root->child; k; k = k->next) {
    if (k == meta)
      continue;
    Entry *e = &f->entries[f->n];
    e->index = f->n;
    int rc = parse_entry(c, k, data_size, e);
    if (rc != NNRT_OK)
      return rc;
    f->by_name[f->n++] = e;
  }
  if (meta) {
    int rc = parse_meta(c, meta, f);
    if (rc != NNRT_OK)
      return rc;
  }
  qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, cmp_entry_name);
  for (int i = 1; i < f->n; i++)
    if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
      return nnrt_file_fail(c, NNRT_ERR_FORMAT, "tensor '%s' appears twice", f->by_name[i]->name);
  return check_layout(c, f, data_size);
}

/* Reads exactly n bytes; a short read is an I/O error or a file that shrank. */
static int read_exact(const Ctx *c, FILE *fp, void *buf, size_t n) {
  if (n == 0 || fread(buf, 1, n, fp) == n)
    return NNRT_OK;
  if (ferror(fp))
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot read: %s", strerror(errno));
  return nnrt_file_fail(c, NNRT_ERR_FORMAT, "truncated: the file shrank while it was read");
}

static int load(const Ctx *c, FILE *fp, uint64_t size, nnrt_safetensors *f) {
  if (size < 8)
    return nnrt_file_fail(
        c, NNRT_ERR_FORMAT,
        "truncated: the file has %" PRIu64 " bytes, fewer than the 8 of the header length", size);
  unsigned char len8[8];
  int rc = read_exact(c, fp, len8, 8);
  if (rc != NNRT_OK)
    return rc;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | len8[i];
  if (hlen > MAX_HEADER)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "header length %" PRIu64 " is over the limit of %d bytes (100 MiB)", hlen,
                          MAX_HEADER);
  if (hlen > size - 8)
    return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "truncated: header says %" PRIu64 " bytes but the file has %" PRIu64
                          " after the 8-byte length",
                          hlen, size - 8);
  uint64_t data_size = size - 8 - hlen;
  if (data_size > SIZE_MAX)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "%" PRIu64 " bytes of data do not fit in memory",
                          data_size);

  char *text = malloc((size_t)hlen + 1);
  if (!text)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for a %" PRIu64 "-byte header", hlen);
  rc = read_exact(c, fp, text, (size_t)hlen);
  if (rc == NNRT_OK) {
    text[hlen] = '\0';
    rc = parse_header(c, text, (size_t)hlen, data_size, f);
  }
  free(text); /* cJSON copied what it keeps */
  if (rc != NNRT_OK)
    return rc;

  f->data_size = (size_t)data_size;
  f->data = malloc(f->data_size ? f->data_size : 1);
  if (!f->data)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for %zu bytes of data", f->data_size);
  rc = read_exact(c, fp, f->data, f->data_size);
  if (rc == NNRT_OK && fgetc(fp) != EOF)
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT, "the file grew while it was read");
  return rc;
}

int nnrt_safetensors_open(const char *path, nnrt_safetensors **out, char *err, size_t errlen) {
  Ctx c = {path ? path : "(null)", err, errlen};
  if (!out)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "output pointer is NULL");
  *out = NULL;
  if (!path)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "path is NULL");
  FILE *fp;
  uint64_t size;
  int rc = nnrt_file_open_regular(&c, &fp, &size);
  if (rc != NNRT_OK)
    return rc;
  nnrt_safetensors *f = calloc(1, sizeof *f);
  if (f)
    f->path = strdup(path);
  if (!f || !f->path)
    rc = nnrt_file_fail(&c, NNRT_ERR_NOMEM, "out of memory");
  if (rc == NNRT_OK)
    rc = load(&c, fp, size, f);
  fclose(fp);
  if (rc != NNRT_OK) {
    nnrt_safetensors_close(f);
    return rc;
  }
  *out = f;
  return NNRT_OK;
}

/* ---- reading a tensor ---- */

int nnrt_safetensors_read(const nnrt_safetensors *f, const char *name, const nnrt_tensor *want,
                          char *err, size_t errlen) {
  Ctx c = {f && f->path ? f->path : "(null)", err, errlen};
  if (!f)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "file is NULL");
  if (!name)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "tensor name is NULL");
  if (!want)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "tensor '%s': destination is NULL", name);
  int64_t numel = nnrt_tensor_numel(want);
  if (!nnc_dtype(want->dtype) || numel < 0)
    return nnrt_file_fail(&c, NNRT_ERR_ARG,
                          "tensor '%s': the destination has an invalid dtype or shape", name);
  const Entry *e = find(f, name);
  if (!e)
    return nnrt_file_fail(&c, NNRT_ERR_FORMAT, "no tensor '%s'", name);
  if (e->dtype >= NNC_DTYPES)
    return nnrt_file_fail(&c, NNRT_ERR_SHAPE, "tensor '%s' has dtype %s, which nnc does not read",
                          name, DTYPES[e->dtype].name);
  bool same = e->dtype == (int)want->dtype && e->rank == want->rank;
  for (int i = 0; same && i < e->rank; i++)
    same = e->dims[i] == want->dims[i];
  if (!same) {
    char got_s[SHAPE_BUF], want_s[SHAPE_BUF];
    return nnrt_file_fail(&c, NNRT_ERR_SHAPE, "tensor '%s' is %s %s, expected %s %s", name,
                          DTYPES[e->dtype].name, fmt_shape(got_s, e->rank, e->dims),
                          DTYPES[want->dtype].name, fmt_shape(want_s, want->rank, want->dims));
  }
  size_t bytes = (size_t)(e->end - e->begin);
  if (bytes > 0 && !want->data)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "tensor '%s': destination data is NULL", name);
  const unsigned char *src = f->data + e->begin;
  if (e->dtype == NNRT_BOOL) { /* any non-zero byte is true, as in numpy */
    unsigned char *dst = want->data;
    for (size_t i = 0; i < bytes; i++)
      dst[i] = src[i] != 0;
  } else if (bytes > 0) {
    memcpy(want->data, src, bytes);
  }
  return NNRT_OK;
}

/* ---- writing ---- */

typedef struct {
  char *p;
  size_t len, cap;
  bool oom;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
      if (cap > SIZE_MAX / 2) {
        b->oom = true;
        return;
      }
      cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_u64(Buf *b, uint64_t v) {
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRIu64, v);
  buf_add(b, num, (size_t)n);
}

/* A JSON string literal; s is valid UTF-8, which passes through. */
static void buf_json(Buf *b, const char *s) {
  buf_add(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    switch (*p) {
    case '"':
      buf_add(b, "\\\"", 2);
      break;
    case '\\':
      buf_add(b, "\\\\", 2);
      break;
    case '\n':
      buf_add(b, "\\n", 2);
      break;
    case '\t':
      buf_add(b, "\\t", 2);
      break;
    case '\r':
      buf_add(b, "\\r", 2);
      break;
    default:
      if (*p < 0x20) {
        snprintf(esc, sizeof esc, "\\u%04x", *p);
        buf_add(b, esc, 6);
      } else {
        buf_add(b, (const char *)p, 1);
      }
    }
  }
  buf_add(b, "\"", 1);
}

/* Names are written only if the reader would take them back. */
static bool has_control(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return true;
  return false;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts names (n > 0) and returns one that occurs twice, or NULL. */
static const char *find_duplicate(const char **names, int n) {
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 1; i < n; i++)
    if (strcmp(names[i - 1], names[i]) == 0)
      return names[i];
  return NULL;
}

static int check_args(const Ctx *c, const nnrt_named_tensor *ts, int n, const nnrt_kv *meta,
                      int nmeta, uint64_t *bytes) {
  if (n < 0 || nmeta < 0)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "negative tensor or metadata count (%d, %d)", n, nmeta);
  if (n > 0 && !ts)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor array is NULL");
  if (nmeta > 0 && !meta)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "metadata array is NULL");
  uint64_t total = 0;
  for (int i = 0; i < n; i++) {
    const char *name = ts[i].name;
    const nnrt_tensor *t = &ts[i].t;
    if (!name)
      return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor %d has a NULL name", i);
    if (!valid_utf8_str(name))
      return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor %d: name is not valid UTF-8", i);
    if (has_control(name))
      return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor %d: name has a control character", i);
    if (strcmp(name, META_KEY) == 0)
      return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor name '%s' is reserved", META_KEY);
    if (!nnc_dtype(t->dtype))
      return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor '%s': unknown dtype (%d)", name,
                            (int)t->dtype);
    if (t->rank < 0 || t->rank > NNRT_MAX_RANK)
      return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor '%s': rank %d is out of range (0 to %d)", name,
                            t->rank, NNRT_MAX_RANK);
    int64_t numel = nnrt_tensor_numel(t);
    size_t esize = nnrt_dtype_size(t->dtype);
    char shp[SHAPE_BUF];
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / esize ||
        (double)numel * (double)esize > MAX_JSON_INT)
      return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor '%s': invalid shape %s", name,
                            fmt_shape(shp, t->rank, t->dims));
    bytes[i] = (uint64_t)numel * esize;
    if (bytes[i] > 0 && !t->data)
      return nnrt_file_fail(c, NNRT_ERR_ARG, "tensor '%s': data is NULL", name);
    total += bytes[i];
    if ((double)total > MAX_JSON_INT)
      return nnrt_file_fail(c, NNRT_ERR_ARG,
                            "the tensors are too large together (over 2^53 bytes)");
  }
  for (int i = 0; i < nmeta; i++) {
    if (!meta[i].key || !meta[i].value)
      return nnrt_file_fail(c, NNRT_ERR_ARG, "metadata entry %d has a NULL key or value", i);
    if (!valid_utf8_str(meta[i].key) || !valid_utf8_str(meta[i].value))
      return nnrt_file_fail(c, NNRT_ERR_ARG, "metadata entry %d is not valid UTF-8", i);
    if (has_control(meta[i].key))
      return nnrt_file_fail(c, NNRT_ERR_ARG, "metadata key %d has a control character", i);
  }

  int most = n > nmeta ? n : nmeta;
  const char **names = malloc((size_t)(most ? most : 1) * sizeof *names);
  if (!names)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n; i++)
    names[i] = ts[i].name;
  const char *dup = find_duplicate(names, n);
  int rc = NNRT_OK;
  if (dup) {
    rc = nnrt_file_fail(c, NNRT_ERR_ARG, "tensor '%s' is given twice", dup);
  } else {
    for (int i = 0; i < nmeta; i++)
      names[i] = meta[i].key;
    dup = find_duplicate(names, nmeta);
    if (dup)
      rc = nnrt_file_fail(c, NNRT_ERR_ARG, "metadata key '%s' is given twice", dup);
  }
  free(names);
  return rc;
}

/* The header JSON, padded with spaces to a multiple of 8 bytes. */
static int build_header(const Ctx *c, const nnrt_named_tensor *ts, int n, const nnrt_kv *meta,
                        int nmeta, const uint64_t *bytes, Buf *b) {
  buf_add(b, "{", 1);
  if (nmeta > 0) {
    buf_json(b, META_KEY);
    buf_add(b, ":{", 2);
    for (int i = 0; i < nmeta; i++) {
      if (i)
        buf_add(b, ",", 1);
      buf_json(b, meta[i].key);
      buf_add(b, ":", 1);
      buf_json(b, meta[i].value);
    }
    buf_add(b, "}", 1);
  }
  uint64_t offset = 0;
  for (int i = 0; i < n; i++) {
    const nnrt_tensor *t = &ts[i].t;
    if (i || nmeta > 0)
      buf_add(b, ",", 1);
    buf_json(b, ts[i].name);
    buf_str(b, ":{\"dtype\":\"");
    buf_str(b, DTYPES[t->dtype].name);
    buf_str(b, "\",\"shape\":[");
    for (int d = 0; d < t->rank; d++) {
      if (d)
        buf_add(b, ",", 1);
      buf_u64(b, (uint64_t)t->dims[d]);
    }
    buf_str(b, "],\"data_offsets\":[");
    buf_u64(b, offset);
    buf_add(b, ",", 1);
    offset += bytes[i];
    buf_u64(b, offset);
    buf_str(b, "]}");
  }
  buf_add(b, "}", 1);
  while (!b->oom && b->len % 8 != 0)
    buf_add(b, " ", 1);
  if (b->oom)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for the header");
  if (b->len > MAX_HEADER)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "the header would be %zu bytes, over the limit of %d",
                          b->len, MAX_HEADER);
  return NNRT_OK;
}

/* BOOL data is written as 0 and 1 whatever the caller's bytes are. */
static bool write_bools(FILE *fp, const unsigned char *src, size_t n) {
  unsigned char chunk[4096];
  while (n > 0) {
    size_t k = n < sizeof chunk ? n : sizeof chunk;
    for (size_t i = 0; i < k; i++)
      chunk[i] = src[i] != 0;
    if (fwrite(chunk, 1, k, fp) != k)
      return false;
    src += k;
    n -= k;
  }
  return true;
}

static int write_file(const Ctx *c, const char *path, const char *tmp, const Buf *hdr,
                      const nnrt_named_tensor *ts, int n, const uint64_t *bytes) {
  FILE *fp = fopen(tmp, "wb");
  if (!fp)
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
  /* A checkpoint that replaces another keeps its permissions. */
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
    (void)fchmod(fileno(fp), st.st_mode & 07777);
  unsigned char len8[8];
  for (int i = 0; i < 8; i++)
    len8[i] = (unsigned char)((uint64_t)hdr->len >> (8 * i));
  errno = 0;
  bool ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(hdr->p, 1, hdr->len, fp) == hdr->len;
  for (int i = 0; ok && i < n; i++) {
    size_t k = (size_t)bytes[i];
    if (k == 0)
      continue;
    if (ts[i].t.dtype == NNRT_BOOL)
      ok = write_bools(fp, ts[i].t.data, k);
    else
      ok = fwrite(ts[i].t.data, 1, k, fp) == k;
  }
  /* fsync before the rename: otherwise a crash can leave the new name
   * pointing at an empty file on some file systems. */
  ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
  int saved = errno;
  if (fclose(fp) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok)
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot write '%s': %s", tmp,
                          saved ? strerror(saved) : "short write");
  return NNRT_OK;
}

/* Makes the rename durable; a failure here changes nothing that the caller
 * could act on, so it is ignored. */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir)
    return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

/* path.tmp.<pid>, where a checkpoint is written before the rename; malloc'd. */
static char *temp_name(const char *path) {
  size_t cap = strlen(path) + 32;
  char *tmp = malloc(cap);
  if (tmp)
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
  return tmp;
}

/* A path a checkpoint can be written to at all: not NULL, not empty (which
 * would write ".tmp.<pid>" and then fail to rename it). */
static int check_path(const Ctx *c, const char *path) {
  if (!path)
    return nnrt_file_fail(c, NNRT_ERR_ARG, "path is NULL");
  if (!*path)
    return nnrt_errorf(c->err, c->errlen, NNRT_ERR_ARG, "the checkpoint path is empty");
  return NNRT_OK;
}

/* What is at path may be replaced by a checkpoint: nothing, or a regular
 * file. A rename over a FIFO or a device would replace it (as root, even
 * /dev/null), so those are refused. */
static int check_target(const Ctx *c, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
    return NNRT_OK;
  if (S_ISDIR(st.st_mode))
    return nnrt_file_fail(c, NNRT_ERR_IO, "is a directory");
  return nnrt_file_fail(c, NNRT_ERR_IO,
                        "is %s, not a regular file: a checkpoint is written to a regular file",
                        S_ISFIFO(st.st_mode)   ? "a FIFO"
                        : S_ISCHR(st.st_mode)  ? "a character device"
                        : S_ISBLK(st.st_mode)  ? "a block device"
                        : S_ISSOCK(st.st_mode) ? "a socket"
                                               : "something");
}

int nnrt_safetensors_check_writable(const char *path, char *err, size_t errlen) {
  Ctx c = {path ? path : "(null)", err, errlen};
  int rc = check_path(&c, path);
  if (rc == NNRT_OK)
    rc = check_target(&c, path);
  if (rc != NNRT_OK)
    return rc;
  char *tmp = temp_name(path);
  if (!tmp)
    return nnrt_file_fail(&c, NNRT_ERR_NOMEM, "out of memory");
  /* O_EXCL: a file of that name that is not ours is left alone. */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    rc = nnrt_file_fail(&c, NNRT_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
  } else {
    close(fd);
    unlink(tmp);
  }
  free(tmp);
  return rc;
}

int nnrt_safetensors_save(const char *path, const nnrt_named_tensor *ts, int n, const nnrt_kv *meta,
                          int nmeta, char *err, size_t errlen) {
  Ctx c = {path ? path : "(null)", err, errlen};
  int rc = check_path(&c, path);
  if (rc != NNRT_OK)
    return rc;
  uint64_t *bytes = calloc(n > 0 ? (size_t)n : 1, sizeof *bytes);
  if (!bytes)
    return nnrt_file_fail(&c, NNRT_ERR_NOMEM, "out of memory");
  Buf hdr = {0};
  char *tmp = NULL;
  rc = check_args(&c, ts, n, meta, nmeta, bytes);
  if (rc == NNRT_OK)
    rc = check_target(&c, path);
  if (rc == NNRT_OK)
    rc = build_header(&c, ts, n, meta, nmeta, bytes, &hdr);
  if (rc == NNRT_OK && !(tmp = temp_name(path)))
    rc = nnrt_file_fail(&c, NNRT_ERR_NOMEM, "out of memory");
  if (rc == NNRT_OK) {
    rc = write_file(&c, path, tmp, &hdr, ts, n, bytes);
    if (rc == NNRT_OK && rename(tmp, path) != 0)
      rc = nnrt_file_fail(&c, NNRT_ERR_IO, "cannot rename '%s' to it: %s", tmp, strerror(errno));
    if (rc != NNRT_OK)
      unlink(tmp);
    else
      sync_dir(path);
  }
  free(tmp);
  free(hdr.p);
  free(bytes);
  return rc;
}

/* ---- temporary files of saves that were killed ---- */

/* The pid of `name` when it is exactly base ".tmp." digits, else 0. */
static pid_t temp_pid(const char *name, const char *base, size_t blen) {
  static const char TMP[] = ".tmp.";
  if (strncmp(name, base, blen) != 0 || strncmp(name + blen, TMP, sizeof TMP - 1) != 0)
    return 0;
  const char *d = name + blen + sizeof TMP - 1;
  if (!*d)
    return 0;
  long long pid = 0;
  for (; *d; d++) {
    if (*d < '0' || *d > '9')
      return 0;
    pid = pid * 10 + (*d - '0');
    if (pid > INT_MAX)
      return 0;
  }
  return (pid_t)pid;
}

int nnrt_safetensors_remove_stale(const char *path) {
  if (!path || !*path)
    return -1;
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir)
    return -1;
  DIR *d = opendir(dir);
  free(dir);
  if (!d)
    return -1;
  size_t blen = strlen(base);
  int removed = 0;
  for (struct dirent *e; (e = readdir(d));) {
    pid_t pid = temp_pid(e->d_name, base, blen);
    /* ESRCH: no such process. EPERM means one lives (another user's). */
    if (pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
      continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        unlinkat(dirfd(d), e->d_name, 0) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}
