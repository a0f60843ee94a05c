/* Unit tests of ms_autoscaler_next_deadline: the earliest instant after now
 * at which time alone changes what an evaluation decides (a cooldown ends,
 * an observation of a watched metric goes stale). A walk through each case
 * with known instants, then random operations checked two ways: against a
 * full scan of the engine's state (white-box), and against what the call
 * promises (a dry run just before the deadline decides as one at now). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/autoscaler_internal.h"
#include "autoscaler_testutil.h"
#include "mserve.h"
#include "mserve/autoscaler.h"
#include "testutil.h"

#define T(s) MS_SEC(s)
#define TTL T(60)

/* When an observation made at `at` is stale under `ttl`. */
static int64_t stale(int64_t at, int64_t ttl) { return at > INT64_MAX - ttl - 1 ? INT64_MAX : at + ttl + 1; }

static int64_t due(ms_autoscaler *a, int64_t now) {
  int64_t at = -7;
  assert_int_equal(ms_autoscaler_next_deadline(a, now, &at), MS_OK);
  return at;
}

#define assert_due(a, now, want)                                                                                     \
  do {                                                                                                               \
    int64_t got_ = due((a), (now)), want_ = (want);                                                                  \
    if (got_ != want_) fail_msg("next deadline at %lld: %lld, want %lld", (long long)(now), (long long)got_,        \
                                (long long)want_);                                                                   \
  } while (0)

static void bad_arguments(void **state) {
  fx *f = *state;
  int64_t at = 5;
  assert_int_equal(ms_autoscaler_next_deadline(NULL, 0, &at), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "autoscaler: ms_autoscaler_next_deadline: NULL autoscaler"));
  assert_int_equal(ms_autoscaler_next_deadline(f->as, 0, NULL), MS_EINVAL);
  assert_int_equal(at, 5);
  assert_due(f->as, 0, INT64_MAX); /* nothing at all */
  assert_due(f->as, INT64_MIN, INT64_MAX);
}

/* Observations: each replica's and the endpoint-wide one, of watched
 * metrics only; out of order, refreshed, after a rule goes and comes back, a
 * TTL change, time going backwards, an endpoint removed. */
static void observations_going_stale(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, TTL), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "s", 2), MS_OK);
  int64_t rule = fx_add_rule(a, "s", (fx_rule){.metric = "u", .cmp = MS_CMP_GT, .threshold = 1000, .step = 1});
  assert_due(a, 0, INT64_MAX); /* a rule, nothing observed */
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "x", "r0", 1, 0), MS_OK);
  assert_due(a, 0, INT64_MAX); /* no rule watches k/x */
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "u", "r0", 1, T(10)), MS_OK);
  assert_due(a, T(10), stale(T(10), TTL));
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "u", "r1", 1, T(20)), MS_OK);
  assert_due(a, T(10), stale(T(10), TTL)); /* the older one goes first */
  assert_due(a, stale(T(10), TTL) - 1, stale(T(10), TTL));
  assert_due(a, stale(T(10), TTL), stale(T(20), TTL)); /* at that instant r0 is stale: the next is r1 */
  /* A new replica reporting an older time: back in time, the index is
   * rebuilt and sees it. */
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "u", "r2", 1, T(5)), MS_OK);
  assert_due(a, T(30), stale(T(5), TTL));
  /* Another, between the two, without going back: it comes first. */
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "u", "r3", 1, T(8)), MS_OK);
  assert_due(a, T(30), stale(T(5), TTL));
  assert_due(a, stale(T(5), TTL), stale(T(8), TTL));
  /* The endpoint-wide value counts like a replica. */
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "u", NULL, 1, T(12)), MS_OK);
  assert_due(a, stale(T(8), TTL), stale(T(10), TTL));
  assert_due(a, stale(T(10), TTL), stale(T(12), TTL));
  assert_due(a, stale(T(12), TTL), stale(T(20), TTL));
  assert_due(a, stale(T(20), TTL), INT64_MAX); /* all stale */
  /* Refreshed: due again. */
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "u", "r1", 1, T(100)), MS_OK);
  assert_due(a, T(100), stale(T(100), TTL));
  /* An older observation of a replica is ignored, and moves nothing. */
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "u", "r1", 1, T(90)), MS_OK);
  assert_due(a, T(100), stale(T(100), TTL));
  /* No rule watches it any more; then one does again. */
  assert_int_equal(ms_autoscaler_remove_rule(a, rule), MS_OK);
  assert_due(a, T(100), INT64_MAX);
  assert_int_equal(ms_autoscaler_observe(a, "s", "k", "u", "r1", 1, T(101)), MS_OK);
  assert_due(a, T(101), INT64_MAX);
  int64_t off = fx_add_rule(a, "s", (fx_rule){.metric = "u", .cmp = MS_CMP_GT, .threshold = 1000, .step = 1,
                                              .disabled = 1});
  assert_due(a, T(101), stale(T(101), TTL)); /* a disabled rule still reports the value */
  /* The TTL moves every instant. */
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, T(10)), MS_OK);
  assert_due(a, T(101), stale(T(101), T(10)));
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, TTL), MS_OK);
  assert_due(a, T(101), stale(T(101), TTL));
  (void)off;
  /* Another endpoint's observation, then the first endpoint removed. */
  assert_int_equal(ms_autoscaler_set_replicas(a, "t", 1), MS_OK);
  fx_add_rule(a, "t", (fx_rule){.metric = "u", .cmp = MS_CMP_GT, .threshold = 1000, .step = 1});
  assert_int_equal(ms_autoscaler_observe(a, "t", "k", "u", "r0", 1, T(150)), MS_OK);
  assert_due(a, T(150), stale(T(101), TTL));
  assert_int_equal(ms_autoscaler_remove_endpoint(a, "s"), MS_OK);
  assert_due(a, T(150), stale(T(150), TTL));
  /* Times at the end of the range: never stale within it. */
  assert_int_equal(ms_autoscaler_observe(a, "t", "k", "u", "r0", 1, INT64_MAX - 5), MS_OK);
  assert_due(a, INT64_MAX - 10, INT64_MAX);
}

