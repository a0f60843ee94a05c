/* Unit tests: what a scan reports and decides beyond adding and updating —
 * two archives declaring one name and version (a deterministic winner, one
 * CONFLICT entry naming both files, a scan that still succeeds), archives
 * unregistered through the API staying out until they change, names the
 * scan does not read reported with the reason (SKIPPED), min_workers above
 * max_workers (refused by ms_registry_update, reported from files), and
 * every setting of a snapshot listed with its source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry_testutil.h"
#include "schema/schema.h"
#include "store/store_internal.h"
#include "pg_cluster.h"
#include "store_fixture.h"
#include "testutil.h"

typedef struct fx {
  char *dir, *db, *models;
  ms_store *s;
  ms_registry *r;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("regscan");
  f->db = ms_test_store_path(f->dir, "store.db");
  f->models = ms_test_path(f->dir, "models");
  mkdir(f->models, 0755);
  if (ms_store_open(f->db, 0, &f->s) || ms_registry_open(f->s, NULL, &f->r)) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ms_registry_close(f->r);
  ms_store_close(f->s);
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->db);
  free(f->models);
  free(f);
  return 0;
}

static void reopen(fx *f) {
  ms_registry_close(f->r);
  ms_store_close(f->s);
  assert_int_equal(ms_store_open(f->db, 0, &f->s), MS_OK);
  assert_int_equal(ms_registry_open(f->s, NULL, &f->r), MS_OK);
}

/* <models>/<file>: a .mar of name/version with createdOn (NULL: none) and a
 * payload that makes its content unique. */
static char *mar_created(fx *f, const char *file, const char *name, const char *version, const char *created,
                         const char *payload) {
  char *p = ms_test_path(f->models, file);
  char man[1024], cr[128] = "";
  if (created) snprintf(cr, sizeof cr, "\"createdOn\": \"%s\", ", created);
  snprintf(man, sizeof man,
           "{%s\"runtime\": \"python\", \"model\": {\"modelName\": \"%s\", \"modelVersion\": \"%s\","
           " \"handler\": \"h.py\"}, \"archiverVersion\": \"0.7.1\"}",
           cr, name, version);
  t_entry e[2] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"model.pt", T_FILE, payload, 0, NULL}};
  assert_int_equal(t_write_archive(p, "zip", e, 2), 0);
  return p;
}

/* Grows with every write to the store (either backend). */
static int64_t total_changes(fx *f) { return ms_test_write_mark(f->s); }

/* The entry whose path ends in `file`; fails the test when there is none. */
static size_t entry(ms_scan_report *rep, const char *file, ms_scan_outcome *o, int *status, const char **msg) {
  size_t n = strlen(file);
  for (size_t i = 0; i < ms_scan_report_count(rep); i++) {
    const char *p = NULL;
    assert_int_equal(ms_scan_report_get(rep, i, &p, o, status, msg), MS_OK);
    size_t pn = strlen(p);
    if (pn >= n && strcmp(p + pn - n, file) == 0 && (pn == n || p[pn - n - 1] == '/')) return i;
  }
  fail_msg("no report entry for %s", file);
  return 0;
}

static void expect_entry(ms_scan_report *rep, const char *file, ms_scan_outcome outcome, int status,
                         const char *needle1, const char *needle2) {
  ms_scan_outcome o = MS_SCAN_ADDED;
  int st = -1;
  const char *msg = NULL;
  entry(rep, file, &o, &st, &msg);
  if (o != outcome || st != status) fail_msg("%s: outcome %d status %s (%s)", file, (int)o, ms_status_name(st), msg);
  if ((needle1 && !strstr(msg, needle1)) || (needle2 && !strstr(msg, needle2)))
    fail_msg("%s: message '%s' lacks '%s' / '%s'", file, msg, needle1 ? needle1 : "", needle2 ? needle2 : "");
}

static ms_scan_report *scan(fx *f) {
  ms_scan_report *rep = NULL;
  int st = ms_registry_scan(f->r, f->models, &rep);
  if (st) fail_msg("scan: %s %s", ms_status_name(st), ms_errmsg());
  return rep;
}

