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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "pg_cluster.h"
#include "store/pg/pg.h"
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

/* The first column of the first row of sql on uri's database, through libpq
 * directly; -1 without one. */
static int64_t admin_int(const char *uri, const char *sql) {
  PGconn *k = PQconnectdb(uri);
  PGresult *r = PQexec(k, sql);
  int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)
                  ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
  PQclear(r);
  PQfinish(k);
  return v;
}

/* uri with pool_max=n added to its query string (free it). */
static char *with_pool(const char *uri, int n) {
  char *out = malloc(strlen(uri) + 32);
  assert_non_null(out);
  sprintf(out, "%s%cpool_max=%d", uri, strchr(uri, '?') ? '&' : '?', n);
  return out;
}

/* The server's sessions of this process on uri's database (the store names
 * its sessions libmserve@<host>:<pid>). */
static int64_t my_backends(const char *uri) {
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                            "application_name LIKE 'libmserve@%%:%ld'", (long)getpid());
  return admin_int(uri, sql);
}

typedef struct pool_job {
  ms_store *s;
  const char *uri;
  int id, n, failed;
  int64_t most_backends;
  _Atomic int *stop;
} pool_job;

static void *pool_writer(void *arg) {
  pool_job *j = arg;
  char key[32];
  for (int i = 0; i < j->n; i++) {
    snprintf(key, sizeof key, "p%d:%d", j->id, i);
    if (ms_test_put(j->s, key) != MS_OK) j->failed++;
  }
  return NULL;
}

/* A reader sees the committed rows only, and never fewer than before. */
static void *pool_reader(void *arg) {
  pool_job *j = arg;
  int64_t last = 0;
  for (int i = 0; i < j->n; i++) {
    int64_t n = ms_test_count_keys(j->s, "p%");
    if (n < last) j->failed++;
    if (n > last) last = n;
  }
  return NULL;
}

static void *pool_watcher(void *arg) {
  pool_job *j = arg;
  while (!*j->stop) {
    int64_t n = my_backends(j->uri);
    if (n > j->most_backends) j->most_backends = n;
    usleep(2000);
  }
  return NULL;
}

static void readers_and_writers_share_one_handle_within_the_pool_bound(void **state) {
  fx *f = *state;
  enum { W = 3, R = 4, MAX = 3 };
  char *uri = with_pool(f->uri, MAX);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(uri, 0, &s), MS_OK);
  _Atomic int stop = 0;
  pool_job watch = {.uri = f->uri, .stop = &stop};
  pthread_t wt;
  assert_int_equal(pthread_create(&wt, NULL, pool_watcher, &watch), 0);
  pool_job jobs[W + R];
  pthread_t th[W + R];
  int n = ms_test_scale(60);
  for (int i = 0; i < W + R; i++) {
    jobs[i] = (pool_job){.s = s, .id = i, .n = n};
    assert_int_equal(pthread_create(&th[i], NULL, i < W ? pool_writer : pool_reader, &jobs[i]), 0);
  }
  for (int i = 0; i < W + R; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(jobs[i].failed, 0);
  }
  stop = 1;
  pthread_join(wt, NULL);
  assert_int_equal(ms_test_count_keys(s, "p%"), W * n);
  /* the bound holds, the main connection included; the readers did get
   * connections of their own */
  assert_true(watch.most_backends <= MAX);
  assert_true(ms__pg_pool_open_count(s) >= 1 && ms__pg_pool_open_count(s) <= MAX - 1);
  assert_int_equal(my_backends(f->uri), 1 + ms__pg_pool_open_count(s));
  ms_store_close(s);
  assert_int_equal(my_backends(f->uri), 0);
  free(uri);
}

static void *put_while_held(void *arg) {
  pool_job *j = arg;
  j->failed = ms_test_put(j->s, "held:w") != MS_OK || ms_test_count_keys(j->s, "held:%") != 1;
  return NULL;
}

static void a_thread_reading_does_not_hold_up_writers_or_readers(void **state) {
  fx *f = *state;
  char *uri = with_pool(f->uri, 3);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(uri, 0, &s), MS_OK);
  /* this thread holds a read: on one shared connection (before the pool)
   * the write and the read of the other thread waited until it ended */
  assert_int_equal(ms__store_read_apart_begin(s), MS_OK);
  assert_int_equal(ms__store_write(s, insert_op, "refused"), MS_EBUSY); /* a reader does not write */
  pool_job j = {.s = s};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, put_while_held, &j), 0);
  pthread_join(th, NULL);
  assert_int_equal(j.failed, 0);
  ms__store_read_end(s);
  assert_int_equal(ms_test_count_keys(s, "refused"), 0);
  ms_store_close(s);
  free(uri);
}

static void a_lost_pooled_connection_comes_back_on_the_next_call(void **state) {
  fx *f = *state;
  char *uri = with_pool(f->uri, 2);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(uri, 0, &s), MS_OK);
  assert_int_equal(ms_test_put(s, "l:1"), MS_OK);
  assert_int_equal(ms_test_count_keys(s, "l:%"), 1); /* on the pool's one connection */
  assert_int_equal(ms__pg_pool_open_count(s), 1);
  char sql[320];
  snprintf(sql, sizeof sql, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND application_name LIKE 'libmserve@%%:%ld' AND pid <> %d",
           (long)getpid(), ms__pg_backend_pid(s));
  assert_int_equal(admin_int(f->uri, sql), 1);
  /* the call that finds it lost may fail (MS_EIO); the next one connects again */
  int64_t n = ms_test_count_keys(s, "l:%");
  if (n != 1) {
    assert_int_equal(n, -1);
    assert_non_null(strstr(ms_errmsg(), "count keys"));
    n = ms_test_count_keys(s, "l:%");
  }
  assert_int_equal(n, 1);
  assert_int_equal(my_backends(f->uri), 2);
  /* the writes' main connection was not touched */
  assert_int_equal(ms_test_put(s, "l:2"), MS_OK);
  assert_int_equal(ms_test_count_keys(s, "l:%"), 2);
  ms_store_close(s);
  free(uri);
}

static void pool_max_is_checked_and_one_lends_nothing(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  char *bad = with_pool(f->uri, 0);
  assert_int_equal(ms_store_open(bad, 0, &s), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "pool_max"));
  assert_null(s);
  free(bad);
  char *one = with_pool(f->uri, 1);
  assert_int_equal(ms_store_open(one, 0, &s), MS_OK);
  assert_int_equal(ms_test_put(s, "o:1"), MS_OK);
  assert_int_equal(ms_test_count_keys(s, "o:%"), 1); /* under the write lock, on the main connection */
  assert_int_equal(ms__pg_pool_open_count(s), 0);
  assert_int_equal(my_backends(f->uri), 1);
  ms_store_close(s);
  free(one);
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
      cmocka_unit_test_setup_teardown(readers_and_writers_share_one_handle_within_the_pool_bound, setup, teardown),
      cmocka_unit_test_setup_teardown(a_thread_reading_does_not_hold_up_writers_or_readers, setup, teardown),
      cmocka_unit_test_setup_teardown(a_lost_pooled_connection_comes_back_on_the_next_call, setup, teardown),
      cmocka_unit_test_setup_teardown(pool_max_is_checked_and_one_lends_nothing, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, group_setup, NULL);
  ms_test_pg_stop(cluster);
  return rc;
}
