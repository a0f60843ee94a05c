/* Integration: the tracker's member counts stay exact across kill -9.
 *
 * A child process runs random work with two threads on one store — admits
 * (some in ticks, committed or rolled back), releases, renewals, purges,
 * limit changes — with short leases on a clock the parent can read (shared
 * memory), so sessions expire and are purged all the time. The parent kills
 * it with SIGKILL at a random moment, many times. After each kill it checks
 * the database behind the API's back: every pair's count equals a full
 * recount of its rows, the rows agree with their sessions, and
 * ms_tracker_get_used equals the recount of live rows now and later. Every
 * few rounds it runs a full reconcile listing exactly what is live, which
 * must add and remove nothing and leave the counts as they were. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "mserve/tracker.h"
#include "testutil.h"

#define N_SCOPES 5
static const char *const scope_name[N_SCOPES] = {"domain:D", "user:a", "user:b", "keypair:K1", "keypair:K2"};
#define N_IDS 60
#define T0 MS_SEC(1700000000)

typedef struct shared {
  _Atomic int64_t now; /* the child's clock: every call uses it, then it moves on */
  _Atomic long steps;
} shared;

static shared *sh;

static unsigned rnd(unsigned *seed) { return (unsigned)rand_r(seed); }

typedef struct worker {
  ms_tracker *t;
  unsigned seed;
  int id;
} worker;

static int64_t tick_clock(unsigned *seed) { return atomic_fetch_add(&sh->now, (int64_t)(rnd(seed) % 200000)); }

static void one_admit(worker *w, ms_tracker_txn *x, int64_t now) {
  char sid[24];
  snprintf(sid, sizeof sid, "w%d-%u", w->id, rnd(&w->seed) % N_IDS);
  const char *names[3];
  size_t n = 1 + rnd(&w->seed) % 3;
  for (size_t k = 0; k < n; k++) names[k] = scope_name[rnd(&w->seed) % N_SCOPES];
  int64_t lease = rnd(&w->seed) % 4 == 0 ? 0 : MS_SEC(1) + (int64_t)(rnd(&w->seed) % 2000000);
  int cls = rnd(&w->seed) % 6 == 0;
  int st = x ? ms_tracker_txn_admit(x, sid, (ms_session_class)cls, names, n, lease, now, NULL)
             : ms_tracker_admit(w->t, sid, (ms_session_class)cls, names, n, lease, now, NULL);
  if (st != MS_OK && st != MS_ELIMIT && st != MS_ECONFLICT) _exit(10);
}

static void *work(void *arg) {
  worker *w = arg;
  for (;;) {
    int64_t now = tick_clock(&w->seed);
    unsigned op = rnd(&w->seed) % 100;
    char sid[24];
    snprintf(sid, sizeof sid, "w%d-%u", w->id, rnd(&w->seed) % N_IDS);
    if (op < 45) {
      one_admit(w, NULL, now);
    } else if (op < 70) {
      if (ms_tracker_release(w->t, sid, now, NULL) != MS_OK) _exit(11);
    } else if (op < 78) {
      int st = ms_tracker_renew(w->t, sid, (int64_t)(rnd(&w->seed) % 3000000), now);
      if (st != MS_OK && st != MS_ENOTFOUND) _exit(12);
    } else if (op < 90) {
      ms_tracker_txn *x = NULL;
      if (ms_tracker_begin(w->t, &x) != MS_OK) _exit(13);
      int n = 1 + (int)(rnd(&w->seed) % 20);
      for (int j = 0; j < n; j++) {
        if (rnd(&w->seed) % 4) one_admit(w, x, now);
        else if (ms_tracker_txn_release(x, sid, now, NULL) != MS_OK) _exit(14);
      }
      if (rnd(&w->seed) % 3) {
        if (ms_tracker_txn_commit(x) != MS_OK) _exit(15);
      } else {
        ms_tracker_txn_rollback(x);
      }
    } else if (op < 95) {
      if (ms_tracker_purge(w->t, now, 1 + rnd(&w->seed) % 8, NULL) != MS_OK) _exit(16);
    } else {
      int64_t lim = rnd(&w->seed) % 3 == 0 ? MS_UNLIMITED : (int64_t)(rnd(&w->seed) % 12);
      if (ms_tracker_set_limit(w->t, scope_name[rnd(&w->seed) % N_SCOPES], MS_CLASS_COMPUTE, lim) != MS_OK)
        _exit(17);
    }
    atomic_fetch_add(&sh->steps, 1);
  }
  return NULL;
}

static void child(const char *db, int round) {
  ms_store *s = NULL;
  ms_tracker *t = NULL;
  if (ms_store_open(db, 0, &s) || ms_store_set_busy_timeout(s, MS_SEC(60)) || ms_tracker_open(s, &t)) _exit(2);
  worker w[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    w[i] = (worker){t, (unsigned)(round * 7919 + i * 104729 + 1), i};
    if (pthread_create(&th[i], NULL, work, &w[i])) _exit(3);
  }
  pthread_join(th[0], NULL); /* never returns: killed */
  _exit(4);
}

static int64_t q_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

