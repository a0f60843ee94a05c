/* Internal: an archive's bytes, from a file descriptor or from memory, for
 * positioned reads (zip central directory, hashing). */
#ifndef MS_REGISTRY_SOURCE_H
#define MS_REGISTRY_SOURCE_H

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

/* Hash every byte of the source into h. */
int ms__source_hash_all(const ms__source *s, ms__sha256 *h);

#endif
