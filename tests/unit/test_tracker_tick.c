/* Unit tests: the tracker's tick transactions (lib/tracker/tick.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test_tracker_fixture.h"

static void tick_transactions(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 2), MS_OK);
  const char *sc[] = {"keypair:A"};
  const char *sc_u[] = {"user:U"};
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  ms_denial d;
  assert_int_equal(ms_tracker_txn_admit(x, "c", MS_CLASS_COMPUTE, sc, 1, 0, T0, &d), MS_ELIMIT);
  assert_int_equal(d.used, 2);
  /* the transaction stays usable after a denial */
  assert_int_equal(ms_tracker_txn_admit(x, "u", MS_CLASS_COMPUTE, sc_u, 1, 0, T0, NULL), MS_OK);
  /* a retry inside the tick is a no-op */
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  /* bad input inside the tick: EINVAL, tick intact */
  assert_int_equal(ms_tracker_txn_admit(x, "", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_EINVAL);
  /* a conflicting retry inside the tick: refused, tick intact */
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_SYSTEM, sc, 1, 0, T0, &d), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_txn_admit: session 'a'"));
  assert_named_once();
  assert_int_equal(ms_tracker_txn_admit(x, "c", MS_CLASS_COMPUTE, sc, 1, 0, T0, &d), MS_ELIMIT);
  assert_int_equal(d.used, 2);
  ms_tracker_txn_rollback(x);
  /* rollback leaves no trace */
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(used(f->t, "user:U", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(rows(f->t, "tracker_sessions"), 0);

  /* commit makes the tick's admits durable together; release inside a tick */
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  int was = -1;
  assert_int_equal(ms_tracker_txn_release(x, "b", T0, &was), MS_OK);
  assert_int_equal(was, 1);
  assert_int_equal(ms_tracker_txn_admit(x, "c", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 2);
  assert_int_equal(held(f->t, "b"), 0);
  assert_int_equal(held(f->t, "c"), 1);
  ms_tracker_txn_rollback(NULL);
  assert_int_equal(ms_tracker_txn_commit(NULL), MS_EINVAL);
}

/* The thread that holds a tick gets a clear MS_EBUSY from every other call on
 * the same store, never a deadlock, and those calls change nothing. */
#define BUSY_NAMED(call, who)                                         \
  do {                                                                \
    assert_int_equal((call), MS_EBUSY);                               \
    assert_non_null(strstr(ms_errmsg(), (who)));                      \
    assert_non_null(strstr(ms_errmsg(), "already holds the store"));  \
    assert_named_once();                                              \
  } while (0)

static void same_thread_during_a_tick_is_busy(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 2), MS_OK);
  assert_int_equal(ms_tracker_admit(f->t, "old", MS_CLASS_COMPUTE, sc, 1, MS_SEC(60), T0, NULL), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "tick", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  /* a second tracker over the same store shares its lock: the same answer */
  ms_tracker *t2 = NULL;
  assert_int_equal(ms_tracker_open(f->s, &t2), MS_OK);
  ms_tracker *ts[] = {f->t, t2};
  for (size_t i = 0; i < 2; i++) {
    ms_tracker *t = ts[i];
    ms_denial d, d0;
    memset(&d, 0x33, sizeof d);
    d0 = d;
    BUSY_NAMED(ms_tracker_admit(t, "z", MS_CLASS_COMPUTE, sc, 1, 0, T0, &d), "tracker: ms_tracker_admit: session 'z'");
    assert_memory_equal(&d, &d0, sizeof d);
    int was = 7;
    BUSY_NAMED(ms_tracker_release(t, "old", T0, &was), "tracker: ms_tracker_release: session 'old'");
    assert_int_equal(was, 7);
    BUSY_NAMED(ms_tracker_renew(t, "old", MS_SEC(600), T0), "tracker: ms_tracker_renew: session 'old'");
    BUSY_NAMED(ms_tracker_set_limit(t, "keypair:A", MS_CLASS_COMPUTE, 0),
               "tracker: ms_tracker_set_limit: scope 'keypair:A'");
    int64_t n = 99;
    BUSY_NAMED(ms_tracker_get_used(t, "keypair:A", MS_CLASS_COMPUTE, T0, &n),
               "tracker: ms_tracker_get_used: scope 'keypair:A'");
    BUSY_NAMED(ms_tracker_get_limit(t, "keypair:A", MS_CLASS_COMPUTE, &n),
               "tracker: ms_tracker_get_limit: scope 'keypair:A'");
    assert_int_equal(n, 99);
    int h = 7;
    BUSY_NAMED(ms_tracker_get_held(t, "old", T0, &h, NULL, NULL), "tracker: ms_tracker_get_held: session 'old'");
    assert_int_equal(h, 7);
    ms_tracker_txn *y = (ms_tracker_txn *)(uintptr_t)0x1;
    BUSY_NAMED(ms_tracker_begin(t, &y), "tracker: ms_tracker_begin");
    assert_ptr_equal(y, (ms_tracker_txn *)(uintptr_t)0x1);
    /* a reconcile collects without the store and fails only at commit,
     * freeing itself (ASan checks) and leaving its outputs alone */
    ms_reconcile *r = NULL;
    assert_int_equal(ms_tracker_reconcile_begin(t, NULL, &r), MS_OK);
    assert_int_equal(ms_reconcile_add(r, "x", MS_CLASS_COMPUTE, sc, 1), MS_OK);
    int64_t added = 5, removed = 5;
    BUSY_NAMED(ms_reconcile_commit(r, T0, &added, &removed), "tracker: ms_reconcile_commit");
    assert_int_equal(added, 5);
    assert_int_equal(removed, 5);
  }
  ms_tracker_close(t2);
  /* the tick itself is intact and still works */
  assert_int_equal(ms_tracker_txn_admit(x, "tick2", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_ELIMIT);
  ms_tracker_txn_rollback(x);
  /* none of the refused calls happened */
  int64_t lim = -5;
  assert_int_equal(ms_tracker_get_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, &lim), MS_OK);
  assert_int_equal(lim, 2);
  assert_int_equal(rows(f->t, "tracker_members"), 1);
  int64_t exp = 0;
  int h = 0;
  assert_int_equal(ms_tracker_get_held(f->t, "old", T0, &h, NULL, &exp), MS_OK);
  assert_int_equal(h, 1);
  assert_int_equal(exp, T0 + MS_SEC(60));
}

/* Another connection to the file (another ms_store, as another process would
 * have) waits for the tick only up to its busy timeout, then says so. */
static void another_handle_waits_then_gives_up(void **state) {
  MS_TEST_SQLITE_ONLY(); /* SQLite's one writer; PostgreSQL locks rows, and the tick holds none of user:U's */
  fx *f = *state;
  ms_store *s2 = NULL;
  ms_tracker *t2 = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s2), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s2, 2000), MS_OK);
  assert_int_equal(ms_tracker_open(s2, &t2), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(admit1(t2, "b", MS_CLASS_COMPUTE, "user:U", NULL), MS_EBUSY);
  assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_admit: session 'b'"));
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(admit1(t2, "b", MS_CLASS_COMPUTE, "user:U", NULL), MS_OK);
  ms_tracker_close(t2);
  ms_store_close(s2);
}

