/* The global config file: {"defaults": {...}, "models": {"<name>":
 * {"<version>": {...}}}}, canonical or TorchServe key names. Entries are
 * kept sorted by (name, version), so reading n entries costs O(n log n)
 * and each lookup O(log n). */
#include "registry/global_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "registry/jsonpos.h"
#include "mserve/common.h"

/* Fill *s from the settings object `o`; unknown keys are logged and skipped
 * (TorchServe's models= also carries marName, defaultVersion, ...). */
static int read_level(const cJSON *o, const char *what, ms__settings *s) {
  if (!cJSON_IsObject(o)) return ms__fail(MS_ECORRUPT, "%s must be a JSON object", what);
  for (const cJSON *it = o->child; it; it = it->next) {
    int st = ms__registry_settings_set_json(s, it->string, it, what);
    if (st == 1) {
      if (ms__log_enabled(MS_LOG_DEBUG)) {
        char shown[160];
        ms__log(MS_LOG_DEBUG, "%s: ignoring unknown key '%s'", what, ms__text_show(it->string, shown, sizeof shown));
      }
      continue;
    }
    if (st) return st;
  }
  return MS_OK;
}

void ms__registry_global_free(ms__global_config *g) {
  if (!g) return;
  ms__registry_settings_free(&g->defaults);
  for (size_t i = 0; i < g->n_entries; i++) {
    free(g->entries[i].name);
    free(g->entries[i].version);
    ms__registry_settings_free(&g->entries[i].s);
  }
  free(g->entries);
  free(g);
}

static int cmp_entry(const void *pa, const void *pb) {
  const ms__global_entry *a = pa, *b = pb;
  int c = strcmp(a->name, b->name);
  return c ? c : strcmp(a->version, b->version);
}

/* A model name or version (an object key) kept for lookups and messages. */
static int check_text(const char *s, const char *what, const char *kind) {
  const char *bad = ms__registry_json_text_problem(s);
  if (!bad) return MS_OK;
  char shown[160];
  return ms__fail(MS_ECORRUPT, "%s: %s '%s' %s", what, kind, ms__text_show(s, shown, sizeof shown), bad);
}

int ms__registry_global_parse(const char *buf, size_t len, const char *origin, ms__global_config **out) {
  if (!origin || !out) return ms__fail(MS_EINVAL, "global config: NULL argument");
  char what[600];
  snprintf(what, sizeof what, "global config '%s'", origin);
  int st = MS_OK;
  cJSON *root = ms__registry_json_parse(buf, len, what, &st);
  if (!root) return st;
  ms__global_config *g = calloc(1, sizeof *g);
  size_t cap = 0;
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
        char sm[160], sv[160];
        if ((st = check_text(m->string, what, "model name"))) goto fail;
        if (!cJSON_IsObject(m)) {
          st = ms__fail(MS_ECORRUPT, "%s: models.\"%s\" must be an object of versions", what,
                        ms__text_show(m->string, sm, sizeof sm));
          goto fail;
        }
        for (const cJSON *v = m->child; v; v = v->next) {
          if ((st = check_text(v->string, what, "model version"))) goto fail;
          char w[900];
          snprintf(w, sizeof w, "%s: models.\"%s\".\"%s\"", what, ms__text_show(m->string, sm, sizeof sm),
                   ms__text_show(v->string, sv, sizeof sv));
          if (g->n_entries == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            ms__global_entry *grown = realloc(g->entries, ncap * sizeof *grown);
            if (!grown) {
              st = ms__fail(MS_ENOMEM, "%s: out of memory", what);
              goto fail;
            }
            g->entries = grown;
            cap = ncap;
          }
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
    } else if (ms__log_enabled(MS_LOG_DEBUG)) {
      char shown[160];
      ms__log(MS_LOG_DEBUG, "%s: ignoring unknown top-level key '%s'", what,
              ms__text_show(top->string, shown, sizeof shown));
    }
  }
  /* Sorted for lookups; a model version given twice would silently lose one
   * of its entries, so it is refused. */
  if (g->n_entries > 1) qsort(g->entries, g->n_entries, sizeof *g->entries, cmp_entry);
  for (size_t i = 0; i + 1 < g->n_entries; i++)
    if (cmp_entry(&g->entries[i], &g->entries[i + 1]) == 0) {
      char sm[160], sv[160];
      st = ms__fail(MS_ECORRUPT, "%s: models.\"%s\".\"%s\" is given twice", what,
                    ms__text_show(g->entries[i].name, sm, sizeof sm),
                    ms__text_show(g->entries[i].version, sv, sizeof sv));
      goto fail;
    }
  cJSON_Delete(root);
  *out = g;
  return MS_OK;
fail:
  cJSON_Delete(root);
  ms__registry_global_free(g);
  return st == MS_ENOMEM ? ms__fail(MS_ENOMEM, "%s: out of memory", what) : st;
}

typedef struct lookup_key {
  const char *name, *version;
} lookup_key;

static int cmp_lookup(const void *pk, const void *pe) {
  const lookup_key *k = pk;
  const ms__global_entry *e = pe;
  int c = strcmp(k->name, e->name);
  return c ? c : strcmp(k->version, e->version);
}

const ms__settings *ms__registry_global_lookup(const ms__global_config *g, const char *name,
                                             const char *version) {
  if (!g || !name || !version || !g->n_entries) return NULL;
  lookup_key key = {name, version};
  const ms__global_entry *e = bsearch(&key, g->entries, g->n_entries, sizeof *g->entries, cmp_lookup);
  return e ? &e->s : NULL;
}
