/* Internal: the registry handle (opened and closed in registry.c) and the
 * limits it hands the readers.
 *
 * The registry's files, bottom up; each includes only headers of its own
 * layer or below (and lib/common, the store, libarchive, cJSON, libyaml):
 *   bytes and leaf parsers  source, zipdir, jsonpos, settings, manifest,
 *                           config_yaml, global_config
 *   archive metadata        meta (manifest + config -> ms__archive_meta)
 *   archive readers         entry (libarchive entries), zip, tgz, dir
 *   dispatch                archive (format, stat identity, read a path)
 *   values                  model (snapshots, lists), overrides, report
 *   handle and rows         handle (this file), rows (registry_models)
 *   calls                   registry.c, scan.c, materialize.c
 *
 * Layer: handle — shared by the calls; above the readers and the global
 * config. */
#ifndef MS_REGISTRY_HANDLE_H
#define MS_REGISTRY_HANDLE_H

#include <stdatomic.h>

#include "registry/archive.h"
#include "registry/global_config.h"
#include "mserve/registry.h"

struct ms_registry {
  ms_store *store;
  ms__global_config *global; /* NULL without a global config file */
  atomic_llong max_entries, max_bytes, max_ratio;
};

/* The registry's current limits, for reading metadata. */
static inline ms__read_limits ms__registry_read_limits(ms_registry *r) {
  ms__read_limits lim = {atomic_load(&r->max_bytes), atomic_load(&r->max_ratio)};
  return lim;
}

#endif
