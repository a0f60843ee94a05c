/* mserve-server: the --limits file (see admit.h). */
#include "admit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int srv_key_valid(const char *key) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++, n++)
    if (*p < 0x21 || *p > 0x7e || n >= SRV_KEY_MAX) return 0;
  return n > 0;
}

static int scope_valid(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= 255;
}

/* A limit: an integer -1..2^53. */
static int get_limit(const cJSON *v, int64_t *out) {
  if (!cJSON_IsNumber(v)) return -1;
  double d = v->valuedouble;
  if (!isfinite(d) || d != floor(d) || d < -1 || d > 9007199254740992.0) return -1;
  *out = (int64_t)d;
  return 0;
}

static char *dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

void srv_limits_free(srv_limits *l) {
  for (size_t i = 0; i < l->n_keys; i++) {
    free(l->keys[i].key);
    for (size_t j = 0; j < l->keys[i].n_scopes; j++) free(l->keys[i].scopes[j]);
  }
  for (size_t i = 0; i < l->n_scopes; i++) free(l->scopes[i].scope);
  free(l->keys);
  free(l->scopes);
  memset(l, 0, sizeof *l);
}

#define FAIL(...)                                  \
  do {                                             \
    snprintf(err, errlen, __VA_ARGS__);            \
    goto fail;                                     \
  } while (0)

