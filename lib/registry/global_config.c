/* The global config file, JSON or TorchServe properties (see
 * global_config.h). Entries are kept sorted by (name, version), so reading
 * n entries costs O(n log n) and each lookup O(log n); every key that no
 * setting uses is kept, with its value, in the unused list. */
#include "registry/global_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "common/text.h"
#include "common/units.h"
#include "mserve/common.h"
#include "registry/jsonpos.h"
#include "registry/properties.h"

/* Where an entry came from: model_snapshot= replaces models= entry by entry. */
enum { SRC_MODELS = 0, SRC_SNAPSHOT = 1 };

typedef struct gbuild {
  ms__global_config *g;
  int *entry_src; /* parallel to g->entries while building */
  size_t cap_entries, cap_server, cap_unused;
  const char *what; /* "global config '<origin>'" */
} gbuild;

/* ---- lists ----------------------------------------------------------------- */

static int kv_add(gbuild *b, ms__global_kv **arr, size_t *n, size_t *cap, const char *key, const char *value,
                  int64_t line) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 16;
    ms__global_kv *g = realloc(*arr, c * sizeof *g);
    if (!g) return ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
    *arr = g;
    *cap = c;
  }
  ms__global_kv *e = &(*arr)[*n];
  e->key = ms__strdup(key);
  e->value = ms__strdup(value ? value : "");
  e->line = line;
  if (!e->key || !e->value) {
    free(e->key);
    free(e->value);
    return ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
  }
  (*n)++;
  return MS_OK;
}

static int unused_add(gbuild *b, const char *key, const char *value, int64_t line) {
  return kv_add(b, &b->g->unused, &b->g->n_unused, &b->cap_unused, key, value, line);
}

/* A JSON value as text: a string as itself, anything else as JSON. */
static int unused_add_json(gbuild *b, const char *key, const cJSON *v, int64_t line) {
  if (cJSON_IsString(v)) return unused_add(b, key, v->valuestring, line);
  char *txt = cJSON_PrintUnformatted(v);
  if (!txt) return ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
  int st = unused_add(b, key, txt, line);
  free(txt);
  return st;
}

/* path + "." + key (a key shown safely, quoted when asked). */
static void path_join(char *out, size_t cap, const char *path, const char *key, int quote) {
  char shown[160];
  ms__text_show(key, shown, sizeof shown);
  if (quote) snprintf(out, cap, "%s%s\"%s\"", path, path[0] ? "." : "", shown);
  else snprintf(out, cap, "%s%s%s", path, path[0] ? "." : "", shown);
}

/* ---- levels and entries ---------------------------------------------------- */

/* Fill *s from the settings object `o` (at `path` in the file, for the
 * unused list; `what` prefixes messages). Settings keys are applied;
 * "defaultVersion" sets *is_default when is_default is not NULL; every
 * other key goes to the unused list. */
static int read_level(gbuild *b, const cJSON *o, const char *what, const char *path, int64_t line, ms__settings *s,
                      int *is_default) {
  if (!cJSON_IsObject(o)) return ms__fail(MS_ECORRUPT, "%s must be a JSON object", what);
  for (const cJSON *it = o->child; it; it = it->next) {
    int st = ms__registry_settings_set_json(s, it->string, it, what);
    if (st == MS_OK) continue;
    if (st != 1) return st;
    if (is_default && strcmp(it->string, "defaultVersion") == 0) {
      if (!cJSON_IsBool(it)) return ms__fail(MS_ECORRUPT, "%s: 'defaultVersion' must be true or false", what);
      *is_default = cJSON_IsTrue(it);
      continue;
    }
    char p[1200];
    path_join(p, sizeof p, path, it->string, 0);
    if ((st = unused_add_json(b, p, it, line))) return st;
  }
  return MS_OK;
}

/* A model name or version (an object key) kept for lookups and messages. */
static int check_text(const char *s, const char *what, const char *kind) {
  const char *bad = ms__registry_json_text_problem(s);
  if (!bad) return MS_OK;
  char shown[160];
  return ms__fail(MS_ECORRUPT, "%s: %s '%s' %s", what, kind, ms__text_show(s, shown, sizeof shown), bad);
}

