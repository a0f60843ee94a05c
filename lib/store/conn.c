/* The connection: opening it for reading only, and the pragmas that first
 * read the file (store/conn.h). Opening for writing, and the order of
 * everything at open, is store.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/text.h"
#include "store/conn.h"

int ms__store_cannot_write(int rc) { return (rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN; }

int ms__store_pragma(ms_store *s, const char *sql, const char *what) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE && rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_NOTADB)
      return ms__fail(MS_ECORRUPT, "store '%s': the file is not an SQLite database", s->path);
    if (ms__store_cannot_write(rc) && !(s->flags & MS_STORE_READONLY))
      return ms__fail(MS_EIO, "store '%s': %s: %s (cannot write the database or create its '-wal' and '-shm' files "
                              "beside it: a read-only file, folder or mount? MS_STORE_READONLY opens it for reading)",
                      s->path, what, sqlite3_errmsg(s->db));
    return ms__store_error(s, rc, what);
  }
  return MS_OK;
}

/* Does the write-ahead log beside `path` hold frames (more than its header)? */
static int wal_has_frames(const char *path) {
  size_t n = strlen(path);
  char *wal = malloc(n + sizeof "-wal");
  if (!wal) return 1;
  memcpy(wal, path, n);
  memcpy(wal + n, "-wal", sizeof "-wal");
  struct stat st;
  int has = stat(wal, &st) == 0 ? st.st_size > 32 : errno != ENOENT;
  free(wal);
  return has;
}

/* "file:" URI for `path` with ?immutable=1 (percent-encoding what a URI
 * would read otherwise); NULL when out of memory. */
static char *immutable_uri(const char *path) {
  static const char hex[] = "0123456789abcdef";
  size_t n = strlen(path);
  char *u = malloc(3 * n + sizeof "file://?immutable=1");
  if (!u) return NULL;
  char *o = u;
  memcpy(o, path[0] == '/' ? "file://" : "file:", path[0] == '/' ? 7 : 5);
  o += path[0] == '/' ? 7 : 5;
  for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
    if (*c <= 0x20 || *c >= 0x7f || *c == '%' || *c == '?' || *c == '#') {
      *o++ = '%';
      *o++ = hex[*c >> 4];
      *o++ = hex[*c & 15];
    } else {
      *o++ = (char)*c;
    }
  }
  memcpy(o, "?immutable=1", sizeof "?immutable=1");
  return u;
}

/* The first read of a read-only connection: attaches it to the WAL. */
static int first_read(sqlite3 *db) { return sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL); }

/* Open `s->path` for reading only into *db (MS_STORE_READONLY).
 *
 * SQLite reads a WAL database through its '-shm' index, which it creates
 * when missing (and it still reads with the index in heap memory when the
 * file exists but may not be written). When it can neither find nor create
 * one (a read-only folder or mount) the database can only be read as
 * "immutable", which ignores the log: correct when the log is absent or
 * empty (the last writer closed cleanly), so then that is what is done;
 * a log that still holds commits is refused rather than read without them. */
static int open_readonly(ms_store *s, sqlite3 **db, int *immutable) {
  int rc = sqlite3_open_v2(s->path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) rc = first_read(*db);
  if (rc == SQLITE_OK) {
    *immutable = 0;
    return MS_OK;
  }
  struct stat st;
  if (stat(s->path, &st) != 0 && errno == ENOENT)
    return ms__fail(MS_ENOTFOUND, "store '%s': no such database (MS_STORE_READONLY never creates one)", s->path);
  if ((rc & 0xff) == SQLITE_NOTADB) return ms__fail(MS_ECORRUPT, "store '%s': the file is not an SQLite database", s->path);
  char why[256];
  ms__strlcpy(why, *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc), sizeof why);
  if (!ms__store_cannot_write(rc) || *db == NULL)
    return ms__fail(ms__store_sqlite_status(rc), "store '%s': cannot open for reading: %s", s->path, why);
  if (wal_has_frames(s->path))
    return ms__fail(MS_EIO, "store '%s': cannot read it here: its write-ahead log '%s-wal' holds commits that SQLite "
                            "reads only through '%s-shm', which is missing and cannot be created (%s); open it once "
                            "where it can be written, or copy the three files somewhere writable",
                    s->path, s->path, s->path, why);
  sqlite3_close_v2(*db);
  *db = NULL;
  char *uri = immutable_uri(s->path);
  if (!uri) return ms__fail(MS_ENOMEM, "store '%s': out of memory", s->path);
  rc = sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
  free(uri);
  if (rc == SQLITE_OK) rc = first_read(*db);
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_NOTADB)
      return ms__fail(MS_ECORRUPT, "store '%s': the file is not an SQLite database", s->path);
    return ms__fail(ms__store_sqlite_status(rc), "store '%s': cannot open for reading: %s", s->path,
                    *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
  }
  *immutable = 1;
  ms__log(MS_LOG_DEBUG, "store '%s': no '-shm' can be created here and the log is empty: reading the file as immutable",
          s->path);
  return MS_OK;
}

int ms__store_connect_readonly(ms_store *s) { return open_readonly(s, &s->db, &s->immutable); }

int ms__store_refresh_immutable(ms_store *s) {
  if (!wal_has_frames(s->path)) return MS_OK;
  /* A writer has started since: what it committed is in its log, which the
   * immutable connection would never read. */
  sqlite3 *db = NULL;
  int immutable = 1;
  int st = open_readonly(s, &db, &immutable);
  if (st) {
    sqlite3_close_v2(db);
    ms__errmsg_prefix("reading the commits of a writer that started after the store was opened");
    return st;
  }
  ms__store_stmt_clear(s);
  sqlite3_close_v2(s->db);
  s->db = db;
  s->immutable = immutable;
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_handler(s->db, ms__store_busy_handler, s);
  static const char SQL_FOREIGN_KEYS[] = "PRAGMA foreign_keys=ON";
  return ms__store_pragma(s, SQL_FOREIGN_KEYS, "enable foreign keys");
}
