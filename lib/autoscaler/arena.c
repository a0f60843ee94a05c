/* The evaluation arena: every endpoint's hot arrays (rules, series
 * aggregates) and a copy of its name, copied into one block in evaluation
 * order.
 *
 * Configuration calls grow per-endpoint arrays on the heap, so after a setup
 * of 100,000 endpoints their hot data lies scattered between other
 * allocations, and an evaluation pays a cache miss per block. Copying it once
 * into one block makes a tick a sequential read the hardware prefetches.
 *
 * When it is rebuilt: an endpoint created since, or whose arrays had to grow
 * (as_ep_reserve moves them back to the heap), is evaluated where it is, only
 * a little slower; a removed one leaves its share unused. The copy is redone
 * before an evaluation once such endpoints make an eighth of all of them, so
 * its cost (linear in the rules) is paid at most once per n/8 configuration
 * changes, and in steady state never.
 *
 * Per endpoint, 64-byte aligned: its rules, then its series (one cache line
 * each), then its name. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "autoscaler_internal.h"

enum { LINE = 64 };

/* What the layout promises an evaluation (autoscaler_internal.h). */
_Static_assert(sizeof(as_series) == LINE, "a series' hot part is one cache line");
_Static_assert(sizeof(as_rule) <= LINE, "a rule's hot part fits a cache line");
_Static_assert(offsetof(as_endpoint, name) <= LINE, "an endpoint's hot part is its first cache line");

static size_t up(size_t n) { return (n + LINE - 1) / LINE * LINE; }

static size_t footprint(const as_endpoint *ep) {
  return up(ep->n_rules * sizeof(as_rule)) + ep->n_series * sizeof(as_series) + up(ep->name_len + 1);
}

int as_arena_due(const ms_autoscaler *a) { return a->arena_stale && a->arena_stale >= a->n_eps / 8; }

int as_arena_build(ms_autoscaler *a) {
  size_t total = 0;
  for (size_t i = 0; i < a->n_eps; i++) total += footprint(a->eps[i]);
  unsigned char *arena = total ? aligned_alloc(LINE, total) : NULL;
  if (total && !arena) return MS_ENOMEM; /* no message: the caller carries on without the arena */
  unsigned char *at = arena;
  for (size_t i = 0; i < a->n_eps; i++) {
    as_endpoint *ep = a->eps[i];
    as_rule *rules = (as_rule *)(void *)at;
    if (ep->n_rules) memcpy(rules, ep->rules, ep->n_rules * sizeof *rules);
    at += up(ep->n_rules * sizeof *rules);
    as_series *series = (as_series *)(void *)at;
    if (ep->n_series) memcpy(series, ep->series, ep->n_series * sizeof *series);
    at += ep->n_series * sizeof *series;
    char *name = (char *)at;
    memcpy(name, ep->name, ep->name_len + 1);
    at += up(ep->name_len + 1);
    ep->hot_name = name;
    if (!ep->in_arena) {
      free(ep->rules);
      free(ep->series);
    }
    ep->rules = rules;
    ep->series = series;
    ep->in_arena = 1;
  }
  free(a->arena);
  a->arena = arena;
  a->arena_stale = 0;
  return MS_OK;
}
