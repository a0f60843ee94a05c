/* Model snapshots (settings resolved once, strings owned by the snapshot),
 * runtime overrides, model lists and scan reports. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/text.h"
#include "registry_internal.h"

/* ---- snapshots ----------------------------------------------------------- */

void ms_model_free(ms_model *m) {
  if (!m) return;
  free(m->name);
  free(m->version);
  free(m->runtime);
  free(m->handler);
  free(m->path);
  free(m->hash);
  free(m->device);
  cJSON_Delete(m->extra);
  free(m);
}

int ms__model_build(const ms__model_row *row, const ms__global_config *g, ms_model **out) {
  ms_model *m = calloc(1, sizeof *m);
  if (!m) return ms__fail(MS_ENOMEM, "model '%s': out of memory", row->name);
  m->format = row->format;
  m->is_default = row->is_default;
  m->missing = row->missing;
  if (!(m->name = ms__strdup(row->name)) || !(m->version = ms__strdup(row->version)) ||
      !(m->runtime = ms__strdup(row->runtime ? row->runtime : "")) ||
      !(m->handler = ms__strdup(row->handler ? row->handler : "")) ||
      !(m->path = ms__strdup(row->path ? row->path : "")) || !(m->hash = ms__strdup(row->hash ? row->hash : "")))
    goto oom;
  const ms__settings *entry = ms__global_config_lookup(g, row->name, row->version);
  const ms__settings *levels[4] = {row->api, row->archive, entry, g ? &g->defaults : NULL};
  static const ms_config_source sources[4] = {MS_SRC_API, MS_SRC_ARCHIVE, MS_SRC_GLOBAL, MS_SRC_GLOBAL};
  for (int k = 0; k < MS__K_COUNT; k++) {
    const ms__settings *from = NULL;
    m->src[k] = MS_SRC_DEFAULT;
    for (int l = 0; l < 4 && !from; l++)
      if (levels[l] && (levels[l]->set & (1u << k))) {
        from = levels[l];
        m->src[k] = sources[l];
      }
    if (ms__key_is_str(k)) {
      if (!(m->device = ms__strdup(from && from->device ? from->device : "cpu"))) goto oom;
    } else {
      m->ival[k] = from ? from->ival[k] : ms__key_default_int(k);
    }
  }
  if (row->archive && row->archive->extra && !(m->extra = cJSON_Duplicate(row->archive->extra, 1))) goto oom;
  *out = m;
  return MS_OK;
oom:
  ms_model_free(m);
  return ms__fail(MS_ENOMEM, "model '%s': out of memory", row->name);
}

static const char *nz(const char *s) { return s ? s : ""; }
const char *ms_model_name(const ms_model *m) { return m ? nz(m->name) : ""; }
const char *ms_model_version(const ms_model *m) { return m ? nz(m->version) : ""; }
const char *ms_model_runtime(const ms_model *m) { return m ? nz(m->runtime) : ""; }
const char *ms_model_handler(const ms_model *m) { return m ? nz(m->handler) : ""; }
const char *ms_model_archive_path(const ms_model *m) { return m ? nz(m->path) : ""; }
const char *ms_model_content_hash(const ms_model *m) { return m ? nz(m->hash) : ""; }
int ms_model_is_default(const ms_model *m) { return m ? m->is_default : 0; }
int ms_model_is_missing(const ms_model *m) { return m ? m->missing : 0; }

int ms_model_get_int(const ms_model *m, const char *key, int64_t *value, ms_config_source *source) {
  if (!m || !key || !value) return ms__fail(MS_EINVAL, "model config: NULL argument");
  int k = ms__key_lookup(key);
  if (k < 0) {
    if (m->extra && cJSON_GetObjectItemCaseSensitive(m->extra, key))
      return ms__fail(MS_EINVAL, "model '%s': '%s' is an archive string setting; use ms_model_get_str", m->name, key);
    return ms__fail(MS_ENOTFOUND, "model '%s': no setting '%s' (canonical keys: %s)", m->name, key, ms__key_list());
  }
  if (ms__key_is_str(k)) return ms__fail(MS_EINVAL, "model '%s': '%s' is a string setting", m->name, key);
  *value = m->ival[k];
  if (source) *source = m->src[k];
  return MS_OK;
}

