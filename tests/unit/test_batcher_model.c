/* Property test: random submits, cancels, timeouts, setting changes, polls
 * and waits, checked call by call against a reference model of the rules
 * written plainly below (arrays, sorting, prefix sums — none of the
 * batcher's lists, hashes or heaps).
 *
 * Checked after every call: the status, every batch (status, requests in
 * order, items, submit and formed times), stats, whether the fd is readable,
 * and that next_deadline is exact — the model finds it by brute force, trying
 * each candidate instant on a copy of itself. At every host drain (polls at
 * one time until nothing is due) no pending request has waited its delay,
 * so none waits past it by more than the host's poll interval; at the end
 * every request accepted was handed back exactly once and no run batch was
 * over the max.
 *
 * Two drivers: one thread on an injected clock (many seeds), and several
 * threads on the monotonic clock taking turns at random (each call and its
 * check under one test mutex), waits included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batcher/batcher_internal.h"
#include "mserve.h"
#include "mserve/batcher.h"
#include "testutil.h"

/* ---- the reference model -------------------------------------------------- */

enum { R_MAIN, R_DELAYED, R_EXPIRED, R_CANCELED, R_GONE };

typedef struct rreq {
  uint64_t id;
  int64_t items, submit, deadline; /* INT64_MAX: no timeout */
  int level, where;
  uint64_t seq;  /* submit order */
  uint64_t oseq; /* order it was delayed, timed out or canceled */
} rreq;

typedef struct rpol {
  int action, override;
  int64_t timeout;
} rpol;

typedef struct ref {
  int64_t max, delay, maxq;
  int64_t pref[MS_BATCHER_MAX_PREFERRED];
  size_t npref;
  int pref_default;
  int levels, deflevel; /* deflevel 1-based */
  rpol pol[8], all;
  int64_t now;
  int closed;
  rreq *r;
  size_t n, cap;
  uint64_t seq, oseq;
} ref;

typedef struct rbatch {
  int status;
  size_t n;
  uint64_t *ids;
  int64_t *items, *submit;
} rbatch;

static void rbatch_free(rbatch *x) {
  free(x->ids);
  free(x->items);
  free(x->submit);
  memset(x, 0, sizeof *x);
}

static int64_t sat_add(int64_t a, int64_t b) { return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b; }

static void ref_init(ref *m) {
  memset(m, 0, sizeof *m);
  m->max = 1;
  m->pref[0] = 1;
  m->npref = 1;
  m->pref_default = 1;
  m->levels = 1;
  m->deflevel = 1;
  m->now = INT64_MIN;
}

static ref ref_copy(const ref *m) {
  ref c = *m;
  c.r = malloc((m->cap ? m->cap : 1) * sizeof *c.r);
  if (m->n) memcpy(c.r, m->r, m->n * sizeof *c.r);
  return c;
}

static int held(const rreq *q) { return q->where != R_GONE; }
static int pending(const rreq *q) { return q->where == R_MAIN || q->where == R_DELAYED; }

static rreq *ref_find(ref *m, uint64_t id) {
  for (size_t i = 0; i < m->n; i++)
    if (m->r[i].id == id && held(&m->r[i])) return &m->r[i];
  return NULL;
}

static int cmp_expiry(const void *pa, const void *pb) {
  const rreq *a = *(rreq *const *)pa, *b = *(rreq *const *)pb;
  if (a->deadline != b->deadline) return a->deadline < b->deadline ? -1 : 1;
  if (a->submit != b->submit) return a->submit < b->submit ? -1 : 1;
  if (a->level != b->level) return a->level < b->level ? -1 : 1;
  return a->seq < b->seq ? -1 : 1;
}

static void ref_expire(ref *m) {
  rreq **x = malloc((m->n + 1) * sizeof *x);
  size_t k = 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->r[i].where == R_MAIN && m->r[i].deadline <= m->now) x[k++] = &m->r[i];
  qsort(x, k, sizeof *x, cmp_expiry);
  for (size_t i = 0; i < k; i++) {
    x[i]->where = m->pol[x[i]->level - 1].action == MS_TIMEOUT_DELAY ? R_DELAYED : R_EXPIRED;
    x[i]->oseq = ++m->oseq;
  }
  free(x);
}

