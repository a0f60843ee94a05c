/* Unit tests: the concurrency tracker (sets of session ids per scope/class). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mserve.h"
#include "mserve/tracker.h"
#include "testutil.h"
#include "tracker/tracker_internal.h"

typedef struct fx {
  char *dir;
  char *db;
  ms_store *s;
  ms_tracker *t;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("tracker");
  if (!f->dir) return -1;
  f->db = ms_test_path(f->dir, "tracker.db");
  if (ms_store_open(f->db, 0, &f->s) != MS_OK) return -1;
  if (ms_tracker_open(f->s, &f->t) != MS_OK) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ms_tracker_close(f->t);
  ms_store_close(f->s);
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->db);
  free(f);
  return 0;
}

#define T0 MS_SEC(1700000000)

static int admit1(ms_tracker *t, const char *sid, ms_session_class cls, const char *scope, ms_denial *d) {
  const char *sc[] = {scope};
  return ms_tracker_admit(t, sid, cls, sc, 1, 0, T0, d);
}

static int64_t used(ms_tracker *t, const char *scope, ms_session_class cls, int64_t now) {
  int64_t n = -1;
  assert_int_equal(ms_tracker_get_used(t, scope, cls, now, &n), MS_OK);
  return n;
}

/* Rows in a tracker table, or distinct sessions held, read behind the API's
 * back (expired ones included until purged). */
static int64_t rows(ms_tracker *t, const char *table) {
  char sql[128];
  if (strcmp(table, "tracker_sessions") == 0)
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT session) FROM tracker_members");
  else
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(t->store->db, sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

static int held(ms_tracker *t, const char *sid) {
  /* release + re-admit would change state; look at the rows instead */
  sqlite3_stmt *q;
  assert_int_equal(
      sqlite3_prepare_v2(t->store->db, "SELECT count(*) > 0 FROM tracker_members WHERE session = ?1", -1, &q, NULL),
      SQLITE_OK);
  sqlite3_bind_text(q, 1, sid, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int n = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  return n;
}

/* A message starts with the call that failed and names it once: prefixes
 * added on the way up must not stack ("tracker: x: tracker: x: ..."). */
static void assert_named_once(void) {
  const char *m = ms_errmsg();
  if (strncmp(m, "tracker: ", 9) != 0) fail_msg("message does not start with the call: %s", m);
  if (strstr(m + 9, "tracker: ") != NULL) fail_msg("message names the call twice: %s", m);
}

static void exact_at_the_limit(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:AK1", MS_CLASS_COMPUTE, 3), MS_OK);
  int64_t lim = 0;
  assert_int_equal(ms_tracker_get_limit(f->t, "keypair:AK1", MS_CLASS_COMPUTE, &lim), MS_OK);
  assert_int_equal(lim, 3);
  char sid[16];
  for (int i = 0; i < 3; i++) {
    snprintf(sid, sizeof sid, "s%d", i);
    assert_int_equal(admit1(f->t, sid, MS_CLASS_COMPUTE, "keypair:AK1", NULL), MS_OK);
  }
  assert_int_equal(used(f->t, "keypair:AK1", MS_CLASS_COMPUTE, T0), 3);
  ms_denial d;
  memset(&d, 0x5a, sizeof d);
  assert_int_equal(admit1(f->t, "s3", MS_CLASS_COMPUTE, "keypair:AK1", &d), MS_ELIMIT);
  assert_string_equal(d.scope, "keypair:AK1");
  assert_int_equal(d.limit, 3);
  assert_int_equal(d.used, 3);
  assert_string_equal(ms_errmsg(), "tracker: admit 's3': scope 'keypair:AK1' is full (3 of 3 compute sessions)");
  assert_int_equal(held(f->t, "s3"), 0);
  assert_int_equal(used(f->t, "keypair:AK1", MS_CLASS_COMPUTE, T0), 3);
  /* NULL denial is allowed and the result is the same */
  assert_int_equal(admit1(f->t, "s3", MS_CLASS_COMPUTE, "keypair:AK1", NULL), MS_ELIMIT);
  /* one leaves, one more fits, exactly */
  int was = -1;
  assert_int_equal(ms_tracker_release(f->t, "s0", &was), MS_OK);
  assert_int_equal(was, 1);
  assert_int_equal(admit1(f->t, "s3", MS_CLASS_COMPUTE, "keypair:AK1", NULL), MS_OK);
  assert_int_equal(admit1(f->t, "s4", MS_CLASS_COMPUTE, "keypair:AK1", NULL), MS_ELIMIT);
  assert_int_equal(used(f->t, "keypair:AK1", MS_CLASS_COMPUTE, T0), 3);
}

static void limit_zero_unlimited_and_lowering(void **state) {
  fx *f = *state;
  int64_t lim = 0;
  assert_int_equal(ms_tracker_get_limit(f->t, "user:u", MS_CLASS_COMPUTE, &lim), MS_OK);
  assert_int_equal(lim, MS_UNLIMITED);
  char sid[16];
  for (int i = 0; i < 50; i++) {
    snprintf(sid, sizeof sid, "u%d", i);
    assert_int_equal(admit1(f->t, sid, MS_CLASS_COMPUTE, "user:u", NULL), MS_OK);
  }
  assert_int_equal(used(f->t, "user:u", MS_CLASS_COMPUTE, T0), 50);
  /* lowering below the count evicts nobody but admits nobody either */
  assert_int_equal(ms_tracker_set_limit(f->t, "user:u", MS_CLASS_COMPUTE, 10), MS_OK);
  assert_int_equal(used(f->t, "user:u", MS_CLASS_COMPUTE, T0), 50);
  ms_denial d;
  assert_int_equal(admit1(f->t, "u50", MS_CLASS_COMPUTE, "user:u", &d), MS_ELIMIT);
  assert_int_equal(d.limit, 10);
  assert_int_equal(d.used, 50);
  /* MS_UNLIMITED removes the limit */
  assert_int_equal(ms_tracker_set_limit(f->t, "user:u", MS_CLASS_COMPUTE, MS_UNLIMITED), MS_OK);
  assert_int_equal(ms_tracker_get_limit(f->t, "user:u", MS_CLASS_COMPUTE, &lim), MS_OK);
  assert_int_equal(lim, MS_UNLIMITED);
  assert_int_equal(admit1(f->t, "u50", MS_CLASS_COMPUTE, "user:u", NULL), MS_OK);
  /* 0 admits nothing */
  assert_int_equal(ms_tracker_set_limit(f->t, "project:p", MS_CLASS_COMPUTE, 0), MS_OK);
  assert_int_equal(admit1(f->t, "p0", MS_CLASS_COMPUTE, "project:p", &d), MS_ELIMIT);
  assert_string_equal(d.scope, "project:p");
  assert_int_equal(d.limit, 0);
  assert_int_equal(d.used, 0);
  assert_int_equal(held(f->t, "p0"), 0);
}

static void all_or_nothing_across_scopes(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  assert_int_equal(ms_tracker_set_limit(f->t, "user:U", MS_CLASS_COMPUTE, 5), MS_OK);
  assert_int_equal(admit1(f->t, "first", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_OK);
  const char *both[] = {"user:U", "keypair:A", "domain:D"};
  ms_denial d;
  assert_int_equal(ms_tracker_admit(f->t, "second", MS_CLASS_COMPUTE, both, 3, 0, T0, &d), MS_ELIMIT);
  assert_string_equal(d.scope, "keypair:A");
  assert_int_equal(d.limit, 1);
  assert_int_equal(d.used, 1);
  /* nothing of "second" anywhere: not in user:U, not in domain:D */
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(used(f->t, "domain:D", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(held(f->t, "second"), 0);
  /* two full scopes: the first in the caller's order is reported */
  assert_int_equal(ms_tracker_set_limit(f->t, "user:U", MS_CLASS_COMPUTE, 0), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "second", MS_CLASS_COMPUTE, both, 3, 0, T0, &d), MS_ELIMIT);
  assert_string_equal(d.scope, "user:U");
  assert_int_equal(d.limit, 0);
  /* room everywhere: counted once in each named scope */
  assert_int_equal(ms_tracker_set_limit(f->t, "user:U", MS_CLASS_COMPUTE, 5), MS_OK);
  assert_int_equal(ms_tracker_release(f->t, "first", NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "second", MS_CLASS_COMPUTE, both, 3, 0, T0, &d), MS_OK);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0), 1);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 1);
  assert_int_equal(used(f->t, "domain:D", MS_CLASS_COMPUTE, T0), 1);
}

static void classes_are_separate(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_SYSTEM, 2), MS_OK);
  assert_int_equal(admit1(f->t, "c1", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_OK);
  assert_int_equal(admit1(f->t, "sftp1", MS_CLASS_SYSTEM, "keypair:A", NULL), MS_OK);
  assert_int_equal(admit1(f->t, "sftp2", MS_CLASS_SYSTEM, "keypair:A", NULL), MS_OK);
  ms_denial d;
  assert_int_equal(admit1(f->t, "c2", MS_CLASS_COMPUTE, "keypair:A", &d), MS_ELIMIT);
  assert_int_equal(d.used, 1);
  assert_int_equal(admit1(f->t, "sftp3", MS_CLASS_SYSTEM, "keypair:A", &d), MS_ELIMIT);
  assert_int_equal(d.used, 2);
  assert_int_equal(d.limit, 2);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 1);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_SYSTEM, T0), 2);
}

