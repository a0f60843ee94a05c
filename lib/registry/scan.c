/* Scanning a model store folder.
 *
 * Four phases keep the store held briefly and an unchanged re-scan cheap:
 *  1. the folder is listed (model archives and folders become items; every
 *     other name is a SKIPPED entry with the reason), and one read each
 *     takes the recorded identity (size, mtime, inode, device, hash) of
 *     every registration whose archive lives in the folder and the marks of
 *     the archives unregistered through the API;
 *  2. without holding the store, each item is stat'ed: one whose identity
 *     equals the record is UNCHANGED (or, marked removed, SKIPPED) and never
 *     opened; the others are read (manifest, config, content hash);
 *  3. items declaring the same name and version are resolved: the newest
 *     createdOn wins, then the first path; the others are CONFLICT entries
 *     naming the winner (which takes over a registration a loser held);
 *  4. when anything changed, one long store transaction applies every
 *     change, and the report is built before it commits. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/text.h"
#include "registry/archive.h"
#include "registry/handle.h"
#include "registry/model.h"
#include "registry/report.h"
#include "registry/rows.h"
#include "store/store_internal.h"

static const char SQL_FOLDER_ROWS[] =
    "SELECT id, archive_path, size, mtime_ns, ino, dev, missing, content_hash, name, version"
    " FROM registry_models WHERE folder = ?1";
static const char SQL_FOLDER_MARKS[] =
    "SELECT archive_path, content_hash, size, mtime_ns, ino, dev, name, version FROM registry_removed"
    " WHERE folder = ?1";
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

/* A registration of the folder, as recorded. */
typedef struct known {
  int64_t id;
  char *path, *hash, *name, *version;
  ms__stat st;
  int missing, seen;
} known;

/* An archive of the folder unregistered through the API. */
typedef struct mark {
  char *path, *hash, *name, *version;
  ms__stat st;
} mark;

typedef struct item {
  char *path;
  int format;
  ms__stat st;
  known *row;          /* the record for this path, if any */
  mark *mark;          /* its removal mark, if any */
  int status;          /* of reading */
  char *message;       /* the reason, for FAILED, SKIPPED and CONFLICT */
  ms__archive_meta meta;
  int have_meta;
  ms_scan_outcome outcome;
  int decided;         /* the outcome is final before the write phase */
  known *takeover;     /* a conflict's losing registration this winner takes over */
  int clear_mark, touch_mark;
} item;

/* A name of the folder the scan does not read, and why. */
typedef struct skipped {
  char *path, *reason;
} skipped;

typedef struct scan_state {
  ms_registry *r;
  char *folder;
  known *rows;
  size_t n_rows;
  mark *marks;
  size_t n_marks;
  item *items;
  size_t n_items;
  skipped *skips;
  size_t n_skips, cap_skips;
} scan_state;

static int cmp_known(const void *a, const void *b) {
  return strcmp(((const known *)a)->path, ((const known *)b)->path);
}
static int cmp_mark(const void *a, const void *b) { return strcmp(((const mark *)a)->path, ((const mark *)b)->path); }
static int cmp_item(const void *a, const void *b) { return strcmp(((const item *)a)->path, ((const item *)b)->path); }
static int cmp_skip(const void *a, const void *b) {
  return strcmp(((const skipped *)a)->path, ((const skipped *)b)->path);
}

static known *find_known(known *rows, size_t n, const char *path) {
  known key;
  key.path = (char *)(uintptr_t)path;
  return n ? bsearch(&key, rows, n, sizeof *rows, cmp_known) : NULL;
}

static mark *find_mark(mark *marks, size_t n, const char *path) {
  mark key;
  key.path = (char *)(uintptr_t)path;
  return n ? bsearch(&key, marks, n, sizeof *marks, cmp_mark) : NULL;
}

static void stat_of(const struct stat *sb, ms__stat *out) {
  out->size = (int64_t)sb->st_size;
  out->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + (int64_t)sb->st_mtim.tv_nsec;
  out->ino = (int64_t)sb->st_ino;
  out->dev = (int64_t)sb->st_dev;
}

static void read_stat(ms_stmt *q, int col, ms__stat *st) {
  st->size = ms__stmt_int64(q, col);
  st->mtime_ns = ms__stmt_int64(q, col + 1);
  st->ino = ms__stmt_int64(q, col + 2);
  st->dev = ms__stmt_int64(q, col + 3);
}

