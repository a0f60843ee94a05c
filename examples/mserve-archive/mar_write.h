/* Writing a TorchServe-layout model archive (.mar, zip deflate) from a folder. */
#ifndef MSERVE_ARCHIVE_MAR_WRITE_H
#define MSERVE_ARCHIVE_MAR_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* What goes into MAR-INF/MANIFEST.json and the generated model-config.yaml.
 * Integers < 0 mean "not given" (the manifest then omits the key). */
typedef struct mar_spec {
  const char *name, *version, *handler, *runtime;
  const char *model_file, *serialized_file, *config_file; /* paths as given, or NULL */
  int64_t batch_size, max_batch_delay_ms, response_timeout_s, min_workers, max_workers;
} mar_spec;

/* Result of a successful mar_create, for the report. */
typedef struct mar_result {
  size_t entries;      /* files written, manifest included */
  uint64_t bytes_in;   /* uncompressed bytes of all entries */
  uint64_t bytes_out;  /* size of the archive file */
} mar_result;

/* Build `out_path` from every regular file under `src_dir` plus a manifest.
 * Before anything is written at `out_path`, the manifest and config the
 * archive will carry are read back by the library (ms_archive_inspect, in a
 * scratch folder under $TMPDIR), so an archive its readers would refuse is
 * never written; the finished temporary archive is read back the same way
 * before it replaces `out_path`. Writes to a temporary file beside `out_path`
 * and renames it into place, so a failure never leaves a partial archive;
 * refuses an existing `out_path` unless `force`. Returns an ms_status: MS_OK;
 * MS_EINVAL (bad spec: the reader refuses a value given as a flag),
 * MS_ECORRUPT (the reader refuses the --config-file), MS_ENOTFOUND (SRC_DIR
 * or a named file missing), MS_EEXIST (OUT exists, or a name clash),
 * MS_EUNSAFE (links, devices), MS_EIO, MS_ENOMEM; on failure `err` says why
 * and nothing is left at `out_path` or in $TMPDIR. */
int mar_create(const mar_spec *spec, const char *src_dir, const char *out_path, int force,
               mar_result *res, char *err, size_t errlen);

#endif
