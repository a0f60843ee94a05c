/* Unit tests of the autoscaler: rule builder, endpoints, observations and
 * aggregation, each evaluation outcome, dry runs, persistence across reopen,
 * the bounded history, failure atomicity, concurrent observers, and
 * configuration writes sharing the store with another part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler_testutil.h"
#include "mserve.h"
#include "mserve/autoscaler.h"
#include "store/store_internal.h"
#include "testutil.h"

static int64_t add(ms_autoscaler *a, const char *ep, const char *src, const char *met, ms_comparator cmp, double thr,
                   int64_t step, int64_t cooldown_s, int64_t lo, int64_t hi, ms_aggregation agg) {
  return fx_add_rule(a, ep,
                     (fx_rule){.source = src, .metric = met, .cmp = cmp, .threshold = thr, .step = step,
                               .cooldown_us = MS_SEC(cooldown_s), .bounded = 1, .min = lo, .max = hi, .agg = agg});
}

static int64_t reps(ms_autoscaler *a, const char *ep) {
  int64_t n = -1;
  assert_int_equal(ms_autoscaler_get_replicas(a, ep, &n), MS_OK);
  return n;
}

/* Evaluate and return the decision entry of `ep` (index in *idx). */
static ms_decisions *eval(ms_autoscaler *a, int64_t now_s, unsigned flags, const char *ep, size_t *idx) {
  ms_decisions *d = NULL;
  assert_int_equal(ms_autoscaler_evaluate(a, MS_SEC(now_s), flags, &d), MS_OK);
  assert_non_null(d);
  assert_int_equal(ms_decisions_find(d, ep, idx), MS_OK);
  return d;
}

static ms_rule_outcome outcome(const ms_decisions *d, size_t i, size_t j, double *value) {
  ms_rule_outcome o = MS_RULE_DISABLED;
  int64_t id = 0;
  assert_int_equal(ms_decisions_get_rule(d, i, j, &id, &o, value), MS_OK);
  return o;
}

static int64_t history_count(fx *f, const char *ep) {
  ms_decisions *h = NULL;
  assert_int_equal(ms_autoscaler_history(f->as, ep, 0, &h), MS_OK);
  int64_t n = (int64_t)ms_decisions_count(h);
  ms_decisions_free(h);
  return n;
}

/* ------------------------------------------------------------------------ */

static void rule_builder_validates_and_reports(void **state) {
  (void)state;
  ms_rule *r = NULL;
  assert_int_equal(ms_rule_new(NULL), MS_EINVAL);
  assert_int_equal(ms_rule_new(&r), MS_OK);
  const char *s = NULL, *m = NULL;
  assert_int_equal(ms_rule_get_metric(r, &s, &m), MS_ENOTFOUND);
  assert_int_equal(ms_rule_get_trigger(r, NULL, NULL), MS_ENOTFOUND);
  assert_int_equal(ms_rule_get_step(r, NULL), MS_ENOTFOUND);
  assert_int_equal(ms_rule_get_state(r, NULL, NULL, NULL, NULL), MS_ENOTFOUND);
  int64_t lo = 0, hi = 0;
  assert_int_equal(ms_rule_get_bounds(r, &lo, &hi), MS_OK);
  assert_int_equal(lo, -1);
  assert_int_equal(hi, -1);
  int en = 0;
  assert_int_equal(ms_rule_get_enabled(r, &en), MS_OK);
  assert_int_equal(en, 1);

  assert_int_equal(ms_rule_set_metric(r, "", "x"), MS_EINVAL);
  assert_int_equal(ms_rule_set_metric(r, "kernel", ""), MS_EINVAL);
  assert_int_equal(ms_rule_set_metric(r, NULL, "x"), MS_EINVAL);
  assert_int_equal(ms_rule_set_trigger(r, MS_CMP_GT, NAN), MS_EINVAL);
  assert_int_equal(ms_rule_set_trigger(r, MS_CMP_GT, INFINITY), MS_EINVAL);
  assert_int_equal(ms_rule_set_trigger(r, (ms_comparator)9, 1), MS_EINVAL);
  assert_int_equal(ms_rule_set_step(r, 0), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "step 0"));
  assert_int_equal(ms_rule_set_cooldown(r, -1), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "negative cooldown"));
  assert_int_equal(ms_rule_set_bounds(r, 5, 2), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "min replicas 5 > max replicas 2"));
  assert_int_equal(ms_rule_set_bounds(r, -2, 2), MS_EINVAL);
  assert_int_equal(ms_rule_set_aggregation(r, (ms_aggregation)7), MS_EINVAL);
  /* Failed setters left the builder as it was. */
  assert_int_equal(ms_rule_get_metric(r, &s, &m), MS_ENOTFOUND);
  assert_int_equal(ms_rule_get_bounds(r, &lo, &hi), MS_OK);
  assert_int_equal(lo, -1);

  assert_int_equal(ms_rule_set_metric(r, "kernel", "cuda.util"), MS_OK);
  assert_int_equal(ms_rule_set_trigger(r, MS_CMP_GE, 80.5), MS_OK);
  assert_int_equal(ms_rule_set_step(r, -2), MS_OK);
  assert_int_equal(ms_rule_set_bounds(r, 1, -1), MS_OK);
  assert_int_equal(ms_rule_set_aggregation(r, MS_AGG_MAX), MS_OK);
  assert_int_equal(ms_rule_get_metric(r, &s, &m), MS_OK);
  assert_string_equal(s, "kernel");
  assert_string_equal(m, "cuda.util");
  ms_comparator c = MS_CMP_LT;
  double t = 0;
  int64_t step = 0;
  ms_aggregation ag = MS_AGG_MEAN;
  assert_int_equal(ms_rule_get_trigger(r, &c, &t), MS_OK);
  assert_int_equal(c, MS_CMP_GE);
  assert_true(t == 80.5);
  assert_int_equal(ms_rule_get_step(r, &step), MS_OK);
  assert_int_equal(step, -2);
  assert_int_equal(ms_rule_get_aggregation(r, &ag), MS_OK);
  assert_int_equal(ag, MS_AGG_MAX);
  ms_rule_free(r);
  ms_rule_free(NULL);
}

