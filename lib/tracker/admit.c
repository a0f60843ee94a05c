/* Admission, release and renewal: the hot path.
 *
 * One admit is one short BEGIN IMMEDIATE transaction of cached statements:
 * purge a few expired sessions, look the session up, check each named scope
 * that has a limit by counting its live members (a primary-key range), then
 * insert. Everything is checked before anything is written, and a denial
 * rolls back, so a denied or failed admit leaves no trace — the bug of
 * Backend.AI PR #3064 (add first, then compare with >=) cannot happen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "tracker_internal.h"

/* Expired sessions no longer count (the count skips them), so purging is only
 * housekeeping: a bounded batch per write keeps every call short even after a
 * crashed host left thousands of leases behind. */
#define PURGE_BATCH 16

static const char SQL_PURGE[] =
    "DELETE FROM tracker_sessions WHERE session IN (SELECT session FROM tracker_sessions "
    "WHERE expires_us <= ?1 ORDER BY expires_us LIMIT 16)";
static const char SQL_SESSION_GET[] = "SELECT cls, expires_us FROM tracker_sessions WHERE session = ?1";
static const char SQL_SESSION_DEL[] = "DELETE FROM tracker_sessions WHERE session = ?1";
static const char SQL_SESSION_SCOPES[] = "SELECT scope FROM tracker_members WHERE session = ?1 ORDER BY scope";
static const char SQL_LIMIT_GET[] = "SELECT max_sessions FROM tracker_limits WHERE scope = ?1 AND cls = ?2";
static const char SQL_SESSION_ADD[] =
    "INSERT INTO tracker_sessions(session, cls, admitted_us, expires_us) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_MEMBER_ADD[] =
    "INSERT OR IGNORE INTO tracker_members(scope, cls, session, expires_us) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_SESSION_RENEW[] = "UPDATE tracker_sessions SET expires_us = ?2 WHERE session = ?1";
static const char SQL_MEMBERS_RENEW[] = "UPDATE tracker_members SET expires_us = ?2 WHERE session = ?1";

_Static_assert(PURGE_BATCH == 16, "keep SQL_PURGE's LIMIT in step with PURGE_BATCH");

static int purge_expired(ms_tracker *t, int64_t now_us) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_PURGE, &st);
  if (!q) return st;
  sqlite3_bind_int64(q, 1, now_us);
  return ms__tracker_step_done(t, q, "purge expired sessions");
}

/* Held state of a session at now_us: 0 not held, 1 held and live, 2 rows left
 * by an expired lease. *cls is set when the rows exist. */
static int session_state(ms_tracker *t, const char *sid, int64_t now_us, int *state, int *cls) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_SESSION_GET, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, sid, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) {
    *cls = sqlite3_column_int(q, 0);
    int leased = sqlite3_column_type(q, 1) != SQLITE_NULL;
    *state = leased && sqlite3_column_int64(q, 1) <= now_us ? 2 : 1;
  } else if (rc == SQLITE_DONE) {
    *state = 0;
  } else {
    st = ms__store_error(t->store, rc, "look a session up");
  }
  sqlite3_reset(q);
  return st;
}

static int delete_session(ms_tracker *t, const char *sid, int *deleted) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_SESSION_DEL, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, sid, -1, SQLITE_STATIC);
  st = ms__tracker_step_done(t, q, "delete a session");
  /* Direct rows only: the cascade to tracker_members is not counted. */
  if (!st && deleted) *deleted = sqlite3_changes(t->store->db) > 0;
  return st;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort and de-duplicate the scope list into `out` (which holds n pointers);
 * returns the number of distinct scopes. strcmp order equals SQLite's BINARY
 * collation, so the list compares directly with ORDER BY scope. */
static size_t distinct_scopes(const char *const *scopes, size_t n, const char **out) {
  memcpy(out, scopes, n * sizeof *out);
  qsort(out, n, sizeof *out, cmp_str);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (k == 0 || strcmp(out[k - 1], out[i]) != 0) out[k++] = out[i];
  return k;
}

/* A live session asked for again: the same scopes make it a no-op retry,
 * anything else a conflict. */