static char *col_dup(ms_stmt *q, int i) {
  const char *s = ms__stmt_text(q, i);
  return ms__strdup(s ? s : "");
}

/* ---- phase 1: what the store recorded ---------------------------------------- */

static int load_known(scan_state *x) {
  ms_store *s = x->r->store;
  int st = ms__store_read_begin(s), row = 0;
  if (st) return st;
  size_t cap = 0;
  ms_stmt *q = ms__store_prepare(s, SQL_FOLDER_ROWS, &st);
  if (q) {
    ms__stmt_bind_text(q, 1, x->folder, -1);
    while (!(st = ms__stmt_row(s, q, "reading the registrations of the folder", &row)) && row) {
      if (x->n_rows == cap) {
        cap = cap ? cap * 2 : 64;
        known *g = realloc(x->rows, cap * sizeof *g);
        if (!g) {
          st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
          break;
        }
        x->rows = g;
      }
      known *k = &x->rows[x->n_rows++];
      memset(k, 0, sizeof *k);
      k->id = ms__stmt_int64(q, 0);
      k->path = col_dup(q, 1);
      read_stat(q, 2, &k->st);
      k->missing = ms__stmt_int(q, 6);
      k->hash = col_dup(q, 7);
      k->name = col_dup(q, 8);
      k->version = col_dup(q, 9);
      if (!k->path || !k->hash || !k->name || !k->version) {
        st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
        break;
      }
    }
    ms__stmt_reset(q);
  }
  cap = 0;
  if (!st && (q = ms__store_prepare(s, SQL_FOLDER_MARKS, &st))) {
    ms__stmt_bind_text(q, 1, x->folder, -1);
    while (!(st = ms__stmt_row(s, q, "reading the removal marks of the folder", &row)) && row) {
      if (x->n_marks == cap) {
        cap = cap ? cap * 2 : 16;
        mark *g = realloc(x->marks, cap * sizeof *g);
        if (!g) {
          st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
          break;
        }
        x->marks = g;
      }
      mark *m = &x->marks[x->n_marks++];
      memset(m, 0, sizeof *m);
      m->path = col_dup(q, 0);
      m->hash = col_dup(q, 1);
      read_stat(q, 2, &m->st);
      m->name = col_dup(q, 6);
      m->version = col_dup(q, 7);
      if (!m->path || !m->hash || !m->name || !m->version) {
        st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
        break;
      }
    }
    ms__stmt_reset(q);
  }
  ms__store_read_end(s);
  if (!st && x->n_rows) qsort(x->rows, x->n_rows, sizeof *x->rows, cmp_known);
  if (!st && x->n_marks) qsort(x->marks, x->n_marks, sizeof *x->marks, cmp_mark);
  return st;
}

static void free_state(scan_state *x) {
  for (size_t i = 0; i < x->n_rows; i++) {
    free(x->rows[i].path);
    free(x->rows[i].hash);
    free(x->rows[i].name);
    free(x->rows[i].version);
  }
  free(x->rows);
  for (size_t i = 0; i < x->n_marks; i++) {
    free(x->marks[i].path);
    free(x->marks[i].hash);
    free(x->marks[i].name);
    free(x->marks[i].version);
  }
  free(x->marks);
  for (size_t i = 0; i < x->n_items; i++) {
    free(x->items[i].path);
    free(x->items[i].message);
    if (x->items[i].have_meta) ms__registry_archive_meta_free(&x->items[i].meta);
  }
  free(x->items);
  for (size_t i = 0; i < x->n_skips; i++) {
    free(x->skips[i].path);
    free(x->skips[i].reason);
  }
  free(x->skips);
  free(x->folder);
}

/* ---- phase 1: what the folder holds ------------------------------------------ */

static int named_like_archive(const char *name) {
  size_t n = strlen(name);
  return (n > 4 && strcmp(name + n - 4, ".mar") == 0) || (n > 7 && strcmp(name + n - 7, ".tar.gz") == 0) ||
         (n > 4 && strcmp(name + n - 4, ".tgz") == 0);
}

/* A folder counts as a model when it holds a manifest. */
static int dir_has_manifest(const char *dir) {
  char p[4096];
  snprintf(p, sizeof p, "%s/MAR-INF/MANIFEST.json", dir);
  if (access(p, F_OK) == 0) return 1;
  snprintf(p, sizeof p, "%s/MANIFEST.json", dir);
  return access(p, F_OK) == 0;
}

/* A model (a folder with a manifest, or an archive's name) directly inside
 * `dir`, for saying so when the store's models sit one level too deep;
 * its name into buf, else "". */
