/* The tracker handle, limits, counts and lookups, and the purge call. */
#include <stdlib.h>

#include "common/error.h"
#include "tracker/rows.h"
#include "tracker/tally.h"

int ms_tracker_open(ms_store *store, ms_tracker **out) {
  if (!store || !out) return ms__fail(MS_EINVAL, "tracker: ms_tracker_open: %s is NULL", !store ? "store" : "out");
  ms_tracker *t = calloc(1, sizeof *t);
  if (!t) return ms__fail(MS_ENOMEM, "tracker: ms_tracker_open: out of memory");
  t->store = store;
  *out = t;
  return MS_OK;
}

void ms_tracker_close(ms_tracker *t) {
  if (!t) return;
  ms__tracker_tally_free(t->tally_mem);
  free(t);
}

/* "tracker: <call>: scope '<scope>'" and the class check. */
static int scope_call(char *what, const char *call, const char *scope, int cls) {
  int st = ms__tracker_what(what, call, "scope", scope);
  return st ? st : ms__tracker_check_class(what, cls);
}

typedef struct limit_call {
  ms_tracker *t;
  const char *scope;
  int cls;
  int64_t limit;
} limit_call;

static int set_limit_op(ms_store *s, void *arg) {
  (void)s;
  limit_call *c = arg;
  return ms__tracker_pair_set_limit(c->t, c->scope, c->cls, c->limit);
}

int ms_tracker_set_limit(ms_tracker *t, const char *scope, ms_session_class cls, int64_t limit) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: ms_tracker_set_limit: tracker is NULL");
  char what[MS_TRACKER_WHAT_LEN];
  int st = scope_call(what, "ms_tracker_set_limit", scope, (int)cls);
  if (st) return st;
  if (limit < MS_UNLIMITED)
    return ms__fail(MS_EINVAL, "%s: limit %lld is invalid (MS_UNLIMITED, 0 or a positive count)", what,
                    (long long)limit);
  limit_call c = {t, scope, (int)cls, limit};
  return ms__tracker_failed(what, ms__store_write(t->store, set_limit_op, &c));
}

/* Read-only calls hold the store for their few statements in autocommit
 * mode; each statement is reset at once, so no read transaction outlives the
 * call. */
int ms_tracker_get_limit(ms_tracker *t, const char *scope, ms_session_class cls, int64_t *limit) {
  if (!t || !limit)
    return ms__fail(MS_EINVAL, "tracker: ms_tracker_get_limit: %s is NULL", !t ? "tracker" : "limit");
  char what[MS_TRACKER_WHAT_LEN];
  int st = scope_call(what, "ms_tracker_get_limit", scope, (int)cls);
  if (st) return st;
  if ((st = ms__store_read_begin(t->store)) != MS_OK) return ms__tracker_failed(what, st);
  int64_t v = MS_UNLIMITED;
  st = ms__tracker_limit_get(t, scope, (int)cls, &v);
  ms__store_read_end(t->store);
  if (st) return ms__tracker_failed(what, st);
  *limit = v;
  return MS_OK;
}

int ms_tracker_get_used(ms_tracker *t, const char *scope, ms_session_class cls, int64_t now_us, int64_t *used) {
  if (!t || !used) return ms__fail(MS_EINVAL, "tracker: ms_tracker_get_used: %s is NULL", !t ? "tracker" : "used");
  char what[MS_TRACKER_WHAT_LEN];
  int st = scope_call(what, "ms_tracker_get_used", scope, (int)cls);
  if (!st) st = ms__tracker_check_time(what, 0, now_us);
  if (st) return st;
  if ((st = ms__store_read_begin(t->store)) != MS_OK) return ms__tracker_failed(what, st);
  int64_t n = 0;
  st = ms__tracker_pair_used(t, scope, (int)cls, now_us, &n);
  ms__store_read_end(t->store);
  if (st) return ms__tracker_failed(what, st);
  *used = n;
  return MS_OK;
}

int ms_tracker_get_held(ms_tracker *t, const char *session_id, int64_t now_us, int *held, ms_session_class *cls,
                        int64_t *expires_us) {
  if (!t || !held) return ms__fail(MS_EINVAL, "tracker: ms_tracker_get_held: %s is NULL", !t ? "tracker" : "held");
  char what[MS_TRACKER_WHAT_LEN];
  int st = ms__tracker_what(what, "ms_tracker_get_held", "session", session_id);
  if (!st) st = ms__tracker_check_time(what, 0, now_us);
  if (st) return st;
  if ((st = ms__store_read_begin(t->store)) != MS_OK) return ms__tracker_failed(what, st);
  ms__tracker_session *s = malloc(sizeof *s);
  int found = 0;
  st = s ? ms__tracker_session_get(t, session_id, s, &found) : ms__fail(MS_ENOMEM, "%s: out of memory", what);
  ms__store_read_end(t->store);
  if (!st) {
    found = found && ms__tracker_live(s->expires_us, now_us);
    *held = found;
    if (found && cls) *cls = (ms_session_class)s->cls;
    if (found && expires_us) *expires_us = s->expires_us;
  }
  free(s);
  return ms__tracker_failed(what, st);
}

int ms_tracker_next_expiry(ms_tracker *t, int64_t *at_us) {
  if (!t || !at_us)
    return ms__fail(MS_EINVAL, "tracker: ms_tracker_next_expiry: %s is NULL", !t ? "tracker" : "at_us");
  static const char what[] = "tracker: ms_tracker_next_expiry";
  int st = ms__store_read_begin(t->store);
  if (st) return ms__tracker_failed(what, st);
  int64_t at = INT64_MAX;
  st = ms__tracker_earliest_expiry(t, &at);
  ms__store_read_end(t->store);
  if (st) return ms__tracker_failed(what, st);
  *at_us = at;
  return MS_OK;
}

/* Sessions one purge step forgets; a purge call runs steps until it has
 * forgotten max or found no more, all in one transaction. */
#define PURGE_STEP 256

typedef struct purge_call {
  ms_tracker *t;
  int64_t now_us, max, purged;
} purge_call;

static int purge_op(ms_store *s, void *arg) {
  (void)s;
  purge_call *c = arg;
  c->purged = 0;
  int64_t next = INT64_MAX;
  while (c->purged < c->max) {
    size_t step = c->max - c->purged < PURGE_STEP ? (size_t)(c->max - c->purged) : PURGE_STEP, got = 0;
    int st = ms__tracker_purge_any(c->t, c->now_us, step, &got, &next);
    if (st) return st;
    c->purged += (int64_t)got;
    if (got < step) break;
  }
  ms__tracker_set_purge_due(c->t, next);
  return MS_OK;
}

int ms_tracker_purge(ms_tracker *t, int64_t now_us, int64_t max, int64_t *purged) {
  if (!t) return ms__fail(MS_EINVAL, "tracker: ms_tracker_purge: tracker is NULL");
  static const char what[] = "tracker: ms_tracker_purge";
  int st = ms__tracker_check_time(what, 0, now_us);
  if (st) return st;
  if (max < 1) return ms__fail(MS_EINVAL, "%s: max %lld is not a positive count", what, (long long)max);
  purge_call c = {t, now_us, max, 0};
  if ((st = ms__store_write(t->store, purge_op, &c)) != MS_OK) return ms__tracker_failed(what, st);
  if (purged) *purged = c.purged;
  return MS_OK;
}
