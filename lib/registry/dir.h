/* Internal: reading a folder model's metadata — its manifest and the
 * config it names, plain files in the folder (dir.c).
 *
 * Layer: archive reader (meta.h, lib/common/fsutil.h). Used by archive.c. */
#ifndef MS_REGISTRY_DIR_H
#define MS_REGISTRY_DIR_H

#include "registry/meta.h"

/*
 * ms__registry_dir_read - the manifest (MAR-INF/MANIFEST.json, else a legacy
 * MANIFEST.json), the config it names and the content hash (SHA-256 of the
 * manifest and config bytes) of the folder model at `path`. Only regular
 * files are read: a FIFO, device or folder in their place is MS_ECORRUPT,
 * never waited on. Errors: MS_ECORRUPT, MS_EIO, MS_ENOMEM naming the
 * folder. *out untouched on failure.
 */
int ms__registry_dir_read(const char *path, ms__archive_meta *out);

#endif
