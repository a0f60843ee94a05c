/* Unit tests: an allocation failure anywhere in an autoscaler call leaves
 * the engine (and the store) as it was.
 *
 * This program replaces malloc/calloc/realloc with thin wrappers over
 * glibc's allocator that fail every allocation from the N-th on; SQLite
 * gets an allocator of its own that never fails, so the failures land in the
 * autoscaler's code. Each call is tried with N = 0, 1, 2, ... until it
 * succeeds: every failed attempt must leave what the public API shows
 * (endpoints, counts, rules, what an evaluation would decide, which rules
 * conflict) exactly as before. Allocations the engine may do without (its
 * memory compaction) may fail while the call still succeeds. The engine
 * holds many endpoints, so compaction, leaving a segment and the conflict
 * index all meet failures, and so does the deadline index (the fingerprint
 * asks for the next deadline, so the index is built from the first call on
 * and every call keeps it up to date under injection). Sanitizer builds
 * bring their own malloc: there the program skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler_testutil.h"
#include "mserve.h"
#include "mserve/autoscaler.h"

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

/* Once armed, every allocation after the first `countdown` fails, until
 * disarmed: a call that does without one allocation meets the next. */
static int fail_now(void) {
  if (countdown < 0) return 0;
  if (countdown > 0) {
    countdown--;
    return 0;
  }
  injected = 1;
  return 1;
}

void *malloc(size_t n) {
  if (fail_now()) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  if (fail_now()) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  if (n && fail_now()) {
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

/* ---- what the public API shows ------------------------------------------- */

enum { N_EPS = 700, NOW = 1000 };

typedef struct text {
  char *p;
  size_t n, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  assert_true(k >= 0 && (size_t)k < sizeof buf);
  if (t->n + (size_t)k + 1 > t->cap) {
    t->cap = (t->n + (size_t)k + 1) * 2;
    t->p = realloc(t->p, t->cap);
    assert_non_null(t->p);
  }
  memcpy(t->p + t->n, buf, (size_t)k + 1);
  t->n += (size_t)k;
}

/* Endpoints, counts, every rule's settings and state, and (with `decide`)
 * the next deadline and a dry run's explanation of every endpoint at NOW;
 * disarmed. */
static char *fingerprint(ms_autoscaler *a, int decide) {
  disarm();
  text t = {0};
  ms_endpoint_list *eps = NULL;
  assert_int_equal(ms_autoscaler_list_endpoints(a, &eps), MS_OK);
  size_t n = ms_endpoint_list_count(eps);
  put(&t, "%zu endpoints\n", n);
  for (size_t i = 0; i < n; i++) {
    const char *name = NULL;
    int64_t reps = 0, ids[64];
    assert_int_equal(ms_endpoint_list_get(eps, i, &name), MS_OK);
    assert_int_equal(ms_autoscaler_get_replicas(a, name, &reps), MS_OK);
    size_t nr = fx_rule_ids(a, name, ids, 64);
    assert_true(nr <= 64);
    put(&t, "%s %lld:", name, (long long)reps);
    for (size_t j = 0; j < nr; j++) {
      ms_rule *r = NULL;
      const char *src = NULL, *met = NULL;
      ms_comparator cmp = MS_CMP_LT;
      double thr = 0;
      int64_t step = 0, lo = 0, hi = 0, last = 0;
      int en = 0, has = 0;
      assert_int_equal(ms_autoscaler_get_rule(a, ids[j], &r), MS_OK);
      ms_rule_get_metric(r, &src, &met);
      ms_rule_get_trigger(r, &cmp, &thr);
      ms_rule_get_step(r, &step);
      ms_rule_get_bounds(r, &lo, &hi);
      ms_rule_get_enabled(r, &en);
      ms_rule_get_state(r, NULL, NULL, &has, &last);
      put(&t, " [%lld %s/%s %d %g %lld %lld..%lld %d %d@%lld]", (long long)ids[j], src, met, (int)cmp, thr,
          (long long)step, (long long)lo, (long long)hi, en, has, (long long)last);
      ms_rule_free(r);
    }
    put(&t, "\n");
  }
  ms_endpoint_list_free(eps);
  if (decide) {
    int64_t due = 0;
    assert_int_equal(ms_autoscaler_next_deadline(a, NOW, &due), MS_OK);
    put(&t, "next deadline %lld\n", (long long)due);
    ms_decisions *d = NULL;
    assert_int_equal(ms_autoscaler_evaluate(a, NOW, MS_EVAL_DRY_RUN, &d), MS_OK);
    for (size_t i = 0; i < ms_decisions_count(d); i++) {
      char line[512];
      assert_int_equal(ms_decisions_explain(d, i, line, sizeof line, NULL), MS_OK);
      put(&t, "%s\n", line);
    }
    ms_decisions_free(d);
  }
  return t.p;
}

/* ---- fixture -------------------------------------------------------------- */

/* The shared fixture over ":memory:", plus two rules of ep-0000: */
static int64_t probe_id; /* a disabled rule that conflicts with rule up_id when enabled */
static int64_t up_id;

static ms_rule *mk(const char *met, ms_comparator cmp, double thr, int64_t step, int enabled) {
  return fx_rule_new(&(fx_rule){.metric = met, .cmp = cmp, .threshold = thr, .step = step, .disabled = !enabled});
}

static int64_t add(ms_autoscaler *a, const char *ep, const char *met, ms_comparator cmp, double thr, int64_t step,
                   int enabled) {
  return fx_add_rule(a, ep, (fx_rule){.metric = met, .cmp = cmp, .threshold = thr, .step = step, .disabled = !enabled});
}

static int setup(void **state) {
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &(sqlite3_mem_methods){sq_malloc, sq_free, sq_realloc, sq_size,
                                                                    sq_roundup, sq_init, sq_shutdown, NULL}) !=
          SQLITE_OK &&
      sqlite3_initialize() != SQLITE_OK)
    return -1;
  if (fx_setup_memory(state)) return -1;
  fx *f = *state;
  ms_autoscaler *a = f->as;
  for (int i = 0; i < N_EPS; i++) {
    char ep[16];
    snprintf(ep, sizeof ep, "ep-%04d", i);
    if (ms_autoscaler_set_replicas(a, ep, 2)) return -1;
    add(a, ep, "util", MS_CMP_GT, 80, 1, 1);
    add(a, ep, "util", MS_CMP_LT, 20, -1, 1);
    if (ms_autoscaler_observe(a, ep, "k", "util", "r0", i % 3 ? 50 : 90, NOW)) return -1;
  }
  up_id = add(a, "ep-0000", "q", MS_CMP_GT, 10, 1, 1);
  probe_id = add(a, "ep-0000", "q", MS_CMP_LT, 50, -1, 0);
  return 0;
}

