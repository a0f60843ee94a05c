/* Adding, removing, enabling and listing rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/text.h"
#include "autoscaler_internal.h"

size_t as_rule_index(const as_endpoint *ep, int64_t id) {
  size_t lo = 0, hi = ep->n_rules;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ep->rules[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < ep->n_rules && ep->rules[lo].id == id ? lo : ep->n_rules;
}

static int id_eq(const void *item, const void *key) {
  const as_endpoint *ep = item;
  return as_rule_index(ep, *(const int64_t *)key) < ep->n_rules;
}

int as_find_rule(const ms_autoscaler *a, int64_t id, as_endpoint **ep, size_t *index) {
  as_endpoint *e = as_table_find(&a->by_id, as_hash_i64(id), id_eq, &id);
  if (!e) return 0;
  *ep = e;
  *index = as_rule_index(e, id);
  return 1;
}

static int no_rule(int64_t id) { return ms__fail(MS_ENOTFOUND, "autoscaler: no rule %lld", (long long)id); }

static int insert_row(ms_store *s, const as_endpoint *ep, const ms_rule *r, int64_t *id) {
  static const char *const Q_INS =
      "INSERT INTO autoscaler_rule(endpoint_id, source, metric, aggregation, comparator, threshold, step, "
      "cooldown_us, min_replicas, max_replicas, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
  int st = ms__store_begin(s);
  if (st) return st;
  sqlite3_stmt *q = ms__store_stmt(s, Q_INS, &st);
  if (q) {
    sqlite3_bind_int64(q, 1, ep->id);
    sqlite3_bind_text(q, 2, r->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, r->metric, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, r->agg);
    sqlite3_bind_int(q, 5, r->cmp);
    sqlite3_bind_double(q, 6, r->threshold);
    sqlite3_bind_int64(q, 7, r->step);
    sqlite3_bind_int64(q, 8, r->cooldown);
    sqlite3_bind_int64(q, 9, r->min);
    sqlite3_bind_int64(q, 10, r->max);
    sqlite3_bind_int(q, 11, r->enabled != 0);
    st = as_step_done(s, q, "autoscaler: inserting the rule");
  }
  if (!st) *id = sqlite3_last_insert_rowid(s->db);
  if (!st) return ms__store_commit(s);
  ms__store_rollback(s);
  return st;
}

/* Take back the series add_rule_locked just created: nothing changes on failure. */
static void drop_fresh_series(as_endpoint *ep) {
  as_series_cold *c = &ep->series_cold[--ep->n_series];
  free(c->source);
  free(c->metric);
  ms__autoscaler_conflicts_free(c->cf);
}

