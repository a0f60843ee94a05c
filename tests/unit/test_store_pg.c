/* Unit tests: the PostgreSQL backend of the store (lib/store/pg/), against a
 * real server started for the run (tests/support/pg_cluster.h). Skipped,
 * saying why, when PostgreSQL is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "pg_cluster.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "testutil.h"

static ms_test_pg *cluster;

typedef struct fx {
  char *uri;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  *state = f;
  if (!f || !(f->uri = ms_test_pg_new_db(cluster, "store"))) return -1;
  alarm(120);
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  if (f) free(f->uri);
  free(f);
  return 0;
}

/* Run literal SQL on the database of uri through libpq directly (the
 * server's view, not the store's). */
static int admin(const char *uri, const char *sql) {
  PGconn *k = PQconnectdb(uri);
  PGresult *r = PQexec(k, sql);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  PQfinish(k);
  return ok ? 0 : -1;
}

static void opens_migrates_and_keeps_what_it_writes(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_OK);
  int64_t v = 0;
  assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
  assert_int_equal(v, ms_store_latest_schema());
  assert_int_equal(ms_test_put(s, "a:1"), MS_OK);
  assert_int_equal(ms_test_put(s, "a:2"), MS_OK);
  assert_int_equal(ms_test_put(s, "a:1"), MS_OK); /* the upsert, once */
  assert_int_equal(ms_test_count_keys(s, "a:%"), 2);
  ms_store_close(s);
  /* reopened: the rows are the server's, the schema is not migrated again */
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_OK);
  assert_int_equal(ms_test_count_keys(s, "a:%"), 2);
  assert_int_equal(ms_test_sql_int(s, "SELECT count(*) FROM ms_meta WHERE key = 'created_by'"), 1);
  ms_store_close(s);
}

static int open_child(const char *uri) {
  ms_store *s = NULL;
  int st = ms_store_open(uri, 0, &s);
  ms_store_close(s);
  return st;
}

static void hosts_opening_at_once_migrate_once(void **state) {
  fx *f = *state;
  enum { N = 6 };
  pid_t kids[N];
  for (int i = 0; i < N; i++) {
    kids[i] = fork();
    assert_true(kids[i] >= 0);
    if (kids[i] == 0) _exit(open_child(f->uri));
  }
  for (int i = 0; i < N; i++) {
    int ws = 0;
    assert_int_equal(waitpid(kids[i], &ws, 0), kids[i]);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), MS_OK);
  }
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_OK);
  /* the first migration's row: two migrations would have failed on its key */
  assert_int_equal(ms_test_sql_int(s, "SELECT count(*) FROM ms_meta WHERE key = 'created_by'"), 1);
  assert_int_equal(ms_test_sql_int(s, "SELECT CAST(value AS BIGINT) FROM ms_meta WHERE key = 'schema_version'"),
                   ms_store_latest_schema());
  ms_store_close(s);
}

static void a_newer_schema_is_refused_and_left_alone(void **state) {
  fx *f = *state;
  assert_int_equal(open_child(f->uri), MS_OK);
  char sql[128];
  snprintf(sql, sizeof sql, "UPDATE ms_meta SET value = '%lld' WHERE key = 'schema_version'",
           (long long)ms_store_latest_schema() + 1);
  assert_int_equal(admin(f->uri, sql), 0);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_EUNSUPPORTED);
  assert_null(s);
  assert_non_null(strstr(ms_errmsg(), "newer libmserve"));
  assert_non_null(strstr(ms_errmsg(), "ms_store_open"));
}

static void another_applications_database_is_refused(void **state) {
  fx *f = *state;
  assert_int_equal(admin(f->uri, "CREATE TABLE theirs (x int)"), 0);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_EUNSUPPORTED);
  assert_non_null(strstr(ms_errmsg(), "another application"));
  assert_int_equal(admin(f->uri, "SELECT 1 FROM theirs"), 0);
  assert_int_equal(admin(f->uri, "SELECT 1 FROM ms_meta"), -1); /* nothing added */
}

static void bad_uris_are_einval_and_passwords_never_shown(void **state) {
  (void)state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open("postgresql://u:s3cret@127.0.0.1:5432/db?bogus_option=1", 0, &s), MS_EINVAL);
  assert_null(strstr(ms_errmsg(), "s3cret"));
  assert_non_null(strstr(ms_errmsg(), "u:***@127.0.0.1"));
  assert_int_equal(ms_store_open("postgres://u:s3cret@127.0.0.1/db has space", 0, &s), MS_EINVAL);
  assert_null(strstr(ms_errmsg(), "s3cret"));
  assert_int_equal(ms_store_open("postgresql://127.0.0.1/db?password=s3cret&x", 0, &s), MS_EINVAL);
  assert_null(strstr(ms_errmsg(), "s3cret"));
  assert_non_null(strstr(ms_errmsg(), "password=***"));
}

static void a_refused_connection_is_eio_with_libpqs_message(void **state) {
  (void)state;
  /* a port nothing listens on: the cluster's, plus one, is very likely free;
   * connect_timeout bounds the wait if it is filtered instead */
  char uri[160];
  const char *base = ms_test_pg_uri(cluster);
  int port = atoi(strrchr(base, ':') + 1);
  snprintf(uri, sizeof uri, "postgresql://who:pw123@127.0.0.1:%d/x?connect_timeout=5", port + 1);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(uri, 0, &s), MS_EIO);
  assert_null(strstr(ms_errmsg(), "pw123"));
  assert_non_null(strstr(ms_errmsg(), "cannot connect"));
  assert_non_null(strstr(ms_errmsg(), "who:***@"));
}

