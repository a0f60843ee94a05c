/* Internal: pieces shared by the archive readers (archive.c for zip and
 * folders, tgz.c for tar.gz) and by materialize.c. */
#ifndef MS_REGISTRY_ARCHIVE_PARTS_H
#define MS_REGISTRY_ARCHIVE_PARTS_H

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

#include "archive.h"
#include "source.h"

/* Read the archive `s` (zip or tar.gz, by `format`) from its source: the
 * common body of ms__archive_read_path and the memory entry point. */
int ms__archive_read_source(const ms__source *s, int format, const ms__read_limits *lim, ms__archive_meta *out);

/* A libarchive reader for `format` over `s` through rd (no hashing; a
 * tar.gz through the gzip reader of source.h). NULL with *st set (naming
 * s->origin) on failure; free with archive_read_free, then
 * ms__reader_free(rd). */
struct archive *ms__archive_open(const ms__source *s, int format, ms__reader *rd, int *st);

/* Whether archive_read_next_header's result r lets the reading go on:
 * ARCHIVE_OK, or a warning that is not about integrity. Integrity warnings
 * (a zip local header whose CRC-32 or sizes disagree with the central
 * directory) stop it like errors: the entry is damaged or was changed. */
int ms__archive_header_ok(struct archive *a, int r);

/* The failure of a libarchive call on `a` (result rc) as an ms_status and
 * a message naming `origin` and the entry: `entry` is the entry whose data
 * were being read (in_data) or the last entry read before a failed header
 * (may be NULL). A failure of our reader rd (may be NULL) keeps its status
 * and cause; a zip entry whose data fail their CRC-32 says so; a tar header
 * failing its checksum (ARCHIVE_RETRY) says so; other failures carry
 * libarchive's message. MS_ECORRUPT unless rd says otherwise. */
int ms__archive_failure(struct archive *a, const ms__reader *rd, int rc, int format, const char *origin,
                        const char *entry, int in_data);

/* The current entry's data, at most MS__META_MAX_BYTES, into a malloc'd
 * buffer. MS_ECORRUPT (too large, damaged, failing its CRC-32), a failure
 * of rd (may be NULL), or MS_ENOMEM, naming origin and name. */
int ms__archive_entry_data(struct archive *a, const ms__reader *rd, struct archive_entry *e, const char *origin,
                           const char *name, char **out, size_t *out_len);

/* Entry name without leading "./" and, for a tar.gz, without its top folder
 * (its length, slash included, in *top_len). */
const char *ms__archive_rel_name(const char *name, int format, size_t *top_len);

/* Leading "./" components removed (configFile values may carry them). */
const char *ms__skip_dot_slash(const char *name);

/* Second pass: the entry named `want` (full name, "./" stripped), for when
 * the config file was not picked up in the first one. MS_ECORRUPT when it
 * is missing, not a regular file or damaged. */
int ms__archive_find_entry(const ms__source *s, int format, const char *want, char **out, size_t *out_len);

/* Parse manifest + config (config may be NULL) into *out: everything but
 * the hash. config_name names the config file in messages. */
int ms__archive_parse_meta(const char *origin, const char *manifest, size_t manifest_len, const char *config,
                           size_t config_len, const char *config_name, ms__archive_meta *out);

/* The tar.gz content hash is SHA-256 over this tag and then every byte of
 * the file; both the reader and materialize start it here. */
void ms__tgz_hash_init(ms__sha256 *h);

/* Read a tar.gz's manifest, config and content hash in one pass over the
 * whole file (see tgz.c), within lim (never NULL here): every header and
 * the gzip trailer are checked, so a file cut short or damaged anywhere is
 * MS_ECORRUPT at registration, not only when it is extracted. */
int ms__tgz_read(const ms__source *s, const ms__read_limits *lim, ms__archive_meta *out);

#endif
