/* Scanning a model store folder.
 *
 * Three phases keep the store lock short and an unchanged re-scan cheap:
 *  1. one query reads the recorded identity (size, mtime, inode, device,
 *     hash) of every row whose archive lives in the folder;
 *  2. without the lock, each archive is stat'ed; one whose identity equals
 *     the record is UNCHANGED and never opened; others are read (manifest,
 *     config, content hash);
 *  3. when anything changed, one transaction applies every change. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/archive.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/text.h"
#include "registry/handle.h"
#include "registry/report.h"
#include "registry/rows.h"
#include "store/store_internal.h"

static const char SQL_FOLDER_ROWS[] =
    "SELECT id, archive_path, size, mtime_ns, ino, dev, missing, content_hash, name, version"
    " FROM registry_models WHERE folder = ?1";
static const char SQL_ROW_BY_PATH[] =
    "SELECT id, name, version, is_default, content_hash, missing FROM registry_models WHERE archive_path = ?1";
static const char SQL_TOUCH[] =
    "UPDATE registry_models SET size = ?2, mtime_ns = ?3, ino = ?4, dev = ?5, missing = 0 WHERE id = ?1";
static const char SQL_REFRESH[] =
    "UPDATE registry_models SET size = ?2, mtime_ns = ?3, ino = ?4, dev = ?5, missing = 0, format = ?6,"
    " runtime = ?7, handler = ?8, content_hash = ?9, archive_settings = ?10 WHERE id = ?1";
static const char SQL_DELETE_ID[] = "DELETE FROM registry_models WHERE id = ?1";
static const char SQL_REPOINT[] =
    "UPDATE registry_models SET archive_path = ?6, size = ?2, mtime_ns = ?3, ino = ?4, dev = ?5, missing = 0,"
    " format = ?7, runtime = ?8, handler = ?9, content_hash = ?10, archive_settings = ?11 WHERE id = ?1";
static const char SQL_MARK_MISSING[] = "UPDATE registry_models SET missing = 1 WHERE id = ?1 AND missing = 0";

typedef struct known {
  int64_t id;
  char *path, *hash, *name, *version;
  ms__stat st;
  int missing, seen;
} known;

typedef struct item {
  char *path;
  int format;
  ms__stat st;
  known *row;          /* the record for this path, if any */
  int status;          /* of reading */
  char *message;       /* error text when status != MS_OK */
  ms__archive_meta meta;
  int have_meta;
  ms_scan_outcome outcome;
} item;

static int cmp_known(const void *a, const void *b) {
  return strcmp(((const known *)a)->path, ((const known *)b)->path);
}
static int cmp_item(const void *a, const void *b) { return strcmp(((const item *)a)->path, ((const item *)b)->path); }

static known *find_known(known *rows, size_t n, const char *path) {
  known key;
  key.path = (char *)(uintptr_t)path;
  return n ? bsearch(&key, rows, n, sizeof *rows, cmp_known) : NULL;
}

static int load_known(ms_registry *r, const char *folder, known **out, size_t *n_out) {
  ms_store *s = r->store;
  int st = ms__store_lock(s);
  if (st) return st;
  known *rows = NULL;
  size_t n = 0, cap = 0;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_FOLDER_ROWS, &st);
  if (q) {
    sqlite3_bind_text(q, 1, folder, -1, SQLITE_STATIC);
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
      if (n == cap) {
        cap = cap ? cap * 2 : 64;
        known *g = realloc(rows, cap * sizeof *g);
        if (!g) {
          st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", folder);
          break;
        }
        rows = g;
      }
      known *k = &rows[n];
      memset(k, 0, sizeof *k);
      k->id = sqlite3_column_int64(q, 0);
      k->path = ms__strdup((const char *)sqlite3_column_text(q, 1));
      k->st.size = sqlite3_column_int64(q, 2);
      k->st.mtime_ns = sqlite3_column_int64(q, 3);
      k->st.ino = sqlite3_column_int64(q, 4);
      k->st.dev = sqlite3_column_int64(q, 5);
      k->missing = sqlite3_column_int(q, 6);
      k->hash = ms__strdup((const char *)sqlite3_column_text(q, 7));
      k->name = ms__strdup((const char *)sqlite3_column_text(q, 8));
      k->version = ms__strdup((const char *)sqlite3_column_text(q, 9));
      n++;
      if (!k->path || !k->hash || !k->name || !k->version) {
        st = MS_ENOMEM;
        break;
      }
    }
    if (!st && rc != SQLITE_DONE) st = ms__store_error(s, rc, "reading the registrations of a folder");
    sqlite3_clear_bindings(q);
    sqlite3_reset(q);
  }
  ms__store_unlock(s);
  if (!st && n) qsort(rows, n, sizeof *rows, cmp_known);
  *out = rows;
  *n_out = n;
  return st;
}

