/* Internal: the autoscaler's in-memory model.
 *
 * Everything the engine decides on lives in memory, loaded from the store at
 * open: endpoints (creation order + a name table), their rules (id order + an
 * id table) and their metric series. Mutations write through to the store in
 * one transaction and touch memory only after the commit succeeded; every
 * allocation they need is made before the transaction, so the apply step
 * cannot fail. Observations are memory only. One mutex guards it all.
 *
 * Store layout (schema.c): the history is an append-only log keyed by a
 * global sequence number; each endpoint's rows form a chain (every row names
 * its predecessor) whose head and length live in the endpoint's narrow state
 * row. A tick therefore writes at the end of one b-tree plus one small row per
 * changed endpoint, however long the histories are. */
#ifndef MS_AUTOSCALER_INTERNAL_H
#define MS_AUTOSCALER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "mserve/autoscaler.h"
#include "store/store_internal.h"

#define AS_MAX_REPLICAS 4096 /* live replica slots per series */
#define AS_MAX_SERIES 256    /* metrics per endpoint */
#define AS_MAX_RULES 16384   /* rules per endpoint, enabled or not */

/* ---- open-addressing pointer table (linear probing, backward-shift delete) */
typedef struct as_table {
  void **items;
  uint64_t *hashes;
  size_t cap, n; /* cap is 0 or a power of two, load <= 1/2 */
} as_table;

typedef int (*as_eq_fn)(const void *item, const void *key);

void *as_table_find(const as_table *t, uint64_t h, as_eq_fn eq, const void *key);
/* Grow so that `extra` more items fit without allocation. */
int as_table_reserve(as_table *t, size_t extra);
/* Insert (must have been reserved; never fails). */
void as_table_insert(as_table *t, uint64_t h, void *item);
/* Remove the entry (h, item). */
void as_table_remove(as_table *t, uint64_t h, const void *item);
void as_table_free(as_table *t);

uint64_t as_hash_str(const char *s);
uint64_t as_hash_i64(int64_t v); /* a bijection: distinct ids never share a hash */
uint64_t as_hash_pair(const char *a, const char *b);

/* ---- object pool: fixed-size objects handed out from large chunks, so the
 * endpoints an evaluation walks lie next to each other in creation order;
 * addresses are stable, freed objects are reused. */
typedef struct as_pool {
  size_t obj_size, per_chunk;
  unsigned char **chunks;
  size_t n_chunks, cap_chunks;
  size_t used_in_last; /* objects handed out from the last chunk */
  void *free_list;
} as_pool;

void as_pool_init(as_pool *p, size_t obj_size, size_t per_chunk);
/* A zeroed, 64-byte aligned object, or NULL with ms_errmsg set. */
void *as_pool_alloc(as_pool *p);
void as_pool_free(as_pool *p, void *obj);
void as_pool_destroy(as_pool *p);

/* ---- model
 *
 * Layout. An evaluation reads, per endpoint, the first cache line of the
 * endpoint, its rules and the aggregates of its series. Those are kept apart
 * from everything else (the "cold" arrays, parallel to the hot ones) and
 * contiguous per endpoint, so a tick over 400,000 rules streams a few tens of
 * megabytes instead of chasing one heap block per rule, series and slot array.
 * Rules and series are addressed by their index in their endpoint's arrays;
 * the arrays grow (and move) only in configuration calls and observe. */
typedef struct as_slot {
  char *replica; /* owned; NULL: free slot */
  uint64_t hash;
  double value;
  int64_t at;
} as_slot;

/* Series with at most this many slots keep their aggregates up to date at
 * every observation (the slots are in cache then); larger ones are
 * aggregated at evaluation. */
#define AS_CACHED_SLOTS 64

#define AS_NAME_INLINE 40 /* bytes of the name kept inside an endpoint */

/* A metric series, hot part: 64 bytes. */
typedef struct as_series {
  double mean, max, min; /* over the occupied slots, in slot order; valid when `cached` */
  int64_t oldest_at;     /* the oldest occupied slot: all are fresh when it is */
  uint32_t n_live;       /* occupied slots (when cached) */
  uint32_t cached;       /* mean/max/min/oldest_at/n_live are current */
  int32_t has_wide;
  int32_t unused;
  double wide_value;
  int64_t wide_at;
} as_series;

