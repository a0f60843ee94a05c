/* Unit tests: MS_STORE_READONLY opens a store this process may not write
 * (a read-only file, folder or mount), never writes anything, refuses every
 * write with MS_EINVAL, and reads what the database holds, write-ahead log
 * included. The unwritable cases are made real even when the tests run as
 * root, who ignores permissions: a forked child either drops to an
 * unprivileged user or reads through a read-only bind mount. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "schema/schema.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "testutil.h"

typedef ms_test_db fx;

static int64_t file_size(const char *db, const char *suffix) {
  char p[4096];
  snprintf(p, sizeof p, "%s%s", db, suffix);
  struct stat st;
  return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* A store whose limit for user:a is `limit`, closed cleanly (no log left). */
static void make_store(const char *db, int64_t limit) {
  ms_store *s = NULL;
  ms_tracker *t = NULL;
  assert_int_equal(ms_store_open(db, 0, &s), MS_OK);
  assert_int_equal(ms_tracker_open(s, &t), MS_OK);
  assert_int_equal(ms_tracker_set_limit(t, "user:a", MS_CLASS_COMPUTE, limit), MS_OK);
  ms_tracker_close(t);
  ms_store_close(s);
}

/* A store whose last commit (limit `limit`) is only in its write-ahead log:
 * the state a writer killed (or a power loss) leaves, "-wal" and "-shm" beside
 * the database. */
static void make_crashed_store(const char *db, int64_t limit) {
  make_store(db, 1);
  pid_t kid = fork();
  assert_true(kid >= 0);
  if (kid == 0) {
    ms_store *s = NULL;
    ms_tracker *t = NULL;
    if (ms_store_open(db, 0, &s) || ms_store_set_autocheckpoint(s, 0) || ms_tracker_open(s, &t) ||
        ms_tracker_set_limit(t, "user:a", MS_CLASS_COMPUTE, limit))
      _exit(3);
    _exit(0); /* without closing: the log is not copied back */
  }
  int ws;
  assert_int_equal(waitpid(kid, &ws, 0), kid);
  assert_true(WIFEXITED(ws));
  assert_int_equal(WEXITSTATUS(ws), 0);
  assert_true(file_size(db, "-wal") > 32);
  assert_true(file_size(db, "-shm") > 0);
}

static int64_t limit_of(ms_store *s) {
  ms_tracker *t = NULL;
  int64_t limit = -2;
  if (ms_tracker_open(s, &t)) return -3;
  if (ms_tracker_get_limit(t, "user:a", MS_CLASS_COMPUTE, &limit)) limit = -4;
  ms_tracker_close(t);
  return limit;
}

/* Reads work, every kind of write is refused with MS_EINVAL, and nothing
 * changes. */