static void model_inside(const char *dir, char *buf, size_t cap) {
  buf[0] = '\0';
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    struct stat sb;
    if (stat(p, &sb) != 0) continue;
    if ((S_ISDIR(sb.st_mode) && dir_has_manifest(p)) || (!S_ISDIR(sb.st_mode) && named_like_archive(de->d_name))) {
      ms__strlcpy(buf, de->d_name, cap);
      break;
    }
  }
  closedir(d);
}

static int skip_add(scan_state *x, char *path, const char *reason) {
  if (x->n_skips == x->cap_skips) {
    size_t cap = x->cap_skips ? x->cap_skips * 2 : 16;
    skipped *g = realloc(x->skips, cap * sizeof *g);
    if (!g) {
      free(path);
      return ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
    }
    x->skips = g;
    x->cap_skips = cap;
  }
  skipped *k = &x->skips[x->n_skips];
  k->path = path;
  if (!(k->reason = ms__strdup(reason))) {
    free(path);
    return ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
  }
  x->n_skips++;
  return MS_OK;
}

/* Why a name of the folder is not read (sb: its stat, NULL when stat failed). */
static int skip_name(scan_state *x, char *path, const char *name, const struct stat *sb, int err) {
  char reason[1200], shown[300], inner[300];
  if (!sb) {
    snprintf(reason, sizeof reason, "cannot be read (%s): skipped", strerror(err));
  } else if (S_ISDIR(sb->st_mode)) {
    model_inside(path, inner, sizeof inner);
    if (inner[0])
      snprintf(reason, sizeof reason,
               "a folder without MAR-INF/MANIFEST.json, so not a model; it holds a model one level down ('%s'): "
               "the models of a model store sit directly in it (scan '%s' to register that one)",
               ms__text_show(inner, shown, sizeof shown), path);
    else
      snprintf(reason, sizeof reason, "a folder without MAR-INF/MANIFEST.json: not a model");
  } else {
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".zip") == 0)
      snprintf(reason, sizeof reason,
               "a .zip is not scanned (a model store holds .mar, .tar.gz and .tgz archives and model folders): "
               "rename it to .mar, or register it with ms_registry_register");
    else
      snprintf(reason, sizeof reason,
               "not a model archive (a scan reads .mar, .tar.gz and .tgz archives and model folders)");
  }
  return skip_add(x, path, reason);
}

/* List the folder: items (sorted by path) and skipped names. */
static int list_folder(scan_state *x) {
  DIR *d = opendir(x->folder);
  if (!d) return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "folder '%s': %s", x->folder, strerror(errno));
  size_t cap = 0;
  int st = MS_OK;
  struct dirent *de;
  while (!st && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue; /* hidden names, and extraction temp folders */
    size_t len = strlen(x->folder) + strlen(de->d_name) + 2;
    char *path = malloc(len);
    if (!path) {
      st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
      break;
    }
    snprintf(path, len, "%s/%s", x->folder, de->d_name);
    struct stat sb;
    if (stat(path, &sb) != 0) { /* a dangling link, or gone meanwhile */
      int err = errno;
      if (err == ENOENT && lstat(path, &sb) != 0) { /* gone meanwhile: nothing to say */
        free(path);
        continue;
      }
      st = skip_name(x, path, de->d_name, NULL, err);
      continue;
    }
    int fmt = -1;
    if (S_ISDIR(sb.st_mode)) {
      if (dir_has_manifest(path)) fmt = MS__FMT_DIR;
    } else if (named_like_archive(de->d_name)) {
      /* A regular file, or a FIFO, device or socket that reading refuses
       * (never waits on), reported as a failure. */
      fmt = ms__registry_archive_format_of(path, 0);
    }
    if (fmt < 0) {
      st = skip_name(x, path, de->d_name, &sb, 0);
      continue;
    }
    if (x->n_items == cap) {
      cap = cap ? cap * 2 : 64;
      item *g = realloc(x->items, cap * sizeof *g);
      if (!g) {
        free(path);
        st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
        break;
      }
      x->items = g;
    }
    item *it = &x->items[x->n_items++];
    memset(it, 0, sizeof *it);
    it->path = path;
    it->format = fmt;
    stat_of(&sb, &it->st);
  }
  closedir(d);
  if (st) return st;
  if (x->n_items) qsort(x->items, x->n_items, sizeof *x->items, cmp_item);
  return MS_OK;
}

