/* libFuzzer target: mserve-server's listening addresses (--*-address and
 * config.properties' *_address, examples/mserve-server/options.c).
 * Beyond "no crash": an accepted address holds a host of its family and a
 * port 0..65535, and printing it back ([v6]:PORT or v4:PORT) parses to the
 * same address; a refused one says why. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/mserve-server/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  if (size) memcpy(text, data, size);
  text[size] = '\0';
  srv_addr a;
  memset(&a, 0, sizeof a);
  char err[512];
  err[0] = '\0';
  int rc = srv_addr_parse(text, &a, err, sizeof err);
  free(text);
  if (rc != 0) {
    if (rc != -1 || !err[0]) abort();
    return 0;
  }
  unsigned char buf[16];
  if (a.port < 0 || a.port > 65535 || inet_pton(a.v6 ? AF_INET6 : AF_INET, a.host, buf) != 1) abort();
  char again[128];
  snprintf(again, sizeof again, "%s%s%s:%d", a.v6 ? "[" : "", a.host, a.v6 ? "]" : "", a.port);
  srv_addr b;
  memset(&b, 0, sizeof b);
  if (srv_addr_parse(again, &b, err, sizeof err) != 0) abort();
  if (b.v6 != a.v6 || b.port != a.port || strcmp(a.host, b.host) != 0) abort();
  return 0;
}