static void reads_and_refuses_every_write(void **state) {
  fx *f = *state;
  make_store(f->db, 3);
  ms_store *w = NULL;
  ms_autoscaler *wa = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &w), MS_OK);
  assert_int_equal(ms_autoscaler_open(w, &wa), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(wa, "ep", 4), MS_OK);
  ms_autoscaler_close(wa);
  ms_store_close(w);
  char side[4096];
  snprintf(side, sizeof side, "%s-mslock", f->db);
  assert_int_equal(unlink(side), 0);

  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, MS_STORE_READONLY, &s), MS_OK);
  int64_t v = 0;
  assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
  assert_int_equal(v, ms_store_latest_schema());
  assert_int_equal(limit_of(s), 3);

  ms_tracker *t = NULL;
  assert_int_equal(ms_tracker_open(s, &t), MS_OK);
  assert_int_equal(ms_tracker_set_limit(t, "user:a", MS_CLASS_COMPUTE, 9), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "read-only"));
  assert_non_null(strstr(ms_errmsg(), f->db));
  const char *scopes[] = {"user:a"};
  assert_int_equal(ms_tracker_admit(t, "s1", MS_CLASS_COMPUTE, scopes, 1, 0, 1, NULL), MS_EINVAL);
  ms_tracker_txn *x = NULL;
  int st = ms_tracker_begin(t, &x);
  if (st == MS_OK) {
    assert_int_equal(ms_tracker_txn_admit(x, "s2", MS_CLASS_COMPUTE, scopes, 1, 0, 1, NULL), MS_EINVAL);
    ms_tracker_txn_rollback(x);
  } else {
    assert_int_equal(st, MS_EINVAL);
  }
  int64_t used = -1;
  assert_int_equal(ms_tracker_get_used(t, "user:a", MS_CLASS_COMPUTE, 1, &used), MS_OK);
  assert_int_equal(used, 0);
  ms_tracker_close(t);

  ms_autoscaler *a = NULL;
  assert_int_equal(ms_autoscaler_open(s, &a), MS_OK);
  int64_t replicas = 0;
  assert_int_equal(ms_autoscaler_get_replicas(a, "ep", &replicas), MS_OK);
  assert_int_equal(replicas, 4);
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 5), MS_EINVAL);
  assert_non_null(strstr(ms_errmsg(), "read-only"));
  ms_autoscaler_close(a);

  ms_registry *r = NULL;
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_open(s, NULL, &r), MS_OK);
  assert_int_equal(ms_registry_list(r, NULL, &l), MS_OK);
  assert_int_equal(ms_model_list_count(l), 0);
  ms_model_list_free(l);
  ms_registry_close(r);

  assert_int_equal(ms_store_checkpoint(s, NULL), MS_EINVAL);
  ms_store_close(s);
  assert_int_equal(file_size(f->db, "-mslock"), -1); /* never created */

  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(limit_of(s), 3);
  ms_store_close(s);
}

/* A read-only store is never created, initialised or migrated. */
static void never_creates_or_migrates(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, MS_STORE_READONLY, &s), MS_ENOTFOUND);
  assert_null(s);
  assert_int_equal(file_size(f->db, ""), -1);

  assert_int_equal(ms_test_write_file(f->db, "", 0), 0); /* an empty file */
  assert_int_equal(ms_store_open(f->db, MS_STORE_READONLY, &s), MS_EUNSUPPORTED);
  assert_non_null(strstr(ms_errmsg(), "MS_STORE_READONLY"));
  assert_int_equal(file_size(f->db, ""), 0);
  assert_int_equal(remove(f->db), 0);

  assert_int_equal(ms__schema_open_at(f->db, 0, 2, &s), MS_OK); /* an older schema */
  ms_store_close(s);
  s = NULL;
  assert_int_equal(ms_store_open(f->db, MS_STORE_READONLY, &s), MS_EUNSUPPORTED);
  assert_non_null(strstr(ms_errmsg(), "older"));
  assert_null(s);
  assert_int_equal(ms__schema_open_at(f->db, MS_STORE_READONLY, 2, &s), MS_OK); /* as old as wanted: fine */
  ms_store_close(s);
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK); /* still version 2: migrates now */
  int64_t v = 0;
  assert_int_equal(ms_store_schema_version(s, &v), MS_OK);
  assert_int_equal(v, ms_store_latest_schema());
  ms_store_close(s);

  sqlite3 *h = NULL;
  assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%lld", (long long)(ms_store_latest_schema() + 1));
  assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h);
  assert_int_equal(ms_store_open(f->db, MS_STORE_READONLY, &s), MS_EUNSUPPORTED);
  assert_non_null(strstr(ms_errmsg(), "newer"));

  char *junk = ms_test_path(f->dir, "notes.txt");
  assert_int_equal(ms_test_write_file(junk, "this is not a database at all, just some text", 45), 0);
  assert_int_equal(ms_store_open(junk, MS_STORE_READONLY, &s), MS_ECORRUPT);
  free(junk);
}

