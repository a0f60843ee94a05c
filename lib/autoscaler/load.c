/* Loading the persisted state into a fresh engine at open: endpoints with
 * their state rows, rules in id order, cooldown stamps, and where the history
 * log ends. Rows that break the engine's invariants are refused with
 * MS_ECORRUPT rather than half loaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "autoscaler_internal.h"

static int corrupt(ms_store *s, const char *what, int64_t id) {
  return ms__fail(MS_ECORRUPT, "autoscaler: store '%s': %s %lld is invalid", s->path, what, (long long)id);
}

static int load_endpoints(ms_autoscaler *a) {
  static const char *const Q =
      "SELECT e.id, e.name, s.replicas, s.history_head, s.history_count FROM autoscaler_endpoint e "
      "LEFT JOIN autoscaler_state s ON s.endpoint_id = e.id ORDER BY e.id";
  ms_store *s = a->store;
  int st = MS_OK, rc = SQLITE_DONE;
  sqlite3_stmt *q = ms__store_stmt(s, Q, &st);
  while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(q, 0), reps = sqlite3_column_int64(q, 2);
    int64_t head = sqlite3_column_int64(q, 3), count = sqlite3_column_int64(q, 4);
    const char *name = (const char *)sqlite3_column_text(q, 1);
    if (!name || !*name || sqlite3_column_type(q, 2) == SQLITE_NULL || reps < 0 || head < 0 || count < 0 ||
        (head == 0) != (count == 0)) {
      st = corrupt(s, "endpoint row", id);
      break;
    }
    as_endpoint *ep = NULL;
    if ((st = as_reserve_endpoints(a, 1)) || !(ep = as_ep_new(a, name, id, reps))) {
      st = st ? st : MS_ENOMEM;
      break;
    }
    ep->hist_head = head;
    ep->hist_count = count;
    if (count > MS_AUTOSCALER_HISTORY_MAX) a->over_bound++;
    as_attach_endpoint(a, ep);
  }
  if (q) sqlite3_reset(q);
  if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "autoscaler: loading endpoints");
  return st;
}

static int rule_row_valid(const as_rule *r, const as_rule_cold *c, const char *src, const char *met) {
  return src && *src && met && *met && r->agg <= MS_AGG_MIN && r->cmp <= MS_CMP_GE && isfinite(r->threshold) &&
         r->step != 0 && r->step != INT64_MIN && c->cooldown >= 0 && r->min >= -1 && r->max >= -1 &&
         !(r->min >= 0 && r->max >= 0 && r->min > r->max);
}

static int load_rules(ms_autoscaler *a) {
  static const char *const Q =
      "SELECT id, endpoint_id, source, metric, aggregation, comparator, threshold, step, cooldown_us, "
      "min_replicas, max_replicas, enabled FROM autoscaler_rule ORDER BY id";
  ms_store *s = a->store;
  int st = MS_OK, rc = SQLITE_DONE;
  sqlite3_stmt *q = ms__store_stmt(s, Q, &st);
  while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    int agg = sqlite3_column_int(q, 4), cmp = sqlite3_column_int(q, 5);
    as_rule r = {.id = sqlite3_column_int64(q, 0), .agg = (unsigned char)agg, .cmp = (unsigned char)cmp,
                 .threshold = sqlite3_column_double(q, 6), .step = sqlite3_column_int64(q, 7),
                 .min = sqlite3_column_int64(q, 9), .max = sqlite3_column_int64(q, 10),
                 .enabled = sqlite3_column_int(q, 11) != 0, .ready_at = INT64_MIN};
    as_rule_cold rc_ = {.cooldown = sqlite3_column_int64(q, 8), .last_applied = 0};
    size_t at = as_ep_index(a, sqlite3_column_int64(q, 1));
    const char *src = (const char *)sqlite3_column_text(q, 2), *met = (const char *)sqlite3_column_text(q, 3);
    if (at == a->n_eps || agg != r.agg || cmp != r.cmp || !rule_row_valid(&r, &rc_, src, met)) {
      st = corrupt(s, "rule row", r.id);
      break;
    }
    as_endpoint *ep = a->eps[at];
    if ((st = as_ep_reserve(a, ep, 1, 1)) || (st = as_table_reserve(&a->by_id, 1))) break;
    size_t series = as_find_series(ep, src, met, as_hash_pair(src, met));
    if (series == ep->n_series && (st = as_ep_add_series(ep, src, met, &series))) break;
    if (r.enabled && (st = ms__autoscaler_conflicts_reserve(&ep->series_cold[series], agg, cmp, r.step))) break;
    r.series = (uint32_t)series;
    ep->rules[ep->n_rules] = r; /* rows come in id order: the array stays sorted */
    ep->rules_cold[ep->n_rules++] = rc_;
    if (r.enabled) ms__autoscaler_conflicts_insert(ep, ep->n_rules - 1);
    as_table_insert(&a->by_id, as_hash_i64(r.id), ep);
    a->total_rules++;
  }
  if (q) sqlite3_reset(q);
  if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "autoscaler: loading rules");
  return st;
}

