/* Unit tests: opening, migrating and sharing a store. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "mserve.h"
#include "schema/schema.h"
#include "store/schema.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "testutil.h"

typedef ms_test_db fx;

static int64_t pragma_int(ms_store *s, const char *sql) {
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

static const char *pragma_text(ms_store *s, const char *sql, char *buf, size_t cap) {
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  return buf;
}

static void memory_store_opens_at_latest_schema(void **state) {
  (void)state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  int64_t v = -1;
  assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
  assert_int_equal(v, ms_store_latest_schema());
  assert_true(v >= 1);
  ms_store_close(s);
  ms_store_close(NULL);
}

static void file_store_uses_wal_normal_and_foreign_keys(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  char buf[32];
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_string_equal(pragma_text(s, "PRAGMA journal_mode", buf, sizeof buf), "wal");
  assert_int_equal(pragma_int(s, "PRAGMA synchronous"), 1);
  assert_int_equal(pragma_int(s, "PRAGMA foreign_keys"), 1);
  ms_store_close(s);

  assert_int_equal(ms_store_open(f->db, MS_STORE_DURABLE, &s), MS_OK);
  assert_int_equal(pragma_int(s, "PRAGMA synchronous"), 2);
  ms_store_close(s);
}

/* New databases get 2 KiB pages; one made elsewhere with other pages keeps
 * them (and its data) when a store opens it. */
static void page_size_of_new_and_existing_databases(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(pragma_int(s, "PRAGMA page_size"), 2048);
  ms_store_close(s);
  char *other = ms_test_path(f->dir, "big-pages.db");
  sqlite3 *raw = NULL;
  assert_int_equal(sqlite3_open(other, &raw), SQLITE_OK);
  assert_int_equal(sqlite3_exec(raw, "PRAGMA page_size=8192; VACUUM;", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(raw);
  assert_int_equal(ms_store_open(other, 0, &s), MS_OK); /* empty: libmserve makes it its own */
  assert_int_equal(pragma_int(s, "PRAGMA page_size"), 8192);
  ms_store_close(s);
  assert_int_equal(ms_store_open(other, 0, &s), MS_OK);
  assert_int_equal(pragma_int(s, "PRAGMA page_size"), 8192);
  assert_int_equal(pragma_int(s, "SELECT count(*) FROM ms_meta WHERE key = 'created_by'"), 1);
  ms_store_close(s);
  free(other);
}

static void bad_arguments_are_einval(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(NULL, 0, &s), MS_EINVAL);
  assert_int_equal(ms_store_open(f->db, 0, NULL), MS_EINVAL);
  assert_int_equal(ms_store_open("", 0, &s), MS_EINVAL);
  assert_int_equal(ms_store_open(f->db, 0x80, &s), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "unknown flags"));
  assert_null(s);
  assert_int_equal(ms_store_set_busy_timeout(NULL, 1), MS_EINVAL);
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s, -1), MS_EINVAL);
  assert_int_equal(ms_store_schema_version(s, NULL), MS_EINVAL);
  ms_store_close(s);
}

static void nocreate_refuses_missing_file(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, MS_STORE_NOCREATE, &s), MS_ENOTFOUND);
  assert_non_null(strstr(ms_errmsg(), f->db));
  assert_int_equal(access(f->db, F_OK), -1);
}

static void migrates_from_empty_and_every_earlier_version(void **state) {
  fx *f = *state;
  int64_t latest = ms_store_latest_schema();
  for (int64_t from = 0; from < latest; from++) {
    char name[64];
    snprintf(name, sizeof name, "from-%lld.db", (long long)from);
    char *path = ms_test_path(f->dir, name);
    ms_store *s = NULL;
    assert_int_equal(ms__schema_open_at(path, 0, from, &s), MS_OK);
    int64_t v = -1;
    assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
    assert_int_equal(v, from);
    ms_store_close(s);

    assert_int_equal(ms_store_open(path, 0, &s), MS_OK);
    assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
    assert_int_equal(v, latest);
    /* Every migration's effect is present exactly once. */
    assert_int_equal(pragma_int(s, "SELECT count(*) FROM ms_meta WHERE key='created_by'"), 1);
    ms_store_close(s);
    /* Reopening an up-to-date store changes nothing. */
    assert_int_equal(ms_store_open(path, 0, &s), MS_OK);
    assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
    assert_int_equal(v, latest);
    ms_store_close(s);
    free(path);
  }
}

static void newer_schema_is_refused(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%lld", (long long)(ms_store_latest_schema() + 1));
  assert_int_equal(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
  ms_store_close(s);
  s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_EUNSUPPORTED);
  assert_null(s);
  assert_non_null(strstr(ms_errmsg(), "newer libmserve"));
  assert_non_null(strstr(ms_errmsg(), f->db));
}

