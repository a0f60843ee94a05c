/* mserve-archive's command line, parsed without doing anything: main() and
 * the fuzz target tests/fuzz/fuzz_cli_archive_args.c share it. */
#ifndef MSERVE_ARCHIVE_ARGS_H
#define MSERVE_ARCHIVE_ARGS_H

#include <stddef.h>

#include "cli.h"
#include "mar_write.h"

enum {
  ARGS_OK = 0,
  ARGS_HELP = 1,  /* --help / -h or --version: print the usage (or the version), exit 0 */
  ARGS_USAGE = 2  /* a usage error: err says what */
};

typedef struct archive_args {
  cli_ctx ctx; /* the family's global options and output (examples/common/cli.h) */
  int json, version;
  const char *global_config;
  const char *command; /* "inspect", "validate" or "create" (static strings) */
  const char *archive; /* inspect, validate */
  /* create: the manifest's and config's values (integers < 0: not given;
   * durations in the flag's unit, ms or s, as TorchServe writes them) */
  mar_spec spec;
  mar_format format;
  const char *output; /* the archive to write: --output, or --export-path/<model-name><ext> */
  const char *src;    /* SRC_DIR, or NULL: only the files the flags name */
  int force;
  char output_buf[4200];
} archive_args;

/* argv[0] is the program; the family's global options may stand anywhere
 * (in `create`, --version VALUE is the model's version, as
 * torch-model-archiver's). create takes torch-model-archiver's flags with
 * their meaning (--model-name, --version, --serialized-file, --model-file,
 * --handler, --extra-files, --requirements-file, --config-file, --runtime,
 * --archive-format default|zip-store|tgz|no-archive, --export-path,
 * -f/--force) plus --output FILE (its name picks the format: .tar.gz and
 * .tgz a tar.gz), an optional SRC_DIR whose files all go in, and the batch
 * and worker settings. Integer flags are digits only, and a duration's
 * microseconds must fit in int64 (checked both ways, never wrapped); the
 * library's own limits are checked when the archive is created. On ARGS_OK
 * and ARGS_HELP *out is filled (pointers into argv, or out->output_buf);
 * on ARGS_USAGE err[errlen] says why and out->ctx is usable. */
int archive_args_parse(int argc, char **argv, archive_args *out, char *err, size_t errlen);

#endif
