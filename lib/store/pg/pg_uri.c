/* PostgreSQL connection URIs: recognising one, checking it, and the masked
 * form every message shows (store/pg/pg.h). The password is replaced here,
 * once, so no later message or log line can carry it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/text.h"
#include "store/pg/pg.h"

static size_t scheme_len(const char *p) {
  if (strncasecmp(p, "postgresql://", 13) == 0) return 13;
  if (strncasecmp(p, "postgres://", 11) == 0) return 11;
  return 0;
}

int ms__pg_is_uri(const char *path) { return path && scheme_len(path) > 0; }

/* The masked copy: "scheme://user:***@rest", or the URI as it is when it
 * carries no password in its authority. A "password=" parameter of the
 * query string is masked too. */
static char *mask(const char *uri, size_t skip) {
  size_t n = strlen(uri);
  char *out = malloc(n + 8);
  if (!out) return NULL;
  const char *auth = uri + skip;
  const char *end = auth + strcspn(auth, "/?#");
  const char *at = NULL;
  for (const char *p = auth; p < end; p++)
    if (*p == '@') at = p; /* the last '@' ends the user info */
  const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  size_t o = 0;
  if (colon) {
    memcpy(out, uri, (size_t)(colon + 1 - uri));
    o = (size_t)(colon + 1 - uri);
    memcpy(out + o, "***", 3);
    o += 3;
    memcpy(out + o, at, strlen(at) + 1);
  } else {
    memcpy(out, uri, n + 1);
  }
  /* password=... in the query string */
  char *q = strchr(out, '?');
  while (q && (q = strstr(q, "password=")) != NULL) {
    if (q[-1] != '?' && q[-1] != '&') {
      q++;
      continue;
    }
    char *v = q + 9;
    size_t vl = strcspn(v, "&#");
    memmove(v + 3, v + vl, strlen(v + vl) + 1);
    memcpy(v, "***", 3);
    q = v + 3;
  }
  return out;
}

/* pool_max=N is libmserve's, not libpq's (which refuses a parameter it does
 * not know): taken out of the query string before libpq sees the URI. */
char *ms__pg_uri_pool(const char *uri, int *max) {
  *max = 0;
  size_t n = strlen(uri);
  char *out = malloc(n + 1);
  if (!out) return NULL;
  const char *q = strchr(uri, '?');
  size_t head = q ? (size_t)(q - uri) : n;
  memcpy(out, uri, head);
  size_t o = head;
  int first = 1;
  for (const char *p = q; p && *p == (first ? '?' : '&');) {
    const char *param = p + 1;
    size_t len = strcspn(param, "&#");
    if (strncmp(param, "pool_max=", 9) == 0) {
      char *end = NULL;
      long v = strtol(param + 9, &end, 10);
      *max = end == param + len && len > 9 && v >= 1 && v <= 64 ? (int)v : -1;
    } else {
      char sep = o == head ? '?' : '&';
      out[o++] = sep;
      memcpy(out + o, param, len);
      o += len;
    }
    first = 0;
    p = param + len;
    if (*p != '&') {
      memcpy(out + o, p, strlen(p)); /* a fragment, or nothing */
      o += strlen(p);
      break;
    }
  }
  out[o] = '\0';
  return out;
}

int ms__pg_uri_check(const char *uri, char **masked) {
  size_t skip = scheme_len(uri);
  if (!skip) return ms__fail(MS_EINVAL, "store: not a PostgreSQL URI (postgresql:// or postgres://)");
  char *m = mask(uri, skip);
  if (!m) return ms__fail(MS_ENOMEM, "store: out of memory copying a PostgreSQL URI");
  for (const unsigned char *p = (const unsigned char *)uri; *p; p++)
    if (*p <= ' ' || *p == 0x7f) {
      *masked = m;
      return ms__fail(MS_EINVAL, "store '%s': the PostgreSQL URI holds a space or control character (escape it "
                                 "as %%XX)", m);
    }
  /* libpq's own parser is the judge of the rest: the same one that connects */
  char *err = NULL;
  int max = 0;
  char *plain = ms__pg_uri_pool(uri, &max);
  if (!plain) {
    *masked = m;
    return ms__fail(MS_ENOMEM, "store: out of memory copying a PostgreSQL URI");
  }
  if (max < 0) {
    free(plain);
    *masked = m;
    return ms__fail(MS_EINVAL, "store '%s': not a valid PostgreSQL URI: pool_max must be a number from 1 to 64", m);
  }
  PQconninfoOption *opts = PQconninfoParse(plain, &err);
  memset(plain, 0, strlen(plain));
  free(plain);
  if (!opts) {
    char why[256];
    ms__strlcpy(why, err ? err : "out of memory", sizeof why);
    why[strcspn(why, "\n")] = '\0';
    int st = ms__fail(err ? MS_EINVAL : MS_ENOMEM, "store '%s': not a valid PostgreSQL URI: %s", m, why);
    PQfreemem(err);
    *masked = m;
    return st;
  }
  PQconninfoFree(opts);
  *masked = m;
  return MS_OK;
}
