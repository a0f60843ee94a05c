/* The tracker's rows (rows.h): every statement on the sets, defined once. */
#include "tracker/rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "tracker/tally.h"

static const char SQL_SESSION_GET[] = "SELECT cls, expires_us, scopes FROM tracker_sessions WHERE session = ?1";
static const char SQL_SESSION_ADD[] =
    "INSERT INTO tracker_sessions(session, cls, expires_us, scopes) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_SESSION_DEL[] = "DELETE FROM tracker_sessions WHERE session = ?1";
static const char SQL_SESSION_EXPIRY[] = "UPDATE tracker_sessions SET expires_us = ?2 WHERE session = ?1";
static const char SQL_SESSION_PUT[] =
    "INSERT INTO tracker_sessions(session, cls, expires_us, scopes) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT(session) DO UPDATE SET cls = excluded.cls, expires_us = excluded.expires_us, "
    "scopes = excluded.scopes";
static const char SQL_MEMBER_ADD[] =
    "INSERT INTO tracker_members(scope, cls, expires_us, session) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_MEMBER_MOVE[] =
    "UPDATE tracker_members SET expires_us = ?5 WHERE scope = ?1 AND cls = ?2 AND expires_us = ?3 AND session = ?4";
static const char SQL_MEMBER_DEL[] =
    "DELETE FROM tracker_members WHERE scope = ?1 AND cls = ?2 AND expires_us = ?3 AND session = ?4";
/* A pair's own row: after its members (rows.h). */
#define PAIR_ROW "scope = ?1 AND cls = ?2 AND " MS_TRACKER_SQL_PAIR_ROW
static const char SQL_PAIR_GET[] = "SELECT max_sessions, n FROM tracker_members WHERE " PAIR_ROW;
static const char SQL_PAIR_NEW[] =
    "INSERT INTO tracker_members(scope, cls, expires_us, session, n) VALUES (?1, ?2, " MS_TRACKER_SQL_PAIR_KEY ", '', ?3)";
static const char SQL_PAIR_ADD[] = "UPDATE tracker_members SET n = n + ?3 WHERE " PAIR_ROW;
static const char SQL_PAIR_BUMP[] =
    "UPDATE tracker_members SET n = n + 1 WHERE " PAIR_ROW " AND (max_sessions IS NULL OR n < max_sessions)";
/* Limits: their own table, mirrored in the pair's row (where admissions
 * read them). */
static const char SQL_LIMIT_SET[] =
    "INSERT INTO tracker_limits(scope, cls, max_sessions) VALUES (?1, ?2, ?3) "
    "ON CONFLICT(scope, cls) DO UPDATE SET max_sessions = excluded.max_sessions";
static const char SQL_LIMIT_DEL[] = "DELETE FROM tracker_limits WHERE scope = ?1 AND cls = ?2";
static const char SQL_LIMIT_GET[] = "SELECT max_sessions FROM tracker_limits WHERE scope = ?1 AND cls = ?2";
static const char SQL_PAIR_LIMIT[] =
    "INSERT INTO tracker_members(scope, cls, expires_us, session, n, max_sessions) VALUES (?1, ?2, " MS_TRACKER_SQL_PAIR_KEY ", '', 0, ?3) "
    "ON CONFLICT(scope, cls, expires_us, session) DO UPDATE SET max_sessions = excluded.max_sessions";
/* The expired members of a pair: the front of its key range. */
static const char SQL_PAIR_EXPIRED[] =
    "SELECT count(*) FROM (SELECT 1 FROM tracker_members WHERE scope = ?1 AND cls = ?2 AND "
    MS_TRACKER_SQL_EXPIRED_MEMBER("?3") " LIMIT ?4) AS e";
static const char SQL_PAIR_EXPIRED_IDS[] =
    "SELECT session FROM tracker_members WHERE scope = ?1 AND cls = ?2 AND " MS_TRACKER_SQL_EXPIRED_MEMBER("?3")
    " ORDER BY expires_us LIMIT ?4";
static const char SQL_EARLIEST[] =
    "SELECT session, expires_us FROM tracker_sessions WHERE expires_us > 0 ORDER BY expires_us LIMIT ?1";

