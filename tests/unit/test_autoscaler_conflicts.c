/* Table-driven test of rule conflicts: every comparator pair, with the second
 * threshold below, equal to and above the first. Two rules of opposite
 * directions on the same metric and aggregation conflict exactly when some
 * value fires both; touching closed ends count (>= 50 with <= 50), touching
 * open ends do not (> 50 with < 50). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mserve.h"
#include "mserve/autoscaler.h"
#include "testutil.h"

typedef struct row {
  ms_comparator a; /* first rule: a 50, step +1 */
  ms_comparator b; /* second rule: b tb, step -1 */
  double tb;
  int conflict;
  const char *range; /* the overlap the message names, when conflicting */
} row;

#define LT MS_CMP_LT
#define LE MS_CMP_LE
#define GT MS_CMP_GT
#define GE MS_CMP_GE

static const row table[] = {
    /* Both bounded above: (-inf, x) always overlap. */
    {LT, LT, 40, 1, "(-inf, 40)"}, {LT, LT, 50, 1, "(-inf, 50)"}, {LT, LT, 60, 1, "(-inf, 50)"},
    {LT, LE, 40, 1, "(-inf, 40]"}, {LT, LE, 50, 1, "(-inf, 50)"}, {LT, LE, 60, 1, "(-inf, 50)"},
    {LE, LT, 40, 1, "(-inf, 40)"}, {LE, LT, 50, 1, "(-inf, 50)"}, {LE, LT, 60, 1, "(-inf, 50]"},
    {LE, LE, 40, 1, "(-inf, 40]"}, {LE, LE, 50, 1, "(-inf, 50]"}, {LE, LE, 60, 1, "(-inf, 50]"},
    /* Both bounded below. */
    {GT, GT, 40, 1, "(50, inf)"}, {GT, GT, 50, 1, "(50, inf)"}, {GT, GT, 60, 1, "(60, inf)"},
    {GT, GE, 40, 1, "(50, inf)"}, {GT, GE, 50, 1, "(50, inf)"}, {GT, GE, 60, 1, "[60, inf)"},
    {GE, GT, 40, 1, "[50, inf)"}, {GE, GT, 50, 1, "(50, inf)"}, {GE, GT, 60, 1, "(60, inf)"},
    {GE, GE, 40, 1, "[50, inf)"}, {GE, GE, 50, 1, "[50, inf)"}, {GE, GE, 60, 1, "[60, inf)"},
    /* First below 50, second above tb: overlap only when tb is below 50
     * (or equal with both ends closed). */
    {LT, GT, 40, 1, "(40, 50)"}, {LT, GT, 50, 0, NULL}, {LT, GT, 60, 0, NULL},
    {LT, GE, 40, 1, "[40, 50)"}, {LT, GE, 50, 0, NULL}, {LT, GE, 60, 0, NULL},
    {LE, GT, 40, 1, "(40, 50]"}, {LE, GT, 50, 0, NULL}, {LE, GT, 60, 0, NULL},
    {LE, GE, 40, 1, "[40, 50]"}, {LE, GE, 50, 1, "[50, 50]"}, {LE, GE, 60, 0, NULL},
    /* First above 50, second below tb. */
    {GT, LT, 40, 0, NULL}, {GT, LT, 50, 0, NULL}, {GT, LT, 60, 1, "(50, 60)"},
    {GT, LE, 40, 0, NULL}, {GT, LE, 50, 0, NULL}, {GT, LE, 60, 1, "(50, 60]"},
    {GE, LT, 40, 0, NULL}, {GE, LT, 50, 0, NULL}, {GE, LT, 60, 1, "[50, 60)"},
    {GE, LE, 40, 0, NULL}, {GE, LE, 50, 1, "[50, 50]"}, {GE, LE, 60, 1, "[50, 60]"},
};

typedef struct fx {
  ms_store *store;
  ms_autoscaler *as;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  *state = f;
  if (ms_store_open(":memory:", 0, &f->store) || ms_autoscaler_open(f->store, &f->as)) return -1;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ms_autoscaler_close(f->as);
  ms_store_close(f->store);
  free(f);
  return 0;
}

static ms_rule *mk(const char *src, const char *met, ms_comparator c, double t, int64_t step, ms_aggregation agg) {
  ms_rule *r = NULL;
  assert_int_equal(ms_rule_new(&r), MS_OK);
  assert_int_equal(ms_rule_set_metric(r, src, met), MS_OK);
  assert_int_equal(ms_rule_set_trigger(r, c, t), MS_OK);
  assert_int_equal(ms_rule_set_step(r, step), MS_OK);
  assert_int_equal(ms_rule_set_aggregation(r, agg), MS_OK);
  return r;
}

static int try_add(ms_autoscaler *a, const char *ep, const char *src, const char *met, ms_comparator c, double t,
                   int64_t step, ms_aggregation agg, int64_t *id) {
  ms_rule *r = mk(src, met, c, t, step, agg);
  int st = ms_autoscaler_add_rule(a, ep, r, id);
  ms_rule_free(r);
  return st;
}

static size_t rule_count(ms_autoscaler *a, const char *ep) {
  size_t n = 0;
  assert_int_equal(ms_autoscaler_rule_ids(a, ep, NULL, 0, &n), MS_OK);
  return n;
}

