/* Internal: canonical model settings, their TorchServe spellings and units,
 * and one level of settings (what one file or the API sets), with the
 * helpers that set, merge and persist it (settings.c).
 *
 * Layer: leaf (depends on lib/common and cJSON only). The readers of
 * settings files (config_yaml.h, global_config.h) and everything above
 * build on it.
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
int ms__registry_key_lookup(const char *name);
/* Canonical name of key k. */
const char *ms__registry_key_name(int k);
/* 1 when key k holds a string. */
int ms__registry_key_is_str(int k);
/* Built-in default of an integer key. */
int64_t ms__registry_key_default_int(int k);
/* "batch_size, max_batch_delay_us, ..." for messages. */
const char *ms__registry_key_list(void);
/* Range check of an integer value in canonical units (key minimum .. 2^53):
 * MS_OK or MS_EINVAL with a message prefixed by `what`. */
int ms__registry_key_check_int(int k, int64_t v, const char *what);

/* Map a canonical or TorchServe key name to a canonical key and the factor
 * turning its unit into the canonical unit (maxBatchDelay ms -> 1000).
 * Returns -1 for other names. */
int ms__registry_key_map_external(const char *name, int64_t *factor);

/* Set one canonical or TorchServe key from a JSON value (number, or string
 * for device). Returns MS_OK, 1 when the name is not a settings key (the
 * caller decides), or MS_ECORRUPT naming origin and key for a bad type or
 * range. */
int ms__registry_settings_set_json(ms__settings *s, const char *name, const cJSON *v, const char *origin);
/* The same for an integer `raw` written in the unit of `name` (e.g. seconds
 * for responseTimeout): converted with a check on both sides, so a value
 * whose canonical form does not fit is MS_ECORRUPT, never a wrapped number.
 * A key already set at this level (under either spelling) is MS_ECORRUPT. */
int ms__registry_settings_set_int(ms__settings *s, const char *name, int64_t raw, const char *origin);
/* The same for key k written as `name` (in messages) in a unit of `factor`
 * canonical units named `unit` (NULL: a count), e.g. TorchServe's
 * default_response_timeout (seconds) for request_timeout_us. */
int ms__registry_settings_set_scaled(ms__settings *s, int k, int64_t factor, const char *unit, const char *name,
                                     int64_t raw, const char *origin);

void ms__registry_settings_init(ms__settings *s);
void ms__registry_settings_free(ms__settings *s);
/* Deep copy; MS_OK or MS_ENOMEM. */
int ms__registry_settings_copy(ms__settings *dst, const ms__settings *src);
/* Keys set in `over` replace those of `base` (extras merged too: base's
 * other extras keep their order, then over's). O(n log n) in the extras;
 * MS_OK, or MS_ENOMEM with base unchanged. */
int ms__registry_settings_merge(ms__settings *base, const ms__settings *over);

/* Persisted form: {"batch_size": 1, ..., "device": "cpu", "extra": {...}}.
 * to_json returns a malloc'd string (NULL + MS_ENOMEM message on failure). */
char *ms__registry_settings_to_json(const ms__settings *s);
int ms__registry_settings_from_json(const char *json, const char *origin, ms__settings *out);

#endif
