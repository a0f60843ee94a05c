/* Translating PostgreSQL results into ms_status and messages, by SQLSTATE,
 * so the parts see the same statuses on both backends (store/pg/pg.h):
 * a unique violation is MS_EEXIST, other constraint failures MS_ECONFLICT,
 * a serialization failure or deadlock MS_EBUSY (after the retries of the
 * caller, if any), a lock not granted in time MS_EBUSY, a lost connection
 * or a refused one MS_EIO, an undefined table or column (the schema is not
 * what its version says) MS_ECORRUPT. */
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "store/pg/pg.h"

static int class_is(const char *state, const char *cls) { return state && strncmp(state, cls, 2) == 0; }

int ms__pg_status(const PGresult *res, const PGconn *conn) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  if (!state) return MS_EIO; /* no server answer: the connection */
  if (strcmp(state, "23505") == 0) return MS_EEXIST;
  if (class_is(state, "23")) return MS_ECONFLICT;                 /* integrity constraint violation */
  if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) return MS_EBUSY; /* serialization, deadlock */
  if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0) return MS_EBUSY; /* lock / statement timeout */
  if (class_is(state, "08") || class_is(state, "57") || class_is(state, "53") || class_is(state, "58"))
    return MS_EIO; /* connection, operator intervention (shutdown), resources, system */
  if (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0) return MS_ECORRUPT; /* undefined table, column */
  if (class_is(state, "28")) return MS_EIO;                        /* invalid authorization */
  if (class_is(state, "22")) return MS_EINVAL;                     /* data exception (a value out of range) */
  (void)conn;
  return MS_EINTERNAL;
}

int ms__pg_retryable(const PGresult *res) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  return state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

int ms__pg_fail(ms_store *s, const PGresult *res, const char *what) {
  char detail[512];
  const char *msg = res ? PQresultErrorMessage(res) : "";
  ms__pg_conn *c = s->pg ? ms__pg_cur(s) : NULL;
  if ((!msg || !*msg) && c && c->conn) msg = PQerrorMessage(c->conn);
  if (!msg || !*msg) msg = "no connection to the server";
  ms__strlcpy(detail, msg, sizeof detail);
  /* libpq's messages end with a newline and may hold several lines: one line */
  for (char *p = detail; *p; p++)
    if (*p == '\n') *p = p[1] ? ' ' : '\0';
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  int st = ms__pg_status(res, c ? c->conn : NULL);
  if (c) {
    c->retryable = ms__pg_retryable(res);
    c->lock_busy = state && strcmp(state, "55P03") == 0;
  }
  if (state) return ms__fail(st, "store '%s': %s: %s (SQLSTATE %s)", s->path, what, detail, state);
  return ms__fail(st, "store '%s': %s: %s", s->path, what, detail);
}
