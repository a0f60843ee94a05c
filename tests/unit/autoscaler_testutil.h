/* The autoscaler tests' fixture: one engine over one store (a file in a fresh
 * folder, or ":memory:"), opened, reopened and closed in one place, and the
 * small helpers every autoscaler test needs (building and adding rules,
 * listing, reading one rule's outcome). Include after <cmocka.h>. */
#ifndef MS_AUTOSCALER_TESTUTIL_H
#define MS_AUTOSCALER_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>

#include "mserve.h"
#include "mserve/autoscaler.h"
#include "pg_cluster.h"
#include "store_fixture.h"
#include "testutil.h"

typedef struct fx {
  char *dir, *db; /* the store's folder and file; NULL: ":memory:" */
  ms_store *store;
  ms_autoscaler *as;
  int64_t ttl_us; /* set on the engine at every open when > 0 */
} fx;

/* Open what is not open (the store, then the engine); 0 or -1. */
static inline int fx_open(fx *f) {
  if (!f->store && ms_store_open(f->db ? f->db : ":memory:", 0, &f->store)) return -1;
  if (!f->as && ms_autoscaler_open(f->store, &f->as)) return -1;
  if (f->ttl_us > 0 && ms_autoscaler_set_metric_ttl(f->as, f->ttl_us)) return -1;
  return 0;
}

/* Close the engine and the store (either may be closed already). */
static inline void fx_close(fx *f) {
  ms_autoscaler_close(f->as);
  ms_store_close(f->store);
  f->as = NULL;
  f->store = NULL;
}

/* A fixture over a file store in a fresh folder named after `tag`, or over
 * ":memory:" when tag is NULL; NULL when it cannot be opened. */
static inline fx *fx_new(const char *tag, int64_t ttl_us) {
  fx *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->ttl_us = ttl_us;
  if (!tag && ms_test_backend_is_pg()) tag = "autoscaler"; /* no ":memory:" on PostgreSQL: a database of its own */
  if (tag) {
    f->dir = ms_test_tmpdir(tag);
    f->db = f->dir ? ms_test_store_path(f->dir, "as.db") : NULL;
  }
  if ((tag && !f->db) || fx_open(f)) {
    fx_close(f);
    if (f->dir) ms_test_rmtree(f->dir);
    free(f->dir);
    free(f->db);
    free(f);
    return NULL;
  }
  return f;
}

static inline void fx_free(fx *f) {
  if (!f) return;
  fx_close(f);
  if (f->dir) ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->db);
  free(f);
}

/* cmocka setups and teardown. */
static inline int fx_setup_file(void **state) { return (*state = fx_new("autoscaler", 0)) ? 0 : -1; }
static inline int fx_setup_memory(void **state) { return (*state = fx_new(NULL, 0)) ? 0 : -1; }
static inline int fx_teardown(void **state) {
  fx_free(*state);
  return 0;
}

/* Close and reopen the engine, and the store with it when it is a file (an
 * in-memory store is kept: closing it would lose everything). */
static inline void fx_reopen(fx *f) {
  ms_autoscaler_close(f->as);
  f->as = NULL;
  if (f->db) {
    ms_store_close(f->store);
    f->store = NULL;
  }
  assert_int_equal(fx_open(f), 0);
}

/* ---- rules */

typedef struct fx_rule {
  const char *source, *metric; /* source NULL: "k" */
  ms_comparator cmp;
  double threshold;
  int64_t step, cooldown_us;
  int bounded;        /* else no bounds (-1, -1) */
  int64_t min, max;
  ms_aggregation agg; /* MS_AGG_MEAN when 0 */
  int disabled;       /* added disabled */
} fx_rule;

static inline ms_rule *fx_rule_new(const fx_rule *s) {
  ms_rule *r = NULL;
  assert_int_equal(ms_rule_new(&r), MS_OK);
  assert_int_equal(ms_rule_set_metric(r, s->source ? s->source : "k", s->metric), MS_OK);
  assert_int_equal(ms_rule_set_trigger(r, s->cmp, s->threshold), MS_OK);
  assert_int_equal(ms_rule_set_step(r, s->step), MS_OK);
  assert_int_equal(ms_rule_set_cooldown(r, s->cooldown_us), MS_OK);
  if (s->bounded) assert_int_equal(ms_rule_set_bounds(r, s->min, s->max), MS_OK);
  assert_int_equal(ms_rule_set_aggregation(r, s->agg), MS_OK);
  assert_int_equal(ms_rule_set_enabled(r, !s->disabled), MS_OK);
  return r;
}

/* Add the rule to `ep` (it must succeed); its id. */
static inline int64_t fx_add_rule(ms_autoscaler *a, const char *ep, fx_rule s) {
  ms_rule *r = fx_rule_new(&s);
  int64_t id = -1;
  int st = ms_autoscaler_add_rule(a, ep, r, &id);
  ms_rule_free(r);
  assert_int_equal(st, MS_OK);
  assert_true(id > 0);
  return id;
}

/* ---- listing */

static inline size_t fx_endpoint_count(ms_autoscaler *a) {
  ms_endpoint_list *l = NULL;
  assert_int_equal(ms_autoscaler_list_endpoints(a, &l), MS_OK);
  size_t n = ms_endpoint_list_count(l);
  ms_endpoint_list_free(l);
  return n;
}

/* The ids of ep's rules, ascending: up to `cap` into ids (may be NULL when
 * cap is 0); returns how many there are. */
static inline size_t fx_rule_ids(ms_autoscaler *a, const char *ep, int64_t *ids, size_t cap) {
  ms_rule_list *l = NULL;
  assert_int_equal(ms_autoscaler_list_rules(a, ep, &l), MS_OK);
  size_t n = ms_rule_list_count(l);
  for (size_t i = 0; i < n && i < cap; i++) {
    const ms_rule *r = NULL;
    assert_int_equal(ms_rule_list_get(l, i, &r), MS_OK);
    assert_int_equal(ms_rule_get_state(r, &ids[i], NULL, NULL, NULL), MS_OK);
  }
  ms_rule_list_free(l);
  return n;
}

static inline size_t fx_rule_count(ms_autoscaler *a, const char *ep) { return fx_rule_ids(a, ep, NULL, 0); }

/* ---- one rule's outcome */

/* Evaluate at now with `flags` and return the value of rule j of `ep`
 * (its outcome in *o when o is not NULL). */
static inline double fx_rule_value(ms_autoscaler *a, const char *ep, size_t j, int64_t now, unsigned flags,
                                   ms_rule_outcome *o) {
  ms_decisions *d = NULL;
  size_t i = 0;
  assert_int_equal(ms_autoscaler_evaluate(a, now, flags, &d), MS_OK);
  assert_int_equal(ms_decisions_find(d, ep, &i), MS_OK);
  double v = 0;
  ms_rule_outcome out = MS_RULE_DISABLED;
  assert_int_equal(ms_decisions_get_rule(d, i, j, NULL, &out, &v), MS_OK);
  if (o) *o = out;
  ms_decisions_free(d);
  return v;
}

#endif
