/* Store, layer 1 (beside the SQLite connection): the PostgreSQL backend,
 * through libpq.
 *
 * A store whose path is a PostgreSQL connection URI ("postgresql://..." or
 * "postgres://...") has s->pg set and s->db NULL; every layer above asks
 * ms__store_is_pg() where the two differ and calls in here. What stays the
 * same is everything above the connection: the handle's write lock, group
 * commit (one transaction, one commit, a savepoint per write), long
 * transactions, reads. What differs:
 *  - the connection: libpq's, re-established on the next call after it was
 *    lost (the call that saw it lost returns MS_EIO with libpq's message);
 *  - statements: prepared once per connection (PQprepare, named by the
 *    cache slot), "?N" rewritten to "$N" at prepare, parameters sent as
 *    text (blobs as binary), results read as text;
 *  - errors: the SQLSTATE decides the status (pg_errors.c);
 *  - the schema: each migration's PostgreSQL SQL, applied under an advisory
 *    lock, the version kept in ms_meta (pg_migrate.c).
 * The URI's password never leaves pg_uri.c: s->path holds the masked form,
 * and every message names that.
 *
 * Connections: s->pg is the handle's main connection, used under the
 * handle's write lock like s->db (group commit, long transactions). Beside
 * it a pool (pg_pool.c) lends further connections to threads that read, so
 * reads of many threads run at once instead of queueing on the write lock.
 * ms__pg_cur(s) is the connection the calling thread works on: the one it
 * borrowed, else the main one; every function below uses it. */
#ifndef MS_STORE_PG_H
#define MS_STORE_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store/handle.h"

struct ms__pg_pool;

/* One connection of a store handle; s->pg is the main one, which owns the
 * URI and the pool. */
typedef struct ms__pg_conn {
  char *conninfo;     /* main only: the URI as given, minus pool_max: holds the password, never printed */
  struct ms__pg_pool *pool; /* main only: the connections lent to readers (pg_pool.c) */
  struct ms__pg_conn *next_idle; /* a pool member: the next idle one */
  ms_stmt_slot *stmts; /* a pool member's own prepared statements (the main one's are s->stmts) */
  size_t n_stmts, cap_stmts;
  PGconn *conn;       /* NULL or bad: connect again at the next call */
  uint64_t epoch;     /* bumped at every new connection: statements prepared before must be prepared again */
  uint64_t next_name; /* statement names ms_<n> handed out on this handle */
  int64_t changes;    /* rows changed by the last command (PQcmdTuples) */
  int64_t lock_timeout_us; /* the busy timeout the session's lock_timeout was last set to */
  int retryable;      /* the last failure was a serialization failure or a deadlock (group.c retries) */
  int lock_busy;      /* the last failure was a lock not granted (SQLSTATE 55P03: NOWAIT, lock_timeout) */
  int holds_locks;    /* the open transaction holds row locks a part took (ms__store_note_locks) */
} ms__pg_conn;

/* A statement of the PostgreSQL backend (stmt.h's ms_stmt points at it). */
typedef struct ms__pg_stmt {
  const char *sql;    /* the caller's constant (the cache key) */
  char *text;         /* rewritten with $N */
  char name[24];
  uint64_t epoch;     /* the connection it was prepared on; 0: not yet */
  int nparams;
  char **vals;        /* parameter values (NULL: SQL NULL), owned */
  int *lens, *fmts, *caps;
  PGresult *res;      /* the running statement's rows, until reset */
  int row, nrows;     /* the row ms__stmt_row last stood on */
  struct { unsigned char *p; size_t n, cap; int row; } *blobs; /* decoded bytea per column, for the current row */
  int nblobs;
} ms__pg_stmt;

/* ---- URIs (pg_uri.c) ---------------------------------------------------------- */

/* Is path a PostgreSQL URI (by its scheme, case-insensitively)? */
int ms__pg_is_uri(const char *path);
/* Check a PostgreSQL URI (scheme, host part, no stray characters; libpq
 * parses the rest) and write it with its password replaced by "***" into a
 * new string (*masked, the caller frees; set on failure too, unless memory
 * ran out). MS_EINVAL naming what is wrong, the message showing only the
 * masked URI. */
