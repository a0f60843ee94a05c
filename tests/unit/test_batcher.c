/* Unit tests: the batching queue's rules, as timelines on an injected clock,
 * including the scenarios of Triton's own batcher tests (server
 * qa/L0_batcher, qa/L0_model_queue) as oracle cases. Every timeline also
 * checks that ms_batcher_next_deadline is exact: a poll one microsecond
 * before it gets nothing, a poll at it gets the batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher/batcher_internal.h"
#include "mserve.h"
#include "mserve/batcher.h"

#define T0 INT64_C(1000000000) /* an arbitrary monotonic origin */
#define MS(x) ((int64_t)(x) * 1000)
#define IDS(...) (const uint64_t[]){__VA_ARGS__}, sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)

static ms_batcher *mk(int64_t max, int64_t delay, const int64_t *pref, size_t n_pref) {
  ms_batcher *b = NULL;
  assert_int_equal(ms_batcher_new(&b), MS_OK);
  assert_int_equal(ms_batcher_set_max_batch(b, max), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(b, delay), MS_OK);
  if (n_pref) assert_int_equal(ms_batcher_set_preferred_sizes(b, pref, n_pref), MS_OK);
  return b;
}

static void sub(ms_batcher *b, uint64_t id, int64_t items, int prio, int64_t timeout, int64_t t) {
  int st = ms_batcher_submit(b, id, items, prio, timeout, t);
  if (st) fail_msg("submit %llu: %s %s", (unsigned long long)id, ms_status_name(st), ms_errmsg());
}

static ms_batch *poll_at(ms_batcher *b, int64_t t) {
  ms_batch *x = (ms_batch *)1;
  int st = ms_batcher_poll(b, t, &x);
  if (st) fail_msg("poll: %s %s", ms_status_name(st), ms_errmsg());
  return x;
}

static void expect_none(ms_batcher *b, int64_t t) {
  ms_batch *x = poll_at(b, t);
  if (x) {
    uint64_t id = 0;
    ms_batch_get(x, 0, &id, NULL, NULL);
    fail_msg("expected no batch at %lld, got %zu requests (first %llu, status %s)", (long long)(t - T0),
             ms_batch_count(x), (unsigned long long)id, ms_status_name(ms_batch_status(x)));
  }
}

static void check_batch(ms_batch *x, int status, const uint64_t *ids, size_t n) {
  if (!x) fail_msg("expected a batch of %zu (first %llu), got none", n, (unsigned long long)ids[0]);
  assert_int_equal(ms_batch_status(x), status);
  if (ms_batch_count(x) != n) {
    uint64_t id = 0;
    ms_batch_get(x, 0, &id, NULL, NULL);
    fail_msg("expected %zu requests (first %llu), got %zu (first %llu)", n, (unsigned long long)ids[0],
             ms_batch_count(x), (unsigned long long)id);
  }
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t id = 0;
    int64_t items = 0;
    assert_int_equal(ms_batch_get(x, i, &id, &items, NULL), MS_OK);
    if (id != ids[i]) fail_msg("request %zu: expected id %llu, got %llu", i, (unsigned long long)ids[i], (unsigned long long)id);
    sum += items;
  }
  assert_int_equal(ms_batch_items(x), sum);
}

static void expect_batch(ms_batcher *b, int64_t t, int status, const uint64_t *ids, size_t n) {
  ms_batch *x = poll_at(b, t);
  check_batch(x, status, ids, n);
  assert_int_equal(ms_batch_formed_us(x), t);
  ms_batch_free(x);
}

static int64_t next_of(ms_batcher *b) {
  int64_t d = 0;
  assert_int_equal(ms_batcher_next_deadline(b, &d), MS_OK);
  return d;
}

/* next_deadline is exactly t; nothing at t-1; the batch at t. */
static void expect_due_at(ms_batcher *b, int64_t t, int status, const uint64_t *ids, size_t n) {
  int64_t d = next_of(b);
  if (d != t) fail_msg("next deadline: expected +%lld us, got +%lld us", (long long)(t - T0), (long long)(d - T0));
  expect_none(b, t - 1);
  assert_int_equal(next_of(b), t);
  expect_batch(b, t, status, ids, n);
}

/* Something is due as of the batcher's now: the deadline is not later. */
static void expect_due_now(ms_batcher *b, int64_t t) { assert_true(next_of(b) <= t); }

static int fd_readable(ms_batcher *b) {
  int fd = -1;
  assert_int_equal(ms_batcher_fd(b, &fd), MS_OK);
  struct pollfd p = {fd, POLLIN, 0};
  int r = poll(&p, 1, 0);
  assert_true(r >= 0);
  return r == 1 && (p.revents & POLLIN);
}

static void expect_empty(ms_batcher *b) {
  int64_t n = -1, items = -1, wait = -1;
  assert_int_equal(ms_batcher_stats(b, T0, &n, &items, &wait), MS_OK);
  assert_int_equal(n, 0);
  assert_int_equal(items, 0);
  assert_int_equal(next_of(b), INT64_MAX);
}

/* ---- defaults and arguments ----------------------------------------------- */

static void defaults_send_each_request_alone_at_once(void **state) {
  (void)state;
  ms_batcher *b = NULL;
  assert_int_equal(ms_batcher_new(&b), MS_OK);
  sub(b, 1, 1, 0, 0, T0);
  sub(b, 2, 1, 0, 0, T0);
  expect_due_now(b, T0);
  expect_batch(b, T0, MS_OK, IDS(1));
  expect_batch(b, T0, MS_OK, IDS(2));
  expect_none(b, T0);
  expect_empty(b);
  ms_batcher_free(b);
}

