/* Unit tests: the tracker's reconcile (lib/tracker/reconcile.c). */
#include "test_tracker_fixture.h"

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

/* A reconcile recomputes the counts of what it reconciled from the rows: a
 * count a damaged database got wrong is right again afterwards (a full
 * reconcile: every pair; a scoped one: that scope's pairs). */
static void a_full_reconcile_rebuilds_wrong_counts(void **state) {
  fx *f = *state;
  const char *xy[] = {"X", "Y"};
  assert_int_equal(ms_tracker_set_limit(f->t, "X", MS_CLASS_COMPUTE, 3), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, xy, 2, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "b", MS_CLASS_COMPUTE, xy, 2, MS_SEC(10), T0, NULL), MS_OK);
  exec_sql(f->t, "UPDATE tracker_members SET n = 7 WHERE scope = 'X' AND session = ''; "
                 "UPDATE tracker_members SET n = 0 WHERE scope = 'Y' AND session = ''");
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0), 7); /* the damage shows */
  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(f->t, "Y", &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "a", MS_CLASS_COMPUTE, xy, 2), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "b", MS_CLASS_COMPUTE, xy, 2), MS_OK);
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_OK);
  assert_int_equal(added, 0);
  assert_int_equal(removed, 0);
  assert_int_equal(used(f->t, "Y", MS_CLASS_COMPUTE, T0), 2); /* the scoped one fixed its scope */
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0), 7); /* and left the others */
  assert_int_equal(ms_tracker_reconcile_begin(f->t, NULL, &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "a", MS_CLASS_COMPUTE, xy, 2), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "b", MS_CLASS_COMPUTE, xy, 2), MS_OK);
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_OK);
  assert_int_equal(added, 0);
  assert_int_equal(removed, 0);
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0), 2);
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0 + MS_SEC(10)), 1);
  assert_consistent(f->t);
  /* right again: one more fits the limit of 3, then X is full */
  assert_int_equal(admit1(f->t, "c", MS_CLASS_COMPUTE, "X", NULL), MS_OK);
  assert_int_equal(admit1(f->t, "d", MS_CLASS_COMPUTE, "X", NULL), MS_ELIMIT);
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_tracker_reconcile");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      FX_TEST(full_reconcile),
      FX_TEST(scoped_reconcile_touches_one_scope),
      FX_TEST(reconcile_conflict_after_duplicates),
      FX_TEST(a_full_reconcile_rebuilds_wrong_counts),
  };
  return cmocka_run_group_tests_name("tracker_reconcile", tests, NULL, NULL);
}
