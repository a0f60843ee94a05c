/* Unit tests: the batcher from several threads on the monotonic clock —
 * ms_batcher_wait (timeouts, sleeping until the delay ends, one waiter woken
 * per due batch), and a stress run of 8 submitting threads, 4 waiting
 * workers, a canceling thread and a polling host (run it under TSan). No
 * assertion depends on how fast anything runs: only on the times the
 * batcher itself records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batcher/batcher_internal.h"
#include "mserve.h"
#include "mserve/batcher.h"
#include "testutil.h"

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

static void wait_times_out_with_nothing_due(void **state) {
  (void)state;
  ms_batcher *b = NULL;
  assert_int_equal(ms_batcher_new(&b), MS_OK);
  assert_int_equal(ms_batcher_set_max_batch(b, 4), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(b, MS_SEC(60)), MS_OK);
  ms_batch *x = (ms_batch *)&x;
  assert_int_equal(ms_batcher_wait(b, 0, &x), MS_ETIMEDOUT);
  assert_null(x);
  assert_non_null(strstr(ms_errmsg(), "batcher: ms_batcher_wait: nothing became due"));
  assert_int_equal(ms_batcher_submit(b, 1, 1, 0, 0, ms_clock_monotonic_us()), MS_OK);
  x = (ms_batch *)&x;
  assert_int_equal(ms_batcher_wait(b, 2000, &x), MS_ETIMEDOUT); /* the delay is a minute */
  assert_null(x);
  assert_int_equal(ms_batcher_submit(b, 2, 3, 0, 0, ms_clock_monotonic_us()), MS_OK);
  assert_int_equal(ms_batcher_wait(b, 0, &x), MS_OK); /* 4 = the max */
  assert_int_equal(ms_batch_count(x), 2);
  ms_batch_free(x);
  ms_batcher_free(b);
}

/* A waiter sleeps until the next deadline, and not less: a timeout, or the
 * delay of the oldest request. (How late it wakes on a loaded machine is
 * not checked, so both requests may time out together.) */
static void wait_sleeps_until_the_next_deadline(void **state) {
  (void)state;
  ms_batcher *b = NULL;
  assert_int_equal(ms_batcher_new(&b), MS_OK);
  assert_int_equal(ms_batcher_set_max_batch(b, 8), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(b, 3000), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, 1500, 1), MS_OK);
  int64_t t = ms_clock_monotonic_us();
  assert_int_equal(ms_batcher_submit(b, 1, 1, 0, 0, t), MS_OK);
  assert_int_equal(ms_batcher_submit(b, 2, 1, 0, 500, t), MS_OK);
  int seen = 0;
  while (seen < 2) {
    ms_batch *x = NULL;
    assert_int_equal(ms_batcher_wait(b, MS_SEC(10), &x), MS_OK);
    assert_int_equal(ms_batch_status(x), MS_ETIMEDOUT); /* both time out before the 3 ms delay */
    for (size_t i = 0; i < ms_batch_count(x); i++) {
      uint64_t id = 0;
      int64_t submitted = 0;
      assert_int_equal(ms_batch_get(x, i, &id, NULL, &submitted), MS_OK);
      assert_int_equal(submitted, t);
      assert_true(ms_batch_formed_us(x) >= t + (id == 2 ? 500 : 1500));
      seen++;
    }
    ms_batch_free(x);
  }
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, 0, 0), MS_OK);
  t = ms_clock_monotonic_us();
  assert_int_equal(ms_batcher_submit(b, 3, 1, 0, 0, t), MS_OK);
  ms_batch *x = NULL;
  assert_int_equal(ms_batcher_wait(b, MS_SEC(10), &x), MS_OK);
  assert_int_equal(ms_batch_status(x), MS_OK);
  assert_true(ms_batch_formed_us(x) >= t + 3000);
  ms_batch_free(x);
  ms_batcher_free(b);
}

typedef struct waiters {
  ms_batcher *b;
  atomic_int returned, batches, closed;
} waiters;

static void *waiter_main(void *arg) {
  waiters *w = arg;
  for (;;) {
    ms_batch *x = NULL;
    int st = ms_batcher_wait(w->b, -1, &x);
    atomic_fetch_add(&w->returned, 1);
    if (st == MS_ECLOSED) {
      atomic_fetch_add(&w->closed, 1);
      return NULL;
    }
    if (st == MS_OK) {
      atomic_fetch_add(&w->batches, 1);
      ms_batch_free(x);
    }
  }
}

