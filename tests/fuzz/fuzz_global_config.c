/* libFuzzer target: the global config JSON ({"defaults":…,"models":…}).
 * Every parsed per-version entry must be found again by lookup. */
#include <stdint.h>
#include <stdlib.h>

#include "mserve/common.h"
#include "registry/global_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ms__global_config *g = NULL;
  int st = ms__registry_global_parse((const char *)data, size, "fuzz/global.json", &g);
  if (st != MS_OK) {
    if (g != NULL) abort(); /* untouched on failure */
    if (ms_errmsg()[0] == '\0') abort();
    return 0;
  }
  if (!g) abort();
  for (size_t i = 0; i < g->n_entries; i++) {
    const ms__global_entry *e = &g->entries[i];
    if (!e->name || !e->version) abort();
    if (!ms__registry_global_lookup(g, e->name, e->version)) abort();
  }
  ms__registry_global_free(g);
  return 0;
}
