/*
 * libmserve — the concurrency tracker: session limits counted as sets of
 * session ids.
 *
 * A *scope* names who is limited ("keypair:AK...", "user:...", "project:...",
 * "domain:..."). A session is admitted with one class and counts once against
 * every scope named at admission. A limit belongs to a (scope, class) pair:
 * unset or MS_UNLIMITED = no limit, 0 = admit nothing, N = at most N live
 * sessions. Because the tracker holds session ids, not counters, a retried
 * check never counts twice and a failed check never disturbs other sessions.
 *
 * Names: session ids and scope names are 1..255 bytes (so a scope always fits
 * ms_denial.scope); they are compared byte for byte. Every string and array
 * argument is only read during the call; none is kept after it returns.
 *
 * Time: every call that depends on time takes now_us, Unix-epoch microseconds
 * (ms_clock_realtime_us()), so processes sharing a database agree on leases.
 * A lease (lease_us > 0) expires at now_us >= admitted_us + lease_us; from
 * that instant the session no longer counts anywhere and is no longer held,
 * even before its rows are purged. Purging is housekeeping that changes no
 * answer: later writes purge a few expired sessions each, a reconcile purges
 * them all, and ms_tracker_purge lets a host do it when
 * ms_tracker_next_expiry says some are due. lease_us == 0 = no lease.
 *
 * Cost: admit, release, renew and ms_tracker_get_used take O(log n) in the
 * sessions held (by the scope, by the database): each pair keeps its member
 * count in its own row, changed in the same transaction as the members, so a
 * count is a lookup, never a recount. Expired sessions cost nothing while a
 * pair is below its limit by that count; a pair at its limit counts those of
 * its members that have expired and are not purged yet, and purges up to 32
 * of them when it admits, so that count stays short.
 *
 * Durability: every successful write is one committed SQLite transaction
 * (WAL); it survives a crash (kill -9) of the process. With the default
 * synchronous=NORMAL the last commits can be lost on power loss only.
 *
 * Thread and process safety: an ms_tracker may be used from several threads at
 * once, and several processes may open trackers over the same database file;
 * admissions are serialized by the database's write lock, so they never
 * over-admit together. Admits, releases and renewals that threads of one
 * process make at the same moment are committed together in one transaction
 * (group commit), each in its own savepoint: each call still succeeds or
 * fails alone, sees the effect of those ordered before it, and returns only
 * once its own write is committed. The one exception is a tick transaction
 * (ms_tracker_begin): it holds the store until commit or rollback.
 *
 * Errors: every fallible call returns an ms_status; ms_errmsg() then starts
 * with the part, the call and the object ("tracker: ms_tracker_admit:
 * session 'sess-1': scope #1 is empty"). Bad arguments are MS_EINVAL and are
 * checked before the store is touched, so they change nothing. Output
 * parameters are written only on success, except *denial, written only for
 * MS_ELIMIT.
 *
 * Stability: each function says whether it is Stable (kept as it is within
 * major version 1 once 1.0 is released) or Experimental (may still change in
 * a minor release). Before 1.0 (version 0.x) any of it may change, and the
 * CHANGELOG lists every change.
 */
#ifndef MSERVE_TRACKER_H
#define MSERVE_TRACKER_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_tracker ms_tracker;

/* SYSTEM = sftp/private sessions, limited separately from COMPUTE. */
typedef enum ms_session_class { MS_CLASS_COMPUTE = 0, MS_CLASS_SYSTEM = 1 } ms_session_class;

/* A limit value meaning "no limit" (the same as never setting one). */
#define MS_UNLIMITED (-1)

/* The most scopes one admission may name. */
#define MS_TRACKER_MAX_SCOPES 64

/* Why an admission was denied: the first full scope in the caller's order,
 * its limit and its live count at that moment. Fixed layout; never changes. */
typedef struct ms_denial {
  char scope[256];
  int64_t limit;
  int64_t used;
} ms_denial;

