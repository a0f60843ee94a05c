/* The built-in MLP of a model folder: MAR-INF/MANIFEST.json (handler
 * "mserve:mlp", serializedFile, configFile), the `mlp:` section of the
 * model-config.yaml, and the safetensors weights with every layer checked
 * (present, 2-D, runnable dtype, bias length, shapes that chain). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/text.h"
#include "executor/executor_internal.h"
#include "mserve/common.h"

#define MAX_SMALL_FILE (4u << 20) /* manifest and config: a few KiB in practice */

/* Read a small file whole (NUL-terminated). */
static int read_small(const char *path, const char *what, char **buf, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return ms__fail(e == ENOENT ? MS_ENOTFOUND : MS_EIO, "%s '%s': %s", what, path, strerror(e));
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return ms__fail(MS_EIO, "%s '%s': not a regular file", what, path);
  }
  if ((uint64_t)sb.st_size > MAX_SMALL_FILE) {
    close(fd);
    return ms__fail(MS_ECORRUPT, "%s '%s': %lld bytes, over the limit of %u", what, path, (long long)sb.st_size,
                    MAX_SMALL_FILE);
  }
  size_t n = (size_t)sb.st_size, got = 0;
  char *b = malloc(n + 1);
  if (!b) {
    close(fd);
    return ms__fail(MS_ENOMEM, "%s '%s': out of memory", what, path);
  }
  while (got < n) {
    ssize_t r = read(fd, b + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : EIO;
      free(b);
      close(fd);
      return ms__fail(MS_EIO, "%s '%s': read: %s", what, path, strerror(e));
    }
    got += (size_t)r;
  }
  close(fd);
  b[n] = '\0';
  *buf = b;
  *len = n;
  return MS_OK;
}

/* A path named by the manifest must stay inside the model folder. */
static int check_relative(const char *rel, const char *field, const char *manifest) {
  if (!rel[0]) return ms__fail(MS_ECORRUPT, "manifest '%s': %s is empty", manifest, field);
  if (rel[0] == '/') return ms__fail(MS_EUNSAFE, "manifest '%s': %s '%s' is an absolute path", manifest, field, rel);
  const char *p = rel;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.')
      return ms__fail(MS_EUNSAFE, "manifest '%s': %s '%s' leaves the model folder", manifest, field, rel);
    p += n;
    if (*p == '/') p++;
  }
  return MS_OK;
}

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p) {
    ms__fail(MS_ENOMEM, "executor: out of memory");
    return NULL;
  }
  memcpy(p, dir, a);
  size_t k = a;
  if (k && p[k - 1] != '/') p[k++] = '/';
  memcpy(p + k, name, b + 1);
  return p;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

typedef struct manifest_fields {
  char *handler, *serialized, *config;
} manifest_fields;

static int manifest_string(const cJSON *model, const char *key, const char *path, char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, key);
  if (!v || cJSON_IsNull(v)) return MS_OK;
  if (!cJSON_IsString(v)) return ms__fail(MS_ECORRUPT, "manifest '%s': model.%s is not a string", path, key);
  return (*out = ms__strdup(v->valuestring)) ? MS_OK : MS_ENOMEM;
}

static int read_manifest(const char *dir, manifest_fields *mf, char **manifest_path) {
  char *path = join(dir, "MAR-INF/MANIFEST.json");
  if (!path) return MS_ENOMEM;
  char *buf = NULL;
  size_t len = 0;
  int st = read_small(path, "manifest", &buf, &len);
  cJSON *root = NULL;
  if (!st && !(root = cJSON_ParseWithLength(buf, len)))
    st = ms__fail(MS_ECORRUPT, "manifest '%s': not valid JSON", path);
  const cJSON *model = root ? cJSON_GetObjectItemCaseSensitive(root, "model") : NULL;
  if (!st && !cJSON_IsObject(model)) st = ms__fail(MS_ECORRUPT, "manifest '%s': no \"model\" object", path);
  if (!st) st = manifest_string(model, "handler", path, &mf->handler);
  if (!st) st = manifest_string(model, "serializedFile", path, &mf->serialized);
  if (!st) st = manifest_string(model, "configFile", path, &mf->config);
  cJSON_Delete(root);
  free(buf);
  if (st) {
    free(path);
    return st;
  }
  *manifest_path = path;
  return MS_OK;
}