static char *registered_path(fx *f, const char *name, const char *version) {
  ms_model *m = NULL;
  if (ms_registry_get(f->r, name, version, &m) != MS_OK) return NULL;
  char *p = strdup(ms_model_archive_path(m));
  ms_model_free(m);
  return p;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return s && n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- one name and version, two archives -------------------------------------- */

static void conflict_newest_created_on_wins(void **state) {
  fx *f = *state;
  /* a.mar is first by path but older: b.mar wins. */
  char *a = mar_created(f, "a.mar", "m", "1", "01/02/2020 10:00:00", "a");
  char *b = mar_created(f, "b.mar", "m", "1", "02/02/2020 09:00:00", "b");
  ms_scan_report *rep = scan(f);
  assert_int_equal(ms_scan_report_count(rep), 2);
  expect_entry(rep, "b.mar", MS_SCAN_ADDED, MS_OK, "m 1", NULL);
  expect_entry(rep, "a.mar", MS_SCAN_CONFLICT, MS_EEXIST, b, "02/02/2020 09:00:00 is newer");
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_FAILED), 0);
  ms_scan_report_free(rep);
  char *p = registered_path(f, "m", "1");
  assert_true(ends_with(p, "/b.mar"));
  free(p);
  /* Every scan says it again, once, and changes nothing. */
  int64_t before = total_changes(f);
  rep = scan(f);
  expect_entry(rep, "b.mar", MS_SCAN_UNCHANGED, MS_OK, NULL, NULL);
  expect_entry(rep, "a.mar", MS_SCAN_CONFLICT, MS_EEXIST, b, NULL);
  assert_int_equal(ms_scan_report_count(rep), 2);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);
  /* The same from a fresh store: the winner does not depend on history. */
  assert_int_equal(ms_registry_unregister(f->r, "m", NULL), MS_OK);
  ms_registry_close(f->r);
  ms_store_close(f->s);
  char *db2 = ms_test_store_path(f->dir, "fresh.db");
  assert_int_equal(ms_store_open(db2, 0, &f->s), MS_OK);
  assert_int_equal(ms_registry_open(f->s, NULL, &f->r), MS_OK);
  rep = scan(f);
  expect_entry(rep, "b.mar", MS_SCAN_ADDED, MS_OK, NULL, NULL);
  ms_scan_report_free(rep);
  free(db2);
  free(a);
  free(b);
}

static void conflict_tie_breaks_by_path(void **state) {
  fx *f = *state;
  char *a = mar_created(f, "a.mar", "m", "1", NULL, "a"), *b = mar_created(f, "b.mar", "m", "1", NULL, "b");
  char *c = mar_created(f, "c.mar", "n", "1", "05/05/2021 05:05:05", "c");
  char *d = mar_created(f, "d.mar", "n", "1", "05/05/2021 05:05:05", "d");
  char *e = mar_created(f, "e.mar", "o", "1", NULL, "e");
  char *g = mar_created(f, "g.mar", "o", "1", "not a date", "g");
  char *h = mar_created(f, "h.mar", "o", "1", "2019-01-01T00:00:00Z", "h"); /* ISO 8601 reads as a date */
  ms_scan_report *rep = scan(f);
  expect_entry(rep, "a.mar", MS_SCAN_ADDED, MS_OK, NULL, NULL);
  expect_entry(rep, "b.mar", MS_SCAN_CONFLICT, MS_EEXIST, "neither has a createdOn: the first path wins", a);
  expect_entry(rep, "c.mar", MS_SCAN_ADDED, MS_OK, NULL, NULL);
  expect_entry(rep, "d.mar", MS_SCAN_CONFLICT, MS_EEXIST, "both were created on 05/05/2021 05:05:05", c);
  expect_entry(rep, "h.mar", MS_SCAN_ADDED, MS_OK, NULL, NULL);
  expect_entry(rep, "e.mar", MS_SCAN_CONFLICT, MS_EEXIST, "has a createdOn (2019-01-01T00:00:00Z)", h);
  expect_entry(rep, "g.mar", MS_SCAN_CONFLICT, MS_EEXIST, "none that reads as a date", h);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_CONFLICT), 4);
  ms_scan_report_free(rep);
  free(a);
  free(b);
  free(c);
  free(d);
  free(e);
  free(g);
  free(h);
}

/* A newer archive of a registered name and version takes the registration
 * over: overrides and the default flag stay; the old file is the conflict. */
