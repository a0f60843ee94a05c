/* Extracting an archive once into <root>/<content-hash>/.
 *
 * Safety: every entry is checked before anything is written for it —
 * absolute paths, ".." components, symbolic and hard links, and anything but
 * regular files and folders are refused — and files are created with
 * openat() relative to a fresh temporary folder, one component at a time
 * with O_NOFOLLOW and O_EXCL, so nothing can land outside it. Entry count,
 * total bytes and the ratio of total bytes to the archive's size are
 * counted as data is written (declared sizes can lie).
 *
 * A component longer than NAME_MAX (255 bytes), which no usual filesystem
 * can create, is refused the same way (MS_EUNSAFE, a bad archive), not left
 * to fail as an OS error.
 *
 * Identity and integrity: the archive is opened once and everything reads
 * that open file, so a file renamed over it meanwhile cannot slip in. A
 * zip's content hash (central directory + manifest + config) is checked
 * before extracting and again after, and every entry's data are checked
 * against their CRC-32 as they are written (libarchive only warns about a
 * bad CRC; a warning is a failure here), so a zip changed in place after
 * registration (same size, same central directory, other bytes) is never
 * extracted under the old hash. A tar.gz's hash (every byte) is computed
 * while extracting, in the same pass, with every tar header's checksum and
 * the gzip trailer (CRC-32 and length) checked; any mismatch discards the
 * result.
 *
 * Publication: everything is extracted into a temporary folder
 * <root>/.tmp-<hash prefix>-XXXXXX, locked (flock) for as long as its
 * extraction runs. Only when every entry was written and verified are the
 * files flushed to disk, the folder renamed to its hash and the rename
 * flushed, so a folder that exists under its hash is complete and verified
 * even after a crash or power loss (it is reused without being checked
 * again); a crash mid-extraction leaves only a temporary folder, never
 * taken for the model. The next extraction under the same root removes
 * temporary folders whose lock nobody holds (their process is gone);
 * anything else there is left alone. Losing a rename race to another
 * process is success (its folder is used) and ours is removed. */
#define _GNU_SOURCE /* syncfs */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/archive.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/text.h"
#include "registry/entry.h"
#include "registry/handle.h"
#include "registry/model.h"
#include "registry/source.h"
#include "registry/tgz.h"
#include "registry/tsan_serial.h"

#define MAX_COMPONENTS 128
#ifndef NAME_MAX
#define NAME_MAX 255
#endif

typedef struct limits {
  int64_t entries, bytes, ratio, archive_size;
} limits;

typedef struct xstate {
  const char *origin;
  int dfd;       /* the temporary folder */
  int format;
  const ms__reader *rd;
  char last[512]; /* the last entry read, for a damaged header after it */
  char *top;     /* tar.gz top folder to strip, or NULL */
  int top_known;
  int64_t n_entries, total;
  limits lim;
} xstate;

/* Split `name` into safe components (into buf, NUL-separated). Returns the
 * count, or -1 with MS_EUNSAFE set. */
static int split_safe(const xstate *x, const char *name, char *buf, size_t cap, const char **comp) {
  if (name[0] == '/')
    return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' has an absolute path", x->origin, name), -1;
  if (strlen(name) >= cap)
    return ms__fail(MS_EUNSAFE, "archive '%s': entry name longer than %zu bytes", x->origin, cap - 1), -1;
  memcpy(buf, name, strlen(name) + 1);
  int n = 0;
  char *save = NULL;
  for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (strcmp(c, ".") == 0) continue;
    if (strcmp(c, "..") == 0)
      return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' escapes the extraction root ('..')", x->origin, name), -1;
    if (n == MAX_COMPONENTS)
      return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' is nested deeper than %d", x->origin, name,
                      MAX_COMPONENTS), -1;
    if (strlen(c) > NAME_MAX)
      return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' has a name component of %zu bytes (at most %d)",
                      x->origin, name, strlen(c), NAME_MAX), -1;
    comp[n++] = c;
  }
  return n;
}

/* Open (creating) the folder comp[0..n) under dfd into *out. A component
 * that exists as something else than a folder is refused (O_NOFOLLOW). */
