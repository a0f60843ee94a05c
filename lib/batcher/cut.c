/* Batcher: the cut rules, "is a batch due", and the exact next deadline.
 *
 * A walk takes pending requests in queue order while they fit. Without an
 * expired delay it stops once the running total passes the largest
 * preferred size (rule 2), so it visits at most max-preferred + 1 requests;
 * with an expired delay it stops past the max batch. Either way a poll costs
 * O(max batch), whatever the queue length. */
#include <stdlib.h>
#include <string.h>

#include "batcher/batcher_internal.h"
#include "common/error.h"

/* Rules 1-2 (time-independent): does a prefix of the queue hit a preferred
 * size, or does the queue pass the largest one? */
static int size_due_walk(const ms_batcher *b) {
  int64_t pmax = b->pref[b->n_pref - 1], total = 0;
  /* More items than the largest preferred size: whatever the order, the
   * walk passes it (rule 2) or hits a preferred size first (rule 1). So the
   * walk below only ever runs over fewer than pmax requests. */
  if (b->items_pending > pmax) return 1;
  size_t pi = 0;
  int level = 0;
  for (uint32_t node = ms__batcher_first(b, &level); node != MS__BNIL; node = ms__batcher_after(b, node, &level)) {
    total += ms__batcher_node(b, node)->items;
    if (total > pmax) return 1;
    while (pi < b->n_pref && b->pref[pi] < total) pi++;
    if (pi < b->n_pref && b->pref[pi] == total) return 1;
  }
  return 0;
}

static int size_due(ms_batcher *b) {
  if (b->size_state == MS__BSIZE_UNKNOWN) b->size_state = size_due_walk(b) ? MS__BSIZE_DUE : MS__BSIZE_NOT_DUE;
  return b->size_state == MS__BSIZE_DUE;
}

int ms__batcher_due(ms_batcher *b) {
  if (b->n_expired || b->n_canceled) return 1;
  if (!b->n_pending) return 0;
  if (b->size_state == MS__BSIZE_DUE || b->max_delay == 0) return 1;
  return ms__batcher_delay_expired(b, b->now) || size_due(b);
}

int ms__batcher_cut(ms_batcher *b, int64_t now, ms_batch **out) {
  ms_batch *x = NULL;
  if (b->n_expired) {
    x = ms__batcher_take_list(b, MS_ETIMEDOUT, now);
  } else if (b->n_canceled) {
    x = ms__batcher_take_list(b, MS_ECANCELED, now);
  } else if (b->n_pending) {
    int expired = ms__batcher_delay_expired(b, now);
    int64_t pmax = b->pref[b->n_pref - 1], total = 0;
    size_t n = 0, pi = 0, n_pref = 0, n_pmax = 0;
    int64_t items_pref = 0, items_pmax = 0;
    int passed = 0;
    int level = 0;
    uint32_t seen[64]; /* the first nodes walked, handed to take_run */
    for (uint32_t node = ms__batcher_first(b, &level); node != MS__BNIL; node = ms__batcher_after(b, node, &level)) {
      if (n < 64) seen[n] = node;
      int64_t next = total + ms__batcher_node(b, node)->items;
      if (next > pmax && !passed) {
        passed = 1;
        n_pmax = n;
        items_pmax = total;
        if (!expired) break;
      }
      if (next > b->max_batch) break;
      total = next;
      n++;
      while (pi < b->n_pref && b->pref[pi] < total) pi++;
      if (pi < b->n_pref && b->pref[pi] == total) n_pref = n, items_pref = total;
    }
    size_t take = 0;
    int64_t items = 0;
    if (!expired && n_pref) {
      take = n_pref, items = items_pref; /* rule 1 */
    } else if (!expired && passed) {
      if (n_pmax) {
        take = n_pmax, items = items_pmax; /* rule 2 */
      } else {
        take = 1; /* rule 2, nothing ahead: that request alone */
        int l = 0;
        items = ms__batcher_node(b, ms__batcher_first(b, &l))->items;
      }
    } else if (expired || b->max_delay == 0) {
      take = n, items = total; /* rules 2-3 once the delay expired, or no delay */
    }
    if (take) x = ms__batcher_take_run(b, take, items, now, take <= 64 ? seen : NULL);
    else {
      /* The walk above saw the whole queue without a preferred hit or
       * passing the largest one: remember that rules 1-2 do not fire. */
      b->size_state = MS__BSIZE_NOT_DUE;
      *out = NULL;
      return MS_OK;
    }
  } else {
    *out = NULL;
    return MS_OK;
  }
  if (!x) return MS_ENOMEM;
  *out = x;
  return MS_OK;
}

