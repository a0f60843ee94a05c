/* Internal: what the parts of libmserve use of the store.
 *
 * Locking model. One SQLite connection per ms_store, guarded by one mutex:
 * every public call that touches the database takes the lock (directly or
 * through ms__store_begin), so a handle is safe across threads and writers of
 * one process never fight each other inside SQLite. Across processes SQLite's
 * file locks apply and the busy handler in busy.c polls in short steps.
 *
 * Statements come from a per-store cache keyed on the SQL string's address
 * (pass string literals), prepared once with SQLITE_PREPARE_PERSISTENT.
 */
#ifndef MS_STORE_INTERNAL_H
#define MS_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "mserve/store.h"
#include "xlock.h"

typedef struct ms_stmt_slot {
  const char *sql;
  sqlite3_stmt *stmt;
} ms_stmt_slot;

struct ms_store {
  sqlite3 *db;
  char *path;
  pthread_mutex_t mu;
  atomic_llong busy_timeout_us;
  int64_t busy_started_us; /* monotonic start of the current busy wait (under mu) */
  ms_stmt_slot *stmts;      /* open-addressing table, power-of-two capacity */
  size_t n_stmts, cap_stmts;
  int in_txn;               /* a transaction opened by ms__store_begin is active */
  _Atomic uintptr_t holder; /* the thread holding mu (txn.c), 0 when free */
  unsigned flags;           /* MS_STORE_* given to open */
  int on_disk;              /* a file, not ":memory:" or a temporary database */
  int immutable;            /* MS_STORE_READONLY read as immutable: no -shm could be made and the
                             * log was empty; reopened normally once a writer's log appears */
  ms_xlock *xlock;          /* cross-process writer queue; NULL: SQLite's locking alone */

  /* Checkpointing (checkpoint.c), outside `mu`: the WAL is copied back into
   * the database by whichever thread finds it due after unlocking, on a
   * connection of its own, while other threads keep writing. */
  pthread_mutex_t ckpt_mu;  /* guards ckpt_db and ckpt_* below */
  sqlite3 *ckpt_db;         /* opened on first use */
  int ckpt_failed;          /* ckpt_db could not be opened: checkpoint on db under mu */
  atomic_llong wal_frames;  /* frames in the WAL after our last commit (wal hook) */
  atomic_llong ckpt_base;   /* frames already copied back by the last checkpoint */
  atomic_llong autockpt;    /* frames that make a checkpoint due; 0: only ms_store_checkpoint */
  atomic_llong wal_restarts; /* times our commits found the WAL started over (tests read it) */

  /* Group commit (group.c): writes waiting for a combiner, oldest first. */
  pthread_mutex_t qmu;
  struct ms_store_write *qhead, *qtail;
  _Atomic uint32_t queued;  /* writes in the queue; read without qmu */
  _Atomic int combining;    /* a combiner is running batches (writers may spin) */
};

/* A migration: the SQL that takes the schema from version-1 to version. */
typedef struct ms_migration {
  int64_t version;
  const char *name;
  const char *sql;
} ms_migration;

/* The ordered list of every migration (migrations.c). */
const ms_migration *ms__migrations(size_t *count);

/* Migrate an open connection up to `target` (<= latest) in one transaction. */
int ms__store_migrate(ms_store *s, int64_t target);

/* Open like ms_store_open but stop migrating at `version` (tests build each
 * earlier schema with it). */
int ms__store_open_at(const char *path, unsigned flags, int64_t version, ms_store **out);

/* Take / release the handle's lock without opening a transaction (reads that
 * run a single statement). Unlocking hands queued writes to a combiner and
 * runs a due checkpoint. Fails with MS_EBUSY when this thread already holds
 * it (e.g. a tracker transaction is open on this thread). */
int ms__store_lock(ms_store *s);
void ms__store_unlock(ms_store *s);

/* Take the lock only if it is free (returns 1). */
int ms__store_trylock(ms_store *s);
/* Unlock without running a due checkpoint (checkpoint.c's own use). */
void ms__store_release(ms_store *s);
/* Does the calling thread hold the lock? And the MS_EBUSY it then gets. */
int ms__store_held_by_caller(ms_store *s);
int ms__store_busy_self(ms_store *s);