static int step_done(ms_tracker *t, ms_stmt *q, const char *what) {
  return ms__stmt_done(t->store, q, what);
}

/* Step a write that must change exactly one row: a row that is not there
 * means the sets and their counts disagree (damage). */
static int step_one(ms_tracker *t, ms_stmt *q, const char *what) {
  int st = step_done(t, q, what);
  if (!st && ms__store_changes(t->store) != 1)
    st = ms__fail(MS_ECORRUPT, "store '%s': %s: the row is missing (the tracker's tables disagree)",
                  t->store->path, what);
  return st;
}

/* Step an insert whose row was looked up as absent: a conflict means the
 * tracker's tables disagree (a damaged database), not a caller's error. */
static int step_insert(ms_tracker *t, ms_stmt *q, const char *what) {
  int st = step_done(t, q, what);
  if (st == MS_ECONFLICT || st == MS_EEXIST) { /* SQLite's constraint failure, PostgreSQL's unique violation */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ms_errmsg());
    st = ms__fail(MS_ECORRUPT, "%s (the tracker's tables disagree)", msg);
  }
  return st;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

size_t ms__tracker_sort_scopes(const char *const *names, size_t n, const char **out) {
  memcpy(out, names, n * sizeof *out);
  qsort(out, n, sizeof *out, cmp_name);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (k == 0 || strcmp(out[k - 1], out[i]) != 0) out[k++] = out[i];
  return k;
}

/* The blob of n sorted names into buf (MS_TRACKER_BLOB_MAX bytes). */
static size_t encode(const char *const *scope, size_t n, char *buf) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(scope[i]) + 1;
    memcpy(buf + len, scope[i], l);
    len += l;
  }
  return len;
}

/* Split s->blob into s->scope (sorted: a migrated database may hold them in
 * any order). 0, or -1 when the blob is not a list of 1..64 names. */
static int decode(ms__tracker_session *s) {
  s->n = 0;
  if (s->blob_len == 0 || s->blob[s->blob_len - 1] != '\0') return -1;
  for (size_t at = 0; at < s->blob_len;) {
    size_t l = strlen(s->blob + at);
    if (l == 0 || l > MS_TRACKER_NAME_MAX || s->n == MS_TRACKER_MAX_SCOPES) return -1;
    s->scope[s->n++] = s->blob + at;
    at += l + 1;
  }
  for (size_t i = 1; i < s->n; i++)
    if (strcmp(s->scope[i - 1], s->scope[i]) >= 0) {
      qsort(s->scope, s->n, sizeof *s->scope, cmp_name);
      break;
    }
  return 0;
}

int ms__tracker_session_get(ms_tracker *t, const char *sid, ms__tracker_session *out, int *found) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_SESSION_GET, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, sid, -1);
  int row = 0;
  *found = 0;
  st = ms__stmt_row(t->store, q, "look a session up", &row);
  if (row) {
    const void *blob = ms__stmt_blob(q, 2);
    size_t len = (size_t)ms__stmt_bytes(q, 2);
    out->cls = ms__stmt_int(q, 0);
    out->expires_us = ms__stmt_int64(q, 1);
    if (len > MS_TRACKER_BLOB_MAX || (len && !blob)) {
      st = ms__fail(MS_ECORRUPT, "store '%s': session '%s': its list of scopes is damaged (%zu bytes)",
                    t->store->path, sid, len);
    } else {
      if (len) memcpy(out->blob, blob, len);
      out->blob_len = len;
      if (decode(out) || (out->cls != MS_CLASS_COMPUTE && out->cls != MS_CLASS_SYSTEM) || out->expires_us < 0)
        st = ms__fail(MS_ECORRUPT, "store '%s': session '%s': its row is damaged", t->store->path, sid);
      else
        *found = 1;
    }
  }
  ms__stmt_reset(q);
  return st;
}

