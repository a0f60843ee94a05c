/* Canonical settings keys, their TorchServe spellings and units, and the
 * helpers that set, merge and persist one level of settings. */
#include "registry/settings.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "common/units.h"
#include "registry/jsonpos.h"
#include "mserve/common.h"

/* Values are persisted as JSON numbers (doubles): keep them exact. */
#define MS__INT_MAX ((int64_t)1 << 53)

typedef struct key_info {
  const char *name;     /* canonical */
  const char *ts_name;  /* TorchServe model-config.yaml / models= name */
  int64_t factor;       /* TorchServe unit -> canonical unit */
  const char *ts_unit;  /* the TorchServe name's unit in messages, NULL: a count */
  const char *unit;     /* the canonical name's unit, NULL: a count */
  int is_str;
  int64_t min;
  int64_t def;
} key_info;

static const key_info keys[MS__K_COUNT] = {
    {"batch_size", "batchSize", 1, NULL, NULL, 0, 1, 1},
    {"max_batch_delay_us", "maxBatchDelay", MS__US_PER_MS, "ms", "us", 0, 0, 100000},
    {"max_queue_size", "jobQueueSize", 1, NULL, NULL, 0, 1, 100},
    {"request_timeout_us", "responseTimeout", MS__US_PER_S, "s", "us", 0, 0, 120000000},
    {"min_workers", "minWorkers", 1, NULL, NULL, 0, 0, 1},
    {"max_workers", "maxWorkers", 1, NULL, NULL, 0, 0, 1},
    {"device", "deviceType", 1, NULL, NULL, 1, 0, 0},
};

int ms__registry_key_lookup(const char *name) {
  if (!name) return -1;
  for (int k = 0; k < MS__K_COUNT; k++)
    if (strcmp(keys[k].name, name) == 0) return k;
  return -1;
}

const char *ms__registry_key_name(int k) { return keys[k].name; }
int ms__registry_key_is_str(int k) { return keys[k].is_str; }
int64_t ms__registry_key_default_int(int k) { return keys[k].def; }

const char *ms__registry_key_list(void) {
  return "batch_size, max_batch_delay_us, max_queue_size, request_timeout_us, min_workers, "
         "max_workers, device";
}

int ms__registry_key_check_int(int k, int64_t v, const char *what) {
  if (v < keys[k].min || v > MS__INT_MAX) {
    char shown[160];
    return ms__fail(MS_EINVAL, "%s: '%s' = %lld is out of range (%lld..%lld%s%s)", what,
                    ms__text_show(keys[k].name, shown, sizeof shown), (long long)v, (long long)keys[k].min,
                    (long long)MS__INT_MAX, keys[k].unit ? " " : "", keys[k].unit ? keys[k].unit : "");
  }
  return MS_OK;
}