static void retries_never_count_twice(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  const char *sc[] = {"keypair:A", "user:U"};
  assert_int_equal(ms_tracker_admit(f->t, "s", MS_CLASS_COMPUTE, sc, 2, 0, T0, NULL), MS_OK);
  /* the retried identical check succeeds even though the scope is now full */
  for (int i = 0; i < 5; i++)
    assert_int_equal(ms_tracker_admit(f->t, "s", MS_CLASS_COMPUTE, sc, 2, 0, T0, NULL), MS_OK);
  /* order and duplicates do not matter: it is a set */
  const char *same[] = {"user:U", "keypair:A", "user:U"};
  assert_int_equal(ms_tracker_admit(f->t, "s", MS_CLASS_COMPUTE, same, 3, 0, T0, NULL), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 1);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0), 1);
  assert_int_equal(rows(f->t, "tracker_members"), 2);
  /* other scopes or another class: a conflict, and nothing changes (not even
   * the denial, though keypair:A is full) */
  const char *other[] = {"keypair:A"};
  ms_denial d, d0;
  memset(&d, 0x5a, sizeof d);
  d0 = d;
  assert_int_equal(ms_tracker_admit(f->t, "s", MS_CLASS_COMPUTE, other, 1, 0, T0, &d), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "tracker: admit 's'"));
  assert_non_null(strstr(ms_errmsg(), "different set of scopes"));
  assert_memory_equal(&d, &d0, sizeof d);
  const char *more[] = {"keypair:A", "user:U", "project:P"};
  assert_int_equal(ms_tracker_admit(f->t, "s", MS_CLASS_COMPUTE, more, 3, 0, T0, NULL), MS_ECONFLICT);
  assert_int_equal(ms_tracker_admit(f->t, "s", MS_CLASS_SYSTEM, sc, 2, MS_SEC(5), T0, &d), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "held as a compute session"));
  assert_memory_equal(&d, &d0, sizeof d);
  assert_int_equal(rows(f->t, "tracker_members"), 2);
  int h = 0;
  ms_session_class c = MS_CLASS_SYSTEM;
  int64_t exp = -1;
  assert_int_equal(ms_tracker_get_held(f->t, "s", T0, &h, &c, &exp), MS_OK);
  assert_int_equal(h, 1);
  assert_int_equal(c, MS_CLASS_COMPUTE);
  assert_int_equal(exp, 0); /* no lease taken from the conflicting call */
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_SYSTEM, T0), 0);
  assert_int_equal(used(f->t, "project:P", MS_CLASS_COMPUTE, T0), 0);
  /* a duplicate scope in a fresh admission counts once */
  const char *dup[] = {"user:V", "user:V"};
  assert_int_equal(ms_tracker_admit(f->t, "t", MS_CLASS_COMPUTE, dup, 2, 0, T0, NULL), MS_OK);
  assert_int_equal(used(f->t, "user:V", MS_CLASS_COMPUTE, T0), 1);
}

static void release_is_idempotent(void **state) {
  fx *f = *state;
  assert_int_equal(admit1(f->t, "s", MS_CLASS_COMPUTE, "user:U", NULL), MS_OK);
  int was = -1;
  assert_int_equal(ms_tracker_release(f->t, "s", &was), MS_OK);
  assert_int_equal(was, 1);
  assert_int_equal(ms_tracker_release(f->t, "s", &was), MS_OK);
  assert_int_equal(was, 0);
  was = -1;
  assert_int_equal(ms_tracker_release(f->t, "never-seen", &was), MS_OK);
  assert_int_equal(was, 0);
  assert_int_equal(ms_tracker_release(f->t, "s", NULL), MS_OK);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(rows(f->t, "tracker_members"), 0);
  assert_int_equal(rows(f->t, "tracker_sessions"), 0);
}