static void conflict_winner_takes_over_the_registration(void **state) {
  fx *f = *state;
  char *old = mar_created(f, "old.mar", "m", "1", "01/01/2020 00:00:00", "old");
  char *two = mar_created(f, "two.mar", "m", "2", NULL, "two");
  ms_scan_report *rep = scan(f);
  ms_scan_report_free(rep);
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "batch_size", 7), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "m", "1", ov), MS_OK);
  ms_overrides_free(ov);
  char *newer = mar_created(f, "x-newer.mar", "m", "1", "01/01/2024 00:00:00", "newer");
  rep = scan(f);
  expect_entry(rep, "x-newer.mar", MS_SCAN_UPDATED, MS_OK, NULL, NULL);
  expect_entry(rep, "old.mar", MS_SCAN_CONFLICT, MS_EEXIST, newer, "is newer");
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_MISSING), 0);
  ms_scan_report_free(rep);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "m", NULL, &m), MS_OK);
  assert_string_equal(ms_model_version(m), "1"); /* still the default */
  assert_true(ends_with(ms_model_archive_path(m), "/x-newer.mar"));
  int64_t v = 0;
  ms_config_source src = MS_SRC_DEFAULT;
  assert_int_equal(ms_model_get_int(m, "batch_size", &v, &src), MS_OK);
  assert_int_equal(v, 7);
  assert_int_equal(src, MS_SRC_API);
  ms_model_free(m);
  /* Stable afterwards. */
  int64_t before = total_changes(f);
  rep = scan(f);
  expect_entry(rep, "x-newer.mar", MS_SCAN_UNCHANGED, MS_OK, NULL, NULL);
  expect_entry(rep, "old.mar", MS_SCAN_CONFLICT, MS_EEXIST, NULL, NULL);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);
  free(old);
  free(two);
  free(newer);
}

/* A name and version registered from outside the folder stays; the scanned
 * archive is the conflict, naming the registered file. */
static void conflict_with_a_registration_elsewhere(void **state) {
  fx *f = *state;
  char *elsewhere = ms_test_path(f->dir, "elsewhere.mar");
  assert_int_equal(t_write_mar(elsewhere, "m", "1", NULL, NULL), 0);
  assert_int_equal(ms_registry_register(f->r, elsewhere, NULL, NULL), MS_OK);
  char *here = mar_created(f, "here.mar", "m", "1", "01/01/2030 00:00:00", "here");
  char *ok = mar_created(f, "ok.mar", "ok", "1", NULL, "ok");
  ms_scan_report *rep = scan(f);
  expect_entry(rep, "here.mar", MS_SCAN_CONFLICT, MS_EEXIST, "elsewhere.mar", "already registered");
  expect_entry(rep, "ok.mar", MS_SCAN_ADDED, MS_OK, NULL, NULL);
  ms_scan_report_free(rep);
  char *p = registered_path(f, "m", "1");
  assert_true(ends_with(p, "/elsewhere.mar"));
  free(p);
  free(elsewhere);
  free(here);
  free(ok);
}

/* ---- unregistered through the API ------------------------------------------ */

static void unregister_survives_the_next_scan(void **state) {
  fx *f = *state;
  char *a = mar_created(f, "a.mar", "a", "1", NULL, "a");
  char *b = mar_created(f, "b.mar", "b", "1", NULL, "b");
  char *b2 = mar_created(f, "b2.mar", "b", "2", NULL, "b2");
  ms_scan_report *rep = scan(f);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 3);
  ms_scan_report_free(rep);
  assert_int_equal(ms_registry_unregister(f->r, "a", "1"), MS_OK);
  assert_int_equal(ms_registry_unregister(f->r, "b", NULL), MS_OK);
  rep = scan(f);
  expect_entry(rep, "a.mar", MS_SCAN_SKIPPED, MS_OK, "model 'a' version '1' was unregistered through the API",
               "until its content changes or it is registered again");
  expect_entry(rep, "b.mar", MS_SCAN_SKIPPED, MS_OK, "'b' version '1'", NULL);
  expect_entry(rep, "b2.mar", MS_SCAN_SKIPPED, MS_OK, "'b' version '2'", NULL);
  ms_scan_report_free(rep);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "a", NULL, &m), MS_ENOTFOUND);
  /* A restart (the mark is in the store) and a touched file change nothing. */
  reopen(f);
  struct timespec ts[2] = {{1700000000, 0}, {1700000000, 0}};
  assert_int_equal(utimensat(AT_FDCWD, a, ts, 0), 0);
  rep = scan(f);
  expect_entry(rep, "a.mar", MS_SCAN_SKIPPED, MS_OK, "unregistered", NULL);
  ms_scan_report_free(rep);
  int64_t before = total_changes(f);
  rep = scan(f); /* the touched identity was recorded: nothing to write */
  expect_entry(rep, "a.mar", MS_SCAN_SKIPPED, MS_OK, NULL, NULL);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);
  assert_int_equal(ms_registry_get(f->r, "a", NULL, &m), MS_ENOTFOUND);
  /* A changed archive is a new one: the mark goes. */
  free(mar_created(f, "a.mar", "a", "1", NULL, "a, retrained"));
  rep = scan(f);
  expect_entry(rep, "a.mar", MS_SCAN_ADDED, MS_OK, NULL, NULL);
  expect_entry(rep, "b.mar", MS_SCAN_SKIPPED, MS_OK, NULL, NULL);
  ms_scan_report_free(rep);
  assert_int_equal(ms_registry_get(f->r, "a", "1", &m), MS_OK);
  ms_model_free(m);
  /* Registering the path again through the API clears the mark too. */
  assert_int_equal(ms_registry_register(f->r, b, NULL, NULL), MS_OK);
  rep = scan(f);
  expect_entry(rep, "b.mar", MS_SCAN_UNCHANGED, MS_OK, NULL, NULL);
  expect_entry(rep, "b2.mar", MS_SCAN_SKIPPED, MS_OK, NULL, NULL);
  ms_scan_report_free(rep);
  free(a);
  free(b);
  free(b2);
}

