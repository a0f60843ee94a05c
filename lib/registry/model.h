/* Internal: model snapshots and lists of them (model.c). A snapshot holds
 * one registration with every setting resolved once (API > archive >
 * global entry > global defaults > built-in), and owns its strings.
 *
 * Layer: a value above settings.h and global_config.h; built by the
 * registry's calls (registry.c, scan.c). */
#ifndef MS_REGISTRY_MODEL_H
#define MS_REGISTRY_MODEL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "registry/global_config.h"
#include "mserve/registry.h"
#include "registry/settings.h"

struct ms_model {
  char *name, *version, *runtime, *handler, *path, *hash;
  int format, is_default, missing;
  int64_t ival[MS__K_COUNT];
  char *device;
  ms_config_source src[MS__K_COUNT];
  char itext[MS__K_COUNT][24]; /* integer settings as decimal text (ms_model_get_setting) */
  cJSON *extra;                /* archive keys that are not settings: strings */
  const cJSON **extra_items;   /* extra's members, for indexed access */
  size_t n_extra;
};

struct ms_model_list {
  ms_model **items;
  size_t n;
};

/* What a snapshot is built from. */
typedef struct ms__model_row {
  const char *name, *version, *runtime, *handler, *path, *hash;
  int format, is_default, missing;
  const ms__settings *archive, *api; /* either may be NULL */
} ms__model_row;

/* Resolve every key (API > archive > global entry > global defaults >
 * built-in) and copy the row into a new snapshot (*out, owned by the
 * caller). MS_ENOMEM naming the model; *out untouched on failure. */
int ms__registry_model_build(const ms__model_row *row, const ms__global_config *g, ms_model **out);

/* NULL when the resolved min_workers <= max_workers; else buf (cap bytes),
 * saying both values and their sources ("min_workers 4 (API) is greater
 * than max_workers 2 (archive)"). */
const char *ms__registry_model_workers_problem(const ms_model *m, char *buf, size_t cap);

#endif