static void leases_expire_and_renew(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, sc, 1, MS_SEC(10), T0, NULL), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0 + MS_SEC(10) - 1), 1);
  ms_denial d;
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0 + MS_SEC(10) - 1, &d), MS_ELIMIT);
  /* expiry is now >= admitted + lease: at that instant it stops counting */
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0 + MS_SEC(10)), 0);
  /* renew: extends from now; an expired lease cannot be renewed */
  assert_int_equal(ms_tracker_renew(f->t, "a", MS_SEC(10), T0 + MS_SEC(5)), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0 + MS_SEC(14)), 1);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0 + MS_SEC(15)), 0);
  assert_int_equal(ms_tracker_renew(f->t, "a", MS_SEC(10), T0 + MS_SEC(15)), MS_ENOTFOUND);
  assert_int_equal(ms_tracker_renew(f->t, "nobody", MS_SEC(10), T0), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), "nobody"));
  /* the expired session's slot is free at once, before any purge */
  assert_int_equal(rows(f->t, "tracker_sessions"), 1);
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0 + MS_SEC(15), NULL), MS_OK);
  /* ... and that write purged the expired rows lazily */
  assert_int_equal(held(f->t, "a"), 0);
  assert_int_equal(rows(f->t, "tracker_members"), 1);
  /* renew with 0 removes the lease */
  assert_int_equal(ms_tracker_release(f->t, "b", NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "c", MS_CLASS_COMPUTE, sc, 1, MS_SEC(1), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_renew(f->t, "c", 0, T0), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0 + MS_SEC(100000)), 1);
  /* an expired session admitted again is a fresh admission (any scopes) */
  const char *sc2[] = {"user:U"};
  assert_int_equal(ms_tracker_admit(f->t, "e", MS_CLASS_COMPUTE, sc2, 1, MS_SEC(1), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "e", MS_CLASS_SYSTEM, sc, 1, 0, T0 + MS_SEC(2), NULL), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_SYSTEM, T0 + MS_SEC(2)), 1);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0 + MS_SEC(2)), 0);
  /* a retried admit does not extend the lease */
  assert_int_equal(ms_tracker_admit(f->t, "r", MS_CLASS_COMPUTE, sc2, 1, MS_SEC(10), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "r", MS_CLASS_COMPUTE, sc2, 1, MS_SEC(10), T0 + MS_SEC(5), NULL), MS_OK);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0 + MS_SEC(10)), 0);
}

/* The exact instant: a lease taken at T0 for 10 s counts at T0+10s-1 and not
 * at T0+10s, for counting, admitting, retrying, holding and renewing alike. */
static void lease_boundary_is_exact(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  const int64_t end = T0 + MS_SEC(10);
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, sc, 1, MS_SEC(10), T0, NULL), MS_OK);
  int h = -1;
  int64_t exp = -1;
  /* one microsecond before: live; a retry is a no-op that keeps the lease */
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, sc, 1, MS_SEC(100), end - 1, NULL), MS_OK);
  assert_int_equal(ms_tracker_get_held(f->t, "a", end - 1, &h, NULL, &exp), MS_OK);
  assert_int_equal(h, 1);
  assert_int_equal(exp, end);
  ms_denial d;
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, sc, 1, 0, end - 1, &d), MS_ELIMIT);
  assert_int_equal(d.used, 1);
  /* at the instant: gone everywhere, its slot free */
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, end), 0);
  assert_int_equal(ms_tracker_get_held(f->t, "a", end, &h, NULL, NULL), MS_OK);
  assert_int_equal(h, 0);
  assert_int_equal(ms_tracker_renew(f->t, "a", MS_SEC(10), end), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), "expired"));
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, sc, 1, 0, end, NULL), MS_OK);
  /* the expired session admitted again is a fresh admission: checked against
   * the limit like any other, then held with a new lease */
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, sc, 1, MS_SEC(5), end, &d), MS_ELIMIT);
  assert_int_equal(ms_tracker_release(f->t, "b", NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, sc, 1, MS_SEC(5), end, NULL), MS_OK);
  assert_int_equal(ms_tracker_get_held(f->t, "a", end, &h, NULL, &exp), MS_OK);
  assert_int_equal(exp, end + MS_SEC(5));
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, end), 1);
  assert_int_equal(rows(f->t, "tracker_members"), 1);
  /* renew one microsecond before the end works; at the end it does not */
  assert_int_equal(ms_tracker_renew(f->t, "a", MS_SEC(10), end + MS_SEC(5) - 1), MS_OK);
  const int64_t end2 = end + MS_SEC(15) - 1;
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, end2 - 1), 1);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, end2), 0);
  assert_int_equal(ms_tracker_renew(f->t, "a", MS_SEC(10), end2), MS_ENOTFOUND);
}

static void purge_is_bounded_but_complete(void **state) {
  fx *f = *state;
  const char *sc[] = {"user:U"};
  char sid[16];
  for (int i = 0; i < 100; i++) {
    snprintf(sid, sizeof sid, "l%d", i);
    assert_int_equal(ms_tracker_admit(f->t, sid, MS_CLASS_COMPUTE, sc, 1, MS_SEC(1), T0, NULL), MS_OK);
  }
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0 + MS_SEC(1)), 0);
  assert_int_equal(ms_tracker_set_limit(f->t, "user:U", MS_CLASS_COMPUTE, 1), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "x", MS_CLASS_COMPUTE, sc, 1, 0, T0 + MS_SEC(1), NULL), MS_OK);
  /* each write purges a small batch, never all 100 at once */
  int64_t left = rows(f->t, "tracker_sessions");
  assert_true(left > 1 && left < 101);
  for (int i = 0; i < 10; i++) {
    snprintf(sid, sizeof sid, "x%d", i);
    assert_int_equal(ms_tracker_admit(f->t, sid, MS_CLASS_COMPUTE, sc, 1, 0, T0 + MS_SEC(1), NULL), MS_ELIMIT);
  }
  /* a denial changes nothing at all, not even by purging */
  assert_int_equal(rows(f->t, "tracker_sessions"), left);
  /* denials roll back, purge included; admits elsewhere keep purging */
  const char *other[] = {"user:W"};
  for (int i = 0; i < 10; i++) {
    snprintf(sid, sizeof sid, "w%d", i);
    assert_int_equal(ms_tracker_admit(f->t, sid, MS_CLASS_COMPUTE, other, 1, 0, T0 + MS_SEC(1), NULL), MS_OK);
  }
  assert_int_equal(rows(f->t, "tracker_sessions"), 11);
}