/* ---- next deadline ---------------------------------------------------------
 * Nothing is due now, so rules 1-2 do not fire: the whole queue holds fewer
 * items than the largest preferred size, hence fewer requests. What can make
 * a batch due without a call: the oldest request's delay end, a timeout
 * under MS_TIMEOUT_REJECT (a timed-out batch), or a timeout under
 * MS_TIMEOUT_DELAY that reorders the queue so that rules 1-2 fire. The last
 * one is found by replaying those timeouts, in the order ms__batcher_expire
 * would process them, on a copy of the (short) queue. */

typedef struct sim_node {
  int64_t items;
  int level;
  int was_delayed; /* in its level's delayed list already */
  int moved;       /* moved there by the replay */
} sim_node;

typedef struct sim_event {
  int64_t deadline, submit_us; /* ties: as the class heap orders them */
  uint32_t seq;                /* the copy's index: level, then queue order */
} sim_event;

static int event_cmp(const void *pa, const void *pb) {
  const sim_event *a = pa, *e = pb;
  if (a->deadline != e->deadline) return a->deadline < e->deadline ? -1 : 1;
  if (a->submit_us != e->submit_us) return a->submit_us < e->submit_us ? -1 : 1;
  return a->seq < e->seq ? -1 : a->seq > e->seq;
}

typedef struct sim_walk {
  int64_t pmax, total;
  size_t pi;
} sim_walk;

/* Add one request to the walk; 1 when rules 1-2 fire. */
static int sim_add(const ms_batcher *b, sim_walk *w, int64_t items) {
  w->total += items;
  if (w->total > w->pmax) return 1;
  while (w->pi < b->n_pref && b->pref[w->pi] < w->total) w->pi++;
  return w->pi < b->n_pref && b->pref[w->pi] == w->total;
}

/* Rules 1-2 over the replayed queue: per level, the main requests that did
 * not move, the ones delayed before the replay, then those it moved. */
static int sim_size_due(const ms_batcher *b, const sim_node *q, const uint32_t *level_start, const uint32_t *moved,
                        uint32_t n_moved) {
  sim_walk w = {b->pref[b->n_pref - 1], 0, 0};
  for (int l = 0; l < b->n_levels; l++) {
    for (uint32_t i = level_start[l]; i < level_start[l + 1]; i++)
      if (!q[i].was_delayed && !q[i].moved && sim_add(b, &w, q[i].items)) return 1;
    for (uint32_t i = level_start[l]; i < level_start[l + 1]; i++)
      if (q[i].was_delayed && sim_add(b, &w, q[i].items)) return 1;
    for (uint32_t k = 0; k < n_moved; k++)
      if (q[moved[k]].level == l && sim_add(b, &w, q[moved[k]].items)) return 1;
  }
  return 0;
}

/* The first DELAY timeout before `limit` after which rules 1-2 fire, or
 * limit. Above a work bound (or without memory) it answers the first such
 * timeout instead: early, never late. */