static int teardown(void **state) {
  disarm();
  return fx_teardown(state);
}

/* The conflict index still refuses the probe (and changes nothing). */
static void probe_still_conflicts(fx *f) {
  disarm();
  assert_int_equal(ms_autoscaler_set_rule_enabled(f->as, probe_id, 1), MS_ECONFLICT);
}

/* One call under injection. */
typedef int (*call_fn)(fx *f, void *arg);

/* Try `call` with the N-th allocation failing, for N = 0, 1, ... until it
 * succeeds; every failure must be MS_ENOMEM and leave the fingerprint as it
 * was. Returns the number of attempts that failed. */
static int verbose; /* print how many attempts failed */
static int call_add_rule(fx *f, void *p);

static long exhaust(fx *f, call_fn call, void *arg, const char *what) {
  char *before = fingerprint(f->as, 1);
  long failures = 0;
  for (long n = 0;; n++) {
    arm(n);
    int st = call(f, arg);
    int hit = injected;
    disarm();
    if (st == MS_OK) break;
    if (!hit) fail_msg("%s: failed with %s (%s) without an injected failure", what, ms_status_name(st), ms_errmsg());
    if (st != MS_ENOMEM)
      fail_msg("%s: allocation %ld failed: %s (%s), want MS_ENOMEM", what, n, ms_status_name(st), ms_errmsg());
    char *now = fingerprint(f->as, 1);
    if (strcmp(before, now) != 0) fail_msg("%s: allocation %ld failed and the engine changed", what, n);
    free(now);
    probe_still_conflicts(f);
    failures++;
    if (n > 100000) fail_msg("%s: no end to the allocations", what);
  }
  free(before);
  probe_still_conflicts(f);
  if (verbose && call != call_add_rule) print_message("%s: %ld failed attempts\n", what, failures);
  return failures;
}

/* ---- the calls ------------------------------------------------------------- */

typedef struct arg {
  const char *ep, *met, *replica;
  ms_rule *rule; /* built before arming */
  int64_t id;
  int flag;
  double value;
} arg;

