/* repl_cache.h - compiled code of REPL inputs, kept for reuse.
 *
 * Every input goes through the front end again (cheap), but JIT compilation
 * (fusion, LLVM, O3) is reused when the function is the same as one
 * compiled before: the key is the printed IR of the generated module, its
 * parameters and the function, so a new value of a binding (a function
 * input) reuses the code, while a new shape, another expression or a
 * redefined layer or model compiles afresh. The cache keeps the last few
 * functions; an entry owns its compilation, which the code refers to. */
#ifndef NNC_REPL_CACHE_H
#define NNC_REPL_CACHE_H

#include "frontend.h"
#include "jit.h"

enum { REPL_CACHE_ENTRIES = 16 };

typedef struct ReplCacheEntry {
  char *key;
  Compilation *comp;
  Jit *jit;
  JitFunc *jf;
} ReplCacheEntry;

typedef struct ReplCache {
  ReplCacheEntry e[REPL_CACHE_ENTRIES];
  int next;              /* the entry the next miss replaces */
  long compiles, reuses; /* for :cache */
} ReplCache;

/* The compiled form of f, the one function of module m (from *comp): a
 * cached one, or a new one, in which case the cache takes *comp (and sets
 * it to NULL). NULL with a message when compilation fails. */
JitFunc *repl_cache_compile(ReplCache *c, Compilation **comp, const IrModule *m, const IrFunc *f,
                            char *err, size_t errlen);

void repl_cache_free(ReplCache *c);

#endif
