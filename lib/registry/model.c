/* Model snapshots (settings resolved once, strings owned by the snapshot)
 * and lists of them. */
#include "registry/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"

/* ---- snapshots ----------------------------------------------------------- */

void ms_model_free(ms_model *m) {
  if (!m) return;
  free(m->name);
  free(m->version);
  free(m->runtime);
  free(m->handler);
  free(m->path);
  free(m->hash);
  free(m->device);
  free(m->extra_items);
  cJSON_Delete(m->extra);
  free(m);
}

int ms__registry_model_build(const ms__model_row *row, const ms__global_config *g, ms_model **out) {
  ms_model *m = calloc(1, sizeof *m);
  if (!m) return ms__fail(MS_ENOMEM, "model '%s' version '%s': out of memory", row->name, row->version);
  m->format = row->format;
  m->is_default = row->is_default;
  m->missing = row->missing;
  if (!(m->name = ms__strdup(row->name)) || !(m->version = ms__strdup(row->version)) ||
      !(m->runtime = ms__strdup(row->runtime ? row->runtime : "")) ||
      !(m->handler = ms__strdup(row->handler ? row->handler : "")) ||
      !(m->path = ms__strdup(row->path ? row->path : "")) || !(m->hash = ms__strdup(row->hash ? row->hash : "")))
    goto oom;
  const ms__settings *entry = ms__registry_global_lookup(g, row->name, row->version);
  const ms__settings *levels[4] = {row->api, row->archive, entry, g ? &g->defaults : NULL};
  static const ms_config_source sources[4] = {MS_SRC_API, MS_SRC_ARCHIVE, MS_SRC_GLOBAL, MS_SRC_GLOBAL};
  for (int k = 0; k < MS__K_COUNT; k++) {
    const ms__settings *from = NULL;
    m->src[k] = MS_SRC_DEFAULT;
    for (int l = 0; l < 4 && !from; l++)
      if (levels[l] && (levels[l]->set & (1u << k))) {
        from = levels[l];
        m->src[k] = sources[l];
      }
    if (ms__registry_key_is_str(k)) {
      if (!(m->device = ms__strdup(from && from->device ? from->device : "cpu"))) goto oom;
    } else {
      m->ival[k] = from ? from->ival[k] : ms__registry_key_default_int(k);
      snprintf(m->itext[k], sizeof m->itext[k], "%lld", (long long)m->ival[k]);
    }
  }
  if (row->archive && row->archive->extra && !(m->extra = cJSON_Duplicate(row->archive->extra, 1))) goto oom;
  /* The archive's other keys, indexed for ms_model_get_setting: strings only
   * (the parsers store nothing else; anything else is skipped). */
  size_t n = 0;
  for (const cJSON *it = m->extra ? m->extra->child : NULL; it; it = it->next) n += cJSON_IsString(it) != 0;
  if (n && !(m->extra_items = malloc(n * sizeof *m->extra_items))) goto oom;
  for (const cJSON *it = m->extra ? m->extra->child : NULL; it; it = it->next)
    if (cJSON_IsString(it)) m->extra_items[m->n_extra++] = it;
  *out = m;
  return MS_OK;
oom:
  ms_model_free(m);
  return ms__fail(MS_ENOMEM, "model '%s' version '%s': out of memory", row->name, row->version);
}

static const char *nz(const char *s) { return s ? s : ""; }
const char *ms_model_name(const ms_model *m) { return m ? nz(m->name) : ""; }
const char *ms_model_version(const ms_model *m) { return m ? nz(m->version) : ""; }
const char *ms_model_runtime(const ms_model *m) { return m ? nz(m->runtime) : ""; }
const char *ms_model_handler(const ms_model *m) { return m ? nz(m->handler) : ""; }
const char *ms_model_archive_path(const ms_model *m) { return m ? nz(m->path) : ""; }
const char *ms_model_content_hash(const ms_model *m) { return m ? nz(m->hash) : ""; }
int ms_model_is_default(const ms_model *m) { return m ? m->is_default : 0; }
int ms_model_is_missing(const ms_model *m) { return m ? m->missing : 0; }

/* "registry: <call>: model 'x' version 'v': " + fmt, for messages. */
static int model_fail(int status, const char *call, const ms_model *m, const char *key, const char *cause) {
  char shown[160];
  return ms__fail(status, "registry: %s: model '%s' version '%s': %s '%s'%s", call, m->name, m->version,
                  cause[0] == '!' ? "setting" : "no setting", ms__text_show(key, shown, sizeof shown),
                  cause[0] == '!' ? cause + 1 : cause);
}

