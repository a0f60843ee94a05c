/*
 * libmserve — the model-archive registry and model settings.
 *
 * The registry reads TorchServe / MMS model archives — .mar (zip, stored or
 * deflate), .tar.gz / .tgz (entries under one top folder) and plain
 * directories — and records one registration per (model name, version) in
 * the store. Registrations and runtime overrides are persisted, so a process
 * that reopens the store comes back to the same state with no API calls.
 *
 * Reading an archive. The manifest is MAR-INF/MANIFEST.json (TorchServe,
 * MMS 1.0) or the legacy MMS 0.1 top-level MANIFEST.json, which is migrated
 * ("Model-Name" -> name, "Service" -> handler, version "1.0"). Unknown keys
 * are ignored; a missing modelVersion is "1.0"; the model name must match
 * ^[A-Za-z0-9][A-Za-z0-9_.-]*$ and the version must be 1..64 printable
 * characters without '/'. model.configFile names a TorchServe
 * model-config.yaml, parsed as plain data (tags and anchors/aliases are
 * refused; at most 10000 keys; a key twice in one mapping is refused).
 * Every string kept from an archive (runtime, handler, config keys and
 * values) must be UTF-8 without NUL characters (a "\u0000" or "\0"
 * escape included); anything else is MS_ECORRUPT naming the file and key.
 * Registration reads only the manifest and the config entry: for
 * a zip through its central directory, never the payload. A .tar.gz has no
 * index: it is read whole (every tar header and its checksum, the gzip
 * trailer's CRC-32 and length), so one cut short or damaged anywhere is
 * refused when it is registered. Only regular files are read: a FIFO,
 * device or socket (named like an archive, or as a folder model's manifest
 * or config) is refused at once, never waited on.
 *
 * Versions. Every model name has exactly one default version while it has
 * any: the first version registered (or the one the global config marks
 * "defaultVersion": true, when it is registered), until
 * ms_registry_set_default picks another. "version NULL" in a lookup means
 * that default version.
 *
 * Settings. Canonical keys and their types:
 *   batch_size          int   >= 1     default 1
 *   max_batch_delay_us  int   >= 0     default 100000 (100 ms)
 *   max_queue_size      int   >= 1     default 100
 *   request_timeout_us  int   >= 0     default 120000000 (120 s)
 *   min_workers         int   >= 0     default 1
 *   max_workers         int   >= 0     default 1
 *   device              str            default "cpu"
 * Each key resolves independently to the first level that sets it:
 * runtime override (MS_SRC_API) > the archive (MS_SRC_ARCHIVE: its
 * model-config.yaml, else batch keys in the manifest's "model" object) >
 * the global config file (MS_SRC_GLOBAL: the model's version entry, then
 * "defaults") > the built-in default (MS_SRC_DEFAULT). In archives and the
 * global config the TorchServe names are accepted and converted: batchSize,
 * maxBatchDelay (ms), responseTimeout (s), jobQueueSize, minWorkers,
 * maxWorkers, deviceType. A converted value must fit the key's range in
 * canonical units (at most 2^53 microseconds, checked on both sides: a
 * negative number of seconds never wraps into a valid one); one key set
 * under both of its names in one file is refused. Other model-config.yaml
 * keys (clientTimeoutInMills, parallelType, handler: {...}, ...) are kept
 * as strings (mappings and sequences as JSON text), readable with
 * ms_model_get_str under their own name and listed, with every setting and
 * its source, by ms_model_get_setting.
 * min_workers above max_workers is refused by ms_registry_update when the
 * API level sets one of them (as TorchServe's management API refuses it);
 * from files, or the overrides given at registration, it is kept as
 * resolved and reported (a scan entry's message, a log line), as
 * TorchServe warns and loads such a model.
 * "Unset" is never a number: an unset key simply falls to the next level.
 *
 * Global config file, in one of two forms:
 *  - JSON, the shape of TorchServe's models= setting:
 *      {"defaults": {"batch_size": 4, "maxBatchDelay": 50, ...},
 *       "models": {"<name>": {"<version>": {"batchSize": 8, ...}}}}
 *  - TorchServe's own config.properties, or a snapshot it wrote
 *    (*-snapshot.cfg), unchanged: Java properties syntax (key=value,
 *    key: value, key value, '\' continuations, '#' and '!' comments,
 *    \uXXXX and the other escapes; UTF-8, else read as ISO 8859-1 as Java
 *    does). Its models= JSON and a snapshot's model_snapshot= JSON give the
 *    per-model entries (model_snapshot= replaces models= version by
 *    version); default_workers_per_model (min_workers and max_workers; 0,
 *    TorchServe's "one per GPU or CPU", sets nothing), job_queue_size
 *    (max_queue_size) and default_response_timeout (s, request_timeout_us)
 *    the server-wide defaults. TorchServe has no server-wide batch size or
 *    delay, so batch_size= and max_batch_delay= lines are unused, as there.
 * A path ending in .properties or .cfg is read as properties, one ending in
 * .json as JSON, any other as JSON when it starts with '{'. In per-model
 * entries canonical and TorchServe names are accepted, and
 * "defaultVersion": true makes that version its model's default when it is
 * registered or scanned (one default per model; an explicit
 * ms_registry_set_default afterwards still wins). A known key of the wrong
 * type or range is refused with MS_ECORRUPT naming the file, the key and,
 * for properties, the line. Every other key (TorchServe's marName,
 * startupTimeout, inference_address, ...) is not applied but kept, with its
 * value: ms_registry_unused_keys lists them, ms_registry_get_global reads a
 * server-wide one (model_store, load_models) as written.
 *
 * Thread safety: an ms_registry may be used from several threads at once
 * (calls serialize on the store's lock), and several processes may open
 * registries over one database file. ms_model, ms_model_list,
 * ms_scan_report, ms_key_list and ms_overrides are plain values: use one
 * from one thread at a time (concurrent readers of a const object are
 * fine).
 *
 * Errors: every fallible call returns an ms_status and sets ms_errmsg() to
 * a message that starts with the part, the call and the object, then the
 * cause: "registry: ms_registry_get: model 'noop' version '2.0': not
 * registered", "registry: ms_registry_register: archive 'x.mar': ...".
 * Output parameters are written only on success.
 *
 * Stability: each function is marked Stable or Experimental. Stable
 * functions are the 1.0 API: while libmserve is 0.x they change only with a
 * CHANGELOG entry that names them, and from 1.0 on never within major
 * version 1. Experimental functions may still change in any minor release.
 */