/* One membership row: add it, delete it, or move it to another lease end. */
static int member_row(ms_tracker *t, const char *sql, const char *scope, int cls, int64_t exp, const char *sid,
                      int64_t new_exp, const char *what) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, sql, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, scope, -1);
  ms__stmt_bind_int(q, 2, cls);
  ms__stmt_bind_int64(q, 3, exp);
  ms__stmt_bind_text(q, 4, sid, -1);
  if (sql == SQL_MEMBER_MOVE) ms__stmt_bind_int64(q, 5, new_exp);
  return sql == SQL_MEMBER_ADD ? step_insert(t, q, what) : step_one(t, q, what);
}

static int member_add(ms_tracker *t, const char *scope, int cls, int64_t exp, const char *sid) {
  return member_row(t, SQL_MEMBER_ADD, scope, cls, exp, sid, 0, "add a member");
}

static int member_del(ms_tracker *t, const char *scope, int cls, int64_t exp, const char *sid) {
  return member_row(t, SQL_MEMBER_DEL, scope, cls, exp, sid, 0, "remove a member");
}

/* Add delta to a pair's count; exists: its row is known to be there (else
 * it is made, with delta as its count). */
static int pair_add(ms_tracker *t, const char *scope, int cls, int64_t delta, int exists) {
  if (t->tally) { /* a tick: written once, at its commit */
    ms__tracker_tally_pair *p = ms__tracker_tally_get(t->tally, scope, cls);
    if (!p || ms__tracker_tally_add(t->tally, p, delta))
      return ms__fail(MS_ENOMEM, "out of memory counting a scope's members");
    return MS_OK;
  }
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, exists ? SQL_PAIR_ADD : SQL_PAIR_NEW, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, scope, -1);
  ms__stmt_bind_int(q, 2, cls);
  ms__stmt_bind_int64(q, 3, delta);
  return exists ? step_one(t, q, "count a scope's members") : step_insert(t, q, "count a scope's members");
}

static int session_del(ms_tracker *t, const char *sid) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_SESSION_DEL, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, sid, -1);
  return step_one(t, q, "remove a session");
}

int ms__tracker_session_hold(ms_tracker *t, const char *sid, int cls, int64_t expires_us,
                             const char *const *scope, const ms__tracker_pair *pair, const unsigned char *counted,
                             size_t n, int *undone) {
  char blob[MS_TRACKER_BLOB_MAX];
  size_t len = encode(scope, n, blob);
  *undone = 1;
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_SESSION_ADD, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, sid, -1);
  ms__stmt_bind_int(q, 2, cls);
  ms__stmt_bind_int64(q, 3, expires_us);
  ms__stmt_bind_blob(q, 4, blob, (int)len);
  if ((st = step_insert(t, q, "add a session")) != MS_OK) return st;
  /* Single-row statements (SQLite runs them without a statement journal),
   * two per scope, counted so that a failure is taken back exactly: a tick
   * has no savepoint per admit. */
  size_t done = 0;
  for (size_t i = 0; i < n && !st; i++) {
    if ((st = member_add(t, scope[i], cls, expires_us, sid)) != MS_OK) break;
    done++;
    if (!counted[i] && (st = pair_add(t, scope[i], cls, 1, pair[i].exists)) != MS_OK) break;
    done++;
  }
  if (!st) {
    ms__tracker_purge_due_by(t, expires_us);
    return MS_OK;
  }
  /* The database may have rolled the whole transaction back by itself. */
  if (ms__store_autocommit(t->store)) return st;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", ms_errmsg());
  int u = MS_OK;
  for (size_t d = done; d-- > 0 && !u;) {
    size_t i = d / 2;
    if (d % 2) u = counted[i] ? MS_OK : pair_add(t, scope[i], cls, -1, 1); /* a row made here stays, counting 0 */
    else u = member_del(t, scope[i], cls, expires_us, sid);
  }
  if (!u) u = session_del(t, sid);
  if (u) *undone = 0;
  return ms__fail(st, "%s", msg);
}

int ms__tracker_session_forget(ms_tracker *t, const char *sid, const ms__tracker_session *s) {
  int st = MS_OK;
  for (size_t i = 0; i < s->n && !st; i++) {
    st = member_del(t, s->scope[i], s->cls, s->expires_us, sid);
    if (!st) st = pair_add(t, s->scope[i], s->cls, -1, 1);
  }
  return st ? st : session_del(t, sid);
}