/* Cooldowns: the applied rule's only, enabled rules only, persisted. */
static void cooldowns_ending(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  const int64_t ttl = T(1000000);
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, ttl), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "c", 1), MS_OK);
  int64_t up = fx_add_rule(
      a, "c", (fx_rule){.metric = "u", .cmp = MS_CMP_GT, .threshold = 50, .step = 1, .cooldown_us = T(30)});
  int64_t up2 = fx_add_rule(
      a, "c", (fx_rule){.metric = "v", .cmp = MS_CMP_GT, .threshold = 50, .step = 1, .cooldown_us = T(100)});
  fx_add_rule(a, "c", (fx_rule){.metric = "w", .cmp = MS_CMP_GT, .threshold = 50, .step = 1}); /* no cooldown */
  assert_int_equal(ms_autoscaler_observe(a, "c", "k", "u", "r0", 90, 0), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "c", "k", "v", "r0", 90, 0), MS_OK);
  assert_due(a, 0, stale(0, ttl));
  /* up and up2 fire, up (the lower id) applies: only its cooldown starts */
  assert_int_equal(ms_autoscaler_evaluate(a, 0, 0, NULL), MS_OK);
  assert_due(a, 0, T(30));
  assert_int_equal(ms_autoscaler_evaluate(a, T(10), MS_EVAL_DRY_RUN, NULL), MS_OK);
  assert_due(a, T(10), T(30));
  assert_due(a, T(30), stale(0, ttl)); /* at T(30) it is over */
  /* up2 applies at 20 (up is cooling): both run */
  assert_int_equal(ms_autoscaler_evaluate(a, T(20), 0, NULL), MS_OK);
  assert_due(a, T(20), T(30));
  assert_due(a, T(30), T(120));
  /* up applies again at 30: ends at 60, before up2's */
  assert_int_equal(ms_autoscaler_evaluate(a, T(30), 0, NULL), MS_OK);
  assert_due(a, T(30), T(60));
  /* disabled, its cooldown no longer matters; enabled, it does again */
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, up, 0), MS_OK);
  assert_due(a, T(30), T(120));
  assert_int_equal(ms_autoscaler_set_rule_enabled(a, up, 1), MS_OK);
  assert_due(a, T(30), T(60));
  /* the stamps are persisted, the observations are not */
  fx_reopen(f);
  a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, ttl), MS_OK);
  assert_due(a, T(30), T(60));
  assert_int_equal(ms_autoscaler_remove_rule(a, up), MS_OK);
  assert_due(a, T(30), T(120));
  assert_int_equal(ms_autoscaler_remove_rule(a, up2), MS_OK);
  assert_due(a, T(30), INT64_MAX);
  /* a cooldown that ends past the end of time never ends */
  fx_add_rule(a, "c", (fx_rule){.metric = "u", .cmp = MS_CMP_GT, .threshold = 50, .step = 1,
                                .cooldown_us = INT64_MAX});
  assert_int_equal(ms_autoscaler_observe(a, "c", "k", "u", "r0", 90, T(40)), MS_OK);
  assert_int_equal(ms_autoscaler_evaluate(a, T(40), 0, NULL), MS_OK);
  assert_due(a, T(40), stale(T(40), ttl));
  assert_due(a, stale(T(40), ttl), INT64_MAX);
}

