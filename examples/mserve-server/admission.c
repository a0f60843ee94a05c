/* mserve-server: per-key admission (see admission.h). */
#include "admission.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LEASE_US (600LL * 1000000)

int admission_setup(srv *s, char *err, size_t errlen) {
  if (!s->o.limits) return MS_OK;
  if (srv_limits_load(s->o.limits, &s->limits, err, errlen)) return MS_ECORRUPT;
  int st = ms_tracker_open(s->store, &s->tracker);
  ms_reconcile *rc = NULL;
  if (!st) st = ms_tracker_reconcile_begin(s->tracker, NULL, &rc);
  if (!st) st = ms_reconcile_commit(rc, ms_clock_realtime_us(), NULL, NULL);
  const srv_limits *l = &s->limits;
  for (size_t i = 0; !st && i < l->n_scopes; i++)
    st = ms_tracker_set_limit(s->tracker, l->scopes[i].scope, MS_CLASS_COMPUTE, l->scopes[i].limit);
  for (size_t i = 0; !st && i < l->n_keys; i++) {
    char scope[256];
    snprintf(scope, sizeof scope, "key:%s", l->keys[i].key);
    int64_t lim = l->keys[i].limit >= 0 ? l->keys[i].limit : l->default_limit;
    st = ms_tracker_set_limit(s->tracker, scope, MS_CLASS_COMPUTE, lim);
  }
  if (!st) st = ms_tracker_set_limit(s->tracker, "anonymous", MS_CLASS_COMPUTE, l->anonymous_limit);
  if (st) snprintf(err, errlen, "%s", ms_errmsg());
  return st;
}

void admission_close(srv *s) {
  ms_tracker_close(s->tracker);
  s->tracker = NULL;
  srv_limits_free(&s->limits);
}

/* The request's key: "Authorization: Bearer KEY", else "X-Api-Key". */
static const char *request_key(struct MHD_Connection *conn) {
  const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  if (a && strncasecmp(a, "Bearer ", 7) == 0) {
    a += 7;
    while (*a == ' ') a++;
    return a;
  }
  return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Api-Key");
}

void admission_admit(srv *s, struct MHD_Connection *conn, srv_req *r, admission *out) {
  memset(out, 0, sizeof *out);
  if (!s->tracker) return;
  const srv_limits *l = &s->limits;
  const char *key = request_key(conn);
  char scope_key[256];
  const char *scopes[1 + SRV_MAX_KEY_SCOPES];
  size_t n = 0;
  if (!key || !*key) {
    if (l->anonymous_limit < 0) return;
    scopes[n++] = "anonymous";
  } else {
    if (!srv_key_valid(key)) {
      out->status = MS_EINVAL;
      snprintf(out->msg, sizeof out->msg, "mserve-server: the API key must be 1..%d printable ASCII characters",
               SRV_KEY_MAX);
      return;
    }
    const srv_limit_key *k = srv_limits_find(l, key);
    if (!k && l->default_limit < 0) return; /* nothing limits it */
    snprintf(scope_key, sizeof scope_key, "key:%s", key);
    scopes[n++] = scope_key;
    if (k)
      for (size_t i = 0; i < k->n_scopes; i++) scopes[n++] = k->scopes[i];
    else {
      /* a key of no entry gets default_limit, written the first time it is seen */
      int64_t cur = 0;
      if (ms_tracker_get_limit(s->tracker, scope_key, MS_CLASS_COMPUTE, &cur) == MS_OK && cur != l->default_limit)
        ms_tracker_set_limit(s->tracker, scope_key, MS_CLASS_COMPUTE, l->default_limit);
    }
  }
  snprintf(r->session, sizeof r->session, "req-%ld-%llu", (long)getpid(), (unsigned long long)++s->session_seq);
  int st = ms_tracker_admit(s->tracker, r->session, MS_CLASS_COMPUTE, scopes, n, LEASE_US, ms_clock_realtime_us(),
                            &out->denial);
  if (st) {
    out->status = st;
    r->session[0] = '\0';
    if (st == MS_ELIMIT)
      snprintf(out->msg, sizeof out->msg, "mserve-server: concurrency limit: scope '%.200s' holds %lld of %lld",
               out->denial.scope, (long long)out->denial.used, (long long)out->denial.limit);
    else
      snprintf(out->msg, sizeof out->msg, "%s", ms_errmsg());
  }
}

void admission_release(srv *s, srv_req *r) {
  if (!s->tracker || !r->session[0]) return;
  if (ms_tracker_release(s->tracker, r->session, ms_clock_realtime_us(), NULL) != MS_OK)
    srv_log(MS_LOG_WARN, "tracker: release '%s': %s", r->session, ms_errmsg());
  r->session[0] = '\0';
}
