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

#include "autoscaler_testutil.h"
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

static ms_rule *mk(const char *src, const char *met, ms_comparator c, double t, int64_t step, ms_aggregation agg) {
  return fx_rule_new(&(fx_rule){.source = src, .metric = met, .cmp = c, .threshold = t, .step = step, .agg = agg});
}

static int try_add(ms_autoscaler *a, const char *ep, const char *src, const char *met, ms_comparator c, double t,
                   int64_t step, ms_aggregation agg, int64_t *id) {
  ms_rule *r = mk(src, met, c, t, step, agg);
  int st = ms_autoscaler_add_rule(a, ep, r, id);
  ms_rule_free(r);
  return st;
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
          assert_int_equal(fx_rule_count(f->as, ep), 1);
        } else {
          assert_int_equal(fx_rule_count(f->as, ep), 2);
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

/* ---- random operations against a brute-force oracle of the conflict rule */

typedef struct mrule {
  int64_t id;
  int metric, agg, cmp;
  double t;
  int64_t step;
  int enabled;
} mrule;

typedef struct lcg {
  uint64_t s;
} lcg;

static unsigned rnd(lcg *g, unsigned n) {
  g->s = g->s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)((g->s >> 33) % n);
}

static const char *const METRICS[] = {"m0", "m1"};

/* The set of values a trigger fires for, as the DESIGN states it: a half-line. */
typedef struct half {
  int below; /* (-inf, t) or (-inf, t]; else (t, inf) or [t, inf) */
  int closed;
  double t;
} half;

static half half_of(int cmp, double t) { return (half){cmp == LT || cmp == LE, cmp == LE || cmp == GE, t}; }

/* Whether some value is in both, by cases; *range receives the overlap as
 * the engine prints it. */
static int overlap(half x, half y, char *range, size_t cap) {
  if (x.below && y.below) {
    half m = x.t < y.t || (x.t == y.t && !x.closed) ? x : y;
    snprintf(range, cap, "(-inf, %g%c", m.t, m.closed ? ']' : ')');
    return 1;
  }
  if (!x.below && !y.below) {
    half m = x.t > y.t || (x.t == y.t && !x.closed) ? x : y;
    snprintf(range, cap, "%c%g, inf)", m.closed ? '[' : '(', m.t);
    return 1;
  }
  half lo = x.below ? y : x, hi = x.below ? x : y; /* [lo.t, ...) and (..., hi.t] */
  if (lo.t > hi.t || (lo.t == hi.t && !(lo.closed && hi.closed))) return 0;
  snprintf(range, cap, "%c%g, %g%c", lo.closed ? '[' : '(', lo.t, hi.t, hi.closed ? ']' : ')');
  return 1;
}

static int conflicts(const mrule *x, const mrule *y, char *range, size_t cap) {
  if (x->id == y->id || !y->enabled || x->metric != y->metric || x->agg != y->agg) return 0;
  if ((x->step > 0) == (y->step > 0)) return 0;
  return overlap(half_of(x->cmp, x->t), half_of(y->cmp, y->t), range, cap);
}

/* The engine refused `x` naming some rule: it must be one the oracle finds
 * conflicting, with the overlap the oracle computes; and there must be one. */
static void check_refusal(int st, const mrule *x, const mrule *rules, size_t n, const char *what, size_t op) {
  size_t expect = 0;
  char range[128];
  for (size_t i = 0; i < n; i++) expect += conflicts(x, &rules[i], range, sizeof range) != 0;
  if (!expect) {
    if (st != MS_OK) fail_msg("op %zu: %s: oracle sees no conflict, engine says %s (%s)", op, what, ms_status_name(st), ms_errmsg());
    return;
  }
  if (st != MS_ECONFLICT) fail_msg("op %zu: %s: oracle sees %zu conflicts, engine says %s", op, what, expect, ms_status_name(st));
  const char *msg = ms_errmsg(), *p = strstr(msg, "conflicts with rule ");
  assert_non_null(p);
  long long named = strtoll(p + strlen("conflicts with rule "), NULL, 10);
  for (size_t i = 0; i < n; i++) {
    if (rules[i].id != named) continue;
    if (!conflicts(x, &rules[i], range, sizeof range)) fail_msg("op %zu: %s: names rule %lld, which does not conflict: %s", op, what, named, msg);
    if (!strstr(msg, range)) fail_msg("op %zu: %s: overlap %s missing from: %s", op, what, range, msg);
    return;
  }
  fail_msg("op %zu: %s: names unknown rule %lld: %s", op, what, named, msg);
}

