/* Reconcile: make the held sets equal to the host's authoritative list.
 *
 * The list is collected in memory without touching the store, then applied
 * in one transaction as a diff, so concurrent admissions wait only for the
 * apply and the counts of added and removed memberships are exact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "tracker_internal.h"

/* One membership: a session counted in one (scope, class) set. */
typedef struct rc_item {
  char *session;
  char *scope;
  int cls;
} rc_item;

struct ms_reconcile {
  ms_tracker *t;
  char *scope; /* NULL: every scope */
  char what[MS_TRACKER_WHAT_LEN]; /* "tracker: reconcile [scope 'S']", heads its messages */
  rc_item *items;
  size_t n, cap;
};

int ms_tracker_reconcile_begin(ms_tracker *t, const char *scope, ms_reconcile **out) {
  if (!t || !out) return ms__fail(MS_EINVAL, "tracker: reconcile: %s is NULL", !t ? "tracker" : "out");
  int st = scope ? ms__tracker_check_name("tracker: reconcile", "scope", scope) : MS_OK;
  if (st) return st;
  ms_reconcile *r = calloc(1, sizeof *r);
  if (!r) return ms__fail(MS_ENOMEM, "tracker: reconcile: out of memory");
  if (scope && !(r->scope = ms__strdup(scope))) {
    free(r);
    return ms__fail(MS_ENOMEM, "tracker: reconcile scope '%s': out of memory", scope);
  }
  r->t = t;
  if (scope) snprintf(r->what, sizeof r->what, "tracker: reconcile scope '%s'", scope);
  else snprintf(r->what, sizeof r->what, "tracker: reconcile");
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
    if (!p) return ms__fail(MS_ENOMEM, "tracker: reconcile: out of memory for %zu entries", cap);
    r->items = p;
    r->cap = cap;
  }
  rc_item *it = &r->items[r->n];
  it->session = ms__strdup(session);
  it->scope = it->session ? ms__strdup(scope) : NULL;
  if (!it->scope) {
    free(it->session);
    return ms__fail(MS_ENOMEM, "tracker: reconcile: out of memory for session '%s'", session);
  }
  it->cls = cls;
  r->n++;
  return MS_OK;
}

