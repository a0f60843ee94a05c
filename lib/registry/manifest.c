/* MAR-INF/MANIFEST.json (TorchServe, MMS 1.0) and the legacy MMS 0.1
 * MANIFEST.json, migrated to the same fields. */
#include "registry/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "registry/jsonpos.h"
#include "mserve/common.h"

int ms__registry_name_valid(const char *name) {
  if (!name) return 0;
  size_t n = strlen(name);
  if (n == 0 || n > 255) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return 0;
  }
  return 1;
}

int ms__registry_version_valid(const char *version) {
  if (!version) return 0;
  size_t n = strlen(version);
  if (n == 0 || n > 64) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)version[i];
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\') return 0;
  }
  return 1;
}

const char *ms__registry_skip_dot_slash(const char *name) {
  while (name[0] == '.' && name[1] == '/') {
    name += 2;
    while (name[0] == '/') name++;
  }
  return name;
}

void ms__registry_manifest_free(ms__manifest *m) {
  if (!m) return;
  free(m->name);
  free(m->version);
  free(m->runtime);
  free(m->handler);
  free(m->config_file);
  free(m->created_on);
  free(m->serialized_file);
  free(m->model_file);
  free(m->requirements_file);
  ms__registry_settings_free(&m->batch);
  memset(m, 0, sizeof *m);
}

/* Optional string field: absent gives `def` (may be NULL), present must be a string. */
static int opt_string(const cJSON *obj, const char *key, const char *def, const char *what,
                      const char *field, char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v || cJSON_IsNull(v)) {
    if (!def) return MS_OK;
    return (*out = ms__strdup(def)) ? MS_OK : MS_ENOMEM;
  }
  if (!cJSON_IsString(v))
    return ms__fail(MS_ECORRUPT, "%s: field '%s' must be a string", what, field);
  /* Kept, stored and printed: text only (a \u0000 escape arrives as invalid bytes, see jsonpos.h). */
  const char *bad = ms__registry_json_text_problem(v->valuestring);
  if (bad) {
    char shown[160];
    return ms__fail(MS_ECORRUPT, "%s: field '%s' %s: '%s'", what, field, bad,
                    ms__text_show(v->valuestring, shown, sizeof shown));
  }
  return (*out = ms__strdup(v->valuestring)) ? MS_OK : MS_ENOMEM;
}

/* A field read leniently: kept when it is UTF-8 text, else left NULL. */
static int lenient_string(const cJSON *obj, const char *key, char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsString(v) || ms__registry_json_text_problem(v->valuestring)) return MS_OK;
  return (*out = ms__strdup(v->valuestring)) ? MS_OK : MS_ENOMEM;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* n digits at s into *v; 0 or -1. */
static int digits(const char *s, int n, int64_t *v) {
  int64_t x = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return 0;
}

int64_t ms__registry_parse_created_on(const char *t) {
  if (!t) return -1;
  int64_t y, mo, d, h, mi, se;
  size_t n = strlen(t);
  if (n == 19 && t[2] == '/' && t[5] == '/' && t[10] == ' ' && t[13] == ':' && t[16] == ':') {
    if (digits(t, 2, &d) || digits(t + 3, 2, &mo) || digits(t + 6, 4, &y)) return -1;
  } else if ((n == 19 || (n == 20 && t[19] == 'Z')) && t[4] == '-' && t[7] == '-' && (t[10] == ' ' || t[10] == 'T') &&
             t[13] == ':' && t[16] == ':') {
    if (digits(t, 4, &y) || digits(t + 5, 2, &mo) || digits(t + 8, 2, &d)) return -1;
  } else {
    return -1;
  }
  if (digits(t + 11, 2, &h) || digits(t + 14, 2, &mi) || digits(t + 17, 2, &se)) return -1;
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 || mi > 59 || se > 60)
    return -1;
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
}

