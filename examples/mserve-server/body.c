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

int body_parse_ts(const char *text, size_t len, int64_t in_dim, int64_t max_rows, body_rows *out, char *err,
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