static void garbage_file_is_corrupt(void **state) {
  fx *f = *state;
  char junk[8192];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 7 + 3);
  assert_int_equal(ms_test_write_file(f->db, junk, sizeof junk), 0);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_ECORRUPT);
  assert_null(s);
  assert_non_null(strstr(ms_errmsg(), f->db));
  assert_non_null(strstr(ms_errmsg(), "not an SQLite database"));
}

static void foreign_database_is_refused(void **state) {
  fx *f = *state;
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE theirs(x); INSERT INTO theirs VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_EUNSUPPORTED);
  assert_non_null(strstr(ms_errmsg(), "another application"));
  /* ...and their data is untouched. */
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 1);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

static void unwritable_location_is_eio(void **state) {
  fx *f = *state;
  /* A regular file used as a folder cannot hold a database, even for root. */
  char *blocker = ms_test_path(f->dir, "plainfile");
  assert_int_equal(ms_test_write_file(blocker, "x", 1), 0);
  char *path = ms_test_path(blocker, "store.db");
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(path, 0, &s), MS_EIO);
  assert_null(s);
  assert_non_null(strstr(ms_errmsg(), path));
  free(path);
  free(blocker);
}

static const char SQL_INSERT[] = "INSERT INTO ms_meta(key, value) VALUES (?1, 'v')";

/* Rows written by concurrent writers must all arrive. */
static int insert_rows(const char *db, const char *tag, int n) {
  ms_store *s = NULL;
  if (ms_store_open(db, 0, &s) != MS_OK) return 1;
  int errors = 0;
  for (int i = 0; i < n; i++) {
    ms_store_txn *x = NULL;
    if (ms__store_txn_begin(s, 0, &x) != MS_OK) {
      errors++;
      continue;
    }
    sqlite3_stmt *st = ms__store_stmt(s, SQL_INSERT, NULL);
    char key[64];
    snprintf(key, sizeof key, "%s-%d", tag, i);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
      errors++;
      ms__store_txn_rollback(x);
      continue;
    }
    if (ms__store_txn_commit(x) != MS_OK) errors++;
  }
  ms_store_close(s);
  return errors;
}

static void two_processes_write_concurrently_without_loss(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK); /* create + migrate once */
  ms_store_close(s);
  const int per = 500;
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = fork();
    assert_true(kids[k] >= 0);
    if (kids[k] == 0) {
      char tag[16];
      snprintf(tag, sizeof tag, "p%d", k);
      _exit(insert_rows(f->db, tag, per) ? 1 : 0);
    }
  }
  for (int k = 0; k < 2; k++) {
    int ws;
    assert_int_equal(waitpid(kids[k], &ws, 0), kids[k]);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
  }
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(pragma_int(s, "SELECT count(*) FROM ms_meta WHERE key LIKE 'p%-%'"), 2 * per);
  ms_store_close(s);
}

typedef struct thread_arg {
  ms_store *s;
  int id;
  int errors;
} thread_arg;

static void *thread_writer(void *p) {
  thread_arg *a = p;
  for (int i = 0; i < 200; i++) {
    ms_store_txn *x = NULL;
    if (ms__store_txn_begin(a->s, 0, &x) != MS_OK) {
      a->errors++;
      continue;
    }
    sqlite3_stmt *st = ms__store_stmt(a->s, SQL_INSERT, NULL);
    char key[64];
    snprintf(key, sizeof key, "t%d-%d", a->id, i);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
      a->errors++;
      ms__store_txn_rollback(x);
    } else if (ms__store_txn_commit(x) != MS_OK) {
      a->errors++;
    }
  }
  return NULL;
}

static void threads_share_one_handle(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  pthread_t th[4];
  thread_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (thread_arg){s, i, 0};
    assert_int_equal(pthread_create(&th[i], NULL, thread_writer, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].errors, 0);
  }
  assert_int_equal(pragma_int(s, "SELECT count(*) FROM ms_meta WHERE key LIKE 't%-%'"), 800);
  ms_store_close(s);
}

static void reentering_an_open_transaction_is_ebusy_not_deadlock(void **state) {
  (void)state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  ms_store_txn *x = NULL, *y = NULL;
  assert_int_equal(ms__store_txn_begin(s, 0, &x), MS_OK);
  assert_int_equal(ms__store_txn_begin(s, 0, &y), MS_EBUSY);
  assert_non_null(strstr(ms_errmsg(), "already holds"));
  assert_null(y);
  int64_t v;
  assert_int_equal(ms_store_schema_version(s, &v), MS_EBUSY);
  ms__store_txn_rollback(x);
  assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
  ms_store_close(s);
}

