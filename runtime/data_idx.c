/* data_idx.c - IDX files (the MNIST format) as data sets (see nnrt_data.h).
 *
 * A file is the magic 0x0000TTRR (TT the element type, RR the rank), RR
 * big-endian u32 dims, then the elements, big-endian, row-major. Each file is
 * read whole, so nothing is allocated for what a header merely claims: the
 * size the dims imply is compared with the bytes actually there, and too few
 * (truncated) or too many (trailing garbage) is an error.
 *
 * MNIST is distributed gzip-compressed, so a file that starts with gzip's
 * magic (1F 8B, whatever its name) is inflated first. The buffer grows only
 * as data actually inflates, and stops one byte past what the decompressed
 * header promises; the rest is counted, not kept, so a small .gz that
 * inflates to gigabytes costs time bounded by its size, and memory bounded
 * by what its header and its data both say.
 */
#include "fileio.h"
#include "labels.h"
#include "nnrt_data.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

typedef nnrt_file_ctx Ctx;

typedef struct {
  unsigned char *file; /* the whole file (inflated, for a .gz) */
  bool gzip;           /* the file was gzip-compressed */
  int type;            /* the TT byte */
  int size;            /* bytes per element */
  int rank;
  int64_t dims[NNRT_MAX_RANK];
  int64_t count; /* elements */
  const unsigned char *data;
} Idx;

