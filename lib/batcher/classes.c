/* Batcher: timeout classes. All pending requests of one level that share one
 * timeout value form a FIFO; since submit times never go backwards, the FIFO
 * is in deadline order and its head is its nearest deadline. A min-heap over
 * the non-empty classes, keyed by their head's deadline, gives the
 * nearest deadline of the whole batcher; it changes only when a class
 * empties or fills, or when a stale key reaches the top, so with one timeout
 * per level every operation is O(1) amortized and a request with a timeout
 * value of its own costs O(log classes). */
#include <stdlib.h>
#include <string.h>

#include "batcher/batcher_internal.h"
#include "common/error.h"

int64_t ms__batcher_class_deadline(const ms_batcher *b, uint32_t c) {
  const ms__bclass *k = &b->cls[c];
  return ms__batcher_sat_add(ms__batcher_node(b, k->head)->submit_us, k->timeout_us);
}

/* ---- heap -----------------------------------------------------------------
 * Entries cache their class's key: (head deadline, head submit time, level),
 * so comparisons touch no node. A class's key only ever grows (its head
 * leaves, a later one takes its place), so a cached key is a lower bound of
 * the true one: the heap is left alone when a head leaves, and an entry is
 * brought up to date only when it reaches the top (ms__batcher_heap_top).
 * Ties go to the earlier submit, then the higher-priority level: the order
 * requests are said to expire in. */

static void key_of(const ms_batcher *b, uint32_t c, ms__bheap *e) {
  const ms__bclass *k = &b->cls[c];
  const ms__bnode *h = ms__batcher_node(b, k->head);
  e->deadline = ms__batcher_sat_add(h->submit_us, k->timeout_us);
  e->submit_us = h->submit_us;
  e->level = k->level;
  e->cls = c;
}

static int before(const ms__bheap *x, const ms__bheap *y) {
  if (x->deadline != y->deadline) return x->deadline < y->deadline;
  if (x->submit_us != y->submit_us) return x->submit_us < y->submit_us;
  if (x->level != y->level) return x->level < y->level;
  return x->cls < y->cls;
}

static void heap_put(ms_batcher *b, uint32_t pos, const ms__bheap *e) {
  b->heap[pos] = *e;
  b->cls[e->cls].heap_pos = pos;
}

static void heap_up(ms_batcher *b, uint32_t pos) {
  ms__bheap e = b->heap[pos];
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 2;
    if (!before(&e, &b->heap[parent])) break;
    heap_put(b, pos, &b->heap[parent]);
    pos = parent;
  }
  heap_put(b, pos, &e);
}

static void heap_down(ms_batcher *b, uint32_t pos) {
  ms__bheap e = b->heap[pos];
  uint32_t n = b->n_heap;
  for (;;) {
    uint32_t l = 2 * pos + 1, best = pos;
    const ms__bheap *be = &e;
    if (l < n && before(&b->heap[l], be)) best = l, be = &b->heap[l];
    if (l + 1 < n && before(&b->heap[l + 1], be)) best = l + 1, be = &b->heap[l + 1];
    if (best == pos) break;
    heap_put(b, pos, be);
    pos = best;
  }
  heap_put(b, pos, &e);
}

static void heap_remove(ms_batcher *b, uint32_t c) {
  uint32_t pos = b->cls[c].heap_pos;
  ms__bheap last = b->heap[--b->n_heap];
  b->cls[c].heap_pos = MS__BNIL;
  if (pos == b->n_heap) return;
  heap_put(b, pos, &last);
  heap_down(b, pos);
  heap_up(b, b->cls[last.cls].heap_pos);
}

uint32_t ms__batcher_heap_top(ms_batcher *b, int64_t *deadline) {
  for (;;) {
    if (!b->n_heap) return MS__BNIL;
    ms__bheap e;
    key_of(b, b->heap[0].cls, &e);
    if (e.deadline == b->heap[0].deadline && e.submit_us == b->heap[0].submit_us) {
      *deadline = e.deadline;
      return e.cls;
    }
    b->heap[0] = e; /* stale: its head left since */
    heap_down(b, 0);
  }
}

/* ---- the (level, timeout) -> class map ------------------------------------ */

static uint32_t key_hash(uint32_t level, int64_t timeout_us) {
  uint64_t x = (uint64_t)timeout_us * UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)level << 40);
  x ^= x >> 29;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 32;
  return (uint32_t)x;
}

static uint32_t map_find(const ms_batcher *b, uint32_t level, int64_t timeout_us, uint32_t *pos) {
  uint32_t mask = b->cmap_cap - 1, i = key_hash(level, timeout_us) & mask;
  for (;;) {
    uint32_t v = b->cmap[i];
    if (!v) break;
    const ms__bclass *k = &b->cls[v - 1];
    if (k->level == level && k->timeout_us == timeout_us) {
      *pos = i;
      return v - 1;
    }
    i = (i + 1) & mask;
  }
  *pos = i;
  return MS__BNIL;
}