#ifndef MSERVE_REGISTRY_H
#define MSERVE_REGISTRY_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_registry ms_registry;
typedef struct ms_model ms_model;            /* snapshot of one registered version; free with ms_model_free */
typedef struct ms_model_list ms_model_list;  /* snapshots from ms_registry_list */
typedef struct ms_overrides ms_overrides;    /* runtime (management API) settings */
typedef struct ms_scan_report ms_scan_report;
typedef struct ms_key_list ms_key_list;      /* keys of the global config file (ms_registry_unused_keys) */

/* Where a resolved setting came from (highest precedence last). */
typedef enum ms_config_source {
  MS_SRC_DEFAULT = 0, /* built-in default */
  MS_SRC_GLOBAL = 1,  /* global config file */
  MS_SRC_ARCHIVE = 2, /* the archive's model-config.yaml or manifest */
  MS_SRC_API = 3      /* runtime override (ms_registry_register / _update) */
} ms_config_source;

/* The outcome of one path in a scan. */
typedef enum ms_scan_outcome {
  MS_SCAN_ADDED = 0,     /* a new registration */
  MS_SCAN_UPDATED = 1,   /* the archive changed (or came back) and was re-read */
  MS_SCAN_UNCHANGED = 2, /* same size, mtime, inode and device as recorded: skipped */
  MS_SCAN_FAILED = 3,    /* unreadable or invalid: the status and message say why */
  MS_SCAN_MISSING = 4,   /* registered from this folder but gone; kept, marked missing */
  MS_SCAN_SKIPPED = 5,   /* not read, and why: not a model archive or folder (a .zip, another file, a
                          * folder without a manifest, models one level down), or unregistered through
                          * the API and unchanged since. Status MS_OK. Experimental. */
  MS_SCAN_CONFLICT = 6   /* declares the name and version of another archive, which is registered
                          * instead; the message names it and why. Status MS_EEXIST. Experimental. */
} ms_scan_outcome;

