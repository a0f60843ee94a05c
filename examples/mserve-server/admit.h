/* mserve-server: per-key concurrency limits (--limits FILE).
 *
 * The file (JSON) names scopes and limits:
 *   {"default_limit": 4,                 concurrent requests per key not listed (-1: unlimited)
 *    "anonymous_limit": -1,              requests without a key, together (-1: no admission at all)
 *    "keys": {"KEY": {"limit": 2, "scopes": ["team:red"]}},
 *    "scopes": {"team:red": 3}}          shared limits a key's requests also count against
 * A request's key is the token of "Authorization: Bearer KEY", else the
 * value of "X-Api-Key". It is admitted through the tracker, for the
 * request's lifetime, into the scope "key:KEY" (limit: its own or
 * default_limit) and every scope its entry lists; a key without an entry
 * and a default_limit of -1 is not admitted (nothing limits it). Keys are
 * 1..200 printable ASCII characters; scope names 1..255 bytes.
 *
 * The parser is plain data over cJSON (tests/fuzz/fuzz_server_limits.c);
 * srv_limits_apply writes the limits into a tracker. */
#ifndef MSERVE_SERVER_ADMIT_H
#define MSERVE_SERVER_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#define SRV_KEY_MAX 200
#define SRV_MAX_KEY_SCOPES 16

typedef struct srv_limit_key {
  char *key;
  int64_t limit;                    /* -1: default_limit */
  char *scopes[SRV_MAX_KEY_SCOPES];
  size_t n_scopes;
} srv_limit_key;

typedef struct srv_limit_scope {
  char *scope;
  int64_t limit;                    /* >= 0, or -1 (unlimited) */
} srv_limit_scope;

typedef struct srv_limits {
  int active;                       /* a file was given */
  int64_t default_limit;            /* -1: unlimited */
  int64_t anonymous_limit;          /* -1: anonymous requests are not admitted */
  srv_limit_key *keys;
  size_t n_keys;
  srv_limit_scope *scopes;
  size_t n_scopes;
} srv_limits;

/* Parse len bytes of JSON text (NUL-terminated by the caller); `path`
 * names it in messages. Returns 0, or -1 with "<path>: <where>: <cause>" in
 * err and *out left empty (nothing to free). */
int srv_limits_parse(const char *text, size_t len, const char *path, srv_limits *out, char *err, size_t errlen);
/* Read and parse a file. Same contract. */
int srv_limits_load(const char *path, srv_limits *out, char *err, size_t errlen);
void srv_limits_free(srv_limits *l);

/* The entry of `key`, or NULL. */
const srv_limit_key *srv_limits_find(const srv_limits *l, const char *key);

/* Whether `key` (NUL-terminated) is a valid key: 1..SRV_KEY_MAX printable ASCII. */
int srv_key_valid(const char *key);

#endif
