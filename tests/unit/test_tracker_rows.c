/* Unit tests: the tracker's rows and counts (lib/tracker/rows.c, schema.c):
 * every count against a model and a full recount after random work, the
 * conversion of a database of the first schema, and the query plans of the
 * calls that must cost O(log n). */
#include "test_tracker_fixture.h"

#include "schema/schema.h"

/* ---- random work against a model ------------------------------------------------ */

#define N_IDS 40
#define N_SCOPES 6
static const char *const scope_name[N_SCOPES] = {"domain:D", "project:P", "user:a", "user:b", "keypair:K1",
                                                 "keypair:K2"};

typedef struct msess {
  int held, cls;
  int64_t exp;   /* 0: no lease */
  unsigned mask; /* its scopes */
} msess;

typedef struct model {
  msess s[N_IDS];
  int64_t limit[N_SCOPES][2];
} model;

static int mlive(const msess *s, int64_t now) { return s->held && (s->exp == 0 || now < s->exp); }

static int64_t mused(const model *m, int scope, int cls, int64_t now) {
  int64_t n = 0;
  for (int i = 0; i < N_IDS; i++)
    if (mlive(&m->s[i], now) && m->s[i].cls == cls && (m->s[i].mask >> scope & 1u)) n++;
  return n;
}

static unsigned rnd(unsigned *seed) { return (unsigned)rand_r(seed); }

static void sid_of(int i, char out[16]) { snprintf(out, 16, "s%02d", i); }

/* Admit id i through the tracker (x: in that tick) and the model alike. */
static void step_admit(ms_tracker *t, ms_tracker_txn *x, model *m, unsigned *seed, int64_t now) {
  int i = (int)(rnd(seed) % N_IDS);
  char sid[16];
  sid_of(i, sid);
  int cls = rnd(seed) % 5 == 0;
  size_t n = 1 + rnd(seed) % 3;
  const char *names[4];
  int idx[4];
  unsigned mask = 0;
  for (size_t k = 0; k < n; k++) {
    idx[k] = (int)(rnd(seed) % N_SCOPES);
    names[k] = scope_name[idx[k]];
    mask |= 1u << idx[k];
  }
  int64_t lease = rnd(seed) % 3 == 0 ? 0 : MS_SEC(1) + (int64_t)(rnd(seed) % 4000000);
  /* what the model says */
  int want = MS_OK, full = -1;
  msess *s = &m->s[i];
  if (mlive(s, now)) {
    want = s->cls == cls && s->mask == mask ? MS_OK : MS_ECONFLICT;
  } else {
    for (size_t k = 0; k < n && full < 0; k++) {
      int64_t lim = m->limit[idx[k]][cls];
      if (lim != MS_UNLIMITED && mused(m, idx[k], cls, now) >= lim) full = idx[k];
    }
    if (full >= 0) want = MS_ELIMIT;
  }
  ms_denial d;
  memset(&d, 0, sizeof d);
  int st = x ? ms_tracker_txn_admit(x, sid, (ms_session_class)cls, names, n, lease, now, &d)
             : ms_tracker_admit(t, sid, (ms_session_class)cls, names, n, lease, now, &d);
  if (st != want) fail_msg("admit %s at %lld: %s, the model says %s (%s)", sid, (long long)now, ms_status_name(st),
                           ms_status_name(want), ms_errmsg());
  if (st == MS_ELIMIT) {
    assert_string_equal(d.scope, scope_name[full]);
    assert_int_equal(d.limit, m->limit[full][cls]);
    assert_int_equal(d.used, mused(m, full, cls, now));
  }
  if (st == MS_OK && !mlive(s, now)) *s = (msess){1, cls, lease ? now + lease : 0, mask};
}

static void step_release(ms_tracker *t, ms_tracker_txn *x, model *m, unsigned *seed, int64_t now) {
  int i = (int)(rnd(seed) % N_IDS);
  char sid[16];
  sid_of(i, sid);
  int was = -1;
  int st = x ? ms_tracker_txn_release(x, sid, now, &was) : ms_tracker_release(t, sid, now, &was);
  assert_int_equal(st, MS_OK);
  assert_int_equal(was, mlive(&m->s[i], now));
  m->s[i].held = 0;
}