/* Another process's commits are seen by a read-only handle that stays open. */
static void sees_what_writers_commit(void **state) {
  fx *f = *state;
  make_store(f->db, 1);
  ms_store *r = NULL, *w = NULL;
  assert_int_equal(ms_store_open(f->db, MS_STORE_READONLY, &r), MS_OK);
  assert_int_equal(limit_of(r), 1);
  assert_int_equal(ms_store_open(f->db, 0, &w), MS_OK);
  ms_tracker *t = NULL;
  assert_int_equal(ms_tracker_open(w, &t), MS_OK);
  assert_int_equal(ms_tracker_set_limit(t, "user:a", MS_CLASS_COMPUTE, 7), MS_OK);
  assert_int_equal(limit_of(r), 7);
  ms_tracker_close(t);
  ms_store_close(w);
  assert_int_equal(limit_of(r), 7);
  ms_store_close(r);
}

/* ---- as a process that really cannot write ------------------------------- */

/* Checks inside the forked reader: cmocka's asserts belong to the parent. */
#define CHECK(c)                                                                               \
  do {                                                                                         \
    if (!(c)) {                                                                                \
      fprintf(stderr, "%s:%d: failed: %s (last message: %s)\n", __FILE__, __LINE__, #c, ms_errmsg()); \
      _exit(1);                                                                                \
    }                                                                                          \
  } while (0)

static char *join(const char *dir, const char *name) { return ms_test_path(dir, name); }

/* In the reader: the three databases prepared by prepare_folder. */
static void reader_checks(const char *dir) {
  ms_store *s = NULL;
  char *clean = join(dir, "clean.db"), *crashed = join(dir, "crashed.db"), *noshm = join(dir, "noshm.db");

  /* no log: read as immutable, since no "-shm" can be created here */
  CHECK(ms_store_open(clean, MS_STORE_READONLY, &s) == MS_OK);
  CHECK(s->immutable);
  CHECK(limit_of(s) == 1);
  ms_tracker *t = NULL;
  CHECK(ms_tracker_open(s, &t) == MS_OK);
  CHECK(ms_tracker_set_limit(t, "user:a", MS_CLASS_COMPUTE, 2) == MS_EINVAL);
  CHECK(strstr(ms_errmsg(), "read-only") != NULL);
  ms_tracker_close(t);
  ms_store_close(s);
  s = NULL;
  /* a writable open says what is wrong and how to read it */
  CHECK(ms_store_open(clean, 0, &s) == MS_EIO);
  CHECK(strstr(ms_errmsg(), "MS_STORE_READONLY") != NULL);
  CHECK(s == NULL);

  /* the last commit only in the log: read through the existing "-shm" */
  CHECK(ms_store_open(crashed, MS_STORE_READONLY, &s) == MS_OK);
  CHECK(!s->immutable);
  CHECK(limit_of(s) == 5);
  ms_store_close(s);
  s = NULL;

  /* commits in the log, no "-shm", none can be made: refused, not misread */
  CHECK(ms_store_open(noshm, MS_STORE_READONLY, &s) == MS_EIO);
  CHECK(strstr(ms_errmsg(), "-shm") != NULL);
  CHECK(s == NULL);
  free(clean);
  free(crashed);
  free(noshm);
}

static void prepare_folder(const char *dir) {
  char *clean = join(dir, "clean.db"), *crashed = join(dir, "crashed.db"), *noshm = join(dir, "noshm.db");
  make_store(clean, 1);
  make_crashed_store(crashed, 5);
  make_crashed_store(noshm, 5);
  char shm[4096];
  snprintf(shm, sizeof shm, "%s-shm", noshm);
  assert_int_equal(unlink(shm), 0);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *p = join(dir, e->d_name);
    assert_int_equal(chmod(p, 0444), 0);
    free(p);
  }
  closedir(d);
  assert_int_equal(chmod(dir, 0555), 0);
  free(clean);
  free(crashed);
  free(noshm);
}

