/* Internal: what reading an archive yields — its format, manifest,
 * archive-level settings and content hash — and how a manifest and its
 * config file become that (meta.c).
 *
 * Layer: above the leaf parsers (manifest.h, config_yaml.h, settings.h);
 * below the archive readers (entry.h, zip.h, tgz.h, dir.h, archive.h). */
#ifndef MS_REGISTRY_META_H
#define MS_REGISTRY_META_H

#include <stddef.h>

#include "registry/manifest.h"
#include "registry/settings.h"

typedef enum ms__format { MS__FMT_ZIP = 0, MS__FMT_TGZ = 1, MS__FMT_DIR = 2 } ms__format;

/* Size limit while reading metadata: a manifest or config entry larger
 * than this is refused as corrupt (real ones are a few KiB). */
#define MS__META_MAX_BYTES (1u << 20)

typedef struct ms__archive_meta {
  int format;           /* ms__format */
  ms__manifest manifest;
  ms__settings config;  /* archive level: model-config.yaml over manifest batch keys */
  char hash[65];        /* hex SHA-256 identifying the content (see archive.h) */
} ms__archive_meta;

/* Parse manifest + config (config may be NULL) into *out: everything but
 * the hash and format. config_name names the config file in messages.
 * On failure *out may hold parts: free it with ms__registry_archive_meta_free. */
int ms__registry_archive_parse_meta(const char *origin, const char *manifest, size_t manifest_len, const char *config,
                                    size_t config_len, const char *config_name, ms__archive_meta *out);
/* Free what *m holds and zero it (NULL is a no-op). */
void ms__registry_archive_meta_free(ms__archive_meta *m);

#endif
