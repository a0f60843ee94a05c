/* The handle lock and write transactions. */
#include <errno.h>

#include "../common/error.h"
#include "store_internal.h"

int ms__store_lock(ms_store *s) {
  int e = pthread_mutex_lock(&s->mu);
  if (e == EDEADLK)
    return ms__fail(MS_EBUSY, "store '%s': this thread already holds the store in an open transaction; "
                              "commit or roll it back first", s->path);
  if (e) return ms__fail(MS_EINTERNAL, "store '%s': mutex error %d", s->path, e);
  return MS_OK;
}

void ms__store_unlock(ms_store *s) {
  pthread_mutex_unlock(&s->mu);
  ms__store_checkpoint_maybe(s);
}

/* Leave a write transaction: the writer queue first, so another process's
 * waiter is woken before this process's next thread gets the handle. */
static void leave(ms_store *s) {
  s->in_txn = 0;
  if (s->xlock) ms__xlock_release(s->xlock);
  ms__store_unlock(s);
}

int ms__store_begin(ms_store *s) {
  int st = ms__store_lock(s);
  if (st) return st;
  if (s->xlock && (st = ms__xlock_acquire(s->xlock, atomic_load(&s->busy_timeout_us), s->path)) != MS_OK) {
    ms__store_unlock(s);
    return st;
  }
  sqlite3_stmt *b = ms__store_stmt(s, "BEGIN IMMEDIATE", &st);
  if (!b) {
    if (s->xlock) ms__xlock_release(s->xlock);
    ms__store_unlock(s);
    return st;
  }
  int rc = sqlite3_step(b);
  sqlite3_reset(b);
  if (rc != SQLITE_DONE) {
    st = ms__store_error(s, rc, rc == SQLITE_BUSY ? "write lock still held by another process after the busy timeout"
                                                  : "begin transaction");
    if (s->xlock) ms__xlock_release(s->xlock);
    ms__store_unlock(s);
    return st;
  }
  s->in_txn = 1;
  return MS_OK;
}

int ms__store_commit(ms_store *s) {
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
  leave(s);
  return st;
}

void ms__store_rollback(ms_store *s) {
  if (!sqlite3_get_autocommit(s->db)) {
    sqlite3_stmt *r = ms__store_stmt(s, "ROLLBACK", NULL);
    if (r) {
      sqlite3_step(r);
      sqlite3_reset(r);
    } else {
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
  }
  leave(s);
}

int ms__store_exec(ms_store *s, const char *sql) {
  char *err = NULL;
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) {
    int st = ms__fail(ms__sqlite_status(rc), "store '%s': %s", s->path, err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return st;
  }
  return MS_OK;
}