static int call_add_rule(fx *f, void *p) {
  arg *x = p;
  return ms_autoscaler_add_rule(f->as, x->ep, x->rule, &x->id);
}
static int call_set_enabled(fx *f, void *p) {
  arg *x = p;
  return ms_autoscaler_set_rule_enabled(f->as, x->id, x->flag);
}
static int call_remove_rule(fx *f, void *p) {
  arg *x = p;
  return ms_autoscaler_remove_rule(f->as, x->id);
}
static int call_observe(fx *f, void *p) {
  arg *x = p;
  return ms_autoscaler_observe(f->as, x->ep, "k", x->met, x->replica, x->value, NOW);
}
static int call_set_replicas(fx *f, void *p) {
  arg *x = p;
  return ms_autoscaler_set_replicas(f->as, x->ep, x->id);
}
static int call_remove_endpoint(fx *f, void *p) {
  arg *x = p;
  return ms_autoscaler_remove_endpoint(f->as, x->ep);
}
static int call_evaluate(fx *f, void *p) {
  arg *x = p;
  ms_decisions *d = NULL;
  int st = ms_autoscaler_evaluate(f->as, NOW, (unsigned)x->flag, &d);
  ms_decisions_free(d);
  return st;
}

static void add_rule_exhausted(fx *f, const char *ep, const char *met, ms_comparator cmp, double thr, int64_t step,
                               int enabled, int64_t *id) {
  arg x = {.ep = ep, .rule = mk(met, cmp, thr, step, enabled)};
  char what[96];
  snprintf(what, sizeof what, "add_rule(%s, %s %s %g)", ep, met, cmp == MS_CMP_GT ? ">" : "<", thr);
  long failed = exhaust(f, call_add_rule, &x, what);
  if (verbose) print_message("%s: %ld failed attempts\n", what, failed);
  ms_rule_free(x.rule);
  if (id) *id = x.id;
}

/* Every configuration call, one after the other, each exhausted. */
static void every_call_fails_cleanly(void **state) {
  fx *f = *state;
  verbose = 1;
  int64_t id = 0, id2 = 0;
  /* a rule on a new metric of a packed endpoint: it leaves its segment,
   * gains a series and an index of its conflicts */
  add_rule_exhausted(f, "ep-0100", "new", MS_CMP_GT, 60, 1, 1, &id);
  /* the opposite direction, not conflicting: another heap of that index */
  add_rule_exhausted(f, "ep-0100", "new", MS_CMP_LT, 40, -1, 1, &id2);
  /* disabled, then enabled: out of its heap and back in */
  arg x = {.id = id, .flag = 0};
  exhaust(f, call_set_enabled, &x, "disable");
  x.flag = 1;
  exhaust(f, call_set_enabled, &x, "enable");
  /* conflicting: refused whatever fails */
  ms_rule *bad = mk("new", MS_CMP_LT, 70, -1, 1);
  disarm();
  assert_int_equal(ms_autoscaler_add_rule(f->as, "ep-0100", bad, NULL), MS_ECONFLICT);
  ms_rule_free(bad);
  /* observations: a new metric of a packed endpoint, a new replica */
  x = (arg){.ep = "ep-0200", .met = "seen", .replica = "r1", .value = 3};
  exhaust(f, call_observe, &x, "observe (new metric)");
  x = (arg){.ep = "ep-0200", .met = "util", .replica = "r9", .value = 95};
  exhaust(f, call_observe, &x, "observe (new replica)");
  x = (arg){.ep = "ep-0100", .met = "new", .replica = NULL, .value = 199};
  exhaust(f, call_observe, &x, "observe (endpoint-wide)");
  /* endpoints: a new one, one removed */
  x = (arg){.ep = "fresh", .id = 3};
  exhaust(f, call_set_replicas, &x, "set_replicas (new endpoint)");
  add_rule_exhausted(f, "fresh", "util", MS_CMP_GT, 80, 2, 1, NULL);
  x = (arg){.ep = "ep-0050"};
  exhaust(f, call_remove_endpoint, &x, "remove_endpoint (packed)");
  x = (arg){.ep = "ep-0600"};
  exhaust(f, call_remove_endpoint, &x, "remove_endpoint (loose)");
  x = (arg){.id = id2};
  exhaust(f, call_remove_rule, &x, "remove_rule");
  /* evaluations: a dry run, then a real one (which changes counts) */
  x = (arg){.flag = MS_EVAL_DRY_RUN};
  exhaust(f, call_evaluate, &x, "evaluate (dry run)");
  x = (arg){.flag = 0};
  exhaust(f, call_evaluate, &x, "evaluate");
  verbose = 0;
  int64_t r = 0;
  assert_int_equal(ms_autoscaler_get_replicas(f->as, "ep-0000", &r), MS_OK);
  assert_int_equal(r, 3); /* util 90 > 80 */
  assert_int_equal(ms_autoscaler_get_replicas(f->as, "ep-0100", &r), MS_OK);
  assert_int_equal(r, 3); /* "new" 199 / 2 replicas > 60 */
  assert_int_equal(ms_autoscaler_get_replicas(f->as, "fresh", &r), MS_OK);
  assert_int_equal(r, 3); /* no metric yet */
}

