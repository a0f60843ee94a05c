/* libFuzzer target: the archive reader (zip central directory or tar.gz
 * stream, then manifest, then model-config.yaml), from memory. A read
 * archive must carry a valid name and version and a 64-hex-digit hash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mserve/common.h"
#include "registry/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ms__archive_meta m;
  int st = ms__registry_archive_read_manifest_from_memory(data, size, "fuzz.mar", &m);
  if (st != MS_OK) {
    if (ms_errmsg()[0] == '\0') abort();
    return 0;
  }
  if (!m.manifest.name || !ms__registry_name_valid(m.manifest.name)) abort();
  if (!m.manifest.version || !ms__registry_version_valid(m.manifest.version)) abort();
  if (strlen(m.hash) != 64 || strspn(m.hash, "0123456789abcdef") != 64) abort();
  ms__registry_archive_meta_free(&m);
  return 0;
}
