/* Translating SQLite results into ms_status and messages.
 *
 * One place decides what an SQLite failure means for the caller, so that the
 * parts built on the store report the same thing the same way:
 *  - "no such table / index / column" naming part of libmserve's schema is a
 *    damaged database (MS_ECORRUPT, the missing piece named); naming anything
 *    else it is a bug in libmserve's SQL (MS_EINTERNAL);
 *  - a write refused on a store opened with MS_STORE_READONLY is the caller's
 *    (MS_EINVAL), while a read-only file under a writable handle is MS_EIO.
 * And one place gives the store's public calls the head every message has
 * (common/error.h): "store: <call>: '<path>': <cause>". */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "store/conn.h"

int ms__store_sqlite_status(int rc) {
  /* a duplicate key is MS_EEXIST, as PostgreSQL's unique violation (23505)
   * is (store/pg/pg_errors.c): the parts and callers see one status for it
   * on either backend; other constraints stay MS_ECONFLICT on both */
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return MS_EEXIST;
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW: return MS_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return MS_EBUSY;
    case SQLITE_NOMEM: return MS_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return MS_ECORRUPT;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM: return MS_EIO;
    case SQLITE_CONSTRAINT: return MS_ECONFLICT;
    default: return MS_EINTERNAL;
  }
}

int ms__store_fail_sqlite(ms_store *s, int rc, const char *what, const char *sqlite_msg) {
  const char *path = s && s->path ? s->path : "?";
  char detail[512];
  /* copied first: looking at the schema below replaces SQLite's message */
  ms__strlcpy(detail, sqlite_msg ? sqlite_msg : sqlite3_errstr(rc), sizeof detail);
  if (s && s->db && (rc & 0xff) == SQLITE_ERROR) {
    char damage[512];
    if (ms__store_describe_damage(s, detail, damage, sizeof damage))
      return ms__fail(MS_ECORRUPT, "store '%s': %s: %s", path, what, damage);
  }
  if (s && (s->flags & MS_STORE_READONLY) && (rc & 0xff) == SQLITE_READONLY)
    return ms__fail(MS_EINVAL, "store '%s': %s: the store was opened read-only (MS_STORE_READONLY)", path, what);
  return ms__fail(ms__store_sqlite_status(rc), "store '%s': %s: %s", path, what, detail);
}

int ms__store_error(ms_store *s, int rc, const char *what) {
  return ms__store_fail_sqlite(s, rc, what, s && s->db ? sqlite3_errmsg(s->db) : NULL);
}

int ms__store_refuse_write(ms_store *s) {
  return ms__fail(MS_EINVAL, "store '%s': opened read-only (MS_STORE_READONLY): writes are refused", s->path);
}

int ms__store_api_failed(const char *call, const char *path, int st) {
  char cause[1024];
  const char *msg = ms_errmsg();
  if (path) {
    /* "store '<path>': <cause>" from below: keep the cause only */
    size_t n = strlen(path);
    if (strncmp(msg, "store '", 7) == 0 && strncmp(msg + 7, path, n) == 0 && strncmp(msg + 7 + n, "': ", 3) == 0)
      msg += 7 + n + 3;
    ms__strlcpy(cause, msg, sizeof cause);
    return ms__fail(st, "store: %s: '%s': %s", call, path, cause);
  }
  if (strncmp(msg, "store: ", 7) == 0) msg += 7;
  ms__strlcpy(cause, msg, sizeof cause);
  return ms__fail(st, "store: %s: %s", call, cause);
}