static int open_dirs(const xstate *x, const char *name, const char **comp, int n, int *out) {
  int cur = dup(x->dfd);
  if (cur < 0) return ms__fail(MS_EIO, "archive '%s': %s", x->origin, strerror(errno));
  for (int i = 0; i < n; i++) {
    if (mkdirat(cur, comp[i], 0755) != 0 && errno != EEXIST) {
      int err = errno;
      close(cur);
      return ms__fail(err == ENAMETOOLONG ? MS_EUNSAFE : MS_EIO, "archive '%s': entry '%s': cannot create folder: %s",
                      x->origin, name, strerror(err));
    }
    int next = openat(cur, comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(cur);
    if (next < 0)
      return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s': '%s' is not a folder", x->origin, name, comp[i]);
    cur = next;
  }
  *out = cur;
  return MS_OK;
}

static int check_size(const xstate *x, const char *name) {
  if (x->total > x->lim.bytes)
    return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' takes the total size past the limit of %lld bytes",
                    x->origin, name, (long long)x->lim.bytes);
  int64_t base = x->lim.archive_size > 0 ? x->lim.archive_size : 1;
  if (x->total / base >= x->lim.ratio && x->total > base * x->lim.ratio)
    return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' takes the compression ratio past the limit of %lld",
                    x->origin, name, (long long)x->lim.ratio);
  return MS_OK;
}

static int write_file(struct archive *a, xstate *x, const char *name, int dirfd, const char *leaf) {
  int fd = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return ms__fail(errno == EEXIST ? MS_ECORRUPT : errno == ENAMETOOLONG ? MS_EUNSAFE : MS_EIO,
                    "archive '%s': entry '%s': %s", x->origin, name,
                    errno == EEXIST ? "duplicate entry" : strerror(errno));
  int st = MS_OK;
  for (;;) {
    const void *buf;
    size_t size;
    la_int64_t off;
    int r = archive_read_data_block(a, &buf, &size, &off);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      /* A warning too: libarchive reports data failing their CRC-32 as one. */
      st = ms__registry_archive_failure(a, x->rd, r, x->format, x->origin, name, 1);
      break;
    }
    x->total += (int64_t)size;
    if ((st = check_size(x, name))) break;
    const char *p = buf;
    while (size) {
      ssize_t w = pwrite(fd, p, size, (off_t)off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        st = ms__fail(MS_EIO, "archive '%s': entry '%s': write failed: %s", x->origin, name, strerror(errno));
        break;
      }
      p += w;
      size -= (size_t)w;
      off += w;
    }
    if (st) break;
  }
  if (close(fd) != 0 && !st) st = ms__fail(MS_EIO, "archive '%s': entry '%s': %s", x->origin, name, strerror(errno));
  return st;
}

static int extract_entry(struct archive *a, struct archive_entry *e, xstate *x) {
  const char *name = archive_entry_pathname(e);
  if (!name || !*name) return ms__fail(MS_ECORRUPT, "archive '%s': entry without a name", x->origin);
  ms__strlcpy(x->last, name, sizeof x->last);
  if (++x->n_entries > x->lim.entries)
    return ms__fail(MS_EUNSAFE, "archive '%s': more than %lld entries", x->origin, (long long)x->lim.entries);
  if (archive_entry_hardlink(e))
    return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' is a hard link", x->origin, name);
  unsigned type = (unsigned)archive_entry_filetype(e);
  if (type == AE_IFLNK || archive_entry_symlink(e))
    return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' is a symbolic link", x->origin, name);
  if (type != AE_IFREG && type != AE_IFDIR)
    return ms__fail(MS_EUNSAFE, "archive '%s': entry '%s' is a device, fifo or socket", x->origin, name);
  char buf[4096];
  const char *comp[MAX_COMPONENTS];
  int n = split_safe(x, name, buf, sizeof buf, comp);
  if (n < 0) return MS_EUNSAFE;
  if (x->format == MS__FMT_TGZ && n > 0) {
    /* A tar.gz keeps its files under one top folder: strip it. */
    if (!x->top_known) {
      x->top_known = 1;
      if ((n > 1 || type == AE_IFDIR) && strcmp(comp[0], "MAR-INF") != 0 && !(x->top = ms__strdup(comp[0])))
        return MS_ENOMEM;
    }
    if (x->top) {
      if (strcmp(comp[0], x->top) != 0)
        return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s' is outside the top folder '%s/'", x->origin, name,
                        x->top);
      memmove(comp, comp + 1, (size_t)(n - 1) * sizeof *comp);
      n--;
    }
  }
  if (n == 0) return MS_OK; /* the root itself */
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > x->lim.bytes - x->total)
    return ms__fail(MS_EUNSAFE,
                    "archive '%s': entry '%s' declares %lld bytes: the total size passes the limit of %lld bytes",
                    x->origin, name, (long long)archive_entry_size(e), (long long)x->lim.bytes);
  int parent = -1;
  int st = open_dirs(x, name, comp, type == AE_IFDIR ? n : n - 1, &parent);
  if (st) return st;
  st = type == AE_IFDIR ? MS_OK : write_file(a, x, name, parent, comp[n - 1]);
  close(parent);
  return st;
}

