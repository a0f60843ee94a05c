/* Persisting one evaluation: per changed endpoint (in id order) its narrow
 * state row (count, history head and length, cooldown stamps) and one history
 * row appended at the end of the log; then, when some endpoint has outgrown
 * its bound, a bounded sweep of old rows (trim.c). All in ONE transaction;
 * memory is the caller's to update after the commit. The transaction is a
 * long one of its own (ms__store_txn_begin), not a group-committed write: a
 * tick writes thousands of rows, other threads' writes would only wait. 
 *
 * Rows go in batches of BATCH per statement: at ~10,000 changed endpoints,
 * SQLite's fixed cost per statement execution (bind, step, reset) is a third
 * of the tick, and one statement per batch pays it once. The state rows are
 * written with an upsert because an UPDATE cannot take many rows of values;
 * every endpoint has its state row, so each one resolves to the update. */
#include <limits.h>

#include "autoscaler/history_codec.h"
#include "autoscaler/tick_store.h"
#include "autoscaler/trim.h"
#include "common/error.h"

#define BATCH 64
#define ROW5 "(?,?,?,?,?)"
#define ROW5x4 ROW5 "," ROW5 "," ROW5 "," ROW5
#define ROW5x16 ROW5x4 "," ROW5x4 "," ROW5x4 "," ROW5x4
#define ROW5x64 ROW5x16 "," ROW5x16 "," ROW5x16 "," ROW5x16

#define STATE_INSERT "INSERT INTO autoscaler_state(endpoint_id, replicas, history_head, history_count, cooldowns) VALUES "
#define STATE_UPSERT                                                                                       \
  " ON CONFLICT(endpoint_id) DO UPDATE SET replicas = excluded.replicas, history_head = excluded.history_head," \
  " history_count = excluded.history_count, cooldowns = excluded.cooldowns"
#define HIST_INSERT "INSERT INTO autoscaler_history(seq, endpoint_id, ordinal, prev, entry) VALUES "

static const char SQL_STATE_1[] = STATE_INSERT ROW5 STATE_UPSERT;
static const char SQL_STATE_N[] = STATE_INSERT ROW5x64 STATE_UPSERT;
static const char SQL_HIST_1[] = HIST_INSERT ROW5;
static const char SQL_HIST_N[] = HIST_INSERT ROW5x64;

/* Rows the sweep may visit in a tick: twice the rows this tick appends, so it
 * outruns the garbage they create, and never fewer than 1024, so a small store
 * is swept completely at every tick. */
static size_t trim_budget(size_t appended) { return 2 * appended + 1024; }

/* Write changes [first, first + k) with one statement per table (k is 1 or
 * BATCH). Their blobs are encoded into a->buf, which holds BATCH of the
 * largest (stamps, entry) pair, and stay there until the steps are done. */
static int write_batch(ms_autoscaler *a, const ms_decisions *d, const as_change *ch, size_t first, size_t k,
                       int64_t now, size_t slot) {
  ms_store *s = a->store;
  int st = MS_OK;
  ms_stmt *q_state = ms__store_prepare(s, k == 1 ? SQL_STATE_1 : SQL_STATE_N, &st), *q_hist = NULL;
  if (q_state) q_hist = ms__store_prepare(s, k == 1 ? SQL_HIST_1 : SQL_HIST_N, &st);
  if (!q_hist) return st;
  for (size_t j = 0; j < k; j++) {
    const as_change *c = &ch[first + j];
    const as_endpoint *ep = a->m.eps[c->ep];
    const as_dec_entry *e = &d->e[c->ep];
    int64_t seq = a->next_seq + (int64_t)(first + j), ordinal = ep->hist_count + 1;
    unsigned char *buf = a->buf + j * slot;
    size_t ns = ms__autoscaler_stamps_encode(buf, ep, c->rule, now);
    size_t ne =
        ms__autoscaler_entry_encode(buf + ns, now, e->from, e->to, e->applied, d->r + e->rule_first, e->n_rules);
    int p = (int)j * 5;
    ms__stmt_bind_int64(q_state, p + 1, ep->id);
    ms__stmt_bind_int64(q_state, p + 2, e->to);
    ms__stmt_bind_int64(q_state, p + 3, seq);
    ms__stmt_bind_int64(q_state, p + 4, ordinal);
    ms__stmt_bind_blob(q_state, p + 5, buf, (int)ns);
    ms__stmt_bind_int64(q_hist, p + 1, seq);
    ms__stmt_bind_int64(q_hist, p + 2, ep->id);
    ms__stmt_bind_int64(q_hist, p + 3, ordinal);
    ms__stmt_bind_int64(q_hist, p + 4, ep->hist_head);
    ms__stmt_bind_blob(q_hist, p + 5, buf + ns, (int)ne);
  }
  if ((st = ms__stmt_done(s, q_state, "updating endpoint state"))) {
    ms__stmt_reset(q_hist);
    return st;
  }
  return ms__stmt_done(s, q_hist, "appending history");
}

static int write_rows(ms_autoscaler *a, const ms_decisions *d, const as_change *ch, size_t n, int64_t now,
                      size_t slot) {
  int st = MS_OK;
  size_t i = 0;
  for (; !st && i + BATCH <= n; i += BATCH) st = write_batch(a, d, ch, i, BATCH, now, slot);
  for (; !st && i < n; i++) st = write_batch(a, d, ch, i, 1, now, slot);
  return st;
}

int ms__autoscaler_persist_tick(ms_autoscaler *a, ms_store_txn *x, const ms_decisions *d, const as_change *ch,
                                size_t n, int64_t now, int64_t *trim_cursor) {
  size_t most = 0, crossing = 0;
  for (size_t i = 0; i < n; i++) {
    const as_endpoint *ep = a->m.eps[ch[i].ep];
    if (ep->n_rules > most) most = ep->n_rules;
    if (ep->hist_count == MS_AUTOSCALER_HISTORY_MAX) crossing++;
  }
  size_t slot = ms__autoscaler_stamps_max(most) + ms__autoscaler_entry_max(most);
  int st = slot > INT_MAX / BATCH ? ms__fail(MS_EINVAL, "an endpoint has too many rules (%zu) to record", most)
                                  : ms__autoscaler_reserve_buf(a, slot * BATCH);
  if (st) {
    if (x) ms__store_txn_rollback(x);
    return st;
  }
  if (!x && (st = ms__store_txn_begin(a->store, 0, &x))) return st;
  st = write_rows(a, d, ch, n, now, slot);
  if (!st && a->over_bound + crossing > 0) {
    /* The sweep counts the rows just written (see is_garbage in trim.c). */
    for (size_t i = 0; i < n; i++) a->m.eps[ch[i].ep]->tick_seq = a->next_seq + (int64_t)i;
    st = ms__autoscaler_trim_history(a->store, &a->m, trim_budget(n), trim_cursor);
    for (size_t i = 0; i < n; i++) a->m.eps[ch[i].ep]->tick_seq = 0;
  }
  if (st) {
    ms__store_txn_rollback(x);
    return st;
  }
  return ms__store_txn_commit(x);
}