static int entry_add(gbuild *b, const char *name, const char *version, int src, ms__global_entry **out) {
  ms__global_config *g = b->g;
  if (g->n_entries == b->cap_entries) {
    size_t cap = b->cap_entries ? b->cap_entries * 2 : 16;
    ms__global_entry *grown = realloc(g->entries, cap * sizeof *grown);
    if (!grown) return ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
    g->entries = grown;
    int *srcs = realloc(b->entry_src, cap * sizeof *srcs);
    if (!srcs) return ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
    b->entry_src = srcs;
    b->cap_entries = cap;
  }
  ms__global_entry *e = &g->entries[g->n_entries];
  memset(e, 0, sizeof *e);
  e->name = ms__strdup(name);
  e->version = ms__strdup(version);
  if (!e->name || !e->version) {
    free(e->name);
    free(e->version);
    return ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
  }
  b->entry_src[g->n_entries] = src;
  g->n_entries++;
  *out = e;
  return MS_OK;
}

/* {"<name>": {"<version>": {...}}} at `path` ("models", or
 * "model_snapshot.models"); `where` prefixes messages. */
static int read_models(gbuild *b, const cJSON *models, const char *where, const char *path, int64_t line, int src) {
  char sm[160], sv[160];
  if (!cJSON_IsObject(models)) return ms__fail(MS_ECORRUPT, "%s: \"%s\" must be a JSON object", where, path);
  for (const cJSON *m = models->child; m; m = m->next) {
    int st = check_text(m->string, where, "model name");
    if (st) return st;
    if (!cJSON_IsObject(m))
      return ms__fail(MS_ECORRUPT, "%s: %s.\"%s\" must be an object of versions", where, path,
                      ms__text_show(m->string, sm, sizeof sm));
    for (const cJSON *v = m->child; v; v = v->next) {
      if ((st = check_text(v->string, where, "model version"))) return st;
      char w[1400], p[1000];
      snprintf(p, sizeof p, "%s.\"%s\".\"%s\"", path, ms__text_show(m->string, sm, sizeof sm),
               ms__text_show(v->string, sv, sizeof sv));
      snprintf(w, sizeof w, "%s: %s", where, p);
      ms__global_entry *e = NULL;
      if ((st = entry_add(b, m->string, v->string, src, &e))) return st;
      if ((st = read_level(b, v, w, p, line, &e->s, &e->is_default))) return st;
    }
  }
  return MS_OK;
}

static void entry_free(ms__global_entry *e) {
  free(e->name);
  free(e->version);
  ms__registry_settings_free(&e->s);
}

void ms__registry_global_free(ms__global_config *g) {
  if (!g) return;
  ms__registry_settings_free(&g->defaults);
  for (size_t i = 0; i < g->n_entries; i++) entry_free(&g->entries[i]);
  free(g->entries);
  for (size_t i = 0; i < g->n_server; i++) {
    free(g->server[i].key);
    free(g->server[i].value);
  }
  free(g->server);
  for (size_t i = 0; i < g->n_unused; i++) {
    free(g->unused[i].key);
    free(g->unused[i].value);
  }
  free(g->unused);
  free(g);
}

/* An entry and where it came from, for sorting. */
typedef struct ranked {
  ms__global_entry e;
  int src;
  size_t pos;
} ranked;

