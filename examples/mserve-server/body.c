/* mserve-server: prediction bodies (see body.h). */
#include "body.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void body_rows_free(body_rows *b) {
  free(b->rows);
  free(b->id);
  memset(b, 0, sizeof *b);
}

static int to_float(const cJSON *v, float *out) {
  if (!cJSON_IsNumber(v)) return -1;
  double d = v->valuedouble;
  if (!isfinite(d) || fabs(d) > FLT_MAX) return -1;
  *out = (float)d;
  return 0;
}

/* One row of exactly in_dim numbers into dst. */
static int take_row(const cJSON *row, int64_t r, int64_t in_dim, float *dst, char *err, size_t errlen) {
  if (!cJSON_IsArray(row)) {
    snprintf(err, errlen, "row %lld is not a list of numbers", (long long)r);
    return -1;
  }
  int64_t k = 0;
  for (const cJSON *v = row->child; v; v = v->next, k++) {
    if (k >= in_dim) break;
    if (to_float(v, &dst[k])) {
      snprintf(err, errlen, "row %lld, value %lld: not a number that fits a float", (long long)r, (long long)k);
      return -1;
    }
  }
  int64_t n = cJSON_GetArraySize(row);
  if (n != in_dim) {
    snprintf(err, errlen, "row %lld has %lld values; the model takes %lld", (long long)r, (long long)n,
             (long long)in_dim);
    return -1;
  }
  return 0;
}

int body_parse_ts_cjson(const char *text, size_t len, int64_t in_dim, int64_t max_rows, body_rows *out, char *err,
                        size_t errlen) {
  memset(out, 0, sizeof *out);
  cJSON *root = cJSON_ParseWithLength(text, len);
  if (!root) {
    snprintf(err, errlen, "the body is not valid JSON");
    return -1;
  }
  const cJSON *data = root;
  if (cJSON_IsObject(root)) {
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!data) data = cJSON_GetObjectItemCaseSensitive(root, "instances");
    if (!data) {
      snprintf(err, errlen, "the body has no \"data\" member (expected {\"data\": [[...], ...]} or a list of rows)");
      cJSON_Delete(root);
      return -1;
    }
  }
  if (!cJSON_IsArray(data) || !data->child) {
    snprintf(err, errlen, "\"data\" must be a non-empty list of rows (or one row)");
    cJSON_Delete(root);
    return -1;
  }
  int flat = !cJSON_IsArray(data->child);
  int64_t n = flat ? 1 : cJSON_GetArraySize(data);
  if (n > max_rows) {
    snprintf(err, errlen, "%lld rows: more than the model's batch_size %lld", (long long)n, (long long)max_rows);
    cJSON_Delete(root);
    return -1;
  }
  float *rows = malloc(sizeof(float) * (size_t)(n * in_dim));
  if (!rows) {
    snprintf(err, errlen, "out of memory");
    cJSON_Delete(root);
    return -1;
  }
  int bad = 0;
  if (flat) bad = take_row(data, 0, in_dim, rows, err, errlen);
  else {
    int64_t r = 0;
    for (const cJSON *row = data->child; row && !bad; row = row->next, r++)
      bad = take_row(row, r, in_dim, rows + r * in_dim, err, errlen);
  }
  cJSON_Delete(root);
  if (bad) {
    free(rows);
    return -1;
  }
  out->rows = rows;
  out->n = n;
  out->flat = flat;
  return 0;
}

/* ---- the fast path ----------------------------------------------------------
 * cJSON spends about 0.3 ms on a 784-float row (a node and a strtod per
 * number): more than the model. The common shapes, {"data": [[...], ...]}
 * and bare lists, are scanned here straight into floats; anything else
 * (other members, odd spacing aside, any error) goes to cJSON, which also
 * writes the messages. Every number is the float of the double strtod
 * gives (as through cJSON): exact by one multiplication or division when
 * it has at most 15 significant digits and a power of ten up to 22 (both
 * operands exact, one rounding), else by strtod itself. */

