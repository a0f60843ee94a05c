/* Unit tests: allocation failures never leave a half-done registry call.
 *
 * This program replaces malloc/calloc/realloc with thin wrappers over
 * glibc's allocator that can fail the N-th allocation from a point on.
 * SQLite gets an allocator of its own that never fails, so the failures
 * land in the registry's code and the libraries it calls (libarchive,
 * libyaml, cJSON) rather than in the database engine. For every N until a
 * call no longer meets an injected failure:
 *  - ms_registry_register either succeeds (and the model is registered,
 *    the snapshot given) or fails with the store exactly as it was and the
 *    output untouched;
 *  - ms_registry_scan likewise: on failure nothing it would have written
 *    is in the store and *out is untouched.
 * libarchive itself does not survive failed allocations (it crashes), so
 * allocations made by libarchive's own code are never failed.
 * Sanitizer builds bring their own malloc: there the program skips. */
#define _GNU_SOURCE /* dladdr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mserve.h"
#include "mserve/registry.h"
#include "registry_testutil.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_INJECTION 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define NO_INJECTION 1
#endif
#endif

#ifndef NO_INJECTION
/* ---- failure injection ---------------------------------------------------- */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static long countdown = -1; /* -1: off; else the allocations to let through */
static int injected;        /* an allocation was failed since arming */

static int in_libarchive(const void *caller) {
  Dl_info info;
  return dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, "libarchive");
}

static int fail_now_from(const void *caller) {
  if (countdown < 0 || in_libarchive(caller)) return 0;
  if (countdown-- > 0) return 0;
  injected = 1;
  countdown = -1; /* one failure per run */
  return 1;
}

void *malloc(size_t n) {
  if (fail_now_from(__builtin_return_address(0))) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  if (fail_now_from(__builtin_return_address(0))) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  if (n && fail_now_from(__builtin_return_address(0))) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

static void arm(long n) {
  injected = 0;
  countdown = n;
}
static void disarm(void) { countdown = -1; }

/* SQLite's own allocator: a size header in front, never failed. */
static void *sq_malloc(int n) {
  int64_t *p = __libc_malloc((size_t)n + 16);
  if (!p) return NULL;
  p[0] = n;
  return p + 2;
}
static void sq_free(void *p) {
  if (p) __libc_free((int64_t *)p - 2);
}
static void *sq_realloc(void *p, int n) {
  if (!p) return sq_malloc(n);
  int64_t *q = __libc_realloc((int64_t *)p - 2, (size_t)n + 16);
  if (!q) return NULL;
  q[0] = n;
  return q + 2;
}
static int sq_size(void *p) { return p ? (int)((int64_t *)p - 2)[0] : 0; }
static int sq_roundup(int n) { return (n + 7) & ~7; }
static int sq_init(void *x) {
  (void)x;
  return SQLITE_OK;
}
static void sq_shutdown(void *x) { (void)x; }

/* ---- fixture -------------------------------------------------------------- */

typedef struct fx {
  char *dir, *db;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = ms_test_tmpdir("alloc");
  f->db = ms_test_path(f->dir, "reg.db");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ms_test_rmtree(f->dir);
  free(f->dir);
  free(f->db);
  free(f);
  return 0;
}

/* Everything the store holds about registrations, as text. */
static void dump(ms_registry *r, char *out, size_t cap) {
  out[0] = '\0';
  ms_model_list *l = NULL;
  assert_int_equal(ms_registry_list(r, NULL, &l), MS_OK);
  for (size_t i = 0; i < ms_model_list_count(l); i++) {
    const ms_model *m = NULL;
    assert_int_equal(ms_model_list_get(l, i, &m), MS_OK);
    int64_t bs = 0;
    assert_int_equal(ms_model_get_int(m, "batch_size", &bs, NULL), MS_OK);
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s %s %s %s d%d m%d b%lld\n", ms_model_name(m), ms_model_version(m),
             ms_model_archive_path(m), ms_model_content_hash(m), ms_model_is_default(m), ms_model_is_missing(m),
             (long long)bs);
  }
  ms_model_list_free(l);
}

static void open_reg(fx *f, ms_store **s, ms_registry **r) {
  unlink(f->db);
  char *wal = ms_test_path(f->dir, "reg.db-wal"), *shm = ms_test_path(f->dir, "reg.db-shm"),
       *lk = ms_test_path(f->dir, "reg.db-mslock");
  unlink(wal);
  unlink(shm);
  unlink(lk);
  free(wal);
  free(shm);
  free(lk);
  assert_int_equal(ms_store_open(f->db, 0, s), MS_OK);
  assert_int_equal(ms_registry_open(*s, NULL, r), MS_OK);
}

/* ---- register ------------------------------------------------------------- */