static void bad_arguments_are_refused_and_change_nothing(void **state) {
  (void)state;
  ms_batcher *b = mk(8, MS(10), NULL, 0);
  assert_int_equal(ms_batcher_new(NULL), MS_EINVAL);
  assert_int_equal(ms_batcher_submit(NULL, 1, 1, 0, 0, T0), MS_EINVAL);
  assert_int_equal(ms_batcher_submit(b, 1, 0, 0, 0, T0), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "batcher: ms_batcher_submit: request 1: 0 items"));
  assert_int_equal(ms_batcher_submit(b, 1, 9, 0, 0, T0), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "1..8"));
  assert_int_equal(ms_batcher_submit(b, 1, 1, 2, 0, T0), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "priority 2"));
  assert_int_equal(ms_batcher_submit(b, 1, 1, -1, 0, T0), MS_EINVAL);
  assert_int_equal(ms_batcher_submit(b, 1, 1, 0, -5, T0), MS_EINVAL);
  assert_int_equal(ms_batcher_set_max_batch(b, 0), MS_EINVAL);
  assert_int_equal(ms_batcher_set_max_batch(b, (int64_t)MS_BATCHER_MAX_ITEMS + 1), MS_EINVAL);
  assert_int_equal(ms_batcher_set_max_delay(b, -1), MS_EINVAL);
  assert_int_equal(ms_batcher_set_max_queue(b, -1), MS_EINVAL);
  const int64_t out_of_range[] = {2, 9}, zero[] = {0, 2}, dup[] = {4, 2, 4};
  assert_int_equal(ms_batcher_set_preferred_sizes(b, out_of_range, 2), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "size 9 is out of range (1..8"));
  assert_int_equal(ms_batcher_set_preferred_sizes(b, zero, 2), MS_EINVAL);
  assert_int_equal(ms_batcher_set_preferred_sizes(b, dup, 3), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "size 4 is given twice"));
  assert_int_equal(ms_batcher_set_preferred_sizes(b, NULL, 1), MS_EINVAL);
  int64_t many[MS_BATCHER_MAX_PREFERRED + 1];
  for (int i = 0; i <= MS_BATCHER_MAX_PREFERRED; i++) many[i] = i + 1;
  assert_int_equal(ms_batcher_set_preferred_sizes(b, many, MS_BATCHER_MAX_PREFERRED + 1), MS_EINVAL);
  assert_int_equal(ms_batcher_set_priority_levels(b, 0, 1), MS_EINVAL);
  assert_int_equal(ms_batcher_set_priority_levels(b, MS_BATCHER_MAX_LEVELS + 1, 1), MS_EINVAL);
  assert_int_equal(ms_batcher_set_priority_levels(b, 2, 3), MS_EINVAL);
  assert_int_equal(ms_batcher_set_queue_policy(b, 2, MS_TIMEOUT_REJECT, 0, 0), MS_EINVAL);
  assert_int_equal(ms_batcher_set_queue_policy(b, -1, MS_TIMEOUT_REJECT, 0, 0), MS_EINVAL);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, (ms_timeout_action)7, 0, 0), MS_EINVAL);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, -1, 0), MS_EINVAL);
  assert_int_equal(ms_batcher_configure(b, NULL), MS_EINVAL);
  ms_batch *x = (ms_batch *)&x;
  int64_t d = 7;
  int fd = 7;
  assert_int_equal(ms_batcher_poll(NULL, T0, &x), MS_EINVAL);
  assert_int_equal(ms_batcher_poll(b, T0, NULL), MS_EINVAL);
  assert_int_equal(ms_batcher_wait(b, -2, &x), MS_EINVAL);
  assert_int_equal(ms_batcher_wait(NULL, 0, &x), MS_EINVAL);
  assert_ptr_equal(x, (ms_batch *)&x);
  assert_int_equal(ms_batcher_next_deadline(NULL, &d), MS_EINVAL);
  assert_int_equal(ms_batcher_next_deadline(b, NULL), MS_EINVAL);
  assert_int_equal(ms_batcher_fd(NULL, &fd), MS_EINVAL);
  assert_int_equal(ms_batcher_fd(b, NULL), MS_EINVAL);
  assert_int_equal(ms_batcher_cancel(NULL, 1), MS_EINVAL);
  assert_int_equal(ms_batcher_shutdown(NULL), MS_EINVAL);
  assert_int_equal(ms_batcher_stats(NULL, T0, NULL, NULL, NULL), MS_EINVAL);
  assert_int_equal(d, 7);
  assert_int_equal(fd, 7);
  expect_empty(b);
  /* the settings did not change: max 8, delay 10 ms */
  sub(b, 1, 8, 0, 0, T0);
  expect_batch(b, T0, MS_OK, IDS(1));
  sub(b, 2, 3, 0, 0, T0);
  expect_due_at(b, T0 + MS(10), MS_OK, IDS(2));
  /* a duplicate pending id */
  sub(b, 3, 1, 0, 0, T0 + MS(20));
  assert_int_equal(ms_batcher_submit(b, 3, 1, 0, 0, T0 + MS(20)), MS_EEXIST);
  assert_non_null(strstr(ms_errmsg(), "batcher: ms_batcher_submit: request 3 is held already"));
  int64_t n = 0;
  assert_int_equal(ms_batcher_stats(b, T0, &n, NULL, NULL), MS_OK);
  assert_int_equal(n, 1);
  ms_batcher_free(b);
  ms_batcher_free(NULL);
}

static void batch_accessors_check_their_arguments(void **state) {
  (void)state;
  assert_int_equal(ms_batch_status(NULL), MS_EINVAL);
  assert_int_equal(ms_batch_count(NULL), 0);
  assert_int_equal(ms_batch_items(NULL), 0);
  assert_int_equal(ms_batch_formed_us(NULL), 0);
  assert_int_equal(ms_batch_get(NULL, 0, NULL, NULL, NULL), MS_EINVAL);
  ms_batch_free(NULL);
  ms_batcher *b = mk(4, 0, NULL, 0);
  sub(b, 11, 3, 0, 0, T0 + 5);
  ms_batch *x = poll_at(b, T0 + 7);
  check_batch(x, MS_OK, IDS(11));
  uint64_t id = 0;
  int64_t items = 0, at = 0;
  assert_int_equal(ms_batch_get(x, 0, &id, &items, &at), MS_OK);
  assert_int_equal(items, 3);
  assert_int_equal(at, T0 + 5);
  assert_int_equal(ms_batch_get(x, 0, NULL, NULL, NULL), MS_OK);
  assert_int_equal(ms_batch_get(x, 1, &id, &items, &at), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "batcher: ms_batch_get: index 1 is out of range"));
  assert_int_equal(id, 11);
  ms_batch_free(x);
  ms_batcher_free(b);
}