static void add_rule_refuses_incomplete_rules_and_unknown_endpoints(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "ep", 1), MS_OK);
  ms_rule *r = NULL;
  assert_int_equal(ms_rule_new(&r), MS_OK);
  int64_t id = 77;
  assert_int_equal(ms_autoscaler_add_rule(f->as, "ep", r, &id), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "no metric"));
  assert_int_equal(ms_rule_set_metric(r, "kernel", "cuda.util"), MS_OK);
  assert_int_equal(ms_autoscaler_add_rule(f->as, "ep", r, &id), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "trigger"));
  assert_int_equal(ms_rule_set_trigger(r, MS_CMP_GT, 1), MS_OK);
  assert_int_equal(ms_autoscaler_add_rule(f->as, "ep", r, &id), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "step"));
  assert_int_equal(ms_rule_set_step(r, 1), MS_OK);
  assert_int_equal(ms_autoscaler_add_rule(f->as, "nope", r, &id), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), "'nope'"));
  assert_int_equal(ms_autoscaler_add_rule(f->as, "", r, &id), MS_EINVAL);
  assert_int_equal(ms_autoscaler_add_rule(f->as, "ep", NULL, &id), MS_EINVAL);
  assert_int_equal(ms_autoscaler_add_rule(NULL, "ep", r, &id), MS_EINVAL);
  assert_int_equal(id, 77); /* untouched */
  assert_int_equal(fx_rule_count(f->as, "ep"), 0);
  assert_int_equal(ms_autoscaler_add_rule(f->as, "ep", r, &id), MS_OK);
  assert_int_equal(fx_rule_count(f->as, "ep"), 1);
  ms_rule_free(r);
}

static void endpoints_are_created_listed_and_removed(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "b", 2), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "a", 0), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "b", 5), MS_OK);
  assert_int_equal(reps(f->as, "b"), 5);
  assert_int_equal(reps(f->as, "a"), 0);
  ms_endpoint_list *l = NULL;
  assert_int_equal(ms_autoscaler_list_endpoints(f->as, &l), MS_OK);
  assert_int_equal(ms_endpoint_list_count(l), 2);
  const char *name = NULL;
  assert_int_equal(ms_endpoint_list_get(l, 0, &name), MS_OK);
  assert_string_equal(name, "b"); /* creation order */
  assert_int_equal(ms_endpoint_list_get(l, 1, &name), MS_OK);
  assert_string_equal(name, "a");
  name = "untouched";
  assert_int_equal(ms_endpoint_list_get(l, 2, &name), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "index 2 out of range (2 endpoints)"));
  assert_string_equal(name, "untouched");
  assert_int_equal(ms_endpoint_list_get(l, 0, NULL), MS_EINVAL);
  assert_int_equal(ms_endpoint_list_get(NULL, 0, &name), MS_EINVAL);
  assert_int_equal(ms_endpoint_list_count(NULL), 0);
  assert_int_equal(ms_autoscaler_list_endpoints(f->as, NULL), MS_EINVAL);
  assert_int_equal(ms_autoscaler_list_endpoints(NULL, &l), MS_EINVAL);

  /* Bad input: a status, a message, and nothing changes. */
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "b", -1), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "'b'"));
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "", 1), MS_EINVAL);
  assert_int_equal(ms_autoscaler_set_replicas(f->as, NULL, 1), MS_EINVAL);
  assert_int_equal(ms_autoscaler_set_replicas(NULL, "b", 1), MS_EINVAL);
  int64_t r = 42;
  assert_int_equal(ms_autoscaler_get_replicas(f->as, "zz", &r), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), "'zz'"));
  assert_int_equal(r, 42);
  assert_int_equal(reps(f->as, "b"), 5);

  int64_t id = add(f->as, "b", "kernel", "cuda.util", MS_CMP_GT, 50, 1, 0, -1, -1, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_remove_endpoint(f->as, "zz"), MS_ENOTFOUND);
  assert_int_equal(ms_autoscaler_remove_endpoint(f->as, "b"), MS_OK);
  assert_int_equal(ms_autoscaler_get_replicas(f->as, "b", &r), MS_ENOTFOUND);
  ms_rule *snap = NULL;
  assert_int_equal(ms_autoscaler_get_rule(f->as, id, &snap), MS_ENOTFOUND);
  assert_int_equal(fx_endpoint_count(f->as), 1);
  /* The list taken before is a snapshot: the removal does not shift it. */
  assert_int_equal(ms_endpoint_list_count(l), 2);
  assert_int_equal(ms_endpoint_list_get(l, 1, &name), MS_OK);
  assert_string_equal(name, "a");
  ms_endpoint_list_free(l);
  ms_endpoint_list_free(NULL);
  fx_reopen(f);
  assert_int_equal(fx_endpoint_count(f->as), 1);
  assert_int_equal(ms_autoscaler_get_rule(f->as, id, &snap), MS_ENOTFOUND);
  /* A re-created endpoint starts fresh. */
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "b", 1), MS_OK);
  assert_int_equal(fx_rule_count(f->as, "b"), 0);
}

