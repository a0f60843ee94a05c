/* Scenario tests written as timelines: observations and evaluations at given
 * times (seconds), with the expected replica count and every rule's outcome
 * after each evaluation. A small interpreter runs each timeline against a
 * fresh engine and, at the end, checks the persisted history against the
 * changes it saw. After each evaluation it also checks what
 * ms_autoscaler_next_deadline promises: until the deadline, time alone
 * changes nothing (a dry run just before it decides as one at that moment). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler_testutil.h"
#include "mserve.h"
#include "mserve/autoscaler.h"
#include "testutil.h"

#define END (-1)
#define MAXR 6

/* Outcome shorthands for the tables. */
#define APP MS_RULE_APPLIED
#define NOT MS_RULE_NOT_TRIGGERED
#define MIS MS_RULE_NO_METRIC
#define COOL MS_RULE_COOLDOWN
#define BND MS_RULE_AT_BOUND
#define OUT MS_RULE_OUTVOTED

typedef struct rule_spec {
  const char *source, *metric;
  ms_comparator cmp;
  double threshold;
  int64_t step, cooldown_s, min, max;
  ms_aggregation agg;
} rule_spec;

typedef struct event {
  int t;            /* seconds */
  char kind;        /* 'o' observe, 'e' evaluate */
  const char *source, *metric, *replica;
  double value;     /* observe: the value; evaluate: the expected value of rule 0 (NAN: do not check) */
  int64_t want;     /* evaluate: replicas after */
  int outcomes[MAXR + 1]; /* evaluate: per rule, END-terminated */
} event;

#define OBS(t, src, met, rep, v) {t, 'o', src, met, rep, v, 0, {END}}
#define EVAL(t, want, ...) {t, 'e', NULL, NULL, NULL, NAN, want, {__VA_ARGS__, END}}
#define EVALV(t, v, want, ...) {t, 'e', NULL, NULL, NULL, v, want, {__VA_ARGS__, END}}

typedef struct scenario {
  const char *name;
  int64_t start_replicas;
  int64_t ttl_s;
  const rule_spec *rules;
  size_t n_rules;
  const event *events;
  size_t n_events;
} scenario;

/* The explanation of a dry run of `ep` at `at`. */
static void dry_line(ms_autoscaler *a, const char *ep, int64_t at, char *line, size_t cap) {
  ms_decisions *d = NULL;
  size_t i = 0;
  assert_int_equal(ms_autoscaler_evaluate(a, at, MS_EVAL_DRY_RUN, &d), MS_OK);
  assert_int_equal(ms_decisions_find(d, ep, &i), MS_OK);
  assert_int_equal(ms_decisions_explain(d, i, line, cap, NULL), MS_OK);
  ms_decisions_free(d);
}

/* Right after an evaluation at `now`: a dry run at now and one just before
 * the next deadline (or much later when there is none) decide the same. */
static void check_deadline(ms_autoscaler *a, const char *ep, int64_t now, size_t k) {
  int64_t due = 0;
  assert_int_equal(ms_autoscaler_next_deadline(a, now, &due), MS_OK);
  assert_true(due > now);
  int64_t last = due == INT64_MAX ? now + MS_SEC(1000000) : due - 1;
  char at_now[1024], before[1024];
  dry_line(a, ep, now, at_now, sizeof at_now);
  dry_line(a, ep, last, before, sizeof before);
  if (strcmp(at_now, before) != 0)
    fail_msg("%s: event %zu: next deadline %lld, but a dry run at %lld decides\n  %s\nand at %lld\n  %s", ep, k,
             (long long)due, (long long)now, at_now, (long long)last, before);
}

