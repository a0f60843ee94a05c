/* Unit tests of what the autoscaler keeps in the store: the history entry
 * codec, the append-only history log with its sweep (bounded per endpoint,
 * removed with its endpoint, continued across reopen) and the refusal of
 * damaged rows. White-box where it must be: the codec is tested directly and
 * some tests look at, or damage, the tables with SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/history_codec.h"
#include "autoscaler/trim.h"
#include "autoscaler_testutil.h"
#include "mserve.h"
#include "mserve/autoscaler.h"
#include "store/store_internal.h"
#include "testutil.h"

enum { MAX = MS_AUTOSCALER_HISTORY_MAX };

/* Ticks are one second apart; an observation is fresh only in its own tick,
 * so an endpoint nobody observes stops changing. */
#define TTL (MS_SEC(1) - 1)

static int setup(void **state) { return (*state = fx_new("autoscaler-store", TTL)) ? 0 : -1; }

/* Close the engine, run SQL on the store, and try to open the engine again. */
static int damage_and_open(fx *f, const char *sql) {
  ms_autoscaler_close(f->as);
  f->as = NULL;
  if (ms_test_sql_exec(f->store, sql) != 0) fail_msg("%s: failed", sql);
  return ms_autoscaler_open(f->store, &f->as);
}

static int64_t sql_int(fx *f, const char *sql) {
  return ms_test_sql_int(f->store, sql);
}

static int64_t endpoint_id(fx *f, const char *name) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT id FROM autoscaler_endpoint WHERE name = '%s'", name);
  return sql_int(f, sql);
}

static int64_t stored_rows(fx *f, const char *name) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM autoscaler_history WHERE endpoint_id = %lld",
           (long long)endpoint_id(f, name));
  return sql_int(f, sql);
}

static void add(ms_autoscaler *a, const char *ep, ms_comparator cmp, double thr, int64_t step) {
  ms_rule *r = NULL;
  assert_int_equal(ms_rule_new(&r), MS_OK);
  assert_int_equal(ms_rule_set_metric(r, "k", "u"), MS_OK);
  assert_int_equal(ms_rule_set_trigger(r, cmp, thr), MS_OK);
  assert_int_equal(ms_rule_set_step(r, step), MS_OK);
  assert_int_equal(ms_autoscaler_add_rule(a, ep, r, NULL), MS_OK);
  ms_rule_free(r);
}

/* An endpoint that changes at every evaluation: up on 90, down on 1. */
static void flapper(ms_autoscaler *a, const char *ep) {
  assert_int_equal(ms_autoscaler_set_replicas(a, ep, 1), MS_OK);
  add(a, ep, MS_CMP_GT, 50, +1);
  add(a, ep, MS_CMP_LT, 10, -1);
}

/* Evaluate at t seconds with eps[0 .. n) hot (even t) or cold (odd t). */
static void tick(ms_autoscaler *a, const char *const *eps, size_t n, int64_t t) {
  for (size_t i = 0; i < n; i++)
    assert_int_equal(ms_autoscaler_observe(a, eps[i], "k", "u", "r", (t % 2) ? 1 : 90, MS_SEC(t)), MS_OK);
  assert_int_equal(ms_autoscaler_evaluate(a, MS_SEC(t), 0, NULL), MS_OK);
}

/* The history of ep is exactly the changes at times first .. last (s). */
static void assert_history(ms_autoscaler *a, const char *ep, int64_t first, int64_t last) {
  ms_decisions *h = NULL;
  assert_int_equal(ms_autoscaler_history(a, ep, 0, &h), MS_OK);
  assert_int_equal(ms_decisions_count(h), (size_t)(last - first + 1));
  for (size_t i = 0; i < ms_decisions_count(h); i++) {
    int64_t at = -1, from = -1, to = -1;
    const char *name = NULL;
    assert_int_equal(ms_decisions_get(h, i, &name, &at, &from, &to, NULL), MS_OK);
    assert_string_equal(name, ep);
    if (at != MS_SEC(first + (int64_t)i))
      fail_msg("%s: entry %zu at %lld us, want %lld s", ep, i, (long long)at, (long long)(first + (int64_t)i));
    assert_int_equal(to - from, ((first + (int64_t)i) % 2) ? -1 : 1);
  }
  ms_decisions_free(h);
}

/* ------------------------------------------------------------------------ */