/* A COMMIT that fails leaves nothing of the tick. The failure is forced with a
 * deferred foreign key, which SQLite checks only at COMMIT. */
static void failed_commit_leaves_nothing(void **state) {
  fx *f = *state;
  exec_sql(f->t, "CREATE TEMP TABLE fk_parent(id INTEGER PRIMARY KEY);"
                 "CREATE TEMP TABLE fk_child(p INTEGER REFERENCES fk_parent(id) DEFERRABLE INITIALLY DEFERRED)");
  const char *sc[] = {"keypair:A"};
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, MS_SEC(9), T0, NULL), MS_OK);
  exec_sql(f->t, "INSERT INTO fk_child VALUES (42)");
  int st = ms_tracker_txn_commit(x); /* frees x even though it fails */
  assert_int_not_equal(st, MS_OK);
  assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_txn_commit"));
  assert_named_once();
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 0);
  assert_int_equal(rows(f->t, "tracker_members"), 0);
  assert_int_equal(rows(f->t, "fk_child"), 0); /* the temporary table (both backends) */
  /* and the store is free again */
  assert_int_equal(admit1(f->t, "c", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_OK);
}

/* SQLite rolls a whole transaction back by itself after some errors (disk
 * full, I/O). Simulated here with a ROLLBACK behind the tracker's back: the
 * tick must refuse further work instead of running it in autocommitted
 * transactions that a later rollback could not undo. */
