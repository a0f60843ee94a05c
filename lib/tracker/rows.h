/* Internal: the tracker's rows — the leaf every tracker call is built on.
 *
 * Three tables (schema.c) hold the sets:
 *   tracker_sessions  one row per session: its class, its lease end and the
 *                     list of its scopes (a blob: the sorted names, each
 *                     followed by a NUL byte);
 *   tracker_members   one row per (scope, class, lease end, session), keyed in
 *                     that order, so a pair's members are one range of the
 *                     key and its expired members the front of that range;
 *                     after them the pair's own row (lease end INT64_MAX,
 *                     session ''), beside the newest members, the ones
 *                     admissions add: `n`, the number of its member rows,
 *                     expired ones included until they are purged, and
 *                     `max_sessions`, a copy of its limit (NULL: none);
 *   tracker_limits    the limits themselves, one row per limited pair.
 * `n` is changed in the same transaction as the rows it counts, so it is
 * exact after any crash, and beside them, so a commit touches few pages. A
 * pair's live count at now_us is `n` minus
 * its members whose lease ended at or before now_us: the front of its key
 * range, empty once they are purged. While a tick holds the store, count
 * changes go to its tally (tally.h) and are written before its COMMIT.
 *
 * The lease rule lives here once: a session has no lease when its lease end
 * is 0, and is live at now_us while now_us < lease end (ms__tracker_live;
 * MS_TRACKER_SQL_EXPIRED in SQL).
 *
 * Every function runs inside the caller's store lock (reads) or open write
 * transaction (writes) and uses the store's statement cache. On failure a
 * write function may have done part of its work: the caller undoes the
 * transaction or savepoint it runs in. */
#ifndef MS_TRACKER_ROWS_H
#define MS_TRACKER_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "tracker/tracker_internal.h"

/* Is a session with lease end `expires_us` live at now_us? */
static inline int ms__tracker_live(int64_t expires_us, int64_t now_us) {
  return expires_us == 0 || now_us < expires_us;
}

/* The same rule in SQL: the rows whose lease ended at or before the
 * parameter `now` (e.g. "?3"). The literal "expires_us > 0" also lets a
 * query of tracker_sessions use its partial index. */
#define MS_TRACKER_SQL_EXPIRED(now) "expires_us > 0 AND expires_us <= " now

/* A pair's own row in tracker_members: the key after all of its members'
 * (a member's lease end may be INT64_MAX too; its session is never ''). */
#define MS_TRACKER_SQL_PAIR_KEY "9223372036854775807"
#define MS_TRACKER_SQL_PAIR_ROW "expires_us = " MS_TRACKER_SQL_PAIR_KEY " AND session = ''"
/* Member rows only, not the pairs' own. */
#define MS_TRACKER_SQL_MEMBER "session <> ''"
/* The expired members (the pair rows sort last but are never members). */
#define MS_TRACKER_SQL_EXPIRED_MEMBER(now) MS_TRACKER_SQL_MEMBER " AND " MS_TRACKER_SQL_EXPIRED(now)

/* The lease end of a lease of lease_us taken at now_us (0: no lease). The
 * caller has checked that the sum is representable. */
static inline int64_t ms__tracker_lease_end(int64_t lease_us, int64_t now_us) {
  return lease_us > 0 ? now_us + lease_us : 0;
}

/* Bytes of a scope list blob at most: every name and its NUL. */
#define MS_TRACKER_BLOB_MAX (MS_TRACKER_MAX_SCOPES * (MS_TRACKER_NAME_MAX + 1))

/* A session row, its scope list decoded (sorted, pointing into blob). */
typedef struct ms__tracker_session {
  int cls;
  int64_t expires_us;
  size_t n;
  const char *scope[MS_TRACKER_MAX_SCOPES];
  size_t blob_len;
  char blob[MS_TRACKER_BLOB_MAX];
} ms__tracker_session;

/* A (scope, class) pair's row: exists = 0 when it has none (no limit, no
 * members); limit MS_UNLIMITED when none is set; members: its `n`. */
typedef struct ms__tracker_pair {
  int exists;
  int64_t limit;
  int64_t members;
} ms__tracker_pair;

/* Sort and de-duplicate n names into out (room for n); returns how many
 * remain. strcmp order is SQLite's BINARY collation. */
size_t ms__tracker_sort_scopes(const char *const *names, size_t n, const char **out);

/* Look session `sid` up: *found = 0 when it has no row (then *out is not
 * written). A row whose scope list cannot be decoded is MS_ECORRUPT. */
int ms__tracker_session_get(ms_tracker *t, const char *sid, ms__tracker_session *out, int *found);

