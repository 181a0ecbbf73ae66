/* arena.c - bump allocator with large-block fallback; see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_BLOCK_SIZE = 64 * 1024 };

struct ArenaBlock {
  ArenaBlock *next;
  size_t size, used;
  max_align_t data[]; /* aligned payload */
};

void arena_init(Arena *a) {
  a->head = NULL;
  a->used_bytes = 0;
}

void arena_free(Arena *a) {
  ArenaBlock *b = a->head;
  while (b) {
    ArenaBlock *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->used_bytes = 0;
}

static size_t align_up(size_t n) {
  size_t al = _Alignof(max_align_t);
  return (n + al - 1) & ~(al - 1);
}

static ArenaBlock *new_block(size_t payload) {
  if (payload > SIZE_MAX - sizeof(ArenaBlock))
    arena_fatal("out of memory (request of %zu bytes)", payload);
  ArenaBlock *b = malloc(sizeof(ArenaBlock) + payload);
  if (!b)
    arena_fatal("out of memory (request of %zu bytes)", payload);
  b->size = payload;
  b->used = 0;
  return b;
}

void *arena_alloc(Arena *a, size_t size) {
  if (size > SIZE_MAX / 2)
    arena_fatal("out of memory (request of %zu bytes)", size);
  size = align_up(size ? size : 1);
  ArenaBlock *b = a->head;
  if (!b || b->size - b->used < size) {
    if (size > ARENA_BLOCK_SIZE / 4) {
      /* A big request gets its own block, placed behind the current one so
       * the current block's free space is not wasted. */
      ArenaBlock *big = new_block(size);
      big->used = size;
      if (b) {
        big->next = b->next;
        b->next = big;
      } else {
        big->next = NULL;
        a->head = big;
      }
      a->used_bytes += size;
      memset(big->data, 0, size);
      return big->data;
    }
    b = new_block(ARENA_BLOCK_SIZE);
    b->next = a->head;
    a->head = b;
  }
  void *p = (char *)b->data + b->used;
  b->used += size;
  a->used_bytes += size;
  memset(p, 0, size);
  return p;
}

void *arena_array(Arena *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size)
    arena_fatal("out of memory (array of %zu x %zu bytes)", n, size);
  return arena_alloc(a, n * size);
}

void *arena_grow(Arena *a, void *old, size_t old_n, size_t new_n, size_t size) {
  void *p = arena_array(a, new_n, size);
  if (old && old_n)
    memcpy(p, old, old_n * size);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_vprintf(Arena *a, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    NNC_BUG("bad format string '%s'", fmt);
  char *p = arena_alloc(a, (size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = arena_vprintf(a, fmt, ap);
  va_end(ap);
  return p;
}

void arena_ptrvec_push(Arena *a, PtrVec *v, void *item) {
  if (v->len == v->cap) {
    int cap = v->cap ? v->cap * 2 : 4;
    v->items = arena_grow(a, v->items, (size_t)v->len, (size_t)cap, sizeof(void *));
    v->cap = cap;
  }
  v->items[v->len++] = item;
}

_Noreturn void arena_fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("nnc: fatal error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(3);
}

_Noreturn void arena_internal_error(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "nnc: internal compiler error at %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fputs("\nnnc: this is a bug in nnc, not in your program; please report it\n", stderr);
  va_end(ap);
  exit(70);
}
