/* One evaluation tick: decide every endpoint in memory, then write only the
 * changed endpoints (count, the applied rule's cooldown stamp, one history row,
 * and a trim of rows past the last MS_AUTOSCALER_HISTORY_MAX) in ONE
 * transaction through cached statements, and apply to memory after commit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "autoscaler_internal.h"

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

/* Inside the cooldown unless now >= last_applied + cooldown (overflow-safe). */
static int in_cooldown(const as_rule *r, int64_t now) {
  if (!r->has_applied) return 0;
  if (now < r->last_applied) return 1;
  return (uint64_t)now - (uint64_t)r->last_applied < (uint64_t)r->cooldown;
}

/* Decide one endpoint into d (capacity reserved by the caller). Returns the
 * applied rule or NULL. */
static as_rule *decide(const ms_autoscaler *a, const as_endpoint *ep, int64_t now, ms_decisions *d) {
  int64_t from = ep->replicas, best = from;
  as_rule *winner = NULL;
  size_t base = d->nr, win_j = 0;
  for (size_t j = 0; j < ep->n_rules; j++) {
    as_rule *r = ep->rules[j];
    as_dec_rule *o = &d->r[base + j];
    o->rule_id = r->id;
    o->threshold = r->threshold;
    o->step = r->step;
    o->cmp = r->cmp;
    o->proposed = from;
    double v = NAN;
    int has = as_series_value(r->series, r->agg, from, now, a->ttl_us, &v);
    o->value = has ? v : NAN;
    if (!r->enabled) o->outcome = MS_RULE_DISABLED;
    else if (!has) o->outcome = MS_RULE_NO_METRIC;
    else if (!triggered(r->cmp, v, r->threshold)) o->outcome = MS_RULE_NOT_TRIGGERED;
    else if (in_cooldown(r, now)) o->outcome = MS_RULE_COOLDOWN;
    else {
      o->proposed = propose(from, r);
      if (o->proposed == from) {
        o->outcome = MS_RULE_AT_BOUND;
      } else {
        o->outcome = MS_RULE_OUTVOTED; /* until it turns out to be the winner */
        /* Rules run in id order: a strictly larger proposal is needed to
         * replace the winner, so ties go to the lowest id. */
        if (!winner || o->proposed > best) {
          winner = r;
          best = o->proposed;
          win_j = j;
        }
      }
    }
  }
  if (winner) d->r[base + win_j].outcome = MS_RULE_APPLIED;
  as_dec_entry *e = &d->e[d->n++];
  e->name_off = d->names_len;
  memcpy(d->names + d->names_len, ep->name, ep->name_len + 1);
  d->names_len += ep->name_len + 1;
  e->at = now;
  e->from = from;
  e->to = best;
  e->applied = winner ? winner->id : -1;
  e->rule_first = base;
  e->n_rules = ep->n_rules;
  d->nr += ep->n_rules;
  return winner;
}

typedef struct change {
  size_t ep; /* index in a->eps and in d->e */
  as_rule *rule;
} change;

