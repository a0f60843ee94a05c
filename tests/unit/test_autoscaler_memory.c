/* Unit tests of the autoscaler's in-memory fast paths: aggregates kept up to
 * date by observe versus walked at evaluation (they must agree to the bit, and
 * the walk must skip stale replicas), and the evaluation arena, which holds
 * the endpoints' hot data and must follow every configuration change made
 * between two evaluations (run under ASan, stale pointers show). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/arena.h"
#include "autoscaler/autoscaler_internal.h"
#include "autoscaler_testutil.h"
#include "mserve.h"
#include "mserve/autoscaler.h"
#include "testutil.h"

static int64_t add(ms_autoscaler *a, const char *ep, const char *met, ms_comparator cmp, double thr, int64_t step,
                   ms_aggregation agg) {
  return fx_add_rule(a, ep, (fx_rule){.metric = met, .cmp = cmp, .threshold = thr, .step = step, .agg = agg});
}

/* The value and outcome of rule j of `ep` in a dry run at now. */
static double value_at(ms_autoscaler *a, const char *ep, size_t j, int64_t now, ms_rule_outcome *o) {
  return fx_rule_value(a, ep, j, now, MS_EVAL_DRY_RUN, o);
}

/* Mean, max and min of `n` replicas, with values whose sum depends on the
 * order of addition, for replica counts on both sides of the engine's cached
 * limit, with and without a stale replica among them. The expected mean sums
 * in the order the replicas first reported (the engine's slot order). */
static void aggregates_agree_on_every_path(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, MS_SEC(10)), MS_OK);
  const int sizes[] = {1, 3, 4, 5, 63, 64, 65, 200};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    int n = sizes[k];
    char ep[32];
    snprintf(ep, sizeof ep, "ep-%d", n);
    assert_int_equal(ms_autoscaler_set_replicas(a, ep, 1), MS_OK);
    add(a, ep, "u", MS_CMP_GT, 1e300, 1, MS_AGG_MEAN);
    add(a, ep, "u", MS_CMP_GT, 1e300, 1, MS_AGG_MAX);
    add(a, ep, "u", MS_CMP_GT, 1e300, 1, MS_AGG_MIN);
    double *vals = calloc((size_t)n, sizeof *vals);
    for (int r = 0; r < n; r++) {
      char rep[16];
      snprintf(rep, sizeof rep, "r%d", r);
      vals[r] = (r % 3 == 0 ? 1e16 : 0.1) * (r % 2 ? -1 : 1) + r * 0.37;
      /* the first replica reports late: stale at 20 s, fresh at 10 s */
      assert_int_equal(ms_autoscaler_observe(a, ep, "k", "u", rep, vals[r], r == 0 ? MS_SEC(5) : MS_SEC(10)), MS_OK);
    }
    for (int stale = 0; stale < 2; stale++) {
      int first = stale ? 1 : 0;
      if (stale && n == 1) continue;
      double sum = 0, max = vals[first], min = vals[first];
      for (int r = first; r < n; r++) {
        sum = r == first ? vals[r] : sum + vals[r];
        max = vals[r] > max ? vals[r] : max;
        min = vals[r] < min ? vals[r] : min;
      }
      int64_t now = stale ? MS_SEC(15) + 1 : MS_SEC(15); /* r0 at 5 s: fresh at 15 s, stale after */
      double mean = sum / (double)(n - first);
      double got = value_at(a, ep, 0, now, NULL);
      if (memcmp(&got, &mean, sizeof got) != 0)
        fail_msg("%d replicas, stale %d: mean %.17g, want %.17g", n, stale, got, mean);
      assert_true(value_at(a, ep, 1, now, NULL) == max);
      assert_true(value_at(a, ep, 2, now, NULL) == min);
    }
    /* All stale: missing, whichever path. */
    ms_rule_outcome o = MS_RULE_APPLIED;
    assert_true(isnan(value_at(a, ep, 0, MS_SEC(21), &o)));
    assert_int_equal(o, MS_RULE_NO_METRIC);
    free(vals);
  }
}

/* A replica that updates its value moves the cached aggregates with it; a
 * replica replaced by a new one (its slot reused) is gone from them. */
