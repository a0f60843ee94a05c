/* Internal: TorchServe's model-config.yaml, read into one level of settings
 * (config_yaml.c).
 *
 * Layer: leaf reader (settings.h, lib/common, libyaml). Used by meta.c.
 *
 * Fuzz entry point: ms__registry_yaml_parse + ms__registry_settings_free. */
#ifndef MS_REGISTRY_CONFIG_YAML_H
#define MS_REGISTRY_CONFIG_YAML_H

#include <stddef.h>

#include "registry/settings.h"

/* Most mapping keys a model-config.yaml may hold, all mappings together
 * (real ones have tens); more is MS_ECORRUPT naming the file and the limit. */
#define MS__CONFIG_MAX_KEYS 10000

/*
 * ms__registry_yaml_parse - parse a TorchServe model-config.yaml held in
 * buf[len] (need not be NUL-terminated). The top level must be a mapping
 * (an empty document is an empty config). Known keys (canonical or
 * TorchServe names) must be integers (device: a scalar); other keys go to
 * `extra` as strings (scalars as written, mappings and sequences as JSON).
 * Tags, anchors and aliases are refused; depth, events and keys
 * (MS__CONFIG_MAX_KEYS) are bounded; a key twice in a mapping, or a known
 * key under both of its names, is refused; every key and value must be
 * UTF-8 without NUL (a "\0" escape is refused, not cut short). Cost
 * O(n log n) in the keys. On success *out owns its data (ms__registry_settings_free). Errors: MS_ECORRUPT
 * naming origin, line and cause; MS_ENOMEM. *out untouched on failure.
 */
int ms__registry_yaml_parse(const char *buf, size_t len, const char *origin, ms__settings *out);

#endif