/* ---- Triton qa/L0_batcher: preferred [2, 6], max 8, a long delay ---------- */

static const int64_t pref26[] = {2, 6};
#define LONG MS(10000)

static void l0_batcher_preferred_2_6(void **state) {
  (void)state;
  ms_batcher *b = mk(8, LONG, pref26, 2);
  int64_t t = T0;
  /* a 2 goes at once */
  sub(b, 1, 2, 0, 0, t);
  expect_due_now(b, t);
  expect_batch(b, t, MS_OK, IDS(1));
  /* a 6 goes at once */
  sub(b, 2, 6, 0, 0, t);
  expect_batch(b, t, MS_OK, IDS(2));
  /* a 1 alone waits the delay */
  sub(b, 3, 1, 0, 0, t);
  expect_due_at(b, t + LONG, MS_OK, IDS(3));
  t += LONG;
  /* a 3 waits (it can still reach 6) */
  sub(b, 4, 3, 0, 0, t);
  expect_none(b, t);
  expect_due_at(b, t + LONG, MS_OK, IDS(4));
  t += LONG;
  /* a 7 goes at once: past the largest preferred size, nothing ahead */
  sub(b, 5, 7, 0, 0, t);
  expect_batch(b, t, MS_OK, IDS(5));
  /* 1 then 3 form 4 at the delay of the first */
  sub(b, 6, 1, 0, 0, t);
  sub(b, 7, 3, 0, 0, t + MS(5));
  expect_none(b, t + MS(5));
  expect_due_at(b, t + LONG, MS_OK, IDS(6, 7));
  t += LONG;
  /* 6 x 1 arriving together -> one batch of 6 */
  for (uint64_t i = 0; i < 6; i++) sub(b, 10 + i, 1, 0, 0, t);
  expect_batch(b, t, MS_OK, IDS(10, 11, 12, 13, 14, 15));
  /* 3 x 1 arriving together -> a 2 at once and the 1 after the delay */
  t += MS(1);
  for (uint64_t i = 0; i < 3; i++) sub(b, 20 + i, 1, 0, 0, t);
  expect_batch(b, t, MS_OK, IDS(20, 21));
  expect_none(b, t);
  expect_due_at(b, t + LONG, MS_OK, IDS(22));
  expect_empty(b);
  ms_batcher_free(b);
}

/* The largest preferred total wins when several are hit, unless the delay expired. */
static void largest_preferred_total_wins(void **state) {
  (void)state;
  ms_batcher *b = mk(8, LONG, pref26, 2);
  for (uint64_t i = 1; i <= 7; i++) sub(b, i, 1, 0, 0, T0);
  expect_batch(b, T0, MS_OK, IDS(1, 2, 3, 4, 5, 6)); /* 2 and 6 hit; 6 wins */
  expect_due_at(b, T0 + LONG, MS_OK, IDS(7));
  /* With the delay expired, everything that fits the max goes. */
  for (uint64_t i = 11; i <= 19; i++) sub(b, i, 1, 0, 0, T0 + LONG);
  expect_batch(b, T0 + 2 * LONG, MS_OK, IDS(11, 12, 13, 14, 15, 16, 17, 18));
  expect_batch(b, T0 + 2 * LONG, MS_OK, IDS(19));
  ms_batcher_free(b);
}

/* Rule 2 sends what is ahead of a request that would pass the largest
 * preferred size; with the delay expired the batch grows to the max. */
static void passing_the_largest_preferred_size(void **state) {
  (void)state;
  ms_batcher *b = mk(8, LONG, pref26, 2);
  sub(b, 1, 1, 0, 0, T0);
  sub(b, 2, 3, 0, 0, T0);
  expect_none(b, T0);
  sub(b, 3, 3, 0, 0, T0 + 1); /* 1 + 3 + 3 = 7 > 6 */
  expect_batch(b, T0 + 1, MS_OK, IDS(1, 2));
  expect_due_at(b, T0 + 1 + LONG, MS_OK, IDS(3));
  ms_batcher_free(b);
  /* the same queue once the delay expired: the batch grows to the max */
  b = mk(8, LONG, pref26, 2);
  sub(b, 4, 1, 0, 0, T0);
  sub(b, 5, 3, 0, 0, T0);
  sub(b, 6, 3, 0, 0, T0 + LONG); /* as of this submit the delay of 4 expired */
  expect_due_now(b, T0 + LONG);
  expect_batch(b, T0 + LONG, MS_OK, IDS(4, 5, 6)); /* 7 items: past 6, within 8 */
  /* and then the preferred sizes count again */
  sub(b, 7, 3, 0, 0, T0 + LONG);
  sub(b, 8, 3, 0, 0, T0 + LONG);
  sub(b, 9, 1, 0, 0, T0 + LONG);
  expect_batch(b, T0 + LONG, MS_OK, IDS(7, 8)); /* 3 + 3 = 6 is preferred */
  expect_due_at(b, T0 + 2 * LONG, MS_OK, IDS(9));
  ms_batcher_free(b);
}

/* ---- Triton qa/L0_batcher: preferred [4, 6], max delay 0 ------------------ */

static void l0_batcher_preferred_4_6_no_delay(void **state) {
  (void)state;
  const int64_t pref[] = {4, 6};
  ms_batcher *b = mk(8, 0, pref, 2);
  for (uint64_t i = 1; i <= 4; i++) sub(b, i, 1, 0, 0, T0);
  expect_batch(b, T0, MS_OK, IDS(1, 2, 3, 4));
  expect_none(b, T0);
  for (uint64_t i = 11; i <= 15; i++) sub(b, i, 1, 0, 0, T0);
  expect_batch(b, T0, MS_OK, IDS(11, 12, 13, 14));
  expect_batch(b, T0, MS_OK, IDS(15));
  for (uint64_t i = 21; i <= 27; i++) sub(b, i, 1, 0, 0, T0);
  expect_batch(b, T0, MS_OK, IDS(21, 22, 23, 24, 25, 26));
  expect_batch(b, T0, MS_OK, IDS(27));
  expect_empty(b);
  ms_batcher_free(b);
}

/* ---- Triton qa/L0_model_queue ---------------------------------------------- */

static const int64_t pref48[] = {4, 8};

