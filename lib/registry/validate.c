/* ms_archive_validate: what ms_archive_inspect reads, plus what TorchServe
 * needs when it loads the model — every file the manifest names is in the
 * archive, as a regular file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "common/text.h"
#include "mserve/registry.h"
#include "registry/archive.h"
#include "registry/entry.h"
#include "registry/global_config.h"
#include "registry/model.h"

/* The files a manifest names: field and value, "./" stripped. */
typedef struct named {
  const char *field;
  const char *file;
} named;

/* The handler is a file when it names one (a .py, before an optional
 * ":function"); "image_classifier" or "mserve:mlp" name built-in handlers. */
static int handler_file(const char *handler, char *buf, size_t cap) {
  if (!handler || !*handler) return 0;
  const char *colon = strrchr(handler, ':');
  size_t n = colon ? (size_t)(colon - handler) : strlen(handler);
  if (n < 4 || n >= cap || strncmp(handler + n - 3, ".py", 3) != 0) return 0;
  memcpy(buf, handler, n);
  buf[n] = '\0';
  return 1;
}

static size_t files_named(const ms__manifest *m, named *out, char *handler_buf, size_t cap) {
  size_t n = 0;
  const struct {
    const char *field, *value;
  } fields[] = {{m->legacy ? "Model.Service" : "model.serializedFile", m->legacy ? NULL : m->serialized_file},
                {"model.modelFile", m->model_file},
                {"model.configFile", m->config_file},
                {"model.requirementsFile", m->requirements_file}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (fields[i].value && *fields[i].value)
      out[n++] = (named){fields[i].field, ms__registry_skip_dot_slash(fields[i].value)};
  if (handler_file(m->handler, handler_buf, cap))
    out[n++] = (named){m->legacy ? "Model.Service" : "model.handler", ms__registry_skip_dot_slash(handler_buf)};
  return n;
}

static int check_named(const char *path, const ms__archive_meta *meta) {
  named want[5];
  char handler[1024];
  size_t n = files_named(&meta->manifest, want, handler, sizeof handler);
  if (n == 0) return MS_OK;
  int found[5] = {0};
  int st = MS_OK;
  if (meta->format == MS__FMT_DIR) {
    for (size_t i = 0; i < n; i++) {
      size_t len = strlen(path) + strlen(want[i].file) + 2;
      char *p = malloc(len);
      if (!p) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", path);
      snprintf(p, len, "%s/%s", path, want[i].file);
      struct stat sb;
      found[i] = lstat(p, &sb) != 0 ? 0 : S_ISREG(sb.st_mode) ? 1 : 2;
      free(p);
    }
  } else {
    int fd = -1;
    struct stat sb;
    int err = ms__fs_open_regular(path, &fd, &sb);
    if (err == MS__FS_NOT_REGULAR)
      return ms__fail(MS_EIO, "archive '%s': not a regular file (%s)", path, ms__fs_kind((unsigned)sb.st_mode));
    if (err) return ms__fail(err == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", path, strerror(err));
    ms__source s = {path, path, fd, NULL, (int64_t)sb.st_size};
    const char *names[5];
    for (size_t i = 0; i < n; i++) names[i] = want[i].file;
    st = ms__registry_archive_find_names(&s, meta->format, names, n, found);
    close(fd);
    if (st) return st;
  }
  char shown[300];
  for (size_t i = 0; i < n; i++) {
    if (found[i] == 1) continue;
    return ms__fail(MS_ECORRUPT, "archive '%s': the manifest's %s '%s' %s", path, want[i].field,
                    ms__text_show(want[i].file, shown, sizeof shown),
                    found[i] ? "is not a regular file in the archive" : "is not in the archive");
  }
  return MS_OK;
}

static int validate(const char *archive_path, const char *global_config_path, ms_model **out) {
  if (!archive_path) return ms__fail(MS_EINVAL, "NULL archive_path");
  ms__global_config *g = NULL;
  int st = ms__registry_global_load(global_config_path, &g);
  if (st) return st;
  char *abs = realpath(archive_path, NULL);
  if (!abs) {
    st = ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", archive_path, strerror(errno));
    ms__registry_global_free(g);
    return st;
  }
  struct stat sb;
  ms__archive_meta meta;
  int fmt = -1, have_meta = 0;
  if (stat(abs, &sb) != 0) st = ms__fail(MS_EIO, "archive '%s': %s", archive_path, strerror(errno));
  if (!st && (fmt = ms__registry_archive_format_of(abs, S_ISDIR(sb.st_mode))) < 0) st = MS_EUNSUPPORTED;
  if (!st && !(st = ms__registry_archive_read_path(abs, fmt, &meta))) have_meta = 1;
  if (!st) st = check_named(abs, &meta);
  ms_model *m = NULL;
  if (!st && out) {
    ms__model_row row = {meta.manifest.name, meta.manifest.version, meta.manifest.runtime, meta.manifest.handler,
                         abs, meta.hash, meta.format, 0, 0, &meta.config, NULL};
    st = ms__registry_model_build(&row, g, &m);
  }
  if (!st && out) *out = m;
  if (have_meta) ms__registry_archive_meta_free(&meta);
  free(abs);
  ms__registry_global_free(g);
  return st;
}

int ms_archive_validate(const char *archive_path, const char *global_config_path, ms_model **out) {
  int st = validate(archive_path, global_config_path, out);
  if (st) ms__errmsg_prefix("registry: ms_archive_validate");
  return st;
}
