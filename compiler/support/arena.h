/* arena.h - bump allocation for data that lives as long as one compilation.
 *
 * Everything the front end builds (source text, tokens' strings, the AST, the
 * IR) is allocated from one Arena and released at once by arena_free(). Nothing
 * allocated here is ever freed individually, so pointers stay valid until the
 * arena dies. Allocation failure is fatal (the compiler cannot continue
 * without memory) and reported through arena_fatal(), never a crash.
 */
#ifndef NNC_ARENA_H
#define NNC_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
  ArenaBlock *head;
  size_t used_bytes; /* total handed out, for statistics */
} Arena;

void arena_init(Arena *a);
void arena_free(Arena *a);

/* Zero-filled, aligned to max_align_t. */
void *arena_alloc(Arena *a, size_t size);
/* Zero-filled array of n elements; checks n * size for overflow. */
void *arena_array(Arena *a, size_t n, size_t size);
/* Grows an array allocated from this arena (old contents copied). */
void *arena_grow(Arena *a, void *old, size_t old_n, size_t new_n, size_t size);

char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(Arena *a, const char *fmt, va_list ap);

#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_array((a), (n), sizeof(T)))

/* A growable array of pointers living in an arena. */
typedef struct PtrVec {
  void **items;
  int len, cap;
} PtrVec;

void arena_ptrvec_push(Arena *a, PtrVec *v, void *item);

/* Fatal resource exhaustion and internal compiler errors (bugs in nnc, never
 * caused by user input). Both print "nnc: ..." to stderr and exit with a
 * distinct status; neither aborts. User errors go through diag.h instead. */
_Noreturn void arena_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void arena_internal_error(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define NNC_BUG(...) arena_internal_error(__FILE__, __LINE__, __VA_ARGS__)
#define NNC_ASSERT(cond)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      NNC_BUG("assertion failed: %s", #cond);                                                      \
  } while (0)

#endif
