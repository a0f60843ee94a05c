/* Internal: JSON parsing with an error position for messages. */
#ifndef MS_REGISTRY_JSONPOS_H
#define MS_REGISTRY_JSONPOS_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parse json[len] (need not be NUL-terminated). On a syntax error returns
 * NULL and sets MS_ECORRUPT "<what>: invalid JSON at byte N (line L, column
 * C)"; *status gets the status. */
cJSON *ms__json_parse(const char *json, size_t len, const char *what, int *status);

#endif