/* A store of the schema before the removal marks (version 5) migrates:
 * its registrations stay, and unregistering then survives a scan. */
static void removal_marks_migrate_an_older_store(void **state) {
  fx *f = *state;
  ms_registry_close(f->r);
  ms_store_close(f->s);
  f->r = NULL;
  f->s = NULL;
  char *old_db = ms_test_store_path(f->dir, "v5.db");
  ms_store *s = NULL;
  assert_int_equal(ms__schema_open_at(old_db, 0, 5, &s), MS_OK);
  assert_int_equal(ms_test_sql_exec(s, "INSERT INTO registry_models (name, version, is_default, archive_path, folder,"
                                      " format, runtime, handler, content_hash, size, mtime_ns, ino, dev,"
                                      " archive_settings) VALUES ('kept', '1', 1, '/nowhere/kept.mar', '/nowhere', 0,"
                                      " '', '', 'x', 0, 0, 0, 0, '{}')"),
                   0);
  ms_store_close(s);
  assert_int_equal(ms_store_open(old_db, 0, &f->s), MS_OK);
  assert_int_equal(ms_registry_open(f->s, NULL, &f->r), MS_OK);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "kept", "1", &m), MS_OK);
  ms_model_free(m);
  char *a = mar_created(f, "a.mar", "a", "1", NULL, "a");
  ms_scan_report_free(scan(f));
  assert_int_equal(ms_registry_unregister(f->r, "a", "1"), MS_OK);
  ms_scan_report *rep = scan(f);
  expect_entry(rep, "a.mar", MS_SCAN_SKIPPED, MS_OK, "unregistered", NULL);
  ms_scan_report_free(rep);
  free(a);
  free(old_db);
}

/* ---- what the scan does not read ---------------------------------------------- */