/*
 * ms_tracker_open - a tracker over `store` (whose schema already holds the
 * tracker's tables). On success *out owns the tracker; close it with
 * ms_tracker_close before closing the store (the store is borrowed, not
 * owned). Opening does no I/O. Several trackers may share one store; they
 * share its lock. Thread safe.
 * Errors: MS_EINVAL (NULL argument), MS_ENOMEM. *out untouched on failure.
 * Stable.
 */
MS_API int ms_tracker_open(ms_store *store, ms_tracker **out);

/*
 * ms_tracker_close - free the tracker. NULL is a no-op. No transaction,
 * reconcile or call on it may be in flight (not thread safe against them).
 * Held sessions and limits stay in the database. Stable.
 */
MS_API void ms_tracker_close(ms_tracker *t);

/*
 * ms_tracker_set_limit - set the limit of the pair (scope, cls): MS_UNLIMITED
 * removes it, 0 admits nothing, N > 0 admits at most N live sessions.
 * Lowering a limit below the current count evicts nobody: later admits are
 * denied until enough sessions leave. Durable once it returns. Thread safe.
 * Errors: MS_EINVAL (NULL tracker, bad scope name or class, limit < -1),
 * MS_EBUSY (store locked: by another process past the busy timeout, or by
 * an open tick this thread worked in last), MS_EIO. Stable.
 */
MS_API int ms_tracker_set_limit(ms_tracker *t, const char *scope, ms_session_class cls, int64_t limit);

/*
 * ms_tracker_get_limit - the limit of (scope, cls) into *limit, MS_UNLIMITED
 * when none is set. Reads only. Thread safe.
 * Errors: MS_EINVAL (NULL tracker or limit, bad scope name or class),
 * MS_EBUSY (an open tick this thread worked in last), MS_EIO; *limit is
 * untouched on failure. Stable.
 */
MS_API int ms_tracker_get_limit(ms_tracker *t, const char *scope, ms_session_class cls, int64_t *limit);

/*
 * ms_tracker_admit - admit session_id of class cls into every scope of
 * scopes[0..n_scopes) (duplicates count once), all or nothing, in one
 * transaction.
 *  - Admitted: MS_OK; the session counts against each scope until released or
 *    its lease (lease_us > 0; 0 = none) expires.
 *  - Already held (live) with the same class and the same set of scopes: MS_OK
 *    and nothing changes — in particular the lease is NOT extended (use
 *    ms_tracker_renew). A retried check never counts twice.
 *  - Already held with another class or another set of scopes: MS_ECONFLICT,
 *    nothing changes (release it first to move it). This is checked before
 *    any limit, so it is the answer even when a scope is full: silently
 *    answering MS_OK would let the host believe the session counts in scopes
 *    where it does not.
 *  - A session whose lease expired is not held: it is admitted afresh.
 *  - A pair with a limit N already counting N live sessions: MS_ELIMIT, nothing
 *    changes, the session is in no set, and *denial (when not NULL) holds the
 *    first full scope in the caller's order, its limit and its count.
 * O(log n) (see Cost above). Thread safe; processes sharing the file never
 * over-admit together.
 * Errors: MS_EINVAL (NULL/empty session id or scope, a name over 255 bytes,
 * n_scopes 0 or over MS_TRACKER_MAX_SCOPES, NULL scopes, unknown class,
 * lease_us < 0, now_us < 0, now_us + lease_us overflowing), MS_ELIMIT,
 * MS_ECONFLICT, MS_EBUSY (store locked past the busy timeout, or by an open
 * tick this thread worked in last), MS_ECORRUPT (the tracker's tables
 * disagree: a damaged database; a full reconcile rebuilds them), MS_EIO. On
 * every failure the database is as it was; *denial is written only for
 * MS_ELIMIT. Stable.
 */
MS_API int ms_tracker_admit(ms_tracker *t, const char *session_id, ms_session_class cls,
                            const char *const *scopes, size_t n_scopes, int64_t lease_us, int64_t now_us,
                            ms_denial *denial /* may be NULL */);

