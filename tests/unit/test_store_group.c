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
#include "store/store_internal.h"
#include "testutil.h"

typedef struct fx {
  char *dir, *db;
  ms_store *s;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("store-group");
  f->db = ms_test_path(f->dir, "test.db");
  *state = f;
  if (!f->dir || ms_store_open(f->db, 0, &f->s) != MS_OK) return -1;
  alarm(120); /* a lost wake-up would hang: fail loudly instead */
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  alarm(0);
  ms_store_close(f->s);
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->db);
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
  assert_int_equal(ms__store_lock(s), MS_OK);
  sqlite3_stmt *q = ms__store_stmt(s, "SELECT count(*) FROM ms_meta WHERE key LIKE ?1", NULL);
  sqlite3_bind_text(q, 1, like, -1, SQLITE_TRANSIENT);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_reset(q);
  ms__store_unlock(s);
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
  assert_int_equal(ms__store_begin(f->s), MS_OK);
  op again = {"good-2", GOOD};
  assert_int_equal(ms__store_write(f->s, write_op, &again), MS_EBUSY);
  ms__store_rollback(f->s);
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
  assert_int_equal(ms__store_begin(f->s), MS_OK); /* this thread holds it */
  enum { T = 4 };
  worker w[T];
  pthread_t th[T];
  for (int i = 0; i < T; i++) {
    w[i] = (worker){f->s, i, 25, 0, 0, 0, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  usleep(50 * 1000); /* let them queue behind us */
  ms__store_rollback(f->s);
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].ok, 25);
  }
  assert_int_equal(rows_like(f->s, "g-%"), T * 25);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(single_writes_succeed_and_fail_alone, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_writes_all_arrive, setup, teardown),
      cmocka_unit_test_setup_teardown(failures_in_a_batch_touch_nobody_else, setup, teardown),
      cmocka_unit_test_setup_teardown(writes_wait_for_a_held_store_and_then_run, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