static void register_under_allocation_failures(void **state) {
  fx *f = *state;
  const char *files[] = {"m.mar", "m.tgz"};
  for (int k = 0; k < 2; k++) {
    char *p = ms_test_path(f->dir, files[k]);
    char *man = t_manifest("m", "1", "\"batchSize\": 2,", "model-config.yaml");
    t_entry zip[] = {{"MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                     {"model-config.yaml", T_FILE, "batchSize: 4\nmaxBatchDelay: 10\nextra: {a: 1}\n", 0, NULL},
                     {"model.pt", T_FILE, NULL, 20000, NULL}};
    t_entry tgz[] = {{"m/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL},
                     {"m/model-config.yaml", T_FILE, "batchSize: 4\nmaxBatchDelay: 10\nextra: {a: 1}\n", 0, NULL},
                     {"m/model.pt", T_FILE, NULL, 20000, NULL}};
    assert_int_equal(t_write_archive(p, k ? "tgz" : "zip", k ? tgz : zip, 3), 0);
    free(man);
    ms_store *s = NULL;
    ms_registry *r = NULL;
    open_reg(f, &s, &r);
    ms_overrides *ov = NULL;
    assert_int_equal(ms_overrides_new(&ov), MS_OK);
    assert_int_equal(ms_overrides_set_int(ov, "max_workers", 3), MS_OK);
    long n = 0, failures = 0;
    for (;; n++) {
      ms_model *sentinel = (ms_model *)(uintptr_t)0x1, *m = sentinel;
      arm(n);
      int st = ms_registry_register(r, p, ov, &m);
      int hit = injected;
      disarm();
      char after[4096];
      dump(r, after, sizeof after);
      if (st == MS_OK) {
        assert_true(m != sentinel && m != NULL);
        assert_string_equal(ms_model_name(m), "m");
        int64_t w = 0;
        assert_int_equal(ms_model_get_int(m, "max_workers", &w, NULL), MS_OK);
        assert_int_equal(w, 3);
        ms_model_free(m);
        assert_non_null(strstr(after, "m 1 "));
        assert_int_equal(ms_registry_unregister(r, "m", NULL), MS_OK);
      } else {
        failures++;
        if (m != sentinel) fail_msg("%s, allocation %ld failed: *out was written", files[k], n);
        if (after[0]) fail_msg("%s, allocation %ld failed (%s: %s) yet the store changed:\n%s", files[k], n,
                               ms_status_name(st), ms_errmsg(), after);
      }
      if (!hit) {
        assert_int_equal(st, MS_OK);
        break;
      }
    }
    printf("%s: %ld allocations, %ld injected failures refused cleanly\n", files[k], n, failures);
    assert_true(failures > 10);
    ms_overrides_free(ov);
    ms_registry_close(r);
    ms_store_close(s);
    free(p);
  }
}

/* ---- scan ----------------------------------------------------------------- */

static void scan_under_allocation_failures(void **state) {
  fx *f = *state;
  char *store = ms_test_path(f->dir, "store");
  assert_int_equal(mkdir(store, 0755), 0);
  char *kept = ms_test_path(store, "kept.mar"), *changed = ms_test_path(store, "changed.mar"),
       *added = ms_test_path(store, "added.tgz"), *gone = ms_test_path(store, "gone.mar");
  long n = 0, failures = 0;
  for (;; n++) {
    /* The same starting point every round: three registered archives. */
    assert_int_equal(t_write_mar(kept, "kept", "1", NULL, NULL), 0);
    assert_int_equal(t_write_mar(changed, "changed", "1", NULL, NULL), 0);
    assert_int_equal(t_write_mar(gone, "gone", "1", NULL, NULL), 0);
    unlink(added);
    ms_store *s = NULL;
    ms_registry *r = NULL;
    open_reg(f, &s, &r);
    ms_scan_report *rep = NULL;
    assert_int_equal(ms_registry_scan(r, store, &rep), MS_OK);
    assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_ADDED), 3);
    ms_scan_report_free(rep);
    /* Then: one changes, one appears, one vanishes. */
    assert_int_equal(t_write_mar(changed, "changed", "1", NULL, "batchSize: 7\n"), 0);
    char *man = t_manifest("added", "1", NULL, NULL);
    t_entry e[] = {{"added/MAR-INF/MANIFEST.json", T_FILE, man, 0, NULL}, {"added/w.bin", T_FILE, "w", 0, NULL}};
    assert_int_equal(t_write_archive(added, "tgz", e, 2), 0);
    free(man);
    assert_int_equal(unlink(gone), 0);
    char before[8192], after[8192];
    dump(r, before, sizeof before);
    ms_scan_report *sentinel = (ms_scan_report *)(uintptr_t)0x1;
    rep = sentinel;
    arm(n);
    int st = ms_registry_scan(r, store, &rep);
    int hit = injected;
    disarm();
    dump(r, after, sizeof after);
    if (st == MS_OK) {
      assert_true(rep != sentinel && rep != NULL);
      /* A scan that succeeded may still have failed one archive's read
       * (its failure is in the report); the store then shows it unchanged. */
      assert_int_equal(ms_scan_report_count(rep), 4);
      assert_int_equal(ms_scan_report_count_outcome(rep, MS_SCAN_MISSING), 1);
      ms_scan_report_free(rep);
    } else {
      failures++;
      if (rep != sentinel) fail_msg("allocation %ld failed: *out was written", n);
      if (strcmp(before, after) != 0)
        fail_msg("allocation %ld failed (%s: %s) yet the store changed:\nbefore:\n%safter:\n%s", n,
                 ms_status_name(st), ms_errmsg(), before, after);
    }
    ms_registry_close(r);
    ms_store_close(s);
    if (!hit) {
      assert_int_equal(st, MS_OK);
      break;
    }
  }
  printf("scan: %ld allocations, %ld injected failures refused cleanly\n", n, failures);
  assert_true(failures > 10);
  free(gone);
  free(added);
  free(changed);
  free(kept);
  free(store);
}

int main(void) {
  static const sqlite3_mem_methods mem = {sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup, sq_init, sq_shutdown,
                                          NULL};
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &mem) != SQLITE_OK) {
    fprintf(stderr, "cannot give SQLite its own allocator\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(register_under_allocation_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(scan_under_allocation_failures, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* sanitizers bring their own allocator */

int main(void) {
  printf("skipped: allocation failure injection is off under sanitizers\n");
  return 77;
}

#endif
