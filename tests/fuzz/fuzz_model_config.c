/* libFuzzer target: TorchServe model-config.yaml (libyaml, plain data only).
 * A parsed config must round-trip through its persisted JSON form with the
 * same keys and values, and every integer must be in its key's range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mserve/common.h"
#include "registry/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ms__settings s;
  int st = ms__model_config_parse_yaml((const char *)data, size, "fuzz/model-config.yaml", &s);
  if (st != MS_OK) {
    if (ms_errmsg()[0] == '\0') abort();
    return 0;
  }
  for (int k = 0; k < MS__K_COUNT; k++) {
    if (!(s.set & (1u << k))) continue;
    if (ms__key_is_str(k)) {
      if (!s.device) abort();
    } else if (ms__key_check_int(k, s.ival[k], "fuzz") != MS_OK) {
      abort();
    }
  }
  char *json = ms__settings_to_json(&s);
  if (json) {
    ms__settings back;
    if (ms__settings_from_json(json, "fuzz/roundtrip", &back) != MS_OK) abort();
    if (back.set != s.set) abort();
    for (int k = 0; k < MS__K_COUNT; k++) {
      if (!(s.set & (1u << k))) continue;
      if (ms__key_is_str(k) ? strcmp(back.device, s.device) != 0 : back.ival[k] != s.ival[k]) abort();
    }
    ms__settings_free(&back);
    free(json);
  }
  ms__settings_free(&s);
  return 0;
}