/* Stamps naming rules removed since are skipped: the blob is rewritten
 * without them at the endpoint's next change. */
static int load_stamps(ms_autoscaler *a) {
  static const char *const Q =
      "SELECT endpoint_id, cooldowns FROM autoscaler_state WHERE cooldowns IS NOT NULL ORDER BY endpoint_id";
  ms_store *s = a->store;
  int st = MS_OK, rc = SQLITE_DONE;
  sqlite3_stmt *q = ms__store_stmt(s, Q, &st);
  while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t ep_id = sqlite3_column_int64(q, 0), rule_id = 0, at = 0;
    const unsigned char *blob = sqlite3_column_blob(q, 1);
    as_stamp_iter it;
    int more = as_stamps_begin(&it, blob, (size_t)sqlite3_column_bytes(q, 1)) == MS_OK ? 1 : -1;
    while (more > 0 && (more = as_stamps_next(&it, &rule_id, &at)) > 0) {
      as_endpoint *ep = NULL;
      size_t i = 0;
      if (!as_find_rule(a, rule_id, &ep, &i) || ep->id != ep_id) continue;
      as_rule_stamp(ep, i, at);
    }
    if (more < 0) {
      st = corrupt(s, "cooldown stamps of endpoint", ep_id);
      break;
    }
  }
  if (q) sqlite3_reset(q);
  if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "autoscaler: loading cooldown stamps");
  return st;
}

static int load_log_end(ms_autoscaler *a) {
  static const char *const Q = "SELECT coalesce(max(seq), 0) FROM autoscaler_history";
  ms_store *s = a->store;
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(s, Q, &st);
  if (!q) return st;
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) a->next_seq = sqlite3_column_int64(q, 0) + 1;
  else st = ms__store_error(s, rc, "autoscaler: reading the end of the history");
  sqlite3_reset(q);
  if (!st && a->next_seq <= 0) st = corrupt(s, "history sequence number", a->next_seq - 1);
  return st;
}

/* Run a statement without results ("BEGIN", "COMMIT"). */
static int run(ms_store *s, const char *sql, const char *what) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(s, sql, &st);
  if (!q) return st;
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  return rc == SQLITE_DONE ? MS_OK : ms__store_error(s, rc, what);
}

int as_load(ms_autoscaler *a) {
  ms_store *s = a->store;
  int st = ms__store_lock(s);
  if (st) return st;
  /* One read transaction: the four queries see one snapshot even while
   * another process writes. */
  if (!(st = run(s, "BEGIN", "autoscaler: starting to load"))) {
    if (!(st = load_endpoints(a)) && !(st = load_rules(a)) && !(st = load_stamps(a))) st = load_log_end(a);
    if (!sqlite3_get_autocommit(s->db)) {
      int e = run(s, "COMMIT", "autoscaler: finishing the load");
      if (!st) st = e;
    }
  }
  ms__store_unlock(s);
  if (!st) ms__autoscaler_arena_pack_all(a);
  return st;
}
