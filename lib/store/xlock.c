/* The cross-process writer lock (see xlock.h for why it exists). */
#include "xlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/wait.h"
#include "mserve/common.h"

/* 'mslk' + layout version. A file of another version is left alone: both
 * libraries then fall back to SQLite's locking, which stays correct. */
#define XLOCK_MAGIC 0x6d736c6b00000004ull

/* Fairness between processes. The mutex lets a process that just unlocked
 * take it again before the woken waiter of another process runs (waking one
 * costs tens of microseconds on a busy machine), so a busy process could keep
 * the other out for a whole scheduler slice. Handing the lock over after
 * every transaction would pay that wake-up each time and halve throughput.
 * (and makes SQLite reload its page cache, since the other process wrote).
 * So a process may take the lock QUOTA times in a row while another process
 * waits; then it steps aside at the gate until the waiter has had its turn
 * (or YIELD_US has passed, so a waiter that died waiting costs a pause, never
 * a hang). */
#define QUOTA 8
#define YIELD_US 500
/* Waiters sleep on `wake` and, once woken, try for SPIN_US: the holder
 * wakes one just before its turn ends, so it is already running when the
 * lock comes free. SLICE_US bounds each sleep: a holder that died is noticed
 * (EOWNERDEAD) within it even though nobody woke us. */
#define SPIN_US 60
#define SLICE_US 1000

typedef struct xlock_page {
  _Atomic uint64_t magic;   /* written last, once the mutex is initialised */
  _Atomic int32_t waiting;  /* writers blocked in the mutex, all processes */
  _Atomic uint32_t owner;   /* process_token() of the last process to take the lock */
  _Atomic uint32_t streak;  /* times in a row `owner` took it while others waited */
  _Atomic uint32_t turn;    /* futex: bumped when the lock passes to another process */
  _Atomic uint32_t wake;    /* futex: bumped to wake a waiter, just before the lock comes free */
  _Atomic uint32_t holder_token; /* holder's process_token() and thread id, 0 when free: */
  _Atomic int32_t holder_tid;    /*   lets a thread see that it is waiting for itself */
  pthread_mutex_t mu;
} xlock_page;

struct ms_xlock {
  xlock_page *page;
  size_t map_len;
};

/* Initialise the shared mutex once per file. flock() serialises the first
 * openers; it is released by the kernel if an initialiser dies, and a page
 * whose magic was never written is simply initialised again. */
static int init_page(int fd, xlock_page *p) {
  if (atomic_load_explicit(&p->magic, memory_order_acquire) == XLOCK_MAGIC) return 0;
  if (flock(fd, LOCK_EX) != 0) return -1;
  int rc = 0;
  uint64_t m = atomic_load_explicit(&p->magic, memory_order_acquire);
  if (m == 0) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    /* a thread that re-enters through a second handle gets EDEADLK, not a hang */
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    atomic_store_explicit(&p->waiting, 0, memory_order_relaxed);
    atomic_store_explicit(&p->owner, 0, memory_order_relaxed);
    atomic_store_explicit(&p->streak, 0, memory_order_relaxed);
    atomic_store_explicit(&p->turn, 0, memory_order_relaxed);
    atomic_store_explicit(&p->wake, 0, memory_order_relaxed);
    atomic_store_explicit(&p->holder_token, 0, memory_order_relaxed);
    atomic_store_explicit(&p->holder_tid, 0, memory_order_relaxed);
    rc = pthread_mutex_init(&p->mu, &a) ? -1 : 0;
    pthread_mutexattr_destroy(&a);
    if (!rc) atomic_store_explicit(&p->magic, XLOCK_MAGIC, memory_order_release);
  } else if (m != XLOCK_MAGIC) {
    rc = -1; /* another layout: do not touch it */
  }
  flock(fd, LOCK_UN);
  return rc;
}

