/* Internal: the batching queue's data structures, shared by the files of
 * lib/batcher/. Read top-down:
 *
 *   nodes.c    fixed-size request nodes in chunks of 4096 (a free list, no
 *              malloc per request) and an open-addressing hash request_id ->
 *              node (linear probing, 8-bit fingerprints, backward-shift
 *              deletion), for the duplicate check and O(1) cancel.
 *   classes.c  timeout classes: one FIFO per (level, timeout value). Submit
 *              times never go backwards, so each FIFO is ordered by deadline;
 *              a small min-heap over the FIFO heads gives the nearest
 *              deadline. With one default timeout per level that is O(1).
 *   queue.c    the intrusive lists (per level: main FIFO, then the requests
 *              delayed by MS_TIMEOUT_DELAY; the age list of every pending
 *              request in submit order; the hand-back lists of timed-out and
 *              canceled requests), expiry, and taking requests out.
 *   cut.c      the cut rules, "is something due", next_deadline.
 *   batcher.c  the public calls: settings, submit, cancel, poll, wait, fd,
 *              shutdown, stats. One mutex guards everything.
 *   batch.c    ms_batch, one allocation per batch.
 *
 * Every pending request is in exactly one level list (main or delayed), in
 * the age list, and in at most one timeout class (none once delayed, or
 * without a timeout). A timed-out or canceled request waiting to be handed
 * back is only in its hand-back list. All of them are in the hash until the
 * batch holding them is handed out. */
#ifndef MS_BATCHER_INTERNAL_H
#define MS_BATCHER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mserve/batcher.h"

#define MS__BNIL UINT32_MAX
#define MS__BCHUNK_SHIFT 12u
#define MS__BCHUNK (1u << MS__BCHUNK_SHIFT)
#define MS__BCHUNK_MASK (MS__BCHUNK - 1u)

/* A request waiting to be handed back is in no age list: its age link says
 * which hand-back list holds it. */
#define MS__BEXPIRED (UINT32_MAX - 2u)
#define MS__BCANCELED (UINT32_MAX - 1u)
#define MS__BCLS_NONE 0xffffffu /* the class field of a node without timeout */
#define MS__BCLS_LIMIT MS__BCLS_NONE /* classes 0 .. limit-1 */

/* Cached answer of "do the cut rules 1-2 fire now?" (time-independent). */
enum { MS__BSIZE_UNKNOWN = 0, MS__BSIZE_NOT_DUE = 1, MS__BSIZE_DUE = 2 };

/* 48 bytes. */
typedef struct ms__bnode {
  uint64_t id;
  int64_t submit_us;
  uint32_t next, prev;   /* level list, hand-back list, or the free list (next) */
  uint32_t tnext, tprev; /* timeout class FIFO */
  uint32_t anext, aprev; /* age list; anext is MS__BEXPIRED / MS__BCANCELED in a hand-back list */
  uint32_t meta;         /* level (0-based) << 24 | timeout class (MS__BCLS_NONE: none) */
  int32_t items;
} ms__bnode;

_Static_assert(sizeof(ms__bnode) == 48, "a request node is 48 bytes");

static inline int ms__bn_level(const ms__bnode *n) { return (int)(n->meta >> 24); }
static inline uint32_t ms__bn_cls(const ms__bnode *n) {
  uint32_t c = n->meta & 0xffffffu;
  return c == MS__BCLS_NONE ? UINT32_MAX : c;
}
static inline void ms__bn_set_cls(ms__bnode *n, uint32_t c) {
  n->meta = (n->meta & 0xff000000u) | (c == UINT32_MAX ? MS__BCLS_NONE : c);
}
static inline int ms__bn_pending(const ms__bnode *n) { return n->anext != MS__BEXPIRED && n->anext != MS__BCANCELED; }

typedef struct ms__bclass {
  int64_t timeout_us;
  uint32_t head, tail; /* FIFO of nodes, oldest (= nearest deadline) first */
  uint32_t count;
  uint32_t heap_pos; /* MS__BNIL while empty */
  uint32_t level;
  uint32_t live; /* 0: on the free list (next_free) */
  uint32_t next_free;
} ms__bclass;

/* A level's list holds its main FIFO (submit order) followed by the requests
 * delayed by MS_TIMEOUT_DELAY (in expiry order), from dfirst on. */
/* A heap entry: a class and its cached key (see classes.c). */
typedef struct ms__bheap {
  int64_t deadline, submit_us;
  uint32_t level, cls;
} ms__bheap;

typedef struct ms__blevel {
  uint32_t head, tail;
  uint32_t dfirst;      /* first delayed request, MS__BNIL: none */
  int64_t count, items; /* pending requests of the level */
  int action;
  int allow_override;
  int64_t timeout_us; /* default timeout, 0: none */
  uint32_t def_cls;   /* class of (level, timeout_us) when it exists, else MS__BNIL */
} ms__blevel;