static void busy_timeout_gives_ebusy_and_store_unchanged(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s, 30000), MS_OK);
  sqlite3 *other;
  assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
  assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  int64_t t0 = ms_clock_monotonic_us();
  ms_store_txn *x = NULL;
  assert_int_equal(ms__store_txn_begin(s, 0, &x), MS_EBUSY);
  int64_t waited = ms_clock_monotonic_us() - t0;
  assert_true(waited >= 30000); /* it did wait for the timeout, not fail at once */
  assert_non_null(strstr(ms_errmsg(), "busy timeout"));
  assert_null(x);
  sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(other);
  assert_int_equal(ms__store_txn_begin(s, 0, &x), MS_OK);
  ms__store_txn_rollback(x);
  ms_store_close(s);
}

/* Every failure of a public store call starts with the part, the call and
 * the store's path, then the cause (common/error.h). */
static void public_calls_name_the_call_and_the_store(void **state) {
  fx *f = *state;
  char want[4096];
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(NULL, 0, &s), MS_EINVAL);
  assert_string_equal(ms_errmsg(), "store: ms_store_open: path is NULL");
  assert_int_equal(ms_store_open(f->db, 0x80, &s), MS_EINVAL);
  snprintf(want, sizeof want, "store: ms_store_open: '%s': unknown flags 0x80", f->db);
  assert_string_equal(ms_errmsg(), want);
  char junk[4096];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 13 + 1);
  char *bad = ms_test_path(f->dir, "junk.db");
  assert_int_equal(ms_test_write_file(bad, junk, sizeof junk), 0);
  assert_int_equal(ms_store_open(bad, 0, &s), MS_ECORRUPT);
  snprintf(want, sizeof want, "store: ms_store_open: '%s': the file is not an SQLite database", bad);
  assert_string_equal(ms_errmsg(), want);
  free(bad);
  assert_null(s);

  assert_int_equal(ms_store_set_busy_timeout(NULL, 1), MS_EINVAL);
  assert_string_equal(ms_errmsg(), "store: ms_store_set_busy_timeout: store is NULL");
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s, -1), MS_EINVAL);
  snprintf(want, sizeof want, "store: ms_store_set_busy_timeout: '%s': busy timeout -1 us is negative", f->db);
  assert_string_equal(ms_errmsg(), want);
  assert_int_equal(ms_store_set_autocheckpoint(s, -1), MS_EINVAL);
  snprintf(want, sizeof want, "store: ms_store_set_autocheckpoint: '%s': ", f->db);
  assert_memory_equal(ms_errmsg(), want, strlen(want));
  ms_store_txn *x = NULL;
  assert_int_equal(ms__store_txn_begin(s, 0, &x), MS_OK);
  int64_t v = 7;
  assert_int_equal(ms_store_schema_version(s, &v), MS_EBUSY);
  snprintf(want, sizeof want,
           "store: ms_store_schema_version: '%s': this thread already holds the store in an open transaction; "
           "commit or roll it back first", f->db);
  assert_string_equal(ms_errmsg(), want);
  assert_int_equal(v, 7);
  ms__store_txn_rollback(x);
  ms_store_close(s);

  assert_int_equal(ms_store_open(f->db, MS_STORE_READONLY, &s), MS_OK);
  assert_int_equal(ms_store_checkpoint(s, NULL), MS_EINVAL);
  snprintf(want, sizeof want,
           "store: ms_store_checkpoint: '%s': opened read-only (MS_STORE_READONLY): writes are refused", f->db);
  assert_string_equal(ms_errmsg(), want);
  ms_store_close(s);
}

/* The store migrates with whatever list its opener gives and knows no part:
 * with a list of its own table and one test table it builds exactly those,
 * checks a database against that list, and names what is missing from it. */
static const char SQL_TEST_TABLE[] = "CREATE TABLE t_extra (x INTEGER NOT NULL)";

static void a_store_migrates_with_the_list_it_is_given(void **state) {
  fx *f = *state;
  static const ms_migration mine[] = {
      {1, "store metadata", ms__store_schema_v1, NULL},
      {2, "a test table", SQL_TEST_TABLE, NULL},
  };
  ms_store *s = NULL;
  assert_int_equal(ms__store_open(f->db, 0, mine, 2, -1, &s), MS_OK);
  int64_t v = 0;
  assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
  assert_int_equal(v, 2);
  assert_int_equal(pragma_int(s, "SELECT count(*) FROM sqlite_schema WHERE name = 't_extra'"), 1);
  assert_int_equal(pragma_int(s, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'tracker%'"), 0);
  ms_store_close(s);
  /* up to date for this list: opened again without change */
  assert_int_equal(ms__store_open(f->db, 0, mine, 2, -1, &s), MS_OK);
  assert_int_equal(sqlite3_exec(s->db, "DROP TABLE t_extra", NULL, NULL, NULL), SQLITE_OK);
  ms_store_close(s);
  s = NULL;
  assert_int_equal(ms__store_open(f->db, 0, mine, 2, -1, &s), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "table 't_extra' is missing"));
  /* the library's list says version 2 is the tracker's tables: not these */
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "is missing"));
  assert_null(s);
}