static void ref_advance(ref *m, int64_t now) {
  if (now > m->now) m->now = now;
  ref_expire(m);
}

static int cmp_seq(const void *pa, const void *pb) {
  const rreq *a = *(rreq *const *)pa, *b = *(rreq *const *)pb;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}
static int cmp_oseq(const void *pa, const void *pb) {
  const rreq *a = *(rreq *const *)pa, *b = *(rreq *const *)pb;
  return a->oseq < b->oseq ? -1 : a->oseq > b->oseq;
}

/* The pending requests in queue order: per level, main by submit, then
 * delayed by the order they timed out. */
static size_t ref_queue(ref *m, rreq **q) {
  size_t k = 0;
  for (int l = 1; l <= m->levels; l++) {
    size_t s = k;
    for (size_t i = 0; i < m->n; i++)
      if (m->r[i].level == l && m->r[i].where == R_MAIN) q[k++] = &m->r[i];
    qsort(q + s, k - s, sizeof *q, cmp_seq);
    s = k;
    for (size_t i = 0; i < m->n; i++)
      if (m->r[i].level == l && m->r[i].where == R_DELAYED) q[k++] = &m->r[i];
    qsort(q + s, k - s, sizeof *q, cmp_oseq);
  }
  return k;
}

static int is_pref(const ref *m, int64_t total) {
  for (size_t i = 0; i < m->npref; i++)
    if (m->pref[i] == total) return 1;
  return 0;
}

static void take(rbatch *out, int status, rreq **q, size_t k) {
  out->status = status;
  out->n = k;
  out->ids = malloc(k * sizeof *out->ids);
  out->items = malloc(k * sizeof *out->items);
  out->submit = malloc(k * sizeof *out->submit);
  for (size_t i = 0; i < k; i++) {
    out->ids[i] = q[i]->id;
    out->items[i] = q[i]->items;
    out->submit[i] = q[i]->submit;
    q[i]->where = R_GONE;
  }
}

/* The rules, plainly: returns 1 with a batch, 0 when nothing is due. */
static int ref_cut(ref *m, rbatch *out) {
  rreq **q = malloc((m->n + 1) * sizeof *q);
  int got = 1;
  size_t k = 0;
  for (int kind = R_EXPIRED; kind <= R_CANCELED && !k; kind++) {
    for (size_t i = 0; i < m->n; i++)
      if (m->r[i].where == kind) q[k++] = &m->r[i];
    if (k) {
      qsort(q, k, sizeof *q, cmp_oseq);
      take(out, kind == R_EXPIRED ? MS_ETIMEDOUT : MS_ECANCELED, q, k);
    }
  }
  if (k) goto done;
  size_t n = ref_queue(m, q);
  if (!n) {
    got = 0;
    goto done;
  }
  int64_t oldest = INT64_MAX;
  for (size_t i = 0; i < n; i++)
    if (q[i]->submit < oldest) oldest = q[i]->submit;
  int expired = m->delay > 0 && sat_add(oldest, m->delay) <= m->now;
  int64_t pmax = m->pref[m->npref - 1];
  size_t fit = 0, best = 0, first_past = 0;
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    sum += q[i]->items;
    if (sum <= m->max) fit = i + 1;
    if (sum <= pmax && is_pref(m, sum)) best = i + 1;
    if (sum > pmax && !first_past) first_past = i + 1;
  }
  size_t t = 0;
  if (expired) t = fit;                                        /* rules 2-3, delay expired */
  else if (best) t = best;                                     /* rule 1 */
  else if (first_past) t = first_past > 1 ? first_past - 1 : 1; /* rule 2 */
  else if (m->delay == 0) t = n;                               /* rule 3, no delay */
  if (!t) got = 0;
  else take(out, MS_OK, q, t);
