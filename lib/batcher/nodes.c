/* Batcher: request nodes (chunks of 4096 on a free list) and the hash from
 * request_id to node. */
#include <stdlib.h>
#include <string.h>

#include "batcher/batcher_internal.h"
#include "common/error.h"

#define MS__BNODE_LIMIT ((uint32_t)MS_BATCHER_MAX_REQUESTS) /* node indices 0 .. limit-1 */
#define SLOT_NODE_MASK 0xffffffu

int ms__batcher_node_reserve(ms_batcher *b) {
  if (b->free_head != MS__BNIL) return MS_OK;
  if (b->n_chunks == sizeof b->chunks / sizeof b->chunks[0])
    return ms__fail(MS_EFULL, "batcher: ms_batcher_submit: the batcher holds %d requests, the most it can",
                    MS_BATCHER_MAX_REQUESTS);
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

/* ---- hash ------------------------------------------------------------------
 * Robin Hood linear probing. A slot holds the node index + 1 (24 bits) and
 * the entry's distance from its home slot (8 bits): a lookup compares ids
 * only for entries at its own distance (same home), stops at the first
 * entry closer to its home than the probe is, and a deletion shifts the
 * rest of the run back by one without rehashing anything. */

#define SLOT_DIST(v) ((v) >> 24)
#define SLOT_NODE(v) (((v) & SLOT_NODE_MASK) - 1u)
#define MAX_DIST 255u

/* Hashing (ms__batcher_hash): a multiply by the batcher's random odd
 * multiplier and a 64-bit finalizer; the home slot is the high half
 * scaled to the table size, so any size works and the table grows by half.
 * Ids cannot be aimed at an unknown multiplier; should a run of entries
 * still grow too long, the table is rebuilt with a new multiplier. */
static inline uint32_t home_of(const ms_batcher *b, uint64_t id, uint32_t cap) {
  return (uint32_t)(((ms__batcher_hash(b, id) >> 32) * (uint64_t)cap) >> 32);
}

static uint64_t next_seed(uint64_t s) {
  s += UINT64_C(0x9e3779b97f4a7c15);
  s = (s ^ (s >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  s = (s ^ (s >> 27)) * UINT64_C(0x94d049bb133111eb);
  return (s ^ (s >> 31)) | 1u;
}

/* Robin Hood insertion of `value` (distance bits 0) from slot i at distance
 * d; returns the largest distance it wrote, or MAX_DIST + 1 when a run grew
 * too long (the table is then rebuilt larger by the next reserve). */
static inline uint32_t insert_from(uint32_t *slots, uint32_t cap, uint32_t i, uint32_t d, uint32_t value) {
  uint32_t longest = 0;
  for (;;) {
    uint32_t v = slots[i];
    if (!v) {
      slots[i] = d << 24 | value;
      return d > longest ? d : longest;
    }
    if (SLOT_DIST(v) < d) { /* take the slot from an entry nearer its home */
      slots[i] = d << 24 | value;
      if (d > longest) longest = d;
      value = v & SLOT_NODE_MASK;
      d = SLOT_DIST(v);
    }
    i = i + 1 == cap ? 0 : i + 1;
    if (++d > MAX_DIST) return MAX_DIST + 1;
  }
}

static int rebuild(ms_batcher *b, uint32_t cap, int reseed) {
  uint64_t seed = b->seed;
  for (int attempt = 0;; attempt++) {
    if (reseed || attempt) b->seed = next_seed(b->seed);
    uint32_t *s = calloc(cap, sizeof *s);
    if (!s) {
      b->seed = seed;
      return ms__fail(MS_ENOMEM, "batcher: ms_batcher_submit: out of memory for the request index");
    }
    uint32_t longest = 0;
    for (uint32_t i = 0; i < b->hcap && longest <= MAX_DIST; i++) {
      uint32_t v = b->slots[i];
      if (!v) continue;
      uint32_t d = insert_from(s, cap, home_of(b, ms__batcher_node(b, SLOT_NODE(v))->id, cap), 0, v & SLOT_NODE_MASK);
      if (d > longest) longest = d;
    }
    if (longest > MAX_DIST) { /* an unlucky multiplier: draw another */
      free(s);
      if (attempt < 8) continue;
      b->seed = seed;
      return ms__fail(MS_EINTERNAL, "batcher: ms_batcher_submit: the request index cannot spread its entries");
    }
    free(b->slots);
    b->slots = s;
    b->hcap = cap;
    b->hlongest = longest;
    return MS_OK;
  }
}

int ms__batcher_hash_reserve(ms_batcher *b) {
  if (ms__batcher_hash_has_room(b)) return MS_OK;
  if (b->hcount + 1 <= ms__batcher_hash_limit(b->hcap)) return rebuild(b, b->hcap, 1); /* a run grew too long */
  uint32_t cap = b->hcap < 16 ? 16 : b->hcap + b->hcap / 2;
  return rebuild(b, cap, 0);
}

/* The slot holding id, or cap with *stop / *dist where an insert would go. */
static inline uint32_t probe(const ms_batcher *b, uint64_t id, uint32_t *stop, uint32_t *dist) {
  uint32_t cap = b->hcap;
  if (!cap) {
    *stop = *dist = 0;
    return 0;
  }
  uint32_t i = home_of(b, id, cap), d = 0;
  for (;;) {
    uint32_t v = b->slots[i];
    if (!v || SLOT_DIST(v) < d) break;
    if (SLOT_DIST(v) == d && ms__batcher_node(b, SLOT_NODE(v))->id == id) return i;
    i = i + 1 == cap ? 0 : i + 1;
    d++;
  }
  *stop = i;
  *dist = d;
  return cap;
}

uint32_t ms__batcher_hash_find(const ms_batcher *b, uint64_t id) {
  uint32_t stop, dist, i = probe(b, id, &stop, &dist);
  return i < b->hcap ? SLOT_NODE(b->slots[i]) : MS__BNIL;
}

uint32_t ms__batcher_hash_find_slot(const ms_batcher *b, uint64_t id, uint32_t *stop, uint32_t *dist) {
  uint32_t i = probe(b, id, stop, dist);
  return i < b->hcap ? SLOT_NODE(b->slots[i]) : MS__BNIL;
}

void ms__batcher_hash_insert_at(ms_batcher *b, uint32_t stop, uint32_t dist, uint32_t node) {
  uint32_t d = insert_from(b->slots, b->hcap, stop, dist, node + 1);
  if (d > b->hlongest) b->hlongest = d; /* MAX_DIST + 1 forces a rebuild at the next reserve */
  b->hcount++;
}

void ms__batcher_hash_remove(ms_batcher *b, uint64_t id) {
  uint32_t stop, dist, i = probe(b, id, &stop, &dist), cap = b->hcap;
  if (i >= cap) return;
  for (;;) {
    uint32_t j = i + 1 == cap ? 0 : i + 1;
    uint32_t v = b->slots[j];
    if (!v || SLOT_DIST(v) == 0) break;
    b->slots[i] = v - (1u << 24);
    i = j;
  }
  b->slots[i] = 0;
  b->hcount--;
}

void ms__batcher_nodes_free(ms_batcher *b) {
  for (uint32_t c = 0; c < b->n_chunks; c++) free(b->chunks[c]);
  free(b->slots);
  b->n_chunks = 0;
  b->slots = NULL;
}
