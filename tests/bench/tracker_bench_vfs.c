/* Where a commit's time goes, measured: a VFS that wraps SQLite's default
 * one (the library and the benchmark share libsqlite3, so registering it as
 * the default makes every store of this process use it) and counts, per
 * thread, the time spent writing the WAL, syncing, and taking the WAL's
 * shared-memory locks, and the commits (WAL frames that end a transaction).
 * Used only for the breakdown run (--breakdown): it adds a clock read per
 * call, so the main runs go without it. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "tracker_bench.h"

static _Thread_local tb_io tls_io;
static sqlite3_vfs *g_real;
static sqlite3_vfs g_vfs;

typedef struct tfile {
  sqlite3_file base;
  int wal;              /* the -wal file */
  sqlite3_file real[1]; /* the real file follows (szOsFile bytes) */
} tfile;

#define REAL(f) (((tfile *)(f))->real)

static int t_close(sqlite3_file *f) { return REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK; }
static int t_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) {
  return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}

static int t_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) {
  uint64_t t0 = tb_now_ns();
  int rc = REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
  uint64_t dt = tb_now_ns() - t0;
  if (((tfile *)f)->wal) {
    tls_io.wal_write_ns += dt;
    tls_io.wal_bytes += (uint64_t)n;
    /* a 24-byte frame header whose "database size after commit" is set ends a transaction */
    const unsigned char *h = b;
    if (n == 24 && (h[4] | h[5] | h[6] | h[7])) tls_io.commits++;
  } else {
    tls_io.db_write_ns += dt;
  }
  return rc;
}

static int t_truncate(sqlite3_file *f, sqlite3_int64 size) { return REAL(f)->pMethods->xTruncate(REAL(f), size); }

static int t_sync(sqlite3_file *f, int flags) {
  uint64_t t0 = tb_now_ns();
  int rc = REAL(f)->pMethods->xSync(REAL(f), flags);
  tls_io.sync_ns += tb_now_ns() - t0;
  tls_io.syncs++;
  return rc;
}

static int t_size(sqlite3_file *f, sqlite3_int64 *s) { return REAL(f)->pMethods->xFileSize(REAL(f), s); }
static int t_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int t_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int t_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int t_fcntl(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int t_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int t_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }

static int t_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, p);
}

static int t_shm_lock(sqlite3_file *f, int off, int n, int flags) {
  uint64_t t0 = tb_now_ns();
  int rc = REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
  tls_io.shm_lock_ns += tb_now_ns() - t0;
  return rc;
}

static void t_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int t_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int t_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p) {
  return REAL(f)->pMethods->xFetch(REAL(f), o, n, p);
}
static int t_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return REAL(f)->pMethods->xUnfetch(REAL(f), o, p); }

static const sqlite3_io_methods t_methods = {
    3,         t_close,  t_read,     t_write,     t_truncate,    t_sync,       t_size,  t_lock,    t_unlock,
    t_reserved, t_fcntl, t_sector,   t_devchar,   t_shm_map,     t_shm_lock,   t_shm_barrier, t_shm_unmap,
    t_fetch,   t_unfetch};

static int t_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out_flags) {
  (void)v;
  tfile *tf = (tfile *)f;
  memset(tf, 0, sizeof *tf);
  int rc = g_real->xOpen(g_real, name, tf->real, flags, out_flags);
  tf->wal = (flags & SQLITE_OPEN_WAL) != 0;
  tf->base.pMethods = tf->real->pMethods ? &t_methods : NULL;
  return rc;
}

static int t_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; return g_real->xDelete(g_real, n, s); }
static int t_access(sqlite3_vfs *v, const char *n, int fl, int *o) {
  (void)v;
  return g_real->xAccess(g_real, n, fl, o);
}
static int t_full(sqlite3_vfs *v, const char *n, int len, char *o) {
  (void)v;
  return g_real->xFullPathname(g_real, n, len, o);
}
static void *t_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return g_real->xDlOpen(g_real, n); }
static void t_dlerror(sqlite3_vfs *v, int n, char *m) { (void)v; g_real->xDlError(g_real, n, m); }
static void (*t_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return g_real->xDlSym(g_real, h, s); }
static void t_dlclose(sqlite3_vfs *v, void *h) { (void)v; g_real->xDlClose(g_real, h); }
static int t_random(sqlite3_vfs *v, int n, char *o) { (void)v; return g_real->xRandomness(g_real, n, o); }
static int t_sleep(sqlite3_vfs *v, int us) { (void)v; return g_real->xSleep(g_real, us); }
static int t_time(sqlite3_vfs *v, double *o) { (void)v; return g_real->xCurrentTime(g_real, o); }
static int t_lasterr(sqlite3_vfs *v, int n, char *o) { (void)v; return g_real->xGetLastError(g_real, n, o); }
static int t_time64(sqlite3_vfs *v, sqlite3_int64 *o) { (void)v; return g_real->xCurrentTimeInt64(g_real, o); }

int tb_vfs_install(void) {
  if (g_real) return 0;
  sqlite3_initialize();
  g_real = sqlite3_vfs_find(NULL);
  if (!g_real || g_real->iVersion < 2) return -1;
  memset(&g_vfs, 0, sizeof g_vfs);
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = (int)(offsetof(tfile, real)) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = "tb-timing";
  g_vfs.xOpen = t_open;
  g_vfs.xDelete = t_delete;
  g_vfs.xAccess = t_access;
  g_vfs.xFullPathname = t_full;
  g_vfs.xDlOpen = t_dlopen;
  g_vfs.xDlError = t_dlerror;
  g_vfs.xDlSym = t_dlsym;
  g_vfs.xDlClose = t_dlclose;
  g_vfs.xRandomness = t_random;
  g_vfs.xSleep = t_sleep;
  g_vfs.xCurrentTime = t_time;
  g_vfs.xGetLastError = t_lasterr;
  g_vfs.xCurrentTimeInt64 = t_time64;
  return sqlite3_vfs_register(&g_vfs, 1) == SQLITE_OK ? 0 : -1;
}

void tb_io_take(tb_io *out) {
  *out = tls_io;
  memset(&tls_io, 0, sizeof tls_io);
}

void tb_io_add(tb_io *sum, const tb_io *x) {
  sum->wal_write_ns += x->wal_write_ns;
  sum->wal_bytes += x->wal_bytes;
  sum->db_write_ns += x->db_write_ns;
  sum->sync_ns += x->sync_ns;
  sum->syncs += x->syncs;
  sum->shm_lock_ns += x->shm_lock_ns;
  sum->commits += x->commits;
  sum->cpu_ns += x->cpu_ns;
  sum->vcsw += x->vcsw;
  sum->ivcsw += x->ivcsw;
}
