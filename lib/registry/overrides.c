/* Runtime overrides: the API level of a model's settings. */
#include "registry/overrides.h"

#include <stdlib.h>

#include "common/error.h"
#include "common/text.h"

int ms_overrides_new(ms_overrides **out) {
  if (!out) return ms__fail(MS_EINVAL, "registry: ms_overrides_new: NULL out");
  ms_overrides *ov = calloc(1, sizeof *ov);
  if (!ov) return ms__fail(MS_ENOMEM, "registry: ms_overrides_new: out of memory");
  *out = ov;
  return MS_OK;
}

void ms_overrides_free(ms_overrides *ov) {
  if (!ov) return;
  ms__registry_settings_free(&ov->set);
  free(ov);
}

static int lookup_key(const char *call, const char *key, int *k) {
  if (!key) return ms__fail(MS_EINVAL, "registry: %s: NULL key", call);
  *k = ms__registry_key_lookup(key);
  char shown[160];
  if (*k < 0)
    return ms__fail(MS_EINVAL, "registry: %s: unknown key '%s' (valid keys: %s)", call,
                    ms__text_show(key, shown, sizeof shown), ms__registry_key_list());
  return MS_OK;
}

int ms_overrides_set_int(ms_overrides *ov, const char *key, int64_t value) {
  int k, st;
  if (!ov) return ms__fail(MS_EINVAL, "registry: ms_overrides_set_int: NULL overrides");
  if ((st = lookup_key("ms_overrides_set_int", key, &k))) return st;
  if (ms__registry_key_is_str(k))
    return ms__fail(MS_EINVAL, "registry: ms_overrides_set_int: key '%s' is a string key; use ms_overrides_set_str",
                    key);
  if ((st = ms__registry_key_check_int(k, value, "registry: ms_overrides_set_int"))) return st;
  ov->set.ival[k] = value;
  ov->set.set |= 1u << k;
  ov->clear &= ~(1u << k);
  return MS_OK;
}

int ms_overrides_set_str(ms_overrides *ov, const char *key, const char *value) {
  int k, st;
  if (!ov) return ms__fail(MS_EINVAL, "registry: ms_overrides_set_str: NULL overrides");
  if ((st = lookup_key("ms_overrides_set_str", key, &k))) return st;
  if (!ms__registry_key_is_str(k))
    return ms__fail(MS_EINVAL, "registry: ms_overrides_set_str: key '%s' is an integer key; use ms_overrides_set_int",
                    key);
  if (!value || !value[0])
    return ms__fail(MS_EINVAL, "registry: ms_overrides_set_str: key '%s' needs a non-empty value", key);
  if (!ms__text_utf8_str(value)) {
    char shown[160];
    return ms__fail(MS_EINVAL, "registry: ms_overrides_set_str: key '%s': the value '%s' is not valid UTF-8", key,
                    ms__text_show(value, shown, sizeof shown));
  }
  char *d = ms__strdup(value);
  if (!d) return ms__fail(MS_ENOMEM, "registry: ms_overrides_set_str: key '%s': out of memory", key);
  free(ov->set.device);
  ov->set.device = d;
  ov->set.set |= 1u << k;
  ov->clear &= ~(1u << k);
  return MS_OK;
}

int ms_overrides_clear(ms_overrides *ov, const char *key) {
  int k, st;
  if (!ov) return ms__fail(MS_EINVAL, "registry: ms_overrides_clear: NULL overrides");
  if ((st = lookup_key("ms_overrides_clear", key, &k))) return st;
  ov->set.set &= ~(1u << k);
  if (ms__registry_key_is_str(k)) {
    free(ov->set.device);
    ov->set.device = NULL;
  }
  ov->clear |= 1u << k;
  return MS_OK;
}