/* The conflict index of one series (conflict.c): its enabled rules in binary
 * heaps, one per (aggregation, direction, side) that has rules, the rule
 * reaching farthest towards the other side on top. */
typedef struct as_centry {
  double key; /* the threshold (GT/GE), or minus it (LT/LE) */
  int64_t id;
  int32_t closed; /* LE/GE */
  int32_t unused;
} as_centry;

typedef struct as_cheap {
  unsigned char agg, up, above, unused; /* which rules: aggregation, step > 0, GT/GE */
  uint32_t n, cap;
  as_centry *e;
} as_cheap;

typedef struct as_conflicts {
  uint32_t n, cap; /* heaps in use (at most 12) and room */
  as_cheap h[];
} as_conflicts;

typedef struct as_series_cold {
  as_slot *slots;
  uint32_t n_slots, cap_slots;
  char *source, *metric; /* owned */
  uint64_t hash;         /* as_hash_pair(source, metric) */
  as_conflicts *cf;      /* owned; NULL until a rule on it is enabled */
} as_series_cold;

/* A rule, hot part: 56 bytes. */
typedef struct as_rule {
  double threshold;
  int64_t step, min, max;
  int64_t ready_at; /* end of the cooldown: last_applied + cooldown (saturated), INT64_MIN if never applied */
  int64_t id;
  uint32_t series; /* index in the endpoint's series */
  unsigned char cmp, agg, enabled, has_applied;
} as_rule;

typedef struct as_rule_cold {
  int64_t cooldown;
  int64_t last_applied;
  uint32_t heap_pos; /* while enabled: its place in its conflict heap */
} as_rule_cold;

typedef struct as_segment as_segment; /* arena.c */

typedef struct as_endpoint {
  /* hot: the first cache line */
  int64_t replicas;
  as_rule *rules; /* n_rules, ascending id */
  size_t n_rules;
  as_series *series;
  as_series_cold *series_cold;
  const char *hot_name; /* a copy of name in its segment, or name itself */
  size_t name_len;
  int64_t id;
  /* cold */
  char *name;      /* name_buf, or owned when longer */
  as_segment *seg; /* the arena segment holding rules, series and hot_name
                      (capacity: exactly n), or NULL: they are on the heap */
  uint32_t seg_slot;
  int is_loose;    /* on the loose list (attached, and seg == NULL) */
  struct as_endpoint *loose_prev, *loose_next;
  as_rule_cold *rules_cold;
  size_t cap_rules;
  size_t n_series, cap_series;
  uint64_t hash;
  int64_t hist_head;  /* seq of the newest history row, 0: none */
  int64_t hist_count; /* changes ever recorded: the ordinal of the newest row */
  int64_t tick_seq;   /* during a tick's persistence: the seq of its new row, else 0 */
  /* Most names fit here: no heap block per endpoint is made or freed for
   * them (an evaluation reads the arena's copy, next to the rules). */
  char name_buf[AS_NAME_INLINE];
} as_endpoint;

/* Stamp rule i of ep as applied at `at` (keeps ready_at in step). */
void as_rule_stamp(as_endpoint *ep, size_t i, int64_t at);

/* An endpoint changed by an evaluation, with the rule that changed it. */
typedef struct as_change {
  size_t ep;   /* index in a->eps and in the decisions */
  size_t rule; /* index in the endpoint's rules */
} as_change;

struct ms_autoscaler {
  ms_store *store;
  pthread_mutex_t mu;
  int64_t ttl_us;
  as_endpoint **eps; /* ascending id = creation order */
  size_t n_eps, cap_eps;
  as_table by_name; /* as_endpoint*, keyed by name */
  as_table by_id;   /* as_endpoint* of each rule, keyed by the rule id */
  size_t total_rules, total_name_bytes;
  as_pool ep_pool;
  int64_t next_seq;     /* seq of the next history row */
  size_t over_bound;    /* endpoints with more than MS_AUTOSCALER_HISTORY_MAX changes */
  int64_t trim_cursor;  /* where the history sweep continues (trim.c) */
  /* the evaluation arena (arena.c): endpoints whose hot data is still on
   * the heap, oldest first */
  as_endpoint *loose_head, *loose_tail;
  size_t n_loose;
  int closing; /* set by close: segments only free themselves */
  /* scratch reused by every evaluation, so a tick allocates only its result */
  as_change *changes;
  size_t cap_changes;
  unsigned char *buf;
  size_t buf_cap;
};