static void a_tick_rolled_back_underneath_is_refused(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  for (int end_with_commit = 0; end_with_commit < 2; end_with_commit++) {
    ms_tracker_txn *x = NULL;
    assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
    assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
    exec_sql(f->t, "ROLLBACK");
    assert_int_equal(ms_tracker_txn_admit(x, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_ECLOSED);
    assert_string_equal(ms_errmsg(), "tracker: ms_tracker_txn_admit: session 'b': the tick's transaction was already "
                                     "rolled back by the database after an earlier error; none of its admits stand; "
                                     "roll the tick back and begin a new one");
    assert_int_equal(ms_tracker_txn_release(x, "a", T0, NULL), MS_ECLOSED);
    if (end_with_commit) {
      assert_int_equal(ms_tracker_txn_commit(x), MS_ECLOSED); /* the admits are not durable: say so */
      assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_txn_commit"));
    } else {
      ms_tracker_txn_rollback(x);
    }
    assert_int_equal(rows(f->t, "tracker_members"), 0);
    /* the lock was released either way */
    assert_int_equal(admit1(f->t, "c", MS_CLASS_COMPUTE, "keypair:A", NULL), MS_OK);
    assert_int_equal(ms_tracker_release(f->t, "c", T0, NULL), MS_OK);
  }
}

/* A tick is not bound to the thread that began it (a Go goroutine moves
 * between OS threads): other threads admit and release in it, another one
 * commits or rolls it back, one call at a time, and whatever they did stands
 * or falls together. The thread that made the tick's latest call gets
 * MS_EBUSY at once from a plain call on the store, as the beginning thread
 * would. */
typedef struct carrier {
  ms_tracker *t;
  ms_tracker_txn *x;
  int what; /* 0: admit b, release a, admit c; 1: commit; 2: rollback */
  int st[4], was, busy_named;
} carrier;

static void *carry_tick(void *arg) {
  carrier *c = arg;
  const char *sc[] = {"keypair:A"};
  if (c->what == 0) {
    c->st[0] = ms_tracker_txn_admit(c->x, "b", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL);
    c->st[1] = ms_tracker_txn_release(c->x, "a", T0, &c->was);
    c->st[2] = ms_tracker_txn_admit(c->x, "c", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL);
    int64_t n = -1;
    c->st[3] = ms_tracker_get_used(c->t, "keypair:A", MS_CLASS_COMPUTE, T0, &n); /* this thread is in the tick */
    c->busy_named = strstr(ms_errmsg(), "already holds the store") != NULL && n == -1;
  } else if (c->what == 1) {
    c->st[0] = ms_tracker_txn_commit(c->x);
  } else {
    ms_tracker_txn_rollback(c->x);
    c->st[0] = MS_OK;
  }
  return NULL;
}

static void run_on_thread(carrier *c) {
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, carry_tick, c), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
}

static void a_tick_moves_between_threads(void **state) {
  fx *f = *state;
  const char *sc[] = {"keypair:A"};
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 2), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "a", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  carrier c = {f->t, x, 0, {-1, -1, -1, -1}, -1, 0};
  run_on_thread(&c);
  assert_int_equal(c.st[0], MS_OK);
  assert_int_equal(c.st[1], MS_OK);
  assert_int_equal(c.was, 1); /* it saw the beginning thread's admit */
  assert_int_equal(c.st[2], MS_OK);
  assert_int_equal(c.st[3], MS_EBUSY);
  assert_true(c.busy_named);
  /* the beginning thread carries on, then a third thread commits */
  ms_denial d;
  assert_int_equal(ms_tracker_txn_admit(x, "e", MS_CLASS_COMPUTE, sc, 1, 0, T0, &d), MS_ELIMIT);
  assert_int_equal(d.used, 2);
  carrier end = {f->t, x, 1, {-1, -1, -1, -1}, -1, 0};
  run_on_thread(&end);
  assert_int_equal(end.st[0], MS_OK);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 2);
  assert_int_equal(held(f->t, "a"), 0);
  assert_int_equal(held(f->t, "b"), 1);
  assert_int_equal(held(f->t, "c"), 1);
  /* rolled back from another thread: nothing of it stays, the store is free */
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_release(x, "b", T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "r", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  carrier undo = {f->t, x, 2, {-1, -1, -1, -1}, -1, 0};
  run_on_thread(&undo);
  assert_int_equal(held(f->t, "r"), 0);
  assert_int_equal(held(f->t, "b"), 1);
  assert_int_equal(admit1(f->t, "z", MS_CLASS_COMPUTE, "user:U", NULL), MS_OK);
  assert_consistent(f->t);
}

