/* Generators shared by the executor's tests (header-only, static): a
 * safetensors writer (the layout PyTorch's safetensors.torch.save_file
 * produces: tensors in the given order, contiguous from offset 0, header
 * padded with spaces to a multiple of 8), raw files with any header, a
 * model folder writer (MAR-INF/MANIFEST.json, model-config.yaml, weights),
 * seeded random networks and a double-precision reference of the MLP. */
#ifndef MS_TEST_EXECUTOR_GEN_H
#define MS_TEST_EXECUTOR_GEN_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "executor/half.h"
#include "executor/safetensors.h"
#include "testutil.h"

/* Each test uses some of these. */
#define GEN_FN static __attribute__((unused))

/* ---- bytes ------------------------------------------------------------------ */

typedef struct gen_buf {
  unsigned char *p;
  size_t n, cap;
} gen_buf;

GEN_FN void gen_put(gen_buf *b, const void *data, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    unsigned char *q = realloc(b->p, cap);
    if (!q) abort();
    b->p = q;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, data, n);
  b->n += n;
  b->p[b->n] = 0;
}

GEN_FN void gen_puts(gen_buf *b, const char *s) { gen_put(b, s, strlen(s)); }

GEN_FN void gen_printf(gen_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
GEN_FN void gen_printf(gen_buf *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) abort();
  gen_put(b, tmp, (size_t)n);
}

GEN_FN void gen_u64le(gen_buf *b, uint64_t v) {
  unsigned char x[8];
  for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
  gen_put(b, x, 8);
}

/* A file image: 8-byte length `hlen` (the header's own unless overridden), the
 * header text, then `data`. */
GEN_FN gen_buf gen_raw(const char *header, uint64_t hlen, const void *data, size_t data_len) {
  gen_buf b = {0};
  gen_u64le(&b, hlen);
  gen_puts(&b, header);
  gen_put(&b, data, data_len);
  return b;
}

GEN_FN gen_buf gen_raw_auto(const char *header, const void *data, size_t data_len) {
  return gen_raw(header, strlen(header), data, data_len);
}

/* ---- safetensors writer --------------------------------------------------- */

typedef struct gen_tensor {
  const char *name, *dtype;
  size_t ndim;
  uint64_t shape[4];
  const void *data;
  size_t bytes;
} gen_tensor;

typedef struct gen_st {
  gen_tensor t[64];
  size_t n;
  const char *metadata; /* JSON object text, or NULL */
  size_t extra_pad;     /* spaces added past the 8-byte alignment (to misalign data) */
} gen_st;

GEN_FN void gen_st_add(gen_st *s, const char *name, const char *dtype, size_t ndim, const uint64_t *shape,
                       const void *data, size_t bytes) {
  if (s->n >= 64) abort();
  gen_tensor *t = &s->t[s->n++];
  t->name = name;
  t->dtype = dtype;
  t->ndim = ndim;
  for (size_t i = 0; i < ndim; i++) t->shape[i] = shape[i];
  t->data = data;
  t->bytes = bytes;
}

GEN_FN gen_buf gen_st_image(const gen_st *s) {
  gen_buf h = {0};
  gen_puts(&h, "{");
  int first = 1;
  if (s->metadata) {
    gen_printf(&h, "\"__metadata__\":%s", s->metadata);
    first = 0;
  }
  uint64_t off = 0;
  for (size_t i = 0; i < s->n; i++) {
    const gen_tensor *t = &s->t[i];
    gen_printf(&h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", first ? "" : ",", t->name, t->dtype);
    for (size_t k = 0; k < t->ndim; k++) gen_printf(&h, "%s%llu", k ? "," : "", (unsigned long long)t->shape[k]);
    gen_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + t->bytes));
    off += t->bytes;
    first = 0;
  }
  gen_puts(&h, "}");
  while (h.n % 8) gen_puts(&h, " ");
  for (size_t i = 0; i < s->extra_pad; i++) gen_puts(&h, " ");
  gen_buf b = {0};
  gen_u64le(&b, h.n);
  gen_put(&b, h.p, h.n);
  for (size_t i = 0; i < s->n; i++) gen_put(&b, s->t[i].data, s->t[i].bytes);
  free(h.p);
  return b;
}

/* ---- random networks ------------------------------------------------------- */