int ms__tracker_session_set_expiry(ms_tracker *t, const char *sid, const ms__tracker_session *s,
                                   int64_t expires_us) {
  int st = MS_OK;
  for (size_t i = 0; i < s->n && !st; i++)
    st = member_row(t, SQL_MEMBER_MOVE, s->scope[i], s->cls, s->expires_us, sid, expires_us, "renew a member");
  ms_stmt *q = st ? NULL : ms__store_prepare(t->store, SQL_SESSION_EXPIRY, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, sid, -1);
  ms__stmt_bind_int64(q, 2, expires_us);
  if ((st = step_one(t, q, "renew a session")) == MS_OK) ms__tracker_purge_due_by(t, expires_us);
  return st;
}

int ms__tracker_session_put(ms_tracker *t, const char *sid, int cls, int64_t expires_us, const char *const *scope,
                            size_t n, int exists) {
  if (n == 0) return exists ? session_del(t, sid) : MS_OK;
  char blob[MS_TRACKER_BLOB_MAX];
  size_t len = encode(scope, n, blob);
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_SESSION_PUT, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, sid, -1);
  ms__stmt_bind_int(q, 2, cls);
  ms__stmt_bind_int64(q, 3, expires_us);
  ms__stmt_bind_blob(q, 4, blob, (int)len);
  return step_done(t, q, "write a session");
}

static const char SQL_MEMBER_PUT[] =
    "INSERT INTO tracker_members(scope, cls, expires_us, session) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";

int ms__tracker_member_put(ms_tracker *t, const char *scope, int cls, int64_t expires_us, const char *sid, int add,
                           int *changed) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, add ? SQL_MEMBER_PUT : SQL_MEMBER_DEL, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, scope, -1);
  ms__stmt_bind_int(q, 2, cls);
  ms__stmt_bind_int64(q, 3, expires_us);
  ms__stmt_bind_text(q, 4, sid, -1);
  if ((st = step_done(t, q, add ? "add a member" : "remove a member")) == MS_OK)
    *changed = ms__store_changes(t->store) > 0;
  return st;
}

/* Recounting: make the pair rows of every pair with members or a limit,
 * set their counts from the members and their limits from tracker_limits,
 * then drop the pair rows left with neither. ?1: the scope (its pairs only). */
#define RECOUNT(scope_is)                                                                                       \
  {"INSERT INTO tracker_members(scope, cls, expires_us, session, n) SELECT scope, cls, " MS_TRACKER_SQL_PAIR_KEY ", '', 0 "               \
   "FROM tracker_members WHERE " scope_is " " MS_TRACKER_SQL_MEMBER " GROUP BY scope, cls "                                \
   "ON CONFLICT(scope, cls, expires_us, session) DO NOTHING",                                                    \
   "INSERT INTO tracker_members(scope, cls, expires_us, session, n) SELECT scope, cls, " MS_TRACKER_SQL_PAIR_KEY ", '', 0 "               \
   "FROM tracker_limits WHERE " scope_is " true ON CONFLICT(scope, cls, expires_us, session) DO NOTHING",         \
   "UPDATE tracker_members SET n = (SELECT count(*) FROM tracker_members m WHERE m.scope = tracker_members.scope " \
   "AND m.cls = tracker_members.cls AND m.session <> ''), max_sessions = (SELECT l.max_sessions FROM "          \
   "tracker_limits l WHERE l.scope = tracker_members.scope AND l.cls = tracker_members.cls) "                     \
   "WHERE " scope_is " " MS_TRACKER_SQL_PAIR_ROW,                                                                          \
   "DELETE FROM tracker_members WHERE " scope_is " " MS_TRACKER_SQL_PAIR_ROW " AND n = 0 AND max_sessions IS NULL"}
static const char *const SQL_RECOUNT_ALL[] = RECOUNT("");
static const char *const SQL_RECOUNT_SCOPE[] = RECOUNT("scope = ?1 AND");
#undef RECOUNT

