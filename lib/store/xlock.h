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
 * The lock only orders libmserve's writers; SQLite's own locking still
 * guarantees correctness (other programs writing the file, or a side file
 * that could not be created, fall back to the busy handler). The side file is
 * never deleted: removing it while another process has the store open would
 * only cost that fairness, never data. */
#ifndef MS_STORE_XLOCK_H
#define MS_STORE_XLOCK_H

#include <stdint.h>

typedef struct ms_xlock ms_xlock;

/* Map (creating if needed) the lock beside the database file `db_path`.
 * Returns NULL when the side file cannot be used (read-only folder, another
 * layout version); the caller then relies on SQLite's locking alone. */
ms_xlock *ms__xlock_open(const char *db_path);
void ms__xlock_close(ms_xlock *x);

/* Take the lock, waiting at most timeout_us. MS_OK, MS_EBUSY on timeout or
 * when this thread already holds it, MS_EINTERNAL otherwise (ms_errmsg set,
 * naming `store_path`). */
int ms__xlock_acquire(ms_xlock *x, int64_t timeout_us, const char *store_path);
/* more_coming: this process has more writes queued and will take the lock
 * again at once (then no other process's waiter is woken yet). */
void ms__xlock_release(ms_xlock *x, int more_coming);
/* Writers counted as waiting, in every process (tests). */
int32_t ms__xlock_waiters(const ms_xlock *x);

#endif