/* Thousands of adds, removals, enables and disables in a random order on one
 * endpoint, with thresholds from a small set so ties and touching ends are
 * common; every answer is checked against the oracle, and the engine is
 * reopened now and then (it rebuilds what it knows from the store). */
static void random_operations_match_the_oracle(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "ep", 1), MS_OK);
  size_t ops = (size_t)ms_test_scale(6000), n = 0, cap = ops + 1;
  mrule *rules = calloc(cap, sizeof *rules);
  assert_non_null(rules);
  lcg g = {42};
  size_t refused = 0, accepted = 0;
  for (size_t op = 0; op < ops; op++) {
    unsigned kind = rnd(&g, 100);
    if (kind < 55 || n == 0) {
      const int cmps[] = {LT, LE, GT, GE};
      mrule x = {0, (int)rnd(&g, 2), rnd(&g, 2) ? MS_AGG_MEAN : MS_AGG_MAX, cmps[rnd(&g, 4)], 10.0 * (1 + rnd(&g, 9)),
                 rnd(&g, 2) ? 1 + rnd(&g, 3) : -(int64_t)(1 + rnd(&g, 3)), rnd(&g, 10) != 0};
      ms_rule *r = mk("kernel", METRICS[x.metric], (ms_comparator)x.cmp, x.t, x.step, (ms_aggregation)x.agg);
      assert_int_equal(ms_rule_set_enabled(r, x.enabled), MS_OK);
      int64_t id = -5;
      int st = ms_autoscaler_add_rule(f->as, "ep", r, &id);
      ms_rule_free(r);
      x.id = -1;
      if (x.enabled) check_refusal(st, &x, rules, n, "add", op);
      else assert_int_equal(st, MS_OK);
      if (st == MS_OK) {
        x.id = id;
        rules[n++] = x;
        accepted++;
      } else {
        assert_int_equal(id, -5);
        refused++;
      }
    } else if (kind < 75) {
      size_t k = rnd(&g, (unsigned)n);
      assert_int_equal(ms_autoscaler_remove_rule(f->as, rules[k].id), MS_OK);
      rules[k] = rules[--n];
    } else {
      size_t k = rnd(&g, (unsigned)n);
      mrule *x = &rules[k];
      int st = ms_autoscaler_set_rule_enabled(f->as, x->id, !x->enabled);
      if (!x->enabled) {
        check_refusal(st, x, rules, n, "enable", op);
        if (st == MS_OK) x->enabled = 1;
      } else {
        assert_int_equal(st, MS_OK);
        x->enabled = 0;
      }
    }
    if (op % 1000 == 999) fx_reopen(f);
  }
  /* The engine holds exactly the model's rules, enabled as in the model. */
  assert_int_equal(fx_rule_count(f->as, "ep"), n);
  for (size_t k = 0; k < n; k++) {
    ms_rule *snap = NULL;
    int en = -1;
    assert_int_equal(ms_autoscaler_get_rule(f->as, rules[k].id, &snap), MS_OK);
    assert_int_equal(ms_rule_get_enabled(snap, &en), MS_OK);
    assert_int_equal(en, rules[k].enabled);
    ms_rule_free(snap);
  }
  /* The mirror image of an enabled rule conflicts with it on "ep", and with
   * nothing on an endpoint of its own. */
  for (size_t k = 0, done = 0; k < n && done < 20; k++) {
    if (!rules[k].enabled) continue;
    mrule x = rules[k];
    x.id = -1;
    x.step = -x.step;
    int st = try_add(f->as, "ep", "kernel", METRICS[x.metric], (ms_comparator)x.cmp, x.t, x.step,
                     (ms_aggregation)x.agg, NULL);
    check_refusal(st, &x, rules, n, "mirror", k);
    assert_int_equal(st, MS_ECONFLICT);
    char other[32];
    snprintf(other, sizeof other, "other-%zu", done++);
    assert_int_equal(ms_autoscaler_set_replicas(f->as, other, 1), MS_OK);
    assert_int_equal(try_add(f->as, other, "kernel", METRICS[x.metric], (ms_comparator)x.cmp, x.t, x.step,
                             (ms_aggregation)x.agg, NULL),
                     MS_OK);
  }
  print_message("%zu rules added, %zu refused, %zu held at the end\n", accepted, refused, n);
  assert_true(refused > 100 && accepted > 100); /* both answers were exercised */
  free(rules);
}

