/* Loading the persisted state into a fresh engine at open: endpoints with
 * their state rows, rules in id order, cooldown stamps, and where the history
 * log ends. Rows that break the engine's invariants are refused with
 * MS_ECORRUPT rather than half loaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/arena.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/history_codec.h"
#include "autoscaler/load.h"
#include "common/error.h"

static int corrupt(ms_store *s, const char *what, int64_t id) {
  return ms__fail(MS_ECORRUPT, "store '%s': %s %lld is invalid", s->path, what, (long long)id);
}

static int load_endpoints(ms_autoscaler *a) {
  static const char SQL_ENDPOINTS[] =
      "SELECT e.id, e.name, s.replicas, s.history_head, s.history_count FROM autoscaler_endpoint e "
      "LEFT JOIN autoscaler_state s ON s.endpoint_id = e.id ORDER BY e.id";
  ms_store *s = a->store;
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_ENDPOINTS, &st);
  while (q && !(st = ms__stmt_row(s, q, "loading endpoints", &row)) && row) {
    int64_t id = ms__stmt_int64(q, 0), reps = ms__stmt_int64(q, 2);
    int64_t head = ms__stmt_int64(q, 3), count = ms__stmt_int64(q, 4);
    const char *name = ms__stmt_text(q, 1);
    if (!name || !*name || ms__stmt_is_null(q, 2) || reps < 0 || head < 0 || count < 0 ||
        (head == 0) != (count == 0)) {
      st = corrupt(s, "endpoint row", id);
      break;
    }
    as_endpoint *ep = NULL;
    if ((st = ms__autoscaler_model_reserve(&a->m, 1)) || !(ep = ms__autoscaler_endpoint_new(&a->m, name, id, reps))) {
      st = st ? st : MS_ENOMEM;
      break;
    }
    ep->hist_head = head;
    ep->hist_count = count;
    if (count > MS_AUTOSCALER_HISTORY_MAX) a->over_bound++;
    ms__autoscaler_model_attach(&a->m, ep);
  }
  if (q) ms__stmt_reset(q); /* when it stopped at a row */
  return st;
}

static int rule_row_valid(const as_rule *r, const as_rule_cold *c, const char *src, const char *met) {
  return src && *src && met && *met && r->agg <= MS_AGG_MIN && r->cmp <= MS_CMP_GE && isfinite(r->threshold) &&
         r->step != 0 && r->step != INT64_MIN && c->cooldown >= 0 && r->min >= -1 && r->max >= -1 &&
         !(r->min >= 0 && r->max >= 0 && r->min > r->max);
}

static int load_rules(ms_autoscaler *a) {
  static const char SQL_RULES[] =
      "SELECT id, endpoint_id, source, metric, aggregation, comparator, threshold, step, cooldown_us, "
      "min_replicas, max_replicas, enabled FROM autoscaler_rule ORDER BY id";
  ms_store *s = a->store;
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_RULES, &st);
  while (q && !(st = ms__stmt_row(s, q, "loading rules", &row)) && row) {
    int agg = ms__stmt_int(q, 4), cmp = ms__stmt_int(q, 5);
    as_rule r = {.id = ms__stmt_int64(q, 0), .agg = (unsigned char)agg, .cmp = (unsigned char)cmp,
                 .threshold = ms__stmt_double(q, 6), .step = ms__stmt_int64(q, 7),
                 .min = ms__stmt_int64(q, 9), .max = ms__stmt_int64(q, 10),
                 .enabled = ms__stmt_int(q, 11) != 0, .ready_at = INT64_MIN};
    as_rule_cold cold = {.cooldown = ms__stmt_int64(q, 8), .last_applied = 0};
    size_t at = ms__autoscaler_endpoint_index(&a->m, ms__stmt_int64(q, 1));
    const char *src = ms__stmt_text(q, 2), *met = ms__stmt_text(q, 3);
    if (at == a->m.n_eps || agg != r.agg || cmp != r.cmp || !rule_row_valid(&r, &cold, src, met)) {
      st = corrupt(s, "rule row", r.id);
      break;
    }
    as_endpoint *ep = a->m.eps[at];
    as_rule_slot slot;
    if ((st = ms__autoscaler_rule_prepare(&a->m, ep, src, met, agg, cmp, r.step, r.enabled, &slot))) break;
    /* rows come in id order: the endpoint's rules stay sorted */
    ms__autoscaler_rule_attach(&a->m, ep, &slot, r, cold.cooldown);
  }
  if (q) ms__stmt_reset(q);
  return st;
}

/* Stamps naming rules removed since are skipped: the blob is rewritten
 * without them at the endpoint's next change. */