static int compare_held(ms_tracker *t, const char *what, const char *sid, int held_cls, int cls,
                        const char *const *sorted, size_t n) {
  if (held_cls != cls)
    return ms__fail(MS_ECONFLICT, "%s: the session is already held with class %d, not %d; release it first", what,
                    held_cls, cls);
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_SESSION_SCOPES, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, sid, -1, SQLITE_STATIC);
  size_t i = 0;
  int same = 1, rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *scope = (const char *)sqlite3_column_text(q, 0);
    if (i >= n || !scope || strcmp(scope, sorted[i]) != 0) {
      same = 0;
      break;
    }
    i++;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) st = ms__store_error(t->store, rc, "read a session's scopes");
  sqlite3_reset(q);
  if (st) return st;
  if (!same || i != n)
    return ms__fail(MS_ECONFLICT, "%s: the session is already held with a different set of scopes; release it first",
                    what);
  return MS_OK;
}

/* Is scope full for cls? Only pairs with a limit are counted. */
static int check_scope(ms_tracker *t, const char *scope, int cls, int64_t now_us, ms_denial *denial, int *full) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_LIMIT_GET, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, cls);
  int rc = sqlite3_step(q);
  int64_t limit = MS_UNLIMITED;
  if (rc == SQLITE_ROW)
    limit = sqlite3_column_int64(q, 0);
  else if (rc != SQLITE_DONE)
    st = ms__store_error(t->store, rc, "read a limit");
  sqlite3_reset(q);
  *full = 0;
  if (st || limit == MS_UNLIMITED) return st;
  int64_t used = 0;
  if ((st = ms__tracker_count(t, scope, cls, now_us, &used)) != MS_OK) return st;
  /* The session is not in the set yet, so it fits while used < limit. */
  if (used >= limit) {
    *full = 1;
    if (denial) {
      ms__strlcpy(denial->scope, scope, sizeof denial->scope);
      denial->limit = limit;
      denial->used = used;
    }
  }
  return MS_OK;
}

static int insert_session(ms_tracker *t, const char *sid, int cls, const char *const *scopes, size_t n,
                          int64_t lease_us, int64_t now_us) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_SESSION_ADD, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, sid, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, cls);
  sqlite3_bind_int64(q, 3, now_us);
  if (lease_us > 0) sqlite3_bind_int64(q, 4, now_us + lease_us);
  if ((st = ms__tracker_step_done(t, q, "insert a session")) != MS_OK) return st;
  for (size_t i = 0; i < n; i++) {
    if (!(q = ms__store_stmt(t->store, SQL_MEMBER_ADD, &st))) return st;
    sqlite3_bind_text(q, 1, scopes[i], -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, cls);
    sqlite3_bind_text(q, 3, sid, -1, SQLITE_STATIC);
    if (lease_us > 0) sqlite3_bind_int64(q, 4, now_us + lease_us);
    if ((st = ms__tracker_step_done(t, q, "insert a scope member")) != MS_OK) return st;
  }
  return MS_OK;
}

static int check_admit_args(const char *what, const char *sid, int cls, const char *const *scopes, size_t n,
                            int64_t lease_us, int64_t now_us) {
  int st = ms__tracker_check_class(what, cls);
  if (!st) st = ms__tracker_check_scopes(what, scopes, n);
  if (!st) st = ms__tracker_check_time(what, lease_us, now_us);
  (void)sid;
  return st;
}

/* The admission itself, inside an open transaction. On any non-OK status the
 * caller rolls back (the whole transaction, or the tick's savepoint). */
static int admit_locked(ms_tracker *t, const char *what, const char *sid, int cls, const char *const *scopes,
                        size_t n, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  const char *sorted[MS_TRACKER_MAX_SCOPES];
  size_t k = distinct_scopes(scopes, n, sorted);
  int st = purge_expired(t, now_us);
  int state = 0, held_cls = 0;
  if (!st) st = session_state(t, sid, now_us, &state, &held_cls);
  if (st) return st;
  if (state == 1) return compare_held(t, what, sid, held_cls, cls, sorted, k);
  if (state == 2 && (st = delete_session(t, sid, NULL)) != MS_OK) return st;
  /* Check every scope in the caller's order before writing anything. */
  for (size_t i = 0; i < n; i++) {
    int dup = 0;
    for (size_t j = 0; j < i && !dup; j++) dup = strcmp(scopes[i], scopes[j]) == 0;
    if (dup) continue;
    int full = 0;
    if ((st = check_scope(t, scopes[i], cls, now_us, denial, &full)) != MS_OK) return st;
    if (full)
      return ms__fail(MS_ELIMIT, "%s: scope '%s' is full (%lld of %lld sessions of class %d)", what, scopes[i],
                      denial ? (long long)denial->used : -1LL, denial ? (long long)denial->limit : -1LL, cls);
  }
  return insert_session(t, sid, cls, sorted, k, lease_us, now_us);
}

