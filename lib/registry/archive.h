/* Internal: reading an archive's metadata (manifest, config, content hash)
 * without extracting it, from a path or from memory, whatever its format
 * (archive.c dispatches to zip.c, tgz.c and dir.c).
 *
 * Content hash (hex SHA-256, also the name of the extracted folder):
 *  - zip: the central directory and end record (every entry's name, CRC-32,
 *    sizes and offset) plus the manifest and config bytes. The payload is
 *    never read, so registering a 20 MB .mar costs a few KiB of I/O; a change
 *    of any entry's bytes changes its CRC-32 and so the hash. (CRC-32 is not
 *    collision resistant: whoever can write the model store could craft two
 *    archives with equal directories; they could equally replace the model.)
 *  - tar.gz: every byte of the file (a tar has no index to hash instead),
 *    hashed in the same pass that decompresses it; the scan only recomputes
 *    it when size, mtime, inode or device changed.
 *  - folder: the manifest and config bytes.
 *
 * Layer: the top of the archive readers (zip.h, tgz.h, dir.h, meta.h).
 * Used by the registry's calls (registry.c, scan.c, materialize.c).
 *
 * Fuzz entry point: ms__registry_archive_read_manifest_from_memory +
 * ms__registry_archive_meta_free. */
#ifndef MS_REGISTRY_ARCHIVE_H
#define MS_REGISTRY_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "registry/meta.h"
#include "registry/source.h"
#include "registry/tgz.h"

/* File identity used to skip unchanged archives without opening them. */
typedef struct ms__stat {
  int64_t size, mtime_ns, ino, dev;
} ms__stat;

/* The archive's format from its name and kind: a folder, .mar or .zip,
 * .tar.gz or .tgz. Returns -1 (and MS_EUNSUPPORTED message) otherwise. */
int ms__registry_archive_format_of(const char *path, int is_dir);

/* Stat identity of an archive (for a folder: of the folder itself). */
int ms__registry_archive_stat(const char *path, int format, ms__stat *out);

/*
 * ms__registry_archive_read_path - read the manifest and config of the archive at
 * `path` (format from ms__registry_archive_format_of) and compute its content hash.
 * A zip is read through its central directory (payload never inflated); a
 * tar.gz is read once, hashed whole and decompressed whole, every header
 * and the gzip trailer checked (tgz.c). Only a regular file is opened (a
 * FIFO or device is MS_EUNSUPPORTED, never waited on); a folder's manifest
 * or config that is not a regular file is MS_ECORRUPT. Errors: MS_EIO,
 * MS_ECORRUPT, MS_EUNSUPPORTED, MS_ENOMEM, each naming the path and cause.
 */
int ms__registry_archive_read_path(const char *path, int format, ms__archive_meta *out);
/* The same with limits (NULL: the built-in MS_REGISTRY_DEFAULT_* limits);
 * breaking them is MS_EUNSAFE. */
int ms__registry_archive_read_path_limited(const char *path, int format, const ms__read_limits *lim,
                                           ms__archive_meta *out);

/* Read the archive `s` (MS__FMT_ZIP or MS__FMT_TGZ) from its source: the
 * common body of the path and memory entry points, and materialize's check
 * of a zip's hash on the file it extracts (lim NULL: the defaults). */
int ms__registry_archive_read_source(const ms__source *s, int format, const ms__read_limits *lim,
                                     ms__archive_meta *out);

/*
 * ms__registry_archive_read_manifest_from_memory - the same for an archive image in
 * buf[len] (zip or tar.gz, detected from its magic bytes). `origin` names
 * it in messages. On success *out is owned by the caller
 * (ms__registry_archive_meta_free); untouched on failure.
 */
int ms__registry_archive_read_manifest_from_memory(const void *buf, size_t len, const char *origin,
                                                   ms__archive_meta *out);

#endif
