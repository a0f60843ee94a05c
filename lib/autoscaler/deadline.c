/* The deadline index: when time alone next changes what an evaluation
 * decides.
 *
 * Between two calls that change the engine, an evaluation's decisions depend
 * on its time `now` in two ways only: whether a rule is in its cooldown
 * (now < ready_at) and which observations are fresh (now <= at + ttl). Both
 * change at known instants: a rule's cooldown end (ready_at), an
 * observation's stale instant (at + ttl + 1). The answer at `now` is the
 * earliest of them after `now`, over the enabled rules and the series some
 * rule watches; a series stands for the earliest stale instant of its
 * observations (a pass over its slots, ms__autoscaler_series_next_stale).
 *
 * The index is one binary min-heap of such entries, each object (a series or
 * a rule) in it at most once, its position kept in the object (dl_pos) so it
 * can be taken out when the object goes away. Keys are lower bounds:
 *  - An entry's instant only moves later while nothing is written in: as
 *    `now` passes an observation's stale instant the series' next one is
 *    later; a rule is applied only outside its cooldown, so its new end is
 *    never earlier than the old one; a refreshed replica's new observation
 *    is never older than the one it replaces. So hooks leave the key alone
 *    when the instant moves later, and a query that finds its top entry's key
 *    behind the real instant moves it (sift down) and looks again: each such
 *    fix is paid for by the observation or the passing time that caused it.
 *  - An instant moves earlier only when an observation arrives that is older
 *    than others of its series (replicas reporting out of order, a new
 *    replica) or a series starts being watched: the hook then lowers the key
 *    at once (sift up), or inserts the entry.
 *  - Entries whose instant is not after `floor` (the latest query's now) are
 *    dropped: later queries ask about later times. A query with an earlier
 *    now than the previous one, or after the TTL changed, rebuilds the index
 *    from the model (O(n)), as does the first query, and one that finds more
 *    than a sixteenth of the entries behind (a rebuild is cheaper then than
 *    as many sifts). */
#include <stdlib.h>

#include "autoscaler/deadline.h"
#include "autoscaler/series.h"
#include "common/error.h"

/* ---- the entries' objects */

static void set_pos(const as_dl_entry *e, uint32_t pos) {
  if (e->is_rule) {
    e->ep->rules_cold[e->index].dl_pos = pos;
  } else {
    as_series_cold *c = &e->ep->series_cold[e->index];
    c->dl_pos = pos;
    c->dl_key = e->key;
  }
}

/* A rule's instant after `now`: the end of its running cooldown (also of a
 * zero one, which runs until the instant it was applied at: evaluating
 * before that, as a replay going back in time does, finds it cooling). */
static int64_t rule_key(const as_endpoint *ep, size_t i, int64_t now) {
  const as_rule *r = &ep->rules[i];
  if (!r->enabled || !r->has_applied) return INT64_MAX;
  /* ready_at saturates at INT64_MAX: that cooldown never ends within time */
  return r->ready_at > now ? r->ready_at : INT64_MAX;
}

static int64_t series_key(const as_model *m, const as_endpoint *ep, size_t si, int64_t now) {
  if (!ep->series_cold[si].n_rules) return INT64_MAX;
  return ms__autoscaler_series_next_stale(&ep->series[si], &ep->series_cold[si], now, m->ttl_us);
}

static int64_t key_now(const as_model *m, const as_dl_entry *e, int64_t now) {
  return e->is_rule ? rule_key(e->ep, e->index, now) : series_key(m, e->ep, e->index, now);
}

/* ---- the heap */

static void place(as_deadlines *dl, size_t at, as_dl_entry e) {
  dl->e[at] = e;
  set_pos(&dl->e[at], (uint32_t)at);
}

static void sift_up(as_deadlines *dl, size_t at) {
  as_dl_entry e = dl->e[at];
  while (at > 0) {
    size_t parent = (at - 1) / 2;
    if (dl->e[parent].key <= e.key) break;
    place(dl, at, dl->e[parent]);
    at = parent;
  }
  place(dl, at, e);
}

