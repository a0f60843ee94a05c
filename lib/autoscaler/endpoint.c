/* The model's operations: endpoints, their series and rules, with every
 * index kept in step (see endpoint.h for the contract). */
#include <stdlib.h>
#include <string.h>

#include "autoscaler/arena.h"
#include "autoscaler/conflict.h"
#include "autoscaler/deadline.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/rule.h"
#include "autoscaler/series.h"
#include "common/error.h"
#include "common/text.h"

/* ---- the model */

void ms__autoscaler_model_init(as_model *m) {
  memset(m, 0, sizeof *m);
  m->ttl_us = MS_SEC(60);
  /* 256 endpoints a chunk: large enough to stream, small enough for a
   * handful of endpoints. */
  ms__autoscaler_pool_init(&m->ep_pool, sizeof(as_endpoint), 256);
}

void ms__autoscaler_model_destroy(as_model *m) {
  m->closing = 1;
  for (size_t i = 0; i < m->n_eps; i++) ms__autoscaler_endpoint_free(m, m->eps[i]);
  free(m->eps);
  ms__autoscaler_table_free(&m->by_name);
  ms__autoscaler_table_free(&m->by_id);
  ms__autoscaler_pool_destroy(&m->ep_pool);
  ms__autoscaler_deadline_destroy(m);
}

void ms__autoscaler_model_set_ttl(as_model *m, int64_t ttl_us) {
  if (m->ttl_us == ttl_us) return;
  m->ttl_us = ttl_us;
  ms__autoscaler_deadline_invalidate(m);
}

/* ---- growing arrays */

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return MS_OK;
  size_t c = *cap ? *cap * 2 : 4;
  while (c < need) c *= 2;
  void *p = realloc(*arr, c * elem);
  if (!p) return ms__fail(MS_ENOMEM, "out of memory growing an array to %zu", c);
  *arr = p;
  *cap = c;
  return MS_OK;
}

/* Grow two parallel arrays together, so they never disagree on capacity. */
static int grow2(void **x, size_t xsize, void **y, size_t ysize, size_t *cap, size_t need) {
  if (need <= *cap) return MS_OK;
  size_t c = *cap ? *cap * 2 : 4;
  while (c < need) c *= 2;
  void *px = realloc(*x, c * xsize);
  if (!px) return ms__fail(MS_ENOMEM, "out of memory growing an array to %zu", c);
  *x = px;
  void *py = realloc(*y, c * ysize);
  if (!py) return ms__fail(MS_ENOMEM, "out of memory growing an array to %zu", c);
  *y = py;
  *cap = c;
  return MS_OK;
}

/* ---- endpoints */

static int ep_eq(const void *item, const void *key) {
  return strcmp(((const as_endpoint *)item)->name, (const char *)key) == 0;
}

as_endpoint *ms__autoscaler_endpoint_find(const as_model *m, const char *name) {
  return ms__autoscaler_table_find(&m->by_name, ms__autoscaler_hash_str(name), ep_eq, name);
}

size_t ms__autoscaler_endpoint_index(const as_model *m, int64_t id) {
  size_t lo = 0, hi = m->n_eps;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->eps[mid]->id < id) lo = mid + 1;
    else hi = mid;
  }
  return (lo < m->n_eps && m->eps[lo]->id == id) ? lo : m->n_eps;
}

int ms__autoscaler_model_reserve(as_model *m, size_t extra) {
  int st = grow((void **)&m->eps, &m->cap_eps, m->n_eps + extra, sizeof *m->eps);
  if (!st) st = ms__autoscaler_table_reserve(&m->by_name, extra);
  return st;
}