static void tick_transactions(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 2), MS_OK);
  const char *sc[] = {"keypair:A"};
  const char *sc_u[] = {"user:U"};
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  ms_denial d;
  assert_int_equal(ms_tracker_txn_admit(x, "c", MS_CLASS_COMPUTE, sc, 1, 0, T0, &d), MS_ELIMIT);
  assert_int_equal(d.used, 2);
  /* the transaction stays usable after a denial */
  assert_int_equal(ms_tracker_txn_admit(x, "u", MS_CLASS_COMPUTE, sc_u, 1, 0, T0, NULL), MS_OK);
  /* a retry inside the tick is a no-op */
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  /* bad input inside the tick: EINVAL, tick intact */
  assert_int_equal(ms_tracker_txn_admit(x, "", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_EINVAL);
  /* a conflicting retry inside the tick: refused, tick intact */
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_SYSTEM, sc, 1, 0, T0, &d), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "tracker: txn_admit 'a'"));
  assert_named_once();
  assert_int_equal(ms_tracker_txn_admit(x, "c", MS_CLASS_COMPUTE, sc, 1, 0, T0, &d), MS_ELIMIT);
  assert_int_equal(d.used, 2);
  ms_tracker_txn_rollback(x);
  /* rollback leaves no trace */
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(rows(f->t, "tracker_sessions"), 0);

  /* commit makes the tick's admits durable together; release inside a tick */
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  int was = -1;
  assert_int_equal(ms_tracker_txn_release(x, "b", &was), MS_OK);
  assert_int_equal(was, 1);
  assert_int_equal(ms_tracker_txn_admit(x, "c", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 2);
  assert_int_equal(held(f->t, "b"), 0);
  assert_int_equal(held(f->t, "c"), 1);
  ms_tracker_txn_rollback(NULL);
  assert_int_equal(ms_tracker_txn_commit(NULL), MS_EINVAL);
}

/* The thread that holds a tick gets a clear MS_EBUSY from every other call on
 * the same store, never a deadlock, and those calls change nothing. */
#define BUSY_NAMED(call, who)                                         \
  do {                                                                \
    assert_int_equal((call), MS_EBUSY);                               \
    assert_non_null(strstr(ms_errmsg(), (who)));                      \
    assert_non_null(strstr(ms_errmsg(), "already holds the store"));  \
    assert_named_once();                                              \
  } while (0)

static void same_thread_during_a_tick_is_busy(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 2), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "old", MS_CLASS_COMPUTE, sc, 1, MS_SEC(60), T0, NULL), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "tick", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  /* a second tracker over the same store shares its lock: the same answer */
  ms_tracker *t2 = NULL;
  assert_int_equal(ms_tracker_open(f->s, &t2), MS_OK);
  ms_tracker *ts[] = {f->t, t2};
  for (size_t i = 0; i < 2; i++) {
    ms_tracker *t = ts[i];
    ms_denial d, d0;
    memset(&d, 0x33, sizeof d);
    d0 = d;
    BUSY_NAMED(ms_tracker_admit(t, "z", MS_CLASS_COMPUTE, sc, 1, 0, T0, &d), "tracker: admit 'z'");
    assert_memory_equal(&d, &d0, sizeof d);
    int was = 7;
    BUSY_NAMED(ms_tracker_release(t, "old", &was), "tracker: release 'old'");
    assert_int_equal(was, 7);
    BUSY_NAMED(ms_tracker_renew(t, "old", MS_SEC(600), T0), "tracker: renew 'old'");
    BUSY_NAMED(ms_tracker_set_limit(t, "keypair:A", MS_CLASS_COMPUTE, 0), "tracker: set_limit 'keypair:A'");
    int64_t n = 99;
    BUSY_NAMED(ms_tracker_get_used(t, "keypair:A", MS_CLASS_COMPUTE, T0, &n), "tracker: used 'keypair:A'");
    BUSY_NAMED(ms_tracker_get_limit(t, "keypair:A", MS_CLASS_COMPUTE, &n), "tracker: get_limit 'keypair:A'");
    assert_int_equal(n, 99);
    int h = 7;
    BUSY_NAMED(ms_tracker_get_held(t, "old", T0, &h, NULL, NULL), "tracker: held 'old'");
    assert_int_equal(h, 7);
    ms_tracker_txn *y = (ms_tracker_txn *)(uintptr_t)0x1;
    BUSY_NAMED(ms_tracker_begin(t, &y), "tracker: begin");
    assert_ptr_equal(y, (ms_tracker_txn *)(uintptr_t)0x1);
    /* a reconcile collects without the store and fails only at commit,
     * freeing itself (ASan checks) and leaving its outputs alone */
    ms_reconcile *r = NULL;
    assert_int_equal(ms_tracker_reconcile_begin(t, NULL, &r), MS_OK);
    assert_int_equal(ms_reconcile_add(r, "x", MS_CLASS_COMPUTE, sc, 1), MS_OK);
    int64_t added = 5, removed = 5;
    BUSY_NAMED(ms_reconcile_commit(r, T0, &added, &removed), "tracker: reconcile");
    assert_int_equal(added, 5);
    assert_int_equal(removed, 5);
  }
  ms_tracker_close(t2);
  /* the tick itself is intact and still works */
  assert_int_equal(ms_tracker_txn_admit(x, "tick2", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_ELIMIT);
  ms_tracker_txn_rollback(x);
  /* none of the refused calls happened */
  int64_t lim = -5;
  assert_int_equal(ms_tracker_get_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, &lim), MS_OK);
  assert_int_equal(lim, 2);
  assert_int_equal(rows(f->t, "tracker_members"), 1);
  int64_t exp = 0;
  int h = 0;
  assert_int_equal(ms_tracker_get_held(f->t, "old", T0, &h, NULL, &exp), MS_OK);
  assert_int_equal(h, 1);
  assert_int_equal(exp, T0 + MS_SEC(60));
}

/* Another connection to the file (another ms_store, as another process would
 * have) waits for the tick only up to its busy timeout, then says so. */
static void another_handle_waits_then_gives_up(void **state) {
  fx *f = *state;
  ms_store *s2 = NULL;
  ms_tracker *t2 = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s2), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s2, 2000), MS_OK);
  assert_int_equal(ms_tracker_open(s2, &t2), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(admit1(t2, "b", MS_CLASS_COMPUTE, "user:U", NULL), MS_EBUSY);
  assert_non_null(strstr(ms_errmsg(), "tracker: admit 'b'"));
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(admit1(t2, "b", MS_CLASS_COMPUTE, "user:U", NULL), MS_OK);
  ms_tracker_close(t2);
  ms_store_close(s2);
}

static void exec_sql(ms_tracker *t, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(t->store->db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err);
}

/* A COMMIT that fails leaves nothing of the tick. The failure is forced with a
 * deferred foreign key, which SQLite checks only at COMMIT. */
