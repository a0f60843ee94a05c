/* A tick's pairs in memory (tally.h): an array in the order they were added
 * and an open-addressing index over it. */
#include "tracker/tally.h"

#include <stdlib.h>
#include <string.h>

#include "common/text.h"

struct ms__tracker_tally {
  ms__tracker_tally_pair *pairs;
  size_t n, cap;
  uint32_t *slot; /* index + 1 into pairs; 0: empty */
  size_t slots;   /* a power of two, at least twice n */
  /* the savepoint: changes since mark, when marked */
  int marked;
  struct undo {
    size_t pair;
    int64_t delta;
  } *log;
  size_t n_log, cap_log;
};

static uint32_t hash(const char *s, int cls) {
  uint32_t h = 2166136261u ^ (uint32_t)cls;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

ms__tracker_tally *ms__tracker_tally_new(void) { return calloc(1, sizeof(ms__tracker_tally)); }

void ms__tracker_tally_clear(ms__tracker_tally *y) {
  if (!y) return;
  y->marked = 0;
  y->n_log = 0;
  for (size_t i = 0; i < y->n; i++) free(y->pairs[i].scope);
  y->n = 0;
  if (y->slot) memset(y->slot, 0, y->slots * sizeof *y->slot);
}

void ms__tracker_tally_free(ms__tracker_tally *y) {
  if (!y) return;
  ms__tracker_tally_clear(y);
  free(y->pairs);
  free(y->slot);
  free(y->log);
  free(y);
}

static int reindex(ms__tracker_tally *y, size_t slots) {
  uint32_t *s = calloc(slots, sizeof *s);
  if (!s) return -1;
  for (size_t i = 0; i < y->n; i++) {
    size_t j = hash(y->pairs[i].scope, y->pairs[i].cls) & (slots - 1);
    while (s[j]) j = (j + 1) & (slots - 1);
    s[j] = (uint32_t)i + 1;
  }
  free(y->slot);
  y->slot = s;
  y->slots = slots;
  return 0;
}

ms__tracker_tally_pair *ms__tracker_tally_get(ms__tracker_tally *y, const char *scope, int cls) {
  if (y->slots) {
    for (size_t j = hash(scope, cls) & (y->slots - 1); y->slot[j]; j = (j + 1) & (y->slots - 1)) {
      ms__tracker_tally_pair *p = &y->pairs[y->slot[j] - 1];
      if (p->cls == cls && strcmp(p->scope, scope) == 0) return p;
    }
  }
  if (y->n == y->cap) {
    size_t cap = y->cap ? y->cap * 2 : 64;
    ms__tracker_tally_pair *p = realloc(y->pairs, cap * sizeof *p);
    if (!p) return NULL;
    y->pairs = p;
    y->cap = cap;
  }
  if ((y->n + 1) * 2 > y->slots && reindex(y, y->slots ? y->slots * 2 : 128)) return NULL;
  char *copy = ms__strdup(scope);
  if (!copy) return NULL;
  ms__tracker_tally_pair *p = &y->pairs[y->n];
  memset(p, 0, sizeof *p);
  p->scope = copy;
  p->cls = cls;
  size_t j = hash(scope, cls) & (y->slots - 1);
  while (y->slot[j]) j = (j + 1) & (y->slots - 1);
  y->slot[j] = (uint32_t)++y->n;
  return p;
}

size_t ms__tracker_tally_count(const ms__tracker_tally *y) { return y ? y->n : 0; }

ms__tracker_tally_pair *ms__tracker_tally_at(ms__tracker_tally *y, size_t i) { return &y->pairs[i]; }

void ms__tracker_tally_mark(ms__tracker_tally *y) {
  y->marked = 1;
  y->n_log = 0;
}

int ms__tracker_tally_add(ms__tracker_tally *y, ms__tracker_tally_pair *p, int64_t delta) {
  if (y->marked) {
    if (y->n_log == y->cap_log) {
      size_t cap = y->cap_log ? y->cap_log * 2 : 16;
      struct undo *l = realloc(y->log, cap * sizeof *l);
      if (!l) return -1;
      y->log = l;
      y->cap_log = cap;
    }
    y->log[y->n_log++] = (struct undo){(size_t)(p - y->pairs), delta};
  }
  p->delta += delta;
  return 0;
}

void ms__tracker_tally_undo(ms__tracker_tally *y) {
  while (y->n_log) {
    struct undo *u = &y->log[--y->n_log];
    y->pairs[u->pair].delta -= u->delta;
  }
  y->marked = 0;
}

void ms__tracker_tally_keep(ms__tracker_tally *y) {
  y->marked = 0;
  y->n_log = 0;
}
