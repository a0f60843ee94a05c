/* The engine's lifetime, its object helpers and its endpoints (loading the
 * persisted state is in load.c). */
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

size_t as_find_series(const as_endpoint *ep, const char *source, const char *metric, uint64_t h) {
  for (size_t i = 0; i < ep->n_series; i++) {
    const as_series_cold *c = &ep->series_cold[i];
    if (c->hash == h && strcmp(c->source, source) == 0 && strcmp(c->metric, metric) == 0) return i;
  }
  return ep->n_series;
}

int as_ep_add_series(as_endpoint *ep, const char *source, const char *metric, size_t *index) {
  char *src = ms__strdup(source), *met = ms__strdup(metric);
  if (!src || !met) {
    free(src);
    free(met);
    return MS_ENOMEM;
  }
  size_t i = ep->n_series++;
  memset(&ep->series[i], 0, sizeof ep->series[i]);
  ep->series[i].cached = 1; /* no slots: nothing to aggregate */
  ep->series_cold[i] = (as_series_cold){.source = src, .metric = met, .hash = as_hash_pair(source, metric)};
  if (index) *index = i;
  return MS_OK;
}

static void series_cold_free(as_series_cold *c) {
  for (uint32_t i = 0; i < c->n_slots; i++) free(c->slots[i].replica);
  free(c->slots);
  free(c->source);
  free(c->metric);
  ms__autoscaler_conflicts_free(c->cf);
}

void as_ep_free(ms_autoscaler *a, as_endpoint *ep) {
  if (!ep) return;
  for (size_t i = 0; i < ep->n_series; i++) series_cold_free(&ep->series_cold[i]);
  if (!ep->seg) {
    free(ep->rules);
    free(ep->series);
  }
  ms__autoscaler_arena_forget(a, ep);
  if (ep->name != ep->name_buf) free(ep->name);
  free(ep->rules_cold);
  free(ep->series_cold);
  as_pool_free(&a->ep_pool, ep);
}

