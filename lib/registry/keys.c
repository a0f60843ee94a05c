/* What the registry read from its global config file beyond the settings it
 * applies: the keys it does not use (ms_registry_unused_keys) and the
 * server-wide values as written (ms_registry_get_global). */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "registry/handle.h"

struct ms_key_list {
  ms__global_kv *items;
  size_t n;
};

void ms_key_list_free(ms_key_list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) {
    free(l->items[i].key);
    free(l->items[i].value);
  }
  free(l->items);
  free(l);
}

int ms_registry_unused_keys(ms_registry *r, ms_key_list **out) {
  if (!r || !out) return ms__fail(MS_EINVAL, "registry: ms_registry_unused_keys: NULL registry or out");
  ms_key_list *l = calloc(1, sizeof *l);
  const ms__global_config *g = r->global;
  size_t n = g ? g->n_unused : 0;
  if (!l || (n && !(l->items = calloc(n, sizeof *l->items)))) {
    free(l);
    return ms__fail(MS_ENOMEM, "registry: ms_registry_unused_keys: out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    ms__global_kv *d = &l->items[l->n];
    d->key = ms__strdup(g->unused[i].key);
    d->value = ms__strdup(g->unused[i].value);
    d->line = g->unused[i].line;
    if (!d->key || !d->value) {
      free(d->key);
      free(d->value);
      ms_key_list_free(l);
      return ms__fail(MS_ENOMEM, "registry: ms_registry_unused_keys: out of memory");
    }
    l->n++;
  }
  *out = l;
  return MS_OK;
}

size_t ms_key_list_count(const ms_key_list *l) { return l ? l->n : 0; }

int ms_key_list_get(const ms_key_list *l, size_t i, const char **key, const char **value, int64_t *line) {
  if (!l) return ms__fail(MS_EINVAL, "registry: ms_key_list_get: NULL list");
  if (i >= l->n)
    return ms__fail(MS_EINVAL, "registry: ms_key_list_get: index %zu is out of range (the list holds %zu)", i, l->n);
  if (key) *key = l->items[i].key;
  if (value) *value = l->items[i].value;
  if (line) *line = l->items[i].line;
  return MS_OK;
}

int ms_registry_get_global(ms_registry *r, const char *key, const char **value) {
  if (!r || !key || !value) return ms__fail(MS_EINVAL, "registry: ms_registry_get_global: NULL registry, key or value");
  const char *v = ms__registry_global_get(r->global, key);
  char shown[160];
  if (!v)
    return ms__fail(MS_ENOTFOUND, "registry: ms_registry_get_global: key '%s': not in the global config%s",
                    ms__text_show(key, shown, sizeof shown), r->global ? "" : " (the registry has none)");
  *value = v;
  return MS_OK;
}