static const char *skip_ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* One JSON number at p into *out; the end, or NULL (not a number, or one
 * that does not fit a float). */
static const char *scan_number(const char *p, const char *e, float *out) {
  static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char *start = p;
  int neg = 0, digits = 0, exact = 1;
  uint64_t m = 0;
  int64_t exp10 = 0;
  if (p < e && *p == '-') {
    neg = 1;
    p++;
  }
  if (p >= e || !is_digit(*p)) return NULL;
  if (*p == '0') p++;
  else
    for (; p < e && is_digit(*p); p++) {
      if (digits < 18) m = m * 10 + (uint64_t)(*p - '0'), digits++;
      else exact = 0;
      if (!exact) exp10++;
    }
  if (p < e && *p == '.') {
    p++;
    if (p >= e || !is_digit(*p)) return NULL;
    for (; p < e && is_digit(*p); p++) {
      if (m == 0 && *p == '0') {
        exp10--;
        continue;
      }
      if (digits < 18) {
        m = m * 10 + (uint64_t)(*p - '0');
        digits++;
        exp10--;
      } else
        exact = 0;
    }
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    int eneg = 0;
    if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p >= e || !is_digit(*p)) return NULL;
    int64_t x = 0;
    for (; p < e && is_digit(*p); p++)
      if (x < 100000) x = x * 10 + (*p - '0');
    exp10 += eneg ? -x : x;
  }
  double d;
  if (m == 0) d = 0.0;
  else if (exact && digits <= 15 && exp10 >= -22 && exp10 <= 22)
    d = exp10 >= 0 ? (double)m * pow10[exp10] : (double)m / pow10[-exp10];
  else {
    char tmp[64];
    size_t n = (size_t)(p - start);
    if (n >= sizeof tmp) return NULL; /* cJSON reads it */
    memcpy(tmp, start, n);
    tmp[n] = '\0';
    d = strtod(tmp, NULL);
    neg = 0;
  }
  if (neg) d = -d;
  if (!isfinite(d) || fabs(d) > FLT_MAX) return NULL;
  *out = (float)d;
  return p;
}

/* A list of exactly in_dim numbers into dst; the end after ']', or NULL. */
static const char *scan_row(const char *p, const char *e, int64_t in_dim, float *dst) {
  if (p >= e || *p != '[') return NULL;
  p = skip_ws(p + 1, e);
  for (int64_t k = 0;; k++) {
    if (k >= in_dim || !(p = scan_number(p, e, &dst[k]))) return NULL;
    p = skip_ws(p, e);
    if (p < e && *p == ']') return k + 1 == in_dim ? p + 1 : NULL;
    if (p >= e || *p != ',') return NULL;
    p = skip_ws(p + 1, e);
  }
}

/* 0 with *out filled, or -1: not the simple shape, let cJSON decide. */
static int fast_ts(const char *text, size_t len, int64_t in_dim, int64_t max_rows, body_rows *out) {
  const char *p = skip_ws(text, text + len), *e = text + len;
  int object = p < e && *p == '{';
  if (object) {
    p = skip_ws(p + 1, e);
    if ((size_t)(e - p) < 6 || memcmp(p, "\"data\"", 6) != 0) return -1;
    p = skip_ws(p + 6, e);
    if (p >= e || *p != ':') return -1;
    p = skip_ws(p + 1, e);
  }
  if (p >= e || *p != '[') return -1;
  const char *q = skip_ws(p + 1, e);
  int flat = q < e && *q != '[';
  int64_t cap = 1, n = 0;
  float *rows = malloc(sizeof(float) * (size_t)in_dim);
  if (!rows) return -1;
  if (flat) {
    if (!(p = scan_row(p, e, in_dim, rows))) goto no;
    n = 1;
  } else {
    p = q;
    for (;;) {
      if (n == max_rows) goto no;
      if (n == cap) {
        float *nr = realloc(rows, sizeof(float) * (size_t)(cap * 2 * in_dim));
        if (!nr) goto no;
        rows = nr;
        cap *= 2;
      }
      if (!(p = scan_row(p, e, in_dim, rows + n * in_dim))) goto no;
      n++;
      p = skip_ws(p, e);
      if (p < e && *p == ']') break;
      if (p >= e || *p != ',') goto no;
      p = skip_ws(p + 1, e);
    }
    p++;
  }
  p = skip_ws(p, e);
  if (object) {
    if (p >= e || *p != '}') goto no;
    p = skip_ws(p + 1, e);
  }
  if (p != e) goto no;
  out->rows = rows;
  out->n = n;
  out->flat = flat;
  return 0;
no:
  free(rows);
  return -1;
}

