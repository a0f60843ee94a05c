/* Endpoints: setting and reading desired counts, removing an endpoint with
 * its rules and history, listing them. */
#include <stdlib.h>
#include <string.h>

#include "autoscaler/arena.h"
#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/history_store.h"
#include "autoscaler/lists.h"
#include "autoscaler/rule_store.h"
#include "common/error.h"

/* Run `q` with (x, y) bound as ?1 and ?2. */
static int step2(ms_store *s, ms_stmt *q, int64_t x, int64_t y, const char *what) {
  ms__stmt_bind_int64(q, 1, x);
  ms__stmt_bind_int64(q, 2, y);
  return ms__stmt_done(s, q, what);
}

/* The write of set_replicas: update the count of an endpoint (id > 0), or
 * create one named `name` (id 0; *new_id receives its rowid). */
typedef struct replicas_op {
  int64_t id;
  const char *name;
  int64_t replicas;
  int64_t new_id;
} replicas_op;

static int replicas_write(ms_store *s, void *arg) {
  static const char SQL_UPDATE[] = "UPDATE autoscaler_state SET replicas = ?2 WHERE endpoint_id = ?1";
  static const char SQL_INSERT[] = "INSERT INTO autoscaler_endpoint(name) VALUES (?1) RETURNING id";
  static const char SQL_INSERT_STATE[] = "INSERT INTO autoscaler_state(endpoint_id, replicas) VALUES (?1, ?2)";
  replicas_op *op = arg;
  int st = MS_OK;
  ms_stmt *q;
  if (op->id) {
    if ((q = ms__store_prepare(s, SQL_UPDATE, &st))) st = step2(s, q, op->id, op->replicas, "writing the endpoint");
    return st;
  }
  if (!(q = ms__store_prepare(s, SQL_INSERT, &st))) return st;
  ms__stmt_bind_text(q, 1, op->name, -1);
  int row = 0;
  if ((st = ms__stmt_row(s, q, "creating the endpoint", &row))) return st;
  if (!row) return ms__fail(MS_EINTERNAL, "creating the endpoint: the insert returned no id");
  op->new_id = ms__stmt_int64(q, 0);
  ms__stmt_reset(q);
  if ((q = ms__store_prepare(s, SQL_INSERT_STATE, &st)))
    st = step2(s, q, op->new_id, op->replicas, "creating the endpoint's state");
  return st;
}

static int set_replicas_locked(ms_autoscaler *a, const char *endpoint, int64_t replicas) {
  as_endpoint *ep = ms__autoscaler_endpoint_find(&a->m, endpoint);
  if (ep && ep->replicas == replicas) return MS_OK;
  as_endpoint *fresh = NULL;
  int st;
  if (!ep) {
    if ((st = ms__autoscaler_model_reserve(&a->m, 1))) return st;
    if (!(fresh = ms__autoscaler_endpoint_new(&a->m, endpoint, 0, replicas))) return MS_ENOMEM;
  }
  replicas_op op = {ep ? ep->id : 0, endpoint, replicas, 0};
  if ((st = ms__store_write(a->store, replicas_write, &op))) {
    ms__autoscaler_endpoint_free(&a->m, fresh);
    return st;
  }
  if (ep) {
    ep->replicas = replicas;
  } else {
    fresh->id = op.new_id;
    ms__autoscaler_model_attach(&a->m, fresh);
  }
  return MS_OK;
}

int ms_autoscaler_set_replicas(ms_autoscaler *a, const char *endpoint, int64_t replicas) {
  static const char *const CALL = "ms_autoscaler_set_replicas";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL autoscaler", CALL);
  int st = ms__autoscaler_check_name(CALL, "endpoint name", endpoint);
  if (st) return st;
  if (replicas < 0)
    return ms__fail(MS_EINVAL, "autoscaler: %s: endpoint '%s': negative replica count %lld", CALL, endpoint,
                    (long long)replicas);
  if (!(st = ms__autoscaler_lock(a))) {
    st = set_replicas_locked(a, endpoint, replicas);
    ms__autoscaler_arena_maintain(&a->m);
    ms__autoscaler_unlock(a);
  }
  if (st) ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
  return st;
}

