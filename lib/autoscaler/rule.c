/* The rule builder, its getters, validation and the conflict check. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/text.h"
#include "autoscaler_internal.h"

const char *as_cmp_symbol(int cmp) {
  switch (cmp) {
  case MS_CMP_LT: return "<";
  case MS_CMP_LE: return "<=";
  case MS_CMP_GT: return ">";
  case MS_CMP_GE: return ">=";
  default: return "?";
  }
}

const char *as_agg_name(int agg) {
  switch (agg) {
  case MS_AGG_MEAN: return "mean";
  case MS_AGG_MAX: return "max";
  case MS_AGG_MIN: return "min";
  default: return "?";
  }
}

int ms_rule_new(ms_rule **out) {
  if (!out) return ms__fail(MS_EINVAL, "rule: NULL output pointer");
  ms_rule *r = calloc(1, sizeof *r);
  if (!r) return ms__fail(MS_ENOMEM, "rule: out of memory");
  r->min = -1;
  r->max = -1;
  r->agg = MS_AGG_MEAN;
  r->enabled = 1;
  r->id = -1;
  *out = r;
  return MS_OK;
}

void ms_rule_free(ms_rule *r) {
  if (!r) return;
  free(r->source);
  free(r->metric);
  free(r->endpoint);
  free(r);
}

int ms_rule_set_metric(ms_rule *r, const char *source, const char *name) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (!source || !*source) return ms__fail(MS_EINVAL, "rule: empty metric source");
  if (!name || !*name) return ms__fail(MS_EINVAL, "rule: empty metric name (source '%s')", source);
  char *s = ms__strdup(source), *m = ms__strdup(name);
  if (!s || !m) {
    free(s);
    free(m);
    return MS_ENOMEM;
  }
  free(r->source);
  free(r->metric);
  r->source = s;
  r->metric = m;
  r->has_metric = 1;
  return MS_OK;
}

int ms_rule_set_trigger(ms_rule *r, ms_comparator cmp, double threshold) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if ((int)cmp < MS_CMP_LT || (int)cmp > MS_CMP_GE) return ms__fail(MS_EINVAL, "rule: unknown comparator %d", (int)cmp);
  if (!isfinite(threshold)) return ms__fail(MS_EINVAL, "rule: threshold must be a finite number");
  r->cmp = (int)cmp;
  r->threshold = threshold;
  r->has_trigger = 1;
  return MS_OK;
}

int ms_rule_set_step(ms_rule *r, int64_t step) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (step == 0) return ms__fail(MS_EINVAL, "rule: step 0 would never change the replica count");
  if (step == INT64_MIN) return ms__fail(MS_EINVAL, "rule: step out of range");
  r->step = step;
  r->has_step = 1;
  return MS_OK;
}

int ms_rule_set_cooldown(ms_rule *r, int64_t cooldown_us) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (cooldown_us < 0) return ms__fail(MS_EINVAL, "rule: negative cooldown %lld us", (long long)cooldown_us);
  r->cooldown = cooldown_us;
  return MS_OK;
}

int ms_rule_set_bounds(ms_rule *r, int64_t min_replicas, int64_t max_replicas) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (min_replicas < -1 || max_replicas < -1)
    return ms__fail(MS_EINVAL, "rule: bounds (%lld, %lld): use -1 for no bound, not another negative number",
                    (long long)min_replicas, (long long)max_replicas);
  if (min_replicas >= 0 && max_replicas >= 0 && min_replicas > max_replicas)
    return ms__fail(MS_EINVAL, "rule: min replicas %lld > max replicas %lld", (long long)min_replicas,
                    (long long)max_replicas);
  r->min = min_replicas;
  r->max = max_replicas;
  return MS_OK;
}

int ms_rule_set_aggregation(ms_rule *r, ms_aggregation agg) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if ((int)agg < MS_AGG_MEAN || (int)agg > MS_AGG_MIN) return ms__fail(MS_EINVAL, "rule: unknown aggregation %d", (int)agg);
  r->agg = (int)agg;
  return MS_OK;
}

int ms_rule_set_enabled(ms_rule *r, int enabled) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  r->enabled = enabled != 0;
  return MS_OK;
}

int ms_rule_get_metric(const ms_rule *r, const char **source, const char **name) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (!r->has_metric) return ms__fail(MS_ENOTFOUND, "rule: no metric set");
  if (source) *source = r->source;
  if (name) *name = r->metric;
  return MS_OK;
}

int ms_rule_get_trigger(const ms_rule *r, ms_comparator *cmp, double *threshold) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (!r->has_trigger) return ms__fail(MS_ENOTFOUND, "rule: no trigger set");
  if (cmp) *cmp = (ms_comparator)r->cmp;
  if (threshold) *threshold = r->threshold;
  return MS_OK;
}

int ms_rule_get_step(const ms_rule *r, int64_t *step) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (!r->has_step) return ms__fail(MS_ENOTFOUND, "rule: no step set");
  if (step) *step = r->step;
  return MS_OK;
}

int ms_rule_get_cooldown(const ms_rule *r, int64_t *cooldown_us) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (cooldown_us) *cooldown_us = r->cooldown;
  return MS_OK;
}

int ms_rule_get_bounds(const ms_rule *r, int64_t *min_replicas, int64_t *max_replicas) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (min_replicas) *min_replicas = r->min;
  if (max_replicas) *max_replicas = r->max;
  return MS_OK;
}

int ms_rule_get_aggregation(const ms_rule *r, ms_aggregation *agg) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (agg) *agg = (ms_aggregation)r->agg;
  return MS_OK;
}

int ms_rule_get_enabled(const ms_rule *r, int *enabled) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (enabled) *enabled = r->enabled;
  return MS_OK;
}

int ms_rule_get_state(const ms_rule *r, int64_t *rule_id, const char **endpoint, int *has_applied,
                      int64_t *last_applied_us) {
  if (!r) return ms__fail(MS_EINVAL, "rule: NULL rule");
  if (!r->is_snapshot) return ms__fail(MS_ENOTFOUND, "rule: a builder that was never added has no state");
  if (rule_id) *rule_id = r->id;
  if (endpoint) *endpoint = r->endpoint;
  if (has_applied) *has_applied = r->has_applied;
  if (last_applied_us) *last_applied_us = r->has_applied ? r->last_applied : 0;
  return MS_OK;
}

int as_rule_validate(const ms_rule *r, const char *what) {
  if (!r) return ms__fail(MS_EINVAL, "%s: NULL rule", what);
  if (!r->has_metric || !r->source || !*r->source || !r->metric || !*r->metric)
    return ms__fail(MS_EINVAL, "%s: rule has no metric (ms_rule_set_metric)", what);
  if (!r->has_trigger || !isfinite(r->threshold) || r->cmp < MS_CMP_LT || r->cmp > MS_CMP_GE)
    return ms__fail(MS_EINVAL, "%s: rule has no valid trigger (ms_rule_set_trigger)", what);
  if (!r->has_step || r->step == 0 || r->step == INT64_MIN)
    return ms__fail(MS_EINVAL, "%s: rule has no step, or step 0 (ms_rule_set_step)", what);
  if (r->cooldown < 0) return ms__fail(MS_EINVAL, "%s: negative cooldown", what);
  if (r->min < -1 || r->max < -1 || (r->min >= 0 && r->max >= 0 && r->min > r->max))
    return ms__fail(MS_EINVAL, "%s: invalid bounds (%lld, %lld)", what, (long long)r->min, (long long)r->max);
  if (r->agg < MS_AGG_MEAN || r->agg > MS_AGG_MIN) return ms__fail(MS_EINVAL, "%s: unknown aggregation", what);
  return MS_OK;
}

/* The set of values a trigger fires for, as an interval with open or closed
 * finite ends: LT/LE are (-inf, t) / (-inf, t], GT/GE are (t, inf) / [t, inf). */
