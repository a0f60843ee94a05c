/* Adding, removing, enabling and listing rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/text.h"
#include "autoscaler_internal.h"

static int id_eq(const void *item, const void *key) { return ((const as_rule *)item)->id == *(const int64_t *)key; }

static as_rule *find_rule(const ms_autoscaler *a, int64_t id) {
  return as_table_find(&a->by_id, as_hash_i64(id), id_eq, &id);
}

static int add_rule_locked(ms_autoscaler *a, const char *endpoint, const ms_rule *r, int64_t *rule_id) {
  static const char *const Q_INS =
      "INSERT INTO autoscaler_rule(endpoint_id, source, metric, aggregation, comparator, threshold, step, "
      "cooldown_us, min_replicas, max_replicas, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (!ep)
    return ms__fail(MS_ENOTFOUND, "autoscaler: no endpoint '%s' (create it with ms_autoscaler_set_replicas)",
                    endpoint);
  int st;
  if (r->enabled &&
      (st = as_check_conflicts(ep, r->source, r->metric, r->agg, r->cmp, r->threshold, r->step, -1)))
    return st;
  if ((st = as_ep_reserve(ep, 1, 1)) || (st = as_table_reserve(&a->by_id, 1))) return st;
  as_series *found = as_find_series(ep, r->source, r->metric, as_hash_pair(r->source, r->metric));
  as_series *fresh = found ? NULL : as_series_new(r->source, r->metric);
  as_rule *x = calloc(1, sizeof *x);
  if ((!found && !fresh) || !x) {
    as_series_free(fresh);
    free(x);
    return ms__fail(MS_ENOMEM, "autoscaler: endpoint '%s': out of memory adding a rule", endpoint);
  }
  *x = (as_rule){.ep = ep, .series = found ? found : fresh, .cmp = r->cmp, .agg = r->agg,
                 .threshold = r->threshold, .step = r->step, .cooldown = r->cooldown, .min = r->min,
                 .max = r->max, .enabled = r->enabled};
  ms_store *s = a->store;
  if (!(st = ms__store_begin(s))) {
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
      sqlite3_bind_int(q, 11, r->enabled);
      st = as_step_done(s, q, "autoscaler: inserting the rule");
    }
    if (!st) x->id = sqlite3_last_insert_rowid(s->db);
    if (!st) st = ms__store_commit(s);
    else ms__store_rollback(s);
  }
  if (st) {
    ms__errmsg_prefix("endpoint '%s'", endpoint);
    as_series_free(fresh);
    free(x);
    return st;
  }
  if (fresh) ep->series[ep->n_series++] = fresh;
  ep->rules[ep->n_rules++] = x; /* ids only grow (AUTOINCREMENT): the array stays sorted */
  as_table_insert(&a->by_id, as_hash_i64(x->id), x);
  a->total_rules++;
  if (rule_id) *rule_id = x->id;
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
  as_unlock(a);
  return st;
}

int ms_autoscaler_remove_rule(ms_autoscaler *a, int64_t rule_id) {
  static const char *const Q_DEL = "DELETE FROM autoscaler_rule WHERE id = ?1";
  static const char *const Q_DEL_CD = "DELETE FROM autoscaler_cooldown WHERE rule_id = ?1";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  int st = as_lock(a);
  if (st) return st;
  as_rule *x = find_rule(a, rule_id);
  if (!x) {
    as_unlock(a);
    return ms__fail(MS_ENOTFOUND, "autoscaler: no rule %lld", (long long)rule_id);
  }
  ms_store *s = a->store;
  if (!(st = ms__store_begin(s))) {
    sqlite3_stmt *q = ms__store_stmt(s, Q_DEL, &st);
    if (q) {
      sqlite3_bind_int64(q, 1, rule_id);
      st = as_step_done(s, q, "autoscaler: deleting the rule");
    }
    if (!st && (q = ms__store_stmt(s, Q_DEL_CD, &st))) {
      sqlite3_bind_int64(q, 1, rule_id);
      st = as_step_done(s, q, "autoscaler: deleting the rule's cooldown stamp");
    }
    if (!st) st = ms__store_commit(s);
    else ms__store_rollback(s);
  }
  if (st) {
    ms__errmsg_prefix("rule %lld", (long long)rule_id);
    as_unlock(a);
    return st;
  }
  as_endpoint *ep = x->ep;
  size_t i = 0;
  while (ep->rules[i] != x) i++;
  memmove(ep->rules + i, ep->rules + i + 1, (ep->n_rules - i - 1) * sizeof *ep->rules);
  ep->n_rules--;
  as_table_remove(&a->by_id, as_hash_i64(rule_id), x);
  a->total_rules--;
  free(x); /* its series stays: observations of the metric remain useful */
  as_unlock(a);
  return MS_OK;
}

int ms_autoscaler_set_rule_enabled(ms_autoscaler *a, int64_t rule_id, int enabled) {
  static const char *const Q_UPD = "UPDATE autoscaler_rule SET enabled = ?1 WHERE id = ?2";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  enabled = enabled != 0;
  int st = as_lock(a);
  if (st) return st;
  as_rule *x = find_rule(a, rule_id);
  if (!x) {
    as_unlock(a);
    return ms__fail(MS_ENOTFOUND, "autoscaler: no rule %lld", (long long)rule_id);
  }
  if (x->enabled == enabled) {
    as_unlock(a);
    return MS_OK;
  }
  if (enabled && (st = as_check_conflicts(x->ep, x->series->source, x->series->metric, x->agg, x->cmp,
                                          x->threshold, x->step, x->id))) {
    as_unlock(a);
    return st;
  }
  ms_store *s = a->store;
  if (!(st = ms__store_begin(s))) {
    sqlite3_stmt *q = ms__store_stmt(s, Q_UPD, &st);
    if (q) {
      sqlite3_bind_int(q, 1, enabled);
      sqlite3_bind_int64(q, 2, rule_id);
      st = as_step_done(s, q, "autoscaler: updating the rule");
    }
    if (!st) st = ms__store_commit(s);
    else ms__store_rollback(s);
  }
  if (st) ms__errmsg_prefix("rule %lld", (long long)rule_id);
  else x->enabled = enabled;
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
    for (size_t i = 0; i < ep->n_rules && i < cap; i++) ids[i] = ep->rules[i]->id;
    *count = ep->n_rules;
  }
  as_unlock(a);
  return st;
}

int ms_autoscaler_get_rule(ms_autoscaler *a, int64_t rule_id, ms_rule **out) {
  if (!a || !out) return ms__fail(MS_EINVAL, "autoscaler: NULL argument");
  int st = as_lock(a);
  if (st) return st;
  as_rule *x = find_rule(a, rule_id);
  if (!x) {
    as_unlock(a);
    return ms__fail(MS_ENOTFOUND, "autoscaler: no rule %lld", (long long)rule_id);
  }
  ms_rule *r = calloc(1, sizeof *r);
  if (r) {
    r->source = ms__strdup(x->series->source);
    r->metric = ms__strdup(x->series->metric);
    r->endpoint = ms__strdup(x->ep->name);
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
  r->cooldown = x->cooldown;
  r->min = x->min;
  r->max = x->max;
  r->enabled = x->enabled;
  r->is_snapshot = 1;
  r->id = x->id;
  r->has_applied = x->has_applied;
  r->last_applied = x->last_applied;
  as_unlock(a);
  *out = r;
  return MS_OK;
}
