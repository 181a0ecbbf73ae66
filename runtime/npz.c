/* npz.c - one array of a NumPy .npz archive (np.savez, np.savez_compressed).
 *
 * An .npz file is a ZIP archive whose members are KEY.npy files. The
 * central directory at the end of the file is taken as the truth: a member
 * written to an unseekable stream has zero sizes in its local header (they
 * follow the data instead), so the local header is only checked to name
 * the same member with the same method, and says where the data starts.
 *
 * Nothing in the file is trusted. Every offset and size is checked against
 * the file's size before anything is read or allocated for it (for
 * deflate, the uncompressed size against the most that many compressed
 * bytes can give); the member's CRC-32 and uncompressed size must match
 * the directory's; and its bytes go through npy.c's parser, bounded by the
 * member's size. Before the member is allocated or inflated whole, its
 * first bytes (the .npy header) are read, and the size the directory
 * declares must be exactly what that header's shape and dtype make: a
 * small archive that would inflate to gigabytes is refused at its header.
 * ZIP64 archives, which numpy writes only past 4 GiB or 65535 arrays, are
 * refused. Messages start with the path, and with the member
 * ("data.npz: x.npy: ...") once one is chosen.
 */
#include "fileio.h"
#include "nnrt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

enum {
  END_SIZE = 22, /* the end of central directory record without its comment */
  MAX_COMMENT = 65535,
  ZIP64_LOCATOR_SIZE = 20,
  DIR_ENTRY_SIZE = 46, /* a central directory entry without name, extra, comment */
  LOCAL_SIZE = 30,     /* a local header without name and extra */
  CHUNK = 16384,
};

enum {
  SIG_END = 0x06054b50,
  SIG_ZIP64_LOCATOR = 0x07064b50,
  SIG_DIR_ENTRY = 0x02014b50,
  SIG_LOCAL = 0x04034b50,
};

enum { METHOD_STORED = 0, METHOD_DEFLATE = 8, METHOD_AES = 99 };
enum { FLAG_ENCRYPTED = 0x1, FLAG_STRONG_ENCRYPTION = 0x40 };

/* zlib's bound on deflate: one compressed bit pair can stand for a
 * 258-byte match, so no stream expands more than 1032 times (the slack
 * covers a tiny stream's block headers). */
static const uint64_t MAX_RATIO = 1032, RATIO_SLACK = 1024;

typedef nnrt_file_ctx Ctx;

typedef struct Archive {
  const Ctx *c;
  FILE *fp;
  uint64_t size;       /* of the file */
  uint64_t dir_offset; /* of the central directory */
  uint32_t dir_size;
  uint32_t entries;
  unsigned char *dir; /* the central directory, malloc'd */
} Archive;

typedef struct Entry {
  uint16_t flags, method, name_len;
  uint32_t crc, csize, usize;
  uint32_t offset;           /* of the local header */
  const unsigned char *name; /* name_len bytes, no NUL */
} Entry;

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- reading the file ---- */

static int seek_to(const Archive *a, const Ctx *c, uint64_t offset) {
  if (fseeko(a->fp, (off_t)offset, SEEK_SET) != 0)
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot seek to offset %" PRIu64 ": %s", offset,
                          strerror(errno));
  return NNRT_OK;
}

/* The sizes were checked against the file's, so a short read means the
 * file changed under us or could not be read. */
static int read_exact(const Archive *a, const Ctx *c, void *buf, size_t n) {
  if (fread(buf, 1, n, a->fp) == n)
    return NNRT_OK;
  if (ferror(a->fp))
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot read: %s", strerror(errno));
  return nnrt_file_fail(c, NNRT_ERR_FORMAT, "truncated archive (the file ended early)");
}

static int read_at(const Archive *a, const Ctx *c, uint64_t offset, void *buf, size_t n) {
  int rc = seek_to(a, c, offset);
  return rc != NNRT_OK ? rc : read_exact(a, c, buf, n);
}

