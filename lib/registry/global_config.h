/* Internal: the global config file — per-model entries and defaults that
 * rank below the archive (global_config.c).
 *
 * Layer: leaf reader (settings.h, jsonpos.h, lib/common). Used by model.c
 * (resolution) and registry.c (opening).
 *
 * Fuzz entry point: ms__registry_global_parse + ms__registry_global_free. */
#ifndef MS_REGISTRY_GLOBAL_CONFIG_H
#define MS_REGISTRY_GLOBAL_CONFIG_H

#include <stddef.h>

#include "registry/settings.h"

/* A parsed global config file. */
typedef struct ms__global_entry {
  char *name, *version;
  ms__settings s;
} ms__global_entry;

typedef struct ms__global_config {
  ms__settings defaults;
  ms__global_entry *entries;
  size_t n_entries;
} ms__global_config;

/*
 * ms__registry_global_parse - parse the global config JSON held in buf[len]
 * (need not be NUL-terminated): {"defaults": {...}, "models": {"<name>":
 * {"<version>": {...}}}}. Unknown top-level and setting keys are ignored
 * (logged at debug level); known keys of the wrong type or range and a
 * wrong shape give MS_ECORRUPT naming origin and key; JSON syntax errors
 * give the byte offset. A model version listed twice, and a model name or
 * version that is not UTF-8 text without NUL, are MS_ECORRUPT. O(n log n)
 * in the entries. On success *out is owned by the caller
 * (ms__registry_global_free). *out untouched on failure.
 */
int ms__registry_global_parse(const char *buf, size_t len, const char *origin, ms__global_config **out);
void ms__registry_global_free(ms__global_config *g);
/* The per-version entry for name/version, or NULL. O(log n). */
const ms__settings *ms__registry_global_lookup(const ms__global_config *g, const char *name,
                                             const char *version);

#endif