static void codec_round_trips_every_value(void **state) {
  (void)state;
  const double values[] = {NAN, 0.0, -0.0, 1.0, -1.5, 87.3, 1e300, -1e-300, 4.9e-324, 9007199254740992.0,
                           9007199254740994.0, -9007199254740992.0, 123456789.0, INFINITY};
  enum { N = sizeof values / sizeof values[0] };
  as_dec_rule in[N], *out = NULL;
  size_t cap = 0;
  for (size_t j = 0; j < N; j++) {
    /* ids out of order and far apart, every outcome and comparator, extreme
     * steps and proposals */
    in[j] = (as_dec_rule){.rule_id = j % 2 ? (int64_t)j * 1000003 : INT64_MAX - (int64_t)j,
                          .value = values[j],
                          .threshold = isfinite(values[j]) ? values[N - 1 - j % (N - 1)] : 50.25,
                          .step = j % 3 == 0 ? INT64_MAX : j % 3 == 1 ? -(INT64_MAX) : -1,
                          .proposed = j % 2 ? 0 : INT64_MAX,
                          .outcome = (int32_t)(j % 7),
                          .cmp = (int32_t)(j % 4)};
    if (!isfinite(in[j].threshold)) in[j].threshold = -7;
  }
  unsigned char buf[4096];
  assert_true(ms__autoscaler_entry_max(N) <= sizeof buf);
  const int64_t ats[] = {0, -5, INT64_MIN, INT64_MAX, MS_SEC(1700000000)};
  for (size_t k = 0; k < sizeof ats / sizeof ats[0]; k++) {
    size_t len = ms__autoscaler_entry_encode(buf, ats[k], 7, INT64_MAX, k ? 42 : -1, in, N);
    assert_true(len <= ms__autoscaler_entry_max(N));
    as_entry_head h;
    assert_int_equal(ms__autoscaler_entry_decode(buf, len, &h, &out, &cap), MS_OK);
    assert_int_equal(h.at, ats[k]);
    assert_int_equal(h.from, 7);
    assert_int_equal(h.to, INT64_MAX);
    assert_int_equal(h.applied, k ? 42 : -1);
    assert_int_equal(h.n_rules, N);
    for (size_t j = 0; j < N; j++) {
      assert_int_equal(out[j].rule_id, in[j].rule_id);
      if (isnan(in[j].value)) assert_true(isnan(out[j].value));
      else assert_memory_equal(&out[j].value, &in[j].value, sizeof(double)); /* bit for bit, -0 too */
      assert_memory_equal(&out[j].threshold, &in[j].threshold, sizeof(double));
      assert_int_equal(out[j].step, in[j].step);
      assert_int_equal(out[j].proposed, in[j].proposed);
      assert_int_equal(out[j].outcome, in[j].outcome);
      assert_int_equal(out[j].cmp, in[j].cmp);
    }
  }
  /* A typical entry is small: 4 rules with integral values. */
  as_dec_rule four[4];
  for (size_t j = 0; j < 4; j++)
    four[j] = (as_dec_rule){.rule_id = 400001 + (int64_t)j, .value = 50, .threshold = 80, .step = 1,
                            .proposed = 4, .outcome = MS_RULE_NOT_TRIGGERED, .cmp = MS_CMP_GT};
  size_t small = ms__autoscaler_entry_encode(buf, MS_SEC(1700000000), 4, 5, 400001, four, 4);
  assert_true(small <= 48);
  free(out);
}

