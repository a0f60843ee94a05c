/* Shared output of the registry CLIs: one place decides how a setting and its
 * source look, so mserve-archive and mserve-registry never disagree. */
#include "model_print.h"

#include <string.h>

#include "cli_text.h"

const model_setting model_settings[] = {
    {"batch_size", "batchSize", "--batch-size", NULL, 1},
    {"max_batch_delay_us", "maxBatchDelay", "--max-batch-delay", "ms", 1000},
    {"max_queue_size", "jobQueueSize", "--max-queue-size", NULL, 1},
    {"request_timeout_us", "responseTimeout", "--response-timeout", "s", 1000000},
    {"min_workers", "minWorkers", "--min-workers", NULL, 1},
    {"max_workers", "maxWorkers", "--max-workers", NULL, 1},
    {"device", "deviceType", "--device", NULL, 0},
    {NULL, NULL, NULL, NULL, 0},
};

const model_setting *model_setting_find(const char *name) {
  if (!name) return NULL;
  for (const model_setting *s = model_settings; s->key; s++) {
    size_t kl = strlen(s->key);
    if (strcmp(name, s->key) == 0 || strcmp(name, s->ts_key) == 0 || strcmp(name, s->flag) == 0 ||
        strcmp(name, s->flag + 2) == 0)
      return s;
    if (kl > 3 && strcmp(s->key + kl - 3, "_us") == 0 && strlen(name) == kl - 3 && strncmp(name, s->key, kl - 3) == 0)
      return s;
  }
  return NULL;
}

const char *model_source_name(ms_config_source src) {
  switch (src) {
    case MS_SRC_DEFAULT: return "default";
    case MS_SRC_GLOBAL: return "global";
    case MS_SRC_ARCHIVE: return "archive";
    case MS_SRC_API: return "api";
  }
  return "unknown";
}

/* A duration in the flag's unit: "20 ms", "2.5 ms", "30 s". */
static void in_unit(const model_setting *s, int64_t v, char *buf, size_t cap) {
  if (v % s->factor == 0) snprintf(buf, cap, "%lld %s", (long long)(v / s->factor), s->unit);
  else snprintf(buf, cap, "%.6g %s", (double)v / (double)s->factor, s->unit);
}

/* A key of the snapshot's settings list that is not one of the table's. */
static int is_canonical(const char *key) {
  for (const model_setting *s = model_settings; s->key; s++)
    if (strcmp(s->key, key) == 0) return 1;
  return 0;
}

void model_print_text(FILE *out, const ms_model *m, const char *indent) {
  fprintf(out, "%s%s %s%s%s\n", indent, tx(ms_model_name(m)), tx(ms_model_version(m)),
          ms_model_is_default(m) ? " (default)" : "", ms_model_is_missing(m) ? " (MISSING)" : "");
  fprintf(out, "%s  runtime   %s\n", indent, tx(ms_model_runtime(m)));
  fprintf(out, "%s  handler   %s\n", indent, tx(ms_model_handler(m)));
  if (*ms_model_archive_path(m)) fprintf(out, "%s  archive   %s\n", indent, tx(ms_model_archive_path(m)));
  fprintf(out, "%s  sha256    %s\n", indent, tx(ms_model_content_hash(m)));
  fprintf(out, "%s  settings  (value, source; a duration also in its flag's unit)\n", indent);
  for (const model_setting *s = model_settings; s->key; s++) {
    ms_config_source src = MS_SRC_DEFAULT;
    if (s->factor == 0) {
      const char *v = NULL;
      if (ms_model_get_str(m, s->key, &v, &src) == MS_OK)
        fprintf(out, "%s    %-20s %-12s %s\n", indent, s->key, tx(v), model_source_name(src));
      else fprintf(out, "%s    %-20s %-12s %s\n", indent, s->key, "(unset)", "-");
      continue;
    }
    int64_t v = 0;
    if (ms_model_get_int(m, s->key, &v, &src) != MS_OK) {
      fprintf(out, "%s    %-20s %-12s %s\n", indent, s->key, "(unset)", "-");
    } else if (s->unit) {
      char u[64];
      in_unit(s, v, u, sizeof u);
      fprintf(out, "%s    %-20s %-12lld %-8s = %s (%s %s)\n", indent, s->key, (long long)v, model_source_name(src), u,
              s->flag, s->unit[0] == 'm' ? "MS" : "S");
    } else {
      fprintf(out, "%s    %-20s %-12lld %s\n", indent, s->key, (long long)v, model_source_name(src));
    }
  }
  /* every other setting the archive carries (TorchServe's model-config.yaml
   * keys the registry stores but does not apply), with its source */
  size_t n = ms_model_setting_count(m), shown = 0;
  for (size_t i = 0; i < n; i++) {
    const char *key = NULL, *value = NULL;
    ms_config_source src = MS_SRC_ARCHIVE;
    if (ms_model_get_setting(m, i, &key, &value, &src) != MS_OK || !key || is_canonical(key)) continue;
    if (!shown++) fprintf(out, "%s  other settings (stored, not applied by libmserve)\n", indent);
    fprintf(out, "%s    %-20s %-12s %s\n", indent, tx(key), tx(value ? value : ""), model_source_name(src));
  }
}