static int sleeping(ms_batcher *b) {
  pthread_mutex_lock(&b->mu);
  int n = b->n_sleep_work + b->keeper_sleeping;
  pthread_mutex_unlock(&b->mu);
  return n;
}

static uint64_t wakeups(ms_batcher *b) {
  pthread_mutex_lock(&b->mu);
  uint64_t n = b->wakeups;
  pthread_mutex_unlock(&b->mu);
  return n;
}

/* Four workers wait; a submit that makes a batch due wakes exactly one. */
static void a_due_batch_wakes_one_waiter(void **state) {
  (void)state;
  waiters w;
  memset(&w, 0, sizeof w);
  assert_int_equal(ms_batcher_new(&w.b), MS_OK);
  pthread_t th[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, waiter_main, &w), 0);
  while (sleeping(w.b) < 4) sleep_us(200);
  uint64_t before = wakeups(w.b);
  for (int round = 1; round <= 3; round++) {
    assert_int_equal(ms_batcher_submit(w.b, (uint64_t)round, 1, 0, 0, ms_clock_monotonic_us()), MS_OK);
    while (atomic_load(&w.batches) < round) sleep_us(200);
    while (sleeping(w.b) < 4) sleep_us(200); /* the worker came back */
    assert_int_equal(wakeups(w.b) - before, (uint64_t)round);
  }
  /* one submit that makes two batches due: two workers take one each */
  assert_int_equal(ms_batcher_set_max_batch(w.b, 2), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(w.b, MS_SEC(60)), MS_OK);
  assert_int_equal(ms_batcher_submit(w.b, 10, 1, 0, 0, ms_clock_monotonic_us()), MS_OK);
  sleep_us(2000);
  assert_int_equal(atomic_load(&w.batches), 3); /* 1 of 2 items, a minute's delay: not due */
  assert_int_equal(ms_batcher_submit(w.b, 11, 2, 0, 0, ms_clock_monotonic_us()), MS_OK); /* {10}, {11} */
  while (atomic_load(&w.batches) < 5) sleep_us(200);
  assert_int_equal(ms_batcher_shutdown(w.b), MS_OK);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&w.closed), 4);
  assert_int_equal(atomic_load(&w.batches), 5);
  ms_batcher_free(w.b);
}

/* A waiter sleeping on a long wait learns of a nearer deadline. */
static void a_nearer_deadline_rearms_the_sleeping_waiter(void **state) {
  (void)state;
  waiters w;
  memset(&w, 0, sizeof w);
  assert_int_equal(ms_batcher_new(&w.b), MS_OK);
  assert_int_equal(ms_batcher_set_max_batch(w.b, 8), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(w.b, MS_SEC(3600)), MS_OK);
  pthread_t th[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, waiter_main, &w), 0);
  while (sleeping(w.b) < 2) sleep_us(200);
  int64_t t = ms_clock_monotonic_us();
  assert_int_equal(ms_batcher_submit(w.b, 1, 1, 0, 0, t), MS_OK); /* due in an hour */
  assert_int_equal(ms_batcher_set_max_delay(w.b, 2000), MS_OK);   /* now in 2 ms */
  while (atomic_load(&w.batches) < 1) sleep_us(200);
  assert_int_equal(ms_batcher_shutdown(w.b), MS_OK);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  ms_batcher_free(w.b);
}

/* The sleeping keeper's target (read under the lock): the instant it sleeps
 * until, or -1 while no waiter keeps time; *next: next_deadline. */
static int64_t keeper_target(ms_batcher *b, int64_t *next) {
  pthread_mutex_lock(&b->mu);
  int64_t until = b->keeper_sleeping ? b->keeper_until : -1;
  pthread_mutex_unlock(&b->mu);
  assert_int_equal(ms_batcher_next_deadline(b, next), MS_OK);
  return until;
}

/* Until both waiters sleep again (a bounded wait: a hang fails the test). */
static void until_both_sleep(ms_batcher *b) {
  for (int i = 0; sleeping(b) < 2; i++) {
    if (i > 25000) fail_msg("the waiters did not go back to sleep");
    sleep_us(200);
  }
}

/* A request timeout is part of what the keeper sleeps until: each submit
 * whose deadline is the nearest moves the keeper's target to exactly it,
 * the keeper hands the MS_ETIMEDOUT batch out at (not before) the
 * deadline, and then the waiters still keep time for what is left. */