int ms__pg_uri_check(const char *uri, char **masked);

/* ---- the connection (pg_conn.c) ----------------------------------------------- */

/* Connect (s->path is the masked URI, s->pg->conninfo the real one). The
 * URI's own parameter pool_max=N (1..64, default 4; libpq never sees it)
 * bounds the connections of the handle, the main one included. */
int ms__pg_open(ms_store *s, const char *uri);
/* uri without its pool_max parameter (a new string, NULL when out of
 * memory); *max its value (0: absent; -1: not a number in 1..64). */
char *ms__pg_uri_pool(const char *uri, int *max);

/* (Re)connect the calling thread's connection and set its session up. */
int ms__pg_connect(ms_store *s);

/* ---- the pool (pg_pool.c) ----------------------------------------------------- */

#define MS__PG_POOL_DEFAULT 4
/* Make s's pool, empty, bounded to max connections in all (the main one
 * among them). */
int ms__pg_pool_new(ms_store *s, int max);

/* The connection the calling thread works on for s (see above). */
ms__pg_conn *ms__pg_cur(const ms_store *s);
/* Does s lend connections to readers (pool_max > 1)? */
int ms__pg_pool_lends(const ms_store *s);
/* Is the calling thread holding a connection of s's pool? */
int ms__pg_borrowed(const ms_store *s);
/* Borrow an idle connection for this thread (connecting a new one while
 * fewer than pool_max exist, else waiting for one to come back; a lost one
 * is connected again here). MS_EIO with libpq's message, MS_ENOMEM. */
int ms__pg_borrow(ms_store *s);
/* Give the thread's connection back (its statements reset by the caller). */
void ms__pg_give_back(ms_store *s);
/* Connections of the pool now open (tests). */
int ms__pg_pool_open_count(ms_store *s);
void ms__pg_pool_free(ms_store *s);
void ms__pg_close(ms_store *s);
/* Before a transaction or an autocommit read: connect again if the
 * connection was lost. MS_EIO with libpq's message when it cannot. */
int ms__pg_ensure(ms_store *s);
/* Run SQL without results (BEGIN, a list of DDL statements): MS_OK or the
 * mapped status with "store '<path>': <what>: <libpq's message>". */
int ms__pg_exec(ms_store *s, const char *sql, const char *what);
/* BEGIN / COMMIT / ROLLBACK of the backend (txn.c calls them). */
int ms__pg_begin(ms_store *s);
int ms__pg_commit(ms_store *s);
void ms__pg_rollback(ms_store *s);
/* Is no transaction open on the connection (autocommit)? */
int ms__pg_autocommit(const ms_store *s);
/* The server's process id, for messages ("who evaluated"); 0 unconnected. */
int ms__pg_backend_pid(const ms_store *s);

/* ---- statements (pg_stmt.c) --------------------------------------------------- */

ms__pg_stmt *ms__pg_stmt_new(ms_store *s, const char *sql, int *status);
void ms__pg_stmt_free(ms__pg_stmt *q);
/* Rewrite "?N" and "?" placeholders to "$N" (outside quoted text): a new
 * string, *nparams the highest number; NULL when out of memory. */
char *ms__pg_rewrite(const char *sql, int *nparams);

/* ---- errors (pg_errors.c) ----------------------------------------------------- */

/* The ms_status of a failed result (by its SQLSTATE) or of a lost
 * connection (res NULL or no SQLSTATE: MS_EIO). */
int ms__pg_status(const PGresult *res, const PGconn *conn);
/* Set ms_errmsg to "store '<path>': <what>: <libpq's message>" (one line)
 * and return the mapped status. */
int ms__pg_fail(ms_store *s, const PGresult *res, const char *what);
/* Is the status of res a serialization failure or a deadlock (retry)? */
int ms__pg_retryable(const PGresult *res);

/* ---- the schema (pg_migrate.c) ------------------------------------------------ */

/* Bring the database to `target` (migrations' pg_sql, oldest first) in one
 * transaction under an advisory lock; a newer schema is MS_EUNSUPPORTED. */
int ms__pg_migrate(ms_store *s, int64_t target);
/* The schema version recorded in the database (0: none yet). */
int ms__pg_schema_version(ms_store *s, int64_t *version);

#endif
