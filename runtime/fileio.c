/* fileio.c - error messages and whole-file reads for the runtime's
 * loaders (see fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* What a file that is not regular is, for messages. */
static const char *file_kind(mode_t mode) {
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

int nnrt_file_open_regular(const nnrt_file_ctx *c, FILE **fp, uint64_t *size) {
  *fp = NULL;
  *size = 0;
  /* O_NONBLOCK: opening a FIFO that has no writer returns at once instead
   * of waiting for one; it is cleared again before any read. */
  int fd = open(c->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return nnrt_file_fail(c, NNRT_ERR_IO, "cannot open: %s", strerror(errno));
  struct stat st;
  int rc = NNRT_OK;
  if (fstat(fd, &st) != 0)
    rc = nnrt_file_fail(c, NNRT_ERR_IO, "cannot stat: %s", strerror(errno));
  else if (S_ISDIR(st.st_mode))
    rc = nnrt_file_fail(c, NNRT_ERR_IO, "is a directory");
  else if (!S_ISREG(st.st_mode) || st.st_size < 0)
    rc = nnrt_file_fail(c, NNRT_ERR_IO,
                        "is %s, not a regular file (nnc reads data and checkpoints only from "
                        "regular files, whose size says where they end)",
                        file_kind(st.st_mode));
  else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
    rc = nnrt_file_fail(c, NNRT_ERR_IO, "cannot open: %s", strerror(errno));
  FILE *f = rc == NNRT_OK ? fdopen(fd, "rb") : NULL;
  if (rc == NNRT_OK && !f)
    rc = nnrt_file_fail(c, NNRT_ERR_NOMEM, "cannot open: %s", strerror(errno));
  if (rc != NNRT_OK) {
    close(fd);
    return rc;
  }
  *fp = f;
  *size = (uint64_t)st.st_size;
  return NNRT_OK;
}

int nnrt_file_read_all(const nnrt_file_ctx *c, unsigned char **buf, size_t *len) {
  *buf = NULL;
  *len = 0;
  FILE *fp;
  uint64_t size;
  int rc = nnrt_file_open_regular(c, &fp, &size);
  if (rc != NNRT_OK)
    return rc;
  unsigned char *b = size < SIZE_MAX ? malloc((size_t)size + 1) : NULL;
  if (!b) {
    fclose(fp);
    return nnrt_file_fail(c, NNRT_ERR_NOMEM, "out of memory for %" PRIu64 " bytes", size);
  }
  size_t n = fread(b, 1, (size_t)size, fp);
  if (n == size && fgetc(fp) != EOF)
    rc = nnrt_file_fail(c, NNRT_ERR_IO,
                        "the file grew while it was read (it had %" PRIu64 " bytes when opened)",
                        size);
  else if (ferror(fp))
    rc = nnrt_file_fail(c, NNRT_ERR_IO, "cannot read: %s", strerror(errno));
  else if (n != size)
    rc = nnrt_file_fail(c, NNRT_ERR_IO,
                        "the file shrank while it was read (%" PRIu64 " bytes when opened, %zu "
                        "read)",
                        size, n);
  fclose(fp);
  if (rc != NNRT_OK) {
    free(b);
    return rc;
  }
  b[n] = 0;
  *buf = b;
  *len = n;
  return NNRT_OK;
}
