/* strmap.c - open addressing with linear probing; grows at 50% load. */
#include "strmap.h"

#include <stdint.h>
#include <string.h>

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void strmap_init(StrMap *m, Arena *a) {
  m->arena = a;
  m->slots = NULL;
  m->cap = m->len = 0;
}

static StrMapEntry *find_slot(StrMapEntry *slots, size_t cap, const char *key) {
  size_t i = hash_str(key) & (cap - 1);
  while (slots[i].key && strcmp(slots[i].key, key) != 0)
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

void *strmap_get(const StrMap *m, const char *key) {
  if (!m->cap)
    return NULL;
  StrMapEntry *e = find_slot(m->slots, m->cap, key);
  return e->key ? e->value : NULL;
}

static void grow(StrMap *m) {
  size_t cap = m->cap ? m->cap * 2 : 16;
  StrMapEntry *slots = ARENA_ARRAY(m->arena, StrMapEntry, cap);
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key)
      *find_slot(slots, cap, m->slots[i].key) = m->slots[i];
  m->slots = slots;
  m->cap = cap;
}

void *strmap_put(StrMap *m, const char *key, void *value) {
  if ((m->len + 1) * 2 > m->cap)
    grow(m);
  StrMapEntry *e = find_slot(m->slots, m->cap, key);
  void *old = e->key ? e->value : NULL;
  if (!e->key) {
    e->key = key;
    m->len++;
  }
  e->value = value;
  return old;
}
