#include "common/text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

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
    /* Cutting: never leave the first bytes of a multi-byte sequence. */
    if (k < n)
      while (k > 0 && ((unsigned char)src[k] & 0xC0) == 0x80) k--;
    memcpy(dst, src, k);
    dst[k] = '\0';
  }
  return n;
}

/* Length of the well-formed UTF-8 sequence at s[0..left) (left >= 1), or 0
 * when it is invalid or a NUL byte. */
static size_t utf8_seq(const unsigned char *s, size_t left) {
  unsigned c = s[0];
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp, min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1Fu, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0Fu, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07u, min = 0x10000;
  } else {
    return 0; /* continuation byte, 0xC0/0xC1 (overlong), 0xF5.. */
  }
  if (left < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

int ms__text_utf8_valid(const char *s, size_t len, size_t *bad) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    if (p[i] >= 0x01 && p[i] < 0x80) { /* ASCII fast path */
      i++;
      continue;
    }
    size_t n = utf8_seq(p + i, len - i);
    if (!n) {
      if (bad) *bad = i;
      return 0;
    }
    i += n;
  }
  return 1;
}

int ms__text_utf8_str(const char *s) { return s ? ms__text_utf8_valid(s, strlen(s), NULL) : 1; }

/* Render s into buf, at most max bytes (no NUL); returns the bytes written
 * and sets *done when all of s fit. */
static size_t show_into(const unsigned char *p, size_t len, char *buf, size_t max, int *done) {
  size_t o = 0, i = 0;
  while (i < len) {
    char piece[8];
    size_t plen, adv;
    size_t n = utf8_seq(p + i, len - i);
    int c1 = n == 2 && p[i] == 0xC2 && p[i + 1] <= 0x9F; /* U+0080..U+009F */
    if (n == 1 && p[i] >= 0x20 && p[i] != 0x7F && p[i] != '\\') {
      piece[0] = (char)p[i];
      plen = 1, adv = 1;
    } else if (n == 1 && p[i] == '\\') {
      memcpy(piece, "\\\\", 2);
      plen = 2, adv = 1;
    } else if (n > 1 && !c1) {
      memcpy(piece, p + i, n);
      plen = n, adv = n;
    } else {
      snprintf(piece, sizeof piece, "\\x%02X", (unsigned)p[i]);
      plen = 4, adv = 1;
    }
    if (o + plen > max) {
      *done = 0;
      return o;
    }
    memcpy(buf + o, piece, plen);
    o += plen;
    i += adv;
  }
  *done = 1;
  return o;
}

const char *ms__text_show(const char *s, char *buf, size_t cap) {
  return ms__text_show_n(s, s ? strlen(s) : 0, buf, cap);
}

const char *ms__text_show_n(const char *s, size_t len, char *buf, size_t cap) {
  if (!buf || cap == 0) return "";
  if (!s) {
    ms__strlcpy(buf, "(null)", cap);
    return buf;
  }
  const unsigned char *p = (const unsigned char *)s;
  int done = 0;
  size_t o = show_into(p, len, buf, cap - 1, &done);
  if (!done) {
    size_t dots = cap > 4 ? 3 : cap - 1;
    o = show_into(p, len, buf, cap - 1 - dots, &done);
    memset(buf + o, '.', dots);
    o += dots;
  }
  buf[o] = '\0';
  return buf;
}
