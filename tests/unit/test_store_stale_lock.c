/* Unit tests: a writer queue whose holder cannot exist any more (a copy of the
 * database taken while a writer held it, another boot, a process that is
 * gone) is recovered within the busy timeout; a live holder is respected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mserve.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "testutil.h"

typedef ms_test_db fx;

/* ---- the log hook: WARN lines of this process ---------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[8192];
static int log_warnings;

static void on_log(int level, const char *message, void *user) {
  (void)user;
  if (level != MS_LOG_WARN) return;
  pthread_mutex_lock(&log_mu);
  log_warnings++;
  size_t n = strlen(log_text);
  snprintf(log_text + n, sizeof log_text - n, "%s\n", message);
  pthread_mutex_unlock(&log_mu);
}

static void log_reset(void) {
  pthread_mutex_lock(&log_mu);
  log_text[0] = '\0';
  log_warnings = 0;
  pthread_mutex_unlock(&log_mu);
  assert_int_equal(ms_set_log(on_log, MS_LOG_WARN, NULL), MS_OK);
}

/* Children that hold a lock until killed; teardown kills what a failed
 * assertion left running. */
static pid_t holders[8];
static size_t n_holders;

static int teardown(void **state) {
  ms_set_log(NULL, MS_LOG_OFF, NULL);
  for (size_t i = 0; i < n_holders; i++) {
    kill(holders[i], SIGKILL);
    waitpid(holders[i], NULL, 0);
  }
  n_holders = 0;
  return ms_test_db_teardown(state);
}

/* ---- building blocks ----------------------------------------------------- */

#define put ms_test_put

static int64_t count_keys(ms_store *s, const char *like) {
  int64_t n = ms_test_count_keys(s, like);
  assert_true(n >= 0);
  return n;
}

/* Copy src to dst byte for byte (missing src: nothing, returns 1). */
static int copy_file(const char *src, const char *dst) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) return 1;
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(out >= 0);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) assert_int_equal(write(out, buf, (size_t)n), n);
  assert_int_equal(n, 0);
  close(in);
  assert_int_equal(close(out), 0);
  return 0;
}

/* Copy the database and every side file, as a backup tool would. */
static void copy_database(const char *src, const char *dst) {
  static const char *const suffix[] = {"", "-wal", "-shm", "-mslock"};
  for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s%s", src, suffix[i]);
    snprintf(b, sizeof b, "%s%s", dst, suffix[i]);
    int missing = copy_file(a, b);
    if (i == 0 || i == 3) assert_int_equal(missing, 0);
  }
}

static void make_store(const char *db) { assert_int_equal(ms_test_make_store(db), MS_OK); }

/* A child that holds the writer queue of `db` (and, with `sqlite_too`, SQLite's
 * write lock) and waits until killed. Returns its pid once it holds them. */
enum { HOLD_SQLITE = 1, HOLD_FORGET = 2 };

static pid_t spawn_holder_as(const char *db, int how, const ms__store_xlock_identity *as) {
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t kid = fork();
  assert_true(kid >= 0);
  if (kid == 0) {
    close(ready[0]);
    if (as) ms__store_xlock_test_identity(as);
    if (how & HOLD_SQLITE) {
      _exit(ms_test_child_hold_write((void *)(uintptr_t)db, ready[1])); /* writes the byte, never returns */
    } else {
      ms_xlock *x = ms__store_xlock_open(db);
      if (!x || ms__store_xlock_acquire(x, MS_SEC(5), db)) _exit(3);
      if (how & HOLD_FORGET) ms__store_xlock_test_forget_owner(x);
    }
    if (write(ready[1], "x", 1) != 1) _exit(5);
    for (;;) pause();
  }
  close(ready[1]);
  if (n_holders < sizeof holders / sizeof holders[0]) holders[n_holders++] = kid;
  char b;
  assert_int_equal(read(ready[0], &b, 1), 1); /* 0: the child failed */
  close(ready[0]);
  return kid;
}

static pid_t spawn_holder(const char *db, int how) { return spawn_holder_as(db, how, NULL); }

