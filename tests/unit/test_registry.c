/* Unit tests: registering, versions, defaults, overrides, persistence,
 * scanning a model store, and concurrent use of one registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry_testutil.h"
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
  f->dir = ms_test_tmpdir("registry");
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
  f->r = NULL;
  f->s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &f->s), MS_OK);
  assert_int_equal(ms_registry_open(f->s, NULL, &f->r), MS_OK);
}

/* Write <models>/<file> as a .mar of name/version; returns the malloc'd path. */
static char *mar(fx *f, const char *file, const char *name, const char *version, const char *yaml) {
  char *p = ms_test_path(f->models, file);
  assert_int_equal(t_write_mar(p, name, version, NULL, yaml), 0);
  return p;
}

static const char *default_version(fx *f, const char *name) {
  static char buf[128];
  ms_model *m = NULL;
  if (ms_registry_get(f->r, name, NULL, &m) != MS_OK) return "(none)";
  snprintf(buf, sizeof buf, "%s", ms_model_version(m));
  assert_int_equal(ms_model_is_default(m), 1);
  ms_model_free(m);
  return buf;
}

static void first_version_is_default_and_default_is_protected(void **state) {
  fx *f = *state;
  char *a = mar(f, "a.mar", "noop", "1.0", NULL), *b = mar(f, "b.mar", "noop", "2.0", NULL);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(f->r, a, NULL, &m), MS_OK);
  assert_int_equal(ms_model_is_default(m), 1);
  assert_string_equal(ms_model_name(m), "noop");
  assert_string_equal(ms_model_handler(m), "h.py");
  assert_string_equal(ms_model_runtime(m), "python");
  ms_model_free(m);
  assert_int_equal(ms_registry_register(f->r, b, NULL, &m), MS_OK);
  assert_int_equal(ms_model_is_default(m), 0);
  ms_model_free(m);
  assert_string_equal(default_version(f, "noop"), "1.0");

  assert_int_equal(ms_registry_set_default(f->r, "noop", "2.0"), MS_OK);
  assert_string_equal(default_version(f, "noop"), "2.0");
  assert_int_equal(ms_registry_get(f->r, "noop", "1.0", &m), MS_OK);
  assert_int_equal(ms_model_is_default(m), 0);
  ms_model_free(m);

  /* The default cannot go while 1.0 remains; nothing changes. */
  assert_int_equal(ms_registry_unregister(f->r, "noop", "2.0"), MS_ECONFLICT);
  assert_non_null(strstr(ms_errmsg(), "noop"));
  assert_string_equal(default_version(f, "noop"), "2.0");
  assert_int_equal(ms_registry_unregister(f->r, "noop", "1.0"), MS_OK);
  assert_int_equal(ms_registry_get(f->r, "noop", "1.0", &m), MS_ENOTFOUND);
  assert_int_equal(ms_registry_unregister(f->r, "noop", "2.0"), MS_OK); /* the last one may go */
  assert_int_equal(ms_registry_get(f->r, "noop", NULL, &m), MS_ENOTFOUND);
  assert_int_equal(ms_registry_unregister(f->r, "noop", NULL), MS_ENOTFOUND);
  assert_int_equal(ms_registry_set_default(f->r, "noop", "1.0"), MS_ENOTFOUND);
  free(a);
  free(b);
}

static void unregister_all_versions(void **state) {
  fx *f = *state;
  char *a = mar(f, "a.mar", "m", "1", NULL), *b = mar(f, "b.mar", "m", "2", NULL),
       *c = mar(f, "c.mar", "other", "1", NULL);
  assert_int_equal(ms_registry_register(f->r, a, NULL, NULL), MS_OK);
  assert_int_equal(ms_registry_register(f->r, b, NULL, NULL), MS_OK);
  assert_int_equal(ms_registry_register(f->r, c, NULL, NULL), MS_OK);
  assert_int_equal(ms_registry_unregister(f->r, "m", NULL), MS_OK);
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_list(f->r, NULL, &l), MS_OK);
  assert_int_equal(ms_model_list_count(l), 1);
  const ms_model *m0 = NULL;
  assert_int_equal(ms_model_list_get(l, 0, &m0), MS_OK);
  assert_string_equal(ms_model_name(m0), "other");
  assert_int_equal(ms_model_list_get(l, 1, &m0), MS_EINVAL);
  assert_string_equal(ms_model_name(m0), "other"); /* untouched on failure */
  ms_model_list_free(l);
  /* A re-registered name starts over with its first version as default. */
  assert_int_equal(ms_registry_register(f->r, b, NULL, NULL), MS_OK);
  assert_string_equal(default_version(f, "m"), "2");
  free(a);
  free(b);
  free(c);
}

