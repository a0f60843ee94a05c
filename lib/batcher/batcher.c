/* Batcher: the public calls. One mutex per batcher guards every field; each
 * call holds it briefly (no allocation per request, no system call unless
 * the eventfd or a sleeping waiter must learn of a change). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "batcher/batcher_internal.h"
#include "common/error.h"
#include "common/wait.h"
#include "mserve/registry.h"

static void level_init(ms__blevel *v, int action, int64_t timeout_us, int allow_override) {
  v->head = v->tail = v->dfirst = MS__BNIL;
  v->count = v->items = 0;
  v->action = action;
  v->allow_override = allow_override;
  v->timeout_us = timeout_us;
  v->def_cls = MS__BNIL;
}

int ms_batcher_new(ms_batcher **out) {
  if (!out) return ms__fail(MS_EINVAL, "batcher: ms_batcher_new: NULL out");
  ms_batcher *b = calloc(1, sizeof *b);
  if (!b) return ms__fail(MS_ENOMEM, "batcher: ms_batcher_new: out of memory");
  pthread_condattr_t ca;
  if (pthread_mutex_init(&b->mu, NULL)) {
    free(b);
    return ms__fail(MS_ENOMEM, "batcher: ms_batcher_new: cannot create a mutex");
  }
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int bad = pthread_cond_init(&b->cv_work, &ca);
  if (!bad && pthread_cond_init(&b->cv_keeper, &ca)) {
    pthread_cond_destroy(&b->cv_work);
    bad = 1;
  }
  pthread_condattr_destroy(&ca);
  if (bad) {
    pthread_mutex_destroy(&b->mu);
    free(b);
    return ms__fail(MS_ENOMEM, "batcher: ms_batcher_new: cannot create a condition variable");
  }
  b->max_batch = 1;
  b->pref[0] = 1;
  b->n_pref = 1;
  b->pref_default = 1;
  b->n_levels = 1;
  b->all_action = MS_TIMEOUT_REJECT;
  for (int l = 0; l < MS_BATCHER_MAX_LEVELS; l++) level_init(&b->levels[l], MS_TIMEOUT_REJECT, 0, 0);
  b->now = INT64_MIN;
  b->ahead = b->atail = b->xhead = b->xtail = b->chead = b->ctail = MS__BNIL;
  b->free_head = MS__BNIL;
  b->cls_free = MS__BNIL;
  b->efd = -1;
  /* the hash multiplier: odd, and different for every batcher */
  uint64_t x = (uint64_t)(uintptr_t)b ^ (uint64_t)ms_clock_monotonic_us() * UINT64_C(0x9e3779b97f4a7c15);
  x ^= x >> 31;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 29;
  b->seed = x | 1u;
  *out = b;
  return MS_OK;
}

void ms_batcher_free(ms_batcher *b) {
  if (!b) return;
  if (b->efd >= 0) close(b->efd);
  pthread_cond_destroy(&b->cv_work);
  pthread_cond_destroy(&b->cv_keeper);
  pthread_mutex_destroy(&b->mu);
  ms__batcher_nodes_free(b);
  ms__batcher_classes_free(b);
  free(b);
}

/* ---- change notification ---------------------------------------------------
 * After every change, under the lock: the eventfd holds a count exactly while
 * a poll at the batcher's now would return a batch; a sleeping waiter learns
 * of a newly due batch (one waiter, not all) or of an earlier deadline. */

static void efd_sync(ms_batcher *b, int due) {
  if (b->efd < 0 || due == b->efd_set) return;
  uint64_t v = 1;
  ssize_t r = due ? write(b->efd, &v, sizeof v) : read(b->efd, &v, sizeof v);
  (void)r; /* an eventfd write of 1 or a read of a non-zero count cannot fail */
  b->efd_set = due;
}

