/* Batcher: request nodes (chunks of 4096 on a free list) and the hash from
 * request_id to node. */
#include <stdlib.h>
#include <string.h>

#include "batcher_internal.h"
#include "common/error.h"

#define MS__BNODE_LIMIT ((uint32_t)MS_BATCHER_MAX_REQUESTS) /* node indices 0 .. limit-1 */
#define SLOT_NODE_MASK 0xffffffu

int ms__batcher_node_reserve(ms_batcher *b) {
  if (b->free_head != MS__BNIL) return MS_OK;
  if (b->n_chunks == b->cap_chunks) {
    uint32_t cap = b->cap_chunks ? b->cap_chunks * 2 : 8;
    ms__bnode **c = realloc(b->chunks, (size_t)cap * sizeof *c);
    if (!c) return ms__fail(MS_ENOMEM, "batcher: ms_batcher_submit: out of memory for the node table");
    b->chunks = c;
    b->cap_chunks = cap;
  }
  ms__bnode *chunk = malloc(MS__BCHUNK * sizeof *chunk);
  if (!chunk) return ms__fail(MS_ENOMEM, "batcher: ms_batcher_submit: out of memory for request nodes");
  uint32_t base = b->n_chunks * MS__BCHUNK;
  b->chunks[b->n_chunks++] = chunk;
  /* Thread the new nodes onto the free list, lowest index first. */
  uint32_t head = MS__BNIL;
  for (uint32_t k = MS__BCHUNK; k-- > 0;) {
    uint32_t idx = base + k;
    if (idx >= MS__BNODE_LIMIT) continue;
    chunk[k].next = head;
    head = idx;
  }
  b->free_head = head;
  return MS_OK;
}

uint32_t ms__batcher_node_take(ms_batcher *b) {
  uint32_t i = b->free_head;
  b->free_head = ms__batcher_node(b, i)->next;
  b->n_used++;
  return i;
}

void ms__batcher_node_put(ms_batcher *b, uint32_t i) {
  ms__bnode *n = ms__batcher_node(b, i);
  n->next = b->free_head;
  b->free_head = i;
  b->n_used--;
}

/* ---- hash ---------------------------------------------------------------- */

static inline uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

/* Any table size works: the home slot is the high half of the hash scaled
 * to the size (multiply-shift), so the table grows by half each time. */
static inline uint32_t home_of(uint64_t h, uint32_t cap) { return (uint32_t)(((h >> 32) * (uint64_t)cap) >> 32); }
static inline uint32_t fp_of(uint64_t h) { return (uint32_t)(h & 0xffu) << 24; }

static void place(uint32_t *slots, uint32_t cap, uint64_t h, uint32_t value) {
  uint32_t i = home_of(h, cap);
  while (slots[i]) i = i + 1 == cap ? 0 : i + 1;
  slots[i] = value;
}

int ms__batcher_hash_reserve(ms_batcher *b) {
  if ((uint64_t)(b->hcount + 1) * 4 <= (uint64_t)b->hcap * 3) return MS_OK;
  uint32_t cap = b->hcap < 16 ? 16 : b->hcap + b->hcap / 2;
  uint32_t *s = calloc(cap, sizeof *s);
  if (!s) return ms__fail(MS_ENOMEM, "batcher: ms_batcher_submit: out of memory for the request index");
  for (uint32_t i = 0; i < b->hcap; i++) {
    uint32_t v = b->slots[i];
    if (!v) continue;
    uint64_t h = mix(ms__batcher_node(b, (v & SLOT_NODE_MASK) - 1)->id ^ b->seed);
    place(s, cap, h, v);
  }
  free(b->slots);
  b->slots = s;
  b->hcap = cap;
  return MS_OK;
}

/* The slot holding id, or cap when absent. */
static uint32_t slot_of(const ms_batcher *b, uint64_t id) {
  if (!b->hcap) return 0;
  uint64_t h = mix(id ^ b->seed);
  uint32_t fp = fp_of(h);
  uint32_t i = home_of(h, b->hcap);
  for (;;) {
    uint32_t v = b->slots[i];
    if (!v) return b->hcap;
    if ((v & ~SLOT_NODE_MASK) == fp && ms__batcher_node(b, (v & SLOT_NODE_MASK) - 1)->id == id) return i;
    i = i + 1 == b->hcap ? 0 : i + 1;
  }
}

uint32_t ms__batcher_hash_find(const ms_batcher *b, uint64_t id) {
  uint32_t i = slot_of(b, id);
  if (i >= b->hcap) return MS__BNIL;
  return (b->slots[i] & SLOT_NODE_MASK) - 1;
}

void ms__batcher_hash_insert(ms_batcher *b, uint64_t id, uint32_t node) {
  uint64_t h = mix(id ^ b->seed);
  place(b->slots, b->hcap, h, fp_of(h) | (node + 1));
  b->hcount++;
}

void ms__batcher_hash_remove(ms_batcher *b, uint64_t id) {
  uint32_t i = slot_of(b, id);
  if (i >= b->hcap) return;
  uint32_t cap = b->hcap, j = i;
  /* Backward-shift deletion: pull later entries of the probe run into the
   * hole unless their home lies cyclically in (hole, j]. */
  for (;;) {
    j = j + 1 == cap ? 0 : j + 1;
    uint32_t v = b->slots[j];
    if (!v) break;
    uint32_t k = home_of(mix(ms__batcher_node(b, (v & SLOT_NODE_MASK) - 1)->id ^ b->seed), cap);
    int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      b->slots[i] = v;
      i = j;
    }
  }
  b->slots[i] = 0;
  b->hcount--;
}

void ms__batcher_nodes_free(ms_batcher *b) {
  for (uint32_t c = 0; c < b->n_chunks; c++) free(b->chunks[c]);
  free(b->chunks);
  free(b->slots);
  b->chunks = NULL;
  b->slots = NULL;
}
