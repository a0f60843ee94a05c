/* ms_decisions: a self-contained result (entries, rule outcomes and endpoint
 * names copied into three arrays), so it outlives any change to the engine.
 * Messages: "autoscaler: <call>: <cause>". */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/decisions.h"
#include "autoscaler/rule.h"
#include "common/error.h"

ms_decisions *ms__autoscaler_decisions_new(size_t entries, size_t rules, size_t name_bytes) {
  ms_decisions *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->cap = entries ? entries : 1;
  d->cap_r = rules ? rules : 1;
  d->cap_names = name_bytes ? name_bytes : 1;
  d->e = malloc(d->cap * sizeof *d->e);
  d->r = malloc(d->cap_r * sizeof *d->r);
  d->names = malloc(d->cap_names);
  if (!d->e || !d->r || !d->names) {
    ms_decisions_free(d);
    return NULL;
  }
  return d;
}

static int ensure(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return MS_OK;
  size_t c = *cap * 2;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return ms__fail(MS_ENOMEM, "out of memory building decisions");
  *p = q;
  *cap = c;
  return MS_OK;
}

int ms__autoscaler_decisions_add(ms_decisions *d, const char *name, size_t name_len, int64_t at, int64_t from,
                                 int64_t to, int64_t applied, const as_dec_rule *rules, size_t n_rules) {
  int st;
  if ((st = ensure((void **)&d->e, &d->cap, d->n + 1, sizeof *d->e)) ||
      (st = ensure((void **)&d->r, &d->cap_r, d->nr + n_rules, sizeof *d->r)) ||
      (st = ensure((void **)&d->names, &d->cap_names, d->names_len + name_len + 1, 1)))
    return st;
  as_dec_entry *e = &d->e[d->n++];
  e->name_off = d->names_len;
  memcpy(d->names + d->names_len, name, name_len);
  d->names[d->names_len + name_len] = '\0';
  d->names_len += name_len + 1;
  e->at = at;
  e->from = from;
  e->to = to;
  e->applied = applied;
  e->rule_first = d->nr;
  e->n_rules = n_rules;
  if (n_rules) memcpy(d->r + d->nr, rules, n_rules * sizeof *rules);
  d->nr += n_rules;
  return MS_OK;
}

void ms_decisions_free(ms_decisions *d) {
  if (!d) return;
  free(d->e);
  free(d->r);
  free(d->names);
  free(d);
}

size_t ms_decisions_count(const ms_decisions *d) { return d ? d->n : 0; }

const char *ms_decisions_evaluated_by(const ms_decisions *d) {
  return d && d->evaluated_by[0] ? d->evaluated_by : NULL;
}

int ms_decisions_get(const ms_decisions *d, size_t i, const char **endpoint, int64_t *at_us, int64_t *from,
                     int64_t *to, int64_t *applied_rule_id) {
  if (!d) return ms__fail(MS_EINVAL, "autoscaler: ms_decisions_get: NULL decisions");
  if (i >= d->n)
    return ms__fail(MS_EINVAL, "autoscaler: ms_decisions_get: entry %zu out of range (%zu entries)", i, d->n);
  const as_dec_entry *e = &d->e[i];
  if (endpoint) *endpoint = d->names + e->name_off;
  if (at_us) *at_us = e->at;
  if (from) *from = e->from;
  if (to) *to = e->to;
  if (applied_rule_id) *applied_rule_id = e->applied;
  return MS_OK;
}

size_t ms_decisions_rule_count(const ms_decisions *d, size_t i) { return d && i < d->n ? d->e[i].n_rules : 0; }

static const as_dec_rule *rule_at(const ms_decisions *d, size_t i, size_t j, const char *call) {
  if (!d) {
    ms__fail(MS_EINVAL, "autoscaler: %s: NULL decisions", call);
    return NULL;
  }
  if (i >= d->n) {
    ms__fail(MS_EINVAL, "autoscaler: %s: entry %zu out of range (%zu entries)", call, i, d->n);
    return NULL;
  }
  if (j >= d->e[i].n_rules) {
    ms__fail(MS_EINVAL, "autoscaler: %s: entry %zu has %zu rules, no rule %zu", call, i, d->e[i].n_rules, j);
    return NULL;
  }
  return &d->r[d->e[i].rule_first + j];
}

int ms_decisions_get_rule(const ms_decisions *d, size_t i, size_t j, int64_t *rule_id, ms_rule_outcome *outcome,
                          double *metric_value) {
  const as_dec_rule *r = rule_at(d, i, j, "ms_decisions_get_rule");
  if (!r) return MS_EINVAL;
  if (rule_id) *rule_id = r->rule_id;
  if (outcome) *outcome = (ms_rule_outcome)r->outcome;
  if (metric_value) *metric_value = r->value;
  return MS_OK;
}