GEN_FN uint64_t gen_rng_state = 0x9E3779B97F4A7C15ull;
GEN_FN void gen_seed(uint64_t s) { gen_rng_state = s ? s : 1; }
GEN_FN double gen_uniform(void) { /* [-1, 1) */
  gen_rng_state ^= gen_rng_state << 13;
  gen_rng_state ^= gen_rng_state >> 7;
  gen_rng_state ^= gen_rng_state << 17;
  return (double)(gen_rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

enum { GEN_F32 = 0, GEN_F16 = 1, GEN_BF16 = 2 };
GEN_FN const char *const GEN_DTYPE_NAME[] = {"F32", "F16", "BF16"};

/* One network: layer k has weight w[k] (out x in, row-major) and bias b[k],
 * held as the stored values (after rounding to the dtype) in double. */
typedef struct gen_net {
  size_t n;
  int64_t dims[9]; /* dims[0] = input, dims[k+1] = out of layer k */
  double *w[8], *b[8];
  int has_bias[8];
  int dtype;
  const char *act, *output;
  void *wraw[8], *braw[8]; /* stored bytes */
} gen_net;

GEN_FN double gen_round(int dtype, double v, void *dst, size_t i) {
  float f = (float)v;
  if (dtype == GEN_F16) {
    uint16_t h = ms__executor_f32_to_f16(f);
    memcpy((unsigned char *)dst + 2 * i, &h, 2);
    return ms__executor_f16_to_f32(h);
  }
  if (dtype == GEN_BF16) {
    uint16_t h = ms__executor_f32_to_bf16(f);
    memcpy((unsigned char *)dst + 2 * i, &h, 2);
    return ms__executor_bf16_to_f32(h);
  }
  memcpy((unsigned char *)dst + 4 * i, &f, 4);
  return f;
}

GEN_FN size_t gen_esize(int dtype) { return dtype == GEN_F32 ? 4 : 2; }

/* Weights ~ U(-1,1) * scale / sqrt(in), biases ~ U(-0.5, 0.5). */
GEN_FN void gen_net_random(gen_net *g, size_t n, const int64_t *dims, int dtype, const char *act,
                           const char *output, double scale, uint64_t seed) {
  memset(g, 0, sizeof *g);
  gen_seed(seed);
  g->n = n;
  g->dtype = dtype;
  g->act = act;
  g->output = output;
  for (size_t k = 0; k <= n; k++) g->dims[k] = dims[k];
  for (size_t k = 0; k < n; k++) {
    size_t in = (size_t)dims[k], out = (size_t)dims[k + 1];
    g->w[k] = malloc(in * out * sizeof(double));
    g->b[k] = malloc(out * sizeof(double));
    g->wraw[k] = malloc(in * out * gen_esize(dtype));
    g->braw[k] = malloc(out * gen_esize(dtype));
    g->has_bias[k] = 1;
    for (size_t i = 0; i < in * out; i++)
      g->w[k][i] = gen_round(dtype, gen_uniform() * scale / sqrt((double)in), g->wraw[k], i);
    for (size_t i = 0; i < out; i++) g->b[k][i] = gen_round(dtype, gen_uniform() * 0.5, g->braw[k], i);
  }
}

GEN_FN void gen_net_free(gen_net *g) {
  for (size_t k = 0; k < g->n; k++) {
    free(g->w[k]);
    free(g->b[k]);
    free(g->wraw[k]);
    free(g->braw[k]);
  }
}

GEN_FN double gen_act(const char *act, double v) {
  if (!act || strcmp(act, "none") == 0) return v;
  if (strcmp(act, "relu") == 0) return v < 0 ? 0 : v;
  if (strcmp(act, "gelu") == 0) return 0.5 * v * erfc(-v / sqrt(2.0));
  if (strcmp(act, "tanh") == 0) return tanh(v);
  abort();
}

/* The network in double precision on the stored weights; x is rows x dims[0]
 * (floats, as the executor gets them), y rows x dims[n]. */
GEN_FN void gen_reference(const gen_net *g, const float *x, int64_t rows, double *y) {
  size_t widest = 0;
  for (size_t k = 0; k <= g->n; k++) widest = (size_t)g->dims[k] > widest ? (size_t)g->dims[k] : widest;
  double *a = malloc(widest * sizeof(double)), *b = malloc(widest * sizeof(double));
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t i = 0; i < g->dims[0]; i++) a[i] = x[r * g->dims[0] + i];
    for (size_t k = 0; k < g->n; k++) {
      int64_t in = g->dims[k], out = g->dims[k + 1];
      for (int64_t j = 0; j < out; j++) {
        double s = g->has_bias[k] ? g->b[k][j] : 0.0;
        for (int64_t i = 0; i < in; i++) s += g->w[k][j * in + i] * a[i];
        b[j] = k + 1 < g->n ? gen_act(g->act, s) : s;
      }
      double *t = a;
      a = b;
      b = t;
    }
    int64_t out = g->dims[g->n];
    if (g->output && strcmp(g->output, "softmax") == 0) {
      double m = a[0], s = 0;
      for (int64_t j = 0; j < out; j++) m = a[j] > m ? a[j] : m;
      for (int64_t j = 0; j < out; j++) s += exp(a[j] - m);
      for (int64_t j = 0; j < out; j++) a[j] = exp(a[j] - m) / s;
    }
    for (int64_t j = 0; j < out; j++) y[r * out + j] = a[j];
  }
  free(a);
  free(b);
}