static int parse_bool(const char *s, int *v) {
  static const char *const T[] = {"true", "True", "TRUE"}, *const F[] = {"false", "False", "FALSE"};
  for (size_t i = 0; i < 3; i++) {
    if (strcmp(s, T[i]) == 0) return *v = 1, 0;
    if (strcmp(s, F[i]) == 0) return *v = 0, 0;
  }
  return -1;
}

int ms__executor_mlp_config(const cJSON *mlp, const char *origin, char ***prefixes, size_t *n, int *act,
                            int *output, int *allow_tf32) {
  if (!cJSON_IsObject(mlp)) return ms__fail(MS_ECORRUPT, "config '%s': mlp is not a mapping", origin);
  const cJSON *layers = NULL;
  int a = MS__ACT_NONE, o = MS__OUTPUT_NONE, tf32 = 0;
  for (const cJSON *it = mlp->child; it; it = it->next) {
    const char *k = it->string;
    if (strcmp(k, "layers") == 0) {
      layers = it;
      continue;
    }
    if (!cJSON_IsString(it)) return ms__fail(MS_ECORRUPT, "config '%s': mlp.%s is not a scalar", origin, k);
    const char *v = it->valuestring;
    if (strcmp(k, "activation") == 0) {
      if (strcmp(v, "none") == 0) a = MS__ACT_NONE;
      else if (strcmp(v, "relu") == 0) a = MS__ACT_RELU;
      else if (strcmp(v, "gelu") == 0) a = MS__ACT_GELU;
      else if (strcmp(v, "tanh") == 0) a = MS__ACT_TANH;
      else
        return ms__fail(MS_ECORRUPT, "config '%s': mlp.activation '%s' is not one of relu, gelu, tanh, none", origin,
                        v);
    } else if (strcmp(k, "output") == 0) {
      if (strcmp(v, "none") == 0) o = MS__OUTPUT_NONE;
      else if (strcmp(v, "softmax") == 0) o = MS__OUTPUT_SOFTMAX;
      else return ms__fail(MS_ECORRUPT, "config '%s': mlp.output '%s' is not one of none, softmax", origin, v);
    } else if (strcmp(k, "allow_tf32") == 0) {
      if (parse_bool(v, &tf32)) return ms__fail(MS_ECORRUPT, "config '%s': mlp.allow_tf32 '%s' is not true or false", origin, v);
    } else {
      return ms__fail(MS_ECORRUPT, "config '%s': unknown key mlp.%s (known: layers, activation, output, allow_tf32)",
                      origin, k);
    }
  }
  if (!layers) return ms__fail(MS_ECORRUPT, "config '%s': mlp has no layers", origin);
  if (!cJSON_IsArray(layers) || !layers->child)
    return ms__fail(MS_ECORRUPT, "config '%s': mlp.layers is not a non-empty sequence", origin);
  size_t count = (size_t)cJSON_GetArraySize(layers);
  if (count > MS__EXECUTOR_MAX_LAYERS)
    return ms__fail(MS_ECORRUPT, "config '%s': mlp.layers has %zu entries, over the limit of %d", origin, count,
                    MS__EXECUTOR_MAX_LAYERS);
  char **p = calloc(count, sizeof *p);
  if (!p) return ms__fail(MS_ENOMEM, "config '%s': out of memory", origin);
  size_t i = 0;
  int st = MS_OK;
  for (const cJSON *it = layers->child; it; it = it->next, i++) {
    if (!cJSON_IsString(it) || !it->valuestring[0]) {
      st = ms__fail(MS_ECORRUPT, "config '%s': mlp.layers[%zu] is not a tensor name prefix", origin, i);
      break;
    }
    if (!(p[i] = ms__strdup(it->valuestring))) {
      st = MS_ENOMEM;
      break;
    }
  }
  if (st) {
    for (size_t k = 0; k < count; k++) free(p[k]);
    free(p);
    return st;
  }
  *prefixes = p;
  *n = count;
  *act = a;
  *output = o;
  *allow_tf32 = tf32;
  return MS_OK;
}