/* max_queue_size 8, a busy model (the host does not poll), 10 more requests:
 * exactly 2 are refused at once, with the limit in the message. */
static void l0_model_queue_max_queue_size(void **state) {
  (void)state;
  ms_batcher *b = mk(32, 0, pref48, 2);
  assert_int_equal(ms_batcher_set_max_queue(b, 8), MS_OK);
  sub(b, 100, 8, 0, 0, T0);
  ms_batch *running = poll_at(b, T0); /* the model is busy with it */
  check_batch(running, MS_OK, IDS(100));
  int full = 0;
  for (uint64_t i = 1; i <= 10; i++) {
    int st = ms_batcher_submit(b, i, 1, 0, 0, T0 + MS(500));
    if (st == MS_EFULL) {
      full++;
      assert_non_null(strstr(ms_errmsg(), "max_queue 8"));
    } else {
      assert_int_equal(st, MS_OK);
    }
  }
  assert_int_equal(full, 2);
  ms_batch_free(running);
  expect_batch(b, T0 + MS(1000), MS_OK, IDS(1, 2, 3, 4, 5, 6, 7, 8));
  sub(b, 9, 1, 0, 0, T0 + MS(1000)); /* room again */
  ms_batcher_free(b);
}

/* timeout_action REJECT, default 100 ms; 1 request, then 2 + 2 after 200 ms:
 * the first is answered "timed out", the other two run together at once. */
static void l0_model_queue_policy_reject(void **state) {
  (void)state;
  ms_batcher *b = mk(32, MS(10000), pref48, 2);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(100), 0), MS_OK);
  sub(b, 1, 1, 0, 0, T0);
  /* promptly, with no worker taking batches: at the deadline, not at the next execution */
  expect_due_at(b, T0 + MS(100), MS_ETIMEDOUT, IDS(1));
  sub(b, 2, 2, 0, 0, T0 + MS(200));
  sub(b, 3, 2, 0, 0, T0 + MS(200));
  expect_batch(b, T0 + MS(200), MS_OK, IDS(2, 3));
  /* a host that did not poll at the deadline: the next submit makes the
   * timed-out request due (fd readable), and it comes before the run batch */
  sub(b, 4, 1, 0, 0, T0 + MS(300));
  assert_false(fd_readable(b));
  sub(b, 5, 2, 0, 0, T0 + MS(500));
  assert_true(fd_readable(b));
  sub(b, 6, 2, 0, 0, T0 + MS(500));
  expect_batch(b, T0 + MS(500), MS_ETIMEDOUT, IDS(4));
  expect_batch(b, T0 + MS(500), MS_OK, IDS(5, 6));
  assert_false(fd_readable(b));
  ms_batcher_free(b);
}

/* timeout_action DELAY, default 100 ms: the timed-out request moves behind the
 * later ones, which run at once; it still runs, at its own delay's end. */
static void l0_model_queue_policy_delay(void **state) {
  (void)state;
  ms_batcher *b = mk(32, MS(10000), pref48, 2);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_DELAY, MS(100), 0), MS_OK);
  sub(b, 1, 1, 0, 0, T0);
  sub(b, 2, 2, 0, 0, T0 + MS(200));
  sub(b, 3, 2, 0, 0, T0 + MS(200));
  expect_batch(b, T0 + MS(200), MS_OK, IDS(2, 3));
  expect_due_at(b, T0 + MS(10000), MS_OK, IDS(1));
  ms_batcher_free(b);
}

/* allow_timeout_override, default 1 s: a 100 ms override is rejected early;
 * a 10 s override cannot lengthen the default; no override: the default. */
static void l0_model_queue_timeout_override(void **state) {
  (void)state;
  ms_batcher *b = mk(32, MS(10000), pref48, 2);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(1000), 1), MS_OK);
  sub(b, 1, 1, 0, MS(100), T0);
  expect_due_at(b, T0 + MS(100), MS_ETIMEDOUT, IDS(1));
  sub(b, 2, 2, 0, 0, T0 + MS(200));
  sub(b, 3, 2, 0, 0, T0 + MS(200));
  expect_batch(b, T0 + MS(200), MS_OK, IDS(2, 3));

  int64_t t = T0 + MS(20000);
  sub(b, 11, 1, 0, MS(10000), t); /* longer than the default: ignored */
  sub(b, 12, 2, 0, 0, t + MS(200));
  sub(b, 13, 2, 0, 0, t + MS(200)); /* 1+2+2: no preferred size */
  expect_due_at(b, t + MS(1000), MS_ETIMEDOUT, IDS(11));
  expect_batch(b, t + MS(1000), MS_OK, IDS(12, 13)); /* 2+2 = 4 once 11 is gone */

  t += MS(20000);
  sub(b, 21, 1, 0, 0, t);
  sub(b, 22, 2, 0, 0, t + MS(200));
  sub(b, 23, 2, 0, 0, t + MS(200));
  expect_due_at(b, t + MS(1000), MS_ETIMEDOUT, IDS(21));
  expect_batch(b, t + MS(1000), MS_OK, IDS(22, 23));
  ms_batcher_free(b);

  /* overrides not allowed: the request's own timeout is ignored */
  b = mk(32, MS(10000), pref48, 2);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(1000), 0), MS_OK);
  sub(b, 1, 1, 0, MS(100), T0);
  expect_due_at(b, T0 + MS(1000), MS_ETIMEDOUT, IDS(1));
  /* no default timeout, overrides allowed: any override is shorter than none */
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, 0, 1), MS_OK);
  sub(b, 2, 1, 0, MS(50), T0 + MS(2000));
  sub(b, 3, 1, 0, 0, T0 + MS(2000));
  expect_due_at(b, T0 + MS(2050), MS_ETIMEDOUT, IDS(2));
  expect_due_at(b, T0 + MS(12000), MS_OK, IDS(3));
  ms_batcher_free(b);
}

/* priority_levels 2, default 2: a later level-1 request jumps ahead and
 * forms a preferred batch with the first request. */
