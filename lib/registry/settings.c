/* Canonical settings keys, their TorchServe spellings and units, and the
 * helpers that set, merge and persist one level of settings. */
#include "settings.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "mserve/common.h"

/* Values are persisted as JSON numbers (doubles): keep them exact. */
#define MS__INT_MAX ((int64_t)1 << 53)

typedef struct key_info {
  const char *name;     /* canonical */
  const char *ts_name;  /* TorchServe model-config.yaml / models= name */
  int64_t factor;       /* TorchServe unit -> canonical unit */
  int is_str;
  int64_t min;
  int64_t def;
} key_info;

static const key_info keys[MS__K_COUNT] = {
    {"batch_size", "batchSize", 1, 0, 1, 1},
    {"max_batch_delay_us", "maxBatchDelay", 1000, 0, 0, 100000},
    {"max_queue_size", "jobQueueSize", 1, 0, 1, 100},
    {"request_timeout_us", "responseTimeout", 1000000, 0, 0, 120000000},
    {"min_workers", "minWorkers", 1, 0, 0, 1},
    {"max_workers", "maxWorkers", 1, 0, 0, 1},
    {"device", "deviceType", 1, 1, 0, 0},
};

int ms__key_lookup(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < MS__K_COUNT; k++)
    if (strcmp(keys[k].name, name) == 0) return k;
  return -1;
}

const char *ms__key_name(int k) { return keys[k].name; }
int ms__key_is_str(int k) { return keys[k].is_str; }
int64_t ms__key_default_int(int k) { return keys[k].def; }

const char *ms__key_list(void) {
  return "batch_size, max_batch_delay_us, max_queue_size, request_timeout_us, min_workers, "
         "max_workers, device";
}

int ms__key_check_int(int k, int64_t v, const char *what) {
  if (v < keys[k].min)
    return ms__fail(MS_EINVAL, "%s: '%s' must be >= %lld, got %lld", what, keys[k].name,
                    (long long)keys[k].min, (long long)v);
  if (v > MS__INT_MAX)
    return ms__fail(MS_EINVAL, "%s: '%s' = %lld is too large (max 2^53)", what, keys[k].name,
                    (long long)v);
  return MS_OK;
}

int ms__key_map_external(const char *name, int64_t *factor) {
  for (int k = 0; k < MS__K_COUNT; k++) {
    if (strcmp(keys[k].name, name) == 0) {
      *factor = 1;
      return k;
    }
    if (strcmp(keys[k].ts_name, name) == 0) {
      *factor = keys[k].factor;
      return k;
    }
  }
  return -1;
}

void ms__settings_init(ms__settings *s) { memset(s, 0, sizeof *s); }

void ms__settings_free(ms__settings *s) {
  if (!s) return;
  free(s->device);
  cJSON_Delete(s->extra);
  memset(s, 0, sizeof *s);
}

int ms__settings_copy(ms__settings *dst, const ms__settings *src) {
  ms__settings t = *src;
  t.device = NULL;
  t.extra = NULL;
  if (src->device && !(t.device = ms__strdup(src->device))) return MS_ENOMEM;
  if (src->extra && !(t.extra = cJSON_Duplicate(src->extra, 1))) {
    free(t.device);
    return ms__fail(MS_ENOMEM, "out of memory copying settings");
  }
  *dst = t;
  return MS_OK;
}

int ms__settings_merge(ms__settings *base, const ms__settings *over) {
  if (over->device) {
    char *d = ms__strdup(over->device);
    if (!d) return MS_ENOMEM;
    free(base->device);
    base->device = d;
  }
  for (int k = 0; k < MS__K_COUNT; k++)
    if (over->set & (1u << k)) {
      base->set |= 1u << k;
      base->ival[k] = over->ival[k];
    }
  if (over->extra) {
    if (!base->extra && !(base->extra = cJSON_CreateObject()))
      return ms__fail(MS_ENOMEM, "out of memory merging settings");
    for (const cJSON *it = over->extra->child; it; it = it->next) {
      cJSON *dup = cJSON_Duplicate(it, 1);
      if (!dup) return ms__fail(MS_ENOMEM, "out of memory merging settings");
      cJSON_DeleteItemFromObjectCaseSensitive(base->extra, it->string);
      cJSON_AddItemToObject(base->extra, it->string, dup);
    }
  }
  return MS_OK;
}