/*
 * ms_tracker_release - remove session_id from every set. Idempotent: a session
 * not held is MS_OK too. *was_held (when not NULL) is 1 when the session was
 * held at now_us, 0 when it was unknown, already released, or its lease had
 * expired by now_us (its rows go either way). O(log n). Thread safe.
 * Errors: MS_EINVAL (NULL tracker, NULL/empty/over-long id, now_us < 0),
 * MS_EBUSY, MS_ECORRUPT, MS_EIO; nothing changes and *was_held is untouched
 * on failure. Stable.
 */
MS_API int ms_tracker_release(ms_tracker *t, const char *session_id, int64_t now_us,
                              int *was_held /* may be NULL */);

/*
 * ms_tracker_renew - extend a held session's lease to now_us + lease_us
 * (lease_us == 0 removes the lease: held until released). O(log n). Thread
 * safe.
 * Errors: MS_EINVAL (NULL tracker, bad id, lease_us < 0, now_us < 0,
 * overflow), MS_ENOTFOUND (not held, or its lease already expired at now_us:
 * its slot may have been given away, so admit it again), MS_EBUSY (as for
 * ms_tracker_admit), MS_ECORRUPT, MS_EIO. Nothing changes on failure. There
 * is no renew inside a tick: renew before ms_tracker_begin or after the
 * commit. Stable.
 */
MS_API int ms_tracker_renew(ms_tracker *t, const char *session_id, int64_t lease_us, int64_t now_us);

/*
 * ms_tracker_get_used - the number of sessions of class cls live in scope at
 * now_us (expired leases do not count, purged or not) into *used. Reads only;
 * O(log n) plus the pair's expired members not purged yet. Thread safe.
 * Errors: MS_EINVAL (NULL tracker or used, bad scope or class, now_us < 0),
 * MS_EBUSY (an open tick this thread worked in last), MS_EIO; *used is
 * untouched on failure. Stable.
 */
MS_API int ms_tracker_get_used(ms_tracker *t, const char *scope, ms_session_class cls, int64_t now_us, int64_t *used);

/*
 * ms_tracker_get_held - whether session_id is held and live at now_us: *held is 1
 * or 0; when held, *cls (may be NULL) gets its class and *expires_us (may be
 * NULL) its lease expiry, or 0 when it has no lease. Reads only. Thread safe.
 * Errors: MS_EINVAL (NULL tracker, bad id, NULL held, now_us < 0), MS_EBUSY
 * (an open tick this thread worked in last), MS_ECORRUPT, MS_EIO; the outputs
 * are untouched on failure (and *cls / *expires_us when not held). Stable.
 */
MS_API int ms_tracker_get_held(ms_tracker *t, const char *session_id, int64_t now_us, int *held,
                               ms_session_class *cls /* may be NULL */, int64_t *expires_us /* may be NULL */);

/*
 * ms_tracker_next_expiry - when the tracker is next due: the earliest lease end
 * of the sessions it still has rows for into *at_us, INT64_MAX when no session
 * has a lease. A host sleeps until then to purge (ms_tracker_purge) or to
 * notify the owners of expiring sessions; a value at or before the current
 * time means expired sessions wait to be purged (they count nowhere already).
 * Reads only; O(log n). Thread safe.
 * Errors: MS_EINVAL (NULL argument), MS_EBUSY (an open tick this thread worked
 * in last), MS_EIO; *at_us untouched on failure. Stable.
 */
MS_API int ms_tracker_next_expiry(ms_tracker *t, int64_t *at_us);

/*
 * ms_tracker_purge - forget at most max sessions whose lease ended at or
 * before now_us, earliest first, in one transaction, and put how many into
 * *purged (may be NULL). Changes no count, no answer of any call: expired
 * sessions count nowhere already; it only frees their rows, so that the
 * counts of pairs at their limit stay cheap. *purged < max means none is left
 * due at now_us. O(max log n). Thread safe.
 * Errors: MS_EINVAL (NULL tracker, now_us < 0, max < 1), MS_EBUSY,
 * MS_ECORRUPT, MS_EIO; nothing changes and *purged is untouched on failure.
 * Experimental.
 */