/* Built-in materialize limits (see ms_registry_set_limits). */
#define MS_REGISTRY_DEFAULT_MAX_ENTRIES 100000
#define MS_REGISTRY_DEFAULT_MAX_BYTES ((int64_t)64 << 30) /* 64 GiB uncompressed */
#define MS_REGISTRY_DEFAULT_MAX_RATIO 1000                /* uncompressed / archive size */

/* ---- registry ------------------------------------------------------------ */

/*
 * ms_registry_open - open the registry kept in `store`.
 * global_config_path (may be NULL) names the global config file (JSON or
 * TorchServe properties, see above); it is read once, here. The registry
 * borrows `store`: close the registry before the store. On success *out
 * owns the registry; free it with ms_registry_close.
 * Errors: MS_EINVAL (NULL store or out), MS_ENOTFOUND (no file at
 * global_config_path: a host can tell a wrong path from a broken file),
 * MS_EIO (the file exists but cannot be read, or is a folder, FIFO or
 * device: never waited on), MS_ECORRUPT (config file invalid: message names
 * the file, key and, for JSON syntax errors, the byte offset; for
 * properties, the line), MS_ENOMEM.
 * *out untouched on failure. Stable.
 */
MS_API int ms_registry_open(ms_store *store, const char *global_config_path, ms_registry **out);

/* ms_registry_close - free the registry. NULL is a no-op. Not concurrently
 * with other calls on the same registry. Stable. */
MS_API void ms_registry_close(ms_registry *r);

/*
 * ms_registry_set_limits - limits enforced by ms_registry_materialize:
 * max_entries (number of archive entries), max_total_bytes (sum of
 * uncompressed sizes) and max_ratio (total uncompressed bytes divided by the
 * archive's size on disk). Each must be >= 1. Defaults:
 * MS_REGISTRY_DEFAULT_MAX_ENTRIES, _MAX_BYTES, _MAX_RATIO. Registering or
 * scanning a .tar.gz decompresses it whole; that too stays within
 * max_total_bytes (tar headers included; the padding after the last entry
 * may add up to 64 MiB), and within max_ratio once past 64 MiB, so a
 * compression bomb anywhere in it fails with MS_EUNSAFE, before it is
 * inflated, instead of stalling the scan. Per handle, not persisted. Thread
 * safe.
 * Errors: MS_EINVAL (NULL registry, a value < 1). Stable.
 */
MS_API int ms_registry_set_limits(ms_registry *r, int64_t max_entries, int64_t max_total_bytes,
                                  int64_t max_ratio);

/*
 * ms_registry_unused_keys - the keys of the global config file that the
 * registry does not apply (not a setting, not a model's defaultVersion, not
 * model_store or load_models), in file order, each with its value as written
 * (JSON values as JSON text) and its line (1-based; 0 inside a JSON file).
 * Keys inside JSON are paths: "defaults.foo",
 * "models.\"noop\".\"1.11\".marName", "model_snapshot.modelCount". A
 * properties key given twice is listed at its earlier lines with
 * " (overridden by line N)" after the value. A registry
 * without a global config gives an empty list. *out is owned by the caller:
 * free it with ms_key_list_free. Thread safe.
 * Errors: MS_EINVAL (NULL argument), MS_ENOMEM. Experimental.
 */
