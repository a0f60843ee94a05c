/* Text that is safe to print, for the example CLIs. Strings the tools print
 * come from archives, file names, the command line and library messages:
 * any of them may hold control characters or bytes that are not UTF-8.
 * Text output shows them escaped; JSON output is always valid UTF-8. */
#ifndef MSERVE_EXAMPLES_CLI_TEXT_H
#define MSERVE_EXAMPLES_CLI_TEXT_H

#include <cjson/cJSON.h>

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