as_endpoint *ms__autoscaler_endpoint_new(as_model *m, const char *name, int64_t id, int64_t replicas) {
  as_endpoint *ep = ms__autoscaler_pool_alloc(&m->ep_pool);
  if (!ep) return NULL;
  ep->name_len = strlen(name);
  ep->name = ep->name_len < sizeof ep->name_buf ? memcpy(ep->name_buf, name, ep->name_len + 1) : ms__strdup(name);
  if (!ep->name) {
    ms__autoscaler_pool_free(&m->ep_pool, ep);
    return NULL;
  }
  ep->hot_name = ep->name;
  ep->hash = ms__autoscaler_hash_str(name);
  ep->id = id;
  ep->replicas = replicas;
  return ep;
}

static void series_cold_free(as_series_cold *c) {
  for (uint32_t i = 0; i < c->n_slots; i++) free(c->slots[i].replica);
  free(c->slots);
  free(c->source);
  free(c->metric);
  ms__autoscaler_conflicts_free(c->cf);
}

void ms__autoscaler_endpoint_free(as_model *m, as_endpoint *ep) {
  if (!ep) return;
  for (size_t i = 0; i < ep->n_series; i++) series_cold_free(&ep->series_cold[i]);
  if (!ep->seg) {
    free(ep->rules);
    free(ep->series);
  }
  ms__autoscaler_arena_forget(m, ep);
  if (ep->name != ep->name_buf) free(ep->name);
  free(ep->rules_cold);
  free(ep->series_cold);
  ms__autoscaler_pool_free(&m->ep_pool, ep);
}

void ms__autoscaler_model_attach(as_model *m, as_endpoint *ep) {
  ms__autoscaler_arena_attach(m, ep); /* its data is not in the arena yet */
  m->eps[m->n_eps++] = ep;
  ms__autoscaler_table_insert(&m->by_name, ep->hash, ep);
  m->total_name_bytes += ep->name_len + 1;
}

void ms__autoscaler_model_remove(as_model *m, as_endpoint *ep) {
  ms__autoscaler_deadline_endpoint_removing(m, ep);
  for (size_t i = 0; i < ep->n_rules; i++)
    ms__autoscaler_table_remove(&m->by_id, ms__autoscaler_hash_i64(ep->rules[i].id), ep);
  m->total_rules -= ep->n_rules;
  ms__autoscaler_table_remove(&m->by_name, ep->hash, ep);
  m->total_name_bytes -= ep->name_len + 1;
  size_t at = ms__autoscaler_endpoint_index(m, ep->id);
  memmove(m->eps + at, m->eps + at + 1, (m->n_eps - at - 1) * sizeof *m->eps);
  m->n_eps--;
  ms__autoscaler_endpoint_free(m, ep);
}

int ms__autoscaler_endpoint_reserve(as_model *m, as_endpoint *ep, size_t rules, size_t series) {
  int st = MS_OK;
  if (ep->seg && (rules || series) && (st = ms__autoscaler_arena_leave(m, ep))) return st;
  st = grow2((void **)&ep->rules, sizeof *ep->rules, (void **)&ep->rules_cold, sizeof *ep->rules_cold,
             &ep->cap_rules, ep->n_rules + rules);
  if (!st)
    st = grow2((void **)&ep->series, sizeof *ep->series, (void **)&ep->series_cold, sizeof *ep->series_cold,
               &ep->cap_series, ep->n_series + series);
  return st;
}

/* ---- series and observations */

/* Index of the (source, metric) series of ep (h: their hash_pair), or ep->n_series. */
static size_t series_find(const as_endpoint *ep, const char *source, const char *metric, uint64_t h) {
  for (size_t i = 0; i < ep->n_series; i++) {
    const as_series_cold *c = &ep->series_cold[i];
    if (c->hash == h && strcmp(c->source, source) == 0 && strcmp(c->metric, metric) == 0) return i;
  }
  return ep->n_series;
}

/* Append a series (capacity reserved); its names are copied first, so on
 * failure (MS_ENOMEM with message) nothing changed. */