MS_API int ms_registry_unused_keys(ms_registry *r, ms_key_list **out);
/* ms_key_list_count - number of keys; 0 for NULL. Experimental. */
MS_API size_t ms_key_list_count(const ms_key_list *l);
/* ms_key_list_get - key i: its name, value and line (each output may be
 * NULL; strings belong to the list). Errors: MS_EINVAL (NULL list, i out of
 * range); outputs untouched on failure. Experimental. */
MS_API int ms_key_list_get(const ms_key_list *l, size_t i, const char **key, const char **value,
                           int64_t *line);
/* ms_key_list_free - NULL is a no-op. Experimental. */
MS_API void ms_key_list_free(ms_key_list *l);

/*
 * ms_registry_get_global - the value of a top-level key of the global config
 * file as written (a properties value after its escapes; in a JSON file a
 * string's text, other values as JSON text); a key given twice gives its
 * last value, as Java does. E.g. "model_store", "load_models". *value
 * belongs to the registry and lives until ms_registry_close. Thread safe.
 * Errors: MS_EINVAL (NULL argument), MS_ENOTFOUND (no such key, or no
 * global config). Experimental.
 */
MS_API int ms_registry_get_global(ms_registry *r, const char *key, const char **value);

/*
 * ms_registry_scan - register every archive in the folder model_store_dir
 * (not its sub-folders' contents): its *.mar, *.tar.gz and *.tgz files and
 * sub-folders holding a manifest. Every other name is one SKIPPED entry
 * saying why (a .zip, another file, a folder without a manifest — "it holds
 * a model one level down ('noop')" when its models sit one level too deep
 * —, a link that cannot be followed); hidden names are not read nor
 * reported. A registration made from this folder with ms_registry_register
 * (a .zip, say) is checked like the listed ones. An archive whose size,
 * mtime, inode and device equal the recorded ones is skipped without being
 * opened (folders are always re-read: their stat does not cover the files
 * inside); a changed one is re-read and, when its content hash or manifest
 * changed, updated (its overrides are kept when name and version stay the
 * same); registrations of this folder whose file is gone are marked missing
 * (they are kept, so a restored file comes back as UPDATED), unless another
 * file of the folder now declares the same name and version: the archive
 * was moved or renamed, and its registration (overrides and default flag
 * included) follows it, reported UPDATED under the new path. A bad archive
 * is reported and the scan goes on. An archive unregistered through the API
 * (ms_registry_unregister) is SKIPPED, saying so, while its content stays
 * the one unregistered; once it changes (another content hash) it is
 * registered as a new one. Two files of the folder that declare the same
 * name and version: the one with the newest createdOn in its manifest wins
 * (torch-model-archiver's "22/04/2023 23:03:58", or ISO 8601; a createdOn
 * that is absent or not a date is older than any), then the first path; the
 * winner is registered (taking over the registration a loser held, with its
 * overrides and default flag) and each loser is one CONFLICT entry (status
 * MS_EEXIST) naming the winner and why, at every scan, whatever the order
 * the files came in. A name and version registered from a file outside the
 * folder keeps its registration; the scanned archive is the CONFLICT. All
 * changes of one scan commit in one transaction. Scanning an unchanged
 * folder twice changes nothing in the store. A newly read archive whose
 * files resolve min_workers above max_workers is registered as resolved
 * (TorchServe warns and loads it) and its entry's message says so
 * ("...; warning: min_workers 2 (archive) is greater than max_workers 1
 * (default) (before runtime overrides)").
 * out (may be NULL) receives the report, owned by the caller (free with
 * ms_scan_report_free): every archive and skipped name in path order, then
 * every vanished registration, each with its outcome.
 * Cost: a .mar reads its central directory, manifest and config (a few KiB);
 * a .tar.gz has no index, so it is read once front to back, hashed
 * (SHA-256) and decompressed to its end (every header and the gzip trailer
 * checked): its cost grows with its size, and the stat identity above is
 * what keeps re-scans cheap (also for conflicts and unregistered archives,
 * except that every member of a conflict is read at every scan). A FIFO,
 * device or socket named like an archive, and a folder model whose manifest
 * or config is not a regular file, are one FAILED entry each
 * (MS_EUNSUPPORTED / MS_ECORRUPT, "not a regular file (a FIFO)"), never
 * waited on; the scan goes on.
 * Thread safety: as every registry call; concurrent scans of one folder
 * from several processes are safe (each archive is registered once).
 * Returns MS_OK even when some archives failed, were skipped or conflict
 * (a store that is otherwise fine boots: whether a FAILED or CONFLICT
 * entry is fatal is the host's call); errors are for the whole scan:
 * MS_EINVAL (NULL argument), MS_ENOTFOUND (no such folder), MS_EIO (folder
 * unreadable), MS_EBUSY, MS_ENOMEM — then nothing changed (the report is
 * built before the scan's transaction commits) and *out is untouched.
 * Stable (the SKIPPED and CONFLICT outcomes: Experimental).
 */
