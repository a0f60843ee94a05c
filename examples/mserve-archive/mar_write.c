/* mserve-archive create: folder -> .mar (zip deflate, TorchServe layout).
 * The folder's files come first, sorted so the same folder always gives the
 * same archive; model-config.yaml and MAR-INF/MANIFEST.json come last, as
 * torch-model-archiver writes them, so they sit next to the central directory
 * and a reader that starts from the end finds them in the same read. */
#include "mar_write.h"

#include <mserve.h>

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ARCHIVER_VERSION "mserve-archive 0.1"

typedef struct src_file {
  char *arc;   /* name inside the archive */
  char *disk;  /* path to read */
  uint64_t size;
} src_file;

typedef struct file_list {
  src_file *v;
  size_t n, cap;
} file_list;

typedef struct ctx {
  char *err;
  size_t errlen;
  dev_t skip_dev;
  ino_t skip_ino;
  int have_skip;
} ctx;

static int fail(ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, c->errlen, fmt, ap);
  va_end(ap);
  return code;
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s%s%s", a, *a ? "/" : "", b);
  return p;
}

static void list_free(file_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].arc);
    free(l->v[i].disk);
  }
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

/* Takes ownership of arc and disk (even on failure). */
static int list_add(ctx *c, file_list *l, char *arc, char *disk, uint64_t size) {
  if (!arc || !disk) goto oom;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    src_file *v = realloc(l->v, cap * sizeof *v);
    if (!v) goto oom;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = (src_file){arc, disk, size};
  return MS_OK;
oom:
  free(arc);
  free(disk);
  return fail(c, MS_ENOMEM, "out of memory");
}

static int find(const file_list *l, const char *arc) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i].arc, arc) == 0) return 1;
  return 0;
}

/* The file on disk that goes into the archive as `arc`, or NULL. */
static const char *find_disk(const file_list *l, const char *arc) {
  for (size_t i = 0; arc && i < l->n; i++)
    if (strcmp(l->v[i].arc, arc) == 0) return l->v[i].disk;
  return NULL;
}

/* Collect regular files under disk_dir; `rel` is their folder inside the archive. */
static int walk(ctx *c, file_list *l, const char *disk_dir, const char *rel, int depth) {
  if (depth > 64) return fail(c, MS_EUNSAFE, "'%s': folders nested too deep", disk_dir);
  DIR *d = opendir(disk_dir);
  if (!d) return fail(c, MS_EIO, "'%s': %s", disk_dir, strerror(errno));
  int rc = MS_OK;
  struct dirent *e;
  while (rc == MS_OK && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    /* The archive's own manifest is generated; a stale one in the folder is left out. */
    if (depth == 0 && strcmp(e->d_name, "MAR-INF") == 0) continue;
    char *disk = join(disk_dir, e->d_name);
    char *arc = join(rel, e->d_name);
    struct stat st;
    if (!disk || !arc) {
      free(disk), free(arc);
      rc = fail(c, MS_ENOMEM, "out of memory");
    } else if (lstat(disk, &st) != 0) {
      rc = fail(c, MS_EIO, "'%s': %s", disk, strerror(errno));
      free(disk), free(arc);
    } else if (S_ISDIR(st.st_mode)) {
      rc = walk(c, l, disk, arc, depth + 1);
      free(disk), free(arc);
    } else if (S_ISREG(st.st_mode)) {
      if (c->have_skip && st.st_dev == c->skip_dev && st.st_ino == c->skip_ino) {
        free(disk), free(arc); /* the output archive itself, when it lies inside the folder */
      } else {
        rc = list_add(c, l, arc, disk, (uint64_t)st.st_size);
      }
    } else {
      /* Registries refuse links and devices on extraction; refuse them here too. */
      rc = fail(c, MS_EUNSAFE, "'%s': not a regular file or folder (links and devices are not archived)", disk);
      free(disk), free(arc);
    }
  }
  closedir(d);
  return rc;
}

static int cmp_arc(const void *a, const void *b) {
  return strcmp(((const src_file *)a)->arc, ((const src_file *)b)->arc);
}

/* Resolve --model-file & co: a path inside the folder keeps its place; a file
 * elsewhere is added at the archive root under its base name. */
