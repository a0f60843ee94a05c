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
 * crashed host left thousands of leases behind. The rows are found through the
 * partial expiry index and deleted by primary key; an IN (subquery) delete
 * would build a temporary table on every call. */
#define PURGE_BATCH 16

static const char SQL_EXPIRED[] =
    "SELECT scope, cls, session FROM tracker_members WHERE expires_us <= ?1 ORDER BY expires_us LIMIT 16";
static const char SQL_MEMBER_DEL[] = "DELETE FROM tracker_members WHERE scope = ?1 AND cls = ?2 AND session = ?3";
static const char SQL_SESSION_ROWS[] =
    "SELECT scope, cls, expires_us FROM tracker_members WHERE session = ?1 ORDER BY scope";
static const char SQL_SESSION_DEL[] = "DELETE FROM tracker_members WHERE session = ?1";
/* The count runs only when the pair has a limit row: a scalar subquery is
 * evaluated per outer row, and an unlimited pair has none. */
static const char SQL_LIMIT_AND_COUNT[] =
    "SELECT max_sessions, (SELECT count(*) FROM tracker_members m WHERE m.scope = ?1 AND m.cls = ?2 "
    "AND (m.expires_us IS NULL OR m.expires_us > ?3)) FROM tracker_limits WHERE scope = ?1 AND cls = ?2";
static const char SQL_MEMBER_ADD[] =
    "INSERT INTO tracker_members(scope, cls, session, expires_us) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_SESSION_RENEW[] = "UPDATE tracker_members SET expires_us = ?2 WHERE session = ?1";

_Static_assert(PURGE_BATCH == 16, "keep SQL_EXPIRED's LIMIT in step with PURGE_BATCH");

typedef struct member_key {
  char scope[MS_TRACKER_NAME_MAX + 1];
  char session[MS_TRACKER_NAME_MAX + 1];
  int cls;
} member_key;

static int purge_expired(ms_tracker *t, int64_t now_us) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_EXPIRED, &st);
  if (!q) return st;
  sqlite3_bind_int64(q, 1, now_us);
  member_key keys[PURGE_BATCH];
  size_t n = 0;
  int rc;
  while (n < PURGE_BATCH && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *scope = (const char *)sqlite3_column_text(q, 0);
    const char *session = (const char *)sqlite3_column_text(q, 2);
    if (!scope || !session) continue;
    ms__strlcpy(keys[n].scope, scope, sizeof keys[n].scope);
    ms__strlcpy(keys[n].session, session, sizeof keys[n].session);
    keys[n].cls = sqlite3_column_int(q, 1);
    n++;
  }
  if (n < PURGE_BATCH && rc != SQLITE_DONE) st = ms__store_error(t->store, rc, "find expired sessions");
  sqlite3_reset(q);
  for (size_t i = 0; i < n && !st; i++) {
    if (!(q = ms__store_stmt(t->store, SQL_MEMBER_DEL, &st))) break;
    sqlite3_bind_text(q, 1, keys[i].scope, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, keys[i].cls);
    sqlite3_bind_text(q, 3, keys[i].session, -1, SQLITE_STATIC);
    st = ms__tracker_step_done(t, q, "purge an expired session");
  }
  return st;
}

static int delete_session(ms_tracker *t, const char *sid, int *deleted) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_SESSION_DEL, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, sid, -1, SQLITE_STATIC);
  st = ms__tracker_step_done(t, q, "delete a session");
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

/* What the tracker holds of one session at now_us. */
enum { NOT_HELD = 0, HELD = 1, EXPIRED = 2 };
typedef struct held_state {
  int state;
  int cls;
  int same_scopes; /* rows equal `sorted` (only computed when asked) */
} held_state;

/* Read the session's rows (one index range, in scope order) and, when sorted
 * is given, compare them with it on the way. */
static int session_state(ms_tracker *t, const char *sid, int64_t now_us, const char *const *sorted, size_t n,
                         held_state *out) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_SESSION_ROWS, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, sid, -1, SQLITE_STATIC);
  out->state = NOT_HELD;
  out->same_scopes = 1;
  size_t i = 0;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (out->state == NOT_HELD) {
      out->cls = sqlite3_column_int(q, 1);
      int leased = sqlite3_column_type(q, 2) != SQLITE_NULL;
      out->state = leased && sqlite3_column_int64(q, 2) <= now_us ? EXPIRED : HELD;
      if (!sorted) break;
    }
    const char *scope = (const char *)sqlite3_column_text(q, 0);
    if (i >= n || !scope || strcmp(scope, sorted[i]) != 0) out->same_scopes = 0;
    i++;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) st = ms__store_error(t->store, rc, "look a session up");
  sqlite3_reset(q);
  if (sorted && i != n) out->same_scopes = 0;
  return st;
}

