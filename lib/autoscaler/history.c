/* Reading an endpoint's persisted history back as ms_decisions. */
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "autoscaler_internal.h"

static int read_rows(ms_autoscaler *a, const as_endpoint *ep, size_t max_entries, ms_decisions *d) {
  static const char *const Q =
      "SELECT seq, at_us, from_replicas, to_replicas, applied_rule_id, rules FROM ("
      " SELECT * FROM autoscaler_history WHERE endpoint_id = ?1 ORDER BY seq DESC LIMIT ?2) ORDER BY seq";
  ms_store *s = a->store;
  int st = ms__store_lock(s);
  if (st) return st;
  sqlite3_stmt *q = ms__store_stmt(s, Q, &st);
  as_dec_rule *tmp = NULL;
  size_t tmp_cap = 0;
  int rc = SQLITE_DONE;
  if (q) {
    sqlite3_bind_int64(q, 1, ep->id);
    sqlite3_bind_int64(q, 2, max_entries ? (int64_t)max_entries : -1);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
      const unsigned char *blob = sqlite3_column_blob(q, 5);
      size_t len = (size_t)sqlite3_column_bytes(q, 5), n = 0;
      size_t need = len / AS_DEC_RULE_BYTES;
      if (need > tmp_cap) {
        as_dec_rule *p = realloc(tmp, need * sizeof *p);
        if (!p) {
          st = ms__fail(MS_ENOMEM, "autoscaler: out of memory reading history");
          break;
        }
        tmp = p;
        tmp_cap = need;
      }
      if ((len && !blob) || as_decode_rules(blob, len, tmp, &n)) {
        st = ms__fail(MS_ECORRUPT, "autoscaler: store '%s': history row %lld of endpoint '%s' is unreadable",
                      s->path, (long long)sqlite3_column_int64(q, 0), ep->name);
        break;
      }
      st = as_decisions_add(d, ep->name, ep->name_len, sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
                            sqlite3_column_int64(q, 3), sqlite3_column_int64(q, 4), tmp, n);
      if (st) break;
    }
    if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "autoscaler: reading history");
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
  }
  ms__store_unlock(s);
  free(tmp);
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
  ms_decisions *d = as_decisions_new(16, 64, 16 * (ep->name_len + 1));
  if (!d) st = ms__fail(MS_ENOMEM, "autoscaler: out of memory");
  else st = read_rows(a, ep, max_entries, d);
  as_unlock(a);
  if (st) {
    ms_decisions_free(d);
    return st;
  }
  *out = d;
  return MS_OK;
}