/* What the fd shows: a batch is due, or the batcher is shut down (then a
 * poll answers a batch or MS_ECLOSED, never nothing: a host sleeping with no
 * timer armed must learn of the shutdown, and drops the fd on MS_ECLOSED). */
static inline int fd_ready(ms_batcher *b, int due) { return due || b->closed; }

/* A waiter to wake is signaled after the lock is released (unlock below):
 * signaled under the lock, it woke only to block on the mutex the
 * signaling thread still held, and the futex system call lengthened every
 * submit's hold of the lock. wake_pending (set here) keeps it one waiter. */
static void wake_later(ms_batcher *b, pthread_cond_t *cv) {
  if (b->wake && b->wake != cv) pthread_cond_signal(b->wake); /* a second one in one hold: rare */
  b->wake = cv;
}

static inline void unlock(ms_batcher *b) {
  pthread_cond_t *cv = b->wake;
  b->wake = NULL;
  pthread_mutex_unlock(&b->mu);
  if (cv) pthread_cond_signal(cv);
}

static void refresh_watchers(ms_batcher *b) {
  int due = ms__batcher_due(b);
  efd_sync(b, fd_ready(b, due));
  /* A keeper spinning out the last microseconds to its deadline must also
   * look again when a nearer deadline came in. */
  int hint = fd_ready(b, due) || (b->keeper_spinning && ms__batcher_next_deadline(b) < b->keeper_until);
  /* written only when it changes: a spinning waiter reads its line */
  if (atomic_load_explicit(&b->due_hint, memory_order_relaxed) != hint)
    atomic_store_explicit(&b->due_hint, hint, memory_order_relaxed);
  if (!b->n_sleep_work && !b->keeper_sleeping) return;
  if (due) {
    if (!b->wake_pending) {
      wake_later(b, b->n_sleep_work ? &b->cv_work : &b->cv_keeper);
      b->wake_pending = 1;
    }
    return;
  }
  int64_t next = ms__batcher_next_deadline(b);
  if (b->keeper_sleeping) {
    if (next < b->keeper_until) {
      b->keeper_until = next;
      wake_later(b, &b->cv_keeper);
    }
  } else if (next != INT64_MAX && !b->wake_pending && !b->keeper_spinning) {
    /* Nobody keeps time: promote one waiter. */
    wake_later(b, &b->cv_work);
    b->wake_pending = 1;
  }
}

static inline void refresh(ms_batcher *b) {
  if (b->efd >= 0 || b->n_sleep_work || b->keeper_sleeping || b->n_spinning) refresh_watchers(b);
  /* else nobody watches: the next poll finds what is due */
}

static int64_t advance(ms_batcher *b, int64_t now_us) {
  if (now_us > b->now) b->now = now_us;
  /* the top's cached key is a lower bound of the nearest deadline */
  if (b->n_heap && b->heap[0].deadline <= b->now) ms__batcher_expire(b, b->now);
  return b->now;
}

/* ---- settings ---------------------------------------------------------------- */

/* Can the max batch become `items`? (lock held) */
static int check_max_batch(ms_batcher *b, int64_t items, const char *call) {
  if (!b->pref_default && b->pref[b->n_pref - 1] > items)
    return ms__fail(MS_ECONFLICT,
                    "batcher: %s: a max batch of %" PRId64 " items is below the preferred size %" PRId64
                    "; set the preferred sizes first",
                    call, items, b->pref[b->n_pref - 1]);
  if (items < b->max_batch) {
    for (uint32_t n = b->ahead; n != MS__BNIL; n = ms__batcher_node(b, n)->anext) {
      const ms__bnode *x = ms__batcher_node(b, n);
      if (x->items > items)
        return ms__fail(MS_ECONFLICT,
                        "batcher: %s: a max batch of %" PRId64 " items is below pending request %" PRIu64
                        "'s %d items",
                        call, items, x->id, (int)x->items);
    }
  }
  return MS_OK;
}