/* An archive is read from its end, so it must be a regular file. */
static int open_archive(Archive *a) { return nnrt_file_open_regular(a->c, &a->fp, &a->size); }

/* ---- the central directory ---- */

static int not_zip(const Archive *a) {
  return nnrt_file_fail(a->c, NNRT_ERR_FORMAT,
                        "not a .npz file (no ZIP end of central directory record: not a ZIP "
                        "archive, or truncated)");
}

/* The end record e, found at offset `at` of the file with `before` bytes
 * of the file in memory ahead of it. */
static int parse_end(Archive *a, const unsigned char *e, uint64_t at, size_t before) {
  uint32_t count = le16(e + 10), size = le32(e + 12), offset = le32(e + 16);
  bool zip64 =
      (before >= ZIP64_LOCATOR_SIZE && le32(e - ZIP64_LOCATOR_SIZE) == SIG_ZIP64_LOCATOR) ||
      size == UINT32_MAX || offset == UINT32_MAX;
  if (zip64)
    return nnrt_file_fail(a->c, NNRT_ERR_FORMAT,
                          "ZIP64 archives (over 4 GiB or 65535 arrays) are not supported; save "
                          "the arrays as .npy files");
  if (le16(e + 4) != 0 || le16(e + 6) != 0 || le16(e + 8) != count)
    return nnrt_file_fail(a->c, NNRT_ERR_FORMAT, "multi-disk ZIP archives are not supported");
  if ((uint64_t)offset + size > at)
    return nnrt_file_fail(a->c, NNRT_ERR_FORMAT,
                          "corrupt archive: the central directory (%" PRIu32
                          " bytes at offset %" PRIu32 ") does not fit in the file's %" PRIu64
                          " bytes before its end record",
                          size, offset, at);
  a->entries = count;
  a->dir_size = size;
  a->dir_offset = offset;
  return NNRT_OK;
}

/* Where the end record starts in the file's last `tail` bytes, or -1: the
 * last signature whose comment fits in the file, as Python's zipfile looks
 * for it. */
static ptrdiff_t find_end_record(const unsigned char *buf, size_t tail) {
  for (size_t i = tail - END_SIZE + 1; i-- > 0;)
    if (le32(buf + i) == SIG_END && i + END_SIZE + le16(buf + i + 20) <= tail)
      return (ptrdiff_t)i;
  return -1;
}

static int find_end(Archive *a) {
  size_t tail = a->size < END_SIZE + MAX_COMMENT ? (size_t)a->size : END_SIZE + MAX_COMMENT;
  if (tail < END_SIZE)
    return not_zip(a);
  unsigned char *buf = malloc(tail);
  if (!buf)
    return nnrt_file_fail(a->c, NNRT_ERR_NOMEM, "out of memory");
  int rc = read_at(a, a->c, a->size - tail, buf, tail);
  if (rc == NNRT_OK) {
    ptrdiff_t i = find_end_record(buf, tail);
    rc = i < 0 ? not_zip(a) : parse_end(a, buf + i, a->size - tail + (size_t)i, (size_t)i);
  }
  free(buf);
  return rc;
}

static int read_directory(Archive *a) {
  int rc = find_end(a);
  if (rc != NNRT_OK)
    return rc;
  a->dir = malloc(a->dir_size ? a->dir_size : 1);
  if (!a->dir)
    return nnrt_file_fail(a->c, NNRT_ERR_NOMEM, "out of memory for a %" PRIu32 "-byte directory",
                          a->dir_size);
  return read_at(a, a->c, a->dir_offset, a->dir, a->dir_size);
}

/* The entry at dir + *pos, advancing *pos past it; false if it is not a
 * whole entry. */
