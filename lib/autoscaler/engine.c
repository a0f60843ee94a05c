/* The engine's lifetime, its endpoints, and loading the persisted state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/text.h"
#include "autoscaler_internal.h"

int as_lock(ms_autoscaler *a) {
  int e = pthread_mutex_lock(&a->mu);
  if (e) return ms__fail(MS_EINTERNAL, "autoscaler: mutex error %d", e);
  return MS_OK;
}

void as_unlock(ms_autoscaler *a) { pthread_mutex_unlock(&a->mu); }

int as_check_name(const char *what, const char *s) {
  if (!s) return ms__fail(MS_EINVAL, "autoscaler: NULL %s", what);
  if (!*s) return ms__fail(MS_EINVAL, "autoscaler: empty %s", what);
  return MS_OK;
}

static int ep_eq(const void *item, const void *key) {
  return strcmp(((const as_endpoint *)item)->name, (const char *)key) == 0;
}

as_endpoint *as_find_endpoint(const ms_autoscaler *a, const char *name) {
  return as_table_find(&a->by_name, as_hash_str(name), ep_eq, name);
}

as_series *as_find_series(const as_endpoint *ep, const char *source, const char *metric, uint64_t h) {
  for (size_t i = 0; i < ep->n_series; i++) {
    as_series *s = ep->series[i];
    if (s->hash == h && strcmp(s->source, source) == 0 && strcmp(s->metric, metric) == 0) return s;
  }
  return NULL;
}

as_series *as_series_new(const char *source, const char *metric) {
  as_series *s = calloc(1, sizeof *s);
  if (!s) {
    ms__fail(MS_ENOMEM, "autoscaler: out of memory");
    return NULL;
  }
  s->source = ms__strdup(source);
  s->metric = ms__strdup(metric);
  if (!s->source || !s->metric) {
    as_series_free(s);
    return NULL;
  }
  s->hash = as_hash_pair(source, metric);
  return s;
}

void as_series_free(as_series *s) {
  if (!s) return;
  for (uint32_t i = 0; i < s->n_slots; i++) free(s->slots[i].replica);
  free(s->slots);
  free(s->source);
  free(s->metric);
  free(s);
}

static void ep_free(as_endpoint *ep) {
  if (!ep) return;
  for (size_t i = 0; i < ep->n_rules; i++) free(ep->rules[i]);
  for (size_t i = 0; i < ep->n_series; i++) as_series_free(ep->series[i]);
  free(ep->rules);
  free(ep->series);
  free(ep->name);
  free(ep);
}

static as_endpoint *ep_new(const char *name, int64_t id, int64_t replicas, int64_t seq) {
  as_endpoint *ep = calloc(1, sizeof *ep);
  if (!ep) {
    ms__fail(MS_ENOMEM, "autoscaler: out of memory");
    return NULL;
  }
  ep->name = ms__strdup(name);
  if (!ep->name) {
    free(ep);
    return NULL;
  }
  ep->name_len = strlen(name);
  ep->hash = as_hash_str(name);
  ep->id = id;
  ep->replicas = replicas;
  ep->history_seq = seq;
  return ep;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return MS_OK;
  size_t c = *cap ? *cap * 2 : 4;
  while (c < need) c *= 2;
  void *p = realloc(*arr, c * elem);
  if (!p) return ms__fail(MS_ENOMEM, "autoscaler: out of memory growing an array to %zu", c);
  *arr = p;
  *cap = c;
  return MS_OK;
}

int as_reserve_endpoints(ms_autoscaler *a, size_t extra) {
  int st = grow((void **)&a->eps, &a->cap_eps, a->n_eps + extra, sizeof *a->eps);
  if (!st) st = as_table_reserve(&a->by_name, extra);
  return st;
}

int as_ep_reserve(as_endpoint *ep, size_t rules, size_t series) {
  int st = grow((void **)&ep->rules, &ep->cap_rules, ep->n_rules + rules, sizeof *ep->rules);
  if (!st) st = grow((void **)&ep->series, &ep->cap_series, ep->n_series + series, sizeof *ep->series);
  return st;
}

/* Index of the endpoint with `id` in a->eps (sorted by id), or n_eps. */
size_t as_ep_index(const ms_autoscaler *a, int64_t id) {
  size_t lo = 0, hi = a->n_eps;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a->eps[mid]->id < id) lo = mid + 1;
    else hi = mid;
  }
  return (lo < a->n_eps && a->eps[lo]->id == id) ? lo : a->n_eps;
}

