/* mserve-server: the autoscale feed (see autoscale.h). */
#include "autoscale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli_num.h"
#include "../mserve-autoscale/rules.h"
#include "models.h"
#include "workers.h"

int scale_setup(srv *s, char *err, size_t errlen) {
  int st = ms_autoscaler_open(s->store, &s->as);
  if (st) {
    snprintf(err, errlen, "%s", ms_errmsg());
    return st;
  }
  /* observations are a second apart: three missed ones make a metric missing */
  ms_autoscaler_set_metric_ttl(s->as, 3 * 1000000);
  if (s->o.rules) {
    as_rules *r = calloc(1, sizeof *r);
    if (!r) {
      snprintf(err, errlen, "out of memory");
      return MS_ENOMEM;
    }
    if (as_rules_load(s->o.rules, r, err, errlen)) {
      free(r);
      return MS_ECORRUPT;
    }
    s->rules = r;
  }
  return MS_OK;
}

void scale_close(srv *s) {
  if (s->rules) {
    as_rules_free(s->rules);
    free(s->rules);
    s->rules = NULL;
  }
  ms_autoscaler_close(s->as);
  s->as = NULL;
}

/* The rules file's entry for m: "NAME/VERSION" first, then "NAME". */
static const as_endpoint *file_entry(srv *s, const srv_model *m) {
  if (!s->rules) return NULL;
  for (size_t i = 0; i < s->rules->n_eps; i++)
    if (strcmp(s->rules->eps[i].name, m->key) == 0) return &s->rules->eps[i];
  for (size_t i = 0; i < s->rules->n_eps; i++)
    if (strcmp(s->rules->eps[i].name, m->name) == 0) return &s->rules->eps[i];
  return NULL;
}

static int add_rule(srv *s, const srv_model *m, const char *metric, ms_comparator cmp, double threshold,
                    int64_t step, double cooldown_s, int64_t lo, int64_t hi, ms_aggregation agg, int enabled,
                    const char *source) {
  ms_rule *r = NULL;
  int64_t cd = 0;
  cli_num_seconds_to_us(cooldown_s, &cd);
  int st = ms_rule_new(&r);
  if (!st) st = ms_rule_set_metric(r, source, metric);
  if (!st) st = ms_rule_set_trigger(r, cmp, threshold);
  if (!st) st = ms_rule_set_step(r, step);
  if (!st) st = ms_rule_set_cooldown(r, cd);
  if (!st) st = ms_rule_set_bounds(r, lo, hi);
  if (!st) st = ms_rule_set_aggregation(r, agg);
  if (!st) st = ms_rule_set_enabled(r, enabled);
  if (!st) st = ms_autoscaler_add_rule(s->as, m->key, r, NULL);
  if (st) srv_log(MS_LOG_WARN, "model '%s' version '%s': autoscale rule on %s/%s not added: %s", m->name,
                  m->version, source, metric, ms_errmsg());
  ms_rule_free(r);
  return st;
}

/* Replace the endpoint's rules with the file's or the settings' ones. */
static void set_rules(srv *s, srv_model *m) {
  ms_rule_list *l = NULL;
  if (ms_autoscaler_list_rules(s->as, m->key, &l) == MS_OK) {
    for (size_t i = 0; i < ms_rule_list_count(l); i++) {
      const ms_rule *r = NULL;
      int64_t id = 0;
      if (ms_rule_list_get(l, i, &r) == MS_OK && ms_rule_get_state(r, &id, NULL, NULL, NULL) == MS_OK)
        ms_autoscaler_remove_rule(s->as, id);
    }
    ms_rule_list_free(l);
  }
  const as_endpoint *e = file_entry(s, m);
  if (e) {
    for (size_t j = 0; j < e->n_rules; j++) {
      const as_rule *u = &e->rules[j];
      add_rule(s, m, u->metric, (ms_comparator)u->cmp, u->threshold, u->step, u->cooldown_s, u->min, u->max,
               (ms_aggregation)u->agg, u->enabled, u->source);
    }
    return;
  }
  if (m->max_workers <= m->min_workers) return;
  add_rule(s, m, "queue_length", MS_CMP_GT, (double)m->batch_size, 1, 5, m->min_workers, m->max_workers,
           MS_AGG_MEAN, 1, "server");
  add_rule(s, m, "busy", MS_CMP_LT, 0.2, -1, 30, m->min_workers, m->max_workers, MS_AGG_MEAN, 1, "server");
}

