/* Store, layer 2: the handle's write lock (lock.c).
 *
 * One lock per ms_store serializes everything that touches its connection:
 * writes of every kind, reads, checkpoints that must hold writers back. It is
 * a futex word rather than a pthread mutex because a long transaction holds
 * it across calls and may move between threads (a Go goroutine does), so the
 * thread that releases it need not be the one that took it.
 *
 * The lock remembers a holder: the thread that took it or, for a long
 * transaction, the last thread that worked in it (ms__store_lock_adopt). A
 * holder that asks for the lock again gets MS_EBUSY at once instead of
 * waiting for itself.
 *
 * Writes that find the lock taken can wait on a word of their own instead of
 * the lock's (group commit, layer 4, completes them in batches without their
 * ever taking the lock): they queue here, oldest first, and every release of
 * the lock kicks the oldest queued one, so a write is never stranded behind
 * a holder that knows nothing of group commit. */
#ifndef MS_STORE_LOCK_H
#define MS_STORE_LOCK_H

#include <stdint.h>

#include "store/handle.h"

/* States of an ms_store_waiter the lock knows; its owner may use others. */
enum { MS__WAITER_QUEUED = 0, MS__WAITER_KICKED = 2 };

void ms__store_lock_init(ms_store *s);
void ms__store_lock_destroy(ms_store *s);

/* Take the lock, waiting for other threads as long as they hold it (they
 * hold it for work in progress, never for a wait on another process, except
 * for a long transaction, which the host ends). MS_OK, or MS_EBUSY with the
 * message when the calling thread is the holder. */
int ms__store_lock_take(ms_store *s);
/* Take the lock only if it is free: 1 when taken. */
int ms__store_lock_try(ms_store *s);
/* Release it, then kick the oldest queued waiter (QUEUED -> KICKED, woken),
 * which may now take the lock itself. Any thread may release it. */
void ms__store_lock_drop(ms_store *s);
/* The calling thread now works in what the lock holds (a long transaction
 * resumed on another thread): it becomes the holder. */
void ms__store_lock_adopt(ms_store *s);
/* Is the calling thread the holder? */
int ms__store_lock_is_mine(const ms_store *s);
/* The MS_EBUSY of a holder that asks for the lock again. */
int ms__store_lock_busy_self(const ms_store *s);

/* The queue of waiting writes. Enqueue sets w->state to MS__WAITER_QUEUED;
 * the caller then tries the lock (a release that came before the enqueue
 * could not kick it) and, failing, sleeps on w->state. */
void ms__store_lock_enqueue(ms_store *s, ms_store_waiter *w);
/* Take every queued waiter, oldest first (the holder, to run them). */
ms_store_waiter *ms__store_lock_dequeue_all(ms_store *s);
/* Waiters in the queue now (a hint: read without the queue's mutex). */
uint32_t ms__store_lock_queued(const ms_store *s);

#endif
