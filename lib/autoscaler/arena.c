/* The evaluation arena: the endpoints' hot arrays (rules, series aggregates)
 * and a copy of each name, packed into segments of up to AS_SEGMENT_EPS
 * endpoints each, in evaluation order within a segment.
 *
 * Configuration calls grow per-endpoint arrays on the heap, so after a setup
 * of 100,000 endpoints their hot data would lie scattered between other
 * allocations, and an evaluation would pay a cache miss per block. Packed,
 * a tick is a sequential read the hardware prefetches.
 *
 * The work is spread so that no single call pays for many endpoints:
 *  - An endpoint whose data is on the heap (created, loaded, or moved out of
 *    its segment because its arrays had to grow, see
 *    ms__autoscaler_endpoint_reserve) is "loose": it joins the tail of the
 *    loose list and is evaluated where it is, only a little slower.
 *  - Configuration calls end with ms__autoscaler_arena_maintain: once
 *    2 * AS_SEGMENT_EPS endpoints are loose, the AS_SEGMENT_EPS that became
 *    loose first are packed into a new segment. The ones left loose are the
 *    most recently touched, which a bulk setup is still adding rules to. Each
 *    endpoint is copied once per AS_SEGMENT_EPS configuration changes: the
 *    cost is amortised over the set-up calls, bounded per call.
 *  - A real evaluation packs at most AS_SEGMENT_EPS loose endpoints, so a
 *    few that stayed loose end up packed too, at a bounded cost per tick.
 *  - Opening an engine packs everything it loaded, once.
 *  - A segment frees itself when its last endpoint leaves; once half of its
 *    endpoints have left (moved out or removed), the others are moved out
 *    too, so at most half of the arena is ever dead copies.
 *
 * Within a segment, 64-byte aligned per endpoint: its rules, then its series
 * (one cache line each), then its name. On MS_ENOMEM packing is skipped:
 * the engine works without it, only slower. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler/arena.h"
#include "common/error.h"

enum { LINE = 64 };

/* What the layout promises an evaluation (model.h). */
_Static_assert(sizeof(as_series) == LINE, "a series' hot part is one cache line");
_Static_assert(sizeof(as_rule) <= LINE, "a rule's hot part fits a cache line");
_Static_assert(offsetof(as_endpoint, name) <= LINE, "an endpoint's hot part is its first cache line");
_Static_assert(offsetof(as_endpoint, name_buf) + AS_NAME_INLINE <= 2 * LINE,
               "what an observation reads of an endpoint is its first two cache lines");

struct as_segment {
  size_t packed; /* endpoints copied in */
  size_t live;   /* of them, still reading their copy */
  as_endpoint *member[]; /* [packed]; NULL once that endpoint left */
};

static size_t up(size_t n) { return (n + LINE - 1) / LINE * LINE; }

static size_t footprint(const as_endpoint *ep) {
  return up(ep->n_rules * sizeof(as_rule)) + ep->n_series * sizeof(as_series) + up(ep->name_len + 1);
}

static size_t header(size_t packed) { return up(sizeof(as_segment) + packed * sizeof(as_endpoint *)); }

/* ---- the loose list: endpoints on the heap, oldest first */

static void link_tail(as_model *m, as_endpoint *ep) {
  ep->loose_prev = m->loose_tail;
  ep->loose_next = NULL;
  if (m->loose_tail) m->loose_tail->loose_next = ep;
  else m->loose_head = ep;
  m->loose_tail = ep;
  ep->is_loose = 1;
  m->n_loose++;
}

static void unlink_loose(as_model *m, as_endpoint *ep) {
  if (ep->loose_prev) ep->loose_prev->loose_next = ep->loose_next;
  else m->loose_head = ep->loose_next;
  if (ep->loose_next) ep->loose_next->loose_prev = ep->loose_prev;
  else m->loose_tail = ep->loose_prev;
  ep->loose_prev = ep->loose_next = NULL;
  ep->is_loose = 0;
  m->n_loose--;
}

void ms__autoscaler_arena_attach(as_model *m, as_endpoint *ep) { link_tail(m, ep); }

/* ---- leaving a segment */

/* Give ep heap copies of its hot arrays, sized to the cold arrays' capacity,
 * and make it loose. The segment is not freed here. */