/* A registration of this folder whose file still exists but was not
 * listed (a .zip, a hidden name, a folder that lost its manifest: anything
 * ms_registry_register accepts) is read like the listed ones, so it is
 * checked, and reported when broken, instead of being marked missing; it
 * is then no SKIPPED entry. */
static int add_unlisted(scan_state *x) {
  size_t n = x->n_items, cap = n, listed = n;
  item *list = x->items;
  for (size_t i = 0; i < x->n_rows; i++) {
    item key;
    key.path = x->rows[i].path;
    if (listed && bsearch(&key, list, listed, sizeof *list, cmp_item)) continue;
    struct stat sb;
    if (stat(x->rows[i].path, &sb) != 0) continue; /* gone: marked missing later */
    int fmt = ms__registry_archive_format_of(x->rows[i].path, S_ISDIR(sb.st_mode));
    if (fmt < 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      item *g = realloc(list, cap * sizeof *g);
      if (!g) {
        x->items = list;
        x->n_items = n;
        return ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
      }
      list = g;
    }
    item *it = &list[n];
    memset(it, 0, sizeof *it);
    if (!(it->path = ms__strdup(x->rows[i].path))) {
      x->items = list;
      x->n_items = n;
      return ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
    }
    n++;
    it->format = fmt;
    stat_of(&sb, &it->st);
  }
  if (n > listed) qsort(list, n, sizeof *list, cmp_item);
  x->items = list;
  x->n_items = n;
  /* Names read after all are no SKIPPED entries. */
  size_t k = 0;
  for (size_t i = 0; i < x->n_skips; i++) {
    item key;
    key.path = x->skips[i].path;
    if (n && bsearch(&key, list, n, sizeof *list, cmp_item)) {
      free(x->skips[i].path);
      free(x->skips[i].reason);
      continue;
    }
    x->skips[k++] = x->skips[i];
  }
  x->n_skips = k;
  if (k) qsort(x->skips, k, sizeof *x->skips, cmp_skip);
  return MS_OK;
}

/* ---- phase 2: stat decides, read what changed ---------------------------- */

static int same_stat(const ms__stat *a, const ms__stat *b) {
  return a->size == b->size && a->mtime_ns == b->mtime_ns && a->ino == b->ino && a->dev == b->dev;
}

static void decide(item *it, ms_scan_outcome outcome, int status, char *message) {
  it->outcome = outcome;
  it->status = status;
  free(it->message);
  it->message = message;
  it->decided = 1;
}

/* "model 'x' version 'v' was unregistered through the API ..." */
static char *removed_message(const mark *m) {
  char buf[800], sn[160], sv[160];
  snprintf(buf, sizeof buf,
           "model '%s' version '%s' was unregistered through the API (ms_registry_unregister): its archive is "
           "skipped until its content changes or it is registered again",
           ms__text_show(m->name, sn, sizeof sn), ms__text_show(m->version, sv, sizeof sv));
  return ms__strdup(buf);
}

/* Read an item's manifest, config and hash; FAILED with the reason when it
 * cannot be read. 0 when read. */
static int read_item(item *it, const ms__read_limits *lim) {
  int st = ms__registry_archive_read_path_limited(it->path, it->format, lim, &it->meta);
  if (st) {
    decide(it, MS_SCAN_FAILED, st, ms__strdup(ms_errmsg()));
    return -1;
  }
  it->have_meta = 1;
  return 0;
}

/* Returns 1 when the item needs a write (apply, or a mark to clear or touch). */
static int examine(item *it, scan_state *x, const ms__read_limits *lim) {
  it->row = find_known(x->rows, x->n_rows, it->path);
  if (it->row) it->row->seen = 1;
  it->mark = find_mark(x->marks, x->n_marks, it->path);
  if (it->mark && it->format != MS__FMT_DIR && same_stat(&it->mark->st, &it->st)) {
    decide(it, MS_SCAN_SKIPPED, MS_OK, removed_message(it->mark));
    return 0;
  }
  if (it->row && !it->row->missing && it->format != MS__FMT_DIR && same_stat(&it->row->st, &it->st)) {
    decide(it, MS_SCAN_UNCHANGED, MS_OK, NULL);
    return 0;
  }
  if (read_item(it, lim)) return 0;
  if (it->mark) {
    if (strcmp(it->meta.hash, it->mark->hash) == 0) { /* the same content, touched or copied over */
      it->touch_mark = !same_stat(&it->mark->st, &it->st);
      decide(it, MS_SCAN_SKIPPED, MS_OK, removed_message(it->mark));
      return it->touch_mark;
    }
    it->clear_mark = 1; /* changed: a new archive, registered as any other */
  }
  /* Folders are re-read every time (their stat does not cover files
   * inside); equal hash and identity means unchanged. */
  if (it->row && !it->row->missing && strcmp(it->row->hash, it->meta.hash) == 0 &&
      strcmp(it->row->name, it->meta.manifest.name) == 0 &&
      strcmp(it->row->version, it->meta.manifest.version) == 0 && same_stat(&it->row->st, &it->st)) {
    decide(it, MS_SCAN_UNCHANGED, MS_OK, NULL);
    return it->clear_mark;
  }
  return 1;
}