int ms__tracker_recount(ms_tracker *t, const char *scope) {
  int st = MS_OK;
  const char *const *sql = scope ? SQL_RECOUNT_SCOPE : SQL_RECOUNT_ALL;
  for (size_t i = 0; i < 4 && !st; i++) {
    ms_stmt *q = ms__store_prepare(t->store, sql[i], &st);
    if (!q) break;
    if (scope) ms__stmt_bind_text(q, 1, scope, -1);
    st = step_done(t, q, scope ? "recount a scope" : "recount the sets");
  }
  return st;
}

int ms__tracker_pair_bump(ms_tracker *t, const char *scope, int cls, int *bumped) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_PAIR_BUMP, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, scope, -1);
  ms__stmt_bind_int(q, 2, cls);
  if ((st = step_done(t, q, "count a scope's members")) == MS_OK) *bumped = ms__store_changes(t->store) == 1;
  return st;
}

/* PostgreSQL only (ms__store_locks_rows): SQLite has no FOR UPDATE, and needs none. */
static const char SQL_PAIR_LOCK[] = "SELECT n FROM tracker_members WHERE " PAIR_ROW " FOR UPDATE";
static const char SQL_PAIR_LOCK_NOWAIT[] = "SELECT n FROM tracker_members WHERE " PAIR_ROW " FOR UPDATE NOWAIT";
static const char SQL_PAIR_MAKE[] =
    "INSERT INTO tracker_members(scope, cls, expires_us, session, n) VALUES (?1, ?2, " MS_TRACKER_SQL_PAIR_KEY
    ", '', 0) ON CONFLICT DO NOTHING";

static int pair_lock(ms_tracker *t, const char *scope, int cls, int *found) {
  int st = MS_OK, row = 0;
  /* a transaction holding locks already never waits (store/stmt.h) */
  ms_stmt *q = ms__store_prepare(t->store, ms__store_may_wait(t->store) ? SQL_PAIR_LOCK : SQL_PAIR_LOCK_NOWAIT, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, scope, -1);
  ms__stmt_bind_int(q, 2, cls);
  st = ms__stmt_row(t->store, q, "lock a scope's count", &row);
  ms__stmt_reset(q);
  *found = row;
  return st;
}

int ms__tracker_pairs_lock(ms_tracker *t, const char *const *sorted, size_t k, int cls) {
  int st = MS_OK;
  for (size_t j = 0; j < k && !st; j++) {
    int found = 0;
    if ((st = pair_lock(t, sorted[j], cls, &found)) != MS_OK || found) continue;
    /* a new pair: made (or, if another host made it meanwhile, waited for)
     * and then locked like the others */
    ms_stmt *q = ms__store_prepare(t->store, SQL_PAIR_MAKE, &st);
    if (!q) return st;
    ms__stmt_bind_text(q, 1, sorted[j], -1);
    ms__stmt_bind_int(q, 2, cls);
    if ((st = step_done(t, q, "make a scope's count")) == MS_OK) st = pair_lock(t, sorted[j], cls, &found);
  }
  if (!st) ms__store_note_locks(t->store);
  return st;
}

static int pair_read(ms_tracker *t, const char *scope, int cls, ms__tracker_pair *out);

int ms__tracker_pair_get(ms_tracker *t, const char *scope, int cls, ms__tracker_pair *out) {
  if (!t->tally) return pair_read(t, scope, cls, out);
  ms__tracker_tally_pair *p = ms__tracker_tally_get(t->tally, scope, cls);
  if (!p) return ms__fail(MS_ENOMEM, "out of memory reading a scope's count");
  if (!p->read) {
    ms__tracker_pair row;
    int st = pair_read(t, scope, cls, &row);
    if (st) return st;
    p->read = 1;
    p->exists = row.exists;
    p->limit = row.limit;
    p->members = row.members;
  }
  out->exists = p->exists;
  out->limit = p->limit;
  out->members = p->members + p->delta;
  return MS_OK;
}