static int type_size(int type) {
  switch (type) {
  case 0x08: /* u8 */
  case 0x09: /* i8 */
    return 1;
  case 0x0B: /* i16 */
    return 2;
  case 0x0C: /* i32 */
  case 0x0D: /* f32 */
    return 4;
  case 0x0E: /* f64 */
    return 8;
  }
  return 0;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Element i as a double (exact for every IDX type). */
static double element(const Idx *f, int64_t i) {
  const unsigned char *p = f->data + (size_t)i * (size_t)f->size;
  switch (f->type) {
  case 0x08:
    return p[0];
  case 0x09:
    return (int8_t)p[0];
  case 0x0B:
    return (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
  case 0x0C:
    return (int32_t)be32(p);
  case 0x0D: {
    uint32_t u = be32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
  }
  default: {
    uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
    double v;
    memcpy(&v, &u, 8);
    return v;
  }
  }
}

/* ---- gzip ---- */

enum { GZ_FIRST = 1 << 16, GZ_SCRATCH = 1 << 14 };

static bool is_gzip(const unsigned char *b, size_t len) {
  return len >= 2 && b[0] == 0x1F && b[1] == 0x8B;
}

/* Bytes of the whole IDX file (header and data) that the first `len`
 * decompressed bytes promise, or 0 while the header is incomplete or not
 * one open_idx accepts (then it says why, and inflating need not go on). */
static uint64_t promised_bytes(const unsigned char *b, size_t len, bool *header_done) {
  *header_done = false;
  if (len < 4)
    return 0;
  int size = type_size(b[2]), rank = b[3];
  *header_done = b[0] != 0 || b[1] != 0 || !size || rank < 1 || rank > NNRT_MAX_RANK;
  size_t header = 4 + 4 * (size_t)rank;
  if (*header_done || len < header)
    return 0;
  *header_done = true;
  uint64_t bytes = (uint64_t)size;
  for (int i = 0; i < rank; i++) {
    uint64_t d = be32(b + 4 + 4 * i);
    if (d != 0 && bytes > (UINT64_MAX - header) / d)
      return UINT64_MAX; /* more than any memory: the size check refuses it */
    bytes *= d;
  }
  return bytes + header;
}

typedef struct {
  z_stream z;
  unsigned char *out;
  size_t kept, cap;  /* bytes kept in out, and out's size (less its NUL) */
  uint64_t total;    /* bytes inflated, kept or not */
  uint64_t keep;     /* keep at most this many: one past the header's promise */
  bool header_done;  /* keep is known */
  bool to_scratch;   /* the next output is counted and dropped */
} Gunzip;

/* Points the output at out, grown by doubling up to `keep`, or past that
 * at a scratch buffer whose bytes are only counted. */
static int gunzip_room(const Ctx *c, Gunzip *g, unsigned char *scratch) {
  g->to_scratch = g->kept >= g->keep;
  if (g->to_scratch) {
    g->z.next_out = scratch;
    g->z.avail_out = GZ_SCRATCH;
    return NNRT_OK;
  }
  if (g->kept == g->cap) {
    size_t cap = g->cap ? g->cap : GZ_FIRST;
    while (cap <= g->kept && cap <= SIZE_MAX / 4)
      cap *= 2;
    if (cap > g->keep)
      cap = (size_t)g->keep;
    unsigned char *p = cap > g->kept ? realloc(g->out, cap + 1) : NULL;
    if (!p)
      return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory after inflating %zu bytes",
                            g->kept);
    g->out = p;
    g->cap = cap;
  }
  size_t room = g->cap - g->kept;
  if (g->keep - g->kept < room)
    room = (size_t)(g->keep - g->kept);
  g->z.next_out = g->out + g->kept;
  g->z.avail_out = (uInt)(room < UINT_MAX ? room : UINT_MAX);
  return NNRT_OK;
}

/* After an inflate call: its output counted, and once the header is in,
 * how much of the rest to keep. */
static void gunzip_account(Gunzip *g, size_t avail_before) {
  size_t wrote = avail_before - g->z.avail_out;
  if (!g->to_scratch)
    g->kept += wrote;
  g->total += wrote;
  if (!g->header_done) {
    uint64_t want = promised_bytes(g->out, g->kept, &g->header_done);
    if (g->header_done)
      g->keep = want && want < (uint64_t)SIZE_MAX / 2 ? want + 1 : g->kept + 1;
  }
}

/* Inflates the gzip members of in[0..len) into g; trailing bytes that are
 * not another member are an error. */
static int gunzip_all(const Ctx *c, Gunzip *g, const unsigned char *in, size_t len) {
  unsigned char scratch[GZ_SCRATCH];
  g->keep = UINT64_MAX;
  if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK)
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for zlib");
  size_t used = 0; /* input consumed by finished members */
  int rc = NNRT_OK;
  for (;;) {
    size_t left = len - used;
    g->z.next_in = (unsigned char *)in + used;
    g->z.avail_in = (uInt)(left < UINT_MAX ? left : UINT_MAX);
    int zrc = Z_OK;
    while (zrc == Z_OK) {
      if ((rc = gunzip_room(c, g, scratch)) != NNRT_OK)
        goto done;
      size_t before = g->z.avail_out;
      size_t in_before = g->z.avail_in;
      zrc = inflate(&g->z, Z_NO_FLUSH);
      gunzip_account(g, before);
      used += in_before - g->z.avail_in;
      if (g->z.avail_in == 0 && used < len) {
        left = len - used;
        g->z.next_in = (unsigned char *)in + used;
        g->z.avail_in = (uInt)(left < UINT_MAX ? left : UINT_MAX);
      }
      if (zrc == Z_BUF_ERROR && g->z.avail_in == 0) {
        rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                            "truncated gzip stream: the compressed data ends after inflating "
                            "%" PRIu64 " bytes, before the stream's end",
                            g->total);
        goto done;
      }
      if (zrc == Z_BUF_ERROR)
        zrc = Z_OK; /* only out of output room: gunzip_room makes more */
    }
    if (zrc != Z_STREAM_END) {
      rc = nnrt_file_fail(c, zrc == Z_MEM_ERROR ? NNRT_ERR_NOMEM : NNRT_ERR_FORMAT,
                          "corrupt gzip data after inflating %" PRIu64 " bytes (%s)", g->total,
                          g->z.msg ? g->z.msg : "zlib error");
      goto done;
    }
    if (used == len)
      break;
    if (!is_gzip(in + used, len - used)) {
      rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "%zu %s of trailing garbage after the gzip stream (expected the end of "
                          "the file or another gzip member)",
                          len - used, len - used == 1 ? "byte" : "bytes");
      goto done;
    }
    inflateReset(&g->z); /* `cat a.gz b.gz` is one valid .gz, as gunzip reads it */
  }
done:
  inflateEnd(&g->z);
  return rc;
}

/* The file's bytes, inflated when it is gzip-compressed: *buf holds *kept
 * bytes (NUL after them), out of *total the file stands for. */
