/* Internal: the global config file — per-model entries and server-wide
 * defaults that rank below the archive — in either of its two forms
 * (global_config.c):
 *
 *  - JSON: {"defaults": {...}, "models": {"<name>": {"<version>": {...}}}};
 *  - TorchServe's config.properties, or one of its snapshots
 *    (*-snapshot.cfg): Java properties (properties.h) whose models= holds
 *    the same {"<name>": {"<version>": {...}}} JSON, model_snapshot= a
 *    snapshot {"name":..., "models": {...}}, and whose server-wide
 *    default_workers_per_model (min_workers and max_workers; 0 means
 *    TorchServe's "one per GPU or CPU" and sets nothing), job_queue_size
 *    (max_queue_size) and default_response_timeout (seconds,
 *    request_timeout_us) are the defaults. TorchServe has no server-wide
 *    batch size or delay: batch_size= and max_batch_delay= lines are
 *    listed as unused, as TorchServe ignores them.
 *
 * In per-model entries the canonical and TorchServe names are settings
 * (batchSize, maxBatchDelay ms, responseTimeout s, minWorkers, ...), and
 * "defaultVersion": true makes that version its model's default when it is
 * registered. Every other key (marName, startupTimeout, inference_address,
 * ...) is kept in the list of unused keys with its value, so a host can show
 * what the registry does not apply; model_store and load_models count as
 * used (hosts and the command-line tools read them, ms__registry_global_get).
 *
 * The form: a path ending in .properties or .cfg is properties, one ending
 * in .json is JSON; any other is JSON when its first character (after
 * whitespace and a UTF-8 byte order mark) is '{', else properties.
 *
 * Layer: leaf reader (settings.h, properties.h, jsonpos.h, lib/common). Used
 * by model.c (resolution), rows.c (default versions) and registry.c.
 *
 * Fuzz entry points: ms__registry_global_parse + ms__registry_global_free
 * (fuzz_global_config.c for JSON, fuzz_registry_properties.c for
 * properties). */
#ifndef MS_REGISTRY_GLOBAL_CONFIG_H
#define MS_REGISTRY_GLOBAL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "registry/settings.h"

enum { MS__GLOBAL_JSON = 0, MS__GLOBAL_PROPERTIES = 1 };

/* A key as written and its value: a top-level key, or a path into the JSON
 * ("defaults.maxWorkers", "models.\"noop\".\"1.11\".marName",
 * "model_snapshot.modelCount"). Values are text as written, JSON values as
 * JSON text. line: 1-based line of the file, 0 when unknown (inside a JSON
 * file). */
typedef struct ms__global_kv {
  char *key, *value;
  int64_t line;
} ms__global_kv;

typedef struct ms__global_entry {
  char *name, *version;
  ms__settings s;
  int is_default; /* "defaultVersion": true */
} ms__global_entry;

typedef struct ms__global_config {
  int format;                /* MS__GLOBAL_JSON or MS__GLOBAL_PROPERTIES */
  ms__settings defaults;
  ms__global_entry *entries; /* sorted by (name, version) */
  size_t n_entries;
  ms__global_kv *server;     /* top-level keys (last occurrence of each), in file order */
  size_t n_server;
  ms__global_kv *unused;     /* keys the registry does not apply, in file order */
  size_t n_unused;
} ms__global_config;

/*
 * ms__registry_global_parse - parse the global config held in buf[len] (need
 * not be NUL-terminated), JSON or properties as the header says; `origin`
 * (the path) names it in messages and decides the form. Known keys of the
 * wrong type or range and a wrong shape give MS_ECORRUPT naming origin, key
 * and (properties) line; JSON syntax errors give the byte offset. A model
 * version listed twice (in one models= or file; model_snapshot= replaces
 * models= entry by entry, as TorchServe restores a snapshot), two default
 * versions of one model, and a model name or version that is not UTF-8
 * text without NUL, are MS_ECORRUPT. O(n log n) in the entries. On success
 * *out is owned by the caller (ms__registry_global_free). *out untouched on
 * failure.
 */
int ms__registry_global_parse(const char *buf, size_t len, const char *origin, ms__global_config **out);
void ms__registry_global_free(ms__global_config *g);

/* The most a global config file may hold. */
#define MS__GLOBAL_CONFIG_MAX ((size_t)16 << 20)
/* Read and parse the file at path (NULL: *out = NULL, no config). Errors:
 * MS_ENOTFOUND (no file there), MS_EIO (unreadable, a folder, FIFO or
 * device: never waited on), MS_ECORRUPT (larger than MS__GLOBAL_CONFIG_MAX,
 * or invalid), MS_ENOMEM. */
int ms__registry_global_load(const char *path, ms__global_config **out);
/* The per-version entry for name/version, or NULL. O(log n). */
const ms__settings *ms__registry_global_lookup(const ms__global_config *g, const char *name, const char *version);
/* 1 when the file marks name/version "defaultVersion": true (g may be NULL). */
int ms__registry_global_is_default(const ms__global_config *g, const char *name, const char *version);
/* The value of a top-level key as written (its last occurrence), or NULL. */
const char *ms__registry_global_get(const ms__global_config *g, const char *key);

#endif
