/* The rule builder, its getters and validation (conflicts: conflict.c).
 * Messages: "autoscaler: <call>: <cause>". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/rule.h"
#include "common/error.h"
#include "common/text.h"

const char *ms__autoscaler_cmp_symbol(int cmp) {
  switch (cmp) {
  case MS_CMP_LT: return "<";
  case MS_CMP_LE: return "<=";
  case MS_CMP_GT: return ">";
  case MS_CMP_GE: return ">=";
  default: return "?";
  }
}

const char *ms__autoscaler_agg_name(int agg) {
  switch (agg) {
  case MS_AGG_MEAN: return "mean";
  case MS_AGG_MAX: return "max";
  case MS_AGG_MIN: return "min";
  default: return "?";
  }
}

int ms_rule_new(ms_rule **out) {
  if (!out) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_new: NULL output pointer");
  ms_rule *r = calloc(1, sizeof *r);
  if (!r) return ms__fail(MS_ENOMEM, "autoscaler: ms_rule_new: out of memory");
  r->min = -1;
  r->max = -1;
  r->agg = MS_AGG_MEAN;
  r->enabled = 1;
  r->id = -1;
  *out = r;
  return MS_OK;
}

void ms_rule_free(ms_rule *r) {
  if (!r || r->borrowed) return;
  free(r->source);
  free(r->metric);
  free(r->endpoint);
  free(r);
}

int ms_rule_set_metric(ms_rule *r, const char *source, const char *name) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_metric: NULL rule");
  if (!source || !*source) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_metric: empty metric source");
  if (!name || !*name)
    return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_metric: empty metric name (source '%s')", source);
  char *s = ms__strdup(source), *m = ms__strdup(name);
  if (!s || !m) {
    free(s);
    free(m);
    return ms__fail(MS_ENOMEM, "autoscaler: ms_rule_set_metric: out of memory");
  }
  free(r->source);
  free(r->metric);
  r->source = s;
  r->metric = m;
  r->has_metric = 1;
  return MS_OK;
}

int ms_rule_set_trigger(ms_rule *r, ms_comparator cmp, double threshold) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_trigger: NULL rule");
  if ((int)cmp < MS_CMP_LT || (int)cmp > MS_CMP_GE)
    return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_trigger: unknown comparator %d", (int)cmp);
  if (!isfinite(threshold))
    return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_trigger: threshold must be a finite number");
  r->cmp = (int)cmp;
  r->threshold = threshold;
  r->has_trigger = 1;
  return MS_OK;
}

int ms_rule_set_step(ms_rule *r, int64_t step) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_step: NULL rule");
  if (step == 0)
    return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_step: step 0 would never change the replica count");
  if (step == INT64_MIN) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_step: step out of range");
  r->step = step;
  r->has_step = 1;
  return MS_OK;
}

int ms_rule_set_cooldown(ms_rule *r, int64_t cooldown_us) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_cooldown: NULL rule");
  if (cooldown_us < 0)
    return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_cooldown: negative cooldown %lld us", (long long)cooldown_us);
  r->cooldown = cooldown_us;
  return MS_OK;
}

int ms_rule_set_bounds(ms_rule *r, int64_t min_replicas, int64_t max_replicas) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_bounds: NULL rule");
  if (min_replicas < -1 || max_replicas < -1)
    return ms__fail(MS_EINVAL,
                    "autoscaler: ms_rule_set_bounds: bounds (%lld, %lld): use -1 for no bound, not another "
                    "negative number",
                    (long long)min_replicas, (long long)max_replicas);
  if (min_replicas >= 0 && max_replicas >= 0 && min_replicas > max_replicas)
    return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_bounds: min replicas %lld > max replicas %lld",
                    (long long)min_replicas, (long long)max_replicas);
  r->min = min_replicas;
  r->max = max_replicas;
  return MS_OK;
}

int ms_rule_set_aggregation(ms_rule *r, ms_aggregation agg) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_aggregation: NULL rule");
  if ((int)agg < MS_AGG_MEAN || (int)agg > MS_AGG_MIN)
    return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_aggregation: unknown aggregation %d", (int)agg);
  r->agg = (int)agg;
  return MS_OK;
}

int ms_rule_set_enabled(ms_rule *r, int enabled) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_set_enabled: NULL rule");
  r->enabled = enabled != 0;
  return MS_OK;
}

int ms_rule_get_metric(const ms_rule *r, const char **source, const char **name) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_get_metric: NULL rule");
  if (!r->has_metric) return ms__fail(MS_ENOTFOUND, "autoscaler: ms_rule_get_metric: no metric set");
  if (source) *source = r->source;
  if (name) *name = r->metric;
  return MS_OK;
}

int ms_rule_get_trigger(const ms_rule *r, ms_comparator *cmp, double *threshold) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_get_trigger: NULL rule");
  if (!r->has_trigger) return ms__fail(MS_ENOTFOUND, "autoscaler: ms_rule_get_trigger: no trigger set");
  if (cmp) *cmp = (ms_comparator)r->cmp;
  if (threshold) *threshold = r->threshold;
  return MS_OK;
}

int ms_rule_get_step(const ms_rule *r, int64_t *step) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_get_step: NULL rule");
  if (!r->has_step) return ms__fail(MS_ENOTFOUND, "autoscaler: ms_rule_get_step: no step set");
  if (step) *step = r->step;
  return MS_OK;
}

int ms_rule_get_cooldown(const ms_rule *r, int64_t *cooldown_us) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_get_cooldown: NULL rule");
  if (cooldown_us) *cooldown_us = r->cooldown;
  return MS_OK;
}

int ms_rule_get_bounds(const ms_rule *r, int64_t *min_replicas, int64_t *max_replicas) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_get_bounds: NULL rule");
  if (min_replicas) *min_replicas = r->min;
  if (max_replicas) *max_replicas = r->max;
  return MS_OK;
}

int ms_rule_get_aggregation(const ms_rule *r, ms_aggregation *agg) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_get_aggregation: NULL rule");
  if (agg) *agg = (ms_aggregation)r->agg;
  return MS_OK;
}

int ms_rule_get_enabled(const ms_rule *r, int *enabled) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_get_enabled: NULL rule");
  if (enabled) *enabled = r->enabled;
  return MS_OK;
}

int ms_rule_get_state(const ms_rule *r, int64_t *rule_id, const char **endpoint, int *has_applied,
                      int64_t *last_applied_us) {
  if (!r) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_get_state: NULL rule");
  if (!r->is_snapshot)
    return ms__fail(MS_ENOTFOUND, "autoscaler: ms_rule_get_state: a builder that was never added has no state");
  if (rule_id) *rule_id = r->id;
  if (endpoint) *endpoint = r->endpoint;
  if (has_applied) *has_applied = r->has_applied;
  if (last_applied_us) *last_applied_us = r->has_applied ? r->last_applied : 0;
  return MS_OK;
}

int ms__autoscaler_rule_validate(const ms_rule *r) {
  if (!r) return ms__fail(MS_EINVAL, "NULL rule");
  if (!r->has_metric || !r->source || !*r->source || !r->metric || !*r->metric)
    return ms__fail(MS_EINVAL, "rule has no metric (ms_rule_set_metric)");
  if (!r->has_trigger || !isfinite(r->threshold) || r->cmp < MS_CMP_LT || r->cmp > MS_CMP_GE)
    return ms__fail(MS_EINVAL, "rule has no valid trigger (ms_rule_set_trigger)");
  if (!r->has_step || r->step == 0 || r->step == INT64_MIN)
    return ms__fail(MS_EINVAL, "rule has no step, or step 0 (ms_rule_set_step)");
  if (r->cooldown < 0) return ms__fail(MS_EINVAL, "rule has a negative cooldown");
  if (r->min < -1 || r->max < -1 || (r->min >= 0 && r->max >= 0 && r->min > r->max))
    return ms__fail(MS_EINVAL, "rule has invalid bounds (%lld, %lld)", (long long)r->min, (long long)r->max);
  if (r->agg < MS_AGG_MEAN || r->agg > MS_AGG_MIN) return ms__fail(MS_EINVAL, "rule has an unknown aggregation");
  return MS_OK;
}