static bool parse_entry(const Archive *a, uint32_t *pos, Entry *e) {
  const unsigned char *p = a->dir + *pos;
  uint32_t left = a->dir_size - *pos;
  if (left < DIR_ENTRY_SIZE || le32(p) != SIG_DIR_ENTRY)
    return false;
  uint32_t len = DIR_ENTRY_SIZE + (uint32_t)le16(p + 28) + le16(p + 30) + le16(p + 32);
  if (len > left)
    return false;
  *e = (Entry){.flags = le16(p + 8),
               .method = le16(p + 10),
               .crc = le32(p + 16),
               .csize = le32(p + 20),
               .usize = le32(p + 24),
               .name_len = le16(p + 28),
               .offset = le32(p + 42),
               .name = p + DIR_ENTRY_SIZE};
  *pos += len;
  return true;
}

/* How np.load names a member: without its .npy. */
static size_t key_len(const Entry *e) {
  bool npy = e->name_len >= 4 && memcmp(e->name + e->name_len - 4, ".npy", 4) == 0;
  return e->name_len - (npy ? 4 : 0);
}

/* "a, b, c": the arrays, cut with "..." where buf is full; bytes that are
 * not printable ASCII become '?'. */
static void list_arrays(const Archive *a, char *buf, size_t cap) {
  size_t n = 0;
  uint32_t pos = 0;
  Entry e;
  buf[0] = '\0';
  for (uint32_t i = 0; i < a->entries && parse_entry(a, &pos, &e); i++) {
    size_t len = key_len(&e);
    if (n + len + sizeof ", ..." > cap) {
      snprintf(buf + n, cap - n, "%s...", i ? ", " : "");
      return;
    }
    n += (size_t)snprintf(buf + n, cap - n, "%s", i ? ", " : "");
    for (size_t k = 0; k < len; k++)
      buf[n++] = e.name[k] >= 0x20 && e.name[k] < 0x7f ? (char)e.name[k] : '?';
    buf[n] = '\0';
  }
}

static int no_such_array(const Archive *a, const char *key) {
  if (a->entries == 0)
    return nnrt_file_fail(a->c, NNRT_ERR_FORMAT, "no array '%s' (the archive is empty)", key);
  char names[512];
  list_arrays(a, names, sizeof names);
  return nnrt_file_fail(a->c, NNRT_ERR_FORMAT, "no array '%s' (it has: %s)", key, names);
}

/* The member KEY.npy; the last of that name, as Python's zipfile takes. */
static int find_entry(const Archive *a, const char *key, Entry *out) {
  size_t klen = strlen(key);
  uint32_t pos = 0;
  bool found = false;
  for (uint32_t i = 0; i < a->entries; i++) {
    Entry e;
    if (!parse_entry(a, &pos, &e))
      return nnrt_file_fail(a->c, NNRT_ERR_FORMAT,
                            "corrupt archive: entry %" PRIu32 " of the %" PRIu32
                            " in the central directory is malformed",
                            i + 1, a->entries);
    if (e.name_len == klen + 4 && key_len(&e) == klen && memcmp(e.name, key, klen) == 0) {
      *out = e;
      found = true;
    }
  }
  return found ? NNRT_OK : no_such_array(a, key);
}

/* ---- the member ---- */

static const char *method_name(uint16_t method) {
  switch (method) {
  case 12:
    return " (bzip2)";
  case 14:
    return " (LZMA)";
  case 93:
    return " (Zstandard)";
  case 95:
    return " (xz)";
  }
  return "";
}

static int check_entry(const Ctx *m, const Entry *e) {
  if (e->flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) || e->method == METHOD_AES)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT, "the member is encrypted, which is not supported");
  if (e->method != METHOD_STORED && e->method != METHOD_DEFLATE)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "compression method %u%s is not supported (nnc reads stored and "
                          "deflate members, as np.savez and np.savez_compressed write them)",
                          (unsigned)e->method, method_name(e->method));
  if (e->csize == UINT32_MAX || e->usize == UINT32_MAX || e->offset == UINT32_MAX)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT, "ZIP64 members (over 4 GiB) are not supported");
  if (e->method == METHOD_STORED && e->csize != e->usize)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "corrupt sizes: a stored member of %" PRIu32 " bytes that holds %" PRIu32,
                          e->csize, e->usize);
  if (e->method == METHOD_DEFLATE && e->usize > e->csize * MAX_RATIO + RATIO_SLACK)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "corrupt sizes: %" PRIu32
                          " bytes of deflate data cannot inflate to the %" PRIu32
                          " bytes the directory says",
                          e->csize, e->usize);
  return NNRT_OK;
}

