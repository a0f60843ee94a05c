/* The per-rule query baseline; see autoscaler_baseline.h. */
#include "autoscaler_baseline.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "mserve/autoscaler.h"
#include "store/store_internal.h"

static const char SCHEMA[] =
    "DROP TABLE IF EXISTS bl_metric; DROP TABLE IF EXISTS bl_rule; DROP TABLE IF EXISTS bl_endpoint;"
    "CREATE TABLE bl_endpoint (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, desired INTEGER NOT NULL);"
    "CREATE TABLE bl_rule (id INTEGER PRIMARY KEY, endpoint_id INTEGER NOT NULL REFERENCES bl_endpoint(id),"
    " source TEXT NOT NULL, metric TEXT NOT NULL, cmp INTEGER NOT NULL, threshold REAL NOT NULL,"
    " step INTEGER NOT NULL, cooldown_us INTEGER NOT NULL, min_r INTEGER NOT NULL, max_r INTEGER NOT NULL,"
    " agg INTEGER NOT NULL, enabled INTEGER NOT NULL, last_applied_us INTEGER);"
    "CREATE INDEX bl_rule_endpoint ON bl_rule(endpoint_id, id);"
    "CREATE TABLE bl_metric (endpoint_id INTEGER NOT NULL, source TEXT NOT NULL, metric TEXT NOT NULL,"
    " replica TEXT NOT NULL, value REAL NOT NULL, ts INTEGER NOT NULL,"
    " PRIMARY KEY (endpoint_id, source, metric, replica)) WITHOUT ROWID;";

static const char SQL_ADD_ENDPOINT[] = "INSERT INTO bl_endpoint(id, name, desired) VALUES (?1, ?2, ?3)";
static const char SQL_ADD_RULE[] =
    "INSERT INTO bl_rule(endpoint_id, source, metric, cmp, threshold, step, cooldown_us, min_r, max_r, agg,"
    " enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)";
static const char SQL_OBSERVE[] =
    "INSERT INTO bl_metric(endpoint_id, source, metric, replica, value, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT DO UPDATE SET value = excluded.value, ts = excluded.ts WHERE excluded.ts >= bl_metric.ts";
static const char SQL_ENDPOINTS[] = "SELECT id, desired FROM bl_endpoint ORDER BY id";
static const char SQL_RULES[] =
    "SELECT id, source, metric, cmp, threshold, step, cooldown_us, min_r, max_r, agg, last_applied_us"
    " FROM bl_rule WHERE endpoint_id = ?1 AND enabled ORDER BY id";
/* one statement per aggregation, as the per-rule query approach builds it */
static const char SQL_AGG_MEAN[] =
    "SELECT avg(value) FROM bl_metric WHERE endpoint_id = ?1 AND source = ?2 AND metric = ?3 AND ts >= ?4";
static const char SQL_AGG_MAX[] =
    "SELECT max(value) FROM bl_metric WHERE endpoint_id = ?1 AND source = ?2 AND metric = ?3 AND ts >= ?4";
static const char SQL_AGG_MIN[] =
    "SELECT min(value) FROM bl_metric WHERE endpoint_id = ?1 AND source = ?2 AND metric = ?3 AND ts >= ?4";
static const char SQL_SET_DESIRED[] = "UPDATE bl_endpoint SET desired = ?2 WHERE id = ?1";
static const char SQL_SET_APPLIED[] = "UPDATE bl_rule SET last_applied_us = ?2 WHERE id = ?1";
static const char SQL_DESIRED[] = "SELECT desired FROM bl_endpoint WHERE id = ?1";

static int step_done(ms_store *s, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? MS_OK : ms__store_error(s, rc, what);
}

int bl_create(ms_store *s) {
  int st = ms__store_begin(s);
  if (st) return st;
  st = ms__store_exec(s, SCHEMA);
  if (st) {
    ms__store_rollback(s);
    return st;
  }
  return ms__store_commit(s);
}