MS_API int ms_registry_scan(ms_registry *r, const char *model_store_dir, ms_scan_report **out);

/*
 * ms_registry_register - register the archive at archive_path (a .mar,
 * .tar.gz/.tgz or a folder) with runtime overrides `ov` (may be NULL). The
 * path is stored canonical (absolute, symbolic links resolved). The first
 * version registered of a name becomes its default, and so does a version
 * the global config marks "defaultVersion": true. Registering a path
 * unregistered before clears its "removed through the API" mark. When the
 * settings resolve min_workers above max_workers the registration is made
 * as asked and a warning logged (ms_registry_update refuses it instead).
 * out (may be NULL) receives a snapshot of the registration (free with
 * ms_model_free).
 * Errors: MS_EINVAL (NULL argument), MS_ENOTFOUND (no such file), MS_EIO
 * (unreadable), MS_ECORRUPT (bad archive, manifest or config: message names
 * the file and cause; for a .tar.gz also one that cannot be read to its
 * end: "truncated", a tar header failing its checksum, a gzip trailer whose
 * CRC-32 or length does not match), MS_EUNSAFE (a .tar.gz that breaks the
 * limits of ms_registry_set_limits), MS_EUNSUPPORTED (not a zip, tar.gz or
 * folder; a FIFO, device or socket), MS_EEXIST (that name and version, or
 * that path, is already registered), MS_EBUSY, MS_ENOMEM.
 * Nothing changes on failure (the snapshot is built before the
 * registration commits) and *out is untouched. Stable.
 */
MS_API int ms_registry_register(ms_registry *r, const char *archive_path, const ms_overrides *ov,
                                ms_model **out);

/*
 * ms_registry_unregister - remove one version, or every version when
 * version is NULL. Removing the default version while other versions remain
 * is refused with MS_ECONFLICT (set another default first). Extracted
 * folders are not deleted (they may be in use). The archives stay out of
 * later scans of their folder, across restarts, as a TorchServe operator
 * expects after DELETE /models/x/1.0: the store keeps a "removed through the
 * API" mark per archive path, which a changed archive (another content
 * hash) or ms_registry_register of the path clears.
 * Errors: MS_EINVAL, MS_ENOTFOUND (no such name or version), MS_ECONFLICT,
 * MS_EBUSY. Stable.
 */
MS_API int ms_registry_unregister(ms_registry *r, const char *name, const char *version);

/*
 * ms_registry_set_default - make `version` the default version of `name`.
 * Errors: MS_EINVAL, MS_ENOTFOUND, MS_EBUSY. Stable.
 */
MS_API int ms_registry_set_default(ms_registry *r, const char *name, const char *version);

