/* JSON parsing that reports where a document is broken. */
#include "jsonpos.h"

#include "common/error.h"
#include "mserve/common.h"

cJSON *ms__json_parse(const char *json, size_t len, const char *what, int *status) {
  if (!json || !len) {
    *status = ms__fail(MS_ECORRUPT, "%s: empty document, expected JSON", what);
    return NULL;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (root) return root;
  size_t off = (end && end >= json && end <= json + len) ? (size_t)(end - json) : 0;
  size_t line = 1, col = 1;
  for (size_t i = 0; i < off; i++) {
    if (json[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  *status = ms__fail(MS_ECORRUPT, "%s: invalid JSON at byte %zu (line %zu, column %zu)", what, off, line, col);
  return NULL;
}