static void map_remove(ms_batcher *b, uint32_t c) {
  uint32_t i;
  if (map_find(b, b->cls[c].level, b->cls[c].timeout_us, &i) != c) return;
  uint32_t mask = b->cmap_cap - 1, j = i;
  for (;;) {
    j = (j + 1) & mask;
    uint32_t v = b->cmap[j];
    if (!v) break;
    uint32_t k = key_hash(b->cls[v - 1].level, b->cls[v - 1].timeout_us) & mask;
    int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      b->cmap[i] = v;
      i = j;
    }
  }
  b->cmap[i] = 0;
  b->cmap_count--;
}

int ms__batcher_class_reserve(ms_batcher *b) {
  if (b->cls_free == MS__BNIL && b->n_cls >= MS__BCLS_LIMIT)
    return ms__fail(MS_EFULL, "batcher: %u distinct timeouts are pending, the most one batcher holds",
                    (unsigned)b->n_cls);
  if (b->cls_free == MS__BNIL && b->n_cls == b->cap_cls) {
    uint32_t cap = b->cap_cls ? b->cap_cls * 2 : 8;
    ms__bclass *c = realloc(b->cls, (size_t)cap * sizeof *c);
    if (!c) return ms__fail(MS_ENOMEM, "batcher: out of memory for timeout classes");
    b->cls = c;
    ms__bheap *h = realloc(b->heap, (size_t)cap * sizeof *h);
    if (!h) return ms__fail(MS_ENOMEM, "batcher: out of memory for timeout classes");
    b->heap = h;
    b->cap_cls = cap;
  }
  if ((b->cmap_count + 1) * 2 > b->cmap_cap) {
    uint32_t cap = b->cmap_cap ? b->cmap_cap * 2 : 16;
    uint32_t *m = calloc(cap, sizeof *m);
    if (!m) return ms__fail(MS_ENOMEM, "batcher: out of memory for timeout classes");
    uint32_t *old = b->cmap, old_cap = b->cmap_cap;
    b->cmap = m;
    b->cmap_cap = cap;
    for (uint32_t i = 0; i < old_cap; i++) {
      if (!old[i]) continue;
      uint32_t pos;
      (void)map_find(b, b->cls[old[i] - 1].level, b->cls[old[i] - 1].timeout_us, &pos);
      m[pos] = old[i];
    }
    free(old);
  }
  return MS_OK;
}

uint32_t ms__batcher_class_get(ms_batcher *b, uint32_t level, int64_t timeout_us) {
  uint32_t pos;
  uint32_t c = map_find(b, level, timeout_us, &pos);
  if (c != MS__BNIL) return c;
  if (b->cls_free != MS__BNIL) {
    c = b->cls_free;
    b->cls_free = b->cls[c].next_free;
  } else {
    c = b->n_cls++;
  }
  ms__bclass *k = &b->cls[c];
  memset(k, 0, sizeof *k);
  k->timeout_us = timeout_us;
  k->head = k->tail = MS__BNIL;
  k->heap_pos = MS__BNIL;
  k->level = level;
  k->live = 1;
  k->next_free = MS__BNIL;
  b->cmap[pos] = c + 1;
  b->cmap_count++;
  return c;
}

void ms__batcher_class_release(ms_batcher *b, uint32_t c) {
  ms__bclass *k = &b->cls[c];
  if (!k->live || k->count || b->levels[k->level].def_cls == c) return;
  map_remove(b, c);
  k->live = 0;
  k->next_free = b->cls_free;
  b->cls_free = c;
}

void ms__batcher_class_push(ms_batcher *b, uint32_t c, uint32_t node) {
  ms__bclass *k = &b->cls[c];
  ms__bnode *n = ms__batcher_node(b, node);
  ms__bn_set_cls(n, c);
  n->tnext = MS__BNIL;
  n->tprev = k->tail;
  if (k->tail != MS__BNIL) ms__batcher_node(b, k->tail)->tnext = node;
  else k->head = node;
  k->tail = node;
  if (++k->count == 1) {
    ms__bheap e;
    key_of(b, c, &e);
    uint32_t pos = b->n_heap++;
    heap_put(b, pos, &e);
    heap_up(b, pos);
  }
}

void ms__batcher_class_unlink(ms_batcher *b, uint32_t node) {
  ms__bnode *n = ms__batcher_node(b, node);
  uint32_t c = ms__bn_cls(n);
  if (c == MS__BNIL) return;
  ms__bclass *k = &b->cls[c];
  if (n->tprev != MS__BNIL) ms__batcher_node(b, n->tprev)->tnext = n->tnext;
  else k->head = n->tnext;
  if (n->tnext != MS__BNIL) ms__batcher_node(b, n->tnext)->tprev = n->tprev;
  else k->tail = n->tprev;
  ms__bn_set_cls(n, MS__BNIL);
  if (--k->count == 0) {
    heap_remove(b, c);
    ms__batcher_class_release(b, c);
  } /* else its key may have grown: fixed when it reaches the top */
}

void ms__batcher_classes_free(ms_batcher *b) {
  free(b->cls);
  free(b->heap);
  free(b->cmap);
  b->cls = NULL;
  b->heap = NULL;
  b->cmap = NULL;
}