/* Calls on one tick from several threads at the same moment wait for each
 * other: each admit sees the ones before it, so the limit holds exactly. */
typedef struct racer {
  ms_tracker_txn *x;
  int id, admitted, denied, other;
} racer;

static void *race_in_tick(void *arg) {
  racer *r = arg;
  const char *sc[] = {"keypair:R"};
  for (int i = 0; i < 50; i++) {
    char sid[32];
    snprintf(sid, sizeof sid, "r%d-%d", r->id, i);
    int st = ms_tracker_txn_admit(r->x, sid, MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL);
    if (st == MS_OK) r->admitted++;
    else if (st == MS_ELIMIT) r->denied++;
    else r->other++;
  }
  return NULL;
}

static void overlapping_calls_on_one_tick_wait_for_each_other(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:R", MS_CLASS_COMPUTE, 77), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  racer r[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    r[i] = (racer){x, i, 0, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, race_in_tick, &r[i]), 0);
  }
  int admitted = 0, denied = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(r[i].other, 0);
    admitted += r[i].admitted;
    denied += r[i].denied;
  }
  assert_int_equal(admitted, 77);
  assert_int_equal(denied, 200 - 77);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(used(f->t, "keypair:R", MS_CLASS_COMPUTE, T0), 77);
  assert_consistent(f->t);
}

typedef struct waiter {
  ms_tracker *t;
  int status;
} waiter;

static void *admit_from_thread(void *arg) {
  waiter *w = arg;
  w->status = admit1(w->t, "other-thread", MS_CLASS_COMPUTE, "keypair:A", NULL);
  return NULL;
}

/* Another thread's admit waits for the tick and then sees its admits: the
 * outcome does not depend on timing, only on the tick holding the store. */
static void other_threads_wait_for_the_tick(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  const char *sc[] = {"keypair:A"};
  assert_int_equal(ms_tracker_txn_admit(x, "tick", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  waiter w = {f->t, -1};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, admit_from_thread, &w), 0);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  pthread_join(th, NULL);
  assert_int_equal(w.status, MS_ELIMIT);
  assert_int_equal(used(f->t, "keypair:A", MS_CLASS_COMPUTE, T0), 1);
}

/* A call made while a tick holds the store, from a thread other than the
 * tick's latest one, waits for the tick at most the store's busy timeout,
 * then fails with MS_EBUSY naming the open tick. That is the caller holding
 * the tick itself when its tick calls run on a thread of their own (a Go
 * binding's goroutine): waiting would never end. Such calls change nothing,
 * and the tick carries on. */
typedef struct blocked {
  ms_tracker *t;
  int what; /* 0: admit (a group-committed write), 1: get_used (a read), 2: set_limit */
  int status, named;
  atomic_int done;
} blocked;

static void *call_behind_the_tick(void *arg) {
  blocked *b = arg;
  int64_t n = -1;
  if (b->what == 0) b->status = admit1(b->t, "behind", MS_CLASS_COMPUTE, "keypair:A", NULL);
  else if (b->what == 1) b->status = ms_tracker_get_used(b->t, "keypair:A", MS_CLASS_COMPUTE, T0, &n);
  else b->status = ms_tracker_set_limit(b->t, "keypair:A", MS_CLASS_COMPUTE, 9);
  b->named = strstr(ms_errmsg(), "open transaction that spans calls (a tracker tick)") != NULL &&
             strstr(ms_errmsg(), "busy timeout (100000 us)") != NULL;
  atomic_store(&b->done, 1);
  return NULL;
}

