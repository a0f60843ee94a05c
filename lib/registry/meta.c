/* An archive's metadata from its manifest and model-config.yaml. */
#include "registry/meta.h"

#include <stdio.h>
#include <string.h>

#include "registry/config_yaml.h"

int ms__registry_archive_parse_meta(const char *origin, const char *manifest, size_t manifest_len, const char *config,
                                    size_t config_len, const char *config_name, ms__archive_meta *out) {
  int st = ms__registry_manifest_parse(manifest, manifest_len, origin, &out->manifest);
  if (st) return st;
  if ((st = ms__registry_settings_copy(&out->config, &out->manifest.batch))) return st;
  if (config) {
    char what[1200];
    snprintf(what, sizeof what, "%s: %s", origin, config_name);
    ms__settings yaml;
    if ((st = ms__registry_yaml_parse(config, config_len, what, &yaml))) return st;
    st = ms__registry_settings_merge(&out->config, &yaml); /* the yaml wins key by key */
    ms__registry_settings_free(&yaml);
  }
  return st;
}

void ms__registry_archive_meta_free(ms__archive_meta *m) {
  if (!m) return;
  ms__registry_manifest_free(&m->manifest);
  ms__registry_settings_free(&m->config);
  memset(m, 0, sizeof *m);
}
