/* The tracker handle, argument checks, limits and counting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "tracker_internal.h"

int ms__tracker_check_name(const char *what, const char *kind, const char *name) {
  if (!name) return ms__fail(MS_EINVAL, "%s: %s is NULL", what, kind);
  if (!*name) return ms__fail(MS_EINVAL, "%s: %s is empty", what, kind);
  size_t n = strnlen(name, MS_TRACKER_NAME_MAX + 1);
  if (n > MS_TRACKER_NAME_MAX)
    return ms__fail(MS_EINVAL, "%s: %s '%.40s...' is longer than %d bytes", what, kind, name, MS_TRACKER_NAME_MAX);
  return MS_OK;
}

int ms__tracker_check_class(const char *what, int cls) {
  if (cls != MS_CLASS_COMPUTE && cls != MS_CLASS_SYSTEM)
    return ms__fail(MS_EINVAL, "%s: session class %d is neither MS_CLASS_COMPUTE (0) nor MS_CLASS_SYSTEM (1)", what,
                    cls);
  return MS_OK;
}

int ms__tracker_check_scopes(const char *what, const char *const *scopes, size_t n_scopes) {
  if (!scopes) return ms__fail(MS_EINVAL, "%s: scopes is NULL", what);
  if (n_scopes == 0) return ms__fail(MS_EINVAL, "%s: no scope named (n_scopes is 0)", what);
  if (n_scopes > MS_TRACKER_MAX_SCOPES)
    return ms__fail(MS_EINVAL, "%s: %zu scopes named, more than MS_TRACKER_MAX_SCOPES (%d)", what, n_scopes,
                    MS_TRACKER_MAX_SCOPES);
  for (size_t i = 0; i < n_scopes; i++) {
    char kind[32];
    snprintf(kind, sizeof kind, "scope #%zu", i);
    int st = ms__tracker_check_name(what, kind, scopes[i]);
    if (st) return st;
  }
  return MS_OK;
}

int ms__tracker_check_time(const char *what, int64_t lease_us, int64_t now_us) {
  if (now_us < 0) return ms__fail(MS_EINVAL, "%s: now_us %lld is before the Unix epoch", what, (long long)now_us);
  if (lease_us < 0) return ms__fail(MS_EINVAL, "%s: lease %lld us is negative", what, (long long)lease_us);
  if (lease_us > INT64_MAX - now_us)
    return ms__fail(MS_EINVAL, "%s: lease %lld us from now_us %lld overflows", what, (long long)lease_us,
                    (long long)now_us);
  return MS_OK;
}

int ms__tracker_failed(const char *what, int st) {
  if (st && strncmp(ms_errmsg(), what, strlen(what)) != 0) ms__errmsg_prefix("%s", what);
  return st;
}

int ms__tracker_step_done(ms_tracker *t, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return ms__store_error(t->store, rc, what);
  return MS_OK;
}

/* The member rows of (scope, cls) are one range of the primary key; expired
 * ones are skipped here rather than purged, so they stop counting at once. */
static const char SQL_COUNT[] =
    "SELECT count(*) FROM tracker_members WHERE scope = ?1 AND cls = ?2 AND (expires_us IS NULL OR expires_us > ?3)";

int ms__tracker_count(ms_tracker *t, const char *scope, int cls, int64_t now_us, int64_t *used) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_COUNT, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, cls);
  sqlite3_bind_int64(q, 3, now_us);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW)
    *used = sqlite3_column_int64(q, 0);
  else
    st = ms__store_error(t->store, rc, "count a scope's sessions");
  sqlite3_reset(q);
  return st;
}

int ms_tracker_open(ms_store *store, ms_tracker **out) {
  if (!store || !out) return ms__fail(MS_EINVAL, "tracker: %s is NULL", !store ? "store" : "out");
  ms_tracker *t = calloc(1, sizeof *t);
  if (!t) return ms__fail(MS_ENOMEM, "tracker: out of memory");
  t->store = store;
  *out = t;
  return MS_OK;
}

void ms_tracker_close(ms_tracker *t) { free(t); }