static int read_idx_bytes(const Ctx *c, unsigned char **buf, size_t *kept, uint64_t *total,
                          bool *gzip) {
  unsigned char *raw;
  size_t len;
  int rc = nnrt_file_read_all(c, &raw, &len);
  *gzip = rc == NNRT_OK && is_gzip(raw, len);
  if (rc != NNRT_OK || !*gzip) {
    *buf = raw;
    *kept = len;
    *total = len;
    return rc;
  }
  Gunzip g;
  memset(&g, 0, sizeof g);
  rc = gunzip_all(c, &g, raw, len);
  free(raw);
  if (rc == NNRT_OK && !g.out && !(g.out = malloc(1)))
    rc = nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory");
  if (rc != NNRT_OK) {
    free(g.out);
    *buf = NULL;
    return rc;
  }
  g.out[g.kept] = 0;
  *buf = g.out;
  *kept = g.kept;
  *total = g.total;
  return NNRT_OK;
}

/* ---- IDX ---- */

/* Reads and checks one file; on success f->file must be freed. */
static int open_idx(const Ctx *c, Idx *f) {
  memset(f, 0, sizeof *f);
  size_t len = 0;
  uint64_t total = 0;
  int rc = read_idx_bytes(c, &f->file, &len, &total, &f->gzip);
  if (rc != NNRT_OK)
    return rc;
  const unsigned char *b = f->file;
  const char *file = f->gzip ? "decompressed file" : "file";
  if ((len >= 1 && b[0] != 0) || (len >= 2 && b[1] != 0)) {
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                        "not an IDX file (bad magic: the first two bytes%s must be 0)",
                        f->gzip ? " of the decompressed data" : "");
    goto bad;
  }
  if (len < 4) {
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT, "truncated header: %zu bytes, the magic needs 4", len);
    goto bad;
  }
  f->type = b[2];
  f->size = type_size(f->type);
  if (!f->size) {
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                        "unsupported IDX type 0x%02X (expected 08, 09, 0B, 0C, 0D or 0E)", f->type);
    goto bad;
  }
  f->rank = b[3];
  if (f->rank < 1 || f->rank > NNRT_MAX_RANK) {
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT, "IDX rank %d is outside 1..%d", f->rank, NNRT_MAX_RANK);
    goto bad;
  }
  size_t header = 4 + 4 * (size_t)f->rank;
  if (len < header) {
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT, "truncated header: %zu bytes, the %d dims need %zu",
                        len, f->rank, header);
    goto bad;
  }
  /* Each dim < 2^32, so the product overflows int64 only after a check. */
  uint64_t count = 1;
  bool overflow = false;
  for (int i = 0; i < f->rank; i++) {
    f->dims[i] = be32(b + 4 + 4 * i);
    if (f->dims[i] != 0 && count > (uint64_t)INT64_MAX / (uint64_t)f->dims[i])
      overflow = true;
    else
      count *= (uint64_t)f->dims[i];
  }
  uint64_t have = total - header;
  if (overflow || count > (uint64_t)(SIZE_MAX / (size_t)f->size) ||
      count * (uint64_t)f->size > have) {
    if (overflow || count > UINT64_MAX / (uint64_t)f->size)
      rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "truncated data: the dims promise more than 2^63 elements, "
                          "the %s has %" PRIu64 " bytes of data",
                          file, have);
    else
      rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                          "truncated data: the dims promise %" PRIu64 " bytes, the %s has %" PRIu64,
                          count * (uint64_t)f->size, file, have);
    goto bad;
  }
  size_t need = (size_t)count * (size_t)f->size;
  if (have > need) {
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT,
                        "%" PRIu64 " %s of trailing garbage after the %zu bytes of data the dims "
                        "promise",
                        have - need, have - need == 1 ? "byte" : "bytes", need);
    goto bad;
  }
  if (f->dims[0] == 0) {
    rc = nnrt_file_fail(c, NNRT_ERR_FORMAT, "no samples (the first dim is 0)");
    goto bad;
  }
  f->count = (int64_t)count;
  f->data = b + header;
  return NNRT_OK;
bad:
  free(f->file);
  f->file = NULL;
  return rc;
}

