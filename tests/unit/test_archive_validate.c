/* Unit tests: ms_archive_validate — an archive whose manifest names a file
 * it does not hold (serializedFile, modelFile, configFile, requirementsFile,
 * a handler that is a file) is invalid, with the field and the file named;
 * zips, tar.gz (names below the top folder) and folders alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry_testutil.h"
#include "testutil.h"

static char *g_dir;

static int setup(void **state) {
  (void)state;
  g_dir = ms_test_tmpdir("validate");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ms_test_rmtree(g_dir);
  free(g_dir);
  return 0;
}

static const char *manifest(const char *model_fields) {
  static char buf[2048];
  snprintf(buf, sizeof buf,
           "{\"runtime\": \"python\", \"model\": {\"modelName\": \"v\", \"modelVersion\": \"1\", %s}}", model_fields);
  return buf;
}

/* An archive at <dir>/<file> of fmt with the manifest and the entries. */
static char *archive(const char *file, const char *fmt, const char *model_fields, const t_entry *extra, size_t n) {
  char *p = ms_test_path(g_dir, file);
  t_entry e[8];
  size_t k = 0;
  int tgz = strcmp(fmt, "tgz") == 0;
  e[k++] =
      (t_entry){tgz ? "v/MAR-INF/MANIFEST.json" : "MAR-INF/MANIFEST.json", T_FILE, manifest(model_fields), 0, NULL};
  for (size_t i = 0; i < n; i++) e[k++] = extra[i];
  assert_int_equal(t_write_archive(p, fmt, e, k), 0);
  return p;
}

static void expect_invalid(const char *path, const char *field, const char *file, const char *how) {
  ms_model *m = (ms_model *)0x1;
  int st = ms_archive_validate(path, NULL, &m);
  if (st != MS_ECORRUPT) fail_msg("%s: %s (%s)", path, ms_status_name(st), ms_errmsg());
  assert_ptr_equal(m, (ms_model *)0x1);
  char want[600];
  snprintf(want, sizeof want, "the manifest's %s '%s' %s", field, file, how);
  if (strncmp(ms_errmsg(), "registry: ms_archive_validate: archive '", 40) != 0 || !strstr(ms_errmsg(), want))
    fail_msg("message '%s' lacks '%s'", ms_errmsg(), want);
}

static void complete_archives_validate(void **state) {
  (void)state;
  t_entry files[] = {{"model.pt", T_FILE, "w", 0, NULL},
                     {"handler.py", T_FILE, "def handle(): pass", 0, NULL},
                     {"model.py", T_FILE, "x", 0, NULL},
                     {"requirements.txt", T_FILE, "numpy", 0, NULL},
                     {"model-config.yaml", T_FILE, "batchSize: 2\n", 0, NULL}};
  const char *fields =
      "\"serializedFile\": \"model.pt\", \"modelFile\": \"./model.py\", \"handler\": \"handler.py:handle\","
      " \"requirementsFile\": \"requirements.txt\", \"configFile\": \"model-config.yaml\"";
  char *zip = archive("ok.mar", "zip", fields, files, 5);
  ms_model *m = NULL;
  assert_int_equal(ms_archive_validate(zip, NULL, &m), MS_OK);
  assert_string_equal(ms_model_name(m), "v");
  int64_t bs = 0;
  assert_int_equal(ms_model_get_int(m, "batch_size", &bs, NULL), MS_OK);
  assert_int_equal(bs, 2);
  ms_model_free(m);
  assert_int_equal(ms_archive_validate(zip, NULL, NULL), MS_OK);
  /* The same in a tar.gz, under its top folder. */
  t_entry tfiles[] = {{"v/model.pt", T_FILE, "w", 0, NULL},
                      {"v/handler.py", T_FILE, "def handle(): pass", 0, NULL},
                      {"v/model.py", T_FILE, "x", 0, NULL},
                      {"v/requirements.txt", T_FILE, "numpy", 0, NULL},
                      {"v/model-config.yaml", T_FILE, "batchSize: 2\n", 0, NULL}};
  char *tgz = archive("ok.tar.gz", "tgz", fields, tfiles, 5);
  assert_int_equal(ms_archive_validate(tgz, NULL, NULL), MS_OK);
  /* Built-in handlers and module:function handlers name no file. */
  char *builtin = archive("builtin.mar", "zip", "\"handler\": \"image_classifier\"", NULL, 0);
  assert_int_equal(ms_archive_validate(builtin, NULL, NULL), MS_OK);
  char *module = archive("module.mar", "zip", "\"handler\": \"service:handle\"", NULL, 0);
  assert_int_equal(ms_archive_validate(module, NULL, NULL), MS_OK);
  char *mlp = archive("mlp.mar", "zip", "\"handler\": \"mserve:mlp\"", NULL, 0);
  assert_int_equal(ms_archive_validate(mlp, NULL, NULL), MS_OK);
  free(zip);
  free(tgz);
  free(builtin);
  free(module);
  free(mlp);
}

