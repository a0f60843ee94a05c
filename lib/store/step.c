/* Running statements: the one "step, reset, map the SQLite error" helper
 * every part uses (store/conn.h), SQL without results, and savepoints. */
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "store/conn.h"

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
  sqlite3_stmt *q = ms__store_stmt(s, sql, &st);
  return q ? ms__store_step_done(s, q, what) : st;
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