/* Add session `sid` of class cls with lease end expires_us to the n sorted,
 * distinct scopes (pair[i] describes scope[i] as read in this transaction;
 * counted[i]: the session is already in that pair's count). On failure
 * everything it wrote is taken back again; *undone = 0 when even that failed
 * (then only rolling the transaction back restores it). */
int ms__tracker_session_hold(ms_tracker *t, const char *sid, int cls, int64_t expires_us,
                             const char *const *scope, const ms__tracker_pair *pair, const unsigned char *counted,
                             size_t n, int *undone);

/* Count one more member into pair (scope, cls) if it has room by its rows
 * (no limit, or fewer rows than the limit): *bumped = 1; else nothing
 * changes and *bumped = 0 (no row, or at its limit by its rows). */
int ms__tracker_pair_bump(ms_tracker *t, const char *scope, int cls, int *bumped);
/* Where other hosts admit at the same time (ms__store_locks_rows): lock the
 * rows of the pairs sorted[0..k) of class cls, in that (sorted) order, making
 * the rows that are missing (a count of 0, no limit), so the admission that
 * follows decides on counts no other host can change before it commits. Every
 * writer of pair rows takes them in sorted order: no deadlock between hosts. */
int ms__tracker_pairs_lock(ms_tracker *t, const char *const *sorted, size_t k, int cls);

/* Remove session `sid` (its row s) from every set. */
int ms__tracker_session_forget(ms_tracker *t, const char *sid, const ms__tracker_session *s);

/* Move session `sid` (its row s) to lease end expires_us. */
int ms__tracker_session_set_expiry(ms_tracker *t, const char *sid, const ms__tracker_session *s,
                                   int64_t expires_us);

/* Replace session `sid`'s row (class cls, lease end expires_us) and its list
 * of scopes with scope[0..n) (sorted, distinct); membership rows and counts
 * are the caller's (reconcile). n == 0 deletes the row. */
int ms__tracker_session_put(ms_tracker *t, const char *sid, int cls, int64_t expires_us, const char *const *scope,
                            size_t n, int exists);

/* Add (add = 1) or delete one membership row, leaving counts alone: the
 * caller recounts (reconcile). *changed = 1 when the row was added or
 * deleted, 0 when it was there already or missing. */
int ms__tracker_member_put(ms_tracker *t, const char *scope, int cls, int64_t expires_us, const char *sid, int add,
                           int *changed);

/* Recompute the rows of scope's pairs (NULL: of every pair): their counts
 * from the members, their limits from tracker_limits; drop those left with
 * neither a limit nor members. */
int ms__tracker_recount(ms_tracker *t, const char *scope);

/* The row of pair (scope, cls). */
int ms__tracker_pair_get(ms_tracker *t, const char *scope, int cls, ms__tracker_pair *out);

/* Members of (scope, cls) whose lease ended at or before now_us, counting at
 * most `cap` of them (cap < 0: all). */
int ms__tracker_pair_expired(ms_tracker *t, const char *scope, int cls, int64_t now_us, int64_t cap, int64_t *n);

/* The live members of (scope, cls) at now_us. */
int ms__tracker_pair_used(ms_tracker *t, const char *scope, int cls, int64_t now_us, int64_t *used);

/* Set the limit of (scope, cls): MS_UNLIMITED clears it (in tracker_limits
 * and in the pair's row). */
int ms__tracker_pair_set_limit(ms_tracker *t, const char *scope, int cls, int64_t limit);
/* The limit of (scope, cls) from tracker_limits; MS_UNLIMITED when none. */
int ms__tracker_limit_get(ms_tracker *t, const char *scope, int cls, int64_t *limit);

/* Forget up to max sessions of (scope, cls) whose lease ended at or before
 * now_us, earliest first; *purged = how many. */
int ms__tracker_purge_pair(ms_tracker *t, const char *scope, int cls, int64_t now_us, size_t max, size_t *purged);

/* Forget up to max sessions of any scope whose lease ended at or before
 * now_us, earliest first. *purged = how many; *next = the earliest lease end
 * left after them as far as it was seen (INT64_MAX: none seen), so
 * *next <= now_us means more are due. */
int ms__tracker_purge_any(ms_tracker *t, int64_t now_us, size_t max, size_t *purged, int64_t *next);

/* Write the count changes a tick gathered in t->tally (tally.h) and forget
 * them; before its COMMIT. */
int ms__tracker_tally_flush(ms_tracker *t);

/* The earliest lease end of any session with a lease; INT64_MAX: none. */
int ms__tracker_earliest_expiry(ms_tracker *t, int64_t *at_us);

#endif
