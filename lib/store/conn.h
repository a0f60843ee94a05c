/* Store, layer 1: the connection — statements, errors, the busy handler and
 * the schema check. Nothing here locks: callers hold the write lock (layer 2)
 * whenever they touch s->db, as every entry point of store_internal.h makes
 * sure. Files: conn.c, errors.c, stmt_cache.c, step.c, busy.c,
 * schema_check.c. */
#ifndef MS_STORE_CONN_H
#define MS_STORE_CONN_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/handle.h"

/* ---- statements (stmt_cache.c, step.c) ------------------------------------ */

/* A cached, reset, unbound statement for `sql` (a string constant: the cache
 * is keyed on its address), or NULL with ms_errmsg set (status in *status
 * when status is not NULL). */
sqlite3_stmt *ms__store_stmt(ms_store *s, const char *sql, int *status);
/* Finalize every cached statement (before the connection is replaced). */
void ms__store_stmt_clear(ms_store *s);

/* Step a statement that returns no rows (or whose rows do not matter), then
 * reset it and clear its bindings. MS_OK on SQLITE_DONE or SQLITE_ROW; else
 * the mapped status, with "store '<path>': <what>: <SQLite's message>". */
int ms__store_step_done(ms_store *s, sqlite3_stmt *q, const char *what);
/* Step a statement that returns rows: *row = 1 on a row, left in place for
 * the caller to read (then step again, or sqlite3_reset); *row = 0 when done,
 * the statement reset and unbound. On failure the statement is reset and
 * unbound too, *row is 0, and the mapped status returned as above. */
int ms__store_step_row(ms_store *s, sqlite3_stmt *q, const char *what, int *row);

/* No transaction open on s's connection (either backend)? */
int ms__store_autocommit(const ms_store *s);

/* Run SQL without results (DDL, pragmas, a literal list of statements). */
int ms__store_exec(ms_store *s, const char *sql);

/* Savepoints for one call's work inside a transaction that goes on:
 * ms__store_savepoint opens one; ms__store_savepoint_end(s, st) keeps the
 * work when st is MS_OK and undoes it otherwise, closes the savepoint either
 * way, and returns st with the call's own message kept (or the status of
 * closing it, when only that failed). Savepoints nest. */
int ms__store_savepoint(ms_store *s);
int ms__store_savepoint_end(ms_store *s, int st);

/* ---- errors (errors.c) ----------------------------------------------------- */

/* Map an SQLite result code to an ms_status and set ms_errmsg to
 * "store '<path>': <what>: <SQLite's message>". A missing table, index or
 * column of libmserve's schema is MS_ECORRUPT with the missing piece named;
 * a write refused on a MS_STORE_READONLY store is MS_EINVAL. */
int ms__store_error(ms_store *s, int sqlite_rc, const char *what);
/* The same with SQLite's message given (sqlite3_exec's). */
int ms__store_fail_sqlite(ms_store *s, int sqlite_rc, const char *what, const char *sqlite_msg);
/* MS_EINVAL for a write through a MS_STORE_READONLY store. */
int ms__store_refuse_write(ms_store *s);
/* Map an SQLite primary result code to an ms_status. */
int ms__store_sqlite_status(int sqlite_rc);
/* A public store call failed with st: turn this thread's message into
 * "store: <call>: '<path>': <cause>" (a cause that starts "store '<path>': "
 * loses that head; path NULL: "store: <call>: <cause>"). Returns st. */
int ms__store_api_failed(const char *call, const char *path, int st);

/* ---- the connection (conn.c) ----------------------------------------------- */

/* Run a pragma that returns one row (journal_mode) or none. The first read of
 * the file happens here, so this is where a file that is not a database shows. */
int ms__store_pragma(ms_store *s, const char *sql, const char *what);
/* Open s->path for reading only into s->db (MS_STORE_READONLY), as immutable
 * when nothing else can read it (see conn.c). */
int ms__store_connect_readonly(ms_store *s);
/* A MS_STORE_READONLY store read as immutable: reopen it normally when a
 * writer's log has appeared since. */
int ms__store_refresh_immutable(ms_store *s);
/* A file or folder this process may not write (an SQLite result code)? */
int ms__store_cannot_write(int sqlite_rc);

/* Busy handler installed on every connection (busy.c): polls other
 * processes' write locks in short steps up to the busy timeout. */
int ms__store_busy_handler(void *store, int count);

/* ---- the schema (schema_check.c) ------------------------------------------ */

/* The latest version of s's migration list (0 when empty). */
int64_t ms__store_latest(const ms_store *s);
/* Check, with a transaction open, that the database holds every table,
 * index, trigger, view and column s's migrations up to `version` create;
 * MS_ECORRUPT naming the first one missing. */
int ms__store_verify_schema(ms_store *s, int64_t version);
/* Is SQLite's error message `sqlite_msg` ("no such table: x", ...) about a
 * piece of s's schema missing from its database? Then 1, and out says which. */
int ms__store_describe_damage(ms_store *s, const char *sqlite_msg, char *out, size_t cap);

#endif
