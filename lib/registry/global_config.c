/* The global config file: {"defaults": {...}, "models": {"<name>":
 * {"<version>": {...}}}}, canonical or TorchServe key names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "jsonpos.h"
#include "mserve/common.h"
#include "settings.h"

/* Fill *s from the settings object `o`; unknown keys are logged and skipped
 * (TorchServe's models= also carries marName, defaultVersion, ...). */
static int read_level(const cJSON *o, const char *what, ms__settings *s) {
  if (!cJSON_IsObject(o)) return ms__fail(MS_ECORRUPT, "%s must be a JSON object", what);
  for (const cJSON *it = o->child; it; it = it->next) {
    int st = ms__settings_set_json(s, it->string, it, what);
    if (st == 1) {
      ms__log(MS_LOG_DEBUG, "%s: ignoring unknown key '%s'", what, it->string);
      continue;
    }
    if (st) return st;
  }
  return MS_OK;
}

void ms__global_config_free(ms__global_config *g) {
  if (!g) return;
  ms__settings_free(&g->defaults);
  for (size_t i = 0; i < g->n_entries; i++) {
    free(g->entries[i].name);
    free(g->entries[i].version);
    ms__settings_free(&g->entries[i].s);
  }
  free(g->entries);
  free(g);
}

int ms__global_config_parse(const char *buf, size_t len, const char *origin, ms__global_config **out) {
  if (!origin || !out) return ms__fail(MS_EINVAL, "global config: NULL argument");
  char what[600];
  snprintf(what, sizeof what, "global config '%s'", origin);
  int st = MS_OK;
  cJSON *root = ms__json_parse(buf, len, what, &st);
  if (!root) return st;
  ms__global_config *g = calloc(1, sizeof *g);
  if (!g) {
    cJSON_Delete(root);
    return ms__fail(MS_ENOMEM, "%s: out of memory", what);
  }
  if (!cJSON_IsObject(root)) {
    st = ms__fail(MS_ECORRUPT, "%s: the top level must be a JSON object", what);
    goto fail;
  }
  for (const cJSON *top = root->child; top; top = top->next) {
    if (strcmp(top->string, "defaults") == 0) {
      char w[700];
      snprintf(w, sizeof w, "%s: \"defaults\"", what);
      if ((st = read_level(top, w, &g->defaults))) goto fail;
    } else if (strcmp(top->string, "models") == 0) {
      if (!cJSON_IsObject(top)) {
        st = ms__fail(MS_ECORRUPT, "%s: \"models\" must be a JSON object", what);
        goto fail;
      }
      for (const cJSON *m = top->child; m; m = m->next) {
        if (!cJSON_IsObject(m)) {
          st = ms__fail(MS_ECORRUPT, "%s: models.\"%s\" must be an object of versions", what, m->string);
          goto fail;
        }
        for (const cJSON *v = m->child; v; v = v->next) {
          char w[900];
          snprintf(w, sizeof w, "%s: models.\"%s\".\"%s\"", what, m->string, v->string);
          ms__global_entry *grown = realloc(g->entries, (g->n_entries + 1) * sizeof *grown);
          if (!grown) {
            st = ms__fail(MS_ENOMEM, "%s: out of memory", what);
            goto fail;
          }
          g->entries = grown;
          ms__global_entry *e = &g->entries[g->n_entries++];
          memset(e, 0, sizeof *e);
          e->name = ms__strdup(m->string);
          e->version = ms__strdup(v->string);
          if (!e->name || !e->version) {
            st = MS_ENOMEM;
            goto fail;
          }
          if ((st = read_level(v, w, &e->s))) goto fail;
        }
      }
    } else {
      ms__log(MS_LOG_DEBUG, "%s: ignoring unknown top-level key '%s'", what, top->string);
    }
  }
  cJSON_Delete(root);
  *out = g;
  return MS_OK;
fail:
  cJSON_Delete(root);
  ms__global_config_free(g);
  return st;
}

const ms__settings *ms__global_config_lookup(const ms__global_config *g, const char *name,
                                             const char *version) {
  if (!g) return NULL;
  for (size_t i = 0; i < g->n_entries; i++)
    if (strcmp(g->entries[i].name, name) == 0 && strcmp(g->entries[i].version, version) == 0)
      return &g->entries[i].s;
  return NULL;
}
