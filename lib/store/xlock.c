/* The cross-process writer lock (see xlock.h for why it exists). */
#include "store/xlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
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

#include "common/error.h"
#include "common/wait.h"
#include "mserve/common.h"

/* 'mslk' + layout version. A file of another version is left alone: both
 * libraries then fall back to SQLite's locking, which stays correct. */
#define XLOCK_MAGIC 0x6d736c6b00000005ull

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
/* A waiter reads the holder's record once it has waited CHECK_US (a normal
 * hand-over takes well under that), then every RECHECK_US, and once more
 * before it gives up, so a lock whose holder cannot exist is recovered within
 * any busy timeout, 0 included. */
#define CHECK_US 2000
#define RECHECK_US 50000
/* A mutex held while its record says nobody holds it, or is being written:
 * its holder took it and has not written the record yet, which takes
 * nanoseconds, unless the copy or the power loss came at exactly that moment.
 * Once that state has lasted UNRECORDED_US (across calls), what the record
 * still says about the machine and the file decides. */
#define UNRECORDED_US 100000
/* Mutexes in the page: a recovery moves every writer to the next one, never
 * touching the abandoned one (another process may still be looking at it).
 * After SLOTS recoveries of one file the first is initialised again. */
#define SLOTS 16

/* Who holds a slot's mutex. Written by the holder right after taking it,
 * read by waiters through the seqlock. */
typedef struct xlock_owner {
  _Atomic uint32_t seq;  /* odd while the fields below are being written */
  _Atomic uint32_t held; /* 1 from taking the mutex to releasing it */
  _Atomic uint32_t token; /* process_token() of the holder */
  _Atomic int32_t pid;    /* in the holder's pid namespace */
  _Atomic int32_t tid;
  _Atomic uint32_t unused;
  _Atomic uint64_t start_ticks; /* the holder's start, clock ticks after boot; 0: unknown */
  _Atomic uint64_t boot[2];     /* boot id; 0: unknown */
  _Atomic uint64_t pid_ns;      /* inode of the holder's pid namespace; 0: unknown */
  _Atomic uint64_t file_dev;    /* the lock file the holder mapped */
  _Atomic uint64_t file_ino;
} xlock_owner;

typedef struct xlock_slot {
  pthread_mutex_t mu;
  xlock_owner who;
} xlock_slot;

typedef struct xlock_page {
  _Atomic uint64_t magic;   /* written last, once the mutex is initialised */
  _Atomic int32_t waiting;  /* writers blocked in the mutex, all processes */
  _Atomic uint32_t owner;   /* process_token() of the last process to take the lock */
  _Atomic uint32_t streak;  /* times in a row `owner` took it while others waited */
  _Atomic uint32_t turn;    /* futex: bumped when the lock passes to another process */
  _Atomic uint32_t wake;    /* futex: bumped to wake a waiter, just before the lock comes free */
  _Atomic uint32_t gen;     /* the mutex in use is slot[gen % SLOTS]; a recovery bumps it */
  xlock_slot slot[SLOTS];
} xlock_page;

struct ms_xlock {
  xlock_page *page;
  size_t map_len;
  char *path;        /* the side file: a recovery opens it again for flock() */
  uint64_t dev, ino; /* its identity when mapped */
  xlock_slot *held;  /* the slot this handle holds; NULL while free */
  /* A mutex seen held without a record (UNRECORDED_US), remembered across
   * calls so that short busy timeouts add up. */
  uint32_t unrec_gen, unrec_seq;
  int64_t unrec_since; /* monotonic; 0: none */
};

/* ---- who this process is --------------------------------------------------- */

typedef struct ident {
  uint64_t boot[2];
  uint64_t pid_ns;
  int32_t pid;
  uint64_t start_ticks;
} ident;

static pthread_mutex_t ident_mu = PTHREAD_MUTEX_INITIALIZER;
static ident ident_real;          /* valid for the process whose pid is ident_pid */
static _Atomic int32_t ident_pid;
static ident ident_fake;          /* tests; under ident_mu */
static _Atomic int ident_faked;

