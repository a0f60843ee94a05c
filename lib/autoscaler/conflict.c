/* Rule conflicts in O(log n): an index of the enabled rules of each
 * (endpoint, metric, aggregation), so that adding or enabling a rule does not
 * compare it with every rule of its endpoint.
 *
 * The values a trigger fires for form a half-line: LT/LE t give (-inf, t) /
 * (-inf, t], GT/GE t give (t, inf) / [t, inf). A new rule X conflicts when its
 * half-line meets the half-line of an enabled rule Y of the opposite direction
 * (step sign) on the same series and aggregation:
 *   - X and Y on the same side (both bounded above, or both below) always meet;
 *   - on opposite sides they meet iff the lower end is below the upper end, or
 *     both ends are the same closed point ([50, inf) and (-inf, 50]).
 * So per (series, aggregation, direction, side) it is enough to know whether
 * any rule is there, and which one reaches farthest towards the other side:
 * the largest upper end of the LT/LE rules, the smallest lower end of the
 * GT/GE rules, a closed end before an open one at the same threshold. If that
 * rule does not meet X, no rule there does.
 *
 * Each such group of a series that has rules is a binary heap ordered that
 * way (ties: lowest id), with each rule's position kept in its cold part so a
 * rule removed or disabled leaves its heap in O(log n) (each move looks the
 * rule up by id: O(log^2 n) in all). A series holds only the heaps it uses
 * (most hold one, of one rule: about 64 bytes). Adding needs room in the
 * heap, which ms__autoscaler_conflicts_reserve makes before the store is
 * written, so the steps after the commit cannot fail. */
#include <stdio.h>
#include <stdlib.h>

#include "autoscaler/conflict.h"
#include "autoscaler/rule.h"
#include "common/error.h"

static int is_up(int64_t step) { return step > 0; }
static int is_above(int cmp) { return cmp == MS_CMP_GT || cmp == MS_CMP_GE; }
static int is_closed(int cmp) { return cmp == MS_CMP_LE || cmp == MS_CMP_GE; }

/* The heap of (agg, up, above) in cf, or NULL. */
static as_cheap *find(as_conflicts *cf, int agg, int up, int above) {
  if (!cf) return NULL;
  for (uint32_t i = 0; i < cf->n; i++) {
    as_cheap *h = &cf->h[i];
    if (h->agg == agg && h->up == up && h->above == above) return h;
  }
  return NULL;
}

/* The heap an indexed rule with these settings is in. */
static as_cheap *heap_of(as_conflicts *cf, int agg, int cmp, int64_t step) {
  return find(cf, agg, is_up(step), is_above(cmp));
}

/* Reaching farther first: in both sides the key grows away from the other
 * side (the threshold above, minus the threshold below). */
static int before(const as_centry *x, const as_centry *y) {
  if (x->key != y->key) return x->key < y->key;
  if (x->closed != y->closed) return x->closed > y->closed;
  return x->id < y->id;
}

static void set_pos(as_endpoint *ep, int64_t id, uint32_t pos) {
  ep->rules_cold[ms__autoscaler_rule_index(ep, id)].heap_pos = pos;
}

static void put(as_endpoint *ep, as_cheap *h, uint32_t at, as_centry e) {
  h->e[at] = e;
  set_pos(ep, e.id, at);
}

static void sift_up(as_endpoint *ep, as_cheap *h, uint32_t at) {
  as_centry e = h->e[at];
  while (at > 0) {
    uint32_t parent = (at - 1) / 2;
    if (!before(&e, &h->e[parent])) break;
    put(ep, h, at, h->e[parent]);
    at = parent;
  }
  put(ep, h, at, e);
}

static void sift_down(as_endpoint *ep, as_cheap *h, uint32_t at) {
  as_centry e = h->e[at];
  for (;;) {
    uint32_t child = 2 * at + 1;
    if (child >= h->n) break;
    if (child + 1 < h->n && before(&h->e[child + 1], &h->e[child])) child++;
    if (!before(&h->e[child], &e)) break;
    put(ep, h, at, h->e[child]);
    at = child;
  }
  put(ep, h, at, e);
}

static int no_memory(const as_series_cold *c) {
  return ms__fail(MS_ENOMEM, "out of memory indexing the rules of '%s/%s'", c->source, c->metric);
}

int ms__autoscaler_conflicts_reserve(as_series_cold *c, int agg, int cmp, int64_t step) {
  as_cheap *h = heap_of(c->cf, agg, cmp, step);
  if (!h) { /* a heap for this group: an empty one, which takes nothing back */
    uint32_t n = c->cf ? c->cf->n : 0, cap = c->cf ? c->cf->cap : 0;
    if (n == cap) {
      cap = cap ? 2 * cap : 1;
      as_conflicts *cf = realloc(c->cf, sizeof *cf + cap * sizeof cf->h[0]);
      if (!cf) return no_memory(c);
      if (!c->cf) cf->n = 0;
      cf->cap = cap;
      c->cf = cf;
    }
    h = &c->cf->h[c->cf->n++];
    *h = (as_cheap){.agg = (unsigned char)agg, .up = (unsigned char)is_up(step),
                    .above = (unsigned char)is_above(cmp), .n = 0, .cap = 0, .e = NULL};
  }
  if (h->n < h->cap) return MS_OK;
  uint32_t cap = h->cap ? h->cap * 2 : 1;
  as_centry *e = realloc(h->e, cap * sizeof *e);
  if (!e) return no_memory(c);
  h->e = e;
  h->cap = cap;
  return MS_OK;
}

