/* Internal: an archive's bytes, from a file descriptor or from memory, for
 * positioned reads (zip central directory), for libarchive (through our own
 * callbacks, so every pass reads the one open file and never reopens the
 * path), and for hashing every byte on the way through; the gzip reader
 * with every integrity check (source.c).
 *
 * Layer: leaf (lib/common, libarchive's client-reader API, zlib). Used by
 * the readers above it (entry.h, zipdir.h, zip.h, tgz.h) and materialize.c.
 */
#ifndef MS_REGISTRY_SOURCE_H
#define MS_REGISTRY_SOURCE_H

#include <archive.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sha256.h"

typedef struct ms__source {
  const char *origin;        /* for messages */
  const char *path;          /* NULL for memory */
  int fd;                    /* -1 for memory */
  const unsigned char *mem;
  int64_t size;
} ms__source;

/* Read exactly n bytes at off; MS_OK, or MS_EIO / MS_ECORRUPT (short) with a message. */
int ms__registry_source_pread(const ms__source *s, void *buf, size_t n, int64_t off);

/* A gzip reader checks the compression ratio (decompressed bytes / file
 * size) only past this many decompressed bytes: small archives have large
 * ratios from tar's block padding alone. */
#define MS__TGZ_RATIO_FLOOR ((int64_t)64 << 20)

/*
 * A libarchive client reader over a source. With h == NULL it can seek and
 * skip (what the seekable zip reader needs). With h set it reads strictly in
 * order and feeds every byte it hands to libarchive into h, so one pass both
 * decompresses a tar.gz and hashes the file; ms__registry_reader_drain then hashes
 * whatever libarchive did not ask for, up to the end of the source.
 * The reader reads with pread, so it never depends on the fd's offset.
 *
 * A gzip reader (ms__registry_reader_open_gz) decompresses itself, with zlib, and
 * hands libarchive the tar stream (libarchive's own gzip filter checks
 * neither the trailer's CRC-32 nor its length). It verifies every gzip
 * member's trailer, tells a stream cut short ("truncated") from damaged
 * data and from a trailer that does not match, accepts several members one
 * after the other, ignores bytes after the last member that do not start
 * another one (as gzip does), and passes a file that is not gzip at all
 * through unchanged (a plain tar named .tar.gz).
 */
typedef struct ms__gz ms__gz;
typedef struct ms__reader {
  const ms__source *s;
  ms__sha256 *h;
  int64_t pos;         /* next byte of the source to hand out */
  unsigned char *buf;  /* fd sources only */
  size_t cap;
  int status;          /* MS_OK, or the ms_status of the first read failure */
  char why[256];       /* with status: the cause alone, without the archive's name (may be "") */
  ms__gz *gz;          /* gzip reader state, or NULL */
  int64_t out_bytes;   /* gzip reader: bytes of the tar stream handed to libarchive */
  int64_t max_out;     /* gzip reader: more than this is MS_EUNSAFE (0: no limit) */
  int64_t max_ratio;   /* gzip reader: out_bytes / file size past MS__TGZ_RATIO_FLOOR (0: no limit) */
} ms__reader;

/* Attach a reader to `a` and open it (archive_read_open1). Returns the
 * libarchive result; on failure r->status says whether our read failed.
 * Free r with ms__registry_reader_free after archive_read_free(a). */
int ms__registry_reader_open(struct archive *a, ms__reader *r, const ms__source *s, ms__sha256 *h);
/* The same as a gzip reader (see above); h may be NULL; max_out and
 * max_ratio (0: none) bound the decompressed stream, checked as it is made. */
int ms__registry_reader_open_gz(struct archive *a, ms__reader *r, const ms__source *s, ms__sha256 *h, int64_t max_out,
                                int64_t max_ratio);
void ms__registry_reader_free(ms__reader *r);

/* A gzip reader after libarchive saw the end of the tar: decompress the
 * rest of the gzip stream (the tar's padding) and check every trailer.
 * MS_OK (also for a reader that is not gzip), or the failure with a
 * message, as r->status. */
int ms__registry_reader_finish_gz(ms__reader *r);

/* Hash the rest of the source (from r->pos to the end) into r->h. MS_OK or
 * MS_EIO / MS_ECORRUPT with a message. */
int ms__registry_reader_drain(ms__reader *r);

#endif
