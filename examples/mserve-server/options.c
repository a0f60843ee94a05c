/* mserve-server: command-line options (see options.h). */
#include "options.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli_num.h"

int srv_addr_parse(const char *text, srv_addr *a, char *err, size_t errlen) {
  const char *t = text;
  if (strncmp(t, "http://", 7) == 0) t += 7;
  else if (strstr(t, "://")) {
    snprintf(err, errlen, "address '%.200s': only http:// is served (put TLS in front)", text);
    return -1;
  }
  /* "[v6]:PORT" brackets an IPv6 address, whose own colons would otherwise
   * be taken for the port's */
  const char *h = t, *colon;
  size_t hl;
  int v6 = 0;
  if (*t == '[') {
    const char *close = strchr(t, ']');
    if (!close || close[1] != ':') {
      snprintf(err, errlen, "address '%.200s': expected [IPV6]:PORT", text);
      return -1;
    }
    h = t + 1;
    hl = (size_t)(close - h);
    colon = close + 1;
    v6 = 1;
  } else {
    colon = strrchr(t, ':');
    if (!colon) {
      snprintf(err, errlen, "address '%.200s': expected HOST:PORT", text);
      return -1;
    }
    hl = (size_t)(colon - t);
  }
  if (hl >= sizeof a->host) {
    snprintf(err, errlen, "address '%.200s': host too long", text);
    return -1;
  }
  char host[64];
  memcpy(host, h, hl);
  host[hl] = '\0';
  if (!v6 && (hl == 0 || strcmp(host, "localhost") == 0)) snprintf(host, sizeof host, "127.0.0.1");
  struct in6_addr ia6;
  struct in_addr ia;
  if (v6 ? inet_pton(AF_INET6, host, &ia6) != 1 : inet_pton(AF_INET, host, &ia) != 1) {
    snprintf(err, errlen, "address '%.200s': host '%s' is not an %s address", text, host,
             v6 ? "IPv6" : "IPv4 (or a bracketed IPv6)");
    return -1;
  }
  int64_t port = 0;
  if (cli_num_parse_count(colon + 1, 0, 65535, &port) != CLI_NUM_OK) {
    snprintf(err, errlen, "address '%.200s': port must be 0..65535", text);
    return -1;
  }
  snprintf(a->host, sizeof a->host, "%s", host);
  a->v6 = v6;
  a->port = (int)port;
  return 0;
}

static const char *const addr_opt[3] = {"--inference-address", "--management-address", "--metrics-address"};

int srv_options_parse(srv_options *o, int argc, char **argv, char *err, size_t errlen) {
  static const char *const defaults[3] = {"127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"};
  for (int k = 0; k < 3; k++) srv_addr_parse(defaults[k], &o->addr[k], err, errlen);
  o->device = "auto";
  o->max_request_size = 6553500;
  o->blas_threads = 1;
  o->grace_us = 30 * 1000000LL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int k = -1;
    for (int j = 0; j < 3; j++)
      if (strcmp(a, addr_opt[j]) == 0) k = j;
    const char **str = NULL;
    if (strcmp(a, "--model-store") == 0) str = &o->model_store;
    else if (strcmp(a, "--config") == 0) str = &o->config;
    else if (strcmp(a, "--limits") == 0) str = &o->limits;
    else if (strcmp(a, "--rules") == 0) str = &o->rules;
    else if (strcmp(a, "--extract-dir") == 0) str = &o->extract_dir;
    else if (strcmp(a, "--device") == 0) str = &o->device;
    if (!str && k < 0 && strcmp(a, "--max-request-size") != 0 && strcmp(a, "--blas-threads") != 0 &&
        strcmp(a, "--grace") != 0) {
      snprintf(err, errlen, "unknown argument '%.200s'", a);
      return -1;
    }
    if (!v || !*v) {
      snprintf(err, errlen, "%s needs a value", a);
      return -1;
    }
    i++;
    if (str) *str = v;
    else if (k >= 0) {
      if (srv_addr_parse(v, &o->addr[k], err, errlen)) return -1;
      o->addr_set[k] = 1;
    } else if (strcmp(a, "--max-request-size") == 0) {
      if (cli_num_parse_count(v, 1, (int64_t)1 << 40, &o->max_request_size) != CLI_NUM_OK) {
        snprintf(err, errlen, "--max-request-size: '%.100s' is not a byte count >= 1", v);
        return -1;
      }
      o->max_request_size_set = 1;
    } else if (strcmp(a, "--blas-threads") == 0) {
      int64_t n = 0;
      if (cli_num_parse_count(v, 0, 1024, &n) != CLI_NUM_OK) {
        snprintf(err, errlen, "--blas-threads: '%.100s' is not 0..1024", v);
        return -1;
      }
      o->blas_threads = (int)n;
    } else {
      if (cli_num_parse_seconds_us(v, &o->grace_us) != CLI_NUM_OK || o->grace_us < 0) {
        snprintf(err, errlen, "--grace: '%.100s' is not a number of seconds", v);
        return -1;
      }
    }
  }
  if (strcmp(o->device, "auto") && strcmp(o->device, "cpu") && strcmp(o->device, "cuda") &&
      strncmp(o->device, "cuda:", 5)) {
    snprintf(err, errlen, "--device: '%.100s' is not auto, cpu, cuda or cuda:N", o->device);
    return -1;
  }
  return 0;
}