ms_xlock *ms__xlock_open(const char *db_path) {
  if (!db_path || !*db_path) return NULL;
  size_t n = strlen(db_path);
  char *path = malloc(n + sizeof "-mslock");
  if (!path) return NULL;
  memcpy(path, db_path, n);
  memcpy(path + n, "-mslock", sizeof "-mslock");
  /* Same permission bits as the database, as SQLite does for -wal and -shm. */
  struct stat db;
  mode_t mode = stat(db_path, &db) == 0 ? (mode_t)(db.st_mode & 0777) : (mode_t)0644;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
  free(path);
  if (fd < 0) return NULL;
  ms_xlock *x = NULL;
  size_t len = (size_t)sysconf(_SC_PAGESIZE);
  if (len < sizeof(xlock_page)) len = sizeof(xlock_page);
  struct stat st;
  /* A fresh file reads as zeros once extended: magic 0 = not initialised. */
  if (fstat(fd, &st) == 0 && (st.st_size >= (off_t)len || ftruncate(fd, (off_t)len) == 0)) {
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
      if (init_page(fd, map) == 0 && (x = malloc(sizeof *x))) {
        x->page = map;
        x->map_len = len;
      } else {
        munmap(map, len);
      }
    }
  }
  close(fd); /* the mapping keeps the page; no lock lives on the descriptor */
  if (!x) ms__log(MS_LOG_DEBUG, "store '%s': no writer queue file; relying on SQLite's busy handling", db_path);
  return x;
}

void ms__xlock_close(ms_xlock *x) {
  if (!x) return;
  munmap(x->page, x->map_len);
  free(x);
}

static int locked(ms_xlock *x, int e) {
  if (e == EOWNERDEAD) {
    /* The holder died mid-transaction; SQLite rolls its work back on its own,
     * so the lock itself is all that needs repair. */
    pthread_mutex_consistent(&x->page->mu);
    ms__log(MS_LOG_INFO, "store: a writer process died holding the writer queue; recovered");
    return 0;
  }
  return e;
}

static void wake_a_waiter(xlock_page *p) {
  atomic_fetch_add_explicit(&p->wake, 1, memory_order_release);
  ms__futex_wake(&p->wake, 1, MS__FUTEX_SHARED);
}

/* Names this process among those sharing the file. Not the pid alone:
 * processes in different pid namespaces (containers sharing a volume) can
 * have the same one. A clash would only cost fairness, never correctness. */
static uint32_t process_token(void) {
  static _Atomic uint32_t salt;
  uint32_t r = atomic_load_explicit(&salt, memory_order_relaxed);
  if (!r) {
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) r = (uint32_t)time(NULL) * 2654435761u;
    r |= 1u;
    atomic_store_explicit(&salt, r, memory_order_relaxed);
  }
  return (r ^ (uint32_t)getpid()) | 1u; /* the pid part tells a forked child from its parent */
}

/* Our process has had its QUOTA while another waits: let it in first. When
 * nobody comes within YIELD_US the count names a writer that died waiting
 * (or one asleep for that long): forget it, so it costs one pause, not one
 * per write. Undercounting a live waiter only delays fairness a little. */
static void step_aside(xlock_page *p, uint32_t me) {
  if (atomic_load_explicit(&p->owner, memory_order_relaxed) != me ||
      atomic_load_explicit(&p->streak, memory_order_relaxed) < QUOTA)
    return;
  int32_t waiting = atomic_load_explicit(&p->waiting, memory_order_relaxed);
  if (waiting <= 0) return;
  uint32_t t = atomic_load_explicit(&p->turn, memory_order_acquire);
  if (atomic_load_explicit(&p->owner, memory_order_relaxed) != me) return;
  ms__futex_wait(&p->turn, t, YIELD_US, MS__FUTEX_SHARED);
  if (atomic_load_explicit(&p->turn, memory_order_acquire) == t) {
    atomic_compare_exchange_strong(&p->waiting, &waiting, 0);
    atomic_store_explicit(&p->streak, 0, memory_order_relaxed);
  }
}

/* Account for an acquisition by process `me`: a new owner starts a streak
 * (and wakes whoever stepped aside for it); the same owner lengthens it
 * while someone waits. */