static void duplicates_and_bad_archives_are_refused(void **state) {
  fx *f = *state;
  char *a = mar(f, "a.mar", "dup", "1.0", NULL), *b = mar(f, "b.mar", "dup", "1.0", NULL);
  assert_int_equal(ms_registry_register(f->r, a, NULL, NULL), MS_OK);
  assert_int_equal(ms_registry_register(f->r, a, NULL, NULL), MS_EEXIST);
  assert_int_equal(ms_registry_register(f->r, b, NULL, NULL), MS_EEXIST);
  assert_non_null(strstr(ms_errmsg(), "a.mar"));

  char *junk = ms_test_path(f->models, "junk.mar");
  assert_int_equal(t_write_text(junk, "this is not a zip file at all"), 0);
  assert_int_equal(ms_registry_register(f->r, junk, NULL, NULL), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "junk.mar"));
  char *txt = ms_test_path(f->models, "notes.txt");
  assert_int_equal(t_write_text(txt, "hello"), 0);
  assert_int_equal(ms_registry_register(f->r, txt, NULL, NULL), MS_EUNSUPPORTED);
  char *none = ms_test_path(f->models, "absent.mar");
  assert_int_equal(ms_registry_register(f->r, none, NULL, NULL), MS_ENOTFOUND);
  assert_int_equal(ms_registry_register(f->r, NULL, NULL, NULL), MS_EINVAL);
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_list(f->r, NULL, &l), MS_OK);
  assert_int_equal(ms_model_list_count(l), 1);
  ms_model_list_free(l);
  free(a);
  free(b);
  free(junk);
  free(txt);
  free(none);
}

static void registrations_and_overrides_survive_reopen(void **state) {
  fx *f = *state;
  char *a = mar(f, "a.mar", "bert", "1.0", "batchSize: 4\nmaxBatchDelay: 20\n");
  char *b = mar(f, "b.mar", "bert", "2.0", NULL);
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "max_workers", 6), MS_OK);
  assert_int_equal(ms_registry_register(f->r, a, ov, NULL), MS_OK);
  ms_overrides_free(ov);
  assert_int_equal(ms_registry_register(f->r, b, NULL, NULL), MS_OK);
  assert_int_equal(ms_registry_set_default(f->r, "bert", "2.0"), MS_OK);
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_str(ov, "device", "cuda:1"), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "batch_size", 16), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "bert", "1.0", ov), MS_OK);
  ms_overrides_free(ov);

  reopen(f); /* a restarted container: no API calls */
  assert_string_equal(default_version(f, "bert"), "2.0");
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "bert", "1.0", &m), MS_OK);
  int64_t v = 0;
  ms_config_source src;
  assert_int_equal(ms_model_get_int(m, "max_workers", &v, &src), MS_OK);
  assert_int_equal(v, 6);
  assert_int_equal(src, MS_SRC_API);
  assert_int_equal(ms_model_get_int(m, "batch_size", &v, &src), MS_OK);
  assert_int_equal(v, 16);
  assert_int_equal(src, MS_SRC_API);
  assert_int_equal(ms_model_get_int(m, "max_batch_delay_us", &v, &src), MS_OK);
  assert_int_equal(v, 20000);
  assert_int_equal(src, MS_SRC_ARCHIVE);
  const char *dev = NULL;
  assert_int_equal(ms_model_get_str(m, "device", &dev, &src), MS_OK);
  assert_string_equal(dev, "cuda:1");
  assert_int_equal(src, MS_SRC_API);
  ms_model_free(m);

  /* Clearing an override falls back to the archive. */
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_clear(ov, "batch_size"), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "bert", "1.0", ov), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "nope", NULL, ov), MS_ENOTFOUND);
  assert_int_equal(ms_registry_update(f->r, "bert", "9.9", ov), MS_ENOTFOUND);
  ms_overrides_free(ov);
  reopen(f);
  assert_int_equal(ms_registry_get(f->r, "bert", "1.0", &m), MS_OK);
  assert_int_equal(ms_model_get_int(m, "batch_size", &v, &src), MS_OK);
  assert_int_equal(v, 4);
  assert_int_equal(src, MS_SRC_ARCHIVE);
  assert_int_equal(ms_model_get_int(m, "max_workers", &v, &src), MS_OK);
  assert_int_equal(v, 6); /* untouched by the update */
  ms_model_free(m);
  /* update with version NULL targets the default version (2.0). (min_workers
   * alone above the default max_workers of 1 is refused since issue 11, so
   * the test raises max_workers.) */
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "max_workers", 3), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "bert", NULL, ov), MS_OK);
  ms_overrides_free(ov);
  assert_int_equal(ms_registry_get(f->r, "bert", "2.0", &m), MS_OK);
  assert_int_equal(ms_model_get_int(m, "max_workers", &v, &src), MS_OK);
  assert_int_equal(v, 3);
  ms_model_free(m);
  free(a);
  free(b);
}

