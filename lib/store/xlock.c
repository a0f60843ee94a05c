/* The cross-process writer lock (see xlock.h for why it exists). */
#include "xlock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/error.h"
#include "mserve/common.h"

/* 'mslk' + layout version. A file of another version is left alone: both
 * libraries then fall back to SQLite's locking, which stays correct. */
#define XLOCK_MAGIC 0x6d736c6b00000001ull

typedef struct xlock_page {
  _Atomic uint64_t magic; /* written last, once the mutex is initialised */
  uint64_t reserved;
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

int ms__xlock_acquire(ms_xlock *x, int64_t timeout_us, const char *store_path) {
  int e = locked(x, pthread_mutex_trylock(&x->page->mu));
  if (e == EBUSY) {
    /* timedlock takes CLOCK_REALTIME: a clock step can only shorten or
     * lengthen this one wait, never break the lock. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (timeout_us % 1000000) * 1000;
    ts.tv_sec += (time_t)(timeout_us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    e = locked(x, pthread_mutex_timedlock(&x->page->mu, &ts));
  }
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

void ms__xlock_release(ms_xlock *x) { pthread_mutex_unlock(&x->page->mu); }