static const char SQL_PUT_ROW[] = "INSERT INTO ms_meta(key, value) VALUES (?1, 'v')";
static const char SQL_R_KEYS[] = "SELECT key FROM ms_meta WHERE key LIKE 'r-%' ORDER BY key";

/* The one "step, reset, map the error" helper, its row-reading twin and the
 * savepoints of store/conn.h. */
static void statement_helpers_reset_unbind_and_name_the_error(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  ms_store_txn *x = NULL;
  assert_int_equal(ms__store_txn_begin(s, 0, &x), MS_OK);
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_PUT_ROW, &st);
  assert_non_null(q);
  sqlite3_bind_text(q, 1, "r-1", -1, SQLITE_STATIC);
  assert_int_equal(ms__store_step_done(s, q, "put r-1"), MS_OK);
  sqlite3_bind_text(q, 1, "r-1", -1, SQLITE_STATIC);
  assert_int_equal(ms__store_step_done(s, q, "put r-1 again"), MS_EEXIST); /* as PostgreSQL's 23505 */
  char want[4096];
  snprintf(want, sizeof want, "store '%s': put r-1 again: UNIQUE constraint failed: ms_meta.key", f->db);
  assert_string_equal(ms_errmsg(), want);
  /* reset and unbound: stepped again it inserts a NULL key, which the table refuses as NULL */
  assert_int_equal(ms__store_step_done(s, q, "put nothing"), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "NOT NULL constraint failed"));
  sqlite3_bind_text(q, 1, "r-2", -1, SQLITE_STATIC);
  assert_int_equal(ms__store_step_done(s, q, "put r-2"), MS_OK);

  int row = -1, seen = 0;
  q = ms__store_stmt(s, SQL_R_KEYS, &st);
  assert_non_null(q);
  while ((st = ms__store_step_row(s, q, "list keys", &row)) == MS_OK && row) seen++;
  assert_int_equal(st, MS_OK);
  assert_int_equal(seen, 2);
  assert_int_equal(row, 0);
  assert_int_equal(ms__store_step_row(s, q, "list keys", &row), MS_OK); /* done resets: from the start */
  assert_int_equal(row, 1);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "r-1");
  sqlite3_reset(q);

  /* a savepoint undoes one call's work and keeps the call's message */
  assert_int_equal(ms__store_savepoint(s), MS_OK);
  q = ms__store_stmt(s, SQL_PUT_ROW, &st);
  sqlite3_bind_text(q, 1, "r-undone", -1, SQLITE_STATIC);
  assert_int_equal(ms__store_step_done(s, q, "put r-undone"), MS_OK);
  assert_int_equal(ms__store_savepoint_end(s, ms__fail(MS_ELIMIT, "the call's own reason")), MS_ELIMIT);
  assert_string_equal(ms_errmsg(), "the call's own reason");
  assert_int_equal(ms__store_savepoint(s), MS_OK);
  q = ms__store_stmt(s, SQL_PUT_ROW, &st);
  sqlite3_bind_text(q, 1, "r-kept", -1, SQLITE_STATIC);
  assert_int_equal(ms__store_step_done(s, q, "put r-kept"), MS_OK);
  assert_int_equal(ms__store_savepoint_end(s, MS_OK), MS_OK);
  assert_true(ms__store_txn_alive(x));
  assert_int_equal(ms__store_txn_commit(x), MS_OK);
  assert_int_equal(ms_test_count_keys(s, "r-%"), 3);
  assert_int_equal(ms_test_count_keys(s, "r-undone"), 0);
  ms_store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(memory_store_opens_at_latest_schema),
      cmocka_unit_test_setup_teardown(file_store_uses_wal_normal_and_foreign_keys, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(page_size_of_new_and_existing_databases, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(bad_arguments_are_einval, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(nocreate_refuses_missing_file, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(migrates_from_empty_and_every_earlier_version, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(newer_schema_is_refused, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(garbage_file_is_corrupt, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(foreign_database_is_refused, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(unwritable_location_is_eio, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(two_processes_write_concurrently_without_loss, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(threads_share_one_handle, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test(reentering_an_open_transaction_is_ebusy_not_deadlock),
      cmocka_unit_test_setup_teardown(busy_timeout_gives_ebusy_and_store_unchanged, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(public_calls_name_the_call_and_the_store, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(a_store_migrates_with_the_list_it_is_given, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(statement_helpers_reset_unbind_and_name_the_error, ms_test_db_setup,
                                      ms_test_db_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