/* ---- phase 3: one winner per name and version ------------------------------ */

static const char *item_name(const item *it) { return it->have_meta ? it->meta.manifest.name : it->row->name; }
static const char *item_version(const item *it) {
  return it->have_meta ? it->meta.manifest.version : it->row->version;
}

/* An item that would hold a registration after this scan. */
static int is_candidate(const item *it) {
  return (it->decided && it->outcome == MS_SCAN_UNCHANGED && it->row) || (it->have_meta && !it->decided);
}

static int cmp_cand(const void *pa, const void *pb) {
  const item *a = *(item *const *)pa, *b = *(item *const *)pb;
  int c = strcmp(item_name(a), item_name(b));
  if (c) return c;
  if ((c = strcmp(item_version(a), item_version(b)))) return c;
  return strcmp(a->path, b->path);
}

static int same_model(const item *a, const item *b) {
  return strcmp(item_name(a), item_name(b)) == 0 && strcmp(item_version(a), item_version(b)) == 0;
}

/* Whether a beats b: the newer createdOn, then (equal or both absent) the
 * first path — a and b come in path order. */
static int beats(const item *a, const item *b) { return a->meta.manifest.created_at >= b->meta.manifest.created_at; }

static char *conflict_message(const item *loser, const item *winner) {
  char why[400], buf[1600], sn[160], sv[160], sw[600];
  const ms__manifest *w = &winner->meta.manifest, *l = &loser->meta.manifest;
  if (w->created_at > l->created_at && l->created_at >= 0)
    snprintf(why, sizeof why, "its createdOn %s is newer than this archive's %s", w->created_on, l->created_on);
  else if (w->created_at > l->created_at)
    snprintf(why, sizeof why, "it has a createdOn (%s) and this archive has none that reads as a date",
             w->created_on);
  else if (w->created_at >= 0)
    snprintf(why, sizeof why, "both were created on %s: the first path wins", w->created_on);
  else
    snprintf(why, sizeof why, "neither has a createdOn: the first path wins");
  snprintf(buf, sizeof buf, "model '%s' version '%s' is also declared by '%s', which is registered instead (%s)",
           ms__text_show(w->name, sn, sizeof sn), ms__text_show(w->version, sv, sizeof sv),
           ms__text_show(winner->path, sw, sizeof sw), why);
  return ms__strdup(buf);
}

/* Resolve every group of items declaring one name and version. Members that
 * were not read (unchanged) are read now for their createdOn. Returns 1
 * when a winner must take over a loser's registration (a write). */
static int resolve_conflicts(scan_state *x, const ms__read_limits *lim, int *st) {
  size_t n = 0;
  for (size_t i = 0; i < x->n_items; i++) n += is_candidate(&x->items[i]) ? 1u : 0u;
  if (n < 2) return 0;
  item **v = malloc(n * sizeof *v);
  if (!v) {
    *st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
    return 0;
  }
  n = 0;
  for (size_t i = 0; i < x->n_items; i++)
    if (is_candidate(&x->items[i])) v[n++] = &x->items[i];
  qsort(v, n, sizeof *v, cmp_cand);
  int writes = 0;
  for (size_t i = 0; i < n && !*st;) {
    size_t j = i + 1;
    while (j < n && same_model(v[i], v[j])) j++;
    if (j - i > 1) {
      /* Read the members not read yet (their createdOn decides); they come
       * in path order, so a tie keeps the first path. */
      item *win = NULL;
      for (size_t k = i; k < j; k++) {
        item *it = v[k];
        if (!it->have_meta && read_item(it, lim)) continue; /* now FAILED: out of the group */
        if (!win || !beats(win, it)) win = it;
      }
      for (size_t k = i; k < j && win; k++) {
        item *it = v[k];
        if (it == win || (it->decided && it->outcome == MS_SCAN_FAILED)) continue;
        /* A loser that holds this name and version's registration hands it
         * to the winner (overrides and default flag kept). */
        if (it->row && strcmp(it->row->name, item_name(it)) == 0 && strcmp(it->row->version, item_version(it)) == 0) {
          win->takeover = it->row;
          win->decided = 0;
          writes = 1;
        }
        char *msg = conflict_message(it, win);
        if (!msg) *st = ms__fail(MS_ENOMEM, "folder '%s': out of memory", x->folder);
        decide(it, MS_SCAN_CONFLICT, MS_EEXIST, msg);
      }
    }
    i = j;
  }
  free(v);
  return writes;
}