/* The folder's entries with their sizes, to show the readers changed nothing. */
static void listing(const char *dir, char *out, size_t cap) {
  out[0] = '\0';
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  char names[64][256];
  size_t n = 0;
  while ((e = readdir(d)) && n < 64) {
    if (e->d_name[0] == '.') continue;
    char *p = join(dir, e->d_name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    snprintf(names[n++], sizeof names[0], "%.200s:%lld:%lld", e->d_name, (long long)st.st_size,
             (long long)st.st_mtim.tv_nsec);
    free(p);
  }
  closedir(d);
  for (size_t i = 0; i < n; i++) /* sorted: readdir's order may change */
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(names[j], names[i]) < 0) {
        char tmp[256];
        memcpy(tmp, names[i], sizeof tmp);
        memcpy(names[i], names[j], sizeof tmp);
        memcpy(names[j], tmp, sizeof tmp);
      }
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s\n", names[i]);
  }
}

/* Drop to an unprivileged user when root, who ignores permission bits. */
static int drop_privileges(void) {
  if (geteuid() != 0) return 0;
  gid_t none = 65534;
  return setgroups(1, &none) != 0 || setgid(65534) != 0 || setuid(65534) != 0 ? -1 : 0;
}

/* Become a process that cannot write `dir`. 0, or 77 to skip. */
static int become_unprivileged(const char *dir) {
  if (drop_privileges()) return 77;
  if (access(dir, R_OK | X_OK) != 0) return 77; /* the scratch folder's parents are closed to that user */
  return access(dir, W_OK) == 0 ? 77 : 0;
}

/* Become a process that may write `dir` but not the database in it. */
static int become_unprivileged_file(const char *dir) {
  if (drop_privileges()) return 77;
  char *db = ms_test_path(dir, "clean.db");
  int ok = access(dir, R_OK | W_OK | X_OK) == 0 && access(db, W_OK) != 0;
  free(db);
  return ok ? 0 : 77;
}

/* Read-only bind mount of dir over itself, in a mount namespace of our own:
 * even root cannot write through it (EROFS). 0, or 77 to skip. */
static int behind_readonly_mount(const char *dir) {
  if (unshare(CLONE_NEWNS) != 0) return 77;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return 77;
  if (mount(dir, dir, NULL, MS_BIND, NULL) != 0) return 77;
  if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) return 77;
  return 0;
}

static int run_reader(const char *dir, int (*become)(const char *), void (*body)(const char *)) {
  pid_t kid = fork();
  assert_true(kid >= 0);
  if (kid == 0) {
    int st = become(dir);
    if (st) _exit(st);
    body(dir);
    _exit(0);
  }
  int ws;
  assert_int_equal(waitpid(kid, &ws, 0), kid);
  assert_true(WIFEXITED(ws));
  return WEXITSTATUS(ws);
}

static void unwritable_folder_for_an_unprivileged_reader(void **state) {
  fx *f = *state;
  prepare_folder(f->dir);
  char before[8192], after[8192];
  listing(f->dir, before, sizeof before);
  int st = run_reader(f->dir, become_unprivileged, reader_checks);
  if (st == 77) skip();
  assert_int_equal(st, 0);
  listing(f->dir, after, sizeof after);
  assert_string_equal(before, after);
}

static void readonly_mount_even_for_root(void **state) {
  fx *f = *state;
  prepare_folder(f->dir);
  assert_int_equal(chmod(f->dir, 0755), 0); /* only the mount stops writes here */
  char before[8192], after[8192];
  listing(f->dir, before, sizeof before);
  int st = run_reader(f->dir, behind_readonly_mount, reader_checks);
  if (st == 77) skip();
  assert_int_equal(st, 0);
  listing(f->dir, after, sizeof after);
  assert_string_equal(before, after);
}

/* A read-only file in a folder we may write: SQLite makes its "-shm" there
 * and reads normally; a writable open is refused with the way out. */
