/* Internal: reading an archive's metadata (manifest, config, content hash)
 * without extracting it, from a path or from memory.
 *
 * Fuzz entry point: ms__archive_read_manifest_from_memory +
 * ms__archive_meta_free. */
#ifndef MS_REGISTRY_ARCHIVE_H
#define MS_REGISTRY_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "settings.h"

typedef enum ms__format { MS__FMT_ZIP = 0, MS__FMT_TGZ = 1, MS__FMT_DIR = 2 } ms__format;

/* Size limits while reading metadata: a manifest or config entry larger
 * than this is refused as corrupt (real ones are a few KiB). */
#define MS__META_MAX_BYTES (1u << 20)

/* A tar.gz's entries seen before its manifest are kept, up to this many
 * bytes in all, in case one is the config the manifest names (tgz.c). */
#define MS__TGZ_PENDING_BUDGET ((size_t)4 << 20)

typedef struct ms__archive_meta {
  int format;           /* ms__format */
  ms__manifest manifest;
  ms__settings config;  /* archive level: model-config.yaml over manifest batch keys */
  char hash[65];        /* hex SHA-256 identifying the content (see archive.c) */
} ms__archive_meta;

/* Limits on reading a tar.gz's metadata: the stream is decompressed to its
 * end (to check it whole), so a compression bomb in it could make a scan
 * inflate gigabytes. max_bytes bounds the decompressed bytes read; max_ratio
 * bounds them relative to the file size, once past MS__TGZ_RATIO_FLOOR
 * (small archives have large ratios from tar's block padding alone). The
 * registry passes the limits of ms_registry_set_limits. */
typedef struct ms__read_limits {
  int64_t max_bytes, max_ratio;
} ms__read_limits;
#define MS__TGZ_RATIO_FLOOR ((int64_t)64 << 20)
/* Reading a tar.gz goes on to the end of its gzip stream, past the tar's
 * last entry (its padding, which no header accounts for): the decompressed
 * stream may pass max_bytes by this much before it is refused. */
#define MS__TGZ_STREAM_SLACK ((int64_t)64 << 20)

/* File identity used to skip unchanged archives without opening them. */
typedef struct ms__stat {
  int64_t size, mtime_ns, ino, dev;
} ms__stat;

/* The archive's format from its name and kind: a folder, .mar or .zip,
 * .tar.gz or .tgz. Returns -1 (and MS_EUNSUPPORTED message) otherwise. */
int ms__archive_format_of(const char *path, int is_dir);

/* Stat identity of an archive (for a folder: of the folder itself). */
int ms__archive_stat(const char *path, int format, ms__stat *out);

/*
 * ms__archive_read_path - read the manifest and config of the archive at
 * `path` (format from ms__archive_format_of) and compute its content hash.
 * A zip is read through its central directory (payload never inflated); a
 * tar.gz is read once, hashed whole and decompressed whole, every header
 * and the gzip trailer checked (tgz.c). Only a regular file is opened (a
 * FIFO or device is MS_EUNSUPPORTED, never waited on); a folder's manifest
 * or config that is not a regular file is MS_ECORRUPT. Errors: MS_EIO,
 * MS_ECORRUPT, MS_EUNSUPPORTED, MS_ENOMEM, each naming the path and cause.
 */
int ms__archive_read_path(const char *path, int format, ms__archive_meta *out);
/* The same with limits (NULL: the built-in MS_REGISTRY_DEFAULT_* limits);
 * breaking them is MS_EUNSAFE. */
int ms__archive_read_path_limited(const char *path, int format, const ms__read_limits *lim, ms__archive_meta *out);

/*
 * ms__archive_read_manifest_from_memory - the same for an archive image in
 * buf[len] (zip or tar.gz, detected from its magic bytes). `origin` names
 * it in messages. On success *out is owned by the caller
 * (ms__archive_meta_free); untouched on failure.
 */
int ms__archive_read_manifest_from_memory(const void *buf, size_t len, const char *origin,
                                          ms__archive_meta *out);
void ms__archive_meta_free(ms__archive_meta *m);

#endif