static void step_renew(ms_tracker *t, model *m, unsigned *seed, int64_t now) {
  int i = (int)(rnd(seed) % N_IDS);
  char sid[16];
  sid_of(i, sid);
  int64_t lease = rnd(seed) % 4 == 0 ? 0 : (int64_t)(rnd(seed) % 5000000);
  int st = ms_tracker_renew(t, sid, lease, now);
  if (!mlive(&m->s[i], now)) {
    assert_int_equal(st, MS_ENOTFOUND);
    return;
  }
  assert_int_equal(st, MS_OK);
  m->s[i].exp = lease ? now + lease : 0;
}

/* A full reconcile with the model's live sessions, a few of them dropped,
 * moved to other scopes or another class, and a few added. */
static void step_reconcile(ms_tracker *t, model *m, unsigned *seed, int64_t now) {
  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(t, NULL, &r), MS_OK);
  int64_t want_added = 0, want_removed = 0;
  for (int i = 0; i < N_IDS; i++) {
    msess *s = &m->s[i];
    int live = mlive(s, now);
    unsigned u = rnd(seed) % 20;
    if (!live) {
      s->held = 0; /* purged first; counted nowhere */
      if (u != 0) continue;
      *s = (msess){1, (int)(rnd(seed) % 2), 0, 1u << (rnd(seed) % N_SCOPES)}; /* new, no lease */
      want_added += __builtin_popcount(s->mask);
    } else if (u == 0) {
      want_removed += __builtin_popcount(s->mask);
      s->held = 0;
      continue;
    } else if (u == 1) {
      unsigned mask = (s->mask ^ (1u << (rnd(seed) % N_SCOPES))) | (1u << (rnd(seed) % N_SCOPES));
      want_added += __builtin_popcount(mask & ~s->mask);
      want_removed += __builtin_popcount(s->mask & ~mask);
      s->mask = mask;
    } else if (u == 2) {
      want_removed += __builtin_popcount(s->mask);
      want_added += __builtin_popcount(s->mask);
      s->cls = !s->cls;
      s->exp = 0; /* re-admitted with the listed class, no lease */
    }
    const char *names[N_SCOPES];
    size_t n = 0;
    for (int k = 0; k < N_SCOPES; k++)
      if (s->mask >> k & 1u) names[n++] = scope_name[k];
    char sid[16];
    sid_of(i, sid);
    assert_int_equal(ms_reconcile_add(r, sid, (ms_session_class)s->cls, names, n), MS_OK);
  }
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, now, &added, &removed), MS_OK);
  assert_int_equal(added, want_added);
  assert_int_equal(removed, want_removed);
}

/* A scoped reconcile listing exactly what the scope holds changes nothing
 * (and recounts the scope). */
static void step_scoped_reconcile(ms_tracker *t, model *m, unsigned *seed, int64_t now) {
  int k = (int)(rnd(seed) % N_SCOPES);
  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(t, scope_name[k], &r), MS_OK);
  for (int i = 0; i < N_IDS; i++) {
    msess *s = &m->s[i];
    if (!mlive(s, now)) {
      s->held = 0;
      continue;
    }
    if (!(s->mask >> k & 1u)) continue;
    char sid[16];
    sid_of(i, sid);
    const char *one[] = {scope_name[k]};
    assert_int_equal(ms_reconcile_add(r, sid, (ms_session_class)s->cls, one, 1), MS_OK);
  }
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, now, &added, &removed), MS_OK);
  assert_int_equal(added, 0);
  assert_int_equal(removed, 0);
}

static void compare(ms_tracker *t, const model *m, int64_t now, int step) {
  for (int k = 0; k < N_SCOPES; k++)
    for (int cls = 0; cls < 2; cls++) {
      int64_t want = mused(m, k, cls, now), got = used(t, scope_name[k], (ms_session_class)cls, now);
      if (got != want || recount(t, scope_name[k], cls, now) != want)
        fail_msg("step %d: %s/%d at %lld: used %lld, recount %lld, model %lld", step, scope_name[k], cls,
                 (long long)now, (long long)got, (long long)recount(t, scope_name[k], cls, now), (long long)want);
    }
}

