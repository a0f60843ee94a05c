/* Model archives through libarchive's write API (see archive_write.h). */
#include "archive_write.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <mserve.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct aw_writer {
  struct archive *a;
  aw_format fmt;
  char *name; /* the archive, for messages */
  uint64_t bytes_in;
  int entries;
};

static char last_error[2048];

const char *aw_last_error(void) { return last_error; }

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}

static int open_common(struct archive *a, const char *shown, aw_format fmt, int level, aw_writer **out) {
  if (!a) return fail(MS_ENOMEM, "archive '%s': out of memory", shown);
  if (level < 0 || level > 9 || (level && fmt != AW_TGZ)) {
    archive_write_free(a);
    return fail(MS_EINVAL, "archive '%s': a gzip level is 1..9, for a tar.gz", shown);
  }
  int ok;
  if (fmt == AW_TGZ) {
    char v[4];
    snprintf(v, sizeof v, "%d", level);
    ok = archive_write_set_format_pax_restricted(a) == ARCHIVE_OK && archive_write_add_filter_gzip(a) == ARCHIVE_OK &&
         (!level || archive_write_set_filter_option(a, "gzip", "compression-level", v) == ARCHIVE_OK);
  } else {
    ok = archive_write_set_format_zip(a) == ARCHIVE_OK &&
         (fmt == AW_ZIP_STORE ? archive_write_zip_set_compression_store(a)
                              : archive_write_zip_set_compression_deflate(a)) == ARCHIVE_OK;
  }
  if (!ok) {
    int st = fail(MS_EINVAL, "archive '%s': %s", shown, archive_error_string(a));
    archive_write_free(a);
    return st;
  }
  aw_writer *w = calloc(1, sizeof *w);
  char *name = strdup(shown);
  if (!w || !name) {
    free(w);
    free(name);
    archive_write_free(a);
    return fail(MS_ENOMEM, "archive '%s': out of memory", shown);
  }
  w->a = a;
  w->fmt = fmt;
  w->name = name;
  *out = w;
  return MS_OK;
}

int aw_open(const char *path, aw_format fmt, int gzip_level, aw_writer **out) {
  if (!path || !out || (unsigned)fmt > AW_TGZ) return fail(MS_EINVAL, "aw_open: bad argument");
  struct archive *a = archive_write_new();
  aw_writer *w = NULL;
  int st = open_common(a, path, fmt, gzip_level, &w);
  if (st) return st;
  if (archive_write_open_filename(w->a, path) != ARCHIVE_OK) {
    st = fail(MS_EIO, "archive '%s': %s", path, archive_error_string(w->a));
    aw_abort(w);
    return st;
  }
  *out = w;
  return MS_OK;
}

int aw_open_fd(int fd, const char *shown_name, aw_format fmt, int gzip_level, aw_writer **out) {
  if (fd < 0 || !out || (unsigned)fmt > AW_TGZ) return fail(MS_EINVAL, "aw_open_fd: bad argument");
  const char *shown = shown_name ? shown_name : "(fd)";
  struct archive *a = archive_write_new();
  aw_writer *w = NULL;
  int st = open_common(a, shown, fmt, gzip_level, &w);
  if (st) return st;
  if (archive_write_open_fd(w->a, fd) != ARCHIVE_OK) {
    st = fail(MS_EIO, "archive '%s': %s", shown, archive_error_string(w->a));
    aw_abort(w);
    return st;
  }
  *out = w;
  return MS_OK;
}

int aw_set_store(aw_writer *w, int store) {
  if (!w || w->fmt == AW_TGZ) return fail(MS_EINVAL, "archive '%s': store/deflate is a zip setting", w ? w->name : "?");
  int r = store ? archive_write_zip_set_compression_store(w->a) : archive_write_zip_set_compression_deflate(w->a);
  if (r != ARCHIVE_OK) return fail(MS_EINVAL, "archive '%s': %s", w->name, archive_error_string(w->a));
  return MS_OK;
}

