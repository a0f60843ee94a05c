/* Admission, release and renewal: the hot path.
 *
 * An admission reads the session's row (a retried check is a no-op), then,
 * in the caller's order, the row of each named pair — its limit and its
 * member count. A pair below its limit by that count admits at once,
 * whatever has expired; only a pair at or over its limit counts its expired
 * members (the front of its key range, counted up to the number that would
 * make room), so the decision is exact at now_us without any purge having
 * run. Then it writes the session row, a member row and a count per scope. A
 * denied or conflicting admit leaves nothing behind — the bug of Backend.AI
 * PR #3064 (add first, then compare with >=, and keep the add) cannot happen
 * — and costs O(log n) like an admitted one.
 *
 * Expired sessions are purged by the writes that come by, a bounded batch
 * each: those of the pairs an admission had to count (so that count stays
 * short), and a few of any scope when the earliest lease end is due. Purging
 * is housekeeping; no count depends on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "tracker/rows.h"

/* Expired sessions of the counted pairs one admission purges at most, and
 * of any scope one write purges at most when some are due. */
#define PURGE_PAIRS_MAX 32
#define PURGE_ANY_MAX 8

/* The index of name in sorted[0..n) (it is there). */
static size_t index_of(const char *const *sorted, size_t n, const char *name) {
  size_t lo = 0, hi = n;
  while (lo + 1 < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(sorted[mid], name) <= 0) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* Purge some expired sessions of any scope when the hint says some are due. */
static int purge_due(ms_tracker *t, int64_t now_us) {
  if (now_us < ms__tracker_purge_due(t)) return MS_OK;
  size_t purged = 0;
  int64_t next = INT64_MAX;
  int st = ms__tracker_purge_any(t, now_us, PURGE_ANY_MAX, &purged, &next);
  if (!st) ms__tracker_set_purge_due(t, next);
  return st;
}

static int conflict(const char *what, const ms__tracker_session *held, int cls, const char *const *sorted, size_t k) {
  if (held->cls != cls)
    return ms__fail(MS_ECONFLICT,
                    "%s: the session is already held as a %s session, not %s; nothing changed (release it first "
                    "to admit it again)",
                    what, held->cls ? "system" : "compute", cls ? "system" : "compute");
  int same = held->n == k;
  for (size_t i = 0; same && i < k; i++) same = strcmp(held->scope[i], sorted[i]) == 0;
  if (!same)
    return ms__fail(MS_ECONFLICT,
                    "%s: the session is already held with a different set of scopes; nothing changed (release it "
                    "first to admit it again)",
                    what);
  return MS_OK;
}

int ms__tracker_admit_in(ms_tracker *t, const char *what, const char *sid, int cls, const char *const *scopes,
                         size_t n, int64_t lease_us, int64_t now_us, ms_denial *denial, int *undone) {
  *undone = 1;
  const char *sorted[MS_TRACKER_MAX_SCOPES];
  size_t k = ms__tracker_sort_scopes(scopes, n, sorted);
  int st = MS_OK;
  /* other hosts admit at the same time: their counts locked first, in the
   * one global (sorted) order, before anything is read */
  if (ms__store_locks_rows(t->store) && (st = ms__tracker_pairs_lock(t, sorted, k, cls)) != MS_OK) return st;
  ms__tracker_session old;
  int found = 0;
  if ((st = ms__tracker_session_get(t, sid, &old, &found)) != MS_OK) return st;
  if (found && ms__tracker_live(old.expires_us, now_us)) return conflict(what, &old, cls, sorted, k);

  /* Check every pair in the caller's order. In a tick the pairs are read
   * (through the tick's tally) and nothing is written before every pair
   * passed. A call of its own first counts the session into each pair that
   * has room by its rows, one conditional UPDATE for read and write, and
   * reads only the others: should a later pair be full, the store undoes the
   * failed call's writes. */
  ms__tracker_pair pair[MS_TRACKER_MAX_SCOPES];
  int64_t expired[MS_TRACKER_MAX_SCOPES];
  unsigned char seen[MS_TRACKER_MAX_SCOPES], counted[MS_TRACKER_MAX_SCOPES];
  memset(seen, 0, k);
  memset(counted, 0, k);
  memset(expired, 0, k * sizeof *expired);
  for (size_t i = 0; i < n; i++) {
    size_t j = k == 1 ? 0 : index_of(sorted, k, scopes[i]);
    if (seen[j]) continue;
    seen[j] = 1;
    if (!t->tally) {
      int bumped = 0;
      if ((st = ms__tracker_pair_bump(t, sorted[j], cls, &bumped)) != MS_OK) return st;
      if (bumped) {
        counted[j] = 1;
        pair[j].exists = 1;
        continue;
      }
    }
    if ((st = ms__tracker_pair_get(t, sorted[j], cls, &pair[j])) != MS_OK) return st;
    const ms__tracker_pair *p = &pair[j];
    if (p->limit == MS_UNLIMITED || p->members < p->limit) continue;
    /* At the limit by its rows: it has room only if more than
     * members - limit of them have expired. */
    int64_t room_at = p->members - p->limit + 1;
    if ((st = ms__tracker_pair_expired(t, sorted[j], cls, now_us, room_at, &expired[j])) != MS_OK) return st;
    if (expired[j] >= room_at) continue;
    ms__strlcpy(denial->scope, sorted[j], sizeof denial->scope);
    denial->limit = p->limit;
    denial->used = p->members - expired[j];
    return ms__fail(MS_ELIMIT, "%s: scope '%s' is full (%lld of %lld %s sessions)", what, sorted[j],
                    (long long)denial->used, (long long)denial->limit, cls ? "system" : "compute");
  }

  /* Admitted. Writes that are housekeeping come first; a failure among them
   * leaves work the caller's savepoint or transaction must undo. */
  *undone = 0;
  if (found && (st = ms__tracker_session_forget(t, sid, &old)) != MS_OK) return st;
  size_t budget = PURGE_PAIRS_MAX;
  for (size_t j = 0; j < k && budget; j++) {
    if (!expired[j]) continue;
    size_t purged = 0;
    if ((st = ms__tracker_purge_pair(t, sorted[j], cls, now_us, budget, &purged)) != MS_OK) return st;
    budget -= purged < budget ? purged : budget;
  }
  if ((st = purge_due(t, now_us)) != MS_OK) return st;
  return ms__tracker_session_hold(t, sid, cls, ms__tracker_lease_end(lease_us, now_us), sorted, pair, counted, k,
                                  undone);
}

int ms__tracker_release_in(ms_tracker *t, const char *sid, int64_t now_us, int *was_held) {
  ms__tracker_session s;
  int found = 0;
  int st = ms__tracker_session_get(t, sid, &s, &found);
  /* other hosts: the counts it changes locked first, in the sorted order
   * (its list of scopes is read sorted) */
  if (!st && found && ms__store_locks_rows(t->store)) st = ms__tracker_pairs_lock(t, s.scope, s.n, s.cls);
  if (!st && found) st = ms__tracker_session_forget(t, sid, &s);
  if (!st) st = purge_due(t, now_us);
  if (!st) *was_held = found && ms__tracker_live(s.expires_us, now_us);
  return st;
}

/* ---- one call, one atomic write (group-committed with other threads') ---- */

/* Everything but the session id, which the caller checked to build `what`. */
static int check_admit_args(const char *what, int cls, const char *const *scopes, size_t n, int64_t lease_us,
                            int64_t now_us) {
  int st = ms__tracker_check_class(what, cls);
  if (!st) st = ms__tracker_check_scopes(what, scopes, n);
  if (!st) st = ms__tracker_check_time(what, lease_us, now_us);
  return st;
}

/* The arguments and results of one call, handed to the store's combiner. */
typedef struct write_call {
  ms_tracker *t;
  const char *what, *sid;
  int cls;
  const char *const *scopes;
  size_t n;
  int64_t lease_us, now_us;
  ms_denial denial; /* filled on MS_ELIMIT */
  int held;         /* release: whether the session was held */
} write_call;

static int admit_op(ms_store *s, void *arg) {
  (void)s;
  write_call *c = arg;
  int undone; /* the store undoes a failed write call */
  return ms__tracker_admit_in(c->t, c->what, c->sid, c->cls, c->scopes, c->n, c->lease_us, c->now_us, &c->denial,
                              &undone);
}

int ms_tracker_admit(ms_tracker *t, const char *session_id, ms_session_class cls, const char *const *scopes,
                     size_t n_scopes, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: ms_tracker_admit: tracker is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = ms__tracker_what(what, "ms_tracker_admit", "session", session_id);
  if (!st) st = check_admit_args(what, (int)cls, scopes, n_scopes, lease_us, now_us);
  if (st) return st;
  write_call c = {.t = t, .what = what, .sid = session_id, .cls = (int)cls, .scopes = scopes, .n = n_scopes,
                  .lease_us = lease_us, .now_us = now_us};
  st = ms__store_write(t->store, admit_op, &c);
  if (st == MS_ELIMIT && denial) *denial = c.denial;
  return ms__tracker_failed(what, st);
}

static int release_op(ms_store *s, void *arg) {
  (void)s;
  write_call *c = arg;
  return ms__tracker_release_in(c->t, c->sid, c->now_us, &c->held);
}

int ms_tracker_release(ms_tracker *t, const char *session_id, int64_t now_us, int *was_held) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: ms_tracker_release: tracker is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = ms__tracker_what(what, "ms_tracker_release", "session", session_id);
  if (!st) st = ms__tracker_check_time(what, 0, now_us);
  if (st) return st;
  write_call c = {.t = t, .what = what, .sid = session_id, .now_us = now_us};
  if ((st = ms__store_write(t->store, release_op, &c)) != MS_OK) return ms__tracker_failed(what, st);
  if (was_held) *was_held = c.held;
  return MS_OK;
}