static int read_config(const char *dir, const char *rel, ms__executor_model *m) {
  char *path = join(dir, rel);
  if (!path) return MS_ENOMEM;
  char *buf = NULL;
  size_t len = 0;
  cJSON *root = NULL;
  int st = read_small(path, "config", &buf, &len);
  if (!st) st = ms__executor_yaml_parse(buf, len, path, &root);
  const cJSON *mlp = root ? cJSON_GetObjectItemCaseSensitive(root, "mlp") : NULL;
  if (!st && !mlp) st = ms__fail(MS_ECORRUPT, "config '%s': no mlp: section", path);
  if (!st)
    st = ms__executor_mlp_config(mlp, path, &m->prefixes, &m->n_layers, &m->act, &m->output, &m->allow_tf32);
  cJSON_Delete(root);
  free(buf);
  free(path);
  return st;
}

static int runnable(int dt) { return dt == MS__ST_F32 || dt == MS__ST_F16 || dt == MS__ST_BF16; }

static int describe(const ms__st_tensor *t, char *buf, size_t len) {
  int n = snprintf(buf, len, "%s [", t->name);
  for (size_t i = 0; i < t->ndim && n >= 0 && (size_t)n < len; i++)
    n += snprintf(buf + n, len - (size_t)n, "%s%llu", i ? ", " : "", (unsigned long long)t->shape[i]);
  if (n >= 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, "] %s", ms__executor_st_dtype_name(t->dtype));
  return 0;
}

static int check_tensor(const ms__executor_model *m, const ms__st_tensor *t, size_t want_dims) {
  char d[256];
  describe(t, d, sizeof d);
  if (t->ndim != want_dims)
    return ms__fail(MS_ECORRUPT, "weights '%s': tensor %s: a %s must have %zu dimension%s", m->weights_path, d,
                    want_dims == 2 ? "weight" : "bias", want_dims, want_dims == 1 ? "" : "s");
  for (size_t i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 0)
      return ms__fail(MS_ECORRUPT, "weights '%s': tensor %s: an empty dimension", m->weights_path, d);
    if (t->shape[i] > MS__EXECUTOR_MAX_DIM)
      return ms__fail(MS_EUNSUPPORTED, "weights '%s': tensor %s: a dimension over %d", m->weights_path, d,
                      MS__EXECUTOR_MAX_DIM);
  }
  if (!runnable(t->dtype))
    return ms__fail(MS_EUNSUPPORTED, "weights '%s': tensor %s: dtype %s is not run by the executor (F32, F16, BF16)",
                    m->weights_path, d, ms__executor_st_dtype_name(t->dtype));
  return MS_OK;
}

