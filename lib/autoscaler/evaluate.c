/* One evaluation tick: decide every endpoint in memory, have tick_store.c
 * write the changed ones in ONE transaction, and apply the changes to memory
 * only after that committed. And when the next one is due
 * (ms_autoscaler_next_deadline, deadline.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/arena.h"
#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/deadline.h"
#include "autoscaler/decisions.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/series.h"
#include "autoscaler/tick_store.h"
#include "common/error.h"

static int64_t sat_add(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}

/* desired + step, clamped to the rule's bounds and to >= 0, never moving
 * against the step's sign. */
static int64_t propose(int64_t from, const as_rule *r) {
  int64_t p = sat_add(from, r->step);
  if (r->max >= 0 && p > r->max) p = r->max;
  if (r->min >= 0 && p < r->min) p = r->min;
  if (p < 0) p = 0;
  if (r->step > 0 && p < from) p = from;
  if (r->step < 0 && p > from) p = from;
  return p;
}

static int triggered(int cmp, double v, double t) {
  switch (cmp) {
  case MS_CMP_LT: return v < t;
  case MS_CMP_LE: return v <= t;
  case MS_CMP_GT: return v > t;
  default: return v >= t;
  }
}

/* now < last_applied + cooldown, computed exactly. ready_at answers it for
 * every now but INT64_MAX when the sum saturated: a cooldown ending past
 * INT64_MAX still holds at INT64_MAX, one ending exactly there does not. Only
 * that instant reads the cold part. */
static int in_cooldown(const as_endpoint *ep, size_t j, int64_t now) {
  const as_rule *r = &ep->rules[j];
  if (now < r->ready_at) return 1;
  if (r->ready_at != INT64_MAX || !r->has_applied) return 0;
  const as_rule_cold *c = &ep->rules_cold[j];
  /* now == INT64_MAX >= last_applied here, so the difference is exact */
  return (uint64_t)now - (uint64_t)c->last_applied < (uint64_t)c->cooldown;
}

/* Decide one endpoint into d (capacity reserved by the caller). Returns the
 * index of the applied rule, or ep->n_rules when none applies. Reads only the
 * endpoint's hot data (see model.h). */
static size_t decide(const as_model *m, const as_endpoint *ep, int64_t now, ms_decisions *d) {
  int64_t from = ep->replicas, best = from;
  size_t winner = ep->n_rules, base = d->nr;
  for (size_t j = 0; j < ep->n_rules; j++) {
    const as_rule *r = &ep->rules[j];
    as_dec_rule *o = &d->r[base + j];
    o->rule_id = r->id;
    o->threshold = r->threshold;
    o->step = r->step;
    o->cmp = r->cmp;
    o->proposed = from;
    double v = NAN;
    int has = ms__autoscaler_series_value(&ep->series[r->series], &ep->series_cold[r->series], r->agg, from, now,
                                          m->ttl_us, &v);
    o->value = has ? v : NAN;
    if (!r->enabled) o->outcome = MS_RULE_DISABLED;
    else if (!has) o->outcome = MS_RULE_NO_METRIC;
    else if (!triggered(r->cmp, v, r->threshold)) o->outcome = MS_RULE_NOT_TRIGGERED;
    else if (in_cooldown(ep, j, now)) o->outcome = MS_RULE_COOLDOWN; /* outside it once now >= last + cooldown */
    else {
      o->proposed = propose(from, r);
      if (o->proposed == from) {
        o->outcome = MS_RULE_AT_BOUND;
      } else {
        o->outcome = MS_RULE_OUTVOTED; /* until it turns out to be the winner */
        /* Rules run in id order: a strictly larger proposal is needed to
         * replace the winner, so ties go to the lowest id. */
        if (winner == ep->n_rules || o->proposed > best) {
          winner = j;
          best = o->proposed;
        }
      }
    }
  }
  if (winner < ep->n_rules) d->r[base + winner].outcome = MS_RULE_APPLIED;
  as_dec_entry *e = &d->e[d->n++];
  e->name_off = d->names_len;
  memcpy(d->names + d->names_len, ep->hot_name, ep->name_len + 1);
  d->names_len += ep->name_len + 1;
  e->at = now;
  e->from = from;
  e->to = best;
  e->applied = winner < ep->n_rules ? ep->rules[winner].id : -1;
  e->rule_first = base;
  e->n_rules = ep->n_rules;
  d->nr += ep->n_rules;
  return winner;
}

