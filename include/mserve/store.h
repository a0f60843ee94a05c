/*
 * libmserve — the store: one SQLite database shared by every part.
 *
 * A store is a file path (several processes may open the same file) or
 * ":memory:" (private to one handle). The database runs in WAL mode with
 * synchronous=NORMAL, or FULL with MS_STORE_DURABLE, foreign keys on; its
 * schema is migrated atomically on open, keyed on PRAGMA user_version.
 *
 * Thread safety: an ms_store may be used from several threads at once, and
 * nothing of it is bound to the thread that opened it. Work on one handle is
 * serialized in-process; one-shot writes that several threads make at once
 * are committed together in one transaction (group commit: each in its own
 * savepoint, so each succeeds or fails alone), and may be carried out by
 * another of the writing threads. A thread that holds the store in an open
 * transaction (a tracker tick: the thread that began it or worked in it
 * last) and calls into it again gets MS_EBUSY at once rather than waiting
 * for itself; other threads wait for a tick up to the busy timeout, then
 * get MS_EBUSY too. Writers of several processes queue
 * on a robust process-shared mutex kept in a small side file,
 * "<path>-mslock", so a waiter is woken as soon as the holder finishes (and
 * a holder killed mid-write passes the lock on); without that file, and
 * against programs other than libmserve, a busy handler polls in short
 * sub-millisecond steps. A transaction that spans calls and may move between
 * threads (a tracker tick) leaves that queue as soon as it holds SQLite's
 * write lock, so while it is open another process's next writer waits for
 * it in those polls. Either wait ends after the busy timeout (default
 * 5 s) with MS_EBUSY. The side file, like SQLite's "-wal" and "-shm", belongs
 * with the database; it may be deleted while no process has the store open.
 * A side file copied while a writer held it (a backup, a VM or volume
 * snapshot, what a power loss leaves) names a holder that cannot exist here:
 * one of another boot or machine, of another file, or a process that is gone
 * or whose pid was reused. The first writer to wait for it recognises that and
 * recovers the lock within its busy timeout (0 included), logging a WARN
 * through ms_set_log; a live holder is always waited for.
 *
 * Damage: a database whose schema lacks a table, index or column libmserve
 * needs, or whose schema version is impossible, is MS_ECORRUPT with the
 * missing piece named, both when it is opened and when an operation finds the
 * piece gone later (e.g. "store 'x.db': ...: table 'tracker_members' is
 * missing"); MS_EINTERNAL is kept for bugs in libmserve itself.
 *
 * Messages of the calls below start "store: <call>: '<path>': " (see
 * ms_errmsg); the store's failures inside another part's call are wrapped by
 * that part ("tracker: ms_tracker_admit: session 's1': store 'x.db': ...").
 *
 * Stability: everything in this header is Stable (common.h says what that
 * promises while the version is 0.x).
 */
#ifndef MSERVE_STORE_H
#define MSERVE_STORE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_store ms_store;

/* Flags of ms_store_open (Stable).
 * MS_STORE_DURABLE: fsync every commit; the default is WAL +
 * synchronous=NORMAL, which can lose the last commits on power loss (never
 * on a process crash). */
#define MS_STORE_DURABLE 1u
/* Open an existing database only; never create one. */
#define MS_STORE_NOCREATE 2u
/*
 * Open an existing database for reading only (implies MS_STORE_NOCREATE), so
 * a store this process may not write (a read-only file, folder or mount, or
 * someone else's) can still be inspected. Nothing is ever written: not the
 * database, not its schema (it is never migrated: a schema older than this
 * library's is MS_EUNSUPPORTED, as is a newer one), not the "-mslock" side
 * file. Every write through such a store (and everything over it: tracker,
 * registry, autoscaler) fails with MS_EINVAL, "opened read-only
 * (MS_STORE_READONLY)", and changes nothing; ms_store_checkpoint too.
 * Reads see what other processes commit, as with any store. When SQLite's
 * "-shm" index of the write-ahead log is missing and cannot be created (a
 * read-only folder or mount), the database is read as an immutable file if
 * its "-wal" log is absent or empty (the last writer closed it cleanly), and
 * read normally again once a writer's log appears; a log that still holds
 * commits cannot be read without the index there, and is refused with
 * MS_EIO rather than read without them.
 */
#define MS_STORE_READONLY 4u

