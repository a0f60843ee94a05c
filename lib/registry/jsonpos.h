/* Internal: JSON parsing with an error position for messages. */
#ifndef MS_REGISTRY_JSONPOS_H
#define MS_REGISTRY_JSONPOS_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parse json[len] (need not be NUL-terminated). On a syntax error returns
 * NULL and sets MS_ECORRUPT "<what>: invalid JSON at byte N (line L, column
 * C)", or "<what>: arrays and objects nested deeper than 1000 levels at
 * byte N ..." when cJSON's nesting limit was hit; *status gets the status.
 * A "\u0000" escape inside a string is kept as bytes that are not valid
 * UTF-8 (cJSON would cut the string there), so a caller's UTF-8 check of
 * the strings it keeps (ms__text_utf8_str) refuses it. */
cJSON *ms__registry_json_parse(const char *json, size_t len, const char *what, int *status);

/* NULL when the string s (parsed by ms__registry_json_parse) is UTF-8 text without
 * NUL; else what is wrong with it, for a message: "holds a NUL character
 * (\u0000)" or "is not valid UTF-8". */
const char *ms__registry_json_text_problem(const char *s);

#endif