static void counts_match_a_recount_after_random_work(void **state) {
  fx *f = *state;
  model m;
  memset(&m, 0, sizeof m);
  for (int k = 0; k < N_SCOPES; k++) m.limit[k][0] = m.limit[k][1] = MS_UNLIMITED;
  unsigned seed = 20240611;
  int64_t now = T0;
  int steps = ms_test_scale(3000);
  for (int step = 0; step < steps; step++) {
    now += (int64_t)(rnd(&seed) % 400000);
    unsigned op = rnd(&seed) % 100;
    if (op < 45) {
      step_admit(f->t, NULL, &m, &seed, now);
    } else if (op < 65) {
      step_release(f->t, NULL, &m, &seed, now);
    } else if (op < 72) {
      step_renew(f->t, &m, &seed, now);
    } else if (op < 82) { /* a tick: admits and releases, committed or rolled back */
      model tick = m;
      ms_tracker_txn *x = NULL;
      assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
      int n = 1 + (int)(rnd(&seed) % 12);
      for (int j = 0; j < n; j++) {
        if (rnd(&seed) % 4) step_admit(f->t, x, &tick, &seed, now);
        else step_release(f->t, x, &tick, &seed, now);
      }
      if (rnd(&seed) % 3) {
        assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
        m = tick;
      } else {
        ms_tracker_txn_rollback(x);
      }
    } else if (op < 88) {
      int k = (int)(rnd(&seed) % N_SCOPES), cls = rnd(&seed) % 4 == 0;
      int64_t lim = rnd(&seed) % 3 == 0 ? MS_UNLIMITED : (int64_t)(rnd(&seed) % 6);
      assert_int_equal(ms_tracker_set_limit(f->t, scope_name[k], (ms_session_class)cls, lim), MS_OK);
      m.limit[k][cls] = lim;
    } else if (op < 92) {
      int64_t purged = -1;
      assert_int_equal(ms_tracker_purge(f->t, now, 1 + (int64_t)(rnd(&seed) % 5), &purged), MS_OK);
    } else if (op < 95) {
      step_reconcile(f->t, &m, &seed, now);
    } else if (op < 97) {
      step_scoped_reconcile(f->t, &m, &seed, now);
    } else {
      fx_reopen(f);
    }
    compare(f->t, &m, now, step);
    if (step % 50 == 0) {
      assert_consistent(f->t);
      compare(f->t, &m, now + MS_SEC(2), step); /* counts at a later instant, before any purge */
    }
  }
  assert_consistent(f->t);
}

/* ---- the first schema's data, converted --------------------------------------------- */

