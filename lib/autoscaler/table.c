/* A small open-addressing pointer table: linear probing over a power-of-two
 * array at most half full, backward-shift deletion (no tombstones, so lookups
 * stay short after many removals). The cached 64-bit hash of every item makes
 * a probe compare strings only on a full hash match. */
#include <stdlib.h>
#include <string.h>

#include "autoscaler/table.h"
#include "common/error.h"

/* FNV-1a, then a final avalanche (the low bits index the table). */
static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

static uint64_t fnv(uint64_t h, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t ms__autoscaler_hash_str(const char *s) { return mix(fnv(0xcbf29ce484222325ULL, s)); }

uint64_t ms__autoscaler_hash_pair(const char *a, const char *b) {
  uint64_t h = fnv(0xcbf29ce484222325ULL, a);
  h ^= 0xff; /* separator: ("ab","c") and ("a","bc") differ */
  h *= 0x100000001b3ULL;
  return mix(fnv(h, b));
}

uint64_t ms__autoscaler_hash_i64(int64_t v) { return mix((uint64_t)v * 0x9e3779b97f4a7c15ULL + 1); }

void *ms__autoscaler_table_find(const as_table *t, uint64_t h, as_eq_fn eq, const void *key) {
  if (!t->cap) return NULL;
  size_t mask = t->cap - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    const as_table_slot *sl = &t->slots[i];
    if (!sl->item) return NULL;
    if (sl->hash == h && eq(sl->item, key)) return sl->item;
  }
}

static void put(as_table_slot *slots, size_t cap, uint64_t h, void *item) {
  size_t mask = cap - 1;
  size_t i = (size_t)h & mask;
  while (slots[i].item) i = (i + 1) & mask;
  slots[i].hash = h;
  slots[i].item = item;
}

int ms__autoscaler_table_reserve(as_table *t, size_t extra) {
  size_t need = (t->n + extra) * 2;
  if (need <= t->cap) return MS_OK;
  size_t cap = t->cap ? t->cap : 16;
  while (cap < need) cap *= 2;
  as_table_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return ms__fail(MS_ENOMEM, "out of memory growing a table to %zu slots", cap);
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].item) put(slots, cap, t->slots[i].hash, t->slots[i].item);
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return MS_OK;
}

void ms__autoscaler_table_insert(as_table *t, uint64_t h, void *item) {
  put(t->slots, t->cap, h, item);
  t->n++;
}

void ms__autoscaler_table_remove(as_table *t, uint64_t h, const void *item) {
  if (!t->cap) return;
  size_t mask = t->cap - 1;
  size_t i = (size_t)h & mask;
  as_table_slot *s = t->slots;
  /* Match the hash too: one item may be stored under several keys (the
   * endpoint of each of its rules, in by_id). */
  while (s[i].item && (s[i].item != item || s[i].hash != h)) i = (i + 1) & mask;
  if (!s[i].item) return;
  s[i].item = NULL;
  t->n--;
  /* Backward shift: move later members of the probe run into the hole when
   * their home slot is not between the hole and their position. */
  for (size_t j = (i + 1) & mask; s[j].item; j = (j + 1) & mask) {
    size_t home = (size_t)s[j].hash & mask;
    int between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
    if (between) continue;
    s[i] = s[j];
    s[j].item = NULL;
    i = j;
  }
}

void ms__autoscaler_table_free(as_table *t) {
  free(t->slots);
  memset(t, 0, sizeof *t);
}
