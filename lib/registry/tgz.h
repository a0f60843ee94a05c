/* Internal: reading a .tar.gz's metadata in one pass over the whole file
 * (tgz.c).
 *
 * Layer: archive reader (entry.h, meta.h, source.h). Used by archive.c;
 * materialize.c starts its content hash the same way. */
#ifndef MS_REGISTRY_TGZ_H
#define MS_REGISTRY_TGZ_H

#include <stddef.h>
#include <stdint.h>

#include "common/sha256.h"
#include "registry/meta.h"
#include "registry/source.h"

/* A tar.gz's entries seen before its manifest are kept, up to this many
 * bytes in all, in case one is the config the manifest names. */
#define MS__TGZ_PENDING_BUDGET ((size_t)4 << 20)

/* Limits on reading a tar.gz's metadata: the stream is decompressed to its
 * end (to check it whole), so a compression bomb in it could make a scan
 * inflate gigabytes. max_bytes bounds the decompressed bytes read; max_ratio
 * bounds them relative to the file size, once past MS__TGZ_RATIO_FLOOR
 * (source.h). The registry passes the limits of ms_registry_set_limits. */
typedef struct ms__read_limits {
  int64_t max_bytes, max_ratio;
} ms__read_limits;

/* Reading a tar.gz goes on to the end of its gzip stream, past the tar's
 * last entry (its padding, which no header accounts for): the decompressed
 * stream may pass max_bytes by this much before it is refused. */
#define MS__TGZ_STREAM_SLACK ((int64_t)64 << 20)

/* The tar.gz content hash is SHA-256 over this tag and then every byte of
 * the file; both the reader and materialize start it here. */
void ms__registry_tgz_hash_init(ms__sha256 *h);

/* Read a tar.gz's manifest, config and content hash in one pass over the
 * whole file, within lim (never NULL here): every header and the gzip
 * trailer are checked, so a file cut short or damaged anywhere is
 * MS_ECORRUPT at registration, not only when it is extracted; breaking the
 * limits is MS_EUNSAFE. *out untouched on failure. */
int ms__registry_tgz_read(const ms__source *s, const ms__read_limits *lim, ms__archive_meta *out);

#endif