/* Every row, in both orders of addition, and with the signs swapped. */
static void every_comparator_pair(void **state) {
  fx *f = *state;
  for (size_t k = 0; k < sizeof table / sizeof table[0]; k++) {
    const row *t = &table[k];
    for (int order = 0; order < 2; order++) {
      for (int sign = 1; sign >= -1; sign -= 2) {
        char ep[64];
        snprintf(ep, sizeof ep, "ep-%zu-%d-%d", k, order, sign);
        assert_int_equal(ms_autoscaler_set_replicas(f->as, ep, 1), MS_OK);
        int64_t first = 0, second = -7;
        ms_comparator c1 = order ? t->b : t->a, c2 = order ? t->a : t->b;
        double t1 = order ? t->tb : 50, t2 = order ? 50 : t->tb;
        assert_int_equal(try_add(f->as, ep, "kernel", "cuda.util", c1, t1, sign, MS_AGG_MEAN, &first), MS_OK);
        int st = try_add(f->as, ep, "kernel", "cuda.util", c2, t2, -sign, MS_AGG_MEAN, &second);
        if (st != (t->conflict ? MS_ECONFLICT : MS_OK))
          fail_msg("row %zu (order %d, sign %d): %s %g vs %s %g: got %s (%s)", k, order, sign,
                   c1 == LT ? "<" : c1 == LE ? "<=" : c1 == GT ? ">" : ">=", t1,
                   c2 == LT ? "<" : c2 == LE ? "<=" : c2 == GT ? ">" : ">=", t2, ms_status_name(st), ms_errmsg());
        if (t->conflict) {
          const char *msg = ms_errmsg();
          char want[64];
          snprintf(want, sizeof want, "rule %lld", (long long)first);
          assert_non_null(strstr(msg, want));
          assert_non_null(strstr(msg, "the new rule"));
          assert_non_null(strstr(msg, t->range));
          assert_non_null(strstr(msg, ep));
          assert_int_equal(second, -7); /* untouched */
          assert_int_equal(rule_count(f->as, ep), 1);
        } else {
          assert_int_equal(rule_count(f->as, ep), 2);
        }
        /* Same direction never conflicts, whatever the triggers. */
        char same[80];
        snprintf(same, sizeof same, "%s-same", ep);
        assert_int_equal(ms_autoscaler_set_replicas(f->as, same, 1), MS_OK);
        assert_int_equal(try_add(f->as, same, "kernel", "cuda.util", c1, t1, sign, MS_AGG_MEAN, NULL), MS_OK);
        assert_int_equal(try_add(f->as, same, "kernel", "cuda.util", c2, t2, sign, MS_AGG_MEAN, NULL), MS_OK);
      }
    }
  }
}

static void other_metric_aggregation_or_disabled_never_conflict(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 1), MS_OK);
  int64_t up = 0, down = 0;
  assert_int_equal(try_add(a, "ep", "kernel", "cuda.util", GT, 50, 1, MS_AGG_MEAN, &up), MS_OK);
  /* The example: > 50 -> +1 with < 70 -> -1. */
  assert_int_equal(try_add(a, "ep", "kernel", "cuda.util", LT, 70, -1, MS_AGG_MEAN, &down), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "(50, 70)"));
  assert_int_equal(try_add(a, "ep", "kernel", "cuda.util", LT, 70, -1, MS_AGG_MAX, &down), MS_OK);
  assert_int_equal(try_add(a, "ep", "kernel", "cuda.mem", LT, 70, -1, MS_AGG_MEAN, NULL), MS_OK);
  assert_int_equal(try_add(a, "ep", "proxy", "cuda.util", LT, 70, -1, MS_AGG_MEAN, NULL), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "other", 1), MS_OK);
  assert_int_equal(try_add(a, "other", "kernel", "cuda.util", LT, 70, -1, MS_AGG_MEAN, NULL), MS_OK);

  /* A disabled rule does not conflict, and enabling it re-checks. */
  ms_rule *r = mk("kernel", "cuda.util", LT, 70, -1, MS_AGG_MEAN);
  assert_int_equal(ms_rule_set_enabled(r, 0), MS_OK);
  int64_t off = 0;
  assert_int_equal(ms_autoscaler_add_rule(a, "ep", r, &off), MS_OK);
  ms_rule_free(r);
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, off, 1), MS_ECONFLICT);
  char want[64];
  snprintf(want, sizeof want, "rule %lld", (long long)off);
  assert_non_null(strstr(ms_errmsg(), want));
  snprintf(want, sizeof want, "rule %lld", (long long)up);
  assert_non_null(strstr(ms_errmsg(), want));
  ms_rule *snap = NULL;
  int en = 1;
  assert_int_equal(ms_autoscaler_get_rule(a, off, &snap), MS_OK);
  assert_int_equal(ms_rule_get_enabled(snap, &en), MS_OK);
  assert_int_equal(en, 0); /* still disabled */
  ms_rule_free(snap);
  /* Once the contradicting rule is disabled, enabling works. */
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, up, 0), MS_OK);
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, off, 1), MS_OK);
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, up, 1), MS_ECONFLICT);
  /* Removing it frees the way too. */
  assert_int_equal(ms_autoscaler_remove_rule(a, off), MS_OK);
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, up, 1), MS_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(every_comparator_pair, setup, teardown),
      cmocka_unit_test_setup_teardown(other_metric_aggregation_or_disabled_never_conflict, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