static void failed_commit_leaves_nothing(void **state) {
  fx *f = *state;
  exec_sql(f->t, "CREATE TEMP TABLE fk_parent(id INTEGER PRIMARY KEY);"
                 "CREATE TEMP TABLE fk_child(p INTEGER REFERENCES fk_parent(id) DEFERRABLE INITIALLY DEFERRED)");
  const char *sc[] = {"keypair:A"};
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, MS_SEC(9), T0, NULL), MS_OK);
  exec_sql(f->t, "INSERT INTO fk_child VALUES (42)");
  int st = ms_tracker_txn_commit(x); /* frees x even though it fails */
  assert_int_not_equal(st, MS_OK);
  assert_non_null(strstr(ms_errmsg(), "tracker: commit"));
  assert_named_once();
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(rows(f->t, "tracker_members"), 0);
  assert_int_equal(rows(f->t, "temp.fk_child"), 0);
  /* and the store is free again */
  assert_int_equal(admit1(f->t, "c", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_OK);
}

/* SQLite rolls a whole transaction back by itself after some errors (disk
 * full, I/O). Simulated here with a ROLLBACK behind the tracker's back: the
 * tick must refuse further work instead of running it in autocommitted
 * transactions that a later rollback could not undo. */
static void a_tick_rolled_back_underneath_is_refused(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  for (int end_with_commit = 0; end_with_commit < 2; end_with_commit++) {
    ms_tracker_txn *x = NULL;
    assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
    assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
    exec_sql(f->t, "ROLLBACK");
    assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_ECLOSED);
    assert_string_equal(ms_errmsg(), "tracker: txn_admit 'b': the tick's transaction was already rolled back by the "
                                     "database after an earlier error; none of its admits stand; roll the tick back "
                                     "and begin a new one");
    assert_int_equal(ms_tracker_txn_release(x, "a", NULL), MS_ECLOSED);
    if (end_with_commit) {
      assert_int_equal(ms_tracker_txn_commit(x), MS_ECLOSED); /* the admits are not durable: say so */
      assert_non_null(strstr(ms_errmsg(), "tracker: commit"));
    } else {
      ms_tracker_txn_rollback(x);
    }
    assert_int_equal(rows(f->t, "tracker_members"), 0);
    /* the lock was released either way */
    assert_int_equal(admit1(f->t, "c", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_OK);
    assert_int_equal(ms_tracker_release(f->t, "c", NULL), MS_OK);
  }
}

/* Only the thread that began a tick may use or end it. */
typedef struct intruder {
  ms_tracker_txn *x;
  int admit_st, release_st, commit_st, named;
} intruder;

static void *use_foreign_tick(void *arg) {
  intruder *in = arg;
  const char *sc[] = {"keypair:A"};
  in->admit_st = ms_tracker_txn_admit(in->x, "intruder", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL);
  in->named = strstr(ms_errmsg(), "another thread") != NULL;
  in->release_st = ms_tracker_txn_release(in->x, "a", NULL);
  in->commit_st = ms_tracker_txn_commit(in->x);
  ms_tracker_txn_rollback(in->x); /* refused: sets the message, frees nothing */
  in->named = in->named && strstr(ms_errmsg(), "tracker: rollback") != NULL;
  return NULL;
}

static void a_tick_belongs_to_its_thread(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  intruder in = {x, -1, -1, -1, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, use_foreign_tick, &in), 0);
  pthread_join(th, NULL);
  assert_int_equal(in.admit_st, MS_EINVAL);
  assert_int_equal(in.release_st, MS_EINVAL);
  assert_int_equal(in.commit_st, MS_EINVAL);
  assert_true(in.named);
  /* the tick is intact: its owner goes on and commits it */
  assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 2);
  assert_int_equal(held(f->t, "intruder"), 0);
}

typedef struct waiter {
  ms_tracker *t;
  int status;
} waiter;

static void *admit_from_thread(void *arg) {
  waiter *w = arg;
  w->status = admit1(w->t, "other-thread", MS_CLASS_COMPUTE, "keypair:A", NULL);
  return NULL;
}

/* Another thread's admit waits for the tick and then sees its admits: the
 * outcome does not depend on timing, only on the tick holding the store. */
static void other_threads_wait_for_the_tick(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  const char *sc[] = {"keypair:A"};
  assert_int_equal(ms_tracker_txn_admit(x, "tick", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  waiter w = {f->t, -1};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, admit_from_thread, &w), 0);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  pthread_join(th, NULL);
  assert_int_equal(w.status, MS_ELIMIT);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 1);
}

static void full_reconcile(void **state) {
  fx *f = *state;
  const char *xy[] = {"X", "Y"}, *x[] = {"X"}, *z[] = {"Z"}, *xw[] = {"X", "W"};
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, xy, 2, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, x, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "c", MS_CLASS_COMPUTE, z, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "k", MS_CLASS_SYSTEM, z, 1, 0, T0, NULL), MS_OK);
  /* an expired session does not count as held before or after */
  assert_int_equal(ms_tracker_admit(f->t, "old", MS_CLASS_COMPUTE, x, 1, MS_SEC(1), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_set_limit(f->t, "X", MS_CLASS_COMPUTE, 1), MS_OK);

  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(f->t, NULL, &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "a", MS_CLASS_COMPUTE, x, 1), MS_OK);  /* loses Y */
  assert_int_equal(ms_reconcile_add(r, "b", MS_CLASS_COMPUTE, xw, 2), MS_OK); /* gains W */
  assert_int_equal(ms_reconcile_add(r, "b", MS_CLASS_COMPUTE, x, 1), MS_OK);  /* listed twice: merged */
  assert_int_equal(ms_reconcile_add(r, "d", MS_CLASS_COMPUTE, z, 1), MS_OK);  /* new */
  assert_int_equal(ms_reconcile_add(r, "k", MS_CLASS_COMPUTE, z, 1), MS_OK);  /* class changes */
  assert_int_equal(ms_reconcile_add(r, "", MS_CLASS_COMPUTE, z, 1), MS_EINVAL);
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, T0 + MS_SEC(2), &added, &removed), MS_OK);
  /* added: b/W, d/Z, k/Z(compute); removed: a/Y, c/Z, k/Z(system) */
  assert_int_equal(added, 3);
  assert_int_equal(removed, 3);
  int64_t now = T0 + MS_SEC(2);
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, now), 2); /* above its limit: the list is the truth */
  assert_int_equal(used(f->t, "Y", MS_CLASS_COMPUTE, now), 0);
  assert_int_equal(used(f->t, "W", MS_CLASS_COMPUTE, now), 1);
  assert_int_equal(used(f->t, "Z", MS_CLASS_COMPUTE, now), 2);
  assert_int_equal(used(f->t, "Z", MS_CLASS_SYSTEM, now), 0);
  assert_int_equal(held(f->t, "c"), 0);
  assert_int_equal(held(f->t, "old"), 0);
  assert_int_equal(rows(f->t, "tracker_sessions"), 4);
  /* the same list again changes nothing */
  assert_int_equal(ms_tracker_reconcile_begin(f->t, NULL, &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "a", MS_CLASS_COMPUTE, x, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "b", MS_CLASS_COMPUTE, xw, 2), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "d", MS_CLASS_COMPUTE, z, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "k", MS_CLASS_COMPUTE, z, 1), MS_OK);
  assert_int_equal(ms_reconcile_commit(r, now, &added, &removed), MS_OK);
  assert_int_equal(added, 0);
  assert_int_equal(removed, 0);
  /* an empty list empties every scope */
  assert_int_equal(ms_tracker_reconcile_begin(f->t, NULL, &r), MS_OK);
  assert_int_equal(ms_reconcile_commit(r, now, &added, &removed), MS_OK);
  assert_int_equal(added, 0);
  assert_int_equal(removed, 5);
  assert_int_equal(rows(f->t, "tracker_sessions"), 0);
  assert_int_equal(rows(f->t, "tracker_members"), 0);
}