static void free_known(known *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(rows[i].path);
    free(rows[i].hash);
    free(rows[i].name);
    free(rows[i].version);
  }
  free(rows);
}

static void free_items(item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i].path);
    free(items[i].message);
    if (items[i].have_meta) ms__registry_archive_meta_free(&items[i].meta);
  }
  free(items);
}

/* A folder counts as a model when it holds a manifest. */
static int dir_has_manifest(const char *dir) {
  char p[4096];
  snprintf(p, sizeof p, "%s/MAR-INF/MANIFEST.json", dir);
  if (access(p, F_OK) == 0) return 1;
  snprintf(p, sizeof p, "%s/MANIFEST.json", dir);
  return access(p, F_OK) == 0;
}

/* List the archives of the folder, sorted by path. */
static int list_folder(const char *folder, item **out, size_t *n_out) {
  DIR *d = opendir(folder);
  if (!d) return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "folder '%s': %s", folder, strerror(errno));
  item *items = NULL;
  size_t n = 0, cap = 0;
  int st = MS_OK;
  struct dirent *de;
  while (!st && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue; /* hidden names, and extraction temp folders */
    size_t len = strlen(folder) + strlen(de->d_name) + 2;
    char *path = malloc(len);
    if (!path) {
      st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", folder);
      break;
    }
    snprintf(path, len, "%s/%s", folder, de->d_name);
    struct stat sb;
    if (stat(path, &sb) != 0) { /* vanished meanwhile, or a dangling link */
      free(path);
      continue;
    }
    int is_dir = S_ISDIR(sb.st_mode);
    int fmt = -1;
    if (is_dir) {
      if (dir_has_manifest(path)) fmt = MS__FMT_DIR;
    } else {
      /* Named like an archive: a regular file, or a FIFO, device or socket
       * that reading refuses (never waits on), reported as a failure. */
      size_t nl = strlen(de->d_name);
      if ((nl > 4 && strcmp(de->d_name + nl - 4, ".mar") == 0) ||
          (nl > 7 && strcmp(de->d_name + nl - 7, ".tar.gz") == 0) ||
          (nl > 4 && strcmp(de->d_name + nl - 4, ".tgz") == 0))
        fmt = ms__registry_archive_format_of(path, 0);
    }
    if (fmt < 0) {
      free(path);
      continue;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      item *g = realloc(items, cap * sizeof *g);
      if (!g) {
        free(path);
        st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", folder);
        break;
      }
      items = g;
    }
    item *it = &items[n++];
    memset(it, 0, sizeof *it);
    it->path = path;
    it->format = fmt;
    it->st.size = (int64_t)sb.st_size;
    it->st.mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + (int64_t)sb.st_mtim.tv_nsec;
    it->st.ino = (int64_t)sb.st_ino;
    it->st.dev = (int64_t)sb.st_dev;
  }
  closedir(d);
  if (st) {
    free_items(items, n);
    return st;
  }
  if (n) qsort(items, n, sizeof *items, cmp_item);
  *out = items;
  *n_out = n;
  return MS_OK;
}

/* A registration of this folder whose file still exists but was not
 * listed (a .zip, a hidden name, a folder that lost its manifest: anything
 * ms_registry_register accepts) is read like the listed ones, so it is
 * checked, and reported when broken, instead of being marked missing. */