static void a_call_behind_a_tick_gives_up_after_the_busy_timeout(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, 1), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(f->s, 100000), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  const char *sc[] = {"keypair:A"};
  assert_int_equal(ms_tracker_txn_admit(x, "tick", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  for (int what = 0; what < 3; what++) {
    blocked b = {f->t, what, -1, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, call_behind_the_tick, &b), 0);
    /* Not a timing assertion: a wait without end is what this test catches. */
    for (int i = 0; i < 3000 && !atomic_load(&b.done); i++) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    if (!atomic_load(&b.done)) fail_msg("call %d still waits for the tick after 30 s", what);
    pthread_join(th, NULL);
    assert_int_equal(b.status, MS_EBUSY);
    assert_true(b.named);
  }
  /* the tick carries on and commits; nothing of the refused calls is there */
  assert_int_equal(ms_tracker_txn_admit(x, "tick2", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_ELIMIT);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(held(f->t, "behind"), 0);
  assert_int_equal(held(f->t, "tick"), 1);
  int64_t limit = -1;
  assert_int_equal(ms_tracker_get_limit(f->t, "keypair:A", MS_CLASS_COMPUTE, &limit), MS_OK);
  assert_int_equal(limit, 1);
  /* with the tick ended the same calls go through */
  blocked after = {f->t, 2, -1, 0, 0};
  call_behind_the_tick(&after);
  assert_int_equal(after.status, MS_OK);
  /* a busy timeout of 0 refuses at once */
  assert_int_equal(ms_store_set_busy_timeout(f->s, 0), MS_OK);
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  blocked now = {f->t, 0, -1, 0, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, call_behind_the_tick, &now), 0);
  pthread_join(th, NULL);
  assert_int_equal(now.status, MS_EBUSY);
  ms_tracker_txn_rollback(x);
  assert_consistent(f->t);
}


/* An admit whose own writes fail half way takes them back and leaves the
 * tick usable (a tick has no savepoint per admit). The failure is forced
 * with a membership row planted behind the tracker's back, so the second of
 * the session's member rows cannot be inserted. */
static void a_failed_write_in_a_tick_is_taken_back(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "A", MS_CLASS_COMPUTE, 5), MS_OK);
  assert_int_equal(admit1(f->t, "old", MS_CLASS_COMPUTE, "A", NULL), MS_OK);
  exec_sql(f->t, "INSERT INTO tracker_members(scope, cls, expires_us, session) VALUES ('B', 0, 0, 'z')");
  const char *ab[] = {"A", "B"}, *a[] = {"A"};
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "y", MS_CLASS_COMPUTE, a, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "z", MS_CLASS_COMPUTE, ab, 2, 0, T0, NULL), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_txn_admit: session 'z'"));
  assert_non_null(strstr(ms_errmsg(), "disagree"));
  assert_named_once();
  /* nothing of z: not in A's count, no session row; the tick goes on */
  assert_int_equal(ms_tracker_txn_admit(x, "w", MS_CLASS_COMPUTE, a, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(used(f->t, "A", MS_CLASS_COMPUTE, T0), 3);
  assert_int_equal(held(f->t, "z"), 0);
  /* a full reconcile drops the planted row, which no session lists */
  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(f->t, NULL, &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "old", MS_CLASS_COMPUTE, a, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "y", MS_CLASS_COMPUTE, a, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "w", MS_CLASS_COMPUTE, a, 1), MS_OK);
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_OK);
  assert_int_equal(added, 0);
  assert_int_equal(removed, 1);
  assert_int_equal(rows(f->t, "tracker_members"), 3);
  assert_consistent(f->t);
}

/* A release in a tick that fails half way (a membership row of the session
 * was deleted behind the tracker's back) is undone whole, the tick's own
 * count changes included, and the tick goes on. */