MS_API int ms_tracker_purge(ms_tracker *t, int64_t now_us, int64_t max, int64_t *purged /* may be NULL */);

/*
 * A tick transaction: how a scheduler checks many pending sessions at once.
 * Admits inside it see each other; ms_tracker_txn_commit makes all of them
 * durable at once with one commit, ms_tracker_txn_rollback leaves no trace of
 * any. A tick admit costs its own reads and writes, nothing else: no commit,
 * no savepoint, no recount.
 *
 * Threads: a tick may be used from any thread, so a Go goroutine or a
 * thread pool may carry it on; nothing binds it to the thread that began it.
 * Admits and releases from several threads at once wait for each other;
 * commit and rollback, which free the tick, must not overlap another call on
 * it.
 *
 * Locking: the tick holds the store (the handle's write lock and the
 * database's) from begin until commit or rollback. Meanwhile other threads
 * using the same store wait for it up to the store's busy timeout
 * (ms_store_set_busy_timeout), as other store handles (other processes) do,
 * and then fail with MS_EBUSY naming the open tick: the waiting thread may
 * be working for the host that holds the tick (a Go goroutine whose tick
 * runs on another thread), for whom the wait would never end. The thread
 * that made the tick's latest call gets MS_EBUSY at once from any function
 * but the ms_tracker_txn_* ones on the same store (any tracker over it),
 * instead of waiting for a tick it may be running itself. Keep ticks short.
 *
 * Failures: a denied, conflicting or invalid admit changes nothing and the
 * tick stays usable. If the database rolls the transaction back by itself
 * after an error (disk full, I/O error), or a call fails while writing and
 * its writes cannot be taken back, the tick is dead: later ms_tracker_txn_*
 * calls and ms_tracker_txn_commit fail with MS_ECLOSED; end it with
 * ms_tracker_txn_rollback (or the failing commit) and begin a new one.
 */
typedef struct ms_tracker_txn ms_tracker_txn;

/*
 * ms_tracker_begin - open a tick transaction into *out (BEGIN IMMEDIATE).
 * On success *out owns the tick: end it with exactly one ms_tracker_txn_commit
 * or ms_tracker_txn_rollback, from any thread; both free it.
 * Errors: MS_EINVAL (NULL argument), MS_EBUSY (this thread holds the store
 * through an open tick, or another process held it past the busy timeout),
 * MS_ENOMEM, MS_EIO. *out untouched on failure. Stable.
 */
MS_API int ms_tracker_begin(ms_tracker *t, ms_tracker_txn **out);

/*
 * ms_tracker_txn_admit - ms_tracker_admit inside the tick: same arguments,
 * outcomes and errors (except MS_EBUSY for the lock, already held). It counts
 * the sessions admitted earlier in the same tick; nothing is durable before
 * ms_tracker_txn_commit. A denied, conflicting or invalid admit changes
 * nothing and the transaction stays usable.
 * Errors also: MS_EINVAL (NULL x), MS_ECLOSED (the tick is dead, see above).
 * Stable.
 */
MS_API int ms_tracker_txn_admit(ms_tracker_txn *x, const char *session_id, ms_session_class cls,
                                const char *const *scopes, size_t n_scopes, int64_t lease_us, int64_t now_us,
                                ms_denial *denial /* may be NULL */);

/*
 * ms_tracker_txn_release - ms_tracker_release inside the tick (e.g. to undo
 * one admit of the tick). Same outcomes and errors, plus those of
 * ms_tracker_txn_admit for the tick itself. Stable.
 */
MS_API int ms_tracker_txn_release(ms_tracker_txn *x, const char *session_id, int64_t now_us,
                                  int *was_held /* may be NULL */);

/*
 * ms_tracker_txn_commit - commit the tick and free x (even when the commit
 * fails, in which case the whole tick is rolled back and none of its admits
 * or releases stand).
 * Errors: MS_EINVAL (NULL x), MS_ECLOSED (the tick was dead: nothing of it
 * stands), or the status of the failed COMMIT (MS_EIO, MS_EBUSY, ...). Stable.
 */
