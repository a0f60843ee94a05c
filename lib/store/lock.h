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
 * While it holds a transaction that spans calls (a tracker tick, which the
 * host ends whenever it likes), a wait for it is bounded by the store's busy
 * timeout, as a wait for another process is: the caller may be the host
 * itself, on a thread other than the tick's (a Go binding runs a tick's
 * calls on a thread of their own), for whom waiting would never end. Any
 * other holder is waited for without limit: it holds the lock for work in
 * progress.
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
 * hold it for work in progress, never for a wait on another process), or up
 * to the busy timeout while it holds a transaction that spans calls. MS_OK,
 * or MS_EBUSY with the message when the calling thread is the holder or the
 * wait ran out. */
int ms__store_lock_take(ms_store *s);
/* Take the lock only if it is free: 1 when taken. */
int ms__store_lock_try(ms_store *s);
/* Release it, then kick the oldest queued waiter (QUEUED -> KICKED, woken),
 * which may now take the lock itself. Any thread may release it. It no
 * longer holds a transaction that spans calls. */
void ms__store_lock_drop(ms_store *s);
/* The holder: the lock now holds a transaction that spans calls (until the
 * drop), so waits for it are bounded from here on. */
void ms__store_lock_mark_long(ms_store *s);
/* How long a waiter may sleep before it looks again: a slice while the lock
 * holds nothing that spans calls (*since reset), else what is left of the
 * busy timeout counted from *since (set at the first such look; start it at
 * 0), at most a slice; 0 once the busy timeout ran out. Sleeping in slices,
 * a waiter that began before a tick took the lock still sees the tick. */
int64_t ms__store_lock_wait_left(ms_store *s, int64_t *since);
/* The MS_EBUSY of a wait that ran out behind a transaction that spans calls. */
int ms__store_lock_busy_long(const ms_store *s);
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
/* Take w out of the queue if it is still there and not kicked: 1 when taken
 * out (the caller owns it again), 0 when a holder took it to run it, or a
 * release kicked it (it must take its turn). */
int ms__store_lock_withdraw(ms_store *s, ms_store_waiter *w);
/* Take every queued waiter, oldest first (the holder, to run them). */
ms_store_waiter *ms__store_lock_dequeue_all(ms_store *s);
/* Waiters in the queue now (a hint: read without the queue's mutex). */
uint32_t ms__store_lock_queued(const ms_store *s);

#endif