static void a_first_schema_database_is_converted(void **state) {
  MS_TEST_SQLITE_ONLY(); /* SQLite files of older schemas, SQLite query plans */
  fx *f = *state;
  ms_tracker_close(f->t);
  ms_store_close(f->s);
  f->t = NULL;
  char *old = ms_test_path(f->dir, "v4.db");
  ms_store *s = NULL;
  assert_int_equal(ms__schema_open_at(old, 0, 4, &s), MS_OK);
  char sql[1024];
  snprintf(sql, sizeof sql,
           "INSERT INTO tracker_limits(scope, cls, max_sessions) VALUES ('X', 0, 2), ('Y', 1, 0), ('Q', 0, 9);"
           "INSERT INTO tracker_members(scope, cls, session, expires_us) VALUES "
           "('X', 0, 'a', NULL), ('Y', 0, 'a', NULL), ('X', 0, 'b', %lld), ('Z', 1, 'c', NULL), "
           "('X', 0, 'e', %lld), ('Y', 0, 'e', %lld)",
           (long long)(T0 + MS_SEC(10)), (long long)(T0 - 1), (long long)(T0 - 1));
  char *err = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s", err);
  ms_store_close(s);
  assert_int_equal(ms_store_open(old, 0, &f->s), MS_OK); /* migrates */
  assert_int_equal(ms_tracker_open(f->s, &f->t), MS_OK);
  assert_consistent(f->t);
  /* every pair's row sits after its members (schema 7), none in front (schema 5's place) */
  assert_int_equal(sql_int(f->t, "SELECT count(*) FROM tracker_members WHERE expires_us = -1"), 0);
  assert_int_equal(sql_int(f->t, "SELECT count(*) FROM tracker_members WHERE session = '' AND "
                                 "expires_us = 9223372036854775807"), 5); /* X, Y (both classes), Z, Q */
  int64_t lim = 0;
  assert_int_equal(ms_tracker_get_limit(f->t, "X", MS_CLASS_COMPUTE, &lim), MS_OK);
  assert_int_equal(lim, 2);
  assert_int_equal(ms_tracker_get_limit(f->t, "Y", MS_CLASS_SYSTEM, &lim), MS_OK);
  assert_int_equal(lim, 0);
  assert_int_equal(ms_tracker_get_limit(f->t, "Z", MS_CLASS_SYSTEM, &lim), MS_OK);
  assert_int_equal(lim, MS_UNLIMITED);
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0), 2); /* a, b; e had expired */
  assert_int_equal(used(f->t, "X", MS_CLASS_COMPUTE, T0 + MS_SEC(10)), 1);
  assert_int_equal(used(f->t, "Y", MS_CLASS_COMPUTE, T0), 1);
  assert_int_equal(used(f->t, "Z", MS_CLASS_SYSTEM, T0), 1);
  assert_int_equal(used(f->t, "Q", MS_CLASS_COMPUTE, T0), 0);
  int h = 0;
  ms_session_class c = MS_CLASS_COMPUTE;
  int64_t exp = -1;
  assert_int_equal(ms_tracker_get_held(f->t, "b", T0, &h, &c, &exp), MS_OK);
  assert_int_equal(h, 1);
  assert_int_equal(exp, T0 + MS_SEC(10));
  assert_int_equal(ms_tracker_get_held(f->t, "c", T0, &h, &c, &exp), MS_OK);
  assert_int_equal(c, MS_CLASS_SYSTEM);
  assert_int_equal(exp, 0);
  /* the converted sets behave: a retry, a conflict, a denial, a release */
  const char *yx[] = {"Y", "X"}, *x[] = {"X"};
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, yx, 2, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "a", MS_CLASS_COMPUTE, x, 1, 0, T0, NULL), MS_ECONFLICT);
  ms_denial d;
  assert_int_equal(ms_tracker_admit(f->t, "f", MS_CLASS_COMPUTE, x, 1, 0, T0, &d), MS_ELIMIT);
  assert_int_equal(d.used, 2);
  int was = 0;
  assert_int_equal(ms_tracker_release(f->t, "a", T0, &was), MS_OK);
  assert_int_equal(was, 1);
  assert_int_equal(ms_tracker_admit(f->t, "f", MS_CLASS_COMPUTE, x, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_release(f->t, "e", T0, &was), MS_OK);
  assert_int_equal(was, 0);
  assert_consistent(f->t);
  free(old);
}

/* ---- the last instant --------------------------------------------------------------------- */

/* A pair's own row has the largest lease-end key there is; at now_us =
 * INT64_MAX it is still not an expired member: not counted, not purged. */