static const char SQL_PAIR_ADD_ANY[] =
    "INSERT INTO tracker_members(scope, cls, expires_us, session, n) VALUES (?1, ?2, " MS_TRACKER_SQL_PAIR_KEY ", '', ?3) "
    "ON CONFLICT(scope, cls, expires_us, session) DO UPDATE SET n = n + excluded.n";

int ms__tracker_tally_flush(ms_tracker *t) {
  ms__tracker_tally *y = t->tally;
  t->tally = NULL; /* the writes below go to the database */
  int st = MS_OK;
  for (size_t i = 0; i < ms__tracker_tally_count(y) && !st; i++) {
    const ms__tracker_tally_pair *p = ms__tracker_tally_at(y, i);
    if (!p->delta) continue;
    if (p->read || p->delta < 0) { /* a row read, or one a count is taken from: it must be there */
      st = pair_add(t, p->scope, p->cls, p->delta, !p->read || p->exists);
    } else { /* counted up without being read: made if missing */
      ms_stmt *q = ms__store_prepare(t->store, SQL_PAIR_ADD_ANY, &st);
      if (!q) break;
      ms__stmt_bind_text(q, 1, p->scope, -1);
      ms__stmt_bind_int(q, 2, p->cls);
      ms__stmt_bind_int64(q, 3, p->delta);
      st = step_done(t, q, "count a scope's members");
    }
  }
  ms__tracker_tally_clear(y);
  return st;
}

static int pair_read(ms_tracker *t, const char *scope, int cls, ms__tracker_pair *out) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_PAIR_GET, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, scope, -1);
  ms__stmt_bind_int(q, 2, cls);
  int row = 0;
  out->exists = 0;
  out->limit = MS_UNLIMITED;
  out->members = 0;
  st = ms__stmt_row(t->store, q, "read a scope's limit and count", &row);
  if (row) {
    out->exists = 1;
    if (!ms__stmt_is_null(q, 0)) out->limit = ms__stmt_int64(q, 0);
    out->members = ms__stmt_int64(q, 1);
  }
  ms__stmt_reset(q);
  return st;
}

int ms__tracker_pair_expired(ms_tracker *t, const char *scope, int cls, int64_t now_us, int64_t cap, int64_t *n) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_PAIR_EXPIRED, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, scope, -1);
  ms__stmt_bind_int(q, 2, cls);
  ms__stmt_bind_int64(q, 3, now_us);
  ms__stmt_bind_int64(q, 4, cap < 0 ? INT64_MAX : cap); /* no cap: a LIMIT both dialects take */
  int row = 0;
  st = ms__stmt_row(t->store, q, "count a scope's expired sessions", &row);
  if (!st && row) *n = ms__stmt_int64(q, 0);
  else if (!st) st = ms__fail(MS_EINTERNAL, "store '%s': counting a scope's expired sessions returned no row",
                              t->store->path);
  ms__stmt_reset(q);
  return st;
}

int ms__tracker_pair_used(ms_tracker *t, const char *scope, int cls, int64_t now_us, int64_t *used) {
  ms__tracker_pair p;
  int64_t expired = 0;
  int st = ms__tracker_pair_get(t, scope, cls, &p);
  if (!st && p.members > 0) st = ms__tracker_pair_expired(t, scope, cls, now_us, -1, &expired);
  if (!st) *used = p.members - expired;
  return st;
}

int ms__tracker_pair_set_limit(ms_tracker *t, const char *scope, int cls, int64_t limit) {
  int st = MS_OK;
  const char *const sql[] = {limit == MS_UNLIMITED ? SQL_LIMIT_DEL : SQL_LIMIT_SET, SQL_PAIR_LIMIT};
  for (size_t i = 0; i < 2 && !st; i++) {
    ms_stmt *q = ms__store_prepare(t->store, sql[i], &st);
    if (!q) break;
    ms__stmt_bind_text(q, 1, scope, -1);
    ms__stmt_bind_int(q, 2, cls);
    if (limit != MS_UNLIMITED) ms__stmt_bind_int64(q, 3, limit); /* unbound: NULL, no limit */
    st = step_done(t, q, "set a limit");
  }
  return st;
}