static int resolve(ctx *c, file_list *l, const char *src_dir, const char *given, const char *what,
                   char **arc_out) {
  *arc_out = NULL;
  if (!given) return MS_OK;
  char *inside = join(src_dir, given);
  if (!inside) return fail(c, MS_ENOMEM, "out of memory");
  struct stat st;
  int in_folder = given[0] != '/' && strstr(given, "..") == NULL && lstat(inside, &st) == 0 && S_ISREG(st.st_mode);
  free(inside);
  if (in_folder) {
    const char *p = given;
    while (p[0] == '.' && p[1] == '/') p += 2;
    *arc_out = strdup(p);
    if (!*arc_out) return fail(c, MS_ENOMEM, "out of memory");
    if (!find(l, *arc_out)) return fail(c, MS_EINVAL, "%s '%s' is not a plain file of the folder", what, given);
    return MS_OK;
  }
  if (stat(given, &st) != 0 || !S_ISREG(st.st_mode))
    return fail(c, MS_ENOTFOUND, "%s '%s': not found in '%s' nor as a file", what, given, src_dir);
  const char *base = strrchr(given, '/');
  base = base ? base + 1 : given;
  if (find(l, base)) return fail(c, MS_EEXIST, "%s '%s': the folder already has a file named '%s'", what, given, base);
  *arc_out = strdup(base);
  char *disk = strdup(given);
  char *arc2 = strdup(base);
  if (!*arc_out) {
    free(disk), free(arc2);
    return fail(c, MS_ENOMEM, "out of memory");
  }
  return list_add(c, l, arc2, disk, (uint64_t)st.st_size);
}

static char *manifest_json(const mar_spec *s, const char *model_file, const char *serialized,
                           const char *config) {
  char when[64];
  time_t now = time(NULL);
  struct tm tmv;
  gmtime_r(&now, &tmv);
  strftime(when, sizeof when, "%d/%m/%Y %H:%M:%S", &tmv); /* TorchServe's createdOn format */
  cJSON *root = cJSON_CreateObject();
  cJSON *model = cJSON_CreateObject();
  if (!root || !model) {
    cJSON_Delete(root);
    cJSON_Delete(model);
    return NULL;
  }
  cJSON_AddStringToObject(root, "createdOn", when);
  cJSON_AddStringToObject(root, "runtime", s->runtime ? s->runtime : "python");
  cJSON_AddItemToObject(root, "model", model);
  cJSON_AddStringToObject(model, "modelName", s->name);
  cJSON_AddStringToObject(model, "modelVersion", s->version);
  cJSON_AddStringToObject(model, "handler", s->handler);
  if (serialized) cJSON_AddStringToObject(model, "serializedFile", serialized);
  if (model_file) cJSON_AddStringToObject(model, "modelFile", model_file);
  if (config) cJSON_AddStringToObject(model, "configFile", config);
  /* The batch keys the MMS issue proposed for the manifest's model object. */
  /* Digit for digit: a double would round values past 2^53. */
  char digits[24];
  if (s->batch_size >= 0) {
    snprintf(digits, sizeof digits, "%lld", (long long)s->batch_size);
    cJSON_AddRawToObject(model, "batchSize", digits);
  }
  if (s->max_batch_delay_ms >= 0) {
    snprintf(digits, sizeof digits, "%lld", (long long)s->max_batch_delay_ms);
    cJSON_AddRawToObject(model, "maxBatchDelay", digits);
  }
  cJSON_AddStringToObject(root, "archiverVersion", ARCHIVER_VERSION);
  char *txt = cJSON_Print(root);
  cJSON_Delete(root);
  return txt;
}

/* model-config.yaml with TorchServe's key names, for settings the manifest has no place for. */
static char *config_yaml(const mar_spec *s) {
  char *buf = malloc(512);
  if (!buf) return NULL;
  size_t n = 0;
  buf[0] = '\0';
  struct {
    const char *key;
    int64_t v;
  } kv[] = {{"minWorkers", s->min_workers},          {"maxWorkers", s->max_workers},
            {"batchSize", s->batch_size},            {"maxBatchDelay", s->max_batch_delay_ms},
            {"responseTimeout", s->response_timeout_s}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    if (kv[i].v >= 0) n += (size_t)snprintf(buf + n, 512 - n, "%s: %lld\n", kv[i].key, (long long)kv[i].v);
  return buf;
}

static int write_mem(struct archive *a, const char *arc, const char *data, size_t len, time_t mtime) {
  struct archive_entry *e = archive_entry_new();
  if (!e) return ARCHIVE_FATAL;
  archive_entry_set_pathname(e, arc);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)len);
  archive_entry_set_mtime(e, mtime, 0);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) return r;
  return archive_write_data(a, data, len) == (la_ssize_t)len ? ARCHIVE_OK : ARCHIVE_FATAL;
}