static void l0_model_queue_priority_levels(void **state) {
  (void)state;
  ms_batcher *b = mk(32, MS(10000), pref48, 2);
  assert_int_equal(ms_batcher_set_priority_levels(b, 2, 2), MS_OK);
  sub(b, 1, 2, 0, 0, T0);
  sub(b, 2, 1, 0, 0, T0 + MS(100));
  sub(b, 3, 2, 1, 0, T0 + MS(300));
  expect_batch(b, T0 + MS(300), MS_OK, IDS(3, 1));
  expect_due_at(b, T0 + MS(10100), MS_OK, IDS(2));
  ms_batcher_free(b);
}

/* Two levels, two policies: level 1 DELAY, level 2 REJECT, both 11 s with
 * overrides; preferred [4, 8, 32]. Requests 200 ms apart:
 *   level 1: 2 (default), 1 (1 s), 2 (default)
 *   level 2: 2 (2 s), 3 (default), 6 (default)
 * The 1 s request times out at 1.2 s and moves behind its level, so the two
 * 2s of level 1 form a 4 at 1.2 s; the 2 s request of level 2 is rejected at
 * 2.6 s, so the delayed 1 and the 3 form a 4 then; the 6 waits the delay. */
static void l0_model_queue_priority_with_policy(void **state) {
  (void)state;
  const int64_t pref[] = {4, 8, 32};
  ms_batcher *b = mk(32, MS(10000), pref, 3);
  assert_int_equal(ms_batcher_set_priority_levels(b, 2, 2), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(b, 1, MS_TIMEOUT_DELAY, MS(11000), 1), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(b, 2, MS_TIMEOUT_REJECT, MS(11000), 1), MS_OK);
  sub(b, 1, 2, 1, 0, T0);
  sub(b, 2, 1, 1, MS(1000), T0 + MS(200));
  sub(b, 3, 2, 1, 0, T0 + MS(400));
  sub(b, 4, 2, 2, MS(2000), T0 + MS(600));
  sub(b, 5, 3, 2, 0, T0 + MS(800));
  sub(b, 6, 6, 2, 0, T0 + MS(1000));
  expect_none(b, T0 + MS(1000));
  /* next_deadline foresees that the DELAY timeout makes a batch due */
  expect_due_at(b, T0 + MS(1200), MS_OK, IDS(1, 3));
  expect_due_at(b, T0 + MS(2600), MS_ETIMEDOUT, IDS(4));
  expect_batch(b, T0 + MS(2600), MS_OK, IDS(2, 5));
  expect_due_at(b, T0 + MS(11000), MS_OK, IDS(6));
  expect_empty(b);
  ms_batcher_free(b);
}

/* ---- delay, timeouts, next_deadline --------------------------------------- */

/* The delay is measured per request from its own submit, not from a first
 * dequeue: a request that arrives late does not restart anybody's clock. */
static void delay_is_measured_from_each_submit(void **state) {
  (void)state;
  ms_batcher *b = mk(4, MS(10), NULL, 0);
  sub(b, 1, 1, 0, 0, T0);
  sub(b, 2, 1, 0, 0, T0 + MS(9));
  expect_due_at(b, T0 + MS(10), MS_OK, IDS(1, 2));
  sub(b, 3, 1, 0, 0, T0 + MS(15));
  expect_due_at(b, T0 + MS(25), MS_OK, IDS(3));
  ms_batcher_free(b);
}

/* A timed-out batch holds every expired request, from every level, before any
 * run batch; DELAY requests of another level keep running. */
static void timed_out_requests_come_back_together(void **state) {
  (void)state;
  ms_batcher *b = mk(8, MS(50), NULL, 0);
  assert_int_equal(ms_batcher_set_priority_levels(b, 3, 1), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(20), 1), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(b, 3, MS_TIMEOUT_DELAY, MS(20), 1), MS_OK);
  sub(b, 1, 1, 1, 0, T0);
  sub(b, 2, 1, 2, MS(5), T0 + MS(1));
  sub(b, 3, 1, 3, 0, T0 + MS(2));
  sub(b, 4, 1, 2, 0, T0 + MS(3));
  expect_due_at(b, T0 + MS(6), MS_ETIMEDOUT, IDS(2));
  ms_batch *x = poll_at(b, T0 + MS(40)); /* late: 1 and 4 expired; 3 was delayed */
  check_batch(x, MS_ETIMEDOUT, IDS(1, 4));
  ms_batch_free(x);
  expect_batch(b, T0 + MS(52), MS_OK, IDS(3));
  ms_batcher_free(b);
}

/* A poll at exactly a request's deadline finds it expired (now >= deadline). */
static void a_deadline_is_inclusive(void **state) {
  (void)state;
  ms_batcher *b = mk(4, MS(100), NULL, 0);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, 7, 0), MS_OK);
  sub(b, 1, 1, 0, 0, T0);
  expect_none(b, T0 + 6);
  expect_batch(b, T0 + 7, MS_ETIMEDOUT, IDS(1));
  ms_batcher_free(b);
}

/* Time never goes backwards: an earlier now_us is the batcher's now. */
static void time_never_goes_backwards(void **state) {
  (void)state;
  ms_batcher *b = mk(4, MS(10), NULL, 0);
  sub(b, 1, 1, 0, 0, T0 + MS(5));
  sub(b, 2, 1, 0, 0, T0); /* taken as T0 + 5 ms */
  expect_none(b, T0);
  ms_batch *x = poll_at(b, T0 + MS(15));
  check_batch(x, MS_OK, IDS(1, 2));
  int64_t at = 0;
  assert_int_equal(ms_batch_get(x, 1, NULL, NULL, &at), MS_OK);
  assert_int_equal(at, T0 + MS(5));
  ms_batch_free(x);
  ms_batcher_free(b);
}

/* Huge timeouts and delays saturate instead of overflowing. */
static void huge_values_do_not_overflow(void **state) {
  (void)state;
  ms_batcher *b = mk(4, INT64_MAX, NULL, 0);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, INT64_MAX, 1), MS_OK);
  sub(b, 1, 1, 0, INT64_MAX - 1, T0);
  assert_int_equal(next_of(b), INT64_MAX);
  expect_none(b, INT64_MAX - 1);
  int64_t n = 0, wait = 0;
  assert_int_equal(ms_batcher_stats(b, INT64_MAX, &n, NULL, &wait), MS_OK);
  assert_int_equal(n, 1);
  assert_true(wait > 0);
  ms_batcher_free(b);
  b = mk(4, MS(1), NULL, 0);
  sub(b, 1, 1, 0, 0, INT64_MIN);
  sub(b, 2, 1, 0, 0, INT64_MIN + 1);
  assert_int_equal(ms_batcher_stats(b, INT64_MAX, &n, NULL, &wait), MS_OK);
  assert_int_equal(wait, INT64_MAX);
  expect_due_at(b, INT64_MIN + MS(1), MS_OK, IDS(1, 2));
  ms_batcher_free(b);
}