static void set_mtime(const char *path, long sec) {
  struct timespec ts[2] = {{sec, 0}, {sec, 0}};
  assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* Grows with every write to the store (either backend). */
static int64_t total_changes(fx *f) { return ms_test_write_mark(f->s); }

static size_t outcome_of(ms_scan_report *rep, const char *needle, ms_scan_outcome *o, int *status) {
  for (size_t i = 0; i < ms_scan_report_count(rep); i++) {
    const char *p;
    assert_int_equal(ms_scan_report_get(rep, i, &p, o, status, NULL), MS_OK);
    if (strstr(p, needle)) return i;
  }
  fail_msg("no report entry for %s", needle);
  return 0;
}

static void scan_adds_skips_updates_and_marks_missing(void **state) {
  fx *f = *state;
  char *a = mar(f, "a.mar", "alpha", "1.0", NULL);
  char *b = ms_test_path(f->models, "b.tar.gz");
  char *man = t_manifest("beta", "1.0", NULL, NULL);
  t_entry te[] = {{"beta/", T_DIR, NULL, 0, NULL}, {"beta/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}};
  assert_int_equal(t_write_archive(b, "tgz", te, 2), 0);
  free(man);
  char *bad = ms_test_path(f->models, "broken.mar");
  assert_int_equal(t_write_text(bad, "PK\003\004 truncated garbage"), 0);
  char *sub = ms_test_path(f->models, "gamma");
  char *subinf = ms_test_path(sub, "MAR-INF");
  mkdir(sub, 0755);
  mkdir(subinf, 0755);
  char *submf = ms_test_path(subinf, "MANIFEST.json");
  man = t_manifest("gamma", "3", NULL, NULL);
  assert_int_equal(t_write_text(submf, man), 0);
  free(man);
  char *ignored = ms_test_path(f->models, "README.md");
  assert_int_equal(t_write_text(ignored, "not an archive"), 0);

  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count(rep), 5); /* README.md is reported, skipped (issue 11) */
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 3);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_FAILED), 1);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_SKIPPED), 1);
  ms_scan_outcome o;
  int st;
  const char *msg;
  size_t i = outcome_of(rep, "broken.mar", &o, &st);
  assert_int_equal(ms_scan_report_get(rep, i, NULL, NULL, NULL, &msg), MS_OK);
  assert_int_equal(o, MS_SCAN_FAILED);
  assert_int_equal(st, MS_ECORRUPT);
  assert_non_null(strstr(msg, "broken.mar"));
  ms_scan_report_free(rep);

  /* Scanning again changes nothing. */
  int64_t before = total_changes(f);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_UNCHANGED), 3);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_FAILED), 1);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);

  /* An override survives a content update of the same name and version. */
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "batch_size", 9), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "alpha", "1.0", ov), MS_OK);
  ms_overrides_free(ov);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "alpha", NULL, &m), MS_OK);
  char *old_hash = strdup(ms_model_content_hash(m));
  ms_model_free(m);
  assert_int_equal(t_write_mar(a, "alpha", "1.0", NULL, "maxWorkers: 5\n"), 0);
  set_mtime(a, 1600000000);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  outcome_of(rep, "a.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_UPDATED);
  ms_scan_report_free(rep);
  assert_int_equal(ms_registry_get(f->r, "alpha", NULL, &m), MS_OK);
  assert_string_not_equal(ms_model_content_hash(m), old_hash);
  int64_t v;
  assert_int_equal(ms_model_get_int(m, "batch_size", &v, NULL), MS_OK);
  assert_int_equal(v, 9);
  assert_int_equal(ms_model_get_int(m, "max_workers", &v, NULL), MS_OK);
  assert_int_equal(v, 5);
  ms_model_free(m);
  free(old_hash);

  /* Touching without changing content: re-read, same hash, unchanged. */
  set_mtime(a, 1600000100);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  outcome_of(rep, "a.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_UNCHANGED);
  ms_scan_report_free(rep);

  /* A vanished archive is marked missing, kept, and comes back. */
  char *aside = ms_test_path(f->dir, "a.mar.aside");
  assert_int_equal(rename(a, aside), 0);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  outcome_of(rep, "a.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_MISSING);
  ms_scan_report_free(rep);
  assert_int_equal(ms_registry_get(f->r, "alpha", NULL, &m), MS_OK);
  assert_int_equal(ms_model_is_missing(m), 1);
  ms_model_free(m);
  before = total_changes(f);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_MISSING), 1);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);
  assert_int_equal(rename(aside, a), 0);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  outcome_of(rep, "a.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_UPDATED);
  ms_scan_report_free(rep);
  assert_int_equal(ms_registry_get(f->r, "alpha", NULL, &m), MS_OK);
  assert_int_equal(ms_model_is_missing(m), 0);
  ms_model_free(m);

  /* An archive rewritten as another model replaces its registration. */
  assert_int_equal(t_write_mar(a, "alpha2", "1.0", NULL, NULL), 0);
  set_mtime(a, 1600000200);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  outcome_of(rep, "a.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_UPDATED);
  ms_scan_report_free(rep);
  assert_int_equal(ms_registry_get(f->r, "alpha", NULL, &m), MS_ENOTFOUND);
  assert_int_equal(ms_registry_get(f->r, "alpha2", NULL, &m), MS_OK);
  assert_int_equal(ms_model_is_default(m), 1);
  ms_model_free(m);

  /* The scan state persists. */
  reopen(f);
  before = total_changes(f);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_UNCHANGED), 3);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);
  assert_int_equal(ms_registry_scan(f->r, "/nonexistent-folder-for-mserve", &rep), MS_ENOTFOUND);

  free(a);
  free(b);
  free(bad);
  free(sub);
  free(subinf);
  free(submf);
  free(ignored);
  free(aside);
}