as_endpoint *as_ep_new(ms_autoscaler *a, const char *name, int64_t id, int64_t replicas) {
  as_endpoint *ep = as_pool_alloc(&a->ep_pool);
  if (!ep) return NULL;
  ep->name_len = strlen(name);
  ep->name = ep->name_len < sizeof ep->name_buf ? memcpy(ep->name_buf, name, ep->name_len + 1) : ms__strdup(name);
  if (!ep->name) {
    as_pool_free(&a->ep_pool, ep);
    return NULL;
  }
  ep->hot_name = ep->name;
  ep->hash = as_hash_str(name);
  ep->id = id;
  ep->replicas = replicas;
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

/* Grow two parallel arrays together, so they never disagree on capacity. */
static int grow2(void **x, size_t xsize, void **y, size_t ysize, size_t *cap, size_t need) {
  if (need <= *cap) return MS_OK;
  size_t c = *cap ? *cap * 2 : 4;
  while (c < need) c *= 2;
  void *px = realloc(*x, c * xsize);
  if (!px) return ms__fail(MS_ENOMEM, "autoscaler: out of memory growing an array to %zu", c);
  *x = px;
  void *py = realloc(*y, c * ysize);
  if (!py) return ms__fail(MS_ENOMEM, "autoscaler: out of memory growing an array to %zu", c);
  *y = py;
  *cap = c;
  return MS_OK;
}

int as_ep_reserve(ms_autoscaler *a, as_endpoint *ep, size_t rules, size_t series) {
  int st = MS_OK;
  if (ep->seg && (rules || series) && (st = ms__autoscaler_arena_leave(a, ep))) return st;
  st = grow2((void **)&ep->rules, sizeof *ep->rules, (void **)&ep->rules_cold, sizeof *ep->rules_cold,
             &ep->cap_rules, ep->n_rules + rules);
  if (!st)
    st = grow2((void **)&ep->series, sizeof *ep->series, (void **)&ep->series_cold, sizeof *ep->series_cold,
               &ep->cap_series, ep->n_series + series);
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

void as_attach_endpoint(ms_autoscaler *a, as_endpoint *ep) {
  ms__autoscaler_arena_attach(a, ep); /* its data is not in the arena yet */
  a->eps[a->n_eps++] = ep;
  as_table_insert(&a->by_name, ep->hash, ep);
  a->total_name_bytes += ep->name_len + 1;
}

void ms_autoscaler_close(ms_autoscaler *a) {
  if (!a) return;
  a->closing = 1;
  for (size_t i = 0; i < a->n_eps; i++) as_ep_free(a, a->eps[i]);
  free(a->eps);
  as_table_free(&a->by_name);
  as_table_free(&a->by_id);
  as_pool_destroy(&a->ep_pool);
  free(a->changes);
  free(a->buf);
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
  /* 256 endpoints a chunk: large enough to stream, small enough for a
   * handful of endpoints. */
  as_pool_init(&a->ep_pool, sizeof(as_endpoint), 256);
  int st = as_load(a);
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

int as_reserve_buf(ms_autoscaler *a, size_t bytes) {
  if (bytes <= a->buf_cap) return MS_OK;
  size_t cap = a->buf_cap ? a->buf_cap : 256;
  while (cap < bytes) cap *= 2;
  unsigned char *p = realloc(a->buf, cap);
  if (!p) return ms__fail(MS_ENOMEM, "autoscaler: out of memory for a %zu-byte buffer", cap);
  a->buf = p;
  a->buf_cap = cap;
  return MS_OK;
}

/* Run one prepared write statement to completion inside a transaction. */
int as_step_done(ms_store *s, sqlite3_stmt *q, const char *what) {
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
  return rc == SQLITE_DONE ? MS_OK : ms__store_error(s, rc, what);
}

/* Run `q` with (a, b) bound as ?1 and ?2. */
static int step2(ms_store *s, sqlite3_stmt *q, int64_t x, int64_t y, const char *what) {
  sqlite3_bind_int64(q, 1, x);
  sqlite3_bind_int64(q, 2, y);
  return as_step_done(s, q, what);
}

static int set_replicas_locked(ms_autoscaler *a, const char *endpoint, int64_t replicas) {
  static const char *const Q_UPD = "UPDATE autoscaler_state SET replicas = ?2 WHERE endpoint_id = ?1";
  static const char *const Q_INS = "INSERT INTO autoscaler_endpoint(name) VALUES (?1)";
  static const char *const Q_INS_STATE = "INSERT INTO autoscaler_state(endpoint_id, replicas) VALUES (?1, ?2)";
  ms_store *s = a->store;
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (ep && ep->replicas == replicas) return MS_OK;
  as_endpoint *fresh = NULL;
  int st;
  if (!ep) {
    if ((st = as_reserve_endpoints(a, 1))) return st;
    if (!(fresh = as_ep_new(a, endpoint, 0, replicas))) return MS_ENOMEM;
  }
  if ((st = ms__store_begin(s))) {
    as_ep_free(a, fresh);
    return st;
  }
  sqlite3_stmt *q;
  if (ep) {
    if ((q = ms__store_stmt(s, Q_UPD, &st))) st = step2(s, q, ep->id, replicas, "autoscaler: writing the endpoint");
  } else if ((q = ms__store_stmt(s, Q_INS, &st))) {
    sqlite3_bind_text(q, 1, endpoint, -1, SQLITE_STATIC);
    st = as_step_done(s, q, "autoscaler: creating the endpoint");
    if (!st) fresh->id = sqlite3_last_insert_rowid(s->db);
    if (!st && (q = ms__store_stmt(s, Q_INS_STATE, &st)))
      st = step2(s, q, fresh->id, replicas, "autoscaler: creating the endpoint's state");
  }
  if (!st) st = ms__store_commit(s);
  else ms__store_rollback(s);
  if (st) {
    as_ep_free(a, fresh);
    ms__errmsg_prefix("endpoint '%s'", endpoint);
    return st;
  }
  if (ep) ep->replicas = replicas;
  else as_attach_endpoint(a, fresh);
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
  ms__autoscaler_arena_maintain(a);
  as_unlock(a);
  return st;
}

int ms_autoscaler_get_replicas(ms_autoscaler *a, const char *endpoint, int64_t *replicas) {
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
  /* cascades to the state row; the rules and the history have no foreign key */
  static const char *const Q_DEL = "DELETE FROM autoscaler_endpoint WHERE id = ?1";
  static const char *const Q_DEL_RULE = "DELETE FROM autoscaler_rule WHERE id = ?1";
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
    st = as_history_delete(a, ep);
    sqlite3_stmt *q;
    for (size_t i = 0; !st && i < ep->n_rules; i++) {
      if (!(q = ms__store_stmt(s, Q_DEL_RULE, &st))) break;
      sqlite3_bind_int64(q, 1, ep->rules[i].id);
      st = as_step_done(s, q, "autoscaler: deleting the endpoint's rules");
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
  for (size_t i = 0; i < ep->n_rules; i++) as_table_remove(&a->by_id, as_hash_i64(ep->rules[i].id), ep);
  a->total_rules -= ep->n_rules;
  as_table_remove(&a->by_name, ep->hash, ep);
  a->total_name_bytes -= ep->name_len + 1;
  if (ep->hist_count > MS_AUTOSCALER_HISTORY_MAX) a->over_bound--;
  size_t at = as_ep_index(a, ep->id);
  memmove(a->eps + at, a->eps + at + 1, (a->n_eps - at - 1) * sizeof *a->eps);
  a->n_eps--;
  as_ep_free(a, ep);
  ms__autoscaler_arena_maintain(a);
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
