/* Internal: small string helpers shared by every part. */
#ifndef MS_COMMON_TEXT_H
#define MS_COMMON_TEXT_H

#include <stddef.h>

/* strdup that reports MS_ENOMEM through ms__fail; returns NULL on failure. */
char *ms__strdup(const char *s);

/* Copy at most cap-1 bytes and NUL-terminate; returns strlen(src). A cut
 * never splits a UTF-8 sequence (it backs off to the sequence's start), so
 * a valid UTF-8 source gives a valid UTF-8 copy. */
size_t ms__strlcpy(char *dst, const char *src, size_t cap);

/*
 * ms__text_utf8_valid - 1 when s[0..len) is well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates U+D800..U+DFFF, nothing past U+10FFFF,
 * no truncated sequence) and holds no NUL byte; else 0, with *bad (may be
 * NULL) set to the offset of the first offending byte. Pure: sets no
 * message (callers name the file and key). NULL s with len 0 is valid.
 */
int ms__text_utf8_valid(const char *s, size_t len, size_t *bad);

/* ms__text_utf8_valid over a NUL-terminated string (NULL is valid). */
int ms__text_utf8_str(const char *s);

/*
 * ms__text_show - a rendering of the untrusted string s that is safe to put
 * in a message: valid UTF-8, no control characters. Printable characters
 * (ASCII and well-formed multi-byte UTF-8) are kept; control characters
 * (U+0000..U+001F, U+007F..U+009F), a backslash and each byte of an
 * invalid sequence become "\xNN" (a backslash as "\\"). Written into
 * buf[cap] (cap >= 4), always NUL-terminated; a longer result is cut at a
 * character boundary and ends with "...". NULL s gives "(null)".
 * Returns buf.
 */
const char *ms__text_show(const char *s, char *buf, size_t cap);
/* The same for s[0..len), which may hold NUL bytes (shown as "\x00"). */
const char *ms__text_show_n(const char *s, size_t len, char *buf, size_t cap);

#endif
