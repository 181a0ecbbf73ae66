/* fileio.h - what the runtime's file readers share (internal; not part of
 * the public API): errors formatted as "path: problem" into the caller's
 * buffer, and reading a whole file with checked sizes. */
#ifndef NNRT_FILEIO_H
#define NNRT_FILEIO_H

#include <stddef.h>

typedef struct nnrt_file_ctx {
  const char *path;
  char *err;
  size_t errlen;
} nnrt_file_ctx;

/* Writes "<path>: <message>" into c->err and returns code. */
__attribute__((format(printf, 3, 4))) int nnrt_file_fail(const nnrt_file_ctx *c, int code,
                                                         const char *fmt, ...);

/* Reads the whole file into *buf (malloc'd, NUL-terminated at (*buf)[*len]).
 * Errors: cannot open, is a directory, cannot read, out of memory. */
int nnrt_file_read_all(const nnrt_file_ctx *c, unsigned char **buf, size_t *len);

#endif
