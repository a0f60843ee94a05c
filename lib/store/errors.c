/* Translating SQLite results into ms_status and messages. */
#include "../common/error.h"
#include "store_internal.h"

int ms__sqlite_status(int rc) {
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

int ms__store_error(ms_store *s, int rc, const char *what) {
  const char *detail = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
  return ms__fail(ms__sqlite_status(rc), "store '%s': %s: %s", s && s->path ? s->path : "?", what, detail);
}
