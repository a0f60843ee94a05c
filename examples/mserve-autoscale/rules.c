/* mserve-autoscale: loading and validating the rules file.
 * Every error names the file, the JSON path of the offending value and the
 * cause, because a rules file is written by hand and a bare "invalid rule"
 * leaves its author guessing. Unknown keys are errors for the same reason:
 * a misspelt "treshold" must not silently fall back to a default. */
#include "rules.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
  const char *file;
  char *err;
  size_t errlen;
} ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(const ctx *c, const char *jpath, const char *fmt, ...) {
  int n = snprintf(c->err, c->errlen, "%s: %s: ", c->file, jpath);
  if (n < 0 || (size_t)n >= c->errlen) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

const char *as_cmp_text(as_cmp c) {
  static const char *const t[] = {"<", "<=", ">", ">="};
  return (unsigned)c < 4 ? t[c] : "?";
}

const char *as_agg_text(as_agg a) {
  static const char *const t[] = {"mean", "max", "min"};
  return (unsigned)a < 3 ? t[a] : "?";
}

char *as_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  errno = 0;
  while (buf) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (n < cap - 1) break;
    char *nb = realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
      errno = ENOMEM;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  /* a read error is an error, never the end of the file; keep its cause
   * (EISDIR, EIO, ...) for the message */
  int bad = ferror(f), cause = errno ? errno : EIO;
  fclose(f);
  if (!buf) {
    errno = ENOMEM;
    return NULL;
  }
  if (bad) {
    free(buf);
    errno = cause;
    return NULL;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

static const char *type_name(const cJSON *v) {
  if (cJSON_IsNumber(v)) return "a number";
  if (cJSON_IsString(v)) return "a string";
  if (cJSON_IsBool(v)) return "a boolean";
  if (cJSON_IsNull(v)) return "null";
  if (cJSON_IsArray(v)) return "an array";
  if (cJSON_IsObject(v)) return "an object";
  return "an invalid value";
}

/* Every key of `obj` must be in `allowed` (NULL-terminated). */
static int check_keys(const ctx *c, const char *jpath, const cJSON *obj, const char *const *allowed) {
  for (const cJSON *it = obj->child; it; it = it->next) {
    int ok = 0;
    for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, it->string) == 0;
    if (!ok) {
      char list[256] = "";
      for (const char *const *a = allowed; *a; a++) {
        strncat(list, *a, sizeof list - strlen(list) - 1);
        if (a[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
      }
      return fail(c, jpath, "unknown key \"%s\" (expected: %s)", it->string, list);
    }
  }
  return 0;
}

/* jpath + "." + key; a path too long for the buffer is cut, which only
 * shortens a message. */
static void sub(char *dst, size_t cap, const char *base, const char *key) {
  if (snprintf(dst, cap, "%s.%s", base, key) >= (int)cap) dst[cap - 1] = '\0';
}

static int get_string(const ctx *c, const char *jpath, const cJSON *obj, const char *key, const char *dflt,
                      char **out) {
  char p[256];
  sub(p, sizeof p, jpath, key);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  const char *s = dflt;
  if (v) {
    if (!cJSON_IsString(v)) return fail(c, p, "expected a string, got %s", type_name(v));
    s = v->valuestring;
  } else if (!dflt) {
    return fail(c, jpath, "missing required key \"%s\"", key);
  }
  if (!*s) return fail(c, p, "must not be empty");
  if (strchr(s, ',') || strchr(s, '\n'))
    return fail(c, p, "\"%s\" contains a comma or newline, which the observations CSV cannot name", s);
  *out = strdup(s);
  if (!*out) return fail(c, p, "out of memory");
  return 0;
}

/* A finite number; `required` = 0 leaves *out alone when the key is absent. */
static int get_number(const ctx *c, const char *jpath, const cJSON *obj, const char *key, int required,
                      double *out) {
  char p[256];
  sub(p, sizeof p, jpath, key);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return required ? fail(c, jpath, "missing required key \"%s\"", key) : 0;
  if (!cJSON_IsNumber(v)) return fail(c, p, "expected a number, got %s", type_name(v));
  if (!isfinite(v->valuedouble)) return fail(c, p, "must be finite");
  *out = v->valuedouble;
  return 0;
}

/* An integer in [lo, hi]; null means "no bound" for keys that allow it
 * (null_value != 0), reported as -1. */
static int get_int(const ctx *c, const char *jpath, const cJSON *obj, const char *key, int required,
                   int64_t lo, int64_t hi, int allow_null, int64_t *out) {
  char p[256];
  sub(p, sizeof p, jpath, key);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return required ? fail(c, jpath, "missing required key \"%s\"", key) : 0;
  if (allow_null && cJSON_IsNull(v)) {
    *out = -1;
    return 0;
  }
  if (!cJSON_IsNumber(v)) return fail(c, p, "expected an integer, got %s", type_name(v));
  double d = v->valuedouble;
  if (d != floor(d) || !isfinite(d)) return fail(c, p, "expected an integer, got %g", d);
  if (d < (double)lo || d > (double)hi)
    return fail(c, p, "%g is out of range [%lld, %lld]", d, (long long)lo, (long long)hi);
  *out = (int64_t)d;
  return 0;
}

static int load_rule(const ctx *c, const char *jpath, const cJSON *o, as_rule *r) {
  static const char *const keys[] = {"source", "metric", "cmp", "threshold", "step", "cooldown_s", "min",
                                     "max", "aggregation", "enabled", NULL};
  if (!cJSON_IsObject(o)) return fail(c, jpath, "expected an object, got %s", type_name(o));
  if (check_keys(c, jpath, o, keys)) return -1;
  r->min = r->max = -1;
  r->agg = AS_MEAN;
  r->enabled = 1;
  r->last_applied_t = -HUGE_VAL;
  if (get_string(c, jpath, o, "source", "kernel", &r->source)) return -1;
  if (get_string(c, jpath, o, "metric", NULL, &r->metric)) return -1;

  char p[256];
  char *cmp = NULL;
  if (get_string(c, jpath, o, "cmp", NULL, &cmp)) return -1;
  static const char *const cmps[] = {"<", "<=", ">", ">="};
  int found = -1;
  for (int i = 0; i < 4; i++)
    if (strcmp(cmp, cmps[i]) == 0) found = i;
  if (found < 0) {
    sub(p, sizeof p, jpath, "cmp");
    fail(c, p, "\"%s\" is not a comparator (expected \">\", \">=\", \"<\" or \"<=\")", cmp);
    free(cmp);
    return -1;
  }
  free(cmp);
  r->cmp = (as_cmp)found;

  if (get_number(c, jpath, o, "threshold", 1, &r->threshold)) return -1;
  if (get_int(c, jpath, o, "step", 1, -1000000, 1000000, 0, &r->step)) return -1;
  if (r->step == 0) {
    sub(p, sizeof p, jpath, "step");
    return fail(c, p, "must not be 0 (positive scales up, negative scales down)");
  }
  if (get_number(c, jpath, o, "cooldown_s", 0, &r->cooldown_s)) return -1;
  if (r->cooldown_s < 0 || r->cooldown_s > 1e9) {
    sub(p, sizeof p, jpath, "cooldown_s");
    return fail(c, p, "%g is out of range [0, 1e9]", r->cooldown_s);
  }
  if (get_int(c, jpath, o, "min", 0, -1, 1000000, 1, &r->min)) return -1;
  if (get_int(c, jpath, o, "max", 0, -1, 1000000, 1, &r->max)) return -1;
  if (r->min >= 0 && r->max >= 0 && r->min > r->max) return fail(c, jpath, "min %lld > max %lld",
                                                                 (long long)r->min, (long long)r->max);
  const cJSON *agg = cJSON_GetObjectItemCaseSensitive(o, "aggregation");
  if (agg) {
    sub(p, sizeof p, jpath, "aggregation");
    if (!cJSON_IsString(agg)) return fail(c, p, "expected a string, got %s", type_name(agg));
    if (strcmp(agg->valuestring, "mean") == 0) r->agg = AS_MEAN;
    else if (strcmp(agg->valuestring, "max") == 0) r->agg = AS_MAX;
    else if (strcmp(agg->valuestring, "min") == 0) r->agg = AS_MIN;
    else return fail(c, p, "\"%s\" is not an aggregation (expected \"mean\", \"max\" or \"min\")", agg->valuestring);
  }
  const cJSON *en = cJSON_GetObjectItemCaseSensitive(o, "enabled");
  if (en) {
    sub(p, sizeof p, jpath, "enabled");
    if (!cJSON_IsBool(en)) return fail(c, p, "expected true or false, got %s", type_name(en));
    r->enabled = cJSON_IsTrue(en);
  }
  return 0;
}

static int load_endpoint(const ctx *c, const char *jpath, const cJSON *o, as_endpoint *e) {
  static const char *const keys[] = {"name", "replicas", "rules", NULL};
  if (!cJSON_IsObject(o)) return fail(c, jpath, "expected an object, got %s", type_name(o));
  if (check_keys(c, jpath, o, keys)) return -1;
  e->replicas = 1;
  if (get_string(c, jpath, o, "name", NULL, &e->name)) return -1;
  if (get_int(c, jpath, o, "replicas", 0, 0, 1000000, 0, &e->replicas)) return -1;
  const cJSON *rules = cJSON_GetObjectItemCaseSensitive(o, "rules");
  char p[256];
  sub(p, sizeof p, jpath, "rules");
  if (!rules) return 0; /* an endpoint without rules keeps its count: still worth plotting */
  if (!cJSON_IsArray(rules)) return fail(c, p, "expected an array, got %s", type_name(rules));
  size_t n = (size_t)cJSON_GetArraySize(rules);
  if (n == 0) return 0;
  e->rules = calloc(n, sizeof *e->rules);
  if (!e->rules) return fail(c, p, "out of memory");
  size_t i = 0;
  for (const cJSON *it = rules->child; it; it = it->next, i++) {
    char rp[256];
    if (snprintf(rp, sizeof rp, "%s[%zu]", p, i) >= (int)sizeof rp) rp[sizeof rp - 1] = '\0';
    e->n_rules = i + 1; /* so as_rules_free releases what this rule allocated */
    if (load_rule(c, rp, it, &e->rules[i])) return -1;
  }
  return 0;
}

void as_rules_free(as_rules *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_eps; i++) {
    as_endpoint *e = &r->eps[i];
    for (size_t j = 0; j < e->n_rules; j++) {
      free(e->rules[j].source);
      free(e->rules[j].metric);
      free(e->rules[j].values);
      free(e->rules[j].has_value);
      free(e->rules[j].outcome);
    }
    free(e->rules);
    free(e->name);
    free(e->replicas_after);
  }
  free(r->eps);
  memset(r, 0, sizeof *r);
}

/* Line and column of a byte offset, for syntax errors. */
static void line_col(const char *text, const char *at, size_t *line, size_t *col) {
  *line = 1;
  *col = 1;
  for (const char *p = text; p < at && *p; p++) {
    if (*p == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

static int load_doc(const ctx *c, const cJSON *doc, as_rules *out) {
  static const char *const keys[] = {"metric_ttl_s", "endpoints", NULL};
  if (!cJSON_IsObject(doc)) return fail(c, "$", "expected an object, got %s", type_name(doc));
  if (check_keys(c, "$", doc, keys)) return -1;
  out->metric_ttl_s = 60;
  if (get_number(c, "$", doc, "metric_ttl_s", 0, &out->metric_ttl_s)) return -1;
  if (out->metric_ttl_s <= 0 || out->metric_ttl_s > 1e9)
    return fail(c, "$.metric_ttl_s", "%g is out of range (0, 1e9]", out->metric_ttl_s);
  const cJSON *eps = cJSON_GetObjectItemCaseSensitive(doc, "endpoints");
  if (!eps) return fail(c, "$", "missing required key \"endpoints\"");
  if (!cJSON_IsArray(eps)) return fail(c, "$.endpoints", "expected an array, got %s", type_name(eps));
  size_t n = (size_t)cJSON_GetArraySize(eps);
  if (n == 0) return fail(c, "$.endpoints", "is empty: nothing to replay");
  out->eps = calloc(n, sizeof *out->eps);
  if (!out->eps) return fail(c, "$.endpoints", "out of memory");
  size_t i = 0;
  for (const cJSON *it = eps->child; it; it = it->next, i++) {
    char p[64];
    snprintf(p, sizeof p, "$.endpoints[%zu]", i);
    out->n_eps = i + 1;
    if (load_endpoint(c, p, it, &out->eps[i])) return -1;
    for (size_t k = 0; k < i; k++)
      if (strcmp(out->eps[k].name, out->eps[i].name) == 0)
        return fail(c, p, "endpoint \"%s\" is already defined at $.endpoints[%zu]", out->eps[i].name, k);
  }
  return 0;
}

int as_rules_load(const char *path, as_rules *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  size_t len = 0;
  char *text = as_read_file(path, &len);
  if (!text) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return -1;
  }
  int rc = as_rules_parse(text, len, path, out, err, errlen);
  free(text);
  return rc;
}

int as_rules_parse(const char *text, size_t len, const char *path, as_rules *out, char *err, size_t errlen) {
  ctx c = {path, err, errlen};
  memset(out, 0, sizeof *out);
  if (strlen(text) != len) {
    /* cJSON would stop at the NUL and ignore the rest */
    snprintf(err, errlen, "%s: contains a NUL byte at byte %zu: not a JSON text file", path, strlen(text) + 1);
    return -1;
  }
  const char *end = NULL, *start = text;
  if ((unsigned char)start[0] == 0xEF && (unsigned char)start[1] == 0xBB && (unsigned char)start[2] == 0xBF)
    start += 3; /* UTF-8 BOM, as some editors write */
  cJSON *doc = cJSON_ParseWithOpts(start, &end, 1);
  if (!doc) {
    const char *at = cJSON_GetErrorPtr();
    size_t line = 0, col = 0;
    if (at) line_col(text, at, &line, &col);
    char near[24] = "";
    if (at) {
      size_t k = 0;
      for (; k < sizeof near - 1 && at[k] && at[k] != '\n'; k++) near[k] = at[k];
      near[k] = '\0';
    }
    snprintf(err, errlen, "%s:%zu:%zu: invalid JSON near \"%s\"", path, line, col, near);
    return -1;
  }
  int rc = load_doc(&c, doc, out);
  cJSON_Delete(doc);
  if (rc) as_rules_free(out);
  return rc;
}