/* Attach an endpoint (capacity reserved). */
static void attach_endpoint(ms_autoscaler *a, as_endpoint *ep) {
  a->eps[a->n_eps++] = ep;
  as_table_insert(&a->by_name, ep->hash, ep);
  a->total_name_bytes += ep->name_len + 1;
}

static int load(ms_autoscaler *a) {
  static const char *const Q_EPS = "SELECT id, name, replicas, history_seq FROM autoscaler_endpoint ORDER BY id";
  static const char *const Q_RULES =
      "SELECT r.id, r.endpoint_id, r.source, r.metric, r.aggregation, r.comparator, r.threshold, r.step, "
      "r.cooldown_us, r.min_replicas, r.max_replicas, r.enabled, c.last_applied_us "
      "FROM autoscaler_rule r LEFT JOIN autoscaler_cooldown c ON c.rule_id = r.id ORDER BY r.id";
  ms_store *s = a->store;
  int st = ms__store_lock(s);
  if (st) return st;
  sqlite3_stmt *q = ms__store_stmt(s, Q_EPS, &st);
  int rc = SQLITE_ROW;
  while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(q, 1);
    int64_t id = sqlite3_column_int64(q, 0), reps = sqlite3_column_int64(q, 2);
    if (!name || !*name || reps < 0) {
      st = ms__fail(MS_ECORRUPT, "autoscaler: store '%s': endpoint row %lld is invalid", s->path, (long long)id);
      break;
    }
    as_endpoint *ep = NULL;
    if ((st = as_reserve_endpoints(a, 1)) || !(ep = ep_new(name, id, reps, sqlite3_column_int64(q, 3)))) {
      st = st ? st : MS_ENOMEM;
      break;
    }
    attach_endpoint(a, ep);
  }
  if (q) sqlite3_reset(q);
  if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "autoscaler: loading endpoints");
  if (!st) q = ms__store_stmt(s, Q_RULES, &st);
  rc = SQLITE_ROW;
  while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(q, 0);
    size_t at = as_ep_index(a, sqlite3_column_int64(q, 1));
    const char *src = (const char *)sqlite3_column_text(q, 2), *met = (const char *)sqlite3_column_text(q, 3);
    as_rule *r = calloc(1, sizeof *r);
    if (!r) {
      st = ms__fail(MS_ENOMEM, "autoscaler: out of memory loading rules");
      break;
    }
    r->id = id;
    r->agg = sqlite3_column_int(q, 4);
    r->cmp = sqlite3_column_int(q, 5);
    r->threshold = sqlite3_column_double(q, 6);
    r->step = sqlite3_column_int64(q, 7);
    r->cooldown = sqlite3_column_int64(q, 8);
    r->min = sqlite3_column_int64(q, 9);
    r->max = sqlite3_column_int64(q, 10);
    r->enabled = sqlite3_column_int(q, 11) != 0;
    r->has_applied = sqlite3_column_type(q, 12) != SQLITE_NULL;
    r->last_applied = r->has_applied ? sqlite3_column_int64(q, 12) : 0;
    if (at == a->n_eps || !src || !*src || !met || !*met || r->agg < 0 || r->agg > 2 || r->cmp < 0 || r->cmp > 3 ||
        !isfinite(r->threshold) || r->step == 0 || r->step == INT64_MIN || r->cooldown < 0 || r->min < -1 ||
        r->max < -1) {
      free(r);
      st = ms__fail(MS_ECORRUPT, "autoscaler: store '%s': rule row %lld is invalid", s->path, (long long)id);
      break;
    }
    as_endpoint *ep = a->eps[at];
    r->ep = ep;
    as_series *found = as_find_series(ep, src, met, as_hash_pair(src, met));
    r->series = found;
    if ((st = as_ep_reserve(ep, 1, 1)) || (st = as_table_reserve(&a->by_id, 1)) ||
        (!found && !(r->series = as_series_new(src, met)))) {
      free(r);
      st = st ? st : MS_ENOMEM;
      break;
    }
    if (!found) ep->series[ep->n_series++] = r->series;
    ep->rules[ep->n_rules++] = r;
    as_table_insert(&a->by_id, as_hash_i64(id), r);
    a->total_rules++;
  }
  if (q) sqlite3_reset(q);
  if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "autoscaler: loading rules");
  ms__store_unlock(s);
  return st;
}