static int add_unlisted(known *rows, size_t n_rows, item **items, size_t *n_items) {
  size_t n = *n_items, cap = n, listed = n;
  item *list = *items;
  for (size_t i = 0; i < n_rows; i++) {
    item key;
    key.path = rows[i].path;
    if (listed && bsearch(&key, list, listed, sizeof *list, cmp_item)) continue;
    struct stat sb;
    if (stat(rows[i].path, &sb) != 0) continue; /* gone: marked missing later */
    int fmt = ms__registry_archive_format_of(rows[i].path, S_ISDIR(sb.st_mode));
    if (fmt < 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      item *g = realloc(list, cap * sizeof *g);
      if (!g) {
        *items = list;
        *n_items = n;
        return ms__fail(MS_ENOMEM, "out of memory listing the registrations of the folder");
      }
      list = g;
    }
    item *it = &list[n];
    memset(it, 0, sizeof *it);
    if (!(it->path = ms__strdup(rows[i].path))) {
      *items = list;
      *n_items = n;
      return MS_ENOMEM;
    }
    n++;
    it->format = fmt;
    it->st.size = (int64_t)sb.st_size;
    it->st.mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + (int64_t)sb.st_mtim.tv_nsec;
    it->st.ino = (int64_t)sb.st_ino;
    it->st.dev = (int64_t)sb.st_dev;
  }
  if (n > listed) qsort(list, n, sizeof *list, cmp_item);
  *items = list;
  *n_items = n;
  return MS_OK;
}

static int same_stat(const ms__stat *a, const ms__stat *b) {
  return a->size == b->size && a->mtime_ns == b->mtime_ns && a->ino == b->ino && a->dev == b->dev;
}

static int step_done(ms_store *s, sqlite3_stmt *q, const char *what) {
  int rc = sqlite3_step(q);
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  return rc == SQLITE_DONE ? MS_OK : ms__store_error(s, rc, what);
}

static void bind_stat(sqlite3_stmt *q, int64_t id, const ms__stat *st) {
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_int64(q, 2, st->size);
  sqlite3_bind_int64(q, 3, st->mtime_ns);
  sqlite3_bind_int64(q, 4, st->ino);
  sqlite3_bind_int64(q, 5, st->dev);
}

/* A registration of this folder for name/version whose file is gone (not
 * listed, not on disk): the archive was moved or renamed within the model
 * store. */
static known *moved_from(known *rows, size_t n_rows, const ms__manifest *man) {
  for (size_t i = 0; i < n_rows; i++) {
    known *k = &rows[i];
    if (k->seen || strcmp(k->name, man->name) != 0 || strcmp(k->version, man->version) != 0) continue;
    struct stat sb;
    if (k->missing || (stat(k->path, &sb) != 0 && errno == ENOENT)) return k;
  }
  return NULL;
}

/* Point a moved registration at its new file (inside the savepoint of
 * apply_item): overrides, default flag and registration order stay. */
static int repoint(ms_registry *r, known *k, item *it) {
  int st = MS_OK;
  char *json = ms__registry_settings_to_json(&it->meta.config);
  if (!json) return MS_ENOMEM;
  sqlite3_stmt *q = ms__store_stmt(r->store, SQL_REPOINT, &st);
  if (q) {
    bind_stat(q, k->id, &it->st);
    sqlite3_bind_text(q, 6, it->path, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 7, it->meta.format);
    sqlite3_bind_text(q, 8, it->meta.manifest.runtime, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 9, it->meta.manifest.handler, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 10, it->meta.hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 11, json, -1, SQLITE_STATIC);
    st = step_done(r->store, q, "moving a registration");
  }
  free(json);
  if (!st) k->seen = 1; /* found again, under its new name: not missing */
  return st;
}

/* Apply one changed archive inside the scan's transaction. A failure that
 * concerns only this archive (e.g. a name clash) is recorded in it->status
 * and returns MS_OK; store errors abort the scan. */