static const char SQL_LIMIT_SET[] =
    "INSERT INTO tracker_limits(scope, cls, max_sessions) VALUES (?1, ?2, ?3) "
    "ON CONFLICT(scope, cls) DO UPDATE SET max_sessions = excluded.max_sessions";
static const char SQL_LIMIT_DEL[] = "DELETE FROM tracker_limits WHERE scope = ?1 AND cls = ?2";
static const char SQL_LIMIT_GET[] = "SELECT max_sessions FROM tracker_limits WHERE scope = ?1 AND cls = ?2";

/* "tracker: <verb> '<scope>'" once the scope is known to be printable. */
static int scope_call(char *what, size_t cap, const char *verb, const char *scope, int cls) {
  char head[32];
  snprintf(head, sizeof head, "tracker: %s", verb);
  int st = ms__tracker_check_name(head, "scope", scope);
  if (st) return st;
  snprintf(what, cap, "%s '%s'", head, scope);
  return ms__tracker_check_class(what, cls);
}

int ms_tracker_set_limit(ms_tracker *t, const char *scope, ms_session_class cls, int64_t limit) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: set_limit: tracker is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = scope_call(what, sizeof what, "set_limit", scope, (int)cls);
  if (st) return st;
  if (limit < MS_UNLIMITED)
    return ms__fail(MS_EINVAL, "%s: limit %lld is invalid (MS_UNLIMITED, 0 or a positive count)", what,
                    (long long)limit);
  if ((st = ms__store_begin(t->store)) != MS_OK) return ms__tracker_failed(what, st);
  sqlite3_stmt *q = ms__store_stmt(t->store, limit == MS_UNLIMITED ? SQL_LIMIT_DEL : SQL_LIMIT_SET, &st);
  if (q) {
    sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, (int)cls);
    if (limit != MS_UNLIMITED) sqlite3_bind_int64(q, 3, limit);
    st = ms__tracker_step_done(t, q, "set a limit");
  }
  if (st) {
    ms__store_rollback(t->store);
    return ms__tracker_failed(what, st);
  }
  return ms__tracker_failed(what, ms__store_commit(t->store));
}

/* Read-only calls take the handle lock and run in autocommit mode; statements
 * are reset before unlocking so no read transaction outlives the call. */
int ms_tracker_get_limit(ms_tracker *t, const char *scope, ms_session_class cls, int64_t *limit) {
  if (!t || !limit) return ms__fail(MS_EINVAL, "tracker: get_limit: %s is NULL", !t ? "tracker" : "limit");
  char what[MS_TRACKER_WHAT_LEN];
  int st = scope_call(what, sizeof what, "get_limit", scope, (int)cls);
  if (st) return st;
  if ((st = ms__store_lock(t->store)) != MS_OK) return ms__tracker_failed(what, st);
  int64_t v = MS_UNLIMITED;
  sqlite3_stmt *q = ms__store_stmt(t->store, SQL_LIMIT_GET, &st);
  if (q) {
    sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, (int)cls);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
      v = sqlite3_column_int64(q, 0);
    else if (rc != SQLITE_DONE)
      st = ms__store_error(t->store, rc, "read a limit");
    sqlite3_reset(q);
  }
  ms__store_unlock(t->store);
  if (st) return ms__tracker_failed(what, st);
  *limit = v;
  return MS_OK;
}

int ms_tracker_get_used(ms_tracker *t, const char *scope, ms_session_class cls, int64_t now_us, int64_t *used) {
  if (!t || !used) return ms__fail(MS_EINVAL, "tracker: used: %s is NULL", !t ? "tracker" : "used");
  char what[MS_TRACKER_WHAT_LEN];
  int st = scope_call(what, sizeof what, "used", scope, (int)cls);
  if (!st) st = ms__tracker_check_time(what, 0, now_us);
  if (st) return st;
  if ((st = ms__store_lock(t->store)) != MS_OK) return ms__tracker_failed(what, st);
  int64_t n = 0;
  st = ms__tracker_count(t, scope, (int)cls, now_us, &n);
  ms__store_unlock(t->store);
  if (st) return ms__tracker_failed(what, st);
  *used = n;
  return MS_OK;
}
