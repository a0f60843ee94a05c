/* Store, layer 3: the SQL write transaction, on the write lock (txn.c).
 *
 * Called with the write lock held. A transaction takes the cross-process
 * writer queue (xlock.h) and then SQLite's write lock with BEGIN IMMEDIATE,
 * so it never fails half way with SQLITE_BUSY_SNAPSHOT, and another
 * process's libmserve writer sleeps in the queue instead of polling SQLite.
 *
 * Two ways to hold the queue:
 *  - hold_queue = 1 (a one-shot write, whose transaction begins and ends on
 *    one thread): the queue is kept until COMMIT or ROLLBACK, so the next
 *    process's waiter is woken at the commit.
 *  - hold_queue = 0 (a long transaction, which may move between threads):
 *    the queue is left as soon as SQLite's write lock is taken, because its
 *    robust mutex belongs to the thread that took it. Another process's next
 *    writer then takes the queue and waits for SQLite's lock in the busy
 *    handler's short polls, as it would for a program other than libmserve.
 *    Such transactions are listed (process-wide) so that a thread that holds
 *    one and opens another on the same file through another handle gets
 *    MS_EBUSY at once instead of waiting for itself. */
#ifndef MS_STORE_TXN_H
#define MS_STORE_TXN_H

#include "store/handle.h"

/* Take the writer queue and BEGIN IMMEDIATE. On failure nothing is held but
 * the write lock: MS_EINVAL (MS_STORE_READONLY), MS_EBUSY (another process
 * past the busy timeout, or this thread holding the file through another
 * handle), or the mapped SQLite error. */
int ms__store_sql_begin(ms_store *s, int hold_queue);
/* COMMIT, then leave the writer queue (more_coming: this process takes it
 * again at once, so no other process's waiter is woken yet). On failure the
 * transaction is rolled back, so the store is as it was, and the status
 * returned. The write lock stays held either way. */
int ms__store_sql_commit(ms_store *s, int more_coming);
/* ROLLBACK (if SQLite has not already) and leave the writer queue. */
void ms__store_sql_rollback(ms_store *s, int more_coming);
/* Did SQLite end the open transaction by itself (disk full, I/O error)? */
int ms__store_sql_lost(const ms_store *s);

#endif