void ms_autoscaler_close(ms_autoscaler *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n_eps; i++) ep_free(a->eps[i]);
  free(a->eps);
  as_table_free(&a->by_name);
  as_table_free(&a->by_id);
  free(a->blob);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

int ms_autoscaler_open(ms_store *store, ms_autoscaler **out) {
  if (!store || !out) return ms__fail(MS_EINVAL, "autoscaler: NULL store or output pointer");
  ms_autoscaler *a = calloc(1, sizeof *a);
  if (!a) return ms__fail(MS_ENOMEM, "autoscaler: out of memory");
  if (pthread_mutex_init(&a->mu, NULL)) {
    free(a);
    return ms__fail(MS_EINTERNAL, "autoscaler: cannot create its mutex");
  }
  a->store = store;
  a->ttl_us = MS_SEC(60);
  int st = load(a);
  if (st) {
    ms_autoscaler_close(a);
    return st;
  }
  *out = a;
  return MS_OK;
}

int ms_autoscaler_set_metric_ttl(ms_autoscaler *a, int64_t ttl_us) {
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  if (ttl_us <= 0) return ms__fail(MS_EINVAL, "autoscaler: metric TTL must be positive, got %lld us", (long long)ttl_us);
  int st = as_lock(a);
  if (st) return st;
  a->ttl_us = ttl_us;
  as_unlock(a);
  return MS_OK;
}

/* Run one prepared write statement to completion inside a transaction. */
int as_step_done(ms_store *s, sqlite3_stmt *q, const char *what) {
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return rc == SQLITE_DONE ? MS_OK : ms__store_error(s, rc, what);
}

static int set_replicas_locked(ms_autoscaler *a, const char *endpoint, int64_t replicas) {
  static const char *const Q_UPD = "UPDATE autoscaler_endpoint SET replicas = ?1 WHERE id = ?2";
  static const char *const Q_INS = "INSERT INTO autoscaler_endpoint(name, replicas) VALUES (?1, ?2)";
  ms_store *s = a->store;
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (ep && ep->replicas == replicas) return MS_OK;
  as_endpoint *fresh = NULL;
  int st;
  if (!ep) {
    if ((st = as_reserve_endpoints(a, 1))) return st;
    if (!(fresh = ep_new(endpoint, 0, replicas, 0))) return MS_ENOMEM;
  }
  if ((st = ms__store_begin(s))) {
    ep_free(fresh);
    return st;
  }
  sqlite3_stmt *q = ms__store_stmt(s, ep ? Q_UPD : Q_INS, &st);
  if (q) {
    if (ep) {
      sqlite3_bind_int64(q, 1, replicas);
      sqlite3_bind_int64(q, 2, ep->id);
    } else {
      sqlite3_bind_text(q, 1, endpoint, -1, SQLITE_STATIC);
      sqlite3_bind_int64(q, 2, replicas);
    }
    st = as_step_done(s, q, "autoscaler: writing the endpoint");
  }
  if (!st && fresh) fresh->id = sqlite3_last_insert_rowid(s->db);
  if (!st) st = ms__store_commit(s);
  else ms__store_rollback(s);
  if (st) {
    ep_free(fresh);
    ms__errmsg_prefix("endpoint '%s'", endpoint);
    return st;
  }
  if (ep) ep->replicas = replicas;
  else attach_endpoint(a, fresh);
  return MS_OK;
}

