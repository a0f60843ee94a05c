/* JSON parsing that reports where a document is broken. */
#include "registry/jsonpos.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "mserve/common.h"

/* Bytes that stand for a "\u0000" escape in the text handed to cJSON: the
 * same length (so byte offsets stay right) and never valid UTF-8, so the
 * UTF-8 check of every string that is kept refuses it (cJSON itself would
 * end the string there and silently drop the rest). */
static const char NUL_STANDIN[6] = {'\xC0', '\x80', '\xC0', '\x80', '\xC0', '\x80'};

/* Find "\u0000" escapes inside strings of t[len]; with `out` (a copy of t)
 * replace each there. Returns 1 when one was found. */
static int nul_escapes(const char *t, size_t len, char *out) {
  int found = 0, in_str = 0;
  for (size_t i = 0; i < len; i++) {
    if (!in_str) {
      if (t[i] == '"') in_str = 1;
      continue;
    }
    if (t[i] == '"') {
      in_str = 0;
    } else if (t[i] == '\\' && i + 1 < len) {
      if (t[i + 1] == 'u' && i + 5 < len && memcmp(t + i + 2, "0000", 4) == 0) {
        found = 1;
        if (!out) return 1;
        memcpy(out + i, NUL_STANDIN, sizeof NUL_STANDIN);
        i += 5;
      } else {
        i++; /* skip the escaped character (\" and \\ included) */
      }
    }
  }
  return found;
}

/* Nesting depth of arrays and objects just before json[off]. */
static size_t depth_at(const char *t, size_t off) {
  size_t depth = 0;
  int in_str = 0;
  for (size_t i = 0; i < off; i++) {
    char ch = t[i];
    if (in_str) {
      if (ch == '\\') i++;
      else if (ch == '"') in_str = 0;
    } else if (ch == '"') {
      in_str = 1;
    } else if (ch == '[' || ch == '{') {
      depth++;
    } else if ((ch == ']' || ch == '}') && depth) {
      depth--;
    }
  }
  return depth;
}

cJSON *ms__registry_json_parse(const char *json, size_t len, const char *what, int *status) {
  if (!json || !len) {
    *status = ms__fail(MS_ECORRUPT, "%s: empty document, expected JSON", what);
    return NULL;
  }
  char *copy = NULL;
  const char *text = json;
  if (nul_escapes(json, len, NULL)) {
    if (!(copy = malloc(len))) {
      *status = ms__fail(MS_ENOMEM, "%s: out of memory", what);
      return NULL;
    }
    memcpy(copy, json, len);
    nul_escapes(json, len, copy);
    text = copy;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (root) {
    free(copy);
    return root;
  }
  size_t off = (end && end >= text && end <= text + len) ? (size_t)(end - text) : 0;
  size_t line = 1, col = 1;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  /* cJSON stops at the bracket that would open one level too many. */
  if (off < len && (text[off] == '[' || text[off] == '{') && depth_at(text, off) >= CJSON_NESTING_LIMIT)
    *status =
        ms__fail(MS_ECORRUPT, "%s: arrays and objects nested deeper than %d levels at byte %zu (line %zu, column %zu)",
                 what, CJSON_NESTING_LIMIT, off, line, col);
  else
    *status = ms__fail(MS_ECORRUPT, "%s: invalid JSON at byte %zu (line %zu, column %zu)", what, off, line, col);
  free(copy);
  return NULL;
}

const char *ms__registry_json_text_problem(const char *s) {
  if (!s || ms__text_utf8_str(s)) return NULL;
  for (const char *p = s; (p = strchr(p, NUL_STANDIN[0])) != NULL; p++)
    if (strncmp(p, NUL_STANDIN, sizeof NUL_STANDIN) == 0) return "holds a NUL character (\\u0000)";
  return "is not valid UTF-8";
}