static int persist(ms_autoscaler *a, const ms_decisions *d, const change *ch, size_t n, int64_t now) {
  static const char *const Q_EP = "UPDATE autoscaler_endpoint SET replicas = ?1, history_seq = ?2 WHERE id = ?3";
  static const char *const Q_RULE =
      "INSERT INTO autoscaler_cooldown(rule_id, last_applied_us) VALUES (?2, ?1) "
      "ON CONFLICT(rule_id) DO UPDATE SET last_applied_us = excluded.last_applied_us";
  static const char *const Q_HIST =
      "INSERT INTO autoscaler_history(endpoint_id, seq, at_us, from_replicas, to_replicas, applied_rule_id, rules) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
  static const char *const Q_TRIM = "DELETE FROM autoscaler_history WHERE endpoint_id = ?1 AND seq <= ?2";
  ms_store *s = a->store;
  int st = ms__store_begin(s);
  if (st) return st;
  sqlite3_stmt *q_ep = ms__store_stmt(s, Q_EP, &st), *q_rule = NULL, *q_hist = NULL, *q_trim = NULL;
  if (q_ep) q_rule = ms__store_stmt(s, Q_RULE, &st);
  if (q_rule) q_hist = ms__store_stmt(s, Q_HIST, &st);
  if (q_hist) q_trim = ms__store_stmt(s, Q_TRIM, &st);
  for (size_t i = 0; !st && i < n; i++) {
    const as_endpoint *ep = a->eps[ch[i].ep];
    const as_dec_entry *e = &d->e[ch[i].ep];
    int64_t seq = ep->history_seq + 1;
    size_t bytes = e->n_rules * AS_DEC_RULE_BYTES;
    if (bytes > a->blob_cap) {
      unsigned char *p = realloc(a->blob, bytes);
      if (!p) {
        st = ms__fail(MS_ENOMEM, "autoscaler: out of memory encoding history");
        break;
      }
      a->blob = p;
      a->blob_cap = bytes;
    }
    as_encode_rules(d->r + e->rule_first, e->n_rules, a->blob);
    sqlite3_bind_int64(q_ep, 1, e->to);
    sqlite3_bind_int64(q_ep, 2, seq);
    sqlite3_bind_int64(q_ep, 3, ep->id);
    if ((st = as_step_done(s, q_ep, "autoscaler: updating an endpoint"))) break;
    sqlite3_bind_int64(q_rule, 1, now);
    sqlite3_bind_int64(q_rule, 2, ch[i].rule->id);
    if ((st = as_step_done(s, q_rule, "autoscaler: stamping a rule's cooldown"))) break;
    sqlite3_bind_int64(q_hist, 1, ep->id);
    sqlite3_bind_int64(q_hist, 2, seq);
    sqlite3_bind_int64(q_hist, 3, now);
    sqlite3_bind_int64(q_hist, 4, e->from);
    sqlite3_bind_int64(q_hist, 5, e->to);
    sqlite3_bind_int64(q_hist, 6, e->applied);
    sqlite3_bind_blob(q_hist, 7, a->blob, (int)bytes, SQLITE_STATIC);
    if ((st = as_step_done(s, q_hist, "autoscaler: appending history"))) break;
    if (seq > MS_AUTOSCALER_HISTORY_MAX) { /* only endpoints past the bound pay for the trim */
      sqlite3_bind_int64(q_trim, 1, ep->id);
      sqlite3_bind_int64(q_trim, 2, seq - MS_AUTOSCALER_HISTORY_MAX);
      if ((st = as_step_done(s, q_trim, "autoscaler: trimming history"))) break;
    }
  }
  if (st) {
    ms__store_rollback(s);
    return st;
  }
  return ms__store_commit(s);
}

int ms_autoscaler_evaluate(ms_autoscaler *a, int64_t now_us, unsigned flags, ms_decisions **out) {
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: NULL autoscaler");
  if (flags & ~MS_EVAL_DRY_RUN) return ms__fail(MS_EINVAL, "autoscaler: evaluate: unknown flags 0x%x", flags);
  int st = as_lock(a);
  if (st) return st;
  ms_decisions *d = as_decisions_new(a->n_eps, a->total_rules, a->total_name_bytes);
  change *ch = d ? malloc((a->n_eps ? a->n_eps : 1) * sizeof *ch) : NULL;
  if (!d || !ch) {
    ms_decisions_free(d);
    free(ch);
    as_unlock(a);
    return ms__fail(MS_ENOMEM, "autoscaler: out of memory evaluating %zu endpoints", a->n_eps);
  }
  size_t n_ch = 0;
  for (size_t k = 0; k < a->n_eps; k++) {
    as_rule *w = decide(a, a->eps[k], now_us, d);
    if (w) ch[n_ch++] = (change){k, w};
  }
  if (!(flags & MS_EVAL_DRY_RUN) && n_ch) {
    st = persist(a, d, ch, n_ch, now_us);
    if (!st) {
      for (size_t i = 0; i < n_ch; i++) {
        as_endpoint *ep = a->eps[ch[i].ep];
        ep->replicas = d->e[ch[i].ep].to;
        ep->history_seq++;
        ch[i].rule->has_applied = 1;
        ch[i].rule->last_applied = now_us;
      }
    }
  }
  as_unlock(a);
  free(ch);
  if (st || !out) {
    ms_decisions_free(d);
    return st;
  }
  *out = d;
  return MS_OK;
}
