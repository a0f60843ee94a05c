/* Internal (autoscaler, layer 2): the deadline index (deadline.c), which
 * answers ms_autoscaler_next_deadline: when time alone next changes what an
 * evaluation decides (a cooldown ends, an observation goes stale). Built at
 * the first query, kept up to date by the model's operations from then on
 * (before that every hook is a no-op). Depends on the model's types and on
 * the series' staleness (series.h). */
#ifndef MS_AUTOSCALER_DEADLINE_H
#define MS_AUTOSCALER_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

#include "autoscaler/model.h"

/* The earliest instant after now at which an observation of a watched metric
 * goes stale or an enabled rule's cooldown ends, or INT64_MAX. MS_ENOMEM with
 * the cause as message when the index cannot be built; nothing else changes. */
int ms__autoscaler_deadline_next(as_model *m, int64_t now, int64_t *at);

/* Hooks of the model's operations (endpoint.c). None fails: without memory
 * the index is dropped and rebuilt at the next query. */
/* Series si of ep kept an observation made at `at`. */
void ms__autoscaler_deadline_observed(as_model *m, as_endpoint *ep, size_t si, int64_t at);
/* A rule now watches series si of ep (its rule count went up). */
void ms__autoscaler_deadline_watched(as_model *m, as_endpoint *ep, size_t si);
/* Rule i of ep was applied (its cooldown restarted) or enabled. */
void ms__autoscaler_deadline_rule_changed(as_model *m, as_endpoint *ep, size_t i);
/* Rule i of ep is about to be removed, and the rules after it moved one
 * place down. */
void ms__autoscaler_deadline_rule_removing(as_model *m, as_endpoint *ep, size_t i);
/* ep is about to be removed. */
void ms__autoscaler_deadline_endpoint_removing(as_model *m, as_endpoint *ep);
/* Every instant moved (the TTL changed): rebuild at the next query. */
void ms__autoscaler_deadline_invalidate(as_model *m);
void ms__autoscaler_deadline_destroy(as_model *m);

#endif
