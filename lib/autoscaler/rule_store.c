/* The rule table's rows: every statement on autoscaler_rule but the load's
 * (load.c). The one-shot writes go through the store's group commit
 * (ms__store_write); their callbacks touch only the store and their
 * argument. Messages are the store's ("store '<path>': <step>: <cause>"). */
#include "autoscaler/rule_store.h"
#include "common/error.h"
#include "store/store_internal.h"

static const char SQL_INSERT[] =
    "INSERT INTO autoscaler_rule(endpoint_id, source, metric, aggregation, comparator, threshold, step, "
    "cooldown_us, min_replicas, max_replicas, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id";
static const char SQL_DELETE[] = "DELETE FROM autoscaler_rule WHERE id = ?1";
static const char SQL_ENABLE[] = "UPDATE autoscaler_rule SET enabled = ?2 WHERE id = ?1";

typedef struct insert_op {
  int64_t endpoint_id;
  const ms_rule *r;
  int64_t id; /* out */
} insert_op;

static int insert_write(ms_store *s, void *arg) {
  insert_op *op = arg;
  const ms_rule *r = op->r;
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_INSERT, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, op->endpoint_id);
  ms__stmt_bind_text(q, 2, r->source, -1);
  ms__stmt_bind_text(q, 3, r->metric, -1);
  ms__stmt_bind_int(q, 4, r->agg);
  ms__stmt_bind_int(q, 5, r->cmp);
  ms__stmt_bind_double(q, 6, r->threshold);
  ms__stmt_bind_int64(q, 7, r->step);
  ms__stmt_bind_int64(q, 8, r->cooldown);
  ms__stmt_bind_int64(q, 9, r->min);
  ms__stmt_bind_int64(q, 10, r->max);
  ms__stmt_bind_int(q, 11, r->enabled != 0);
  int row = 0;
  if ((st = ms__stmt_row(s, q, "inserting the rule", &row))) return st;
  if (!row) return ms__fail(MS_EINTERNAL, "inserting the rule: the insert returned no id");
  op->id = ms__stmt_int64(q, 0);
  ms__stmt_reset(q);
  return MS_OK;
}

int ms__autoscaler_rule_insert(ms_store *s, int64_t endpoint_id, const ms_rule *r, int64_t *id) {
  insert_op op = {endpoint_id, r, 0};
  int st = ms__store_write(s, insert_write, &op);
  if (!st) *id = op.id;
  return st;
}

int ms__autoscaler_rule_delete_row(ms_store *s, int64_t id) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_DELETE, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, id);
  return ms__stmt_done(s, q, "deleting the rule");
}

static int delete_write(ms_store *s, void *arg) { return ms__autoscaler_rule_delete_row(s, *(const int64_t *)arg); }

int ms__autoscaler_rule_delete(ms_store *s, int64_t id) { return ms__store_write(s, delete_write, &id); }

typedef struct enable_op {
  int64_t id;
  int enabled;
} enable_op;

static int enable_write(ms_store *s, void *arg) {
  const enable_op *op = arg;
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_ENABLE, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, op->id);
  ms__stmt_bind_int(q, 2, op->enabled != 0);
  return ms__stmt_done(s, q, "updating the rule");
}

int ms__autoscaler_rule_update_enabled(ms_store *s, int64_t id, int enabled) {
  enable_op op = {id, enabled};
  return ms__store_write(s, enable_write, &op);
}
