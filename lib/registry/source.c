/* An archive's bytes: positioned reads, and the libarchive client readers
 * that can hash what they hand out and decompress gzip with every
 * integrity check (see source.h). */
#include "registry/source.h"

#include <errno.h>
#include <fcntl.h> /* posix_fadvise */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/error.h"
#include "mserve/common.h"

/* A hashing reader streams the whole file: large chunks, few calls, still
 * small enough to stay in the CPU cache while hashed and decompressed. A
 * seeking reader (zip metadata) reads headers scattered over the file: small
 * chunks, so a cold read of a local header does not pull in payload. */
#define STREAM_CHUNK ((size_t)1 << 18)
#define SEEK_CHUNK ((size_t)1 << 14)

int ms__registry_source_pread(const ms__source *s, void *buf, size_t n, int64_t off) {
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
    int st = ms__registry_source_pread(r->s, r->buf, n, r->pos);
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

static int reader_init(ms__reader *r, const ms__source *s, ms__sha256 *h, size_t cap) {
  memset(r, 0, sizeof *r);
  r->s = s;
  r->h = h;
  r->cap = cap;
  if (s->path && !(r->buf = malloc(r->cap))) {
    r->status = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
    return ARCHIVE_FATAL;
  }
  /* A hashing reader must see every byte in order: no skip, no seek. It
   * reads the whole file front to back, so ask for a larger readahead. */
  if (h && s->path) (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return ARCHIVE_OK;
}

int ms__registry_reader_open(struct archive *a, ms__reader *r, const ms__source *s, ms__sha256 *h) {
  if (reader_init(r, s, h, h ? STREAM_CHUNK : SEEK_CHUNK) != ARCHIVE_OK) return ARCHIVE_FATAL;
  if (!h) {
    archive_read_set_skip_callback(a, cb_skip);
    archive_read_set_seek_callback(a, cb_seek);
  }
  archive_read_set_read_callback(a, cb_read);
  archive_read_set_callback_data(a, r);
  return archive_read_open1(a);
}

/* ---- gzip ------------------------------------------------------------------
 *
 * libarchive's gzip filter never checks a member's trailer (CRC-32 and
 * length of the data), so damaged data that still inflates would pass.
 * zlib's gzip decoding checks both; this layer runs it and hands libarchive
 * the tar stream. */

#define GZ_OUT ((size_t)1 << 18)

enum { GZ_START = 0, GZ_RAW, GZ_MEMBER, GZ_BETWEEN, GZ_DONE };

struct ms__gz {
  z_stream z;
  gz_header head;           /* head.done: the current member's header was read whole */
  int inited;               /* inflateInit2 succeeded */
  int mode;                 /* GZ_* */
  int later;                /* the current member follows another one */
  const unsigned char *in;  /* unconsumed bytes of the last chunk */
  size_t in_left;
  unsigned char *out;
  int64_t member_out;       /* bytes out of the current member */
};

/* Record a failure of the gzip layer: the cause in r->why, the status, and
 * the whole message. Returns -1 (for the read callback). */
static la_ssize_t gz_fail(ms__reader *r, int status, const char *fmt, ...) MS_PRINTF(3, 4);
static la_ssize_t gz_fail(ms__reader *r, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->why, sizeof r->why, fmt, ap);
  va_end(ap);
  r->status = ms__fail(status, "archive '%s': %s", r->s->origin, r->why);
  return -1;
}

/* Make sure unconsumed input is at hand: 1, 0 at the end of the file, -1
 * on a read failure (r->status set). */
static int gz_fill(ms__reader *r) {
  ms__gz *g = r->gz;
  if (g->in_left) return 1;
  const void *p;
  la_ssize_t n = next_chunk(r, &p);
  if (n < 0) return -1;
  if (n == 0) return 0;
  g->in = p;
  g->in_left = (size_t)n;
  return 1;
}

static int gz_magic(const ms__gz *g) { return g->in[0] == 0x1f && (g->in_left < 2 || g->in[1] == 0x8b); }

static la_ssize_t gz_start_member(ms__reader *r, int later) {
  ms__gz *g = r->gz;
  int zr = g->inited ? inflateReset(&g->z) : inflateInit2(&g->z, 16 + MAX_WBITS);
  if (zr != Z_OK)
    return gz_fail(r, zr == Z_MEM_ERROR ? MS_ENOMEM : MS_EINTERNAL, "cannot start gzip decompression: %s",
                   g->z.msg ? g->z.msg : zError(zr));
  g->inited = 1;
  memset(&g->head, 0, sizeof g->head);
  if ((zr = inflateGetHeader(&g->z, &g->head)) != Z_OK)
    return gz_fail(r, MS_EINTERNAL, "cannot start gzip decompression: %s", zError(zr));
  g->mode = GZ_MEMBER;
  g->later = later;
  g->member_out = 0;
  return 0;
}

/* Byte offset in the file of the next unconsumed input byte. */
static int64_t gz_offset(const ms__reader *r) { return r->pos - (int64_t)r->gz->in_left; }

static la_ssize_t gz_data_error(ms__reader *r) {
  ms__gz *g = r->gz;
  const char *msg = g->z.msg ? g->z.msg : "damaged data";
  if (strcmp(msg, "incorrect data check") == 0)
    return gz_fail(r, MS_ECORRUPT,
                   "the gzip trailer's CRC-32 does not match the decompressed data (a CRC/length mismatch of the "
                   "gzip trailer: the file is damaged)");
  if (strcmp(msg, "incorrect length check") == 0)
    return gz_fail(r, MS_ECORRUPT,
                   "the gzip trailer's length does not match the %lld bytes decompressed (a CRC/length mismatch of "
                   "the gzip trailer: the file is damaged)",
                   (long long)g->member_out);
  return gz_fail(r, MS_ECORRUPT, "damaged gzip data near byte %lld of the file: %s", (long long)gz_offset(r), msg);
}

static la_ssize_t gz_limits(ms__reader *r) {
  if (r->max_out > 0 && r->out_bytes > r->max_out)
    return gz_fail(r, MS_EUNSAFE, "decompresses to more than %lld bytes", (long long)r->max_out);
  int64_t base = r->s->size > 0 ? r->s->size : 1;
  if (r->max_ratio > 0 && r->out_bytes > MS__TGZ_RATIO_FLOOR && r->out_bytes / base >= r->max_ratio)
    return gz_fail(r, MS_EUNSAFE, "compression ratio over %lld (%lld bytes from %lld): a compression bomb?",
                   (long long)r->max_ratio, (long long)r->out_bytes, (long long)r->s->size);
  return 0;
}

/* The next piece of the decompressed stream: its size, 0 at its end, -1 on
 * failure (r->status, r->why set). */
static la_ssize_t gz_next(ms__reader *r, const void **out) {
  ms__gz *g = r->gz;
  if (r->status) return -1;
  for (;;) {
    int f;
    switch (g->mode) {
      case GZ_DONE:
        return 0;
      case GZ_START:
        if ((f = gz_fill(r)) <= 0) {
          if (f == 0) g->mode = GZ_DONE;
          return f;
        }
        if (!gz_magic(g)) {
          g->mode = GZ_RAW; /* not gzip: a plain tar, handed on as it is */
          continue;
        }
        if (gz_start_member(r, 0) < 0) return -1;
        continue;
      case GZ_RAW: {
        if ((f = gz_fill(r)) <= 0) {
          if (f == 0) g->mode = GZ_DONE;
          return f;
        }
        *out = g->in;
        size_t n = g->in_left;
        g->in_left = 0;
        r->out_bytes += (int64_t)n;
        return gz_limits(r) < 0 ? -1 : (la_ssize_t)n;
      }
      case GZ_BETWEEN:
        /* Another member may follow; anything else after the last member
         * is ignored, as gzip does (it is still part of the content hash). */
        if ((f = gz_fill(r)) < 0) return -1;
        if (f == 0 || !gz_magic(g)) {
          g->mode = GZ_DONE;
          return 0;
        }
        if (gz_start_member(r, 1) < 0) return -1;
        continue;
      case GZ_MEMBER: {
        if ((f = gz_fill(r)) < 0) return -1;
        if (f == 0) {
          if (g->later && g->head.done != 1) { /* a few stray bytes after the last member */
            g->mode = GZ_DONE;
            return 0;
          }
          return gz_fail(r, MS_ECORRUPT,
                         "truncated: the file ends (at byte %lld) before the end of its gzip stream; the archive "
                         "could not be read to the end",
                         (long long)r->pos);
        }
        g->z.next_in = (Bytef *)(uintptr_t)g->in;
        g->z.avail_in = (uInt)g->in_left;
        g->z.next_out = g->out;
        g->z.avail_out = (uInt)GZ_OUT;
        int zr = inflate(&g->z, Z_NO_FLUSH);
        size_t used = g->in_left - g->z.avail_in, got = GZ_OUT - g->z.avail_out;
        g->in += used;
        g->in_left -= used;
        g->member_out += (int64_t)got;
        if (zr == Z_STREAM_END) {
          g->mode = GZ_BETWEEN;
        } else if (zr == Z_MEM_ERROR) {
          return gz_fail(r, MS_ENOMEM, "out of memory while decompressing");
        } else if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR) {
          /* Bytes after a member that only look like the start of another
           * (a stray 0x1f 0x8b, no valid header) are trailing garbage, not a
           * damaged member: libarchive ignored them too. */
          if (g->later && g->head.done != 1) {
            g->mode = GZ_DONE;
            return 0;
          }
          return gz_data_error(r);
        } else if (zr == Z_BUF_ERROR && g->in_left) {
          return gz_fail(r, MS_EINTERNAL, "gzip decompression made no progress");
        }
        if (got) {
          *out = g->out;
          r->out_bytes += (int64_t)got;
          return gz_limits(r) < 0 ? -1 : (la_ssize_t)got;
        }
        continue;
      }
    }
  }
}

