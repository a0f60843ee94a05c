/* Unit tests: the tracker's handle, limits and lookups (lib/tracker/tracker.c, check.c). */
#include "test_tracker_fixture.h"

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
  EINVAL_NAMED(ms_tracker_txn_release(tx, "", T0, NULL), "session id is empty");
  EINVAL_NAMED(ms_tracker_txn_admit(NULL, "s", MS_CLASS_COMPUTE, ok, 1, 0, T0, &d), "transaction is NULL");
  assert_memory_equal(&d, &d0, sizeof d);
  assert_int_equal(ms_tracker_txn_commit(tx), MS_OK);
  EINVAL_NAMED(ms_tracker_set_limit(t, "user:U", MS_CLASS_COMPUTE, -2),
               "tracker: ms_tracker_set_limit: scope 'user:U': limit -2");
  EINVAL_NAMED(ms_tracker_set_limit(t, "user:U", (ms_session_class)2, 5),
               "tracker: ms_tracker_set_limit: scope 'user:U': session class 2");
  EINVAL_NAMED(ms_tracker_set_limit(NULL, "user:U", MS_CLASS_COMPUTE, 5), "tracker is NULL");
  EINVAL_NAMED(ms_tracker_set_limit(t, NULL, MS_CLASS_COMPUTE, 5), "scope is NULL");
  EINVAL_NAMED(ms_tracker_set_limit(t, long_scope, MS_CLASS_COMPUTE, 1), "longer than 255");
  EINVAL_NAMED(ms_tracker_set_limit(t, "", MS_CLASS_COMPUTE, 1), "scope is empty");
  int was = 7;
  EINVAL_NAMED(ms_tracker_release(t, NULL, T0, &was), "session id is NULL");
  EINVAL_NAMED(ms_tracker_release(t, "", T0, &was), "session id is empty");
  EINVAL_NAMED(ms_tracker_release(t, long_scope, T0, &was), "longer than 255");
  EINVAL_NAMED(ms_tracker_release(NULL, "s", T0, &was), "tracker is NULL");
  assert_int_equal(was, 7);
  EINVAL_NAMED(ms_tracker_renew(t, "s", -1, T0), "tracker: ms_tracker_renew: session 's': lease -1 us is negative");
  EINVAL_NAMED(ms_tracker_renew(t, NULL, 1, T0), "session id is NULL");
  EINVAL_NAMED(ms_tracker_renew(t, "s", 1, -1), "epoch");
  EINVAL_NAMED(ms_tracker_renew(t, "s", INT64_MAX, T0), "overflows");
  int64_t n = 99;
  EINVAL_NAMED(ms_tracker_get_used(t, NULL, MS_CLASS_COMPUTE, T0, &n), "scope is NULL");
  EINVAL_NAMED(ms_tracker_get_used(t, "", MS_CLASS_COMPUTE, T0, &n), "scope is empty");
  EINVAL_NAMED(ms_tracker_get_used(t, long_scope, MS_CLASS_COMPUTE, T0, &n), "longer than 255");
  EINVAL_NAMED(ms_tracker_get_used(t, "user:U", (ms_session_class)9, T0, &n),
               "tracker: ms_tracker_get_used: scope 'user:U': session class 9");
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
  EINVAL_NAMED(ms_reconcile_add(r, "s", (ms_session_class)3, ok, 1), "ms_reconcile_add: session 's': session class 3");
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
  assert_int_equal(ms_tracker_release(t, max_scope, T0, &was), MS_OK);
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
  assert_int_equal(ms_tracker_release(t2, "a", T0, NULL), MS_OK);
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

/* ms_tracker_next_expiry: the earliest lease end the tracker still has,
 * expired or not (at or before now: a purge is due); ms_tracker_purge
 * forgets what has expired, earliest first, and changes no count. */
static void next_expiry_and_purge(void **state) {
  fx *f = *state;
  int64_t at = 0;
  assert_int_equal(ms_tracker_next_expiry(f->t, &at), MS_OK);
  assert_true(at == INT64_MAX); /* nothing held */
  const char *sc[] = {"user:U"};
  assert_int_equal(ms_tracker_admit(f->t, "forever", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_next_expiry(f->t, &at), MS_OK);
  assert_true(at == INT64_MAX); /* no lease */
  char sid[16];
  for (int i = 0; i < 10; i++) {
    snprintf(sid, sizeof sid, "l%d", i);
    assert_int_equal(ms_tracker_admit(f->t, sid, MS_CLASS_COMPUTE, sc, 1, MS_SEC(10 + i), T0, NULL), MS_OK);
  }
  assert_int_equal(ms_tracker_next_expiry(f->t, &at), MS_OK);
  assert_int_equal(at, T0 + MS_SEC(10));
  assert_int_equal(ms_tracker_renew(f->t, "l0", MS_SEC(100), T0), MS_OK);
  assert_int_equal(ms_tracker_next_expiry(f->t, &at), MS_OK);
  assert_int_equal(at, T0 + MS_SEC(11));
  /* four have expired at T0 + 14 s; a purge of at most 3 forgets three */
  int64_t purged = -1, now = T0 + MS_SEC(14);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, now), 7);
  assert_int_equal(ms_tracker_purge(f->t, now, 3, &purged), MS_OK);
  assert_int_equal(purged, 3);
  assert_int_equal(held(f->t, "l1"), 0);
  assert_int_equal(held(f->t, "l4"), 1);
  assert_int_equal(ms_tracker_next_expiry(f->t, &at), MS_OK);
  assert_int_equal(at, T0 + MS_SEC(14)); /* due: l4 */
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, now), 7);
  assert_int_equal(ms_tracker_purge(f->t, now, 100, &purged), MS_OK);
  assert_int_equal(purged, 1);
  assert_int_equal(ms_tracker_purge(f->t, now, 100, NULL), MS_OK);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, now), 7);
  assert_int_equal(rows(f->t, "tracker_sessions"), 7);
  assert_int_equal(ms_tracker_next_expiry(f->t, &at), MS_OK);
  assert_int_equal(at, T0 + MS_SEC(15));
  assert_consistent(f->t);
  /* bad input changes nothing */
  purged = 5;
  assert_int_equal(ms_tracker_purge(f->t, now, 0, &purged), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_purge: max 0"));
  assert_int_equal(ms_tracker_purge(f->t, -1, 1, &purged), MS_EINVAL);
  assert_int_equal(ms_tracker_purge(NULL, now, 1, &purged), MS_EINVAL);
  assert_int_equal(purged, 5);
  at = 5;
  assert_int_equal(ms_tracker_next_expiry(NULL, &at), MS_EINVAL);
  assert_int_equal(ms_tracker_next_expiry(f->t, NULL), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_next_expiry: at_us is NULL"));
  assert_int_equal(at, 5);
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_tracker");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      FX_TEST(bad_input_is_einval_and_changes_nothing),
      FX_TEST(state_survives_reopen),
      FX_TEST(two_handles_share_the_sets),
      FX_TEST(held_reports_live_sessions),
      FX_TEST(next_expiry_and_purge),
  };
  return cmocka_run_group_tests_name("tracker", tests, NULL, NULL);
}
