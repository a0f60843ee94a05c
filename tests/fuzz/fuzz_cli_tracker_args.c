/* libFuzzer target: mserve-tracker's command line (examples/mserve-tracker/
 * args.c). The input is argv after the program name, arguments separated by
 * NUL bytes. Beyond "no crash, no leak": an accepted command line must be
 * one the commands can run (a known command, its argument count, --db, a
 * lease that is not negative), and a refused one must say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/mserve-tracker/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 80 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a NUL-terminated copy, so the last argument ends too */
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  if (size) memcpy(buf, data, size);
  buf[size] = '\0';
  char *argv[MAX_ARGS + 2];
  int argc = 0;
  argv[argc++] = (char *)"mserve-tracker";
  for (size_t i = 0; i < size && argc <= MAX_ARGS; i += strlen(buf + i) + 1) argv[argc++] = buf + i;
  argv[argc] = NULL;

  cli c;
  memset(&c, 0, sizeof c);
  int help = 0;
  char msg[512];
  msg[0] = '\0';
  int rc = tk_parse_args(&c, argc, argv, &help, msg, sizeof msg);
  if (rc != 0) {
    if (rc != -1 || msg[0] == '\0' || memchr(msg, '\0', sizeof msg) == NULL) abort();
  } else if (!help) {
    if (!c.db || !c.cmd || c.n_args < 0 || c.n_args > 4) abort();
    if (c.n_scopes > MS_TRACKER_MAX_SCOPES) abort();
    if (c.has_lease && c.lease_us < 0) abort();
    if ((unsigned)c.cmd_id > TK_RECONCILE) abort();
    if (c.cmd_id == TK_ADMIT && c.n_scopes == 0) abort();
    if (c.cmd_id == TK_RENEW && !c.has_lease) abort();
    if (c.cmd_id == TK_LIMIT && c.has_limit && c.limit < 0 && c.limit != MS_UNLIMITED) abort();
    for (int i = 0; i < c.n_args; i++)
      if (!c.args[i]) abort();
  }
  free(buf);
  return 0;
}
