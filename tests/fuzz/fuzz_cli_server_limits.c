/* libFuzzer target: mserve-server's --limits file (JSON, examples/
 * mserve-server/admit.c). Beyond "no crash, no leak": an accepted file has
 * only valid keys and scope names (every scope a key names has a limit,
 * no name twice), every limit is -1 or more, and a refused one says why and
 * leaves nothing behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/mserve-server/admit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  if (size) memcpy(text, data, size);
  text[size] = '\0';
  srv_limits l;
  char err[1024];
  err[0] = '\0';
  int rc = srv_limits_parse(text, size, "fuzz.json", &l, err, sizeof err);
  free(text);
  if (rc != 0) {
    if (rc != -1 || !err[0] || l.keys || l.n_keys || l.scopes || l.n_scopes || l.active) abort();
    return 0;
  }
  if (!l.active || l.default_limit < -1 || l.anonymous_limit < -1) abort();
  for (size_t i = 0; i < l.n_scopes; i++) {
    size_t n = strlen(l.scopes[i].scope);
    if (n < 1 || n > 255 || l.scopes[i].limit < -1 || strncmp(l.scopes[i].scope, "key:", 4) == 0) abort();
    for (size_t j = 0; j < i; j++)
      if (strcmp(l.scopes[i].scope, l.scopes[j].scope) == 0) abort();
  }
  for (size_t i = 0; i < l.n_keys; i++) {
    const srv_limit_key *k = &l.keys[i];
    if (!srv_key_valid(k->key) || k->limit < -1 || k->n_scopes > SRV_MAX_KEY_SCOPES) abort();
    if (srv_limits_find(&l, k->key) != k) abort();
    for (size_t j = 0; j < k->n_scopes; j++) {
      size_t s = 0;
      while (s < l.n_scopes && strcmp(l.scopes[s].scope, k->scopes[j])) s++;
      if (s == l.n_scopes) abort();
    }
  }
  srv_limits_free(&l);
  return 0;
}