static int add_rule_locked(ms_autoscaler *a, const char *endpoint, const ms_rule *r, int64_t *rule_id) {
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (!ep)
    return ms__fail(MS_ENOTFOUND, "autoscaler: no endpoint '%s' (create it with ms_autoscaler_set_replicas)",
                    endpoint);
  if (ep->n_rules >= AS_MAX_RULES)
    return ms__fail(MS_EFULL,
                    "autoscaler: ms_autoscaler_add_rule: endpoint '%s' already has %d rules, the most an endpoint "
                    "may have",
                    endpoint, AS_MAX_RULES);
  size_t series = as_find_series(ep, r->source, r->metric, as_hash_pair(r->source, r->metric));
  int fresh = series == ep->n_series, st;
  if (r->enabled && (st = as_check_conflicts(ep, series, r->agg, r->cmp, r->threshold, r->step, -1))) return st;
  if (fresh && ep->n_series >= AS_MAX_SERIES)
    return ms__fail(MS_EFULL,
                    "autoscaler: ms_autoscaler_add_rule: endpoint '%s': a rule on '%s/%s' would make more than %d "
                    "metrics, the most an endpoint may have",
                    endpoint, r->source, r->metric, AS_MAX_SERIES);
  if ((st = as_ep_reserve(a, ep, 1, 1)) || (st = as_table_reserve(&a->by_id, 1))) return st;
  if (fresh && as_ep_add_series(ep, r->source, r->metric, &series))
    return ms__fail(MS_ENOMEM, "autoscaler: endpoint '%s': out of memory adding a rule", endpoint);
  if (r->enabled && (st = ms__autoscaler_conflicts_reserve(&ep->series_cold[series], r->agg, r->cmp, r->step))) {
    if (fresh) drop_fresh_series(ep);
    ms__errmsg_prefix("endpoint '%s'", endpoint);
    return st;
  }
  int64_t id = 0;
  if ((st = insert_row(a->store, ep, r, &id))) {
    ms__errmsg_prefix("endpoint '%s'", endpoint);
    if (fresh) drop_fresh_series(ep);
    return st;
  }
  /* ids only grow (AUTOINCREMENT): appending keeps the array sorted */
  size_t i = ep->n_rules++;
  ep->rules[i] = (as_rule){.threshold = r->threshold, .step = r->step, .min = r->min, .max = r->max,
                           .ready_at = INT64_MIN, .id = id, .series = (uint32_t)series,
                           .cmp = (unsigned char)r->cmp, .agg = (unsigned char)r->agg,
                           .enabled = r->enabled != 0, .has_applied = 0};
  ep->rules_cold[i] = (as_rule_cold){.cooldown = r->cooldown, .last_applied = 0};
  if (r->enabled) ms__autoscaler_conflicts_insert(ep, i);
  as_table_insert(&a->by_id, as_hash_i64(id), ep);
  a->total_rules++;
  if (rule_id) *rule_id = id;
  return MS_OK;
}

int ms_autoscaler_add_rule(ms_autoscaler *a, const char *endpoint, const ms_rule *r, int64_t *rule_id) {
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  int st = as_check_name("endpoint name", endpoint);
  if (st) return st;
  char what[300];
  snprintf(what, sizeof what, "autoscaler: endpoint '%.256s'", endpoint);
  if ((st = as_rule_validate(r, what))) return st;
  if ((st = as_lock(a))) return st;
  st = add_rule_locked(a, endpoint, r, rule_id);
  ms__autoscaler_arena_maintain(a);
  as_unlock(a);
  return st;
}

/* Run a one-statement write transaction binding x as ?1 and, when the
 * statement has a second parameter, y as ?2. */
static int write1(ms_store *s, const char *sql, int64_t x, int64_t y, const char *what) {
  int st = ms__store_begin(s);
  if (st) return st;
  sqlite3_stmt *q = ms__store_stmt(s, sql, &st);
  if (q) {
    sqlite3_bind_int64(q, 1, x);
    if (sqlite3_bind_parameter_count(q) >= 2) sqlite3_bind_int64(q, 2, y);
    st = as_step_done(s, q, what);
  }
  if (!st) return ms__store_commit(s);
  ms__store_rollback(s);
  return st;
}

int ms_autoscaler_remove_rule(ms_autoscaler *a, int64_t rule_id) {
  static const char *const Q_DEL = "DELETE FROM autoscaler_rule WHERE id = ?1";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  int st = as_lock(a);
  if (st) return st;
  as_endpoint *ep = NULL;
  size_t i = 0;
  if (!as_find_rule(a, rule_id, &ep, &i)) {
    as_unlock(a);
    return no_rule(rule_id);
  }
  if ((st = write1(a->store, Q_DEL, rule_id, 0, "autoscaler: deleting the rule"))) {
    ms__errmsg_prefix("rule %lld", (long long)rule_id);
    as_unlock(a);
    return st;
  }
  if (ep->rules[i].enabled) ms__autoscaler_conflicts_remove(ep, i);
  size_t after = ep->n_rules - i - 1;
  memmove(ep->rules + i, ep->rules + i + 1, after * sizeof *ep->rules);
  memmove(ep->rules_cold + i, ep->rules_cold + i + 1, after * sizeof *ep->rules_cold);
  ep->n_rules--;
  as_table_remove(&a->by_id, as_hash_i64(rule_id), ep);
  a->total_rules--;
  /* its series stays: observations of the metric remain useful; its stamp
   * leaves the state row at the endpoint's next change */
  as_unlock(a);
  return MS_OK;
}