static void cached_aggregates_follow_updates_and_replaced_replicas(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, MS_SEC(10)), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 2), MS_OK);
  add(a, "ep", "u", MS_CMP_GT, 1e300, 1, MS_AGG_MAX);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r0", 90, MS_SEC(1)), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r1", 10, MS_SEC(1)), MS_OK);
  assert_true(value_at(a, "ep", 0, MS_SEC(2), NULL) == 90);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r0", 20, MS_SEC(2)), MS_OK);
  assert_true(value_at(a, "ep", 0, MS_SEC(2), NULL) == 20);
  /* r0 goes quiet; r9 takes its slot once r0 is stale. */
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r1", 15, MS_SEC(13)), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", "r9", 12, MS_SEC(13)), MS_OK);
  assert_true(value_at(a, "ep", 0, MS_SEC(13), NULL) == 15);
}

/* Evaluate (for real unless `flags` says dry run): `total` entries, and the
 * named endpoints' counts after it. */
static void expect_with(ms_autoscaler *a, int64_t now, unsigned flags, size_t total, const char *const *names,
                        const int64_t *counts, size_t n) {
  ms_decisions *d = NULL;
  assert_int_equal(ms_autoscaler_evaluate(a, now, flags, &d), MS_OK);
  assert_int_equal(ms_decisions_count(d), total);
  for (size_t k = 0; k < n; k++) {
    size_t i = 0;
    int64_t to = -1, r = -1;
    assert_int_equal(ms_decisions_find(d, names[k], &i), MS_OK);
    assert_int_equal(ms_decisions_get(d, i, NULL, NULL, NULL, &to, NULL), MS_OK);
    if (to != counts[k]) fail_msg("%s: %lld replicas, want %lld", names[k], (long long)to, (long long)counts[k]);
    if (flags & MS_EVAL_DRY_RUN) continue;
    assert_int_equal(ms_autoscaler_get_replicas(a, names[k], &r), MS_OK);
    assert_int_equal(r, counts[k]);
  }
  ms_decisions_free(d);
}

static void expect(ms_autoscaler *a, int64_t now, size_t total, const char *const *names, const int64_t *counts,
                   size_t n) {
  expect_with(a, now, 0, total, names, counts, n);
}

/* Endpoints changed since they were packed into the arena are evaluated
 * where they are (a dry run leaves them there), and packed again by a real
 * evaluation or later configuration calls; the decisions are the same either
 * way, and after a reopen. */