int ms__tracker_limit_get(ms_tracker *t, const char *scope, int cls, int64_t *limit) {
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(t->store, SQL_LIMIT_GET, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, scope, -1);
  ms__stmt_bind_int(q, 2, cls);
  if ((st = ms__stmt_row(t->store, q, "read a limit", &row)) != MS_OK) return st;
  *limit = row ? ms__stmt_int64(q, 0) : MS_UNLIMITED;
  if (row) {
    ms__stmt_reset(q);
  }
  return MS_OK;
}

/* Session ids collected before forgetting them: deleting under an open
 * SELECT of the same table is not well defined in SQLite. */
typedef struct id_list {
  char (*id)[MS_TRACKER_NAME_MAX + 1];
  size_t n;
} id_list;

static int forget_ids(ms_tracker *t, const id_list *ids, size_t *purged) {
  int st = MS_OK;
  ms__tracker_session *s = malloc(sizeof *s);
  if (!s) return ms__fail(MS_ENOMEM, "out of memory purging expired sessions");
  for (size_t i = 0; i < ids->n && !st; i++) {
    int found = 0;
    st = ms__tracker_session_get(t, ids->id[i], s, &found);
    if (!st && found) st = ms__tracker_session_forget(t, ids->id[i], s);
    if (!st && found) (*purged)++;
  }
  free(s);
  return st;
}

/* Run `q` (bound, its first column a session id) and collect up to max ids. */
static int collect(ms_tracker *t, ms_stmt *q, size_t max, id_list *ids, int64_t *next, int64_t now_us) {
  int st = MS_OK, row = 0;
  while ((st = ms__stmt_row(t->store, q, "find expired sessions", &row)) == MS_OK && row) {
    if (next) {
      int64_t exp = ms__stmt_int64(q, 1);
      if (exp > now_us || ids->n == max) {
        *next = exp;
        break;
      }
    }
    const char *id = ms__stmt_text(q, 0);
    if (!id || ids->n == max) break;
    snprintf(ids->id[ids->n++], MS_TRACKER_NAME_MAX + 1, "%s", id);
  }
  ms__stmt_reset(q);
  return st;
}

int ms__tracker_purge_pair(ms_tracker *t, const char *scope, int cls, int64_t now_us, size_t max, size_t *purged) {
  *purged = 0;
  id_list ids = {malloc(max * sizeof *ids.id), 0};
  if (!ids.id) return ms__fail(MS_ENOMEM, "out of memory purging expired sessions");
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_PAIR_EXPIRED_IDS, &st);
  if (q) {
    ms__stmt_bind_text(q, 1, scope, -1);
    ms__stmt_bind_int(q, 2, cls);
    ms__stmt_bind_int64(q, 3, now_us);
    ms__stmt_bind_int64(q, 4, (int64_t)max);
    st = collect(t, q, max, &ids, NULL, now_us);
  }
  if (!st) st = forget_ids(t, &ids, purged);
  free(ids.id);
  return st;
}

int ms__tracker_purge_any(ms_tracker *t, int64_t now_us, size_t max, size_t *purged, int64_t *next) {
  *purged = 0;
  *next = INT64_MAX;
  id_list ids = {malloc((max ? max : 1) * sizeof *ids.id), 0};
  if (!ids.id) return ms__fail(MS_ENOMEM, "out of memory purging expired sessions");
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_EARLIEST, &st);
  if (q) {
    /* one row more than purged: the earliest lease end left after them */
    ms__stmt_bind_int64(q, 1, (int64_t)max + 1);
    st = collect(t, q, max, &ids, next, now_us);
  }
  if (!st) st = forget_ids(t, &ids, purged);
  free(ids.id);
  return st;
}

int ms__tracker_earliest_expiry(ms_tracker *t, int64_t *at_us) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(t->store, SQL_EARLIEST, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, 1);
  int row = 0;
  st = ms__stmt_row(t->store, q, "find the earliest lease end", &row);
  if (!st) *at_us = row ? ms__stmt_int64(q, 1) : INT64_MAX;
  ms__stmt_reset(q);
  return st;
}