/* Flush everything written under the folder dfd, data and folders alike:
 * one syncfs() of its filesystem (one call however many files the archive
 * has, where an fsync per file and per folder would be thousands). Other
 * systems fall back to sync(). */
static int flush_tree(int dfd, const char *what) {
#ifdef __linux__
  if (syncfs(dfd) != 0) return ms__fail(MS_EIO, "folder '%s': flushing to disk: %s", what, strerror(errno));
#else
  (void)dfd;
  (void)what;
  sync();
#endif
  return MS_OK;
}

/* The content hash of a zip, read again from the open file. */
static int zip_hash_matches(const ms_model *m, const ms__source *src, const char *when) {
  ms__archive_meta meta;
  int st = ms__registry_archive_read_source(src, MS__FMT_ZIP, NULL, &meta);
  if (st) return st;
  if (strcmp(meta.hash, m->hash) != 0)
    st = ms__fail(MS_ECORRUPT, "archive '%s': content changed %s; scan or register it again", m->path, when);
  ms__registry_archive_meta_free(&meta);
  return st;
}

/* The decompressed tar stream may exceed the entries' bytes by their
 * headers and padding; beyond that it is bounded like them. */
static int64_t stream_cap(const limits *l) {
  int64_t per_entry = 8192, slack = MS__TGZ_STREAM_SLACK;
  int64_t extra = l->entries > (INT64_MAX - slack) / per_entry ? INT64_MAX : l->entries * per_entry + slack;
  return l->bytes > INT64_MAX - extra ? INT64_MAX : l->bytes + extra;
}

static int extract(ms_registry *r, const ms_model *m, const ms__source *src, int dfd) {
  xstate x;
  memset(&x, 0, sizeof x);
  x.origin = m->path;
  x.format = m->format;
  x.lim.entries = atomic_load(&r->max_entries);
  x.lim.bytes = atomic_load(&r->max_bytes);
  x.lim.ratio = atomic_load(&r->max_ratio);
  x.lim.archive_size = src->size;
  x.dfd = dfd;
  /* A tar.gz is hashed as it is decompressed (no seeking then). */
  ms__sha256 h;
  if (m->format == MS__FMT_TGZ) ms__registry_tgz_hash_init(&h);
  ms__reader rd;
  memset(&rd, 0, sizeof rd);
  x.rd = &rd;
  struct archive *a = archive_read_new();
  int st = MS_OK;
  if (!a) st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", m->path);
  if (!st) {
    int rc;
    if (m->format == MS__FMT_ZIP) {
      archive_read_support_format_zip_seekable(a);
      rc = ms__registry_reader_open(a, &rd, src, NULL);
    } else {
      archive_read_support_format_tar(a);
      rc = ms__registry_reader_open_gz(a, &rd, src, &h, stream_cap(&x.lim), x.lim.ratio);
    }
    if (rc != ARCHIVE_OK)
      st = rd.status ? rd.status
                     : ms__fail(MS_ECORRUPT, "archive '%s': %s", m->path,
                                archive_error_string(a) ? archive_error_string(a) : "unreadable");
  }
  struct archive_entry *e;
  int rc = ARCHIVE_EOF;
  while (!st && ms__registry_archive_header_ok(a, rc = archive_read_next_header(a, &e))) st = extract_entry(a, e, &x);
  if (!st && rc != ARCHIVE_EOF)
    st = ms__registry_archive_failure(a, &rd, rc, m->format, m->path,
                                      rc == ARCHIVE_WARN ? archive_entry_pathname(e)
                                      : x.last[0]        ? x.last
                                                         : NULL,
                                      0);
  if (!st && m->format == MS__FMT_TGZ && !(st = ms__registry_reader_finish_gz(&rd)))
    st = ms__registry_reader_drain(&rd);
  if (!st && m->format == MS__FMT_TGZ) {
    char hex[65];
    ms__sha256_final_hex(&h, hex);
    if (strcmp(hex, m->hash) != 0)
      st = ms__fail(MS_ECORRUPT, "archive '%s': content changed since it was registered; scan or register it again",
                    m->path);
  }
  if (a) archive_read_free(a);
  ms__registry_reader_free(&rd);
  free(x.top);
  return st;
}