/* Since issue 11 the clash is a CONFLICT entry, not a failure; the winner
 * rule (newest createdOn, then path) is tested in test_registry_scan.c. */
static void scan_keeps_going_when_names_clash(void **state) {
  fx *f = *state;
  char *a = mar(f, "a.mar", "same", "1", NULL), *b = mar(f, "b.mar", "same", "1", NULL),
       *c = mar(f, "c.mar", "same", "2", NULL);
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 2);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_CONFLICT), 1);
  ms_scan_outcome o;
  int st;
  outcome_of(rep, "b.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_CONFLICT);
  assert_int_equal(st, MS_EEXIST);
  ms_scan_report_free(rep);
  assert_string_equal(default_version(f, "same"), "1");
  free(a);
  free(b);
  free(c);
}

/* Registrations made with ms_registry_register from the model store
 * folder are the scan's too, even when the scan would not list them (a
 * .zip, a hidden name): they are checked, not marked missing; a folder
 * model that lost its manifest is reported as failed, with the reason. */
static void scan_checks_registrations_it_does_not_list(void **state) {
  fx *f = *state;
  char *z = mar(f, "plain.zip", "zipped", "1", NULL);
  char *hidden = mar(f, ".hidden.mar", "hidden", "1", NULL);
  char *d = ms_test_path(f->models, "folder");
  char *inf = ms_test_path(d, "MAR-INF");
  char *mf = ms_test_path(inf, "MANIFEST.json");
  mkdir(d, 0755);
  mkdir(inf, 0755);
  char *man = t_manifest("infolder", "1", NULL, NULL);
  assert_int_equal(t_write_text(mf, man), 0);
  free(man);
  assert_int_equal(ms_registry_register(f->r, z, NULL, NULL), MS_OK);
  assert_int_equal(ms_registry_register(f->r, hidden, NULL, NULL), MS_OK);
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count(rep), 3);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 1); /* the folder */
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_UNCHANGED), 2);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_MISSING), 0);
  ms_scan_report_free(rep);
  int64_t before = total_changes(f);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_UNCHANGED), 3);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);

  assert_int_equal(unlink(mf), 0); /* the folder is no model any more */
  assert_int_equal(unlink(z), 0);  /* and the zip is gone */
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  ms_scan_outcome o;
  int st;
  size_t i = outcome_of(rep, "/folder", &o, &st);
  assert_int_equal(o, MS_SCAN_FAILED);
  assert_int_equal(st, MS_ECORRUPT);
  const char *msg = NULL;
  assert_int_equal(ms_scan_report_get(rep, i, NULL, NULL, NULL, &msg), MS_OK);
  assert_non_null(strstr(msg, "MANIFEST.json"));
  outcome_of(rep, "plain.zip", &o, &st);
  assert_int_equal(o, MS_SCAN_MISSING);
  outcome_of(rep, ".hidden.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_UNCHANGED);
  ms_scan_report_free(rep);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "infolder", NULL, &m), MS_OK); /* kept, not missing */
  assert_int_equal(ms_model_is_missing(m), 0);
  ms_model_free(m);
  free(z);
  free(hidden);
  free(d);
  free(inf);
  free(mf);
}

