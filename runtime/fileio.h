/* fileio.h - what the runtime's file readers and loops share (internal;
 * not part of the public API): error messages formatted into the caller's
 * buffer ("path: problem" for files), reading a whole file with checked
 * sizes, and the .npy parser for readers of archives that hold .npy
 * members. */
#ifndef NNRT_FILEIO_H
#define NNRT_FILEIO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct nnrt_file_ctx {
  const char *path;
  char *err;
  size_t errlen;
} nnrt_file_ctx;

/* Writes prefix + the message into err (when err and errlen allow) and
 * returns code. */
int nnrt_verrorf(char *err, size_t errlen, int code, const char *prefix, const char *fmt,
                 va_list ap);
__attribute__((format(printf, 4, 5))) int nnrt_errorf(char *err, size_t errlen, int code,
                                                      const char *fmt, ...);

/* "class" or "classes" for a count. */
const char *nnrt_plural(int64_t n, const char *one, const char *many);

/* Writes "<path>: <message>" into c->err and returns code. */
__attribute__((format(printf, 3, 4))) int nnrt_file_fail(const nnrt_file_ctx *c, int code,
                                                         const char *fmt, ...);

/* Opens c->path for reading if it is a regular file, and gives its size.
 * A FIFO, socket or device is refused without blocking on it (a FIFO with
 * no writer would block open(2) forever, and /dev/zero never ends): every
 * reader takes its sizes from the file's. Errors: cannot open, is a
 * directory, not a regular file (saying which kind it is). */
int nnrt_file_open_regular(const nnrt_file_ctx *c, FILE **fp, uint64_t *size);

/* Reads the whole file into *buf (malloc'd, NUL-terminated at (*buf)[*len]),
 * at most the size fstat gave when it was opened. Errors: those of
 * nnrt_file_open_regular, cannot read, the file changed size while it was
 * read, out of memory. */
int nnrt_file_read_all(const nnrt_file_ctx *c, unsigned char **buf, size_t *len);

struct nnrt_tensor;

/* nnrt_npy_read's parser on an open stream positioned at the magic. size:
 * how many bytes of fp the array may use from there, so that a header's
 * claim is checked before anything is allocated for it (-1: the rest of
 * fp's file, when it is a regular file). Messages start with c->path. */
int nnrt_npy_read_stream(const nnrt_file_ctx *c, FILE *fp, int64_t size, struct nnrt_tensor *out);

/* For a .npy whose first len bytes are at prefix (len may stop anywhere
 * after the header): the bytes of its magic, version and header, and of
 * the data its shape and dtype make; and, when shape is not NULL, the
 * array's dtype (as nnrt_npy_read gives it) and shape, without data. Lets
 * an archive reader compare a member's declared size with what the header
 * says before inflating it. */
int nnrt_npy_sizes(const nnrt_file_ctx *c, const unsigned char *prefix, size_t len,
                   uint64_t *header, uint64_t *data, struct nnrt_tensor *shape);

/* "<path>: <key>.npy", what messages about a member of a .npz call it
 * (malloc'd; NULL when out of memory). */
char *nnrt_npz_member_name(const char *path, const char *key);

#endif
