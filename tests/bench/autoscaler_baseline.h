/* Benchmark baseline for the autoscaler: the per-rule database query
 * approach of Backend.AI's PR #3277 (for every rule of every endpoint, query
 * the metric's aggregate and update the rows when it fires), implemented on
 * the same SQLite store as the engine, in tables of its own.
 *
 * It is the generous version of that approach: prepared statements from the
 * store's cache, one transaction per tick, an index on every lookup, and the
 * same decision semantics as the engine (largest proposal wins, clamping,
 * cooldowns, TTL) so the two can be checked against each other. */
#ifndef MS_BENCH_AUTOSCALER_BASELINE_H
#define MS_BENCH_AUTOSCALER_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "mserve/store.h"

typedef struct bl_rule_spec {
  const char *source, *metric;
  int cmp;          /* ms_comparator */
  double threshold;
  int64_t step, cooldown_us, min_r, max_r;
  int agg;          /* ms_aggregation */
} bl_rule_spec;

/* Create the baseline's tables (dropping earlier ones) in `store`. */
int bl_create(ms_store *store);

/* Add n endpoints named names[i] at `replicas`, each with the same n_rules
 * rules, in one transaction. */
int bl_setup(ms_store *store, const char *const *names, size_t n, int64_t replicas, const bl_rule_spec *rules,
             size_t n_rules);

/* Observations: begin a batch, upsert values, commit. Endpoints are given by
 * their 0-based index in bl_setup's order. */
int bl_observe_begin(ms_store *store);
int bl_observe(ms_store *store, size_t endpoint, const char *source, const char *metric, const char *replica,
               double value, int64_t now_us);
int bl_observe_commit(ms_store *store);

/* One evaluation tick at now_us in one transaction: for every endpoint, for
 * every rule, one aggregate query; an UPDATE of the endpoint and the rule when
 * a rule is applied. *changed receives the number of endpoints changed. */
int bl_tick(ms_store *store, int64_t now_us, int64_t ttl_us, size_t *changed);

/* The desired count of endpoint i (0-based, bl_setup order). */
int bl_desired(ms_store *store, size_t endpoint, int64_t *desired);

#endif