static void stop(pid_t kid) {
  kill(kid, SIGKILL);
  int ws;
  assert_int_equal(waitpid(kid, &ws, 0), kid);
  for (size_t i = 0; i < n_holders; i++)
    if (holders[i] == kid) holders[i] = holders[--n_holders];
}

/* The kernel hands on a robust mutex whose owner exits, through the list of
 * robust mutexes each thread registers. A thread that registers an empty list
 * after taking the lock and then exits leaves it held by a thread id that no
 * longer exists: the state a lock file has after a copy or a reboot, made on
 * this machine. */
struct robust_head {
  void *next;
  long futex_offset;
  void *pending;
};

static void leave_lock_held_by_dead_process(const char *db) {
  pid_t kid = fork();
  assert_true(kid >= 0);
  if (kid == 0) {
    ms_xlock *x = ms__store_xlock_open(db);
    if (!x || ms__store_xlock_acquire(x, MS_SEC(5), db)) _exit(3);
    static struct robust_head empty;
    empty.next = &empty;
    if (syscall(SYS_set_robust_list, &empty, sizeof empty) != 0) _exit(4);
    _exit(0);
  }
  int ws;
  assert_int_equal(waitpid(kid, &ws, 0), kid);
  assert_true(WIFEXITED(ws));
  assert_int_equal(WEXITSTATUS(ws), 0);
}

/* ---- tests --------------------------------------------------------------- */

/* A backup copied while a writer held the lock: the copy's lock names a
 * thread that holds the original file, not the copy. Opening and writing the
 * copy succeed within the busy timeout, and say so at WARN; the original's
 * live holder is still respected. */
static void copy_taken_while_held_opens_and_writes(void **state) {
  fx *f = *state;
  make_store(f->db);
  pid_t kid = spawn_holder(f->db, HOLD_SQLITE);
  char *copy = ms_test_path(f->dir, "backup.db");
  copy_database(f->db, copy);
  log_reset();

  ms_store *s = NULL;
  assert_int_equal(ms_store_open(copy, 0, &s), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s, MS_SEC(3)), MS_OK);
  assert_int_equal(put(s, "k-copy"), MS_OK);
  assert_int_equal(put(s, "k-copy2"), MS_OK);
  assert_int_equal(count_keys(s, "k-copy%"), 2);
  ms_store_close(s);
  assert_int_equal(log_warnings, 1);
  assert_non_null(strstr(log_text, copy));
  assert_non_null(strstr(log_text, "recovered"));

  /* The original is held by a live process: its writers still wait. */
  log_reset();
  ms_store *o = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &o), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(o, 200000), MS_OK);
  assert_int_equal(put(o, "k-orig"), MS_EBUSY);
  assert_int_equal(log_warnings, 0);
  stop(kid);
  assert_int_equal(put(o, "k-orig"), MS_OK);
  ms_store_close(o);
  free(copy);
}

/* Held by a thread of a process that exited without the kernel handing the
 * lock on: recovered, as for a copy. */
static void holder_that_is_gone_is_recovered(void **state) {
  fx *f = *state;
  make_store(f->db);
  leave_lock_held_by_dead_process(f->db);
  log_reset();
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s, MS_SEC(3)), MS_OK);
  assert_int_equal(put(s, "after"), MS_OK);
  assert_int_equal(count_keys(s, "after"), 1);
  ms_store_close(s);
  assert_int_equal(log_warnings, 1);
  assert_non_null(strstr(log_text, "recovered"));
  assert_non_null(strstr(log_text, "gone"));
}

/* A busy timeout of 0 fails at once on a live holder, but still recovers a
 * lock whose holder cannot exist. */
static void zero_busy_timeout_still_recovers(void **state) {
  fx *f = *state;
  make_store(f->db);
  leave_lock_held_by_dead_process(f->db);
  log_reset();
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s, 0), MS_OK);
  assert_int_equal(put(s, "after"), MS_OK);
  ms_store_close(s);
  assert_int_equal(log_warnings, 1);
}

/* Several processes find the same stale lock at the same moment: one of them
 * recovers it, once, and every write of every process arrives. */