int ms_reconcile_add(ms_reconcile *r, const char *session_id, ms_session_class cls, const char *const *scopes,
                     size_t n_scopes) {
  if (!r) return ms__fail(MS_EINVAL, "tracker: reconcile_add: reconcile is NULL");
  int st = ms__tracker_check_name("tracker: reconcile_add", "session id", session_id);
  if (st) return st;
  char what[64 + MS_TRACKER_NAME_MAX];
  snprintf(what, sizeof what, "tracker: reconcile_add '%s'", session_id);
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

static const char SQL_PURGE_ALL[] = "DELETE FROM tracker_members WHERE expires_us <= ?1";
static const char SQL_SESSION_CLS[] = "SELECT cls FROM tracker_members WHERE session = ?1 LIMIT 1";
static const char SQL_SESSION_DEL[] = "DELETE FROM tracker_members WHERE session = ?1";
/* A session already held keeps its lease in the new membership. */
static const char SQL_MEMBER_ADD[] =
    "INSERT OR IGNORE INTO tracker_members(scope, cls, session, expires_us) "
    "VALUES (?1, ?2, ?3, (SELECT expires_us FROM tracker_members WHERE session = ?3 LIMIT 1))";
static const char SQL_MEMBERS_OF_SCOPE[] = "SELECT session, scope, cls FROM tracker_members WHERE scope = ?1";
static const char SQL_MEMBERS_ALL[] = "SELECT session, scope, cls FROM tracker_members";
static const char SQL_MEMBER_DEL[] = "DELETE FROM tracker_members WHERE scope = ?1 AND cls = ?2 AND session = ?3";

typedef struct apply_ctx {
  ms_reconcile *r;
  ms_tracker *t;
  int64_t now_us, added, removed;
} apply_ctx;

static sqlite3_stmt *stmt(apply_ctx *c, const char *sql, int *st) { return ms__store_stmt(c->t->store, sql, st); }

/* A listed session held with another class: a full reconcile drops its rows
 * (counted as removed) so add_members re-creates them; a scoped one refuses. */
static int check_classes(apply_ctx *c) {
  int st = MS_OK;
  for (size_t i = 0; i < c->r->n && !st; i++) {
    const rc_item *it = &c->r->items[i];
    if (i && strcmp(c->r->items[i - 1].session, it->session) == 0) continue;
    sqlite3_stmt *q = stmt(c, SQL_SESSION_CLS, &st);
    if (!q) return st;
    sqlite3_bind_text(q, 1, it->session, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    int exists = rc == SQLITE_ROW, cls = exists ? sqlite3_column_int(q, 0) : 0;
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return ms__store_error(c->t->store, rc, "look a session up");
    if (!exists || cls == it->cls) continue;
    if (c->r->scope)
      return ms__fail(MS_ECONFLICT,
                      "%s: session '%s' is held with class %d, listed with %d; a full reconcile can change it",
                      c->r->what, it->session, cls, it->cls);
    if (!(q = stmt(c, SQL_SESSION_DEL, &st))) return st;
    sqlite3_bind_text(q, 1, it->session, -1, SQLITE_STATIC);
    if ((st = ms__tracker_step_done(c->t, q, "delete a session")) != MS_OK) return st;
    c->removed += sqlite3_changes(c->t->store->db);
  }
  return st;
}

static int add_members(apply_ctx *c) {
  int st = MS_OK;
  for (size_t i = 0; i < c->r->n && !st; i++) {
    const rc_item *it = &c->r->items[i];
    sqlite3_stmt *q = stmt(c, SQL_MEMBER_ADD, &st);
    if (!q) return st;
    sqlite3_bind_text(q, 1, it->scope, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, it->cls);
    sqlite3_bind_text(q, 3, it->session, -1, SQLITE_STATIC);
    st = ms__tracker_step_done(c->t, q, "insert a membership");
    if (!st) c->added += sqlite3_changes(c->t->store->db);
  }
  return st;
}

/* Delete the memberships of the reconciled domain that are not listed. They
 * are collected first: deleting from a table under an open SELECT on it is
 * not well defined in SQLite. */
static int remove_unlisted(apply_ctx *c) {
  int st = MS_OK;
  sqlite3_stmt *q = stmt(c, c->r->scope ? SQL_MEMBERS_OF_SCOPE : SQL_MEMBERS_ALL, &st);
  if (!q) return st;
  if (c->r->scope) sqlite3_bind_text(q, 1, c->r->scope, -1, SQLITE_STATIC);
  ms_reconcile gone = {0};
  int rc;
  while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *session = (const char *)sqlite3_column_text(q, 0);
    const char *scope = (const char *)sqlite3_column_text(q, 1);
    int cls = sqlite3_column_int(q, 2);
    if (!session || !scope) continue;
    if (!listed(c->r, session, scope, cls)) st = push(&gone, session, scope, cls);
  }
  if (!st && rc != SQLITE_DONE) st = ms__store_error(c->t->store, rc, "list memberships");
  sqlite3_reset(q);
  for (size_t i = 0; i < gone.n && !st; i++) {
    if (!(q = stmt(c, SQL_MEMBER_DEL, &st))) break;
    sqlite3_bind_text(q, 1, gone.items[i].scope, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, gone.items[i].cls);
    sqlite3_bind_text(q, 3, gone.items[i].session, -1, SQLITE_STATIC);
    st = ms__tracker_step_done(c->t, q, "delete a membership");
    if (!st) c->removed += sqlite3_changes(c->t->store->db);
  }
  drop_items(&gone, 0);
  free(gone.items);
  return st;
}

int ms_reconcile_commit(ms_reconcile *r, int64_t now_us, int64_t *added, int64_t *removed) {
  if (!r) return ms__fail(MS_EINVAL, "tracker: reconcile_commit: reconcile is NULL");
  int st = ms__tracker_check_time(r->what, 0, now_us);
  if (!st) st = normalize(r);
  apply_ctx c = {r, r->t, now_us, 0, 0};
  if (!st) st = ms__store_begin(r->t->store);
  if (st) {
    st = ms__tracker_failed(r->what, st);
    ms_reconcile_rollback(r);
    return st;
  }
  /* Expired sessions counted nowhere already: purging them first means every
   * row left is live, so the diff below counts exactly what changes. */
  sqlite3_stmt *q = stmt(&c, SQL_PURGE_ALL, &st);
  if (q) {
    sqlite3_bind_int64(q, 1, now_us);
    st = ms__tracker_step_done(r->t, q, "purge expired sessions");
  }
  if (!st) st = check_classes(&c);
  if (!st) st = add_members(&c);
  if (!st) st = remove_unlisted(&c);
  if (st) ms__store_rollback(r->t->store);
  else st = ms__store_commit(r->t->store);
  st = ms__tracker_failed(r->what, st);
  if (!st) {
    if (added) *added = c.added;
    if (removed) *removed = c.removed;
  }
  ms_reconcile_rollback(r);
  return st;
}
