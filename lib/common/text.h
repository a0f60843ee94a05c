/* Internal: small string helpers shared by every part. */
#ifndef MS_COMMON_TEXT_H
#define MS_COMMON_TEXT_H

#include <stddef.h>

/* strdup that reports MS_ENOMEM through ms__fail; returns NULL on failure. */
char *ms__strdup(const char *s);

/* Copy at most cap-1 bytes and NUL-terminate; returns strlen(src). */
size_t ms__strlcpy(char *dst, const char *src, size_t cap);

#endif