int body_parse_ts(const char *text, size_t len, int64_t in_dim, int64_t max_rows, body_rows *out, char *err,
                  size_t errlen) {
  memset(out, 0, sizeof *out);
  if (in_dim >= 1 && max_rows >= 1 && fast_ts(text, len, in_dim, max_rows, out) == 0) return 0;
  return body_parse_ts_cjson(text, len, in_dim, max_rows, out, err, errlen);
}

/* Flatten nested lists of numbers into dst[0..cap); *count gets how many
 * there are (even past cap). depth bounds the nesting. */
static int flatten(const cJSON *v, float *dst, int64_t cap, int64_t *count, int depth, char *err, size_t errlen) {
  if (depth > 32) {
    snprintf(err, errlen, "\"data\" is nested more than 32 deep");
    return -1;
  }
  for (const cJSON *e = v->child; e; e = e->next) {
    if (cJSON_IsArray(e)) {
      if (flatten(e, dst, cap, count, depth + 1, err, errlen)) return -1;
      continue;
    }
    float f;
    if (to_float(e, &f)) {
      snprintf(err, errlen, "\"data\" value %lld: not a number that fits a float (datatype FP32)",
               (long long)*count);
      return -1;
    }
    if (*count < cap) dst[*count] = f;
    (*count)++;
    if (*count > cap) {
      snprintf(err, errlen, "\"data\" holds more values than its shape says");
      return -1;
    }
  }
  return 0;
}

int body_parse_v2(const char *text, size_t len, int64_t in_dim, int64_t max_rows, body_rows *out, char *err,
                  size_t errlen) {
  memset(out, 0, sizeof *out);
  cJSON *root = cJSON_ParseWithLength(text, len);
  float *rows = NULL;
  char *id = NULL;
  if (!root || !cJSON_IsObject(root)) {
    snprintf(err, errlen, root ? "the body must be a JSON object" : "the body is not valid JSON");
    goto fail;
  }
  const cJSON *jid = cJSON_GetObjectItemCaseSensitive(root, "id");
  if (jid && !cJSON_IsString(jid)) {
    snprintf(err, errlen, "\"id\" must be a string");
    goto fail;
  }
  const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
  if (!cJSON_IsArray(inputs) || cJSON_GetArraySize(inputs) != 1) {
    snprintf(err, errlen, "\"inputs\" must be a list of exactly one input tensor");
    goto fail;
  }
  const cJSON *in = inputs->child;
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(in, "shape");
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(in, "datatype");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(in, "data");
  if (!cJSON_IsObject(in) || !cJSON_IsString(name)) {
    snprintf(err, errlen, "the input must be an object with a \"name\"");
    goto fail;
  }
  if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "FP32") != 0) {
    snprintf(err, errlen, "input '%.60s': datatype must be \"FP32\"", name->valuestring);
    goto fail;
  }
  int ns = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : 0;
  if (ns < 1 || ns > 2) {
    snprintf(err, errlen, "input '%.60s': shape must be [N, %lld] or [%lld]", name->valuestring, (long long)in_dim,
             (long long)in_dim);
    goto fail;
  }
  double dims[2] = {1, 0};
  int k = 0;
  for (const cJSON *d = shape->child; d; d = d->next, k++) {
    if (!cJSON_IsNumber(d) || d->valuedouble != floor(d->valuedouble) || d->valuedouble < 1 ||
        d->valuedouble > 1e12) {
      snprintf(err, errlen, "input '%.60s': shape entries must be integers >= 1", name->valuestring);
      goto fail;
    }
    dims[ns == 2 ? k : 1] = d->valuedouble;
  }
  if (dims[1] != (double)in_dim) {
    snprintf(err, errlen, "input '%.60s': shape's last dimension is %.0f; the model takes %lld", name->valuestring,
             dims[1], (long long)in_dim);
    goto fail;
  }
  if (dims[0] > (double)max_rows) {
    snprintf(err, errlen, "input '%.60s': %.0f rows: more than the model's batch_size %lld", name->valuestring,
             dims[0], (long long)max_rows);
    goto fail;
  }
  int64_t n = (int64_t)dims[0], want = n * in_dim, got = 0;
  if (!cJSON_IsArray(data)) {
    snprintf(err, errlen, "input '%.60s': \"data\" must be a list", name->valuestring);
    goto fail;
  }
  rows = malloc(sizeof(float) * (size_t)want);
  if (!rows) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if (flatten(data, rows, want, &got, 0, err, errlen)) goto fail;
  if (got != want) {
    snprintf(err, errlen, "input '%.60s': \"data\" holds %lld values; shape says %lld", name->valuestring,
             (long long)got, (long long)want);
    goto fail;
  }
  if (jid) {
    size_t l = strlen(jid->valuestring);
    if (!(id = malloc(l + 1))) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
    memcpy(id, jid->valuestring, l + 1);
  }
  out->flat = data->child && !cJSON_IsArray(data->child);
  cJSON_Delete(root);
  out->rows = rows;
  out->n = n;
  out->id = id;
  return 0;