int bl_setup(ms_store *s, const char *const *names, size_t n, int64_t replicas, const bl_rule_spec *rules,
             size_t n_rules) {
  int st = ms__store_begin(s);
  if (st) return st;
  for (size_t i = 0; i < n && !st; i++) {
    sqlite3_stmt *q = ms__store_stmt(s, SQL_ADD_ENDPOINT, &st);
    if (!q) break;
    sqlite3_bind_int64(q, 1, (sqlite3_int64)i + 1);
    sqlite3_bind_text(q, 2, names[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, replicas);
    st = step_done(s, q, "baseline: add endpoint");
    for (size_t j = 0; j < n_rules && !st; j++) {
      const bl_rule_spec *r = &rules[j];
      q = ms__store_stmt(s, SQL_ADD_RULE, &st);
      if (!q) break;
      sqlite3_bind_int64(q, 1, (sqlite3_int64)i + 1);
      sqlite3_bind_text(q, 2, r->source, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 3, r->metric, -1, SQLITE_STATIC);
      sqlite3_bind_int(q, 4, r->cmp);
      sqlite3_bind_double(q, 5, r->threshold);
      sqlite3_bind_int64(q, 6, r->step);
      sqlite3_bind_int64(q, 7, r->cooldown_us);
      sqlite3_bind_int64(q, 8, r->min_r);
      sqlite3_bind_int64(q, 9, r->max_r);
      sqlite3_bind_int(q, 10, r->agg);
      st = step_done(s, q, "baseline: add rule");
    }
  }
  if (st) {
    ms__store_rollback(s);
    return st;
  }
  return ms__store_commit(s);
}

int bl_observe_begin(ms_store *s) { return ms__store_begin(s); }

int bl_observe(ms_store *s, size_t endpoint, const char *source, const char *metric, const char *replica,
               double value, int64_t now_us) {
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_OBSERVE, &st);
  if (!q) return st;
  sqlite3_bind_int64(q, 1, (sqlite3_int64)endpoint + 1);
  sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, metric, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, replica ? replica : "", -1, SQLITE_STATIC);
  sqlite3_bind_double(q, 5, value);
  sqlite3_bind_int64(q, 6, now_us);
  return step_done(s, q, "baseline: observe");
}

int bl_observe_commit(ms_store *s) { return ms__store_commit(s); }

static int fires(int cmp, double v, double t) {
  switch (cmp) {
  case MS_CMP_LT: return v < t;
  case MS_CMP_LE: return v <= t;
  case MS_CMP_GT: return v > t;
  case MS_CMP_GE: return v >= t;
  }
  return 0;
}

/* The same proposal rule as the engine: step, clamp to the bounds and to
 * >= 0, never against the step's sign. */
static int64_t propose(int64_t desired, int64_t step, int64_t min_r, int64_t max_r) {
  int64_t p = desired + step;
  if (max_r >= 0 && p > max_r) p = max_r;
  if (min_r >= 0 && p < min_r) p = min_r;
  if (p < 0) p = 0;
  if ((step > 0 && p < desired) || (step < 0 && p > desired)) p = desired;
  return p;
}

