/* Internal (autoscaler, layer 1, a value): the rule builder / snapshot
 * (rule.c), and the names of comparators and aggregations that messages and
 * explanations use. Depends on nothing of the part. */
#ifndef MS_AUTOSCALER_RULE_H
#define MS_AUTOSCALER_RULE_H

#include <stdint.h>

#include "mserve/autoscaler.h"

struct ms_rule {
  char *source, *metric;
  int has_metric, has_trigger, has_step;
  int cmp, agg;
  double threshold;
  int64_t step, cooldown, min, max;
  int enabled;
  /* snapshot state */
  int is_snapshot;
  int borrowed; /* part of an ms_rule_list: its strings belong to the list, ms_rule_free ignores it */
  int64_t id;
  char *endpoint;
  int has_applied;
  int64_t last_applied;
};

/* MS_EINVAL with the cause as message (no prefix: the caller adds the call
 * and the object) unless r is a complete, valid rule. */
int ms__autoscaler_rule_validate(const ms_rule *r);

const char *ms__autoscaler_cmp_symbol(int cmp); /* "<", "<=", ">", ">=" */
const char *ms__autoscaler_agg_name(int agg);   /* "mean", "max", "min" */

#endif
