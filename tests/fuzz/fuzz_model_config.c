/* libFuzzer target: TorchServe model-config.yaml (libyaml, plain data only).
 * A parsed config must round-trip through its persisted JSON form with the
 * same keys and values, every integer must be in its key's range, and every
 * string kept must be UTF-8 text without NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "mserve/common.h"
#include "registry/config_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ms__settings s;
  int st = ms__registry_yaml_parse((const char *)data, size, "fuzz/model-config.yaml", &s);
  if (st != MS_OK) {
    if (ms_errmsg()[0] == '\0') abort();
    return 0;
  }
  for (int k = 0; k < MS__K_COUNT; k++) {
    if (!(s.set & (1u << k))) continue;
    if (ms__registry_key_is_str(k)) {
      if (!s.device) abort();
    } else if (ms__registry_key_check_int(k, s.ival[k], "fuzz") != MS_OK) {
      abort();
    }
  }
  /* Every string kept is text: UTF-8 without NUL, keys and values alike. */
  if (s.device && !ms__text_utf8_str(s.device)) abort();
  for (const cJSON *it = s.extra ? s.extra->child : NULL; it; it = it->next)
    if (!ms__text_utf8_str(it->string) || !cJSON_IsString(it) || !ms__text_utf8_str(it->valuestring)) abort();
  if (s.extra && cJSON_GetArraySize(s.extra) > MS__CONFIG_MAX_KEYS) abort();
  char *json = ms__registry_settings_to_json(&s);
  if (json) {
    ms__settings back;
    if (ms__registry_settings_from_json(json, "fuzz/roundtrip", &back) != MS_OK) abort();
    if (back.set != s.set) abort();
    for (int k = 0; k < MS__K_COUNT; k++) {
      if (!(s.set & (1u << k))) continue;
      if (ms__registry_key_is_str(k) ? strcmp(back.device, s.device) != 0 : back.ival[k] != s.ival[k]) abort();
    }
    ms__registry_settings_free(&back);
    free(json);
  }
  ms__registry_settings_free(&s);
  return 0;
}
