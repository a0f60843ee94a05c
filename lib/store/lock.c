/* The handle's write lock and its queue of waiting writes (store/lock.h).
 *
 * The lock word follows Drepper's "Futexes Are Tricky", mutex 2: 0 free, 1
 * held, 2 held with a thread possibly asleep on it, so an uncontended take
 * and release are one atomic each and only a release that may have sleepers
 * makes a system call. */
#include "store/lock.h"

#include <stdint.h>

#include "common/error.h"
#include "common/wait.h"
#include "mserve/common.h"

/* A waiter's longest sleep before it looks at the holder again. */
#define WAIT_SLICE_US 50000

static _Thread_local char this_thread; /* its address names the calling thread */

static uintptr_t me(void) { return (uintptr_t)&this_thread; }

void ms__store_lock_init(ms_store *s) {
  atomic_init(&s->lock_word, 0);
  atomic_init(&s->holder, 0);
  pthread_mutex_init(&s->qmu, NULL);
  s->qhead = s->qtail = NULL;
  atomic_init(&s->queued, 0);
  atomic_init(&s->long_held, 0);
}

void ms__store_lock_destroy(ms_store *s) { pthread_mutex_destroy(&s->qmu); }

int ms__store_lock_is_mine(const ms_store *s) {
  return atomic_load_explicit(&s->holder, memory_order_relaxed) == me();
}

int ms__store_lock_busy_self(const ms_store *s) {
  return ms__fail(MS_EBUSY, "store '%s': this thread already holds the store in an open transaction; "
                            "commit or roll it back first", s->path);
}

void ms__store_lock_mark_long(ms_store *s) { atomic_store_explicit(&s->long_held, 1, memory_order_relaxed); }

int64_t ms__store_lock_wait_left(ms_store *s, int64_t *since) {
  if (!atomic_load_explicit(&s->long_held, memory_order_relaxed)) {
    *since = 0;
    return WAIT_SLICE_US;
  }
  int64_t now = ms_clock_monotonic_us();
  if (!*since) *since = now;
  int64_t limit = atomic_load_explicit(&s->busy_timeout_us, memory_order_relaxed);
  if (limit > INT64_MAX - *since) return WAIT_SLICE_US; /* a timeout past the end of time */
  int64_t left = *since + limit - now;
  if (left <= 0) return 0;
  return left < WAIT_SLICE_US ? left : WAIT_SLICE_US;
}

int ms__store_lock_busy_long(const ms_store *s) {
  return ms__fail(MS_EBUSY, "store '%s': another thread kept the store in an open transaction that spans calls (a "
                            "tracker tick) for longer than the busy timeout (%lld us); a host that holds a tick must "
                            "commit or roll it back before it calls other objects over the store",
                  s->path, (long long)atomic_load_explicit(&s->busy_timeout_us, memory_order_relaxed));
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
    int64_t since = 0;
    while (c != 0) {
      /* Giving up leaves the word at 2: the holder's release then wakes
       * nobody, which is harmless. */
      int64_t left = ms__store_lock_wait_left(s, &since);
      if (!left) return ms__store_lock_busy_long(s);
      ms__futex_wait(&s->lock_word, 2, left, MS__FUTEX_PRIVATE);
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
  atomic_store_explicit(&s->long_held, 0, memory_order_relaxed);
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

int ms__store_lock_withdraw(ms_store *s, ms_store_waiter *w) {
  int out = 0;
  pthread_mutex_lock(&s->qmu);
  /* Kicks happen under qmu too: QUEUED here stays so until we let go. */
  if (atomic_load_explicit(&w->state, memory_order_relaxed) == MS__WAITER_QUEUED) {
    ms_store_waiter *prev = NULL;
    for (ms_store_waiter *v = s->qhead; v; prev = v, v = v->next) {
      if (v != w) continue;
      if (prev) prev->next = w->next;
      else s->qhead = w->next;
      if (s->qtail == w) s->qtail = prev;
      atomic_fetch_sub_explicit(&s->queued, 1, memory_order_seq_cst);
      out = 1;
      break;
    }
  }
  pthread_mutex_unlock(&s->qmu);
  return out;
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
