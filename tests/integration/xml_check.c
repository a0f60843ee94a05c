/* See xml_check.h. Only what the SVG writer can produce is accepted; no
 * DTDs, no CDATA, no processing instructions beyond the declaration. */
#include "xml_check.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum { MAX_DEPTH = 64, MAX_NAME = 32 };

static int fail(char *err, size_t errlen, const char *text, const char *at, const char *why) {
  snprintf(err, errlen, "%s at byte %ld", why, (long)(at - text));
  return -1;
}

static int name_char(char c) { return isalnum((unsigned char)c) || c == '-' || c == '_' || c == ':' || c == '.'; }

/* An entity reference starting at '&'; returns its length or 0. */
static size_t entity(const char *p) {
  static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
  for (size_t i = 0; i < 5; i++)
    if (strncmp(p, named[i], strlen(named[i])) == 0) return strlen(named[i]);
  if (p[1] == '#') {
    size_t n = 2;
    int hex = p[2] == 'x';
    if (hex) n++;
    size_t digits = 0;
    while (hex ? isxdigit((unsigned char)p[n]) : isdigit((unsigned char)p[n])) n++, digits++;
    if (digits && p[n] == ';') return n + 1;
  }
  return 0;
}

int xml_check(const char *text, xml_stats *st, char *err, size_t errlen) {
  char stack[MAX_DEPTH][MAX_NAME];
  size_t depth = 0;
  int root_done = 0;
  memset(st, 0, sizeof *st);
  const char *p = text;
  if (strncmp(p, "<?xml", 5) == 0) {
    const char *e = strstr(p, "?>");
    if (!e) return fail(err, errlen, text, p, "unterminated XML declaration");
    p = e + 2;
  }
  while (*p) {
    if (*p != '<') {
      if (depth == 0 && !isspace((unsigned char)*p)) return fail(err, errlen, text, p, "text outside the root element");
      if (*p == '&') {
        size_t n = entity(p);
        if (!n) return fail(err, errlen, text, p, "bad entity reference");
        p += n;
      } else if (*p == '>') {
        return fail(err, errlen, text, p, "raw '>' in text");
      } else {
        p++;
      }
      continue;
    }
    if (strncmp(p, "<!--", 4) == 0) {
      const char *e = strstr(p + 4, "-->");
      if (!e) return fail(err, errlen, text, p, "unterminated comment");
      p = e + 3;
      continue;
    }
    if (p[1] == '/') { /* end tag */
      const char *n = p + 2;
      size_t len = 0;
      while (name_char(n[len])) len++;
      if (depth == 0) return fail(err, errlen, text, p, "end tag without a start tag");
      if (len != strlen(stack[depth - 1]) || strncmp(n, stack[depth - 1], len) != 0)
        return fail(err, errlen, text, p, "end tag does not match the open element");
      const char *q = n + len;
      while (isspace((unsigned char)*q)) q++;
      if (*q != '>') return fail(err, errlen, text, q, "junk in end tag");
      depth--;
      if (depth == 0) root_done = 1;
      p = q + 1;
      continue;
    }
    /* start or empty-element tag */
    const char *n = p + 1;
    size_t len = 0;
    while (name_char(n[len])) len++;
    if (len == 0 || len >= MAX_NAME || !(isalpha((unsigned char)n[0]) || n[0] == '_'))
      return fail(err, errlen, text, p, "bad element name");
    if (depth == 0 && root_done) return fail(err, errlen, text, p, "a second root element");
    if (depth == 0) {
      memcpy(st->root, n, len);
      st->root[len] = '\0';
    }
    const char *q = n + len;
    for (;;) { /* attributes */
      int had_space = 0;
      while (isspace((unsigned char)*q)) q++, had_space = 1;
      if (*q == '>' || (q[0] == '/' && q[1] == '>')) break;
      if (!had_space) return fail(err, errlen, text, q, "attributes must be separated by space");
      size_t an = 0;
      while (name_char(q[an])) an++;
      if (an == 0) return fail(err, errlen, text, q, "bad attribute name");
      q += an;
      if (*q != '=') return fail(err, errlen, text, q, "attribute without '='");
      q++;
      char quote = *q;
      if (quote != '"' && quote != '\'') return fail(err, errlen, text, q, "unquoted attribute value");
      q++;
      while (*q && *q != quote) {
        if (*q == '<') return fail(err, errlen, text, q, "raw '<' in attribute value");
        if (*q == '&') {
          size_t e = entity(q);
          if (!e) return fail(err, errlen, text, q, "bad entity reference in attribute");
          q += e;
        } else {
          q++;
        }
      }
      if (!*q) return fail(err, errlen, text, q, "unterminated attribute value");
      q++;
    }
    st->elements++;
    if (*q == '/') {
      if (depth == 0) root_done = 1;
      p = q + 2;
      continue;
    }
    if (depth == MAX_DEPTH) return fail(err, errlen, text, p, "elements nested too deep");
    memcpy(stack[depth], n, len);
    stack[depth][len] = '\0';
    depth++;
    if (depth > st->max_depth) st->max_depth = depth;
    p = q + 1;
  }
  if (depth) return fail(err, errlen, text, p, "document ends inside an element");
  if (!root_done) return fail(err, errlen, text, p, "no root element");
  return 0;
}

size_t xml_count(const char *text, const char *name) {
  size_t n = 0, len = strlen(name);
  for (const char *p = strchr(text, '<'); p; p = strchr(p + 1, '<'))
    if (strncmp(p + 1, name, len) == 0 && !name_char(p[1 + len])) n++;
  return n;
}
