/* Internal (autoscaler, layer 2): the types of the in-memory model, the
 * data every evaluation decides on, loaded from the store at open: endpoints
 * (creation order + a name table), their rules (id order + an id table),
 * their metric series with the latest observations, and the model's indexes
 * (the conflict index, the evaluation arena, the deadline index). Types
 * only: the operations are in endpoint.h (creating, changing, finding) and
 * in the files of each index (conflict.h, arena.h, deadline.h), the
 * observations in series.h. Depends on layer 0 and the public header only. */
#ifndef MS_AUTOSCALER_MODEL_H
#define MS_AUTOSCALER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "autoscaler/pool.h"
#include "autoscaler/table.h"
#include "mserve/autoscaler.h"

#define AS_MAX_REPLICAS 4096 /* live replica slots per series */
#define AS_MAX_SERIES 256    /* metrics per endpoint */
#define AS_MAX_RULES 16384   /* rules per endpoint, enabled or not */

#define AS_NO_POS UINT32_MAX /* not in a heap */

/* Layout. An evaluation reads, per endpoint, the first cache line of the
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
  uint64_t hash;         /* ms__autoscaler_hash_pair(source, metric) */
  as_conflicts *cf;      /* owned; NULL until a rule on it is enabled */
  uint32_t n_rules;      /* rules of the endpoint that watch it */
  uint32_t dl_pos;       /* its place in the deadline index, or AS_NO_POS */
  int64_t dl_key;        /* while there: its key (deadline.c) */
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
  uint32_t dl_pos;   /* its place in the deadline index, or AS_NO_POS */
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
  /* The second cache line: what an observation reads after the hot line
   * (ms__autoscaler_endpoint_find compares the name, then the series are
   * searched). Together they keep observe at two lines of the endpoint. */
  char *name;      /* name_buf, or owned when longer */
  size_t n_series;
  /* Most names fit here: no heap block per endpoint is made or freed for
   * them (an evaluation reads the arena's copy, next to the rules). */
  char name_buf[AS_NAME_INLINE];
  /* cold */
  size_t cap_series;
  as_segment *seg; /* the arena segment holding rules, series and hot_name
                      (capacity: exactly n), or NULL: they are on the heap */
  uint32_t seg_slot;
  int is_loose;    /* on the loose list (attached, and seg == NULL) */
  struct as_endpoint *loose_prev, *loose_next;
  as_rule_cold *rules_cold;
  size_t cap_rules;
  uint64_t hash;
  int64_t hist_head;  /* seq of the newest history row, 0: none */
  int64_t hist_count; /* changes ever recorded: the ordinal of the newest row */
  int64_t tick_seq;   /* during a tick's persistence: the seq of its new row, else 0 */
} as_endpoint;

/* The deadline index (deadline.c): one min-heap entry per series some rule
 * watches that has an observation still to go stale, and per enabled rule
 * whose cooldown is still to end. */
typedef struct as_dl_entry {
  int64_t key; /* a lower bound of the instant it stands for */
  as_endpoint *ep;
  uint32_t index; /* of the series or the rule in ep */
  uint32_t is_rule;
} as_dl_entry;

typedef struct as_deadlines {
  as_dl_entry *e;
  size_t n, cap;
  int64_t floor; /* now_us of the latest query: every entry's instant is later */
  int active;    /* queried once: kept up to date from then on */
  int valid;     /* the heap reflects the model (else rebuilt at the next query) */
} as_deadlines;

typedef struct as_model {
  as_endpoint **eps; /* ascending id = creation order */
  size_t n_eps, cap_eps;
  as_table by_name; /* as_endpoint*, keyed by name */
  as_table by_id;   /* as_endpoint* of each rule, keyed by the rule id */
  size_t total_rules, total_name_bytes;
  as_pool ep_pool;
  int64_t ttl_us; /* observations older than this are missing */
  /* the evaluation arena (arena.c): endpoints whose hot data is still on
   * the heap, oldest first */
  as_endpoint *loose_head, *loose_tail;
  size_t n_loose;
  int closing; /* set while the model is destroyed: segments only free themselves */
  as_deadlines dl;
} as_model;

/* Index of rule `id` in ep (binary search), or ep->n_rules. */
static inline size_t ms__autoscaler_rule_index(const as_endpoint *ep, int64_t id) {
  size_t lo = 0, hi = ep->n_rules;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ep->rules[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < ep->n_rules && ep->rules[lo].id == id ? lo : ep->n_rules;
}

#endif