/* An endpoint holds at most 16,384 rules (enabled or not) and 256 metrics;
 * past that, add_rule refuses with MS_EFULL, naming the endpoint and the
 * limit, and changes nothing. Other endpoints are not affected, and removing
 * a rule makes room again. */
static void rules_and_metrics_per_endpoint_are_limited(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  enum { MAX_RULES = 16384, MAX_METRICS = 256 };
  assert_int_equal(ms_autoscaler_set_replicas(a, "full", 1), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "other", 1), MS_OK);
  ms_rule *r = mk("kernel", "u", GT, 50, 1, MS_AGG_MEAN);
  int64_t first = 0;
  for (int i = 0; i < MAX_RULES; i++) {
    assert_int_equal(ms_rule_set_trigger(r, GT, 50 + (double)(i % 100)), MS_OK);
    assert_int_equal(ms_rule_set_enabled(r, i % 3 != 0), MS_OK);
    int st = ms_autoscaler_add_rule(a, "full", r, i == 0 ? &first : NULL);
    if (st) fail_msg("rule %d: %s (%s)", i, ms_status_name(st), ms_errmsg());
  }
  int64_t id = -3;
  assert_int_equal(ms_autoscaler_add_rule(a, "full", r, &id), MS_EFULL);
  assert_non_null(strstr(ms_errmsg(), "'full'"));
  assert_non_null(strstr(ms_errmsg(), "16384"));
  assert_int_equal(id, -3);
  assert_int_equal(fx_rule_count(a, "full"), MAX_RULES);
  assert_int_equal(ms_autoscaler_add_rule(a, "other", r, NULL), MS_OK);
  assert_int_equal(ms_autoscaler_remove_rule(a, first), MS_OK);
  assert_int_equal(ms_autoscaler_add_rule(a, "full", r, NULL), MS_OK);
  assert_int_equal(ms_autoscaler_add_rule(a, "full", r, NULL), MS_EFULL);
  /* and after a reopen */
  fx_reopen(f);
  a = f->as;
  assert_int_equal(ms_autoscaler_add_rule(a, "full", r, NULL), MS_EFULL);
  ms_rule_free(r);

  /* Metrics: "other" has "u"; 255 more fit, the 257th does not. */
  for (int m = 1; m < MAX_METRICS; m++) {
    char met[16];
    snprintf(met, sizeof met, "m%d", m);
    assert_int_equal(try_add(a, "other", "kernel", met, GT, 1, 1, MS_AGG_MEAN, NULL), MS_OK);
  }
  assert_int_equal(try_add(a, "other", "kernel", "one-too-many", GT, 1, 1, MS_AGG_MEAN, &id), MS_EFULL);
  assert_non_null(strstr(ms_errmsg(), "256"));
  assert_int_equal(id, -3);
  assert_int_equal(ms_autoscaler_observe(a, "other", "kernel", "one-too-many", "r", 1, 0), MS_EFULL);
  assert_int_equal(try_add(a, "other", "kernel", "m7", LT, -5, 1, MS_AGG_MIN, NULL), MS_OK); /* a known metric */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(every_comparator_pair, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(other_metric_aggregation_or_disabled_never_conflict,
                                          fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(random_operations_match_the_oracle, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(rules_and_metrics_per_endpoint_are_limited, fx_setup_memory, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