/* With the lock held: take the writer queue and BEGIN IMMEDIATE (on failure
 * nothing is held but the lock), and COMMIT / ROLLBACK and leave the writer
 * queue (the lock stays held). ms__store_begin / _commit / _rollback below
 * are these plus taking and dropping the lock. */
int ms__store_txn_open(ms_store *s);
int ms__store_txn_commit(ms_store *s);
void ms__store_txn_rollback(ms_store *s);

/* Group commit (group.c). One atomic write: fn runs with the store locked
 * and a transaction open, inside a savepoint of its own, on whichever thread
 * combines the current batch (maybe not the caller's: fn must not rely on
 * thread-local state other than ms_errmsg, which is carried back). Its status
 * is returned and its writes undone when it fails; when it succeeds the call
 * returns once the batch is committed, or with the commit's error, its
 * writes undone. The caller must not hold the store (MS_EBUSY). */
typedef struct ms_store_write ms_store_write;
typedef int (*ms__store_op_fn)(ms_store *s, void *arg);
int ms__store_write(ms_store *s, ms__store_op_fn fn, void *arg);
void ms__store_group_init(ms_store *s);
void ms__store_group_destroy(ms_store *s);
/* After an unlock: hand the combiner role to a queued writer, if any. */
void ms__store_group_kick(ms_store *s);

/* Lock and BEGIN IMMEDIATE: the write lock is taken up front so a transaction
 * never fails half way with SQLITE_BUSY_SNAPSHOT. On failure nothing is held. */
int ms__store_begin(ms_store *s);
/* COMMIT and unlock. On failure the transaction is rolled back, unlocked, and
 * the status returned. */
int ms__store_commit(ms_store *s);
/* ROLLBACK and unlock. Never fails. */
void ms__store_rollback(ms_store *s);

/* A cached, reset, unbound statement for `sql` (a string literal), or NULL
 * with ms_errmsg set (status in *status when status is not NULL). Call with
 * the lock held. */
sqlite3_stmt *ms__store_stmt(ms_store *s, const char *sql, int *status);

/* Run SQL without results (DDL, pragmas). Call with the lock held. */
int ms__store_exec(ms_store *s, const char *sql);

/* Map an SQLite result code to an ms_status and set ms_errmsg to
 * "store '<path>': <what>: <sqlite message>" (errors.c). A missing table,
 * index or column of libmserve's schema is MS_ECORRUPT with the missing piece
 * named; a write refused on a MS_STORE_READONLY store is MS_EINVAL. */
int ms__store_error(ms_store *s, int sqlite_rc, const char *what);
/* The same with SQLite's message given (sqlite3_exec's). */
int ms__store_fail_sqlite(ms_store *s, int sqlite_rc, const char *what, const char *sqlite_msg);
/* MS_EINVAL for a write through a MS_STORE_READONLY store. */
int ms__store_refuse_write(ms_store *s);

/* Check, with a transaction open, that the database holds every table,
 * index, trigger, view and column the migrations up to `version` create
 * (schema_check.c); MS_ECORRUPT naming the first one missing. */
int ms__store_verify_schema(ms_store *s, int64_t version);
/* Is SQLite's error message `sqlite_msg` ("no such table: x", ...) about a
 * piece of libmserve's schema missing from db? Then 1, and out says which. */
int ms__store_describe_damage(sqlite3 *db, const char *sqlite_msg, char *out, size_t cap);

/* A MS_STORE_READONLY store read as immutable: reopen it normally when a
 * writer's log has appeared since (store.c). Called with the lock held. */
int ms__store_refresh_immutable(ms_store *s);
/* Finalize every cached statement (before the connection is replaced). */
void ms__store_stmt_clear(ms_store *s);

/* Install the WAL hook that tracks the WAL's size (file stores only). */
void ms__store_checkpoint_init(ms_store *s);
/* Run a passive checkpoint when one is due and no other thread of this
 * process is running one. Call without `mu` held. Never fails (logs). */
void ms__store_checkpoint_maybe(ms_store *s);
/* Close the checkpoint connection (store teardown). */
void ms__store_checkpoint_close(ms_store *s);

/* Busy handler installed on every connection (busy.c). */
int ms__store_busy_handler(void *store, int count);

/* Map an SQLite primary result code to an ms_status. */
int ms__sqlite_status(int sqlite_rc);

#endif