/* ---- fd ---------------------------------------------------------------------- */

static void fd_is_readable_exactly_while_something_is_due(void **state) {
  (void)state;
  ms_batcher *b = mk(4, MS(10), NULL, 0);
  int fd1 = -1, fd2 = -2;
  assert_int_equal(ms_batcher_fd(b, &fd1), MS_OK);
  assert_int_equal(ms_batcher_fd(b, &fd2), MS_OK);
  assert_int_equal(fd1, fd2);
  assert_false(fd_readable(b));
  sub(b, 1, 2, 0, 0, T0);
  assert_false(fd_readable(b)); /* not due: it may still grow */
  sub(b, 2, 2, 0, 0, T0);
  assert_true(fd_readable(b)); /* 4 = the max: due by size */
  assert_int_equal(next_of(b), T0);
  expect_batch(b, T0, MS_OK, IDS(1, 2));
  assert_false(fd_readable(b)); /* drained */
  /* due only because time passed: not readable, the deadline says it */
  sub(b, 3, 1, 0, 0, T0);
  assert_false(fd_readable(b));
  assert_int_equal(next_of(b), T0 + MS(10));
  /* a later submit's now passes the delay: due as of that time */
  sub(b, 4, 1, 0, 0, T0 + MS(10));
  assert_true(fd_readable(b));
  expect_batch(b, T0 + MS(10), MS_OK, IDS(3, 4));
  assert_false(fd_readable(b));
  /* two batches due: stays readable until both are taken */
  for (uint64_t i = 5; i <= 12; i++) sub(b, i, 1, 0, 0, T0 + MS(20));
  assert_true(fd_readable(b));
  expect_batch(b, T0 + MS(20), MS_OK, IDS(5, 6, 7, 8));
  assert_true(fd_readable(b));
  expect_batch(b, T0 + MS(20), MS_OK, IDS(9, 10, 11, 12));
  assert_false(fd_readable(b));
  /* canceled requests make it readable; taking them drains it */
  sub(b, 13, 1, 0, 0, T0 + MS(20));
  assert_int_equal(ms_batcher_cancel(b, 13), MS_OK);
  assert_true(fd_readable(b));
  expect_batch(b, T0 + MS(20), MS_ECANCELED, IDS(13));
  assert_false(fd_readable(b));
  ms_batcher_free(b);
}

/* An fd created while something is due starts readable. */
static void fd_created_late_reflects_the_state(void **state) {
  (void)state;
  ms_batcher *b = mk(1, 0, NULL, 0);
  sub(b, 1, 1, 0, 0, T0);
  assert_true(fd_readable(b));
  expect_batch(b, T0, MS_OK, IDS(1));
  assert_false(fd_readable(b));
  ms_batcher_free(b);
}

/* ---- cancel, shutdown, stats ------------------------------------------------ */

static void cancel_hands_a_request_back_once(void **state) {
  (void)state;
  ms_batcher *b = mk(4, MS(10), NULL, 0);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(5), 0), MS_OK);
  sub(b, 1, 1, 0, 0, T0);
  sub(b, 2, 1, 0, 0, T0);
  sub(b, 3, 1, 0, 0, T0);
  assert_int_equal(ms_batcher_cancel(b, 2), MS_OK);
  assert_int_equal(ms_batcher_cancel(b, 2), MS_OK); /* canceled, not handed back yet */
  assert_int_equal(ms_batcher_submit(b, 2, 1, 0, 0, T0), MS_EEXIST);
  assert_int_equal(ms_batcher_cancel(b, 99), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), "batcher: ms_batcher_cancel: request 99 is not held"));
  int64_t n = 0;
  assert_int_equal(ms_batcher_stats(b, T0, &n, NULL, NULL), MS_OK);
  assert_int_equal(n, 2);
  expect_batch(b, T0, MS_ECANCELED, IDS(2));
  /* timed out (as of a later submit), then canceled: it stays timed out */
  sub(b, 5, 1, 0, 0, T0 + MS(5));
  assert_int_equal(ms_batcher_cancel(b, 1), MS_OK);
  ms_batch *x = poll_at(b, T0 + MS(5));
  check_batch(x, MS_ETIMEDOUT, IDS(1, 3));
  ms_batch_free(x);
  expect_none(b, T0 + MS(5));
  assert_int_equal(ms_batcher_cancel(b, 1), MS_ENOTFOUND); /* handed out */
  sub(b, 2, 1, 0, 0, T0 + MS(6));                           /* the id is free again */
  sub(b, 4, 1, 0, 0, T0 + MS(6));
  assert_int_equal(ms_batcher_cancel(b, 4), MS_OK);
  expect_batch(b, T0 + MS(6), MS_ECANCELED, IDS(4));
  expect_due_at(b, T0 + MS(10), MS_ETIMEDOUT, IDS(5));
  expect_due_at(b, T0 + MS(11), MS_ETIMEDOUT, IDS(2));
  ms_batcher_free(b);
}

/* Canceling the request a preferred total depended on changes what is due. */
static void cancel_recomputes_what_is_due(void **state) {
  (void)state;
  ms_batcher *b = mk(8, MS(10), pref26, 2);
  sub(b, 1, 1, 0, 0, T0);
  sub(b, 2, 1, 0, 0, T0); /* 2: preferred */
  assert_int_equal(ms_batcher_cancel(b, 1), MS_OK);
  expect_batch(b, T0, MS_ECANCELED, IDS(1));
  expect_none(b, T0); /* 1 alone: not preferred */
  sub(b, 3, 2, 0, 0, T0 + MS(1));
  sub(b, 4, 1, 0, 0, T0 + MS(1)); /* 1, 3, 4: no preferred size */
  expect_none(b, T0 + MS(1));
  assert_int_equal(ms_batcher_cancel(b, 2), MS_OK);
  expect_batch(b, T0 + MS(1), MS_ECANCELED, IDS(2));
  expect_batch(b, T0 + MS(1), MS_OK, IDS(3)); /* 2: preferred */
  expect_due_at(b, T0 + MS(11), MS_OK, IDS(4));
  ms_batcher_free(b);
}

