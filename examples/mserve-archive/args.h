/* mserve-archive's command line, parsed without doing anything: main() and
 * the fuzz target tests/fuzz/fuzz_cli_archive_args.c share it. */
#ifndef MSERVE_ARCHIVE_ARGS_H
#define MSERVE_ARCHIVE_ARGS_H

#include <stddef.h>

#include "mar_write.h"

enum {
  ARGS_OK = 0,
  ARGS_HELP = 1,  /* --help / -h: print the usage, exit 0 */
  ARGS_USAGE = 2  /* a usage error: err says what */
};

typedef struct archive_args {
  int json;
  const char *global_config;
  const char *command; /* "inspect", "validate" or "create" (static strings) */
  const char *archive; /* inspect, validate */
  /* create: the manifest's and config's values (integers < 0: not given;
   * durations in the flag's unit, ms or s, as TorchServe writes them) */
  mar_spec spec;
  const char *output, *src;
  int force;
} archive_args;

/* argv[0] is the program. Integer flags are digits only, and a duration's
 * microseconds must fit in int64 (checked both ways, never wrapped); the
 * library's own limits are checked when the archive is created. On ARGS_OK
 * *out is filled (pointers into argv); on ARGS_USAGE err[errlen] says why. */
int archive_args_parse(int argc, char **argv, archive_args *out, char *err, size_t errlen);

#endif
