/* Batcher: the intrusive lists, queue order, expiry and taking requests out.
 * Queue order: level 0 first; within a level its main FIFO (submit order),
 * then the requests that timed out under MS_TIMEOUT_DELAY, in the order they
 * expired — one list per level, the second part from dfirst on. */
#include <stdlib.h>

#include "batcher/batcher_internal.h"
#include "common/error.h"

/* ---- nonempty-level bitmap ------------------------------------------------ */

static inline void mark_level(ms_batcher *b, int level, int nonempty) {
  uint64_t bit = UINT64_C(1) << (level & 63);
  if (nonempty) b->nonempty[level >> 6] |= bit;
  else b->nonempty[level >> 6] &= ~bit;
}

static int next_level(const ms_batcher *b, int from) {
  for (int w = from >> 6; w < MS_BATCHER_MAX_LEVELS / 64; w++) {
    uint64_t bits = b->nonempty[w];
    if (w == from >> 6) bits &= ~UINT64_C(0) << (from & 63);
    if (bits) return w * 64 + __builtin_ctzll(bits);
  }
  return -1;
}

int ms__batcher_highest_level(const ms_batcher *b) {
  for (int w = MS_BATCHER_MAX_LEVELS / 64; w-- > 0;)
    if (b->nonempty[w]) return w * 64 + 63 - __builtin_clzll(b->nonempty[w]);
  return -1;
}

/* ---- queue order ---------------------------------------------------------- */

uint32_t ms__batcher_first(const ms_batcher *b, int *level) {
  int l = next_level(b, 0);
  if (l < 0) return MS__BNIL;
  *level = l;
  return b->levels[l].head;
}

uint32_t ms__batcher_after(const ms_batcher *b, uint32_t node, int *level) {
  uint32_t n = ms__batcher_node(b, node)->next;
  if (n != MS__BNIL) return n;
  int l = *level + 1 < MS_BATCHER_MAX_LEVELS ? next_level(b, *level + 1) : -1;
  if (l < 0) return MS__BNIL;
  *level = l;
  return b->levels[l].head;
}

/* ---- lists ---------------------------------------------------------------- */

static inline __attribute__((always_inline)) void push(ms_batcher *b, uint32_t *head, uint32_t *tail, uint32_t node) {
  ms__bnode *n = ms__batcher_node(b, node);
  n->next = MS__BNIL;
  n->prev = *tail;
  if (*tail != MS__BNIL) ms__batcher_node(b, *tail)->next = node;
  else *head = node;
  *tail = node;
}

static inline __attribute__((always_inline)) void unlink_node(ms_batcher *b, uint32_t *head, uint32_t *tail, uint32_t node) {
  ms__bnode *n = ms__batcher_node(b, node);
  if (n->prev != MS__BNIL) ms__batcher_node(b, n->prev)->next = n->next;
  else *head = n->next;
  if (n->next != MS__BNIL) ms__batcher_node(b, n->next)->prev = n->prev;
  else *tail = n->prev;
}

static inline void level_unlink(ms_batcher *b, ms__blevel *v, uint32_t node) {
  if (v->dfirst == node) v->dfirst = ms__batcher_node(b, node)->next;
  unlink_node(b, &v->head, &v->tail, node);
}

void ms__batcher_level_push(ms_batcher *b, uint32_t node) {
  ms__bnode *n = ms__batcher_node(b, node);
  int level = ms__bn_level(n);
  ms__blevel *v = &b->levels[level];
  if (v->dfirst == MS__BNIL) {
    push(b, &v->head, &v->tail, node);
  } else { /* the end of the main FIFO: just before the delayed ones */
    ms__bnode *d = ms__batcher_node(b, v->dfirst);
    n->next = v->dfirst;
    n->prev = d->prev;
    if (d->prev != MS__BNIL) ms__batcher_node(b, d->prev)->next = node;
    else v->head = node;
    d->prev = node;
  }
  if (v->count++ == 0) mark_level(b, level, 1);
  v->items += n->items;
  /* age list */
  n->anext = MS__BNIL;
  n->aprev = b->atail;
  if (b->atail != MS__BNIL) ms__batcher_node(b, b->atail)->anext = node;
  else b->ahead = node;
  b->atail = node;
  b->n_pending++;
  b->items_pending += n->items;
}

void ms__batcher_detach(ms_batcher *b, uint32_t node) {
  ms__bnode *n = ms__batcher_node(b, node);
  int level = ms__bn_level(n);
  ms__blevel *v = &b->levels[level];
  level_unlink(b, v, node);
  if ((n->meta & 0xffffffu) != MS__BCLS_NONE) ms__batcher_class_unlink(b, node);
  if (n->aprev != MS__BNIL) ms__batcher_node(b, n->aprev)->anext = n->anext;
  else b->ahead = n->anext;
  if (n->anext != MS__BNIL) ms__batcher_node(b, n->anext)->aprev = n->aprev;
  else b->atail = n->aprev;
  if (--v->count == 0) mark_level(b, level, 0);
  v->items -= n->items;
  b->n_pending--;
  b->items_pending -= n->items;
  b->size_state = MS__BSIZE_UNKNOWN;
}

