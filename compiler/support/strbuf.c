/* strbuf.c - growable heap strings; see strbuf.h. */
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"

void strbuf_add(StrBuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *p = realloc(b->s, cap);
    if (!p)
      arena_fatal("out of memory");
    b->s = p;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

void strbuf_puts(StrBuf *b, const char *s) { strbuf_add(b, s, strlen(s)); }

bool strbuf_read_file(StrBuf *b, const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return false;
  }
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return false;
  size_t before = b->len;
  strbuf_add(b, "", 0);
  char chunk[1 << 16];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
    strbuf_add(b, chunk, n);
  bool bad = ferror(fp);
  fclose(fp);
  if (bad) {
    b->len = before;
    b->s[before] = '\0';
    errno = EIO;
    return false;
  }
  return true;
}
