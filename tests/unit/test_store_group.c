/* Unit tests: group commit (ms__store_write), the path every tracker write
 * takes. Many threads' writes share transactions; each must still succeed or
 * fail on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "mserve.h"
#include "store/lock.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "testutil.h"

typedef struct fx {
  void *tmp; /* the ms_test_db fixture */
  char *dir, *db;
  ms_store *s;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  *state = f;
  if (!f || ms_test_db_setup(&f->tmp)) return -1;
  f->dir = ((ms_test_db *)f->tmp)->dir;
  f->db = ((ms_test_db *)f->tmp)->db;
  if (ms_store_open(f->db, 0, &f->s) != MS_OK) return -1;
  alarm(120); /* a lost wake-up would hang: fail loudly instead */
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  alarm(0);
  if (!f) return 0;
  ms_store_close(f->s);
  ms_test_db_teardown(&f->tmp);
  free(f);
  return 0;
}

enum { GOOD = 0, REFUSED = 1, ROGUE = 2 };

typedef struct op {
  char key[48];
  int kind;
} op;

/* Insert a row; REFUSED then fails (its row must vanish), ROGUE ends the
 * transaction behind the store's back, like SQLite does on a full disk. */
static int write_op(ms_store *s, void *arg) {
  op *o = arg;
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(s, "INSERT INTO ms_meta(key, value) VALUES (?1, 'v')", &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, o->key, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return ms__store_error(s, rc, "insert");
  if (o->kind == REFUSED) return ms__fail(MS_ECONFLICT, "op '%s' refused on purpose", o->key);
  if (o->kind == ROGUE) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return MS_OK;
}

static int64_t rows_like(ms_store *s, const char *like) {
  int64_t n = ms_test_count_keys(s, like);
  assert_true(n >= 0);
  return n;
}

static int has_key(ms_store *s, const char *key) { return rows_like(s, key) == 1; }

static void single_writes_succeed_and_fail_alone(void **state) {
  fx *f = *state;
  op good = {"good-1", GOOD}, bad = {"bad-1", REFUSED}, rogue = {"rogue-1", ROGUE};
  assert_int_equal(ms__store_write(f->s, write_op, &good), MS_OK);
  assert_int_equal(ms__store_write(f->s, write_op, &bad), MS_ECONFLICT);
  assert_string_equal(ms_errmsg(), "op 'bad-1' refused on purpose"); /* the op's own message, on this thread */
  assert_int_not_equal(ms__store_write(f->s, write_op, &rogue), MS_OK);
  assert_non_null(strstr(ms_errmsg(), "rolled the transaction back"));
  assert_true(has_key(f->s, "good-1"));
  assert_false(has_key(f->s, "bad-1"));
  assert_false(has_key(f->s, "rogue-1"));
  /* a store held by this thread (an open transaction) is refused, not waited for */
  ms_store_txn *x = NULL;
  assert_int_equal(ms__store_txn_begin(f->s, 0, &x), MS_OK);
  op again = {"good-2", GOOD};
  assert_int_equal(ms__store_write(f->s, write_op, &again), MS_EBUSY);
  ms__store_txn_rollback(x);
  assert_false(has_key(f->s, "good-2"));
}

typedef struct worker {
  ms_store *s;
  int id, n, mix;
  int ok, refused, other; /* outcomes of GOOD ops; REFUSED and ROGUE ops must never be ok */
  int wrong;              /* a REFUSED or ROGUE op that succeeded, or a GOOD op that failed wrongly */
} worker;

static void *work(void *p) {
  worker *w = p;
  for (int i = 0; i < w->n; i++) {
    op o;
    o.kind = w->mix ? (i % 3 == 1 ? REFUSED : i % 7 == 3 ? ROGUE : GOOD) : GOOD;
    snprintf(o.key, sizeof o.key, "%s-%d-%d", o.kind == GOOD ? "g" : o.kind == REFUSED ? "r" : "x", w->id, i);
    int st = ms__store_write(w->s, write_op, &o);
    if (o.kind == GOOD) {
      if (st == MS_OK) w->ok++;
      else w->other++; /* lost with a rogue neighbour: allowed, but must then be absent */
    } else if (st == MS_OK) {
      w->wrong++;
    } else if (o.kind == REFUSED && (st != MS_ECONFLICT || !strstr(ms_errmsg(), o.key))) {
      w->wrong++; /* a refused op gets its own status and message, whoever ran it */
    } else {
      w->refused++;
    }
  }
  return NULL;
}

static void run_threads(fx *f, int threads, int per, int mix, worker *w) {
  pthread_t th[16];
  for (int i = 0; i < threads; i++) {
    w[i] = (worker){f->s, i, per, mix, 0, 0, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
}

static void concurrent_writes_all_arrive(void **state) {
  fx *f = *state;
  enum { T = 8 };
  worker w[T];
  int per = ms_test_scale(400);
  run_threads(f, T, per, 0, w);
  for (int i = 0; i < T; i++) {
    assert_int_equal(w[i].ok, per);
    assert_int_equal(w[i].other + w[i].wrong, 0);
  }
  assert_int_equal(rows_like(f->s, "g-%"), (int64_t)T * per);
}

/* Failing writes in the middle of shared batches: exactly the writes that
 * were reported committed are in the database. */
static void failures_in_a_batch_touch_nobody_else(void **state) {
  fx *f = *state;
  enum { T = 8 };
  worker w[T];
  int per = ms_test_scale(300);
  run_threads(f, T, per, 1, w);
  int64_t ok = 0;
  for (int i = 0; i < T; i++) {
    assert_int_equal(w[i].wrong, 0);
    ok += w[i].ok;
    char key[48];
    for (int j = 0; j < per; j++) {
      int kind = j % 3 == 1 ? REFUSED : j % 7 == 3 ? ROGUE : GOOD;
      if (kind == GOOD) continue;
      snprintf(key, sizeof key, "%s-%d-%d", kind == REFUSED ? "r" : "x", i, j);
      assert_false(has_key(f->s, key));
    }
  }
  assert_int_equal(rows_like(f->s, "g-%"), ok); /* committed = reported, no more, no less */
  assert_int_equal(rows_like(f->s, "r-%") + rows_like(f->s, "x-%"), 0);
}

typedef struct holder_arg {
  ms_store *s;
  int released;
} holder_arg;

/* Writes queued while another thread holds the store (a tracker tick) run
 * once it lets go: the unlock hands the queue to one of them. */
static void writes_wait_for_a_held_store_and_then_run(void **state) {
  fx *f = *state;
  ms_store_txn *x = NULL;
  assert_int_equal(ms__store_txn_begin(f->s, 0, &x), MS_OK); /* this thread holds it */
  enum { T = 4 };
  worker w[T];
  pthread_t th[T];
  for (int i = 0; i < T; i++) {
    w[i] = (worker){f->s, i, 25, 0, 0, 0, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  usleep(50 * 1000); /* let them queue behind us */
  ms__store_txn_rollback(x);
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].ok, 25);
  }
  assert_int_equal(rows_like(f->s, "g-%"), T * 25);
}

/* ---- a long transaction that moves between threads --------------------------- */

typedef struct carry {
  ms_store_txn *x;
  const char *key;
  int commit;      /* end it here */
  int resume_st, write_st, own_put_st, commit_st;
  int busy_named;
} carry;

static int insert_key(ms_store *s, const char *key) {
  op o;
  snprintf(o.key, sizeof o.key, "%s", key);
  o.kind = GOOD;
  return write_op(s, &o);
}

/* One call of a host's tick, on some thread: resume, work, maybe end. */
static void *carry_on(void *arg) {
  carry *c = arg;
  ms_store *s = ms__store_txn_store(c->x);
  c->resume_st = ms__store_txn_resume(c->x);
  if (c->resume_st == MS_OK) {
    c->write_st = insert_key(s, c->key);
    /* this thread now holds the store: its own plain write is refused, not waited for */
    c->own_put_st = ms_test_put(s, "refused");
    c->busy_named = strstr(ms_errmsg(), "already holds the store") != NULL;
  }
  if (c->commit) c->commit_st = ms__store_txn_commit(c->x);
  return NULL;
}

static void run_on_thread(carry *c) {
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, carry_on, c), 0);
  pthread_join(th, NULL);
}

