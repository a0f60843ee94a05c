/* Store, layer 1: the statement seam — the one interface through which the
 * parts run SQL, whatever database the store opened (SQLite, or PostgreSQL
 * through libpq under store/pg/).
 *
 * Why a seam and not two copies of every part: the parts' SQL is written once
 * where both dialects accept it ("?N" placeholders, rewritten to "$N" for
 * PostgreSQL once, when the statement is prepared; INSERT ... ON CONFLICT;
 * RETURNING; no SQLite-only functions), and what they read back is the same
 * integers, text and blobs. A part names no database library: it prepares a
 * constant (ms__store_prepare), binds, steps with ms__stmt_done / ms__stmt_row,
 * reads columns, and leaves the transaction to the store's entry points
 * (store_internal.h). scripts/check-layers refuses "sqlite3" or "libpq" in a
 * part's source.
 *
 * Cost on SQLite: every call below is inline and tests one pointer, which is
 * always the SQLite statement on an SQLite store, so the branch is predicted
 * and the call is what it was (tests/bench/bench-tracker compares).
 *
 * Lifetimes are SQLite's: a bound text or blob must stay valid until the
 * statement is stepped to its end or reset (the PostgreSQL backend copies it
 * at bind, which is stricter); a column's text or blob is valid until the
 * next step or reset of its statement. Indexes: parameters from 1, columns
 * from 0. Nothing here locks: the caller is inside one of the store's entry
 * points. */
#ifndef MS_STORE_STMT_H
#define MS_STORE_STMT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/handle.h"

struct ms__pg_stmt;

/* A prepared statement of either backend: exactly one pointer is set. */
typedef struct ms_stmt {
  sqlite3_stmt *lite;
  struct ms__pg_stmt *pg;
} ms_stmt;

/* The PostgreSQL side (store/pg/stmt.c); the inline calls below branch to it. */
void ms__pg_bind_int64(struct ms__pg_stmt *q, int i, int64_t v);
void ms__pg_bind_double(struct ms__pg_stmt *q, int i, double v);
void ms__pg_bind_text(struct ms__pg_stmt *q, int i, const char *v, int len);
void ms__pg_bind_blob(struct ms__pg_stmt *q, int i, const void *v, int len);
void ms__pg_bind_null(struct ms__pg_stmt *q, int i);
int64_t ms__pg_col_int64(struct ms__pg_stmt *q, int c);
double ms__pg_col_double(struct ms__pg_stmt *q, int c);
const char *ms__pg_col_text(struct ms__pg_stmt *q, int c);
const void *ms__pg_col_blob(struct ms__pg_stmt *q, int c);
int ms__pg_col_bytes(struct ms__pg_stmt *q, int c);
int ms__pg_col_is_null(struct ms__pg_stmt *q, int c);
void ms__pg_reset(struct ms__pg_stmt *q);
int ms__pg_step_row(ms_store *s, struct ms__pg_stmt *q, const char *what, int *row);

/* A cached, reset, unbound statement for `sql` (a string constant: the cache
 * is keyed on its address), or NULL with ms_errmsg set (status in *status
 * when status is not NULL). The store owns it. */
ms_stmt *ms__store_prepare(ms_store *s, const char *sql, int *status);

/* Finalize every statement of a cache table of cap slots (a pooled
 * PostgreSQL connection's own, when the pool is closed). */
void ms__store_stmt_free_table(ms_stmt_slot *slots, size_t cap);

/* The statement for s where the two dialects cannot agree: `lite` on SQLite,
 * `pg` on PostgreSQL (both constants, as for ms__store_prepare). The parts'
 * only choice of backend, and it goes through the store. */
static inline const char *ms__store_sql(const ms_store *s, const char *lite, const char *pg) {
  return s->pg ? pg : lite;
}

/* Does a failed statement end the whole transaction on s (PostgreSQL: it is
 * aborted until ROLLBACK or ROLLBACK TO a savepoint), so a part cannot undo
 * a half-done call by hand and must run it in a savepoint instead? 0 on
 * SQLite, where a failed statement undoes only itself. */
static inline int ms__store_errors_abort_txn(const ms_store *s) { return s->pg != NULL; }

/* Do other hosts' transactions run at the same time as ours, each row
 * locked by the first that writes or locks it (PostgreSQL)? Then a part that
 * decides on rows it reads must lock them first (SELECT ... FOR UPDATE),
 * always in one global order, or two hosts deadlock. 0 on SQLite, where the
 * one writer holds the whole database. */
static inline int ms__store_locks_rows(const ms_store *s) { return s->pg != NULL; }

