/* Checkpoints: copying the WAL back into the database, off the write path.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL
 * past 1000 pages, on the committing connection: it writes every page back
 * and fsyncs twice, which takes milliseconds, while this store's lock is held
 * and every other thread of the process waits. Under four writing threads
 * that one slow commit in a few hundred became the p99 latency. Here the WAL
 * hook only records the WAL's size; the thread that finds a checkpoint due
 * after releasing the lock runs a PASSIVE checkpoint on a second connection,
 * which never blocks writers, so the others carry on. One thread per process
 * checkpoints at a time (a try-lock); the others never wait for it.
 *
 * Layer 4 (store/checkpoint.h): it takes the write lock (layer 2) only for
 * the short passes that hold writers back, and releasing it kicks a queued
 * write like every release does; it never calls group commit or the top. */
#include "store/checkpoint.h"

#include "common/error.h"
#include "store/conn.h"
#include "store/lock.h"
#include "store/xlock.h"

#define DEFAULT_AUTOCHECKPOINT_FRAMES 1000 /* SQLite's own default */
/* The WAL restarts from its beginning once it holds this many times the
 * auto-checkpoint threshold (see run()). */
#define RESTART_FACTOR 4

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames) {
  (void)db;
  (void)name;
  ms_store *s = arg;
  /* Fewer frames than last time: a writer restarted the WAL from its start,
   * so nothing in it has been copied back yet. */
  if (frames < atomic_exchange_explicit(&s->wal_frames, frames, memory_order_relaxed)) {
    atomic_store_explicit(&s->ckpt_base, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->wal_restarts, 1, memory_order_relaxed);
  }
  return SQLITE_OK;
}

void ms__store_checkpoint_init(ms_store *s) {
  atomic_init(&s->wal_frames, 0);
  atomic_init(&s->ckpt_base, 0);
  atomic_init(&s->wal_restarts, 0);
  atomic_init(&s->autockpt, DEFAULT_AUTOCHECKPOINT_FRAMES);
  /* Replaces SQLite's automatic checkpoint on this connection. */
  sqlite3_wal_hook(s->db, wal_hook, s);
}

/* Frames written since the last checkpoint copied them back. */
static int64_t pending(ms_store *s) {
  int64_t frames = atomic_load_explicit(&s->wal_frames, memory_order_relaxed);
  int64_t base = atomic_load_explicit(&s->ckpt_base, memory_order_relaxed);
  return frames >= base ? frames - base : frames;
}

static sqlite3 *checkpoint_db(ms_store *s) {
  if (s->ckpt_db || s->ckpt_failed) return s->ckpt_db;
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 1000); /* only for the first read below, never for the checkpoint */
    /* A checkpoint syncs as its connection's synchronous setting says; the
     * first read attaches the connection to the WAL (before it, a checkpoint
     * silently does nothing). */
    rc = sqlite3_exec(db,
                      (s->flags & MS_STORE_DURABLE) ? "PRAGMA synchronous=FULL; PRAGMA cache_size=-64;"
                                                      "SELECT count(*) FROM sqlite_schema"
                                                    : "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-64;"
                                                      "SELECT count(*) FROM sqlite_schema",
                      NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    ms__log(MS_LOG_WARN, "store '%s': cannot open a checkpoint connection (%s); checkpointing under the lock",
            s->path, sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    s->ckpt_failed = 1;
    return NULL;
  }
  s->ckpt_db = db;
  return db;
}

/* One PASSIVE checkpoint pass on `db`: *log = frames in the WAL as the
 * pass saw it, *done = frames copied back. BUSY means another process is
 * checkpointing and does the same work. */
static int pass(ms_store *s, sqlite3 *db, int *log, int *done) {
  int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, log, done);
  if (rc == SQLITE_BUSY) {
    *log = *done = 0;
    return MS_OK;
  }
  if (rc != SQLITE_OK) return ms__fail(ms__store_sqlite_status(rc), "store '%s': checkpoint: %s", s->path, sqlite3_errmsg(db));
  if (*log >= 0) atomic_store_explicit(&s->ckpt_base, *done, memory_order_relaxed);
  return MS_OK;
}