static void observe_refuses_bad_input(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 1), MS_OK);
  int64_t id = add(a, "ep", "kernel", "util", MS_CMP_GT, 50, 1, 0, -1, -1, MS_AGG_MEAN);
  (void)id;
  assert_int_equal(ms_autoscaler_observe(a, "ep", "kernel", "util", "r0", NAN, 0), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "NaN"));
  assert_int_equal(ms_autoscaler_observe(a, "ep", "kernel", "util", "r0", -INFINITY, 0), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "infinite"));
  assert_int_equal(ms_autoscaler_observe(a, "ep", "", "util", "r0", 1, 0), MS_EINVAL);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "kernel", "", "r0", 1, 0), MS_EINVAL);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "kernel", NULL, "r0", 1, 0), MS_EINVAL);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "kernel", "util", "", 1, 0), MS_EINVAL);
  assert_int_equal(ms_autoscaler_observe(a, "", "kernel", "util", "r0", 1, 0), MS_EINVAL);
  assert_int_equal(ms_autoscaler_observe(a, "nope", "kernel", "util", "r0", 1, 0), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), "'nope'"));
  assert_int_equal(ms_autoscaler_observe(NULL, "ep", "kernel", "util", "r0", 1, 0), MS_EINVAL);
  /* None of those left a value behind. */
  size_t i = 0;
  ms_decisions *d = eval(a, 0, MS_EVAL_DRY_RUN, "ep", &i);
  double v = 0;
  assert_int_equal(outcome(d, i, 0, &v), MS_RULE_NO_METRIC);
  assert_true(isnan(v));
  ms_decisions_free(d);
}

static void aggregation_ttl_and_endpoint_wide_values(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, 0), MS_EINVAL);
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, MS_SEC(10)), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 4), MS_OK);
  /* Three thresholds no value reaches, so the rules only report values. */
  add(a, "ep", "k", "u", MS_CMP_GT, 1e9, 1, 0, -1, -1, MS_AGG_MEAN);
  add(a, "ep", "k", "u", MS_CMP_GT, 1e9, 1, 0, -1, -1, MS_AGG_MAX);
  add(a, "ep", "k", "u", MS_CMP_GT, 1e9, 1, 0, -1, -1, MS_AGG_MIN);
  add(a, "ep", "proxy", "queue", MS_CMP_GT, 1e9, 1, 0, -1, -1, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r0", 10, MS_SEC(100)), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r1", 20, MS_SEC(100)), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r2", 60, MS_SEC(95)), MS_OK);
  /* An older observation of r2 arriving late is ignored. */
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r2", 1000, MS_SEC(90)), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "proxy", "queue", NULL, 40, MS_SEC(100)), MS_OK);

  size_t i = 0;
  double v = 0;
  ms_decisions *d = eval(a, 105, MS_EVAL_DRY_RUN, "ep", &i);
  assert_int_equal(outcome(d, i, 0, &v), MS_RULE_NOT_TRIGGERED);
  assert_true(v == 30.0);
  outcome(d, i, 1, &v);
  assert_true(v == 60.0);
  outcome(d, i, 2, &v);
  assert_true(v == 10.0);
  outcome(d, i, 3, &v);
  assert_true(v == 10.0); /* 40 endpoint-wide / 4 replicas */
  ms_decisions_free(d);

  /* r2 is exactly TTL old at 105 (fresh) and older at 105 s + 1 us (missing). */
  assert_int_equal(ms_autoscaler_evaluate(a, MS_SEC(105) + 1, MS_EVAL_DRY_RUN, &d), MS_OK);
  assert_int_equal(ms_decisions_find(d, "ep", &i), MS_OK);
  outcome(d, i, 0, &v);
  assert_true(v == 15.0);
  outcome(d, i, 1, &v);
  assert_true(v == 20.0);
  ms_decisions_free(d);

  /* Everything older than the TTL: missing, never scales. */
  d = eval(a, 111, MS_EVAL_DRY_RUN, "ep", &i);
  for (size_t j = 0; j < 4; j++) {
    assert_int_equal(outcome(d, i, j, &v), MS_RULE_NO_METRIC);
    assert_true(isnan(v));
  }
  ms_decisions_free(d);

  /* A replica that went away frees its slot for a new one (no growth). */
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r9", 7, MS_SEC(200)), MS_OK);
  d = eval(a, 200, MS_EVAL_DRY_RUN, "ep", &i);
  outcome(d, i, 0, &v);
  assert_true(v == 7.0);
  ms_decisions_free(d);
}

