/* Small file-system utilities (see fsutil.h). */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

int ms__fs_open_regular(const char *path, int *fd, struct stat *sb) {
  int d = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (d < 0) return errno ? errno : EIO;
  if (fstat(d, sb) != 0) {
    int e = errno ? errno : EIO;
    close(d);
    return e;
  }
  if (!S_ISREG(sb->st_mode)) {
    close(d);
    return MS__FS_NOT_REGULAR;
  }
  /* Regular files ignore O_NONBLOCK; clear it all the same, so nothing
   * downstream (fdopen, libarchive) ever sees EAGAIN. */
  int fl = fcntl(d, F_GETFL);
  if (fl < 0 || ((fl & O_NONBLOCK) && fcntl(d, F_SETFL, fl & ~O_NONBLOCK) != 0)) {
    int e = errno ? errno : EIO;
    close(d);
    return e;
  }
  *fd = d;
  return 0;
}

const char *ms__fs_kind(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFIFO: return "a FIFO";
    case S_IFDIR: return "a folder";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    case S_IFREG: return "a regular file";
    default: return "a special file";
  }
}

int ms__fs_read_fd(int fd, size_t cap, char **out, size_t *len) {
  size_t size = 0, alloc = 4096;
  char *buf = malloc(alloc + 1);
  if (!buf) return ENOMEM;
  for (;;) {
    if (size == alloc) {
      if (alloc > cap) {
        free(buf);
        return EFBIG;
      }
      char *g = realloc(buf, alloc * 2 + 1);
      if (!g) {
        free(buf);
        return ENOMEM;
      }
      buf = g;
      alloc *= 2;
    }
    ssize_t r = read(fd, buf + size, alloc - size);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno ? errno : EIO;
      free(buf);
      return e;
    }
    if (r == 0) break;
    size += (size_t)r;
  }
  if (size > cap) {
    free(buf);
    return EFBIG;
  }
  buf[size] = '\0';
  *out = buf;
  *len = size;
  return 0;
}

int ms__fs_read_all(const char *path, size_t cap, const char *what, char **out, size_t *len) {
  int fd = -1;
  struct stat sb;
  int err = ms__fs_open_regular(path, &fd, &sb);
  if (err == MS__FS_NOT_REGULAR)
    return ms__fail(MS_EIO, "%s '%s': %s", what, path,
                    S_ISDIR(sb.st_mode) ? "is a folder, not a file"
                                        : "is not a regular file (a FIFO, socket or device)");
  if (err) return ms__fail(err == ENOENT ? MS_ENOTFOUND : MS_EIO, "%s '%s': %s", what, path, strerror(err));
  err = ms__fs_read_fd(fd, cap, out, len);
  close(fd);
  if (err == EFBIG) return ms__fail(MS_ECORRUPT, "%s '%s': larger than %zu bytes", what, path, cap);
  if (err == ENOMEM) return ms__fail(MS_ENOMEM, "%s '%s': out of memory", what, path);
  if (err) return ms__fail(MS_EIO, "%s '%s': read failed: %s", what, path, strerror(err));
  return MS_OK;
}

char *ms__fs_parent_dir(const char *abs_path) {
  const char *slash = strrchr(abs_path, '/');
  size_t n = slash ? (size_t)(slash - abs_path) : 0;
  if (n == 0) n = slash ? 1 : 0; /* "/x" -> "/" */
  char *p = malloc(n + 1);
  if (!p) {
    ms__fail(MS_ENOMEM, "'%s': out of memory", abs_path);
    return NULL;
  }
  memcpy(p, abs_path, n);
  p[n] = '\0';
  return p;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(p);
  return 0;
}

void ms__fs_rmtree(const char *path) {
  if (path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