static struct archive_entry *header(const aw_entry *e, int64_t size) {
  struct archive_entry *ae = archive_entry_new();
  if (!ae) return NULL;
  archive_entry_set_pathname(ae, e->name);
  archive_entry_set_mtime(ae, (time_t)e->mtime, 0);
  unsigned mode = e->mode;
  switch (e->kind) {
    case AW_FILE:
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_size(ae, (la_int64_t)size);
      break;
    case AW_DIR:
      archive_entry_set_filetype(ae, AE_IFDIR);
      if (!mode) mode = 0755;
      break;
    case AW_SYMLINK:
      archive_entry_set_filetype(ae, AE_IFLNK);
      archive_entry_set_symlink(ae, e->target);
      if (!mode) mode = 0777;
      break;
    case AW_HARDLINK:
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_hardlink(ae, e->target);
      archive_entry_set_size(ae, 0);
      break;
    case AW_CHR:
      archive_entry_set_filetype(ae, AE_IFCHR);
      archive_entry_set_rdev(ae, (dev_t)e->rdev);
      break;
    case AW_BLK:
      archive_entry_set_filetype(ae, AE_IFBLK);
      archive_entry_set_rdev(ae, (dev_t)e->rdev);
      break;
    case AW_FIFO: archive_entry_set_filetype(ae, AE_IFIFO); break;
  }
  archive_entry_set_perm(ae, mode ? mode : 0644);
  return ae;
}

static int write_header(aw_writer *w, const aw_entry *e, int64_t size) {
  if (!e->name || !*e->name) return fail(MS_EINVAL, "archive '%s': an entry without a name", w->name);
  struct archive_entry *ae = header(e, size);
  if (!ae) return fail(MS_ENOMEM, "archive '%s': out of memory", w->name);
  int r = archive_write_header(w->a, ae);
  archive_entry_free(ae);
  w->entries++;
  if (r < ARCHIVE_WARN) return fail(MS_EIO, "archive '%s': entry '%s': %s", w->name, e->name, archive_error_string(w->a));
  return MS_OK;
}

static int write_data(aw_writer *w, const char *entry, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    la_ssize_t n = archive_write_data(w->a, p, len);
    if (n <= 0) return fail(MS_EIO, "archive '%s': entry '%s': %s", w->name, entry, archive_error_string(w->a));
    p += n;
    len -= (size_t)n;
    w->bytes_in += (uint64_t)n;
  }
  return MS_OK;
}

int aw_add(aw_writer *w, const aw_entry *e, const void *data, size_t len) {
  if (!w || !e) return fail(MS_EINVAL, "aw_add: bad argument");
  if (e->kind != AW_FILE) len = 0;
  int st = write_header(w, e, (int64_t)len);
  if (!st && len) st = write_data(w, e->name, data, len);
  return st;
}

int aw_add_file(aw_writer *w, const char *name, const char *disk_path, int64_t mtime) {
  if (!w || !name || !disk_path) return fail(MS_EINVAL, "aw_add_file: bad argument");
  int fd = open(disk_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail(MS_EIO, "'%s': %s", disk_path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return fail(MS_EIO, "'%s': not a regular file", disk_path);
  }
  aw_entry e = {name, AW_FILE, 0644, mtime >= 0 ? mtime : (int64_t)sb.st_mtime, NULL, 0};
  int st = write_header(w, &e, (int64_t)sb.st_size);
  static char buf[1 << 16];
  int64_t left = (int64_t)sb.st_size;
  while (!st && left > 0) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      st = fail(MS_EIO, "'%s': read failed (%s)", disk_path, r < 0 ? strerror(errno) : "the file shrank");
      break;
    }
    if (r > left) r = (ssize_t)left; /* a file that grew: the header said this much */
    st = write_data(w, name, buf, (size_t)r);
    left -= r;
  }
  close(fd);
  return st;
}

int aw_add_filler(aw_writer *w, const char *name, uint64_t size, int noise, uint32_t seed, int64_t mtime) {
  if (!w || !name) return fail(MS_EINVAL, "aw_add_filler: bad argument");
  aw_entry e = {name, AW_FILE, 0644, mtime, NULL, 0};
  int st = write_header(w, &e, (int64_t)size);
  char chunk[8192];
  memset(chunk, 'A', sizeof chunk);
  uint32_t x = seed ? seed : 2463534242u;
  while (!st && size) {
    size_t k = size < sizeof chunk ? (size_t)size : sizeof chunk;
    for (size_t j = 0; noise && j < k; j++) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      chunk[j] = (char)(x >> 24);
    }
    st = write_data(w, name, chunk, k);
    size -= k;
  }
  return st;
}

uint64_t aw_bytes_in(const aw_writer *w) { return w ? w->bytes_in : 0; }

int aw_close(aw_writer *w) {
  if (!w) return fail(MS_EINVAL, "aw_close: no writer");
  int st = MS_OK;
  if (archive_write_close(w->a) != ARCHIVE_OK)
    st = fail(MS_EIO, "archive '%s': %s", w->name, archive_error_string(w->a));
  archive_write_free(w->a);
  free(w->name);
  free(w);
  return st;
}

void aw_abort(aw_writer *w) {
  if (!w) return;
  archive_write_fail(w->a);
  archive_write_free(w->a);
  free(w->name);
  free(w);
}