static void apply_max_batch(ms_batcher *b, int64_t items) {
  b->max_batch = items;
  if (b->pref_default) b->pref[0] = items;
  b->size_state = MS__BSIZE_UNKNOWN;
}

static void set_level_timeout(ms_batcher *b, int l, int64_t timeout_us) {
  ms__blevel *v = &b->levels[l];
  if (v->timeout_us == timeout_us) return;
  uint32_t old = v->def_cls;
  v->def_cls = MS__BNIL;
  v->timeout_us = timeout_us;
  if (old != MS__BNIL) ms__batcher_class_release(b, old);
}

int ms_batcher_set_max_batch(ms_batcher *b, int64_t items) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_max_batch: NULL batcher");
  if (items < 1 || items > MS_BATCHER_MAX_ITEMS)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_max_batch: %" PRId64 " items is out of range (1..%d)", items,
                    MS_BATCHER_MAX_ITEMS);
  pthread_mutex_lock(&b->mu);
  int st = check_max_batch(b, items, "ms_batcher_set_max_batch");
  if (!st) {
    apply_max_batch(b, items);
    refresh(b);
  }
  unlock(b);
  return st;
}

int ms_batcher_set_max_delay(ms_batcher *b, int64_t delay_us) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_max_delay: NULL batcher");
  if (delay_us < 0)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_max_delay: a delay cannot be negative (%" PRId64 " us)",
                    delay_us);
  pthread_mutex_lock(&b->mu);
  b->max_delay = delay_us;
  refresh(b);
  unlock(b);
  return MS_OK;
}

int ms_batcher_set_preferred_sizes(ms_batcher *b, const int64_t *sizes, size_t n) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_preferred_sizes: NULL batcher");
  if (n && !sizes) return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_preferred_sizes: NULL sizes with n = %zu", n);
  if (n > MS_BATCHER_MAX_PREFERRED)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_preferred_sizes: %zu sizes; at most %d", n,
                    MS_BATCHER_MAX_PREFERRED);
  int64_t s[MS_BATCHER_MAX_PREFERRED];
  for (size_t i = 0; i < n; i++) {
    /* insertion sort: n is small */
    size_t j = i;
    while (j > 0 && s[j - 1] > sizes[i]) {
      s[j] = s[j - 1];
      j--;
    }
    s[j] = sizes[i];
  }
  for (size_t i = 1; i < n; i++)
    if (s[i] == s[i - 1])
      return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_preferred_sizes: size %" PRId64 " is given twice", s[i]);
  pthread_mutex_lock(&b->mu);
  for (size_t i = 0; i < n; i++) {
    if (s[i] < 1 || s[i] > b->max_batch) {
      int64_t bad = s[i], max = b->max_batch;
      unlock(b);
      return ms__fail(MS_EINVAL,
                      "batcher: ms_batcher_set_preferred_sizes: size %" PRId64 " is out of range (1..%" PRId64
                      ", the max batch)",
                      bad, max);
    }
  }
  if (n) {
    memcpy(b->pref, s, n * sizeof s[0]);
    b->n_pref = n;
    b->pref_default = 0;
  } else {
    b->pref[0] = b->max_batch;
    b->n_pref = 1;
    b->pref_default = 1;
  }
  b->size_state = MS__BSIZE_UNKNOWN;
  refresh(b);
  unlock(b);
  return MS_OK;
}

int ms_batcher_set_max_queue(ms_batcher *b, int64_t requests) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_max_queue: NULL batcher");
  if (requests < 0)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_max_queue: %" PRId64 " requests is negative (0: unbounded)",
                    requests);
  pthread_mutex_lock(&b->mu);
  b->max_queue = requests;
  unlock(b);
  return MS_OK;
}