cJSON *model_to_json(const ms_model *m) {
  cJSON *o = cJSON_CreateObject();
  cJSON *settings = cJSON_CreateObject();
  if (!o || !settings) {
    cJSON_Delete(o);
    cJSON_Delete(settings);
    return NULL;
  }
  json_add_str(o, "name", ms_model_name(m));
  json_add_str(o, "version", ms_model_version(m));
  json_add_str(o, "runtime", ms_model_runtime(m));
  json_add_str(o, "handler", ms_model_handler(m));
  json_add_str(o, "archive", ms_model_archive_path(m));
  json_add_str(o, "content_hash", ms_model_content_hash(m));
  cJSON_AddBoolToObject(o, "default", ms_model_is_default(m));
  cJSON_AddBoolToObject(o, "missing", ms_model_is_missing(m));
  cJSON_AddItemToObject(o, "settings", settings);
  for (const model_setting *s = model_settings; s->key; s++) {
    ms_config_source src = MS_SRC_DEFAULT;
    cJSON *j = cJSON_CreateObject();
    if (!j) break;
    int st;
    if (s->factor == 0) {
      const char *v = NULL;
      st = ms_model_get_str(m, s->key, &v, &src);
      if (st == MS_OK) json_add_str(j, "value", v);
    } else {
      int64_t v = 0;
      st = ms_model_get_int(m, s->key, &v, &src);
      if (st == MS_OK) { /* digit for digit: cJSON's own printing rounds past 10^15 */
        char digits[24];
        snprintf(digits, sizeof digits, "%lld", (long long)v);
        cJSON_AddRawToObject(j, "value", digits);
        if (s->unit) {
          cJSON_AddStringToObject(j, "unit", "us");
          cJSON_AddStringToObject(j, "flag", s->flag);
          cJSON_AddStringToObject(j, "flag_unit", s->unit);
        }
      }
    }
    if (st == MS_OK) cJSON_AddStringToObject(j, "source", model_source_name(src));
    else cJSON_AddNullToObject(j, "value");
    cJSON_AddItemToObject(settings, s->key, j);
  }
  /* the archive's other settings: their value as written (text) */
  size_t n = ms_model_setting_count(m);
  for (size_t i = 0; i < n; i++) {
    const char *key = NULL, *value = NULL;
    ms_config_source src = MS_SRC_ARCHIVE;
    if (ms_model_get_setting(m, i, &key, &value, &src) != MS_OK || !key || is_canonical(key)) continue;
    cJSON *j = cJSON_CreateObject();
    if (!j) break;
    json_add_str(j, "value", value ? value : "");
    cJSON_AddStringToObject(j, "source", model_source_name(src));
    cJSON_AddBoolToObject(j, "applied", 0);
    cJSON_AddItemToObject(settings, key, j);
  }
  return o;
}