/*
 * ms_registry_update - merge runtime overrides into a registration
 * (version NULL: the default version): keys set in `ov` replace stored
 * ones, keys cleared with ms_overrides_clear are removed, others stay.
 * Refused, as TorchServe refuses it, when the settings would then resolve
 * min_workers above max_workers with either of them set by the API level:
 * MS_EINVAL naming both values and their sources ("min_workers 4 (API) is
 * greater than max_workers 2 (archive)").
 * Errors: MS_EINVAL, MS_ENOTFOUND, MS_EBUSY. Nothing changes on failure. Stable.
 */
MS_API int ms_registry_update(ms_registry *r, const char *name, const char *version,
                              const ms_overrides *ov);

/*
 * ms_registry_get - a snapshot of one registration (version NULL: the
 * default version), with settings resolved now. *out is owned by the
 * caller: free with ms_model_free.
 * Errors: MS_EINVAL, MS_ENOTFOUND, MS_ECORRUPT (damaged row), MS_EBUSY, MS_ENOMEM. Stable.
 */
MS_API int ms_registry_get(ms_registry *r, const char *name, const char *version, ms_model **out);

/*
 * ms_registry_list - snapshots of every registration of `name` (NULL: of
 * every model), ordered by name then registration order. *out is owned by
 * the caller: free with ms_model_list_free. An empty registry gives an
 * empty list, not an error.
 * Errors: MS_EINVAL, MS_EBUSY, MS_ENOMEM. Stable.
 */
MS_API int ms_registry_list(ms_registry *r, const char *name, ms_model_list **out);

/*
 * ms_registry_materialize - extract the model's archive into
 * <root_dir>/<content-hash>/ once and write that folder's path into
 * path[path_len]. The archive is opened once (a regular file only) and
 * checked against the registered content hash (a zip before and after
 * extracting, a tar.gz while extracting), and every entry is verified as it
 * is written: a zip entry's data against its CRC-32 (the content hash
 * covers only the central directory, so this is what catches an archive
 * changed in place after registration), a tar.gz's tar header checksums
 * and gzip trailer (CRC-32 and length); any failure is MS_ECORRUPT naming
 * the archive and the entry. It is extracted into a temporary folder under
 * root_dir (.tmp-*, locked while the extraction runs), and only once every
 * entry was written and verified is it flushed to disk and renamed into
 * place, so two threads or processes racing give one complete folder, and
 * a folder found under its hash (even after a crash) is complete and
 * verified: it is reused without reading the archive. A crash mid-way
 * leaves only a temporary folder, never reused; the next extraction under
 * root_dir removes those whose lock nobody holds. A folder model is not
 * copied: its own path is returned.
 * Refused with MS_EUNSAFE, leaving nothing behind and writing nothing
 * outside root_dir: absolute paths, ".." components, a name component
 * longer than 255 bytes, symbolic and hard links, device/fifo/socket
 * entries, and archives over the limits of ms_registry_set_limits.
 * root_dir is created when missing (not its parents).
 * Thread safety: safe from several threads and processes at once; the
 * snapshot m is only read.
 * Errors: MS_EINVAL (NULL argument, path_len too small: nothing written),
 * MS_ENOTFOUND (the archive is gone and was never extracted), MS_EIO (also:
 * the path is now a FIFO, device or folder), MS_ECORRUPT (archive damaged,
 * an entry failing its CRC-32, or its content changed since registration:
 * rescan), MS_EUNSAFE, MS_ENOMEM. On failure no folder is left under root_dir. Stable.
 */
MS_API int ms_registry_materialize(ms_registry *r, const ms_model *m, const char *root_dir,
                                   char *path, size_t path_len);

/*
 * ms_archive_inspect - read an archive without a store or registry: the
 * snapshot has name, version, runtime, handler, content hash and settings
 * resolved from the archive, the global config (global_config_path, may be
 * NULL) and the defaults. ms_model_is_default gives 0. Free with
 * ms_model_free. Thread safe.
 * Errors: as ms_registry_register (minus MS_EEXIST/MS_EBUSY). Stable.
 */
