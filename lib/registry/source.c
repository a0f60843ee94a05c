/* An archive's bytes: positioned reads, and the libarchive client reader
 * that can hash what it hands out (see source.h). */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "mserve/common.h"

/* A hashing reader streams the whole file: large chunks, few calls, still
 * small enough to stay in the CPU cache while hashed and decompressed. A
 * seeking reader (zip metadata) reads headers scattered over the file: small
 * chunks, so a cold read of a local header does not pull in payload. */
#define STREAM_CHUNK ((size_t)1 << 18)
#define SEEK_CHUNK ((size_t)1 << 14)

int ms__source_pread(const ms__source *s, void *buf, size_t n, int64_t off) {
  if (off < 0 || (int64_t)n > s->size - off)
    return ms__fail(MS_ECORRUPT, "archive '%s': truncated (read of %zu bytes at %lld past the end)", s->origin,
                    n, (long long)off);
  if (!s->path) {
    memcpy(buf, s->mem + off, n);
    return MS_OK;
  }
  unsigned char *p = buf;
  while (n) {
    ssize_t r = pread(s->fd, p, n, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ms__fail(MS_EIO, "archive '%s': read failed: %s", s->origin, strerror(errno));
    if (r == 0) return ms__fail(MS_ECORRUPT, "archive '%s': truncated while reading", s->origin);
    p += r;
    n -= (size_t)r;
    off += r;
  }
  return MS_OK;
}

/* The next chunk from r->pos: a pointer into memory, or into r->buf. The
 * size is fixed when the source is opened, so a file that grows meanwhile
 * is read as it was; one that shrinks reads as truncated. */
static la_ssize_t next_chunk(ms__reader *r, const void **out) {
  int64_t left = r->s->size - r->pos;
  if (left <= 0) return 0;
  size_t n = left > (int64_t)r->cap ? r->cap : (size_t)left;
  if (!r->s->path) {
    *out = r->s->mem + r->pos;
  } else {
    int st = ms__source_pread(r->s, r->buf, n, r->pos);
    if (st) {
      r->status = st;
      return -1;
    }
    *out = r->buf;
  }
  if (r->h) ms__sha256_update(r->h, *out, n);
  r->pos += (int64_t)n;
  return (la_ssize_t)n;
}

static la_ssize_t cb_read(struct archive *a, void *ud, const void **buf) {
  ms__reader *r = ud;
  la_ssize_t n = next_chunk(r, buf);
  if (n < 0) archive_set_error(a, EIO, "%s", ms_errmsg());
  return n;
}

static la_int64_t cb_skip(struct archive *a, void *ud, la_int64_t request) {
  (void)a;
  ms__reader *r = ud;
  int64_t left = r->s->size - r->pos;
  la_int64_t n = request < left ? request : left;
  if (n < 0) n = 0;
  r->pos += n;
  return n;
}

static la_int64_t cb_seek(struct archive *a, void *ud, la_int64_t offset, int whence) {
  ms__reader *r = ud;
  int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->pos : r->s->size;
  int64_t to = base + offset;
  if (to < 0 || to > r->s->size) {
    archive_set_error(a, EINVAL, "seek outside the archive");
    return ARCHIVE_FATAL;
  }
  r->pos = to;
  return to;
}

int ms__reader_open(struct archive *a, ms__reader *r, const ms__source *s, ms__sha256 *h) {
  memset(r, 0, sizeof *r);
  r->s = s;
  r->h = h;
  r->cap = h ? STREAM_CHUNK : SEEK_CHUNK;
  if (s->path && !(r->buf = malloc(r->cap))) {
    r->status = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
    return ARCHIVE_FATAL;
  }
  /* A hashing reader must see every byte in order: no skip, no seek. It
   * reads the whole file front to back, so ask for a larger readahead. */
  if (h && s->path) (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  if (!h) {
    archive_read_set_skip_callback(a, cb_skip);
    archive_read_set_seek_callback(a, cb_seek);
  }
  archive_read_set_read_callback(a, cb_read);
  archive_read_set_callback_data(a, r);
  return archive_read_open1(a);
}

void ms__reader_free(ms__reader *r) {
  if (!r) return;
  free(r->buf);
  r->buf = NULL;
}

int ms__reader_drain(ms__reader *r) {
  const void *p;
  la_ssize_t n;
  while ((n = next_chunk(r, &p)) > 0) {
  }
  return n < 0 ? r->status : MS_OK;
}
