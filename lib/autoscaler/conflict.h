/* Internal (autoscaler, layer 2): the conflict index of each series, in
 * O(log n) per call (conflict.c). Depends on the model's types and the rule
 * names (rule.h). */
#ifndef MS_AUTOSCALER_CONFLICT_H
#define MS_AUTOSCALER_CONFLICT_H

#include <stddef.h>
#include <stdint.h>

#include "autoscaler/model.h"

/* MS_ECONFLICT, with the cause as message (the caller adds the call and the
 * endpoint), when a rule with these settings on series `series` of ep
 * (ep->n_series: a metric it does not have yet), if enabled, would contradict
 * an enabled rule of ep; self_id names it in the message (-1: "the new
 * rule"). The rule itself must not be enabled. */
int ms__autoscaler_conflicts_check(const as_endpoint *ep, size_t series, int agg, int cmp, double threshold,
                                   int64_t step, int64_t self_id);
/* Room for one more enabled rule with these settings in series c's index
 * (MS_ENOMEM with message; nothing else changes). */
int ms__autoscaler_conflicts_reserve(as_series_cold *c, int agg, int cmp, int64_t step);
/* Index enabled rule i of ep (room reserved), or take it out (it is indexed). */
void ms__autoscaler_conflicts_insert(as_endpoint *ep, size_t i);
void ms__autoscaler_conflicts_remove(as_endpoint *ep, size_t i);
void ms__autoscaler_conflicts_free(as_conflicts *cf);

#endif