/* ---- phase 4: the writes ----------------------------------------------------- */

static void bind_stat(ms_stmt *q, int64_t id, const ms__stat *st) {
  ms__stmt_bind_int64(q, 1, id);
  ms__stmt_bind_int64(q, 2, st->size);
  ms__stmt_bind_int64(q, 3, st->mtime_ns);
  ms__stmt_bind_int64(q, 4, st->ino);
  ms__stmt_bind_int64(q, 5, st->dev);
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

/* Point registration k at the item's file: overrides, default flag and
 * registration order stay. *moved = 0 when the row is gone meanwhile. */
static int repoint(ms_registry *r, known *k, item *it, int *moved) {
  int st = MS_OK;
  char *json = ms__registry_settings_to_json(&it->meta.config);
  if (!json) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", it->path);
  ms_stmt *q = ms__store_prepare(r->store, SQL_REPOINT, &st);
  if (q) {
    bind_stat(q, k->id, &it->st);
    ms__stmt_bind_text(q, 6, it->path, -1);
    ms__stmt_bind_int(q, 7, it->meta.format);
    ms__stmt_bind_text(q, 8, it->meta.manifest.runtime, -1);
    ms__stmt_bind_text(q, 9, it->meta.manifest.handler, -1);
    ms__stmt_bind_text(q, 10, it->meta.hash, -1);
    ms__stmt_bind_text(q, 11, json, -1);
    st = ms__stmt_done(r->store, q, "moving a registration");
  }
  free(json);
  *moved = !st && ms__store_changes(r->store) == 1;
  if (*moved) k->seen = 1; /* found again, under its new name: not missing */
  return st;
}

/* Apply one changed archive inside the scan's transaction. A failure that
 * concerns only this archive (its name and version registered from another
 * file) is recorded in the item and returns MS_OK; store errors abort the
 * scan. */
static int apply_item(ms_registry *r, item *it, known *rows, size_t n_rows) {
  ms_store *s = r->store;
  int st = MS_OK, row = 0, moved = 0;
  if (it->clear_mark && (st = ms__registry_clear_mark(r, it->path))) return st;
  ms_stmt *q = ms__store_prepare(s, SQL_ROW_BY_PATH, &st);
  if (!q) return st;
  ms__stmt_bind_text(q, 1, it->path, -1);
  if ((st = ms__stmt_row(s, q, "looking up an archive", &row))) return st;
  int64_t id = 0;
  int is_default = 0, missing = 0, same_hash = 0, same_id = 0;
  char *old_name = NULL;
  if (row) {
    id = ms__stmt_int64(q, 0);
    const char *nm = ms__stmt_text(q, 1), *ver = ms__stmt_text(q, 2);
    is_default = ms__stmt_int(q, 3);
    same_hash = strcmp(ms__stmt_text(q, 4), it->meta.hash) == 0;
    missing = ms__stmt_int(q, 5);
    same_id = strcmp(nm, it->meta.manifest.name) == 0 && strcmp(ver, it->meta.manifest.version) == 0;
    old_name = ms__strdup(nm);
    ms__stmt_reset(q);
    if (!old_name) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", it->path);
  }

  if (id && same_id && same_hash) {
    /* Same content with a new identity (touched, copied over) or back from missing. */
    if (!(q = ms__store_prepare(s, SQL_TOUCH, &st))) goto out;
    bind_stat(q, id, &it->st);
    if ((st = ms__stmt_done(s, q, "updating an archive's identity"))) goto out;
    it->outcome = missing ? MS_SCAN_UPDATED : MS_SCAN_UNCHANGED;
    goto out;
  }
  if (id && same_id) {
    /* New content, same model and version: keep overrides and the default flag. */
    char *json = ms__registry_settings_to_json(&it->meta.config);
    if (!json) {
      st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", it->path);
      goto out;
    }
    if (!(q = ms__store_prepare(s, SQL_REFRESH, &st))) {
      free(json);
      goto out;
    }
    bind_stat(q, id, &it->st);
    ms__stmt_bind_int(q, 6, it->meta.format);
    ms__stmt_bind_text(q, 7, it->meta.manifest.runtime, -1);
    ms__stmt_bind_text(q, 8, it->meta.manifest.handler, -1);
    ms__stmt_bind_text(q, 9, it->meta.hash, -1);
    ms__stmt_bind_text(q, 10, json, -1);
    st = ms__stmt_done(s, q, "updating an archive");
    free(json);
    if (!st) it->outcome = MS_SCAN_UPDATED;
    goto out;
  }
  /* A new archive, or one that now declares another model or version: the
   * old registration goes (its overrides belonged to the old identity). The
   * savepoint undoes the removal when the new identity is taken. */
  if ((st = ms__store_savepoint(s))) goto out;
  if (id) {
    if (!(q = ms__store_prepare(s, SQL_DELETE_ID, &st))) goto undo;
    ms__stmt_bind_int64(q, 1, id);
    if ((st = ms__stmt_done(s, q, "replacing an archive"))) goto undo;
    if (is_default && (st = ms__registry_promote_default(r, old_name))) goto undo;
  }
  st = ms__registry_insert(r, it->path, &it->meta, &it->st, "{}", NULL);
  /* Its name and version are taken: by the registration of a conflict's
   * loser (the winner takes it over), or by one whose file is gone (the
   * archive was moved or renamed in the folder: the registration follows). */
  known *from = st != MS_EEXIST ? NULL : it->takeover ? it->takeover : moved_from(rows, n_rows, &it->meta.manifest);
  if (from) {
    char *taken = ms__strdup(ms_errmsg());
    int rs = repoint(r, from, it, &moved);
    if (rs || moved) {
      free(taken);
      if (!rs) it->outcome = MS_SCAN_UPDATED;
      st = ms__store_savepoint_end(s, rs);
      goto out;
    }
    ms__fail(MS_EEXIST, "%s", taken ? taken : "its name and version are registered from another archive");
    free(taken);
  }
  if (st == MS_EEXIST) {
    /* Its name and version are registered from another file (outside this
     * folder, or by ms_registry_register): that registration stays. */
    char *msg = ms__strdup(ms_errmsg());
    ms__store_savepoint_end(s, MS_EEXIST);
    decide(it, MS_SCAN_CONFLICT, MS_EEXIST, msg);
    st = msg ? MS_OK : ms__fail(MS_ENOMEM, "archive '%s': out of memory", it->path);
    goto out;
  }
  if (!st) it->outcome = id ? MS_SCAN_UPDATED : MS_SCAN_ADDED;
undo:
  st = ms__store_savepoint_end(s, st);
out:
  free(old_name);
  return st;
}

/* ---- the report ---------------------------------------------------------------- */

/* "name version", and a warning when the settings the files give put
 * min_workers above max_workers (reported, as TorchServe does, not refused). */
static int item_summary(const scan_state *x, const item *it, char *buf, size_t cap) {
  snprintf(buf, cap, "%s %s", item_name(it), item_version(it));
  if (!it->have_meta || (it->outcome != MS_SCAN_ADDED && it->outcome != MS_SCAN_UPDATED)) return MS_OK;
  ms__model_row row = {it->meta.manifest.name, it->meta.manifest.version, "", "", "", "", 0, 0, 0,
                       &it->meta.config, NULL};
  ms_model *m = NULL;
  int st = ms__registry_model_build(&row, x->r->global, &m);
  if (st) return st;
  char why[200];
  if (ms__registry_model_workers_problem(m, why, sizeof why)) {
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "; warning: %s (before runtime overrides)", why);
  }
  ms_model_free(m);
  return MS_OK;
}