static const char SQL_INSERT_PLAIN[] = "INSERT INTO ms_meta(key, value) VALUES (?1, 'x')";

static int insert_op(ms_store *s, void *arg) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_INSERT_PLAIN, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, arg, -1);
  return ms__stmt_done(s, q, "insert a key");
}

static void a_unique_violation_is_eexist_and_changes_nothing(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_OK);
  assert_int_equal(ms__store_write(s, insert_op, "dup"), MS_OK);
  assert_int_equal(ms__store_write(s, insert_op, "dup"), MS_EEXIST);
  assert_non_null(strstr(ms_errmsg(), "23505"));
  assert_int_equal(ms_test_count_keys(s, "dup"), 1);
  /* the connection is usable after the failed transaction */
  assert_int_equal(ms_test_put(s, "after"), MS_OK);
  assert_int_equal(ms_test_count_keys(s, "after"), 1);
  ms_store_close(s);
}

typedef struct writer {
  ms_store *s;
  int id, n, failed;
} writer;

static void *write_many(void *arg) {
  writer *w = arg;
  char key[32];
  for (int i = 0; i < w->n; i++) {
    snprintf(key, sizeof key, "w%d:%d", w->id, i);
    /* every other write fails (a duplicate): its savepoint alone is undone */
    if (ms_test_put(w->s, key) != MS_OK) w->failed++;
    if (i % 2 && ms__store_write(w->s, insert_op, key) != MS_EEXIST) w->failed++;
  }
  return NULL;
}

static void threads_group_commit_and_fail_alone(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_OK);
  enum { T = 4 };
  writer w[T];
  pthread_t th[T];
  int n = ms_test_scale(40);
  for (int i = 0; i < T; i++) {
    w[i] = (writer){s, i, n, 0};
    assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
  }
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failed, 0);
  }
  assert_int_equal(ms_test_count_keys(s, "w%"), T * n);
  ms_store_close(s);
}

static void a_rolled_back_transaction_leaves_nothing(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_OK);
  ms_store_txn *x = NULL;
  assert_int_equal(ms__store_txn_begin(s, MS__STORE_TXN_MOVABLE, &x), MS_OK);
  assert_int_equal(insert_op(s, "gone"), MS_OK);
  assert_true(ms__store_txn_alive(x));
  ms__store_txn_rollback(x);
  assert_int_equal(ms_test_count_keys(s, "gone"), 0);
  assert_int_equal(ms__store_txn_begin(s, 0, &x), MS_OK);
  assert_int_equal(insert_op(s, "kept"), MS_OK);
  assert_int_equal(ms__store_txn_commit(x), MS_OK);
  assert_int_equal(ms_test_count_keys(s, "kept"), 1);
  ms_store_close(s);
}

static void the_connection_comes_back_after_a_server_restart(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->uri, 0, &s), MS_OK);
  assert_int_equal(ms_test_put(s, "r:before"), MS_OK);
  assert_int_equal(ms_test_pg_restart(cluster), 0);
  /* the first call after the loss may fail with MS_EIO (libpq's message);
   * by the next one the store has connected again by itself */
  int st = ms_test_put(s, "r:after");
  if (st != MS_OK) {
    assert_int_equal(st, MS_EIO);
    assert_int_equal(ms_test_put(s, "r:after"), MS_OK);
  }
  assert_int_equal(ms_test_count_keys(s, "r:%"), 2);
  /* a read outside any transaction reconnects too */
  assert_int_equal(ms_test_pg_restart(cluster), 0);
  int64_t n = ms_test_count_keys(s, "r:%");
  if (n < 0) n = ms_test_count_keys(s, "r:%");
  assert_int_equal(n, 2);
  ms_store_close(s);
}

static int group_setup(void **state) {
  (void)state;
  return cluster ? 0 : -1;
}

int main(void) {
  char why[512];
  cluster = ms_test_pg_start(why, sizeof why);
  if (!cluster) {
    printf("unit_store_pg: skipped: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(opens_migrates_and_keeps_what_it_writes, setup, teardown),
      cmocka_unit_test_setup_teardown(hosts_opening_at_once_migrate_once, setup, teardown),
      cmocka_unit_test_setup_teardown(a_newer_schema_is_refused_and_left_alone, setup, teardown),
      cmocka_unit_test_setup_teardown(another_applications_database_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_uris_are_einval_and_passwords_never_shown, setup, teardown),
      cmocka_unit_test_setup_teardown(a_refused_connection_is_eio_with_libpqs_message, setup, teardown),
      cmocka_unit_test_setup_teardown(a_unique_violation_is_eexist_and_changes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(threads_group_commit_and_fail_alone, setup, teardown),
      cmocka_unit_test_setup_teardown(a_rolled_back_transaction_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(the_connection_comes_back_after_a_server_restart, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, group_setup, NULL);
  ms_test_pg_stop(cluster);
  return rc;
}