int ms_batcher_set_priority_levels(ms_batcher *b, int levels, int default_level) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_priority_levels: NULL batcher");
  if (levels < 1 || levels > MS_BATCHER_MAX_LEVELS)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_priority_levels: %d levels is out of range (1..%d)", levels,
                    MS_BATCHER_MAX_LEVELS);
  if (default_level < 1 || default_level > levels)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_priority_levels: default level %d is out of range (1..%d)",
                    default_level, levels);
  pthread_mutex_lock(&b->mu);
  for (int l = levels; l < b->n_levels; l++) {
    if (b->levels[l].count) {
      int64_t count = b->levels[l].count;
      unlock(b);
      return ms__fail(MS_ECONFLICT,
                      "batcher: ms_batcher_set_priority_levels: level %d holds %" PRId64 " pending requests", l + 1,
                      count);
    }
  }
  for (int l = levels; l < b->n_levels; l++) {
    uint32_t c = b->levels[l].def_cls;
    level_init(&b->levels[l], b->all_action, b->all_timeout, b->all_override);
    if (c != MS__BNIL) ms__batcher_class_release(b, c);
  }
  for (int l = b->n_levels; l < levels; l++) level_init(&b->levels[l], b->all_action, b->all_timeout, b->all_override);
  b->n_levels = levels;
  b->default_level = default_level - 1;
  refresh(b);
  unlock(b);
  return MS_OK;
}

int ms_batcher_set_queue_policy(ms_batcher *b, int level, ms_timeout_action action, int64_t default_timeout_us,
                                int allow_override) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_queue_policy: NULL batcher");
  if ((int)action != MS_TIMEOUT_REJECT && (int)action != MS_TIMEOUT_DELAY)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_queue_policy: timeout action %d is not MS_TIMEOUT_REJECT or "
                               "MS_TIMEOUT_DELAY", (int)action);
  if (default_timeout_us < 0)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_queue_policy: a timeout cannot be negative (%" PRId64 " us)",
                    default_timeout_us);
  pthread_mutex_lock(&b->mu);
  if (level < 0 || level > b->n_levels) {
    int n = b->n_levels;
    unlock(b);
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_set_queue_policy: level %d is out of range (0: all, 1..%d)",
                    level, n);
  }
  int lo = level ? level - 1 : 0, hi = level ? level : b->n_levels;
  if (!level) {
    b->all_action = (int)action;
    b->all_timeout = default_timeout_us;
    b->all_override = allow_override != 0;
  }
  for (int l = lo; l < hi; l++) {
    b->levels[l].action = (int)action;
    b->levels[l].allow_override = allow_override != 0;
    set_level_timeout(b, l, default_timeout_us);
  }
  refresh(b);
  unlock(b);
  return MS_OK;
}

int ms_batcher_configure(ms_batcher *b, const ms_model *m) {
  if (!b || !m) return ms__fail(MS_EINVAL, "batcher: ms_batcher_configure: NULL %s", b ? "model" : "batcher");
  static const char *const keys[4] = {"batch_size", "max_batch_delay_us", "max_queue_size", "request_timeout_us"};
  int64_t v[4];
  for (int i = 0; i < 4; i++) {
    int st = ms_model_get_int(m, keys[i], &v[i], NULL);
    if (st) {
      ms__errmsg_prefix("batcher: ms_batcher_configure: model '%s' %s: %s", ms_model_name(m), ms_model_version(m),
                        keys[i]);
      return st;
    }
  }
  if (v[0] < 1 || v[0] > MS_BATCHER_MAX_ITEMS || v[1] < 0 || v[2] < 0 || v[3] < 0) {
    int i = v[0] < 1 || v[0] > MS_BATCHER_MAX_ITEMS ? 0 : v[1] < 0 ? 1 : v[2] < 0 ? 2 : 3;
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_configure: model '%s' %s: %s = %" PRId64 " is out of range",
                    ms_model_name(m), ms_model_version(m), keys[i], v[i]);
  }
  char call[320];
  snprintf(call, sizeof call, "ms_batcher_configure: model '%.120s' %.64s", ms_model_name(m), ms_model_version(m));
  pthread_mutex_lock(&b->mu);
  int st = check_max_batch(b, v[0], call);
  if (!st) {
    apply_max_batch(b, v[0]);
    b->max_delay = v[1];
    b->max_queue = v[2];
    b->all_timeout = v[3];
    for (int l = 0; l < b->n_levels; l++) set_level_timeout(b, l, v[3]);
    refresh(b);
  }
  unlock(b);
  return st;
}