static int parse_legacy(const cJSON *root, const char *what, ms__manifest *m) {
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "Model");
  if (!cJSON_IsObject(model))
    return ms__fail(MS_ECORRUPT, "%s: MMS 0.1 manifest without a \"Model\" object", what);
  int st;
  if ((st = opt_string(model, "Model-Name", NULL, what, "Model.Model-Name", &m->name))) return st;
  if (!m->name) return ms__fail(MS_ECORRUPT, "%s: missing field 'Model.Model-Name'", what);
  if ((st = opt_string(model, "Service", "", what, "Model.Service", &m->handler))) return st;
  /* MMS 0.1 archives had no model version and ran Python services. */
  if (!(m->version = ms__strdup("1.0")) || !(m->runtime = ms__strdup("python"))) return MS_ENOMEM;
  m->legacy = 1;
  return MS_OK;
}

static int parse_current(const cJSON *root, const char *what, ms__manifest *m) {
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  if (!model) return ms__fail(MS_ECORRUPT, "%s: missing the \"model\" object", what);
  if (!cJSON_IsObject(model)) return ms__fail(MS_ECORRUPT, "%s: field 'model' must be an object", what);
  int st;
  if ((st = opt_string(model, "modelName", NULL, what, "model.modelName", &m->name))) return st;
  if (!m->name) return ms__fail(MS_ECORRUPT, "%s: missing field 'model.modelName'", what);
  if ((st = opt_string(model, "modelVersion", "1.0", what, "model.modelVersion", &m->version))) return st;
  if ((st = opt_string(model, "handler", "", what, "model.handler", &m->handler))) return st;
  if ((st = opt_string(model, "configFile", NULL, what, "model.configFile", &m->config_file))) return st;
  if ((st = opt_string(root, "runtime", "", what, "runtime", &m->runtime))) return st;
  if ((st = lenient_string(root, "createdOn", &m->created_on)) ||
      (st = lenient_string(model, "serializedFile", &m->serialized_file)) ||
      (st = lenient_string(model, "modelFile", &m->model_file)) ||
      (st = lenient_string(model, "requirementsFile", &m->requirements_file)))
    return st;
  m->created_at = ms__registry_parse_created_on(m->created_on);
  /* Batch settings in the manifest (the MMS issue's proposal). */
  char w[700];
  snprintf(w, sizeof w, "%s: model", what);
  for (const cJSON *it = model->child; it; it = it->next) {
    st = ms__registry_settings_set_json(&m->batch, it->string, it, w);
    if (st != MS_OK && st != 1) return st;
  }
  if (m->config_file && (!m->config_file[0] || m->config_file[0] == '/' || strstr(m->config_file, ".."))) {
    char shown[160];
    return ms__fail(MS_ECORRUPT, "%s: model.configFile '%s' is not a relative path inside the archive", what,
                    ms__text_show(m->config_file, shown, sizeof shown));
  }
  return MS_OK;
}

int ms__registry_manifest_parse(const char *json, size_t len, const char *origin, ms__manifest *out) {
  if (!origin || !out) return ms__fail(MS_EINVAL, "manifest: NULL argument");
  char what[600];
  snprintf(what, sizeof what, "manifest '%s'", origin);
  int st = MS_OK;
  cJSON *root = ms__registry_json_parse(json, len, what, &st);
  if (!root) return st;
  ms__manifest m;
  memset(&m, 0, sizeof m);
  m.created_at = -1;
  if (!cJSON_IsObject(root)) {
    st = ms__fail(MS_ECORRUPT, "%s: the top level must be a JSON object", what);
  } else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "Model")) ||
             cJSON_GetObjectItemCaseSensitive(root, "Model-Archive-Version")) {
    st = parse_legacy(root, what, &m);
  } else {
    st = parse_current(root, what, &m);
  }
  cJSON_Delete(root);
  char shown[160];
  if (!st && !ms__registry_name_valid(m.name))
    st = ms__fail(MS_ECORRUPT, "%s: model name '%s' does not match ^[A-Za-z0-9][A-Za-z0-9_.-]*$", what,
                  ms__text_show(m.name, shown, sizeof shown));
  if (!st && !ms__registry_version_valid(m.version))
    st =
        ms__fail(MS_ECORRUPT,
                 "%s: model version '%s' is not 1-64 printable ASCII characters without spaces, slashes or backslashes",
                 what, ms__text_show(m.version, shown, sizeof shown));
  if (st) {
    ms__registry_manifest_free(&m);
    return st == MS_ENOMEM ? ms__fail(MS_ENOMEM, "%s: out of memory", what) : st;
  }
  *out = m;
  return MS_OK;
}
