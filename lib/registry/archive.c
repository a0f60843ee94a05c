/* Reading an archive's metadata without extracting it: the manifest, the
 * model-config.yaml it names, and the content hash. Zip and folders here,
 * tar.gz in tgz.c.
 *
 * Content hash (hex SHA-256, also the name of the extracted folder):
 *  - zip: the central directory and end record (every entry's name, CRC-32,
 *    sizes and offset) plus the manifest and config bytes. The payload is
 *    never read, so registering a 20 MB .mar costs a few KiB of I/O; a change
 *    of any entry's bytes changes its CRC-32 and so the hash. (CRC-32 is not
 *    collision resistant: whoever can write the model store could craft two
 *    archives with equal directories; they could equally replace the model.)
 *  - tar.gz: every byte of the file (a tar has no index to hash instead),
 *    hashed in the same pass that decompresses up to the manifest; the scan
 *    only recomputes it when size, mtime, inode or device changed.
 *  - folder: the manifest and config bytes.
 */
#include "archive.h"

#include "archive_parts.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/sha256.h"
#include "common/text.h"
#include "mserve/common.h"
#include "mserve/registry.h"
#include "source.h"
#include "tsan_serial.h"

#ifdef MS__UNDER_TSAN
pthread_mutex_t ms__tsan_archive_mu = PTHREAD_MUTEX_INITIALIZER;
#endif

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

int ms__archive_format_of(const char *path, int is_dir) {
  if (is_dir) return MS__FMT_DIR;
  if (ends_with(path, ".mar") || ends_with(path, ".zip")) return MS__FMT_ZIP;
  if (ends_with(path, ".tar.gz") || ends_with(path, ".tgz")) return MS__FMT_TGZ;
  return ms__fail(MS_EUNSUPPORTED, "archive '%s': not a .mar, .zip, .tar.gz, .tgz or folder", path), -1;
}

int ms__archive_stat(const char *path, int format, ms__stat *out) {
  (void)format; /* a folder's own stat: the scan re-reads folders anyway */
  struct stat st;
  if (stat(path, &st) != 0)
    return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", path, strerror(errno));
  out->size = (int64_t)st.st_size;
  out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + (int64_t)st.st_mtim.tv_nsec;
  out->ino = (int64_t)st.st_ino;
  out->dev = (int64_t)st.st_dev;
  return MS_OK;
}

void ms__archive_meta_free(ms__archive_meta *m) {
  if (!m) return;
  ms__manifest_free(&m->manifest);
  ms__settings_free(&m->config);
  memset(m, 0, sizeof *m);
}

/* ---- libarchive side ----------------------------------------------------- */

struct archive *ms__archive_open(const ms__source *s, int format, ms__reader *rd, int *st) {
  struct archive *a = archive_read_new();
  if (!a) {
    memset(rd, 0, sizeof *rd);
    *st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
    return NULL;
  }
  int rc;
  if (format == MS__FMT_ZIP) {
    /* The seekable reader starts from the central directory, so skipping
     * an entry never inflates it. */
    archive_read_support_format_zip_seekable(a);
    rc = ms__reader_open(a, rd, s, NULL);
  } else {
    archive_read_support_format_tar(a);
    rc = ms__reader_open_gz(a, rd, s, NULL, 0, 0);
  }
  if (rc != ARCHIVE_OK) {
    *st = rd->status ? rd->status
                     : ms__fail(MS_ECORRUPT, "archive '%s': not a valid %s: %s", s->origin,
                                format == MS__FMT_ZIP ? "zip (.mar)" : "tar.gz",
                                archive_error_string(a) ? archive_error_string(a) : "unreadable");
    archive_read_free(a);
    ms__reader_free(rd);
    return NULL;
  }
  return a;
}

/* libarchive's integrity warnings: a zip local header that disagrees with
 * the central directory ("Inconsistent CRC32 values", "... size"), a CRC
 * or checksum mismatch. Other warnings (a name that cannot be converted to
 * the locale's charset) leave the entry readable. */
static int integrity_warning(const char *msg) {
  return msg && (strstr(msg, "Inconsistent") || strstr(msg, "CRC") || strstr(msg, "checksum") ||
                 strstr(msg, "wrong size"));
}

int ms__archive_header_ok(struct archive *a, int r) {
  return r == ARCHIVE_OK || (r == ARCHIVE_WARN && !integrity_warning(archive_error_string(a)));
}

