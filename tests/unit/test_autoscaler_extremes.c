/* Unit tests of the autoscaler at the edges of its number types: metric
 * values as large as a double holds (a mean must stay finite and exact where
 * it can be; min, max and the endpoint-wide division must hold up too), and
 * times at the end of the int64 microsecond range (a cooldown that reaches
 * past INT64_MAX must still hold at INT64_MAX, before and after a reopen). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler_testutil.h"
#include "mserve.h"
#include "mserve/autoscaler.h"
#include "testutil.h"

static int64_t add(ms_autoscaler *a, const char *ep, const char *met, ms_comparator cmp, double thr, int64_t step,
                   int64_t cooldown_us, ms_aggregation agg) {
  return fx_add_rule(a, ep,
                     (fx_rule){.metric = met, .cmp = cmp, .threshold = thr, .step = step, .cooldown_us = cooldown_us,
                               .agg = agg});
}

/* Rule j of `ep` in an evaluation at now (dry run unless `real`). */
static double rule_at(ms_autoscaler *a, const char *ep, size_t j, int64_t now, int real, ms_rule_outcome *o) {
  return fx_rule_value(a, ep, j, now, real ? 0 : MS_EVAL_DRY_RUN, o);
}

static void same_bits(double got, double want, const char *what, int n) {
  if (memcmp(&got, &want, sizeof got) != 0) fail_msg("%s (%d replicas): got %.17g, want %.17g", what, n, got, want);
}

/* Replicas reporting values near ±DBL_MAX: a plain running sum overflows to
 * infinity, but every mean of finite values is finite. Replica counts on both
 * sides of the engine's cached-aggregate limit (the cached path and the
 * walk), and a stale replica among them (the walk even for small series). */
static void mean_of_huge_values_stays_finite(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, MS_SEC(10)), MS_OK);
  const int sizes[] = {2, 3, 4, 7, 64, 65, 300};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    int n = sizes[k];
    char ep[32];
    snprintf(ep, sizeof ep, "ep-%d", n);
    assert_int_equal(ms_autoscaler_set_replicas(a, ep, 1), MS_OK);
    /* up on mean > 1e308; the others only report values */
    add(a, ep, "all-max", MS_CMP_GT, 1e308, 1, 0, MS_AGG_MEAN);
    add(a, ep, "mixed", MS_CMP_GT, 1e300, 1, 0, MS_AGG_MEAN);
    add(a, ep, "mixed", MS_CMP_GT, 1e300, 1, 0, MS_AGG_MAX);
    add(a, ep, "mixed", MS_CMP_GT, 1e300, 1, 0, MS_AGG_MIN);
    add(a, ep, "all-min", MS_CMP_LT, -1e308, 1, 0, MS_AGG_MEAN);
    add(a, ep, "cancel", MS_CMP_GT, 1e300, 1, 0, MS_AGG_MEAN);
    for (int r = 0; r < n; r++) {
      char rep[16];
      snprintf(rep, sizeof rep, "r%d", r);
      /* replica 0 reports early: fresh at 12 s, stale at 20 s */
      int64_t at = r == 0 ? MS_SEC(2) : MS_SEC(10);
      assert_int_equal(ms_autoscaler_observe(a, ep, "k", "all-max", rep, DBL_MAX, at), MS_OK);
      assert_int_equal(ms_autoscaler_observe(a, ep, "k", "all-min", rep, -DBL_MAX, at), MS_OK);
      /* two of every three at +DBL_MAX, every third at -DBL_MAX: the sum
       * overflows after the second replica */
      assert_int_equal(ms_autoscaler_observe(a, ep, "k", "mixed", rep, r % 3 == 2 ? -DBL_MAX : DBL_MAX, at), MS_OK);
      /* +DBL_MAX, +DBL_MAX, -DBL_MAX, -DBL_MAX, ...: exactly 0 for an even count */
      assert_int_equal(ms_autoscaler_observe(a, ep, "k", "cancel", rep, (r / 2) % 2 ? -DBL_MAX : DBL_MAX, at), MS_OK);
    }
    for (int stale = 0; stale < 2; stale++) {
      int64_t now = stale ? MS_SEC(15) : MS_SEC(12);
      int first = stale, m = n - first;
      int plus = 0, minus = 0;
      for (int r = first; r < n; r++) plus += r % 3 != 2, minus += r % 3 == 2;
      double mixed = (double)(plus - minus) / (double)m * DBL_MAX;
      int up = 0, down = 0;
      for (int r = first; r < n; r++) up += (r / 2) % 2 == 0, down += (r / 2) % 2 == 1;
      ms_rule_outcome o = MS_RULE_DISABLED;
      same_bits(rule_at(a, ep, 0, now, 0, &o), DBL_MAX, "mean of DBL_MAX", m);
      assert_int_equal(o, MS_RULE_APPLIED); /* it fires; every firing rule proposes 2, the lowest id wins */
      double got = rule_at(a, ep, 1, now, 0, NULL);
      assert_true(isfinite(got));
      if (fabs(got - mixed) > fabs(mixed) * 1e-15)
        fail_msg("mixed mean (%d replicas, stale %d): got %.17g, want %.17g", m, stale, got, mixed);
      same_bits(rule_at(a, ep, 2, now, 0, NULL), DBL_MAX, "max", m);
      same_bits(rule_at(a, ep, 3, now, 0, NULL), minus ? -DBL_MAX : DBL_MAX, "min", m);
      same_bits(rule_at(a, ep, 4, now, 0, &o), -DBL_MAX, "mean of -DBL_MAX", m);
      assert_int_equal(o, MS_RULE_OUTVOTED);
      got = rule_at(a, ep, 5, now, 0, NULL);
      double cancel = (double)(up - down) / (double)m * DBL_MAX;
      assert_true(isfinite(got));
      if (fabs(got - cancel) > fabs(cancel) * 1e-15) /* exactly 0 when they cancel */
        fail_msg("cancelling mean (%d replicas, stale %d): got %.17g, want %.17g", m, stale, got, cancel);
    }
  }
}

