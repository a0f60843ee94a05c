/* mserve-archive create: named files and/or a folder -> a TorchServe-layout
 * archive (.mar zip, .tar.gz, or a plain folder), as torch-model-archiver
 * writes it. The files come first, sorted so the same input always gives the
 * same archive; model-config.yaml (when generated) and MAR-INF/MANIFEST.json
 * come last, as torch-model-archiver writes them, so they sit next to a zip's
 * central directory and a reader that starts from the end finds them in the
 * same read. The archive itself goes through examples/common/archive_write. */
#include "mar_write.h"

#include <mserve.h>

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

#include "archive_write.h"

#define ARCHIVER_VERSION "mserve-archive 0.1"

typedef struct src_file {
  char *arc;  /* name inside the archive */
  char *disk; /* path to read */
  uint64_t size;
  dev_t dev;
  ino_t ino;
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
static int list_add(ctx *c, file_list *l, char *arc, char *disk, const struct stat *st) {
  if (!arc || !disk) goto oom;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    src_file *v = realloc(l->v, cap * sizeof *v);
    if (!v) goto oom;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = (src_file){arc, disk, (uint64_t)st->st_size, st->st_dev, st->st_ino};
  return MS_OK;
oom:
  free(arc);
  free(disk);
  return fail(c, MS_ENOMEM, "out of memory");
}

static const src_file *find(const file_list *l, const char *arc) {
  for (size_t i = 0; arc && i < l->n; i++)
    if (strcmp(l->v[i].arc, arc) == 0) return &l->v[i];
  return NULL;
}

static const src_file *find_same(const file_list *l, const struct stat *st) {
  for (size_t i = 0; i < l->n; i++)
    if (l->v[i].dev == st->st_dev && l->v[i].ino == st->st_ino) return &l->v[i];
  return NULL;
}

/* A file found on disk goes in as `arc`: once, however often it is named;
 * another file under a name already taken is a clash. Takes ownership of
 * arc and disk. */
static int add_unique(ctx *c, file_list *l, char *arc, char *disk, const struct stat *st, const char *what) {
  if (!arc || !disk) {
    free(arc), free(disk);
    return fail(c, MS_ENOMEM, "out of memory");
  }
  if (c->have_skip && st->st_dev == c->skip_dev && st->st_ino == c->skip_ino) {
    free(arc), free(disk); /* the output archive itself, when it lies among the inputs */
    return MS_OK;
  }
  const src_file *same = find_same(l, st);
  if (same) {
    free(arc), free(disk);
    return MS_OK;
  }
  const src_file *taken = find(l, arc);
  if (taken) {
    int rc = fail(c, MS_EEXIST, "%s '%s': the archive already holds another file named '%s' (from '%s')", what, disk,
                  arc, taken->disk);
    free(arc), free(disk);
    return rc;
  }
  return list_add(c, l, arc, disk, st);
}

/* Collect regular files under disk_dir; `rel` is their folder inside the
 * archive. skip_marinf: leave out a stale MAR-INF at the top (the manifest
 * is generated). */
static int walk(ctx *c, file_list *l, const char *disk_dir, const char *rel, int depth, int skip_marinf,
                const char *what) {
  if (depth > 64) return fail(c, MS_EUNSAFE, "'%s': folders nested too deep", disk_dir);
  DIR *d = opendir(disk_dir);
  if (!d) return fail(c, MS_EIO, "'%s': %s", disk_dir, strerror(errno));
  /* sorted, so the same folder always gives the same archive */
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = MS_OK;
  struct dirent *e;
  while (rc == MS_OK && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (depth == 0 && skip_marinf && strcmp(e->d_name, "MAR-INF") == 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **g = realloc(names, cap * sizeof *names);
      if (!g) {
        rc = fail(c, MS_ENOMEM, "out of memory");
        break;
      }
      names = g;
    }
    if (!(names[n] = strdup(e->d_name))) rc = fail(c, MS_ENOMEM, "out of memory");
    else n++;
  }
  closedir(d);
  for (size_t i = 0; rc == MS_OK && i < n; i++) {
    char *disk = join(disk_dir, names[i]);
    char *arc = join(rel, names[i]);
    struct stat st;
    if (!disk || !arc) {
      free(disk), free(arc);
      rc = fail(c, MS_ENOMEM, "out of memory");
    } else if (lstat(disk, &st) != 0) {
      rc = fail(c, MS_EIO, "'%s': %s", disk, strerror(errno));
      free(disk), free(arc);
    } else if (S_ISDIR(st.st_mode)) {
      rc = walk(c, l, disk, arc, depth + 1, skip_marinf, what);
      free(disk), free(arc);
    } else if (S_ISREG(st.st_mode)) {
      rc = add_unique(c, l, arc, disk, &st, what);
    } else {
      /* Registries refuse links and devices on extraction; refuse them here too. */
      rc = fail(c, MS_EUNSAFE, "'%s': not a regular file or folder (links and devices are not archived)", disk);
      free(disk), free(arc);
    }
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

static int cmp_arc(const void *a, const void *b) {
  return strcmp(((const src_file *)a)->arc, ((const src_file *)b)->arc);
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s && s[1] ? s + 1 : p;
}

/* A file named by a flag: inside src_dir (a relative path that exists
 * there) it keeps its place; elsewhere it goes in at the archive root under
 * its base name. *arc_out: its name inside the archive. */
static int resolve(ctx *c, file_list *l, const char *src_dir, const char *given, const char *what, char **arc_out) {
  *arc_out = NULL;
  if (!given) return MS_OK;
  if (!*given) return fail(c, MS_EINVAL, "%s: an empty file name", what);
  struct stat st;
  if (src_dir && given[0] != '/' && strstr(given, "..") == NULL) {
    char *inside = join(src_dir, given);
    if (!inside) return fail(c, MS_ENOMEM, "out of memory");
    int in_folder = lstat(inside, &st) == 0 && S_ISREG(st.st_mode);
    free(inside);
    if (in_folder) {
      const src_file *f = find_same(l, &st);
      if (!f) return fail(c, MS_EINVAL, "%s '%s' is not a plain file of the folder", what, given);
      return (*arc_out = strdup(f->arc)) ? MS_OK : fail(c, MS_ENOMEM, "out of memory");
    }
  }
  if (stat(given, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (src_dir) return fail(c, MS_ENOTFOUND, "%s '%s': not found in '%s' nor as a file", what, given, src_dir);
    return fail(c, MS_ENOTFOUND, "%s '%s': no such file", what, given);
  }
  /* the same file already in (the folder's own, or named twice): its place */
  const src_file *f = find_same(l, &st);
  if (f) return (*arc_out = strdup(f->arc)) ? MS_OK : fail(c, MS_ENOMEM, "out of memory");
  const char *base = base_name(given);
  int rc = add_unique(c, l, strdup(base), strdup(given), &st, what);
  if (rc != MS_OK) return rc;
  return (*arc_out = strdup(base)) ? MS_OK : fail(c, MS_ENOMEM, "out of memory");
}

/* --extra-files a,b,dir: each file at the root under its name, each
 * folder's contents at the root, as torch-model-archiver copies them. */
static int add_extra(ctx *c, file_list *l, const char *src_dir, const char *list) {
  if (!list) return MS_OK;
  char *copy = strdup(list);
  if (!copy) return fail(c, MS_ENOMEM, "out of memory");
  int rc = MS_OK;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); rc == MS_OK && item; item = strtok_r(NULL, ",", &save)) {
    while (*item == ' ') item++;
    size_t len = strlen(item);
    while (len && item[len - 1] == ' ') item[--len] = '\0';
    if (!*item) continue;
    struct stat st;
    if (stat(item, &st) == 0 && S_ISDIR(st.st_mode)) {
      rc = walk(c, l, item, "", 1, 0, "--extra-files");
    } else {
      char *arc = NULL;
      rc = resolve(c, l, src_dir, item, "--extra-files", &arc);
      free(arc);
    }
  }
  free(copy);
  return rc;
}

/* The handler's file part ("h.py" of "h.py:handle"), or NULL for a
 * handler name (a built-in such as image_classifier, or a module). */
static char *handler_file(const char *handler) {
  char *h = strdup(handler);
  if (!h) return NULL;
  char *colon = strrchr(h, ':');
  if (colon && !strchr(colon, '/')) *colon = '\0';
  return h;
}

static char *manifest_json(const mar_spec *s, const char *handler, const char *model_file, const char *serialized,
                           const char *config, const char *requirements) {
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
  cJSON_AddStringToObject(model, "handler", handler);
  if (serialized) cJSON_AddStringToObject(model, "serializedFile", serialized);
  if (model_file) cJSON_AddStringToObject(model, "modelFile", model_file);
  if (config) cJSON_AddStringToObject(model, "configFile", config);
  if (requirements) cJSON_AddStringToObject(model, "requirementsFile", requirements);
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

static int aw_fail(ctx *c, int st) { return fail(c, st, "%s", aw_last_error()); }

static int add_mem(aw_writer *w, const char *arc, const char *data, size_t len, time_t mtime) {
  aw_entry e = {arc, AW_FILE, 0644, (int64_t)mtime, NULL, 0};
  return aw_add(w, &e, data, len);
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
        rc = cap < ((size_t)64 << 20) ? fail(c, MS_ENOMEM, "out of memory")
                                      : fail(c, MS_ECORRUPT, "'%s': larger than 64 MiB", path);
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
  aw_writer *w = NULL;
  int st = aw_open(path, AW_ZIP, 0, &w);
  if (!st && cfg_arc) st = add_mem(w, cfg_arc, cfg, cfg_len, 0);
  if (!st) st = add_mem(w, "MAR-INF/MANIFEST.json", manifest, strlen(manifest), 0);
  if (st) {
    aw_abort(w);
    return aw_fail(c, st);
  }
  return aw_close(w) ? aw_fail(c, MS_EIO) : MS_OK;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(p);
  return 0;
}

static void rm_tree(const char *p) { nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

typedef struct named {
  char *handler, *model_file, *serialized, *config, *requirements; /* names inside the archive */
  const char *handler_text;                                        /* the manifest's handler */
  char *handler_buf;
} named;

/* Check the spec (as manifest + generated yaml) and then the user's config
 * file with the library, in a scratch folder. A refusal of the first is a
 * bad argument (MS_EINVAL), of the second a bad file (MS_ECORRUPT). */
static int validate_first(ctx *c, const mar_spec *spec, const named *nm, const char *config_disk, const char *manifest,
                          const char *yaml, const char *out_path) {
  const char *tmpbase = getenv("TMPDIR");
  char scratch[4096], probe[4200];
  snprintf(scratch, sizeof scratch, "%s/mserve-archive-XXXXXX", tmpbase && *tmpbase ? tmpbase : P_tmpdir);
  if (!mkdtemp(scratch)) return fail(c, MS_EIO, "cannot create a scratch folder: %s", strerror(errno));
  snprintf(probe, sizeof probe, "%s/%s.mar", scratch, base_name(out_path));
  int rc;
  if (config_disk) {
    /* The arguments alone: the manifest without the user's config. */
    char *bare = manifest_json(spec, nm->handler_text, nm->model_file, nm->serialized, NULL, nm->requirements);
    if (!bare) rc = fail(c, MS_ENOMEM, "out of memory");
    else rc = write_probe(c, probe, bare, NULL, NULL, 0);
    cJSON_free(bare);
    if (rc == MS_OK) rc = library_reads(c, probe, out_path, MS_EINVAL, "the archive would be refused by its readers");
    char *cfg = NULL;
    size_t cfg_len = 0;
    if (rc == MS_OK) rc = slurp(c, config_disk, &cfg, &cfg_len);
    if (rc == MS_OK) rc = write_probe(c, probe, manifest, nm->config, cfg, cfg_len);
    free(cfg);
    if (rc == MS_OK) {
      char what[1200];
      snprintf(what, sizeof what, "--config-file '%.1000s' would be refused by the archive's readers",
               spec->config_file);
      rc = library_reads(c, probe, out_path, MS_ECORRUPT, what);
    }
  } else {
    rc = write_probe(c, probe, manifest, yaml ? nm->config : NULL, yaml, yaml ? strlen(yaml) : 0);
    if (rc == MS_OK) rc = library_reads(c, probe, out_path, MS_EINVAL, "the archive would be refused by its readers");
  }
  rm_tree(scratch);
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

/* Copy one file into a folder archive at dir/arc (parents made). */
static int copy_into(ctx *c, const char *dir, const char *arc, const char *disk, const char *data, size_t len) {
  char *dst = join(dir, arc);
  if (!dst) return fail(c, MS_ENOMEM, "out of memory");
  for (char *p = dst + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    if (mkdir(dst, 0755) != 0 && errno != EEXIST) {
      int rc = fail(c, MS_EIO, "'%s': %s", dst, strerror(errno));
      free(dst);
      return rc;
    }
    *p = '/';
  }
  int rc = MS_OK;
  int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) rc = fail(c, MS_EIO, "'%s': %s", dst, strerror(errno));
  int in = rc == MS_OK && disk ? open(disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
  if (rc == MS_OK && disk && in < 0) rc = fail(c, MS_EIO, "'%s': %s", disk, strerror(errno));
  static char buf[1 << 16];
  while (rc == MS_OK) {
    ssize_t r;
    const char *p = buf;
    if (disk) {
      r = read(in, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) rc = fail(c, MS_EIO, "'%s': %s", disk, strerror(errno));
      if (r <= 0) break;
    } else {
      if (!len) break;
      p = data;
      r = (ssize_t)len;
      len = 0;
    }
    while (rc == MS_OK && r > 0) {
      ssize_t w = write(out, p, (size_t)r);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) rc = fail(c, MS_EIO, "'%s': %s", dst, strerror(errno));
      else p += w, r -= w;
    }
  }
  if (in >= 0) close(in);
  if (out >= 0 && close(out) != 0 && rc == MS_OK) rc = fail(c, MS_EIO, "'%s': %s", dst, strerror(errno));
  free(dst);
  return rc;
}

/* The folder out_path goes into, created when missing (parents too, as
 * --export-path names a folder to write into); the folders made are kept in
 * made[] (at most 32) so a failure can remove them again. */
typedef struct made_dirs {
  char *v[32];
  size_t n;
} made_dirs;

static int make_parent(ctx *c, const char *out_path, made_dirs *made) {
  char *dir = strdup(out_path);
  if (!dir) return fail(c, MS_ENOMEM, "out of memory");
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) {
    free(dir);
    return MS_OK;
  }
  *slash = '\0';
  int rc = MS_OK;
  for (char *p = dir + 1;; p++) {
    int last = *p == '\0';
    if (*p != '/' && !last) continue;
    *p = '\0';
    struct stat st;
    if (stat(dir, &st) != 0) {
      if (mkdir(dir, 0755) != 0) {
        rc = fail(c, MS_EIO, "'%s': cannot create the folder: %s", dir, strerror(errno));
        break;
      }
      if (made->n < 32) made->v[made->n++] = strdup(dir);
    } else if (!S_ISDIR(st.st_mode)) {
      rc = fail(c, MS_EIO, "'%s': not a folder", dir);
      break;
    }
    if (last) break;
    *p = '/';
  }
  free(dir);
  return rc;
}

static void unmake(made_dirs *made, int remove_them) {
  for (size_t i = made->n; i-- > 0;) {
    if (remove_them && made->v[i]) rmdir(made->v[i]);
    free(made->v[i]);
  }
  made->n = 0;
}

int mar_create(const mar_spec *spec, mar_format format, const char *src_dir, const char *out_path, int force,
               mar_result *res, char *err, size_t errlen) {
  ctx c = {err, errlen, 0, 0, 0};
  if (!valid_name(spec->name))
    return fail(&c, MS_EINVAL, "--model-name '%s' must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$", spec->name ? spec->name : "");
  if (!spec->version || !*spec->version) return fail(&c, MS_EINVAL, "--version must not be empty");
  if (!spec->handler || !*spec->handler) return fail(&c, MS_EINVAL, "--handler must not be empty");
  if ((unsigned)format > MAR_NO_ARCHIVE) return fail(&c, MS_EINVAL, "unknown archive format");
  int extra_cfg = spec->response_timeout_s >= 0 || spec->min_workers >= 0 || spec->max_workers >= 0;
  if (spec->config_file && extra_cfg)
    return fail(&c, MS_EINVAL,
                "--response-timeout/--min-workers/--max-workers go into the --config-file you give; set them there");

  struct stat st;
  if (src_dir && (stat(src_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
    return fail(&c, MS_ENOTFOUND, "'%s': not a folder", src_dir);
  if (lstat(out_path, &st) == 0) {
    if (!force) return fail(&c, MS_EEXIST, "'%s' exists; use --force to replace it", out_path);
    if (S_ISREG(st.st_mode)) c.skip_dev = st.st_dev, c.skip_ino = st.st_ino, c.have_skip = 1;
    if (S_ISDIR(st.st_mode) != (format == MAR_NO_ARCHIVE))
      return fail(&c, MS_EEXIST, "'%s' exists and is %s; --force replaces only %s", out_path,
                  S_ISDIR(st.st_mode) ? "a folder" : "not a folder",
                  format == MAR_NO_ARCHIVE ? "a folder (no-archive)" : "a file");
  }

  file_list l = {0};
  named nm = {0};
  char *manifest = NULL, *yaml = NULL, *tmp = NULL, *hfile = NULL;
  aw_writer *w = NULL;
  made_dirs made = {{0}, 0};
  int fd = -1;
  int rc = src_dir ? walk(&c, &l, src_dir, "", 0, 1, "SRC_DIR") : MS_OK;
  /* the handler: a file when one exists under that name (it goes in, the
   * manifest names it by its place); otherwise a handler name, as given */
  nm.handler_text = spec->handler;
  if (rc == MS_OK && !(hfile = handler_file(spec->handler))) rc = fail(&c, MS_ENOMEM, "out of memory");
  if (rc == MS_OK) {
    char *inside = src_dir ? join(src_dir, hfile) : NULL;
    int is_file = (inside && lstat(inside, &st) == 0 && S_ISREG(st.st_mode)) || (stat(hfile, &st) == 0 && S_ISREG(st.st_mode));
    free(inside);
    if (is_file) {
      rc = resolve(&c, &l, src_dir, hfile, "--handler", &nm.handler);
      if (rc == MS_OK) {
        const char *fn = spec->handler + strlen(hfile); /* ":function" or "" */
        size_t n = strlen(nm.handler) + strlen(fn) + 1;
        if (!(nm.handler_buf = malloc(n))) rc = fail(&c, MS_ENOMEM, "out of memory");
        else snprintf(nm.handler_buf, n, "%s%s", nm.handler, fn), nm.handler_text = nm.handler_buf;
      }
    }
  }
  if (rc == MS_OK) rc = resolve(&c, &l, src_dir, spec->model_file, "--model-file", &nm.model_file);
  if (rc == MS_OK) rc = resolve(&c, &l, src_dir, spec->serialized_file, "--serialized-file", &nm.serialized);
  if (rc == MS_OK) rc = resolve(&c, &l, src_dir, spec->config_file, "--config-file", &nm.config);
  if (rc == MS_OK) rc = resolve(&c, &l, src_dir, spec->requirements_file, "--requirements-file", &nm.requirements);
  if (rc == MS_OK) rc = add_extra(&c, &l, src_dir, spec->extra_files);
  if (rc == MS_OK && extra_cfg) {
    if (find(&l, "model-config.yaml")) {
      rc = fail(&c, MS_EEXIST, "the archive already has a model-config.yaml: pass it with --config-file and put the "
                               "settings there");
    } else if (!(yaml = config_yaml(spec)) || !(nm.config = strdup("model-config.yaml"))) {
      rc = fail(&c, MS_ENOMEM, "out of memory");
    }
  }
  if (rc == MS_OK && !(manifest = manifest_json(spec, nm.handler_text, nm.model_file, nm.serialized, nm.config,
                                                nm.requirements)))
    rc = fail(&c, MS_ENOMEM, "out of memory");
  if (rc == MS_OK) {
    const src_file *cfg = yaml ? NULL : find(&l, nm.config);
    rc = validate_first(&c, spec, &nm, cfg ? cfg->disk : NULL, manifest, yaml, out_path);
  }
  if (rc == MS_OK) rc = make_parent(&c, out_path, &made);
  if (rc != MS_OK) goto done;
  qsort(l.v, l.n, sizeof *l.v, cmp_arc);

  /* Written beside OUT under a temporary name that keeps the extension (the
   * reader tells formats by name, and it reads this back below). */
  static const char *const ext[] = {".mar", ".mar", ".tar.gz", ""};
  size_t tl = strlen(out_path) + 32;
  tmp = malloc(tl);
  if (!tmp) {
    rc = fail(&c, MS_ENOMEM, "out of memory");
    goto done;
  }
  snprintf(tmp, tl, "%s.tmp.XXXXXX%s", out_path, ext[format]);
  time_t now = time(NULL);
  uint64_t bytes_in = strlen(manifest) + (yaml ? strlen(yaml) : 0), bytes_out = 0;
  if (format == MAR_NO_ARCHIVE) {
    if (!mkdtemp(tmp)) {
      rc = fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
      free(tmp);
      tmp = NULL;
      goto done;
    }
    for (size_t i = 0; rc == MS_OK && i < l.n; i++) {
      rc = copy_into(&c, tmp, l.v[i].arc, l.v[i].disk, NULL, 0);
      bytes_in += l.v[i].size;
    }
    if (rc == MS_OK && yaml) rc = copy_into(&c, tmp, "model-config.yaml", NULL, yaml, strlen(yaml));
    if (rc == MS_OK) rc = copy_into(&c, tmp, "MAR-INF/MANIFEST.json", NULL, manifest, strlen(manifest));
    bytes_out = bytes_in;
  } else {
    fd = mkstemps(tmp, (int)strlen(ext[format]));
    if (fd < 0) {
      rc = fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
      free(tmp);
      tmp = NULL;
      goto done;
    }
    aw_format af = format == MAR_TGZ ? AW_TGZ : format == MAR_ZIP_STORE ? AW_ZIP_STORE : AW_ZIP;
    if ((rc = aw_open_fd(fd, out_path, af, 0, &w)) != MS_OK) {
      rc = aw_fail(&c, rc);
      goto done;
    }
    for (size_t i = 0; rc == MS_OK && i < l.n; i++) {
      rc = aw_add_file(w, l.v[i].arc, l.v[i].disk, -1);
      bytes_in += l.v[i].size;
    }
    if (rc == MS_OK && yaml) rc = add_mem(w, "model-config.yaml", yaml, strlen(yaml), now);
    if (rc == MS_OK) rc = add_mem(w, "MAR-INF/MANIFEST.json", manifest, strlen(manifest), now);
    if (rc != MS_OK) {
      rc = aw_fail(&c, rc);
      goto done;
    }
    rc = aw_close(w);
    w = NULL;
    if (rc != MS_OK) {
      rc = aw_fail(&c, rc);
      goto done;
    }
    if (fsync(fd) != 0 || fstat(fd, &st) != 0) {
      rc = fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
      goto done;
    }
    bytes_out = (uint64_t)st.st_size;
  }
  if (rc != MS_OK) goto done;
  /* What was written reads back with the library before it takes OUT's place. */
  if ((rc = library_reads(&c, tmp, out_path, MS_ECORRUPT, "the archive written does not read back")) != MS_OK) goto done;
  if (format == MAR_NO_ARCHIVE) {
    /* a folder: the old one (--force) moves aside first, then goes */
    char old[4300] = "";
    if (lstat(out_path, &st) == 0) {
      snprintf(old, sizeof old, "%s.old.XXXXXX", out_path);
      if (!mkdtemp(old) || rmdir(old) != 0 || rename(out_path, old) != 0) {
        rc = fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
        goto done;
      }
    }
    if (rename(tmp, out_path) != 0) {
      rc = fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
      if (old[0]) rename(old, out_path);
      goto done;
    }
    if (old[0]) rm_tree(old);
  } else if (force ? rename(tmp, out_path) != 0 : link(tmp, out_path) != 0) {
    /* link() refuses an existing name, so a racing writer is never clobbered without --force. */
    rc = errno == EEXIST ? fail(&c, MS_EEXIST, "'%s' exists; use --force to replace it", out_path)
                         : fail(&c, MS_EIO, "'%s': %s", out_path, strerror(errno));
    goto done;
  } else if (!force) {
    unlink(tmp);
  }
  free(tmp);
  tmp = NULL;
  if (res) {
    res->entries = l.n + 1 + (yaml ? 1 : 0);
    res->bytes_in = bytes_in;
    res->bytes_out = bytes_out;
  }
done:
  unmake(&made, rc != MS_OK);
  aw_abort(w);
  if (fd >= 0) close(fd);
  if (tmp) {
    if (format == MAR_NO_ARCHIVE) rm_tree(tmp);
    else unlink(tmp);
    free(tmp);
  }
  free(nm.handler), free(nm.model_file), free(nm.serialized), free(nm.config), free(nm.requirements);
  free(nm.handler_buf), free(hfile), free(yaml);
  cJSON_free(manifest);
  list_free(&l);
  return rc;
}
