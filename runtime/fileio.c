/* fileio.c - error messages and whole-file reads for the runtime's
 * loaders (see fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nnrt.h"

int nnrt_verrorf(char *err, size_t errlen, int code, const char *prefix, const char *fmt,
                 va_list ap) {
  if (!err || errlen == 0)
    return code;
  int n = snprintf(err, errlen, "%s", prefix);
  if (n >= 0 && (size_t)n < errlen)
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  return code;
}

int nnrt_errorf(char *err, size_t errlen, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nnrt_verrorf(err, errlen, code, "", fmt, ap);
  va_end(ap);
  return code;
}

const char *nnrt_plural(int64_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

int nnrt_file_fail(const nnrt_file_ctx *c, int code, const char *fmt, ...) {
  char prefix[4096];
  snprintf(prefix, sizeof prefix, "%s: ", c->path);
  va_list ap;
  va_start(ap, fmt);
  nnrt_verrorf(c->err, c->errlen, code, prefix, fmt, ap);
  va_end(ap);
  return code;
}

/* Reads the whole file into *buf (malloc'd). */
int nnrt_file_read_all(const nnrt_file_ctx *c, unsigned char **buf, size_t *len) {
  *buf = NULL;
  *len = 0;
  FILE *fp = fopen(c->path, "rb");
  if (!fp)
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(fp);
    return nnrt_file_fail(c, NNRT_ERR_IO, "is a directory");
  }
  size_t cap = 64 * 1024;
  if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size < SIZE_MAX - 1)
    cap = (size_t)st.st_size + 1; /* +1 so that EOF is seen without growing */
  unsigned char *b = malloc(cap);
  if (!b) {
    fclose(fp);
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for %zu bytes", cap);
  }
  size_t n = 0;
  for (;;) {
    if (n == cap) {
      if (cap > SIZE_MAX / 2) {
        free(b);
        fclose(fp);
        return nnrt_file_fail(c, NNRT_ERR_NOMEM, "file too large");
      }
      unsigned char *bigger = realloc(b, cap * 2);
      if (!bigger) {
        free(b);
        fclose(fp);
        return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for %zu bytes", cap * 2);
      }
      b = bigger;
      cap *= 2;
    }
    size_t got = fread(b + n, 1, cap - n, fp);
    n += got;
    if (got == 0) {
      if (ferror(fp)) {
        int e = errno;
        free(b);
        fclose(fp);
        return nnrt_file_fail(c, NNRT_ERR_IO, "cannot read: %s", strerror(e));
      }
      break;
    }
  }
  fclose(fp);
  if (n == cap) { /* room for the terminating NUL */
    unsigned char *bigger = realloc(b, cap + 1);
    if (!bigger) {
      free(b);
      return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for %zu bytes", cap + 1);
    }
    b = bigger;
  }
  b[n] = 0;
  *buf = b;
  *len = n;
  return NNRT_OK;
}
