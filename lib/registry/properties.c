/* Java properties files, read the way java.util.Properties.load reads them
 * (see properties.h): its LineReader for logical lines, then the split into
 * key and value and the escapes of loadConvert. */
#include "registry/properties.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/text.h"
#include "mserve/common.h"

typedef struct pstate {
  const char *origin;
  ms__props out;
  size_t cap;
} pstate;

/* A growable byte buffer. */
typedef struct bytes {
  char *p;
  size_t n, cap;
} bytes;

static int bytes_put(bytes *b, char c) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    char *g = realloc(b->p, cap);
    if (!g) return -1;
    b->p = g;
    b->cap = cap;
  }
  b->p[b->n++] = c;
  return 0;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\f'; }

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The 4 hex digits at s[0..4) (s has `left` bytes), or -1. */
static long hex4(const char *s, size_t left) {
  if (left < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit(s[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

static int put_utf8(bytes *b, unsigned long cp) {
  if (cp < 0x80) return bytes_put(b, (char)cp);
  if (cp < 0x800) return bytes_put(b, (char)(0xC0 | (cp >> 6))) || bytes_put(b, (char)(0x80 | (cp & 0x3F)));
  if (cp < 0x10000)
    return bytes_put(b, (char)(0xE0 | (cp >> 12))) || bytes_put(b, (char)(0x80 | ((cp >> 6) & 0x3F))) ||
           bytes_put(b, (char)(0x80 | (cp & 0x3F)));
  return bytes_put(b, (char)(0xF0 | (cp >> 18))) || bytes_put(b, (char)(0x80 | ((cp >> 12) & 0x3F))) ||
         bytes_put(b, (char)(0x80 | ((cp >> 6) & 0x3F))) || bytes_put(b, (char)(0x80 | (cp & 0x3F)));
}

/* loadConvert: s[0..n) with its escapes resolved, into a malloc'd string.
 * `what` is "key" or "value" for messages. */
static int unescape(const pstate *ps, int64_t line, const char *what, const char *s, size_t n, char **out) {
  bytes b = {NULL, 0, 0};
  const char *why = NULL;
  size_t i = 0;
  while (i < n && !why) {
    char c = s[i++];
    if (c == '\0') {
      why = "holds a NUL character";
      break;
    }
    if (c != '\\') {
      if (bytes_put(&b, c)) goto oom;
      continue;
    }
    if (i >= n) break; /* a lone backslash at the very end stands for nothing */
    c = s[i++];
    if (c == 'u') {
      long cp = hex4(s + i, n - i);
      if (cp < 0) {
        why = "has a malformed \\uXXXX escape (four hex digits must follow \\u)";
        break;
      }
      i += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = i + 1 < n && s[i] == '\\' && s[i + 1] == 'u' ? hex4(s + i + 2, n - i - 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) {
          why = "has a \\u escape that is half of a UTF-16 surrogate pair";
          break;
        }
        i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        why = "has a \\u escape that is half of a UTF-16 surrogate pair";
        break;
      } else if (cp == 0) {
        why = "holds a NUL character (\\u0000)";
        break;
      }
      if (put_utf8(&b, (unsigned long)cp)) goto oom;
      continue;
    }
    char e = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
    if (e == '\0') {
      why = "holds a NUL character";
      break;
    }
    if (bytes_put(&b, e)) goto oom;
  }
  if (why) {
    free(b.p);
    return ms__fail(MS_ECORRUPT, "config '%s': line %lld: the %s %s", ps->origin, (long long)line, what, why);
  }
  if (bytes_put(&b, '\0')) goto oom;
  *out = b.p;
  return MS_OK;
oom:
  free(b.p);
  return ms__fail(MS_ENOMEM, "config '%s': out of memory", ps->origin);
}

/* Split one logical line into key and value (Properties.load0) and keep it. */
static int emit(pstate *ps, const char *ln, size_t n, int64_t line) {
  size_t key_len = 0, value_start = n;
  int has_sep = 0, bs = 0;
  while (key_len < n) {
    char c = ln[key_len];
    if ((c == '=' || c == ':') && !bs) {
      value_start = key_len + 1;
      has_sep = 1;
      break;
    }
    if (is_ws(c) && !bs) {
      value_start = key_len + 1;
      break;
    }
    bs = c == '\\' ? !bs : 0;
    key_len++;
  }
  while (value_start < n) {
    char c = ln[value_start];
    if (!is_ws(c)) {
      if (!has_sep && (c == '=' || c == ':')) has_sep = 1;
      else break;
    }
    value_start++;
  }
  if (ps->out.n == MS__PROPS_MAX_LINES)
    return ms__fail(MS_ECORRUPT, "config '%s': line %lld: more than %d keys", ps->origin, (long long)line,
                    MS__PROPS_MAX_LINES);
  if (ps->out.n == ps->cap) {
    size_t cap = ps->cap ? ps->cap * 2 : 32;
    ms__prop *g = realloc(ps->out.items, cap * sizeof *g);
    if (!g) return ms__fail(MS_ENOMEM, "config '%s': out of memory", ps->origin);
    ps->out.items = g;
    ps->cap = cap;
  }
  ms__prop p = {NULL, NULL, line};
  int st = unescape(ps, line, "key", ln, key_len, &p.key);
  if (!st && (st = unescape(ps, line, "value", ln + value_start, n - value_start, &p.value))) free(p.key);
  if (st) return st;
  ps->out.items[ps->out.n++] = p;
  return MS_OK;
}

/* 1 when t[0..n) is UTF-8 once NUL bytes are set aside (those are refused
 * later, where they matter: comments may hold anything). */
static int utf8_but_nul(const char *t, size_t n) {
  size_t i = 0;
  while (i < n) {
    const char *z = memchr(t + i, '\0', n - i);
    size_t seg = z ? (size_t)(z - (t + i)) : n - i;
    if (!ms__text_utf8_valid(t + i, seg, NULL)) return 0;
    i += seg + 1;
  }
  return 1;
}

/* ISO 8859-1 to UTF-8 (every byte is the code point of the same value). */
static char *latin1_to_utf8(const char *t, size_t n, size_t *out_n) {
  char *o = malloc(n * 2 + 1);
  if (!o) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)t[i];
    if (c < 0x80) {
      o[k++] = (char)c;
    } else {
      o[k++] = (char)(0xC0 | (c >> 6));
      o[k++] = (char)(0x80 | (c & 0x3F));
    }
  }
  *out_n = k;
  return o;
}

void ms__registry_props_free(ms__props *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) {
    free(p->items[i].key);
    free(p->items[i].value);
  }
  free(p->items);
  memset(p, 0, sizeof *p);
}

