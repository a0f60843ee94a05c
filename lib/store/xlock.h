/* Internal: the cross-process writer lock of a store file.
 *
 * SQLite lets one writer at a time into a WAL database and makes the others
 * poll through the busy handler; a poller that sleeps misses the short gaps
 * between another process's back-to-back transactions, so under contention
 * one process starves the other and tail latency grows to milliseconds.
 * Writers of libmserve therefore queue on a process-shared, robust mutex kept
 * in a small side file, `<database>-mslock`, before they ask SQLite for its
 * write lock: a waiter sleeps in the kernel and is woken the moment the
 * holder releases, and a holder killed mid-transaction hands the lock on
 * (EOWNERDEAD) instead of wedging it.
 *
 * The kernel hands a robust mutex on only when its owner exits on this
 * machine, in this boot, holding this very file. A copy of the file taken
 * while it was held (a backup, a VM or volume snapshot, what a power loss
 * leaves) names an owner that can never release it. So next to the mutex
 * each holder writes who it is: boot id, pid namespace, pid and process start
 * time, and the identity (device, inode) of the lock file it mapped. A waiter
 * that has waited a little reads that record and recognises an owner that
 * cannot exist: another boot (or machine), another file (a copy), or, in its
 * own pid namespace, a pid that is gone or now names a process started at
 * another time. It then moves every writer over to a fresh mutex in the same
 * page (a new generation), under an flock() on the file so that two
 * processes discovering it at once recover it once, and logs a WARN.
 *
 * The lock only orders libmserve's writers; SQLite's own locking still
 * guarantees correctness (other programs writing the file, or a side file
 * that could not be created, fall back to the busy handler), so even a wrong
 * recovery could only cost fairness, never data. The side file is never
 * deleted: removing it while another process has the store open would only
 * cost that fairness, never data. */
#ifndef MS_STORE_XLOCK_H
#define MS_STORE_XLOCK_H

#include <stdint.h>

typedef struct ms_xlock ms_xlock;

/* Map (creating if needed) the lock beside the database file `db_path`.
 * Returns NULL when the side file cannot be used (read-only folder, another
 * layout version); the caller then relies on SQLite's locking alone. */
ms_xlock *ms__store_xlock_open(const char *db_path);
void ms__store_xlock_close(ms_xlock *x);

/* Take the lock, waiting at most timeout_us (a holder that cannot exist is
 * recognised and the lock recovered within it, even with a timeout of 0).
 * MS_OK, MS_EBUSY on timeout or when this thread already holds it,
 * MS_EINTERNAL otherwise (ms_errmsg set, naming `store_path`). */
int ms__store_xlock_acquire(ms_xlock *x, int64_t timeout_us, const char *store_path);
/* more_coming: this process has more writes queued and will take the lock
 * again at once (then no other process's waiter is woken yet). */
void ms__store_xlock_release(ms_xlock *x, int more_coming);
/* Writers counted as waiting, in every process (tests). */
int32_t ms__store_xlock_waiters(const ms_xlock *x);
/* Times the lock of this file was recovered from a holder that could not
 * exist (tests). */
uint32_t ms__store_xlock_generation(const ms_xlock *x);

/* Tests: what this process records about itself when it takes a lock, to
 * play an owner of another boot or a pid that was reused. Fields left 0 keep
 * the real value; NULL restores the real identity. */
typedef struct ms__store_xlock_identity {
  uint64_t boot_id[2];  /* /proc/sys/kernel/random/boot_id as two words */
  uint64_t pid_ns;      /* inode of /proc/self/ns/pid */
  int32_t pid;
  uint64_t start_ticks; /* process start, clock ticks after boot */
} ms__store_xlock_identity;
void ms__store_xlock_test_identity(const ms__store_xlock_identity *id);
/* Tests: mark the record of the lock held through x as released, as if its
 * holder had died between taking the mutex and writing the record. */
void ms__store_xlock_test_forget_owner(ms_xlock *x);

#endif
