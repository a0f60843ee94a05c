/* Snapshot lists: endpoint names and rule snapshots. A list is built whole
 * under the engine's mutex, so it is one consistent view; indexes into it
 * never shift, whatever the engine does afterwards. */
#include <stdlib.h>
#include <string.h>

#include "autoscaler/lists.h"
#include "common/error.h"

ms_endpoint_list *ms__autoscaler_endpoint_list_new(size_t n, size_t name_bytes) {
  ms_endpoint_list *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->name_off = malloc((n ? n : 1) * sizeof *l->name_off);
  l->names = malloc(name_bytes ? name_bytes : 1);
  if (!l->name_off || !l->names) {
    ms_endpoint_list_free(l);
    return NULL;
  }
  return l;
}

void ms__autoscaler_endpoint_list_push(ms_endpoint_list *l, size_t *used, const char *name, size_t len) {
  l->name_off[l->n++] = *used;
  memcpy(l->names + *used, name, len + 1);
  *used += len + 1;
}

size_t ms_endpoint_list_count(const ms_endpoint_list *l) { return l ? l->n : 0; }

int ms_endpoint_list_get(const ms_endpoint_list *l, size_t i, const char **name) {
  if (!l || !name)
    return ms__fail(MS_EINVAL, "autoscaler: ms_endpoint_list_get: NULL %s", !l ? "list" : "name pointer");
  if (i >= l->n)
    return ms__fail(MS_EINVAL, "autoscaler: ms_endpoint_list_get: index %zu out of range (%zu endpoints)", i, l->n);
  *name = l->names + l->name_off[i];
  return MS_OK;
}

void ms_endpoint_list_free(ms_endpoint_list *l) {
  if (!l) return;
  free(l->name_off);
  free(l->names);
  free(l);
}

ms_rule_list *ms__autoscaler_rule_list_new(size_t n, size_t string_bytes) {
  ms_rule_list *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->rules = calloc(n ? n : 1, sizeof *l->rules);
  l->strings = malloc(string_bytes ? string_bytes : 1);
  if (!l->rules || !l->strings) {
    ms_rule_list_free(l);
    return NULL;
  }
  return l;
}

char *ms__autoscaler_rule_list_string(ms_rule_list *l, size_t *used, const char *s, size_t len) {
  char *p = memcpy(l->strings + *used, s, len + 1);
  *used += len + 1;
  return p;
}

size_t ms_rule_list_count(const ms_rule_list *l) { return l ? l->n : 0; }

int ms_rule_list_get(const ms_rule_list *l, size_t i, const ms_rule **rule) {
  if (!l || !rule) return ms__fail(MS_EINVAL, "autoscaler: ms_rule_list_get: NULL %s", !l ? "list" : "rule pointer");
  if (i >= l->n)
    return ms__fail(MS_EINVAL, "autoscaler: ms_rule_list_get: index %zu out of range (%zu rules)", i, l->n);
  *rule = &l->rules[i];
  return MS_OK;
}

void ms_rule_list_free(ms_rule_list *l) {
  if (!l) return;
  free(l->rules);
  free(l->strings);
  free(l);
}