/* ---- requests ------------------------------------------------------------------ */

int ms_batcher_submit(ms_batcher *b, uint64_t request_id, int64_t items, int priority, int64_t timeout_us,
                      int64_t now_us) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_submit: NULL batcher");
  if (timeout_us < 0)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_submit: request %" PRIu64 ": a timeout cannot be negative (%" PRId64
                               " us; 0: the policy's)",
                    request_id, timeout_us);
  pthread_mutex_lock(&b->mu);
  int st = MS_OK;
  if (b->closed) {
    st = ms__fail(MS_ECLOSED, "batcher: ms_batcher_submit: request %" PRIu64 ": the batcher is shut down", request_id);
    goto out;
  }
  if (items < 1 || items > b->max_batch) {
    st = ms__fail(MS_EINVAL,
                  "batcher: ms_batcher_submit: request %" PRIu64 ": %" PRId64 " items; a request holds 1..%" PRId64
                  " (the max batch)",
                  request_id, items, b->max_batch);
    goto out;
  }
  if (priority < 0 || priority > b->n_levels) {
    st = ms__fail(MS_EINVAL,
                  "batcher: ms_batcher_submit: request %" PRIu64 ": priority %d is out of range (0: the default level, "
                  "1..%d)",
                  request_id, priority, b->n_levels);
    goto out;
  }
  /* Room first, so the probe below stays valid for the insert. */
  if (!ms__batcher_hash_has_room(b) && (st = ms__batcher_hash_reserve(b)) != MS_OK) {
    ms__errmsg_prefix("batcher: ms_batcher_submit: request %" PRIu64, request_id);
    goto out;
  }
  uint32_t stop = 0, dist = 0;
  if (ms__batcher_hash_find_slot(b, request_id, &stop, &dist) != MS__BNIL) {
    st = ms__fail(MS_EEXIST,
                  "batcher: ms_batcher_submit: request %" PRIu64 " is held already (pending, or not handed back yet)",
                  request_id);
    goto out;
  }
  advance(b, now_us);
  int level = priority ? priority - 1 : b->default_level;
  ms__blevel *v = &b->levels[level];
  if (b->max_queue && v->count >= b->max_queue) {
    st = ms__fail(MS_EFULL,
                  "batcher: ms_batcher_submit: request %" PRIu64 ": priority level %d is full: it holds %" PRId64
                  " pending requests, its limit (max_queue %" PRId64 ")",
                  request_id, level + 1, v->count, b->max_queue);
    goto refresh_out;
  }
  if (b->n_used >= MS_BATCHER_MAX_REQUESTS) {
    st = ms__fail(MS_EFULL, "batcher: ms_batcher_submit: request %" PRIu64 ": the batcher holds %u requests, the most it can",
                  request_id, (unsigned)b->n_used);
    goto refresh_out;
  }
  int64_t t = v->timeout_us;
  if (timeout_us > 0 && v->allow_override && (t == 0 || timeout_us < t)) t = timeout_us;
  if ((t && (st = ms__batcher_class_reserve(b)) != MS_OK) ||
      (b->free_head == MS__BNIL && (st = ms__batcher_node_reserve(b)) != MS_OK)) {
    ms__errmsg_prefix("batcher: ms_batcher_submit: request %" PRIu64, request_id);
    goto refresh_out;
  }
  uint32_t c = MS__BNIL;
  if (t) {
    if (t == v->timeout_us && v->def_cls != MS__BNIL) {
      c = v->def_cls;
    } else {
      c = ms__batcher_class_get(b, (uint32_t)level, t);
      if (t == v->timeout_us) v->def_cls = c;
    }
  }
  /* Will the request be the last one in queue order? Then rules 1-2 can be
   * updated from the running total alone. */
  int at_end = v->dfirst == MS__BNIL && (b->n_levels == 1 || ms__batcher_highest_level(b) <= level);
  uint32_t node = ms__batcher_node_take(b);
  ms__bnode *n = ms__batcher_node(b, node);
  n->id = request_id;
  n->submit_us = b->now;
  n->items = (int32_t)items;
  n->meta = (uint32_t)level << 24 | MS__BCLS_NONE;
  ms__batcher_hash_insert_at(b, stop, dist, node);
  ms__batcher_level_push(b, node);
  if (c != MS__BNIL) ms__batcher_class_push(b, c, node);
  if (!at_end) {
    b->size_state = MS__BSIZE_UNKNOWN;
  } else if (b->size_state == MS__BSIZE_NOT_DUE) {
    int64_t total = b->items_pending, pmax = b->pref[b->n_pref - 1];
    int hit = total > pmax;
    for (size_t i = 0; !hit && i < b->n_pref && b->pref[i] <= total; i++) hit = b->pref[i] == total;
    if (hit) b->size_state = MS__BSIZE_DUE;
  }
