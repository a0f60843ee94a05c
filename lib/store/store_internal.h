/* Store, layer 5 (the top): what the parts of libmserve use of the store.
 *
 * store/README.md draws the stack; each layer's header says what it does.
 * A part reaches the database through one of three entry points, and
 * nothing of the layers below them:
 *
 *   ms__store_write     one atomic write: every one-shot write of a call
 *                       (admit, release, set a limit, register a model...).
 *                       Group-committed with other threads' writes; the
 *                       callback may run on another thread (store/group.h
 *                       says what it may rely on).
 *   ms__store_txn_*     a long transaction: work spread over several calls
 *                       (the tracker's tick), or long enough that batching it
 *                       with other threads' writes would only delay them (a
 *                       registry scan, the autoscaler's bulk ticks, a tracker
 *                       reconcile). Runs on the calling thread; a movable one
 *                       may be carried on by another thread, one call at a
 *                       time.
 *   ms__store_read_*    a few reads of the current state, in autocommit mode.
 *
 * Inside any of them the statement seam of store/stmt.h applies
 * (ms__store_prepare, ms__stmt_bind_*, ms__stmt_done / _row, columns), and
 * the savepoints and errors of store/conn.h; it works on either backend (a
 * SQLite file, or PostgreSQL: store/pg/pg.h). The parts use nothing else:
 * s->db and SQLite's own calls are the store's (scripts/check-layers).
 *
 * Leaving the write lock. Every holder above the transaction layer leaves
 * through one function (access.c, leave()), which does exactly two things:
 *  1. releases the write lock; the release kicks the oldest queued write
 *     (store/lock.h), which then takes the combiner role, so a write queued
 *     behind a reader or a long transaction is never stranded;
 *  2. runs a checkpoint if one is due (store/checkpoint.h), now that the lock
 *     is free, on this thread, on a connection of its own.
 * It never fails. The layers below never call it: the lock kicks on every
 * release by itself, and a checkpoint's own short hold of the lock is a
 * plain take and release. */
#ifndef MS_STORE_INTERNAL_H
#define MS_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/conn.h"
#include "store/handle.h"
#include "store/stmt.h"

/* ---- opening (store.c) ------------------------------------------------------ */

/* Open like ms_store_open, migrating with `migrations` (n entries, oldest
 * first, kept by the caller for the life of the handle: lib/schema/'s list)
 * up to `version` (< 0 or beyond the list: its latest). */
int ms__store_open(const char *path, unsigned flags, const ms_migration *migrations, size_t n, int64_t version,
                   ms_store **out);

/* ---- one atomic write (access.c) -------------------------------------------- */

/* fn runs once, with the store locked and a write transaction open, inside a
 * savepoint of its own, on whichever thread combines the current batch (see
 * store/group.h). Its status is returned and its writes undone when it fails;
 * when it succeeds the call returns once the batch is committed, or with the
 * commit's error, its writes undone. ms_errmsg of a failure is fn's own (or
 * the store's), set on the caller's thread. A caller that holds the store
 * (an open long transaction or read on this thread) gets MS_EBUSY. */
int ms__store_write(ms_store *s, ms__store_op_fn fn, void *arg);

/* ---- a long transaction (access.c) ------------------------------------------ */

/* The transaction may be carried on by other threads (ms__store_txn_resume).
 * It then leaves the cross-process writer queue as soon as it holds SQLite's
 * write lock (store/txn.h says why and what it costs); without this flag it
 * keeps the queue to its end and must end on the thread that began it. */
#define MS__STORE_TXN_MOVABLE 1u

/* Take the write lock (waiting for this process's other threads), then
 * SQLite's (waiting up to the busy timeout for other processes), and open a
 * write transaction; *out is the store's one transaction handle, valid until
 * it is committed or rolled back. On failure nothing is held, *out untouched:
 * MS_EBUSY (the caller already holds the store, or another process kept it
 * past the busy timeout), MS_EINVAL (MS_STORE_READONLY, unknown flags), the
 * mapped SQLite error. */
int ms__store_txn_begin(ms_store *s, unsigned flags, ms_store_txn **out);
/* Every call that works in x after the one that began it starts here, on
 * whatever thread it runs: the caller becomes x's holder, so it, and not the
 * thread before, gets MS_EBUSY if it re-enters the store. MS_EINVAL, x left
 * as it is, when x is not movable and this is not its thread.
 * One call at a time: the store does not make calls that overlap on one
 * transaction wait for each other (it cannot tell when a call ends), and two
 * threads working in x at once would share one SQLite connection. A part
 * whose API lets a host overlap them serializes them itself, e.g. with a
 * mutex of its own taken for the whole of each call. */
int ms__store_txn_resume(ms_store_txn *x);
/* The store x is a transaction of. */
ms_store *ms__store_txn_store(const ms_store_txn *x);
/* 0 when SQLite rolled x back by itself after an error (disk full, I/O): its
 * work is gone, and anything run now would run outside any transaction. End
 * it with ms__store_txn_rollback. */
int ms__store_txn_alive(const ms_store_txn *x);
/* COMMIT and leave the store. On failure x is rolled back, so the store is
 * as before it began, and the status returned. Ends x either way, except
 * when x is not movable and this is not its thread: MS_EINVAL, x left open
 * for its thread to end (a bug of the caller, refused without harm). */
int ms__store_txn_commit(ms_store_txn *x);
/* ROLLBACK and leave the store. Never fails. Ends x (refused, logged at
 * ERROR, in the case just named). */
void ms__store_txn_rollback(ms_store_txn *x);

/* ---- reads (access.c) -------------------------------------------------------- */

/* Hold the store for a few statements in autocommit mode (reset them before
 * ms__store_read_end, so no read transaction outlives the call). MS_EBUSY
 * when the caller already holds it; a MS_STORE_READONLY store read as
 * immutable is first reopened if a writer's log has appeared. */
int ms__store_read_begin(ms_store *s);
/* The same, for a read that needs nothing of the write lock but the
 * connection: it reads only the database, no state in memory that a write
 * or a long transaction of another thread changes under the write lock (a
 * part's tally or cache). On PostgreSQL it runs on a connection the
 * handle's pool lends (store/pg/pg_pool.c), at the same time as the other
 * threads' reads, writes and transactions, and sees what is committed; with
 * pool_max=1, and on SQLite, it is ms__store_read_begin. MS_EIO when a new
 * connection cannot be made. Ended by ms__store_read_end. */
int ms__store_read_apart_begin(ms_store *s);
void ms__store_read_end(ms_store *s);

/* ---- the entry points before these (kept until every part has switched) ---- */

/* ms__store_begin = ms__store_txn_begin(s, 0, ...) on the calling thread;
 * ms__store_commit / _rollback end it; ms__store_lock / _unlock =
 * ms__store_read_begin / _end. */
int ms__store_begin(ms_store *s);
int ms__store_commit(ms_store *s);
void ms__store_rollback(ms_store *s);
int ms__store_lock(ms_store *s);
void ms__store_unlock(ms_store *s);

#endif
