/* Internal: the registry's objects and the helpers its files share. */
#ifndef MS_REGISTRY_INTERNAL_H
#define MS_REGISTRY_INTERNAL_H

#include <stdatomic.h>

#include "archive.h"
#include "mserve/registry.h"
#include "settings.h"

struct ms_registry {
  ms_store *store;
  ms__global_config *global; /* NULL without a global config file */
  atomic_llong max_entries, max_bytes, max_ratio;
};

struct ms_model {
  char *name, *version, *runtime, *handler, *path, *hash;
  int format, is_default, missing;
  int64_t ival[MS__K_COUNT];
  char *device;
  ms_config_source src[MS__K_COUNT];
  cJSON *extra; /* archive keys that are not settings: strings */
};

struct ms_model_list {
  ms_model **items;
  size_t n;
};

struct ms_overrides {
  ms__settings set;
  unsigned clear; /* bit k: remove key k in ms_registry_update */
};

typedef struct ms__scan_entry {
  char *path, *message;
  ms_scan_outcome outcome;
  int status;
} ms__scan_entry;

struct ms_scan_report {
  ms__scan_entry *items;
  size_t n, cap;
};

/* What a snapshot is built from. */
typedef struct ms__model_row {
  const char *name, *version, *runtime, *handler, *path, *hash;
  int format, is_default, missing;
  const ms__settings *archive, *api;
} ms__model_row;

/* Resolve every key (API > archive > global entry > global defaults >
 * built-in) and copy the row into a new snapshot. */
int ms__model_build(const ms__model_row *row, const ms__global_config *g, ms_model **out);

/* Read a whole small file (at most `cap` bytes) into a malloc'd buffer. */
int ms__file_read_all(const char *path, size_t cap, const char *what, char **out, size_t *len);

/* Remove a folder tree, not following links (best effort). */
void ms__rmtree(const char *path);

/* Append an entry to a report; MS_OK or MS_ENOMEM. */
int ms__report_add(ms_scan_report *rep, const char *path, ms_scan_outcome outcome, int status, const char *message);



/* Insert a registration (inside a transaction held by the caller). The row
 * becomes the name's default when it has no other version. Errors:
 * MS_EEXIST (name+version or path taken), store errors. */
int ms__registry_insert(ms_registry *r, const char *abs_path, const ms__archive_meta *meta, const ms__stat *id,
                        const char *api_json, int *is_default);
/* After removing a default row of `name`, make its oldest remaining version
 * the default (inside a transaction). */
int ms__registry_promote_default(ms_registry *r, const char *name);
/* The registry's current limits, for reading metadata. */
ms__read_limits ms__registry_read_limits(ms_registry *r);
/* The parent folder of an absolute path, malloc'd. */
char *ms__parent_dir(const char *abs_path);

#endif