static void codec_refuses_damaged_entries(void **state) {
  (void)state;
  as_dec_rule in[3] = {{1, 50, 80, 1, 2, MS_RULE_APPLIED, MS_CMP_GT},
                       {2, 87.25, 10.5, -1, 1, MS_RULE_NOT_TRIGGERED, MS_CMP_LT},
                       {3, NAN, 70, 1, 1, MS_RULE_NO_METRIC, MS_CMP_GE}};
  unsigned char buf[512], bad[512];
  size_t len = ms__autoscaler_entry_encode(buf, 100, 1, 2, 1, in, 3);
  as_dec_rule *out = NULL;
  size_t cap = 0;
  as_entry_head h;
  /* Every truncation, and one byte too many. */
  for (size_t n = 0; n < len; n++) assert_int_equal(ms__autoscaler_entry_decode(buf, n, &h, &out, &cap), MS_ECORRUPT);
  memcpy(bad, buf, len);
  bad[len] = 0;
  assert_int_equal(ms__autoscaler_entry_decode(bad, len + 1, &h, &out, &cap), MS_ECORRUPT);
  /* An unknown version. */
  memcpy(bad, buf, len);
  bad[0] = 2;
  assert_int_equal(ms__autoscaler_entry_decode(bad, len, &h, &out, &cap), MS_ECORRUPT);
  /* A rule count far beyond what the bytes can hold (no huge allocation). */
  unsigned char huge[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0xff, 0xff, 0xff, 0xff, 0x0f};
  assert_int_equal(ms__autoscaler_entry_decode(huge, sizeof huge, &h, &out, &cap), MS_ECORRUPT);
  /* Every single-byte change either decodes to valid fields or is refused. */
  for (size_t i = 0; i < len; i++) {
    for (unsigned v = 0; v < 256; v += 17) {
      memcpy(bad, buf, len);
      bad[i] = (unsigned char)v;
      int st = ms__autoscaler_entry_decode(bad, len, &h, &out, &cap);
      assert_true(st == MS_OK || st == MS_ECORRUPT);
      if (st == MS_OK)
        for (size_t j = 0; j < h.n_rules; j++) {
          assert_true(out[j].outcome <= MS_RULE_DISABLED && out[j].cmp <= MS_CMP_GE);
          assert_true(isfinite(out[j].threshold));
        }
    }
  }
  assert_int_equal(ms__autoscaler_entry_decode(NULL, 0, &h, &out, &cap), MS_ECORRUPT);
  free(out);

  as_stamp_iter it;
  unsigned char stamps[] = {1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 2, 9};
  int64_t id = 0, at = 0;
  assert_int_equal(ms__autoscaler_stamps_begin(&it, stamps, sizeof stamps), MS_OK);
  assert_int_equal(ms__autoscaler_stamps_next(&it, &id, &at), 1);
  assert_int_equal(id, 1);
  assert_int_equal(ms__autoscaler_stamps_next(&it, &id, &at), -1); /* truncated second stamp */
  assert_int_equal(ms__autoscaler_stamps_begin(&it, stamps, 0), MS_ECORRUPT);
  stamps[0] = 9;
  assert_int_equal(ms__autoscaler_stamps_begin(&it, stamps, sizeof stamps), MS_ECORRUPT);
}

/* One endpoint, far past the bound: the log holds exactly its last 1000
 * rows at every point (a small log is swept completely at each tick). */
static void a_long_history_keeps_exactly_the_last_1000_rows(void **state) {
  fx *f = *state;
  const char *eps[] = {"ep"};
  flapper(f->as, "ep");
  const int64_t n = 2 * MAX + 37;
  for (int64_t t = 0; t < n; t++) {
    tick(f->as, eps, 1, t);
    if (t == MAX || t == n - 1) assert_int_equal(stored_rows(f, "ep"), t + 1 > MAX ? MAX : t + 1);
  }
  assert_history(f->as, "ep", n - MAX, n - 1);
  ms_decisions *h = NULL;
  assert_int_equal(ms_autoscaler_history(f->as, "ep", 3, &h), MS_OK);
  assert_int_equal(ms_decisions_count(h), 3);
  int64_t at = 0;
  assert_int_equal(ms_decisions_get(h, 0, NULL, &at, NULL, NULL, NULL), MS_OK);
  assert_int_equal(at, MS_SEC(n - 3));
  ms_decisions_free(h);
  fx_reopen(f);
  assert_history(f->as, "ep", n - MAX, n - 1);
  for (int64_t t = n; t < n + 5; t++) tick(f->as, eps, 1, t);
  assert_history(f->as, "ep", n + 5 - MAX, n + 4);
  assert_int_equal(stored_rows(f, "ep"), MAX);
}

/* Several endpoints past the bound in a log larger than one sweep: what
 * history reports is exact at once, and the store stays bounded. */
