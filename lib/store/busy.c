/* Waiting for other processes' write locks.
 *
 * SQLite's default handler (sqlite3_busy_timeout) sleeps 1, 2, 5, 10 ... up to
 * 100 ms between tries, so under contention a waiter often sleeps long after
 * the lock was freed and throughput collapses. A commit here takes tens of
 * microseconds, so we poll in short, growing steps capped well below a
 * millisecond, and give up after the store's busy timeout. */
#include <sched.h>
#include <time.h>

#include "store/conn.h"

#define BUSY_STEP_MIN_US 5
#define BUSY_STEP_MAX_US 200

int ms__store_busy_handler(void *arg, int count) {
  ms_store *s = arg;
  int64_t now = ms_clock_monotonic_us();
  if (count == 0) s->busy_started_us = now;
  int64_t limit = atomic_load_explicit(&s->busy_timeout_us, memory_order_relaxed);
  if (now - s->busy_started_us >= limit) return 0; /* give up: SQLITE_BUSY */
  if (count < 4) {
    sched_yield(); /* the holder is usually mid-commit: a yield is often enough */
    return 1;
  }
  int64_t step = (int64_t)BUSY_STEP_MIN_US << (count < 10 ? count - 4 : 6);
  if (step > BUSY_STEP_MAX_US) step = BUSY_STEP_MAX_US;
  struct timespec ts = {0, (long)(step * 1000)};
  nanosleep(&ts, NULL);
  return 1;
}
