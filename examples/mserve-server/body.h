/* mserve-server: prediction bodies in and out (cJSON in, text out).
 *
 * TorchServe: {"data": [[x, ...], ...]}, {"data": [x, ...]} (one row), a
 * bare list of rows [[x, ...], ...], or one bare row [x, ...]. KServe v2:
 * {"id": "...", "inputs": [{"name", "shape", "datatype": "FP32", "data"}]}
 * with one input whose shape is [N, D] or [D] (one row) and whose data is
 * flat or nested in any way, holding exactly N x D numbers. Every row must
 * have the model's input width; values must fit a float.
 *
 * Pure functions on memory (tests/fuzz/fuzz_server_body.c). */
#ifndef MSERVE_SERVER_BODY_H
#define MSERVE_SERVER_BODY_H

#include <stddef.h>
#include <stdint.h>

/* A parsed body: rows x in_dim floats (malloc'd, the caller frees *rows). */
typedef struct body_rows {
  float *rows;
  int64_t n;
  int flat;     /* one flat row (TorchServe) or flat data (v2): answer alike */
  char *id;     /* v2 "id" (malloc'd) or NULL */
} body_rows;

/* Parse a TorchServe body of len bytes (text[len] == '\0'). Returns 0, or
 * -1 with the cause in err (a 400). max_rows bounds the row count. */
int body_parse_ts(const char *text, size_t len, int64_t in_dim, int64_t max_rows, body_rows *out, char *err,
                  size_t errlen);
/* The same through cJSON alone (what body_parse_ts falls back to for
 * anything but the common shapes; the fuzz target checks that both agree). */
int body_parse_ts_cjson(const char *text, size_t len, int64_t in_dim, int64_t max_rows, body_rows *out, char *err,
                        size_t errlen);
/* Parse a v2 infer body. Same contract. */
int body_parse_v2(const char *text, size_t len, int64_t in_dim, int64_t max_rows, body_rows *out, char *err,
                  size_t errlen);
void body_rows_free(body_rows *b);

/* A growing text buffer. */
typedef struct body_buf {
  char *p;
  size_t len, cap;
  int oom;
} body_buf;
void bb_put(body_buf *b, const char *s, size_t n);
void bb_puts(body_buf *b, const char *s);
void bb_printf(body_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal (quoted, escaped; bytes that are not UTF-8 as U+FFFD). */
void bb_json_str(body_buf *b, const char *s);
/* rows x dim floats as JSON: [[...], ...], or one flat list [...] when flat. Floats as
 * "%.9g" (exact round trip); a NaN or infinity as null. */
void bb_rows(body_buf *b, const float *v, int64_t rows, int64_t dim, int flat);

#endif