/* An archive renamed (or moved) within the model store keeps its
 * registration: overrides, default flag, and no stale MISSING entry. */
static void scan_follows_a_renamed_archive(void **state) {
  fx *f = *state;
  char *a = mar(f, "noop.mar", "noop", "1.0", NULL), *b = mar(f, "other.mar", "noop", "2.0", NULL);
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  ms_scan_report_free(rep);
  ms_overrides *ov = NULL;
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  assert_int_equal(ms_overrides_set_int(ov, "max_workers", 7), MS_OK);
  assert_int_equal(ms_registry_update(f->r, "noop", "1.0", ov), MS_OK);
  ms_overrides_free(ov);
  char *renamed = ms_test_path(f->models, "noop-1.0.mar");
  assert_int_equal(rename(a, renamed), 0);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count(rep), 2);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_MISSING), 0);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_FAILED), 0);
  ms_scan_outcome o;
  int st;
  outcome_of(rep, "noop-1.0.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_UPDATED);
  ms_scan_report_free(rep);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "noop", NULL, &m), MS_OK);
  assert_string_equal(ms_model_version(m), "1.0"); /* still the default */
  assert_non_null(strstr(ms_model_archive_path(m), "noop-1.0.mar"));
  assert_int_equal(ms_model_is_missing(m), 0);
  int64_t v = 0;
  ms_config_source src;
  assert_int_equal(ms_model_get_int(m, "max_workers", &v, &src), MS_OK);
  assert_int_equal(v, 7);
  assert_int_equal(src, MS_SRC_API);
  ms_model_free(m);
  int64_t before = total_changes(f);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_UNCHANGED), 2);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);
  /* A copy next to the original is a clash, not a move (a CONFLICT entry
   * since issue 11: neither has a createdOn, the first path wins). */
  char *copy = ms_test_path(f->models, "noop-copy.mar");
  assert_int_equal(t_write_mar(copy, "noop", "1.0", NULL, NULL), 0);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  outcome_of(rep, "noop-copy.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_CONFLICT);
  assert_int_equal(st, MS_EEXIST);
  ms_scan_report_free(rep);
  free(a);
  free(b);
  free(renamed);
  free(copy);
}

/* A failed scan item never changes what is stored for it: an archive that
 * turns to garbage keeps its registration, hash and settings. */