static void run(const scenario *sc) {
  fx *f = fx_new(NULL, MS_SEC(sc->ttl_s));
  assert_non_null(f);
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_replicas(a, sc->name, sc->start_replicas), MS_OK);
  int64_t ids[MAXR];
  assert_true(sc->n_rules <= MAXR);
  for (size_t i = 0; i < sc->n_rules; i++) {
    const rule_spec *rs = &sc->rules[i];
    ms_rule *r = fx_rule_new(&(fx_rule){.source = rs->source, .metric = rs->metric, .cmp = rs->cmp,
                                        .threshold = rs->threshold, .step = rs->step,
                                        .cooldown_us = MS_SEC(rs->cooldown_s), .bounded = 1, .min = rs->min,
                                        .max = rs->max, .agg = rs->agg});
    if (ms_autoscaler_add_rule(a, sc->name, r, &ids[i])) fail_msg("%s: rule %zu: %s", sc->name, i, ms_errmsg());
    ms_rule_free(r);
  }
  size_t changes = 0;
  for (size_t k = 0; k < sc->n_events; k++) {
    const event *e = &sc->events[k];
    if (e->kind == 'o') {
      assert_int_equal(ms_autoscaler_observe(a, sc->name, e->source, e->metric, e->replica, e->value, MS_SEC(e->t)),
                       MS_OK);
      continue;
    }
    ms_decisions *d = NULL;
    assert_int_equal(ms_autoscaler_evaluate(a, MS_SEC(e->t), 0, &d), MS_OK);
    size_t i = 0;
    assert_int_equal(ms_decisions_find(d, sc->name, &i), MS_OK);
    int64_t from = 0, to = 0, applied = 0;
    assert_int_equal(ms_decisions_get(d, i, NULL, NULL, &from, &to, &applied), MS_OK);
    char line[1024];
    ms_decisions_explain(d, i, line, sizeof line, NULL);
    if (to != e->want) fail_msg("%s: event %zu (t=%d s): want %lld replicas: %s", sc->name, k, e->t,
                                (long long)e->want, line);
    assert_int_equal(ms_decisions_rule_count(d, i), sc->n_rules);
    int saw_applied = 0;
    for (size_t j = 0; j < sc->n_rules; j++) {
      assert_int_not_equal(e->outcomes[j], END); /* the table lists every rule */
      int64_t rid = 0;
      ms_rule_outcome o = MS_RULE_DISABLED;
      double v = 0;
      assert_int_equal(ms_decisions_get_rule(d, i, j, &rid, &o, &v), MS_OK);
      assert_int_equal(rid, ids[j]);
      if ((int)o != e->outcomes[j])
        fail_msg("%s: event %zu (t=%d s): rule %zu is '%s', want '%s': %s", sc->name, k, e->t, j,
                 ms_rule_outcome_name((int)o), ms_rule_outcome_name(e->outcomes[j]), line);
      if ((isnan(v) != 0) != (o == MS_RULE_NO_METRIC))
        fail_msg("%s: event %zu: rule %zu value %g with outcome '%s'", sc->name, k, j, v, ms_rule_outcome_name((int)o));
      if (j == 0 && !isnan(e->value) && fabs(v - e->value) > 1e-9)
        fail_msg("%s: event %zu: rule 0 value %g, want %g", sc->name, k, v, e->value);
      if (o == MS_RULE_APPLIED) {
        saw_applied = 1;
        assert_int_equal(applied, ids[j]);
      }
    }
    assert_int_equal(e->outcomes[sc->n_rules], END);
    assert_int_equal(saw_applied, from != to);
    if (!saw_applied) assert_int_equal(applied, -1);
    int64_t now = -1;
    assert_int_equal(ms_autoscaler_get_replicas(a, sc->name, &now), MS_OK);
    assert_int_equal(now, e->want);
    if (from != to) changes++;
    ms_decisions_free(d);
    check_deadline(a, sc->name, MS_SEC(e->t), k);
  }
  ms_decisions *h = NULL;
  assert_int_equal(ms_autoscaler_history(a, sc->name, 0, &h), MS_OK);
  assert_int_equal(ms_decisions_count(h), changes);
  ms_decisions_free(h);
  fx_free(f);
}

#define RUN(name, start, ttl, rules, events)                                                                    \
  do {                                                                                                          \
    scenario sc = {name, start, ttl, rules, sizeof rules / sizeof rules[0], events,                             \
                   sizeof events / sizeof events[0]};                                                           \
    run(&sc);                                                                                                   \
  } while (0)

/* GPU utilisation: 1 -> 4 on load (one step per cooldown), then 4 -> 2 when
 * idle, with a longer cooldown on the way down. */
