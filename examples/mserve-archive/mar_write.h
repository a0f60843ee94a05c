/* Writing a TorchServe-layout model archive: a .mar (zip, deflate or
 * stored), a .tar.gz, or a plain folder, as torch-model-archiver does. */
#ifndef MSERVE_ARCHIVE_MAR_WRITE_H
#define MSERVE_ARCHIVE_MAR_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* torch-model-archiver's --archive-format: default (zip deflate .mar),
 * zip-store (stored .mar), tgz (.tar.gz), no-archive (a folder). */
typedef enum mar_format { MAR_DEFAULT = 0, MAR_ZIP_STORE = 1, MAR_TGZ = 2, MAR_NO_ARCHIVE = 3 } mar_format;

/* What goes into MAR-INF/MANIFEST.json and the generated model-config.yaml.
 * Integers < 0 mean "not given" (the manifest then omits the key). */
typedef struct mar_spec {
  const char *name, *version, *handler, *runtime;
  const char *model_file, *serialized_file, *config_file, *requirements_file; /* paths as given, or NULL */
  const char *extra_files; /* comma-separated files and folders, or NULL */
  int64_t batch_size, max_batch_delay_ms, response_timeout_s, min_workers, max_workers;
} mar_spec;

/* Result of a successful mar_create, for the report. */
typedef struct mar_result {
  size_t entries;      /* files written, manifest included */
  uint64_t bytes_in;   /* uncompressed bytes of all entries */
  uint64_t bytes_out;  /* size of the archive file (a folder: bytes_in) */
} mar_result;

/* Build `out_path` in `format` from the files named by the spec (the
 * handler when it is a file, --model-file, --serialized-file,
 * --requirements-file, --config-file, every --extra-files entry: a file at
 * the archive root under its name, a folder's contents at the root, as
 * torch-model-archiver copies them) and, when `src_dir` is not NULL, every
 * regular file under it (keeping its place; a named file inside src_dir
 * keeps its place too). The same file named twice, or named and inside
 * src_dir, goes in once. Before anything is written at `out_path`, the
 * manifest and config the archive will carry are read back by the library
 * (ms_archive_inspect, in a scratch folder under $TMPDIR), so an archive its
 * readers would refuse is never written; the finished temporary archive is
 * read back the same way before it replaces `out_path`. A failure never
 * leaves a partial archive; an existing `out_path` is refused unless
 * `force`. Returns an ms_status: MS_OK; MS_EINVAL (bad spec: the reader
 * refuses a value given as a flag), MS_ECORRUPT (the reader refuses the
 * --config-file), MS_ENOTFOUND (src_dir or a named file missing),
 * MS_EEXIST (out_path exists, or two different files for one name),
 * MS_EUNSAFE (links, devices), MS_EIO, MS_ENOMEM; on failure `err` says
 * why and nothing is left at `out_path` or in $TMPDIR. */
int mar_create(const mar_spec *spec, mar_format format, const char *src_dir, const char *out_path, int force,
               mar_result *res, char *err, size_t errlen);

#endif
