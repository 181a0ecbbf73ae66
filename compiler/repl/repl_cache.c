/* repl_cache.c - reuse of compiled REPL functions; see repl_cache.h. */
#include "repl.h"

#include <stdlib.h>
#include <string.h>

/* The module's printed IR (its parameters and functions, with types): what
 * the generated code depends on. malloc'd; NULL if printing failed. */
static char *module_key(const IrModule *m) {
  char *s = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&s, &n);
  if (!f)
    return NULL;
  ir_print_module(f, m);
  if (fclose(f)) {
    free(s);
    return NULL;
  }
  return s;
}

static void entry_free(ReplCacheEntry *e) {
  jit_free(e->jit);
  frontend_free(e->comp);
  free(e->key);
  *e = (ReplCacheEntry){0};
}

static JitFunc *lookup(ReplCache *c, const char *key) {
  for (int i = 0; i < REPL_CACHE_ENTRIES; i++)
    if (c->e[i].key && !strcmp(c->e[i].key, key))
      return c->e[i].jf;
  return NULL;
}

JitFunc *repl_cache_compile(ReplCache *c, Compilation **comp, const IrModule *m, const IrFunc *f,
                            char *err, size_t errlen) {
  char *key = module_key(m);
  JitFunc *jf = key ? lookup(c, key) : NULL;
  if (jf) {
    free(key);
    c->reuses++;
    return jf;
  }
  CodegenOptions cg = pipeline_default_options();
  Jit *jit = jit_new(err, errlen);
  jf = jit ? jit_compile(jit, m, f, &cg, err, errlen) : NULL;
  if (!jf || !key) {
    jit_free(jit);
    free(key);
    if (jf)
      snprintf(err, errlen, "out of memory");
    return NULL;
  }
  ReplCacheEntry *e = &c->e[c->next];
  entry_free(e);
  *e = (ReplCacheEntry){.key = key, .comp = *comp, .jit = jit, .jf = jf};
  *comp = NULL;
  c->next = (c->next + 1) % REPL_CACHE_ENTRIES;
  c->compiles++;
  return jf;
}

void repl_cache_free(ReplCache *c) {
  for (int i = 0; i < REPL_CACHE_ENTRIES; i++)
    entry_free(&c->e[i]);
}