static int write_file(ctx *c, struct archive *a, const src_file *f) {
  int fd = open(f->disk, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(c, MS_EIO, "'%s': %s", f->disk, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail(c, MS_EIO, "'%s': no longer a regular file", f->disk);
  }
  struct archive_entry *e = archive_entry_new();
  if (!e) {
    close(fd);
    return fail(c, MS_ENOMEM, "out of memory");
  }
  archive_entry_set_pathname(e, f->arc);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)st.st_size);
  archive_entry_set_mtime(e, st.st_mtime, 0);
  int rc = MS_OK;
  if (archive_write_header(a, e) != ARCHIVE_OK) rc = fail(c, MS_EIO, "'%s': %s", f->arc, archive_error_string(a));
  archive_entry_free(e);
  static char buf[1 << 16];
  int64_t left = (int64_t)st.st_size;
  while (rc == MS_OK && left > 0) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      rc = fail(c, MS_EIO, "'%s': read failed (%s)", f->disk, r < 0 ? strerror(errno) : "file shrank");
      break;
    }
    if (archive_write_data(a, buf, (size_t)r) != r) rc = fail(c, MS_EIO, "'%s': %s", f->arc, archive_error_string(a));
    left -= r;
  }
  close(fd);
  return rc;
}

/* ---- validating with the library's own rules ------------------------------
 * Before anything is written at OUT, the manifest and config the archive will
 * carry are put in a small zip in a scratch folder and read back with
 * ms_archive_inspect: the reader every server uses, so create never writes an
 * archive its readers refuse (a version with a space, a timeout whose
 * microseconds overflow, a broken --config-file, ...). The archive written is
 * read back the same way before it replaces OUT. */

/* Read a whole (config) file, at most 64 MiB: the reader's own limit is far lower. */
static int slurp(ctx *c, const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return fail(c, MS_EIO, "'%s': %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  int rc = buf ? MS_OK : fail(c, MS_ENOMEM, "out of memory");
  while (rc == MS_OK) {
    if (n == cap) {
      char *g = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2) : NULL;
      if (!g) {
        rc = cap < ((size_t)64 << 20) ? fail(c, MS_ENOMEM, "out of memory") : fail(c, MS_ECORRUPT, "'%s': larger than 64 MiB", path);
        break;
      }
      buf = g;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    if (r == 0) {
      if (ferror(f)) rc = fail(c, MS_EIO, "'%s': read failed", path);
      break;
    }
    n += r;
  }
  fclose(f);
  if (rc != MS_OK) {
    free(buf);
    return rc;
  }
  *out = buf;
  *len = n;
  return MS_OK;
}

/* msg with every occurrence of `from` replaced by `to`, into out[cap]. */
static void replace_all(const char *msg, const char *from, const char *to, char *out, size_t cap) {
  size_t o = 0, fl = strlen(from), tl = strlen(to);
  while (*msg && o + 1 < cap) {
    if (fl && strncmp(msg, from, fl) == 0) {
      size_t k = tl < cap - 1 - o ? tl : cap - 1 - o;
      memcpy(out + o, to, k);
      o += k;
      msg += fl;
    } else {
      out[o++] = *msg++;
    }
  }
  out[o] = '\0';
}

/* The library's verdict on an archive at `path`; on refusal fails with
 * `status` and "<what>: <the library's message>", `path` shown as `shown`. */
static int library_reads(ctx *c, const char *path, const char *shown, int status, const char *what) {
  ms_model *m = NULL;
  int st = ms_archive_inspect(path, NULL, &m);
  ms_model_free(m);
  if (st == MS_OK) return MS_OK;
  if (st == MS_ENOMEM) return fail(c, MS_ENOMEM, "out of memory");
  char msg[2048];
  replace_all(ms_errmsg(), path, shown, msg, sizeof msg);
  return fail(c, status, "%s: %s", what, msg);
}

/* A zip with the manifest and (cfg_arc != NULL) one config entry. */
static int write_probe(ctx *c, const char *path, const char *manifest, const char *cfg_arc, const char *cfg,
                       size_t cfg_len) {
  struct archive *a = archive_write_new();
  int ok = a && archive_write_set_format_zip(a) == ARCHIVE_OK && archive_write_open_filename(a, path) == ARCHIVE_OK;
  if (ok && cfg_arc) ok = write_mem(a, cfg_arc, cfg, cfg_len, 0) == ARCHIVE_OK;
  if (ok) ok = write_mem(a, "MAR-INF/MANIFEST.json", manifest, strlen(manifest), 0) == ARCHIVE_OK;
  if (ok) ok = archive_write_close(a) == ARCHIVE_OK;
  int rc = ok ? MS_OK : fail(c, MS_EIO, "'%s': %s", path, a ? archive_error_string(a) : "out of memory");
  if (a) archive_write_free(a);
  return rc;
}

static int rm_probe(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(p);
  return 0;
}

/* Check the spec (as manifest + generated yaml) and then the user's config
 * file with the library, in a scratch folder. A refusal of the first is a
 * bad argument (MS_EINVAL), of the second a bad file (MS_ECORRUPT). */
static int validate_first(ctx *c, const mar_spec *spec, const char *model_file, const char *serialized,
                          const char *config_arc, const char *config_disk, const char *manifest, const char *yaml,
                          const char *out_path) {
  const char *tmpbase = getenv("TMPDIR");
  char scratch[4096], probe[4200];
  snprintf(scratch, sizeof scratch, "%s/mserve-archive-XXXXXX", tmpbase && *tmpbase ? tmpbase : P_tmpdir);
  if (!mkdtemp(scratch)) return fail(c, MS_EIO, "cannot create a scratch folder: %s", strerror(errno));
  const char *base = strrchr(out_path, '/');
  base = base ? base + 1 : out_path;
  snprintf(probe, sizeof probe, "%s/%s%s", scratch, base, strlen(base) > 4 && strcmp(base + strlen(base) - 4, ".mar") == 0 ? "" : ".mar");
  int rc;
  if (config_disk) {
    /* The arguments alone: the manifest without the user's config. */
    char *bare = manifest_json(spec, model_file, serialized, NULL);
    if (!bare) rc = fail(c, MS_ENOMEM, "out of memory");
    else rc = write_probe(c, probe, bare, NULL, NULL, 0);
    cJSON_free(bare);
    if (rc == MS_OK) rc = library_reads(c, probe, out_path, MS_EINVAL, "the archive would be refused by its readers");
    char *cfg = NULL;
    size_t cfg_len = 0;
    if (rc == MS_OK) rc = slurp(c, config_disk, &cfg, &cfg_len);
    if (rc == MS_OK) rc = write_probe(c, probe, manifest, config_arc, cfg, cfg_len);
    free(cfg);
    if (rc == MS_OK) {
      char what[1200];
      snprintf(what, sizeof what, "--config-file '%.1000s' would be refused by the archive's readers", spec->config_file);
      rc = library_reads(c, probe, out_path, MS_ECORRUPT, what);
    }
  } else {
    rc = write_probe(c, probe, manifest, yaml ? config_arc : NULL, yaml, yaml ? strlen(yaml) : 0);
    if (rc == MS_OK) rc = library_reads(c, probe, out_path, MS_EINVAL, "the archive would be refused by its readers");
  }
  nftw(scratch, rm_probe, 8, FTW_DEPTH | FTW_PHYS);
  return rc;
}

static int valid_name(const char *s) {
  if (!s || !*s) return 0;
  const char *p = s;
  if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) return 0;
  for (p++; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
          *p == '.' || *p == '-'))
      return 0;
  return 1;
}