static void concurrent_discoverers_recover_once(void **state) {
  fx *f = *state;
  make_store(f->db);
  leave_lock_held_by_dead_process(f->db);
  enum { KIDS = 4, PER = 50 };
  int go[2], report[2];
  assert_int_equal(pipe(go), 0);
  assert_int_equal(pipe(report), 0);
  pid_t kids[KIDS];
  for (int k = 0; k < KIDS; k++) {
    kids[k] = fork();
    assert_true(kids[k] >= 0);
    if (kids[k] == 0) {
      close(go[1]);
      close(report[0]);
      log_reset();
      ms_store *c = NULL;
      if (ms_store_open(f->db, 0, &c) || ms_store_set_busy_timeout(c, MS_SEC(10))) _exit(3);
      char b;
      if (read(go[0], &b, 1) != 0) _exit(4); /* every child starts when the pipe closes */
      int errors = 0;
      for (int i = 0; i < PER; i++) {
        char key[32];
        snprintf(key, sizeof key, "c%d-%d", k, i);
        if (put(c, key) != MS_OK) errors++;
      }
      ms_store_close(c);
      char line = (char)('0' + log_warnings);
      if (write(report[1], &line, 1) != 1) _exit(5);
      _exit(errors ? 6 : 0);
    }
  }
  close(go[0]);
  close(report[1]);
  close(go[1]); /* go */
  for (int k = 0; k < KIDS; k++) {
    int ws;
    assert_int_equal(waitpid(kids[k], &ws, 0), kids[k]);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
  }
  int recoveries = 0;
  char c;
  while (read(report[0], &c, 1) == 1) recoveries += c - '0';
  close(report[0]);
  assert_int_equal(recoveries, 1);
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(count_keys(s, "c%-%"), KIDS * PER);
  ms_store_close(s);
}

/* A live holder of this machine, with everything in order, is waited for. */
static void live_holder_is_respected(void **state) {
  fx *f = *state;
  ms_store *s = NULL;
  assert_int_equal(ms_store_open(f->db, 0, &s), MS_OK);
  assert_int_equal(ms_store_set_busy_timeout(s, 200000), MS_OK);
  pid_t kid = spawn_holder(f->db, 0);
  log_reset();
  assert_int_equal(put(s, "blocked"), MS_EBUSY);
  assert_non_null(strstr(ms_errmsg(), "busy timeout"));
  assert_int_equal(log_warnings, 0);
  stop(kid); /* the kernel hands the lock on */
  assert_int_equal(put(s, "after"), MS_OK);
  assert_int_equal(count_keys(s, "blocked"), 0);
  assert_int_equal(log_warnings, 0);
  ms_store_close(s);
}

/* Open `db`, write one row with a busy timeout of timeout_us; the status. */
static int open_and_put(const char *db, int64_t timeout_us, const char *key) {
  ms_store *s = NULL;
  int st = ms_store_open(db, 0, &s);
  if (st) return st;
  assert_int_equal(ms_store_set_busy_timeout(s, timeout_us), MS_OK);
  st = put(s, key);
  if (!st) assert_int_equal(count_keys(s, key), 1);
  ms_store_close(s);
  return st;
}

static uint32_t generation(const char *db) {
  ms_xlock *x = ms__store_xlock_open(db);
  assert_non_null(x);
  uint32_t g = ms__store_xlock_generation(x);
  ms__store_xlock_close(x);
  return g;
}

/* What a lock file holds when it comes from another machine, or from before
 * a reboot: its holder's boot id is not this boot's. Recovered although that
 * "holder" (a child playing it) is alive, since it cannot be holding it. */