static int resolve_layers(ms__executor_model *m) {
  m->layers = calloc(m->n_layers, sizeof *m->layers);
  if (!m->layers) return ms__fail(MS_ENOMEM, "executor: out of memory");
  char name[1024];
  for (size_t i = 0; i < m->n_layers; i++) {
    ms__executor_layer *L = &m->layers[i];
    L->prefix = m->prefixes[i];
    if ((size_t)snprintf(name, sizeof name, "%s.weight", L->prefix) >= sizeof name)
      return ms__fail(MS_ECORRUPT, "config: layer name '%.64s...' is too long", L->prefix);
    L->weight = ms__executor_st_find(m->st, name);
    if (!L->weight)
      return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s' (layer %zu, '%s') is missing", m->weights_path, name,
                      i, L->prefix);
    int st = check_tensor(m, L->weight, 2);
    if (st) return st;
    L->out = (int64_t)L->weight->shape[0];
    L->in = (int64_t)L->weight->shape[1];
    snprintf(name, sizeof name, "%s.bias", L->prefix);
    L->bias = ms__executor_st_find(m->st, name);
    if (L->bias) {
      if ((st = check_tensor(m, L->bias, 1))) return st;
      if ((int64_t)L->bias->shape[0] != L->out)
        return ms__fail(MS_ECORRUPT, "weights '%s': tensor '%s' has %llu entries but '%s' has %lld outputs",
                        m->weights_path, L->bias->name, (unsigned long long)L->bias->shape[0], L->weight->name,
                        (long long)L->out);
    }
    if (i > 0 && m->layers[i - 1].out != L->in) {
      const ms__executor_layer *P = &m->layers[i - 1];
      char a[256], b[256];
      describe(P->weight, a, sizeof a);
      describe(L->weight, b, sizeof b);
      return ms__fail(MS_ECORRUPT,
                      "weights '%s': layers do not chain: layer '%s' (%s) gives %lld outputs but layer '%s' (%s) "
                      "takes %lld inputs",
                      m->weights_path, P->prefix, a, (long long)P->out, L->prefix, b, (long long)L->in);
    }
  }
  return MS_OK;
}

void ms__executor_model_free(ms__executor_model *m) {
  if (!m) return;
  ms__executor_st_free(m->st);
  for (size_t i = 0; i < m->n_layers; i++) free(m->prefixes ? m->prefixes[i] : NULL);
  free(m->prefixes);
  free(m->layers);
  free(m->weights_path);
  free(m);
}

int ms__executor_model_load(const char *model_dir, ms__executor_model **out) {
  struct stat sb;
  if (stat(model_dir, &sb) != 0) {
    int e = errno;
    return ms__fail(e == ENOENT ? MS_ENOTFOUND : MS_EIO, "model '%s': %s", model_dir, strerror(e));
  }
  if (!S_ISDIR(sb.st_mode)) return ms__fail(MS_EINVAL, "model '%s': not a folder (materialize the archive first)", model_dir);
  manifest_fields mf = {0};
  char *manifest = NULL;
  int st = read_manifest(model_dir, &mf, &manifest);
  ms__executor_model *m = NULL;
  if (!st) {
    if (!mf.handler || strcmp(mf.handler, "mserve:mlp") != 0)
      st = ms__fail(MS_EUNSUPPORTED,
                    "manifest '%s': handler '%s' is not mserve:mlp (run it in the host, through "
                    "ms_executor_open_handler)",
                    manifest, mf.handler ? mf.handler : "");
    else if (!mf.serialized)
      st = ms__fail(MS_ECORRUPT, "manifest '%s': no model.serializedFile (the weights)", manifest);
    else if (!mf.config)
      st = ms__fail(MS_ECORRUPT, "manifest '%s': no model.configFile (the model-config.yaml with the mlp: section)",
                    manifest);
  }
  if (!st) st = check_relative(mf.serialized, "model.serializedFile", manifest);
  if (!st) st = check_relative(mf.config, "model.configFile", manifest);
  if (!st && !ends_with(mf.serialized, ".safetensors"))
    st = ms__fail(MS_EUNSUPPORTED, "manifest '%s': serializedFile '%s' is not a .safetensors file", manifest,
                  mf.serialized);
  if (!st && !(m = calloc(1, sizeof *m))) st = ms__fail(MS_ENOMEM, "executor: out of memory");
  if (!st) st = read_config(model_dir, mf.config, m);
  if (!st && !(m->weights_path = join(model_dir, mf.serialized))) st = MS_ENOMEM;
  if (!st) st = ms__executor_st_map(m->weights_path, m->weights_path, &m->st);
  if (!st) st = resolve_layers(m);
  free(mf.handler);
  free(mf.serialized);
  free(mf.config);
  free(manifest);
  if (st) {
    ms__executor_model_free(m);
    return st;
  }
  *out = m;
  return MS_OK;
}