/* Reads the local header's name, at fp's position, and compares it with
 * the directory's. */
static int same_name(const Archive *a, const Ctx *m, const Entry *e) {
  unsigned char *name = malloc(e->name_len ? e->name_len : 1);
  if (!name)
    return nnrt_file_fail(m, NNRT_ERR_NOMEM, "out of memory");
  int rc = read_exact(a, m, name, e->name_len);
  if (rc == NNRT_OK && memcmp(name, e->name, e->name_len) != 0)
    rc = nnrt_file_fail(
        m, NNRT_ERR_FORMAT,
        "corrupt archive: the local header at offset %" PRIu32 " names another member", e->offset);
  free(name);
  return rc;
}

/* Checks the local header against the directory's entry and returns where
 * the data starts in *data. */
static int locate_data(const Archive *a, const Ctx *m, const Entry *e, uint64_t *data) {
  unsigned char h[LOCAL_SIZE];
  if ((uint64_t)e->offset + LOCAL_SIZE + e->name_len > a->dir_offset)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "corrupt archive: the local header at offset %" PRIu32
                          " is not before the central directory at offset %" PRIu64,
                          e->offset, a->dir_offset);
  int rc = read_at(a, m, e->offset, h, LOCAL_SIZE);
  if (rc != NNRT_OK)
    return rc;
  if (le32(h) != SIG_LOCAL || le16(h + 26) != e->name_len)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "corrupt archive: no local header for it at offset %" PRIu32, e->offset);
  rc = same_name(a, m, e);
  if (rc != NNRT_OK)
    return rc;
  if (le16(h + 8) != e->method)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "corrupt archive: the local header says compression method %u, the "
                          "central directory %u",
                          (unsigned)le16(h + 8), (unsigned)e->method);
  *data = (uint64_t)e->offset + LOCAL_SIZE + e->name_len + le16(h + 28);
  if (*data + e->csize > a->dir_offset)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "corrupt archive: the member's %" PRIu32 " bytes at offset %" PRIu64
                          " do not fit before the central directory at offset %" PRIu64,
                          e->csize, *data, a->dir_offset);
  return NNRT_OK;
}

/* What the end of inflating says about the member (zrc: inflate's last
 * return). */
static int inflate_outcome(const Ctx *m, const Entry *e, const z_stream *z, int zrc) {
  if (zrc == Z_MEM_ERROR)
    return nnrt_file_fail(m, NNRT_ERR_NOMEM, "out of memory for inflating");
  if (zrc == Z_DATA_ERROR)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT, "corrupt deflate data (%s)", z->msg ? z->msg : "?");
  if (zrc != Z_STREAM_END && z->avail_out == 0)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "inflates to more than the %" PRIu32 " bytes the directory says",
                          e->usize);
  if (zrc != Z_STREAM_END)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT, "the deflate data ends early (truncated member)");
  if (z->total_out != e->usize)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "inflates to %lu bytes, but the directory says %" PRIu32,
                          (unsigned long)z->total_out, e->usize);
  return NNRT_OK;
}

/* A member's raw deflate data, read from fp's position as it inflates. */
typedef struct Inflater {
  z_stream z;
  uint32_t left; /* compressed bytes not read yet */
  int zrc;       /* inflate's last return */
  unsigned char in[CHUNK];
} Inflater;

/* Inflates into z.next_out until z.avail_out is 0 (until_full), or until
 * inflate stops: then one call past a full window tells a stream that ends
 * there from one that goes on. */