int ms_model_get_int(const ms_model *m, const char *key, int64_t *value, ms_config_source *source) {
  if (!m || !key || !value) return ms__fail(MS_EINVAL, "registry: ms_model_get_int: NULL model, key or value");
  int k = ms__registry_key_lookup(key);
  if (k < 0) {
    if (m->extra && cJSON_GetObjectItemCaseSensitive(m->extra, key))
      return model_fail(MS_EINVAL, "ms_model_get_int", m, key,
                        "! is an archive string setting; use ms_model_get_str");
    char why[300];
    snprintf(why, sizeof why, " (canonical keys: %s)", ms__registry_key_list());
    return model_fail(MS_ENOTFOUND, "ms_model_get_int", m, key, why);
  }
  if (ms__registry_key_is_str(k))
    return model_fail(MS_EINVAL, "ms_model_get_int", m, key, "! is a string; use ms_model_get_str");
  *value = m->ival[k];
  if (source) *source = m->src[k];
  return MS_OK;
}

int ms_model_get_str(const ms_model *m, const char *key, const char **value, ms_config_source *source) {
  if (!m || !key || !value) return ms__fail(MS_EINVAL, "registry: ms_model_get_str: NULL model, key or value");
  int k = ms__registry_key_lookup(key);
  if (k >= 0) {
    if (!ms__registry_key_is_str(k))
      return model_fail(MS_EINVAL, "ms_model_get_str", m, key, "! is an integer; use ms_model_get_int");
    *value = m->device;
    if (source) *source = m->src[k];
    return MS_OK;
  }
  const cJSON *v = m->extra ? cJSON_GetObjectItemCaseSensitive(m->extra, key) : NULL;
  if (!cJSON_IsString(v)) return model_fail(MS_ENOTFOUND, "ms_model_get_str", m, key, "");
  *value = v->valuestring;
  if (source) *source = MS_SRC_ARCHIVE;
  return MS_OK;
}

size_t ms_model_setting_count(const ms_model *m) { return m ? (size_t)MS__K_COUNT + m->n_extra : 0; }

int ms_model_get_setting(const ms_model *m, size_t i, const char **key, const char **value,
                         ms_config_source *source) {
  if (!m) return ms__fail(MS_EINVAL, "registry: ms_model_get_setting: NULL model");
  size_t n = (size_t)MS__K_COUNT + m->n_extra;
  if (i >= n)
    return ms__fail(MS_EINVAL,
                    "registry: ms_model_get_setting: model '%s' version '%s': index %zu is out of range (the model "
                    "has %zu settings)",
                    m->name, m->version, i, n);
  if (i < (size_t)MS__K_COUNT) {
    int k = (int)i;
    if (key) *key = ms__registry_key_name(k);
    if (value) *value = ms__registry_key_is_str(k) ? m->device : m->itext[k];
    if (source) *source = m->src[k];
    return MS_OK;
  }
  const cJSON *it = m->extra_items[i - (size_t)MS__K_COUNT];
  if (key) *key = it->string;
  if (value) *value = it->valuestring;
  if (source) *source = MS_SRC_ARCHIVE;
  return MS_OK;
}

/* The name of a source in messages. */
static const char *source_name(ms_config_source s) {
  switch (s) {
    case MS_SRC_API: return "API";
    case MS_SRC_ARCHIVE: return "archive";
    case MS_SRC_GLOBAL: return "global config";
    default: return "default";
  }
}

const char *ms__registry_model_workers_problem(const ms_model *m, char *buf, size_t cap) {
  int64_t lo = m->ival[MS__K_MIN_WORKERS], hi = m->ival[MS__K_MAX_WORKERS];
  if (lo <= hi) return NULL;
  snprintf(buf, cap, "min_workers %lld (%s) is greater than max_workers %lld (%s)", (long long)lo,
           source_name(m->src[MS__K_MIN_WORKERS]), (long long)hi, source_name(m->src[MS__K_MAX_WORKERS]));
  return buf;
}

/* ---- lists --------------------------------------------------------------- */

size_t ms_model_list_count(const ms_model_list *l) { return l ? l->n : 0; }

int ms_model_list_get(const ms_model_list *l, size_t i, const ms_model **out) {
  if (!l || !out) return ms__fail(MS_EINVAL, "registry: ms_model_list_get: NULL list or out");
  if (i >= l->n)
    return ms__fail(MS_EINVAL, "registry: ms_model_list_get: index %zu is out of range (the list holds %zu)", i, l->n);
  *out = l->items[i];
  return MS_OK;
}

void ms_model_list_free(ms_model_list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) ms_model_free(l->items[i]);
  free(l->items);
  free(l);
}
