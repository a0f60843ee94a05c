/* Opening and closing a store. */
#include <stdlib.h>
#include <string.h>

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
    return ms__store_error(s, rc, what);
  }
  return MS_OK;
}

int ms__store_open_at(const char *path, unsigned flags, int64_t version, ms_store **out) {
  if (!path || !out) return ms__fail(MS_EINVAL, "store: %s is NULL", !path ? "path" : "out");
  if (!*path) return ms__fail(MS_EINVAL, "store: path is empty (use \":memory:\" for a private in-memory store)");
  if (flags & ~(MS_STORE_DURABLE | MS_STORE_NOCREATE))
    return ms__fail(MS_EINVAL, "store '%s': unknown flags 0x%x", path, flags & ~(MS_STORE_DURABLE | MS_STORE_NOCREATE));

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

  int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (!(flags & MS_STORE_NOCREATE)) oflags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
  if (rc != SQLITE_OK) {
    int st;
    if ((flags & MS_STORE_NOCREATE) && rc == SQLITE_CANTOPEN)
      st = ms__fail(MS_ENOTFOUND, "store '%s': no such database (MS_STORE_NOCREATE)", path);
    else
      st = ms__fail(ms__sqlite_status(rc), "store '%s': cannot open: %s", path,
                    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    destroy(s);
    return st;
  }
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_handler(s->db, ms__store_busy_handler, s);

  /* A new database gets 2 KiB pages (an existing one keeps its own: the
   * pragma is a no-op then). Every commit appends each page it changed to
   * the WAL and every checkpoint syncs all of that, so with the small rows
   * and short transactions of the tracker the write volume, not the work,
   * bounded throughput: 2 KiB pages write half the bytes of SQLite's 4 KiB
   * per commit (tracker: about 1.3x the admissions per second), while the
   * autoscaler's bulk ticks, which favour big pages, stay well within
   * their target. */
  int st = pragma(s, "PRAGMA page_size=2048", "set the page size");
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
