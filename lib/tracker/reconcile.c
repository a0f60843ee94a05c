/* Reconcile: make the held sets equal to the host's authoritative list.
 *
 * The list is collected in memory without touching the store, then applied
 * in one transaction as a diff, so concurrent admissions wait only for the
 * apply and the counts of added and removed memberships are exact. The
 * member counts of the pairs it touched (every pair, for a full reconcile)
 * are then recomputed from the rows, so a reconcile also repairs counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "tracker/rows.h"

/* One membership: a session counted in one (scope, class) set. */
typedef struct rc_item {
  char *session;
  char *scope;
  int cls;
} rc_item;

struct ms_reconcile {
  ms_tracker *t;
  char *scope; /* NULL: every scope */
  char what[MS_TRACKER_WHAT_LEN]; /* "tracker: ms_reconcile_commit: reconcile of ...": its messages */
  rc_item *items;
  size_t n, cap;
};

int ms_tracker_reconcile_begin(ms_tracker *t, const char *scope, ms_reconcile **out) {
  static const char call[] = "tracker: ms_tracker_reconcile_begin";
  if (!t || !out) return ms__fail(MS_EINVAL, "%s: %s is NULL", call, !t ? "tracker" : "out");
  int st = scope ? ms__tracker_check_name(call, "scope", scope) : MS_OK;
  if (st) return st;
  ms_reconcile *r = calloc(1, sizeof *r);
  if (!r) return ms__fail(MS_ENOMEM, "%s: out of memory", call);
  if (scope && !(r->scope = ms__strdup(scope))) {
    free(r);
    return ms__fail(MS_ENOMEM, "%s: scope '%s': out of memory", call, scope);
  }
  r->t = t;
  if (scope) snprintf(r->what, sizeof r->what, "tracker: ms_reconcile_commit: reconcile of scope '%s'", scope);
  else snprintf(r->what, sizeof r->what, "tracker: ms_reconcile_commit: reconcile of every scope");
  *out = r;
  return MS_OK;
}

static void drop_items(ms_reconcile *r, size_t from) {
  for (size_t i = from; i < r->n; i++) {
    free(r->items[i].session);
    free(r->items[i].scope);
  }
  r->n = from;
}

void ms_reconcile_rollback(ms_reconcile *r) {
  if (!r) return;
  drop_items(r, 0);
  free(r->items);
  free(r->scope);
  free(r);
}

static int push(ms_reconcile *r, const char *session, const char *scope, int cls) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    rc_item *p = realloc(r->items, cap * sizeof *p);
    if (!p) return ms__fail(MS_ENOMEM, "tracker: ms_reconcile_add: out of memory for %zu entries", cap);
    r->items = p;
    r->cap = cap;
  }
  rc_item *it = &r->items[r->n];
  it->session = ms__strdup(session);
  it->scope = it->session ? ms__strdup(scope) : NULL;
  if (!it->scope) {
    free(it->session);
    return ms__fail(MS_ENOMEM, "tracker: ms_reconcile_add: session '%s': out of memory", session);
  }
  it->cls = cls;
  r->n++;
  return MS_OK;
}

