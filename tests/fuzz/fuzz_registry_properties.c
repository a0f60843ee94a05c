/* libFuzzer target: Java properties files (TorchServe's config.properties
 * and snapshots) — the syntax (registry/properties.h), then the same bytes
 * read as the global config (registry/global_config.h). Beyond "no crash,
 * no leak": outputs untouched on failure, every failure explained, every
 * key and value kept is UTF-8 text without NUL, lines never go backwards,
 * a key's last occurrence is what lookups find, every entry is found again
 * and no model has two default versions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "mserve/common.h"
#include "registry/global_config.h"
#include "registry/properties.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_syntax(const uint8_t *data, size_t size) {
  ms__props p;
  memset(&p, 0xA5, sizeof p);
  ms__props before = p;
  int st = ms__registry_props_parse((const char *)data, size, "fuzz/config.properties", &p);
  if (st != MS_OK) {
    if (memcmp(&p, &before, sizeof p) != 0) abort();
    if (ms_errmsg()[0] == '\0') abort();
    return;
  }
  int64_t line = 1;
  for (size_t i = 0; i < p.n; i++) {
    const ms__prop *e = &p.items[i];
    if (!e->key || !e->value || !ms__text_utf8_str(e->key) || !ms__text_utf8_str(e->value)) abort();
    if (e->line < line) abort();
    line = e->line;
    const ms__prop *last = ms__registry_props_find(&p, e->key);
    if (!last || last < e || strcmp(last->key, e->key) != 0) abort();
  }
  ms__registry_props_free(&p);
}

static void check_config(const uint8_t *data, size_t size) {
  ms__global_config *g = NULL;
  int st = ms__registry_global_parse((const char *)data, size, "fuzz/config.properties", &g);
  if (st != MS_OK) {
    if (g != NULL) abort();
    if (ms_errmsg()[0] == '\0') abort();
    return;
  }
  if (!g || g->format != MS__GLOBAL_PROPERTIES) abort();
  for (size_t i = 0; i < g->n_entries; i++) {
    const ms__global_entry *e = &g->entries[i];
    if (!e->name || !e->version || !ms__text_utf8_str(e->name) || !ms__text_utf8_str(e->version)) abort();
    if (ms__registry_global_lookup(g, e->name, e->version) != &e->s) abort();
    if (i + 1 < g->n_entries && strcmp(e->name, g->entries[i + 1].name) == 0 && e->is_default &&
        g->entries[i + 1].is_default)
      abort();
  }
  for (size_t i = 0; i < g->n_unused; i++)
    if (!ms__text_utf8_str(g->unused[i].key) || !ms__text_utf8_str(g->unused[i].value)) abort();
  for (size_t i = 0; i < g->n_server; i++)
    if (ms__registry_global_get(g, g->server[i].key) == NULL) abort();
  ms__registry_global_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_syntax(data, size);
  check_config(data, size);
  return 0;
}