/* The rule builder / snapshot. */
struct ms_rule {
  char *source, *metric;
  int has_metric, has_trigger, has_step;
  int cmp, agg;
  double threshold;
  int64_t step, cooldown, min, max;
  int enabled;
  /* snapshot state */
  int is_snapshot;
  int64_t id;
  char *endpoint;
  int has_applied;
  int64_t last_applied;
};

/* ---- decisions */
typedef struct as_dec_rule {
  int64_t rule_id;
  double value;
  double threshold;
  int64_t step;
  int64_t proposed;
  int32_t outcome;
  int32_t cmp;
} as_dec_rule;

typedef struct as_dec_entry {
  size_t name_off;
  int64_t at, from, to, applied;
  size_t rule_first, n_rules;
} as_dec_entry;

struct ms_decisions {
  as_dec_entry *e;
  size_t n, cap;
  as_dec_rule *r;
  size_t nr, cap_r;
  char *names;
  size_t names_len, cap_names;
};

/* decisions.c */
ms_decisions *as_decisions_new(size_t entries, size_t rules, size_t name_bytes);
/* Append an entry (capacity grows when needed). Returns MS_OK or MS_ENOMEM. */
int as_decisions_add(ms_decisions *d, const char *name, size_t name_len, int64_t at, int64_t from, int64_t to,
                     int64_t applied, const as_dec_rule *rules, size_t n_rules);

/* history_codec.c: the persisted blobs (formats in that file). */
typedef struct as_entry_head {
  int64_t at, from, to, applied;
  size_t n_rules;
} as_entry_head;
/* Upper bound of an encoded entry with n_rules rules. */
size_t as_entry_max(size_t n_rules);
size_t as_entry_encode(unsigned char *out, int64_t at, int64_t from, int64_t to, int64_t applied,
                       const as_dec_rule *rules, size_t n_rules);
/* Decode into *buf (grown to *cap as needed). MS_ECORRUPT (no message) or MS_ENOMEM. */
int as_entry_decode(const unsigned char *blob, size_t len, as_entry_head *h, as_dec_rule **buf, size_t *cap);
size_t as_stamps_max(size_t n_rules);
/* The stamps of ep's rules as they are after rule `applied` (an index) was
 * applied at now. */
size_t as_stamps_encode(unsigned char *out, const as_endpoint *ep, size_t applied, int64_t now);
typedef struct as_stamp_iter {
  as_reader r;
  int64_t prev;
} as_stamp_iter;
int as_stamps_begin(as_stamp_iter *it, const unsigned char *blob, size_t len); /* MS_OK or MS_ECORRUPT */
/* 1: one stamp read; 0: end; -1: malformed. */
int as_stamps_next(as_stamp_iter *it, int64_t *rule_id, int64_t *at);

/* rule.c */
int as_rule_validate(const ms_rule *r, const char *what);
const char *as_cmp_symbol(int cmp);
const char *as_agg_name(int agg);

/* conflict.c: the conflict index, in O(log n) per call. */
/* MS_ECONFLICT (with message) when a rule with these settings on series
 * `series` of ep (ep->n_series: a metric it does not have yet), if enabled,
 * would contradict an enabled rule of ep; self_id names it in the message
 * (-1: "the new rule"). The rule itself must not be enabled. */
int as_check_conflicts(const as_endpoint *ep, size_t series, int agg, int cmp, double threshold, int64_t step,
                       int64_t self_id);
/* Room for one more enabled rule with these settings in series c's index
 * (MS_ENOMEM with message; nothing else changes). */
int ms__autoscaler_conflicts_reserve(as_series_cold *c, int agg, int cmp, int64_t step);
/* Index enabled rule i of ep (room reserved), or take it out (it is indexed). */
void ms__autoscaler_conflicts_insert(as_endpoint *ep, size_t i);
void ms__autoscaler_conflicts_remove(as_endpoint *ep, size_t i);
void ms__autoscaler_conflicts_free(as_conflicts *cf);