static int inflate_more(const Archive *a, const Ctx *m, Inflater *f, bool until_full) {
  int rc = NNRT_OK;
  while (f->zrc == Z_OK && rc == NNRT_OK && !(until_full && f->z.avail_out == 0)) {
    if (f->z.avail_in == 0 && f->left > 0) {
      uInt n = f->left < CHUNK ? f->left : CHUNK;
      rc = read_exact(a, m, f->in, n);
      f->left -= n;
      f->z.next_in = f->in;
      f->z.avail_in = n;
    }
    if (rc == NNRT_OK)
      f->zrc = inflate(&f->z, Z_NO_FLUSH);
  }
  return rc;
}

/* The member's first `len` bytes into buf (stored: read; deflate: inflated
 * with f, which goes on from there). */
static int member_start(const Archive *a, const Ctx *m, const Entry *e, Inflater *f,
                        unsigned char *buf, uint32_t len) {
  if (e->method == METHOD_STORED)
    return read_exact(a, m, buf, len);
  f->z.next_out = buf;
  f->z.avail_out = len;
  int rc = inflate_more(a, m, f, true);
  if (rc == NNRT_OK && f->z.avail_out != 0)
    rc = inflate_outcome(m, e, &f->z, f->zrc); /* ended or failed early: an error */
  return rc;
}

/* The rest of the member, after member_start's `done` bytes of buf. */
static int member_rest(const Archive *a, const Ctx *m, const Entry *e, Inflater *f,
                       unsigned char *buf, uint32_t done) {
  if (e->method == METHOD_STORED)
    return read_exact(a, m, buf + done, e->usize - done);
  f->z.next_out = buf + done;
  f->z.avail_out = e->usize - done;
  int rc = inflate_more(a, m, f, false);
  return rc != NNRT_OK ? rc : inflate_outcome(m, e, &f->z, f->zrc);
}

/* A .npy header fits in this many bytes (npy.c caps it at 64 KiB). */
enum { NPY_PREFIX = 12 + 64 * 1024 };

/* The member's declared size must be what its .npy header says: checked on
 * a prefix, so that a small archive that inflates to gigabytes is refused
 * before they are allocated or inflated. */
static int check_declared_size(const Ctx *m, const Entry *e, const unsigned char *prefix,
                               uint32_t len, nnrt_tensor *shape) {
  uint64_t header = 0, data = 0;
  int rc = nnrt_npy_sizes(m, prefix, len, &header, &data, shape);
  if (rc != NNRT_OK)
    return rc;
  if (data > UINT64_MAX - header || header + data != e->usize)
    return nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "the directory says the member holds %" PRIu32
                          " bytes, but its .npy header and shape make %" PRIu64 " + %" PRIu64,
                          e->usize, header, data);
  return NNRT_OK;
}

/* The member's uncompressed bytes, checked against its CRC-32; or, when
 * out is NULL, only the dtype and shape of its header in *shape. */
static int member_bytes(const Archive *a, const Ctx *m, const Entry *e, unsigned char **out,
                        nnrt_tensor *shape) {
  uint64_t data = 0;
  int rc = locate_data(a, m, e, &data);
  if (rc != NNRT_OK)
    return rc;
  Inflater *f = NULL;
  if (e->method == METHOD_DEFLATE) {
    f = calloc(1, sizeof *f);
    if (!f || inflateInit2(&f->z, -MAX_WBITS) != Z_OK) {
      free(f);
      return nnrt_file_fail(m, NNRT_ERR_NOMEM, "out of memory for inflating");
    }
    f->left = e->csize;
  }
  uint32_t plen = e->usize < NPY_PREFIX ? e->usize : NPY_PREFIX;
  unsigned char *prefix = malloc(plen ? plen : 1), *buf = NULL;
  rc = prefix ? seek_to(a, m, data) : nnrt_file_fail(m, NNRT_ERR_NOMEM, "out of memory");
  if (rc == NNRT_OK)
    rc = member_start(a, m, e, f, prefix, plen);
  if (rc == NNRT_OK)
    rc = check_declared_size(m, e, prefix, plen, shape);
  if (!out) {
    if (f)
      inflateEnd(&f->z);
    free(f);
    free(prefix);
    return rc;
  }
  if (rc == NNRT_OK && !(buf = malloc(e->usize ? e->usize : 1)))
    rc = nnrt_file_fail(m, NNRT_ERR_NOMEM, "out of memory for %" PRIu32 " bytes", e->usize);
  if (rc == NNRT_OK) {
    memcpy(buf, prefix, plen);
    rc = member_rest(a, m, e, f, buf, plen);
  }
  if (f)
    inflateEnd(&f->z);
  free(f);
  free(prefix);
  if (rc == NNRT_OK) {
    uint32_t crc = (uint32_t)crc32_z(0, buf, e->usize);
    if (crc != e->crc)
      rc = nnrt_file_fail(m, NNRT_ERR_FORMAT,
                          "CRC-32 mismatch: the data gives %08" PRIx32
                          ", the directory says %08" PRIx32 " (the archive is corrupt)",
                          crc, e->crc);
  }
  if (rc != NNRT_OK) {
    free(buf);
    return rc;
  }
  *out = buf;
  return NNRT_OK;
}