int ms__registry_props_parse(const char *buf, size_t len, const char *origin, ms__props *out) {
  if ((!buf && len) || !origin || !out) return ms__fail(MS_EINVAL, "config: NULL argument");
  pstate ps;
  memset(&ps, 0, sizeof ps);
  ps.origin = origin;
  const char *t = buf ? buf : "";
  size_t tn = len;
  if (tn >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 byte order mark is no part of the first key */
    t += 3;
    tn -= 3;
  }
  char *conv = NULL;
  if (!utf8_but_nul(t, tn)) {
    if (!(conv = latin1_to_utf8(t, tn, &tn))) return ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
    t = conv;
    ps.out.latin1 = 1;
  }
  bytes ln = {NULL, 0, 0};
  int st = MS_OK;
  size_t i = 0;
  int64_t line = 1;
  while (!st && i < tn) {
    /* One logical line (LineReader.readLine). */
    ln.n = 0;
    int skip_ws = 1, appended = 0, comment = 0, fresh = 1, bs = 0, ended = 0;
    int64_t start = line;
    while (i < tn) {
      char c = t[i++];
      if (skip_ws) {
        if (is_ws(c)) continue;
        if (!appended && (c == '\r' || c == '\n')) {
          if (c == '\r' && i < tn && t[i] == '\n') i++;
          line++;
          continue;
        }
        skip_ws = 0;
        appended = 0;
      }
      if (fresh) {
        fresh = 0;
        start = line;
        if (c == '#' || c == '!') comment = 1;
      }
      if (c != '\n' && c != '\r') {
        if (comment) continue;
        if (ln.n >= MS__PROPS_MAX_VALUE) {
          st = ms__fail(MS_ECORRUPT, "config '%s': line %lld: a line longer than %zu bytes", origin,
                        (long long)start, MS__PROPS_MAX_VALUE);
          break;
        }
        if (bytes_put(&ln, c)) {
          st = ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
          break;
        }
        bs = c == '\\' ? !bs : 0;
        continue;
      }
      if (c == '\r' && i < tn && t[i] == '\n') i++;
      line++;
      if (comment || ln.n == 0) { /* a comment or blank line: start over */
        comment = 0;
        fresh = 1;
        skip_ws = 1;
        ln.n = 0;
        continue;
      }
      if (bs) { /* continued on the next natural line */
        ln.n--;
        skip_ws = 1;
        appended = 1;
        bs = 0;
        continue;
      }
      ended = 1;
      break;
    }
    if (st) break;
    if (!ended) { /* the end of the file */
      if (comment || ln.n == 0) break;
      if (bs) ln.n--; /* a backslash before the end of the file continues nothing */
    }
    st = emit(&ps, ln.p, ln.n, start);
  }
  free(ln.p);
  free(conv);
  if (st) {
    ms__registry_props_free(&ps.out);
    return st;
  }
  *out = ps.out;
  return MS_OK;
}

const ms__prop *ms__registry_props_find(const ms__props *p, const char *key) {
  for (size_t i = p->n; i > 0; i--)
    if (strcmp(p->items[i - 1].key, key) == 0) return &p->items[i - 1];
  return NULL;
}