typedef struct putter {
  ms_store *s;
  int st;
} putter;

static void *put_from_thread(void *arg) {
  putter *p = arg;
  p->st = ms_test_put(p->s, "waited");
  return NULL;
}

/* A movable transaction begun on one thread is carried on and committed by
 * others, one call at a time (a Go goroutine moves between threads); a write
 * of another thread waits for it, then runs; the thread that worked in it
 * last is the one refused, and the one that began it is free again. */
static void a_movable_transaction_is_carried_on_by_other_threads(void **state) {
  fx *f = *state;
  ms_store_txn *x = NULL;
  assert_int_equal(ms__store_txn_begin(f->s, MS__STORE_TXN_MOVABLE, &x), MS_OK);
  assert_int_equal(insert_key(f->s, "m-0"), MS_OK);
  putter p = {f->s, -1};
  pthread_t w;
  assert_int_equal(pthread_create(&w, NULL, put_from_thread, &p), 0);

  carry second = {x, "m-1", 0, -1, -1, -1, -1, 0};
  run_on_thread(&second);
  assert_int_equal(second.resume_st, MS_OK);
  assert_int_equal(second.write_st, MS_OK);
  assert_int_equal(second.own_put_st, MS_EBUSY);
  assert_true(second.busy_named);
  assert_false(ms__store_lock_is_mine(f->s)); /* the beginner no longer holds it */
  assert_true(ms__store_txn_alive(x));

  carry third = {x, "m-2", 1, -1, -1, -1, -1, 0};
  run_on_thread(&third);
  assert_int_equal(third.resume_st, MS_OK);
  assert_int_equal(third.write_st, MS_OK);
  assert_int_equal(third.own_put_st, MS_EBUSY);
  assert_int_equal(third.commit_st, MS_OK);

  pthread_join(w, NULL);
  assert_int_equal(p.st, MS_OK); /* waited for the transaction, then ran */
  assert_int_equal(rows_like(f->s, "m-%"), 3);
  assert_int_equal(rows_like(f->s, "waited"), 1);
  assert_int_equal(rows_like(f->s, "refused"), 0);
  /* and everything is free again, for every thread */
  assert_int_equal(ms_test_put(f->s, "after"), MS_OK);
  assert_int_equal(ms__store_txn_begin(f->s, MS__STORE_TXN_MOVABLE, &x), MS_OK);
  ms__store_txn_rollback(x);
}

