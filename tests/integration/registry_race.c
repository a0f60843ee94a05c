/* Integration: processes racing on one registry database.
 *  - materialize: every process gets the same complete folder, the root
 *    holds exactly that folder afterwards (no temporary leftovers);
 *  - scan: concurrent scans of one folder all succeed and register each
 *    archive once.
 * On PostgreSQL (MSERVE_TEST_STORE=postgresql) the processes are hosts
 * sharing the server's registry, each materializing into the root it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry_testutil.h"
#include "pg_cluster.h"
#include "testutil.h"

enum { PROCS = 4 };

static size_t count_entries(const char *dir) {
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
  if (d) closedir(d);
  return n;
}

/* Fork PROCS children that block on `go` and then run fn(arg); returns the
 * number of children that exited with status 0. */
static int race(int (*fn)(void *), void *arg) {
  int go[2];
  assert_int_equal(pipe(go), 0);
  pid_t pids[PROCS];
  for (int i = 0; i < PROCS; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      close(go[1]);
      char c;
      if (read(go[0], &c, 1) != 0) _exit(3); /* released when the parent closes */
      _exit(fn(arg));
    }
  }
  close(go[0]);
  close(go[1]);
  int ok = 0;
  for (int i = 0; i < PROCS; i++) {
    int status = 0;
    waitpid(pids[i], &status, 0);
    ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return ok;
}

typedef struct job {
  char *db, *archive, *root, *models;
  char expect[4096];
} job;

static int materialize_child(void *arg) {
  job *j = arg;
  ms_store *s = NULL;
  ms_registry *r = NULL;
  ms_model *m = NULL;
  if (ms_store_open(j->db, 0, &s) || ms_registry_open(s, NULL, &r) || ms_registry_get(r, "racer", NULL, &m)) return 1;
  char out[4096];
  int st = ms_registry_materialize(r, m, j->root, out, sizeof out);
  if (st) fprintf(stderr, "child: %s\n", ms_errmsg());
  int bad = st || strcmp(out, j->expect) != 0;
  char *pt = ms_test_path(out, "model.pt");
  struct stat sb;
  if (!bad && (stat(pt, &sb) != 0 || sb.st_size != 2000000)) bad = 1; /* complete, never partial */
  free(pt);
  ms_model_free(m);
  ms_registry_close(r);
  ms_store_close(s);
  return bad;
}

static void processes_race_to_materialize(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("race");
  job j;
  memset(&j, 0, sizeof j);
  j.db = ms_test_store_path(dir, "store.db");
  j.archive = ms_test_path(dir, "racer.mar");
  j.root = ms_test_path(dir, "root");
  char *man = t_manifest("racer", "1", NULL, NULL);
  t_entry e[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"model.pt", T_FILE, NULL, 2000000, NULL}};
  assert_int_equal(t_write_archive(j.archive, "zip", e, 2), 0);
  ms_store *s = NULL;
  ms_registry *r = NULL;
  ms_model *m = NULL;
  assert_int_equal(ms_store_open(j.db, 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  assert_int_equal(ms_registry_register(r, j.archive, NULL, &m), MS_OK);
  snprintf(j.expect, sizeof j.expect, "%s/%s", j.root, ms_model_content_hash(m));
  ms_model_free(m);
  ms_registry_close(r);
  ms_store_close(s);
  int rounds = ms_test_scale(8);
  for (int round = 0; round < rounds; round++) {
    ms_test_rmtree(j.root);
    assert_int_equal(race(materialize_child, &j), PROCS);
    assert_int_equal(count_entries(j.root), 1); /* the hash folder, no temp folders */
    assert_int_equal(count_entries(j.expect), 2);
  }
  free(man);
  free(j.db);
  free(j.archive);
  free(j.root);
  ms_test_rmtree(dir);
  free(dir);
}

static int scan_child(void *arg) {
  job *j = arg;
  ms_store *s = NULL;
  ms_registry *r = NULL;
  ms_scan_report *rep = NULL;
  if (ms_store_open(j->db, 0, &s) || ms_registry_open(s, NULL, &r)) return 1;
  int st = ms_registry_scan(r, j->models, &rep);
  if (st) fprintf(stderr, "child scan: %s\n", ms_errmsg());
  int bad = st || ms_scan_report_count_outcome(rep, MS_SCAN_FAILED) != 0 || ms_scan_report_count(rep) != 20;
  ms_scan_report_free(rep);
  ms_registry_close(r);
  ms_store_close(s);
  return bad;
}

static void processes_scan_one_store_together(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("race");
  job j;
  memset(&j, 0, sizeof j);
  j.db = ms_test_store_path(dir, "store.db");
  j.models = ms_test_path(dir, "models");
  mkdir(j.models, 0755);
  for (int i = 0; i < 20; i++) {
    char file[64], name[64];
    snprintf(file, sizeof file, "m%02d.mar", i);
    snprintf(name, sizeof name, "model%d", i % 5);
    char version[16];
    snprintf(version, sizeof version, "%d", i);
    char *p = ms_test_path(j.models, file);
    assert_int_equal(t_write_mar(p, name, version, NULL, NULL), 0);
    free(p);
  }
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(j.db, 0, &s), MS_OK); /* create the schema once */
  ms_store_close(s);
  assert_int_equal(race(scan_child, &j), PROCS);
  ms_registry *r = NULL;
  assert_int_equal(ms_store_open(j.db, 0, &s), MS_OK);
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_list(r, NULL, &l), MS_OK);
  assert_int_equal(ms_model_list_count(l), 20);
  size_t defaults = 0;
  for (size_t i = 0; i < 20; i++) {
    const ms_model *m = NULL;
    assert_int_equal(ms_model_list_get(l, i, &m), MS_OK);
    defaults += (size_t)ms_model_is_default(m);
  }
  assert_int_equal(defaults, 5);
  ms_model_list_free(l);
  ms_registry_close(r);
  ms_store_close(s);
  free(j.db);
  free(j.models);
  ms_test_rmtree(dir);
  free(dir);
}

int main(void) {
  int skip_rc = ms_test_backend_start("integration_registry_race");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(processes_race_to_materialize),
      cmocka_unit_test(processes_scan_one_store_together),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
