/* Internal: an archive's bytes, from a file descriptor or from memory, for
 * positioned reads (zip central directory), for libarchive (through our own
 * callbacks, so every pass reads the one open file and never reopens the
 * path), and for hashing every byte on the way through. */
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
int ms__source_pread(const ms__source *s, void *buf, size_t n, int64_t off);

/* Hash the zip's central directory and end records into h: they hold
 * every entry's name, CRC-32, sizes and offset, so any change of content
 * changes them, and they are a tiny part of the file. MS_ECORRUPT when no
 * valid end of central directory record is found. */
int ms__zip_hash_directory(const ms__source *s, ms__sha256 *h);

/*
 * A libarchive client reader over a source. With h == NULL it can seek and
 * skip (what the seekable zip reader needs). With h set it reads strictly in
 * order and feeds every byte it hands to libarchive into h, so one pass both
 * decompresses a tar.gz and hashes the file; ms__reader_drain then hashes
 * whatever libarchive did not ask for, up to the end of the source.
 * The reader reads with pread, so it never depends on the fd's offset.
 */
typedef struct ms__reader {
  const ms__source *s;
  ms__sha256 *h;
  int64_t pos;         /* next byte to hand out */
  unsigned char *buf;  /* fd sources only */
  size_t cap;
  int status;          /* MS_OK, or the ms_status of the first read failure */
} ms__reader;

/* Attach a reader to `a` and open it (archive_read_open2). Returns the
 * libarchive result; on failure r->status says whether our read failed.
 * Free r with ms__reader_free after archive_read_free(a). */
int ms__reader_open(struct archive *a, ms__reader *r, const ms__source *s, ms__sha256 *h);
void ms__reader_free(ms__reader *r);

/* Hash the rest of the source (from r->pos to the end) into r->h. MS_OK or
 * MS_EIO / MS_ECORRUPT with a message. */
int ms__reader_drain(ms__reader *r);

#endif