static void took(xlock_page *p, uint32_t me, int32_t tid) {
  atomic_store_explicit(&p->holder_token, me, memory_order_relaxed);
  atomic_store_explicit(&p->holder_tid, tid, memory_order_relaxed);
  if (atomic_load_explicit(&p->owner, memory_order_relaxed) != me) {
    atomic_store_explicit(&p->owner, me, memory_order_relaxed);
    atomic_store_explicit(&p->streak, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->turn, 1, memory_order_release);
    ms__futex_wake(&p->turn, INT_MAX, MS__FUTEX_SHARED);
  } else if (atomic_load_explicit(&p->waiting, memory_order_relaxed) > 0) {
    /* the last write of our turn: get the next process's waiter running */
    if (atomic_fetch_add_explicit(&p->streak, 1, memory_order_relaxed) + 1 >= QUOTA - 1) wake_a_waiter(p);
  } else {
    atomic_store_explicit(&p->streak, 0, memory_order_relaxed);
  }
}

/* Wait for the lock as a registered waiter until the deadline. */
static int wait_for(ms_xlock *x, uint32_t me, int32_t tid, int64_t timeout_us) {
  xlock_page *p = x->page;
  int64_t deadline = ms_clock_monotonic_us() + timeout_us;
  for (;;) {
    uint32_t seq = atomic_load_explicit(&p->wake, memory_order_acquire);
    int e = locked(x, pthread_mutex_trylock(&p->mu));
    if (e != EBUSY) return e;
    if (atomic_load_explicit(&p->holder_token, memory_order_relaxed) == me &&
        atomic_load_explicit(&p->holder_tid, memory_order_relaxed) == tid)
      return EDEADLK; /* this thread holds it, through another handle */
    int64_t now = ms_clock_monotonic_us();
    if (now >= deadline) return ETIMEDOUT;
    ms__futex_wait(&p->wake, seq, deadline - now < SLICE_US ? deadline - now : SLICE_US, MS__FUTEX_SHARED);
    for (int64_t until = ms_clock_monotonic_us() + SPIN_US; ms_clock_monotonic_us() < until;) {
      ms__cpu_relax();
      if ((e = locked(x, pthread_mutex_trylock(&p->mu))) != EBUSY) return e;
    }
  }
}

int ms__xlock_acquire(ms_xlock *x, int64_t timeout_us, const char *store_path) {
  xlock_page *p = x->page;
  uint32_t me = process_token();
  int32_t tid = (int32_t)syscall(SYS_gettid);
  step_aside(p, me);
  int e = locked(x, pthread_mutex_trylock(&p->mu));
  if (e == EBUSY) {
    atomic_fetch_add_explicit(&p->waiting, 1, memory_order_relaxed);
    e = wait_for(x, me, tid, timeout_us);
    /* never below zero, should a stale count have been forgotten meanwhile */
    int32_t w = atomic_load_explicit(&p->waiting, memory_order_relaxed);
    while (w > 0 && !atomic_compare_exchange_weak_explicit(&p->waiting, &w, w - 1, memory_order_relaxed,
                                                           memory_order_relaxed)) {
    }
  }
  if (e == 0) took(p, me, tid);
  switch (e) {
    case 0: return MS_OK;
    case ETIMEDOUT:
      return ms__fail(MS_EBUSY, "store '%s': another process kept writing for longer than the busy timeout (%lld us)",
                      store_path, (long long)timeout_us);
    case EDEADLK:
      return ms__fail(MS_EBUSY, "store '%s': this thread already holds a write transaction on this file through "
                                "another handle; commit or roll it back first", store_path);
    default: return ms__fail(MS_EINTERNAL, "store '%s': writer queue error %d (%s)", store_path, e, strerror(e));
  }
}

void ms__xlock_release(ms_xlock *x, int more_coming) {
  xlock_page *p = x->page;
  atomic_store_explicit(&p->holder_token, 0, memory_order_relaxed);
  atomic_store_explicit(&p->holder_tid, 0, memory_order_relaxed);
  pthread_mutex_unlock(&p->mu);
  /* With more writes of ours queued we take it again at once (until the
   * quota, when took() has already woken a waiter); otherwise let one in. */
  if (!more_coming && atomic_load_explicit(&p->waiting, memory_order_relaxed) > 0) wake_a_waiter(p);
}

int32_t ms__xlock_waiters(const ms_xlock *x) { return atomic_load(&x->page->waiting); }
