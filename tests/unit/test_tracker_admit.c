/* Unit tests: the tracker's admission, release and renewal (lib/tracker/admit.c). */
#include "test_tracker_fixture.h"

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
  assert_string_equal(ms_errmsg(),
                      "tracker: ms_tracker_admit: session 's3': scope 'keypair:AK1' is full (3 of 3 compute sessions)");
  assert_int_equal(held(f->t, "s3"), 0);
  assert_int_equal(used(f->t, "keypair:AK1", MS_CLASS_COMPUTE, T0), 3);
  /* NULL denial is allowed and the result is the same */
  assert_int_equal(admit1(f->t, "s3", MS_CLASS_COMPUTE, "keypair:AK1", NULL), MS_ELIMIT);
  /* one leaves, one more fits, exactly */
  int was = -1;
  assert_int_equal(ms_tracker_release(f->t, "s0", T0, &was), MS_OK);
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
  assert_int_equal(ms_tracker_release(f->t, "first", T0, NULL), MS_OK);
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
  assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_admit: session 's'"));
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
  assert_int_equal(ms_tracker_release(f->t, "s", T0, &was), MS_OK);
  assert_int_equal(was, 1);
  assert_int_equal(ms_tracker_release(f->t, "s", T0, &was), MS_OK);
  assert_int_equal(was, 0);
  was = -1;
  assert_int_equal(ms_tracker_release(f->t, "never-seen", T0, &was), MS_OK);
  assert_int_equal(was, 0);
  assert_int_equal(ms_tracker_release(f->t, "s", T0, NULL), MS_OK);
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
  assert_int_equal(ms_tracker_release(f->t, "b", T0, NULL), MS_OK);
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
  assert_int_equal(ms_tracker_release(f->t, "b", T0, NULL), MS_OK);
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

/* A session whose lease ended is not held any more, purged or not: its
 * release says so (was_held = 0) and still removes its rows. */
static void release_of_an_expired_lease_was_not_held(void **state) {
  fx *f = *state;
  const char *sc[] = {"user:U", "domain:D"};
  assert_int_equal(ms_tracker_admit(f->t, "l", MS_CLASS_COMPUTE, sc, 2, MS_SEC(10), T0, NULL), MS_OK);
  int was = -1;
  assert_int_equal(ms_tracker_release(f->t, "l", T0 + MS_SEC(10) - 1, &was), MS_OK);
  assert_int_equal(was, 1); /* one microsecond before its end: held */
  assert_int_equal(ms_tracker_admit(f->t, "l", MS_CLASS_COMPUTE, sc, 2, MS_SEC(10), T0, NULL), MS_OK);
  assert_int_equal(held(f->t, "l"), 1); /* not purged */
  was = -1;
  assert_int_equal(ms_tracker_release(f->t, "l", T0 + MS_SEC(10), &was), MS_OK);
  assert_int_equal(was, 0);
  assert_int_equal(held(f->t, "l"), 0);
  assert_int_equal(rows(f->t, "tracker_members"), 0);
  assert_int_equal(ms_tracker_release(f->t, "l", T0, &was), MS_OK);
  assert_int_equal(was, 0);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_admit(f->t, "m", MS_CLASS_COMPUTE, sc, 2, MS_SEC(1), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  was = -1;
  assert_int_equal(ms_tracker_txn_release(x, "m", T0 + MS_SEC(1), &was), MS_OK);
  assert_int_equal(was, 0);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(held(f->t, "m"), 0);
  assert_consistent(f->t);
}

/* Many more expired sessions than one admission purges (a crashed host's
 * leases), in a scope at its limit by its rows: every decision and every
 * count is still exact, each admission purges a bounded batch, and the
 * backlog drains as admissions come by. */
static void a_backlog_of_expired_leases_stays_exact(void **state) {
  fx *f = *state;
  const char *d[] = {"domain:D"};
  char sid[32];
  assert_int_equal(ms_tracker_set_limit(f->t, "domain:D", MS_CLASS_COMPUTE, 150), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  for (int i = 0; i < 140; i++) { /* 140 leases of a host that dies */
    snprintf(sid, sizeof sid, "dead%d", i);
    assert_int_equal(ms_tracker_txn_admit(x, sid, MS_CLASS_COMPUTE, d, 1, MS_SEC(5), T0, NULL), MS_OK);
  }
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  for (int i = 0; i < 10; i++) { /* and 10 that live on */
    snprintf(sid, sizeof sid, "live%d", i);
    assert_int_equal(ms_tracker_admit(f->t, sid, MS_CLASS_COMPUTE, d, 1, 0, T0, NULL), MS_OK);
  }
  ms_denial den;
  assert_int_equal(ms_tracker_admit(f->t, "no", MS_CLASS_COMPUTE, d, 1, 0, T0 + MS_SEC(5) - 1, &den), MS_ELIMIT);
  assert_int_equal(den.used, 150);
  const int64_t later = T0 + MS_SEC(5);
  assert_int_equal(used(f->t, "domain:D", MS_CLASS_COMPUTE, later), 10);
  /* fill the scope to its limit again: 140 admissions, each exact */
  int64_t before = rows(f->t, "tracker_sessions");
  for (int i = 0; i < 140; i++) {
    snprintf(sid, sizeof sid, "new%d", i);
    assert_int_equal(ms_tracker_admit(f->t, sid, MS_CLASS_COMPUTE, d, 1, 0, later, NULL), MS_OK);
    assert_int_equal(used(f->t, "domain:D", MS_CLASS_COMPUTE, later), 11 + i);
    int64_t now_rows = rows(f->t, "tracker_sessions");
    /* one row more, at most a bounded batch of expired ones fewer */
    assert_true(now_rows <= before + 1 && now_rows >= before + 1 - 40);
    before = now_rows;
  }
  assert_int_equal(ms_tracker_admit(f->t, "full", MS_CLASS_COMPUTE, d, 1, 0, later, &den), MS_ELIMIT);
  assert_int_equal(den.used, 150);
  assert_int_equal(den.limit, 150);
  assert_int_equal(rows(f->t, "tracker_sessions"), 150); /* the backlog is gone */
  assert_consistent(f->t);
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_tracker_admit");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      FX_TEST(exact_at_the_limit),
      FX_TEST(limit_zero_unlimited_and_lowering),
      FX_TEST(all_or_nothing_across_scopes),
      FX_TEST(classes_are_separate),
      FX_TEST(retries_never_count_twice),
      FX_TEST(release_is_idempotent),
      FX_TEST(release_of_an_expired_lease_was_not_held),
      FX_TEST(leases_expire_and_renew),
      FX_TEST(lease_boundary_is_exact),
      FX_TEST(purge_is_bounded_but_complete),
      FX_TEST(a_backlog_of_expired_leases_stays_exact),
  };
  return cmocka_run_group_tests_name("tracker_admit", tests, NULL, NULL);
}
