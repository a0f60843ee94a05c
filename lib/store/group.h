/* Store, layer 4: group commit — the writes of several threads in one
 * transaction (group.c).
 *
 * A write is queued on the write lock (layer 2). The first thread to find
 * the lock free becomes the combiner: it runs every queued write in one
 * transaction (layer 3), each in a savepoint of its own so a failing one is
 * undone alone, commits once, and publishes each write's result to its
 * caller. Writes that arrive meanwhile form the next batch. The caller-facing
 * loop, and leaving the lock after combining, are the top layer's
 * (ms__store_write in store_internal.h): this layer only queues, waits and
 * combines.
 *
 * Which thread runs a write's callback. The combiner runs every write of
 * its batches, so a callback may run on its caller's thread or on another
 * writer's. What it may rely on:
 *  - it runs exactly once, with the write lock held and a write transaction
 *    open, inside its own savepoint (or alone in the transaction); its
 *    writes are undone when it returns an error;
 *  - its caller is blocked in ms__store_write until it has run and its batch
 *    committed, so whatever the caller owns (the arg on its stack, data its
 *    caller's locks protect) stays as the caller left it;
 *  - ms_errmsg set through ms__fail is carried back to the caller's thread
 *    with the status.
 * What it must not rely on: any other thread-local state (its values are the
 * combiner's), the thread's identity (pthread_self, a lock the caller took:
 * taking a lock would wait for a thread that waits for us), or calling an
 * entry point of the same store (the combiner holds it: MS_EBUSY). It should
 * not block or take long: the other writes of its batch wait for it.
 * Running every callback on its own caller's thread would mean handing the
 * transaction from thread to thread, the lock hand-offs group commit exists
 * to avoid. */
#ifndef MS_STORE_GROUP_H
#define MS_STORE_GROUP_H

#include "store/handle.h"

/* One queued write. Lives on its caller's stack: touched by others only
 * while it is queued (under the queue's mutex) or, once a combiner took it,
 * until the combiner publishes its result. */
typedef struct ms_store_write {
  ms_store_waiter node; /* first: the lock's queue links and kicks it */
  ms__store_op_fn fn;
  void *arg;
  int status;
  int deferred; /* refused a lock it may not wait for in its batch: run again in a transaction of its own */
  char msg[1024];
  int64_t waited_since; /* ms__store_lock_wait_left's start of a bounded wait; 0: none */
} ms_store_write;

/* What ms__store_group_turn did. */
enum { MS__GROUP_DONE = 0, MS__GROUP_COMBINED = 1, MS__GROUP_WAITED = 2 };

/* Queue w (fn, arg) on s's write lock. */
void ms__store_group_enqueue(ms_store *s, ms_store_write *w, ms__store_op_fn fn, void *arg);
/* One turn of the caller's loop: MS__GROUP_DONE when w has its result;
 * MS__GROUP_COMBINED when the lock was free and this thread combined batches
 * (its own among them, normally): it holds the lock and must leave it;
 * MS__GROUP_WAITED after a wait (spin, then sleep) for a combiner or a kick. */
int ms__store_group_turn(ms_store *s, ms_store_write *w);
/* w's status, with its message set on the calling thread. */
int ms__store_group_result(const ms_store_write *w);

void ms__store_group_init(ms_store *s);

#endif
