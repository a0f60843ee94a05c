/* Reading an archive's metadata, whatever its format: the format from the
 * name, the stat identity, and the entry points that open the file (a
 * regular file only) and hand it to the zip, tar.gz or folder reader. */
#include "registry/archive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "registry/dir.h"
#include "mserve/common.h"
#include "mserve/registry.h"
#include "registry/tsan_serial.h"
#include "registry/zip.h"

#ifdef MS__UNDER_TSAN
pthread_mutex_t ms__registry_tsan_mu = PTHREAD_MUTEX_INITIALIZER;
#endif

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

int ms__registry_archive_format_of(const char *path, int is_dir) {
  if (is_dir) return MS__FMT_DIR;
  if (ends_with(path, ".mar") || ends_with(path, ".zip")) return MS__FMT_ZIP;
  if (ends_with(path, ".tar.gz") || ends_with(path, ".tgz")) return MS__FMT_TGZ;
  return ms__fail(MS_EUNSUPPORTED, "archive '%s': not a .mar, .zip, .tar.gz, .tgz or folder", path), -1;
}

int ms__registry_archive_stat(const char *path, int format, ms__stat *out) {
  (void)format; /* a folder's own stat: the scan re-reads folders anyway */
  struct stat st;
  if (stat(path, &st) != 0)
    return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", path, strerror(errno));
  out->size = (int64_t)st.st_size;
  out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + (int64_t)st.st_mtim.tv_nsec;
  out->ino = (int64_t)st.st_ino;
  out->dev = (int64_t)st.st_dev;
  return MS_OK;
}

/* ---- entry points -------------------------------------------------------- */

int ms__registry_archive_read_source(const ms__source *s, int format, const ms__read_limits *lim,
                                     ms__archive_meta *out) {
  static const ms__read_limits defaults = {MS_REGISTRY_DEFAULT_MAX_BYTES, MS_REGISTRY_DEFAULT_MAX_RATIO};
  MS__ARCHIVE_SERIAL_BEGIN();
  int st = format == MS__FMT_ZIP ? ms__registry_zip_read(s, out) : ms__registry_tgz_read(s, lim ? lim : &defaults, out);
  MS__ARCHIVE_SERIAL_END();
  return st;
}

int ms__registry_archive_read_path(const char *path, int format, ms__archive_meta *out) {
  return ms__registry_archive_read_path_limited(path, format, NULL, out);
}

int ms__registry_archive_read_path_limited(const char *path, int format, const ms__read_limits *lim,
                                           ms__archive_meta *out) {
  if (!path || !out) return ms__fail(MS_EINVAL, "archive: NULL argument");
  if (format == MS__FMT_DIR) return ms__registry_dir_read(path, out);
  int fd = -1;
  struct stat sb;
  int err = ms__fs_open_regular(path, &fd, &sb);
  if (err == MS__FS_NOT_REGULAR)
    return ms__fail(MS_EUNSUPPORTED, "archive '%s': not a regular file (%s)", path, ms__fs_kind((unsigned)sb.st_mode));
  if (err) return ms__fail(err == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", path, strerror(err));
  ms__source s = {path, path, fd, NULL, (int64_t)sb.st_size};
  int st = ms__registry_archive_read_source(&s, format, lim, out);
  close(fd);
  return st;
}

int ms__registry_archive_read_manifest_from_memory(const void *buf, size_t len, const char *origin,
                                                   ms__archive_meta *out) {
  if ((!buf && len) || !origin || !out) return ms__fail(MS_EINVAL, "archive: NULL argument");
  const unsigned char *p = buf;
  int format;
  if (len >= 4 && p[0] == 'P' && p[1] == 'K') format = MS__FMT_ZIP;
  else if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b) format = MS__FMT_TGZ;
  else return ms__fail(MS_ECORRUPT, "archive '%s': neither a zip nor a gzip file (bad magic bytes)", origin);
  ms__source s = {origin, NULL, -1, p, (int64_t)len};
  return ms__registry_archive_read_source(&s, format, NULL, out);
}