static int apply_item(ms_registry *r, item *it, known *rows, size_t n_rows) {
  ms_store *s = r->store;
  int st = MS_OK, rc;
  sqlite3_stmt *q = ms__store_stmt(s, SQL_ROW_BY_PATH, &st);
  if (!q) return st;
  sqlite3_bind_text(q, 1, it->path, -1, SQLITE_STATIC);
  rc = sqlite3_step(q);
  int64_t id = 0;
  int is_default = 0, missing = 0, same_hash = 0, same_id = 0;
  char *old_name = NULL;
  if (rc == SQLITE_ROW) {
    id = sqlite3_column_int64(q, 0);
    const char *nm = (const char *)sqlite3_column_text(q, 1), *ver = (const char *)sqlite3_column_text(q, 2);
    is_default = sqlite3_column_int(q, 3);
    same_hash = strcmp((const char *)sqlite3_column_text(q, 4), it->meta.hash) == 0;
    missing = sqlite3_column_int(q, 5);
    same_id = strcmp(nm, it->meta.manifest.name) == 0 && strcmp(ver, it->meta.manifest.version) == 0;
    old_name = ms__strdup(nm);
  }
  sqlite3_clear_bindings(q);
  sqlite3_reset(q);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return ms__store_error(s, rc, "scan: looking up an archive");
  if (rc == SQLITE_ROW && !old_name) return MS_ENOMEM;

  if (id && same_id && same_hash) {
    /* Same content with a new identity (touched, copied over) or back from missing. */
    if (!(q = ms__store_stmt(s, SQL_TOUCH, &st))) goto out;
    bind_stat(q, id, &it->st);
    if ((st = step_done(s, q, "updating an archive's identity"))) goto out;
    it->outcome = missing ? MS_SCAN_UPDATED : MS_SCAN_UNCHANGED;
    goto out;
  }
  if (id && same_id) {
    /* New content, same model and version: keep overrides and the default flag. */
    char *json = ms__registry_settings_to_json(&it->meta.config);
    if (!json) {
      st = MS_ENOMEM;
      goto out;
    }
    if (!(q = ms__store_stmt(s, SQL_REFRESH, &st))) {
      free(json);
      goto out;
    }
    bind_stat(q, id, &it->st);
    sqlite3_bind_int(q, 6, it->meta.format);
    sqlite3_bind_text(q, 7, it->meta.manifest.runtime, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, it->meta.manifest.handler, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 9, it->meta.hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 10, json, -1, SQLITE_TRANSIENT);
    st = step_done(s, q, "updating an archive");
    free(json);
    if (!st) it->outcome = MS_SCAN_UPDATED;
    goto out;
  }
  /* A new archive, or one that now declares another model or version: the
   * old registration goes (its overrides belonged to the old identity). The
   * savepoint undoes the removal when the new identity is taken. */
  if ((st = ms__store_exec(s, "SAVEPOINT scan_item"))) goto out;
  if (id) {
    if (!(q = ms__store_stmt(s, SQL_DELETE_ID, &st))) goto undo;
    sqlite3_bind_int64(q, 1, id);
    if ((st = step_done(s, q, "replacing an archive"))) goto undo;
    if (is_default && (st = ms__registry_promote_default(r, old_name))) goto undo;
  }
  st = ms__registry_insert(r, it->path, &it->meta, &it->st, "{}", NULL);
  known *from = st == MS_EEXIST ? moved_from(rows, n_rows, &it->meta.manifest) : NULL;
  if (from) {
    if ((st = repoint(r, from, it))) goto undo;
    it->outcome = MS_SCAN_UPDATED;
    st = ms__store_exec(s, "RELEASE scan_item");
    goto out;
  }
  if (st == MS_EEXIST) {
    it->status = MS_EEXIST;
    it->message = ms__strdup(ms_errmsg());
    it->outcome = MS_SCAN_FAILED;
    st = MS_OK;
    goto undo;
  }
  if (st) goto undo;
  it->outcome = id ? MS_SCAN_UPDATED : MS_SCAN_ADDED;
  st = ms__store_exec(s, "RELEASE scan_item");
  goto out;
undo:
  ms__store_exec(s, "ROLLBACK TO scan_item");
  ms__store_exec(s, "RELEASE scan_item");
out:
  free(old_name);
  return st;
}

/* The report of a scan: every item with its outcome, then every vanished
 * registration. */
static int build_report(const item *items, size_t n_items, const known *rows, size_t n_rows, ms_scan_report **out) {
  ms_scan_report *rep = calloc(1, sizeof *rep);
  if (!rep) return ms__fail(MS_ENOMEM, "out of memory building the report");
  char msg[600];
  int st = MS_OK;
  for (size_t i = 0; i < n_items && !st; i++) {
    const item *it = &items[i];
    const char *m = it->message;
    if (it->outcome != MS_SCAN_FAILED) {
      snprintf(msg, sizeof msg, "%s %s", it->have_meta ? it->meta.manifest.name : it->row->name,
               it->have_meta ? it->meta.manifest.version : it->row->version);
      m = msg;
    }
    st = ms__registry_report_add(rep, it->path, it->outcome, it->status, m ? m : "");
  }
  for (size_t i = 0; i < n_rows && !st; i++) {
    if (rows[i].seen) continue;
    snprintf(msg, sizeof msg, "%s %s: archive is gone", rows[i].name, rows[i].version);
    st = ms__registry_report_add(rep, rows[i].path, MS_SCAN_MISSING, MS_OK, msg);
  }
  if (st) {
    ms_scan_report_free(rep);
    return ms__fail(MS_ENOMEM, "out of memory building the report");
  }
  *out = rep;
  return MS_OK;
}