int ms_autoscaler_set_rule_enabled(ms_autoscaler *a, int64_t rule_id, int enabled) {
  static const char *const Q_UPD = "UPDATE autoscaler_rule SET enabled = ?2 WHERE id = ?1";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  enabled = enabled != 0;
  int st = as_lock(a);
  if (st) return st;
  as_endpoint *ep = NULL;
  size_t i = 0;
  if (!as_find_rule(a, rule_id, &ep, &i)) {
    as_unlock(a);
    return no_rule(rule_id);
  }
  as_rule *x = &ep->rules[i];
  if (x->enabled == enabled) {
    as_unlock(a);
    return MS_OK;
  }
  if (enabled && ((st = as_check_conflicts(ep, x->series, x->agg, x->cmp, x->threshold, x->step, x->id)) ||
                  (st = ms__autoscaler_conflicts_reserve(&ep->series_cold[x->series], x->agg, x->cmp, x->step)))) {
    as_unlock(a);
    return st;
  }
  if ((st = write1(a->store, Q_UPD, rule_id, enabled, "autoscaler: updating the rule"))) {
    ms__errmsg_prefix("rule %lld", (long long)rule_id);
  } else {
    if (!enabled) ms__autoscaler_conflicts_remove(ep, i);
    x->enabled = (unsigned char)enabled;
    if (enabled) ms__autoscaler_conflicts_insert(ep, i);
  }
  as_unlock(a);
  return st;
}

int ms_autoscaler_rule_ids(ms_autoscaler *a, const char *endpoint, int64_t *ids, size_t cap, size_t *count) {
  if (!a || !count || (!ids && cap)) return ms__fail(MS_EINVAL, "autoscaler: NULL argument");
  int st = as_check_name("endpoint name", endpoint);
  if (st || (st = as_lock(a))) return st;
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (!ep) {
    st = ms__fail(MS_ENOTFOUND, "autoscaler: no endpoint '%s'", endpoint);
  } else {
    for (size_t i = 0; i < ep->n_rules && i < cap; i++) ids[i] = ep->rules[i].id;
    *count = ep->n_rules;
  }
  as_unlock(a);
  return st;
}

int ms_autoscaler_get_rule(ms_autoscaler *a, int64_t rule_id, ms_rule **out) {
  if (!a || !out) return ms__fail(MS_EINVAL, "autoscaler: NULL argument");
  int st = as_lock(a);
  if (st) return st;
  as_endpoint *ep = NULL;
  size_t i = 0;
  if (!as_find_rule(a, rule_id, &ep, &i)) {
    as_unlock(a);
    return no_rule(rule_id);
  }
  const as_rule *x = &ep->rules[i];
  const as_rule_cold *xc = &ep->rules_cold[i];
  const as_series_cold *c = &ep->series_cold[x->series];
  ms_rule *r = calloc(1, sizeof *r);
  if (r) {
    r->source = ms__strdup(c->source);
    r->metric = ms__strdup(c->metric);
    r->endpoint = ms__strdup(ep->name);
  }
  if (!r || !r->source || !r->metric || !r->endpoint) {
    ms_rule_free(r);
    as_unlock(a);
    return ms__fail(MS_ENOMEM, "autoscaler: rule %lld: out of memory", (long long)rule_id);
  }
  r->has_metric = r->has_trigger = r->has_step = 1;
  r->cmp = x->cmp;
  r->agg = x->agg;
  r->threshold = x->threshold;
  r->step = x->step;
  r->cooldown = xc->cooldown;
  r->min = x->min;
  r->max = x->max;
  r->enabled = x->enabled;
  r->is_snapshot = 1;
  r->id = x->id;
  r->has_applied = x->has_applied;
  r->last_applied = xc->last_applied;
  as_unlock(a);
  *out = r;
  return MS_OK;
}
