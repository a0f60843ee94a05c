/* The handle's write lock and its queue of waiting writes (store/lock.h).
 *
 * The lock word follows Drepper's "Futexes Are Tricky", mutex 2: 0 free, 1
 * held, 2 held with a thread possibly asleep on it, so an uncontended take
 * and release are one atomic each and only a release that may have sleepers
 * makes a system call. */
#include "store/lock.h"

#include "common/error.h"
#include "common/wait.h"

static _Thread_local char this_thread; /* its address names the calling thread */

static uintptr_t me(void) { return (uintptr_t)&this_thread; }

void ms__store_lock_init(ms_store *s) {
  atomic_init(&s->lock_word, 0);
  atomic_init(&s->holder, 0);
  pthread_mutex_init(&s->qmu, NULL);
  s->qhead = s->qtail = NULL;
  atomic_init(&s->queued, 0);
}

void ms__store_lock_destroy(ms_store *s) { pthread_mutex_destroy(&s->qmu); }

int ms__store_lock_is_mine(const ms_store *s) {
  return atomic_load_explicit(&s->holder, memory_order_relaxed) == me();
}

int ms__store_lock_busy_self(const ms_store *s) {
  return ms__fail(MS_EBUSY, "store '%s': this thread already holds the store in an open transaction; "
                            "commit or roll it back first", s->path);
}

int ms__store_lock_try(ms_store *s) {
  uint32_t free_word = 0;
  if (!atomic_compare_exchange_strong_explicit(&s->lock_word, &free_word, 1, memory_order_acquire,
                                               memory_order_relaxed))
    return 0;
  atomic_store_explicit(&s->holder, me(), memory_order_relaxed);
  return 1;
}

int ms__store_lock_take(ms_store *s) {
  if (ms__store_lock_is_mine(s)) return ms__store_lock_busy_self(s);
  uint32_t c = 0;
  if (!atomic_compare_exchange_strong_explicit(&s->lock_word, &c, 1, memory_order_acquire, memory_order_relaxed)) {
    /* Contended: mark it so (2) and sleep until a release finds it free. */
    if (c != 2) c = atomic_exchange_explicit(&s->lock_word, 2, memory_order_acquire);
    while (c != 0) {
      ms__futex_wait(&s->lock_word, 2, -1, MS__FUTEX_PRIVATE);
      c = atomic_exchange_explicit(&s->lock_word, 2, memory_order_acquire);
    }
  }
  atomic_store_explicit(&s->holder, me(), memory_order_relaxed);
  return MS_OK;
}

void ms__store_lock_adopt(ms_store *s) { atomic_store_explicit(&s->holder, me(), memory_order_relaxed); }

/* Kick the oldest queued waiter: the lock came free, and it may take it.
 * Pairs with a waiter's enqueue-then-try: either its try sees the lock free,
 * or this sees it queued (both sides fence between their store and load). */
static void kick(ms_store *s) {
  atomic_thread_fence(memory_order_seq_cst);
  if (!atomic_load_explicit(&s->queued, memory_order_relaxed)) return;
  pthread_mutex_lock(&s->qmu);
  ms_store_waiter *w = s->qhead;
  uint32_t expect = MS__WAITER_QUEUED;
  int kicked = w && atomic_compare_exchange_strong(&w->state, &expect, MS__WAITER_KICKED);
  pthread_mutex_unlock(&s->qmu);
  /* Once qmu is released a holder may take w, finish it and let it return:
   * a wake naming its address is then harmless (every sleeper re-checks). */
  if (kicked) ms__futex_wake(&w->state, 1, MS__FUTEX_PRIVATE);
}

void ms__store_lock_drop(ms_store *s) {
  atomic_store_explicit(&s->holder, 0, memory_order_relaxed);
  if (atomic_exchange_explicit(&s->lock_word, 0, memory_order_release) == 2)
    ms__futex_wake(&s->lock_word, 1, MS__FUTEX_PRIVATE);
  kick(s);
}

void ms__store_lock_enqueue(ms_store *s, ms_store_waiter *w) {
  atomic_init(&w->state, MS__WAITER_QUEUED);
  pthread_mutex_lock(&s->qmu);
  w->next = NULL;
  if (s->qtail) s->qtail->next = w;
  else s->qhead = w;
  s->qtail = w;
  atomic_fetch_add_explicit(&s->queued, 1, memory_order_seq_cst);
  pthread_mutex_unlock(&s->qmu);
  atomic_thread_fence(memory_order_seq_cst); /* queued before the caller looks at the lock: see kick */
}

ms_store_waiter *ms__store_lock_dequeue_all(ms_store *s) {
  pthread_mutex_lock(&s->qmu);
  ms_store_waiter *w = s->qhead;
  s->qhead = s->qtail = NULL;
  atomic_store_explicit(&s->queued, 0, memory_order_relaxed);
  pthread_mutex_unlock(&s->qmu);
  return w;
}

uint32_t ms__store_lock_queued(const ms_store *s) { return atomic_load_explicit(&s->queued, memory_order_relaxed); }