/* Open the archive once (a regular file only: never wait on a FIFO); for a
 * zip, check its content hash on that open file (a tar.gz is checked while
 * extracting). */
static int open_checked(const ms_model *m, ms__source *src) {
  int fd = -1;
  struct stat sb;
  int err = ms__fs_open_regular(m->path, &fd, &sb);
  if (err == MS__FS_NOT_REGULAR)
    return ms__fail(MS_EIO, "archive '%s': not a regular file (%s)", m->path, ms__fs_kind((unsigned)sb.st_mode));
  if (err) return ms__fail(err == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", m->path, strerror(err));
  ms__source s = {m->path, m->path, fd, NULL, (int64_t)sb.st_size};
  *src = s;
  if (m->format != MS__FMT_ZIP) return MS_OK;
  int st = zip_hash_matches(m, src, "since it was registered");
  if (st) close(fd);
  return st;
}

/* One of our temporary folders: ".tmp-" + 16 hex digits + "-" + the 6
 * letters and digits of mkdtemp. */
static int is_temp_name(const char *n) {
  if (strncmp(n, ".tmp-", 5) != 0) return 0;
  n += 5;
  for (int i = 0; i < 16; i++)
    if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f'))) return 0;
  if (n[16] != '-') return 0;
  for (int i = 17; i < 23; i++)
    if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z'))) return 0;
  return n[23] == '\0';
}

/* Remove the temporary folders under root left by extractions that did
 * not finish: a folder of ours whose lock nobody holds belongs to a process
 * that is gone (the kernel drops a lock with its last descriptor). Links,
 * files and other names are left alone; a folder is only ever removed
 * while we hold its lock, and never by following a link. Best effort. */
static void clean_stale(const char *root) {
  DIR *d = opendir(root);
  if (!d) return;
  int rfd = dirfd(d);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!is_temp_name(de->d_name)) continue;
    int fd = openat(rfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      size_t n = strlen(root) + strlen(de->d_name) + 2;
      char *p = malloc(n);
      if (p) {
        snprintf(p, n, "%s/%s", root, de->d_name);
        ms__fs_rmtree(p);
        ms__log(MS_LOG_INFO,
                "registry: ms_registry_materialize: removed '%s', left by an extraction that did not finish", p);
        free(p);
      }
    }
    close(fd);
  }
  closedir(d);
}

/* Create and lock our temporary folder under root: *out_fd is the folder,
 * locked until it is closed. A cleaner may take a folder in the instant
 * between mkdtemp and flock; then ours is gone (or going) and we start
 * over with a new name. */
static int make_temp(const char *root, const char *hash, char **out_path, int *out_fd) {
  size_t tlen = strlen(root) + 64;
  for (int attempt = 0; attempt < 16; attempt++) {
    char *tmp = malloc(tlen);
    if (!tmp) return ms__fail(MS_ENOMEM, "root '%s': out of memory", root);
    snprintf(tmp, tlen, "%s/.tmp-%.16s-XXXXXX", root, hash);
    if (!mkdtemp(tmp)) {
      int err = errno;
      free(tmp);
      return ms__fail(MS_EIO, "root '%s': cannot create a folder in it: %s", root, strerror(err));
    }
    int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      free(tmp);
      if (err == ENOENT) continue; /* a cleaner took it already */
      return ms__fail(MS_EIO, "root '%s': cannot open a folder in it: %s", root, strerror(err));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) { /* a cleaner holds it */
      close(fd);
      free(tmp);
      continue;
    }
    /* Locked (or locks are not supported here: then no cleaner can lock
     * it either). Still ours, under its name? */
    struct stat a, b;
    if (fstat(fd, &a) == 0 && lstat(tmp, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_nlink > 0) {
      *out_path = tmp;
      *out_fd = fd;
      return MS_OK;
    }
    close(fd);
    free(tmp);
  }
  return ms__fail(MS_EIO, "root '%s': cannot keep a temporary folder in it (removed as soon as created)", root);
}