static void outcomes_cooldown_bounds_and_winner(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 2), MS_OK);
  int64_t up1 = add(a, "ep", "k", "u", MS_CMP_GT, 80, 1, 30, -1, -1, MS_AGG_MEAN);
  int64_t up2 = add(a, "ep", "k", "u", MS_CMP_GE, 90, 2, 30, -1, 3, MS_AGG_MAX);
  int64_t up3 = add(a, "ep", "k", "u", MS_CMP_GT, 70, 1, 0, -1, -1, MS_AGG_MIN);
  int64_t off = add(a, "ep", "k", "u", MS_CMP_GT, 10, 5, 0, -1, -1, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, off, 0), MS_OK);
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, off, 0), MS_OK); /* no-op */
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, 999999, 1), MS_ENOTFOUND);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r0", 95, 0), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r1", 95, 0), MS_OK);

  /* All three fire: up1 -> 3, up2 -> min(4, max 3) = 3, up3 -> 3. Tie: lowest id. */
  size_t i = 0;
  ms_decisions *d = eval(a, 0, 0, "ep", &i);
  int64_t from = 0, to = 0, applied = 0, at = 0;
  const char *name = NULL;
  assert_int_equal(ms_decisions_get(d, i, &name, &at, &from, &to, &applied), MS_OK);
  assert_string_equal(name, "ep");
  assert_int_equal(from, 2);
  assert_int_equal(to, 3);
  assert_int_equal(applied, up1);
  assert_int_equal(at, 0);
  assert_int_equal(ms_decisions_rule_count(d, i), 4);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_APPLIED);
  assert_int_equal(outcome(d, i, 1, NULL), MS_RULE_OUTVOTED);
  assert_int_equal(outcome(d, i, 2, NULL), MS_RULE_OUTVOTED);
  assert_int_equal(outcome(d, i, 3, NULL), MS_RULE_DISABLED);
  int64_t prop = 0, step = 0;
  ms_comparator c = MS_CMP_LT;
  double thr = 0;
  assert_int_equal(ms_decisions_get_rule_detail(d, i, 1, &c, &thr, &step, &prop), MS_OK);
  assert_int_equal(c, MS_CMP_GE);
  assert_true(thr == 90);
  assert_int_equal(step, 2);
  assert_int_equal(prop, 3); /* clamped, not skipped */
  assert_int_equal(ms_decisions_get_rule(d, i, 4, NULL, NULL, NULL), MS_EINVAL);
  assert_int_equal(ms_decisions_get(d, 99, NULL, NULL, NULL, NULL, NULL), MS_EINVAL);
  char line[512];
  size_t need = 0;
  assert_int_equal(ms_decisions_explain(d, i, line, sizeof line, &need), MS_OK);
  assert_true(need < sizeof line);
  assert_non_null(strstr(line, "2 -> 3 by rule"));
  assert_non_null(strstr(line, "outvoted"));
  assert_non_null(strstr(line, "disabled"));
  char tiny[8];
  size_t full = need;
  need = 0;
  assert_int_equal(ms_decisions_explain(d, i, tiny, sizeof tiny, &need), MS_EINVAL);
  assert_int_equal(strlen(tiny), 7); /* cut, NUL-terminated */
  assert_int_equal(need, full);      /* the full length all the same */
  char want[64];
  snprintf(want, sizeof want, "needs a %zu-byte buffer, got 8", full + 1);
  assert_non_null(strstr(ms_errmsg(), want));
  assert_int_equal(ms_decisions_explain(d, i, NULL, 0, &need), MS_EINVAL);
  assert_int_equal(need, full);
  assert_int_equal(ms_decisions_explain(d, i, line, full + 1, NULL), MS_OK);
  ms_decisions_free(d);
  assert_int_equal(reps(a, "ep"), 3);

  /* At 10 s: up1 in cooldown (only the applied rule's stamp started), up2 at
   * its max (3), up3 (no cooldown) applies -> 4. */
  d = eval(a, 10, 0, "ep", &i);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_COOLDOWN);
  assert_int_equal(outcome(d, i, 1, NULL), MS_RULE_AT_BOUND);
  assert_int_equal(outcome(d, i, 2, NULL), MS_RULE_APPLIED);
  ms_decisions_free(d);
  assert_int_equal(reps(a, "ep"), 4);

  /* At 30 s - 1 us up1 is still cooling down; at exactly 30 s it is not. */
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, up3, 0), MS_OK);
  assert_int_equal(ms_autoscaler_evaluate(a, MS_SEC(30) - 1, 0, &d), MS_OK);
  assert_int_equal(outcome(d, 0, 0, NULL), MS_RULE_COOLDOWN);
  assert_int_equal(outcome(d, 0, 2, NULL), MS_RULE_DISABLED);
  ms_decisions_free(d);
  assert_int_equal(reps(a, "ep"), 4);
  d = eval(a, 30, 0, "ep", &i);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_APPLIED);
  ms_decisions_free(d);
  assert_int_equal(reps(a, "ep"), 5);

  /* Values below every trigger. */
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r0", 5, MS_SEC(31)), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r1", 5, MS_SEC(31)), MS_OK);
  d = eval(a, 40, 0, "ep", &i);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_NOT_TRIGGERED);
  assert_int_equal(outcome(d, i, 1, NULL), MS_RULE_NOT_TRIGGERED);
  assert_int_equal(ms_decisions_get(d, i, NULL, NULL, &from, &to, &applied), MS_OK);
  assert_int_equal(from, 5);
  assert_int_equal(to, 5);
  assert_int_equal(applied, -1);
  ms_decisions_free(d);
  (void)up2;
}

