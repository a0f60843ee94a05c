/* libFuzzer target: mserve-server's prediction bodies (examples/
 * mserve-server/body.c), TorchServe's and KServe v2's. The first byte picks
 * the protocol, the model's input width (1..8) and its batch size (1..16);
 * the rest is the body. Beyond "no crash, no leak": an accepted body has
 * 1..batch rows of finite floats (one row when it was a flat one), a
 * refused one says why and hands nothing back, the rows written back as
 * JSON (the answer's encoder) parse to the very same floats, and
 * TorchServe's fast path gives what cJSON gives, float for float. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/mserve-server/body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int v2 = data[0] & 1;
  int64_t in_dim = 1 + ((data[0] >> 1) & 7), max_rows = 1 + ((data[0] >> 4) & 15);
  size_t len = size - 1;
  char *text = malloc(len + 1);
  if (!text) return 0;
  if (len) memcpy(text, data + 1, len);
  text[len] = '\0';
  body_rows b;
  char err[512];
  err[0] = '\0';
  int rc = v2 ? body_parse_v2(text, len, in_dim, max_rows, &b, err, sizeof err)
              : body_parse_ts(text, len, in_dim, max_rows, &b, err, sizeof err);
  if (!v2) {
    /* the fast path and cJSON agree on every body, float for float */
    body_rows c;
    char cerr[512];
    cerr[0] = '\0';
    int crc = body_parse_ts_cjson(text, len, in_dim, max_rows, &c, cerr, sizeof cerr);
    if (crc != rc) abort();
    if (rc == 0 && (c.n != b.n || c.flat != b.flat ||
                    memcmp(c.rows, b.rows, sizeof(float) * (size_t)(b.n * in_dim)) != 0))
      abort();
    body_rows_free(&c);
  }
  free(text);
  if (rc != 0) {
    if (rc != -1 || !err[0] || b.rows || b.n || b.id) abort();
    return 0;
  }
  if (!b.rows || b.n < 1 || b.n > max_rows) abort();
  if (!v2 && b.flat && b.n != 1) abort();
  for (int64_t i = 0; i < b.n * in_dim; i++)
    if (!isfinite(b.rows[i])) abort();
  /* the encoder: nested rows back to the same floats */
  body_buf out = {0};
  bb_rows(&out, b.rows, b.n, in_dim, 0);
  if (b.id) bb_json_str(&out, b.id); /* any bytes: always a valid JSON string */
  if (!out.oom) {
    const char *end = NULL;
    cJSON *rows = cJSON_ParseWithLengthOpts(out.p, out.len, &end, 0);
    if (!rows || cJSON_GetArraySize(rows) != b.n) abort();
    int64_t r = 0;
    for (cJSON *row = rows->child; row; row = row->next, r++) {
      if (cJSON_GetArraySize(row) != in_dim) abort();
      int64_t k = 0;
      for (cJSON *v = row->child; v; v = v->next, k++)
        if ((float)v->valuedouble != b.rows[r * in_dim + k]) abort();
    }
    if (b.id) {
      cJSON *id = cJSON_Parse(end);
      if (!cJSON_IsString(id)) abort();
      cJSON_Delete(id);
    }
    cJSON_Delete(rows);
  }
  free(out.p);
  body_rows_free(&b);
  return 0;
}