static void scan_failure_leaves_the_registration(void **state) {
  fx *f = *state;
  char *a = mar(f, "a.mar", "keep", "1", "batchSize: 3\n");
  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  ms_scan_report_free(rep);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "keep", NULL, &m), MS_OK);
  char *hash = strdup(ms_model_content_hash(m));
  ms_model_free(m);
  assert_int_equal(t_write_text(a, "garbage, no longer a zip"), 0);
  int64_t before = total_changes(f);
  assert_int_equal(ms_registry_scan(f->r, f->models, &rep), MS_OK);
  ms_scan_outcome o;
  int st;
  outcome_of(rep, "a.mar", &o, &st);
  assert_int_equal(o, MS_SCAN_FAILED);
  assert_int_equal(st, MS_ECORRUPT);
  ms_scan_report_free(rep);
  assert_int_equal(total_changes(f), before);
  reopen(f);
  assert_int_equal(ms_registry_get(f->r, "keep", NULL, &m), MS_OK);
  assert_string_equal(ms_model_content_hash(m), hash);
  int64_t v = 0;
  assert_int_equal(ms_model_get_int(m, "batch_size", &v, NULL), MS_OK);
  assert_int_equal(v, 3);
  ms_model_free(m);
  free(hash);
  free(a);
}

typedef struct worker {
  fx *f;
  int id, n, failures;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (int i = 0; i < w->n; i++) {
    char file[64], name[64];
    snprintf(file, sizeof file, "t%d_%d.mar", w->id, i);
    snprintf(name, sizeof name, "model%d", w->id);
    char version[16];
    snprintf(version, sizeof version, "%d", i);
    char *p = ms_test_path(w->f->models, file);
    if (t_write_mar(p, name, version, NULL, NULL) != 0) w->failures++;
    ms_model *m = NULL;
    if (ms_registry_register(w->f->r, p, NULL, &m) != MS_OK) w->failures++;
    ms_model_free(m);
    m = NULL;
    if (ms_registry_get(w->f->r, name, NULL, &m) != MS_OK || strcmp(ms_model_version(m), "0") != 0) w->failures++;
    ms_model_free(m);
    free(p);
  }
  return NULL;
}

static void one_registry_from_several_threads(void **state) {
  fx *f = *state;
  enum { T = 4 };
  pthread_t th[T];
  worker w[T];
  int n = ms_test_scale(20);
  for (int i = 0; i < T; i++) {
    w[i] = (worker){f, i, n, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_list(f->r, NULL, &l), MS_OK);
  assert_int_equal(ms_model_list_count(l), (size_t)(T * n));
  /* Ordered by name, then registration order. */
  for (size_t i = 1; i < ms_model_list_count(l); i++) {
    const ms_model *a = NULL, *b = NULL;
    assert_int_equal(ms_model_list_get(l, i - 1, &a), MS_OK);
    assert_int_equal(ms_model_list_get(l, i, &b), MS_OK);
    assert_true(strcmp(ms_model_name(a), ms_model_name(b)) <= 0);
  }
  ms_model_list_free(l);
}

static void bad_arguments(void **state) {
  fx *f = *state;
  ms_model *m = NULL;
  ms_registry *r = NULL;
  assert_int_equal(ms_registry_open(NULL, NULL, &r), MS_EINVAL);
  assert_int_equal(ms_registry_get(f->r, NULL, NULL, &m), MS_EINVAL);
  assert_int_equal(ms_registry_get(f->r, "x", NULL, &m), MS_ENOTFOUND);
  assert_null(m);
  assert_int_equal(ms_registry_set_limits(f->r, 0, 1, 1), MS_EINVAL);
  assert_int_equal(ms_registry_set_limits(f->r, 10, 10, 10), MS_OK);
  assert_int_equal(ms_scan_report_count(NULL), 0);
  assert_int_equal(ms_model_list_count(NULL), 0);
  assert_int_equal(ms_scan_report_get(NULL, 0, NULL, NULL, NULL, NULL), MS_EINVAL);
  ms_registry_close(NULL);
  ms_model_free(NULL);
  ms_model_list_free(NULL);
  ms_scan_report_free(NULL);
  ms_overrides_free(NULL);
  /* A broken global config refuses the open and names the file. */
  char *g = ms_test_path(f->dir, "global.json");
  assert_int_equal(t_write_text(g, "{\"defaults\": {\"batchSize\": \"eight\"}}"), 0);
  assert_int_equal(ms_registry_open(f->s, g, &r), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "global.json"));
  assert_non_null(strstr(ms_errmsg(), "batchSize"));
  char *missing = ms_test_path(f->dir, "absent.json");
  assert_int_equal(ms_registry_open(f->s, missing, &r), MS_ENOTFOUND);
  free(g);
  free(missing);
}

