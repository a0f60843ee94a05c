/* Internal: reading a zip's (.mar's) metadata through its central
 * directory, never its payload (zip.c).
 *
 * Layer: archive reader (entry.h, zipdir.h, meta.h, source.h). Used by
 * archive.c. */
#ifndef MS_REGISTRY_ZIP_H
#define MS_REGISTRY_ZIP_H

#include "registry/meta.h"
#include "registry/source.h"

/*
 * ms__registry_zip_read - the manifest, the config it names and the content hash
 * (SHA-256 over the central directory and end records, then the manifest
 * and config bytes) of the zip `s`. Errors: MS_ECORRUPT, MS_EIO, MS_ENOMEM
 * naming s->origin. *out untouched on failure.
 */
int ms__registry_zip_read(const ms__source *s, ms__archive_meta *out);

#endif
