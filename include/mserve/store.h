/*
 * libmserve — the store: one SQLite database shared by every part.
 *
 * A store is a file path (several processes may open the same file) or
 * ":memory:" (private to one handle). The database runs in WAL mode with
 * synchronous=NORMAL, or FULL with MS_STORE_DURABLE, foreign keys on; its
 * schema is migrated atomically on open, keyed on PRAGMA user_version.
 *
 * Thread safety: an ms_store may be used from several threads at once. Work
 * on one handle is serialized in-process; waiting on other processes uses a
 * busy handler that polls in short sub-millisecond steps until the busy
 * timeout (default 5 s) and then fails with MS_EBUSY.
 */
#ifndef MSERVE_STORE_H
#define MSERVE_STORE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_store ms_store;

/* fsync every commit; the default is WAL + synchronous=NORMAL, which can lose
 * the last commits on power loss (never on a process crash). */
#define MS_STORE_DURABLE 1u
/* Open an existing database only; never create one. */
#define MS_STORE_NOCREATE 2u

/*
 * ms_store_open - open (creating it unless MS_STORE_NOCREATE) the database at
 * `path` and migrate it to the current schema.
 * On success *out owns the store; free it with ms_store_close, after closing
 * every object opened over it.
 * Errors: MS_EINVAL (NULL argument, unknown flag), MS_EIO (the file or its
 * folder cannot be created or written), MS_ECORRUPT (not a database, or a
 * damaged one), MS_EUNSUPPORTED (written by a newer libmserve schema),
 * MS_EBUSY (another process held the database past the busy timeout),
 * MS_ENOMEM. *out is untouched on failure.
 */
MS_API int ms_store_open(const char *path, unsigned flags, ms_store **out);

/*
 * ms_store_close - close the store. NULL is a no-op. Objects opened over the
 * store must be closed first. Not to be called while another thread uses it.
 */
MS_API void ms_store_close(ms_store *store);

/*
 * ms_store_set_busy_timeout - how long an operation waits for another process
 * holding the write lock before it fails with MS_EBUSY (default 5 s;
 * 0 = fail at once). Thread safe.
 * Errors: MS_EINVAL for a NULL store or a negative timeout.
 */
MS_API int ms_store_set_busy_timeout(ms_store *store, int64_t timeout_us);

/*
 * ms_store_schema_version - the schema version of the open database (the
 * PRAGMA user_version libmserve migrated it to). Thread safe.
 * Errors: MS_EINVAL for NULL arguments.
 */
MS_API int ms_store_schema_version(ms_store *store, int64_t *version);

/* ms_store_latest_schema - the schema version this library writes. */
MS_API int64_t ms_store_latest_schema(void);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_STORE_H */