static void rule_bounds_never_move_against_the_step(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  /* Desired 10 is above the up rule's max 5: the up rule must not scale down. */
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 10), MS_OK);
  add(a, "ep", "k", "u", MS_CMP_GT, 50, 1, 0, -1, 5, MS_AGG_MEAN);
  add(a, "ep", "k", "q", MS_CMP_LT, 50, -3, 0, 12, -1, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r", 90, 0), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "q", "r", 1, 0), MS_OK);
  size_t i = 0;
  ms_decisions *d = eval(a, 0, 0, "ep", &i);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_AT_BOUND);
  assert_int_equal(outcome(d, i, 1, NULL), MS_RULE_AT_BOUND);
  ms_decisions_free(d);
  assert_int_equal(reps(a, "ep"), 10);
  assert_int_equal(history_count(f, "ep"), 0);
}

static void endpoint_without_rules_is_listed_unchanged(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "bare", 3), MS_OK);
  size_t i = 0;
  ms_decisions *d = eval(f->as, 1, 0, "bare", &i);
  assert_int_equal(ms_decisions_count(d), 1);
  int64_t from = 0, to = 0, applied = 0;
  assert_int_equal(ms_decisions_get(d, i, NULL, NULL, &from, &to, &applied), MS_OK);
  assert_int_equal(from, 3);
  assert_int_equal(to, 3);
  assert_int_equal(applied, -1);
  assert_int_equal(ms_decisions_rule_count(d, i), 0);
  ms_decisions_free(d);
  assert_int_equal(ms_autoscaler_evaluate(f->as, 1, 0x8, &d), MS_EINVAL);
  assert_int_equal(ms_autoscaler_evaluate(f->as, 1, 0, NULL), MS_OK);
  assert_int_equal(ms_decisions_count(NULL), 0);
}

static void dry_run_changes_nothing(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 1), MS_OK);
  int64_t id = add(a, "ep", "k", "u", MS_CMP_GT, 50, 1, 60, -1, -1, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r0", 90, 0), MS_OK);
  for (int k = 0; k < 3; k++) {
    size_t i = 0;
    ms_decisions *d = eval(a, k, MS_EVAL_DRY_RUN, "ep", &i);
    int64_t to = 0;
    assert_int_equal(ms_decisions_get(d, i, NULL, NULL, NULL, &to, NULL), MS_OK);
    assert_int_equal(to, 2); /* the same decision every time: no cooldown started */
    assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_APPLIED);
    ms_decisions_free(d);
  }
  assert_int_equal(reps(a, "ep"), 1);
  assert_int_equal(history_count(f, "ep"), 0);
  ms_rule *snap = NULL;
  int has = 1;
  assert_int_equal(ms_autoscaler_get_rule(a, id, &snap), MS_OK);
  assert_int_equal(ms_rule_get_state(snap, NULL, NULL, &has, NULL), MS_OK);
  assert_int_equal(has, 0);
  ms_rule_free(snap);
}