static void many_long_histories_stay_bounded(void **state) {
  fx *f = *state;
  const char *eps[] = {"a", "b", "c", "d"};
  enum { N = 4 };
  for (size_t i = 0; i < N; i++) flapper(f->as, eps[i]);
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "quiet", 3), MS_OK);
  const int64_t n = MAX + 600;
  for (int64_t t = 0; t < n; t++) {
    tick(f->as, eps, N, t);
    if (t % 97 == 0 || t == n - 1)
      for (size_t i = 0; i < N; i++) assert_true(stored_rows(f, eps[i]) <= 2 * MAX);
    if (t == n / 2) fx_reopen(f); /* the sweep goes on in a new engine */
  }
  for (size_t i = 0; i < N; i++) assert_history(f->as, eps[i], n - MAX, n - 1);
  /* With the flapping stopped, ticks that change only one endpoint sweep
   * the rest down to the bound. */
  for (int64_t t = n; t < n + 40; t++) tick(f->as, eps, 1, t);
  for (size_t i = 1; i < N; i++) {
    assert_int_equal(stored_rows(f, eps[i]), MAX);
    assert_history(f->as, eps[i], n - MAX, n - 1);
  }
  assert_history(f->as, "a", n + 40 - MAX, n + 39);
  assert_true(stored_rows(f, "a") <= 2 * MAX);
}

static void removing_an_endpoint_removes_its_whole_history(void **state) {
  fx *f = *state;
  const char *eps[] = {"gone", "kept"};
  flapper(f->as, "gone");
  flapper(f->as, "kept");
  const int64_t n = MAX + 300;
  for (int64_t t = 0; t < n; t++) tick(f->as, eps, t < MAX / 2 ? 2 : 1, t); /* "kept" stops early */
  int64_t gone = endpoint_id(f, "gone");
  assert_true(stored_rows(f, "gone") >= MAX);
  assert_int_equal(ms_autoscaler_remove_endpoint(f->as, "gone"), MS_OK);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM autoscaler_history WHERE endpoint_id = %lld", (long long)gone);
  assert_int_equal(sql_int(f, sql), 0);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM autoscaler_rule WHERE endpoint_id = %lld", (long long)gone);
  assert_int_equal(sql_int(f, sql), 0);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM autoscaler_state WHERE endpoint_id = %lld", (long long)gone);
  assert_int_equal(sql_int(f, sql), 0);
  assert_history(f->as, "kept", 0, MAX / 2 - 1);
  fx_reopen(f);
  assert_history(f->as, "kept", 0, MAX / 2 - 1);
  assert_int_equal(fx_endpoint_count(f->as), 1);
  /* A new endpoint of the same name starts with no history. */
  flapper(f->as, "gone");
  ms_decisions *h = NULL;
  assert_int_equal(ms_autoscaler_history(f->as, "gone", 0, &h), MS_OK);
  assert_int_equal(ms_decisions_count(h), 0);
  ms_decisions_free(h);
  tick(f->as, eps, 1, n);
  assert_history(f->as, "gone", n, n);
}

/* The sweep deletes an endpoint's rows oldest first, so they always form one
 * chain: when the boundary moves between two of its rows that lie in
 * different sweep windows, the newer one waits for the older one. Built by
 * hand: ep's rows 1-10 at seqs 1-10, 2990 rows of an endpoint this engine does
 * not know (kept), then ep's rows 11-1015; the boundary is moved in memory
 * between two sweeps as ticks would move it. */
static void the_sweep_never_breaks_a_chain(void **state) {
  fx *f = *state;
  assert_int_equal(ms_autoscaler_set_replicas(f->as, "ep", 1), MS_OK);
  char sql[1024];
  int64_t ep = endpoint_id(f, "ep");
  snprintf(sql, sizeof sql,
           "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 4005)"
           " INSERT INTO autoscaler_history(seq, endpoint_id, ordinal, prev, entry)"
           " SELECT x, CASE WHEN x <= 10 OR x > 3000 THEN %lld ELSE 999999 END,"
           " CASE WHEN x <= 10 THEN x WHEN x > 3000 THEN x - 2990 ELSE x - 10 END,"
           " CASE WHEN x = 1 OR x = 11 THEN 0 WHEN x = 3001 THEN 10 ELSE x - 1 END, x'00' FROM s;"
           "UPDATE autoscaler_state SET history_head = 4005, history_count = 1015 WHERE endpoint_id = %lld;",
           (long long)ep, (long long)ep);
  assert_int_equal(damage_and_open(f, sql), MS_OK);
  as_endpoint *e = f->as->m.eps[0];
  assert_int_equal(e->hist_count, 1015);
  int64_t cursor = 0;
  e->hist_count = 1009; /* rows 1-9 are past the bound */
  assert_int_equal(ms__store_begin(f->store), MS_OK);
  assert_int_equal(ms__autoscaler_trim_history(f->store, &f->as->m, 10, &cursor), MS_OK);
  assert_int_equal(cursor, 10);
  e->hist_count = 1011; /* two ticks later: rows 10 and 11 are */
  assert_int_equal(ms__autoscaler_trim_history(f->store, &f->as->m, 5000, &cursor), MS_OK);
  assert_int_equal(cursor, 0); /* reached the end: the next pass starts over */
  assert_int_equal(ms__store_commit(f->store), MS_OK);
  snprintf(sql, sizeof sql,
           "SELECT count(*) * 1000000 + min(ordinal) * 1000 + (max(ordinal) - 1000) FROM autoscaler_history "
           "WHERE endpoint_id = %lld",
           (long long)ep);
  assert_int_equal(sql_int(f, sql), (1015 - 10 + 1) * 1000000 + 10 * 1000 + 15); /* rows 10-1015 */
  /* The next pass takes 10, then 11. */
  assert_int_equal(ms__store_begin(f->store), MS_OK);
  assert_int_equal(ms__autoscaler_trim_history(f->store, &f->as->m, 5000, &cursor), MS_OK);
  assert_int_equal(ms__store_commit(f->store), MS_OK);
  assert_int_equal(sql_int(f, sql), (1015 - 12 + 1) * 1000000 + 12 * 1000 + 15);
  assert_int_equal(sql_int(f, "SELECT count(*) FROM autoscaler_history WHERE endpoint_id = 999999"), 2990);
  e->hist_count = 1015;
}