/* Every item and skipped name in path order, then every vanished
 * registration. */
static int build_report(const scan_state *x, ms_scan_report **out) {
  ms_scan_report *rep = calloc(1, sizeof *rep);
  if (!rep) return ms__fail(MS_ENOMEM, "folder '%s': out of memory building the report", x->folder);
  char msg[1200];
  int st = MS_OK;
  size_t i = 0, k = 0;
  while (!st && (i < x->n_items || k < x->n_skips)) {
    if (k < x->n_skips && (i == x->n_items || strcmp(x->skips[k].path, x->items[i].path) < 0)) {
      st = ms__registry_report_add(rep, x->skips[k].path, MS_SCAN_SKIPPED, MS_OK, x->skips[k].reason);
      k++;
      continue;
    }
    const item *it = &x->items[i++];
    const char *m = it->message;
    if (!m) {
      if ((st = item_summary(x, it, msg, sizeof msg))) break;
      m = msg;
    }
    st = ms__registry_report_add(rep, it->path, it->outcome, it->status, m);
  }
  for (i = 0; i < x->n_rows && !st; i++) {
    if (x->rows[i].seen) continue;
    snprintf(msg, sizeof msg, "%s %s: archive is gone", x->rows[i].name, x->rows[i].version);
    st = ms__registry_report_add(rep, x->rows[i].path, MS_SCAN_MISSING, MS_OK, msg);
  }
  if (st) {
    ms_scan_report_free(rep);
    return ms__fail(MS_ENOMEM, "folder '%s': out of memory building the report", x->folder);
  }
  *out = rep;
  return MS_OK;
}