static void a_missing_named_file_is_named(void **state) {
  (void)state;
  t_entry pt[] = {{"model.pt", T_FILE, "w", 0, NULL}};
  char *p = archive("a.mar", "zip", "\"serializedFile\": \"weights.pt\"", pt, 1);
  expect_invalid(p, "model.serializedFile", "weights.pt", "is not in the archive");
  free(p);
  p = archive("b.mar", "zip", "\"serializedFile\": \"model.pt\", \"handler\": \"my_handler.py\"", pt, 1);
  expect_invalid(p, "model.handler", "my_handler.py", "is not in the archive");
  free(p);
  p = archive("c.mar", "zip", "\"serializedFile\": \"model.pt\", \"handler\": \"h.py:entry\"", pt, 1);
  expect_invalid(p, "model.handler", "h.py", "is not in the archive");
  free(p);
  p = archive("d.mar", "zip", "\"modelFile\": \"arch.py\"", pt, 1);
  expect_invalid(p, "model.modelFile", "arch.py", "is not in the archive");
  free(p);
  p = archive("e.mar", "zip", "\"requirementsFile\": \"requirements.txt\"", pt, 1);
  expect_invalid(p, "model.requirementsFile", "requirements.txt", "is not in the archive");
  free(p);
  /* A folder entry of that name is no file. */
  t_entry dir[] = {{"model.pt/", T_DIR, NULL, 0, NULL}};
  p = archive("f.mar", "zip", "\"serializedFile\": \"model.pt\"", dir, 1);
  expect_invalid(p, "model.serializedFile", "model.pt", "is not a regular file in the archive");
  free(p);
  /* A tar.gz holding the file outside its top folder does not hold it. */
  t_entry top[] = {{"v/", T_DIR, NULL, 0, NULL}, {"v/other.pt", T_FILE, "w", 0, NULL}};
  p = archive("g.tar.gz", "tgz", "\"serializedFile\": \"model.pt\"", top, 2);
  expect_invalid(p, "model.serializedFile", "model.pt", "is not in the archive");
  free(p);
}

static void folders_and_legacy_manifests(void **state) {
  (void)state;
  char *d = ms_test_path(g_dir, "folder");
  char *inf = ms_test_path(d, "MAR-INF");
  char *man = ms_test_path(inf, "MANIFEST.json");
  mkdir(d, 0755);
  mkdir(inf, 0755);
  assert_int_equal(t_write_text(man, manifest("\"serializedFile\": \"model.pt\", \"handler\": \"service.py\"")), 0);
  char *pt = ms_test_path(d, "model.pt");
  assert_int_equal(t_write_text(pt, "w"), 0);
  expect_invalid(d, "model.handler", "service.py", "is not in the archive");
  char *svc = ms_test_path(d, "service.py");
  assert_int_equal(t_write_text(svc, "def handle(): pass"), 0);
  assert_int_equal(ms_archive_validate(d, NULL, NULL), MS_OK);
  /* MMS 0.1: its Service. */
  char *legacy = ms_test_path(g_dir, "legacy");
  char *lman = ms_test_path(legacy, "MANIFEST.json");
  mkdir(legacy, 0755);
  assert_int_equal(t_write_text(lman, "{\"Model-Archive-Version\": 0.1, \"Model\": {\"Model-Name\": \"old\","
                                      " \"Service\": \"noop_service.py\"}}"),
                   0);
  expect_invalid(legacy, "Model.Service", "noop_service.py", "is not in the archive");
  /* Whatever inspect refuses, validate refuses the same way. */
  char *absent = ms_test_path(g_dir, "absent.mar");
  assert_int_equal(ms_archive_validate(absent, NULL, NULL), MS_ENOTFOUND);
  assert_int_equal(ms_archive_validate(NULL, NULL, NULL), MS_EINVAL);
  free(d);
  free(inf);
  free(man);
  free(pt);
  free(svc);
  free(legacy);
  free(lman);
  free(absent);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(complete_archives_validate, setup, teardown),
      cmocka_unit_test_setup_teardown(a_missing_named_file_is_named, setup, teardown),
      cmocka_unit_test_setup_teardown(folders_and_legacy_manifests, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
