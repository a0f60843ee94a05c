/* Unit tests: two hosts evaluating the autoscaler of one PostgreSQL database
 * on the same schedule (every 100 ms for 10 s): one of them evaluates each
 * tick (an advisory lock; the other gets a dry result), each evaluates on
 * the counts and cooldowns the other applied, so no endpoint changes twice in
 * one tick and every cooldown holds across the hosts. PostgreSQL only: a
 * server is started for the run (skipped, saying why, without one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autoscaler_testutil.h"

static ms_test_pg *server;

#define N_EPS 4
#define TICKS 100
#define TICK_US 100000LL
#define COOLDOWN_US 250000LL /* three ticks: a change at most every third tick */
#define T0 MS_SEC(1700000000)

static const char *const eps[N_EPS] = {"ep-a", "ep-b", "ep-c", "ep-d"};

/* One host: its own store and engine, observing the same load and
 * evaluating every tick; the exit status counts failures. */
/* Dry results per host, shared with the parent (mmap'd before the fork). */
static int *dry_results;

/* Does `by` name this process ("libmserve@<host>:<pid> ...")? */
static int names_me(const char *by) {
  char me[32];
  snprintf(me, sizeof me, ":%ld ", (long)getpid());
  return strstr(by, me) != NULL;
}

static int host(const char *uri, int h) {
  ms_store *s = NULL;
  ms_autoscaler *a = NULL;
  if (ms_store_open(uri, 0, &s) || ms_autoscaler_open(s, &a) || ms_autoscaler_set_metric_ttl(a, MS_SEC(3600)))
    return 100;
  int failures = 0;
  for (int k = 0; k < TICKS; k++) {
    int64_t now = T0 + k * TICK_US;
    for (int e = 0; e < N_EPS; e++)
      if (ms_autoscaler_observe(a, eps[e], "k", "load", "r0", 90, now)) failures++;
    ms_decisions *d = NULL;
    int st = ms_autoscaler_evaluate(a, now, 0, &d);
    if (st) {
      fprintf(stderr, "host %d: tick %d: %s\n", (int)getpid(), k, ms_errmsg());
      failures++;
    }
    /* a dry result names the other host, which evaluated the tick (or, when
     * it committed between our refused lock and the look-up of who held it,
     * says that host is gone from the lock since) */
    const char *by = ms_decisions_evaluated_by(d);
    if (by) {
      dry_results[h]++;
      if ((strncmp(by, "libmserve@", 10) != 0 && strncmp(by, "another host", 12) != 0) || names_me(by)) {
        fprintf(stderr, "host %d: tick %d: evaluated by '%s'\n", (int)getpid(), k, by);
        failures++;
      }
    }
    ms_decisions_free(d);
    usleep((useconds_t)TICK_US); /* the schedule, in real time */
  }
  ms_autoscaler_close(a);
  ms_store_close(s);
  return failures > 99 ? 99 : failures;
}

static void two_hosts_change_each_endpoint_once_per_tick(void **state) {
  (void)state;
  char *uri = ms_test_pg_new_db(server, "hosts");
  assert_non_null(uri);
  ms_store *s = NULL;
  ms_autoscaler *a = NULL;
  assert_int_equal(ms_store_open(uri, 0, &s), MS_OK);
  assert_int_equal(ms_autoscaler_open(s, &a), MS_OK);
  for (int e = 0; e < N_EPS; e++) {
    assert_int_equal(ms_autoscaler_set_replicas(a, eps[e], 1), MS_OK);
    fx_add_rule(a, eps[e], (fx_rule){.metric = "load", .cmp = MS_CMP_GT, .threshold = 50, .step = 1,
                                     .cooldown_us = COOLDOWN_US, .bounded = 1, .min = 1, .max = 1000});
  }
  ms_autoscaler_close(a);
  ms_store_close(s);

  dry_results = mmap(NULL, 2 * sizeof *dry_results, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(dry_results != MAP_FAILED);
  dry_results[0] = dry_results[1] = 0;
  pid_t kids[2];
  for (int h = 0; h < 2; h++) {
    kids[h] = fork();
    assert_true(kids[h] >= 0);
    if (kids[h] == 0) _exit(host(uri, h));
  }
  for (int h = 0; h < 2; h++) {
    int ws = 0;
    assert_int_equal(waitpid(kids[h], &ws, 0), kids[h]);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
  }
  /* both evaluate every tick at the same now_us: one of them evaluates it,
   * the other gets a dry result naming it */
  printf("# dry results naming the other host: %d + %d in %d ticks\n", dry_results[0], dry_results[1], TICKS);
  assert_int_equal(dry_results[0] + dry_results[1], TICKS);
  munmap(dry_results, 2 * sizeof *dry_results);

  /* the shared history, read by a third engine */
  assert_int_equal(ms_store_open(uri, 0, &s), MS_OK);
  assert_int_equal(ms_autoscaler_open(s, &a), MS_OK);
  for (int e = 0; e < N_EPS; e++) {
    ms_decisions *h = NULL;
    assert_int_equal(ms_autoscaler_history(a, eps[e], 0, &h), MS_OK);
    size_t n = ms_decisions_count(h);
    /* one evaluator: at most a change every third tick (ticks 0, 3, ..., 99) */
    assert_true(n >= 10);
    assert_true(n <= (TICKS + 2) / 3);
    int64_t prev_at = INT64_MIN, prev_to = 1;
    for (size_t i = 0; i < n; i++) {
      int64_t at = 0, from = 0, to = 0, rule = 0;
      assert_int_equal(ms_decisions_get(h, i, NULL, &at, &from, &to, &rule), MS_OK);
      /* never twice in one tick, every cooldown held, each change from the one before */
      if (prev_at != INT64_MIN) assert_true(at - prev_at >= COOLDOWN_US);
      assert_int_equal(from, prev_to);
      assert_int_equal(to, from + 1);
      prev_at = at;
      prev_to = to;
    }
    int64_t reps = 0;
    assert_int_equal(ms_autoscaler_get_replicas(a, eps[e], &reps), MS_OK);
    assert_int_equal(reps, 1 + (int64_t)n);
    printf("# %s: %zu changes in %d ticks of two hosts\n", eps[e], n, TICKS);
    ms_decisions_free(h);
  }
  ms_autoscaler_close(a);
  ms_store_close(s);
  free(uri);
}

int main(void) {
  char why[512];
  server = ms_test_pg_start(why, sizeof why);
  if (!server) {
    printf("unit_autoscaler_hosts: skipped: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(two_hosts_change_each_endpoint_once_per_tick),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ms_test_pg_stop(server);
  return rc;
}