static void state_persists_across_reopen(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "ep", 1), MS_OK);
  int64_t up = add(f->as, "ep", "k", "u", MS_CMP_GT, 50, 2, 60, 0, 10, MS_AGG_MAX);
  int64_t down = add(f->as, "ep", "k", "u", MS_CMP_LT, 10, -1, 0, 1, -1, MS_AGG_MAX);
  assert_int_equal(ms_autoscaler_set_rule_enabled(f->as, down, 0), MS_OK);
  assert_int_equal(ms_autoscaler_observe(f->as, "ep", "k", "u", "r0", 90, MS_SEC(100)), MS_OK);
  size_t i = 0;
  ms_decisions *d = eval(f->as, 100, 0, "ep", &i);
  ms_decisions_free(d);
  assert_int_equal(reps(f->as, "ep"), 3);

  fx_reopen(f);
  assert_int_equal(reps(f->as, "ep"), 3);
  int64_t ids[4] = {0};
  size_t n = fx_rule_ids(f->as, "ep", ids, 4);
  assert_int_equal(n, 2);
  assert_int_equal(ids[0], up);
  assert_int_equal(ids[1], down);
  ms_rule *snap = NULL;
  assert_int_equal(ms_autoscaler_get_rule(f->as, up, &snap), MS_OK);
  int64_t rid = 0, last = 0, lo = 0, hi = 0, step = 0, cd = 0;
  int has = 0, en = 0;
  const char *epn = NULL, *src = NULL, *met = NULL;
  ms_aggregation ag = MS_AGG_MEAN;
  assert_int_equal(ms_rule_get_state(snap, &rid, &epn, &has, &last), MS_OK);
  assert_int_equal(rid, up);
  assert_string_equal(epn, "ep");
  assert_int_equal(has, 1);
  assert_int_equal(last, MS_SEC(100));
  assert_int_equal(ms_rule_get_bounds(snap, &lo, &hi), MS_OK);
  assert_int_equal(lo, 0);
  assert_int_equal(hi, 10);
  assert_int_equal(ms_rule_get_step(snap, &step), MS_OK);
  assert_int_equal(step, 2);
  assert_int_equal(ms_rule_get_cooldown(snap, &cd), MS_OK);
  assert_int_equal(cd, MS_SEC(60));
  assert_int_equal(ms_rule_get_aggregation(snap, &ag), MS_OK);
  assert_int_equal(ag, MS_AGG_MAX);
  assert_int_equal(ms_rule_get_metric(snap, &src, &met), MS_OK);
  assert_string_equal(src, "k");
  assert_string_equal(met, "u");
  ms_rule_free(snap);
  assert_int_equal(ms_autoscaler_get_rule(f->as, down, &snap), MS_OK);
  assert_int_equal(ms_rule_get_enabled(snap, &en), MS_OK);
  assert_int_equal(en, 0);
  ms_rule_free(snap);

  /* Observations are not persisted: the metric is missing until observed. */
  d = eval(f->as, 130, 0, "ep", &i);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_NO_METRIC);
  ms_decisions_free(d);
  /* The cooldown continues from before the restart. */
  assert_int_equal(ms_autoscaler_observe(f->as, "ep", "k", "u", "r0", 90, MS_SEC(130)), MS_OK);
  d = eval(f->as, 130, 0, "ep", &i);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_COOLDOWN);
  ms_decisions_free(d);
  d = eval(f->as, 160, 0, "ep", &i);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_APPLIED);
  ms_decisions_free(d);
  assert_int_equal(reps(f->as, "ep"), 5);

  /* The same history after reopening, with every rule's outcome. */
  fx_reopen(f);
  ms_decisions *h = NULL;
  assert_int_equal(ms_autoscaler_history(f->as, "ep", 0, &h), MS_OK);
  assert_int_equal(ms_decisions_count(h), 2);
  int64_t at = 0, from = 0, to = 0, applied = 0;
  assert_int_equal(ms_decisions_get(h, 0, &epn, &at, &from, &to, &applied), MS_OK);
  assert_string_equal(epn, "ep");
  assert_int_equal(at, MS_SEC(100));
  assert_int_equal(from, 1);
  assert_int_equal(to, 3);
  assert_int_equal(applied, up);
  assert_int_equal(ms_decisions_rule_count(h, 0), 2);
  double v = 0;
  assert_int_equal(outcome(h, 0, 0, &v), MS_RULE_APPLIED);
  assert_true(v == 90);
  assert_int_equal(outcome(h, 0, 1, &v), MS_RULE_DISABLED);
  assert_int_equal(ms_decisions_get(h, 1, NULL, &at, &from, &to, NULL), MS_OK);
  assert_int_equal(at, MS_SEC(160));
  assert_int_equal(from, 3);
  assert_int_equal(to, 5);
  ms_decisions_free(h);
  assert_int_equal(ms_autoscaler_history(f->as, "ep", 1, &h), MS_OK);
  assert_int_equal(ms_decisions_count(h), 1);
  assert_int_equal(ms_decisions_get(h, 0, NULL, &at, NULL, NULL, NULL), MS_OK);
  assert_int_equal(at, MS_SEC(160)); /* the newest one */
  ms_decisions_free(h);
  assert_int_equal(ms_autoscaler_history(f->as, "nope", 0, &h), MS_ENOTFOUND);

  /* Manual changes make no history. */
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "ep", 1), MS_OK);
  assert_int_equal(history_count(f, "ep"), 2);
}