refresh_out:
  refresh(b);
out:
  unlock(b);
  return st;
}

int ms_batcher_cancel(ms_batcher *b, uint64_t request_id) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_cancel: NULL batcher");
  pthread_mutex_lock(&b->mu);
  uint32_t node = ms__batcher_hash_find(b, request_id);
  if (node == MS__BNIL) {
    unlock(b);
    return ms__fail(MS_ENOTFOUND,
                    "batcher: ms_batcher_cancel: request %" PRIu64 " is not held (never submitted, or handed out already)",
                    request_id);
  }
  if (ms__bn_pending(ms__batcher_node(b, node))) {
    ms__batcher_cancel_node(b, node);
    refresh(b);
  }
  unlock(b);
  return MS_OK;
}

int ms_batcher_shutdown(ms_batcher *b) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_shutdown: NULL batcher");
  pthread_mutex_lock(&b->mu);
  if (!b->closed) {
    b->closed = 1;
    int level = 0;
    uint32_t node;
    while ((node = ms__batcher_first(b, &level)) != MS__BNIL) ms__batcher_cancel_node(b, node);
    refresh(b);
    pthread_cond_broadcast(&b->cv_work);
    pthread_cond_broadcast(&b->cv_keeper);
  }
  unlock(b);
  return MS_OK;
}

/* ---- batches out ---------------------------------------------------------------- */

/* Take what is due at now (lock held): MS_OK with *x possibly NULL,
 * MS_ENOMEM, or MS_ECLOSED once a shut-down batcher handed everything back. */
static int take(ms_batcher *b, int64_t now, ms_batch **x, const char *call) {
  *x = NULL;
  int st = ms__batcher_cut(b, now, x);
  if (st) {
    ms__errmsg_prefix("batcher: %s", call);
    return st;
  }
  if (!*x && b->closed)
    return ms__fail(MS_ECLOSED, "batcher: %s: the batcher is shut down and has handed back every request", call);
  return MS_OK;
}

int ms_batcher_poll(ms_batcher *b, int64_t now_us, ms_batch **out) {
  if (!b || !out) return ms__fail(MS_EINVAL, "batcher: ms_batcher_poll: NULL %s", b ? "out" : "batcher");
  pthread_mutex_lock(&b->mu);
  ms_batch *x = NULL;
  int st = take(b, advance(b, now_us), &x, "ms_batcher_poll");
  refresh(b);
  unlock(b);
  if (st == MS_OK || st == MS_ECLOSED) *out = x;
  return st;
}