/* After the commit: the new counts, history heads and cooldown stamps. */
static void apply(ms_autoscaler *a, const ms_decisions *d, const as_change *ch, size_t n, int64_t now) {
  for (size_t i = 0; i < n; i++) {
    as_endpoint *ep = a->m.eps[ch[i].ep];
    ep->replicas = d->e[ch[i].ep].to;
    ep->hist_head = a->next_seq + (int64_t)i;
    if (++ep->hist_count == MS_AUTOSCALER_HISTORY_MAX + 1) a->over_bound++;
    ms__autoscaler_rule_stamp(&a->m, ep, ch[i].rule, now);
  }
  a->next_seq += (int64_t)n;
}

static int evaluate_locked(ms_autoscaler *a, int64_t now_us, unsigned flags, ms_decisions **out) {
  as_model *m = &a->m;
  /* A bounded share of the compaction (arena.c); the evaluation is the same
   * without it, only slower. */
  if (!(flags & MS_EVAL_DRY_RUN)) ms__autoscaler_arena_pack_some(m);
  ms_decisions *d = ms__autoscaler_decisions_new(m->n_eps, m->total_rules, m->total_name_bytes);
  if (d && a->cap_changes < m->n_eps) {
    as_change *p = realloc(a->changes, m->n_eps * sizeof *p);
    if (p) {
      a->changes = p;
      a->cap_changes = m->n_eps;
    }
  }
  if (!d || a->cap_changes < m->n_eps) {
    ms_decisions_free(d);
    return ms__fail(MS_ENOMEM, "out of memory evaluating %zu endpoints", m->n_eps);
  }
  as_change *ch = a->changes;
  size_t n_ch = 0;
  for (size_t k = 0; k < m->n_eps; k++) {
    size_t w = decide(m, m->eps[k], now_us, d);
    if (w < m->eps[k]->n_rules) ch[n_ch++] = (as_change){k, w};
  }
  if (!(flags & MS_EVAL_DRY_RUN) && n_ch) {
    int64_t cursor = a->trim_cursor;
    int st = ms__autoscaler_persist_tick(a, d, ch, n_ch, now_us, &cursor);
    if (st) {
      ms_decisions_free(d);
      return st;
    }
    apply(a, d, ch, n_ch, now_us);
    a->trim_cursor = cursor;
  }
  *out = d;
  return MS_OK;
}

int ms_autoscaler_evaluate(ms_autoscaler *a, int64_t now_us, unsigned flags, ms_decisions **out) {
  static const char *const CALL = "ms_autoscaler_evaluate";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL autoscaler", CALL);
  if (flags & ~MS_EVAL_DRY_RUN) return ms__fail(MS_EINVAL, "autoscaler: %s: unknown flags 0x%x", CALL, flags);
  int st = ms__autoscaler_lock(a);
  ms_decisions *d = NULL;
  if (!st) {
    st = evaluate_locked(a, now_us, flags, &d);
    ms__autoscaler_unlock(a);
  }
  if (st) {
    ms__errmsg_prefix("autoscaler: %s", CALL);
    return st;
  }
  if (out) *out = d;
  else ms_decisions_free(d);
  return MS_OK;
}

int ms_autoscaler_next_deadline(ms_autoscaler *a, int64_t now_us, int64_t *at_us) {
  static const char *const CALL = "ms_autoscaler_next_deadline";
  if (!a || !at_us) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL %s", CALL, !a ? "autoscaler" : "output pointer");
  int st = ms__autoscaler_lock(a);
  int64_t at = INT64_MAX;
  if (!st) {
    st = ms__autoscaler_deadline_next(&a->m, now_us, &at);
    ms__autoscaler_unlock(a);
  }
  if (st) {
    ms__errmsg_prefix("autoscaler: %s", CALL);
    return st;
  }
  *at_us = at;
  return MS_OK;
}