struct ms_batcher {
  pthread_mutex_t mu;
  pthread_cond_t cv_work;   /* waiters without the timekeeper role */
  pthread_cond_t cv_keeper; /* the one waiter sleeping until the next deadline */

  /* settings */
  int64_t max_batch, max_delay, max_queue;
  int64_t pref[MS_BATCHER_MAX_PREFERRED]; /* ascending */
  size_t n_pref;
  int pref_default; /* pref == {max_batch}, following it */
  int n_levels, default_level; /* default_level 0-based */
  int all_action, all_override;
  int64_t all_timeout;
  ms__blevel levels[MS_BATCHER_MAX_LEVELS];
  uint64_t nonempty[MS_BATCHER_MAX_LEVELS / 64];

  /* time and state */
  int64_t now;
  int closed;
  int64_t n_pending, items_pending;
  int size_state;
  uint32_t ahead, atail; /* age list */
  uint32_t xhead, xtail; /* timed out (REJECT), waiting to be handed back */
  uint32_t chead, ctail; /* canceled, waiting to be handed back */
  size_t n_expired, n_canceled;

  /* nodes: a fixed table of chunks, so reaching a node is one load */
  ms__bnode *chunks[(MS_BATCHER_MAX_REQUESTS + MS__BCHUNK - 1) / MS__BCHUNK];
  uint32_t n_chunks;
  uint32_t free_head;
  uint32_t n_used;

  /* hash: request_id -> node; slot = distance from home << 24 | (node + 1), 0 empty */
  uint32_t *slots;
  uint32_t hcap, hcount, hlongest;
  uint64_t seed; /* odd hash multiplier */

  /* timeout classes */
  ms__bclass *cls;
  uint32_t n_cls, cap_cls, cls_free;
  uint32_t *cmap; /* (level, timeout) -> class + 1; power-of-two size */
  uint32_t cmap_cap, cmap_count;
  ms__bheap *heap; /* classes with requests, by head deadline (keys may lag) */
  uint32_t n_heap;

  /* eventfd and waiters */
  int efd;     /* -1 until ms_batcher_fd */
  int efd_set; /* 1 while it holds a count */
  int n_sleep_work, n_spinning;
  int keeper_sleeping;
  int keeper_spinning; /* the keeper spins out the last microseconds to keeper_until */
  int64_t keeper_until;
  int64_t wake_margin; /* how early the keeper asks to wake (batcher.c: calibrate) */
  int wake_pending;
  pthread_cond_t *wake; /* to signal once the lock is released */
  uint64_t wakeups; /* waiters that returned from a sleep (tests read it) */
  _Atomic int due_hint; /* the last refresh's answer, for waiters spinning without the lock */
};

/* ---- nodes.c ---- */
static inline ms__bnode *ms__batcher_node(const ms_batcher *b, uint32_t i) {
  return &b->chunks[i >> MS__BCHUNK_SHIFT][i & MS__BCHUNK_MASK];
}
/* Make sure one node can be taken without failing. MS_OK or MS_ENOMEM (message set). */
int ms__batcher_node_reserve(ms_batcher *b);
static inline uint32_t ms__batcher_node_take(ms_batcher *b) { /* after a successful reserve */
  uint32_t i = b->free_head;
  b->free_head = ms__batcher_node(b, i)->next;
  b->n_used++;
  return i;
}
static inline void ms__batcher_node_put(ms_batcher *b, uint32_t i) {
  ms__batcher_node(b, i)->next = b->free_head;
  b->free_head = i;
  b->n_used--;
}
/* The hash of id: the id times the batcher's random odd multiplier, then one
 * xorshift-multiply round so that ids in arithmetic progression (a counter,
 * i * k) do not keep the multiplier's lattice structure (see nodes.c). */
static inline uint64_t ms__batcher_hash(const ms_batcher *b, uint64_t id) {
  /* A keyed bijection (multiply by the random odd seed), then a full 64-bit
   * finalizer: one xorshift-multiply round left ids in strides of 2^32 in
   * runs of a hundred slots now and then. */
  uint64_t x = id * b->seed;
  x ^= x >> 33;
  x *= UINT64_C(0xff51afd7ed558ccd);
  x ^= x >> 33;
  x *= UINT64_C(0xc4ceb9fe1a85ec53);
  return x ^ (x >> 33);
}
/* The home slot: the high half of the hash scaled to the table size. */
static inline uint32_t ms__batcher_hash_home(const ms_batcher *b, uint64_t id) {
  return (uint32_t)(((ms__batcher_hash(b, id) >> 32) * (uint64_t)b->hcap) >> 32);
}
int ms__batcher_hash_reserve(ms_batcher *b); /* room for one more id: MS_OK or MS_ENOMEM */
/* The most entries the table takes before growing: half full while small
 * (short probe runs), three quarters once memory matters. */