static void the_keeper_sleeps_until_the_nearest_timeout(void **state) {
  (void)state;
  waiters w;
  memset(&w, 0, sizeof w);
  assert_int_equal(ms_batcher_new(&w.b), MS_OK);
  assert_int_equal(ms_batcher_set_max_batch(w.b, 8), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(w.b, MS_SEC(3600)), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(w.b, 0, MS_TIMEOUT_REJECT, MS_SEC(3600), 1), MS_OK);
  pthread_t th[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, waiter_main, &w), 0);
  until_both_sleep(w.b);
  int64_t next = 0;
  int64_t idle = keeper_target(w.b, &next);
  assert_int_equal(idle, INT64_MAX); /* nothing pending */
  assert_int_equal(next, INT64_MAX);
  assert_int_equal(ms_batcher_submit(w.b, 1, 1, 0, MS_SEC(20), ms_clock_monotonic_us()), MS_OK);
  int64_t until = keeper_target(w.b, &next);
  assert_true(next < INT64_MAX);
  assert_int_equal(until, next); /* request 1's deadline */
  assert_int_equal(ms_batcher_submit(w.b, 2, 1, 0, MS_SEC(10), ms_clock_monotonic_us()), MS_OK);
  int64_t until2 = keeper_target(w.b, &next);
  assert_int_equal(until2, next);
  assert_true(until2 < until); /* request 2's, nearer */
  int64_t t3 = ms_clock_monotonic_us();
  assert_int_equal(ms_batcher_submit(w.b, 3, 1, 0, 3000, t3), MS_OK);
  int64_t until3 = keeper_target(w.b, &next);
  assert_int_equal(until3, next);
  assert_true(next >= t3 + 3000 && next < until2);
  for (int i = 0; atomic_load(&w.batches) < 1; i++) {
    if (i > 25000) fail_msg("no MS_ETIMEDOUT batch");
    sleep_us(200);
  }
  until_both_sleep(w.b);
  int64_t again = keeper_target(w.b, &next);
  assert_int_equal(again, until2); /* one of them keeps time again */
  assert_int_equal(next, until2);
  assert_int_equal(ms_batcher_shutdown(w.b), MS_OK);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&w.batches), 2); /* {3} timed out, then {1, 2} canceled */
  ms_batcher_free(w.b);
}

/* The keeper wakes a little before a deadline and spins out the rest (the
 * margin follows its own wake-up lateness): nothing is ever handed out
 * early, a wait's own timeout never ends early, and the margin stays
 * within its bound. */
static void an_early_wake_up_never_hands_out_early(void **state) {
  (void)state;
  ms_batcher *b = NULL;
  assert_int_equal(ms_batcher_new(&b), MS_OK);
  assert_int_equal(ms_batcher_set_max_batch(b, 8), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(b, MS_SEC(3600)), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, 400, 0), MS_OK);
  for (uint64_t id = 1; id <= 60; id++) {
    int64_t t = ms_clock_monotonic_us();
    assert_int_equal(ms_batcher_submit(b, id, 1, 0, 0, t), MS_OK);
    ms_batch *x = NULL;
    assert_int_equal(ms_batcher_wait(b, MS_SEC(10), &x), MS_OK);
    assert_int_equal(ms_batch_status(x), MS_ETIMEDOUT);
    int64_t submitted = 0;
    assert_int_equal(ms_batch_get(x, 0, NULL, NULL, &submitted), MS_OK);
    assert_true(ms_batch_formed_us(x) >= submitted + 400);
    assert_true(ms_clock_monotonic_us() >= submitted + 400);
    ms_batch_free(x);
    pthread_mutex_lock(&b->mu);
    int64_t margin = b->wake_margin;
    pthread_mutex_unlock(&b->mu);
    assert_true(margin >= 0 && margin <= 100);
  }
  for (int i = 0; i < 5; i++) {
    int64_t t = ms_clock_monotonic_us();
    ms_batch *x = (ms_batch *)&x;
    assert_int_equal(ms_batcher_wait(b, 700, &x), MS_ETIMEDOUT);
    assert_null(x);
    assert_true(ms_clock_monotonic_us() >= t + 700);
  }
  ms_batcher_free(b);
}

/* ---- stress: 8 submitters, 4 waiters, a canceler, a polling host --------- */

#define SUBMITTERS 8
#define WAITERS 4
#define MAX_BATCH 16
#define DELAY_US 1500
#define REJECT_US 2500 /* level 1 */
#define DELAY_TIMEOUT_US 1000 /* level 2: MS_TIMEOUT_DELAY */