int ms_autoscaler_get_replicas(ms_autoscaler *a, const char *endpoint, int64_t *replicas) {
  static const char *const CALL = "ms_autoscaler_get_replicas";
  if (!a || !replicas)
    return ms__fail(MS_EINVAL, "autoscaler: %s: NULL %s", CALL, !a ? "autoscaler" : "output pointer");
  int st = ms__autoscaler_check_name(CALL, "endpoint name", endpoint);
  if (st) return st;
  if ((st = ms__autoscaler_lock(a))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
    return st;
  }
  as_endpoint *ep = ms__autoscaler_endpoint_find(&a->m, endpoint);
  if (ep) *replicas = ep->replicas;
  else st = ms__fail(MS_ENOTFOUND, "autoscaler: %s: endpoint '%s': no such endpoint", CALL, endpoint);
  ms__autoscaler_unlock(a);
  return st;
}

/* The write of remove_endpoint: its history, its rules (by id: the rule
 * table has no index on its endpoint), then the endpoint (cascading to its
 * state). Reads the endpoint, which the caller's mutex keeps as it is. */
static int remove_write(ms_store *s, void *arg) {
  static const char SQL_DELETE[] = "DELETE FROM autoscaler_endpoint WHERE id = ?1";
  const as_endpoint *ep = arg;
  int st = ms__autoscaler_history_delete(s, ep);
  for (size_t i = 0; !st && i < ep->n_rules; i++) st = ms__autoscaler_rule_delete_row(s, ep->rules[i].id);
  ms_stmt *q;
  if (!st && (q = ms__store_prepare(s, SQL_DELETE, &st))) {
    ms__stmt_bind_int64(q, 1, ep->id);
    st = ms__stmt_done(s, q, "deleting the endpoint");
  }
  return st;
}

int ms_autoscaler_remove_endpoint(ms_autoscaler *a, const char *endpoint) {
  static const char *const CALL = "ms_autoscaler_remove_endpoint";
  if (!a) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL autoscaler", CALL);
  int st = ms__autoscaler_check_name(CALL, "endpoint name", endpoint);
  if (st) return st;
  if ((st = ms__autoscaler_lock(a))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
    return st;
  }
  as_endpoint *ep = ms__autoscaler_endpoint_find(&a->m, endpoint);
  if (!ep) {
    st = ms__fail(MS_ENOTFOUND, "autoscaler: %s: endpoint '%s': no such endpoint", CALL, endpoint);
  } else if ((st = ms__store_write(a->store, remove_write, ep))) {
    ms__errmsg_prefix("autoscaler: %s: endpoint '%s'", CALL, endpoint);
  } else {
    if (ep->hist_count > MS_AUTOSCALER_HISTORY_MAX) a->over_bound--;
    ms__autoscaler_model_remove(&a->m, ep);
    ms__autoscaler_arena_maintain(&a->m);
  }
  ms__autoscaler_unlock(a);
  return st;
}

int ms_autoscaler_list_endpoints(ms_autoscaler *a, ms_endpoint_list **out) {
  static const char *const CALL = "ms_autoscaler_list_endpoints";
  if (!a || !out) return ms__fail(MS_EINVAL, "autoscaler: %s: NULL %s", CALL, !a ? "autoscaler" : "output pointer");
  int st = ms__autoscaler_lock(a);
  if (st) {
    ms__errmsg_prefix("autoscaler: %s", CALL);
    return st;
  }
  ms_endpoint_list *l = ms__autoscaler_endpoint_list_new(a->m.n_eps, a->m.total_name_bytes);
  if (l) {
    size_t used = 0;
    for (size_t i = 0; i < a->m.n_eps; i++)
      ms__autoscaler_endpoint_list_push(l, &used, a->m.eps[i]->name, a->m.eps[i]->name_len);
  } else {
    st = ms__fail(MS_ENOMEM, "autoscaler: %s: out of memory listing %zu endpoints", CALL, a->m.n_eps);
  }
  ms__autoscaler_unlock(a);
  if (!st) *out = l;
  return st;
}