static void skipped_names_are_reported_with_the_reason(void **state) {
  fx *f = *state;
  char *ok = mar_created(f, "ok.mar", "ok", "1", NULL, "ok");
  char *zip = mar_created(f, "model.zip", "z", "1", NULL, "z");
  char *txt = ms_test_path(f->models, "notes.txt");
  assert_int_equal(t_write_text(txt, "notes"), 0);
  char *empty = ms_test_path(f->models, "empty-folder");
  mkdir(empty, 0755);
  /* A TorchServe no-archive layout one level too deep: outer/noop/MAR-INF. */
  char *outer = ms_test_path(f->models, "outer");
  char *inner = ms_test_path(outer, "noop");
  char *inf = ms_test_path(inner, "MAR-INF");
  char *man = ms_test_path(inf, "MANIFEST.json");
  mkdir(outer, 0755);
  mkdir(inner, 0755);
  mkdir(inf, 0755);
  char *mtext = t_manifest("noop", "1.0", NULL, NULL);
  assert_int_equal(t_write_text(man, mtext), 0);
  free(mtext);
  char *dangling = ms_test_path(f->models, "gone.mar");
  assert_int_equal(symlink("/nonexistent/target.mar", dangling), 0);
  char *hidden = ms_test_path(f->models, ".hidden.mar");
  assert_int_equal(t_write_mar(hidden, "hidden", "1", NULL, NULL), 0);

  ms_scan_report *rep = scan(f);
  assert_int_equal(ms_scan_report_count(rep), 6); /* hidden names are not reported */
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 1);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_SKIPPED), 5);
  expect_entry(rep, "model.zip", MS_SCAN_SKIPPED, MS_OK, "a .zip is not scanned", "rename it to .mar");
  expect_entry(rep, "notes.txt", MS_SCAN_SKIPPED, MS_OK, "not a model archive", NULL);
  expect_entry(rep, "empty-folder", MS_SCAN_SKIPPED, MS_OK, "without MAR-INF/MANIFEST.json", NULL);
  expect_entry(rep, "outer", MS_SCAN_SKIPPED, MS_OK, "one level down ('noop')", outer);
  expect_entry(rep, "gone.mar", MS_SCAN_SKIPPED, MS_OK, "cannot be read", NULL);
  ms_scan_report_free(rep);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "z", NULL, &m), MS_ENOTFOUND);
  /* Skipping writes nothing: a second scan changes nothing either. */
  int64_t before = total_changes(f);
  rep = scan(f);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_SKIPPED), 5);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);
  /* A .zip registered through the API is the scan's to check, not skipped. */
  assert_int_equal(ms_registry_register(f->r, zip, NULL, NULL), MS_OK);
  rep = scan(f);
  expect_entry(rep, "model.zip", MS_SCAN_UNCHANGED, MS_OK, NULL, NULL);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_SKIPPED), 4);
  ms_scan_report_free(rep);
  /* The folder one level down scans on its own. */
  assert_int_equal(ms_registry_scan(f->r, outer, &rep), MS_OK);
  expect_entry(rep, "noop", MS_SCAN_ADDED, MS_OK, NULL, NULL);
  ms_scan_report_free(rep);
  free(ok);
  free(zip);
  free(txt);
  free(empty);
  free(outer);
  free(inner);
  free(inf);
  free(man);
  free(dangling);
  free(hidden);
}

/* ---- min_workers and max_workers --------------------------------------------- */

static void update_refuses_min_workers_above_max_workers(void **state) {
  fx *f = *state;
  char *p = ms_test_path(f->models, "w.mar");
  assert_int_equal(t_write_mar(p, "w", "1", NULL, "maxWorkers: 2\n"), 0);
  assert_int_equal(ms_registry_register(f->r, p, NULL, NULL), MS_OK);
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "min_workers", 4), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "batch_size", 8), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "w", "1", ov), MS_EINVAL);
  assert_string_equal(ms_errmsg(),
                      "registry: ms_registry_update: model 'w' version '1': min_workers 4 (API) is greater than "
                      "max_workers 2 (archive)");
  ms_model *m = NULL;
  int64_t v = 0;
  ms_config_source src = MS_SRC_API;
  assert_int_equal(ms_registry_get(f->r, "w", "1", &m), MS_OK);
  assert_int_equal(ms_model_get_int(m, "batch_size", &v, &src), MS_OK); /* nothing changed */
  assert_int_equal(v, 1);
  assert_int_equal(src, MS_SRC_DEFAULT);
  ms_model_free(m);
  /* Both set consistently: fine; then a max below the API's min is refused. */
  assert_int_equal(ms_overrides_set_int(ov, "max_workers", 5), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "w", "1", ov), MS_OK);
  ms_overrides_free(ov);
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "max_workers", 3), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "w", NULL, ov), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "min_workers 4 (API) is greater than max_workers 3 (API)"));
  /* Clearing max_workers falls back to the archive's 2: refused too. */
  assert_int_equal(ms_overrides_clear(ov, "max_workers"), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "w", "1", ov), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "max_workers 2 (archive)"));
  ms_overrides_free(ov);
  free(p);
}

/* From files, an inconsistent pair is reported (TorchServe warns and loads
 * the model), never refused: the scan still registers it. */
static void files_with_min_workers_above_max_workers_are_reported(void **state) {
  fx *f = *state;
  char *p = ms_test_path(f->models, "w.mar");
  assert_int_equal(t_write_mar(p, "w", "1", NULL, "minWorkers: 3\nmaxWorkers: 2\n"), 0);
  char *q = ms_test_path(f->models, "x.mar");
  assert_int_equal(t_write_mar(q, "x", "1", NULL, "minWorkers: 2\n"), 0);
  ms_scan_report *rep = scan(f);
  expect_entry(rep, "w.mar", MS_SCAN_ADDED, MS_OK,
               "w 1; warning: min_workers 3 (archive) is greater than max_workers 2 (archive)", NULL);
  expect_entry(rep, "x.mar", MS_SCAN_ADDED, MS_OK, "min_workers 2 (archive) is greater than max_workers 1 (default)",
               NULL);
  ms_scan_report_free(rep);
  ms_model *m = NULL;
  int64_t v = 0;
  assert_int_equal(ms_registry_get(f->r, "w", "1", &m), MS_OK);
  assert_int_equal(ms_model_get_int(m, "min_workers", &v, NULL), MS_OK);
  assert_int_equal(v, 3); /* kept as resolved */
  ms_model_free(m);
  free(p);
  free(q);
}

