/* Rules: adding, removing, enabling, reading and listing them. Each write is
 * one transaction; the model changes after it committed. */
#include <stdlib.h>
#include <string.h>

#include "autoscaler/arena.h"
#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/lists.h"
#include "autoscaler/rule.h"
#include "autoscaler/rule_store.h"
#include "common/error.h"
#include "common/text.h"

static int add_rule_locked(ms_autoscaler *a, as_endpoint *ep, const ms_rule *r, int64_t *rule_id) {
  as_rule_slot slot;
  int st;
  if ((st = ms__autoscaler_rule_admissible(ep, r)) ||
      (st = ms__autoscaler_rule_prepare(&a->m, ep, r->source, r->metric, r->agg, r->cmp, r->step, r->enabled,
                                        &slot)))
    return st;
  int64_t id = 0;
  if ((st = ms__autoscaler_rule_insert(a->store, ep->id, r, &id))) {
    ms__autoscaler_rule_unprepare(ep, &slot);
    return st;
  }
  as_rule hot = {.threshold = r->threshold, .step = r->step, .min = r->min, .max = r->max, .id = id,
                 .cmp = (unsigned char)r->cmp, .agg = (unsigned char)r->agg, .enabled = r->enabled != 0};
  ms__autoscaler_rule_attach(&a->m, ep, &slot, hot, r->cooldown);
  if (rule_id) *rule_id = id;
  return MS_OK;
}

int ms_autoscaler_add_rule(ms_autoscaler *a, const char *endpoint, const ms_rule *r, int64_t *rule_id) {
  static const char *const CALL = "ms_autoscaler_add_rule";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL autoscaler", CALL);
  int st = ms__autoscaler_check_name(CALL, "endpoint name", endpoint);
  if (st) return st;
  if ((st = ms__autoscaler_rule_validate(r))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
    return st;
  }
  if ((st = ms__autoscaler_lock(a))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
    return st;
  }
  as_endpoint *ep = ms__autoscaler_endpoint_find(&a->m, endpoint);
  if (!ep) {
    st = ms__fail(MS_ENOTFOUND, "autoscaler: %s: endpoint '%s': no such endpoint (create it with "
                  "ms_autoscaler_set_replicas)", CALL, endpoint);
  } else if ((st = add_rule_locked(a, ep, r, rule_id))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
  }
  ms__autoscaler_arena_maintain(&a->m);
  ms__autoscaler_unlock(a);
  return st;
}

/* Lock and find rule `id`; on failure the message is complete and nothing
 * is held. */
static int lock_rule(ms_autoscaler *a, const char *call, int64_t id, as_endpoint **ep, size_t *i) {
  int st = ms__autoscaler_lock(a);
  if (st) {
    ms__errmsg_prefix("autoscaler: %s: rule %lld", call, (long long)id);
    return st;
  }
  if (ms__autoscaler_rule_find(&a->m, id, ep, i)) return MS_OK;
  ms__autoscaler_unlock(a);
  return ms__fail(MS_ENOTFOUND, "autoscaler: %s: rule %lld: no such rule", call, (long long)id);
}

int ms_autoscaler_remove_rule(ms_autoscaler *a, int64_t rule_id) {
  static const char *const CALL = "ms_autoscaler_remove_rule";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL autoscaler", CALL);
  as_endpoint *ep = NULL;
  size_t i = 0;
  int st = lock_rule(a, CALL, rule_id, &ep, &i);
  if (st) return st;
  if ((st = ms__autoscaler_rule_delete(a->store, rule_id)))
    ms__errmsg_prefix("autoscaler: %s: rule %lld (endpoint '%s')", CALL, (long long)rule_id, ep->name);
  else
    ms__autoscaler_rule_detach(&a->m, ep, i); /* its stamp leaves the state row at the endpoint's next change */
  ms__autoscaler_unlock(a);
  return st;
}

int ms_autoscaler_set_rule_enabled(ms_autoscaler *a, int64_t rule_id, int enabled) {
  static const char *const CALL = "ms_autoscaler_set_rule_enabled";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL autoscaler", CALL);
  enabled = enabled != 0;
  as_endpoint *ep = NULL;
  size_t i = 0;
  int st = lock_rule(a, CALL, rule_id, &ep, &i);
  if (st) return st;
  if (ep->rules[i].enabled != enabled) {
    if ((enabled && (st = ms__autoscaler_rule_prepare_enable(ep, i))) ||
        (st = ms__autoscaler_rule_update_enabled(a->store, rule_id, enabled)))
      ms__errmsg_prefix("autoscaler: %s: rule %lld (endpoint '%s')", CALL, (long long)rule_id, ep->name);
    else
      ms__autoscaler_rule_set_enabled(&a->m, ep, i, enabled);
  }
  ms__autoscaler_unlock(a);
  return st;
}