static void holder_of_another_boot_is_recovered(void **state) {
  fx *f = *state;
  make_store(f->db);
  ms__store_xlock_identity other = {{0x0123456789abcdefull, 0xfedcba9876543210ull}, 0, 0, 0};
  pid_t kid = spawn_holder_as(f->db, 0, &other);
  log_reset();
  assert_int_equal(open_and_put(f->db, MS_SEC(3), "after"), MS_OK);
  assert_int_equal(log_warnings, 1);
  assert_non_null(strstr(log_text, "another boot"));
  assert_non_null(strstr(log_text, f->db));
  assert_int_equal(generation(f->db), 1);
  stop(kid);
  /* the abandoned mutex is never used again: the next writers go on */
  log_reset();
  assert_int_equal(open_and_put(f->db, MS_SEC(3), "later"), MS_OK);
  assert_int_equal(log_warnings, 0);
}

/* The holder's pid is alive but names a process started at another time: the
 * pid was reused by another process. */
static void holder_whose_pid_was_reused_is_recovered(void **state) {
  fx *f = *state;
  make_store(f->db);
  ms__store_xlock_identity reused = {{0, 0}, 0, 0, 1}; /* started at tick 1: not this process */
  pid_t kid = spawn_holder_as(f->db, 0, &reused);
  log_reset();
  assert_int_equal(open_and_put(f->db, MS_SEC(3), "after"), MS_OK);
  assert_int_equal(log_warnings, 1);
  assert_non_null(strstr(log_text, "started at tick"));
  stop(kid);
}

/* A holder in another pid namespace (a container sharing the volume) cannot
 * be looked up from here: even a pid that does not exist here is waited for. */
static void holder_of_another_pid_namespace_is_respected(void **state) {
  fx *f = *state;
  make_store(f->db);
  ms__store_xlock_identity container = {{0, 0}, 4026530000ull, 0x3ffffff0, 0};
  pid_t kid = spawn_holder_as(f->db, 0, &container);
  log_reset();
  assert_int_equal(open_and_put(f->db, 200000, "blocked"), MS_EBUSY);
  assert_int_equal(log_warnings, 0);
  assert_int_equal(generation(f->db), 0);
  stop(kid);
  assert_int_equal(open_and_put(f->db, MS_SEC(3), "after"), MS_OK);
}

/* The mutex is held but its record says nobody holds it: the holder took it
 * and had not yet written the record when the copy was taken (or is about to
 * write it). What the record still says about the machine decides, once that
 * has lasted a while: another boot is recovered, this one waited for. */
static void holder_without_record_is_judged_by_the_machine(void **state) {
  fx *f = *state;
  make_store(f->db);
  ms__store_xlock_identity other = {{0x0123456789abcdefull, 0xfedcba9876543210ull}, 0, 0, 0};
  pid_t kid = spawn_holder_as(f->db, HOLD_FORGET, &other);
  log_reset();
  assert_int_equal(open_and_put(f->db, MS_SEC(3), "after"), MS_OK);
  assert_int_equal(log_warnings, 1);
  assert_non_null(strstr(log_text, "another boot"));
  stop(kid);

  kid = spawn_holder(f->db, HOLD_FORGET); /* this machine, this file: a live holder */
  log_reset();
  assert_int_equal(open_and_put(f->db, 300000, "blocked"), MS_EBUSY);
  assert_int_equal(log_warnings, 0);
  stop(kid);
  assert_int_equal(open_and_put(f->db, MS_SEC(3), "later"), MS_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(copy_taken_while_held_opens_and_writes, ms_test_db_setup, teardown),
      cmocka_unit_test_setup_teardown(holder_that_is_gone_is_recovered, ms_test_db_setup, teardown),
      cmocka_unit_test_setup_teardown(zero_busy_timeout_still_recovers, ms_test_db_setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_discoverers_recover_once, ms_test_db_setup, teardown),
      cmocka_unit_test_setup_teardown(live_holder_is_respected, ms_test_db_setup, teardown),
      cmocka_unit_test_setup_teardown(holder_of_another_boot_is_recovered, ms_test_db_setup, teardown),
      cmocka_unit_test_setup_teardown(holder_whose_pid_was_reused_is_recovered, ms_test_db_setup, teardown),
      cmocka_unit_test_setup_teardown(holder_of_another_pid_namespace_is_respected, ms_test_db_setup, teardown),
      cmocka_unit_test_setup_teardown(holder_without_record_is_judged_by_the_machine, ms_test_db_setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