/* ---- every setting, with its source ------------------------------------------ */

static void every_setting_is_listed_with_its_source(void **state) {
  fx *f = *state;
  char *p = ms_test_path(f->models, "s.mar");
  assert_int_equal(t_write_mar(p, "s", "1", NULL,
                               "batchSize: 4\nclientTimeoutInMills: 1\nparallelType: tp\nhandler:\n  a: 1\n"),
                   0);
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_str(ov, "device", "cuda:0"), MS_OK);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(f->r, p, ov, &m), MS_OK);
  ms_overrides_free(ov);
  static const struct {
    const char *key, *value;
    ms_config_source src;
  } want[] = {
      {"batch_size", "4", MS_SRC_ARCHIVE},           {"max_batch_delay_us", "100000", MS_SRC_DEFAULT},
      {"max_queue_size", "100", MS_SRC_DEFAULT},     {"request_timeout_us", "120000000", MS_SRC_DEFAULT},
      {"min_workers", "1", MS_SRC_DEFAULT},          {"max_workers", "1", MS_SRC_DEFAULT},
      {"device", "cuda:0", MS_SRC_API},              {"clientTimeoutInMills", "1", MS_SRC_ARCHIVE},
      {"parallelType", "tp", MS_SRC_ARCHIVE},        {"handler", "{\"a\":\"1\"}", MS_SRC_ARCHIVE},
  };
  size_t n = sizeof want / sizeof want[0];
  assert_int_equal(ms_model_setting_count(m), n);
  for (size_t i = 0; i < n; i++) {
    const char *k = NULL, *v = NULL;
    ms_config_source src = MS_SRC_DEFAULT;
    assert_int_equal(ms_model_get_setting(m, i, &k, &v, &src), MS_OK);
    if (strcmp(k, want[i].key) != 0 || strcmp(v, want[i].value) != 0 || src != want[i].src)
      fail_msg("setting %zu: %s = %s (source %d)", i, k, v, (int)src);
  }
  const char *k = "untouched";
  assert_int_equal(ms_model_get_setting(m, n, &k, NULL, NULL), MS_EINVAL);
  assert_string_equal(k, "untouched");
  assert_non_null(strstr(ms_errmsg(), "registry: ms_model_get_setting: model 's' version '1': index 10"));
  assert_int_equal(ms_model_get_setting(NULL, 0, &k, NULL, NULL), MS_EINVAL);
  assert_int_equal(ms_model_setting_count(NULL), 0);
  ms_model_free(m);
  /* The same from the store, after a restart. */
  reopen(f);
  assert_int_equal(ms_registry_get(f->r, "s", NULL, &m), MS_OK);
  assert_int_equal(ms_model_setting_count(m), n);
  const char *v = NULL;
  assert_int_equal(ms_model_get_setting(m, n - 1, &k, &v, NULL), MS_OK);
  assert_string_equal(k, "handler");
  ms_model_free(m);
  free(p);
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_registry_scan");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(conflict_newest_created_on_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(conflict_tie_breaks_by_path, setup, teardown),
      cmocka_unit_test_setup_teardown(conflict_winner_takes_over_the_registration, setup, teardown),
      cmocka_unit_test_setup_teardown(conflict_with_a_registration_elsewhere, setup, teardown),
      cmocka_unit_test_setup_teardown(unregister_survives_the_next_scan, setup, teardown),
      cmocka_unit_test_setup_teardown(removal_marks_migrate_an_older_store, setup, teardown),
      cmocka_unit_test_setup_teardown(skipped_names_are_reported_with_the_reason, setup, teardown),
      cmocka_unit_test_setup_teardown(update_refuses_min_workers_above_max_workers, setup, teardown),
      cmocka_unit_test_setup_teardown(files_with_min_workers_above_max_workers_are_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(every_setting_is_listed_with_its_source, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
