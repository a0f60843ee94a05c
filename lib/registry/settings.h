/* Internal: canonical model settings, their TorchServe spellings, the
 * model-config.yaml parser and the global config parser.
 *
 * Fuzz entry points (each takes a buffer, never a file):
 *   ms__model_config_parse_yaml + ms__settings_free
 *   ms__global_config_parse     + ms__global_config_free
 */
#ifndef MS_REGISTRY_SETTINGS_H
#define MS_REGISTRY_SETTINGS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Canonical keys, in the order of the public header. */
typedef enum ms__key {
  MS__K_BATCH_SIZE = 0,
  MS__K_MAX_BATCH_DELAY_US,
  MS__K_MAX_QUEUE_SIZE,
  MS__K_REQUEST_TIMEOUT_US,
  MS__K_MIN_WORKERS,
  MS__K_MAX_WORKERS,
  MS__K_DEVICE,
  MS__K_COUNT
} ms__key;

/* One level of settings: which keys it sets and their values, plus (for
 * archive configs) every other key kept as a string. */
typedef struct ms__settings {
  unsigned set;               /* bit k set: key k has a value at this level */
  int64_t ival[MS__K_COUNT];  /* integer keys */
  char *device;               /* MS__K_DEVICE when set */
  cJSON *extra;               /* object of string values, or NULL */
} ms__settings;

/* Canonical key by name, or -1. */
int ms__key_lookup(const char *name);
/* Canonical name of key k. */
const char *ms__key_name(int k);
/* 1 when key k holds a string. */
int ms__key_is_str(int k);
/* Built-in default of an integer key. */
int64_t ms__key_default_int(int k);
/* "batch_size, max_batch_delay_us, ..." for messages. */
const char *ms__key_list(void);
/* Range check of an integer value in canonical units (key minimum .. 2^53):
 * MS_OK or MS_EINVAL with a message prefixed by `what`. */
int ms__key_check_int(int k, int64_t v, const char *what);

/* Map a canonical or TorchServe key name to a canonical key and the factor
 * turning its unit into the canonical unit (maxBatchDelay ms -> 1000).
 * Returns -1 for other names. */
int ms__key_map_external(const char *name, int64_t *factor);

/* Set one canonical or TorchServe key from a JSON value (number, or string
 * for device). Returns MS_OK, 1 when the name is not a settings key (the
 * caller decides), or MS_ECORRUPT naming origin and key for a bad type or
 * range. */
int ms__settings_set_json(ms__settings *s, const char *name, const cJSON *v, const char *origin);
/* The same for an integer `raw` written in the unit of `name` (e.g. seconds
 * for responseTimeout): converted with a check on both sides, so a value
 * whose canonical form does not fit is MS_ECORRUPT, never a wrapped number.
 * A key already set at this level (under either spelling) is MS_ECORRUPT. */
int ms__settings_set_int(ms__settings *s, const char *name, int64_t raw, const char *origin);

void ms__settings_init(ms__settings *s);
void ms__settings_free(ms__settings *s);
/* Deep copy; MS_OK or MS_ENOMEM. */
int ms__settings_copy(ms__settings *dst, const ms__settings *src);
/* Keys set in `over` replace those of `base` (extras merged too: base's
 * other extras keep their order, then over's). O(n log n) in the extras;
 * MS_OK, or MS_ENOMEM with base unchanged. */
int ms__settings_merge(ms__settings *base, const ms__settings *over);

/* Persisted form: {"batch_size": 1, ..., "device": "cpu", "extra": {...}}.
 * to_json returns a malloc'd string (NULL + MS_ENOMEM message on failure). */
char *ms__settings_to_json(const ms__settings *s);
int ms__settings_from_json(const char *json, const char *origin, ms__settings *out);

/* Most mapping keys a model-config.yaml may hold, all mappings together
 * (real ones have tens); more is MS_ECORRUPT naming the file and the limit. */
#define MS__CONFIG_MAX_KEYS 10000

/*
 * ms__model_config_parse_yaml - parse a TorchServe model-config.yaml held in
 * buf[len] (need not be NUL-terminated). The top level must be a mapping
 * (an empty document is an empty config). Known keys (canonical or
 * TorchServe names) must be integers (device: a scalar); other keys go to
 * `extra` as strings (scalars as written, mappings and sequences as JSON).
 * Tags, anchors and aliases are refused; depth, events and keys
 * (MS__CONFIG_MAX_KEYS) are bounded; a key twice in a mapping, or a known
 * key under both of its names, is refused; every key and value must be
 * UTF-8 without NUL (a "\0" escape is refused, not cut short). Cost
 * O(n log n) in the keys. On success *out owns its data (ms__settings_free). Errors: MS_ECORRUPT
 * naming origin, line and cause; MS_ENOMEM. *out untouched on failure.
 */
int ms__model_config_parse_yaml(const char *buf, size_t len, const char *origin, ms__settings *out);

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
 * ms__global_config_parse - parse the global config JSON held in buf[len]
 * (need not be NUL-terminated): {"defaults": {...}, "models": {"<name>":
 * {"<version>": {...}}}}. Unknown top-level and setting keys are ignored
 * (logged at debug level); known keys of the wrong type or range and a
 * wrong shape give MS_ECORRUPT naming origin and key; JSON syntax errors
 * give the byte offset. A model version listed twice, and a model name or
 * version that is not UTF-8 text without NUL, are MS_ECORRUPT. O(n log n)
 * in the entries. On success *out is owned by the caller
 * (ms__global_config_free). *out untouched on failure.
 */
int ms__global_config_parse(const char *buf, size_t len, const char *origin, ms__global_config **out);
void ms__global_config_free(ms__global_config *g);
/* The per-version entry for name/version, or NULL. O(log n). */
const ms__settings *ms__global_config_lookup(const ms__global_config *g, const char *name,
                                             const char *version);

#endif