int ms_model_get_str(const ms_model *m, const char *key, const char **value, ms_config_source *source) {
  if (!m || !key || !value) return ms__fail(MS_EINVAL, "model config: NULL argument");
  int k = ms__key_lookup(key);
  if (k >= 0) {
    if (!ms__key_is_str(k)) return ms__fail(MS_EINVAL, "model '%s': '%s' is an integer setting", m->name, key);
    *value = m->device;
    if (source) *source = m->src[k];
    return MS_OK;
  }
  const cJSON *v = m->extra ? cJSON_GetObjectItemCaseSensitive(m->extra, key) : NULL;
  if (!cJSON_IsString(v)) return ms__fail(MS_ENOTFOUND, "model '%s': no setting '%s'", m->name, key);
  *value = v->valuestring;
  if (source) *source = MS_SRC_ARCHIVE;
  return MS_OK;
}

/* ---- lists --------------------------------------------------------------- */

size_t ms_model_list_count(const ms_model_list *l) { return l ? l->n : 0; }

int ms_model_list_get(const ms_model_list *l, size_t i, const ms_model **out) {
  if (!l || !out) return ms__fail(MS_EINVAL, "registry: ms_model_list_get: NULL argument");
  if (i >= l->n)
    return ms__fail(MS_EINVAL, "registry: ms_model_list_get: index %zu is out of range (the list holds %zu)", i, l->n);
  *out = l->items[i];
  return MS_OK;
}

void ms_model_list_free(ms_model_list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) ms_model_free(l->items[i]);
  free(l->items);
  free(l);
}

/* ---- overrides ----------------------------------------------------------- */

int ms_overrides_new(ms_overrides **out) {
  if (!out) return ms__fail(MS_EINVAL, "overrides: NULL argument");
  ms_overrides *ov = calloc(1, sizeof *ov);
  if (!ov) return ms__fail(MS_ENOMEM, "overrides: out of memory");
  *out = ov;
  return MS_OK;
}

void ms_overrides_free(ms_overrides *ov) {
  if (!ov) return;
  ms__settings_free(&ov->set);
  free(ov);
}

static int lookup_key(const char *key, int *k) {
  if (!key) return ms__fail(MS_EINVAL, "overrides: NULL key");
  *k = ms__key_lookup(key);
  if (*k < 0) return ms__fail(MS_EINVAL, "overrides: unknown key '%s' (valid keys: %s)", key, ms__key_list());
  return MS_OK;
}

int ms_overrides_set_int(ms_overrides *ov, const char *key, int64_t value) {
  int k, st;
  if (!ov) return ms__fail(MS_EINVAL, "overrides: NULL argument");
  if ((st = lookup_key(key, &k))) return st;
  if (ms__key_is_str(k)) return ms__fail(MS_EINVAL, "overrides: '%s' is a string key; use ms_overrides_set_str", key);
  if ((st = ms__key_check_int(k, value, "overrides"))) return st;
  ov->set.ival[k] = value;
  ov->set.set |= 1u << k;
  ov->clear &= ~(1u << k);
  return MS_OK;
}

int ms_overrides_set_str(ms_overrides *ov, const char *key, const char *value) {
  int k, st;
  if (!ov) return ms__fail(MS_EINVAL, "overrides: NULL argument");
  if ((st = lookup_key(key, &k))) return st;
  if (!ms__key_is_str(k)) return ms__fail(MS_EINVAL, "overrides: '%s' is an integer key; use ms_overrides_set_int", key);
  if (!value || !value[0]) return ms__fail(MS_EINVAL, "overrides: '%s' needs a non-empty value", key);
  if (!ms__text_utf8_str(value)) {
    char shown[160];
    return ms__fail(MS_EINVAL, "overrides: '%s' = '%s' is not valid UTF-8", key, ms__text_show(value, shown, sizeof shown));
  }
  char *d = ms__strdup(value);
  if (!d) return MS_ENOMEM;
  free(ov->set.device);
  ov->set.device = d;
  ov->set.set |= 1u << k;
  ov->clear &= ~(1u << k);
  return MS_OK;
}