static int renew_op(ms_store *s, void *arg) {
  (void)s;
  write_call *c = arg;
  ms__tracker_session old;
  int found = 0;
  int st = ms__tracker_session_get(c->t, c->sid, &old, &found);
  if (st) return st;
  if (!found) return ms__fail(MS_ENOTFOUND, "%s: the session is not held", c->what);
  if (!ms__tracker_live(old.expires_us, c->now_us))
    return ms__fail(MS_ENOTFOUND, "%s: the session's lease has expired; admit it again", c->what);
  int64_t end = ms__tracker_lease_end(c->lease_us, c->now_us);
  if (end != old.expires_us) st = ms__tracker_session_set_expiry(c->t, c->sid, &old, end);
  return st ? st : purge_due(c->t, c->now_us);
}

int ms_tracker_renew(ms_tracker *t, const char *session_id, int64_t lease_us, int64_t now_us) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: ms_tracker_renew: tracker is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = ms__tracker_what(what, "ms_tracker_renew", "session", session_id);
  if (!st) st = ms__tracker_check_time(what, lease_us, now_us);
  if (st) return st;
  write_call c = {.t = t, .what = what, .sid = session_id, .lease_us = lease_us, .now_us = now_us};
  return ms__tracker_failed(what, ms__store_write(t->store, renew_op, &c));
}