static int move_out(as_model *m, as_endpoint *ep) {
  size_t cr = ep->cap_rules ? ep->cap_rules : 1, cs = ep->cap_series ? ep->cap_series : 1;
  as_rule *r = malloc(cr * sizeof *r);
  as_series *s = malloc(cs * sizeof *s);
  if (!r || !s) {
    free(r);
    free(s);
    return ms__fail(MS_ENOMEM, "out of memory moving the endpoint's data out of its segment");
  }
  if (ep->n_rules) memcpy(r, ep->rules, ep->n_rules * sizeof *r);
  if (ep->n_series) memcpy(s, ep->series, ep->n_series * sizeof *s);
  as_segment *seg = ep->seg;
  seg->member[ep->seg_slot] = NULL;
  seg->live--;
  ep->rules = r;
  ep->series = s;
  ep->hot_name = ep->name;
  ep->seg = NULL;
  link_tail(m, ep);
  return MS_OK;
}

/* After an endpoint left seg: free it when empty; move the rest out once half
 * have left (stopping, harmlessly, if memory runs out). */
static void settle(as_model *m, as_segment *seg) {
  if (seg->live && seg->live * 2 <= seg->packed && !m->closing)
    for (size_t i = 0; i < seg->packed && seg->live; i++)
      if (seg->member[i] && move_out(m, seg->member[i])) break;
  if (!seg->live) free(seg);
}

int ms__autoscaler_arena_leave(as_model *m, as_endpoint *ep) {
  as_segment *seg = ep->seg;
  if (!seg) return MS_OK;
  int st = move_out(m, ep);
  if (!st) settle(m, seg);
  return st;
}

void ms__autoscaler_arena_forget(as_model *m, as_endpoint *ep) {
  if (ep->is_loose) unlink_loose(m, ep);
  as_segment *seg = ep->seg;
  if (!seg) return;
  seg->member[ep->seg_slot] = NULL;
  seg->live--;
  ep->seg = NULL;
  settle(m, seg);
}

/* ---- packing */

static int by_id(const void *x, const void *y) {
  const as_endpoint *p = *(as_endpoint *const *)x, *q = *(as_endpoint *const *)y;
  return p->id < q->id ? -1 : p->id > q->id;
}

/* Pack the k oldest loose endpoints (k <= n_loose) into one new segment. */
static int pack(as_model *m, size_t k) {
  if (!k) return MS_OK;
  size_t total = header(k);
  const as_endpoint *ep = m->loose_head;
  for (size_t i = 0; i < k; i++, ep = ep->loose_next) total += footprint(ep);
  as_segment *seg = aligned_alloc(LINE, total);
  if (!seg) return MS_ENOMEM; /* no message: the caller carries on without it */
  seg->packed = seg->live = k;
  for (size_t i = 0; i < k; i++) {
    seg->member[i] = m->loose_head;
    unlink_loose(m, m->loose_head);
  }
  qsort(seg->member, k, sizeof seg->member[0], by_id); /* evaluation order */
  unsigned char *at = (unsigned char *)seg + header(k);
  for (size_t i = 0; i < k; i++) {
    as_endpoint *e = seg->member[i];
    as_rule *rules = (as_rule *)(void *)at;
    if (e->n_rules) memcpy(rules, e->rules, e->n_rules * sizeof *rules);
    at += up(e->n_rules * sizeof *rules);
    as_series *series = (as_series *)(void *)at;
    if (e->n_series) memcpy(series, e->series, e->n_series * sizeof *series);
    at += e->n_series * sizeof *series;
    char *name = (char *)at;
    memcpy(name, e->name, e->name_len + 1);
    at += up(e->name_len + 1);
    free(e->rules);
    free(e->series);
    e->rules = rules;
    e->series = series;
    e->hot_name = name;
    e->seg = seg;
    e->seg_slot = (uint32_t)i;
  }
  return MS_OK;
}

void ms__autoscaler_arena_maintain(as_model *m) {
  if (m->n_loose >= 2 * AS_SEGMENT_EPS) (void)pack(m, AS_SEGMENT_EPS);
}

void ms__autoscaler_arena_pack_some(as_model *m) {
  (void)pack(m, m->n_loose < AS_SEGMENT_EPS ? m->n_loose : AS_SEGMENT_EPS);
}

void ms__autoscaler_arena_pack_all(as_model *m) {
  while (m->n_loose && !pack(m, m->n_loose < AS_SEGMENT_EPS ? m->n_loose : AS_SEGMENT_EPS)) {
  }
}