static void scoped_reconcile_touches_one_scope(void **state) {
  fx *f = *state;
  const char *xw[] = {"X", "W"}, *x[] = {"X"}, *xq[] = {"X", "Q"}, *q[] = {"Q"};
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, x, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, xw, 2, MS_SEC(100), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "s", MS_CLASS_SYSTEM, x, 1, 0, T0, NULL), MS_OK);
  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(f->t, "X", &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "a", MS_CLASS_COMPUTE, xq, 2), MS_OK); /* Q ignored */
  assert_int_equal(ms_reconcile_add(r, "e", MS_CLASS_COMPUTE, q, 1), MS_OK);  /* not in X: ignored */
  assert_int_equal(ms_reconcile_add(r, "n", MS_CLASS_COMPUTE, xq, 2), MS_OK); /* new in X only */
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_OK);
  assert_int_equal(added, 1);   /* n/X */
  assert_int_equal(removed, 2); /* b/X, s/X(system) */
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0), 2);
  assert_int_equal(used(f->t, "X", MS_CLASS_SYSTEM, T0), 0);
  assert_int_equal(used(f->t, "Q", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(used(f->t, "W", MS_CLASS_COMPUTE, T0), 1); /* b keeps W and its lease */
  assert_int_equal(used(f->t, "W", MS_CLASS_COMPUTE, T0 + MS_SEC(100)), 0);
  assert_int_equal(held(f->t, "e"), 0);
  assert_int_equal(held(f->t, "s"), 0); /* in no set any more: forgotten */
  /* a class that differs from the held one is a conflict; nothing changes */
  assert_int_equal(ms_tracker_reconcile_begin(f->t, "X", &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "a", MS_CLASS_SYSTEM, x, 1), MS_OK);
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "'a'"));
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0), 2);
  /* a session listed with two classes: conflict, nothing changes */
  assert_int_equal(ms_tracker_reconcile_begin(f->t, NULL, &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "z", MS_CLASS_SYSTEM, x, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "z", MS_CLASS_COMPUTE, x, 1), MS_OK);
  added = removed = 77;
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_ECONFLICT);
  assert_int_equal(added, 77);
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0), 2);
  /* abort drops the list */
  assert_int_equal(ms_tracker_reconcile_begin(f->t, "X", &r), MS_OK);
  ms_reconcile_rollback(r);
  ms_reconcile_rollback(NULL);
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0), 2);
}

/* A session listed with two classes after a duplicate entry: the conflict is
 * found before duplicates are dropped, so every entry is freed exactly once
 * (an earlier version freed one twice here). */
static void reconcile_conflict_after_duplicates(void **state) {
  fx *f = *state;
  const char *x[] = {"X"}, *y[] = {"Y"};
  assert_int_equal(ms_tracker_admit(f->t, "keep", MS_CLASS_COMPUTE, x, 1, 0, T0, NULL), MS_OK);
  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(f->t, NULL, &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "a", MS_CLASS_COMPUTE, x, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "a", MS_CLASS_COMPUTE, x, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "b", MS_CLASS_COMPUTE, x, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "b", MS_CLASS_SYSTEM, y, 1), MS_OK);
  int64_t added = 9, removed = 9;
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "session 'b' is listed with classes"));
  assert_int_equal(added, 9);
  assert_int_equal(removed, 9);
  assert_int_equal(rows(f->t, "tracker_members"), 1);
  assert_int_equal(held(f->t, "keep"), 1);
}