/* A transaction that keeps the writer queue stays on its thread: another
 * thread is refused without harm, and the owner ends it. */
static void a_fixed_transaction_stays_on_its_thread(void **state) {
  fx *f = *state;
  ms_store_txn *x = NULL;
  assert_int_equal(ms__store_txn_begin(f->s, 0, &x), MS_OK);
  assert_int_equal(insert_key(f->s, "fixed-0"), MS_OK);
  carry other = {x, "fixed-1", 1, -1, -1, -1, -1, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, carry_on, &other), 0);
  pthread_join(th, NULL);
  assert_int_equal(other.resume_st, MS_EINVAL);
  assert_int_equal(other.commit_st, MS_EINVAL);
  assert_true(ms__store_lock_is_mine(f->s));
  assert_int_equal(other.write_st, -1); /* refused before any work */
  assert_int_equal(insert_key(f->s, "fixed-1"), MS_OK);
  assert_int_equal(ms__store_txn_commit(x), MS_OK);
  assert_int_equal(rows_like(f->s, "fixed-%"), 2);
  assert_int_equal(ms_test_put(f->s, "after"), MS_OK); /* lock and queue were left alone */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(single_writes_succeed_and_fail_alone, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_writes_all_arrive, setup, teardown),
      cmocka_unit_test_setup_teardown(failures_in_a_batch_touch_nobody_else, setup, teardown),
      cmocka_unit_test_setup_teardown(writes_wait_for_a_held_store_and_then_run, setup, teardown),
      cmocka_unit_test_setup_teardown(a_movable_transaction_is_carried_on_by_other_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(a_fixed_transaction_stays_on_its_thread, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