static int load_stamps(ms_autoscaler *a) {
  static const char SQL_STAMPS[] =
      "SELECT endpoint_id, cooldowns FROM autoscaler_state WHERE cooldowns IS NOT NULL ORDER BY endpoint_id";
  ms_store *s = a->store;
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_STAMPS, &st);
  while (q && !(st = ms__stmt_row(s, q, "loading cooldown stamps", &row)) && row) {
    int64_t ep_id = ms__stmt_int64(q, 0), rule_id = 0, at = 0;
    const unsigned char *blob = ms__stmt_blob(q, 1);
    as_stamp_iter it;
    int more = ms__autoscaler_stamps_begin(&it, blob, (size_t)ms__stmt_bytes(q, 1)) == MS_OK ? 1 : -1;
    while (more > 0 && (more = ms__autoscaler_stamps_next(&it, &rule_id, &at)) > 0) {
      as_endpoint *ep = NULL;
      size_t i = 0;
      if (!ms__autoscaler_rule_find(&a->m, rule_id, &ep, &i) || ep->id != ep_id) continue;
      ms__autoscaler_rule_stamp(&a->m, ep, i, at);
    }
    if (more < 0) {
      st = corrupt(s, "cooldown stamps of endpoint", ep_id);
      break;
    }
  }
  if (q) ms__stmt_reset(q);
  return st;
}

static int load_log_end(ms_autoscaler *a) {
  static const char SQL_LOG_END[] = "SELECT coalesce(max(seq), 0) FROM autoscaler_history";
  ms_store *s = a->store;
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_LOG_END, &st);
  if (!q) return st;
  int row = 0;
  if (!(st = ms__stmt_row(s, q, "reading the end of the history", &row)) && row)
    a->next_seq = ms__stmt_int64(q, 0) + 1;
  ms__stmt_reset(q);
  if (!st && a->next_seq <= 0) st = corrupt(s, "history sequence number", a->next_seq - 1);
  return st;
}

static const char SQL_BEGIN[] = "BEGIN";
/* PostgreSQL's default isolation takes a snapshot per statement: ask for one
 * for the whole load */
static const char SQL_BEGIN_PG[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char SQL_COMMIT[] = "COMMIT";

/* Run a statement without results (BEGIN, COMMIT). */
static int run(ms_store *s, const char *sql, const char *what) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, sql, &st);
  return q ? ms__stmt_done(s, q, what) : st;
}

int ms__autoscaler_load(ms_autoscaler *a) {
  ms_store *s = a->store;
  int st = ms__store_read_begin(s);
  if (st) return st;
  /* One read transaction, ended before the read is: the four queries see
   * one snapshot even while another process writes. */
  if (!(st = run(s, ms__store_sql(s, SQL_BEGIN, SQL_BEGIN_PG), "starting to load"))) {
    if (!(st = load_endpoints(a)) && !(st = load_rules(a)) && !(st = load_stamps(a))) st = load_log_end(a);
    if (!ms__store_autocommit(s)) {
      int e = run(s, SQL_COMMIT, "finishing the load");
      if (!st) st = e;
    }
  }
  ms__store_read_end(s);
  if (!st) ms__autoscaler_arena_pack_all(&a->m);
  return st;
}

/* The shared state of the endpoints this engine knows, read again: their
 * counts, history heads and lengths and cooldown stamps, and the end of the
 * history, as other hosts may have changed them since (ms__autoscaler_refresh
 * in load.h). */
int ms__autoscaler_refresh(ms_autoscaler *a) {
  static const char SQL_STATE[] =
      "SELECT e.name, s.replicas, s.history_head, s.history_count FROM autoscaler_endpoint e "
      "JOIN autoscaler_state s ON s.endpoint_id = e.id";
  ms_store *s = a->store;
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_STATE, &st);
  while (q && !(st = ms__stmt_row(s, q, "reading the endpoints' state", &row)) && row) {
    as_endpoint *ep = ms__autoscaler_endpoint_find(&a->m, ms__stmt_text(q, 0) ? ms__stmt_text(q, 0) : "");
    if (!ep) continue; /* made by another host since this engine was opened: seen when it is opened again */
    int64_t reps = ms__stmt_int64(q, 1), head = ms__stmt_int64(q, 2), count = ms__stmt_int64(q, 3);
    if (reps < 0 || head < 0 || count < 0 || (head == 0) != (count == 0)) {
      st = corrupt(s, "endpoint row", ep->id);
      break;
    }
    int was_over = ep->hist_count > MS_AUTOSCALER_HISTORY_MAX, over = count > MS_AUTOSCALER_HISTORY_MAX;
    if (over && !was_over) a->over_bound++;
    if (!over && was_over && a->over_bound) a->over_bound--;
    ep->replicas = reps;
    ep->hist_head = head;
    ep->hist_count = count;
  }
  if (q) ms__stmt_reset(q);
  if (!st) st = load_stamps(a);
  if (!st) st = load_log_end(a);
  return st;
}
