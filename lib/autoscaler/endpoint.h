/* Internal (autoscaler, layer 2): the model's operations (endpoint.c):
 * creating, finding, changing and freeing endpoints, their series and rules,
 * keeping the name and id tables, the conflict index, the arena and the
 * deadline index in step. Memory only: writing the store is the callers'
 * (layer 4). Every operation that may fail comes before the store write
 * (reserve, prepare), and every one after it cannot fail (attach, detach,
 * stamp), so a failed call leaves the model as it was. Messages are the
 * cause only; the public call adds the call and the object. Depends on the
 * model's types, its indexes (conflict.h, arena.h, deadline.h, series.h)
 * and the rule builder (rule.h). */
#ifndef MS_AUTOSCALER_ENDPOINT_H
#define MS_AUTOSCALER_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "autoscaler/model.h"
#include "autoscaler/rule.h"

/* ---- the model */
void ms__autoscaler_model_init(as_model *m); /* empty, TTL 60 s */
void ms__autoscaler_model_destroy(as_model *m);
void ms__autoscaler_model_set_ttl(as_model *m, int64_t ttl_us);

/* ---- endpoints */
as_endpoint *ms__autoscaler_endpoint_find(const as_model *m, const char *name);
/* Index of the endpoint with `id` in m->eps (sorted by id), or m->n_eps. */
size_t ms__autoscaler_endpoint_index(const as_model *m, int64_t id);
/* Room for `extra` more endpoints (MS_ENOMEM with message). */
int ms__autoscaler_model_reserve(as_model *m, size_t extra);
/* A detached endpoint without series or rules; NULL with MS_ENOMEM's message. */
as_endpoint *ms__autoscaler_endpoint_new(as_model *m, const char *name, int64_t id, int64_t replicas);
/* Free a detached endpoint (NULL: no-op). */
void ms__autoscaler_endpoint_free(as_model *m, as_endpoint *ep);
/* Attach ep (room reserved; its id larger than every attached one). */
void ms__autoscaler_model_attach(as_model *m, as_endpoint *ep);
/* Take ep out of the model (tables, order, indexes) and free it. */
void ms__autoscaler_model_remove(as_model *m, as_endpoint *ep);
/* Room for `rules` more rules and `series` more series in ep's arrays
 * (moving them out of the arena when they are there). */
int ms__autoscaler_endpoint_reserve(as_model *m, as_endpoint *ep, size_t rules, size_t series);

/* ---- series and observations */
/* Record an observation (see ms_autoscaler_observe), creating the series
 * when the metric is new. MS_EFULL / MS_ENOMEM with the cause; the
 * observation is not recorded then (a series it created may stay, empty). */
int ms__autoscaler_model_observe(as_model *m, as_endpoint *ep, const char *source, const char *metric,
                                 const char *replica, double value, int64_t now);

/* ---- rules */
/* The endpoint holding rule `id` and the rule's index there; 0 when none. */
int ms__autoscaler_rule_find(const as_model *m, int64_t id, as_endpoint **ep, size_t *index);
/* MS_EFULL or MS_ECONFLICT (cause as message) unless a rule with these
 * settings may join ep. */
int ms__autoscaler_rule_admissible(const as_endpoint *ep, const ms_rule *r);

/* Where a rule about to be attached goes. */
typedef struct as_rule_slot {
  size_t series;    /* index of its series */
  int fresh_series; /* the series was created for it */
} as_rule_slot;

/* Make every allocation attaching a rule with these settings needs (its
 * series, created when the metric is new; the conflict index's room when
 * enabled). MS_ENOMEM with message; nothing changed then. */
int ms__autoscaler_rule_prepare(as_model *m, as_endpoint *ep, const char *source, const char *metric, int agg,
                                int cmp, int64_t step, int enabled, as_rule_slot *slot);
/* Undo a prepare whose rule will not be attached (the store refused it). */
void ms__autoscaler_rule_unprepare(as_endpoint *ep, const as_rule_slot *slot);
/* Attach rule `hot` (its id larger than ep's others; series from the slot),
 * never applied, with `cooldown`. */
void ms__autoscaler_rule_attach(as_model *m, as_endpoint *ep, const as_rule_slot *slot, as_rule hot,
                                int64_t cooldown);
/* Remove rule i of ep (its series stays). */
void ms__autoscaler_rule_detach(as_model *m, as_endpoint *ep, size_t i);
/* Before enabling rule i: MS_ECONFLICT (cause) or MS_ENOMEM unless it may be. */
int ms__autoscaler_rule_prepare_enable(as_endpoint *ep, size_t i);
void ms__autoscaler_rule_set_enabled(as_model *m, as_endpoint *ep, size_t i, int enabled);
/* Rule i of ep was applied at `at`: its cooldown starts. */
void ms__autoscaler_rule_stamp(as_model *m, as_endpoint *ep, size_t i, int64_t at);

#endif