static int64_t stamp_of(ms_autoscaler *a, int64_t rule) {
  ms_rule *r = NULL;
  assert_int_equal(ms_autoscaler_get_rule(a, rule, &r), MS_OK);
  int has = 0;
  int64_t last = -1;
  assert_int_equal(ms_rule_get_state(r, NULL, NULL, &has, &last), MS_OK);
  ms_rule_free(r);
  return has ? last : -1;
}

/* Each rule's own stamp survives a reopen, not only the last applied one's,
 * and so do counts set by hand. */
static void every_cooldown_stamp_and_count_persists(void **state) {
  fx *f = *state;
  ms_autoscaler *a = f->as;
  assert_int_equal(ms_autoscaler_set_metric_ttl(a, MS_SEC(60)), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "ep", 4), MS_OK);
  assert_int_equal(ms_autoscaler_set_replicas(a, "manual", 2), MS_OK);
  int64_t ids[3];
  const char *mets[] = {"x", "y", "z"};
  for (int i = 0; i < 3; i++) {
    ms_rule *r = NULL;
    assert_int_equal(ms_rule_new(&r), MS_OK);
    assert_int_equal(ms_rule_set_metric(r, "k", mets[i]), MS_OK);
    assert_int_equal(ms_rule_set_trigger(r, MS_CMP_GT, 50), MS_OK);
    assert_int_equal(ms_rule_set_step(r, i + 1), MS_OK);
    assert_int_equal(ms_rule_set_cooldown(r, MS_SEC(100)), MS_OK);
    assert_int_equal(ms_autoscaler_add_rule(a, "ep", r, &ids[i]), MS_OK);
    ms_rule_free(r);
  }
  /* z (+3) applies at 10 s; y (+2) at 20 s, z cooling down; x (+1) at 30 s. */
  const char *order[] = {"z", "y", "x"};
  for (int k = 0; k < 3; k++) {
    assert_int_equal(ms_autoscaler_observe(a, "ep", "k", order[k], "r", 90, MS_SEC(10 * (k + 1))), MS_OK);
    assert_int_equal(ms_autoscaler_evaluate(a, MS_SEC(10 * (k + 1)), 0, NULL), MS_OK);
  }
  assert_int_equal(ms_autoscaler_set_replicas(a, "manual", 7), MS_OK);
  fx_reopen(f);
  a = f->as;
  assert_int_equal(stamp_of(a, ids[2]), MS_SEC(10));
  assert_int_equal(stamp_of(a, ids[1]), MS_SEC(20));
  assert_int_equal(stamp_of(a, ids[0]), MS_SEC(30));
  int64_t n = 0;
  assert_int_equal(ms_autoscaler_get_replicas(a, "ep", &n), MS_OK);
  assert_int_equal(n, 4 + 3 + 2 + 1);
  assert_int_equal(ms_autoscaler_get_replicas(a, "manual", &n), MS_OK);
  assert_int_equal(n, 7);
  /* At 115 s only z is out of its cooldown. */
  for (int i = 0; i < 3; i++) assert_int_equal(ms_autoscaler_observe(a, "ep", "k", mets[i], "r", 90, MS_SEC(115)), MS_OK);
  ms_decisions *d = NULL;
  assert_int_equal(ms_autoscaler_evaluate(a, MS_SEC(115), 0, &d), MS_OK);
  size_t i = 0;
  assert_int_equal(ms_decisions_find(d, "ep", &i), MS_OK);
  ms_rule_outcome o[3];
  for (size_t j = 0; j < 3; j++) assert_int_equal(ms_decisions_get_rule(d, i, j, NULL, &o[j], NULL), MS_OK);
  assert_int_equal(o[0], MS_RULE_COOLDOWN);
  assert_int_equal(o[1], MS_RULE_COOLDOWN);
  assert_int_equal(o[2], MS_RULE_APPLIED);
  ms_decisions_free(d);
  /* The stamps of rules removed since are dropped from the state row. */
  assert_int_equal(ms_autoscaler_remove_rule(a, ids[1]), MS_OK);
  assert_int_equal(ms_autoscaler_observe(a, "ep", "k", "x", "r", 90, MS_SEC(130)), MS_OK);
  assert_int_equal(ms_autoscaler_evaluate(a, MS_SEC(130), 0, NULL), MS_OK);
  fx_reopen(f);
  assert_int_equal(stamp_of(f->as, ids[0]), MS_SEC(130));
  assert_int_equal(stamp_of(f->as, ids[2]), MS_SEC(115));
  assert_int_equal(sql_int(f, "SELECT length(cooldowns) FROM autoscaler_state WHERE cooldowns IS NOT NULL"), 1 + 2 * 9);
}

