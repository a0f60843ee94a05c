/* Internal: MAR-INF/MANIFEST.json (TorchServe, MMS 1.0) and the legacy MMS
 * 0.1 MANIFEST.json (manifest.c).
 *
 * Layer: leaf parser (settings.h, jsonpos.h, lib/common). Used by meta.c
 * and the archive readers.
 *
 * Fuzz entry point: ms__registry_manifest_parse + ms__registry_manifest_free. */
#ifndef MS_REGISTRY_MANIFEST_H
#define MS_REGISTRY_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "registry/settings.h"

typedef struct ms__manifest {
  char *name;        /* model.modelName; matches ^[A-Za-z0-9][A-Za-z0-9_.-]*$ */
  char *version;     /* model.modelVersion, "1.0" when absent */
  char *runtime;     /* top-level runtime, "" when absent */
  char *handler;     /* model.handler ("" when absent) */
  char *config_file; /* model.configFile, or NULL */
  int legacy;        /* 1 for an MMS 0.1 manifest */
  /* Read leniently (a field that is not UTF-8 text is left NULL, as before
   * these were read at all): */
  char *created_on;  /* top-level createdOn as written, or NULL */
  int64_t created_at;/* createdOn in seconds since the epoch (UTC), -1 when absent or not a date */
  char *serialized_file, *model_file, *requirements_file; /* model.serializedFile ..., or NULL */
  ms__settings batch;/* batchSize/maxBatchDelay/... found in the "model" object */
} ms__manifest;

/* 1 when `name` is a valid model name. */
int ms__registry_name_valid(const char *name);
/* 1 when `version` is a valid version string (1..64 printable, no '/'). */
int ms__registry_version_valid(const char *version);

/* `name` past its leading "./" components (configFile values and archive
 * entry names may carry them). */
const char *ms__registry_skip_dot_slash(const char *name);

/* torch-model-archiver's createdOn ("22/04/2023 23:03:58", day first) or an
 * ISO 8601 date and time ("2023-04-22 23:03:58", "2023-04-22T23:03:58Z") in
 * seconds since the epoch, taken as UTC; -1 for anything else. */
int64_t ms__registry_parse_created_on(const char *text);

/*
 * ms__registry_manifest_parse - parse a manifest held in json[len] (need not be
 * NUL-terminated). A document with a "Model" object or a
 * "Model-Archive-Version" key is read as MMS 0.1 and migrated. `origin`
 * names the file in messages. On success *out owns its strings
 * (ms__registry_manifest_free). Errors: MS_ECORRUPT (invalid JSON with its byte
 * offset, wrong field types, missing or invalid model name), MS_ENOMEM.
 * *out untouched on failure.
 */
int ms__registry_manifest_parse(const char *json, size_t len, const char *origin, ms__manifest *out);
void ms__registry_manifest_free(ms__manifest *m);

#endif
