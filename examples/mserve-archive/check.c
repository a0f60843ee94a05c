/* mserve-archive validate: the files the manifest names are in the archive,
 * as TorchServe needs them when it loads the model (see mar_write.h). The
 * archive is listed through libarchive (a zip or a tar.gz) or the file
 * system (a folder), and its MAR-INF/MANIFEST.json read the same way. */
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <mserve.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mar_write.h"

#define MANIFEST "MAR-INF/MANIFEST.json"
#define MANIFEST_MAX (16u << 20)

typedef struct names {
  char **v;
  size_t n, cap;
} names;

static void names_free(names *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
}

/* An entry's name as TorchServe sees it: without "./" in front. */
static const char *clean(const char *p) {
  while (p[0] == '.' && p[1] == '/') p += 2;
  return p;
}

static int names_add(names *s, const char *p) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **g = realloc(s->v, cap * sizeof *g);
    if (!g) return -1;
    s->v = g;
    s->cap = cap;
  }
  if (!(s->v[s->n] = strdup(clean(p)))) return -1;
  s->n++;
  return 0;
}

static int names_has(const names *s, const char *p) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i], p) == 0) return 1;
  return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(char *err, size_t errlen, int st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return st;
}

/* Every regular file's name and the manifest's text (NULL when absent). */
static int list_archive(const char *path, names *out, char **manifest, char *err, size_t errlen) {
  struct archive *a = archive_read_new();
  if (!a) return fail(err, errlen, MS_ENOMEM, "out of memory");
  archive_read_support_format_zip(a);
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  int st = MS_OK;
  if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
    st = fail(err, errlen, MS_ECORRUPT, "archive '%s': %s", path, archive_error_string(a));
  } else {
    struct archive_entry *e;
    int r;
    while (st == MS_OK && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
      const char *name = archive_entry_pathname(e);
      if (!name || archive_entry_filetype(e) != AE_IFREG) continue;
      if (names_add(out, name)) st = fail(err, errlen, MS_ENOMEM, "out of memory");
      if (st == MS_OK && strcmp(clean(name), MANIFEST) == 0 && !*manifest) {
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || size > (la_int64_t)MANIFEST_MAX) continue; /* the reader refuses it already */
        char *buf = malloc((size_t)size + 1);
        if (!buf) {
          st = fail(err, errlen, MS_ENOMEM, "out of memory");
          break;
        }
        la_ssize_t got = archive_read_data(a, buf, (size_t)size);
        if (got != (la_ssize_t)size) {
          free(buf);
          st = fail(err, errlen, MS_ECORRUPT, "archive '%s': %s cannot be read", path, MANIFEST);
          break;
        }
        buf[size] = '\0';
        *manifest = buf;
      }
    }
    if (st == MS_OK && r != ARCHIVE_EOF)
      st = fail(err, errlen, MS_ECORRUPT, "archive '%s': %s", path, archive_error_string(a));
  }
  archive_read_free(a);
  return st;
}

static int read_small(const char *path, char **out) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  char *buf = malloc(MANIFEST_MAX + 1);
  size_t n = buf ? fread(buf, 1, MANIFEST_MAX, f) : 0;
  int bad = !buf || ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return -1;
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}

int mar_check_files(const char *path, size_t *missing, char *err, size_t errlen) {
  struct stat sb;
  if (stat(path, &sb) != 0) return fail(err, errlen, MS_ENOTFOUND, "archive '%s': no such file or folder", path);
  int folder = S_ISDIR(sb.st_mode);
  names have = {0};
  char *manifest = NULL;
  int st = MS_OK;
  if (folder) {
    char mp[8192];
    snprintf(mp, sizeof mp, "%s/%s", path, MANIFEST);
    if (stat(mp, &sb) == 0 && S_ISREG(sb.st_mode) && read_small(mp, &manifest) != 0)
      st = fail(err, errlen, MS_EIO, "archive '%s': %s cannot be read", path, MANIFEST);
  } else {
    st = list_archive(path, &have, &manifest, err, errlen);
  }
  size_t n_missing = 0;
  cJSON *root = st == MS_OK && manifest ? cJSON_Parse(manifest) : NULL;
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  static const char *const keys[] = {"serializedFile", "modelFile", "handler", "configFile", "requirementsFile"};
  for (size_t k = 0; st == MS_OK && cJSON_IsObject(model) && k < sizeof keys / sizeof keys[0]; k++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, keys[k]);
    if (!cJSON_IsString(v) || !v->valuestring[0]) continue;
    char file[4096];
    snprintf(file, sizeof file, "%s", clean(v->valuestring));
    if (k == 2) { /* the handler: a file only when it names a .py ("h.py" or "h.py:fn") */
      char *colon = strrchr(file, ':');
      if (colon && !strchr(colon, '/')) *colon = '\0';
      size_t len = strlen(file);
      if (len < 3 || strcmp(file + len - 3, ".py") != 0) continue;
    }
    int present;
    if (folder) {
      char fp[8192];
      snprintf(fp, sizeof fp, "%s/%s", path, file);
      present = stat(fp, &sb) == 0 && S_ISREG(sb.st_mode);
    } else {
      present = names_has(&have, file);
    }
    if (present) continue;
    if (n_missing++ == 0)
      fail(err, errlen, MS_ECORRUPT,
           "archive '%s': the manifest names %s '%s', which the archive does not hold (TorchServe would fail to "
           "load the model)",
           path, keys[k], file);
  }
  if (st == MS_OK && n_missing > 1) {
    size_t len = strlen(err);
    if (len < errlen) snprintf(err + len, errlen - len, "; %zu files named by the manifest are missing", n_missing);
  }
  if (st == MS_OK && n_missing) st = MS_ECORRUPT;
  if (missing) *missing = n_missing;
  cJSON_Delete(root);
  free(manifest);
  names_free(&have);
  return st;
}