static int64_t clamp(const srv_model *m, int64_t n) {
  if (n > m->max_workers) n = m->max_workers;
  if (n < m->min_workers) n = m->min_workers;
  return n < 0 ? 0 : n;
}

int64_t scale_model_added(srv *s, srv_model *m) {
  int64_t n = m->min_workers;
  if (ms_autoscaler_get_replicas(s->as, m->key, &n) != MS_OK) n = m->min_workers;
  n = clamp(m, n);
  if (ms_autoscaler_set_replicas(s->as, m->key, n) != MS_OK)
    srv_log(MS_LOG_WARN, "model '%s' version '%s': autoscaler: %s", m->name, m->version, ms_errmsg());
  set_rules(s, m);
  return n;
}

void scale_model_changed(srv *s, srv_model *m) {
  set_rules(s, m);
  int64_t n = clamp(m, m->desired);
  if (ms_autoscaler_set_replicas(s->as, m->key, n) != MS_OK)
    srv_log(MS_LOG_WARN, "model '%s' version '%s': autoscaler: %s", m->name, m->version, ms_errmsg());
  m->desired = n;
}

void scale_model_removed(srv *s, srv_model *m, int forget) {
  if (forget) ms_autoscaler_remove_endpoint(s->as, m->key);
}

void scale_tick(srv *s, int64_t now) {
  static int64_t last = 0;
  int64_t elapsed = last ? now - last : 1000000;
  if (elapsed <= 0) elapsed = 1;
  last = now;
  int64_t wall = ms_clock_realtime_us();
  for (size_t i = 0; i < s->n_models; i++) {
    srv_model *m = s->models[i];
    if (m->retired) continue;
    int64_t q = 0, oldest = 0;
    ms_batcher_stats(m->b, now, &q, NULL, &oldest);
    ms_autoscaler_observe(s->as, m->key, "server", "queue_length", NULL, (double)q, wall);
    for (size_t k = 0; k < m->n_workers; k++) {
      srv_worker *w = m->workers[k];
      if (w->retiring || w->state == W_STARTING) continue;
      int64_t total = w->busy_us + (w->state == W_BUSY ? now - w->given_us : 0);
      double share = (double)(total - w->busy_mark) / (double)elapsed;
      w->busy_mark = total;
      if (share > 1) share = 1;
      if (share < 0) share = 0;
      char rep[32];
      snprintf(rep, sizeof rep, "w%lld", (long long)w->id);
      ms_autoscaler_observe(s->as, m->key, "server", "busy", rep, share, wall);
      ms_autoscaler_observe(s->as, m->key, "server", "oldest_wait_ms", rep, (double)oldest / 1000.0, wall);
    }
  }
  ms_decisions *d = NULL;
  if (ms_autoscaler_evaluate(s->as, wall, 0, &d) != MS_OK) {
    srv_log(MS_LOG_WARN, "autoscaler: evaluate: %s", ms_errmsg());
    return;
  }
  for (size_t i = 0; i < s->n_models; i++) {
    srv_model *m = s->models[i];
    size_t at = 0;
    if (m->retired || ms_decisions_find(d, m->key, &at) != MS_OK) continue;
    int64_t from = 0, to = 0;
    ms_decisions_get(d, at, NULL, NULL, &from, &to, NULL);
    if (ms_decisions_rule_count(d, at) > 0) {
      size_t need = 0;
      ms_decisions_explain(d, at, m->decision, sizeof m->decision, &need);
      m->decision_at_us = wall;
    }
    if (to != m->desired) {
      int64_t n = clamp(m, to);
      models_scale(s, m, n, m->decision);
      if (n != to) ms_autoscaler_set_replicas(s->as, m->key, n);
    }
  }
  ms_decisions_free(d);
}