static inline uint64_t ms__batcher_hash_limit(uint32_t cap) {
  return cap < (1u << 16) ? (uint64_t)cap / 2 : (uint64_t)cap * 3 / 4;
}
static inline int ms__batcher_hash_has_room(const ms_batcher *b) {
  return b->hcount + 1 <= ms__batcher_hash_limit(b->hcap) && b->hlongest < 255u - 32u;
}
uint32_t ms__batcher_hash_find(const ms_batcher *b, uint64_t id);
/* As find; when absent, *stop and *dist say where ms__batcher_hash_insert_at
 * puts it (valid until the table changes; room reserved first). */
uint32_t ms__batcher_hash_find_slot(const ms_batcher *b, uint64_t id, uint32_t *stop, uint32_t *dist);
void ms__batcher_hash_insert_at(ms_batcher *b, uint32_t stop, uint32_t dist, uint32_t node);
void ms__batcher_hash_remove(ms_batcher *b, uint64_t id);
void ms__batcher_nodes_free(ms_batcher *b);

/* ---- classes.c ---- */
static inline int64_t ms__batcher_sat_add(int64_t a, int64_t b) { /* a + b, clamped to INT64_MAX / INT64_MIN */
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}
int ms__batcher_class_reserve(ms_batcher *b);      /* room for one more class: MS_OK or MS_ENOMEM */
/* The class of (level, timeout_us), created (empty) when missing; after a reserve it cannot fail. */
uint32_t ms__batcher_class_get(ms_batcher *b, uint32_t level, int64_t timeout_us);
void ms__batcher_class_push(ms_batcher *b, uint32_t c, uint32_t node);
void ms__batcher_class_unlink(ms_batcher *b, uint32_t node); /* node->cls becomes MS__BNIL; none: no-op */
int64_t ms__batcher_class_deadline(const ms_batcher *b, uint32_t c); /* of its head */
/* The class with the nearest deadline (brought up to date), MS__BNIL when none. */
uint32_t ms__batcher_heap_top(ms_batcher *b, int64_t *deadline);
/* Free c if it is empty and no level's default class. */
void ms__batcher_class_release(ms_batcher *b, uint32_t c);
void ms__batcher_classes_free(ms_batcher *b);

/* ---- queue.c ---- */
void ms__batcher_level_push(ms_batcher *b, uint32_t node);   /* new pending node, main FIFO */
void ms__batcher_detach(ms_batcher *b, uint32_t node);       /* a pending node leaves every list */
void ms__batcher_expire(ms_batcher *b, int64_t now);         /* process deadlines <= now */
void ms__batcher_cancel_node(ms_batcher *b, uint32_t node);  /* pending -> canceled list */
uint32_t ms__batcher_first(const ms_batcher *b, int *level); /* queue order */
uint32_t ms__batcher_after(const ms_batcher *b, uint32_t node, int *level);
int ms__batcher_highest_level(const ms_batcher *b); /* -1 when nothing is pending */
/* Hand out: the first n pending requests (status MS_OK), or a whole hand-back list. */
/* nodes: the first n in queue order when the caller has them, else NULL. */
ms_batch *ms__batcher_take_run(ms_batcher *b, size_t n, int64_t items, int64_t now, const uint32_t *nodes);
ms_batch *ms__batcher_take_list(ms_batcher *b, int status, int64_t now);

/* ---- cut.c ---- */
static inline int ms__batcher_delay_expired(const ms_batcher *b, int64_t now) {
  if (b->max_delay <= 0 || b->ahead == MS__BNIL) return 0;
  return ms__batcher_sat_add(ms__batcher_node(b, b->ahead)->submit_us, b->max_delay) <= now;
}
int ms__batcher_due(ms_batcher *b); /* would a poll at b->now return a batch? */
/* Cut what is due at now (after ms__batcher_expire): *out NULL when nothing is.
 * MS_OK or MS_ENOMEM (nothing taken). */
int ms__batcher_cut(ms_batcher *b, int64_t now, ms_batch **out);
int64_t ms__batcher_next_deadline(ms_batcher *b);
/* Internal accounting: bytes the batcher holds (structure, nodes, hash, classes). */
size_t ms__batcher_bytes(const ms_batcher *b);

/* ---- batch.c ---- */
typedef struct ms__bentry {
  uint64_t id;
  int64_t submitted_us;
  int64_t items;
} ms__bentry;

struct ms_batch {
  int status;
  size_t count;
  int64_t items;
  int64_t formed_us;
  ms__bentry e[];
};

ms_batch *ms__batcher_batch_new(int status, size_t count, int64_t formed_us); /* NULL: MS_ENOMEM (message set) */

#endif