MS_API int ms_archive_inspect(const char *archive_path, const char *global_config_path, ms_model **out);

/*
 * ms_archive_validate - check an archive as TorchServe would when it loads
 * the model: everything ms_archive_inspect checks, and every file the
 * manifest names is in the archive as a regular file — serializedFile,
 * modelFile, configFile, requirementsFile, and the handler when it names a
 * file (a .py, with or without ":function"; a built-in handler's name is no
 * file); for a legacy MMS 0.1 manifest, its Service. In a .tar.gz the names
 * are taken below its top folder; in a folder model, relative to it. out
 * (may be NULL) receives the snapshot ms_archive_inspect gives, owned by the
 * caller (ms_model_free). Thread safe. Costs what ms_archive_inspect costs
 * plus one pass over a zip's central directory or a tar.gz's headers.
 * Errors: as ms_archive_inspect, and MS_ECORRUPT for a missing file
 * ("archive 'x.mar': the manifest's model.serializedFile 'model.pt' is not
 * in the archive"). *out untouched on failure. Experimental.
 */
MS_API int ms_archive_validate(const char *archive_path, const char *global_config_path, ms_model **out);

/* ---- runtime overrides --------------------------------------------------- */

/* ms_overrides_new - an empty set of overrides; free with ms_overrides_free.
 * Errors: MS_EINVAL, MS_ENOMEM. Stable. */
MS_API int ms_overrides_new(ms_overrides **out);

/*
 * ms_overrides_set_int - set an integer canonical key (batch_size,
 * max_batch_delay_us, max_queue_size, request_timeout_us, min_workers,
 * max_workers). Errors: MS_EINVAL for an unknown key (the message lists the
 * valid keys), a string key, or a value out of range (negative; 0 for
 * batch_size and max_queue_size; more than 2^53). Stable.
 */
MS_API int ms_overrides_set_int(ms_overrides *ov, const char *key, int64_t value);

/*
 * ms_overrides_set_str - set a string canonical key (device). The value is
 * copied. Errors: MS_EINVAL (unknown key, integer key, NULL or empty value,
 * a value that is not UTF-8),
 * MS_ENOMEM. Stable.
 */
MS_API int ms_overrides_set_str(ms_overrides *ov, const char *key, const char *value);

/*
 * ms_overrides_clear - mark a canonical key to be removed from the stored
 * overrides by ms_registry_update (the setting falls back to the archive,
 * global config or default). Errors: MS_EINVAL (unknown key). Stable.
 */
MS_API int ms_overrides_clear(ms_overrides *ov, const char *key);

/* ms_overrides_free - NULL is a no-op. Stable. */
MS_API void ms_overrides_free(ms_overrides *ov);

/* ---- model snapshots ----------------------------------------------------- */

/* Accessors. The strings belong to the snapshot and live until
 * ms_model_free; never NULL (runtime and handler may be ""). Stable. */
MS_API const char *ms_model_name(const ms_model *m);
MS_API const char *ms_model_version(const ms_model *m);
MS_API const char *ms_model_runtime(const ms_model *m);
MS_API const char *ms_model_handler(const ms_model *m);
/* The archive path as registered (absolute). Stable. */
MS_API const char *ms_model_archive_path(const ms_model *m);
/* Hex SHA-256 identifying the archive's content: for a zip, of its central
 * directory (every entry's name, size and CRC-32, against which each
 * entry's bytes are checked when extracted), manifest and config; for
 * a tar.gz, of every byte of the file; for a folder, of its manifest and
 * config. Also the name of the folder ms_registry_materialize extracts to. Stable. */
MS_API const char *ms_model_content_hash(const ms_model *m);
/* 1 for the default version of its name, else 0. Stable. */
MS_API int ms_model_is_default(const ms_model *m);
/* 1 when the last scan found the archive gone, else 0. Stable. */
MS_API int ms_model_is_missing(const ms_model *m);

