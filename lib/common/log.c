/* The host's log hook. Silent unless the host installs a callback. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "common/error.h"

/* The callback and its user pointer are swapped under a tiny spinlock so a
 * reader never pairs one host's fn with another's user pointer; the level is
 * atomic on its own so the disabled path costs a single load. */
static atomic_int log_level = MS_LOG_OFF;
static atomic_flag log_lock = ATOMIC_FLAG_INIT;
static ms_log_fn log_fn;
static void *log_user;

int ms_set_log(ms_log_fn fn, int min_level, void *user) {
  if (min_level < MS_LOG_DEBUG || min_level > MS_LOG_OFF)
    return ms__fail(MS_EINVAL, "log: ms_set_log: level %d is not an ms_log_level", min_level);
  while (atomic_flag_test_and_set_explicit(&log_lock, memory_order_acquire)) {
  }
  log_fn = fn;
  log_user = user;
  atomic_store(&log_level, fn ? min_level : MS_LOG_OFF);
  atomic_flag_clear_explicit(&log_lock, memory_order_release);
  return MS_OK;
}

int ms__log_enabled(int level) { return level >= atomic_load_explicit(&log_level, memory_order_relaxed); }

void ms__log(int level, const char *fmt, ...) {
  if (!ms__log_enabled(level)) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  while (atomic_flag_test_and_set_explicit(&log_lock, memory_order_acquire)) {
  }
  ms_log_fn fn = log_fn;
  void *user = log_user;
  atomic_flag_clear_explicit(&log_lock, memory_order_release);
  if (fn) fn(level, buf, user);
}