/* engine.c */
as_endpoint *as_find_endpoint(const ms_autoscaler *a, const char *name);
/* Index of the (source, metric) series of ep, or ep->n_series. */
size_t as_find_series(const as_endpoint *ep, const char *source, const char *metric, uint64_t h);
/* Append a series (capacity reserved with as_ep_reserve); its names are
 * copied first, so on failure (MS_ENOMEM) nothing changed. */
int as_ep_add_series(as_endpoint *ep, const char *source, const char *metric, size_t *index);
as_endpoint *as_ep_new(ms_autoscaler *a, const char *name, int64_t id, int64_t replicas);
void as_ep_free(ms_autoscaler *a, as_endpoint *ep);
/* Attach an endpoint (capacity reserved with as_reserve_endpoints). */
void as_attach_endpoint(ms_autoscaler *a, as_endpoint *ep);
int as_lock(ms_autoscaler *a);
void as_unlock(ms_autoscaler *a);
int as_check_name(const char *what, const char *s);
int as_reserve_endpoints(ms_autoscaler *a, size_t extra);
/* Room for `rules` more rules and `series` more series in ep's arrays
 * (moving them out of the arena when they are there). */
int as_ep_reserve(ms_autoscaler *a, as_endpoint *ep, size_t rules, size_t series);
/* Index of the endpoint with `id` in a->eps (sorted by id), or n_eps. */
size_t as_ep_index(const ms_autoscaler *a, int64_t id);
/* Step a write statement inside a transaction; reset and clear it. */
int as_step_done(ms_store *s, sqlite3_stmt *q, const char *what);
/* Grow a->buf to at least `bytes`. */
int as_reserve_buf(ms_autoscaler *a, size_t bytes);

/* arena.c: the endpoints' hot arrays and names packed into segments, so a
 * tick reads memory sequentially; the work is spread over configuration
 * calls and bounded per call (see there). Packing never fails: without
 * memory it is skipped, and the engine works the same, only slower. */
#define AS_SEGMENT_EPS 256 /* endpoints per segment */
/* A newly attached endpoint (its data on the heap) joins the loose list. */
void ms__autoscaler_arena_attach(ms_autoscaler *a, as_endpoint *ep);
/* Move ep's hot data out of its segment to the heap (so its arrays can grow);
 * MS_ENOMEM with message, nothing changed. A no-op for a loose endpoint. */
int ms__autoscaler_arena_leave(ms_autoscaler *a, as_endpoint *ep);
/* ep is about to be freed: off the loose list, out of its segment. */
void ms__autoscaler_arena_forget(ms_autoscaler *a, as_endpoint *ep);
/* End of a configuration call: pack AS_SEGMENT_EPS endpoints once twice as
 * many are loose. */
void ms__autoscaler_arena_maintain(ms_autoscaler *a);
/* A real evaluation: pack up to AS_SEGMENT_EPS loose endpoints. */
void ms__autoscaler_arena_pack_some(ms_autoscaler *a);
/* After loading: pack every endpoint. */
void ms__autoscaler_arena_pack_all(ms_autoscaler *a);

/* load.c: read the persisted state into a fresh engine. */
int as_load(ms_autoscaler *a);

/* rules_api.c */
/* The endpoint holding rule `id` and the rule's index there; 0 when none. */
int as_find_rule(const ms_autoscaler *a, int64_t id, as_endpoint **ep, size_t *index);
/* Index of rule `id` in ep (binary search), or ep->n_rules. */
size_t as_rule_index(const as_endpoint *ep, int64_t id);

/* tick_store.c: write one evaluation's changes in one transaction. */
int as_persist_tick(ms_autoscaler *a, const ms_decisions *d, const as_change *ch, size_t n, int64_t now,
                    int64_t *trim_cursor);

/* trim.c: delete history rows past the bound, within an open transaction. */
int as_trim_history(ms_autoscaler *a, size_t budget, int64_t *cursor);

/* history.c */
/* Delete every history row of ep (inside an open transaction). */
int as_history_delete(ms_autoscaler *a, const as_endpoint *ep);

/* observe.c: the value of a series at `now` for aggregation `agg`; 0: missing. */
int as_series_value(const as_series *s, const as_series_cold *c, int agg, int64_t replicas, int64_t now,
                    int64_t ttl, double *value);

#endif
