/* Unit tests: status names, thread-local messages, versions, clocks, logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "mserve.h"

static void every_status_has_a_distinct_name(void **state) {
  (void)state;
  const char *seen[MS_EINTERNAL + 1];
  for (int s = MS_OK; s <= MS_EINTERNAL; s++) {
    const char *n = ms_status_name(s);
    assert_non_null(n);
    assert_true(strncmp(n, "MS_", 3) == 0);
    assert_string_not_equal(n, "MS_UNKNOWN");
    for (int j = 0; j < s; j++) assert_string_not_equal(n, seen[j]);
    seen[s] = n;
  }
  assert_string_equal(ms_status_name(MS_OK), "MS_OK");
  assert_string_equal(ms_status_name(MS_ELIMIT), "MS_ELIMIT");
  assert_string_equal(ms_status_name(MS_ECONFLICT), "MS_ECONFLICT");
  assert_string_equal(ms_status_name(-1), "MS_UNKNOWN");
  assert_string_equal(ms_status_name(MS_EINTERNAL + 1), "MS_UNKNOWN");
}

static void *fail_in_thread(void *arg) {
  (void)arg;
  ms_store *s = (ms_store *)0x1;
  int st = ms_store_open("", 0, &s);
  static char copy[256];
  snprintf(copy, sizeof copy, "%d|%s", st, ms_errmsg());
  return copy;
}

static void errmsg_is_per_thread(void **state) {
  (void)state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(NULL, 0, &s), MS_EINVAL);
  assert_null(s);
  char mine[256];
  snprintf(mine, sizeof mine, "%s", ms_errmsg());
  assert_non_null(strstr(mine, "path is NULL"));

  pthread_t th;
  void *ret;
  assert_int_equal(pthread_create(&th, NULL, fail_in_thread, NULL), 0);
  assert_int_equal(pthread_join(th, &ret), 0);
  assert_non_null(strstr((char *)ret, "path is empty"));
  /* The other thread's failure did not touch this thread's message. */
  assert_string_equal(ms_errmsg(), mine);
}

static void version_matches_macros(void **state) {
  (void)state;
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", MS_VERSION_MAJOR, MS_VERSION_MINOR, MS_VERSION_PATCH);
  assert_string_equal(ms_version(), want);
  assert_int_equal(ms_version_number(), MS_VERSION_NUMBER);
  assert_int_equal(MS_SEC(3), 3000000);
}

static void clocks_are_sane(void **state) {
  (void)state;
  int64_t rt = ms_clock_realtime_us();
  int64_t wall = (int64_t)time(NULL) * 1000000;
  assert_true(rt > wall - MS_SEC(2) && rt < wall + MS_SEC(2));
  int64_t a = ms_clock_monotonic_us();
  struct timespec ts = {0, 2000000};
  nanosleep(&ts, NULL);
  int64_t b = ms_clock_monotonic_us();
  assert_true(b - a >= 2000);
}

typedef struct captured {
  int calls;
  int level;
  char last[512];
} captured;

static void capture(int level, const char *msg, void *user) {
  captured *c = user;
  c->calls++;
  c->level = level;
  snprintf(c->last, sizeof c->last, "%s", msg);
}

static void log_hook_is_silent_by_default_and_filters(void **state) {
  (void)state;
  captured c = {0};
  ms_store *s = NULL;
  /* Silent by default: nothing installed, nothing called. */
  assert_int_equal(ms_store_open(NULL, 0, &s), MS_EINVAL);

  assert_int_equal(ms_set_log(capture, MS_LOG_DEBUG, &c), MS_OK);
  assert_int_equal(ms_store_open(NULL, 0, &s), MS_EINVAL);
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.level, MS_LOG_DEBUG);
  assert_non_null(strstr(c.last, "MS_EINVAL"));

  /* Above the threshold only. */
  assert_int_equal(ms_set_log(capture, MS_LOG_ERROR, &c), MS_OK);
  assert_int_equal(ms_store_open(NULL, 0, &s), MS_EINVAL);
  assert_int_equal(c.calls, 1);

  assert_int_equal(ms_set_log(capture, 99, &c), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "99"));
  assert_string_equal(ms_errmsg(), "log: ms_set_log: level 99 is not an ms_log_level");
  assert_int_equal(ms_set_log(NULL, MS_LOG_DEBUG, NULL), MS_OK);
  assert_int_equal(ms_store_open(NULL, 0, &s), MS_EINVAL);
  assert_int_equal(c.calls, 1);
}

/* A lower layer's cause is wrapped, not rewritten: the part's head goes in
 * front (common/error.h), and a message too long for the buffer is cut,
 * never overrun. */
static void a_cause_is_wrapped_with_the_callers_head(void **state) {
  (void)state;
  assert_int_equal(ms__fail(MS_EIO, "store '%s': commit: disk I/O error", "x.db"), MS_EIO);
  ms__errmsg_prefix("tracker: ms_tracker_admit: session '%s'", "s1");
  assert_string_equal(ms_errmsg(), "tracker: ms_tracker_admit: session 's1': store 'x.db': commit: disk I/O error");
  char big[3000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ms__fail(MS_EINVAL, "%s", big);
  ms__errmsg_prefix("head");
  assert_true(strlen(ms_errmsg()) < sizeof big);
  assert_memory_equal(ms_errmsg(), "head: aaa", 9);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_status_has_a_distinct_name),
      cmocka_unit_test(errmsg_is_per_thread),
      cmocka_unit_test(version_matches_macros),
      cmocka_unit_test(clocks_are_sane),
      cmocka_unit_test(log_hook_is_silent_by_default_and_filters),
      cmocka_unit_test(a_cause_is_wrapped_with_the_callers_head),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