static int cmp_ranked(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  int c = strcmp(a->e.name, b->e.name);
  if (c) return c;
  if ((c = strcmp(a->e.version, b->e.version))) return c;
  if (a->src != b->src) return a->src < b->src ? -1 : 1;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Sort the entries; a model_snapshot entry replaces the models= entry of
 * the same version (which goes to the unused list); the same version twice
 * from one source, and two default versions of one model, are refused. */
static int finish_entries(gbuild *b) {
  ms__global_config *g = b->g;
  size_t n = g->n_entries;
  if (n == 0) return MS_OK;
  ranked *v = malloc(n * sizeof *v);
  if (!v) return ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
  for (size_t i = 0; i < n; i++) v[i] = (ranked){g->entries[i], b->entry_src[i], i};
  qsort(v, n, sizeof *v, cmp_ranked);
  int st = MS_OK;
  size_t k = 0;
  char sm[160], sv[160];
  for (size_t i = 0; i < n; i++) {
    int same_next = i + 1 < n && strcmp(v[i].e.name, v[i + 1].e.name) == 0 &&
                    strcmp(v[i].e.version, v[i + 1].e.version) == 0;
    if (!st && same_next && v[i].src == v[i + 1].src)
      st = ms__fail(MS_ECORRUPT, "%s: %s.\"%s\".\"%s\" is given twice", b->what,
                    v[i].src == SRC_SNAPSHOT ? "model_snapshot.models" : "models",
                    ms__text_show(v[i].e.name, sm, sizeof sm), ms__text_show(v[i].e.version, sv, sizeof sv));
    if (!st && same_next) { /* models= replaced by model_snapshot= */
      char p[1000];
      snprintf(p, sizeof p, "models.\"%s\".\"%s\"", ms__text_show(v[i].e.name, sm, sizeof sm),
               ms__text_show(v[i].e.version, sv, sizeof sv));
      st = unused_add(b, p, "(replaced by the model_snapshot entry of the same version)", 0);
      entry_free(&v[i].e);
      continue;
    }
    if (st) {
      entry_free(&v[i].e);
      continue;
    }
    g->entries[k++] = v[i].e;
  }
  g->n_entries = k;
  free(v);
  if (st) return st;
  for (size_t i = 0; i + 1 < k; i++) {
    if (strcmp(g->entries[i].name, g->entries[i + 1].name) != 0 || !g->entries[i].is_default) continue;
    for (size_t j = i + 1; j < k && strcmp(g->entries[j].name, g->entries[i].name) == 0; j++)
      if (g->entries[j].is_default)
        return ms__fail(MS_ECORRUPT, "%s: model '%s' has two default versions ('%s' and '%s' are both "
                                     "\"defaultVersion\": true)",
                        b->what, ms__text_show(g->entries[i].name, sm, sizeof sm),
                        ms__text_show(g->entries[i].version, sv, sizeof sv), g->entries[j].version);
  }
  return MS_OK;
}

/* ---- JSON ------------------------------------------------------------------ */

static int parse_json(gbuild *b, const char *buf, size_t len) {
  int st = MS_OK;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 byte order mark */
    buf += 3;
    len -= 3;
  }
  cJSON *root = ms__registry_json_parse(buf, len, b->what, &st);
  if (!root) return st;
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return ms__fail(MS_ECORRUPT, "%s: the top level must be a JSON object", b->what);
  }
  for (const cJSON *top = root->child; top && !st; top = top->next) {
    char *txt = cJSON_IsString(top) ? NULL : cJSON_PrintUnformatted(top);
    if (!cJSON_IsString(top) && !txt) {
      st = ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
      break;
    }
    st = kv_add(b, &b->g->server, &b->g->n_server, &b->cap_server, top->string,
                cJSON_IsString(top) ? top->valuestring : txt, 0);
    free(txt);
    if (st) break;
    if (strcmp(top->string, "defaults") == 0) {
      char w[700];
      snprintf(w, sizeof w, "%s: \"defaults\"", b->what);
      st = read_level(b, top, w, "defaults", 0, &b->g->defaults, NULL);
    } else if (strcmp(top->string, "models") == 0) {
      st = read_models(b, top, b->what, "models", 0, SRC_MODELS);
    } else {
      char p[200];
      path_join(p, sizeof p, "", top->string, 0);
      st = unused_add_json(b, p, top, 0);
    }
  }
  cJSON_Delete(root);
  return st;
}

/* ---- properties ------------------------------------------------------------ */

/* A whole-value decimal integer (sign allowed, surrounding blanks ignored):
 * 0, or -1 not an integer, -2 out of int64's range. */
static int prop_int(const char *s, int64_t *v) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
  const char *d = s + (s[0] == '-' || s[0] == '+');
  size_t nd = n - (size_t)(d - s);
  if (nd == 0 || strspn(d, "0123456789") < nd) return -1;
  if (nd > 40) return -2;
  char tmp[48];
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  errno = 0;
  char *end = NULL;
  long long x = strtoll(tmp, &end, 10);
  if (errno == ERANGE) return -2;
  if (!end || *end) return -1;
  *v = (int64_t)x;
  return 0;
}