static void configuration_changes_between_evaluations(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  enum { FILLERS = 36 }; /* 40 endpoints: too few for configuration calls to pack them */
  const char *names[] = {"a", "b", "c", "d"};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(ms_autoscaler_set_replicas(a, names[i], 1), MS_OK);
    add(a, names[i], "u", MS_CMP_GT, 50, 1, MS_AGG_MEAN);
    assert_int_equal(ms_autoscaler_observe(a, names[i], "k", "u", "r", 90, 0), MS_OK);
  }
  for (int i = 0; i < FILLERS; i++) {
    char ep[16];
    snprintf(ep, sizeof ep, "filler-%d", i);
    assert_int_equal(ms_autoscaler_set_replicas(a, ep, 7), MS_OK);
    add(a, ep, "u", MS_CMP_LT, -1, -1, MS_AGG_MIN);
    assert_int_equal(ms_autoscaler_observe(a, ep, "k", "u", "r", 0, 0), MS_OK);
  }
  const char *check[] = {"a", "b", "c", "d", "filler-0", "filler-35"};
  assert_int_equal(a->m.n_loose, 40);
  expect(a, 0, 40, check, (const int64_t[]){2, 2, 2, 2, 7, 7}, 6);
  assert_int_equal(a->m.n_loose, 0); /* packed by that evaluation */

  /* a: one more rule (its arrays grow); b: new metrics observed, then a rule
   * on one; c: its rule removed; d: removed; e: created with a rule. */
  int64_t a2 = add(a, "a", "q", MS_CMP_GT, 5, 3, MS_AGG_MAX);
  assert_int_equal(ms_autoscaler_observe(a, "a", "k", "q", "r", 9, 1), MS_OK);
  for (int m = 0; m < 20; m++) { /* many new series: b's arrays move more than once */
    char met[16];
    snprintf(met, sizeof met, "m%d", m);
    assert_int_equal(ms_autoscaler_observe(a, "b", "k", met, "r", m, 1), MS_OK);
  }
  add(a, "b", "m7", MS_CMP_GE, 7, 2, MS_AGG_MIN);
  int64_t ids[4];
  assert_int_equal(fx_rule_ids(a, "c", ids, 4), 1);
  assert_int_equal(ms_autoscaler_remove_rule(a, ids[0]), MS_OK);
  assert_int_equal(ms_autoscaler_remove_endpoint(a, "d"), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "e", 5), MS_OK);
  add(a, "e", "u", MS_CMP_LT, 50, -2, MS_AGG_MEAN);
  assert_int_equal(ms_autoscaler_observe(a, "e", "k", "u", "r", 10, 1), MS_OK);
  const char *after[] = {"a", "b", "c", "e", "filler-0", "filler-35"};
  /* a: +1 and +3 fire, +3 wins; b: +1 and +2 fire; c: no rules; e: 5 - 2 */
  assert_int_equal(a->m.n_loose, 3); /* a, b (their arrays grew) and e (new) */
  expect_with(a, 1, MS_EVAL_DRY_RUN, 40, after, (const int64_t[]){5, 4, 2, 3, 7, 7}, 6);
  assert_int_equal(a->m.n_loose, 3); /* evaluated where they are */
  expect(a, 1, 40, after, (const int64_t[]){5, 4, 2, 3, 7, 7}, 6);
  assert_int_equal(a->m.n_loose, 0);
  expect(a, 2, 40, after, (const int64_t[]){8, 6, 2, 1, 7, 7}, 6);
  /* Disabling a rule moves nothing. */
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, a2, 0), MS_OK);
  expect(a, 3, 40, after, (const int64_t[]){9, 8, 2, 0, 7, 7}, 6);
  /* Many more changes, then packed again, with the same decisions. */
  for (int i = 0; i < FILLERS; i += 2) {
    char ep[16];
    snprintf(ep, sizeof ep, "filler-%d", i);
    add(a, ep, "v", MS_CMP_GT, 0, 1, MS_AGG_MEAN);
    assert_int_equal(ms_autoscaler_observe(a, ep, "k", "v", "r", 1, 4), MS_OK);
  }
  for (size_t i = 0; i < 4; i++) assert_int_equal(ms_autoscaler_observe(a, after[i], "k", "u", "r", 90, 4), MS_OK);
  assert_true(a->m.n_loose >= FILLERS / 2);
  expect(a, 4, 40, after, (const int64_t[]){10, 10, 2, 0, 8, 7}, 6);
  assert_int_equal(a->m.n_loose, 0);
  /* Everything after a reopen of the engine on the same store. */
  fx_reopen(f);
  a = f->as;
  for (size_t i = 0; i < 4; i++) assert_int_equal(ms_autoscaler_observe(a, after[i], "k", "u", "r", 90, 5), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "b", "k", "m7", "r", 7, 5), MS_OK);
  expect(a, 5, 40, after, (const int64_t[]){11, 12, 2, 0, 8, 7}, 6);
}

/* Whether the endpoint's hot data is in the evaluation arena. */
static int packed(const as_endpoint *ep) { return ep->seg != NULL; }

/* Count the endpoints outside the arena; with `flags`, record each one's state. */
static size_t loose(const ms_autoscaler *a, unsigned char *flags) {
  size_t n = 0;
  for (size_t i = 0; i < a->m.n_eps; i++) {
    n += !packed(a->m.eps[i]);
    if (flags) flags[i] = (unsigned char)packed(a->m.eps[i]);
  }
  return n;
}

/* How many endpoints an evaluation moved into or out of the arena. */
static size_t moved_by_evaluation(ms_autoscaler *a, int64_t now) {
  unsigned char *before = calloc(a->m.n_eps + 1, 1), *after = calloc(a->m.n_eps + 1, 1);
  assert_non_null(before);
  assert_non_null(after);
  size_t n = a->m.n_eps;
  loose(a, before);
  ms_decisions *d = NULL;
  assert_int_equal(ms_autoscaler_evaluate(a, now, 0, &d), MS_OK);
  assert_int_equal(ms_decisions_count(d), n);
  ms_decisions_free(d);
  loose(a, after);
  size_t moved = 0;
  for (size_t i = 0; i < n; i++) moved += before[i] != after[i];
  free(before);
  free(after);
  return moved;
}

/* A bulk setup (endpoints created one by one, each with four rules, as the
 * benchmark does) leaves the engine's hot data compacted as it goes: no
 * evaluation pays for copying every endpoint at once. The same after a reopen:
 * the engine comes back compacted. An evaluation moves a bounded number of
 * endpoints at most (here, a fraction of them). */