fail:
  cJSON_Delete(root);
  free(rows);
  free(id);
  return -1;
}

/* ---- output ---------------------------------------------------------------- */

static int bb_grow(body_buf *b, size_t need) {
  if (b->oom) return -1;
  if (b->len + need + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + need + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void bb_put(body_buf *b, const char *s, size_t n) {
  if (bb_grow(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void bb_puts(body_buf *b, const char *s) { bb_put(b, s, strlen(s)); }

void bb_printf(body_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || bb_grow(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* The length of the UTF-8 sequence at p (0: not valid UTF-8). */
static size_t utf8_len(const unsigned char *p) {
  if (p[0] < 0x80) return 1;
  size_t n = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || (n == 2 && p[0] < 0xC2) || (n == 4 && p[0] > 0xF4)) return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))) return 0;
  if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))) return 0;
  return n;
}

void bb_json_str(body_buf *b, const char *s) {
  bb_put(b, "\"", 1);
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      bb_put(b, e, 2);
      p++;
    } else if (c < 0x20) {
      bb_printf(b, "\\u%04x", c);
      p++;
    } else {
      size_t n = utf8_len(p);
      if (n == 0) {
        bb_puts(b, "\\ufffd");
        p++;
      } else {
        bb_put(b, (const char *)p, n);
        p += n;
      }
    }
  }
  bb_put(b, "\"", 1);
}

static void bb_float(body_buf *b, float f) {
  if (!isfinite(f)) {
    bb_put(b, "null", 4);
    return;
  }
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%.9g", (double)f);
  if (n > 0) bb_put(b, tmp, (size_t)n);
}

void bb_rows(body_buf *b, const float *v, int64_t rows, int64_t dim, int flat) {
  bb_put(b, "[", 1);
  for (int64_t r = 0; r < rows; r++) {
    if (r) bb_put(b, ", ", 2);
    if (!flat) bb_put(b, "[", 1);
    for (int64_t k = 0; k < dim; k++) {
      if (k) bb_put(b, ", ", 2);
      bb_float(b, v[r * dim + k]);
    }
    if (!flat) bb_put(b, "]", 1);
  }
  bb_put(b, "]", 1);
}
