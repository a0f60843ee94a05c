/* Demo: the batching queue on an injected clock — requests trickling in and
 * cut by the delay, a burst cut by size at once, a request whose own timeout
 * is answered at its deadline although nobody runs batches, and a shutdown
 * that hands the rest back. The host sleeps exactly until
 * ms_batcher_next_deadline each time. */
#include <inttypes.h>
#include <mserve/batcher.h>
#include <stdio.h>

#include "demo.h"

#define MS(x) ((int64_t)(x) * 1000)

static int64_t t0;

static void show(ms_batch *x, const char *why) {
  demo_printf("[batcher]   +%6.3f ms  %-9s", (double)(ms_batch_formed_us(x) - t0) / 1000.0,
         ms_batch_status(x) == MS_OK ? "run" : ms_batch_status(x) == MS_ETIMEDOUT ? "timed out" : "canceled");
  for (size_t i = 0; i < ms_batch_count(x); i++) {
    uint64_t id = 0;
    int64_t at = 0;
    ms_batch_get(x, i, &id, NULL, &at);
    demo_printf("%s#%" PRIu64 " (waited %.0f ms)", i ? ", " : " ", id, (double)(ms_batch_formed_us(x) - at) / 1000.0);
  }
  demo_printf("  <- %s\n", why);
}

/* Poll at `now` until nothing is due (or, after a shutdown, nothing is left). */
static int take_all(ms_batcher *b, int64_t now, const char *why) {
  for (;;) {
    ms_batch *x = NULL;
    int st = ms_batcher_poll(b, now, &x);
    if (st == MS_ECLOSED) return 0;
    if (st) return demo_fail("ms_batcher_poll", st);
    if (!x) return 0;
    show(x, why);
    ms_batch_free(x);
  }
}

/* Sleep (on the injected clock) until the next deadline, then take what is due. */
static int sleep_and_take(ms_batcher *b, const char *why) {
  int64_t d = 0;
  int st = ms_batcher_next_deadline(b, &d);
  if (st) return demo_fail("ms_batcher_next_deadline", st);
  demo_printf("[batcher]   the host sleeps until +%.3f ms (ms_batcher_next_deadline)\n", (double)(d - t0) / 1000.0);
  return take_all(b, d, why);
}

static int submit(ms_batcher *b, uint64_t id, int priority, int64_t timeout_us, int64_t at_ms) {
  int st = ms_batcher_submit(b, id, 1, priority, timeout_us, t0 + MS(at_ms));
  if (st) return demo_fail("ms_batcher_submit", st);
  return 0;
}

static int run(ms_batcher *b) {
  int st;
  if ((st = ms_batcher_set_max_batch(b, 4)) || (st = ms_batcher_set_max_delay(b, MS(10))) ||
      (st = ms_batcher_set_priority_levels(b, 2, 2)) ||
      (st = ms_batcher_set_queue_policy(b, 0, MS_TIMEOUT_REJECT, MS(1000), 1)))
    return demo_fail("the batcher's settings", st);
  demo_printf("[batcher] max batch 4, max delay 10 ms, 2 priority levels, timeout 1 s (requests may ask for less)\n");

  demo_printf("[batcher] requests #1, #2, #3 trickle in at +0, +3, +6 ms\n");
  if (submit(b, 1, 0, 0, 0) || submit(b, 2, 0, 0, 3) || submit(b, 3, 0, 0, 6)) return 1;
  if (take_all(b, t0 + MS(6), "nothing yet") || sleep_and_take(b, "cut by the delay of #1, from its own submit"))
    return 1;

  demo_printf("[batcher] a burst: #4 .. #7 at +20 ms\n");
  for (uint64_t id = 4; id <= 7; id++)
    if (submit(b, id, 0, 0, 20)) return 1;
  if (take_all(b, t0 + MS(20), "cut by size at once: 4 = the max batch")) return 1;

  demo_printf("[batcher] #8 at +30 ms asks for a 5 ms timeout; #9 (priority 1) at +31 ms\n");
  if (submit(b, 8, 0, MS(5), 30) || submit(b, 9, 1, 0, 31)) return 1;
  if (sleep_and_take(b, "answered at its deadline, though no worker takes batches")) return 1;

  int64_t n = 0, wait = 0;
  if ((st = ms_batcher_stats(b, t0 + MS(36), &n, NULL, &wait)) != MS_OK) return demo_fail("ms_batcher_stats", st);
  demo_printf("[batcher] queue at +36 ms: %" PRId64 " pending, the oldest waiting %.0f ms (the autoscaler's queue metric)\n",
         n, (double)wait / 1000.0);
  if ((st = ms_batcher_shutdown(b)) != MS_OK) return demo_fail("ms_batcher_shutdown", st);
  if (take_all(b, t0 + MS(36), "shutdown: every pending request handed back")) return 1;
  ms_batch *x = NULL;
  st = ms_batcher_poll(b, t0 + MS(37), &x);
  demo_printf("[batcher] after that, a poll says %s\n", ms_status_name(st));
  if (st == MS_OK) return demo_fail_msg("the batcher", "a poll after shutdown succeeded; it should be MS_ECLOSED");
  return st == MS_ECLOSED ? 0 : demo_fail("the poll after shutdown", st);
}

int demo_batcher(const char *workdir) {
  (void)workdir;
  ms_batcher *b = NULL;
  int st = ms_batcher_new(&b);
  if (st) return demo_fail("ms_batcher_new", st);
  t0 = ms_clock_monotonic_us();
  int rc = run(b);
  ms_batcher_free(b);
  return rc;
}