typedef struct interval {
  int has_lo, has_hi;
  double lo, hi;
  int lo_closed, hi_closed;
} interval;

static interval trigger_set(int cmp, double t) {
  interval v = {0, 0, 0, 0, 0, 0};
  if (cmp == MS_CMP_LT || cmp == MS_CMP_LE) {
    v.has_hi = 1;
    v.hi = t;
    v.hi_closed = cmp == MS_CMP_LE;
  } else {
    v.has_lo = 1;
    v.lo = t;
    v.lo_closed = cmp == MS_CMP_GE;
  }
  return v;
}

/* Intersect; returns 0 when empty. */
static int intersect(interval a, interval b, interval *out) {
  interval r = a;
  if (b.has_lo) {
    if (!r.has_lo || b.lo > r.lo) {
      r.has_lo = 1;
      r.lo = b.lo;
      r.lo_closed = b.lo_closed;
    } else if (b.lo == r.lo) {
      r.lo_closed = r.lo_closed && b.lo_closed;
    }
  }
  if (b.has_hi) {
    if (!r.has_hi || b.hi < r.hi) {
      r.has_hi = 1;
      r.hi = b.hi;
      r.hi_closed = b.hi_closed;
    } else if (b.hi == r.hi) {
      r.hi_closed = r.hi_closed && b.hi_closed;
    }
  }
  if (r.has_lo && r.has_hi) {
    if (r.lo > r.hi) return 0;
    if (r.lo == r.hi && !(r.lo_closed && r.hi_closed)) return 0;
  }
  *out = r;
  return 1;
}

static void format_interval(interval v, char *buf, size_t cap) {
  char lo[48], hi[48];
  if (v.has_lo) snprintf(lo, sizeof lo, "%c%g", v.lo_closed ? '[' : '(', v.lo);
  else snprintf(lo, sizeof lo, "(-inf");
  if (v.has_hi) snprintf(hi, sizeof hi, "%g%c", v.hi, v.hi_closed ? ']' : ')');
  else snprintf(hi, sizeof hi, "inf)");
  snprintf(buf, cap, "%s, %s", lo, hi);
}

int as_check_conflicts(const as_endpoint *ep, const char *source, const char *metric, int agg, int cmp,
                       double threshold, int64_t step, int64_t self_id) {
  interval mine = trigger_set(cmp, threshold);
  for (size_t i = 0; i < ep->n_rules; i++) {
    const as_rule *o = &ep->rules[i];
    const as_series_cold *os = &ep->series_cold[o->series];
    if (o->id == self_id || !o->enabled || o->agg != agg) continue;
    if ((o->step > 0) == (step > 0)) continue; /* same direction never conflicts */
    if (strcmp(os->source, source) != 0 || strcmp(os->metric, metric) != 0) continue;
    interval both;
    if (!intersect(mine, trigger_set(o->cmp, o->threshold), &both)) continue;
    char range[112], self[48];
    format_interval(both, range, sizeof range);
    if (self_id >= 0) snprintf(self, sizeof self, "rule %lld", (long long)self_id);
    else snprintf(self, sizeof self, "the new rule");
    return ms__fail(MS_ECONFLICT,
                    "autoscaler: endpoint '%s': %s (%s/%s %s %s %g, step %+lld) conflicts with rule %lld "
                    "(%s %g, step %+lld): both fire for values in %s",
                    ep->name, self, source, metric, as_agg_name(agg), as_cmp_symbol(cmp), threshold, (long long)step,
                    (long long)o->id, as_cmp_symbol(o->cmp), o->threshold, (long long)o->step, range);
  }
  return MS_OK;
}