static void shutdown_hands_everything_back_canceled(void **state) {
  (void)state;
  ms_batcher *b = mk(4, MS(10), NULL, 0);
  assert_int_equal(ms_batcher_set_priority_levels(b, 2, 2), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(5), 0), MS_OK);
  sub(b, 1, 1, 2, 0, T0);
  sub(b, 2, 1, 1, 0, T0 + MS(6)); /* 1 expired as of this submit */
  sub(b, 3, 2, 2, 0, T0 + MS(6));
  assert_true(fd_readable(b));
  assert_int_equal(ms_batcher_shutdown(b), MS_OK);
  assert_int_equal(ms_batcher_shutdown(b), MS_OK);
  assert_int_equal(ms_batcher_submit(b, 9, 1, 0, 0, T0 + MS(7)), MS_ECLOSED);
  assert_non_null(strstr(ms_errmsg(), "shut down"));
  assert_int_equal(ms_batcher_cancel(b, 2), MS_OK); /* already canceled */
  assert_true(fd_readable(b));
  expect_batch(b, T0 + MS(7), MS_ETIMEDOUT, IDS(1));
  expect_batch(b, T0 + MS(7), MS_ECANCELED, IDS(2, 3));
  assert_true(fd_readable(b)); /* the next poll answers MS_ECLOSED: the host's cue to drop the fd */
  ms_batch *x = (ms_batch *)&x;
  assert_int_equal(ms_batcher_poll(b, T0 + MS(8), &x), MS_ECLOSED);
  assert_null(x);
  assert_true(fd_readable(b));
  x = (ms_batch *)&x;
  assert_int_equal(ms_batcher_wait(b, 0, &x), MS_ECLOSED);
  assert_null(x);
  expect_empty(b);
  ms_batcher_free(b);
}

/* An epoll host that sleeps with nothing pending (no timer armed) must still
 * learn of a shutdown: the fd becomes readable, and a poll answers
 * MS_ECLOSED. (It stayed silent: such a host slept forever.) */
static void shutdown_wakes_an_idle_host(void **state) {
  (void)state;
  ms_batcher *b = mk(4, MS(10), NULL, 0);
  assert_false(fd_readable(b));
  sub(b, 1, 4, 0, 0, T0);
  expect_batch(b, T0, MS_OK, IDS(1));
  assert_false(fd_readable(b));
  assert_int_equal(next_of(b), INT64_MAX); /* nothing pending: the host arms no timer */
  assert_int_equal(ms_batcher_shutdown(b), MS_OK);
  assert_true(fd_readable(b));
  ms_batch *x = (ms_batch *)&x;
  assert_int_equal(ms_batcher_poll(b, T0 + MS(1), &x), MS_ECLOSED);
  assert_null(x);
  ms_batcher_free(b);
  /* the same when the fd is first asked for after the shutdown */
  b = mk(4, MS(10), NULL, 0);
  assert_int_equal(ms_batcher_shutdown(b), MS_OK);
  assert_true(fd_readable(b));
  ms_batcher_free(b);
}

static void stats_give_depth_items_and_oldest_wait(void **state) {
  (void)state;
  ms_batcher *b = mk(8, MS(100), NULL, 0);
  assert_int_equal(ms_batcher_set_priority_levels(b, 2, 1), MS_OK);
  int64_t n = -1, items = -1, wait = -1;
  assert_int_equal(ms_batcher_stats(b, T0, &n, &items, &wait), MS_OK);
  assert_int_equal(n + items + wait, 0);
  sub(b, 1, 3, 2, 0, T0);
  sub(b, 2, 2, 1, 0, T0 + MS(4));
  assert_int_equal(ms_batcher_stats(b, T0 + MS(10), &n, &items, &wait), MS_OK);
  assert_int_equal(n, 2);
  assert_int_equal(items, 5);
  assert_int_equal(wait, MS(10)); /* the oldest of any level */
  assert_int_equal(ms_batcher_stats(b, T0 - 1, NULL, NULL, &wait), MS_OK);
  assert_int_equal(wait, 0);
  assert_int_equal(ms_batcher_cancel(b, 1), MS_OK);
  assert_int_equal(ms_batcher_stats(b, T0 + MS(10), &n, &items, &wait), MS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(items, 2);
  assert_int_equal(wait, MS(6));
  ms_batcher_free(b);
}

/* ---- settings while requests are pending ----------------------------------- */

static void settings_apply_at_once(void **state) {
  (void)state;
  ms_batcher *b = mk(8, MS(100), NULL, 0);
  sub(b, 1, 3, 0, 0, T0);
  sub(b, 2, 3, 0, 0, T0);
  expect_none(b, T0);
  /* the default preferred size follows the max batch */
  assert_int_equal(ms_batcher_set_max_batch(b, 6), MS_OK);
  expect_batch(b, T0, MS_OK, IDS(1, 2));
  sub(b, 3, 5, 0, 0, T0);
  assert_int_equal(ms_batcher_set_max_batch(b, 4), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "pending request 3's 5 items"));
  const int64_t p[] = {5};
  assert_int_equal(ms_batcher_set_preferred_sizes(b, p, 1), MS_OK);
  expect_batch(b, T0, MS_OK, IDS(3));
  assert_int_equal(ms_batcher_set_max_batch(b, 4), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "below the preferred size 5"));
  assert_int_equal(ms_batcher_set_preferred_sizes(b, NULL, 0), MS_OK);
  assert_int_equal(ms_batcher_set_max_batch(b, 4), MS_OK);
  /* shortening the delay makes a waiting request due */
  sub(b, 4, 1, 0, 0, T0 + MS(1));
  assert_int_equal(next_of(b), T0 + MS(101));
  assert_int_equal(ms_batcher_set_max_delay(b, MS(50)), MS_OK);
  assert_int_equal(next_of(b), T0 + MS(51));
  assert_int_equal(ms_batcher_set_max_delay(b, 0), MS_OK);
  assert_true(fd_readable(b));
  expect_batch(b, T0 + MS(1), MS_OK, IDS(4));
  /* levels: refused while a level that would go away holds requests */
  assert_int_equal(ms_batcher_set_priority_levels(b, 3, 3), MS_OK);
  assert_int_equal(ms_batcher_set_max_delay(b, MS(100)), MS_OK);
  sub(b, 5, 1, 0, 0, T0 + MS(2));
  assert_int_equal(ms_batcher_set_priority_levels(b, 2, 1), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "level 3 holds 1 pending"));
  assert_int_equal(ms_batcher_cancel(b, 5), MS_OK);
  assert_int_equal(ms_batcher_set_priority_levels(b, 2, 1), MS_OK);
  expect_batch(b, T0 + MS(2), MS_ECANCELED, IDS(5));
  /* a new default timeout applies to later requests; pending ones keep theirs */
  assert_int_equal(ms_batcher_set_queue_policy(b, 1, MS_TIMEOUT_REJECT, MS(30), 0), MS_OK);
  sub(b, 6, 1, 1, 0, T0 + MS(10));
  assert_int_equal(ms_batcher_set_queue_policy(b, 1, MS_TIMEOUT_REJECT, MS(10), 0), MS_OK);
  sub(b, 7, 1, 1, 0, T0 + MS(11));
  expect_due_at(b, T0 + MS(21), MS_ETIMEDOUT, IDS(7));
  expect_due_at(b, T0 + MS(40), MS_ETIMEDOUT, IDS(6));
  /* a changed action applies to the requests that expire from then on */
  sub(b, 8, 1, 1, 0, T0 + MS(50));
  assert_int_equal(ms_batcher_set_queue_policy(b, 1, MS_TIMEOUT_DELAY, MS(10), 0), MS_OK);
  expect_due_at(b, T0 + MS(150), MS_OK, IDS(8));
  /* a level added later gets the "all levels" policy */
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(7), 0), MS_OK);
  assert_int_equal(ms_batcher_set_priority_levels(b, 4, 1), MS_OK);
  sub(b, 9, 1, 4, 0, T0 + MS(200));
  expect_due_at(b, T0 + MS(207), MS_ETIMEDOUT, IDS(9));
  ms_batcher_free(b);
}

