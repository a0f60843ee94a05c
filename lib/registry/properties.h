/* Internal: Java properties files — TorchServe's config.properties and its
 * snapshots (*-snapshot.cfg) — read as java.util.Properties.load reads them
 * (properties.c). This is the syntax only; global_config.c says what the
 * keys mean.
 *
 * Syntax: a logical line is natural lines (ended by \n, \r or \r\n) joined
 * while a line ends in an odd number of backslashes, the next line's
 * leading whitespace dropped. Blank lines and comment lines (first
 * non-whitespace character '#' or '!') are skipped; a comment never
 * continues. The key runs from the first non-whitespace character to the
 * first unescaped '=', ':' or whitespace; whitespace, then at most one '='
 * or ':', then whitespace separate it from the value (key=value, key: value
 * and key value all work). In keys and values \t \n \r \f and \uXXXX are
 * escapes (a surrogate pair makes one character), and a backslash before
 * any other character stands for that character (\= \: \# \\ and "\ ").
 * A key given twice keeps its last value (as Java does); every occurrence
 * is listed, in file order.
 *
 * Text: a file that is valid UTF-8 is read as UTF-8; any other file as ISO
 * 8859-1, what Properties.load(InputStream) — and so TorchServe — assumes.
 * Keys and values are UTF-8 without NUL: a NUL (a byte or \u0000), a lone
 * surrogate or a malformed \u escape is MS_ECORRUPT naming the line.
 *
 * Layer: leaf parser (lib/common only). Used by global_config.c.
 *
 * Fuzz entry point: ms__registry_props_parse + ms__registry_props_free
 * (tests/fuzz/fuzz_registry_properties.c). */
#ifndef MS_REGISTRY_PROPERTIES_H
#define MS_REGISTRY_PROPERTIES_H

#include <stddef.h>
#include <stdint.h>

/* Most logical lines, and bytes of one key or value, a file may hold (real
 * ones have tens of lines; a snapshot's model_snapshot= value a few KiB per
 * model). More is MS_ECORRUPT naming the limit. */
#define MS__PROPS_MAX_LINES 100000
#define MS__PROPS_MAX_VALUE ((size_t)16 << 20)

typedef struct ms__prop {
  char *key, *value; /* UTF-8 without NUL, NUL-terminated; value may be "" */
  int64_t line;      /* 1-based natural line where the logical line starts */
} ms__prop;

typedef struct ms__props {
  ms__prop *items; /* every key=value line, in file order */
  size_t n;
  int latin1;      /* the file was not UTF-8 and was read as ISO 8859-1 */
} ms__props;

/*
 * ms__registry_props_parse - parse the properties held in buf[len] (need
 * not be NUL-terminated; len 0 is an empty file). `origin` names the file
 * in messages ("config '<origin>': line N: ..."). On success *out owns its
 * strings (ms__registry_props_free). Errors: MS_ECORRUPT (see above),
 * MS_ENOMEM. *out untouched on failure. Cost O(len).
 */
int ms__registry_props_parse(const char *buf, size_t len, const char *origin, ms__props *out);
void ms__registry_props_free(ms__props *p);

/* The last occurrence of `key`, or NULL. O(n). */
const ms__prop *ms__registry_props_find(const ms__props *p, const char *key);

#endif