/* A server-wide default from the property p: key k in units of `factor`. */
static int prop_default(gbuild *b, const ms__prop *p, int k, int64_t factor, const char *unit, int zero_unset) {
  char what[700], shown[160];
  snprintf(what, sizeof what, "%s: line %lld", b->what, (long long)p->line);
  int64_t v = 0;
  int r = prop_int(p->value, &v);
  if (r == -2)
    return ms__fail(MS_ECORRUPT, "%s: '%s' = %s is out of range", what, p->key,
                    ms__text_show(p->value, shown, sizeof shown));
  if (r)
    return ms__fail(MS_ECORRUPT, "%s: '%s' must be an integer, got '%s'", what, p->key,
                    ms__text_show(p->value, shown, sizeof shown));
  if (zero_unset && v == 0) return MS_OK; /* TorchServe: one worker per GPU or CPU; not ours to guess */
  int st = ms__registry_settings_set_scaled(&b->g->defaults, k, factor, unit, p->key, v, what);
  if (!st && k == MS__K_MIN_WORKERS) /* default_workers_per_model: minWorkers = maxWorkers = N */
    st = ms__registry_settings_set_scaled(&b->g->defaults, MS__K_MAX_WORKERS, factor, unit, p->key, v, what);
  return st;
}

/* models= or model_snapshot=: JSON in a property value. */
static int prop_json(gbuild *b, const ms__prop *p) {
  char what[700];
  snprintf(what, sizeof what, "%s: line %lld: %s", b->what, (long long)p->line, p->key);
  int st = MS_OK;
  cJSON *root = ms__registry_json_parse(p->value, strlen(p->value), what, &st);
  if (!root) return st;
  if (strcmp(p->key, "models") == 0) {
    char where[700];
    snprintf(where, sizeof where, "%s: line %lld", b->what, (long long)p->line);
    st = read_models(b, root, where, "models", p->line, SRC_MODELS);
  } else if (!cJSON_IsObject(root)) {
    st = ms__fail(MS_ECORRUPT, "%s: must be a JSON object", what);
  } else {
    char where[700];
    snprintf(where, sizeof where, "%s: line %lld", b->what, (long long)p->line);
    for (const cJSON *it = root->child; it && !st; it = it->next) {
      if (strcmp(it->string, "models") == 0) {
        st = read_models(b, it, where, "model_snapshot.models", p->line, SRC_SNAPSHOT);
      } else {
        char path[200];
        path_join(path, sizeof path, "model_snapshot", it->string, 0);
        st = unused_add_json(b, path, it, p->line);
      }
    }
  }
  cJSON_Delete(root);
  return st;
}

typedef struct keyed {
  const ms__prop *p;
  size_t pos;
} keyed;

static int cmp_keyed(const void *pa, const void *pb) {
  const keyed *a = pa, *b = pb;
  int c = strcmp(a->p->key, b->p->key);
  return c ? c : a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int parse_properties(gbuild *b, const char *buf, size_t len, const char *origin) {
  ms__props props;
  int st = ms__registry_props_parse(buf, len, origin, &props);
  if (st) return st;
  size_t n = props.n;
  keyed *v = n ? malloc(n * sizeof *v) : NULL;
  int64_t *winner = n ? calloc(n, sizeof *winner) : NULL; /* line of the occurrence that counts; 0: this one */
  if (n && (!v || !winner)) {
    st = ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
    goto done;
  }
  /* Java keeps a key's last value: find each key's last occurrence (sorted, n log n). */
  for (size_t i = 0; i < n; i++) v[i] = (keyed){&props.items[i], i};
  if (n) qsort(v, n, sizeof *v, cmp_keyed);
  for (size_t i = 0, run = 0; i < n; i++) {
    if (i + 1 < n && strcmp(v[i].p->key, v[i + 1].p->key) == 0) continue;
    for (size_t j = run; j < i; j++) winner[v[j].pos] = v[i].p->line;
    run = i + 1;
  }
  for (size_t i = 0; i < n && !st; i++) {
    const ms__prop *p = &props.items[i];
    if (winner[i]) {
      char note[64];
      snprintf(note, sizeof note, " (overridden by line %lld)", (long long)winner[i]);
      size_t vl = strlen(p->value);
      char *val = malloc(vl + sizeof note);
      if (!val) {
        st = ms__fail(MS_ENOMEM, "%s: out of memory", b->what);
        break;
      }
      memcpy(val, p->value, vl);
      memcpy(val + vl, note, strlen(note) + 1);
      st = unused_add(b, p->key, val, p->line);
      free(val);
      continue;
    }
    if ((st = kv_add(b, &b->g->server, &b->g->n_server, &b->cap_server, p->key, p->value, p->line))) break;
    if (strcmp(p->key, "models") == 0 || strcmp(p->key, "model_snapshot") == 0)
      st = prop_json(b, p);
    else if (strcmp(p->key, "default_workers_per_model") == 0)
      st = prop_default(b, p, MS__K_MIN_WORKERS, 1, NULL, 1);
    else if (strcmp(p->key, "job_queue_size") == 0)
      st = prop_default(b, p, MS__K_MAX_QUEUE_SIZE, 1, NULL, 0);
    else if (strcmp(p->key, "default_response_timeout") == 0)
      st = prop_default(b, p, MS__K_REQUEST_TIMEOUT_US, MS__US_PER_S, "s", 0);
    else if (strcmp(p->key, "model_store") != 0 && strcmp(p->key, "load_models") != 0)
      st = unused_add(b, p->key, p->value, p->line);
  }
done:
  free(v);
  free(winner);
  ms__registry_props_free(&props);
  return st;
}

/* ---- the file ---------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* JSON or properties, from the name, else from the first character. */
static int detect_format(const char *buf, size_t len, const char *origin) {
  if (ends_with(origin, ".properties") || ends_with(origin, ".cfg")) return MS__GLOBAL_PROPERTIES;
  if (ends_with(origin, ".json")) return MS__GLOBAL_JSON;
  size_t i = 0;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) i = 3;
  while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
  return i < len && buf[i] == '{' ? MS__GLOBAL_JSON : MS__GLOBAL_PROPERTIES;
}