typedef struct stress {
  ms_batcher *b;
  int per_thread;
  atomic_uchar *seen; /* per id: 1 accepted, 2 handed back, other: an error */
  unsigned char *level; /* per id */
  atomic_int submitters_left;
  atomic_long progress[SUBMITTERS]; /* requests each submitter has sent */
  atomic_long run_batches, timed_out, canceled, handed, accepted, bad;
  atomic_long drains;
  char why[256];
  pthread_mutex_t why_mu;
} stress;

static stress *S;

static void bad(const char *what, uint64_t id) {
  pthread_mutex_lock(&S->why_mu);
  if (!S->why[0]) snprintf(S->why, sizeof S->why, "%s (request %llu)", what, (unsigned long long)id);
  pthread_mutex_unlock(&S->why_mu);
  atomic_fetch_add(&S->bad, 1);
}

static void account(ms_batch *x) {
  int st = ms_batch_status(x);
  int64_t formed = ms_batch_formed_us(x), items = 0;
  for (size_t i = 0; i < ms_batch_count(x); i++) {
    uint64_t id;
    int64_t n, at;
    if (ms_batch_get(x, i, &id, &n, &at)) bad("ms_batch_get", 0);
    unsigned char want = 1;
    if (!atomic_compare_exchange_strong(&S->seen[id], &want, 2)) bad("handed back twice or never accepted", id);
    items += n;
    if (st == MS_ETIMEDOUT && (S->level[id] != 1 || formed < at + REJECT_US)) bad("timed out early", id);
    if (st == MS_OK && S->level[id] == 1 && formed >= at + REJECT_US) bad("ran after its timeout", id);
  }
  if (items != ms_batch_items(x)) bad("items", 0);
  if (st == MS_OK) {
    if (items > MAX_BATCH) bad("a batch over the max", 0);
    atomic_fetch_add(&S->run_batches, 1);
  } else if (st == MS_ETIMEDOUT) {
    atomic_fetch_add(&S->timed_out, (long)ms_batch_count(x));
  } else if (st == MS_ECANCELED) {
    atomic_fetch_add(&S->canceled, (long)ms_batch_count(x));
  } else {
    bad("status", 0);
  }
  atomic_fetch_add(&S->handed, (long)ms_batch_count(x));
  ms_batch_free(x);
}

static void *submitter_main(void *arg) {
  uint64_t t = (uint64_t)(uintptr_t)arg, r = t * 2654435761u + 7;
  for (int i = 0; i < S->per_thread; i++) {
    r = r * 6364136223846793005u + 1442695040888963407u;
    uint64_t id = t * (uint64_t)S->per_thread + (uint64_t)i;
    int prio = 1 + (int)((r >> 33) % 2);
    int64_t items = 1 + (int64_t)((r >> 40) % 4);
    S->level[id] = (unsigned char)prio;
    atomic_store(&S->seen[id], 1); /* before submit: a waiter may take it at once */
    int st = ms_batcher_submit(S->b, id, items, prio, 0, ms_clock_monotonic_us());
    if (st == MS_OK) atomic_fetch_add(&S->accepted, 1);
    else if (st == MS_EFULL) atomic_store(&S->seen[id], 0);
    else bad("submit failed", id);
    atomic_store(&S->progress[t], i + 1);
    if ((r >> 58) == 0) sleep_us((long)((r >> 20) % 500));
  }
  atomic_fetch_sub(&S->submitters_left, 1);
  return NULL;
}

static void *stress_waiter(void *arg) {
  (void)arg;
  for (;;) {
    ms_batch *x = NULL;
    int st = ms_batcher_wait(S->b, 50000, &x);
    if (st == MS_ECLOSED) return NULL;
    if (st == MS_OK) account(x);
    else if (st != MS_ETIMEDOUT) bad("wait failed", 0);
  }
}

static void *canceler_main(void *arg) {
  (void)arg;
  uint64_t r = 99;
  while (atomic_load(&S->submitters_left) > 0) {
    /* one of the last few requests a submitter sent: often still pending */
    r = r * 6364136223846793005u + 1442695040888963407u;
    uint64_t t = (r >> 33) % SUBMITTERS, back = 1 + (r >> 50) % 4;
    long sent = atomic_load(&S->progress[t]);
    if ((long)back <= sent) {
      int st = ms_batcher_cancel(S->b, t * (uint64_t)S->per_thread + (uint64_t)sent - back);
      if (st != MS_OK && st != MS_ENOTFOUND) bad("cancel failed", 0);
    }
    sleep_us(20);
  }
  return NULL;
}

/* The host: polls every ~300 us until nothing is due; then nobody pending
 * may have waited its delay (the batcher's own times, not a stopwatch). */