/* Largest error of got against ref, relative to each row's largest |ref|. */
GEN_FN double gen_max_rel_err(const float *got, const double *ref, int64_t rows, int64_t cols) {
  double worst = 0;
  for (int64_t r = 0; r < rows; r++) {
    double m = 0;
    for (int64_t j = 0; j < cols; j++) m = fabs(ref[r * cols + j]) > m ? fabs(ref[r * cols + j]) : m;
    if (m == 0) m = 1;
    for (int64_t j = 0; j < cols; j++) {
      double e = fabs((double)got[r * cols + j] - ref[r * cols + j]) / m;
      if (!(e <= worst)) worst = e; /* NaN makes it NaN */
    }
  }
  return worst;
}

/* ---- model folders -------------------------------------------------------------- */

GEN_FN char gen_names[8][2][32];

/* The weights image of a network: <prefix>.weight / <prefix>.bias per layer. */
GEN_FN gen_buf gen_net_image(const gen_net *g, const char *const *prefixes) {
  gen_st s;
  memset(&s, 0, sizeof s);
  s.metadata = "{\"format\":\"pt\"}";
  for (size_t k = 0; k < g->n; k++) {
    snprintf(gen_names[k][0], sizeof gen_names[k][0], "%s.weight", prefixes[k]);
    snprintf(gen_names[k][1], sizeof gen_names[k][1], "%s.bias", prefixes[k]);
    uint64_t ws[2] = {(uint64_t)g->dims[k + 1], (uint64_t)g->dims[k]}, bs[1] = {(uint64_t)g->dims[k + 1]};
    size_t es = gen_esize(g->dtype);
    gen_st_add(&s, gen_names[k][0], GEN_DTYPE_NAME[g->dtype], 2, ws, g->wraw[k], ws[0] * ws[1] * es);
    if (g->has_bias[k]) gen_st_add(&s, gen_names[k][1], GEN_DTYPE_NAME[g->dtype], 1, bs, g->braw[k], bs[0] * es);
  }
  return gen_st_image(&s);
}

GEN_FN void gen_write(const char *dir, const char *name, const void *data, size_t len) {
  char *p = ms_test_path(dir, name);
  if (ms_test_write_file(p, data, len)) abort();
  free(p);
}

GEN_FN void gen_write_str(const char *dir, const char *name, const char *text) {
  gen_write(dir, name, text, strlen(text));
}

GEN_FN void gen_manifest(const char *dir, const char *handler, const char *serialized, const char *config) {
  char *mar = ms_test_path(dir, "MAR-INF");
  mkdir(mar, 0755);
  free(mar);
  gen_buf m = {0};
  gen_printf(&m, "{\n  \"createdOn\": \"01/01/2025 00:00:00\",\n  \"runtime\": \"python\",\n  \"model\": {\n"
                 "    \"modelName\": \"mlp\",\n    \"modelVersion\": \"1.0\"");
  if (handler) gen_printf(&m, ",\n    \"handler\": \"%s\"", handler);
  if (serialized) gen_printf(&m, ",\n    \"serializedFile\": \"%s\"", serialized);
  if (config) gen_printf(&m, ",\n    \"configFile\": \"%s\"", config);
  gen_printf(&m, "\n  },\n  \"archiverVersion\": \"0.9.0\"\n}\n");
  gen_write(dir, "MAR-INF/MANIFEST.json", m.p, m.n);
  free(m.p);
}

GEN_FN const char *const GEN_PREFIXES[8] = {"fc1", "fc2", "fc3", "fc4", "fc5", "fc6", "fc7", "fc8"};

/* A complete model folder for g under dir (created). */
GEN_FN void gen_model_dir(const char *dir, const gen_net *g) {
  mkdir(dir, 0755);
  gen_manifest(dir, "mserve:mlp", "model.safetensors", "model-config.yaml");
  gen_buf y = {0};
  gen_printf(&y, "minWorkers: 1\nmaxWorkers: 1\nbatchSize: 8\nmlp:\n  layers: [");
  for (size_t k = 0; k < g->n; k++) gen_printf(&y, "%s%s", k ? ", " : "", GEN_PREFIXES[k]);
  gen_printf(&y, "]\n  activation: %s\n  output: %s\n", g->act, g->output);
  gen_write(dir, "model-config.yaml", y.p, y.n);
  free(y.p);
  gen_buf w = gen_net_image(g, GEN_PREFIXES);
  gen_write(dir, "model.safetensors", w.p, w.n);
  free(w.p);
}

GEN_FN float *gen_input(int64_t rows, int64_t cols, double scale, uint64_t seed) {
  gen_seed(seed);
  float *x = malloc((size_t)(rows * cols) * sizeof(float));
  for (int64_t i = 0; i < rows * cols; i++) x[i] = (float)(gen_uniform() * scale);
  return x;
}

#endif