int ms__registry_global_parse(const char *buf, size_t len, const char *origin, ms__global_config **out) {
  if ((!buf && len) || !origin || !out) return ms__fail(MS_EINVAL, "global config: NULL argument");
  char what[600], shown[400];
  snprintf(what, sizeof what, "global config '%s'", ms__text_show(origin, shown, sizeof shown));
  gbuild b;
  memset(&b, 0, sizeof b);
  b.what = what;
  if (!(b.g = calloc(1, sizeof *b.g))) return ms__fail(MS_ENOMEM, "%s: out of memory", what);
  b.g->format = detect_format(buf ? buf : "", len, origin);
  int st = b.g->format == MS__GLOBAL_JSON ? parse_json(&b, buf, len) : parse_properties(&b, buf, len, origin);
  if (!st) st = finish_entries(&b);
  free(b.entry_src);
  if (st) {
    ms__registry_global_free(b.g);
    return st;
  }
  *out = b.g;
  return MS_OK;
}

typedef struct lookup_key {
  const char *name, *version;
} lookup_key;

static int cmp_lookup(const void *pk, const void *pe) {
  const lookup_key *k = pk;
  const ms__global_entry *e = pe;
  int c = strcmp(k->name, e->name);
  return c ? c : strcmp(k->version, e->version);
}

static const ms__global_entry *find_entry(const ms__global_config *g, const char *name, const char *version) {
  if (!g || !name || !version || !g->n_entries) return NULL;
  lookup_key key = {name, version};
  return bsearch(&key, g->entries, g->n_entries, sizeof *g->entries, cmp_lookup);
}

const ms__settings *ms__registry_global_lookup(const ms__global_config *g, const char *name, const char *version) {
  const ms__global_entry *e = find_entry(g, name, version);
  return e ? &e->s : NULL;
}

int ms__registry_global_is_default(const ms__global_config *g, const char *name, const char *version) {
  const ms__global_entry *e = find_entry(g, name, version);
  return e ? e->is_default : 0;
}

const char *ms__registry_global_get(const ms__global_config *g, const char *key) {
  if (!g || !key) return NULL;
  for (size_t i = g->n_server; i > 0; i--)
    if (strcmp(g->server[i - 1].key, key) == 0) return g->server[i - 1].value;
  return NULL;
}

int ms__registry_global_load(const char *path, ms__global_config **out) {
  *out = NULL;
  if (!path) return MS_OK;
  char *buf = NULL;
  size_t len = 0;
  /* A missing file is MS_ENOTFOUND, an unreadable one MS_EIO. */
  int st = ms__fs_read_all(path, MS__GLOBAL_CONFIG_MAX, "global config", &buf, &len);
  if (st) return st;
  st = ms__registry_global_parse(buf, len, path, out);
  free(buf);
  return st;
}
