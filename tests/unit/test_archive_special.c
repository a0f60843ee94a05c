/* Unit tests: special files (FIFOs, devices, folders where a file belongs)
 * never hang or confuse the registry. Every path the registry opens for
 * reading is checked to be a regular file first, without blocking: a FIFO
 * named like an archive, a folder model whose manifest or config is a
 * FIFO, an archive replaced by a FIFO after registration, a global config
 * that is a FIFO. Each is one failure with its reason; a scan goes on.
 *
 * Before the fix these calls block forever in open(); a watchdog alarm
 * turns such a hang into a failed test instead of a stuck run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry/archive.h"
#include "registry_testutil.h"
#include "testutil.h"

typedef struct fx {
  char *dir;
  char *root;
  ms_store *s;
  ms_registry *r;
} fx;

static void hung(int sig) {
  (void)sig;
  static const char msg[] = "FAIL: a registry call blocked on a special file (watchdog)\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(1);
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("special");
  f->root = ms_test_path(f->dir, "root");
  if (ms_store_open(":memory:", 0, &f->s) || ms_registry_open(f->s, NULL, &f->r)) return -1;
  signal(SIGALRM, hung);
  alarm(60); /* a watchdog against a hang, not a timing check */
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  alarm(0);
  ms_registry_close(f->r);
  ms_store_close(f->s);
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->root);
  free(f);
  return 0;
}

static void expect_refused(int st, int want, const char *needle1, const char *needle2) {
  if (st != want || !strstr(ms_errmsg(), needle1) || (needle2 && !strstr(ms_errmsg(), needle2)))
    fail_msg("expected %s naming '%s'%s%s: got %s '%s'", ms_status_name(want), needle1, needle2 ? " and " : "",
             needle2 ? needle2 : "", ms_status_name(st), ms_errmsg());
}

/* A FIFO named x.mar / x.tgz: register and inspect refuse it at once. */
static void fifo_named_like_an_archive(void **state) {
  fx *f = *state;
  const char *names[] = {"pipe.mar", "pipe.tgz"};
  for (int i = 0; i < 2; i++) {
    char *p = ms_test_path(f->dir, names[i]);
    assert_int_equal(mkfifo(p, 0644), 0);
    ms_model *m = NULL;
    expect_refused(ms_registry_register(f->r, p, NULL, &m), MS_EUNSUPPORTED, names[i], "not a regular file");
    assert_null(m);
    expect_refused(ms_archive_inspect(p, NULL, &m), MS_EUNSUPPORTED, names[i], "FIFO");
    ms__archive_meta meta;
    expect_refused(ms__registry_archive_read_path(p, i ? MS__FMT_TGZ : MS__FMT_ZIP, &meta), MS_EUNSUPPORTED, names[i], NULL);
    free(p);
  }
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_list(f->r, NULL, &l), MS_OK);
  assert_int_equal(ms_model_list_count(l), 0);
  ms_model_list_free(l);
}

/* A folder model with MAR-INF/MANIFEST.json (or the legacy MANIFEST.json,
 * or its config file) made a FIFO, and a folder where the manifest is a
 * folder: each fails on its own, with the reason. */
static char *folder_model(fx *f, const char *store, const char *name, const char *config) {
  char *d = ms_test_path(store, name);
  char *inf = ms_test_path(d, "MAR-INF");
  char *mf = ms_test_path(inf, "MANIFEST.json");
  assert_int_equal(mkdir(d, 0755), 0);
  assert_int_equal(mkdir(inf, 0755), 0);
  char *man = t_manifest(name, "1", NULL, config);
  assert_int_equal(t_write_text(mf, man), 0);
  (void)f;
  free(man);
  free(mf);
  free(inf);
  return d;
}