int ms__archive_failure(struct archive *a, const ms__reader *rd, int rc, int format, const char *origin,
                        const char *entry, int in_data) {
  if (rd && rd->status) {
    if (!rd->why[0]) return rd->status; /* a read failure: its message is set */
    if (entry && in_data) return ms__fail(rd->status, "archive '%s': entry '%s': %s", origin, entry, rd->why);
    if (entry) return ms__fail(rd->status, "archive '%s': %s (last entry read: '%s')", origin, rd->why, entry);
    return ms__fail(rd->status, "archive '%s': %s", origin, rd->why);
  }
  const char *msg = archive_error_string(a);
  if (!msg) msg = in_data ? "damaged data" : "damaged archive";
  if (in_data) {
    if (strstr(msg, "CRC"))
      return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s' fails its CRC-32 check (%s)", origin,
                      entry ? entry : "?", msg);
    return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s': %s", origin, entry ? entry : "?", msg);
  }
  if (format == MS__FMT_TGZ && rc == ARCHIVE_RETRY) {
    if (entry)
      return ms__fail(MS_ECORRUPT, "archive '%s': the tar header after entry '%s' fails its checksum (%s)", origin,
                      entry, msg);
    return ms__fail(MS_ECORRUPT, "archive '%s': a tar header fails its checksum (%s)", origin, msg);
  }
  if (rc == ARCHIVE_WARN && entry) /* an integrity warning about this entry's header */
    return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s': %s", origin, entry, msg);
  if (entry) return ms__fail(MS_ECORRUPT, "archive '%s': %s (after entry '%s')", origin, msg, entry);
  return ms__fail(MS_ECORRUPT, "archive '%s': %s", origin, msg);
}

