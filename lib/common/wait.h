/* Internal: the waiting primitives of the store's own locks (Linux futexes)
 * and a CPU hint for short spin-waits. */
#ifndef MS_COMMON_WAIT_H
#define MS_COMMON_WAIT_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* shared: the word lives in memory other processes map too (FUTEX_WAIT, not
 * the cheaper _PRIVATE variant). */
#define MS__FUTEX_PRIVATE 0
#define MS__FUTEX_SHARED 1

/* Sleep while *word == expected, at most timeout_us (< 0: no limit). May
 * return early or spuriously; callers re-check. */
static inline void ms__futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_us, int shared) {
  struct timespec ts, *tp = NULL;
  if (timeout_us >= 0) {
    ts.tv_sec = (time_t)(timeout_us / 1000000);
    ts.tv_nsec = (long)(timeout_us % 1000000) * 1000;
    tp = &ts;
  }
  syscall(SYS_futex, word, shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, expected, tp, NULL, 0);
}

/* Wake up to n sleepers on word. Harmless on an address nobody waits on. */
static inline void ms__futex_wake(_Atomic uint32_t *word, int n, int shared) {
  syscall(SYS_futex, word, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Inside a spin-wait loop: lets the sibling hyperthread run and saves power. */
static inline void ms__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

#endif