int ms__settings_set_json(ms__settings *s, const char *name, const cJSON *v, const char *origin) {
  int64_t factor = 1;
  int k = ms__key_map_external(name, &factor);
  if (k < 0) return 1;
  if (keys[k].is_str) {
    if (!cJSON_IsString(v) || !v->valuestring[0])
      return ms__fail(MS_ECORRUPT, "%s: '%s' must be a non-empty string", origin, name);
    char *d = ms__strdup(v->valuestring);
    if (!d) return MS_ENOMEM;
    free(s->device);
    s->device = d;
    s->set |= 1u << k;
    return MS_OK;
  }
  if (!cJSON_IsNumber(v))
    return ms__fail(MS_ECORRUPT, "%s: '%s' must be an integer", origin, name);
  double d = v->valuedouble;
  if (!isfinite(d) || d != floor(d) || fabs(d) > (double)MS__INT_MAX)
    return ms__fail(MS_ECORRUPT, "%s: '%s' must be an integer, got %g", origin, name, d);
  int64_t raw = (int64_t)d;
  if (raw > MS__INT_MAX / factor)
    return ms__fail(MS_ECORRUPT, "%s: '%s' = %lld is too large", origin, name, (long long)raw);
  int st = ms__key_check_int(k, raw * factor, origin);
  if (st) {
    ms__fail(MS_ECORRUPT, "%s: '%s' = %lld is out of range", origin, name, (long long)raw);
    return MS_ECORRUPT;
  }
  s->ival[k] = raw * factor;
  s->set |= 1u << k;
  return MS_OK;
}

char *ms__settings_to_json(const ms__settings *s) {
  cJSON *o = cJSON_CreateObject();
  if (!o) goto oom;
  for (int k = 0; k < MS__K_COUNT; k++) {
    if (!(s->set & (1u << k))) continue;
    /* Integers are written digit for digit: cJSON prints numbers with 15
     * significant digits when that reads back "close enough", which loses
     * the last digit of values past 10^15 (found by fuzz_model_config). */
    char digits[24];
    snprintf(digits, sizeof digits, "%lld", (long long)s->ival[k]);
    cJSON *it = keys[k].is_str ? cJSON_CreateString(s->device ? s->device : "") : cJSON_CreateRaw(digits);
    if (!it) goto oom;
    cJSON_AddItemToObject(o, keys[k].name, it);
  }
  if (s->extra && s->extra->child) {
    cJSON *e = cJSON_Duplicate(s->extra, 1);
    if (!e) goto oom;
    cJSON_AddItemToObject(o, "extra", e);
  }
  char *out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!out) ms__fail(MS_ENOMEM, "out of memory writing settings");
  return out;
oom:
  cJSON_Delete(o);
  ms__fail(MS_ENOMEM, "out of memory writing settings");
  return NULL;
}

int ms__settings_from_json(const char *json, const char *origin, ms__settings *out) {
  cJSON *o = cJSON_Parse(json);
  if (!cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return ms__fail(MS_ECORRUPT, "%s: stored settings are not a JSON object", origin);
  }
  ms__settings s;
  ms__settings_init(&s);
  int st = MS_OK;
  for (const cJSON *it = o->child; it && !st; it = it->next) {
    if (strcmp(it->string, "extra") == 0) {
      if (!cJSON_IsObject(it)) {
        st = ms__fail(MS_ECORRUPT, "%s: stored 'extra' is not an object", origin);
        break;
      }
      s.extra = cJSON_Duplicate(it, 1);
      if (!s.extra) st = ms__fail(MS_ENOMEM, "out of memory reading settings");
      continue;
    }
    if (ms__key_lookup(it->string) < 0) continue; /* written by a newer library */
    int r = ms__settings_set_json(&s, it->string, it, origin);
    if (r < 0 || r > 1) st = r;
  }
  cJSON_Delete(o);
  if (st) {
    ms__settings_free(&s);
    return st;
  }
  *out = s;
  return MS_OK;
}