int ms_reconcile_add(ms_reconcile *r, const char *session_id, ms_session_class cls, const char *const *scopes,
                     size_t n_scopes) {
  if (!r) return ms__fail(MS_EINVAL, "tracker: ms_reconcile_add: reconcile is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = ms__tracker_what(what, "ms_reconcile_add", "session", session_id);
  if (!st) st = ms__tracker_check_class(what, (int)cls);
  if (!st) st = ms__tracker_check_scopes(what, scopes, n_scopes);
  if (st) return st;
  size_t mark = r->n;
  for (size_t i = 0; i < n_scopes && !st; i++) {
    /* A scoped reconcile owns one set: other scopes of the session are none
     * of its business. Duplicates are removed at commit. */
    if (r->scope && strcmp(scopes[i], r->scope) != 0) continue;
    st = push(r, session_id, scopes[i], (int)cls);
  }
  if (st) drop_items(r, mark);
  return st;
}

static int cmp_item(const void *a, const void *b) {
  const rc_item *x = a, *y = b;
  int c = strcmp(x->session, y->session);
  if (!c) c = strcmp(x->scope, y->scope);
  if (!c) c = (x->cls > y->cls) - (x->cls < y->cls);
  return c;
}

/* Is (session, scope, cls) listed? items are sorted and de-duplicated. */
static int listed(const ms_reconcile *r, const char *session, const char *scope, int cls) {
  rc_item key = {(char *)(uintptr_t)session, (char *)(uintptr_t)scope, cls};
  return r->n && bsearch(&key, r->items, r->n, sizeof key, cmp_item) != NULL;
}

/* Sort, refuse a session listed with two classes, then drop duplicates. The
 * check runs before anything is freed or moved, so on failure every item is
 * still owned exactly once and ms_reconcile_rollback frees each one once. A
 * session's items are adjacent after the sort, so two classes always show
 * up in some adjacent pair. */
static int normalize(ms_reconcile *r) {
  if (r->n) qsort(r->items, r->n, sizeof *r->items, cmp_item);
  for (size_t i = 1; i < r->n; i++) {
    const rc_item *a = &r->items[i - 1], *b = &r->items[i];
    if (strcmp(a->session, b->session) == 0 && a->cls != b->cls)
      return ms__fail(MS_ECONFLICT, "%s: session '%s' is listed with classes %d and %d", r->what, b->session,
                      a->cls, b->cls);
  }
  size_t k = 0;
  for (size_t i = 0; i < r->n; i++) {
    rc_item *it = &r->items[i];
    if (k && cmp_item(&r->items[k - 1], it) == 0) {
      free(it->session);
      free(it->scope);
      continue;
    }
    r->items[k++] = *it;
  }
  r->n = k;
  return MS_OK;
}

/* Expired sessions counted nowhere already: a full reconcile drops their
 * rows at once (the recount follows); the session query uses its index. */
static const char SQL_EXPIRED_MEMBERS_DEL[] = "DELETE FROM tracker_members WHERE " MS_TRACKER_SQL_EXPIRED_MEMBER("?1");
static const char SQL_EXPIRED_SESSIONS_DEL[] = "DELETE FROM tracker_sessions WHERE " MS_TRACKER_SQL_EXPIRED("?1");
static const char SQL_SESSIONS_ALL[] = "SELECT session FROM tracker_sessions";
/* Membership rows no session lists (damage): a full reconcile drops them. */
static const char SQL_ORPHANS_DEL[] =
    "DELETE FROM tracker_members WHERE " MS_TRACKER_SQL_MEMBER " AND NOT EXISTS (SELECT 1 FROM tracker_sessions s "
    "WHERE s.session = tracker_members.session AND s.cls = tracker_members.cls "
    "AND s.expires_us = tracker_members.expires_us "
    "AND instr(CAST(x'00' || s.scopes AS BLOB), CAST(x'00' || tracker_members.scope || x'00' AS BLOB)) > 0)";
/* The same in PostgreSQL's words (its BYTEA has no CAST from text). */
static const char SQL_ORPHANS_DEL_PG[] =
    "DELETE FROM tracker_members WHERE " MS_TRACKER_SQL_MEMBER " AND NOT EXISTS (SELECT 1 FROM tracker_sessions s "
    "WHERE s.session = tracker_members.session AND s.cls = tracker_members.cls "
    "AND s.expires_us = tracker_members.expires_us "
    "AND position('\\x00'::bytea || convert_to(tracker_members.scope, 'UTF8') || '\\x00'::bytea "
    "IN '\\x00'::bytea || s.scopes) > 0)";
static const char SQL_MEMBERS_OF_SCOPE[] =
    "SELECT cls, session FROM tracker_members WHERE scope = ?1 AND " MS_TRACKER_SQL_MEMBER;

typedef struct apply_ctx {
  ms_reconcile *r;
  ms_tracker *t;
  int64_t now_us, added, removed;
  ms__tracker_session row; /* scratch: one session's row at a time */
} apply_ctx;

static int step_sql(apply_ctx *c, const char *sql, int64_t now_us, const char *what) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(c->t->store, sql, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, now_us);
  return ms__stmt_done(c->t->store, q, what);
}

/* Add or remove one membership, counting it in added or removed. */
static int put(apply_ctx *c, const char *scope, int cls, int64_t expires_us, const char *sid, int add) {
  int changed = 0;
  int st = ms__tracker_member_put(c->t, scope, cls, expires_us, sid, add, &changed);
  if (!st) *(add ? &c->added : &c->removed) += changed;
  return st;
}

/* Delete every membership row of the session whose row is c->row. */
static int drop_rows(apply_ctx *c, const char *sid) {
  int st = MS_OK;
  for (size_t i = 0; i < c->row.n && !st; i++) st = put(c, c->row.scope[i], c->row.cls, c->row.expires_us, sid, 0);
  return st;
}

/* A full reconcile: session by session, the listed scopes (items[from..to)
 * are one session's, sorted by scope) replace the held ones. */