/* Memory per queued request, from the batcher's own accounting. */
static void memory_per_queued_request_is_bounded(void **state) {
  (void)state;
  ms_batcher *b = mk(32, MS(100), NULL, 0);
  assert_int_equal(ms_batcher_set_priority_levels(b, 4, 1), MS_OK);
  assert_int_equal(ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(1000), 0), MS_OK);
  const int n = 300000;
  for (int i = 0; i < n; i++) sub(b, (uint64_t)i * 7919, 1, 1 + i % 4, 0, T0 + i);
  size_t bytes = ms__batcher_bytes(b);
  double per = (double)bytes / n;
  printf("batcher: %.1f bytes per queued request at %d queued\n", per, n);
  assert_true(per <= 64.0);
  ms_batcher_free(b);
}

/* Ids in arithmetic progression (counters, strides, high bits only) spread
 * over the index whatever the batcher's random hash multiplier: short probe
 * runs, and memory within bounds. */
static void structured_ids_spread_over_the_index(void **state) {
  (void)state;
  static const uint64_t strides[] = {1, 7919, UINT64_C(1) << 20, UINT64_C(1) << 32, UINT64_C(3) << 40, UINT64_C(1) << 44};
  for (size_t k = 0; k < sizeof strides / sizeof strides[0]; k++) {
    for (int run = 0; run < 3; run++) {
      ms_batcher *b = mk(32, MS(100), NULL, 0);
      const int n = 100000;
      for (int i = 0; i < n; i++) sub(b, (uint64_t)i * strides[k], 1, 0, 0, T0 + i);
      double per = (double)ms__batcher_bytes(b) / n;
      if (per > 64.0 || b->hlongest > 64)
        fail_msg("stride %llu: %.1f bytes per request, longest probe run %u", (unsigned long long)strides[k], per,
                 b->hlongest);
      /* and every id is found again */
      for (int i = 0; i < n; i += 997) assert_int_equal(ms_batcher_cancel(b, (uint64_t)i * strides[k]), MS_OK);
      ms_batcher_free(b);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults_send_each_request_alone_at_once),
      cmocka_unit_test(bad_arguments_are_refused_and_change_nothing),
      cmocka_unit_test(batch_accessors_check_their_arguments),
      cmocka_unit_test(l0_batcher_preferred_2_6),
      cmocka_unit_test(largest_preferred_total_wins),
      cmocka_unit_test(passing_the_largest_preferred_size),
      cmocka_unit_test(l0_batcher_preferred_4_6_no_delay),
      cmocka_unit_test(l0_model_queue_max_queue_size),
      cmocka_unit_test(l0_model_queue_policy_reject),
      cmocka_unit_test(l0_model_queue_policy_delay),
      cmocka_unit_test(l0_model_queue_timeout_override),
      cmocka_unit_test(l0_model_queue_priority_levels),
      cmocka_unit_test(l0_model_queue_priority_with_policy),
      cmocka_unit_test(delay_is_measured_from_each_submit),
      cmocka_unit_test(timed_out_requests_come_back_together),
      cmocka_unit_test(a_deadline_is_inclusive),
      cmocka_unit_test(time_never_goes_backwards),
      cmocka_unit_test(huge_values_do_not_overflow),
      cmocka_unit_test(fd_is_readable_exactly_while_something_is_due),
      cmocka_unit_test(fd_created_late_reflects_the_state),
      cmocka_unit_test(cancel_hands_a_request_back_once),
      cmocka_unit_test(cancel_recomputes_what_is_due),
      cmocka_unit_test(shutdown_hands_everything_back_canceled),
      cmocka_unit_test(shutdown_wakes_an_idle_host),
      cmocka_unit_test(stats_give_depth_items_and_oldest_wait),
      cmocka_unit_test(settings_apply_at_once),
      cmocka_unit_test(memory_per_queued_request_is_bounded),
      cmocka_unit_test(structured_ids_spread_over_the_index),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