static void history_keeps_the_last_1000(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 1), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "other", 1), MS_OK);
  add(a, "ep", "k", "u", MS_CMP_GT, 50, 1, 0, -1, -1, MS_AGG_MEAN);
  add(a, "ep", "k", "u", MS_CMP_LT, 10, -1, 0, -1, -1, MS_AGG_MEAN);
  add(a, "other", "k", "u", MS_CMP_GT, 50, 1, 0, -1, 3, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_observe(a, "other", "k", "u", "r", 90, 0), MS_OK);
  const int n = 1005;
  for (int t = 0; t < n; t++) {
    assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r", (t % 2) ? 1 : 90, t), MS_OK);
    assert_int_equal(ms_autoscaler_evaluate(a, t, 0, NULL), MS_OK);
  }
  assert_int_equal(reps(a, "ep"), 2); /* 1005 alternating steps from 1 */
  ms_decisions *h = NULL;
  assert_int_equal(ms_autoscaler_history(a, "ep", 0, &h), MS_OK);
  assert_int_equal(ms_decisions_count(h), MS_AUTOSCALER_HISTORY_MAX);
  int64_t at = 0;
  assert_int_equal(ms_decisions_get(h, 0, NULL, &at, NULL, NULL, NULL), MS_OK);
  assert_int_equal(at, n - MS_AUTOSCALER_HISTORY_MAX); /* oldest kept */
  assert_int_equal(ms_decisions_get(h, MS_AUTOSCALER_HISTORY_MAX - 1, NULL, &at, NULL, NULL, NULL), MS_OK);
  assert_int_equal(at, n - 1);
  ms_decisions_free(h);
  assert_int_equal(history_count(f, "other"), 2); /* 1 -> 2 -> 3, then at its max */
  /* The rows really are gone from the store, not just hidden. */
  assert_int_equal(ms_test_sql_int(f->store, "SELECT count(*) FROM autoscaler_history"), MS_AUTOSCALER_HISTORY_MAX + 2);
}

static void failed_evaluation_changes_nothing(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 1), MS_OK);
  int64_t id = add(a, "ep", "k", "u", MS_CMP_GT, 50, 1, 60, -1, -1, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r0", 90, 0), MS_OK);
  /* Another connection holds the write lock: every write fails with MS_EBUSY. */
  assert_int_equal(ms_store_set_busy_timeout(f->store, 0), MS_OK);
  void *other = ms_test_hold_write_lock(f->db);
  assert_non_null(other);
  static int dummy;
  ms_decisions *sentinel = (ms_decisions *)(void *)&dummy, *d = sentinel; /* must stay untouched */
  assert_int_equal(ms_autoscaler_evaluate(a, 0, 0, &d), MS_EBUSY);
  assert_ptr_equal(d, sentinel);
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 7), MS_EBUSY);
  assert_int_equal(ms_autoscaler_set_replicas(a, "new", 7), MS_EBUSY);
  assert_int_equal(ms_autoscaler_remove_rule(a, id), MS_EBUSY);
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, id, 0), MS_EBUSY);
  assert_int_equal(ms_autoscaler_remove_endpoint(a, "ep"), MS_EBUSY);
  int64_t rid = -5;
  ms_rule *r = NULL;
  assert_int_equal(ms_autoscaler_get_rule(a, id, &r), MS_OK);
  assert_int_equal(ms_autoscaler_add_rule(a, "ep", r, &rid), MS_EBUSY);
  assert_int_equal(rid, -5);
  ms_test_release_write_lock(other);

  /* Memory is as before: same count, no cooldown started, same rules. */
  assert_int_equal(reps(a, "ep"), 1);
  int64_t v = 0;
  assert_int_equal(ms_autoscaler_get_replicas(a, "new", &v), MS_ENOTFOUND);
  assert_int_equal(fx_rule_count(a, "ep"), 1);
  size_t i = 0;
  d = eval(a, 1, 0, "ep", &i);
  assert_int_equal(outcome(d, i, 0, NULL), MS_RULE_APPLIED);
  ms_decisions_free(d);
  assert_int_equal(reps(a, "ep"), 2);
  /* The snapshot adds a copy of the rule (it conflicts with nothing). */
  assert_int_equal(ms_autoscaler_add_rule(a, "ep", r, &rid), MS_OK);
  assert_true(rid > id);
  ms_rule_free(r);
}

static void removed_rule_ids_are_not_reused(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "ep", 1), MS_OK);
  int64_t a1 = add(f->as, "ep", "k", "u", MS_CMP_GT, 50, 1, 0, -1, -1, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_remove_rule(f->as, a1), MS_OK);
  assert_int_equal(ms_autoscaler_remove_rule(f->as, a1), MS_ENOTFOUND);
  fx_reopen(f);
  int64_t a2 = add(f->as, "ep", "k", "u", MS_CMP_GT, 50, 1, 0, -1, -1, MS_AGG_MEAN);
  assert_true(a2 > a1);
}

typedef struct obs_arg {
  ms_autoscaler *a;
  int thread;
  int n;
  int failures;
} obs_arg;

static void *observer(void *p) {
  obs_arg *o = p;
  char rep[16];
  snprintf(rep, sizeof rep, "r%d", o->thread);
  for (int k = 0; k < o->n; k++)
    if (ms_autoscaler_observe(o->a, "ep", "k", "u", rep, 90, k)) o->failures++;
  return NULL;
}