int mar_create(const mar_spec *spec, const char *src_dir, const char *out_path, int force, mar_result *res,
               char *err, size_t errlen) {
  ctx c = {err, errlen, 0, 0, 0};
  if (!valid_name(spec->name)) return fail(&c, MS_EINVAL, "--name '%s' must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$", spec->name ? spec->name : "");
  if (!spec->version || !*spec->version) return fail(&c, MS_EINVAL, "--version must not be empty");
  if (!spec->handler || !*spec->handler) return fail(&c, MS_EINVAL, "--handler must not be empty");
  int extra_cfg = spec->response_timeout_s >= 0 || spec->min_workers >= 0 || spec->max_workers >= 0;
  if (spec->config_file && extra_cfg)
    return fail(&c, MS_EINVAL, "--response-timeout/--min-workers/--max-workers go into the --config-file you give; set them there");

  struct stat st;
  if (stat(src_dir, &st) != 0 || !S_ISDIR(st.st_mode)) return fail(&c, MS_ENOTFOUND, "'%s': not a folder", src_dir);
  if (lstat(out_path, &st) == 0) {
    if (!force) return fail(&c, MS_EEXIST, "'%s' exists; use --force to replace it", out_path);
    if (S_ISREG(st.st_mode)) c.skip_dev = st.st_dev, c.skip_ino = st.st_ino, c.have_skip = 1;
  }

  file_list l = {0};
  char *model_file = NULL, *serialized = NULL, *config = NULL, *manifest = NULL, *yaml = NULL, *tmp = NULL;
  struct archive *a = NULL;
  int fd = -1;
  int rc = walk(&c, &l, src_dir, "", 0);
  if (rc == MS_OK) rc = resolve(&c, &l, src_dir, spec->model_file, "--model-file", &model_file);
  if (rc == MS_OK) rc = resolve(&c, &l, src_dir, spec->serialized_file, "--serialized-file", &serialized);
  if (rc == MS_OK) rc = resolve(&c, &l, src_dir, spec->config_file, "--config-file", &config);
  if (rc == MS_OK && extra_cfg) {
    if (find(&l, "model-config.yaml")) {
      rc = fail(&c, MS_EEXIST, "'%s' has a model-config.yaml: pass it with --config-file and put the settings there", src_dir);
    } else if (!(yaml = config_yaml(spec)) || !(config = strdup("model-config.yaml"))) {
      rc = fail(&c, MS_ENOMEM, "out of memory");
    }
  }
  if (rc == MS_OK && !(manifest = manifest_json(spec, model_file, serialized, config)))
    rc = fail(&c, MS_ENOMEM, "out of memory");
  if (rc == MS_OK)
    rc = validate_first(&c, spec, model_file, serialized, config, yaml ? NULL : find_disk(&l, config), manifest, yaml,
                        out_path);
  if (rc != MS_OK) goto done;
  qsort(l.v, l.n, sizeof *l.v, cmp_arc);

  size_t tl = strlen(out_path) + 20;
  tmp = malloc(tl);
  if (!tmp) {
    rc = fail(&c, MS_ENOMEM, "out of memory");
    goto done;
  }
  /* ".mar" at the end: the reader tells formats by name, and it reads this file back below. */
  snprintf(tmp, tl, "%s.tmp.XXXXXX.mar", out_path);
  fd = mkstemps(tmp, 4);
  if (fd < 0) {
    rc = fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
    free(tmp);
    tmp = NULL;
    goto done;
  }
  a = archive_write_new();
  if (!a || archive_write_set_format_zip(a) != ARCHIVE_OK || archive_write_zip_set_compression_deflate(a) != ARCHIVE_OK ||
      archive_write_open_fd(a, fd) != ARCHIVE_OK) {
    rc = fail(&c, MS_EIO, "'%s': %s", out_path, a ? archive_error_string(a) : "out of memory");
    goto done;
  }
  time_t now = time(NULL);
  uint64_t bytes_in = strlen(manifest);
  for (size_t i = 0; rc == MS_OK && i < l.n; i++) {
    rc = write_file(&c, a, &l.v[i]);
    bytes_in += l.v[i].size;
  }
  if (rc != MS_OK) goto done;
  if (yaml) {
    bytes_in += strlen(yaml);
    if (write_mem(a, "model-config.yaml", yaml, strlen(yaml), now) != ARCHIVE_OK) {
      rc = fail(&c, MS_EIO, "'%s': %s", out_path, archive_error_string(a));
      goto done;
    }
  }
  if (write_mem(a, "MAR-INF/MANIFEST.json", manifest, strlen(manifest), now) != ARCHIVE_OK) {
    rc = fail(&c, MS_EIO, "'%s': %s", out_path, archive_error_string(a));
    goto done;
  }
  if (archive_write_close(a) != ARCHIVE_OK) {
    rc = fail(&c, MS_EIO, "'%s': %s", out_path, archive_error_string(a));
    goto done;
  }
  if (fsync(fd) != 0 || fstat(fd, &st) != 0) {
    rc = fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
    goto done;
  }
  /* What was written reads back with the library before it takes OUT's place. */
  if ((rc = library_reads(&c, tmp, out_path, MS_ECORRUPT, "the archive written does not read back")) != MS_OK) goto done;
  /* link() refuses an existing name, so a racing writer is never clobbered without --force. */
  if (force ? rename(tmp, out_path) != 0 : link(tmp, out_path) != 0) {
    rc = errno == EEXIST ? fail(&c, MS_EEXIST, "'%s' exists; use --force to replace it", out_path)
                         : fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
    goto done;
  }
  if (!force) unlink(tmp);
  free(tmp);
  tmp = NULL;
  if (res) {
    res->entries = l.n + 1 + (yaml ? 1 : 0);
    res->bytes_in = bytes_in;
    res->bytes_out = (uint64_t)st.st_size;
  }
done:
  if (a) archive_write_free(a);
  if (fd >= 0) close(fd);
  if (tmp) {
    unlink(tmp);
    free(tmp);
  }
  free(model_file), free(serialized), free(config), free(yaml);
  cJSON_free(manifest);
  list_free(&l);
  return rc;
}