/* Evaluate one endpoint: one rules query, one aggregate query per rule. */
static int eval_endpoint(ms_store *s, int64_t id, int64_t desired, int64_t now_us, int64_t ttl_us,
                         int *changed) {
  static const char *const agg_sql[] = {SQL_AGG_MEAN, SQL_AGG_MAX, SQL_AGG_MIN};
  int st = MS_OK;
  sqlite3_stmt *rq = ms__store_stmt(s, SQL_RULES, &st);
  if (!rq) return st;
  sqlite3_bind_int64(rq, 1, id);
  int64_t best = desired, best_rule = -1;
  int rc;
  while ((rc = sqlite3_step(rq)) == SQLITE_ROW) {
    int agg = sqlite3_column_int(rq, 9);
    if (agg < 0 || agg > 2) agg = 0;
    sqlite3_stmt *aq = ms__store_stmt(s, agg_sql[agg], &st);
    if (!aq) break;
    sqlite3_bind_int64(aq, 1, id);
    sqlite3_bind_value(aq, 2, sqlite3_column_value(rq, 1));
    sqlite3_bind_value(aq, 3, sqlite3_column_value(rq, 2));
    sqlite3_bind_int64(aq, 4, now_us - ttl_us);
    int arc = sqlite3_step(aq);
    if (arc != SQLITE_ROW) {
      sqlite3_reset(aq);
      st = ms__store_error(s, arc, "baseline: aggregate");
      break;
    }
    int missing = sqlite3_column_type(aq, 0) == SQLITE_NULL;
    double v = sqlite3_column_double(aq, 0);
    sqlite3_reset(aq);
    if (missing || !fires(sqlite3_column_int(rq, 3), v, sqlite3_column_double(rq, 4))) continue;
    int64_t cooldown = sqlite3_column_int64(rq, 6);
    if (sqlite3_column_type(rq, 10) != SQLITE_NULL && now_us < sqlite3_column_int64(rq, 10) + cooldown) continue;
    int64_t p = propose(desired, sqlite3_column_int64(rq, 5), sqlite3_column_int64(rq, 7),
                        sqlite3_column_int64(rq, 8));
    if (p != desired && (best_rule < 0 || p > best)) {
      best = p;
      best_rule = sqlite3_column_int64(rq, 0);
    }
  }
  if (!st && rc != SQLITE_DONE && rc != SQLITE_ROW) st = ms__store_error(s, rc, "baseline: rules");
  sqlite3_reset(rq);
  if (st || best_rule < 0) return st;
  sqlite3_stmt *u = ms__store_stmt(s, SQL_SET_DESIRED, &st);
  if (!u) return st;
  sqlite3_bind_int64(u, 1, id);
  sqlite3_bind_int64(u, 2, best);
  st = step_done(s, u, "baseline: set desired");
  if (st) return st;
  u = ms__store_stmt(s, SQL_SET_APPLIED, &st);
  if (!u) return st;
  sqlite3_bind_int64(u, 1, best_rule);
  sqlite3_bind_int64(u, 2, now_us);
  st = step_done(s, u, "baseline: set cooldown stamp");
  if (!st) *changed = 1;
  return st;
}

int bl_tick(ms_store *s, int64_t now_us, int64_t ttl_us, size_t *changed) {
  int st = ms__store_begin(s);
  if (st) return st;
  /* read the endpoint list first, as the per-endpoint loop then writes rows */
  size_t n = 0, cap = 1024;
  int64_t *ids = malloc(cap * 2 * sizeof *ids);
  sqlite3_stmt *q = ids ? ms__store_stmt(s, SQL_ENDPOINTS, &st) : NULL;
  if (!ids) st = MS_ENOMEM;
  int rc = SQLITE_DONE;
  while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (n == cap) {
      int64_t *g = realloc(ids, cap * 4 * sizeof *ids);
      if (!g) {
        st = MS_ENOMEM;
        break;
      }
      ids = g;
      cap *= 2;
    }
    ids[2 * n] = sqlite3_column_int64(q, 0);
    ids[2 * n + 1] = sqlite3_column_int64(q, 1);
    n++;
  }
  if (q) {
    if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "baseline: endpoints");
    sqlite3_reset(q);
  }
  size_t c = 0;
  for (size_t i = 0; i < n && !st; i++) {
    int ch = 0;
    st = eval_endpoint(s, ids[2 * i], ids[2 * i + 1], now_us, ttl_us, &ch);
    c += (size_t)ch;
  }
  free(ids);
  if (st) {
    ms__store_rollback(s);
    return st;
  }
  st = ms__store_commit(s);
  if (!st) *changed = c;
  return st;
}

int bl_desired(ms_store *s, size_t endpoint, int64_t *desired) {
  int st = ms__store_lock(s);
  if (st) return st;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_DESIRED, &st);
  if (q) {
    sqlite3_bind_int64(q, 1, (sqlite3_int64)endpoint + 1);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *desired = sqlite3_column_int64(q, 0);
    else st = rc == SQLITE_DONE ? MS_ENOTFOUND : ms__store_error(s, rc, "baseline: desired");
    sqlite3_reset(q);
  }
  ms__store_unlock(s);
  return st;
}