int srv_limits_parse(const char *text, size_t len, const char *path, srv_limits *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  srv_limits l;
  memset(&l, 0, sizeof l);
  l.active = 1;
  l.default_limit = -1;
  l.anonymous_limit = -1;
  cJSON *root = cJSON_ParseWithLength(text, len);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
    FAIL("%.200s: not valid JSON (near byte %zu)", path, off);
  }
  if (!cJSON_IsObject(root)) FAIL("%.200s: the top level must be an object", path);
  for (cJSON *it = root->child; it; it = it->next) {
    const char *k = it->string ? it->string : "";
    /* cJSON keeps a member given twice: the second would replace the first */
    for (cJSON *prev = root->child; prev != it; prev = prev->next)
      if (prev->string && strcmp(prev->string, k) == 0) FAIL("%.200s: '%.60s' is given twice", path, k);
    if (strcmp(k, "default_limit") == 0) {
      if (get_limit(it, &l.default_limit)) FAIL("%.200s: default_limit: must be an integer >= -1", path);
    } else if (strcmp(k, "anonymous_limit") == 0) {
      if (get_limit(it, &l.anonymous_limit)) FAIL("%.200s: anonymous_limit: must be an integer >= -1", path);
    } else if (strcmp(k, "keys") == 0) {
      if (!cJSON_IsObject(it)) FAIL("%.200s: keys: must be an object of key -> {limit, scopes}", path);
      int n = cJSON_GetArraySize(it);
      l.keys = n ? calloc((size_t)n, sizeof *l.keys) : NULL;
      if (n && !l.keys) FAIL("%.200s: out of memory", path);
      for (cJSON *e = it->child; e; e = e->next) {
        const char *name = e->string ? e->string : "";
        if (!srv_key_valid(name)) FAIL("%.200s: keys: '%.60s' is not 1..%d printable ASCII characters", path, name,
                                       SRV_KEY_MAX);
        for (size_t j = 0; j < l.n_keys; j++)
          if (strcmp(l.keys[j].key, name) == 0) FAIL("%.200s: keys: '%.60s' is given twice", path, name);
        if (!cJSON_IsObject(e)) FAIL("%.200s: keys.%.60s: must be an object", path, name);
        srv_limit_key *sk = &l.keys[l.n_keys];
        sk->limit = -1;
        if (!(sk->key = dup(name))) FAIL("%.200s: out of memory", path);
        l.n_keys++;
        for (cJSON *f = e->child; f; f = f->next) {
          const char *fk = f->string ? f->string : "";
          if (strcmp(fk, "limit") == 0) {
            if (get_limit(f, &sk->limit)) FAIL("%.200s: keys.%.60s.limit: must be an integer >= -1", path, name);
          } else if (strcmp(fk, "scopes") == 0) {
            if (!cJSON_IsArray(f)) FAIL("%.200s: keys.%.60s.scopes: must be an array of scope names", path, name);
            for (cJSON *sc = f->child; sc; sc = sc->next) {
              if (!cJSON_IsString(sc) || !scope_valid(sc->valuestring))
                FAIL("%.200s: keys.%.60s.scopes: each must be a name of 1..255 bytes", path, name);
              if (strncmp(sc->valuestring, "key:", 4) == 0)
                FAIL("%.200s: keys.%.60s.scopes: '%.60s': names starting 'key:' are the keys' own", path, name,
                     sc->valuestring);
              if (sk->n_scopes == SRV_MAX_KEY_SCOPES)
                FAIL("%.200s: keys.%.60s.scopes: more than %d scopes", path, name, SRV_MAX_KEY_SCOPES);
              for (size_t j = 0; j < sk->n_scopes; j++)
                if (strcmp(sk->scopes[j], sc->valuestring) == 0)
                  FAIL("%.200s: keys.%.60s.scopes: '%.60s' is given twice", path, name, sc->valuestring);
              if (!(sk->scopes[sk->n_scopes] = dup(sc->valuestring))) FAIL("%.200s: out of memory", path);
              sk->n_scopes++;
            }
          } else
            FAIL("%.200s: keys.%.60s: unknown member '%.60s' (limit, scopes)", path, name, fk);
        }
      }
    } else if (strcmp(k, "scopes") == 0) {
      if (!cJSON_IsObject(it)) FAIL("%.200s: scopes: must be an object of scope -> limit", path);
      int n = cJSON_GetArraySize(it);
      l.scopes = n ? calloc((size_t)n, sizeof *l.scopes) : NULL;
      if (n && !l.scopes) FAIL("%.200s: out of memory", path);
      for (cJSON *e = it->child; e; e = e->next) {
        const char *name = e->string ? e->string : "";
        if (!scope_valid(name)) FAIL("%.200s: scopes: a scope name must be 1..255 bytes", path);
        if (strncmp(name, "key:", 4) == 0)
          FAIL("%.200s: scopes: '%.60s': names starting 'key:' are the keys' own (use keys)", path, name);
        for (size_t j = 0; j < l.n_scopes; j++)
          if (strcmp(l.scopes[j].scope, name) == 0) FAIL("%.200s: scopes: '%.60s' is given twice", path, name);
        srv_limit_scope *ss = &l.scopes[l.n_scopes];
        if (get_limit(e, &ss->limit)) FAIL("%.200s: scopes.%.60s: must be an integer >= -1", path, name);
        if (!(ss->scope = dup(name))) FAIL("%.200s: out of memory", path);
        l.n_scopes++;
      }
    } else
      FAIL("%.200s: unknown member '%.60s' (default_limit, anonymous_limit, keys, scopes)", path, k);
  }
  /* every scope a key names must have a limit: a typo would limit nothing */
  for (size_t i = 0; i < l.n_keys; i++)
    for (size_t j = 0; j < l.keys[i].n_scopes; j++) {
      size_t s = 0;
      while (s < l.n_scopes && strcmp(l.scopes[s].scope, l.keys[i].scopes[j])) s++;
      if (s == l.n_scopes)
        FAIL("%.200s: keys.%.60s.scopes: '%.60s' is not in scopes (give it a limit)", path, l.keys[i].key,
             l.keys[i].scopes[j]);
    }
  cJSON_Delete(root);
  *out = l;
  return 0;
fail:
  cJSON_Delete(root);
  srv_limits_free(&l);
  return -1;
}

int srv_limits_load(const char *path, srv_limits *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (len + 1 >= cap) {
      if (cap > ((size_t)16 << 20)) {
        snprintf(err, errlen, "%.200s: larger than 16 MiB", path);
        free(buf);
        fclose(f);
        return -1;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) break;
      buf = nb;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    snprintf(err, errlen, "%.200s: %s", path, buf ? "read error" : "out of memory");
    free(buf);
    return -1;
  }
  buf[len] = '\0';
  int rc = srv_limits_parse(buf, len, path, out, err, errlen);
  free(buf);
  return rc;
}

const srv_limit_key *srv_limits_find(const srv_limits *l, const char *key) {
  for (size_t i = 0; i < l->n_keys; i++)
    if (strcmp(l->keys[i].key, key) == 0) return &l->keys[i];
  return NULL;
}