static int64_t delay_replay(ms_batcher *b, int64_t limit) {
  size_t n_events = 0;
  int64_t first = INT64_MAX;
  for (uint32_t h = 0; h < b->n_heap; h++) {
    const ms__bclass *k = &b->cls[b->heap[h].cls];
    if (b->levels[k->level].action != MS_TIMEOUT_DELAY) continue;
    for (uint32_t node = k->head; node != MS__BNIL; node = ms__batcher_node(b, node)->tnext) {
      int64_t d = ms__batcher_sat_add(ms__batcher_node(b, node)->submit_us, k->timeout_us);
      if (d >= limit) break;
      if (d < first) first = d;
      n_events++;
    }
  }
  if (!n_events) return limit;
  size_t m = (size_t)b->n_pending;
  if ((double)m * (double)n_events > 16e6) return first;
  sim_node *q = malloc(m * sizeof *q);
  sim_event *ev = malloc(n_events * sizeof *ev);
  uint32_t *moved = malloc(n_events * sizeof *moved);
  uint32_t *level_start = malloc(((size_t)b->n_levels + 1) * sizeof *level_start);
  int64_t answer = limit;
  if (!q || !ev || !moved || !level_start) {
    answer = first;
    goto done;
  }
  size_t i = 0, e = 0;
  for (int l = 0; l < b->n_levels; l++) {
    level_start[l] = (uint32_t)i;
    const ms__blevel *v = &b->levels[l];
    int part = 0;
    for (uint32_t node = v->head; node != MS__BNIL; node = ms__batcher_node(b, node)->next) {
      const ms__bnode *n = ms__batcher_node(b, node);
      if (node == v->dfirst) part = 1;
      q[i].items = n->items;
      q[i].level = l;
      q[i].was_delayed = part;
      q[i].moved = 0;
      uint32_t c = ms__bn_cls(n);
      if (!part && c != MS__BNIL && v->action == MS_TIMEOUT_DELAY) {
        int64_t d = ms__batcher_sat_add(n->submit_us, b->cls[c].timeout_us);
        if (d < limit && e < n_events) {
          ev[e].deadline = d;
          ev[e].submit_us = n->submit_us;
          ev[e].seq = (uint32_t)i;
          e++;
        }
      }
      i++;
    }
  }
  level_start[b->n_levels] = (uint32_t)i;
  qsort(ev, e, sizeof *ev, event_cmp);
  uint32_t n_moved = 0;
  for (size_t k = 0; k < e;) {
    int64_t d = ev[k].deadline;
    for (; k < e && ev[k].deadline == d; k++) {
      q[ev[k].seq].moved = 1;
      moved[n_moved++] = ev[k].seq;
    }
    if (sim_size_due(b, q, level_start, moved, n_moved)) {
      answer = d;
      break;
    }
  }
done:
  free(q);
  free(ev);
  free(moved);
  free(level_start);
  return answer;
}

int64_t ms__batcher_next_deadline(ms_batcher *b) {
  if (ms__batcher_due(b)) return b->now;
  if (!b->n_pending) return INT64_MAX;
  int64_t t = INT64_MAX;
  if (b->max_delay > 0) t = ms__batcher_sat_add(ms__batcher_node(b, b->ahead)->submit_us, b->max_delay);
  int any_delay = 0;
  for (uint32_t h = 0; h < b->n_heap; h++) {
    uint32_t c = b->heap[h].cls;
    if (b->levels[b->cls[c].level].action == MS_TIMEOUT_DELAY) {
      any_delay = 1;
      continue;
    }
    int64_t d = ms__batcher_class_deadline(b, c);
    if (d < t) t = d;
  }
  if (any_delay) t = delay_replay(b, t);
  return t;
}

size_t ms__batcher_bytes(const ms_batcher *b) {
  return sizeof *b + (size_t)b->n_chunks * MS__BCHUNK * sizeof(ms__bnode) + (size_t)b->hcap * sizeof(uint32_t) +
         (size_t)b->cap_cls * (sizeof(ms__bclass) + sizeof(ms__bheap)) + (size_t)b->cmap_cap * sizeof(uint32_t);
}