static void observers_run_concurrently_with_evaluation(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "ep", 1), MS_OK);
  add(f->as, "ep", "k", "u", MS_CMP_GT, 50, 1, 0, -1, 50, MS_AGG_MEAN);
  enum { T = 4 };
  pthread_t th[T];
  obs_arg args[T];
  for (int t = 0; t < T; t++) {
    args[t] = (obs_arg){f->as, t, ms_test_scale(20000), 0};
    assert_int_equal(pthread_create(&th[t], NULL, observer, &args[t]), 0);
  }
  for (int k = 0; k < 20; k++) assert_int_equal(ms_autoscaler_evaluate(f->as, MS_SEC(1) + k, 0, NULL), MS_OK);
  for (int t = 0; t < T; t++) {
    pthread_join(th[t], NULL);
    assert_int_equal(args[t].failures, 0);
  }
  int64_t r = reps(f->as, "ep");
  assert_true(r >= 1 && r <= 21);
  /* Every thread's replica got a slot: the mean is 90 at the end. */
  size_t i = 0;
  double v = 0;
  ms_decisions *d = eval(f->as, 1, MS_EVAL_DRY_RUN, "ep", &i);
  outcome(d, i, 0, &v);
  assert_true(v == 90);
  ms_decisions_free(d);
}

/* The store's writers of one process share transactions (group commit): a
 * configuration call's write may run on another part's thread. Here a
 * tracker on the same store admits and releases sessions on another thread
 * while this one creates endpoints and rules; every one of them is there,
 * with its own id, after a reopen. */
typedef struct admit_arg {
  ms_store *store;
  int n, failures;
} admit_arg;

static void *admitter(void *p) {
  admit_arg *x = p;
  ms_tracker *t = NULL;
  if (ms_tracker_open(x->store, &t)) {
    x->failures++;
    return NULL;
  }
  const char *scopes[] = {"user:u"};
  for (int k = 0; k < x->n; k++) {
    char sid[32];
    snprintf(sid, sizeof sid, "s%d", k);
    if (ms_tracker_admit(t, sid, MS_CLASS_COMPUTE, scopes, 1, 0, k, NULL) ||
        ms_tracker_release(t, sid, k, NULL))
      x->failures++;
  }
  ms_tracker_close(t);
  return NULL;
}

static void configuration_writes_share_the_store(void **state) {
  MS_TEST_SQLITE_ONLY(); /* the tracker is not on the store's statement seam yet */
  fx *f = *state;
  enum { N = 150 };
  admit_arg x = {f->store, ms_test_scale(1500), 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, admitter, &x), 0);
  int64_t ids[N];
  for (int i = 0; i < N; i++) {
    char ep[16];
    snprintf(ep, sizeof ep, "ep-%03d", i);
    assert_int_equal(ms_autoscaler_set_replicas(f->as, ep, i), MS_OK);
    ids[i] = add(f->as, ep, "k", "u", MS_CMP_GT, 50, 1, 0, -1, -1, MS_AGG_MEAN);
    if (i % 10 == 0) assert_int_equal(ms_autoscaler_set_rule_enabled(f->as, ids[i], 0), MS_OK);
    if (i > 0) assert_true(ids[i] > ids[i - 1]);
  }
  pthread_join(th, NULL);
  assert_int_equal(x.failures, 0);
  fx_reopen(f);
  assert_int_equal(fx_endpoint_count(f->as), N);
  for (int i = 0; i < N; i++) {
    char ep[16];
    snprintf(ep, sizeof ep, "ep-%03d", i);
    int64_t id = 0;
    assert_int_equal(fx_rule_ids(f->as, ep, &id, 1), 1);
    assert_int_equal(id, ids[i]);
    assert_int_equal(reps(f->as, ep), i);
    ms_rule *r = NULL;
    int en = -1;
    assert_int_equal(ms_autoscaler_get_rule(f->as, id, &r), MS_OK);
    assert_int_equal(ms_rule_get_enabled(r, &en), MS_OK);
    assert_int_equal(en, i % 10 != 0);
    ms_rule_free(r);
  }
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_autoscaler");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(rule_builder_validates_and_reports, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(add_rule_refuses_incomplete_rules_and_unknown_endpoints,
                                          fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(endpoints_are_created_listed_and_removed, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(observe_refuses_bad_input, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(aggregation_ttl_and_endpoint_wide_values, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(outcomes_cooldown_bounds_and_winner, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(rule_bounds_never_move_against_the_step, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(endpoint_without_rules_is_listed_unchanged, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(dry_run_changes_nothing, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(state_persists_across_reopen, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(history_keeps_the_last_1000, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(failed_evaluation_changes_nothing, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(removed_rule_ids_are_not_reused, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(observers_run_concurrently_with_evaluation, fx_setup_file, fx_teardown),
      cmocka_unit_test_setup_teardown(configuration_writes_share_the_store, fx_setup_file, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