/* Many endpoints leaving their segments in a row (their arrays grow), each
 * exhausted: the half-empty segments move their other endpoints out too,
 * which may fail without failing the call. */
static void leaving_segments_fails_cleanly(void **state) {
  fx *f = *state;
  /* the setup's configuration calls packed ep-0000 .. ep-0255 into one
   * segment; the 128th to leave it moves the other 128 out */
  for (int i = 0; i < 130; i++) {
    char ep[16];
    snprintf(ep, sizeof ep, "ep-%04d", i);
    add_rule_exhausted(f, ep, "grow", MS_CMP_GT, 1, 1, i % 2, NULL);
  }
  arg x = {.flag = 0};
  exhaust(f, call_evaluate, &x, "evaluate");
}

/* Opening an engine on a store with everything above: failures give
 * MS_ENOMEM and no engine; a success loads the same endpoints and rules. */
static void open_fails_cleanly(void **state) {
  fx *f = *state;
  char *before = fingerprint(f->as, 0);
  for (long n = 0;; n++) {
    ms_autoscaler *b = NULL;
    arm(n);
    int st = ms_autoscaler_open(f->store, &b);
    int hit = injected;
    disarm();
    if (st == MS_OK) {
      char *now = fingerprint(b, 0);
      assert_string_equal(before, now);
      free(now);
      ms_autoscaler_close(f->as);
      f->as = b;
      break;
    }
    assert_true(hit);
    assert_int_equal(st, MS_ENOMEM);
    assert_null(b);
  }
  free(before);
  probe_still_conflicts(f);
}

/* Building the deadline index on a freshly opened engine: failures give
 * MS_ENOMEM and leave *at_us alone; the first success gives the right
 * answer, and so does a later call. */
static void deadline_index_fails_cleanly(void **state) {
  fx *f = *state;
  disarm();
  int64_t want = 0;
  assert_int_equal(ms_autoscaler_next_deadline(f->as, NOW, &want), MS_OK);
  assert_true(want == NOW + MS_SEC(60) + 1); /* the setup's observations go stale */
  ms_autoscaler *b = NULL;
  assert_int_equal(ms_autoscaler_open(f->store, &b), MS_OK);
  /* observations are not persisted: b sees only these */
  assert_int_equal(ms_autoscaler_observe(b, "ep-0001", "k", "util", "r1", 85, NOW + 5), MS_OK);
  assert_int_equal(ms_autoscaler_observe(b, "ep-0002", "k", "util", "r1", 85, NOW + 7), MS_OK);
  long failures = 0;
  for (long n = 0;; n++) {
    int64_t at = 42;
    arm(n);
    int st = ms_autoscaler_next_deadline(b, NOW, &at);
    int hit = injected;
    disarm();
    if (st == MS_OK) {
      assert_true(at == NOW + 5 + MS_SEC(60) + 1);
      break;
    }
    assert_true(hit);
    assert_int_equal(st, MS_ENOMEM);
    assert_true(at == 42);
    failures++;
  }
  assert_true(failures > 0);
  int64_t at = 0;
  assert_int_equal(ms_autoscaler_next_deadline(b, NOW + 5 + MS_SEC(60) + 1, &at), MS_OK);
  assert_true(at == NOW + 7 + MS_SEC(60) + 1);
  ms_autoscaler_close(b);
}

#endif /* NO_INJECTION */

int main(void) {
#ifdef NO_INJECTION
  puts("skipped: sanitizer builds replace malloc");
  return 77;
#else
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(every_call_fails_cleanly, setup, teardown),
      cmocka_unit_test_setup_teardown(leaving_segments_fails_cleanly, setup, teardown),
      cmocka_unit_test_setup_teardown(open_fails_cleanly, setup, teardown),
      cmocka_unit_test_setup_teardown(deadline_index_fails_cleanly, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