static la_ssize_t cb_read_gz(struct archive *a, void *ud, const void **buf) {
  ms__reader *r = ud;
  la_ssize_t n = gz_next(r, buf);
  if (n < 0) archive_set_error(a, EINVAL, "%s", r->why[0] ? r->why : ms_errmsg());
  return n;
}

int ms__registry_reader_open_gz(struct archive *a, ms__reader *r, const ms__source *s, ms__sha256 *h, int64_t max_out,
                                int64_t max_ratio) {
  if (reader_init(r, s, h, STREAM_CHUNK) != ARCHIVE_OK) return ARCHIVE_FATAL;
  r->max_out = max_out;
  r->max_ratio = max_ratio;
  if (!(r->gz = calloc(1, sizeof *r->gz)) || !(r->gz->out = malloc(GZ_OUT))) {
    r->status = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
    return ARCHIVE_FATAL;
  }
  archive_read_set_read_callback(a, cb_read_gz);
  archive_read_set_callback_data(a, r);
  return archive_read_open1(a);
}

int ms__registry_reader_finish_gz(ms__reader *r) {
  if (r->status) return r->status;
  if (!r->gz) return MS_OK;
  const void *p;
  la_ssize_t n;
  while ((n = gz_next(r, &p)) > 0) {
  }
  return n < 0 ? r->status : MS_OK;
}

void ms__registry_reader_free(ms__reader *r) {
  if (!r) return;
  free(r->buf);
  r->buf = NULL;
  if (r->gz) {
    if (r->gz->inited) inflateEnd(&r->gz->z);
    free(r->gz->out);
    free(r->gz);
    r->gz = NULL;
  }
}

int ms__registry_reader_drain(ms__reader *r) {
  if (r->status) return r->status;
  const void *p;
  la_ssize_t n;
  while ((n = next_chunk(r, &p)) > 0) {
  }
  return n < 0 ? r->status : MS_OK;
}