static void gpu_utilisation_scales_1_to_4_to_2(void **state) {
  (void)state;
  static const rule_spec rules[] = {
      {"kernel", "cuda.util", MS_CMP_GT, 80, +1, 60, 1, 4, MS_AGG_MEAN},
      {"kernel", "cuda.util", MS_CMP_LT, 30, -1, 120, 2, -1, MS_AGG_MEAN},
  };
  static const event ev[] = {
      OBS(0, "kernel", "cuda.util", "r0", 95),
      EVALV(0, 95, 2, APP, NOT),
      OBS(30, "kernel", "cuda.util", "r0", 96), OBS(30, "kernel", "cuda.util", "r1", 90),
      EVALV(30, 93, 2, COOL, NOT),             /* 30 < 0 + 60 */
      OBS(60, "kernel", "cuda.util", "r0", 94), OBS(60, "kernel", "cuda.util", "r1", 92),
      EVALV(60, 93, 3, APP, NOT),              /* now == last + cooldown: outside */
      OBS(120, "kernel", "cuda.util", "r0", 90), OBS(120, "kernel", "cuda.util", "r1", 90),
      OBS(120, "kernel", "cuda.util", "r2", 90),
      EVAL(120, 4, APP, NOT),
      OBS(180, "kernel", "cuda.util", "r0", 85), OBS(180, "kernel", "cuda.util", "r1", 85),
      OBS(180, "kernel", "cuda.util", "r2", 85), OBS(180, "kernel", "cuda.util", "r3", 85),
      EVAL(180, 4, BND, NOT),                  /* max 4 */
      OBS(240, "kernel", "cuda.util", "r0", 10), OBS(240, "kernel", "cuda.util", "r1", 12),
      OBS(240, "kernel", "cuda.util", "r2", 8), OBS(240, "kernel", "cuda.util", "r3", 10),
      EVALV(240, 10, 3, NOT, APP),
      OBS(300, "kernel", "cuda.util", "r0", 10), OBS(300, "kernel", "cuda.util", "r1", 10),
      OBS(300, "kernel", "cuda.util", "r2", 10),
      EVAL(300, 3, NOT, COOL),                 /* 300 < 240 + 120 */
      OBS(360, "kernel", "cuda.util", "r0", 5), OBS(360, "kernel", "cuda.util", "r1", 5),
      OBS(360, "kernel", "cuda.util", "r2", 5),
      EVAL(360, 2, NOT, APP),
      OBS(480, "kernel", "cuda.util", "r0", 5), OBS(480, "kernel", "cuda.util", "r1", 5),
      EVAL(480, 2, NOT, BND),                  /* min 2 */
      OBS(540, "kernel", "cuda.util", "r0", 50), OBS(540, "kernel", "cuda.util", "r1", 50),
      EVALV(540, 50, 2, NOT, NOT),
  };
  RUN("gpu", 1, 60, rules, ev);
}

/* A step that crosses a bound moves to the bound instead of being skipped
 * (Backend.AI issue #13848), both ways. */
static void step_crossing_a_bound_is_clamped(void **state) {
  (void)state;
  static const rule_spec rules[] = {
      {"kernel", "cuda.util", MS_CMP_GE, 80, +5, 0, -1, 6, MS_AGG_MAX},
      {"kernel", "cuda.util", MS_CMP_LE, 20, -10, 0, 2, -1, MS_AGG_MAX},
  };
  static const event ev[] = {
      OBS(0, "kernel", "cuda.util", "r0", 80),
      EVALV(0, 80, 6, APP, NOT), /* 3 + 5 = 8 -> max 6 */
      EVAL(1, 6, BND, NOT),
      OBS(2, "kernel", "cuda.util", "r0", 20),
      EVALV(2, 20, 2, NOT, APP), /* 6 - 10 = -4 -> min 2 */
      EVAL(3, 2, NOT, BND),
  };
  RUN("bounds", 3, 60, rules, ev);
}

/* Two up rules firing in one tick never compound: the larger count wins, the
 * other is outvoted and keeps no cooldown, so it can fire on the next tick. */