int ms__archive_entry_data(struct archive *a, const ms__reader *rd, struct archive_entry *e, const char *origin,
                           const char *name, char **out, size_t *out_len) {
  if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)MS__META_MAX_BYTES)
    return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s' is larger than %u bytes", origin, name,
                    MS__META_MAX_BYTES);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (!buf) return ms__fail(MS_ENOMEM, "archive '%s': out of memory", origin);
  for (;;) {
    if (len == cap) {
      if (cap > MS__META_MAX_BYTES) {
        free(buf);
        return ms__fail(MS_ECORRUPT, "archive '%s': entry '%s' is larger than %u bytes", origin, name,
                        MS__META_MAX_BYTES);
      }
      char *g = realloc(buf, cap * 2);
      if (!g) {
        free(buf);
        return ms__fail(MS_ENOMEM, "archive '%s': out of memory", origin);
      }
      buf = g;
      cap *= 2;
    }
    /* archive_read_data gives a warning (a zip entry failing its CRC-32)
     * as a negative result too: the data are refused either way. */
    la_ssize_t r = archive_read_data(a, buf + len, cap - len);
    if (r < 0) {
      free(buf);
      return ms__archive_failure(a, rd, (int)r, -1, origin, name, 1);
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  *out = buf;
  *out_len = len;
  return MS_OK;
}

const char *ms__skip_dot_slash(const char *name) {
  while (name[0] == '.' && name[1] == '/') {
    name += 2;
    while (name[0] == '/') name++;
  }
  return name;
}

const char *ms__archive_rel_name(const char *name, int format, size_t *top_len) {
  name = ms__skip_dot_slash(name);
  *top_len = 0;
  if (format == MS__FMT_TGZ && strncmp(name, "MAR-INF/", 8) != 0) {
    const char *slash = strchr(name, '/');
    if (slash) {
      *top_len = (size_t)(slash - name) + 1;
      return slash + 1;
    }
  }
  return name;
}

typedef struct found {
  char *manifest;
  size_t manifest_len;
  char *top;      /* top folder of the manifest ("noop/") or "" */
} found;

static void found_free(found *f) {
  free(f->manifest);
  free(f->top);
  memset(f, 0, sizeof *f);
}

/* Zip pass 1: find MAR-INF/MANIFEST.json (or the legacy top-level
 * MANIFEST.json, which only counts when no MAR-INF manifest exists). */
static int find_manifest(const ms__source *s, int format, found *f) {
  int st = MS_OK;
  ms__reader rd;
  struct archive *a = ms__archive_open(s, format, &rd, &st);
  if (!a) return st;
  struct archive_entry *e;
  int r;
  while (ms__archive_header_ok(a, r = archive_read_next_header(a, &e))) {
    const char *name = archive_entry_pathname(e);
    if (!name) continue;
    size_t top_len;
    const char *rel = ms__archive_rel_name(name, format, &top_len);
    int is_mar = strcmp(rel, "MAR-INF/MANIFEST.json") == 0;
    int is_legacy = !is_mar && strcmp(rel, "MANIFEST.json") == 0 && !f->manifest;
    if (!is_mar && !is_legacy) continue;
    if (archive_entry_filetype(e) != AE_IFREG) {
      st = ms__fail(MS_ECORRUPT, "archive '%s': '%s' is not a regular file", s->origin, name);
      break;
    }
    free(f->manifest);
    f->manifest = NULL;
    free(f->top);
    if (!(f->top = malloc(top_len + 1))) {
      st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
      break;
    }
    memcpy(f->top, rel - top_len, top_len);
    f->top[top_len] = '\0';
    if ((st = ms__archive_entry_data(a, &rd, e, s->origin, name, &f->manifest, &f->manifest_len))) break;
    if (is_mar) break;
  }
  if (!st && !ms__archive_header_ok(a, r) && r != ARCHIVE_EOF)
    st = ms__archive_failure(a, &rd, r, format, s->origin, r == ARCHIVE_WARN ? archive_entry_pathname(e) : NULL, 0);
  archive_read_free(a);
  ms__reader_free(&rd);
  if (!st && !f->manifest)
    st = ms__fail(MS_ECORRUPT, "archive '%s': no MAR-INF/MANIFEST.json (nor a legacy MANIFEST.json)", s->origin);
  return st;
}

int ms__archive_find_entry(const ms__source *s, int format, const char *want, char **out, size_t *out_len) {
  int st = MS_OK;
  ms__reader rd;
  struct archive *a = ms__archive_open(s, format, &rd, &st);
  if (!a) return st;
  struct archive_entry *e;
  int r, hit = 0;
  while (ms__archive_header_ok(a, r = archive_read_next_header(a, &e))) {
    const char *name = archive_entry_pathname(e);
    if (!name) continue;
    name = ms__skip_dot_slash(name);
    if (strcmp(name, want) != 0) continue;
    if (archive_entry_filetype(e) != AE_IFREG) {
      st = ms__fail(MS_ECORRUPT, "archive '%s': '%s' is not a regular file", s->origin, name);
      break;
    }
    st = ms__archive_entry_data(a, &rd, e, s->origin, name, out, out_len);
    hit = 1;
    break;
  }
  if (!st && !hit && r != ARCHIVE_EOF)
    st = ms__archive_failure(a, &rd, r, format, s->origin, r == ARCHIVE_WARN ? archive_entry_pathname(e) : NULL, 0);
  archive_read_free(a);
  ms__reader_free(&rd);
  if (!st && !hit) st = ms__fail(MS_ECORRUPT, "archive '%s': config file '%s' named by the manifest is missing", s->origin, want);
  return st;
}

int ms__archive_parse_meta(const char *origin, const char *manifest, size_t manifest_len, const char *config,
                           size_t config_len, const char *config_name, ms__archive_meta *out) {
  int st = ms__manifest_parse(manifest, manifest_len, origin, &out->manifest);
  if (st) return st;
  if ((st = ms__settings_copy(&out->config, &out->manifest.batch))) return st;
  if (config) {
    char what[1200];
    snprintf(what, sizeof what, "%s: %s", origin, config_name);
    ms__settings yaml;
    if ((st = ms__model_config_parse_yaml(config, config_len, what, &yaml))) return st;
    st = ms__settings_merge(&out->config, &yaml); /* the yaml wins key by key */
    ms__settings_free(&yaml);
  }
  return st;
}

static int read_zip(const ms__source *s, ms__archive_meta *out) {
  ms__archive_meta m;
  memset(&m, 0, sizeof m);
  m.format = MS__FMT_ZIP;
  found f;
  memset(&f, 0, sizeof f);
  char *config = NULL, *want = NULL;
  size_t config_len = 0;
  ms__sha256 h;
  ms__sha256_init(&h);
  int st = ms__zip_hash_directory(s, &h);
  if (!st) st = find_manifest(s, MS__FMT_ZIP, &f);
  if (!st) {
    /* Peek at configFile before the full parse so the config is read once. */
    ms__manifest peek;
    st = ms__manifest_parse(f.manifest, f.manifest_len, s->origin, &peek);
    int parsed = !st; /* peek is ours to free from here on */
    if (!st && peek.config_file) {
      const char *cf = ms__skip_dot_slash(peek.config_file);
      size_t n = strlen(f.top) + strlen(cf) + 1;
      if (!(want = malloc(n))) st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", s->origin);
      else snprintf(want, n, "%s%s", f.top, cf);
    }
    if (parsed) ms__manifest_free(&peek);
  }
  if (!st && want) st = ms__archive_find_entry(s, MS__FMT_ZIP, want, &config, &config_len);
  if (!st)
    st = ms__archive_parse_meta(s->origin, f.manifest, f.manifest_len, config, config_len, want ? want : "", &m);
  if (!st) {
    ms__sha256_update(&h, f.manifest, f.manifest_len);
    if (config) ms__sha256_update(&h, config, config_len);
    ms__sha256_final_hex(&h, m.hash);
  }
  found_free(&f);
  free(config);
  free(want);
  if (st) {
    ms__archive_meta_free(&m);
    return st;
  }
  *out = m;
  return MS_OK;
}

/* ---- folders ------------------------------------------------------------- */

/* A manifest or config file of a folder model: refused, never waited on,
 * unless it is a regular file (a FIFO would block the scan forever). */
static int slurp(const char *path, const char *origin, char **out, size_t *out_len) {
  int fd = -1;
  struct stat sb;
  int err = ms__open_regular(path, &fd, &sb);
  if (err == MS__NOT_REGULAR)
    return ms__fail(MS_ECORRUPT, "archive '%s': '%s' is not a regular file (%s)", origin, path,
                    ms__file_kind((unsigned)sb.st_mode));
  if (err)
    return ms__fail(err == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': cannot open '%s': %s", origin, path,
                    strerror(err));
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  int st = buf ? MS_OK : ms__fail(MS_ENOMEM, "archive '%s': out of memory", origin);
  while (!st) {
    if (len == cap) {
      if (cap > MS__META_MAX_BYTES) {
        st = ms__fail(MS_ECORRUPT, "archive '%s': '%s' is larger than %u bytes", origin, path, MS__META_MAX_BYTES);
        break;
      }
      char *g = realloc(buf, cap * 2);
      if (!g) {
        st = ms__fail(MS_ENOMEM, "archive '%s': out of memory", origin);
        break;
      }
      buf = g;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      st = ms__fail(MS_EIO, "archive '%s': reading '%s' failed: %s", origin, path, strerror(errno));
      break;
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  if (st) {
    free(buf);
    return st;
  }
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

static int read_dir(const char *path, ms__archive_meta *out) {
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
    st = ms__manifest_parse(manifest, manifest_len, path, &peek);
    int parsed = !st; /* peek is ours to free from here on (also when its config fails) */
    if (!st && peek.config_file) {
      if (!(cpath = join(path, ms__skip_dot_slash(peek.config_file)))) st = MS_ENOMEM;
      else if ((st = slurp(cpath, path, &config, &config_len)) == MS_ENOTFOUND)
        st = ms__fail(MS_ECORRUPT, "archive '%s': config file '%s' named by the manifest is missing", path,
                      peek.config_file);
    }
    if (parsed) ms__manifest_free(&peek);
  }
  if (!st) st = ms__archive_parse_meta(path, manifest, manifest_len, config, config_len, cpath ? cpath : "", &m);
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
    ms__archive_meta_free(&m);
    return st;
  }
  *out = m;
  return MS_OK;
}

/* ---- entry points -------------------------------------------------------- */

int ms__archive_read_source(const ms__source *s, int format, const ms__read_limits *lim, ms__archive_meta *out) {
  static const ms__read_limits defaults = {MS_REGISTRY_DEFAULT_MAX_BYTES, MS_REGISTRY_DEFAULT_MAX_RATIO};
  MS__ARCHIVE_SERIAL_BEGIN();
  int st = format == MS__FMT_ZIP ? read_zip(s, out) : ms__tgz_read(s, lim ? lim : &defaults, out);
  MS__ARCHIVE_SERIAL_END();
  return st;
}

int ms__archive_read_path(const char *path, int format, ms__archive_meta *out) {
  return ms__archive_read_path_limited(path, format, NULL, out);
}

int ms__archive_read_path_limited(const char *path, int format, const ms__read_limits *lim, ms__archive_meta *out) {
  if (!path || !out) return ms__fail(MS_EINVAL, "archive: NULL argument");
  if (format == MS__FMT_DIR) return read_dir(path, out);
  int fd = -1;
  struct stat sb;
  int err = ms__open_regular(path, &fd, &sb);
  if (err == MS__NOT_REGULAR)
    return ms__fail(MS_EUNSUPPORTED, "archive '%s': not a regular file (%s)", path, ms__file_kind((unsigned)sb.st_mode));
  if (err) return ms__fail(err == ENOENT ? MS_ENOTFOUND : MS_EIO, "archive '%s': %s", path, strerror(err));
  ms__source s = {path, path, fd, NULL, (int64_t)sb.st_size};
  int st = ms__archive_read_source(&s, format, lim, out);
  close(fd);
  return st;
}

int ms__archive_read_manifest_from_memory(const void *buf, size_t len, const char *origin, ms__archive_meta *out) {
  if ((!buf && len) || !origin || !out) return ms__fail(MS_EINVAL, "archive: NULL argument");
  const unsigned char *p = buf;
  int format;
  if (len >= 4 && p[0] == 'P' && p[1] == 'K') format = MS__FMT_ZIP;
  else if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b) format = MS__FMT_TGZ;
  else return ms__fail(MS_ECORRUPT, "archive '%s': neither a zip nor a gzip file (bad magic bytes)", origin);
  ms__source s = {origin, NULL, -1, p, (int64_t)len};
  return ms__archive_read_source(&s, format, NULL, out);
}
