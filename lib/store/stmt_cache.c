/* Prepared-statement cache: statements are prepared once per handle and
 * reused, which is most of what makes a small transaction cheap. Keyed on the
 * SQL string's address, so callers pass literals. One cache serves both
 * backends: a slot holds the SQLite statement, and the ms_stmt the parts see
 * (store/stmt.h), which points at it or at a PostgreSQL statement. */
#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"
#include "store/conn.h"
#include "store/pg/pg.h"
#include "store/stmt.h"

static size_t slot_of(const char *sql, size_t cap) {
  uintptr_t h = (uintptr_t)sql;
  h ^= h >> 17;
  h *= (uintptr_t)0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 7) & (cap - 1);
}

static int grow(ms_store *s) {
  size_t cap = s->cap_stmts ? s->cap_stmts * 2 : 64;
  ms_stmt_slot *t = calloc(cap, sizeof *t);
  if (!t) return ms__fail(MS_ENOMEM, "store '%s': out of memory growing the statement cache", s->path);
  for (size_t i = 0; i < s->cap_stmts; i++) {
    if (!s->stmts[i].sql) continue;
    size_t j = slot_of(s->stmts[i].sql, cap);
    while (t[j].sql) j = (j + 1) & (cap - 1);
    t[j] = s->stmts[i];
  }
  free(s->stmts);
  s->stmts = t;
  s->cap_stmts = cap;
  return MS_OK;
}

/* The slot of sql, found or made (NULL on failure, status set). */
static ms_stmt_slot *lookup(ms_store *s, const char *sql, int *status) {
  if (s->cap_stmts) {
    size_t j = slot_of(sql, s->cap_stmts);
    while (s->stmts[j].sql) {
      if (s->stmts[j].sql == sql) return &s->stmts[j];
      j = (j + 1) & (s->cap_stmts - 1);
    }
  }
  int st;
  if ((s->n_stmts + 1) * 2 > s->cap_stmts && (st = grow(s)) != MS_OK) {
    if (status) *status = st;
    return NULL;
  }
  ms_stmt *h = calloc(1, sizeof *h);
  if (!h) {
    st = ms__fail(MS_ENOMEM, "store '%s': out of memory preparing a statement", s->path);
    if (status) *status = st;
    return NULL;
  }
  if (s->pg) {
    h->pg = ms__pg_stmt_new(s, sql, status);
  } else {
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &h->lite, NULL);
    if (rc != SQLITE_OK) {
      st = ms__store_error(s, rc, "prepare statement");
      if (status) *status = st;
      h->lite = NULL;
    }
  }
  if (!h->lite && !h->pg) {
    free(h);
    return NULL;
  }
  size_t j = slot_of(sql, s->cap_stmts);
  while (s->stmts[j].sql) j = (j + 1) & (s->cap_stmts - 1);
  s->stmts[j].sql = sql;
  s->stmts[j].stmt = h->lite;
  s->stmts[j].h = h;
  s->n_stmts++;
  return &s->stmts[j];
}

ms_stmt *ms__store_prepare(ms_store *s, const char *sql, int *status) {
  ms_stmt_slot *slot = lookup(s, sql, status);
  if (!slot) return NULL;
  ms__stmt_reset(slot->h);
  return slot->h;
}

sqlite3_stmt *ms__store_stmt(ms_store *s, const char *sql, int *status) {
  if (s->pg) {
    int st = ms__fail(MS_EINTERNAL, "store '%s': an SQLite statement asked of a PostgreSQL store", s->path);
    if (status) *status = st;
    return NULL;
  }
  ms_stmt_slot *slot = lookup(s, sql, status);
  if (!slot) return NULL;
  sqlite3_reset(slot->stmt);
  sqlite3_clear_bindings(slot->stmt);
  return slot->stmt;
}

static void free_slot(ms_stmt_slot *slot) {
  if (slot->stmt) sqlite3_finalize(slot->stmt);
  if (slot->h) ms__pg_stmt_free(slot->h->pg);
  free(slot->h);
  slot->sql = NULL;
  slot->stmt = NULL;
  slot->h = NULL;
}

void ms__store_stmt_clear(ms_store *s) {
  for (size_t i = 0; i < s->cap_stmts; i++) free_slot(&s->stmts[i]);
  s->n_stmts = 0;
}