done:
  free(q);
  /* forget what was handed back */
  size_t w = 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->r[i].where != R_GONE) m->r[w++] = m->r[i];
  m->n = w;
  return got;
}

static int ref_poll(ref *m, int64_t now, rbatch *out) {
  ref_advance(m, now);
  int got = ref_cut(m, out);
  if (!got && m->closed) return MS_ECLOSED;
  return got ? MS_OK : -1; /* -1: MS_OK with no batch */
}

static int ref_due_now(const ref *m) {
  ref c = ref_copy(m);
  rbatch x = {0};
  int got = ref_cut(&c, &x);
  rbatch_free(&x);
  free(c.r);
  return got;
}

static int cmp_i64(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return a < b ? -1 : a > b;
}

/* Brute force: the first candidate instant at which a copy would cut. */
static int64_t ref_next(const ref *m) {
  if (ref_due_now(m)) return m->now;
  int64_t *cand = malloc((m->n + 2) * sizeof *cand);
  size_t k = 0;
  int64_t oldest = INT64_MAX;
  for (size_t i = 0; i < m->n; i++) {
    if (!pending(&m->r[i])) continue;
    if (m->r[i].submit < oldest) oldest = m->r[i].submit;
    if (m->r[i].where == R_MAIN && m->r[i].deadline != INT64_MAX) cand[k++] = m->r[i].deadline;
  }
  if (oldest != INT64_MAX && m->delay > 0) cand[k++] = sat_add(oldest, m->delay);
  qsort(cand, k, sizeof *cand, cmp_i64);
  int64_t answer = INT64_MAX;
  for (size_t i = 0; i < k; i++) {
    if (cand[i] <= m->now) continue;
    ref c = ref_copy(m);
    rbatch x = {0};
    ref_advance(&c, cand[i]);
    int got = ref_cut(&c, &x);
    rbatch_free(&x);
    free(c.r);
    if (got) {
      answer = cand[i];
      break;
    }
  }
  free(cand);
  return answer;
}

static int ref_submit(ref *m, uint64_t id, int64_t items, int prio, int64_t timeout, int64_t now) {
  if (timeout < 0) return MS_EINVAL;
  if (m->closed) return MS_ECLOSED;
  if (items < 1 || items > m->max) return MS_EINVAL;
  if (prio < 0 || prio > m->levels) return MS_EINVAL;
  if (ref_find(m, id)) return MS_EEXIST;
  ref_advance(m, now);
  int level = prio ? prio : m->deflevel;
  int64_t count = 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->r[i].level == level && pending(&m->r[i])) count++;
  if (m->maxq && count >= m->maxq) return MS_EFULL;
  rpol *p = &m->pol[level - 1];
  int64_t t = p->timeout;
  if (timeout > 0 && p->override && (t == 0 || timeout < t)) t = timeout;
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 64;
    m->r = realloc(m->r, m->cap * sizeof *m->r);
  }
  rreq *q = &m->r[m->n++];
  memset(q, 0, sizeof *q);
  q->id = id;
  q->items = items;
  q->submit = m->now;
  q->deadline = t ? sat_add(m->now, t) : INT64_MAX;
  q->level = level;
  q->where = R_MAIN;
  q->seq = ++m->seq;
  return MS_OK;
}

static int ref_cancel(ref *m, uint64_t id) {
  rreq *q = ref_find(m, id);
  if (!q) return MS_ENOTFOUND;
  if (pending(q)) {
    q->where = R_CANCELED;
    q->oseq = ++m->oseq;
  }
  return MS_OK;
}

static void ref_shutdown(ref *m) {
  if (m->closed) return;
  m->closed = 1;
  rreq **q = malloc((m->n + 1) * sizeof *q);
  size_t n = ref_queue(m, q);
  for (size_t i = 0; i < n; i++) {
    q[i]->where = R_CANCELED;
    q[i]->oseq = ++m->oseq;
  }
  free(q);
}