/* Values whose sum stays finite keep the plain sum / n, bit for bit. */
static void mean_without_overflow_is_the_plain_one(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 1), MS_OK);
  add(a, "ep", "u", MS_CMP_GT, 1e300, 1, 0, MS_AGG_MEAN);
  const double v[] = {DBL_MAX / 2, DBL_MAX / 4, -DBL_MAX / 8, 0.1, 3e-300};
  double sum = 0;
  for (int r = 0; r < 5; r++) {
    char rep[8];
    snprintf(rep, sizeof rep, "r%d", r);
    assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "u", rep, v[r], 0), MS_OK);
    sum += v[r];
  }
  same_bits(rule_at(a, "ep", 0, 0, 0, NULL), sum / 5, "plain mean", 5);
}

/* An endpoint-wide value is divided by the replica count: ±DBL_MAX stays
 * finite, at zero replicas (divided by 1) and at many. */
static void endpoint_wide_extremes(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  const int64_t counts[] = {0, 1, 3, INT64_MAX / 2};
  for (size_t k = 0; k < 4; k++) {
    char ep[16];
    snprintf(ep, sizeof ep, "wide-%zu", k);
    assert_int_equal(ms_autoscaler_set_replicas(a, ep, counts[k]), MS_OK);
    add(a, ep, "q", MS_CMP_GT, 1e300, 1, 0, MS_AGG_MEAN);
    add(a, ep, "n", MS_CMP_LT, -1e300, -1, 0, MS_AGG_MIN);
    assert_int_equal(ms_autoscaler_observe(a, ep, "k", "q", NULL, DBL_MAX, 0), MS_OK);
    assert_int_equal(ms_autoscaler_observe(a, ep, "k", "n", NULL, -DBL_MAX, 0), MS_OK);
    double div = (double)(counts[k] > 1 ? counts[k] : 1);
    same_bits(rule_at(a, ep, 0, 0, 0, NULL), DBL_MAX / div, "wide DBL_MAX", (int)k);
    same_bits(rule_at(a, ep, 1, 0, 0, NULL), -DBL_MAX / div, "wide -DBL_MAX", (int)k);
  }
}

