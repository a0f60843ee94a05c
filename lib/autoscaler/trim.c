/* The history sweep: keeps the log at the last MS_AUTOSCALER_HISTORY_MAX
 * rows per endpoint without an index on endpoint_id (which every tick would
 * pay for with scattered index writes).
 *
 * Within a tick's transaction, it reads up to `budget` rows in seq order from
 * where the previous sweep stopped (wrapping to the start at the end of the
 * log) and deletes each row that is past its endpoint's bound. A row is only
 * deleted once its predecessor is gone, so an endpoint's rows always form one
 * unbroken chain ending at its head: reading the history and deleting an
 * endpoint can follow that chain and reach every row. A row passed over for
 * that reason goes in a later pass, after its predecessor.
 *
 * Storage stays bounded: each tick appends n rows and the sweep visits at least
 * 2n, so it laps the log faster than rows fall past their bound. What
 * ms_autoscaler_history reports is exact regardless: it stops at the bound. */
#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/endpoint.h"
#include "autoscaler/history_store.h"
#include "autoscaler/trim.h"
#include "common/error.h"

enum { BATCH = 256 };

typedef struct row {
  int64_t seq, endpoint_id, ordinal, prev;
} row;

/* Read up to `want` rows after `after` into rows[]; *got receives the count. */
static int scan(ms_store *s, int64_t after, size_t want, row *rows, size_t *got) {
  static const char SQL_SCAN[] =
      "SELECT seq, endpoint_id, ordinal, prev FROM autoscaler_history WHERE seq > ?1 ORDER BY seq LIMIT ?2";
  int st = MS_OK, more = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_SCAN, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, after);
  ms__stmt_bind_int64(q, 2, (int64_t)want);
  size_t k = 0;
  while (k < want && !(st = ms__stmt_row(s, q, "sweeping history", &more)) && more) {
    rows[k].seq = ms__stmt_int64(q, 0);
    rows[k].endpoint_id = ms__stmt_int64(q, 1);
    rows[k].ordinal = ms__stmt_int64(q, 2);
    rows[k].prev = ms__stmt_int64(q, 3);
    k++;
  }
  ms__stmt_reset(q);
  *got = k;
  return st;
}

static int exists(ms_store *s, int64_t seq, int *yes) {
  static const char SQL_EXISTS[] = "SELECT 1 FROM autoscaler_history WHERE seq = ?1";
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_EXISTS, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, seq);
  int found = 0;
  st = ms__stmt_row(s, q, "sweeping history", &found);
  *yes = found;
  ms__stmt_reset(q);
  return st;
}

/* Whether `r` is past its endpoint's bound and first in its chain. Rows of
 * endpoints this engine does not know (created by another engine on the same
 * store since this one opened) are left alone. */
static int is_garbage(ms_store *s, const as_model *m, const row *r, int *yes) {
  *yes = 0;
  size_t at = ms__autoscaler_endpoint_index(m, r->endpoint_id);
  if (at == m->n_eps) return MS_OK;
  const as_endpoint *ep = m->eps[at];
  int64_t count = ep->hist_count + (ep->tick_seq != 0);
  if (r->ordinal > count - MS_AUTOSCALER_HISTORY_MAX) return MS_OK;
  if (r->prev == 0) {
    *yes = 1;
    return MS_OK;
  }
  int has_prev = 0;
  int st = exists(s, r->prev, &has_prev);
  *yes = !st && !has_prev;
  return st;
}

int ms__autoscaler_trim_history(ms_store *s, const as_model *m, size_t budget, int64_t *cursor) {
  row rows[BATCH];
  int64_t at = *cursor;
  int st = MS_OK;
  for (size_t visited = 0; !st && visited < budget;) {
    size_t want = budget - visited < BATCH ? budget - visited : BATCH, got = 0;
    if ((st = scan(s, at, want, rows, &got))) break;
    for (size_t i = 0; !st && i < got; i++) {
      int garbage = 0;
      if ((st = is_garbage(s, m, &rows[i], &garbage)) || !garbage) continue;
      st = ms__autoscaler_history_delete_row(s, rows[i].seq, "trimming history");
    }
    visited += got;
    if (got < want) { /* the end of the log: the next pass starts over */
      at = 0;
      break;
    }
    at = rows[got - 1].seq;
  }
  if (!st) *cursor = at;
  return st;
}
