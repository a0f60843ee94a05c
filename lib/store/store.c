/* Opening and closing a store: every layer set up in order, bottom first,
 * and torn down in reverse (store/store_internal.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/text.h"
#include "store/checkpoint.h"
#include "store/group.h"
#include "store/lock.h"
#include "store/migrate.h"
#include "store/pg/pg.h"
#include "store/store_internal.h"
#include "store/txn.h"

#define DEFAULT_BUSY_TIMEOUT_US MS_SEC(5)

static const char SQL_FOREIGN_KEYS[] = "PRAGMA foreign_keys=ON";
static const char SQL_PAGE_SIZE[] = "PRAGMA page_size=2048";
static const char SQL_WAL[] = "PRAGMA journal_mode=WAL";
static const char SQL_SYNC_FULL[] = "PRAGMA synchronous=FULL";
static const char SQL_SYNC_NORMAL[] = "PRAGMA synchronous=NORMAL";

static void destroy(ms_store *s) {
  if (s->in_txn) ms__store_sql_rollback(s, 0); /* closed with a transaction open: never committed */
  ms__store_checkpoint_close(s);
  ms__store_stmt_clear(s);
  free(s->stmts);
  ms__pg_close(s);
  if (s->db) sqlite3_close_v2(s->db);
  ms__store_xlock_close(s->xlock);
  ms__store_lock_destroy(s);
  pthread_mutex_destroy(&s->ckpt_mu);
  free(s->path);
  free(s);
}