/* ms__fail messages for the denial need the numbers even when the caller
 * passed no ms_denial; admit through a local one and copy out. */
static int admit_with_denial(ms_tracker *t, const char *what, const char *sid, int cls, const char *const *scopes,
                             size_t n, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  ms_denial local;
  int st = admit_locked(t, what, sid, cls, scopes, n, lease_us, now_us, &local);
  if (st == MS_ELIMIT && denial) *denial = local;
  return st;
}

#define WHAT_LEN (64 + MS_TRACKER_NAME_MAX)

int ms_tracker_admit(ms_tracker *t, const char *session_id, ms_session_class cls, const char *const *scopes,
                     size_t n_scopes, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: admit: tracker is NULL");
  int st = ms__tracker_check_name("tracker: admit", "session id", session_id);
  if (st) return st;
  char what[WHAT_LEN];
  snprintf(what, sizeof what, "tracker: admit '%s'", session_id);
  if ((st = check_admit_args(what, session_id, (int)cls, scopes, n_scopes, lease_us, now_us)) != MS_OK) return st;
  if ((st = ms__store_begin(t->store)) != MS_OK) return st;
  st = admit_with_denial(t, what, session_id, (int)cls, scopes, n_scopes, lease_us, now_us, denial);
  if (st) {
    ms__store_rollback(t->store);
    return st;
  }
  return ms__store_commit(t->store);
}

static int release_locked(ms_tracker *t, const char *sid, int *was_held) {
  int deleted = 0;
  int st = delete_session(t, sid, &deleted);
  if (!st && was_held) *was_held = deleted;
  return st;
}

int ms_tracker_release(ms_tracker *t, const char *session_id, int *was_held) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: release: tracker is NULL");
  int st = ms__tracker_check_name("tracker: release", "session id", session_id);
  if (st) return st;
  if ((st = ms__store_begin(t->store)) != MS_OK) return st;
  int held = 0;
  if ((st = release_locked(t, session_id, &held)) != MS_OK) {
    ms__store_rollback(t->store);
    ms__errmsg_prefix("tracker: release '%s'", session_id);
    return st;
  }
  if ((st = ms__store_commit(t->store)) != MS_OK) return st;
  if (was_held) *was_held = held;
  return MS_OK;
}

static int bind_expiry_and_run(ms_tracker *t, const char *sql, const char *sid, int64_t expires, const char *w) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, sql, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, sid, -1, SQLITE_STATIC);
  if (expires >= 0) sqlite3_bind_int64(q, 2, expires);
  return ms__tracker_step_done(t, q, w);
}

int ms_tracker_renew(ms_tracker *t, const char *session_id, int64_t lease_us, int64_t now_us) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: renew: tracker is NULL");
  int st = ms__tracker_check_name("tracker: renew", "session id", session_id);
  if (st) return st;
  char what[WHAT_LEN];
  snprintf(what, sizeof what, "tracker: renew '%s'", session_id);
  if ((st = ms__tracker_check_time(what, lease_us, now_us)) != MS_OK) return st;
  if ((st = ms__store_begin(t->store)) != MS_OK) return st;
  int state = 0, cls = 0;
  st = session_state(t, session_id, now_us, &state, &cls);
  if (!st && state != 1)
    st = ms__fail(MS_ENOTFOUND, "%s: %s", what,
                  state == 0 ? "the session is not held" : "the session's lease has expired; admit it again");
  /* -1 binds nothing: NULL = no lease. */
  int64_t expires = lease_us > 0 ? now_us + lease_us : -1;
  if (!st) st = bind_expiry_and_run(t, SQL_SESSION_RENEW, session_id, expires, "renew a session");
  if (!st) st = bind_expiry_and_run(t, SQL_MEMBERS_RENEW, session_id, expires, "renew a session's members");
  if (st) {
    ms__store_rollback(t->store);
    return st;
  }
  return ms__store_commit(t->store);
}