static void *host_main(void *arg) {
  (void)arg;
  for (;;) {
    int closed = 0;
    int64_t t = ms_clock_monotonic_us();
    for (;;) {
      ms_batch *x = NULL;
      int st = ms_batcher_poll(S->b, t, &x);
      if (st == MS_ECLOSED) {
        closed = 1;
        break;
      }
      if (st) bad("poll failed", 0);
      if (!x) break;
      account(x);
    }
    if (closed) return NULL;
    int64_t n = 0, wait = 0;
    if (ms_batcher_stats(S->b, t, &n, NULL, &wait)) bad("stats", 0);
    if (n && wait >= DELAY_US) bad("a request waited its delay through a drain", 0);
    atomic_fetch_add(&S->drains, 1);
    sleep_us(300);
  }
}

static void stress_8_submitters_4_waiters(void **state) {
  (void)state;
  S = calloc(1, sizeof *S);
  pthread_mutex_init(&S->why_mu, NULL);
  S->per_thread = ms_test_scale(20000);
  size_t n = (size_t)SUBMITTERS * (size_t)S->per_thread;
  S->seen = calloc(n, sizeof *S->seen);
  S->level = calloc(n, 1);
  atomic_store(&S->submitters_left, SUBMITTERS);
  assert_int_equal(ms_batcher_new(&S->b), MS_OK);
  const int64_t pref[] = {4, 8, MAX_BATCH};
  assert_int_equal(ms_batcher_set_max_batch(S->b, MAX_BATCH), MS_OK);
  assert_int_equal(ms_batcher_set_preferred_sizes(S->b, pref, 3), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(S->b, DELAY_US), MS_OK);
  assert_int_equal(ms_batcher_set_max_queue(S->b, 2000), MS_OK);
  assert_int_equal(ms_batcher_set_priority_levels(S->b, 2, 2), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(S->b, 1, MS_TIMEOUT_REJECT, REJECT_US, 0), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(S->b, 2, MS_TIMEOUT_DELAY, DELAY_TIMEOUT_US, 0), MS_OK);
  int fd = -1;
  assert_int_equal(ms_batcher_fd(S->b, &fd), MS_OK); /* the eventfd is kept in step too */
  pthread_t sub[SUBMITTERS], wt[WAITERS], canceler, host;
  for (int i = 0; i < WAITERS; i++) assert_int_equal(pthread_create(&wt[i], NULL, stress_waiter, NULL), 0);
  assert_int_equal(pthread_create(&host, NULL, host_main, NULL), 0);
  assert_int_equal(pthread_create(&canceler, NULL, canceler_main, NULL), 0);
  for (uintptr_t i = 0; i < SUBMITTERS; i++) assert_int_equal(pthread_create(&sub[i], NULL, submitter_main, (void *)i), 0);
  for (int i = 0; i < SUBMITTERS; i++) pthread_join(sub[i], NULL);
  pthread_join(canceler, NULL);
  assert_int_equal(ms_batcher_shutdown(S->b), MS_OK);
  for (int i = 0; i < WAITERS; i++) pthread_join(wt[i], NULL);
  pthread_join(host, NULL);
  if (atomic_load(&S->bad)) fail_msg("%ld problems; the first: %s", atomic_load(&S->bad), S->why);
  for (size_t id = 0; id < n; id++)
    if (atomic_load(&S->seen[id]) == 1) fail_msg("request %zu was accepted and never handed back", id);
  assert_int_equal(atomic_load(&S->handed), atomic_load(&S->accepted));
  printf("stress: %ld accepted: %ld run batches, %ld timed out, %ld canceled; %ld host drains\n",
         atomic_load(&S->accepted), atomic_load(&S->run_batches), atomic_load(&S->timed_out),
         atomic_load(&S->canceled), atomic_load(&S->drains));
  ms_batcher_free(S->b);
  free(S->seen);
  free(S->level);
  pthread_mutex_destroy(&S->why_mu);
  free(S);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(wait_times_out_with_nothing_due),
      cmocka_unit_test(wait_sleeps_until_the_next_deadline),
      cmocka_unit_test(a_due_batch_wakes_one_waiter),
      cmocka_unit_test(a_nearer_deadline_rearms_the_sleeping_waiter),
      cmocka_unit_test(the_keeper_sleeps_until_the_nearest_timeout),
      cmocka_unit_test(an_early_wake_up_never_hands_out_early),
      cmocka_unit_test(stress_8_submitters_4_waiters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