int ms_overrides_clear(ms_overrides *ov, const char *key) {
  int k, st;
  if (!ov) return ms__fail(MS_EINVAL, "overrides: NULL argument");
  if ((st = lookup_key(key, &k))) return st;
  ov->set.set &= ~(1u << k);
  if (ms__key_is_str(k)) {
    free(ov->set.device);
    ov->set.device = NULL;
  }
  ov->clear |= 1u << k;
  return MS_OK;
}

/* ---- scan reports -------------------------------------------------------- */

int ms__report_add(ms_scan_report *rep, const char *path, ms_scan_outcome outcome, int status, const char *message) {
  if (rep->n == rep->cap) {
    size_t cap = rep->cap ? rep->cap * 2 : 16;
    ms__scan_entry *g = realloc(rep->items, cap * sizeof *g);
    if (!g) return ms__fail(MS_ENOMEM, "scan report: out of memory");
    rep->items = g;
    rep->cap = cap;
  }
  ms__scan_entry *e = &rep->items[rep->n];
  e->path = ms__strdup(path);
  e->message = ms__strdup(message ? message : "");
  if (!e->path || !e->message) {
    free(e->path);
    free(e->message);
    return MS_ENOMEM;
  }
  e->outcome = outcome;
  e->status = status;
  rep->n++;
  return MS_OK;
}

size_t ms_scan_report_count(const ms_scan_report *rep) { return rep ? rep->n : 0; }

size_t ms_scan_report_count_outcome(const ms_scan_report *rep, ms_scan_outcome outcome) {
  size_t c = 0;
  for (size_t i = 0; rep && i < rep->n; i++) c += rep->items[i].outcome == outcome;
  return c;
}

int ms_scan_report_get(const ms_scan_report *rep, size_t i, const char **path, ms_scan_outcome *outcome,
                         int *status, const char **message) {
  if (!rep || i >= rep->n) return ms__fail(MS_EINVAL, "scan report: entry %zu out of range", i);
  const ms__scan_entry *e = &rep->items[i];
  if (path) *path = e->path;
  if (outcome) *outcome = e->outcome;
  if (status) *status = e->status;
  if (message) *message = e->message;
  return MS_OK;
}

void ms_scan_report_free(ms_scan_report *rep) {
  if (!rep) return;
  for (size_t i = 0; i < rep->n; i++) {
    free(rep->items[i].path);
    free(rep->items[i].message);
  }
  free(rep->items);
  free(rep);
}

/* ---- files --------------------------------------------------------------- */

int ms__file_read_all(const char *path, size_t cap, const char *what, char **out, size_t *len) {
  /* Non-blocking open, then fstat: a FIFO or device is refused, never waited on. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ms__fail(errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "%s '%s': %s", what, path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return ms__fail(MS_EIO, "%s '%s': %s", what, path, strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return ms__fail(MS_EIO, "%s '%s': %s", what, path,
                    S_ISDIR(sb.st_mode) ? "is a folder, not a file" : "is not a regular file (a FIFO, socket or device)");
  }
  int fl = fcntl(fd, F_GETFL);
  FILE *fp = fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
  if (!fp) {
    int e = errno;
    close(fd);
    return ms__fail(MS_EIO, "%s '%s': %s", what, path, strerror(e));
  }
  size_t size = 0, alloc = 4096;
  char *buf = malloc(alloc + 1);
  int st = buf ? MS_OK : ms__fail(MS_ENOMEM, "%s '%s': out of memory", what, path);
  while (!st) {
    if (size == alloc) {
      if (alloc >= cap) {
        st = ms__fail(MS_ECORRUPT, "%s '%s': larger than %zu bytes", what, path, cap);
        break;
      }
      char *g = realloc(buf, alloc * 2 + 1);
      if (!g) {
        st = ms__fail(MS_ENOMEM, "%s '%s': out of memory", what, path);
        break;
      }
      buf = g;
      alloc *= 2;
    }
    size_t r = fread(buf + size, 1, alloc - size, fp);
    if (r == 0) {
      if (ferror(fp)) st = ms__fail(MS_EIO, "%s '%s': read failed", what, path);
      break;
    }
    size += r;
  }
  fclose(fp);
  if (st) {
    free(buf);
    return st;
  }
  buf[size] = '\0';
  *out = buf;
  *len = size;
  return MS_OK;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(p);
  return 0;
}

void ms__rmtree(const char *path) {
  if (path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
