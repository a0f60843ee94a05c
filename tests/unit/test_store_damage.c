/* Unit tests: a damaged database (a table, index or column gone, an
 * impossible schema version) is MS_ECORRUPT with the damage named, at open
 * and in every part that meets it later; the file is left as it was.
 * MS_EINTERNAL stays for libmserve's own bugs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mserve.h"
#include "schema/schema.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "testutil.h"

typedef ms_test_db fx;

/* Run SQL on the file with SQLite directly, as an operator (or a bad disk)
 * would. */
static void raw(const char *db, const char *sql) {
  sqlite3 *h = NULL;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  char *err = NULL;
  int rc = sqlite3_exec(h, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
  sqlite3_close(h);
}

static int64_t raw_int(const char *db, const char *sql) {
  sqlite3 *h = NULL;
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(h);
  return v;
}

/* Names (and types) of libmserve's objects in a freshly migrated store. */
typedef struct object {
  char type[16], name[128];
} object;

static size_t list_objects(const char *db, object *out, size_t cap) {
  sqlite3 *h = NULL;
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite%' "
                                         "ORDER BY name", -1, &q, NULL), SQLITE_OK);
  size_t n = 0;
  while (sqlite3_step(q) == SQLITE_ROW && n < cap) {
    snprintf(out[n].type, sizeof out[n].type, "%s", (const char *)sqlite3_column_text(q, 0));
    snprintf(out[n].name, sizeof out[n].name, "%s", (const char *)sqlite3_column_text(q, 1));
    n++;
  }
  sqlite3_finalize(q);
  sqlite3_close(h);
  return n;
}

static void fresh_store(const char *db) {
  remove(db);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(db, 0, &s), MS_OK);
  ms_store_close(s);
}

static char *fresh_path(fx *f, const char *tag, int i) {
  char name[96];
  snprintf(name, sizeof name, "%s-%d.db", tag, i);
  char *p = ms_test_path(f->dir, name);
  fresh_store(p);
  return p;
}

/* Every table and index of the schema, dropped in turn: opening says which
 * one is missing, and leaves the file alone. */
static void missing_table_or_index_is_named_at_open(void **state) {
  fx *f = *state;
  fresh_store(f->db);
  object objs[128];
  size_t n = list_objects(f->db, objs, 128);
  assert_true(n >= 5);
  for (size_t i = 0; i < n; i++) {
    char *p = fresh_path(f, "drop", (int)i);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP %.15s %.127s", objs[i].type, objs[i].name);
    raw(p, sql);
    int64_t version = raw_int(p, "PRAGMA user_version");
    int64_t objects = raw_int(p, "SELECT count(*) FROM sqlite_schema");
    ms_store *s = NULL;
    int st = ms_store_open(p, 0, &s);
    if (st != MS_ECORRUPT) fail_msg("dropped %s '%s': %s (%s)", objs[i].type, objs[i].name, ms_status_name(st), ms_errmsg());
    assert_null(s);
    char want[256];
    snprintf(want, sizeof want, "%.15s '%.127s' is missing", objs[i].type, objs[i].name);
    if (!strstr(ms_errmsg(), want)) fail_msg("dropped %s: message '%s'", objs[i].name, ms_errmsg());
    assert_non_null(strstr(ms_errmsg(), p));
    assert_int_equal(raw_int(p, "PRAGMA user_version"), version);
    assert_int_equal(raw_int(p, "SELECT count(*) FROM sqlite_schema"), objects);
    free(p);
  }
}

/* Every column SQLite lets us drop, in turn: opening names table and column. */
static void missing_column_is_named_at_open(void **state) {
  fx *f = *state;
  fresh_store(f->db);
  object objs[128];
  size_t n = list_objects(f->db, objs, 128);
  int tried = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(objs[i].type, "table") != 0) continue;
    sqlite3 *h = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info('%.127s')", objs[i].name);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK);
    char cols[32][64];
    int nc = 0;
    while (sqlite3_step(q) == SQLITE_ROW && nc < 32)
      snprintf(cols[nc++], sizeof cols[0], "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(h);
    for (int c = 0; c < nc; c++) {
      char *p = fresh_path(f, "col", tried + 1000 * (int)i);
      sqlite3 *w = NULL;
      assert_int_equal(sqlite3_open(p, &w), SQLITE_OK);
      snprintf(sql, sizeof sql, "ALTER TABLE %.127s DROP COLUMN %.63s", objs[i].name, cols[c]);
      int rc = sqlite3_exec(w, sql, NULL, NULL, NULL); /* refused for keys, indexed or checked columns */
      sqlite3_close(w);
      if (rc == SQLITE_OK) {
        tried++;
        ms_store *s = NULL;
        assert_int_equal(ms_store_open(p, 0, &s), MS_ECORRUPT);
        char want[256];
        snprintf(want, sizeof want, "table '%.127s' has no column '%.63s'", objs[i].name, cols[c]);
        if (!strstr(ms_errmsg(), want)) fail_msg("dropped %s.%s: message '%s'", objs[i].name, cols[c], ms_errmsg());
      }
      free(p);
    }
  }
  assert_true(tried >= 3);
}