/* The failure of `call` has a message starting with `head`, with `object`
 * after it ("" for none). */
static void check_head(int st, const char *call, const char *head, const char *object) {
  if (st == MS_OK) fail_msg("%s: succeeded", call);
  if (strncmp(ms_errmsg(), head, strlen(head)) != 0 || !strstr(ms_errmsg() + strlen(head), object))
    fail_msg("%s: '%s'", call, ms_errmsg());
}

/* Every failure of a public call says the part and the call first, then
 * the object ("registry: NULL argument" named neither). */
static void every_message_names_the_call(void **state) {
  fx *f = *state;
  ms_model *m = NULL;
  ms_model_list *l = NULL;
  ms_scan_report *rep = NULL;
  ms_registry *r = NULL;
  ms_overrides *ov = NULL;
  const char *sv = NULL;
  int64_t iv = 0;
  char buf[16];
  assert_int_equal(ms_overrides_new(&ov), MS_OK);
  char *absent = ms_test_path(f->dir, "absent.mar");
  static const char *no_model = "model 'nope' version '1': not registered";
  check_head(ms_registry_open(NULL, NULL, &r), "ms_registry_open", "registry: ms_registry_open: ", "");
  check_head(ms_registry_set_limits(f->r, 0, 1, 1), "ms_registry_set_limits", "registry: ms_registry_set_limits: ", "");
  check_head(ms_registry_scan(f->r, absent, &rep), "ms_registry_scan", "registry: ms_registry_scan: ", "folder '");
  check_head(ms_registry_register(f->r, absent, NULL, &m), "ms_registry_register",
             "registry: ms_registry_register: ", "archive '");
  check_head(ms_registry_unregister(f->r, "nope", "1"), "ms_registry_unregister",
             "registry: ms_registry_unregister: ", no_model);
  check_head(ms_registry_unregister(f->r, "nope", NULL), "ms_registry_unregister",
             "registry: ms_registry_unregister: ", "model 'nope': not registered");
  check_head(ms_registry_set_default(f->r, "nope", "1"), "ms_registry_set_default",
             "registry: ms_registry_set_default: ", no_model);
  check_head(ms_registry_update(f->r, "nope", "1", ov), "ms_registry_update",
             "registry: ms_registry_update: ", no_model);
  check_head(ms_registry_get(f->r, "nope", "1", &m), "ms_registry_get", "registry: ms_registry_get: ", no_model);
  check_head(ms_registry_get(NULL, "nope", "1", &m), "ms_registry_get", "registry: ms_registry_get: ", "");
  check_head(ms_registry_list(NULL, NULL, &l), "ms_registry_list", "registry: ms_registry_list: ", "");
  check_head(ms_registry_materialize(f->r, NULL, f->dir, buf, sizeof buf), "ms_registry_materialize",
             "registry: ms_registry_materialize: ", "");
  check_head(ms_archive_inspect(absent, NULL, &m), "ms_archive_inspect", "registry: ms_archive_inspect: ", "archive '");
  check_head(ms_overrides_new(NULL), "ms_overrides_new", "registry: ms_overrides_new: ", "");
  check_head(ms_overrides_set_int(ov, "nokey", 1), "ms_overrides_set_int",
             "registry: ms_overrides_set_int: ", "unknown key 'nokey'");
  check_head(ms_overrides_set_str(ov, "batch_size", "x"), "ms_overrides_set_str",
             "registry: ms_overrides_set_str: ", "key 'batch_size'");
  check_head(ms_overrides_clear(ov, "nokey"), "ms_overrides_clear",
             "registry: ms_overrides_clear: ", "unknown key 'nokey'");
  check_head(ms_model_get_int(NULL, "batch_size", &iv, NULL), "ms_model_get_int", "registry: ms_model_get_int: ", "");
  check_head(ms_model_get_str(NULL, "device", &sv, NULL), "ms_model_get_str", "registry: ms_model_get_str: ", "");
  check_head(ms_model_list_get(NULL, 0, NULL), "ms_model_list_get", "registry: ms_model_list_get: ", "");
  check_head(ms_scan_report_get(NULL, 0, NULL, NULL, NULL, NULL), "ms_scan_report_get",
             "registry: ms_scan_report_get: ", "");
  /* A cause from the store keeps its wording, after the call's object. */
  char *a = mar(f, "ro.mar", "ro", "1", NULL);
  assert_int_equal(ms_registry_register(f->r, a, NULL, NULL), MS_OK);
  ms_store *ro = NULL;
  ms_registry *rr = NULL;
  assert_int_equal(ms_store_open(f->db, MS_STORE_READONLY, &ro), MS_OK);
  assert_int_equal(ms_registry_open(ro, NULL, &rr), MS_OK);
  check_head(ms_registry_unregister(rr, "ro", "1"), "ms_registry_unregister", "registry: ms_registry_unregister: ",
             "model 'ro' version '1': store '");
  char *b = mar(f, "ro2.mar", "ro2", "1", NULL); /* something for the scan to write */
  check_head(ms_registry_scan(rr, f->models, NULL), "ms_registry_scan", "registry: ms_registry_scan: folder '",
             ": store '");
  free(b);
  ms_registry_close(rr);
  ms_store_close(ro);
  free(a);
  ms_overrides_free(ov);
  free(absent);
}

