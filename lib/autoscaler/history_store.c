/* An endpoint's persisted history: reading it back as ms_decisions, and
 * deleting it with the endpoint. Both follow the endpoint's chain of rows from
 * its head (see schema.c); the rows within the bound always form an unbroken
 * chain (trim.c), so a broken one is reported as corruption. */
#include <stdlib.h>
#include <string.h>

#include "autoscaler/autoscaler_internal.h"
#include "autoscaler/history_codec.h"
#include "autoscaler/history_store.h"
#include "common/error.h"

static const char SQL_ROW[] = "SELECT endpoint_id, ordinal, prev, entry FROM autoscaler_history WHERE seq = ?1";
static const char SQL_DELETE_ROW[] = "DELETE FROM autoscaler_history WHERE seq = ?1";

static int broken(const ms_store *s, int64_t seq) {
  return ms__fail(MS_ECORRUPT, "store '%s': the history is broken at row %lld", s->path, (long long)seq);
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
    if (!p) return ms__fail(MS_ENOMEM, "out of memory reading history");
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
static int walk(ms_store *s, const as_endpoint *ep, size_t limit, raw *w) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_ROW, &st);
  int64_t seq = ep->hist_head, ordinal = ep->hist_count;
  for (size_t k = 0; q && !st && k < limit; k++) {
    ms__stmt_bind_int64(q, 1, seq);
    int row = 0;
    if ((st = ms__stmt_row(s, q, "reading history", &row))) break;
    if (row && ms__stmt_int64(q, 0) == ep->id && ms__stmt_int64(q, 1) == ordinal) {
      int64_t prev = ms__stmt_int64(q, 2);
      const void *blob = ms__stmt_blob(q, 3);
      st = raw_add(w, blob, (size_t)ms__stmt_bytes(q, 3));
      seq = prev;
      ordinal--;
    } else {
      st = broken(s, seq);
    }
    ms__stmt_reset(q);
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
    st = ms__autoscaler_entry_decode(blob, w->off[k + 1] - w->off[k], &h, &rules, &cap);
    if (st == MS_ECORRUPT)
      st = ms__fail(MS_ECORRUPT, "store '%s': history entry %lld is unreadable", s->path,
                    (long long)(ep->hist_count - (int64_t)k));
    if (!st)
      st = ms__autoscaler_decisions_add(d, ep->name, ep->name_len, h.at, h.from, h.to, h.applied, rules, h.n_rules);
  }
  free(rules);
  return st;
}

int ms__autoscaler_history_read(ms_store *s, const as_endpoint *ep, size_t limit, ms_decisions *d) {
  raw w = {NULL, 0, 0, malloc((limit + 1) * sizeof(size_t)), 0};
  int st;
  if (!w.off) {
    st = ms__fail(MS_ENOMEM, "out of memory reading history");
  } else if (!(st = ms__store_read_begin(s))) {
    w.off[0] = 0;
    st = walk(s, ep, limit, &w);
    ms__store_read_end(s);
    if (!st) st = decode_all(ep, s, &w, d);
  }
  free(w.bytes);
  free(w.off);
  return st;
}

int ms__autoscaler_history_delete_row(ms_store *s, int64_t seq, const char *what) {
  int st = MS_OK;
  ms_stmt *q = ms__store_prepare(s, SQL_DELETE_ROW, &st);
  if (!q) return st;
  ms__stmt_bind_int64(q, 1, seq);
  return ms__stmt_done(s, q, what);
}

int ms__autoscaler_history_delete(ms_store *s, const as_endpoint *ep) {
  int st = MS_OK;
  int64_t seq = ep->hist_head;
  /* Every row of the chain, including rows past the bound the sweep has not
   * reached yet; at most hist_count of them. */
  for (int64_t k = 0; !st && seq > 0 && k < ep->hist_count; k++) {
    ms_stmt *q = ms__store_prepare(s, SQL_ROW, &st);
    if (!q) break;
    ms__stmt_bind_int64(q, 1, seq);
    int row = 0;
    st = ms__stmt_row(s, q, "reading history", &row);
    int mine = row && ms__stmt_int64(q, 0) == ep->id;
    int64_t prev = mine ? ms__stmt_int64(q, 2) : 0;
    ms__stmt_reset(q);
    if (st || !mine) break; /* the end of the chain: the sweep took the rows before it */
    st = ms__autoscaler_history_delete_row(s, seq, "deleting history");
    seq = prev;
  }
  return st;
}
