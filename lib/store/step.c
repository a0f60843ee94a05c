/* Running statements: the one "step, reset, map the database's error"
 * helper every part uses (store/stmt.h, and store/conn.h's SQLite form), SQL
 * without results, and savepoints, on either backend. */
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "store/conn.h"
#include "store/pg/pg.h"
#include "store/stmt.h"

int ms__stmt_done(ms_store *s, ms_stmt *q, const char *what) {
  if (q->lite) return ms__store_step_done(s, q->lite, what);
  int row = 0;
  int st = ms__pg_step_row(s, q->pg, what, &row);
  ms__pg_reset(q->pg);
  return st;
}

int ms__stmt_row(ms_store *s, ms_stmt *q, const char *what, int *row) {
  if (q->lite) return ms__store_step_row(s, q->lite, what, row);
  return ms__pg_step_row(s, q->pg, what, row);
}

static const char SQL_TRY_KEY[] = "SELECT pg_try_advisory_xact_lock(?1)";
static const char SQL_KEY_HOLDER[] =
    "SELECT coalesce(a.application_name, '') || ' (server pid ' || l.pid || ')' FROM pg_locks l "
    "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.classid = 0 AND l.objid = CAST(?1 AS BIGINT) AND l.objsubid = 1 AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1";

int ms__store_try_lock_key(ms_store *s, int64_t key, int *got, char *holder, size_t cap) {
  *got = 1;
  if (holder && cap) holder[0] = '\0';
  if (!s->pg) return MS_OK;
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_TRY_KEY, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, key);
  if ((st = ms__stmt_row(s, q, "take a lock shared by the hosts", &row)) != MS_OK) return st;
  *got = row && ms__stmt_int64(q, 0) != 0;
  ms__stmt_reset(q);
  if (*got || !holder || !cap) return MS_OK;
  if (!(q = ms__store_prepare(s, SQL_KEY_HOLDER, &st))) return st;
  ms__stmt_bind_int64(q, 1, key);
  if ((st = ms__stmt_row(s, q, "find who holds a shared lock", &row)) != MS_OK) return st;
  const char *who = row ? ms__stmt_text(q, 0) : NULL;
  ms__strlcpy(holder, who && *who ? who : "another host (gone since)", cap);
  ms__stmt_reset(q);
  return MS_OK;
}

int ms__store_may_wait(const ms_store *s) { return !s->pg || !ms__pg_cur(s)->holds_locks; }

void ms__store_note_locks(ms_store *s) {
  if (s->pg) ms__pg_cur(s)->holds_locks = 1;
}

int64_t ms__store_changes(ms_store *s) { return s->pg ? ms__pg_cur(s)->changes : sqlite3_changes64(s->db); }

int ms__store_autocommit(const ms_store *s) { return s->pg ? ms__pg_autocommit(s) : sqlite3_get_autocommit(s->db); }

int ms__store_step_done(ms_store *s, sqlite3_stmt *q, const char *what) {
  int rc = sqlite3_step(q);
  /* the message is read before the reset, which would replace it */
  int st = rc == SQLITE_DONE || rc == SQLITE_ROW ? MS_OK : ms__store_error(s, rc, what);
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return st;
}

int ms__store_step_row(ms_store *s, sqlite3_stmt *q, const char *what, int *row) {
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) {
    *row = 1;
    return MS_OK;
  }
  *row = 0;
  int st = rc == SQLITE_DONE ? MS_OK : ms__store_error(s, rc, what);
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return st;
}

int ms__store_exec(ms_store *s, const char *sql) {
  if (s->pg) return ms__pg_exec(s, sql, "run SQL");
  char *err = NULL;
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) {
    int st = ms__store_fail_sqlite(s, rc, "run SQL", err);
    sqlite3_free(err);
    return st;
  }
  return MS_OK;
}

static const char SQL_SAVEPOINT[] = "SAVEPOINT ms_call";
static const char SQL_SAVEPOINT_UNDO[] = "ROLLBACK TO ms_call";
static const char SQL_SAVEPOINT_RELEASE[] = "RELEASE ms_call";

static int run(ms_store *s, const char *sql, const char *what) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, sql, &st);
  return q ? ms__stmt_done(s, q, what) : st;
}

int ms__store_savepoint(ms_store *s) { return run(s, SQL_SAVEPOINT, "open a savepoint"); }

int ms__store_savepoint_end(ms_store *s, int st) {
  if (st == MS_OK) return run(s, SQL_SAVEPOINT_RELEASE, "close a savepoint");
  char saved[1024];
  ms__strlcpy(saved, ms_errmsg(), sizeof saved);
  run(s, SQL_SAVEPOINT_UNDO, "undo a savepoint");
  run(s, SQL_SAVEPOINT_RELEASE, "close a savepoint");
  return ms__fail(st, "%s", saved); /* the call's own message, not the clean-up's */
}