int ms_autoscaler_set_replicas(ms_autoscaler *a, const char *endpoint, int64_t replicas) {
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  int st = as_check_name("endpoint name", endpoint);
  if (st) return st;
  if (replicas < 0)
    return ms__fail(MS_EINVAL, "autoscaler: endpoint '%s': negative replica count %lld", endpoint, (long long)replicas);
  if ((st = as_lock(a))) return st;
  st = set_replicas_locked(a, endpoint, replicas);
  as_unlock(a);
  return st;
}

int ms_autoscaler_replicas(ms_autoscaler *a, const char *endpoint, int64_t *replicas) {
  if (!a || !replicas) return ms__fail(MS_EINVAL, "autoscaler: NULL argument");
  int st = as_check_name("endpoint name", endpoint);
  if (st || (st = as_lock(a))) return st;
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (ep) *replicas = ep->replicas;
  else st = ms__fail(MS_ENOTFOUND, "autoscaler: no endpoint '%s'", endpoint);
  as_unlock(a);
  return st;
}

int ms_autoscaler_remove_endpoint(ms_autoscaler *a, const char *endpoint) {
  static const char *const Q_DEL_CD =
      "DELETE FROM autoscaler_cooldown WHERE rule_id IN (SELECT id FROM autoscaler_rule WHERE endpoint_id = ?1)";
  static const char *const Q_DEL = "DELETE FROM autoscaler_endpoint WHERE id = ?1"; /* cascades to rules, history */
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  int st = as_check_name("endpoint name", endpoint);
  if (st || (st = as_lock(a))) return st;
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (!ep) {
    as_unlock(a);
    return ms__fail(MS_ENOTFOUND, "autoscaler: no endpoint '%s'", endpoint);
  }
  ms_store *s = a->store;
  if (!(st = ms__store_begin(s))) {
    sqlite3_stmt *q = ms__store_stmt(s, Q_DEL_CD, &st);
    if (q) {
      sqlite3_bind_int64(q, 1, ep->id);
      st = as_step_done(s, q, "autoscaler: deleting the endpoint's cooldown stamps");
    }
    if (!st && (q = ms__store_stmt(s, Q_DEL, &st))) {
      sqlite3_bind_int64(q, 1, ep->id);
      st = as_step_done(s, q, "autoscaler: deleting the endpoint");
    }
    if (!st) st = ms__store_commit(s);
    else ms__store_rollback(s);
  }
  if (st) {
    ms__errmsg_prefix("endpoint '%s'", endpoint);
    as_unlock(a);
    return st;
  }
  for (size_t i = 0; i < ep->n_rules; i++) as_table_remove(&a->by_id, as_hash_i64(ep->rules[i]->id), ep->rules[i]);
  a->total_rules -= ep->n_rules;
  as_table_remove(&a->by_name, ep->hash, ep);
  a->total_name_bytes -= ep->name_len + 1;
  size_t at = as_ep_index(a, ep->id);
  memmove(a->eps + at, a->eps + at + 1, (a->n_eps - at - 1) * sizeof *a->eps);
  a->n_eps--;
  ep_free(ep);
  as_unlock(a);
  return MS_OK;
}

int ms_autoscaler_endpoint_count(ms_autoscaler *a, size_t *count) {
  if (!a || !count) return ms__fail(MS_EINVAL, "autoscaler: NULL argument");
  int st = as_lock(a);
  if (st) return st;
  *count = a->n_eps;
  as_unlock(a);
  return MS_OK;
}

int ms_autoscaler_endpoint_name(ms_autoscaler *a, size_t i, char *buf, size_t buf_len) {
  if (!a || !buf) return ms__fail(MS_EINVAL, "autoscaler: NULL argument");
  int st = as_lock(a);
  if (st) return st;
  if (i >= a->n_eps) {
    st = ms__fail(MS_ENOTFOUND, "autoscaler: no endpoint at index %zu (there are %zu)", i, a->n_eps);
  } else if (a->eps[i]->name_len + 1 > buf_len) {
    st = ms__fail(MS_EINVAL, "autoscaler: endpoint name at index %zu needs a %zu-byte buffer, got %zu", i,
                  a->eps[i]->name_len + 1, buf_len);
  } else {
    memcpy(buf, a->eps[i]->name, a->eps[i]->name_len + 1);
  }
  as_unlock(a);
  return st;
}
