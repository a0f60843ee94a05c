/* Unit tests: the store's writer queue across processes and its checkpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "testutil.h"

typedef ms_test_db fx;

static int64_t file_size(const char *db, const char *suffix) {
  char p[4096];
  snprintf(p, sizeof p, "%s%s", db, suffix);
  struct stat st;
  return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

#define put ms_test_put
#define count_keys ms_test_count_keys

/* The database's page size: a WAL frame holds one page. */
static int64_t page_size(ms_store *s) {
  assert_int_equal(ms__store_read_begin(s), MS_OK);
  int64_t n = ms_test_sql_int(s, "PRAGMA page_size");
  ms__store_read_end(s);
  assert_true(n > 0);
  return n;
}

static void queue_file_lives_beside_a_database_only(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_true(file_size(f->db, "-mslock") > 0);
  ms_store_close(s);
  /* a stranger's file is refused before anything is created beside it */
  char *junk = ms_test_path(f->dir, "notes.txt");
  assert_int_equal(ms_test_write_file(junk, "this is not a database at all, just some text", 45), 0);
  assert_int_equal(ms_store_open(junk, 0, &s), MS_ECORRUPT);
  assert_int_equal(file_size(junk, "-mslock"), -1);
  free(junk);
}

/* A writer killed in the middle of a transaction must neither wedge the queue
 * nor leave any of its writes behind. */
static void writer_killed_mid_transaction_hands_the_queue_on(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  ms_store_close(s);
  for (int round = 0; round < ms_test_scale(8); round++) {
    /* the child holds the queue and SQLite's write lock, with a row written */
    pid_t kid = ms_test_fork_ready(ms_test_child_hold_write, f->db);
    assert_true(kid > 0);
    assert_true(ms_test_kill(kid));

    assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
    assert_int_equal(ms_store_set_busy_timeout(s, MS_SEC(2)), MS_OK);
    int64_t t0 = ms_clock_monotonic_us();
    char key[32];
    snprintf(key, sizeof key, "after-%d", round);
    assert_int_equal(put(s, key), MS_OK);
    assert_true(ms_clock_monotonic_us() - t0 < MS_SEC(1)); /* handed on, not timed out */
    assert_int_equal(count_keys(s, "held"), 0);
    assert_int_equal(count_keys(s, "after-%"), round + 1);
    ms_store_close(s);
  }
}

/* A writer killed while it waits in the queue leaves a waiter count behind
 * that nobody will take back; that may cost the others a pause now and then,
 * never a hang or an error. */
static void writer_killed_while_waiting_costs_no_hang(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  ms_store_close(s);
  int wready[2], go[2];
  assert_int_equal(pipe(wready), 0);
  assert_int_equal(pipe(go), 0);
  pid_t waiter = fork(); /* opens its store first: opening writes too */
  assert_true(waiter >= 0);
  if (waiter == 0) {
    close(wready[0]);
    close(go[1]);
    ms_store *c = NULL;
    char g;
    if (ms_store_open(f->db, 0, &c) || ms_store_set_busy_timeout(c, MS_SEC(60))) _exit(3);
    if (write(wready[1], "w", 1) != 1 || read(go[0], &g, 1) != 1) _exit(5);
    put(c, "waiter"); /* blocks behind the holder until killed */
    _exit(0);
  }
  close(wready[1]);
  close(go[0]);
  char b;
  assert_int_equal(read(wready[0], &b, 1), 1); /* 0: the child failed */
  pid_t holder = ms_test_fork_ready(ms_test_child_hold_write, f->db);
  assert_true(holder > 0);
  assert_int_equal(write(go[1], "g", 1), 1);
  usleep(100 * 1000); /* let the waiter block in the queue */
  kill(waiter, SIGKILL);
  kill(holder, SIGKILL);
  int ws;
  assert_int_equal(waitpid(waiter, &ws, 0), waiter);
  assert_true(WIFSIGNALED(ws));
  assert_int_equal(waitpid(holder, &ws, 0), holder);
  assert_true(WIFSIGNALED(ws));
  close(wready[0]);
  close(go[1]);
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  char key[32];
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "after-%d", i);
    assert_int_equal(put(s, key), MS_OK);
  }
  assert_int_equal(count_keys(s, "after-%"), 200);
  /* the dead waiter's count was forgotten after one pause, not paid per write */
  assert_non_null(s->xlock);
  assert_int_equal(ms__store_xlock_waiters(s->xlock), 0);
  ms_store_close(s);
}

/* Two handles on one file, one thread: the second write waits for the first,
 * which can never finish; that is an error, not a hang. */