static void sift_down(as_deadlines *dl, size_t at) {
  as_dl_entry e = dl->e[at];
  for (;;) {
    size_t child = 2 * at + 1;
    if (child >= dl->n) break;
    if (child + 1 < dl->n && dl->e[child + 1].key < dl->e[child].key) child++;
    if (dl->e[child].key >= e.key) break;
    place(dl, at, dl->e[child]);
    at = child;
  }
  place(dl, at, e);
}

static void remove_at(as_deadlines *dl, size_t at) {
  set_pos(&dl->e[at], AS_NO_POS);
  if (at == --dl->n) return;
  place(dl, at, dl->e[dl->n]); /* the last entry fills the hole, then moves up or down */
  if (at > 0 && dl->e[at].key < dl->e[(at - 1) / 2].key) sift_up(dl, at);
  else sift_down(dl, at);
}

static void push(as_deadlines *dl, as_dl_entry e) {
  if (dl->n == dl->cap) {
    size_t cap = dl->cap ? 2 * dl->cap : 64;
    as_dl_entry *p = realloc(dl->e, cap * sizeof *p);
    if (!p) { /* no room: forget the index, the next query rebuilds it */
      dl->valid = 0;
      return;
    }
    dl->e = p;
    dl->cap = cap;
  }
  dl->e[dl->n] = e;
  sift_up(dl, dl->n++);
}

/* Lower the key of the entry at `pos` to `key` when that is earlier. */
static void lower(as_deadlines *dl, uint32_t pos, int64_t key) {
  if (key >= dl->e[pos].key) return;
  dl->e[pos].key = key;
  sift_up(dl, pos);
}

/* ---- building */

/* Every object's entry from scratch, as of `now`. On MS_ENOMEM every object
 * is out of the index and it stays invalid. */
static int rebuild(as_model *m, int64_t now) {
  as_deadlines *dl = &m->dl;
  dl->valid = 0;
  dl->n = 0;
  size_t need = 0;
  for (size_t k = 0; k < m->n_eps; k++) {
    as_endpoint *ep = m->eps[k];
    for (size_t i = 0; i < ep->n_series; i++) {
      ep->series_cold[i].dl_pos = AS_NO_POS;
      need += series_key(m, ep, i, now) != INT64_MAX;
    }
    for (size_t i = 0; i < ep->n_rules; i++) {
      ep->rules_cold[i].dl_pos = AS_NO_POS;
      need += rule_key(ep, i, now) != INT64_MAX;
    }
  }
  if (need > dl->cap) {
    size_t cap = dl->cap ? dl->cap : 64;
    while (cap < need) cap *= 2;
    as_dl_entry *p = realloc(dl->e, cap * sizeof *p);
    if (!p) return ms__fail(MS_ENOMEM, "out of memory indexing %zu deadlines", need);
    dl->e = p;
    dl->cap = cap;
  }
  for (size_t k = 0; k < m->n_eps; k++) {
    as_endpoint *ep = m->eps[k];
    for (size_t i = 0; i < ep->n_series; i++) {
      int64_t key = series_key(m, ep, i, now);
      if (key != INT64_MAX) place(dl, dl->n++, (as_dl_entry){key, ep, (uint32_t)i, 0});
    }
    for (size_t i = 0; i < ep->n_rules; i++) {
      int64_t key = rule_key(ep, i, now);
      if (key != INT64_MAX) place(dl, dl->n++, (as_dl_entry){key, ep, (uint32_t)i, 1});
    }
  }
  for (size_t i = dl->n / 2; i-- > 0;) sift_down(dl, i);
  dl->floor = now;
  dl->valid = 1;
  return MS_OK;
}

