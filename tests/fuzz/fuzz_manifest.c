/* libFuzzer target: MAR-INF/MANIFEST.json and the legacy MMS 0.1 manifest.
 * Beyond "no crash, no leak", a parsed manifest must satisfy the parser's own
 * contract (valid name and version, strings that are UTF-8 text), so a
 * lenient path cannot slip through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "mserve/common.h"
#include "registry/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ms__manifest m;
  memset(&m, 0xA5, sizeof m); /* "untouched on failure" is checked below */
  ms__manifest before = m;
  int st = ms__registry_manifest_parse((const char *)data, size, "fuzz/MANIFEST.json", &m);
  if (st != MS_OK) {
    if (memcmp(&m, &before, sizeof m) != 0) abort();
    if (ms_errmsg()[0] == '\0') abort(); /* every failure names its cause */
    return 0;
  }
  if (!m.name || !ms__registry_name_valid(m.name)) abort();
  if (!m.version || !ms__registry_version_valid(m.version)) abort();
  if (!m.runtime || !m.handler) abort();
  /* Every string kept is text: UTF-8 without NUL (a \u0000 escape included). */
  if (!ms__text_utf8_str(m.runtime) || !ms__text_utf8_str(m.handler) || !ms__text_utf8_str(m.config_file)) abort();
  ms__registry_manifest_free(&m);
  return 0;
}