static void scan_goes_on_past_special_files(void **state) {
  fx *f = *state;
  char *store = ms_test_path(f->dir, "store");
  assert_int_equal(mkdir(store, 0755), 0);
  /* Good ones, before and after the bad ones in name order. */
  char *a = ms_test_path(store, "a-good.mar"), *z = ms_test_path(store, "z-good.mar");
  assert_int_equal(t_write_mar(a, "agood", "1", NULL, NULL), 0);
  assert_int_equal(t_write_mar(z, "zgood", "1", NULL, NULL), 0);
  char *zdir = folder_model(f, store, "zfolder", NULL);
  /* fifo-manifest: MAR-INF/MANIFEST.json is a FIFO. */
  char *fm = ms_test_path(store, "fifo-manifest"), *fm_inf = ms_test_path(fm, "MAR-INF"),
       *fm_man = ms_test_path(fm_inf, "MANIFEST.json");
  assert_int_equal(mkdir(fm, 0755), 0);
  assert_int_equal(mkdir(fm_inf, 0755), 0);
  assert_int_equal(mkfifo(fm_man, 0644), 0);
  /* fifo-legacy: the legacy top-level MANIFEST.json is a FIFO. */
  char *fl = ms_test_path(store, "fifo-legacy"), *fl_man = ms_test_path(fl, "MANIFEST.json");
  assert_int_equal(mkdir(fl, 0755), 0);
  assert_int_equal(mkfifo(fl_man, 0644), 0);
  /* fifo-config: the manifest names a config file that is a FIFO. */
  char *fc = folder_model(f, store, "fifoconfig", "model-config.yaml");
  char *fc_cfg = ms_test_path(fc, "model-config.yaml");
  assert_int_equal(mkfifo(fc_cfg, 0644), 0);
  /* dir-manifest: MAR-INF/MANIFEST.json is a folder. */
  char *dm = ms_test_path(store, "dir-manifest"), *dm_inf = ms_test_path(dm, "MAR-INF"),
       *dm_man = ms_test_path(dm_inf, "MANIFEST.json");
  assert_int_equal(mkdir(dm, 0755), 0);
  assert_int_equal(mkdir(dm_inf, 0755), 0);
  assert_int_equal(mkdir(dm_man, 0755), 0);
  /* A FIFO named like an archive. */
  char *pipe = ms_test_path(store, "pipe.mar");
  assert_int_equal(mkfifo(pipe, 0644), 0);

  ms_scan_report *rep = NULL;
  assert_int_equal(ms_registry_scan(f->r, store, &rep), MS_OK);
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 3);
  const struct {
    const char *path;
    int status;
    const char *needle;
  } bad[] = {{fm, MS_ECORRUPT, "FIFO"}, {fl, MS_ECORRUPT, "FIFO"}, {fc, MS_ECORRUPT, "model-config.yaml"},
             {dm, MS_ECORRUPT, "not a regular file"}, {pipe, MS_EUNSUPPORTED, "FIFO"}};
  size_t n_bad = sizeof bad / sizeof bad[0];
  assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_FAILED), n_bad);
  for (size_t k = 0; k < n_bad; k++) {
    int found = 0;
    for (size_t i = 0; i < ms_scan_report_count(rep); i++) {
      const char *path, *msg;
      ms_scan_outcome oc;
      int status;
      assert_int_equal(ms_scan_report_get(rep, i, &path, &oc, &status, &msg), MS_OK);
      char *real = realpath(bad[k].path, NULL);
      int same = real && strcmp(real, path) == 0;
      free(real);
      if (!same) continue;
      found = 1;
      if (oc != MS_SCAN_FAILED || status != bad[k].status || !strstr(msg, bad[k].needle) ||
          !strstr(msg, "not a regular file"))
        fail_msg("%s: outcome %d %s '%s'", path, (int)oc, ms_status_name(status), msg);
    }
    if (!found) fail_msg("%s is not in the scan report", bad[k].path);
  }
  ms_scan_report_free(rep);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_get(f->r, "agood", NULL, &m), MS_OK);
  ms_model_free(m);
  assert_int_equal(ms_registry_get(f->r, "zgood", NULL, &m), MS_OK);
  ms_model_free(m);
  assert_int_equal(ms_registry_get(f->r, "zfolder", NULL, &m), MS_OK);
  ms_model_free(m);
  /* Registering the folders by hand gives the same reasons. */
  expect_refused(ms_registry_register(f->r, fm, NULL, &m), MS_ECORRUPT, "MANIFEST.json", "FIFO");
  expect_refused(ms_registry_register(f->r, fc, NULL, &m), MS_ECORRUPT, "model-config.yaml", "FIFO");
  free(pipe);
  free(dm_man);
  free(dm_inf);
  free(dm);
  free(fc_cfg);
  free(fc);
  free(fl_man);
  free(fl);
  free(fm_man);
  free(fm_inf);
  free(fm);
  free(zdir);
  free(z);
  free(a);
  free(store);
}