/* The member's bytes as a .npy file, through npy.c's parser. */
static int parse_npy(const Ctx *m, unsigned char *bytes, uint32_t size, nnrt_tensor *out) {
  FILE *fp = fmemopen(bytes, size, "rb");
  if (!fp)
    return nnrt_file_fail(m, NNRT_ERR_NOMEM, "cannot read the member from memory: %s",
                          strerror(errno));
  int rc = nnrt_npy_read_stream(m, fp, size, out);
  fclose(fp);
  return rc;
}

/* The array (or, shape_only, its dtype and shape). */
static int read_array(const Archive *a, const char *key, const Entry *e, bool shape_only,
                      nnrt_tensor *out) {
  char *name = nnrt_npz_member_name(a->c->path, key);
  if (!name)
    return nnrt_file_fail(a->c, NNRT_ERR_NOMEM, "out of memory");
  Ctx m = {name, a->c->err, a->c->errlen};
  unsigned char *bytes = NULL;
  int rc = check_entry(&m, e);
  if (rc == NNRT_OK)
    rc = member_bytes(a, &m, e, shape_only ? NULL : &bytes, out);
  if (rc == NNRT_OK && !shape_only) {
    memset(out, 0, sizeof *out);
    rc = parse_npy(&m, bytes, e->usize, out);
  }
  free(bytes);
  free(name);
  return rc;
}

char *nnrt_npz_member_name(const char *path, const char *key) {
  size_t n = strlen(path) + strlen(key) + sizeof ": .npy";
  char *s = malloc(n);
  if (s)
    snprintf(s, n, "%s: %s.npy", path, key);
  return s;
}

static int read_member(const char *path, const char *key, bool shape_only, nnrt_tensor *out,
                       char *err, size_t errlen) {
  Ctx c = {path ? path : "(null)", err, errlen};
  if (!path || !key || !out)
    return nnrt_file_fail(&c, NNRT_ERR_ARG, "%s is NULL",
                          !path  ? "path"
                          : !key ? "key"
                                 : "output tensor");
  memset(out, 0, sizeof *out);
  Archive a = {.c = &c};
  Entry e;
  int rc = open_archive(&a);
  if (rc == NNRT_OK)
    rc = read_directory(&a);
  if (rc == NNRT_OK)
    rc = find_entry(&a, key, &e);
  if (rc == NNRT_OK)
    rc = read_array(&a, key, &e, shape_only, out);
  if (rc != NNRT_OK)
    memset(out, 0, sizeof *out);
  free(a.dir);
  if (a.fp)
    fclose(a.fp);
  return rc;
}

int nnrt_npz_read(const char *path, const char *key, nnrt_tensor *out, char *err, size_t errlen) {
  return read_member(path, key, false, out, err, errlen);
}

int nnrt_npz_shape(const char *path, const char *key, nnrt_tensor *out, char *err, size_t errlen) {
  return read_member(path, key, true, out, err, errlen);
}
