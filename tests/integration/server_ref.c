/* The reference the server tests compare against: ms_executor_run on a model
 * folder, all rows in one run.
 *   server_ref MODEL_DIR < [[x, ...], ...]   prints [[y, ...], ...] (%.9g)
 * Exit 0, or 2 with the reason on stderr. */
#include <cjson/cJSON.h>
#include <mserve.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: server_ref MODEL_DIR < rows.json\n");
    return 2;
  }
  size_t cap = 1 << 16, len = 0, n;
  char *text = malloc(cap);
  while (text && (n = fread(text + len, 1, cap - len - 1, stdin)) > 0) {
    len += n;
    if (len + 1 == cap) {
      char *t = realloc(text, cap * 2);
      if (!t) break;
      text = t;
      cap *= 2;
    }
  }
  if (!text) return 2;
  text[len] = '\0';
  cJSON *rows = cJSON_Parse(text);
  free(text);
  ms_executor *ex = NULL;
  if (ms_executor_open(argv[1], "cpu", &ex)) {
    fprintf(stderr, "server_ref: %s\n", ms_errmsg());
    return 2;
  }
  int64_t in_dim = 0, out_dim = 0;
  ms_executor_dims(ex, &in_dim, &out_dim);
  int64_t nr = cJSON_GetArraySize(rows);
  if (!cJSON_IsArray(rows) || nr < 1) {
    fprintf(stderr, "server_ref: stdin must be a non-empty list of rows\n");
    return 2;
  }
  float *in = calloc((size_t)(nr * in_dim), sizeof *in), *out = calloc((size_t)(nr * out_dim), sizeof *out);
  if (!in || !out) return 2;
  int64_t r = 0;
  for (cJSON *row = rows->child; row; row = row->next, r++) {
    int64_t k = 0;
    for (cJSON *v = row->child; v && k < in_dim; v = v->next, k++) in[r * in_dim + k] = (float)v->valuedouble;
  }
  if (ms_executor_set_max_batch(ex, nr) || ms_executor_run(ex, in, nr, out)) {
    fprintf(stderr, "server_ref: %s\n", ms_errmsg());
    return 2;
  }
  printf("[");
  for (r = 0; r < nr; r++) {
    printf(r ? ", [" : "[");
    for (int64_t k = 0; k < out_dim; k++) printf(k ? ", %.9g" : "%.9g", (double)out[r * out_dim + k]);
    printf("]");
  }
  printf("]\n");
  free(in);
  free(out);
  cJSON_Delete(rows);
  ms_executor_close(ex);
  return 0;
}