int ms__registry_key_map_external(const char *name, int64_t *factor) {
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

void ms__registry_settings_init(ms__settings *s) { memset(s, 0, sizeof *s); }

void ms__registry_settings_free(ms__settings *s) {
  if (!s) return;
  free(s->device);
  cJSON_Delete(s->extra);
  memset(s, 0, sizeof *s);
}

int ms__registry_settings_copy(ms__settings *dst, const ms__settings *src) {
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

/* Entries of an object, by key then position (qsort is not stable). */
typedef struct keyed {
  const cJSON *it;
  size_t pos;
} keyed;

static int cmp_keyed(const void *pa, const void *pb) {
  const keyed *a = pa, *b = pb;
  int c = strcmp(a->it->string ? a->it->string : "", b->it->string ? b->it->string : "");
  if (c) return c;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int cmp_key_str(const void *key, const void *pb) {
  const keyed *b = pb;
  return strcmp((const char *)key, b->it->string ? b->it->string : "");
}

/* base's entries whose key `over` does not set, then over's entries in
 * their order (for a key over sets twice, its last value): what deleting
 * and re-adding key by key gives, in O(n log n). The new object goes to
 * *out; base and over are not changed. */
static int merge_extra(const cJSON *base, const cJSON *over, cJSON **out) {
  size_t n = 0;
  for (const cJSON *it = over->child; it; it = it->next) n++;
  keyed *v = n ? malloc(n * sizeof *v) : NULL;
  unsigned char *last = n ? calloc(n, 1) : NULL;
  cJSON *o = cJSON_CreateObject();
  int st = MS_OK;
  if ((n && (!v || !last)) || !o) {
    st = ms__fail(MS_ENOMEM, "out of memory merging settings");
    goto done;
  }
  size_t i = 0;
  for (const cJSON *it = over->child; it; it = it->next, i++) v[i] = (keyed){it, i};
  qsort(v, n, sizeof *v, cmp_keyed);
  for (i = 0; i < n; i++)
    if (i + 1 == n || strcmp(v[i].it->string ? v[i].it->string : "", v[i + 1].it->string ? v[i + 1].it->string : ""))
      last[v[i].pos] = 1;
  for (const cJSON *it = base ? base->child : NULL; it && !st; it = it->next) {
    if (n && bsearch(it->string ? it->string : "", v, n, sizeof *v, cmp_key_str)) continue;
    cJSON *dup = cJSON_Duplicate(it, 1);
    if (!dup) st = ms__fail(MS_ENOMEM, "out of memory merging settings");
    else cJSON_AddItemToObject(o, it->string ? it->string : "", dup);
  }
  i = 0;
  for (const cJSON *it = over->child; it && !st; it = it->next, i++) {
    if (!last[i]) continue;
    cJSON *dup = cJSON_Duplicate(it, 1);
    if (!dup) st = ms__fail(MS_ENOMEM, "out of memory merging settings");
    else cJSON_AddItemToObject(o, it->string ? it->string : "", dup);
  }
done:
  free(v);
  free(last);
  if (st) {
    cJSON_Delete(o);
    return st;
  }
  *out = o;
  return MS_OK;
}

int ms__registry_settings_merge(ms__settings *base, const ms__settings *over) {
  /* Everything that can fail first, so a failure leaves base as it was. */
  char *d = NULL;
  cJSON *extra = NULL;
  if (over->device && !(d = ms__strdup(over->device))) return MS_ENOMEM;
  if (over->extra) {
    int st = merge_extra(base->extra, over->extra, &extra);
    if (st) {
      free(d);
      return st;
    }
  }
  if (d) {
    free(base->device);
    base->device = d;
  }
  for (int k = 0; k < MS__K_COUNT; k++)
    if (over->set & (1u << k)) {
      base->set |= 1u << k;
      base->ival[k] = over->ival[k];
    }
  if (extra) {
    cJSON_Delete(base->extra);
    base->extra = extra;
  }
  return MS_OK;
}

/* A JSON number for a message: integers digit for digit (never 9.22337e+18),
 * others with as many digits as it takes to read back the same double. */
static const char *show_number(double d, char buf[64]) {
  if (isfinite(d) && d == floor(d) && fabs(d) < 1e21) {
    snprintf(buf, 64, "%.0f", d);
  } else {
    snprintf(buf, 64, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, 64, "%.17g", d);
  }
  return buf;
}

/* The range of key k as written under `name` (its canonical or TorchServe
 * spelling), for messages. */
static int range_fail(int status, const char *origin, const char *name, const char *value_text, int k,
                      int64_t factor) {
  const char *unit = factor == 1 ? keys[k].unit : keys[k].ts_unit;
  int64_t lo = keys[k].min / factor + (keys[k].min % factor ? 1 : 0), hi = MS__INT_MAX / factor;
  char shown[160];
  return ms__fail(status, "%s: '%s' = %s%s%s is out of range (%lld..%lld%s%s)", origin,
                  ms__text_show(name, shown, sizeof shown), value_text, unit ? " " : "", unit ? unit : "",
                  (long long)lo, (long long)hi, unit ? " " : "", unit ? unit : "");
}

int ms__registry_settings_set_scaled(ms__settings *s, int k, int64_t factor, const char *unit, const char *name,
                                     int64_t raw, const char *origin) {
  char shown[160];
  if (keys[k].is_str)
    return ms__fail(MS_ECORRUPT, "%s: '%s' must be a non-empty string", origin,
                    ms__text_show(name, shown, sizeof shown));
  if (s->set & (1u << k))
    return ms__fail(MS_ECORRUPT, "%s: '%s' sets '%s' a second time", origin, ms__text_show(name, shown, sizeof shown),
                    keys[k].name);
  int64_t v = 0;
  /* Checked both ways: -18446744073709 s must not wrap into a small positive number. */
  int st = ms__units_to_us(raw, factor, unit, keys[k].min, MS__INT_MAX, MS_ECORRUPT, origin, name, &v);
  if (st) return st;
  s->ival[k] = v;
  s->set |= 1u << k;
  return MS_OK;
}

int ms__registry_settings_set_int(ms__settings *s, const char *name, int64_t raw, const char *origin) {
  int64_t factor = 1;
  int k = ms__registry_key_map_external(name, &factor);
  if (k < 0) return 1;
  return ms__registry_settings_set_scaled(s, k, factor, factor == 1 ? keys[k].unit : keys[k].ts_unit, name, raw,
                                          origin);
}

int ms__registry_settings_set_json(ms__settings *s, const char *name, const cJSON *v, const char *origin) {
  int64_t factor = 1;
  int k = ms__registry_key_map_external(name, &factor);
  if (k < 0) return 1;
  char shown[160];
  if (s->set & (1u << k))
    return ms__fail(MS_ECORRUPT, "%s: '%s' sets '%s' a second time", origin, ms__text_show(name, shown, sizeof shown),
                    keys[k].name);
  if (keys[k].is_str) {
    if (!cJSON_IsString(v) || !v->valuestring[0])
      return ms__fail(MS_ECORRUPT, "%s: '%s' must be a non-empty string", origin, name);
    const char *bad = ms__registry_json_text_problem(v->valuestring);
    if (bad)
      return ms__fail(MS_ECORRUPT, "%s: '%s' %s: '%s'", origin, name, bad,
                      ms__text_show(v->valuestring, shown, sizeof shown));
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
  char num[64];
  if (!isfinite(d) || d != floor(d))
    return ms__fail(MS_ECORRUPT, "%s: '%s' must be an integer, got %s", origin, name, show_number(d, num));
  /* Past int64 the value cannot even be converted: out of range as well. */
  if (!(fabs(d) < 9223372036854775808.0)) return range_fail(MS_ECORRUPT, origin, name, show_number(d, num), k, factor);
  return ms__registry_settings_set_int(s, name, (int64_t)d, origin);
}

char *ms__registry_settings_to_json(const ms__settings *s) {
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

int ms__registry_settings_from_json(const char *json, const char *origin, ms__settings *out) {
  cJSON *o = cJSON_Parse(json);
  if (!cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return ms__fail(MS_ECORRUPT, "%s: stored settings are not a JSON object", origin);
  }
  ms__settings s;
  ms__registry_settings_init(&s);
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
    if (ms__registry_key_lookup(it->string) < 0) continue; /* written by a newer library */
    int r = ms__registry_settings_set_json(&s, it->string, it, origin);
    if (r < 0 || r > 1) st = r;
  }
  cJSON_Delete(o);
  if (st) {
    ms__registry_settings_free(&s);
    return st;
  }
  *out = s;
  return MS_OK;
}
