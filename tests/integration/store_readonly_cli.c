/* Integration test: the CLIs' read commands inspect a store their user may
 * not write (a read-only folder and files), changing nothing; their write
 * commands are refused with the reason. Root ignores permission bits, so when
 * run as root the CLIs run as an unprivileged user.
 * usage: integration_store_readonly_cli MSERVE-TRACKER MSERVE-REGISTRY */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static const char *tracker_cli, *registry_cli;

/* Run argv (NULL-terminated), stdout and stderr into out; the exit status.
 * With `unprivileged`, as an unprivileged user when we are root. */
static int run(int unprivileged, char *out, size_t cap, char *const argv[]) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t kid = fork();
  assert_true(kid >= 0);
  if (kid == 0) {
    close(p[0]);
    dup2(p[1], 1);
    dup2(p[1], 2);
    if (unprivileged && geteuid() == 0) {
      gid_t none = 65534;
      if (setgroups(1, &none) || setgid(65534) || setuid(65534)) _exit(126);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  close(p[1]);
  size_t n = 0;
  ssize_t r;
  while (n + 1 < cap && (r = read(p[0], out + n, cap - 1 - n)) > 0) n += (size_t)r;
  out[n] = '\0';
  close(p[0]);
  int ws;
  assert_int_equal(waitpid(kid, &ws, 0), kid);
  assert_true(WIFEXITED(ws));
  return WEXITSTATUS(ws);
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

/* Every entry of dir with its size and modification time. */
static void listing(const char *dir, char *out, size_t cap) {
  char names[32][320];
  size_t n = 0;
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) && n < 32) {
    if (e->d_name[0] == '.') continue;
    char *p = ms_test_path(dir, e->d_name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    snprintf(names[n++], sizeof names[0], "%.255s %lld %lld.%09ld", e->d_name, (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    free(p);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], by_name);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s\n", names[i]);
  }
}

static void read_commands_work_on_an_unwritable_store(void **state) {
  (void)state;
  char *dir = ms_test_tmpdir("store-ro-cli");
  assert_non_null(dir);
  char *db = ms_test_path(dir, "serving.db");
  char out[16384];
  char *tk = (char *)tracker_cli, *rg = (char *)registry_cli;

  /* written while it may be written */
  char *limit[] = {tk, "--db", db, "limit", "user:a", "3", "--class", "compute", NULL};
  assert_int_equal(run(0, out, sizeof out, limit), 0);
  char *admit[] = {tk, "--db", db, "admit", "s1", "--scope", "user:a", NULL};
  assert_int_equal(run(0, out, sizeof out, admit), 0);
  char *list[] = {rg, "--db", db, "--json", "list", NULL};
  assert_int_equal(run(0, out, sizeof out, list), 0);

  /* then closed to its readers */
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *p = ms_test_path(dir, e->d_name);
    assert_int_equal(chmod(p, 0444), 0);
    free(p);
  }
  closedir(d);
  assert_int_equal(chmod(dir, 0555), 0);
  char *can_reach[] = {"/usr/bin/test", "-r", db, NULL};
  char *can_write[] = {"/usr/bin/test", "-w", dir, NULL};
  if (run(1, out, sizeof out, can_reach) != 0 || run(1, out, sizeof out, can_write) == 0) {
    chmod(dir, 0755);
    ms_test_rmtree(dir);
    free(db);
    free(dir);
    skip(); /* no unprivileged user can reach the scratch folder, or it can write it */
  }
  char before[8192], after[8192];
  listing(dir, before, sizeof before);

  char *used[] = {tk, "--db", db, "--json", "used", "user:a", NULL};
  int rc = run(1, out, sizeof out, used);
  if (rc != 0) fail_msg("used: exit %d: %s", rc, out);
  assert_non_null(strstr(out, "\"used\":1"));
  char *show_limit[] = {tk, "--db", db, "--json", "limit", "user:a", "--class", "compute", NULL};
  rc = run(1, out, sizeof out, show_limit);
  if (rc != 0) fail_msg("limit: exit %d: %s", rc, out);
  assert_non_null(strstr(out, "\"limit\":3"));
  char *held[] = {tk, "--db", db, "held", "s1", NULL};
  rc = run(1, out, sizeof out, held);
  if (rc != 0) fail_msg("held: exit %d: %s", rc, out);
  rc = run(1, out, sizeof out, list);
  if (rc != 0) fail_msg("registry list: exit %d: %s", rc, out);
  char *show[] = {rg, "--db", db, "--json", "show", "no-such-model", NULL};
  rc = run(1, out, sizeof out, show);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(out, "MS_ENOTFOUND"));

  /* a write says why it cannot be done */
  char *admit2[] = {tk, "--db", db, "admit", "s2", "--scope", "user:a", NULL};
  rc = run(1, out, sizeof out, admit2);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(out, "read-only"));

  listing(dir, after, sizeof after);
  assert_string_equal(before, after);
  chmod(dir, 0755);
  ms_test_rmtree(dir);
  free(db);
  free(dir);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MSERVE-TRACKER MSERVE-REGISTRY\n", argv[0]);
    return 2;
  }
  tracker_cli = argv[1];
  registry_cli = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(read_commands_work_on_an_unwritable_store),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