static int convert_images(const Ctx *c, const Idx *f, double scale, float *x) {
  for (int64_t i = 0; i < f->count; i++) {
    double v = element(f, i);
    float w = (float)(v * scale);
    if (!isfinite(w)) {
      if (!isfinite(v))
        return nnrt_file_fail(c, NNRT_ERR_FORMAT, "element %" PRId64 " is %g, not a finite number",
                              i, v);
      return nnrt_file_fail(c, NNRT_ERR_FORMAT,
                            "element %" PRId64 " (%g times the scale %g) does not fit in f32", i, v,
                            scale);
    }
    x[i] = w;
  }
  return NNRT_OK;
}

static int convert_labels(const Ctx *c, const Idx *f, const nnrt_label_spec *ys, void *y) {
  for (int64_t i = 0; i < f->count; i++) {
    int rc = nnrt_store_label(c, ys, element(f, i), i, y);
    if (rc != NNRT_OK)
      return rc;
  }
  return NNRT_OK;
}

int nnrt_load_idx(const char *images, const char *labels, double scale, const nnrt_label_spec *y,
                  nnrt_dataset *out, char *err, size_t errlen) {
  Ctx ci = {images ? images : "(null)", err, errlen};
  Ctx cl = {labels ? labels : "(null)", err, errlen};
  if (!images || !labels || !y || !out)
    return nnrt_file_fail(&ci, NNRT_ERR_ARG, "%s is NULL",
                          !images   ? "images path"
                          : !labels ? "labels path"
                          : !y      ? "label spec"
                                    : "output");
  memset(out, 0, sizeof *out);
  int spec = nnrt_check_label_spec(&cl, y);
  if (spec != NNRT_OK)
    return spec;
  if (!isfinite(scale))
    return nnrt_file_fail(&ci, NNRT_ERR_ARG, "scale %g is not a finite number", scale);
  if (scale == 0)
    scale = 1;

  Idx fi, fl;
  int rc = open_idx(&ci, &fi);
  if (rc != NNRT_OK)
    return rc;
  rc = open_idx(&cl, &fl);
  if (rc != NNRT_OK) {
    free(fi.file);
    return rc;
  }
  float *x = NULL;
  void *yv = NULL;
  if (fl.rank != 1) {
    rc = nnrt_file_fail(&cl, NNRT_ERR_SHAPE, "labels must have rank 1, not %d", fl.rank);
    goto done;
  }
  if (fl.dims[0] != fi.dims[0]) {
    rc = nnrt_file_fail(&cl, NNRT_ERR_SHAPE, "%" PRId64 " %s, but %s has %" PRId64 " %s",
                        fl.dims[0], nnrt_plural(fl.dims[0], "label", "labels"), ci.path, fi.dims[0],
                        nnrt_plural(fi.dims[0], "sample", "samples"));
    goto done;
  }
  /* count * 4 <= count * size + header for every type but u8/i8, and the
   * file of those was read whole: check anyway. */
  if ((uint64_t)fi.count > SIZE_MAX / sizeof(float)) {
    rc = nnrt_file_fail(&ci, NNRT_ERR_NOMEM, "too many elements for memory");
    goto done;
  }
  x = malloc(fi.count ? (size_t)fi.count * sizeof(float) : 1);
  yv = malloc((size_t)fl.count * 4); /* fl.count = n > 0 */
  if (!x || !yv) {
    rc = nnrt_file_fail(&ci, NNRT_ERR_NOMEM, "out of memory for %" PRId64 " samples", fi.dims[0]);
    goto done;
  }
  rc = convert_images(&ci, &fi, scale, x);
  if (rc == NNRT_OK)
    rc = convert_labels(&cl, &fl, y, yv);
  if (rc != NNRT_OK)
    goto done;
  out->n = fi.dims[0];
  out->x_dtype = NNRT_F32;
  out->x_rank = fi.rank - 1;
  out->x_size = 1;
  for (int i = 1; i < fi.rank; i++) {
    out->x_dims[i - 1] = fi.dims[i];
    out->x_size *= fi.dims[i];
  }
  out->x = x;
  out->y_dtype = y->dtype;
  out->y_rank = 0;
  out->y_size = 1;
  out->y = yv;
  x = NULL;
  yv = NULL;
done:
  free(x);
  free(yv);
  free(fi.file);
  free(fl.file);
  return rc;
}