/* Make the rename durable: flush the folder that holds the new entry. */
static void flush_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  if (fsync(fd) != 0)
    ms__log(MS_LOG_WARN, "registry: ms_registry_materialize: flushing '%s': %s", dir, strerror(errno));
  close(fd);
}

static int materialize(ms_registry *r, const ms_model *m, const char *root_dir, char *path, size_t path_len) {
  if (!r || !m || !root_dir || !*root_dir || !path)
    return ms__fail(MS_EINVAL, "NULL registry, model, root_dir or path");
  if (m->format == MS__FMT_DIR) {
    /* A folder model is used where it is. */
    if (strlen(m->path) + 1 > path_len)
      return ms__fail(MS_EINVAL, "model '%s' version '%s': path buffer of %zu bytes is too small for '%s' (%zu needed)",
                      m->name, m->version, path_len, m->path, strlen(m->path) + 1);
    ms__strlcpy(path, m->path, path_len);
    return MS_OK;
  }
  size_t need = strlen(root_dir) + 1 + strlen(m->hash) + 1;
  if (need > path_len)
    return ms__fail(MS_EINVAL, "model '%s' version '%s': path buffer of %zu bytes is too small (%zu needed)", m->name,
                    m->version, path_len, need);
  if (strlen(m->hash) != 64 || strspn(m->hash, "0123456789abcdef") != 64)
    return ms__fail(MS_EINVAL, "model '%s' version '%s': no content hash", m->name, m->version);
  char *target = malloc(need);
  if (!target) return ms__fail(MS_ENOMEM, "root '%s': out of memory", root_dir);
  snprintf(target, need, "%s/%s", root_dir, m->hash);
  int st = MS_OK;
  struct stat sb;
  if (mkdir(root_dir, 0755) != 0 && errno != EEXIST)
    st = ms__fail(MS_EIO, "root '%s': cannot create it: %s", root_dir, strerror(errno));
  else if (stat(root_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    st = ms__fail(MS_EIO, "root '%s': not a folder", root_dir);
  if (!st && lstat(target, &sb) == 0 && S_ISDIR(sb.st_mode)) goto found; /* extracted before */
  if (st) goto done;

  ms__source src;
  if ((st = open_checked(m, &src))) goto done;
  clean_stale(root_dir);
  char *tmp = NULL;
  int tfd = -1;
  if ((st = make_temp(root_dir, m->hash, &tmp, &tfd))) {
    close(src.fd);
    goto done;
  }
  MS__ARCHIVE_SERIAL_BEGIN();
  st = extract(r, m, &src, tfd);
  MS__ARCHIVE_SERIAL_END();
  /* A zip's directory was checked before; check it again now that every
   * entry was read against it, so what was extracted is what was hashed. */
  if (!st && m->format == MS__FMT_ZIP) st = zip_hash_matches(m, &src, "while it was being extracted");
  if (!st) st = flush_tree(tfd, tmp);
  close(src.fd);
  if (st) {
    ms__fs_rmtree(tmp); /* still locked: no cleaner touches it meanwhile */
    close(tfd);
    free(tmp);
    goto done;
  }
  /* Published only now, complete and verified. */
  if (rename(tmp, target) != 0) {
    int err = errno;
    ms__fs_rmtree(tmp);
    if (!((err == EEXIST || err == ENOTEMPTY) && lstat(target, &sb) == 0 && S_ISDIR(sb.st_mode)))
      st = ms__fail(MS_EIO, "folder '%s': cannot rename the extraction into place: %s", target, strerror(err));
  } else {
    flush_dir(root_dir);
  }
  close(tfd);
  free(tmp);
  if (st) goto done;
found:
  ms__strlcpy(path, target, path_len);
done:
  free(target);
  return st;
}

int ms_registry_materialize(ms_registry *r, const ms_model *m, const char *root_dir, char *path, size_t path_len) {
  int st = materialize(r, m, root_dir, path, path_len);
  if (st) ms__errmsg_prefix("registry: ms_registry_materialize");
  return st;
}
