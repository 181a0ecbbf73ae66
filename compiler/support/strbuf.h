/* strbuf.h - a growable, NUL-terminated string on the heap, for text that
 * outlives any one compilation's arena (REPL sessions) or is read before
 * an arena exists. Out of memory is fatal, as for arenas. */
#ifndef NNC_STRBUF_H
#define NNC_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct StrBuf {
  char *s; /* NULL until the first append; the caller frees it */
  size_t len, cap;
} StrBuf;

void strbuf_add(StrBuf *b, const char *s, size_t n);
void strbuf_puts(StrBuf *b, const char *s);

/* Appends the whole file. False with errno set when it cannot be opened,
 * is a directory or fails to read; b then holds what was there before. */
bool strbuf_read_file(StrBuf *b, const char *path);

#endif