static int add_series(as_endpoint *ep, const char *source, const char *metric, size_t *index) {
  char *src = ms__strdup(source), *met = ms__strdup(metric);
  if (!src || !met) {
    free(src);
    free(met);
    return ms__fail(MS_ENOMEM, "out of memory adding metric '%s/%s'", source, metric);
  }
  size_t i = ep->n_series++;
  memset(&ep->series[i], 0, sizeof ep->series[i]);
  ep->series[i].cached = 1; /* no slots: nothing to aggregate */
  ep->series_cold[i] = (as_series_cold){.source = src,
                                        .metric = met,
                                        .hash = ms__autoscaler_hash_pair(source, metric),
                                        .dl_pos = AS_NO_POS};
  *index = i;
  return MS_OK;
}

int ms__autoscaler_model_observe(as_model *m, as_endpoint *ep, const char *source, const char *metric,
                                 const char *replica, double value, int64_t now) {
  uint64_t h = ms__autoscaler_hash_pair(source, metric);
  size_t si = series_find(ep, source, metric, h);
  if (si == ep->n_series) {
    if (ep->n_series >= AS_MAX_SERIES)
      return ms__fail(MS_EFULL, "more than %d metrics observed", AS_MAX_SERIES);
    int st = ms__autoscaler_endpoint_reserve(m, ep, 0, 1);
    if (!st) st = add_series(ep, source, metric, &si);
    /* the endpoint may have left its segment; only once its series is in
     * place may it be packed again */
    ms__autoscaler_arena_maintain(m);
    if (st) return st;
  }
  int kept = 0;
  int st = ms__autoscaler_series_record(&ep->series[si], &ep->series_cold[si], replica, value, now, m->ttl_us, &kept);
  if (!st && kept) ms__autoscaler_deadline_observed(m, ep, si, now);
  return st;
}

/* ---- rules */

static int id_eq(const void *item, const void *key) {
  const as_endpoint *ep = item;
  return ms__autoscaler_rule_index(ep, *(const int64_t *)key) < ep->n_rules;
}

int ms__autoscaler_rule_find(const as_model *m, int64_t id, as_endpoint **ep, size_t *index) {
  as_endpoint *e = ms__autoscaler_table_find(&m->by_id, ms__autoscaler_hash_i64(id), id_eq, &id);
  if (!e) return 0;
  *ep = e;
  *index = ms__autoscaler_rule_index(e, id);
  return 1;
}

int ms__autoscaler_rule_admissible(const as_endpoint *ep, const ms_rule *r) {
  if (ep->n_rules >= AS_MAX_RULES)
    return ms__fail(MS_EFULL, "already has %d rules, the most an endpoint may have", AS_MAX_RULES);
  size_t series = series_find(ep, r->source, r->metric, ms__autoscaler_hash_pair(r->source, r->metric));
  int st;
  if (r->enabled &&
      (st = ms__autoscaler_conflicts_check(ep, series, r->agg, r->cmp, r->threshold, r->step, -1)))
    return st;
  if (series == ep->n_series && ep->n_series >= AS_MAX_SERIES)
    return ms__fail(MS_EFULL, "a rule on '%s/%s' would make more than %d metrics, the most an endpoint may have",
                    r->source, r->metric, AS_MAX_SERIES);
  return MS_OK;
}

int ms__autoscaler_rule_prepare(as_model *m, as_endpoint *ep, const char *source, const char *metric, int agg,
                                int cmp, int64_t step, int enabled, as_rule_slot *slot) {
  size_t series = series_find(ep, source, metric, ms__autoscaler_hash_pair(source, metric));
  int fresh = series == ep->n_series, st;
  if ((st = ms__autoscaler_endpoint_reserve(m, ep, 1, 1)) || (st = ms__autoscaler_table_reserve(&m->by_id, 1)))
    return st;
  if (fresh && (st = add_series(ep, source, metric, &series))) return st;
  *slot = (as_rule_slot){series, fresh};
  if (enabled && (st = ms__autoscaler_conflicts_reserve(&ep->series_cold[series], agg, cmp, step))) {
    ms__autoscaler_rule_unprepare(ep, slot);
    return st;
  }
  return MS_OK;
}