/* ---- random operations --------------------------------------------------- */

typedef struct lcg {
  uint64_t s;
} lcg;

static unsigned rnd(lcg *g, unsigned n) {
  g->s = g->s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)((g->s >> 33) % n);
}

#define REPLICA(r) ((r) ? "r1" : "r0")

/* The deadline by a full scan of the engine's state. */
static int64_t scan(const ms_autoscaler *a, int64_t now) {
  const as_model *m = &a->m;
  int64_t best = INT64_MAX;
  for (size_t k = 0; k < m->n_eps; k++) {
    const as_endpoint *ep = m->eps[k];
    for (size_t i = 0; i < ep->n_series; i++) {
      int watched = 0;
      for (size_t j = 0; j < ep->n_rules; j++) watched |= ep->rules[j].series == i;
      if (!watched) continue;
      const as_series *s = &ep->series[i];
      const as_series_cold *c = &ep->series_cold[i];
      if (s->has_wide) {
        int64_t t = stale(s->wide_at, m->ttl_us);
        if (t > now && t < best) best = t;
      }
      for (uint32_t n = 0; n < c->n_slots; n++) {
        if (!c->slots[n].replica) continue;
        int64_t t = stale(c->slots[n].at, m->ttl_us);
        if (t > now && t < best) best = t;
      }
    }
    for (size_t j = 0; j < ep->n_rules; j++) {
      const as_rule *r = &ep->rules[j];
      if (!r->enabled || !r->has_applied) continue;
      if (r->ready_at > now && r->ready_at < best) best = r->ready_at;
    }
  }
  return best;
}

/* Every endpoint's explanation in a dry run at `at`, one per line. */
static char *explain_all(ms_autoscaler *a, int64_t at) {
  ms_decisions *d = NULL;
  assert_int_equal(ms_autoscaler_evaluate(a, at, MS_EVAL_DRY_RUN, &d), MS_OK);
  size_t n = ms_decisions_count(d), len = 0, cap = 1;
  char *out = calloc(1, 1);
  for (size_t i = 0; i < n; i++) {
    size_t need = 0;
    ms_decisions_explain(d, i, NULL, 0, &need);
    if (len + need + 2 > cap) {
      cap = 2 * (len + need + 2);
      out = realloc(out, cap);
      assert_non_null(out);
    }
    assert_int_equal(ms_decisions_explain(d, i, out + len, cap - len, NULL), MS_OK);
    len += need;
    out[len++] = '\n';
    out[len] = '\0';
  }
  ms_decisions_free(d);
  return out;
}

