/* Demo: the autoscaling rule engine on a short replay of a GPU endpoint —
 * the Backend.AI failures it avoids, one per line: a step crossing max is
 * clamped, not skipped; two firing rules do not compound; a contradicting rule
 * is refused; a missing metric never scales; an endpoint at zero replicas
 * scales up on an endpoint-wide queue length; and a restarted host continues
 * the same cooldown. Time is passed in, so the demo moves the clock by hand. */
#include <math.h>
#include <mserve/autoscaler.h>
#include <stdio.h>

#include "demo.h"

static int rule(ms_autoscaler *a, const char *ep, const char *src, const char *met, ms_comparator cmp, double thr,
                int64_t step, int64_t cooldown_s, int64_t max, int64_t *id) {
  ms_rule *r = NULL;
  int st = ms_rule_new(&r);
  if (!st) st = ms_rule_set_metric(r, src, met);
  if (!st) st = ms_rule_set_trigger(r, cmp, thr);
  if (!st) st = ms_rule_set_step(r, step);
  if (!st) st = ms_rule_set_cooldown(r, MS_SEC(cooldown_s));
  if (!st) st = ms_rule_set_bounds(r, 0, max);
  if (!st) st = ms_autoscaler_add_rule(a, ep, r, id);
  ms_rule_free(r);
  return st;
}

/* Evaluate at t0 + t seconds and print the endpoint's decision. */
static int tick(ms_autoscaler *a, int64_t t0, int t, const char *ep) {
  ms_decisions *d = NULL;
  int st = ms_autoscaler_evaluate(a, t0 + MS_SEC(t), 0, &d);
  if (st) return demo_fail("ms_autoscaler_evaluate", st);
  size_t i = 0;
  char line[512];
  if (!(st = ms_decisions_find(d, ep, &i))) st = ms_decisions_explain(d, i, line, sizeof line, NULL);
  if (!st) demo_printf("[autoscaler] t=%3ds %s\n", t, line);
  ms_decisions_free(d);
  return st ? demo_fail("ms_decisions_explain", st) : 0;
}

static int gpu(ms_autoscaler *a, int64_t t0) {
  int64_t up = 0, burst = 0;
  int st = ms_autoscaler_set_replicas(a, "chat", 3);
  if (!st) st = rule(a, "chat", "kernel", "cuda.util", MS_CMP_GT, 80, +1, 300, 4, &up);
  if (!st) st = rule(a, "chat", "proxy", "queue_len", MS_CMP_GT, 30, +2, 300, 4, &burst);
  if (st) return demo_fail("ms_autoscaler_add_rule", st);
  demo_printf("[autoscaler] endpoint 'chat' at 3 replicas, max 4, 5 min cooldowns: rule %lld util > 80 -> +1, "
         "rule %lld queue > 30 -> +2\n",
         (long long)up, (long long)burst);

  st = rule(a, "chat", "kernel", "cuda.util", MS_CMP_LT, 90, -1, 60, 4, NULL);
  demo_printf("[autoscaler] adding util < 90 -> -1 is refused: %s\n", st == MS_ECONFLICT ? ms_errmsg() : "NOT REFUSED");
  if (st != MS_ECONFLICT) return 1;

  /* Both rules fire: 3 + 2 crosses max 4 and is clamped to it; no compounding. */
  const char *reps[] = {"r0", "r1", "r2"};
  for (int i = 0; i < 3; i++)
    if ((st = ms_autoscaler_observe(a, "chat", "kernel", "cuda.util", reps[i], 95, t0))) break;
  if (!st) st = ms_autoscaler_observe(a, "chat", "proxy", "queue_len", NULL, 120, t0); /* 120 / 3 = 40 */
  if (st) return demo_fail("ms_autoscaler_observe", st);
  if (tick(a, t0, 0, "chat")) return 1;
  /* The metrics stop arriving: once stale (60 s TTL), nothing scales. */
  return tick(a, t0, 90, "chat");
}

static int from_zero(ms_autoscaler *a, int64_t t0) {
  int st = ms_autoscaler_set_replicas(a, "batch", 0);
  if (!st) st = rule(a, "batch", "proxy", "queue_len", MS_CMP_GT, 5, +1, 0, 8, NULL);
  if (!st) st = ms_autoscaler_observe(a, "batch", "proxy", "queue_len", NULL, 12, t0 + MS_SEC(100));
  if (st) return demo_fail("setting up 'batch'", st);
  return tick(a, t0, 100, "batch"); /* 12 / max(1, 0) > 5 */
}

/* The store at `path` and an engine over it; 1 (reported as `what`) on failure. */
static int open_engine(const char *path, const char *what, ms_store **s, ms_autoscaler **a) {
  int st = ms_store_open(path, 0, s);
  if (!st) st = ms_autoscaler_open(*s, a);
  if (st) {
    ms_store_close(*s);
    return demo_fail(what, st);
  }
  return 0;
}

/* Reopen the store: counts, history and cooldowns come back with it. */
static int restart(const char *path, int64_t t0) {
  ms_store *s = NULL;
  ms_autoscaler *a = NULL;
  if (open_engine(path, "reopening the autoscaler", &s, &a)) return 1;
  int64_t n = -1;
  int st;
  ms_decisions *h = NULL;
  if (!(st = ms_autoscaler_get_replicas(a, "batch", &n)) && !(st = ms_autoscaler_history(a, "chat", 0, &h))) {
    demo_printf("[autoscaler] restarted: 'batch' wants %lld replica, 'chat' keeps its history (%zu change)\n",
           (long long)n, ms_decisions_count(h));
    ms_decisions_free(h);
    /* rule 1 applied at t=0 with a 5 min cooldown: still cooling down */
    st = ms_autoscaler_observe(a, "chat", "kernel", "cuda.util", "r0", 95, t0 + MS_SEC(120));
    if (!st) st = tick(a, t0, 120, "chat") ? MS_EINTERNAL : MS_OK;
  }
  ms_autoscaler_close(a);
  ms_store_close(s);
  return st ? demo_fail("the autoscaler after a restart", st) : 0;
}

int demo_autoscaler(const char *workdir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/autoscaler.db", workdir);
  ms_store *s = NULL;
  ms_autoscaler *a = NULL;
  if (open_engine(path, "opening the autoscaler", &s, &a)) return 1;
  const int64_t t0 = ms_clock_realtime_us();
  int rc = gpu(a, t0);
  if (!rc) rc = from_zero(a, t0);
  ms_autoscaler_close(a);
  ms_store_close(s);
  if (!rc) rc = restart(path, t0);
  return rc;
}
