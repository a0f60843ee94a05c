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

/* A libarchive reader for `format` over `s` through rd (no hashing). NULL
 * with *st set (naming s->origin) on failure; free with archive_read_free,
 * then ms__reader_free(rd). */
struct archive *ms__archive_open(const ms__source *s, int format, ms__reader *rd, int *st);

/* The current entry's data, at most MS__META_MAX_BYTES, into a malloc'd
 * buffer. MS_ECORRUPT (too large, damaged) or MS_ENOMEM, naming origin and name. */
int ms__archive_entry_data(struct archive *a, struct archive_entry *e, const char *origin, const char *name,
                           char **out, size_t *out_len);

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
 * file (see tgz.c), within lim (never NULL here). */
int ms__tgz_read(const ms__source *s, const ms__read_limits *lim, ms__archive_meta *out);

#endif
