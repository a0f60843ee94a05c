/* Tick transactions: many admits and releases, one commit.
 *
 * A tick admit costs its reads and its writes and nothing else: no savepoint
 * (an admission checks everything before it writes, so a denied or
 * conflicting one has nothing to undo), no recount, no commit, and not even
 * a write of each pair's count: the tick keeps its pairs in memory and
 * writes each changed count once, before its COMMIT (tally.h). An admit whose
 * own writes fail takes them back (ms__tracker_session_hold); when even that
 * fails, or a purge of expired sessions it ran failed half way, the tick is
 * dead: every later call says so and only rollback is left. Releases, rarer
 * in a tick, run in a savepoint. */
#include <pthread.h>
#include <stdlib.h>

#include "common/error.h"
#include "tracker/rows.h"
#include "tracker/tally.h"

struct ms_tracker_txn {
  /* Calls on one tick from several threads at once wait for each other: a
   * mutex held only within a call, so any thread may make the next one. */
  pthread_mutex_t mu;
  ms_tracker *t;
  ms_store_txn *sx; /* the store's long transaction, movable between threads */
  int dead;         /* a failed write could not be undone: only rollback is left */
};

/* Every call of a tick starts here, on whatever thread it runs: that thread
 * becomes the one holding the store. Then the tick must still be alive:
 * after some errors (disk full, I/O, out of memory) SQLite rolls the whole
 * transaction back by itself, and its earlier admits are gone; running more
 * would run them outside any transaction, where a later rollback could not
 * undo them. Refuse instead. */
static int resume(ms_tracker_txn *x, const char *what) {
  int st = ms__store_txn_resume(x->sx);
  if (st) return ms__tracker_failed(what, st);
  if (!ms__store_txn_alive(x->sx))
    return ms__fail(MS_ECLOSED,
                    "%s: the tick's transaction was already rolled back by the database after an earlier "
                    "error; none of its admits stand; roll the tick back and begin a new one",
                    what);
  if (x->dead)
    return ms__fail(MS_ECLOSED,
                    "%s: an earlier call of this tick failed while writing and its writes could not be undone; "
                    "roll the tick back and begin a new one",
                    what);
  return MS_OK;
}

/* The tick is over: forget its pairs (a commit wrote them first). */
static void end_tally(ms_tracker *t) {
  ms__tracker_tally_clear(t->tally_mem);
  t->tally = NULL;
}

int ms_tracker_begin(ms_tracker *t, ms_tracker_txn **out) {
  static const char what[] = "tracker: ms_tracker_begin";
  if (!t || !out) return ms__fail(MS_EINVAL, "%s: %s is NULL", what, !t ? "tracker" : "out");
  ms_tracker_txn *x = calloc(1, sizeof *x);
  if (!x) return ms__fail(MS_ENOMEM, "%s: out of memory", what);
  int st = ms__store_txn_begin(t->store, MS__STORE_TXN_MOVABLE, &x->sx);
  if (st) {
    free(x);
    return ms__tracker_failed(what, st);
  }
  /* made once, under the store (two threads may begin at once) */
  if (!t->tally_mem && !(t->tally_mem = ms__tracker_tally_new())) {
    ms__store_txn_rollback(x->sx);
    free(x);
    return ms__fail(MS_ENOMEM, "%s: out of memory", what);
  }
  pthread_mutex_init(&x->mu, NULL);
  x->t = t;
  t->tally = t->tally_mem; /* the tick holds the store: nothing else writes meanwhile */
  *out = x;
  return MS_OK;
}

