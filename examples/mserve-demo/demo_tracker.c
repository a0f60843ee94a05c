/* Demo: the concurrency tracker fixing the Backend.AI counting bugs — a
 * retried check that does not count twice, an exact limit with a denial that
 * says why, a scheduler tick rolled back without leaking, a crashed host's
 * lease reclaimed, and drift repaired by reconcile. Time is passed in, so the
 * demo moves the clock by hand. */
#include <mserve/tracker.h>
#include <stdio.h>

#include "demo.h"

static long long used_of(ms_tracker *t, const char *scope, int64_t now) {
  int64_t n = -1;
  ms_tracker_get_used(t, scope, MS_CLASS_COMPUTE, now, &n);
  return (long long)n;
}

static int run(ms_tracker *t) {
  const int64_t now = ms_clock_realtime_us();
  const char *ak1[] = {"keypair:AK1", "user:alice"};
  int st = ms_tracker_set_limit(t, "keypair:AK1", MS_CLASS_COMPUTE, 2);
  if (st) return demo_fail("ms_tracker_set_limit", st);
  demo_printf("[tracker] keypair:AK1 may run 2 compute sessions\n");

  if ((st = ms_tracker_admit(t, "sess-1", MS_CLASS_COMPUTE, ak1, 2, 0, now, NULL)) != MS_OK ||
      (st = ms_tracker_admit(t, "sess-1", MS_CLASS_COMPUTE, ak1, 2, 0, now, NULL)) != MS_OK)
    return demo_fail("ms_tracker_admit", st);
  demo_printf("[tracker] sess-1 admitted, and its retried check admitted again: used %lld (a retried INCR would say 2)\n",
         used_of(t, "keypair:AK1", now));

  if ((st = ms_tracker_admit(t, "sess-2", MS_CLASS_COMPUTE, ak1, 2, MS_SEC(30), now, NULL)) != MS_OK)
    return demo_fail("ms_tracker_admit", st);
  ms_denial d;
  st = ms_tracker_admit(t, "sess-3", MS_CLASS_COMPUTE, ak1, 2, 0, now, &d);
  if (st == MS_OK) return demo_fail_msg("the tracker", "the third admit was admitted; a limit of 2 should deny it");
  if (st != MS_ELIMIT) return demo_fail("the third admit should be denied", st);
  demo_printf("[tracker] sess-3 denied: %s is full (%lld of %lld); user:alice still counts %lld, not 3\n", d.scope,
         (long long)d.used, (long long)d.limit, used_of(t, "user:alice", now));

  /* One scheduler tick: two admits, then a later predicate fails. */
  ms_tracker_txn *x = NULL;
  const char *ak2[] = {"keypair:AK2"};
  if ((st = ms_tracker_begin(t, &x)) != MS_OK) return demo_fail("ms_tracker_begin", st);
  if ((st = ms_tracker_txn_admit(x, "sess-4", MS_CLASS_COMPUTE, ak2, 1, 0, now, NULL)) != MS_OK ||
      (st = ms_tracker_txn_admit(x, "sess-5", MS_CLASS_COMPUTE, ak2, 1, 0, now, NULL)) != MS_OK) {
    ms_tracker_txn_rollback(x);
    return demo_fail("ms_tracker_txn_admit", st);
  }
  ms_tracker_txn_rollback(x);
  demo_printf("[tracker] a tick admitted 2 sessions, then its GPU predicate failed: rolled back, keypair:AK2 uses %lld\n",
         used_of(t, "keypair:AK2", now));

  /* sess-2's host crashed without releasing: its 30 s lease frees the slot. */
  demo_printf("[tracker] sess-2's host crashed; 30 s later keypair:AK1 uses %lld and sess-3 is ",
         used_of(t, "keypair:AK1", now + MS_SEC(30)));
  st = ms_tracker_admit(t, "sess-3", MS_CLASS_COMPUTE, ak1, 2, 0, now + MS_SEC(30), NULL);
  demo_printf("%s\n", st == MS_OK ? "admitted" : ms_status_name(st));
  if (st) return demo_fail("ms_tracker_admit after the lease", st);

  /* Drift: the host's own list says only sess-1 runs. */
  ms_reconcile *r = NULL;
  int64_t added = 0, removed = 0;
  if ((st = ms_tracker_reconcile_begin(t, NULL, &r)) != MS_OK) return demo_fail("ms_tracker_reconcile_begin", st);
  if ((st = ms_reconcile_add(r, "sess-1", MS_CLASS_COMPUTE, ak1, 2)) != MS_OK) {
    ms_reconcile_rollback(r);
    return demo_fail("ms_reconcile_add", st);
  }
  if ((st = ms_reconcile_commit(r, now + MS_SEC(31), &added, &removed)) != MS_OK)
    return demo_fail("ms_reconcile_commit", st);
  demo_printf("[tracker] reconcile with the host's list (sess-1 only): %lld added, %lld removed, AK1 uses %lld\n",
         (long long)added, (long long)removed, used_of(t, "keypair:AK1", now + MS_SEC(31)));
  return 0;
}

int demo_tracker(const char *workdir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/tracker.db", workdir);
  ms_store *s = NULL;
  ms_tracker *t = NULL;
  int st = ms_store_open(path, 0, &s);
  if (st) return demo_fail("ms_store_open", st);
  if ((st = ms_tracker_open(s, &t)) != MS_OK) {
    ms_store_close(s);
    return demo_fail("ms_tracker_open", st);
  }
  int rc = run(t);
  ms_tracker_close(t);
  ms_store_close(s);
  return rc;
}