/* Before sleeping, a waiter watches for a due batch for a few microseconds
 * without the lock: a busy producer then hands batches over without a
 * system call on either side. (lock held on entry and on return) */
static void spin_briefly(ms_batcher *b) {
  enum { SPIN_US = 5 };
  atomic_store_explicit(&b->due_hint, 0, memory_order_relaxed); /* the caller found nothing due */
  b->n_spinning++;
  unlock(b);
  int64_t until = ms_clock_monotonic_us() + SPIN_US;
  for (unsigned i = 1; !atomic_load_explicit(&b->due_hint, memory_order_relaxed); i++) {
    ms__cpu_relax();
    if (i % 32 == 0 && ms_clock_monotonic_us() >= until) break;
  }
  pthread_mutex_lock(&b->mu);
  b->n_spinning--;
}

static struct timespec abs_time(int64_t us) {
  struct timespec ts;
  ts.tv_sec = (time_t)(us / 1000000);
  ts.tv_nsec = (long)(us % 1000000) * 1000;
  return ts;
}

/* 1 when the sleep ended because until_us passed. */
static int sleep_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t until_us) {
  if (until_us == INT64_MAX) {
    pthread_cond_wait(cv, mu);
    return 0;
  }
  struct timespec ts = abs_time(until_us);
  return pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT;
}

/* ---- the keeper's early wake-up ---------------------------------------------
 * A thread asleep until an instant wakes some time after it: tens of
 * microseconds on a virtual machine, which every deadline the keeper keeps
 * (a delay's end, a request's timeout) would add to its batch. So the keeper
 * asks to wake wake_margin earlier and spins, without the lock, for what is
 * left. The margin follows the median of its own recent wake-up lateness
 * (a step of 2 us towards each new one, at most 100 us): on a machine that
 * wakes promptly it shrinks to nothing, and it costs a spin only of the
 * difference between the margin and the lateness of the moment. Nothing is
 * ever handed out early: the batch is still cut at a now past its deadline. */
enum { MARGIN_STEP_US = 2, MARGIN_MAX_US = 100 };

static void calibrate(ms_batcher *b, int64_t late_us) {
  if (late_us > b->wake_margin) b->wake_margin += MARGIN_STEP_US;
  else if (b->wake_margin >= MARGIN_STEP_US) b->wake_margin -= MARGIN_STEP_US;
  if (b->wake_margin > MARGIN_MAX_US) b->wake_margin = MARGIN_MAX_US;
}

/* Spin until `until`, a change (due_hint), or a nearer deadline. (lock held
 * on entry and on return; the caller found nothing due) */
static void keeper_spin(ms_batcher *b, int64_t until) {
  atomic_store_explicit(&b->due_hint, 0, memory_order_relaxed);
  b->keeper_spinning = 1;
  b->keeper_until = until;
  b->n_spinning++;
  unlock(b);
  for (unsigned i = 1; !atomic_load_explicit(&b->due_hint, memory_order_relaxed); i++) {
    ms__cpu_relax();
    if (i % 16 == 0 && ms_clock_monotonic_us() >= until) break;
  }
  pthread_mutex_lock(&b->mu);
  b->n_spinning--;
  b->keeper_spinning = 0;
}

