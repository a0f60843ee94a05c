/* Prepared-statement cache: statements are prepared once per handle and
 * reused, which is most of what makes a small transaction cheap. Keyed on the
 * SQL string's address, so callers pass literals. */
#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"
#include "store/conn.h"

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

sqlite3_stmt *ms__store_stmt(ms_store *s, const char *sql, int *status) {
  if (s->cap_stmts) {
    size_t j = slot_of(sql, s->cap_stmts);
    while (s->stmts[j].sql) {
      if (s->stmts[j].sql == sql) {
        sqlite3_reset(s->stmts[j].stmt);
        sqlite3_clear_bindings(s->stmts[j].stmt);
        return s->stmts[j].stmt;
      }
      j = (j + 1) & (s->cap_stmts - 1);
    }
  }
  int st;
  if ((s->n_stmts + 1) * 2 > s->cap_stmts && (st = grow(s)) != MS_OK) {
    if (status) *status = st;
    return NULL;
  }
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK) {
    st = ms__store_error(s, rc, "prepare statement");
    if (status) *status = st;
    return NULL;
  }
  size_t j = slot_of(sql, s->cap_stmts);
  while (s->stmts[j].sql) j = (j + 1) & (s->cap_stmts - 1);
  s->stmts[j].sql = sql;
  s->stmts[j].stmt = stmt;
  s->n_stmts++;
  return stmt;
}

void ms__store_stmt_clear(ms_store *s) {
  for (size_t i = 0; i < s->cap_stmts; i++) {
    if (s->stmts[i].stmt) sqlite3_finalize(s->stmts[i].stmt);
    s->stmts[i].sql = NULL;
    s->stmts[i].stmt = NULL;
  }
  s->n_stmts = 0;
}