static void set_version(const char *db, int64_t v) {
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%lld", (long long)v);
  raw(db, sql);
}

/* user_version values no libmserve ever writes over these tables. Each is
 * refused as damage and the file is left exactly as it was. */
static void impossible_schema_versions_are_corrupt(void **state) {
  fx *f = *state;
  int64_t latest = ms_store_latest_schema();
  /* user_version is 32 bits. latest - 2: migration 7 only moves rows, so tables labelled 6 are a real
   * version 6 (it migrates); labelled 5, they hold a table version 5 never had. */
  const int64_t bad[] = {-1, -4096, INT32_MIN, 0, 1, latest - 2};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *p = fresh_path(f, "version", (int)i);
    set_version(p, bad[i]);
    int64_t objects = raw_int(p, "SELECT count(*) FROM sqlite_schema");
    ms_store *s = NULL;
    int st = ms_store_open(p, 0, &s);
    if (st != MS_ECORRUPT) fail_msg("user_version %lld: %s (%s)", (long long)bad[i], ms_status_name(st), ms_errmsg());
    assert_null(s);
    assert_non_null(strstr(ms_errmsg(), "schema version"));
    assert_non_null(strstr(ms_errmsg(), p));
    assert_int_equal(raw_int(p, "PRAGMA user_version"), bad[i]);
    assert_int_equal(raw_int(p, "SELECT count(*) FROM sqlite_schema"), objects);
    free(p);
  }
}

/* A database at an earlier version that lacks a table of that version: the
 * missing table is named and nothing of the later migrations is added. */
static void damaged_old_version_is_not_migrated(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms__schema_open_at(f->db, 0, 2, &s), MS_OK);
  ms_store_close(s);
  raw(f->db, "DROP TABLE tracker_limits");
  int64_t objects = raw_int(f->db, "SELECT count(*) FROM sqlite_schema");
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "table 'tracker_limits' is missing"));
  assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 2);
  assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_schema"), objects);
}

/* Damage that appears while the parts are open (another program drops a
 * table or a column): each part reports MS_ECORRUPT naming it. */
static void damage_met_later_is_corrupt_in_every_part(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  ms_tracker *t = NULL;
  ms_registry *r = NULL;
  ms_autoscaler *a = NULL;
  assert_int_equal(ms_tracker_open(s, &t), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  assert_int_equal(ms_autoscaler_open(s, &a), MS_OK);
  assert_int_equal(ms_tracker_set_limit(t, "user:a", MS_CLASS_COMPUTE, 3), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 1), MS_OK);

  raw(f->db, "DROP TABLE tracker_limits; DROP TABLE autoscaler_endpoint; DROP TABLE autoscaler_history");
  assert_int_equal(ms_tracker_set_limit(t, "user:a", MS_CLASS_COMPUTE, 2), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "table 'tracker_limits' is missing"));
  assert_non_null(strstr(ms_errmsg(), f->db));
  int64_t limit = 0;
  assert_int_equal(ms_tracker_get_limit(t, "user:a", MS_CLASS_COMPUTE, &limit), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "table 'tracker_limits' is missing"));
  assert_int_equal(limit, 0); /* untouched */
  assert_int_equal(ms_autoscaler_set_replicas(a, "other", 2), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "table 'autoscaler_endpoint' is missing"));
  ms_decisions *d = NULL;
  assert_int_equal(ms_autoscaler_history(a, "ep", 10, &d), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "is missing"));
  assert_null(d);

  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(r, "x", NULL, &m), MS_ENOTFOUND);
  raw(f->db, "ALTER TABLE registry_models DROP COLUMN handler");
  assert_int_equal(ms_registry_get(r, "x", NULL, &m), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "table 'registry_models' has no column 'handler'"));
  raw(f->db, "DROP TABLE registry_models");
  assert_int_equal(ms_registry_get(r, "x", NULL, &m), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "table 'registry_models' is missing"));
  assert_null(m);

  ms_autoscaler_close(a);
  ms_registry_close(r);
  ms_tracker_close(t);
  ms_store_close(s);
}

/* SQL of libmserve's own naming something the schema never had is a bug,
 * not damage. */
static void unknown_names_stay_internal_errors(void **state) {
  (void)state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(":memory:", 0, &s), MS_OK);
  assert_int_equal(ms__store_read_begin(s), MS_OK);
  int st = MS_OK;
  assert_null(ms__store_stmt(s, "SELECT * FROM no_such_table_of_ours", &st));
  assert_int_equal(st, MS_EINTERNAL);
  assert_null(ms__store_stmt(s, "SELECT no_such_column_of_ours FROM ms_meta", &st));
  assert_int_equal(st, MS_EINTERNAL);
  /* a real column, named on a table that does not have it: also ours */
  assert_null(ms__store_stmt(s, "SELECT handler FROM ms_meta", &st));
  assert_int_equal(st, MS_EINTERNAL);
  ms__store_read_end(s);
  ms_store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(missing_table_or_index_is_named_at_open, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(missing_column_is_named_at_open, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(impossible_schema_versions_are_corrupt, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(damaged_old_version_is_not_migrated, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(damage_met_later_is_corrupt_in_every_part, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test(unknown_names_stay_internal_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
