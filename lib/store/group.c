/* Group commit: the writes of several threads in one transaction
 * (store/group.h says what a write's callback may rely on).
 *
 * A commit costs tens of microseconds (the WAL append and its locks) while a
 * statement inside a transaction costs well under one, and with one
 * transaction per call every waiting thread also needs a lock hand-off, which
 * with more threads than cores means sleeping and waking: contended
 * throughput sinks and tail latency grows. So a write is queued; the first
 * thread to find the store free becomes the combiner and runs every queued
 * write in one transaction, each in its own savepoint so a failing one is
 * undone alone, commits once, and wakes the writers. Writes that arrive
 * meanwhile form the next batch. Each caller still sees its call succeed or
 * fail on its own, with its own message, and return only once its write is
 * committed.
 *
 * A request lives on its caller's stack. It is touched by others only while
 * it is in the queue (under the queue's mutex) or, once taken by a combiner,
 * until the combiner publishes its result; after that only a futex wake may
 * name its address, which is harmless. */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "common/wait.h"
#include "store/conn.h"
#include "store/group.h"
#include "store/lock.h"
#include "store/pg/pg.h"
#include "store/stmt.h"
#include "store/txn.h"

enum { QUEUED = MS__WAITER_QUEUED, KICKED = MS__WAITER_KICKED, DONE = 1 };
_Static_assert(DONE != QUEUED && DONE != KICKED, "a write's states are distinct");

/* Batches one combiner runs back to back, its own included, before it hands
 * the role on: enough to keep the store busy while the next combiner wakes,
 * few enough that its own call is not held for long. */
#define COMBINER_ROUNDS 4

/* A writer whose batch is being run spins this long for its result before
 * it sleeps: a batch takes tens of microseconds, and a writer that sees its
 * result at once is back with its next write in time for the next batch,
 * where one woken from sleep would miss it (and batches of one are what made
 * contended throughput sink). Only while a combiner runs: behind a tracker
 * tick, which may hold the store for long, writers sleep at once. */
#define RESULT_SPIN_US 80

/* Spin while a combiner works, until our state leaves QUEUED or time is up. */
static void spin_for_result(ms_store *s, ms_store_write *w) {
  int64_t until = 0;
  while (atomic_load_explicit(&w->node.state, memory_order_acquire) == QUEUED &&
         atomic_load_explicit(&s->combining, memory_order_relaxed)) {
    int64_t now = ms_clock_monotonic_us();
    if (!until) until = now + RESULT_SPIN_US;
    else if (now >= until) break;
    ms__cpu_relax();
  }
}

void ms__store_group_init(ms_store *s) { atomic_init(&s->combining, 0); }

void ms__store_group_enqueue(ms_store *s, ms_store_write *w, ms__store_op_fn fn, void *arg) {
  w->fn = fn;
  w->arg = arg;
  w->status = MS_OK;
  w->deferred = 0;
  w->msg[0] = '\0';
  w->waited_since = 0;
  ms__store_lock_enqueue(s, &w->node);
}

/* Times a write that failed with a serialization failure or a deadlock
 * (PostgreSQL: another host's transaction won) is run again before its
 * MS_EBUSY is returned. Its writes are undone first, so nothing counts twice. */
#define RETRIES 4

static int retryable(const ms_store *s) { return s->pg && s->pg->retryable; }

static ms_store_write *next_of(const ms_store_write *w) { return (ms_store_write *)(void *)w->node.next; }

static void record_failure(ms_store_write *w, int status) {
  w->status = status;
  ms__strlcpy(w->msg, ms_errmsg(), sizeof w->msg);
}

static const char SQL_WRITE_BEGIN[] = "SAVEPOINT ms_write";
static const char SQL_WRITE_UNDO[] = "ROLLBACK TO ms_write";
static const char SQL_WRITE_END[] = "RELEASE ms_write";

static int savepoint(ms_store *s, const char *sql) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, sql, &st);
  return q ? ms__stmt_done(s, q, sql) : st;
}

/* SQLite rolled the whole transaction back by itself (disk full, I/O error)
 * while running `at`: every write of it from `first` on is gone too. */
static void lost_transaction(ms_store *s, ms_store_write *first, ms_store_write *at, int st) {
  char why[512];
  ms__strlcpy(why, at->status ? at->msg : "the database rolled the transaction back", sizeof why);
  if (!st) st = MS_EIO;
  for (ms_store_write *v = first; v != next_of(at); v = next_of(v))
    if (v->status == MS_OK || v == at)
      record_failure(v, v == at ? ms__fail(st, "%s", why)
                                : ms__fail(st, "store '%s': a write batched with this one failed and the database "
                                               "undid both: %s", s->path, why));
}

/* A write deferred by its batch (PostgreSQL, stmt.h): alone in a
 * transaction of its own, first, so it may wait for its locks. */
static void run_deferred(ms_store *s, ms_store_write *w) {
  int st = ms__store_sql_begin(s, 1);
  for (int attempt = 0; !st; attempt++) {
    if (s->pg) s->pg->retryable = 0;
    st = w->fn(s, w->arg);
    if (!st || !retryable(s) || attempt == RETRIES) break;
    ms__store_sql_rollback(s, 1);
    st = ms__store_sql_begin(s, 1);
  }
  if (st) {
    record_failure(w, st);
    if (!ms__store_autocommit(s)) ms__store_sql_rollback(s, 1);
    return;
  }
  if ((st = ms__store_sql_commit(s, 1)) != MS_OK) record_failure(w, st);
  else w->status = MS_OK;
}