int ms_decisions_get_rule_detail(const ms_decisions *d, size_t i, size_t j, ms_comparator *cmp, double *threshold,
                                 int64_t *step, int64_t *proposed) {
  const as_dec_rule *r = rule_at(d, i, j, "ms_decisions_get_rule_detail");
  if (!r) return MS_EINVAL;
  if (cmp) *cmp = (ms_comparator)r->cmp;
  if (threshold) *threshold = r->threshold;
  if (step) *step = r->step;
  if (proposed) *proposed = r->proposed;
  return MS_OK;
}

int ms_decisions_find(const ms_decisions *d, const char *endpoint, size_t *index) {
  if (!d || !endpoint || !index)
    return ms__fail(MS_EINVAL, "autoscaler: ms_decisions_find: NULL %s",
                    !d ? "decisions" : !endpoint ? "endpoint" : "index");
  for (size_t i = 0; i < d->n; i++) {
    if (strcmp(d->names + d->e[i].name_off, endpoint) == 0) {
      *index = i;
      return MS_OK;
    }
  }
  return ms__fail(MS_ENOTFOUND, "autoscaler: ms_decisions_find: endpoint '%s': no entry", endpoint);
}

const char *ms_rule_outcome_name(int outcome) {
  switch (outcome) {
  case MS_RULE_APPLIED: return "applied";
  case MS_RULE_NOT_TRIGGERED: return "not triggered";
  case MS_RULE_NO_METRIC: return "no metric";
  case MS_RULE_COOLDOWN: return "cooldown";
  case MS_RULE_AT_BOUND: return "at bound";
  case MS_RULE_OUTVOTED: return "outvoted";
  case MS_RULE_DISABLED: return "disabled";
  default: return "unknown";
  }
}

/* Appends to a bounded buffer while counting the full length. */
typedef struct sink {
  char *buf;
  size_t cap, len;
} sink;

static void put(sink *s, const char *fmt, ...) MS_PRINTF(2, 3);
static void put(sink *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *at = s->len < s->cap ? s->buf + s->len : NULL;
  size_t room = s->len < s->cap ? s->cap - s->len : 0;
  int n = vsnprintf(at, room, fmt, ap);
  va_end(ap);
  if (n > 0) s->len += (size_t)n;
}

static void put_value(sink *s, double v) {
  if (isnan(v)) put(s, "missing");
  else put(s, "%g", v);
}

int ms_decisions_explain(const ms_decisions *d, size_t i, char *buf, size_t buf_len, size_t *needed) {
  if (!d) return ms__fail(MS_EINVAL, "autoscaler: ms_decisions_explain: NULL decisions");
  if (i >= d->n)
    return ms__fail(MS_EINVAL, "autoscaler: ms_decisions_explain: entry %zu out of range (%zu entries)", i, d->n);
  if (!buf && buf_len) return ms__fail(MS_EINVAL, "autoscaler: ms_decisions_explain: NULL buffer");
  const as_dec_entry *e = &d->e[i];
  sink s = {buf, buf_len, 0};
  if (buf_len) buf[0] = '\0';
  put(&s, "endpoint '%s': ", d->names + e->name_off);
  if (e->from == e->to) put(&s, "stays at %" PRId64, e->from);
  else put(&s, "%" PRId64 " -> %" PRId64 " by rule %" PRId64, e->from, e->to, e->applied);
  if (!e->n_rules) put(&s, " (no rules)");
  for (size_t j = 0; j < e->n_rules; j++) {
    const as_dec_rule *r = &d->r[e->rule_first + j];
    put(&s, "; rule %" PRId64 " %s (", r->rule_id, ms_rule_outcome_name(r->outcome));
    put_value(&s, r->value);
    put(&s, " %s %g, step %+" PRId64, ms__autoscaler_cmp_symbol(r->cmp), r->threshold, r->step);
    if (r->outcome == MS_RULE_APPLIED || r->outcome == MS_RULE_OUTVOTED || r->outcome == MS_RULE_AT_BOUND)
      put(&s, ", proposes %" PRId64, r->proposed);
    put(&s, ")");
  }
  if (needed) *needed = s.len;
  if (s.len >= buf_len)
    return ms__fail(MS_EINVAL,
                    "autoscaler: ms_decisions_explain: entry %zu: the explanation needs a %zu-byte buffer, got %zu",
                    i, s.len + 1, buf_len);
  return MS_OK;
}