static int apply_full_session(apply_ctx *c, size_t from, size_t to) {
  const rc_item *items = c->r->items;
  const char *sid = items[from].session;
  int cls = items[from].cls, found = 0;
  size_t n = to - from;
  if (n > MS_TRACKER_MAX_SCOPES)
    return ms__fail(MS_EINVAL, "%s: session '%s' is listed with %zu scopes, more than MS_TRACKER_MAX_SCOPES (%d)",
                    c->r->what, sid, n, MS_TRACKER_MAX_SCOPES);
  const char *want[MS_TRACKER_MAX_SCOPES];
  for (size_t i = 0; i < n; i++) want[i] = items[from + i].scope; /* sorted, distinct */
  int st = ms__tracker_session_get(c->t, sid, &c->row, &found);
  if (st) return st;
  int64_t expires = 0;
  if (found && c->row.cls != cls) { /* another class: re-admitted with the listed one, no lease */
    if ((st = drop_rows(c, sid)) != MS_OK) return st;
    found = 0;
  } else if (found) {
    expires = c->row.expires_us; /* a held session keeps its lease */
  }
  /* Merge the sorted held and listed lists. */
  size_t i = 0, j = 0, held = found ? c->row.n : 0;
  while (!st && (i < held || j < n)) {
    int cmp = i == held ? 1 : j == n ? -1 : strcmp(c->row.scope[i], want[j]);
    if (cmp < 0) {
      st = put(c, c->row.scope[i++], cls, expires, sid, 0);
    } else if (cmp > 0) {
      st = put(c, want[j++], cls, expires, sid, 1);
    } else { /* listed and held: its row is put back if it went missing (damage) */
      i++;
      st = put(c, want[j++], cls, expires, sid, 1);
    }
  }
  return st ? st : ms__tracker_session_put(c->t, sid, cls, expires, want, n, 1);
}

/* Sessions collected before they are changed: writing a table under an open
 * SELECT of it is not well defined in SQLite. */
static int collect_unlisted(apply_ctx *c, ms_reconcile *gone) {
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(c->t->store, SQL_SESSIONS_ALL, &st);
  if (!q) return st;
  while (!st && (st = ms__stmt_row(c->t->store, q, "list sessions", &row)) == MS_OK && row) {
    const char *sid = ms__stmt_text(q, 0);
    if (!sid) continue;
    rc_item key = {(char *)(uintptr_t)sid, NULL, 0};
    /* items are sorted by session first: find any item of this session */
    size_t lo = 0, hi = c->r->n;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      int cmp = strcmp(c->r->items[mid].session, key.session);
      if (cmp == 0) break;
      if (cmp < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= hi) st = push(gone, sid, "-", 0);
  }
  ms__stmt_reset(q);
  return st;
}

static int apply_full(apply_ctx *c) {
  int st = step_sql(c, SQL_EXPIRED_MEMBERS_DEL, c->now_us, "purge expired sessions");
  if (!st) st = step_sql(c, SQL_EXPIRED_SESSIONS_DEL, c->now_us, "purge expired sessions");
  ms_reconcile gone = {0};
  if (!st) st = collect_unlisted(c, &gone);
  for (size_t i = 0; i < gone.n && !st; i++) {
    int found = 0;
    st = ms__tracker_session_get(c->t, gone.items[i].session, &c->row, &found);
    if (!st && found) st = drop_rows(c, gone.items[i].session);
    if (!st && found) st = ms__tracker_session_put(c->t, gone.items[i].session, 0, 0, NULL, 0, 1);
  }
  drop_items(&gone, 0);
  free(gone.items);
  for (size_t i = 0; i < c->r->n && !st;) {
    size_t j = i + 1;
    while (j < c->r->n && strcmp(c->r->items[j].session, c->r->items[i].session) == 0) j++;
    st = apply_full_session(c, i, j);
    i = j;
  }
  ms_stmt *q = st ? NULL : ms__store_prepare(c->t->store, ms__store_sql(c->t->store, SQL_ORPHANS_DEL, SQL_ORPHANS_DEL_PG), &st);
  if (q && (st = ms__stmt_done(c->t->store, q, "drop memberships no session lists")) == MS_OK)
    c->removed += ms__store_changes(c->t->store);
  return st ? st : ms__tracker_recount(c->t, NULL);
}