static void two_up_rules_firing_together(void **state) {
  (void)state;
  static const rule_spec rules[] = {
      {"kernel", "cuda.util", MS_CMP_GT, 80, +1, 60, -1, -1, MS_AGG_MEAN},
      {"proxy", "queue_len", MS_CMP_GT, 10, +3, 60, -1, -1, MS_AGG_MEAN},
      {"kernel", "cuda.mem", MS_CMP_GT, 80, +1, 60, -1, -1, MS_AGG_MEAN}, /* ties with rule 0 */
  };
  static const event ev2[] = {
      OBS(0, "kernel", "cuda.util", "r0", 90), OBS(0, "kernel", "cuda.util", "r1", 90),
      OBS(0, "kernel", "cuda.mem", "r0", 90), OBS(0, "kernel", "cuda.mem", "r1", 90),
      OBS(0, "proxy", "queue_len", NULL, 84), /* 84 / 2 replicas = 42 */
      EVALV(0, 90, 5, OUT, APP, OUT),         /* 2 + 3, not 2 + 1 + 3 + 1 */
      EVAL(10, 6, APP, COOL, OUT),            /* ties: the lowest id wins */
      EVAL(20, 7, COOL, COOL, APP),
      EVAL(30, 7, COOL, COOL, COOL),
      OBS(55, "kernel", "cuda.util", "r0", 90), OBS(55, "kernel", "cuda.mem", "r0", 90),
      OBS(55, "proxy", "queue_len", NULL, 140), /* 140 / 7 = 20 */
      EVAL(60, 10, COOL, APP, COOL),
  };
  RUN("two-up", 2, 60, rules, ev2);
}

/* A metric that disappears mid-run never scales either way, even though its
 * last values would have triggered; it resumes when it comes back. */
static void metric_disappearing_mid_run(void **state) {
  (void)state;
  static const rule_spec rules[] = {
      {"kernel", "cuda.util", MS_CMP_GT, 80, +1, 0, -1, 10, MS_AGG_MEAN},
      {"kernel", "cuda.util", MS_CMP_LT, 20, -1, 0, 1, -1, MS_AGG_MEAN},
  };
  static const event ev[] = {
      OBS(0, "kernel", "cuda.util", "r0", 90), OBS(0, "kernel", "cuda.util", "r1", 90),
      EVAL(0, 3, APP, NOT),
      EVAL(30, 4, APP, NOT),  /* still fresh (TTL 30 s: age 30 is not older) */
      EVAL(31, 4, MIS, MIS),  /* gone: neither up nor down */
      EVAL(90, 4, MIS, MIS),
      OBS(100, "kernel", "cuda.util", "r1", 5), /* one replica reports again */
      EVALV(100, 5, 3, NOT, APP),
      EVAL(131, 3, MIS, MIS),
  };
  RUN("gone", 2, 30, rules, ev);
}

/* An endpoint at zero replicas scales up on an endpoint-wide queue length
 * (divided by max(1, replicas)) and settles when the per-replica load is
 * below the threshold. */
static void scale_up_from_zero_on_queue_length(void **state) {
  (void)state;
  static const rule_spec rules[] = {
      {"proxy", "queue_len", MS_CMP_GT, 5, +1, 0, 0, 8, MS_AGG_MEAN},
      {"proxy", "queue_len", MS_CMP_LT, 1, -1, 0, 0, -1, MS_AGG_MEAN},
  };
  static const event ev[] = {
      EVAL(0, 0, MIS, MIS),                 /* nothing observed yet */
      OBS(1, "proxy", "queue_len", NULL, 12),
      EVALV(1, 12, 1, APP, NOT),            /* 12 / max(1, 0) */
      EVALV(2, 12, 2, APP, NOT),            /* 12 / 1 */
      EVALV(3, 6, 3, APP, NOT),             /* 12 / 2 */
      EVALV(4, 4, 3, NOT, NOT),             /* 12 / 3 */
      OBS(5, "proxy", "queue_len", NULL, 0),
      EVALV(5, 0, 2, NOT, APP),
      EVAL(6, 1, NOT, APP),
      EVAL(7, 0, NOT, APP),
      EVAL(8, 0, NOT, BND),                 /* never below 0 */
      OBS(9, "proxy", "queue_len", NULL, 7),
      EVALV(9, 7, 1, APP, NOT),
  };
  RUN("zero", 0, 60, rules, ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gpu_utilisation_scales_1_to_4_to_2),
      cmocka_unit_test(step_crossing_a_bound_is_clamped),
      cmocka_unit_test(two_up_rules_firing_together),
      cmocka_unit_test(metric_disappearing_mid_run),
      cmocka_unit_test(scale_up_from_zero_on_queue_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