/* ---- tick transactions ---------------------------------------------------- */

static const char SQL_SP_BEGIN[] = "SAVEPOINT tracker_call";
static const char SQL_SP_RELEASE[] = "RELEASE tracker_call";
static const char SQL_SP_UNDO[] = "ROLLBACK TO tracker_call";

static int run_simple(ms_tracker *t, const char *sql, const char *w) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, sql, &st);
  if (!q) return st;
  return ms__tracker_step_done(t, q, w);
}

/* Close the savepoint of one call inside a tick: keep its work on success,
 * undo it otherwise, and leave the tick usable either way. */
static int end_call(ms_tracker *t, int st) {
  if (st) {
    char saved[1024];
    ms__strlcpy(saved, ms_errmsg(), sizeof saved);
    run_simple(t, SQL_SP_UNDO, "undo a call in a tick");
    run_simple(t, SQL_SP_RELEASE, "close a savepoint");
    ms__fail(st, "%s", saved); /* keep the call's own message */
    return st;
  }
  return run_simple(t, SQL_SP_RELEASE, "close a savepoint");
}

static int check_txn(const ms_tracker_txn *x, const char *what) {
  if (!x) return ms__fail(MS_EINVAL, "tracker: %s: transaction is NULL", what);
  if (!pthread_equal(x->owner, pthread_self()))
    return ms__fail(MS_EINVAL, "tracker: %s: the transaction belongs to another thread", what);
  return MS_OK;
}

int ms_tracker_begin(ms_tracker *t, ms_tracker_txn **out) {
  if (!t || !out) return ms__fail(MS_EINVAL, "tracker: begin: %s is NULL", !t ? "tracker" : "out");
  ms_tracker_txn *x = calloc(1, sizeof *x);
  if (!x) return ms__fail(MS_ENOMEM, "tracker: begin: out of memory");
  int st = ms__store_begin(t->store);
  if (st) {
    free(x);
    return st;
  }
  x->t = t;
  x->owner = pthread_self();
  *out = x;
  return MS_OK;
}

int ms_tracker_txn_admit(ms_tracker_txn *x, const char *session_id, ms_session_class cls, const char *const *scopes,
                         size_t n_scopes, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  int st = check_txn(x, "txn_admit");
  if (!st) st = ms__tracker_check_name("tracker: txn_admit", "session id", session_id);
  if (st) return st;
  char what[WHAT_LEN];
  snprintf(what, sizeof what, "tracker: admit '%s'", session_id);
  if ((st = check_admit_args(what, session_id, (int)cls, scopes, n_scopes, lease_us, now_us)) != MS_OK) return st;
  if ((st = run_simple(x->t, SQL_SP_BEGIN, "open a savepoint")) != MS_OK) return st;
  st = admit_with_denial(x->t, what, session_id, (int)cls, scopes, n_scopes, lease_us, now_us, denial);
  return end_call(x->t, st);
}

int ms_tracker_txn_release(ms_tracker_txn *x, const char *session_id, int *was_held) {
  int st = check_txn(x, "txn_release");
  if (!st) st = ms__tracker_check_name("tracker: txn_release", "session id", session_id);
  if (st) return st;
  if ((st = run_simple(x->t, SQL_SP_BEGIN, "open a savepoint")) != MS_OK) return st;
  int held = 0;
  st = release_locked(x->t, session_id, &held);
  if (st) ms__errmsg_prefix("tracker: release '%s'", session_id);
  if ((st = end_call(x->t, st)) != MS_OK) return st;
  if (was_held) *was_held = held;
  return MS_OK;
}

int ms_tracker_commit(ms_tracker_txn *x) {
  int st = check_txn(x, "commit");
  if (st) return st;
  st = ms__store_commit(x->t->store);
  free(x);
  return st;
}

void ms_tracker_rollback(ms_tracker_txn *x) {
  if (!x) return;
  /* Rolled back from another thread the mutex cannot be released: refuse
   * rather than corrupt the lock (documented: the owner ends the tick). */
  if (!pthread_equal(x->owner, pthread_self())) {
    ms__fail(MS_EINVAL, "tracker: rollback: the transaction belongs to another thread");
    return;
  }
  ms__store_rollback(x->t->store);
  free(x);
}
