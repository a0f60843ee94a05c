/* The handle lock and write transactions. */
#include <errno.h>

#include "../common/error.h"
#include "store_internal.h"

static _Thread_local char this_thread; /* its address names the calling thread */

static uintptr_t me(void) { return (uintptr_t)&this_thread; }

int ms__store_held_by_caller(ms_store *s) {
  return atomic_load_explicit(&s->holder, memory_order_relaxed) == me();
}

int ms__store_busy_self(ms_store *s) {
  return ms__fail(MS_EBUSY, "store '%s': this thread already holds the store in an open transaction; "
                            "commit or roll it back first", s->path);
}

int ms__store_lock(ms_store *s) {
  int e = pthread_mutex_lock(&s->mu);
  if (e == EDEADLK) return ms__store_busy_self(s);
  if (e) return ms__fail(MS_EINTERNAL, "store '%s': mutex error %d", s->path, e);
  atomic_store_explicit(&s->holder, me(), memory_order_relaxed);
  int st = s->immutable ? ms__store_refresh_immutable(s) : MS_OK;
  if (st) ms__store_release(s);
  return st;
}

int ms__store_trylock(ms_store *s) {
  if (pthread_mutex_trylock(&s->mu) != 0) return 0;
  atomic_store_explicit(&s->holder, me(), memory_order_relaxed);
  return 1;
}

void ms__store_release(ms_store *s) {
  atomic_store_explicit(&s->holder, 0, memory_order_relaxed);
  pthread_mutex_unlock(&s->mu);
  ms__store_group_kick(s); /* writes queued while we held it need a combiner */
}

void ms__store_unlock(ms_store *s) {
  ms__store_release(s);
  ms__store_checkpoint_maybe(s);
}

int ms__store_refuse_write(ms_store *s) {
  return ms__fail(MS_EINVAL, "store '%s': opened read-only (MS_STORE_READONLY): writes are refused", s->path);
}

int ms__store_txn_open(ms_store *s) {
  int st = MS_OK;
  if (s->flags & MS_STORE_READONLY) return ms__store_refuse_write(s);
  if (s->xlock && (st = ms__xlock_acquire(s->xlock, atomic_load(&s->busy_timeout_us), s->path)) != MS_OK) return st;
  sqlite3_stmt *b = ms__store_stmt(s, "BEGIN IMMEDIATE", &st);
  int rc = b ? sqlite3_step(b) : SQLITE_OK;
  if (b) sqlite3_reset(b);
  if (b && rc != SQLITE_DONE)
    st = ms__store_error(s, rc, rc == SQLITE_BUSY ? "write lock still held by another process after the busy timeout"
                                                  : "begin transaction");
  if (st) {
    if (s->xlock) ms__xlock_release(s->xlock, 0);
    return st;
  }
  s->in_txn = 1;
  return MS_OK;
}

/* Leave a write transaction: the writer queue first, so another process's
 * waiter is woken before this process's next thread gets the handle. */
static void txn_leave(ms_store *s) {
  s->in_txn = 0;
  if (s->xlock) ms__xlock_release(s->xlock, atomic_load_explicit(&s->queued, memory_order_relaxed) > 0);
}

int ms__store_txn_commit(ms_store *s) {
  int st = MS_OK;
  sqlite3_stmt *c = ms__store_stmt(s, "COMMIT", &st);
  if (c) {
    int rc = sqlite3_step(c);
    sqlite3_reset(c);
    if (rc != SQLITE_DONE) st = ms__store_error(s, rc, "commit");
  }
  if (st) {
    /* A failed COMMIT leaves the transaction open: undo it so the store is as
     * it was before the call. */
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  }
  txn_leave(s);
  return st;
}

void ms__store_txn_rollback(ms_store *s) {
  if (!sqlite3_get_autocommit(s->db)) {
    sqlite3_stmt *r = ms__store_stmt(s, "ROLLBACK", NULL);
    if (r) {
      sqlite3_step(r);
      sqlite3_reset(r);
    } else {
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
  }
  txn_leave(s);
}

int ms__store_begin(ms_store *s) {
  int st = ms__store_lock(s);
  if (st) return st;
  if ((st = ms__store_txn_open(s)) != MS_OK) ms__store_unlock(s);
  return st;
}

int ms__store_commit(ms_store *s) {
  int st = ms__store_txn_commit(s);
  ms__store_unlock(s);
  return st;
}

void ms__store_rollback(ms_store *s) {
  ms__store_txn_rollback(s);
  ms__store_unlock(s);
}

int ms__store_exec(ms_store *s, const char *sql) {
  char *err = NULL;
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) {
    int st = ms__store_fail_sqlite(s, rc, "run SQL", err);
    sqlite3_free(err);
    return st;
  }
  return MS_OK;
}
