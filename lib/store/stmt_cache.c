/* Prepared-statement cache: statements are prepared once per handle and
 * reused, which is most of what makes a small transaction cheap. Keyed on the
 * SQL string's address, so callers pass literals. One cache serves both
 * backends: a slot holds the SQLite statement, and the ms_stmt the parts see
 * (store/stmt.h), which points at it or at a PostgreSQL statement. A
 * PostgreSQL connection lent by the pool (store/pg/pg_pool.c) has a table of
 * its own: a statement is prepared per connection. */
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

/* The table the calling thread's statements live in. */
typedef struct table {
  ms_stmt_slot **stmts;
  size_t *n, *cap;
} table;

static table table_of(ms_store *s) {
  if (s->pg) {
    ms__pg_conn *c = ms__pg_cur(s);
    if (c != s->pg) return (table){&c->stmts, &c->n_stmts, &c->cap_stmts};
  }
  return (table){&s->stmts, &s->n_stmts, &s->cap_stmts};
}

static int grow(ms_store *s, table tb) {
  size_t cap = *tb.cap ? *tb.cap * 2 : 64;
  ms_stmt_slot *t = calloc(cap, sizeof *t);
  if (!t) return ms__fail(MS_ENOMEM, "store '%s': out of memory growing the statement cache", s->path);
  ms_stmt_slot *old = *tb.stmts;
  for (size_t i = 0; i < *tb.cap; i++) {
    if (!old[i].sql) continue;
    size_t j = slot_of(old[i].sql, cap);
    while (t[j].sql) j = (j + 1) & (cap - 1);
    t[j] = old[i];
  }
  free(old);
  *tb.stmts = t;
  *tb.cap = cap;
  return MS_OK;
}

/* The slot of sql, found or made (NULL on failure, status set). */
static ms_stmt_slot *lookup(ms_store *s, const char *sql, int *status) {
  table tb = table_of(s);
  if (*tb.cap) {
    ms_stmt_slot *t = *tb.stmts;
    size_t j = slot_of(sql, *tb.cap);
    while (t[j].sql) {
      if (t[j].sql == sql) return &t[j];
      j = (j + 1) & (*tb.cap - 1);
    }
  }
  int st;
  if ((*tb.n + 1) * 2 > *tb.cap && (st = grow(s, tb)) != MS_OK) {
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
  ms_stmt_slot *t = *tb.stmts;
  size_t j = slot_of(sql, *tb.cap);
  while (t[j].sql) j = (j + 1) & (*tb.cap - 1);
  t[j].sql = sql;
  t[j].stmt = h->lite;
  t[j].h = h;
  (*tb.n)++;
  return &t[j];
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

void ms__store_stmt_free_table(ms_stmt_slot *slots, size_t cap) {
  for (size_t i = 0; i < cap; i++) free_slot(&slots[i]);
}

void ms__store_stmt_clear(ms_store *s) {
  ms__store_stmt_free_table(s->stmts, s->cap_stmts);
  s->n_stmts = 0;
}
