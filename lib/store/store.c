/* Opening and closing a store. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/error.h"
#include "../common/text.h"
#include "store_internal.h"

#define DEFAULT_BUSY_TIMEOUT_US MS_SEC(5)

static void destroy(ms_store *s) {
  ms__store_checkpoint_close(s);
  for (size_t i = 0; i < s->cap_stmts; i++)
    if (s->stmts[i].stmt) sqlite3_finalize(s->stmts[i].stmt);
  free(s->stmts);
  if (s->db) sqlite3_close_v2(s->db);
  ms__xlock_close(s->xlock);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->ckpt_mu);
  ms__store_group_destroy(s);
  free(s->path);
  free(s);
}

/* A file or folder this process may not write, for the message. */
static int cannot_write(int rc) { return (rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN; }

/* Run a pragma that returns one row (journal_mode) or none. The first read of
 * the file happens here, so this is where a file that is not a database shows. */
static int pragma(ms_store *s, const char *sql, const char *what) {
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
    if (cannot_write(rc) && !(s->flags & MS_STORE_READONLY))
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
  if (!cannot_write(rc) || *db == NULL)
    return ms__fail(ms__sqlite_status(rc), "store '%s': cannot open for reading: %s", s->path, why);
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
    return ms__fail(ms__sqlite_status(rc), "store '%s': cannot open for reading: %s", s->path,
                    *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
  }
  *immutable = 1;
  ms__log(MS_LOG_DEBUG, "store '%s': no '-shm' can be created here and the log is empty: reading the file as immutable",
          s->path);
  return MS_OK;
}

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
  return pragma(s, "PRAGMA foreign_keys=ON", "enable foreign keys");
}

int ms__store_open_at(const char *path, unsigned flags, int64_t version, ms_store **out) {
  const unsigned known = MS_STORE_DURABLE | MS_STORE_NOCREATE | MS_STORE_READONLY;
  if (!path || !out) return ms__fail(MS_EINVAL, "store: %s is NULL", !path ? "path" : "out");
  if (!*path) return ms__fail(MS_EINVAL, "store: path is empty (use \":memory:\" for a private in-memory store)");
  if (flags & ~known) return ms__fail(MS_EINVAL, "store '%s': unknown flags 0x%x", path, flags & ~known);

  ms_store *s = calloc(1, sizeof *s);
  if (!s) return ms__fail(MS_ENOMEM, "store '%s': out of memory", path);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  /* Error-checking: a thread that re-enters while it holds the store (e.g.
   * calls ms_tracker_admit inside its own open tick) gets MS_EBUSY instead of
   * deadlocking. */
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&s->mu, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_mutex_init(&s->ckpt_mu, NULL);
  ms__store_group_init(s);
  atomic_init(&s->holder, 0);
  atomic_init(&s->busy_timeout_us, DEFAULT_BUSY_TIMEOUT_US);
  s->flags = flags;
  s->path = ms__strdup(path);
  if (!s->path) {
    destroy(s);
    return MS_ENOMEM;
  }

  int st = MS_OK;
  if (flags & MS_STORE_READONLY) {
    st = open_readonly(s, &s->db, &s->immutable);
  } else {
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (!(flags & MS_STORE_NOCREATE)) oflags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
    if (rc != SQLITE_OK) {
      if ((flags & MS_STORE_NOCREATE) && rc == SQLITE_CANTOPEN)
        st = ms__fail(MS_ENOTFOUND, "store '%s': no such database (MS_STORE_NOCREATE)", path);
      else
        st = ms__fail(ms__sqlite_status(rc), "store '%s': cannot open: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    } else if (sqlite3_db_readonly(s->db, "main") == 1) {
      /* SQLite quietly opens a file it may not write for reading only */
      st = ms__fail(MS_EIO, "store '%s': the database file is read-only for this process (permissions or a "
                            "read-only mount); MS_STORE_READONLY opens it for reading", path);
    }
  }
  if (st) {
    destroy(s);
    return st;
  }
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_handler(s->db, ms__store_busy_handler, s);

  if (flags & MS_STORE_READONLY) {
    /* nothing that writes: no page size, no journal mode, no side files */
    st = pragma(s, "PRAGMA foreign_keys=ON", "enable foreign keys");
  } else {
    /* A new database gets 2 KiB pages (an existing one keeps its own: the
     * pragma is a no-op then). Every commit appends each page it changed to
     * the WAL and every checkpoint syncs all of that, so with the small rows
     * and short transactions of the tracker the write volume, not the work,
     * bounded throughput: 2 KiB pages write half the bytes of SQLite's 4 KiB
     * per commit (tracker: about 1.3x the admissions per second), while the
     * autoscaler's bulk ticks, which favour big pages, stay well within
     * their target. */
    st = pragma(s, "PRAGMA page_size=2048", "set the page size");
    if (!st) st = pragma(s, "PRAGMA journal_mode=WAL", "switch to WAL mode");
    if (!st)
      st = pragma(s, (flags & MS_STORE_DURABLE) ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                  "set synchronous");
    if (!st) st = pragma(s, "PRAGMA foreign_keys=ON", "enable foreign keys");
    if (!st) {
      /* Only a file has a WAL to checkpoint and other processes to queue
       * with; the journal_mode switch above has proven it is a database, so
       * the side file is never created next to a stranger's file. */
      const char *file = sqlite3_db_filename(s->db, "main");
      s->on_disk = file && *file;
      if (s->on_disk) {
        ms__store_checkpoint_init(s);
        s->xlock = ms__xlock_open(file);
      }
    }
  }
  if (!st) st = ms__store_migrate(s, version);
  if (st) {
    destroy(s);
    return st;
  }
  *out = s;
  return MS_OK;
}

int ms_store_open(const char *path, unsigned flags, ms_store **out) {
  return ms__store_open_at(path, flags, ms_store_latest_schema(), out);
}

void ms_store_close(ms_store *s) {
  if (s) destroy(s);
}

int ms_store_set_busy_timeout(ms_store *s, int64_t timeout_us) {
  if (!s) return ms__fail(MS_EINVAL, "store: handle is NULL");
  if (timeout_us < 0) return ms__fail(MS_EINVAL, "store '%s': busy timeout %lld us is negative", s->path, (long long)timeout_us);
  atomic_store(&s->busy_timeout_us, timeout_us);
  return MS_OK;
}

int ms_store_schema_version(ms_store *s, int64_t *version) {
  if (!s || !version) return ms__fail(MS_EINVAL, "store: %s is NULL", !s ? "handle" : "version");
  int st = ms__store_lock(s);
  if (st) return st;
  sqlite3_stmt *q = ms__store_stmt(s, "PRAGMA user_version", &st);
  if (q) {
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
      *version = sqlite3_column_int64(q, 0);
    else
      st = ms__store_error(s, rc, "read schema version");
    sqlite3_reset(q);
  }
  ms__store_unlock(s);
  return st;
}