int ms__autoscaler_deadline_next(as_model *m, int64_t now, int64_t *at) {
  as_deadlines *dl = &m->dl;
  dl->active = 1;
  if (!dl->valid || now < dl->floor) {
    int st = rebuild(m, now);
    if (st) return st;
  }
  dl->floor = now;
  /* When many entries have moved (every metric observed since the last
   * call), building the heap again is cheaper than fixing them one by one
   * (a sift each): past a sixteenth of them, rebuild (O(n), paid for by
   * those fixes). */
  size_t fixes = 0, most = dl->n / 16 > 256 ? dl->n / 16 : 256;
  while (dl->n) {
    as_dl_entry *top = &dl->e[0];
    int64_t key = key_now(m, top, now);
    if (key == top->key) break;
    if (++fixes > most) {
      int st = rebuild(m, now);
      if (st) return st;
      break;
    }
    if (key == INT64_MAX) {
      remove_at(dl, 0); /* passed, disabled, or no rule watches it any more */
      continue;
    }
    top->key = key; /* later than it said (a lower bound): move it down and look again */
    sift_down(dl, 0);
  }
  *at = dl->n ? dl->e[0].key : INT64_MAX;
  return MS_OK;
}

/* ---- hooks */

void ms__autoscaler_deadline_observed(as_model *m, as_endpoint *ep, size_t si, int64_t at) {
  as_deadlines *dl = &m->dl;
  if (!dl->valid) return;
  as_series_cold *c = &ep->series_cold[si];
  int64_t key = ms__autoscaler_stale_at(at, m->ttl_us);
  if (key <= dl->floor || key == INT64_MAX) return;
  if (c->dl_pos != AS_NO_POS) {
    if (key < c->dl_key) lower(dl, c->dl_pos, key); /* older than the series' other observations */
  } else if (c->n_rules) {
    push(dl, (as_dl_entry){key, ep, (uint32_t)si, 0}); /* nothing of it was fresh past floor */
  }
}

void ms__autoscaler_deadline_watched(as_model *m, as_endpoint *ep, size_t si) {
  as_deadlines *dl = &m->dl;
  if (!dl->valid || ep->series_cold[si].dl_pos != AS_NO_POS) return;
  int64_t key = series_key(m, ep, si, dl->floor);
  if (key != INT64_MAX) push(dl, (as_dl_entry){key, ep, (uint32_t)si, 0});
}

void ms__autoscaler_deadline_rule_changed(as_model *m, as_endpoint *ep, size_t i) {
  as_deadlines *dl = &m->dl;
  if (!dl->valid) return;
  int64_t key = rule_key(ep, i, dl->floor);
  if (key == INT64_MAX) return;
  uint32_t pos = ep->rules_cold[i].dl_pos;
  if (pos != AS_NO_POS) lower(dl, pos, key);
  else push(dl, (as_dl_entry){key, ep, (uint32_t)i, 1});
}

void ms__autoscaler_deadline_rule_removing(as_model *m, as_endpoint *ep, size_t i) {
  as_deadlines *dl = &m->dl;
  if (!dl->valid) return;
  if (ep->rules_cold[i].dl_pos != AS_NO_POS) remove_at(dl, ep->rules_cold[i].dl_pos);
  for (size_t j = i + 1; j < ep->n_rules; j++)
    if (ep->rules_cold[j].dl_pos != AS_NO_POS) dl->e[ep->rules_cold[j].dl_pos].index = (uint32_t)(j - 1);
}

void ms__autoscaler_deadline_endpoint_removing(as_model *m, as_endpoint *ep) {
  as_deadlines *dl = &m->dl;
  if (!dl->valid) return;
  for (size_t i = 0; i < ep->n_series; i++)
    if (ep->series_cold[i].dl_pos != AS_NO_POS) remove_at(dl, ep->series_cold[i].dl_pos);
  for (size_t i = 0; i < ep->n_rules; i++)
    if (ep->rules_cold[i].dl_pos != AS_NO_POS) remove_at(dl, ep->rules_cold[i].dl_pos);
}

void ms__autoscaler_deadline_invalidate(as_model *m) { m->dl.valid = 0; }

void ms__autoscaler_deadline_destroy(as_model *m) {
  free(m->dl.e);
  m->dl = (as_deadlines){0};
}
