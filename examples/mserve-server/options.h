/* mserve-server: the command line, with TorchServe's config.properties as
 * the fallback for the server-wide keys (inference_address,
 * management_address, metrics_address, model_store, max_request_size). */
#ifndef MSERVE_SERVER_OPTIONS_H
#define MSERVE_SERVER_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

/* A listening address: IPv4, or IPv6 when v6 (host then without brackets). */
typedef struct srv_addr {
  char host[64];
  int v6;
  int port; /* 0: any free port (the ready line says which) */
} srv_addr;

typedef struct srv_options {
  const char *model_store;   /* --model-store DIR (or model_store= of --config) */
  const char *db;            /* --db FILE; NULL: an in-memory store (nothing persists) */
  const char *config;        /* --config FILE (TorchServe config.properties or JSON) */
  const char *limits;        /* --limits FILE */
  const char *rules;         /* --rules FILE */
  const char *extract_dir;   /* --extract-dir DIR */
  const char *device;        /* --device auto|cpu|cuda|cuda:N (models that set none) */
  srv_addr addr[3];          /* inference, management, metrics */
  int addr_set[3];           /* given on the command line */
  int64_t max_request_size;  /* bytes; TorchServe's default 6553500 */
  int max_request_size_set;
  int blas_threads;          /* OpenBLAS threads per executor run */
  int64_t grace_us;          /* SIGTERM: how long running batches may take to finish */
  int json, quiet;
} srv_options;

/* Parse "HOST:PORT", "[IPV6]:PORT", "http://HOST:PORT" or ":PORT" (host
 * 127.0.0.1) into *a. HOST is an IPv4 address or "localhost"; an IPv6
 * address goes in brackets ("[::1]:8080"). Returns 0, or -1 with the
 * reason in err. */
int srv_addr_parse(const char *text, srv_addr *a, char *err, size_t errlen);

/* Parse the server's own options from argv[0..argc) (the global ones
 * already taken out by cli_init). Returns 0, or -1 with a usage error in
 * err. Strings point into argv. */
int srv_options_parse(srv_options *o, int argc, char **argv, char *err, size_t errlen);

#endif