static int scan(ms_registry *r, const char *model_store_dir, ms_scan_report **out) {
  if (!r || !model_store_dir) return ms__fail(MS_EINVAL, "NULL registry or model_store_dir");
  char *folder = realpath(model_store_dir, NULL);
  if (!folder)
    return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "folder '%s': %s", model_store_dir, strerror(errno));
  known *rows = NULL;
  size_t n_rows = 0, n_items = 0;
  item *items = NULL;
  ms_scan_report *rep = NULL;
  int st = list_folder(folder, &items, &n_items);
  if (!st) st = load_known(r, folder, &rows, &n_rows);
  if (!st) st = add_unlisted(rows, n_rows, &items, &n_items);
  if (st) goto done;

  /* Phase 2: stat decides; read only what changed. */
  int writes = 0;
  ms__read_limits lim = ms__registry_read_limits(r);
  for (size_t i = 0; i < n_items; i++) {
    item *it = &items[i];
    it->row = find_known(rows, n_rows, it->path);
    if (it->row) it->row->seen = 1;
    if (it->row && !it->row->missing && it->format != MS__FMT_DIR && same_stat(&it->row->st, &it->st)) {
      it->outcome = MS_SCAN_UNCHANGED;
      continue;
    }
    it->status = ms__registry_archive_read_path_limited(it->path, it->format, &lim, &it->meta);
    if (it->status) {
      it->message = ms__strdup(ms_errmsg());
      it->outcome = MS_SCAN_FAILED;
      continue;
    }
    it->have_meta = 1;
    /* Folders are re-read every time (their stat does not cover files
     * inside); equal hash and identity means unchanged. */
    if (it->row && !it->row->missing && strcmp(it->row->hash, it->meta.hash) == 0 &&
        strcmp(it->row->name, it->meta.manifest.name) == 0 &&
        strcmp(it->row->version, it->meta.manifest.version) == 0 && same_stat(&it->row->st, &it->st)) {
      it->outcome = MS_SCAN_UNCHANGED;
      continue;
    }
    writes = 1;
  }
  for (size_t i = 0; i < n_rows; i++)
    if (!rows[i].seen && !rows[i].missing) writes = 1;

  /* Phase 3: one transaction for every change. The report is built before
   * the commit, so failing to build it (MS_ENOMEM) rolls the scan back: a
   * scan that fails changed nothing. */
  if (writes) {
    if ((st = ms__store_begin(r->store))) goto done;
    for (size_t i = 0; i < n_items && !st; i++)
      if (items[i].have_meta && !(items[i].outcome == MS_SCAN_UNCHANGED && items[i].row))
        st = apply_item(r, &items[i], rows, n_rows);
    for (size_t i = 0; i < n_rows && !st; i++) {
      if (rows[i].seen || rows[i].missing) continue;
      sqlite3_stmt *q = ms__store_stmt(r->store, SQL_MARK_MISSING, &st);
      if (!q) break;
      sqlite3_bind_int64(q, 1, rows[i].id);
      st = step_done(r->store, q, "marking a vanished archive");
    }
    if (!st && out) st = build_report(items, n_items, rows, n_rows, &rep);
    if (st) {
      ms__store_rollback(r->store);
      goto done;
    }
    if ((st = ms__store_commit(r->store))) goto done;
  } else if (out && (st = build_report(items, n_items, rows, n_rows, &rep))) {
    goto done;
  }
  if (out) {
    *out = rep;
    rep = NULL;
  }
done:
  ms_scan_report_free(rep);
  free_known(rows, n_rows);
  free_items(items, n_items);
  free(folder);
  return st;
}

int ms_registry_scan(ms_registry *r, const char *model_store_dir, ms_scan_report **out) {
  int st = scan(r, model_store_dir, out);
  if (st) ms__errmsg_prefix("registry: ms_registry_scan");
  return st;
}
