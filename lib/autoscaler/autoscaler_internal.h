/* Internal: the autoscaler's in-memory model.
 *
 * Everything the engine decides on lives in memory, loaded from the store at
 * open: endpoints (creation order + a name table), their rules (id order + an
 * id table) and their metric series. Mutations write through to the store in
 * one transaction and touch memory only after the commit succeeded; every
 * allocation they need is made before the transaction, so the apply step
 * cannot fail. Observations are memory only. One mutex guards it all. */
#ifndef MS_AUTOSCALER_INTERNAL_H
#define MS_AUTOSCALER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mserve/autoscaler.h"
#include "store/store_internal.h"

#define AS_MAX_REPLICAS 4096 /* live replica slots per series */
#define AS_MAX_SERIES 256    /* metrics per endpoint */

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
void as_table_remove(as_table *t, uint64_t h, const void *item);
void as_table_free(as_table *t);

uint64_t as_hash_str(const char *s);
uint64_t as_hash_i64(int64_t v);
uint64_t as_hash_pair(const char *a, const char *b);

/* ---- model */
typedef struct as_slot {
  char *replica; /* owned; NULL: free slot */
  uint64_t hash;
  double value;
  int64_t at;
} as_slot;

typedef struct as_series {
  char *source, *metric; /* owned */
  uint64_t hash;         /* as_hash_pair(source, metric) */
  int has_wide;
  double wide_value;
  int64_t wide_at;
  as_slot *slots;
  uint32_t n_slots, cap_slots;
} as_series;

struct as_endpoint;

typedef struct as_rule {
  int64_t id;
  struct as_endpoint *ep;
  as_series *series;
  int cmp, agg;
  double threshold;
  int64_t step, cooldown, min, max;
  int enabled;
  int has_applied;
  int64_t last_applied;
} as_rule;

typedef struct as_endpoint {
  int64_t id;
  char *name; /* owned */
  size_t name_len;
  uint64_t hash;
  int64_t replicas;
  int64_t history_seq;
  as_rule **rules; /* ascending id */
  size_t n_rules, cap_rules;
  as_series **series;
  size_t n_series, cap_series;
} as_endpoint;

struct ms_autoscaler {
  ms_store *store;
  pthread_mutex_t mu;
  int64_t ttl_us;
  as_endpoint **eps; /* ascending id = creation order */
  size_t n_eps, cap_eps;
  as_table by_name; /* as_endpoint*, keyed by name */
  as_table by_id;   /* as_rule*, keyed by id */
  size_t total_rules, total_name_bytes;
  /* scratch reused by evaluate */
  unsigned char *blob;
  size_t blob_cap;
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

/* history_codec.c: the blob of a history row. */
#define AS_DEC_RULE_BYTES 42
void as_encode_rules(const as_dec_rule *r, size_t n, unsigned char *out);
int as_decode_rules(const unsigned char *blob, size_t len, as_dec_rule *out, size_t *n);

/* rule.c */
int as_rule_validate(const ms_rule *r, const char *what);
/* MS_ECONFLICT (with message) when a rule with these settings, if enabled,
 * would contradict an enabled rule of `ep` other than `skip_id`. */
int as_check_conflicts(const as_endpoint *ep, const char *source, const char *metric, int agg, int cmp,
                       double threshold, int64_t step, int64_t self_id);
const char *as_cmp_symbol(int cmp);
const char *as_agg_name(int agg);

/* engine.c */
as_endpoint *as_find_endpoint(const ms_autoscaler *a, const char *name);
as_series *as_find_series(const as_endpoint *ep, const char *source, const char *metric, uint64_t h);
as_series *as_series_new(const char *source, const char *metric);
void as_series_free(as_series *s);
int as_lock(ms_autoscaler *a);
void as_unlock(ms_autoscaler *a);
int as_check_name(const char *what, const char *s);
int as_reserve_endpoints(ms_autoscaler *a, size_t extra);
int as_ep_reserve(as_endpoint *ep, size_t rules, size_t series);
/* Index of the endpoint with `id` in a->eps (sorted by id), or n_eps. */
size_t as_ep_index(const ms_autoscaler *a, int64_t id);
/* Step a write statement inside a transaction; reset and clear it. */
int as_step_done(ms_store *s, sqlite3_stmt *q, const char *what);

/* observe/aggregate */
int as_series_value(const as_series *s, int agg, int64_t replicas, int64_t now, int64_t ttl, double *value);

#endif
