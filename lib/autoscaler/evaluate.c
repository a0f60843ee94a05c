/* One evaluation tick: decide every endpoint in memory, have tick_store.c
 * write the changed ones in ONE transaction, and apply the changes to memory
 * only after that committed. And when the next one is due
 * (ms_autoscaler_next_deadline, deadline.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/arena.h"
#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/deadline.h"
#include "autoscaler/decisions.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/load.h"
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

/* The lock of the evaluation tick, shared by every host of the database
 * ('msas'): one host evaluates a tick, the others get a dry result. */
#define EVALUATOR_KEY 0x6d736173

/* On a store other hosts share (ms__store_locks_rows): the tick's
 * transaction begun, the evaluator's lock taken and the shared state read
 * again into memory, so the decisions are made on what every host has
 * applied. *x is the transaction, or NULL with *dry set when another host
 * holds the lock (who says who, for the log). */
/* The last tick evaluated, in ms_meta: "<now_us> <who>". A host that gets
 * the lock after another evaluated the same tick (or a later one) must not
 * evaluate it again: an endpoint changes at most once per tick. */
static const char SQL_LAST_TICK[] = "SELECT value FROM ms_meta WHERE key = 'autoscaler.evaluated'";
static const char SQL_SET_TICK_LITE[] =
    "INSERT INTO ms_meta(key, value) VALUES ('autoscaler.evaluated', CAST(?1 AS TEXT) || ' this host') "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
static const char SQL_SET_TICK_PG[] =
    "INSERT INTO ms_meta(key, value) VALUES ('autoscaler.evaluated', CAST(?1 AS TEXT) || ' ' || "
    "current_setting('application_name')) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

static int already_evaluated(ms_autoscaler *a, int64_t now_us, int *dry, char *who, size_t cap) {
  ms_store *s = a->store;
  int st = MS_OK, row = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_LAST_TICK, &st);
  if (!q || (st = ms__stmt_row(s, q, "reading the last evaluated tick", &row)) != MS_OK) return st;
  if (row) {
    const char *v = ms__stmt_text(q, 0);
    char *end = NULL;
    long long last = v ? strtoll(v, &end, 10) : 0;
    if (v && end != v && last >= now_us) {
      *dry = 1;
      snprintf(who, cap, "%s (tick at %lld us)", *end ? end + 1 : "another host", last);
    }
    ms__stmt_reset(q);
  }
  if (*dry) return MS_OK;
  if (!(q = ms__store_prepare(s, ms__store_sql(s, SQL_SET_TICK_LITE, SQL_SET_TICK_PG), &st))) return st;
  ms__stmt_bind_int64(q, 1, now_us);
  return ms__stmt_done(s, q, "recording the tick");
}

static int begin_shared_tick(ms_autoscaler *a, int64_t now_us, ms_store_txn **x, int *dry, char *who, size_t cap) {
  *x = NULL;
  *dry = 0;
  int got = 0, st = ms__store_txn_begin(a->store, 0, x);
  if (!st) st = ms__store_try_lock_key(a->store, EVALUATOR_KEY, &got, who, cap);
  if (!st && !got) {
    ms__store_txn_rollback(*x);
    *x = NULL;
    *dry = 1;
    return MS_OK;
  }
  if (!st) st = already_evaluated(a, now_us, dry, who, cap);
  if (!st && *dry) {
    ms__store_txn_rollback(*x);
    *x = NULL;
    return MS_OK;
  }
  if (!st) st = ms__autoscaler_refresh(a);
  if (st && *x) {
    ms__store_txn_rollback(*x);
    *x = NULL;
  }
  return st;
}

static int evaluate_locked(ms_autoscaler *a, int64_t now_us, unsigned flags, ms_decisions **out) {
  as_model *m = &a->m;
  ms_store_txn *x = NULL;
  char who[256] = "";
  if (!(flags & MS_EVAL_DRY_RUN) && ms__store_locks_rows(a->store)) {
    int dry = 0;
    int st = begin_shared_tick(a, now_us, &x, &dry, who, sizeof who);
    if (st) return st;
    if (dry) {
      ms__log(MS_LOG_INFO, "autoscaler: ms_autoscaler_evaluate: %s evaluated this tick; this result is a dry run",
              who);
      flags |= MS_EVAL_DRY_RUN;
    } else {
      who[0] = '\0';
    }
  }
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
    if (x) ms__store_txn_rollback(x);
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
    int st = ms__autoscaler_persist_tick(a, x, d, ch, n_ch, now_us, &cursor);
    x = NULL; /* ended there */
    if (st) {
      ms_decisions_free(d);
      return st;
    }
    apply(a, d, ch, n_ch, now_us);
    a->trim_cursor = cursor;
  }
  if (x) { /* no endpoint changed: the tick's record is kept, the lock goes with the commit */
    int st = ms__store_txn_commit(x);
    if (st) {
      ms_decisions_free(d);
      return st;
    }
  }
  /* the result says who evaluated when another host did (ms_decisions_evaluated_by) */
  snprintf(d->evaluated_by, sizeof d->evaluated_by, "%s", who);
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
