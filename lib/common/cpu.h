/* Internal: a CPU hint for spin-wait loops (lets the sibling hyperthread
 * run and saves power while a waiter polls for a few microseconds). */
#ifndef MS_COMMON_CPU_H
#define MS_COMMON_CPU_H

static inline void ms__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

#endif