/* ---- the scan ---------------------------------------------------------------- */

static int write_changes(scan_state *x, ms_scan_report **rep) {
  ms_store *s = x->r->store;
  ms_store_txn *txn = NULL;
  int st = ms__store_txn_begin(s, 0, &txn);
  if (st) return st;
  for (size_t i = 0; i < x->n_items && !st; i++) {
    item *it = &x->items[i];
    if (it->touch_mark) st = ms__registry_touch_mark(x->r, it->path, &it->st);
    else if (it->have_meta && !it->decided) st = apply_item(x->r, it, x->rows, x->n_rows);
    else if (it->clear_mark) st = ms__registry_clear_mark(x->r, it->path);
  }
  for (size_t i = 0; i < x->n_rows && !st; i++) {
    if (x->rows[i].seen || x->rows[i].missing) continue;
    ms_stmt *q = ms__store_prepare(s, SQL_MARK_MISSING, &st);
    if (!q) break;
    ms__stmt_bind_int64(q, 1, x->rows[i].id);
    st = ms__stmt_done(s, q, "marking a vanished archive");
  }
  /* The report is built before the commit, so failing to build it
   * (MS_ENOMEM) rolls the scan back: a scan that fails changed nothing. */
  if (!st && rep) st = build_report(x, rep);
  if (st) {
    ms__store_txn_rollback(txn);
    return st;
  }
  return ms__store_txn_commit(txn);
}

static int scan(ms_registry *r, const char *model_store_dir, ms_scan_report **out) {
  if (!r || !model_store_dir) return ms__fail(MS_EINVAL, "NULL registry or model_store_dir");
  scan_state x;
  memset(&x, 0, sizeof x);
  x.r = r;
  if (!(x.folder = realpath(model_store_dir, NULL)))
    return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "folder '%s': %s", model_store_dir, strerror(errno));
  ms_scan_report *rep = NULL;
  int st = list_folder(&x);
  if (!st) st = load_known(&x);
  if (!st) st = add_unlisted(&x);
  if (st) goto done;

  int writes = 0;
  ms__read_limits lim = ms__registry_read_limits(r);
  for (size_t i = 0; i < x.n_items; i++) writes |= examine(&x.items[i], &x, &lim);
  writes |= resolve_conflicts(&x, &lim, &st);
  if (st) goto done;
  for (size_t i = 0; i < x.n_items && !writes; i++) writes = x.items[i].have_meta && !x.items[i].decided;
  for (size_t i = 0; i < x.n_rows; i++)
    if (!x.rows[i].seen && !x.rows[i].missing) writes = 1;

  if (writes) st = write_changes(&x, out ? &rep : NULL);
  else if (out) st = build_report(&x, &rep);
  if (!st && out) {
    *out = rep;
    rep = NULL;
  }
done:
  ms_scan_report_free(rep);
  free_state(&x);
  return st;
}

int ms_registry_scan(ms_registry *r, const char *model_store_dir, ms_scan_report **out) {
  int st = scan(r, model_store_dir, out);
  if (st && model_store_dir && strncmp(ms_errmsg(), "store '", 7) == 0) {
    char shown[4200];
    ms__errmsg_prefix("folder '%s'", ms__text_show(model_store_dir, shown, sizeof shown));
  }
  if (st) ms__errmsg_prefix("registry: ms_registry_scan");
  return st;
}
