/* A folder model's metadata: its manifest and config, read as plain files. */
#include "registry/dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "mserve/common.h"

/* A manifest or config file of a folder model: refused, never waited on,
 * unless it is a regular file (a FIFO would block the scan forever). */
static int slurp(const char *path, const char *origin, char **out, size_t *out_len) {
  int fd = -1;
  struct stat sb;
  int err = ms__fs_open_regular(path, &fd, &sb);
  if (err == MS__FS_NOT_REGULAR)
    return ms__fail(MS_ECORRUPT, "archive '%s': '%s' is not a regular file (%s)", origin, path,
                    ms__fs_kind((unsigned)sb.st_mode));
  if (err)
    return ms__fail(err == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': cannot open '%s': %s", origin, path,
                    strerror(err));
  size_t len = 0;
  char *buf = NULL;
  err = ms__fs_read_fd(fd, MS__META_MAX_BYTES, &buf, &len);
  close(fd);
  if (err == EFBIG)
    return ms__fail(MS_ECORRUPT, "archive '%s': '%s' is larger than %u bytes", origin, path, MS__META_MAX_BYTES);
  if (err == ENOMEM) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", origin);
  if (err) return ms__fail(MS_EIO, "archive '%s': reading '%s' failed: %s", origin, path, strerror(err));
  *out = buf;
  *out_len = len;
  return MS_OK;
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", a, b);
  else ms__fail(MS_ENOMEM, "out of memory");
  return p;
}

int ms__registry_dir_read(const char *path, ms__archive_meta *out) {
  ms__archive_meta m;
  memset(&m, 0, sizeof m);
  m.format = MS__FMT_DIR;
  char *mpath = join(path, "MAR-INF/MANIFEST.json"), *manifest = NULL, *config = NULL, *cpath = NULL;
  size_t manifest_len = 0, config_len = 0;
  int st = mpath ? slurp(mpath, path, &manifest, &manifest_len) : MS_ENOMEM;
  if (st == MS_ENOTFOUND) {
    free(mpath);
    mpath = join(path, "MANIFEST.json");
    st = mpath ? slurp(mpath, path, &manifest, &manifest_len) : MS_ENOMEM;
    if (st == MS_ENOTFOUND)
      st = ms__fail(MS_ECORRUPT, "archive '%s': no MAR-INF/MANIFEST.json (nor a legacy MANIFEST.json)", path);
  }
  if (!st) {
    ms__manifest peek;
    st = ms__registry_manifest_parse(manifest, manifest_len, path, &peek);
    int parsed = !st; /* peek is ours to free from here on (also when its config fails) */
    if (!st && peek.config_file) {
      if (!(cpath = join(path, ms__registry_skip_dot_slash(peek.config_file)))) st = MS_ENOMEM;
      else if ((st = slurp(cpath, path, &config, &config_len)) == MS_ENOTFOUND)
        st = ms__fail(MS_ECORRUPT, "archive '%s': config file '%s' named by the manifest is missing", path,
                      peek.config_file);
    }
    if (parsed) ms__registry_manifest_free(&peek);
  }
  if (!st)
    st = ms__registry_archive_parse_meta(path, manifest, manifest_len, config, config_len, cpath ? cpath : "", &m);
  if (!st) {
    static const char tag[] = "mserve-dir-v1";
    ms__sha256 h;
    ms__sha256_init(&h);
    ms__sha256_update(&h, tag, sizeof tag);
    ms__sha256_update(&h, manifest, manifest_len);
    if (config) ms__sha256_update(&h, config, config_len);
    ms__sha256_final_hex(&h, m.hash);
  }
  free(mpath);
  free(cpath);
  free(manifest);
  free(config);
  if (st) {
    ms__registry_archive_meta_free(&m);
    return st;
  }
  *out = m;
  return MS_OK;
}