static void readonly_file_in_writable_folder(const char *dir) {
  char *db = join(dir, "clean.db");
  ms_store *s = NULL;
  CHECK(ms_store_open(db, 0, &s) == MS_EIO);
  CHECK(strstr(ms_errmsg(), "read-only") != NULL);
  CHECK(ms_store_open(db, MS_STORE_READONLY, &s) == MS_OK);
  CHECK(limit_of(s) == 1);
  ms_store_close(s);
  free(db);
}

static void readonly_file_for_an_unprivileged_reader(void **state) {
  fx *f = *state;
  char *db = join(f->dir, "clean.db");
  make_store(db, 1);
  assert_int_equal(chmod(db, 0444), 0);
  assert_int_equal(chmod(f->dir, 0777), 0);
  int st = run_reader(f->dir, become_unprivileged_file, readonly_file_in_writable_folder);
  if (st == 77) skip();
  assert_int_equal(st, 0);
  free(db);
}

/* A reader opened while nobody had the store open reads the file as
 * immutable; a writer that comes later writes to its log, and the reader sees
 * those commits from its next call on. */
static int sync_fd[2][2];

static void reader_sees_a_later_writer(const char *dir) {
  char *db = join(dir, "clean.db");
  ms_store *s = NULL;
  CHECK(ms_store_open(db, MS_STORE_READONLY, &s) == MS_OK);
  CHECK(s->immutable);
  CHECK(limit_of(s) == 1);
  char b = 'r';
  CHECK(write(sync_fd[0][1], &b, 1) == 1); /* writer: go */
  CHECK(read(sync_fd[1][0], &b, 1) == 1);  /* written, still open */
  CHECK(limit_of(s) == 6);
  CHECK(!s->immutable);
  ms_store_close(s);
  free(db);
}

static void later_writer_is_seen_by_an_immutable_reader(void **state) {
  fx *f = *state;
  char *db = join(f->dir, "clean.db");
  make_store(db, 1);
  assert_int_equal(chmod(db, 0644), 0);
  assert_int_equal(chmod(f->dir, 0555), 0);
  assert_int_equal(pipe(sync_fd[0]), 0);
  assert_int_equal(pipe(sync_fd[1]), 0);
  pid_t kid = fork();
  assert_true(kid >= 0);
  if (kid == 0) {
    int st = become_unprivileged(f->dir);
    if (st) _exit(st);
    reader_sees_a_later_writer(f->dir);
    _exit(0);
  }
  char b;
  ms_store *w = NULL;
  ms_tracker *t = NULL;
  if (read(sync_fd[0][0], &b, 1) == 1) { /* 0: the reader skipped or failed */
    assert_int_equal(chmod(f->dir, 0755), 0); /* the writer may create its log */
    assert_int_equal(ms_store_open(db, 0, &w), MS_OK);
    assert_int_equal(ms_tracker_open(w, &t), MS_OK);
    assert_int_equal(ms_tracker_set_limit(t, "user:a", MS_CLASS_COMPUTE, 6), MS_OK);
    assert_int_equal(chmod(f->dir, 0555), 0);
    assert_int_equal(write(sync_fd[1][1], "w", 1), 1);
  }
  close(sync_fd[0][1]);
  close(sync_fd[1][1]);
  int ws;
  assert_int_equal(waitpid(kid, &ws, 0), kid);
  ms_tracker_close(t);
  ms_store_close(w);
  close(sync_fd[0][0]);
  close(sync_fd[1][0]);
  assert_true(WIFEXITED(ws));
  if (WEXITSTATUS(ws) == 77) skip();
  assert_int_equal(WEXITSTATUS(ws), 0);
  free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(reads_and_refuses_every_write, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(never_creates_or_migrates, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(sees_what_writers_commit, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(unwritable_folder_for_an_unprivileged_reader, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(readonly_mount_even_for_root, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(readonly_file_for_an_unprivileged_reader, ms_test_db_setup, ms_test_db_teardown),
      cmocka_unit_test_setup_teardown(later_writer_is_seen_by_an_immutable_reader, ms_test_db_setup, ms_test_db_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