/* Row locks and the order of waits (ms__store_locks_rows). A transaction
 * that already holds row locks must never wait for another: two such
 * transactions of two hosts, each holding what the other wants, deadlock,
 * whatever order each took its own in (a group-committed batch runs many
 * calls in one transaction). So a part asks ms__store_may_wait before it
 * locks: when 0 it locks with NOWAIT, and a refusal (MS_EBUSY) of a
 * one-shot write makes the store undo that write and run it again, first in
 * a transaction of its own, where it may wait. After locking it calls
 * ms__store_note_locks. On SQLite both are no-ops (may_wait 1). */
int ms__store_may_wait(const ms_store *s);
void ms__store_note_locks(ms_store *s);

/* Inside a write transaction: take the lock `key` (0..2^31-1) that every
 * host of s's database shares, for the rest of the transaction, unless
 * another host's transaction holds it: then *got = 0, nothing is taken, and
 * `holder` (cap bytes, may be NULL) says who holds it ("libmserve@<host>:<pid>
 * (server pid N)"). On SQLite *got is always 1: the transaction is the only
 * writer of the file. PostgreSQL: pg_try_advisory_xact_lock. */
int ms__store_try_lock_key(ms_store *s, int64_t key, int *got, char *holder, size_t cap);

/* Rows changed by the last INSERT, UPDATE or DELETE run on s. */
int64_t ms__store_changes(ms_store *s);

/* Run a statement that returns no rows (or whose rows do not matter), then
 * reset it: MS_OK, or the mapped status with
 * "store '<path>': <what>: <the database's message>". */
int ms__stmt_done(ms_store *s, ms_stmt *q, const char *what);
/* Step a statement that returns rows: *row = 1 on a row, left for the
 * caller to read (then step again, or ms__stmt_reset); *row = 0 when done,
 * the statement reset. On failure the statement is reset, *row is 0, and the
 * mapped status returned as above. */
int ms__stmt_row(ms_store *s, ms_stmt *q, const char *what, int *row);

static inline void ms__stmt_reset(ms_stmt *q) {
  if (q->lite) {
    sqlite3_reset(q->lite);
    sqlite3_clear_bindings(q->lite);
  } else {
    ms__pg_reset(q->pg);
  }
}

static inline void ms__stmt_bind_int64(ms_stmt *q, int i, int64_t v) {
  if (q->lite) sqlite3_bind_int64(q->lite, i, v);
  else ms__pg_bind_int64(q->pg, i, v);
}
static inline void ms__stmt_bind_int(ms_stmt *q, int i, int v) { ms__stmt_bind_int64(q, i, v); }
static inline void ms__stmt_bind_double(ms_stmt *q, int i, double v) {
  if (q->lite) sqlite3_bind_double(q->lite, i, v);
  else ms__pg_bind_double(q->pg, i, v);
}
/* len < 0: up to the NUL. */
static inline void ms__stmt_bind_text(ms_stmt *q, int i, const char *v, int len) {
  if (q->lite) sqlite3_bind_text(q->lite, i, v, len, SQLITE_STATIC);
  else ms__pg_bind_text(q->pg, i, v, len);
}
static inline void ms__stmt_bind_blob(ms_stmt *q, int i, const void *v, int len) {
  if (q->lite) sqlite3_bind_blob(q->lite, i, v, len, SQLITE_STATIC);
  else ms__pg_bind_blob(q->pg, i, v, len);
}
static inline void ms__stmt_bind_null(ms_stmt *q, int i) {
  if (q->lite) sqlite3_bind_null(q->lite, i);
  else ms__pg_bind_null(q->pg, i);
}

static inline int64_t ms__stmt_int64(ms_stmt *q, int c) {
  return q->lite ? sqlite3_column_int64(q->lite, c) : ms__pg_col_int64(q->pg, c);
}
static inline int ms__stmt_int(ms_stmt *q, int c) {
  return q->lite ? sqlite3_column_int(q->lite, c) : (int)ms__pg_col_int64(q->pg, c);
}
static inline double ms__stmt_double(ms_stmt *q, int c) {
  return q->lite ? sqlite3_column_double(q->lite, c) : ms__pg_col_double(q->pg, c);
}
/* NULL for SQL NULL. */
static inline const char *ms__stmt_text(ms_stmt *q, int c) {
  return q->lite ? (const char *)sqlite3_column_text(q->lite, c) : ms__pg_col_text(q->pg, c);
}
static inline const void *ms__stmt_blob(ms_stmt *q, int c) {
  return q->lite ? sqlite3_column_blob(q->lite, c) : ms__pg_col_blob(q->pg, c);
}
/* Bytes of the column's text or blob (ask after ms__stmt_text / _blob). */
static inline int ms__stmt_bytes(ms_stmt *q, int c) {
  return q->lite ? sqlite3_column_bytes(q->lite, c) : ms__pg_col_bytes(q->pg, c);
}
static inline int ms__stmt_is_null(ms_stmt *q, int c) {
  return q->lite ? sqlite3_column_type(q->lite, c) == SQLITE_NULL : ms__pg_col_is_null(q->pg, c);
}

#endif