/* Is scope full for cls? Only pairs with a limit are counted. */
static int check_scope(ms_tracker *t, const char *scope, int cls, int64_t now_us, ms_denial *denial, int *full) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_LIMIT_AND_COUNT, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, cls);
  sqlite3_bind_int64(q, 3, now_us);
  int rc = sqlite3_step(q);
  *full = 0;
  if (rc == SQLITE_ROW) {
    int64_t limit = sqlite3_column_int64(q, 0), used = sqlite3_column_int64(q, 1);
    /* The session is not in the set yet, so it fits while used < limit. */
    if (used >= limit) {
      *full = 1;
      ms__strlcpy(denial->scope, scope, sizeof denial->scope);
      denial->limit = limit;
      denial->used = used;
    }
  } else if (rc != SQLITE_DONE) {
    st = ms__store_error(t->store, rc, "check a scope's limit");
  }
  sqlite3_reset(q);
  return st;
}

static int insert_session(ms_tracker *t, const char *sid, int cls, const char *const *scopes, size_t n,
                          int64_t lease_us, int64_t now_us) {
  int st = MS_OK;
  for (size_t i = 0; i < n; i++) {
    sqlite3_stmt *q = ms__store_stmt(t->store, SQL_MEMBER_ADD, &st);
    if (!q) return st;
    sqlite3_bind_text(q, 1, scopes[i], -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, cls);
    sqlite3_bind_text(q, 3, sid, -1, SQLITE_STATIC);
    if (lease_us > 0) sqlite3_bind_int64(q, 4, now_us + lease_us);
    if ((st = ms__tracker_step_done(t, q, "insert a scope member")) != MS_OK) return st;
  }
  return MS_OK;
}

/* Everything but the session id, which the caller checked to build `what`. */
static int check_admit_args(const char *what, int cls, const char *const *scopes, size_t n, int64_t lease_us,
                            int64_t now_us) {
  int st = ms__tracker_check_class(what, cls);
  if (!st) st = ms__tracker_check_scopes(what, scopes, n);
  if (!st) st = ms__tracker_check_time(what, lease_us, now_us);
  return st;
}

/* The admission itself, inside an open transaction. On any non-OK status the
 * caller rolls back (the whole transaction, or the tick's savepoint). */