MS_API int ms_tracker_txn_commit(ms_tracker_txn *x);

/* ms_tracker_txn_rollback - undo every admit and release of the tick and free
 * x; never fails. NULL is a no-op. From any thread. Stable. */
MS_API void ms_tracker_txn_rollback(ms_tracker_txn *x);

/*
 * Reconcile: replace what the tracker holds with the host's authoritative list
 * of live sessions (the cure for drift that Backend.AI needed a "recalculate
 * usage" job for). The list is collected in memory — the store is not locked
 * while you add to it — and applied in one transaction by ms_reconcile_commit.
 *
 *  - scope == NULL (full): afterwards the tracker holds exactly the listed
 *    sessions with exactly their listed scopes and classes; every scope absent
 *    from the list is emptied; a listed session held with another class is
 *    re-admitted with the listed one (and no lease).
 *  - scope != NULL: only that scope's sets (both classes) change. A listed
 *    session counts only if `scope` is among its scopes; its other scopes are
 *    ignored. A listed session held with another class is MS_ECONFLICT (it
 *    would change other scopes); a session leaving the scope's set that is then
 *    in no set at all is forgotten.
 * Limits are not checked: the list is the truth, even above a limit. Sessions
 * the tracker already held keep their lease; newly added ones have none.
 * Expired sessions are purged first (they counted nowhere already). The
 * member counts of the reconciled pairs (all of them, for a full reconcile)
 * are recomputed from the memberships, so a full reconcile also rebuilds
 * counts a damaged database got wrong.
 * A reconcile object is used by one thread at a time.
 */
typedef struct ms_reconcile ms_reconcile;

/*
 * ms_tracker_reconcile_begin - start collecting the list for `scope` (NULL:
 * every scope) into *out; it owns a copy of scope, and is freed by exactly
 * one ms_reconcile_commit or ms_reconcile_rollback. Touches no store; thread
 * safe. Errors: MS_EINVAL (NULL tracker/out, bad scope name), MS_ENOMEM.
 * *out untouched on failure. Stable.
 */
MS_API int ms_tracker_reconcile_begin(ms_tracker *t, const char *scope /* NULL: every scope */,
                                      ms_reconcile **out);

/*
 * ms_reconcile_add - list one live session with its class and scopes (the
 * strings are copied). Listing a session twice merges its scopes; listing it
 * with two classes makes ms_reconcile_commit fail with MS_ECONFLICT.
 * Errors: MS_EINVAL (same checks as ms_tracker_admit), MS_ENOMEM; the list is
 * unchanged on failure. Stable.
 */
MS_API int ms_reconcile_add(ms_reconcile *r, const char *session_id, ms_session_class cls,
                            const char *const *scopes, size_t n_scopes);

/*
 * ms_reconcile_commit - apply the list in one transaction and free r (always).
 * *added / *removed (each may be NULL) receive the number of memberships — a
 * session counted in one (scope, class) set — that count now and did not
 * before, and that counted before and do not now. O(sessions held + listed).
 * Thread safe w.r.t. other tracker calls.
 * Errors: MS_EINVAL (NULL r, now_us < 0, a session listed with more than
 * MS_TRACKER_MAX_SCOPES scopes), MS_ECONFLICT (a session listed with two
 * classes, or see the scoped rules above), MS_EBUSY (as for ms_tracker_admit,
 * e.g. an open tick this thread worked in last), MS_EIO, MS_ENOMEM. Nothing
 * changes and the outputs are untouched on failure; r is freed either way.
 * Stable.
 */
MS_API int ms_reconcile_commit(ms_reconcile *r, int64_t now_us, int64_t *added /* may be NULL */,
                               int64_t *removed /* may be NULL */);

/* ms_reconcile_rollback - drop the list and free r; nothing changes. NULL is a
 * no-op. Stable. */
MS_API void ms_reconcile_rollback(ms_reconcile *r);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_TRACKER_H */