static void one_thread_two_handles_is_ebusy(void **state) {
  fx *f = *state;
  ms_store *a = NULL, *b = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &a), MS_OK);
  assert_int_equal(ms_store_open(f->db, 0, &b), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(b, MS_SEC(5)), MS_OK);
  /* a transaction that keeps the writer queue, then a movable one, which
   * leaves the queue once it holds SQLite's lock: either is found */
  for (unsigned flags = 0; flags <= MS__STORE_TXN_MOVABLE; flags += MS__STORE_TXN_MOVABLE) {
    ms_store_txn *x = NULL, *y = NULL;
    assert_int_equal(ms__store_txn_begin(a, flags, &x), MS_OK);
    int64_t t0 = ms_clock_monotonic_us();
    assert_int_equal(ms__store_txn_begin(b, 0, &y), MS_EBUSY);
    assert_true(ms_clock_monotonic_us() - t0 < MS_SEC(1)); /* refused at once */
    assert_non_null(strstr(ms_errmsg(), "another handle"));
    assert_null(y);
    t0 = ms_clock_monotonic_us();
    assert_int_equal(put(b, "b"), MS_EBUSY); /* a one-shot write too */
    assert_true(ms_clock_monotonic_us() - t0 < MS_SEC(1));
    assert_non_null(strstr(ms_errmsg(), "another handle"));
    ms__store_txn_rollback(x);
    assert_int_equal(put(b, "b"), MS_OK);
  }
  ms_store_close(a);
  ms_store_close(b);
}

typedef struct writer_arg {
  ms_store *s;
  int id, n, errors;
} writer_arg;

static void *writer(void *p) {
  writer_arg *w = p;
  char key[48];
  for (int i = 0; i < w->n; i++) {
    snprintf(key, sizeof key, "w%d-%d", w->id, i % 64);
    if (put(w->s, key) != MS_OK) w->errors++;
  }
  return NULL;
}

/* SQLite restarts the WAL only when a writer finds all of it copied back,
 * which steady writers of other threads never leave time for; the store's
 * checkpoints must still keep the log bounded. */
static void wal_stays_bounded_under_steady_writers(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(ms_store_set_autocheckpoint(s, 50), MS_OK);
  enum { THREADS = 4 };
  pthread_t th[THREADS];
  writer_arg w[THREADS];
  int per = 2000; /* not scaled: the bound needs the volume */
  for (int i = 0; i < THREADS; i++) {
    w[i] = (writer_arg){s, i, per, 0};
    assert_int_equal(pthread_create(&th[i], NULL, writer, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].errors, 0);
  }
  /* Each commit appends a frame or two, so unbounded the log would hold
   * about THREADS * per frames (it restarts now and then by luck, when no
   * writer happens to be mid-commit). Bounded, it goes back to its start every
   * few checkpoints; its file keeps its largest size, which depends on how
   * long the disk took to sync, not on how much was written. */
  int64_t restarts = atomic_load(&s->wal_restarts);
  assert_true(restarts >= 2);
  assert_true(file_size(f->db, "-wal") < (int64_t)THREADS * per * page_size(s) * 3 / 4);
  assert_int_equal(count_keys(s, "w%"), THREADS * 64);
  ms_store_close(s);
}

static void host_driven_checkpoints(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(ms_store_set_autocheckpoint(s, 0), MS_OK);
  char key[32];
  for (int i = 0; i < 300; i++) {
    snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(put(s, key), MS_OK);
  }
  int64_t grown = file_size(f->db, "-wal");
  assert_true(grown > 300 * page_size(s)); /* nobody checkpointed */
  int64_t left = -1;
  assert_int_equal(ms_store_checkpoint(s, &left), MS_OK);
  assert_int_equal(left, 0);
  /* everything was copied back, so the next writes reuse the log from its start */
  for (int i = 0; i < 300; i++) {
    snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(put(s, key), MS_OK);
  }
  assert_int_equal(file_size(f->db, "-wal"), grown);
  assert_int_equal(ms_store_checkpoint(s, NULL), MS_OK);
  ms_store_close(s);
  /* what was checkpointed is in the database file itself */
  sqlite3 *raw = NULL;
  assert_int_equal(sqlite3_open_v2(f->db, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2(raw, "SELECT count(*) FROM ms_meta WHERE key LIKE 'k%'", -1, &q, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 300);
  sqlite3_finalize(q);
  sqlite3_close(raw);
}

static void checkpoint_arguments(void **state) {
  (void)state;
  int64_t left = 7;
  assert_int_equal(ms_store_checkpoint(NULL, &left), MS_EINVAL);
  assert_int_equal(left, 7);
  assert_int_equal(ms_store_set_autocheckpoint(NULL, 10), MS_EINVAL);
  ms_store *m = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &m), MS_OK);
  assert_int_equal(ms_store_set_autocheckpoint(m, -1), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "negative"));
  assert_int_equal(ms_store_checkpoint(m, &left), MS_OK); /* no log in memory */
  assert_int_equal(left, 0);
  ms_store_close(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(queue_file_lives_beside_a_database_only, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(writer_killed_mid_transaction_hands_the_queue_on, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(writer_killed_while_waiting_costs_no_hang, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(one_thread_two_handles_is_ebusy, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(wal_stays_bounded_under_steady_writers, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(host_driven_checkpoints, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test(checkpoint_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