void ms__autoscaler_rule_unprepare(as_endpoint *ep, const as_rule_slot *slot) {
  if (!slot->fresh_series) return;
  /* the series created for the rule is the last one, and has nothing else */
  as_series_cold *c = &ep->series_cold[--ep->n_series];
  free(c->source);
  free(c->metric);
  ms__autoscaler_conflicts_free(c->cf);
}

void ms__autoscaler_rule_attach(as_model *m, as_endpoint *ep, const as_rule_slot *slot, as_rule hot,
                                int64_t cooldown) {
  size_t i = ep->n_rules++; /* ids only grow: appending keeps the array sorted */
  hot.series = (uint32_t)slot->series;
  hot.ready_at = INT64_MIN;
  hot.has_applied = 0;
  hot.enabled = hot.enabled != 0;
  ep->rules[i] = hot;
  ep->rules_cold[i] = (as_rule_cold){.cooldown = cooldown, .last_applied = 0, .dl_pos = AS_NO_POS};
  if (hot.enabled) ms__autoscaler_conflicts_insert(ep, i);
  ms__autoscaler_table_insert(&m->by_id, ms__autoscaler_hash_i64(hot.id), ep);
  m->total_rules++;
  ep->series_cold[slot->series].n_rules++;
  ms__autoscaler_deadline_watched(m, ep, slot->series);
}

void ms__autoscaler_rule_detach(as_model *m, as_endpoint *ep, size_t i) {
  int64_t id = ep->rules[i].id;
  if (ep->rules[i].enabled) ms__autoscaler_conflicts_remove(ep, i);
  ms__autoscaler_deadline_rule_removing(m, ep, i);
  ep->series_cold[ep->rules[i].series].n_rules--;
  size_t after = ep->n_rules - i - 1;
  memmove(ep->rules + i, ep->rules + i + 1, after * sizeof *ep->rules);
  memmove(ep->rules_cold + i, ep->rules_cold + i + 1, after * sizeof *ep->rules_cold);
  ep->n_rules--;
  ms__autoscaler_table_remove(&m->by_id, ms__autoscaler_hash_i64(id), ep);
  m->total_rules--;
  /* its series stays: observations of the metric remain useful */
}

int ms__autoscaler_rule_prepare_enable(as_endpoint *ep, size_t i) {
  const as_rule *x = &ep->rules[i];
  int st = ms__autoscaler_conflicts_check(ep, x->series, x->agg, x->cmp, x->threshold, x->step, x->id);
  if (!st) st = ms__autoscaler_conflicts_reserve(&ep->series_cold[x->series], x->agg, x->cmp, x->step);
  return st;
}

void ms__autoscaler_rule_set_enabled(as_model *m, as_endpoint *ep, size_t i, int enabled) {
  as_rule *x = &ep->rules[i];
  if ((x->enabled != 0) == (enabled != 0)) return;
  if (!enabled) ms__autoscaler_conflicts_remove(ep, i);
  x->enabled = (unsigned char)(enabled != 0);
  if (enabled) {
    ms__autoscaler_conflicts_insert(ep, i);
    ms__autoscaler_deadline_rule_changed(m, ep, i);
  }
}

static int64_t sat_add(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}

void ms__autoscaler_rule_stamp(as_model *m, as_endpoint *ep, size_t i, int64_t at) {
  as_rule *r = &ep->rules[i];
  r->has_applied = 1;
  ep->rules_cold[i].last_applied = at;
  /* saturated at INT64_MAX; the evaluation settles that one instant exactly */
  r->ready_at = sat_add(at, ep->rules_cold[i].cooldown);
  ms__autoscaler_deadline_rule_changed(m, ep, i);
}
