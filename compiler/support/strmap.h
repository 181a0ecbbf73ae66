/* strmap.h - string-keyed hash map in an arena (names in scopes and tables).
 * Keys are not copied; they must outlive the map (arena strings do). */
#ifndef NNC_STRMAP_H
#define NNC_STRMAP_H

#include <stddef.h>

#include "arena.h"

typedef struct StrMapEntry {
  const char *key;
  void *value;
} StrMapEntry;

typedef struct StrMap {
  Arena *arena;
  StrMapEntry *slots;
  size_t cap, len;
} StrMap;

void strmap_init(StrMap *m, Arena *a);
void *strmap_get(const StrMap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *strmap_put(StrMap *m, const char *key, void *value);

#endif
