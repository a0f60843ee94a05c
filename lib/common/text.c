#include "text.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

char *ms__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (!p) {
    ms__fail(MS_ENOMEM, "out of memory copying a %zu-byte string", n);
    return NULL;
  }
  memcpy(p, s, n);
  return p;
}

size_t ms__strlcpy(char *dst, const char *src, size_t cap) {
  size_t n = strlen(src);
  if (cap) {
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(dst, src, k);
    dst[k] = '\0';
  }
  return n;
}
