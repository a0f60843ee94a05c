/* Internal: reading the entries of a zip or tar.gz with libarchive over
 * one of our sources — opening a reader, telling integrity failures from
 * harmless warnings, an entry's data within the metadata limit, entry
 * names relative to the archive's root, and a second pass for one entry
 * (entry.c).
 *
 * Layer: above source.h and meta.h (formats, limits); below the readers
 * that walk archives (zip.c, tgz.c) and materialize.c. */
#ifndef MS_REGISTRY_ENTRY_H
#define MS_REGISTRY_ENTRY_H

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

#include "registry/meta.h"
#include "registry/source.h"

/* A libarchive reader for `format` (MS__FMT_ZIP or MS__FMT_TGZ) over `s`
 * through rd (no hashing; a tar.gz through the gzip reader of source.h).
 * NULL with *st set (naming s->origin) on failure; free with
 * archive_read_free, then ms__registry_reader_free(rd). */
struct archive *ms__registry_archive_open(const ms__source *s, int format, ms__reader *rd, int *st);

/* Whether archive_read_next_header's result r lets the reading go on:
 * ARCHIVE_OK, or a warning that is not about integrity. Integrity warnings
 * (a zip local header whose CRC-32 or sizes disagree with the central
 * directory) stop it like errors: the entry is damaged or was changed. */
int ms__registry_archive_header_ok(struct archive *a, int r);

/* The failure of a libarchive call on `a` (result rc) as an ms_status and
 * a message naming `origin` and the entry: `entry` is the entry whose data
 * were being read (in_data) or the last entry read before a failed header
 * (may be NULL). A failure of our reader rd (may be NULL) keeps its status
 * and cause; a zip entry whose data fail their CRC-32 says so; a tar header
 * failing its checksum (ARCHIVE_RETRY) says so; other failures carry
 * libarchive's message. MS_ECORRUPT unless rd says otherwise. */
int ms__registry_archive_failure(struct archive *a, const ms__reader *rd, int rc, int format, const char *origin,
                                 const char *entry, int in_data);

/* The current entry's data, at most MS__META_MAX_BYTES, into a malloc'd
 * buffer. MS_ECORRUPT (too large, damaged, failing its CRC-32), a failure
 * of rd (may be NULL), or MS_ENOMEM, naming origin and name. */
int ms__registry_archive_entry_data(struct archive *a, const ms__reader *rd, struct archive_entry *e,
                                    const char *origin, const char *name, char **out, size_t *out_len);

/* Entry name without leading "./" and, for a tar.gz, without its top folder
 * (its length, slash included, in *top_len). */
const char *ms__registry_archive_rel_name(const char *name, int format, size_t *top_len);

/* A pass of its own for the entry named `want` (full name, "./" stripped):
 * the config file, when the first pass did not pick it up. MS_ECORRUPT
 * when it is missing, not a regular file or damaged. */
int ms__registry_archive_find_entry(const ms__source *s, int format, const char *want, char **out, size_t *out_len);

/* One pass over the archive `s` (MS__FMT_ZIP: its central directory; a
 * tar.gz: every header, names taken below its top folder) looking for the
 * n names of want (relative to the archive's root, "./" stripped): found[i]
 * becomes 1 when want[i] is a regular file entry, 2 when it is an entry of
 * another kind, 0 when absent. MS_ECORRUPT / MS_EIO naming s->origin when
 * the archive cannot be read. */
int ms__registry_archive_find_names(const ms__source *s, int format, const char *const *want, size_t n, int *found);

#endif