static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

/* "24fe8a89-1151-4e66-8093-a772ec950905" -> two words; 0 when unreadable. */
static void read_boot_id(uint64_t out[2]) {
  char buf[64];
  out[0] = out[1] = 0;
  if (read_small("/proc/sys/kernel/random/boot_id", buf, sizeof buf) <= 0) return;
  uint64_t w[2] = {0, 0};
  int digits = 0;
  for (const char *c = buf; *c && *c != '\n'; c++) {
    if (*c == '-') continue;
    int v = (*c >= '0' && *c <= '9') ? *c - '0' : (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10 : -1;
    if (v < 0 || digits >= 32) return;
    w[digits / 16] = (w[digits / 16] << 4) | (uint64_t)v;
    digits++;
  }
  if (digits == 32) out[0] = w[0], out[1] = w[1];
}

/* Field 22 of /proc/<pid>/stat (after the command name, which may hold
 * spaces and parentheses); 0 when unreadable. */
static uint64_t start_ticks_of(int32_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (read_small(path, buf, sizeof buf) <= 0) return 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p++;
  for (int field = 3; *p; field++) {
    while (*p == ' ') p++;
    if (field == 22) return strtoull(p, NULL, 10);
    while (*p && *p != ' ') p++;
  }
  return 0;
}

/* This process's pid and this thread's tid, each a system call in glibc,
 * asked once: every acquire records its owner, and two system calls more
 * per commit showed in the tracker's single-client figure. A forked child
 * forgets both (its only thread is the one that forked). */
static _Atomic int32_t cached_pid;
static _Thread_local int32_t cached_tid;
static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;

static void forget_ids_in_child(void) {
  atomic_store_explicit(&cached_pid, 0, memory_order_relaxed);
  cached_tid = 0;
}

static void install_fork_hook(void) { pthread_atfork(NULL, NULL, forget_ids_in_child); }

static int32_t my_pid(void) {
  int32_t pid = atomic_load_explicit(&cached_pid, memory_order_relaxed);
  if (pid) return pid;
  pthread_once(&fork_hook_once, install_fork_hook);
  pid = (int32_t)getpid();
  atomic_store_explicit(&cached_pid, pid, memory_order_relaxed);
  return pid;
}

static int32_t my_tid(void) {
  if (!cached_tid) {
    pthread_once(&fork_hook_once, install_fork_hook);
    cached_tid = (int32_t)syscall(SYS_gettid);
  }
  return cached_tid;
}

static ident self_ident(void) {
  int32_t pid = my_pid();
  ident id;
  if (atomic_load_explicit(&ident_pid, memory_order_acquire) == pid &&
      !atomic_load_explicit(&ident_faked, memory_order_relaxed))
    return ident_real;
  pthread_mutex_lock(&ident_mu);
  if (atomic_load_explicit(&ident_pid, memory_order_relaxed) != pid) { /* first use, or a forked child */
    read_boot_id(ident_real.boot);
    struct stat ns;
    ident_real.pid_ns = stat("/proc/self/ns/pid", &ns) == 0 ? (uint64_t)ns.st_ino : 0;
    ident_real.pid = pid;
    ident_real.start_ticks = start_ticks_of(pid);
    atomic_store_explicit(&ident_pid, pid, memory_order_release);
  }
  id = ident_real;
  if (atomic_load_explicit(&ident_faked, memory_order_relaxed)) {
    if (ident_fake.boot[0] | ident_fake.boot[1]) id.boot[0] = ident_fake.boot[0], id.boot[1] = ident_fake.boot[1];
    if (ident_fake.pid_ns) id.pid_ns = ident_fake.pid_ns;
    if (ident_fake.pid) id.pid = ident_fake.pid;
    if (ident_fake.start_ticks) id.start_ticks = ident_fake.start_ticks;
  }
  pthread_mutex_unlock(&ident_mu);
  return id;
}

void ms__store_xlock_test_identity(const ms__store_xlock_identity *fake) {
  pthread_mutex_lock(&ident_mu);
  if (fake) {
    ident_fake.boot[0] = fake->boot_id[0];
    ident_fake.boot[1] = fake->boot_id[1];
    ident_fake.pid_ns = fake->pid_ns;
    ident_fake.pid = fake->pid;
    ident_fake.start_ticks = fake->start_ticks;
  }
  atomic_store(&ident_faked, fake != NULL);
  pthread_mutex_unlock(&ident_mu);
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
  return (r ^ (uint32_t)my_pid()) | 1u; /* the pid part tells a forked child from its parent */
}

/* ---- the owner record ------------------------------------------------------ */

static void record_begin(xlock_owner *w) {
  uint32_t s = atomic_load_explicit(&w->seq, memory_order_relaxed);
  atomic_store_explicit(&w->seq, s | 1u, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
}

static void record_end(xlock_owner *w) {
  uint32_t s = atomic_load_explicit(&w->seq, memory_order_relaxed);
  atomic_store_explicit(&w->seq, (s | 1u) + 1u, memory_order_release);
}

static void record_owner(ms_xlock *x, xlock_slot *sl, uint32_t me, int32_t tid) {
  ident id = self_ident();
  xlock_owner *w = &sl->who;
  record_begin(w);
  atomic_store_explicit(&w->token, me, memory_order_relaxed);
  atomic_store_explicit(&w->pid, id.pid, memory_order_relaxed);
  atomic_store_explicit(&w->tid, tid, memory_order_relaxed);
  atomic_store_explicit(&w->start_ticks, id.start_ticks, memory_order_relaxed);
  atomic_store_explicit(&w->boot[0], id.boot[0], memory_order_relaxed);
  atomic_store_explicit(&w->boot[1], id.boot[1], memory_order_relaxed);
  atomic_store_explicit(&w->pid_ns, id.pid_ns, memory_order_relaxed);
  atomic_store_explicit(&w->file_dev, x->dev, memory_order_relaxed);
  atomic_store_explicit(&w->file_ino, x->ino, memory_order_relaxed);
  atomic_store_explicit(&w->held, 1, memory_order_relaxed);
  record_end(w);
}

static void record_release(xlock_slot *sl) {
  record_begin(&sl->who);
  atomic_store_explicit(&sl->who.held, 0, memory_order_relaxed);
  record_end(&sl->who);
}

typedef struct snap {
  uint32_t seq, held, token;
  int32_t pid, tid;
  uint64_t start_ticks, boot[2], pid_ns, dev, ino;
  int torn; /* being written, or changed while read */
} snap;

static void snapshot(xlock_owner *w, snap *o) {
  for (int tries = 0; tries < 4; tries++) {
    uint32_t s1 = atomic_load_explicit(&w->seq, memory_order_acquire);
    o->held = atomic_load_explicit(&w->held, memory_order_relaxed);
    o->token = atomic_load_explicit(&w->token, memory_order_relaxed);
    o->pid = atomic_load_explicit(&w->pid, memory_order_relaxed);
    o->tid = atomic_load_explicit(&w->tid, memory_order_relaxed);
    o->start_ticks = atomic_load_explicit(&w->start_ticks, memory_order_relaxed);
    o->boot[0] = atomic_load_explicit(&w->boot[0], memory_order_relaxed);
    o->boot[1] = atomic_load_explicit(&w->boot[1], memory_order_relaxed);
    o->pid_ns = atomic_load_explicit(&w->pid_ns, memory_order_relaxed);
    o->dev = atomic_load_explicit(&w->file_dev, memory_order_relaxed);
    o->ino = atomic_load_explicit(&w->file_ino, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    uint32_t s2 = atomic_load_explicit(&w->seq, memory_order_relaxed);
    o->seq = s1;
    o->torn = (s1 & 1u) || s1 != s2;
    if (!o->torn) return;
  }
}

/* Can the owner `o` names not be holding this file's lock? Says why. With
 * `full`, a holder of this boot and pid namespace is also looked up; without
 * (a record that may be another holder's or half written) only what every
 * process sharing the file has in common decides: the machine and the file. */
static int impossible(const ms_xlock *x, const snap *o, int full, char *why, size_t cap) {
  ident me = self_ident();
  int boots_known = (o->boot[0] | o->boot[1]) && (me.boot[0] | me.boot[1]);
  if (boots_known && (o->boot[0] != me.boot[0] || o->boot[1] != me.boot[1])) {
    snprintf(why, cap, "process %d of another boot or machine (boot id %016llx%016llx, this one %016llx%016llx)",
             (int)o->pid, (unsigned long long)o->boot[0], (unsigned long long)o->boot[1],
             (unsigned long long)me.boot[0], (unsigned long long)me.boot[1]);
    return 1;
  }
  if (o->ino && (o->dev != x->dev || o->ino != x->ino)) {
    snprintf(why, cap, "process %d through another lock file (device %llu, inode %llu; this file, inode %llu, is a copy)",
             (int)o->pid, (unsigned long long)o->dev, (unsigned long long)o->ino, (unsigned long long)x->ino);
    return 1;
  }
  if (!full || !boots_known || !o->pid_ns || o->pid_ns != me.pid_ns || o->pid <= 0) return 0;
  if (kill(o->pid, 0) != 0 && errno == ESRCH) {
    snprintf(why, cap, "process %d, which is gone", (int)o->pid);
    return 1;
  }
  uint64_t started = start_ticks_of(o->pid);
  if (started && o->start_ticks && started != o->start_ticks) {
    snprintf(why, cap, "process %d, which is gone (that pid now names a process started at tick %llu, not %llu)",
             (int)o->pid, (unsigned long long)started, (unsigned long long)o->start_ticks);
    return 1;
  }
  return 0;
}

/* ---- opening ----------------------------------------------------------------- */

static int init_mutex(pthread_mutex_t *mu) {
  pthread_mutexattr_t a;
  if (pthread_mutexattr_init(&a)) return -1;
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  /* a thread that re-enters through a second handle gets EDEADLK, not a hang */
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  memset(mu, 0, sizeof *mu);
  int rc = pthread_mutex_init(mu, &a) ? -1 : 0;
  pthread_mutexattr_destroy(&a);
  return rc;
}

static void clear_owner(xlock_owner *w) {
  record_begin(w);
  atomic_store_explicit(&w->held, 0, memory_order_relaxed);
  atomic_store_explicit(&w->token, 0, memory_order_relaxed);
  atomic_store_explicit(&w->pid, 0, memory_order_relaxed);
  atomic_store_explicit(&w->tid, 0, memory_order_relaxed);
  atomic_store_explicit(&w->start_ticks, 0, memory_order_relaxed);
  atomic_store_explicit(&w->boot[0], 0, memory_order_relaxed);
  atomic_store_explicit(&w->boot[1], 0, memory_order_relaxed);
  atomic_store_explicit(&w->pid_ns, 0, memory_order_relaxed);
  atomic_store_explicit(&w->file_dev, 0, memory_order_relaxed);
  atomic_store_explicit(&w->file_ino, 0, memory_order_relaxed);
  record_end(w);
}

/* Initialise the shared page once per file. flock() serialises the first
 * openers; it is released by the kernel if an initialiser dies, and a page
 * whose magic was never written is simply initialised again. */
static int init_page(int fd, xlock_page *p) {
  if (atomic_load_explicit(&p->magic, memory_order_acquire) == XLOCK_MAGIC) return 0;
  if (flock(fd, LOCK_EX) != 0) return -1;
  int rc = 0;
  uint64_t m = atomic_load_explicit(&p->magic, memory_order_acquire);
  if (m == 0) {
    atomic_store_explicit(&p->waiting, 0, memory_order_relaxed);
    atomic_store_explicit(&p->owner, 0, memory_order_relaxed);
    atomic_store_explicit(&p->streak, 0, memory_order_relaxed);
    atomic_store_explicit(&p->turn, 0, memory_order_relaxed);
    atomic_store_explicit(&p->wake, 0, memory_order_relaxed);
    atomic_store_explicit(&p->gen, 0, memory_order_relaxed);
    for (size_t i = 0; i < SLOTS; i++) clear_owner(&p->slot[i].who);
    rc = init_mutex(&p->slot[0].mu);
    if (!rc) atomic_store_explicit(&p->magic, XLOCK_MAGIC, memory_order_release);
  } else if (m != XLOCK_MAGIC) {
    rc = -1; /* another layout: do not touch it */
  }
  flock(fd, LOCK_UN);
  return rc;
}

ms_xlock *ms__store_xlock_open(const char *db_path) {
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
  if (fd < 0) {
    free(path);
    ms__log(MS_LOG_DEBUG, "store '%s': no writer queue file; relying on SQLite's busy handling", db_path);
    return NULL;
  }
  ms_xlock *x = NULL;
  size_t len = (size_t)sysconf(_SC_PAGESIZE);
  if (len < sizeof(xlock_page)) len = sizeof(xlock_page);
  struct stat st;
  /* A fresh file reads as zeros once extended: magic 0 = not initialised. */
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      (st.st_size >= (off_t)len || ftruncate(fd, (off_t)len) == 0)) {
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
      if (init_page(fd, map) == 0 && (x = calloc(1, sizeof *x))) {
        x->page = map;
        x->map_len = len;
        x->path = path;
        x->dev = (uint64_t)st.st_dev;
        x->ino = (uint64_t)st.st_ino;
        path = NULL;
      } else {
        munmap(map, len);
      }
    }
  }
  close(fd); /* the mapping keeps the page; no lock lives on the descriptor */
  free(path);
  if (!x) ms__log(MS_LOG_DEBUG, "store '%s': no writer queue file; relying on SQLite's busy handling", db_path);
  return x;
}

void ms__store_xlock_close(ms_xlock *x) {
  if (!x) return;
  munmap(x->page, x->map_len);
  free(x->path);
  free(x);
}

/* ---- taking turns ------------------------------------------------------------- */

static int locked(xlock_slot *sl, int e) {
  if (e == EOWNERDEAD) {
    /* The holder died mid-transaction; SQLite rolls its work back on its own,
     * so the lock itself is all that needs repair. */
    pthread_mutex_consistent(&sl->mu);
    ms__log(MS_LOG_INFO, "store: a writer process died holding the writer queue; recovered");
    return 0;
  }
  return e;
}

static void wake_a_waiter(xlock_page *p) {
  atomic_fetch_add_explicit(&p->wake, 1, memory_order_release);
  ms__futex_wake(&p->wake, 1, MS__FUTEX_SHARED);
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

/* Account for an acquisition by process `me` through x: the owner record,
 * then the turn: a new owner starts a streak (and wakes whoever stepped aside
 * for it); the same owner lengthens it while someone waits. */
static void took(ms_xlock *x, uint32_t me, int32_t tid) {
  xlock_page *p = x->page;
  record_owner(x, x->held, me, tid);
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

/* One try at the mutex of the current generation: 0 (then x->held is set),
 * EBUSY, ENOTRECOVERABLE or another error; *gen is the generation tried. */
static int try_take(ms_xlock *x, uint32_t *gen) {
  xlock_page *p = x->page;
  for (;;) {
    uint32_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
    xlock_slot *sl = &p->slot[g % SLOTS];
    int e = locked(sl, pthread_mutex_trylock(&sl->mu));
    if (e == 0 && atomic_load_explicit(&p->gen, memory_order_acquire) != g) {
      pthread_mutex_unlock(&sl->mu); /* a recovery moved everyone on meanwhile */
      continue;
    }
    if (e == 0) x->held = sl;
    *gen = g;
    return e;
  }
}

static int held_by_caller(xlock_slot *sl, uint32_t me, int32_t tid) {
  return atomic_load_explicit(&sl->who.held, memory_order_relaxed) &&
         atomic_load_explicit(&sl->who.token, memory_order_relaxed) == me &&
         atomic_load_explicit(&sl->who.tid, memory_order_relaxed) == tid;
}

/* Generation g's holder was judged impossible (`seen` is its record then):
 * move every writer to a fresh mutex, which we take. Under flock() on the
 * file, so of several processes that judge at once one recovers and the
 * others find the generation moved on; the judgement is made again under it,
 * against the same record. Returns 0 (we hold a lock), EAGAIN (the generation
 * moved: try again), or EBUSY. */
static int recover(ms_xlock *x, uint32_t g, const snap *seen, int full, int unrecoverable, const char *why,
                   const char *store_path) {
  xlock_page *p = x->page;
  int fd = open(x->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return EBUSY;
  struct stat st;
  int e = EBUSY;
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != x->dev || (uint64_t)st.st_ino != x->ino) {
    close(fd); /* the path names another file now: nothing of ours to repair */
    return EBUSY;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd); /* someone else is recovering it; look again in a moment */
    return EBUSY;
  }
  uint32_t now = atomic_load_explicit(&p->gen, memory_order_acquire);
  xlock_slot *old = &p->slot[g % SLOTS];
  if (now != g) {
    e = EAGAIN;
  } else if ((e = locked(old, pthread_mutex_trylock(&old->mu))) == 0) {
    x->held = old; /* it came free meanwhile: it was not stale after all */
  } else if (e == EBUSY || e == ENOTRECOVERABLE) {
    snap again;
    char why2[320];
    snapshot(&old->who, &again);
    int still = unrecoverable ? e == ENOTRECOVERABLE
                              : again.seq == seen->seq && impossible(x, &again, full, why2, sizeof why2);
    e = EBUSY;
    if (still) {
      uint32_t next = g + 1;
      xlock_slot *sl = &p->slot[next % SLOTS];
      clear_owner(&sl->who);
      if (init_mutex(&sl->mu) == 0 && pthread_mutex_trylock(&sl->mu) == 0) {
        x->held = sl;
        atomic_store_explicit(&p->gen, next, memory_order_release);
        e = 0;
        ms__log(MS_LOG_WARN,
                "store '%s': writer queue '%s': held by %s; recovered it (generation %u)",
                store_path, x->path, why, (unsigned)next);
      }
    }
  }
  flock(fd, LOCK_UN);
  close(fd);
  if (e == 0 && x->held != old) { /* everyone waiting on the old mutex moves over */
    atomic_fetch_add_explicit(&p->wake, 1, memory_order_release);
    ms__futex_wake(&p->wake, INT_MAX, MS__FUTEX_SHARED);
  }
  return e;
}

/* Judge generation g's holder, recovering the lock when it cannot exist.
 * Returns 0 (we hold a lock), EAGAIN or EBUSY as recover(). */
static int check_holder(ms_xlock *x, uint32_t g, int unrecoverable, const char *store_path) {
  xlock_slot *sl = &x->page->slot[g % SLOTS];
  char why[320];
  snap o;
  snapshot(&sl->who, &o);
  int full = 0, stale = 0;
  if (unrecoverable) {
    snprintf(why, sizeof why, "a writer that died before repairing it (the mutex is not recoverable)");
    stale = 1;
  } else if (!o.torn && o.held) {
    x->unrec_since = 0;
    full = 1;
    stale = impossible(x, &o, 1, why, sizeof why);
  } else {
    int64_t now = ms_clock_monotonic_us();
    if (!x->unrec_since || x->unrec_gen != g || x->unrec_seq != o.seq) {
      x->unrec_gen = g;
      x->unrec_seq = o.seq;
      x->unrec_since = now;
    } else if (now - x->unrec_since >= UNRECORDED_US) {
      stale = impossible(x, &o, 0, why, sizeof why);
    }
  }
  if (!stale) return EBUSY;
  int e = recover(x, g, &o, full, unrecoverable, why, store_path);
  if (e != EBUSY) x->unrec_since = 0;
  return e;
}

/* Wait for the lock as a registered waiter until the deadline. */
static int wait_for(ms_xlock *x, uint32_t me, int32_t tid, int64_t timeout_us, const char *store_path) {
  xlock_page *p = x->page;
  int64_t start = ms_clock_monotonic_us();
  int64_t deadline = start + timeout_us, next_check = start + CHECK_US;
  for (;;) {
    uint32_t seq = atomic_load_explicit(&p->wake, memory_order_acquire), g;
    int e = try_take(x, &g);
    if (e != EBUSY && e != ENOTRECOVERABLE) return e;
    if (e == EBUSY && held_by_caller(&p->slot[g % SLOTS], me, tid))
      return EDEADLK; /* this thread holds it, through another handle */
    int64_t now = ms_clock_monotonic_us();
    if (e == ENOTRECOVERABLE || now >= next_check || now >= deadline) {
      e = check_holder(x, g, e == ENOTRECOVERABLE, store_path);
      if (e == 0) return 0;
      if (e == EAGAIN) continue;
      now = ms_clock_monotonic_us();
      next_check = now + RECHECK_US;
      if (now >= deadline) return ETIMEDOUT;
    }
    int64_t nap = deadline - now < SLICE_US ? deadline - now : SLICE_US;
    ms__futex_wait(&p->wake, seq, nap, MS__FUTEX_SHARED);
    for (int64_t until = ms_clock_monotonic_us() + SPIN_US; ms_clock_monotonic_us() < until;) {
      ms__cpu_relax();
      if ((e = try_take(x, &g)) != EBUSY) break;
    }
    if (e == 0) return 0;
  }
}

int ms__store_xlock_acquire(ms_xlock *x, int64_t timeout_us, const char *store_path) {
  xlock_page *p = x->page;
  uint32_t me = process_token();
  int32_t tid = my_tid();
  uint32_t g;
  step_aside(p, me);
  int e = try_take(x, &g);
  if (e == EBUSY || e == ENOTRECOVERABLE) {
    atomic_fetch_add_explicit(&p->waiting, 1, memory_order_relaxed);
    e = wait_for(x, me, tid, timeout_us, store_path);
    /* never below zero, should a stale count have been forgotten meanwhile */
    int32_t w = atomic_load_explicit(&p->waiting, memory_order_relaxed);
    while (w > 0 && !atomic_compare_exchange_weak_explicit(&p->waiting, &w, w - 1, memory_order_relaxed,
                                                           memory_order_relaxed)) {
    }
  }
  if (e == 0) took(x, me, tid);
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

void ms__store_xlock_release(ms_xlock *x, int more_coming) {
  xlock_page *p = x->page;
  xlock_slot *sl = x->held;
  if (!sl) return;
  x->held = NULL;
  record_release(sl);
  pthread_mutex_unlock(&sl->mu);
  /* With more writes of ours queued we take it again at once (until the
   * quota, when took() has already woken a waiter); otherwise let one in. */
  if (!more_coming && atomic_load_explicit(&p->waiting, memory_order_relaxed) > 0) wake_a_waiter(p);
}

int32_t ms__store_xlock_waiters(const ms_xlock *x) { return atomic_load(&x->page->waiting); }

uint32_t ms__store_xlock_generation(const ms_xlock *x) { return atomic_load(&x->page->gen); }

void ms__store_xlock_test_forget_owner(ms_xlock *x) {
  if (x && x->held) record_release(x->held);
}