static void bad_input_is_einval_and_changes_nothing(void **state) {
  fx *f = *state;
  char long_scope[300];
  memset(long_scope, 's', 256);
  long_scope[256] = '\0';
  char max_scope[256];
  memset(max_scope, 'm', 255);
  max_scope[255] = '\0';
  const char *ok[] = {"user:U"};
  const char *with_null[] = {"user:U", NULL};
  const char *with_empty[] = {"user:U", ""};
  const char *with_long[] = {"user:U", long_scope};
  ms_tracker *t = f->t;
  assert_int_equal(ms_tracker_set_limit(t, "user:U", MS_CLASS_COMPUTE, 0), MS_OK);
  ms_denial d;
  memset(&d, 0x11, sizeof d);
  ms_denial d0 = d;
#define EINVAL_NAMED(call, word)                      \
  do {                                                \
    assert_int_equal((call), MS_EINVAL);              \
    assert_non_null(strstr(ms_errmsg(), (word)));     \
    assert_named_once();                              \
  } while (0)
  EINVAL_NAMED(ms_tracker_admit(t, NULL, MS_CLASS_COMPUTE, ok, 1, 0, T0, &d), "session id is NULL");
  EINVAL_NAMED(ms_tracker_admit(t, "", MS_CLASS_COMPUTE, ok, 1, 0, T0, &d), "session id is empty");
  EINVAL_NAMED(ms_tracker_admit(t, long_scope, MS_CLASS_COMPUTE, ok, 1, 0, T0, &d), "longer than 255");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, NULL, 1, 0, T0, &d), "scopes is NULL");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, ok, 0, 0, T0, &d), "n_scopes is 0");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, with_null, 2, 0, T0, &d), "scope #1 is NULL");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, with_empty, 2, 0, T0, &d), "scope #1 is empty");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, with_long, 2, 0, T0, &d), "longer than 255");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, ok, MS_TRACKER_MAX_SCOPES + 1, 0, T0, &d), "MAX_SCOPES");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, ok, 1, -1, T0, &d), "negative");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, ok, 1, INT64_MAX, T0, &d), "overflows");
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, ok, 1, 0, -5, &d), "epoch");
  EINVAL_NAMED(ms_tracker_admit(t, "s", (ms_session_class)7, ok, 1, 0, T0, &d), "class 7");
  EINVAL_NAMED(ms_tracker_admit(NULL, "s", MS_CLASS_COMPUTE, ok, 1, 0, T0, &d), "tracker is NULL");
  assert_memory_equal(&d, &d0, sizeof d); /* untouched: not a denial */
  EINVAL_NAMED(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, ok, 1, 1, INT64_MAX, &d), "overflows");
  assert_memory_equal(&d, &d0, sizeof d); /* untouched: not a denial */
  /* inside a tick: the same checks, and the tick is left as it was */
  ms_tracker_txn *tx = NULL;
  assert_int_equal(ms_tracker_begin(t, &tx), MS_OK);
  EINVAL_NAMED(ms_tracker_txn_admit(tx, NULL, MS_CLASS_COMPUTE, ok, 1, 0, T0, &d), "session id is NULL");
  EINVAL_NAMED(ms_tracker_txn_admit(tx, "s", MS_CLASS_COMPUTE, ok, 0, 0, T0, &d), "n_scopes is 0");
  EINVAL_NAMED(ms_tracker_txn_admit(tx, "s", MS_CLASS_COMPUTE, with_long, 2, 0, T0, &d), "longer than 255");
  EINVAL_NAMED(ms_tracker_txn_admit(tx, "s", MS_CLASS_COMPUTE, ok, 1, -1, T0, &d), "negative");
  EINVAL_NAMED(ms_tracker_txn_admit(tx, "s", (ms_session_class)-1, ok, 1, 0, T0, &d), "class -1");
  EINVAL_NAMED(ms_tracker_txn_release(tx, "", NULL), "session id is empty");
  EINVAL_NAMED(ms_tracker_txn_admit(NULL, "s", MS_CLASS_COMPUTE, ok, 1, 0, T0, &d), "transaction is NULL");
  assert_memory_equal(&d, &d0, sizeof d);
  assert_int_equal(ms_tracker_txn_commit(tx), MS_OK);
  EINVAL_NAMED(ms_tracker_set_limit(t, "user:U", MS_CLASS_COMPUTE, -2), "tracker: set_limit 'user:U': limit -2");
  EINVAL_NAMED(ms_tracker_set_limit(t, "user:U", (ms_session_class)2, 5),
               "tracker: set_limit 'user:U': session class 2");
  EINVAL_NAMED(ms_tracker_set_limit(NULL, "user:U", MS_CLASS_COMPUTE, 5), "tracker is NULL");
  EINVAL_NAMED(ms_tracker_set_limit(t, NULL, MS_CLASS_COMPUTE, 5), "scope is NULL");
  EINVAL_NAMED(ms_tracker_set_limit(t, long_scope, MS_CLASS_COMPUTE, 1), "longer than 255");
  EINVAL_NAMED(ms_tracker_set_limit(t, "", MS_CLASS_COMPUTE, 1), "scope is empty");
  int was = 7;
  EINVAL_NAMED(ms_tracker_release(t, NULL, &was), "session id is NULL");
  EINVAL_NAMED(ms_tracker_release(t, "", &was), "session id is empty");
  EINVAL_NAMED(ms_tracker_release(t, long_scope, &was), "longer than 255");
  EINVAL_NAMED(ms_tracker_release(NULL, "s", &was), "tracker is NULL");
  assert_int_equal(was, 7);
  EINVAL_NAMED(ms_tracker_renew(t, "s", -1, T0), "tracker: renew 's': lease -1 us is negative");
  EINVAL_NAMED(ms_tracker_renew(t, NULL, 1, T0), "session id is NULL");
  EINVAL_NAMED(ms_tracker_renew(t, "s", 1, -1), "epoch");
  EINVAL_NAMED(ms_tracker_renew(t, "s", INT64_MAX, T0), "overflows");
  int64_t n = 99;
  EINVAL_NAMED(ms_tracker_get_used(t, NULL, MS_CLASS_COMPUTE, T0, &n), "scope is NULL");
  EINVAL_NAMED(ms_tracker_get_used(t, "", MS_CLASS_COMPUTE, T0, &n), "scope is empty");
  EINVAL_NAMED(ms_tracker_get_used(t, long_scope, MS_CLASS_COMPUTE, T0, &n), "longer than 255");
  EINVAL_NAMED(ms_tracker_get_used(t, "user:U", (ms_session_class)9, T0, &n), "tracker: used 'user:U': session class 9");
  EINVAL_NAMED(ms_tracker_get_used(t, "user:U", MS_CLASS_COMPUTE, -1, &n), "epoch");
  EINVAL_NAMED(ms_tracker_get_used(t, "user:U", MS_CLASS_COMPUTE, T0, NULL), "used is NULL");
  EINVAL_NAMED(ms_tracker_get_limit(t, "user:U", (ms_session_class)9, &n), "session class 9");
  EINVAL_NAMED(ms_tracker_get_limit(t, "", MS_CLASS_COMPUTE, &n), "scope is empty");
  EINVAL_NAMED(ms_tracker_get_limit(t, "user:U", MS_CLASS_COMPUTE, NULL), "limit is NULL");
  assert_int_equal(n, 99);
  ms_reconcile *r = (ms_reconcile *)(uintptr_t)0x1;
  EINVAL_NAMED(ms_tracker_reconcile_begin(t, "", &r), "scope is empty");
  EINVAL_NAMED(ms_tracker_reconcile_begin(t, long_scope, &r), "longer than 255");
  EINVAL_NAMED(ms_tracker_reconcile_begin(NULL, NULL, &r), "tracker is NULL");
  assert_ptr_equal(r, (ms_reconcile *)(uintptr_t)0x1);
  assert_int_equal(ms_tracker_reconcile_begin(t, NULL, &r), MS_OK);
  EINVAL_NAMED(ms_reconcile_add(r, "s", MS_CLASS_COMPUTE, ok, 0), "n_scopes is 0");
  EINVAL_NAMED(ms_reconcile_add(r, "s", MS_CLASS_COMPUTE, NULL, 1), "scopes is NULL");
  EINVAL_NAMED(ms_reconcile_add(r, "s", MS_CLASS_COMPUTE, with_long, 2), "longer than 255");
  EINVAL_NAMED(ms_reconcile_add(r, "s", MS_CLASS_COMPUTE, with_empty, 2), "scope #1 is empty");
  EINVAL_NAMED(ms_reconcile_add(r, "s", (ms_session_class)3, ok, 1), "reconcile_add 's': session class 3");
  EINVAL_NAMED(ms_reconcile_add(r, NULL, MS_CLASS_COMPUTE, ok, 1), "session id is NULL");
  EINVAL_NAMED(ms_reconcile_add(NULL, "s", MS_CLASS_COMPUTE, ok, 1), "reconcile is NULL");
  /* a failed add left the list as it was: committing it (empty) removes
   * nothing, since nothing is held */
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_OK);
  assert_int_equal(added, 0);
  assert_int_equal(removed, 0);
  assert_int_equal(ms_tracker_reconcile_begin(t, NULL, &r), MS_OK);
  added = removed = 4;
  EINVAL_NAMED(ms_reconcile_commit(r, -1, &added, &removed), "epoch"); /* frees r */
  assert_int_equal(added, 4);
  EINVAL_NAMED(ms_reconcile_commit(NULL, T0, &added, &removed), "reconcile is NULL");
  ms_tracker_txn *x = (ms_tracker_txn *)(uintptr_t)0x1;
  EINVAL_NAMED(ms_tracker_begin(t, NULL), "out is NULL");
  EINVAL_NAMED(ms_tracker_begin(NULL, &x), "tracker is NULL");
  assert_ptr_equal(x, (ms_tracker_txn *)(uintptr_t)0x1);
  ms_tracker *t2 = (ms_tracker *)(uintptr_t)0x1;
  EINVAL_NAMED(ms_tracker_open(NULL, &t2), "store is NULL");
  assert_ptr_equal(t2, (ms_tracker *)(uintptr_t)0x1);
  EINVAL_NAMED(ms_tracker_open(f->s, NULL), "out is NULL");
  /* nothing changed */
  int64_t lim = 0;
  assert_int_equal(ms_tracker_get_limit(t, "user:U", MS_CLASS_COMPUTE, &lim), MS_OK);
  assert_int_equal(lim, 0);
  assert_int_equal(rows(t, "tracker_sessions"), 0);
  /* 255 bytes is fine, and the denial holds it whole */
  const char *maxv[] = {max_scope};
  assert_int_equal(ms_tracker_set_limit(t, max_scope, MS_CLASS_COMPUTE, 0), MS_OK);
  assert_int_equal(ms_tracker_admit(t, "s", MS_CLASS_COMPUTE, maxv, 1, 0, T0, &d), MS_ELIMIT);
  assert_string_equal(d.scope, max_scope);
  /* and a 255-byte session id is admitted and released */
  assert_int_equal(ms_tracker_admit(t, max_scope, MS_CLASS_COMPUTE, ok, 1, 0, T0, &d), MS_ELIMIT);
  const char *other[] = {"user:V"};
  assert_int_equal(ms_tracker_admit(t, max_scope, MS_CLASS_COMPUTE, other, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_release(t, max_scope, &was), MS_OK);
  assert_int_equal(was, 1);
}

