/* The parts' entry points (store/store_internal.h): one atomic write, a long
 * transaction, reads, and the one way out of the write lock. */
#include "store/store_internal.h"

#include "common/error.h"
#include "store/checkpoint.h"
#include "store/group.h"
#include "store/lock.h"
#include "store/pg/pg.h"
#include "store/txn.h"

/* Leave the write lock: release it (which kicks the oldest queued write, the
 * next combiner), then run a checkpoint if one is due. The only way out for
 * every holder of this layer; see store_internal.h. */
static void leave(ms_store *s) {
  ms__store_lock_drop(s);
  ms__store_checkpoint_maybe(s);
}

/* ---- one atomic write --------------------------------------------------------- */

/* A thread reading on a connection of the PostgreSQL pool holds the store
 * as a reader on the write lock would: it may not write until it ends. */
static int reading_pooled(const ms_store *s) { return s->pg && ms__pg_borrowed(s); }

int ms__store_write(ms_store *s, ms__store_op_fn fn, void *arg) {
  if (ms__store_lock_is_mine(s) || reading_pooled(s)) return ms__store_lock_busy_self(s);
  ms_store_write w;
  ms__store_group_enqueue(s, &w, fn, arg);
  int turn;
  while ((turn = ms__store_group_turn(s, &w)) != MS__GROUP_DONE)
    if (turn == MS__GROUP_COMBINED) leave(s);
  return ms__store_group_result(&w);
}

/* ---- a long transaction -------------------------------------------------------- */

int ms__store_txn_begin(ms_store *s, unsigned flags, ms_store_txn **out) {
  if (flags & ~MS__STORE_TXN_MOVABLE) return ms__fail(MS_EINVAL, "store '%s': unknown transaction flags", s->path);
  if (reading_pooled(s)) return ms__store_lock_busy_self(s);
  int st = ms__store_lock_take(s);
  if (st) return st;
  int movable = (flags & MS__STORE_TXN_MOVABLE) != 0;
  if ((st = ms__store_sql_begin(s, !movable)) != MS_OK) {
    leave(s);
    return st;
  }
  s->txn.store = s;
  s->txn.open = 1;
  s->txn.movable = movable;
  /* Only a movable one spans the host's calls (a tracker tick): waits for it
   * are bounded (lock.h). The others end within the call that began them. */
  if (movable) ms__store_lock_mark_long(s);
  *out = &s->txn;
  return MS_OK;
}

/* A transaction that keeps the writer queue belongs to its thread: the
 * queue's robust mutex can be released only by the thread that took it. */
static int foreign(const ms_store_txn *x) { return !x->movable && !ms__store_lock_is_mine(x->store); }

static int refuse_foreign(const ms_store_txn *x) {
  return ms__fail(MS_EINVAL, "store '%s': this transaction belongs to the thread that began it", x->store->path);
}

int ms__store_txn_resume(ms_store_txn *x) {
  if (foreign(x)) return refuse_foreign(x);
  ms__store_lock_adopt(x->store);
  return MS_OK;
}

ms_store *ms__store_txn_store(const ms_store_txn *x) { return x->store; }

int ms__store_txn_alive(const ms_store_txn *x) { return !ms__store_sql_lost(x->store); }

int ms__store_txn_commit(ms_store_txn *x) {
  ms_store *s = x->store;
  if (foreign(x)) return refuse_foreign(x); /* a bug of the part: the owner still ends it */
  x->open = 0;
  int st = ms__store_sql_commit(s, ms__store_lock_queued(s) > 0);
  leave(s);
  return st;
}

void ms__store_txn_rollback(ms_store_txn *x) {
  ms_store *s = x->store;
  if (foreign(x)) {
    refuse_foreign(x);
    ms__log(MS_LOG_ERROR, "%s", ms_errmsg());
    return;
  }
  x->open = 0;
  ms__store_sql_rollback(s, ms__store_lock_queued(s) > 0);
  leave(s);
}

/* ---- reads ------------------------------------------------------------------------ */

int ms__store_read_apart_begin(ms_store *s) {
  /* PostgreSQL: on a connection of the pool, beside the writers and the
   * other readers (store/pg/pg_pool.c says why) */
  if (s->pg && ms__pg_pool_lends(s)) {
    if (ms__store_lock_is_mine(s) || reading_pooled(s)) return ms__store_lock_busy_self(s);
    return ms__pg_borrow(s);
  }
  return ms__store_read_begin(s);
}

int ms__store_read_begin(ms_store *s) {
  int st = ms__store_lock_take(s);
  if (st) return st;
  if (s->immutable && (st = ms__store_refresh_immutable(s)) != MS_OK) leave(s);
  return st;
}

void ms__store_read_end(ms_store *s) {
  if (reading_pooled(s)) ms__pg_give_back(s);
  else leave(s);
}

/* ---- the entry points before these ------------------------------------------------ */

int ms__store_begin(ms_store *s) {
  ms_store_txn *x;
  return ms__store_txn_begin(s, 0, &x);
}

int ms__store_commit(ms_store *s) { return ms__store_txn_commit(&s->txn); }

void ms__store_rollback(ms_store *s) { ms__store_txn_rollback(&s->txn); }

int ms__store_lock(ms_store *s) { return ms__store_read_begin(s); }

void ms__store_unlock(ms_store *s) { ms__store_read_end(s); }