static void random_operations_match_a_full_scan(void **state) {
  fx *f = *state;
  static const char *const EPS[] = {"e0", "e1", "e2", "e3", "e4", "e5"};
  static const char *const METRICS[] = {"u", "v", "w"};
  static const char *const REPLICAS[] = {"r0", "r1", "r2", "r3"};
  static const int64_t COOLDOWNS[] = {0, T(5), T(30)};
  enum { N_EPS = 6 };
  lcg g = {7};
  int64_t now = T(1000), ttl = TTL;
  assert_int_equal(ms_autoscaler_set_metric_ttl(f->as, ttl), MS_OK);
  for (int i = 0; i < N_EPS; i++) assert_int_equal(ms_autoscaler_set_replicas(f->as, EPS[i], 2), MS_OK);
  int ops = ms_test_scale(4000), queries = 0, backwards = 0, cooling = 0;
  for (int op = 0; op < ops; op++) {
    ms_autoscaler *a = f->as;
    const char *ep = EPS[rnd(&g, N_EPS)];
    unsigned kind = rnd(&g, 100);
    if (kind < 40) { /* observe, mostly now, sometimes late or early */
      int64_t at = now - T(rnd(&g, 20)) + T(rnd(&g, 3));
      const char *rep = rnd(&g, 5) ? REPLICAS[rnd(&g, 4)] : NULL;
      int st = ms_autoscaler_observe(a, ep, "k", METRICS[rnd(&g, 3)], rep, (double)rnd(&g, 100), at);
      assert_true(st == MS_OK || st == MS_ENOTFOUND);
    } else if (kind < 50) {
      assert_int_equal(ms_autoscaler_evaluate(a, now, rnd(&g, 4) ? 0 : MS_EVAL_DRY_RUN, NULL), MS_OK);
    } else if (kind < 60) {
      ms_rule *r = fx_rule_new(&(fx_rule){.metric = METRICS[rnd(&g, 3)],
                                          .cmp = rnd(&g, 2) ? MS_CMP_GT : MS_CMP_LT,
                                          .threshold = 10.0 * rnd(&g, 10),
                                          .step = rnd(&g, 2) ? 1 : -1,
                                          .cooldown_us = COOLDOWNS[rnd(&g, 3)],
                                          .disabled = rnd(&g, 8) == 0});
      int st = ms_autoscaler_add_rule(a, ep, r, NULL);
      assert_true(st == MS_OK || st == MS_ECONFLICT || st == MS_ENOTFOUND);
      ms_rule_free(r);
    } else if (kind < 68) {
      int64_t ids[64];
      if (ms_autoscaler_get_replicas(a, ep, &(int64_t){0}) == MS_OK) {
        size_t n = fx_rule_ids(a, ep, ids, 64);
        if (n) {
          int64_t id = ids[rnd(&g, (unsigned)(n < 64 ? n : 64))];
          if (rnd(&g, 3) == 0) {
            assert_int_equal(ms_autoscaler_remove_rule(a, id), MS_OK);
          } else {
            int st = ms_autoscaler_set_rule_enabled(a, id, (int)rnd(&g, 2));
            assert_true(st == MS_OK || st == MS_ECONFLICT);
          }
        }
      }
    } else if (kind < 71) {
      int st = ms_autoscaler_remove_endpoint(a, ep);
      assert_true(st == MS_OK || st == MS_ENOTFOUND);
    } else if (kind < 75) {
      assert_int_equal(ms_autoscaler_set_replicas(a, ep, (int64_t)rnd(&g, 5)), MS_OK);
    } else if (kind < 76) {
      ttl = T(10 + rnd(&g, 60));
      assert_int_equal(ms_autoscaler_set_metric_ttl(a, ttl), MS_OK);
    } else if (kind < 77) {
      fx_reopen(f); /* observations go, stamps stay; the index starts over */
      assert_int_equal(ms_autoscaler_set_metric_ttl(f->as, ttl), MS_OK);
    } else {
      /* the query, checked against the scan and against its promise */
      queries++;
      int64_t got = due(a, now), want = scan(a, now);
      if (got != want)
        fail_msg("op %d: next deadline at %lld is %lld, a full scan says %lld", op, (long long)now, (long long)got,
                 (long long)want);
      cooling += got != INT64_MAX && got - now <= T(30);
      if (rnd(&g, 4) == 0) {
        char *at_now = explain_all(a, now), *before = explain_all(a, got == INT64_MAX ? now + T(100000) : got - 1);
        if (strcmp(at_now, before) != 0)
          fail_msg("op %d: deadline %lld, but a dry run at %lld decides\n%s\nand just before it\n%s", op,
                   (long long)got, (long long)now, at_now, before);
        free(at_now);
        free(before);
      }
    }
    if (rnd(&g, 30) == 0) {
      now -= T(rnd(&g, 60)); /* the host's clock, or a replay, went back */
      backwards++;
    } else {
      now += T(rnd(&g, 4)) + rnd(&g, 3);
    }
  }
  print_message("%d queries (%d due within 30 s), %d steps back in time\n", queries, cooling, backwards);
  assert_true(queries > ops / 5 && backwards > 0 && cooling > queries / 4);
}