/* A registered archive replaced by a FIFO: materialize refuses at once and
 * leaves nothing; so does one replaced by a folder. */
static void archive_replaced_by_a_fifo(void **state) {
  fx *f = *state;
  char *p = ms_test_path(f->dir, "swap.mar");
  assert_int_equal(t_write_mar(p, "swap", "1", NULL, NULL), 0);
  ms_model *m = NULL;
  assert_int_equal(ms_registry_register(f->r, p, NULL, &m), MS_OK);
  assert_int_equal(unlink(p), 0);
  assert_int_equal(mkfifo(p, 0644), 0);
  char out[4096] = "untouched";
  expect_refused(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_EIO, "swap.mar", "not a regular file");
  assert_string_equal(out, "untouched");
  assert_int_equal(unlink(p), 0);
  assert_int_equal(mkdir(p, 0755), 0);
  expect_refused(ms_registry_materialize(f->r, m, f->root, out, sizeof out), MS_EIO, "swap.mar", "not a regular file");
  assert_string_equal(out, "untouched");
  ms_model_free(m);
  free(p);
}

/* A global config file that is a FIFO (or a folder) is refused at once. */
static void global_config_fifo(void **state) {
  fx *f = *state;
  char *g = ms_test_path(f->dir, "global.json");
  assert_int_equal(mkfifo(g, 0644), 0);
  ms_registry *r2 = NULL;
  expect_refused(ms_registry_open(f->s, g, &r2), MS_EIO, "global.json", "not a regular file");
  assert_null(r2);
  char *p = ms_test_path(f->dir, "ok.mar");
  assert_int_equal(t_write_mar(p, "ok", "1", NULL, NULL), 0);
  ms_model *m = NULL;
  expect_refused(ms_archive_inspect(p, g, &m), MS_EIO, "global.json", "FIFO");
  assert_null(m);
  free(p);
  free(g);
}

/* A folder model whose manifest is a link to a character device is refused
 * as not a regular file instead of being read from the device. */
static void manifest_linked_to_a_device(void **state) {
  fx *f = *state;
  char *d = ms_test_path(f->dir, "devmodel"), *inf = ms_test_path(d, "MAR-INF"), *mf = ms_test_path(inf, "MANIFEST.json");
  assert_int_equal(mkdir(d, 0755), 0);
  assert_int_equal(mkdir(inf, 0755), 0);
  assert_int_equal(symlink("/dev/zero", mf), 0);
  ms_model *m = NULL;
  expect_refused(ms_registry_register(f->r, d, NULL, &m), MS_ECORRUPT, "MANIFEST.json", "not a regular file");
  free(mf);
  free(inf);
  free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(fifo_named_like_an_archive, setup, teardown),
      cmocka_unit_test_setup_teardown(scan_goes_on_past_special_files, setup, teardown),
      cmocka_unit_test_setup_teardown(archive_replaced_by_a_fifo, setup, teardown),
      cmocka_unit_test_setup_teardown(global_config_fifo, setup, teardown),
      cmocka_unit_test_setup_teardown(manifest_linked_to_a_device, setup, teardown),
  };
  const char *only = getenv("MS_TEST_FILTER"); /* run one test: MS_TEST_FILTER=<name> */
  if (only && *only) cmocka_set_test_filter(only);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