static void damaged_rows_are_refused(void **state) {
  fx *f = *state;
  const char *eps[] = {"ep"};
  flapper(f->as, "ep");
  for (int64_t t = 0; t < 5; t++) tick(f->as, eps, 1, t);
  ms_autoscaler_close(f->as);
  f->as = NULL;
  assert_int_equal(ms_autoscaler_open(f->store, &f->as), MS_OK);
  assert_history(f->as, "ep", 0, 4);

  /* An unreadable history entry: reported, not crashed on, and only there. */
  assert_int_equal(damage_and_open(f, "UPDATE autoscaler_history SET entry = x'01ff' WHERE ordinal = 3"), MS_OK);
  ms_decisions *h = (ms_decisions *)(void *)f; /* must stay untouched */
  assert_int_equal(ms_autoscaler_history(f->as, "ep", 0, &h), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "unreadable"));
  assert_ptr_equal(h, (void *)f);
  assert_int_equal(ms_autoscaler_history(f->as, "ep", 2, &h), MS_OK); /* the newest two are fine */
  ms_decisions_free(h);
  /* A broken chain. */
  assert_int_equal(damage_and_open(f, "DELETE FROM autoscaler_history WHERE ordinal = 4"), MS_OK);
  assert_int_equal(ms_autoscaler_history(f->as, "ep", 0, &h), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "broken"));
  /* Cooldown stamps, a rule, an endpoint without its state row. */
  assert_int_equal(damage_and_open(f, "UPDATE autoscaler_state SET cooldowns = x'0105'"), MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "cooldown stamps"));
  assert_null(f->as);
  assert_int_equal(damage_and_open(f, "UPDATE autoscaler_state SET cooldowns = NULL;"
                                      "UPDATE autoscaler_rule SET comparator = 9 WHERE id = 1"),
                   MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "rule row"));
  assert_int_equal(damage_and_open(f, "UPDATE autoscaler_rule SET comparator = 0;"
                                      "DELETE FROM autoscaler_state"),
                   MS_ECORRUPT);
  assert_non_null(strstr(ms_errmsg(), "endpoint row"));
}

int main(void) {
  int skip_rc = ms_test_backend_start("unit_autoscaler_store");
  if (skip_rc) return skip_rc;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(codec_round_trips_every_value),
      cmocka_unit_test(codec_refuses_damaged_entries),
      cmocka_unit_test_setup_teardown(a_long_history_keeps_exactly_the_last_1000_rows, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(many_long_histories_stay_bounded, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(removing_an_endpoint_removes_its_whole_history, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(the_sweep_never_breaks_a_chain, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(every_cooldown_stamp_and_count_persists, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(damaged_rows_are_refused, setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