int ms_batcher_wait(ms_batcher *b, int64_t timeout_us, ms_batch **out) {
  if (!b || !out) return ms__fail(MS_EINVAL, "batcher: ms_batcher_wait: NULL %s", b ? "out" : "batcher");
  if (timeout_us < -1)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_wait: timeout %" PRId64 " us is out of range (-1: no limit)",
                    timeout_us);
  int64_t end = timeout_us < 0 ? INT64_MAX : ms__batcher_sat_add(ms_clock_monotonic_us(), timeout_us);
  ms_batch *x = NULL;
  int st, spun = 0;
  int64_t spin_to = INT64_MIN; /* after an early wake-up: the deadline to spin out */
  pthread_mutex_lock(&b->mu);
  for (;;) {
    int64_t now = advance(b, ms_clock_monotonic_us());
    st = take(b, now, &x, "ms_batcher_wait");
    if (st || x) break;
    if (now >= end) {
      st = ms__fail(MS_ETIMEDOUT, "batcher: ms_batcher_wait: nothing became due within %" PRId64 " us", timeout_us);
      break;
    }
    if (!spun) {
      spun = 1;
      spin_briefly(b);
      continue;
    }
    if (spin_to > now && !b->keeper_sleeping && !b->keeper_spinning) {
      keeper_spin(b, spin_to);
      spin_to = INT64_MIN;
      continue;
    }
    spin_to = INT64_MIN;
    if (!b->keeper_sleeping && !b->keeper_spinning) {
      /* Keep time for everyone: sleep until the next deadline (minus the
       * margin, see calibrate). */
      int64_t next = ms__batcher_next_deadline(b);
      int64_t target = next < end ? next : end;
      int64_t early = target == INT64_MAX ? target : ms__batcher_sat_add(target, -b->wake_margin);
      b->keeper_sleeping = 1;
      b->keeper_until = target;
      int timed_out = sleep_until(&b->cv_keeper, &b->mu, early);
      b->keeper_sleeping = 0;
      if (timed_out) {
        calibrate(b, ms_clock_monotonic_us() - early);
        spin_to = b->keeper_until; /* lowered by a nearer deadline meanwhile: that one */
      }
    } else {
      b->n_sleep_work++;
      sleep_until(&b->cv_work, &b->mu, end);
      b->n_sleep_work--;
    }
    b->wake_pending = 0;
    b->wakeups++;
  }
  refresh(b); /* passes the turn on: another due batch, or the timekeeper role */
  unlock(b);
  *out = x;
  return st;
}

int ms_batcher_next_deadline(ms_batcher *b, int64_t *deadline_us) {
  if (!b || !deadline_us)
    return ms__fail(MS_EINVAL, "batcher: ms_batcher_next_deadline: NULL %s", b ? "deadline_us" : "batcher");
  pthread_mutex_lock(&b->mu);
  int64_t d = ms__batcher_next_deadline(b);
  unlock(b);
  *deadline_us = d;
  return MS_OK;
}

int ms_batcher_fd(ms_batcher *b, int *fd) {
  if (!b || !fd) return ms__fail(MS_EINVAL, "batcher: ms_batcher_fd: NULL %s", b ? "fd" : "batcher");
  pthread_mutex_lock(&b->mu);
  if (b->efd < 0) {
    int e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e < 0) {
      int err = errno;
      unlock(b);
      return ms__fail(MS_EIO, "batcher: ms_batcher_fd: eventfd: %s", strerror(err));
    }
    b->efd = e;
    b->efd_set = 0;
    efd_sync(b, fd_ready(b, ms__batcher_due(b)));
  }
  *fd = b->efd;
  unlock(b);
  return MS_OK;
}

int ms_batcher_stats(ms_batcher *b, int64_t now_us, int64_t *queued_requests, int64_t *queued_items,
                     int64_t *oldest_wait_us) {
  if (!b) return ms__fail(MS_EINVAL, "batcher: ms_batcher_stats: NULL batcher");
  pthread_mutex_lock(&b->mu);
  int64_t n = b->n_pending, items = b->items_pending, wait = 0;
  if (b->ahead != MS__BNIL) {
    int64_t since = ms__batcher_node(b, b->ahead)->submit_us;
    if (now_us <= since) wait = 0;
    else if (__builtin_sub_overflow(now_us, since, &wait)) wait = INT64_MAX;
  }
  unlock(b);
  if (queued_requests) *queued_requests = n;
  if (queued_items) *queued_items = items;
  if (oldest_wait_us) *oldest_wait_us = wait;
  return MS_OK;
}