void ms__batcher_cancel_node(ms_batcher *b, uint32_t node) {
  ms__batcher_detach(b, node);
  push(b, &b->chead, &b->ctail, node);
  ms__batcher_node(b, node)->anext = MS__BCANCELED;
  b->n_canceled++;
}

void ms__batcher_expire(ms_batcher *b, int64_t now) {
  int64_t deadline;
  uint32_t c;
  while ((c = ms__batcher_heap_top(b, &deadline)) != MS__BNIL && deadline <= now) {
    uint32_t node = b->cls[c].head;
    ms__bnode *n = ms__batcher_node(b, node);
    ms__blevel *v = &b->levels[ms__bn_level(n)];
    if (v->action == MS_TIMEOUT_DELAY) {
      /* Behind every unexpired request of its level; it no longer times out. */
      ms__batcher_class_unlink(b, node);
      level_unlink(b, v, node);
      push(b, &v->head, &v->tail, node);
      if (v->dfirst == MS__BNIL) v->dfirst = node;
      b->size_state = MS__BSIZE_UNKNOWN;
    } else {
      ms__batcher_detach(b, node);
      push(b, &b->xhead, &b->xtail, node);
      n->anext = MS__BEXPIRED;
      b->n_expired++;
    }
  }
}

/* ---- taking requests out -------------------------------------------------- */

static void retire(ms_batcher *b, uint32_t node, ms__bentry *e) {
  ms__bnode *n = ms__batcher_node(b, node);
  e->id = n->id;
  e->submitted_us = n->submit_us;
  e->items = n->items;
  ms__batcher_hash_remove(b, n->id);
  ms__batcher_node_put(b, node);
}

/* Out of the age list and its timeout class (not out of its level list). */
static void leave(ms_batcher *b, uint32_t node, ms__bnode *n) {
  if ((n->meta & 0xffffffu) != MS__BCLS_NONE) ms__batcher_class_unlink(b, node);
  if (n->aprev != MS__BNIL) ms__batcher_node(b, n->aprev)->anext = n->anext;
  else b->ahead = n->anext;
  if (n->anext != MS__BNIL) ms__batcher_node(b, n->anext)->aprev = n->aprev;
  else b->atail = n->aprev;
}

ms_batch *ms__batcher_take_run(ms_batcher *b, size_t n, int64_t items, int64_t now, const uint32_t *nodes) {
  ms_batch *x = ms__batcher_batch_new(MS_OK, n, now);
  if (!x) return NULL;
  x->items = items;
  /* The nodes in queue order (the cut's walk passes them when it kept them),
   * with a prefetch of their hash slots: in a deep queue each is a miss. */
  int level = 0;
  uint32_t node = nodes ? MS__BNIL : ms__batcher_first(b, &level);
  for (size_t i = 0; i < n; i++) {
    if (nodes) node = nodes[i];
    x->e[i].items = node; /* scratch until filled below */
    __builtin_prefetch(&b->slots[ms__batcher_hash_home(b, ms__batcher_node(b, node)->id)], 1);
    if (!nodes) node = ms__batcher_after(b, node, &level);
  }
  /* A batch is a prefix of queue order: per level, a prefix of its list,
   * cut off at once. */
  size_t i = 0;
  while (i < n) {
    uint32_t first = (uint32_t)x->e[i].items;
    int l = ms__bn_level(ms__batcher_node(b, first));
    ms__blevel *v = &b->levels[l];
    int64_t k = 0, sum = 0;
    int took_dfirst = 0;
    uint32_t rest = MS__BNIL;
    for (; i < n; i++) {
      node = (uint32_t)x->e[i].items;
      ms__bnode *m = ms__batcher_node(b, node);
      if (ms__bn_level(m) != l) break;
      if (node == v->dfirst) took_dfirst = 1;
      rest = m->next;
      leave(b, node, m);
      x->e[i].id = m->id;
      x->e[i].submitted_us = m->submit_us;
      x->e[i].items = m->items;
      k++;
      sum += m->items;
      ms__batcher_hash_remove(b, m->id);
      ms__batcher_node_put(b, node);
    }
    v->head = rest;
    if (rest != MS__BNIL) ms__batcher_node(b, rest)->prev = MS__BNIL;
    else v->tail = MS__BNIL;
    if (took_dfirst) v->dfirst = rest; /* everything after dfirst is delayed */
    v->count -= k;
    v->items -= sum;
    if (!v->count) mark_level(b, l, 0);
    b->n_pending -= k;
    b->items_pending -= sum;
  }
  b->size_state = MS__BSIZE_UNKNOWN;
  return x;
}

ms_batch *ms__batcher_take_list(ms_batcher *b, int status, int64_t now) {
  int canceled = status == MS_ECANCELED;
  size_t n = canceled ? b->n_canceled : b->n_expired;
  ms_batch *x = ms__batcher_batch_new(status, n, now);
  if (!x) return NULL;
  uint32_t node = canceled ? b->chead : b->xhead;
  int64_t items = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t after = ms__batcher_node(b, node)->next;
    retire(b, node, &x->e[i]);
    items += x->e[i].items;
    node = after;
  }
  x->items = items;
  if (canceled) {
    b->chead = b->ctail = MS__BNIL;
    b->n_canceled = 0;
  } else {
    b->xhead = b->xtail = MS__BNIL;
    b->n_expired = 0;
  }
  return x;
}