/* Open the connection and set it up; s->path and s->flags are set. */
static int open_connection(ms_store *s, int64_t version) {
  int st = MS_OK;
  const char *path = s->path;
  unsigned flags = s->flags;
  if (flags & MS_STORE_READONLY) {
    st = ms__store_connect_readonly(s);
  } else {
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (!(flags & MS_STORE_NOCREATE)) oflags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
    if (rc != SQLITE_OK) {
      if ((flags & MS_STORE_NOCREATE) && rc == SQLITE_CANTOPEN)
        st = ms__fail(MS_ENOTFOUND, "store '%s': no such database (MS_STORE_NOCREATE)", path);
      else
        st = ms__fail(ms__store_sqlite_status(rc), "store '%s': cannot open: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    } else if (sqlite3_db_readonly(s->db, "main") == 1) {
      /* SQLite quietly opens a file it may not write for reading only */
      st = ms__fail(MS_EIO, "store '%s': the database file is read-only for this process (permissions or a "
                            "read-only mount); MS_STORE_READONLY opens it for reading", path);
    }
  }
  if (st) return st;
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_handler(s->db, ms__store_busy_handler, s);

  if (flags & MS_STORE_READONLY) {
    /* nothing that writes: no page size, no journal mode, no side files */
    st = ms__store_pragma(s, SQL_FOREIGN_KEYS, "enable foreign keys");
  } else {
    /* A new database gets 2 KiB pages (an existing one keeps its own: the
     * pragma is a no-op then). Every commit appends each page it changed to
     * the WAL and every checkpoint syncs all of that, so with the small rows
     * and short transactions of the tracker the write volume, not the work,
     * bounded throughput: 2 KiB pages write half the bytes of SQLite's 4 KiB
     * per commit (tracker: about 1.3x the admissions per second), while the
     * autoscaler's bulk ticks, which favour big pages, stay well within
     * their target. */
    st = ms__store_pragma(s, SQL_PAGE_SIZE, "set the page size");
    if (!st) st = ms__store_pragma(s, SQL_WAL, "switch to WAL mode");
    if (!st) st = ms__store_pragma(s, (flags & MS_STORE_DURABLE) ? SQL_SYNC_FULL : SQL_SYNC_NORMAL, "set synchronous");
    if (!st) st = ms__store_pragma(s, SQL_FOREIGN_KEYS, "enable foreign keys");
    if (!st) {
      /* Only a file has a WAL to checkpoint and other processes to queue
       * with; the journal_mode switch above has proven it is a database, so
       * the side file is never created next to a stranger's file. */
      const char *file = sqlite3_db_filename(s->db, "main");
      s->on_disk = file && *file;
      struct stat fs;
      if (s->on_disk && stat(file, &fs) == 0) {
        s->file_dev = (uint64_t)fs.st_dev;
        s->file_ino = (uint64_t)fs.st_ino;
      }
      if (s->on_disk) {
        ms__store_checkpoint_init(s);
        s->xlock = ms__store_xlock_open(file);
      }
    }
  }
  return st ? st : ms__store_migrate(s, version);
}

int ms__store_open(const char *path, unsigned flags, const ms_migration *migrations, size_t n, int64_t version,
                   ms_store **out) {
  const unsigned known = MS_STORE_DURABLE | MS_STORE_NOCREATE | MS_STORE_READONLY;
  if (!path || !out) return ms__fail(MS_EINVAL, "store: ms_store_open: %s is NULL", !path ? "path" : "out");
  if (!*path)
    return ms__fail(MS_EINVAL, "store: ms_store_open: path is empty (use \":memory:\" for a private in-memory store)");
  if (flags & ~known) return ms__fail(MS_EINVAL, "store: ms_store_open: '%s': unknown flags 0x%x", path, flags & ~known);
  if (!migrations && n) return ms__fail(MS_EINVAL, "store: ms_store_open: '%s': no migration list", path);

  ms_store *s = calloc(1, sizeof *s);
  if (!s) return ms__fail(MS_ENOMEM, "store: ms_store_open: '%s': out of memory", path);
  ms__store_lock_init(s);
  pthread_mutex_init(&s->ckpt_mu, NULL);
  ms__store_group_init(s);
  atomic_init(&s->busy_timeout_us, DEFAULT_BUSY_TIMEOUT_US);
  s->migrations = migrations;
  s->n_migrations = n;
  s->flags = flags;
  int pg = ms__pg_is_uri(path);
  if (pg) {
    /* s->path, which every message names, is the URI with its password masked */
    int st = ms__pg_uri_check(path, &s->path);
    if (st) {
      char shown[1024];
      ms__strlcpy(shown, s->path ? s->path : "postgresql://...", sizeof shown);
      destroy(s);
      return ms__store_api_failed("ms_store_open", shown, st);
    }
  } else {
    s->path = ms__strdup(path);
  }
  if (!s->path) {
    destroy(s);
    return ms__fail(MS_ENOMEM, "store: ms_store_open: '%s': out of memory", pg ? "postgresql://..." : path);
  }
  int st = pg ? ms__pg_open(s, path) : open_connection(s, version);
  if (!st && pg) st = ms__store_migrate(s, version);
  if (st) {
    char shown[1024];
    ms__strlcpy(shown, s->path, sizeof shown);
    destroy(s);
    return ms__store_api_failed("ms_store_open", shown, st);
  }
  *out = s;
  return MS_OK;
}

void ms_store_close(ms_store *s) {
  if (s) destroy(s);
}

int ms_store_set_busy_timeout(ms_store *s, int64_t timeout_us) {
  if (!s) return ms__fail(MS_EINVAL, "store: ms_store_set_busy_timeout: store is NULL");
  if (timeout_us < 0)
    return ms__fail(MS_EINVAL, "store: ms_store_set_busy_timeout: '%s': busy timeout %lld us is negative", s->path,
                    (long long)timeout_us);
  atomic_store(&s->busy_timeout_us, timeout_us);
  return MS_OK;
}

static const char SQL_USER_VERSION[] = "PRAGMA user_version";

int ms_store_schema_version(ms_store *s, int64_t *version) {
  if (!s || !version) return ms__fail(MS_EINVAL, "store: ms_store_schema_version: %s is NULL", !s ? "store" : "version");
  int st = ms__store_read_begin(s);
  if (st) return ms__store_api_failed("ms_store_schema_version", s->path, st);
  int row = 0;
  int64_t v = 0;
  if (s->pg) {
    st = ms__pg_schema_version(s, &v);
    ms__store_read_end(s);
    if (st) return ms__store_api_failed("ms_store_schema_version", s->path, st);
    *version = v;
    return MS_OK;
  }
  sqlite3_stmt *q = ms__store_stmt(s, SQL_USER_VERSION, &st);
  if (q && !(st = ms__store_step_row(s, q, "read the schema version", &row))) {
    if (row) v = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (!row) st = ms__fail(MS_EINTERNAL, "store '%s': PRAGMA user_version returned no row", s->path);
  }
  ms__store_read_end(s);
  if (st) return ms__store_api_failed("ms_store_schema_version", s->path, st);
  *version = v;
  return MS_OK;
}