/* Run one batch: store locked, its transaction opened with status `st`.
 * Results are recorded in the requests, not yet published. Normally one
 * transaction; a new one is started for the rest when SQLite lost the first. */
static void run_batch(ms_store *s, ms_store_write *w, int st) {
  for (int opened = 1; w; opened = 0) {
    ms_store_write *first = w;
    if (!opened) st = ms__store_sql_begin(s, 1);
    if (st) {
      for (; w; w = next_of(w)) record_failure(w, st);
      return;
    }
    int alone = next_of(first) == NULL, any_ok = 0, lost = 0;
    for (; w && !lost; w = next_of(w)) {
      /* Alone, the transaction itself is the savepoint. */
      if (!alone && (st = savepoint(s, SQL_WRITE_BEGIN)) != MS_OK) {
        record_failure(w, st);
        lost = ms__store_autocommit(s);
        if (lost) lost_transaction(s, first, w, st);
        continue;
      }
      for (int attempt = 0;; attempt++) {
        if (s->pg) s->pg->retryable = 0;
        st = w->fn(s, w->arg);
        if (st && !alone && s->pg && s->pg->lock_busy && !w->deferred && w != first) {
          /* a lock this write may not wait for here (stmt.h): undone, and
           * run again after this batch, where it may wait */
          w->deferred = 1;
          break;
        }
        if (!st || !retryable(s) || attempt == RETRIES) break;
        /* undo the attempt (alone: the whole transaction) and run it again */
        if (!alone) {
          if (savepoint(s, SQL_WRITE_UNDO) != MS_OK) break;
        } else {
          ms__store_sql_rollback(s, 1);
          int rs = ms__store_sql_begin(s, 1);
          if (rs) {
            st = rs;
            break;
          }
        }
      }
      if (w->deferred) st = MS_EBUSY; /* undone below like a failure; not recorded */
      else if (st) record_failure(w, st);
      else w->status = MS_OK, any_ok = 1;
      if (ms__store_autocommit(s)) {
        lost_transaction(s, first, w, st);
        lost = 1;
        continue;
      }
      if (!alone) {
        if (st) savepoint(s, SQL_WRITE_UNDO);
        int rs = savepoint(s, SQL_WRITE_END);
        if (rs) { /* cannot leave the savepoint: give the whole transaction up */
          lost_transaction(s, first, w, rs);
          lost = 1;
        }
      }
    }
    int more = ms__store_lock_queued(s) > 0; /* another batch follows at once: keep the writer queue */
    if (lost || !any_ok) ms__store_sql_rollback(s, more);
    else if ((st = ms__store_sql_commit(s, more)) != MS_OK)
      for (ms_store_write *v = first; v != w; v = next_of(v))
        if (v->status == MS_OK) record_failure(v, st);
    for (ms_store_write *v = first; v != w; v = next_of(v))
      if (v->deferred) run_deferred(s, v);
  }
}

/* Publish: after the store of DONE the request may vanish. */
static void publish(ms_store_write *list, ms_store_write *self) {
  while (list) {
    ms_store_write *next = next_of(list);
    atomic_store_explicit(&list->node.state, DONE, memory_order_release);
    if (list != self) ms__futex_wake(&list->node.state, 1, MS__FUTEX_PRIVATE);
    list = next;
  }
}

/* Combine while holding the store: the batch holding our own write (queued
 * before we took the store, so in the first one), then more while writes keep
 * arriving, up to COMBINER_ROUNDS batches. The transaction is opened before
 * the batch is taken: opening may wait for another process's writer, and
 * every write queued meanwhile then joins this batch instead of the next. */
static void combine(ms_store *s, ms_store_write *self) {
  atomic_store_explicit(&s->combining, 1, memory_order_relaxed);
  for (int round = 0; round < COMBINER_ROUNDS; round++) {
    if (!ms__store_lock_queued(s)) break;
    int st = ms__store_sql_begin(s, 1);
    ms_store_write *batch = (ms_store_write *)(void *)ms__store_lock_dequeue_all(s);
    if (!batch) { /* someone else ran them meanwhile (cannot happen while we hold the store) */
      if (!st) ms__store_sql_rollback(s, 0);
      break;
    }
    run_batch(s, batch, st);
    publish(batch, self);
  }
  atomic_store_explicit(&s->combining, 0, memory_order_relaxed);
}

int ms__store_group_turn(ms_store *s, ms_store_write *w) {
  uint32_t state = atomic_load_explicit(&w->node.state, memory_order_acquire);
  if (state == DONE) return MS__GROUP_DONE;
  if (state == KICKED) { /* the store came free: try to become the combiner */
    uint32_t k = KICKED;
    atomic_compare_exchange_strong(&w->node.state, &k, QUEUED); /* fails only when DONE meanwhile */
  }
  if (ms__store_lock_try(s)) {
    combine(s, w);
    return MS__GROUP_COMBINED;
  }
  if (state == QUEUED) {
    spin_for_result(s, w);
    int64_t left = ms__store_lock_wait_left(s, &w->waited_since);
    if (!left) { /* a tick held the store past the busy timeout */
      if (ms__store_lock_withdraw(s, &w->node)) {
        record_failure(w, ms__store_lock_busy_long(s));
        return MS__GROUP_DONE;
      }
      left = 1000; /* a combiner took us (our result comes soon), or a release kicked us */
    }
    ms__futex_wait(&w->node.state, QUEUED, left, MS__FUTEX_PRIVATE); /* a combiner takes us, or a release kicks us */
  }
  return MS__GROUP_WAITED;
}

int ms__store_group_result(const ms_store_write *w) {
  return w->status == MS_OK ? MS_OK : ms__fail(w->status, "%s", w->msg);
}