static int ref_set_max_batch(ref *m, int64_t items) {
  if (!m->pref_default && m->pref[m->npref - 1] > items) return MS_ECONFLICT;
  if (items < m->max)
    for (size_t i = 0; i < m->n; i++)
      if (pending(&m->r[i]) && m->r[i].items > items) return MS_ECONFLICT;
  m->max = items;
  if (m->pref_default) m->pref[0] = items;
  return MS_OK;
}

static void ref_stats(const ref *m, int64_t now, int64_t *n, int64_t *items, int64_t *wait) {
  *n = *items = *wait = 0;
  int64_t oldest = INT64_MAX;
  for (size_t i = 0; i < m->n; i++) {
    if (!pending(&m->r[i])) continue;
    (*n)++;
    *items += m->r[i].items;
    if (m->r[i].submit < oldest) oldest = m->r[i].submit;
  }
  if (*n && now > oldest) *wait = now - oldest;
}

/* ---- the harness ------------------------------------------------------------ */

typedef struct harness {
  ms_batcher *b;
  ref m;
  uint64_t rng;
  uint64_t next_id;
  unsigned char *seen; /* per id: 0 never accepted, 1 accepted, 2 handed back */
  size_t seen_cap;
  int64_t scale; /* time unit of the random choices */
  int no_shutdown;
  long batches, requests, drains;
} harness;

static uint64_t rnd(harness *h) {
  h->rng ^= h->rng << 13;
  h->rng ^= h->rng >> 7;
  h->rng ^= h->rng << 17;
  return h->rng;
}
static int64_t pick(harness *h, int64_t lo, int64_t hi) { return lo + (int64_t)(rnd(h) % (uint64_t)(hi - lo + 1)); }

static void mark_seen(harness *h, uint64_t id, int value) {
  if (id >= h->seen_cap) {
    size_t cap = h->seen_cap ? h->seen_cap : 1024;
    while (cap <= id) cap *= 2;
    h->seen = realloc(h->seen, cap);
    memset(h->seen + h->seen_cap, 0, cap - h->seen_cap);
    h->seen_cap = cap;
  }
  if (value == 2 && h->seen[id] != 1) fail_msg("request %llu handed back twice or never accepted (%d)", (unsigned long long)id, h->seen[id]);
  h->seen[id] = (unsigned char)value;
}

static void check_same_batch(harness *h, ms_batch *x, const rbatch *e, int64_t formed) {
  assert_int_equal(ms_batch_status(x), e->status);
  if (ms_batch_count(x) != e->n)
    fail_msg("batch of %zu, model says %zu (status %s)", ms_batch_count(x), e->n, ms_status_name(e->status));
  int64_t sum = 0;
  for (size_t i = 0; i < e->n; i++) {
    uint64_t id;
    int64_t items, at;
    assert_int_equal(ms_batch_get(x, i, &id, &items, &at), MS_OK);
    if (id != e->ids[i]) fail_msg("batch entry %zu: id %llu, model says %llu", i, (unsigned long long)id, (unsigned long long)e->ids[i]);
    assert_int_equal(items, e->items[i]);
    assert_int_equal(at, e->submit[i]);
    sum += items;
    mark_seen(h, id, 2);
  }
  assert_int_equal(ms_batch_items(x), sum);
  assert_int_equal(ms_batch_formed_us(x), formed);
  if (e->status == MS_OK) assert_true(sum <= h->m.max); /* no batch over the max */
  h->batches++;
  h->requests += (long)e->n;
}