static void bulk_setup_is_compacted_before_the_first_evaluation(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  enum { N = 3000 };
  for (int i = 0; i < N; i++) {
    char ep[16];
    snprintf(ep, sizeof ep, "ep-%05d", i);
    assert_int_equal(ms_autoscaler_set_replicas(a, ep, 4), MS_OK);
    add(a, ep, "util", MS_CMP_GT, 80, 1, MS_AGG_MEAN);
    add(a, ep, "mem", MS_CMP_GT, 85, 1, MS_AGG_MAX);
    add(a, ep, "wait", MS_CMP_LT, 10, -1, MS_AGG_MEAN);
    add(a, ep, "cpu", MS_CMP_LT, 10, -1, MS_AGG_MIN);
  }
  size_t out = loose(a, NULL);
  if (out > N / 4) fail_msg("%zu of %d endpoints are outside the arena after the setup", out, N);
  size_t moved = moved_by_evaluation(a, MS_SEC(1));
  if (moved > N / 8) fail_msg("the first evaluation moved %zu of %d endpoints", moved, N);
  assert_true(moved_by_evaluation(a, MS_SEC(2)) <= N / 8);

  fx_reopen(f);
  a = f->as;
  assert_int_equal(a->m.n_eps, (size_t)N);
  out = loose(a, NULL);
  if (out > N / 4) fail_msg("%zu of %d endpoints are outside the arena after a reopen", out, N);
  for (int i = 0; i < N; i += 7) {
    char ep[16];
    snprintf(ep, sizeof ep, "ep-%05d", i);
    assert_int_equal(ms_autoscaler_observe(a, ep, "k", "util", "r", 90, MS_SEC(3)), MS_OK);
  }
  moved = moved_by_evaluation(a, MS_SEC(3));
  if (moved > N / 8) fail_msg("the first evaluation after a reopen moved %zu of %d endpoints", moved, N);
  for (int i = 0; i < N; i++) {
    char ep[16];
    snprintf(ep, sizeof ep, "ep-%05d", i);
    int64_t r = 0;
    assert_int_equal(ms_autoscaler_get_replicas(a, ep, &r), MS_OK);
    assert_int_equal(r, i % 7 == 0 ? 5 : 4);
  }

  /* Opening packed the endpoints in creation order, AS_SEGMENT_EPS to a
   * segment. Once half of the first segment's endpoints left it (a new rule
   * makes their arrays grow), the other half is moved out too, and the
   * segment is gone (ASan sees any read of it). */
  assert_int_equal(a->m.n_loose, 0);
  const as_endpoint *stay = a->m.eps[AS_SEGMENT_EPS - 1];
  for (int i = 0; i < AS_SEGMENT_EPS / 2; i++) {
    assert_true(packed(stay) && !stay->is_loose);
    char ep[16];
    snprintf(ep, sizeof ep, "ep-%05d", i);
    add(a, ep, "extra", MS_CMP_GT, 50, 2, MS_AGG_MEAN);
    assert_int_equal(ms_autoscaler_observe(a, ep, "k", "extra", "r", 90, MS_SEC(4)), MS_OK);
  }
  assert_true(!packed(stay) && stay->is_loose);
  assert_int_equal(a->m.n_loose, AS_SEGMENT_EPS);
  moved = moved_by_evaluation(a, MS_SEC(4)); /* packs them again, and decides the same */
  assert_int_equal(moved, AS_SEGMENT_EPS);
  assert_int_equal(a->m.n_loose, 0);
  for (int i = 0; i < AS_SEGMENT_EPS; i++) {
    int64_t r = 0;
    assert_int_equal(ms_autoscaler_get_replicas(a, a->m.eps[i]->name, &r), MS_OK);
    /* +2 by the new rule, else +1 where util is still high (never both) */
    assert_int_equal(r, (i % 7 == 0 ? 5 : 4) + (i < AS_SEGMENT_EPS / 2 ? 2 : i % 7 == 0));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(aggregates_agree_on_every_path, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(cached_aggregates_follow_updates_and_replaced_replicas,
                                          fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(configuration_changes_between_evaluations, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(bulk_setup_is_compacted_before_the_first_evaluation,
                                          fx_setup_memory, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