static int admit_locked(ms_tracker *t, const char *what, const char *sid, int cls, const char *const *scopes,
                        size_t n, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  const char *sorted[MS_TRACKER_MAX_SCOPES];
  size_t k = distinct_scopes(scopes, n, sorted);
  int st = purge_expired(t, now_us);
  held_state h;
  if (!st) st = session_state(t, sid, now_us, sorted, k, &h);
  if (st) return st;
  if (h.state == HELD) {
    /* A retried check: the same request is a no-op, another one a conflict. */
    if (h.cls != cls)
      return ms__fail(MS_ECONFLICT,
                      "%s: the session is already held as a %s session, not %s; nothing changed (release it first "
                      "to admit it again)",
                      what, h.cls ? "system" : "compute", cls ? "system" : "compute");
    if (!h.same_scopes)
      return ms__fail(MS_ECONFLICT,
                      "%s: the session is already held with a different set of scopes; nothing changed (release it "
                      "first to admit it again)",
                      what);
    return MS_OK;
  }
  if (h.state == EXPIRED && (st = delete_session(t, sid, NULL)) != MS_OK) return st;
  /* Check every scope in the caller's order before writing anything. */
  for (size_t i = 0; i < n; i++) {
    int dup = 0;
    for (size_t j = 0; j < i && !dup; j++) dup = strcmp(scopes[i], scopes[j]) == 0;
    if (dup) continue;
    int full = 0;
    if ((st = check_scope(t, scopes[i], cls, now_us, denial, &full)) != MS_OK) return st;
    if (full)
      return ms__fail(MS_ELIMIT, "%s: scope '%s' is full (%lld of %lld %s sessions)", what, scopes[i],
                      (long long)denial->used, (long long)denial->limit, cls ? "system" : "compute");
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

/* "tracker: <verb> '<session id>'" once the id is known to be printable. */
static int session_call(char *what, const char *verb, const char *sid) {
  char head[32];
  snprintf(head, sizeof head, "tracker: %s", verb);
  int st = ms__tracker_check_name(head, "session id", sid);
  if (!st) snprintf(what, MS_TRACKER_WHAT_LEN, "%s '%s'", head, sid);
  return st;
}

static int release_locked(ms_tracker *t, const char *sid, int *was_held) {
  int deleted = 0;
  int st = delete_session(t, sid, &deleted);
  if (!st && was_held) *was_held = deleted;
  return st;
}

/* ---- one call, one atomic write (group-committed with other threads') ---- */

/* The arguments and results of one call, handed to the store's combiner. */
typedef struct write_call {
  ms_tracker *t;
  const char *what, *sid;
  int cls;
  const char *const *scopes;
  size_t n;
  int64_t lease_us, now_us;
  ms_denial denial; /* filled on MS_ELIMIT */
  int held;         /* release: whether the session was held */
} write_call;

static int admit_op(ms_store *s, void *arg) {
  (void)s;
  write_call *c = arg;
  return admit_locked(c->t, c->what, c->sid, c->cls, c->scopes, c->n, c->lease_us, c->now_us, &c->denial);
}

int ms_tracker_admit(ms_tracker *t, const char *session_id, ms_session_class cls, const char *const *scopes,
                     size_t n_scopes, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: admit: tracker is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = session_call(what, "admit", session_id);
  if (!st) st = check_admit_args(what, (int)cls, scopes, n_scopes, lease_us, now_us);
  if (st) return st;
  write_call c = {.t = t, .what = what, .sid = session_id, .cls = (int)cls, .scopes = scopes, .n = n_scopes,
                  .lease_us = lease_us, .now_us = now_us};
  st = ms__store_write(t->store, admit_op, &c);
  if (st == MS_ELIMIT && denial) *denial = c.denial;
  return ms__tracker_failed(what, st);
}

static int release_op(ms_store *s, void *arg) {
  (void)s;
  write_call *c = arg;
  return release_locked(c->t, c->sid, &c->held);
}

int ms_tracker_release(ms_tracker *t, const char *session_id, int *was_held) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: release: tracker is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = session_call(what, "release", session_id);
  if (st) return st;
  write_call c = {.t = t, .what = what, .sid = session_id};
  if ((st = ms__store_write(t->store, release_op, &c)) != MS_OK) return ms__tracker_failed(what, st);
  if (was_held) *was_held = c.held;
  return MS_OK;
}

static int renew_op(ms_store *s, void *arg) {
  write_call *c = arg;
  held_state h;
  int st = session_state(c->t, c->sid, c->now_us, NULL, 0, &h);
  if (!st && h.state != HELD)
    st = ms__fail(MS_ENOTFOUND, "%s: %s", c->what,
                  h.state == NOT_HELD ? "the session is not held" : "the session's lease has expired; admit it again");
  sqlite3_stmt *q = st ? NULL : ms__store_stmt(s, SQL_SESSION_RENEW, &st);
  if (q) {
    sqlite3_bind_text(q, 1, c->sid, -1, SQLITE_STATIC);
    if (c->lease_us > 0) sqlite3_bind_int64(q, 2, c->now_us + c->lease_us); /* unbound = NULL = no lease */
    st = ms__tracker_step_done(c->t, q, "renew a session");
  }
  return st;
}

int ms_tracker_renew(ms_tracker *t, const char *session_id, int64_t lease_us, int64_t now_us) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: renew: tracker is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = session_call(what, "renew", session_id);
  if (!st) st = ms__tracker_check_time(what, lease_us, now_us);
  if (st) return st;
  write_call c = {.t = t, .what = what, .sid = session_id, .lease_us = lease_us, .now_us = now_us};
  return ms__tracker_failed(what, ms__store_write(t->store, renew_op, &c));
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

/* Only the thread that began a tick holds the store's lock, so only it may
 * touch the tick. */
static int check_owner(const ms_tracker_txn *x, const char *what) {
  if (!x) return ms__fail(MS_EINVAL, "tracker: %s: transaction is NULL", what);
  if (!pthread_equal(x->owner, pthread_self()))
    return ms__fail(MS_EINVAL, "tracker: %s: the transaction belongs to another thread", what);
  return MS_OK;
}

/* After some errors (disk full, I/O, out of memory) SQLite rolls the whole
 * transaction back by itself. The tick is then dead: its earlier admits are
 * gone, and a SAVEPOINT would silently open a new autocommitted transaction
 * whose admits a later rollback could not undo. Refuse instead. */
static int check_alive(const ms_tracker_txn *x, const char *what) {
  if (sqlite3_get_autocommit(x->t->store->db))
    return ms__fail(MS_ECLOSED,
                    "%s: the tick's transaction was already rolled back by the database after an earlier "
                    "error; none of its admits stand; roll the tick back and begin a new one",
                    what);
  return MS_OK;
}

int ms_tracker_begin(ms_tracker *t, ms_tracker_txn **out) {
  if (!t || !out) return ms__fail(MS_EINVAL, "tracker: begin: %s is NULL", !t ? "tracker" : "out");
  ms_tracker_txn *x = calloc(1, sizeof *x);
  if (!x) return ms__fail(MS_ENOMEM, "tracker: begin: out of memory");
  int st = ms__store_begin(t->store);
  if (st) {
    free(x);
    return ms__tracker_failed("tracker: begin", st);
  }
  x->t = t;
  x->owner = pthread_self();
  *out = x;
  return MS_OK;
}

int ms_tracker_txn_admit(ms_tracker_txn *x, const char *session_id, ms_session_class cls, const char *const *scopes,
                         size_t n_scopes, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  char what[MS_TRACKER_WHAT_LEN];
  int st = check_owner(x, "txn_admit");
  if (!st) st = session_call(what, "txn_admit", session_id);
  if (!st) st = check_admit_args(what, (int)cls, scopes, n_scopes, lease_us, now_us);
  if (!st) st = check_alive(x, what);
  if (st) return st;
  if ((st = run_simple(x->t, SQL_SP_BEGIN, "open a savepoint")) != MS_OK) return ms__tracker_failed(what, st);
  st = ms__tracker_failed(what, admit_with_denial(x->t, what, session_id, (int)cls, scopes, n_scopes, lease_us,
                                                  now_us, denial));
  return ms__tracker_failed(what, end_call(x->t, st));
}

int ms_tracker_txn_release(ms_tracker_txn *x, const char *session_id, int *was_held) {
  char what[MS_TRACKER_WHAT_LEN];
  int st = check_owner(x, "txn_release");
  if (!st) st = session_call(what, "txn_release", session_id);
  if (!st) st = check_alive(x, what);
  if (st) return st;
  if ((st = run_simple(x->t, SQL_SP_BEGIN, "open a savepoint")) != MS_OK) return ms__tracker_failed(what, st);
  int held = 0;
  st = ms__tracker_failed(what, release_locked(x->t, session_id, &held));
  if ((st = ms__tracker_failed(what, end_call(x->t, st))) != MS_OK) return st;
  if (was_held) *was_held = held;
  return MS_OK;
}

int ms_tracker_txn_commit(ms_tracker_txn *x) {
  int st = check_owner(x, "commit");
  if (st) return st;
  if ((st = check_alive(x, "tracker: commit")) != MS_OK) {
    ms__store_rollback(x->t->store); /* nothing to undo; releases the lock */
  } else {
    st = ms__tracker_failed("tracker: commit", ms__store_commit(x->t->store));
  }
  free(x);
  return st;
}

void ms_tracker_txn_rollback(ms_tracker_txn *x) {
  if (!x) return;
  /* Rolled back from another thread the mutex cannot be released: refuse
   * rather than corrupt the lock (documented: the owner ends the tick). */
  if (check_owner(x, "rollback")) return;
  ms__store_rollback(x->t->store);
  free(x);
}

/* ---- lookups ---------------------------------------------------------------- */

static const char SQL_SESSION_ONE[] = "SELECT cls, expires_us FROM tracker_members WHERE session = ?1 LIMIT 1";

int ms_tracker_get_held(ms_tracker *t, const char *session_id, int64_t now_us, int *held, ms_session_class *cls,
                    int64_t *expires_us) {
  if (!t || !held) return ms__fail(MS_EINVAL, "tracker: held: %s is NULL", !t ? "tracker" : "held");
  char what[MS_TRACKER_WHAT_LEN];
  int st = session_call(what, "held", session_id);
  if (!st) st = ms__tracker_check_time(what, 0, now_us);
  if (st) return st;
  if ((st = ms__store_lock(t->store)) != MS_OK) return ms__tracker_failed(what, st);
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_SESSION_ONE, &st);
  int found = 0, c = 0;
  int64_t exp = 0;
  if (q) {
    sqlite3_bind_text(q, 1, session_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      c = sqlite3_column_int(q, 0);
      exp = sqlite3_column_type(q, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 1);
      found = exp == 0 || exp > now_us;
    } else if (rc != SQLITE_DONE) {
      st = ms__store_error(t->store, rc, "look a session up");
    }
    sqlite3_reset(q);
  }
  ms__store_unlock(t->store);
  if (st) return ms__tracker_failed(what, st);
  *held = found;
  if (found && cls) *cls = (ms_session_class)c;
  if (found && expires_us) *expires_us = exp;
  return MS_OK;
}