/* A copy of rule i of ep into r, its strings from dup (a copy each, or into
 * a list's block). */
typedef char *(*dup_fn)(void *ctx, const char *s, size_t len);

static int snapshot(const as_endpoint *ep, size_t i, ms_rule *r, dup_fn dup, void *ctx) {
  const as_rule *x = &ep->rules[i];
  const as_rule_cold *xc = &ep->rules_cold[i];
  const as_series_cold *c = &ep->series_cold[x->series];
  r->source = dup(ctx, c->source, strlen(c->source));
  r->metric = dup(ctx, c->metric, strlen(c->metric));
  r->endpoint = dup(ctx, ep->name, ep->name_len);
  if (!r->source || !r->metric || !r->endpoint) return MS_ENOMEM;
  r->has_metric = r->has_trigger = r->has_step = 1;
  r->cmp = x->cmp;
  r->agg = x->agg;
  r->threshold = x->threshold;
  r->step = x->step;
  r->cooldown = xc->cooldown;
  r->min = x->min;
  r->max = x->max;
  r->enabled = x->enabled;
  r->is_snapshot = 1;
  r->id = x->id;
  r->has_applied = x->has_applied;
  r->last_applied = xc->last_applied;
  return MS_OK;
}

static char *heap_dup(void *ctx, const char *s, size_t len) {
  (void)ctx;
  char *p = malloc(len + 1);
  return p ? memcpy(p, s, len + 1) : NULL;
}

int ms_autoscaler_get_rule(ms_autoscaler *a, int64_t rule_id, ms_rule **out) {
  static const char *const CALL = "ms_autoscaler_get_rule";
  if (!a || !out) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL %s", CALL, !a ? "autoscaler" : "output pointer");
  as_endpoint *ep = NULL;
  size_t i = 0;
  int st = lock_rule(a, CALL, rule_id, &ep, &i);
  if (st) return st;
  ms_rule *r = calloc(1, sizeof *r);
  if (!r || snapshot(ep, i, r, heap_dup, NULL)) {
    ms_rule_free(r);
    ms__autoscaler_unlock(a);
    return ms__fail(MS_ENOMEM, "autoscaler: %s: rule %lld: out of memory", CALL, (long long)rule_id);
  }
  ms__autoscaler_unlock(a);
  *out = r;
  return MS_OK;
}

typedef struct list_ctx {
  ms_rule_list *l;
  size_t used;
} list_ctx;

static char *list_dup(void *ctx, const char *s, size_t len) {
  list_ctx *c = ctx;
  return ms__autoscaler_rule_list_string(c->l, &c->used, s, len);
}

int ms_autoscaler_list_rules(ms_autoscaler *a, const char *endpoint, ms_rule_list **out) {
  static const char *const CALL = "ms_autoscaler_list_rules";
  if (!a || !out) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL %s", CALL, !a ? "autoscaler" : "output pointer");
  int st = ms__autoscaler_check_name(CALL, "endpoint name", endpoint);
  if (st) return st;
  if ((st = ms__autoscaler_lock(a))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
    return st;
  }
  as_endpoint *ep = ms__autoscaler_endpoint_find(&a->m, endpoint);
  ms_rule_list *l = NULL;
  if (!ep) {
    st = ms__fail(MS_ENOTFOUND, "autoscaler: %s: endpoint '%s': no such endpoint", CALL, endpoint);
  } else {
    size_t bytes = 0;
    for (size_t i = 0; i < ep->n_rules; i++) {
      const as_series_cold *c = &ep->series_cold[ep->rules[i].series];
      bytes += strlen(c->source) + strlen(c->metric) + ep->name_len + 3;
    }
    if (!(l = ms__autoscaler_rule_list_new(ep->n_rules, bytes))) {
      st = ms__fail(MS_ENOMEM, "autoscaler: %s: endpoint '%s': out of memory listing %zu rules", CALL, endpoint,
                    ep->n_rules);
    } else {
      list_ctx ctx = {l, 0};
      for (size_t i = 0; i < ep->n_rules; i++) {
        (void)snapshot(ep, i, &l->rules[i], list_dup, &ctx); /* room reserved: cannot fail */
        l->rules[i].borrowed = 1;
      }
      l->n = ep->n_rules;
    }
  }
  ms__autoscaler_unlock(a);
  if (!st) *out = l;
  return st;
}