static void state_survives_reopen(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 2), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, sc, 1, MS_SEC(60), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  ms_tracker_close(f->t);
  ms_store_close(f->s);
  assert_int_equal(ms_store_open(f->db, 0, &f->s), MS_OK);
  assert_int_equal(ms_tracker_open(f->s, &f->t), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 2);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0 + MS_SEC(60)), 1);
  assert_int_equal(ms_tracker_admit(f->t, "c", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_ELIMIT);
}

/* Two handles on one file (as two processes would have) see each other. */
static void two_handles_share_the_sets(void **state) {
  fx *f = *state;
  ms_store *s2 = NULL;
  ms_tracker *t2 = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s2), MS_OK);
  assert_int_equal(ms_tracker_open(s2, &t2), MS_OK);
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  assert_int_equal(admit1(f->t, "a", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_OK);
  assert_int_equal(admit1(t2, "b", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_ELIMIT);
  assert_int_equal(ms_tracker_release(t2, "a", NULL), MS_OK);
  assert_int_equal(admit1(t2, "b", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 1);
  ms_tracker_close(t2);
  ms_store_close(s2);
}

static void held_reports_live_sessions(void **state) {
  fx *f = *state;
  const char *sc[] = {"user:U"};
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_SYSTEM, sc, 1, MS_SEC(10), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  int h = -1;
  ms_session_class c = MS_CLASS_COMPUTE;
  int64_t exp = -1;
  assert_int_equal(ms_tracker_get_held(f->t, "a", T0, &h, &c, &exp), MS_OK);
  assert_int_equal(h, 1);
  assert_int_equal(c, MS_CLASS_SYSTEM);
  assert_int_equal(exp, T0 + MS_SEC(10));
  assert_int_equal(ms_tracker_get_held(f->t, "b", T0, &h, &c, &exp), MS_OK);
  assert_int_equal(h, 1);
  assert_int_equal(c, MS_CLASS_COMPUTE);
  assert_int_equal(exp, 0);
  /* expired: not held, and the other outputs are left alone */
  exp = -1;
  assert_int_equal(ms_tracker_get_held(f->t, "a", T0 + MS_SEC(10), &h, &c, &exp), MS_OK);
  assert_int_equal(h, 0);
  assert_int_equal(exp, -1);
  assert_int_equal(ms_tracker_get_held(f->t, "zzz", T0, &h, NULL, NULL), MS_OK);
  assert_int_equal(h, 0);
  h = 5;
  assert_int_equal(ms_tracker_get_held(f->t, "", T0, &h, NULL, NULL), MS_EINVAL);
  assert_int_equal(h, 5);
  assert_int_equal(ms_tracker_get_held(f->t, "a", T0, NULL, NULL, NULL), MS_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(exact_at_the_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(limit_zero_unlimited_and_lowering, setup, teardown),
      cmocka_unit_test_setup_teardown(all_or_nothing_across_scopes, setup, teardown),
      cmocka_unit_test_setup_teardown(classes_are_separate, setup, teardown),
      cmocka_unit_test_setup_teardown(retries_never_count_twice, setup, teardown),
      cmocka_unit_test_setup_teardown(release_is_idempotent, setup, teardown),
      cmocka_unit_test_setup_teardown(leases_expire_and_renew, setup, teardown),
      cmocka_unit_test_setup_teardown(lease_boundary_is_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(purge_is_bounded_but_complete, setup, teardown),
      cmocka_unit_test_setup_teardown(tick_transactions, setup, teardown),
      cmocka_unit_test_setup_teardown(same_thread_during_a_tick_is_busy, setup, teardown),
      cmocka_unit_test_setup_teardown(another_handle_waits_then_gives_up, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_commit_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(a_tick_rolled_back_underneath_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(a_tick_belongs_to_its_thread, setup, teardown),
      cmocka_unit_test_setup_teardown(other_threads_wait_for_the_tick, setup, teardown),
      cmocka_unit_test_setup_teardown(full_reconcile, setup, teardown),
      cmocka_unit_test_setup_teardown(scoped_reconcile_touches_one_scope, setup, teardown),
      cmocka_unit_test_setup_teardown(reconcile_conflict_after_duplicates, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_input_is_einval_and_changes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(state_survives_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(two_handles_share_the_sets, setup, teardown),
      cmocka_unit_test_setup_teardown(held_reports_live_sessions, setup, teardown),
  };
  return cmocka_run_group_tests_name("tracker", tests, NULL, NULL);
}
