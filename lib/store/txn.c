/* The SQL write transaction on the write lock (store/txn.h). */
#include "store/txn.h"

#include "common/error.h"
#include "store/conn.h"
#include "store/lock.h"
#include "store/pg/pg.h"
#include "store/xlock.h"

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

/* ---- transactions that hold no writer queue ---------------------------------
 *
 * A thread that holds SQLite's write lock through one handle and asks for it
 * through another handle of the same file would wait for itself until its
 * busy timeout. With the writer queue held, the queue says so at once
 * (EDEADLK); a long transaction has left the queue, so the handles holding
 * one are listed here, and a new transaction first looks for one of its
 * file whose holder is the calling thread. The list is short (one entry per
 * open long transaction of the process) and only looked at while it is not
 * empty. */

#define LISTED_MAX 64

static pthread_mutex_t listed_mu = PTHREAD_MUTEX_INITIALIZER;
static ms_store *listed[LISTED_MAX];
static _Atomic int n_listed;

static void list_add(ms_store *s) {
  if (!s->on_disk) return; /* a private database: no other handle can reach it */
  pthread_mutex_lock(&listed_mu);
  int n = atomic_load_explicit(&n_listed, memory_order_relaxed);
  if (n < LISTED_MAX) { /* beyond that, only the busy timeout catches a self-wait */
    listed[n] = s;
    atomic_store_explicit(&n_listed, n + 1, memory_order_relaxed);
    s->txn_listed = 1;
  }
  pthread_mutex_unlock(&listed_mu);
}

static void list_remove(ms_store *s) {
  if (!s->txn_listed) return;
  pthread_mutex_lock(&listed_mu);
  int n = atomic_load_explicit(&n_listed, memory_order_relaxed);
  for (int i = 0; i < n; i++)
    if (listed[i] == s) {
      listed[i] = listed[n - 1];
      atomic_store_explicit(&n_listed, n - 1, memory_order_relaxed);
      break;
    }
  s->txn_listed = 0;
  pthread_mutex_unlock(&listed_mu);
}

/* Does the calling thread hold a long transaction on s's file through
 * another handle? */
static int held_through_another_handle(const ms_store *s) {
  if (!s->on_disk || !atomic_load_explicit(&n_listed, memory_order_relaxed)) return 0;
  int found = 0;
  pthread_mutex_lock(&listed_mu);
  int n = atomic_load_explicit(&n_listed, memory_order_relaxed);
  for (int i = 0; i < n && !found; i++) {
    const ms_store *o = listed[i];
    found = o != s && o->file_dev == s->file_dev && o->file_ino == s->file_ino && ms__store_lock_is_mine(o);
  }
  pthread_mutex_unlock(&listed_mu);
  return found;
}

/* ---- begin, commit, roll back ------------------------------------------------ */

static int busy_self_elsewhere(const ms_store *s) {
  return ms__fail(MS_EBUSY, "store '%s': this thread already holds a write transaction on this file through "
                            "another handle; commit or roll it back first", s->path);
}

int ms__store_sql_begin(ms_store *s, int hold_queue) {
  int st = MS_OK;
  if (s->flags & MS_STORE_READONLY) return ms__store_refuse_write(s);
  if (s->pg) {
    /* the server orders the transactions of every host: no writer queue */
    if ((st = ms__pg_begin(s)) == MS_OK) s->in_txn = 1;
    return st;
  }
  if (held_through_another_handle(s)) return busy_self_elsewhere(s);
  if (s->xlock && (st = ms__store_xlock_acquire(s->xlock, atomic_load(&s->busy_timeout_us), s->path)) != MS_OK) return st;
  sqlite3_stmt *b = ms__store_stmt(s, SQL_BEGIN, &st);
  int rc = b ? sqlite3_step(b) : SQLITE_OK;
  if (b && rc != SQLITE_DONE)
    st = ms__store_error(s, rc, rc == SQLITE_BUSY ? "write lock still held by another process after the busy timeout"
                                                  : "begin transaction");
  if (b) sqlite3_reset(b);
  if (st) {
    if (s->xlock) ms__store_xlock_release(s->xlock, 0);
    return st;
  }
  s->in_txn = 1;
  if (!hold_queue) {
    if (s->xlock) ms__store_xlock_release(s->xlock, 0); /* the queue's mutex is this thread's; the transaction may move */
    list_add(s);
  }
  return MS_OK;
}

/* Leave the transaction: the writer queue first (when still held), so
 * another process's waiter is woken before this process's next thread gets
 * the handle. */
static void leave(ms_store *s, int more_coming) {
  s->in_txn = 0;
  list_remove(s);
  if (s->xlock) ms__store_xlock_release(s->xlock, more_coming);
}

int ms__store_sql_commit(ms_store *s, int more_coming) {
  int st = MS_OK;
  if (s->pg) {
    st = ms__pg_commit(s);
    leave(s, more_coming);
    return st;
  }
  sqlite3_stmt *c = ms__store_stmt(s, SQL_COMMIT, &st);
  if (c) {
    int rc = sqlite3_step(c);
    if (rc != SQLITE_DONE) st = ms__store_error(s, rc, "commit");
    sqlite3_reset(c);
  }
  /* A failed COMMIT leaves the transaction open: undo it so the store is as
   * it was before the call. */
  if (st && !sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, SQL_ROLLBACK, NULL, NULL, NULL);
  leave(s, more_coming);
  return st;
}

void ms__store_sql_rollback(ms_store *s, int more_coming) {
  if (s->pg) ms__pg_rollback(s);
  else if (!sqlite3_get_autocommit(s->db)) {
    sqlite3_stmt *r = ms__store_stmt(s, SQL_ROLLBACK, NULL);
    if (r) {
      sqlite3_step(r);
      sqlite3_reset(r);
    } else {
      sqlite3_exec(s->db, SQL_ROLLBACK, NULL, NULL, NULL);
    }
  }
  leave(s, more_coming);
}

int ms__store_sql_lost(const ms_store *s) { return s->in_txn && ms__store_autocommit(s); }