/*
 * ms_model_get_int - the resolved value of an integer canonical key and
 * (source may be NULL) where it came from. Canonical keys always resolve
 * (they have defaults).
 * Errors: MS_EINVAL (NULL argument, or a string key), MS_ENOTFOUND (a key
 * that is neither canonical nor present). Outputs untouched on failure. Stable.
 */
MS_API int ms_model_get_int(const ms_model *m, const char *key, int64_t *value,
                               ms_config_source *source);

/*
 * ms_model_get_str - the resolved value of the string canonical key
 * "device", or of any other key of the archive's model-config.yaml under its
 * own name (scalars as written, mappings/sequences as JSON text; source
 * MS_SRC_ARCHIVE). The string belongs to the snapshot.
 * Errors: MS_EINVAL (NULL argument, or an integer canonical key),
 * MS_ENOTFOUND (not set anywhere). Outputs untouched on failure. Stable.
 */
MS_API int ms_model_get_str(const ms_model *m, const char *key, const char **value,
                               ms_config_source *source);

/*
 * Every setting of a snapshot with its source, for showing them all: the
 * canonical keys in the order of the header's table (resolved: value and
 * source as ms_model_get_int / _str give them; integers as decimal text),
 * then every other key of the archive's model-config.yaml in file order
 * (TorchServe's clientTimeoutInMills, parallelType, handler: {...}, ...;
 * scalars as written, mappings and sequences as JSON text; source
 * MS_SRC_ARCHIVE).
 * ms_model_setting_count - the number of settings (0 for NULL). Experimental.
 * ms_model_get_setting - setting i: its key, its value as text and its
 * source (each output may be NULL; strings belong to the snapshot).
 * Errors: MS_EINVAL (NULL model, i out of range); outputs untouched on
 * failure. Experimental.
 */
MS_API size_t ms_model_setting_count(const ms_model *m);
MS_API int ms_model_get_setting(const ms_model *m, size_t i, const char **key, const char **value,
                                ms_config_source *source);

/* ms_model_free - NULL is a no-op. Stable. */
MS_API void ms_model_free(ms_model *m);

/* ms_model_list_count - number of snapshots; 0 for NULL. Stable. */
MS_API size_t ms_model_list_count(const ms_model_list *l);
/* ms_model_list_get - the i-th snapshot into *out, owned by the list (valid
 * until ms_model_list_free). Errors: MS_EINVAL (NULL argument, i out of
 * range); *out is untouched on failure. Stable. */
MS_API int ms_model_list_get(const ms_model_list *l, size_t i, const ms_model **out);
/* ms_model_list_free - frees the list and its snapshots. NULL is a no-op. Stable. */
MS_API void ms_model_list_free(ms_model_list *l);

/* ---- scan reports -------------------------------------------------------- */

/* Number of entries with `outcome`; 0 for NULL. Stable. */
MS_API size_t ms_scan_report_count_outcome(const ms_scan_report *rep, ms_scan_outcome outcome);
/* Number of entries; 0 for NULL. Stable. */
MS_API size_t ms_scan_report_count(const ms_scan_report *rep);
/*
 * ms_scan_report_get - entry i: the archive path, its outcome, the status
 * (MS_OK unless FAILED) and a message (the reason: error text for FAILED,
 * "name version" for others). Each output may be NULL. Strings belong to
 * the report. Errors: MS_EINVAL (NULL rep, i out of range). Stable.
 */
MS_API int ms_scan_report_get(const ms_scan_report *rep, size_t i, const char **path,
                                ms_scan_outcome *outcome, int *status, const char **message);
/* ms_scan_report_free - NULL is a no-op. Stable. */
MS_API void ms_scan_report_free(ms_scan_report *rep);

#ifdef __cplusplus
}
#endif

#endif /* MSERVE_REGISTRY_H */