/* The store's errors map the same on either backend (this suite runs on
 * both): a unique violation is MS_EEXIST, another constraint MS_ECONFLICT,
 * and the failed write leaves nothing behind. */
static const char SQL_META_PUT[] = "INSERT INTO ms_meta(key, value) VALUES (?1, CAST(?2 AS TEXT))";

typedef struct meta_put {
  const char *key, *value;
} meta_put;

static int meta_put_op(ms_store *s, void *arg) {
  meta_put *m = arg;
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_META_PUT, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, m->key, -1);
  if (m->value) ms__stmt_bind_text(q, 2, m->value, -1);
  return ms__stmt_done(s, q, "put a meta row");
}

static void constraint_errors_map_the_same_on_both_backends(void **state) {
  fx *f = *state;
  meta_put once = {"eq:1", "a"}, again = {"eq:1", "b"}, no_value = {"eq:2", NULL};
  assert_int_equal(ms__store_write(f->s, meta_put_op, &once), MS_OK);
  assert_int_equal(ms__store_write(f->s, meta_put_op, &again), MS_EEXIST);
  assert_non_null(strstr(ms_errmsg(), "put a meta row"));
  assert_int_equal(ms__store_write(f->s, meta_put_op, &no_value), MS_ECONFLICT); /* NOT NULL */
  assert_int_equal(ms_test_count_keys(f->s, "eq:%"), 1);
  assert_int_equal(ms_test_sql_int(f->s, "SELECT count(*) FROM ms_meta WHERE key = 'eq:1' AND value = 'a'"), 1);
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_registry");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(first_version_is_default_and_default_is_protected, setup, teardown),
      cmocka_unit_test_setup_teardown(constraint_errors_map_the_same_on_both_backends, setup, teardown),
      cmocka_unit_test_setup_teardown(unregister_all_versions, setup, teardown),
      cmocka_unit_test_setup_teardown(duplicates_and_bad_archives_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(registrations_and_overrides_survive_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(scan_adds_skips_updates_and_marks_missing, setup, teardown),
      cmocka_unit_test_setup_teardown(scan_keeps_going_when_names_clash, setup, teardown),
      cmocka_unit_test_setup_teardown(scan_checks_registrations_it_does_not_list, setup, teardown),
      cmocka_unit_test_setup_teardown(scan_failure_leaves_the_registration, setup, teardown),
      cmocka_unit_test_setup_teardown(scan_follows_a_renamed_archive, setup, teardown),
      cmocka_unit_test_setup_teardown(one_registry_from_several_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(every_message_names_the_call, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
