/* The fixture every tracker unit test uses: a fresh store file with one
 * tracker over it, and helpers that look at the tracker's tables behind the
 * API's back. Included by tests/unit/test_tracker*.c (each one suite). */
#ifndef MS_TEST_TRACKER_FIXTURE_H
#define MS_TEST_TRACKER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mserve.h"
#include "mserve/tracker.h"
#include "pg_cluster.h"
#include "store_fixture.h"
#include "testutil.h"
#include "tracker/tracker_internal.h"

typedef struct fx {
  char *dir;
  char *db;
  ms_store *s;
  ms_tracker *t;
} fx;

static inline int fx_setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->dir = ms_test_tmpdir("tracker");
  if (!f->dir) return -1;
  f->db = ms_test_store_path(f->dir, "tracker.db");
  if (ms_store_open(f->db, 0, &f->s) != MS_OK) return -1;
  if (ms_tracker_open(f->s, &f->t) != MS_OK) return -1;
  *state = f;
  return 0;
}

static inline int fx_teardown(void **state) {
  fx *f = *state;
  ms_tracker_close(f->t);
  ms_store_close(f->s);
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->db);
  free(f);
  return 0;
}

/* Close and open the store and tracker again (as a restarted process). */
static inline void fx_reopen(fx *f) {
  ms_tracker_close(f->t);
  ms_store_close(f->s);
  assert_int_equal(ms_store_open(f->db, 0, &f->s), MS_OK);
  assert_int_equal(ms_tracker_open(f->s, &f->t), MS_OK);
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

#define T0 MS_SEC(1700000000)

static inline int admit1(ms_tracker *t, const char *sid, ms_session_class cls, const char *scope, ms_denial *d) {
  const char *sc[] = {scope};
  return ms_tracker_admit(t, sid, cls, sc, 1, 0, T0, d);
}

static inline int64_t used(ms_tracker *t, const char *scope, ms_session_class cls, int64_t now) {
  int64_t n = -1;
  assert_int_equal(ms_tracker_get_used(t, scope, cls, now, &n), MS_OK);
  return n;
}

/* One integer from SQL run on the tracker's own connection (either backend). */
static inline int64_t sql_int(ms_tracker *t, const char *sql) {
  int64_t n = ms_test_sql_int(t->store, sql);
  if (n == -1 && ms_test_sql_exec(t->store, sql) != 0) fail_msg("%s: failed", sql);
  return n;
}

/* Rows of a table (expired sessions included until purged); of
 * tracker_members, the membership rows (not the pairs' own rows). */
static inline int64_t rows(ms_tracker *t, const char *table) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s%s", table,
           strcmp(table, "tracker_members") == 0 ? " WHERE session <> ''" : "");
  return sql_int(t, sql);
}

/* s as an SQL string literal's inside (quotes doubled) in out. */
static inline const char *sql_text(char *out, size_t cap, const char *s) {
  size_t o = 0;
  for (; *s && o + 3 < cap; s++) {
    if (*s == '\'') out[o++] = '\'';
    out[o++] = *s;
  }
  out[o] = '\0';
  return out;
}

/* Does the tracker have a row for the session (live or expired)? */
static inline int held(ms_tracker *t, const char *sid) {
  char q[600], lit[400];
  snprintf(q, sizeof q, "SELECT count(*) FROM tracker_sessions WHERE session = '%s'", sql_text(lit, sizeof lit, sid));
  return sql_int(t, q) > 0;
}

static inline void exec_sql(ms_tracker *t, const char *sql) {
  if (ms_test_sql_exec(t->store, sql) != 0) fail_msg("%s: failed", sql);
}

/* A message starts with the part and names it once: prefixes added on the
 * way up must not stack ("tracker: x: tracker: x: ..."). */
static inline void assert_named_once(void) {
  const char *m = ms_errmsg();
  if (strncmp(m, "tracker: ", 9) != 0) fail_msg("message does not start with the part: %s", m);
  if (strstr(m + 9, "tracker: ") != NULL) fail_msg("message names the call twice: %s", m);
}

/* The tables agree with each other: every pair's own row counts its
 * membership rows and mirrors its limit, every pair with members or a limit
 * has one, every membership row matches its session's class and lease and is
 * in its session's list, and every session lists exactly its rows. */
static inline void assert_consistent(ms_tracker *t) {
  int64_t bad_counts = sql_int(
      t, "SELECT count(*) FROM tracker_members p WHERE p.session = '' AND p.n <> "
         "(SELECT count(*) FROM tracker_members m WHERE m.scope = p.scope AND m.cls = p.cls AND m.session <> '')");
  int64_t uncounted = sql_int(t, "SELECT count(*) FROM (SELECT DISTINCT scope, cls FROM tracker_members WHERE "
                                 "session <> '' UNION SELECT scope, cls FROM tracker_limits) m WHERE NOT EXISTS "
                                 "(SELECT 1 FROM tracker_members p WHERE p.scope = m.scope AND p.cls = m.cls "
                                 "AND p.session = '')");
  int64_t bad_limits = sql_int(t, "SELECT count(*) FROM tracker_members p WHERE p.session = '' AND p.max_sessions "
                                  "IS DISTINCT FROM (SELECT l.max_sessions FROM tracker_limits l WHERE l.scope = p.scope "
                                  "AND l.cls = p.cls)");
  /* a session's list of scopes: each name followed by a NUL byte */
  int64_t orphans, lists;
  if (ms_test_backend_is_pg()) {
    orphans = sql_int(t, "SELECT count(*) FROM tracker_members m WHERE m.session <> '' AND NOT EXISTS "
                         "(SELECT 1 FROM tracker_sessions s WHERE s.session = m.session AND s.cls = m.cls AND "
                         "s.expires_us = m.expires_us AND position('\\x00'::bytea || convert_to(m.scope, 'UTF8') || "
                         "'\\x00'::bytea IN '\\x00'::bytea || s.scopes) > 0)");
    lists = sql_int(t, "SELECT count(*) FROM tracker_sessions s WHERE (SELECT count(*) FROM generate_series(0, "
                       "length(s.scopes) - 1) i WHERE get_byte(s.scopes, i) = 0) <> (SELECT count(*) FROM "
                       "tracker_members m WHERE m.session = s.session)");
  } else {
    orphans = sql_int(t, "SELECT count(*) FROM tracker_members m WHERE m.session <> '' AND NOT EXISTS "
                         "(SELECT 1 FROM tracker_sessions s WHERE s.session = m.session AND s.cls = m.cls AND "
                         "s.expires_us = m.expires_us AND instr(CAST(x'00' || s.scopes AS BLOB), "
                         "CAST(x'00' || m.scope || x'00' AS BLOB)) > 0)");
    lists = 0;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(t->store->db,
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
  }
  if (bad_counts || uncounted || bad_limits || orphans || lists)
    fail_msg("tracker tables disagree: %lld wrong counts, %lld pairs without their row, %lld wrong limit copies, "
             "%lld orphan members, %lld sessions whose list differs from their rows",
             (long long)bad_counts, (long long)uncounted, (long long)bad_limits, (long long)orphans,
             (long long)lists);
}

/* The live members of (scope, cls) at now, counted from the rows. */
static inline int64_t recount(ms_tracker *t, const char *scope, int cls, int64_t now) {
  char q[700], lit[400];
  snprintf(q, sizeof q,
           "SELECT count(*) FROM tracker_members WHERE scope = '%s' AND cls = %d AND session <> '' AND "
           "(expires_us = 0 OR expires_us > %lld)", sql_text(lit, sizeof lit, scope), cls, (long long)now);
  return sql_int(t, q);
}

#endif
