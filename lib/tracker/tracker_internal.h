/* Internal: the tracker's handle and what its files share.
 *
 * The files form a stack, each using only those below it:
 *   tracker.c    the handle, limits, counts and lookups, the purge call
 *   admit.c      admission, release and renewal (one call, one write)
 *   tick.c       tick transactions (many calls, one write)
 *   reconcile.c  replacing the sets with the host's list
 *   rows.c       the rows: every statement on the sets (rows.h)
 *   tally.c      a tick's pairs in memory (tally.h)
 *   check.c      argument checks and the head of every message */
#ifndef MS_TRACKER_INTERNAL_H
#define MS_TRACKER_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mserve/tracker.h"
#include "store/store_internal.h"

/* Longest session id or scope name, in bytes (ms_denial.scope holds 255). */
#define MS_TRACKER_NAME_MAX 255

/* Room for "tracker: <call>: session '<name>'", the head of every message. */
#define MS_TRACKER_WHAT_LEN (96 + MS_TRACKER_NAME_MAX)

typedef struct ms__tracker_tally ms__tracker_tally;

struct ms_tracker {
  ms_store *store;
  /* While a tick of this tracker holds the store: the pairs it touched,
   * their count changes written once at its commit (tally.h); NULL
   * otherwise. `tally_mem` is kept from one tick to the next. */
  ms__tracker_tally *tally, *tally_mem;
  /* Housekeeping: no session of this store is known to expire before this
   * instant, so writes before it skip looking for expired ones to purge.
   * Only a hint (other handles add sessions too): counts never depend on
   * it. Atomic because a tick's end resets it after leaving the store. */
  _Atomic int64_t purge_due_us;
};

/* The purge hint (relaxed: only ever a hint). */
static inline int64_t ms__tracker_purge_due(const ms_tracker *t) {
  return atomic_load_explicit(&t->purge_due_us, memory_order_relaxed);
}
static inline void ms__tracker_set_purge_due(ms_tracker *t, int64_t at_us) {
  atomic_store_explicit(&t->purge_due_us, at_us, memory_order_relaxed);
}
/* A session of this store's now ends at at_us (0: no lease): due no later. */
static inline void ms__tracker_purge_due_by(ms_tracker *t, int64_t at_us) {
  if (at_us > 0 && at_us < ms__tracker_purge_due(t)) ms__tracker_set_purge_due(t, at_us);
}

/* ---- check.c ---------------------------------------------------------------- */

/* "tracker: <call>: <kind> '<name>'" into what (MS_TRACKER_WHAT_LEN bytes)
 * once name is a valid name; otherwise MS_EINVAL naming the call. */
int ms__tracker_what(char *what, const char *call, const char *kind, const char *name);
/* Argument checks; each fails through ms__fail with a message that starts
 * with `what`. */
int ms__tracker_check_name(const char *what, const char *kind, const char *name);
int ms__tracker_check_class(const char *what, int cls);
int ms__tracker_check_scopes(const char *what, const char *const *scopes, size_t n_scopes);
/* now_us >= 0, lease_us >= 0 and now_us + lease_us representable. */
int ms__tracker_check_time(const char *what, int64_t lease_us, int64_t now_us);
/* Make a failed call's message name the call: a message that does not start
 * with `what` (one from the store: "store 'x.db': ...") gets it in front.
 * Returns st; MS_OK passes through untouched. */
int ms__tracker_failed(const char *what, int st);

/* ---- admit.c: the operations, inside an open write transaction ------------- */

/* Admit one session (the arguments checked). On MS_ELIMIT *denial is filled.
 * Every check runs before the first write; on a failure after it *undone
 * says whether the writes were taken back (see ms__tracker_session_hold). */
int ms__tracker_admit_in(ms_tracker *t, const char *what, const char *sid, int cls, const char *const *scopes,
                         size_t n, int64_t lease_us, int64_t now_us, ms_denial *denial, int *undone);
/* Release one session: *was_held = 1 when it was live at now_us. */
int ms__tracker_release_in(ms_tracker *t, const char *sid, int64_t now_us, int *was_held);

#endif