static void the_pair_rows_are_never_expired_members(void **state) {
  fx *f = *state;
  ms_tracker *t = f->t;
  const int64_t end = INT64_MAX;
  const char *x[] = {"X"};
  assert_int_equal(ms_tracker_set_limit(t, "X", MS_CLASS_COMPUTE, 2), MS_OK);
  assert_int_equal(ms_tracker_admit(t, "a", MS_CLASS_COMPUTE, x, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(t, "b", MS_CLASS_COMPUTE, x, 1, end - T0, T0, NULL), MS_OK); /* ends at INT64_MAX */
  assert_int_equal(used(t, "X", MS_CLASS_COMPUTE, end - 1), 2);
  assert_int_equal(used(t, "X", MS_CLASS_COMPUTE, end), 1); /* b's lease is over, a has none */
  ms_denial d;
  assert_int_equal(ms_tracker_admit(t, "c", MS_CLASS_COMPUTE, x, 1, 0, end, &d), MS_OK); /* b's place */
  assert_int_equal(ms_tracker_admit(t, "e", MS_CLASS_COMPUTE, x, 1, 0, end, &d), MS_ELIMIT);
  assert_int_equal(d.used, 2);
  int64_t purged = -1;
  assert_int_equal(ms_tracker_purge(t, end, 100, &purged), MS_OK);
  assert_int_equal(purged, 0); /* b went when c was admitted; the pair's row is no session */
  assert_int_equal(used(t, "X", MS_CLASS_COMPUTE, end), 2);
  int64_t lim = 0;
  assert_int_equal(ms_tracker_get_limit(t, "X", MS_CLASS_COMPUTE, &lim), MS_OK);
  assert_int_equal(lim, 2);
  assert_consistent(t);
}

/* ---- the hot statements search by key --------------------------------------------------- */

/* After the calls that must cost O(log n) have run, every statement of the
 * tracker in the connection's cache searches a key or an index range: none
 * scans a table or a whole index. */
static void hot_statements_search_by_key(void **state) {
  MS_TEST_SQLITE_ONLY(); /* SQLite files of older schemas, SQLite query plans */
  fx *f = *state;
  ms_tracker *t = f->t;
  const char *sc[] = {"domain:D", "user:u"}, *d[] = {"domain:D"};
  assert_int_equal(ms_tracker_set_limit(t, "domain:D", MS_CLASS_COMPUTE, 2), MS_OK);
  assert_int_equal(ms_tracker_admit(t, "a", MS_CLASS_COMPUTE, sc, 2, MS_SEC(1), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(t, "a", MS_CLASS_COMPUTE, sc, 2, MS_SEC(1), T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(t, "b", MS_CLASS_COMPUTE, d, 1, 0, T0, NULL), MS_OK);
  /* at the limit by its rows, one expired: counted, then purged */
  assert_int_equal(ms_tracker_admit(t, "c", MS_CLASS_COMPUTE, sc, 2, 0, T0 + MS_SEC(1), NULL), MS_OK);
  assert_int_equal(ms_tracker_admit(t, "e", MS_CLASS_COMPUTE, d, 1, 0, T0 + MS_SEC(1), NULL), MS_ELIMIT);
  assert_int_equal(ms_tracker_renew(t, "b", MS_SEC(5), T0 + MS_SEC(1)), MS_OK);
  assert_int_equal(ms_tracker_release(t, "c", T0 + MS_SEC(1), NULL), MS_OK);
  int64_t n = 0;
  assert_int_equal(ms_tracker_get_used(t, "domain:D", MS_CLASS_COMPUTE, T0, &n), MS_OK);
  int h = 0;
  assert_int_equal(ms_tracker_get_held(t, "b", T0, &h, NULL, NULL), MS_OK);
  assert_int_equal(ms_tracker_get_limit(t, "domain:D", MS_CLASS_COMPUTE, &n), MS_OK);
  assert_int_equal(ms_tracker_next_expiry(t, &n), MS_OK);
  assert_int_equal(ms_tracker_purge(t, T0 + MS_SEC(9), 10, NULL), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "t", MS_CLASS_COMPUTE, sc, 2, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_release(x, "t", T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);

  sqlite3 *db = t->store->db;
  int checked = 0;
  for (sqlite3_stmt *q = sqlite3_next_stmt(db, NULL); q; q = sqlite3_next_stmt(db, q)) {
    const char *sql = sqlite3_sql(q);
    if (!sql || !strstr(sql, "tracker_")) continue;
    char plan_sql[2048];
    snprintf(plan_sql, sizeof plan_sql, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *p = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, plan_sql, -1, &p, NULL), SQLITE_OK);
    while (sqlite3_step(p) == SQLITE_ROW) {
      const char *detail = (const char *)sqlite3_column_text(p, 3);
      if (detail && strncmp(detail, "SCAN tracker_", 13) == 0) fail_msg("%s\n  scans: %s", sql, detail);
    }
    sqlite3_finalize(p);
    checked++;
  }
  assert_true(checked >= 12);
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_tracker_rows");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      FX_TEST(counts_match_a_recount_after_random_work),
      FX_TEST(a_first_schema_database_is_converted),
      FX_TEST(the_pair_rows_are_never_expired_members),
      FX_TEST(hot_statements_search_by_key),
  };
  return cmocka_run_group_tests_name("tracker_rows", tests, NULL, NULL);
}