/* The tables agree, read with a connection of the test's own. */
static void check_tables(const char *path, int round) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  int64_t bad = q_int(db, "SELECT count(*) FROM tracker_members p WHERE p.session = '' AND p.n <> "
                          "(SELECT count(*) FROM tracker_members m WHERE m.scope = p.scope AND m.cls = p.cls "
                          "AND m.session <> '')");
  int64_t uncounted = q_int(db, "SELECT count(*) FROM (SELECT DISTINCT scope, cls FROM tracker_members WHERE "
                                "session <> '') m WHERE NOT EXISTS (SELECT 1 FROM tracker_members p "
                                "WHERE p.scope = m.scope AND p.cls = m.cls AND p.session = '')");
  int64_t orphans = q_int(db, "SELECT count(*) FROM tracker_members m WHERE m.session <> '' AND NOT EXISTS "
                              "(SELECT 1 FROM tracker_sessions s WHERE s.session = m.session AND s.cls = m.cls AND "
                              "s.expires_us = m.expires_us)");
  /* a session's list has as many names (NUL bytes) as it has rows */
  int64_t lists = 0;
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT s.scopes, (SELECT count(*) FROM tracker_members m "
                                      "WHERE m.session = s.session) FROM tracker_sessions s",
                                      -1, &q, NULL),
                   SQLITE_OK);
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *b = sqlite3_column_blob(q, 0);
    int64_t names = 0;
    for (int i = 0, n = sqlite3_column_bytes(q, 0); i < n; i++) names += b[i] == '\0';
    lists += names != sqlite3_column_int64(q, 1);
  }
  sqlite3_finalize(q);
  if (bad || uncounted || orphans || lists)
    fail_msg("round %d: after kill -9 the tables disagree: %lld wrong counts, %lld uncounted pairs, %lld orphan "
             "rows, %lld wrong lists", round, (long long)bad, (long long)uncounted, (long long)orphans,
             (long long)lists);
  sqlite3_close(db);
}

static int64_t live_rows(const char *path, const char *scope, int cls, int64_t now) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT count(*) FROM tracker_members WHERE scope = ?1 AND cls = ?2 AND "
                                      "session <> '' AND (expires_us = 0 OR expires_us > ?3)",
                                      -1, &q, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, cls);
  sqlite3_bind_int64(q, 3, now);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return n;
}

/* A full reconcile listing exactly the live sessions (read from the rows)
 * adds and removes nothing. */
static void reconcile_with_what_is_live(ms_tracker *t, const char *path, int64_t now) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT session, cls, scopes FROM tracker_sessions WHERE expires_us = 0 OR "
                                      "expires_us > ?1",
                                      -1, &q, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(q, 1, now);
  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(t, NULL, &r), MS_OK);
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *sid = (const char *)sqlite3_column_text(q, 0);
    int cls = sqlite3_column_int(q, 1);
    const char *blob = sqlite3_column_blob(q, 2);
    int len = sqlite3_column_bytes(q, 2);
    const char *names[MS_TRACKER_MAX_SCOPES];
    size_t n = 0;
    for (int at = 0; at < len && n < MS_TRACKER_MAX_SCOPES; at += (int)strlen(blob + at) + 1) names[n++] = blob + at;
    assert_int_equal(ms_reconcile_add(r, sid, (ms_session_class)cls, names, n), MS_OK);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, now, &added, &removed), MS_OK);
  assert_int_equal(added, 0);
  assert_int_equal(removed, 0);
}

static void counts_survive_kill_9(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("tracker-counts");
  assert_non_null(dir);
  char *db = ms_test_path(dir, "tracker.db");
  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(sh != MAP_FAILED);
  atomic_store(&sh->now, T0);
  atomic_store(&sh->steps, 0);
  ms_store *s = NULL;
  ms_tracker *t = NULL;
  assert_int_equal(ms_store_open(db, 0, &s), MS_OK);
  for (int k = 0; k < N_SCOPES; k++) {
    assert_int_equal(ms_tracker_open(s, &t), MS_OK);
    assert_int_equal(ms_tracker_set_limit(t, scope_name[k], MS_CLASS_COMPUTE, 6 + k), MS_OK);
    ms_tracker_close(t);
  }
  ms_store_close(s);

  unsigned seed = 4242;
  int rounds = ms_test_scale(30);
  for (int round = 0; round < rounds; round++) {
    long target = atomic_load(&sh->steps) + 20 + (long)(rnd(&seed) % 400);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) child(db, round);
    while (atomic_load(&sh->steps) < target) {
      int ws = 0;
      if (waitpid(pid, &ws, WNOHANG) == pid) fail_msg("round %d: the worker process exited (status %d)", round, ws);
      usleep(200);
    }
    kill(pid, SIGKILL);
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);

    check_tables(db, round);
    assert_int_equal(ms_store_open(db, 0, &s), MS_OK);
    assert_int_equal(ms_tracker_open(s, &t), MS_OK);
    int64_t now = atomic_load(&sh->now);
    const int64_t later[] = {0, MS_SEC(1), MS_SEC(3)};
    for (size_t i = 0; i < 3; i++)
      for (int k = 0; k < N_SCOPES; k++)
        for (int cls = 0; cls < 2; cls++) {
          int64_t n = -1;
          assert_int_equal(ms_tracker_get_used(t, scope_name[k], (ms_session_class)cls, now + later[i], &n), MS_OK);
          int64_t want = live_rows(db, scope_name[k], cls, now + later[i]);
          if (n != want)
            fail_msg("round %d: %s/%d at +%lld us: used %lld, recount %lld", round, scope_name[k], cls,
                     (long long)later[i], (long long)n, (long long)want);
        }
    if (round % 5 == 4) {
      reconcile_with_what_is_live(t, db, now);
      ms_tracker_close(t);
      ms_store_close(s);
      check_tables(db, round);
    } else {
      ms_tracker_close(t);
      ms_store_close(s);
    }
  }
  printf("# %d kill -9 rounds, %ld steps: every count equal to a full recount after each\n", rounds,
         atomic_load(&sh->steps));
  munmap(sh, sizeof *sh);
  ms_test_rmtree(dir);
  free(db);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(counts_survive_kill_9),
  };
  return cmocka_run_group_tests_name("tracker_counts", tests, NULL, NULL);
}