/*
 * ms_store_open - open (creating it unless MS_STORE_NOCREATE) the database at
 * `path` and migrate it to the current schema.
 * On success *out owns the store; free it with ms_store_close, after closing
 * every object opened over it.
 * A database already at the current schema is only read and checked, so
 * opening it never waits for another process's writer; migrating takes the
 * write lock, as a write does.
 * Errors: MS_EINVAL (NULL argument, unknown flag), MS_ENOTFOUND (no such
 * file, with MS_STORE_NOCREATE or MS_STORE_READONLY), MS_EIO (the file or its
 * folder cannot be created or written, e.g. a read-only file without
 * MS_STORE_READONLY), MS_ECORRUPT (not a database, or a damaged one: a table,
 * index or column of the schema missing, an impossible schema version such
 * as a negative one, or one that does not match the tables; the message names
 * the damage, and the file is left as it was), MS_EUNSUPPORTED (written by a
 * newer libmserve schema, another application's SQLite database, or, with
 * MS_STORE_READONLY, one that would need migrating), MS_EBUSY (another
 * process held the database past the busy timeout), MS_ENOMEM. *out is
 * untouched on failure. Thread safe (opens a new handle). Stable.
 * PostgreSQL: a path starting "postgresql://" or "postgres://" is a libpq
 * connection URI, and the store is that database, shared by every host that
 * opens it, with the same API and guarantees. Messages show the URI with its
 * password masked. Errors then: MS_EINVAL (a URI libpq cannot parse), MS_EIO
 * (no connection, with libpq's message; a connection lost later is made again
 * at the next call, which it failed with MS_EIO), MS_EUNSUPPORTED (a newer
 * schema, or a schema holding another application's tables). Two hosts
 * opening a fresh database at once migrate it once (an advisory lock).
 * Connections: the handle's writes (group-committed) and transactions share
 * one connection; the handle also keeps a pool from which reads that need
 * no write lock borrow connections of their own, to run beside them (in
 * this version the store's internal reads; the parts' calls still share the
 * first connection). The URI parameter pool_max=N (1..64,
 * default 4; libmserve's own, taken out before libpq sees the URI) bounds
 * the connections one handle opens to the server, the first included;
 * pool_max=1 shares the one connection for everything. Each pooled
 * connection prepares its own statements and is connected again at the
 * next call after it was lost. A bad value is MS_EINVAL.
 * MS_STORE_DURABLE and ms_store_checkpoint are the server's business there.
 */
MS_API int ms_store_open(const char *path, unsigned flags, ms_store **out);

/*
 * ms_store_close - close the store. NULL is a no-op. Objects opened over the
 * store must be closed first (a tick still open is rolled back). Not to be
 * called while another thread uses it. Stable.
 */
MS_API void ms_store_close(ms_store *store);

/*
 * ms_store_set_busy_timeout - how long an operation waits for another process
 * holding the write lock, or for a tracker tick open on this handle, before
 * it fails with MS_EBUSY (default 5 s; 0 = fail at once). Thread safe.
 * Errors: MS_EINVAL for a NULL store or a negative timeout. Stable.
 */
MS_API int ms_store_set_busy_timeout(ms_store *store, int64_t timeout_us);

/*
 * ms_store_schema_version - the schema version of the open database (the
 * PRAGMA user_version libmserve migrated it to). Thread safe.
 * Errors: MS_EINVAL for NULL arguments, MS_EBUSY (the calling thread holds
 * the store in an open transaction), MS_ECORRUPT, MS_EIO. Stable.
 */
MS_API int ms_store_schema_version(ms_store *store, int64_t *version);

/*
 * ms_store_checkpoint - copy the write-ahead log back into the database file
 * now (a PASSIVE checkpoint: it never blocks writers, and copies what no
 * reader still needs). The store does this by itself whenever the log passes
 * the auto-checkpoint threshold, in the thread that finds it due, outside the
 * store's lock; a host that would rather do it from an idle moment or a
 * thread of its own sets the threshold to 0 and calls this. On success
 * *frames_left (may be NULL) is the number of log frames not yet copied back
 * (another process's reader may pin some). A no-op for ":memory:". Thread
 * safe; concurrent calls of one process run one after the other.
 * Errors: MS_EINVAL for a NULL store or one opened with MS_STORE_READONLY,
 * MS_EBUSY, MS_EIO, MS_ECORRUPT, MS_ENOMEM. Stable.
 */
MS_API int ms_store_checkpoint(ms_store *store, int64_t *frames_left);

/*
 * ms_store_set_autocheckpoint - the log size, in frames (pages), past which
 * a write of this handle triggers a checkpoint (default 1000, SQLite's own;
 * 0 = never automatically: the host calls ms_store_checkpoint). Thread safe.
 * Errors: MS_EINVAL for a NULL store or a negative count. Stable.
 */
MS_API int ms_store_set_autocheckpoint(ms_store *store, int64_t frames);

/* ms_store_latest_schema - the schema version this library writes (the
 * PRAGMA user_version of a store it created or migrated). Thread safe.
 * Stable. */
MS_API int64_t ms_store_latest_schema(void);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_STORE_H */
