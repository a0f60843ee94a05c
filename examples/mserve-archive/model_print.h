/* Output helpers shared by mserve-archive and mserve-registry: a model
 * snapshot as text or JSON, errors, and the exit-code convention
 * (0 ok, 1 the thing asked about is bad/denied/not found, 2 usage or system). */
#ifndef MSERVE_EXAMPLES_MODEL_PRINT_H
#define MSERVE_EXAMPLES_MODEL_PRINT_H

#include <cjson/cJSON.h>
#include <mserve.h>
#include <mserve/registry.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_BAD = 1, EXIT_USAGE = 2 };

/* The canonical setting keys, NULL-terminated, in display order. */
extern const char *const model_setting_keys[];

/* "default", "global", "archive", "api". */
const char *model_source_name(ms_config_source src);

/* Human-readable: identity, then one line per setting with its source. */
void model_print_text(FILE *out, const ms_model *m, const char *indent);

/* {"name","version","runtime","handler","archive","content_hash","default",
 *  "missing","settings":{key:{"value":..,"source":".."}}}; NULL on ENOMEM. */
cJSON *model_to_json(const ms_model *m);

/* Exit code for a failed libmserve call. */
int status_exit_code(int status);

/* Report a failed call: "<tool>: <what>: MS_X: <errmsg>" on stderr and, with
 * json, {"ok":false,"status":"MS_X","code":n,"message":".."} on stdout.
 * Returns the exit code. */
int report_failure(const char *tool, int json, const char *what, int status);

/* Same for a failure found by the tool itself (message already formatted). */
int report_failure_msg(const char *tool, int json, int status, const char *message);

/* A usage error: the message and a hint on stderr and, with json,
 * {"ok":false,"status":"usage","code":2,"message":".."} on stdout, so a
 * --json caller always gets one object. Returns EXIT_USAGE. */
int report_usage(const char *tool, int json, const char *message);

/* 1 when "--json" is among the arguments (checked before parsing them, so
 * even an error in an earlier option is reported as JSON). */
int argv_has_json(int argc, char **argv);

/* Print obj (adding "ok": true) as one line of JSON and free it; 2 on ENOMEM. */
int print_json(cJSON *obj);

/* Parse a non-negative decimal integer option value (digits only: no sign,
 * blanks or suffix); 0 on success, -1 otherwise (*out untouched). */
int parse_int_arg(const char *s, long long *out);

/* parse_int_arg, then value * factor (a flag in ms or s to the library's
 * microseconds) through the library's checked conversion: 0 on success, -1
 * for bad text, -2 when the value or the product does not fit in int64
 * (*out untouched). */
int parse_scaled_arg(const char *s, int64_t factor, int64_t *out);

/* ---- text that is safe to print ------------------------------------------
 * Strings the tools print come from archives, file names, the command line
 * and library messages: any of them may hold control characters or bytes
 * that are not UTF-8. Text output shows them escaped; JSON output is always
 * valid UTF-8. */

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates, or code points
 * past U+10FFFF). */
int text_is_utf8(const char *s);

/* s for a terminal: printable characters as they are, control characters
 * (U+0000..U+001F, U+007F..U+009F), bytes that are not UTF-8 and the
 * backslash as \xNN or \\. The result lives until 16 more calls (a ring
 * of buffers, so several may appear in one printf); "" on out of memory. */
const char *tx(const char *s);

/* Add s to o under key as a JSON string that is always valid UTF-8: bytes
 * that are not UTF-8 become U+FFFD (cJSON escapes control characters).
 * NULL s adds "". Returns the new item, NULL on out of memory. */
cJSON *json_add_str(cJSON *o, const char *key, const char *s);

#endif