/* A scoped reconcile: one (session, scope) membership at a time. */
static int apply_scoped_item(apply_ctx *c, const rc_item *it) {
  int found = 0;
  int st = ms__tracker_session_get(c->t, it->session, &c->row, &found);
  if (st) return st;
  if (!found) {
    const char *one[] = {it->scope};
    st = put(c, it->scope, it->cls, 0, it->session, 1);
    return st ? st : ms__tracker_session_put(c->t, it->session, it->cls, 0, one, 1, 0);
  }
  if (c->row.cls != it->cls)
    return ms__fail(MS_ECONFLICT,
                    "%s: session '%s' is held with class %d, listed with %d; a full reconcile can change it",
                    c->r->what, it->session, c->row.cls, it->cls);
  for (size_t i = 0; i < c->row.n; i++)
    if (strcmp(c->row.scope[i], it->scope) == 0) return MS_OK;
  if (c->row.n == MS_TRACKER_MAX_SCOPES)
    return ms__fail(MS_EINVAL, "%s: session '%s' would be in more than MS_TRACKER_MAX_SCOPES (%d) scopes",
                    c->r->what, it->session, MS_TRACKER_MAX_SCOPES);
  const char *now[MS_TRACKER_MAX_SCOPES];
  memcpy(now, c->row.scope, c->row.n * sizeof *now);
  now[c->row.n] = it->scope;
  size_t n = ms__tracker_sort_scopes(now, c->row.n + 1, now);
  st = put(c, it->scope, it->cls, c->row.expires_us, it->session, 1);
  return st ? st : ms__tracker_session_put(c->t, it->session, it->cls, c->row.expires_us, now, n, 1);
}

/* The scope's member that is not listed leaves it; a session left in no
 * set is forgotten. */
static int drop_scoped(apply_ctx *c, const char *sid, int cls) {
  int found = 0;
  int st = ms__tracker_session_get(c->t, sid, &c->row, &found);
  if (st || !found) return st;
  const char *rest[MS_TRACKER_MAX_SCOPES];
  size_t n = 0;
  for (size_t i = 0; i < c->row.n; i++)
    if (strcmp(c->row.scope[i], c->r->scope) != 0) rest[n++] = c->row.scope[i];
  st = put(c, c->r->scope, cls, c->row.expires_us, sid, 0);
  return st ? st : ms__tracker_session_put(c->t, sid, c->row.cls, c->row.expires_us, rest, n, 1);
}

static int apply_scoped(apply_ctx *c) {
  int st = MS_OK;
  /* every expired session of any scope, counts kept exact as they go */
  for (size_t purged = 1; purged && !st;) {
    int64_t next;
    st = ms__tracker_purge_any(c->t, c->now_us, 256, &purged, &next);
  }
  for (size_t i = 0; i < c->r->n && !st; i++) st = apply_scoped_item(c, &c->r->items[i]);
  ms_reconcile gone = {0};
  ms_stmt *q = st ? NULL : ms__store_prepare(c->t->store, SQL_MEMBERS_OF_SCOPE, &st);
  if (q) {
    ms__stmt_bind_text(q, 1, c->r->scope, -1);
    int row = 0;
    while (!st && (st = ms__stmt_row(c->t->store, q, "list a scope's members", &row)) == MS_OK && row) {
      int cls = ms__stmt_int(q, 0);
      const char *sid = ms__stmt_text(q, 1);
      if (sid && !listed(c->r, sid, c->r->scope, cls)) st = push(&gone, sid, c->r->scope, cls);
    }
    ms__stmt_reset(q);
  }
  for (size_t i = 0; i < gone.n && !st; i++) st = drop_scoped(c, gone.items[i].session, gone.items[i].cls);
  drop_items(&gone, 0);
  free(gone.items);
  return st ? st : ms__tracker_recount(c->t, c->r->scope);
}

/* Apply the list in one long transaction of the store: batching it with
 * other threads' writes would only hold their commits back. */
static int apply(apply_ctx *c) {
  ms_store_txn *sx = NULL;
  int st = ms__store_txn_begin(c->t->store, 0, &sx);
  if (st) return st;
  c->added = c->removed = 0;
  st = c->r->scope ? apply_scoped(c) : apply_full(c);
  if (st) ms__store_txn_rollback(sx);
  else st = ms__store_txn_commit(sx);
  return st;
}

int ms_reconcile_commit(ms_reconcile *r, int64_t now_us, int64_t *added, int64_t *removed) {
  if (!r) return ms__fail(MS_EINVAL, "tracker: ms_reconcile_commit: reconcile is NULL");
  int st = ms__tracker_check_time(r->what, 0, now_us);
  if (!st) st = normalize(r);
  apply_ctx *c = st ? NULL : malloc(sizeof *c);
  if (!st && !c) st = ms__fail(MS_ENOMEM, "%s: out of memory", r->what);
  if (!st) {
    c->r = r;
    c->t = r->t;
    c->now_us = now_us;
    st = ms__tracker_failed(r->what, apply(c));
  }
  if (!st) {
    if (added) *added = c->added;
    if (removed) *removed = c->removed;
  }
  free(c);
  ms_reconcile_rollback(r);
  return st;
}
