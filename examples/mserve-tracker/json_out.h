/* A tiny streaming JSON writer for one flat-ish object on stdout: enough for
 * the CLI's machine-readable output without a dependency. */
#ifndef MSERVE_TRACKER_JSON_OUT_H
#define MSERVE_TRACKER_JSON_OUT_H

#include <stdint.h>

void jo_begin(void);                          /* "{" */
void jo_end(void);                            /* "}\n" */
void jo_key_object(const char *key);          /* "key": { */
void jo_end_object(void);                     /* } */
void jo_key_array(const char *key);           /* "key": [ */
void jo_end_array(void);                      /* ] */
void jo_str(const char *key, const char *v);  /* key NULL inside an array; v NULL writes null */
void jo_int(const char *key, int64_t v);
void jo_bool(const char *key, int v);
void jo_null(const char *key);

#endif