int ms_tracker_txn_admit(ms_tracker_txn *x, const char *session_id, ms_session_class cls, const char *const *scopes,
                         size_t n_scopes, int64_t lease_us, int64_t now_us, ms_denial *denial) {
  if (!x) return ms__fail(MS_EINVAL, "tracker: ms_tracker_txn_admit: transaction is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = ms__tracker_what(what, "ms_tracker_txn_admit", "session", session_id);
  if (!st) st = ms__tracker_check_class(what, (int)cls);
  if (!st) st = ms__tracker_check_scopes(what, scopes, n_scopes);
  if (!st) st = ms__tracker_check_time(what, lease_us, now_us);
  if (st) return st;
  pthread_mutex_lock(&x->mu);
  if ((st = resume(x, what)) != MS_OK) {
    pthread_mutex_unlock(&x->mu);
    return st;
  }
  ms_denial local;
  int undone = 1;
  ms_store *s = x->t->store;
  if (ms__store_errors_abort_txn(s)) {
    /* a failed statement aborts the transaction there: the admit's writes
     * are taken back by a savepoint (the database's and the counts') */
    if ((st = ms__store_savepoint(s)) == MS_OK) {
      ms__tracker_tally_mark(x->t->tally);
      st = ms__tracker_admit_in(x->t, what, session_id, (int)cls, scopes, n_scopes, lease_us, now_us, &local,
                                &undone);
      if (st) ms__tracker_tally_undo(x->t->tally);
      else ms__tracker_tally_keep(x->t->tally);
      int kept = st;
      st = ms__store_savepoint_end(s, st);
      if (st && !kept) x->dead = 1; /* the savepoint could not be closed */
    }
  } else {
    st = ms__tracker_admit_in(x->t, what, session_id, (int)cls, scopes, n_scopes, lease_us, now_us, &local, &undone);
    if (st && !undone) x->dead = 1;
  }
  pthread_mutex_unlock(&x->mu);
  if (st == MS_ELIMIT && denial) *denial = local;
  return ms__tracker_failed(what, st);
}

/* A release in its own savepoint (the database's and the counts'). */
static int release_in_tick(ms_tracker_txn *x, const char *what, const char *sid, int64_t now_us, int *held) {
  ms_store *s = x->t->store;
  int st = ms__store_savepoint(s);
  if (st) return ms__tracker_failed(what, st);
  ms__tracker_tally_mark(x->t->tally);
  st = ms__tracker_failed(what, ms__tracker_release_in(x->t, sid, now_us, held));
  if (st) ms__tracker_tally_undo(x->t->tally);
  else ms__tracker_tally_keep(x->t->tally);
  return ms__tracker_failed(what, ms__store_savepoint_end(s, st));
}

int ms_tracker_txn_release(ms_tracker_txn *x, const char *session_id, int64_t now_us, int *was_held) {
  if (!x) return ms__fail(MS_EINVAL, "tracker: ms_tracker_txn_release: transaction is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = ms__tracker_what(what, "ms_tracker_txn_release", "session", session_id);
  if (!st) st = ms__tracker_check_time(what, 0, now_us);
  if (st) return st;
  pthread_mutex_lock(&x->mu);
  int held = 0;
  if ((st = resume(x, what)) == MS_OK) st = release_in_tick(x, what, session_id, now_us, &held);
  pthread_mutex_unlock(&x->mu);
  if (st) return st;
  if (was_held) *was_held = held;
  return MS_OK;
}

int ms_tracker_txn_commit(ms_tracker_txn *x) {
  static const char what[] = "tracker: ms_tracker_txn_commit";
  if (!x) return ms__fail(MS_EINVAL, "%s: transaction is NULL", what);
  ms_tracker *t = x->t;
  pthread_mutex_lock(&x->mu);
  int st = resume(x, what);
  /* the counts the tick changed, in its own transaction */
  if (!st) st = ms__tracker_failed(what, ms__tracker_tally_flush(t));
  end_tally(t);
  if (st) {
    ms__store_txn_rollback(x->sx); /* nothing to keep; leaves the store */
    ms__tracker_set_purge_due(t, 0); /* what the tick purged is back */
  } else if ((st = ms__tracker_failed(what, ms__store_txn_commit(x->sx))) != MS_OK) {
    ms__tracker_set_purge_due(t, 0);
  }
  pthread_mutex_unlock(&x->mu);
  pthread_mutex_destroy(&x->mu);
  free(x);
  return st;
}

void ms_tracker_txn_rollback(ms_tracker_txn *x) {
  if (!x) return;
  pthread_mutex_lock(&x->mu);
  ms__store_txn_resume(x->sx); /* a movable transaction: never refused */
  end_tally(x->t);
  ms__store_txn_rollback(x->sx);
  ms__tracker_set_purge_due(x->t, 0); /* what the tick purged is back */
  pthread_mutex_unlock(&x->mu);
  pthread_mutex_destroy(&x->mu);
  free(x);
}
