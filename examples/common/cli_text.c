/* Text that is safe to print (see cli_text.h). */
#include "cli_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- safe text ------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s (at least one byte left
 * before the NUL), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp, min;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1Fu, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0Fu, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07u, min = 0x10000;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0; /* the NUL terminator stops here too */
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

int text_is_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    size_t n = utf8_len(p);
    if (!n) return 0;
    p += n;
  }
  return 1;
}

const char *tx(const char *s) {
  static char *ring[16];
  static size_t caps[16];
  static unsigned next;
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t need = strlen((const char *)p) * 4 + 1; /* at worst every byte as \xNN */
  unsigned slot = next++ % 16;
  if (caps[slot] < need) {
    char *g = realloc(ring[slot], need);
    if (!g) return "";
    ring[slot] = g;
    caps[slot] = need;
  }
  char *o = ring[slot];
  while (*p) {
    size_t n = utf8_len(p);
    int c1 = n == 2 && p[0] == 0xC2 && p[1] <= 0x9F; /* U+0080..U+009F */
    if (n == 1 && *p >= 0x20 && *p != 0x7F && *p != '\\') {
      *o++ = (char)*p++;
    } else if (n == 1 && *p == '\\') {
      *o++ = '\\', *o++ = '\\';
      p++;
    } else if (n > 1 && !c1) {
      memcpy(o, p, n);
      o += n, p += n;
    } else {
      snprintf(o, 5, "\\x%02X", (unsigned)*p++);
      o += 4;
    }
  }
  *o = '\0';
  return ring[slot];
}

cJSON *json_add_str(cJSON *o, const char *key, const char *s) {
  if (!s) s = "";
  if (text_is_utf8(s)) return cJSON_AddStringToObject(o, key, s);
  const unsigned char *p = (const unsigned char *)s;
  char *buf = malloc(strlen(s) * 3 + 1), *w = buf; /* U+FFFD is 3 bytes */
  if (!buf) return NULL;
  while (*p) {
    size_t n = utf8_len(p);
    if (n) {
      memcpy(w, p, n);
      w += n, p += n;
    } else {
      memcpy(w, "\xEF\xBF\xBD", 3);
      w += 3, p++;
    }
  }
  *w = '\0';
  cJSON *it = cJSON_AddStringToObject(o, key, buf);
  free(buf);
  return it;
}