/* Checkpoint; ckpt_mu held.
 *
 * The bulk is copied while writers go on, but SQLite starts the WAL over from
 * its beginning only when a writer finds every frame already copied, which
 * under steady writing never happens: the frames written during the pass
 * are always left. So once the WAL has grown to `restart` frames, a short
 * second pass runs with this process's writers (and, through the writer
 * queue, other processes' libmserve writers) held back; it copies only what
 * the first pass missed, and the next write restarts the WAL. The pause is
 * one short pass every few checkpoints, instead of every checkpoint being a
 * pause as with SQLite's automatic one. */
static int run(ms_store *s, int64_t restart, int64_t *left) {
  int log = 0, done = 0, st;
  sqlite3 *db = checkpoint_db(s);
  if (!db) { /* no second connection: checkpoint in line, as SQLite would */
    if ((st = ms__store_lock_take(s))) return st;
    st = pass(s, s->db, &log, &done);
    ms__store_lock_drop(s);
  } else {
    st = pass(s, db, &log, &done);
    if (!st && restart > 0 && log >= restart && done == log) {
      if ((st = ms__store_lock_take(s))) return st;
      if (!s->xlock || !(st = ms__store_xlock_acquire(s->xlock, atomic_load(&s->busy_timeout_us), s->path))) {
        st = pass(s, db, &log, &done);
        if (s->xlock) ms__store_xlock_release(s->xlock, 0);
      }
      ms__store_lock_drop(s);
    }
  }
  if (!st && left) *left = log > done ? log - done : 0;
  return st;
}

void ms__store_checkpoint_maybe(ms_store *s) {
  int64_t every = atomic_load_explicit(&s->autockpt, memory_order_relaxed);
  if (every <= 0 || pending(s) < every) return;
  if (pthread_mutex_trylock(&s->ckpt_mu) != 0) return; /* another thread is on it */
  if (pending(s) >= every && run(s, every * RESTART_FACTOR, NULL) != MS_OK)
    ms__log(MS_LOG_WARN, "%s", ms_errmsg());
  pthread_mutex_unlock(&s->ckpt_mu);
}

void ms__store_checkpoint_close(ms_store *s) {
  if (s->ckpt_db) sqlite3_close_v2(s->ckpt_db);
  s->ckpt_db = NULL;
}

int ms_store_checkpoint(ms_store *s, int64_t *frames_left) {
  if (!s) return ms__fail(MS_EINVAL, "store: ms_store_checkpoint: store is NULL");
  if (s->flags & MS_STORE_READONLY)
    return ms__store_api_failed("ms_store_checkpoint", s->path, ms__store_refuse_write(s));
  if (!s->on_disk) {
    if (frames_left) *frames_left = 0; /* an in-memory store has no WAL */
    return MS_OK;
  }
  int e = pthread_mutex_lock(&s->ckpt_mu);
  if (e) return ms__fail(MS_EINTERNAL, "store: ms_store_checkpoint: '%s': checkpoint mutex error %d", s->path, e);
  int64_t left = 0;
  int64_t every = atomic_load_explicit(&s->autockpt, memory_order_relaxed);
  int st = run(s, every > 0 ? every * RESTART_FACTOR : 1, &left);
  pthread_mutex_unlock(&s->ckpt_mu);
  if (st) return ms__store_api_failed("ms_store_checkpoint", s->path, st);
  if (frames_left) *frames_left = left;
  return MS_OK;
}

int ms_store_set_autocheckpoint(ms_store *s, int64_t frames) {
  if (!s) return ms__fail(MS_EINVAL, "store: ms_store_set_autocheckpoint: store is NULL");
  if (frames < 0)
    return ms__fail(MS_EINVAL, "store: ms_store_set_autocheckpoint: '%s': auto-checkpoint threshold %lld frames is "
                               "negative", s->path, (long long)frames);
  atomic_store_explicit(&s->autockpt, frames, memory_order_relaxed);
  return MS_OK;
}