static int fd_readable(ms_batcher *b) {
  int fd = -1;
  assert_int_equal(ms_batcher_fd(b, &fd), MS_OK);
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

/* Everything observable agrees with the model. */
static void check_state(harness *h) {
  int64_t d = 0;
  assert_int_equal(ms_batcher_next_deadline(h->b, &d), MS_OK);
  int64_t e = ref_next(&h->m);
  if (d != e) fail_msg("next_deadline %lld, the model says %lld (now %lld)", (long long)d, (long long)e, (long long)h->m.now);
  /* after a shutdown the fd stays readable: a poll answers a batch or MS_ECLOSED */
  assert_int_equal(fd_readable(h->b), ref_due_now(&h->m) || h->m.closed);
  int64_t n, items, wait, rn, ritems, rwait;
  int64_t at = h->m.now + pick(h, 0, 3 * h->scale);
  assert_int_equal(ms_batcher_stats(h->b, at, &n, &items, &wait), MS_OK);
  ref_stats(&h->m, at, &rn, &ritems, &rwait);
  assert_int_equal(n, rn);
  assert_int_equal(items, ritems);
  assert_int_equal(wait, rwait);
}

static void do_poll(harness *h, int64_t now, int *got) {
  ms_batch *x = NULL;
  int st = ms_batcher_poll(h->b, now, &x);
  rbatch e = {0};
  int es = ref_poll(&h->m, now, &e);
  if (es == -1) {
    assert_int_equal(st, MS_OK);
    if (x) fail_msg("poll at %lld: a batch of %zu, the model has none", (long long)now, ms_batch_count(x));
    *got = 0;
  } else if (es == MS_ECLOSED) {
    assert_int_equal(st, MS_ECLOSED);
    assert_null(x);
    *got = 0;
  } else {
    assert_int_equal(st, MS_OK);
    if (!x) fail_msg("poll at %lld: no batch, the model has %zu requests (status %s)", (long long)now, e.n, ms_status_name(e.status));
    check_same_batch(h, x, &e, h->m.now);
    ms_batch_free(x);
    *got = 1;
  }
  rbatch_free(&e);
}

/* Poll at one instant until nothing is due; then nobody pending has waited
 * its delay (so none waits past it by more than one poll interval). */
static void drain(harness *h, int64_t now) {
  int got = 1;
  while (got) do_poll(h, now, &got);
  h->drains++;
  int64_t n, items, wait;
  assert_int_equal(ms_batcher_stats(h->b, h->m.now, &n, &items, &wait), MS_OK);
  if (n && h->m.delay > 0 && wait >= h->m.delay)
    fail_msg("after a drain at %lld the oldest request waited %lld >= the delay %lld", (long long)h->m.now,
             (long long)wait, (long long)h->m.delay);
  if (h->m.delay == 0 && !h->m.closed) assert_int_equal(n, 0);
}

static void random_config(harness *h) {
  ref *m = &h->m;
  int64_t max = pick(h, 1, 12);
  assert_int_equal(ms_batcher_set_max_batch(h->b, max), MS_OK);
  assert_int_equal(ref_set_max_batch(m, max), MS_OK);
  m->delay = pick(h, 0, 3) ? pick(h, 1, 4 * h->scale) : 0;
  assert_int_equal(ms_batcher_set_max_delay(h->b, m->delay), MS_OK);
  if (pick(h, 0, 2)) {
    int64_t sizes[6];
    size_t n = 0;
    for (int64_t s = 1; s <= max && n < 6; s++)
      if (pick(h, 0, 2) == 0) sizes[n++] = s;
    if (n) {
      for (size_t i = 0; i < n; i++) { /* hand them over shuffled */
        size_t j = (size_t)pick(h, 0, (int64_t)n - 1);
        int64_t t = sizes[i];
        sizes[i] = sizes[j];
        sizes[j] = t;
      }
      assert_int_equal(ms_batcher_set_preferred_sizes(h->b, sizes, n), MS_OK);
      memcpy(m->pref, sizes, n * sizeof sizes[0]);
      qsort(m->pref, n, sizeof m->pref[0], cmp_i64);
      m->npref = n;
      m->pref_default = 0;
    }
  }
  m->levels = (int)pick(h, 1, 3);
  m->deflevel = (int)pick(h, 1, m->levels);
  assert_int_equal(ms_batcher_set_priority_levels(h->b, m->levels, m->deflevel), MS_OK);
  for (int l = 1; l <= m->levels; l++) {
    rpol p = {(int)pick(h, 0, 1), (int)pick(h, 0, 1), pick(h, 0, 2) ? pick(h, 1, 5 * h->scale) : 0};
    assert_int_equal(ms_batcher_set_queue_policy(h->b, l, (ms_timeout_action)p.action, p.timeout, p.override), MS_OK);
    m->pol[l - 1] = p;
  }
  m->maxq = pick(h, 0, 2) ? 0 : pick(h, 1, 6);
  assert_int_equal(ms_batcher_set_max_queue(h->b, m->maxq), MS_OK);
}

/* One random operation at time `now`. */
static void step(harness *h, int64_t now) {
  ref *m = &h->m;
  int op = (int)pick(h, 0, 99);
  if (op < 45) {
    uint64_t id = pick(h, 0, 9) == 0 && h->next_id > 1 ? (uint64_t)pick(h, 1, (int64_t)h->next_id - 1) : h->next_id++;
    int64_t items = pick(h, 0, 20) == 0 ? pick(h, -1, m->max + 2) : pick(h, 1, m->max);
    int prio = pick(h, 0, 20) == 0 ? (int)pick(h, -1, m->levels + 1) : (int)pick(h, 0, m->levels);
    int64_t timeout = pick(h, 0, 30) == 0 ? -1 : pick(h, 0, 2) ? 0 : pick(h, 1, 6 * h->scale);
    int st = ms_batcher_submit(h->b, id, items, prio, timeout, now);
    int es = ref_submit(m, id, items, prio, timeout, now);
    if (st != es) fail_msg("submit %llu (%lld items, prio %d, timeout %lld) at %lld: %s, the model says %s (%s)", (unsigned long long)id,
                           (long long)items, prio, (long long)timeout, (long long)now, ms_status_name(st), ms_status_name(es), ms_errmsg());
    if (st == MS_OK) mark_seen(h, id, 1);
  } else if (op < 55) {
    uint64_t id = h->next_id > 1 ? (uint64_t)pick(h, 1, (int64_t)h->next_id) : 1;
    assert_int_equal(ms_batcher_cancel(h->b, id), ref_cancel(m, id));
  } else if (op < 80) {
    int got;
    do_poll(h, now, &got);
  } else if (op < 90) {
    drain(h, now);
  } else if (op < 93) {
    int64_t d = pick(h, 0, 3) ? pick(h, 1, 4 * h->scale) : 0;
    assert_int_equal(ms_batcher_set_max_delay(h->b, d), MS_OK);
    m->delay = d;
  } else if (op < 96) {
    int l = (int)pick(h, 1, m->levels);
    rpol p = {(int)pick(h, 0, 1), (int)pick(h, 0, 1), pick(h, 0, 2) ? pick(h, 1, 5 * h->scale) : 0};
    assert_int_equal(ms_batcher_set_queue_policy(h->b, l, (ms_timeout_action)p.action, p.timeout, p.override), MS_OK);
    m->pol[l - 1] = p;
  } else if (op < 99) {
    int64_t max = pick(h, 1, 12);
    assert_int_equal(ms_batcher_set_max_batch(h->b, max), ref_set_max_batch(m, max));
  } else if (!h->no_shutdown && pick(h, 0, 3) == 0) {
    assert_int_equal(ms_batcher_shutdown(h->b), MS_OK);
    ref_shutdown(m);
  }
  check_state(h);
}

static void finish(harness *h, int64_t now) {
  assert_int_equal(ms_batcher_shutdown(h->b), MS_OK);
  ref_shutdown(&h->m);
  check_state(h);
  drain(h, now);
  for (size_t id = 0; id < h->seen_cap; id++)
    if (h->seen[id] == 1) fail_msg("request %zu was accepted and never handed back", id);
  ms_batch *x = (ms_batch *)&x;
  assert_int_equal(ms_batcher_poll(h->b, now, &x), MS_ECLOSED);
}

static void harness_init(harness *h, uint64_t seed, int64_t scale) {
  memset(h, 0, sizeof *h);
  h->rng = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
  h->next_id = 1;
  h->scale = scale;
  assert_int_equal(ms_batcher_new(&h->b), MS_OK);
  ref_init(&h->m);
  random_config(h);
}

static void harness_free(harness *h) {
  ms_batcher_free(h->b);
  free(h->m.r);
  free(h->seen);
}

/* ---- driver 1: one thread, injected clock ----------------------------------- */

static void model_single_thread(void **state) {
  (void)state;
  int seeds = ms_test_scale(400);
  long batches = 0, requests = 0, drains = 0;
  for (int s = 1; s <= seeds; s++) {
    harness h;
    harness_init(&h, (uint64_t)s, 10);
    int64_t now = INT64_C(5000000);
    for (int i = 0; i < 250; i++) {
      /* time moves by 0, a little, or past delays and timeouts; sometimes
       * to exactly the deadline the batcher announced */
      int64_t d = 0;
      assert_int_equal(ms_batcher_next_deadline(h.b, &d), MS_OK);
      int r = (int)pick(&h, 0, 9);
      if (r == 0 && d != INT64_MAX && d > now) now = d;
      else if (r < 6) now += pick(&h, 0, 2 * h.scale);
      else if (r < 8) now += pick(&h, 0, 8 * h.scale);
      else now -= pick(&h, 0, h.scale); /* a stale clock: taken as the batcher's now */
      step(&h, now);
    }
    finish(&h, now + 100 * h.scale);
    batches += h.batches;
    requests += h.requests;
    drains += h.drains;
    harness_free(&h);
  }
  printf("model: %d seeds, %ld batches, %ld requests handed back, %ld drains\n", seeds, batches, requests, drains);
}

/* ---- driver 2: several threads, the monotonic clock, waits ------------------- */

typedef struct shared {
  pthread_mutex_t mu;
  harness h;
  int steps_left;
  int failed;
} shared;

static shared *g;

/* The batcher's now after a call (read behind the API: every call on it is
 * serialized by g->mu, so this read is ordered after the call). */
static int64_t batcher_now(ms_batcher *b) {
  pthread_mutex_lock(&b->mu);
  int64_t t = b->now;
  pthread_mutex_unlock(&b->mu);
  return t;
}

static void *model_thread(void *arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg, r = seed;
  for (;;) {
    r = r * 6364136223846793005u + 1442695040888963407u;
    if ((r >> 60) == 0) { /* now and then let real time pass */
      struct timespec ts = {0, (long)((r >> 20) % 800) * 1000};
      nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&g->mu);
    if (g->steps_left-- <= 0) {
      pthread_mutex_unlock(&g->mu);
      return NULL;
    }
    harness *h = &g->h;
    h->rng ^= seed; /* each thread perturbs the sequence */
    if (pick(h, 0, 4) == 0) {
      /* a worker's wait(0): it reads the monotonic clock itself */
      ms_batch *x = NULL;
      int st = ms_batcher_wait(h->b, 0, &x);
      int64_t t = batcher_now(h->b);
      rbatch e = {0};
      int es = ref_poll(&h->m, t, &e);
      if (es == -1) {
        assert_int_equal(st, MS_ETIMEDOUT);
        assert_null(x);
      } else if (es == MS_ECLOSED) {
        assert_int_equal(st, MS_ECLOSED);
      } else {
        assert_int_equal(st, MS_OK);
        check_same_batch(h, x, &e, t);
        ms_batch_free(x);
      }
      rbatch_free(&e);
      check_state(h);
    } else {
      step(h, ms_clock_monotonic_us());
    }
    pthread_mutex_unlock(&g->mu);
  }
}

static void model_several_threads(void **state) {
  (void)state;
  g = calloc(1, sizeof *g);
  pthread_mutex_init(&g->mu, NULL);
  harness_init(&g->h, 77, 300); /* delays and timeouts of 0.3 .. 2 ms of real time */
  g->h.no_shutdown = 1;
  g->steps_left = ms_test_scale(6000);
  pthread_t th[4];
  for (uintptr_t i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, model_thread, (void *)(i + 1)), 0);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  finish(&g->h, ms_clock_monotonic_us());
  printf("model, 4 threads: %ld batches, %ld requests handed back\n", g->h.batches, g->h.requests);
  harness_free(&g->h);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(model_single_thread),
      cmocka_unit_test(model_several_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