/* A cooldown reaching past INT64_MAX holds at INT64_MAX: the header's rule is
 * now < last_applied + cooldown, computed exactly, not saturated into "over".
 * A cooldown ending exactly at INT64_MAX is over there. Both survive a
 * reopen of the engine (the stamps are persisted). */
static void cooldown_at_the_end_of_time(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, INT64_MAX), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "past", 1), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "exact", 1), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "huge", 1), MS_OK);
  add(a, "past", "u", MS_CMP_GT, 50, 1, 100, MS_AGG_MEAN);      /* applied at MAX-10: ends at MAX+90 */
  add(a, "exact", "u", MS_CMP_GT, 50, 1, 100, MS_AGG_MEAN);     /* applied at MAX-100: ends at MAX */
  add(a, "huge", "u", MS_CMP_GT, 50, 1, INT64_MAX, MS_AGG_MEAN); /* applied at 0: ends at MAX */
  const char *eps[] = {"past", "exact", "huge"};
  /* Each endpoint's metric appears right before the evaluation meant to
   * apply its rule (until then the rule has no metric and cannot fire). */
  ms_rule_outcome o;
  assert_int_equal(ms_autoscaler_observe(a, "huge", "k", "u", "r", 90, 0), MS_OK);
  rule_at(a, "huge", 0, 0, 1, &o);
  assert_int_equal(o, MS_RULE_APPLIED);
  assert_int_equal(ms_autoscaler_observe(a, "exact", "k", "u", "r", 90, 0), MS_OK);
  rule_at(a, "exact", 0, INT64_MAX - 100, 1, &o);
  assert_int_equal(o, MS_RULE_APPLIED);
  assert_int_equal(ms_autoscaler_observe(a, "past", "k", "u", "r", 90, 0), MS_OK);
  rule_at(a, "past", 0, INT64_MAX - 10, 1, &o);
  assert_int_equal(o, MS_RULE_APPLIED);
  for (int round = 0; round < 2; round++) {
    rule_at(a, "past", 0, INT64_MAX - 1, 0, &o);
    assert_int_equal(o, MS_RULE_COOLDOWN);
    rule_at(a, "past", 0, INT64_MAX, 0, &o);
    assert_int_equal(o, MS_RULE_COOLDOWN);
    rule_at(a, "exact", 0, INT64_MAX - 1, 0, &o);
    assert_int_equal(o, MS_RULE_COOLDOWN);
    rule_at(a, "exact", 0, INT64_MAX, 0, &o);
    assert_int_equal(o, MS_RULE_APPLIED);
    rule_at(a, "huge", 0, INT64_MAX - 1, 0, &o);
    assert_int_equal(o, MS_RULE_COOLDOWN);
    rule_at(a, "huge", 0, INT64_MAX, 0, &o);
    assert_int_equal(o, MS_RULE_APPLIED);
    /* the same after a reopen (observations are not persisted) */
    fx_reopen(f);
    a = f->as;
    assert_int_equal(ms_autoscaler_set_metric_ttl(a, INT64_MAX), MS_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(ms_autoscaler_observe(a, eps[i], "k", "u", "r", 90, 0), MS_OK);
  }
  /* A real evaluation at INT64_MAX: only the rules whose cooldown is over apply. */
  ms_decisions *d = NULL;
  assert_int_equal(ms_autoscaler_evaluate(a, INT64_MAX, 0, &d), MS_OK);
  for (int i = 0; i < 3; i++) {
    size_t k = 0;
    int64_t from = 0, to = 0;
    assert_int_equal(ms_decisions_find(d, eps[i], &k), MS_OK);
    assert_int_equal(ms_decisions_get(d, k, NULL, NULL, &from, &to, NULL), MS_OK);
    assert_int_equal(to - from, i == 0 ? 0 : 1);
  }
  ms_decisions_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(mean_of_huge_values_stays_finite, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(mean_without_overflow_is_the_plain_one, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(endpoint_wide_extremes, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(cooldown_at_the_end_of_time, fx_setup_memory, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