/* Many endpoints observed in rounds, each round moving every metric's
 * entry (the index then builds itself again rather than fix each), some
 * rounds only part of them, some replicas late: the answer is always the
 * scan's. */
static void rounds_of_observations(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  enum { N = 1200 };
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, TTL), MS_OK);
  char ep[N][16];
  for (int i = 0; i < N; i++) {
    snprintf(ep[i], sizeof ep[i], "ep-%04d", i);
    assert_int_equal(ms_autoscaler_set_replicas(a, ep[i], 1), MS_OK);
    fx_add_rule(a, ep[i], (fx_rule){.metric = "u", .cmp = MS_CMP_GT, .threshold = 1000, .step = 1});
  }
  lcg g = {3};
  for (int round = 0; round < 12; round++) {
    int64_t now = T(10 * round);
    int every = round % 3 == 2 ? 7 : 1; /* some rounds touch one endpoint in 7 */
    for (int i = 0; i < N; i += every)
      for (int r = 0; r < 2; r++) {
        int64_t at = now - (rnd(&g, 10) == 0 ? T(rnd(&g, 50)) : 0);
        assert_int_equal(ms_autoscaler_observe(a, ep[i], "k", "u", REPLICA(r), 1, at), MS_OK);
      }
    for (int64_t t = now; t < now + T(10); t += T(4)) {
      int64_t got = due(a, t), want = scan(a, t);
      if (got != want) fail_msg("round %d at %lld: %lld, a full scan says %lld", round, (long long)t,
                                (long long)got, (long long)want);
    }
  }
}

/* Observers on four threads while this one asks for the deadline,
 * evaluates and lists (a data race shows under TSan); at the end the answer
 * is the scan's. */
typedef struct obs_arg {
  ms_autoscaler *a;
  int thread, n, failures;
} obs_arg;

static void *observer(void *p) {
  obs_arg *o = p;
  char rep[16];
  snprintf(rep, sizeof rep, "r%d", o->thread);
  for (int k = 0; k < o->n; k++) {
    const char *ep = k % 2 ? "e0" : "e1";
    if (ms_autoscaler_observe(o->a, ep, "k", k % 3 ? "u" : "v", rep, (double)(k % 100), T(k % 50) + o->thread))
      o->failures++;
  }
  return NULL;
}

static void queries_while_others_observe(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, T(30)), MS_OK);
  for (int i = 0; i < 2; i++) {
    const char *ep = i ? "e1" : "e0";
    assert_int_equal(ms_autoscaler_set_replicas(a, ep, 1), MS_OK);
    fx_add_rule(a, ep, (fx_rule){.metric = "u", .cmp = MS_CMP_GT, .threshold = 50, .step = 1,
                                 .cooldown_us = T(7), .bounded = 1, .min = 0, .max = 1000});
    fx_add_rule(a, ep, (fx_rule){.metric = "v", .cmp = MS_CMP_LT, .threshold = 20, .step = -1, .bounded = 1,
                                 .min = 0, .max = 1000});
  }
  enum { THREADS = 4 };
  pthread_t th[THREADS];
  obs_arg args[THREADS];
  for (int t = 0; t < THREADS; t++) {
    args[t] = (obs_arg){a, t, ms_test_scale(20000), 0};
    assert_int_equal(pthread_create(&th[t], NULL, observer, &args[t]), 0);
  }
  for (int k = 0; k < 200; k++) {
    int64_t now = T(k / 4);
    assert_true(due(a, now) > now);
    if (k % 3 == 0) assert_int_equal(ms_autoscaler_evaluate(a, now, 0, NULL), MS_OK);
    if (k % 7 == 0) {
      ms_rule_list *l = NULL;
      assert_int_equal(ms_autoscaler_list_rules(a, "e0", &l), MS_OK);
      assert_int_equal(ms_rule_list_count(l), 2);
      ms_rule_list_free(l);
    }
  }
  for (int t = 0; t < THREADS; t++) {
    pthread_join(th[t], NULL);
    assert_int_equal(args[t].failures, 0);
  }
  for (int64_t now = T(40); now < T(90); now += T(3)) assert_true(due(a, now) == scan(a, now));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(bad_arguments, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(observations_going_stale, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(cooldowns_ending, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(random_operations_match_a_full_scan, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(rounds_of_observations, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(queries_while_others_observe, fx_setup_memory, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