static void a_failed_release_in_a_tick_is_undone(void **state) {
  fx *f = *state;
  const char *ab[] = {"A", "B"}, *a[] = {"A"};
  assert_int_equal(ms_tracker_admit(f->t, "z", MS_CLASS_COMPUTE, ab, 2, 0, T0, NULL), MS_OK);
  exec_sql(f->t, "DELETE FROM tracker_members WHERE scope = 'B' AND session = 'z'");
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "y", MS_CLASS_COMPUTE, a, 1, 0, T0, NULL), MS_OK);
  int was = 7;
  assert_int_equal(ms_tracker_txn_release(x, "z", T0, &was), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "tracker: ms_tracker_txn_release: session 'z'"));
  assert_named_once();
  assert_int_equal(was, 7);
  assert_int_equal(ms_tracker_txn_admit(x, "w", MS_CLASS_COMPUTE, a, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(used(f->t, "A", MS_CLASS_COMPUTE, T0), 3); /* z, y, w */
  assert_int_equal(recount(f->t, "A", MS_CLASS_COMPUTE, T0), 3);
  assert_int_equal(held(f->t, "z"), 1);
  /* a full reconcile repairs the damage */
  ms_reconcile *r = NULL;
  assert_int_equal(ms_tracker_reconcile_begin(f->t, NULL, &r), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "z", MS_CLASS_COMPUTE, ab, 2), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "y", MS_CLASS_COMPUTE, a, 1), MS_OK);
  assert_int_equal(ms_reconcile_add(r, "w", MS_CLASS_COMPUTE, a, 1), MS_OK);
  int64_t added = -1, removed = -1;
  assert_int_equal(ms_reconcile_commit(r, T0, &added, &removed), MS_OK);
  assert_int_equal(added, 1); /* z's membership of B, which was gone */
  assert_int_equal(removed, 0);
  assert_consistent(f->t);
  assert_int_equal(used(f->t, "B", MS_CLASS_COMPUTE, T0), 1);
}

/* A tick of many admits into one limited scope: each sees the ones before
 * it, so exactly the limit is admitted, and a release inside the tick makes
 * room for exactly one more. */
static void a_big_tick_is_exact_at_the_limit(void **state) {
  fx *f = *state;
  assert_int_equal(ms_tracker_set_limit(f->t, "domain:D", MS_CLASS_COMPUTE, 60), MS_OK);
  ms_tracker_txn *x = NULL;
  assert_int_equal(ms_tracker_begin(f->t, &x), MS_OK);
  int ok = 0;
  ms_denial d;
  for (int i = 0; i < 100; i++) {
    char sid[16], user[16];
    snprintf(sid, sizeof sid, "s%d", i);
    snprintf(user, sizeof user, "user:%d", i % 7);
    const char *sc[] = {"domain:D", user};
    int st = ms_tracker_txn_admit(x, sid, MS_CLASS_COMPUTE, sc, 2, MS_SEC(30), T0, &d);
    if (st == MS_OK) ok++;
    else assert_int_equal(st, MS_ELIMIT);
  }
  assert_int_equal(ok, 60);
  assert_int_equal(d.used, 60);
  int was = 0;
  assert_int_equal(ms_tracker_txn_release(x, "s0", T0, &was), MS_OK);
  assert_int_equal(was, 1);
  const char *sc[] = {"domain:D"};
  assert_int_equal(ms_tracker_txn_admit(x, "late", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_OK);
  assert_int_equal(ms_tracker_txn_admit(x, "later", MS_CLASS_COMPUTE, sc, 1, 0, T0, NULL), MS_ELIMIT);
  assert_int_equal(ms_tracker_txn_commit(x), MS_OK);
  assert_int_equal(used(f->t, "domain:D", MS_CLASS_COMPUTE, T0), 60);
  assert_int_equal(used(f->t, "domain:D", MS_CLASS_COMPUTE, T0 + MS_SEC(30)), 1); /* only "late" has no lease */
  assert_consistent(f->t);
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_tracker_tick");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      FX_TEST(tick_transactions),
      FX_TEST(same_thread_during_a_tick_is_busy),
      FX_TEST(another_handle_waits_then_gives_up),
      FX_TEST(failed_commit_leaves_nothing),
      FX_TEST(a_tick_rolled_back_underneath_is_refused),
      FX_TEST(a_tick_moves_between_threads),
      FX_TEST(overlapping_calls_on_one_tick_wait_for_each_other),
      FX_TEST(other_threads_wait_for_the_tick),
      FX_TEST(a_call_behind_a_tick_gives_up_after_the_busy_timeout),
      FX_TEST(a_failed_write_in_a_tick_is_taken_back),
      FX_TEST(a_failed_release_in_a_tick_is_undone),
      FX_TEST(a_big_tick_is_exact_at_the_limit),
  };
  return cmocka_run_group_tests_name("tracker_tick", tests, NULL, NULL);
}
