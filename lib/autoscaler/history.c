/* An endpoint's persisted history: reading it back as ms_decisions, and
 * deleting it with the endpoint. Both follow the endpoint's chain of rows from
 * its head (see schema.c); the rows within the bound always form an unbroken
 * chain (trim.c), so a broken one is reported as corruption. */
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "autoscaler_internal.h"

static const char *const Q_ROW =
    "SELECT endpoint_id, ordinal, prev, entry FROM autoscaler_history WHERE seq = ?1";

static int broken(const ms_store *s, const as_endpoint *ep, int64_t seq) {
  return ms__fail(MS_ECORRUPT, "autoscaler: store '%s': the history of endpoint '%s' is broken at row %lld", s->path,
                  ep->name, (long long)seq);
}

/* The raw entries, newest first, copied out of SQLite's buffers. */
typedef struct raw {
  unsigned char *bytes;
  size_t len, cap;
  size_t *off; /* n + 1 offsets */
  size_t n;
} raw;

static int raw_add(raw *w, const void *blob, size_t len) {
  if (w->len + len > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + len) cap *= 2;
    unsigned char *p = realloc(w->bytes, cap);
    if (!p) return ms__fail(MS_ENOMEM, "autoscaler: out of memory reading history");
    w->bytes = p;
    w->cap = cap;
  }
  if (len) memcpy(w->bytes + w->len, blob, len);
  w->len += len;
  w->off[++w->n] = w->len;
  return MS_OK;
}

/* Walk the chain from the head: `limit` rows at most, each checked to be the
 * endpoint's and to carry the expected ordinal. */
static int walk(ms_autoscaler *a, const as_endpoint *ep, size_t limit, raw *w) {
  ms_store *s = a->store;
  int st = MS_OK;
  sqlite3_stmt *q = ms__store_stmt(s, Q_ROW, &st);
  int64_t seq = ep->hist_head, ordinal = ep->hist_count;
  for (size_t k = 0; q && !st && k < limit; k++) {
    sqlite3_bind_int64(q, 1, seq);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_int64(q, 0) == ep->id && sqlite3_column_int64(q, 1) == ordinal) {
      int64_t prev = sqlite3_column_int64(q, 2);
      const void *blob = sqlite3_column_blob(q, 3);
      st = raw_add(w, blob, (size_t)sqlite3_column_bytes(q, 3));
      seq = prev;
      ordinal--;
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
      st = broken(s, ep, seq);
    } else {
      st = ms__store_error(s, rc, "autoscaler: reading history");
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
  }
  return st;
}

static int decode_all(const as_endpoint *ep, const ms_store *s, const raw *w, ms_decisions *d) {
  as_dec_rule *rules = NULL;
  size_t cap = 0;
  int st = MS_OK;
  for (size_t k = w->n; !st && k-- > 0;) { /* oldest first */
    as_entry_head h;
    const unsigned char *blob = w->bytes ? w->bytes + w->off[k] : NULL; /* NULL: only empty entries so far */
    st = as_entry_decode(blob, w->off[k + 1] - w->off[k], &h, &rules, &cap);
    if (st == MS_ECORRUPT)
      st = ms__fail(MS_ECORRUPT, "autoscaler: store '%s': history entry %lld of endpoint '%s' is unreadable",
                    s->path, (long long)(ep->hist_count - (int64_t)k), ep->name);
    if (!st) st = as_decisions_add(d, ep->name, ep->name_len, h.at, h.from, h.to, h.applied, rules, h.n_rules);
  }
  free(rules);
  return st;
}

int ms_autoscaler_history(ms_autoscaler *a, const char *endpoint, size_t max_entries, ms_decisions **out) {
  if (!a || !out) return ms__fail(MS_EINVAL, "autoscaler: NULL argument");
  int st = as_check_name("endpoint name", endpoint);
  if (st || (st = as_lock(a))) return st;
  as_endpoint *ep = as_find_endpoint(a, endpoint);
  if (!ep) {
    as_unlock(a);
    return ms__fail(MS_ENOTFOUND, "autoscaler: no endpoint '%s'", endpoint);
  }
  size_t limit = MS_AUTOSCALER_HISTORY_MAX;
  if (max_entries && max_entries < limit) limit = max_entries;
  if ((int64_t)limit > ep->hist_count) limit = (size_t)ep->hist_count;
  raw w = {NULL, 0, 0, malloc((limit + 1) * sizeof(size_t)), 0};
  ms_decisions *d = as_decisions_new(limit, limit * ep->n_rules, limit * (ep->name_len + 1));
  if (!d || !w.off) {
    st = ms__fail(MS_ENOMEM, "autoscaler: out of memory reading history");
  } else if (!(st = ms__store_lock(a->store))) {
    w.off[0] = 0;
    st = walk(a, ep, limit, &w);
    ms__store_unlock(a->store);
    if (!st) st = decode_all(ep, a->store, &w, d);
  }
  as_unlock(a);
  free(w.bytes);
  free(w.off);
  if (st) {
    ms_decisions_free(d);
    return st;
  }
  *out = d;
  return MS_OK;
}

int as_history_delete(ms_autoscaler *a, const as_endpoint *ep) {
  static const char *const Q_DEL = "DELETE FROM autoscaler_history WHERE seq = ?1";
  ms_store *s = a->store;
  int st = MS_OK;
  int64_t seq = ep->hist_head;
  /* Every row of the chain, including rows past the bound the sweep has not
   * reached yet; at most hist_count of them. */
  for (int64_t k = 0; !st && seq > 0 && k < ep->hist_count; k++) {
    sqlite3_stmt *q = ms__store_stmt(s, Q_ROW, &st);
    if (!q) break;
    sqlite3_bind_int64(q, 1, seq);
    int rc = sqlite3_step(q);
    int mine = rc == SQLITE_ROW && sqlite3_column_int64(q, 0) == ep->id;
    int64_t prev = mine ? sqlite3_column_int64(q, 2) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) st = ms__store_error(s, rc, "autoscaler: reading history");
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (st || !mine) break; /* the end of the chain: the sweep took the rows before it */
    if ((q = ms__store_stmt(s, Q_DEL, &st))) {
      sqlite3_bind_int64(q, 1, seq);
      st = as_step_done(s, q, "autoscaler: deleting history");
    }
    seq = prev;
  }
  return st;
}
