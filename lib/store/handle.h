/* Store, layer 1: the fields of an ms_store.
 *
 * The handle's data sits at the bottom of the stack (store/README.md) so that
 * every layer can reach the fields it owns; each group below names the one
 * file that reads and writes it. Nothing here is behaviour: the functions are
 * declared by the header of their layer. */
#ifndef MS_STORE_HANDLE_H
#define MS_STORE_HANDLE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mserve/store.h"
#include "store/xlock.h"

/* A migration: the SQL that takes the schema from version-1 to version. The
 * list is the opener's (lib/schema/), oldest first; the store knows no part. */
typedef struct ms_migration {
  int64_t version;
  const char *name;
  const char *sql;
  const char *pg_sql; /* the same step on PostgreSQL (store/pg/); NULL: nothing to do there */
} ms_migration;

struct ms_stmt;

typedef struct ms_stmt_slot {
  const char *sql;
  sqlite3_stmt *stmt;
  struct ms_stmt *h; /* the statement as the parts see it (store/stmt.h) */
} ms_stmt_slot;

/* A thread waiting for the write lock on a word of its own (lock.h). */
typedef struct ms_store_waiter {
  struct ms_store_waiter *next;
  _Atomic uint32_t state; /* MS__WAITER_QUEUED, MS__WAITER_KICKED, or its owner's own values */
} ms_store_waiter;

/* The long transaction a part holds across calls (store_internal.h). One
 * per handle: the write lock admits one at a time. */
typedef struct ms_store_txn {
  struct ms_store *store;
  int open;
  int movable; /* MS__STORE_TXN_MOVABLE */
} ms_store_txn;

/* One atomic write's work (store_internal.h: ms__store_write). */
typedef int (*ms__store_op_fn)(ms_store *s, void *arg);

struct ms__pg_conn;

struct ms_store {
  /* A PostgreSQL store (store/pg/pg.h): its connection; NULL for SQLite,
   * whose connection is db below. */
  struct ms__pg_conn *pg;

  /* The connection (conn.c, errors.c, stmt_cache.c, busy.c, schema_check.c;
   * set up by store.c). Used only by the thread holding the write lock. */
  sqlite3 *db;
  char *path;
  unsigned flags;           /* MS_STORE_* given to open */
  int on_disk;              /* a file, not ":memory:" or a temporary database */
  uint64_t file_dev, file_ino; /* the database file's identity (on_disk) */
  int immutable;            /* MS_STORE_READONLY read as immutable: no -shm could be made and the
                             * log was empty; reopened normally once a writer's log appears */
  const ms_migration *migrations; /* what this handle was opened with (the opener's) */
  size_t n_migrations;
  atomic_llong busy_timeout_us;
  int64_t busy_started_us;  /* monotonic start of the current busy wait */
  ms_stmt_slot *stmts;      /* open-addressing table, power-of-two capacity */
  size_t n_stmts, cap_stmts;

  /* The write lock (lock.c). */
  _Atomic uint32_t lock_word;  /* 0 free, 1 held, 2 held while a thread sleeps on it */
  _Atomic uintptr_t holder;    /* the thread that holds it, or last worked in what it holds; 0: free */
  pthread_mutex_t qmu;         /* guards the queue below */
  ms_store_waiter *qhead, *qtail; /* writes waiting for the lock, oldest first */
  _Atomic uint32_t queued;     /* writes in the queue; read without qmu */
  _Atomic int long_held;       /* it holds a transaction that spans calls (a tracker tick) */

  /* The SQL transaction (txn.c). */
  ms_xlock *xlock;          /* cross-process writer queue; NULL: SQLite's locking alone */
  int in_txn;               /* BEGIN IMMEDIATE ran and no COMMIT/ROLLBACK yet */
  int txn_listed;           /* the transaction is in txn.c's list of ones holding no queue */

  /* Group commit (group.c). */
  _Atomic int combining;    /* a combiner is running batches (writers may spin) */

  /* Checkpoints (checkpoint.c), outside the write lock. */
  pthread_mutex_t ckpt_mu;  /* guards ckpt_db and ckpt_failed */
  sqlite3 *ckpt_db;         /* opened on first use */
  int ckpt_failed;          /* ckpt_db could not be opened: checkpoint on db under the lock */
  atomic_llong wal_frames;  /* frames in the WAL after our last commit (wal hook) */
  atomic_llong ckpt_base;   /* frames already copied back by the last checkpoint */
  atomic_llong autockpt;    /* frames that make a checkpoint due; 0: only ms_store_checkpoint */
  atomic_llong wal_restarts; /* times our commits found the WAL started over (tests read it) */

  /* The long transaction (access.c). */
  ms_store_txn txn;
};

#endif