void ms__autoscaler_conflicts_insert(as_endpoint *ep, size_t i) {
  const as_rule *r = &ep->rules[i];
  as_cheap *h = heap_of(ep->series_cold[r->series].cf, r->agg, r->cmp, r->step);
  as_centry e = {.key = is_above(r->cmp) ? r->threshold : -r->threshold, .id = r->id, .closed = is_closed(r->cmp)};
  h->e[h->n] = e;
  sift_up(ep, h, h->n++);
}

void ms__autoscaler_conflicts_remove(as_endpoint *ep, size_t i) {
  const as_rule *r = &ep->rules[i];
  as_cheap *h = heap_of(ep->series_cold[r->series].cf, r->agg, r->cmp, r->step);
  uint32_t at = ep->rules_cold[i].heap_pos;
  if (at >= --h->n) return; /* it was the last element */
  h->e[at] = h->e[h->n]; /* the last entry fills the hole, then moves up or down */
  if (at > 0 && before(&h->e[at], &h->e[(at - 1) / 2])) sift_up(ep, h, at);
  else sift_down(ep, h, at);
}

void ms__autoscaler_conflicts_free(as_conflicts *cf) {
  if (!cf) return;
  for (uint32_t i = 0; i < cf->n; i++) free(cf->h[i].e);
  free(cf);
}

/* ---- the check, and the message naming both rules and where they meet */

/* A trigger's half-line, or the intersection of two, with open or closed
 * finite ends. */
typedef struct interval {
  int has_lo, has_hi;
  double lo, hi;
  int lo_closed, hi_closed;
} interval;

static interval trigger_set(int cmp, double t) {
  interval v = {0, 0, 0, 0, 0, 0};
  if (is_above(cmp)) {
    v.has_lo = 1;
    v.lo = t;
    v.lo_closed = is_closed(cmp);
  } else {
    v.has_hi = 1;
    v.hi = t;
    v.hi_closed = is_closed(cmp);
  }
  return v;
}

/* The intersection of two half-lines known to meet. */
static interval intersect(interval a, interval b) {
  interval r = a;
  if (b.has_lo) {
    if (!r.has_lo || b.lo > r.lo) {
      r.has_lo = 1;
      r.lo = b.lo;
      r.lo_closed = b.lo_closed;
    } else if (b.lo == r.lo) {
      r.lo_closed = r.lo_closed && b.lo_closed;
    }
  }
  if (b.has_hi) {
    if (!r.has_hi || b.hi < r.hi) {
      r.has_hi = 1;
      r.hi = b.hi;
      r.hi_closed = b.hi_closed;
    } else if (b.hi == r.hi) {
      r.hi_closed = r.hi_closed && b.hi_closed;
    }
  }
  return r;
}

static void format_interval(interval v, char *buf, size_t cap) {
  char lo[48], hi[48];
  if (v.has_lo) snprintf(lo, sizeof lo, "%c%g", v.lo_closed ? '[' : '(', v.lo);
  else snprintf(lo, sizeof lo, "(-inf");
  if (v.has_hi) snprintf(hi, sizeof hi, "%g%c", v.hi, v.hi_closed ? ']' : ')');
  else snprintf(hi, sizeof hi, "inf)");
  snprintf(buf, cap, "%s, %s", lo, hi);
}

int ms__autoscaler_conflicts_check(const as_endpoint *ep, size_t series, int agg, int cmp, double threshold,
                                   int64_t step, int64_t self_id) {
  if (series >= ep->n_series) return MS_OK; /* a metric no rule watches yet */
  const as_series_cold *c = &ep->series_cold[series];
  int opp = !is_up(step), side = is_above(cmp);
  const as_cheap *same = find(c->cf, agg, opp, side), *across = find(c->cf, agg, opp, !side);
  const as_centry *hit = same && same->n ? &same->e[0] : NULL; /* same side: always meets */
  if (across && across->n) {
    const as_centry *y = &across->e[0];
    double end = side ? -y->key : y->key; /* its upper end (X above) or lower end (X below) */
    int meets = side ? end > threshold : end < threshold;
    if (end == threshold) meets = is_closed(cmp) && y->closed;
    if (meets && (!hit || y->id < hit->id)) hit = y;
  }
  if (!hit) return MS_OK;
  const as_rule *o = &ep->rules[ms__autoscaler_rule_index(ep, hit->id)];
  char range[112], self[48];
  format_interval(intersect(trigger_set(cmp, threshold), trigger_set(o->cmp, o->threshold)), range, sizeof range);
  if (self_id >= 0) snprintf(self, sizeof self, "rule %lld", (long long)self_id);
  else snprintf(self, sizeof self, "the new rule");
  return ms__fail(MS_ECONFLICT, "%s (%s/%s %s %s %g, step %+lld) conflicts with rule %lld (%s %g, step %+lld): both "
                  "fire for values in %s",
                  self, c->source, c->metric, ms__autoscaler_agg_name(agg), ms__autoscaler_cmp_symbol(cmp), threshold,
                  (long long)step, (long long)o->id, ms__autoscaler_cmp_symbol(o->cmp), o->threshold,
                  (long long)o->step, range);
}
